#!/usr/bin/env bash
# Print the line of tests/requirements.txt that pins PACKAGE (such as pyroute2>=0.9.1,<0.10), so that every
# virtual environment made outside .venv (the matrix's, the Galaxy test's) installs the same version range.
# Usage: .ci/requirement.sh PACKAGE
set -euo pipefail

package=${1:?usage: $0 PACKAGE}
file=$(cd "$(dirname "$0")/.." && pwd)/tests/requirements.txt
line=$(grep -m 1 -iE "^${package}([<>=!~ ]|$)" "$file" | sed 's/[[:space:]]*#.*//') || true
if [ -z "$line" ]; then
  echo "$0: $file has no requirement for $package" >&2
  exit 1
fi
echo "$line"
