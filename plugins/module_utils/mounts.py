# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""nsmount: mountinfo parsing and the reconciliation of a node's mount namespace.

Work inside the namespace happens in a forked child that joins it (setns),
so the module's own mount namespace, root and working folder never change.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re

from ansible_collections.nsforge.linux.plugins.module_utils import kernel, nodes
from ansible_collections.nsforge.linux.plugins.module_utils.changes import Change, run
from ansible_collections.nsforge.linux.plugins.module_utils.services import services_in
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError, bad_option

TMPFS_SOURCE = 'nsforge'
PROPAGATION = {'private': kernel.MS_PRIVATE, 'slave': kernel.MS_SLAVE, 'shared': kernel.MS_SHARED,
               'unbindable': 1 << 17}
MS_UNBINDABLE = 1 << 17


def argument_spec():
    return dict(
        argument_spec=dict(
            namespace=dict(type='str', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            propagation=dict(type='str', default='private', choices=['private', 'slave', 'shared', 'unbindable']),
            mounts=dict(type='list', elements='dict', options=dict(
                dst=dict(type='str', required=True),
                src=dict(type='path'),
                type=dict(type='str', default='bind', choices=['bind', 'tmpfs', 'overlay', 'proc', 'sysfs']),
                ro=dict(type='bool', default=False),
                recursive=dict(type='bool', default=True),
                size=dict(type='str'),
                mode=dict(type='str'),
                lower=dict(type='list', elements='path'),
                upper=dict(type='path'),
                work=dict(type='path'),
                state=dict(type='str', default='mounted', choices=['mounted', 'absent']),
                mkdir=dict(type='bool', default=True),
            )),
            purge=dict(type='bool', default=False),
            rootfs=dict(type='path'),
            pivot=dict(type='bool', default=True),
            persist=dict(type='bool'),
        ),
        supports_check_mode=True,
    )


# ---------------------------------------------------------------------------
# mountinfo


def _unescape(text):
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), text)


def parse_mountinfo(text):
    """Entries of a mountinfo file, in order, as dicts."""
    entries = []
    for line in text.splitlines():
        fields = line.split(' ')
        if len(fields) < 10:
            continue
        sep = fields.index('-', 6)
        optional = fields[6:sep]
        entries.append({
            'id': int(fields[0]),
            'parent': int(fields[1]),
            'dev': fields[2],
            'root': _unescape(fields[3]),
            'dst': _unescape(fields[4]),
            'options': fields[5].split(','),
            'propagation': optional,
            'fstype': fields[sep + 1],
            'source': _unescape(fields[sep + 2]),
            'super': fields[sep + 3].split(',') if len(fields) > sep + 3 else [],
        })
    return entries


def top_mounts(entries):
    """The visible (last) mount at each mount point."""
    out = {}
    for entry in entries:
        out[entry['dst']] = entry
    return out


def super_option(entry, key):
    for option in entry['super']:
        if option.startswith(key + '='):
            return option[len(key) + 1:]
    return None


def size_kib(value):
    """A tmpfs size such as 64m, 65536k or 1g in KiB; None for a percentage."""
    match = re.match(r'^(\d+)([kmgt]?)$', str(value).strip().lower())
    if not match:
        return None
    factor = {'': 1.0 / 1024, 'k': 1, 'm': 1024, 'g': 1024 ** 2, 't': 1024 ** 3}[match.group(2)]
    return int(int(match.group(1)) * factor)


def key_of(entry):
    return (entry['dst'], entry['dev'], entry['root'], entry['fstype'])


# ---------------------------------------------------------------------------
# validation


