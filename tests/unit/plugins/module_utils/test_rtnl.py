# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the netlink message parsers that Session.read uses (rtnl; messages built here with struct)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket
import struct

from ansible_collections.nsforge.linux.plugins.module_utils import rtnl as nl


# the attributes of IFLA_INFO_DATA of each kind of link, as linux/if_link.h numbers them
IFLA_VLAN_ID = IFLA_MACVLAN_MODE = IFLA_VXLAN_ID = 1
IFLA_VXLAN_LINK, IFLA_VXLAN_LOCAL, IFLA_VXLAN_PORT, IFLA_VXLAN_GROUP6 = 3, 4, 15, 16


def attr(attr_type, value):
    data = struct.pack('=HH', 4 + len(value), attr_type) + value
    return data + b'\0' * ((-len(data)) % 4)


def u32(value):
    return struct.pack('=I', value)


def message(msg_type, seq, body):
    return struct.pack('=IHHII', 16 + len(body), msg_type, 2, seq, 0) + body + b'\0' * ((-len(body)) % 4)


def link_body(index, flags, attrs):
    return struct.pack('=BxHiII', 0, 1, index, flags, 0) + b''.join(attrs)


def test_messages_and_attributes_are_split_on_4_byte_boundaries():
    body1 = b'abc'
    body2 = b'defgh'
    data = message(16, 7, body1) + message(3, 7, body2)
    parsed = nl.parse_messages(data)
    assert [(t, s) for t, s, _b in parsed] == [(16, 7), (3, 7)]
    assert parsed[0][2][:3] == b'abc'
    attrs = nl.parse_attrs(attr(3, b'eth0\0') + attr(4 | 0x8000, u32(1500)))
    assert attrs[3] == b'eth0\0'
    assert attrs[4] == u32(1500)  # the NESTED flag is masked off the type


def test_truncated_input_stops_cleanly():
    assert nl.parse_messages(b'\x05\0\0\0') == []
    assert nl.parse_attrs(struct.pack('=HH', 2, 1)) == {}


def test_veth_link_on_a_bridge():
    info = nl.parse_link(link_body(5, nl.IFF_UP, [
        attr(nl.IFLA_IFNAME, b'eth0\0'),
        attr(nl.IFLA_MTU, u32(1400)),
        attr(nl.IFLA_ADDRESS, bytes(bytearray([0x02, 0xab, 0, 0, 0, 0x0f]))),
        attr(nl.IFLA_MASTER, u32(3)),
        attr(nl.IFLA_LINK, u32(9)),
        attr(nl.IFLA_LINK_NETNSID, struct.pack('=i', 0)),
        attr(nl.IFLA_IFALIAS, b'uplink\0'),
        attr(nl.IFLA_LINKINFO, attr(nl.IFLA_INFO_KIND, b'veth\0')),
    ]))
    assert info == {
        'name': 'eth0', 'index': 5, 'kind': 'veth', 'mtu': 1400, 'mac': '02:ab:00:00:00:0f', 'up': True,
        'master_index': 3, 'link_index': 9, 'link_netnsid': 0, 'alias': 'uplink', 'addresses': [],
    }


def test_loopback_and_unknown_kinds():
    lo = nl.parse_link(link_body(1, 0, [attr(nl.IFLA_IFNAME, b'lo\0')]))
    assert (lo['kind'], lo['up'], lo['mac'], lo['master_index']) == ('loopback', False, None, None)
    other = nl.parse_link(link_body(2, 0, [attr(nl.IFLA_IFNAME, b'sit0\0')]))
    assert other['kind'] == 'other'


def test_vlan_macvlan_and_vxlan_data():
    vlan = nl.parse_link(link_body(6, 0, [attr(nl.IFLA_IFNAME, b'eth0.7\0'), attr(nl.IFLA_LINKINFO, attr(
        nl.IFLA_INFO_KIND, b'vlan\0') + attr(nl.IFLA_INFO_DATA, attr(IFLA_VLAN_ID, struct.pack('=H', 7))))]))
    assert vlan['vlan_id'] == 7
    macvlan = nl.parse_link(link_body(7, 0, [attr(nl.IFLA_IFNAME, b'mv0\0'), attr(nl.IFLA_LINKINFO, attr(
        nl.IFLA_INFO_KIND, b'macvlan\0') + attr(nl.IFLA_INFO_DATA, attr(IFLA_MACVLAN_MODE, u32(4))))]))
    assert macvlan['mode'] == 'bridge'
    data = (attr(IFLA_VXLAN_ID, u32(42)) + attr(IFLA_VXLAN_PORT, struct.pack('>H', 4789))
            + attr(IFLA_VXLAN_GROUP6, socket.inet_pton(socket.AF_INET6, 'ff05::100'))
            + attr(IFLA_VXLAN_LOCAL, socket.inet_aton('10.9.9.1')) + attr(IFLA_VXLAN_LINK, u32(2)))
    vxlan = nl.parse_link(link_body(8, 0, [attr(nl.IFLA_IFNAME, b'vx0\0'), attr(nl.IFLA_LINK, u32(0)), attr(
        nl.IFLA_LINKINFO, attr(nl.IFLA_INFO_KIND, b'vxlan\0') + attr(nl.IFLA_INFO_DATA, data))]))
    assert (vxlan['vni'], vxlan['dstport'], vxlan['target'], vxlan['local'], vxlan['parent_index']) == \
        (42, 4789, 'ff05::100', '10.9.9.1', 2)
    assert vxlan['link_index'] == 0  # IFLA_LINK stays apart from the vxlan's parent (IFLA_VXLAN_LINK)


