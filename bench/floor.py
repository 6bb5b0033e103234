# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""W1 (e), the floor: one process doing only the kernel work of the W1 lab.

Per node: unshare a network namespace and bind-mount it to /run/netns/<node>,
unshare a UTS namespace, set its hostname and bind-mount it, then over netlink
(pyroute2, one socket per namespace, as the module uses): lo up, a veth whose
peer is created directly in the switch namespace, the port on the bridge and
up, two addresses, the interface up, a default route.  No reading, planning,
checking or reporting.  Usage: floor.py N
"""

from __future__ import absolute_import, division, print_function

import os
import socket
import sys

from pyroute2 import IPRoute

from ansible_collections.nsforge.linux.plugins.module_utils import kernel

import topology

IFA_F_NODAD = 0x02


def pin(kind, path, setup=None):
    with open(path, 'w'):
        pass
    kernel.create_pinned(kind, path, setup=setup)


def sock_in(path):
    with kernel.entered(path, 'net'):
        return IPRoute()


def main(n):
    os.makedirs('/run/netns', exist_ok=True)
    os.makedirs('/run/bench-uts', exist_ok=True)
    kernel.ensure_shared_mountpoint('/run/netns')
    pin('net', '/run/netns/sw')
    sw = sock_in('/run/netns/sw')
    sw.link('set', index=1, state='up')
    sw.link('add', ifname='br0', kind='bridge')
    br0 = sw.link_lookup(ifname='br0')[0]
    sw.addr('add', index=br0, address=str(topology.GW4), prefixlen=16)
    sw.addr('add', index=br0, address=str(topology.GW6), prefixlen=64, flags=IFA_F_NODAD)
    sw.link('set', index=br0, state='up')
    sw_fd = os.open('/run/netns/sw', os.O_RDONLY | os.O_CLOEXEC)
    for i in range(1, n + 1):
        item = topology.node(i)
        path = '/run/netns/' + item['name']
        pin('net', path)
        pin('uts', '/run/bench-uts/' + item['name'], setup=lambda name=item['name']: kernel.sethostname(name))
        ipr = sock_in(path)
        ipr.link('set', index=1, state='up')
        ipr.link('add', ifname='eth0', kind='veth', peer={'ifname': item['port'], 'net_ns_fd': sw_fd})
        port = sw.link_lookup(ifname=item['port'])[0]
        sw.link('set', index=port, master=br0, state='up')
        eth0 = ipr.link_lookup(ifname='eth0')[0]
        v4, len4 = item['v4'].split('/')
        v6, len6 = item['v6'].split('/')
        ipr.addr('add', index=eth0, address=v4, prefixlen=int(len4))
        ipr.addr('add', index=eth0, address=v6, prefixlen=int(len6), flags=IFA_F_NODAD)
        ipr.link('set', index=eth0, state='up')
        ipr.route('add', dst='0.0.0.0/0', gateway=str(topology.GW4), family=socket.AF_INET)
        ipr.close()
    os.close(sw_fd)
    sw.close()


if __name__ == '__main__':
    main(int(sys.argv[1]))
