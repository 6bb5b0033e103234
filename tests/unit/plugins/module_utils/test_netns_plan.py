# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the netns Planner: declarations (built by netns_options.validate) against an actual state built by
hand give the change list, with a fake netlink session, so that no kernel, no root and no /run is touched."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os

import pytest

from ansible_collections.nsforge.linux.plugins.module_utils import kernel, netns_options, netns_plan, nodes, specs
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError

P = netns_plan
WRITES = ('link_add', 'link_del', 'link_set', 'addr', 'route', 'vxlan_set')


# ---- the world around the Planner: a fake session, the pinned nodes, the handles under /run

class FakeSession:
    """A netlink session that records every call: read answers from a dict of namespaces (path, or None for the
    host), index_of gives made-up indexes, and the writes only record."""

    def __init__(self, namespaces=None):
        self.namespaces = namespaces or {}
        self.calls = []

    def read(self, ns_path, tables=None):
        self.calls.append(('read', ns_path))
        if ns_path not in self.namespaces:
            raise AssertionError('the planner read namespace %r, which the test does not give' % (ns_path,))
        return copy.deepcopy(self.namespaces[ns_path])

    def index_of(self, ns_path, name):
        self.calls.append(('index_of', ns_path, name))
        return 42

    def forget(self, ns_path):
        self.calls.append(('forget', ns_path))

    def link_add(self, ns_path, spec, peer_ns_path=None, parent_index=None):
        self.calls.append(('link_add', ns_path, spec['name'], peer_ns_path, parent_index))

    def link_del(self, ns_path, name):
        self.calls.append(('link_del', ns_path, name))

    def link_set(self, ns_path, name, attrs):
        self.calls.append(('link_set', ns_path, name, attrs))

    def addr(self, ns_path, command, name, cidr):
        self.calls.append(('addr', ns_path, command, name, cidr))

    def route(self, ns_path, command, route):
        self.calls.append(('route', ns_path, command, netns_options.route_text(route)))

    def vxlan_set(self, ns_path, name, change):
        self.calls.append(('vxlan_set', ns_path, name, change))

    def writes(self):
        return [call for call in self.calls if call[0] in WRITES]


class Host:
    """The host as the Planner may see it outside the session: which nodes are pinned (netns_exists) and which
    handle files exist under /run (os.path.lexists); both answered from sets, recorded."""

    def __init__(self):
        self.live = set()
        self.run_files = set()
        self.asked = []
        self.calls = []

    def netns_exists(self, name):
        self.asked.append(name)
        return name in self.live


@pytest.fixture(autouse=True)
def host(monkeypatch):
    """Every test: nodes are answered by a Host, and anything that would open a namespace fails the test."""
    world = Host()
    monkeypatch.setattr(nodes, 'netns_exists', world.netns_exists)
    monkeypatch.setattr(nodes, 'remove_netns', lambda name: world.calls.append(('remove_netns', name)))

    def untouchable(*args, **kwargs):
        raise AssertionError('the planner opened a namespace: %r' % (args,))
    monkeypatch.setattr(kernel, 'is_nsfs_mount', untouchable)
    monkeypatch.setattr(kernel, 'entered', untouchable)
    real_lexists = os.path.lexists

    def lexists(path):
        if str(path).startswith('/run/'):
            world.asked.append(path)
            return path in world.run_files
        return real_lexists(path)
    monkeypatch.setattr(os.path, 'lexists', lexists)
    return world


# ---- declarations, exactly as the module builds them

def fill(options, given):
    """Module parameters as AnsibleModule gives them: every option of the spec present, defaults applied."""
    unknown = set(given) - set(options)
    assert not unknown, 'not options of the spec: %s' % sorted(unknown)
    out = {}
    for key, spec in options.items():
        value = given.get(key, spec.get('default'))
        if value is not None and spec.get('options'):
            value = [fill(spec['options'], v) for v in value] if spec['type'] == 'list' else fill(spec['options'], value)
        out[key] = value
    return out


def declare(*entries, **top):
    """Declarations of a task with namespaces (one entry per node): prefixes are namespaces[N]."""
    top['namespaces'] = list(entries)
    return netns_options.validate(fill(specs.netns()['argument_spec'], top))


def declare_one(name, **options):
    """Declarations of a task with one node at the top level: options are named without a prefix."""
    options['name'] = name
    return netns_options.validate(fill(specs.netns()['argument_spec'], options))


def node(name, **options):
    options['name'] = name
    return options


def link(name, kind, **options):
    options.update(name=name, type=kind)
    return options


def route(dst, **options):
    options['dst'] = dst
    return options


# ---- actual state, shaped as Reader.node and Session.read give it

