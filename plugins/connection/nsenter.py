# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: nsenter
short_description: Run tasks inside a node or a service of nsforge.linux
version_added: 0.1.0
author: nsforge developers (@nsforge)
description:
  - Runs ordinary Ansible tasks inside a node (the namespaces that M(nsforge.linux.netns), M(nsforge.linux.uidmap)
    and M(nsforge.linux.nsmount) pinned) or inside a service that M(nsforge.linux.nsproc) runs, as C(docker exec)
    does for a container. M(ansible.builtin.command), M(ansible.builtin.copy), M(ansible.builtin.template),
    M(ansible.builtin.fetch) and M(ansible.builtin.setup) work inside.
  - Every command runs on the managed host through a I(host connection) (O(host_connection), by default
    C(ansible.builtin.local)) as the argument vector C(nsenter --net=... --uts=... -- <shell> -c <command>), where
    C(<shell>) is the shell Ansible runs its commands with (C(ansible_shell_executable), C(/bin/sh) by default).
    The plugin adds no shell of its own.
  - A node is joined through its pinned namespace files, never through a process ID, skipping the kinds it has
    not pinned. A node whose network namespace is entered without a mount namespace of its own is entered with
    C(ip netns exec <node>), as C(ip netns exec) users expect, so that C(/sys) shows the node's interfaces (which
    M(ansible.builtin.setup) reads) and C(/etc/netns/<node>/resolv.conf) and C(hosts) are in place.
  - A service is joined through C(/proc/<pid>/ns/<kind>) of the process in its record
    (C(/run/nsforge/services/<name>.json)), for every kind in which the service's namespace differs from the host
    connection's. Before every command the process is checked to be the recorded one (same PID and start time);
    a service restarted meanwhile is looked up again. When the service has a mount namespace of its own, the
    command also gets the service's root and working directory (C(nsenter --root --wd)).
  - A user namespace is entered as nsenter does it, after the namespaces that the host's user namespace owns; the
    command is root (ID 0) inside, which is an unprivileged ID on the host.
  - Files are streamed through the host connection into or out of the target's mount namespace with C(dd)
    (in chunks of 8 MiB), so they land where the task sees them, also in a node whose root differs from the
    host's.
  - Requirements on the managed host, besides those of Ansible itself - C(nsenter) (util-linux), C(ip) (iproute2)
    for nodes, C(dd) inside the target, Python 3 (O(host_python)), and a host connection that logs in as root.
extends_documentation_fragment:
  - ansible.builtin.connection_pipelining
options:
  node:
    description:
      - The node to enter, as named by M(nsforge.linux.netns), M(nsforge.linux.uidmap) or M(nsforge.linux.nsmount).
      - Exactly one of O(node) and O(service) is set.
    type: str
    vars:
      - name: ansible_nsenter_node
  service:
    description:
      - The service of M(nsforge.linux.nsproc) to enter; it must be running.
      - Exactly one of O(node) and O(service) is set.
    type: str
    vars:
      - name: ansible_nsenter_service
  namespaces:
    description:
      - The kinds of namespaces to enter, among V(net), V(uts), V(ipc), V(mnt), V(pid), V(user), V(cgroup) and
        V(time).
      - By default every kind the node has pinned, or for a service every kind in which its namespace differs
        from the host connection's.
      - A kind listed here that a node has not pinned fails the task. A service's namespace of a listed kind is
        entered even when it is the host's.
    type: list
    elements: str
    vars:
      - name: ansible_nsenter_namespaces
  host_connection:
    description:
      - The connection plugin that reaches the managed host on which the node or the service lives, for example
        V(ansible.builtin.ssh) for a node on a remote host.
      - It gets its options from the same host variables as when it is the host's C(ansible_connection), for example
        C(ansible_host), C(ansible_port), C(ansible_user) and C(ansible_ssh_private_key_file) for
        V(ansible.builtin.ssh).
      - It must log in as root. C(become) to root changes nothing (tasks run as root inside); becoming another user
        is refused.
    type: str
    default: ansible.builtin.local
    vars:
      - name: ansible_nsenter_host_connection
  host_python:
    description:
      - The Python 3 interpreter on the managed host (outside the namespaces) that looks up the node's pinned
        namespaces or the service's record, and checks a service's identity before each command.
      - It runs on the host, so it is independent of C(ansible_python_interpreter), which runs modules inside.
    type: str
    default: python3
    vars:
      - name: ansible_nsenter_host_python
