#!/usr/bin/env bash
# The smoke test of the ansible-core matrix (make test-matrix): one nsproc service in a user namespace of its own,
# the netlab role on a small topology with services and NAT and then an edit, and a task inside a node through the
# nsenter connection; then everything removed. SMOKE_PYTHON, when set, is the managed host's interpreter (a Python
# with pyroute2), so the modules' own code runs on it.
# Runs inside tests/sandbox.sh (tests/integration/run.sh does).
set -euo pipefail

# shellcheck source=SCRIPTDIR/../setup_runme/files/in_sandbox.sh
. ../setup_runme/files/in_sandbox.sh
extra=()
if [ -n "${SMOKE_PYTHON:-}" ]; then
  extra=(-e "ansible_python_interpreter=$SMOKE_PYTHON")
fi
echo "--- ansible-core $(ansible --version | sed -n 1p | grep -o '[0-9][0-9.]*'), managed-host Python ${SMOKE_PYTHON:-of the controller}"
timeout 900 ansible-playbook smoke.yml "${extra[@]}"
