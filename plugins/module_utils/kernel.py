# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""Kernel calls: unshare, setns, mount, umount2, sethostname and the table of namespace kinds.

This is the only file of the collection that uses ctypes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import json
import os
import platform
import resource
import selectors

from ansible_collections.nsforge.linux.plugins.module_utils import files
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError
from ansible_collections.nsforge.linux.plugins.module_utils.layout import KIND_NAMES

CLONE_NEWTIME = 0x00000080
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

_FLAGS = {'net': CLONE_NEWNET, 'uts': CLONE_NEWUTS, 'ipc': CLONE_NEWIPC, 'mnt': CLONE_NEWNS, 'pid': CLONE_NEWPID,
          'user': CLONE_NEWUSER, 'cgroup': CLONE_NEWCGROUP, 'time': CLONE_NEWTIME}
# kind -> (clone flag, file name under /proc/<pid>/ns/)
KINDS = dict((kind, (_FLAGS[kind], kind)) for kind in KIND_NAMES)

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MNT_DETACH = 2
NS_GET_USERNS = 0xb701
NS_GET_PARENT = 0xb702
NS_GET_NSTYPE = 0xb703

_LIBC = None


def _libc():
    global _LIBC  # pylint: disable=global-statement
    if _LIBC is None:
        _LIBC = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6', use_errno=True)
    return _LIBC


def _check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, '%s: %s' % (what, os.strerror(err)))


def flag_of(kind):
    """Return the CLONE_NEW* flag of a namespace kind."""
    return KINDS[kind][0]


def unshare(flags):
    """Move the calling process into new namespaces of the given CLONE_NEW* flags."""
    if hasattr(os, 'unshare'):
        os.unshare(flags)  # pylint: disable=no-member
        return
    _check(_libc().unshare(ctypes.c_int(flags)), 'unshare')


def setns(fd, kind):
    """Join the namespace referred to by the open file descriptor fd."""
    flag = flag_of(kind) if kind else 0
    if hasattr(os, 'setns'):
        os.setns(fd, flag)  # pylint: disable=no-member
        return
    _check(_libc().setns(ctypes.c_int(fd), ctypes.c_int(flag)), 'setns')


def mount(source, target, fstype, flags, data=None):
    """mount(2). Strings are encoded with the file system encoding."""
    def enc(value):
        if value is None:
            return None
        return os.fsencode(value)
    _check(_libc().mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           'mount %s on %s' % (source, target))


def umount(target, flags=0):
    """umount2(2)."""
    _check(_libc().umount2(os.fsencode(target), ctypes.c_int(flags)), 'umount %s' % target)


def sethostname(name):
    """sethostname(2) in the calling process's UTS namespace."""
    raw = name.encode('utf-8')
    _check(_libc().sethostname(ctypes.c_char_p(raw), ctypes.c_size_t(len(raw))), 'sethostname')


PR_SET_CHILD_SUBREAPER = 36


def set_child_subreaper():
    """Orphaned descendants of this process become its children instead of init's (kept across exec)."""
    _check(_libc().prctl(ctypes.c_int(PR_SET_CHILD_SUBREAPER), ctypes.c_ulong(1), ctypes.c_ulong(0),
                         ctypes.c_ulong(0), ctypes.c_ulong(0)), 'prctl(PR_SET_CHILD_SUBREAPER)')


def ns_path(kind, pid='self'):
    return '/proc/%s/ns/%s' % (pid, KINDS[kind][1])


def ns_id(path):
    """Return the (device, inode) identity of a namespace file, or None when absent."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def ns_kind_of_fd(fd):
    """The kind of namespace an open nsfs file refers to, or None for any other file.

    Uses the NS_GET_NSTYPE ioctl (Linux 4.11): reading the link of a bind
    mount of a namespace gives its mount path, not "net:[inode]".
    """
    try:
        flag = fcntl.ioctl(fd, NS_GET_NSTYPE)
    except (OSError, IOError):
        return None
    for kind, (kflag, _name) in KINDS.items():
        if kflag == flag:
            return kind
    return None


def is_nsfs_mount(path, kind=None):
    """True when path is a namespace file (a pinned handle), optionally of a given kind."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        found = ns_kind_of_fd(fd)
    finally:
        os.close(fd)
    if found is None:
        return False
    return kind is None or found == kind


