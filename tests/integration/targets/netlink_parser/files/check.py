# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's netlink dump parser on live namespaces, against pyroute2's parser and against iproute2.

module_utils/rtnl.py reads links, addresses and routes with its own parser (RawRoute), and netlink.Session.read
builds the state of a namespace from it (master and parent names, a vxlan's underlay, addresses, the unicast
routes of the wanted tables). Its unit tests only feed it hand-built bytes; here it reads what the kernel says
about namespaces built with `ip`:

  sandbox  the sandbox's own namespace: h-a (veth to np-a), h-c (veth to np-c, ifindex 40, the ifindex that the
           vxlan vx-hn keeps in np-a), routes in the main table and in table 100;
  np-a     a-h (veth to the sandbox, two IPv4 addresses), a-b (veth to np-b: alias, MTU and MAC changed,
           point-to-point addresses), br0 (bridge, MAC set) with the ports a-c1 and a-c2 (veths to np-c; a-c2 set
           down) and vx-u; macvlans mv-br (mode bridge) and mv-pr (mode private) on a-b; vxlans vx-u (unicast
           remote and local, port 4790), vx-m (multicast group on a-b), vx-6 (IPv6 remote and local), vx-h and
           vx-hn (made in the sandbox and moved here, so their UDP socket stays in the sandbox: vx-h on h-a with
           a local address, vx-hn without a parent); dummy dm0 and vlans a-b.10 (and dm0.20) when the kernel has
           them; routes: default via a gateway, dev only, metric, proto static, table 100 (with a blackhole),
           IPv6 ones (with an unreachable one in table 100);
  np-b     b-a (veth to np-a), b-x1/b-x2 (a veth with both ends here), vx-bu (unicast), vx-g6 (IPv6 multicast
           group on b-a), mv-h (a macvlan made in the sandbox on h-a and moved here);
  np-c     c-a1, c-a2 and c-h, the far ends of the bridge ports and of h-c.

For each namespace it compares, field by field:
  1. rtnl's links, addresses and routes (tables 254 and 100, and every table) with pyroute2's;
  2. the same with `ip -j -d link show`, `ip -j addr show`, `ip -N -j -d -4/-6 route show table all`;
  3. rtnl's index_of and nsid_of with iproute2's names and `ip -j netns list-id`;
  4. netlink.Session().read(path, tables=[254, 100]): master and parent names, the vxlan underlay ('host' for
     the vxlans made in the sandbox, else 'node'), addresses, and routes that are exactly the unicast routes of
     tables 254 and 100 that iproute2 shows.
A missing field on one side is a mismatch; the exceptions (where the kernel legitimately reports nothing, or a
tool reports a fact in its own way) are said where they are made. It prints one line per namespace, then every
mismatch with its namespace, link and field, and exits 1 when there is any.

