# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""nsmount: the plan. Mount declarations (nsmount_options) against the node's mount table and the host's give a
change list, and the view that check mode predicts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.nsforge.linux.plugins.module_utils import mounts
from ansible_collections.nsforge.linux.plugins.module_utils.changes import Change
from ansible_collections.nsforge.linux.plugins.module_utils.errors import bad_option
from ansible_collections.nsforge.linux.plugins.module_utils.mounts import TMPFS_SOURCE, describe_tmpfs
from ansible_collections.nsforge.linux.plugins.module_utils.mountinfo import (
    has_peer_group, host_source, key_of, own_mounts, pivoted, propagation_of, size_kib, super_option, top_mounts)
from ansible_collections.nsforge.linux.plugins.module_utils.nsmount_ops import (
    mount_decl, rebind, remount, set_propagation, unmount, create_namespace, in_namespace,
    remove_namespace)
from ansible_collections.nsforge.linux.plugins.module_utils.nsmount_options import wanted_propagation
from ansible_collections.nsforge.linux.plugins.module_utils.nsproc_records import services_in


def _same_word(entry, word):
    """Whether the tmpfs's super options show an option word as declared; a word the kernel does not show (a
    default, or one it keeps to itself) counts as shown. Numbers with a k, m or g suffix are compared as numbers."""
    key, eq, value = word.partition('=')
    if not eq:
        return True
    have = super_option(entry, key)
    return have is None or have == value or (_count(have) is not None and _count(have) == _count(value))


def _count(value):
    """A number with an optional k, m, g or t suffix (1k: 1024), or None."""
    match = re.match(r'^(\d+)([kmgt]?)\Z', value.lower())
    return int(match.group(1)) * 1024 ** ' kmgt'.index(match.group(2) or ' ') if match else None


def root_change(decl, root):
    """[uid, gid, mode] the root of a declared tmpfs must get (None where it is as declared), or None if nothing."""
    if root is None:
        return None
    want = [decl['uid'], decl['gid'], None if decl['mode'] is None else int(decl['mode'], 8)]
    out = [w if w is not None and w != h else None for w, h in zip(want, root)]
    return out if any(v is not None for v in out) else None


def matches(decl, entry, host_entries, root=None):
    """(same kind and source, same options, tmpfs data to remount, owner and mode its root needs or None) of a
    declared mount and the visible mount at its point; root: [uid, gid, mode] of that mount's root."""
    kind = decl['type']
    ro_ok = ('ro' in entry['options']) == decl['ro']
    if kind == 'bind':
        dev, root_path = host_source(host_entries, decl['src'])
        same = entry['dev'] == dev and entry['root'] == root_path
        return same, same and ro_ok, False, None
    if kind == 'tmpfs':
        same = entry['fstype'] == 'tmpfs' and entry['source'] == TMPFS_SOURCE and entry['root'] == '/'
        data_ok = all(_same_word(entry, word) for word in decl['data'])
        if same and decl['size'] is not None and size_kib(decl['size']) is not None:
            have = super_option(entry, 'size')
            data_ok = data_ok and have is not None and size_kib(have) == size_kib(decl['size'])
        owner = root_change(decl, root) if same else None
        return same, same and data_ok and ro_ok and owner is None, not data_ok, owner
    if kind == 'overlay':
        same = entry['fstype'] == 'overlay' and super_option(entry, 'lowerdir') == ':'.join(decl['lower']) \
            and super_option(entry, 'upperdir') == decl['upper'] and super_option(entry, 'workdir') == decl['work']
        return same, same and ro_ok, False, None
    same = entry['fstype'] == kind
    return same, same and ro_ok, False, None


# how mountinfo shows the root of a bind whose source was unlinked (replaced by a rename, as an atomic write does)
DELETED = '//deleted'


def replaced(decl, entry, host_entries):
    """True when the visible mount is a bind of the declared source's old file, which a rename has replaced since:
    the bind still shows the old inode (mountinfo gives its root as <path>//deleted), so it must be bound again."""
    if decl['type'] != 'bind' or entry is None or not entry['root'].endswith(DELETED):
        return False
    dev, root = host_source(host_entries, decl['src'])
    return entry['dev'] == dev and entry['root'][:-len(DELETED)] == root


def describe(decl):
    if decl['type'] == 'bind':
        what = '%s (bind%s)' % (decl['src'], ', read-only' if decl['ro'] else '')
    elif decl['type'] == 'overlay':
        what = 'overlay of %s, upper %s' % (':'.join(decl['lower']), decl['upper'])
    elif decl['type'] == 'tmpfs':
        extras = describe_tmpfs(decl)
        what = 'tmpfs%s' % (' (%s)' % extras if extras else '')
    else:
        what = '%s%s' % (decl['type'], ' (read-only)' if decl['ro'] else '')
    return what


def predict_entry(decl, host_entries, root=None):
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
    view = {'dst': decl['dst'], 'type': decl['type'], 'source': source, 'root': '/', 'ro': decl['ro']}
    if owned(decl):
        was = root or [0, 0, 0o1777]
        view.update(uid=was[0] if decl['uid'] is None else decl['uid'],
                    gid=was[1] if decl['gid'] is None else decl['gid'],
                    mode='%o' % was[2] if decl['mode'] is None else decl['mode'])
    return view


