# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the pure logic of link impairments (netem.py): values as people write them, the canonical form,
the tc commands of each transition, the kernel's qdisc options decoded from bytes built here the way the kernel
dumps them (net/sched/sch_netem.c netem_dump, sch_tbf.c tbf_dump), words for people, and ramps."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct

import pytest

from ansible_collections.nsforge.linux.plugins.module_utils import netem
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError

MAX = netem.PROB_MAX
OPT = 'links[0].impairment'

# linux/pkt_sched.h
TCA_NETEM_CORR, TCA_NETEM_DELAY_DIST, TCA_NETEM_REORDER, TCA_NETEM_CORRUPT, TCA_NETEM_LOSS = 1, 2, 3, 4, 5
TCA_NETEM_RATE, TCA_NETEM_ECN, TCA_NETEM_RATE64, TCA_NETEM_PAD = 6, 7, 8, 9
TCA_NETEM_LATENCY64, TCA_NETEM_JITTER64, TCA_NETEM_SLOT, TCA_NETEM_PRNG_SEED = 10, 11, 12, 14
NETEM_LOSS_GI, NETEM_LOSS_GE = 1, 2
TCA_TBF_PARMS, TCA_TBF_RTAB, TCA_TBF_RATE64, TCA_TBF_BURST = 1, 2, 4, 6
PSCHED_NS = 64          # ns per tick of the qdisc clock (PSCHED_SHIFT 6)


def attr(kind, value):
    data = struct.pack('=HH', 4 + len(value), kind) + value
    return data + b'\0' * ((-len(data)) % 4)


def prob(percent):
    return netem.prob_of(percent)


