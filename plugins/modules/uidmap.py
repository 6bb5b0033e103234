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
notes:
  - With O(users) and O(namespaces), the task is one process and one change list for all its users and nodes. Every
    entry is validated before anything is read or changed; the files and the nodes are locked together; the users
    are planned first, in order, then the nodes (so that a node's O(namespaces[].map_user) sees the ranges the task
    declares); then the changes are applied in that order. Each entry's edit of C(/etc/subuid) or C(/etc/subgid)
    starts from the text the entry before it leaves.
  - Bad input in one entry fails the task before anything changes, with C(msg) and C(option) naming the entry's
    path, such as C(users[2].subuid.count) or C(namespaces[17].uid_map[0].outside), and C(msg) naming its user or
    node.
  - When a change fails, the changes of the task already applied, those of earlier entries too, are undone in
    reverse order, so C(/etc/subuid) and C(/etc/subgid) are written back as they were and created namespaces are
    removed. The task fails with a C(msg) that starts with the entry and its node or user, such as
    C(namespaces[39] (r40)), then names the step that failed and how many changes were undone. What has no undo
    stays as the task left it; a removed or recreated namespace is not brought back. A failed task returns no
    RV(results).
extends_documentation_fragment:
  - nsforge.linux.attributes
  - nsforge.linux.idmaps
