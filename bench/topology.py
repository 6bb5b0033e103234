# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The W1 lab of the benchmark: N nodes on bridges of at most 500 ports, in four equivalent forms.

Each node n<i>: a network namespace, lo up, a veth eth0 whose peer v<i> is a
port of a bridge br<b> in the switch node sw, one IPv4 and one IPv6 address, a
default route through its bridge's address, a hostname.  Node i is on bridge
b = (i - 1) // 500, as a user of a lab that size spreads it (the kernel refuses
a bridge's 1,025th port): one bridge up to N = 500, two at 1,000, twenty at
10,000.  Bridge b has the IPv4 subnet 10.240.<4b>.0/22 and the IPv6 subnet
fd42:240:0:<b>::/64, clear of the machine's uplink; its address is the
subnet's last usable one (10.240.<4b+3>.254, ::ffff).
"""

from __future__ import absolute_import, division, print_function

import ipaddress
import json

PORTS = 500
V4 = ipaddress.ip_network('10.240.0.0/16')
V6 = ipaddress.ip_network('fd42:240::/48')
BRIDGES_MAX = 2 ** (22 - 16)  # 64 bridges of a /22 in the /16


def bridge(b):
    """Name, subnets and addresses (with prefix length) of bridge b (0-based)."""
    v4 = ipaddress.ip_network('%s/22' % (V4.network_address + 1024 * b))
    v6 = ipaddress.ip_network('%s/64' % (V6.network_address + (b << 64)))
    return {
        'name': 'br%d' % b,
        'gw4': str(v4.broadcast_address - 1),
        'gw6': str(v6.network_address + 65535),
        'v4': '%s/22' % (v4.broadcast_address - 1),
        'v6': '%s/64' % (v6.network_address + 65535),
        'net4': v4,
        'net6': v6,
    }


def bridge_count(n):
    return max(1, (n + PORTS - 1) // PORTS)


def node(i):
    """Name, bridge port name, bridge and addresses of node i (1-based)."""
    if not 1 <= i <= PORTS * BRIDGES_MAX:
        raise ValueError('W1 has nodes 1 to %d, not %d' % (PORTS * BRIDGES_MAX, i))
    b = (i - 1) // PORTS
    j = (i - 1) % PORTS + 1
    br = bridge(b)
    return {
        'name': 'n%d' % i,
        'port': 'v%d' % i,
        'bridge': br['name'],
        'gw4': br['gw4'],
        'v4': '%s/22' % (br['net4'].network_address + j),
        'v6': '%s/64' % (br['net6'].network_address + j),
    }


def describe(n):
    """The topology in words, for the results table."""
    count = bridge_count(n)
    return '%d node%s on %d bridge%s' % (n, '' if n == 1 else 's', count, '' if count == 1 else 's')


def netns_args(n):
    """The arguments of one nsforge.linux.netns task that declares the whole lab."""
    bridges = [bridge(b) for b in range(bridge_count(n))]
    nodes = [{'name': 'sw', 'links': [{'name': br['name'], 'type': 'bridge', 'addresses': [br['v4'], br['v6']]}
                                      for br in bridges]}]
    for i in range(1, n + 1):
        item = node(i)
        nodes.append({
            'name': item['name'],
            'hostname': item['name'],
            'links': [{'name': 'eth0', 'type': 'veth', 'addresses': [item['v4'], item['v6']],
                       'peer': {'name': item['port'], 'netns': 'sw', 'master': item['bridge']}}],
            'routes': [{'dst': 'default', 'gateway': item['gw4']}],
        })
    return {'namespaces': nodes}


def shell_script(n):
    """The same lab as a shell script of ip commands, one command per step, as people write it."""
    lines = [
        'set -eu',
        'ip netns add sw',
        'ip -n sw link set lo up',
        'mkdir -p /run/bench-uts',
    ]
    for br in (bridge(b) for b in range(bridge_count(n))):
        lines += [
            'ip -n sw link add %s type bridge' % br['name'],
            'ip -n sw addr add %s dev %s' % (br['v4'], br['name']),
            'ip -n sw addr add %s dev %s nodad' % (br['v6'], br['name']),
            'ip -n sw link set %s up' % br['name'],
        ]
    for i in range(1, n + 1):
        item = node(i)
        name = item['name']
        lines += [
            'ip netns add %s' % name,
            'ip -n %s link set lo up' % name,
            'ip -n %s link add eth0 type veth peer name %s netns sw' % (name, item['port']),
            'ip -n sw link set %s master %s up' % (item['port'], item['bridge']),
            'ip -n %s addr add %s dev eth0' % (name, item['v4']),
            'ip -n %s addr add %s dev eth0 nodad' % (name, item['v6']),
            'ip -n %s link set eth0 up' % name,
            'ip -n %s route add default via %s' % (name, item['gw4']),
            'touch /run/bench-uts/%s' % name,
            "unshare --uts=/run/bench-uts/%s hostname %s" % (name, name),
        ]
    return '\n'.join(lines) + '\n'


def ip_netns_playbook(n):
    """The common Ansible way: community.general.ip_netns and command tasks, looped per node."""
    nodes = [node(i) for i in range(1, n + 1)]
    tasks = [
        {'name': 'Switch namespace', 'community.general.ip_netns': {'name': 'sw'}},
        {'name': 'Switch bridges and lo', 'ansible.builtin.command': {'argv': '{{ item }}'}, 'loop': [
            ['ip', '-n', 'sw', 'link', 'set', 'lo', 'up']] + [
            argv for br in (bridge(b) for b in range(bridge_count(n))) for argv in (
                ['ip', '-n', 'sw', 'link', 'add', br['name'], 'type', 'bridge'],
                ['ip', '-n', 'sw', 'addr', 'add', br['v4'], 'dev', br['name']],
                ['ip', '-n', 'sw', 'addr', 'add', br['v6'], 'dev', br['name'], 'nodad'],
                ['ip', '-n', 'sw', 'link', 'set', br['name'], 'up'])]},
        {'name': 'Node namespaces', 'community.general.ip_netns': {'name': '{{ item.name }}'}, 'loop': nodes},
        {'name': 'Folder for hostnames',
         'ansible.builtin.file': {'path': '/run/bench-uts', 'state': 'directory', 'mode': '0755'}},
    ]
    steps = [
        ['ip', '-n', '{{ item.name }}', 'link', 'set', 'lo', 'up'],
        ['ip', '-n', '{{ item.name }}', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', '{{ item.port }}',
         'netns', 'sw'],
        ['ip', '-n', 'sw', 'link', 'set', '{{ item.port }}', 'master', '{{ item.bridge }}', 'up'],
        ['ip', '-n', '{{ item.name }}', 'addr', 'add', '{{ item.v4 }}', 'dev', 'eth0'],
        ['ip', '-n', '{{ item.name }}', 'addr', 'add', '{{ item.v6 }}', 'dev', 'eth0', 'nodad'],
        ['ip', '-n', '{{ item.name }}', 'link', 'set', 'eth0', 'up'],
        ['ip', '-n', '{{ item.name }}', 'route', 'add', 'default', 'via', '{{ item.gw4 }}'],
        ['touch', '/run/bench-uts/{{ item.name }}'],
        ['unshare', '--uts=/run/bench-uts/{{ item.name }}', 'hostname', '{{ item.name }}'],
    ]
    for index, argv in enumerate(steps, 1):
        tasks.append({'name': 'Node step %d' % index, 'ansible.builtin.command': {'argv': argv}, 'loop': nodes,
                      'loop_control': {'label': '{{ item.name }}'}})
    return [{'name': 'W1 lab the common way', 'hosts': 'all', 'gather_facts': False, 'tasks': tasks}]


def netns_playbook(args_file):
    return [{'name': 'W1 lab in one task', 'hosts': 'all', 'gather_facts': False, 'tasks': [
        {'name': 'The whole lab', 'nsforge.linux.netns': '{{ lookup("file", "%s") | from_json }}' % args_file,
         'register': 'lab'},
        {'name': 'Report', 'ansible.builtin.debug': {'msg': '{{ lab.changes | length }} changes'}}]}]


# ---------------------------------------------------------------------------
# W4: a netlab lab of N nodes on bridges of W4_PORTS ports; per node a service (tini and sleep), a private tmpfs,
# and one node in ten with a user namespace of its own.

W4_PORTS = 200
W4_SCRATCH = '/run/w4-scratch'   # under /run: the sandbox's own tmpfs, so the mount point vanishes with it
W4_OUTSIDE = 300000              # the first host ID of the user namespaces' maps


def w4_node(i):
    return {'name': 'w4n%d' % i, 'bridge': 'w4b%d' % ((i - 1) // W4_PORTS), 'service': 'w4s%d' % i,
            'user': i % 10 == 0}


def w4_topology(n):
    nodes = []
    for i in range(1, n + 1):
        item = w4_node(i)
        node = {'name': item['name'],
                'services': [{'name': item['service'], 'command': ['sleep', 'infinity']}],
                'mounts': [{'dst': W4_SCRATCH, 'type': 'tmpfs', 'size': '1m'}]}
        if item['user']:
            node['user'] = {'uid_map': [{'inside': 0, 'outside': W4_OUTSIDE, 'count': 65536}]}
        nodes.append(node)
    return {'name': 'w4', 'addressing': {'ipv4': '10.241.0.0/16'},
            'bridges': [{'name': 'w4b%d' % b} for b in range((n + W4_PORTS - 1) // W4_PORTS)],
            'nodes': nodes,
            'links': [['%s:eth0' % w4_node(i)['name'], w4_node(i)['bridge']] for i in range(1, n + 1)]}


def w4_playbook(topology_file, state):
    return [{'name': 'W4 lab, %s' % state, 'hosts': 'all', 'gather_facts': False, 'tasks': [
        {'name': 'The lab', 'ansible.builtin.include_role': {'name': 'nsforge.linux.netlab'},
         'vars': {'netlab_topology': '{{ lookup("file", "%s") | from_json }}' % topology_file,
                  'netlab_state': state, 'netlab_graph': False}}]}]


if __name__ == '__main__':
    print(json.dumps(netns_args(3), indent=1))
