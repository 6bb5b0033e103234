# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""netns: the declared network of nodes against the actual one.

validate() turns module parameters into normalized node declarations, or
raises NsforgeError naming the option at fault before anything is touched.
plan() compares them with the actual state and returns a list of changes
that changes.run() applies (or only reports in check mode).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import errno
import ipaddress
import os
import re
import tempfile

from ansible_collections.nsforge.linux.plugins.module_utils import nodes
from ansible_collections.nsforge.linux.plugins.module_utils.changes import Change, ordered
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError, bad_option

LINK_TYPES = ['veth', 'bridge', 'dummy', 'vlan', 'macvlan', 'vxlan']
PARENT_TYPES = ('vlan', 'macvlan', 'vxlan')
IFNAMSIZ = 16
PEER_ALIAS_PREFIX = 'nsforge-peer-of:'
MANAGED_HEADER = '# Managed by nsforge.linux netns; changes here are overwritten.\n'
RT_TABLE_MAIN = 254

# phases: the order of work when one task declares many nodes
PH_REMOVE, PH_NS, PH_UTS, PH_LINK_DEL, PH_BRIDGE, PH_LINK, PH_CHILD, PH_LINK_SET, PH_ADDR, PH_UP, PH_ROUTE, PH_SYSCTL, PH_FILES = range(13)

PEER_SPEC = dict(
    name=dict(type='str', required=True),
    netns=dict(type='str'),
    addresses=dict(type='list', elements='str'),
    master=dict(type='str'),
    mtu=dict(type='int'),
)

LINK_SPEC = dict(
    name=dict(type='str', required=True),
    type=dict(type='str', required=True, choices=LINK_TYPES),
    addresses=dict(type='list', elements='str'),
    mtu=dict(type='int'),
    mac=dict(type='str'),
    state=dict(type='str', default='up', choices=['up', 'down']),
    master=dict(type='str'),
    peer=dict(type='dict', options=PEER_SPEC),
    vlan_id=dict(type='int'),
    link=dict(type='str'),
    mode=dict(type='str', choices=list(['bridge', 'private', 'vepa', 'passthru', 'source'])),
    vni=dict(type='int'),
    remote=dict(type='str'),
    group=dict(type='str'),
    local=dict(type='str'),
    dstport=dict(type='int'),
    underlay=dict(type='str', choices=['node', 'host']),
)

ROUTE_SPEC = dict(
    dst=dict(type='str', required=True),
    gateway=dict(type='str'),
    dev=dict(type='str'),
    metric=dict(type='int'),
    table=dict(type='int'),
)


def node_spec():
    """Options of one node; used at the top level and in each namespaces entry."""
    return dict(
        name=dict(type='str'),
        state=dict(type='str', choices=['present', 'absent']),
        loopback=dict(type='bool'),
        hostname=dict(type='str'),
        links=dict(type='list', elements='dict', options=LINK_SPEC),
        routes=dict(type='list', elements='dict', options=ROUTE_SPEC),
        sysctl=dict(type='dict'),
        nameservers=dict(type='list', elements='str'),
        search=dict(type='list', elements='str'),
        hosts=dict(type='dict'),
        purge=dict(type='bool'),
        persist=dict(type='bool'),
    )


def argument_spec():
    spec = node_spec()
    spec['state']['default'] = 'present'
    spec['purge']['default'] = False
    entry = node_spec()
    entry['name']['required'] = True
    spec['namespaces'] = dict(type='list', elements='dict', options=entry)
    return dict(
        argument_spec=spec,
        mutually_exclusive=[['name', 'namespaces']],
        required_one_of=[['name', 'namespaces']],
        supports_check_mode=True,
    )


NODE_ONLY = ('loopback', 'hostname', 'links', 'routes', 'sysctl', 'nameservers', 'search', 'hosts')

# ---------------------------------------------------------------------------
# validation and normalization: pure functions of the parameters


def check_ifname(name, option):
    if not isinstance(name, str) or name == '':
        raise bad_option(option, name, 'an interface name must be a non-empty string')
    if len(name.encode('utf-8')) >= IFNAMSIZ:
        raise bad_option(option, name, 'an interface name is at most %d bytes long' % (IFNAMSIZ - 1))
    if name in ('.', '..') or '/' in name or ':' in name or any(ch.isspace() for ch in name):
        raise bad_option(option, name, "an interface name must not be '.' or '..' nor contain '/', ':' or whitespace")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise bad_option(option, name, 'an interface name must not contain control characters')
    return name


def norm_cidr(value, option):
    """An interface address: IPv4 or IPv6 with a prefix length; host bits are meaningful."""
    if not isinstance(value, str) or '/' not in value:
        raise bad_option(option, value, 'expected an address with a prefix length, such as 10.0.0.1/24 or fd00:1::1/64')
    try:
        iface = ipaddress.ip_interface(value.strip())
    except ValueError as exc:
        raise bad_option(option, value, str(exc))
    if iface.ip.is_multicast or iface.ip.is_unspecified:
        raise bad_option(option, value, 'not a unicast address')
    return '%s/%d' % (iface.ip, iface.network.prefixlen)


