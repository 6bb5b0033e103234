# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check mode predicts the real run: a property test of the netns engine over generated declarations.

In check mode the netns engine answers with an after-view that it predicts (netns_views.predicted_view, from the
Planner's tracking); after a real run the after-view is read back from the kernel (netns_views.actual_view).
Hypothesis generates pairs (first, second) of `namespaces:` tasks over 1 to 3 nodes of a small pool, with veths
(peer in another node of the task or in the host), bridges and vxlans, addresses, MTUs, MACs, states, masters,
routes, sysctls, a hostname and /etc/netns files; the second declaration is a new one or, as often, a variant of
the first (its nodes and mostly its links, every option drawn anew), so that it meets what the first one made.
For each pair, from nothing (every node of the pool removed, and none left in `ip netns list`):
  1. the first declaration is applied for real;
  2. the second runs in check mode: its diff's after-view and `changed` are kept;
  3. the second is applied for real: its diff's after-view and `changed` are kept;
  4. the second is applied once more.
Then:
  - check mode's `changed` (and its list of changes) equals the real run's;
  - check mode's after-view equals the real run's, node by node (a MAC that check mode leaves open, null, for
    an interface the kernel has yet to create, matches any);
  - the third run changes nothing: changed is false and changes is empty;
  - check mode changed nothing: the real run's before-view equals check mode's, and the state read with
    `ip -j` (links, addresses, static routes), /run/netns, the nodes' handles and /etc/netns before and after
    the check-mode run are the same;
  - `ip -j addr` and `ip -j route` inside each node agree with the real run's after-view (interfaces with their
    addresses, state, MTU, MAC and master; main-table static routes).
A declaration that the engine refuses (NsforgeError) is dropped (assume), counted, and the run fails when more
than a third of the examples were refused: the generator would be too loose to prove anything.

KNOWN_BUGS holds the smallest examples of the engine bugs that the property found: they run first and fail until
the engine is fixed; while one fails, no example is generated (each would most likely find one of them again).

