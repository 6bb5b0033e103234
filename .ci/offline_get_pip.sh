#!/usr/bin/env bash
# Put the offline stand-in for ansible-test's pip bootstrap (.ci/get_pip_offline.py) where ansible-test looks for
# a cached get-pip.py, under the name of the pip version that this ansible-test pins for PYVERSION; print its path.
# ansible-test downloads get-pip.py from a host out of reach here, unless ~/.ansible/test/cache holds it.
# Usage: .ci/offline_get_pip.sh ANSIBLE_TEST_PYTHON PYVERSION   (ANSIBLE_TEST_PYTHON: the venv's python with
#        ansible-test; PYVERSION: the --python of the sanity run, such as 3.12)
set -euo pipefail

python=${1:?usage: $0 ANSIBLE_TEST_PYTHON PYVERSION}
version=${2:?usage: $0 ANSIBLE_TEST_PYTHON PYVERSION}
here=$(cd "$(dirname "$0")" && pwd)
pip=$("$python" -c 'import sys
from types import SimpleNamespace
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(SimpleNamespace(version=sys.argv[1]))["pip"].replace(".", "_"))' "$version")
cache=$HOME/.ansible/test/cache
mkdir -p "$cache"
install -m 0644 "$here/get_pip_offline.py" "$cache/get_pip_$pip.py"
echo "$cache/get_pip_$pip.py"