Runs as root inside tests/sandbox.sh (own network, mount and PID namespaces, a private /run), with the
collection on PYTHONPATH (runme.sh). Usage: check.py
"""

import collections
import json
import re
import socket
import subprocess
import sys
import time

from ansible_collections.nsforge.linux.plugins.module_utils import netlink, rtnl

import pyroute2

SANDBOX = 'sandbox'
NODES = ('np-a', 'np-b', 'np-c')
TABLES = (254, 100)
IFF_UP = 0x1
RTN_UNICAST = 1
# the kinds whose Session.read state has a 'parent' (linux: a vlan's and a macvlan's IFLA_LINK, a vxlan's
# IFLA_VXLAN_LINK); written out here rather than taken from the code under test
PARENT_KINDS = ('vlan', 'macvlan', 'vxlan')
# the vxlans created from the sandbox's namespace and moved into a node: their UDP socket stays in the sandbox
UNDERLAY_HOST = {('np-a', 'vx-h'), ('np-a', 'vx-hn')}
MACVLAN_MODES = {1: 'private', 2: 'vepa', 4: 'bridge', 8: 'passthru', 16: 'source'}
# what `ip link add` says when the kernel lacks a kind of link (no module) or refuses it (EOPNOTSUPP)
UNSUPPORTED = re.compile(r'Unknown device type|Operation not supported|not supported', re.IGNORECASE)
# the fields of a link as rtnl.RawRoute.dump_links reports it, and the settings each kind adds when present
LINK_KEYS = ('name', 'index', 'kind', 'mtu', 'mac', 'up', 'master_index', 'link_index', 'link_netnsid', 'alias',
             'addresses')
KIND_KEYS = {'vxlan': ('vni', 'target', 'local', 'dstport', 'parent_index'), 'macvlan': ('mode',), 'vlan': ('vlan_id',)}
ROUTE_KEYS = ('family', 'dst', 'gateway', 'oif', 'metric', 'table', 'proto', 'scope', 'type')
READ_ROUTE_KEYS = ('family', 'dst', 'gateway', 'dev', 'metric', 'table', 'proto', 'scope')


class Absent:
    """A field that one side does not report at all."""

    def __repr__(self):
        return '<absent>'


ABSENT = Absent()


class BuildError(Exception):
    pass


# ---- running ip -------------------------------------------------------------------------------------------

def ip_argv(ns, args):
    return ['ip'] + ([] if ns == SANDBOX else ['-n', ns]) + list(args)


def ip_try(ns, *args):
    argv = ip_argv(ns, args)
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    return argv, result


def ip(ns, *args):
    argv, result = ip_try(ns, *args)
    if result.returncode != 0:
        raise BuildError('%s: %s' % (' '.join(argv), result.stderr.strip() or 'exit %d' % result.returncode))
    return result.stdout


def ipj(ns, *args):
    out = ip(ns, '-j', *args)
    return json.loads(out) if out.strip() else []


def ns_path(ns):
    """The path Session.read takes for a namespace: None for the module's (here the sandbox's) own."""
    return None if ns == SANDBOX else '/run/netns/' + ns


# ---- building ---------------------------------------------------------------------------------------------

class Lab:
    def __init__(self):
        self.unsupported = {}                          # kind: what ip said
        self.skipped = collections.defaultdict(list)   # ns: kinds not made there (unsupported)
        self.made = []                                 # (ns, link) made in the sandbox, for the cleanup
        self.nodes = []

    def link(self, ns, kind, name, *args):
        """`ip link add NAME ARGS` of a kind the kernel may lack: True when made, False (recorded) when the
        kernel has no such kind or refuses it with EOPNOTSUPP; any other failure is an error."""
        if kind in self.unsupported:
            self.skipped[ns].append('%s %s' % (kind, name))
            return False
        argv, result = ip_try(ns, 'link', 'add', name, *args)
        if result.returncode == 0:
            if ns == SANDBOX:
                self.made.append(name)
            return True
        message = result.stderr.strip()
        if UNSUPPORTED.search(message):
            self.unsupported[kind] = message
            self.skipped[ns].append('%s %s' % (kind, name))
            print('unsupported here: %s (%s: %s)' % (kind, ' '.join(argv), message))
            return False
        raise BuildError('%s: %s' % (' '.join(argv), message or 'exit %d' % result.returncode))

    def build(self):
        S, A, B, C = SANDBOX, 'np-a', 'np-b', 'np-c'
        for node in NODES:
            ip(S, 'netns', 'add', node)
            self.nodes.append(node)
            ip(node, 'link', 'set', 'lo', 'up')

        # veth pairs: one end in the sandbox, both ends in nodes, both ends in one node
        self.link(S, 'veth', 'h-a', 'type', 'veth', 'peer', 'name', 'a-h', 'netns', A)
        self.link(A, 'veth', 'a-b', 'type', 'veth', 'peer', 'name', 'b-a', 'netns', B)
        self.link(A, 'veth', 'a-c1', 'type', 'veth', 'peer', 'name', 'c-a1', 'netns', C)
        self.link(A, 'veth', 'a-c2', 'type', 'veth', 'peer', 'name', 'c-a2', 'netns', C)
        self.link(B, 'veth', 'b-x1', 'type', 'veth', 'peer', 'name', 'b-x2')
        # a bridge (its MAC set) with two ports; an alias, a changed MTU and MAC on a-b
        self.link(A, 'bridge', 'br0', 'type', 'bridge')
        ip(A, 'link', 'set', 'br0', 'address', '02:42:ef:00:00:0b')
        ip(A, 'link', 'set', 'a-c1', 'master', 'br0')
        ip(A, 'link', 'set', 'a-c2', 'master', 'br0')
        ip(A, 'link', 'set', 'a-b', 'alias', 'to np-b', 'mtu', '1400', 'address', '02:42:ef:00:00:0a')

        # macvlans of both modes on a veth; one made in the sandbox on h-a and moved into np-b
        self.link(A, 'macvlan', 'mv-br', 'link', 'a-b', 'type', 'macvlan', 'mode', 'bridge')
        self.link(A, 'macvlan', 'mv-pr', 'link', 'a-b', 'type', 'macvlan', 'mode', 'private')
        if self.link(S, 'macvlan', 'mv-h', 'link', 'h-a', 'type', 'macvlan', 'mode', 'bridge'):
            ip(S, 'link', 'set', 'mv-h', 'netns', B)
            self.made.remove('mv-h')
        # a dummy, and vlans on a veth and on the dummy, when the kernel has them
        dummy = self.link(A, 'dummy', 'dm0', 'type', 'dummy')
        self.link(A, 'vlan', 'a-b.10', 'link', 'a-b', 'type', 'vlan', 'id', '10')
        if dummy:
            self.link(A, 'vlan', 'dm0.20', 'link', 'dm0', 'type', 'vlan', 'id', '20')

        # vxlans: unicast with local and a non-default port (a bridge port), a multicast group on a parent link,
        # IPv6 unicast, IPv6 multicast
        self.link(A, 'vxlan', 'vx-u', 'type', 'vxlan', 'id', '100', 'remote', '10.239.2.2', 'local', '10.239.2.1',
                  'dstport', '4790')
        ip(A, 'link', 'set', 'vx-u', 'master', 'br0')
        self.link(A, 'vxlan', 'vx-m', 'type', 'vxlan', 'id', '200', 'group', '239.1.1.1', 'dev', 'a-b',
                  'dstport', '4789')
        self.link(A, 'vxlan', 'vx-6', 'type', 'vxlan', 'id', '300', 'remote', 'fd42:239:2::2',
                  'local', 'fd42:239:2::1', 'dstport', '4791')
        self.link(B, 'vxlan', 'vx-bu', 'type', 'vxlan', 'id', '100', 'remote', '10.239.2.1', 'local', '10.239.2.2',
                  'dstport', '4790')
        self.link(B, 'vxlan', 'vx-g6', 'type', 'vxlan', 'id', '600', 'group', 'ff05::239', 'dev', 'b-a',
                  'dstport', '4789')
        # vxlans made from the sandbox and moved into np-a: the UDP socket stays in the sandbox (link_netnsid);
        # vx-h has its parent h-a there, vx-hn none (and keeps ifindex 40 in np-a, which h-c then takes in the
        # sandbox: indexes are per namespace, so a node's and the host's collide)
        self.link(S, 'vxlan', 'vx-h', 'type', 'vxlan', 'id', '400', 'remote', '10.239.1.2', 'local', '10.239.1.1',
                  'dev', 'h-a', 'dstport', '4792')
        ip(S, 'link', 'set', 'vx-h', 'netns', A)
        self.made.remove('vx-h')
        self.link(S, 'vxlan', 'vx-hn', 'index', '40', 'type', 'vxlan', 'id', '500', 'remote', '10.239.1.3',
                  'dstport', '4793')
        ip(S, 'link', 'set', 'vx-hn', 'netns', A)
        self.made.remove('vx-hn')
        self.link(S, 'veth', 'h-c', 'index', '40', 'type', 'veth', 'peer', 'name', 'c-h', 'netns', C)

        # every link up but a-c2 (a link set down)
        for ns, names in ((S, ('h-a', 'h-c')),
                          (A, ('a-h', 'a-b', 'a-c1', 'br0', 'mv-br', 'mv-pr', 'dm0', 'a-b.10', 'dm0.20', 'vx-u', 'vx-m',
                               'vx-6', 'vx-h', 'vx-hn')),
                          (B, ('b-a', 'b-x1', 'b-x2', 'mv-h', 'vx-bu', 'vx-g6')),
                          (C, ('c-a1', 'c-a2', 'c-h'))):
            present = set(link['ifname'] for link in ipj(ns, 'link', 'show'))
            for name in names:
                if name in present:
                    ip(ns, 'link', 'set', name, 'up')

        # addresses: IPv4 (a secondary one, point-to-point ones, one on a link that is down), IPv6 (nodad)
        for ns, dev, cidr in ((S, 'h-a', '10.239.1.1/24'), (S, 'h-a', 'fd42:239:1::1/64'), (S, 'h-c', '10.239.5.1/24'),
                              (A, 'a-h', '10.239.1.2/24'), (A, 'a-h', '10.239.1.12/24'), (A, 'a-h', 'fd42:239:1::2/64'),
                              (A, 'a-b', '10.239.2.1/24'), (A, 'a-b', 'fd42:239:2::1/64'),
                              (A, 'br0', '10.239.4.1/24'), (A, 'br0', 'fd42:239:4::1/64'),
                              (A, 'mv-pr', '10.239.6.1/24'), (A, 'a-c2', '10.239.7.1/24'),
                              (B, 'b-a', '10.239.2.2/24'), (B, 'b-a', 'fd42:239:2::2/64'), (B, 'b-x1', '10.239.8.1/30'),
                              (B, 'mv-h', '10.239.1.20/24'),
                              (C, 'c-a1', '10.239.4.2/24'), (C, 'c-a1', 'fd42:239:4::2/64'), (C, 'c-h', '10.239.5.2/24')):
            ip(ns, 'addr', 'add', cidr, 'dev', dev, *(('nodad',) if ':' in cidr else ()))
        ip(A, 'addr', 'add', '10.239.3.1', 'peer', '10.239.3.2/32', 'dev', 'a-b')
        ip(A, 'addr', 'add', 'fd42:239:3::1', 'peer', 'fd42:239:3::2/128', 'dev', 'a-b', 'nodad')

        # routes: default via a gateway, dev only, a metric, a protocol, other tables, non-unicast ones, IPv6
        for ns, args in ((S, ('10.239.0.0/16', 'via', '10.239.1.2')),
                         (S, ('fd42:239::/48', 'via', 'fd42:239:1::2')),
                         (S, ('default', 'via', '10.239.1.2', 'table', '100')),
                         (A, ('default', 'via', '10.239.1.1')),
                         (A, ('10.239.50.0/24', 'dev', 'a-b')),
                         (A, ('10.239.51.0/24', 'via', '10.239.2.2', 'metric', '50')),
                         (A, ('10.239.52.0/24', 'via', '10.239.4.2', 'proto', 'static')),
                         (A, ('default', 'via', '10.239.4.2', 'table', '100')),
                         (A, ('10.239.60.0/24', 'via', '10.239.2.2', 'table', '100', 'metric', '10')),
                         (A, ('blackhole', '10.239.61.0/24', 'table', '100')),
                         (A, ('default', 'via', 'fd42:239:1::1')),
                         (A, ('fd42:239:50::/64', 'dev', 'a-b', 'metric', '300')),
                         (A, ('fd42:239:60::/64', 'via', 'fd42:239:2::2', 'table', '100')),
                         (A, ('unreachable', 'fd42:239:61::/64', 'table', '100')),
                         (B, ('default', 'via', '10.239.2.1')),
                         (B, ('default', 'via', 'fd42:239:2::1')),
                         (B, ('10.239.9.0/24', 'dev', 'b-x1', 'table', '100')),
                         (C, ('default', 'via', '10.239.4.1')),
                         (C, ('10.239.62.0/24', 'via', '10.239.4.1', 'table', '100'))):
            ip(ns, *(('-6',) if ':' in ' '.join(args) else ()) + ('route', 'add') + args)

    def destroy(self):
        for name in self.made:
            ip_try(SANDBOX, 'link', 'del', name)
        for node in self.nodes:
            ip_try(SANDBOX, 'netns', 'del', node)


# ---- iproute2's view --------------------------------------------------------------------------------------

def host_route(dst, family):
    """iproute2 writes 'default' for a /0 and a host route without its length."""
    if dst == 'default':
        return '0.0.0.0/0' if family == 4 else '::/0'
    return dst if '/' in dst else '%s/%d' % (dst, 32 if family == 4 else 128)


class IpView:
    """What iproute2 shows of a namespace, in rtnl's terms (indexes, numbers)."""

    def __init__(self, ns):
        self.ns = ns
        self.raw_links = dict((item['ifname'], item) for item in ipj(ns, '-d', 'link', 'show'))
        self.index = dict((name, item['ifindex']) for name, item in self.raw_links.items())
        self.name = dict((index, name) for name, index in self.index.items())
        self.raw_addrs = ipj(ns, 'addr', 'show')
        self.tentative = any(info.get('tentative') for item in self.raw_addrs for info in item.get('addr_info', ()))
        self.addresses = collections.Counter(
            (item['ifindex'], '%s/%d' % (info['local'], info['prefixlen']))
            for item in self.raw_addrs for info in item.get('addr_info', ()))
        self.links = dict((item['ifindex'], self._link(item)) for item in self.raw_links.values())
        # -N: protocol, scope, table and type as numbers; -d: the type and table of every route
        self.routes = collections.Counter()
        for family in (4, 6):
            for route in ipj(ns, '-N', '-d', '-%d' % family, 'route', 'show', 'table', 'all'):
                self.routes[self._route(route, family)] += 1
        self.nsids = ipj(ns, 'netns', 'list-id')

    def facts(self):
        return self.links, self.addresses, self.routes

    def index_of(self, name):
        """The index iproute2 printed as a name: it writes 'if<N>' for an index that has no link here."""
        if name is None:
            return None
        if name in self.index:
            return self.index[name]
        match = re.match(r'^if(\d+)$', name)
        return int(match.group(1)) if match else ('unknown link %s' % name)

    def _link(self, item):
        name = item['ifname']
        linkinfo = item.get('linkinfo', {})
        kind = linkinfo.get('info_kind')
        data = linkinfo.get('info_data', {})
        if 'link_index' in item:
            link_index = item['link_index']          # printed so with a link_netnsid: an index over there
        elif 'link' in item:
            link_index = self.index_of(item['link']) if item['link'] is not None else 0  # null: IFLA_LINK 0
        else:
            link_index = None
        info = {
            'name': name,
            'index': item['ifindex'],
            # rtnl names the kind of a link without IFLA_INFO_KIND itself: 'loopback' for lo, else 'other'
            'kind': kind if kind is not None else ('loopback' if name == 'lo' else 'other'),
            'mtu': item.get('mtu'),
            'mac': item.get('address'),
            # IFF_UP, the administrative state; operstate is the carrier's (and changes later, by linkwatch)
            'up': 'UP' in item.get('flags', ()),
            'master_index': self.index_of(item.get('master')),
            'link_index': link_index,
            'link_netnsid': item.get('link_netnsid'),
            'alias': item.get('ifalias'),
            'addresses': [],
        }
        if kind == 'vxlan':
            info['vni'] = data.get('id', ABSENT)
            target = [data[key] for key in ('remote', 'group', 'remote6', 'group6') if key in data]
            info['target'] = target[0] if len(target) == 1 else (target or ABSENT)
            local = [data[key] for key in ('local', 'local6') if key in data]
            info['local'] = local[0] if len(local) == 1 else (local or ABSENT)
            info['dstport'] = data.get('port', ABSENT)
            # rtnl reports a vxlan's parent (IFLA_VXLAN_LINK) as its parent_index. iproute2 prints it as a name of
            # the namespace it runs in, even when the vxlan's socket (and so that index) is in another one: the
            # index is found back by that name here.
            if 'link' in data:
                info['parent_index'] = self.index_of(data['link'])
        elif kind == 'macvlan':
            info['mode'] = data.get('mode', ABSENT)
        elif kind == 'vlan':
            info['vlan_id'] = data.get('id', ABSENT)
        return info

    def _route(self, route, family):
        return (
            family,
            host_route(route['dst'], family),
            route.get('gateway'),
            self.index_of(route['dev']) if 'dev' in route else None,
            # the kernel leaves out RTA_PRIORITY of an IPv4 route whose priority is 0, and rtnl reports 0 then;
            # an IPv6 route always has one
            route.get('metric', 0 if family == 4 else ABSENT),
            int(route['table']) if 'table' in route else ABSENT,
            int(route['protocol']) if 'protocol' in route else ABSENT,
            int(route['scope']) if 'scope' in route else ABSENT,
            int(route['type']) if 'type' in route else ABSENT,
        )

    def peer_ns(self, nsid):
        """The namespace that this one knows by nsid: a node by its name, else the sandbox (the only other)."""
        for entry in self.nsids:
            if entry.get('nsid') == nsid:
                return entry.get('name', SANDBOX)
        return None