Usage: property.py   (as root, inside tests/sandbox.sh, with the collection on PYTHONPATH; exit status 1 on failure)
Environment: NETNS_CHECKMODE_EXAMPLES, the number of generated examples (default 60); NETNS_CHECKMODE_KNOWN_BUGS=0
leaves out the examples of KNOWN_BUGS (to look for other bugs while those are not fixed).
"""

from __future__ import absolute_import, division, print_function

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

from hypothesis import HealthCheck, Phase, assume, given, settings, strategies as st

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.nsforge.linux.plugins.module_utils import netlink, netns_engine, specs
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError

try:
    import yaml
except ImportError:  # only for the report
    yaml = None

EXAMPLES = int(os.environ.get('NETNS_CHECKMODE_EXAMPLES', '60'))
SHRINK_SECONDS = 100     # a failure's shrinking stops after this (Hypothesis' own limit is 300 s)
MAX_REFUSED = 1.0 / 3

# the nodes, and what their declarations draw from
POOL = ('cka', 'ckb', 'ckc', 'ckd')
LINK_NAMES = ('l0', 'l1', 'l2')
KINDS = ('veth', 'bridge', 'vxlan')      # this kernel has no dummy, vlan nor macvlan module
SUBNETS = (1, 2, 3)                      # 10.239.S.0/24 and fd42:239:0:S::/64
HOSTS = (1, 2, 3)                        # host part of an interface's address; .254 / ::fe are gateways
MTUS = (1280, 1400, 1500, 9000)          # not below 1280, where IPv6 goes away
REMOTES = ('10.239.200.1', '10.239.200.2', 'fd42:239:0:200::1')
ROUTE_DSTS = ('default', 'default6', '10.239.100.0/24', '10.239.101.0/24', 'fd42:239:0:100::/64', 'fd42:239:0:101::/64')
SYSCTL = {
    'net.ipv4.conf.all.forwarding': (0, 1),
    'net.ipv4.conf.all.rp_filter': (0, 1, 2),
    'net.ipv4.conf.all.accept_redirects': (0, 1),
    'net.ipv6.conf.all.forwarding': (0, 1),
    'net.ipv6.conf.all.accept_ra': (0, 1, 2),
    'net.ipv6.conf.all.hop_limit': (64, 32),
}
HOSTNAMES = ('ck-one', 'ck-two')
NAMESERVERS = ('10.239.0.53', 'fd42:239::53')
SEARCH = ('lab.test', 'ck.test')
HOST_NAMES = ('gw.test', 'srv.test')
HOST_ADDRS = ('10.239.1.254', 'fd42:239::80')

STATS = {'calls': 0, 'compared': 0, 'refused': {}, 'samples': []}
VALIDATOR = ArgumentSpecValidator(specs.netns()['argument_spec'])


# ---------------------------------------------------------------------------
# the declarations


def address(family, subnet, host):
    if family == 4:
        return '10.239.%d.%d/24' % (subnet, host)
    return 'fd42:239:0:%d::%d/64' % (subnet, host)


def gateway(family, subnet):
    return '10.239.%d.254' % subnet if family == 4 else 'fd42:239:0:%d::fe' % subnet


def subnet_of(cidr):
    """(family, subnet) of an address that address() made."""
    if ':' in cidr:
        return 6, int(cidr.split(':')[3])
    return 4, int(cidr.split('.')[2])


def optional(strategy):
    return st.one_of(st.none(), strategy)


ADDRESSES = optional(st.lists(st.builds(address, st.sampled_from((4, 6)), st.sampled_from(SUBNETS), st.sampled_from(HOSTS)),
                              max_size=2, unique=True))


def first_of(preferred, others):
    """A strategy for one of others, preferred (when given) first: what shrinking goes for."""
    choices = ([preferred] if preferred in others else []) + [item for item in others if item != preferred]
    return st.sampled_from(choices)


def put(draw, target, key, strategy):
    """target[key] = a value drawn from strategy, unless it draws None (the option is left out)."""
    value = draw(strategy)
    if value is not None:
        target[key] = value


def draw_link(draw, node, link, bridges, others, old):
    """The options of one link of node (its name and type drawn already); old: the link of that name and type that
    the first declaration gave the node, if any, whose peer's node, VNI and remote come first (shrinking keeps them)."""
    kind = link['type']
    slot = LINK_NAMES.index(link['name'])
    old = old if old is not None and old['type'] == kind else {}
    if kind == 'veth':
        netns = draw(first_of((old.get('peer') or {}).get('netns'), [None] + others))
        # unique per namespace: the node and the link name it belongs to
        peer = {'name': 'p%s%s' % (node[-1], link['name'])}
        if netns is not None:
            peer['netns'] = netns
        put(draw, peer, 'addresses', ADDRESSES)
        put(draw, peer, 'mtu', optional(st.sampled_from(MTUS)))
        if netns is not None and bridges[netns]:
            put(draw, peer, 'master', optional(st.sampled_from(bridges[netns])))
        link['peer'] = peer
    elif kind == 'vxlan':
        link['vni'] = draw(first_of(old.get('vni'), [100 + slot, 200 + slot]))   # unique per node
        link['remote'] = draw(first_of(old.get('remote'), list(REMOTES)))
    put(draw, link, 'addresses', ADDRESSES)
    put(draw, link, 'mtu', optional(st.sampled_from(MTUS)))
    variant = draw(optional(st.sampled_from((1, 2))))
    if variant is not None:
        link['mac'] = '02:39:%02x:%02x:00:%02x' % (POOL.index(node), slot, variant)
    put(draw, link, 'state', st.sampled_from((None, 'up', 'down')))
    if kind != 'bridge' and bridges[node]:
        put(draw, link, 'master', optional(st.sampled_from(bridges[node])))