def netem_options(latency=0, jitter=0, limit=1000, loss=0, gap=0, duplicate=0, corr=(0, 0, 0), reorder=(0, 0),
                  corrupt=(0, 0), rate=0, ge=None, gi=None, ecn=False, seed=None):
    """The TCA_OPTIONS of a netem qdisc as netem_dump writes them: struct tc_netem_qopt (times in ticks, capped at
    UINT_MAX), the 64-bit times only when the ticks do not tell them exactly, then correlations, reorder, corrupt,
    the rate (64-bit beside a saturated 32-bit one when it does not fit), ECN, the loss model (a nest without the
    NLA_F_NESTED flag, only for a model other than random) and, on newer kernels, the seed of its random numbers."""
    lat_ticks = min(latency // PSCHED_NS, 0xFFFFFFFF)
    jit_ticks = min(jitter // PSCHED_NS, 0xFFFFFFFF)
    data = struct.pack('=IIIIII', lat_ticks, limit, loss, gap, duplicate, jit_ticks)
    if lat_ticks * PSCHED_NS != latency:
        data += attr(TCA_NETEM_LATENCY64, struct.pack('=q', latency))
    if jit_ticks * PSCHED_NS != jitter:
        data += attr(TCA_NETEM_JITTER64, struct.pack('=q', jitter))
    data += attr(TCA_NETEM_CORR, struct.pack('=III', *corr))
    data += attr(TCA_NETEM_REORDER, struct.pack('=II', *reorder))
    data += attr(TCA_NETEM_CORRUPT, struct.pack('=II', *corrupt))
    rate32 = rate
    if rate >= 1 << 32:
        data += attr(TCA_NETEM_RATE64, struct.pack('=Q', rate))
        rate32 = 0xFFFFFFFF
    data += attr(TCA_NETEM_RATE, struct.pack('=IiIi', rate32, 0, 0, 0))
    if ecn:
        data += attr(TCA_NETEM_ECN, struct.pack('=I', 1))
    if ge is not None:
        data += attr(TCA_NETEM_LOSS, attr(NETEM_LOSS_GE, struct.pack('=IIII', *ge)))
    if gi is not None:
        data += attr(TCA_NETEM_LOSS, attr(NETEM_LOSS_GI, struct.pack('=IIIII', *gi)))
    if seed is not None:
        data += attr(TCA_NETEM_PRNG_SEED, struct.pack('=Q', seed))
    return data


def tbf_options(rate, burst=10000, rate64=None):
    """The TCA_OPTIONS of a tbf qdisc as tbf_dump writes them: struct tc_tbf_qopt (a tc_ratespec, a peak one,
    limit, buffer, mtu), the 64-bit rate when it does not fit 32 bits, then the burst."""
    ratespec = struct.pack('=BBHhHI', 0, 1, 0, -1, 0, min(rate, 0xFFFFFFFF))
    peak = struct.pack('=BBHhHI', 0, 0, 0, 0, 0, 0)
    data = attr(TCA_TBF_PARMS, ratespec + peak + struct.pack('=III', 22500, 1250000, 0))
    if rate >= 1 << 32:
        data += attr(TCA_TBF_RATE64, struct.pack('=Q', rate))
    return data + attr(TCA_TBF_BURST, struct.pack('=I', burst))


def fails(value, option, words):
    with pytest.raises(NsforgeError) as err:
        netem.normalize(value, OPT)
    assert err.value.option == option
    assert words in err.value.msg
    return err.value.msg


# ---- values as people write them

@pytest.mark.parametrize('text, ns', [
    ('20ms', 20 * 10 ** 6), ('1.5s', 1500 * 10 ** 6), ('250us', 250000), (' 40 msec ', 40 * 10 ** 6), ('2SEC', 2 * 10 ** 9),
    ('.5ms', 500000), ('1.5ms', 1500000), ('0ms', 0), ('4294967295us', 0xFFFFFFFF * 1000), ('3usec', 3000), ('10secs', 10 ** 10),
])
def test_times(text, ns):
    assert netem.parse_time(text, 'x') == ns


@pytest.mark.parametrize('text, words', [
    ('20', 'expected a time with its unit'), (20, 'expected a time with its unit'), ('20 m', 'with its unit'),
    ('-5ms', 'with its unit'), ('ms', 'with its unit'), ('1.5us', 'whole microseconds'), ('0.0001ms', 'whole microseconds'),
    ('4294967296us', 'too long a time'), (None, 'with its unit'), ('20ns', 'with its unit'),
])
def test_bad_times(text, words):
    with pytest.raises(NsforgeError) as err:
        netem.parse_time(text, 'links[0].impairment.delay')
    assert err.value.option == 'links[0].impairment.delay'
    assert words in err.value.msg


@pytest.mark.parametrize('text, value', [
    ('0%', 0), ('100%', MAX), ('50%', 2147483648), ('1%', 42949673), ('0.1 %', 4294967), ('.5%', 21474836), ('12.5%', 536870912),
])
def test_percentages(text, value):
    assert netem.parse_percent(text, 'x') == value


@pytest.mark.parametrize('text, words', [
    ('1', 'with its sign'), (1, 'with its sign'), (0.5, 'with its sign'), ('1 percent', 'with its sign'), ('-1%', 'with its sign'),
    ('100.01%', 'at most 100%'), ('150%', 'at most 100%'), ('%', 'with its sign'),
])
def test_bad_percentages(text, words):
    with pytest.raises(NsforgeError) as err:
        netem.parse_percent(text, 'o')
    assert words in err.value.msg


def test_percentages_read_back_to_their_decimals():
    for percent in (0.1, 1, 1.5, 20, 33.3333, 99.99, 100):
        assert netem.percent_of(netem.prob_of(percent)) == percent


@pytest.mark.parametrize('text, rate', [
    ('1mbit', 125000), ('10Mbit', 1250000), ('1.5gbit', 187500000), ('64kbit', 8000), ('8bit', 1), ('100 bit', 12),
    ('1tbit', 125000000000), ('2mbits', 250000), ('3mbit/s', 375000), ('100GBIT', 12500000000),
])
def test_rates_are_bits_per_second_kept_as_bytes(text, rate):
    assert netem.parse_rate(text, 'x') == rate


@pytest.mark.parametrize('text, words', [
    ('10mbps', 'bits per second'), ('10Mbps', 'bytes per second'), ('1kibps', 'bytes per second'), ('10 MB/s', 'bytes per second'),
    ('10', 'with its unit'), (10, 'with its unit'), ('10m', 'with its unit'), ('10mibit', 'with its unit'), ('7bit', 'too low a rate'),
    ('0bit', 'too low a rate'), ('fast', 'with its unit'),
])
def test_bad_rates(text, words):
    with pytest.raises(NsforgeError) as err:
        netem.parse_rate(text, 'links[0].impairment.bandwidth')
    assert err.value.option == 'links[0].impairment.bandwidth'
    assert words in err.value.msg


@pytest.mark.parametrize('ns, text', [
    (20 * 10 ** 6, '20ms'), (1500 * 10 ** 6, '1.5s'), (250000, '250us'), (1500000, '1.5ms'), (10 ** 9, '1s'), (1000, '1us'),
    (1234567, '1234.567us'), (0, '0us'), (60 * 10 ** 9, '60s'),
])
def test_time_words(ns, text):
    assert netem.time_text(ns) == text


@pytest.mark.parametrize('rate, text', [
    (125000, '1mbit'), (1250000, '10mbit'), (187500000, '1.5gbit'), (8000, '64kbit'), (1, '8bit'), (12, '96bit'), (125000000000, '1000gbit'),
])
def test_rate_words(rate, text):
    assert netem.rate_text(rate) == text


def test_words_read_back_as_the_same_values():
    for text in ('20ms', '1.5s', '250us', '1.5ms', '40ms'):
        assert netem.time_text(netem.parse_time(text, 'x')) == text
    for text in ('1mbit', '10mbit', '1.5gbit', '64kbit', '8bit'):
        assert netem.rate_text(netem.parse_rate(text, 'x')) == text
    for text in ('1%', '0.1%', '1.5%', '20%', '100%'):
        assert netem.percent_text(netem.parse_percent(text, 'x')) == text


# ---- the declaration

def test_nothing_declared_is_no_impairment():
    assert netem.normalize(None, OPT) is None
    assert netem.normalize({}, OPT) is None
    assert netem.normalize({'delay': None, 'loss': None}, OPT) is None
    # zero is none, and so is what only qualifies it
    assert netem.normalize({'delay': '0ms', 'loss': '0%', 'rate': None}, OPT) is None
    assert netem.normalize({'delay': '0ms', 'jitter': '0ms', 'distribution': 'normal'}, OPT) is None


def test_canonical_form():
    assert netem.normalize({'delay': '40ms', 'jitter': '5ms', 'loss': '1%'}, OPT) == {
        'delay': 40 * 10 ** 6, 'jitter': 5 * 10 ** 6, 'distribution': 'uniform', 'loss': 42949673, 'limit': 1000}
    assert netem.normalize({'bandwidth': '10mbit'}, OPT) == {'bandwidth': 1250000}
    assert netem.normalize({'delay': '20ms', 'bandwidth': '10mbit', 'limit': 50}, OPT) == {
        'delay': 20 * 10 ** 6, 'bandwidth': 1250000, 'limit': 50}
    assert netem.normalize({'delay': '10ms', 'reorder': '25%'}, OPT) == {
        'delay': 10 ** 7, 'reorder': 1073741824, 'gap': 1, 'limit': 1000}
    assert netem.normalize({'delay': '10ms', 'reorder': '25%', 'gap': 5}, OPT)['gap'] == 5
    assert netem.normalize({'gemodel': {'p': '1%'}}, OPT) == {
        'gemodel': {'p': 42949673, 'r': MAX, 'loss_bad': MAX, 'loss_good': 0}, 'limit': 1000}
    assert netem.normalize({'gemodel': {'p': '1%', 'r': None, 'loss_bad': '70%', 'loss_good': None}}, OPT)['gemodel'] == {
        'p': 42949673, 'r': MAX, 'loss_bad': prob(70), 'loss_good': 0}


def test_zero_values_take_what_qualifies_them_along():
    assert netem.normalize({'delay': '10ms', 'jitter': '0ms', 'distribution': 'pareto'}, OPT) == {'delay': 10 ** 7, 'limit': 1000}
    assert netem.normalize({'loss': '0%', 'loss_correlation': '25%', 'duplicate': '1%'}, OPT) == {'duplicate': prob(1), 'limit': 1000}
    assert netem.normalize({'delay': '10ms', 'reorder': '0%', 'reorder_correlation': '5%', 'gap': 3}, OPT) == {'delay': 10 ** 7, 'limit': 1000}
    assert netem.normalize({'delay': '0ms', 'jitter': '0ms', 'correlation': '10%', 'loss': '1%'}, OPT) == {'loss': prob(1), 'limit': 1000}


@pytest.mark.parametrize('value, option, words', [
    ({'jitter': '5ms'}, OPT + '.jitter', 'only with delay'),
    ({'delay': '5ms', 'correlation': '5%'}, OPT + '.correlation', 'only with jitter'),
    ({'delay': '5ms', 'distribution': 'normal'}, OPT + '.distribution', 'only with jitter'),
    ({'loss_correlation': '5%'}, OPT + '.loss_correlation', 'only with loss'),
    ({'duplicate_correlation': '5%'}, OPT + '.duplicate_correlation', 'only with duplicate'),
    ({'corrupt_correlation': '5%'}, OPT + '.corrupt_correlation', 'only with corrupt'),
    ({'delay': '5ms', 'reorder_correlation': '5%'}, OPT + '.reorder_correlation', 'only with reorder'),
    ({'delay': '5ms', 'gap': 5}, OPT + '.gap', 'only with reorder'),
    ({'reorder': '25%'}, OPT + '.reorder', 'only with delay'),
    ({'loss': '1%', 'gemodel': {'p': '1%'}}, OPT + '.gemodel', 'either random (loss) or gemodel'),
    ({'delay': '5ms', 'jitter': '10ms'}, OPT + '.jitter', 'at most the delay (5ms)'),
    ({'bandwidth': '1mbit', 'limit': 50}, OPT + '.limit', "only with one of netem's impairments"),
    ({'limit': 50}, OPT + '.limit', "only with one of netem's impairments"),
    ({'delay': '5ms', 'limit': 0}, OPT + '.limit', 'a whole number of packets'),
    ({'delay': '5ms', 'limit': True}, OPT + '.limit', 'a whole number of packets'),
    ({'delay': '5ms', 'limit': '50'}, OPT + '.limit', 'a whole number of packets'),
    ({'delay': '5ms', 'reorder': '1%', 'gap': -1}, OPT + '.gap', 'a whole number of packets'),
    ({'delay': '5ms', 'jitter': '1ms', 'distribution': 'gauss'}, OPT + '.distribution', 'expected one of uniform, normal'),
    ({'lag': '5ms'}, OPT + '.lag', 'unknown impairment'),
    ({'gemodel': {'r': '1%'}}, OPT + '.gemodel', 'p required'),
    ({'gemodel': '1%'}, OPT + '.gemodel', 'p required'),
    ({'gemodel': {'p': '1%', 'h': '1%'}}, OPT + '.gemodel.h', 'unknown'),
    ({'gemodel': {'p': '1'}}, OPT + '.gemodel.p', 'with its sign'),
    ({'bandwidth': '10mbps'}, OPT + '.bandwidth', 'bytes per second'),
    ({'loss': 1}, OPT + '.loss', 'with its sign'),
    ({'delay': 20}, OPT + '.delay', 'with its unit'),
])
def test_bad_declarations_name_the_option(value, option, words):
    fails(value, option, words)


def test_a_declaration_must_be_a_mapping():
    with pytest.raises(NsforgeError) as err:
        netem.normalize('20ms', OPT)
    assert err.value.option == OPT


def test_handles_tell_the_distribution():
    # (netem's handle, the token bucket's, the token bucket's parent)
    assert netem.handle_of(netem.normalize({'delay': '5ms'}, OPT)) == (0x4e100000, None, 0x4e100001)
    for index, name in enumerate(netem.DISTRIBUTIONS):
        canon = netem.normalize({'delay': '5ms', 'jitter': '1ms', 'distribution': name}, OPT)
        assert netem.handle_of(canon)[0] == (0x4e10 + index) << 16
    assert netem.handle_of(netem.normalize({'bandwidth': '1mbit'}, OPT)) == (None, 0x4e200000, 0xFFFFFFFF)
    assert netem.handle_of(netem.normalize({'loss': '1%', 'bandwidth': '1mbit'}, OPT)) == (0x4e100000, 0x4e200000, 0x4e100001)
    assert netem.handle_of(None) == (None, None, 0xFFFFFFFF)


def test_same_allows_the_rounding_of_tc_only():
    want = netem.normalize({'loss': '1%', 'gemodel': None, 'delay': '5ms'}, OPT)
    assert netem.same(want, dict(want, loss=want['loss'] + 2))
    assert not netem.same(want, dict(want, loss=want['loss'] + 3))
    assert not netem.same(want, dict(want, delay=want['delay'] + 1000))
    assert not netem.same(want, dict(want, limit=999))
    assert not netem.same(want, dict(want, rate=125000))
    model = netem.normalize({'gemodel': {'p': '1%'}}, OPT)
    other = dict(model, gemodel=dict(model['gemodel'], r=model['gemodel']['r'] - 1))
    assert netem.same(model, other)
    assert not netem.same(model, dict(model, gemodel=dict(model['gemodel'], loss_bad=0)))
    assert netem.same(None, {})
    assert not netem.same(None, {'bandwidth': 1})


# ---- tc

def percent_word(word):
    """A percentage of tc's words to 6 decimals (tc is given enough digits to find the same probability again:
    25% is 25.00000001%)."""
    if word.endswith('%') and word[:-1].replace('.', '', 1).replace('e-', '', 1).isdigit():
        return '%g%%' % round(float(word[:-1]), 6)
    return word


def argv_of(commands):
    return [' '.join(percent_word(word) for word in argv) for argv in commands]


def args_text(canon):
    return argv_of([netem.netem_args(canon)])[0]


DELAY = {'delay': '50ms'}
BASE = 'tc -n n1 qdisc '
NETEM_ZEROS = 'corrupt 0% 0% reorder 0% 0% rate 0bit'


def have(decl, managed=True, root=None):
    canon = netem.normalize(decl, OPT) if decl is not None else None
    if root is None and canon:
        netem_h, tbf_h, _parent = netem.handle_of(canon)
        root = ('netem', netem_h) if netem_h is not None else ('tbf', tbf_h)
    return {'canon': canon, 'managed': managed, 'root': root}


def commands(want, before, netns='n1'):
    return argv_of(netem.tc_commands(netns, 'eth0', netem.normalize(want, OPT), before))


def test_netem_args_give_tc_every_value():
    canon = netem.normalize({'delay': '40ms', 'jitter': '5ms', 'correlation': '25%', 'distribution': 'normal', 'loss': '1%',
                             'loss_correlation': '10%', 'duplicate': '2%', 'duplicate_correlation': '30%', 'corrupt': '0.1%',
                             'reorder': '25%', 'reorder_correlation': '50%', 'gap': 5, 'rate': '1mbit', 'limit': 50}, OPT)
    assert args_text(canon) == ('delay 40000us 5000us 25% distribution normal loss random 1% 10% duplicate 2% 30% '
                                'corrupt 0.1% 0% reorder 25% 50% gap 5 rate 1000000bit limit 50')


def test_netem_args_always_set_corrupt_reorder_and_rate():
    # tc sends the kernel only what it is given, and `change` keeps what it is not sent
    assert args_text(netem.normalize(DELAY, OPT)) == 'delay 50000us %s limit 1000' % NETEM_ZEROS
    # and a correlation besides the duplicate's, which tc sends only with another one
    assert args_text(netem.normalize({'duplicate': '2%', 'duplicate_correlation': '30%'}, OPT)).startswith(
        'duplicate 2% 30% corrupt 0% 0% reorder 0% 0%')


def test_netem_args_of_a_gilbert_elliott_model():
    # tc takes p, r, 1-h (the loss in the bad state) and 1-k (the loss in the good one), and turns 1-h into h itself
    canon = netem.normalize({'gemodel': {'p': '1%', 'r': '10%', 'loss_bad': '70%', 'loss_good': '0.1%'}}, OPT)
    args = netem.netem_args(canon)
    assert args[:2] == ['loss', 'gemodel']
    assert [round(float(a.rstrip('%')), 6) for a in args[2:6]] == [1, 10, 70, 0.1]


def test_tbf_args():
    assert netem.tbf_args({'bandwidth': 125000}) == ['rate', '1000000bit', 'burst', '10000', 'latency', '100ms']
    # the bucket holds 10 ms of a fast rate
    assert netem.tbf_args({'bandwidth': 125000000})[3] == '1250000'


def test_from_nothing():
    assert commands(DELAY, None) == [BASE + 'replace dev eth0 root handle 4e10: netem delay 50000us %s limit 1000' % NETEM_ZEROS]
    assert commands({'bandwidth': '1mbit'}, None) == [BASE + 'replace dev eth0 root handle 4e20: tbf rate 1000000bit burst 10000 latency 100ms']
    assert commands({'delay': '5ms', 'bandwidth': '1mbit'}, None) == [
        BASE + 'replace dev eth0 root handle 4e10: netem delay 5000us %s limit 1000' % NETEM_ZEROS,
        BASE + 'add dev eth0 parent 4e10:1 handle 4e20: tbf rate 1000000bit burst 10000 latency 100ms']
    # the kernel's default root qdisc is nothing to remove
    assert commands(None, {'canon': None, 'managed': False, 'root': ('noqueue', 0)}) == []
    assert commands(None, None) == []


def test_the_host_has_no_netns_argument():
    assert argv_of(netem.tc_commands(None, 'veth0', {'bandwidth': 125000}, None)) == [
        'tc qdisc replace dev veth0 root handle 4e20: tbf rate 1000000bit burst 10000 latency 100ms']


def test_changes_in_place_keep_the_handle():
    assert commands({'delay': '30ms'}, have(DELAY)) == [BASE + 'change dev eth0 root handle 4e10: netem delay 30000us %s limit 1000' % NETEM_ZEROS]
    assert commands({'loss': '20%'}, have(DELAY)) == [BASE + 'change dev eth0 root handle 4e10: netem loss random 20%% %s limit 1000' % NETEM_ZEROS]
    assert commands({'bandwidth': '2mbit'}, have({'bandwidth': '1mbit'})) == [
        BASE + 'change dev eth0 root handle 4e20: tbf rate 2000000bit burst 10000 latency 100ms']
    assert commands({'delay': '5ms', 'bandwidth': '2mbit'}, have({'delay': '10ms', 'bandwidth': '1mbit'})) == [
        BASE + 'change dev eth0 root handle 4e10: netem delay 5000us %s limit 1000' % NETEM_ZEROS,
        BASE + 'change dev eth0 parent 4e10:1 handle 4e20: tbf rate 2000000bit burst 10000 latency 100ms']


def test_a_new_distribution_is_a_new_qdisc():
    before = have({'delay': '40ms', 'jitter': '5ms'})
    # the old netem qdisc goes first: the kernel refuses a duplicating netem beside another one in the tree
    assert commands({'delay': '40ms', 'jitter': '5ms', 'distribution': 'normal'}, before) == [
        BASE + 'del dev eth0 root',
        BASE + 'add dev eth0 root handle 4e11: netem delay 40000us 5000us distribution normal %s limit 1000' % NETEM_ZEROS]
    # and the token bucket under the old one goes with it: added again under the new one
    before = have({'delay': '40ms', 'jitter': '5ms', 'bandwidth': '1mbit'})
    assert commands({'delay': '40ms', 'jitter': '5ms', 'distribution': 'pareto', 'bandwidth': '1mbit'}, before)[2] == (
        BASE + 'add dev eth0 parent 4e12:1 handle 4e20: tbf rate 1000000bit burst 10000 latency 100ms')


def test_adding_and_dropping_the_cap_under_netem():
    assert commands({'delay': '5ms', 'bandwidth': '1mbit'}, have({'delay': '5ms'}))[1] == (
        BASE + 'add dev eth0 parent 4e10:1 handle 4e20: tbf rate 1000000bit burst 10000 latency 100ms')
    assert commands({'delay': '5ms'}, have({'delay': '5ms', 'bandwidth': '1mbit'})) == [
        BASE + 'change dev eth0 root handle 4e10: netem delay 5000us %s limit 1000' % NETEM_ZEROS,
        BASE + 'del dev eth0 parent 4e10:1 handle 4e20:']


def test_from_netem_with_a_cap_to_the_cap_alone():
    # the kernel will not move the token bucket from under netem to the root: it goes first
    assert commands({'bandwidth': '1mbit'}, have({'delay': '5ms', 'bandwidth': '1mbit'})) == [
        BASE + 'del dev eth0 parent 4e10:1 handle 4e20:',
        BASE + 'replace dev eth0 root handle 4e20: tbf rate 1000000bit burst 10000 latency 100ms']
    assert commands({'bandwidth': '1mbit'}, have({'delay': '5ms'})) == [
        BASE + 'replace dev eth0 root handle 4e20: tbf rate 1000000bit burst 10000 latency 100ms']
    assert commands(DELAY, have({'bandwidth': '1mbit'})) == [
        BASE + 'replace dev eth0 root handle 4e10: netem delay 50000us %s limit 1000' % NETEM_ZEROS]


def test_removal_deletes_the_root():
    assert commands(None, have(DELAY)) == [BASE + 'del dev eth0 root']
    assert commands(None, have({'bandwidth': '1mbit'}, managed=False, root=('tbf', 0x10000))) == [BASE + 'del dev eth0 root']


def test_a_root_qdisc_of_someone_else_is_replaced_not_changed():
    foreign = have({'bandwidth': '1mbit'}, managed=False, root=('tbf', 0x10000))
    assert commands({'bandwidth': '1mbit'}, foreign) == [BASE + 'replace dev eth0 root handle 4e20: tbf rate 1000000bit burst 10000 latency 100ms']
    foreign = have(DELAY, managed=False, root=('netem', 0x10000))
    assert commands(DELAY, foreign)[0] == BASE + 'del dev eth0 root'
    assert commands(DELAY, foreign)[1].startswith(BASE + 'add dev eth0 root handle 4e10: netem')
    foreign = have({'bandwidth': '1mbit'}, managed=False, root=('htb', 0x10000))
    assert commands(DELAY, foreign)[0].startswith(BASE + 'replace dev eth0 root handle 4e10: netem')


def test_transitions_without_reading_the_kernel():
    def trans(want, prev):
        return argv_of(netem.transition('n1', 'eth0', netem.normalize(want, OPT), netem.normalize(prev, OPT)))
    assert trans(DELAY, None) == commands(DELAY, None)
    assert trans(None, DELAY) == [BASE + 'del dev eth0 root']
    assert trans(None, None) == []
    assert trans({'delay': '30ms'}, DELAY)[0].startswith(BASE + 'change dev eth0 root handle 4e10:')
    assert trans({'bandwidth': '1mbit'}, {'delay': '5ms', 'bandwidth': '2mbit'})[0] == BASE + 'del dev eth0 parent 4e10:1 handle 4e20:'
    assert trans({'bandwidth': '2mbit'}, {'bandwidth': '1mbit'})[0].startswith(BASE + 'change dev eth0 root handle 4e20: tbf')


# ---- the kernel's answer

def test_decode_a_plain_delay():
    assert netem.decode_netem(netem_options(latency=50 * 10 ** 6)) == {'limit': 1000, 'delay': 50 * 10 ** 6}


def test_decode_64_bit_times_and_ticks():
    # 1.5ms is no whole number of ticks: the kernel adds the 64-bit time
    data = netem_options(latency=1500000, jitter=250000)
    attrs = netem._attrs(data, 24)
    assert TCA_NETEM_LATENCY64 in attrs and TCA_NETEM_JITTER64 in attrs
    assert netem.decode_netem(data)['delay'] == 1500000
    # tc before 6.10 sets ticks only, rounded down: 23437 ticks, 1499968 ns, read back to the microsecond
    data = struct.pack('=IIIIII', 23437, 1000, 0, 0, 0, 0) + netem_options()[24:]
    assert netem.decode_netem(data)['delay'] == 1500000
    # a delay beyond the 32-bit ticks
    long_delay = 300 * 10 ** 9
    assert netem.decode_netem(netem_options(latency=long_delay))['delay'] == long_delay


def test_decode_every_probability_with_its_correlation():
    data = netem_options(latency=40 * 10 ** 6, jitter=5 * 10 ** 6, loss=prob(1), duplicate=prob(2), gap=5,
                         corr=(prob(25), prob(10), prob(30)), reorder=(prob(25), prob(50)), corrupt=(prob(0.1), prob(5)))
    assert netem.decode_netem(data) == {
        'limit': 1000, 'delay': 40 * 10 ** 6, 'jitter': 5 * 10 ** 6, 'correlation': prob(25), 'loss': prob(1),
        'loss_correlation': prob(10), 'duplicate': prob(2), 'duplicate_correlation': prob(30), 'reorder': prob(25),
        'reorder_correlation': prob(50), 'gap': 5, 'corrupt': prob(0.1), 'corrupt_correlation': prob(5)}


def test_decode_leaves_out_what_is_zero_or_qualifies_nothing():
    # the kernel keeps correlations (and a gap) of values that are zero: they are no impairment
    data = netem_options(latency=10 ** 7, corr=(prob(25), prob(10), prob(30)), gap=3, reorder=(0, prob(5)), corrupt=(0, prob(5)))
    assert netem.decode_netem(data) == {'limit': 1000, 'delay': 10 ** 7}


def test_decode_rates():
    assert netem.decode_netem(netem_options(rate=125000))['rate'] == 125000
    assert netem.decode_netem(netem_options(rate=12500000000))['rate'] == 12500000000
    assert 'rate' not in netem.decode_netem(netem_options(rate=0))


def test_decode_a_gilbert_elliott_model():
    # the kernel keeps h, the chance not to lose in the bad state
    data = netem_options(ge=(prob(1), prob(10), MAX - prob(70), prob(0.1)))
    assert netem.decode_netem(data) == {'limit': 1000, 'gemodel': {'p': prob(1), 'r': prob(10), 'loss_bad': prob(70), 'loss_good': prob(0.1)}}
    canon = netem.normalize({'gemodel': {'p': '1%', 'r': '10%', 'loss_bad': '70%', 'loss_good': '0.1%'}}, OPT)
    assert netem.same(canon, netem.decode_netem(data))


def test_decode_skips_what_it_does_not_know():
    data = netem_options(latency=10 ** 7, ecn=True, seed=12345, gi=(1, 2, 3, 4, 5))
    assert netem.decode_netem(data) == {'limit': 1000, 'delay': 10 ** 7}
    # a truncated attribute ends the list
    assert netem.decode_netem(netem_options(latency=10 ** 7) + struct.pack('=HH', 2, 99)) == {'limit': 1000, 'delay': 10 ** 7}


def test_every_declaration_reads_back_the_same():
    for decl in ({'delay': '50ms'}, {'delay': '1.5ms', 'jitter': '250us'}, {'loss': '20%', 'loss_correlation': '25%'},
                 {'delay': '10ms', 'reorder': '25%', 'reorder_correlation': '50%'}, {'duplicate': '2%', 'duplicate_correlation': '3%'},
                 {'corrupt': '0.1%', 'corrupt_correlation': '1%'}, {'rate': '1mbit', 'limit': 50}, {'rate': '100gbit'},
                 {'gemodel': {'p': '1%'}}):
        canon = netem.normalize(decl, OPT)
        model = canon.get('gemodel')
        data = netem_options(
            latency=canon.get('delay', 0), jitter=canon.get('jitter', 0), limit=canon['limit'], loss=canon.get('loss', 0),
            gap=canon.get('gap', 0), duplicate=canon.get('duplicate', 0),
            corr=(canon.get('correlation', 0), canon.get('loss_correlation', 0), canon.get('duplicate_correlation', 0)),
            reorder=(canon.get('reorder', 0), canon.get('reorder_correlation', 0)),
            corrupt=(canon.get('corrupt', 0), canon.get('corrupt_correlation', 0)), rate=canon.get('rate', 0),
            ge=(model['p'], model['r'], MAX - model['loss_bad'], model['loss_good']) if model else None)
        back = netem.read_back([qdisc('netem', netem.handle_of(canon)[0], 0xFFFFFFFF, data)])
        assert back['managed'] and netem.same(canon, back['canon']), decl


def test_decode_tbf():
    assert netem.decode_tbf(tbf_options(125000)) == 125000
    assert netem.decode_tbf(tbf_options(12500000000)) == 12500000000
    assert netem.decode_tbf(attr(TCA_TBF_BURST, struct.pack('=I', 1))) is None


def qdisc(kind, handle, parent, options):
    return {'index': 2, 'kind': kind, 'handle': handle, 'parent': parent, 'options': options}


def test_read_back_of_an_interface():
    assert netem.read_back([]) == {'canon': None, 'managed': False, 'root': None}
    assert netem.read_back([qdisc('noqueue', 0, 0xFFFFFFFF, None)]) == {'canon': None, 'managed': False, 'root': ('noqueue', 0)}
    assert netem.read_back([qdisc('tbf', 0x4e200000, 0xFFFFFFFF, tbf_options(125000))]) == {
        'canon': {'bandwidth': 125000}, 'managed': True, 'root': ('tbf', 0x4e200000)}
    assert netem.read_back([qdisc('tbf', 0x10000, 0xFFFFFFFF, tbf_options(125000))])['managed'] is False
    both = netem.read_back([qdisc('netem', 0x4e110000, 0xFFFFFFFF, netem_options(latency=4 * 10 ** 7, jitter=5 * 10 ** 6)),
                            qdisc('tbf', 0x4e200000, 0x4e110001, tbf_options(250000))])
    assert both == {'canon': {'limit': 1000, 'delay': 4 * 10 ** 7, 'jitter': 5 * 10 ** 6, 'distribution': 'normal', 'bandwidth': 250000},
                    'managed': True, 'root': ('netem', 0x4e110000)}
    assert netem.same(netem.normalize({'delay': '40ms', 'jitter': '5ms', 'distribution': 'normal', 'bandwidth': '2mbit'}, OPT), both['canon'])
    # someone else's netem: its distribution cannot be told
    foreign = netem.read_back([qdisc('netem', 0x10000, 0xFFFFFFFF, netem_options(latency=10 ** 7, jitter=10 ** 6))])
    assert foreign['managed'] is False and foreign['canon']['distribution'] == 'unknown'
    # another root qdisc is no impairment
    assert netem.read_back([qdisc('htb', 0x10000, 0xFFFFFFFF, b''), qdisc('pfifo', 0x4e200000, 0x10001, b'')]) == {
        'canon': None, 'managed': False, 'root': ('htb', 0x10000)}


# ---- words

def test_labels():
    def label(decl):
        return netem.label(netem.normalize(decl, OPT))
    assert label(None) is None
    assert label({'delay': '40ms', 'jitter': '5ms', 'loss': '1%'}) == u'40ms \u00b15ms, 1% loss'
    assert label({'delay': '40ms', 'jitter': '5ms', 'distribution': 'normal'}) == u'40ms \u00b15ms normal'
    assert label({'bandwidth': '10mbit'}) == '10mbit'
    assert label({'rate': '1mbit', 'bandwidth': '10mbit'}) == 'rate 1mbit, 10mbit'
    assert label({'gemodel': {'p': '1%', 'r': '10%'}}) == 'burst loss (p 1%, r 10%)'
    assert label({'delay': '5ms', 'duplicate': '1%', 'corrupt': '0.1%', 'reorder': '25%'}) == '5ms, 1% duplicate, 0.1% corrupt, 25% reorder'
    assert netem.label({'limit': 50}) == 'netem'


def test_views_are_declared_text():
    assert netem.view(None) is None
    assert netem.view(netem.normalize({'delay': '40ms', 'jitter': '5ms', 'loss': '1%', 'bandwidth': '10mbit'}, OPT)) == {
        'delay': '40ms', 'jitter': '5ms', 'distribution': 'uniform', 'loss': '1%', 'bandwidth': '10mbit', 'limit': 1000}
    assert netem.view(netem.normalize({'gemodel': {'p': '1%'}, 'rate': '64kbit'}, OPT)) == {
        'gemodel': {'p': '1%', 'r': '100%', 'loss_bad': '100%', 'loss_good': '0%'}, 'rate': '64kbit', 'limit': 1000}


# ---- ramps

def test_interpolate_between_impairments():
    start = netem.normalize({'loss': '0%'}, OPT)
    end = netem.normalize({'loss': '20%'}, OPT)
    assert netem.interpolate(start, end, 0) is None
    assert netem.interpolate(start, end, 0.5) == {'loss': prob(10), 'limit': 1000}
    assert netem.interpolate(start, end, 1) == end
    a = netem.normalize({'delay': '10ms', 'bandwidth': '1mbit'}, OPT)
    b = netem.normalize({'delay': '50ms', 'bandwidth': '3mbit', 'limit': 50}, OPT)
    assert netem.interpolate(a, b, 0.25) == {'delay': 20 * 10 ** 6, 'bandwidth': 187500, 'limit': 50}


def test_interpolated_times_are_whole_microseconds():
    mid = netem.interpolate(None, netem.normalize({'delay': '10ms'}, OPT), 1 / 3.0)
    assert mid['delay'] == 3333000
    assert netem.netem_args(mid)[:2] == ['delay', '3333us']


def test_interpolate_leaves_nothing_tc_refuses():
    # a reorder gone to zero takes its gap along (tc refuses a gap without a reorder)
    start = netem.normalize({'delay': '10ms', 'reorder': '25%', 'gap': 5}, OPT)
    assert netem.interpolate(start, netem.normalize({'delay': '10ms'}, OPT), 1) == {'delay': 10 ** 7, 'limit': 1000}
    # a jitter gone to zero takes its distribution along
    start = netem.normalize({'delay': '10ms', 'jitter': '2ms', 'distribution': 'normal'}, OPT)
    assert netem.interpolate(start, netem.normalize({'delay': '10ms'}, OPT), 1) == {'delay': 10 ** 7, 'limit': 1000}
    # one loss model at a time: end's
    random_loss = netem.normalize({'loss': '10%'}, OPT)
    model = netem.normalize({'gemodel': {'p': '10%'}}, OPT)
    assert set(netem.interpolate(random_loss, model, 0.5)) == {'gemodel', 'limit'}
    assert set(netem.interpolate(model, random_loss, 0.5)) == {'loss', 'limit'}
    # to nothing: no netem left, no queue length
    assert netem.interpolate(netem.normalize({'delay': '10ms', 'bandwidth': '1mbit'}, OPT), None, 1) is None
    assert netem.interpolate(netem.normalize({'delay': '10ms', 'bandwidth': '1mbit'}, OPT), None, 0.5) == {
        'delay': 5 * 10 ** 6, 'bandwidth': 62500, 'limit': 1000}


def test_all_zero_netem_with_its_queue_is_no_impairment():
    # a ramp's end (loss: 0%) carries the queue of its start: no netem qdisc, and no refusal of the limit
    assert netem.normalize({'loss': '0%', 'limit': 1000}, 'ramp') is None
    assert netem.normalize({'loss': '0%', 'limit': 1000, 'bandwidth': '1mbit'}, 'ramp') == {'bandwidth': 125000}
    with pytest.raises(NsforgeError, match=r'^ramp\.limit: '):
        netem.normalize({'limit': 1000}, 'ramp')
