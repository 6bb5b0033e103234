# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""Netlink through pyroute2: the only file of the collection that imports pyroute2.

Sockets are opened inside a namespace by an in-process setns there and back:
a netlink socket stays bound to the namespace it was created in. pyroute2's
own netns helpers fork a child per socket and create missing namespaces, so
they are not used.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import socket
import traceback

from ansible_collections.nsforge.linux.plugins.module_utils import kernel
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError

PYROUTE2_IMPORT_ERROR = None
try:
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError
except ImportError:
    PYROUTE2_IMPORT_ERROR = traceback.format_exc()
    IPRoute = None

    class NetlinkError(Exception):  # type: ignore[no-redef]
        """Stand-in so that except clauses work without pyroute2."""

        code = 0

IFF_UP = 0x1
IFA_F_NODAD = 0x02
IFA_F_PERMANENT = 0x80
RTPROT_STATIC = 4
RT_TABLE_MAIN = 254

MACVLAN_MODES = {'private': 1, 'vepa': 2, 'bridge': 4, 'passthru': 8, 'source': 16}
MACVLAN_MODE_NAMES = dict((v, k) for k, v in MACVLAN_MODES.items())


def have_pyroute2():
    return IPRoute is not None


def _describe(exc):
    if isinstance(exc, NetlinkError):
        code = exc.code if getattr(exc, 'code', None) is not None else 0
        return '%s (errno %d)' % (os.strerror(code) if code else str(exc), code)
    if isinstance(exc, OSError) and exc.errno:
        return '%s (errno %d)' % (os.strerror(exc.errno), exc.errno)
    return str(exc)


def error_code(exc):
    return getattr(exc, 'code', None) or getattr(exc, 'errno', None) or 0


class Session:
    """Netlink sockets keyed by namespace path; None means the module's own namespace."""

    def __init__(self):
        self._socks = {}

    def sock(self, ns_path):
        sock = self._socks.get(ns_path)
        if sock is None:
            if IPRoute is None:
                raise NsforgeError('pyroute2 is required')
            if ns_path is None:
                sock = IPRoute()
            else:
                with kernel.entered(ns_path, 'net'):
                    sock = IPRoute()
            self._socks[ns_path] = sock
        return sock

    def forget(self, ns_path):
        sock = self._socks.pop(ns_path, None)
        if sock is not None:
            sock.close()

    def close(self):
        for sock in self._socks.values():
            try:
                sock.close()
            except Exception:  # pylint: disable=broad-except
                pass
        self._socks = {}

    # ---- reading -------------------------------------------------------

    def read(self, ns_path, tables=None):
        """Return the actual state of a namespace as plain data.

        {'links': {name: {...}}, 'routes': [...]}
        """
        ipr = self.sock(ns_path)
        links = {}
        by_index = {}
        for msg in ipr.get_links():
            info = _link_info(msg)
            links[info['name']] = info
            by_index[info['index']] = info['name']
        for info in links.values():
            info['master'] = by_index.get(info.pop('master_index'))
            parent = info.get('link_index')
            if info['kind'] in ('vlan', 'macvlan') or info['kind'] == 'vxlan':
                info['parent'] = by_index.get(parent) if parent else None
        for msg in ipr.get_addr():
            name = by_index.get(msg['index'])
            if name is None:
                continue
            addr = msg.get_attr('IFA_LOCAL') if msg['family'] == socket.AF_INET else None
            addr = addr or msg.get_attr('IFA_ADDRESS')
            if not addr:
                continue
            links[name]['addresses'].append('%s/%d' % (addr, msg['prefixlen']))
        wanted = set(tables or [RT_TABLE_MAIN])
        routes = []
        for msg in ipr.get_routes():
            table = msg.get_attr('RTA_TABLE') or msg['table']
            if table not in wanted or msg['type'] != 1:
                continue
            family = msg['family']
            dst = msg.get_attr('RTA_DST')
            if dst is None:
                dst = '0.0.0.0' if family == socket.AF_INET else '::'
            metric = msg.get_attr('RTA_PRIORITY')
            if metric is None:
                metric = 0
            oif = msg.get_attr('RTA_OIF')
            routes.append({
                'family': 4 if family == socket.AF_INET else 6,
                'dst': '%s/%d' % (dst, msg['dst_len']),
                'gateway': msg.get_attr('RTA_GATEWAY'),
                'dev': by_index.get(oif) if oif else None,
                'metric': metric,
                'table': table,
                'proto': msg['proto'],
                'scope': msg['scope'],
            })
        return {'links': links, 'routes': routes}

    def index_of(self, ns_path, name):
        found = self.sock(ns_path).link_lookup(ifname=name)
        if not found:
            raise NsforgeError('interface %s not found' % name)
        return found[0]

    # ---- writing -------------------------------------------------------

    def link_add(self, ns_path, spec, peer_ns_path=None, parent_index=None):
        """Create a link described by spec (a normalized link dict)."""
        ipr = self.sock(ns_path)
        kind = spec['type']
        args = {'ifname': spec['name'], 'kind': kind}
        if kind == 'veth':
            peer = {'ifname': spec['peer']['name']}
            fd = None
            if peer_ns_path is not None:
                fd = os.open(peer_ns_path, os.O_RDONLY | os.O_CLOEXEC)
                peer['net_ns_fd'] = fd
            args['peer'] = peer
            try:
                ipr.link('add', **args)
            finally:
                if fd is not None:
                    os.close(fd)
            return
        if kind == 'vlan':
            args['link'] = parent_index
            args['vlan_id'] = spec['vlan_id']
        elif kind == 'macvlan':
            args['link'] = parent_index
            args['macvlan_mode'] = spec['mode']
        elif kind == 'vxlan':
            args['vxlan_id'] = spec['vni']
            if parent_index is not None:
                args['vxlan_link'] = parent_index
            if spec.get('dstport') is not None:
                args['vxlan_port'] = spec['dstport']
            target = spec.get('remote') or spec.get('group')
            if target:
                args['vxlan_group6' if ':' in target else 'vxlan_group'] = target
            if spec.get('local'):
                args['vxlan_local6' if ':' in spec['local'] else 'vxlan_local'] = spec['local']
        ipr.link('add', **args)

    def link_del(self, ns_path, name):
        ipr = self.sock(ns_path)
        found = ipr.link_lookup(ifname=name)
        if found:
            ipr.link('del', index=found[0])

    def link_set(self, ns_path, name, attrs):
        """Set mtu, mac, state, master (name or None to detach), alias."""
        ipr = self.sock(ns_path)
        index = self.index_of(ns_path, name)
        args = {}
        if 'mtu' in attrs:
            args['mtu'] = attrs['mtu']
        if 'mac' in attrs:
            args['address'] = attrs['mac']
        if 'master' in attrs:
            args['master'] = self.index_of(ns_path, attrs['master']) if attrs['master'] else 0
        if 'alias' in attrs:
            args['ifalias'] = attrs['alias'] or ''
        if args:
            ipr.link('set', index=index, **args)
        if 'state' in attrs:
            ipr.link('set', index=index, state=attrs['state'])

    def addr(self, ns_path, command, name, cidr):
        ipr = self.sock(ns_path)
        index = self.index_of(ns_path, name)
        address, prefix = cidr.split('/')
        args = {'index': index, 'address': address, 'prefixlen': int(prefix)}
        if ':' in address and command == 'add':
            # a lab's veths need no duplicate address detection, and it would
            # keep a new address unusable ("tentative") for a second or two
            args['flags'] = IFA_F_NODAD
        try:
            ipr.addr(command, **args)
        except NetlinkError as exc:
            if command == 'add' and error_code(exc) == errno.EEXIST:
                return
            if command == 'del' and error_code(exc) == errno.EADDRNOTAVAIL:
                return
            raise

    def route(self, ns_path, command, route):
        ipr = self.sock(ns_path)
        args = {
            'dst': route['dst'],
            'family': socket.AF_INET if route['family'] == 4 else socket.AF_INET6,
            'table': route['table'],
            'proto': RTPROT_STATIC,
        }
        if route.get('gateway'):
            args['gateway'] = route['gateway']
        if route.get('dev'):
            args['oif'] = self.index_of(ns_path, route['dev'])
        if route.get('metric') is not None:
            args['priority'] = route['metric']
        if command == 'del':
            args.pop('proto')
        ipr.route(command, **args)


