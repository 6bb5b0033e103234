# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Timelines of faults: validation of netns's timeline option, its compilation into events, the runner's resume and
stop (with a fake clock and fake commands), and the records' view."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import json
import os

import pytest

from ansible_collections.nsforge.linux.plugins.module_utils import netem, timeline_records, timeline_runner, timelines
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError

UP = {'state': 'up', 'impairment': None}
DECLARED = {('r1', 'eth1'): dict(UP), ('r2', 'eth1'): dict(UP), ('r2', 'eth2'): {'state': 'down', 'impairment': None},
            ('r3', 'eth1'): {'state': 'up', 'impairment': netem.normalize({'delay': '40ms'}, 'x')}}


def step(**keys):
    out = dict.fromkeys(('link', 'at', 'every', 'for', 'hold', 'state', 'impairment', 'ramp'))
    out.update(keys)
    return out


def tl(*steps, **keys):
    out = {'name': keys.get('name', 'flaps'), 'state': keys.get('state', 'present'), 'steps': list(steps)}
    return out


def compiled(*steps, **keys):
    declared = keys.get('declared', DECLARED)
    return timelines.compile_plan(timelines.validate(tl(*steps), declared, keys.get('single')), declared)


def error(*steps, **keys):
    with pytest.raises(NsforgeError) as info:
        compiled(*steps, **keys)
    return info.value


def ip(node, ifname, state):
    return ['ip', '-n', node, 'link', 'set', 'dev', ifname, state]


# ---- times

@pytest.mark.parametrize('text, ns', [('0s', 0), ('30s', 30 * 10 ** 9), ('1.5s', 1500 * 10 ** 6), ('250ms', 250 * 10 ** 6),
                                      ('10m', 600 * 10 ** 9), ('2 min', 120 * 10 ** 9), ('1h', 3600 * 10 ** 9),
                                      ('100us', 100000)])
def test_durations(text, ns):
    assert timelines.parse_duration(text, 'x') == ns


@pytest.mark.parametrize('text', ['30', 30, '10 days', '-1s', 's', '8d', '200h'])
def test_bad_durations(text):
    with pytest.raises(NsforgeError) as info:
        timelines.parse_duration(text, 'timeline.steps[0].at')
    assert info.value.msg.startswith('timeline.steps[0].at: invalid value %r' % (text,))


@pytest.mark.parametrize('ns, text', [(0, '0s'), (2 * 10 ** 9, '2s'), (600 * 10 ** 9, '10m'), (7200 * 10 ** 9, '2h'),
                                      (1500 * 10 ** 6, '1.5s'), (250 * 10 ** 6, '250ms'), (90 * 10 ** 9, '90s')])
def test_duration_text(ns, text):
    assert timelines.duration_text(ns) == text


# ---- expansion

def test_a_flap_every_6s_for_12s_held_2s():
    plan = compiled(step(link=['r1:eth1'], at='2s', every='6s', hold='2s', state='down', **{'for': '12s'}))
    assert [(e['t'], e['words']) for e in plan['events']] == [
        (2.0, 'r1:eth1 down (step 1, 1 of 2)'),
        (4.0, 'r1:eth1 up (step 1, 1 of 2, end of hold)'),
        (8.0, 'r1:eth1 down (step 1, 2 of 2)'),
        (10.0, 'r1:eth1 up (step 1, 2 of 2, end of hold)'),
        (14.0, 'end: r1:eth1 as declared'),
    ]
    assert [e['argv'] for e in plan['events']] == [[ip('r1', 'eth1', s)] for s in ('down', 'up', 'down', 'up', 'up')]
    assert plan['events'][0]['reset'] == {'r1:eth1': {'clear': [], 'apply': [ip('r1', 'eth1', 'down')]}}
    assert plan['links'] == ['r1:eth1'] and plan['end'] == 14.0
    assert plan['steps'] == ['r1:eth1 down at 2s for 2s, every 6s for 12s']


