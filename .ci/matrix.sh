#!/usr/bin/env bash
# The ansible-core matrix (make test-matrix; a stage of make test): for each version, a virtual environment with
# that ansible-core and pyroute2, that version's ansible-test sanity on a copy of the collection, the collection
# built and installed with that version's ansible-galaxy, and the integration targets netns and matrix_smoke; then
# matrix_smoke with the newest version and the oldest and the newest managed-host Python found (3.9 to 3.13).
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
times=()

step() {  # NAME COMMAND...: run it, note its duration, stop the matrix at the first failure
  local name=$1 start=$SECONDS
  shift
  echo "=== matrix: $name"
  if ! "$@"; then
    echo "=== matrix: $name FAILED after $((SECONDS - start))s" >&2
    exit 1
  fi
  times+=("$name $((SECONDS - start))s")
}

venv_for() {  # VERSION DIR: DIR/venv with ansible-core VERSION.* and pyroute2
  local version=$1 dir=$2
  if [ ! -x "$dir/venv/bin/ansible-test" ] || [ ! -f "$dir/venv/.installed" ]; then
    rm -rf "$dir/venv"
    "$python" -m venv "$dir/venv"
    "$dir/venv/bin/python" -m pip install --quiet --upgrade pip
    "$dir/venv/bin/python" -m pip install --quiet "ansible-core==$version.*" 'pyroute2>=0.9.1,<0.10'
    touch "$dir/venv/.installed"
  fi
  "$dir/venv/bin/ansible" --version | sed -n 1p
}

sanity_for() {  # DIR: that version's ansible-test sanity on a copy of the collection, on MATRIX_PYTHON
  local dir=$1 copy=$1/ansible_collections/nsforge/linux pip
  "$root/.ci/copy_tree.sh" "$copy"
  # ansible-test bootstraps pip with a script it downloads from a host out of reach: the offline stand-in, under
  # the name of the pip version that this ansible-test pins (see the Makefile's sanity target)
  pip=$("$dir/venv/bin/python" -c 'from ansible_test._internal.python_requirements import get_venv_packages as g
from types import SimpleNamespace as N; print(g(N(version="'"$pyversion"'"))["pip"].replace(".", "_"))')
  mkdir -p "$HOME/.ansible/test/cache"
  install -m 0644 "$root/.ci/get_pip_offline.py" "$HOME/.ansible/test/cache/get_pip_$pip.py"
  (cd "$copy" && PATH="$dir/venv/bin:$PATH" "$dir/venv/bin/ansible-test" sanity --color no --python "$pyversion")
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
  step "$version sanity" sanity_for "$dir"
  step "$version collection" collection_for "$dir"
  step "$version integration (netns, matrix_smoke)" integration_for "$dir" netns matrix_smoke
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
for host_python in "${host_pythons[@]}"; do
  v=$("$host_python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  dir=$build/matrix/host-$v
  if [ ! -f "$dir/.installed" ]; then
    rm -rf "$dir"
    "$host_python" -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet 'pyroute2>=0.9.1,<0.10'
    touch "$dir/.installed"
  fi
  step "managed-host Python $v (ansible-core $newest)" env SMOKE_PYTHON="$dir/bin/python" \
    VENV="${MATRIX_HOST_VENV:-$build/matrix/$newest/venv}" \
    ANSIBLE_COLLECTIONS_PATH="${MATRIX_HOST_COLLECTIONS:-$build/matrix/$newest/collections}" \
    "$root/tests/integration/run.sh" matrix_smoke
done
echo "=== matrix: passed (${times[*]})"
