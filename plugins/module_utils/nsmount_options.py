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
import re

from ansible_collections.nsforge.linux.plugins.module_utils import bulk, specs
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


def wanted_propagation(declared):
    """V(shared) meant a peer group of the node's own; every node has one now, so it is the same as V(private)."""
    return 'private' if declared == 'shared' else declared
