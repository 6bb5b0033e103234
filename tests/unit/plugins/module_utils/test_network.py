# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the pure logic of netns: validation, normalization, views, files."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nsforge.linux.plugins.module_utils import (
    layout, linktypes, names, netns_engine, netns_options, netns_plan, netns_views, specs)
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError


def params(**kw):
    base = dict((k, None) for k in specs.node_spec())
    base.update(state='present', purge=False, namespaces=None)
    base.update(kw)
    return base


def link(**kw):
    base = dict((k, None) for k in specs.LINK_SPEC)
    base['state'] = 'up'
    base.update(kw)
    return base


def peer(name, netns=None, **kw):
    base = {'name': name, 'netns': netns, 'addresses': None, 'master': None, 'mtu': None}
    base.update(kw)
    return base


def route(**kw):
    base = dict((k, None) for k in specs.ROUTE_SPEC)
    base.update(kw)
    return base


def failing(option, **kw):
    with pytest.raises(NsforgeError) as info:
        netns_options.validate(params(**kw))
    assert info.value.option == option, info.value.msg
    assert info.value.msg.startswith(option + ':'), info.value.msg
    return info.value.msg


@pytest.mark.parametrize('name', ['a', 'r1', 'node_1.lab-2', 'A' * 255, '0'])
def test_good_node_names(name):
    assert names.check_name(name) == name


@pytest.mark.parametrize('name,why', [
    ('', 'empty'), ('a' * 256, '255 bytes'), ('a/b', "'/'"), ('..', "'..'"), ('a..b', "'..'"),
    ('a b', 'whitespace'), ('a\tb', 'whitespace'), ('a\nb', 'whitespace'), ('a\x00b', 'control'),
    ('.hidden', 'start'), ('-x', 'start'), ('r\u0131', 'ASCII'), ('caf\u00e9', 'ASCII'), (None, 'string'),
])
def test_bad_node_names(name, why):
    with pytest.raises(NsforgeError) as info:
        names.check_name(name, 'name')
    assert why in info.value.msg
    assert info.value.option == 'name'


def test_paths_stay_in_their_folders():
    assert layout.netns_path('r1') == '/run/netns/r1'
    assert layout.uts_path('r1') == '/run/nsforge/nodes/r1/uts'
    assert layout.etc_dir('r1') == '/etc/netns/r1'
    assert layout.lock_path('r1') == '/run/nsforge/locks/r1.lock'
    with pytest.raises(NsforgeError):
        layout.netns_path('../etc')


@pytest.mark.parametrize('value,expected', [
    ('10.0.0.1/24', '10.0.0.1/24'),
    ('FD00:0:0::1/64', 'fd00::1/64'),
    (' 10.1.2.3/32 ', '10.1.2.3/32'),
])
def test_norm_cidr(value, expected):
    assert names.norm_cidr(value, 'x') == expected


@pytest.mark.parametrize('value', ['10.0.0.1', '10.0.0.1/33', '10.0.0.256/24', 'fd00::1/129', '224.0.0.1/4', '0.0.0.0/0', 'x/1'])
def test_bad_cidr(value):
    with pytest.raises(NsforgeError):
        names.norm_cidr(value, 'x')


def test_route_normalization():
    r = netns_options.norm_route(route(dst='default', gateway='fd00::1'), 'routes[0]')
    assert r == {'family': 6, 'dst': '::/0', 'gateway': 'fd00::1', 'dev': None, 'metric': 1024, 'table': 254}
    r = netns_options.norm_route(route(dst='10.1.0.0/16', dev='eth0', metric=5, table=100), 'routes[0]')
    assert r['family'] == 4 and r['metric'] == 5 and r['table'] == 100
    assert netns_options.route_text(r) == '10.1.0.0/16 dev eth0 metric 5 table 100'


def test_route_errors():
    assert 'host bits' in failing('routes[0].dst', name='n', routes=[route(dst='10.1.0.1/16', dev='eth0')])
    failing('routes[0].gateway', name='n', routes=[route(dst='10.1.0.0/16', gateway='fd00::1')])
    failing('routes[0]', name='n', routes=[route(dst='10.1.0.0/16')])
    failing('routes[0].table', name='n', routes=[route(dst='10.1.0.0/16', dev='e', table=255)])
    failing('routes', name='n', routes=[route(dst='10.1.0.0/16', dev='e'), route(dst='10.1.0.0/16', gateway='10.0.0.1')])


def test_sysctl_paths():
    assert netns_options.sysctl_path('net.ipv4.ip_forward', 'x') == '/proc/sys/net/ipv4/ip_forward'
    assert netns_options.sysctl_path('net.ipv4.conf.eth0/10.rp_filter', 'x') == '/proc/sys/net/ipv4/conf/eth0.10/rp_filter'
    for bad in ('kernel.hostname', 'net..x', 'net.a/../b', 'net.a b', 'netx'):
        with pytest.raises(NsforgeError):
            netns_options.sysctl_path(bad, 'x')


