#!/usr/bin/env bash
# Tunnels between hosts, on one machine: the network namespaces uA and uB of the sandbox stand for two hosts
# (their veth pair, 10.236.200.0/24, is the network between them; a playbook of a host runs under nsenter --net,
# which keeps the mount namespace, so the nodes pinned under /run/netns stay). engine.yml tests netns's vxlan with
# underlay: host; then the netlab role deploys each host's part of topology.yml from inside its namespace, and
# traffic crosses the tunnels. tests/fleet's hosts (target netlab_xhost) do the same over SSH.
# Runs inside tests/sandbox.sh (tests/integration/run.sh does).
set -euo pipefail

# shellcheck source=SCRIPTDIR/../setup_runme/files/in_sandbox.sh
. ../setup_runme/files/in_sandbox.sh
out=${OUTPUT_DIR:-$(mktemp -d)}

ip netns add uA
ip netns add uB
ip link add u0 netns uA type veth peer name u0 netns uB
ip -n uA addr add 10.236.200.1/24 dev u0
ip -n uB addr add 10.236.200.2/24 dev u0
for ns in uA uB; do
  ip -n "$ns" link set lo up
  ip -n "$ns" link set u0 up
done

# run HOST PLAYBOOK [ARGS...]: a playbook for one host, inside that host's namespace; the log in $out
run() {
  local host=$1 playbook=$2 log
  shift 2
  log=$out/$host-$(basename "$playbook" .yml)-$((++step)).log
  if ! timeout 300 nsenter --net="/run/netns/u${host#h}" ansible-playbook -i inventory.ini -l "$host" "$playbook" "$@" >"$log" 2>&1; then
    cat "$log" >&2
    echo "playbook $playbook on $host failed" >&2
    exit 1
  fi
  last_log=$log
}
step=0
changed() {
  sed -n 's/.* changed=\([0-9]*\).*/\1/p' "$last_log" | tail -1
}

start=$SECONDS
timeout 300 nsenter --net=/run/netns/uA ansible-playbook -i "$ANSIBLE_INVENTORY" engine.yml >"$out/engine.log" 2>&1 || {
  cat "$out/engine.log" >&2; echo "engine.yml failed" >&2; exit 1; }
echo "engine: underlay host, check mode, idempotence, recreate, VNI clash, bad input ($((SECONDS - start))s)"

addr() {  # addr NODE IFNAME: its IPv4 address
  ip -n "$1" -j -4 addr show dev "$2" | python -c 'import json,sys; print(json.load(sys.stdin)[0]["addr_info"][0]["local"])'
}
index() {  # index NODE IFNAME
  ip -n "$1" -j link show dev "$2" | python -c 'import json,sys; print(json.load(sys.stdin)[0]["ifindex"])'
}

start=$SECONDS
run hA deploy.yml --check
[ "$(ip netns list | grep -c '^r1\b' || true)" = 0 ] || { echo "check mode created r1" >&2; exit 1; }
run hA deploy.yml
run hB deploy.yml
echo "deployed on hA and hB ($((SECONDS - start))s)"

# the tunnel ends: vxlan devices in the nodes, sockets in the hosts' namespaces
python files/check_tunnel.py r1 eth1 10.236.200.1 10.236.200.2
python files/check_tunnel.py r3 eth1 10.236.200.2 10.236.200.1
python files/check_tunnel.py lan a-eth0 10.236.200.2 10.236.200.1
ip netns exec uA ss -H -u -a -n | grep -q ':4789 ' || { echo "no vxlan socket in uA" >&2; exit 1; }
if ss -H -u -a -n | grep -q ':4789 '; then echo "a vxlan socket in the sandbox's own namespace" >&2; exit 1; fi

r3=$(addr r3 eth1); b=$(addr b eth0)
ip netns exec r1 ping -c 2 -W 2 "$r3" >/dev/null
ip netns exec a ping -c 2 -W 2 "$b" >/dev/null
# the MTU leaves room for the tunnel's 50 bytes: a full 1450-byte packet passes unfragmented
ip netns exec a ping -c 1 -W 2 -M 'do' -s 1422 "$b" >/dev/null
[ "$(ip -n b -j link show eth0 | python -c 'import json,sys; print(json.load(sys.stdin)[0]["mtu"])')" = 1450 ]
echo "r1 (hA) reaches r3 (hB) at $r3; a (hA) reaches b (hB) at $b across the bridge lan; MTU 1450"

idx_a=$(index a eth0); idx_b=$(index b eth0); idx_r1=$(index r1 eth1)
run hA deploy.yml; [ "$(changed)" = 0 ] || { cat "$last_log" >&2; echo "hA: second run changed" >&2; exit 1; }
run hB deploy.yml; [ "$(changed)" = 0 ] || { cat "$last_log" >&2; echo "hB: second run changed" >&2; exit 1; }
[ "$(index a eth0)$(index b eth0)$(index r1 eth1)" = "$idx_a$idx_b$idx_r1" ]
echo "second runs: changed=0 on both hosts, interfaces kept"

# r1 moves to hB: hA removes it, hB creates it (a veth to r3 now); a's and b's interfaces stay
run hA deploy.yml -e r1_host=hB
python -c 'import json, sys; sys.exit("r1" in json.load(open("/run/nsforge/labs-hA/xlab.json"))["nodes"])'
ip netns list | grep -q '^r1\b' && { echo "r1 still exists after hA removed it" >&2; exit 1; }
run hB deploy.yml -e r1_host=hB
[ "$(ip -n r1 -d -j link show eth1 | python -c 'import json,sys; print(json.load(sys.stdin)[0]["linkinfo"]["info_kind"])')" = veth ]
ip netns exec r1 ping -c 1 -W 2 "$r3" >/dev/null
[ "$(index a eth0)$(index b eth0)" = "$idx_a$idx_b" ]
run hA deploy.yml -e r1_host=hB; [ "$(changed)" = 0 ]
run hB deploy.yml -e r1_host=hB; [ "$(changed)" = 0 ]
echo "r1 moved to hB: a local veth to r3 now; a and b untouched; re-runs changed=0"

run hA deploy.yml -e r1_host=hB -e netlab_state=absent
run hB deploy.yml -e r1_host=hB -e netlab_state=absent
left=$(ip netns list | grep -v '^u[AB]\b' || true)
[ -z "$left" ] || { echo "left after destroy: $left" >&2; exit 1; }
if ip netns exec uA ss -H -u -a -n | grep -q ':4789 '; then echo "vxlan socket left in uA" >&2; exit 1; fi
echo "destroyed: no node, no tunnel socket left"
