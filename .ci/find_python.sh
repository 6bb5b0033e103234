#!/usr/bin/env bash
# Print the path of a working interpreter for Python X.Y, or nothing (exit 1).
# pyenv shims on PATH exist for every installed version but fail unless that
# version is selected, so the real binaries under $(pyenv root)/versions are
# preferred, then any python3.X on PATH that actually runs.
# Usage: .ci/find_python.sh 3.11
set -euo pipefail

version=${1:?usage: $0 X.Y}
candidates=()

pyenv_root=${PYENV_ROOT:-}
if [ -z "$pyenv_root" ] && command -v pyenv >/dev/null 2>&1; then
  pyenv_root=$(pyenv root 2>/dev/null || true)
fi
pyenv_root=${pyenv_root:-$HOME/.pyenv}
if [ -d "$pyenv_root/versions" ]; then
  # Newest patch release first.
  while IFS= read -r dir; do
    candidates+=("$dir/bin/python$version")
  done < <(find "$pyenv_root/versions" -maxdepth 1 -name "$version.*" | sort -V -r)
fi
candidates+=("/usr/local/bin/python$version" "/usr/bin/python$version")
if command -v "python$version" >/dev/null 2>&1; then
  candidates+=("$(command -v "python$version")")
fi

for python in "${candidates[@]}"; do
  if [ -x "$python" ] && "$python" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$version'.split('.'))))" >/dev/null 2>&1; then
    echo "$python"
    exit 0
  fi
done
exit 1
