# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check sampled transitions (sample.py) against the declared times of a timeline, within a tolerance.

Usage: verify_flap.py SAMPLES STARTED TOLERANCE KEY:FIELD:VALUE@SECONDS ...
FIELD is admin (VALUE up or down) or oper (VALUE the operstate, or !UP for any state but UP). Per KEY and FIELD,
the transitions sampled after the start must be exactly the expected ones, in order, each within TOLERANCE seconds
of the start time plus its offset. Prints what was found; exit status 1 on a mismatch.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import sys


def main(path, started, tolerance, expectations):
    started, tolerance = float(started), float(tolerance)
    with open(path) as handle:
        data = json.load(handle)
    wanted = {}
    for item in expectations:
        spec, _at, offset = item.partition('@')
        key, field, value = spec.rsplit(':', 2)
        wanted.setdefault((key, field), []).append((value, float(offset)))
    problems = []
    report = {}
    if data['first'] > started:
        problems.append('sampling began %.2fs after the start' % (data['first'] - started))
    for (key, field), expected in sorted(wanted.items()):
        series = data['transitions'][key]
        seen = []
        previous = None
        for entry in series:
            value = ('up' if entry[1] else 'down') if field == 'admin' else entry[2]
            if previous is not None and value != previous and entry[0] >= started:
                seen.append((value, round(entry[0] - started, 3)))
            previous = value
        report['%s:%s' % (key, field)] = seen
        if len(seen) != len(expected):
            problems.append('%s %s: %d transitions sampled %s, %d expected %s' % (key, field, len(seen), seen, len(expected), expected))
            continue
        for (value, at), (want, offset) in zip(seen, expected):
            matches = value == want or (want.startswith('!') and value != want[1:])
            if not matches or abs(at - offset) > tolerance:
                problems.append('%s %s: %s at +%.2fs, expected %s at +%.1fs (+-%.1fs)' % (key, field, value, at, want, offset, tolerance))
    print(json.dumps({'transitions': report, 'problems': problems, 'samples': data['samples']}))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]))
