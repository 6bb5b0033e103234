#!/usr/bin/env bash
# The default lab made to survive reboot (issue 23): nsforge.linux.lab with -e lab_persist=true deploys every node
# persisted and every service supervised by systemd (-e lab_install_only=true: systemd is not PID 1 here, the units
# are installed and enabled). Checked with tools outside the modules (ls, find, python's json, ip):
#   1. the nodes' records in /etc/nsforge/nodes, the units enabled under /etc/systemd/system/*.wants, the lab's
#      record in the role's netlab_persist_record_dir and not in /run; a second run changes nothing;
#   2. deployed again without lab_persist, the lab's record moves back to /run, the records and units go, the
#      services run under the builtin supervisor (the playbook's proofs pass);
#   3. deployed persisted again, then removed with nsforge.linux.destroy: no node record, unit, lab record,
#      script folder or namespace is left.
# A real reboot of the persisted lab, with systemd as PID 1, is the target reboot_lab's.
# The web server's script is given a folder (lab_www) of the sandbox's own.
# Runs inside tests/sandbox.sh (tests/integration/run.sh does).
set -euo pipefail

# shellcheck source=SCRIPTDIR/../setup_runme/files/in_sandbox.sh
. ../setup_runme/files/in_sandbox.sh
out=${OUTPUT_DIR:-$(mktemp -d)}
python=$(command -v python)
# the restore command and its engine are installed under /usr/local: an overlay of this sandbox's own takes them
# (it stands for a disk, as the sandbox's /etc and /var/lib/nsforge do)
mkdir -p /run/.sandbox-usr-local/upper /run/.sandbox-usr-local/work
mount -t overlay overlay -o lowerdir=/usr/local,upperdir=/run/.sandbox-usr-local/upper,workdir=/run/.sandbox-usr-local/work /usr/local
rm -rf /usr/local/lib/nsforge /usr/local/sbin/nsforge-restore
nodes=(lan web-a web-b tenant vault)
services=(web-a-http web-b-http web-a-sidecar-probe tenant-http vault-http)
kept=/var/lib/nsforge/lab-records/default.json
# the web server's script: on a disk that survives the reboot, as /var/lib/nsforge-lab (the playbook's folder with
# lab_persist) would be; this one is the sandbox's own (gone with the sandbox), so the machine's
# /var/lib is left alone
www=(-e lab_www=/run/.sandbox-lab-www)
runtime=/run/nsforge/labs/default.json

