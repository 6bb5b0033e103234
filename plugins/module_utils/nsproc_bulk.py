# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""nsproc: a task of many services (the services option), in one module process.

Every item is validated before anything changes; an item may join a service that an earlier item starts. A task
whose new services would pass a kernel limit (kernel.pid_max, kernel.threads-max, user.max_<kind>_namespaces) fails
then too, naming the limit and the sysctl that raises it (limits). Then the
items are converged in their order, each under its own lock, as a task of one service would converge it, except that
a start's second half (its startup check, half a second by default) runs in the background: up to WINDOW starts are
under way at once, and the task waits for them before an item that joins another service, and at its end.

When an item fails (one of its steps, or a start's startup check), its own changes are undone as in a task of one
service, the starts still under way are waited for, and every service that this task started from not running
(absent, stopped or exited) is stopped again with its record put back as it was, the items after the failed one whose
start was under way included. What this task restarted, stopped or removed, a one-shot command that ran, and what
systemd supervises stay as the task left them. The items not yet begun are not touched. The failure names the item
(services[39]: ... (service web40)) and lists what became of each item in `services`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections

from ansible_collections.nsforge.linux.plugins.module_utils import bulk, limits, specs
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError
from ansible_collections.nsforge.linux.plugins.module_utils.nsproc_engine import Item
from ansible_collections.nsforge.linux.plugins.module_utils.nsproc_records import alive, locked, read_record

# starts under way at once: each holds a pipe, a lock and two small processes until its startup check ends
WINDOW = 64
# a service's processes at least: its keeper, its init and its program
PROCESSES_PER_SERVICE = 3


def entries(params):
    """(path, params of one service) of each item: the task's state is the default of an item's."""
    spec = specs.service_spec()
    out = bulk.entries(params, 'services', [key for key in spec if key not in ('name', 'state')], ('state',), spec,
                       'service')
    seen = {}
    for path, entry in out:
        bulk.once(seen, entry['name'], path, 'name', entry['name'], 'service')
    return out


def new_kinds(cfg):
    """The kinds of namespace that starting the service cfg creates."""
    kinds = [kind for kind, spec in cfg['namespaces'].items() if spec['mode'] == 'new']
    if cfg.get('mount_view') == 'child' and 'mnt' not in kinds:
        kinds.append('mnt')
    return kinds


def joins_a_service(params):
    return any(isinstance(value, str) and value.startswith('service:')
               for value in (params.get('namespaces') or {}).values())


def as_error(exc):
    """An item's failure as an NsforgeError: an unexpected one too, so that the task still finishes the starts under
    way and undoes what it started (none is left running without a record)."""
    return exc if isinstance(exc, NsforgeError) else NsforgeError('unexpected error: %s' % exc)


def in_item(path, name, exc):
    """The error of an item, in the task's terms: its option's path leads the message, the service closes it."""
    return bulk.relabeled(exc, path, 'service %s' % name)


class Batch:
    """The starts under way: a start's first half is done, its second half (Launch.finish) waits here."""

    def __init__(self, window=WINDOW):
        self.window = window
        self.pending = collections.deque()   # (service name, the launch, what to do with its record)
        self.failures = []                   # (service name, NsforgeError)
        self.finished = set()                # items whose lock the batch released

    def add(self, ctx, launch, took):
        self.pending.append((ctx.name, launch, took))

    def holds(self, name):
        return any(pending[0] == name for pending in self.pending)

    def drain(self, keep, release):
        """Finish starts until at most keep are under way; release(name) once a service's start is over."""
        while len(self.pending) > keep:
            name, launch, took = self.pending.popleft()
            try:
                took(launch.finish())
            except Exception as exc:  # pylint: disable=broad-except
                self.failures.append((name, as_error(exc)))
            release(name)


class Task:
    """The items of a task of many services, with their locks."""

    def __init__(self, params, prepared):
        self.items = []
        started = set()
        new_processes, new_namespaces = 0, {}
        for prefix, entry in entries(params):
            try:
                supervisor = prepared(entry)
                item = Item(entry, supervisor, prefix)
                # nothing changes yet: this validates, and a service that an earlier item starts may be joined
                cfg = item.validated(started)
                supervisor.check(entry, cfg, None)
            except NsforgeError as exc:
                raise in_item(prefix, entry.get('name'), exc)
            if entry['state'] in ('started', 'restarted'):
                started.add(item.name)
                if cfg['type'] == 'service' and not alive(read_record(item.name)):
                    new_processes += PROCESSES_PER_SERVICE
                    for kind in new_kinds(cfg):
                        new_namespaces[kind] = new_namespaces.get(kind, 0) + 1
            self.items.append(item)
        # the kernel's limits, before anything starts (a restart frees what it takes, so it is not counted)
        limits.check_processes(new_processes, 'services')
        limits.check_namespaces(new_namespaces, 'services')
        self.by_name = dict((item.name, item) for item in self.items)
        self.locks = {}

    def lock(self, name):
        held = locked(name)
        held.__enter__()  # pylint: disable=unnecessary-dunder-call
        self.locks[name] = held

    def release(self, name):
        held = self.locks.pop(name, None)
        if held is not None:
            held.__exit__(None, None, None)

    def release_all(self):
        for name in list(self.locks):
            self.release(name)


def converge_many(params, check_mode, prepared):
    """The nsproc task of many services; see the file's docstring."""
    task = Task(params, prepared)
    batch = None if check_mode else Batch()
    pending = set(item.name for item in task.items if item.state in ('started', 'restarted')) if check_mode else ()
    done = []
    failed = None
    try:
        for item in task.items:
            if batch is not None and joins_a_service(item.params):
                batch.drain(0, task.release)
                if batch.failures:
                    break
            task.lock(item.name)
            try:
                item.apply(check_mode, batch, pending)
            except Exception as exc:  # pylint: disable=broad-except
                failed = (item, as_error(exc))
                break
            finally:
                if batch is None or not batch.holds(item.name):
                    task.release(item.name)
            done.append(item)
            try:
                item.run_outside(check_mode)
            except Exception as exc:  # pylint: disable=broad-except
                failed = (item, as_error(exc))
                break
            if batch is not None:
                batch.drain(batch.window, task.release)
                if batch.failures:
                    break
        if batch is not None:
            batch.drain(0, task.release)
    finally:
        task.release_all()
    if batch is not None and batch.failures and failed is None:
        name, exc = batch.failures[0]
        failed = (task.by_name[name], exc)
    if failed is not None:
        raise _failure(task, done, failed, [name for name, _exc in batch.failures] if batch else [])
    results = [item.result(check_mode) for item in task.items]
    diffs = []
    for item, result in zip(task.items, results):
        if result['changed']:
            for diff in result['diff'] if isinstance(result['diff'], list) else [result['diff']]:
                diffs.append(diff if diff.get('before_header') else bulk.headed(diff, item.prefix, item.name))
    return {
        'changed': any(result['changed'] for result in results),
        'changes': [line for result in results for line in result['changes']],
        'services': [dict(result['service'], changed=result['changed'], changes=result['changes'],
                          **({'unit': result['unit']} if result['unit'] is not None else {}))
                     for result in results],
        'diff': diffs,
    }


def _failure(task, done, failed, failed_starts):
    """Undo the starts of the items before the failed one (see the docstring); the error in the task's terms."""
    item, exc = failed
    failed_names = set(failed_starts) | set([item.name])
    undone, errors = [], []
    for earlier in reversed(done):
        if earlier.name in failed_names:
            continue
        try:
            with locked(earlier.name):
                if earlier.supervisor.revert(earlier.ctx):
                    undone.append(earlier.name)
        except Exception as err:  # pylint: disable=broad-except
            errors.append('%s (%s)' % (earlier.label, err))
    outcome = {}
    for other in task.items:
        if other.name in failed_names:
            outcome[other.name] = 'failed'
        elif other.name in undone:
            outcome[other.name] = 'undone'
        elif other in done:
            outcome[other.name] = 'changed' if other.plan else 'unchanged'
        else:
            outcome[other.name] = 'not run'
    error = in_item(item.prefix, item.name, exc)
    msg = error.msg
    if undone:
        msg += '; stopped again %d service(s) that this task had started' % len(undone)
    kept = [name for name, state in outcome.items() if state == 'changed']
    if kept:
        msg += '; %d earlier item(s) stay as changed (see services)' % len(kept)
    if errors:
        msg += '; could not undo: %s' % '; '.join(errors)
    details = dict(error.details)
    details['services'] = [{'name': other.name, 'outcome': outcome[other.name]} for other in task.items]
    return NsforgeError(msg, option=error.option, value=error.value, **details)