def test_the_brief_flap_has_30_repetitions():
    plan = compiled(step(link=['r1:eth1'], at='30s', every='20s', hold='5s', state='down', **{'for': '10m'}))
    downs = [e for e in plan['events'] if e['words'].startswith('r1:eth1 down')]
    assert len(downs) == 30 and downs[2]['words'] == 'r1:eth1 down (step 1, 3 of 30)'
    assert downs[-1]['t'] == 30 + 29 * 20
    assert plan['events'][-1]['t'] == 630.0 and len(plan['events']) == 61


def test_hold_goes_back_to_each_links_declared_state():
    plan = compiled(step(link=['r1:eth1', 'r2:eth2'], state='down', hold='1s'))
    assert plan['events'][1]['words'] == 'r1:eth1, r2:eth2 as declared (step 1, end of hold)'
    assert plan['events'][1]['argv'] == [ip('r1', 'eth1', 'up'), ip('r2', 'eth2', 'down')]


def test_a_single_state_without_hold_lasts_until_the_end():
    plan = compiled(step(link=['r1:eth1'], at='1s', state='down'), step(link='r2:eth1', at='5s', state='down', hold='1s'))
    assert [(e['t'], e['argv']) for e in plan['events']] == [
        (1.0, [ip('r1', 'eth1', 'down')]), (5.0, [ip('r2', 'eth1', 'down')]), (6.0, [ip('r2', 'eth1', 'up')]),
        (6.0, [ip('r1', 'eth1', 'up'), ip('r2', 'eth1', 'up')])]


def test_one_interface_alone_names_the_single_node():
    plan = compiled(step(link=['eth1'], state='down'), single='r1')
    assert plan['links'] == ['r1:eth1']


def test_an_impairment_step_changes_in_place_and_goes_back_to_the_declared_one():
    plan = compiled(step(link=['r3:eth1'], at='1s', hold='2s', impairment={'delay': '100ms', 'loss': '5%'}))
    first, back, end = plan['events']
    assert first['words'] == 'r3:eth1 impairment 100ms, 5% loss (step 1)'
    assert first['argv'][0][:9] == ['tc', '-n', 'r3', 'qdisc', 'change', 'dev', 'eth1', 'root', 'handle']
    assert 'loss' in first['argv'][0]
    assert back['words'] == 'r3:eth1 impairment as declared (step 1, end of hold)'
    assert back['argv'] == netem.transition('r3', 'eth1', DECLARED[('r3', 'eth1')]['impairment'],
                                            netem.normalize({'delay': '100ms', 'loss': '5%'}, 'x'))
    # from scratch: the root qdisc deleted (a failure does not matter), then set
    assert back['reset']['r3:eth1']['clear'] == [['tc', '-n', 'r3', 'qdisc', 'del', 'dev', 'eth1', 'root']]
    assert back['reset']['r3:eth1']['apply'] == netem.transition('r3', 'eth1', DECLARED[('r3', 'eth1')]['impairment'], None)
    assert end['t'] == 3.0


def test_an_empty_impairment_removes_the_declared_one_for_a_while():
    plan = compiled(step(link=['r3:eth1'], hold='2s', impairment={}))
    assert plan['events'][0]['argv'] == [['tc', '-n', 'r3', 'qdisc', 'del', 'dev', 'eth1', 'root']]
    assert plan['events'][0]['words'] == 'r3:eth1 impairment none (step 1)'


def test_a_bandwidth_ramp():
    plan = compiled(step(link=['r2:eth1'], impairment={'bandwidth': '1mbit'}, ramp={'bandwidth': '9mbit'}, every='3s',
                         hold='3s', **{'for': '6s'}))
    words = [(e['t'], e['words']) for e in plan['events']]
    assert words == [(0.0, 'r2:eth1 impairment 1mbit (step 1, 1 of 3)'), (3.0, 'r2:eth1 impairment 5mbit (step 1, 2 of 3)'),
                     (6.0, 'r2:eth1 impairment 9mbit (step 1, 3 of 3)'),
                     (9.0, 'r2:eth1 impairment as declared (step 1, end of hold)'), (9.0, 'end: r2:eth1 as declared')]
    verbs = [argv[4] for e in plan['events'] for argv in e['argv']]
    assert verbs == ['replace', 'change', 'change', 'del']   # the end finds nothing more to remove
    assert plan['events'][1]['argv'][0][-6:] == ['rate', '5000000bit', 'burst', '10000', 'latency', '100ms']
    assert plan['steps'] == ['r2:eth1 impairment ramp from 1mbit to 9mbit at 0s, every 3s for 6s, then held 3s']


