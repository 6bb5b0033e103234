#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: nsproc
short_description: Run isolated services inside Linux namespaces and keep them in the declared state
version_added: 0.1.0
author:
  - nsforge developers (@nsforge)
description:
  - Runs a long-lived service, or a one-shot command, isolated by namespaces, and keeps it in the declared state
    across playbook runs. Two web servers on port 80 on one host, each in its own node and each believing it is
    PID 1 on its own machine, are one task each.
  - The service outlives the Ansible run. It is detached (its own session, reparented away from the module) and its
    state is recorded atomically in C(/run/nsforge/services/<name>.json) (root only), with the hash of its
    configuration, its host PID and that PID's start time, and its namespace inodes. Identity is PID plus start time, so a recycled
    PID is never mistaken for the service, and never signalled.
  - With a new PID namespace, a minimal init (C(tini)) is PID 1 by default; it forwards signals to the service and
    reaps orphans. No Python process stays behind; per service there remain the service, that init, and its keeper.
  - The keeper is a C(sleep infinity) in the host's namespaces, made the service's parent (a child subreaper) so that
    it holds a service that dies later as a zombie, which keeps its exit status. The next task or M(nsforge.linux.nsinfo)
    reports it as RV(service.exit_code) and RV(service.exit_signal) with the tail of its stderr, and ends the keeper
    when it starts, stops or removes the service. nsproc never restarts a service by itself; each O(state=started)
    run starts an exited service once and counts it in RV(service.crashes). When someone ends the keeper, the
    service is reparented to init as before and its exit code is lost (reported as null). A service that stays in
    the host's PID namespace (O(namespaces) C(pid=host)) has no keeper, since its own orphans would be handed to
    the keeper, which never reaps them; its exit code after O(startup_check) is not kept either.
  - "The service's view of the file system: with C(mnt) V(new) (the default without a node mount namespace), a
    private copy of the host's. With C(mnt) joining a node (O(node), or a node's name in O(namespaces)), another
    service (C(service:<other>)) or the host (V(host)), a view of its own copied from that one and made a slave of
    it (as C(mount --make-rslave)): the service sees the node's mounts, and mounts that M(nsforge.linux.nsmount)
    makes in the node later reach it too, while its own mounts (its C(/proc), O(mounts)) stay its own, as the
    containers of a pod see the pod's volumes. Only with O(mount_proc=false) and no O(mounts) does it share the
    joined view itself. RV(service.mnt_parent) is the inode of the view it follows."
  - When the declared configuration differs from the one the running service was started with, O(state=started)
    restarts it (O(restart_on_change)) and reports the difference in the diff. Values of O(env) show as C(********)
    there; a change of one shows as a change of C(config_hash).
requirements:
  - root on the managed host
  - C(tini) on the managed host when O(init=true) (Debian and Ubuntu package C(tini))
notes:
  - Logs are appended to O(stdout) and O(stderr), by default C(/var/log/nsforge/<name>/stdout.log) and
    C(stderr.log) (folder 0750, files 0640); they are kept when the service is restarted or removed. With
    O(supervisor=systemd) the output goes to the journal of the unit instead, unless O(stdout) or O(stderr) name files.
  - O(limits) use cgroups under C(nsforge/<name>) of each controller, with cgroup v2 (C(memory.max), C(pids.max),
    C(cpu.max)) where the host has the unified hierarchy with those controllers, else the v1 C(memory), C(pids) and
    C(cpu) controllers (C(memory.limit_in_bytes), C(pids.max), C(cpu.cfs_quota_us)).
  - Namespaces that a service alone created vanish with it; nothing of them is pinned.
extends_documentation_fragment:
  - nsforge.linux.attributes
  - nsforge.linux.idmaps
