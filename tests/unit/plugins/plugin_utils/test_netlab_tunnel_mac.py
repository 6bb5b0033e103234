# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the MAC address the netlab planner gives a persisted node's end of a tunnel: stable across runs (and
so across reboots), locally administered, its own per end; none for nodes that are not persisted, none on a bridge's
port, a declared one kept."""

from __future__ import annotations

from ansible_collections.nsforge.linux.plugins.module_utils.names import norm_mac
from ansible_collections.nsforge.linux.plugins.plugin_utils.netlab import plan, stable_mac

UNDERLAYS = {'h1': '10.236.0.11', 'h2': '10.236.0.12'}


def topo(persist=True, first='r1:eth1', **kw):
    base = {
        'name': 'lab1',
        'addressing': {'ipv4': '10.237.0.0/16'},
        'defaults': {'persist': persist},
        'bridges': [{'name': 'lan', 'host': 'h2'}],
        'nodes': [{'name': 'r1', 'host': 'h1'}, {'name': 'r2', 'host': 'h2'}, {'name': 'c', 'host': 'h2'}],
        'links': [[first, 'r2:eth1'], ['r1:eth2', 'lan'], ['c:eth0', 'lan']],
    }
    base.update(kw)
    return base


def link(result, node, ifname):
    entry = [e for e in result['namespaces'] if e['name'] == node][0]
    return [lk for lk in entry['links'] if lk['name'] == ifname][0]


def test_a_persisted_nodes_tunnel_ends_get_a_stable_mac_of_their_own():
    h1 = plan(topo(), host='h1', underlays=UNDERLAYS)
    h2 = plan(topo(), host='h2', underlays=UNDERLAYS)
    r1, r2 = link(h1, 'r1', 'eth1'), link(h2, 'r2', 'eth1')
    assert (r1['type'], r2['type']) == ('vxlan', 'vxlan')
    assert r1['mac'] == stable_mac('lab1', 'r1', 'eth1')
    assert r2['mac'] == stable_mac('lab1', 'r2', 'eth1')
    assert r1['mac'] != r2['mac']
    for mac in (r1['mac'], r2['mac']):
        assert norm_mac(mac, 'mac') == mac                 # what the netns module takes, as it reads it back
        assert int(mac[:2], 16) & 0x03 == 0x02             # locally administered, unicast
    # the same at the next run, as after a reboot
    assert link(plan(topo(), host='h1', underlays=UNDERLAYS), 'r1', 'eth1')['mac'] == r1['mac']
    assert stable_mac('lab2', 'r1', 'eth1') != r1['mac']


def test_no_mac_for_nodes_not_persisted_nor_on_a_bridges_port():
    h1 = plan(topo(persist=False), host='h1', underlays=UNDERLAYS)
    assert 'mac' not in link(h1, 'r1', 'eth1')
    h2 = plan(topo(), host='h2', underlays=UNDERLAYS)
    # r1:eth2 -- lan is a tunnel too: its end on h2 is a vxlan port of the bridge lan, no address, no MAC of its own
    ports = [lk for e in h2['namespaces'] if e['name'] == 'lan' for lk in e['links'] if lk['type'] == 'vxlan']
    assert len(ports) == 1 and 'mac' not in ports[0], ports
    assert 'mac' in link(plan(topo(), host='h1', underlays=UNDERLAYS), 'r1', 'eth2')


def test_a_declared_mac_is_kept():
    first = {'node': 'r1', 'interface': 'eth1', 'mac': '02:00:00:00:aa:01'}
    h1 = plan(topo(first=first), host='h1', underlays=UNDERLAYS)
    assert link(h1, 'r1', 'eth1')['mac'] == '02:00:00:00:aa:01'
