#!/usr/bin/env bash
# The example lab of real daemons as a user runs it: the collection's playbook nsforge.linux.ospf deploys
# playbooks/topologies/ospf.yml (four BIRD 2 routers in an OSPF ring, each with its bird.conf from the topology's
# files, and two hosts). Checked with tools outside the modules (ip, nsenter, /proc, birdc, a page fetched over the
# routed path):
#   1. the first deploy warns about nothing, OSPF converges, each router sees its own bird.conf (the host's stays);
#   2. the second deploy changes nothing (the role's line says "no change", the recap changed=0, the same PIDs);
#      check mode reports what a run would change (a link cut) and changes nothing;
#   3. the nodes are inventory hosts through playbooks/ospf.nodes.yml (nsforge.linux.nodes);
#   4. with the link r1 - r2 cut, r1 reroutes through r4 and h1 still reaches h2; with it back, the short way again;
#   5. removed, no namespace, process, record or file of the lab is left.
# Runs inside tests/sandbox.sh (tests/integration/run.sh does).
set -euo pipefail

# shellcheck source=SCRIPTDIR/../setup_runme/files/in_sandbox.sh
. ../setup_runme/files/in_sandbox.sh
out=${OUTPUT_DIR:?OUTPUT_DIR is not set}
python=$(command -v python)
collection=${ANSIBLE_COLLECTIONS_PATH%%:*}/ansible_collections/nsforge/linux
nodes=(-i "$collection/playbooks/ospf.nodes.yml")
fetch='import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode().strip())'

fail() { echo "netlab_ospf: $*" >&2; exit 1; }
lab() {  # lab NAME ARGS...: run the collection's playbook, its output in $out/NAME.log
  local name=$1
  shift
  # (JSON results: the YAML format wraps long lines)
  ANSIBLE_CALLBACK_RESULT_FORMAT=json timeout 600 ansible-playbook nsforge.linux.ospf -e "lab_graph_dir=$out/pictures" "$@" 2>&1 | tee "$out/$name.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || fail "$name: the playbook failed"
}
said() {  # said NAME TEXT: the playbook's output holds TEXT
  grep -qF -- "$2" "$out/$1.log" || fail "$1: the output does not say: $2"
}
route_dev() {  # route_dev NODE: the interface of NODE's route to h2's network
  ip -n "$1" -j route show 10.243.2.0/24 | "$python" -c 'import json, sys; r = json.load(sys.stdin); print(r[0]["dev"] if r else "none")'
}
wait_route() {  # wait_route NODE DEV: until NODE's route to h2's network leaves through DEV (30 s at most)
  local _
  for _ in $(seq 60); do
    [ "$(route_dev "$1")" = "$2" ] && return 0
    sleep 0.5
  done
  fail "$1: the route to 10.243.2.0/24 leaves through $(route_dev "$1"), not $2"
}
bird_in() {  # bird_in NODE: the host PID of the bird in NODE's network namespace, from /proc
  local p want
  want="net:[$(stat -L -c %i "/run/netns/$1")]"
  for p in $(pgrep -x bird || true); do
    if [ "$(readlink "/proc/$p/ns/net")" = "$want" ]; then
      echo "$p"
    fi
  done
}
bird_pids() {  # the host PIDs of the four bird programs, from /proc
  local p
  for p in $(pgrep -x bird | sort -n); do
    echo "$p:$(readlink "/proc/$p/ns/net")"
  done
}

command -v bird >/dev/null || fail "bird is not installed (Debian's bird2; make tools installs it)"
host_conf=$(sha256sum /etc/bird/bird.conf 2>/dev/null || echo none)
host_page=$(ls -la /srv/www 2>&1 || true)

# ---------------------------------------------------------------- 1. first deploy
lab first
grep -q '\[WARNING\]' "$out/first.log" && fail "the first deploy warned: $(grep -A2 '\[WARNING\]' "$out/first.log")"
said first 'lab ospf: 6 nodes, 6 links, 5 services, 5 files; changed:'
said first 'h1 fetched from h2: h2 of the ospf lab'
[ "$(ip netns exec h1 "$python" -c "$fetch" http://10.243.2.2/)" = "h2 of the ospf lab" ] || fail "h1 cannot fetch h2's page"
wait_route r1 eth1
[ "$(bird_pids | wc -l)" -eq 4 ] || fail "expected 4 bird processes, found: $(bird_pids)"
for r in r1 r2 r3 r4; do
  pid=$(bird_in "$r")
  [ -n "$pid" ] || fail "$r: no bird in its network namespace"
  nsenter -t "$pid" -m grep -q '^protocol ospf v2 lab' /etc/bird/bird.conf || fail "$r: bird does not see the lab's bird.conf"
  [ "$(nsenter -t "$pid" -m stat -c %a /etc/bird/bird.conf)" = 644 ] || fail "$r: bird.conf is not mode 644"
  # its neighbours, from BIRD itself through the control socket in the service's own /run
  n=$(nsenter -t "$pid" -m -n birdc -s /run/bird.ctl show ospf neighbors | grep -c Full || true)
  [ "$n" -eq 2 ] || fail "$r: $n OSPF neighbours in state Full, not 2"