def test_sysctl_values():
    assert netns_options.sysctl_value(True, 'x') == '1'
    assert netns_options.sysctl_value(0, 'x') == '0'
    assert netns_options.sysctl_value('4096  8192\t16384', 'x') == '4096 8192 16384'
    with pytest.raises(NsforgeError):
        netns_options.sysctl_value('', 'x')
    with pytest.raises(NsforgeError):
        netns_options.sysctl_value({'a': 1}, 'x')


def test_link_validation():
    failing('links[0].name', name='n', links=[link(name='x' * 16, type='bridge')])
    failing('links[0].name', name='n', links=[link(name='a:b', type='bridge')])
    failing('links[1].name', name='n', links=[link(name='a', type='bridge'), link(name='a', type='bridge')])
    failing('links[0].name', name='n', links=[link(name='lo', type='bridge')])
    failing('links[0].peer', name='n', links=[link(name='a', type='veth')])
    failing('links[0].vlan_id', name='n', links=[link(name='a', type='vlan', link='b', vlan_id=4095)])
    failing('links[0].link', name='n', links=[link(name='a', type='vlan', vlan_id=5)])
    failing('links[0].link', name='n', links=[link(name='a', type='macvlan')])
    failing('links[0].vni', name='n', links=[link(name='a', type='vxlan')])
    failing('links[0].remote', name='n', links=[link(name='a', type='vxlan', vni=1, remote='10.0.0.1', group='239.1.1.1')])
    failing('links[0].group', name='n', links=[link(name='a', type='vxlan', vni=1, group='10.0.0.1', link='e')])
    failing('links[0].remote', name='n', links=[link(name='a', type='vxlan', vni=1, remote='239.1.1.1')])
    failing('links[0].mac', name='n', links=[link(name='a', type='bridge', mac='03:00:00:00:00:00')])
    failing('links[0].mtu', name='n', links=[link(name='a', type='bridge', mtu=70000)])
    failing('links[0].vni', name='n', links=[link(name='a', type='bridge', vni=5)])
    failing('links[1].master', name='n', links=[link(name='a', type='vxlan', vni=1), link(name='b', type='bridge', master='a')])
    failing('links[0].master', name='n', links=[link(name='a', type='bridge', master='a')])


def test_good_lab_normalizes():
    decls = netns_options.validate(params(state='present', namespaces=[
        dict(params(name='r1', state=None, purge=None), links=[
            link(name='eth1', type='veth', addresses=['10.0.0.1/30', '10.0.0.1/30'],
                 peer=peer('eth1', 'r2', addresses=['10.0.0.2/30'])),
            link(name='vx1', type='vxlan', vni=7, remote='10.0.0.2')]),
        dict(params(name='r2', state=None, purge=True), sysctl={'net.ipv4.ip_forward': 1}),
    ]))
    assert [d['name'] for d in decls] == ['r1', 'r2']
    assert decls[0]['links'][0]['addresses'] == ['10.0.0.1/30']
    assert decls[0]['links'][1]['dstport'] == 4789
    assert decls[0]['purge'] is False and decls[1]['purge'] is True
    assert decls[1]['sysctl']['net.ipv4.ip_forward'] == {'path': '/proc/sys/net/ipv4/ip_forward', 'value': '1'}


def test_bulk_errors():
    failing('links', namespaces=[params(name='a')], links=[link(name='e', type='bridge')])
    failing('namespaces', namespaces=[])
    failing('namespaces[1].name', namespaces=[params(name='a'), params(name='a')])
    failing('namespaces[0].hostname', namespaces=[params(name='a', state='absent', hostname='x')])


def test_peer_name_clash_inside_one_task():
    msg = failing('namespaces[1].links[0].peer.name', namespaces=[
        params(name='a', links=[link(name='e0', type='bridge')]),
        params(name='b', links=[link(name='e1', type='veth', peer=peer('e0', 'a'))]),
    ])
    assert 'already used in node a' in msg


def test_files():
    decl = netns_options.normalize_node(params(name='r1', hostname='r1', nameservers=['10.0.0.53', 'fd00::53'], search=['lab.test'],
                                               hosts={'b': '10.0.0.2', 'a': '10.0.0.1'}), '')
    resolv = netns_plan.resolv_conf(decl)
    assert resolv.splitlines()[1:] == ['search lab.test', 'nameserver 10.0.0.53', 'nameserver fd00::53']
    hosts = netns_plan.hosts_file(decl).splitlines()
    assert hosts[-3:] == ['127.0.1.1\tr1', '10.0.0.1\ta', '10.0.0.2\tb']
    assert netns_plan.resolv_conf(netns_options.normalize_node(params(name='r1'), '')) is None
    assert netns_plan.hosts_file(netns_options.normalize_node(params(name='r1'), '')) is None


