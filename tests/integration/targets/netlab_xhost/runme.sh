#!/usr/bin/env bash
# A lab across three hosts of tests/fleet, over SSH: nodes on fleet1 and fleet3, linked by VXLAN tunnels between
# the hosts' addresses; r1 (fleet1) pings r3 (fleet3) by its lab address. A second run changes nothing. Then r3
# moves to fleet2: fleet3 removes it, fleet2 creates it and its tunnel end, fleet1's end of the r1-r3 tunnel
# points at fleet2 in place, and every interface that did not move keeps its ifindex. Destroy leaves no node.
# Runs inside tests/sandbox.sh (tests/integration/run.sh does).
set -euo pipefail

# shellcheck source=SCRIPTDIR/../setup_runme/files/in_sandbox.sh
. ../setup_runme/files/in_sandbox.sh
out=${OUTPUT_DIR:-$(mktemp -d)}
fleet_dir=$out/fleet
fleet=(python "$(cd ../../../fleet && pwd)/fleet.py")
check_tunnel=$(cd ../netlab_vxlan/files && pwd)/check_tunnel.py
python=$(command -v python)
# one SSH session per task, not three
export ANSIBLE_PIPELINING=True

cleanup() { "${fleet[@]}" down --dir "$fleet_dir" >/dev/null 2>&1 || true; }
trap cleanup EXIT
start=$SECONDS
"${fleet[@]}" up --dir "$fleet_dir" --hosts 3 --python "$python"
echo "fleet of 3 hosts up ($((SECONDS - start))s)"

step=0
deploy() {  # deploy [ARGS...]: the playbook over the fleet; the log in $out
  local log
  log=$out/deploy-$((++step)).log
  if ! timeout 300 ansible-playbook -i "$fleet_dir/inventory.ini" deploy.yml "$@" >"$log" 2>&1; then
    cat "$log" >&2
    echo "deploy.yml $* failed" >&2
    exit 1
  fi
  last_log=$log
}
changed() {  # changed HOST: changed= of the host in the last recap
  sed -n "s/^$1 *: .* changed=\([0-9]*\) .*/\1/p" "$last_log"
}
on() {  # on HOST NODE CMD...: a command in node NODE of HOST (the host's mount namespace, the node's network)
  local host=$1 node=$2
  shift 2
  nsenter -t "$("${fleet[@]}" pid --dir "$fleet_dir" "$host")" -m nsenter --net="/run/netns/$node" "$@"
}
in_host() {  # in_host HOST CMD...: a command in the host's mount and network namespaces
  local host=$1
  shift
  nsenter -t "$("${fleet[@]}" pid --dir "$fleet_dir" "$host")" -m -n "$@"
}
addr() { on "$1" "$2" ip -j -4 addr show dev "$3" | python -c 'import json,sys; print(json.load(sys.stdin)[0]["addr_info"][0]["local"])'; }
index() { on "$1" "$2" ip -j link show dev "$3" | python -c 'import json,sys; print(json.load(sys.stdin)[0]["ifindex"])'; }
nodes_of() { in_host "$1" ip netns list | cut -d' ' -f1 | sort | tr '\n' ' '; }
expect() {  # expect WHAT WANT GOT
  [ "$2" = "$3" ] || { echo "$1: expected '$2', got '$3'" >&2; exit 1; }
}

# fleet2 stays out of the play until r3 moves there, so it has no record of the lab then
start=$SECONDS
deploy --limit fleet1,fleet3
expect "fleet1 nodes" "a p q r1 " "$(nodes_of fleet1)"
expect "fleet2 nodes" "" "$(nodes_of fleet2)"
expect "fleet3 nodes" "c d r3 " "$(nodes_of fleet3)"
in_host fleet1 python "$check_tunnel" r1 eth1 10.236.0.11 10.236.0.13
in_host fleet3 python "$check_tunnel" r3 eth1 10.236.0.13 10.236.0.11
vni=$(in_host fleet1 ip -d -j -n r1 link show eth1 | python -c 'import json,sys; print(json.load(sys.stdin)[0]["linkinfo"]["info_data"]["id"])')
expect "VNI at both ends" "$vni" "$(in_host fleet3 ip -d -j -n r3 link show eth1 | python -c 'import json,sys; print(json.load(sys.stdin)[0]["linkinfo"]["info_data"]["id"])')"
r3=$(addr fleet3 r3 eth1)
on fleet1 r1 ping -c 2 -W 2 "$r3" >/dev/null
on fleet1 a ping -c 1 -W 2 -M 'do' -s 1422 "$(addr fleet3 c eth1)" >/dev/null
echo "deployed ($((SECONDS - start))s): r1 on fleet1 reaches r3 on fleet3 at $r3 (VNI $vni); 1450-byte packets pass"

