# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check the answers of an ad-hoc run (`ansible`'s output with ANSIBLE_CALLBACK_RESULT_FORMAT=json) against what
independent tools found.

    answers.py OUTPUT equal HOST=VALUE ...      each host's stdout is VALUE, and only these hosts answered
    answers.py OUTPUT ifnames HOST=IF,IF ...    each host's `ip -j addr` lists exactly these interfaces
    answers.py OUTPUT ping HOST ...             each host answered ping with pong, and only these hosts
"""

from __future__ import absolute_import, division, print_function

import json
import re
import sys

# a host's answer starts with "r1 | CHANGED | rc=0 >>" (its stdout follows) or "r1 | SUCCESS => {" (its JSON result)
HEAD = re.compile(r'^(?P<host>\S+) \| (?P<status>[A-Z]+!?)(?: \| rc=(?P<rc>\d+) >>| => (?P<json>.*))$')


def results(path):
    """host -> result ({'stdout'} or the module's JSON result), or {'failed', 'msg'} for a host that failed."""
    blocks = []
    with open(path) as handle:
        for line in handle.read().splitlines():
            match = HEAD.match(line)
            if match:
                blocks.append((match, []))
            elif blocks:
                blocks[-1][1].append(line)
    out = {}
    for match, lines in blocks:
        host, status = match.group('host'), match.group('status')
        if status not in ('SUCCESS', 'CHANGED') or match.group('rc') not in (None, '0'):
            out[host] = {'failed': True, 'msg': '\n'.join([match.group(0)] + lines)}
        elif match.group('json') is not None:
            out[host] = json.loads('\n'.join([match.group('json')] + lines))
        else:
            out[host] = {'stdout': '\n'.join(lines)}
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
