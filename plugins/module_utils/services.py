# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""nsproc: launch, identity (PID + start time), stop, and the state records of services.

A service is started by a short-lived child of the module (A), which joins
and creates the namespaces and forks the service's first process (B). B waits
until the module has put it into its cgroups (and A's user namespace has its
ID maps), sets up its mounts, hostname, identity and logs, and execs the
command (under tini when it has an init). A reports B's host PID, whether the
exec worked, and whether B is still running after the startup check, then
exits, so nothing of Python stays.

A is forked by the keeper (K), a child subreaper in the host's namespaces:
when A exits, B becomes K's child, and K execs `sleep infinity`. K never
reaps, so a service that dies later stays a zombie whose exit status the
kernel shows in /proc/<pid>/stat until the next run reads it and ends K
(releasing the zombie to init). K costs one sleeping process per service.
Orphans inside B's own PID namespace go to B, never to K (the kernel looks
for a subreaper only in the orphan's PID namespace); a service that stays in
the host's PID namespace gets no keeper, since its orphans would reach K.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import glob
import grp
import hashlib
import json
import os
import pwd
import select
import shlex
import signal
import tempfile
import time

from ansible_collections.nsforge.linux.plugins.module_utils import cgroups, kernel, nodes
from ansible_collections.nsforge.linux.plugins.module_utils.idmap import MAP_OPTIONS, check_map
from ansible_collections.nsforge.linux.plugins.module_utils.changes import Change, run
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError, bad_option

SERVICE_DIR = nodes.STATE_DIR + '/services'
SERVICE_LOCK_DIR = nodes.LOCK_DIR + '/services'
LOG_DIR = '/var/log/nsforge'
DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
KIND_NAMES = ('pid', 'net', 'uts', 'ipc', 'mnt', 'user', 'cgroup', 'time')
# join order inside each phase (see launch): mnt last, since it changes the root
JOIN_ORDER = ('user', 'cgroup', 'ipc', 'uts', 'net', 'time', 'pid', 'mnt')
DEFAULTS = {'pid': 'new', 'uts': 'new', 'ipc': 'new', 'mnt': 'new', 'net': 'host', 'user': 'host', 'cgroup': 'host', 'time': 'host'}
SIGNALS = ('TERM', 'INT', 'QUIT', 'HUP', 'USR1', 'USR2', 'KILL')
SECRET = '********'


def argument_spec():
    return dict(
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', default='started', choices=['started', 'stopped', 'restarted', 'absent']),
            type=dict(type='str', default='service', choices=['service', 'oneshot']),
            command=dict(type='raw'),
            env=dict(type='dict', no_log=True),
            cwd=dict(type='path', default='/'),
            user=dict(type='str'),
            group=dict(type='str'),
            umask=dict(type='str'),
            node=dict(type='str'),
            namespaces=dict(type='dict'),
            hostname=dict(type='str'),
            mount_proc=dict(type='bool'),
            mounts=dict(type='list', elements='dict', options=dict(
                dst=dict(type='path', required=True),
                src=dict(type='path'),
                type=dict(type='str', default='bind', choices=['bind', 'tmpfs']),
                readonly=dict(type='bool', default=False),
                options=dict(type='str'),
                mkdir=dict(type='bool', default=True),
            )),
            uid_map=dict(type='list', elements='dict', options=MAP_OPTIONS),
            gid_map=dict(type='list', elements='dict', options=MAP_OPTIONS),
            map_root_user=dict(type='bool', default=False),
            allow_host_root=dict(type='bool', default=False),
            init=dict(type='bool'),
            stop_signal=dict(type='str', default='TERM'),
            stop_timeout=dict(type='float', default=10),
            startup_check=dict(type='float', default=0.5),
            timeout=dict(type='float', default=300),
            stdout=dict(type='path'),
            stderr=dict(type='path'),
            limits=dict(type='dict', options=dict(
                memory=dict(type='str'),
                pids=dict(type='int'),
                cpu=dict(type='float'),
            )),
            restart_on_change=dict(type='bool', default=True),
            supervisor=dict(type='str', default='builtin', choices=['builtin', 'systemd']),
            install_only=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )


# ---------------------------------------------------------------------------
# paths and records


def record_path(name):
    nodes.check_name(name, 'name')
    return os.path.join(SERVICE_DIR, name + '.json')


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
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % record['name'], dir=SERVICE_DIR)
    try:
        with os.fdopen(fd, 'w') as handle:
            json.dump(record, handle, sort_keys=True)
        os.chmod(tmp, 0o600)
        os.rename(tmp, record_path(record['name']))
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def remove_record(name):
    try:
        os.unlink(record_path(name))
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise


def locked(name):
    """The service's lock, for a with block."""
    return nodes.file_lock(SERVICE_LOCK_DIR, nodes.check_name(name, 'name') + '.lock')


# ---------------------------------------------------------------------------
# process identity


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


# ---------------------------------------------------------------------------
# validation: parameters -> a normalized configuration


