# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""netns: the views of a node's network, for the diff (before, after, and in check mode the predicted after) and
for the results (facts of each node, the network of a namespace that nsinfo reports)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import ipaddress

from ansible_collections.nsforge.linux.plugins.module_utils import netem, nodes
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
        impairment = netem.view((link.get('impairment') or {}).get('canon'))
        if impairment:
            view['impairment'] = impairment
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


def predicted_view(before, decl, track):
    """What the diff view will be after the changes, for check mode: the declaration applied to the view before,
    with what the kernel does as a consequence (netns_plan's track tells what the plan deletes, recreates, sets down
    and attaches). A MAC or an MTU that the kernel will choose is None there (unknown)."""
    if decl['state'] == 'absent':
        return {'present': False}
    view = copy.deepcopy(before) if before.get('present') else {'present': True, 'links': {}, 'routes': [], 'sysctl': {}}
    if not before.get('present'):
        view['links']['lo'] = {'type': 'loopback', 'state': 'down', 'addresses': [], 'mtu': 65536, 'mac': '00:00:00:00:00:00'}
    gone = track['purge_links'] | track['vanish']
    # a bridge that goes (or is created again) lets its ports go
    lost = set(n for n in gone | track['recreated'] if view['links'].get(n, {}).get('type') == 'bridge')
    for name in list(view['links']):
        if name in gone:
            del view['links'][name]
        elif view['links'][name].get('master') in lost:
            view['links'][name].pop('master', None)
    if decl['loopback']:
        view['links']['lo']['state'] = 'up'
        view['links']['lo']['addresses'] = ['127.0.0.1/8', '::1/128']
    for link in decl['links'] + track['peers_in']:
        cur = view['links'].get(link['name'])
        if cur is None or link['name'] in track['recreated']:
            cur = {'type': link['type'], 'state': 'down', 'addresses': [], 'mtu': 1500, 'mac': None}
            view['links'][link['name']] = cur
        cur['type'] = link['type']
        if link['name'] in track['downed'] and cur['state'] == 'up':
            cur['addresses'] = [a for a in cur['addresses'] if ':' not in a]  # the kernel flushes IPv6 on down
        cur['state'] = link.get('state') or 'up'
        for key in ('mtu', 'mac'):
            if link.get(key) is not None:
                cur[key] = link[key]
        if link.get('master') is not None:
            cur['master'] = link['master']
        elif decl['purge'] and not link.get('is_peer'):
            cur.pop('master', None)
        if decl['purge'] and not link.get('is_peer'):
            cur['addresses'] = sorted(link.get('addresses') or [])
        elif link.get('addresses') is not None:
            cur['addresses'] = sorted(set(cur['addresses']) | set(link['addresses']))
    for ifname, impairment in track.get('impairment', {}).items():
        if ifname in view['links']:
            if impairment:
                view['links'][ifname]['impairment'] = impairment
            else:
                view['links'][ifname].pop('impairment', None)
    _bridges(view, decl, track)
    view['routes'] = _routes(view, track, gone | track['recreated'] | track['downed'])
    for key, item in decl['sysctl'].items():
        view['sysctl'][key] = item['value']
    if decl['hostname'] is not None:
        view['hostname'] = decl['hostname']
    for key, content in track['files'].items():
        if content is None:
            view.pop(key, None)
        else:
            view[key] = content
    return view


def _bridges(view, decl, track):
    """A bridge whose ports change takes the smallest MTU and the lowest MAC of its ports (MTU 1500 and MAC
    00:00:00:00:00:00 with none left), unless its own were set, now or by an earlier run, which the view does not
    tell: so they are unknown (None) unless declared."""
    declared = dict((l['name'], l) for l in decl['links'])
    for name, cur in view['links'].items():
        if cur['type'] != 'bridge' or name not in track['ports']:
            continue
        own = declared.get(name) or {}
        for key in ('mtu', 'mac'):
            if own.get(key) is None:
                cur[key] = None


def _routes(view, track, dropped):
    """The routes after the plan: those it removes, and those through a link that goes or goes down (the kernel
    drops them), out; those it adds in, with the link that the kernel picks for a gateway when none is declared."""
    routes = set(view['routes'])
    for text in track['routes_removed']:
        routes.discard(text)
    routes = set(r for r in routes if not any(' dev %s ' % d in r + ' ' for d in dropped))
    for route in track['routes_added']:
        if route['dev'] is None and route['gateway']:
            route = dict(route, dev=_link_for(view, route['gateway']))
        routes.add(route_text(route))
    return sorted(routes)


def _link_for(view, gateway):
    """The link of the view whose address's network holds gateway, which the kernel will pick; '?' when no link or
    several do (the kernel's choice then depends on the order of its routes)."""
    address = ipaddress.ip_address(gateway)
    found = set(name for name, link in view['links'].items() for cidr in link['addresses']
                if address in ipaddress.ip_interface(cidr).network)
    return found.pop() if len(found) == 1 else '?'


def facts_of(name, actual, full=False):
    """The result facts of one node from what Reader read: its identity (name, state, path, inode, hostname), and
    with full its interfaces and routes (from Reader.node; Reader.identity is enough without)."""
    result = {'name': name, 'state': 'absent', 'path': netns_path(name), 'inode': None, 'hostname': None}
    if actual['exists']:
        result.update(state='present', inode=nodes.netns_inode(name), hostname=actual['hostname'])
    if full:
        result.update(state_view(actual) if actual['exists'] else {'interfaces': [], 'routes': []})
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
            'impairment': netem.view((link.get('impairment') or {}).get('canon')),
        })
    routes = []
    for route in state['routes']:
        if route['proto'] == 2 and route['family'] == 6 and route['dst'].startswith('fe80:'):
            continue
        routes.append(dict((k, route[k]) for k in ('family', 'dst', 'gateway', 'dev', 'metric', 'table')))
    return {'interfaces': interfaces, 'routes': routes}
