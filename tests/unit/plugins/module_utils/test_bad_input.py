# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the fixes found by the bad-input corpus (tests/integration/targets/bad_input)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nsforge.linux.plugins.module_utils import cgroups, idmap, mounts, module, network, nodes
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError
from ansible_collections.nsforge.linux.plugins.plugin_utils import netlab


# A `$` anchor matches before a trailing newline: every check must refuse one.
@pytest.mark.parametrize('check, value', [
    (network.norm_mac, '02:00:00:00:00:01\n'),
    (network.check_dnsname, 'lab.example\n'),
    (nodes.check_name, 'node1\n'),
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
        mounts.validate(params)
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
