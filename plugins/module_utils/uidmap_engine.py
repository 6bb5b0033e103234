# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""uidmap: the task. Users' subordinate ranges (idmap) and nodes' persistent user namespaces, validated first
(uidmap_options), planned as one change list with the persistence steps (persist), applied once (changes).

The users are planned first, in order, then the nodes: each plan of /etc/subuid and /etc/subgid starts from the text
the one before it leaves (one text per file through the plan), so a node's map_user reads the ranges the task
declares, and undoing in reverse order gives back the files as they were.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nsforge.linux.plugins.module_utils import bulk, files, idmap, kernel, nodes, persist
from ansible_collections.nsforge.linux.plugins.module_utils.changes import Change, run
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError, bad_option
from ansible_collections.nsforge.linux.plugins.module_utils.layout import LOCK_DIR, user_path
from ansible_collections.nsforge.linux.plugins.module_utils.nsproc_records import services_in
from ansible_collections.nsforge.linux.plugins.module_utils.uidmap_options import validate

SUBUID = '/etc/subuid'
SUBGID = '/etc/subgid'
FILES = (('subuid', SUBUID), ('subgid', SUBGID))


def map_dicts(lines):
    return [{'inside': i, 'outside': o, 'count': c} for i, o, c in lines or []]


def range_dicts(ranges):
    return [{'start': s, 'count': c} for s, c in ranges]


def _files_locked():
    """One lock for /etc/subuid and /etc/subgid, so concurrent tasks never interleave their edits."""
    return nodes.file_lock(LOCK_DIR, '.subid-files.lock')


def converge(params, check_mode):
    task = validate(params)
    with _files_locked(), nodes.locked([item['name'] for item in task['namespaces']]):
        return _converge(task, check_mode, params.get('users') is None and params.get('namespaces') is None)


def header(path, item):
    """The header of an item's diff: the file or handle, and for an entry of a bulk task its path and label."""
    return '%s (%s, %s)' % (path, item['path'], item['label']) if item['path'] else path


def plan_user(item, texts):
    """Plan a user's ranges on texts (key -> the text so far, updated with the user's); item gains its changes and
    diffs. Returns the view: the user's ranges in each file as the plan leaves it."""
    view = {}
    for key, path in FILES:
        old = texts[key]
        want = item[key]
        if want is not None or (item['state'] == 'absent' and not item['subuid'] and not item['subgid']):
            new, lines = idmap.plan_ranges(old, item['name'], want, item['state'], item['exclusive'], key,
                                           uid=item['uid'])
            if new != old:
                item['diffs'].append({'before_header': header(path, item), 'after_header': header(path, item),
                                      'before': old, 'after': new})
                item['changes'].append(Change('%s: %s' % (path, '; '.join(lines)),
                                              lambda p=path, t=new: files.write_atomic(p, t, None),
                                              lambda p=path, t=old: files.write_atomic(p, t, None)))
            texts[key] = new
        view[key] = range_dicts(idmap.ranges_of(texts[key], item['name'], item['uid']))
    return view


