# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""nsproc: a service's options validated into its configuration, before anything starts.

validate() returns the normalized configuration (the command and program, its namespaces to create or join, its
view of the file system, ID maps, identity, init, logs, limits), or raises NsforgeError naming the option at
fault. It looks up on the host only what the options name: programs on PATH, users and groups, nodes and
services to join, subordinate ranges. The configuration's public view and hash decide whether a running service
restarts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import hashlib
import json
import os
import pwd
import shlex

from ansible_collections.nsforge.linux.plugins.module_utils import cgroups, kernel, mounts, nodes
from ansible_collections.nsforge.linux.plugins.module_utils.errors import bad_option
from ansible_collections.nsforge.linux.plugins.module_utils.idmap import check_map
from ansible_collections.nsforge.linux.plugins.module_utils.layout import netns_path, ns_handle, service_log
from ansible_collections.nsforge.linux.plugins.module_utils.names import check_hostname, check_name
from ansible_collections.nsforge.linux.plugins.module_utils.nsproc_records import alive, read_record

DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
KIND_NAMES = ('pid', 'net', 'uts', 'ipc', 'mnt', 'user', 'cgroup', 'time')
DEFAULTS = {'pid': 'new', 'uts': 'new', 'ipc': 'new', 'mnt': 'new', 'net': 'host', 'user': 'host', 'cgroup': 'host', 'time': 'host'}
SIGNALS = ('TERM', 'INT', 'QUIT', 'HUP', 'USR1', 'USR2', 'KILL')
SECRET = '********'


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


def resolve_ns(kind, value, option, pending=()):
    """Return ('new'|'host', None) or ('join', path, label) for one namespace kind.

    pending: services that an earlier item of the same task starts; joining one is valid before it runs (its path
    is known only once it does)."""
    if value in ('new', 'host'):
        return {'mode': value, 'path': None, 'label': value}
    if not isinstance(value, str) or not value:
        raise bad_option(option, value, "expected 'new', 'host', a node name or 'service:<name>'")
    if value.startswith('service:'):
        other = value[len('service:'):]
        check_name(other, option)
        if other in pending:
            return {'mode': 'join', 'path': None, 'label': value, 'service': other, 'pid': None, 'start_time': None}
        record = read_record(other)
        if not alive(record):
            raise bad_option(option, value, 'no running service %s to join' % other)
        return {'mode': 'join', 'path': kernel.ns_path(kind, record['pid']), 'label': value, 'service': other,
                'pid': record['pid'], 'start_time': record['start_time']}
    check_name(value, option)
    path = ns_handle(value, kind)
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


def validate(params, pending=()):
    """Return the normalized configuration (a dict) of a service declaration; None without a command when the
    state needs none (stopped, absent). pending: as resolve_ns."""
    name = check_name(params['name'], 'name')
    cfg = {'name': name, 'type': params['type']}
    if params.get('command') is None:
        if params['state'] in ('started', 'restarted'):
            raise bad_option('command', None, 'a service needs a command to be %s' % params['state'])
        return None
    cfg.update(_command(params))
    cfg['namespaces'] = _namespaces(params, pending)
    ns = dict((k, v['mode']) for k, v in cfg['namespaces'].items())
    if params.get('hostname') is not None:
        if ns['uts'] != 'new':
            raise bad_option('hostname', params['hostname'], 'needs a UTS namespace of its own (namespaces.uts: new)')
        check_hostname(params['hostname'], 'hostname')
    cfg['hostname'] = params.get('hostname')
    cfg['uid_map'], cfg['gid_map'] = _id_maps(params, ns['user'])
    cfg.update(_identity(params, cfg))
    cfg.update(_view(params, cfg))
    cfg['init'] = _init(params, ns['pid'], cfg['type'])
    for key in ('stdout', 'stderr'):
        cfg[key] = _log(params, key, name)
    cfg['limits'] = cgroups.parse_limits(params.get('limits'))
    cfg['stop_signal'] = stop_signal(params.get('stop_signal'))
    for key in ('stop_timeout', 'startup_check', 'timeout'):
        if params.get(key) is not None and params[key] < 0:
            raise bad_option(key, params[key], 'must not be negative')
    cfg['startup_check'] = params.get('startup_check') if params.get('startup_check') is not None else 0.5
    cfg['timeout'] = params.get('timeout') if params.get('timeout') is not None else 300
    return cfg


