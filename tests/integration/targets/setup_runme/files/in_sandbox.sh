# shellcheck shell=bash
# Sourced first by the runme.sh of integration targets (from the target's folder):
# refuse to run outside the throwaway sandbox, and point Ansible at the
# integration inventory (tests/integration/inventory.ini).
if [ "$(hostname)" != nsforge-sandbox ]; then
  echo "runme.sh: run me inside tests/sandbox.sh (tests/integration/run.sh does)" >&2
  exit 1
fi
export ANSIBLE_INVENTORY
ANSIBLE_INVENTORY=$(cd ../.. && pwd)/inventory.ini