def validate(params):
    name = nodes.check_name(params['namespace'], 'namespace')
    if params.get('rootfs') is not None:
        if not params.get('pivot', True):
            raise bad_option('pivot', False, 'a rootfs is entered with pivot_root only (pivot: true)')
        if not os.path.isdir(params['rootfs']) or os.path.realpath(params['rootfs']) == '/':
            raise bad_option('rootfs', params['rootfs'], 'expected a folder other than / holding a root file system')
    decls = []
    seen = set()
    for i, mount in enumerate(params.get('mounts') or []):
        opt = 'mounts[%d]' % i
        dst = mount['dst']
        if not isinstance(dst, str) or not dst.startswith('/'):
            raise bad_option(opt + '.dst', dst, 'expected an absolute path')
        if '..' in dst.split('/') or '\x00' in dst or '\n' in dst:
            raise bad_option(opt + '.dst', dst, 'must not contain .., NUL or newlines')
        dst = os.path.normpath(dst)
        if dst == '/':
            raise bad_option(opt + '.dst', mount['dst'], 'the root of the namespace cannot be a declared mount')
        if dst in seen:
            raise bad_option(opt + '.dst', mount['dst'], 'the mount point is declared twice')
        seen.add(dst)
        kind = mount['type']
        decl = {'option': opt, 'dst': dst, 'type': kind, 'ro': bool(mount['ro']), 'state': mount['state'],
                'mkdir': bool(mount['mkdir']), 'recursive': bool(mount['recursive']), 'src': None, 'size': None,
                'mode': None, 'lower': None, 'upper': None, 'work': None}
        allowed = {'bind': ('src', 'recursive'), 'tmpfs': ('size', 'mode'), 'overlay': ('lower', 'upper', 'work'),
                   'proc': (), 'sysfs': ()}[kind]
        for key in ('src', 'size', 'mode', 'lower', 'upper', 'work'):
            if mount.get(key) is not None and key not in allowed:
                raise bad_option('%s.%s' % (opt, key), mount[key], 'not an option of a %s mount' % kind)
        if kind == 'bind' and mount['state'] == 'mounted':
            if not mount.get('src'):
                raise bad_option(opt + '.src', None, 'a bind mount needs src')
            if not os.path.exists(mount['src']):
                raise bad_option(opt + '.src', mount['src'], 'no such file or folder')
            decl['src'] = os.path.realpath(mount['src'])
            decl['src_is_dir'] = os.path.isdir(decl['src'])
        if kind == 'tmpfs':
            if mount.get('size') is not None:
                if not re.match(r'^\d+[kKmMgGtT]?\Z|^\d{1,3}%\Z', mount['size']):
                    raise bad_option(opt + '.size', mount['size'], 'expected a size such as 64m or 10%')
                decl['size'] = mount['size'].lower()
            if mount.get('mode') is not None:
                if not re.match(r'^0?[0-7]{3,4}\Z', mount['mode']):
                    raise bad_option(opt + '.mode', mount['mode'], 'expected an octal mode such as 1777')
                decl['mode'] = '%o' % int(mount['mode'], 8)
        if kind == 'overlay' and mount['state'] == 'mounted':
            for key in ('lower', 'upper', 'work'):
                if not mount.get(key):
                    raise bad_option('%s.%s' % (opt, key), None, 'an overlay needs lower, upper and work')
            inside = params.get('rootfs') or '/'
            for path in mount['lower']:
                if not os.path.isdir(os.path.join(inside, path.lstrip('/'))):
                    raise bad_option(opt + '.lower', path, 'no such folder')
                if ',' in path or ':' in path:
                    raise bad_option(opt + '.lower', path, 'overlay folders cannot contain , or :')
            for key in ('upper', 'work'):
                if ',' in mount[key] or ':' in mount[key]:
                    raise bad_option('%s.%s' % (opt, key), mount[key], 'overlay folders cannot contain , or :')
                if not os.path.isdir(os.path.join(inside, mount[key].lstrip('/'))) and not mount['mkdir']:
                    raise bad_option('%s.%s' % (opt, key), mount[key], 'no such folder (set mkdir: true to create it)')
            norm = os.path.normpath if params.get('rootfs') else os.path.realpath
            decl['lower'] = [norm(p) for p in mount['lower']]
            decl['upper'] = norm(mount['upper'])
            decl['work'] = norm(mount['work'])
        decls.append(decl)
    return name, decls


# ---------------------------------------------------------------------------
# work inside the namespace


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
    if args and isinstance(args[0], dict) and args[0].get('pivoted') and args[0].get('type') == 'bind' and func is _mount:
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


def _read_mountinfo():
    with open('/proc/self/mountinfo') as handle:
        return handle.read()


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


