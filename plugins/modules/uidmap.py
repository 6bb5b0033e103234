#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: uidmap
short_description: Subordinate user and group IDs, and persistent user namespaces with ID maps for nodes
version_added: 0.1.0
author:
  - nsforge developers (@nsforge)
description:
  - Manages who may map which IDs, so that root inside an isolated service is an unprivileged ID on the host.
  - With O(user), declares the user's subordinate ranges in C(/etc/subuid) and C(/etc/subgid), the job of
    C(usermod --add-subuids) and C(--add-subgids). A range given by its count alone is allocated at the lowest free
    start (from 100000) that overlaps no range of any user, the same way on every run for the same files. The files are
    written atomically; comments and every other line are kept byte for byte; ranges of two users never overlap
    (a request that would overlap is refused).
  - With O(namespace), declares the persistent user namespace of a node, pinned at
    C(/run/nsforge/nodes/<node>/user), with its ID maps. C(nsforge.linux.nsproc) joins it with
    its C(namespaces) option mapping C(user) to the node.
  - The kernel lets a map be written once. A changed map of an existing namespace is shown in the diff and applied only
    with O(recreate=true), which is refused while a service still runs in the namespace.
  - Every value is validated before anything is written; a failure halfway restores what the task changed.
requirements:
  - root on the managed host
extends_documentation_fragment:
  - nsforge.linux.attributes
  - nsforge.linux.idmaps
options:
  user:
    description:
      - Host user whose subordinate ranges O(subuid) and O(subgid) declare. It must exist.
      - Also the user whose ranges O(map_root_user) maps.
    type: str
  subuid:
    description:
      - A subordinate UID range of O(user), as C(start) and C(count), or C(count) alone to allocate one.
      - A range given by count alone is satisfied by any range of the user with exactly that count.
    type: dict
    suboptions:
      start:
        description: First ID.
        type: int
      count:
        description: Number of IDs.
        type: int
        required: true
  subgid:
    description: A subordinate GID range of O(user), as for O(subuid).
    type: dict
    suboptions:
      start:
        description: First ID.
        type: int
      count:
        description: Number of IDs.
        type: int
        required: true
  exclusive:
    description: Remove the other ranges of O(user) from the file of each range given.
    type: bool
    default: false
  state:
    description:
      - V(present) adds the ranges and creates the namespace.
      - V(absent) removes the given ranges (all ranges of O(user) in C(/etc/subuid) and C(/etc/subgid) when neither
        O(subuid) nor O(subgid) is given), and removes the namespace of O(namespace) (refused while a service runs in it).
    type: str
    choices: [present, absent]
    default: present
  namespace:
    description: The node whose persistent user namespace is declared.
    type: str
  map_root_user:
    description:
      - Map 0 inside to the start of the first subordinate range of O(user) (of C(root) when O(user) is not given),
        65536 IDs at most, for users and groups alike.
    type: bool
    default: false
  map_user:
    description:
      - Map 0 inside to the start of the first subordinate range of this host user, as O(map_root_user) does.
      - The outside IDs must be covered by that user's ranges.
    type: str
  recreate:
    description: Replace the namespace of a node whose maps differ from the declared ones.
    type: bool
    default: false
  persist:
    description:
      - Survive reboot, with O(namespace). V(true) adds the node's user namespace, with its maps as resolved by this
        task (so a later change of C(/etc/subuid) does not change them), to the node's record
        C(/etc/nsforge/nodes/<namespace>.json) and enables the node's unit C(nsforge-node@<escaped name>.service),
        which recreates it at boot (see O(nsforge.linux.netns#module:persist)).
      - V(false), or O(state=absent), removes this module's section of the record (and the unit instance with the
        record's last section). Omitted, an existing record is left as it is. The files C(/etc/subuid) and
        C(/etc/subgid) persist on their own.
    type: bool
seealso:
  - module: nsforge.linux.nsproc
  - name: subuid(5)
    description: The format of /etc/subuid.
    link: https://man7.org/linux/man-pages/man5/subuid.5.html
  - name: user_namespaces(7)
    description: ID maps and their rules.
    link: https://man7.org/linux/man-pages/man7/user_namespaces.7.html
'''

EXAMPLES = r'''
- name: Give svc-tenant 65536 subordinate IDs, wherever they are free
  nsforge.linux.uidmap:
    user: svc-tenant
    subuid: {count: 65536}
    subgid: {count: 65536}

- name: A fixed range, and no other
  nsforge.linux.uidmap:
    user: svc-tenant
    subuid: {start: 300000, count: 65536}
    subgid: {start: 300000, count: 65536}
    exclusive: true

- name: A node whose root maps to svc-tenant's range
  nsforge.linux.uidmap:
    namespace: tenant1
    map_user: svc-tenant

- name: Explicit maps
  nsforge.linux.uidmap:
    namespace: tenant2
    uid_map:
      - {inside: 0, outside: 400000, count: 1000}
      - {inside: 1000, outside: 401000, count: 64536}

- name: A service that is root in tenant1's user namespace, and svc-tenant's first subordinate ID on the host
  nsforge.linux.nsproc:
    name: tenant1-app
    namespaces: {user: tenant1}
    user: "0"
    command: [sleep, infinity]

- name: Node tenant1's user namespace survives reboot
  nsforge.linux.uidmap:
    namespace: tenant1
    map_user: svc-tenant
    persist: true

- name: Remove svc-tenant's ranges
  nsforge.linux.uidmap:
    user: svc-tenant
    state: absent
'''

RETURN = r'''
changes:
  description: What the task changed, or would change in check mode.
  returned: always
  type: list
  elements: str
  sample: ["/etc/subuid: add svc-tenant:100000:65536"]
subuid:
  description: Subordinate UID ranges of O(user) after the task, as C(start) and C(count).
  returned: when O(user) is given
  type: list
  elements: dict
  sample: [{"start": 100000, "count": 65536}]
subgid:
  description: Subordinate GID ranges of O(user) after the task.
  returned: when O(user) is given
  type: list
  elements: dict
  sample: [{"start": 100000, "count": 65536}]
namespace:
  description: The node's user namespace after the task (before it, in check mode).
  returned: when O(namespace) is given
  type: dict
  contains:
    name:
      description: The node.
      type: str
    path:
      description: The pinned handle.
      type: str
      sample: /run/nsforge/nodes/tenant1/user
    inode:
      description: Inode of the user namespace, or null when it does not exist.
      type: int
    uid_map:
      description: Lines of its UID map, each C(inside), C(outside), C(count).
      type: list
      elements: dict
    gid_map:
      description: Lines of its GID map.
      type: list
      elements: dict
'''

from ansible_collections.nsforge.linux.plugins.module_utils.module import run_module
from ansible_collections.nsforge.linux.plugins.module_utils import specs, uidmap_engine
# imported so that AnsiballZ carries the restore command, which persist: true installs on the host
from ansible_collections.nsforge.linux.plugins.module_utils import restore  # pylint: disable=unused-import


def main():
    run_module(specs.uidmap(), lambda module, session: uidmap_engine.converge(module.params, module.check_mode),
               needs_pyroute2=False)


if __name__ == '__main__':
    main()