def find_program(program, env):
    if '/' in program:
        candidates = [program]
    else:
        path = (env or {}).get('PATH') or DEFAULT_PATH
        candidates = [os.path.join(d, program) for d in path.split(':') if d]
    for candidate in candidates:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    return None


def subordinate_range(path, user):
    try:
        with open(path) as handle:
            for line in handle:
                parts = line.strip().split(':')
                if len(parts) == 3 and parts[0] in (user, '0') and parts[1].isdigit() and parts[2].isdigit():
                    return int(parts[1]), min(int(parts[2]), 65536)
    except (IOError, OSError):
        pass
    return None


def resolve_ns(kind, value, option):
    """Return ('new'|'host', None) or ('join', path, label) for one namespace kind."""
    if value in ('new', 'host'):
        return {'mode': value, 'path': None, 'label': value}
    if not isinstance(value, str) or not value:
        raise bad_option(option, value, "expected 'new', 'host', a node name or 'service:<name>'")
    if value.startswith('service:'):
        other = value[len('service:'):]
        nodes.check_name(other, option)
        record = read_record(other)
        if not alive(record):
            raise bad_option(option, value, 'no running service %s to join' % other)
        return {'mode': 'join', 'path': kernel.ns_path(kind, record['pid']), 'label': value, 'service': other,
                'pid': record['pid'], 'start_time': record['start_time']}
    nodes.check_name(value, option)
    path = nodes.ns_handle(value, kind)
    if not kernel.is_nsfs_mount(path, kind):
        if kind == 'net':
            raise bad_option(option, value, 'no such node (%s is not a pinned network namespace)' % path)
        raise bad_option(option, value, 'node %s has no pinned %s namespace (%s)' % (value, kind, path))
    return {'mode': 'join', 'path': path, 'label': value}


def stop_signal(value):
    """A stop signal's name without SIG, validated."""
    sig = (value or 'TERM').upper()
    sig = sig[3:] if sig.startswith('SIG') else sig
    if sig not in SIGNALS:
        raise bad_option('stop_signal', value, 'expected one of %s' % ', '.join(SIGNALS))
    return sig


