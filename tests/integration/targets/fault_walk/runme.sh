#!/usr/bin/env bash
# Fault injection walk: every module task is killed (SIGKILL) after each step
# of its change list in turn, then run again; it must converge, leaking nothing
# (files/walk.py). killed.yml shows how Ansible reports such a kill.
# Runs inside tests/sandbox.sh (tests/integration/run.sh does).
set -euo pipefail

# shellcheck source=SCRIPTDIR/../setup_runme/files/in_sandbox.sh
. ../setup_runme/files/in_sandbox.sh

timeout 300 ansible-playbook killed.yml
collections=${ANSIBLE_COLLECTIONS_PATH%%:*}
PYTHONPATH=$collections timeout 900 python files/walk.py