def draw_routes(draw, links):
    """Routes over the node's links that will be up (links: its own and the veth peers put in it)."""
    ups = [link for link in links if link.get('state') != 'down']
    devs = [link['name'] for link in ups]
    connected = {4: set(), 6: set()}
    for link in ups:
        for cidr in link.get('addresses') or []:
            family, subnet = subnet_of(cidr)
            connected[family].add((subnet, link['name']))
    routes = []
    for dst in draw(st.lists(st.sampled_from(ROUTE_DSTS), max_size=2, unique=True)):
        family = 6 if dst == 'default6' or ':' in dst else 4
        ways = []
        if connected[family]:
            ways += ['gateway', 'gateway and dev']
        if devs:
            ways.append('dev')
        if not ways:
            continue
        way = draw(st.sampled_from(ways))
        route = {}
        if way == 'dev':
            route['dst'] = {'default': 'default', 'default6': '::/0'}.get(dst, dst)
            route['dev'] = draw(st.sampled_from(devs))
        else:
            route['dst'] = 'default' if dst.startswith('default') else dst
            subnet, ifname = draw(st.sampled_from(sorted(connected[family])))
            route['gateway'] = gateway(family, subnet)
            if way == 'gateway and dev':
                route['dev'] = ifname
        metric = draw(st.sampled_from((None, 100)))
        if metric is not None:
            route['metric'] = metric
        routes.append(route)
    return routes


def draw_link_names(draw, old_links):
    """[(name, type)] of a node's links: new ones, or (a variant) the first declaration's links of the node, each
    kept, given another type or dropped, and maybe one more."""
    if old_links is None:
        return [(name, draw(st.sampled_from(KINDS)))
                for name in draw(st.lists(st.sampled_from(LINK_NAMES), max_size=3, unique=True))]
    found = []
    for link in old_links:
        fate = draw(st.sampled_from(('kept', 'kept', 'kept', 'retyped', 'dropped')))
        if fate == 'kept':
            found.append((link['name'], link['type']))
        elif fate == 'retyped':
            found.append((link['name'], draw(st.sampled_from([k for k in KINDS if k != link['type']]))))
    free = [name for name in LINK_NAMES if name not in set(n for n, _kind in found)]
    if free:
        extra = draw(optional(st.sampled_from(free)))
        if extra is not None:
            found.append((extra, draw(st.sampled_from(KINDS))))
    return found


def declaration(draw, base=None):
    """A netns task's options: `namespaces:` over 1 to 3 nodes of the pool. Given base (the first declaration),
    either a new one or, as often, a variant of base: its nodes (maybe one more), their links mostly kept with
    their names and types, every option drawn anew."""
    old = None
    if base is not None and draw(st.booleans()):
        old = dict((e['name'], e.get('links', [])) for e in base['namespaces'])
        names = list(old)
        if len(names) < 3:
            extra = draw(optional(st.sampled_from([n for n in POOL if n not in names])))
            if extra is not None:
                names.append(extra)
    else:
        names = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=3, unique=True))
    states = dict((name, draw(st.sampled_from(('present', 'present', 'present', 'absent')))) for name in names)
    present = [name for name in names if states[name] == 'present']
    # names and kinds of the links first: veth peers and masters refer to the links of other nodes
    links = {}
    for name in present:
        links[name] = [{'name': ifname, 'type': kind}
                       for ifname, kind in draw_link_names(draw, None if old is None else old.get(name, []))]
    bridges = dict((name, [link['name'] for link in links[name] if link['type'] == 'bridge']) for name in present)
    for name in present:
        before = dict((link['name'], link) for link in (old or {}).get(name, []))
        for link in links[name]:
            draw_link(draw, name, link, bridges, [n for n in present if n != name], before.get(link['name']))
    peers_in = dict((name, []) for name in present)
    for name in present:
        for link in links[name]:
            if link['type'] == 'veth' and link['peer'].get('netns') is not None:
                peers_in[link['peer']['netns']].append(link['peer'])
    entries = []
    for name in names:
        entry = {'name': name}
        if states[name] == 'absent':
            entry['state'] = 'absent'
            entries.append(entry)
            continue
        hostname = draw(optional(st.sampled_from(HOSTNAMES)))
        if hostname is not None:
            entry['hostname'] = hostname
        if draw(st.booleans()):
            entry['purge'] = True
        if links[name]:
            entry['links'] = links[name]
        routes = draw_routes(draw, links[name] + peers_in[name])
        if routes:
            entry['routes'] = routes
        sysctl = dict((key, draw(st.sampled_from(SYSCTL[key])))
                      for key in draw(st.lists(st.sampled_from(sorted(SYSCTL)), max_size=2, unique=True)))
        if sysctl:
            entry['sysctl'] = sysctl
        for key, strategy in (('nameservers', st.lists(st.sampled_from(NAMESERVERS), max_size=2, unique=True)),
                              ('search', st.lists(st.sampled_from(SEARCH), min_size=1, max_size=2, unique=True)),
                              ('hosts', st.dictionaries(st.sampled_from(HOST_NAMES), st.sampled_from(HOST_ADDRS), max_size=2))):
            value = draw(optional(strategy))
            if value is not None:
                entry[key] = value
        entries.append(entry)
    return {'namespaces': entries}