fail() { echo "netlab_persist: $*" >&2; exit 1; }
run() {  # run NAME PLAYBOOK ARGS...: the collection's playbook, its output in $out/NAME.log
  local name=$1 start=$SECONDS
  shift
  ANSIBLE_CALLBACK_RESULT_FORMAT=json timeout 600 ansible-playbook "$@" -e "lab_graph_dir=$out/pictures" 2>&1 | tee "$out/$name.log" >/dev/null
  [ "${PIPESTATUS[0]}" -eq 0 ] || { tail -40 "$out/$name.log"; fail "$name: the playbook failed"; }
  echo "--- $name done in $((SECONDS - start))s: $(grep -E '^localhost +:' "$out/$name.log")"
}
changed() {  # changed NAME: the recap's count of changed tasks
  grep -E '^localhost +:' "$out/$1.log" | sed -E 's/.* changed=([0-9]+) .*/\1/'
}
said() {  # said NAME TEXT
  grep -qF -- "$2" "$out/$1.log" || fail "$1: the output does not say: $2"
}
persisted_lab() {  # the node records, enabled units and the lab's record of a persisted default lab
  local n s
  for n in "${nodes[@]}"; do
    [ -f "/etc/nsforge/nodes/$n.json" ] || fail "no record /etc/nsforge/nodes/$n.json"
    [ -L "/etc/systemd/system/multi-user.target.wants/nsforge-node@$(systemd-escape "$n").service" ] \
      || fail "node unit of $n not enabled"
  done
  for s in "${services[@]}"; do
    [ -f "/etc/systemd/system/nsforge-service-$s.service" ] || fail "no unit of service $s"
    [ -L "/etc/systemd/system/multi-user.target.wants/nsforge-service-$s.service" ] || fail "service unit $s not enabled"
  done
  "$python" - /etc/nsforge/nodes "$kept" <<'PY'
import json, sys
nodes = sys.argv[1]
sections = dict((n, sorted(json.load(open('%s/%s.json' % (nodes, n))))) for n in ('lan', 'web-a', 'tenant', 'vault'))
assert 'uidmap' in sections['tenant'] and 'nsmount' in sections['vault'] and 'netns' in sections['web-a'], sections
record = json.load(open(sys.argv[2]))
assert record['persist'] == ['lan', 'web-a', 'web-b', 'tenant', 'vault'], record
assert sorted(record['systemd']) == sorted(['web-a-http', 'web-b-http', 'web-a-sidecar-probe', 'tenant-http',
                                            'vault-http']), record
print('records: %s' % ', '.join('%s %s' % (n, '+'.join(s)) for n, s in sorted(sections.items())))
PY
  [ ! -e "$runtime" ] || fail "the lab's record is also in $runtime"
  echo "units enabled: $(find /etc/systemd/system -path '*.wants/nsforge-*' | wc -l)"
}
addresses() {  # the IPv4 address of each node's eth0, from ip
  local n
  for n in web-a web-b tenant vault; do
    printf '%s=%s ' "$n" "$(ip -n "$n" -4 -o addr show dev eth0 | awk '{print $4}')"
  done
}

# 1. persisted, install only; a second run changes nothing
run deploy nsforge.linux.lab -e lab_persist=true -e lab_install_only=true "${www[@]}"
persisted_lab
[ -f /run/.sandbox-lab-www/whoami_http.py ] || fail "the web server's script is not in /run/.sandbox-lab-www"
before=$(addresses)
echo "addresses: $before"
run again nsforge.linux.lab -e lab_persist=true -e lab_install_only=true "${www[@]}"
[ "$(changed again)" = 0 ] || fail "the second run changed $(changed again) tasks"
said again 'lab default: 5 nodes, 1 bridge, 4 links, 5 services; no change'

# 2. no longer persisted: the record moves back to /run, the node records and units go, builtin services run
run volatile nsforge.linux.lab
[ -f "$runtime" ] || fail "the lab's record is not in $runtime"
[ ! -e "$kept" ] || fail "the lab's record is still in $kept"
left=$( (find /etc/nsforge/nodes /etc/systemd/system -name '*.json' -o -name 'nsforge-*' 2>/dev/null || true) | sort)
[ -z "$left" ] || fail "records or units left: $left"
"$python" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert "persist" not in r and "systemd" not in r, r' "$runtime"
said volatile 'port 80: web-a answers at'

# 3. persisted again, then destroyed: nothing left
run persisted-again nsforge.linux.lab -e lab_persist=true -e lab_install_only=true "${www[@]}"
persisted_lab
[ ! -e "$runtime" ] || fail "the lab's record is still in $runtime"
run destroy nsforge.linux.destroy "${www[@]}"
# (find fails on the folders that are gone)
left=$( (find /etc/nsforge/nodes /etc/nsforge/services /etc/systemd/system /var/lib/nsforge/lab-records /run/nsforge/labs \
           /run/.sandbox-lab-www /run/nsforge-lab \( -name '*.json' -o -name 'nsforge-*' -o -name '*.py' \) 2>/dev/null || true) | sort)
[ -z "$left" ] || fail "left after destroy: $left"
[ -z "$(ip netns list)" ] || fail "namespaces left after destroy: $(ip netns list)"
if [ -e /var/lib/nsforge/lab-records/default.json ] || [ -e "$runtime" ]; then fail "the lab's record is left"; fi
echo "netlab_persist: all checks passed"
