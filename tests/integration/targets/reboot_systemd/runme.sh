#!/usr/bin/env bash
# What systemd gives, on one host of tests/fleet whose PID 1 is systemd (--kind systemd), checked over SSH with
# systemctl, journalctl, ip and /proc:
#   1. check mode and diff of a systemd-supervised service predict its unit and write nothing (no reload);
#      the nodes' task and each service's task reload systemd once;
#   2. the service's stdout and stderr are in its unit's journal (journalctl -u), not in /var/log/nsforge;
#   3. its main process killed with KILL: systemd restarts it (Restart=on-failure: new PID, NRestarts + 1) and the
#      same nsproc task then reports the new PID, changed=false, restarting nothing;
#   4. reboot with the underlay of node broken gone: its unit failed, its journal names the node and the missing
#      interface; the other nodes are back; the service in broken does not run (dependency), the other does;
#   5. state: absent removes the units, links and declarations, one reload per task; no nsforge unit stays loaded.
# Runs inside tests/sandbox.sh (tests/integration/run.sh does).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../setup_runme/files/in_sandbox.sh
. ../setup_runme/files/in_sandbox.sh

out=${OUTPUT_DIR:?OUTPUT_DIR is not set}
root=$(cd ../../../.. && pwd)
python=$(command -v python)
fdir=$out/fleet
fleet=("$python" "$root/tests/fleet/fleet.py")
export ANSIBLE_PIPELINING=True
export ANSIBLE_INVENTORY=$fdir/inventory.ini

