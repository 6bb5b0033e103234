# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""nsmount: the work on a node's mount namespace. Create, pin and remove it; read its mount table; mount, unmount,
remount and set propagation inside it.

Work inside the namespace happens in a forked child that joins it (setns), so the module's own mount namespace,
root and working folder never change.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

from ansible_collections.nsforge.linux.plugins.module_utils import kernel, mounts, nodes
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError
from ansible_collections.nsforge.linux.plugins.module_utils.layout import mnt_dir, mnt_path, node_dir
from ansible_collections.nsforge.linux.plugins.module_utils.mountinfo import parse_mountinfo

MS_UNBINDABLE = 1 << 17


def _join(path):
    fd = os.open(path, os.O_RDONLY)
    kernel.setns(fd, 'mnt')
    os.close(fd)
    os.chdir('/')


def read_namespace_mountinfo(path):
    """The mountinfo of the namespace at path, read by this process from a child that joined it.

    The child's own /proc may not exist inside (a pivoted root without proc), the module's does.
    """
    with kernel.held_child(lambda: _join(path), 'cannot enter the mount namespace %s' % path) as pid:
        with open('/proc/%d/mountinfo' % pid) as handle:
            return handle.read()


def _joined(path, func, args):
    if args and isinstance(args[0], dict) and args[0].get('pivoted') and args[0].get('type') == 'bind' \
            and func in (mount_decl, rebind):
        # cloned before joining: the source may not be visible from a pivoted root
        args = (dict(args[0], tree=kernel.open_tree_clone(args[0]['src'], args[0]['recursive'])),) + tuple(args[1:])
    _join(path)
    return func(*args)


def in_namespace(path, func, *args):
    """Run func(*args) in a child that joins the mount namespace at path; return its JSON result.

    A bind mount's source is cloned (open_tree) before the child joins, so that a
    namespace whose root was pivoted away from the host still receives it.
    """
    return kernel.in_child(_joined, path, func, args)


def read_mountinfo():
    with open('/proc/self/mountinfo') as handle:
        return handle.read()


def mount_decl(decl):
    return mounts.make(decl, decl.get('tree'))


def unmount(dst):
    kernel.umount(dst, kernel.MNT_DETACH)
    return True


def rebind(decl):
    """The declared bind again, over the stale one: the old bind goes first, so the node sees one mount at dst."""
    unmount(decl['dst'])
    return mount_decl(decl)


def remount(decl, data_change):
    """Remount decl with its flags (read-only or not) and, for a tmpfs whose size or options changed, its data."""
    ro = kernel.MS_RDONLY if decl['ro'] else 0
    if data_change and decl['type'] == 'tmpfs':
        kernel.mount(mounts.TMPFS_SOURCE, decl['dst'], 'tmpfs',
                     kernel.MS_REMOUNT | kernel.MS_NOSUID | kernel.MS_NODEV | ro,
                     mounts.tmpfs_data(dict(decl, mode=None, uid=None, gid=None)))
    kernel.mount('none', decl['dst'], None, kernel.MS_BIND | kernel.MS_REMOUNT | ro)
    return True


def _propagate(flag):
    kernel.mount('none', '/', None, kernel.MS_REC | flag)
    return True


def set_propagation(propagation):
    """The declared propagation towards the host, then (but for unbindable) a peer group of the node's own.

    The views of the node's services are slaves of that peer group (see services.mount_view_of), so a mount made
    in the node later reaches them; nothing the node or its services mount reaches the host.
    """
    if propagation == 'slave':
        _propagate(kernel.MS_SLAVE)
    else:
        _propagate(kernel.MS_PRIVATE)
    _propagate(MS_UNBINDABLE if propagation == 'unbindable' else kernel.MS_SHARED)
    return True


def ensure_private_folder(name):
    """Make the node's mntns folder a private bind mount of itself (needed to pin a mount namespace)."""
    directory = mnt_dir(name)
    nodes.make_state_dir(directory)
    # the visible mount, not a name in mountinfo: a mount at this path that a later mount on a parent folder hides
    # (a machine's pins under a fresh /run) is listed there too
    if not kernel.is_mount_point(directory, parse_mountinfo(read_mountinfo())):
        kernel.mount(directory, directory, None, kernel.MS_BIND | kernel.MS_REC)
    kernel.mount('none', directory, None, kernel.MS_PRIVATE)


def _pivot(rootfs):
    """Make rootfs the root of the calling process's mount namespace and detach the old root."""
    kernel.mount(rootfs, rootfs, None, kernel.MS_BIND | kernel.MS_REC)
    os.chdir(rootfs)
    kernel.pivot_root('.', '.')
    kernel.umount('.', kernel.MNT_DETACH)
    os.chdir('/')


def _prepare_namespace(propagation, rootfs):
    """In a child: a new mount namespace with this propagation, entered into rootfs when given."""
    kernel.unshare(kernel.CLONE_NEWNS)
    if rootfs:
        _propagate(kernel.MS_PRIVATE)
        _pivot(rootfs)
    set_propagation(propagation)


PIN_ATTEMPTS = 200


def create_namespace(name, propagation, rootfs=None):
    """A new mount namespace, a copy of the host's, with the given propagation, pinned at its handle.

    The kernel refuses (EINVAL) to pin a mount namespace whose sequence number
    is not above the caller's; on some multi-CPU kernels new namespaces do not
    always get a higher one, so a refused namespace is dropped and a new one made.
    """
    ensure_private_folder(name)
    path = mnt_path(name)
    if os.path.lexists(path) and not kernel.is_nsfs_mount(path):
        os.unlink(path)
    fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
    os.close(fd)
    try:
        for _attempt in range(PIN_ATTEMPTS):
            with kernel.held_child(lambda: _prepare_namespace(propagation, rootfs),
                                   'could not create the mount namespace') as pid:
                try:
                    kernel.mount('/proc/%d/ns/mnt' % pid, path, None, kernel.MS_BIND)
                    return
                except OSError as exc:
                    if exc.errno != errno.EINVAL:
                        raise
        raise NsforgeError('the kernel refused to pin a new mount namespace at %s %d times' % (path, PIN_ATTEMPTS))
    except Exception:
        try:
            os.unlink(path)
        except OSError:
            pass
        raise


def remove_namespace(name):
    path = mnt_path(name)
    kernel.remove_pinned(path)
    directory = mnt_dir(name)
    if kernel.is_mount_point(directory, parse_mountinfo(read_mountinfo())):
        kernel.umount(directory, kernel.MNT_DETACH)
    for folder in (directory, node_dir(name)):
        try:
            os.rmdir(folder)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTEMPTY, errno.EBUSY):
                raise
