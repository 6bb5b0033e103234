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
import importlib.util
import os
import socket
import struct
import traceback

from ansible_collections.nsforge.linux.plugins.module_utils import kernel
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError


class _NoNetlinkError(Exception):
    """Stand-in for pyroute2's NetlinkError, so that except clauses work without pyroute2."""

    code = 0


_PYROUTE2 = {}


def _pyroute2():
    """pyroute2's IPRoute (None when it is missing) and NetlinkError, imported on first use: the import costs
    about a quarter of a second, and a run with nothing to change reads through RawRoute only."""
    if not _PYROUTE2:
        try:
            from pyroute2 import IPRoute
            from pyroute2.netlink.exceptions import NetlinkError
            _PYROUTE2.update(IPRoute=IPRoute, NetlinkError=NetlinkError, error=None)
        except ImportError:
            _PYROUTE2.update(IPRoute=None, NetlinkError=_NoNetlinkError, error=traceback.format_exc())
    return _PYROUTE2


IFF_UP = 0x1
NUD_STATIC = 0x40 | 0x80   # NUD_NOARP, NUD_PERMANENT
IFA_F_NODAD = 0x02
IFA_F_PERMANENT = 0x80
RTPROT_STATIC = 4
RT_TABLE_MAIN = 254

MACVLAN_MODES = {'private': 1, 'vepa': 2, 'bridge': 4, 'passthru': 8, 'source': 16}
MACVLAN_MODE_NAMES = dict((v, k) for k, v in MACVLAN_MODES.items())


def have_pyroute2():
    """Whether pyroute2 can be imported (found, not imported yet)."""
    if _PYROUTE2:
        return _PYROUTE2['IPRoute'] is not None
    try:
        return importlib.util.find_spec('pyroute2') is not None
    except (ImportError, ValueError):
        return False


def pyroute2_import_error():
    """The traceback of importing pyroute2, or None."""
    return _pyroute2()['error']


