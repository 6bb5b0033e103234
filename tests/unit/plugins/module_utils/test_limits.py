# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the kernel's limits: the pure checks (limits), their readers on fake /proc trees, and what a netns
task counts against them (netns_limits: ports per bridge, new namespaces, hosts per bridge)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.nsforge.linux.plugins.module_utils import limits, netns_limits, netns_options, specs
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError


# -- the pure checks

def test_a_bridge_takes_1023_ports():
    assert limits.bridge_ports_error('br0', ' in node sw', 1023, 'namespaces[3].links[0].peer.master') is None
    error = limits.bridge_ports_error('br3', ' in node sw', 1030, 'namespaces[12].links[0].master')
    assert error.option == 'namespaces[12].links[0].master' and error.value == 1030
    assert error.msg == ('namespaces[12].links[0].master: this task would give bridge br3 in node sw 1030 ports; '
                         'a Linux bridge takes at most 1023 (a fixed kernel limit: spread the nodes over several '
                         'bridges)')


def test_namespaces_error_names_the_sysctl_and_the_value_to_set():
    assert limits.namespaces_error('net', 96360, 3, 96363, 'namespaces') is None  # exactly at the limit
    assert limits.namespaces_error('net', 96400, 0, 96363, 'namespaces') is None  # nothing new: not this task's doing
    assert limits.namespaces_error('net', 5, 1, None, 'namespaces') is None       # limit unknown
    error = limits.namespaces_error('net', 96398, 2, 96363, 'namespaces')
    assert error.option == 'namespaces' and error.value == 96400
    assert error.msg == ('namespaces: this task would hold 96400 network namespaces (about 96398 now and 2 new); '
                         'the kernel allows 96363 (user.max_net_namespaces; raise it with sysctl -w '
                         'user.max_net_namespaces=96400 or more)')
    assert 'user.max_uts_namespaces=11' in limits.namespaces_error('uts', 9, 2, 10, 'name').msg


def test_neighbours_error():
    assert limits.neighbours_error(4, 1024, 1024, 'namespaces') is None
    assert limits.neighbours_error(6, 5000, None, 'namespaces') is None  # not readable outside the host's namespace
    error = limits.neighbours_error(6, 1500, 1024, 'namespaces', ' (1000 on br0 of node sw, 501 on br1 of node sw)')
    assert error.value == 1500
    assert error.msg.startswith('namespaces: this task would put hosts on bridges (1000 on br0 of node sw, 501 on br1 '
                                'of node sw) whose gateways alone need 1500 IPv6 neighbour entries; the neighbour '
                                'table, one for every network namespace, holds at most 1024 ')
    assert error.msg.endswith('(net.ipv6.neigh.default.gc_thresh3; raise it with sysctl -w '
                              'net.ipv6.neigh.default.gc_thresh3=1500 or more)')


def test_processes_error():
    # process IDs 1 to pid_max - 1
    assert limits.processes_error(10, 32757, 200, 32768, 192726, 'services') is None
    error = limits.processes_error(11, 32757, 200, 32768, 192726, 'services')
    assert error.option == 'services' and error.value == 32768
    assert 'kernel.pid_max gives process IDs up to 32767 (kernel.pid_max; raise it with sysctl -w ' \
        'kernel.pid_max=32769' in error.msg
    assert limits.processes_error(6, 100, 994, 32768, 1000, 'services') is None
    error = limits.processes_error(7, 100, 994, 32768, 1000, 'services[2]')
    assert error.msg == ('services[2]: this task would hold 1001 tasks on the machine (994 now and 7 new); the kernel '
                         'allows 1000 (kernel.threads-max; raise it with sysctl -w kernel.threads-max=1001 or more)')
    assert limits.processes_error(0, 10 ** 6, 10 ** 6, 10, 10, 'services') is None
    assert limits.processes_error(5, 10, None, None, None, 'services') is None


# -- the readers, on fake trees

def test_read_sysctl(tmp_path):
    folder = tmp_path / 'net' / 'ipv4' / 'neigh' / 'default'
    folder.mkdir(parents=True)
    (folder / 'gc_thresh3').write_text(u'1024\n')
    (tmp_path / 'kernel').mkdir()
    (tmp_path / 'kernel' / 'threads-max').write_text(u'192726\n')
    (tmp_path / 'kernel' / 'odd').write_text(u'not a number\n')
    assert limits.read_sysctl('net.ipv4.neigh.default.gc_thresh3', str(tmp_path)) == 1024
    assert limits.read_sysctl('kernel.threads-max', str(tmp_path)) == 192726
    assert limits.read_sysctl('kernel.odd', str(tmp_path)) is None
    assert limits.read_sysctl('net.ipv6.neigh.default.gc_thresh3', str(tmp_path)) is None  # not shown here