@contextlib.contextmanager
def entered(path, kind):
    """Temporarily join the namespace at path (a pinned file or /proc/<pid>/ns/<kind>).

    Module processes are single-threaded, so setns here and back is safe and
    costs microseconds, unlike forking a helper per namespace.
    """
    own = os.open(ns_path(kind), os.O_RDONLY | os.O_CLOEXEC)
    try:
        target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        os.close(own)
        raise NsforgeError('cannot open namespace %s: %s' % (path, exc.strerror))
    try:
        setns(target, kind)
        try:
            yield
        finally:
            setns(own, kind)
    finally:
        os.close(target)
        os.close(own)


def create_pinned(kind, path, setup=None):
    """Create a new namespace of the given kind and pin it at path with a bind mount.

    The calling process returns to its own namespace afterwards. setup, when
    given, runs inside the new namespace before returning (e.g. sethostname).
    The file at path must already exist (an empty regular file).
    """
    if kind in ('pid', 'user', 'mnt', 'time'):
        raise NsforgeError('create_pinned does not handle namespace kind %s in-process' % kind)
    own = os.open(ns_path(kind), os.O_RDONLY | os.O_CLOEXEC)
    try:
        unshare(flag_of(kind))
        try:
            if setup is not None:
                setup()
            mount(ns_path(kind), path, None, MS_BIND)
        finally:
            setns(own, kind)
    finally:
        os.close(own)


def mount_id(path):
    """The ID (as /proc/self/mountinfo numbers them) of the mount that path is on, as this process sees it;
    None when path cannot be reached.

    Read from /proc/self/fdinfo of an O_PATH descriptor (Linux 3.15), which neither follows a final link nor
    opens the file itself. A mount that mountinfo lists at a path but that a later mount on a parent folder
    hides has another ID than the one found here.
    """
    try:
        fd = os.open(path, getattr(os, 'O_PATH', 0o10000000) | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        with open('/proc/self/fdinfo/%d' % fd) as handle:
            for line in handle:
                if line.startswith('mnt_id:'):
                    return int(line.split()[1])
    except (IOError, OSError, ValueError):
        pass
    finally:
        os.close(fd)
    return None


def is_mount_point(path, entries):
    """True when a mount of the mountinfo entries (parsed, with 'id' and 'dst') is the visible one at path."""
    found = mount_id(path)
    return found is not None and any(e['id'] == found and e['dst'] == path for e in entries)


def ensure_shared_mountpoint(directory):
    """Make directory a mount point with shared propagation, as `ip netns add` does for /run/netns.

    Mounts of namespace handles below it then propagate to peers, and
    iproute2, systemd and nsenter all find the handles.
    """
    files.make_dirs(directory, 0o755)
    try:
        mount('none', directory, None, MS_SHARED | MS_REC)
        return
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
    # not a mount point yet: bind it onto itself, then make it shared; under a lock on the folder, since two
    # tasks that both found it no mount point would otherwise bind it twice, one mount on top of the other
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            mount('none', directory, None, MS_SHARED | MS_REC)
            return  # another task made it a mount point meanwhile
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
        mount(directory, directory, None, MS_BIND | MS_REC)
        mount('none', directory, None, MS_SHARED | MS_REC)
    finally:
        os.close(fd)


def remove_pinned(path):
    """Detach a pinned namespace handle and remove its file. Missing files are fine."""
    if is_nsfs_mount(path):
        try:
            umount(path, MNT_DETACH)
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOENT):
                raise
    try:
        os.unlink(path)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise


