# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the fixes found by the bad-input corpus (tests/integration/targets/bad_input)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nsforge.linux.plugins.module_utils import cgroups, idmap, module, names, netns_options, netns_plan, nsmount_options, specs
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError
from ansible_collections.nsforge.linux.plugins.plugin_utils import netlab


# A `$` anchor matches before a trailing newline: every check must refuse one.
@pytest.mark.parametrize('check, value', [
    (names.norm_mac, '02:00:00:00:00:01\n'),
    (names.check_dnsname, 'lab.example\n'),
    (names.check_name, 'node1\n'),
])
def test_trailing_newline_refused(check, value):
    with pytest.raises(NsforgeError) as exc:
        check(value, 'opt')
    assert repr(value) in exc.value.msg
    check(value[:-1], 'opt')  # the same value without the newline is fine


def test_trailing_newline_in_cgroup_parent(monkeypatch):
    monkeypatch.setenv(cgroups.PARENT_ENV, 'nsforge\n')
    with pytest.raises(NsforgeError):
        cgroups.parent_name()
    monkeypatch.setenv(cgroups.PARENT_ENV, 'nsforge')
    assert cgroups.parent_name() == 'nsforge'


@pytest.mark.parametrize('key, value', [('size', '1m\n'), ('mode', '1777\n')])
def test_tmpfs_options_with_newline(key, value):
    spec = {'dst': '/mnt', 'type': 'tmpfs', 'src': None, 'ro': False, 'recursive': True, 'size': None, 'mode': None,
            'lower': None, 'upper': None, 'work': None, 'state': 'mounted', 'mkdir': True}
    spec[key] = value
    params = {'namespace': 'red', 'state': 'present', 'propagation': 'private', 'purge': False, 'mounts': [spec]}
    with pytest.raises(NsforgeError) as exc:
        nsmount_options.validate(params)
    assert 'mounts[0].%s' % key in exc.value.msg


def test_lab_name_with_newline():
    with pytest.raises(netlab.TopologyError) as exc:
        netlab.plan({'name': 'lab\n', 'nodes': {'a': {}}, 'links': []})
    assert exc.value.msg.startswith('name:')


SPEC = {
    'name': {'type': 'str'},
    'links': {'type': 'list', 'elements': 'dict', 'options': {
        'name': {'type': 'str'},
        'peer': {'type': 'dict', 'options': {'name': {'type': 'str'}}},
        'routes': {'type': 'list', 'elements': 'dict', 'options': {'dst': {'type': 'str'}}},
    }},
}


@pytest.mark.parametrize('params, found', [
    ({'name': 'x'}, None),
    ({'links': [{'name': 'a'}]}, None),
    ({'links': ['d0']}, ('links[0]', 'd0')),
    ({'links': [{'name': 'a'}, 5]}, ('links[1]', 5)),
    ({'links': [{'name': 'a', 'routes': [{'dst': 'x'}, 'y']}]}, ('links[0].routes[1]', 'y')),
    ({'links': [{'peer': {'name': 'p'}}]}, None),
    ({'links': 'not a list'}, None),  # left to ansible-core, whose message names the option
    ({'links': [{'peer': 5}]}, ('links[0].peer', 5)),
    ({'links': [{'peer': 'name=p'}]}, None),  # ansible-core parses key=value
])
def test_misplaced_elements(params, found):
    assert module.misplaced_elements(SPEC, params) == found


def test_subordinate_range_holding_root():
    with pytest.raises(NsforgeError) as exc:
        idmap.plan_ranges('', 'alice', {'start': 0, 'count': 10}, 'present', option='subuid')
    assert exc.value.option == 'subuid.start'
    # such a line, written by hand, can still be removed
    new, changes = idmap.plan_ranges('alice:0:10\n', 'alice', {'start': 0, 'count': 10}, 'absent', option='subuid')
    assert new == '' and changes


def test_route_through_a_veth_end_that_another_node_declares():
    """Found by the fault walk: on a fresh host, a route of r2 via the veth end r1 puts into r2 was refused."""
    def params(**kw):
        base = dict((k, None) for k in specs.node_spec())
        base.update(state='present', purge=False, namespaces=None)
        base.update(kw)
        return base
    veth = dict((k, None) for k in specs.LINK_SPEC)
    veth.update(name='eth1', type='veth', state='up', addresses=['10.0.0.1/30'],
                peer={'name': 'eth1', 'netns': 'r2', 'addresses': ['10.0.0.2/30'], 'master': None, 'mtu': None})
    route = {'dst': '10.9.0.0/24', 'dev': 'eth1', 'gateway': None, 'metric': None, 'table': None}
    decls = netns_options.validate(params(namespaces=[
        params(name='r1', state=None, purge=None, links=[veth]),
        params(name='r2', state=None, purge=None, routes=[route]),
    ]))
    absent = {'exists': False, 'stale': False, 'links': {}, 'routes': [], 'sysctl': {}, 'hostname': None, 'uts': False,
              'files': {}}
    planner = netns_plan.Planner(None, decls, {'r1': dict(absent), 'r2': dict(absent)})
    descriptions = [c.description for c in planner.plan()]
    assert [d for d in descriptions if d.startswith('node r2: add route 10.9.0.0/24')], descriptions
