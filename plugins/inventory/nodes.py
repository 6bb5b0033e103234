# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: nodes
short_description: The nodes and services of a lab as inventory hosts, entered with nsforge.linux.nsenter
version_added: 0.1.0
author: nsforge developers (@nsforge)
description:
  - Reads a topology file of the R(nsforge.linux.netlab role,ansible_collections.nsforge.linux.netlab_role) and
    yields one inventory host per node and one per service, each with C(ansible_connection) set to
    P(nsforge.linux.nsenter#connection) and the variables that make it enter that node or service. Tasks of a play
    then run inside the nodes, as with a hand-written inventory, without one.
  - "The inventory source is a YAML file whose name ends in C(nodes.yml) or C(nodes.yaml) (for example
    C(lab.nodes.yml)), with C(plugin: nsforge.linux.nodes)."
  - A node (or service) runs on the inventory host that its C(host) names in the topology, or on O(host) when it
    names none. That host's connection reaches it - its C(ansible_connection) becomes
    C(ansible_nsenter_host_connection) (V(ssh) when it sets none), and its other C(ansible_*) variables
    (C(ansible_host), C(ansible_port), C(ansible_user), C(ansible_ssh_private_key_file), C(ansible_ssh_common_args),
    C(ansible_python_interpreter) and the others) are copied to the node's host. Its C(ansible_python_interpreter) also
    becomes C(ansible_nsenter_host_python). A host without C(ansible_host) is reached at its inventory name.
  - The host must be in the inventory already - give its inventory source before this one (C(-i hosts.ini -i
    lab.nodes.yml)); its host and group variables are read as that source set them (variables of C(host_vars/) and
    C(group_vars/) folders are not seen). V(localhost) needs no entry - Ansible's implicit localhost is reached with
    the local connection and the controller's Python.
  - Host names - a node's host is the node's name; a service's host is the service's name (service names are unique
    on a host and in a lab). A node, a service and a host of another inventory source may not share a name.
  - A node that shares another's network (C(network_mode)) has no namespaces of its own and gets no host; its
    services do. Bridges are not hosts (a bridge holds only C(br0) and its ports).
  - Groups - V(nodes) (every node), V(services) (every service), C(lab_<lab>) (the lab's nodes and services),
    C(host_<host>) (those that run on that inventory host) and each label of a node (its C(labels) in the topology,
    such as V(routers)). Characters other than letters, digits and C(_) become C(_) in C(lab_) and C(host_) groups.
  - Variables - besides the connection's, C(nsforge_lab), C(nsforge_node), C(nsforge_host) (the inventory host that
    runs it) and, on a node, C(nsforge_labels), on a service, C(nsforge_service).
  - The plugin reads the topology only; it does not ask the hosts what runs. A node that is not deployed fails when a
    task connects to it (C(no such node)).
extends_documentation_fragment:
  - constructed
options:
  plugin:
    description: The name of this plugin; it makes the file an inventory source of it.
    type: str
    required: true
    choices: [nsforge.linux.nodes]
  topology:
    description:
      - The topology file, in the format of the netlab role's C(netlab_topology_file); a relative path is relative to
        the folder of the inventory source.
      - It is a Jinja template, as for the role - it is rendered with O(vars) (and nothing else - no facts or
        variables of hosts) before it is read as YAML.
    type: str
    required: true
  host:
    description:
      - The inventory host on which the nodes that name no C(host) in the topology run.
      - In a lab that spans hosts, such a node is deployed on every host of the lab; its inventory host enters the one
        on O(host).
    type: str
    default: localhost
  vars:
    description:
      - Variables for the topology's template, such as those that C(playbooks/topologies/default.yml) uses.
    type: dict
    default: {}
notes:
  - A node or service that runs on a remote host is reached through its SSH connection, as
    P(nsforge.linux.nsenter#connection) describes; that connection must log in as root.
  - Set C(ansible_python_interpreter) on the hosts that run labs - interpreter discovery inside a node finds what the
    node's view of the file system holds (and pyenv's shims fail there).
  - The host's variables are copied as they are - a template in them is rendered for the node's inventory host, so
    C(ansible_host) should not be built from C(inventory_hostname).
seealso:
  - plugin: nsforge.linux.nsenter
    plugin_type: connection
  - plugin: ansible.builtin.constructed
    plugin_type: inventory
