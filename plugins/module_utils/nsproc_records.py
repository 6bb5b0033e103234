# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""nsproc: the records of services and the identity of their processes.

A service's record (layout.service_record, root only, written atomically) holds its host PID with that PID's start
time, so a recycled PID is never mistaken for it; its keeper the same way. This file reads and writes records,
tells whether a recorded process is still the one recorded, finds the program under a service's init, reads a
zombie's exit status, ends a keeper, finds the services in a namespace, and makes the result view of a record. The engines of nodes (nsmount, uidmap) ask it
which services still run in a namespace, so it sits below them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import glob
import json
import os
import signal
import time

from ansible_collections.nsforge.linux.plugins.module_utils import files, kernel, nodes
from ansible_collections.nsforge.linux.plugins.module_utils.layout import KIND_NAMES, SERVICE_DIR, SERVICE_LOCK_DIR, service_record
from ansible_collections.nsforge.linux.plugins.module_utils.names import check_name


def record_path(name):
    return service_record(name)


def read_record(name):
    try:
        with open(record_path(name)) as handle:
            return json.load(handle)
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    except ValueError:
        return None  # a half-written record cannot exist (atomic writes); treat garbage as none


def write_record(record):
    """Write a record atomically, root only."""
    nodes.make_state_dir(SERVICE_DIR)
    files.write_atomic(record_path(record['name']), json.dumps(record, sort_keys=True), 0o600)


def remove_record(name):
    files.remove(record_path(name))


def locked(name):
    """The service's lock, for a with block."""
    return nodes.file_lock(SERVICE_LOCK_DIR, check_name(name, 'name') + '.lock')


def _stat_fields(pid):
    """Fields 3 and on of /proc/<pid>/stat (rest[0] is field 3), or None when the process does not exist."""
    try:
        with open('/proc/%d/stat' % pid) as handle:
            data = handle.read()
    except (IOError, OSError):
        return None
    return data[data.rindex(')') + 2:].split()


def proc_stat(pid):
    """(state, start_time) of a process from /proc/<pid>/stat, or None when it does not exist."""
    rest = _stat_fields(pid)
    if not rest:
        return None
    # state is field 3, start time field 22
    return rest[0], int(rest[19])


def alive(record):
    """True when the recorded PID is still the recorded process (same start time) and not a zombie."""
    if not record or not record.get('pid'):
        return False
    found = proc_stat(record['pid'])
    if found is None:
        return False
    state, start = found
    return start == record.get('start_time') and state not in ('Z', 'X')


def exit_status(record):
    """(exit code, signal or None) of a recorded service that died while its keeper holds it, else None.

    The kernel keeps the wait status of a zombie in field 52 of /proc/<pid>/stat.
    """
    rest = _stat_fields(record['pid']) if record and record.get('pid') else None
    if not rest or rest[0] != 'Z' or int(rest[19]) != record.get('start_time') or len(rest) < 50:
        return None
    status = int(rest[49])
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status), os.WTERMSIG(status)
    return os.WEXITSTATUS(status), None


def release_keeper(record):
    """End the keeper of a recorded service (only the recorded process), which lets init reap the service."""
    keeper = (record or {}).get('keeper')
    if not keeper or not alive(keeper):
        return
    try:
        os.kill(keeper['pid'], signal.SIGKILL)
    except OSError:
        return
    # init reaps the keeper and the service's zombie now (or this process, when it started the keeper itself);
    # wait, so that both are gone when the task ends
    deadline = time.time() + 5
    delay = 0.0005
    while time.time() < deadline and (_present(keeper) or exit_status(record) is not None):
        try:
            os.waitpid(keeper['pid'], os.WNOHANG)
        except OSError:
            pass  # not our child: init reaps it
        time.sleep(delay)
        delay = min(2 * delay, 0.02)


def _present(ident):
    """True while the process with this PID and start time exists, a zombie included."""
    found = proc_stat(ident['pid'])
    return found is not None and found[1] == ident.get('start_time')


def ns_pid(pid):
    try:
        with open('/proc/%d/status' % pid) as handle:
            for line in handle:
                if line.startswith('NSpid:'):
                    return int(line.split()[-1])
    except (IOError, OSError):
        pass
    return None