def validate(params):
    """Return the normalized configuration (a dict) of a service declaration."""
    name = nodes.check_name(params['name'], 'name')
    state = params['state']
    cfg = {'name': name, 'type': params['type']}
    command = params.get('command')
    if command is None:
        if state in ('started', 'restarted'):
            raise bad_option('command', None, 'a service needs a command to be %s' % state)
        return None
    if isinstance(command, str):
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise bad_option('command', command, str(exc))
    elif isinstance(command, list):
        argv = [str(a) if isinstance(a, (int, float)) else a for a in command]
    else:
        raise bad_option('command', command, 'expected a list of arguments or a string')
    if not argv or not all(isinstance(a, str) for a in argv) or any('\x00' in a for a in argv):
        raise bad_option('command', command, 'expected a non-empty list of strings without NUL')
    env = dict((str(k), str(v)) for k, v in (params.get('env') or {}).items())
    for key in env:
        if not key or '=' in key or '\x00' in key:
            raise bad_option('env', key, 'not a valid variable name')
    program = find_program(argv[0], env)
    if program is None:
        raise bad_option('command', argv[0], 'no executable of that name (searched %s)'
                         % ('its path' if '/' in argv[0] else 'PATH ' + (env.get('PATH') or DEFAULT_PATH)))
    cfg.update(command=argv, program=program, env=env, cwd=params.get('cwd') or '/')
    # namespaces
    wanted = dict(DEFAULTS)
    node = params.get('node')
    if node is not None:
        nodes.check_name(node, 'node')
        if not nodes.netns_exists(node):
            raise bad_option('node', node, 'no such node (no pinned network namespace %s)' % nodes.netns_path(node))
        wanted['net'] = node
        for kind in ('uts', 'ipc', 'mnt', 'user', 'cgroup', 'time'):
            if kind == 'uts' and params.get('hostname') is not None:
                continue
            if kernel.is_nsfs_mount(nodes.ns_handle(node, kind), kind):
                wanted[kind] = node
    given = params.get('namespaces') or {}
    for kind, value in given.items():
        if kind not in KIND_NAMES:
            raise bad_option('namespaces', kind, 'unknown namespace kind; expected one of %s' % ', '.join(KIND_NAMES))
        wanted[kind] = value
    if params.get('hostname') is not None and 'uts' not in given:
        wanted['uts'] = 'new'
    cfg['namespaces'] = dict((kind, resolve_ns(kind, wanted[kind], 'namespaces.%s' % kind)) for kind in KIND_NAMES)
    ns = dict((k, v['mode']) for k, v in cfg['namespaces'].items())
    if params.get('hostname') is not None:
        if ns['uts'] != 'new':
            raise bad_option('hostname', params['hostname'], 'needs a UTS namespace of its own (namespaces.uts: new)')
        from ansible_collections.nsforge.linux.plugins.module_utils.network import check_hostname
        check_hostname(params['hostname'], 'hostname')
    cfg['hostname'] = params.get('hostname')
    # The /proc a service sees shows its own PID namespace: a service that does not share the host's PID namespace
    # gets a fresh /proc, unless it joins both the PID and the mount namespace of one other service (whose /proc
    # already shows that PID namespace).
    mount_proc = params.get('mount_proc')
    if mount_proc is None:
        same = cfg['namespaces']['pid'].get('service')
        mount_proc = ns['pid'] != 'host' and not (same and cfg['namespaces']['mnt'].get('service') == same)
    cfg['mount_proc'] = bool(mount_proc)
    mounts = []
    for i, mount in enumerate(params.get('mounts') or []):
        mopt = 'mounts[%d]' % i
        if not os.path.isabs(mount['dst']) or '..' in mount['dst'].split('/'):
            raise bad_option(mopt + '.dst', mount['dst'], 'expected an absolute path without ..')
        if mount['type'] == 'bind':
            if not mount.get('src'):
                raise bad_option(mopt + '.src', None, 'a bind mount needs src')
            if not os.path.exists(mount['src']):
                raise bad_option(mopt + '.src', mount['src'], 'no such file or folder')
        elif mount.get('src'):
            raise bad_option(mopt + '.src', mount['src'], 'a tmpfs takes no src')
        options = mount.get('options')
        if options is not None and (mount['type'] != 'tmpfs' or any(c.isspace() or ord(c) < 32 for c in options)):
            raise bad_option(mopt + '.options', options, 'options are for tmpfs, as comma-separated words without spaces')
        mounts.append({'dst': os.path.normpath(mount['dst']), 'src': mount.get('src'), 'type': mount['type'],
                       'readonly': bool(mount['readonly']), 'options': options, 'mkdir': bool(mount['mkdir'])})
    cfg['mounts'] = mounts
    # The service's view of the file system (see mount_view_of).
    cfg['mount_view'] = mount_view_of(ns['mnt'], cfg['mount_proc'], bool(mounts))
    # user namespace and ID maps
    uid_map = gid_map = None
    if params.get('uid_map') or params.get('gid_map') or params.get('map_root_user'):
        if ns['user'] != 'new':
            raise bad_option('uid_map' if params.get('uid_map') else 'map_root_user', params.get('uid_map') or True,
                             'ID maps need a user namespace of its own (namespaces.user: new)')
    if ns['user'] == 'new':
        allow = params.get('allow_host_root')
        if params.get('map_root_user'):
            if params.get('uid_map') or params.get('gid_map'):
                raise bad_option('map_root_user', True, 'map_root_user and uid_map/gid_map are mutually exclusive')
            sub_u = subordinate_range('/etc/subuid', 'root')
            sub_g = subordinate_range('/etc/subgid', 'root')
            if sub_u is None or sub_g is None:
                raise bad_option('map_root_user', True, 'root has no subordinate range in /etc/subuid and /etc/subgid; '
                                 'add one (nsforge.linux.uidmap) or give uid_map')
            uid_map = [(0, sub_u[0], sub_u[1])]
            gid_map = [(0, sub_g[0], sub_g[1])]
        elif params.get('uid_map'):
            uid_map = check_map(params['uid_map'], 'uid_map', allow)
            gid_map = check_map(params['gid_map'], 'gid_map', allow) if params.get('gid_map') else uid_map
        else:
            raise bad_option('namespaces.user', 'new', 'a new user namespace needs uid_map or map_root_user')
    cfg['uid_map'] = uid_map
    cfg['gid_map'] = gid_map
    # identity
    cfg['uid'] = cfg['gid'] = None
    if params.get('user') is not None:
        user = params['user']
        try:
            entry = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
            cfg['uid'], cfg['gid'] = entry.pw_uid, entry.pw_gid
        except KeyError:
            if not user.isdigit():
                raise bad_option('user', user, 'no such user')
            cfg['uid'] = cfg['gid'] = int(user)
        if ns['user'] == 'join':
            uid_map = kernel.read_userns_maps(cfg['namespaces']['user']['path'])[0]
        if uid_map is not None and not any(i <= cfg['uid'] < i + c for i, _o, c in uid_map):
            raise bad_option('user', user, 'uid %d is not mapped inside the user namespace' % cfg['uid'])
    elif ns['user'] != 'host':
        # host root is not mapped in the service's user namespace: become root inside (a mapped, unprivileged ID
        # outside), so exec keeps the rights inside and the process never keeps host root's ID
        cfg['uid'] = cfg['gid'] = 0
        if ns['user'] == 'join':
            uid_map = kernel.read_userns_maps(cfg['namespaces']['user']['path'])[0]
        if not any(i == 0 for i, _o, _c in uid_map):
            raise bad_option('uid_map' if ns['user'] == 'new' else 'namespaces.user', params.get('uid_map') or given.get('user'),
                             'ID 0 inside is not mapped; map it, or set user to a mapped ID')
    if params.get('group') is not None:
        group = params['group']
        try:
            cfg['gid'] = grp.getgrgid(int(group)).gr_gid if group.isdigit() else grp.getgrnam(group).gr_gid
        except KeyError:
            if not group.isdigit():
                raise bad_option('group', group, 'no such group')
            cfg['gid'] = int(group)
    cfg['umask'] = None
    if params.get('umask') is not None:
        try:
            cfg['umask'] = int(params['umask'], 8)
        except ValueError:
            cfg['umask'] = -1
        if not 0 <= cfg['umask'] <= 0o777:
            raise bad_option('umask', params['umask'], 'expected an octal mask such as 0022')
    # init
    init = params.get('init')
    if init is None:
        init = ns['pid'] == 'new' and cfg['type'] == 'service'
    cfg['init'] = None
    if init:
        tini = find_program('tini', None) or find_program('tini-static', None)
        if tini is None:
            raise bad_option('init', True, 'tini is not installed (Debian/Ubuntu package tini); install it or set init: false')
        cfg['init'] = tini
    # logs
    for key in ('stdout', 'stderr'):
        path = params.get(key)
        if path is None:
            path = os.path.join(LOG_DIR, name, key + '.log')
        else:
            if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
                raise bad_option(key, path, 'its folder does not exist')
            if os.path.isdir(path):
                raise bad_option(key, path, 'is a folder')
        cfg[key] = path
    cfg['limits'] = cgroups.parse_limits(params.get('limits'))
    cfg['stop_signal'] = stop_signal(params.get('stop_signal'))
    for key in ('stop_timeout', 'startup_check', 'timeout'):
        if params.get(key) is not None and params[key] < 0:
            raise bad_option(key, params[key], 'must not be negative')
    cfg['startup_check'] = params.get('startup_check') if params.get('startup_check') is not None else 0.5
    cfg['timeout'] = params.get('timeout') if params.get('timeout') is not None else 300
    return cfg


