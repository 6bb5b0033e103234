# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the netlab planner's persistence: nodes' persist, services' supervisor, the lab's defaults, what is
refused in the topology's terms, and the entries and record it generates."""

from __future__ import annotations

import pytest

from ansible_collections.nsforge.linux.plugins.plugin_utils.netlab import TopologyError, plan


def topo(**kw):
    base = {
        'name': 'lab1',
        'addressing': {'ipv4': '10.236.0.0/16'},
        'bridges': [{'name': 'lan'}],
        'nodes': [{'name': 'a', 'services': [{'name': 'a-web', 'command': ['sleep', 'infinity']}]},
                  {'name': 'b'}, {'name': 'r1'}, {'name': 'r2'}],
        'links': [['a:eth0', 'lan'], ['b:eth0', 'lan'], ['r1:eth1', 'r2:eth1']],
    }
    base.update(kw)
    return base


def nodes(*changes):
    """The base nodes, each updated by a dict of settings given by position (None: as it is)."""
    out = topo()['nodes']
    return [dict(node, **(change or {})) for node, change in zip(out, list(changes) + [None] * len(out))]


def entry(result, name, key='namespaces', name_key='name'):
    return [e for e in result[key] if e[name_key] == name][0]


def fails(match, **kw):
    with pytest.raises(TopologyError, match=match):
        plan(topo(**kw))


def test_a_lab_without_persistence_is_declared_as_before():
    result = plan(topo())
    assert all('persist' not in e for e in result['namespaces'])
    assert all('supervisor' not in s and 'install_only' not in s for s in result['services'])
    assert 'persist' not in result['record'] and 'systemd' not in result['record']
    assert 'persist' not in result['pending'] and 'systemd' not in result['pending']
    assert result['persisted'] is False
    assert [n['persist'] for n in result['summary']] == [False] * 4


def test_a_persisted_node_persists_its_bridge_and_its_namespaces():
    result = plan(topo(nodes=nodes({'persist': True, 'user': {'map_root_user': True},
                                    'mounts': [{'dst': '/data', 'type': 'tmpfs'}]})))
    assert entry(result, 'a')['persist'] is True
    assert entry(result, 'lan')['persist'] is True            # a's veth peer is a port of lan
    assert all('persist' not in entry(result, n) for n in ('b', 'r1', 'r2'))
    assert entry(result, 'a', 'users', 'namespace')['persist'] is True
    assert entry(result, 'a', 'mounts', 'namespace')['persist'] is True
    assert result['record']['persist'] == ['lan', 'a']
    assert result['persisted'] is True
    assert [n['persist'] for n in result['summary']] == [True, False, False, False]


def test_the_lab_defaults_persist_every_node_and_supervise_with_systemd():
    result = plan(topo(defaults={'persist': True, 'supervisor': 'systemd'}))
    assert all(e['persist'] is True for e in result['namespaces'])
    svc = entry(result, 'a-web', 'services')
    assert svc['supervisor'] == 'systemd' and 'install_only' not in svc
    assert result['record']['persist'] == ['lan', 'a', 'b', 'r1', 'r2']
    assert result['record']['systemd'] == ['a-web']


def test_a_node_says_no_to_the_default():
    result = plan(topo(defaults={'persist': True}, nodes=nodes(None, {'persist': False})))
    assert 'persist' not in entry(result, 'b')
    assert entry(result, 'lan')['persist'] is True
    assert result['record']['persist'] == ['lan', 'a', 'r1', 'r2']


def test_a_bridge_without_persisted_nodes_is_not_persisted():
    result = plan(topo(nodes=nodes(None, None, {'persist': True}, {'persist': True})))
    assert 'persist' not in entry(result, 'lan')
    assert result['record']['persist'] == ['r1', 'r2']


def test_install_only_from_the_defaults_or_the_service():
    result = plan(topo(defaults={'persist': True, 'supervisor': 'systemd', 'install_only': True}))
    assert entry(result, 'a-web', 'services')['install_only'] is True
    own = nodes({'services': [{'name': 'a-web', 'command': ['x'], 'supervisor': 'systemd', 'install_only': False}]})
    result = plan(topo(defaults={'persist': True, 'install_only': True}, nodes=own))
    assert entry(result, 'a-web', 'services')['install_only'] is False


def test_a_pod_node_is_persisted_as_the_node_whose_network_it_shares():
    pod = {'name': 'side', 'network_mode': 'container:a',
           'services': [{'name': 'side-probe', 'command': ['sleep', 'infinity'], 'supervisor': 'systemd'}]}
    result = plan(topo(nodes=nodes({'persist': True}) + [pod]))
    svc = entry(result, 'side-probe', 'services')
    assert svc['supervisor'] == 'systemd' and svc['namespaces'] == {'net': 'a'}
    assert [n['persist'] for n in result['summary'] if n['node'] == 'side'] == [True]
    with pytest.raises(TopologyError, match=r"^nodes\[4\] \(side\)\.persist: invalid value False: the node shares the "
                                            r"network of a, which is persisted"):
        plan(topo(nodes=nodes({'persist': True}) + [dict(pod, persist=False)]))


