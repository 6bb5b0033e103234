# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to nsforge.linux (controller side): a lab topology turned into the declarations of the modules.

plan(topology, previous) is a pure function. It validates what meta/argument_specs.yml cannot (an unknown endpoint
node, an interface used twice, a pool too small), allocates addresses from the topology's pools, and returns the
bulk netns declaration, the services, mounts, user maps, the nftables ruleset, a Graphviz picture, and the record
of what the lab consists of, which the netlab role keeps in /run/nsforge/labs/<name>.json so that the next run
removes what left the topology.

Addresses from a pool are sticky: a link, bridge or bridge member keeps the subnet or address that the previous
record gave it while it stays in the topology and the pool; new ones get the lowest free ones in the order they are
declared. So the same topology always yields the same addresses, and an edit changes only what it touches.
"""

from __future__ import annotations

import hashlib
import html
import ipaddress
import json
import os
import re

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.nsforge.linux.plugins.module_utils import netem, specs, timelines
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError
from ansible_collections.nsforge.linux.plugins.module_utils.names import check_ifname, check_name, norm_cidr

RECORD_VERSION = 1
BRIDGE_IFNAME = 'br0'
NAT_IFNAME = 'nat0'
_LAB_NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_-]{0,31}\Z')
# a node's labels name inventory groups (the nodes inventory plugin): what Ansible takes as a group name
_LABEL_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*\Z')
# what a topology's node and its services take: the options of the modules (specs), and the topology's own
_SERVICE_KEYS = frozenset(specs.SERVICE_OPTIONS) | frozenset(('files', 'supervisor', 'install_only'))
_USER_KEYS = frozenset(specs.USER_OPTIONS)
_NODE_KEYS = frozenset(key for key in specs.NODE_OPTIONS if key not in ('loopback', 'links')) | frozenset((
    'services', 'mounts', 'private', 'user', 'network_mode', 'links', 'host', 'labels', 'files', 'persist'))
_BRIDGE_KEYS = frozenset(('subnet', 'subnet6', 'mtu', 'host'))
# what a lab's defaults take: the impairment of its links, the persistence of its nodes and the supervisor of its services
_DEFAULT_KEYS = ('impairment', 'persist', 'supervisor', 'install_only')
SUPERVISORS = ('builtin', 'systemd')
_VXLAN_KEYS = frozenset(('dstport', 'vni_min', 'vni_max', 'underlay_mtu'))
VXLAN_PORT = 4789
VNI_MIN = 1 << 20
VNI_MAX = (1 << 24) - 1
# what VXLAN adds to a frame: outer Ethernet 14, IP 20 or 40, UDP 8, VXLAN 8
VXLAN_OVERHEAD = {4: 50, 6: 70}
# the files of nodes and services: where the role keeps them on the managed host (<dir>/<lab>/nodes/<node><dst>,
# <dir>/<lab>/services/<service><dst>), what a file takes, and its one source
FILES_DIR = '/var/lib/nsforge/labs'
_FILE_KEYS = frozenset(('dst', 'content', 'template', 'src', 'owner', 'group', 'mode', 'restart'))
_FILE_SOURCES = ('content', 'template', 'src')
_MODE_RE = re.compile(r'^0?[0-7]{3,4}\Z')


class TopologyError(NsforgeError):
    """The topology is wrong; the message names the node, link or setting at fault."""


def _fail(where, why):
    raise TopologyError('%s: %s' % (where, why))


def _check(func, where, *args):
    """Run an engine validator, re-raising its error with the topology's location in front."""
    try:
        return func(*args)
    except NsforgeError as exc:
        _fail(where, str(exc))


def _conform(options, value, where):
    """Check a declaration that the role hands to a module against that module's options, before anything changes.

    The module would refuse it too, but only when its task runs (after the tasks before it changed the host), and
    naming the generated task's entry; here the message names the topology's path. A list of suboptions is checked
    entry by entry, so that the path names the entry at fault.
    """
    if not isinstance(value, dict):
        _fail(where, 'expected a mapping, got %r' % (value,))
    top = {}
    nested = []
    for key, opt in options.items():
        sub = opt.get('options')
        if sub and value.get(key) is not None and opt.get('type') in ('list', 'dict'):
            top[key] = dict((k, v) for k, v in opt.items() if k not in ('options', 'elements'))
            nested.append((key, opt.get('type'), sub))
        else:
            top[key] = opt
    # (plain data: the validator deep-copies what it is given, and ansible-core 2.19 and later hand a filter
    # containers that carry their templating context)
    result = ArgumentSpecValidator(top).validate(json.loads(json.dumps(value)))
    for error in result.errors:
        if isinstance(error, UnsupportedError):
            _fail(where, 'unknown option(s) %s' % str(error).split('.', maxsplit=1)[0])
        _fail(where, str(error))
    for key, kind, sub in nested:
        if kind == 'dict':
            _conform(sub, value[key], '%s.%s' % (where, key))
            continue
        for idx, item in enumerate(value[key]):
            _conform(sub, item, '%s.%s[%d]' % (where, key, idx))


def _check_labels(labels, where):
    """A node's labels: a list of group names (letters, digits and "_", not starting with a digit)."""
    if labels is None:
        return
    if not isinstance(labels, list):
        _fail(where, 'expected a list of group names, such as [routers], got %r' % (labels,))
    for idx, label in enumerate(labels):
        if not isinstance(label, str) or not _LABEL_RE.match(label):
            _fail('%s[%d]' % (where, idx), 'invalid group name %r: letters, digits and "_", not starting with a '
                                           'digit' % (label,))


def _short(text, limit=15):
    """An interface name from text: the text when it fits, else a stable hash."""
    if len(text.encode('utf-8')) <= limit:
        return text
    return 'p' + hashlib.sha1(text.encode('utf-8')).hexdigest()[:limit - 1]


# ---------------------------------------------------------------------------
# parsing


def _endpoint(raw, where, node_names, bridge_names):
    """One end of a link: {'node', 'ifname', 'bridge' (bool), 'addresses', 'mac', 'impairment' (as given, when the
    endpoint gives one: it overrides the link's)}."""
    extra = {}
    if isinstance(raw, dict):
        unknown = sorted(set(raw) - {'node', 'interface', 'addresses', 'mac', 'impairment'})
        if unknown:
            _fail(where, 'unknown key(s) %s; an endpoint has node, interface, addresses, mac and impairment'
                  % ', '.join(unknown))
        node, ifname = raw.get('node'), raw.get('interface')
        extra = raw
    elif isinstance(raw, str):
        node, sep, ifname = raw.partition(':')
        if not sep:
            ifname = None
    else:
        _fail(where, 'an endpoint is "node:interface", a bridge name, or a dict with node and interface')
    if not node:
        _fail(where, 'endpoint %r names no node' % (raw,))
    if node in bridge_names:
        bridge = True
    elif node in node_names:
        bridge = False
        if not ifname:
            _fail(where, 'endpoint %r of node %s names no interface ("%s:eth1")' % (raw, node, node))
    else:
        _fail(where, 'unknown node %r (neither in nodes nor in bridges)' % node)
    if ifname:
        _check(check_ifname, where, ifname, where)
    addresses = extra.get('addresses')
    if addresses is not None:
        if not isinstance(addresses, list):
            _fail(where, 'addresses of endpoint %s must be a list' % node)
        addresses = [_check(norm_cidr, where, a, '%s addresses' % node) for a in addresses]
        if bridge:
            _fail(where, 'bridge %s takes no addresses on its ports' % node)
    out = {'node': node, 'ifname': ifname, 'bridge': bridge, 'addresses': addresses, 'mac': extra.get('mac')}
    if 'impairment' in extra:
        out['impairment'] = extra['impairment']
    return out


def _link_label(eps):
    return ' -- '.join('%s:%s' % (e['node'], e['ifname']) if e['ifname'] else e['node'] for e in eps)


def _parse_links(topo, node_names, bridge_names):
    links = []
    used = {}
    for idx, raw in enumerate(topo.get('links') or []):
        where = 'links[%d]' % idx
        opts = {}
        if isinstance(raw, dict):
            unknown = sorted(set(raw) - {'endpoints', 'mtu', 'subnet', 'subnet6', 'addresses', 'vni', 'impairment'})
            if unknown:
                _fail(where, 'unknown key(s) %s' % ', '.join(unknown))
            opts = raw
            raw_eps = raw.get('endpoints')
        else:
            raw_eps = raw
        if not isinstance(raw_eps, list) or len(raw_eps) != 2:
            _fail(where, 'a link has exactly two endpoints, such as ["r1:eth1", "r2:eth1"]; got %r' % (raw_eps,))
        eps = [_endpoint(e, where, node_names, bridge_names) for e in raw_eps]
        label = _link_label(eps)
        where = '%s (%s)' % (where, label)
        for index, ep in enumerate(eps):
            # (the path of an endpoint's own settings, as the topology writes them)
            ep['where'] = '%s%s[%d]' % (where, '.endpoints' if isinstance(raw, dict) else '', index)
        if eps[0]['bridge'] and eps[1]['bridge']:
            _fail(where, 'a link joins a node to a node or to a bridge, not two bridges')
        if eps[0]['bridge']:
            eps.reverse()
        by_node = opts.get('addresses') or {}
        if not isinstance(by_node, dict):
            _fail(where, 'addresses is a mapping from endpoint ("r1:eth1" or "r1") to a list of addresses')
        for key, addrs in by_node.items():
            match = [e for e in eps if not e['bridge'] and key in (e['node'], '%s:%s' % (e['node'], e['ifname']))]
            if not match:
                _fail(where, 'addresses names %r, which is not an endpoint of this link' % key)
            if not isinstance(addrs, list):
                _fail(where, 'addresses of %s must be a list' % key)
            match[0]['addresses'] = [_check(norm_cidr, where, a, 'addresses of %s' % key) for a in addrs]
        if eps[1]['bridge']:
            port = eps[1]['ifname'] or _short('%s-%s' % (eps[0]['node'], eps[0]['ifname']))
            eps[1]['ifname'] = port
        for ep in eps:
            key = (ep['node'], ep['ifname'])
            if key in used:
                _fail(where, 'interface %s of node %s is already used by %s' % (ep['ifname'], ep['node'], used[key]))
            if ep['node'] in bridge_names and ep['ifname'] in (BRIDGE_IFNAME, NAT_IFNAME):
                _fail(where, 'port name %s is reserved on bridge %s' % (ep['ifname'], ep['node']))
            used[key] = where
        if eps[0]['node'] == eps[1]['node'] and not eps[1]['bridge']:
            _fail(where, 'a link joins two different nodes')
        mtu = opts.get('mtu')
        if mtu is not None and (not isinstance(mtu, int) or isinstance(mtu, bool) or not 68 <= mtu <= 65535):
            _fail(where, 'mtu must be an integer from 68 to 65535, got %r' % (mtu,))
        vni = opts.get('vni')
        if vni is not None and (not isinstance(vni, int) or isinstance(vni, bool) or not 1 <= vni <= VNI_MAX):
            _fail(where, 'vni must be an integer from 1 to %d, got %r' % (VNI_MAX, vni))
        links.append({'where': where, 'label': label, 'eps': eps, 'mtu': mtu, 'vni': vni,
                      'key': label, 'subnet': opts.get('subnet'), 'subnet6': opts.get('subnet6'),
                      'bridge': eps[1]['node'] if eps[1]['bridge'] else None,
                      'impairment_given': 'impairment' in opts, 'impairment': opts.get('impairment')})
    return links


