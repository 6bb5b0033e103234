# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fault injection walk: kill a module (SIGKILL) after each step of its change list in turn.

For each scenario (a bulk netns lab, an nsmount node, a uidmap node, an nsproc
service whose configuration changes) and each step N of the change list the
scenario's task makes on a fresh host:
  1. fresh start: the scenario's removal task, then a check that nothing of it is left
     (and, for the service, its old configuration started again);
  2. the task with NSFORGE_TEST_DIE_AFTER_STEP=N: the module process must die by SIGKILL;
  3. the same task without the switch: it must succeed;
  4. the state read with independent tools (ip -j, nsenter, findmnt, /proc) must equal the
     declared one, and nothing may leak: no veth in the host's namespace, every pinned
     handle a mount, no stray or unparsable file in the state folders, no lock held,
     no process left but those of the test;
  5. the task once more: changed must be false.
The modules run as Ansible runs them (their main() with the arguments AnsiballZ
would give), in a forked child: see ../../bad_input/files/run_corpus.py.

Usage: walk.py [SCENARIO ...]   (exit status 1 when a step fails)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'bad_input', 'files'))
from run_corpus import finish, run_module  # noqa: E402  pylint: disable=wrong-import-position

FAULT_ENV = 'NSFORGE_TEST_DIE_AFTER_STEP'


def sh(argv):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True).stdout.decode()


def ipj(node, *args):
    return json.loads(sh(['ip', '-n', node, '-j'] + list(args)) or '[]')


def mountinfo_targets():
    with open('/proc/self/mountinfo', encoding='utf-8') as handle:
        return set(line.split()[4] for line in handle)


def addresses(node, ifname):
    return sorted('%s/%d' % (a['local'], a['prefixlen']) for link in ipj(node, 'addr', 'show', 'dev', ifname)
                  for a in link['addr_info'] if a.get('scope') != 'link' or a['family'] == 'inet')


LAB = {'namespaces': [
    {'name': 'fwsw', 'links': [{'name': 'br0', 'type': 'bridge'}]},
    {'name': 'fw1', 'hostname': 'fw1', 'nameservers': ['10.236.100.254'], 'search': ['walk.test'],
     'sysctl': {'net.ipv4.ip_forward': 1},
     'links': [
         {'name': 'eth0', 'type': 'veth', 'addresses': ['10.236.100.1/24', 'fd42:236:100::1/64'],
          'peer': {'name': 'fw1-eth0', 'netns': 'fwsw', 'master': 'br0'}},
         {'name': 'eth1', 'type': 'veth', 'addresses': ['10.236.112.1/30'],
          'peer': {'name': 'eth1', 'netns': 'fw2', 'addresses': ['10.236.112.2/30']}},
    ]},
    {'name': 'fw2', 'hostname': 'fw2', 'hosts': {'fw1': '10.236.112.1'},
     'links': [{'name': 'lo1', 'type': 'bridge', 'addresses': ['10.236.255.2/32']}],
     'routes': [{'dst': '10.236.100.0/24', 'gateway': '10.236.112.1'}, {'dst': 'default', 'dev': 'eth1'}]},
]}


