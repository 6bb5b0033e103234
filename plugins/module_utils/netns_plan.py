# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""netns: the plan. Node declarations (netns_options) against the actual state (netns_read) give a change list.

The Planner compares and returns Changes in phases, so that one task declaring many nodes works in the right
order (namespaces, then bridges, then links, then links whose parent must exist, addresses, routes, ...). It only
reads through the session it is given; the Changes write through it when they are applied. Its unit tests give
it a fake session.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

from ansible_collections.nsforge.linux.plugins.module_utils import files, kernel, linktypes, netem, nodes
from ansible_collections.nsforge.linux.plugins.module_utils.changes import Change, ordered
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError, bad_option
from ansible_collections.nsforge.linux.plugins.module_utils.layout import etc_dir, netns_path, uts_path
from ansible_collections.nsforge.linux.plugins.module_utils.netns_options import opt, route_key, route_text
from ansible_collections.nsforge.linux.plugins.module_utils.netns_views import addr_view

PEER_ALIAS_PREFIX = 'nsforge-peer-of:'
MANAGED_HEADER = '# Managed by nsforge.linux netns; changes here are overwritten.\n'

# phases: the order of work when one task declares many nodes
PH_REMOVE, PH_NS, PH_UTS, PH_LINK_DEL, PH_BRIDGE, PH_LINK, PH_CHILD, PH_LINK_SET, PH_ADDR, PH_UP, PH_ROUTE, PH_SYSCTL, PH_FILES, PH_QDISC = range(14)
# the phase in which each kind of link is created (linktypes)
PH_CREATE = {linktypes.PHASE_BRIDGE: PH_BRIDGE, linktypes.PHASE_LINK: PH_LINK, linktypes.PHASE_CHILD: PH_CHILD}


def link_mismatch(cur, link):
    """Why an existing link cannot be kept as declared (needs delete and create), or None."""
    if cur['kind'] != link['type']:
        return 'it is a %s, declared %s' % (cur['kind'], link['type'])
    return linktypes.mismatch(cur, link)


def write_file(path, content):
    """Write a file of /etc/netns/<node> atomically (its folder created)."""
    files.write_atomic(path, content, 0o644, 0o755)


