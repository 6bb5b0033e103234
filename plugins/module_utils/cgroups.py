# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""Resource limits of services through cgroups: v2 where the host has it, else the v1 controllers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re
import time

from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError, bad_option

ROOT = '/sys/fs/cgroup'
PARENT_ENV = 'NSFORGE_CGROUP_PARENT'
CPU_PERIOD = 100000
_SUFFIX = {'': 1, 'K': 1024, 'M': 1024 ** 2, 'G': 1024 ** 3, 'T': 1024 ** 4}


def parse_limits(limits, option='limits'):
    """Return {'memory': bytes, 'pids': n, 'cpu': cpus} for the limits that are set, or raise naming the option."""
    out = {}
    if not limits:
        return out
    memory = limits.get('memory')
    if memory is not None:
        match = re.match(r'^\s*(\d+)\s*([KMGT]?)i?B?\s*$', str(memory), re.IGNORECASE)
        if not match or int(match.group(1)) <= 0:
            raise bad_option(option + '.memory', memory, 'expected a positive number of bytes, optionally with K, M, G or T')
        out['memory'] = int(match.group(1)) * _SUFFIX[match.group(2).upper()]
        if out['memory'] < 1024 * 1024:
            raise bad_option(option + '.memory', memory, 'a memory limit below 1M would kill the service at once')
    if limits.get('pids') is not None:
        if limits['pids'] < 1:
            raise bad_option(option + '.pids', limits['pids'], 'must be at least 1')
        out['pids'] = int(limits['pids'])
    if limits.get('cpu') is not None:
        if not 0 < limits['cpu'] <= 4096:
            raise bad_option(option + '.cpu', limits['cpu'], 'expected a positive number of CPUs, such as 0.5')
        out['cpu'] = float(limits['cpu'])
    return out


def parent_name():
    name = os.environ.get(PARENT_ENV) or 'nsforge'
    if not re.match(r'^[A-Za-z0-9_][A-Za-z0-9_.-]*\Z', name) or '..' in name:
        raise NsforgeError('%s: invalid cgroup parent %r' % (PARENT_ENV, name))
    return name


def unified():
    """True when the host's cgroup hierarchy is v2 with the controllers the limits need."""
    try:
        with open(os.path.join(ROOT, 'cgroup.controllers')) as handle:
            controllers = handle.read().split()
    except IOError:
        return False
    return all(c in controllers for c in ('memory', 'pids', 'cpu'))


def _write(path, value):
    with open(path, 'w') as handle:
        handle.write(str(value))


def plan_dirs(service, limits):
    """The cgroup folders a service with these limits lives in."""
    if not limits:
        return []
    parent = parent_name()
    if unified():
        return [os.path.join(ROOT, parent, service)]
    controllers = sorted(set({'memory': 'memory', 'pids': 'pids', 'cpu': 'cpu'}[k] for k in limits))
    return [os.path.join(ROOT, c, parent, service) for c in controllers]


def create(service, limits):
    """Create the cgroups of a service and write its limits. Returns the folders."""
    dirs = plan_dirs(service, limits)
    if not dirs:
        return []
    try:
        if unified():
            parent = os.path.dirname(dirs[0])
            if not os.path.isdir(parent):
                os.mkdir(parent, 0o755)
            for path in (ROOT, parent):
                try:
                    _write(os.path.join(path, 'cgroup.subtree_control'), '+memory +pids +cpu')
                except IOError:
                    pass
            if not os.path.isdir(dirs[0]):
                os.mkdir(dirs[0], 0o755)
            if 'memory' in limits:
                _write(os.path.join(dirs[0], 'memory.max'), limits['memory'])
            if 'pids' in limits:
                _write(os.path.join(dirs[0], 'pids.max'), limits['pids'])
            if 'cpu' in limits:
                _write(os.path.join(dirs[0], 'cpu.max'), '%d %d' % (int(limits['cpu'] * CPU_PERIOD), CPU_PERIOD))
            return dirs
        for path in dirs:
            controller = path[len(ROOT) + 1:].split('/', 1)[0]
            if not os.path.isdir(os.path.join(ROOT, controller)):
                raise NsforgeError('limits: the host has no cgroup %s controller at %s' % (controller, os.path.join(ROOT, controller)),
                                   option='limits')
            if not os.path.isdir(os.path.dirname(path)):
                os.mkdir(os.path.dirname(path), 0o755)
            if not os.path.isdir(path):
                os.mkdir(path, 0o755)
            if controller == 'memory':
                _write(os.path.join(path, 'memory.limit_in_bytes'), limits['memory'])
            elif controller == 'pids':
                _write(os.path.join(path, 'pids.max'), limits['pids'])
            elif controller == 'cpu':
                _write(os.path.join(path, 'cpu.cfs_period_us'), CPU_PERIOD)
                _write(os.path.join(path, 'cpu.cfs_quota_us'), int(limits['cpu'] * CPU_PERIOD))
    except (IOError, OSError) as exc:
        remove(dirs)
        raise NsforgeError('limits: cannot set up cgroups %s: %s' % (', '.join(dirs), exc), option='limits')
    return dirs


def attach(dirs, pid):
    for path in dirs:
        _write(os.path.join(path, 'cgroup.procs'), pid)


def remove(dirs, wait=2.0):
    """Remove cgroup folders (and their parent when it is left empty); waits briefly for exiting tasks."""
    deadline = time.time() + wait
    for path in dirs:
        while os.path.isdir(path):
            try:
                os.rmdir(path)
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    break
                if exc.errno != errno.EBUSY or time.time() > deadline:
                    break
                time.sleep(0.05)
        try:
            os.rmdir(os.path.dirname(path))
        except OSError:
            pass
