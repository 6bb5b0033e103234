# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sample interfaces' states with timestamps, independently of the module: every 50 ms, `ip -n NODE -j link show
dev IF` for each NODE:IF, its administrative state (the UP flag) and its operstate. Writes, at the end and atomically,
{"samples": N, "first": epoch, "last": epoch, "transitions": {"NODE:IF": [[epoch, admin_up, oper], ...]}}: the first
sample of each interface, then one entry per change.

Usage: sample.py SECONDS OUTPUT NODE:IF [NODE:IF ...]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys
import time


def state(key):
    node, ifname = key.split(':', 1)
    done = subprocess.run(['ip', '-n', node, '-j', 'link', 'show', 'dev', ifname], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        return None, None
    link = json.loads(done.stdout.decode())[0]
    return 'UP' in link.get('flags', []), link.get('operstate')


def main(seconds, output, keys):
    end = time.time() + float(seconds)
    transitions = dict((key, []) for key in keys)
    first = None
    count = 0
    while time.time() < end:
        for key in keys:
            now = time.time()
            admin, oper = state(key)
            first = first or now
            if not transitions[key] or transitions[key][-1][1:] != [admin, oper]:
                transitions[key].append([now, admin, oper])
        count += 1
        time.sleep(0.05)
    tmp = output + '.tmp'
    with open(tmp, 'w') as handle:
        json.dump({'samples': count, 'first': first, 'last': time.time(), 'transitions': transitions}, handle)
    os.rename(tmp, output)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
