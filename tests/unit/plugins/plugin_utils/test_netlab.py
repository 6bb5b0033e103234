# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the netlab topology logic: validation, address allocation, the bulk declaration, removal."""

from __future__ import annotations

import copy
import ipaddress
import json

import pytest

from ansible_collections.nsforge.linux.plugins.plugin_utils.netlab import TopologyError, plan, report, where


from ansible_collections.nsforge.linux.plugins.plugin_utils.netlab import TopologyError, plan, ready


def topo(**kw):
    base = {
        'name': 'lab1',
        'addressing': {'ipv4': '10.235.0.0/16', 'ipv6': 'fd42:235::/48'},
        'bridges': [{'name': 'lan'}],
        'nodes': [{'name': 'a'}, {'name': 'b'}, {'name': 'r1'}, {'name': 'r2'}],
        'links': [['a:eth0', 'lan'], ['b:eth0', 'lan'], ['r1:eth1', 'r2:eth1']],
    }
    base.update(kw)
    return base


def entry(result, name):
    return [e for e in result['namespaces'] if e['name'] == name][0]


def link(result, node, ifname):
    return [lk for lk in entry(result, node)['links'] if lk['name'] == ifname][0]


def fails(match, **kw):
    with pytest.raises(TopologyError, match=match):
        plan(topo(**kw))


# ---- validation names the node or link at fault


def test_unknown_endpoint_node_named():
    fails(r"links\[1\]: unknown node 'zz'", links=[['a:eth0', 'lan'], ['a:eth1', 'zz:eth1']])


def test_interface_used_twice_names_both_links():
    fails(r"links\[1\] \(a:eth0 -- b:eth1\): interface eth0 of node a is already used by links\[0\] \(a:eth0 -- lan\)",
          links=[['a:eth0', 'lan'], ['a:eth0', 'b:eth1']])


def test_bridge_port_used_twice():
    fails(r'interface p1 of node lan is already used', links=[['a:eth0', 'lan:p1'], ['b:eth0', 'lan:p1']])


def test_pool_too_small_names_the_link():
    fails(r"links\[2\] \(r1:eth1 -- r2:eth1\): addressing pool 10.235.0.0/24 is too small",
          addressing={'ipv4': '10.235.0.0/24'})


def test_pool_smaller_than_a_subnet():
    fails(r'bridges\[0\] \(lan\): addressing pool 10.235.0.0/26 is smaller than the /24', addressing={'ipv4': '10.235.0.0/26'})


def test_bridge_subnet_too_small_for_members():
    fails(r'bridges\[0\] \(lan\): subnet 10.235.9.0/30 is too small for 2 members',
          bridges=[{'name': 'lan', 'subnet': '10.235.9.0/30'}])


@pytest.mark.parametrize('links, match', [
    ([['a:eth0']], r'links\[0\]: a link has exactly two endpoints'),
    ([['a', 'b:eth0']], r'endpoint .a. of node a names no interface'),
    ([['a:eth0', 'a:eth1']], r'a link joins two different nodes'),
    ([['lan', 'lan']], r'not two bridges'),
    ([['a:this-name-is-too-long', 'b:eth0']], r'at most 15 bytes'),
    ([{'endpoints': ['a:eth0', 'b:eth0'], 'mtu': 20}], r'mtu must be an integer from 68 to 65535'),
    ([{'endpoints': ['a:eth0', 'b:eth0'], 'addresses': {'c': ['10.0.0.1/24']}}], r"names 'c', which is not an endpoint"),
    ([{'endpoints': ['a:eth0', 'b:eth0'], 'addresses': {'a': ['10.0.0.1']}}], r'prefix length'),
])
def test_bad_links(links, match):
    fails(match, links=links)


def test_bad_lab_name():
    fails(r"name: the lab name 'no/slash'", name='no/slash')


def test_bad_node_name():
    fails(r'nodes\[0\] \(-x\):', nodes=[{'name': '-x'}], links=[])


@pytest.mark.parametrize('labels, match', [
    ('routers', r"nodes\[0\] \(a\)\.labels: expected a list of group names"),
    (['routers', 'core-1'], r"nodes\[0\] \(a\)\.labels\[1\]: invalid group name 'core-1'"),
    (['1st'], r"nodes\[0\] \(a\)\.labels\[0\]: invalid group name '1st'"),
    ([7], r"nodes\[0\] \(a\)\.labels\[0\]: invalid group name 7"),
])
def test_bad_labels(labels, match):
    fails(match, nodes=[{'name': 'a', 'labels': labels}], links=[])


def test_labels_are_taken_and_change_no_declaration():
    labelled = plan(topo(nodes=[{'name': 'a', 'labels': ['routers', 'edge_1']}, {'name': 'b'}, {'name': 'r1'},
                                {'name': 'r2'}]))
    assert labelled['namespaces'] == plan(topo())['namespaces']


def test_node_declared_twice():
    fails(r'nodes\[1\] \(a\): node a is declared twice, first as nodes\[0\] \(a\)', nodes=[{'name': 'a'}, {'name': 'a'}], links=[])


def test_bridge_and_node_share_a_name():
    fails(r'bridges\[0\] \(a\): the name is also a node', bridges=[{'name': 'a'}], links=[])


def test_pod_node_rules():
    fails(r"nodes\[0\] \(c\)\.network_mode: unknown node 'zz'", nodes=[{'name': 'c', 'network_mode': 'container:zz'}], links=[])
    fails(r'nodes\[1\] \(c\): links cannot be set on a node that shares the network of a',
          nodes=[{'name': 'a'}, {'name': 'c', 'network_mode': 'container:a', 'links': [{'name': 'x'}]}], links=[])
    fails(r'links\[0\].*node c shares the network of a',
          nodes=[{'name': 'a'}, {'name': 'c', 'network_mode': 'container:a'}], links=[['c:eth0', 'lan']])


