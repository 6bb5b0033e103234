#!/usr/bin/env bash
# Bad-input corpus (files/corpus.yml): every case fails naming the option at
# fault, and leaves the host exactly as the snapshot taken before it
# (files/snapshot.py). Runs inside tests/sandbox.sh (tests/integration/run.sh does).
set -euo pipefail

out=${OUTPUT_DIR:?OUTPUT_DIR is not set}
# shellcheck source=SCRIPTDIR/../setup_runme/files/in_sandbox.sh
. ../setup_runme/files/in_sandbox.sh

timeout 300 ansible-playbook setup.yml
# the collection as the modules import it
collections=${ANSIBLE_COLLECTIONS_PATH%%:*}
CORPUS_TRANSIENT_ROOT=$$ PYTHONPATH=$collections timeout 600 python files/run_corpus.py files/corpus.yml "$out"