options:
  name:
    description:
      - The service. The same rules as node names apply (one safe path component).
      - Required unless O(services) declares many services; mutually exclusive with it.
    type: str
  state:
    description:
      - V(started) starts the service when it is not running (or restarts it when its configuration changed and
        O(restart_on_change=true)). For O(type=oneshot), runs the command unless it already ran successfully with the
        same configuration.
      - V(stopped) stops it (O(stop_signal), then C(KILL) after O(stop_timeout)).
      - V(restarted) stops it when running, then starts it; always a change.
      - V(absent) stops it and removes its state record and its cgroups; logs are kept.
    type: str
    choices: [started, stopped, restarted, absent]
    default: started
  type:
    description:
      - V(service) runs a long-lived process and checks that it is still running after O(startup_check) seconds.
      - V(oneshot) runs the command to completion (at most O(timeout) seconds) and fails when it exits non-zero.
    type: str
    choices: [service, oneshot]
    default: service
  command:
    description:
      - The program and its arguments. A list is used as it is; a string is split with shell-like rules
        (C(shlex)), but no shell is ever run unless the command names one.
      - A program without C(/) is looked up in C(PATH) (from O(env) when it sets one).
      - Required with O(state=started) and O(state=restarted).
    type: raw
  env:
    description:
      - Environment variables of the service (nothing else is inherited, except a default C(PATH)). Values are
        never logged nor shown in the diff.
    type: dict
  cwd:
    description: Working directory of the service, in its own mount view.
    type: path
    default: /
  user:
    description:
      - User to run as, by name or id; resolved inside the service's user namespace when it has one (the id must
        then be mapped by O(uid_map)).
    type: str
  group:
    description: Group to run as, by name or id; defaults to the user's primary group.
    type: str
  umask:
    description: File mode creation mask, in octal, such as C(0027).
    type: str
  node:
    description:
      - Join every persistent namespace that this node has (its network namespace C(/run/netns/<node>), and its UTS
        namespace when it has one). O(namespaces) overrides single kinds.
    type: str
  namespaces:
    description:
      - What the service gets, per kind (C(pid), C(net), C(uts), C(ipc), C(mnt), C(user), C(cgroup), C(time)).
      - V(new) for a fresh namespace, V(host) to share the host's, the name of a node to join that node's persistent
        namespace of that kind (C(net) joins C(/run/netns/<node>), C(uts) joins C(/run/nsforge/nodes/<node>/uts)),
        or C(service:<other>) to join the namespace of that running service (pod-style sharing).
      - Defaults are C(pid), C(uts), C(ipc) and C(mnt) V(new); C(net) from O(node) when given, else V(host);
        C(user), C(cgroup) and C(time) V(host).
    type: dict
  hostname:
    description: Hostname inside; needs a C(uts) namespace of its own (V(new)).
    type: str
  mount_proc:
    description:
      - Mount a fresh C(/proc) in the service's own view of the file system, so that C(ps -e) inside lists the
        service's own processes alone, whatever its C(mnt) is (a node's mount namespace included, where the service
        then gets a view of its own that follows the node's; see the description).
      - Defaults to V(true) unless the service stays in the host's PID namespace, or joins both the PID and the mount
        namespace of one other service (C(service:<other>) for both), whose C(/proc) already shows that PID
        namespace.
      - V(false) with a joined C(mnt) and no O(mounts) shares the joined view itself; C(/proc) there shows the
        processes of the view's PID namespace (the host's, for a node).
    type: bool
  mounts:
    description:
      - Mounts made in the service's own view of the file system (a private copy of the host's with C(mnt) V(new),
        else a view that follows the joined one, see the description); neither the host nor the node sees them.
      - The entries of O(nsforge.linux.nsmount#module:mounts), one vocabulary for both modules, made when the service
        starts; a changed entry restarts a running service, as any change of its configuration does.
    type: list
    elements: dict
    suboptions: &mount_options
      dst:
        description: As O(nsforge.linux.nsmount#module:mounts[].dst), a mount point in the service's view.
        type: str
        required: true
      src:
        description: As O(nsforge.linux.nsmount#module:mounts[].src).
        type: path
      type:
        description:
          - As O(nsforge.linux.nsmount#module:mounts[].type); every kind is mounted when the service starts.
        type: str
        choices: [bind, tmpfs, overlay, proc, sysfs]
        default: bind
      ro:
        description:
          - As O(nsforge.linux.nsmount#module:mounts[].ro). The alias O(mounts[].readonly) is this module's older
            spelling; both give the same configuration.
        type: bool
        default: false
        aliases: [readonly]
      recursive:
        description: As O(nsforge.linux.nsmount#module:mounts[].recursive).
        type: bool
        default: true
      size:
        description: As O(nsforge.linux.nsmount#module:mounts[].size).
        type: str
      mode:
        description: As O(nsforge.linux.nsmount#module:mounts[].mode).
        type: str
      owner:
        description:
          - As O(nsforge.linux.nsmount#module:mounts[].owner). With a user namespace of the service's own, an ID
            inside it, which must be mapped.
        type: str
      group:
        description: As O(mounts[].owner), for O(nsforge.linux.nsmount#module:mounts[].group).
        type: str
      options:
        description:
          - As O(nsforge.linux.nsmount#module:mounts[].options); so this module's older C(size=64m,mode=0755)
            still works.
        type: str
      lower:
        description: As O(nsforge.linux.nsmount#module:mounts[].lower).
        type: list
        elements: path
      upper:
        description: As O(nsforge.linux.nsmount#module:mounts[].upper).
        type: path
      work:
        description: As O(nsforge.linux.nsmount#module:mounts[].work).
        type: path
      state:
        description:
          - Only V(mounted), since the service's view holds the mounts it declares. V(absent) (which
            M(nsforge.linux.nsmount) takes to unmount in a node) is refused, naming the entry.
        type: str
        choices: [mounted, absent]
        default: mounted
      mkdir:
        description:
          - Create a missing mount point. It is created in the file system the service sees, which is the host's
            unless an earlier entry of O(mounts) put a tmpfs above it, so the folder stays on the host.
        type: bool
        default: true
  private:
    description:
      - Folders that get a tmpfs of their own in the service's view, a short way to write O(mounts) entries, such as
        C([/run, /tmp, /var/log]).
      - As O(nsforge.linux.nsmount#module:private), but the folders other than C(/tmp) and C(/var/tmp) are owned by
        the user and group the service runs as when it has O(user) (else by root).
      - Changing the list restarts the service, as any change of its configuration does.
    type: list
    elements: str
  map_root_user:
    description:
      - With C(user) V(new), map root inside to the first subordinate range of C(root) in C(/etc/subuid) and
        C(/etc/subgid) (65536 IDs at most), so root inside is an unprivileged ID outside.
    type: bool
    default: false
  init:
    description:
      - Run a minimal init (C(tini)) as PID 1 that forwards signals and reaps orphans. Defaults to V(true) with a new
        PID namespace. Without it the service itself is PID 1, and ignores C(TERM) unless it handles it.
    type: bool
  stop_signal:
    description: Signal that stops the service, by name (C(TERM), C(INT), C(QUIT), C(HUP), C(USR1), C(USR2), C(KILL)).
    type: str
    default: TERM
  stop_timeout:
    description: Seconds to wait after O(stop_signal) before C(KILL).
    type: float
    default: 10
  startup_check:
    description:
      - Seconds to watch a new service; one that exits within them is reported as failed, with its exit code and the
        tail of its stderr. One that exits later is reported by the next task (see RV(service.exit_code)).
    type: float
    default: 0.5
  timeout:
    description: For O(type=oneshot), seconds the command may run before it is killed and the task fails.
    type: float
    default: 300
  stdout:
    description:
      - File that the service's standard output is appended to; its folder must exist.
      - Defaults to C(/var/log/nsforge/<name>/stdout.log), and with O(supervisor=systemd) to the journal of the unit.
    type: path
  stderr:
    description:
      - File that the service's standard error is appended to; its folder must exist.
      - Defaults to C(/var/log/nsforge/<name>/stderr.log), and with O(supervisor=systemd) to the journal of the unit.
    type: path
  limits:
    description: Resource limits through cgroups.
    type: dict
    suboptions:
      memory:
        description: Memory limit in bytes, or with a suffix C(K), C(M), C(G) (powers of 1024), such as C(256M).
        type: str
      pids:
        description: Maximum number of processes and threads.
        type: int
      cpu:
        description: CPU time as a number of CPUs, such as C(0.5).
        type: float
  restart_on_change:
    description: Restart a running service whose declared configuration changed.
    type: bool
    default: true
  supervisor:
    description:
      - V(builtin) detaches the service and keeps its record, as described above; it does not survive reboot.
      - V(systemd) makes the service the systemd unit C(nsforge-service-<name>.service) in C(/etc/systemd/system),
        enabled for C(multi-user.target), so it starts at boot. The declaration (with O(env)) is kept root-only in
        C(/etc/nsforge/services/<name>.json); the unit (world-readable, without O(env)) joins the node's network
        namespace with C(NetworkNamespacePath=) (and IPC with C(IPCNamespacePath=)), requires and follows the node's
        unit C(nsforge-node@<node>.service), and runs the restore command C(/usr/local/sbin/nsforge-restore service
        <name>), which starts the service exactly as V(builtin) does (the other namespaces, ID maps, mounts, hostname,
        init, user, logs) and writes the PID file systemd follows (C(Type=forking)). O(type=oneshot) is a
        C(Type=oneshot) unit that stays active.
      - "From the declaration: O(stop_signal) is C(KillSignal=) (C(KillMode=mixed)), O(stop_timeout) C(TimeoutStopSec=),
        O(startup_check) and O(timeout) C(TimeoutStartSec=) (plus 30 s), O(limits) C(MemoryMax=), C(TasksMax=) and
        C(CPUQuota=) on the unit's own cgroup; a service is restarted by systemd when it fails (C(Restart=on-failure),
        C(RestartSec=1s)); its output goes to the journal of its unit (C(journalctl -u nsforge-service-<name>)), with the
        restore command's own messages (C(SyslogIdentifier=nsforge-<name>)), unless O(stdout) or O(stderr) name
        files; a tini that stops its child with O(stop_signal) exits with 128 + its number, which the unit counts as
        success (C(SuccessExitStatus=))."
      - Every node the service joins must be persisted (C(persist) of M(nsforge.linux.netns), M(nsforge.linux.nsmount),
        M(nsforge.linux.uidmap)), since the unit requires it at boot; C(service:<other>) in O(namespaces) is refused.
      - Needs systemd as PID 1 to start, stop and restart (C(systemctl)); elsewhere the task fails naming this option,
        unless O(install_only=true). C(systemctl daemon-reload) runs only when a unit changed.
      - Both supervisors take the same declaration and return the same fields. A service whose unit exists is
        refused with V(builtin) (remove it with O(state=absent) first).
    type: str
    choices: [builtin, systemd]
    default: builtin
  install_only:
    description:
      - With O(supervisor=systemd), write and enable the unit and the declaration (or, with O(state=absent), remove
        them) without starting, stopping or restarting the service through systemd now; it starts at the next boot.
        Works where systemd is not running, and shows the unit in check mode and diff.
      - With O(state=absent), a running service is stopped all the same (with C(systemctl stop) where systemd runs,
        else by its recorded PID).
    type: bool
    default: false
  services:
    description:
    - Many services in one task (one module process), each entry with the options of one service; mutually exclusive with
      O(name), and the options of a service go inside each entry (the task's O(state) is the default of each entry's).
    - Every entry is validated before anything changes; an entry may join a service that an earlier entry starts (C(service:<name>)
      in O(services[].namespaces)). The entries are then converged in their order, as tasks of one service would be, except
      that the startup checks (O(startup_check)) of up to 64 starts run at the same time, so a task of 300 services waits
      about half a second for them, not 300 times that.
    - A task whose new services would pass a kernel limit - C(kernel.pid_max) or C(kernel.threads-max) (three tasks
      a service - its keeper, its init and its program), or C(user.max_<kind>_namespaces) for the namespaces they
      create - fails before starting any, naming the limit, its value and the C(sysctl -w) that raises it.
    - 'When an entry fails (a step of its own, or its startup check), its own changes are undone as in a task of one service;
      every service that this task started from not running (absent, stopped or exited) is stopped again and its record
      put back as it was, including the entries after the failed one whose start was already under way; what the task
      restarted, stopped or removed, a one-shot command that ran, and services that systemd supervises stay as the task
      left them; the entries not yet begun are not touched. The failure names the entry and its option
      (V(services[39].command: ...)), and RV(services) lists, per entry, its C(name) and C(outcome): V(changed) (stays
      changed), V(unchanged), V(undone), V(failed) or V(not run).'
    type: list
    elements: dict
    suboptions:
      name:
        description: The service.
        type: str
        required: true
      state:
        description: As O(state); defaults to the task's O(state).
        type: str
        choices:
        - started
        - stopped
        - restarted
        - absent
      type:
        description: As O(type).
        type: str
        choices:
        - service
        - oneshot
        default: service
      command:
        description: As O(command).
        type: raw
      env:
        description: As O(env).
        type: dict
      cwd:
        description: As O(cwd).
        type: path
        default: /
      user:
        description: As O(user).
        type: str
      group:
        description: As O(group).
        type: str
      umask:
        description: As O(umask).
        type: str
      node:
        description: As O(node).
        type: str
      namespaces:
        description: As O(namespaces).
        type: dict
      hostname:
        description: As O(hostname).
        type: str
      mount_proc:
        description: As O(mount_proc).
        type: bool
      mounts:
        description: As O(mounts).
        type: list
        elements: dict
        suboptions: *mount_options
      private:
        description: As O(private).
        type: list
        elements: str
      uid_map:
        description: As O(uid_map).
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
        description: As O(gid_map).
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
      map_root_user:
        description: As O(map_root_user).
        type: bool
        default: false
      allow_host_root:
        description: As O(allow_host_root).
        type: bool
        default: false
      init:
        description: As O(init).
        type: bool
      stop_signal:
        description: As O(stop_signal).
        type: str
        default: TERM
      stop_timeout:
        description: As O(stop_timeout).
        type: float
        default: 10
      startup_check:
        description: As O(startup_check).
        type: float
        default: 0.5
      timeout:
        description: As O(timeout).
        type: float
        default: 300
      stdout:
        description: As O(stdout).
        type: path
      stderr:
        description: As O(stderr).
        type: path
      limits:
        description: As O(limits).
        type: dict
        suboptions:
          memory:
            description: Memory limit in bytes, or with a suffix C(K), C(M), C(G) (powers of 1024), such as C(256M).
            type: str
          pids:
            description: Maximum number of processes and threads.
            type: int
          cpu:
            description: CPU time as a number of CPUs, such as C(0.5).
            type: float
      restart_on_change:
        description: As O(restart_on_change).
        type: bool
        default: true
      supervisor:
        description: As O(supervisor).
        type: str
        choices:
        - builtin
        - systemd
        default: builtin
      install_only:
        description: As O(install_only).
        type: bool
        default: false
seealso:
  - module: nsforge.linux.netns
  - name: tini
    description: The minimal init used as PID 1.
    link: https://github.com/krallin/tini
'''

EXAMPLES = r'''
- name: Two nodes, each with its own address
  nsforge.linux.netns:
    namespaces:
      - name: red
        links:
          - {name: eth0, type: veth, addresses: [10.240.0.2/24], peer: {name: red0, addresses: [10.240.0.1/24]}}
      - name: blue
        links:
          - {name: eth0, type: veth, addresses: [10.240.1.2/24], peer: {name: blue0, addresses: [10.240.1.1/24]}}

- name: A web server on port 80 in each node; each is PID 1 (under tini) on its own machine
  nsforge.linux.nsproc:
    name: "web-{{ item }}"
    node: "{{ item }}"
    hostname: "{{ item }}"
    command: [python3, -m, http.server, "80", --directory, /srv/www]
    mounts:
      - {src: "/srv/{{ item }}", dst: /srv/www, ro: true}
    limits: {memory: 128M, pids: 64}
  loop: [red, blue]
  register: webs

- name: Read the web server's status by the program's PID (service.pid is tini's, PID 1 inside)
  ansible.builtin.command:
    argv: [grep, -E, "^(Name|NSpid|VmRSS):", "/proc/{{ web.service.program_pid }}/status"]
  vars:
    web: "{{ webs.results[0] }}"
  changed_when: false

- name: A service with private /run, /tmp and /var/log (the first and last owned by www-data) and a spool tmpfs
  nsforge.linux.nsproc:
    name: web-spool
    user: www-data
    private: [/run, /tmp, /var/log]
    mounts:
      - {dst: /var/spool/web, type: tmpfs, size: 16m, mode: "0750", owner: www-data, group: www-data}
      - {dst: /etc/app, src: /srv/config/web, readonly: true}   # readonly: an alias of ro
    command: [python3, -m, http.server, "8080"]

- name: A sidecar sharing web-red's network namespace (reaches it on localhost), with its own PID namespace
  nsforge.linux.nsproc:
    name: web-red-probe
    namespaces:
      net: service:web-red
    command: [sleep, infinity]

- name: Root inside, an unprivileged ID outside
  nsforge.linux.nsproc:
    name: sandboxed
    namespaces: {user: new}
    uid_map: [{inside: 0, outside: 100000, count: 65536}]
    command: [sleep, infinity]

- name: A one-shot command in a node, run once per configuration
  nsforge.linux.nsproc:
    name: seed-red
    type: oneshot
    node: red
    command: [ip, -br, addr]

- name: A service that systemd supervises and starts at boot, in a node that survives reboot
  nsforge.linux.nsproc:
    name: web-red
    node: red                          # red is declared with persist: true (nsforge.linux.netns)
    supervisor: systemd
    command: [python3, -m, http.server, "80"]
    limits: {memory: 128M}             # MemoryMax= of nsforge-service-web-red.service

- name: One service per node of a lab, in one task (their startup checks overlap)
  nsforge.linux.nsproc:
    services:
      - {name: agent-r1, node: r1, command: [sleep, infinity]}
      - {name: agent-r2, node: r2, command: [sleep, infinity]}
      - {name: agent-r3, node: r3, command: [sleep, infinity]}

- name: A pod - two services sharing one network namespace, in one task
  nsforge.linux.nsproc:
    services:
      - name: pod-app
        command: [python3, -m, http.server, "8080"]
        namespaces: {net: new}
      - name: pod-sidecar
        command: [sleep, infinity]
        namespaces: {net: "service:pod-app"}   # started by the entry above

- name: Stop a service
  nsforge.linux.nsproc:
    name: web-red
    state: stopped

- name: Remove it
  nsforge.linux.nsproc:
    name: web-red
    state: absent
'''

RETURN = r'''
changes:
  description: What the task did or, in check mode, would do.
  returned: always
  type: list
  elements: str
  sample: ["service web-red: start [python3 -m http.server 80]"]
service:
  description: The service after the task (before it, in check mode).
  returned: with O(name)
  type: dict
  contains:
    name:
      description: The service.
      type: str
    status:
      description: V(running), V(stopped) (stopped by this collection), V(exited) (ended on its own, or a one-shot
        that ran), or V(absent) (no record).
      type: str
      sample: running
    pid:
      description:
        - Host PID of the service's first process while it runs, or null - the init (tini) when the service has
          one (O(init)), else the program itself. With O(supervisor=builtin) its parent is the service's keeper
          (C(sleep infinity)), with O(supervisor=systemd) the unit's main process.
      type: int
    ns_pid:
      description: The same process's PID inside its PID namespace (1 with a new PID namespace).
      type: int
    program_pid:
      description:
        - Host PID of the declared program (the command's process, such as the nginx master or the postmaster)
          while the service runs, or null - the init's child when the service has an init, else the same as
          RV(service.pid). Signal or trace the program by this PID; C(/proc/<program_pid>/cmdline) is the command
          (under an init, with the program's path as found on C(PATH) for its first word).
      type: int
      sample: 81236
    program_ns_pid:
      description:
        - The program's PID inside its PID namespace (the last field of the C(NSpid) line of
          C(/proc/<program_pid>/status)) - 2 under an init that is PID 1, 1 without an init in a new PID namespace.
      type: int
      sample: 2
    start_time:
      description: Start time of that PID in clock ticks since boot (field 22 of C(/proc/<pid>/stat)).
      type: int
    namespaces:
      description: Namespace inode per kind (C(net), C(pid), C(uts), C(ipc), C(mnt), C(user), C(cgroup), C(time)),
        as C(lsns) shows them; compare them to see which namespaces two services share.
      type: dict
      sample: {"net": 4026532284, "pid": 4026532290}
    mnt_parent:
      description: Inode of the mount namespace whose mounts the service's own view follows (a node's, another
        service's or the host's), or null for a private copy (C(mnt) V(new)) or a joined view shared as it is.
      type: int
      sample: 4026532291
    hostname:
      description: Hostname inside the service's UTS namespace.
      type: str
    stdout:
      description: Path of the standard output log; null when it goes to the journal (O(supervisor=systemd) without O(stdout)).
      type: str
    stderr:
      description: Path of the standard error log; null when it goes to the journal (O(supervisor=systemd) without O(stderr)).
      type: str
    exit_code:
      description:
        - How the service ended, when RV(service.status=exited) - a one-shot command's code, or a service's code
          read from its keeper (128 + the signal number when a signal ended it). Null while it runs, and when the
          code is lost because its keeper was ended from outside.
      type: int
    exit_signal:
      description: The signal that ended an exited service, or null.
      type: int
    stderr_tail:
      description: The last 2 KiB of what an exited service wrote to its stderr log in its last run, when it failed and wrote any.
      type: str
    crashes:
      description:
        - How many times in a row O(state=started) found the service exited (not stopped) and started it again;
          0 after a start from stopped or absent, or a restart because the configuration changed.
      type: int
    previous_exit:
      description: How the run before the current one ended, when nsproc started the service again after it exited.
      type: dict
      sample: {"exit_code": 3, "exit_signal": null, "stderr_tail": "crash: disk full", "at": 1795449015.1}
    config_hash:
      description: SHA-256 of the declared configuration the service was started with.
      type: str
unit:
  description: With O(supervisor=systemd), the service's systemd unit after the task (as it would be, in check mode);
    null with O(supervisor=builtin).
  returned: with O(name)
  type: dict
  contains:
    name:
      description: The unit's name.
      type: str
      sample: nsforge-service-web-red.service
    path:
      description: The unit file.
      type: str
      sample: /etc/systemd/system/nsforge-service-web-red.service
    present:
      description: Whether the unit file exists.
      type: bool
    enabled:
      description: Whether the unit is enabled (linked from C(multi-user.target.wants)).
      type: bool
services:
  description:
    - With O(services), one element per entry, in their order - the fields of RV(service) for that service (after
      the task; before it, in check mode), with C(changed) and C(changes) of that entry, and C(unit) (as RV(unit))
      for an entry with O(services[].supervisor=systemd).
    - When the task fails, the failed result has RV(services) too, with C(name) and C(outcome) per entry (see
      O(services)).
  returned: with O(services)
  type: list
  elements: dict
  sample: [{"name": "web1", "status": "running", "pid": 81234, "ns_pid": 1, "program_pid": 81236,
            "program_ns_pid": 2, "changed": true,
            "changes": ["service web1: start [python3 -m http.server 80]"]}]
'''

from ansible_collections.nsforge.linux.plugins.module_utils.module import run_module
from ansible_collections.nsforge.linux.plugins.module_utils import bulk, specs, supervisors
# imported so that AnsiballZ carries the restore command, which persist: true installs on the host
from ansible_collections.nsforge.linux.plugins.module_utils import restore  # pylint: disable=unused-import


def main():
    run_module(specs.nsproc(), lambda module, session: supervisors.converge(module.params, module.check_mode),
               needs_pyroute2=False, echoed=bulk.echoed({'services': 'name'}))


if __name__ == '__main__':
    main()