def test_link_mismatch():
    decl = netns_options.normalize_link(link(name='v', type='vlan', link='e', vlan_id=5), 'links[0]')
    assert netns_plan.link_mismatch({'kind': 'vlan', 'vlan_id': 5, 'parent': 'e'}, decl) is None
    assert netns_plan.link_mismatch({'kind': 'vlan', 'vlan_id': 6, 'parent': 'e'}, decl)
    assert netns_plan.link_mismatch({'kind': 'bridge'}, decl)
    vx = netns_options.normalize_link(link(name='v', type='vxlan', vni=5, remote='10.0.0.2'), 'links[0]')
    assert netns_plan.link_mismatch({'kind': 'vxlan', 'vni': 5, 'dstport': 4789, 'target': '10.0.0.2', 'local': None}, vx) is None
    assert netns_plan.link_mismatch({'kind': 'vxlan', 'vni': 5, 'dstport': 8472, 'target': '10.0.0.2', 'local': None}, vx)
    # the underlay namespace: the node's own unless declared 'host'
    assert vx['underlay'] == 'node'
    same = {'kind': 'vxlan', 'vni': 5, 'dstport': 4789, 'target': '10.0.0.2', 'local': None, 'underlay': 'node'}
    assert netns_plan.link_mismatch(same, vx) is None
    assert 'underlay namespace is host' in netns_plan.link_mismatch(dict(same, underlay='host'), vx)
    hx = netns_options.normalize_link(link(name='v', type='vxlan', vni=5, remote='10.0.0.2', underlay='host'), 'links[0]')
    assert netns_plan.link_mismatch(dict(same, underlay='host'), hx) is None
    assert 'declared host' in netns_plan.link_mismatch(same, hx)
    assert netns_plan.link_mismatch(dict(same, underlay='other'), hx)


def test_vxlan_endpoints_change_in_place_or_recreate():
    vx = netns_options.normalize_link(link(name='v', type='vxlan', vni=5, remote='10.0.0.3', local='10.0.0.1'), 'links[0]')
    cur = {'kind': 'vxlan', 'vni': 5, 'dstport': 4789, 'target': '10.0.0.2', 'local': '10.0.0.1', 'underlay': 'node'}
    # a unicast remote and the local address change in place
    assert linktypes.vxlan_endpoints(cur, vx) == {'remote': '10.0.0.3'}
    assert netns_plan.link_mismatch(cur, vx) is None
    assert linktypes.vxlan_endpoints(dict(cur, target='10.0.0.3', local='10.0.0.9'), vx) == {'local': '10.0.0.1'}
    assert linktypes.vxlan_endpoints(dict(cur, target='10.0.0.3'), vx) == {}
    # a multicast group, or an address given up, needs a new device
    assert linktypes.vxlan_endpoints(dict(cur, target='239.1.1.1'), vx) is None
    assert 'remote, group or local' in netns_plan.link_mismatch(dict(cur, target='239.1.1.1'), vx)
    bare = netns_options.normalize_link(link(name='v', type='vxlan', vni=5, remote='10.0.0.3'), 'links[0]')
    assert linktypes.vxlan_endpoints(cur, bare) is None
    none = netns_options.normalize_link(link(name='v', type='vxlan', vni=5), 'links[0]')
    assert linktypes.vxlan_endpoints(dict(cur, local=None), none) is None
    grp = netns_options.normalize_link(link(name='v', type='vxlan', vni=5, group='239.1.1.2', link='e'), 'links[0]')
    assert linktypes.vxlan_endpoints(dict(cur, local=None), grp) is None


def test_underlay_validation():
    failing('links[0].underlay', name='n', links=[link(name='a', type='bridge', underlay='host')])
    failing('links[0].underlay', name='n', links=[link(name='a', type='veth', peer=peer('b'), underlay='host')])
    msg = failing('links[0].underlay', name='n', links=[link(name='a', type='vxlan', vni=3, underlay='hots')])
    assert "'node' or 'host'" in msg
    decl = netns_options.validate(params(name='n', links=[link(name='a', type='vxlan', vni=3, remote='10.0.0.2',
                                                               underlay='host')]))
    assert decl[0]['links'][0]['underlay'] == 'host'