def test_service_declared_twice_and_unknown_option():
    nodes = [{'name': 'a', 'services': [{'name': 's', 'command': 'x'}]},
             {'name': 'b', 'services': [{'name': 's', 'command': 'y'}]}]
    fails(r'nodes\[1\] \(b\)\.services\[0\]: service s is already declared by nodes\[0\] \(a\)\.services\[0\]', nodes=nodes, links=[])
    fails(r"unknown nsproc option\(s\) comand", nodes=[{'name': 'a', 'services': [{'name': 's', 'comand': 'x'}]}],
          links=[])


def test_nat_validation():
    fails(r"nat.bridge: unknown bridge 'wan'", nat={'bridge': 'wan'})
    fails(r"nat.ports\[0\]: node r1 has no IPv4 address on bridge lan",
          nat={'bridge': 'lan', 'ports': [{'host_port': 80, 'node': 'r1', 'port': 80}]})
    fails(r'nat.ports\[1\]: host port tcp/80 is already forwarded by nat.ports\[0\]',
          nat={'bridge': 'lan', 'ports': [{'host_port': 80, 'node': 'a', 'port': 80},
                                          {'host_port': 80, 'node': 'b', 'port': 80}]})


# ---- the declaration


def test_bulk_declaration_and_addresses():
    result = plan(topo())
    names = [e['name'] for e in result['namespaces']]
    assert names == ['lan', 'a', 'b', 'r1', 'r2']
    assert all(e['purge'] is True and e['state'] == 'present' for e in result['namespaces'])
    assert entry(result, 'lan')['links'] == [{'name': 'br0', 'type': 'bridge'}]
    eth0 = link(result, 'a', 'eth0')
    assert eth0['addresses'] == ['10.235.0.2/24', 'fd42:235::2/64']
    assert eth0['peer'] == {'name': 'a-eth0', 'netns': 'lan', 'master': 'br0', 'addresses': []}
    assert link(result, 'b', 'eth0')['addresses'] == ['10.235.0.3/24', 'fd42:235::3/64']
    p2p = link(result, 'r1', 'eth1')
    assert p2p['addresses'] == ['10.235.1.1/30', 'fd42:235:0:1::1/64']
    assert p2p['peer']['addresses'] == ['10.235.1.2/30', 'fd42:235:0:1::2/64']
    assert entry(result, 'a')['hostname'] == 'a'
    assert not [e for e in result['namespaces'] if e['name'] == 'r2'][0]['links']


def test_same_topology_same_plan():
    assert json.dumps(plan(topo()), sort_keys=True) == json.dumps(plan(topo()), sort_keys=True)


def test_nodes_as_mapping_like_containerlab():
    as_map = topo(nodes={'a': {}, 'b': None, 'r1': {}, 'r2': {}})
    assert plan(as_map)['namespaces'] == plan(topo())['namespaces']


def test_explicit_addresses_and_subnets_are_kept_out_of_the_pool():
    result = plan(topo(
        bridges=[{'name': 'lan', 'subnet': '10.235.0.0/24'}],
        links=[{'endpoints': ['a:eth0', 'lan']},
               {'endpoints': [{'node': 'b', 'interface': 'eth0', 'addresses': ['10.235.0.2/24']}, 'lan']},
               {'endpoints': ['r1:eth1', 'r2:eth1'], 'mtu': 9000,
                'addresses': {'r1:eth1': ['10.9.9.1/31'], 'r2': ['10.9.9.0/31']}}]))
    # a does not get .2, which b holds explicitly
    assert link(result, 'a', 'eth0')['addresses'][0] == '10.235.0.3/24'
    assert link(result, 'b', 'eth0')['addresses'] == ['10.235.0.2/24']
    p2p = link(result, 'r1', 'eth1')
    assert p2p['addresses'] == ['10.9.9.1/31'] and p2p['peer']['addresses'] == ['10.9.9.0/31']
    assert p2p['mtu'] == 9000 and p2p['peer']['mtu'] == 9000


def test_link_prefix_31():
    result = plan(topo(addressing={'ipv4': '10.235.0.0/16', 'link_prefix': 31}))
    assert link(result, 'r1', 'eth1')['addresses'] == ['10.235.1.0/31']
    assert link(result, 'r1', 'eth1')['peer']['addresses'] == ['10.235.1.1/31']


def test_allocations_never_overlap():
    links = [['n%d:eth0' % i, 'n%d:eth0' % (i + 1)] for i in range(0, 100, 2)]
    nodes = [{'name': 'n%d' % i} for i in range(100)]
    result = plan(topo(nodes=nodes, links=links + [['n0:eth9', 'lan']], bridges=[{'name': 'lan'}]))
    nets = [ipaddress.ip_network(v['4']) for v in result['record']['subnets'].values()]
    assert len(nets) == 51
    for i, x in enumerate(nets):
        for y in nets[i + 1:]:
            assert not x.overlaps(y)


def test_sticky_addresses_when_a_member_is_inserted_before_others():
    first = plan(topo())
    edited = topo(nodes=[{'name': 'new'}, {'name': 'a'}, {'name': 'b'}, {'name': 'r1'}, {'name': 'r2'}],
                  links=[['new:eth0', 'lan'], ['a:eth0', 'lan'], ['b:eth0', 'lan'], ['r1:eth1', 'r2:eth1']])
    fresh = plan(edited)
    again = plan(edited, first['record'])
    # without the record, new takes .2; with it, a and b keep theirs and new gets the lowest free one
    assert link(fresh, 'new', 'eth0')['addresses'][0] == '10.235.0.2/24'
    assert link(again, 'a', 'eth0')['addresses'] == link(first, 'a', 'eth0')['addresses']
    assert link(again, 'b', 'eth0')['addresses'] == link(first, 'b', 'eth0')['addresses']
    assert link(again, 'new', 'eth0')['addresses'][0] == '10.235.0.4/24'
    assert link(again, 'r1', 'eth1') == link(first, 'r1', 'eth1')