done
[ "$(sha256sum /etc/bird/bird.conf 2>/dev/null || echo none)" = "$host_conf" ] || fail "the host's /etc/bird/bird.conf changed"
# h2's page is in a /srv of its own: nothing is made in the host's /srv (and h2-web sees its page there)
[ "$(ls -la /srv/www 2>&1 || true)" = "$host_page" ] || fail "the host's /srv/www changed: $(ls -la /srv/www 2>&1)"
echo "first deploy: no warning, 4 routers with 2 OSPF neighbours each, r1 reaches h2 through eth1"
before=$(bird_pids)

# ---------------------------------------------------------------- 2. second deploy
lab again
said again 'lab ospf: 6 nodes, 6 links, 5 services, 5 files; no change'
grep -Eq 'localhost +: ok=[0-9]+ +changed=0 ' "$out/again.log" || fail "the second deploy's recap is not changed=0"
[ "$(bird_pids)" = "$before" ] || fail "the bird processes changed: $before / $(bird_pids)"
echo "second deploy: no change, the same bird processes"
lab check --check
said check 'lab ospf: 6 nodes, 6 links, 5 services, 5 files; no change (check mode: nothing was changed)'
lab checkcut --check -e ospf_cut=true
said checkcut 'lab ospf: 6 nodes, 5 links, 5 services, 5 files; changed: 1 node, 1 link removed (check mode: nothing was changed)'
ip -n r1 link show eth1 >/dev/null || fail "a check-mode run removed r1's eth1"
[ "$(bird_pids)" = "$before" ] || fail "a check-mode run changed the bird processes"
echo "check mode: the same report, nothing changed (r1 keeps eth1, the same bird processes)"

# ---------------------------------------------------------------- 3. nodes as inventory hosts
ansible-inventory "${nodes[@]}" --graph >"$out/graph.txt"
for r in r1 r2 r3 r4; do
  want="net:[$(stat -L -c %i "/run/netns/$r")]"
  got=$(ANSIBLE_CALLBACK_RESULT_FORMAT=json timeout 120 ansible "${nodes[@]}" "$r" -m command -a 'readlink /proc/self/ns/net' \
        | sed -n 's/^.*"stdout": "\([^"]*\)".*$/\1/p; /^net:\[/p' | head -1)
  [ "$got" = "$want" ] || fail "$r: the inventory host answered from $got, not $want"
done
ANSIBLE_CALLBACK_RESULT_FORMAT=json timeout 120 ansible "${nodes[@]}" routers -m command -a 'ip -4 route show 10.243.2.0/24' \
  | tee "$out/routes.out"
[ "$(grep -c 'proto bird' "$out/routes.out")" -ge 3 ] || fail "the routers group did not show BIRD's routes"
timeout 120 ansible "${nodes[@]}" r1-bird -m command -a 'birdc -s /run/bird.ctl show ospf neighbors' | tee "$out/birdc.out"
[ "$(grep -c Full "$out/birdc.out")" -eq 2 ] || fail "r1-bird: birdc through the inventory did not list 2 neighbours"
echo "inventory: each router answered from its own network namespace; birdc ran in r1-bird's view"

# ---------------------------------------------------------------- 4. a link cut, and back
lab cut -e ospf_cut=true
said cut 'lab ospf: 6 nodes, 5 links, 5 services, 5 files; changed: 1 node, 1 link removed'
ip -n r1 link show eth1 >/dev/null 2>&1 && fail "r1 still has eth1 after the cut"
wait_route r1 eth2
[ "$(ip netns exec h1 "$python" -c "$fetch" http://10.243.2.2/)" = "h2 of the ospf lab" ] || fail "h1 cannot reach h2 after the cut"
echo "cut: r1 reaches h2's network through eth2 (r4), h1 still fetches h2's page"
lab back
said back 'lab ospf: 6 nodes, 6 links, 5 services, 5 files; changed: 2 nodes, 1 link'
wait_route r1 eth1
echo "back: r1 reaches h2's network through eth1 again"

# ---------------------------------------------------------------- 5. removal
lab gone -e ospf_state=absent
said gone 'lab ospf removed: 6 namespaces, 5 services'
left=$(ip netns list | grep -Ec '^(r[1-4]|h[12])( |$)' || true)
[ "$left" -eq 0 ] || fail "namespaces left: $(ip netns list)"
[ -z "$(pgrep -x bird || true)" ] || fail "bird processes left: $(pgrep -a -x bird)"
[ ! -e /run/nsforge/labs/ospf.json ] || fail "the lab's record is left"
[ ! -e /var/lib/nsforge/labs/ospf ] || fail "the lab's files are left: $(find /var/lib/nsforge/labs/ospf | head)"
echo "removed: no namespace, bird process, record or file of the lab left"