'''

EXAMPLES = r'''
# lab.nodes.yml, next to topologies/lab1.yml; `ansible-inventory -i lab.nodes.yml --graph` shows the hosts
# plugin: nsforge.linux.nodes
# topology: topologies/lab1.yml

# default.nodes.yml: the default lab of playbooks/lab.yml, whose topology is a template
# plugin: nsforge.linux.nodes
# topology: topologies/default.yml
# vars:
#   lab_python: /usr/bin/python3
#   lab_www: /run/nsforge-lab/www

# xlab.nodes.yml: a lab across the hosts of hosts.ini (nodes with host: fleet1, host: fleet3);
# ansible -i hosts.ini -i xlab.nodes.yml routers -m ping
# plugin: nsforge.linux.nodes
# topology: xlab.yml
# host: fleet1              # the host of the nodes that name none
# keyed_groups:             # runs_on_fleet1, runs_on_fleet3
#   - key: nsforge_host
#     prefix: runs_on
# compose:                  # each value is an expression
#   ansible_pipelining: "true"

# A play on the nodes labelled routers (labels: [routers] in the topology)
- name: Inside the routers
  hosts: routers
  gather_facts: false
  tasks:
    - name: Each router's addresses, from inside it
      ansible.builtin.command:
        argv: [ip, -brief, address]
      changed_when: false
'''

import os

from ansible.errors import AnsibleParserError
from ansible.inventory.helpers import get_group_vars
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable
from ansible.utils.vars import combine_vars

from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError
from ansible_collections.nsforge.linux.plugins.plugin_utils import labhosts

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core before 2.19 templates every string it is given
    def trust_as_template(text):
        return text


class InventoryModule(BaseInventoryPlugin, Constructable):
    """The nodes and services of a topology as hosts of the nsforge.linux.nsenter connection."""

    NAME = 'nsforge.linux.nodes'

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(('nodes.yml', 'nodes.yaml'))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache=cache)
        self._read_config_data(path)
        topology_path = os.path.join(os.path.dirname(os.path.abspath(path)),
                                     os.path.expanduser(self.get_option('topology')))
        topology = self._topology(path, topology_path)
        try:
            entries = labhosts.hosts(topology, self._host_vars, self.get_option('host'), set(inventory.hosts),
                                     base=os.path.dirname(topology_path))
        except NsforgeError as exc:
            raise AnsibleParserError('%s: topology %s: %s' % (path, topology_path, to_native(exc)))
        strict = self.get_option('strict')
        for entry in entries:
            name = self.inventory.add_host(entry['name'])
            for group in entry['groups']:
                self.inventory.add_child(self.inventory.add_group(group), name)
            for key, value in entry['vars'].items():
                self.inventory.set_variable(name, key, value)
            self._set_composite_vars(self.get_option('compose'), entry['vars'], name, strict=strict)
            self._add_host_to_composed_groups(self.get_option('groups'), entry['vars'], name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option('keyed_groups'), entry['vars'], name, strict=strict)

    def _topology(self, path, topology_path):
        """The topology file, rendered with the vars option and read as YAML."""
        try:
            with open(topology_path, 'rb') as handle:
                text = to_text(handle.read(), errors='surrogate_or_strict')
        except (IOError, OSError) as exc:
            raise AnsibleParserError('%s: topology: cannot read %s: %s'
                                     % (path, topology_path, to_native(exc.strerror)))
        self.templar.available_variables = self.get_option('vars')
        try:
            rendered = self.templar.template(trust_as_template(text), escape_backslashes=False)
            topology = self.loader.load(rendered)
        except Exception as exc:
            raise AnsibleParserError('%s: topology %s: cannot render and read it: %s'
                                     % (path, topology_path, to_native(exc)))
        if not isinstance(topology, dict):
            raise AnsibleParserError('%s: topology %s: expected a mapping with name, nodes and links, got %r'
                                     % (path, topology_path, type(topology).__name__))
        return topology

    def _host_vars(self, name):
        """The variables of an inventory host as its sources set them (group variables below its own), or None."""
        host = self.inventory.get_host(name)
        if host is None:
            return None
        return combine_vars(get_group_vars(host.get_groups()), host.get_vars())
