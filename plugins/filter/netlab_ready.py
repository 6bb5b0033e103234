# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: netlab_ready
short_description: The mounts and services of a lab plan as one run of the netlab role deploys them
version_added: 0.1.0
author:
  - nsforge developers (@nsforge)
description:
  - Takes the plan of a lab (the result of C(nsforge.linux.netlab_plan)) and the services that the run starts, and
    returns the entries of the role's one C(nsforge.linux.nsmount) task and its one C(nsforge.linux.nsproc) task.
  - A service named in O(restart) (it uses a file of the lab that this run changed) gets C(state=restarted), unless
    it is declared stopped.
  - The binds of the lab's files named in O(missing) are left out (in check mode their copy was only reported, and the
    modules refuse a bind whose source does not exist).
options:
  _input:
    description: The plan of the lab.
    type: dict
    required: true
  services:
    description: The nsproc entries of the services that start in this run.
    type: list
    elements: dict
    required: true
  restart:
    description: Names of services to restart.
    type: list
    elements: str
  missing:
    description: Paths on the host of the lab's files that do not exist (yet).
    type: list
    elements: str
'''

EXAMPLES = r'''
- name: Restart the services whose files changed
  ansible.builtin.set_fact:
    lab_ready: "{{ lab_plan | nsforge.linux.netlab_ready(lab_services, restart=['r1-bird']) }}"
'''

RETURN = r'''
_value:
  description: C(mounts) (the entries of the nsmount task) and C(services) (the entries of the nsproc task).
  type: dict
'''

from ansible_collections.nsforge.linux.plugins.plugin_utils.netlab import ready


def netlab_ready(lab, services, restart=None, missing=None):
    return ready(lab, services, restart, missing)


class FilterModule(object):
    def filters(self):
        return {'netlab_ready': netlab_ready}