def settle(names, timeout=10.0):
    """Wait until the namespaces are still: link-local addresses come with a link's carrier (linkwatch runs up
    to a second later), then stay tentative until their duplicate address detection ends."""
    deadline = time.monotonic() + timeout
    previous = None
    while True:
        views = dict((ns, IpView(ns)) for ns in names)
        current = dict((ns, view.facts()) for ns, view in views.items())
        if current == previous and not any(view.tentative for view in views.values()):
            return True
        if time.monotonic() > deadline:
            return False
        previous = current
        time.sleep(0.3)


# ---- pyroute2's view --------------------------------------------------------------------------------------

def pyroute2_socket(ns):
    return pyroute2.IPRoute() if ns == SANDBOX else pyroute2.NetNS(ns, flags=0)


def pr_link(msg):
    attr = msg.get_attr
    name = attr('IFLA_IFNAME')
    linkinfo = attr('IFLA_LINKINFO')
    kind = linkinfo.get_attr('IFLA_INFO_KIND') if linkinfo is not None else None
    data = linkinfo.get_attr('IFLA_INFO_DATA') if linkinfo is not None else None
    info = {
        'name': name,
        'index': msg['index'],
        # rtnl names the kind of a link without IFLA_INFO_KIND itself: 'loopback' for lo, else 'other'
        'kind': kind if kind is not None else ('loopback' if name == 'lo' else 'other'),
        'mtu': attr('IFLA_MTU'),
        'mac': attr('IFLA_ADDRESS'),
        'up': bool(msg['flags'] & IFF_UP),
        'master_index': attr('IFLA_MASTER'),
        'link_index': attr('IFLA_LINK'),
        'link_netnsid': attr('IFLA_LINK_NETNSID'),
        'alias': attr('IFLA_IFALIAS'),
        'addresses': [],
    }

    def setting(*names):
        values = [data.get_attr(n) for n in names] if data is not None else []
        values = [v for v in values if v is not None]
        # the kernel sends at most one attribute of the pair (the address family of the setting)
        return values[0] if len(values) == 1 else (values or ABSENT)

    if kind == 'vxlan':
        info['vni'] = setting('IFLA_VXLAN_ID')
        info['target'] = setting('IFLA_VXLAN_GROUP', 'IFLA_VXLAN_GROUP6')
        info['local'] = setting('IFLA_VXLAN_LOCAL', 'IFLA_VXLAN_LOCAL6')
        info['dstport'] = setting('IFLA_VXLAN_PORT')
        # rtnl reports a vxlan's parent (IFLA_VXLAN_LINK) as its parent_index, apart from IFLA_LINK (link_index),
        # which the kernel sends for a vxlan only when its socket is in another namespace (link_netnsid, Linux
        # 5.12): then it is the vxlan's own index.
        parent = setting('IFLA_VXLAN_LINK')
        if parent is not ABSENT:
            info['parent_index'] = parent
    elif kind == 'macvlan':
        mode = setting('IFLA_MACVLAN_MODE')
        info['mode'] = MACVLAN_MODES.get(mode, mode) if isinstance(mode, int) else mode
    elif kind == 'vlan':
        info['vlan_id'] = setting('IFLA_VLAN_ID')
    return info