@st.composite
def pairs(draw):
    """(first declaration, second declaration)."""
    first = declaration(draw)
    return first, declaration(draw, first)


# ---------------------------------------------------------------------------
# the engine, and the state read with independent tools


def converge(args, check_mode):
    """Run the netns engine as the module would, in this process: (result, diff)."""
    validated = VALIDATOR.validate(copy.deepcopy(args))
    if validated.error_messages:
        raise AssertionError('the generator made options that AnsibleModule refuses: %s\n%s'
                             % ('; '.join(validated.error_messages), dump(args)))
    session = netlink.Session()
    try:
        result = netns_engine.converge(validated.validated_parameters, check_mode, session)
    finally:
        session.close()
    diff = result['diff']
    if isinstance(diff, list):  # file diffs of persistence follow the module's own
        diff = diff[0]
    return result, diff


def ipj(node, *args):
    argv = ['ip'] + (['-n', node] if node else []) + ['-j'] + list(args)
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        raise AssertionError('%s failed: %s' % (' '.join(argv), proc.stderr.decode(errors='replace').strip()))
    out = proc.stdout.decode()
    return json.loads(out) if out.strip() else []


def netns_list():
    return sorted(item['name'] for item in ipj(None, 'netns', 'list'))


def ip_route_text(route, family):
    """A route of `ip -j route` in the words of netns_options.route_text."""
    dst = route['dst']
    if dst == 'default':
        words = ['default' if family == 4 else 'default (IPv6)']
    else:
        words = [dst if '/' in dst else '%s/%d' % (dst, 32 if family == 4 else 128)]
    if route.get('gateway'):
        words.append('via %s' % route['gateway'])
    if route.get('dev'):
        words.append('dev %s' % route['dev'])
    words.append('metric %d' % route.get('metric', 0))
    return ' '.join(words)


def net_of(node):
    """Links (state, mtu, mac, master, addresses without link-local ones) and main-table static routes of a node
    (None: the host), read with `ip -j`."""
    links = {}
    for item in ipj(node, 'addr', 'show'):
        links[item['ifname']] = {
            'state': 'up' if 'UP' in item.get('flags', []) else 'down',
            'mtu': item.get('mtu'),
            'mac': item.get('address'),
            'master': item.get('master'),
            'addresses': sorted('%s/%d' % (a['local'], a['prefixlen']) for a in item.get('addr_info', [])
                                if not a['local'].lower().startswith('fe80:')),
        }
    routes = []
    for family in (4, 6):
        for route in ipj(node, '-%d' % family, 'route', 'show', 'table', 'main'):
            if route.get('protocol') in ('static', 'boot') and route.get('type', 'unicast') == 'unicast':
                routes.append(ip_route_text(route, family))
    return {'links': links, 'routes': sorted(routes)}


def read_tree(top):
    """{relative path: content} of the files under top, folders as None."""
    found = {}
    for folder, dirs, names in os.walk(top):
        for name in dirs:
            found[os.path.relpath(os.path.join(folder, name), top)] = None
        for name in names:
            path = os.path.join(folder, name)
            try:
                with open(path, 'rb') as handle:
                    found[os.path.relpath(path, top)] = handle.read().decode('utf-8', 'replace')
            except OSError:  # a namespace handle
                found[os.path.relpath(path, top)] = '(unreadable)'
    return found


