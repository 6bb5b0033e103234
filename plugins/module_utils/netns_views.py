# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""netns: the views of a node's network, for the diff (before, after, and in check mode the predicted after) and
for the results (facts of each node, the network of a namespace that nsinfo reports)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.nsforge.linux.plugins.module_utils import nodes
from ansible_collections.nsforge.linux.plugins.module_utils.layout import netns_path
from ansible_collections.nsforge.linux.plugins.module_utils.netns_options import route_text


def addr_view(addresses):
    """Addresses that a declaration manages: without IPv6 link-local ones."""
    return sorted(a for a in addresses if not a.lower().startswith('fe80:'))


def actual_view(actual):
    """The diff view of a node's actual state (see plan for what actual holds)."""
    if not actual['exists']:
        return {'present': False}
    links = {}
    for name, link in sorted(actual['links'].items()):
        view = {'type': link['kind'], 'state': 'up' if link['up'] else 'down', 'addresses': addr_view(link['addresses']),
                'mtu': link['mtu'], 'mac': link['mac']}
        if link.get('master'):
            view['master'] = link['master']
        links[name] = view
    view = {
        'present': True,
        'links': links,
        'routes': sorted(route_text(r) for r in actual['routes'] if r['proto'] in (3, 4)),
        'sysctl': dict((k, v) for k, v in sorted(actual['sysctl'].items())),
    }
    if actual.get('hostname') is not None:
        view['hostname'] = actual['hostname']
    for key in ('resolv.conf', 'hosts'):
        if actual['files'].get(key) is not None:
            view[key] = actual['files'][key]
    return view


def predicted_view(before, decl, changes_for_node):
    """What the diff view will be after the changes; used in check mode."""
    if decl['state'] == 'absent':
        return {'present': False}
    view = copy.deepcopy(before) if before.get('present') else {'present': True, 'links': {}, 'routes': [], 'sysctl': {}}
    if not before.get('present'):
        view['links']['lo'] = {'type': 'loopback', 'state': 'down', 'addresses': [], 'mtu': 65536, 'mac': '00:00:00:00:00:00'}
    for name, link in list(view['links'].items()):
        if changes_for_node['purge_links'] and name in changes_for_node['purge_links']:
            del view['links'][name]
    if decl['loopback']:
        view['links']['lo']['state'] = 'up'
        view['links']['lo']['addresses'] = ['127.0.0.1/8', '::1/128']
    for link in decl['links'] + changes_for_node['peers_in']:
        cur = view['links'].get(link['name'])
        recreate = link['name'] in changes_for_node['recreated']
        if cur is None or recreate:
            cur = {'type': link['type'], 'state': 'down', 'addresses': [], 'mtu': 1500, 'mac': None}
            view['links'][link['name']] = cur
        cur['type'] = link['type']
        cur['state'] = link.get('state') or 'up'
        for key in ('mtu', 'mac'):
            if link.get(key) is not None:
                cur[key] = link[key]
        if link.get('master') is not None:
            cur['master'] = link['master']
        elif decl['purge'] and not link.get('is_peer'):
            cur.pop('master', None)
        if link.get('addresses') is not None:
            if decl['purge'] and not link.get('is_peer'):
                cur['addresses'] = sorted(link['addresses'])
            else:
                cur['addresses'] = sorted(set(cur['addresses']) | set(link['addresses']))
    routes = set(view['routes'])
    for text in changes_for_node['routes_removed']:
        routes.discard(text)
    for text in changes_for_node['routes_added']:
        routes.add(text)
    view['routes'] = sorted(routes)
    for key, item in decl['sysctl'].items():
        view['sysctl'][key] = item['value']
    if decl['hostname'] is not None:
        view['hostname'] = decl['hostname']
    for key, content in changes_for_node['files'].items():
        if content is None:
            view.pop(key, None)
        else:
            view[key] = content
    return view


def facts_of(name, actual):
    """The result facts of one node from what Reader.node read."""
    if not actual['exists']:
        return {'name': name, 'state': 'absent', 'path': netns_path(name), 'inode': None,
                'hostname': None, 'interfaces': [], 'routes': []}
    result = {
        'name': name,
        'state': 'present',
        'path': netns_path(name),
        'inode': nodes.netns_inode(name),
        'hostname': actual['hostname'],
    }
    result.update(state_view(actual))
    return result


def net_view(session, path):
    """Interfaces (with addresses) and main-table routes of the network namespace at path."""
    return state_view(session.read(path))


def state_view(state):
    """Interfaces by index and routes (without IPv6 link-local ones) of what Session.read returned."""
    interfaces = []
    for ifname, link in sorted(state['links'].items(), key=lambda item: item[1]['index']):
        interfaces.append({
            'name': ifname, 'index': link['index'], 'type': link['kind'], 'state': 'up' if link['up'] else 'down',
            'mtu': link['mtu'], 'mac': link['mac'], 'master': link.get('master'),
            'addresses': addr_view(link['addresses']),
        })
    routes = []
    for route in state['routes']:
        if route['proto'] == 2 and route['family'] == 6 and route['dst'].startswith('fe80:'):
            continue
        routes.append(dict((k, route[k]) for k in ('family', 'dst', 'gateway', 'dev', 'metric', 'table')))
    return {'interfaces': interfaces, 'routes': routes}
