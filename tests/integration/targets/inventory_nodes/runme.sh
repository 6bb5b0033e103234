#!/usr/bin/env bash
# The nsforge.linux.nodes inventory plugin: a lab deployed with the netlab role, then reached through an inventory
# source that names its topology (no hand-written inventory). Each answer is checked against what tools outside the
# node find: the node's hostname, its interfaces (ip -n), its network namespace (the inode of /run/netns/<node>) and,
# for a service, the namespaces of its recorded process.
#   1. on this host: ansible all -m ping, command hostname / readlink / ip -j addr, a play on a label's group;
#      wrong sources fail naming what is wrong (missing topology, unknown node in a link, unknown host); the default
#      lab (playbooks/lab.yml) through playbooks/default.nodes.yml, tenant's user namespace included;
#   2. on two hosts of tests/fleet over SSH: -i <fleet inventory> -i xhost.nodes.yml, a node on each host.
# Runs inside tests/sandbox.sh (tests/integration/run.sh does).
set -euo pipefail

# shellcheck source=SCRIPTDIR/../setup_runme/files/in_sandbox.sh
. ../setup_runme/files/in_sandbox.sh
out=${OUTPUT_DIR:?OUTPUT_DIR is not set}
here=$(pwd)
root=$(cd ../../../.. && pwd)
python=$(command -v python)
answers=("$python" "$here/files/answers.py")
fleet=("$python" "$root/tests/fleet/fleet.py")
fdir=$out/fleet
# one SSH session per task
export ANSIBLE_PIPELINING=True

cleanup() { "${fleet[@]}" down --dir "$fdir" >/dev/null 2>&1 || true; }
trap cleanup EXIT

adhoc() {  # adhoc NAME ARGS...: an ad-hoc run whose answers land in $out/NAME.out
  local name=$1
  shift
  ANSIBLE_CALLBACK_RESULT_FORMAT=json timeout 300 ansible "$@" | tee "$out/$name.out" || true
}
playbook() {
  timeout 600 ansible-playbook "$@"
}
pid_of() {  # pid_of SERVICE: the PID that the service's record holds
  "$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["pid"])' "/run/nsforge/services/$1.json"
}

# ---------------------------------------------------------------- 1. a lab on this host
lab=$out/local
mkdir -p "$lab"
cp files/local.yml.j2 "$lab/"
cat >"$lab/local.nodes.yml" <<SOURCE
plugin: nsforge.linux.nodes
topology: local.yml.j2
vars: {sleeper: sleep}
SOURCE
playbook deploy.yml -e lab_hosts=testhost -e "topology=$lab/local.yml.j2" -e sleeper=sleep
src=(-i "$lab/local.nodes.yml")

ansible-inventory "${src[@]}" --list >"$out/local-list.json"
"$python" - "$out/local-list.json" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
groups = dict((g, sorted(data.get(g, {}).get('hosts', []))) for g in
              ('nodes', 'services', 'routers', 'core', 'lab_nodes_local', 'host_localhost'))
want = {'nodes': ['h1', 'r1', 'r2'], 'services': ['h1-side-svc', 'h1-svc'], 'routers': ['r1', 'r2'], 'core': ['r1'],
        'lab_nodes_local': ['h1', 'h1-side-svc', 'h1-svc', 'r1', 'r2'],
        'host_localhost': ['h1', 'h1-side-svc', 'h1-svc', 'r1', 'r2']}
if groups != want:
    sys.exit('groups: expected %s, got %s' % (want, groups))
hostvars = data['_meta']['hostvars']
for name in ('lan', 'h1-side'):
    if name in hostvars:
        sys.exit('%s is a host; bridges and nodes sharing another network are not' % name)
print('inventory: groups as expected; no host for the bridge lan nor for h1-side')
PY

adhoc ping "${src[@]}" all -m ping
"${answers[@]}" "$out/ping.out" ping r1 r2 h1 h1-svc h1-side-svc

expect=()
for n in r1 r2 h1; do expect+=("$n=$(nsenter --uts="/run/nsforge/nodes/$n/uts" hostname)"); done
for s in h1-svc h1-side-svc; do expect+=("$s=$(nsenter -t "$(pid_of "$s")" -u hostname)"); done
adhoc hostname "${src[@]}" all -m command -a hostname
"${answers[@]}" "$out/hostname.out" equal "${expect[@]}"
# the side node's service has a hostname of its own in h1's network
[[ " ${expect[*]} " == *" h1-side-svc=h1-side "* ]] || { echo "h1-side-svc: hostname is not h1-side: ${expect[*]}" >&2; exit 1; }

h1_net="net:[$(stat -L -c %i /run/netns/h1)]"
expect=("h1-svc=$h1_net" "h1-side-svc=$h1_net")
for n in r1 r2 h1; do expect+=("$n=net:[$(stat -L -c %i "/run/netns/$n")]"); done
adhoc net "${src[@]}" all -m command -a 'readlink /proc/self/ns/net'
"${answers[@]}" "$out/net.out" equal "${expect[@]}"

expect=()
for s in h1-svc h1-side-svc; do expect+=("$s=$(readlink "/proc/$(pid_of "$s")/ns/pid")"); done
adhoc pid "${src[@]}" services -m command -a 'readlink /proc/self/ns/pid'
"${answers[@]}" "$out/pid.out" equal "${expect[@]}"

expect=()
for n in r1 r2 h1; do
  expect+=("$n=$(ip -n "$n" -j addr | "$python" -c 'import json, sys; print(",".join(l["ifname"] for l in json.load(sys.stdin)))')")
done
adhoc addr "${src[@]}" nodes -m command -a 'ip -j addr'
"${answers[@]}" "$out/addr.out" ifnames "${expect[@]}"