def _command(params):
    """The argument vector, the program it runs (found on PATH), the environment and the working folder."""
    command = params['command']
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
    return {'command': argv, 'program': program, 'env': env, 'cwd': params.get('cwd') or '/'}


def _namespaces(params, pending):
    """{kind: how} of each kind of namespace: new, the host's, or one to join (a node's, a service's)."""
    wanted = dict(DEFAULTS)
    node = params.get('node')
    if node is not None:
        check_name(node, 'node')
        if not nodes.netns_exists(node):
            raise bad_option('node', node, 'no such node (no pinned network namespace %s)' % netns_path(node))
        wanted['net'] = node
        for kind in ('uts', 'ipc', 'mnt', 'user', 'cgroup', 'time'):
            if kind == 'uts' and params.get('hostname') is not None:
                continue
            if kernel.is_nsfs_mount(ns_handle(node, kind), kind):
                wanted[kind] = node
    given = params.get('namespaces') or {}
    for kind, value in given.items():
        if kind not in KIND_NAMES:
            raise bad_option('namespaces', kind, 'unknown namespace kind; expected one of %s' % ', '.join(KIND_NAMES))
        wanted[kind] = value
    if params.get('hostname') is not None and 'uts' not in given:
        wanted['uts'] = 'new'
    return dict((kind, resolve_ns(kind, wanted[kind], 'namespaces.%s' % kind, pending)) for kind in KIND_NAMES)


def _view(params, cfg):
    """mount_proc, mounts and mount_view: the service's view of the file system.

    The /proc a service sees shows its own PID namespace: a service that does not share the host's PID namespace
    gets a fresh /proc, unless it joins both the PID and the mount namespace of one other service (whose /proc
    already shows that PID namespace). The private folders are owned by the service's user, when it has one.
    """
    namespaces = cfg['namespaces']
    mount_proc = params.get('mount_proc')
    if mount_proc is None:
        same = namespaces['pid'].get('service')
        mount_proc = namespaces['pid']['mode'] != 'host' and not (same and namespaces['mnt'].get('service') == same)
    owner = (cfg['uid'], cfg['gid']) if params.get('user') is not None else None
    entries = mounts.with_private(params.get('mounts'), params.get('private'), owner)
    mapped = _maps_of(namespaces['user'], cfg, entries)
    decls = []
    for opt, mount in entries:
        if mount['state'] != 'mounted':
            raise bad_option(opt + '.state', mount['state'], "a service's view holds the mounts it declares; "
                             'unmounting is for nsforge.linux.nsmount')
        decl = mounts.declare(opt, mount, mapped=mapped)
        if any(d['dst'] == decl['dst'] for d in decls):
            raise bad_option(opt + '.dst', mount['dst'], 'the mount point is declared twice')
        decls.append(decl)
    return {'mount_proc': bool(mount_proc), 'mounts': decls,
            'mount_view': mount_view_of(namespaces['mnt']['mode'], bool(mount_proc), bool(decls))}


def _maps_of(user_ns, cfg, entries):
    """(uid_map, gid_map) of the user namespace the service's mounts are made in, when a tmpfs names an owner or
    group there; else (None, None)."""
    if user_ns['mode'] == 'host' or not any(m.get('owner') or m.get('group') for _o, m in entries):
        return None, None
    if user_ns['mode'] == 'join':
        return kernel.read_userns_maps(user_ns['path']) if user_ns['path'] else (None, None)
    return cfg['uid_map'], cfg['gid_map']


