#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: netns
short_description: Declare network namespaces with their links, addresses, routes, sysctls and DNS files
version_added: 0.1.0
author:
  - nsforge developers (@nsforge)
description:
  - Declares the network of one node, or of many nodes at once with O(namespaces).
    A node's network namespace is pinned at C(/run/netns/<name>) exactly as C(ip netns add) makes it, so
    C(ip netns exec), C(ip -n), C(nsenter --net=) and systemd's C(NetworkNamespacePath=) all work on it.
  - Reads the actual state through netlink inside each namespace, compares it with the declared state and changes
    only what differs (an address added, a route replaced); an existing namespace is never deleted and recreated.
  - One task can declare a whole lab with O(namespaces). The module orders the work itself (namespaces, then links,
    then addresses, then routes, then sysctls and files), so a veth whose peer lives in a node declared later in the
    same list works.
  - When a step fails, the steps this task already applied are undone before the task fails.
  - A drop-in superset of C(community.general.ip_netns) (O(name), O(state)), matching names exactly, so an existing
    C(mario2) never hides C(mario), and reporting C(changed) in check mode only when a change would happen.
  - Addresses are added without duplicate address detection (IPv6 C(nodad)), so they are usable at once.
requirements:
  - pyroute2 >= 0.9.1 on the managed host
  - root on the managed host
