# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""nsproc: how a service's processes start and stop (the launch protocol of the builtin supervisor).

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
import json
import os
import select
import signal
import time

from ansible_collections.nsforge.linux.plugins.module_utils import cgroups, kernel, mounts
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError, bad_option
from ansible_collections.nsforge.linux.plugins.module_utils.nsproc_options import DEFAULT_PATH, config_hash, find_program, public_config
from ansible_collections.nsforge.linux.plugins.module_utils.nsproc_records import (
    alive, children, last_exit, ns_inodes, ns_pid, proc_stat, release_keeper, tail)

# join order inside each phase (see launch): mnt last, since it changes the root
JOIN_ORDER = ('user', 'cgroup', 'ipc', 'uts', 'net', 'time', 'pid', 'mnt')


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
            for mount in cfg['mounts']:
                stage = '%s on %s' % (mount['option'], mount['dst'])
                mounts.make(mount)
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


def _open_log(path, inherited):
    """A descriptor of the log file at path; without a path, a copy of this process's own descriptor inherited (1 or
    2): the restore command's, which systemd connects to the journal of the service's unit."""
    if path is None:
        return os.dup(inherited)
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o750)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
    return fd


def _stderr_tail(cfg, offset):
    """What a failed start wrote to its stderr: the end of its log file, or where to read it."""
    if cfg['stderr'] is None:
        return 'in the journal (journalctl -u nsforge-service-%s)' % cfg['name']
    return tail(cfg['stderr'], offset)


def launch(cfg):
    """Start the service; return its record. Nothing is left behind when it fails."""
    return Launch(cfg).finish()


class Launch:
    """One service's start in two halves, so that a task that starts many overlaps their startup checks.

    Making it (begin) forks the keeper and the launcher, writes the ID maps, puts the service into its cgroups and
    lets it go; finish() waits for the launcher's report (the startup check, or a one-shot command's end) and returns
    the record. Between the two, the launch holds one pipe. Nothing is left behind when either half fails.
    """

    def __init__(self, cfg):
        self.cfg = cfg
        self.pid_a = self.pid_b = self.pid_k = None
        self.keeper_running = False
        self.dirs = []
        self.result = {}
        self.buf = b''
        self.info_r = None
        self.mnt_parent = None
        self.err_offset = 0
        self.started = time.time()
        self.hold = None
        joins = []
        out_fd = err_fd = None
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
            if cfg['mount_view'] == 'child':
                joined = [fd for kind, fd in joins if kind == 'mnt']
                self.mnt_parent = os.fstat(joined[0]).st_ino if joined else kernel.ns_id(kernel.ns_path('mnt'))[1]
            out_fd = _open_log(cfg['stdout'], 1)
            err_fd = out_fd if cfg['stderr'] == cfg['stdout'] else _open_log(cfg['stderr'], 2)
            self.err_offset = os.fstat(err_fd).st_size
            self.dirs = cgroups.create(cfg['name'], cfg['limits'])
            self._fork(joins, out_fd, err_fd)
        except BaseException:
            self._clean_up()
            raise
        finally:
            for _kind, fd in joins:
                _close_quietly(fd)
            for fd in set(f for f in (out_fd, err_fd) if f is not None):
                os.close(fd)

    def _fork(self, joins, out_fd, err_fd):
        """Fork the keeper, which forks the launcher; read its reports until the service is let go."""
        cfg = self.cfg
        info_r, info_w = os.pipe()
        map_r, map_w = os.pipe()
        go_r, go_w = os.pipe()
        self.info_r = info_r
        # A service in the host's PID namespace gets no keeper: its own orphans would be reparented to the keeper
        # (a subreaper of their namespace) and stay zombies, since the keeper never reaps.
        # Nor does one that systemd supervises (cfg keeper False): systemd must reap it to see it exit and restart it.
        hold = find_program('sleep', None) if cfg['namespaces']['pid']['mode'] != 'host' and cfg.get('keeper', True) else None
        self.hold = hold
        try:
            self.pid_k = os.fork()
            if self.pid_k == 0:
                os.close(info_r)
                os.close(map_w)
                _keeper(hold, (cfg, joins, info_w, map_r, go_r, go_w, out_fd, err_fd))
            self.keeper_running = True
            for fd in (info_w, map_r, go_r):
                os.close(fd)
            info_w = map_r = go_r = None
            self._read(map_w, go_w, until_go=True)
        finally:
            for fd in (info_w, map_r, go_r, map_w, go_w):
                if fd is not None:
                    _close_quietly(fd)

    def _read(self, map_w=None, go_w=None, until_go=False):
        """Handle the launcher's reports: until the service is let go (until_go), else until the launcher ends."""
        cfg = self.cfg
        try:
            while not (until_go and self.pid_b is not None):
                ready = select.select([self.info_r], [], [], max(cfg['timeout'], cfg['startup_check']) + 30)[0]
                if not ready:
                    raise NsforgeError('the service did not report back in time')
                data = os.read(self.info_r, 65536)
                if not data:
                    break
                self.buf += data
                while b'\n' in self.buf:
                    line, self.buf = self.buf.split(b'\n', 1)
                    msg = json.loads(line.decode('utf-8'))
                    if 'launcher' in msg:
                        self.pid_a = msg['launcher']
                    elif 'userns' in msg:
                        _write_maps(msg['userns'], cfg)
                        os.write(map_w, b'1')
                    elif 'pid' in msg:
                        self.pid_b = msg['pid']
                        cgroups.attach(self.dirs, self.pid_b)
                        os.write(go_w, b'1')
                    else:
                        self.result.update(msg)
        except BaseException:
            # the launcher and the service wait on pipes: end them before waiting
            for pid in (self.pid_b, self.pid_a):
                if pid is not None:
                    _kill_quietly(pid)
            raise

    def finish(self):
        """Wait for the launcher's last report; return the service's record."""
        cfg = self.cfg
        try:
            self._read()
            _close_quietly(self.info_r)
            self.info_r = None
            result = self.result
            if not result.get('running'):
                # nothing to hold: the keeper exits by itself, or is ended here
                _end_keeper(self.pid_k)
                self.keeper_running = False
            if 'error' in result:
                raise NsforgeError('could not start: %s' % result['error'])
            if 'timeout' in result:
                raise NsforgeError('the one-shot command ran longer than timeout (%ss) and was killed; stderr: %s'
                                   % (result['timeout'], _stderr_tail(cfg, self.err_offset)), option='timeout')
            if 'exited' in result:
                code = result['exited']
                if cfg['type'] == 'oneshot' and code == 0:
                    cgroups.remove(self.dirs)
                    record = _record(cfg, self.pid_b, None, [])
                    record.update(status='exited', exit_code=0, pid=None, start_time=None)
                    return record
                what = 'the command' if cfg['type'] == 'oneshot' else 'the service exited during startup_check and'
                raise NsforgeError('%s failed with exit code %d%s; stderr: %s'
                                   % (what, code, ' (signal %d)' % result['signal'] if 'signal' in result else '',
                                      _stderr_tail(cfg, self.err_offset) or '(empty)'), exit_code=code)
            if not result.get('running') or self.pid_b is None:
                raise NsforgeError('could not start: no report from the launcher')
            record = _record(cfg, self.pid_b, ns_inodes(self.pid_b), self.dirs)
            record['mnt_parent'] = self.mnt_parent
            record['stderr_offset'] = self.err_offset
            if self.hold:
                _wait_for_exec(self.pid_k)
            if cfg['init']:
                # so that the task's result names the program, which the init forks right after its exec
                _poll(lambda: children(self.pid_b) or not alive(record))
            found = proc_stat(self.pid_k)
            record['keeper'] = {'pid': self.pid_k, 'start_time': found[1] if found else None}
            if not alive(record):
                raise NsforgeError('the service exited right after startup; stderr: %s'
                                   % _stderr_tail(cfg, self.err_offset))
            return record
        except BaseException:
            self._clean_up()
            raise

    def _clean_up(self):
        """After a failure: end what was started, remove the cgroups, close the pipe."""
        if self.pid_b is not None:
            _kill_quietly(self.pid_b)
        if self.keeper_running:
            _end_keeper(self.pid_k)
            self.keeper_running = False
        cgroups.remove(self.dirs)
        if self.info_r is not None:
            _close_quietly(self.info_r)
            self.info_r = None