options:
  user:
    description:
      - Host user whose subordinate ranges O(subuid) and O(subgid) declare. It must exist.
      - Also the user whose ranges O(map_root_user) maps.
      - Mutually exclusive with O(users).
    type: str
  subuid:
    description:
      - A subordinate UID range of O(user), as C(start) and C(count), or C(count) alone to allocate one.
      - A range given by count alone is satisfied by any range of the user with exactly that count.
    type: dict
    suboptions: &range_options
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
    suboptions: *range_options
  exclusive:
    description: Remove the other ranges of O(user) from the file of each range given.
    type: bool
    default: false
  users:
    description:
      - Many users' subordinate ranges in one task, each entry with the options of one user (see the notes).
      - Mutually exclusive with O(user); O(subuid), O(subgid) and O(exclusive) go inside each entry, and set beside
        O(users) or O(namespaces) (to other than their defaults) they fail. The task's O(state) is the default of the
        entries that do not set it. A user declared in two entries fails, naming both.
      - May be given with O(namespaces); the users are planned first.
    type: list
    elements: dict
    suboptions:
      user:
        description: As O(user).
        type: str
        required: true
      subuid:
        description: As O(subuid).
        type: dict
        suboptions: *range_options
      subgid:
        description: As O(subgid).
        type: dict
        suboptions: *range_options
      exclusive:
        description: As O(exclusive).
        type: bool
        default: false
      state:
        description: As O(state); defaults to the task's O(state).
        type: str
        choices: [present, absent]
  state:
    description:
      - V(present) adds the ranges and creates the namespace.
      - V(absent) removes the given ranges (all ranges of O(user) in C(/etc/subuid) and C(/etc/subgid) when neither
        O(subuid) nor O(subgid) is given), and removes the namespace of O(namespace) (refused while a service runs in it).
      - With O(users) or O(namespaces), the default state of each entry.
    type: str
    choices: [present, absent]
    default: present
  namespace:
    description:
      - The node whose persistent user namespace is declared.
      - Mutually exclusive with O(namespaces).
    type: str
  namespaces:
    description:
      - Many nodes' user namespaces in one task, each entry with the options of one node (see the notes).
      - Mutually exclusive with O(namespace); O(uid_map), O(gid_map), O(map_root_user), O(map_user),
        O(allow_host_root) and O(recreate) go inside each entry, and set beside O(users) or O(namespaces) (to other
        than their defaults) they fail. The task's O(state) and O(persist) are the defaults of the entries that do
        not set them. A node declared in two entries fails, naming both.
    type: list
    elements: dict
    suboptions:
      namespace:
        description: The node.
        type: str
        required: true
      state:
        description: As O(state); defaults to the task's O(state).
        type: str
        choices: [present, absent]
      uid_map:
        description: As O(uid_map).
        type: list
        elements: dict
        suboptions: &map_options
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
        description: As O(gid_map); defaults to the same lines as the entry's O(namespaces[].uid_map).
        type: list
        elements: dict
        suboptions: *map_options
      map_root_user:
        description:
          - Map 0 inside to the start of the first subordinate range of C(root), as O(map_root_user) does without
            O(user) (an entry has no user; use O(namespaces[].map_user) for another user's ranges).
        type: bool
        default: false
      map_user:
        description: As O(map_user); the user's ranges as the task's O(users) leave them.
        type: str
      allow_host_root:
        description: As O(allow_host_root).
        type: bool
        default: false
      recreate:
        description: As O(recreate).
        type: bool
        default: false
      persist:
        description: As O(persist); defaults to the task's O(persist).
        type: bool
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
      - With O(namespaces), the default of each entry.
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

- name: Ranges for two users and the user namespaces of three nodes, in one task
  nsforge.linux.uidmap:
    users:
      - {user: svc-tenant, subuid: {count: 65536}, subgid: {count: 65536}}
      - {user: svc-other, subuid: {start: 300000, count: 65536}, subgid: {start: 300000, count: 65536}}
    namespaces:
      - {namespace: tenant1, map_user: svc-tenant}
      - {namespace: tenant2, map_user: svc-other}
      - namespace: tenant3
        uid_map:
          - {inside: 0, outside: 400000, count: 65536}

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
results:
  description:
    - With O(users) or O(namespaces), one element per entry, the users' entries first, then the nodes', each in
      order, with the entry's view and what the task did to it.
    - The task's RV(changes) lists them all, with the steps that no entry owns (the unit template, the restore
      command's install, C(systemctl daemon-reload)).
  returned: when O(users) or O(namespaces) is given
  type: list
  elements: dict
  contains:
    user:
      description: The user of an entry of O(users).
      type: str
    subuid:
      description: The user's subordinate UID ranges after the task, as RV(subuid).
      type: list
      elements: dict
    subgid:
      description: The user's subordinate GID ranges after the task, as RV(subgid).
      type: list
      elements: dict
    namespace:
      description:
        - The user namespace of an entry of O(namespaces) after the task (before it, in check mode), as
          RV(namespace).
      type: dict
    changed:
      description: Whether the task changed (would change, in check mode) this user's ranges or this node.
      type: bool
    changes:
      description: What the task changed of this entry, with a node's record and unit links with O(persist).
      type: list
      elements: str
  sample:
    - {"user": "svc-tenant", "subuid": [{"start": 165536, "count": 65536}],
       "subgid": [{"start": 165536, "count": 65536}], "changed": true,
       "changes": ["/etc/subuid: add svc-tenant:165536:65536", "/etc/subgid: add svc-tenant:165536:65536"]}
    - {"namespace": {"name": "tenant1", "path": "/run/nsforge/nodes/tenant1/user", "inode": 4026532841,
                     "uid_map": [{"inside": 0, "outside": 165536, "count": 65536}],
                     "gid_map": [{"inside": 0, "outside": 165536, "count": 65536}]},
       "changed": false, "changes": []}
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
from ansible_collections.nsforge.linux.plugins.module_utils import bulk, specs, uidmap_engine
# imported so that AnsiballZ carries the restore command, which persist: true installs on the host
from ansible_collections.nsforge.linux.plugins.module_utils import restore  # pylint: disable=unused-import


def main():
    run_module(specs.uidmap(), lambda module, session: uidmap_engine.converge(module.params, module.check_mode),
               needs_pyroute2=False, echoed=bulk.echoed({'namespaces': 'namespace', 'users': 'user'}))


if __name__ == '__main__':
    main()