def _process(root, pid, links, threads=1):
    base = os.path.join(str(root), str(pid))
    os.makedirs(os.path.join(base, 'ns'))
    for kind, inode in links.items():
        os.symlink('%s:[%d]' % (kind, inode), os.path.join(base, 'ns', kind))
    for tid in range(threads):
        os.makedirs(os.path.join(base, 'task', str(pid + tid)))


def test_namespaces_in_use_counts_processes_and_pins_once_and_only_those_in_view(tmp_path):
    proc = tmp_path / 'proc'
    _process(proc, 1, {'net': 100, 'uts': 200})
    _process(proc, 2, {'net': 100, 'uts': 200})
    _process(proc, 3, {'net': 101, 'uts': 201})   # 101 is owned by a user namespace out of view
    mountinfo = tmp_path / 'mountinfo'
    mountinfo.write_text(u'\n'.join([
        '25 1 0:4 net:[100] /run/netns/a rw shared:9 - nsfs nsfs rw',            # also a process's: once
        '26 1 0:4 net:[102] /run/netns/b rw shared:9 - nsfs nsfs rw',
        '27 1 0:4 uts:[202] /run/nsforge/nodes/b/uts rw - nsfs nsfs rw',
        '28 1 0:4 mnt:[300] /run/nsforge/nodes/b/mntns/mnt rw - nsfs nsfs rw',  # a kind not asked for
        '29 1 0:22 / /run rw - tmpfs tmpfs rw',
    ]) + u'\n')
    asked = []

    def owner(path):
        asked.append(path)
        return None if path.endswith('/3/ns/net') else 4026531837

    counts = limits.namespaces_in_use(['net', 'uts'], str(proc), str(mountinfo), owner)
    assert counts == {'net': 2, 'uts': 3}
    assert len(asked) == 6  # one question per distinct namespace


def test_tasks_in_use(tmp_path):
    _process(tmp_path, 1, {}, threads=1)
    _process(tmp_path, 40, {}, threads=4)
    (tmp_path / 'loadavg').write_text(u'0.87 0.91 1.18 3/102 41\n')
    assert limits.tasks_in_use(str(tmp_path)) == (5, 102)


# -- what a netns task counts

def node(name, links=(), **kw):
    base = dict((k, None) for k in specs.NODE_OPTIONS)
    base.update(name=name, links=list(links), state=None, purge=None, persist=None)
    base.update(kw)
    return base


def veth(name, peer, **kw):
    base = dict((k, None) for k in specs.LINK_SPEC)
    peer = dict({'netns': None, 'addresses': None, 'master': None, 'mtu': None}, **peer)
    base.update(name=name, type='veth', state='up', peer=peer)
    base.update(kw)
    return base


def bridge(name, **kw):
    base = dict((k, None) for k in specs.LINK_SPEC)
    base.update(name=name, type='bridge', state='up')
    base.update(kw)
    return base


def decls_of(*nodes):
    params = dict((k, None) for k in specs.node_spec())
    params.update(namespaces=list(nodes), state=None, purge=None)
    return netns_options.validate(params)


def existing_ports(count, master='br0', prefix='p'):
    return dict(('%s%d' % (prefix, i), {'kind': 'veth', 'master': master, 'alias': None}) for i in range(count))


def test_ports_count_the_existing_ones_first_and_name_the_link_that_tips_the_bridge_over():
    sw_links = existing_ports(1021)
    sw_links['br0'] = {'kind': 'bridge', 'master': None, 'alias': None}
    decls = decls_of(node('sw', [bridge('br0')]),
                     *[node('n%d' % i, [veth('eth0', {'name': 'v%d' % i, 'netns': 'sw', 'master': 'br0'})])
                       for i in range(3)])
    ports = netns_limits.bridge_ports(decls, lambda netns: sw_links if netns == 'sw' else {})
    assert list(ports) == [('sw', 'br0')]
    assert len(ports[('sw', 'br0')]) == 1024
    assert ports[('sw', 'br0')][1023] == ('v2', 'namespaces[3].links[0].peer.master')
    with pytest.raises(NsforgeError) as info:
        netns_limits.check(decls, {}, lambda netns: sw_links if netns == 'sw' else {}, 'namespaces')
    assert info.value.option == 'namespaces[3].links[0].peer.master'
    assert 'would give bridge br0 in node sw 1024 ports; a Linux bridge takes at most 1023' in info.value.msg


