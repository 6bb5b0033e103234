# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""Files: the one atomic write of the collection, reads, removal, folders.

Every file the collection writes (/etc/netns files, /etc/subuid and /etc/subgid, service records, persisted
declarations, systemd units) goes through write_atomic: a temporary file in the same folder, fsync, rename, so a
reader sees the old content or the new one, never a half-written file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import tempfile

from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError


def make_dirs(path, mode):
    """Create a folder and its missing parents, each with mode (os.makedirs gives parents the default mode).

    A folder that another task created at the same moment is fine.
    """
    parent = os.path.dirname(path)
    if parent and parent != path and not os.path.isdir(parent):
        make_dirs(parent, mode)
    try:
        os.mkdir(path, mode)
    except OSError as exc:
        if exc.errno != errno.EEXIST or not os.path.isdir(path):
            raise


def read_text(path):
    """The text of a file, None when it does not exist. Bytes that are not UTF-8 survive a round trip."""
    try:
        with open(path, 'rb') as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise NsforgeError('cannot read %s: %s' % (path, exc.strerror or exc))
    return data.decode('utf-8', 'surrogateescape')


def write_atomic(path, text, mode=0o644, folder_mode=None):
    """Replace a file's content atomically: a temporary file in the same folder, fsync, rename.

    A new file gets mode; an existing one keeps its owner and group, and gets mode too unless mode is None (then
    it keeps its own; a new file gets 0644). A symbolic link is followed, so the link stays. folder_mode: create
    the folder when it is missing, with that mode. The folder is synced after the rename.
    """
    path = os.path.realpath(path)
    folder = os.path.dirname(path) or '.'
    if folder_mode is not None and not os.path.isdir(folder):
        make_dirs(folder, folder_mode)
    data = text.encode('utf-8', 'surrogateescape')
    try:
        current = os.stat(path)
    except (IOError, OSError) as exc:
        if exc.errno != errno.ENOENT:
            raise NsforgeError('cannot write %s: %s' % (path, exc.strerror or exc))
        current = None
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), suffix='.nsforge', dir=folder)
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
            handle.flush()
            if current is not None and (current.st_uid, current.st_gid) != (os.geteuid(), os.getegid()):
                os.fchown(handle.fileno(), current.st_uid, current.st_gid)
            if mode is None:
                os.fchmod(handle.fileno(), current.st_mode & 0o7777 if current is not None else 0o644)
            else:
                os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.rename(tmp, path)
        tmp = None
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except (IOError, OSError) as exc:
        raise NsforgeError('cannot write %s: %s' % (path, exc.strerror or exc))
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def remove(path):
    """Remove a file; a missing one is fine."""
    try:
        os.unlink(path)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise


def put(path, text, mode=0o644, folder_mode=0o755):
    """Write text (atomically, creating the folder) or, for None, remove the file: the undo of a write."""
    if text is None:
        remove(path)
    else:
        write_atomic(path, text, mode, folder_mode)
