# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet's second kind of host (fleet.py up --kind systemd): a machine whose PID 1 is systemd, that reboots.

Each host boots the cached Debian root file system of tests/fleet/rootfs/ (`make fleet-rootfs`) with
`systemd-nspawn -b --register=no --keep-unit` in its own namespaces (the test sandbox's systemd is not PID 1, so no
machined and no bus: hence those two options):
  - its root is an overlay: the cached root read-only below, the host's own changes in DIR/<host>/upper, which
    survive its reboots (/etc, /usr/local, /var) while /run and /tmp start empty at each boot, as on a real machine;
  - its uplink host0 is a veth that nspawn plugs into the fleet's bridge at each boot (vb-<host> on the sandbox's
    side), given 10.236.0.(10+i)/24 by the unit fleet-network.service from /etc/fleet/network;
  - sshd (root by key: DIR/id_ed25519), Python 3 with pyroute2, tini, iproute2, util-linux, procps, uidmap;
  - its own cgroup, <sandbox's NSFORGE_CGROUP_PARENT>/<host> (own_cgroup), under which nspawn puts the host's systemd;
    in a v1 or hybrid layout nspawn mounts the memory, pids and cpu hierarchies read-only, at that folder: the root
    file system's fleet-cgroup-rw.service makes them writable at boot, as for root on a machine (limits take effect);
A keeper process per host runs nspawn in a loop: `systemctl reboot` inside ends nspawn with status 133 and the keeper
boots the host again at once (any other end stops the host). It appends each boot and each end to DIR/<host>/boots.jsonl.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import signal
import subprocess
import sys
import time

NSPAWN = 'systemd-nspawn'
CGROUP_ROOT = '/sys/fs/cgroup'
V1_CONTROLLERS = ('memory', 'pids', 'cpu')  # the controllers of the collection's limits (cgroups.py)
REBOOT_STATUS = 133  # systemd-nspawn's exit status when the container asked for a reboot
PYTHON = '/usr/bin/python3'


class HostError(Exception):
    pass


def _run(argv):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        raise HostError('%s failed (rc=%d): %s' % (' '.join(argv), proc.returncode,
                                                   (proc.stderr or proc.stdout).decode(errors='replace').strip()))
    return proc.stdout.decode(errors='replace')


def paths(folder, name):
    hdir = os.path.join(folder, name)
    return {'dir': hdir, 'upper': os.path.join(hdir, 'upper'), 'work': os.path.join(hdir, 'work'),
            'root': os.path.join(hdir, 'root'), 'boots': os.path.join(hdir, 'boots.jsonl'),
            'console': os.path.join(hdir, 'console.log'), 'stop': os.path.join(hdir, 'stop')}


def prepare(folder, name, address, prefix, gateway, rootfs, public_key):
    """The host's own layer over the cached root (its name, address and root's key), mounted as its root."""
    if not os.path.isfile(os.path.join(rootfs, 'usr', 'lib', 'systemd', 'systemd')) and \
            not os.path.isfile(os.path.join(rootfs, 'lib', 'systemd', 'systemd')):
        raise HostError('%s is not a root file system with systemd: run `make fleet-rootfs`' % rootfs)
    p = paths(folder, name)
    for sub in ('upper', 'work', 'root'):
        os.makedirs(p[sub], exist_ok=True)
    upper = p['upper']
    for sub, mode in (('etc/fleet', 0o755), ('root/.ssh', 0o700)):
        os.makedirs(os.path.join(upper, sub), mode=mode, exist_ok=True)
        os.chmod(os.path.join(upper, sub), mode)
    files = {'etc/hostname': name + '\n',
             'etc/fleet/network': 'ADDRESS=%s/%d\nGATEWAY=%s\n' % (address, prefix, gateway),
             'root/.ssh/authorized_keys': public_key}
    for rel, text in files.items():
        with open(os.path.join(upper, rel), 'w') as handle:
            handle.write(text)
    os.chmod(os.path.join(upper, 'root/.ssh/authorized_keys'), 0o600)
    _run(['mount', '-t', 'overlay', 'overlay', '-o', 'lowerdir=%s,upperdir=%s,workdir=%s' % (rootfs, upper, p['work']),
          p['root']])
    return p


def nspawn_argv(root, name, bridge):
    return [NSPAWN, '--quiet', '-D', root, '-M', name, '-b', '--register=no', '--keep-unit',
            '--network-bridge=%s' % bridge, '--console=read-only']


def _log(path, **entry):
    entry['time'] = time.time()
    with open(path, 'a') as handle:
        handle.write(json.dumps(entry, sort_keys=True) + '\n')