def test_ports_already_there_are_not_counted_twice_and_moved_ones_leave_their_bridge():
    sw_links = existing_ports(3)
    sw_links['v0'] = {'kind': 'veth', 'master': 'br0', 'alias': 'nsforge-peer-of:n0/eth0'}
    sw_links['v1'] = {'kind': 'veth', 'master': 'br0', 'alias': 'nsforge-peer-of:n1/eth0'}
    decls = decls_of(node('n0', [veth('eth0', {'name': 'v0', 'netns': 'sw', 'master': 'br0'})]),
                     node('n1', [veth('eth0', {'name': 'v1', 'netns': 'sw', 'master': 'br1'})]),
                     node('sw', [bridge('br0'), bridge('br1'),
                                 dict(bridge('p0'), type='veth', master='br1', peer={'name': 'q0'})]))
    ports = netns_limits.bridge_ports(decls, lambda netns: sw_links if netns == 'sw' else {})
    assert ports[('sw', 'br0')] == [('p1', None), ('p2', None), ('v0', 'namespaces[0].links[0].peer.master')]
    assert ports[('sw', 'br1')] == [('v1', 'namespaces[1].links[0].peer.master'),
                                    ('p0', 'namespaces[2].links[2].master')]


def test_ports_purged_or_going_with_an_absent_node_are_not_counted():
    sw_links = existing_ports(4)
    sw_links['x1'] = {'kind': 'veth', 'master': 'br0', 'alias': 'nsforge-peer-of:gone/eth0'}
    sw_links['x2'] = {'kind': 'veth', 'master': 'br0', 'alias': 'nsforge-peer-of:other/eth0'}
    decls = decls_of(node('gone', state='absent'),
                     node('n1', [veth('eth0', {'name': 'v1', 'netns': 'sw', 'master': 'br0'})]),
                     node('sw', [bridge('br0')], purge=True))
    ports = netns_limits.bridge_ports(decls, lambda netns: sw_links if netns == 'sw' else {})
    # purge deletes p0-p3; x1 goes with node gone; x2 is the end of a veth of a node that stays
    assert ports[('sw', 'br0')] == [('x2', None), ('v1', 'namespaces[1].links[0].peer.master')]


def test_a_bridge_in_the_host_is_counted_from_the_host_links():
    host = existing_ports(1023, master='lan')
    decls = decls_of(node('n1', [veth('eth0', {'name': 'h1', 'master': 'lan'})]))
    with pytest.raises(NsforgeError) as info:
        netns_limits.check(decls, {}, lambda netns: host if netns is None else {}, 'namespaces')
    assert info.value.option == 'namespaces[0].links[0].peer.master'
    assert 'bridge lan in the host 1024 ports' in info.value.msg


def test_new_namespaces_count_creations_only():
    decls = decls_of(node('a', hostname='a'), node('b', hostname='b'), node('c'), node('d', state='absent'))
    actual = {'a': {'exists': True, 'uts': False}, 'b': {'exists': False, 'uts': False},
              'c': {'exists': False, 'uts': False}, 'd': {'exists': True, 'uts': True}}
    assert netns_limits.new_namespaces(decls, actual) == {'net': 2, 'uts': 2}


def test_neighbour_entries_are_the_hosts_of_each_bridge_less_one():
    nodes = [node('sw', [bridge('br0', addresses=['10.0.0.254/24', 'fd00::ff/64']), bridge('br1')])]
    for i in range(1, 5):
        nodes.append(node('n%d' % i, [veth('eth0', {'name': 'v%d' % i, 'netns': 'sw', 'master': 'br0'},
                                           addresses=['10.0.0.%d/24' % i])]))
    # a port declared on the switch's side: its far end's addresses are the host
    nodes[0]['links'].append(veth('p5', {'name': 'eth0', 'netns': 'n5', 'addresses': ['10.0.1.5/24', 'fd00:1::5/64']},
                                  master='br1'))
    nodes[0]['links'].append(veth('p6', {'name': 'eth0', 'netns': 'n6', 'addresses': ['10.0.1.6/24']}, master='br1'))
    nodes.extend([node('n5'), node('n6')])
    entries = netns_limits.neighbour_entries(decls_of(*nodes))
    assert entries[4] == (4 + 1, ' (5 on br0 of node sw, 2 on br1 of node sw)')  # (5 - 1) + (2 - 1)
    assert 6 not in entries  # one IPv6 host per bridge: nothing to reach
