# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the mapping of a lab topology to inventory hosts (the nodes inventory plugin)."""

from __future__ import annotations

import pytest

from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError
from ansible_collections.nsforge.linux.plugins.plugin_utils.labhosts import hosts
from ansible_collections.nsforge.linux.plugins.plugin_utils.netlab import TopologyError

LOCALHOST = {'ansible_connection': 'local', 'ansible_python_interpreter': '/venv/bin/python'}
FLEET2 = {'ansible_host': '10.236.0.12', 'ansible_port': 22, 'ansible_user': 'root',
          'ansible_ssh_private_key_file': '/keys/id', 'ansible_python_interpreter': '/usr/bin/python3',
          'inventory_hostname': 'fleet2', 'group_names': ['fleet'], 'lab_color': 'red'}
INVENTORY = {'localhost': LOCALHOST, 'fleet2': FLEET2, 'fleet3': {}}


def lab(**kw):
    base = {
        'name': 'x-lab',
        'addressing': {'ipv4': '10.240.0.0/16'},
        'bridges': [{'name': 'lan'}],
        'nodes': [
            {'name': 'r1', 'labels': ['routers', 'core']},
            {'name': 'r2', 'host': 'fleet2', 'labels': ['routers'],
             'services': [{'name': 'bgp', 'command': ['sleep', 'infinity']}]},
            {'name': 'web', 'services': [{'name': 'web-http', 'command': ['sleep', 'infinity']}]},
            {'name': 'side', 'network_mode': 'container:web',
             'services': [{'name': 'probe', 'command': ['sleep', 'infinity']}]},
        ],
        'links': [['r1:eth1', 'r2:eth1'], ['web:eth0', 'lan']],
    }
    base.update(kw)
    return base


def by_name(topology, **kw):
    return dict((h['name'], h) for h in hosts(topology, INVENTORY.get, **kw))


def test_a_host_per_node_and_service_not_bridges_nor_pod_nodes():
    found = hosts(lab(), INVENTORY.get)
    assert [h['name'] for h in found] == ['r1', 'r2', 'bgp', 'web', 'web-http', 'probe']


def test_a_local_node_enters_through_the_local_connection():
    r1 = by_name(lab())['r1']
    assert r1['vars'] == {
        'ansible_connection': 'nsforge.linux.nsenter', 'ansible_nsenter_node': 'r1',
        'ansible_nsenter_host_connection': 'local', 'ansible_python_interpreter': '/venv/bin/python',
        'ansible_nsenter_host_python': '/venv/bin/python',
        'nsforge_lab': 'x-lab', 'nsforge_node': 'r1', 'nsforge_host': 'localhost',
        'nsforge_labels': ['routers', 'core']}
    assert r1['groups'] == ['nodes', 'lab_x_lab', 'host_localhost', 'routers', 'core']


def test_a_remote_node_gets_its_hosts_connection_variables_only():
    r2 = by_name(lab())['r2']['vars']
    assert r2['ansible_nsenter_host_connection'] == 'ssh'      # Ansible's default: the host sets none
    for key in ('ansible_host', 'ansible_port', 'ansible_user', 'ansible_ssh_private_key_file',
                'ansible_python_interpreter'):
        assert r2[key] == FLEET2[key]
    assert r2['ansible_nsenter_host_python'] == '/usr/bin/python3'
    assert 'lab_color' not in r2 and 'inventory_hostname' not in r2 and 'group_names' not in r2


def test_a_service_enters_the_service_and_keeps_its_nodes_host():
    bgp = by_name(lab())['bgp']
    assert bgp['vars']['ansible_nsenter_service'] == 'bgp'
    assert 'ansible_nsenter_node' not in bgp['vars']
    assert bgp['vars']['nsforge_node'] == 'r2' and bgp['vars']['ansible_host'] == '10.236.0.12'
    assert bgp['groups'] == ['services', 'lab_x_lab', 'host_fleet2']
    probe = by_name(lab())['probe']
    assert probe['vars']['nsforge_node'] == 'side' and probe['groups'][0] == 'services'


def test_a_host_without_ansible_host_is_reached_by_its_name():
    found = by_name(lab(nodes=[{'name': 'a', 'host': 'fleet3'}], bridges=[], links=[]))
    assert found['a']['vars']['ansible_host'] == 'fleet3'
    assert found['a']['vars']['ansible_nsenter_host_connection'] == 'ssh'


def test_default_host_takes_the_nodes_without_host():
    found = by_name(lab(), default_host='fleet2')
    assert found['r1']['vars']['nsforge_host'] == 'fleet2' and 'host_fleet2' in found['r1']['groups']


def test_the_default_lab_template_yields_its_nodes():
    found = by_name(lab(nodes={'a': None, 'b': {'labels': ['edge']}}, bridges=[], links=[['a:eth0', 'b:eth0']]))
    assert sorted(found) == ['a', 'b'] and 'edge' in found['b']['groups']


@pytest.mark.parametrize('change, error, match', [
    ({'nodes': [{'name': 'a', 'host': 'nowhere'}], 'links': []}, NsforgeError,
     r"nodes\[0\] \(a\)\.host: unknown host 'nowhere': the inventory has no such host"),
    ({'nodes': [{'name': 'a', 'services': [{'name': 'a', 'command': ['true']}]}], 'links': []}, NsforgeError,
     r"nodes\[0\] \(a\)\.services \(a\): the inventory host a is already nodes\[0\] \(a\)"),
    ({'nodes': [{'name': 'a', 'labels': ['bad-group']}], 'links': []}, TopologyError,
     r"nodes\[0\] \(a\)\.labels\[0\]: invalid group name 'bad-group'"),
    ({'links': [['r1:eth1', 'r9:eth1']]}, TopologyError, r"links\[0\]: unknown node 'r9'"),
])
def test_errors_name_what_is_at_fault(change, error, match):
    with pytest.raises(error, match=match):
        hosts(lab(**change), INVENTORY.get)


def test_a_name_another_source_holds_is_refused():
    with pytest.raises(NsforgeError, match=r'nodes\[2\] \(web\): the inventory already has a host web'):
        hosts(lab(), INVENTORY.get, taken={'web'})


def test_a_host_reached_through_nsenter_is_refused():
    inventory = {'localhost': {'ansible_connection': 'nsforge.linux.nsenter'}}
    with pytest.raises(NsforgeError, match=r'host localhost: it is reached through nsforge\.linux\.nsenter itself'):
        hosts(lab(nodes=[{'name': 'a'}], links=[]), inventory.get)
