#!/usr/bin/env bash
# A lab across two hosts whose PID 1 is systemd (tests/fleet, --kind systemd): r1 on fleet1 and r2 on fleet2, linked
# by a VXLAN tunnel between the hosts' underlay addresses, every node persisted and r2's web server supervised by
# systemd (topology.yml). Deployed, r1 pings r2 and fetches a page from it. Then fleet2 reboots for real
# (systemctl reboot) and, WITHOUT any Ansible run:
#   - r2's end of the tunnel is back (ip -d -j link: the same VNI, local, remote, port and MAC address, which the
#     planner derives from the lab for a persisted node's tunnel end), its sysctl too;
#   - r1 on fleet1 reaches r2 again (a ping every 0.2 s from before the reboot gives the seconds from the request to
#     the first reply: within 8 s of the boot, as r1's neighbour entry for r2's MAC stays good), and the web server
#     answers from r2's network namespace, started by its unit;
#   - r2's unit was restored before fleet2's underlay address existed (it runs before network-pre.target, the
#     address after it, as on a real host): the kernel takes a tunnel whose local address is not there yet;
#   - fleet1 is untouched: r1's namespace and its tunnel end keep their inode and ifindex.
# Then the playbook again: changed=0 on both hosts. Every check goes over SSH (ip, stat, /proc, systemctl,
# journalctl), or through nsenter into fleet1 for the pinger. Runs inside tests/sandbox.sh.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../setup_runme/files/in_sandbox.sh
. ../setup_runme/files/in_sandbox.sh
out=${OUTPUT_DIR:-$(mktemp -d)}
fdir=$out/fleet
root=$(cd ../../../.. && pwd)
python=$(command -v python)
fleet=("$python" "$root/tests/fleet/fleet.py")
export ANSIBLE_PIPELINING=True

pinger=
cleanup() {
  if [ -n "$pinger" ]; then kill "$pinger" 2>/dev/null || true; fi
  "${fleet[@]}" down --dir "$fdir" >/dev/null 2>&1 || true
}
trap cleanup EXIT
begin=$SECONDS
"${fleet[@]}" up --dir "$fdir" --hosts 2 --kind systemd
echo "fleet of 2 systemd hosts up ($((SECONDS - begin))s)"

step=0
deploy() {  # deploy: the playbook over the fleet; the log in $out
  local log
  log=$out/deploy-$((++step)).log
  if ! timeout 300 ansible-playbook -i "$fdir/inventory.ini" deploy.yml >"$log" 2>&1; then
    cat "$log" >&2
    echo "deploy.yml failed (run $step)" >&2
    exit 1
  fi
  last_log=$log
}
changed() {  # changed HOST: changed= of the host in the last recap
  sed -n "s/^$1 *: .* changed=\([0-9]*\) .*/\1/p" "$last_log"
}
over() {  # over HOST CMD...: a command on the host over SSH, as root
  "${fleet[@]}" ssh --dir "$fdir" "$@"
}
expect() {  # expect WHAT WANT GOT
  [ "$2" = "$3" ] || { echo "$1: expected '$2', got '$3'" >&2; exit 1; }
}
jq1() {  # jq1 EXPR: a Python expression of j (the JSON on stdin)
  python -c "import json,sys; j=json.load(sys.stdin); print($1)"
}
tunnel() {  # tunnel HOST NODE: "vni local remote port mac" of the node's eth1, a vxlan whose socket is in the host
  over "$1" ip -d -j -n "$2" link show dev eth1 |
    jq1 "(lambda i: ' '.join([str(i['linkinfo']['info_data'][k]) for k in ('id', 'local', 'remote', 'port')] + [i['address']])
          if i['linkinfo']['info_kind'] == 'vxlan' and 'link_netnsid' in i else 'not a vxlan of the host: %s' % i)(j[0])"
}
ifindex() { over "$1" ip -j -n "$2" link show dev eth1 | jq1 "j[0]['ifindex']"; }
inode() { over "$1" stat -L -c %i "/run/netns/$2"; }
ping_from_r1() { over fleet1 ip netns exec r1 ping -c 1 -W 2 "$1" >/dev/null; }
fetch_from_r1() {  # fetch_from_r1 URL: the HTTP status of a GET from inside r1, over the tunnel
  over fleet1 ip netns exec r1 python3 -c "'import urllib.request as u; print(u.urlopen(\"$1\", timeout=5).status)'"
}
service_net() {  # service_net HOST UNIT: "PID netns-inode" of the unit's main process
  local pid
  pid=$(over "$1" systemctl show -P MainPID "$2")
  [ "$pid" -gt 0 ] || { echo "$2 on $1 has no main process" >&2; exit 1; }
  echo "$pid $(over "$1" stat -L -c %i "/proc/$pid/ns/net")"
}
node_unit='nsforge-node@r2.service'
svc_unit=nsforge-service-r2-http.service