def _plain(value):
    """A declaration as plain data without the keys set to nothing (what an argument spec fills in)."""
    if isinstance(value, dict):
        return dict((k, _plain(v)) for k, v in value.items() if v is not None)
    return value


def _impairment(raw, path):
    """A topology's impairment at path: {'decl' (as the netns module takes it), 'canon' (netem's kernel units),
    'path'}, or None for none (nothing, or {} to undo a default or the link's). Checked by netem.normalize, the
    module's own check, so that a bad value is named in the topology's terms before anything changes."""
    try:
        canon = netem.normalize(raw, path)
    except NsforgeError as exc:
        raise TopologyError(str(exc))
    if not canon:
        return None
    return {'decl': _plain(raw), 'canon': canon, 'path': path}


def _flag(value, where):
    """A topology's true or false (None when not given), as Ansible reads a boolean."""
    if value is None:
        return None
    try:
        return boolean(value, strict=True)
    except TypeError:
        _fail(where, 'expected true or false, got %r' % (value,))


def _lab_defaults(topology):
    """The lab's defaults, checked: {'impairment' (as given), 'persist', 'supervisor', 'install_only'}."""
    defaults = topology.get('defaults')
    if defaults is None:
        defaults = {}
    if not isinstance(defaults, dict):
        _fail('defaults', 'expected a mapping, such as {impairment: {delay: 1ms}, persist: true}, got %r' % (defaults,))
    unknown = sorted(set(defaults) - set(_DEFAULT_KEYS))
    if unknown:
        _fail('defaults', 'unknown setting(s) %s; defaults has %s' % (', '.join(unknown), ', '.join(_DEFAULT_KEYS)))
    supervisor = defaults.get('supervisor')
    if supervisor is None:
        supervisor = 'builtin'
    if supervisor not in SUPERVISORS:
        _fail('defaults.supervisor', "expected 'builtin' or 'systemd', got %r" % (supervisor,))
    return {'impairment': defaults.get('impairment'), 'supervisor': supervisor,
            'persist': bool(_flag(defaults.get('persist'), 'defaults.persist')),
            'install_only': _flag(defaults.get('install_only'), 'defaults.install_only')}


def _persistence(defaults, node_specs, bridge_specs, pod, links, where_of):
    """Whether each node and bridge is persisted (comes back at boot): a node as it says, else as the lab's defaults;
    a node that shares another's network as that node (it has nothing of its own to persist); a bridge when the
    lab's defaults persist or any node linked to it is persisted (its ports are the veth peers of those nodes).
    A link between two nodes on this host joins two persisted nodes or two that are not: the one that declares the
    veth recreates its peer at boot, which the other would not have."""
    out = {}
    for nname, spec in node_specs.items():
        if nname not in pod:
            own = _flag(spec.get('persist'), where_of[nname] + '.persist')
            out[nname] = defaults['persist'] if own is None else own
    for nname, target in pod.items():
        own = _flag(node_specs[nname].get('persist'), where_of[nname] + '.persist')
        if own is not None and own != out[target]:
            which = 'persisted' if out[target] else 'not persisted'
            _fail(where_of[nname] + '.persist', 'invalid value %r: the node shares the network of %s, which is %s; '
                  'it is persisted as that node is' % (node_specs[nname].get('persist'), target, which))
        out[nname] = out[target]
    for bname in bridge_specs:
        out[bname] = defaults['persist'] or any(out[lk['eps'][0]['node']] for lk in links if lk['bridge'] == bname)
    for link in links:
        a, b = link['eps']
        if not link['tunnel'] and not b['bridge'] and out[a['node']] != out[b['node']]:
            kept, lost = (a, b) if out[a['node']] else (b, a)
            _fail(link['where'], 'node %s is persisted but node %s is not: a link between nodes comes back at boot '
                  'only with both (persist: true on %s too, or on neither)' % (kept['node'], lost['node'], lost['node']))
    return out


def _impairments(links, defaults):
    """Give each end of each link the impairment of what it sends ('impair'): the endpoint's own, else the link's
    (each end sends with it, so a delay on a link is paid once each way), else the lab's default (defaults)."""
    default = _impairment(defaults['impairment'], 'defaults.impairment')
    for link in links:
        own = _impairment(link['impairment'], link['where'] + '.impairment') if link['impairment_given'] else default
        for ep in link['eps']:
            ep['impair'] = _impairment(ep['impairment'], ep['where'] + '.impairment') if 'impairment' in ep else own


_STEP_KEYS = ('link', 'at', 'every', 'for', 'state', 'hold', 'impairment', 'ramp')
_TIMELINE_KEYS = frozenset(('steps',))


def _link_ends(links, node_specs):
    """What a timeline's step may name as its link: 'NODE:IFNAME' (an end of a link, a bridge's port, or an
    interface of a node's own links) to [(node, ifname)], and a link as written 'A -- B' (either way round, a bridge
    by its name or with its port) to both its ends."""
    ends = {}
    for link in links:
        pair = [(ep['node'], ep['ifname']) for ep in link['eps']]
        for node, ifname in pair:
            ends['%s:%s' % (node, ifname)] = [(node, ifname)]
        words = [link['label'].split(' -- '), ['%s:%s' % end for end in pair]]
        for first, second in words:
            ends['%s -- %s' % (first, second)] = pair
            ends['%s -- %s' % (second, first)] = pair
    for nname, spec in node_specs.items():
        for decl in spec.get('links') or []:
            if isinstance(decl, dict) and isinstance(decl.get('name'), str):
                ends.setdefault('%s:%s' % (nname, decl['name']), [(nname, decl['name'])])
    return ends


def _declared(links, node_specs, where_of):
    """What the netns task will declare of each interface that a timeline may drive, on every host (the netns
    module's timelines.declared_links()): {(node, ifname): {'state', 'impairment' (canonical)}}."""
    out = {}
    for link in links:
        for ep in link['eps']:
            out[(ep['node'], ep['ifname'])] = {'state': 'up', 'impairment': ep['impair']['canon'] if ep['impair'] else None}
    for nname, spec in node_specs.items():
        for idx, decl in enumerate(spec.get('links') or []):
            if isinstance(decl, dict) and isinstance(decl.get('name'), str):
                impair = _impairment(decl.get('impairment'), '%s.links[%d].impairment' % (where_of[nname], idx))
                out.setdefault((nname, decl['name']), {'state': decl.get('state') or 'up',
                                                       'impairment': impair['canon'] if impair else None})
    return out


def _timeline(topology, lab, links, node_specs, where_of, mine):
    """The netns task's timeline of a topology's timeline (named after the lab), with its links as NODE:IFNAME of the
    interfaces this host declares, and for each of its steps the index of the topology's step; (None, []) when the
    topology has none, or none of its steps drives an interface of this host.

    The steps are checked and compiled here as the netns module will (timelines.validate and compile_plan, over
    the interfaces of every host), so that a wrong step fails before anything changes, named in the topology."""
    raw = topology.get('timeline')
    if raw is None:
        return None, []
    if not isinstance(raw, dict):
        _fail('timeline', 'expected a mapping with steps, got %r' % (raw,))
    unknown = sorted(set(raw) - _TIMELINE_KEYS)
    if unknown:
        _fail('timeline', 'unknown setting(s) %s; a timeline has steps (it is named after the lab)' % ', '.join(unknown))
    steps = raw.get('steps')
    if not isinstance(steps, list) or not steps:
        _fail('timeline.steps', 'expected a list of steps, such as [{link: "r1:eth1", at: 30s, state: down, hold: 10s}]')
    ends = _link_ends(links, node_specs)
    translated = []
    for idx, step in enumerate(steps):
        where = 'timeline.steps[%d]' % idx
        if not isinstance(step, dict):
            _fail(where, 'expected a mapping with link and state or impairment')
        step = _plain(step)
        unknown = sorted(set(step) - set(_STEP_KEYS))
        if unknown:
            _fail(where, 'unknown setting(s) %s; a step has %s' % (', '.join(unknown), ', '.join(_STEP_KEYS)))
        names = step.get('link')
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or not names:
            _fail(where + '.link', 'expected an end of a link ("r1:eth1"), a link ("r1:eth1 -- r2:eth1") or a list of '
                                   'them, got %r' % (step.get('link'),))
        driven = []
        for name in names:
            found = ends.get(' -- '.join(part.strip() for part in name.split('--')) if isinstance(name, str) else None)
            if found is None:
                _fail(where + '.link', 'invalid value %r: no such end of a link ("NODE:IFNAME") or link ("r1:eth1 -- '
                                       'r2:eth1") in the topology' % (name,))
            driven.extend(end for end in found if end not in driven)
        translated.append((step, driven))
    try:
        declared = _declared(links, node_specs, where_of)
        checked = timelines.validate({'name': lab, 'state': 'present', 'steps': [
            dict(step, link=['%s:%s' % end for end in driven]) for step, driven in translated]}, declared)
        timelines.compile_plan(checked, declared)
    except NsforgeError as exc:
        raise TopologyError(str(exc))
    out, origins = [], []
    for idx, (step, driven) in enumerate(translated):
        here = ['%s:%s' % end for end in driven if mine(end[0])]
        if here:
            out.append(dict(step, link=here[0] if len(here) == 1 else here))
            origins.append(idx)
    if not out:
        return None, []
    return {'name': lab, 'state': 'present', 'steps': out}, origins