def pr_address(msg):
    # the interface's own address is IFA_LOCAL when the kernel sends it (always for IPv4; for IPv6 only on a
    # point-to-point address, whose IFA_ADDRESS is then the peer's), else IFA_ADDRESS
    local = msg.get_attr('IFA_LOCAL')
    return msg['index'], '%s/%d' % (local if local is not None else msg.get_attr('IFA_ADDRESS'), msg['prefixlen'])


def pr_route(msg):
    family = {socket.AF_INET: 4, socket.AF_INET6: 6}.get(msg['family'], 'family %d' % msg['family'])
    dst = msg.get_attr('RTA_DST')
    if dst is None and msg['dst_len'] == 0:
        dst = '0.0.0.0' if family == 4 else '::'   # a default route has no RTA_DST
    metric = msg.get_attr('RTA_PRIORITY')
    if metric is None and family == 4:
        metric = 0   # the kernel leaves out RTA_PRIORITY of an IPv4 route whose priority is 0
    table = msg.get_attr('RTA_TABLE')
    return (family, '%s/%d' % (dst, msg['dst_len']) if dst is not None else ABSENT, msg.get_attr('RTA_GATEWAY'),
            msg.get_attr('RTA_OIF'), metric if metric is not None else ABSENT, table if table is not None else ABSENT,
            msg['proto'], msg['scope'], msg['type'])


