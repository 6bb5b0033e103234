# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""netns: a task's timeline of faults, as Changes of the task's change list (so check mode, diff, changed and undo
are those of every change).

prepare() validates the `timeline` option against the interfaces the task declares and compiles its plan
(timelines), refusing before anything changes a step that this kernel cannot carry (no netem). TimelinePlan then
compares the plan with the timeline's records (timeline_records): a new or changed timeline (another plan hash)
starts, after its old runner stopped; the same one, running or finished, changes nothing; one whose runner died (or
was stopped) before its end is resumed at the clock's offset; state absent stops it and removes its records; a node
declared absent stops the timelines that drive it and removes their records.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import time

from ansible_collections.nsforge.linux.plugins.module_utils import timeline_records as records
from ansible_collections.nsforge.linux.plugins.module_utils import timelines
from ansible_collections.nsforge.linux.plugins.module_utils.changes import Change
from ansible_collections.nsforge.linux.plugins.module_utils.errors import bad_option

PH_TIMELINE_STOP = -1      # before the nodes' own changes: a node declared absent goes after its timelines stopped
PH_TIMELINE = 50           # after the nodes' changes (the interfaces exist as declared), before persistence (100)
NO_QDISC = {
    'netem': "this host's kernel has no netem queueing discipline (CONFIG_NET_SCH_NETEM, module sch_netem), which every "
             'impairment but bandwidth needs',
    'tbf': "this host's kernel has no tbf queueing discipline (CONFIG_NET_SCH_TBF, module sch_tbf), which a bandwidth "
           'cap needs',
}


def prepare(params, decls):
    """The task's timeline validated and compiled: {'timeline': timelines.validate(), 'plan': compile_plan() or None
    for state absent}; None without the option."""
    raw = params.get('timeline')
    if raw is None:
        return None
    declared = timelines.declared_links(decls)
    single = decls[0]['name'] if params.get('namespaces') is None and decls else None
    absent = set(d['name'] for d in decls if d['state'] == 'absent')
    timeline = timelines.validate(raw, declared, single, absent)
    if timeline['state'] == 'absent':
        return {'timeline': timeline, 'plan': None}
    for kind, option, value in timelines.needs(timeline):
        if not records.qdisc_available(kind):
            raise bad_option(option, value, NO_QDISC[kind])
    return {'timeline': timeline, 'plan': timelines.compile_plan(timeline, declared)}


def locked(prepared):
    """The lock of the task's timeline, for the whole task (a with block)."""
    if prepared is None:
        return contextlib.nullcontext()
    return records.locked(prepared['timeline']['name'])


def _text(name, plan, state):
    if plan is None or state is None:
        return 'name: %s\nstate: absent\n' % name
    lines = ['name: %s' % name, 'state: %s' % state, 'steps:'] + ['  - %s' % words for words in plan.get('steps', [])]
    return '\n'.join(lines) + '\n'


