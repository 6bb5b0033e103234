#!/usr/bin/env bash
# Surviving reboot (issue 11): persisted nodes and systemd-supervised services are recreated after a simulated
# reboot (files/reboot.sh empties /run) by the restore command that their units run (files/boot.sh runs the
# ExecStart= of every enabled unit, as systemd would); every unit passes systemd-analyze verify.
# Runs inside tests/sandbox.sh (tests/integration/run.sh does).
set -euo pipefail

# shellcheck source=SCRIPTDIR/../setup_runme/files/in_sandbox.sh
. ../setup_runme/files/in_sandbox.sh
out=${OUTPUT_DIR:-$(mktemp -d)}
# the restore command and its engine are installed under /usr/local: an overlay of this sandbox's own takes them
# (its folders, like the sandbox's /etc overlay, stand for a disk and survive the simulated reboot)
mkdir -p /run/.sandbox-usr-local/upper /run/.sandbox-usr-local/work
mount -t overlay overlay -o lowerdir=/usr/local,upperdir=/run/.sandbox-usr-local/upper,workdir=/run/.sandbox-usr-local/work /usr/local
# and it starts without what a persisted lab of the machine may have installed there
rm -rf /usr/local/lib/nsforge /usr/local/sbin/nsforge-restore
nodes=(pa pb pc-2 nx)

playbook() {
  local start=$SECONDS
  timeout 600 ansible-playbook "$@"
  echo "--- playbook $1 done in $((SECONDS - start))s"
}

playbook errors.yml
playbook nodes.yml
playbook services.yml
files/verify_units.sh
python files/snapshot.py "${nodes[@]}" > "$out/before.json"
python -c 'import json,sys; s=json.load(open(sys.argv[1])); assert all(s["nodes"][n]["present"] for n in sys.argv[2:]), s' \
  "$out/before.json" "${nodes[@]}"

files/reboot.sh
python files/snapshot.py "${nodes[@]}" > "$out/rebooted.json"
python -c 'import json,sys; s=json.load(open(sys.argv[1])); assert not any(n["present"] for n in s["nodes"].values()), s' \
  "$out/rebooted.json"

files/boot.sh
python files/snapshot.py "${nodes[@]}" > "$out/after.json"
# every persisted node exactly as before; nx, not persisted, absent
python - "$out/before.json" "$out/after.json" <<'PY'
import json, sys
before, after = (json.load(open(p)) for p in sys.argv[1:3])
assert after['nodes'].pop('nx') == {'present': False, 'files': []}, 'nx is back'
before['nodes'].pop('nx')
for name in before['nodes']:
    assert before['nodes'][name] == after['nodes'][name], (name, before['nodes'][name], after['nodes'][name])
assert before['host_peers'] == after['host_peers'], (before['host_peers'], after['host_peers'])
print('restored as declared: %s' % ', '.join(sorted(after['nodes'])))
PY
# the same playbooks change nothing now
playbook nodes.yml -e after_boot=true
playbook services.yml -e after_boot=true
playbook cleanup.yml

# with systemd running (a stand-in systemctl that logs its calls and runs the units)
mkdir -p /run/systemd/system
PATH=$PWD/files/fakebin:$PATH playbook live.yml
rm -rf /run/systemd
