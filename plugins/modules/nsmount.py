#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: nsmount
short_description: Give a node its own mount namespace and declare what is mounted in it
version_added: 0.1.0
author:
  - nsforge developers (@nsforge)
description:
  - Gives a node its own view of the file system, such as "/data is a persistent volume, /logs is a host path, and
    the host's /data is invisible unless mounted".
  - The node's mount namespace is pinned at C(/run/nsforge/nodes/<node>/mntns/mnt). Its folder is made a private bind mount
    of itself first, as the kernel requires to pin a mount namespace.
  - The actual state is read from the namespace's C(/proc/self/mountinfo) and compared by mount point, source, type
    and the options that matter (C(ro)/C(rw), tmpfs C(size) and C(mode)). Only what differs changes. An option change
    is a remount; an unchanged mount is never unmounted and mounted again.
  - Mounts made here never appear in the host's mount table, and nothing this module does changes the host's mounts.
  - C(nsforge.linux.nsproc) runs a service in this view (O(nsforge.linux.nsproc#module:node), or its C(namespaces)
    option mapping C(mnt) to the node). The service gets a view of its own that follows this one, with its own
    C(/proc) (see O(propagation)).
requirements:
  - root on the managed host
notes:
  - The namespace starts as a copy of the host's mount table at the time it is created.
  - With O(namespaces), the task is one process and one change list for all its nodes. Every entry is validated
    before anything is read or changed; the nodes are locked together; every entry is planned; then the changes are
    applied in the order of the entries.
  - Bad input in one entry fails the task before anything changes, with C(msg) and C(option) naming the entry's
    path, such as C(namespaces[17].mounts[0].dst), and C(msg) naming its node.
  - When a change fails, the changes of the task already applied, those of earlier entries too, are undone in
    reverse order; a created namespace is removed, a new mount unmounted, a record or unit file restored. The task
    fails with a C(msg) that starts with the entry and its node, such as C(namespaces[39] (r40)), then names the
    step that failed and how many changes were undone. What has no undo stays as the task left it; a namespace
    removed (O(state=absent), or replaced for another O(rootfs)) is not recreated, a mount point folder created on a
    file system the host shares stays, an unmount or a remount is not reverted. A failed task returns no
    RV(results).
  - A missing mount point is created inside the namespace's view when O(mounts[].mkdir=true); a folder created on
    a file system that the host shares (not a tmpfs of the namespace) is visible on the host too.
extends_documentation_fragment:
  - nsforge.linux.attributes
options:
  namespace:
    description:
      - The node whose mount namespace is declared.
      - Required unless O(namespaces) is given, with which it is mutually exclusive.
    type: str
  state:
    description:
      - V(present) creates the namespace when missing and converges its mounts.
      - V(absent) unpins the namespace, so that its mounts vanish; refused while a service still runs in it.
      - With O(namespaces), the default state of each entry.
    type: str
    choices: [present, absent]
    default: present
  propagation:
    description:
      - Propagation between the namespace's mounts and the host's. V(private) receives and sends nothing; V(slave)
        receives the host's new mounts and sends none; V(unbindable) as V(private), and the mounts cannot be bound
        elsewhere. V(shared) is the same as V(private) (it meant a peer group of the namespace's own, which every
        node now has) and is reported as V(private).
      - Except with V(unbindable), the namespace's mounts form a peer group of their own (C(findmnt -o PROPAGATION)
        shows C(shared)), shared with no mount of the host. The views of the node's services (M(nsforge.linux.nsproc))
        are slaves of it, so a mount declared here later reaches the services already running; what a service
        mounts stays its own. With V(unbindable), a service sees the mounts the node had when it started.
    type: str
    choices: [private, slave, shared, unbindable]
    default: private
  mounts:
    description: Mounts of the namespace, in order (a mount point inside an earlier mount works).
    type: list
    elements: dict
    suboptions: &mount_options
      dst:
        description: Absolute mount point inside the namespace, not C(/).
        type: str
        required: true
      src:
        description: For V(bind), the host path to bind; it must exist.
        type: path
      type:
        description: Kind of mount.
        type: str
        choices: [bind, tmpfs, overlay, proc, sysfs]
        default: bind
      ro:
        description:
          - Mount read-only.
          - The alias O(mounts[].readonly) is the spelling M(nsforge.linux.nsproc) took before both modules shared
            one vocabulary.
        type: bool
        default: false
        aliases: [readonly]
      recursive:
        description: For V(bind), bind the mounts below O(mounts[].src) too.
        type: bool
        default: true
      size:
        description:
          - For V(tmpfs), its size, such as C(64m) or C(10%).
          - Compared with the C(size=) the kernel shows; a different size is changed by a remount, keeping the files.
        type: str
      mode:
        description:
          - For V(tmpfs), the mode of its root, such as C(1777) (the kernel's default); the mount option C(mode=).
          - Compared with the mode of the mount's root (C(stat)), and changed in place (C(chmod)) when it differs,
            since a remount cannot change it.
        type: str
      owner:
        description:
          - For V(tmpfs), the user owning its root, by name (looked up on the managed host) or number; the mount
            option C(uid=).
          - Compared with the owner of the mount's root (C(stat)), and changed in place (C(chown)) when it differs.
          - An unknown name is refused, naming the entry (C(mounts[1].owner)).
        type: str
      group:
        description: For V(tmpfs), the group owning its root, by name or number (C(gid=)); as O(mounts[].owner).
        type: str
      options:
        description:
          - For V(tmpfs), more mount options as comma-separated words, such as C(nr_inodes=1k,huge=within_size).
          - Words C(size=), C(mode=), C(uid=) and C(gid=) are read as O(mounts[].size), O(mounts[].mode),
            O(mounts[].owner) and O(mounts[].group) (given both ways with different values, they are refused).
          - A word whose key the kernel shows in the mount's options with another value (numbers with a C(k), C(m)
            or C(g) suffix compared as numbers) remounts the tmpfs; a word the kernel does not show counts as
            applied.
        type: str
      lower:
        description: For V(overlay), the lower folders, uppermost first.
        type: list
        elements: path
      upper:
        description: For V(overlay), the folder that receives writes.
        type: path
      work:
        description: For V(overlay), an empty work folder on the same file system as O(mounts[].upper).
        type: path
      state:
        description: V(mounted) or V(absent) (unmounted when mounted).
        type: str
        choices: [mounted, absent]
        default: mounted
      mkdir:
        description: Create a missing mount point (and, for an overlay, missing upper and work folders).
        type: bool
        default: true
  private:
    description:
      - Folders that get a tmpfs of their own, a short way to write O(mounts) entries, such as
        C([/run, /tmp, /var/log]).
      - Each path becomes a mount entry of V(tmpfs) whose O(mounts[].dst) is the path, with O(mounts[].mode) C(1777)
        for C(/tmp) and C(/var/tmp), and C(0755) for any other path, owned by root, without a size (the kernel's
        default, half the memory).
      - They are mounted before O(mounts), so that an entry of O(mounts) below one of them lands on it. A path that
        O(mounts) declares too is mounted as O(mounts) declares it (the private entry gives way).
      - A bad path is refused naming it, as C(private[1]).
    type: list
    elements: str
  purge:
    description:
      - Unmount what is mounted in the namespace beyond the host's view and not declared (with O(rootfs), every
        mount but the root that is not declared).
      - With O(namespaces), the default of each entry.
    type: bool
    default: false
  rootfs:
    description:
      - A folder holding a root file system that becomes the namespace's root (C(pivot_root)), with the host's root
        detached, so nothing of the host is visible inside but what O(mounts) binds in.
      - Bind sources of O(mounts) stay host paths (they are cloned into the namespace with C(open_tree), Linux 5.2);
        overlay folders are paths inside the new root.
      - A namespace whose root differs from the declared one is replaced, which is refused while a service runs in it.
    type: path
  pivot:
    description: Enter O(rootfs) with C(pivot_root) and detach the old root; the only supported way, so it must be V(true).
    type: bool
    default: true
  persist:
    description:
      - Survive reboot. V(true) adds this task's declaration to the node's record C(/etc/nsforge/nodes/<namespace>.json)
        and enables the node's unit C(nsforge-node@<escaped name>.service), which recreates the mount namespace at boot
        (see O(nsforge.linux.netns#module:persist)). Paths under C(/run), C(/tmp), C(/dev/shm), C(/proc) and C(/sys)
        are emptied at boot, so a O(rootfs) or a mount source, upper or work folder there is refused.
      - V(false), or O(state=absent), removes this module's section of the record (and the unit instance with the
        record's last section). Omitted, an existing record is left as it is.
      - With O(namespaces), the default of each entry.
    type: bool
  namespaces:
    description:
      - Many nodes in one task, each entry with the options of one node's mount namespace (a module process and one
        change list for all, see the notes).
      - Mutually exclusive with O(namespace). O(mounts), O(propagation), O(rootfs) and O(pivot) go inside each entry;
        set beside O(namespaces) (to other than their defaults), they fail. O(state), O(purge) and O(persist) of the
        task are the defaults of the entries that do not set them.
      - A node declared in two entries fails, naming both.
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
      propagation:
        description: As O(propagation).
        type: str
        choices: [private, slave, shared, unbindable]
        default: private
      mounts:
        description: As O(mounts).
        type: list
        elements: dict
        suboptions: *mount_options
      private:
        description: As O(private).
        type: list
        elements: str
      purge:
        description: As O(purge); defaults to the task's O(purge).
        type: bool
      rootfs:
        description: As O(rootfs).
        type: path
      pivot:
        description: As O(pivot).
        type: bool
        default: true
      persist:
        description: As O(persist); defaults to the task's O(persist).
        type: bool
seealso:
  - module: nsforge.linux.nsproc
  - name: mount_namespaces(7)
    description: Mount namespaces and propagation.
    link: https://man7.org/linux/man-pages/man7/mount_namespaces.7.html
'''

EXAMPLES = r'''
- name: Node red sees a volume at /data, a host folder at /logs (read-only) and a tmpfs /tmp of its own
  nsforge.linux.nsmount:
    namespace: red
    mounts:
      - {dst: /data, src: /srv/volumes/red}
      - {dst: /logs, src: /var/log/red, ro: true}
      - {dst: /tmp, type: tmpfs, size: 64m, mode: "1777"}

- name: Node blue gets private /run, /tmp and /var/log, and a spool owned by www-data (re-runs change nothing)
  nsforge.linux.nsmount:
    namespace: blue
    private: [/run, /tmp, /var/log]
    mounts:
      - {dst: /var/spool/web, type: tmpfs, size: 16m, mode: "0750", owner: www-data, group: www-data}
      - {dst: /etc/app, src: /srv/config/blue, readonly: true}   # readonly: an alias of ro

- name: An overlay whose writes stay in an upper folder
  nsforge.linux.nsmount:
    namespace: red
    mounts:
      - dst: /opt/app
        type: overlay
        lower: [/srv/images/app]
        upper: /srv/overlays/red/upper
        work: /srv/overlays/red/work

- name: A service that sees that view
  nsforge.linux.nsproc:
    name: red-app
    node: red
    namespaces: {mnt: red}
    command: [sleep, infinity]

- name: A node whose root is a minimal root file system, with the host's /usr bound in read-only
  nsforge.linux.nsmount:
    namespace: jail
    rootfs: /srv/rootfs/jail
    mounts:
      - {dst: /usr, src: /usr, ro: true}
      - {dst: /proc, type: proc}

- name: Remove the view
  nsforge.linux.nsmount:
    namespace: red
    state: absent

- name: Many nodes' views in one task (one module process; a failure undoes the whole task)
  nsforge.linux.nsmount:
    purge: true
    namespaces:
      - namespace: red
        mounts:
          - {dst: /data, src: /srv/volumes/red}
          - {dst: /tmp, type: tmpfs, size: 64m, mode: "1777"}
      - namespace: blue
        mounts:
          - {dst: /data, src: /srv/volumes/blue, ro: true}
      - namespace: old
        state: absent

- name: Node red's view survives reboot (recreated at boot by nsforge-node@red.service)
  nsforge.linux.nsmount:
    namespace: red
    persist: true
    mounts:
      - {dst: /data, src: /srv/volumes/red}
'''

RETURN = r'''
changes:
  description: What the task changed, or would change in check mode.
  returned: always
  type: list
  elements: str
  sample: ["node red: mount /srv/volumes/red on /data (bind)", "node red: remount /logs read-write"]
namespace:
  description: The node's mount namespace after the task (before it, in check mode).
  returned: when O(namespace) is given
  type: dict
  contains:
    name:
      description: The node.
      type: str
    path:
      description: The pinned handle.
      type: str
      sample: /run/nsforge/nodes/red/mntns/mnt
    inode:
      description: Inode of the mount namespace, or null when it does not exist.
      type: int
    mounts:
      description: Mounts of the namespace that the host does not have, each with C(dst), C(type), C(source), C(ro).
      type: list
      elements: dict
results:
  description:
    - With O(namespaces), one element per entry, in order, each with the entry's view and what the task did to it.
    - The task's RV(changes) lists them all, with the steps that no entry owns (the unit template, the restore
      command's install, C(systemctl daemon-reload)).
  returned: when O(namespaces) is given
  type: list
  elements: dict
  contains:
    namespace:
      description: The node's mount namespace after the task (before it, in check mode), as RV(namespace).
      type: dict
      sample: {"name": "red", "path": "/run/nsforge/nodes/red/mntns/mnt", "inode": 4026532841, "mounts": []}
    changed:
      description: Whether the task changed (would change, in check mode) this node.
      type: bool
    changes:
      description: What the task changed of this node, including its record and unit links with O(persist).
      type: list
      elements: str
      sample: ["node red: create mount namespace /run/nsforge/nodes/red/mntns/mnt (private propagation)"]
'''

from ansible_collections.nsforge.linux.plugins.module_utils.module import run_module
from ansible_collections.nsforge.linux.plugins.module_utils import bulk, nsmount_engine, specs
# imported so that AnsiballZ carries the restore command, which persist: true installs on the host
from ansible_collections.nsforge.linux.plugins.module_utils import restore  # pylint: disable=unused-import


def main():
    run_module(specs.nsmount(), lambda module, session: nsmount_engine.converge(module.params, module.check_mode),
               needs_pyroute2=False, echoed=bulk.echoed({'namespaces': 'namespace'}))


if __name__ == '__main__':
    main()