def kernel_state():
    """What check mode must not change, read without the engine."""
    nodes = netns_list()
    state = {'netns': nodes, 'host': net_of(None), '/etc/netns': read_tree('/etc/netns'),
             '/run/nsforge/nodes': sorted(read_tree('/run/nsforge/nodes'))}
    for node in nodes:
        state['node ' + node] = net_of(node)
    return state


def reset():
    """Remove every node of the pool, and check that nothing of them is left."""
    converge({'namespaces': [{'name': name, 'state': 'absent'} for name in POOL]}, False)
    left = netns_list()
    if left:
        raise AssertionError('nodes left after removing every node of the pool: %s' % left)
    host = sorted(net_of(None)['links'])
    if host != ['lo']:
        raise AssertionError('interfaces left in the host after removing every node of the pool: %s' % host)
    for top in ('/etc/netns', '/run/nsforge/nodes'):
        if read_tree(top):
            raise AssertionError('left in %s after removing every node of the pool: %s' % (top, sorted(read_tree(top))))


# ---------------------------------------------------------------------------
# comparing and reporting


def dump(data):
    if yaml is not None:
        return yaml.safe_dump(data, default_flow_style=False, sort_keys=False, width=160).rstrip('\n')
    return json.dumps(data, indent=2, sort_keys=True)


def short(value):
    return json.dumps(value, sort_keys=True)


def differences(predicted, actual, path):
    """Where a predicted view differs from the actual one: ['path: predicted X, actual Y']. A MAC or an MTU that the
    prediction leaves open (null: the kernel draws a new interface's MAC, and a bridge takes its ports') matches any."""
    if isinstance(predicted, dict) and isinstance(actual, dict):
        found = []
        for key in sorted(set(predicted) | set(actual)):
            where = '%s.%s' % (path, key)
            if key not in predicted:
                found.append('%s: not predicted, actual %s' % (where, short(actual[key])))
            elif key not in actual:
                found.append('%s: predicted %s, actually missing' % (where, short(predicted[key])))
            elif key in ('mac', 'mtu') and predicted[key] is None:
                continue
            else:
                found.extend(differences(predicted[key], actual[key], where))
        return found
    if path.endswith('.routes') and isinstance(predicted, list) and isinstance(actual, list):
        # a route through a gateway whose link the prediction cannot tell (several links hold its network) reads
        # 'dev ?', which matches the link the kernel picked
        left = list(actual)
        for route in predicted:
            match = [a for a in left if a == route or (' dev ? ' in route and re.sub(r' dev \S+ ', ' dev ? ', a) == route)]
            if not match:
                break
            left.remove(match[0])
        else:
            if not left:
                return []
    if predicted != actual:
        return ['%s: predicted %s, actual %s' % (path, short(predicted), short(actual))]
    return []


def independent_differences(view, seen):
    """Where the real run's after-view differs from `ip -j` (seen: kernel_state())."""
    found = []
    for node, node_view in sorted(view.items()):
        exists = node in seen['netns']
        if exists != bool(node_view.get('present')):
            found.append('ip netns list: node %s %s, the after-view says present=%s'
                         % (node, 'exists' if exists else 'does not exist', node_view.get('present')))
            continue
        if not exists:
            continue
        ip_view = seen['node ' + node]
        links = dict((name, dict((k, link.get(k)) for k in ('state', 'mtu', 'mac', 'master', 'addresses')))
                     for name, link in node_view['links'].items())
        for name in sorted(set(links) | set(ip_view['links'])):
            if name not in links:
                found.append('ip -n %s addr: interface %s, missing from the after-view' % (node, name))
            elif name not in ip_view['links']:
                found.append('ip -n %s addr: no interface %s, which the after-view has' % (node, name))
            elif links[name] != ip_view['links'][name]:
                found.append('ip -n %s addr: %s is %s, the after-view says %s' % (node, name, short(ip_view['links'][name]), short(links[name])))
        if ip_view['routes'] != node_view['routes']:
            found.append('ip -n %s route (main, static): %s, the after-view says %s' % (node, short(ip_view['routes']), short(node_view['routes'])))
    return found