def read_hostname(path):
    """Return the hostname of the UTS namespace pinned at path."""
    with entered(path, 'uts'):
        return os.uname()[1]


def write_hostname(path, hostname):
    with entered(path, 'uts'):
        sethostname(hostname)


def owner_userns_inode(path):
    """Inode of the user namespace that owns the namespace at path (NS_GET_USERNS), or None."""
    return related_ns_inode(path, NS_GET_USERNS)


def related_ns_inode(path, request):
    """Inode of the namespace that an nsfs ioctl (NS_GET_USERNS or NS_GET_PARENT) returns for path, or None.

    None also when the kernel refuses: the owner or parent lies outside this process's view (EPERM),
    or the kind has no parent (EINVAL).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            related = fcntl.ioctl(fd, request)
        except (OSError, IOError):
            return None
        try:
            return os.fstat(related).st_ino
        finally:
            os.close(related)
    finally:
        os.close(fd)


def in_child(func, *args):
    """Run func(*args) in a forked child and return its result, which must be JSON-serializable.

    For work that must not change this process: joining a user or mount
    namespace cannot be undone, and setns into a mount namespace moves the
    root and working folder. An exception in the child becomes NsforgeError.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(read_fd)
            try:
                result = {'ok': func(*args)}
            except BaseException as exc:  # pylint: disable=broad-except
                result = {'error': str(exc)}
                code = 1
            os.write(write_fd, json.dumps(result).encode('utf-8'))
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks = []
    try:
        while True:
            data = os.read(read_fd, 65536)
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(read_fd)
        os.waitpid(pid, 0)
    try:
        result = json.loads(b''.join(chunks).decode('utf-8'))
    except ValueError:
        raise NsforgeError('a helper process ended without a result')
    if 'error' in result:
        raise NsforgeError(result['error'])
    return result['ok']


