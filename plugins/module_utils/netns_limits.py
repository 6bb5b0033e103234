# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""netns: the task against the kernel's limits (limits), before anything changes.

From the declarations and the actual state: the ports each bridge would have, the namespaces the task would
create, and the hosts it puts on each bridge (its neighbour entries). A task that would pass a limit fails
naming it, so a lab of thousands of nodes does not stop halfway.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.nsforge.linux.plugins.module_utils import limits
from ansible_collections.nsforge.linux.plugins.module_utils.netns_plan import PEER_ALIAS_PREFIX


def check(decls, actual, links_of, option):
    """Raise the first limit the task would pass. links_of(netns): the actual links of a namespace (None: the
    host); option: the option that names the whole task (namespaces, or name for a single node)."""
    for (netns, bridge), ports in sorted(bridge_ports(decls, links_of).items(), key=lambda item: str(item[0])):
        if len(ports) > limits.BRIDGE_MAX_PORTS:
            tipping = ports[limits.BRIDGE_MAX_PORTS][1] or option
            where = ' in the host' if netns is None else ' in node %s' % netns
            raise limits.bridge_ports_error(bridge, where, len(ports), tipping)
    limits.check_namespaces(new_namespaces(decls, actual), option)
    for family, (entries, detail) in sorted(neighbour_entries(decls).items()):
        limit = limits.read_sysctl(limits.NEIGH_THRESH[family])
        error = limits.neighbours_error(family, entries, limit, option, detail)
        if error is not None:
            raise error


def new_namespaces(decls, actual):
    """{kind: number} of namespaces the task creates. Those it removes are not subtracted: the kernel frees a
    network namespace later, in the background, and counts it until then."""
    present = [d for d in decls if d['state'] == 'present']
    return {
        'net': sum(1 for d in present if not actual[d['name']]['exists']),
        'uts': sum(1 for d in present if d['hostname'] is not None and not actual[d['name']]['uts']),
    }


def declared_ports(decls):
    """{netns: {ifname: (master, option)}}: the interfaces the task declares in each namespace (None: the
    host), with the master it sets and the option that sets it."""
    declared = {}
    for decl in decls:
        if decl['state'] != 'present':
            continue
        for link in decl['links']:
            declared.setdefault(decl['name'], {})[link['name']] = (link['master'], link['option'] + '.master')
            peer = link['peer']
            if peer is not None:
                declared.setdefault(peer['netns'], {})[peer['name']] = (peer['master'], link['option'] + '.peer.master')
    return declared


def vanishes(cur, by_name):
    """Whether an existing veth end that another node declared goes with this task: its node is declared absent,
    or purges and no longer declares the veth."""
    alias = cur.get('alias') or ''
    if not alias.startswith(PEER_ALIAS_PREFIX):
        return False
    owner, _sep, link = alias[len(PEER_ALIAS_PREFIX):].partition('/')
    odecl = by_name.get(owner)
    if odecl is None:
        return False
    return odecl['state'] == 'absent' or (odecl['purge'] and link not in set(item['name'] for item in odecl['links']))


def bridge_ports(decls, links_of):
    """{(netns, bridge): [(port, option)]}: the ports that each bridge given a port by this task would have after
    it, those that stay first, then the declared ones in the order of the task (option: what sets the master; None
    for a port the task does not touch). A port is counted once: an interface the task moves to another bridge
    leaves its old one, purge removes undeclared ports, and ports go with the veths of nodes declared absent."""
    by_name = dict((d['name'], d) for d in decls)
    declared = declared_ports(decls)
    out = {}
    for netns, mine in declared.items():
        decl = by_name.get(netns)
        if not any(master for master, _option in mine.values()) or (decl is not None and decl['state'] == 'absent'):
            continue
        purge = decl is not None and decl['purge']
        current = links_of(netns)
        stay, new = {}, {}
        for ifname, cur in sorted(current.items()):
            if cur.get('master') is None or ifname in mine or vanishes(cur, by_name):
                continue
            if purge and not (cur.get('alias') or '').startswith(PEER_ALIAS_PREFIX):
                continue  # purge deletes an undeclared interface
            stay.setdefault(cur['master'], []).append((ifname, None))
        for ifname, (master, option) in mine.items():
            have = (current.get(ifname) or {}).get('master')
            if master is None and not purge:
                master = have  # a master not declared is not managed
            if master is not None:
                (stay if master == have else new).setdefault(master, []).append((ifname, option))
        for bridge in set(stay) | set(new):
            out[(netns, bridge)] = stay.get(bridge, []) + new.get(bridge, [])
    return out


def neighbour_entries(decls):
    """{family: (entries, detail)}: the neighbour entries that the gateways of the task's bridges need to reach
    each other host on their bridge (per bridge, its hosts less one), counting as hosts the addresses the task
    gives a bridge and the far ends of its veth ports; detail names the largest bridges."""
    hosts = {}   # (netns, bridge) -> {family: set of addresses}

    def add(netns, bridge, cidrs):
        for cidr in cidrs or []:
            address = ipaddress.ip_interface(cidr).ip
            hosts.setdefault((netns, bridge), {}).setdefault(address.version, set()).add(address)

    for decl in decls:
        if decl['state'] != 'present':
            continue
        for link in decl['links']:
            peer = link['peer']
            if link['type'] == 'bridge':
                add(decl['name'], link['name'], link['addresses'])
            if peer is None:
                continue
            if link['master'] is not None:
                add(decl['name'], link['master'], peer['addresses'])
            if peer['master'] is not None:
                add(peer['netns'], peer['master'], link['addresses'])
    out = {}
    for family in (4, 6):
        sizes = sorted(((len(by_family.get(family, ())), key) for key, by_family in hosts.items()), reverse=True,
                       key=lambda item: (item[0], str(item[1])))
        entries = sum(size - 1 for size, _key in sizes if size > 1)
        if entries:
            words = ['%d on %s%s' % (size, bridge, '' if netns is None else ' of node %s' % netns)
                     for size, (netns, bridge) in sizes[:3] if size > 1]
            detail = ' (%s%s)' % (', '.join(words), ', ...' if len([s for s in sizes if s[0] > 1]) > 3 else '')
            out[family] = (entries, detail)
    return out
