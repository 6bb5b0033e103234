# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a run of playbooks/site.yml costs per host, measured on the simulated fleet of tests/fleet/fleet.py.

Usage: python bench/fleet.py [--hosts 3] [--pipelining off,on] [--json FILE]
For each pipelining setting, on fresh hosts: a deploy of the default lab (site.yml), a re-run that changes nothing,
and playbooks/destroy.yml; for each run, per host: the tasks that sent a module to it and their seconds (from the
start of the task on that host to its result, as the controller sees it), and the bytes its veth carried both ways
(SSH and everything in it). Everything runs in one throwaway sandbox (tests/sandbox.sh); forks = hosts.
Environment: BENCH_PYTHON (the hosts' and Ansible's Python, default this one), BENCH_COLLECTIONS (where
nsforge.linux is installed, default build/collections).
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FLEET = os.path.join(ROOT, 'tests', 'fleet')
sys.path.insert(0, FLEET)
import results  # noqa: E402  pylint: disable=wrong-import-position

PYTHON = os.environ.get('BENCH_PYTHON', sys.executable)
COLLECTIONS = os.environ.get('BENCH_COLLECTIONS', os.path.join(ROOT, 'build', 'collections'))
RUNS = (('deploy', 'site.yml'), ('re-run', 'site.yml'), ('destroy', 'destroy.yml'))


def fleet(*args):
    return subprocess.run([PYTHON, os.path.join(FLEET, 'fleet.py')] + list(args), check=True,
                          stdout=subprocess.PIPE).stdout.decode()


def measure_run(work, fdir, name, playbook, pipelining, hosts):
    env = dict(os.environ, ANSIBLE_INVENTORY=os.path.join(fdir, 'inventory.ini'), ANSIBLE_FORKS=str(hosts),
               ANSIBLE_PIPELINING=str(pipelining), ANSIBLE_CALLBACK_PLUGINS=os.path.join(FLEET, 'callbacks'),
               ANSIBLE_CALLBACKS_ENABLED='fleet_results', ANSIBLE_COLLECTIONS_PATH=COLLECTIONS,
               FLEET_RESULTS=os.path.join(work, '%s-%s.json' % (name, pipelining)), ANSIBLE_NOCOLOR='1',
               PATH=os.path.dirname(PYTHON) + os.pathsep + os.environ.get('PATH', ''))
    before = json.loads(fleet('counters', '--dir', fdir))
    start = time.time()
    with open(os.path.join(work, '%s-%s.log' % (name, pipelining)), 'wb') as log:
        rc = subprocess.run(['ansible-playbook', os.path.join(work, 'playbooks', playbook), '-e', 'lab_publish_port=8080'],
                            env=env, stdout=log, stderr=subprocess.STDOUT, check=False).returncode
    wall = time.time() - start
    after = json.loads(fleet('counters', '--dir', fdir))
    data = results.load(env['FLEET_RESULTS'])
    per_host = results.per_host(data)
    row = {'run': name, 'pipelining': pipelining, 'rc': rc, 'wall_seconds': round(wall, 1), 'hosts': {}}
    for host, stats in per_host.items():
        row['hosts'][host] = {
            'changed': stats.get('changed'), 'failures': stats.get('failures'), 'unreachable': stats.get('unreachable'),
            'modules': stats['modules'], 'module_seconds': round(stats['module_seconds'], 2),
            'bytes_to_host': after[host]['to_host'] - before[host]['to_host'],
            'bytes_from_host': after[host]['from_host'] - before[host]['from_host'],
        }
    return row


def inside(args):
    """The measurements, inside the sandbox."""
    work = tempfile.mkdtemp(prefix='bench-fleet.')
    shutil.copytree(os.path.join(ROOT, 'playbooks'), os.path.join(work, 'playbooks'))
    rows = []
    try:
        for pipelining in args.pipelining.split(','):
            fdir = os.path.join(work, 'fleet-%s' % pipelining)
            fleet('up', '--dir', fdir, '--hosts', str(args.hosts), '--python', PYTHON)
            try:
                for name, playbook in RUNS:
                    rows.append(measure_run(work, fdir, name, playbook, pipelining == 'on', args.hosts))
                    sys.stderr.write('%s (pipelining %s): %.0fs\n' % (name, pipelining, rows[-1]['wall_seconds']))
            finally:
                fleet('down', '--dir', fdir)
    finally:
        if os.environ.get('BENCH_FLEET_KEEP'):
            sys.stderr.write('kept %s\n' % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({'hosts': args.hosts, 'cpus': os.cpu_count(), 'loadavg_after': os.getloadavg()[0], 'runs': rows}))


def table(data):
    lines = ['| run | pipelining | modules per host | module seconds per host | per module | KiB to host | KiB from host |'
             ' changed per host | wall |', '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |']
    for row in data['runs']:
        hosts = row['hosts'].values()
        n = len(row['hosts'])

        def mean(key, hosts=hosts, n=n):
            return sum(h[key] for h in hosts) / float(n)
        lines.append('| %s | %s | %.0f | %.1f | %.2f s | %.0f | %.0f | %s | %.0f s |' % (
            row['run'], 'on' if row['pipelining'] else 'off', mean('modules'), mean('module_seconds'),
            mean('module_seconds') / max(mean('modules'), 1), mean('bytes_to_host') / 1024.0,
            mean('bytes_from_host') / 1024.0, '/'.join(str(h['changed']) for h in hosts), row['wall_seconds']))
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--hosts', type=int, default=3)
    parser.add_argument('--pipelining', default='off,on')
    parser.add_argument('--json', help='write the measurements here too')
    parser.add_argument('--inside', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args)
        return 0
    argv = [os.path.join(ROOT, 'tests', 'sandbox.sh'), PYTHON, os.path.abspath(__file__), '--inside',
            '--hosts', str(args.hosts), '--pipelining', args.pipelining]
    proc = subprocess.run(argv, stdout=subprocess.PIPE, check=False)
    lines = proc.stdout.decode().strip().splitlines()
    if proc.returncode != 0 or not lines:
        sys.stderr.write('bench/fleet.py: the measurement failed (exit %d)\n' % proc.returncode)
        return 1
    data = json.loads(lines[-1])
    if args.json:
        with open(args.json, 'w') as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
    print('%d hosts, forks %d, %d CPUs (load average %.1f after the runs)'
          % (data['hosts'], data['hosts'], data['cpus'], data['loadavg_after']))
    print(table(data))
    bad = [r for r in data['runs'] if r['rc'] != 0 or (r['run'] == 're-run' and any(h['changed'] for h in r['hosts'].values()))]
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