def _id_maps(params, user_mode):
    """(uid_map, gid_map) of a new user namespace, else (None, None)."""
    if params.get('uid_map') or params.get('gid_map') or params.get('map_root_user'):
        if user_mode != 'new':
            raise bad_option('uid_map' if params.get('uid_map') else 'map_root_user', params.get('uid_map') or True,
                             'ID maps need a user namespace of its own (namespaces.user: new)')
    if user_mode != 'new':
        return None, None
    allow = params.get('allow_host_root')
    if params.get('map_root_user'):
        if params.get('uid_map') or params.get('gid_map'):
            raise bad_option('map_root_user', True, 'map_root_user and uid_map/gid_map are mutually exclusive')
        sub_u = subordinate_range('/etc/subuid', 'root')
        sub_g = subordinate_range('/etc/subgid', 'root')
        if sub_u is None or sub_g is None:
            raise bad_option('map_root_user', True, 'root has no subordinate range in /etc/subuid and /etc/subgid; '
                             'add one (nsforge.linux.uidmap) or give uid_map')
        return [(0, sub_u[0], sub_u[1])], [(0, sub_g[0], sub_g[1])]
    if params.get('uid_map'):
        uid_map = check_map(params['uid_map'], 'uid_map', allow)
        return uid_map, check_map(params['gid_map'], 'gid_map', allow) if params.get('gid_map') else uid_map
    raise bad_option('namespaces.user', 'new', 'a new user namespace needs uid_map or map_root_user')


def _identity(params, cfg):
    """uid, gid and umask of the service's process; root inside a user namespace of its own unless user says."""
    out = {'uid': None, 'gid': None, 'umask': None}
    user_ns = cfg['namespaces']['user']
    uid_map = cfg['uid_map']
    if params.get('user') is not None:
        user = params['user']
        try:
            entry = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
            out['uid'], out['gid'] = entry.pw_uid, entry.pw_gid
        except KeyError:
            if not user.isdigit():
                raise bad_option('user', user, 'no such user')
            out['uid'] = out['gid'] = int(user)
        if user_ns['mode'] == 'join':
            uid_map = kernel.read_userns_maps(user_ns['path'])[0]
        if uid_map is not None and not any(i <= out['uid'] < i + c for i, _o, c in uid_map):
            raise bad_option('user', user, 'uid %d is not mapped inside the user namespace' % out['uid'])
    elif user_ns['mode'] != 'host':
        # host root is not mapped in the service's user namespace: become root inside (a mapped, unprivileged ID
        # outside), so exec keeps the rights inside and the process never keeps host root's ID
        out['uid'] = out['gid'] = 0
        if user_ns['mode'] == 'join':
            uid_map = kernel.read_userns_maps(user_ns['path'])[0]
        if not any(i == 0 for i, _o, _c in uid_map):
            raise bad_option('uid_map' if user_ns['mode'] == 'new' else 'namespaces.user',
                             params.get('uid_map') or (params.get('namespaces') or {}).get('user'),
                             'ID 0 inside is not mapped; map it, or set user to a mapped ID')
    if params.get('group') is not None:
        group = params['group']
        try:
            out['gid'] = grp.getgrgid(int(group)).gr_gid if group.isdigit() else grp.getgrnam(group).gr_gid
        except KeyError:
            if not group.isdigit():
                raise bad_option('group', group, 'no such group')
            out['gid'] = int(group)
    if params.get('umask') is not None:
        try:
            out['umask'] = int(params['umask'], 8)
        except ValueError:
            out['umask'] = -1
        if not 0 <= out['umask'] <= 0o777:
            raise bad_option('umask', params['umask'], 'expected an octal mask such as 0022')
    return out


def _init(params, pid_mode, kind):
    """The init (tini) that is PID 1 of the service's PID namespace, or None."""
    init = params.get('init')
    if init is None:
        init = pid_mode == 'new' and kind == 'service'
    if not init:
        return None
    tini = find_program('tini', None) or find_program('tini-static', None)
    if tini is None:
        raise bad_option('init', True, 'tini is not installed (Debian/Ubuntu package tini); install it or set init: false')
    return tini


def _log(params, key, name):
    """The file that the service's stdout or stderr (key) is appended to; None for the journal: a service that
    systemd supervises writes where its unit's ExecStart writes (the journal of the unit) unless a file is declared."""
    path = params.get(key)
    if path is None:
        return None if params.get('supervisor') == 'systemd' else service_log(name, key)
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise bad_option(key, path, 'its folder does not exist')
    if os.path.isdir(path):
        raise bad_option(key, path, 'is a folder')
    return path


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