def _as_dict(value, where, keyname='name'):
    """nodes/bridges as (a mapping name -> settings, a mapping name -> its path in the topology).

    A mapping of names works, and so does a list of dicts with a name: the paths are then `nodes.r1` or
    `nodes[0] (r1)`, as the user wrote the topology, and every message about the node starts with its path.
    """
    if value is None:
        return {}, {}
    if isinstance(value, dict):
        out, paths = {}, {}
        for name, spec in value.items():
            path = '%s.%s' % (where, name)
            if spec is None:
                spec = {}
            if not isinstance(spec, dict):
                _fail(path, 'expected a mapping of settings')
            out[str(name)] = spec
            paths[str(name)] = path
        return out, paths
    if isinstance(value, list):
        out, paths = {}, {}
        for idx, spec in enumerate(value):
            if isinstance(spec, str):
                spec = {keyname: spec}
            if not isinstance(spec, dict) or not spec.get(keyname):
                _fail('%s[%d]' % (where, idx), 'expected a mapping with %s' % keyname)
            name = str(spec[keyname])
            if name in out:
                _fail('%s[%d] (%s)' % (where, idx, name), '%s %s is declared twice, first as %s'
                      % (where.rstrip('s'), name, paths[name]))
            out[name] = dict((k, v) for k, v in spec.items() if k != keyname)
            paths[name] = '%s[%d] (%s)' % (where, idx, name)
        return out, paths
    _fail(where, 'expected a mapping from name to settings, or a list')


# ---------------------------------------------------------------------------
# address allocation


