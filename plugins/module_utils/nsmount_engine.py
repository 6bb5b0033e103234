# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""nsmount: the task. Validate (nsmount_options), lock the node, read its mount table and the host's (nsmount_ops),
plan (nsmount_plan) with the persistence steps (persist), apply or only report (changes), answer with the views
(mountinfo).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nsforge.linux.plugins.module_utils import kernel, nodes, persist
from ansible_collections.nsforge.linux.plugins.module_utils.changes import run
from ansible_collections.nsforge.linux.plugins.module_utils.layout import mnt_path
from ansible_collections.nsforge.linux.plugins.module_utils.mountinfo import entry_view, own_mounts, parse_mountinfo, propagation_of
from ansible_collections.nsforge.linux.plugins.module_utils.nsmount_ops import read_mountinfo, read_namespace_mountinfo
from ansible_collections.nsforge.linux.plugins.module_utils.nsmount_options import validate
from ansible_collections.nsforge.linux.plugins.module_utils.nsmount_plan import plan


def read(path):
    """What the plan starts from: the node's mount namespace at path, its mount table and the host's."""
    exists = kernel.is_nsfs_mount(path, 'mnt')
    host_entries = parse_mountinfo(read_mountinfo())
    entries = parse_mountinfo(read_namespace_mountinfo(path)) if exists else []
    return {'exists': exists, 'inode': kernel.ns_id(path)[1] if exists else None, 'entries': entries,
            'host_entries': host_entries,
            'before': {'present': exists, 'propagation': propagation_of(entries) if exists else None,
                       'mounts': [entry_view(e) for e in own_mounts(entries, host_entries)]}}


def converge(params, check_mode):
    name, decls = validate(params)
    with nodes.locked([name]):
        path = mnt_path(name)
        actual = read(path)
        before = actual['before']
        changes, predicted, entries = plan(name, path, params, decls, actual)
        file_diffs = persist.add_to(persist.plan_nsmount(params), changes)
        descriptions = run(changes, check_mode)
        exists = kernel.is_nsfs_mount(path, 'mnt')
        # the host's table changes when the node's folder becomes a bind mount of itself
        host_entries = parse_mountinfo(read_mountinfo())
        if check_mode or not changes:
            after = predicted if changes else before
            final = entries if exists else []
        else:
            final = parse_mountinfo(read_namespace_mountinfo(path)) if exists else []
            after = {'present': exists, 'propagation': propagation_of(final) if exists else None,
                     'mounts': [entry_view(e) for e in own_mounts(final, host_entries)]}
    return {
        'changed': bool(changes),
        'changes': descriptions,
        'namespace': {'name': name, 'path': path, 'inode': kernel.ns_id(path)[1] if exists else None,
                      'mounts': [entry_view(e) for e in own_mounts(final, host_entries)]},
        'diff': persist.merge_diff({'before': before, 'after': after}, file_diffs),
    }