def test_a_loss_ramp_from_the_declared_impairment_keeps_its_delay():
    plan = compiled(step(link=['r3:eth1'], ramp={'loss': '20%'}, every='10s', **{'for': '5m'}))
    ramp = [e for e in plan['events'] if e['step'] == 0]
    assert len(ramp) == 31
    assert ramp[0]['words'] == 'r3:eth1 impairment 40ms (step 1, 1 of 31)'
    assert ramp[15]['words'] == 'r3:eth1 impairment 40ms, 10% loss (step 1, 16 of 31)'
    assert ramp[-1]['words'] == 'r3:eth1 impairment 40ms, 20% loss (step 1, 31 of 31)' and ramp[-1]['t'] == 300.0
    assert plan['events'][-1]['argv'] == netem.transition('r3', 'eth1', DECLARED[('r3', 'eth1')]['impairment'],
                                                          netem.normalize({'delay': '40ms', 'loss': '20%'}, 'x'))
    assert plan['steps'] == ['r3:eth1 impairment ramp from the declared one to 40ms, 20% loss at 0s, every 10s for 5m']


def test_a_ramp_that_does_not_divide_ends_at_its_end():
    plan = compiled(step(link=['r1:eth1'], ramp={'bandwidth': '10mbit'}, every='4s', **{'for': '10s'}))
    assert [e['t'] for e in plan['events'] if e['step'] == 0] == [0.0, 4.0, 8.0, 10.0]
    # from nothing: the first point has no bandwidth yet
    assert plan['events'][0]['words'] == 'r1:eth1 impairment none (step 1, 1 of 4)' and plan['events'][0]['argv'] == []


def test_steps_on_one_link_follow_each_other():
    plan = compiled(step(link=['r1:eth1'], impairment={'bandwidth': '2mbit'}),
                    step(link=['r1:eth1'], at='1s', impairment={'bandwidth': '4mbit'}))
    assert [argv[4] for e in plan['events'] for argv in e['argv']] == ['replace', 'change', 'del']


def test_events_at_the_same_time_keep_the_steps_order():
    plan = compiled(step(link=['r1:eth1'], at='1s', state='down'), step(link=['r1:eth1'], at='1s', state='up'))
    assert [e['words'] for e in plan['events']][:2] == ['r1:eth1 down (step 1)', 'r1:eth1 up (step 2)']


def test_the_hash_tells_plans_apart():
    one = compiled(step(link=['r1:eth1'], at='1s', state='down'))
    assert one['hash'] == compiled(step(link=['r1:eth1'], at='1s', state='down'))['hash']
    assert one['hash'] != compiled(step(link=['r1:eth1'], at='2s', state='down'))['hash']
    declared = dict(DECLARED)
    declared[('r1', 'eth1')] = {'state': 'down', 'impairment': None}
    assert one['hash'] != compiled(step(link=['r1:eth1'], at='1s', state='down'), declared=declared)['hash']


def test_declared_links_of_a_task():
    decls = [{'name': 'r1', 'state': 'present', 'links': [
        {'name': 'eth1', 'state': 'down', 'impairment': {'delay': 1}, 'peer': {'name': 'p1', 'netns': 'r2'}},
        {'name': 'eth2', 'state': 'up', 'peer': {'name': 'h2', 'netns': None}}]},
        {'name': 'r9', 'state': 'absent', 'links': []}]
    up = dict(UP, after_up=[])
    assert timelines.declared_links(decls) == {
        ('r1', 'eth1'): {'state': 'down', 'impairment': {'delay': 1}, 'after_up': []}, ('r2', 'p1'): up, ('r1', 'eth2'): up}