notes:
  - Node names are one safe path component, at most 255 bytes of ASCII letters, digits, C(_), C(-) and C(.),
    not starting with C(.) or C(-).
  - Files of a node are C(/run/netns/<name>) (network namespace), C(/run/nsforge/nodes/<name>/uts) (UTS namespace,
    when O(hostname) is set), C(/etc/netns/<name>/resolv.conf) and C(/etc/netns/<name>/hosts), and the lock
    C(/run/nsforge/locks/<name>.lock).
  - Attributes that are not given are not managed; O(purge=true) also removes what is not declared.
  - A veth is declared once, on one of its ends. With O(purge=true), the far end of a veth declared by another node
    is recognised by its interface alias C(nsforge-peer-of:<node>/<interface>) and left alone.
  - With O(persist), check mode and diff show the record, the unit and its links as files.
  - "Kernel limits are checked before anything changes (also in check mode), so a large lab does not stop halfway:
    a Linux bridge takes at most 1023 ports (fixed; the task fails naming the link that would be the 1024th, counting
    the bridge's ports that stay); the network and UTS namespaces the task creates must fit in
    C(user.max_net_namespaces) and C(user.max_uts_namespaces) (the count in use is an estimate: the namespaces that
    processes are in or that nsfs mounts pin, owned by this user namespace or one below it); and the neighbour entries
    that the gateways of the task's bridges need (per bridge, its hosts less one) must fit in
    C(net.ipv4.neigh.default.gc_thresh3) and C(net.ipv6.neigh.default.gc_thresh3), one table for every network
    namespace (checked only where the module runs in the host's network namespace, the only one that shows them).
    The message names the limit, the count and the C(sysctl -w) that raises it."
  - The result's C(invocation) (which ansible-core before 2.21 returns, and 2.21 with C(ANSIBLE_INJECT_INVOCATION))
    lists the nodes of O(namespaces) by name instead of echoing every option of every node.
  - In check mode the diff's C(after) is predicted, with what the kernel does as a consequence (the far end of a
    deleted veth goes, the ports of a deleted bridge are let go, routes through a link that goes or goes down are
    dropped, a link set down loses its IPv6 addresses). What the kernel chooses is null there (the MAC of a new
    link, the MTU and MAC of a bridge whose ports change, unless declared), or C(dev ?) in a route (the link of a
    gateway that several links reach).
extends_documentation_fragment:
  - nsforge.linux.attributes
options:
  name:
    description:
      - The node whose network namespace is declared; C(/run/netns/<name>).
      - Mutually exclusive with O(namespaces).
    type: str
  state:
    description:
      - V(present) creates the namespace when missing and converges it to the declaration.
      - V(absent) deletes every interface inside it (so veth peers outside vanish too), unpins the namespace, and
        removes its UTS handle and its C(/etc/netns/<name>) folder.
      - With O(namespaces), the default state of each entry.
    type: str
    choices: [present, absent]
    default: present
  loopback:
    description:
      - Bring C(lo) up inside the namespace. Defaults to V(true).
    type: bool
  hostname:
    description:
      - Give the node a persistent UTS namespace with this hostname, pinned at C(/run/nsforge/nodes/<name>/uts).
      - When omitted, an existing UTS namespace of the node is left alone.
    type: str
  links:
    description:
      - Interfaces inside the namespace.
    type: list
    elements: dict
    suboptions: &link_options
      name:
        description: Interface name, at most 15 bytes, without C(/), C(:) or whitespace.
        type: str
        required: true
      type:
        description: Kind of interface. A link that exists with another type or other fixed properties (vlan id,
          parent, vni, port, veth peer, a vxlan's multicast group or underlay) is deleted and created again; a vxlan's
          unicast O(links[].remote) and O(links[].local) change in place.
        type: str
        required: true
        choices: [veth, bridge, dummy, vlan, macvlan, vxlan]
      addresses:
        description:
          - IPv4 and IPv6 addresses with prefix length, such as C(10.0.0.1/24) or C(fd00:1::1/64).
          - Missing addresses are added; others are removed only with O(purge=true).
        type: list
        elements: str
      mtu:
        description: MTU, 68 to 65535.
        type: int
      mac:
        description: Unicast MAC address, such as C(02:00:00:00:00:01).
        type: str
      state:
        description: Administrative state.
        type: str
        choices: [up, down]
        default: up
      master:
        description: A bridge in the same namespace that this interface is attached to.
        type: str
      peer:
        description:
          - For O(links[].type=veth), the other end. Required for a veth.
        type: dict
        suboptions:
          name:
            description: Name of the peer interface.
            type: str
            required: true
          netns:
            description:
              - The node the peer lives in, existing or declared in the same task.
              - Omitted, the peer stays in the host's own network namespace.
            type: str
          addresses:
            description: Addresses of the peer, as for O(links[].addresses).
            type: list
            elements: str
          master:
            description: A bridge in the peer's namespace that the peer is attached to.
            type: str
          mtu:
            description: MTU of the peer.
            type: int
          impairment:
            description:
              - How the peer misbehaves on what it sends, as O(links[].impairment) for this end of the veth.
            type: dict
            suboptions: &impairment_options
              delay:
                description: The time each packet is held, such as C(40ms).
                type: str
              jitter:
                description: Random variation of the delay, up to the delay itself, such as C(5ms); needs O(links[].impairment.delay).
                type: str
              correlation:
                description: How much each packet's jitter depends on the previous one's, such as C(25%); needs O(links[].impairment.jitter).
                type: str
              distribution:
                description: The shape of the jitter; needs O(links[].impairment.jitter). Defaults to V(uniform).
                type: str
                choices: [uniform, normal, pareto, paretonormal]
              loss:
                description: Probability of dropping each packet at random, such as C(1%).
                type: str
              loss_correlation:
                description: How much each drop depends on the previous packet's fate, such as C(25%) (bursts of loss).
                type: str
              gemodel:
                description:
                  - Loss in bursts, by the Gilbert-Elliott model of two states; instead of O(links[].impairment.loss).
                type: dict
                suboptions:
                  p:
                    description: Probability of going from the good state to the bad one, per packet, such as C(1%).
                    type: str
                    required: true
                  r:
                    description: Probability of going back from the bad state to the good one. Defaults to C(100%).
                    type: str
                  loss_bad:
                    description: Probability of losing a packet in the bad state. Defaults to C(100%).
                    type: str
                  loss_good:
                    description: Probability of losing a packet in the good state. Defaults to C(0%).
                    type: str
              duplicate:
                description: Probability of sending a packet twice, such as C(1%).
                type: str
              duplicate_correlation:
                description: Correlation of O(links[].impairment.duplicate) with the previous packet.
                type: str
              corrupt:
                description: Probability of flipping a random bit of a packet, such as C(0.1%).
                type: str
              corrupt_correlation:
                description: Correlation of O(links[].impairment.corrupt) with the previous packet.
                type: str
              reorder:
                description:
                  - Probability of sending a packet at once, ahead of the delayed ones (so out of order), such as C(25%); needs
                    O(links[].impairment.delay) to have any effect.
                type: str
              reorder_correlation:
                description: Correlation of O(links[].impairment.reorder) with the previous packet.
                type: str
              gap:
                description: With O(links[].impairment.reorder), reorder only every Nth packet.
                type: int
              rate:
                description:
                  - netem's rate, such as C(1mbit) - each packet takes the time it would need on a link of that speed (the
                    delay grows with the packet's size); packets beyond netem's queue (O(links[].impairment.limit)) are dropped.
                type: str
              limit:
                description: Length of netem's queue, in packets. Defaults to C(1000).
                type: int
              bandwidth:
                description:
                  - A cap on the rate at which the interface sends, such as C(10mbit), by a token bucket (tbf) that holds 10 ms
                    of the rate (at least 10,000 bytes) and lets a packet wait up to 100 ms before dropping it. Works without netem.
                type: str
      vlan_id:
        description: For O(links[].type=vlan), the VLAN id, 1 to 4094.
        type: int
      link:
        description:
          - The parent interface in the same namespace, for O(links[].type=vlan) and O(links[].type=macvlan) (required),
            and the underlay interface for O(links[].type=vxlan) (optional).
        type: str
      mode:
        description: For O(links[].type=macvlan), the mode; defaults to V(bridge).
        type: str
        choices: [bridge, private, vepa, passthru, source]
      vni:
        description: For O(links[].type=vxlan), the VXLAN network identifier, 1 to 16777215.
        type: int
      remote:
        description: For O(links[].type=vxlan), the unicast address of the remote tunnel end.
        type: str
      group:
        description: For O(links[].type=vxlan), a multicast group; needs O(links[].link).
        type: str
      local:
        description: For O(links[].type=vxlan), the local tunnel address.
        type: str
      dstport:
        description: For O(links[].type=vxlan), the UDP destination port; defaults to C(4789).
        type: int
      underlay:
        description:
          - For O(links[].type=vxlan), the namespace of the tunnel's UDP socket. V(node) (the default) creates the
            device inside the node, whose own interfaces carry the tunnel. V(host) creates it from the host's
            namespace and places it into the node, so the node's interface is one end of a tunnel that the host's
            network carries to another host (O(links[].local) and O(links[].remote) are host addresses, and
            O(links[].link) names an interface of the host).
          - A VNI is unique per underlay namespace and port; a second device with the same ones fails naming O(links[].vni).
          - A device whose underlay differs is deleted and created again.
        type: str
        choices: [node, host]
      impairment:
        description:
          - How the interface misbehaves on what it B(sends) (its egress), as a lab declares a real network's faults (delay,
            jitter, loss, duplication, corruption, reordering, a rate and a bandwidth cap). Omitted, nothing is changed
            unless the collection set an impairment here before, which is then removed (with O(purge), any netem or tbf
            root qdisc goes).
          - Values are text with their units, as people write them. Times C(20ms), C(1.5s), C(250us); percentages
            C(1.5%); rates in bits per second C(10mbit), C(1.5gbit), C(64kbit) (C(bps) forms are refused, since tc reads
            them as bytes per second).
          - Everything but O(links[].impairment.bandwidth) is a netem qdisc at the root of the interface (handle C(4e10:)
            to C(4e13:)), which needs a kernel with netem (C(CONFIG_NET_SCH_NETEM), module C(sch_netem)); a kernel without
            it makes the task fail naming the option before anything changes. O(links[].impairment.bandwidth) is a token
            bucket (tbf, handle C(4e20:)), under netem or alone at the root.
          - The impairment is read back from the kernel (one dump of the namespace's qdiscs) and compared value by value;
            a difference is changed in place (C(tc qdisc change), which keeps the queue and its counters), except a new
            O(links[].impairment.distribution), which replaces the netem qdisc. A veth's two ends each take their own, so
            O(links[].impairment.delay=20ms) on both ends gives a 40 ms round trip.
          - While a O(timeline) runs, the links it drives keep the state and impairment it gives them; the declared ones
            come back when it ends.
        type: dict
        suboptions: *impairment_options
  routes:
    description:
      - Routes inside the namespace. A route is identified by its table, destination and metric; one that exists with
        another gateway or device is replaced.
    type: list
    elements: dict
    suboptions: &route_options
      dst:
        description:
          - Destination network in CIDR form (host bits clear), or V(default) (IPv4, or IPv6 when the gateway is IPv6).
        type: str
        required: true
      gateway:
        description: Next hop address.
        type: str
      dev:
        description: Outgoing interface. A route needs a gateway, a device, or both.
        type: str
      metric:
        description: Route metric; defaults to 0 for IPv4 and 1024 for IPv6, as C(ip route) does.
        type: int
      table:
        description: Routing table id; defaults to the main table (254).
        type: int
  sysctl:
    description:
      - Settings under C(net.) applied inside the namespace, such as C(net.ipv4.ip_forward=1).
        Write an interface name with a dot as C(net.ipv4.conf.eth0/10.forwarding), as C(sysctl) does.
    type: dict
  nameservers:
    description:
      - Name servers written to C(/etc/netns/<name>/resolv.conf), which C(ip netns exec) binds over C(/etc/resolv.conf).
    type: list
    elements: str
  search:
    description:
      - Search domains written to C(/etc/netns/<name>/resolv.conf).
    type: list
    elements: str
  hosts:
    description:
      - Host names and their addresses written to C(/etc/netns/<name>/hosts), after C(localhost) lines
        (and C(127.0.1.1) with the node's O(hostname) when it is not listed).
      - "A dict from name to address, such as C({r1: 10.0.0.1})."
    type: dict
  purge:
    description:
      - Remove links, addresses and static routes inside the namespace that are not declared, and detach interfaces
        from a bridge when no O(links[].master) is declared. C(lo), its addresses and IPv6 link-local addresses are
        never removed.
      - With O(namespaces), the default of each entry.
    type: bool
    default: false
  persist:
    description:
      - Survive reboot. V(true) records the node's declaration (the options of this task for the node) in
        C(/etc/nsforge/nodes/<name>.json) (root only, written atomically) and enables the instance
        C(nsforge-node@<escaped name>.service) of the systemd template C(/etc/systemd/system/nsforge-node@.service),
        which recreates the node at boot, before C(network-pre.target) and C(network-online.target), with the restore
        command C(/usr/local/sbin/nsforge-restore) that the module installs with its engine under
        C(/usr/local/lib/nsforge/). No Ansible run is needed at boot.
      - A node whose veth peer is in another node can be persisted only with that node (declared with
        O(persist=true) in the same task, or persisted before); its restore recreates both.
      - V(false) removes the record (the module's section of it) and, with the record's last section, the unit
        instance; the template goes with the last persisted node. O(state=absent) does the same.
      - Omitted, an existing record is left as it is; declare O(persist=true) in every task that changes a persisted node.
      - The record holds this module's declaration of the node; C(nsforge.linux.nsmount) and C(nsforge.linux.uidmap)
        add their sections with their own C(persist) option.
      - C(systemctl daemon-reload) runs only when a unit file or link changed, and only where systemd is PID 1.
      - With O(namespaces), the default of each entry.
    type: bool
  namespaces:
    description:
      - Many nodes in one task, each entry with the options of one node.
      - Mutually exclusive with O(name) and the other node options, which go inside each entry.
    type: list
    elements: dict
    suboptions:
      name:
        description: The node.
        type: str
        required: true
      state:
        description: As O(state); defaults to the task's O(state).
        type: str
        choices: [present, absent]
      loopback:
        description: As O(loopback).
        type: bool
      hostname:
        description: As O(hostname).
        type: str
      links:
        description: As O(links).
        type: list
        elements: dict
        suboptions: *link_options
      routes:
        description: As O(routes).
        type: list
        elements: dict
        suboptions: *route_options
      sysctl:
        description: As O(sysctl).
        type: dict
      nameservers:
        description: As O(nameservers).
        type: list
        elements: str
      search:
        description: As O(search).
        type: list
        elements: str
      hosts:
        description: As O(hosts).
        type: dict
      purge:
        description: As O(purge); defaults to the task's O(purge).
        type: bool
      persist:
        description: As O(persist); defaults to the task's O(persist).
        type: bool
  timeline:
    description:
      - A timeline of faults over the interfaces this task declares, run unattended on the host. At offsets from its
        start, steps set an interface down or up, or set its impairment, or ramp an impairment linearly; repeated
        (O(timeline.steps[].every) for O(timeline.steps[].for)) and held (O(timeline.steps[].hold), then back to the
        declared one). So "flap r1's eth1 every 20 s for 10 minutes" and "ramp the loss on r2's eth1 from 0 to 20 %
        over 5 minutes" are a few lines.
      - The task compiles the steps into events (an offset, the C(ip) or C(tc) commands, words) and starts a runner for
        them, one process of the host's Python (C(/run/nsforge/timelines/runner.py), detached from the play, its
        output in C(/run/nsforge/timelines/<name>.log)), which sleeps until each event, runs its commands (a command
        that fails is logged, and the timeline goes on) and records its progress in
        C(/run/nsforge/timelines/<name>.status), which M(nsforge.linux.nsinfo) reports (RV(nsforge.linux.nsinfo#module:timelines)).
        Its records live under C(/run), so a timeline does not survive a reboot.
      - At its end (the last step's end), every interface it drove goes back to its declared state and impairment.
      - A new timeline starts; one whose steps or whose interfaces' declarations changed (another compiled plan) is
        stopped and started again; the same one, running or finished, changes nothing, so running the play again does
        not restart it. One whose runner died (killed) before its end is resumed at the clock's offset, and its
        runner first sets each interface as the latest event before now left it.
      - While a timeline runs, the task leaves the state and the impairment of the interfaces it drives alone; a task
        that stops or replaces a timeline sets them as it declares them.
      - A node declared absent stops the timelines that drive its interfaces, and removes their records.
      - In check mode nothing starts or stops; the diff shows the timeline (name, state, steps in words).
      - Steps whose impairment needs netem (anything but O(links[].impairment.bandwidth)) fail, before anything
        changes, on a kernel without netem (C(CONFIG_NET_SCH_NETEM)), naming the option at fault.
    type: dict
    suboptions:
      name:
        description:
          - The timeline; one runner per name on a host. Its records are C(/run/nsforge/timelines/<name>.plan),
            C(.status) and C(.log). At most 128 bytes, with the characters of a node name.
        type: str
        required: true
      state:
        description:
          - V(present) starts the timeline (or resumes, or leaves it, as above).
          - V(absent) stops its runner (SIGTERM, which sets the interfaces back to their declared state and
            impairment; KILL after 10 seconds, and the task sets them back itself) and removes its records.
            O(timeline.steps) is then not needed.
        type: str
        choices: [present, absent]
        default: present
      steps:
        description:
          - The steps, each setting exactly one of O(timeline.steps[].state), O(timeline.steps[].impairment)
            (with or without O(timeline.steps[].ramp)) or O(timeline.steps[].ramp).
          - Times are text with their unit, such as V(500ms), V(30s), V(10m) or V(1h) (at most a week).
          - Steps that drive the same interface at the same time act in their order; a timeline has at most 10,000
            events (each change, each end of a hold, and the end).
          - Required with O(timeline.state=present).
        type: list
        elements: dict
        suboptions:
          link:
            description:
              - The interfaces the step drives, each as C(NODE:IFNAME) of a link or of a veth's peer that this task
                declares (C(r1:eth1)); a list, or one. In a task that declares one node (O(name)), C(IFNAME) alone
                names the node's interface.
            type: list
            elements: str
            required: true
          at:
            description: The offset from the timeline's start of the step (of its first repetition). Defaults to V(0s).
            type: str
          every:
            description:
              - Repeat the step this often, for O(timeline.steps[].for) from O(timeline.steps[].at) (repetitions at
                C(at), C(at + every), ... before C(at + for)). A repeated state or impairment needs
                O(timeline.steps[].hold), shorter than O(timeline.steps[].every).
              - With O(timeline.steps[].ramp), how often the ramp moves.
            type: str
          for:
            description: How long the repetition or the ramp lasts; only with O(timeline.steps[].every).
            type: str
          hold:
            description:
              - Go back to the declared state (or impairment) this long after each repetition's change.
              - With O(timeline.steps[].ramp), how long the ramp's last value stays before going back to the declared
                impairment (without it, the last value stays until the timeline ends).
            type: str
          state:
            description: Set the interfaces V(down) or V(up) (their administrative state).
            type: str
            choices: [down, up]
          impairment:
            description:
              - "Set this impairment instead of the declared one (the keys and values of O(links[].impairment), such as
                C({delay: 100ms, loss: 5%}), or C({}) for none)."
              - With O(timeline.steps[].ramp), where the ramp starts (without it, the ramp starts at the interface's
                declared impairment).
            type: dict
          ramp:
            description:
              - Move the impairment linearly, every O(timeline.steps[].every) for O(timeline.steps[].for), from
                O(timeline.steps[].impairment) (or the declared one) to these values (keys of O(links[].impairment); the
                other keys stay as they start). Times, percentages and rates move; counts, the distribution and the
                loss model take the end's values.
              - "For example C({loss: 20%}) every V(10s) for V(5m): 31 changes, from 0 % to 20 %."
            type: dict
  facts:
    description:
      - What the result tells of each node in RV(node) or RV(nodes).
      - V(compact) gives its identity, read after the task (name, state, path, inode, hostname). The task then
        reads back only each node's pin and hostname, not its whole network (unless the diff is asked for).
      - V(full) adds its interfaces and routes as read from the kernel after the task. They cost more for
        Ansible to carry and register than the task's own work once a task declares thousands of nodes.
    type: str
    choices: [compact, full]
    default: compact
seealso:
  - module: community.general.ip_netns
  - name: ip-netns(8)
    description: The iproute2 manual page of network namespaces.
    link: https://man7.org/linux/man-pages/man8/ip-netns.8.html
'''

EXAMPLES = r'''
- name: A namespace, like ip netns add (drop-in for community.general.ip_netns)
  nsforge.linux.netns:
    name: blue

- name: A node wired to the host with a veth, with a hostname, DNS and a default route
  nsforge.linux.netns:
    name: web1
    hostname: web1
    links:
      - name: eth0
        type: veth
        addresses: [10.200.1.2/24, "fd42:200:1::2/64"]
        peer:
          name: web1-host
          addresses: [10.200.1.1/24, "fd42:200:1::1/64"]
    routes:
      - dst: default
        gateway: 10.200.1.1
      - dst: default
        gateway: "fd42:200:1::1"
    nameservers: [10.200.1.1]
    search: [lab.example]
    hosts:
      db1: 10.200.2.2

- name: Two sites joined by a WAN link - 20 ms each way (40 ms round trip) with jitter, 1 % loss, 10 Mbit/s
  nsforge.linux.netns:
    namespaces:
      - name: site-a
        links:
          - name: wan0
            type: veth
            addresses: [10.250.0.1/30]
            impairment: {delay: 20ms, jitter: 2ms, distribution: normal, loss: 1%, bandwidth: 10mbit}
            peer:
              name: wan0
              netns: site-b
              addresses: [10.250.0.2/30]
              impairment: {delay: 20ms, jitter: 2ms, distribution: normal, loss: 1%, bandwidth: 10mbit}
      - name: site-b

- name: Loss in bursts (Gilbert-Elliott) on a host-side end, and the same link without any impairment later
  nsforge.linux.netns:
    name: lossy
    links:
      - name: eth0
        type: veth
        impairment:
          gemodel: {p: 1%, r: 25%}
        peer: {name: lossy-host}

- name: A whole lab in one task, two routers and a switch node with a bridge
  nsforge.linux.netns:
    namespaces:
      - name: sw1
        links:
          - {name: br0, type: bridge}
      - name: r1
        hostname: r1
        sysctl:
          net.ipv4.ip_forward: 1
          net.ipv6.conf.all.forwarding: 1
        links:
          - name: eth1
            type: veth
            addresses: [10.210.0.1/24]
            peer: {name: r1-eth1, netns: sw1, master: br0}
          - name: eth2
            type: veth
            addresses: [10.210.12.1/30]
            peer: {name: eth2, netns: r2, addresses: [10.210.12.2/30]}
          - {name: lo1, type: dummy, addresses: [10.210.255.1/32]}
      - name: r2
        hostname: r2
        routes:
          - {dst: 10.210.0.0/24, gateway: 10.210.12.1}

- name: VLAN, macvlan and VXLAN inside a node
  nsforge.linux.netns:
    name: edge
    links:
      - {name: trunk, type: dummy, mtu: 9000}
      - {name: trunk.100, type: vlan, link: trunk, vlan_id: 100, addresses: [10.220.100.1/24]}
      - {name: mv0, type: macvlan, link: trunk, mode: bridge}
      - {name: vx42, type: vxlan, vni: 42, remote: 10.220.100.2, local: 10.220.100.1, dstport: 4789}

- name: One end of a tunnel to another host; the node sees eth1, the host's network carries it
  nsforge.linux.netns:
    name: r1
    links:
      - {name: eth1, type: vxlan, underlay: host, vni: 5001, remote: 198.51.100.13, local: 198.51.100.11,
         mtu: 1450, addresses: [10.237.0.1/30]}

- name: Converge exactly, removing undeclared links, addresses and static routes
  nsforge.linux.netns:
    name: web1
    purge: true
    links:
      - {name: eth0, type: veth, addresses: [10.200.1.2/24], peer: {name: web1-host}}

- name: Two nodes that survive reboot (recreated at boot by nsforge-node@r1.service and nsforge-node@r2.service)
  nsforge.linux.netns:
    persist: true
    namespaces:
      - name: r1
        hostname: r1
        links:
          - {name: eth0, type: veth, addresses: [10.210.12.1/30], peer: {name: eth0, netns: r2, addresses: [10.210.12.2/30]}}
      - name: r2
        hostname: r2

# A bridge takes at most 1023 ports, so a large lab spreads its nodes over several (n1 to n1000 on br0, n1001 on
# br1). A task that would pass a kernel limit fails before it changes anything, naming the sysctl to raise, such as
# sysctl -w user.max_net_namespaces=... or sysctl -w net.ipv4.neigh.default.gc_thresh3=...
- name: Nodes spread over two bridges of a switch node
  nsforge.linux.netns:
    namespaces:
      - name: sw
        links:
          - {name: br0, type: bridge}
          - {name: br1, type: bridge}
      - name: n1
        links:
          - {name: eth0, type: veth, addresses: [10.240.0.1/22], peer: {name: v1, netns: sw, master: br0}}
      - name: n1001
        links:
          - {name: eth0, type: veth, addresses: [10.240.4.1/22], peer: {name: v1001, netns: sw, master: br1}}

- name: A node's interfaces and routes in the result (facts=full), for a later task to read
  nsforge.linux.netns:
    name: web1
    facts: full
  register: web1_net

- name: The address of web1's eth0, from the facts
  ansible.builtin.debug:
    msg: "{{ (web1_net.node.interfaces | selectattr('name', 'eq', 'eth0') | first).addresses }}"

- name: Flap r1's eth1 every 20 s for 10 minutes (down 5 s each time), unattended
  nsforge.linux.netns:
    namespaces:
      - name: r1
        links:
          - {name: eth1, type: veth, addresses: [10.210.12.1/30], peer: {name: eth1, netns: r2, addresses: [10.210.12.2/30]}}
      - name: r2
    timeline:
      name: flaps
      steps:
        - link: r1:eth1
          at: 30s
          every: 20s
          for: 10m
          state: down
          hold: 5s

- name: Ramp the loss on r2's end of that link from 0 to 20 % over 5 minutes, then keep it a minute
  nsforge.linux.netns:
    namespaces:
      - name: r1
        links:
          - {name: eth1, type: veth, addresses: [10.210.12.1/30], peer: {name: eth1, netns: r2, addresses: [10.210.12.2/30]}}
      - name: r2
    timeline:
      name: lossy
      steps:
        - link: r2:eth1
          every: 10s
          for: 5m
          ramp: {loss: 20%}
          hold: 1m

- name: Its progress
  nsforge.linux.nsinfo:
    network: false
  register: info

- name: Stop a timeline before its end (the links go back to their declared state)
  nsforge.linux.netns:
    namespaces:
      - name: r1
        links:
          - {name: eth1, type: veth, addresses: [10.210.12.1/30], peer: {name: eth1, netns: r2, addresses: [10.210.12.2/30]}}
      - name: r2
    timeline:
      name: lossy
      state: absent

- name: Remove a lab
  nsforge.linux.netns:
    state: absent
    namespaces:
      - name: r1
      - name: r2
      - name: sw1
'''

RETURN = r'''
changes:
  description: What the task changed, or would change in check mode, one line a step, in the order applied.
  returned: always
  type: list
  elements: str
  sample: ["node web1: create network namespace /run/netns/web1", "node web1: add address 10.200.1.2/24 to eth0"]
node:
  description:
    - Facts of the node read from the kernel after the task (before it, in check mode). With O(name).
    - Its interfaces and routes only with O(facts=full).
  returned: when O(name) is used
  type: dict
  contains:
    name:
      description: The node.
      type: str
      sample: web1
    state:
      description: V(present) when the namespace exists, else V(absent).
      type: str
      sample: present
    path:
      description: The pinned network namespace.
      type: str
      sample: /run/netns/web1
    inode:
      description: Inode of the network namespace, as C(lsns) and C(ls -i /proc/<pid>/ns/net) show it.
      type: int
      sample: 4026532284
    hostname:
      description: Hostname of the node's UTS namespace, or null when it has none.
      type: str
      sample: web1
    interfaces:
      description: Interfaces inside the namespace, by index. With O(facts=full).
      returned: with O(facts=full)
      type: list
      elements: dict
      contains:
        name:
          description: Interface name.
          type: str
        index:
          description: Interface index.
          type: int
        type:
          description: Kind (V(loopback), V(veth), V(bridge), V(dummy), V(vlan), V(macvlan), V(vxlan), ...).
          type: str
        state:
          description: V(up) or V(down) (administrative).
          type: str
        mtu:
          description: MTU.
          type: int
        mac:
          description: MAC address.
          type: str
        master:
          description: The bridge it is attached to, or null.
          type: str
        addresses:
          description: Addresses with prefix length, without IPv6 link-local ones.
          type: list
          elements: str
        impairment:
          description:
            - The impairment read back from the interface's root qdiscs (netem, tbf), in the words of
              O(links[].impairment) (such as C(delay) V(40ms) and C(loss) V(1%)), or null.
          type: dict
    routes:
      description: Routes of the main table (and of declared tables), without IPv6 link-local ones. With O(facts=full).
      returned: with O(facts=full)
      type: list
      elements: dict
      contains:
        family:
          description: 4 or 6.
          type: int
        dst:
          description: Destination in CIDR form.
          type: str
        gateway:
          description: Next hop, or null.
          type: str
        dev:
          description: Outgoing interface, or null.
          type: str
        metric:
          description: Metric.
          type: int
        table:
          description: Table id.
          type: int
nodes:
  description: Facts of every node of O(namespaces), each as RV(node).
  returned: when O(namespaces) is used
  type: list
  elements: dict
timeline:
  description:
    - The task's timeline (O(timeline)) as its records tell after the task (before it, in check mode).
  returned: when O(timeline) is given
  type: dict
  sample: {"name": "flaps", "state": "running", "pid": 4711, "started": 1796212592.141,
           "steps": ["r1:eth1 down at 30s for 5s, every 20s for 10m"], "events": 61, "done": 0, "current": null,
           "next": "r1:eth1 down (step 1, 1 of 30)", "next_at": 1796212622.141}
  contains:
    name:
      description: The timeline.
      type: str
    state:
      description: V(running), V(finished), V(stopped), V(died) (see RV(nsforge.linux.nsinfo#module:timelines)), or
        V(absent) when it has no records.
      type: str
    pid:
      description: Host PID of its runner while it runs, else null.
      type: int
    started:
      description: When it started, in seconds since the epoch, or null.
      type: float
    steps:
      description: The declared steps in words.
      type: list
      elements: str
    events:
      description: How many events the declared steps make (each change, each end of a hold, and the end).
      type: int
    done:
      description: Events its runner has done.
      type: int
    current:
      description: The last event done, in words, or null.
      type: str
    next:
      description: The next event in words while it runs, else null.
      type: str
    next_at:
      description: When the next event is due, in seconds since the epoch, while it runs, else null.
      type: float
removed:
  description:
    - What was removed (or would be, in check mode). With O(name), a dict with C(interfaces), C(handles) and C(files);
      with O(namespaces), a dict from node name to such a dict, for the nodes where something was removed.
  returned: always
  type: dict
  sample: {"interfaces": ["eth0"], "handles": ["/run/netns/web1", "/run/nsforge/nodes/web1/uts"], "files": ["/etc/netns/web1"]}
'''

from ansible_collections.nsforge.linux.plugins.module_utils.module import run_module
from ansible_collections.nsforge.linux.plugins.module_utils import netns_engine, specs
# imported so that AnsiballZ carries the restore command, which persist: true installs on the host
from ansible_collections.nsforge.linux.plugins.module_utils import restore  # pylint: disable=unused-import


def main():
    run_module(specs.netns(),
               lambda module, session: netns_engine.converge(module.params, module.check_mode, session, module._diff),
               echoed=netns_engine.echoed_args)


if __name__ == '__main__':
    main()
