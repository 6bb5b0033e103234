#!/usr/bin/env bash
# Run the integration targets under tests/integration/targets/, each in its own
# fresh sandbox (tests/sandbox.sh), with ansible-playbook against localhost.
#
# A target is an ansible-test style role: tasks/main.yml (or a runme.sh) and an
# aliases file.  Targets named setup_* / prepare_* are dependencies, not tests;
# targets whose aliases say `disabled` or `unsupported` are skipped.
#
# Usage: tests/integration/run.sh [TARGET ...]      (default: every target)
# Environment:
#   ANSIBLE_COLLECTIONS_PATH  where nsforge.linux is installed (default: build/collections)
#   VENV                      virtual environment with ansible-core and pyroute2 (default: .venv)
#   ANSIBLE_VERBOSITY         passed through to ansible-playbook
#   KEEP_OUTPUT               when set, keep each target's output folder (under TMPDIR) for a look afterwards
# Last line of output: "N passed, M failed"; the exit status is non-zero when M > 0.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
targets_dir=$here/targets
venv=${VENV:-$root/.venv}

export PATH="$venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH=${ANSIBLE_COLLECTIONS_PATH:-$root/build/collections}
export ANSIBLE_ROLES_PATH=$targets_dir
export ANSIBLE_INVENTORY=$here/inventory.ini
export ANSIBLE_HOST_KEY_CHECKING=False
export ANSIBLE_RETRY_FILES_ENABLED=False
export ANSIBLE_NOCOLOR=${ANSIBLE_NOCOLOR:-1}
export ANSIBLE_FORCE_COLOR=${ANSIBLE_FORCE_COLOR:-0}
export ANSIBLE_DEPRECATION_WARNINGS=${ANSIBLE_DEPRECATION_WARNINGS:-1}
export ANSIBLE_CALLBACK_RESULT_FORMAT=yaml

if ! command -v ansible-playbook >/dev/null 2>&1; then
  echo "ansible-playbook not found (run 'make venv' first)" >&2
  exit 1
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  targets=()
  if [ -d "$targets_dir" ]; then
    while IFS= read -r dir; do
      targets+=("$(basename "$dir")")
    done < <(find "$targets_dir" -mindepth 1 -maxdepth 1 -type d | sort)
  fi
fi

if [ "${#targets[@]}" -eq 0 ]; then
  echo "no integration targets under $targets_dir" >&2
  echo "0 passed, 0 failed"
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/nsforge-integration.XXXXXX")
trap '[ -n "${KEEP_OUTPUT:-}" ] || rm -rf "$work"' EXIT

passed=0
failed=0
skipped=0
failed_names=()

for target in "${targets[@]}"; do
  dir=$targets_dir/$target
  if [ ! -d "$dir" ]; then
    echo "=== $target: no such target in $targets_dir"
    failed=$((failed + 1)); failed_names+=("$target")
    continue
  fi
  case $target in
    setup_*|prepare_*) continue ;;
  esac
  if [ "$#" -eq 0 ] && [ -f "$dir/aliases" ] && grep -Eqx '[[:space:]]*(disabled|unsupported)[[:space:]]*' "$dir/aliases"; then
    echo "=== $target: skipped (aliases: disabled/unsupported)"
    skipped=$((skipped + 1))
    continue
  fi

  out=$work/$target
  mkdir -p "$out/output"
  if [ -f "$dir/runme.sh" ]; then
    cmd=(env -C "$dir" "OUTPUT_DIR=$out/output" ./runme.sh)
  elif [ -f "$dir/tasks/main.yml" ] || [ -f "$dir/tasks/main.yaml" ]; then
    cat > "$out/playbook.yml" <<PLAYBOOK
---
- name: Integration target $target
  hosts: localhost
  gather_facts: false
  roles:
    - $target
PLAYBOOK
    cmd=(ansible-playbook "$out/playbook.yml" -e "output_dir=$out/output" -e "remote_tmp_dir=$out/output")
  else
    echo "=== $target: neither tasks/main.yml nor runme.sh"
    failed=$((failed + 1)); failed_names+=("$target")
    continue
  fi

  echo "=== $target: running in a fresh sandbox"
  start=$SECONDS
  if "$root/tests/sandbox.sh" "${cmd[@]}"; then
    echo "=== $target: PASSED ($((SECONDS - start))s)"
    passed=$((passed + 1))
  else
    echo "=== $target: FAILED ($((SECONDS - start))s)"
    failed=$((failed + 1)); failed_names+=("$target")
  fi
done

if [ "$skipped" -gt 0 ]; then
  echo "($skipped skipped)"
fi
if [ "$failed" -gt 0 ]; then
  echo "failed targets: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
