# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""uidmap: the task. A user's subordinate ranges (idmap) and a node's persistent user namespace, as one change
list, with the persistence steps (persist)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pwd

from ansible_collections.nsforge.linux.plugins.module_utils import files, idmap, kernel, nodes, persist
from ansible_collections.nsforge.linux.plugins.module_utils.changes import Change, run
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError, bad_option
from ansible_collections.nsforge.linux.plugins.module_utils.layout import LOCK_DIR, user_path
from ansible_collections.nsforge.linux.plugins.module_utils.names import check_name
from ansible_collections.nsforge.linux.plugins.module_utils.nsproc_records import services_in

SUBUID = '/etc/subuid'
SUBGID = '/etc/subgid'


def map_dicts(lines):
    return [{'inside': i, 'outside': o, 'count': c} for i, o, c in lines or []]


def range_dicts(ranges):
    return [{'start': s, 'count': c} for s, c in ranges]


def _files_locked():
    """One lock for /etc/subuid and /etc/subgid, so concurrent tasks never interleave their edits."""
    return nodes.file_lock(LOCK_DIR, '.subid-files.lock')


def converge(params, check_mode):
    if params.get('namespace') is not None:
        check_name(params['namespace'], 'namespace')
    with _files_locked(), nodes.locked([params['namespace']] if params.get('namespace') else []):
        return _converge(params, check_mode)


def _converge(params, check_mode):
    state = params['state']
    plan = []
    result = {'changes': []}
    diffs = []
    texts = {}
    user = params.get('user')
    uid = None
    if user is not None:
        try:
            entry = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
        except KeyError:
            raise bad_option('user', user, 'no such user on the host')
        user, uid = entry.pw_name, entry.pw_uid
    if params.get('namespace') is not None:
        check_name(params['namespace'], 'namespace')
    # subordinate ranges ------------------------------------------------------
    for key, path in (('subuid', SUBUID), ('subgid', SUBGID)):
        old = files.read_text(path) or ''
        new = old
        if user is not None:
            want = params.get(key)
            touch = want is not None or (state == 'absent' and not params.get('subuid') and not params.get('subgid'))
            if touch:
                new, lines = idmap.plan_ranges(old, user, want, state, params['exclusive'], key, uid=uid)
                if new != old:
                    diffs.append({'before_header': path, 'after_header': path, 'before': old, 'after': new})
                    plan.append(Change('%s: %s' % (path, '; '.join(lines)),
                                       lambda p=path, t=new: files.write_atomic(p, t, None),
                                       lambda p=path, t=old: files.write_atomic(p, t, None)))
            result[key] = range_dicts(idmap.ranges_of(new, user, uid))
        texts[key] = new
    # the node's user namespace ----------------------------------------------
    name = params.get('namespace')
    if name is not None:
        path = user_path(name)
        exists = nodes.userns_exists(name)
        inode = kernel.ns_id(path)[1] if exists else None
        cur_uid, cur_gid = kernel.read_userns_maps(path) if exists else (None, None)
        before = {'present': exists, 'uid_map': map_dicts(cur_uid), 'gid_map': map_dicts(cur_gid)}
        if state == 'present':
            uid_map, gid_map = wanted_maps(params, texts, user, uid)
            after = {'present': True, 'uid_map': map_dicts(uid_map), 'gid_map': map_dicts(gid_map)}
            if not exists:
                plan.append(Change('node %s: create user namespace %s with uid_map %s and gid_map %s'
                                   % (name, path, fmt(uid_map), fmt(gid_map)),
                                   lambda: nodes.create_userns(name, uid_map, gid_map), lambda: nodes.remove_userns(name)))
            elif (sorted(cur_uid), sorted(cur_gid)) != (sorted(uid_map), sorted(gid_map)):
                if not params['recreate']:
                    raise NsforgeError('namespace: the user namespace of node %s has uid_map %s and gid_map %s, declared %s and %s; '
                                       'the kernel writes a map once, so set recreate: true to replace the namespace'
                                       % (name, fmt(cur_uid), fmt(cur_gid), fmt(uid_map), fmt(gid_map)), option='namespace')
                busy = services_in('user', inode)
                if busy:
                    raise bad_option('recreate', True, 'service %s still runs in the user namespace of node %s'
                                     % (', '.join(busy), name))
                plan.append(Change('node %s: recreate user namespace %s (uid_map %s -> %s, gid_map %s -> %s)'
                                   % (name, path, fmt(cur_uid), fmt(uid_map), fmt(cur_gid), fmt(gid_map)),
                                   lambda: (nodes.remove_userns(name), nodes.create_userns(name, uid_map, gid_map))))
        else:
            after = {'present': False, 'uid_map': [], 'gid_map': []}
            if exists:
                busy = services_in('user', inode)
                if busy:
                    raise bad_option('state', 'absent', 'service %s still runs in the user namespace of node %s'
                                     % (', '.join(busy), name))
                plan.append(Change('node %s: remove user namespace %s' % (name, path), lambda: nodes.remove_userns(name)))
        diffs.append({'before_header': path, 'after_header': path, 'before': before, 'after': after})
    maps = wanted_maps(params, texts, user, uid) if name is not None and state == 'present' else (None, None)
    file_diffs = persist.add_to(persist.plan_uidmap(params, maps[0], maps[1]), plan)
    result['changes'] = run(plan, check_mode)
    if name is not None:
        exists = nodes.userns_exists(name)
        cur_uid, cur_gid = kernel.read_userns_maps(user_path(name)) if exists else ([], [])
        result['namespace'] = {'name': name, 'path': user_path(name),
                               'inode': kernel.ns_id(user_path(name))[1] if exists else None,
                               'uid_map': map_dicts(cur_uid), 'gid_map': map_dicts(cur_gid)}
    result['changed'] = bool(plan)
    result['diff'] = diffs + file_diffs
    return result