def mount_view_of(mnt_mode, mount_proc, has_mounts):
    """How the service's mount namespace is made, from its namespaces.mnt mode:
    - 'new': a private copy of the module's view (the host's), which shares nothing with it afterwards;
    - 'child': a copy of the joined view (a node's, another service's) or of the host's, made a slave of it, so
      that mounts made there later (nsmount) still reach the service, while the service's own mounts (its /proc,
      its mounts) stay its own: as the containers of a pod see the pod's volumes;
    - None: the joined or the host's view itself, when the service mounts nothing of its own.
    """
    if mnt_mode == 'new':
        return 'new'
    return 'child' if mount_proc or has_mounts else None


def public_config(cfg):
    """The configuration as shown in diff and hashed: env values masked for display."""
    if cfg is None:
        return None
    shown = dict((k, v) for k, v in cfg.items() if k not in ('env', 'stop_signal', 'startup_check', 'timeout'))
    shown['env'] = dict((k, SECRET) for k in sorted(cfg['env']))
    shown['namespaces'] = dict((k, v['label']) for k, v in cfg['namespaces'].items())
    return shown


def config_hash(cfg):
    data = public_config(cfg)
    data['env'] = cfg['env']
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode('utf-8')).hexdigest()


# ---------------------------------------------------------------------------
# launching


def _send(fd, **message):
    data = (json.dumps(message) + '\n').encode('utf-8')
    try:
        os.write(fd, data)
    except OSError:
        pass


def _quiet_stdio():
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    if devnull > 2:
        os.close(devnull)