def verify_lab():
    problems = []
    pins = sorted(os.listdir('/run/netns'))
    if pins != ['fw1', 'fw2', 'fwsw']:
        problems.append('pinned network namespaces %s' % pins)
        return problems
    if addresses('fw1', 'eth0') != sorted(['10.236.100.1/24', 'fd42:236:100::1/64']):
        problems.append('fw1 eth0 addresses %s' % addresses('fw1', 'eth0'))
    if addresses('fw2', 'eth1') != ['10.236.112.2/30'] or addresses('fw1', 'eth1') != ['10.236.112.1/30']:
        problems.append('fw1/fw2 eth1 addresses')
    if addresses('fw2', 'lo1') != ['10.236.255.2/32']:
        problems.append('fw2 lo1 addresses %s' % addresses('fw2', 'lo1'))
    port = ipj('fwsw', '-d', 'link', 'show', 'fw1-eth0')
    if not port or port[0].get('master') != 'br0' or 'UP' not in port[0]['flags']:
        problems.append('fw1-eth0 not an up port of br0 in fwsw: %s' % port)
    routes = set((r['dst'], r.get('gateway'), r.get('dev')) for r in ipj('fw2', 'route', 'show'))
    for want in (('10.236.100.0/24', '10.236.112.1', 'eth1'), ('default', None, 'eth1')):
        if want not in routes:
            problems.append('fw2 route %s missing (%s)' % (want, sorted(routes, key=str)))
    for node in ('fw1', 'fw2'):
        name = sh(['nsenter', '--uts=/run/nsforge/nodes/%s/uts' % node, 'hostname']).strip()
        if name != node:
            problems.append('hostname of %s is %r' % (node, name))
    forward = sh(['ip', 'netns', 'exec', 'fw1', 'cat', '/proc/sys/net/ipv4/ip_forward']).strip()
    if forward != '1':
        problems.append('fw1 ip_forward %s' % forward)
    with open('/etc/netns/fw1/resolv.conf', encoding='utf-8') as handle:
        resolv = handle.read()
    if 'nameserver 10.236.100.254' not in resolv or 'search walk.test' not in resolv:
        problems.append('fw1 resolv.conf %r' % resolv)
    with open('/etc/netns/fw2/hosts', encoding='utf-8') as handle:
        if '10.236.112.1' not in handle.read():
            problems.append('fw2 hosts lacks fw1')
    return problems


def lab_gone():
    return ['pinned network namespaces left: %s' % os.listdir('/run/netns')] if os.listdir('/run/netns') else []


MOUNT_SRC = '/run/walk-src'
MOUNTS = {'namespace': 'fm1', 'mounts': [
    {'dst': '/mnt', 'type': 'tmpfs', 'size': '1m', 'mode': '0755'},
    {'dst': '/mnt/data', 'src': MOUNT_SRC, 'ro': True},
    {'dst': '/mnt/scratch', 'type': 'tmpfs', 'size': '2m'},
]}
MNT_HANDLE = '/run/nsforge/nodes/fm1/mntns/mnt'


def verify_mounts():
    if not os.path.exists(MNT_HANDLE):
        return ['no mount namespace handle %s' % MNT_HANDLE]
    out = json.loads(sh(['nsenter', '--mount=' + MNT_HANDLE, 'findmnt', '-J', '-R', '-o', 'TARGET,FSTYPE,OPTIONS', '/mnt']))
    found = {}

    def walk(items):
        for item in items:
            found[item['target']] = item
            walk(item.get('children', []))
    walk(out['filesystems'])
    problems = []
    if found.get('/mnt', {}).get('fstype') != 'tmpfs':
        problems.append('/mnt is %s' % found.get('/mnt'))
    data = found.get('/mnt/data', {})
    if 'ro' not in data.get('options', '').split(','):
        problems.append('/mnt/data is %s' % data)
    if found.get('/mnt/scratch', {}).get('fstype') != 'tmpfs':
        problems.append('/mnt/scratch is %s' % found.get('/mnt/scratch'))
    return problems


def mounts_gone():
    return ['mount namespace handle left'] if os.path.exists(MNT_HANDLE) else []


USERNS = {'namespace': 'fu1', 'map_user': 'walk-tenant'}
USER_HANDLE = '/run/nsforge/nodes/fu1/user'


def verify_userns():
    if not os.path.exists(USER_HANDLE):
        return ['no user namespace handle']
    maps = sh(['nsenter', '--user=' + USER_HANDLE, 'cat', '/proc/self/uid_map', '/proc/self/gid_map']).split('\n')
    lines = [l.split() for l in maps if l.strip()]
    if lines != [['0', '2361000', '65536'], ['0', '2361000', '65536']]:
        return ['maps %s' % lines]
    return []


def userns_gone():
    return ['user namespace handle left'] if os.path.exists(USER_HANDLE) else []


SERVICE_RECORD = '/run/nsforge/services/fwsvc.json'
SERVICE_OLD = {'name': 'fwsvc', 'command': ['sleep', '86440'], 'env': {'WALK_VERSION': '1'}, 'startup_check': 0.2,
               'hostname': 'fwsvc'}
SERVICE = dict(SERVICE_OLD, env={'WALK_VERSION': '2'})


