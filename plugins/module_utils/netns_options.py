# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""netns: the task's options validated and normalized into node declarations, before anything is touched.

validate() returns one declaration per node, or raises NsforgeError naming the option at fault (its path in the
task, such as namespaces[2].links[0].peer.netns). The options themselves are declared in specs; the rules of each
kind of link are in linktypes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os

from ansible_collections.nsforge.linux.plugins.module_utils import bulk, linktypes, netem, nodes, specs
from ansible_collections.nsforge.linux.plugins.module_utils.errors import bad_option
from ansible_collections.nsforge.linux.plugins.module_utils.names import (
    check_dnsname, check_hostname, check_ifname, check_name, check_range, norm_cidr, norm_ip, norm_mac)

RT_TABLE_MAIN = 254


def validate(params):
    """Return the list of normalized node declarations from module parameters."""
    if params.get('namespaces') is not None:
        entries = bulk.entries(params, 'namespaces', specs.NODE_OPTIONS, ('state', 'purge', 'persist'),
                               specs.node_spec(), 'node')
    else:
        entries = [('', dict(params))]
    decls = []
    seen = {}
    for prefix, entry in entries:
        decl = normalize_node(entry, prefix)
        if decl['name'] in seen:
            raise bad_option(opt(prefix, 'name'), decl['name'], 'the node is declared twice (also in %s)' % (seen[decl['name']] or 'name'))
        seen[decl['name']] = prefix
        decls.append(decl)
    check_cross(decls)
    return decls


def opt(prefix, name):
    return '%s.%s' % (prefix, name) if prefix else name


def normalize_node(entry, prefix):
    name = check_name(entry.get('name'), opt(prefix, 'name'))
    state = entry.get('state') or 'present'
    decl = {
        'name': name,
        'state': state,
        'prefix': prefix,
        # the node's own options as declared (what persistence records) and whether to persist them
        'entry': dict((key, entry.get(key)) for key in ('name',) + specs.NODE_OPTIONS + ('purge',)),
        'persist': entry.get('persist'),
        'loopback': True if entry.get('loopback') is None else bool(entry['loopback']),
        'hostname': None,
        'links': [],
        'routes': [],
        'sysctl': {},
        'nameservers': None,
        'search': None,
        'hosts': None,
        'purge': bool(entry.get('purge')),
    }
    if state == 'absent':
        for key in ('hostname', 'links', 'routes', 'sysctl', 'nameservers', 'search', 'hosts'):
            if entry.get(key):
                raise bad_option(opt(prefix, key), entry[key], 'a node with state=absent takes no %s' % key)
        return decl
    if entry.get('hostname') is not None:
        decl['hostname'] = check_hostname(entry['hostname'], opt(prefix, 'hostname'))
    names = {}
    for i, link in enumerate(entry.get('links') or []):
        lopt = opt(prefix, 'links[%d]' % i)
        decl['links'].append(normalize_link(link, lopt))
        lname = decl['links'][-1]['name']
        if lname in names or lname == 'lo':
            raise bad_option(lopt + '.name', lname, 'the interface name is used twice in node %s' % name)
        names[lname] = decl['links'][-1]
    for link in decl['links']:
        lopt = link['option']
        if link['master'] is not None:
            if link['master'] == link['name']:
                raise bad_option(lopt + '.master', link['master'], 'an interface cannot be its own master')
            target = names.get(link['master'])
            if target is not None and target['type'] != 'bridge':
                raise bad_option(lopt + '.master', link['master'], 'the master is a %s, not a bridge' % target['type'])
        if link['type'] in linktypes.PARENT_TYPES and link['link'] == link['name']:
            raise bad_option(lopt + '.link', link['link'], 'an interface cannot be its own parent')
    for i, route in enumerate(entry.get('routes') or []):
        decl['routes'].append(norm_route(route, opt(prefix, 'routes[%d]' % i)))
    keys = {}
    for route in decl['routes']:
        if route_key(route) in keys:
            raise bad_option(opt(prefix, 'routes'), route['dst'], 'the route to %s (metric %d, table %d) is declared twice'
                             % (route['dst'], route['metric'], route['table']))
        keys[route_key(route)] = route
    for key, value in sorted((entry.get('sysctl') or {}).items()):
        sopt = opt(prefix, 'sysctl.%s' % key)
        decl['sysctl'][key] = {'path': sysctl_path(key, sopt), 'value': sysctl_value(value, sopt)}
    if entry.get('nameservers') is not None:
        decl['nameservers'] = [norm_ip(v, opt(prefix, 'nameservers')) for v in entry['nameservers']]
    if entry.get('search') is not None:
        decl['search'] = [check_dnsname(v, opt(prefix, 'search')) for v in entry['search']]
    if entry.get('hosts') is not None:
        decl['hosts'] = {}
        for host, addr in sorted(entry['hosts'].items()):
            check_dnsname(host, opt(prefix, 'hosts'))
            decl['hosts'][host] = norm_ip(addr, opt(prefix, 'hosts.%s' % host))
    return decl