def _child_b(cfg, go_r, go_w, err_w, out_fd, err_fd):
    """The service's first process: never returns."""
    stage = 'start'
    try:
        os.close(go_w)
        # a session and process group of its own: stop signals the whole group when the PID namespace is shared
        os.setsid()
        # Python ignores these; an exec'd program must not inherit that
        for signum in (signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(signum, signal.SIG_DFL)
        stage = 'wait for the module'
        if os.read(go_r, 1) != b'1':
            os._exit(125)
        os.close(go_r)
        view = cfg['mount_view']
        if view is not None:
            if view == 'new':
                stage = 'make the mount namespace private'
                kernel.mount('none', '/', None, kernel.MS_REC | kernel.MS_PRIVATE)
            else:
                stage = 'make the mount view a slave of %s' % cfg['namespaces']['mnt']['label']
                kernel.mount('none', '/', None, kernel.MS_REC | kernel.MS_SLAVE)
            for i, mount in enumerate(cfg['mounts']):
                stage = 'mounts[%d] on %s' % (i, mount['dst'])
                if not os.path.exists(mount['dst']):
                    if not mount['mkdir']:
                        raise OSError(errno.ENOENT, 'mount point does not exist')
                    if mount['type'] == 'bind' and not os.path.isdir(mount['src']):
                        parent = os.path.dirname(mount['dst'])
                        if not os.path.isdir(parent):
                            os.makedirs(parent, 0o755)
                        open(mount['dst'], 'a').close()
                    else:
                        os.makedirs(mount['dst'], 0o755)
                if mount['type'] == 'bind':
                    kernel.mount(mount['src'], mount['dst'], None, kernel.MS_BIND | kernel.MS_REC)
                    if mount['readonly']:
                        kernel.mount('none', mount['dst'], None, kernel.MS_BIND | kernel.MS_REMOUNT | kernel.MS_RDONLY)
                else:
                    flags = kernel.MS_NOSUID | kernel.MS_NODEV | (kernel.MS_RDONLY if mount['readonly'] else 0)
                    kernel.mount('tmpfs', mount['dst'], 'tmpfs', flags, mount['options'])
            if cfg['mount_proc']:
                stage = 'mount /proc'
                kernel.mount('proc', '/proc', 'proc', kernel.MS_NOSUID | kernel.MS_NODEV | kernel.MS_NOEXEC)
        if cfg['hostname'] is not None:
            stage = 'set the hostname'
            kernel.sethostname(cfg['hostname'])
        stage = 'set up standard streams'
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        stage = 'close inherited files'
        os.closerange(3, err_w)
        os.closerange(err_w + 1, 65536)
        stage = 'change to cwd %s' % cfg['cwd']
        os.chdir(cfg['cwd'])
        if cfg['umask'] is not None:
            os.umask(cfg['umask'])
        if cfg['gid'] is not None:
            stage = 'set group %d' % cfg['gid']
            os.setgroups([cfg['gid']])
            os.setgid(cfg['gid'])
        if cfg['uid'] is not None:
            stage = 'set user %d' % cfg['uid']
            os.setuid(cfg['uid'])
        env = {'PATH': DEFAULT_PATH}
        if cfg['hostname']:
            env['HOSTNAME'] = cfg['hostname']
        env.update(cfg['env'])
        argv = list(cfg['command'])
        program = cfg['program']
        if cfg['init']:
            argv = [cfg['init'], '-g', '--', program] + argv[1:]
            program = cfg['init']
        stage = 'exec %s' % program
        os.execve(program, argv, env)
    except BaseException as exc:  # pylint: disable=broad-except
        try:
            os.write(err_w, ('%s: %s' % (stage, exc)).encode('utf-8', 'replace'))
        finally:
            os._exit(127)


def _child_a(cfg, joins, info_w, map_r, go_r, go_w, out_fd, err_fd):
    """Joins and creates namespaces, forks the service, reports; never returns."""
    try:
        os.setsid()
        _quiet_stdio()
        for kind, fd in joins:
            kernel.setns(fd, kind)
            os.close(fd)
        flags = kernel.CLONE_NEWNS if cfg['mount_view'] == 'child' else 0
        for kind, spec in cfg['namespaces'].items():
            if spec['mode'] == 'new':
                flags |= kernel.flag_of(kind)
        if flags:
            kernel.unshare(flags)
        if cfg['namespaces']['user']['mode'] == 'new':
            _send(info_w, userns=os.getpid())
            if os.read(map_r, 1) != b'1':
                os._exit(1)
        err_r, err_w = os.pipe()
        fcntl.fcntl(err_w, fcntl.F_SETFD, fcntl.FD_CLOEXEC)
        pid = os.fork()
        if pid == 0:
            os.close(err_r)
            _child_b(cfg, go_r, go_w, err_w, out_fd, err_fd)
        os.close(err_w)
        os.close(go_r)
        os.close(go_w)
        _send(info_w, pid=pid)
        chunks = []
        while True:
            data = os.read(err_r, 4096)
            if not data:
                break
            chunks.append(data)
        if chunks:
            os.waitpid(pid, 0)
            _send(info_w, error=b''.join(chunks).decode('utf-8', 'replace'))
            os._exit(0)
        if cfg['type'] == 'oneshot':
            deadline = time.time() + cfg['timeout']
        else:
            deadline = time.time() + cfg['startup_check']
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                if os.WIFSIGNALED(status):
                    _send(info_w, exited=128 + os.WTERMSIG(status), signal=os.WTERMSIG(status))
                else:
                    _send(info_w, exited=os.WEXITSTATUS(status))
                os._exit(0)
            if time.time() >= deadline:
                break
            time.sleep(0.02)
        if cfg['type'] == 'oneshot':
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            _send(info_w, timeout=cfg['timeout'])
        else:
            _send(info_w, running=True)
        os._exit(0)
    except BaseException as exc:  # pylint: disable=broad-except
        _send(info_w, error='%s' % exc)
        os._exit(1)


def _keeper(hold, child_args):
    """K: forks A, then holds B for the service's whole life (see the module docstring); never returns."""
    info_w = child_args[2]
    try:
        os.setsid()
        if hold:
            try:
                kernel.set_child_subreaper()
            except OSError:
                hold = None  # without it B goes to init, as an ordinary daemon would; its exit code is then lost
        pid_a = os.fork()
        if pid_a == 0:
            _child_a(*child_args)
        _send(info_w, launcher=pid_a)
        _quiet_stdio()
        os.closerange(3, 65536)
        os.waitpid(pid_a, 0)
        try:
            os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            held = True  # B, running or already a zombie
        except ChildProcessError:
            held = False  # the service exited during startup, or never started: nothing to hold
        if held and hold:
            os.execv(hold, [hold, 'infinity'])
    except BaseException:  # pylint: disable=broad-except
        pass
    os._exit(0)


def _end_keeper(pid):
    """Kill and reap a keeper this process forked (a failed start: it must not hold anything)."""
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        os.waitpid(pid, 0)
    except OSError:
        pass


def _open_log(path):
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o750)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
    return fd


