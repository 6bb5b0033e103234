# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""Timelines on a host: their records under /run/nsforge/timelines (layout), their runners' processes.

A timeline NAME has its plan (NAME.plan, written by the netns task: timelines.compile_plan with its start time),
its runner's progress (NAME.status, written by the runner: timeline_runner) and the runner's output (NAME.log). A
runner is alive while the PID of its status is the process that wrote it (same start time) and not a zombie. This
file starts a runner (detached: double fork, new session, stdin /dev/null, output to its log, the host's Python
running runner.py, the program that timeline_runner is, written next to the records), stops one (SIGTERM, which
makes it set the interfaces back; KILL after a timeout, and then the interfaces set back here), tells which
interfaces running timelines drive (driven_links, for netns's planner), and probes the kernel's qdiscs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import pkgutil
import signal
import sys
import time

from ansible_collections.nsforge.linux.plugins.module_utils import files, kernel, nodes, timeline_runner
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError
from ansible_collections.nsforge.linux.plugins.module_utils.layout import (
    TIMELINE_DIR, TIMELINE_LOCK_DIR, TIMELINE_RUNNER, timeline_log, timeline_plan, timeline_status)
from ansible_collections.nsforge.linux.plugins.module_utils.names import check_name
from ansible_collections.nsforge.linux.plugins.module_utils.nsproc_records import proc_stat

PACKAGE = 'ansible_collections.nsforge.linux.plugins.module_utils'
RUNNER_SOURCE = 'timeline_runner.py'
RUNNING, FINISHED, STOPPED = timeline_runner.RUNNING, timeline_runner.FINISHED, timeline_runner.STOPPED
DIED = 'died'                 # the status says running, and its process is gone
START_TIMEOUT = 10            # seconds for a started runner to write its first status
STOP_TIMEOUT = 10             # seconds for a runner to set the interfaces back and exit on SIGTERM


# ---- records ------------------------------------------------------------------------------------------------

def _read_json(path):
    text = files.read_text(path)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None   # written atomically: garbage is not a record of this collection


def read_plan(name):
    return _read_json(timeline_plan(name))


def read_status(name):
    return _read_json(timeline_status(name))


def write_plan(plan):
    nodes.make_state_dir(TIMELINE_DIR)
    files.write_atomic(timeline_plan(plan['name']), json.dumps(plan, sort_keys=True), 0o600)


def write_status(name, status):
    """Put back a runner's progress (the undo of a task that removed a timeline's records)."""
    if status is not None:
        nodes.make_state_dir(TIMELINE_DIR)
        files.write_atomic(timeline_status(name), json.dumps(status, sort_keys=True), 0o600)


def remove(name):
    """The records of a timeline: plan, status and log; with the last timeline's, the runner's program and the
    folder."""
    for path in (timeline_plan(name), timeline_status(name), timeline_log(name)):
        files.remove(path)
    if not names():
        files.remove(TIMELINE_RUNNER)
        try:
            os.rmdir(TIMELINE_DIR)
        except OSError:
            pass


def names():
    """The timelines recorded on this host."""
    try:
        found = os.listdir(TIMELINE_DIR)
    except OSError:
        return []
    out = []
    for file_name in sorted(found):
        if file_name.endswith(timeline_runner.PLAN_SUFFIX) and not file_name.startswith('.'):
            name = file_name[:-len(timeline_runner.PLAN_SUFFIX)]
            try:
                out.append(check_name(name))
            except NsforgeError:
                continue
    return out


def locked(name):
    """A timeline's lock, for a with block."""
    return nodes.file_lock(TIMELINE_LOCK_DIR, check_name(name, 'timeline.name') + '.lock')


# ---- runners ------------------------------------------------------------------------------------------------

def alive(status):
    """Whether the runner of a status is still the process that wrote it, and not a zombie."""
    if not status or not status.get('pid'):
        return False
    found = proc_stat(status['pid'])
    return found is not None and found[1] == status.get('start_time') and found[0] not in ('Z', 'X')


def state_of(plan, status):
    """running, finished, stopped or died (the status says running but its runner is gone, or a runner never
    wrote one); None when there is no plan."""
    if plan is None:
        return None
    if status is None or status.get('hash') != plan.get('hash') or status.get('state') == RUNNING:
        return RUNNING if alive(status) and status.get('hash') == plan.get('hash') else DIED
    return status.get('state') if status.get('state') in (FINISHED, STOPPED) else DIED


def driven_links():
    """{(node, ifname)} of the interfaces whose state and impairment running timelines drive (those whose runner is
    alive): netns's planner leaves them alone while a timeline runs."""
    found = set()
    for name in names():
        plan = read_plan(name)
        if plan is not None and alive(read_status(name)):
            found.update(tuple(key.split(':', 1)) for key in plan.get('links', []))
    return found


def timelines_driving(node):
    """Names of the recorded timelines (whatever their state) that drive an interface of a node."""
    out = []
    for name in names():
        plan = read_plan(name) or {}
        if any(key.split(':', 1)[0] == node for key in plan.get('links', [])):
            out.append(name)
    return out


def view(name, now=None):
    """What nsinfo reports of a recorded timeline: {name, state, pid, started, elapsed, done, total, current, next,
    next_at, links, log}; None when it has no plan."""
    plan = read_plan(name)
    if plan is None:
        return None
    status = read_status(name)
    state = state_of(plan, status)
    mine = status if status and status.get('hash') == plan.get('hash') else {}
    now = time.time() if now is None else now
    started = plan.get('started')
    end = mine.get('ended') if state in (FINISHED, STOPPED) else now
    return {
        'name': name,
        'state': state,
        'pid': mine.get('pid') if state == RUNNING else None,
        'started': started,
        'elapsed': round(max(0.0, end - started), 3) if started is not None and end is not None else None,
        'done': mine.get('done', 0),
        'total': len(plan.get('events', [])),
        'current': mine.get('current'),
        'next': mine.get('next') if state == RUNNING else None,
        'next_at': mine.get('next_at') if state == RUNNING else None,
        'links': list(plan.get('links', [])),
        'log': timeline_log(name),
    }


def runner_source():
    """The runner's program (the source of timeline_runner): through the package's loader (an AnsiballZ zip), else
    from the folders of a package of plain files."""
    try:
        data = pkgutil.get_data(PACKAGE, RUNNER_SOURCE)
    except (IOError, OSError, ImportError):
        data = None
    if data is None:
        for folder in getattr(sys.modules.get(PACKAGE), '__path__', None) or []:
            path = os.path.join(folder, RUNNER_SOURCE)
            if os.path.isfile(path):
                with open(path, 'rb') as handle:
                    data = handle.read()
                break
    if data is None:
        raise NsforgeError('cannot read the source of the timeline runner (%s) from the module' % RUNNER_SOURCE)
    return data.decode('utf-8')


def install_runner():
    """Write the runner's program next to the records (when its content differs)."""
    source = runner_source()
    if files.read_text(TIMELINE_RUNNER) != source:
        nodes.make_state_dir(TIMELINE_DIR)
        files.write_atomic(TIMELINE_RUNNER, source, 0o600)


def launch(plan, python=None, timeout=START_TIMEOUT):
    """Start the runner of a recorded plan, detached; its status once it wrote its first one. A plan whose start
    time is past is resumed at the clock's offset (the runner sets the interfaces as the events missed left them)."""
    name = plan['name']
    install_runner()
    argv = [python or sys.executable, '-I', TIMELINE_RUNNER, timeline_plan(name)]
    env = {'PATH': os.environ.get('PATH') or timeline_runner.DEFAULT_PATH, 'LC_ALL': 'C'}
    log_path = timeline_log(name)
    read_fd, write_fd = os.pipe()
    first = os.fork()
    if first == 0:
        try:
            os.close(read_fd)
            os.setsid()
            pid = os.fork()
            if pid == 0:
                try:
                    null = os.open(os.devnull, os.O_RDONLY)
                    out = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                    os.dup2(null, 0)
                    os.dup2(out, 1)
                    os.dup2(out, 2)
                    os.closerange(3, _max_fd())
                    os.chdir('/')
                    os.execve(argv[0], argv, env)
                finally:
                    os._exit(127)
            os.write(write_fd, str(pid).encode('ascii'))
        except BaseException:  # pylint: disable=broad-except
            pass
        finally:
            os._exit(0)
    os.close(write_fd)
    try:
        data = b''
        while True:
            chunk = os.read(read_fd, 64)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(read_fd)
        os.waitpid(first, 0)
    if not data:
        raise NsforgeError('timeline %s: could not start its runner' % name)
    pid = int(data)
    deadline = time.time() + timeout
    while True:
        status = read_status(name)
        if status and status.get('pid') == pid and status.get('hash') == plan['hash'] and (
                alive(status) or status.get('state') in (FINISHED, STOPPED)):
            return status
        found = proc_stat(pid)
        if found is None or found[0] in ('Z', 'X') or time.time() > deadline:
            tail = (files.read_text(log_path) or '').strip().splitlines()[-5:]
            raise NsforgeError('timeline %s: its runner (%s) did not start%s' % (
                name, ' '.join(argv), (': ' + ' / '.join(tail)) if tail else ''))
        time.sleep(0.01)


def _max_fd():
    try:
        return os.sysconf('SC_OPEN_MAX')
    except (ValueError, OSError):
        return 1024


def stop(plan, status, timeout=STOP_TIMEOUT):
    """Stop a timeline's runner: SIGTERM, which makes it set the driven interfaces back to their declared state and
    exit; KILL after the timeout, and then the interfaces are set back here. A runner already gone whose timeline
    did not end (died) leaves its interfaces as they were: they are set back here too. Returns what happened."""
    if alive(status):
        pid = status['pid']
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
        if _gone(status, timeout):
            return 'stopped its runner (pid %d)' % pid
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        _gone(status, 5)
        set_back(plan)
        return 'killed its runner (pid %d, no exit %ds after SIGTERM) and set the interfaces back' % (pid, timeout)
    if state_of(plan, status) == DIED:
        set_back(plan)
        return 'set the interfaces back (its runner had died)'
    return None


def _gone(status, timeout):
    deadline = time.time() + timeout
    delay = 0.005
    while alive(status):
        if time.time() > deadline:
            return False
        time.sleep(delay)
        delay = min(2 * delay, 0.1)
    return True


def set_back(plan):
    """Every interface a plan drives back to its declared state and impairment, from scratch (the restore event's
    reset); a command that fails for an interface that has gone (its node removed) does not matter."""
    errors = []
    resets = plan['events'][-1]['reset']
    for key in sorted(resets):
        for argv in resets[key].get('clear', []):
            kernel.run(argv)
        for argv in resets[key].get('apply', []):
            code, _out, err = kernel.run(argv)
            if code != 0:
                errors.append('%s: %s' % (' '.join(argv), err.decode('utf-8', 'replace').strip()))
    return errors


# ---- the kernel ---------------------------------------------------------------------------------------------

_QDISC_KINDS = {}


def qdisc_available(kind):
    """Whether this host's kernel has a queueing discipline (netem, tbf): tried once per task on the loopback of a
    throwaway network namespace, in a child process."""
    if kind not in _QDISC_KINDS:
        argv = ['tc', 'qdisc', 'add', 'dev', 'lo', 'root', kind]
        if kind == 'tbf':
            argv += ['rate', '1mbit', 'burst', '10000', 'latency', '10ms']

        def probe():
            kernel.unshare(kernel.flag_of('net'))
            return kernel.run(argv)[0] == 0
        _QDISC_KINDS[kind] = kernel.in_child(probe)
    return _QDISC_KINDS[kind]