notes:
  - "Nodes on a remote host: give each node an inventory host with C(ansible_connection: nsforge.linux.nsenter),
    C(ansible_nsenter_node), C(ansible_nsenter_host_connection: ansible.builtin.ssh) and the managed host's SSH
    variables (C(ansible_host) and the others). The SSH connection (with its ControlPersist master) is shared by
    all the nodes of one host."
  - "In a node with a user namespace the task runs as root inside, which is the mapped, unprivileged ID on the host:
    Ansible's remote temporary folder (C(~/.ansible/tmp) of the host's C(HOME) by default) and the Python
    interpreter must be reachable by that ID. Set C(ansible_remote_tmp) to a folder it may write to (such as
    C(/tmp)), set C(ansible_python_interpreter) to a Python that everyone can run (such as C(/usr/bin/python3)),
    and enable pipelining, which sends modules without temporary files."
  - A node with a mount namespace of its own shows the C(/sys) that its mounts declare; facts that read
    C(/sys/class/net) list the interfaces that sysfs shows. A node without one is entered with C(ip netns exec),
    whose mount namespace lasts only for the command, so mounts made by a task vanish with it.
  - A command in a service's namespaces is not moved into the service's cgroup.
seealso:
  - module: nsforge.linux.netns
  - module: nsforge.linux.nsproc
  - module: nsforge.linux.nsmount
  - module: nsforge.linux.uidmap
'''

EXAMPLES = r'''
# inventory.yml: three nodes on this host, a service, and two nodes on a remote host reached over SSH
# all:
#   children:
#     nodes:
#       hosts:
#         r1: {ansible_nsenter_node: r1}
#         r2: {ansible_nsenter_node: r2, ansible_nsenter_namespaces: [net, uts]}
#         web-red: {ansible_nsenter_service: web-red}
#       vars:
#         ansible_connection: nsforge.linux.nsenter
#         ansible_python_interpreter: /usr/bin/python3
#     remote_nodes:
#       hosts:
#         lab1-r1: {ansible_nsenter_node: r1}
#         lab1-r2: {ansible_nsenter_node: r2}
#       vars:
#         ansible_connection: nsforge.linux.nsenter
#         ansible_nsenter_host_connection: ansible.builtin.ssh
#         ansible_host: lab1.example.com
#         ansible_user: root
#         ansible_ssh_private_key_file: ~/.ssh/lab1
#         ansible_python_interpreter: /usr/bin/python3
#         ansible_pipelining: true

- name: Work inside the nodes
  hosts: nodes
  gather_facts: true          # ansible_facts['hostname'] and ['all_ipv4_addresses'] are the node's
  tasks:
    - name: The node's addresses
      ansible.builtin.command:
        argv: [ip, -brief, address]
      changed_when: false

    - name: A file in the node's own view of the file system
      ansible.builtin.copy:
        dest: /data/motd
        content: "Welcome to {{ ansible_facts['hostname'] }}\n"
        mode: "0644"

# A single task in a node, from a play on the host that built it
- name: Build a node and look inside
  hosts: labhost
  tasks:
    - name: Node r9
      nsforge.linux.netns:
        name: r9
        hostname: r9

    - name: Its hostname, seen from inside
      ansible.builtin.command:
        argv: [hostname]
      delegate_to: r9-inside
      changed_when: false
      vars:
        ansible_connection: nsforge.linux.nsenter
        ansible_nsenter_node: r9
