# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: netlab_report
short_description: Count what a run of the netlab role changed, by part of the lab
version_added: 0.1.0
author:
  - nsforge developers (@nsforge)
description:
  - Takes the plan of a lab (C(nsforge.linux.netlab_plan)) and the results that the C(nsforge.linux.netlab) role
    registered, and returns whether anything changed, the number of nodes, bridges, links, services, files, NAT
    tables and timelines with how many of each changed, and one line for people.
  - A node changed when its network, user or mount namespace did; a link when an interface of one of its ends did
    (its impairment included); a service when its entry of the C(nsforge.linux.nsproc) result did; the lab's
    timeline when a change of the C(netns) task names it (C(timeline ...)).
options:
  _input:
    description: The plan of the lab.
    type: dict
    required: true
  results:
    description:
      - The registered results, by part; C(network) (the C(netns) task), C(users), C(mounts), C(services) (the bulk
        tasks), C(removals), C(files), C(nat) and C(record) (a result or a list of results). A skipped or missing
        part changed nothing.
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: Report what the lab's run did
  ansible.builtin.debug:
    msg: "{{ (lab_plan | nsforge.linux.netlab_report({'network': lab_network, 'services': lab_services})).line }}"
'''

RETURN = r'''
_value:
  description:
    - C(changed); C(nodes), C(bridges), C(links), C(services), C(files), C(nat) and C(timelines), each with C(total)
      and C(changed); and C(line).
  type: dict
  sample:
    changed: true
    nodes: {total: 6, changed: 1}
    line: "lab ospf: 6 nodes, 7 links, 4 services, 4 files; changed: 1 node, 1 link"
'''

from ansible_collections.nsforge.linux.plugins.plugin_utils.netlab import report


def netlab_report(lab_plan, results):
    return report(lab_plan, results)


class FilterModule(object):
    def filters(self):
        return {'netlab_report': netlab_report}
