# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state converge.yml declares for round ROUND, seen with independent tools.

- every node pinned (findmnt: nsfs at /run/netns/<node>), with its links,
  MTUs, bridge port and addresses (ip -j), the hostname of cs1 (nsenter);
- every service: one record that parses, whose PID is the recorded process
  (/proc start time), in its node's network namespace, running `sleep 1000ROUND`,
  and exactly one such process per service (no service started twice);
- no corruption: no temporary file left in /run/nsforge/services, no lock held
  (/proc/locks), no veth left in the host's namespace, no stray pin under
  /run/netns, no mount stacked on another under /run (/run/netns bound
  onto itself twice by two tasks at once).

Usage: verify.py ROUND
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

NODES = ('cc-a', 'cc-b', 'cs1', 'cs2', 'cs3')
SERVICES = {'cpriv-a': 'cc-a', 'cpriv-b': 'cc-b', 'csvc-cs1': 'cs1', 'csvc-cs2': 'cs2', 'csvc-cs3': 'cs3'}
SERVICE_DIR = '/run/nsforge/services'
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'stale_state', 'files'))
from stale import proc_stat  # noqa: E402  pylint: disable=wrong-import-position
FAULTS = []


def sh(argv):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True).stdout.decode()


def check(condition, message):
    if not condition:
        FAULTS.append(message)


def links(node):
    found = json.loads(sh(['ip', '-n', node, '-j', '-d', 'addr', 'show']) or '[]')
    return dict((link['ifname'], link) for link in found)


def addrs(link):
    return set('%s/%s' % (a['local'], a['prefixlen']) for a in link.get('addr_info', []))


def cmdlines():
    out = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open('/proc/%s/cmdline' % entry, 'rb') as handle:
                    argv = handle.read().split(b'\0')[:-1]
            except OSError:
                continue
            if argv:
                argv[0] = os.path.basename(argv[0])  # a program is recorded as found in PATH
                out[int(entry)] = argv
    return out


def held_locks():
    """Lines of /proc/locks on files under /run/nsforge (the file lists every lock of the machine)."""
    inodes = set()
    for top, _dirs, files in os.walk('/run/nsforge'):
        inodes.update(os.stat(os.path.join(top, f)).st_ino for f in files)
    with open('/proc/locks', encoding='utf-8') as handle:
        lines = handle.read().splitlines()
    return [line for line in lines
            if any(f.count(':') == 2 and f.rsplit(':', 1)[1].isdigit() and int(f.rsplit(':', 1)[1]) in inodes
                   for f in line.split())]


def main():
    rnd = int(sys.argv[1])
    mtu = 1400 + rnd
    for node in NODES:
        fstype = subprocess.run(['findmnt', '-n', '-o', 'FSTYPE', '--mountpoint', '/run/netns/' + node],
                                stdout=subprocess.PIPE, check=False).stdout.decode().split()
        check(fstype[-1:] == ['nsfs'], 'node %s is not pinned at /run/netns/%s' % (node, node))
    with open('/proc/self/mountinfo', encoding='utf-8') as handle:
        targets = [line.split()[4] for line in handle]
    stacked = sorted(set(t for t in targets if t.startswith('/run/') and targets.count(t) > 1))
    check(not stacked, 'mounts stacked on one another (a race): %s' % stacked)
    stray = sorted(set(os.listdir('/run/netns')) - set(NODES))
    check(not stray, 'stray entries in /run/netns: %s' % stray)
    for side, net in (('a', 20), ('b', 21)):
        dummy = links('cc-' + side).get('d0', {})
        check('10.237.%d.1/24' % net in addrs(dummy), 'cc-%s d0 lacks 10.237.%d.1/24' % (side, net))
    cs1, cs2, cs3 = links('cs1'), links('cs2'), links('cs3')
    check('10.237.30.1/24' in addrs(cs1.get('eth0', {})) and cs1.get('eth0', {}).get('mtu') == mtu,
          'cs1 eth0: %s' % cs1.get('eth0'))
    check('10.237.30.2/24' in addrs(cs2.get('eth0', {})) and cs2.get('eth0', {}).get('mtu') == mtu,
          'cs2 eth0: %s' % cs2.get('eth0'))
    check('10.237.31.1/24' in addrs(cs2.get('br0', {})), 'cs2 br0: %s' % cs2.get('br0'))
    check(cs2.get('cs3', {}).get('master') == 'br0', 'cs2 cs3 is not a port of br0: %s' % cs2.get('cs3'))
    check('10.237.31.3/24' in addrs(cs3.get('eth0', {})), 'cs3 eth0: %s' % cs3.get('eth0'))
    check(sh(['nsenter', '--uts=/run/nsforge/nodes/cs1/uts', 'hostname']).strip() == 'cs1', 'hostname of cs1')
    host_veths = [l['ifname'] for l in json.loads(sh(['ip', '-j', '-d', 'link', 'show']))
                  if l.get('linkinfo', {}).get('info_kind') == 'veth']
    check(not host_veths, 'veths left in the host namespace: %s' % host_veths)

    wanted = [b'sleep', ('1000%d' % rnd).encode()]
    procs = cmdlines()
    for name, node in SERVICES.items():
        try:
            with open(os.path.join(SERVICE_DIR, name + '.json'), encoding='utf-8') as handle:
                record = json.load(handle)
        except (OSError, ValueError) as exc:
            check(False, 'record of %s: %s' % (name, exc))
            continue
        pid = record.get('pid')
        found = proc_stat(pid) if pid else None
        check(found is not None and found[1] == record.get('start_time') and found[0] not in 'ZX',
              '%s: recorded pid %s is not running as recorded' % (name, pid))
        if found is None:
            continue
        check(os.stat('/proc/%d/ns/net' % pid).st_ino == os.stat('/run/netns/' + node).st_ino,
              '%s is not in the network namespace of %s' % (name, node))
        net = os.stat('/proc/%d/ns/net' % pid).st_ino
        mine = [p for p, argv in procs.items() if argv == wanted and proc_stat(p)
                and os.stat('/proc/%d/ns/net' % p).st_ino == net]
        check(len(mine) == 1, '%s: %d processes `sleep 1000%d` in its namespace, wanted 1' % (name, len(mine), rnd))
        check(record.get('config', {}).get('command') == ['sleep', '1000%d' % rnd],
              '%s: record holds command %s' % (name, record.get('config', {}).get('command')))
    all_sleeps = [p for p, argv in procs.items() if argv[:1] == [b'sleep'] and argv[1:2] and argv[1].startswith(b'1000')]
    check(len(all_sleeps) == len(SERVICES), 'service processes: %d, wanted %d' % (len(all_sleeps), len(SERVICES)))
    leftovers = sorted(n for n in os.listdir(SERVICE_DIR) if not n.endswith('.json') or n.startswith('.'))
    check(not leftovers, 'temporary files left in %s: %s' % (SERVICE_DIR, leftovers))
    check(not held_locks(), 'locks still held: %s' % held_locks())
    if FAULTS:
        for fault in FAULTS:
            print('round %d: %s' % (rnd, fault), file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