'''

import json
import os

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible.module_utils.six.moves import shlex_quote
from ansible.plugins.connection import ConnectionBase
from ansible.plugins.loader import connection_loader
from ansible.utils.display import Display

from ansible_collections.nsforge.linux.plugins.module_utils import layout
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError
from ansible_collections.nsforge.linux.plugins.module_utils.names import check_name

display = Display()

# the kinds in nsenter's order of options; nsenter itself joins a user namespace at the right moment
KINDS = ('user', 'cgroup', 'ipc', 'uts', 'net', 'pid', 'mnt', 'time')
OPTION_OF = {'user': '--user', 'cgroup': '--cgroup', 'ipc': '--ipc', 'uts': '--uts', 'net': '--net',
             'pid': '--pid', 'mnt': '--mount', 'time': '--time'}
if set(KINDS) != set(layout.KIND_NAMES):
    raise ImportError('nsenter connection: the table of namespace kinds is out of date')

# files move in chunks of CHUNK bytes, written and read by dd in blocks of BLOCK bytes
BLOCK = 64 * 1024
CHUNK = 128 * BLOCK

# exit status and marker of the identity check that runs before every command in a service
GONE_STATUS = 222
GONE_MARK = 'nsforge-nsenter: gone'

# Runs on the managed host with the host connection's Python: what a node has pinned, or where a service is.
# Its only argument is a JSON object {"paths": {kind: path}} (a node) or {"record": path} (a service).
# It prints a JSON object: {"kinds": {kind: {"inode": N, "shared": bool}}, ...} or {"error": ..., "why": ...}.
PROBE = r'''
import errno, json, os, sys
spec = json.loads(sys.argv[1])
own = {}
for kind in spec['kinds']:
    try:
        own[kind] = os.stat('/proc/self/ns/' + kind)
    except OSError:
        pass
nsfs = own['net'].st_dev
def look(path, kind):
    try:
        st = os.stat(path)
    except OSError:
        return None
    if st.st_dev != nsfs:
        return None
    return {'inode': st.st_ino, 'shared': kind in own and own[kind].st_ino == st.st_ino}
out = {}
if 'paths' in spec:
    out['kinds'] = dict((k, v) for k, v in ((k, look(p, k)) for k, p in spec['paths'].items()) if v)
else:
    try:
        with open(spec['record']) as handle:
            record = json.load(handle)
    except (IOError, OSError) as exc:
        out = {'error': 'absent' if exc.errno == errno.ENOENT else 'unreadable', 'why': str(exc)}
    except ValueError as exc:
        out = {'error': 'unreadable', 'why': str(exc)}
    else:
        pid = record.get('pid')
        out = {'pid': pid, 'start_time': record.get('start_time'), 'status': record.get('status'),
               'command': (record.get('config') or {}).get('command')}
        try:
            with open('/proc/%d/stat' % pid) as handle:
                data = handle.read()
            fields = data[data.rindex(')') + 2:].split()
            alive = int(fields[19]) == record.get('start_time') and fields[0] not in ('Z', 'X')
        except (IOError, OSError, TypeError, ValueError):
            alive = False
        if not alive:
            out['error'] = 'dead'
        else:
            found = dict((k, look('/proc/%d/ns/%s' % (pid, k), k)) for k in spec['kinds'])
            out['kinds'] = dict((k, v) for k, v in found.items() if v)
print(json.dumps(out))
'''

# Runs on the managed host before every command in a service: the recorded process must still be the same one
# (PID and start time); then it becomes the nsenter command. Arguments: PID START_TIME -- ARGV...
GUARD = r'''
import os, sys
try:
    with open('/proc/%s/stat' % sys.argv[1]) as handle:
        data = handle.read()
    fields = data[data.rindex(')') + 2:].split()
    same = fields[19] == sys.argv[2] and fields[0] not in ('Z', 'X')
except (IOError, OSError, ValueError):
    same = False
if not same:
    sys.stderr.write('%s: process %s\n' % (@MARK@, sys.argv[1]))
    raise SystemExit(@STATUS@)
try:
    os.execvp(sys.argv[4], sys.argv[4:])
except OSError as exc:
    sys.stderr.write('cannot run %s: %s\n' % (sys.argv[4], exc))
    raise SystemExit(127)
