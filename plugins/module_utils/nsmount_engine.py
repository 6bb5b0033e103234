# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""nsmount: the task. Validate every node (nsmount_options), lock them, read each node's mount table and the host's
(nsmount_ops), plan each node (nsmount_plan), add the persistence steps (persist), apply the one change list or only
report it (changes), answer with the views (mountinfo). A single task is one node; namespaces, one per entry.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nsforge.linux.plugins.module_utils import bulk, kernel, nodes, persist
from ansible_collections.nsforge.linux.plugins.module_utils.changes import run
from ansible_collections.nsforge.linux.plugins.module_utils.layout import mnt_path
from ansible_collections.nsforge.linux.plugins.module_utils.mountinfo import entry_view, own_mounts, parse_mountinfo, propagation_of
from ansible_collections.nsforge.linux.plugins.module_utils.mounts import root_of
from ansible_collections.nsforge.linux.plugins.module_utils.nsmount_ops import (
    in_namespace, read_mountinfo, read_namespace_mountinfo)
from ansible_collections.nsforge.linux.plugins.module_utils.nsmount_options import items as validate
from ansible_collections.nsforge.linux.plugins.module_utils.nsmount_plan import owned, plan, with_roots


def read(path, host_entries):
    """What the plan starts from: the node's mount namespace at path, its mount table and the host's."""
    exists = kernel.is_nsfs_mount(path, 'mnt')
    entries = parse_mountinfo(read_namespace_mountinfo(path)) if exists else []
    return {'exists': exists, 'inode': kernel.ns_id(path)[1] if exists else None, 'entries': entries,
            'host_entries': host_entries,
            'before': {'present': exists, 'propagation': propagation_of(entries) if exists else None,
                       'mounts': [entry_view(e) for e in own_mounts(entries, host_entries)]}}


def read_roots(item, exists):
    """{dst: [uid, gid, mode]} of the roots of the node's tmpfs mounts that declare any of them, read inside it."""
    dsts = [decl['dst'] for decl in item['decls'] if owned(decl)]
    return in_namespace(item['pin'], root_of, dsts) if exists and dsts else {}


def plan_item(item, host_entries):
    """Read and plan one node: item gains pin (the handle of its namespace), before, changes, predicted and entries."""
    item['pin'] = mnt_path(item['name'])
    actual = read(item['pin'], host_entries)
    actual['roots'] = read_roots(item, actual['exists'])
    with_roots(actual['before']['mounts'], actual['roots'])
    item['before'] = actual['before']
    item['changes'], item['predicted'], item['entries'] = plan(item['name'], item['pin'], item['params'],
                                                               item['decls'], actual)


def finish(item, host_entries, changed, check_mode):
    """(the node's view, its diff) after the task; changed: whether the task changed anything of this node."""
    path = item['pin']
    exists = kernel.is_nsfs_mount(path, 'mnt')
    if check_mode or not changed:
        after = item['predicted'] if changed else item['before']
        final = item['entries'] if exists else []
    else:
        final = parse_mountinfo(read_namespace_mountinfo(path)) if exists else []
        after = {'present': exists, 'propagation': propagation_of(final) if exists else None,
                 'mounts': with_roots([entry_view(e) for e in own_mounts(final, host_entries)],
                                      read_roots(item, exists))}
    view = {'name': item['name'], 'path': path, 'inode': kernel.ns_id(path)[1] if exists else None,
            'mounts': [entry_view(e) for e in own_mounts(final, host_entries)]}
    return view, {'before': item['before'], 'after': after}


def converge(params, check_mode):
    items = validate(params)
    with nodes.locked([item['name'] for item in items]):
        host_entries = parse_mountinfo(read_mountinfo())
        for item in items:
            with bulk.within(item['path'], item['label']):
                plan_item(item, host_entries)
        changes = [change for item in items for change in item['changes']]
        found = persist.plan_nsmount([(item['path'], item['label'], item['params']) for item in items])
        file_diffs = persist.add_to(found, changes)
        persist.give_owned(found, items)
        for item in items:
            bulk.claim(item['changes'], item['path'], item['name'])
        descriptions = run(changes, check_mode)
        # the host's table changes when a node's folder becomes a bind mount of itself
        host_entries = parse_mountinfo(read_mountinfo())
        if params.get('namespaces') is None:
            view, diff = finish(items[0], host_entries, bool(changes), check_mode)
            return {'changed': bool(changes), 'changes': descriptions, 'namespace': view,
                    'diff': persist.merge_diff(diff, file_diffs)}
        results = []
        diffs = []
        for item in items:
            view, diff = finish(item, host_entries, bool(item['changes']), check_mode)
            results.append({'namespace': view, 'changed': bool(item['changes']),
                            'changes': [change.description for change in item['changes']]})
            diffs.append(bulk.headed(diff, item['path'], item['label']))
    return {'changed': bool(changes), 'changes': descriptions, 'results': results, 'diff': diffs + file_diffs}
