#!/usr/bin/env bash
# The collection's own netlink dump parser (module_utils/rtnl.py, and netlink.Session.read on top of it)
# checked field by field against pyroute2's parser and against `ip -j` (iproute2) on live network
# namespaces that hold every kind of link this kernel supports (files/check.py).
# Runs inside tests/sandbox.sh (tests/integration/run.sh does).
set -euo pipefail

# in_sandbox.sh is checked on its own; `shellcheck -x runme.sh` follows it here too
# shellcheck source=SCRIPTDIR/../setup_runme/files/in_sandbox.sh disable=SC1091
. ../setup_runme/files/in_sandbox.sh

# the first entry of ANSIBLE_COLLECTIONS_PATH holds ansible_collections/nsforge/linux
collections=${ANSIBLE_COLLECTIONS_PATH:?ANSIBLE_COLLECTIONS_PATH is not set}
collections=${collections%%:*}
if [ ! -d "$collections/ansible_collections/nsforge/linux" ]; then
  echo "runme.sh: no ansible_collections/nsforge/linux under $collections" >&2
  exit 1
fi
export PYTHONPATH="$collections${PYTHONPATH:+:$PYTHONPATH}"
timeout 120 python files/check.py