def norm_ip(value, option, family=None):
    try:
        addr = ipaddress.ip_address(str(value).strip())
    except ValueError as exc:
        raise bad_option(option, value, str(exc))
    if family is not None and addr.version != family:
        raise bad_option(option, value, 'expected an IPv%d address' % family)
    return str(addr)


def norm_mac(value, option):
    if not re.match(r'^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}\Z', value or ''):
        raise bad_option(option, value, 'expected a MAC address such as 02:00:00:00:00:01')
    if int(value[:2], 16) & 1:
        raise bad_option(option, value, 'a multicast MAC address cannot be an interface address')
    if value == '00:00:00:00:00:00':
        raise bad_option(option, value, 'the all-zero MAC address cannot be an interface address')
    return value.lower()


def check_range(value, option, low, high):
    if value is not None and not low <= value <= high:
        raise bad_option(option, value, 'must be between %d and %d' % (low, high))
    return value


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


def check_hostname(value, option):
    if not isinstance(value, str) or not value or len(value.encode('utf-8')) > 64:
        raise bad_option(option, value, 'a hostname is 1 to 64 bytes long')
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 or ch == '/' for ch in value):
        raise bad_option(option, value, "a hostname must not contain whitespace, '/' or control characters")
    return value


def check_dnsname(value, option):
    if not isinstance(value, str) or not value or len(value) > 253 or \
            not re.match(r'^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?\Z', value) or '..' in value:
        raise bad_option(option, value, 'expected a DNS name')
    return value


def validate(params):
    """Return the list of normalized node declarations from module parameters."""
    if params.get('namespaces') is not None:
        for key in NODE_ONLY:
            if params.get(key) is not None:
                raise NsforgeError('%s: set it inside each entry of namespaces, not beside it' % key, option=key)
        if not params['namespaces']:
            raise bad_option('namespaces', [], 'declare at least one node')
        entries = []
        for i, entry in enumerate(params['namespaces']):
            entry = dict(entry)
            if entry.get('state') is None:
                entry['state'] = params.get('state') or 'present'
            if entry.get('purge') is None:
                entry['purge'] = bool(params.get('purge'))
            entries.append(('namespaces[%d]' % i, entry))
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
    name = nodes.check_name(entry.get('name'), opt(prefix, 'name'))
    state = entry.get('state') or 'present'
    decl = {
        'name': name,
        'state': state,
        'prefix': prefix,
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
        if link['type'] in PARENT_TYPES and link['link'] == link['name']:
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
    }
    if link.get('addresses') is not None:
        out['addresses'] = dedupe([norm_cidr(a, lopt + '.addresses') for a in link['addresses']])
    extras = {
        'veth': ('peer',),
        'vlan': ('vlan_id', 'link'),
        'macvlan': ('mode', 'link'),
        'vxlan': ('vni', 'remote', 'group', 'local', 'dstport', 'link', 'underlay'),
    }.get(kind, ())
    for key in ('peer', 'vlan_id', 'link', 'mode', 'vni', 'remote', 'group', 'local', 'dstport', 'underlay'):
        if link.get(key) is not None and key not in extras:
            raise bad_option(lopt + '.' + key, link[key], 'not an option of a %s link' % kind)
    if kind == 'veth':
        peer = link.get('peer')
        if not peer:
            raise bad_option(lopt + '.peer', peer, 'a veth needs a peer with at least a name')
        popt = lopt + '.peer'
        out['peer'] = {
            'name': check_ifname(peer['name'], popt + '.name'),
            'netns': nodes.check_name(peer['netns'], popt + '.netns') if peer.get('netns') is not None else None,
            'addresses': dedupe([norm_cidr(a, popt + '.addresses') for a in peer['addresses']]) if peer.get('addresses') is not None else None,
            'master': check_ifname(peer['master'], popt + '.master') if peer.get('master') is not None else None,
            'mtu': check_range(peer.get('mtu'), popt + '.mtu', 68, 65535),
        }
        if out['peer']['master'] == out['peer']['name']:
            raise bad_option(popt + '.master', peer['master'], 'an interface cannot be its own master')
    elif kind == 'vlan':
        if link.get('vlan_id') is None:
            raise bad_option(lopt + '.vlan_id', None, 'a vlan link needs vlan_id')
        out['vlan_id'] = check_range(link['vlan_id'], lopt + '.vlan_id', 1, 4094)
        if link.get('link') is None:
            raise bad_option(lopt + '.link', None, 'a vlan link needs the parent interface in link')
        out['link'] = check_ifname(link['link'], lopt + '.link')
    elif kind == 'macvlan':
        if link.get('link') is None:
            raise bad_option(lopt + '.link', None, 'a macvlan link needs the parent interface in link')
        out['link'] = check_ifname(link['link'], lopt + '.link')
        out['mode'] = link.get('mode') or 'bridge'
    elif kind == 'vxlan':
        if link.get('vni') is None:
            raise bad_option(lopt + '.vni', None, 'a vxlan link needs vni')
        out['vni'] = check_range(link['vni'], lopt + '.vni', 1, 16777215)
        if link.get('remote') is not None and link.get('group') is not None:
            raise bad_option(lopt + '.remote', link['remote'], 'remote and group are mutually exclusive')
        if link.get('remote') is not None:
            out['remote'] = norm_ip(link['remote'], lopt + '.remote')
            if ipaddress.ip_address(out['remote']).is_multicast:
                raise bad_option(lopt + '.remote', link['remote'], 'a multicast address belongs in group')
        if link.get('group') is not None:
            out['group'] = norm_ip(link['group'], lopt + '.group')
            if not ipaddress.ip_address(out['group']).is_multicast:
                raise bad_option(lopt + '.group', link['group'], 'group must be a multicast address; use remote for a unicast peer')
            if link.get('link') is None:
                raise bad_option(lopt + '.link', None, 'a multicast vxlan needs the underlay interface in link')
        if link.get('local') is not None:
            out['local'] = norm_ip(link['local'], lopt + '.local')
        out['dstport'] = check_range(link.get('dstport'), lopt + '.dstport', 1, 65535)
        if out['dstport'] is None:
            out['dstport'] = 4789
        out['link'] = check_ifname(link['link'], lopt + '.link') if link.get('link') is not None else None
        out['underlay'] = link.get('underlay') or 'node'
        if out['underlay'] not in ('node', 'host'):
            raise bad_option(lopt + '.underlay', link['underlay'], "expected 'node' or 'host'")
    return out