def alink(name, kind, index, **fields):
    """A link as Session.read reports it; fields override the defaults (up, no master, no address)."""
    out = {'name': name, 'index': index, 'kind': kind, 'mtu': 1500, 'mac': '02:00:00:00:01:%02x' % index, 'up': True,
           'master': None, 'link_index': None, 'link_netnsid': None, 'alias': None, 'addresses': []}
    if kind in ('vlan', 'macvlan', 'vxlan'):
        out['parent'] = None
    if kind == 'vlan':
        out['vlan_id'] = None
    if kind == 'macvlan':
        out['mode'] = 'bridge'
    if kind == 'vxlan':
        out.update(vni=None, dstport=4789, target=None, local=None, underlay='node')
    if kind == 'loopback':
        out.update(mtu=65536, mac='00:00:00:00:00:00', addresses=['127.0.0.1/8', '::1/128'])
    out.update(fields)
    return out


def lo(up=True):
    return alink('lo', 'loopback', 1, up=up)


def aroute(dst, gateway=None, dev=None, metric=0, table=254, proto=4, scope=0):
    """A route as Session.read reports it; proto 4 (static) by default, one that a declaration manages."""
    family = 6 if ':' in dst else 4
    return {'family': family, 'dst': dst, 'gateway': gateway, 'dev': dev, 'metric': metric, 'table': table,
            'proto': proto, 'scope': scope}


def present(*links, **fields):
    """The actual state of a pinned node with lo up and the given links."""
    state = {'exists': True, 'stale': False, 'links': {'lo': lo()}, 'routes': [], 'sysctl': {}, 'hostname': None,
             'uts': False, 'files': {'resolv.conf': None, 'hosts': None}, 'etc_exists': False}
    for item in links:
        state['links'][item['name']] = item
    state.update(fields)
    return state


def missing(stale=False, **fields):
    """The actual state of a node whose namespace is not pinned (stale: a handle file pins nothing)."""
    state = {'exists': False, 'stale': stale, 'links': {}, 'routes': [], 'sysctl': {}, 'hostname': None, 'uts': False,
             'files': {'resolv.conf': None, 'hosts': None}, 'etc_exists': False}
    state.update(fields)
    return state


def run_plan(decls, actual, session=None):
    """Plan, and check that planning wrote nothing: (planner, changes, session)."""
    session = session if session is not None else FakeSession()
    planner = P.Planner(session, decls, actual)
    changes = planner.plan()
    assert session.writes() == [], 'planning wrote through the session'
    assert [c for c in session.calls if c[0] != 'read'] == [], 'planning used the session for more than reads'
    return planner, changes, session


def descriptions(decls, actual, session=None):
    return [c.description for c in run_plan(decls, actual, session)[1]]


def change_named(changes, description):
    found = [c for c in changes if c.description == description]
    assert len(found) == 1, [c.description for c in changes]
    return found[0]


def veth_pair(name, index, peer_index, alias=None, **fields):
    """One end of a veth whose other end, of index peer_index, is in another namespace."""
    return alink(name, 'veth', index, link_index=peer_index, link_netnsid=0, alias=alias, **fields)


# ---- 1. new nodes

def test_new_nodes_with_a_veth_between_them_come_up_in_phase_order():
    """Two new nodes joined by a veth: namespaces first, then the link, its peer's alias, the addresses of both
    ends, lo and links up, the route, the sysctl; the peer node is declared, so nothing is read."""
    decls = declare(
        node('r1', links=[link('eth1', 'veth', addresses=['10.0.0.1/30'],
                               peer={'name': 'eth1', 'netns': 'r2', 'addresses': ['10.0.0.2/30']})],
             routes=[route('10.9.0.0/24', gateway='10.0.0.2')], sysctl={'net.ipv4.ip_forward': 1}),
        node('r2', routes=[route('10.8.0.0/24', dev='eth1')]),
    )
    planner, changes, session = run_plan(decls, {'r1': missing(), 'r2': missing()})
    assert [c.description for c in changes] == [
        'node r1: create network namespace /run/netns/r1',
        'node r2: create network namespace /run/netns/r2',
        'node r1: create veth eth1 with peer eth1 in node r2',
        'node r2: set eth1 alias nsforge-peer-of:r1/eth1',
        'node r1: add address 10.0.0.1/30 to eth1',
        'node r2: add address 10.0.0.2/30 to eth1',
        'node r1: bring lo up',
        'node r1: set eth1 up',
        'node r2: set eth1 up',
        'node r2: bring lo up',
        'node r1: add route 10.9.0.0/24 via 10.0.0.2 metric 0',
        'node r2: add route 10.8.0.0/24 dev eth1 metric 0',
        'node r1: set net.ipv4.ip_forward = 1',
    ]
    assert [c.phase for c in changes] == [P.PH_NS, P.PH_NS, P.PH_LINK, P.PH_LINK_SET, P.PH_ADDR, P.PH_ADDR,
                                          P.PH_UP, P.PH_UP, P.PH_UP, P.PH_UP, P.PH_ROUTE, P.PH_ROUTE, P.PH_SYSCTL]
    assert session.calls == []
    assert planner.track['r2']['peers_in'][0]['name'] == 'eth1'