def tail(path, offset, size=2048):
    try:
        with open(path, 'rb') as handle:
            handle.seek(0, os.SEEK_END)
            end = handle.tell()
            handle.seek(max(offset, end - size))
            return handle.read().decode('utf-8', 'replace').strip()
    except (IOError, OSError):
        return ''


def launch(cfg):
    """Start the service; return its record. Nothing is left behind when it fails."""
    joins = []
    out_fd = err_fd = None
    dirs = []
    pid_b = None
    keeper_running = False
    try:
        # join targets are opened now, so a vanished one fails before anything starts
        own_userns = kernel.ns_id(kernel.ns_path('user'))[1]
        order = []
        for kind in JOIN_ORDER:
            spec = cfg['namespaces'][kind]
            if spec['mode'] == 'join':
                if spec.get('service') and not alive({'pid': spec['pid'], 'start_time': spec['start_time']}):
                    raise bad_option('namespaces.%s' % kind, spec['label'], 'the service is no longer running')
                # namespaces owned by our own user namespace are joined before a user namespace is
                # joined: after it, this process has no rights left over them
                if kind == 'user':
                    phase = 1
                else:
                    phase = 0 if kernel.owner_userns_inode(spec['path']) == own_userns else 2
                order.append((phase, JOIN_ORDER.index(kind), kind, spec['path']))
        for _phase, _index, kind, path in sorted(order):
            joins.append((kind, os.open(path, os.O_RDONLY | os.O_CLOEXEC)))
        # the view a child mount view is copied from: the joined one, else the host's (this process's)
        mnt_parent = None
        if cfg['mount_view'] == 'child':
            joined = [fd for kind, fd in joins if kind == 'mnt']
            mnt_parent = os.fstat(joined[0]).st_ino if joined else kernel.ns_id(kernel.ns_path('mnt'))[1]
        out_fd = _open_log(cfg['stdout'])
        err_fd = out_fd if cfg['stderr'] == cfg['stdout'] else _open_log(cfg['stderr'])
        err_offset = os.fstat(err_fd).st_size
        dirs = cgroups.create(cfg['name'], cfg['limits'])
        info_r, info_w = os.pipe()
        map_r, map_w = os.pipe()
        go_r, go_w = os.pipe()
        # A service in the host's PID namespace gets no keeper: its own orphans would be reparented to the keeper
        # (a subreaper of their namespace) and stay zombies, since the keeper never reaps.
        # Nor does one that systemd supervises (cfg keeper False): systemd must reap it to see it exit and restart it.
        hold = find_program('sleep', None) if cfg['namespaces']['pid']['mode'] != 'host' and cfg.get('keeper', True) else None
        pid_k = os.fork()
        if pid_k == 0:
            os.close(info_r)
            os.close(map_w)
            _keeper(hold, (cfg, joins, info_w, map_r, go_r, go_w, out_fd, err_fd))
        keeper_running = True
        for fd in (info_w, map_r, go_r):
            os.close(fd)
        result = {}
        buf = b''
        pid_a = None
        try:
            while True:
                ready = select.select([info_r], [], [], max(cfg['timeout'], cfg['startup_check']) + 30)[0]
                if not ready:
                    raise NsforgeError('the service did not report back in time')
                data = os.read(info_r, 65536)
                if not data:
                    break
                buf += data
                while b'\n' in buf:
                    line, buf = buf.split(b'\n', 1)
                    msg = json.loads(line.decode('utf-8'))
                    if 'launcher' in msg:
                        pid_a = msg['launcher']
                    elif 'userns' in msg:
                        _write_maps(msg['userns'], cfg)
                        os.write(map_w, b'1')
                    elif 'pid' in msg:
                        pid_b = msg['pid']
                        cgroups.attach(dirs, pid_b)
                        os.write(go_w, b'1')
                    else:
                        result.update(msg)
        except BaseException:
            # the launcher and the service wait on pipes: end them before waiting
            for pid in (pid_b, pid_a):
                if pid is not None:
                    _kill_quietly(pid)
            raise
        finally:
            for fd in (info_r, map_w, go_w):
                os.close(fd)
        if not result.get('running'):
            # nothing to hold: the keeper exits by itself, or is ended here
            _end_keeper(pid_k)
            keeper_running = False
        if 'error' in result:
            raise NsforgeError('could not start: %s' % result['error'])
        if 'timeout' in result:
            raise NsforgeError('the one-shot command ran longer than timeout (%ss) and was killed; stderr: %s'
                               % (result['timeout'], tail(cfg['stderr'], err_offset)), option='timeout')
        if 'exited' in result:
            code = result['exited']
            if cfg['type'] == 'oneshot' and code == 0:
                cgroups.remove(dirs)
                record = _record(cfg, pid_b, None, [])
                record.update(status='exited', exit_code=0, pid=None, start_time=None)
                return record
            what = 'the command' if cfg['type'] == 'oneshot' else 'the service exited during startup_check and'
            raise NsforgeError('%s failed with exit code %d%s; stderr: %s'
                               % (what, code, ' (signal %d)' % result['signal'] if 'signal' in result else '',
                                  tail(cfg['stderr'], err_offset) or '(empty)'), exit_code=code)
        if not result.get('running') or pid_b is None:
            raise NsforgeError('could not start: no report from the launcher')
        record = _record(cfg, pid_b, ns_inodes(pid_b), dirs)
        record['mnt_parent'] = mnt_parent
        record['stderr_offset'] = err_offset
        found = proc_stat(pid_k)
        record['keeper'] = {'pid': pid_k, 'start_time': found[1] if found else None}
        if not alive(record):
            raise NsforgeError('the service exited right after startup; stderr: %s' % tail(cfg['stderr'], err_offset))
        return record
    except Exception:
        if pid_b is not None:
            _kill_quietly(pid_b)
        if keeper_running:
            _end_keeper(pid_k)
        cgroups.remove(dirs)
        raise
    finally:
        for _kind, fd in joins:
            try:
                os.close(fd)
            except OSError:
                pass
        for fd in set(f for f in (out_fd, err_fd) if f is not None):
            os.close(fd)


