# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A simulated fleet on one machine: K hosts, each a set of namespaces running a real sshd, and an inventory.

Run it inside the throwaway test sandbox (tests/sandbox.sh), never on a machine's own namespaces.

    python3 tests/fleet/fleet.py up --dir DIR [--hosts K] [--python PY] [--port 22] [--kind namespaces|systemd]
    python3 tests/fleet/fleet.py ssh --dir DIR fleet2 -- systemctl is-active ssh   # a command over SSH, as root
    python3 tests/fleet/fleet.py reboot --dir DIR fleet2    # (systemd hosts) systemctl reboot; wait until it is back
    python3 tests/fleet/fleet.py pid --dir DIR fleet2        # PID of fleet2's init, for nsenter -t PID -n -m ...
    python3 tests/fleet/fleet.py exec --dir DIR fleet2 -- ip netns list
    python3 tests/fleet/fleet.py sshd --dir DIR fleet2 stop  # or start: fleet2 becomes unreachable / reachable
    python3 tests/fleet/fleet.py link --dir DIR fleet2 down  # or up: fleet2's cable, pulled or plugged in
    python3 tests/fleet/fleet.py counters --dir DIR          # bytes each host sent and received (JSON)
    python3 tests/fleet/fleet.py down --dir DIR

Host i (1..K) is named fleet<i> (its hostname too) and has:
  - its own network, mount, UTS and PID namespaces (unshare); its init (PID 1 inside) reaps orphans;
  - private tmpfs on /run (with /run/sshd), /tmp, /root, /etc/netns and /var/log/nsforge, and /etc as an
    overlay of the sandbox's /etc (so /etc/subuid, /etc/subgid and /etc/nsforge are its own and may be
    replaced by rename, which a bind-mounted file would refuse);
  - its own cgroup subtree: each cgroup v1 controller (memory, pids, cpu) or the v2 root is a bind mount of
    <root>/<NSFORGE_CGROUP_PARENT>/fleet<i>, so services of the same name on two hosts never share a cgroup;
  - lo up and eth0, a veth to the bridge fleetbr (10.236.0.1/24) in the sandbox, with 10.236.0.(10+i)/24;
  - sshd (root by key only) listening on 10.236.0.(10+i) only.