def test_a_stale_handle_is_replaced_when_the_node_is_created():
    """A node whose handle pins nothing is created over it, and the description says so."""
    decls = declare_one('r1', loopback=False)
    assert descriptions(decls, {'r1': missing(stale=True)}) == [
        'node r1: replace stale handle and create network namespace /run/netns/r1']


# ---- 2. every kind of link

def test_every_link_type_is_created_in_its_phase():
    """Declared in the reverse order, bridges are created first, then links, then links with a parent (in the
    declared order), then each is brought up, the links with a parent after the others (they are planned after
    their parents, which the kernel may delete with them)."""
    decls = declare_one('r1', links=[
        link('vx0', 'vxlan', vni=100, remote='192.0.2.1'),
        link('v10', 'vlan', vlan_id=10, link='d0'),
        link('mv0', 'macvlan', link='d0'),
        link('d0', 'dummy'),
        link('br0', 'bridge'),
    ])
    changes = run_plan(decls, {'r1': present()})[1]
    assert [c.description for c in changes] == [
        'node r1: create bridge br0',
        'node r1: create dummy d0',
        'node r1: create vxlan vx0',
        'node r1: create vlan v10',
        'node r1: create macvlan mv0',
        'node r1: set d0 up',
        'node r1: set br0 up',
        'node r1: set vx0 up',
        'node r1: set v10 up',
        'node r1: set mv0 up',
    ]
    assert [c.phase for c in changes[:5]] == [P.PH_BRIDGE, P.PH_LINK, P.PH_CHILD, P.PH_CHILD, P.PH_CHILD]


def test_a_created_link_gets_its_declared_attributes():
    """A new link's mtu, mac and master are set right after it is created, its addresses added, and a link
    declared down is left down."""
    decls = declare_one('r1', links=[
        link('br0', 'bridge'),
        link('d0', 'dummy', mtu=9000, mac='02:AA:00:00:00:01', master='br0', addresses=['10.0.0.1/24'], state='down'),
    ])
    assert descriptions(decls, {'r1': present()}) == [
        'node r1: create bridge br0',
        'node r1: create dummy d0',
        'node r1: set d0 mac 02:aa:00:00:00:01, master br0, mtu 9000',
        'node r1: add address 10.0.0.1/24 to d0',
        'node r1: set br0 up',
    ]


def test_peers_outside_the_task_are_read_through_the_session_once(host):
    """A veth peer in the host and one in a pinned node that the task does not declare: their namespaces are read
    through the session (the host once for two peers), and the peers' attributes are set there."""
    host.live.add('r9')
    session = FakeSession({
        None: {'links': {'lo': lo(), 'eth0': alink('eth0', 'other', 2)}, 'routes': []},
        '/run/netns/r9': {'links': {'lo': lo()}, 'routes': []},
    })
    decls = declare_one('r1', links=[
        link('eth0', 'veth', peer={'name': 'veth-r1', 'addresses': ['10.200.1.1/24']}),
        link('eth1', 'veth', peer={'name': 'veth-r1b'}),
        link('eth2', 'veth', peer={'name': 'eth2', 'netns': 'r9'}),
    ])
    assert descriptions(decls, {'r1': present()}, session) == [
        'node r1: create veth eth0 with peer veth-r1 in the host',
        'node r1: create veth eth1 with peer veth-r1b in the host',
        'node r1: create veth eth2 with peer eth2 in node r9',
        'node r9: set eth2 alias nsforge-peer-of:r1/eth2',
        'host: add address 10.200.1.1/24 to veth-r1',
        'node r1: set eth0 up',
        'host: set veth-r1 up',
        'node r1: set eth1 up',
        'host: set veth-r1b up',
        'node r1: set eth2 up',
        'node r9: set eth2 up',
    ]
    assert session.calls == [('read', None), ('read', '/run/netns/r9')]


# ---- 3. nothing to do

def lab_declarations():
    """r1 with every kind of link, a route, a sysctl, a hostname and DNS files; r2 holds the peer of r1's veth."""
    return declare(
        node('r1', hostname='r1', purge=True,
             links=[link('br0', 'bridge', addresses=['10.1.0.1/24']),
                    link('eth1', 'veth', master='br0', peer={'name': 'eth1', 'netns': 'r2', 'addresses': ['10.1.0.2/24']}),
                    link('d0', 'dummy', mtu=9000, mac='02:00:00:00:00:d0'),
                    link('v10', 'vlan', vlan_id=10, link='d0', addresses=['10.10.0.1/24']),
                    link('mv0', 'macvlan', link='d0', mode='private'),
                    link('vx0', 'vxlan', vni=100, remote='192.0.2.1', local='192.0.2.254')],
             routes=[route('default', gateway='10.1.0.254')],
             sysctl={'net.ipv4.ip_forward': 1},
             nameservers=['192.0.2.53'], search=['lab.example'], hosts={'r2': '10.1.0.2'}),
        node('r2', purge=True, routes=[route('10.10.0.0/24', gateway='10.1.0.1', dev='eth1')]),
    )