class PyView:
    def __init__(self, ns):
        ipr = pyroute2_socket(ns)
        try:
            self.links = dict((msg['index'], pr_link(msg)) for msg in ipr.get_links())
            self.addresses = collections.Counter(pr_address(msg) for msg in ipr.get_addr())
            self.routes = collections.Counter()
            for table in TABLES:
                for family in (socket.AF_INET, socket.AF_INET6):
                    self.routes.update(pr_route(msg) for msg in ipr.get_routes(family=family, table=table))
            self.all_routes = collections.Counter(pr_route(msg) for msg in ipr.get_routes())
        finally:
            ipr.close()


# ---- rtnl's view ------------------------------------------------------------------------------------------

def rt_route(route):
    return tuple(route.get(key, ABSENT) for key in ROUTE_KEYS)


class RtView:
    def __init__(self, raw):
        self.raw_links = raw.dump_links()
        self.links = dict((info['index'], info) for info in self.raw_links)
        self.raw_addresses = raw.dump_addresses()
        self.addresses = collections.Counter(self.raw_addresses)
        self.raw_routes = raw.dump_routes(list(TABLES))
        self.routes = collections.Counter(rt_route(route) for route in self.raw_routes)
        self.raw_all_routes = raw.dump_routes()
        self.all_routes = collections.Counter(rt_route(route) for route in self.raw_all_routes)


