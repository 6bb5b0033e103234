# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""Where everything lives on a managed host, and the kinds of namespace: pure data and path functions.

A node is a named set of persistent namespaces (docs/layout.md):
- /run/netns/<node>                    the network namespace, exactly as `ip netns add` makes it
- /run/nsforge/nodes/<node>/uts        the UTS namespace (hostname), when the node has one
- /run/nsforge/nodes/<node>/user       the user namespace (ID maps), when the node has one
- /run/nsforge/nodes/<node>/mntns/mnt  the mount namespace; mntns/ is a private bind mount of itself
- /run/nsforge/locks/<node>.lock       a lock held while a task changes the node
- /etc/netns/<node>/                   resolv.conf and hosts that `ip netns exec` binds over /etc
A service of nsproc:
- /run/nsforge/services/<name>.json    its record (root only); <name>.pid for systemd's PIDFile=
- /run/nsforge/locks/services/<name>.lock
- /var/log/nsforge/<name>/             its stdout.log and stderr.log
A timeline of netns (timelines of faults):
- /run/nsforge/timelines/<name>.plan   its compiled plan (the events, with its start time), written by the task
- /run/nsforge/timelines/<name>.status its runner's progress, written by the runner; <name>.log its output
- /run/nsforge/timelines/runner.py     the runner's program; /run/nsforge/locks/timelines/<name>.lock
What survives reboot (persist: true, supervisor: systemd):
- /etc/nsforge/nodes/<node>.json, /etc/nsforge/services/<name>.json   declarations (root only)
- /etc/systemd/system/                 the units
- /usr/local/lib/nsforge/<engine id>/, /usr/local/sbin/nsforge-restore   the restore command and its engine
Controller-side code (the connection plugin) reads these paths too, so this file imports nothing but the names.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError
from ansible_collections.nsforge.linux.plugins.module_utils.names import check_name

# the kinds of namespace, in the order of /proc/<pid>/ns listings of this collection
KIND_NAMES = ('net', 'uts', 'ipc', 'mnt', 'pid', 'user', 'cgroup', 'time')

NETNS_DIR = '/run/netns'
STATE_DIR = '/run/nsforge'
NODE_DIR = STATE_DIR + '/nodes'
LOCK_DIR = STATE_DIR + '/locks'
SERVICE_DIR = STATE_DIR + '/services'
SERVICE_LOCK_DIR = LOCK_DIR + '/services'
TIMELINE_DIR = STATE_DIR + '/timelines'
TIMELINE_LOCK_DIR = LOCK_DIR + '/timelines'
TIMELINE_RUNNER = TIMELINE_DIR + '/runner.py'
ETC_NETNS_DIR = '/etc/netns'
LOG_DIR = '/var/log/nsforge'
RECORD_DIR = '/etc/nsforge'
NODE_RECORD_DIR = RECORD_DIR + '/nodes'
SERVICE_RECORD_DIR = RECORD_DIR + '/services'
UNIT_DIR = '/etc/systemd/system'
LIB_DIR = '/usr/local/lib/nsforge'
RESTORE_COMMAND = '/usr/local/sbin/nsforge-restore'


def _join(directory, name, suffix=''):
    check_name(name)
    path = os.path.join(directory, name + suffix)
    if os.path.dirname(path) != directory:
        raise NsforgeError('node name %r leaves %s' % (name, directory))
    return path


def netns_path(name):
    return _join(NETNS_DIR, name)


def node_dir(name):
    return _join(NODE_DIR, name)


def uts_path(name):
    return os.path.join(node_dir(name), 'uts')


def user_path(name):
    return os.path.join(node_dir(name), 'user')


def mnt_dir(name):
    """A private bind mount of itself that holds the mount namespace handle."""
    return os.path.join(node_dir(name), 'mntns')


def mnt_path(name):
    return os.path.join(mnt_dir(name), 'mnt')


def ns_handle(name, kind):
    """Where a node's namespace of a kind is pinned."""
    if kind == 'net':
        return netns_path(name)
    if kind == 'mnt':
        return mnt_path(name)
    return os.path.join(node_dir(name), kind)


def etc_dir(name):
    return _join(ETC_NETNS_DIR, name)


def lock_path(name):
    return _join(LOCK_DIR, name, '.lock')


def service_record(name, option='name'):
    """The state record of a service of nsproc."""
    check_name(name, option)
    return _join(SERVICE_DIR, name, '.json')


def service_pid_file(name):
    """The PID file that systemd follows for a service it supervises (Type=forking)."""
    return _join(SERVICE_DIR, name, '.pid')


def service_log(name, stream):
    """The default log of a service's stdout or stderr."""
    return os.path.join(_join(LOG_DIR, name), stream + '.log')


def node_record(node):
    """A persisted node's declaration."""
    return _join(NODE_RECORD_DIR, node, '.json')


def service_declaration(name):
    """A systemd-supervised service's declaration."""
    return _join(SERVICE_RECORD_DIR, name, '.json')


def timeline_plan(name, option='timeline.name'):
    """The compiled plan of a timeline (its record, written by the task)."""
    check_name(name, option)
    return _join(TIMELINE_DIR, name, '.plan')


def timeline_status(name):
    """The progress of a timeline's runner (written by the runner)."""
    return _join(TIMELINE_DIR, name, '.status')


def timeline_log(name):
    """The output of a timeline's runner."""
    return _join(TIMELINE_DIR, name, '.log')
