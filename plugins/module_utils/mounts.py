# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""One mount, as nsmount (a node's mounts) and nsproc (a service's mounts) both declare it (specs.mount_entry_spec).

entry() resolves the aliases and fills the defaults (records written by older versions hold other spellings);
declare() validates an entry into a declaration, or raises naming mounts[2].owner and the value; with_private()
expands the private shorthand into tmpfs entries; make() mounts a declaration in the calling process's mount
namespace (nsmount's child that joined a node, nsproc's service before it execs); root_of() and set_root() read and
set the owner and mode of a tmpfs's root, which a remount cannot change.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import grp
import os
import pwd
import re

from ansible_collections.nsforge.linux.plugins.module_utils import kernel
from ansible_collections.nsforge.linux.plugins.module_utils.errors import bad_option
from ansible_collections.nsforge.linux.plugins.module_utils.specs import mount_entry_spec

SPEC = mount_entry_spec()
TMPFS_SOURCE = 'nsforge'
# what each kind of mount takes besides dst, type, ro, state and mkdir
ALLOWED = {'bind': ('src', 'recursive'), 'tmpfs': ('size', 'mode', 'owner', 'group', 'options'),
           'overlay': ('lower', 'upper', 'work'), 'proc': (), 'sysfs': ()}
# the tmpfs data that have keys of their own; in options they are read as those keys (nsproc's older spelling)
DATA_KEYS = {'size': 'size', 'mode': 'mode', 'uid': 'owner', 'gid': 'group'}
# the private shorthand: a tmpfs that anyone may write with the sticky bit, else 0755 owned by the service's user
STICKY = ('/tmp', '/var/tmp')


def entry(mount):
    """The mount with its canonical keys only: aliases resolved, defaults filled (a dict from a task or a record)."""
    out = {}
    for key, spec in SPEC.items():
        value = mount.get(key)
        for alias in spec.get('aliases', ()):
            if value is None:
                value = mount.get(alias)
        out[key] = spec.get('default') if value is None else value
    return out


def check_path(path, option, value=None):
    """An absolute path, normalized; not /, without .., NUL or newlines."""
    if not isinstance(path, str) or not path.startswith('/'):
        raise bad_option(option, path if value is None else value, 'expected an absolute path')
    if '..' in path.split('/') or '\x00' in path or '\n' in path:
        raise bad_option(option, path, 'must not contain .., NUL or newlines')
    path = os.path.normpath(path)
    if path == '/':
        raise bad_option(option, value or path, 'the root cannot be a declared mount')
    return path


def with_private(mounts, private, owner=None):
    """(option, entry) of each mount: the private shorthand's tmpfs entries first (so that a declared mount below
    one lands on it), then mounts. A path declared in mounts too is mounted as mounts declares it. owner: (uid, gid)
    of the private folders but the sticky ones (a service's user), else root's."""
    if private is not None and not isinstance(private, list):
        raise bad_option('private', private, 'expected a list of absolute paths such as /run, /tmp, /var/log')
    declared = set()
    for mount in mounts or []:
        if isinstance(mount.get('dst'), str) and mount['dst'].startswith('/'):
            declared.add(os.path.normpath(mount['dst']))
    out = []
    seen = set()
    for i, path in enumerate(private or []):
        option = 'private[%d]' % i
        dst = check_path(path, option)
        if dst in seen:
            raise bad_option(option, path, 'the path is listed twice')
        seen.add(dst)
        if dst in declared:
            continue
        sticky = dst in STICKY
        uid, gid = (None, None) if sticky or owner is None else owner
        out.append((option, entry({'dst': dst, 'type': 'tmpfs', 'mode': '1777' if sticky else '0755',
                                   'owner': None if uid is None else str(uid),
                                   'group': None if gid is None else str(gid)})))
    out.extend(('mounts[%d]' % i, entry(mount)) for i, mount in enumerate(mounts or []))
    return out


def _lookup(value, option, names, what, mapped):
    """The number of a user (names: pwd) or group (grp) given by number or name on this host."""
    value = str(value)
    if value.isdigit():
        number = int(value)
    else:
        try:
            number = (names.getpwnam(value).pw_uid if names is pwd else names.getgrnam(value).gr_gid)
        except KeyError:
            raise bad_option(option, value, 'no such %s on the host' % what)
    if mapped is not None and not any(i <= number < i + c for i, _o, c in mapped):
        raise bad_option(option, value, '%s %d is not mapped inside the user namespace' % (what, number))
    return number