# ---- comparing --------------------------------------------------------------------------------------------

class Mismatches:
    def __init__(self):
        self.items = []

    def add(self, ns, where, field, ours, source, theirs):
        self.items.append('%s: %s: %s: ours %r, %s %r' % (ns, where, field, ours, source, theirs))

    def eq(self, ns, where, field, ours, source, theirs):
        if not same(ours, theirs):
            self.add(ns, where, field, ours, source, theirs)


def same(ours, theirs):
    """Equal values of the same sort: an absent field is only the same as an absent one, and a flag (bool) only
    the same as a flag (True == 1 in Python)."""
    if ours is ABSENT or theirs is ABSENT:
        return ours is theirs
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return type(ours) is type(theirs) and ours == theirs
    return ours == theirs


def link_keys(info):
    return set(LINK_KEYS) | set(KIND_KEYS.get(info.get('kind'), ()))


def compare_links(out, ns, ours, theirs, source):
    """rtnl's links against another parser's, keyed by index: every field of each, both ways."""
    for index in sorted(set(ours) | set(theirs)):
        mine, other = ours.get(index), theirs.get(index)
        where = 'link %s (index %d)' % ((mine or other)['name'], index)
        if mine is None or other is None:
            out.add(ns, where, 'link', 'present' if mine else ABSENT, source, 'present' if other else ABSENT)
            continue
        # a kind's setting is reported only when the kernel sends it; the other fields always (None when absent)
        keys = set(mine) | set(other) | link_keys(mine)
        for key in sorted(keys):
            ours_value = mine.get(key, ABSENT)
            theirs_value = other.get(key, ABSENT)
            if key in KIND_KEYS.get(mine.get('kind'), ()) and ours_value is ABSENT and theirs_value is ABSENT:
                continue   # e.g. no IFLA_VXLAN_LOCAL for a vxlan without a local address
            out.eq(ns, where, key, ours_value, source, theirs_value)


def compare_counts(out, ns, what, ours, theirs, source, show):
    """Two multisets (addresses, routes): what only one side has."""
    for item in sorted((ours - theirs).elements(), key=repr):
        out.add(ns, '%s %s' % (what, show(item)), 'present', 'yes', source, ABSENT)
    for item in sorted((theirs - ours).elements(), key=repr):
        out.add(ns, '%s %s' % (what, show(item)), 'present', ABSENT, source, 'yes')