def _wait_for_exec(pid, timeout=2.0):
    """Wait until the keeper pid has exec'd its program (it does once the launcher has ended, a moment after the
    launcher's last report; until then it is a copy of this process): so that when the task returns, the service's
    parent is the keeper it will stay."""
    ours = os.readlink('/proc/self/exe')

    def done():
        try:
            return os.readlink('/proc/%d/exe' % pid) != ours
        except OSError:
            return True  # gone (or a zombie): the record's check of the keeper says so

    _poll(done, timeout)


def _poll(done, timeout=2.0):
    """Call done() until it returns true or timeout seconds have passed, with pauses that grow to 20 ms."""
    deadline = time.time() + timeout
    pause = 0.0005
    while not done() and time.time() < deadline:
        time.sleep(pause)
        pause = min(pause * 2, 0.02)


def _close_quietly(fd):
    try:
        os.close(fd)
    except OSError:
        pass


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


def stop(record, sig_name, timeout):
    """Stop a recorded service; only the recorded process (same start time) is ever signalled."""
    if not alive(record):
        return
    pid = record['pid']
    group = record.get('namespace_modes', {}).get('pid') != 'new'
    sig = getattr(signal, 'SIG' + sig_name)
    _signal(pid, sig, group)
    if not _gone(record, timeout):
        _signal(pid, signal.SIGKILL, group)
        _gone(record, 10)
    if alive(record):
        raise NsforgeError('service %s (pid %d) did not stop even after KILL' % (record['name'], pid))


def _gone(record, timeout):
    """Whether the recorded process ends within timeout seconds. Polled at 1 ms at first, growing to 20 ms: most
    services end within milliseconds of their stop signal, and a task that stops hundreds waits for each."""
    deadline = time.time() + timeout
    pause = 0.001
    while alive(record):
        if time.time() >= deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.02)
    return True


def _signal(pid, sig, group):
    try:
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except OSError as exc:
        if exc.errno != errno.ESRCH:
            raise


def relaunch(cfg, old):
    """Start a service whose record was old (None for a new one); return its new record."""
    return Relaunch(cfg, old).finish()


class Relaunch:
    """A start (Launch) after the record old, in two halves: the new record counts the crashes in a row (old exited,
    not stopped) and keeps how the previous run ended. The old zombie (if any) is released only once the new start
    worked, so a failed start keeps its code."""

    def __init__(self, cfg, old):
        self.old = old
        self.ended = last_exit(old)
        self.launch = Launch(cfg)

    def finish(self):
        old, ended = self.old, self.ended
        crashed = ended is not None and old.get('type') != 'oneshot'
        new = self.launch.finish()
        release_keeper(old)
        new['crashes'] = old.get('crashes', 0) + 1 if crashed else 0
        new['previous_exit'] = dict(ended, at=old.get('started_at')) if crashed else None
        return new
