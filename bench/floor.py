# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""W1 (e), the floor: one process doing only the kernel work of the W1 lab.

Per bridge (bench/topology.py: at most 500 ports each): the bridge in the switch namespace sw, its two addresses,
up.  Per node: unshare a network namespace and bind-mount it to /run/netns/<node>, unshare a UTS namespace, set its
hostname and bind-mount it, then over netlink (pyroute2, one socket per namespace, as the module uses): lo up, a
veth whose peer is created directly in the switch namespace, the port on its bridge and up, two addresses, the
interface up, a default route; interface indexes are looked up by name through a plain netlink socket.  No reading,
planning, checking or reporting.

Usage: floor.py N [--profile BUCKETS] [--ports P]

With --profile, each node's steps are timed (time.perf_counter around each; the clock costs far less than a
step) and a table printed: for each of BUCKETS groups of nodes in creation order, the mean milliseconds per node
of each step, so that a step whose cost grows with the lab's size shows (docs/benchmarks.md, "What grows").
--ports P puts up to P ports on each bridge instead of the benchmark's 500 (at most 1,022: a /22 per bridge).
"""

from __future__ import absolute_import, division, print_function

import argparse
import os
import socket
import time

from pyroute2 import IPRoute

from ansible_collections.nsforge.linux.plugins.module_utils import kernel
from ansible_collections.nsforge.linux.plugins.module_utils.rtnl import RawRoute

import topology

IFA_F_NODAD = 0x02
STEPS = ('pin_net', 'pin_uts', 'sockets', 'lo_up', 'veth', 'port_index', 'master_up', 'addr4', 'addr6',
         'eth0_up', 'route', 'close')


def pin(kind, path, setup=None):
    with open(path, 'w'):
        pass
    kernel.create_pinned(kind, path, setup=setup)


def sock_in(path):
    """A pyroute2 socket for the writes and a plain one for name lookups (a kernel lookup by name, as the
    module does: pyroute2's link_lookup lists every link, which costs the bridge's namespace O(N) per port)."""
    with kernel.entered(path, 'net'):
        return IPRoute(), RawRoute()


def build(n):
    """The lab; returns each node's step times in seconds (a list of len(STEPS) + 1 clock readings per node)."""
    clock = time.perf_counter
    os.makedirs('/run/netns', exist_ok=True)
    os.makedirs('/run/bench-uts', exist_ok=True)
    kernel.ensure_shared_mountpoint('/run/netns')
    pin('net', '/run/netns/sw')
    sw, sw_raw = sock_in('/run/netns/sw')
    sw.link('set', index=1, state='up')
    bridges = {}
    for b in range(topology.bridge_count(n)):
        br = topology.bridge(b)
        sw.link('add', ifname=br['name'], kind='bridge')
        index = sw_raw.index_of(br['name'])
        sw.addr('add', index=index, address=br['gw4'], prefixlen=22)
        sw.addr('add', index=index, address=br['gw6'], prefixlen=64, flags=IFA_F_NODAD)
        sw.link('set', index=index, state='up')
        bridges[br['name']] = index
    sw_fd = os.open('/run/netns/sw', os.O_RDONLY | os.O_CLOEXEC)
    marks = []
    for i in range(1, n + 1):
        item = topology.node(i)
        path = '/run/netns/' + item['name']
        v4, len4 = item['v4'].split('/')
        v6, len6 = item['v6'].split('/')
        mark = [clock()]
        pin('net', path)
        mark.append(clock())
        pin('uts', '/run/bench-uts/' + item['name'], setup=lambda name=item['name']: kernel.sethostname(name))
        mark.append(clock())
        ipr, raw = sock_in(path)
        mark.append(clock())
        ipr.link('set', index=1, state='up')
        mark.append(clock())
        ipr.link('add', ifname='eth0', kind='veth', peer={'ifname': item['port'], 'net_ns_fd': sw_fd})
        mark.append(clock())
        port = sw_raw.index_of(item['port'])
        mark.append(clock())
        sw.link('set', index=port, master=bridges[item['bridge']], state='up')
        mark.append(clock())
        eth0 = raw.index_of('eth0')
        ipr.addr('add', index=eth0, address=v4, prefixlen=int(len4))
        mark.append(clock())
        ipr.addr('add', index=eth0, address=v6, prefixlen=int(len6), flags=IFA_F_NODAD)
        mark.append(clock())
        ipr.link('set', index=eth0, state='up')
        mark.append(clock())
        ipr.route('add', dst='0.0.0.0/0', gateway=item['gw4'], family=socket.AF_INET)
        mark.append(clock())
        ipr.close()
        raw.close()
        mark.append(clock())
        marks.append(mark)
    os.close(sw_fd)
    sw.close()
    sw_raw.close()
    return marks


def profile_table(n, marks, buckets):
    """The table of mean milliseconds per node, by step, for BUCKETS groups of nodes in creation order."""
    per_node = [[(mark[k + 1] - mark[k]) * 1000.0 for k in range(len(STEPS))] for mark in marks]
    size = max(1, n // buckets)
    lines = ['W1 floor, %s: mean ms per node and step, by group of nodes in creation order'
             % topology.describe(n),
             '%-12s %s %8s' % ('nodes', ' '.join('%10s' % s for s in STEPS), 'total')]
    groups = [(start, per_node[start:start + size]) for start in range(0, n, size)]
    groups.append((None, per_node))
    for start, chunk in groups:
        means = [sum(row[k] for row in chunk) / len(chunk) for k in range(len(STEPS))]
        label = 'all' if start is None else '%d-%d' % (start + 1, start + len(chunk))
        lines.append('%-12s %s %8.2f' % (label, ' '.join('%10.3f' % v for v in means), sum(means)))
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description='W1 (e), the floor: the kernel work of the W1 lab alone')
    parser.add_argument('n', type=int)
    parser.add_argument('--profile', type=int, metavar='BUCKETS', help='print the time of each step by group')
    parser.add_argument('--ports', type=int, default=topology.PORTS, help='ports per bridge (at most 1,022)')
    args = parser.parse_args()
    if not 1 <= args.ports <= 1022:
        parser.error('--ports: %d is not between 1 and 1,022 (a bridge has a /22 of addresses)' % args.ports)
    topology.PORTS = args.ports
    marks = build(args.n)
    if args.profile:
        print(profile_table(args.n, marks, args.profile))


if __name__ == '__main__':
    main()