def _mount(decl):
    _ensure_point(decl)
    kind = decl['type']
    ro = kernel.MS_RDONLY if decl['ro'] else 0
    if kind == 'bind' and decl.get('tree') is not None:
        kernel.move_mount_fd(decl['tree'], decl['dst'])
        if decl['ro']:
            kernel.mount('none', decl['dst'], None, kernel.MS_BIND | kernel.MS_REMOUNT | kernel.MS_RDONLY)
    elif kind == 'bind':
        kernel.mount(decl['src'], decl['dst'], None, kernel.MS_BIND | (kernel.MS_REC if decl['recursive'] else 0))
        if decl['ro']:
            kernel.mount('none', decl['dst'], None, kernel.MS_BIND | kernel.MS_REMOUNT | kernel.MS_RDONLY)
    elif kind == 'tmpfs':
        data = ','.join(x for x in ('size=%s' % decl['size'] if decl['size'] else '',
                                    'mode=%s' % decl['mode'] if decl['mode'] else '') if x)
        kernel.mount(TMPFS_SOURCE, decl['dst'], 'tmpfs', kernel.MS_NOSUID | kernel.MS_NODEV | ro, data or None)
    elif kind == 'overlay':
        for path in (decl['upper'], decl['work']):
            if not os.path.isdir(path):
                os.makedirs(path, 0o755)
        data = 'lowerdir=%s,upperdir=%s,workdir=%s' % (':'.join(decl['lower']), decl['upper'], decl['work'])
        kernel.mount('overlay', decl['dst'], 'overlay', ro, data)
    elif kind == 'proc':
        kernel.mount('proc', decl['dst'], 'proc', kernel.MS_NOSUID | kernel.MS_NODEV | kernel.MS_NOEXEC | ro)
    elif kind == 'sysfs':
        kernel.mount('sysfs', decl['dst'], 'sysfs', kernel.MS_NOSUID | kernel.MS_NODEV | kernel.MS_NOEXEC | ro)
    return True


def _umount(dst):
    kernel.umount(dst, kernel.MNT_DETACH)
    return True


def _remount(decl, data_change):
    if data_change and decl['type'] == 'tmpfs':
        data = ','.join(x for x in ('size=%s' % decl['size'] if decl['size'] else '',
                                    'mode=%s' % decl['mode'] if decl['mode'] else '') if x)
        kernel.mount(TMPFS_SOURCE, decl['dst'], 'tmpfs',
                     kernel.MS_REMOUNT | kernel.MS_NOSUID | kernel.MS_NODEV | (kernel.MS_RDONLY if decl['ro'] else 0), data)
    kernel.mount('none', decl['dst'], None, kernel.MS_BIND | kernel.MS_REMOUNT | (kernel.MS_RDONLY if decl['ro'] else 0))
    return True


def _propagate(flag):
    kernel.mount('none', '/', None, kernel.MS_REC | flag)
    return True


def _set_propagation(propagation):
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


# ---------------------------------------------------------------------------
# creating and removing the namespace


def ensure_private_folder(name):
    """Make the node's mntns folder a private bind mount of itself (needed to pin a mount namespace)."""
    directory = nodes.mnt_dir(name)
    nodes.make_state_dir(directory)
    # the visible mount, not a name in mountinfo: a mount at this path that a later mount on a parent folder hides
    # (a machine's pins under a fresh /run) is listed there too
    if not kernel.is_mount_point(directory, parse_mountinfo(_read_mountinfo())):
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
    _set_propagation(propagation)


PIN_ATTEMPTS = 200


def create_namespace(name, propagation, rootfs=None):
    """A new mount namespace, a copy of the host's, with the given propagation, pinned at its handle.

    The kernel refuses (EINVAL) to pin a mount namespace whose sequence number
    is not above the caller's; on some multi-CPU kernels new namespaces do not
    always get a higher one, so a refused namespace is dropped and a new one made.
    """
    ensure_private_folder(name)
    path = nodes.mnt_path(name)
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
    path = nodes.mnt_path(name)
    kernel.remove_pinned(path)
    directory = nodes.mnt_dir(name)
    if kernel.is_mount_point(directory, parse_mountinfo(_read_mountinfo())):
        kernel.umount(directory, kernel.MNT_DETACH)
    for folder in (directory, nodes.node_dir(name)):
        try:
            os.rmdir(folder)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTEMPTY, errno.EBUSY):
                raise


