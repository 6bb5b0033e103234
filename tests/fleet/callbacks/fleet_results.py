# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Callback for the fleet tests: per-host stats, failures and per-host task times as one JSON file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: fleet_results
type: aggregate
short_description: Write per-host stats and per-host task times to a JSON file
description:
  - Records, for every task and host, the action, the status, whether it changed and the seconds from the start of
    the task on that host to its result; at the end writes them with the recap's stats to O(path).
  - Used by the simulated fleet's test and benchmark (tests/fleet); not part of the collection.
author: nsforge developers (@nsforge)
requirements:
  - enable in configuration
options:
  path:
    description: The JSON file to write.
    type: path
    required: true
    env:
      - name: FLEET_RESULTS
"""

import json
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'fleet_results'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._started = {}
        self._tasks = []
        self._begin = time.time()

    def v2_runner_on_start(self, host, task):
        self._started[(host.get_name(), task._uuid)] = time.time()

    def _record(self, result, status):
        host = result._host.get_name()
        task = result._task
        start = self._started.pop((host, task._uuid), None)
        res = result._result
        msg = ' '.join(str(res[k]).strip() for k in ('msg', 'stderr', 'module_stderr') if res.get(k))
        self._tasks.append({
            'host': host,
            'task': task.get_name(),
            'action': task.action,
            'delegated': bool(task.delegate_to),
            'status': status,
            'changed': bool(res.get('changed')),
            # a loop runs the module once per item
            'runs': len(res['results']) if isinstance(res.get('results'), list) else 1,
            'seconds': round(time.time() - start, 4) if start is not None else None,
            'msg': msg[:1000] if status in ('failed', 'unreachable') else '',
        })

    def v2_runner_on_ok(self, result):
        self._record(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, 'ignored' if ignore_errors else 'failed')

    def v2_runner_on_skipped(self, result):
        self._record(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._record(result, 'unreachable')

    def v2_playbook_on_stats(self, stats):
        out = {'stats': {h: stats.summarize(h) for h in sorted(stats.processed)},
               'tasks': self._tasks, 'wall_seconds': round(time.time() - self._begin, 3)}
        with open(self.get_option('path'), 'w') as handle:
            json.dump(out, handle, indent=1, sort_keys=True)