def owned(decl):
    """Whether a declared mount is a tmpfs that declares the owner, group or mode of its root."""
    return decl['type'] == 'tmpfs' and decl['state'] == 'mounted' and any(
        decl[key] is not None for key in ('uid', 'gid', 'mode'))


def with_roots(views, roots):
    """The views of mounts with the owner, group and mode of the roots read (roots: {dst: [uid, gid, mode]})."""
    for view in views:
        root = roots.get(view['dst'])
        if root is not None:
            view.update(uid=root[0], gid=root[1], mode='%o' % root[2])
    return views


def root_words(owner):
    return ', '.join('%s=%s' % (key, value if key != 'mode' else '%o' % value)
                     for key, value in zip(('uid', 'gid', 'mode'), owner) if value is not None)


def plan(name, path, params, decls, actual):
    """(changes, predicted after-view, the node's mount table the changes start from) of one task.

    actual: 'exists', 'inode', 'entries' (the node's mount table), 'host_entries', 'before' (the diff view),
    'roots' ({dst: [uid, gid, mode]} of the declared tmpfs mounts' roots that declare any of them).
    """
    roots = actual.get('roots') or {}
    state = params['state']
    exists, inode, entries, host_entries, before = (actual['exists'], actual['inode'], actual['entries'],
                                                    actual['host_entries'], actual['before'])
    changes = []
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
            changes.append(Change('%s: remove mount namespace %s' % (label, path), lambda: remove_namespace(name)))
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
                changes.append(Change('%s: remove mount namespace %s, whose root changes' % (label, path),
                                      lambda: remove_namespace(name)))
                entries = []
        if not exists or recreate:
            changes.append(Change('%s: create mount namespace %s (%s propagation%s)'
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
                changes.append(Change('%s: set %s propagation (was %s)' % (label, want, have),
                                      lambda: in_namespace(path, set_propagation, want)))
            elif want != 'unbindable' and not has_peer_group(entries):
                # made by an earlier version: its services' views could not follow its mounts
                changes.append(Change('%s: give its mounts a peer group of their own, which the views of its services '
                                      'follow' % label, lambda: in_namespace(path, set_propagation, want)))
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
                    changes.append(Change('%s: unmount %s' % (label, decl['dst']),
                                          lambda d=decl: in_namespace(path, unmount, d['dst'])))
                    predicted['mounts'] = [m for m in predicted['mounts'] if m['dst'] != decl['dst']]
                continue
            same, options_ok, data_change, owner = matches(decl, entry, host_entries, roots.get(decl['dst'])) \
                if entry is not None else (False, False, False, None)
            if same and options_ok:
                continue
            if same and (data_change or ('ro' in entry['options']) != decl['ro']):
                words = []
                if ('ro' in entry['options']) != decl['ro']:
                    words.append('read-only' if decl['ro'] else 'read-write')
                if data_change:
                    words.append(mounts.tmpfs_data(dict(decl, mode=None, uid=None, gid=None)) or '')
                changes.append(Change('%s: remount %s %s' % (label, decl['dst'], ' '.join(words)),
                                      lambda d=decl, c=data_change: in_namespace(path, remount, d, c)))
            if same and owner is not None:
                was = roots[decl['dst']]
                changes.append(Change('%s: give the root of %s %s (was uid=%d, gid=%d, mode=%o)'
                                      % (label, decl['dst'], root_words(owner), was[0], was[1], was[2]),
                                      lambda d=decl['dst'], o=owner: in_namespace(path, mounts.set_root, d, *o),
                                      lambda d=decl['dst'], w=was: in_namespace(path, mounts.set_root, d, *w)))
            if not same and replaced(decl, entry, host_entries):
                changes.append(Change('%s: bind %s on %s again: its source was replaced since it was bound (the bind '
                                      'showed the old, deleted file)' % (label, decl['src'], decl['dst']),
                                      lambda d=decl: in_namespace(path, rebind, d)))
            elif not same:
                if own:
                    changes.append(Change('%s: unmount %s (%s), to mount it as declared' % (label, decl['dst'], entry['fstype']),
                                          lambda d=decl: in_namespace(path, unmount, d['dst'])))
                changes.append(Change('%s: mount %s on %s' % (label, describe(decl), decl['dst']),
                                      lambda d=decl: in_namespace(path, mount_decl, d),
                                      lambda d=decl: in_namespace(path, unmount, d['dst'])))
            predicted['mounts'] = [m for m in predicted['mounts'] if m['dst'] != decl['dst']]
            predicted['mounts'].append(predict_entry(decl, host_entries, roots.get(decl['dst']) if same else None))
        if params['purge'] and exists_for_plan:
            declared = set(d['dst'] for d in decls if d['state'] == 'mounted')
            extra = [e for e in own_mounts(entries, host_entries) if e['dst'] not in declared
                     and not any(e['dst'].startswith(d.rstrip('/') + '/') for d in declared)]
            for entry in sorted(extra, key=lambda e: -e['dst'].count('/')):
                changes.append(Change('%s: unmount undeclared %s (%s)' % (label, entry['dst'], entry['fstype']),
                                      lambda e=entry: in_namespace(path, unmount, e['dst'])))
                predicted['mounts'] = [m for m in predicted['mounts'] if m['dst'] != entry['dst']]
    return changes, predicted, entries
