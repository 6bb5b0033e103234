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

import asyncio
import collections
import errno
import importlib.util
import os
import resource
import socket
import traceback

from ansible_collections.nsforge.linux.plugins.module_utils import kernel, linktypes, netem, rtnl
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


NUD_STATIC = 0x40 | 0x80   # NUD_NOARP, NUD_PERMANENT
IFA_F_NODAD = 0x02
RTPROT_STATIC = 4


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


def open_limit():
    """How many namespaces a Session keeps sockets open in, per kind of socket: within the process's limit of open
    descriptors (RLIMIT_NOFILE, often 1,024; a task raises it by one per node it locks), at most 1,024."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        soft = 65536
    return max(16, min(1024, (soft - 256) // 2))


class Session:
    """Netlink sockets keyed by namespace path; None means the module's own namespace.

    A pyroute2 socket (writes) and a plain one (reads) per namespace, opened on first use. The least recently used
    are closed beyond limit namespaces (see open_limit), so that a task of thousands of nodes neither runs out of
    descriptors nor keeps a socket per node to the end; a namespace that every step uses (a switch node with a port
    per node) stays open.
    """

    def __init__(self, limit=None):
        self._socks = collections.OrderedDict()
        self._raw = collections.OrderedDict()
        self._loop = None
        self.limit = max(2, limit or open_limit())

    def sock(self, ns_path):
        """A pyroute2 socket inside the namespace, for the writes."""
        if _pyroute2()['IPRoute'] is None:
            raise NsforgeError('pyroute2 is required')
        return self._open(self._socks, ns_path, self._iproute)

    def _iproute(self):
        """A pyroute2 socket on the session's one event loop (one of its own costs an epoll descriptor and a socket
        pair more per socket), in no multicast group: the session reads the state with dumps, and the
        notifications of every change of a namespace would queue up unread (the switch node's, of every port)."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return _pyroute2()['IPRoute'](groups=0, use_event_loop=self._loop)

    def raw(self, ns_path):
        """A plain netlink socket inside the namespace, for the reads (see RawRoute)."""
        return self._open(self._raw, ns_path, rtnl.RawRoute)

    def _open(self, cache, ns_path, factory):
        """The socket of cache for ns_path, made by factory() inside that namespace the first time; the least
        recently used one of cache is closed when it holds limit sockets."""
        sock = cache.get(ns_path)
        if sock is not None:
            cache.move_to_end(ns_path)
            return sock
        while len(cache) >= self.limit:
            _close(cache.popitem(last=False)[1])
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
                _close(sock)
            cache.clear()
        if self._loop is not None:
            self._loop.close()
            self._loop = None

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
            # a vxlan's parent is IFLA_VXLAN_LINK (its IFLA_LINK, sent when its socket is in another namespace, is
            # its own index); another kind's is IFLA_LINK, an index of this namespace unless link_netnsid says
            # another one, where it is no name of here
            if info['kind'] == 'vxlan':
                parent = info.pop('parent_index', None)
            else:
                parent = info.get('link_index') if info.get('link_netnsid') is None else None
            if info['kind'] in linktypes.PARENT_TYPES:
                info['parent'] = by_index.get(parent) if parent else None
            if info['kind'] == 'vxlan' and ns_path is not None:
                # a vxlan created from the host with its device placed here keeps its UDP socket (its underlay)
                # in the host: the kernel reports that namespace's id as seen from here
                info['underlay'] = 'node'
                if info.get('link_netnsid') is not None:
                    if host_nsid is None:
                        host_nsid = raw.nsid_of(rtnl.HOST_NS)
                    info['underlay'] = 'host' if info['link_netnsid'] == host_nsid else 'other'
                    # its parent is an interface of the namespace of its socket
                    info['parent'] = None
                    if info['underlay'] == 'host' and parent:
                        if host_by_index is None:
                            host_by_index = dict((i['index'], i['name']) for i in self.raw(None).dump_links())
                        info['parent'] = host_by_index.get(parent)
        # the impairment of each interface: its root qdiscs, from one dump of the namespace's qdiscs
        qdiscs = {}
        for qdisc in raw.dump_qdiscs():
            qdiscs.setdefault(qdisc['index'], []).append(qdisc)
        for info in links.values():
            info['impairment'] = netem.read_back(qdiscs.get(info['index'], []))
        for index, cidr in raw.dump_addresses():
            name = by_index.get(index)
            if name is not None:
                links[name]['addresses'].append(cidr)
        wanted = set(tables or [rtnl.RT_TABLE_MAIN])
        routes = []
        for route in raw.dump_routes(sorted(wanted)):
            if route['table'] not in wanted or route.pop('type') != rtnl.RTN_UNICAST:
                continue
            oif = route.pop('oif')
            route['dev'] = by_index.get(oif) if oif else None
            routes.append(route)
        return {'links': links, 'routes': routes}

    def tc(self, argv):
        """Run a tc command (argument vector): the qdiscs of impairments (netem)."""
        run_tc(argv)

    def qdisc_available(self, kind):
        return qdisc_available(kind)

    def index_of(self, ns_path, name):
        index = self.raw(ns_path).index_of(name)
        if index is None:
            raise NsforgeError('interface %s not found' % name)
        return index

    # ---- writing -------------------------------------------------------

    def link_add(self, ns_path, spec, peer_ns_path=None, parent_index=None):
        """Create a link described by spec (a normalized link dict), with the settings of its kind (linktypes).

        A vxlan with underlay 'host' is requested from the module's own namespace and placed into ns_path
        (IFLA_NET_NS_FD): the device lives in the node, its UDP socket in the host.
        """
        args = self._link_args(spec, parent_index)
        fd = None
        if spec['type'] == 'vxlan' and spec.get('underlay') == 'host' and ns_path is not None:
            ipr = self.sock(None)
            fd = os.open(ns_path, os.O_RDONLY | os.O_CLOEXEC)
            args['net_ns_fd'] = fd
        else:
            ipr = self.sock(ns_path)
            if spec['type'] == 'veth' and peer_ns_path is not None:
                fd = os.open(peer_ns_path, os.O_RDONLY | os.O_CLOEXEC)
                args['peer']['net_ns_fd'] = fd
        try:
            ipr.link('add', **args)
        finally:
            if fd is not None:
                os.close(fd)

    @staticmethod
    def _link_args(spec, parent_index):
        """pyroute2's arguments for a new link: its keyword arguments are the kernel's attribute names without
        IFLA_, in lower case (IFLA_VXLAN_ID is vxlan_id)."""
        kind = spec['type']
        args = {'ifname': spec['name'], 'kind': kind}
        if kind == 'veth':
            args['peer'] = {'ifname': spec['peer']['name']}
        parent = linktypes.TYPES[kind].get('parent')
        if parent and parent_index is not None:
            args[_argument(parent)] = parent_index
        for attribute, value in linktypes.settings(spec):
            args[_argument(attribute)] = value
        return args

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
        """Add, replace or delete a route. Deleting one that is gone already is fine: the kernel drops the routes
        through a link that goes (a veth whose peer went with its own namespace or link) or goes down."""
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
            index = self.raw(ns_path).index_of(route['dev'])
            if index is None and command == 'del':
                return
            args['oif'] = self.index_of(ns_path, route['dev'])
        if route.get('metric') is not None:
            args['priority'] = route['metric']
        if command == 'del':
            args.pop('proto')
        try:
            ipr.route(command, **args)
        except _pyroute2()['NetlinkError'] as exc:
            if command != 'del' or error_code(exc) != errno.ESRCH:
                raise


def run_tc(argv):
    """Run one tc command (an argument vector); NsforgeError with tc's own words when it fails."""
    code, _out, err = kernel.run(argv)
    if code != 0:
        raise NsforgeError('%s: %s' % (' '.join(argv), err.decode('utf-8', 'replace').strip() or 'exit status %d' % code))


_QDISC_KINDS = {}


def qdisc_available(kind):
    """Whether this host's kernel has a queueing discipline (netem, tbf): tried once per task on the loopback of a
    throwaway network namespace, in a child process."""
    if kind not in _QDISC_KINDS:
        argv = ['tc', 'qdisc', 'add', 'dev', 'lo', 'root', kind]
        if kind == 'tbf':
            argv += ['rate', '1mbit', 'burst', '10000', 'latency', '10ms']

        def probe():
            kernel.unshare(kernel.flag_of('net'))
            return kernel.run(argv)[0] == 0
        _QDISC_KINDS[kind] = kernel.in_child(probe)
    return _QDISC_KINDS[kind]


def _close(sock):
    try:
        sock.close()
    except Exception:  # pylint: disable=broad-except
        pass


def _argument(attribute):
    """pyroute2's keyword argument for a kernel attribute of a link."""
    return attribute[len('IFLA_'):].lower()


def describe_error(exc):
    return _describe(exc)
