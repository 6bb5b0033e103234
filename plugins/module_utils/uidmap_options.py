# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""uidmap: the task's options validated into items before anything is read or touched: the users whose subordinate
ranges it declares, and the nodes whose user namespaces it declares.

A single task is at most one user and one node (whose map_root_user maps that user's ranges). With users and
namespaces, one item per entry, whose errors name the entry's path (users[2].subuid.count, namespaces[3].uid_map[0])
and its user or node. What needs /etc/subuid (a range that overlaps another user's, map_user's ranges) is checked
when the task is planned, still before anything changes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pwd

from ansible_collections.nsforge.linux.plugins.module_utils import bulk, idmap, specs
from ansible_collections.nsforge.linux.plugins.module_utils.errors import bad_option
from ansible_collections.nsforge.linux.plugins.module_utils.names import check_name

MAP_CHOICES = ('uid_map', 'map_root_user', 'map_user')


def host_user(name, option):
    """(name, uid) of a host user given by name or numeric uid."""
    if not isinstance(name, str) or not name:
        raise bad_option(option, name, 'expected a user name or a numeric uid')
    try:
        entry = pwd.getpwuid(int(name)) if name.isdigit() else pwd.getpwnam(name)
    except (KeyError, ValueError):
        raise bad_option(option, name, 'no such user on the host')
    return entry.pw_name, entry.pw_uid


def validate(params):
    """{'users': [user items], 'namespaces': [namespace items]} of the task, users first (a namespace's map_user
    reads the ranges they leave)."""
    if params.get('users') is None and params.get('namespaces') is None:
        return single(params)
    spec = specs.uidmap()['argument_spec']
    bulk.beside(params, specs.RANGE_OPTIONS, 'users', spec)
    bulk.beside(params, ('namespace',) + specs.USER_OPTIONS, 'namespaces', spec)
    if params.get('persist') is not None and params.get('namespaces') is None:
        raise bad_option('persist', params['persist'], 'persist is about a node: give namespaces')
    task = {'users': [], 'namespaces': []}
    seen = {}
    if params.get('users') is not None:
        for path, entry in bulk.entries(params, 'users', (), ('state',), spec, 'user'):
            item = user_item(path, entry)
            bulk.once(seen, ('user', item['name']), path, 'user', entry['user'], 'user')
            task['users'].append(item)
    if params.get('namespaces') is not None:
        for path, entry in bulk.entries(params, 'namespaces', (), ('state', 'persist'), spec, 'namespace'):
            item = namespace_item(path, entry, None)
            bulk.once(seen, ('namespace', item['name']), path, 'namespace', item['name'], 'namespace')
            task['namespaces'].append(item)
    return task


def single(params):
    """The items of a task without users and namespaces: its user and its node, each when given."""
    if params.get('namespace') is None and params.get('persist') is not None:
        raise bad_option('persist', params['persist'], 'persist is about a node: give namespace')
    task = {'users': [], 'namespaces': []}
    owner = None
    if params.get('user') is not None:
        task['users'].append(user_item('', params))
        owner = (task['users'][0]['name'], task['users'][0]['uid'])
    if params.get('namespace') is not None:
        task['namespaces'].append(namespace_item('', params, owner))
    return task


def user_item(path, entry):
    """A user whose ranges the task declares: name, uid, the declared subuid and subgid, exclusive, state."""
    label = 'user %s' % entry.get('user')
    with bulk.within(path, label):
        name, uid = host_user(entry['user'], 'user')
        for key in ('subuid', 'subgid'):
            idmap.check_range(entry.get(key), key)
    return {'path': path, 'label': label, 'name': name, 'uid': uid, 'subuid': entry.get('subuid'),
            'subgid': entry.get('subgid'), 'exclusive': bool(entry.get('exclusive')),
            'state': entry.get('state') or 'present'}


def namespace_item(path, entry, owner):
    """A node whose user namespace the task declares: name, state, the declared maps (uid_map and gid_map checked,
    or the owner (name, uid, option) whose ranges map root), recreate, and params for its record.
    owner: the task's user (name, uid), whose ranges map_root_user maps; root's without one."""
    label = 'node %s' % entry.get('namespace')
    state = entry.get('state') or 'present'
    with bulk.within(path, label):
        name = check_name(entry['namespace'], 'namespace')
        given = [key for key in MAP_CHOICES if entry.get(key)]
        if len(given) > 1:
            raise bad_option(given[1], entry[given[1]], 'set only one of %s' % ', '.join(MAP_CHOICES))
        allow = bool(entry.get('allow_host_root'))
        uid_map = gid_map = found_owner = None
        if state == 'present':
            if entry.get('uid_map'):
                uid_map = idmap.check_map(entry['uid_map'], 'uid_map', allow)
                gid_map = idmap.check_map(entry['gid_map'], 'gid_map', allow) if entry.get('gid_map') else uid_map
            elif entry.get('gid_map'):
                raise bad_option('gid_map', entry['gid_map'], 'give uid_map too')
            elif entry.get('map_user') is not None:
                found_owner = host_user(entry['map_user'], 'map_user') + ('map_user',)
            elif entry.get('map_root_user'):
                found_owner = (owner or ('root', 0)) + ('map_root_user',)
            else:
                raise bad_option('namespace', entry['namespace'], 'declare uid_map, map_root_user or map_user')
    return {'path': path, 'label': label, 'name': name, 'state': state, 'uid_map': uid_map, 'gid_map': gid_map,
            'owner': found_owner, 'allow_host_root': allow, 'recreate': bool(entry.get('recreate')),
            'params': {'namespace': name, 'state': state, 'persist': entry.get('persist'), 'allow_host_root': allow}}
