# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""Nodes as handles: a node's pinned namespaces (create, remove, read their state), its state folders and locks.

Where each lives is in layout. Identity is the namespace's (device, inode), never a name substring.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import fcntl
import os
import shutil

from ansible_collections.nsforge.linux.plugins.module_utils import files, kernel
from ansible_collections.nsforge.linux.plugins.module_utils.layout import (
    LOCK_DIR, NETNS_DIR, STATE_DIR, etc_dir, lock_path, netns_path, node_dir, user_path, uts_path)


def netns_exists(name):
    """True when /run/netns/<name> is a pinned network namespace."""
    return kernel.is_nsfs_mount(netns_path(name), 'net')


def netns_stale(name):
    """True when /run/netns/<name> exists but pins nothing (left by a crash or a reboot)."""
    return netns_state(name) == 'stale'


def netns_state(name):
    """'present' (a pinned network namespace), 'stale' (a file that pins nothing) or 'absent'."""
    path = netns_path(name)
    if kernel.is_nsfs_mount(path, 'net'):
        return 'present'
    return 'stale' if os.path.lexists(path) else 'absent'


def userns_exists(name):
    return kernel.is_nsfs_mount(user_path(name), 'user')


def create_userns(name, uid_map, gid_map):
    return _pin(user_path(name), lambda path: kernel.create_pinned_userns(path, uid_map, gid_map))


def remove_userns(name):
    _unpin(name, user_path(name))


def uts_exists(name):
    return kernel.is_nsfs_mount(uts_path(name), 'uts')


def netns_inode(name):
    ident = kernel.ns_id(netns_path(name))
    return ident[1] if ident else None


def list_netns():
    """Names of the network namespaces pinned under /run/netns (exact names)."""
    try:
        names = sorted(os.listdir(NETNS_DIR))
    except OSError:
        return []
    return [n for n in names if kernel.is_nsfs_mount(os.path.join(NETNS_DIR, n), 'net')]


def make_state_dir(path):
    """Create a folder of the collection's state (root only), and tighten it and its parents up to STATE_DIR
    when an older version of the collection left them open to other users."""
    files.make_dirs(path, 0o700)
    while True:
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, 0o700)
        if path == STATE_DIR or not path.startswith(STATE_DIR + '/'):
            return
        path = os.path.dirname(path)


def _make_handle_file(path):
    directory = os.path.dirname(path)
    if directory.startswith(STATE_DIR + '/'):
        make_state_dir(directory)
    else:
        files.make_dirs(directory, 0o755)
    if os.path.lexists(path) and not kernel.is_nsfs_mount(path):
        os.unlink(path)  # stale handle: a plain file that pins nothing
    fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
    os.close(fd)


def create_netns(name):
    """Create and pin the node's network namespace; lo stays as the kernel makes it."""
    kernel.ensure_shared_mountpoint(NETNS_DIR)
    return _pin(netns_path(name), lambda path: kernel.create_pinned('net', path))


def remove_netns(name):
    kernel.remove_pinned(netns_path(name))


def _pin(path, pinner):
    """Pin a new namespace at path with pinner(path); no handle file is left when it fails."""
    _make_handle_file(path)
    try:
        pinner(path)
    except Exception:
        _unlink_quiet(path)
        raise
    return path


def _unpin(name, path):
    """Unpin a handle of a node, and remove the node's folder when it is left empty."""
    kernel.remove_pinned(path)
    try:
        os.rmdir(node_dir(name))
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENOTEMPTY):
            raise


def create_uts(name, hostname):
    return _pin(uts_path(name), lambda path: kernel.create_pinned('uts', path, setup=lambda: kernel.sethostname(hostname)))


def remove_uts(name):
    _unpin(name, uts_path(name))


def read_hostname(name):
    return kernel.read_hostname(uts_path(name))


def write_hostname(name, hostname):
    kernel.write_hostname(uts_path(name), hostname)


def remove_etc(name):
    shutil.rmtree(etc_dir(name), ignore_errors=False)


def _unlink_quiet(path):
    try:
        os.unlink(path)
    except OSError:
        pass


@contextlib.contextmanager
def file_lock(directory, name):
    """Hold an exclusive lock on the file directory/name (in a state folder, root only) for the with block."""
    make_state_dir(directory)
    fd = os.open(os.path.join(directory, name), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def locked(names):
    """Hold an exclusive lock per node, taken in sorted order so tasks never deadlock; the limit of open descriptors
    is raised by as many for the while (a descriptor per lock)."""
    names = sorted(set(names))
    fds = []
    with kernel.more_descriptors(len(names)):
        try:
            if names:
                make_state_dir(LOCK_DIR)
            for name in names:
                fd = os.open(lock_path(name), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                fds.append(fd)
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            for fd in reversed(fds):
                os.close(fd)