def fmt(lines):
    return ', '.join('%d %d %d' % tuple(l) for l in lines or []) or 'none'


def wanted_maps(params, texts, user, uid):
    """The declared (uid_map, gid_map) of the namespace, validated."""
    allow = params['allow_host_root']
    if params.get('uid_map'):
        uid_map = idmap.check_map(params['uid_map'], 'uid_map', allow)
        gid_map = idmap.check_map(params['gid_map'], 'gid_map', allow) if params.get('gid_map') else uid_map
        return uid_map, gid_map
    if params.get('gid_map'):
        raise bad_option('gid_map', params['gid_map'], 'give uid_map too')
    owner = params.get('map_user')
    option = 'map_user'
    owner_uid = None
    if owner is None:
        if not params.get('map_root_user'):
            raise bad_option('namespace', params.get('namespace'), 'declare uid_map, map_root_user or map_user')
        owner, owner_uid, option = (user, uid, 'map_root_user') if user is not None else ('root', 0, 'map_root_user')
    else:
        try:
            entry = pwd.getpwuid(int(owner)) if owner.isdigit() else pwd.getpwnam(owner)
        except KeyError:
            raise bad_option('map_user', owner, 'no such user on the host')
        owner, owner_uid = entry.pw_name, entry.pw_uid
    maps = []
    for key in ('subuid', 'subgid'):
        ranges = idmap.ranges_of(texts[key], owner, owner_uid)
        if not ranges:
            raise bad_option(option, owner, 'user %s has no range in /etc/%s; declare one with subuid/subgid' % (owner, key))
        lines = idmap.root_map_for(ranges)
        if not idmap.covered(lines, ranges):
            raise bad_option(option, owner, 'the map is not covered by the ranges of %s in /etc/%s' % (owner, key))
        if any(o == 0 for _i, o, _c in lines) and not params['allow_host_root']:
            raise bad_option(option, owner, 'the map would cover host root; set allow_host_root: true')
        maps.append(lines)
    return maps[0], maps[1]
