# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a command (an argument vector, no shell) at STARTED + OFFSET seconds (epoch), and tell when it ran: prints
{"before": offset when it began, "after": offset when it ended, "rc": its exit status, "stdout": its output}, so a
check can tell what the timeline should have done by then, however late a loaded machine ran it.

Usage: at.py STARTED OFFSET COMMAND [ARG ...]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import subprocess
import sys
import time

started = float(sys.argv[1])
delay = started + float(sys.argv[2]) - time.time()
if delay > 0:
    time.sleep(delay)
before = time.time() - started
done = subprocess.run(sys.argv[3:], stdout=subprocess.PIPE, check=False)
after = time.time() - started
print(json.dumps({'before': round(before, 3), 'after': round(after, 3), 'rc': done.returncode,
                  'stdout': done.stdout.decode('utf-8', 'replace')}))