def test_sticky_subnet_when_an_earlier_link_goes():
    links = [['a:eth1', 'b:eth1'], ['r1:eth1', 'r2:eth1']]
    first = plan(topo(links=links, bridges=[]))
    second = plan(topo(links=links[1:], bridges=[]), first['record'])
    assert link(second, 'r1', 'eth1') == link(first, 'r1', 'eth1')
    assert 'a:eth1 -- b:eth1' not in second['record']['subnets']


def test_removed_nodes_services_mounts_users():
    nodes = [{'name': 'a', 'services': [{'name': 'a-web', 'command': 'x'}], 'mounts': [{'dst': '/data'}],
              'user': {'map_root_user': True}},
             {'name': 'b'}, {'name': 'r1'}, {'name': 'r2'}]
    first = plan(topo(nodes=nodes))
    assert first['services'][0]['node'] == 'a'
    assert first['mounts'] == [{'namespace': 'a', 'mounts': [{'dst': '/data'}]}]
    assert first['users'] == [{'namespace': 'a', 'map_root_user': True}]
    second = plan(topo(nodes=nodes[1:], links=[['b:eth0', 'lan'], ['r1:eth1', 'r2:eth1']]), first['record'])
    assert second['removed'] == {'nodes': ['a'], 'services': ['a-web'], 'mounts': ['a'], 'users': ['a']}
    # the entries of the role's bulk tasks that remove them
    assert second['removals'] == {'services': [{'name': 'a-web'}], 'mounts': [{'namespace': 'a'}],
                                  'users': [{'namespace': 'a'}]}
    assert first['removals'] == {'services': [], 'mounts': [], 'users': []}
    assert {'name': 'a', 'state': 'absent'} in second['namespaces']
    assert 'a' in second['pending']['nodes'] and 'a' not in second['record']['nodes']
    assert 'a-web' in second['pending']['services']


def test_absent_removes_what_the_record_and_the_topology_hold():
    first = plan(topo(nodes=[{'name': 'a'}, {'name': 'b'}, {'name': 'r1'}, {'name': 'r2'}, {'name': 'old'}]))
    gone = plan(topo(state='absent'), first['record'])
    assert [e['name'] for e in gone['namespaces']] == ['lan', 'a', 'b', 'r1', 'r2', 'old']
    assert all(e['state'] == 'absent' for e in gone['namespaces'])
    assert gone['services'] == [] and gone['nat'] is None


def test_pod_node_services_join_the_network_of_the_other():
    result = plan(topo(nodes=[{'name': 'a'}, {'name': 'b'}, {'name': 'r1'}, {'name': 'r2'},
                              {'name': 'side', 'network_mode': 'container:a',
                               'services': [{'name': 'probe', 'command': ['sleep', 'infinity']}]}]))
    svc = result['services'][0]
    assert svc['namespaces'] == {'net': 'a'} and svc['hostname'] == 'side' and 'node' not in svc
    assert 'side' not in [e['name'] for e in result['namespaces']]
    row = [r for r in result['summary'] if r['node'] == 'side'][0]
    assert row['shares_network_of'] == 'a' and row['addresses'] == ['10.235.0.2', 'fd42:235::2']


def test_nat_ruleset_gateway_and_default_routes():
    result = plan(topo(nat={'bridge': 'lan', 'ports': [{'host_port': 8080, 'node': 'a', 'port': 80}]}))
    nat = result['nat']
    assert nat['table'] == 'nsforge_lab1' and nat['host_interface'] == 'nsf-lab1'
    assert nat['host_addresses'] == ['10.235.0.1/24', 'fd42:235::1/64']
    assert 'tcp dport 8080 dnat ip to 10.235.0.2:80' in nat['ruleset']
    assert 'ip saddr 10.235.0.0/24 oifname != "nsf-lab1" masquerade' in nat['ruleset']
    assert nat['ruleset'].startswith('table inet nsforge_lab1\ndelete table inet nsforge_lab1\n')
    lan = entry(result, 'lan')['links']
    assert lan[1]['peer'] == {'name': 'nsf-lab1', 'addresses': ['10.235.0.1/24', 'fd42:235::1/64']}
    assert {'dst': 'default', 'gateway': '10.235.0.1'} in entry(result, 'a')['routes']
    assert {'dst': 'default', 'gateway': 'fd42:235::1'} in entry(result, 'a')['routes']
    assert entry(result, 'r1')['routes'] == []
    # removing nat later removes the table the record names
    later = plan(topo(), result['record'])
    assert later['nat'] is None and later['nat_remove'] == {'table': 'nsforge_lab1', 'host_interface': 'nsf-lab1'}


def test_own_default_route_wins_over_nat():
    nodes = [{'name': 'a', 'routes': [{'dst': 'default', 'gateway': '10.235.0.9'}]}, {'name': 'b'}, {'name': 'r1'},
             {'name': 'r2'}]
    result = plan(topo(nodes=nodes, nat={'bridge': 'lan'}))
    routes = entry(result, 'a')['routes']
    assert [r for r in routes if ':' not in r['gateway']] == [{'dst': 'default', 'gateway': '10.235.0.9'}]


def test_long_names_get_short_interface_names():
    result = plan(topo(name='a-rather-long-lab-name', nodes=[{'name': 'node-with-long-name'}],
                       links=[['node-with-long-name:eth0', 'lan']], nat={'bridge': 'lan'}))
    port = link(result, 'node-with-long-name', 'eth0')['peer']['name']
    assert len(port) <= 15 and port.startswith('p')
    assert len(result['nat']['host_interface']) <= 15


def test_dot_names_interfaces_and_addresses():
    source = plan(topo())['dot']
    assert source.startswith('graph "lab1" {')
    assert '<TD PORT="i0" ALIGN="LEFT">eth1  10.235.1.1/30  fd42:235:0:1::1/64</TD>' in source
    assert '"r1":i0 -- "r2":i0;' in source
    assert '<B>lan</B>' in source and 'bridge 10.235.0.0/24 fd42:235::/64' in source