def dedupe(items):
    seen = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


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


# ---------------------------------------------------------------------------
# views of a node's network for diff and results


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


# ---------------------------------------------------------------------------
# /etc/netns files


def resolv_conf(decl):
    if decl['nameservers'] is None and decl['search'] is None:
        return None
    lines = [MANAGED_HEADER]
    if decl['search']:
        lines.append('search %s\n' % ' '.join(decl['search']))
    for server in decl['nameservers'] or []:
        lines.append('nameserver %s\n' % server)
    return ''.join(lines)


def hosts_file(decl):
    if decl['hosts'] is None:
        return None
    lines = [MANAGED_HEADER, '127.0.0.1\tlocalhost\n', '::1\tlocalhost ip6-localhost ip6-loopback\n']
    if decl['hostname'] and decl['hostname'] not in decl['hosts']:
        lines.append('127.0.1.1\t%s\n' % decl['hostname'])
    for host, addr in sorted(decl['hosts'].items(), key=lambda item: (item[1], item[0])):
        lines.append('%s\t%s\n' % (addr, host))
    return ''.join(lines)


def read_file(path):
    try:
        with open(path, 'r') as handle:
            return handle.read()
    except IOError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise


def write_file(path, content):
    """Write atomically: a temporary file in the same folder, then rename."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    fd, tmp = tempfile.mkstemp(prefix='.nsforge-', dir=directory)
    try:
        with os.fdopen(fd, 'w') as handle:
            handle.write(content)
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def restore_file(path, content):
    if content is None:
        try:
            os.unlink(path)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise
        try:
            os.rmdir(os.path.dirname(path))
        except OSError:
            pass
    else:
        write_file(path, content)


# ---------------------------------------------------------------------------
# reading the actual state


class Reader:
    """Reads nodes' actual state through a netlink session."""

    def __init__(self, session):
        self.session = session

    def node(self, decl):
        name = decl['name']
        pinned = nodes.netns_state(name)
        actual = {'exists': pinned == 'present', 'stale': pinned == 'stale', 'links': {}, 'routes': [],
                  'sysctl': {}, 'hostname': None, 'uts': nodes.uts_exists(name), 'files': {}}
        if actual['exists']:
            tables = set(r['table'] for r in decl['routes']) | set([RT_TABLE_MAIN])
            state = self.session.read(nodes.netns_path(name), tables)
            actual['links'] = state['links']
            actual['routes'] = state['routes']
            if decl['sysctl']:
                from ansible_collections.nsforge.linux.plugins.module_utils import kernel
                with kernel.entered(nodes.netns_path(name), 'net'):
                    for key, item in decl['sysctl'].items():
                        value = read_file(item['path'])
                        actual['sysctl'][key] = ' '.join(value.split()) if value is not None else None
        if actual['uts']:
            actual['hostname'] = nodes.read_hostname(name)
        etc = nodes.etc_dir(name)
        for key in ('resolv.conf', 'hosts'):
            actual['files'][key] = read_file(os.path.join(etc, key))
        actual['etc_exists'] = os.path.isdir(etc)
        return actual

    def host(self):
        return self.session.read(None)


# ---------------------------------------------------------------------------
# planning: declared against actual -> changes