def test_an_interface_that_comes_up_gets_its_addresses_and_routes_back():
    # the kernel flushes an interface's IPv6 addresses and the routes through it when it goes down
    route = {'family': 4, 'dst': '10.9.0.0/16', 'gateway': '10.0.0.2', 'dev': None, 'metric': 0, 'table': 254}
    other = dict(route, dst='10.8.0.0/16', gateway='10.7.0.1')
    by_dev = {'family': 6, 'dst': 'fd09::/64', 'gateway': None, 'dev': 'eth1', 'metric': 1024, 'table': 254}
    decls = [{'name': 'r1', 'state': 'present', 'routes': [route, other, by_dev], 'links': [
        {'name': 'eth1', 'state': 'up', 'addresses': ['10.0.0.1/30', 'fd00::1/64'],
         'peer': {'name': 'eth1', 'netns': 'r2', 'addresses': ['10.0.0.2/30']}}]},
        {'name': 'r2', 'state': 'present', 'links': [], 'routes': [dict(route, dst='10.1.0.0/16', gateway='10.0.0.1')]}]
    found = timelines.declared_links(decls)
    assert found[('r1', 'eth1')]['after_up'] == [
        ['ip', '-n', 'r1', 'addr', 'replace', '10.0.0.1/30', 'dev', 'eth1'],
        ['ip', '-n', 'r1', 'addr', 'replace', 'fd00::1/64', 'dev', 'eth1', 'nodad'],
        ['ip', '-n', 'r1', '-4', 'route', 'replace', '10.9.0.0/16', 'via', '10.0.0.2', 'dev', 'eth1', 'metric', '0', 'table', '254',
         'proto', 'static'],
        ['ip', '-n', 'r1', '-6', 'route', 'replace', 'fd09::/64', 'dev', 'eth1', 'metric', '1024', 'table', '254', 'proto', 'static']]
    assert found[('r2', 'eth1')]['after_up'][-1][:8] == ['ip', '-n', 'r2', '-4', 'route', 'replace', '10.1.0.0/16', 'via']
    plan = timelines.compile_plan(timelines.validate(
        {'name': 't', 'state': 'present', 'steps': [step(link=['r1:eth1'], at='1s', state='down', hold='1s')]}, found), found)
    up = [e for e in plan['events'] if e['words'].startswith('r1:eth1 up')][0]
    assert up['argv'][0] == ['ip', '-n', 'r1', 'link', 'set', 'dev', 'eth1', 'up']
    assert up['argv'][1:] == found[('r1', 'eth1')]['after_up']


# ---- errors

