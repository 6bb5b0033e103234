# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare the host with a snapshot file: prints the differences, exit status 1 when there are any.

The transient processes are those under $CORPUS_TRANSIENT_ROOT (the corpus driver).
Usage: compare.py BASELINE.json
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import snapshot  # noqa: E402  pylint: disable=wrong-import-position

with open(sys.argv[1], encoding='utf-8') as handle:
    before = json.load(handle)
after = json.loads(json.dumps(snapshot.snapshot(int(os.environ['CORPUS_TRANSIENT_ROOT']))))
diff = snapshot.differences(before, after)
print('\n'.join(line[:300] for line in diff))
if diff:
    # a new baseline, so that one failure does not hide the next ones
    with open(sys.argv[1], 'w', encoding='utf-8') as handle:
        json.dump(after, handle, sort_keys=True)
sys.exit(1 if diff else 0)
