# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: netlab_plan
short_description: Turn a lab topology into the declarations of the nsforge.linux modules
version_added: 0.1.0
author:
  - nsforge developers (@nsforge)
description:
  - Validates a lab topology (as the C(nsforge.linux.netlab) role takes it) beyond its shape, allocates addresses
    from its pools, and returns the bulk C(nsforge.linux.netns) declaration, the services, mounts and user maps,
    the nftables ruleset, a Graphviz picture and the record of the lab.
  - Fails with a message that names the node, link or setting at fault (an unknown endpoint node, an interface used
    twice, a pool too small) before anything is changed.
  - Addresses from a pool are sticky to the record of the previous run, so an edit changes only what it touches.
options:
  _input:
    description: The topology.
    type: dict
    required: true
  previous:
    description: The record of the previous run (C(record) of the previous result), or nothing for a new lab.
    type: dict
  others:
    description:
      - The other labs on the host, as a mapping from lab name to its record (or to the nodes of its record). A node
        of another lab is refused, since deploying it here would reconfigure it there; so is a tunnel whose VNI and
        port a tunnel of another lab on this host uses.
    type: dict
  host:
    description:
      - The name of the host being planned, as the topology's C(nodes[].host) and C(bridges[].host) name hosts.
        The result holds only the nodes of this host and those without a host; a link between two hosts becomes a
        VXLAN tunnel end on each. Without it, the hosts of the nodes are ignored and every node is planned here.
    type: str
  underlays:
    description:
      - Underlay addresses of hosts (host name to IP address) that the topology's C(hosts) does not give; the
        C(nsforge.linux.netlab) role passes each named host's C(ansible_host).
    type: dict
  shared:
    description:
      - The records of the lab on its other hosts, whose addresses stay sticky here too (a host new to the lab has
        no record of its own). Used only when nodes have a host.
    type: list
    elements: dict
  files_dir:
    description:
      - The folder of the labs' files on the managed host; the files of a node go to
        C(<files_dir>/<lab>/nodes/<node><dst>), those of a service to C(<files_dir>/<lab>/services/<service><dst>).
    type: str
    default: /var/lib/nsforge/labs
  base:
    description:
      - The folder on the controller that a relative C(template) or C(src) of a file is taken from (the
        C(nsforge.linux.netlab) role passes the topology file's folder, or the playbook's). Defaults to the current
        folder.
    type: str
'''

EXAMPLES = r'''
- name: Plan a lab
  ansible.builtin.set_fact:
    lab_plan: "{{ topology | nsforge.linux.netlab_plan(previous_record | default({})) }}"

- name: Plan this host's part of a lab that spans hosts
  ansible.builtin.set_fact:
    lab_plan: "{{ topology | nsforge.linux.netlab_plan({}, {}, host=inventory_hostname, underlays={'h3': '10.236.0.13'}) }}"
'''

RETURN = r'''
_value:
  description:
    - C(namespaces) (the bulk netns list, with removed nodes as C(state=absent)), C(services), C(mounts), C(users),
      C(removed) (nodes, services, mounts and users to remove), C(nat) (ruleset, table, ports, host interface) or
      null, C(nat_remove), C(record), C(pending) (the record joined with the previous one, kept while the run
      changes things), C(dot), C(summary) (the nodes of this host, each with C(persist)) and C(tunnels) (every link
      between hosts, with its VNI, port, hosts and their underlay addresses).
    - C(persisted) says whether a node of the lab on this host is persisted (C(persist) of a node or of the
      topology's C(defaults)); the record then lists them in C(persist), and the services that systemd supervises
      in C(systemd). C(removals) holds the entries of the nsproc, nsmount and uidmap tasks that remove what left
      (a service that systemd supervised with C(supervisor=systemd) and C(install_only=true)).
    - C(timeline) is the C(timeline) of the one C(nsforge.linux.netns) task (named after the lab; its steps with
      their C(link) as the C(NODE:IFNAME) of this host's interfaces), C({name, state=absent}) to stop the timeline
      of a previous run (the lab removed, or its timeline gone from the topology), or null. The links' and
      endpoints' C(impairment) are in the C(namespaces) entries, on the veth and its C(peer).
    - C(files) has C(root) (the lab's folder of files on the host), C(write) (each file of a node or service, with
      C(path) on the host, C(dst), C(node), C(service), one of C(content), C(template) or C(src) (absolute paths on
      the controller), C(owner), C(group), C(mode) when given, and C(restart), the services that its change
      restarts), C(dirs) (the folders they need) and C(remove) (the files of the previous run that left the topology).
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.nsforge.linux.plugins.plugin_utils.netlab import TopologyError, plan


def netlab_plan(topology, previous=None, others=None, host=None, underlays=None, shared=None, files_dir=None,
                base=None):
    try:
        return plan(topology, previous or None, others or None, host=host, underlays=underlays, shared=shared,
                    files_dir=files_dir, base=base)
    except TopologyError as exc:
        raise AnsibleFilterError('netlab topology: %s' % exc)


class FilterModule(object):
    def filters(self):
        return {'netlab_plan': netlab_plan}