def plan_namespace(item, texts):
    """Plan a node's user namespace; returns its (uid_map, gid_map) as declared (None, None with state=absent)."""
    name = item['name']
    path = user_path(name)
    exists = nodes.userns_exists(name)
    inode = kernel.ns_id(path)[1] if exists else None
    cur_uid, cur_gid = kernel.read_userns_maps(path) if exists else (None, None)
    before = {'present': exists, 'uid_map': map_dicts(cur_uid), 'gid_map': map_dicts(cur_gid)}
    uid_map = gid_map = None
    if item['state'] == 'present':
        uid_map, gid_map = wanted_maps(item, texts)
        after = {'present': True, 'uid_map': map_dicts(uid_map), 'gid_map': map_dicts(gid_map)}
        if not exists:
            item['changes'].append(Change('node %s: create user namespace %s with uid_map %s and gid_map %s'
                                          % (name, path, fmt(uid_map), fmt(gid_map)),
                                          lambda: nodes.create_userns(name, uid_map, gid_map),
                                          lambda: nodes.remove_userns(name)))
        elif (sorted(cur_uid), sorted(cur_gid)) != (sorted(uid_map), sorted(gid_map)):
            if not item['recreate']:
                raise NsforgeError('namespace: the user namespace of node %s has uid_map %s and gid_map %s, '
                                   'declared %s and %s; the kernel writes a map once, so set recreate: true to replace '
                                   'the namespace'
                                   % (name, fmt(cur_uid), fmt(cur_gid), fmt(uid_map), fmt(gid_map)), option='namespace')
            busy = services_in('user', inode)
            if busy:
                raise bad_option('recreate', True, 'service %s still runs in the user namespace of node %s'
                                 % (', '.join(busy), name))
            item['changes'].append(Change('node %s: recreate user namespace %s (uid_map %s -> %s, gid_map %s -> %s)'
                                          % (name, path, fmt(cur_uid), fmt(uid_map), fmt(cur_gid), fmt(gid_map)),
                                          lambda: (nodes.remove_userns(name),
                                                   nodes.create_userns(name, uid_map, gid_map))))
    else:
        after = {'present': False, 'uid_map': [], 'gid_map': []}
        if exists:
            busy = services_in('user', inode)
            if busy:
                raise bad_option('state', 'absent', 'service %s still runs in the user namespace of node %s'
                                 % (', '.join(busy), name))
            item['changes'].append(Change('node %s: remove user namespace %s' % (name, path),
                                          lambda: nodes.remove_userns(name)))
    item['diffs'].append({'before_header': header(path, item), 'after_header': header(path, item),
                          'before': before, 'after': after})
    return uid_map, gid_map


def namespace_view(name):
    """The node's user namespace as it is."""
    path = user_path(name)
    exists = nodes.userns_exists(name)
    cur_uid, cur_gid = kernel.read_userns_maps(path) if exists else ([], [])
    return {'name': name, 'path': path, 'inode': kernel.ns_id(path)[1] if exists else None,
            'uid_map': map_dicts(cur_uid), 'gid_map': map_dicts(cur_gid)}


def _converge(task, check_mode, single):
    texts = dict((key, files.read_text(path) or '') for key, path in FILES)
    items = task['users'] + task['namespaces']
    for item in items:
        item['changes'], item['diffs'] = [], []
    for item in task['users']:
        with bulk.within(item['path'], item['label']):
            item['view'] = dict(plan_user(item, texts), user=item['name'])
    records = []
    for item in task['namespaces']:
        with bulk.within(item['path'], item['label']):
            uid_map, gid_map = plan_namespace(item, texts)
        records.append((item['path'], item['label'], item['params'], uid_map, gid_map))
    plan = [change for item in items for change in item['changes']]
    found = persist.plan_uidmap(records)
    file_diffs = persist.add_to(found, plan)
    persist.give_owned(found, task['namespaces'])
    for item in items:
        bulk.claim(item['changes'], item['path'], item['name'])
    descriptions = run(plan, check_mode)
    for item in task['namespaces']:
        item['view'] = {'namespace': namespace_view(item['name'])}
    result = {'changed': bool(plan), 'changes': descriptions,
              'diff': [diff for item in items for diff in item['diffs']] + file_diffs}
    if single:
        for item in items:
            result.update((key, value) for key, value in item['view'].items() if key != 'user')
    else:
        result['results'] = [dict(item['view'], changed=bool(item['changes']),
                                  changes=[change.description for change in item['changes']]) for item in items]
    return result


def fmt(lines):
    return ', '.join('%d %d %d' % tuple(l) for l in lines or []) or 'none'


def wanted_maps(item, texts):
    """The declared (uid_map, gid_map) of a node's user namespace: as given, or root mapped to the start of the
    owner's ranges in texts (as the task leaves them)."""
    if item['uid_map'] is not None:
        return item['uid_map'], item['gid_map']
    owner, owner_uid, option = item['owner']
    maps = []
    for key in ('subuid', 'subgid'):
        ranges = idmap.ranges_of(texts[key], owner, owner_uid)
        if not ranges:
            raise bad_option(option, owner, 'user %s has no range in /etc/%s; declare one with subuid/subgid' % (owner, key))
        lines = idmap.root_map_for(ranges)
        if not idmap.covered(lines, ranges):
            raise bad_option(option, owner, 'the map is not covered by the ranges of %s in /etc/%s' % (owner, key))
        if any(o == 0 for _i, o, _c in lines) and not item['allow_host_root']:
            raise bad_option(option, owner, 'the map would cover host root; set allow_host_root: true')
        maps.append(lines)
    return maps[0], maps[1]
