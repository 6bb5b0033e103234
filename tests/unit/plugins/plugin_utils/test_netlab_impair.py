# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of impairments and timelines in a netlab topology: where an impairment lands in the netns declaration
(per end, per link, the lab's default, bridge ports, tunnels), its errors in the topology's terms, the timeline of
the netns task (its links, its removal), the report's count and the picture's words."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.nsforge.linux.plugins.plugin_utils.netlab import TopologyError, plan, report, where

HERE = os.path.dirname(os.path.abspath(__file__))
WAN_LAB = os.path.join(HERE, '..', '..', '..', '..', 'playbooks', 'topologies', 'wan.yml')
WAN = {'delay': '20ms', 'loss': '1%', 'bandwidth': '10mbit'}


def topo(**kw):
    base = {
        'name': 'lab1',
        'addressing': {'ipv4': '10.235.0.0/16'},
        'bridges': [{'name': 'lan'}],
        'nodes': [{'name': 'a'}, {'name': 'b'}, {'name': 'r1'}, {'name': 'r2'}],
        'links': [['a:eth0', 'lan'], ['b:eth0', 'lan'], ['r1:eth1', 'r2:eth1']],
    }
    base.update(kw)
    return base


def decl(result, node, ifname):
    entry = [e for e in result['namespaces'] if e['name'] == node][0]
    return [lk for lk in entry['links'] if lk['name'] == ifname][0]


def sends(result):
    """What each interface of the plan sends with: {(node, ifname): impairment}, from the entries and their peers."""
    out = {}
    for entry in result['namespaces']:
        for lk in entry.get('links') or []:
            out[(entry['name'], lk['name'])] = lk.get('impairment')
            if lk.get('peer', {}).get('netns'):
                out[(lk['peer']['netns'], lk['peer']['name'])] = lk['peer'].get('impairment')
    return out


def fails(match, **kw):
    with pytest.raises(TopologyError, match=match):
        plan(topo(**kw))


# ---- where an impairment lands


def test_a_link_impairs_both_of_its_ends():
    result = plan(topo(links=[['a:eth0', 'lan'], ['b:eth0', 'lan'],
                              {'endpoints': ['r1:eth1', 'r2:eth1'], 'impairment': WAN}]))
    r1 = decl(result, 'r1', 'eth1')
    assert r1['impairment'] == WAN and r1['peer']['impairment'] == WAN
    assert r1['peer']['netns'] == 'r2'
    # nothing else is impaired, and a declaration without impairment has no key for it
    assert [k for k, v in sends(result).items() if v] == [('r1', 'eth1'), ('r2', 'eth1')]
    assert 'impairment' not in decl(result, 'a', 'eth0') and 'impairment' not in decl(result, 'a', 'eth0')['peer']


def test_an_endpoint_replaces_the_link_impairment_for_what_it_sends():
    links = [['a:eth0', 'lan'], ['b:eth0', 'lan'],
             {'endpoints': [{'node': 'r1', 'interface': 'eth1', 'impairment': {'delay': '5ms'}}, 'r2:eth1'],
              'impairment': WAN}]
    got = sends(plan(topo(links=links)))
    assert got[('r1', 'eth1')] == {'delay': '5ms'}        # replaced, not merged with the link's
    assert got[('r2', 'eth1')] == WAN
    # {} on an end: that end sends unimpaired
    links[2]['endpoints'][0]['impairment'] = {}
    got = sends(plan(topo(links=links)))
    assert got[('r1', 'eth1')] is None and got[('r2', 'eth1')] == WAN
    # an end's impairment on a link that has none, in a link written as a plain pair
    got = sends(plan(topo(links=[['a:eth0', 'lan'], ['b:eth0', 'lan'],
                                 ['r1:eth1', {'node': 'r2', 'interface': 'eth1', 'impairment': {'loss': '2%'}}]])))
    assert got[('r1', 'eth1')] is None and got[('r2', 'eth1')] == {'loss': '2%'}


def test_the_lab_default_impairs_every_end_that_says_nothing():
    links = [['a:eth0', 'lan'], {'endpoints': ['b:eth0', 'lan'], 'impairment': {'delay': '3ms'}},
             {'endpoints': [{'node': 'r1', 'interface': 'eth1', 'impairment': {}}, 'r2:eth1']}]
    got = sends(plan(topo(links=links, defaults={'impairment': {'delay': '1ms'}})))
    assert got == {('lan', 'br0'): None,
                   ('a', 'eth0'): {'delay': '1ms'}, ('lan', 'a-eth0'): {'delay': '1ms'},
                   ('b', 'eth0'): {'delay': '3ms'}, ('lan', 'b-eth0'): {'delay': '3ms'},
                   ('r1', 'eth1'): None, ('r2', 'eth1'): {'delay': '1ms'}}


def test_a_bridge_port_sends_to_the_node():
    # the bridge's end of the link is its port: an impairment there is what the bridge sends to the node
    links = [{'endpoints': ['a:eth0', {'node': 'lan', 'impairment': {'loss': '10%'}}], 'impairment': {'delay': '2ms'}},
             {'endpoints': [{'node': 'lan', 'interface': 'pb', 'impairment': {'rate': '1mbit'}}, 'b:eth0']},
             ['r1:eth1', 'r2:eth1']]
    result = plan(topo(links=links))
    a = decl(result, 'a', 'eth0')
    assert a['impairment'] == {'delay': '2ms'}
    assert a['peer'] == {'name': 'a-eth0', 'netns': 'lan', 'master': 'br0', 'addresses': [], 'impairment': {'loss': '10%'}}
    b = decl(result, 'b', 'eth0')
    assert 'impairment' not in b and b['peer']['name'] == 'pb' and b['peer']['impairment'] == {'rate': '1mbit'}


def test_tunnel_ends_take_their_impairment():
    topology = {'name': 'x', 'addressing': {'ipv4': '10.237.0.0/16'},
                'hosts': {'h1': {'underlay': '10.236.0.11'}, 'h3': {'underlay': '10.236.0.13'}},
                'nodes': [{'name': 'a', 'host': 'h1'}, {'name': 'c', 'host': 'h3'}],
                'links': [{'endpoints': ['a:eth1', {'node': 'c', 'interface': 'eth1', 'impairment': {'delay': '9ms'}}],
                           'impairment': {'delay': '1ms'}}]}
    assert decl(plan(topology, host='h1'), 'a', 'eth1')['impairment'] == {'delay': '1ms'}
    here = decl(plan(topology, host='h3'), 'c', 'eth1')
    assert here['type'] == 'vxlan' and here['impairment'] == {'delay': '9ms'}


def test_keys_set_to_nothing_are_left_out():
    # (as an argument spec fills them in)
    got = sends(plan(topo(links=[{'endpoints': ['r1:eth1', 'r2:eth1'],
                                  'impairment': {'delay': '20ms', 'jitter': None, 'gemodel': None}}])))
    assert got[('r1', 'eth1')] == {'delay': '20ms'}


def test_a_lab_without_impairments_plans_as_before():
    result = plan(topo())
    assert all(v is None for v in sends(result).values())
    assert result['timeline'] is None and 'timeline' not in result['record'] and 'timeline' not in result['pending']
    assert 'fontcolor' not in result['dot']


# ---- errors in the topology's terms


@pytest.mark.parametrize('kw, match', [
    ({'links': [['a:eth0', 'lan'], ['b:eth0', 'lan'], {'endpoints': ['r1:eth1', 'r2:eth1'], 'impairment': {'delay': '20'}}]},
     r"^links\[2\] \(r1:eth1 -- r2:eth1\)\.impairment\.delay: invalid value '20': expected a time with its unit"),
    ({'links': [{'endpoints': ['r1:eth1', {'node': 'r2', 'interface': 'eth1', 'impairment': {'loss': '120%'}}]}]},
     r"^links\[0\] \(r1:eth1 -- r2:eth1\)\.endpoints\[1\]\.impairment\.loss: invalid value '120%': a percentage is at most 100%"),
    ({'links': [[{'node': 'r1', 'interface': 'eth1', 'impairment': {'bandwidth': '10mbps'}}, 'r2:eth1']]},
     r"^links\[0\] \(r1:eth1 -- r2:eth1\)\[0\]\.impairment\.bandwidth: invalid value '10mbps': write a rate in bits"),
    ({'links': [{'endpoints': ['a:eth0', 'lan'], 'impairment': {'dealy': '1ms'}}]},
     r"^links\[0\] \(a:eth0 -- lan\)\.impairment\.dealy: invalid value '1ms': unknown impairment; known: delay, "),
    ({'links': [{'endpoints': ['a:eth0', 'lan'], 'impairment': {'jitter': '1ms'}}]},
     r"\.impairment\.jitter: invalid value '1ms': only with delay"),
    ({'links': [{'endpoints': ['a:eth0', 'lan'], 'impairment': '20ms'}]},
     r"^links\[0\] \(a:eth0 -- lan\)\.impairment: invalid value '20ms': expected a mapping of impairments"),
    ({'defaults': {'impairment': {'rate': 'fast'}}}, r"^defaults\.impairment\.rate: invalid value 'fast'"),
    ({'defaults': {'mtu': 1400}}, r'^defaults: unknown setting\(s\) mtu'),
    ({'defaults': ['x']}, r'^defaults: expected a mapping'),
    ({'links': [['a:eth0', {'node': 'lan', 'impairment': {'x': 1}, 'color': 'red'}]]}, r'unknown key\(s\) color'),
])
def test_bad_impairments_are_named_where_the_topology_says_them(kw, match):
    fails(match, **kw)


def test_a_module_failure_about_an_impairment_names_the_topology():
    """A kernel without netem refuses in the netns task: its message names the generated entry, which where() puts
    back in the topology's terms (the link, the endpoint or the default that declared it)."""
    links = [{'endpoints': ['a:eth0', 'lan'], 'impairment': {'delay': '2ms'}},
             ['b:eth0', 'lan'],
             {'endpoints': ['r1:eth1', {'node': 'r2', 'interface': 'eth1', 'impairment': {'loss': '1%'}}]}]
    result = plan(topo(links=links, defaults={'impairment': {'delay': '1ms'}}))
    args = {'namespaces': result['namespaces']}
    names = [e['name'] for e in result['namespaces']]
    a, b, r1 = names.index('a'), names.index('b'), names.index('r1')
    why = ': invalid value: this kernel has no netem qdisc (CONFIG_NET_SCH_NETEM)'
    assert where('namespaces[%d].links[0].impairment.delay%s' % (a, why), result['origins'], 'nsforge.linux.netns', args) \
        == 'links[0] (a:eth0 -- lan).impairment.delay' + why
    assert where('namespaces[%d].links[0].peer.impairment%s' % (a, why), result['origins'], 'netns', args) \
        == 'links[0] (a:eth0 -- lan).impairment' + why
    assert where('namespaces[%d].links[0].impairment%s' % (b, why), result['origins'], 'netns', args) \
        == 'defaults.impairment' + why
    assert where('namespaces[%d].links[0].impairment%s' % (r1, why), result['origins'], 'netns', args) \
        == 'defaults.impairment' + why
    assert where('namespaces[%d].links[0].peer.impairment%s' % (r1, why), result['origins'], 'netns', args) \
        == 'links[2] (r1:eth1 -- r2:eth1).endpoints[1].impairment' + why
    # the rest of the entry is named as before
    assert where('namespaces[%d].links[0].peer.master: x' % r1, result['origins'], 'netns', args) \
        == 'links[2] (r1:eth1 -- r2:eth1) (namespaces[%d].links[0].peer.master of the generated netns task): x' % r1


# ---- the timeline


def ttopo(steps, **kw):
    return topo(timeline={'steps': steps}, **kw)


def test_timeline_steps_name_ends_and_links_as_the_netns_task_does():
    steps = [{'link': 'r1:eth1', 'at': '30s', 'state': 'down', 'hold': '5s'},
             {'link': 'r2:eth1 -- r1:eth1', 'every': '20s', 'for': '10m', 'state': 'down', 'hold': '2s'},
             {'link': ['a:eth0 -- lan', 'lan:b-eth0', 'a:eth0'], 'at': '1m', 'impairment': {'loss': '5%'}},
             {'link': 'r1:eth1--r2:eth1', 'every': '30s', 'for': '5m', 'ramp': {'loss': '20%'}},
             {'link': 'b:eth0 -- lan:b-eth0', 'at': '1s', 'state': 'up', 'impairment': None}]
    result = plan(ttopo(steps))
    assert result['timeline'] == {'name': 'lab1', 'state': 'present', 'steps': [
        {'link': 'r1:eth1', 'at': '30s', 'state': 'down', 'hold': '5s'},
        {'link': ['r1:eth1', 'r2:eth1'], 'every': '20s', 'for': '10m', 'state': 'down', 'hold': '2s'},
        {'link': ['a:eth0', 'lan:a-eth0', 'lan:b-eth0'], 'at': '1m', 'impairment': {'loss': '5%'}},
        {'link': ['r1:eth1', 'r2:eth1'], 'every': '30s', 'for': '5m', 'ramp': {'loss': '20%'}},
        {'link': ['b:eth0', 'lan:b-eth0'], 'at': '1s', 'state': 'up'}]}
    assert result['record']['timeline'] == 'lab1' and result['pending']['timeline'] == 'lab1'
    assert result['origins']['timeline'] == [0, 1, 2, 3, 4]
    # the interfaces of a node's own links can be driven too
    nodes = [{'name': 'a', 'links': [{'name': 'd0', 'type': 'dummy'}]}, {'name': 'b'}, {'name': 'r1'}, {'name': 'r2'}]
    assert plan(ttopo([{'link': 'a:d0', 'state': 'down'}], nodes=nodes))['timeline']['steps'][0]['link'] == 'a:d0'


@pytest.mark.parametrize('step, match', [
    ({'link': 'r9:eth1', 'state': 'down'},
     r"^timeline\.steps\[1\]\.link: invalid value 'r9:eth1': no such end of a link"),
    ({'link': 'r1:eth1 -- a:eth0', 'state': 'down'}, r"^timeline\.steps\[1\]\.link: invalid value 'r1:eth1 -- a:eth0'"),
    ({'link': ['r1:eth1', 7], 'state': 'down'}, r"^timeline\.steps\[1\]\.link: invalid value 7"),
    ({'state': 'down'}, r'^timeline\.steps\[1\]\.link: expected an end of a link'),
    ({'link': 'r1:eth1', 'at': '30', 'state': 'down'}, r"^timeline\.steps\[1\]\.at: invalid value '30': expected a time"),
    ({'link': 'r1:eth1', 'state': 'off'}, r"^timeline\.steps\[1\]\.state: invalid value 'off'"),
    # the rules of the netns module's timeline (timelines.validate and compile_plan), before anything changes
    ({'link': 'r1:eth1'}, r'^timeline\.steps\[1\]: invalid value .*: a step sets one of state, impairment or ramp'),
    ({'link': 'r1:eth1', 'state': 'down', 'impairment': {'loss': '1%'}},
     r'^timeline\.steps\[1\]\.state: .*a step sets either a state or an impairment'),
    ({'link': 'r1:eth1', 'every': '10s', 'state': 'down'}, r'^timeline\.steps\[1\]\.every: .*needs for'),
    ({'link': 'r1:eth1', 'for': '1m', 'state': 'down'}, r'^timeline\.steps\[1\]\.for: .*only with every'),
    ({'link': 'r1:eth1', 'every': '10s', 'for': '1m', 'state': 'down'}, r'^timeline\.steps\[1\]\.every: .*needs hold'),
    ({'link': 'r1:eth1', 'ramp': {'loss': '5%'}}, r'^timeline\.steps\[1\]\.ramp: .*a ramp needs every and for'),
    ({'link': 'r1:eth1', 'every': '10s', 'for': '1m', 'hold': '10s', 'state': 'down'},
     r"^timeline\.steps\[1\]\.hold: invalid value '10s': must be shorter than every \(10s\)"),
    ({'link': 'r1:eth1', 'every': '1ms', 'for': '1h', 'state': 'down', 'hold': '0.5ms'},
     r"^timeline\.steps\[1\]\.every: invalid value '1ms': the timeline would have more than 10000 events"),
    ({'link': 'r1:eth1', 'impairment': {'loss': '5'}}, r"^timeline\.steps\[1\]\.impairment\.loss: invalid value '5'"),
    ({'link': 'r1:eth1', 'every': '10s', 'for': '1m', 'ramp': {'loss': 'lots'}},
     r"^timeline\.steps\[1\]\.ramp\.loss: invalid value 'lots'"),
    ({'link': 'r1:eth1', 'every': '10s', 'for': '1m', 'ramp': {'color': 'red'}},
     r"^timeline\.steps\[1\]\.ramp\.color: invalid value 'red': unknown impairment"),
    ({'link': 'r1:eth1', 'every': '10s', 'for': '1m', 'ramp': {}}, r"^timeline\.steps\[1\]\.ramp: invalid value \{\}"),
    ({'link': 'r1:eth1', 'state': 'down', 'when': 'now'}, r'^timeline\.steps\[1\]: unknown setting\(s\) when'),
    ('r1:eth1', r'^timeline\.steps\[1\]: expected a mapping'),
])
def test_bad_steps_are_named(step, match):
    with pytest.raises(TopologyError, match=match):
        plan(ttopo([{'link': 'r1:eth1', 'state': 'down'}, step]))


@pytest.mark.parametrize('timeline, match', [
    ([{'link': 'r1:eth1'}], r'^timeline: expected a mapping with steps'),
    ({'name': 'x', 'steps': []}, r'^timeline: unknown setting\(s\) name'),
    ({'steps': []}, r'^timeline\.steps: expected a list of steps'),
])
def test_bad_timelines(timeline, match):
    fails(match, timeline=timeline)


def test_a_ramp_is_checked_from_where_it_starts():
    # jitter alone ramps the declared delay's jitter; without a declared delay it has nothing to vary
    links = [['a:eth0', 'lan'], ['b:eth0', 'lan'], {'endpoints': ['r1:eth1', 'r2:eth1'], 'impairment': {'delay': '20ms'}}]
    steps = [{'link': 'r1:eth1', 'every': '10s', 'for': '1m', 'ramp': {'jitter': '5ms'}}]
    assert plan(ttopo(steps, links=links))['timeline']['steps'][0]['ramp'] == {'jitter': '5ms'}
    with pytest.raises(TopologyError, match=r"^timeline\.steps\[0\]\.ramp\.jitter: invalid value '5ms': only with delay"):
        plan(ttopo(steps))


def test_the_timeline_stops_when_it_leaves_the_topology_or_the_lab_goes():
    steps = [{'link': 'r1:eth1', 'at': '1s', 'state': 'down'}]
    first = plan(ttopo(steps))
    again = plan(ttopo(steps), first['record'])
    assert again['timeline'] == first['timeline'] and again['record'] == first['record']
    left = plan(topo(), first['record'])
    assert left['timeline'] == {'name': 'lab1', 'state': 'absent'}
    assert 'timeline' not in left['record'] and left['pending']['timeline'] == 'lab1'
    assert plan(topo(), left['record'])['timeline'] is None
    gone = plan(topo(state='absent'), first['record'])
    assert gone['timeline'] == {'name': 'lab1', 'state': 'absent'}
    assert plan(ttopo(steps, state='absent'))['timeline'] == {'name': 'lab1', 'state': 'absent'}
    assert plan(topo(state='absent'), plan(topo())['record'])['timeline'] is None


def test_each_host_runs_the_steps_of_its_own_interfaces():
    topology = {'name': 'x', 'addressing': {'ipv4': '10.237.0.0/16'},
                'hosts': {'h1': {'underlay': '10.236.0.11'}, 'h3': {'underlay': '10.236.0.13'}},
                'nodes': [{'name': 'a', 'host': 'h1'}, {'name': 'e', 'host': 'h1'}, {'name': 'c', 'host': 'h3'}],
                'links': [['a:eth1', 'c:eth1'], ['a:eth2', 'e:eth0']],
                'timeline': {'steps': [{'link': 'a:eth2', 'at': '1s', 'state': 'down'},
                                       {'link': 'a:eth1 -- c:eth1', 'at': '2s', 'state': 'down'},
                                       {'link': 'c:eth1', 'at': '3s', 'impairment': {'delay': '1ms'}}]}}
    h1 = plan(topology, host='h1')
    assert [s['link'] for s in h1['timeline']['steps']] == ['a:eth2', 'a:eth1']
    h3 = plan(topology, host='h3')
    assert [s['link'] for s in h3['timeline']['steps']] == ['c:eth1', 'c:eth1']
    assert h3['origins']['timeline'] == [1, 2]
    # the module's message about a step of the generated timeline names the topology's step
    assert where('timeline.steps[1].impairment: no netem', h3['origins'], 'nsforge.linux.netns',
                 {'namespaces': h3['namespaces']}) == 'timeline.steps[2].impairment: no netem'
    assert where('timeline.steps[1]: x', h3['origins'], 'nsforge.linux.nsproc', {'services': []}) == 'timeline.steps[1]: x'
    # a host none of whose interfaces a step drives has no timeline
    topology['timeline']['steps'] = topology['timeline']['steps'][:1]
    assert plan(topology, host='h3')['timeline'] is None and 'timeline' not in plan(topology, host='h3')['record']


# ---- the report and the picture


def test_the_report_counts_the_timeline():
    result = plan(ttopo([{'link': 'r1:eth1', 'at': '1s', 'state': 'down'}]))
    first = report(result, {'network': {'changed': True, 'changes': [
        'node r1: create veth eth1 (peer eth1 in node r2)', 'timeline lab1: start (1 step, 2 events)']}})
    assert first['timelines'] == {'total': 1, 'changed': 1}
    assert first['line'] == 'lab lab1: 4 nodes, 1 bridge, 3 links, 1 timeline; changed: 1 node, 1 link, 1 timeline'
    again = report(result, {'network': {'changed': False, 'changes': []}})
    assert again['line'] == 'lab lab1: 4 nodes, 1 bridge, 3 links, 1 timeline; no change'
    # a stopped timeline is no longer the lab's, but its stop is a change
    left = plan(topo(), result['record'])
    stop = report(left, {'network': {'changed': True, 'changes': ['timeline lab1: stop']}})
    assert stop['timelines'] == {'total': 0, 'changed': 1}
    assert stop['line'] == 'lab lab1: 4 nodes, 1 bridge, 3 links; changed: 1 timeline'
    # an impairment changed on an interface is a change of its link
    imp = report(result, {'network': {'changed': True, 'changes': ['node r2: change impairment of eth1 (delay 20ms)']}})
    assert imp['links'] == {'total': 3, 'changed': 1}


def edge(source, a, b):
    lines = [line for line in source.splitlines() if line.startswith('  "%s"' % a) and ' -- "%s"' % b in line]
    assert len(lines) == 1, lines
    return lines[0]


def test_the_picture_labels_impaired_links_per_direction_when_they_differ():
    links = [{'endpoints': ['a:eth0', 'lan'], 'impairment': {'delay': '40ms', 'jitter': '5ms', 'loss': '1%'}},
             {'endpoints': ['b:eth0', {'node': 'lan', 'impairment': {'bandwidth': '10mbit'}}]},
             {'endpoints': [{'node': 'r1', 'interface': 'eth1', 'impairment': {'delay': '20ms'}}, 'r2:eth1'],
              'impairment': {'delay': '5ms'}}]
    source = plan(topo(links=links))['dot']
    assert edge(source, 'a', 'lan').endswith(
        '[label=<40ms \u00b15ms, 1% loss>, fontname="Helvetica", fontsize=9, fontcolor="#b03020"];')
    assert 'label=<lan \u2192 b: 10mbit>' in edge(source, 'b', 'lan')
    assert 'label=<r1 \u2192 r2: 20ms<BR/>r2 \u2192 r1: 5ms>' in edge(source, 'r1', 'r2')
    # the same impairment set by different means is one line
    same = [{'endpoints': [{'node': 'r1', 'interface': 'eth1', 'impairment': {'loss': '1.0%'}}, 'r2:eth1'],
             'impairment': {'loss': '1%'}}]
    assert 'label=<1% loss>' in edge(plan(topo(links=same))['dot'], 'r1', 'r2')


def test_a_link_between_nodes_of_one_bridge_gets_an_xlabel():
    links = [['a:eth0', 'lan'], ['b:eth0', 'lan'], {'endpoints': ['a:eth1', 'b:eth1'], 'impairment': {'loss': '2%'}}]
    line = edge(plan(topo(links=links))['dot'], 'a', 'b')
    assert 'xlabel=<2% loss>' in line and 'constraint=false' in line


def test_the_wan_example():
    with open(WAN_LAB) as handle:
        topology = yaml.safe_load(handle)
    result = plan(topology)
    ra = decl(result, 'ra', 'wan0')
    assert ra['impairment'] == ra['peer']['impairment'] == WAN
    assert 'label=<20ms, 1% loss, 10mbit>' in edge(result['dot'], 'ra', 'rb')
    steps = result['timeline']['steps']
    assert result['timeline']['name'] == 'wan' and [s['link'] for s in steps] == [['ra:wan0', 'rb:wan0']] * 2
    assert steps[0] == {'link': ['ra:wan0', 'rb:wan0'], 'at': '1m', 'every': '60s', 'for': '10m', 'state': 'down',
                        'hold': '10s'}
    assert steps[1]['ramp'] == {'loss': '5%'} and steps[1]['for'] == '5m'
    # the bridges' ports and the hosts' links are not impaired
    assert [k for k, v in sends(result).items() if v] == [('ra', 'wan0'), ('rb', 'wan0')]