def _describe(exc):
    if isinstance(exc, _PYROUTE2.get('NetlinkError', _NoNetlinkError)):
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
        self._raw = {}

    def sock(self, ns_path):
        """A pyroute2 socket inside the namespace, for the writes."""
        factory = _pyroute2()['IPRoute']
        if factory is None:
            raise NsforgeError('pyroute2 is required')
        return self._open(self._socks, ns_path, factory)

    def raw(self, ns_path):
        """A plain netlink socket inside the namespace, for the reads (see RawRoute)."""
        return self._open(self._raw, ns_path, RawRoute)

    @staticmethod
    def _open(cache, ns_path, factory):
        """The socket of cache for ns_path, made by factory() inside that namespace the first time."""
        sock = cache.get(ns_path)
        if sock is None:
            if ns_path is None:
                sock = factory()
            else:
                with kernel.entered(ns_path, 'net'):
                    sock = factory()
            cache[ns_path] = sock
        return sock

    def forget(self, ns_path):
        for cache in (self._socks, self._raw):
            sock = cache.pop(ns_path, None)
            if sock is not None:
                sock.close()

    def close(self):
        for cache in (self._socks, self._raw):
            for sock in cache.values():
                try:
                    sock.close()
                except Exception:  # pylint: disable=broad-except
                    pass
        self._socks = {}
        self._raw = {}

    # ---- reading -------------------------------------------------------

    def read(self, ns_path, tables=None):
        """Return the actual state of a namespace as plain data.

        {'links': {name: {...}}, 'routes': [...]}, from three netlink dumps
        (links, addresses, routes) parsed here: pyroute2's parser costs
        milliseconds per namespace, which a lab of a thousand nodes pays twice.
        """
        raw = self.raw(ns_path)
        links = {}
        by_index = {}
        for info in raw.dump_links():
            links[info['name']] = info
            by_index[info['index']] = info['name']
        host_nsid = None
        host_by_index = None
        for info in links.values():
            info['master'] = by_index.get(info.pop('master_index'))
            parent = info.get('link_index')
            if info['kind'] in ('vlan', 'macvlan', 'vxlan'):
                info['parent'] = by_index.get(parent) if parent else None
            if info['kind'] == 'vxlan' and ns_path is not None:
                # a vxlan created from the host with its device placed here keeps its UDP socket (its underlay)
                # in the host: the kernel reports that namespace's id as seen from here
                info['underlay'] = 'node'
                if info.get('link_netnsid') is not None:
                    if host_nsid is None:
                        host_nsid = raw.nsid_of(HOST_NS)
                    info['underlay'] = 'host' if info['link_netnsid'] == host_nsid else 'other'
                    if info['underlay'] == 'host' and parent:
                        if host_by_index is None:
                            host_by_index = dict((i['index'], i['name']) for i in self.raw(None).dump_links())
                        info['parent'] = host_by_index.get(parent)
        for index, cidr in raw.dump_addresses():
            name = by_index.get(index)
            if name is not None:
                links[name]['addresses'].append(cidr)
        wanted = set(tables or [RT_TABLE_MAIN])
        routes = []
        for route in raw.dump_routes(sorted(wanted)):
            if route['table'] not in wanted or route.pop('type') != RTN_UNICAST:
                continue
            oif = route.pop('oif')
            route['dev'] = by_index.get(oif) if oif else None
            routes.append(route)
        return {'links': links, 'routes': routes}

    def index_of(self, ns_path, name):
        index = self.raw(ns_path).index_of(name)
        if index is None:
            raise NsforgeError('interface %s not found' % name)
        return index

    # ---- writing -------------------------------------------------------

    def link_add(self, ns_path, spec, peer_ns_path=None, parent_index=None):
        """Create a link described by spec (a normalized link dict).

        A vxlan with underlay 'host' is requested from the module's own namespace and placed into ns_path
        (IFLA_NET_NS_FD): the device lives in the node, its UDP socket in the host.
        """
        kind = spec['type']
        args = {'ifname': spec['name'], 'kind': kind}
        if kind == 'vxlan' and spec.get('underlay') == 'host' and ns_path is not None:
            ipr = self.sock(None)
            fd = os.open(ns_path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                args['net_ns_fd'] = fd
                self._vxlan_args(args, spec, parent_index)
                ipr.link('add', **args)
            finally:
                os.close(fd)
            return
        ipr = self.sock(ns_path)
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
            self._vxlan_args(args, spec, parent_index)
        ipr.link('add', **args)

    @staticmethod
    def _vxlan_args(args, spec, parent_index):
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

    def vxlan_set(self, ns_path, name, change):
        """Change the unicast remote and/or the local address of an existing vxlan in place.

        What the device learned about the old far end goes: its learned forwarding entries (the kernel keeps them
        when the remote changes) and its dynamic neighbour entries, so that traffic finds the new far end at once
        rather than after they age out. Static entries stay.
        """
        ipr = self.sock(ns_path)
        index = self.index_of(ns_path, name)
        args = {'kind': 'vxlan'}
        for key, attr in (('remote', 'group'), ('local', 'local')):
            if change.get(key):
                args['vxlan_%s%s' % (attr, '6' if ':' in change[key] else '')] = change[key]
        ipr.link('set', index=index, **args)
        for entry in ipr.fdb('dump', ifindex=index):
            mac = entry.get_attr('NDA_LLADDR')
            if entry['ifindex'] == index and mac != '00:00:00:00:00:00' and not entry['state'] & NUD_STATIC:
                ipr.fdb('del', ifindex=index, lladdr=mac, dst=entry.get_attr('NDA_DST'))
        for entry in ipr.neigh('dump', ifindex=index):
            if entry['ifindex'] == index and entry['family'] in (socket.AF_INET, socket.AF_INET6) \
                    and not entry['state'] & NUD_STATIC:
                ipr.neigh('del', ifindex=index, dst=entry.get_attr('NDA_DST'), family=entry['family'])

    def link_del(self, ns_path, name):
        """Delete an interface; one that is gone already is fine (a veth goes with its peer, and the kernel removes
        the interfaces of a namespace that lost its last pin a moment later, from a work queue)."""
        index = self.raw(ns_path).index_of(name)
        if index is None:
            return
        try:
            self.sock(ns_path).link('del', index=index)
        except _pyroute2()['NetlinkError'] as exc:
            if error_code(exc) != errno.ENODEV:
                raise

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
        except _pyroute2()['NetlinkError'] as exc:
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


# ---------------------------------------------------------------------------
# reading without pyroute2: three dumps parsed with struct

NETLINK_ROUTE = 0
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300
RTM_NEWLINK = 16
RTM_GETLINK = 18
RTM_NEWADDR = 20
RTM_GETADDR = 22
RTM_NEWROUTE = 24
RTM_GETROUTE = 26
RTM_NEWNSID = 88
RTM_GETNSID = 90
NETNSA_NSID = 1
NETNSA_FD = 3
HOST_NS = '/proc/self/ns/net'
RTN_UNICAST = 1
RT_TABLE_COMPAT = 252
NLA_TYPE_MASK = 0x3fff
SOL_NETLINK = 270
NETLINK_GET_STRICT_CHK = 12

IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFLA_MTU = 4
IFLA_LINK = 5
IFLA_MASTER = 10
IFLA_LINKINFO = 18
IFLA_IFALIAS = 20
IFLA_LINK_NETNSID = 37
IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
IFLA_VLAN_ID = 1
IFLA_MACVLAN_MODE = 1
IFLA_VXLAN_ID = 1
IFLA_VXLAN_GROUP = 2
IFLA_VXLAN_LINK = 3
IFLA_VXLAN_LOCAL = 4
IFLA_VXLAN_PORT = 15
IFLA_VXLAN_GROUP6 = 16
IFLA_VXLAN_LOCAL6 = 17
IFA_ADDRESS = 1
IFA_LOCAL = 2
RTA_DST = 1
RTA_OIF = 4
RTA_GATEWAY = 5
RTA_PRIORITY = 6
RTA_TABLE = 15

_HEADER = struct.Struct('=IHHII')
_IFINFO = struct.Struct('=BxHiII')
_IFADDR = struct.Struct('=BBBBI')
_RTMSG = struct.Struct('=BBBBBBBBI')
_ATTR = struct.Struct('=HH')
_U16 = struct.Struct('=H')
_U32 = struct.Struct('=I')
_S32 = struct.Struct('=i')
_BE16 = struct.Struct('>H')


def _align(length):
    return (length + 3) & ~3


def parse_messages(data):
    """(type, seq, body) of each netlink message in a buffer."""
    out = []
    offset = 0
    end = len(data)
    while offset + _HEADER.size <= end:
        length, msg_type, _flags, seq, _pid = _HEADER.unpack_from(data, offset)
        if length < _HEADER.size:
            break
        out.append((msg_type, seq, bytes(data[offset + _HEADER.size:offset + length])))
        offset += _align(length)
    return out


def parse_attrs(data, offset=0):
    """{type: value bytes} of the netlink attributes in data from offset (the last of a type wins)."""
    attrs = {}
    end = len(data)
    while offset + _ATTR.size <= end:
        length, attr_type = _ATTR.unpack_from(data, offset)
        if length < _ATTR.size:
            break
        attrs[attr_type & NLA_TYPE_MASK] = data[offset + _ATTR.size:offset + length]
        offset += _align(length)
    return attrs


def _text(value):
    return value.split(b'\0', 1)[0].decode('utf-8', 'replace') if value is not None else None


def _u32(value):
    return _U32.unpack(value[:4])[0] if value is not None and len(value) >= 4 else None


def _ip(value):
    if value is None:
        return None
    if len(value) == 4:
        return socket.inet_ntop(socket.AF_INET, value)
    if len(value) == 16:
        return socket.inet_ntop(socket.AF_INET6, value)
    return None


def parse_link(body):
    """A link, as Session.read reports it, from the body of an RTM_NEWLINK message."""
    _family, _type, index, flags, _change = _IFINFO.unpack_from(body, 0)
    attrs = parse_attrs(body, _IFINFO.size)
    name = _text(attrs.get(IFLA_IFNAME))
    kind = None
    data = None
    if IFLA_LINKINFO in attrs:
        linkinfo = parse_attrs(attrs[IFLA_LINKINFO])
        kind = _text(linkinfo.get(IFLA_INFO_KIND))
        if IFLA_INFO_DATA in linkinfo:
            data = parse_attrs(linkinfo[IFLA_INFO_DATA])
    if kind is None:
        kind = 'loopback' if name == 'lo' else 'other'
    mac = attrs.get(IFLA_ADDRESS)
    netnsid = attrs.get(IFLA_LINK_NETNSID)
    info = {
        'name': name,
        'index': index,
        'kind': kind,
        'mtu': _u32(attrs.get(IFLA_MTU)),
        'mac': ':'.join('%02x' % b for b in bytearray(mac)) if mac is not None else None,
        'up': bool(flags & IFF_UP),
        'master_index': _u32(attrs.get(IFLA_MASTER)),
        'link_index': _u32(attrs.get(IFLA_LINK)),
        'link_netnsid': _S32.unpack(netnsid[:4])[0] if netnsid is not None else None,
        'alias': _text(attrs.get(IFLA_IFALIAS)),
        'addresses': [],
    }
    if data is not None:
        if kind == 'vlan':
            value = data.get(IFLA_VLAN_ID)
            info['vlan_id'] = _U16.unpack(value[:2])[0] if value is not None else None
        elif kind == 'macvlan':
            mode = _u32(data.get(IFLA_MACVLAN_MODE))
            info['mode'] = MACVLAN_MODE_NAMES.get(mode, mode)
        elif kind == 'vxlan':
            port = data.get(IFLA_VXLAN_PORT)
            info['vni'] = _u32(data.get(IFLA_VXLAN_ID))
            info['dstport'] = _BE16.unpack(port[:2])[0] if port is not None else None
            info['group'] = _ip(data.get(IFLA_VXLAN_GROUP)) or _ip(data.get(IFLA_VXLAN_GROUP6))
            info['local'] = _ip(data.get(IFLA_VXLAN_LOCAL)) or _ip(data.get(IFLA_VXLAN_LOCAL6))
            info['link_index'] = _u32(data.get(IFLA_VXLAN_LINK))
    return info


def parse_address(body):
    """(interface index, 'address/prefix') from the body of an RTM_NEWADDR message, or None."""
    family, prefixlen, _flags, _scope, index = _IFADDR.unpack_from(body, 0)
    attrs = parse_attrs(body, _IFADDR.size)
    addr = _ip(attrs.get(IFA_LOCAL)) if family == socket.AF_INET else None
    addr = addr or _ip(attrs.get(IFA_ADDRESS))
    if not addr:
        return None
    return index, '%s/%d' % (addr, prefixlen)


def parse_route(body):
    """A route, as Session.read reports it (plus 'type' and 'oif'), from the body of an RTM_NEWROUTE message."""
    family, dst_len, _src_len, _tos, table, proto, scope, rtype, _flags = _RTMSG.unpack_from(body, 0)
    attrs = parse_attrs(body, _RTMSG.size)
    dst = _ip(attrs.get(RTA_DST))
    if dst is None:
        dst = '0.0.0.0' if family == socket.AF_INET else '::'
    metric = _u32(attrs.get(RTA_PRIORITY))
    return {
        'family': 4 if family == socket.AF_INET else 6,
        'dst': '%s/%d' % (dst, dst_len),
        'gateway': _ip(attrs.get(RTA_GATEWAY)),
        'oif': _u32(attrs.get(RTA_OIF)),
        'metric': metric if metric is not None else 0,
        'table': _u32(attrs.get(RTA_TABLE)) or table,
        'proto': proto,
        'scope': scope,
        'type': rtype,
    }


class RawRoute:
    """A NETLINK_ROUTE socket of the namespace it was created in, for dumps and lookups."""

    # one receive buffer for every socket: a module reads one answer at a time, and a buffer per
    # namespace would cost a lab of a thousand nodes a quarter of a gigabyte
    _buffer = bytearray(1 << 18)

    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.seq = 0
        # With strict checking (Linux 4.20) a route dump can be limited to one table, which spares parsing
        # the local table's routes of every address; without it, every table is dumped and filtered here.
        try:
            self.sock.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
            self.strict = True
        except OSError:
            self.strict = False

    def close(self):
        self.sock.close()

    def request(self, msg_type, payload, dump):
        """Send one request and return the bodies of the answers; OSError on a netlink error."""
        self.seq += 1
        seq = self.seq
        flags = NLM_F_REQUEST | (NLM_F_DUMP if dump else 0)
        self.sock.send(_HEADER.pack(_HEADER.size + len(payload), msg_type, flags, seq, 0) + payload)
        bodies = []
        view = memoryview(self._buffer)
        while True:
            size = self.sock.recv_into(self._buffer)
            for answer_type, answer_seq, body in parse_messages(view[:size]):
                if answer_seq != seq:
                    continue
                if answer_type == NLMSG_DONE:
                    return bodies
                if answer_type == NLMSG_ERROR:
                    code = -_S32.unpack_from(body, 0)[0]
                    if code:
                        raise OSError(code, os.strerror(code))
                    return bodies
                bodies.append(body)
            if not dump and bodies:
                return bodies

    def dump_links(self):
        return [parse_link(body) for body in self.request(RTM_GETLINK, _IFINFO.pack(0, 0, 0, 0, 0), True)]

    def dump_addresses(self):
        found = (parse_address(body) for body in self.request(RTM_GETADDR, _IFADDR.pack(0, 0, 0, 0, 0), True))
        return [item for item in found if item is not None]

    def dump_routes(self, tables=None):
        """Routes of the given tables (all when None or without strict checking; the caller filters anyway)."""
        if not tables or not self.strict:
            return [parse_route(body) for body in self.request(RTM_GETROUTE, _RTMSG.pack(0, 0, 0, 0, 0, 0, 0, 0, 0), True)]
        routes = []
        for table in tables:
            payload = _RTMSG.pack(0, 0, 0, 0, table if table < 256 else RT_TABLE_COMPAT, 0, 0, 0, 0)
            payload += _ATTR.pack(_ATTR.size + 4, RTA_TABLE) + _U32.pack(table)
            routes.extend(parse_route(body) for body in self.request(RTM_GETROUTE, payload, True))
        return routes

    def nsid_of(self, ns_path):
        """The id that this socket's namespace gives the namespace at ns_path, or None when it has given none."""
        fd = os.open(ns_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            payload = struct.pack('=Bxxx', socket.AF_UNSPEC) + _ATTR.pack(_ATTR.size + 4, NETNSA_FD) + _U32.pack(fd)
            bodies = self.request(RTM_GETNSID, payload, False)
        finally:
            os.close(fd)
        for body in bodies:
            nsid = parse_attrs(body, 4).get(NETNSA_NSID)
            if nsid is not None:
                value = _S32.unpack(nsid[:4])[0]
                return value if value >= 0 else None
        return None

    def index_of(self, name):
        """Index of the interface with this name, or None."""
        encoded = name.encode('utf-8') + b'\0'
        attr = _ATTR.pack(_ATTR.size + len(encoded), IFLA_IFNAME) + encoded
        attr += b'\0' * (_align(len(attr)) - len(attr))
        try:
            bodies = self.request(RTM_GETLINK, _IFINFO.pack(0, 0, 0, 0, 0) + attr, False)
        except OSError as exc:
            if exc.errno in (errno.ENODEV, errno.ENOENT):
                return None
            raise
        return _IFINFO.unpack_from(bodies[0], 0)[2] if bodies else None
