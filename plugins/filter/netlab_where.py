# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: netlab_where
short_description: Put a module's message about a lab's generated task in the topology's terms
version_added: 0.1.0
author:
  - nsforge developers (@nsforge)
description:
  - The C(nsforge.linux.netlab) role declares a lab with one bulk task per module. When such a task fails, the
    module names the entry of the generated task (V(namespaces[1].links[0].type), V(services[4] (r3-bird))); this
    filter names the topology's own path instead (V(nodes[0] (r1\).links[0].type),
    V(links[3] (r1:eth1 -- r2:eth1\)), V(nodes[2] (r3\).services[0])).
  - Where the option has another name in the topology (a link's peer, for example), the generated path follows in
    parentheses. A message that names no entry of the topology is returned as it is.
options:
  _input:
    description: The message of the failed task.
    type: str
    required: true
  origins:
    description: C(origins) of the lab's plan (C(nsforge.linux.netlab_plan)).
    type: dict
    required: true
  action:
    description: The module that failed (C(ansible_failed_task.action) in a C(rescue)).
    type: str
    required: true
  args:
    description: The options it was given (C(ansible_failed_task.args)), whose entries the message's indexes name.
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: Deploy, and fail in the topology's terms
  block:
    - name: Deploy the lab's network
      nsforge.linux.netns:
        namespaces: "{{ lab_plan.namespaces }}"
  rescue:
    - name: Say what failed, in the topology's terms
      ansible.builtin.fail:
        msg: >-
          {{ ansible_failed_result.msg | nsforge.linux.netlab_where(lab_plan.origins, ansible_failed_task.action,
                                                                    ansible_failed_task.args) }}
'''

RETURN = r'''
_value:
  description: The message, with the generated task's paths replaced by the topology's.
  type: str
  sample: "nodes[0] (r1).links[0].type: value of type must be one of: veth, bridge, got: vethh"
'''

from ansible_collections.nsforge.linux.plugins.plugin_utils.netlab import where


def netlab_where(message, origins, action, args):
    return where(message, origins, action, args)


class FilterModule(object):
    def filters(self):
        return {'netlab_where': netlab_where}