@pytest.mark.parametrize('kw, match', [
    ({'nodes': nodes(None, None, {'persist': 'maybe'})}, r"^nodes\[2\] \(r1\)\.persist: expected true or false, got 'maybe'"),
    ({'nodes': nodes(None, None, {'persist': True})},
     r"^links\[2\] \(r1:eth1 -- r2:eth1\): node r1 is persisted but node r2 is not: a link between nodes comes back "
     r"at boot only with both \(persist: true on r2 too, or on neither\)"),
    ({'nodes': nodes(None, None, None, {'persist': True})}, r"^links\[2\] \(r1:eth1 -- r2:eth1\): node r2 is persisted "
                                                            r"but node r1 is not"),
    ({'defaults': {'supervisor': 'systemd'}},
     r"^nodes\[0\] \(a\)\.services\[0\]\.supervisor: invalid value 'systemd': its unit starts the service in node a at "
     r"boot, so the node must be persisted \(persist: true on the node, or in defaults\)"),
    ({'nodes': nodes({'services': [{'name': 's', 'command': ['x'], 'supervisor': 'cron'}]})},
     r"^nodes\[0\] \(a\)\.services\[0\]: value of supervisor must be one of: builtin, systemd, got: cron"),
    ({'nodes': nodes({'persist': True, 'services': [{'name': 's', 'command': ['x'], 'install_only': True}]})},
     r"^nodes\[0\] \(a\)\.services\[0\]\.install_only: invalid value True: install_only is for supervisor: systemd"),
    ({'defaults': {'supervisor': 'runit'}}, r"^defaults\.supervisor: expected 'builtin' or 'systemd', got 'runit'"),
    ({'defaults': {'persist': [True]}}, r"^defaults\.persist: expected true or false"),
    ({'defaults': {'install_only': 'often'}}, r"^defaults\.install_only: expected true or false"),
    ({'defaults': {'persistent': True}}, r"^defaults: unknown setting\(s\) persistent; defaults has impairment, persist, "
                                         r"supervisor, install_only"),
    ({'bridges': [{'name': 'lan', 'persist': True}]}, r"^bridges\[0\] \(lan\): unknown setting\(s\) persist"),
])
def test_refused_in_the_topology_terms(kw, match):
    fails(match, **kw)


def test_ansible_booleans_are_taken():
    result = plan(topo(defaults={'persist': 'yes'}, nodes=nodes(None, {'persist': 'false'})))
    assert entry(result, 'a')['persist'] is True and 'persist' not in entry(result, 'b')


def test_a_node_no_longer_persisted_is_declared_persist_false_once():
    first = plan(topo(defaults={'persist': True, 'supervisor': 'systemd'}))
    second = plan(topo(), previous=first['record'])
    assert all(e['persist'] is False for e in second['namespaces'])
    assert second['persisted'] is False and 'persist' not in second['record']
    # until the run is over, the record still knows what may be persisted, and which units may exist
    assert second['pending']['persist'] == first['record']['persist']
    assert second['pending']['systemd'] == ['a-web']
    # the service that systemd supervised is removed first, then started by the builtin supervisor
    assert second['removals']['services'] == [{'name': 'a-web', 'supervisor': 'systemd', 'install_only': True}]
    assert second['removed']['services'] == []
    assert 'supervisor' not in entry(second, 'a-web', 'services')
    third = plan(topo(), previous=second['record'])
    assert all('persist' not in e for e in third['namespaces'])
    assert third['removals']['services'] == []


def test_a_persisted_lab_run_again_changes_nothing_in_its_plan():
    first = plan(topo(defaults={'persist': True}))
    second = plan(topo(defaults={'persist': True}), previous=first['record'])
    assert second['record'] == first['record'] == second['pending']
    assert second['namespaces'] == first['namespaces']


def test_removing_a_persisted_lab_removes_its_nodes():
    first = plan(topo(defaults={'persist': True, 'supervisor': 'systemd'}))
    gone = plan(topo(defaults={'persist': True, 'supervisor': 'systemd'}, state='absent'), previous=first['record'])
    assert gone['namespaces'] == [{'name': n, 'state': 'absent'} for n in ('lan', 'a', 'b', 'r1', 'r2')]
    assert gone['removals']['services'] == [{'name': 'a-web', 'supervisor': 'systemd', 'install_only': True}]
    # removed with a topology that no longer says systemd (playbooks/destroy.yml without lab_persist): the record does
    gone = plan(topo(state='absent'), previous=first['record'])
    assert gone['removals']['services'] == [{'name': 'a-web', 'supervisor': 'systemd', 'install_only': True}]
    # a service that left the topology is removed as what it was
    left = plan(topo(defaults={'persist': True}, nodes=nodes({'services': []})), previous=first['record'])
    assert left['removals']['services'] == [{'name': 'a-web', 'supervisor': 'systemd', 'install_only': True}]
    builtin = plan(topo(nodes=nodes({'services': []})), previous=plan(topo())['record'])
    assert builtin['removals']['services'] == [{'name': 'a-web'}]
    assert gone['services'] == []