def normalize_link(link, lopt):
    kind = link['type']
    out = {
        'option': lopt,
        'name': check_ifname(link['name'], lopt + '.name'),
        'type': kind,
        'addresses': None,
        'mtu': check_range(link.get('mtu'), lopt + '.mtu', 68, 65535),
        'mac': norm_mac(link['mac'], lopt + '.mac') if link.get('mac') is not None else None,
        'state': link.get('state') or 'up',
        'master': check_ifname(link['master'], lopt + '.master') if link.get('master') is not None else None,
        'peer': None,
        'vlan_id': None,
        'link': None,
        'mode': None,
        'vni': None,
        'remote': None,
        'group': None,
        'local': None,
        'dstport': None,
        'underlay': None,
        'target': None,
    }
    if link.get('addresses') is not None:
        out['addresses'] = linktypes.dedupe([norm_cidr(a, lopt + '.addresses') for a in link['addresses']])
    linktypes.check_kind_options(link, out, lopt)
    out['impairment'] = netem.normalize(link.get('impairment'), lopt + '.impairment')
    if out['peer'] is not None:
        out['peer']['impairment'] = netem.normalize((link.get('peer') or {}).get('impairment'), lopt + '.peer.impairment')
    return out


def check_cross(decls):
    """Checks that need every declared node: peers, names per namespace."""
    by_name = dict((d['name'], d) for d in decls)
    # interface names that the task places into each namespace (None: the host)
    placed = {}
    for decl in decls:
        if decl['state'] != 'present':
            continue
        for link in decl['links']:
            placed.setdefault(decl['name'], {})[link['name']] = link['option'] + '.name'
    for decl in decls:
        if decl['state'] != 'present':
            continue
        for link in decl['links']:
            peer = link['peer']
            if peer is None:
                continue
            popt = link['option'] + '.peer'
            target = peer['netns']
            if target is not None:
                other = by_name.get(target)
                if other is not None and other['state'] == 'absent':
                    raise bad_option(popt + '.netns', target, 'the peer node is declared absent in this task')
                if other is None and not nodes.netns_exists(target):
                    raise bad_option(popt + '.netns', target, 'no such node: it neither exists nor is declared in this task')
            names = placed.setdefault(target, {})
            if peer['name'] in names:
                raise bad_option(popt + '.name', peer['name'], 'the interface name is already used in %s by %s'
                                 % ('the host' if target is None else 'node ' + target, names[peer['name']]))
            names[peer['name']] = popt + '.name'


def norm_route(route, option):
    dst = route['dst'].strip() if isinstance(route['dst'], str) else route['dst']
    gateway = route.get('gateway')
    family = None
    if gateway is not None:
        gateway = norm_ip(gateway, option + '.gateway')
        family = ipaddress.ip_address(gateway).version
    if dst == 'default':
        family = family or 4
        dst = '0.0.0.0/0' if family == 4 else '::/0'
    else:
        try:
            net = ipaddress.ip_network(dst, strict=True)
        except ValueError as exc:
            raise bad_option(option + '.dst', route['dst'], 'expected a network in CIDR form or "default": %s' % exc)
        if '/' not in dst:
            net = ipaddress.ip_network(dst)
        if family is not None and net.version != family:
            raise bad_option(option + '.gateway', gateway, 'the gateway is not of the family of dst %s' % dst)
        family = net.version
        dst = '%s/%d' % (net.network_address, net.prefixlen)
    if gateway is None and route.get('dev') is None:
        raise bad_option(option, route['dst'], 'a route needs a gateway, a dev, or both')
    if route.get('dev') is not None:
        check_ifname(route['dev'], option + '.dev')
    check_range(route.get('metric'), option + '.metric', 0, 4294967295)
    check_range(route.get('table'), option + '.table', 1, 4294967295)
    if route.get('table') in (253, 255):
        raise bad_option(option + '.table', route['table'], 'the default (253) and local (255) tables are not for declared routes')
    metric = route.get('metric')
    if metric is None:
        metric = 0 if family == 4 else 1024
    return {
        'family': family,
        'dst': dst,
        'gateway': gateway,
        'dev': route.get('dev'),
        'metric': metric,
        'table': route.get('table') or RT_TABLE_MAIN,
    }


def route_key(route):
    return (route['family'], route['table'], route['dst'], route['metric'])


def route_text(route):
    words = [route['dst'] if route['dst'] not in ('0.0.0.0/0', '::/0') else 'default' + ('' if route['family'] == 4 else ' (IPv6)')]
    if route.get('gateway'):
        words.append('via %s' % route['gateway'])
    if route.get('dev'):
        words.append('dev %s' % route['dev'])
    words.append('metric %d' % route['metric'])
    if route['table'] != RT_TABLE_MAIN:
        words.append('table %d' % route['table'])
    return ' '.join(words)


def sysctl_path(key, option):
    """net.ipv4.conf.eth0/10.forwarding -> /proc/sys/net/ipv4/conf/eth0.10/forwarding"""
    if not isinstance(key, str) or not key.startswith('net.'):
        raise bad_option(option, key, "only settings under 'net.' belong to a network namespace")
    parts = key.split('.')
    if any(p in ('', '..') for p in parts):
        raise bad_option(option, key, 'malformed sysctl name')
    parts = [p.replace('/', '.') for p in parts]
    if any(p in ('.', '..') or any(ch.isspace() or ord(ch) < 32 for ch in p) for p in parts):
        raise bad_option(option, key, 'malformed sysctl name')
    return os.path.join('/proc/sys', *parts)


def sysctl_value(value, option):
    if isinstance(value, bool):
        return '1' if value else '0'
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str) and value.strip() and '\n' not in value.strip():
        return ' '.join(value.split())
    if isinstance(value, list) and value:
        return ' '.join(str(v) for v in value)
    raise bad_option(option, value, 'expected a number or a single-line string')