def indent(text, prefix='    '):
    return '\n'.join(prefix + line for line in text.splitlines())


def report(first, second, problems, predicted, actual):
    lines = ['%d problem(s) with this pair of declarations:' % len(problems)]
    lines += ['  - ' + problem for problem in problems]
    lines += ['', 'first declaration (applied for real):', indent(dump(first)),
              'second declaration (check mode, then applied twice):', indent(dump(second))]
    for node in sorted(set(predicted) | set(actual)):
        if differences(predicted.get(node), actual.get(node), node):
            lines += ['node %s, after-view predicted by check mode:' % node, indent(dump(predicted.get(node))),
                      'node %s, after-view read after the real run:' % node, indent(dump(actual.get(node)))]
    return '\n'.join(lines)


class Refused(Exception):
    """The engine refused a declaration (NsforgeError) at a stage of an example."""

    def __init__(self, stage, error):
        super(Refused, self).__init__('%s: %s' % (stage, error))
        self.stage = stage


def engine(stage, args, check_mode):
    try:
        return converge(args, check_mode)
    except NsforgeError as exc:
        raise Refused(stage, exc)


def run_pair(first, second):
    """One example, from nothing: the problems found (an empty list when check mode predicted the real run), the
    predicted diff and the actual one. Refused when the engine refuses a declaration."""
    reset()
    engine('first declaration, applied', first, False)
    state_before = kernel_state()
    checked, predicted = engine('second declaration, check mode', second, True)
    state_after = kernel_state()
    # check mode accepted it, the kernel may not: as much a refusal of the declaration as one in check mode
    applied, actual = engine('second declaration, applied after check mode accepted it', second, False)
    seen = kernel_state()
    problems = []
    try:
        again, _diff = converge(second, False)
    except NsforgeError as exc:
        again = None
        problems.append('the third run (the second declaration again) failed: %s' % exc)

    if checked['changed'] != applied['changed']:
        problems.append('changed: check mode says %s, the real run %s' % (checked['changed'], applied['changed']))
    if checked['changes'] != applied['changes']:
        problems.append('changes: check mode lists %s, the real run %s' % (short(checked['changes']), short(applied['changes'])))
    for node in sorted(set(predicted['after']) | set(actual['after'])):
        problems.extend('after-view of ' + item for item in
                        differences(predicted['after'].get(node), actual['after'].get(node), node))
    if again is not None and (again['changed'] or again['changes']):
        problems.append('the third run changed %s: %s' % (again['changed'], short(again['changes'])))
    if predicted['before'] != actual['before']:
        problems.append('check mode changed the state: the real run read before-view %s, check mode %s'
                        % (short(actual['before']), short(predicted['before'])))
    if state_before != state_after:
        changed = sorted(key for key in set(state_before) | set(state_after) if state_before.get(key) != state_after.get(key))
        problems.append('check mode changed the state read with ip and the file system: %s' % ', '.join(changed))
    problems.extend(independent_differences(actual['after'], seen))
    return problems, predicted, actual


# ---------------------------------------------------------------------------
# the smallest examples of the engine bugs the property found: they run first and fail until the engine is fixed


def node(name, *links, **options):
    entry = {'name': name}
    if links:
        entry['links'] = list(links)
    entry.update(options)
    return entry


def task(*entries):
    return {'namespaces': list(entries)}