def link_mismatch(cur, link):
    """Why an existing link cannot be kept as declared (needs delete and create), or None."""
    if cur['kind'] != link['type']:
        return 'it is a %s, declared %s' % (cur['kind'], link['type'])
    if link['type'] == 'vlan':
        if cur.get('vlan_id') != link['vlan_id'] or cur.get('parent') != link['link']:
            return 'its vlan id or parent differs'
    elif link['type'] == 'macvlan':
        if cur.get('mode') != link['mode'] or cur.get('parent') != link['link']:
            return 'its mode or parent differs'
    elif link['type'] == 'vxlan':
        if cur.get('vni') != link['vni'] or cur.get('dstport') != link['dstport'] \
                or (link['link'] is not None and cur.get('parent') != link['link']):
            return 'its vni, port or underlay interface differs'
        if vxlan_endpoints(cur, link) is None:
            return 'its remote, group or local address differs'
        if (cur.get('underlay') or 'node') != link['underlay']:
            return 'its underlay namespace is %s, declared %s' % (cur.get('underlay') or 'node', link['underlay'])
    return None


def vxlan_endpoints(cur, link):
    """{'remote': .., 'local': ..} to set in place on an existing vxlan ({} when they match), or None when the device
    must be created again: the kernel changes a unicast remote and the local address of a vxlan in place (the
    device keeps its index), but not a multicast group, nor an address given up."""
    have_target = cur.get('group')
    want_target = link['remote'] or link['group']
    change = {}
    if have_target != want_target:
        if link['group'] is not None or want_target is None or have_target is None \
                or ipaddress.ip_address(have_target).is_multicast:
            return None
        change['remote'] = want_target
    if cur.get('local') != link['local']:
        if link['local'] is None:
            return None
        change['local'] = link['local']
    return change