def service_procs():
    """The service's processes, its keeper and zombies: (pid, ppid, state, cmdline) from /proc."""
    out = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry, encoding='utf-8') as handle:
                stat = handle.read()
            with open('/proc/%s/cmdline' % entry, 'rb') as handle:
                cmd = handle.read().split(b'\0')
        except OSError:
            continue
        rest = stat[stat.rindex(')') + 2:].split()
        out.append((int(entry), int(rest[1]), rest[0], [a.decode(errors='replace') for a in cmd if a]))
    return out


def verify_service():
    try:
        with open(SERVICE_RECORD, encoding='utf-8') as handle:
            record = json.load(handle)
    except (OSError, ValueError) as exc:
        return ['no service record: %s' % exc]
    procs = dict((p[0], p) for p in service_procs())
    mine = [p for p in procs.values() if p[3] and p[3][-1] == '86440']
    problems = []
    init = [p for p in mine if p[3][0].endswith('tini')]
    if len(init) != 1 or init[0][0] != record.get('pid'):
        return ['service processes %s, record pid %s' % (mine, record.get('pid'))]
    with open('/proc/%d/environ' % init[0][0], 'rb') as handle:
        if b'WALK_VERSION=2' not in handle.read().split(b'\0'):
            problems.append('the service does not have the new configuration')
    keeper = procs.get(init[0][1])
    if not keeper or keeper[3][1:] != ['infinity'] or (record.get('keeper') or {}).get('pid') != keeper[0]:
        problems.append('the service\'s parent %s is not its recorded keeper %s' % (keeper, record.get('keeper')))
    name = sh(['nsenter', '--uts', '-t', str(init[0][0]), 'hostname']).strip()
    if name != 'fwsvc':
        problems.append('hostname inside is %r' % name)
    return problems


def service_expected():
    """PIDs of the service and its keeper, which leaks() must not count."""
    try:
        with open(SERVICE_RECORD, encoding='utf-8') as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return set()
    pid = record.get('pid')
    return set([pid, (record.get('keeper') or {}).get('pid')] + [p[0] for p in service_procs() if p[1] == pid])


def service_gone():
    left = [p for p in service_procs() if '86440' in p[3] or p[2] == 'Z']
    problems = ['service processes or zombies left: %s' % left] if left else []
    if os.path.exists(SERVICE_RECORD):
        problems.append('service record left')
    return problems


# name: (module, task, removal task, verify, gone, prepare task or None, expected processes or None)
SCENARIOS = {
    'netns': ('netns', LAB, {'state': 'absent', 'namespaces': [{'name': n['name']} for n in LAB['namespaces']]},
              verify_lab, lab_gone, None, None),
    'nsmount': ('nsmount', MOUNTS, {'namespace': 'fm1', 'state': 'absent'}, verify_mounts, mounts_gone, None, None),
    'uidmap': ('uidmap', USERNS, {'namespace': 'fu1', 'state': 'absent'}, verify_userns, userns_gone, None, None),
    'nsproc': ('nsproc', SERVICE, {'name': 'fwsvc', 'state': 'absent', 'stop_timeout': 2}, verify_service, service_gone,
               SERVICE_OLD, service_expected),
}


def leaks(base_procs, expected=None):
    problems = []
    host_veths = [l['ifname'] for l in json.loads(sh(['ip', '-j', '-d', 'link', 'show']))
                  if l.get('linkinfo', {}).get('info_kind') == 'veth']
    if host_veths:
        problems.append('veth in the host namespace: %s' % host_veths)
    targets = mountinfo_targets()
    for top in ('/run/netns', '/run/nsforge/nodes'):
        for dirpath, _dirs, files in os.walk(top):
            for name in files:
                path = os.path.join(dirpath, name)
                if path not in targets:
                    problems.append('pinned file that is not a mount: %s' % path)
    for dirpath, _dirs, files in os.walk('/run/nsforge'):
        for name in files:
            path = os.path.join(dirpath, name)
            if '/locks' in path or '/nodes/' in path:
                continue
            if not name.endswith('.json'):
                problems.append('stray file %s' % path)
                continue
            try:
                with open(path, encoding='utf-8') as handle:
                    json.load(handle)
            except ValueError:
                problems.append('half-written state file %s' % path)
    with open('/proc/locks', encoding='utf-8') as handle:
        held = [l for l in handle.read().splitlines() if l.strip()]
    if held:
        problems.append('locks held: %s' % held)
    allowed = expected() if expected else set()
    procs = set(p for p in processes() if p[0] not in allowed)
    if procs - base_procs:
        problems.append('processes left: %s' % sorted(procs - base_procs))
    return problems


