# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stale state is repaired on the next run.

declare.yml declares nodes stA and stB (a veth between them, a UTS namespace on
stA) and the service st-web in stA.  After a first run, each case damages the
host as a crash or a reboot would, runs declare.yml again and checks with
independent tools (findmnt, ip -j, nsenter, /proc) that the declared state is
back, then that one more run changes nothing:
  1. /run/netns/stB is a file that pins nothing (its mount lazily unmounted);
  2. /run/nsforge/nodes/stA/uts, a handle of the node, is missing;
  3. the record of st-web names a PID that now belongs to another process (a
     sleep this script started, with another start time): that process is never
     signalled, by state=stopped nor by state=started, which starts the service;
  4. /run cleared as after a reboot: every pin under /run/netns and /run/nsforge
     unmounted, both folders removed, the service's processes killed.

Usage: stale.py OUTPUT_DIR
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PLAYBOOK = os.path.join(HERE, '..', 'declare.yml')
RECORD = '/run/nsforge/services/st-web.json'
UTS = '/run/nsforge/nodes/stA/uts'


def sh(argv):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True).stdout.decode()


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def play(out_dir, **extra):
    result_file = os.path.join(out_dir, 'result.json')
    if os.path.exists(result_file):
        os.unlink(result_file)
    argv = ['ansible-playbook', PLAYBOOK, '-e', 'result_file=%s' % result_file]
    for key, value in extra.items():
        argv += ['-e', '%s=%s' % (key, value)]
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout.decode(errors='replace'))
        raise AssertionError('ansible-playbook %s failed (rc %d)' % (extra or '', proc.returncode))
    with open(result_file, encoding='utf-8') as handle:
        return json.load(handle)