class Planner:
    """Builds the change list for a set of node declarations."""

    def __init__(self, session, decls, actual):
        self.session = session
        self.decls = decls
        self.by_name = dict((d['name'], d) for d in decls)
        self.actual = actual          # name -> actual dict (Reader.node)
        self._peers_into = None       # node name -> veth peers declared into it
        self._host = None
        self.changes = []
        self.track = dict((d['name'], {'purge_links': set(), 'recreated': set(), 'peers_in': [], 'routes_added': [],
                                       'routes_removed': [], 'files': {}}) for d in decls)
        self.removed = dict((d['name'], {'interfaces': [], 'files': [], 'handles': []}) for d in decls)

    # -- helpers
    def add(self, phase, description, apply, undo=None):
        self.changes.append(Change(description, apply, undo, phase))

    def host_links(self):
        if self._host is None:
            self._host = self.session.read(None)['links']
        return self._host

    def links_of(self, netns):
        """Actual links of a namespace (node name, or None for the host); {} for one not created yet."""
        if netns is None:
            return self.host_links()
        act = self.actual.get(netns)
        if act is None:
            if nodes.netns_exists(netns):
                act = {'links': self.session.read(nodes.netns_path(netns))['links'], 'exists': True}
                self.actual[netns] = act
            else:
                return {}
        return act['links'] if act['exists'] else {}

    def path(self, netns):
        return None if netns is None else nodes.netns_path(netns)

    def exists(self, netns):
        if netns is None:
            return True
        act = self.actual.get(netns)
        return act['exists'] if act is not None else nodes.netns_exists(netns)

    # -- the plan
    def plan(self):
        for decl in self.decls:
            if decl['state'] == 'absent':
                self.plan_absent(decl)
        for decl in self.decls:
            if decl['state'] == 'present':
                self.plan_present(decl)
        return ordered(self.changes)

    def plan_absent(self, decl):
        name = decl['name']
        act = self.actual[name]
        removed = self.removed[name]
        if act['exists']:
            path = nodes.netns_path(name)
            for ifname, link in sorted(act['links'].items()):
                if link['kind'] == 'loopback':
                    continue
                removed['interfaces'].append(ifname)
                self.add(PH_REMOVE, 'node %s: delete interface %s' % (name, ifname),
                         lambda p=path, i=ifname: self.session.link_del(p, i))
            removed['handles'].append(path)
            self.add(PH_REMOVE, 'node %s: remove network namespace %s' % (name, path), lambda: self._remove_ns(name))
        elif act['stale']:
            removed['handles'].append(nodes.netns_path(name))
            self.add(PH_REMOVE, 'node %s: remove stale handle %s' % (name, nodes.netns_path(name)),
                     lambda: nodes.remove_netns(name))
        if act['uts'] or os.path.lexists(nodes.uts_path(name)):
            removed['handles'].append(nodes.uts_path(name))
            self.add(PH_REMOVE, 'node %s: remove UTS namespace handle %s' % (name, nodes.uts_path(name)),
                     lambda: nodes.remove_uts(name))
        if act['etc_exists']:
            etc = nodes.etc_dir(name)
            removed['files'].append(etc)
            self.add(PH_REMOVE, 'node %s: remove %s' % (name, etc), lambda: nodes.remove_etc(name))

    def _remove_ns(self, name):
        self.session.forget(nodes.netns_path(name))
        nodes.remove_netns(name)

    def plan_present(self, decl):
        name = decl['name']
        act = self.actual[name]
        path = nodes.netns_path(name)
        track = self.track[name]
        if not act['exists']:
            what = 'replace stale handle and create' if act['stale'] else 'create'
            self.add(PH_NS, 'node %s: %s network namespace %s' % (name, what, path),
                     lambda: nodes.create_netns(name), lambda: self._remove_ns(name))
        # hostname
        if decl['hostname'] is not None:
            if not act['uts']:
                self.add(PH_UTS, 'node %s: create UTS namespace with hostname %s' % (name, decl['hostname']),
                         lambda: nodes.create_uts(name, decl['hostname']), lambda: nodes.remove_uts(name))
            elif act['hostname'] != decl['hostname']:
                old = act['hostname']
                self.add(PH_UTS, 'node %s: set hostname %s (was %s)' % (name, decl['hostname'], old),
                         lambda: nodes.write_hostname(name, decl['hostname']), lambda: nodes.write_hostname(name, old))
        links = act['links'] if act['exists'] else {}
        # loopback
        lo = links.get('lo')
        if decl['loopback'] and (lo is None or not lo['up']):
            self.add(PH_UP, 'node %s: bring lo up' % name,
                     lambda: self.session.link_set(path, 'lo', {'state': 'up'}),
                     lambda: self.session.link_set(path, 'lo', {'state': 'down'}) if self.exists_now(name) else None)
        declared = dict((l['name'], l) for l in decl['links'])
        peers_in = self.peers_into(name)
        track['peers_in'] = [dict(p, is_peer=True) for p in peers_in]
        # links of the node
        for link in decl['links']:
            self.plan_link(decl, link, links, declared)
        # purge undeclared links
        if decl['purge']:
            keep = set(declared) | set(p['name'] for p in peers_in) | set(['lo'])
            for ifname, cur in sorted(links.items()):
                if ifname in keep or cur['kind'] == 'loopback':
                    continue
                alias = cur.get('alias') or ''
                if alias.startswith(PEER_ALIAS_PREFIX):
                    owner = alias[len(PEER_ALIAS_PREFIX):].split('/', 1)[0]
                    if owner != name and self.owner_alive(owner):
                        continue
                track['purge_links'].add(ifname)
                self.add(PH_LINK_DEL, 'node %s: delete undeclared interface %s' % (name, ifname),
                         lambda i=ifname: self.session.link_del(path, i))
        # peers placed into this node by veths of other nodes: their addresses are
        # handled by the owner; here only nothing
        self.plan_routes(decl, links, declared)
        self.plan_sysctl(decl)
        self.plan_files(decl)

    def replaceable_peer(self, peer, peer_cur):
        """Whether an existing interface in the way of a veth peer may be deleted: not a veth, in a node that this
        task declares with purge and whose own links do not name it (a link that changed from a tunnel to a veth)."""
        pdecl = self.by_name.get(peer['netns']) if peer['netns'] is not None else None
        return (pdecl is not None and pdecl['state'] == 'present' and pdecl['purge'] and peer_cur['kind'] != 'veth'
                and peer['name'] not in set(l['name'] for l in pdecl['links']))

    def exists_now(self, name):
        return nodes.netns_exists(name)

    def owner_alive(self, owner):
        try:
            return nodes.netns_exists(owner)
        except NsforgeError:
            return False

    def peers_into(self, name):
        """The veth peers that declarations place in node name (indexed once: a lab of N nodes asks N times)."""
        if self._peers_into is None:
            self._peers_into = {}
            for decl in self.decls:
                if decl['state'] != 'present':
                    continue
                for link in decl['links']:
                    peer = link['peer']
                    if peer is not None:
                        self._peers_into.setdefault(peer['netns'], []).append({
                            'name': peer['name'], 'type': 'veth', 'addresses': peer['addresses'], 'master': peer['master'],
                            'mtu': peer['mtu'], 'mac': None, 'state': 'up'})
        return [dict(item) for item in self._peers_into.get(name, [])]

    def plan_link(self, decl, link, links, declared):
        name = decl['name']
        path = nodes.netns_path(name)
        lopt = link['option']
        cur = links.get(link['name'])
        track = self.track[name]
        # parents and masters must exist or be declared
        if link['type'] in PARENT_TYPES and link['link'] is not None:
            if link.get('underlay') == 'host':
                if link['link'] not in self.host_links():
                    raise bad_option(lopt + '.link', link['link'], 'no interface of that name in the host, the underlay')
            elif link['link'] not in declared and link['link'] not in links:
                raise bad_option(lopt + '.link', link['link'], 'no interface of that name in node %s' % name)
        if link['master'] is not None and link['master'] not in declared:
            mcur = links.get(link['master'])
            if mcur is None:
                raise bad_option(lopt + '.master', link['master'], 'no bridge of that name in node %s' % name)
            if mcur['kind'] != 'bridge':
                raise bad_option(lopt + '.master', link['master'], 'the master is a %s, not a bridge' % mcur['kind'])
        peer = link['peer']
        peer_links = None
        peer_cur = None
        if peer is not None:
            peer_links = self.links_of(peer['netns']) if self.exists(peer['netns']) else {}
            peer_cur = peer_links.get(peer['name'])
            where = 'the host' if peer['netns'] is None else 'node %s' % peer['netns']
            if peer['master'] is not None:
                mcur = peer_links.get(peer['master'])
                pdecl = self.by_name.get(peer['netns']) if peer['netns'] is not None else None
                pdeclared = dict((l['name'], l) for l in pdecl['links']) if pdecl else {}
                mtype = pdeclared[peer['master']]['type'] if peer['master'] in pdeclared else (mcur['kind'] if mcur else None)
                if mtype is None:
                    raise bad_option(lopt + '.peer.master', peer['master'], 'no bridge of that name in %s' % where)
                if mtype != 'bridge':
                    raise bad_option(lopt + '.peer.master', peer['master'], 'the master is a %s, not a bridge' % mtype)
        create = cur is None
        if cur is not None:
            why = link_mismatch(cur, link)
            if why is None and peer is not None:
                ok = (peer_cur is not None and peer_cur['kind'] == 'veth' and peer_cur.get('link_index') == cur['index']
                      and cur.get('link_index') == peer_cur['index']
                      and ((peer['netns'] == name) == (cur.get('link_netnsid') is None)))
                if not ok:
                    why = 'its peer is not %s in %s' % (peer['name'], 'the host' if peer['netns'] is None else 'node ' + peer['netns'])
            if why is not None:
                create = True
                track['recreated'].add(link['name'])
                self.add(PH_LINK_DEL, 'node %s: delete interface %s to recreate it (%s)' % (name, link['name'], why),
                         lambda: self.session.link_del(path, link['name']))
                if peer is not None and peer_cur is not None and not (
                        peer_cur['kind'] == 'veth' and peer_cur.get('link_index') == cur['index']):
                    raise bad_option(lopt + '.peer.name', peer['name'], 'an interface of that name already exists in %s'
                                     % ('the host' if peer['netns'] is None else 'node ' + peer['netns']))
                peer_cur = None
                cur = None
        elif peer is not None and peer_cur is not None:
            if not self.replaceable_peer(peer, peer_cur):
                raise bad_option(lopt + '.peer.name', peer['name'], 'an interface of that name already exists in %s'
                                 % ('the host' if peer['netns'] is None else 'node ' + peer['netns']))
            # the peer's node purges and does not declare it: an interface of another kind gives way to the veth
            ppath = self.path(peer['netns'])
            self.track[peer['netns']]['recreated'].add(peer['name'])
            self.add(PH_LINK_DEL, 'node %s: delete %s %s, which becomes the peer of %s in node %s'
                     % (peer['netns'], peer_cur['kind'], peer['name'], link['name'], name),
                     lambda: self.session.link_del(ppath, peer['name']))
            peer_cur = None
        if create:
            phase = PH_BRIDGE if link['type'] == 'bridge' else (PH_CHILD if link['type'] in PARENT_TYPES else PH_LINK)
            desc = 'node %s: create %s %s' % (name, link['type'], link['name'])
            if peer is not None:
                desc += ' with peer %s in %s' % (peer['name'], 'the host' if peer['netns'] is None else 'node ' + peer['netns'])
            self.add(phase, desc, lambda: self._create(path, link), lambda: self.session.link_del(path, link['name']))
        if not create and link['type'] == 'vxlan':
            change = vxlan_endpoints(cur, link)
            if change:
                undo = dict((key, cur.get('group' if key == 'remote' else key)) for key in change)
                words = ', '.join('%s %s (was %s)' % (k, v, undo[k]) for k, v in sorted(change.items()))
                self.add(PH_LINK_SET, 'node %s: set %s %s' % (name, link['name'], words),
                         lambda: self.session.vxlan_set(path, link['name'], change),
                         lambda: self.session.vxlan_set(path, link['name'], undo))
        self.plan_attrs(name, path, link, cur, decl['purge'], create)
        if peer is not None:
            ppath = self.path(peer['netns'])
            pname = 'host' if peer['netns'] is None else 'node %s' % peer['netns']
            pspec = {'name': peer['name'], 'mtu': peer['mtu'], 'mac': None, 'master': peer['master'], 'state': 'up',
                     'addresses': peer['addresses']}
            if peer['netns'] is not None and peer['netns'] != name:
                pspec['alias'] = '%s%s/%s' % (PEER_ALIAS_PREFIX, name, link['name'])
            self.plan_attrs(pname, ppath, pspec, peer_cur, False, create, label=pname)

    def _create(self, path, link):
        parent = None
        if link['type'] in PARENT_TYPES and link['link'] is not None:
            parent = self.session.index_of(None if link.get('underlay') == 'host' else path, link['link'])
        peer_path = None
        if link['peer'] is not None:
            # the peer is created in the namespace of this fd; the host's is the module's own
            peer_path = self.path(link['peer']['netns']) or '/proc/self/ns/net'
        try:
            self.session.link_add(path, link, peer_ns_path=peer_path, parent_index=parent)
        except NsforgeError:
            raise
        except Exception as exc:  # pylint: disable=broad-except
            code = getattr(exc, 'code', None) or getattr(exc, 'errno', None)
            if code == errno.EOPNOTSUPP:
                raise NsforgeError('%s.type: the kernel of this host does not support %s links (is its module loaded?)'
                                   % (link['option'], link['type']), option=link['option'] + '.type', value=link['type'])
            if code == errno.EEXIST and link['type'] == 'vxlan':
                raise NsforgeError('%s.vni: VNI %d on UDP port %d is already used by another vxlan device whose underlay '
                                   'is the %s namespace (a VNI is unique per underlay namespace and port)'
                                   % (link['option'], link['vni'], link['dstport'],
                                      "host's" if link['underlay'] == 'host' else "node's"),
                                   option=link['option'] + '.vni', value=link['vni'])
            raise

    def plan_attrs(self, name, path, link, cur, purge, created, label=None):
        """Attributes of one interface: mtu, mac, master, alias, addresses, state."""
        label = label or 'node %s' % name
        ifname = link['name']
        setting = {}
        undo = {}
        for key in ('mtu', 'mac'):
            want = link.get(key)
            have = cur.get(key) if cur else None
            if want is not None and (created or have != want):
                setting[key] = want
                if have is not None:
                    undo[key] = have
        have_master = cur.get('master') if cur else None
        if link.get('master') is not None and (created or have_master != link['master']):
            setting['master'] = link['master']
            undo['master'] = have_master
        elif link.get('master') is None and purge and have_master is not None:
            setting['master'] = None
            undo['master'] = have_master
        if link.get('alias') is not None and (created or (cur.get('alias') if cur else None) != link['alias']):
            setting['alias'] = link['alias']
        if setting:
            words = ', '.join('%s %s' % (k, 'none' if v is None else v) for k, v in sorted(setting.items()))
            self.add(PH_LINK_SET, '%s: set %s %s' % (label, ifname, words),
                     lambda: self.session.link_set(path, ifname, setting),
                     (lambda: self.session.link_set(path, ifname, undo)) if undo and not created else None)
        # addresses
        have_addrs = addr_view(cur['addresses']) if cur else []
        want_addrs = link.get('addresses')
        if want_addrs is not None or purge:
            want_addrs = want_addrs or []
            if purge:
                for cidr in have_addrs:
                    if cidr not in want_addrs:
                        self.add(PH_ADDR, '%s: remove address %s from %s' % (label, cidr, ifname),
                                 lambda c=cidr: self.session.addr(path, 'del', ifname, c),
                                 lambda c=cidr: self.session.addr(path, 'add', ifname, c))
            for cidr in want_addrs:
                if cidr not in have_addrs:
                    self.add(PH_ADDR, '%s: add address %s to %s' % (label, cidr, ifname),
                             lambda c=cidr: self.session.addr(path, 'add', ifname, c),
                             None if created else (lambda c=cidr: self.session.addr(path, 'del', ifname, c)))
        # administrative state
        want_up = (link.get('state') or 'up') == 'up'
        have_up = cur['up'] if cur else False
        if want_up != have_up:
            self.add(PH_UP, '%s: set %s %s' % (label, ifname, 'up' if want_up else 'down'),
                     lambda: self.session.link_set(path, ifname, {'state': 'up' if want_up else 'down'}),
                     None if created else (lambda: self.session.link_set(path, ifname, {'state': 'up' if have_up else 'down'})))

    def plan_routes(self, decl, links, declared):
        name = decl['name']
        path = nodes.netns_path(name)
        act = self.actual[name]
        track = self.track[name]
        actual = dict((route_key(r), r) for r in act['routes'])
        wanted = set()
        peers_in = set(p['name'] for p in track['peers_in'])  # veth ends that other nodes of the task put here
        for i, route in enumerate(decl['routes']):
            ropt = opt(decl['prefix'], 'routes[%d]' % i)
            if route['dev'] is not None and route['dev'] not in declared and route['dev'] not in links \
                    and route['dev'] not in peers_in:
                raise bad_option(ropt + '.dev', route['dev'], 'no interface of that name in node %s' % name)
            key = route_key(route)
            wanted.add(key)
            cur = actual.get(key)
            if cur is None:
                track['routes_added'].append(route_text(route))
                self.add(PH_ROUTE, 'node %s: add route %s' % (name, route_text(route)),
                         lambda r=route: self.session.route(path, 'add', r),
                         lambda r=route: self.session.route(path, 'del', r))
            elif cur['gateway'] != route['gateway'] or (route['dev'] is not None and cur['dev'] != route['dev']) \
                    or cur['proto'] not in (3, 4):
                track['routes_removed'].append(route_text(cur))
                track['routes_added'].append(route_text(route))
                self.add(PH_ROUTE, 'node %s: replace route %s (was %s)' % (name, route_text(route), route_text(cur)),
                         lambda r=route: self.session.route(path, 'replace', r),
                         lambda c=cur: self.session.route(path, 'replace', c))
        if decl['purge']:
            for key, cur in sorted(actual.items(), key=lambda item: route_text(item[1])):
                if key in wanted or cur['proto'] not in (3, 4):
                    continue
                track['routes_removed'].append(route_text(cur))
                self.changes.insert(0, Change('node %s: delete undeclared route %s' % (name, route_text(cur)),
                                              lambda c=cur: self.session.route(path, 'del', c),
                                              lambda c=cur: self.session.route(path, 'add', c), PH_ROUTE))

    def plan_sysctl(self, decl):
        name = decl['name']
        act = self.actual[name]
        path = nodes.netns_path(name)
        for key, item in sorted(decl['sysctl'].items()):
            have = act['sysctl'].get(key)
            if have == item['value']:
                continue
            if have is None and act['exists'] and not any(l['name'] in key.split('.') for l in decl['links']):
                raise bad_option(opt(decl['prefix'], 'sysctl'), key, 'no such setting in the network namespace of node %s' % name)
            self.add(PH_SYSCTL, 'node %s: set %s = %s%s' % (name, key, item['value'], '' if have is None else ' (was %s)' % have),
                     lambda i=item, k=key: self._write_sysctl(name, k, i['path'], i['value']),
                     None if have is None else (lambda i=item, k=key, h=have: self._write_sysctl(name, k, i['path'], h)))

    def _write_sysctl(self, name, key, path, value):
        from ansible_collections.nsforge.linux.plugins.module_utils import kernel
        with kernel.entered(nodes.netns_path(name), 'net'):
            try:
                with open(path, 'w') as handle:
                    handle.write(value)
            except (IOError, OSError) as exc:
                raise NsforgeError('sysctl.%s: cannot write %r in node %s: %s' % (key, value, name, os.strerror(exc.errno)),
                                   option='sysctl.%s' % key, value=value)

    def plan_files(self, decl):
        name = decl['name']
        act = self.actual[name]
        track = self.track[name]
        for key, content in (('resolv.conf', resolv_conf(decl)), ('hosts', hosts_file(decl))):
            if content is None:
                continue
            have = act['files'].get(key)
            if have == content:
                continue
            fpath = os.path.join(nodes.etc_dir(name), key)
            track['files'][key] = content
            self.add(PH_FILES, 'node %s: write %s' % (name, fpath),
                     lambda p=fpath, c=content: write_file(p, c), lambda p=fpath, h=have: restore_file(p, h))