def show_route(route):
    return ' '.join('%s=%s' % (key, value) for key, value in zip(ROUTE_KEYS, route) if value is not None)


def show_read_route(route):
    return ' '.join('%s=%s' % (key, value) for key, value in zip(READ_ROUTE_KEYS, route) if value is not None)


def address_shower(links):
    def show(item):
        return '%s on %s (index %s)' % (item[1], links[item[0]]['name'] if item[0] in links else '?', item[0])
    return show


def check_keys(out, ns, where, have, want):
    """A dict has exactly the keys wanted."""
    for key in sorted(set(have) - set(want)):
        out.add(ns, where, key, 'reported', 'expected', ABSENT)
    for key in sorted(set(want) - set(have)):
        out.add(ns, where, key, ABSENT, 'expected', 'a value')


def check_rtnl_shapes(out, ns, rt):
    for info in rt.raw_links:
        where = 'link %s' % info.get('name')
        optional = KIND_KEYS.get(info.get('kind'), ())
        check_keys(out, ns, where, [k for k in info if k not in optional], LINK_KEYS)
        out.eq(ns, where, 'addresses', info.get('addresses'), 'expected', [])
    for route in rt.raw_routes + rt.raw_all_routes:
        check_keys(out, ns, 'route %s' % route.get('dst'), route, ROUTE_KEYS)
    for route in rt.raw_routes:
        if route.get('table') not in TABLES:
            out.add(ns, 'route %s' % show_route(rt_route(route)), 'table', route.get('table'), 'asked for', TABLES)


def check_lookups(out, ns, raw, view):
    """rtnl's index_of against iproute2's names, nsid_of against `ip -j netns list-id`."""
    for name, index in sorted(view.index.items()):
        out.eq(ns, 'link %s' % name, 'index_of', raw.index_of(name), 'ip', index)
    out.eq(ns, 'link no-such-link', 'index_of', raw.index_of('no-such-link'), 'expected', None)
    named = dict((entry['name'], entry['nsid']) for entry in view.nsids if 'name' in entry)
    for other in NODES:
        if other != ns:
            out.eq(ns, 'namespace %s' % other, 'nsid_of', raw.nsid_of(ns_path(other)), 'ip netns list-id',
                   named.get(other))
    if ns != SANDBOX:
        unnamed = [entry['nsid'] for entry in view.nsids if 'name' not in entry]
        out.eq(ns, 'namespace sandbox', 'nsid_of', raw.nsid_of(rtnl.HOST_NS), 'ip netns list-id (the unnamed one)',
               unnamed[0] if len(unnamed) == 1 else unnamed)


def check_read(out, ns, state, view, views):
    """netlink.Session.read against iproute2: names, masters, parents, vxlan underlays, addresses, routes."""
    links = state['links']
    for name in sorted(set(links) ^ set(view.raw_links)):
        out.add(ns, 'read: link %s' % name, 'present', 'yes' if name in links else ABSENT, 'ip',
                'yes' if name in view.raw_links else ABSENT)
    for name in sorted(set(links) & set(view.raw_links)):
        info, item = links[name], view.raw_links[name]
        where = 'read: link %s' % name
        kind = info.get('kind')
        out.eq(ns, where, 'index', info.get('index'), 'ip', item['ifindex'])
        out.eq(ns, where, 'master', info.get('master', ABSENT), 'ip', item.get('master'))
        if 'master_index' in info:
            out.add(ns, where, 'master_index', info['master_index'], 'expected', ABSENT)
        if kind in PARENT_KINDS:
            data = item.get('linkinfo', {}).get('info_data', {})
            if kind == 'vxlan':
                printed = data.get('link')   # IFLA_VXLAN_LINK, as a name of this namespace (see IpView._link)
                index = view.index_of(printed) if printed is not None else None
            else:
                index = view.index_of(item['link']) if item.get('link') is not None else item.get('link_index')
            if index is None:
                want = [None]
            elif 'link_netnsid' in item and (kind != 'vxlan' or (ns, name) in UNDERLAY_HOST):
                # the parent is in the namespace of link_netnsid (a vxlan's: that of its socket): its name there,
                # as Session.read gives for a vxlan whose socket is in the host. For another kind (a macvlan made
                # in the host and moved here), no name (None) is right too; a name of this node's links is not.
                other = views.get(view.peer_ns(item['link_netnsid']))
                want = [other.name.get(index) if other else 'unknown namespace']
                if kind != 'vxlan':
                    want.append(None)
            else:
                want = [view.name.get(index)]
            have = info.get('parent', ABSENT)
            if have not in want:
                out.add(ns, where, 'parent', have, 'ip', want[0] if len(want) == 1 else ' or '.join(map(repr, want)))
        elif 'parent' in info:
            out.add(ns, where, 'parent', info['parent'], 'expected', ABSENT)
        if kind == 'vxlan' and ns != SANDBOX:
            want = 'host' if (ns, name) in UNDERLAY_HOST else 'node'
            out.eq(ns, where, 'underlay', info.get('underlay', ABSENT), 'built', want)
            # the lab itself: only the vxlans made in the sandbox have their socket in another namespace
            if ('link_netnsid' in item) != (want == 'host'):
                out.add(ns, where, 'link_netnsid', 'underlay %s' % want, 'ip', item.get('link_netnsid', ABSENT))
        elif 'underlay' in info:
            out.add(ns, where, 'underlay', info['underlay'], 'expected', ABSENT)
        addresses = sorted('%s/%d' % (a['local'], a['prefixlen'])
                           for entry in view.raw_addrs if entry['ifname'] == name for a in entry.get('addr_info', ()))
        out.eq(ns, where, 'addresses', sorted(info.get('addresses', ())), 'ip', addresses)
    # routes: exactly the unicast routes of tables 254 and 100
    have = collections.Counter()
    for route in state['routes']:
        check_keys(out, ns, 'read: route %s' % route.get('dst'), route, READ_ROUTE_KEYS)
        have[tuple(route.get(key, ABSENT) for key in READ_ROUTE_KEYS)] += 1
    want = collections.Counter()
    for (family, dst, gateway, oif, metric, table, proto, scope, rtype), count in view.routes.items():
        if table in TABLES and rtype == RTN_UNICAST:
            dev = view.name.get(oif, 'index %s' % oif) if oif is not None else None
            want[(family, dst, gateway, dev, metric, table, proto, scope)] += count
    compare_counts(out, ns, 'read: route', have, want, 'ip', show_read_route)