def lab_actual(decls):
    """The state that lab_declarations() leaves."""
    r1 = dict((d['name'], d) for d in decls)['r1']
    return {
        'r1': present(
            alink('br0', 'bridge', 2, addresses=['10.1.0.1/24', 'fe80::1/64']),
            veth_pair('eth1', 3, 2, master='br0'),
            alink('d0', 'dummy', 4, mtu=9000, mac='02:00:00:00:00:d0'),
            alink('v10', 'vlan', 5, vlan_id=10, parent='d0', link_index=4, addresses=['10.10.0.1/24']),
            alink('mv0', 'macvlan', 6, mode='private', parent='d0', link_index=4),
            alink('vx0', 'vxlan', 7, vni=100, target='192.0.2.1', local='192.0.2.254'),
            routes=[aroute('0.0.0.0/0', gateway='10.1.0.254', dev='br0'),
                    aroute('10.1.0.0/24', dev='br0', proto=2, scope=253)],
            sysctl={'net.ipv4.ip_forward': '1'}, uts=True, hostname='r1', etc_exists=True,
            files={'resolv.conf': P.resolv_conf(r1), 'hosts': P.hosts_file(r1)}),
        'r2': present(
            veth_pair('eth1', 2, 3, alias='nsforge-peer-of:r1/eth1', addresses=['10.1.0.2/24']),
            routes=[aroute('10.10.0.0/24', gateway='10.1.0.1', dev='eth1'),
                    aroute('10.1.0.0/24', dev='eth1', proto=2, scope=253)]),
    }


def test_a_state_that_matches_gives_an_empty_plan():
    """Every declared field already as declared (the veth's peer indexes match, purge on): nothing to do, and
    nothing read beyond what the test gives."""
    decls = lab_declarations()
    planner, changes, session = run_plan(decls, lab_actual(decls))
    assert [c.description for c in changes] == []
    assert session.calls == []


def test_the_matching_state_minus_one_field_gives_one_change():
    """The control of the empty plan: the same state with the peer's address missing gives exactly that change."""
    decls = lab_declarations()
    actual = lab_actual(decls)
    actual['r2']['links']['eth1']['addresses'] = []
    assert descriptions(decls, actual) == ['node r2: add address 10.1.0.2/24 to eth1']


# ---- 4. changes in place

def test_changes_in_place():
    """mtu, mac, master, addresses (one added, one purged, the link-local one kept), state down, a route's gateway,
    a sysctl, and a vxlan's unicast remote are changed in place: nothing is deleted and created again."""
    decls = declare_one('r1', purge=True, links=[
        link('br0', 'bridge'),
        link('d0', 'dummy', mtu=9000, mac='02:00:00:00:00:01', master='br0',
             addresses=['10.0.0.1/24', '10.0.1.1/24'], state='down'),
        link('vx0', 'vxlan', vni=100, remote='192.0.2.2'),
    ], routes=[route('10.9.0.0/24', gateway='10.0.0.254')], sysctl={'net.ipv4.ip_forward': 1})
    actual = present(
        alink('br0', 'bridge', 2),
        alink('d0', 'dummy', 3, mac='02:00:00:00:00:99', addresses=['10.0.0.1/24', '10.0.2.1/24', 'fe80::1/64']),
        alink('vx0', 'vxlan', 4, vni=100, target='192.0.2.1'),
        routes=[aroute('10.9.0.0/24', gateway='10.0.0.253', dev='d0'),
                aroute('10.0.0.0/24', dev='d0', proto=2, scope=253)],
        sysctl={'net.ipv4.ip_forward': '0'})
    assert descriptions(decls, {'r1': actual}) == [
        'node r1: set d0 mac 02:00:00:00:00:01, master br0, mtu 9000',
        'node r1: set d0 down',           # before its addresses: the kernel flushes IPv6 ones when it goes down
        'node r1: set vx0 remote 192.0.2.2 (was 192.0.2.1)',
        'node r1: remove address 10.0.2.1/24 from d0',
        'node r1: add address 10.0.1.1/24 to d0',
        'node r1: replace route 10.9.0.0/24 via 10.0.0.254 metric 0 (was 10.9.0.0/24 via 10.0.0.253 dev d0 metric 0)',
        'node r1: set net.ipv4.ip_forward = 1 (was 0)',
    ]


def test_without_purge_nothing_undeclared_is_taken_away():
    """The same kind of drift without purge: an extra address, an extra master and an extra route stay."""
    decls = declare_one('r1', links=[link('d0', 'dummy', addresses=['10.0.0.1/24'])])
    actual = present(alink('br9', 'bridge', 2), alink('d0', 'dummy', 3, master='br9', addresses=['10.0.0.1/24', '10.0.2.1/24']),
                     routes=[aroute('10.8.0.0/24', gateway='10.0.0.254', dev='d0')])
    assert descriptions(decls, {'r1': actual}) == []