class _Pool:
    """Subnets of one family handed out from a pool, sticky to what the previous record gave."""

    def __init__(self, cidr, where):
        try:
            self.net = ipaddress.ip_network(cidr, strict=True)
        except ValueError as exc:
            _fail(where, 'invalid pool %r: %s' % (cidr, exc))
        self.where = where
        self.used = []

    def free(self, net):
        return all(not net.overlaps(u) for u in self.used)

    def take(self, net):
        self.used.append(net)
        return net

    def allocate(self, prefix, who):
        if prefix < self.net.prefixlen:
            _fail(who, 'addressing pool %s is smaller than the /%d it needs' % (self.net, prefix))
        step = 1 << (self.net.max_prefixlen - prefix)
        start = int(self.net.network_address)
        end = int(self.net.broadcast_address) + 1
        blocked = sorted((int(u.network_address), int(u.broadcast_address) + 1) for u in self.used
                         if u.overlaps(self.net))
        cur = start
        for lo, hi in blocked:
            if cur + step <= lo:
                break
            if hi > cur:
                cur = ((max(cur, hi) - start + step - 1) // step) * step + start
        if cur + step > end:
            _fail(who, 'addressing pool %s is too small: no free /%d left (%d subnets already taken)'
                  % (self.net, prefix, len(self.used)))
        net = ipaddress.ip_network((cur, prefix))
        return self.take(net)


def _subnet(value, where, family):
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        _fail(where, 'invalid subnet %r: %s' % (value, exc))
    if net.version != family:
        _fail(where, 'subnet %s is not IPv%d' % (value, family))
    if net.num_addresses < 2:
        _fail(where, 'subnet %s is too small' % value)
    return net


def _host(net, index):
    """The index-th address of a subnet as address/prefix (a /31 or /127 starts at 0, others at 1)."""
    first = 0 if net.num_addresses == 2 else 1
    addr = net.network_address + first + index
    return '%s/%d' % (addr, net.prefixlen)


# ---------------------------------------------------------------------------
# the plan


def _prev_map(previous, key):
    value = (previous or {}).get(key) or {}
    return value if isinstance(value, dict) else {}


def _int_opt(settings, key, default, lo, hi, where='addressing'):
    value = settings.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        _fail('%s.%s' % (where, key), 'expected an integer from %d to %d, got %r' % (lo, hi, value))
    return value


def plan(topology, previous=None, others=None, host=None, underlays=None, shared=None, files_dir=None, base=None):
    """Validate a topology and turn it into the declarations of the modules; see the module docstring.

    others maps the names of the other labs on the host to their records (or to the nodes their records hold): a
    node of another lab is refused, since deploying it here would reconfigure (and purge) it there, and so is a
    tunnel whose VNI and port another lab's tunnel uses here.

    host is the inventory name of the host being planned: the declarations hold only the nodes whose host it is
    (and those without a host), and a link to a node on another host becomes a VXLAN tunnel. Without host, every
    node is planned here and the hosts of the nodes are ignored. underlays maps host names to their underlay
    addresses where the topology's hosts do not say (the role passes each host's ansible_host). shared holds the
    records of the lab on the other hosts, from which addresses stay sticky too.

    files_dir is the folder of the labs' files on the managed host (FILES_DIR by default); base, the folder on the
    controller that a relative template or src of a file is taken from (the current one by default).
    """
    if not isinstance(topology, dict):
        _fail('topology', 'expected a mapping with name, nodes and links')
    name = topology.get('name')
    if not isinstance(name, str) or not _LAB_NAME_RE.match(name):
        _fail('name', 'the lab name %r must be 1 to 32 ASCII letters, digits, "_" or "-", starting with a letter '
                      'or digit (it names the nftables table and the record)' % (name,))
    state = topology.get('state', 'present')
    if state not in ('present', 'absent'):
        _fail('state', "expected 'present' or 'absent', got %r" % (state,))
    files_dir = FILES_DIR if files_dir is None else files_dir
    if not isinstance(files_dir, str) or not os.path.isabs(files_dir):
        _fail('files_dir', 'expected an absolute path on the managed host, got %r' % (files_dir,))
    files_root = os.path.join(os.path.normpath(files_dir), name)
    if previous and previous.get('name') not in (None, name):
        _fail('name', 'the record of lab %s was given for lab %s' % (previous.get('name'), name))
    node_specs, node_where = _as_dict(topology.get('nodes'), 'nodes')
    bridge_specs, bridge_where = _as_dict(topology.get('bridges'), 'bridges')
    where_of = dict(bridge_where, **node_where)
    for nname, spec in node_specs.items():
        _check(check_name, where_of[nname], nname, where_of[nname])
        unknown = sorted(set(spec) - _NODE_KEYS)
        if unknown:
            _fail(where_of[nname], 'unknown setting(s) %s' % ', '.join(unknown))
        _check_labels(spec.get('labels'), where_of[nname] + '.labels')
    for bname, spec in bridge_specs.items():
        _check(check_name, bridge_where[bname], bname, bridge_where[bname])
        if bname in node_specs:
            _fail(bridge_where[bname], 'the name is also a node; a bridge is a node of its own')
        unknown = sorted(set(spec) - _BRIDGE_KEYS)
        if unknown:
            _fail(bridge_where[bname], 'unknown setting(s) %s' % ', '.join(unknown))

    for other, owned in sorted((others or {}).items()):
        if other == name:
            continue
        if isinstance(owned, dict):
            owned = owned.get('nodes')
        for nname in list(bridge_specs) + list(node_specs):
            if nname in (owned or []):
                _fail(bridge_where[nname] if nname in bridge_specs else where_of[nname],
                      'the node belongs to lab %s; remove it from that lab first' % other)

    node_host = {}
    for nname, spec in list(bridge_specs.items()) + list(node_specs.items()):
        value = spec.get('host')
        if value is not None and (not isinstance(value, str) or not value):
            _fail(where_of[nname] + '.host', 'expected the inventory name of a host, got %r' % (value,))
        node_host[nname] = value if host is not None else None

    pod = {}
    for nname, spec in node_specs.items():
        mode = spec.get('network_mode')
        if mode is None:
            continue
        where = where_of[nname] + '.network_mode'
        if not isinstance(mode, str) or not mode.startswith('container:'):
            _fail(where, 'expected "container:<node>" to share that node\'s network namespace, got %r' % (mode,))
        target = mode.split(':', 1)[1]
        if target not in node_specs:
            _fail(where, 'unknown node %r' % target)
        if node_specs[target].get('network_mode'):
            _fail(where, 'node %s shares the network of another node itself; name that one' % target)
        for key in ('sysctl', 'nameservers', 'search', 'hosts', 'routes', 'links', 'mounts', 'user', 'files'):
            if spec.get(key):
                _fail(where_of[nname], '%s cannot be set on a node that shares the network of %s '
                                       '(its services join that node)' % (key, target))
        pod[nname] = target
        if node_host[nname] is None:
            node_host[nname] = node_host[target]
        elif node_host[nname] != node_host[target]:
            _fail(where_of[nname] + '.host', 'the node shares the network of %s, which is on host %s, not %s'
                  % (target, node_host[target], node_host[nname]))
    net_nodes = [n for n in node_specs if n not in pod]

    def mine(nname):
        return node_host[nname] is None or node_host[nname] == host

    links = _parse_links(topology, set(node_specs), set(bridge_specs))
    for link in links:
        for ep in link['eps']:
            if ep['node'] in pod:
                _fail(link['where'], 'node %s shares the network of %s and has no interfaces of its own'
                      % (ep['node'], pod[ep['node']]))
    defaults = _lab_defaults(topology)
    _impairments(links, defaults)
    timeline, timeline_from = _timeline(topology, name, links, node_specs, where_of, mine)

    tunnels = _tunnels(topology, name, links, node_host, host, underlays or {}, where_of)
    _tunnel_clashes(name, links, host, others, tunnels['dstport'])
    persisted = _persistence(defaults, node_specs, bridge_specs, pod, links, where_of)
    prev = previous or {}
    was_persisted = set(prev.get('persist') or [])

    def keep(decl, nname):
        """A node's entry with its persist: true when persisted, false when the previous run persisted it."""
        if persisted[nname]:
            decl['persist'] = True
        elif nname in was_persisted:
            decl['persist'] = False
        return decl

    # ---- addressing
    addressing = topology.get('addressing') or {}
    if not isinstance(addressing, dict):
        _fail('addressing', 'expected a mapping with ipv4 and/or ipv6 pools')
    pools = {}
    for family, key in ((4, 'ipv4'), (6, 'ipv6')):
        if addressing.get(key):
            pools[family] = _Pool(addressing[key], 'addressing.%s' % key)
            if pools[family].net.version != family:
                _fail('addressing.%s' % key, 'pool %s is not IPv%d' % (addressing[key], family))
    prefixes = {
        ('link', 4): _int_opt(addressing, 'link_prefix', 30, 8, 31),
        ('bridge', 4): _int_opt(addressing, 'bridge_prefix', 24, 8, 30),
        ('link', 6): _int_opt(addressing, 'link_prefix6', 64, 16, 127),
        ('bridge', 6): _int_opt(addressing, 'bridge_prefix6', 64, 16, 126),
    }
    if not any(node_host.values()):
        shared = None     # a lab on one host, or a copy on each: each host's own record only
    prev_subnets = _merged(previous, shared, 'subnets')
    prev_hosts = _merged(previous, shared, 'hosts')

    # subnet owners: bridges first, then point-to-point links without explicit addresses
    owners = []
    for bname, spec in bridge_specs.items():
        owners.append(('bridge', 'bridge:' + bname, where_of[bname], spec))
    for link in links:
        if link['bridge'] is None and not any(ep['addresses'] is not None for ep in link['eps']):
            owners.append(('link', link['key'], link['where'], link))
    subnets = dict((key, {}) for _kind, key, _w, _s in owners)
    for family, skey in ((4, 'subnet'), (6, 'subnet6')):
        pool = pools.get(family)
        # explicit subnets first: they are taken whatever the pool says
        for kind, key, where, spec in owners:
            if spec.get(skey):
                net = _subnet(spec[skey], '%s.%s' % (where, skey), family)
                if pool is not None and not pool.free(net):
                    _fail(where, '%s %s overlaps another subnet of the lab' % (skey, net))
                if pool is not None:
                    pool.take(net)
                subnets[key][family] = net
        if pool is None:
            continue
        # sticky ones from the previous record
        for kind, key, where, spec in owners:
            if family in subnets[key]:
                continue
            old = (prev_subnets.get(key) or {}).get(str(family))
            if not old:
                continue
            try:
                net = ipaddress.ip_network(old)
            except ValueError:
                continue
            if net.prefixlen == prefixes[(kind, family)] and net.subnet_of(pool.net) and pool.free(net):
                subnets[key][family] = pool.take(net)
        for kind, key, where, spec in owners:
            if family not in subnets[key]:
                subnets[key][family] = pool.allocate(prefixes[(kind, family)], where)

    # ---- host addresses
    hosts = {}
    node_addr = dict((n, []) for n in node_specs)

    for link in links:
        a, b = link['eps']
        if link['bridge'] is None:
            nets = subnets.get(link['key'], {})
            for idx, ep in enumerate((a, b)):
                if ep['addresses'] is None:
                    ep['addresses'] = [_host(nets[f], idx) for f in (4, 6) if f in nets]
    for bname, spec in bridge_specs.items():
        nets = subnets['bridge:' + bname]
        members = [link for link in links if link['bridge'] == bname]
        for family, net in sorted(nets.items()):
            taken = {_host(net, 0)}   # the first address is the bridge's gateway (the host with nat)
            for link in members:
                ep = link['eps'][0]
                if ep['addresses'] is not None:
                    taken.update(a for a in ep['addresses'])
            wanted = []
            for link in members:
                ep = link['eps'][0]
                if ep['addresses'] is not None:
                    continue
                hkey = '%s|%s:%s' % (bname, ep['node'], ep['ifname'])
                old = (prev_hosts.get(hkey) or {}).get(str(family))
                if old and old not in taken:
                    try:
                        iface = ipaddress.ip_interface(old)
                    except ValueError:
                        iface = None
                    if iface is not None and iface.network == net and iface.ip not in (
                            net.network_address, getattr(net, 'broadcast_address', None)):
                        taken.add(old)
                        hosts.setdefault(hkey, {})[str(family)] = old
                        ep.setdefault('auto_addresses', {})[family] = old
                        continue
                wanted.append((hkey, ep))
            index = 1
            for hkey, ep in wanted:
                while True:
                    if net.num_addresses - 2 <= index:
                        _fail(where_of[bname], 'subnet %s is too small for %d members'
                              % (net, len(members)))
                    cand = _host(net, index)
                    index += 1
                    if cand not in taken:
                        break
                taken.add(cand)
                hosts.setdefault(hkey, {})[str(family)] = cand
                ep.setdefault('auto_addresses', {})[family] = cand
        for link in members:
            ep = link['eps'][0]
            if ep['addresses'] is None:
                ep['addresses'] = [ep['auto_addresses'][f] for f in (4, 6) if f in ep.get('auto_addresses', {})]
    for link in links:
        for ep in link['eps']:
            if not ep['bridge']:
                node_addr[ep['node']].extend(ep['addresses'])

    # ---- NAT
    nat = topology.get('nat')
    nat_plan = None
    gateways = {}
    if nat:
        nat_plan = _nat(name, nat, bridge_specs, subnets, links, node_specs, pod)
        gateways = nat_plan['gateways']

    # ---- netns bulk declaration
    bridge_mtu = dict((b, spec.get('mtu')) for b, spec in bridge_specs.items())
    for link in links:
        if link['tunnel'] and link['bridge'] and not bridge_specs[link['bridge']].get('mtu'):
            mtu = link['mtu'] or tunnels['mtu']
            bridge_mtu[link['bridge']] = min(bridge_mtu[link['bridge']] or mtu, mtu)
    namespaces = []
    node_entries = {}
    bridge_entries = {}
    # where each generated interface comes from in the topology (by the identity of its declaration), for origins;
    # and where the impairments of its ends are declared (a sub-path of the declaration to the topology's path)
    link_from = {}
    impair_from = {}
    for bname, spec in bridge_specs.items():
        if not mine(bname):
            continue
        entry_links = [dict(name=BRIDGE_IFNAME, type='bridge', **({'mtu': bridge_mtu[bname]} if bridge_mtu[bname] else {}))]
        if nat_plan and nat_plan['bridge'] == bname:
            entry_links.append({'name': NAT_IFNAME, 'type': 'veth', 'master': BRIDGE_IFNAME,
                                'peer': {'name': nat_plan['host_interface'],
                                         'addresses': nat_plan['host_addresses']}})
            link_from[id(entry_links[-1])] = ['nat', False]
        namespaces.append(keep({'name': bname, 'state': 'present', 'purge': True, 'links': entry_links}, bname))
        bridge_entries[bname] = namespaces[-1]
    for nname in net_nodes:
        if not mine(nname):
            continue
        spec = node_specs[nname]
        _conform(specs.node_spec(), dict((k, v) for k, v in spec.items() if k in specs.NODE_OPTIONS and v is not None),
                 where_of[nname])
        entry = {'name': nname, 'state': 'present', 'purge': True, 'links': []}
        hostname = spec.get('hostname', nname if len(nname) <= 64 else None)
        if hostname:
            entry['hostname'] = hostname
        for key in ('sysctl', 'nameservers', 'search', 'hosts'):
            if spec.get(key) is not None:
                entry[key] = spec[key]
        routes = list(spec.get('routes') or [])
        entry['routes'] = routes
        for idx, decl in enumerate(spec.get('links') or []):
            entry['links'].append(decl)
            link_from[id(decl)] = ['%s.links[%d]' % (where_of[nname], idx), True]
        node_entries[nname] = keep(entry, nname)
        namespaces.append(entry)
    for link in links:
        a, b = link['eps']
        if b.get('mac'):
            _fail(link['where'], 'mac can be set on the first endpoint of a link only')
        if link['tunnel']:
            for ep in (a, b):
                if mine(ep['node']):
                    entry = (bridge_entries if ep['bridge'] else node_entries)[ep['node']]
                    entry['links'].append(_tunnel_end(link, ep, tunnels, bridge_mtu))
                    link_from[id(entry['links'][-1])] = [link['where'], False]
                    if ep['impair']:
                        entry['links'][-1]['impairment'] = ep['impair']['decl']
                        impair_from[id(entry['links'][-1])] = {'impairment': ep['impair']['path']}
        elif mine(a['node']):
            decl = {'name': a['ifname'], 'type': 'veth', 'addresses': a['addresses']}
            if a.get('mac'):
                decl['mac'] = a['mac']
            peer = {'name': b['ifname'], 'netns': b['node']}
            if link['mtu']:
                decl['mtu'] = link['mtu']
                peer['mtu'] = link['mtu']
            if b['bridge']:
                peer['master'] = BRIDGE_IFNAME
                peer['addresses'] = []
                if bridge_mtu[b['node']] and not link['mtu']:
                    decl['mtu'] = peer['mtu'] = bridge_mtu[b['node']]
            else:
                peer['addresses'] = b['addresses']
            impair_from[id(decl)] = {}
            for ep, where_to, sub in ((a, decl, 'impairment'), (b, peer, 'peer.impairment')):
                if ep['impair']:
                    where_to['impairment'] = ep['impair']['decl']
                    impair_from[id(decl)][sub] = ep['impair']['path']
            decl['peer'] = peer
            node_entries[a['node']]['links'].append(decl)
            link_from[id(decl)] = [link['where'], False]
        if not mine(a['node']):
            continue
        if link['bridge'] and link['bridge'] in gateways:
            entry = node_entries[a['node']]
            has = set((r.get('dst'), ':' in str(r.get('gateway', ''))) for r in entry['routes'])
            for gw in gateways[link['bridge']]:
                v6 = ':' in gw
                if ('default', v6) not in has and not any(r.get('dst') == 'default' and
                                                          (':' in str(r.get('gateway', ''))) == v6
                                                          for r in entry['routes']):
                    entry['routes'].append({'dst': 'default', 'gateway': gw})
                    has.add(('default', v6))
    for entry in node_entries.values():
        if not entry['routes']:
            entry['routes'] = []

    # ---- services, mounts, user maps
    services = []
    service_from = {}
    files = []
    seen = {}
    for nname, spec in node_specs.items():
        if not mine(nname):
            continue
        svcs = spec.get('services') or []
        if not isinstance(svcs, list):
            _fail(where_of[nname] + '.services', 'expected a list of nsproc declarations')
        for idx, svc in enumerate(svcs):
            where = '%s.services[%d]' % (where_of[nname], idx)
            if not isinstance(svc, dict) or not svc.get('name'):
                _fail(where, 'a service is an nsforge.linux.nsproc declaration with at least name and command')
            unknown = sorted(set(svc) - _SERVICE_KEYS)
            if unknown:
                _fail(where, 'unknown nsproc option(s) %s' % ', '.join(unknown))
            sname = svc['name']
            _check(check_name, where, sname, where + '.name')
            _conform(specs.service_spec(), dict((k, v) for k, v in svc.items() if k != 'files'), where)
            if sname in seen:
                _fail(where, 'service %s is already declared by %s' % (sname, seen[sname]))
            seen[sname] = where
            decl = dict(svc)
            _supervise(decl, defaults, persisted[nname], nname, where)
            own = _files(decl.pop('files', None), where + '.files', '%s/services/%s' % (files_root, sname), base, None,
                         _taken(decl.get('mounts'), where))
            if own:
                decl['mounts'] = list(decl.get('mounts') or []) + [_bind(f) for f in own]
                files.extend(dict(f, node=nname, service=sname, restart=[sname]) for f in own)
            if nname in pod:
                ns = dict(decl.get('namespaces') or {})
                ns.setdefault('net', pod[nname])
                decl['namespaces'] = ns
                decl.setdefault('hostname', spec.get('hostname', nname if len(nname) <= 64 else None))
                if decl['hostname'] is None:
                    del decl['hostname']
            else:
                decl.setdefault('node', nname)
            decl['lab_node'] = nname
            services.append(decl)
            service_from[sname] = where
    mounts = []
    users = []
    for nname in net_nodes:
        if not mine(nname):
            continue
        spec = node_specs[nname]
        for key in ('mounts', 'private'):
            if not isinstance(spec.get(key) or [], list):
                _fail('%s.%s' % (where_of[nname], key), 'expected a list, as nsforge.linux.nsmount takes %s' % key)
        own = _files(spec.get('files'), where_of[nname] + '.files', '%s/nodes/%s' % (files_root, nname), base,
                     [s['name'] for s in services if s['lab_node'] == nname], _taken(spec.get('mounts'), where_of[nname]))
        files.extend(dict(f, node=nname, service=None) for f in own)
        if spec.get('mounts') or spec.get('private') or own:
            entry = dict((key, spec[key]) for key in ('mounts', 'private') if spec.get(key))
            options = specs.mount_node_spec()
            _conform(dict((key, options[key]) for key in entry), entry, where_of[nname])
            # the node's files are bound after its own mounts
            if own:
                entry['mounts'] = list(spec.get('mounts') or []) + [_bind(f) for f in own]
            mounts.append(keep(dict(entry, namespace=nname), nname))
        if spec.get('user'):
            user = spec['user']
            if not isinstance(user, dict):
                _fail(where_of[nname] + '.user', 'expected a mapping with map_user, map_root_user or uid_map')
            unknown = sorted(set(user) - _USER_KEYS)
            if unknown:
                _fail(where_of[nname] + '.user', 'unknown option(s) %s' % ', '.join(unknown))
            if not (user.get('map_user') or user.get('map_root_user') or user.get('uid_map')):
                _fail(where_of[nname] + '.user', 'needs map_user, map_root_user or uid_map')
            _conform(specs.user_ns_spec(), user, where_of[nname] + '.user')
            users.append(keep(dict(user, namespace=nname), nname))

    all_nodes = [n for n in list(bridge_specs) + net_nodes if mine(n)]
    nat_drawn = nat_plan
    if nat_plan and not mine(nat_plan['bridge']):
        nat_plan = None
    record = {
        'version': RECORD_VERSION,
        'name': name,
        'nodes': all_nodes,
        'services': [s['name'] for s in services],
        'mounts': [m['namespace'] for m in mounts],
        'users': [u['namespace'] for u in users],
        'subnets': dict((key, dict((str(f), str(n)) for f, n in nets.items())) for key, nets in subnets.items()
                        if nets),
        'hosts': hosts,
        'nat': {'table': nat_plan['table'], 'host_interface': nat_plan['host_interface']} if nat_plan else None,
    }
    if files:
        record['files'] = [f['path'] for f in files]
    here = [lk for lk in links if lk['tunnel'] and host in lk['hosts']]
    if here:
        record['tunnels'] = [{'link': lk['label'], 'vni': lk['tunnel_vni'], 'dstport': tunnels['dstport']} for lk in here]
    if timeline:
        record['timeline'] = timeline['name']
    if any(persisted[n] for n in all_nodes):
        record['persist'] = [n for n in all_nodes if persisted[n]]
    systemd_now = [s['name'] for s in services if s.get('supervisor') == 'systemd']
    if systemd_now:
        record['systemd'] = systemd_now

    def gone(key, now):
        return [x for x in (prev.get(key) or []) if x not in now]

    if state == 'absent':
        everything = _union(prev.get('nodes'), all_nodes)
        out_namespaces = [{'name': n, 'state': 'absent'} for n in everything]
        removed = {'nodes': everything, 'services': _union(prev.get('services'), record['services']),
                   'mounts': _union(prev.get('mounts'), record['mounts']),
                   'users': _union(prev.get('users'), record['users'])}
        services_out, mounts_out, users_out = [], [], []
        handed_back = []
    else:
        removed = {'nodes': gone('nodes', all_nodes), 'services': gone('services', record['services']),
                   'mounts': gone('mounts', record['mounts']), 'users': gone('users', record['users'])}
        out_namespaces = namespaces + [{'name': n, 'state': 'absent'} for n in removed['nodes']]
        services_out, mounts_out, users_out = services, mounts, users
        # a service that systemd supervised and the builtin supervisor takes now: its unit goes first
        handed_back = [s['name'] for s in services if s['name'] in (prev.get('systemd') or []) and s['name'] not in systemd_now]
    # the services whose units may exist: removed as systemd's (install_only: where systemd is not PID 1, nsproc
    # refuses supervisor: systemd without it, and it only keeps systemctl from starting anything)
    units = set(_union(prev.get('systemd'), record.get('systemd') if state == 'absent' else []))
    prev_nat = prev.get('nat') or None
    nat_remove = bool(prev_nat) and (state == 'absent' or not nat_plan)
    pending = dict(record)
    for key in ('nodes', 'services', 'mounts', 'users'):
        pending[key] = _union(prev.get(key), record[key])
    # (until the run is over, a node persisted before may still have its records, a service its unit)
    for key in ('persist', 'systemd'):
        if prev.get(key) or record.get(key):
            pending[key] = _union(prev.get(key), record.get(key))
    pending['nat'] = record['nat'] or prev_nat
    if prev.get('files') or files:
        pending['files'] = _union(prev.get('files'), record.get('files'))
    if prev.get('timeline') and not record.get('timeline'):
        pending['timeline'] = prev['timeline']
    # the netns task's timeline: the lab's, or the one of the previous run to stop (with the lab, or when the
    # topology no longer declares one)
    if state == 'present' and timeline:
        timeline_out = timeline
    elif prev.get('timeline') or (state == 'absent' and timeline):
        timeline_out = {'name': prev.get('timeline') or name, 'state': 'absent'}
    else:
        timeline_out = None

    # Where each entry of the generated tasks comes from in the topology, for messages in the user's terms (see
    # where()): module -> entry name -> a sub-path of the entry ('' for the entry) -> [topology path, whether the
    # options under it have the same names in the topology].
    origins = {
        'netns': dict((e['name'], dict([('', [where_of[e['name']], e['name'] in node_specs])] + [
            ('links[%d]' % idx, link_from.get(id(decl), [where_of[e['name']], False]))
            for idx, decl in enumerate(e['links'])] + [
            ('links[%d].%s' % (idx, sub), [path, True])
            for idx, decl in enumerate(e['links']) for sub, path in sorted(impair_from.get(id(decl), {}).items())]))
            for e in namespaces),
        # the index of the topology's step of each step of the generated timeline
        'timeline': timeline_from,
        'nsproc': dict((sname, {'': [path, True]}) for sname, path in service_from.items()),
        'nsmount': dict((m['namespace'], {'': [where_of[m['namespace']], True]}) for m in mounts),
        'uidmap': dict((u['namespace'], {'': [where_of[u['namespace']] + '.user', True]}) for u in users),
    }
    return {
        'name': name,
        'state': state,
        'origins': origins,
        # the topology's links, by their path and ends (for the role's report)
        'links': [{'where': lk['where'], 'ends': [[ep['node'], ep['ifname']] for ep in lk['eps']]} for lk in links],
        'namespaces': out_namespaces,
        'services': services_out,
        'mounts': mounts_out,
        'users': users_out,
        'removed': removed,
        # the entries of the bulk tasks that remove them (nsproc services, nsmount and uidmap namespaces)
        'removals': {'services': [_removal(x, units) for x in removed['services'] + handed_back],
                     'mounts': [{'namespace': x} for x in removed['mounts']],
                     'users': [{'namespace': x} for x in removed['users']]},
        'nat': nat_plan if state == 'present' else None,
        'nat_remove': prev_nat if nat_remove else None,
        # the timeline of the one netns task ({name, state, steps}, state absent to stop the previous run's), or None
        'timeline': timeline_out,
        'record': record,
        'pending': pending,
        # whether a node of the lab on this host comes back at boot: its record is kept where it survives reboot
        'persisted': bool(record.get('persist')),
        # the files of nodes and services to write on the host (with the folders they need), and to remove
        'files': {'root': files_root, 'write': files if state == 'present' else [],
                  'dirs': sorted(set(os.path.dirname(f['path']) for f in files)) if state == 'present' else [],
                  'remove': gone('files', record.get('files') or []) if state == 'present' else []},
        'dot': dot(name, bridge_specs, links, node_specs, pod, subnets, nat_drawn, node_host),
        'summary': [{'node': n, 'where': where_of[n], 'hostname': (node_specs[n].get('hostname') or n),
                     'addresses': [a.split('/')[0] for a in node_addr[pod.get(n, n)]],
                     'shares_network_of': pod.get(n), 'host': node_host[n], 'persist': persisted[n],
                     'services': [s['name'] for s in services if s['lab_node'] == n]} for n in node_specs if mine(n)],
        'tunnels': [{'link': lk['label'], 'vni': lk['tunnel_vni'], 'dstport': tunnels['dstport'],
                     'hosts': list(lk['hosts']), 'underlays': [tunnels['underlays'][h] for h in lk['hosts']]}
                    for lk in links if lk['tunnel']],
    }


def _removal(name, units):
    """The entry of the nsproc task that removes a service (one that systemd supervised, as systemd's)."""
    if name in units:
        return {'name': name, 'supervisor': 'systemd', 'install_only': True}
    return {'name': name}


def _supervise(decl, defaults, persisted, nname, where):
    """A service's supervisor (its own, else the lab's default) and install_only, checked: systemd starts it at boot
    in its node, so the node must be persisted. A service that systemd does not supervise is declared as given."""
    supervisor = decl.get('supervisor')
    if supervisor is None:
        supervisor = defaults['supervisor']
    if supervisor not in SUPERVISORS:
        _fail(where + '.supervisor', "expected 'builtin' or 'systemd', got %r" % (supervisor,))
    install_only = _flag(decl.get('install_only'), where + '.install_only')
    if supervisor != 'systemd':
        if install_only:
            _fail(where + '.install_only', 'invalid value %r: install_only is for supervisor: systemd'
                  % (decl['install_only'],))
        return
    if not persisted:
        _fail(where + '.supervisor', "invalid value 'systemd': its unit starts the service in node %s at boot, so "
              'the node must be persisted (persist: true on the node, or in defaults)' % nname)
    decl['supervisor'] = 'systemd'
    if install_only is None:
        install_only = defaults['install_only']
    if install_only is not None:
        decl['install_only'] = install_only


def _taken(mounts, where):
    """The mount points that a node's or a service's mounts declare, each with its place in the topology."""
    out = {}
    for idx, mount in enumerate(mounts if isinstance(mounts, list) else []):
        if isinstance(mount, dict) and isinstance(mount.get('dst'), str):
            out[os.path.normpath(mount['dst'])] = '%s.mounts[%d]' % (where, idx)
    return out


def _files(raw, where, folder, base, services, taken):
    """The files of a node or a service, validated: each a dict with dst, path (on the managed host: folder + dst),
    its one source (content; template or src as an absolute path on the controller, a relative one taken from
    base), owner, group and mode when given, and restart (the services that a change of the file restarts).

    services: the names that a node file's restart may give (None for a service's files, which restart the service);
    taken: the mount points already declared (dst to the place that declares it), which this adds to.
    """
    if raw is None:
        return []
    if not isinstance(raw, list):
        _fail(where, 'expected a list of files, each with dst and one of content, template or src')
    allowed = _FILE_KEYS if services is not None else _FILE_KEYS - {'restart'}
    out = []
    for idx, item in enumerate(raw):
        here = '%s[%d]' % (where, idx)
        if not isinstance(item, dict):
            _fail(here, 'expected a mapping with dst and one of content, template or src')
        unknown = sorted(set(item) - allowed)
        if unknown:
            _fail(here, 'unknown key(s) %s; a file takes %s' % (', '.join(unknown), ', '.join(sorted(allowed))))
        dst = item.get('dst')
        if not isinstance(dst, str) or not dst.startswith('/'):
            _fail(here + '.dst', 'expected an absolute path inside the node, got %r' % (dst,))
        if '..' in dst.split('/') or '\x00' in dst or '\n' in dst:
            _fail(here + '.dst', '%r must not contain .., NUL or newlines' % dst)
        dst = '/' + os.path.normpath(dst).lstrip('/')
        if dst == '/':
            _fail(here + '.dst', 'the root of the node is a folder, not a file')
        if dst in taken:
            _fail(here + '.dst', '%s is already declared by %s' % (dst, taken[dst]))
        taken[dst] = here
        given = [key for key in _FILE_SOURCES if item.get(key) is not None]
        if len(given) != 1:
            _fail(here, 'give exactly one of content, template or src%s'
                  % (' (got %s)' % ' and '.join(given) if given else ''))
        kind = given[0]
        entry = {'dst': dst, 'path': folder + dst}
        value = item[kind]
        if not isinstance(value, str) or (kind != 'content' and not value):
            _fail('%s.%s' % (here, kind), 'expected a string, got %r' % (value,))
        if kind == 'content':
            entry['content'] = value
        else:
            full = os.path.normpath(os.path.join(base or os.getcwd(), value))
            if not os.path.isfile(full):
                _fail('%s.%s' % (here, kind), 'no such file on the controller: %s%s' % (
                    full, '' if os.path.isabs(value) else ' (a relative path is taken from %s)'
                    % (base or os.getcwd())))
            entry[kind] = full
        for key in ('owner', 'group'):
            value = item.get(key)
            if value is not None:
                if isinstance(value, bool) or not isinstance(value, (str, int)) or value == '':
                    _fail('%s.%s' % (here, key), 'expected a name or a number, got %r' % (value,))
                entry[key] = str(value)
        mode = item.get('mode')
        if mode is not None:
            if not isinstance(mode, str) or not _MODE_RE.match(mode):
                _fail(here + '.mode', "expected an octal mode as a string (quoted in YAML), such as '0644', got %r"
                      % (mode,))
            entry['mode'] = mode
        restart = item.get('restart') or []
        if not isinstance(restart, list):
            _fail(here + '.restart', 'expected a list of the names of services of the node')
        for ridx, sname in enumerate(restart):
            if sname not in services:
                _fail('%s.restart[%d]' % (here, ridx), '%r is not a service of the node (its services: %s)'
                      % (sname, ', '.join(services) or 'none'))
        entry['restart'] = _union([], restart)
        out.append(entry)
    return out


def _bind(entry):
    """The bind mount (of nsmount and nsproc alike) that shows a file at its dst."""
    return {'dst': entry['dst'], 'src': entry['path'], 'type': 'bind'}


def ready(lab, services, restart=None, missing=None):
    """The mounts and services of a lab's plan as this run deploys them: services (the entries of the one nsproc task)
    named in restart (those that use a file this run changed) restart, unless declared stopped; in check mode,
    binds of the lab's files that missing names (not yet on the host, whose copy was only reported) are left out,
    since nsmount and nsproc refuse a bind of a source that does not exist."""
    gone = set(missing or [])
    restart = set(restart or [])

    def kept(mounts):
        return [m for m in mounts or [] if not (isinstance(m, dict) and m.get('src') in gone)]

    mounts = [dict(entry, mounts=kept(entry.get('mounts'))) for entry in lab['mounts']]
    out = []
    for svc in services:
        svc = dict(svc)
        if svc.get('mounts'):
            svc['mounts'] = kept(svc['mounts'])
        if svc['name'] in restart and svc.get('state') in (None, 'started', 'restarted'):
            svc['state'] = 'restarted'
        out.append(svc)
    return {'mounts': mounts, 'services': out}


def _merged(previous, shared, key):
    """A record's mapping under key, completed by the same mapping of the lab's records on other hosts."""
    out = {}
    for rec in [previous] + list(shared or []):
        if isinstance(rec, dict):
            for k, v in _prev_map(rec, key).items():
                out.setdefault(k, v)
    return out


def _underlay(value, where):
    try:
        return ipaddress.ip_address(value)
    except (ValueError, TypeError):
        _fail(where, 'expected the IP address of the host on the network between the hosts, got %r' % (value,))


def _tunnels(topology, lab, links, node_host, host, underlays, where_of):
    """Mark the links between hosts as tunnels: VNI, port, underlay addresses; see the role's README."""
    settings = topology.get('vxlan') or {}
    if not isinstance(settings, dict):
        _fail('vxlan', 'expected a mapping with dstport, vni_min, vni_max and underlay_mtu')
    unknown = sorted(set(settings) - _VXLAN_KEYS)
    if unknown:
        _fail('vxlan', 'unknown setting(s) %s' % ', '.join(unknown))
    out = {'dstport': _int_opt(settings, 'dstport', VXLAN_PORT, 1, 65535, 'vxlan'),
           'underlays': {}}
    vni_min = _int_opt(settings, 'vni_min', VNI_MIN, 1, VNI_MAX, 'vxlan')
    vni_max = _int_opt(settings, 'vni_max', VNI_MAX, 1, VNI_MAX, 'vxlan')
    if vni_max < vni_min:
        _fail('vxlan.vni_max', 'vni_max %d is below vni_min %d' % (vni_max, vni_min))
    underlay_mtu = _int_opt(settings, 'underlay_mtu', 1500, 1280, 65535, 'vxlan')
    declared = topology.get('hosts') or {}
    if not isinstance(declared, dict):
        _fail('hosts', 'expected a mapping from host name to {underlay: address}')
    for hname, hspec in declared.items():
        if not isinstance(hspec, dict) or set(hspec) != {'underlay'}:
            _fail('hosts.%s' % hname, 'expected a mapping with underlay (the address of the host), got %r' % (hspec,))
        _underlay(hspec['underlay'], 'hosts.%s.underlay' % hname)
    families = set()
    taken = {}
    for link in links:
        a, b = link['eps']
        hosts = (node_host[a['node']], node_host[b['node']])
        link['hosts'] = hosts
        link['tunnel'] = hosts[0] != hosts[1]
        if link['tunnel'] and None in hosts:
            lone = a['node'] if hosts[0] is None else b['node']
            _fail(link['where'], '%s has no host, so it is on every host, but %s is on host %s only; give %s a host'
                  % (lone, b['node'] if lone == a['node'] else a['node'], hosts[0] or hosts[1], lone))
        if not link['tunnel']:
            if link['vni'] is not None:
                _fail(link['where'], 'vni is for a link between two hosts; both ends are on %s'
                      % (hosts[0] or 'every host'))
            continue
        for ep, hname in zip((a, b), hosts):
            if hname in out['underlays']:
                continue
            if hname in declared:
                addr = _underlay(declared[hname]['underlay'], 'hosts.%s.underlay' % hname)
            elif hname in underlays and underlays[hname] is not None:
                addr = _underlay(underlays[hname], '%s.host (ansible_host of %s)' % (where_of[ep['node']], hname))
            else:
                _fail(where_of[ep['node']] + '.host',
                      'host %s has no underlay address for the tunnel of %s: give it in the topology\'s '
                      'hosts.%s.underlay, or as an IP address in ansible_host (is %s in the inventory?)'
                      % (hname, link['label'], hname, hname))
            out['underlays'][hname] = str(addr)
            families.add(addr.version)
        if len(families) > 1:
            _fail(link['where'], 'the underlay addresses of the hosts mix IPv4 and IPv6 (%s)'
                  % ', '.join('%s %s' % kv for kv in sorted(out['underlays'].items())))
        if link['vni'] is not None:
            vni = link['vni']
        else:
            key = '%s|%s' % (lab, '|'.join(sorted('%s:%s' % (e['node'], e['ifname']) for e in link['eps'])))
            digest = int(hashlib.sha256(key.encode('utf-8')).hexdigest(), 16)
            vni = vni_min + digest % (vni_max - vni_min + 1)
        if vni in taken:
            _fail(link['where'], 'VNI %d is also the VNI of %s; give one of them vni, or widen vxlan.vni_min to '
                                 'vxlan.vni_max' % (vni, taken[vni]))
        taken[vni] = link['where']
        link['tunnel_vni'] = vni
    out['mtu'] = underlay_mtu - VXLAN_OVERHEAD[max(families) if families else 4]
    return out


def _tunnel_clashes(lab, links, host, others, dstport):
    """A tunnel on this host whose VNI and port a tunnel of another lab here uses would not come up."""
    for other, rec in sorted((others or {}).items()):
        if other == lab or not isinstance(rec, dict):
            continue
        used = dict(((t.get('vni'), t.get('dstport')), t.get('link')) for t in rec.get('tunnels') or []
                    if isinstance(t, dict))
        for link in links:
            if link['tunnel'] and host in link['hosts']:
                hit = used.get((link['tunnel_vni'], dstport))
                if hit is not None:
                    _fail(link['where'], 'VNI %d is used on this host by link %s of lab %s; give this link vni'
                          % (link['tunnel_vni'], hit, other))


def _tunnel_end(link, ep, tunnels, bridge_mtu):
    """The netns declaration of one end of a tunnel: a vxlan in the node (or bridge) whose socket is the host's."""
    here, there = (link['hosts'] if ep is link['eps'][0] else tuple(reversed(link['hosts'])))
    mtu = link['mtu'] or (bridge_mtu[link['bridge']] if link['bridge'] else None) or tunnels['mtu']
    decl = {'name': ep['ifname'], 'type': 'vxlan', 'underlay': 'host', 'vni': link['tunnel_vni'],
            'dstport': tunnels['dstport'], 'local': tunnels['underlays'][here],
            'remote': tunnels['underlays'][there], 'mtu': mtu}
    if ep['bridge']:
        decl['master'] = BRIDGE_IFNAME
        decl['addresses'] = []
    else:
        decl['addresses'] = ep['addresses']
        if ep.get('mac'):
            decl['mac'] = ep['mac']
    return decl


def _union(first, second):
    out = list(first or [])
    out.extend(x for x in (second or []) if x not in out)
    return out


def _nat(lab, nat, bridge_specs, subnets, links, node_specs, pod):
    if not isinstance(nat, dict):
        _fail('nat', 'expected a mapping with bridge (and masquerade, ports)')
    unknown = sorted(set(nat) - {'bridge', 'masquerade', 'ports', 'forwarding'})
    if unknown:
        _fail('nat', 'unknown setting(s) %s' % ', '.join(unknown))
    bridge = nat.get('bridge')
    if bridge not in bridge_specs:
        _fail('nat.bridge', 'unknown bridge %r; nat gives the host an address on one of the lab\'s bridges' % (bridge,))
    nets = subnets.get('bridge:' + bridge) or {}
    if 4 not in nets:
        _fail('nat.bridge', 'bridge %s has no IPv4 subnet (give it subnet or the lab an addressing.ipv4 pool)' % bridge)
    table = 'nsforge_' + lab.replace('-', '_')
    host_if = 'nsf-' + lab
    if len(host_if) > 15:
        host_if = 'nsf-' + hashlib.sha1(lab.encode('utf-8')).hexdigest()[:11]
    host_addresses = [_host(nets[f], 0) for f in (4, 6) if f in nets]
    gateways = {bridge: [a.split('/')[0] for a in host_addresses]}
    members = {}
    for link in links:
        if link['bridge'] == bridge:
            ep = link['eps'][0]
            v4 = [a for a in ep['addresses'] if ':' not in a]
            if v4:
                members.setdefault(ep['node'], v4[0].split('/')[0])
    ports = []
    seen = {}
    for idx, port in enumerate(nat.get('ports') or []):
        where = 'nat.ports[%d]' % idx
        if not isinstance(port, dict):
            _fail(where, 'expected a mapping with host_port, node and port')
        unknown = sorted(set(port) - {'host_port', 'node', 'port', 'proto'})
        if unknown:
            _fail(where, 'unknown setting(s) %s' % ', '.join(unknown))
        node = port.get('node')
        if node not in node_specs:
            _fail(where, 'unknown node %r' % (node,))
        target = pod.get(node, node)
        if target not in members:
            _fail(where, 'node %s has no IPv4 address on bridge %s, which nat uses' % (node, bridge))
        proto = port.get('proto', 'tcp')
        if proto not in ('tcp', 'udp'):
            _fail(where, "proto must be 'tcp' or 'udp', got %r" % (proto,))
        for key in ('host_port', 'port'):
            value = port.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
                _fail(where, '%s must be a port number from 1 to 65535, got %r' % (key, value))
        if (proto, port['host_port']) in seen:
            _fail(where, 'host port %s/%d is already forwarded by %s'
                  % (proto, port['host_port'], seen[(proto, port['host_port'])]))
        seen[(proto, port['host_port'])] = where
        ports.append({'proto': proto, 'host_port': port['host_port'], 'node': node, 'address': members[target],
                      'port': port['port']})
    masquerade = nat.get('masquerade', True)
    lines = ['table inet %s' % table, 'delete table inet %s' % table, 'table inet %s {' % table]
    dnat = ['%s dport %d dnat ip to %s:%d' % (p['proto'], p['host_port'], p['address'], p['port']) for p in ports]
    lines += ['  chain prerouting {', '    type nat hook prerouting priority dstnat; policy accept;']
    lines += ['    fib daddr type local %s' % r for r in dnat]
    lines += ['  }', '  chain output {', '    type nat hook output priority -100; policy accept;']
    lines += ['    fib daddr type local %s' % r for r in dnat]
    lines += ['  }', '  chain postrouting {', '    type nat hook postrouting priority srcnat; policy accept;']
    if masquerade:
        for family in (4, 6):
            if family in nets:
                lines.append('    ip%s saddr %s oifname != "%s" masquerade'
                             % ('' if family == 4 else '6', nets[family], host_if))
    lines += ['  }', '}', '']
    return {'bridge': bridge, 'table': table, 'family': 'inet', 'host_interface': host_if,
            'host_addresses': host_addresses, 'gateways': gateways, 'ports': ports,
            'masquerade': masquerade, 'forwarding': nat.get('forwarding', masquerade),
            'ruleset': '\n'.join(lines)}


# ---------------------------------------------------------------------------
# Graphviz


_GENERATED_RE = re.compile(r'\b(namespaces|services)\[(\d+)\]((?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*)(?: \(([^()]*)\))?')
_STEP_RE = re.compile(r'\btimeline\.steps\[(\d+)\]')


def where(message, origins, action, args):
    """A module's message about the role's generated task, with each entry's path put in the topology's terms.

    action is the module that failed, args the options it was given (the entries whose indexes the message
    names). `namespaces[1].links[0].type` becomes `nodes[0] (r1).links[0].type` where the option has the same name
    in the topology, and `links[3] (r1:eth1 -- r2:eth1) (namespaces[1].links[4].peer.master of the generated netns
    task)` where it has none. A path that names no entry of the topology is left as it is.
    """
    module = str(action or '').rsplit('.', 1)[-1]
    table = (origins or {}).get(module)
    if not table or not isinstance(args, dict) or not isinstance(message, str):
        return message

    def one(match):
        key, idx, rest = match.group(1), int(match.group(2)), match.group(3)
        entries = args.get(key)
        if not isinstance(entries, list) or idx >= len(entries) or not isinstance(entries[idx], dict):
            return match.group(0)
        paths = table.get(entries[idx].get('name') or entries[idx].get('namespace'))
        if not paths:
            return match.group(0)
        best = max((sub for sub in paths if not sub or rest == '.' + sub or rest.startswith('.' + sub + '.')
                    or rest.startswith('.' + sub + '[')), key=len)
        path, exact = paths[best]
        if exact or not rest:
            return path + (rest[len(best) + 1:] if best else rest)
        return '%s (%s[%d]%s of the generated %s task)' % (path, key, idx, rest, module)

    def step(match):
        # a step of the generated timeline is the topology's step of the same index, or of the index it came from
        steps = (origins or {}).get('timeline') or []
        idx = int(match.group(1))
        return 'timeline.steps[%d]' % steps[idx] if idx < len(steps) else match.group(0)
    if module == 'netns':
        message = _STEP_RE.sub(step, message)
    return _GENERATED_RE.sub(one, message)


_NODE_CHANGE_RE = re.compile(r'^node (\S+): (.*)$')
_DELETED_RE = re.compile(r'^delete (?:undeclared )?interface (\S+)')


def _changed(result):
    """Whether a registered result (or a list of them) changed something."""
    if isinstance(result, list):
        return any(_changed(r) for r in result)
    return isinstance(result, dict) and bool(result.get('changed'))


def _changed_entries(result, key, name_key):
    """The names of the entries of a bulk result that changed."""
    entries = result.get(key) if isinstance(result, dict) else None
    return set(str(e.get(name_key)) for e in entries or [] if isinstance(e, dict) and e.get('changed'))


def _count(number, word):
    return '%d %s%s' % (number, word, '' if number == 1 else 's')


def report(lab_plan, results):
    """What a run of the netlab role did, counted by part, and one line that says it.

    results maps a part to what the role registered: network (the netns task), users, mounts, services (the bulk
    tasks), removals (a list of the removal tasks' results), files and nat (a result or a list of them), record.
    A node changed when its network namespace, its user or mount namespace changed; a link when an interface of one
    of its ends did (as the netns task's changes name them); a service when its entry in the nsproc result did; the
    lab's timeline when the netns task's changes name it (started, restarted, resumed or stopped).
    """
    results = results or {}
    summary = lab_plan.get('summary') or []
    node_names = [n['node'] for n in summary]
    bridge_names = [n for n in (lab_plan.get('record') or {}).get('nodes') or [] if n not in node_names]
    touched = {}
    timeline_changed = False
    for line in (results.get('network') or {}).get('changes') or []:
        match = _NODE_CHANGE_RE.match(str(line))
        if match:
            touched.setdefault(match.group(1), []).append(match.group(2))
        elif str(line).startswith('timeline '):
            timeline_changed = True
    nodes = (set(touched) | _changed_entries(results.get('users'), 'results', 'namespace')
             | _changed_entries(results.get('mounts'), 'results', 'namespace')) & set(node_names)
    links = 0
    for lk in lab_plan.get('links') or []:
        if any(re.search(r'(^|[\s(])%s($|[\s),])' % re.escape(str(ifname)), text)
               for node, ifname in lk['ends'] for text in touched.get(node, [])):
            links += 1
    # an interface deleted that no link of the topology declares any more: a link removed (a veth goes with its peer)
    ends = set((node, str(ifname)) for lk in lab_plan.get('links') or [] for node, ifname in lk['ends'])
    links_removed = sum(1 for node, texts in touched.items() for text in texts
                        for match in [_DELETED_RE.match(text)] if match and (node, match.group(1)) not in ends)
    services = _changed_entries(results.get('services'), 'services', 'name')
    # the files written or removed (a loop's result counts its items; the folders are not counted)
    files_changed = 0
    for result in (results.get('files') or [])[:3] if isinstance(results.get('files'), list) else [results.get('files')]:
        items = result.get('results') if isinstance(result, dict) else None
        files_changed += sum(1 for r in items if _changed(r)) if isinstance(items, list) else int(_changed(result))
    parts = {
        'nodes': {'total': len(node_names), 'changed': len(nodes)},
        'bridges': {'total': len(bridge_names), 'changed': len(set(touched) & set(bridge_names))},
        'links': {'total': len(lab_plan.get('links') or []), 'changed': links},
        'services': {'total': sum(len(n['services']) for n in summary), 'changed': len(services)},
        'files': {'total': len((lab_plan.get('files') or {}).get('write') or []), 'changed': files_changed},
        'nat': {'total': 1 if lab_plan.get('nat') else 0, 'changed': 1 if _changed(results.get('nat')) else 0},
        'timelines': {'total': 1 if (lab_plan.get('timeline') or {}).get('state') == 'present' else 0,
                      'changed': 1 if timeline_changed else 0},
    }
    changed = any(_changed(r) for r in results.values())
    words = (('nodes', 'node'), ('bridges', 'bridge'), ('links', 'link'), ('services', 'service'),
             ('files', 'file'), ('nat', 'NAT table'), ('timelines', 'timeline'))
    if lab_plan.get('state') == 'absent':
        removed = lab_plan.get('removed') or {}
        line = 'lab %s removed: %s, %s' % (lab_plan.get('name'),
                                           _count(len(removed.get('nodes') or []), 'namespace'),
                                           _count(len(removed.get('services') or []), 'service'))
        if not changed:
            line = 'lab %s: nothing to remove' % lab_plan.get('name')
    else:
        have = ', '.join(_count(parts[key]['total'], word) for key, word in words
                         if parts[key]['total'] or key in ('nodes', 'links'))
        what = ', '.join(_count(parts[key]['changed'], word) for key, word in words if parts[key]['changed'])
        if links_removed:
            what = ', '.join(w for w in (what, _count(links_removed, 'link') + ' removed') if w)
        removed = lab_plan.get('removed') or {}
        gone = len(removed.get('nodes') or []) + len(removed.get('services') or [])
        if gone and (_changed(results.get('removals')) or _changed(results.get('network'))):
            what = ', '.join(w for w in (what, '%d removed' % gone) if w)
        line = 'lab %s: %s; %s' % (lab_plan.get('name'), have,
                                   ('changed: ' + (what or 'the record')) if changed else 'no change')
    return dict(parts, changed=changed, line=line)


def _q(text):
    return '"%s"' % str(text).replace('\\', '\\\\').replace('"', '\\"')


def _h(text):
    """Text for an HTML-like Graphviz label."""
    return html.escape(str(text), quote=True)


# the colours of the picture's boxes: nodes, bridges, the host (with nat)
_DOT_FILL = {'node': '#ffffff', 'bridge': '#e8eef7', 'host': '#fdf3e1'}


def _dot_table(title, lines, ports, fill):
    """A box as an HTML-like label: the title, lines under it, then one row (a port of edges) per interface."""
    rows = ['<TR><TD BGCOLOR="%s"><B>%s</B></TD></TR>' % (fill, _h(title))]
    rows += ['<TR><TD BGCOLOR="%s">%s</TD></TR>' % (fill, _h(line)) for line in lines]
    rows += ['<TR><TD PORT="%s" ALIGN="LEFT">%s</TD></TR>' % (port, _h(text)) for port, text in ports]
    return ('<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">%s</TABLE>>' % ''.join(rows))


def _dot_port_text(ep, link, far):
    words = [ep['ifname']] + list(ep['addresses'] or [])
    if link['mtu']:
        words.append('mtu %d' % link['mtu'])
    if link.get('tunnel'):
        words.append('vxlan %d to %s' % (link['tunnel_vni'], far))
    return '  '.join(words)


def _impair_lines(link):
    """The words of a link's impairments (netem.label): one line when both ends send with the same, else a line per
    impaired direction ('r1 \u2192 r2: 20ms, 1% loss'); [] for a link without."""
    a, b = link['eps']
    canon = [ep.get('impair')['canon'] if ep.get('impair') else None for ep in (a, b)]
    if not canon[0] and not canon[1]:
        return []
    if canon[0] and canon[1] and netem.same(canon[0], canon[1]):
        return [netem.label(canon[0])]
    return ['%s \u2192 %s: %s' % (ep['node'], far['node'], netem.label(c))
            for ep, far, c in ((a, b, canon[0]), (b, a, canon[1])) if c]


def dot(name, bridge_specs, links, node_specs, pod, subnets, nat_plan, node_host=None):
    """The topology as Graphviz source (laid out left to right).

    Each node and bridge is a box whose rows are its interfaces (name, addresses, MTU, tunnel), so that every
    interface is written once, in its own box, and the edges carry no labels to pile up where many links meet a
    bridge; an edge joins the rows of its two ends. Only an impaired link's edge has words: its impairment (netem's
    label), in red, one line per direction when its ends send with different ones. A dashed grey edge joins a node to the node whose network it
    shares, a dashed blue one is a VXLAN tunnel between hosts, and the orange box is the host with its NAT.
    """
    node_host = node_host or {}
    ports = dict((n, []) for n in list(node_specs) + list(bridge_specs))

    def port(nname, text):
        ports[nname].append(('i%d' % len(ports[nname]), text))
        return '%s:%s' % (_q(nname), ports[nname][-1][0])

    # nodes on one bridge stand in one column; a link between two of them does not push one to the right
    bridges_of = {}
    for link in links:
        if link['bridge']:
            bridges_of.setdefault(link['eps'][0]['node'], set()).add(link['bridge'])
    edges = []
    for link in links:
        a, b = link['eps']
        ends = [port(ep['node'], _dot_port_text(ep, link, node_host.get(far['node']) or far['node']))
                for ep, far in ((a, b), (b, a))]
        attrs = ['style=dashed, color="#3060c0"'] if link.get('tunnel') else []
        loop = bool(bridges_of.get(a['node'], set()) & bridges_of.get(b['node'], set()))
        words = _impair_lines(link)
        if words:
            # (an edge that does not rank its ends has no room of its own for words: an xlabel, placed where it
            # covers nothing)
            attrs.append('%slabel=<%s>, fontname="Helvetica", fontsize=9, fontcolor="#b03020"'
                         % ('x' if loop else '', '<BR/>'.join(_h(w) for w in words)))
        if loop:
            attrs.append('constraint=false')   # and it loops from one's row to the other's on their right
            ends = [end + ':e' for end in ends]
        edges.append('  %s -- %s%s;' % (ends[0], ends[1], ' [%s]' % ', '.join(attrs) if attrs else ''))
    boxes = []
    if nat_plan:
        ports[' host'] = []     # a key no node can have
        host_if = '  '.join([nat_plan['host_interface']] + nat_plan['host_addresses'])
        edges.append('  %s -- %s;' % (port(' host', host_if), port(nat_plan['bridge'], NAT_IFNAME)))
        lines = ['nat' + (' masquerade' if nat_plan['masquerade'] else '')]
        lines += ['%s %d to %s:%d' % (p['proto'], p['host_port'], p['node'], p['port']) for p in nat_plan['ports']]
        boxes.append((' host', 'host', lines, _DOT_FILL['host']))
    for nname, target in pod.items():
        edges.append('  %s -- %s [style=dashed, color="#999999"];' % (_q(target), _q(nname)))
    for nname, spec in node_specs.items():
        lines = []
        hostname = spec.get('hostname')
        if hostname and hostname != nname:
            lines.append('hostname %s' % hostname)
        if node_host.get(nname):
            lines.append('on %s' % node_host[nname])
        if nname in pod:
            lines.append('network of %s' % pod[nname])
        lines += ['[%s]' % svc['name'] for svc in spec.get('services') or []
                  if isinstance(svc, dict) and svc.get('name')]
        boxes.append((nname, nname, lines, _DOT_FILL['node']))
    for bname in bridge_specs:
        nets = subnets.get('bridge:' + bname) or {}
        lines = [' '.join(['bridge'] + [str(n) for _f, n in sorted(nets.items())])]
        if node_host.get(bname):
            lines.append('on %s' % node_host[bname])
        boxes.append((bname, bname, lines, _DOT_FILL['bridge']))
    out = ['graph %s {' % _q(name),
           '  graph [label=%s, labelloc=t, fontname="Helvetica", rankdir=LR, ranksep=1.2, nodesep=0.3];'
           % _q('lab ' + name),
           '  node [shape=plain, fontname="Helvetica", fontsize=10]; edge [color="#555555"];']
    out += ['  %s [label=%s];' % (_q(key), _dot_table(title, lines, ports[key], fill))
            for key, title, lines, fill in boxes]
    out += edges
    out.append('}')
    return '\n'.join(out) + '\n'


def record_json(record):
    """The record as the role stores it: stable key order, so an unchanged lab rewrites nothing."""
    return json.dumps(record, indent=1, sort_keys=True) + '\n'
