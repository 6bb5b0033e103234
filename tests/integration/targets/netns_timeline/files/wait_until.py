# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sleep until STARTED + OFFSET seconds (epoch); print how late that is now (negative: it slept).

Usage: wait_until.py STARTED OFFSET
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import sys
import time

when = float(sys.argv[1]) + float(sys.argv[2])
late = time.time() - when
if late < 0:
    time.sleep(-late)
print(json.dumps({'late': round(late, 3), 'offset': round(time.time() - float(sys.argv[1]), 3)}))
