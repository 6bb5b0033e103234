# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to nsforge.linux (controller side): a lab topology turned into inventory hosts, for the nodes inventory
plugin.

hosts(topology, lookup) is a pure function: the topology is validated by the netlab planner, and each node and each
service becomes a host whose variables make the nsforge.linux.nsenter connection enter it through the connection of
the inventory host that runs it (lookup gives that host's variables).
"""

from __future__ import annotations

import re

from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError
from ansible_collections.nsforge.linux.plugins.plugin_utils import netlab

CONNECTION = 'nsforge.linux.nsenter'
# Ansible's connection when a host sets none
DEFAULT_CONNECTION = 'ssh'
LOCAL_CONNECTIONS = ('local', 'ansible.builtin.local')
# the groups every lab host is in, besides lab_<lab>, host_<host> and its node's labels
NODES_GROUP = 'nodes'
SERVICES_GROUP = 'services'


def group_name(prefix, name):
    """A group name from a name that may hold '-', '.' or other characters Ansible refuses in group names."""
    return prefix + re.sub(r'[^A-Za-z0-9_]', '_', name)


def _node_settings(nodes):
    """The topology's nodes (a list, or a mapping like containerlab's) as name -> settings (the planner checked)."""
    if isinstance(nodes, dict):
        return dict((str(name), spec or {}) for name, spec in nodes.items())
    return dict((spec, {}) if isinstance(spec, str) else (str(spec['name']), spec) for spec in nodes or [])


def reach(host, host_vars):
    """The variables that make nsforge.linux.nsenter reach the inventory host `host` (its variables host_vars) the
    way Ansible reaches it: its connection becomes the host connection, its other ansible_* variables (address,
    port, user, key, SSH arguments, Python) go along, and its Python also looks up the nodes outside them."""
    connection = host_vars.get('ansible_connection') or DEFAULT_CONNECTION
    if connection in (CONNECTION, 'nsenter'):
        raise NsforgeError('host %s: it is reached through %s itself; a lab runs on a host that Ansible reaches '
                           'directly (ssh, local)' % (host, CONNECTION))
    out = dict((key, value) for key, value in host_vars.items()
               if key.startswith('ansible_') and key != 'ansible_connection' and not key.startswith('ansible_nsenter_'))
    out['ansible_nsenter_host_connection'] = connection
    if connection not in LOCAL_CONNECTIONS and 'ansible_host' not in out and 'ansible_ssh_host' not in out:
        out['ansible_host'] = host     # a node's own name is no address of its host
    if 'ansible_python_interpreter' in out:
        out['ansible_nsenter_host_python'] = out['ansible_python_interpreter']
    return out


def hosts(topology, lookup, default_host='localhost', taken=(), base=None):
    """The inventory hosts of a lab: a list of {'name', 'vars', 'groups'}, nodes first, in the topology's order.

    lookup(name) gives the variables of an inventory host, or None when the inventory has no such host. Nodes
    without host run on default_host. A node that shares another's network (network_mode) has no namespaces of its
    own and gets no host; its services do. Bridges get none. taken holds the names of the inventory's other hosts,
    which no node or service may take. Raises NsforgeError (netlab.TopologyError for the topology) naming the
    setting at fault. base is the folder of the topology file, from which the files it names are taken.
    """
    summary = netlab.plan(topology, base=base)['summary']
    lab = topology['name']
    settings = _node_settings(topology.get('nodes'))
    reached = {}
    owner = {}
    out = []
    for entry in summary:
        node = entry['node']
        spec = settings[node]
        where = entry['where']
        host = spec.get('host') or default_host
        if host not in reached:
            host_vars = lookup(host)
            if host_vars is None:
                raise NsforgeError('%s.host: unknown host %r: the inventory has no such host (give the inventory '
                                   'that holds it first, as in -i hosts.ini -i lab.nodes.yml)' % (where, host))
            reached[host] = reach(host, host_vars)
        common = {'nsforge_lab': lab, 'nsforge_node': node, 'nsforge_host': host}
        groups = [group_name('lab_', lab), group_name('host_', host)]
        members = []
        labels = list(spec.get('labels') or [])
        if not entry['shares_network_of']:
            members.append((node, where, dict(common, ansible_nsenter_node=node, nsforge_labels=labels),
                            [NODES_GROUP] + groups + labels))
        for service in entry['services']:
            members.append((service, '%s.services (%s)' % (where, service),
                            dict(common, ansible_nsenter_service=service, nsforge_service=service),
                            [SERVICES_GROUP] + groups))
        for name, what, own, member_groups in members:
            if name in owner:
                raise NsforgeError('%s: the inventory host %s is already %s; a node and a service need names of '
                                   'their own' % (what, name, owner[name]))
            if name in taken:
                raise NsforgeError('%s: the inventory already has a host %s (from another source); rename the '
                                   'node or the service' % (what, name))
            owner[name] = what
            host_vars = dict(reached[host], ansible_connection=CONNECTION)
            host_vars.update(own)
            out.append({'name': name, 'vars': host_vars, 'groups': member_groups})
    return out