'''.replace('@MARK@', repr(GONE_MARK)).replace('@STATUS@', str(GONE_STATUS))


def check_target(node, service):
    """('node', name) or ('service', name) from the two options; AnsibleError naming the variable at fault."""
    if node and service:
        raise AnsibleError('ansible_nsenter_node (%r) and ansible_nsenter_service (%r) are mutually exclusive: '
                           'set one of them' % (node, service))
    if not node and not service:
        raise AnsibleError('the nsforge.linux.nsenter connection needs ansible_nsenter_node or ansible_nsenter_service')
    kind, name = ('node', node) if node else ('service', service)
    try:
        check_name(name, 'ansible_nsenter_%s' % kind)
    except NsforgeError as exc:
        raise AnsibleError(exc.msg)
    return kind, name


def check_kinds(value):
    """The kinds of namespaces asked for (a list in nsenter's order), or None for the default."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [v.strip() for v in value.split(',') if v.strip()]
    if not isinstance(value, (list, tuple)) or not value:
        raise AnsibleError('ansible_nsenter_namespaces: invalid value %r: a non-empty list of namespace kinds '
                           '(%s)' % (value, ', '.join(sorted(KINDS))))
    for item in value:
        if item not in KINDS:
            raise AnsibleError('ansible_nsenter_namespaces: invalid value %r: %r is not a kind of namespace; '
                               'choose among %s' % (list(value), item, ', '.join(sorted(KINDS))))
    return [k for k in KINDS if k in value]


def probe_spec(target):
    """The argument of PROBE for a target (kind, name)."""
    kind, name = target
    if kind == 'node':
        return {'kinds': list(KINDS), 'paths': dict((k, layout.ns_handle(name, k)) for k in KINDS)}
    return {'kinds': list(KINDS), 'record': layout.service_record(name)}


def parse_probe(target, rc, stdout, stderr, where):
    """The probe's findings; AnsibleConnectionFailure naming the target when it is missing or dead."""
    kind, name = target
    try:
        found = json.loads(to_text(stdout, errors='surrogate_or_replace'))
        if not isinstance(found, dict):
            raise ValueError('not an object')
    except ValueError:
        raise AnsibleConnectionFailure('%s %s: cannot look it up on %s (exit status %s): %s'
                                       % (kind, name, where, rc, to_native(stderr).strip() or to_native(stdout).strip()))
    error = found.get('error')
    if error == 'absent':
        raise AnsibleConnectionFailure('service %s: no such service on %s (no record %s)'
                                       % (name, where, layout.service_record(name)))
    if error == 'unreadable':
        raise AnsibleConnectionFailure('service %s: cannot read its record on %s: %s (the host connection must '
                                       'log in as root)' % (name, where, found.get('why')))
    if error == 'dead':
        if found.get('status') != 'running':
            why = 'its record says status %s' % found.get('status')
        else:
            why = 'its recorded process, PID %s, has ended' % found.get('pid')
        raise AnsibleConnectionFailure('service %s is not running on %s (%s)' % (name, where, why))
    if kind == 'node' and not found.get('kinds'):
        raise AnsibleConnectionFailure('node %s: no such node on %s (none of its namespaces is pinned, '
                                       'such as %s)' % (name, where, layout.ns_handle(name, 'net')))
    return found


def select_kinds(target, found, wanted):
    """The kinds to enter, in nsenter's order."""
    kind, name = target
    have = found.get('kinds') or {}
    if wanted is None:
        if kind == 'node':
            return [k for k in KINDS if k in have]
        return [k for k in KINDS if k in have and not have[k].get('shared')]
    missing = [k for k in wanted if k not in have]
    if missing:
        raise AnsibleError('ansible_nsenter_namespaces: invalid value %r: %s %s has no %s namespace (it has: %s)'
                           % (wanted, kind, name, ', '.join(missing), ', '.join(k for k in KINDS if k in have) or 'none'))
    return list(wanted)


def nsenter_argv(target, found, kinds):
    """The argument vector that enters the target's namespaces; the command's argv follows it."""
    kind, name = target
    argv = []
    rest = list(kinds)
    if kind == 'node' and 'net' in kinds and 'mnt' not in kinds:
        # ip netns exec: /sys of the node's network namespace and /etc/netns/<node> files, in a mount
        # namespace that lasts as long as the command
        argv = ['ip', 'netns', 'exec', name]
        rest.remove('net')
    if rest:
        if kind == 'node':
            paths = dict((k, layout.ns_handle(name, k)) for k in rest)
        else:
            paths = dict((k, '/proc/%d/ns/%s' % (found['pid'], k)) for k in rest)
        argv += ['nsenter'] + ['%s=%s' % (OPTION_OF[k], paths[k]) for k in KINDS if k in rest]
        if kind == 'service' and 'mnt' in rest:
            argv += ['--root=/proc/%d/root' % found['pid'], '--wd=/proc/%d/cwd' % found['pid']]
        argv.append('--')
    if kind == 'service':
        argv = [found['host_python'], '-c', GUARD, str(found['pid']), str(found['start_time']), '--'] + argv
    return argv


def join_argv(argv):
    """A command line that the host connection's shell splits back into argv."""
    return ' '.join(shlex_quote(to_text(a)) for a in argv)


def dd_write_argv(path, offset, size):
    """dd that writes its input (size bytes) to path at offset (a multiple of BLOCK); the first chunk truncates
    the file. An empty file is made without reading the input: a host connection may leave an empty input open."""
    argv = ['dd', 'of=%s' % path, 'bs=%d' % BLOCK]
    if offset:
        argv += ['seek=%d' % (offset // BLOCK), 'conv=notrunc']
    elif not size:
        argv.append('count=0')
    return argv


def dd_read_argv(path, offset):
    """dd that prints CHUNK bytes of path from offset (a multiple of BLOCK)."""
    argv = ['dd', 'if=%s' % path, 'bs=%d' % BLOCK, 'count=%d' % (CHUNK // BLOCK)]
    if offset:
        argv.append('skip=%d' % (offset // BLOCK))
    return argv


class Connection(ConnectionBase):
    """Commands and files inside a node or a service of nsforge.linux, through a connection to its host."""

    transport = 'nsforge.linux.nsenter'
    has_pipelining = True
    # the plugin runs Ansible's command with the play's shell itself, as argv after nsenter
    allow_executable = False

    def __init__(self, *args, **kwargs):
        super(Connection, self).__init__(*args, **kwargs)
        self._host_conn = None
        self._host_conn_name = None
        self._target = None
        self._found = None
        self._kinds = None
        self._become_asked = False

    def set_become_plugin(self, plugin):
        """Tasks run as root inside already: become (to root) changes nothing, and no command is wrapped in sudo
        inside the target, where sudo may not exist; becoming another user is refused when connecting."""
        self._become_asked = plugin is not None
        self.become = None

    @property
    def ssh_type_conn(self):
        """The host connection. ansible-core's TaskExecutor sets the options of a connection's ssh_type_conn
        (the hook ansible.netcommon's network_cli uses) from every variable that plugin declares, so
        ansible_host, ansible_user, ansible_port and the other variables of the host connection reach it."""
        return self._host_conn

    def set_options(self, task_keys=None, var_options=None, direct=None):
        super(Connection, self).set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        name = self.get_option('host_connection')
        if self._host_conn is None or name != self._host_conn_name:
            self._host_conn = self._load_host_connection(name)
            self._host_conn_name = name
        # var_options hold the variables of this plugin here (the TaskExecutor then sets the host connection's
        # own through ssh_type_conn), or every variable (meta: reset_connection)
        self._host_conn.set_options(task_keys=task_keys, var_options=var_options)

    def _load_host_connection(self, name):
        conn = connection_loader.get(name, self._play_context, os.devnull)
        if conn is None:
            raise AnsibleError('ansible_nsenter_host_connection: invalid value %r: no such connection plugin' % name)
        if isinstance(conn, Connection):
            raise AnsibleError('ansible_nsenter_host_connection: invalid value %r: the host connection cannot be '
                               'nsforge.linux.nsenter itself' % name)
        conn.set_become_plugin(None)
        return conn

    def _where(self):
        if self._host_conn_name in ('local', 'ansible.builtin.local'):
            return 'this host'
        try:
            host = self._host_conn.get_option('host')
        except KeyError:
            host = self._play_context.remote_addr
        return '%s (through %s)' % (host, self._host_conn_name)

    def _connect(self):
        if self._connected:
            return self
        if self._become_asked and (self._play_context.become_user or 'root') != 'root':
            raise AnsibleError('become_user %r: the nsforge.linux.nsenter connection runs tasks as root inside the '
                               'node or the service and cannot become another user' % self._play_context.become_user)
        self._target = check_target(self.get_option('node'), self.get_option('service'))
        wanted = check_kinds(self.get_option('namespaces'))
        self._host_conn._connect()
        self._lookup()
        self._kinds = select_kinds(self._target, self._found, wanted)
        entered = ', '.join(self._kinds) or 'no namespace'
        display.vvv(u'NSENTER %s %s (%s) on %s' % (self._target[0], self._target[1], entered, self._where()),
                    host=self._play_context.remote_addr)
        self._connected = True
        return self

    def _lookup(self):
        python = self.get_option('host_python')
        argv = [python, '-c', PROBE, json.dumps(probe_spec(self._target), sort_keys=True)]
        rc, stdout, stderr = self._host_conn.exec_command(join_argv(argv), sudoable=False)
        self._found = parse_probe(self._target, rc, stdout, stderr, self._where())
        self._found['host_python'] = python

    def _run(self, argv_tail, in_data=None, sudoable=False):
        """Run argv_tail inside the target through the host connection; look a service up again once when its
        process changed since it was looked up."""
        for attempt in (1, 2):
            cmd = join_argv(nsenter_argv(self._target, self._found, self._kinds) + argv_tail)
            rc, stdout, stderr = self._host_conn.exec_command(cmd, in_data=in_data, sudoable=sudoable)
            # (stdout too: a host connection with a terminal, such as ssh -tt, merges the streams)
            if rc != GONE_STATUS or to_bytes(GONE_MARK) not in stderr + stdout:
                return rc, stdout, stderr
            if attempt == 1:
                # the service's process is not the one looked up: restarted or ended; look again
                display.vvv(u'NSENTER service %s: its process changed, looking it up again' % self._target[1],
                            host=self._play_context.remote_addr)
                self._lookup()
        raise AnsibleConnectionFailure('service %s: its process keeps changing on %s' % (self._target[1], self._where()))

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super(Connection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)
        executable = self._play_context.executable or '/bin/sh'
        display.vvv(u'EXEC (in %s %s) %s' % (self._target[0], self._target[1], to_text(cmd)),
                    host=self._play_context.remote_addr)
        return self._run([executable, '-c', to_text(cmd)], in_data=in_data, sudoable=sudoable)

    def _local_file(self, path, mode):
        try:
            return open(to_bytes(path, errors='surrogate_or_strict'), mode)
        except (IOError, OSError) as exc:
            raise AnsibleError('cannot open %s on the controller: %s' % (path, to_native(exc)))

    def _dd(self, argv, path, in_data=None):
        """Run dd inside; its output, or AnsibleError naming the path and the target."""
        rc, stdout, stderr = self._run(argv, in_data=in_data)
        if rc != 0:
            raise AnsibleError('cannot transfer %s in %s %s: %s' % (path, self._target[0], self._target[1],
                                                                    to_native(stderr).strip() or 'exit status %d' % rc))
        return stdout

    def put_file(self, in_path, out_path):
        super(Connection, self).put_file(in_path, out_path)
        display.vvv(u'PUT %s TO %s (in %s %s)' % (in_path, out_path, self._target[0], self._target[1]),
                    host=self._play_context.remote_addr)
        with self._local_file(in_path, 'rb') as handle:
            offset = 0
            while True:
                data = handle.read(CHUNK)
                if offset and not data:
                    break  # the size is a multiple of CHUNK
                self._dd(dd_write_argv(out_path, offset, len(data)), out_path, in_data=data or None)
                offset += len(data)
                if len(data) < CHUNK:
                    break

    def fetch_file(self, in_path, out_path):
        super(Connection, self).fetch_file(in_path, out_path)
        display.vvv(u'FETCH %s TO %s (from %s %s)' % (in_path, out_path, self._target[0], self._target[1]),
                    host=self._play_context.remote_addr)
        with self._local_file(out_path, 'wb') as handle:
            offset = 0
            while True:
                data = self._dd(dd_read_argv(in_path, offset), in_path)
                handle.write(data)
                offset += len(data)
                if len(data) < CHUNK:
                    break

    def reset(self):
        if self._host_conn is not None and hasattr(self._host_conn, 'reset'):
            self._host_conn.reset()
        self._connected = False

    def close(self):
        if self._host_conn is not None:
            self._host_conn.close()
        self._connected = False