class TimelinePlan:
    """The Changes of a task's timeline (changes), its diff entries (diffs), its result (result()), and the
    interfaces that running timelines go on driving after the task (driven: netns's planner leaves their state and
    impairment alone)."""

    def __init__(self, prepared, decls):
        self.prepared = prepared
        self.changes = []
        self.diffs = []
        self.released = set()
        own = prepared['timeline']['name'] if prepared else None
        absent = sorted(d['name'] for d in decls if d['state'] == 'absent')
        found = {}
        for node in absent:
            for name in records.timelines_driving(node):
                found.setdefault(name, node)
        for name, node in sorted(found.items()):
            if name != own:
                self._remove(name, 'it drives node %s, declared absent' % node, lock=True)
        if prepared is not None:
            self._own(prepared)
        self.driven = records.driven_links() - self.released

    def add(self, phase, description, apply, undo=None):
        self.changes.append(Change(description, apply, undo, phase))

    # ---- the task's own timeline
    def _own(self, prepared):
        timeline, new = prepared['timeline'], prepared['plan']
        name = timeline['name']
        old, status = records.read_plan(name), records.read_status(name)
        state = records.state_of(old, status)
        self.before = _text(name, old, state)
        if timeline['state'] == 'absent':
            self.after = _text(name, None, None)
            if old is not None:
                self._remove(name, 'state=absent', lock=False)
        elif old is not None and old.get('hash') == new['hash']:
            if state in (records.RUNNING, records.FINISHED):
                self.after = self.before
            else:
                self.after = _text(name, old, records.RUNNING)
                self.released |= timelines.driven_of(old)
                where = ('its runner (pid %s) died after event %s of %s' % (status.get('pid'), status.get('done'), status.get('total'))
                         if status and state == records.DIED else 'its runner was %s' % ('stopped' if state == records.STOPPED else 'never seen'))
                self.add(PH_TIMELINE, 'timeline %s: resume at the clock (%s)' % (name, where),
                         lambda: self._resume(old), lambda: self._stop(name))
        else:
            self.after = _text(name, new, records.RUNNING)
            if old is not None:
                self.released |= timelines.driven_of(old)
                words = 'restart: its plan changed (the old one %s)' % state
            else:
                words = 'start'
            description = 'timeline %s: %s, %d events over %s: %s' % (
                name, words, len(new['events']), timelines.duration_text(int(round(new['end'] * 1e9))), '; '.join(new['steps']))
            self.add(PH_TIMELINE, description,
                     lambda: self._start(new, old, status), lambda: self._undo_start(name, old, status, state))
        self.diffs.append({'before_header': 'timeline %s' % name, 'after_header': 'timeline %s' % name,
                           'before': self.before, 'after': self.after})

    def _start(self, new, old, status):
        name = new['name']
        was = None
        if old is not None:
            was = records.state_of(old, status)
            records.stop(old, status)
        records.remove(name)
        plan = dict(new, started=round(time.time(), 3))
        if was in (records.RUNNING, records.DIED):
            # the interfaces as the new declaration has them, whatever the old runner left
            records.set_back(plan)
        records.write_plan(plan)
        records.launch(plan)

    def _undo_start(self, name, old, status, state):
        self._stop(name)
        records.remove(name)
        if old is not None:
            records.write_plan(old)
            records.write_status(name, status)
            if state in (records.RUNNING, records.DIED):
                records.launch(old)

    def _resume(self, plan):
        records.launch(plan)

    def _stop(self, name):
        plan = records.read_plan(name)
        if plan is not None:
            records.stop(plan, records.read_status(name))

    # ---- removal: state=absent, or a node declared absent
    def _remove(self, name, why, lock):
        plan, status = records.read_plan(name), records.read_status(name)
        if plan is None:
            return
        state = records.state_of(plan, status)
        self.released |= timelines.driven_of(plan)
        verb = 'stop and remove' if state in (records.RUNNING, records.DIED) else 'remove its records (%s)' % state
        if state == records.RUNNING:
            verb += ' (runner pid %s)' % status['pid']

        def apply():
            with records.locked(name) if lock else contextlib.nullcontext():
                records.stop(records.read_plan(name) or plan, records.read_status(name))
                records.remove(name)

        def undo():
            records.write_plan(plan)
            records.write_status(name, status)
            if state in (records.RUNNING, records.DIED):
                records.launch(plan)
        self.add(PH_TIMELINE_STOP, 'timeline %s: %s: %s' % (name, verb, why), apply, undo)

    # ---- the result
    def result(self):
        """The result's timeline: the task's timeline as its records tell after the task (before it, in check
        mode), with the declared steps in words."""
        if self.prepared is None:
            return None
        timeline, new = self.prepared['timeline'], self.prepared['plan']
        name = timeline['name']
        plan, status = records.read_plan(name), records.read_status(name)
        state = records.state_of(plan, status)
        status = status or {}
        same = plan is not None and new is not None and plan.get('hash') == new['hash']
        return {
            'name': name,
            'state': state or 'absent',
            'pid': status.get('pid') if state == records.RUNNING else None,
            'started': plan.get('started') if plan else None,
            'steps': new['steps'] if new else [],
            'events': len(new['events']) if new else 0,
            'done': status.get('done', 0) if same else 0,
            'current': status.get('current') if same else None,
            'next': status.get('next') if same and state == records.RUNNING else None,
            'next_at': status.get('next_at') if same and state == records.RUNNING else None,
        }