pins="{\"r1\": \"net:[$(stat -L -c %i /run/netns/r1)]\", \"r2\": \"net:[$(stat -L -c %i /run/netns/r2)]\"}"
playbook "${src[@]}" routers.yml -e "{\"pins\": $pins}" | tee "$out/routers.log"
ran=$(sed -n 's/^\([^ ]*\) *: ok=.*/\1/p' "$out/routers.log" | sort | tr '\n' ' ')
[ "$ran" = "r1 r2 " ] || { echo "the play on group routers ran on: $ran" >&2; exit 1; }
echo "a play on hosts: routers ran inside r1 and r2 only"

# wrong sources fail naming what is wrong
bad() {  # bad NAME TOPOLOGY-OPTION EXPECTED: the source fails, its message holds EXPECTED
  local name=$1 topology=$2 expected=$3 log
  printf 'plugin: nsforge.linux.nodes\ntopology: %s\n' "$topology" >"$lab/$name.nodes.yml"
  log=$out/$name.log
  if ANSIBLE_INVENTORY_ENABLED=nsforge.linux.nodes ANSIBLE_INVENTORY_UNPARSED_FAILED=True \
      ansible-inventory -i "$lab/$name.nodes.yml" --list >"$log" 2>&1; then
    echo "$name: the source was accepted" >&2
    exit 1
  fi
  # (compared without blanks: ansible-core 2.17 wraps its warnings, also inside words with a '-')
  if ! tr -d ' \n' <"$log" | grep -qF -- "${expected// /}"; then
    cat "$log" >&2
    echo "$name: the message does not say: $expected" >&2
    exit 1
  fi
  echo "$name: fails saying: $expected"
}
printf 'name: broken\nnodes: [{name: x}]\nlinks: [[x:eth1, zz:eth1]]\n' >"$lab/broken.yml"
printf 'name: away\nnodes: [{name: x, host: ghost}]\n' >"$lab/away.yml"
bad missing nosuch.yml "$lab/nosuch.yml: No such file or directory"
bad broken broken.yml "topology $lab/broken.yml: links[0]: unknown node 'zz'"
bad away away.yml "nodes[0] (x).host: unknown host 'ghost'"

playbook deploy.yml -e lab_hosts=testhost -e "topology=$lab/local.yml.j2" -e sleeper=sleep -e netlab_state=absent

# the default lab (make lab) through the source the collection ships, tenant's user namespace included
start=$SECONDS
playbook "$root/playbooks/lab.yml" >"$out/default-lab.log" 2>&1 || { tail -40 "$out/default-lab.log" >&2; exit 1; }
default=(-i "$root/playbooks/default.nodes.yml")
adhoc default-ping "${default[@]}" all -m ping
"${answers[@]}" "$out/default-ping.out" ping web-a web-b tenant vault web-a-http web-b-http web-a-sidecar-probe \
  tenant-http vault-http
# inside tenant's pinned user namespace (root there, an unprivileged ID on the host)
adhoc default-user "${default[@]}" tenant -m command -a 'readlink /proc/self/ns/user'
"${answers[@]}" "$out/default-user.out" equal "tenant=user:[$(stat -L -c %i /run/nsforge/nodes/tenant/user)]"
playbook "$root/playbooks/destroy.yml" >"$out/default-destroy.log" 2>&1 || { tail -40 "$out/default-destroy.log" >&2; exit 1; }
echo "the default lab: its nine hosts answer through playbooks/default.nodes.yml ($((SECONDS - start))s)"

# ---------------------------------------------------------------- 2. a lab across two hosts of the fleet
"${fleet[@]}" up --dir "$fdir" --hosts 2 --python "$python"
in_host() {  # in_host HOST CMD...: a command in the host's mount and network namespaces
  local host=$1
  shift
  nsenter -t "$("${fleet[@]}" pid --dir "$fdir" "$host")" -m -n "$@"
}
xlab=$out/xlab
mkdir -p "$xlab"
cp files/xhost.yml "$xlab/"
printf 'plugin: nsforge.linux.nodes\ntopology: xhost.yml\n' >"$xlab/xhost.nodes.yml"
playbook -i "$fdir/inventory.ini" deploy.yml -e lab_hosts=fleet -e "topology=$xlab/xhost.yml"
both=(-i "$fdir/inventory.ini" -i "$xlab/xhost.nodes.yml")

adhoc xping "${both[@]}" 'nodes:services' -m ping
"${answers[@]}" "$out/xping.out" ping a b b-svc
a_net="net:[$(in_host fleet1 stat -L -c %i /run/netns/a)]"
b_net="net:[$(in_host fleet2 stat -L -c %i /run/netns/b)]"
[ "$a_net" != "$b_net" ] || { echo "a and b have the same network namespace: $a_net" >&2; exit 1; }
adhoc xnet "${both[@]}" 'nodes:services' -m command -a 'readlink /proc/self/ns/net'
"${answers[@]}" "$out/xnet.out" equal "a=$a_net" "b=$b_net" "b-svc=$b_net"
adhoc xhostname "${both[@]}" left -m command -a hostname
"${answers[@]}" "$out/xhostname.out" equal "a=$(in_host fleet1 nsenter --uts=/run/nsforge/nodes/a/uts hostname)"
# b reached through fleet2's sshd: the command runs in fleet2's PID namespace
adhoc xpidns "${both[@]}" b -m command -a 'readlink /proc/self/ns/pid'
"${answers[@]}" "$out/xpidns.out" equal "b=$(readlink "/proc/$("${fleet[@]}" pid --dir "$fdir" fleet2)/ns/pid")"
echo "fleet: a (fleet1) and b (fleet2) answer from inside their nodes, through -i fleet -i xhost.nodes.yml"