def processes():
    mine = {os.getpid()}
    out = []
    for entry in os.listdir('/proc'):
        if entry.isdigit() and int(entry) not in mine:
            try:
                with open('/proc/%s/cmdline' % entry, 'rb') as handle:
                    cmd = handle.read().replace(b'\0', b' ').decode(errors='replace').strip()
            except OSError:
                continue
            if cmd and not cmd.startswith(('ip ', 'nsenter ', 'findmnt ', 'cat ')):
                out.append((int(entry), cmd))
    return out


def walk(name):
    module, args, remove, verify, gone, prepare, expected = SCENARIOS[name]
    failures = []
    base_procs = set(processes())

    def fresh():
        result, _out, err, status = run_module(module, remove)
        if status != 0 or not result or result.get('failed'):
            return ['removal failed: %s %s' % (result, err[-300:])]
        problems = gone()
        if prepare is not None and not problems:
            result, _out, err, status = run_module(module, prepare)
            if status != 0 or not result or result.get('failed'):
                problems = ['the preparing task failed: %s %s' % (result, err[-300:])]
        return problems

    problems = fresh()
    if problems:
        return ['%s: cannot start from a clean host: %s' % (name, problems)]
    result, _out, err, status = run_module(module, args)
    if status != 0 or not result or result.get('failed'):
        return ['%s: the task fails on a fresh host: %s %s' % (name, result, err[-300:])]
    steps = result['changes']
    problems = verify() + leaks(base_procs, expected)
    if problems:
        return ['%s: the task without faults: %s' % (name, problems)]
    print('%s: %d steps' % (name, len(steps)))
    for step in range(1, len(steps) + 1):
        where = '%s, killed after step %d (%s)' % (name, step, steps[step - 1])
        problems = fresh()
        if problems:
            failures.append('%s: fresh start: %s' % (where, problems))
            continue
        os.environ[FAULT_ENV] = str(step)
        try:
            result, _out, err, status = run_module(module, args)
        finally:
            del os.environ[FAULT_ENV]
        if status != -signal.SIGKILL:
            failures.append('%s: the module was not killed (exit %s, %s)' % (where, status, result))
            continue
        result, _out, err, status = run_module(module, args)
        if status != 0 or not result or result.get('failed'):
            failures.append('%s: the run after the kill fails: %s %s' % (where, result and result.get('msg'), err[-300:]))
            continue
        problems = verify() + leaks(base_procs, expected)
        again, _out, err, status = run_module(module, args)
        if status != 0 or not again or again.get('changed'):
            problems.append('a third run is not unchanged: %s' % (again and again.get('changes')))
        if problems:
            failures.append('%s: %s' % (where, '; '.join(problems)))
    result, _out, err, status = run_module(module, remove)
    problems = gone() if status == 0 and result and not result.get('failed') else ['%s %s' % (result, err[-300:])]
    if problems:
        failures.append('%s: removal at the end: %s' % (name, problems))
    return failures


def main():
    names = sys.argv[1:] or sorted(SCENARIOS)
    os.makedirs(MOUNT_SRC, exist_ok=True)
    subprocess.run(['useradd', '--no-create-home', 'walk-tenant'], check=False)
    result, _out, err, _status = run_module('uidmap', {'user': 'walk-tenant', 'subuid': {'start': 2361000, 'count': 65536},
                                                       'subgid': {'start': 2361000, 'count': 65536}, 'exclusive': True})
    if not result or result.get('failed'):
        print('cannot give walk-tenant its ranges: %s %s' % (result, err))
        return 1
    failures = []
    for name in names:
        start = time.time()
        failures.extend(walk(name))
        print('%s walked in %.1f s' % (name, time.time() - start))
    return finish(failures)


if __name__ == '__main__':
    sys.exit(main())
