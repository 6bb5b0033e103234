# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""nsmount: the task's options validated and normalized into mount declarations, before anything is touched.

items() gives the task as items, one per node: a single task is one item; with namespaces, one item per entry, whose
errors name the entry's path (namespaces[3].mounts[0].dst) and its node.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.nsforge.linux.plugins.module_utils import bulk, mounts, specs
from ansible_collections.nsforge.linux.plugins.module_utils.errors import bad_option
from ansible_collections.nsforge.linux.plugins.module_utils.names import check_name

# what an option left unset means (the single task's defaults; restore hands records written by older versions)
DEFAULTS = {'state': 'present', 'propagation': 'private', 'purge': False, 'pivot': True}


def items(params):
    """The task's nodes, validated before anything is touched: a list of dicts with
    path ('' for a single task, namespaces[3] for an entry), label (node r4), name, params (the node's options, as a
    single task takes them) and decls (its validated mounts). A node declared twice is refused, naming both entries."""
    if params.get('namespaces') is None:
        entries = [('', params)]
    else:
        entries = bulk.entries(params, 'namespaces', specs.MOUNT_ENTRY_OPTIONS, ('state', 'purge', 'persist'),
                               specs.nsmount()['argument_spec'], 'namespace')
    out = []
    seen = {}
    for path, entry in entries:
        node = dict((key, entry.get(key)) for key in specs.MOUNT_NODE_OPTIONS)
        for key, value in DEFAULTS.items():
            if node[key] is None:
                node[key] = value
        label = 'node %s' % node['namespace']
        with bulk.within(path, label):
            name, decls = validate(node)
        if path:
            bulk.once(seen, name, path, 'namespace', name, 'namespace')
        out.append({'path': path, 'label': label, 'name': name, 'params': node, 'decls': decls})
    return out


def validate(params):
    name = check_name(params['namespace'], 'namespace')
    if params.get('rootfs') is not None:
        if not params.get('pivot', True):
            raise bad_option('pivot', False, 'a rootfs is entered with pivot_root only (pivot: true)')
        if not os.path.isdir(params['rootfs']) or os.path.realpath(params['rootfs']) == '/':
            raise bad_option('rootfs', params['rootfs'], 'expected a folder other than / holding a root file system')
    decls = []
    seen = set()
    inside = params.get('rootfs') or '/'
    for opt, mount in mounts.with_private(params.get('mounts'), params.get('private')):
        decl = mounts.declare(opt, mount, inside)
        if decl['dst'] in seen:
            raise bad_option(opt + '.dst', mount['dst'], 'the mount point is declared twice')
        seen.add(decl['dst'])
        decls.append(decl)
    return name, decls


def wanted_propagation(declared):
    """V(shared) meant a peer group of the node's own; every node has one now, so it is the same as V(private)."""
    return 'private' if declared == 'shared' else declared
