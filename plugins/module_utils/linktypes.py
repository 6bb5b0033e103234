# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""The kinds of link a node declares, in one table: a new kind of link is a new entry of TYPES.

For each kind: its own options and which are required (with the message naming them), the defaults, its parent
interface (the option `link`) and the kernel attribute that carries it, the phase of the task it is created in,
what an existing device must match to be kept (else it is deleted and created again), and its settings as kernel
attributes of IFLA_INFO_DATA (number, name, codec), which the reader decodes (rtnl) and the writer encodes
(netlink). Checks of the values that need more than a range (a veth's peer, a vxlan's addresses) are functions
named in the entry. Pure: no kernel call here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.nsforge.linux.plugins.module_utils.errors import bad_option
from ansible_collections.nsforge.linux.plugins.module_utils.names import check_ifname, check_name, check_range, norm_cidr, norm_ip

# phases of a task's change list in which links are created: bridges first, links whose parent must exist last
PHASE_BRIDGE, PHASE_LINK, PHASE_CHILD = 'bridge', 'link', 'child'
# every option a kind may take beyond the common ones (name, type, addresses, mtu, mac, state, master)
KIND_OPTIONS = ('peer', 'vlan_id', 'link', 'mode', 'vni', 'remote', 'group', 'local', 'dstport', 'underlay')
MACVLAN_MODES = {'bridge': 4, 'private': 1, 'vepa': 2, 'passthru': 8, 'source': 16}  # the default first
VXLAN_PORT = 4789


def dedupe(items):
    seen = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _veth(link, out, lopt):
    peer = link.get('peer')
    popt = lopt + '.peer'
    out['peer'] = {
        'name': check_ifname(peer['name'], popt + '.name'),
        'netns': check_name(peer['netns'], popt + '.netns') if peer.get('netns') is not None else None,
        'addresses': dedupe([norm_cidr(a, popt + '.addresses') for a in peer['addresses']]) if peer.get('addresses') is not None else None,
        'master': check_ifname(peer['master'], popt + '.master') if peer.get('master') is not None else None,
        'mtu': check_range(peer.get('mtu'), popt + '.mtu', 68, 65535),
    }
    if out['peer']['master'] == out['peer']['name']:
        raise bad_option(popt + '.master', peer['master'], 'an interface cannot be its own master')


def _vlan(link, out, lopt):
    out['vlan_id'] = check_range(link['vlan_id'], lopt + '.vlan_id', 1, 4094)


def _macvlan(link, out, lopt):
    out['mode'] = link.get('mode') or 'bridge'
    if out['mode'] not in MACVLAN_MODES:
        raise bad_option(lopt + '.mode', link['mode'], 'expected one of %s' % ', '.join(MACVLAN_MODES))


def _vxlan(link, out, lopt):
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
        out['dstport'] = VXLAN_PORT
    out['underlay'] = link.get('underlay') or 'node'
    if out['underlay'] not in ('node', 'host'):
        raise bad_option(lopt + '.underlay', link['underlay'], "expected 'node' or 'host'")
    # the kernel's one attribute for both: a unicast far end or a multicast group
    out['target'] = out['remote'] or out['group']


def vxlan_endpoints(cur, link):
    """{'remote': .., 'local': ..} to set in place on an existing vxlan ({} when they match), or None when the device
    must be created again: the kernel changes a unicast remote and the local address of a vxlan in place (the
    device keeps its index), but not a multicast group, nor an address given up."""
    have_target = cur.get('target')
    want_target = link['target']
    change = {}
    if have_target != want_target:
        if link['group'] is not None or want_target is None or have_target is None \
                or ipaddress.ip_address(have_target).is_multicast \
                or ipaddress.ip_address(have_target).version != ipaddress.ip_address(want_target).version:
            return None
        change['remote'] = want_target
    if cur.get('local') != link['local']:
        if link['local'] is None:
            return None
        change['local'] = link['local']
    return change


