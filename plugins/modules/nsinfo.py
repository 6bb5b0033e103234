#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: nsinfo
short_description: Namespaces, nodes and services on a host, with the network inside each namespace
version_added: 0.1.0
author:
  - nsforge developers (@nsforge)
description:
  - Reports what exists and never changes anything. It is the C(lsns) and C(ip netns list) of a playbook.
  - Every namespace on the host, as C(lsns) lists them, with its kind, inode, owning user namespace, number of
    processes, the lowest PID in it with its command, and the paths that pin it. Namespaces that only a bind mount
    keeps alive (for example C(ip netns add) ones and the nodes of this collection) are reported too, with no
    processes; C(lsns) from util-linux 2.38 leaves those out.
  - The nodes that this collection manages (M(nsforge.linux.netns), M(nsforge.linux.uidmap), M(nsforge.linux.nsmount)),
    with the kinds and paths of their pinned namespaces, their hostname and the services in them.
  - The services that M(nsforge.linux.nsproc) manages, with their status, PIDs and namespace inodes.
  - The timelines of faults that M(nsforge.linux.netns) runs, with their progress (running, the current and the next
    event).
  - With O(network=true), the interfaces, addresses and routes inside each network namespace reported.
  - Reads C(/proc) in one pass (a C(readlink) per process and kind), C(/proc/self/mountinfo) once, and opens one
    netlink socket per network namespace reported, from this process. It starts no process, so it stays fast on a host
    with thousands of namespaces.
  - "What is seen is what this module sees: processes of other PID namespaces are invisible to a module that runs in a
    child PID namespace, as they are to C(lsns)."
requirements:
  - root on the managed host
  - pyroute2 >= 0.9.1 when O(network=true)
extends_documentation_fragment:
  - nsforge.linux.attributes.info_module
options:
  kinds:
    description:
      - Kinds of namespace to list in RV(namespaces). All by default.
      - Does not filter RV(nodes) or RV(services).
    type: list
    elements: str
    choices: [net, uts, ipc, mnt, pid, user, cgroup, time]
  node:
    description:
      - Report only this node, its namespaces, and the services that share one of them.
      - An unknown node gives empty results, so that a playbook can assert that a node is gone.
    type: str
  service:
    description:
      - Report only this service, the namespaces its process is in (while it runs), and the nodes whose namespaces
        it shares.
    type: str
  network:
    description:
      - Read the interfaces, addresses and routes of each network namespace reported, and of each node.
      - V(false) skips netlink altogether, for the fastest listing.
    type: bool
    default: true
notes:
  - Addresses and routes leave out IPv6 link-local ones, as the facts of M(nsforge.linux.netns) do.
  - A namespace's RV(namespaces[].pid), RV(namespaces[].ppid), RV(namespaces[].command) and RV(namespaces[].uid) are
    those of the lowest PID in it, as in C(lsns).
seealso:
  - module: nsforge.linux.netns
  - module: nsforge.linux.nsproc
  - name: lsns(8)
    description: The util-linux tool whose listing RV(namespaces) follows.
    link: https://man7.org/linux/man-pages/man8/lsns.8.html
'''

EXAMPLES = r'''
- name: Everything on the host
  nsforge.linux.nsinfo:
  register: info

- name: Show each node with its hostname and addresses
  ansible.builtin.debug:
    msg: >-
      {{ item.key }} ({{ item.value.hostname }}):
      {{ item.value.network.interfaces | map(attribute='addresses') | flatten | join(', ') }}
  loop: "{{ info.nodes | dict2items }}"

- name: One node, to check what a play built
  nsforge.linux.nsinfo:
    node: web-a
  register: web_a

- name: The node has its own hostname and its web server runs in it
  ansible.builtin.assert:
    that:
      - web_a.nodes['web-a'].hostname == 'web-a'
      - "'10.231.1.10/24' in web_a.nodes['web-a'].network.interfaces | map(attribute='addresses') | flatten"
      - "'web-a-http' in web_a.nodes['web-a'].services"

- name: Network and PID namespaces only, without netlink
  nsforge.linux.nsinfo:
    kinds: [net, pid]
    network: false
  register: quick

- name: How many PID namespaces hold processes
  ansible.builtin.debug:
    msg: "{{ quick.namespaces | selectattr('kind', 'equalto', 'pid') | selectattr('nprocs', 'gt', 0) | list | length }}"

- name: Is a node gone?
  nsforge.linux.nsinfo:
    node: lab-old
    network: false
  register: old

- name: Nothing left of it
  ansible.builtin.assert:
    that:
      - old.nodes == {}
      - old.namespaces == []