# ---- deploy
start=$SECONDS
deploy
for h in fleet1 fleet2; do
  [ "$(changed $h)" -gt 0 ] || { echo "$h: the first run changed nothing" >&2; exit 1; }
done
t1=$(tunnel fleet1 r1)
t2=$(tunnel fleet2 r2)
read -r vni _ _ _ mac1 <<<"$t1"
read -r _ _ _ _ mac2 <<<"$t2"
expect "r1:eth1 on fleet1 (vni local remote port mac)" "$vni 10.236.0.11 10.236.0.12 4789 $mac1" "$t1"
expect "r2:eth1 on fleet2 (vni local remote port mac)" "$vni 10.236.0.12 10.236.0.11 4789 $mac2" "$t2"
# a persisted node's end of a tunnel has a MAC address of the lab's (locally administered), the same after a reboot
case "$mac1 $mac2" in 02:*\ 02:*) ;; *) echo "tunnel ends' MAC addresses: $mac1 $mac2 (expected 02:...)" >&2; exit 1 ;; esac
r2=$(over fleet2 ip -j -4 -n r2 addr show dev eth1 | jq1 "j[0]['addr_info'][0]['local']")
ping_from_r1 "$r2"
expect "HTTP status from r2:8080" 200 "$(fetch_from_r1 "http://$r2:8080/")"
expect "$svc_unit" active "$(over fleet2 systemctl is-active "$svc_unit")"
expect "$node_unit enabled" enabled "$(over fleet2 systemctl is-enabled "$node_unit")"
read -r svc_pid svc_ns <<<"$(service_net fleet2 "$svc_unit")"
expect "the web server's network namespace" "$(inode fleet2 r2)" "$svc_ns"
over fleet2 test -s /etc/nsforge/nodes/r2.json
echo "deployed ($((SECONDS - start))s): r1 (fleet1) reaches r2 (fleet2) at $r2 over VNI $vni; r2-http (pid $svc_pid) answers"

idx_r1=$(ifindex fleet1 r1)
ino_r1=$(inode fleet1 r1)
ino_r2=$(inode fleet2 r2)
boots_before=$(over fleet2 journalctl --list-boots --no-pager -q | wc -l)

# ---- reboot fleet2, with a ping from r1 every 0.2 s (fleet1 does not reboot: its PID stays)
f1=$("${fleet[@]}" pid --dir "$fdir" fleet1)
nsenter -t "$f1" -m -n ip netns exec r1 ping -D -n -i 0.2 -W 1 "$r2" >"$out/ping.log" 2>&1 &
pinger=$!
sleep 0.5
"${fleet[@]}" reboot --dir "$fdir" fleet2 >"$out/reboot.json"
cat "$out/reboot.json"
requested=$(jq1 "j['requested']" <"$out/reboot.json")
down=$(jq1 "j['down']" <"$out/reboot.json")
first_reply() {  # seconds from the reboot request to the first reply after fleet2 went down, or nothing
  python - "$out/ping.log" "$requested" "$down" <<'PY'
import re, sys
log, requested, down = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
times = [float(m.group(1)) for m in re.finditer(r'^\[(\d+\.\d+)\] \d+ bytes from', open(log).read(), re.M)]
after = [t - requested for t in times if t > requested + down]
before = [t - requested for t in times if t <= requested]
if after:
    print('%.1f %d' % (after[0], len(before)))
PY
}
reply=
for _ in $(seq 100); do
  reply=$(first_reply)
  [ -z "$reply" ] || break
  sleep 0.3