def test_plan_does_not_modify_its_input():
    original = topo(nat={'bridge': 'lan'})
    kept = copy.deepcopy(original)
    plan(original)
    assert original == kept


def test_node_of_another_lab_is_refused():
    with pytest.raises(TopologyError, match=r'nodes\[2\] \(r1\): the node belongs to lab other; remove it from that lab first'):
        plan(topo(), None, {'other': ['x', 'r1'], 'lab1': ['a']})
    with pytest.raises(TopologyError, match=r'bridges\[0\] \(lan\): the node belongs to lab other'):
        plan(topo(), None, {'other': ['lan']})
    assert plan(topo(), None, {'lab1': ['a', 'r1'], 'other': ['x']})['namespaces']


# ---- labs that span hosts


def xtopo(**kw):
    base = {
        'name': 'x',
        'addressing': {'ipv4': '10.237.0.0/16'},
        'hosts': {'h1': {'underlay': '10.236.0.11'}},
        'bridges': [{'name': 'lan', 'host': 'h3'}],
        'nodes': [{'name': 'a', 'host': 'h1'}, {'name': 'c', 'host': 'h3'}, {'name': 'd', 'host': 'h3'},
                  {'name': 'e', 'host': 'h1'}],
        'links': [['a:eth1', 'c:eth1'], ['a:eth2', 'lan'], ['d:eth0', 'lan'], ['a:eth3', 'e:eth0']],
    }
    base.update(kw)
    return base


UNDERLAYS = {'h3': '10.236.0.13', 'h2': '10.236.0.12'}


def xplan(host, topology=None, **kw):
    return plan(topology or xtopo(), host=host, underlays=UNDERLAYS, **kw)


def test_each_host_plans_its_own_nodes_and_tunnel_ends():
    h1, h3 = xplan('h1'), xplan('h3')
    assert [e['name'] for e in h1['namespaces']] == ['a', 'e']
    assert [e['name'] for e in h3['namespaces']] == ['lan', 'c', 'd']
    a1, c1 = link(h1, 'a', 'eth1'), link(h3, 'c', 'eth1')
    for end, local, remote in ((a1, '10.236.0.11', '10.236.0.13'), (c1, '10.236.0.13', '10.236.0.11')):
        assert (end['type'], end['underlay'], end['dstport'], end['local'], end['remote'], end['mtu']) == \
            ('vxlan', 'host', 4789, local, remote, 1450)
    assert a1['vni'] == c1['vni'] and 1 << 20 <= a1['vni'] < 1 << 24
    assert a1['addresses'] == ['10.237.1.1/30'] and c1['addresses'] == ['10.237.1.2/30']
    # the bridge's port on h3 is the tunnel end, in the bridge; its MTU is the tunnel's, and so is the bridge's
    port = link(h3, 'lan', 'a-eth2')
    assert (port['type'], port['master'], port['remote'], port['addresses']) == ('vxlan', 'br0', '10.236.0.11', [])
    assert link(h3, 'lan', 'br0')['mtu'] == 1450
    assert link(h3, 'd', 'eth0')['mtu'] == 1450 and link(h3, 'd', 'eth0')['peer']['mtu'] == 1450
    # a link on one host stays a veth pair
    assert link(h1, 'a', 'eth3')['type'] == 'veth'
    assert h1['record']['nodes'] == ['a', 'e'] and h3['record']['nodes'] == ['lan', 'c', 'd']
    assert [t['vni'] for t in h1['record']['tunnels']] == [t['vni'] for t in h3['record']['tunnels']]
    assert [s['node'] for s in h1['summary']] == ['a', 'e']
    assert 'style=dashed' in h1['dot'] and 'on h3' in h1['dot']


def test_same_addresses_on_every_host_and_without_host():
    plans = [xplan(h) for h in ('h1', 'h2', 'h3')] + [plan(xtopo())]
    assert len(set(json.dumps(p['record']['subnets'], sort_keys=True) for p in plans)) == 1
    assert plans[1]['namespaces'] == [] and plans[1]['record']['nodes'] == []
    # without a host every node is planned here, with veths
    assert link(plans[3], 'a', 'eth1')['type'] == 'veth'


def test_vni_is_stable_and_does_not_depend_on_endpoint_order_or_hosts():
    one = link(xplan('h1'), 'a', 'eth1')['vni']
    swapped = xtopo(links=[['c:eth1', 'a:eth1'], ['a:eth2', 'lan'], ['d:eth0', 'lan'], ['a:eth3', 'e:eth0']])
    assert link(xplan('h1', swapped), 'a', 'eth1')['vni'] == one
    moved = xtopo(nodes=[{'name': 'a', 'host': 'h1'}, {'name': 'c', 'host': 'h2'}, {'name': 'd', 'host': 'h3'},
                         {'name': 'e', 'host': 'h1'}])
    end = link(xplan('h1', moved), 'a', 'eth1')
    assert (end['vni'], end['remote']) == (one, '10.236.0.12')
    assert link(xplan('h1', xtopo(name='y')), 'a', 'eth1')['vni'] != one


def test_moving_a_node_removes_it_from_its_old_host_only():
    before = xplan('h3')
    moved = xtopo(nodes=[{'name': 'a', 'host': 'h1'}, {'name': 'c', 'host': 'h2'}, {'name': 'd', 'host': 'h3'},
                         {'name': 'e', 'host': 'h1'}])
    h3 = xplan('h3', moved, previous=before['record'])
    assert h3['removed']['nodes'] == ['c']
    assert {'name': 'c', 'state': 'absent'} in h3['namespaces']
    assert link(h3, 'lan', 'a-eth2') == link(before, 'lan', 'a-eth2')
    h2 = xplan('h2', moved, shared=[before['record']])
    assert [e['name'] for e in h2['namespaces']] == ['c'] and h2['removed']['nodes'] == []