def children(pid):
    """Host PIDs of the children of the single-threaded process pid (/proc/<pid>/task/<pid>/children), or []."""
    try:
        with open('/proc/%d/task/%d/children' % (pid, pid)) as handle:
            return [int(word) for word in handle.read().split()]
    except (IOError, OSError, ValueError):
        return []


def program_pid(record):
    """Host PID of a service's program: the top process itself without an init, or the init's child (its first
    one, should orphans of the PID namespace have become its children too); None while the init has no child."""
    pid = record.get('pid')
    if not pid or not (record.get('config') or {}).get('init'):
        return pid
    started = [(found[1], child) for child, found in ((c, proc_stat(c)) for c in children(pid)) if found]
    return min(started)[1] if started else None


def ns_inodes(pid):
    out = {}
    for kind in KIND_NAMES:
        ident = kernel.ns_id(kernel.ns_path(kind, pid))
        if ident:
            out[kind] = ident[1]
    return out


def services_in(kind, inode):
    """Names of running services whose namespace of this kind is the one with this inode, or, for mount
    namespaces, whose own view was copied from it (and follows its mounts)."""
    names = []
    for path in sorted(glob.glob(os.path.join(SERVICE_DIR, '*.json'))):
        try:
            with open(path) as handle:
                record = json.load(handle)
        except (IOError, OSError, ValueError):
            continue
        if (record.get('namespaces', {}).get(kind) == inode or (kind == 'mnt' and record.get('mnt_parent') == inode)) \
                and alive(record):
            names.append(record['name'])
    return names


def tail(path, offset, size=2048):
    try:
        with open(path, 'rb') as handle:
            handle.seek(0, os.SEEK_END)
            end = handle.tell()
            handle.seek(max(offset, end - size))
            return handle.read().decode('utf-8', 'replace').strip()
    except (IOError, OSError):
        return ''


def status_of(record):
    if record is None:
        return 'absent'
    if record.get('status') == 'running':
        return 'running' if alive(record) else 'exited'
    return record.get('status') or 'stopped'


def last_exit(record, status=None):
    """How a service that was started and is no longer running ended: exit code, signal, stderr tail.

    None while it runs, or when it was never started or was stopped on purpose. status: status_of(record), when the
    caller has it already.
    """
    if record is None or (status or status_of(record)) != 'exited':
        return None
    code, sig = record.get('exit_code'), record.get('exit_signal')
    if code is None:
        found = exit_status(record)
        if found is not None:
            code, sig = found
    failed = code != 0 or sig is not None  # None: died while no keeper held it, so the code is lost
    return {'exit_code': code, 'exit_signal': sig,
            'stderr_tail': (tail(record['stderr'], record.get('stderr_offset', 0)) or None)
            if failed and record.get('stderr') else None}


def view(record):
    """The RETURN view of a service record."""
    if record is None:
        return {'name': None, 'status': 'absent', 'pid': None, 'ns_pid': None, 'program_pid': None,
                'program_ns_pid': None, 'start_time': None, 'namespaces': {},
                'mnt_parent': None, 'hostname': None, 'stdout': None, 'stderr': None, 'exit_code': None,
                'exit_signal': None, 'stderr_tail': None, 'crashes': 0, 'previous_exit': None, 'config_hash': None}
    status = status_of(record)
    running = status == 'running'
    ended = last_exit(record, status) or {}
    program = program_pid(record) if running else None
    return {
        'name': record['name'],
        'status': status,
        'pid': record['pid'] if running else None,
        'ns_pid': record.get('ns_pid') if running else None,
        'program_pid': program,
        'program_ns_pid': ns_pid(program) if program else None,
        'start_time': record.get('start_time') if running else None,
        'namespaces': record.get('namespaces', {}) if running else {},
        'mnt_parent': record.get('mnt_parent') if running else None,
        'hostname': record.get('hostname') if running else None,
        'stdout': record.get('stdout'),
        'stderr': record.get('stderr'),
        'exit_code': ended.get('exit_code'),
        'exit_signal': ended.get('exit_signal'),
        'stderr_tail': ended.get('stderr_tail'),
        'crashes': record.get('crashes', 0),
        'previous_exit': record.get('previous_exit'),
        'config_hash': record.get('config_hash'),
    }