done
kill "$pinger"
wait "$pinger" 2>/dev/null || true
pinger=
[ -n "$reply" ] || { tail -20 "$out/ping.log" >&2; echo "r1 never reached r2 again within 30 s of the reboot" >&2; exit 1; }
read -r seconds replies_before <<<"$reply"
[ "$replies_before" -gt 0 ] || { echo "the pinger had no reply before the reboot" >&2; exit 1; }
# r2 comes back with the same MAC address, so r1's neighbour entry for it stays good: the first reply comes within
# seconds of the boot, not when that entry expires (15 to 45 s later, as with a new random MAC)
running=$(jq1 "j['running']" <"$out/reboot.json")
python -c "import sys; sys.exit(float('$seconds') > float('$running') + 8)" ||
  { echo "first reply ${seconds}s after the reboot request, booted at ${running}s: more than 8 s later" >&2; exit 1; }

# ---- after the reboot, no Ansible run: a new boot, the node, its tunnel, its sysctl, the service
expect "boots in fleet2's journal" "$((boots_before + 1))" "$(over fleet2 journalctl --list-boots --no-pager -q | wc -l)"
expect "r2:eth1 after the reboot (vni local remote port mac)" "$t2" "$(tunnel fleet2 r2)"
[ "$(inode fleet2 r2)" != "$ino_r2" ] || { echo "r2's namespace has the inode of the old boot's" >&2; exit 1; }
expect "r2's net.ipv4.ip_forward" 1 "$(over fleet2 ip netns exec r2 cat /proc/sys/net/ipv4/ip_forward)"
expect "$node_unit after the reboot" active "$(over fleet2 systemctl is-active "$node_unit")"
expect "$svc_unit after the reboot" active "$(over fleet2 systemctl is-active "$svc_unit")"
expect "$svc_unit's MemoryMax" 67108864 "$(over fleet2 systemctl show -P MemoryMax "$svc_unit")"
read -r new_pid new_ns <<<"$(service_net fleet2 "$svc_unit")"
expect "the web server's network namespace after the reboot" "$(inode fleet2 r2)" "$new_ns"
expect "HTTP status from r2:8080 after the reboot" 200 "$(fetch_from_r1 "http://$r2:8080/")"
over fleet2 journalctl -b --no-pager -q -o cat -u "$node_unit" >"$out/node-journal.txt"
grep -q 'r2' "$out/node-journal.txt" || { cat "$out/node-journal.txt" >&2; echo "no restore lines in the journal" >&2; exit 1; }
# the order of this boot: the node restored (its unit active) before the underlay address came (fleet-network),
# the service after the node
mono() { over fleet2 systemctl show -P "$1TimestampMonotonic" "$2"; }
m_node=$(mono ActiveEnter "$node_unit"); m_net=$(mono InactiveExit fleet-network.service)
m_svc=$(mono InactiveExit "$svc_unit")
if ! { [ "$m_node" -gt 0 ] && [ "$m_node" -lt "$m_net" ] && [ "$m_node" -lt "$m_svc" ]; }; then
  echo "unexpected order (monotonic us): node restored $m_node, fleet-network started $m_net, service started $m_svc" >&2
  exit 1
fi
# fleet1 untouched
expect "r1's namespace on fleet1 (inode)" "$ino_r1" "$(inode fleet1 r1)"
expect "r1:eth1 on fleet1 (ifindex)" "$idx_r1" "$(ifindex fleet1 r1)"
expect "r1:eth1 on fleet1 (vni local remote port mac)" "$t1" "$(tunnel fleet1 r1)"
echo "fleet2 rebooted: $(jq1 "'down %(down)ss, nspawn %(nspawn)ss, ssh %(ssh)ss, running %(running)ss' % j" <"$out/reboot.json")" \
  "after the request; r1 reached r2 again ${seconds}s after it"
echo "after the reboot, no Ansible: r2's tunnel end as before (VNI $vni), restored $(( (m_net - m_node) / 1000 ))ms" \
  "before fleet2's underlay address; r2-http runs in r2 (pid $new_pid, was $svc_pid) and answers; fleet1 untouched"

# ---- the playbook again: nothing to change on either host
start=$SECONDS
deploy
for h in fleet1 fleet2; do expect "$h changed after the reboot" 0 "$(changed $h)"; done
echo "run after the reboot ($((SECONDS - start))s): changed=0 on both hosts; whole target $((SECONDS - begin))s"