# settings in IFLA_INFO_DATA: (attribute number, kernel name, declared key, codec); for an address, the attribute
# of its family is used
TYPES = {
    'veth': {
        'options': ('peer',),
        'required': {'peer': 'a veth needs a peer with at least a name'},
        'phase': PHASE_LINK,
        'check': _veth,
    },
    'bridge': {'options': (), 'phase': PHASE_BRIDGE},
    'dummy': {'options': (), 'phase': PHASE_LINK},
    'vlan': {
        'options': ('vlan_id', 'link'),
        'required': {'vlan_id': 'a vlan link needs vlan_id', 'link': 'a vlan link needs the parent interface in link'},
        'parent': 'IFLA_LINK',
        'phase': PHASE_CHILD,
        'check': _vlan,
        'identity': (('vlan_id', 'vlan_id', 'its vlan id or parent differs'),
                     ('link', 'parent', 'its vlan id or parent differs')),
        'data': ((1, 'IFLA_VLAN_ID', 'vlan_id', 'u16'),),
    },
    'macvlan': {
        'options': ('mode', 'link'),
        'required': {'link': 'a macvlan link needs the parent interface in link'},
        'parent': 'IFLA_LINK',
        'phase': PHASE_CHILD,
        'check': _macvlan,
        'identity': (('mode', 'mode', 'its mode or parent differs'), ('link', 'parent', 'its mode or parent differs')),
        'data': ((1, 'IFLA_MACVLAN_MODE', 'mode', 'macvlan_mode'),),
    },
    'vxlan': {
        'options': ('vni', 'remote', 'group', 'local', 'dstport', 'link', 'underlay'),
        'required': {'vni': 'a vxlan link needs vni'},
        'parent': 'IFLA_VXLAN_LINK',
        'phase': PHASE_CHILD,
        'check': _vxlan,
        # the parent only when declared (link?); remote and local change in place when they can (in_place)
        'identity': (('vni', 'vni', 'its vni, port or underlay interface differs'),
                     ('dstport', 'dstport', 'its vni, port or underlay interface differs'),
                     ('link?', 'parent', 'its vni, port or underlay interface differs'),
                     ('in_place', None, 'its remote, group or local address differs'),
                     ('underlay', 'underlay', 'its underlay namespace is %(have)s, declared %(want)s')),
        'in_place': vxlan_endpoints,
        'data': ((1, 'IFLA_VXLAN_ID', 'vni', 'u32'), (2, 'IFLA_VXLAN_GROUP', 'target', 'ip4'),
                 (16, 'IFLA_VXLAN_GROUP6', 'target', 'ip6'), (4, 'IFLA_VXLAN_LOCAL', 'local', 'ip4'),
                 (17, 'IFLA_VXLAN_LOCAL6', 'local', 'ip6'), (15, 'IFLA_VXLAN_PORT', 'dstport', 'be16'),
                 (3, 'IFLA_VXLAN_LINK', 'parent_index', 'u32')),
    },
}
NAMES = sorted(TYPES, key=['veth', 'bridge', 'dummy', 'vlan', 'macvlan', 'vxlan'].index)
PARENT_TYPES = tuple(kind for kind in NAMES if TYPES[kind].get('parent'))


def check_kind_options(link, out, lopt):
    """The options of a kind of link: none of another kind, the required ones, then the kind's own checks."""
    kind = link['type']
    entry = TYPES[kind]
    for key in KIND_OPTIONS:
        if link.get(key) is not None and key not in entry['options']:
            raise bad_option(lopt + '.' + key, link[key], 'not an option of a %s link' % kind)
    for key, why in entry.get('required', {}).items():
        missing = not link.get(key) if key == 'peer' else link.get(key) is None  # a peer needs at least a name
        if missing:
            raise bad_option(lopt + '.' + key, link.get(key), why)
    if 'link' in entry['options'] and link.get('link') is not None:
        out['link'] = check_ifname(link['link'], lopt + '.link')
    if entry.get('check'):
        entry['check'](link, out, lopt)


def mismatch(cur, link):
    """Why an existing device of the declared kind cannot stay the declared link (it is deleted and created
    again), or None: the fields of the kind's identity, in order."""
    entry = TYPES[link['type']]
    for declared, actual, why in entry.get('identity', ()):
        if declared == 'in_place':
            same = entry['in_place'](cur, link) is not None
            have = want = None
        else:
            if declared.endswith('?'):
                declared = declared[:-1]
                if link[declared] is None:
                    continue
            have, want = cur.get(actual), link[declared]
            if declared == 'underlay':
                have = have or 'node'
            same = have == want
        if not same:
            return why % {'have': have, 'want': want}
    return None


def data_attrs(kind):
    """{attribute number: (declared key, codec)} of a kind's IFLA_INFO_DATA, for the reader."""
    return dict((number, (key, codec)) for number, _name, key, codec in TYPES.get(kind, {}).get('data', ()))


def settings(link):
    """[(kernel attribute name, value)] of a declared link's settings, for the writer: an address goes in the
    attribute of its family."""
    out = []
    for _number, name, key, codec in TYPES[link['type']].get('data', ()):
        value = link.get(key)
        if value is None or key == 'parent_index':
            continue
        if codec in ('ip4', 'ip6') and (codec == 'ip6') != (':' in value):
            continue
        out.append((name, value))
    return out
