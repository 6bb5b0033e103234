#!/usr/bin/env bash
# Concurrency: two playbooks converge overlapping nodes and services at the
# same time, for three rounds (the first from nothing, the others changing the
# shared nodes and restarting the shared services). Both must succeed, the host
# must hold the declared state (files/verify.py: ip, nsenter, /proc, records,
# locks) and a third run must change nothing. First, files/shared_dir_race.py
# races tasks that create a state folder and the /run/netns mount point.
# Runs inside tests/sandbox.sh (tests/integration/run.sh does).
set -euo pipefail

# shellcheck source=SCRIPTDIR/../setup_runme/files/in_sandbox.sh
. ../setup_runme/files/in_sandbox.sh
out=${OUTPUT_DIR:-$(mktemp -d)}
collections=${ANSIBLE_COLLECTIONS_PATH%%:*}

# Tasks creating the state folders and the /run/netns mount point at the same moment.
PYTHONPATH=$collections timeout 60 python files/shared_dir_race.py

for round in 1 2 3; do
  start=$SECONDS
  timeout 300 ansible-playbook converge.yml -e side=a -e round=$round >"$out/a$round.log" 2>&1 & pid_a=$!
  timeout 300 ansible-playbook converge.yml -e side=b -e round=$round >"$out/b$round.log" 2>&1 & pid_b=$!
  rc_a=0; wait "$pid_a" || rc_a=$?
  rc_b=0; wait "$pid_b" || rc_b=$?
  if [ "$rc_a" -ne 0 ] || [ "$rc_b" -ne 0 ]; then
    echo "round $round: side a rc=$rc_a, side b rc=$rc_b" >&2
    cat "$out/a$round.log" "$out/b$round.log" >&2
    exit 1
  fi
  python files/verify.py "$round"
  echo "round $round: both playbooks succeeded, state verified ($((SECONDS - start))s)"
done

# A third run of each side changes nothing.
for side in a b; do
  timeout 300 ansible-playbook converge.yml -e side=$side -e round=3 >"$out/third-$side.log" 2>&1 || {
    cat "$out/third-$side.log" >&2; exit 1; }
  if ! grep -Eq 'localhost +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0' "$out/third-$side.log"; then
    echo "third run of side $side reported a change:" >&2
    cat "$out/third-$side.log" >&2
    exit 1
  fi
done
python files/verify.py 3
echo "concurrency: third run unchanged"
