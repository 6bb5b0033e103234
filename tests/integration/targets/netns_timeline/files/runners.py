# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The timeline runners alive on this host, from /proc (not from the collection's records): a JSON list of
{pid, cmdline} of the processes (zombies left out) whose command line runs /run/nsforge/timelines/runner.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

found = []
for entry in os.listdir('/proc'):
    if not entry.isdigit():
        continue
    try:
        with open('/proc/%s/cmdline' % entry, 'rb') as handle:
            argv = handle.read().split(b'\0')
        with open('/proc/%s/stat' % entry) as handle:
            stat = handle.read()
    except (IOError, OSError):
        continue
    if stat[stat.rindex(')') + 2:].split()[0] in ('Z', 'X'):
        continue
    words = [a.decode('utf-8', 'replace') for a in argv if a]
    if '/run/nsforge/timelines/runner.py' in words:
        found.append({'pid': int(entry), 'cmdline': words})
print(json.dumps(sorted(found, key=lambda item: item['pid'])))