def _data_words(mount, opt):
    """mount's options split: the words with keys of their own (size=, mode=, uid=, gid=) moved to those keys."""
    options = mount.get('options')
    if options is None:
        return []
    if not isinstance(options, str) or not options or any(c.isspace() or ord(c) < 32 for c in options):
        raise bad_option(opt + '.options', options, 'expected comma-separated words without spaces, such as '
                         'nr_inodes=1k,huge=within_size')
    words = []
    for word in options.split(','):
        key, _eq, value = word.partition('=')
        if key in DATA_KEYS and value:
            have = mount.get(DATA_KEYS[key])
            if have is not None and str(have) != value:
                raise bad_option(opt + '.options', options, '%s= differs from %s: %s' % (key, DATA_KEYS[key], have))
            mount[DATA_KEYS[key]] = value
        elif word:
            words.append(word)
    return words


def declare(option, mount, inside='/', mapped=(None, None)):
    """The declaration of one mount entry (entry()): dst, type, ro, state, mkdir, recursive, src (its real path),
    src_is_dir, size, mode (octal digits), uid, gid, data (more tmpfs options), lower, upper, work, and option (its
    path in the task). inside: the root the overlay's folders are under (a node's rootfs); mapped: (uid_map, gid_map)
    of the user namespace the mount is made in, or (None, None)."""
    mount = dict(mount)
    dst = check_path(mount['dst'], option + '.dst', mount['dst'])
    kind = mount['type']
    data = _data_words(mount, option) if kind == 'tmpfs' else []
    decl = {'option': option, 'dst': dst, 'type': kind, 'ro': bool(mount['ro']), 'state': mount['state'],
            'mkdir': bool(mount['mkdir']), 'recursive': bool(mount['recursive']), 'src': None, 'size': None,
            'mode': None, 'uid': None, 'gid': None, 'data': data, 'lower': None, 'upper': None, 'work': None}
    for key in ('src', 'size', 'mode', 'owner', 'group', 'options', 'lower', 'upper', 'work'):
        if mount.get(key) is not None and key not in ALLOWED[kind]:
            raise bad_option('%s.%s' % (option, key), mount[key], 'not an option of a %s mount' % kind)
    if not mount['recursive'] and kind != 'bind':
        raise bad_option(option + '.recursive', False, 'only a bind mount is recursive or not')
    if kind == 'bind' and mount['state'] == 'mounted':
        if not mount.get('src'):
            raise bad_option(option + '.src', None, 'a bind mount needs src')
        if not os.path.exists(mount['src']):
            raise bad_option(option + '.src', mount['src'], 'no such file or folder')
        decl['src'] = os.path.realpath(mount['src'])
        decl['src_is_dir'] = os.path.isdir(decl['src'])
    if kind == 'tmpfs':
        _tmpfs(decl, mount, option, mapped)
    if kind == 'overlay' and mount['state'] == 'mounted':
        _overlay(decl, mount, option, inside)
    return decl


def _tmpfs(decl, mount, option, mapped):
    if mount.get('size') is not None:
        if not re.match(r'^\d+[kKmMgGtT]?\Z|^\d{1,3}%\Z', str(mount['size'])):
            raise bad_option(option + '.size', mount['size'], 'expected a size such as 64m or 10%')
        decl['size'] = str(mount['size']).lower()
    if mount.get('mode') is not None:
        if not re.match(r'^0?[0-7]{3,4}\Z', str(mount['mode'])):
            raise bad_option(option + '.mode', mount['mode'], 'expected an octal mode such as 1777')
        decl['mode'] = '%o' % int(str(mount['mode']), 8)
    if mount.get('owner') is not None:
        decl['uid'] = _lookup(mount['owner'], option + '.owner', pwd, 'user', mapped[0])
    if mount.get('group') is not None:
        decl['gid'] = _lookup(mount['group'], option + '.group', grp, 'group', mapped[1])