# ---------------------------------------------------------------------------
# comparing


def host_source(host_entries, path):
    """(dev, root) that a bind of path shows in mountinfo, from the host's mount table."""
    best = None
    for entry in host_entries:
        mp = entry['dst']
        if path == mp or path.startswith(mp.rstrip('/') + '/'):
            if best is None or len(mp) >= len(best['dst']):
                best = entry
    if best is None:
        return None, None
    rest = path[len(best['dst']):] if best['dst'] != '/' else path
    root = os.path.normpath(best['root'].rstrip('/') + '/' + rest.lstrip('/'))
    return best['dev'], root


def matches(decl, entry, host_entries):
    """(same kind and source, same options) of a declared mount and the visible mount at its point."""
    kind = decl['type']
    if kind == 'bind':
        dev, root = host_source(host_entries, decl['src'])
        same = entry['dev'] == dev and entry['root'] == root
        return same, same and (('ro' in entry['options']) == decl['ro']), False
    if kind == 'tmpfs':
        same = entry['fstype'] == 'tmpfs' and entry['source'] == TMPFS_SOURCE and entry['root'] == '/'
        data_ok = True
        if same and decl['size'] is not None and size_kib(decl['size']) is not None:
            have = super_option(entry, 'size')
            data_ok = have is not None and size_kib(have) == size_kib(decl['size'])
        if same and decl['mode'] is not None:
            data_ok = data_ok and (super_option(entry, 'mode') or '1777') == decl['mode']
        return same, same and data_ok and (('ro' in entry['options']) == decl['ro']), not data_ok
    if kind == 'overlay':
        same = entry['fstype'] == 'overlay' and super_option(entry, 'lowerdir') == ':'.join(decl['lower']) \
            and super_option(entry, 'upperdir') == decl['upper'] and super_option(entry, 'workdir') == decl['work']
        return same, same and (('ro' in entry['options']) == decl['ro']), False
    same = entry['fstype'] == kind
    return same, same and (('ro' in entry['options']) == decl['ro']), False


def describe(decl):
    if decl['type'] == 'bind':
        what = '%s (bind%s)' % (decl['src'], ', read-only' if decl['ro'] else '')
    elif decl['type'] == 'overlay':
        what = 'overlay of %s, upper %s' % (':'.join(decl['lower']), decl['upper'])
    else:
        extras = [x for x in (decl.get('size') and 'size=%s' % decl['size'], decl.get('mode') and 'mode=%s' % decl['mode'],
                              decl['ro'] and 'read-only') if x]
        what = '%s%s' % (decl['type'], ' (%s)' % ', '.join(extras) if extras else '')
    return what


def predict_entry(decl, host_entries):
    """The view of a declared mount as mountinfo will show it, for check mode's diff."""
    if decl['type'] == 'bind':
        best = None
        for entry in host_entries:
            mp = entry['dst']
            if decl['src'] == mp or decl['src'].startswith(mp.rstrip('/') + '/'):
                if best is None or len(mp) >= len(best['dst']):
                    best = entry
        _dev, root = host_source(host_entries, decl['src'])
        return {'dst': decl['dst'], 'type': best['fstype'] if best else None, 'source': best['source'] if best else None,
                'root': root, 'ro': decl['ro']}
    source = {'tmpfs': TMPFS_SOURCE}.get(decl['type'], decl['type'])
    return {'dst': decl['dst'], 'type': decl['type'], 'source': source, 'root': '/', 'ro': decl['ro']}


def entry_view(entry):
    return {'dst': entry['dst'], 'type': entry['fstype'], 'source': entry['source'], 'root': entry['root'],
            'ro': 'ro' in entry['options']}


def pivoted(entries, host_entries):
    """True when the namespace's root is not the host's (a pivoted rootfs)."""
    mine = top_mounts(entries).get('/')
    host = top_mounts(host_entries).get('/')
    return mine is not None and host is not None and (mine['dev'], mine['root']) != (host['dev'], host['root'])


