# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A snapshot of everything a task of nsforge.linux could change on a host.

Read with argv commands (ip -j, nsenter) and plain file reads, never a shell:
  - every network namespace (the host's and each one pinned under /run/netns):
    its links (ip -j -d link), addresses (ip -j addr, address lifetimes
    dropped: they count down by themselves) and routes of every table;
  - /proc/self/mountinfo as it is (mount IDs included, so a remount shows),
    and the mountinfo of every node's pinned mount namespace;
  - /etc/subuid and /etc/subgid, the trees /etc/netns and /run/nsforge and
    /run/netns: every entry's path, type, mode, owner and, for files, content.
    Modification times are left out: a lock taken and released (flock) leaves
    the file as it was, but reading a file never changes its content, so
    content and mode are what "unchanged" means;
  - the process list as (pid, cmdline), without the processes that descend
    from the test driver (ansible-playbook, its workers, this script), whose
    PIDs come and go by themselves.

Usage: snapshot.py [TRANSIENT_ROOT_PID]  prints the snapshot as JSON.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import stat
import subprocess
import sys

TREES = ('/etc/netns', '/run/nsforge', '/run/netns')
# Lock files: created empty (0600) on first use and never removed, since
# unlinking a lock file while another task waits on it would break the mutual
# exclusion. A lock file is no state; a lock *held* is, and /proc/locks shows it.
LOCK_DIR = '/run/nsforge/locks'
FILES = ('/etc/subuid', '/etc/subgid', '/proc/self/mountinfo')
VOLATILE_ADDR_KEYS = ('valid_life_time', 'preferred_life_time')
# Bridges' and ports' *_timer fields (gc_timer, hello_timer, ...) count down by themselves.


def _run(argv):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        return {'argv': argv, 'rc': proc.returncode, 'stderr': proc.stderr.decode(errors='replace')}
    return proc.stdout.decode(errors='replace')


def _json(argv):
    out = _run(argv)
    return json.loads(out) if isinstance(out, str) and out.strip() else out


def network(prefix):
    addrs = _json(prefix + ['-j', 'addr', 'show'])
    if isinstance(addrs, list):
        for link in addrs:
            for info in link.get('addr_info', []):
                for key in VOLATILE_ADDR_KEYS:
                    info.pop(key, None)
    links = _json(prefix + ['-j', '-d', 'link', 'show'])
    if isinstance(links, list):
        for link in links:
            for info in (link.get('linkinfo', {}).get('info_data'), link.get('linkinfo', {}).get('info_slave_data')):
                for key in list(info or {}):
                    if key.endswith('_timer'):  # bridge timers count by themselves
                        del info[key]
    return {
        'links': links,
        'addresses': addrs,
        'routes4': _json(prefix + ['-j', '-4', 'route', 'show', 'table', 'all']),
        'routes6': _json(prefix + ['-j', '-6', 'route', 'show', 'table', 'all']),
    }


def tree(top):
    entries = {}
    if not os.path.lexists(top):
        return None
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        if dirpath == LOCK_DIR or dirpath.startswith(LOCK_DIR + '/'):
            dirnames[:] = []
            continue
        for name in [''] + sorted(dirnames) + sorted(filenames):
            path = os.path.join(dirpath, name) if name else dirpath
            if name in dirnames and path in entries:
                continue
            st = os.lstat(path)
            entry = {'mode': oct(st.st_mode), 'uid': st.st_uid, 'gid': st.st_gid}
            if stat.S_ISREG(st.st_mode):
                try:
                    with open(path, 'rb') as handle:
                        entry['sha256'] = hashlib.sha256(handle.read()).hexdigest()
                except OSError as exc:  # a namespace handle reads as an error
                    entry['read'] = exc.strerror
                entry['size'] = st.st_size
            elif stat.S_ISLNK(st.st_mode):
                entry['target'] = os.readlink(path)
            entries[path] = entry
    return entries


def read(path):
    try:
        with open(path, 'r', encoding='utf-8', errors='replace') as handle:
            return {'mode': oct(os.stat(path).st_mode), 'content': handle.read()}
    except OSError as exc:
        return {'error': exc.strerror}


def _descendants(root):
    children = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry, 'r', encoding='utf-8', errors='replace') as handle:
                ppid = int(handle.read().rsplit(')', 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in found:
            continue
        found.add(pid)
        todo.extend(children.get(pid, []))
    return found


def processes(transient_root):
    skip = _descendants(transient_root) if transient_root else set()
    skip.add(os.getpid())
    procs = []
    for entry in sorted(os.listdir('/proc'), key=lambda e: int(e) if e.isdigit() else -1):
        if not entry.isdigit() or int(entry) in skip:
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as handle:
                cmdline = handle.read().replace(b'\0', b' ').decode(errors='replace').strip()
        except OSError:
            continue  # ended meanwhile
        procs.append([int(entry), cmdline])
    return procs


def snapshot(transient_root=None):
    nets = {'host': network(['ip'])}
    pins = sorted(os.listdir('/run/netns')) if os.path.isdir('/run/netns') else []
    for name in pins:
        nets[name] = network(['ip', '-n', name])
    mnt = {'host': read('/proc/self/mountinfo')}
    nodes = '/run/nsforge/nodes'
    for node in sorted(os.listdir(nodes)) if os.path.isdir(nodes) else []:
        handle = os.path.join(nodes, node, 'mntns', 'mnt')
        if os.path.exists(handle):
            mnt[node] = _run(['nsenter', '--mount=' + handle, 'cat', '/proc/self/mountinfo'])
    return {
        'network': nets,
        'mountinfo': mnt,
        'files': {path: read(path) for path in FILES if not path.startswith('/proc')},
        'trees': {top: tree(top) for top in TREES},
        'processes': processes(transient_root),
        # held locks, without the ordinal column
        'locks': sorted(line.split(':', 1)[1].strip() for line in read('/proc/locks').get('content', '').splitlines()),
    }


def differences(before, after, path=''):
    """Paths (dotted) where two snapshots differ, for a readable failure."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for key in sorted(set(before) | set(after), key=str):
            out.extend(differences(before.get(key), after.get(key), '%s/%s' % (path, key)))
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        out = []
        for idx, (one, two) in enumerate(zip(before, after)):
            out.extend(differences(one, two, '%s[%d]' % (path, idx)))
        return out
    if isinstance(before, str) and isinstance(after, str) and '\n' in before + after:
        old, new = before.splitlines(), after.splitlines()
        return ['%s: %s' % (path, line) for line in difflib.unified_diff(old, new, lineterm='', n=0)
                if line[:1] in '+-' and line[:3] not in ('+++', '---')]
    if before != after:
        return ['%s: %r -> %r' % (path or '/', before, after)]
    return []


if __name__ == '__main__':
    root = int(sys.argv[1]) if len(sys.argv) > 1 else None
    json.dump(snapshot(root), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write('\n')