def own_cgroup(name, parent=None, root=None, proc_cgroup='/proc/self/cgroup'):
    """Move this process (the keeper, hence nspawn and the host it boots) into a cgroup of its own, <current>/<parent>/
    <name>, in each hierarchy that systemd uses (name=systemd of a v1 or hybrid layout, and the v2 one); returns the
    folders. nspawn --keep-unit puts the host's systemd under the caller's cgroup: hosts sharing one (every host of
    every sandbox on the machine, in its root) would share system.slice/<unit>, one host's systemd removing the
    cgroup of another's unit (status 219/CGROUP) or killing its processes. parent is the sandbox's
    NSFORGE_CGROUP_PARENT, whose folders the sandbox removes when it ends. In a v1 or hybrid layout, the same in the
    hierarchies of the controllers that the collection's limits use (V1_CONTROLLERS): nspawn mounts each for the
    container at the root of its cgroup namespace, this folder, so that a host sees only its own cgroups there (the
    root file system's fleet-cgroup-rw.service makes them writable at boot)."""
    root = root or CGROUP_ROOT
    parent = parent or os.environ.get('NSFORGE_CGROUP_PARENT') or 'nsforge-fleet-%d' % os.getpid()
    current = {}
    with open(proc_cgroup) as handle:
        for line in handle:
            _id, controllers, path = line.rstrip('\n').split(':', 2)
            current[controllers] = path
    places = []
    if os.path.exists(os.path.join(root, 'cgroup.controllers')):
        places.append((None, root, current.get('')))
    else:
        places += [(None, os.path.join(root, 'unified'), current.get('')),
                   (None, os.path.join(root, 'systemd'), current.get('name=systemd'))]
        for controller in V1_CONTROLLERS:
            path = [p for c, p in current.items() if controller in c.split(',')]
            places.append((controller, os.path.join(root, controller), path[0] if path else None))
    moved = []
    for controller, top, path in places:
        if path is None or not os.path.isfile(os.path.join(top, 'cgroup.procs')):
            continue
        folder = os.path.join(top, path.lstrip('/'), parent, name)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, 'cgroup.procs'), 'w') as handle:
            handle.write('%d\n' % os.getpid())
        moved.append(folder)
    return moved


def keep(folder, name, bridge):
    """The keeper (a detached process): boot the host, and again each time it reboots, until it stops."""
    p = paths(folder, name)
    boot = 0
    own_cgroup(name)
    while not os.path.exists(p['stop']):
        boot += 1
        with open(p['console'], 'ab') as console:
            # pylint: disable-next=consider-using-with
            proc = subprocess.Popen(nspawn_argv(p['root'], name, bridge), stdin=subprocess.DEVNULL, stdout=console,
                                    stderr=subprocess.STDOUT)
        _log(p['boots'], event='boot', boot=boot, nspawn=proc.pid)
        status = proc.wait()
        _log(p['boots'], event='end', boot=boot, status=status)
        if status != REBOOT_STATUS:
            break


def start_keeper(fleet_py, folder, name, bridge):
    p = paths(folder, name)
    with open(os.path.join(p['dir'], 'keeper.log'), 'ab') as log:
        # pylint: disable-next=consider-using-with
        proc = subprocess.Popen([sys.executable, fleet_py, '_keep', '--dir', folder, '--name', name, '--bridge', bridge],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return proc.pid


def boots(folder, name):
    """The entries of DIR/<host>/boots.jsonl, oldest first."""
    try:
        with open(paths(folder, name)['boots']) as handle:
            return [json.loads(line) for line in handle if line.strip()]
    except (IOError, OSError):
        return []


def _children(pid):
    try:
        with open('/proc/%d/task/%d/children' % (pid, pid)) as handle:
            return [int(x) for x in handle.read().split()]
    except (IOError, OSError):
        return []


def _nspid(pid):
    try:
        with open('/proc/%d/status' % pid) as handle:
            for line in handle:
                if line.startswith('NSpid:'):
                    return line.split()[1:]
    except (IOError, OSError):
        return None
    return None


def leader(folder, name):
    """The sandbox PID of the host's PID 1 (systemd) in its current boot, or None while it is not up."""
    entries = [e for e in boots(folder, name) if e['event'] == 'boot']
    if not entries:
        return None
    queue = [entries[-1]['nspawn']]
    while queue:
        pid = queue.pop(0)
        ids = _nspid(pid)
        if ids and len(ids) > 1 and ids[-1] == '1':
            return pid
        queue.extend(_children(pid))
    return None


def stop(folder, name, keeper_pid):
    """Stop the host for good: no new boot, its PID 1 killed (its namespaces and processes go with it), its root
    unmounted."""
    p = paths(folder, name)
    with open(p['stop'], 'w'):
        pass
    pid = leader(folder, name)
    if pid is not None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.time() + 20
    while time.time() < deadline and os.path.exists('/proc/%d' % keeper_pid):
        try:
            if os.waitpid(keeper_pid, os.WNOHANG)[0]:
                break
        except ChildProcessError:
            pass
        time.sleep(0.1)
    if os.path.exists('/proc/%d' % keeper_pid):
        try:
            os.kill(keeper_pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    subprocess.run(['umount', '-l', p['root']], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