BRIDGE = {'name': 'l0', 'type': 'bridge'}
KNOWN_BUGS = [
    ('a route through a gateway: check mode predicts it without the interface (dev) that the kernel resolves and '
     'the real run reads back',
     task(node('cka')),
     task(node('cka', dict(BRIDGE, addresses=['10.239.1.1/24']), routes=[{'dst': '10.239.100.0/24', 'gateway': '10.239.1.254'}]))),
    ('removing a node deletes the ends of its veths that are in other nodes: check mode keeps them',
     task(node('cka', {'name': 'l0', 'type': 'veth', 'peer': {'name': 'pal0', 'netns': 'ckb'}}), node('ckb')),
     task(node('cka', state='absent'), node('ckb'))),
    ('a bridge takes the MTU and the MAC address of its port: check mode keeps its own',
     task(node('cka', BRIDGE)),
     task(node('cka', BRIDGE, {'name': 'l1', 'type': 'veth', 'peer': {'name': 'pal1'}, 'mtu': 1400, 'mac': '02:39:00:01:00:01',
                               'master': 'l0'}))),
    ('a bridge that loses its last port (here deleted to be created again as another type) gets the MAC address '
     '00:00:00:00:00:00: check mode keeps the one it had',
     task(node('cka', BRIDGE, {'name': 'l1', 'type': 'veth', 'peer': {'name': 'pal1'}, 'master': 'l0'})),
     task(node('cka', {'name': 'l1', 'type': 'bridge'}))),
    ('a declared bridge MTU that the new bridge has already is not set, so the bridge follows its smaller port; '
     'the next run sets it',
     task(node('cka')),
     task(node('cka', dict(BRIDGE, mtu=1500), {'name': 'l1', 'type': 'veth', 'peer': {'name': 'pal1'}, 'mtu': 1400, 'master': 'l0'}))),
    ('an interface deleted to be created again (another type) takes the routes through it with it: check mode keeps '
     'the undeclared ones',
     task(node('cka', BRIDGE, routes=[{'dst': '10.239.100.0/24', 'dev': 'l0'}])),
     task(node('cka', {'name': 'l0', 'type': 'veth', 'peer': {'name': 'pal0'}}))),
    ('an interface set down loses the IPv4 routes through it: check mode keeps them',
     task(node('cka', BRIDGE, routes=[{'dst': '10.239.100.0/24', 'dev': 'l0'}])),
     task(node('cka', dict(BRIDGE, state='down')))),
    ('a bridge deleted to be created again (another type) lets its ports go: check mode keeps their master',
     task(node('cka', BRIDGE, {'name': 'l1', 'type': 'veth', 'peer': {'name': 'pal1'}, 'master': 'l0'})),
     task(node('cka', {'name': 'l0', 'type': 'veth', 'peer': {'name': 'pal0'}}))),
    ('a bridge that purge deletes lets its ports go (here the end of a veth of another node): check mode keeps their master',
     task(node('cka', BRIDGE), node('ckb', {'name': 'l0', 'type': 'veth', 'peer': {'name': 'pbl0', 'netns': 'cka', 'master': 'l0'}})),
     task(node('cka', purge=True))),
    ('purge removes the addresses of a declared interface that declares none: check mode keeps them',
     task(node('cka', dict(BRIDGE, addresses=['10.239.1.1/24']))),
     task(node('cka', BRIDGE, purge=True))),
    ('net.ipv4.conf.all.forwarding=1, written after accept_redirects, sets accept_redirects to 0: check mode '
     'predicts 1 and the next run writes it again',
     task(node('cka')),
     task(node('cka', sysctl={'net.ipv4.conf.all.accept_redirects': 1, 'net.ipv4.conf.all.forwarding': 1}))),
    ('an interface set down loses its IPv6 addresses: check mode keeps them and the next run adds them again',
     task(node('cka', dict(BRIDGE, addresses=['fd42:239:0:1::1/64']))),
     task(node('cka', dict(BRIDGE, addresses=['fd42:239:0:1::1/64'], state='down')))),
]


def run_known_bugs():
    """Run the example of each known bug, printing the problems of those that are still there; how many are."""
    failing = 0
    for number, (title, first, second) in enumerate(KNOWN_BUGS, 1):
        head = 'known engine bug %d of %d' % (number, len(KNOWN_BUGS))
        try:
            problems, predicted, actual = run_pair(first, second)
        except Refused as exc:
            failing += 1
            print('\n=== %s, now refused: %s\n%s' % (head, title, report(first, second, ['the engine refuses it: %s' % exc], {}, {})))
            continue
        if problems:
            failing += 1
            print('\n=== %s, still there: %s\n%s' % (head, title, report(first, second, problems, predicted['after'], actual['after'])))
        else:
            print('=== %s, fixed: %s' % (head, title))
    return failing