With --kind systemd, each host is instead a machine whose PID 1 is systemd and that reboots for real
(tests/fleet/systemd_host.py): the root file system of tests/fleet/rootfs/ booted by systemd-nspawn, same names,
addresses and key; its Python is /usr/bin/python3.
DIR receives the controller's key pair (id_ed25519), the inventory (inventory.ini, group fleet) and state.json.
The default number of hosts is $FLEET_HOSTS, else 5 (at most 240). One fleet per sandbox: the bridge and the
addresses are fixed. The hosts reach each other on the bridge (for tunnels between hosts).
"""

from __future__ import absolute_import, division, print_function

import argparse
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time

import systemd_host

BRIDGE = 'fleetbr'
NETWORK = '10.236.0'
PREFIX = 24
FIRST = 10
MAX_HOSTS = 240
SSHD = '/usr/sbin/sshd'
HOST_RUN = '/run/fleet'
CGROUP_ROOT = '/sys/fs/cgroup'
CGROUP_V1 = ('memory', 'pids', 'cpu')
# /root stays shared (the controller's Python may live there, as pyenv's does); ~/.ansible, where Ansible puts
# its temporary files on a managed host, is private
DEFAULT_ROOTFS = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                               '..', '..', 'build', 'fleet-rootfs', 'current', 'root'))
PRIVATE_TMPFS = (('/run', '0755'), ('/tmp', '1777'), ('/root/.ansible', '0700'))


class FleetError(Exception):
    pass


def run(argv, **kwargs):
    """Run a command (an argv list); raise FleetError with its output when it fails."""
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False, **kwargs)
    if proc.returncode != 0:
        raise FleetError('%s failed (rc=%d): %s' % (' '.join(argv), proc.returncode,
                                                    (proc.stderr or proc.stdout).decode(errors='replace').strip()))
    return proc.stdout.decode(errors='replace')


def bind_fd(fd, target):
    """Bind the folder open as fd onto target (mount(8) would resolve /proc/self/fd/N to a path, now covered)."""
    libc = ctypes.CDLL(None, use_errno=True)
    ms_bind, ms_rec = 4096, 16384
    if libc.mount(('/proc/self/fd/%d' % fd).encode(), target.encode(), None, ms_bind | ms_rec, None) != 0:
        err = ctypes.get_errno()
        raise FleetError('bind mount onto %s: %s' % (target, os.strerror(err)))


def address(index):
    return '%s.%d' % (NETWORK, FIRST + index)


def host_name(index):
    return 'fleet%d' % index


def veth_name(index):
    return 'veth-fleet%d' % index


def cgroup_parent():
    return os.environ.get('NSFORGE_CGROUP_PARENT') or 'nsforge-fleet-%d' % os.getpid()


def cgroup_dirs(parent, name):
    """(host folder, mount point inside the fleet host) for each cgroup hierarchy the collection uses."""
    if os.path.exists(os.path.join(CGROUP_ROOT, 'cgroup.controllers')):
        return [(os.path.join(CGROUP_ROOT, parent, name), CGROUP_ROOT)]
    out = []
    for controller in CGROUP_V1:
        root = os.path.join(CGROUP_ROOT, controller)
        if os.path.ismount(root):
            out.append((os.path.join(root, parent, name), root))
    return out


# ---------------------------------------------------------------------------------------------------- state


def state_path(folder):
    return os.path.join(folder, 'state.json')


def load(folder):
    try:
        with open(state_path(folder)) as handle:
            return json.load(handle)
    except (IOError, OSError, ValueError) as exc:
        raise FleetError('no fleet in %s (%s): run `fleet.py up --dir %s` first' % (folder, exc, folder))


def save(folder, state):
    tmp = state_path(folder) + '.tmp'
    with open(tmp, 'w') as handle:
        json.dump(state, handle, indent=1, sort_keys=True)
    os.rename(tmp, state_path(folder))


def find_host(state, which):
    for host in state['hosts']:
        if which in (host['name'], str(host['index']), host['address']):
            return host
    raise FleetError('no host %r in this fleet (hosts: %s)' % (which, ', '.join(h['name'] for h in state['hosts'])))


# ---------------------------------------------------------------------------------------------------- a host's init


def host_init(folder, index, parent, keep=()):
    """PID 1 of fleet host `index` (runs under unshare): private mounts, hostname, lo; then reap forever.

    A path in keep (the hosts' Python) that lies under a folder made private here stays visible: the top folder
    holding it under that private folder is bound back (a checkout under /tmp keeps its virtualenv).
    """
    name = host_name(index)
    files = {}
    for fname in ('sshd_config', 'ssh_host_ed25519_key', 'authorized_keys'):
        with open(os.path.join(folder, name, fname), 'rb') as handle:
            files[fname] = handle.read()
    socket.sethostname(name)
    for path, mode in PRIVATE_TMPFS:
        kept = set()
        for wanted in keep:
            wanted = os.path.abspath(wanted)
            if wanted.startswith(path + '/'):
                kept.add(os.path.join(path, wanted[len(path) + 1:].split('/')[0]))
        held = [(top, os.open(top, os.O_PATH)) for top in sorted(kept) if os.path.isdir(top)]
        run(['mount', '-t', 'tmpfs', '-o', 'mode=%s,nosuid,nodev' % mode, 'tmpfs', path])
        for top, fd in held:
            os.mkdir(top, 0o755)
            bind_fd(fd, top)
            os.close(fd)
    for sub in ('sshd', 'netns', 'lock', 'fleet/etc/upper', 'fleet/etc/work'):
        os.makedirs(os.path.join('/run', sub), 0o755)
    os.chmod(HOST_RUN, 0o700)
    run(['mount', '-t', 'overlay', 'overlay', '-o',
         'lowerdir=/etc,upperdir=%s/etc/upper,workdir=%s/etc/work' % (HOST_RUN, HOST_RUN), '/etc'])
    for path in ('/etc/netns', '/etc/nsforge', '/var/log/nsforge'):
        if not os.path.isdir(path):
            os.makedirs(path, 0o755)
    for path, mode in (('/etc/netns', '0755'), ('/var/log/nsforge', '0750')):
        run(['mount', '-t', 'tmpfs', '-o', 'mode=%s,nosuid,nodev' % mode, 'tmpfs', path])
    for source, target in cgroup_dirs(parent, name):
        run(['mount', '--bind', source, target])
    for fname, data in files.items():
        fd = os.open(os.path.join(HOST_RUN, fname), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
    run(['ip', 'link', 'set', 'lo', 'up'])
    sys.stdout.write('ready\n')
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    # PID 1 of the host: every orphan (daemonized sshd, the services the modules start) ends here.
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            time.sleep(1)
        except InterruptedError:
            pass


# ---------------------------------------------------------------------------------------------------- sshd


def sshd_config(index, port):
    lines = [
        'ListenAddress %s' % address(index),
        'Port %d' % port,
        'HostKey %s/ssh_host_ed25519_key' % HOST_RUN,
        'PidFile %s/sshd.pid' % HOST_RUN,
        'AuthorizedKeysFile %s/authorized_keys' % HOST_RUN,
        'PermitRootLogin prohibit-password',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'PrintMotd no',
        'UseDNS no',
        'Subsystem sftp internal-sftp',
        # many forks open many sessions at once
        'MaxStartups 200:30:400',
        'MaxSessions 100',
        'LogLevel ERROR',
    ]
    return '\n'.join(lines) + '\n'


def listening(addr, port):
    try:
        with socket.create_connection((addr, port), timeout=0.5):
            return True
    except (OSError, socket.timeout):
        return False


def wait_for(predicate, what, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise FleetError('timed out after %.0fs waiting for %s' % (timeout, what))


def host_processes(host, comm=None):
    """Sandbox PIDs of the processes in the host's PID namespace (optionally only those named comm)."""
    ns = os.readlink('/proc/%d/ns/pid' % host['pid'])
    out = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit() or int(entry) == host['pid']:
            continue
        try:
            if os.readlink('/proc/%s/ns/pid' % entry) != ns:
                continue
            if comm is not None:
                with open('/proc/%s/comm' % entry) as handle:
                    if handle.read().strip() != comm:
                        continue
        except OSError:
            continue
        out.append(int(entry))
    return out


def sshd_start(host, port):
    if listening(host['address'], port):
        return
    run(['nsenter', '-t', str(host['pid']), '-n', '-m', '-u', '-p', '--',
         SSHD, '-f', '%s/sshd_config' % HOST_RUN, '-E', '%s/sshd.log' % HOST_RUN])
    wait_for(lambda: listening(host['address'], port), 'sshd of %s on %s:%d' % (host['name'], host['address'], port))


def sshd_stop(host, port):
    """Stop the listener and every session, as a crashed or stopped sshd would leave the host."""
    for pid in host_processes(host, 'sshd'):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_for(lambda: not host_processes(host, 'sshd'), 'sshd of %s to stop' % host['name'])
    if listening(host['address'], port):
        raise FleetError('%s still answers on port %d' % (host['name'], port))


# ---------------------------------------------------------------------------------------------------- up / down


def init_pid(unshare_pid):
    """The child unshare --fork started: PID 1 of the new PID namespace."""
    def child():
        try:
            with open('/proc/%d/task/%d/children' % (unshare_pid, unshare_pid)) as handle:
                kids = handle.read().split()
        except IOError:
            return None
        return int(kids[0]) if kids else None
    wait_for(lambda: child() is not None, 'the init of unshare %d' % unshare_pid)
    return child()


def up(folder, count, python, port, kind='namespaces', rootfs=None):
    if not 1 <= count <= MAX_HOSTS:
        raise FleetError('hosts: expected 1 to %d, got %d' % (MAX_HOSTS, count))
    if os.path.exists(state_path(folder)):
        raise FleetError('a fleet is already up in %s: `fleet.py down --dir %s` first' % (folder, folder))
    if not os.path.exists(SSHD):
        raise FleetError('%s not found: install openssh-server' % SSHD)
    folder = os.path.abspath(folder)
    os.makedirs(folder, exist_ok=True)
    key = os.path.join(folder, 'id_ed25519')
    if not os.path.exists(key):
        run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'fleet-controller', '-f', key])
    with open(key + '.pub', 'rb') as handle:
        public = handle.read()
    os.makedirs('/root/.ansible', mode=0o700, exist_ok=True)
    parent = cgroup_parent()
    state = {'folder': folder, 'port': port, 'python': python, 'bridge': BRIDGE, 'cgroup_parent': parent,
             'key': key, 'inventory': os.path.join(folder, 'inventory.ini'), 'hosts': [], 'kind': kind}
    if not link_exists(BRIDGE):
        run(['ip', 'link', 'add', BRIDGE, 'type', 'bridge'])
        run(['ip', 'addr', 'add', '%s.1/%d' % (NETWORK, PREFIX), 'dev', BRIDGE])
        run(['ip', 'link', 'set', BRIDGE, 'up'])
    if kind == 'systemd':
        return up_systemd(state, count, rootfs, public)
    me = os.path.abspath(__file__)
    started = []
    try:
        for index in range(1, count + 1):
            name = host_name(index)
            hdir = os.path.join(folder, name)
            os.makedirs(hdir, exist_ok=True)
            hkey = os.path.join(hdir, 'ssh_host_ed25519_key')
            if not os.path.exists(hkey):
                run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', hkey])
            with open(os.path.join(hdir, 'sshd_config'), 'w') as handle:
                handle.write(sshd_config(index, port))
            with open(os.path.join(hdir, 'authorized_keys'), 'wb') as handle:
                handle.write(public)
            for source, _target in cgroup_dirs(parent, name):
                os.makedirs(source, exist_ok=True)
            with open(os.path.join(hdir, 'init.log'), 'wb') as log:
                # pylint: disable-next=consider-using-with
                proc = subprocess.Popen(['unshare', '--net', '--mount', '--uts', '--pid', '--fork', '--mount-proc',
                                         '--propagation', 'private', '--', sys.executable, me, '_init',
                                         '--dir', folder, '--index', str(index), '--cgroup-parent', parent,
                                         '--keep', python],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
            started.append(proc)
            ready = proc.stdout.readline().decode().strip()
            proc.stdout.close()
            if ready != 'ready':
                with open(os.path.join(hdir, 'init.log'), errors='replace') as log:
                    raise FleetError('%s did not start (unshare exited %s): %s' % (name, proc.wait(), log.read().strip()))
            host = {'index': index, 'name': name, 'address': address(index), 'veth': veth_name(index),
                    'unshare_pid': proc.pid, 'pid': init_pid(proc.pid)}
            state['hosts'].append(host)
            save(folder, state)
            run(['ip', 'link', 'add', host['veth'], 'type', 'veth', 'peer', 'name', 'eth0', 'netns', str(host['pid'])])
            run(['ip', 'link', 'set', host['veth'], 'master', BRIDGE, 'up'])
            inside = ['nsenter', '-t', str(host['pid']), '-n', '--']
            run(inside + ['ip', 'addr', 'add', '%s/%d' % (host['address'], PREFIX), 'dev', 'eth0'])
            run(inside + ['ip', 'link', 'set', 'eth0', 'up'])
            run(inside + ['ip', 'route', 'add', 'default', 'via', '%s.1' % NETWORK])
            sshd_start(host, port)
    except BaseException:
        down(folder)
        raise
    write_inventory(state)
    return state


def up_systemd(state, count, rootfs, public):
    """Boot count systemd hosts (systemd_host.py) at once and wait until each has finished booting."""
    if state['port'] != 22:
        raise FleetError('--port: systemd hosts run sshd on port 22')
    rootfs = os.path.realpath(rootfs or '')
    state['python'] = systemd_host.PYTHON
    state['rootfs'] = rootfs
    folder = state['folder']
    try:
        for index in range(1, count + 1):
            name = host_name(index)
            try:
                systemd_host.prepare(folder, name, address(index), PREFIX, '%s.1' % NETWORK, rootfs, public.decode())
            except systemd_host.HostError as exc:
                raise FleetError(str(exc))
            host = {'index': index, 'name': name, 'address': address(index), 'veth': 'vb-' + name, 'kind': 'systemd',
                    'keeper': systemd_host.start_keeper(os.path.abspath(__file__), folder, name, BRIDGE)}
            state['hosts'].append(host)
            save(folder, state)
        for host in state['hosts']:
            wait_booted(state, host, 0)
    except BaseException:
        down(folder)
        raise
    write_inventory(state)
    return state


def ssh_argv(state, host, command, timeout=5):
    return ['ssh', '-i', state['key'], '-p', str(state['port']), '-o', 'StrictHostKeyChecking=no',
            '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes',
            '-o', 'ConnectTimeout=%d' % timeout, 'root@%s' % host['address'], '--'] + list(command)


def ssh(state, host, command, timeout=5):
    """(exit status, output) of a command on the host over SSH."""
    proc = subprocess.run(ssh_argv(state, host, command, timeout), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, check=False)
    return proc.returncode, proc.stdout.decode(errors='replace')


def wait_booted(state, host, after_boot, timeout=120.0):
    """Wait until boot number > after_boot of a systemd host answers over SSH and systemd says it finished booting;
    the boot's timeline: {boot, nspawn (its start, epoch), ssh (first answer), running (booted), state}."""
    deadline = time.time() + timeout
    folder = state['folder']

    def booted():
        entries = [e for e in systemd_host.boots(folder, host['name']) if e['boot'] > after_boot]
        if any(e['event'] == 'end' for e in entries):
            raise FleetError('%s stopped while booting (status %s); its console: %s' % (
                host['name'], [e for e in entries if e['event'] == 'end'][-1]['status'],
                systemd_host.paths(folder, host['name'])['console']))
        return [e for e in entries if e['event'] == 'boot']
    wait_for(booted, '%s to boot' % host['name'], timeout)
    entry = booted()[-1]
    wait_for(lambda: listening(host['address'], 22), 'sshd of %s' % host['name'], max(1.0, deadline - time.time()))
    reached = time.time()
    status, out = ssh(state, host, ['systemctl', 'is-system-running', '--wait'], timeout=10)
    if out.strip() not in ('running', 'degraded'):
        raise FleetError('%s booted to state %r (ssh status %d)' % (host['name'], out.strip(), status))
    return {'boot': entry['boot'], 'nspawn': entry['time'], 'ssh': reached, 'running': time.time(),
            'state': out.strip()}


def reboot(state, host, timeout=120.0):
    """`systemctl reboot` on a systemd host over SSH; wait until it is back. Its timeline, seconds from the request:
    {down (the old boot ended), boot (nspawn started again), ssh, running}, and the new boot's number and state."""
    if host.get('kind') != 'systemd':
        raise FleetError('reboot: %s is not a systemd host (fleet.py up --kind systemd)' % host['name'])
    before = [e for e in systemd_host.boots(state['folder'], host['name']) if e['event'] == 'boot'][-1]['boot']
    asked = time.time()
    ssh(state, host, ['systemctl', 'reboot'])
    back = wait_booted(state, host, before, timeout)
    ended = [e for e in systemd_host.boots(state['folder'], host['name']) if e['event'] == 'end' and e['boot'] == before]
    if not ended or ended[-1]['status'] != systemd_host.REBOOT_STATUS:
        raise FleetError('%s did not reboot: its boot %d ended with %s' % (host['name'], before, ended))
    return {'host': host['name'], 'boot': back['boot'], 'state': back['state'], 'requested': asked,
            'down': round(ended[-1]['time'] - asked, 3), 'nspawn': round(back['nspawn'] - asked, 3),
            'ssh': round(back['ssh'] - asked, 3), 'running': round(back['running'] - asked, 3)}


def host_pid(state, host):
    """The sandbox PID of a host's PID 1 (for nsenter -t PID)."""
    if host.get('kind') != 'systemd':
        return host['pid']
    pid = systemd_host.leader(state['folder'], host['name'])
    if pid is None:
        raise FleetError('%s is not up (rebooting or stopped)' % host['name'])
    return pid


def write_inventory(state):
    lines = ['# The simulated fleet of tests/fleet/fleet.py (gone with its sandbox)', '[fleet]']
    lines += ['%s ansible_host=%s' % (h['name'], h['address']) for h in state['hosts']]
    # a host whose link goes down is found out in about 6 s, also on an open (ControlPersist) connection
    ssh_args = ('-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR'
                ' -o ServerAliveInterval=2 -o ServerAliveCountMax=3')
    lines += ['', '[fleet:vars]', 'ansible_user=root', 'ansible_port=%d' % state['port'],
              'ansible_ssh_private_key_file=%s' % state['key'],
              "ansible_ssh_common_args='%s'" % ssh_args,
              # ssh's control sockets in this run's folder: another sandbox's fleet has the same addresses
              'ansible_control_path_dir=%s' % os.path.join(state['folder'], 'cp'),
              # interpreter discovery would find the pyenv shims of this machine
              'ansible_python_interpreter=%s' % state['python'], '']
    tmp = state['inventory'] + '.tmp'
    with open(tmp, 'w') as handle:
        handle.write('\n'.join(lines))
    os.rename(tmp, state['inventory'])


def down(folder):
    """Stop every host (their namespaces, veths and processes go with their init) and the bridge."""
    try:
        state = load(folder)
    except FleetError:
        return
    for host in state['hosts']:
        if host.get('kind') == 'systemd':
            systemd_host.stop(state['folder'], host['name'], host['keeper'])
            continue
        try:
            os.kill(host['pid'], signal.SIGKILL)
        except ProcessLookupError:
            pass
    for host in state['hosts']:
        if host.get('kind') == 'systemd':
            continue
        try:
            os.waitpid(host['unshare_pid'], 0)
        except ChildProcessError:
            # started by another process (`fleet.py up` that has exited): wait until it is gone
            try:
                wait_for(lambda h=host: not os.path.exists('/proc/%d' % h['pid']), 'init of %s to end' % host['name'])
            except FleetError:
                pass
        for source, _target in cgroup_dirs(state['cgroup_parent'], host['name']):
            for root, dirs, _files in os.walk(source, topdown=False):
                for sub in dirs:
                    try:
                        os.rmdir(os.path.join(root, sub))
                    except OSError:
                        pass
            try:
                os.rmdir(source)
            except OSError:
                pass
    if link_exists(state['bridge']):
        run(['ip', 'link', 'del', state['bridge']])
    os.remove(state_path(folder))


def counters(state):
    """Bytes each host received (from the bridge) and sent, read on the sandbox side of its veth."""
    # (/sys/class/net is the machine's, not the sandbox's: sysfs belongs to the network namespace that mounted it)
    links = {link['ifname']: link['stats64'] for link in json.loads(run(['ip', '-j', '-s', 'link', 'show']))}
    out = {}
    for host in state['hosts']:
        stats = links[host['veth']]
        # what the sandbox side sends (tx) is what the host receives
        out[host['name']] = {'to_host': stats['tx']['bytes'], 'from_host': stats['rx']['bytes'],
                             'packets_to_host': stats['tx']['packets'], 'packets_from_host': stats['rx']['packets']}
    return out


def link_exists(name):
    return subprocess.run(['ip', 'link', 'show', 'dev', name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          check=False).returncode == 0


# ---------------------------------------------------------------------------------------------------- command line


def main(argv=None):
    parser = argparse.ArgumentParser(prog='fleet.py', description=__doc__.split('\n', 1)[0])
    sub = parser.add_subparsers(dest='cmd', required=True)
    p_up = sub.add_parser('up', help='start the hosts and write DIR/inventory.ini')
    p_up.add_argument('--hosts', type=int, default=int(os.environ.get('FLEET_HOSTS') or 5))
    p_up.add_argument('--python', default=sys.executable, help='ansible_python_interpreter of the hosts')
    p_up.add_argument('--port', type=int, default=22)
    p_up.add_argument('--kind', choices=['namespaces', 'systemd'], default='namespaces',
                      help='namespaces (default): sshd in namespaces; systemd: machines whose PID 1 is systemd')
    p_up.add_argument('--rootfs', default=os.environ.get('FLEET_ROOTFS') or DEFAULT_ROOTFS,
                      help='(systemd) the root file system to boot (default: %(default)s, `make fleet-rootfs`)')
    sub.add_parser('down', help='stop every host and remove the bridge')
    p_pid = sub.add_parser('pid', help="print the PID of a host's init (for nsenter -t PID)")
    p_exec = sub.add_parser('exec', help="run a command in a host's network, mount, UTS and PID namespaces")
    p_sshd = sub.add_parser('sshd', help="stop or start a host's sshd")
    p_link = sub.add_parser('link', help="take a host's veth down or up")
    sub.add_parser('counters', help='bytes to and from each host (JSON)')
    sub.add_parser('status', help='the fleet as JSON')
    p_ssh = sub.add_parser('ssh', help='run a command on a host over SSH, as root')
    p_reboot = sub.add_parser('reboot', help='(systemd hosts) systemctl reboot; wait until back; print its timeline')
    p_keep = sub.add_parser('_keep')
    p_keep.add_argument('--name', required=True)
    p_keep.add_argument('--bridge', required=True)
    p_init = sub.add_parser('_init')
    p_init.add_argument('--index', type=int, required=True)
    p_init.add_argument('--cgroup-parent', required=True)
    p_init.add_argument('--keep', action='append', default=[], help='a path that must stay visible on the host')
    for p in (p_up, sub.choices['down'], p_pid, p_exec, p_sshd, p_link, sub.choices['counters'],
              sub.choices['status'], p_init, p_ssh, p_reboot, p_keep):
        p.add_argument('--dir', required=True, help='the fleet folder (keys, inventory, state)')
    for p in (p_pid, p_exec, p_sshd, p_link, p_ssh, p_reboot):
        p.add_argument('host', help='fleet<i>, i or the address')
    p_exec.add_argument('command', nargs=argparse.REMAINDER)
    p_ssh.add_argument('command', nargs=argparse.REMAINDER)
    p_sshd.add_argument('action', choices=['start', 'stop'])
    p_link.add_argument('action', choices=['up', 'down'])
    args = parser.parse_args(argv)
    try:
        if args.cmd == '_init':
            host_init(args.dir, args.index, args.cgroup_parent, args.keep)
        elif args.cmd == '_keep':
            systemd_host.keep(args.dir, args.name, args.bridge)
        elif args.cmd == 'up':
            state = up(args.dir, args.hosts, args.python, args.port, args.kind, args.rootfs)
            print('%d hosts up; inventory %s' % (len(state['hosts']), state['inventory']))
        elif args.cmd == 'down':
            down(args.dir)
        else:
            state = load(args.dir)
            if args.cmd == 'counters':
                print(json.dumps(counters(state), sort_keys=True))
            elif args.cmd == 'status':
                print(json.dumps(state, indent=1, sort_keys=True))
            else:
                host = find_host(state, args.host)
                command = getattr(args, 'command', None) or []
                command = command[1:] if command[:1] == ['--'] else command
                if args.cmd == 'pid':
                    print(host_pid(state, host))
                elif args.cmd == 'exec':
                    if not command:
                        raise FleetError('exec: give a command after the host')
                    os.execvp('nsenter', ['nsenter', '-t', str(host_pid(state, host)), '-n', '-m', '-u', '-p', '--']
                              + command)
                elif args.cmd == 'ssh':
                    if not command:
                        raise FleetError('ssh: give a command after the host')
                    os.execvp('ssh', ssh_argv(state, host, command))
                elif args.cmd == 'reboot':
                    print(json.dumps(reboot(state, host), sort_keys=True))
                elif args.cmd == 'sshd' and host.get('kind') == 'systemd':
                    run(['nsenter', '-t', str(host_pid(state, host)), '-m', '-p', '--', 'systemctl', args.action,
                         'ssh.service'])
                elif args.cmd == 'sshd':
                    (sshd_start if args.action == 'start' else sshd_stop)(host, state['port'])
                elif args.cmd == 'link':
                    run(['ip', 'link', 'set', host['veth'], args.action])
    except FleetError as exc:
        sys.stderr.write('fleet.py: %s\n' % exc)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
