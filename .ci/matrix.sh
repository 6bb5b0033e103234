#!/usr/bin/env bash
# The ansible-core matrix (make test-matrix; a stage of make test): for each version, a virtual environment with
# that ansible-core and pyroute2, that version's ansible-test sanity on a copy of the collection, the collection
# built and installed with that version's ansible-galaxy, and the integration targets netns and matrix_smoke; then
# matrix_smoke with the newest version and the oldest and the newest managed-host Python found (3.9 to 3.13).
# A version's sanity (mostly CPU) runs while its integration targets (mostly waiting on the kernel and on Ansible's
# round trips) run beside it: the two take about the time of the longer one on two cores.  Its output goes to
# BUILD/matrix/VERSION/sanity.log, shown when it ends (all of it when it fails).
#
# Usage: .ci/matrix.sh ROOT BUILD VERSION...
# Environment: MATRIX_PYTHON (the controller Python of every version's venv; default: the first of 3.12, 3.13),
#   MATRIX_DONE (versions whose sanity and netns target the calling make test ran already: only their smoke runs),
#   MATRIX_HOST_VENV and MATRIX_HOST_COLLECTIONS (the newest version's venv and collections, for the host Pythons).
set -euo pipefail

root=$1
build=$2
shift 2
versions=("$@")
python=${MATRIX_PYTHON:-$(for v in 3.12 3.13; do "$root/.ci/find_python.sh" "$v" && break; done)}
if [ -z "$python" ]; then
  echo "matrix: no Python 3.12 or 3.13 for the controllers" >&2
  exit 1
fi
pyversion=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
pyroute2=$("$root/.ci/requirement.sh" pyroute2)
times=()

run_step() {  # NAME COMMAND...: run it and note its duration; its exit status in step_rc
  local name=$1 start=$SECONDS
  shift
  echo "=== matrix: $name"
  # In a subshell on a line of its own, so that errexit holds inside the functions (bash ignores it in a
  # function run as the condition of an if or in a || list).
  set +e
  (
    set -e
    "$@"
  )
  step_rc=$?
  set -e
  if [ "$step_rc" -ne 0 ]; then
    echo "=== matrix: $name FAILED after $((SECONDS - start))s (exit status $step_rc)" >&2
  else
    times+=("$name $((SECONDS - start))s")
  fi
}

step() {  # NAME COMMAND...: run_step, and stop the matrix at its failure
  run_step "$@"
  [ "$step_rc" -eq 0 ] || exit 1
}

venv_for() {  # VERSION DIR: DIR/venv with ansible-core VERSION.* and pyroute2
  local version=$1 dir=$2
  if [ ! -x "$dir/venv/bin/ansible-test" ] || [ ! -f "$dir/venv/.installed" ]; then
    rm -rf "$dir/venv"
    "$python" -m venv "$dir/venv"
    "$dir/venv/bin/python" -m pip install --quiet --upgrade pip
    "$dir/venv/bin/python" -m pip install --quiet "ansible-core==$version.*" "$pyroute2"
    touch "$dir/venv/.installed"
  fi
  "$dir/venv/bin/ansible" --version | sed -n 1p
}

copy_for() {  # DIR: a copy of the collection (the files git sees) for that version's sanity and build
  "$root/.ci/copy_tree.sh" "$1/ansible_collections/nsforge/linux"
}

sanity_for() {  # DIR: that version's ansible-test sanity on the copy, on MATRIX_PYTHON
  local dir=$1 copy=$1/ansible_collections/nsforge/linux
  # ansible-test bootstraps pip with a script it downloads from a host out of reach: the offline stand-in
  "$root/.ci/offline_get_pip.sh" "$dir/venv/bin/python" "$pyversion" >/dev/null
  (cd "$copy" && PATH="$dir/venv/bin:$PATH" "$dir/venv/bin/ansible-test" sanity --color no --python "$pyversion")
}

sanity_start() {  # VERSION DIR: that version's sanity in the background, its output to DIR/sanity.log
  local version=$1 dir=$2
  echo "=== matrix: $version sanity (in the background: $dir/sanity.log)"
  rm -f "$dir/sanity.log" "$dir/sanity.rc" "$dir/sanity.seconds"
  (
    set +e
    start=$SECONDS
    (
      set -e
      sanity_for "$dir"
    ) > "$dir/sanity.log" 2>&1
    echo $? > "$dir/sanity.rc"
    echo $((SECONDS - start)) > "$dir/sanity.seconds"
  ) &
  sanity_pid=$!
}