def describe_error(exc):
    return _describe(exc)


def _link_info(msg):
    linkinfo = msg.get_attr('IFLA_LINKINFO')
    kind = None
    data = None
    if linkinfo is not None:
        kind = linkinfo.get_attr('IFLA_INFO_KIND')
        data = linkinfo.get_attr('IFLA_INFO_DATA')
    name = msg.get_attr('IFLA_IFNAME')
    if kind is None:
        kind = 'loopback' if name == 'lo' else 'other'
    info = {
        'name': name,
        'index': msg['index'],
        'kind': kind,
        'mtu': msg.get_attr('IFLA_MTU'),
        'mac': msg.get_attr('IFLA_ADDRESS'),
        'up': bool(msg['flags'] & IFF_UP),
        'master_index': msg.get_attr('IFLA_MASTER'),
        'link_index': msg.get_attr('IFLA_LINK'),
        'link_netnsid': msg.get_attr('IFLA_LINK_NETNSID'),
        'alias': msg.get_attr('IFLA_IFALIAS'),
        'addresses': [],
    }
    if data is not None:
        if kind == 'vlan':
            info['vlan_id'] = data.get_attr('IFLA_VLAN_ID')
        elif kind == 'macvlan':
            mode = data.get_attr('IFLA_MACVLAN_MODE')
            info['mode'] = MACVLAN_MODE_NAMES.get(mode, mode)
        elif kind == 'vxlan':
            info['vni'] = data.get_attr('IFLA_VXLAN_ID')
            info['dstport'] = data.get_attr('IFLA_VXLAN_PORT')
            info['group'] = data.get_attr('IFLA_VXLAN_GROUP') or data.get_attr('IFLA_VXLAN_GROUP6')
            info['local'] = data.get_attr('IFLA_VXLAN_LOCAL') or data.get_attr('IFLA_VXLAN_LOCAL6')
            info['link_index'] = data.get_attr('IFLA_VXLAN_LINK')
    return info