def restore_file(path, content):
    """Put back a file of /etc/netns/<node> as it was (None: it did not exist, nor, when empty, its folder)."""
    if content is not None:
        write_file(path, content)
        return
    files.remove(path)
    try:
        os.rmdir(os.path.dirname(path))
    except OSError:
        pass


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
        # what check mode's view (netns_views.predicted_view) needs to know of the plan, per node: links deleted
        # (purge), recreated, going down, vanishing (the ends of veths deleted elsewhere), bridges whose ports or
        # their MTU or MAC change, declared bridges whose MTU is set, routes added and removed, files written
        self.track = dict((d['name'], {'purge_links': set(), 'recreated': set(), 'downed': set(), 'vanish': set(),
                                       'ports': set(), 'mtu_set': set(), 'peers_in': [], 'routes_added': [],
                                       'routes_removed': [], 'files': {}, 'impairment': {}}) for d in decls)
        self.removed = dict((d['name'], {'interfaces': [], 'files': [], 'handles': []}) for d in decls)
        # (node, interface) whose state and impairment a running timeline drives: left alone until it ends
        self.driven = set()

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
                act = {'links': self.session.read(netns_path(netns))['links'], 'exists': True}
                self.actual[netns] = act
            else:
                return {}
        return act['links'] if act['exists'] else {}

    def path(self, netns):
        return None if netns is None else netns_path(netns)

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
        for decl in self.decls:
            if decl['state'] == 'present':
                self.plan_vanishing(decl)
                self.plan_bridge_mtu(decl)
        return ordered(self.changes)

    def plan_vanishing(self, decl):
        """The ends of veths that other nodes place here go with the veths that this task deletes (purge, a
        recreation, a node declared absent); a veth that is created again brings a new end. This node's own veths
        go with their ends in a node declared absent."""
        name = decl['name']
        track = self.track[name]
        coming = set(p['name'] for p in track['peers_in'])
        for ifname, cur in (self.actual[name]['links'] if self.actual[name]['exists'] else {}).items():
            alias = cur.get('alias') or ''
            if not alias.startswith(PEER_ALIAS_PREFIX):
                continue
            owner, _sep, link = alias[len(PEER_ALIAS_PREFIX):].partition('/')
            odecl = self.by_name.get(owner)
            if odecl is None:
                continue
            if odecl['state'] == 'absent' or link in self.track[owner]['purge_links'] | self.track[owner]['recreated']:
                (track['recreated'] if ifname in coming else track['vanish']).add(ifname)
                if cur.get('master'):
                    track['ports'].add(cur['master'])
        # and this node's veths whose far end is in a node that this task removes
        mine = self.actual[name]['links'] if self.actual[name]['exists'] else {}
        for other in self.decls:
            if other['state'] != 'absent' or not self.actual[other['name']]['exists']:
                continue
            for cur in self.actual[other['name']]['links'].values():
                owner, _sep, link = (cur.get('alias') or '')[len(PEER_ALIAS_PREFIX):].partition('/')
                if (cur.get('alias') or '').startswith(PEER_ALIAS_PREFIX) and owner == name and link in mine:
                    track['vanish'].add(link)
                    if mine[link].get('master'):
                        track['ports'].add(mine[link]['master'])

    def plan_bridge_mtu(self, decl):
        """A bridge takes the smallest MTU of its ports unless its own was set: a declared bridge MTU that it has
        already, but not as set, is set once its ports change."""
        name = decl['name']
        track = self.track[name]
        path = netns_path(name)
        for link in decl['links']:
            if link['type'] == 'bridge' and link['mtu'] is not None and link['name'] in track['ports'] \
                    and link['name'] not in track['mtu_set']:
                self.add(PH_UP, 'node %s: set %s mtu %d (its ports change)' % (name, link['name'], link['mtu']),
                         lambda l=link: self.session.link_set(path, l['name'], {'mtu': l['mtu']}))

    def plan_absent(self, decl):
        name = decl['name']
        act = self.actual[name]
        removed = self.removed[name]
        if act['exists']:
            path = netns_path(name)
            for ifname, link in sorted(act['links'].items()):
                if link['kind'] == 'loopback':
                    continue
                removed['interfaces'].append(ifname)
                self.add(PH_REMOVE, 'node %s: delete interface %s' % (name, ifname),
                         lambda p=path, i=ifname: self.session.link_del(p, i))
            removed['handles'].append(path)
            self.add(PH_REMOVE, 'node %s: remove network namespace %s' % (name, path), lambda: self._remove_ns(name))
        elif act['stale']:
            removed['handles'].append(netns_path(name))
            self.add(PH_REMOVE, 'node %s: remove stale handle %s' % (name, netns_path(name)),
                     lambda: nodes.remove_netns(name))
        if act['uts'] or os.path.lexists(uts_path(name)):
            removed['handles'].append(uts_path(name))
            self.add(PH_REMOVE, 'node %s: remove UTS namespace handle %s' % (name, uts_path(name)),
                     lambda: nodes.remove_uts(name))
        if act['etc_exists']:
            etc = etc_dir(name)
            removed['files'].append(etc)
            self.add(PH_REMOVE, 'node %s: remove %s' % (name, etc), lambda: nodes.remove_etc(name))

    def _remove_ns(self, name):
        self.session.forget(netns_path(name))
        nodes.remove_netns(name)

    def plan_present(self, decl):
        name = decl['name']
        act = self.actual[name]
        path = netns_path(name)
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
        # links of the node: parents before the links on them, which the kernel deletes with a recreated parent
        for link in sorted(decl['links'], key=lambda item: item['type'] in linktypes.PARENT_TYPES):
            self.plan_link(decl, link, links, declared)
        # purge undeclared links, but not the parent of a declared link (deleting it would delete that link too)
        if decl['purge']:
            parents = set(l['link'] for l in decl['links'] if l['link'] is not None and l.get('underlay') != 'host')
            keep = set(declared) | set(p['name'] for p in peers_in) | set(['lo']) | parents
            for ifname, cur in sorted(links.items()):
                if ifname in keep or cur['kind'] == 'loopback':
                    continue
                alias = cur.get('alias') or ''
                if alias.startswith(PEER_ALIAS_PREFIX):
                    owner = alias[len(PEER_ALIAS_PREFIX):].split('/', 1)[0]
                    if owner != name and self.owner_alive(owner):
                        continue
                track['purge_links'].add(ifname)
                if cur.get('master'):
                    track['ports'].add(cur['master'])
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
        path = netns_path(name)
        lopt = link['option']
        cur = links.get(link['name'])
        track = self.track[name]
        # parents and masters must exist or be declared (a veth end that another node of the task puts here counts)
        if link['type'] in linktypes.PARENT_TYPES and link['link'] is not None:
            if link.get('underlay') == 'host':
                if link['link'] not in self.host_links():
                    raise bad_option(lopt + '.link', link['link'], 'no interface of that name in the host, the underlay')
            elif link['link'] not in declared and link['link'] not in links \
                    and link['link'] not in set(p['name'] for p in track['peers_in']):
                raise bad_option(lopt + '.link', link['link'], 'no interface of that name in node %s' % name)
            if cur is not None and link.get('underlay') != 'host' and link['link'] in track['recreated']:
                # its parent is deleted and created again, and the kernel deletes it with it: it is created again
                track['recreated'].add(link['name'])
                cur = None
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
                if cur.get('master'):
                    track['ports'].add(cur['master'])
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
            phase = PH_CREATE[linktypes.TYPES[link['type']]['phase']]
            desc = 'node %s: create %s %s' % (name, link['type'], link['name'])
            if peer is not None:
                desc += ' with peer %s in %s' % (peer['name'], 'the host' if peer['netns'] is None else 'node ' + peer['netns'])
            self.add(phase, desc, lambda: self._create(path, link), lambda: self.session.link_del(path, link['name']))
        if not create and link['type'] == 'vxlan':
            change = linktypes.vxlan_endpoints(cur, link)
            if change:
                undo = dict((key, cur.get('target' if key == 'remote' else key)) for key in change)
                words = ', '.join('%s %s (was %s)' % (k, v, undo[k]) for k, v in sorted(change.items()))
                self.add(PH_LINK_SET, 'node %s: set %s %s' % (name, link['name'], words),
                         lambda: self.session.vxlan_set(path, link['name'], change),
                         lambda: self.session.vxlan_set(path, link['name'], undo))
        self.plan_attrs(name, path, link, cur, decl['purge'], create, node=name)
        if peer is not None:
            ppath = self.path(peer['netns'])
            pname = 'host' if peer['netns'] is None else 'node %s' % peer['netns']
            pspec = {'name': peer['name'], 'mtu': peer['mtu'], 'mac': None, 'master': peer['master'], 'state': 'up',
                     'addresses': peer['addresses'], 'impairment': peer.get('impairment'), 'option': lopt + '.peer'}
            if peer['netns'] is not None and peer['netns'] != name:
                pspec['alias'] = '%s%s/%s' % (PEER_ALIAS_PREFIX, name, link['name'])
            self.plan_attrs(pname, ppath, pspec, peer_cur, False, create, label=pname, node=peer['netns'])

    def _create(self, path, link):
        parent = None
        if link['type'] in linktypes.PARENT_TYPES and link['link'] is not None:
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

    def plan_attrs(self, name, path, link, cur, purge, created, label=None, node=None):
        """Attributes of one interface: mtu, mac, master, alias, addresses, state. node: the node it is in
        (None: the host)."""
        label = label or 'node %s' % name
        track = self.track.get(node) if node is not None else None
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
        if track is not None:
            if 'mtu' in setting and cur is not None:
                track['mtu_set'].add(ifname)
            if 'master' in setting or (cur is not None and cur.get('master') and ('mtu' in setting or 'mac' in setting)):
                track['ports'].update(m for m in (setting.get('master'), undo.get('master'), have_master) if m)
        if setting:
            words = ', '.join('%s %s' % (k, 'none' if v is None else v) for k, v in sorted(setting.items()))
            self.add(PH_LINK_SET, '%s: set %s %s' % (label, ifname, words),
                     lambda: self.session.link_set(path, ifname, setting),
                     (lambda: self.session.link_set(path, ifname, undo)) if undo and not created else None)
        # administrative state: down before the addresses, since the kernel flushes a link's IPv6 addresses when it
        # goes down (and keeps those added while it is down); up after them
        want_up = (link.get('state') or 'up') == 'up'
        have_up = cur['up'] if cur else False
        driven = (node, ifname) in self.driven
        if not driven:
            self.plan_impairment(label, node, link, cur, purge)
        if want_up != have_up and not driven:
            self.add(PH_UP if want_up else PH_LINK_SET, '%s: set %s %s' % (label, ifname, 'up' if want_up else 'down'),
                     lambda: self.session.link_set(path, ifname, {'state': 'up' if want_up else 'down'}),
                     None if created else (lambda: self.session.link_set(path, ifname, {'state': 'up' if have_up else 'down'})))
            if not want_up and track is not None:
                track['downed'].add(ifname)
        # addresses
        have_addrs = addr_view(cur['addresses']) if cur else []
        if not want_up and have_up:
            have_addrs = [a for a in have_addrs if ':' not in a]
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

    def plan_impairment(self, label, node, link, cur, purge):
        """The impairment of one interface (node: its node, None for the host): set, changed in place, or removed
        when it is no longer declared (only the collection's own qdiscs, unless the node purges)."""
        ifname = link['name']
        want = link.get('impairment')
        have = cur.get('impairment') if cur else None
        have_canon = have['canon'] if have else None
        managed = bool(have and have['managed'])
        if want is None:
            if have_canon is None or not (managed or purge):
                return
            commands = netem.tc_commands(node, ifname, None, have)
            undo = netem.transition(node, ifname, have_canon, None) if managed else None
            description = '%s: remove the impairment of %s (%s)' % (label, ifname, netem.label(have_canon))
        else:
            if managed and netem.same(want, have_canon):
                return
            self.check_qdiscs(link, want)
            commands = netem.tc_commands(node, ifname, want, have)
            undo = None
            if managed or (have or {}).get('root') is None:
                undo = netem.transition(node, ifname, have_canon if managed else None, want)
            description = '%s: set the impairment of %s to %s (was %s)' % (
                label, ifname, netem.label(want), netem.label(have_canon) if have_canon else 'none')
        if not commands:
            return
        if node in self.track:
            self.track[node]['impairment'][ifname] = netem.view(want)

        def run(argvs):
            for argv in argvs:
                self.session.tc(argv)
        self.add(PH_QDISC, description, lambda: run(commands), (lambda: run(undo)) if undo else None)

    def check_qdiscs(self, link, want):
        """Refuse, before anything changes, an impairment that this host's kernel cannot carry."""
        option = link['option'] + '.impairment'
        shown = netem.view(want)
        if netem.uses_netem(want) and not self.session.qdisc_available('netem'):
            key = [k for k in netem.NETEM_KEYS if k in want and k != 'limit'][0]
            raise bad_option('%s.%s' % (option, key), shown[key], "this host's kernel has no netem queueing discipline "
                             '(CONFIG_NET_SCH_NETEM, module sch_netem), which every impairment but bandwidth needs')
        if 'bandwidth' in want and not self.session.qdisc_available('tbf'):
            raise bad_option(option + '.bandwidth', shown['bandwidth'], "this host's kernel has no tbf queueing discipline "
                             '(CONFIG_NET_SCH_TBF, module sch_tbf), which a bandwidth cap needs')

    def plan_routes(self, decl, links, declared):
        name = decl['name']
        path = netns_path(name)
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
            if cur is not None and cur['dev'] in track['recreated'] | track['purge_links']:
                # the kernel drops the routes through a link it deletes: the route is added again
                track['routes_removed'].append(route_text(cur))
                cur = None
            if cur is None:
                track['routes_added'].append(route)
                self.add(PH_ROUTE, 'node %s: add route %s' % (name, route_text(route)),
                         lambda r=route: self.session.route(path, 'add', r),
                         lambda r=route: self.session.route(path, 'del', r))
            elif cur['gateway'] != route['gateway'] or (route['dev'] is not None and cur['dev'] != route['dev']) \
                    or cur['proto'] not in (3, 4):
                track['routes_removed'].append(route_text(cur))
                track['routes_added'].append(route)
                self.add(PH_ROUTE, 'node %s: replace route %s (was %s)' % (name, route_text(route), route_text(cur)),
                         lambda r=route: self.session.route(path, 'replace', r),
                         lambda c=cur: self.session.route(path, 'replace', c))
        if decl['purge']:
            position = 0  # before the routes this node adds, in their sorted order
            for key, cur in sorted(actual.items(), key=lambda item: route_text(item[1])):
                if key in wanted or cur['proto'] not in (3, 4):
                    continue
                track['routes_removed'].append(route_text(cur))
                if cur['dev'] in track['recreated'] | track['purge_links'] | track['downed']:
                    continue  # it goes with its link (deleted, or down), and a deletion would fail
                self.changes.insert(position, Change('node %s: delete undeclared route %s' % (name, route_text(cur)),
                                                     lambda c=cur: self.session.route(path, 'del', c),
                                                     lambda c=cur: self.session.route(path, 'add', c), PH_ROUTE))
                position += 1

    def plan_sysctl(self, decl):
        name = decl['name']
        act = self.actual[name]

        def forwarding(key):
            return key.endswith(('forwarding', 'ip_forward'))

        # forwarding first: changing it resets accept_redirects (IPv4 forwarding, and ip_forward, set it to the
        # opposite), so a declared accept_redirects is written after it, even when it has the value now
        moved = any(forwarding(k) and act['sysctl'].get(k) != i['value'] for k, i in decl['sysctl'].items())
        for key, item in sorted(decl['sysctl'].items(), key=lambda kv: (not forwarding(kv[0]), kv[0])):
            have = act['sysctl'].get(key)
            reset = moved and key.endswith('accept_redirects')
            if have == item['value'] and not reset:
                continue
            # a setting of a link that the task creates here (written eth0/10 for eth0.10) cannot exist before it
            created = set(l['name'] for l in decl['links']) | set(p['name'] for p in self.track[name]['peers_in'])
            if have is None and act['exists'] and not any(part.replace('/', '.') in created for part in key.split('.')):
                raise bad_option(opt(decl['prefix'], 'sysctl'), key, 'no such setting in the network namespace of node %s' % name)
            why = ' (again: forwarding changes it)' if have == item['value'] else ('' if have is None else ' (was %s)' % have)
            self.add(PH_SYSCTL, 'node %s: set %s = %s%s' % (name, key, item['value'], why),
                     lambda i=item, k=key: self._write_sysctl(name, k, i['path'], i['value']),
                     None if have is None else (lambda i=item, k=key, h=have: self._write_sysctl(name, k, i['path'], h)))

    def _write_sysctl(self, name, key, path, value):
        with kernel.entered(netns_path(name), 'net'):
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
            fpath = os.path.join(etc_dir(name), key)
            track['files'][key] = content
            self.add(PH_FILES, 'node %s: write %s' % (name, fpath),
                     lambda p=fpath, c=content: write_file(p, c), lambda p=fpath, h=have: restore_file(p, h))
