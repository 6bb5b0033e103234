# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""nsproc: the task, one state machine for every supervisor.

converge() validates the declaration (nsproc_options), takes the service's lock, reads its record
(nsproc_records), and decides what must happen to the service: start it, restart it (its configuration
changed, or state=restarted), run a one-shot command, stop it, record it as stopped, forget it. A supervisor
(supervisors.py: builtin or systemd) turns each of those steps into Changes, adds its own files (a unit) and says
how the service's processes start and stop; the change list gives check mode, diff, changed and undo, and the
same views answer for both.

A supervisor has: check(params, cfg, record), which refuses what it cannot do before anything changes;
accept(ctx, intents), the intents it acts on; steps(ctx, intents) -> (changes, changes to come last, an action to
run once the lock is released or None); files(ctx) -> (changes, diffs) of its own files (a unit); undo_outside(ctx),
after a failed action; unit(ctx, check_mode), the result's unit.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nsforge.linux.plugins.module_utils.changes import Change, run, undo_all
from ansible_collections.nsforge.linux.plugins.module_utils.persist import merge_diff
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError
from ansible_collections.nsforge.linux.plugins.module_utils.names import check_name
from ansible_collections.nsforge.linux.plugins.module_utils.nsproc_options import (
    config_hash, public_config, stop_signal, validate)
from ansible_collections.nsforge.linux.plugins.module_utils.nsproc_records import (
    alive, last_exit, locked, read_record, status_of, view)


class Context:
    """What the supervisor's steps work on: the declaration, the record before, and the record as it goes."""

    def __init__(self, params, cfg, record):
        self.params = params
        self.cfg = cfg
        self.name = params['name']
        self.state = params['state']
        self.label = 'service %s' % self.name
        self.record = record                  # as read before the task
        self.holder = {'record': record}      # as the task's steps leave it
        self.signal = cfg['stop_signal'] if cfg else stop_signal(params.get('stop_signal'))
        self.stop_timeout = params.get('stop_timeout') or 0
        self.install_only = bool(params.get('install_only'))
        self.take_over = False                # set by a supervisor that takes over a service started by another
        self.batch = None                     # a task of many services: where a start hands its second half
        self.revertible = False               # a start from not running, which a later item's failure undoes


def intents(ctx, running):
    """What must happen to the service, as (step, detail) pairs in order: ('take_over',), ('stop', why),
    ('start', why), ('restart', why), ('run', None), ('mark_stopped', None), ('cleanup', None), ('forget', None)."""
    cfg, record, state = ctx.cfg, ctx.record, ctx.state
    out = []
    if state == 'started':
        if cfg['type'] == 'oneshot':
            done = record is not None and record.get('type') == 'oneshot' and record.get('exit_code') == 0 \
                and record.get('config_hash') == config_hash(cfg)
            if not done:
                out.append(('run', None))
        elif running:
            if record.get('config_hash') != config_hash(cfg) and ctx.params.get('restart_on_change', True):
                out.append(('restart', 'changed'))
        else:
            ended = last_exit(record)
            if ended is not None and ended['exit_code'] is not None:
                signalled = '' if ended['exit_signal'] is None else ', signal %d' % ended['exit_signal']
                why = ' (it exited with code %d%s)' % (ended['exit_code'], signalled)
            else:
                why = '' if record is None else ' (it was %s)' % status_of(record)
            out.append(('start', why))
    elif state == 'restarted':
        out.append(('restart', 'restarted') if running else ('run' if cfg['type'] == 'oneshot' else 'start', ''))
    elif state == 'stopped':
        if running:
            out += [('stop', None), ('mark_stopped', None)]
    elif state == 'absent':
        if running:
            out.append(('stop', None))
        elif record is not None and record.get('cgroups'):
            out.append(('cleanup', None))
        if record is not None:
            out.append(('forget', None))
    return out


