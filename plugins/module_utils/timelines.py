# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""Timelines of faults (pure logic): netns's `timeline` option validated against the interfaces the task declares,
and compiled into the plan that a runner (timeline_runner) follows unattended.

A step drives one interface or several (NODE:IFNAME, a link or a veth's peer that the task declares): it sets a
state (down or up) or an impairment, once (`at`) or repeated (`every` ... `for`), for a while (`hold`: then back to
the declared one), or ramps an impairment linearly (`ramp`, from `impairment` or the declared one, every `every`
for `for`). The plan is a sorted list of events: an offset in seconds, words for people, the argument vectors that
make the change (`ip -n NODE link set dev IF up|down`; `tc` from netem.transition, from the impairment that the
previous event left), and for each interface it touches how to set from scratch what it is after the event (the
runner's resume and stop). The last event, at the end, sets every driven interface back to its declared state and
impairment.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import ipaddress
import json
import re

from ansible_collections.nsforge.linux.plugins.module_utils import netem
from ansible_collections.nsforge.linux.plugins.module_utils.errors import bad_option
from ansible_collections.nsforge.linux.plugins.module_utils.names import check_name

STATES = ('down', 'up')
MAX_EVENTS = 10000             # per timeline, the restore included
MAX_NAME = 128                 # bytes of a timeline's name (its files add a suffix)
MAX_DURATION = 7 * 86400 * 10 ** 9   # a week, in nanoseconds: the latest offset of an event
_DURATION = re.compile(r'^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(us|usec|ms|msec|s|sec|secs|m|min|mins|h|hour|hours)\s*$',
                       re.IGNORECASE)
_UNIT_NS = {'us': 1000, 'usec': 1000, 'ms': 10 ** 6, 'msec': 10 ** 6, 's': 10 ** 9, 'sec': 10 ** 9, 'secs': 10 ** 9,
            'm': 60 * 10 ** 9, 'min': 60 * 10 ** 9, 'mins': 60 * 10 ** 9, 'h': 3600 * 10 ** 9, 'hour': 3600 * 10 ** 9,
            'hours': 3600 * 10 ** 9}


# ---- times --------------------------------------------------------------------------------------------------

def parse_duration(value, option):
    """Nanoseconds of a duration as people write it: 30s, 1.5s, 250ms, 10m, 1h (the units of netem.parse_time, and
    minutes and hours)."""
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise bad_option(option, value, 'expected a time with its unit, such as 30s, 500ms, 10m or 1h')
    ns = int(round(float(match.group(1)) * _UNIT_NS[match.group(2).lower()]))
    if ns > MAX_DURATION:
        raise bad_option(option, value, 'at most a week')
    return ns


def duration_text(ns):
    """A duration in its largest whole unit: 2h, 10m, 30s, 1.5s, 250ms."""
    for unit, size in (('h', 3600 * 10 ** 9), ('m', 60 * 10 ** 9), ('s', 10 ** 9)):
        if ns >= size and ns % size == 0:
            return '%d%s' % (ns // size, unit)
    if ns >= 10 ** 9 or ns == 0:
        return ('%.3f' % (ns / 1e9)).rstrip('0').rstrip('.') + 's'
    return ('%.3f' % (ns / 1e6)).rstrip('0').rstrip('.') + 'ms'


def seconds(ns):
    return round(ns / 1e9, 6)


# ---- the task's interfaces ----------------------------------------------------------------------------------

def link_key(link):
    return '%s:%s' % link


def declared_links(decls):
    """{(node, ifname): {'state', 'impairment', 'after_up'}} of every interface a netns task declares (validated node
    declarations, netns_options): its links, and the peers of its veths placed in a node. A peer is always up.
    after_up: the commands that put back what the kernel drops when an interface goes down (its IPv6 addresses, the
    routes through it), run after a timeline sets it up again."""
    found = {}
    by_name = dict((decl['name'], decl) for decl in decls if decl['state'] == 'present')
    for decl in by_name.values():
        for link in decl['links']:
            found[(decl['name'], link['name'])] = {'state': link.get('state') or 'up',
                                                   'impairment': link.get('impairment') or None,
                                                   'after_up': _after_up(decl, link['name'], link.get('addresses'))}
            peer = link.get('peer')
            if peer is not None and peer.get('netns') is not None:
                found[(peer['netns'], peer['name'])] = {
                    'state': 'up', 'impairment': peer.get('impairment') or None,
                    'after_up': _after_up(by_name.get(peer['netns']), peer['name'], peer.get('addresses'), peer['netns'])}
    return found


def _after_up(decl, ifname, addresses, node=None):
    """ip's argument vectors that set again, on an interface that comes up, its declared addresses (the kernel
    flushes the IPv6 ones on down) and the declared routes of its node through it (which go with it)."""
    node = node or decl['name']
    out = []
    networks = []
    for cidr in addresses or []:
        out.append(['ip', '-n', node, 'addr', 'replace', cidr, 'dev', ifname] + (['nodad'] if ':' in cidr else []))
        networks.append(ipaddress.ip_interface(cidr).network)
    for route in (decl or {}).get('routes') or []:
        gateway = route.get('gateway')
        through = route.get('dev') == ifname or (
            route.get('dev') is None and gateway is not None
            and any(ipaddress.ip_address(gateway) in net for net in networks if net.version == ipaddress.ip_address(gateway).version))
        if not through:
            continue
        argv = ['ip', '-n', node, '-%d' % route['family'], 'route', 'replace', route['dst']]
        if gateway is not None:
            argv += ['via', gateway]
        argv += ['dev', ifname, 'metric', str(route['metric']), 'table', str(route['table']), 'proto', 'static']
        out.append(argv)
    return out


def _parse_link(value, option, declared, single, absent):
    if not isinstance(value, str) or not value.strip():
        raise bad_option(option, value, 'expected NODE:IFNAME of an interface this task declares, such as r1:eth1')
    value = value.strip()
    if ':' in value:
        node, _sep, ifname = value.partition(':')
    elif single is not None:
        node, ifname = single, value
    else:
        raise bad_option(option, value, 'expected NODE:IFNAME of an interface this task declares, such as r1:eth1')
    if node in absent:
        raise bad_option(option, value, 'node %s is declared absent in this task' % node)
    if (node, ifname) not in declared:
        raise bad_option(option, value, 'no interface %s declared in node %s by this task' % (ifname, node))
    return (node, ifname)


# ---- validation ---------------------------------------------------------------------------------------------

def validate(timeline, declared, single=None, absent=()):
    """The timeline option checked and normalized: {'name', 'state', 'steps'}. declared: declared_links() of the
    task; single: the node of a task that declares one (a step's link may then be IFNAME alone); absent: nodes the
    task declares absent. Raises NsforgeError naming the option at fault (timeline.steps[2].ramp.loss)."""
    name = check_name(timeline.get('name'), 'timeline.name')
    if len(name.encode('utf-8')) > MAX_NAME:
        raise bad_option('timeline.name', name, 'a timeline name is at most %d bytes long' % MAX_NAME)
    state = timeline.get('state') or 'present'
    if state not in ('present', 'absent'):
        raise bad_option('timeline.state', state, 'expected present or absent')
    out = {'name': name, 'state': state, 'steps': []}
    if state == 'absent':
        return out
    steps = timeline.get('steps')
    if not isinstance(steps, list) or not steps:
        raise bad_option('timeline.steps', steps, 'a timeline needs at least one step')
    for index, step in enumerate(steps):
        out['steps'].append(_step(index, step, declared, single, absent))
    return out


def _step(index, step, declared, single, absent):
    sopt = 'timeline.steps[%d]' % index
    if not isinstance(step, dict):
        raise bad_option(sopt, step, 'expected a mapping')
    raw_links = step.get('link')
    if isinstance(raw_links, str):
        raw_links = [raw_links]
    if not isinstance(raw_links, list) or not raw_links:
        raise bad_option(sopt + '.link', raw_links, 'expected NODE:IFNAME of an interface this task declares, or a list')
    links = []
    for value in raw_links:
        link = _parse_link(value, sopt + '.link', declared, single, absent)
        if link not in links:
            links.append(link)
    out = {'index': index, 'option': sopt, 'links': links, 'state': step.get('state'), 'impairment': None,
           'has_impairment': step.get('impairment') is not None, 'ramp': step.get('ramp'), 'starts': {}, 'ends': {}}
    if out['state'] is not None and out['state'] not in STATES:
        raise bad_option(sopt + '.state', out['state'], 'expected down or up')
    if out['state'] is not None and (out['has_impairment'] or out['ramp'] is not None):
        raise bad_option(sopt + '.state', out['state'], 'a step sets either a state or an impairment (with ramp), not both')
    if out['state'] is None and not out['has_impairment'] and out['ramp'] is None:
        raise bad_option(sopt, step, 'a step sets one of state, impairment or ramp')
    out['kind'] = 'state' if out['state'] is not None else ('ramp' if out['ramp'] is not None else 'impairment')
    for key, default in (('at', '0s'), ('every', None), ('for', None), ('hold', None)):
        value = step.get(key)
        value = default if value is None else value
        out[key] = parse_duration(value, '%s.%s' % (sopt, key)) if value is not None else None
        if key != 'at' and out[key] == 0:
            raise bad_option('%s.%s' % (sopt, key), step[key], 'expected a time above zero')
    if out['every'] is not None and out['for'] is None:
        raise bad_option(sopt + '.every', step['every'], 'a repeated step needs for (how long it repeats)')
    if out['for'] is not None and out['every'] is None:
        raise bad_option(sopt + '.for', step['for'], 'only with every (a repetition or a ramp)')
    if out['kind'] == 'ramp' and out['every'] is None:
        raise bad_option(sopt + '.ramp', out['ramp'], 'a ramp needs every and for (how often it moves, and how long)')
    if out['kind'] != 'ramp' and out['every'] is not None:
        if out['hold'] is None:
            raise bad_option(sopt + '.every', step['every'], 'a repeated %s needs hold (how long each lasts before '
                             'going back to the declared one)' % ('state' if out['kind'] == 'state' else 'impairment'))
        if out['hold'] >= out['every']:
            raise bad_option(sopt + '.hold', step['hold'], 'must be shorter than every (%s): the next repetition comes first'
                             % step['every'])
    if out['has_impairment']:
        out['impairment'] = netem.normalize(step['impairment'], sopt + '.impairment') or None
    if out['kind'] == 'ramp':
        if not isinstance(out['ramp'], dict) or not out['ramp']:
            raise bad_option(sopt + '.ramp', out['ramp'], 'expected the impairment to ramp to, such as {loss: 20%}')
        for link in links:
            start = out['impairment'] if out['has_impairment'] else declared[link]['impairment']
            raw = dict(netem.view(start) or {})
            raw.update(out['ramp'])
            out['starts'][link] = start or None
            out['ends'][link] = netem.normalize(raw, sopt + '.ramp') or None
    out['words'] = step_words(out)
    return out


def step_words(step):
    """A step in words, for the diff and the results: 'r1:eth1 down at 2s for 2s, every 6s for 12s'."""
    links = ', '.join(link_key(link) for link in step['links'])
    if step['kind'] == 'state':
        what = '%s %s' % (links, step['state'])
    elif step['kind'] == 'impairment':
        what = '%s impairment %s' % (links, netem.label(step['impairment']) or 'none')
    else:
        start = (netem.label(step['impairment']) or 'none') if step['has_impairment'] else 'the declared one'
        ends = set(netem.label(end) or 'none' for end in step['ends'].values())
        what = '%s impairment ramp from %s to %s' % (links, start, ends.pop() if len(ends) == 1 else 'the declared one + %s'
                                                     % ', '.join('%s %s' % kv for kv in sorted(step['ramp'].items())))
    words = '%s at %s' % (what, duration_text(step['at']))
    if step['kind'] != 'ramp' and step['hold'] is not None:
        words += ' for %s' % duration_text(step['hold'])
    if step['every'] is not None:
        words += ', every %s for %s' % (duration_text(step['every']), duration_text(step['for']))
    if step['kind'] == 'ramp' and step['hold'] is not None:
        words += ', then held %s' % duration_text(step['hold'])
    return words


def needs(timeline):
    """[(qdisc kind, option, value)] of what the steps need of the kernel: the first step needing netem (any
    impairment but bandwidth) and the first needing tbf (bandwidth), named by the option at fault."""
    found = {}
    for step in timeline['steps']:
        if step['kind'] == 'state':
            continue
        sources = []
        if step['kind'] == 'ramp':
            sources.append((step['option'] + '.ramp', step['ramp'], list(step['ends'].values())))
        if step['has_impairment']:
            sources.append((step['option'] + '.impairment', step['impairment'] and netem.view(step['impairment']),
                            [step['impairment']]))
        for option, raw, canons in sources:
            for kind, keys in (('netem', [k for k in netem.NETEM_KEYS if k != 'limit']), ('tbf', ['bandwidth'])):
                if kind in found or not any(canon and any(k in canon for k in keys) for canon in canons):
                    continue
                named = [k for k in keys if k in (raw or {})]
                if named:
                    found[kind] = (kind, '%s.%s' % (option, named[0]), raw[named[0]])
                else:
                    found[kind] = (kind, option, raw)
    return [found[kind] for kind in ('netem', 'tbf') if kind in found]


# ---- the plan -----------------------------------------------------------------------------------------------

def _occurrences(step):
    """(offset ns, ordinal from 1, count) of each repetition of a state or impairment step."""
    if step['every'] is None:
        return [(step['at'], 1, 1)]
    count = (step['for'] + step['every'] - 1) // step['every']
    return [(step['at'] + k * step['every'], k + 1, count) for k in range(count)]


def _ramp_points(step):
    """(offset ns, fraction, ordinal, count) of a ramp's points: every `every` from its start, and its end."""
    count = (step['for'] + step['every'] - 1) // step['every']
    points = [(step['at'] + k * step['every'], k * step['every'] / float(step['for'])) for k in range(count)]
    points.append((step['at'] + step['for'], 1.0))
    return [(t, f, k + 1, len(points)) for k, (t, f) in enumerate(points)]


def _count(step):
    """How many actions a step makes (what _actions gives, counted without making them)."""
    repeats = 1 if step['every'] is None else (step['for'] + step['every'] - 1) // step['every']
    if step['kind'] == 'ramp':
        return repeats + 1 + (1 if step['hold'] is not None else 0)
    return repeats * (2 if step['hold'] is not None else 1)


def _where(step, ordinal, count, extra=''):
    words = 'step %d' % (step['index'] + 1)
    if count > 1:
        words += ', %d of %d' % (ordinal, count)
    return '(%s%s)' % (words, extra)


def _actions(step, declared):
    """The actions of one step: (offset ns, order within the step, words, {link: {'state'} or {'impairment'}})."""
    links = step['links']
    names = ', '.join(link_key(link) for link in links)
    out = []
    if step['kind'] == 'ramp':
        points = _ramp_points(step)
        for t, fraction, ordinal, count in points:
            values = dict((link, netem.interpolate(step['starts'][link], step['ends'][link], fraction)) for link in links)
            labels = set(netem.label(v) or 'none' for v in values.values())
            label = labels.pop() if len(labels) == 1 else '%d%% of the ramp' % int(round(fraction * 100))
            out.append((t, 2 * ordinal, '%s impairment %s %s' % (names, label, _where(step, ordinal, count)),
                        dict((link, {'impairment': values[link]}) for link in links)))
        if step['hold'] is not None:
            t = step['at'] + step['for'] + step['hold']
            out.append((t, 2 * len(points) + 1, '%s impairment as declared %s' % (names, _where(step, 1, 1, ', end of hold')),
                        dict((link, {'impairment': declared[link]['impairment']}) for link in links)))
        return out
    for t, ordinal, count in _occurrences(step):
        if step['kind'] == 'state':
            out.append((t, 2 * ordinal, '%s %s %s' % (names, step['state'], _where(step, ordinal, count)),
                        dict((link, {'state': step['state']}) for link in links)))
        else:
            label = netem.label(step['impairment']) or 'none'
            out.append((t, 2 * ordinal, '%s impairment %s %s' % (names, label, _where(step, ordinal, count)),
                        dict((link, {'impairment': step['impairment']}) for link in links)))
        if step['hold'] is None:
            continue
        back = t + step['hold']
        if step['kind'] == 'state':
            states = set(declared[link]['state'] for link in links)
            what = states.pop() if len(states) == 1 else 'as declared'
            targets = dict((link, {'state': declared[link]['state']}) for link in links)
        else:
            what = 'impairment as declared'
            targets = dict((link, {'impairment': declared[link]['impairment']}) for link in links)
        out.append((back, 2 * ordinal + 1, '%s %s %s' % (names, what, _where(step, ordinal, count, ', end of hold')), targets))
    return out


def _state_argv(link, state):
    return ['ip', '-n', link[0], 'link', 'set', 'dev', link[1], state]


def _reset(link, status, state_driven, impairment_driven):
    """The commands that set an interface from scratch: its state, and its impairment (the root qdisc deleted first,
    which fails harmlessly when there is none)."""
    out = {'clear': [], 'apply': []}
    if link in state_driven:
        out['apply'].append(_state_argv(link, status['state']))
        if status['state'] == 'up':
            out['apply'].extend(status.get('after_up') or [])
    if link in impairment_driven:
        out['clear'].append(['tc', '-n', link[0], 'qdisc', 'del', 'dev', link[1], 'root'])
        out['apply'].extend(netem.transition(link[0], link[1], status['impairment'], None))
    return out


def compile_plan(timeline, declared):
    """The plan of a validated timeline (validate()) over the task's declared interfaces: {'name', 'links', 'steps'
    (words), 'events', 'end' (seconds), 'hash'}; each event {'t' (seconds), 'step' (index, None for the restore),
    'words', 'argv', 'reset'}. The hash tells one plan from another (not its start time)."""
    state_driven, impairment_driven = set(), set()
    actions = []
    for step in timeline['steps']:
        (state_driven if step['kind'] == 'state' else impairment_driven).update(step['links'])
        if len(actions) + _count(step) + 1 > MAX_EVENTS:
            key = 'every' if step['every'] is not None else 'at'
            raise bad_option('%s.%s' % (step['option'], key), duration_text(step[key]),
                             'the timeline would have more than %d events' % MAX_EVENTS)
        found = _actions(step, declared)
        actions.extend((t, step['index'], order, words, targets) for t, order, words, targets in found)
    actions.sort(key=lambda item: item[:3])
    end = max([item[0] for item in actions] + [s['at'] + s['for'] for s in timeline['steps'] if s['for'] is not None])
    driven = sorted(state_driven | impairment_driven)
    current = dict((link, {'state': declared[link]['state'], 'impairment': declared[link]['impairment'],
                           'after_up': declared[link].get('after_up') or []}) for link in driven)
    events = []
    for t, index, _order, words, targets in actions:
        events.append(_event(t, index, words, targets, current, state_driven, impairment_driven))
    restore = {}
    for link in driven:
        restore[link] = {}
        if link in state_driven:
            restore[link]['state'] = declared[link]['state']
        if link in impairment_driven:
            restore[link]['impairment'] = declared[link]['impairment']
    events.append(_event(end, None, 'end: %s as declared' % ', '.join(link_key(link) for link in driven), restore,
                         current, state_driven, impairment_driven))
    plan = {'name': timeline['name'], 'links': [link_key(link) for link in driven],
            'steps': [step['words'] for step in timeline['steps']], 'events': events, 'end': seconds(end)}
    plan['hash'] = plan_hash(plan)
    return plan


def _event(t, index, words, targets, current, state_driven, impairment_driven):
    argv = []
    after = []
    for link in sorted(targets):
        target = targets[link]
        if 'state' in target:
            argv.append(_state_argv(link, target['state']))
            if target['state'] == 'up':
                after.extend(current[link].get('after_up') or [])
            current[link]['state'] = target['state']
        if 'impairment' in target:
            argv.extend(netem.transition(link[0], link[1], target['impairment'], current[link]['impairment']))
            current[link]['impairment'] = target['impairment']
    argv.extend(after)
    reset = dict((link_key(link), _reset(link, current[link], state_driven, impairment_driven)) for link in sorted(targets))
    return {'t': seconds(t), 'step': index, 'words': words, 'argv': argv, 'reset': reset}


def declared_reset(plan, declared):
    """{NODE:IF: {'clear', 'apply'}}: the commands that set from scratch, as the task declares them now, the
    interfaces that a plan drives and the task declares (what the plan drives of each: its state, its impairment, as
    its restore event tells). For a timeline that the task stops or replaces: its runner set them back to what was
    declared when it started."""
    resets = {}
    for key, old in sorted(plan['events'][-1]['reset'].items()):
        link = tuple(key.split(':', 1))
        if link not in declared:
            continue
        state_driven = set([link]) if any(argv[:2] == ['ip', '-n'] for argv in old.get('apply', [])) else set()
        impairment_driven = set([link]) if old.get('clear') else set()
        resets[key] = _reset(link, declared[link], state_driven, impairment_driven)
    return resets


def plan_hash(plan):
    data = json.dumps(dict((key, plan[key]) for key in ('name', 'links', 'events')), sort_keys=True)
    return hashlib.sha256(data.encode('utf-8')).hexdigest()[:16]