'''

RETURN = r'''
namespaces:
  description: The namespaces, sorted by inode, as C(lsns --json) lists them (with the pinned-only ones added).
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: V(net), V(uts), V(ipc), V(mnt), V(pid), V(user), V(cgroup) or V(time) (C(lsns) column C(TYPE)).
      type: str
      sample: net
    inode:
      description: The namespace's inode (C(lsns) column C(NS)).
      type: int
      sample: 4026532284
    owner:
      description: Inode of the user namespace that owns it (C(ONS)), or null when the owner is outside what this
        module sees (C(lsns) shows 0).
      type: int
      sample: 4026531837
    parent:
      description: For C(pid) and C(user) namespaces, the inode of the parent namespace (C(PNS)), or null.
      type: int
    nprocs:
      description: Number of processes in it (C(NPROCS)); 0 when only a bind mount keeps it alive.
      type: int
      sample: 3
    pid:
      description: Lowest PID in it, or null.
      type: int
    ppid:
      description: Parent PID of that process, or null.
      type: int
    command:
      description: Command line of that process, arguments joined by spaces (its name when it has no command line).
      type: str
      sample: python3 -m http.server 80
    uid:
      description: Owner UID of that process.
      type: int
    paths:
      description: The paths where a bind mount pins it (C(NSFS)) and this module can open it there, sorted.
      type: list
      elements: str
      sample: [/run/netns/web-a]
    reachable:
      description:
        - False for a namespace that only pins out of reach keep alive (see RV(namespaces[].unreachable_paths)).
          Nothing inside it can be read, so RV(namespaces[].owner), RV(namespaces[].parent) and
          RV(namespaces[].network) are null.
      type: bool
      sample: true
    unreachable_paths:
      description:
        - Pins that the mount table lists but that cannot be opened at their path, each with the C(path) and the
          C(reason), such as C(hidden by a later mount on /run) (a machine's pins under a container's fresh
          C(/run)). They are reported, never used.
      type: list
      elements: dict
      sample: [{path: /run/netns/lan, reason: hidden by a later mount on /run}]
    node:
      description: The node whose namespace it is, or null.
      type: str
      sample: web-a
    services:
      description: The services of M(nsforge.linux.nsproc) whose process is in it.
      type: list
      elements: str
    host:
      description: True for the namespaces that this module runs in (the host's, from the playbook's point of view).
      type: bool
    network:
      description: For C(net) namespaces with O(network=true), the interfaces and routes inside, as in RV(nodes).
      type: dict
      returned: for network namespaces, when O(network=true)
