# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""Reading the kernel's network state without pyroute2: link, address and route dumps on a plain NETLINK_ROUTE
socket, parsed with struct.

pyroute2's parser costs milliseconds per namespace, which a lab of a thousand nodes pays twice; these dumps cost a
fraction of that. The settings of each kind of link are decoded from the table of linktypes. Checked against
pyroute2's parser and `ip -j` on live namespaces (integration target netlink_parser).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import socket
import struct

from ansible_collections.nsforge.linux.plugins.module_utils import linktypes

IFF_UP = 0x1
RT_TABLE_MAIN = 254
MACVLAN_MODE_NAMES = dict((v, k) for k, v in linktypes.MACVLAN_MODES.items())
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
RTM_NEWQDISC = 36
RTM_GETQDISC = 38
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
IFA_ADDRESS = 1
IFA_LOCAL = 2
RTA_DST = 1
RTA_OIF = 4
RTA_GATEWAY = 5
RTA_PRIORITY = 6
RTA_TABLE = 15
TCA_KIND = 1
TCA_OPTIONS = 2

_HEADER = struct.Struct('=IHHII')
_IFINFO = struct.Struct('=BxHiII')
_IFADDR = struct.Struct('=BBBBI')
_RTMSG = struct.Struct('=BBBBBBBBI')
_ATTR = struct.Struct('=HH')
_TCMSG = struct.Struct('=BxHiIII')
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


def _decode(value, codec, current):
    """An attribute's value by its codec (linktypes); an address of the other family keeps what it has."""
    if codec == 'u16':
        return _U16.unpack(value[:2])[0] if len(value) >= 2 else None
    if codec == 'be16':
        return _BE16.unpack(value[:2])[0] if len(value) >= 2 else None
    if codec == 'u32':
        return _u32(value)
    if codec == 'macvlan_mode':
        mode = _u32(value)
        return MACVLAN_MODE_NAMES.get(mode, mode)
    return _ip(value) or current


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
        for number, (key, codec) in linktypes.data_attrs(kind).items():
            if number in data:
                info[key] = _decode(data[number], codec, info.get(key))
    return info


def parse_address(body):
    """(interface index, 'address/prefix') from the body of an RTM_NEWADDR message, or None."""
    family, prefixlen, _flags, _scope, index = _IFADDR.unpack_from(body, 0)
    attrs = parse_attrs(body, _IFADDR.size)
    # IFA_LOCAL is the address of the interface when the kernel sends it (of either family); then IFA_ADDRESS is
    # the far end of a point-to-point address
    addr = _ip(attrs.get(IFA_LOCAL)) or _ip(attrs.get(IFA_ADDRESS))
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


def parse_qdisc(body):
    """A qdisc of a dump: the index of its interface, its handle and parent, its kind and its options (raw bytes,
    which the kind's own code decodes: netem)."""
    _family, _pad, index, handle, parent, _info = _TCMSG.unpack_from(body, 0)
    attrs = parse_attrs(body, _TCMSG.size)
    options = attrs.get(TCA_OPTIONS)
    return {'index': index, 'handle': handle, 'parent': parent, 'kind': _text(attrs.get(TCA_KIND)),
            'options': bytes(options) if options is not None else None}


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

    def dump_qdiscs(self):
        """Every qdisc of the namespace, in one dump."""
        return [parse_qdisc(body) for body in self.request(RTM_GETQDISC, _TCMSG.pack(0, 0, 0, 0, 0, 0), True)]

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