sanity_wait() {  # VERSION DIR [FOREGROUND_RC]: wait for the background sanity, show it; stop on any failure
  local version=$1 dir=$2 foreground_rc=${3:-0} rc seconds
  wait "$sanity_pid" || true
  rc=$(cat "$dir/sanity.rc" 2>/dev/null || echo 1)
  seconds=$(cat "$dir/sanity.seconds" 2>/dev/null || echo '?')
  if [ "$rc" -ne 0 ]; then
    cat "$dir/sanity.log" >&2
    echo "=== matrix: $version sanity FAILED after ${seconds}s (exit status $rc; output above and in $dir/sanity.log)" >&2
    exit 1
  fi
  # What it ran, and its verdict: the last lines (the full output is in the log).
  grep -c '^Running sanity test' "$dir/sanity.log" | sed "s/^/--- $version sanity: tests run: /"
  tail -n 3 "$dir/sanity.log"
  echo "=== matrix: $version sanity passed (${seconds}s)"
  times+=("$version sanity ${seconds}s")
  if [ "$foreground_rc" -ne 0 ]; then
    exit 1
  fi
}

collection_for() {  # DIR: the collection built and installed with that version's ansible-galaxy
  local dir=$1
  rm -rf "$dir/dist" "$dir/collections"
  "$dir/venv/bin/ansible-galaxy" collection build "$dir/ansible_collections/nsforge/linux" --output-path "$dir/dist" --force >/dev/null
  "$dir/venv/bin/ansible-galaxy" collection install "$dir"/dist/nsforge-linux-*.tar.gz -p "$dir/collections" \
    --force --no-deps --offline >/dev/null
}

integration_for() {  # DIR TARGET...: targets against that version and its installed collection
  local dir=$1
  shift
  VENV=$dir/venv ANSIBLE_COLLECTIONS_PATH=$dir/collections "$root/tests/integration/run.sh" "$@"
}

for version in "${versions[@]}"; do
  dir=$build/matrix/$version
  mkdir -p "$dir"
  step "$version venv" venv_for "$version" "$dir"
  if [[ " ${MATRIX_DONE:-} " == *" $version "* ]]; then
    # its sanity and the netns target ran in this make test's own stages, on this same version
    step "$version smoke" env VENV="${MATRIX_HOST_VENV:?}" ANSIBLE_COLLECTIONS_PATH="${MATRIX_HOST_COLLECTIONS:?}" \
      "$root/tests/integration/run.sh" matrix_smoke
    continue
  fi
  step "$version copy" copy_for "$dir"
  step "$version collection" collection_for "$dir"
  sanity_start "$version" "$dir"
  # the integration targets beside it; at their failure, the sanity still ends (no process left behind) first
  run_step "$version integration (netns, matrix_smoke)" integration_for "$dir" netns matrix_smoke
  sanity_wait "$version" "$dir" "$step_rc"
done

# The modules' own code on the oldest and the newest managed-host Python found, with the newest ansible-core.
found=()
for v in 3.9 3.10 3.11 3.12 3.13; do
  if p=$("$root/.ci/find_python.sh" "$v"); then
    found+=("$p")
  fi
done
host_pythons=("${found[0]}")
if [ "${#found[@]}" -gt 1 ]; then
  host_pythons+=("${found[-1]}")
fi
newest=${versions[-1]}
# the controller: .venv's (make passes it; the newest ansible-core) or else the newest version's of this matrix
controller_venv=${MATRIX_HOST_VENV:-$build/matrix/$newest/venv}
controller_collections=${MATRIX_HOST_COLLECTIONS:-$build/matrix/$newest/collections}
controller_core=$("$controller_venv/bin/python" -c 'from ansible.release import __version__; print(__version__)')
for host_python in "${host_pythons[@]}"; do
  v=$("$host_python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  dir=$build/matrix/host-$v
  if [ ! -f "$dir/.installed" ]; then
    rm -rf "$dir"
    "$host_python" -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet "$pyroute2"
    touch "$dir/.installed"
  fi
  step "managed-host Python $v (ansible-core $controller_core)" env SMOKE_PYTHON="$dir/bin/python" \
    VENV="$controller_venv" ANSIBLE_COLLECTIONS_PATH="$controller_collections" \
    "$root/tests/integration/run.sh" matrix_smoke
done
echo "=== matrix: passed (${times[*]})"