def test_addresses_stay_sticky_from_the_records_of_other_hosts():
    links = [['a:eth3', 'e:eth0'], ['a:eth1', 'c:eth1'], ['a:eth2', 'lan'], ['d:eth0', 'lan']]
    first = xplan('h3', xtopo(links=links))
    assert link(first, 'c', 'eth1')['addresses'] == ['10.237.1.6/30']
    # a--e leaves and c moves to h2, which has no record of the lab: fresh, a--c would get 10.237.1.0/30
    moved = xtopo(nodes=[{'name': 'a', 'host': 'h1'}, {'name': 'c', 'host': 'h2'}, {'name': 'd', 'host': 'h3'},
                         {'name': 'e', 'host': 'h1'}], links=links[1:])
    assert link(xplan('h2', moved), 'c', 'eth1')['addresses'] == ['10.237.1.2/30']
    assert link(xplan('h2', moved, shared=[first['record']]), 'c', 'eth1')['addresses'] == ['10.237.1.6/30']
    # a lab without hosts ignores the other hosts' records
    alone = plan(xtopo(nodes=[{'name': n} for n in 'acde'], bridges=['lan'], links=links[1:]),
                 shared=[first['record']])
    assert link(alone, 'a', 'eth1')['addresses'] == ['10.237.1.1/30']


@pytest.mark.parametrize('change, match', [
    ({'nodes': [{'name': 'a', 'host': 'h1'}, {'name': 'c'}, {'name': 'd', 'host': 'h3'}, {'name': 'e', 'host': 'h1'}]},
     r"links\[0\] \(a:eth1 -- c:eth1\): c has no host, so it is on every host, but a is on host h1 only"),
    ({'nodes': [{'name': 'a', 'host': 'h9'}, {'name': 'c', 'host': 'h3'}, {'name': 'd', 'host': 'h3'},
                {'name': 'e', 'host': 'h9'}]},
     r"nodes\[0\] \(a\)\.host: host h9 has no underlay address for the tunnel of a:eth1 -- c:eth1"),
    ({'hosts': {'h1': {'underlay': 'h1.example'}}}, r"hosts\.h1\.underlay: expected the IP address"),
    ({'hosts': {'h1': '10.236.0.11'}}, r"hosts\.h1: expected a mapping with underlay"),
    ({'hosts': {'h1': {'underlay': '10.236.0.11'}, 'unused': {'underlay': '10.236.0.300'}}},
     r"hosts\.unused\.underlay: expected the IP address of the host.*'10\.236\.0\.300'"),
    ({'hosts': {'h1': {'underlay': 'fd00:236::11'}}}, r'mix IPv4 and IPv6'),
    ({'nodes': [{'name': 'a', 'host': 7}]}, r'nodes\[0\] \(a\)\.host: expected the inventory name of a host'),
    ({'vxlan': {'dstport': 0}}, r'vxlan\.dstport: expected an integer from 1 to 65535'),
    ({'vxlan': {'vni_min': 9, 'vni_max': 5}}, r'vxlan\.vni_max: vni_max 5 is below vni_min 9'),
    ({'vxlan': {'mtu': 9000}}, r'vxlan: unknown setting\(s\) mtu'),
    ({'vxlan': {'vni_min': 7, 'vni_max': 7}}, r"links\[1\] \(a:eth2 -- lan\): VNI 7 is also the VNI of links\[0\]"),
    ({'links': [{'endpoints': ['a:eth3', 'e:eth0'], 'vni': 5}]}, r'vni is for a link between two hosts; both ends are on h1'),
    ({'links': [{'endpoints': ['a:eth1', 'c:eth1'], 'vni': 0}]}, r'vni must be an integer from 1 to'),
    ({'nodes': [{'name': 'a', 'host': 'h1'}, {'name': 'p', 'host': 'h3', 'network_mode': 'container:a'}],
      'links': [], 'bridges': []}, r'nodes\[1\] \(p\)\.host: the node shares the network of a, which is on host h1, not h3'),
])
def test_bad_cross_host_topologies_name_the_culprit(change, match):
    with pytest.raises(TopologyError, match=match):
        xplan('h1', xtopo(**change))


def test_a_tunnel_clashing_with_another_lab_on_the_host_is_refused():
    mine = xplan('h1')
    vni = link(mine, 'a', 'eth1')['vni']
    other = {'name': 'z', 'nodes': ['zz'], 'tunnels': [{'link': 'zz:eth0 -- yy:eth0', 'vni': vni, 'dstport': 4789}]}
    with pytest.raises(TopologyError, match=r'VNI %d is used on this host by link zz:eth0 -- yy:eth0 of lab z' % vni):
        xplan('h1', others={'z': other})
    # another port, or another host, is no clash
    xplan('h1', others={'z': dict(other, tunnels=[dict(other['tunnels'][0], dstport=8472)])})
    xplan('h1', others={'z': ['zz']})


def test_explicit_vni_dstport_and_underlay_mtu():
    t = xtopo(vxlan={'dstport': 8472, 'underlay_mtu': 9000},
              links=[{'endpoints': ['a:eth1', 'c:eth1'], 'vni': 77}, ['a:eth2', 'lan'], ['d:eth0', 'lan']])
    end = link(xplan('h1', t), 'a', 'eth1')
    assert (end['vni'], end['dstport'], end['mtu']) == (77, 8472, 8950)
    v6 = xtopo(hosts={'h1': {'underlay': 'fd42:236::11'}, 'h3': {'underlay': 'fd42:236::13'}})
    assert link(xplan('h1', v6), 'a', 'eth1')['mtu'] == 1430


# ---- messages in the topology's terms


