#!/usr/bin/env bash
# Stale state repaired on the next run (files/stale.py): a /run/netns file that
# pins nothing, a node folder missing a handle, a service record whose PID now
# belongs to another process (never signalled), /run cleared as by a reboot.
# Runs inside tests/sandbox.sh (tests/integration/run.sh does).
set -euo pipefail

if [ "$(hostname)" != nsforge-sandbox ]; then
  echo "runme.sh: run me inside tests/sandbox.sh (tests/integration/run.sh does)" >&2
  exit 1
fi
export ANSIBLE_INVENTORY
ANSIBLE_INVENTORY=$(cd ../.. && pwd)/inventory.ini
timeout 300 python files/stale.py "${OUTPUT_DIR:-$(mktemp -d)}"