def run(argv):
    """(exit status, stdout bytes, stderr bytes) of a command given as an argument vector (no shell), run by a
    fork and exec here: the restore command runs outside AnsibleModule, so it has no run_command. A program that
    cannot be run gives status 127 and the reason on stderr."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(out_r)
            os.close(err_r)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            os.execvp(argv[0], argv)
        except BaseException as exc:  # pylint: disable=broad-except
            os.write(2, ('cannot run %s: %s' % (argv[0], exc)).encode('utf-8', 'replace'))
        finally:
            os._exit(127)
    os.close(out_w)
    os.close(err_w)
    chunks = {out_r: [], err_r: []}
    try:
        with selectors.DefaultSelector() as selector:
            for fd in chunks:
                selector.register(fd, selectors.EVENT_READ)
            while selector.get_map():
                for key, _events in selector.select():
                    data = os.read(key.fd, 65536)
                    if data:
                        chunks[key.fd].append(data)
                    else:
                        selector.unregister(key.fd)
    finally:
        os.close(out_r)
        os.close(err_r)
        _pid, status = os.waitpid(pid, 0)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    return code, b''.join(chunks[out_r]), b''.join(chunks[err_r])


@contextlib.contextmanager
def held_child(prepare, failure):
    """A forked child that runs prepare() (say, unshare) and then waits; yields its PID.

    This process can meanwhile write the child's ID maps or bind its namespace
    handles. The child ends when the block does. failure prefixes the message
    when prepare() fails.
    """
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(ready_r)
            os.close(done_w)
            prepare()
            os.write(ready_w, b'1')
            os.read(done_r, 1)
            code = 0
        except BaseException as exc:  # pylint: disable=broad-except
            os.write(ready_w, ('0' + str(exc)).encode('utf-8', 'replace'))
        finally:
            os._exit(code)
    os.close(ready_w)
    os.close(done_r)
    try:
        answer = os.read(ready_r, 4096)
        if answer != b'1':
            raise NsforgeError('%s: %s' % (failure, answer[1:].decode('utf-8', 'replace') or 'the helper process ended'))
        yield pid
    finally:
        os.close(ready_r)
        os.close(done_w)
        os.waitpid(pid, 0)


def create_pinned_userns(path, uid_map, gid_map):
    """Create a user namespace with these ID maps and pin it at path.

    A process cannot leave a user namespace it entered, so a child enters it;
    this process (root in the parent namespace) writes the maps, pins the
    namespace with a bind mount of the child's handle, and ends the child.
    """
    with held_child(lambda: unshare(CLONE_NEWUSER),
                    'could not create a user namespace (is user namespace creation allowed on this host?)') as pid:
        for name, lines in (('uid_map', uid_map), ('gid_map', gid_map)):
            with open('/proc/%d/%s' % (pid, name), 'w') as handle:
                handle.write(''.join('%d %d %d\n' % tuple(line) for line in lines))
        mount('/proc/%d/ns/user' % pid, path, None, MS_BIND)


def _userns_maps(path):
    fd = os.open(path, os.O_RDONLY)
    setns(fd, 'user')
    os.close(fd)
    texts = []
    for name in ('uid_map', 'gid_map'):
        with open('/proc/self/%s' % name) as handle:
            texts.append(handle.read())
    return texts


def read_userns_maps(path):
    """The (uid_map, gid_map) of the user namespace pinned at path, read by a child that joins it."""
    try:
        uid_text, gid_text = in_child(_userns_maps, path)
    except NsforgeError as exc:
        raise NsforgeError('cannot read the ID maps of the user namespace %s: %s' % (path, exc.msg))

    def parse(text):
        return [tuple(int(v) for v in line.split()) for line in text.splitlines() if line.strip()]
    return parse(uid_text), parse(gid_text)


# syscalls without a libc wrapper, by machine
_SYSCALLS = {
    'x86_64': {'pivot_root': 155, 'open_tree': 428, 'move_mount': 429},
    'aarch64': {'pivot_root': 41, 'open_tree': 428, 'move_mount': 429},
}
OPEN_TREE_CLONE = 1
AT_RECURSIVE = 0x8000
AT_FDCWD = -100
MOVE_MOUNT_F_EMPTY_PATH = 0x00000004
AT_EMPTY_PATH = 0x1000


def _syscall(name, *args):
    numbers = _SYSCALLS.get(platform.machine())
    if numbers is None:
        raise NsforgeError('%s is not supported on %s by this collection' % (name, platform.machine()))
    ret = _libc().syscall(ctypes.c_long(numbers[name]), *args)
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, '%s: %s' % (name, os.strerror(err)))
    return ret


def pivot_root(new_root, put_old):
    _syscall('pivot_root', ctypes.c_char_p(os.fsencode(new_root)), ctypes.c_char_p(os.fsencode(put_old)))


def open_tree_clone(path, recursive=True):
    """A detached copy of the mount tree at path (open_tree(2), Linux 5.2), as a file descriptor."""
    flags = OPEN_TREE_CLONE | os.O_CLOEXEC | (AT_RECURSIVE if recursive else 0)
    return _syscall('open_tree', ctypes.c_int(AT_FDCWD), ctypes.c_char_p(os.fsencode(path)), ctypes.c_uint(flags))


def move_mount_fd(tree_fd, target):
    """Attach a detached mount tree at target in the caller's mount namespace (move_mount(2))."""
    _syscall('move_mount', ctypes.c_int(tree_fd), ctypes.c_char_p(b''), ctypes.c_int(AT_FDCWD),
             ctypes.c_char_p(os.fsencode(target)), ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH))


@contextlib.contextmanager
def more_descriptors(count):
    """Raise the soft limit of open descriptors (RLIMIT_NOFILE) by count, within the hard limit, for the with block:
    a task that holds a lock per node of thousands needs more than the 1,024 that a login session's soft limit
    often is (its hard limit is often 524,288)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = soft + count if hard == resource.RLIM_INFINITY else min(hard, soft + count)
    if soft == resource.RLIM_INFINITY or wanted <= soft:
        yield
        return
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