def facts_of(name, actual):
    """The result facts of one node from what Reader.node read."""
    if not actual['exists']:
        return {'name': name, 'state': 'absent', 'path': nodes.netns_path(name), 'inode': None,
                'hostname': None, 'interfaces': [], 'routes': []}
    result = {
        'name': name,
        'state': 'present',
        'path': nodes.netns_path(name),
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


def converge(params, check_mode, session):
    """The whole netns task: validate, read, plan, apply, report. Returns the result dict."""
    decls = validate(params)
    names = [d['name'] for d in decls]
    with nodes.locked(names):
        reader = Reader(session)
        actual = dict((d['name'], reader.node(d)) for d in decls)
        planner = Planner(session, decls, actual)
        changes = planner.plan()
        from ansible_collections.nsforge.linux.plugins.module_utils import persist
        file_diffs = persist.add_to(persist.plan_netns(params), changes)
        before = dict((d['name'], actual_view(actual[d['name']])) for d in decls)
        from ansible_collections.nsforge.linux.plugins.module_utils import changes as changelist
        from ansible_collections.nsforge.linux.plugins.module_utils.netlink import describe_error
        descriptions = changelist.run(changes, check_mode, describe_error)
        if check_mode or not changes:
            after = dict((d['name'], predicted_view(before[d['name']], d, planner.track[d['name']]) if changes else before[d['name']])
                         for d in decls)
            node_facts = [facts_of(d['name'], actual[d['name']]) for d in decls]
        else:
            after_actual = dict((d['name'], Reader(session).node(d)) for d in decls)
            after = dict((d['name'], actual_view(after_actual[d['name']])) for d in decls)
            node_facts = [facts_of(d['name'], after_actual[d['name']]) for d in decls]
    result = {
        'changed': bool(changes),
        'changes': descriptions,
        'diff': persist.merge_diff({'before': before, 'after': after}, file_diffs),
    }
    removed = dict((n, r) for n, r in planner.removed.items() if any(r.values()))
    if params.get('namespaces') is not None:
        result['nodes'] = node_facts
        result['removed'] = removed
    else:
        result['node'] = node_facts[0]
        result['removed'] = removed.get(names[0], {'interfaces': [], 'files': [], 'handles': []})
    return result