nodes:
  description: The nodes on the host, by name.
  returned: always
  type: dict
  sample:
    web-a:
      name: web-a
      kinds: [net, uts]
      namespaces:
        net: {path: /run/netns/web-a, inode: 4026532284}
        uts: {path: /run/nsforge/nodes/web-a/uts, inode: 4026532285}
      hostname: web-a
      services: [web-a-http]
      etc_netns: [hosts, resolv.conf]
      network:
        interfaces:
          - {name: lo, index: 1, type: loopback, state: up, mtu: 65536, mac: "00:00:00:00:00:00", master: null,
             addresses: [127.0.0.1/8, "::1/128"]}
          - {name: eth0, index: 2, type: veth, state: up, mtu: 1500, mac: "8a:1f:00:3c:2b:10", master: null,
             addresses: [10.231.1.10/24], impairment: {delay: 40ms, loss: 1%, limit: 1000}}
        routes:
          - {family: 4, dst: 10.231.1.0/24, gateway: null, dev: eth0, metric: 0, table: 254}
  contains:
    name:
      description: The node.
      type: str
    kinds:
      description: The kinds of namespace the node has pinned, in the order net, uts, mnt, user.
      type: list
      elements: str
    namespaces:
      description: Per kind, the C(path) that pins the namespace and its C(inode).
      type: dict
    hostname:
      description: Hostname of the node's UTS namespace, or null when it has none.
      type: str
    services:
      description: Services whose process shares one of the node's namespaces.
      type: list
      elements: str
    etc_netns:
      description: Files in C(/etc/netns/<node>/), which C(ip netns exec) binds over C(/etc).
      type: list
      elements: str
    network:
      description: With O(network=true) and a network namespace, its C(interfaces) and C(routes), with the same
        fields as the RV(nsforge.linux.netns#module:node.interfaces) and
        RV(nsforge.linux.netns#module:node.routes) facts of M(nsforge.linux.netns); else null.
      type: dict
services:
  description: The services of M(nsforge.linux.nsproc), by name.
  returned: always
  type: dict
  contains:
    name:
      description: The service.
      type: str
    type:
      description: V(service) or V(oneshot).
      type: str
    status:
      description: V(running), V(stopped), V(exited) or V(absent), as M(nsforge.linux.nsproc) reports it.
      type: str
    pid:
      description: Host PID of its first process while it runs (the init when it has one), else null.
      type: int
    ns_pid:
      description: The same process's PID inside its PID namespace (1 with a PID namespace of its own).
      type: int
    program_pid:
      description: Host PID of its program while it runs (the init's child, or the first process without an init),
        else null, as RV(nsforge.linux.nsproc#module:service.program_pid) of M(nsforge.linux.nsproc).
      type: int
    program_ns_pid:
      description: The program's PID inside its PID namespace (2 under an init, 1 without one in a PID namespace
        of its own).
      type: int
    start_time:
      description: Start time of that PID in clock ticks since boot.
      type: int
    namespaces:
      description: Namespace inode per kind while it runs.
      type: dict
    namespace_modes:
      description: Per kind, V(new) (its own), V(host) (the host's) or V(join) (a node's or another service's).
      type: dict
    node:
      description: The node whose network namespace it runs in, or null.
      type: str
    hostname:
      description: Hostname inside it.
      type: str
    stdout:
      description: Path of its standard output log.
      type: str
    stderr:
      description: Path of its standard error log.
      type: str
    exit_code:
      description: How an exited service ended (as M(nsforge.linux.nsproc) reports it), or null.
      type: int
    exit_signal:
      description: The signal that ended an exited service, or null.
      type: int
    stderr_tail:
      description: The last 2 KiB of an exited service's stderr log in its last run, when it failed.
      type: str
    crashes:
      description: How many times in a row nsproc found it exited and started it again.
      type: int
    previous_exit:
      description: How the run before the current one ended, when nsproc started it again after it exited.
      type: dict
    config_hash:
      description: SHA-256 of the declared configuration it was started with.
      type: str
timelines:
  description:
    - The timelines of faults of M(nsforge.linux.netns) (its O(nsforge.linux.netns#module:timeline) option) recorded on
      the host, by name, each with its runner's progress. With O(node), those that drive an interface of the node;
      with O(service), none.
  returned: always
  type: list
  elements: dict
  sample:
    - name: flaps
      state: running
      pid: 4711
      started: 1796212592.141
      elapsed: 35.2
      done: 3
      total: 61
      current: "r1:eth1 up (step 1, 1 of 30, end of hold)"
      next: "r1:eth1 down (step 1, 2 of 30)"
      next_at: 1796212642.141
      links: ["r1:eth1"]
      log: /run/nsforge/timelines/flaps.log
  contains:
    name:
      description: The timeline.
      type: str
    state:
      description:
        - V(running) while its runner runs; V(finished) after its last event (every driven interface back to its
          declared state and impairment); V(stopped) when its runner was stopped (SIGTERM) before its end, which set
          the interfaces back too.
        - V(died) when its runner is gone before the end without having stopped (killed, or the host's processes
          ended): the interfaces are as its last event left them. Running the M(nsforge.linux.netns) task again
          resumes it at the clock's offset.
      type: str
      choices: [running, finished, stopped, died]
    pid:
      description: Host PID of its runner while it runs, else null.
      type: int
    started:
      description: When the timeline started, in seconds since the epoch; offsets of its steps count from it.
      type: float
    elapsed:
      description: Seconds since it started (until it finished or stopped, for those).
      type: float
    done:
      description: Events done (each step's change, and each end of a hold, is one event; the last one sets the
        interfaces back as declared).
      type: int
    total:
      description: Events in all.
      type: int
    current:
      description: The last event done, in words (such as C(r1:eth1 down (step 1, 3 of 30))), or null before the first.
      type: str
    next:
      description: The next event in words while it runs, else null.
      type: str
    next_at:
      description: When the next event is due, in seconds since the epoch, while it runs, else null.
      type: float
    links:
      description: The interfaces it drives, as C(NODE:IFNAME).
      type: list
      elements: str
    log:
      description: Its runner's log (each event, and each command that failed).
      type: str
host:
  description: The module's own process and the inode of each of its namespaces, which is what "the host" means
    in the other results.
  returned: always
  type: dict
  sample: {"pid": 4242, "namespaces": {"net": 4026531840, "uts": 4026531838}}
'''

from ansible_collections.nsforge.linux.plugins.module_utils.module import run_module
from ansible_collections.nsforge.linux.plugins.module_utils import nsinfo_engine, specs


def main():
    run_module(specs.nsinfo(), nsinfo_engine.converge,
               needs_pyroute2=lambda params: params['network'])


if __name__ == '__main__':
    main()