def own_mounts(entries, host_entries):
    """Mounts of the namespace that the host's mount table does not have (all but / when pivoted)."""
    if pivoted(entries, host_entries):
        return [e for e in entries if e['dst'] != '/']
    host = set(key_of(e) for e in host_entries)
    return [e for e in entries if key_of(e) not in host]


def propagation_of(entries):
    """The propagation of a node's mount namespace towards the host, from the tags of its root mount.

    A peer group of the node's own (shared:N without master:M) is not sharing with the host: it is how the node's
    services' views follow the node's mounts. So V(shared) (a peer group of the node's own) reads as private.
    """
    root = top_mounts(entries).get('/')
    if root is None:
        return None
    tags = ' '.join(root['propagation'])
    if 'unbindable' in tags:
        return 'unbindable'
    if 'master:' in tags:
        return 'slave'
    return 'private'


def has_peer_group(entries):
    """True when the root mount of a mount table is shared (its services' views can follow it)."""
    root = top_mounts(entries).get('/')
    return root is not None and any(tag.startswith('shared:') for tag in root['propagation'])


def wanted_propagation(declared):
    """V(shared) meant a peer group of the node's own; every node has one now, so it is the same as V(private)."""
    return 'private' if declared == 'shared' else declared


# ---------------------------------------------------------------------------
# the task