def compare_namespace(out, ns, session, views):
    """Every comparison of one namespace; returns its summary line."""
    path = ns_path(ns)
    raw = session.raw(path)
    for _attempt in range(5):
        before = IpView(ns)
        rt = RtView(raw)
        py = PyView(ns)
        state = session.read(path, tables=list(TABLES))
        after = IpView(ns)
        if before.facts() == after.facts():
            break
        time.sleep(0.5)   # something changed while reading: read again
    else:
        out.add(ns, 'namespace', 'stable', 'changed while read 5 times', 'ip', 'before and after differ')
    views[ns] = after

    check_rtnl_shapes(out, ns, rt)
    # 1. pyroute2
    compare_links(out, ns, rt.links, py.links, 'pyroute2')
    show_address = address_shower(rt.links)
    compare_counts(out, ns, 'address', rt.addresses, py.addresses, 'pyroute2', show_address)
    compare_counts(out, ns, 'route (tables 254, 100)', rt.routes, py.routes, 'pyroute2', show_route)
    compare_counts(out, ns, 'route (all tables)', rt.all_routes, py.all_routes, 'pyroute2', show_route)
    # 2. iproute2
    compare_links(out, ns, rt.links, after.links, 'ip')
    compare_counts(out, ns, 'address', rt.addresses, after.addresses, 'ip', show_address)
    ip_tables = collections.Counter(dict((r, n) for r, n in after.routes.items() if r[5] in TABLES))
    compare_counts(out, ns, 'route (tables 254, 100)', rt.routes, ip_tables, 'ip', show_route)
    compare_counts(out, ns, 'route (all tables)', rt.all_routes, after.routes, 'ip', show_route)
    # 3. lookups
    check_lookups(out, ns, raw, after)
    return rt, state


def main():
    lab = Lab()
    out = Mismatches()
    session = netlink.Session()
    names = (SANDBOX,) + NODES
    try:
        lab.build()
        if not settle(names):
            print('note: the namespaces were still changing after 10 s; reading anyway')
        views = dict((ns, IpView(ns)) for ns in names)
        results = {}
        for ns in names:
            results[ns] = compare_namespace(out, ns, session, views)
        # Session.read last: a parent in another namespace is named from that namespace's view
        for ns in names:
            rt, state = results[ns]
            check_read(out, ns, state, views[ns], views)
            kinds = sorted(set(info['kind'] for info in rt.raw_links))
            table_routes = sum(1 for route in rt.raw_all_routes if route['table'] in TABLES)
            print('%s: %d links, %d addresses, %d routes (%d in tables 254/100, %d read as unicast), kinds: %s; '
                  'unsupported: %s' % (ns, len(rt.raw_links), len(rt.raw_addresses), len(rt.raw_all_routes),
                                       table_routes, len(state['routes']), ', '.join(kinds),
                                       ', '.join(lab.skipped.get(ns, ())) or 'none'))
    except BuildError as exc:
        print('error: %s' % exc)
        return 2
    finally:
        session.close()
        lab.destroy()
    print('unsupported kinds of link here: %s' % (', '.join(
        '%s (%s)' % (kind, message) for kind, message in sorted(lab.unsupported.items())) or 'none'))
    if out.items:
        print('%d mismatches (ours: rtnl.RawRoute; "read:" netlink.Session.read):' % len(out.items))
        for item in out.items:
            print('  ' + item)
        return 1
    print('no mismatch')
    return 0


if __name__ == '__main__':
    sys.exit(main())
