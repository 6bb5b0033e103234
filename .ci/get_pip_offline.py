# Offline stand-in for the get-pip.py bootstrap script that ansible-test downloads.
#
# ansible-test (ansible_test/_util/target/setup/requirements.py, bootstrap()) looks
# for a cached copy at ~/.ansible/test/cache/get_pip_<version>.py and runs it as
# __main__ inside each fresh virtual environment, with arguments such as:
#   --disable-pip-version-check pip==24.2 --no-setuptools --no-wheel
# The download host is not reachable from this project's machines, so `make`
# copies this file to that cache path.  It bootstraps pip with the interpreter's
# own ensurepip and then lets pip install the requested packages from the
# configured package index.
"""Bootstrap pip into the running interpreter without downloading get-pip.py."""

from __future__ import annotations

import subprocess
import sys

# Options understood by get-pip.py but not by `pip install`.
GET_PIP_ONLY = frozenset(('--no-setuptools', '--no-wheel', '--no-pip'))


def has_module(name):
    """Return True when the interpreter can import the named module."""
    return subprocess.call([sys.executable, '-c', 'import %s' % name],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0


def main():
    """Run ensurepip, then pip install the requested packages."""
    args = sys.argv[1:]
    pip_args = [arg for arg in args if arg not in GET_PIP_ONLY]
    unwanted = [name for flag, name in (('--no-setuptools', 'setuptools'), ('--no-wheel', 'wheel'))
                if flag in args and not has_module(name)]

    if not has_module('pip'):
        subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'], stdout=subprocess.DEVNULL)

    if any(not arg.startswith('-') for arg in pip_args):
        subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--quiet'] + pip_args)

    # ensurepip may bring setuptools along (Python < 3.12); honour --no-setuptools/--no-wheel.
    leftovers = [name for name in unwanted if has_module(name)]
    if leftovers:
        subprocess.check_call([sys.executable, '-m', 'pip', 'uninstall', '--yes', '--quiet'] + leftovers)


if __name__ == '__main__':
    main()
