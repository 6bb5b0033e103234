# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tasks that find /run/netns no mount point at the same moment make it one shared mount, not a stack of them.

Forks WORKERS processes that call kernel.ensure_shared_mountpoint() together on
a fresh folder (missing in even rounds, existing in odd ones), ROUNDS times, and counts the mounts at that folder in
/proc/self/mountinfo: exactly one, with shared propagation.  Run as root inside
tests/sandbox.sh with the collection on PYTHONPATH.
"""

from __future__ import annotations

import os
import subprocess
import sys

from ansible_collections.nsforge.linux.plugins.module_utils import kernel

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', 'unit', 'plugins', 'module_utils'))
from test_state_dirs import together  # noqa: E402  pylint: disable=wrong-import-position

WORKERS = 6
ROUNDS = 15


def mounts_at(path):
    with open('/proc/self/mountinfo', encoding='utf-8') as handle:
        return [line.split() for line in handle if line.split()[4] == path]


def main():
    faults = []
    for rnd in range(ROUNDS):
        path = '/run/nsforge-race-%d' % rnd
        if rnd % 2:
            os.mkdir(path)  # odd rounds: the folder exists, only the mount is raced for
        failed = together(lambda: kernel.ensure_shared_mountpoint(path), WORKERS)  # pylint: disable=cell-var-from-loop
        found = mounts_at(path)
        if failed or len(found) != 1 or not any(f.startswith('shared:') for f in found[0][6:found[0].index('-')]):
            faults.append('round %d: %d workers failed, %d mounts at %s' % (rnd, failed, len(found), path))
        for _mount in found:
            subprocess.run(['umount', '-l', path], check=False)
        os.rmdir(path)
    if faults:
        sys.exit('\n'.join(faults))
    print('shared_dir_race: %d rounds of %d tasks, one shared mount each' % (ROUNDS, WORKERS))


if __name__ == '__main__':
    main()
