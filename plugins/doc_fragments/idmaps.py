# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    """The ID maps of a user namespace, which nsproc (a service's own) and uidmap (a node's) take alike."""

    DOCUMENTATION = r'''
options:
  uid_map:
    description:
      - The user ID map of the user namespace, as lines of C(inside), C(outside), C(count) (what the kernel's
        C(/proc/<pid>/uid_map) holds). For a service, with C(user) V(new) in
        O(nsforge.linux.nsproc#module:namespaces).
      - Mapping host root (C(outside) 0) needs O(allow_host_root=true).
    type: list
    elements: dict
    suboptions:
      inside:
        description: First ID inside.
        type: int
        required: true
      outside:
        description: First ID outside.
        type: int
        required: true
      count:
        description: Number of IDs.
        type: int
        required: true
  gid_map:
    description: The group ID map, as O(uid_map); defaults to the same lines as O(uid_map).
    type: list
    elements: dict
    suboptions:
      inside:
        description: First ID inside.
        type: int
        required: true
      outside:
        description: First ID outside.
        type: int
        required: true
      count:
        description: Number of IDs.
        type: int
        required: true
  allow_host_root:
    description: Allow a map (O(uid_map), O(gid_map), or one made from subordinate ranges) to cover host root (ID 0 outside).
    type: bool
    default: false
'''