def test_vxlan_local_address_changes_in_place():
    """A new local address of a vxlan is set in place too, next to its remote."""
    decls = declare_one('r1', links=[link('vx0', 'vxlan', vni=100, remote='192.0.2.2', local='192.0.2.20')])
    actual = present(alink('vx0', 'vxlan', 2, vni=100, target='192.0.2.1', local='192.0.2.10'))
    assert descriptions(decls, {'r1': actual}) == [
        'node r1: set vx0 local 192.0.2.20 (was 192.0.2.10), remote 192.0.2.2 (was 192.0.2.1)']


def test_hostname_and_files_change_in_place():
    """A node with a UTS namespace gets its new hostname in place; a file that differs is written again."""
    decls = declare_one('r1', hostname='r1-new', nameservers=['192.0.2.53'])
    actual = present(uts=True, hostname='r1', files={'resolv.conf': 'nameserver 192.0.2.1\n', 'hosts': None})
    assert descriptions(decls, {'r1': actual}) == [
        'node r1: set hostname r1-new (was r1)',
        'node r1: write /etc/netns/r1/resolv.conf',
    ]
    assert descriptions(declare_one('r2', hostname='r2'), {'r2': present()}) == [
        'node r2: create UTS namespace with hostname r2']


# ---- 5. recreation

@pytest.mark.parametrize('declared, actual, why', [
    (link('x0', 'dummy'), alink('x0', 'bridge', 3), 'it is a bridge, declared dummy'),
    (link('x0', 'vlan', vlan_id=10, link='d0'), alink('x0', 'vlan', 3, vlan_id=20, parent='d0'), 'its vlan id or parent differs'),
    (link('x0', 'macvlan', link='d0', mode='vepa'), alink('x0', 'macvlan', 3, mode='bridge', parent='d0'), 'its mode or parent differs'),
    (link('x0', 'vxlan', vni=101, remote='192.0.2.1'), alink('x0', 'vxlan', 3, vni=100, target='192.0.2.1'),
     'its vni, port or underlay interface differs'),
    (link('x0', 'vxlan', vni=100, group='239.1.1.1', link='d0'), alink('x0', 'vxlan', 3, vni=100, target='192.0.2.1', parent='d0'),
     'its remote, group or local address differs'),
    (link('x0', 'vxlan', vni=100, remote='192.0.2.1'), alink('x0', 'vxlan', 3, vni=100, target='239.1.1.1', parent='d0'),
     'its remote, group or local address differs'),
    (link('x0', 'vxlan', vni=100, remote='192.0.2.1'), alink('x0', 'vxlan', 3, vni=100, target='192.0.2.1', local='192.0.2.9'),
     'its remote, group or local address differs'),
], ids=['kind', 'vlan-id', 'macvlan-mode', 'vxlan-vni', 'vxlan-to-multicast', 'vxlan-from-multicast', 'vxlan-local-given-up'])
def test_a_link_that_cannot_be_kept_is_deleted_and_created_again(declared, actual, why):
    """A link whose kind or identity differs is deleted (the reason in the description) and created again."""
    decls = declare_one('r1', links=[link('d0', 'dummy'), declared])
    changes = run_plan(decls, {'r1': present(alink('d0', 'dummy', 2), actual)})[1]
    assert [c.description for c in changes] == [
        'node r1: delete interface x0 to recreate it (%s)' % why,
        'node r1: create %s x0' % declared['type'],
        'node r1: set x0 up',
    ]
    assert changes[0].phase == P.PH_LINK_DEL


def test_a_veth_whose_peer_is_elsewhere_is_created_again():
    """A veth whose other end is not the declared peer is deleted and created again, with its peer."""
    decls = declare(node('r1', links=[link('eth1', 'veth', peer={'name': 'eth1', 'netns': 'r2'})]), node('r2'))
    actual = {'r1': present(veth_pair('eth1', 2, 7)), 'r2': present()}
    assert descriptions(decls, actual) == [
        'node r1: delete interface eth1 to recreate it (its peer is not eth1 in node r2)',
        'node r1: create veth eth1 with peer eth1 in node r2',
        'node r2: set eth1 alias nsforge-peer-of:r1/eth1',
        'node r1: set eth1 up',
        'node r2: set eth1 up',
    ]


# ---- 6. purge