def test_views_hide_link_local_and_predict():
    actual = {'exists': True, 'links': {'lo': {'kind': 'loopback', 'up': True, 'addresses': ['127.0.0.1/8', '::1/128'],
                                               'mtu': 65536, 'mac': '00:00:00:00:00:00'},
                                        'eth0': {'kind': 'veth', 'up': True, 'addresses': ['10.0.0.1/24', 'fe80::1/64'],
                                                 'mtu': 1500, 'mac': '02:00:00:00:00:01', 'master': None}},
              'routes': [{'family': 4, 'dst': '10.9.0.0/24', 'gateway': '10.0.0.2', 'dev': 'eth0', 'metric': 0,
                          'table': 254, 'proto': 4}],
              'sysctl': {}, 'files': {'resolv.conf': None, 'hosts': None}}
    before = netns_views.actual_view(actual)
    assert before['links']['eth0']['addresses'] == ['10.0.0.1/24']
    assert before['routes'] == ['10.9.0.0/24 via 10.0.0.2 dev eth0 metric 0']
    decl = netns_options.normalize_node(params(name='n', purge=True, links=[
        link(name='eth0', type='veth', addresses=['10.0.0.5/24'], peer=peer('p'))]), '')
    track = {'purge_links': set(), 'recreated': set(), 'downed': set(), 'vanish': set(), 'ports': set(),
             'mtu_set': set(), 'peers_in': [], 'routes_added': [],
             'routes_removed': ['10.9.0.0/24 via 10.0.0.2 dev eth0 metric 0'], 'files': {}}
    after = netns_views.predicted_view(before, decl, track)
    assert after['links']['eth0']['addresses'] == ['10.0.0.5/24']
    assert after['routes'] == []
    assert netns_views.predicted_view(before, dict(decl, state='absent'), track) == {'present': False}


def test_facts_compact_by_default_full_on_request(monkeypatch):
    monkeypatch.setattr(netns_views.nodes, 'netns_inode', lambda name: 4026532284)
    actual = {'exists': True, 'hostname': 'n',
              'links': {'eth0': {'index': 2, 'kind': 'veth', 'up': True, 'addresses': ['10.0.0.1/24', 'fe80::1/64'],
                                 'mtu': 1500, 'mac': '02:00:00:00:00:01', 'master': None},
                        'lo': {'index': 1, 'kind': 'loopback', 'up': True, 'addresses': ['127.0.0.1/8'],
                               'mtu': 65536, 'mac': '00:00:00:00:00:00'}},
              'routes': [{'family': 4, 'dst': '0.0.0.0/0', 'gateway': '10.0.0.2', 'dev': 'eth0', 'metric': 0,
                          'table': 254, 'proto': 4},
                         {'family': 6, 'dst': 'fe80::/64', 'gateway': None, 'dev': 'eth0', 'metric': 256,
                          'table': 254, 'proto': 2}]}
    compact = netns_views.facts_of('n', actual)
    assert compact == {'name': 'n', 'state': 'present', 'path': '/run/netns/n', 'inode': 4026532284, 'hostname': 'n'}
    # what Reader.identity reads is enough for the compact facts
    assert netns_views.facts_of('n', {'exists': True, 'hostname': 'n'}) == compact
    full = netns_views.facts_of('n', actual, full=True)
    assert dict((k, full[k]) for k in compact) == compact
    assert [(i['name'], i['index'], i['addresses']) for i in full['interfaces']] == [
        ('lo', 1, ['127.0.0.1/8']), ('eth0', 2, ['10.0.0.1/24'])]
    assert full['routes'] == [{'family': 4, 'dst': '0.0.0.0/0', 'gateway': '10.0.0.2', 'dev': 'eth0', 'metric': 0,
                               'table': 254}]
    gone = {'exists': False, 'hostname': None}
    assert netns_views.facts_of('n', gone) == {'name': 'n', 'state': 'absent', 'path': '/run/netns/n', 'inode': None,
                                               'hostname': None}
    assert netns_views.facts_of('n', gone, full=True)['interfaces'] == []
    assert netns_views.facts_of('n', gone, full=True)['routes'] == []


def test_facts_option_declared_once():
    spec = specs.netns()['argument_spec']['facts']
    assert spec['default'] == 'compact' and spec['choices'] == ['compact', 'full']
    assert 'facts' not in specs.NODE_OPTIONS  # a task's option, not one that each node (or its record) has


def test_invocation_names_the_nodes_of_namespaces():
    many = {'namespaces': [{'name': 'a', 'links': [{'name': 'eth0', 'type': 'veth'}]}, {'name': 'b', 'links': None}],
            'state': 'present', 'facts': 'compact', 'name': None}
    assert netns_engine.echoed_args(many) == {'namespaces': ['a', 'b'], 'state': 'present', 'facts': 'compact',
                                              'name': None}
    assert many['namespaces'][0]['name'] == 'a'  # the parameters themselves are left as they are
    one = {'name': 'a', 'namespaces': None, 'links': [{'name': 'eth0', 'type': 'veth'}]}
    assert netns_engine.echoed_args(one) == one
