# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""netns: the actual state of the declared nodes, read through netlink and /proc (no change)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.nsforge.linux.plugins.module_utils import files, kernel, nodes
from ansible_collections.nsforge.linux.plugins.module_utils.layout import etc_dir, netns_path
from ansible_collections.nsforge.linux.plugins.module_utils.netns_options import RT_TABLE_MAIN


class Reader:
    """Reads nodes' actual state through a netlink session."""

    def __init__(self, session):
        self.session = session

    def node(self, decl):
        name = decl['name']
        pinned = nodes.netns_state(name)
        actual = {'exists': pinned == 'present', 'stale': pinned == 'stale', 'links': {}, 'routes': [],
                  'sysctl': {}, 'hostname': None, 'uts': nodes.uts_exists(name), 'files': {}}
        if actual['exists']:
            tables = set(r['table'] for r in decl['routes']) | set([RT_TABLE_MAIN])
            state = self.session.read(netns_path(name), tables)
            actual['links'] = state['links']
            actual['routes'] = state['routes']
            if decl['sysctl']:
                with kernel.entered(netns_path(name), 'net'):
                    for key, item in decl['sysctl'].items():
                        value = files.read_text(item['path'])
                        actual['sysctl'][key] = ' '.join(value.split()) if value is not None else None
        if actual['uts']:
            actual['hostname'] = nodes.read_hostname(name)
        etc = etc_dir(name)
        for key in ('resolv.conf', 'hosts'):
            actual['files'][key] = files.read_text(os.path.join(etc, key))
        actual['etc_exists'] = os.path.isdir(etc)
        return actual

    def identity(self, name):
        """What a node's compact facts need: whether its namespace is pinned, and its hostname (no netlink)."""
        return {'exists': nodes.netns_state(name) == 'present',
                'hostname': nodes.read_hostname(name) if nodes.uts_exists(name) else None}

    def host(self):
        return self.session.read(None)
