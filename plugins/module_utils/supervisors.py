# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""nsproc's supervisors: how a service is kept running, behind the interface of nsproc_engine.

- Builtin: the module starts the service itself (nsproc_launch: a launcher, tini as PID 1, a keeper that holds
  it) and stops it by its recorded PID; nothing survives reboot.
- Systemd: the service is the unit nsforge-service-<name>.service, whose ExecStart is the restore command
  (restore.py), which starts it exactly as the builtin supervisor does; the task writes the unit and the root-only
  declaration, enables it, and asks systemctl to start, restart or stop it.
converge() picks the supervisor of a task and runs the engine.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.nsforge.linux.plugins.module_utils import cgroups, files, nsproc_bulk, nsproc_engine, persist, specs, systemd
from ansible_collections.nsforge.linux.plugins.module_utils.changes import Change
from ansible_collections.nsforge.linux.plugins.module_utils.errors import bad_option
from ansible_collections.nsforge.linux.plugins.module_utils.layout import service_pid_file
from ansible_collections.nsforge.linux.plugins.module_utils.names import check_name
from ansible_collections.nsforge.linux.plugins.module_utils.nsproc_launch import Relaunch, relaunch, stop
from ansible_collections.nsforge.linux.plugins.module_utils.nsproc_records import (
    read_record, record_path, release_keeper, remove_record, write_record)


class Builtin:
    """The module starts and stops the service's processes itself."""

    name = 'builtin'

    def precheck(self, params):
        name = params['name']
        if unit_exists(name):
            raise bad_option('supervisor', 'builtin', 'service %s is supervised by systemd (unit %s); declare supervisor: '
                             'systemd, or remove it first with state: absent'
                             % (name, systemd.unit_path(systemd.service_unit(name))))
        if params.get('install_only'):
            raise bad_option('install_only', True, 'only with supervisor: systemd')

    def check(self, params, cfg, record):
        pass

    def running(self, ctx, running):
        return running

    def accept(self, ctx, intents):
        return intents

    def steps(self, ctx, intents):
        label, cfg, holder = ctx.label, ctx.cfg, ctx.holder
        command = ' '.join(cfg['command']) if cfg else None
        first, last = [], []

        def do_stop():
            stop(holder['record'], ctx.signal, ctx.stop_timeout)
            release_keeper(holder['record'])
            cgroups.remove(holder['record'].get('cgroups') or [])
            # stopped on purpose, not a crash; written now, so a run killed before its next step knows it too
            holder['record'] = dict(holder['record'], status='stopped')
            write_record(holder['record'])

        def took(old, new):
            if old is not None and old.get('status') == 'running':
                cgroups.remove([d for d in old.get('cgroups') or [] if d not in new.get('cgroups', [])])
            holder['record'] = new
            write_record(new)

        def do_start():
            old = holder['record']
            if ctx.batch is None:
                took(old, relaunch(cfg, old))
            else:
                # a task of many services: the start's second half (its startup check) overlaps the others'
                ctx.batch.add(ctx, Relaunch(cfg, old), lambda new: took(old, new))

        def mark_stopped():
            holder['record'] = dict(holder['record'], status='stopped')
            write_record(holder['record'])

        def forget():
            release_keeper(ctx.record)
            remove_record(ctx.name)

        for step, detail in intents:
            if step == 'run':
                first.append(Change('%s: run %s' % (label, command), do_start))
            elif step == 'start':
                first.append(Change('%s: start %s%s' % (label, command, detail), do_start))
                ctx.revertible = True
            elif step == 'restart' and detail == 'changed':
                first.append(Change('%s: stop (pid %d) because its configuration changed' % (label, ctx.record['pid']), do_stop))
                first.append(Change('%s: start %s' % (label, command), do_start))
            elif step == 'restart':
                first.append(Change('%s: stop (pid %d)' % (label, ctx.record['pid']), do_stop))
                first.append(Change('%s: %s %s' % (label, 'run' if cfg['type'] == 'oneshot' else 'start', command), do_start))
            elif step == 'stop':
                first.append(Change('%s: stop (pid %d) with SIG%s' % (label, ctx.record['pid'], ctx.signal), do_stop))
            elif step == 'mark_stopped':
                first.append(Change('%s: record it as stopped' % label, mark_stopped))
            elif step == 'cleanup':
                first.append(Change('%s: remove its cgroups' % label, lambda: cgroups.remove(ctx.record.get('cgroups') or [])))
            elif step == 'forget':
                last.append(Change('%s: remove its state record %s' % (label, record_path(ctx.name)), forget))
        return first, last, None

    def files(self, ctx):
        return [], []

    def revert(self, ctx):
        """After a later item of the task failed: stop a service that the task started from not running, and put
        its record back as it was (none for a new one). Whether it did."""
        new = ctx.holder['record']
        if not ctx.revertible or new is None or new is ctx.record:
            return False
        stop(new, ctx.signal, ctx.stop_timeout)
        release_keeper(new)
        cgroups.remove(new.get('cgroups') or [])
        if ctx.record is None:
            remove_record(ctx.name)
        else:
            write_record(ctx.record)
        return True

    def undo_outside(self, ctx):
        return []

    def unit(self, ctx, check_mode):
        return None