def test_paths_follow_the_form_of_the_topology():
    fails(r"nodes\[1\] \(b\)\.links\[0\]: value of type must be one of: .*got: vethh",
          nodes=[{'name': 'a'}, {'name': 'b', 'links': [{'name': 'd0', 'type': 'vethh'}]}], links=[])
    with pytest.raises(TopologyError, match=r"^nodes\.b: argument 'sysctl' is of type str"):
        plan({'name': 'm', 'nodes': {'a': {}, 'b': {'sysctl': 'not-a-mapping'}}, 'links': []})
    fails(r"nodes\[0\] \(a\)\.services\[0\]: unknown nsproc option\(s\) colour",
          nodes=[{'name': 'a', 'services': [{'name': 's', 'command': ['x'], 'colour': 1}]}], links=[])
    fails(r"nodes\[0\] \(a\)\.services\[0\]\.limits: argument 'pids' is of type",
          nodes=[{'name': 'a', 'services': [{'name': 's', 'command': ['x'], 'limits': {'pids': 'many'}}]}], links=[])
    fails(r"nodes\[1\] \(b\)\.mounts\[1\]: value of type must be one of",
          nodes=[{'name': 'a'}, {'name': 'b', 'mounts': [{'dst': '/x', 'type': 'tmpfs'}, {'dst': '/y', 'type': 'nfs'}]}],
          links=[])
    fails(r"nodes\[0\] \(a\)\.user: argument 'map_root_user' is of type",
          nodes=[{'name': 'a', 'user': {'map_root_user': 'perhaps'}}], links=[])


def test_where_names_the_topology_path_of_a_generated_entry():
    result = plan(topo(nodes=[{'name': 'a', 'links': [{'name': 'd0', 'type': 'dummy'}],
                               'services': [{'name': 'sa', 'command': ['x']}]},
                              {'name': 'b'}, {'name': 'r1'},
                              {'name': 'r2', 'mounts': [{'dst': '/m', 'type': 'tmpfs'}], 'user': {'map_root_user': True}}]))
    args = {'namespaces': result['namespaces']}
    index = [e['name'] for e in args['namespaces']].index('a')
    # the node's own link keeps its options' names; a topology link is named, with the generated path after it
    assert where('namespaces[%d].links[0].mtu: bad' % index, result['origins'], 'nsforge.linux.netns', args) == \
        'nodes[0] (a).links[0].mtu: bad'
    assert where('namespaces[%d].links[1].peer.master: full' % index, result['origins'], 'nsforge.linux.netns', args) \
        == 'links[0] (a:eth0 -- lan) (namespaces[%d].links[1].peer.master of the generated netns task): full' % index
    r2 = [e['name'] for e in args['namespaces']].index('r2')
    assert where('namespaces[%d] (r2): could not' % r2, result['origins'], 'netns', args) == 'nodes[3] (r2): could not'
    assert where('namespaces[0] (lan): x', result['origins'], 'netns', args) == 'bridges[0] (lan): x'
    services = {'services': [dict(s) for s in result['services']]}
    assert where('services[0].command: invalid value (service sa)', result['origins'], 'nsforge.linux.nsproc',
                 services) == 'nodes[0] (a).services[0].command: invalid value (service sa)'
    assert where('namespaces[0].mounts[0].dst: relative', result['origins'], 'nsforge.linux.nsmount',
                 {'namespaces': result['mounts']}) == 'nodes[3] (r2).mounts[0].dst: relative'
    assert where('namespaces[0].map_root_user: no range', result['origins'], 'nsforge.linux.uidmap',
                 {'namespaces': result['users']}) == 'nodes[3] (r2).user.map_root_user: no range'
    # a message of another module, or an index beyond the entries given, is left as it is
    assert where('namespaces[0]: x', result['origins'], 'ansible.builtin.copy', args) == 'namespaces[0]: x'
    assert where('namespaces[99]: x', result['origins'], 'netns', args) == 'namespaces[99]: x'


# ---- the report of a run


def test_report_counts_what_changed_by_part():
    result = plan(topo(nodes=[{'name': 'a', 'services': [{'name': 'sa', 'command': ['x']}]}, {'name': 'b'},
                              {'name': 'r1'}, {'name': 'r2'}]))
    first = report(result, {'network': {'changed': True, 'changes': [
        'node lan: create bridge br0', 'node r1: create veth eth1 (peer eth1 in node r2)',
        'node a: set hostname a (was None)']},
        'services': {'changed': True, 'services': [{'name': 'sa', 'changed': True}]}})
    assert first['changed'] is True
    assert first['nodes'] == {'total': 4, 'changed': 2}
    assert first['bridges'] == {'total': 1, 'changed': 1}
    assert first['links'] == {'total': 3, 'changed': 1}
    assert first['services'] == {'total': 1, 'changed': 1}
    assert first['line'] == ('lab lab1: 4 nodes, 1 bridge, 3 links, 1 service; '
                             'changed: 2 nodes, 1 bridge, 1 link, 1 service')
    again = report(result, {'network': {'changed': False, 'changes': []}, 'services': {'skipped': True},
                            'nat': [{}, {'changed': False}]})
    assert again['changed'] is False
    assert again['line'] == 'lab lab1: 4 nodes, 1 bridge, 3 links, 1 service; no change'
    # an interface whose name is a prefix of another's is not taken for it
    assert report(result, {'network': {'changed': True, 'changes': ['node r1: set eth10 mtu 1400']}})['links'] == \
        {'total': 3, 'changed': 0}
    # a link that left the topology: its interface deleted from one end
    cut = report(result, {'network': {'changed': True, 'changes': ['node r1: delete undeclared interface eth9']}})
    assert cut['line'].endswith('changed: 1 node, 1 link removed')
    gone = plan(topo(state='absent'), result['record'])
    assert report(gone, {'removals': [{'changed': True}]})['line'] == 'lab lab1 removed: 5 namespaces, 1 service'
    assert report(gone, {'removals': [{'changed': False}]})['line'] == 'lab lab1: nothing to remove'


