#!/usr/bin/env bash
# Stale state repaired on the next run (files/stale.py): a /run/netns file that
# pins nothing, a node folder missing a handle, a service record whose PID now
# belongs to another process (never signalled), /run cleared as by a reboot.
# Runs inside tests/sandbox.sh (tests/integration/run.sh does).
set -euo pipefail

# shellcheck source=SCRIPTDIR/../setup_runme/files/in_sandbox.sh
. ../setup_runme/files/in_sandbox.sh
timeout 300 python files/stale.py "${OUTPUT_DIR:-$(mktemp -d)}"