def _kill_quietly(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    deadline = time.time() + 5
    while time.time() < deadline:
        found = proc_stat(pid)
        if found is None or found[0] in ('Z', 'X'):
            return
        time.sleep(0.02)


def _write_maps(pid, cfg):
    for kind, lines in (('uid_map', cfg['uid_map']), ('gid_map', cfg['gid_map'])):
        text = ''.join('%d %d %d\n' % line for line in lines)
        with open('/proc/%d/%s' % (pid, kind), 'w') as handle:
            handle.write(text)


def _record(cfg, pid, inodes, dirs):
    start = proc_stat(pid) if pid else None
    record = {
        'name': cfg['name'],
        'type': cfg['type'],
        'status': 'running',
        'pid': pid,
        'start_time': start[1] if start else None,
        'ns_pid': ns_pid(pid) if pid else None,
        'namespaces': inodes or {},
        'namespace_modes': dict((k, v['mode']) for k, v in cfg['namespaces'].items()),
        'hostname': None,
        'stdout': cfg['stdout'],
        'stderr': cfg['stderr'],
        'exit_code': None,
        'config_hash': config_hash(cfg),
        'config': public_config(cfg),
        'cgroups': dirs,
        'stop_signal': cfg['stop_signal'],
        'started_at': time.time(),
    }
    if pid and inodes:
        try:
            record['hostname'] = kernel.read_hostname(kernel.ns_path('uts', pid))
        except Exception:  # pylint: disable=broad-except
            record['hostname'] = None
    return record


# ---------------------------------------------------------------------------
# stopping


def stop(record, sig_name, timeout):
    """Stop a recorded service; only the recorded process (same start time) is ever signalled."""
    if not alive(record):
        return
    pid = record['pid']
    group = record.get('namespace_modes', {}).get('pid') != 'new'
    sig = getattr(signal, 'SIG' + sig_name)
    _signal(pid, sig, group)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not alive(record):
            break
        time.sleep(0.02)
    if alive(record):
        _signal(pid, signal.SIGKILL, group)
        deadline = time.time() + 10
        while time.time() < deadline and alive(record):
            time.sleep(0.02)
    if alive(record):
        raise NsforgeError('service %s (pid %d) did not stop even after KILL' % (record['name'], pid))


def _signal(pid, sig, group):
    try:
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except OSError as exc:
        if exc.errno != errno.ESRCH:
            raise


# ---------------------------------------------------------------------------
# the task


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
        return {'name': None, 'status': 'absent', 'pid': None, 'ns_pid': None, 'start_time': None, 'namespaces': {},
                'mnt_parent': None, 'hostname': None, 'stdout': None, 'stderr': None, 'exit_code': None,
                'exit_signal': None, 'stderr_tail': None, 'crashes': 0, 'previous_exit': None, 'config_hash': None}
    status = status_of(record)
    running = status == 'running'
    ended = last_exit(record, status) or {}
    return {
        'name': record['name'],
        'status': status,
        'pid': record['pid'] if running else None,
        'ns_pid': record.get('ns_pid') if running else None,
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


def converge(module, params, check_mode):
    name = nodes.check_name(params['name'], 'name')
    state = params['state']
    with locked(name):
        record = read_record(name)
        cfg = validate(params) if state in ('started', 'restarted') else None
        sig = cfg['stop_signal'] if cfg else stop_signal(params.get('stop_signal'))
        timeout = params.get('stop_timeout') or 0
        running = alive(record)
        before = {'status': status_of(record), 'config_hash': record.get('config_hash') if record else None,
                  'config': record.get('config') if record else None}
        plan = []
        holder = {'record': record}
        label = 'service %s' % name

        def do_stop():
            stop(holder['record'], sig, timeout)
            release_keeper(holder['record'])
            cgroups.remove(holder['record'].get('cgroups') or [])
            # stopped on purpose, not a crash; written now, so a run killed before its next step knows it too
            holder['record'] = dict(holder['record'], status='stopped')
            write_record(holder['record'])

        def do_start():
            old = holder['record']
            ended = last_exit(old)
            crashed = ended is not None and old.get('type') != 'oneshot'
            new = launch(cfg)
            # the old zombie (if any) is released only once the new start worked, so a failed start keeps its code
            release_keeper(old)
            if old is not None and old.get('status') == 'running':
                cgroups.remove([d for d in old.get('cgroups') or [] if d not in new.get('cgroups', [])])
            new['crashes'] = old.get('crashes', 0) + 1 if crashed else 0
            new['previous_exit'] = dict(ended, at=old.get('started_at')) if crashed else None
            holder['record'] = new
            write_record(new)

        def mark(status):
            def apply():
                holder['record'] = dict(holder['record'], status=status)
                write_record(holder['record'])
            return apply

        new_hash = config_hash(cfg) if cfg else None
        if state == 'started':
            if cfg['type'] == 'oneshot':
                done = record is not None and record.get('type') == 'oneshot' and record.get('exit_code') == 0 \
                    and record.get('config_hash') == new_hash
                if not done:
                    plan.append(Change('%s: run %s' % (label, ' '.join(cfg['command'])), do_start))
            elif running:
                if record.get('config_hash') != new_hash and params.get('restart_on_change', True):
                    plan.append(Change('%s: stop (pid %d) because its configuration changed' % (label, record['pid']), do_stop))
                    plan.append(Change('%s: start %s' % (label, ' '.join(cfg['command'])), do_start))
            else:
                ended = last_exit(record)
                if ended is not None and ended['exit_code'] is not None:
                    signalled = '' if ended['exit_signal'] is None else ', signal %d' % ended['exit_signal']
                    why = ' (it exited with code %d%s)' % (ended['exit_code'], signalled)
                else:
                    why = '' if record is None else ' (it was %s)' % status_of(record)
                plan.append(Change('%s: start %s%s' % (label, ' '.join(cfg['command']), why), do_start))
        elif state == 'restarted':
            if running:
                plan.append(Change('%s: stop (pid %d)' % (label, record['pid']), do_stop))
            plan.append(Change('%s: %s %s' % (label, 'run' if cfg['type'] == 'oneshot' else 'start', ' '.join(cfg['command'])),
                               do_start))
        elif state == 'stopped':
            if running:
                plan.append(Change('%s: stop (pid %d) with SIG%s' % (label, record['pid'], sig), do_stop))
                plan.append(Change('%s: record it as stopped' % label, mark('stopped')))
        elif state == 'absent':
            if running:
                plan.append(Change('%s: stop (pid %d) with SIG%s' % (label, record['pid'], sig), do_stop))
            elif record is not None and record.get('cgroups'):
                plan.append(Change('%s: remove its cgroups' % label, lambda: cgroups.remove(record.get('cgroups') or [])))
            if record is not None:
                def forget():
                    release_keeper(record)
                    remove_record(name)
                plan.append(Change('%s: remove its state record %s' % (label, record_path(name)), forget))
        descriptions = run(plan, check_mode)
        if check_mode or not plan:
            after_record = record
            if plan:
                after = {'status': {'started': 'exited' if cfg and cfg['type'] == 'oneshot' else 'running',
                                    'restarted': 'exited' if cfg and cfg['type'] == 'oneshot' else 'running',
                                    'stopped': 'stopped', 'absent': 'absent'}[state],
                         'config_hash': new_hash if cfg else (before['config_hash'] if state != 'absent' else None),
                         'config': public_config(cfg) if cfg else (before['config'] if state != 'absent' else None)}
            else:
                after = before
        else:
            after_record = None if state == 'absent' else holder['record']
            after = {'status': status_of(after_record), 'config_hash': after_record.get('config_hash') if after_record else None,
                     'config': after_record.get('config') if after_record else None}
    result = {
        'changed': bool(plan),
        'changes': descriptions,
        'service': dict(view(after_record), name=name),
        'diff': {'before': before, 'after': after},
    }
    return result