def converge(params, check_mode):
    name, decls = validate(params)
    state = params['state']
    with nodes.locked([name]):
        path = nodes.mnt_path(name)
        exists = kernel.is_nsfs_mount(path, 'mnt')
        host_entries = parse_mountinfo(_read_mountinfo())
        entries = parse_mountinfo(read_namespace_mountinfo(path)) if exists else []
        inode = kernel.ns_id(path)[1] if exists else None
        before = {'present': exists, 'propagation': propagation_of(entries) if exists else None,
                  'mounts': [entry_view(e) for e in own_mounts(entries, host_entries)]}
        plan = []
        want = wanted_propagation(params['propagation'])
        predicted = {'present': state == 'present', 'propagation': want if state == 'present' else None,
                     'mounts': [] if state == 'absent' else list(before['mounts'])}
        label = 'node %s' % name
        if state == 'absent':
            if exists:
                busy = services_in('mnt', inode)
                if busy:
                    raise bad_option('state', 'absent', 'service %s still runs in the mount namespace of node %s'
                                     % (', '.join(busy), name))
                plan.append(Change('%s: remove mount namespace %s' % (label, path), lambda: remove_namespace(name)))
        else:
            rootfs = os.path.realpath(params['rootfs']) if params.get('rootfs') else None
            recreate = False
            if exists:
                root_entry = top_mounts(entries).get('/')
                if rootfs:
                    want_root = host_source(host_entries, rootfs)
                    recreate = root_entry is None or (root_entry['dev'], root_entry['root']) != want_root
                else:
                    recreate = pivoted(entries, host_entries)
                if recreate:
                    busy = services_in('mnt', inode)
                    if busy:
                        raise bad_option('rootfs', params.get('rootfs'), 'the root of node %s changes, but service %s still '
                                         'runs in its mount namespace' % (name, ', '.join(busy)))
                    plan.append(Change('%s: remove mount namespace %s, whose root changes' % (label, path),
                                       lambda: remove_namespace(name)))
                    entries = []
            if not exists or recreate:
                plan.append(Change('%s: create mount namespace %s (%s propagation%s)'
                                   % (label, path, want, ', root %s' % rootfs if rootfs else ''),
                                   lambda: create_namespace(name, want, rootfs), lambda: remove_namespace(name)))
                exists_for_plan = False
            else:
                exists_for_plan = True
            if exists_for_plan:
                have = propagation_of(entries)
                # a slave of a host whose root shares nothing receives nothing either: the same as private
                satisfied = have == want or (want == 'slave' and have == 'private' and not has_peer_group(host_entries))
                if not satisfied:
                    plan.append(Change('%s: set %s propagation (was %s)' % (label, want, have),
                                       lambda: in_namespace(path, _set_propagation, want)))
                elif want != 'unbindable' and not has_peer_group(entries):
                    # made by an earlier version: its services' views could not follow its mounts
                    plan.append(Change('%s: give its mounts a peer group of their own, which the views of its services '
                                       'follow' % label, lambda: in_namespace(path, _set_propagation, want)))
            if rootfs:
                visible = top_mounts(entries) if exists_for_plan else {}
                host_top = {}
            else:
                visible = top_mounts(entries) if exists_for_plan else top_mounts(host_entries)
                host_top = top_mounts(host_entries)
            for decl in decls:
                decl['pivoted'] = bool(rootfs)
                entry = visible.get(decl['dst'])
                own = entry is not None and (host_top.get(decl['dst']) is None or key_of(host_top[decl['dst']]) != key_of(entry))
                if decl['state'] == 'absent':
                    if own:
                        plan.append(Change('%s: unmount %s' % (label, decl['dst']),
                                           lambda d=decl: in_namespace(path, _umount, d['dst'])))
                        predicted['mounts'] = [m for m in predicted['mounts'] if m['dst'] != decl['dst']]
                    continue
                same, options_ok, data_change = matches(decl, entry, host_entries) if entry is not None else (False, False, False)
                if same and options_ok:
                    continue
                if same:
                    words = []
                    if ('ro' in entry['options']) != decl['ro']:
                        words.append('read-only' if decl['ro'] else 'read-write')
                    if data_change:
                        words.append(', '.join(x for x in ('size=%s' % decl['size'] if decl['size'] else '',
                                                           'mode=%s' % decl['mode'] if decl['mode'] else '') if x))
                    plan.append(Change('%s: remount %s %s' % (label, decl['dst'], ' '.join(words)),
                                       lambda d=decl, c=data_change: in_namespace(path, _remount, d, c)))
                else:
                    if own:
                        plan.append(Change('%s: unmount %s (%s), to mount it as declared' % (label, decl['dst'], entry['fstype']),
                                           lambda d=decl: in_namespace(path, _umount, d['dst'])))
                    plan.append(Change('%s: mount %s on %s' % (label, describe(decl), decl['dst']),
                                       lambda d=decl: in_namespace(path, _mount, d),
                                       lambda d=decl: in_namespace(path, _umount, d['dst'])))
                predicted['mounts'] = [m for m in predicted['mounts'] if m['dst'] != decl['dst']]
                predicted['mounts'].append(predict_entry(decl, host_entries))
            if params['purge'] and exists_for_plan:
                declared = set(d['dst'] for d in decls if d['state'] == 'mounted')
                extra = [e for e in own_mounts(entries, host_entries) if e['dst'] not in declared
                         and not any(e['dst'].startswith(d.rstrip('/') + '/') for d in declared)]
                for entry in sorted(extra, key=lambda e: -e['dst'].count('/')):
                    plan.append(Change('%s: unmount undeclared %s (%s)' % (label, entry['dst'], entry['fstype']),
                                       lambda e=entry: in_namespace(path, _umount, e['dst'])))
                    predicted['mounts'] = [m for m in predicted['mounts'] if m['dst'] != entry['dst']]
        from ansible_collections.nsforge.linux.plugins.module_utils import persist
        file_diffs = persist.add_to(persist.plan_nsmount(params), plan)
        descriptions = run(plan, check_mode)
        exists = kernel.is_nsfs_mount(path, 'mnt')
        # the host's table changes when the node's folder becomes a bind mount of itself
        host_entries = parse_mountinfo(_read_mountinfo())
        if check_mode or not plan:
            after = predicted if plan else before
            final = entries if exists else []
        else:
            final = parse_mountinfo(read_namespace_mountinfo(path)) if exists else []
            after = {'present': exists, 'propagation': propagation_of(final) if exists else None,
                     'mounts': [entry_view(e) for e in own_mounts(final, host_entries)]}
    return {
        'changed': bool(plan),
        'changes': descriptions,
        'namespace': {'name': name, 'path': path, 'inode': kernel.ns_id(path)[1] if exists else None,
                      'mounts': [entry_view(e) for e in own_mounts(final, host_entries)]},
        'diff': persist.merge_diff({'before': before, 'after': after}, file_diffs),
    }
