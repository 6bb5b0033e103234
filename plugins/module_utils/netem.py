# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""Link impairments (pure logic): the declared `impairment` of an interface in kernel units, the qdiscs that carry
it read back from a netlink dump, the `tc` commands that set it, and its words for people.

An impairment lives in the root qdiscs of the interface (it acts on what the interface sends):
- delay, jitter, correlation, distribution, loss (random or Gilbert-Elliott), duplicate, corrupt, reorder, gap, rate
  and limit: a netem qdisc at the root, handle 4e10: to 4e13:, the minor number telling its delay distribution
  (the kernel keeps a distribution's table but never reports it, so the handle is how it is read back);
- bandwidth: a token bucket (tbf, handle 4e20:) under the netem qdisc (parent 4e1x:1), or at the root when nothing
  else is declared, so that a kernel without netem can still cap a link.
Those handles also mark the qdiscs as the collection's: another root qdisc is left alone unless the task purges.

Declared values are text as people write them: times `20ms`, `1.5s`, `250us`; percentages `1.5%`; rates `10mbit`,
`1.5Gbit`, `64kbit` (bits per second, SI prefixes; tc reads `bps` as bytes per second, a trap this refuses).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import struct

from ansible_collections.nsforge.linux.plugins.module_utils.errors import bad_option

DISTRIBUTIONS = ('uniform', 'normal', 'pareto', 'paretonormal')
NETEM_MAJOR = 0x4e10          # + the index of the distribution in DISTRIBUTIONS
TBF_MAJOR = 0x4e20
TC_H_ROOT = 0xFFFFFFFF
PROB_MAX = 0xFFFFFFFF         # a probability of 100 %, as the kernel keeps it (u32)
PROB_SLACK = 2                # tc and this file may round a percentage's last unit differently
NETEM_LIMIT = 1000            # netem's queue when none is declared (tc's default)
TBF_LATENCY = '100ms'         # how long a packet may wait in the token bucket's queue

# the declared keys, in the order the words and the commands list them
PERCENT_KEYS = ('correlation', 'loss', 'loss_correlation', 'duplicate', 'duplicate_correlation', 'corrupt',
                'corrupt_correlation', 'reorder', 'reorder_correlation')
TIME_KEYS = ('delay', 'jitter')
RATE_KEYS = ('rate', 'bandwidth')
INT_KEYS = ('gap', 'limit')
GEMODEL_KEYS = ('p', 'r', 'loss_bad', 'loss_good')
NETEM_KEYS = TIME_KEYS + ('distribution',) + PERCENT_KEYS + ('gemodel', 'gap', 'rate', 'limit')
KEYS = NETEM_KEYS + ('bandwidth',)
# a value that only qualifies another one, and the one it needs
# (netem reorders by sending some packets at once and delaying the others: tc refuses a reorder without a delay)
NEEDS = {'jitter': 'delay', 'correlation': 'jitter', 'distribution': 'jitter', 'loss_correlation': 'loss',
         'duplicate_correlation': 'duplicate', 'corrupt_correlation': 'corrupt', 'reorder_correlation': 'reorder',
         'gap': 'reorder', 'reorder': 'delay'}
# values that mean "none" when zero (a zero delay or loss is no impairment, and takes what qualifies it along)
ZERO_IS_NONE = ('delay', 'jitter', 'correlation', 'loss', 'loss_correlation', 'duplicate', 'duplicate_correlation',
                'corrupt', 'corrupt_correlation', 'reorder', 'reorder_correlation', 'rate')
REORDER_GAP = 1               # the gap tc sets when a reorder is declared without one

_NUMBER = r'([0-9]+(?:\.[0-9]*)?|\.[0-9]+)'
_TIME = re.compile(r'^\s*' + _NUMBER + r'\s*(us|usec|ms|msec|s|sec|secs)\s*$', re.IGNORECASE)
_PERCENT = re.compile(r'^\s*' + _NUMBER + r'\s*%\s*$')
_RATE = re.compile(r'^\s*' + _NUMBER + r'\s*([kmgt]?)(bit|bits|bit/s)\s*$', re.IGNORECASE)
_BYTES_RATE = re.compile(r'^\s*' + _NUMBER + r'\s*[kmgt]?i?(bps|b/s)\s*$', re.IGNORECASE)
_TIME_NS = {'us': 1000, 'usec': 1000, 'ms': 1000000, 'msec': 1000000, 's': 10 ** 9, 'sec': 10 ** 9, 'secs': 10 ** 9}
_SI = {'': 1, 'k': 10 ** 3, 'm': 10 ** 6, 'g': 10 ** 9, 't': 10 ** 12}


# ---- values as people write them ------------------------------------------------------------------------

def parse_time(value, option):
    """Nanoseconds of a time such as 20ms, 1.5s or 250us."""
    match = _TIME.match(value) if isinstance(value, str) else None
    if match is None:
        raise bad_option(option, value, 'expected a time with its unit, such as 20ms, 1.5s or 250us')
    ns = int(round(float(match.group(1)) * _TIME_NS[match.group(2).lower()]))
    if ns % 1000:
        raise bad_option(option, value, 'a time in whole microseconds (tc sets no finer one)')
    if ns > 0xFFFFFFFF * 1000:
        raise bad_option(option, value, 'too long a time (at most about 71 minutes)')
    return ns


def parse_percent(value, option):
    """A percentage such as 1.5% as the kernel keeps a probability: a fraction of PROB_MAX (tc's rounding)."""
    match = _PERCENT.match(value) if isinstance(value, str) else None
    if match is None:
        raise bad_option(option, value, 'expected a percentage with its sign, such as 1.5%')
    percent = float(match.group(1))
    if percent > 100:
        raise bad_option(option, value, 'a percentage is at most 100%')
    return prob_of(percent)


def prob_of(percent):
    return int(round(percent / 100.0 * PROB_MAX))


def percent_of(prob):
    """A probability back in percent, rounded where a declaration's decimals end."""
    return round(prob * 100.0 / PROB_MAX, 4)


def parse_rate(value, option):
    """Bytes per second (what the kernel keeps) of a rate such as 10mbit or 1.5Gbit."""
    if isinstance(value, str) and _BYTES_RATE.match(value):
        raise bad_option(option, value, 'write a rate in bits per second, such as 10mbit (tc reads "bps" as bytes per '
                                        'second, not bits)')
    match = _RATE.match(value) if isinstance(value, str) else None
    if match is None:
        raise bad_option(option, value, 'expected a rate in bits per second with its unit, such as 10mbit, 1.5gbit '
                                        'or 64kbit')
    bits = float(match.group(1)) * _SI[match.group(2).lower()]
    rate = int(bits // 8)
    if rate < 1:
        raise bad_option(option, value, 'too low a rate (at least 8bit)')
    return rate


def time_text(ns):
    for unit, size in (('s', 10 ** 9), ('ms', 10 ** 6), ('us', 1000)):
        if ns >= size and ns % (size // 1000 if size > 1000 else 1) == 0:
            return _number(ns / float(size)) + unit
    return _number(ns / 1000.0) + 'us'


def percent_text(prob):
    return _number(percent_of(prob)) + '%'


def rate_text(rate):
    bits = rate * 8
    for unit, size in (('gbit', 10 ** 9), ('mbit', 10 ** 6), ('kbit', 10 ** 3)):
        if bits >= size:
            return _number(bits / float(size)) + unit
    return '%dbit' % bits


def _number(value):
    text = ('%.4f' % value).rstrip('0').rstrip('.')
    return text or '0'


# ---- the declaration --------------------------------------------------------------------------------------

def normalize(value, option):
    """The canonical impairment of a declared one (None when nothing is declared): a dict of the keys that are set,
    in kernel units (nanoseconds, probabilities of PROB_MAX, bytes per second, packets). Raises NsforgeError naming
    option.KEY for a value at fault."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_option(option, value, 'expected a mapping of impairments such as {delay: 20ms, loss: 1%}')
    unknown = sorted(set(value) - set(KEYS))
    if unknown:
        raise bad_option('%s.%s' % (option, unknown[0]), value[unknown[0]], 'unknown impairment; known: %s' % ', '.join(KEYS))
    canon = {}
    for key in KEYS:
        item = value.get(key)
        if item is None:
            continue
        kopt = '%s.%s' % (option, key)
        if key in TIME_KEYS:
            canon[key] = parse_time(item, kopt)
        elif key in PERCENT_KEYS:
            canon[key] = parse_percent(item, kopt)
        elif key in RATE_KEYS:
            canon[key] = parse_rate(item, kopt)
        elif key in INT_KEYS:
            if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= 0xFFFFFFFF:
                raise bad_option(kopt, item, 'expected a whole number of packets, at least 1')
            canon[key] = item
        elif key == 'distribution':
            if item not in DISTRIBUTIONS:
                raise bad_option(kopt, item, 'expected one of %s' % ', '.join(DISTRIBUTIONS))
            canon[key] = item
        elif key == 'gemodel':
            canon[key] = _gemodel(item, kopt)
    for key, needed in sorted(NEEDS.items()):
        if key in canon and needed not in canon:
            raise bad_option('%s.%s' % (option, key), value[key], 'only with %s' % needed)
    if 'gemodel' in canon and 'loss' in canon:
        raise bad_option('%s.gemodel' % option, value['gemodel'], 'loss is either random (loss) or gemodel, not both')
    if 'jitter' in canon and canon['jitter'] > canon['delay']:
        raise bad_option('%s.jitter' % option, value['jitter'], 'at most the delay (%s)' % value['delay'])
    # what the kernel holds when nothing is declared: no time, no probability (and then nothing that qualifies them)
    for key in ZERO_IS_NONE:
        if canon.get(key) == 0:
            del canon[key]
    for key, needed in sorted(NEEDS.items(), key=lambda item: _depth(item[0])):
        if key in canon and needed not in canon:
            del canon[key]
    if 'jitter' in canon and 'distribution' not in canon:
        canon['distribution'] = 'uniform'
    if 'reorder' in canon and 'gap' not in canon:
        canon['gap'] = REORDER_GAP
    # netem's queue of 1,000 packets when none is declared
    if uses_netem(canon) and 'limit' not in canon:
        canon['limit'] = NETEM_LIMIT
    if 'limit' in canon and not uses_netem(canon):
        # a queue without anything netem does: refused when nothing of netem is declared; dropped with the netem
        # qdisc when what is declared is all zero (a ramp's end, loss: 0%)
        if not any(value.get(key) is not None for key in NETEM_KEYS if key != 'limit'):
            raise bad_option('%s.limit' % option, value['limit'], "only with one of netem's impairments (the queue of netem)")
        del canon['limit']
    return canon or None


def _depth(key):
    """How many values key qualifies through (correlation: jitter, then delay), so that a chain drops from its base."""
    depth = 0
    while key in NEEDS:
        key = NEEDS[key]
        depth += 1
    return depth


def _gemodel(item, option):
    if not isinstance(item, dict) or 'p' not in item:
        raise bad_option(option, item, 'expected {p: PERCENT, r: PERCENT, loss_bad: PERCENT, loss_good: PERCENT}, p required')
    unknown = sorted(set(item) - set(GEMODEL_KEYS))
    if unknown:
        raise bad_option('%s.%s' % (option, unknown[0]), item[unknown[0]], 'unknown; known: %s' % ', '.join(GEMODEL_KEYS))
    defaults = {'r': '100%', 'loss_bad': '100%', 'loss_good': '0%'}
    return dict((key, parse_percent(item.get(key) if item.get(key) is not None else defaults.get(key), '%s.%s' % (option, key)))
                for key in GEMODEL_KEYS)


def uses_netem(canon):
    """Whether an impairment needs a netem qdisc (anything but a bandwidth cap)."""
    return bool(canon) and any(key in canon for key in NETEM_KEYS if key != 'limit')


def handle_of(canon):
    """(netem handle or None, tbf handle or None, tbf parent) of an impairment's qdiscs."""
    netem = None
    if uses_netem(canon):
        netem = (NETEM_MAJOR + DISTRIBUTIONS.index(canon.get('distribution') or 'uniform')) << 16
    tbf = TBF_MAJOR << 16 if canon and 'bandwidth' in canon else None
    return netem, tbf, (netem | 1) if netem is not None else TC_H_ROOT


def same(want, have):
    """Whether two canonical impairments are the same (a probability within the rounding of tc)."""
    want = want or {}
    have = have or {}
    if set(want) != set(have):
        return False
    for key, value in want.items():
        other = have[key]
        if key in PERCENT_KEYS:
            if abs(value - other) > PROB_SLACK:
                return False
        elif key == 'gemodel':
            if any(abs(value[k] - other[k]) > PROB_SLACK for k in GEMODEL_KEYS):
                return False
        elif value != other:
            return False
    return True


# ---- words ----------------------------------------------------------------------------------------------

def label(canon):
    """Short words for people and pictures: '40ms ±5ms, 1% loss, 10mbit'. None for no impairment."""
    if not canon:
        return None
    words = []
    if 'delay' in canon:
        text = time_text(canon['delay'])
        if 'jitter' in canon:
            text += ' \u00b1' + time_text(canon['jitter'])
            if canon.get('distribution', 'uniform') != 'uniform':
                text += ' ' + canon['distribution']
        words.append(text)
    if 'loss' in canon:
        words.append(percent_text(canon['loss']) + ' loss')
    if 'gemodel' in canon:
        words.append('burst loss (p %s, r %s)' % (percent_text(canon['gemodel']['p']), percent_text(canon['gemodel']['r'])))
    for key in ('duplicate', 'corrupt', 'reorder'):
        if key in canon:
            words.append('%s %s' % (percent_text(canon[key]), key))
    if 'rate' in canon:
        words.append('rate ' + rate_text(canon['rate']))
    if 'bandwidth' in canon:
        words.append(rate_text(canon['bandwidth']))
    return ', '.join(words) or 'netem'


def view(canon):
    """An impairment as declared text (the diff and the results): {delay: '40ms', loss: '1%', ...}."""
    if not canon:
        return None
    out = {}
    for key, value in canon.items():
        if key in TIME_KEYS:
            out[key] = time_text(value)
        elif key in PERCENT_KEYS:
            out[key] = percent_text(value)
        elif key in RATE_KEYS:
            out[key] = rate_text(value)
        elif key == 'gemodel':
            out[key] = dict((k, percent_text(v)) for k, v in value.items())
        else:
            out[key] = value
    return out


# ---- tc -------------------------------------------------------------------------------------------------

def netem_args(canon):
    """tc's words for a netem qdisc's options (every option, so that `change` sets exactly these)."""
    args = []
    if 'delay' in canon:
        args += ['delay', '%dus' % (canon['delay'] // 1000)]
        if 'jitter' in canon:
            args.append('%dus' % (canon['jitter'] // 1000))
            if 'correlation' in canon:
                args.append(_tc_percent(canon['correlation']))
            if canon.get('distribution', 'uniform') != 'uniform':
                args += ['distribution', canon['distribution']]
    if 'loss' in canon:
        args += ['loss', 'random', _tc_percent(canon['loss'])]
        if 'loss_correlation' in canon:
            args.append(_tc_percent(canon['loss_correlation']))
    if 'gemodel' in canon:
        model = canon['gemodel']
        # tc's third and fourth numbers are 1-h (losing in the bad state: tc gives the kernel h, not losing in it)
        # and 1-k (losing in the good state)
        args += ['loss', 'gemodel', _tc_percent(model['p']), _tc_percent(model['r']),
                 _tc_percent(model['loss_bad']), _tc_percent(model['loss_good'])]
    if 'duplicate' in canon:
        args += ['duplicate', _tc_percent(canon['duplicate'])]
        if 'duplicate_correlation' in canon:
            args.append(_tc_percent(canon['duplicate_correlation']))
    # corrupt, reorder (with their correlations) and rate always, zero when not declared: tc sends the kernel only the
    # attributes it is given, and `change` keeps the old value of an attribute not sent (a reorder or a rate dropped
    # from the declaration would stay); a correlation here also makes tc send the duplicate's (which alone it drops)
    for key in ('corrupt', 'reorder'):
        args += [key, _tc_percent(canon.get(key, 0)), _tc_percent(canon.get(key + '_correlation', 0))]
    if 'gap' in canon:
        args += ['gap', str(canon['gap'])]
    args += ['rate', '%dbit' % (canon.get('rate', 0) * 8)]
    args += ['limit', str(canon.get('limit', NETEM_LIMIT))]
    return args


def tbf_args(canon):
    rate = canon['bandwidth']
    # the bucket holds 10 ms of the rate, and at least a jumbo frame, so no packet is too big for it
    burst = max(rate // 100, 10000)
    return ['rate', '%dbit' % (rate * 8), 'burst', str(burst), 'latency', TBF_LATENCY]


def _tc_percent(prob):
    return '%.10g%%' % (prob * 100.0 / PROB_MAX)


def _handle(value):
    return '%x:' % (value >> 16)


def tc_commands(netns, ifname, want, have):
    """The tc argument vectors that take an interface from its impairment `have` (as read back: {'canon', 'root'}
    or None) to the canonical `want` (None: no impairment). netns: the node's name (its pin under /run/netns), None
    for the host. The netem qdisc is changed in place whenever its handle stays (same distribution): `tc qdisc
    change` keeps its queue and counters; the token bucket likewise."""
    base = ['tc'] + (['-n', netns] if netns is not None else []) + ['qdisc']
    dev = ['dev', ifname]
    have_canon = (have or {}).get('canon')
    root = (have or {}).get('root')      # (kind, handle) of the root qdisc, or None
    if not want:
        if root is None or root[0] in ('noqueue', None):
            return []
        return [base + ['del'] + dev + ['root']]
    netem, tbf, _parent = handle_of(want)
    h_netem, h_tbf, _h_parent = handle_of(have_canon) if have_canon and (have or {}).get('managed') else (None, None, None)
    commands = []
    if netem is not None:
        verb = 'change' if h_netem == netem else 'replace'
        if verb == 'replace' and root is not None and root[0] == 'netem':
            # another netem qdisc (another distribution, or not the collection's) goes first: the kernel refuses a
            # netem that duplicates beside another netem of the tree ("cannot mix duplicating netems"), and a
            # replace makes the new one before the old one goes
            commands.append(base + ['del'] + dev + ['root'])
            verb = 'add'
        commands.append(base + [verb] + dev + ['root', 'handle', _handle(netem), 'netem'] + netem_args(want))
        if tbf is not None:
            verb = 'change' if (h_netem == netem and h_tbf is not None) else 'add'
            commands.append(base + [verb] + dev + ['parent', '%x:1' % (netem >> 16), 'handle', _handle(tbf), 'tbf'] + tbf_args(want))
        elif h_netem == netem and h_tbf is not None:
            commands.append(base + ['del'] + dev + ['parent', '%x:1' % (netem >> 16), 'handle', _handle(h_tbf)])
    else:
        if h_netem is not None and h_tbf is not None:
            # the token bucket under the netem qdisc goes first: the kernel will not move a qdisc to the root (6.x
            # refuses, older ones move it without its new rate)
            commands.append(base + ['del'] + dev + ['parent', '%x:1' % (h_netem >> 16), 'handle', _handle(h_tbf)])
        verb = 'change' if (h_netem is None and h_tbf == tbf) else 'replace'
        commands.append(base + [verb] + dev + ['root', 'handle', _handle(tbf), 'tbf'] + tbf_args(want))
    return commands


# ---- the kernel's answer ------------------------------------------------------------------------------------

_QOPT = struct.Struct('=IIIIII')        # struct tc_netem_qopt: latency, limit, loss, gap, duplicate, jitter
_ATTR = struct.Struct('=HH')
TCA_NETEM_CORR, TCA_NETEM_REORDER, TCA_NETEM_CORRUPT, TCA_NETEM_LOSS, TCA_NETEM_RATE = 1, 3, 4, 5, 6
TCA_NETEM_RATE64, TCA_NETEM_LATENCY64, TCA_NETEM_JITTER64 = 8, 10, 11
NETEM_LOSS_GE = 2
TCA_TBF_PARMS, TCA_TBF_RATE64 = 1, 4


def _attrs(data, offset=0):
    attrs = {}
    while offset + _ATTR.size <= len(data):
        length, kind = _ATTR.unpack_from(data, offset)
        if length < _ATTR.size:
            break
        attrs[kind & 0x3fff] = data[offset + _ATTR.size:offset + length]
        offset += (length + 3) & ~3
    return attrs


def _u32s(data, count):
    return struct.unpack_from('=%dI' % count, data) if data is not None and len(data) >= 4 * count else None


def decode_netem(options, psched_ns=64):
    """The canonical impairment of a netem qdisc's TCA_OPTIONS (its tc_netem_qopt, then nested attributes); psched_ns:
    nanoseconds per tick of the old 32-bit latency and jitter, used only when the 64-bit ones are missing."""
    latency, limit, loss, gap, duplicate, jitter = _QOPT.unpack_from(options)
    attrs = _attrs(options, _QOPT.size)
    canon = {'limit': limit}
    delay = struct.unpack('=q', attrs[TCA_NETEM_LATENCY64][:8])[0] if TCA_NETEM_LATENCY64 in attrs else latency * psched_ns
    jit = struct.unpack('=q', attrs[TCA_NETEM_JITTER64][:8])[0] if TCA_NETEM_JITTER64 in attrs else jitter * psched_ns
    # to the microsecond, as times are declared: tc before 6.10 sets them in ticks (64 ns), rounded down (1.5ms is
    # 23437 ticks, 1499968 ns)
    delay, jit = _to_us(delay), _to_us(jit)
    corr = _u32s(attrs.get(TCA_NETEM_CORR), 3) or (0, 0, 0)
    for key, value in (('delay', delay), ('jitter', jit), ('loss', loss), ('duplicate', duplicate), ('gap', gap)):
        if value:
            canon[key] = value
    if jit and corr[0]:
        canon['correlation'] = corr[0]
    if loss and corr[1]:
        canon['loss_correlation'] = corr[1]
    if duplicate and corr[2]:
        canon['duplicate_correlation'] = corr[2]
    for key, attr in (('reorder', TCA_NETEM_REORDER), ('corrupt', TCA_NETEM_CORRUPT)):
        pair = _u32s(attrs.get(attr), 2)
        if pair and pair[0]:
            canon[key] = pair[0]
            if pair[1]:
                canon[key + '_correlation'] = pair[1]
    if 'reorder' not in canon:
        canon.pop('gap', None)
    if TCA_NETEM_LOSS in attrs:
        model = _attrs(attrs[TCA_NETEM_LOSS])
        values = _u32s(model.get(NETEM_LOSS_GE), 4)
        if values:
            p, r, h, k1 = values
            canon['gemodel'] = {'p': p, 'r': r, 'loss_bad': PROB_MAX - h, 'loss_good': k1}
    rate = None
    if TCA_NETEM_RATE64 in attrs:
        rate = struct.unpack('=Q', attrs[TCA_NETEM_RATE64][:8])[0]
    elif TCA_NETEM_RATE in attrs:
        rate = _u32s(attrs[TCA_NETEM_RATE], 1)[0]
    if rate:
        canon['rate'] = rate
    return canon


def _to_us(ns):
    return int(round(ns / 1000.0)) * 1000


def decode_tbf(options):
    """The bandwidth (bytes per second) of a tbf qdisc's TCA_OPTIONS."""
    attrs = _attrs(options)
    if TCA_TBF_RATE64 in attrs:
        return struct.unpack('=Q', attrs[TCA_TBF_RATE64][:8])[0]
    parms = attrs.get(TCA_TBF_PARMS)
    # struct tc_tbf_qopt begins with struct tc_ratespec: cell_log, linklayer, overhead, cell_align, mpu, rate
    return struct.unpack_from('=BBHhHI', parms)[5] if parms is not None and len(parms) >= 12 else None


def read_back(qdiscs, psched_ns=64):
    """The impairment of one interface from its qdiscs (dicts with handle, parent, kind, options bytes, as
    rtnl.RawRoute.dump_qdiscs gives them): {'canon': canonical or None, 'managed': whether the root qdisc is the
    collection's, 'root': (kind, handle) of the root qdisc or None}."""
    root = None
    for qdisc in qdiscs:
        if qdisc['parent'] == TC_H_ROOT:
            root = qdisc
    if root is None:
        return {'canon': None, 'managed': False, 'root': None}
    major = root['handle'] >> 16
    out = {'canon': None, 'managed': False, 'root': (root['kind'], root['handle'])}
    if root['kind'] == 'netem' and root['options']:
        canon = decode_netem(root['options'], psched_ns)
        managed = NETEM_MAJOR <= major < NETEM_MAJOR + len(DISTRIBUTIONS)
        if canon.get('jitter'):
            canon['distribution'] = DISTRIBUTIONS[major - NETEM_MAJOR] if managed else 'unknown'
        for qdisc in qdiscs:
            if qdisc['parent'] == root['handle'] | 1 and qdisc['kind'] == 'tbf' and qdisc['options']:
                canon['bandwidth'] = decode_tbf(qdisc['options'])
        out.update(canon=canon, managed=managed)
    elif root['kind'] == 'tbf' and root['options']:
        out.update(canon={'bandwidth': decode_tbf(root['options'])}, managed=major == TBF_MAJOR)
    return out


def transition(netns, ifname, want, prev):
    """The tc argument vectors from one canonical impairment that the collection set (prev, None: none) to another
    (want), without reading the kernel: what a timeline's runner does between its steps."""
    have = None
    if prev:
        netem, tbf, _parent = handle_of(prev)
        have = {'canon': prev, 'managed': True, 'root': ('netem', netem) if netem is not None else ('tbf', tbf)}
    return tc_commands(netns, ifname, want, have)


def interpolate(start, end, fraction):
    """The impairment a fraction (0 to 1) of the way from start to end (canonical; a key of only one of them goes from
    or to nothing): the ramps of a timeline. Counts, the distribution and the loss model come from end."""
    start = start or {}
    end = end or {}
    out = {}
    for key in set(start) | set(end):
        a, b = start.get(key), end.get(key)
        if key in TIME_KEYS or key in PERCENT_KEYS or key in RATE_KEYS:
            value = (a or 0) + ((b or 0) - (a or 0)) * fraction
            value = _to_us(value) if key in TIME_KEYS else int(round(value))
            if value:
                out[key] = value
        elif key == 'gemodel':
            a = a or dict((k, 0) for k in GEMODEL_KEYS)
            b = b or dict((k, 0) for k in GEMODEL_KEYS)
            out[key] = dict((k, int(round(a[k] + (b[k] - a[k]) * fraction))) for k in GEMODEL_KEYS)
        else:
            out[key] = b if b is not None else a
    # one loss model at a time (tc takes no random loss beside a Gilbert-Elliott model): end's
    if 'gemodel' in end:
        out.pop('loss', None)
        out.pop('loss_correlation', None)
    elif 'loss' in end:
        out.pop('gemodel', None)
    # nothing that qualifies a value gone to zero (a gap without a reorder, a distribution without a jitter)
    for key, needed in sorted(NEEDS.items(), key=lambda item: _depth(item[0])):
        if key in out and needed not in out:
            del out[key]
    if 'reorder' in out and 'gap' not in out:
        out['gap'] = REORDER_GAP
    if not uses_netem(out):
        out.pop('limit', None)
    elif 'limit' not in out:
        out['limit'] = NETEM_LIMIT
    return out or None
