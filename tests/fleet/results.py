# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read what the fleet_results callback (tests/fleet/callbacks) wrote for one ansible-playbook run: per-host stats,
failures and per-host task times; check expectations about them.

    ANSIBLE_CALLBACK_PLUGINS=tests/fleet/callbacks ANSIBLE_CALLBACKS_ENABLED=fleet_results FLEET_RESULTS=RUN.json \
      ansible-playbook ...
    python3 tests/fleet/results.py RUN.json [--ok H1,H2] [--unreachable H3] [--unchanged H1,H2] [--changed H3]

prints one line per host (ok, changed, failed, unreachable, tasks, seconds of its tasks) and each failed or
unreachable task; exits 1 when an expectation does not hold:
  --ok HOSTS           no failed and no unreachable task on these hosts
  --unreachable HOSTS  these hosts could not be reached: every failure on them is a lost SSH connection (Ansible
                       reports unreachable, or failed when the connection went away while a module ran)
  --unchanged HOSTS    changed=0 on these hosts
  --changed HOSTS      changed>0 on these hosts
  --hosts HOSTS        exactly these hosts are in the recap
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import sys

# actions that run on the controller only: no module goes to the host
CONTROLLER_ACTIONS = frozenset(
    'ansible.builtin.' + a for a in ('set_fact', 'debug', 'assert', 'include_role', 'include_tasks', 'import_role',
                                     'import_tasks', 'meta', 'validate_argument_spec', 'fail', 'pause'))


def load(path):
    with open(path) as handle:
        return json.load(handle)


def remote(task):
    """True when the task sent a module to its host (not a controller-only action, not delegated, not skipped)."""
    action = task['action'] if '.' in task['action'] else 'ansible.builtin.' + task['action']
    return action not in CONTROLLER_ACTIONS and not task['delegated'] and task['status'] != 'skipped'


def per_host(data):
    """{host: stats + tasks, seconds (all its tasks), modules, module_seconds (tasks that ran a module there)}."""
    out = {}
    for host, stats in data.get('stats', {}).items():
        out[host] = dict(stats, tasks=0, seconds=0.0, modules=0, module_seconds=0.0)
    for task in data.get('tasks', []):
        entry = out.setdefault(task['host'], {'tasks': 0, 'seconds': 0.0, 'modules': 0, 'module_seconds': 0.0})
        entry['tasks'] += 1
        entry['seconds'] += task['seconds'] or 0.0
        if remote(task):
            entry['modules'] += task.get('runs', 1)
            entry['module_seconds'] += task['seconds'] or 0.0
    return out


def problems(data):
    """(host, task, status, message) of every failed or unreachable result."""
    return [(t['host'], t['task'], t['status'], t['msg']) for t in data.get('tasks', [])
            if t['status'] in ('failed', 'unreachable')]


def lost_connection(problem):
    """True when a failure is the SSH connection going away (refused, reset or closed), not the task failing."""
    _host, _task, status, msg = problem
    signs = ('Failed to connect to the host via ssh', 'Connection refused', 'Connection reset', 'Connection closed',
             'Shared connection to', 'Broken pipe')
    return status == 'unreachable' or any(sign in msg for sign in signs)


def _names(value):
    return [v for v in (value or '').split(',') if v]


def main(argv=None):
    parser = argparse.ArgumentParser(prog='results.py', description=__doc__.split('\n', 1)[0])
    parser.add_argument('run', help='the json callback output of one ansible-playbook run')
    for opt in ('ok', 'unreachable', 'unchanged', 'changed', 'hosts'):
        parser.add_argument('--' + opt, default='')
    args = parser.parse_args(argv)
    data = load(args.run)
    hosts = per_host(data)
    for name in sorted(hosts):
        h = hosts[name]
        print('%-10s ok=%-3s changed=%-3s failed=%-2s unreachable=%-2s tasks=%-3d %6.1fs; modules=%-3d %6.1fs'
              % (name, h.get('ok'), h.get('changed'), h.get('failures'), h.get('unreachable'), h['tasks'],
                 h['seconds'], h['modules'], h['module_seconds']))
    for host, task, status, msg in problems(data):
        print('  %s %s: %s: %s' % (host, status, task, msg.replace('\n', ' ')[:300]))
    errors = []
    if args.hosts and sorted(_names(args.hosts)) != sorted(data.get('stats', {})):
        errors.append('hosts in the recap: %s, expected %s' % (sorted(data.get('stats', {})), args.hosts))
    for name in _names(args.ok) + _names(args.unreachable) + _names(args.unchanged) + _names(args.changed):
        if name not in data.get('stats', {}):
            errors.append('%s: not in the recap' % name)
    stats = data.get('stats', {})
    for name in _names(args.ok):
        if stats.get(name, {}).get('failures') or stats.get(name, {}).get('unreachable'):
            errors.append('%s: expected no failure, got %s' % (name, stats.get(name)))
    for name in _names(args.unreachable):
        mine = [p for p in problems(data) if p[0] == name]
        if not mine or not all(lost_connection(p) for p in mine):
            errors.append('%s: expected it to fail for a lost SSH connection only, got %s'
                          % (name, [p[1:] for p in mine] or stats.get(name)))
    for name in _names(args.unchanged):
        if stats.get(name, {}).get('changed', -1) != 0:
            errors.append('%s: expected changed=0, got %s' % (name, stats.get(name)))
    for name in _names(args.changed):
        if not stats.get(name, {}).get('changed'):
            errors.append('%s: expected changes, got %s' % (name, stats.get(name)))
    for error in errors:
        print('FAILED: ' + error)
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