deploy --limit fleet1,fleet3
for h in fleet1 fleet3; do expect "$h changed on the second run" 0 "$(changed $h)"; done
in_host fleet2 test ! -e /run/nsforge/labs/xhost.json
echo "second run: changed=0 on every host"

idx_a=$(index fleet1 a eth1); idx_c=$(index fleet3 c eth1); idx_c2=$(index fleet3 c eth2); idx_d=$(index fleet3 d eth2)
idx_r1=$(index fleet1 r1 eth1)
start=$SECONDS
mkdir -p "$out/changes"
deploy -e r3_host=fleet2 -e drop_pq=true -e changes_dir="$out/changes"
expect "fleet1 nodes after the move" "a p q r1 " "$(nodes_of fleet1)"
expect "fleet2 nodes after the move" "r3 " "$(nodes_of fleet2)"
expect "fleet3 nodes after the move" "c d " "$(nodes_of fleet3)"
in_host fleet1 python "$check_tunnel" r1 eth1 10.236.0.11 10.236.0.12
in_host fleet2 python "$check_tunnel" r3 eth1 10.236.0.12 10.236.0.11
# fleet2 had no record, p--q went: r1--r3 kept its subnet from the other hosts' records
expect "r3's address after the move" "$r3" "$(addr fleet2 r3 eth1)"
on fleet1 r1 ping -c 2 -W 2 "$r3" >/dev/null
# r1's end of the tunnel was pointed at fleet2 in place
expect "ifindex of r1:eth1 on fleet1" "$idx_r1" "$(index fleet1 r1 eth1)"
# what did not move kept its interfaces, on fleet1 and on fleet3 alike
expect "ifindexes of a:eth1, c:eth1, c:eth2, d:eth2" "$idx_a $idx_c $idx_c2 $idx_d" \
  "$(index fleet1 a eth1) $(index fleet3 c eth1) $(index fleet3 c eth2) $(index fleet3 d eth2)"
on fleet1 a ping -c 1 -W 2 "$(addr fleet3 c eth1)" >/dev/null
# the network tasks changed r1 (its tunnel end's remote, in place) and p and q (their link went) on fleet1, and r3
# on fleet2 and fleet3; nothing else
python - "$out/changes" <<'PY'
import json, sys
for host, nodes in (('fleet1', ('r1', 'p', 'q')), ('fleet2', ('r3',)), ('fleet3', ('r3',))):
    changes = json.load(open('%s/%s.json' % (sys.argv[1], host)))
    other = [c for c in changes if not c.startswith(tuple('node %s:' % n for n in nodes))]
    if not changes or other:
        sys.exit('%s: expected changes of node(s) %s only, got %s' % (host, ', '.join(nodes), changes))
    r1 = [c for c in changes if c.startswith('node r1:')]
    if host == 'fleet1' and r1 != ['node r1: set eth1 remote 10.236.0.12 (was 10.236.0.13)']:
        sys.exit('fleet1: expected only the new remote of r1:eth1, got %s' % r1)
    print('%s: %d change(s), all of node(s) %s' % (host, len(changes), ', '.join(nodes)))
PY
echo "r3 moved to fleet2 ($((SECONDS - start))s): r1 reaches it at $r3 again; a, c and d untouched"

deploy -e r3_host=fleet2 -e drop_pq=true
for h in fleet1 fleet2 fleet3; do expect "$h changed after the move" 0 "$(changed $h)"; done
echo "run after the move: changed=0 on every host"

deploy -e r3_host=fleet2 -e drop_pq=true -e netlab_state=absent
for h in fleet1 fleet2 fleet3; do
  expect "$h nodes after destroy" "" "$(nodes_of $h)"
  if in_host "$h" ss -H -u -a -n | grep -q ':4789 '; then echo "$h: a vxlan socket is left" >&2; exit 1; fi
done
echo "destroyed: no node and no tunnel socket on any host"