cleanup() { "${fleet[@]}" down --dir "$fdir" >/dev/null 2>&1 || true; }
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
expect() {  # expect WHAT WANT GOT
  [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}
contains() {  # contains WHAT NEEDLE HAYSTACK
  case $3 in *"$2"*) ;; *) fail "$1: no '$2' in: $3" ;; esac
}
on() { "${fleet[@]}" ssh --dir "$fdir" fleet1 -- "$(printf "%q " "$@")"; }  # on CMD...: over SSH
show() { on systemctl show -p "$2" --value "$1"; }  # show UNIT PROPERTY
json() { "$python" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$@"; }
playbook() {  # playbook NAME FILE [ARGS...]: a run, its log in $out/NAME.log, its recap's changed= in $changed
  local name=$1 file=$2 start=$SECONDS
  shift 2
  if ! timeout 300 ansible-playbook "$file" -e "result_file=$out/$name.json" "$@" >"$out/$name.log" 2>&1; then
    cat "$out/$name.log" >&2
    fail "$file $*"
  fi
  changed=$(sed -n 's/^fleet1 *: .* changed=\([0-9]*\) .*/\1/p' "$out/$name.log")
  echo "--- $name: $((SECONDS - start))s, changed=$changed"
}
netns_inode() { on stat -L -c %i "/run/netns/$1"; }
pid_netns() { on stat -L -c %i "/proc/$1/ns/net"; }

start=$SECONDS
"${fleet[@]}" up --dir "$fdir" --hosts 1 --kind systemd
echo "--- systemd host up ($((SECONDS - start))s)"
# the underlay of node broken: there now, gone after the reboot (not persistent)
on ip link add under0 type veth peer name under1  # this kernel has no dummy
on ip addr add 10.237.9.1/24 dev under0
on ip link set under0 up
on ip link set under1 up

echo "=== 1. deploy: check mode of talker, then the nodes and the services"
playbook deploy deploy.yml
reloads=$(json "$out/deploy.json" '"%s %s %s" % (d["reloads"]["nodes"], d["reloads"]["talker"], d["reloads"]["stuck"])')
expect "PID 1's reloads after the nodes, talker, stuck (cumulative)" "1 2 3" "$reloads"
expect "talker's stdout field" None "$(json "$out/deploy.json" 'd["talker"]["service"]["stdout"]')"
pid=$(json "$out/deploy.json" 'd["talker"]["service"]["pid"]')
expect "talker's MainPID" "$pid" "$(show nsforge-service-talker.service MainPID)"
expect "talker's network namespace" "$(netns_inode good1)" "$(pid_netns "$pid")"
echo "check mode predicted the unit and wrote nothing; reloads: one per task (nodes, talker, stuck)"

echo "=== 2. the service's output is in its unit's journal"
on journalctl --sync
log=$(on journalctl -q -u nsforge-service-talker.service -o cat)
contains "talker's journal (stdout)" "talker-out MARK-23C" "$log"
contains "talker's journal (stderr)" "talker-err MARK-23C" "$log"
on test ! -e /var/log/nsforge/talker || fail "/var/log/nsforge/talker exists: $(on ls -l /var/log/nsforge/talker)"
echo "journalctl -u nsforge-service-talker: $(grep -c MARK-23C <<<"$log") marker lines; nothing in /var/log/nsforge"

echo "=== 3. talker killed with KILL: systemd restarts it; nsproc reports the new PID and restarts nothing"
restarts=$(show nsforge-service-talker.service NRestarts)
killed=$SECONDS
on kill -KILL "$pid"
new=$pid
for _ in $(seq 100); do
  new=$(show nsforge-service-talker.service MainPID)
  [ "$new" != "$pid" ] && [ "$new" != 0 ] && [ "$(show nsforge-service-talker.service ActiveState)" = active ] && break
  sleep 0.1
done
if [ "$new" = "$pid" ] || [ "$new" = 0 ]; then fail "talker was not restarted (MainPID $new)"; fi
expect "NRestarts after the kill" $((restarts + 1)) "$(show nsforge-service-talker.service NRestarts)"
expect "the new talker's network namespace" "$(netns_inode good1)" "$(pid_netns "$new")"
echo "restarted by systemd within $((SECONDS - killed))s: pid $pid -> $new, NRestarts $restarts -> $((restarts + 1))"
playbook rerun deploy.yml --tags services
expect "changed on the re-run" 0 "$changed"
expect "nsproc's pid" "$new" "$(json "$out/rerun.json" 'd["talker"]["service"]["pid"]')"
expect "MainPID after the re-run" "$new" "$(show nsforge-service-talker.service MainPID)"
expect "NRestarts after the re-run" $((restarts + 1)) "$(show nsforge-service-talker.service NRestarts)"
expect "journal lines of talker-out (two starts)" 2 "$(on journalctl -q -u nsforge-service-talker.service -o cat | grep -c 'talker-out MARK-23C')"

echo "=== 4. reboot: under0 is gone, node broken cannot be restored"
"${fleet[@]}" reboot --dir "$fdir" fleet1 | tee "$out/reboot.json"
on ip link show under0 >/dev/null 2>&1 && fail "under0 survived the reboot"
expect "nsforge-node@broken" failed "$(on systemctl is-active nsforge-node@broken.service || true)"
why=$(on journalctl -q -b -u nsforge-node@broken.service -o cat)
echo "journalctl -u nsforge-node@broken:"
while IFS= read -r line; do echo "    $line"; done <<<"$why"
contains "broken's journal names the node" "broken" "$why"
contains "broken's journal names the missing interface" "under0" "$why"
grep -q Traceback <<<"$why" && fail "a traceback in broken's journal"
echo "nodes after the reboot: $(on ip netns list | cut -d" " -f1 | sort | tr "\n" " ")"
for node in good1 good2; do
  expect "nsforge-node@$node" active "$(on systemctl is-active "nsforge-node@$node.service")"
  on test -e "/run/netns/$node" || fail "node $node not restored"
done
expect "good1's address" 10.237.1.2/24 "$(on ip -n good1 -j addr show dev eth0 | json /dev/stdin '[a["local"] + "/" + str(a["prefixlen"]) for a in d[0]["addr_info"] if a["family"] == "inet"][0]')"
expect "nsforge-service-talker" active "$(on systemctl is-active nsforge-service-talker.service)"
pid=$(show nsforge-service-talker.service MainPID)
# good1's /etc/netns files, which ip netns exec binds over /etc/resolv.conf and /etc/hosts, and its hostname
expect "good1's resolv.conf after the reboot" "nameserver 10.237.1.53" "$(on ip netns exec good1 grep '^nameserver' /etc/resolv.conf)"
expect "good1's hosts after the reboot" "10.237.1.2 talker" "$(on ip netns exec good1 grep -w talker /etc/hosts | tr -s ' \t' ' ')"
expect "good1's hostname after the reboot" good1 "$(on nsenter --net=/run/netns/good1 --uts=/run/nsforge/nodes/good1/uts hostname)"
expect "talker's network namespace after the reboot" "$(netns_inode good1)" "$(pid_netns "$pid")"
expect "nsforge-service-stuck" inactive "$(on systemctl is-active nsforge-service-stuck.service || true)"
stuck=$(on journalctl -q -b -u nsforge-service-stuck.service -o cat)
contains "stuck's journal" "Dependency failed" "$stuck"
on pgrep -x sleep -a | grep -q '^[0-9]* sleep 200000$' && fail "stuck's sleep runs"
echo "after the reboot: good1, good2 and talker active; broken failed; stuck not started: $stuck"

echo "=== 5. state: absent, one reload per task; nothing left"
playbook absent absent.yml
expect "each task changed" "[True, True, True]" "$(json "$out/absent.json" 'd["changed"]')"
expect "PID 1's reloads after talker, stuck, nodes (cumulative)" "[1, 2, 3]" "$(json "$out/absent.json" '[int(x) for x in d["reloads"]]')"
left=$(on sh -c 'ls -d /etc/systemd/system/nsforge* /etc/systemd/system/*.wants/nsforge* 2>/dev/null || true')
expect "unit files and links left" "" "$left"
# the folders /etc/nsforge/nodes and /etc/nsforge/services stay, empty
expect "declarations left in /etc/nsforge" "" "$(on find /etc/nsforge ! -type d)"
expect "nsforge service units loaded" "" "$(on systemctl list-units 'nsforge-service-*' --all --no-legend --plain)"
# the node units that were started (active, and the failed one) are stopped and forgotten with their files
nodes_loaded=$(on systemctl list-units 'nsforge-node@*' --all --no-legend --plain | awk '{print $1 " " $3 "/" $4}' | tr '\n' ' ')
expect "node units loaded after absent" "" "$nodes_loaded"
expect "nodes left" "" "$(on ip netns list)"
echo "absent: no unit file, link or declaration; no node or service unit loaded; 3 reloads for 3 tasks"
echo "--- reboot_systemd: $((SECONDS - start))s in all"