class Systemd:
    """The service is a systemd unit that starts it through the restore command."""

    name = 'systemd'

    def __init__(self):
        self.live = systemd.running()
        self.plan = persist.Persisted()

    def precheck(self, params):
        install_only = bool(params.get('install_only'))
        if not self.live and not install_only:
            raise bad_option('supervisor', 'systemd', '%s; set install_only: true to only install the unit (it starts at '
                             'the next boot), or use supervisor: builtin' % systemd.not_running_reason())
        if install_only and params['state'] == 'restarted':
            raise bad_option('install_only', True, 'state=restarted restarts through systemd; use state=started with install_only')

    def check(self, params, cfg, record):
        if cfg is None:
            return
        name = cfg['name']
        unit = systemd.service_unit(name)
        if not systemd.unit_name_fits(unit):
            raise bad_option('name', name, 'the unit name %s is longer than systemd allows (%d)' % (unit, systemd.UNIT_NAME_MAX))
        for kind, spec in sorted(cfg['namespaces'].items()):
            if spec.get('service'):
                raise bad_option('namespaces.%s' % kind, spec['label'], 'supervisor: systemd cannot join the namespace of '
                                 'another service (it is not there at boot); join a persisted node instead')
        for kind, node in sorted(systemd.node_joins(cfg).items()):
            section = {'net': 'netns', 'uts': 'netns', 'user': 'uidmap', 'mnt': 'nsmount'}.get(kind)
            if section is None or section not in (persist.read_record(node) or {}):
                option = 'node' if params.get('node') == node and kind not in (params.get('namespaces') or {}) \
                    else 'namespaces.%s' % kind
                raise bad_option(option, node, 'supervisor: systemd needs the %s namespace of node %s persisted (persist: '
                                 'true on its %s task), since the unit requires %s at boot'
                                 % (kind, node, section or 'node', systemd.node_unit(node)))
        for key in ('stdout', 'stderr'):
            if params.get(key) and persist.volatile(params[key]):
                raise bad_option(key, params[key], 'is under %s, which is emptied at boot' % persist.volatile(params[key]))

    def running(self, ctx, running):
        """A service that the builtin supervisor started is stopped first, for systemd to start it."""
        ctx.take_over = running and ctx.record.get('supervisor') != 'systemd' and ctx.cfg is not None \
            and not ctx.install_only
        return running and not ctx.take_over

    def accept(self, ctx, intents):
        """Without systemd (install_only), nothing starts now; systemd owns the cgroups of its units."""
        return [(step, detail) for step, detail in intents
                if step != 'cleanup' and not (ctx.install_only and step in ('start', 'restart', 'run'))]

    def steps(self, ctx, intents):
        label, record, name = ctx.label, ctx.record, ctx.name
        unit = systemd.service_unit(name)
        first, last, outside = [], [], None
        if ctx.take_over:
            def take_over():
                stop(record, ctx.signal, ctx.stop_timeout)
                release_keeper(record)
            first.append(Change('%s: stop (pid %d), started by the builtin supervisor, for systemd to start it'
                                % (label, record['pid']), take_over))
        for step, _detail in intents:
            if step in ('start', 'restart', 'run'):
                act = 'start' if step == 'start' and ctx.state != 'restarted' else 'restart'
                outside = Change('%s: systemctl %s %s' % (label, act, unit), lambda a=act: systemd.systemctl(a, unit))
            elif step == 'stop' and self.live:
                first.append(Change('%s: systemctl stop %s' % (label, unit), lambda: systemd.systemctl('stop', unit)))
            elif step == 'stop':
                first.append(Change('%s: stop (pid %d) with SIG%s' % (label, record['pid'], ctx.signal),
                                    lambda: (stop(record, ctx.signal, ctx.stop_timeout), release_keeper(record))))
            elif step == 'mark_stopped':
                first.append(Change('%s: record it as stopped' % label,
                                    lambda: write_record(dict(read_record(name) or record, status='stopped'))))
            elif step == 'forget':
                last.append(Change('%s: remove its state record %s' % (label, record_path(name)),
                                   lambda: (remove_record(name), files.remove(service_pid_file(name)))))
        return first, last, outside

    def files(self, ctx):
        """The root-only declaration, the unit and its enabling link (or their removal); the engine; daemon-reload."""
        name, cfg, params = ctx.name, ctx.cfg, ctx.params
        unit = systemd.service_unit(name)
        path = systemd.unit_path(unit)
        plan = self.plan
        if cfg is not None:
            plan.file(persist.declaration_path(name), persist.as_json(declaration_of(params)), 0o600,
                      'the root-only declaration', show=False)
            plan.file(path, systemd.render_service_unit(dict(cfg, stop_timeout=params.get('stop_timeout'))), 0o644,
                      'the unit', unit=True)
            plan.links(unit, systemd.SERVICE_WANTED_BY, True)
        elif ctx.state == 'stopped':
            plan.links(unit, systemd.SERVICE_WANTED_BY, False)
        elif ctx.state == 'absent':
            plan.links(unit, systemd.SERVICE_WANTED_BY, False)
            plan.file(path, None, 0o644, 'the unit', unit=True)
            plan.file(persist.declaration_path(name), None, 0o600, 'the declaration', show=False)
        return plan.finish(cfg is not None), plan.diffs

    def revert(self, ctx):
        """A later item's failure leaves a service that systemd supervises as the task left it."""
        return False

    def undo_outside(self, ctx):
        """After a failed systemctl start and the undo of the unit's files: systemd reads the units as they were."""
        if self.plan.units_changed and self.live:
            try:
                systemd.daemon_reload()
            except Exception as exc:  # pylint: disable=broad-except
                return [str(exc)]
        return []

    def unit(self, ctx, check_mode):
        unit = systemd.service_unit(ctx.name)
        path = systemd.unit_path(unit)
        if check_mode:
            present = ctx.cfg is not None or (ctx.state == 'stopped' and os.path.exists(path))
            enabled = ctx.cfg is not None
        else:
            present = os.path.exists(path)
            enabled = systemd.link_state(unit, systemd.SERVICE_WANTED_BY[0]) is not None
        return {'name': unit, 'path': path, 'present': present, 'enabled': enabled}


def unit_exists(name):
    return os.path.exists(systemd.unit_path(systemd.service_unit(name)))


def declaration_of(params):
    """What the restore command declares again at boot: the service's options (specs), to be started."""
    decl = dict((key, params.get(key)) for key in specs.SERVICE_OPTIONS)
    decl['state'] = 'started'
    return decl


def pick(params):
    """The supervisor of a task: systemd when declared, or to remove a service whose unit exists."""
    name = check_name(params['name'], 'name')
    if params.get('supervisor') == 'systemd' or (params['state'] == 'absent' and unit_exists(name)):
        return Systemd()
    return Builtin()


def prepared(params):
    """The supervisor of one service's declaration, after the checks it makes before anything else."""
    supervisor = pick(params)
    supervisor.precheck(params)
    return supervisor


def converge(params, check_mode):
    """The nsproc task: one service (name), or many (services)."""
    if params.get('services') is not None:
        return nsproc_bulk.converge_many(params, check_mode, prepared)
    return nsproc_engine.converge(params, check_mode, prepared(params))