def test_purge_removes_what_is_not_declared(host):
    """purge: undeclared links, addresses (not link-local), masters and static or boot routes go; a kernel or
    routing daemon's route, lo, and the veth end that a live node placed here stay; a dead owner's end goes."""
    host.live.add('r9')
    decls = declare_one('r1', purge=True, links=[link('br0', 'bridge'), link('d0', 'dummy', addresses=['10.0.0.1/24'])])
    actual = present(
        alink('br0', 'bridge', 2),
        alink('d0', 'dummy', 3, master='br0', addresses=['10.0.0.1/24', '10.0.9.1/24', 'fe80::1/64']),
        alink('junk', 'dummy', 4),
        alink('p1', 'veth', 5, alias='nsforge-peer-of:r9/eth0', link_netnsid=0),
        alink('p2', 'veth', 6, alias='nsforge-peer-of:r8/eth0', link_netnsid=0),
        routes=[aroute('10.8.0.0/24', gateway='10.0.0.254', dev='d0', proto=4),
                aroute('10.7.0.0/24', dev='d0', proto=3),
                aroute('10.0.0.0/24', dev='d0', proto=2, scope=253),
                aroute('10.6.0.0/24', gateway='10.0.0.253', dev='d0', proto=186)])
    assert descriptions(decls, {'r1': actual}) == [
        'node r1: delete undeclared interface junk',
        'node r1: delete undeclared interface p2',
        'node r1: set d0 master none',
        'node r1: remove address 10.0.9.1/24 from d0',
        'node r1: delete undeclared route 10.7.0.0/24 dev d0 metric 0',   # in the order of their text
        'node r1: delete undeclared route 10.8.0.0/24 via 10.0.0.254 dev d0 metric 0',
    ]
    assert sorted(host.asked) == ['r8', 'r9']


def test_purge_keeps_the_peers_that_the_task_places_in_the_node():
    """The end of r1's veth in r2 stays when r2 purges, even without its alias yet; r2's own extra link goes."""
    decls = declare(node('r1', links=[link('eth1', 'veth', peer={'name': 'eth1', 'netns': 'r2'})]), node('r2', purge=True))
    actual = {'r1': present(veth_pair('eth1', 2, 2)), 'r2': present(veth_pair('eth1', 2, 2), alink('old', 'dummy', 3))}
    assert descriptions(decls, actual) == [
        'node r2: delete undeclared interface old',
        'node r2: set eth1 alias nsforge-peer-of:r1/eth1',
    ]


# ---- 7. a node declared absent

def test_a_node_declared_absent_is_removed_with_its_handles_and_files(host):
    """An absent node: its interfaces but lo, its pin, its UTS handle and its /etc/netns folder go, before any
    other node's work; a stale pin and a UTS handle that pins nothing go too; planner.removed lists them."""
    host.run_files.add('/run/nsforge/nodes/r2/uts')
    decls = declare(node('r1', state='absent'), node('r2', state='absent'), node('r3', state='absent'), node('r4'))
    actual = {
        'r1': present(alink('eth0', 'veth', 3), alink('br0', 'bridge', 2), uts=True, hostname='r1', etc_exists=True),
        'r2': missing(stale=True),
        'r3': missing(),
        'r4': missing(),
    }
    planner, changes, session = run_plan(decls, actual)
    assert [c.description for c in changes] == [
        'node r1: delete interface br0',
        'node r1: delete interface eth0',
        'node r1: remove network namespace /run/netns/r1',
        'node r1: remove UTS namespace handle /run/nsforge/nodes/r1/uts',
        'node r1: remove /etc/netns/r1',
        'node r2: remove stale handle /run/netns/r2',
        'node r2: remove UTS namespace handle /run/nsforge/nodes/r2/uts',
        'node r4: create network namespace /run/netns/r4',
        'node r4: bring lo up',
    ]
    assert planner.removed == {
        'r1': {'interfaces': ['br0', 'eth0'], 'files': ['/etc/netns/r1'],
               'handles': ['/run/netns/r1', '/run/nsforge/nodes/r1/uts']},
        'r2': {'interfaces': [], 'files': [], 'handles': ['/run/netns/r2', '/run/nsforge/nodes/r2/uts']},
        'r3': {'interfaces': [], 'files': [], 'handles': []},
        'r4': {'interfaces': [], 'files': [], 'handles': []},
    }
    assert session.calls == []


def test_removing_a_node_forgets_its_sockets_then_unpins_it(host):
    """Applying the removal of a node's namespace closes the session's sockets there before it unpins it."""
    planner, changes, session = run_plan(declare_one('r1', state='absent'), {'r1': present()})
    assert [c.description for c in changes] == ['node r1: remove network namespace /run/netns/r1']
    changes[0].apply()
    assert session.calls == [('forget', '/run/netns/r1')]
    assert host.calls == [('remove_netns', 'r1')]


# ---- 8. errors name the option

