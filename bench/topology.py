# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The W1 lab of the benchmark: N nodes on one bridge, in four equivalent forms.

Each node n<i>: a network namespace, lo up, a veth eth0 whose peer v<i> is a
port of bridge br0 in the switch node sw, one IPv4 and one IPv6 address, a
default route through the switch's address, a hostname.  Addresses come from
10.240.0.0/16 and fd42:240::/64, clear of the machine's uplink.
"""

from __future__ import absolute_import, division, print_function

import ipaddress
import json

V4 = ipaddress.ip_network('10.240.0.0/16')
V6 = ipaddress.ip_network('fd42:240::/64')
GW4 = V4.network_address + 65534
GW6 = V6.network_address + 65535


def node(i):
    """Name, hostname, bridge port name and addresses of node i (1-based)."""
    return {
        'name': 'n%d' % i,
        'port': 'v%d' % i,
        'v4': '%s/16' % (V4.network_address + i),
        'v6': '%s/64' % (V6.network_address + i),
    }


def netns_args(n):
    """The arguments of one nsforge.linux.netns task that declares the whole lab."""
    bridge = {'name': 'br0', 'type': 'bridge', 'addresses': ['%s/16' % GW4, '%s/64' % GW6]}
    nodes = [{'name': 'sw', 'links': [bridge]}]
    for i in range(1, n + 1):
        item = node(i)
        nodes.append({
            'name': item['name'],
            'hostname': item['name'],
            'links': [{'name': 'eth0', 'type': 'veth', 'addresses': [item['v4'], item['v6']],
                       'peer': {'name': item['port'], 'netns': 'sw', 'master': 'br0'}}],
            'routes': [{'dst': 'default', 'gateway': str(GW4)}],
        })
    return {'namespaces': nodes}


def shell_script(n):
    """The same lab as a shell script of ip commands, one command per step, as people write it."""
    lines = [
        'set -eu',
        'ip netns add sw',
        'ip -n sw link set lo up',
        'ip -n sw link add br0 type bridge',
        'ip -n sw addr add %s/16 dev br0' % GW4,
        'ip -n sw addr add %s/64 dev br0 nodad' % GW6,
        'ip -n sw link set br0 up',
        'mkdir -p /run/bench-uts',
    ]
    for i in range(1, n + 1):
        item = node(i)
        name = item['name']
        lines += [
            'ip netns add %s' % name,
            'ip -n %s link set lo up' % name,
            'ip -n %s link add eth0 type veth peer name %s netns sw' % (name, item['port']),
            'ip -n sw link set %s master br0 up' % item['port'],
            'ip -n %s addr add %s dev eth0' % (name, item['v4']),
            'ip -n %s addr add %s dev eth0 nodad' % (name, item['v6']),
            'ip -n %s link set eth0 up' % name,
            'ip -n %s route add default via %s' % (name, GW4),
            'touch /run/bench-uts/%s' % name,
            "unshare --uts=/run/bench-uts/%s hostname %s" % (name, name),
        ]
    return '\n'.join(lines) + '\n'


def ip_netns_playbook(n):
    """The common Ansible way: community.general.ip_netns and command tasks, looped per node."""
    nodes = [node(i) for i in range(1, n + 1)]
    tasks = [
        {'name': 'Switch namespace', 'community.general.ip_netns': {'name': 'sw'}},
        {'name': 'Switch bridge and lo', 'ansible.builtin.command': {'argv': '{{ item }}'}, 'loop': [
            ['ip', '-n', 'sw', 'link', 'set', 'lo', 'up'],
            ['ip', '-n', 'sw', 'link', 'add', 'br0', 'type', 'bridge'],
            ['ip', '-n', 'sw', 'addr', 'add', '%s/16' % GW4, 'dev', 'br0'],
            ['ip', '-n', 'sw', 'addr', 'add', '%s/64' % GW6, 'dev', 'br0', 'nodad'],
            ['ip', '-n', 'sw', 'link', 'set', 'br0', 'up']]},
        {'name': 'Node namespaces', 'community.general.ip_netns': {'name': '{{ item.name }}'}, 'loop': nodes},
        {'name': 'Folder for hostnames',
         'ansible.builtin.file': {'path': '/run/bench-uts', 'state': 'directory', 'mode': '0755'}},
    ]
    steps = [
        ['ip', '-n', '{{ item.name }}', 'link', 'set', 'lo', 'up'],
        ['ip', '-n', '{{ item.name }}', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', '{{ item.port }}',
         'netns', 'sw'],
        ['ip', '-n', 'sw', 'link', 'set', '{{ item.port }}', 'master', 'br0', 'up'],
        ['ip', '-n', '{{ item.name }}', 'addr', 'add', '{{ item.v4 }}', 'dev', 'eth0'],
        ['ip', '-n', '{{ item.name }}', 'addr', 'add', '{{ item.v6 }}', 'dev', 'eth0', 'nodad'],
        ['ip', '-n', '{{ item.name }}', 'link', 'set', 'eth0', 'up'],
        ['ip', '-n', '{{ item.name }}', 'route', 'add', 'default', 'via', str(GW4)],
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


if __name__ == '__main__':
    print(json.dumps(netns_args(3), indent=1))
