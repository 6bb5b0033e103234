# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""W1 (e), the floor: one process doing only the kernel work of the W1 lab.

Per node: unshare a network namespace and bind-mount it to /run/netns/<node>,
unshare a UTS namespace, set its hostname and bind-mount it, then over netlink
(pyroute2, one socket per namespace, as the module uses): lo up, a veth whose
peer is created directly in the switch namespace, the port on the bridge and
up, two addresses, the interface up, a default route; interface indexes are
looked up by name through a plain netlink socket.  No reading, planning,
checking or reporting.  Usage: floor.py N
"""

from __future__ import absolute_import, division, print_function

import os
import socket
import sys

from pyroute2 import IPRoute

from ansible_collections.nsforge.linux.plugins.module_utils import kernel
from ansible_collections.nsforge.linux.plugins.module_utils.rtnl import RawRoute

import topology

IFA_F_NODAD = 0x02


def pin(kind, path, setup=None):
    with open(path, 'w'):
        pass
    kernel.create_pinned(kind, path, setup=setup)


def sock_in(path):
    """A pyroute2 socket for the writes and a plain one for name lookups (a kernel lookup by name, as the
    module does: pyroute2's link_lookup lists every link, which costs the bridge's namespace O(N) per port)."""
    with kernel.entered(path, 'net'):
        return IPRoute(), RawRoute()


def main(n):
    os.makedirs('/run/netns', exist_ok=True)
    os.makedirs('/run/bench-uts', exist_ok=True)
    kernel.ensure_shared_mountpoint('/run/netns')
    pin('net', '/run/netns/sw')
    sw, sw_raw = sock_in('/run/netns/sw')
    sw.link('set', index=1, state='up')
    sw.link('add', ifname='br0', kind='bridge')
    br0 = sw_raw.index_of('br0')
    sw.addr('add', index=br0, address=str(topology.GW4), prefixlen=16)
    sw.addr('add', index=br0, address=str(topology.GW6), prefixlen=64, flags=IFA_F_NODAD)
    sw.link('set', index=br0, state='up')
    sw_fd = os.open('/run/netns/sw', os.O_RDONLY | os.O_CLOEXEC)
    for i in range(1, n + 1):
        item = topology.node(i)
        path = '/run/netns/' + item['name']
        pin('net', path)
        pin('uts', '/run/bench-uts/' + item['name'], setup=lambda name=item['name']: kernel.sethostname(name))
        ipr, raw = sock_in(path)
        ipr.link('set', index=1, state='up')
        ipr.link('add', ifname='eth0', kind='veth', peer={'ifname': item['port'], 'net_ns_fd': sw_fd})
        port = sw_raw.index_of(item['port'])
        sw.link('set', index=port, master=br0, state='up')
        eth0 = raw.index_of('eth0')
        v4, len4 = item['v4'].split('/')
        v6, len6 = item['v6'].split('/')
        ipr.addr('add', index=eth0, address=v4, prefixlen=int(len4))
        ipr.addr('add', index=eth0, address=v6, prefixlen=int(len6), flags=IFA_F_NODAD)
        ipr.link('set', index=eth0, state='up')
        ipr.route('add', dst='0.0.0.0/0', gateway=str(topology.GW4), family=socket.AF_INET)
        ipr.close()
        raw.close()
    os.close(sw_fd)
    sw.close()
    sw_raw.close()


if __name__ == '__main__':
    main(int(sys.argv[1]))