def test_a_node_private_folders_go_to_nsmount():
    nodes = [{'name': 'a', 'private': ['/run', '/tmp']}, {'name': 'b', 'private': ['/tmp'], 'mounts': [{'dst': '/d'}]},
             {'name': 'r1'}, {'name': 'r2'}]
    assert plan(topo(nodes=nodes))['mounts'] == [{'namespace': 'a', 'private': ['/run', '/tmp']},
                                                 {'namespace': 'b', 'private': ['/tmp'], 'mounts': [{'dst': '/d'}]}]
    with pytest.raises(TopologyError, match=r'nodes\[0\] \(a\)\.private'):
        plan(topo(nodes=[dict(nodes[0], private='/run')] + nodes[1:]))


# ---------------------------------------------------------------------------
# files of nodes and services


def ftopo(tmp_path, r1_files=None, svc_files=None, **kw):
    (tmp_path / 'bird.conf.j2').write_text('router id {{ rid }};\n')
    (tmp_path / 'motd').write_text('hello\n')
    svc = {'name': 'r1-bird', 'command': ['sleep', 'infinity']}
    if svc_files is not None:
        svc['files'] = svc_files
    nodes = [{'name': 'r1', 'services': [svc, {'name': 'r1-web', 'command': 'x'}],
              'files': r1_files if r1_files is not None else [
                  {'dst': '/etc/bird/bird.conf', 'template': 'bird.conf.j2', 'restart': ['r1-bird'], 'mode': '0640'},
                  {'dst': '/etc/motd', 'src': str(tmp_path / 'motd'), 'owner': 'root', 'group': 0},
                  {'dst': '//etc/./hostname.d/x', 'content': ''}]},
             {'name': 'r2', 'mounts': [{'dst': '/data', 'type': 'tmpfs'}],
              'files': [{'dst': '/etc/motd', 'content': 'r2\n'}]}]
    return topo(nodes=nodes, links=[['r1:eth1', 'r2:eth1']], bridges=[], **kw)


def fplan(tmp_path, *args, **kw):
    return plan(ftopo(tmp_path, *args), files_dir='/srv/labs', base=str(tmp_path), **kw)


def test_node_files_are_written_under_the_lab_and_bound_in_the_node(tmp_path):
    result = fplan(tmp_path)
    files = result['files']
    assert files['root'] == '/srv/labs/lab1'
    assert [(f['node'], f['dst'], f['path']) for f in files['write']] == [
        ('r1', '/etc/bird/bird.conf', '/srv/labs/lab1/nodes/r1/etc/bird/bird.conf'),
        ('r1', '/etc/motd', '/srv/labs/lab1/nodes/r1/etc/motd'),
        ('r1', '/etc/hostname.d/x', '/srv/labs/lab1/nodes/r1/etc/hostname.d/x'),
        ('r2', '/etc/motd', '/srv/labs/lab1/nodes/r2/etc/motd')]
    bird, motd, empty, r2 = files['write']
    # a relative template is taken from base, on the controller; owner and group are strings for the copy task
    assert bird['template'] == str(tmp_path / 'bird.conf.j2') and bird['mode'] == '0640'
    assert bird['restart'] == ['r1-bird'] and bird['service'] is None
    assert motd['src'] == str(tmp_path / 'motd') and motd['owner'] == 'root' and motd['group'] == '0'
    assert motd['restart'] == [] and 'mode' not in motd
    assert empty['content'] == '' and r2['content'] == 'r2\n'
    assert files['dirs'] == ['/srv/labs/lab1/nodes/r1/etc', '/srv/labs/lab1/nodes/r1/etc/bird',
                             '/srv/labs/lab1/nodes/r1/etc/hostname.d', '/srv/labs/lab1/nodes/r2/etc']
    assert files['remove'] == []
    # each node's mount namespace binds its own copy at the same dst; declared mounts come first
    assert result['mounts'] == [
        {'namespace': 'r1', 'mounts': [
            {'dst': '/etc/bird/bird.conf', 'src': '/srv/labs/lab1/nodes/r1/etc/bird/bird.conf', 'type': 'bind'},
            {'dst': '/etc/motd', 'src': '/srv/labs/lab1/nodes/r1/etc/motd', 'type': 'bind'},
            {'dst': '/etc/hostname.d/x', 'src': '/srv/labs/lab1/nodes/r1/etc/hostname.d/x', 'type': 'bind'}]},
        {'namespace': 'r2', 'mounts': [
            {'dst': '/data', 'type': 'tmpfs'},
            {'dst': '/etc/motd', 'src': '/srv/labs/lab1/nodes/r2/etc/motd', 'type': 'bind'}]}]
    assert result['record']['files'] == [f['path'] for f in files['write']]
    assert result['record']['mounts'] == ['r1', 'r2']


def test_service_files_are_bound_in_its_view_and_restart_it(tmp_path):
    result = fplan(tmp_path, [], [{'dst': '/etc/bird.conf', 'content': 'x'}])
    svc = [s for s in result['services'] if s['name'] == 'r1-bird'][0]
    assert 'files' not in svc
    assert svc['mounts'] == [{'dst': '/etc/bird.conf', 'src': '/srv/labs/lab1/services/r1-bird/etc/bird.conf',
                              'type': 'bind'}]
    assert [(f['service'], f['restart']) for f in result['files']['write'] if f['service']] == [
        ('r1-bird', ['r1-bird'])]
    # r1 has no files left and no mounts: no mount namespace of its own
    assert [m['namespace'] for m in result['mounts']] == ['r2']


def test_files_that_leave_are_removed_and_absent_writes_none(tmp_path):
    first = fplan(tmp_path)
    second = fplan(tmp_path, [{'dst': '/etc/motd', 'content': 'new'}], previous=first['record'])
    assert second['files']['remove'] == ['/srv/labs/lab1/nodes/r1/etc/bird/bird.conf',
                                         '/srv/labs/lab1/nodes/r1/etc/hostname.d/x']
    assert second['pending']['files'] == first['record']['files']
    gone = plan(dict(ftopo(tmp_path), state='absent'), first['record'], files_dir='/srv/labs', base=str(tmp_path))
    assert gone['files'] == {'root': '/srv/labs/lab1', 'write': [], 'dirs': [], 'remove': []}
    # a lab without files keeps the record it had
    assert 'files' not in plan(topo())['record'] and 'files' not in plan(topo())['pending']
    assert plan(topo())['files']['root'] == '/var/lib/nsforge/labs/lab1'