# ---------------------------------------------------------------------------
# the property


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, print_blob=False,
          phases=[Phase.generate, Phase.shrink],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(pair=pairs())
def check_mode_predicts_the_real_run(pair):
    first, second = pair
    STATS['calls'] += 1
    try:
        problems, predicted, actual = run_pair(first, second)
    except Refused as exc:
        STATS['refused'][exc.stage] = STATS['refused'].get(exc.stage, 0) + 1
        if len(STATS['samples']) < 10:
            STATS['samples'].append(str(exc))
        assume(False)
    STATS['compared'] += 1
    if problems:
        raise AssertionError(report(first, second, problems, predicted['after'], actual['after']))


# ---------------------------------------------------------------------------


def print_failure(exc):
    """The failure(s) Hypothesis raised; several failing explicit examples come as an exception group."""
    group = getattr(exc, 'exceptions', None)
    if group:
        for number, item in enumerate(group, 1):
            print('\n=== failure %d of %d' % (number, len(group)))
            print_failure(item)
        return
    traceback.print_exception(type(exc), exc, exc.__traceback__)


def limit_shrinking():
    """Bound the time Hypothesis spends shrinking a failure (an internal of Hypothesis: left alone if it moved)."""
    try:
        from hypothesis.internal.conjecture import engine
    except ImportError:
        return
    if isinstance(getattr(engine, 'MAX_SHRINKING_SECONDS', None), int):
        engine.MAX_SHRINKING_SECONDS = min(engine.MAX_SHRINKING_SECONDS, SHRINK_SECONDS)


def hypothesis_home():
    """A folder of its own for Hypothesis, which writes one in the working folder even without a database."""
    try:
        from hypothesis.configuration import set_hypothesis_home_dir
    except ImportError:
        return None
    home = tempfile.mkdtemp(prefix='netns_checkmode.hypothesis.')
    set_hypothesis_home_dir(home)
    return home


def main():
    if os.geteuid() != 0:
        print('property.py: run me as root inside tests/sandbox.sh', file=sys.stderr)
        return 2
    home = hypothesis_home()
    try:
        return check(time.time())
    finally:
        if home is not None:
            shutil.rmtree(home, ignore_errors=True)


def check(start):
    """The known bugs, then (when they are fixed) the generated examples; the exit status."""
    if os.environ.get('NETNS_CHECKMODE_KNOWN_BUGS', '1') != '0':
        failing = run_known_bugs()
        if failing:
            print('\nnetns_checkmode: %d of the %d known engine bugs are still there (above), in %.0f s; the generated examples '
                  'run once they are fixed, or with NETNS_CHECKMODE_KNOWN_BUGS=0' % (failing, len(KNOWN_BUGS), time.time() - start))
            print('FAILED: check mode does not predict the real run')
            return 1
    limit_shrinking()
    failed = False
    try:
        check_mode_predicts_the_real_run()
    except Exception as exc:  # pylint: disable=broad-except
        print_failure(exc)
        failed = True
    refused = sum(STATS['refused'].values())
    print('\nnetns_checkmode: %d examples generated and run, %d compared, %d refused by the engine, in %.0f s'
          % (STATS['calls'], STATS['compared'], refused, time.time() - start))
    for stage, count in sorted(STATS['refused'].items()):
        print('  refused at %s: %d' % (stage, count))
    for sample in STATS['samples']:
        print('  e.g. %s' % sample)
    if failed:
        print('FAILED: check mode does not predict the real run (see above)')
        return 1
    if STATS['calls'] == 0 or refused > MAX_REFUSED * STATS['calls']:
        print('FAILED: the engine refused %d of %d examples (more than a third): the generator is too loose'
              % (refused, STATS['calls']))
        return 1
    print('PASSED')
    return 0


if __name__ == '__main__':
    sys.exit(main())