@pytest.mark.parametrize('options, actual, option, msg', [
    (dict(links=[link('d0', 'dummy'), link('v10', 'vlan', vlan_id=10, link='eth9')]), present(),
     'links[1].link', "links[1].link: invalid value 'eth9': no interface of that name in node r1"),
    (dict(links=[link('m0', 'macvlan', link='eth9')]), missing(),
     'links[0].link', "links[0].link: invalid value 'eth9': no interface of that name in node r1"),
    (dict(links=[link('vx0', 'vxlan', vni=5, remote='192.0.2.1', link='eth9', underlay='host')]), present(),
     'links[0].link', "links[0].link: invalid value 'eth9': no interface of that name in the host, the underlay"),
    (dict(links=[link('d0', 'dummy', master='d1')]), present(alink('d1', 'dummy', 2)),
     'links[0].master', "links[0].master: invalid value 'd1': the master is a dummy, not a bridge"),
    (dict(links=[link('d0', 'dummy', master='br0')]), present(),
     'links[0].master', "links[0].master: invalid value 'br0': no bridge of that name in node r1"),
    (dict(links=[link('eth0', 'veth', peer={'name': 'eth0', 'master': 'eth1'})]), present(),
     'links[0].peer.master', "links[0].peer.master: invalid value 'eth1': the master is a other, not a bridge"),
    (dict(links=[link('eth0', 'veth', peer={'name': 'eth1'})]), present(),
     'links[0].peer.name', "links[0].peer.name: invalid value 'eth1': an interface of that name already exists in the host"),
    (dict(routes=[route('10.9.0.0/24', dev='eth9')]), present(),
     'routes[0].dev', "routes[0].dev: invalid value 'eth9': no interface of that name in node r1"),
    (dict(sysctl={'net.ipv4.conf.eth9.forwarding': 1}), present(),
     'sysctl', "sysctl: invalid value 'net.ipv4.conf.eth9.forwarding': no such setting in the network namespace of node r1"),
], ids=['vlan-parent', 'macvlan-parent-new-node', 'vxlan-host-underlay', 'master-not-bridge', 'master-missing',
        'peer-master-not-bridge', 'peer-name-taken', 'route-dev', 'sysctl'])
def test_errors_while_planning_name_the_option(options, actual, option, msg):
    """What only the actual state can refuse is refused while planning, naming the option and the value."""
    session = FakeSession({None: {'links': {'lo': lo(), 'eth1': alink('eth1', 'other', 3)}, 'routes': []}})
    decls = declare_one('r1', **options)
    with pytest.raises(NsforgeError) as info:
        P.Planner(session, decls, {'r1': actual}).plan()
    assert (info.value.option, info.value.msg) == (option, msg)
    assert session.writes() == []


def test_errors_in_a_task_of_many_nodes_name_the_entry():
    """With namespaces, the option is named with its entry."""
    decls = declare(node('r1'), node('r2', links=[link('v10', 'vlan', vlan_id=10, link='eth9')]))
    with pytest.raises(NsforgeError) as info:
        P.Planner(FakeSession(), decls, {'r1': missing(), 'r2': present()}).plan()
    assert info.value.option == 'namespaces[1].links[0].link'


# ---- 9. apply and undo go through the session

def test_undo_of_a_created_link_deletes_it():
    """The undo of a link's creation deletes it; its apply creates it, a child with its parent's index."""
    decls = declare_one('r1', links=[link('d0', 'dummy'), link('v10', 'vlan', vlan_id=10, link='d0')])
    planner, changes, session = run_plan(decls, {'r1': present()})
    for name, kind, parent_index in (('d0', 'dummy', None), ('v10', 'vlan', 42)):
        change = change_named(changes, 'node r1: create %s %s' % (kind, name))
        session.calls = []
        change.apply()
        assert session.writes() == [('link_add', '/run/netns/r1', name, None, parent_index)]
        session.calls = []
        change.undo()
        assert session.calls == [('link_del', '/run/netns/r1', name)]


def test_undo_of_changes_in_place_puts_back_what_was_there():
    """Each change in place has an undo that restores the value it read: mtu, address, route, vxlan remote."""
    decls = declare_one('r1', links=[link('d0', 'dummy', mtu=9000, addresses=['10.0.0.1/24']),
                                     link('vx0', 'vxlan', vni=100, remote='192.0.2.2')],
                        routes=[route('10.9.0.0/24', gateway='10.0.0.254')])
    actual = present(alink('d0', 'dummy', 2), alink('vx0', 'vxlan', 3, vni=100, target='192.0.2.1'),
                     routes=[aroute('10.9.0.0/24', gateway='10.0.0.253', dev='d0')])
    planner, changes, session = run_plan(decls, {'r1': actual})
    undone = []
    for change in changes:
        session.calls = []
        change.undo()
        undone.append((change.description, session.writes()))
    assert undone == [
        ('node r1: set d0 mtu 9000', [('link_set', '/run/netns/r1', 'd0', {'mtu': 1500})]),
        ('node r1: set vx0 remote 192.0.2.2 (was 192.0.2.1)', [('vxlan_set', '/run/netns/r1', 'vx0', {'remote': '192.0.2.1'})]),
        ('node r1: add address 10.0.0.1/24 to d0', [('addr', '/run/netns/r1', 'del', 'd0', '10.0.0.1/24')]),
        ('node r1: replace route 10.9.0.0/24 via 10.0.0.254 metric 0 (was 10.9.0.0/24 via 10.0.0.253 dev d0 metric 0)',
         [('route', '/run/netns/r1', 'replace', '10.9.0.0/24 via 10.0.0.253 dev d0 metric 0')]),
    ]