def test_nsid_request_and_answer(monkeypatch):
    """RTM_GETNSID carries the namespace as NETNSA_FD; the answer's NETNSA_NSID is the id (-1: none given)."""
    sent = []

    class Fake(nl.RawRoute):
        def __init__(self):
            self.answer = -1

        def request(self, msg_type, payload, dump):
            sent.append((msg_type, payload, dump))
            return [struct.pack('=Bxxx', 0) + attr(nl.NETNSA_NSID, struct.pack('=i', self.answer))]

    fake = Fake()
    assert fake.nsid_of('/proc/self/ns/net') is None
    msg_type, payload, dump = sent[0]
    assert (msg_type, dump) == (nl.RTM_GETNSID, False)
    attrs = nl.parse_attrs(payload, 4)
    assert nl.NETNSA_FD in attrs and len(attrs[nl.NETNSA_FD]) == 4
    fake.answer = 3
    assert fake.nsid_of('/proc/self/ns/net') == 3


def test_addresses():
    v4 = struct.pack('=BBBBI', socket.AF_INET, 24, 0, 0, 5) + attr(nl.IFA_ADDRESS, socket.inet_aton('10.0.0.9')) \
        + attr(nl.IFA_LOCAL, socket.inet_aton('10.0.0.1'))
    assert nl.parse_address(v4) == (5, '10.0.0.1/24')  # IFA_LOCAL is the address; IFA_ADDRESS the peer
    v6 = struct.pack('=BBBBI', socket.AF_INET6, 64, 0, 0, 5) + attr(nl.IFA_ADDRESS, socket.inet_pton(
        socket.AF_INET6, 'fd42:240::1'))
    assert nl.parse_address(v6) == (5, 'fd42:240::1/64')
    # a point-to-point IPv6 address (ip addr add fd42:239:3::1 peer fd42:239:3::2/128): IFA_LOCAL is the address
    p2p = struct.pack('=BBBBI', socket.AF_INET6, 128, 0, 0, 5) \
        + attr(nl.IFA_ADDRESS, socket.inet_pton(socket.AF_INET6, 'fd42:239:3::2')) \
        + attr(nl.IFA_LOCAL, socket.inet_pton(socket.AF_INET6, 'fd42:239:3::1'))
    assert nl.parse_address(p2p) == (5, 'fd42:239:3::1/128')
    assert nl.parse_address(struct.pack('=BBBBI', socket.AF_INET, 8, 0, 0, 1)) is None


def test_routes():
    default = struct.pack('=BBBBBBBBI', socket.AF_INET, 0, 0, 0, 254, 4, 0, 1, 0) \
        + attr(nl.RTA_GATEWAY, socket.inet_aton('10.240.255.254')) + attr(nl.RTA_OIF, u32(2)) \
        + attr(nl.RTA_TABLE, u32(254))
    assert nl.parse_route(default) == {'family': 4, 'dst': '0.0.0.0/0', 'gateway': '10.240.255.254', 'oif': 2,
                                       'metric': 0, 'table': 254, 'proto': 4, 'scope': 0, 'type': 1}
    v6 = struct.pack('=BBBBBBBBI', socket.AF_INET6, 48, 0, 0, 252, 3, 0, 1, 0) \
        + attr(nl.RTA_DST, socket.inet_pton(socket.AF_INET6, 'fd42:8::')) + attr(nl.RTA_PRIORITY, u32(7)) \
        + attr(nl.RTA_TABLE, u32(1000))
    route = nl.parse_route(v6)
    assert (route['dst'], route['metric'], route['table'], route['gateway'], route['oif']) == \
        ('fd42:8::/48', 7, 1000, None, None)


def test_pyroute2_is_imported_only_when_a_write_needs_it():
    """have_pyroute2() finds the package without importing it (about a quarter of a second a task)."""
    import subprocess
    import sys
    code = ('import sys\n'
            'from ansible_collections.nsforge.linux.plugins.module_utils import netlink\n'
            'assert netlink.have_pyroute2()\n'
            'assert "pyroute2" not in sys.modules\n'
            'assert netlink.pyroute2_import_error() is None\n'
            'assert "pyroute2" in sys.modules\n')
    subprocess.run([sys.executable, '-c', code], check=True, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
