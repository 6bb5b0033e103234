#!/usr/bin/env bash
# Check mode predicts the real run (netns): a property test over generated pairs
# of declarations (files/property.py): check mode's after-view of the second
# declaration equals the view read after applying it, check mode changes
# nothing, a third run changes nothing, and `ip -j` agrees with the view.
# Runs inside tests/sandbox.sh (tests/integration/run.sh does).
set -euo pipefail

# shellcheck source=SCRIPTDIR/../setup_runme/files/in_sandbox.sh
. ../setup_runme/files/in_sandbox.sh

collections=${ANSIBLE_COLLECTIONS_PATH%%:*}
export PYTHONDONTWRITEBYTECODE=1
PYTHONPATH=$collections${PYTHONPATH:+:$PYTHONPATH} timeout 600 python files/property.py