def fstype(path):
    """File system type of the mount at exactly this path, or None when the path is no mount point."""
    proc = subprocess.run(['findmnt', '-n', '-o', 'FSTYPE', '--mountpoint', path],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
    return proc.stdout.decode().strip().splitlines()[-1] if proc.returncode == 0 else None


def proc_stat(pid):
    """(state, start time) of a process read from /proc/<pid>/stat, or None when there is no such process."""
    try:
        with open('/proc/%d/stat' % pid, encoding='utf-8') as handle:
            data = handle.read()
    except OSError:
        return None
    rest = data[data.rindex(')') + 2:].split()
    return rest[0], int(rest[19])


def start_time(pid):
    found = proc_stat(pid)
    return found[1] if found else None


def addresses(node):
    links = json.loads(sh(['ip', '-n', node, '-j', 'addr', 'show', 'dev', 'eth0']) or '[]')
    return set('%s/%s' % (a['local'], a['prefixlen']) for link in links for a in link.get('addr_info', []))


def read_record():
    with open(RECORD, encoding='utf-8') as handle:
        return json.load(handle)


def verify(label):
    """The declared state, seen with findmnt, ip, nsenter and /proc."""
    for node in ('stA', 'stB'):
        check(fstype('/run/netns/%s' % node) == 'nsfs', '%s: /run/netns/%s is not a pinned namespace' % (label, node))
    check(fstype(UTS) == 'nsfs', '%s: %s is not a pinned namespace' % (label, UTS))
    check('10.237.1.1/24' in addresses('stA'), '%s: stA eth0 lacks 10.237.1.1/24' % label)
    check('10.237.1.2/24' in addresses('stB'), '%s: stB eth0 lacks 10.237.1.2/24' % label)
    check(sh(['nsenter', '--uts=' + UTS, 'hostname']).strip() == 'sta', '%s: hostname of stA is not sta' % label)
    record = read_record()
    pid = record['pid']
    check(start_time(pid) == record['start_time'], '%s: recorded service pid %s is not the recorded process' % (label, pid))
    net = os.stat('/proc/%d/ns/net' % pid).st_ino
    check(net == os.stat('/run/netns/stA').st_ino, '%s: st-web is not in the network namespace of stA' % label)
    check(sh(['nsenter', '-t', str(pid), '--uts', 'hostname']).strip() == 'web', '%s: st-web hostname is not web' % label)
    return record


def converges(out_dir, label):
    """Run again: it repairs (changed); the run after changes nothing."""
    first = play(out_dir)
    verify(label)
    again = play(out_dir)
    check(not again['nodes_changed'] and not again['svc_changed'],
          '%s: the run after the repair changed something: %s %s' % (label, again['nodes_changes'], again['svc_changes']))
    verify(label + ' (again)')
    return first


def kill_and_wait(pid):
    os.kill(pid, signal.SIGKILL)
    deadline = time.time() + 10
    while time.time() < deadline and (proc_stat(pid) or ('X',))[0] not in ('Z', 'X'):
        time.sleep(0.05)


def case_stale_netns(out_dir):
    sh(['umount', '-l', '/run/netns/stB'])
    check(os.path.isfile('/run/netns/stB') and fstype('/run/netns/stB') is None, 'stale file: setup failed')
    result = converges(out_dir, 'stale /run/netns file')
    check(result['nodes_changed'], 'stale /run/netns file: the repair run reported no change')
    check(any('stale' in c for c in result['nodes_changes']), 'stale /run/netns file: not named in %s' % result['nodes_changes'])


def case_missing_handle(out_dir):
    sh(['umount', '-l', UTS])
    os.unlink(UTS)
    check(os.path.isdir('/run/nsforge/nodes/stA') and not os.path.lexists(UTS), 'missing handle: setup failed')
    result = converges(out_dir, 'missing uts handle')
    check(result['nodes_changed'], 'missing uts handle: the repair run reported no change')


def case_pid_reused(out_dir):
    record = read_record()
    kill_and_wait(record['pid'])
    other = subprocess.Popen(['sleep', '600'], start_new_session=True)  # pylint: disable=consider-using-with
    try:
        other_start = start_time(other.pid)
        check(other_start is not None and other_start != record['start_time'], 'pid reused: setup failed')
        record['pid'] = other.pid  # the old start time stays: the identity differs
        with open(RECORD + '.tmp', 'w', encoding='utf-8') as handle:
            json.dump(record, handle)
        os.chmod(RECORD + '.tmp', 0o600)
        os.rename(RECORD + '.tmp', RECORD)

        stopped = play(out_dir, svc_state='stopped')
        check(other.poll() is None and start_time(other.pid) == other_start, 'pid reused: state=stopped signalled pid %d' % other.pid)
        check(not stopped['svc_changed'], 'pid reused: state=stopped reported a change: %s' % stopped['svc_changes'])
        check(stopped['service']['status'] == 'exited' and stopped['service']['pid'] is None,
              'pid reused: state=stopped reported %s' % stopped['service'])

        result = converges(out_dir, 'pid reused')
        check(result['svc_changed'], 'pid reused: the service was not started')
        check(result['service']['status'] == 'running' and result['service']['pid'] not in (None, other.pid),
              'pid reused: reported %s' % result['service'])
        check(read_record()['pid'] != other.pid, 'pid reused: the record still names pid %d' % other.pid)
        check(other.poll() is None and start_time(other.pid) == other_start, 'pid reused: pid %d was signalled' % other.pid)
    finally:
        other.kill()
        other.wait()


def case_reboot(out_dir):
    pid = read_record()['pid']
    with open('/proc/self/mountinfo', encoding='utf-8') as handle:
        targets = [line.split()[4] for line in handle]
    for target in sorted(set(targets), key=len, reverse=True):
        if target.startswith(('/run/netns', '/run/nsforge')):
            subprocess.run(['umount', '-l', target], stderr=subprocess.DEVNULL, check=False)
    sh(['rm', '-rf', '--one-file-system', '/run/nsforge', '/run/netns'])
    kill_and_wait(pid)
    check(not os.path.exists('/run/nsforge') and not os.path.exists('/run/netns'), 'reboot: setup failed')
    check(not any(t.startswith(('/run/netns', '/run/nsforge')) for t in open('/proc/self/mountinfo', encoding='utf-8').read().split()),
          'reboot: a mount is left under /run')
    result = converges(out_dir, 'after a reboot')
    check(result['nodes_changed'] and result['svc_changed'], 'after a reboot: nodes or service not reported as changed')
    check(result['service']['pid'] != pid, 'after a reboot: the old pid is reported')


def main():
    out_dir = sys.argv[1]
    started = time.time()
    first = play(out_dir)
    check(first['nodes_changed'] and first['svc_changed'], 'first run: nothing created')
    verify('first run')
    for case in (case_stale_netns, case_missing_handle, case_pid_reused, case_reboot):
        t0 = time.time()
        case(out_dir)
        print('%s: ok (%.1fs)' % (case.__name__, time.time() - t0))
    print('stale_state: all cases repaired (%.1fs)' % (time.time() - started))


if __name__ == '__main__':
    main()