def _overlay(decl, mount, option, inside):
    for key in ('lower', 'upper', 'work'):
        if not mount.get(key):
            raise bad_option('%s.%s' % (option, key), None, 'an overlay needs lower, upper and work')
    for path in mount['lower']:
        if not os.path.isdir(os.path.join(inside, path.lstrip('/'))):
            raise bad_option(option + '.lower', path, 'no such folder')
        if ',' in path or ':' in path:
            raise bad_option(option + '.lower', path, 'overlay folders cannot contain , or :')
    for key in ('upper', 'work'):
        if ',' in mount[key] or ':' in mount[key]:
            raise bad_option('%s.%s' % (option, key), mount[key], 'overlay folders cannot contain , or :')
        if not os.path.isdir(os.path.join(inside, mount[key].lstrip('/'))) and not mount['mkdir']:
            raise bad_option('%s.%s' % (option, key), mount[key], 'no such folder (set mkdir: true to create it)')
    norm = os.path.normpath if inside != '/' else os.path.realpath
    decl['lower'] = [norm(p) for p in mount['lower']]
    decl['upper'] = norm(mount['upper'])
    decl['work'] = norm(mount['work'])


def tmpfs_data(decl):
    """The data string of a tmpfs declaration (size, mode, uid, gid, then its other options), or None."""
    words = [('%s=%s' % (key, decl[key])) for key in ('size', 'mode', 'uid', 'gid') if decl.get(key) is not None]
    return ','.join(words + list(decl.get('data') or ())) or None


def describe_tmpfs(decl):
    """The tmpfs's options as a change describes them: size=4m, mode=755, uid=1000, read-only."""
    words = (tmpfs_data(decl) or '').split(',') + (['read-only'] if decl['ro'] else [])
    return ', '.join(w for w in words if w)


def _ensure_point(decl):
    dst = decl['dst']
    if os.path.lexists(dst):
        return
    if not decl['mkdir']:
        raise OSError(errno.ENOENT, '%s.dst: mount point %s does not exist (set mkdir: true)' % (decl['option'], dst))
    if decl['type'] == 'bind' and decl['src'] and not decl.get('src_is_dir', os.path.isdir(decl['src'])):
        parent = os.path.dirname(dst)
        if not os.path.isdir(parent):
            os.makedirs(parent, 0o755)
        open(dst, 'a').close()
    else:
        os.makedirs(dst, 0o755)


def make(decl, tree=None):
    """Mount decl in the calling process's mount namespace (tree: a detached clone of a bind's source)."""
    _ensure_point(decl)
    kind = decl['type']
    ro = kernel.MS_RDONLY if decl['ro'] else 0
    if kind == 'bind':
        if tree is not None:
            kernel.move_mount_fd(tree, decl['dst'])
        else:
            kernel.mount(decl['src'], decl['dst'], None, kernel.MS_BIND | (kernel.MS_REC if decl['recursive'] else 0))
        if decl['ro']:
            kernel.mount('none', decl['dst'], None, kernel.MS_BIND | kernel.MS_REMOUNT | kernel.MS_RDONLY)
    elif kind == 'tmpfs':
        kernel.mount(TMPFS_SOURCE, decl['dst'], 'tmpfs', kernel.MS_NOSUID | kernel.MS_NODEV | ro, tmpfs_data(decl))
    elif kind == 'overlay':
        for path in (decl['upper'], decl['work']):
            if not os.path.isdir(path):
                os.makedirs(path, 0o755)
        data = 'lowerdir=%s,upperdir=%s,workdir=%s' % (':'.join(decl['lower']), decl['upper'], decl['work'])
        kernel.mount('overlay', decl['dst'], 'overlay', ro, data)
    else:
        kernel.mount(kind, decl['dst'], kind, kernel.MS_NOSUID | kernel.MS_NODEV | kernel.MS_NOEXEC | ro)
    return True


def root_of(dsts):
    """{dst: [uid, gid, mode]} of the roots of these mount points, as stat shows them (None where there is none)."""
    out = {}
    for dst in dsts:
        try:
            st = os.lstat(dst)
            out[dst] = [st.st_uid, st.st_gid, st.st_mode & 0o7777]
        except OSError:
            out[dst] = None
    return out


def set_root(dst, uid, gid, mode):
    """Give the root of the mount at dst this owner, group and mode (each None: left as it is)."""
    if uid is not None or gid is not None:
        os.lchown(dst, -1 if uid is None else uid, -1 if gid is None else gid)
    if mode is not None:
        os.chmod(dst, mode)
    return True