@pytest.mark.parametrize('keys, option, why', [
    (dict(link=['r9:eth1'], state='down'), 'timeline.steps[0].link', 'no interface eth1 declared in node r9 by this task'),
    (dict(link=['eth1'], state='down'), 'timeline.steps[0].link', 'expected NODE:IFNAME'),
    (dict(link=['r1:eth1'], state='down', impairment={'delay': '1ms'}), 'timeline.steps[0].state', 'not both'),
    (dict(link=['r1:eth1']), 'timeline.steps[0]', 'one of state, impairment or ramp'),
    (dict(link=['r1:eth1'], state='down', every='1s'), 'timeline.steps[0].every', 'needs for'),
    (dict(link=['r1:eth1'], state='down', **{'for': '1m'}), 'timeline.steps[0].for', 'only with every'),
    (dict(link=['r1:eth1'], state='down', every='5s', **{'for': '1m'}), 'timeline.steps[0].every', 'needs hold'),
    (dict(link=['r1:eth1'], state='down', every='5s', hold='5s', **{'for': '1m'}), 'timeline.steps[0].hold',
     'shorter than every'),
    (dict(link=['r1:eth1'], ramp={'loss': '20%'}), 'timeline.steps[0].ramp', 'needs every and for'),
    (dict(link=['r1:eth1'], ramp={'loss': '20%'}, every='1s'), 'timeline.steps[0].every', 'needs for'),
    (dict(link=['r1:eth1'], ramp={}, every='1s', **{'for': '5s'}), 'timeline.steps[0].ramp', 'expected the impairment'),
    (dict(link=['r1:eth1'], ramp={'loss': '120%'}, every='1s', **{'for': '5s'}), 'timeline.steps[0].ramp.loss', 'at most 100%'),
    (dict(link=['r1:eth1'], ramp={'jitter': '5ms'}, every='1s', **{'for': '5s'}), 'timeline.steps[0].ramp.jitter', 'only with delay'),
    (dict(link=['r1:eth1'], impairment={'delay': 'soon'}), 'timeline.steps[0].impairment.delay', 'expected a time'),
    (dict(link=['r1:eth1'], state='sideways'), 'timeline.steps[0].state', 'expected down or up'),
    (dict(link=['r1:eth1'], state='down', at='30'), 'timeline.steps[0].at', 'with its unit'),
    (dict(link=['r1:eth1'], state='down', hold='0s'), 'timeline.steps[0].hold', 'above zero'),
    (dict(link=['r1:eth1'], state='down', every='1ms', hold='500us', **{'for': '1h'}), 'timeline.steps[0].every',
     'more than 10000 events'),
])
def test_errors_name_the_option(keys, option, why):
    exc = error(step(**keys))
    assert exc.option == option, exc.msg
    assert exc.msg.startswith(option + ': invalid value') and why in exc.msg, exc.msg


def test_a_ramp_of_jitter_over_a_declared_delay_is_fine():
    plan = compiled(step(link=['r3:eth1'], ramp={'jitter': '10ms'}, every='1s', **{'for': '2s'}))
    assert plan['events'][2]['words'] == 'r3:eth1 impairment 40ms \u00b110ms (step 1, 3 of 3)'


def test_the_brief_example_message():
    exc = error(step(link=['r1:eth1'], state='down'), step(link=['r9:eth1'], state='down'))
    assert exc.msg == "timeline.steps[1].link: invalid value 'r9:eth1': no interface eth1 declared in node r9 by this task"


def test_a_node_declared_absent():
    with pytest.raises(NsforgeError) as info:
        timelines.validate(tl(step(link=['r2:eth1'], state='down')), DECLARED, None, {'r2'})
    assert 'node r2 is declared absent in this task' in info.value.msg


def test_names_and_steps():
    with pytest.raises(NsforgeError) as info:
        timelines.validate(tl(name='a/b'), DECLARED)
    assert info.value.option == 'timeline.name'
    with pytest.raises(NsforgeError) as info:
        timelines.validate(tl(), DECLARED)
    assert info.value.option == 'timeline.steps'
    assert timelines.validate(tl(state='absent'), DECLARED) == {'name': 'flaps', 'state': 'absent', 'steps': []}


def test_what_the_kernel_must_have():
    timeline = timelines.validate(tl(step(link=['r1:eth1'], state='down'),
                                     step(link=['r1:eth1'], impairment={'bandwidth': '1mbit'}),
                                     step(link=['r2:eth1'], impairment={'delay': '10ms', 'bandwidth': '1mbit'}),
                                     step(link=['r3:eth1'], ramp={'loss': '1%'}, every='1s', **{'for': '2s'})), DECLARED)
    assert timelines.needs(timeline) == [('netem', 'timeline.steps[2].impairment.delay', '10ms'),
                                         ('tbf', 'timeline.steps[1].impairment.bandwidth', '1mbit')]
    timeline = timelines.validate(tl(step(link=['r3:eth1'], ramp={'loss': '1%'}, every='1s', **{'for': '2s'})), DECLARED)
    assert timelines.needs(timeline) == [('netem', 'timeline.steps[0].ramp.loss', '1%')]
    timeline = timelines.validate(tl(step(link=['r1:eth1'], state='down')), DECLARED)
    assert timelines.needs(timeline) == []