@pytest.mark.parametrize('r1_files,svc_files,match', [
    ([{'dst': 'etc/x', 'content': 'a'}], None, r'nodes\[0\] \(r1\)\.files\[0\]\.dst: expected an absolute path'),
    ([{'dst': '/etc/../x', 'content': 'a'}], None, r'nodes\[0\] \(r1\)\.files\[0\]\.dst: .* must not contain \.\.'),
    ([{'dst': '/', 'content': 'a'}], None, r'nodes\[0\] \(r1\)\.files\[0\]\.dst: the root of the node'),
    ([{'dst': '/x', 'content': 'a', 'src': 'motd'}], None,
     r'nodes\[0\] \(r1\)\.files\[0\]: give exactly one of content, template or src \(got content and src\)'),
    ([{'dst': '/x'}], None, r'nodes\[0\] \(r1\)\.files\[0\]: give exactly one of content, template or src$'),
    ([{'dst': '/x', 'template': 'nope.j2'}], None,
     r'nodes\[0\] \(r1\)\.files\[0\]\.template: no such file on the controller: .*/nope\.j2 \(a relative path is taken from'),
    ([{'dst': '/x', 'src': '/nonexistent/nsforge'}], None,
     r'nodes\[0\] \(r1\)\.files\[0\]\.src: no such file on the controller: /nonexistent/nsforge$'),
    ([{'dst': '/x', 'content': 'a'}, {'dst': '/x/', 'content': 'b'}], None,
     r'nodes\[0\] \(r1\)\.files\[1\]\.dst: /x is already declared by nodes\[0\] \(r1\)\.files\[0\]'),
    ([{'dst': '/x', 'content': 'a', 'mode': 644}], None,
     r"nodes\[0\] \(r1\)\.files\[0\]\.mode: expected an octal mode .*'0644'"),
    ([{'dst': '/x', 'content': 5}], None, r'nodes\[0\] \(r1\)\.files\[0\]\.content: expected a string, got 5'),
    ([{'dst': '/x', 'content': 'a', 'restart': ['r2-x']}], None,
     r"nodes\[0\] \(r1\)\.files\[0\]\.restart\[0\]: 'r2-x' is not a service of the node \(its services: r1-bird, r1-web\)"),
    ([{'dst': '/x', 'content': 'a', 'notify': ['r1-web']}], None, r'nodes\[0\] \(r1\)\.files\[0\]: unknown key\(s\) notify'),
    ('/x', None, r'nodes\[0\] \(r1\)\.files: expected a list'),
    ([], [{'dst': '/y', 'content': 'a', 'restart': ['r1-web']}],
     r'nodes\[0\] \(r1\)\.services\[0\]\.files\[0\]: unknown key\(s\) restart'),
    ([], [{'dst': '/y', 'content': 'a'}, {'dst': '/y', 'src': 'motd'}],
     r'nodes\[0\] \(r1\)\.services\[0\]\.files\[1\]\.dst: /y is already declared by nodes\[0\] \(r1\)\.services\[0\]\.files\[0\]'),
])
def test_bad_files_name_their_place_in_the_topology(tmp_path, r1_files, svc_files, match):
    with pytest.raises(TopologyError, match=match):
        fplan(tmp_path, r1_files, svc_files)


def test_a_file_over_a_declared_mount_and_on_a_pod_node_are_refused(tmp_path):
    topology = ftopo(tmp_path)
    topology['nodes'][1]['files'] = [{'dst': '/data/', 'content': 'x'}]
    with pytest.raises(TopologyError,
                       match=r'nodes\[1\] \(r2\)\.files\[0\]\.dst: /data is already declared by nodes\[1\] \(r2\)\.mounts\[0\]'):
        plan(topology, files_dir='/srv/labs', base=str(tmp_path))
    topology = ftopo(tmp_path)
    topology['nodes'].append({'name': 'side', 'network_mode': 'container:r1', 'files': [{'dst': '/x', 'content': ''}]})
    with pytest.raises(TopologyError, match=r'nodes\[2\] \(side\): files cannot be set on a node that shares the network'):
        plan(topology, files_dir='/srv/labs', base=str(tmp_path))
    with pytest.raises(TopologyError, match=r'files_dir: expected an absolute path'):
        plan(topology, files_dir='labs')


def test_ready_restarts_the_services_of_changed_files_and_leaves_out_missing_binds(tmp_path):
    result = fplan(tmp_path, None, [{'dst': '/etc/bird.conf', 'content': 'x'}])
    services = [dict((k, v) for k, v in s.items() if k != 'lab_node') for s in result['services']]
    services.append({'name': 'r1-off', 'state': 'stopped'})
    same = ready(result, services)
    assert same == {'mounts': result['mounts'], 'services': services}
    missing = ['/srv/labs/lab1/nodes/r1/etc/motd', '/srv/labs/lab1/services/r1-bird/etc/bird.conf']
    out = ready(result, services, restart=['r1-bird', 'r1-off'], missing=missing)
    assert [(s['name'], s.get('state')) for s in out['services']] == [
        ('r1-bird', 'restarted'), ('r1-web', None), ('r1-off', 'stopped')]
    assert out['services'][0]['mounts'] == []
    assert [m['dst'] for m in out['mounts'][0]['mounts']] == ['/etc/bird/bird.conf', '/etc/hostname.d/x']
    assert out['mounts'][1] == result['mounts'][1]
    # the plan itself is left as it was
    assert [m['dst'] for m in result['mounts'][0]['mounts']] == ['/etc/bird/bird.conf', '/etc/motd',
                                                                 '/etc/hostname.d/x']
