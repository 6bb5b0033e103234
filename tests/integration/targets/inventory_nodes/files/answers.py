# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check the answers of an ad-hoc run (`ansible --tree DIR`: a JSON file per host) against what independent tools
found.

    answers.py DIR equal HOST=VALUE ...      each host's stdout is VALUE, and only these hosts answered
    answers.py DIR ifnames HOST=IF,IF ...    each host's `ip -j addr` lists exactly these interfaces
    answers.py DIR ping HOST ...             each host answered ping with pong, and only these hosts
"""

from __future__ import absolute_import, division, print_function

import json
import os
import sys


def results(path):
    out = {}
    for host in os.listdir(path):
        with open(os.path.join(path, host)) as handle:
            out[host] = json.load(handle)
    return out


def main(path, mode, *pairs):
    found = results(path)
    if mode == 'ping':
        want = dict((host, 'pong') for host in pairs)
    else:
        want = dict(pair.split('=', 1) for pair in pairs)
    if sorted(found) != sorted(want):
        sys.exit('%s: expected answers from %s, got them from %s' % (path, sorted(want), sorted(found)))
    for host, value in sorted(want.items()):
        result = found[host]
        if result.get('failed') or result.get('unreachable'):
            sys.exit('%s: %s failed: %s' % (path, host, result.get('msg') or result))
        if mode == 'ping':
            got = result.get('ping')
        elif mode == 'ifnames':
            got = ','.join(sorted(link['ifname'] for link in json.loads(result['stdout'])))
            value = ','.join(sorted(value.split(',')))
        else:
            got = result['stdout'].strip()
        if got != value:
            sys.exit('%s: %s answered %r, expected %r (from outside the node)' % (path, host, got, value))
    print('%s: %s' % (mode, ', '.join('%s=%s' % item for item in sorted(want.items()))))


if __name__ == '__main__':
    main(*sys.argv[1:])