# ---- bugs that these tests found in the Planner, fixed

def test_sysctl_of_a_new_link_with_a_dot_in_its_name():
    """The documentation says to write eth0.10 as net.ipv4.conf.eth0/10.forwarding: for a vlan that the task
    creates in an existing node, that setting cannot exist yet, and must not be refused."""
    decls = declare_one('r1', links=[link('eth0.10', 'vlan', vlan_id=10, link='eth0')],
                        sysctl={'net.ipv4.conf.eth0/10.forwarding': 1})
    assert descriptions(decls, {'r1': present(alink('eth0', 'dummy', 2))}) == [
        'node r1: create vlan eth0.10',
        'node r1: set eth0.10 up',
        'node r1: set net.ipv4.conf.eth0/10.forwarding = 1',
    ]


def test_sysctl_of_a_veth_end_that_another_node_places_here():
    """r1's veth puts eth1 into r2, which exists: r2's setting of eth1 cannot exist before eth1 does."""
    decls = declare(node('r1', links=[link('eth1', 'veth', peer={'name': 'eth1', 'netns': 'r2'})]),
                    node('r2', sysctl={'net.ipv4.conf.eth1.forwarding': 1}))
    assert descriptions(decls, {'r1': present(), 'r2': present()}) == [
        'node r1: create veth eth1 with peer eth1 in node r2',
        'node r2: set eth1 alias nsforge-peer-of:r1/eth1',
        'node r1: set eth1 up',
        'node r2: set eth1 up',
        'node r2: set net.ipv4.conf.eth1.forwarding = 1',
    ]


def test_vlan_on_a_veth_end_that_another_node_places_here():
    """On a fresh host, r2 declares a vlan on the end of r1's veth: the vlan is created after the veth (links with
    a parent come last), so it must not be refused."""
    decls = declare(node('r1', links=[link('eth1', 'veth', peer={'name': 'eth1', 'netns': 'r2'})]),
                    node('r2', links=[link('eth1.10', 'vlan', vlan_id=10, link='eth1')]))
    assert 'node r2: create vlan eth1.10' in descriptions(decls, {'r1': missing(), 'r2': missing()})


def test_a_vlan_whose_parent_is_recreated_is_created_again():
    """trunk changes from a bridge to a dummy: deleting it deletes v10 on it, so v10 must be created again in the
    same run, or the task ends without the vlan it declares."""
    decls = declare_one('r1', links=[link('trunk', 'dummy'), link('v10', 'vlan', vlan_id=10, link='trunk')])
    actual = present(alink('trunk', 'bridge', 2), alink('v10', 'vlan', 3, vlan_id=10, parent='trunk', link_index=2))
    found = descriptions(decls, {'r1': actual})
    assert 'node r1: delete interface trunk to recreate it (it is a bridge, declared dummy)' in found
    assert 'node r1: create vlan v10' in found


def test_a_route_through_a_recreated_link_is_added_again():
    """x0 changes from a bridge to a dummy: deleting it flushes the route through it, which must be added again."""
    decls = declare_one('r1', links=[link('x0', 'dummy', addresses=['10.0.0.1/24'])],
                        routes=[route('10.9.0.0/24', gateway='10.0.0.254', dev='x0')])
    actual = present(alink('x0', 'bridge', 2, addresses=['10.0.0.1/24']),
                     routes=[aroute('10.9.0.0/24', gateway='10.0.0.254', dev='x0')])
    found = descriptions(decls, {'r1': actual})
    assert 'node r1: delete interface x0 to recreate it (it is a bridge, declared dummy)' in found
    assert [d for d in found if d.startswith('node r1: ') and 'route 10.9.0.0/24 via 10.0.0.254 dev x0' in d]


def test_purge_does_not_delete_the_parent_of_a_declared_vlan():
    """v10 is declared on eth0, which is present but not declared, with purge: the plan must either refuse
    (naming links[0].link) or keep eth0; deleting eth0 silently takes v10 with it."""
    decls = declare_one('r1', purge=True, links=[link('v10', 'vlan', vlan_id=10, link='eth0')])
    actual = present(alink('eth0', 'dummy', 2), alink('v10', 'vlan', 3, vlan_id=10, parent='eth0', link_index=2))
    try:
        found = descriptions(decls, {'r1': actual})
    except NsforgeError as exc:
        assert exc.option == 'links[0].link'
        return
    assert 'node r1: delete undeclared interface eth0' not in found