# ---- the runner

def test_the_runner_is_standalone():
    path = timeline_runner.__file__
    with open(path) as handle:
        tree = ast.parse(handle.read())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split('.')[0])
    assert imported <= {'__future__', 'json', 'os', 'select', 'signal', 'sys', 'time'}


class FakeRunner(timeline_runner.Runner):
    """A runner whose commands are recorded and whose clock is fake: sleeping moves the clock."""

    def __init__(self, plan_path, clock, stop_at=None):
        timeline_runner.Runner.__init__(self, plan_path)
        self.clock = clock
        self.ran = []
        self.stop_at = stop_at

    def install_signals(self):
        pass

    def run(self, argv, quiet=False):
        self.ran.append((round(self.clock[0] - self.started, 3), argv))
        return True

    def sleep_until(self, when):
        if self.stop_at is not None and when - self.started > self.stop_at:
            self.clock[0] = self.started + self.stop_at
            self.stop_requested = True
            return True
        self.clock[0] = max(self.clock[0], when)
        return False


@pytest.fixture
def fake_time(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(timeline_runner.time, 'time', lambda: clock[0])
    return clock


def write_plan(tmp_path, plan, started):
    path = str(tmp_path / ('%s.plan' % plan['name']))
    with open(path, 'w') as handle:
        json.dump(dict(plan, started=started), handle)
    return path


FLAP = dict(link=['r1:eth1'], at='2s', every='6s', hold='2s', state='down', **{'for': '12s'})


def test_the_runner_runs_every_event_at_its_time(tmp_path, fake_time):
    plan = compiled(step(**FLAP))
    runner = FakeRunner(write_plan(tmp_path, plan, 1000.0), fake_time)
    assert runner.main() == 0
    assert runner.ran == [(2.0, ip('r1', 'eth1', 'down')), (4.0, ip('r1', 'eth1', 'up')), (8.0, ip('r1', 'eth1', 'down')),
                          (10.0, ip('r1', 'eth1', 'up')), (14.0, ip('r1', 'eth1', 'up'))]
    with open(str(tmp_path / 'flaps.status')) as handle:
        status = json.load(handle)
    assert status['state'] == 'finished' and status['done'] == status['total'] == 5 and status['next'] is None
    assert status['current'] == 'end: r1:eth1 as declared' and status['hash'] == plan['hash']


def test_the_runner_resumes_at_the_clock(tmp_path, fake_time):
    plan = compiled(step(**FLAP), step(link=['r2:eth1'], impairment={'bandwidth': '1mbit'}, ramp={'bandwidth': '9mbit'},
                                       every='3s', **{'for': '6s'}))
    fake_time[0] = 1000.0 + 8.5      # died after 3s and 4s and 6s; 8s is within the grace
    runner = FakeRunner(write_plan(tmp_path, plan, 1000.0), fake_time)
    runner.main()
    first = [argv for t, argv in runner.ran if t == 8.5]
    # each interface as the latest missed event left it: r1 up (end of the first hold), r2 at 9mbit, from scratch;
    # then the event of 8s, late within the grace
    assert first[0] == ip('r1', 'eth1', 'up')
    assert first[1] == ['tc', '-n', 'r2', 'qdisc', 'del', 'dev', 'eth1', 'root']
    assert first[2][4] == 'replace' and '9000000bit' in first[2]
    assert first[3:] == [ip('r1', 'eth1', 'down')]
    assert [(t, argv) for t, argv in runner.ran if t > 8.5] == [
        (10.0, ip('r1', 'eth1', 'up')), (14.0, ip('r1', 'eth1', 'up')),
        (14.0, ['tc', '-n', 'r2', 'qdisc', 'del', 'dev', 'eth1', 'root'])]
    assert runner.done == 8


def test_a_runner_started_after_the_end_sets_back_and_finishes(tmp_path, fake_time):
    plan = compiled(step(**FLAP))
    fake_time[0] = 1000.0 + 100
    runner = FakeRunner(write_plan(tmp_path, plan, 1000.0), fake_time)
    runner.main()
    assert runner.ran == [(100.0, ip('r1', 'eth1', 'up'))]
    with open(str(tmp_path / 'flaps.status')) as handle:
        assert json.load(handle)['state'] == 'finished'


def test_a_stopped_runner_sets_back(tmp_path, fake_time):
    plan = compiled(step(**FLAP))
    runner = FakeRunner(write_plan(tmp_path, plan, 1000.0), fake_time, stop_at=9.0)
    assert runner.main() == 0
    assert runner.ran[-1] == (9.0, ip('r1', 'eth1', 'up')) and len(runner.ran) == 4
    with open(str(tmp_path / 'flaps.status')) as handle:
        status = json.load(handle)
    assert status['state'] == 'stopped' and status['done'] == 3 and status['ended'] == 1009.0


# ---- records

def test_state_of_records(monkeypatch):
    monkeypatch.setattr(timeline_records, 'alive', lambda status: bool(status and status.get('pid') == 7))
    plan = {'hash': 'a'}
    assert timeline_records.state_of(None, None) is None
    assert timeline_records.state_of(plan, None) == 'died'
    assert timeline_records.state_of(plan, {'hash': 'a', 'pid': 7, 'state': 'running'}) == 'running'
    assert timeline_records.state_of(plan, {'hash': 'a', 'pid': 8, 'state': 'running'}) == 'died'
    assert timeline_records.state_of(plan, {'hash': 'b', 'pid': 7, 'state': 'running'}) == 'died'
    assert timeline_records.state_of(plan, {'hash': 'a', 'pid': 8, 'state': 'finished'}) == 'finished'
    assert timeline_records.state_of(plan, {'hash': 'a', 'pid': 8, 'state': 'stopped'}) == 'stopped'


def test_alive_checks_the_start_time():
    mine = timeline_runner.start_time(os.getpid())
    assert timeline_records.alive({'pid': os.getpid(), 'start_time': mine})
    assert not timeline_records.alive({'pid': os.getpid(), 'start_time': mine + 1})
    assert not timeline_records.alive({'pid': None})


def test_the_runner_source_is_the_file():
    with open(timeline_runner.__file__) as handle:
        assert timeline_records.runner_source() == handle.read()


def test_the_runner_runs_commands_without_a_shell():
    env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin')}
    assert timeline_runner.run_argv(['true'], env, 5) == (0, '')
    code, err = timeline_runner.run_argv(['ls', '/nonexistent-nsforge'], env, 5)
    assert code != 0 and 'nonexistent-nsforge' in err
    code, err = timeline_runner.run_argv(['no-such-program-nsforge'], env, 5)
    assert code == 127 and 'cannot run no-such-program-nsforge' in err
    assert timeline_runner.run_argv(['sleep', '10'], env, 0.2)[0] == 128 + 9


def test_the_declared_reset_of_a_plan_follows_the_new_declaration():
    plan = compiled(step(link=['r1:eth1'], state='down'), step(link=['r3:eth1'], impairment={'delay': '10ms'}))
    declared = dict(DECLARED)
    declared[('r1', 'eth1')] = {'state': 'down', 'impairment': None}
    declared[('r3', 'eth1')] = {'state': 'up', 'impairment': netem.normalize({'bandwidth': '1mbit'}, 'x')}
    resets = timelines.declared_reset(plan, declared)
    assert resets['r1:eth1'] == {'clear': [], 'apply': [ip('r1', 'eth1', 'down')]}
    assert resets['r3:eth1']['clear'] == [['tc', '-n', 'r3', 'qdisc', 'del', 'dev', 'eth1', 'root']]
    assert resets['r3:eth1']['apply'] == netem.transition('r3', 'eth1', declared[('r3', 'eth1')]['impairment'], None)
    del declared[('r1', 'eth1')]
    assert sorted(timelines.declared_reset(plan, declared)) == ['r3:eth1']