class Item:
    """One service's declaration through the task: planned under its lock, applied, then answered for."""

    def __init__(self, params, supervisor, prefix=''):
        self.params = params
        self.supervisor = supervisor
        self.prefix = prefix
        self.name = check_name(params['name'], 'name')
        self.state = params['state']
        self.ctx = self.record = None
        self.plan = []
        self.descriptions = []
        self.outside = None
        self.file_diffs = []
        self.before = None
        self.acted = False

    @property
    def label(self):
        return '%s (%s)' % (self.prefix, self.name) if self.prefix else 'service %s' % self.name

    def validated(self, pending=()):
        """The service's configuration (None when its state needs none); pending: as nsproc_options.resolve_ns."""
        return validate(self.params, pending) if self.state in ('started', 'restarted') else None

    def apply(self, check_mode, batch=None, pending=()):
        """Read the record, validate, plan the steps and apply them, or only list them in check mode (under the service's lock)."""
        params, supervisor = self.params, self.supervisor
        record = self.record = read_record(self.name)
        cfg = self.validated(pending)
        supervisor.check(params, cfg, record)
        ctx = self.ctx = Context(params, cfg, record)
        ctx.batch = batch
        running = supervisor.running(ctx, alive(record))
        self.before = {'status': status_of(record), 'config_hash': record.get('config_hash') if record else None,
                       'config': record.get('config') if record else None}
        todo = supervisor.accept(ctx, intents(ctx, running))
        self.acted = any(step in ('start', 'restart', 'run') for step, _detail in todo)
        first, last, self.outside = supervisor.steps(ctx, todo)
        file_changes, self.file_diffs = supervisor.files(ctx)
        self.plan = first + file_changes + last
        self.descriptions = run(self.plan, check_mode)

    def run_outside(self, check_mode):
        """The supervisor's action once the lock is released (systemctl), with the undo of the item on failure."""
        outside = self.outside
        if outside is None:
            return
        # outside the service's lock: the unit's ExecStart (the restore command) takes it to start the service
        self.descriptions.append(outside.description)
        self.plan.append(Change(outside.description, None))
        if not check_mode:
            _run_outside(self.ctx, self.supervisor, outside, self.plan)

    def result(self, check_mode):
        """The service's view after the task (predicted in check mode), its unit, and the diff."""
        before, state, record = self.before, self.state, self.record
        if check_mode or not self.plan:
            after_record = record
            after = _predicted(self.ctx, before, self.acted) if self.plan else before
        else:
            after_record = None if state == 'absent' else read_record(self.name)
            after = {'status': status_of(after_record),
                     'config_hash': after_record.get('config_hash') if after_record else None,
                     'config': after_record.get('config') if after_record else None}
        return {
            'changed': bool(self.plan),
            'changes': self.descriptions,
            'service': dict(view(after_record), name=self.name),
            'unit': self.supervisor.unit(self.ctx, check_mode),
            'diff': merge_diff({'before': before, 'after': after}, self.file_diffs),
        }


def converge(params, check_mode, supervisor):
    """The whole nsproc task under a supervisor; the result holds the service's view and, with systemd, its unit."""
    item = Item(params, supervisor)
    with locked(item.name):
        item.apply(check_mode)
    item.run_outside(check_mode)
    return item.result(check_mode)


def _run_outside(ctx, supervisor, outside, plan):
    """Run the supervisor's action after the lock; when it fails, undo the task's earlier changes."""
    try:
        outside.apply()
    except NsforgeError as exc:
        with locked(ctx.name):
            undo_errors = undo_all([c for c in plan if c.apply is not None])
            undo_errors += supervisor.undo_outside(ctx)
        raise NsforgeError('%s failed: %s; undid %d earlier change(s) of this task%s'
                           % (outside.description, exc.msg, len(plan) - 1,
                              '; could not undo: %s' % '; '.join(undo_errors) if undo_errors else ''))


def _predicted(ctx, before, acted):
    """The diff's after-view in check mode: what the steps would leave."""
    cfg, state = ctx.cfg, ctx.state
    status = before['status']
    if acted:
        status = 'exited' if cfg['type'] == 'oneshot' else 'running'
    elif state == 'stopped' and ctx.record is not None and before['status'] == 'running':
        status = 'stopped'
    elif state == 'absent':
        status = 'absent'
    take_new = cfg is not None and (acted or ctx.record is None)
    return {'status': status,
            'config_hash': config_hash(cfg) if take_new else (before['config_hash'] if state != 'absent' else None),
            'config': public_config(cfg) if take_new else (before['config'] if state != 'absent' else None)}
