# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""The kernel's limits that a large lab meets, and what is in use of them: read before a task changes anything.

The readers take their numbers from /proc: sysctls under /proc/sys, the namespaces that processes are in and that
nsfs mounts pin, the tasks. The checks are pure: counts and limits in, an NsforgeError out (None when the task fits),
naming the option at fault, the limit, its value and the sysctl that raises it. What was measured on Linux 6.18:

- A Linux bridge takes at most 1023 ports: port numbers are 10 bits (BR_MAX_PORTS, 1024) and number 0 is reserved;
  the 1024th port fails with EXFULL ("Exchange full"). Fixed, no sysctl raises it.
- user.max_<kind>_namespaces is kept per user namespace: the kernel counts, per user namespace and user ID, the
  namespaces of that kind that exist (also those only an open file or a socket holds, and those still being
  freed), and refuses one more with ENOSPC. What is in use is estimated here (namespaces_in_use).
- net.ipv4.neigh.default.gc_thresh3 (and IPv6's) is one limit for every network namespace: the neighbour table
  and its count of entries are shared by all of them, and the sysctl is shown only in the host's (initial) network
  namespace. Past it the kernel drops new entries ("neighbour table overflow").
- kernel.pid_max is per PID namespace on this kernel (6.14 and later); kernel.threads-max, against the count of
  every task of the machine, is global.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.nsforge.linux.plugins.module_utils import files, kernel
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError
from ansible_collections.nsforge.linux.plugins.module_utils.layout import KIND_NAMES
from ansible_collections.nsforge.linux.plugins.module_utils.mountinfo import parse_mountinfo, parse_ns_link

# port numbers are BR_PORT_BITS (10) bits and number 0 is reserved: the 1024th port fails with EXFULL
BRIDGE_MAX_PORTS = 1023
NS_WORDS = {'net': 'network', 'uts': 'UTS', 'ipc': 'IPC', 'mnt': 'mount', 'pid': 'PID', 'user': 'user',
            'cgroup': 'cgroup', 'time': 'time'}
NEIGH_THRESH = {4: 'net.ipv4.neigh.default.gc_thresh3', 6: 'net.ipv6.neigh.default.gc_thresh3'}


def ns_sysctl(kind):
    return 'user.max_%s_namespaces' % kind


def raise_it(sysctl, needed):
    return '%s; raise it with sysctl -w %s=%d or more' % (sysctl, sysctl, needed)


# -- readers

def read_sysctl(name, root='/proc/sys'):
    """The value of a numeric sysctl (net.ipv4.neigh.default.gc_thresh3), or None when this namespace does not
    show it (gc_thresh3 outside the host's network namespace) or it is not a number."""
    text = files.read_text(os.path.join(root, *name.split('.')))
    try:
        return int(text.split()[0]) if text and text.split() else None
    except ValueError:
        return None


def scan_processes(proc='/proc'):
    """One pass over the processes: {(kind, inode): [number of processes, lowest pid]}.

    Threads are not counted, as lsns does not count them: a namespace is
    reported through the processes (thread-group leaders) in it.
    """
    found = {}
    try:
        entries = os.listdir(proc)
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        pid = int(entry)
        base = '%s/%s/ns/' % (proc, entry)
        for kind in KIND_NAMES:
            try:
                parsed = parse_ns_link(os.readlink(base + kind))
            except OSError:
                if not os.path.isdir(base):
                    break  # the process is gone
                continue  # a kind this kernel does not have
            if parsed is None:
                continue
            item = found.get(parsed)
            if item is None:
                found[parsed] = [1, pid]
            else:
                item[0] += 1
                if pid < item[1]:
                    item[1] = pid
    return found


def namespaces_in_use(kinds, proc='/proc', mountinfo='/proc/self/mountinfo', owner=kernel.owner_userns_inode):
    """{kind: number}: an estimate of what the kernel counts against user.max_<kind>_namespaces for this process.

    Counted: the distinct namespaces of each kind that a process is in (/proc/<pid>/ns) or that an nsfs mount
    pins (/run/netns/<node>, /run/nsforge/nodes/<node>/uts, ...), whose owning user namespace is this process's or
    one below it (the kernel answers NS_GET_USERNS only for those). Not counted: namespaces that only an open file
    or a socket holds, pins hidden by a later mount, and namespaces still being freed. Counted although the kernel
    may not: those that another user ID created (it counts per user ID).
    """
    paths = {}
    for (kind, inode), (_count, pid) in scan_processes(proc).items():
        if kind in kinds:
            paths.setdefault((kind, inode), '%s/%d/ns/%s' % (proc, pid, kind))
    for entry in parse_mountinfo(files.read_text(mountinfo) or ''):
        parsed = parse_ns_link(entry['root']) if entry['fstype'] == 'nsfs' else None
        if parsed is not None and parsed[0] in kinds:
            paths.setdefault(parsed, entry['dst'])
    counts = dict((kind, 0) for kind in kinds)
    for (kind, _inode), path in paths.items():
        if owner(path) is not None:
            counts[kind] += 1
    return counts


def tasks_in_use(proc='/proc'):
    """(tasks of this PID namespace, tasks of the machine): the threads under /proc/<pid>/task, and the count
    that /proc/loadavg gives (nr_threads, which kernel.threads-max bounds; None when unreadable)."""
    tasks = 0
    for entry in os.listdir(proc):
        if entry.isdigit():
            try:
                tasks += len(os.listdir('%s/%s/task' % (proc, entry)))
            except OSError:
                continue  # the process is gone
    text = files.read_text(os.path.join(proc, 'loadavg')) or ''
    fields = text.split()
    machine = int(fields[3].split('/')[1]) if len(fields) > 3 and '/' in fields[3] else None
    return tasks, machine


# -- the checks: counts and limits in, an NsforgeError or None out

def bridge_ports_error(bridge, where, ports, option):
    """A bridge that would have more ports than the kernel takes."""
    if ports <= BRIDGE_MAX_PORTS:
        return None
    return NsforgeError('%s: this task would give bridge %s%s %d ports; a Linux bridge takes at most %d (a fixed '
                        'kernel limit: spread the nodes over several bridges)'
                        % (option, bridge, where, ports, BRIDGE_MAX_PORTS), option=option, value=ports)


def namespaces_error(kind, current, adding, limit, option):
    """Namespaces of a kind that would be more than user.max_<kind>_namespaces allows (limit None: unknown)."""
    total = current + adding
    if limit is None or adding <= 0 or total <= limit:
        return None
    return NsforgeError('%s: this task would hold %d %s namespaces (about %d now and %d new); the kernel allows %d (%s)'
                        % (option, total, NS_WORDS[kind], current, adding, limit, raise_it(ns_sysctl(kind), total)),
                        option=option, value=total)


def neighbours_error(family, entries, limit, option, detail=''):
    """Neighbour entries that a lab needs beyond gc_thresh3 of the family (limit None: not readable here)."""
    if limit is None or entries <= limit:
        return None
    return NsforgeError('%s: this task would put hosts on bridges%s whose gateways alone need %d IPv%d neighbour '
                        'entries; the neighbour table, one for every network namespace, holds at most %d (%s)'
                        % (option, detail, entries, family, limit, raise_it(NEIGH_THRESH[family], entries)),
                        option=option, value=entries)


def processes_error(new, tasks, machine_tasks, pid_max, threads_max, option):
    """New processes that would need more process IDs than kernel.pid_max gives (IDs 1 to pid_max - 1) or more
    tasks than kernel.threads-max allows."""
    if new <= 0:
        return None
    if pid_max is not None and tasks + new > pid_max - 1:
        return NsforgeError('%s: this task would hold %d tasks in this PID namespace (%d now and %d new); '
                            'kernel.pid_max gives process IDs up to %d (%s)'
                            % (option, tasks + new, tasks, new, pid_max - 1,
                               raise_it('kernel.pid_max', tasks + new + 1)),
                            option=option, value=tasks + new)
    if threads_max is not None and machine_tasks is not None and machine_tasks + new > threads_max:
        return NsforgeError('%s: this task would hold %d tasks on the machine (%d now and %d new); the kernel '
                            'allows %d (%s)' % (option, machine_tasks + new, machine_tasks, new, threads_max,
                                                raise_it('kernel.threads-max', machine_tasks + new)),
                            option=option, value=machine_tasks + new)
    return None


# -- read and check

def check_namespaces(adding, option):
    """Raise when creating adding ({kind: number}) namespaces would pass user.max_<kind>_namespaces."""
    kinds = [kind for kind, number in sorted(adding.items()) if number > 0]
    if not kinds:
        return
    current = namespaces_in_use(kinds)
    for kind in kinds:
        error = namespaces_error(kind, current[kind], adding[kind], read_sysctl(ns_sysctl(kind)), option)
        if error is not None:
            raise error


def check_processes(new_processes, option):
    """Raise when starting new_processes processes (services, each at least one task) would pass kernel.pid_max
    in this PID namespace or kernel.threads-max on the machine."""
    if new_processes <= 0:
        return
    tasks, machine = tasks_in_use()
    error = processes_error(new_processes, tasks, machine, read_sysctl('kernel.pid_max'),
                            read_sysctl('kernel.threads-max'), option)
    if error is not None:
        raise error
