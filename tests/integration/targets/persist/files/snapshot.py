# -*- coding: utf-8 -*-
"""The state of the test's nodes, read with independent tools only (ip -j, stat -L, nsenter, findmnt, sysctl).

Usage: snapshot.py NODE... > snapshot.json. Kernel-made values that differ between two creations of the same
declaration (interface indexes, random veth MACs, namespace inodes) are left out; everything declared is in.
"""
import json
import os
import subprocess
import sys


def run(argv):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout


def links(prefix):
    out = []
    details = json.loads(run(prefix + ['-j', '-d', 'link', 'show']))
    addrs = dict((a['ifname'], a) for a in json.loads(run(prefix + ['-j', 'addr', 'show'])))
    for link in sorted(details, key=lambda l: l['ifname']):
        addresses = sorted('%s/%d' % (a['local'], a['prefixlen']) for a in addrs[link['ifname']].get('addr_info', [])
                           if not a['local'].startswith('fe80:'))
        out.append({'name': link['ifname'], 'kind': (link.get('linkinfo') or {}).get('info_kind'),
                    'mtu': link['mtu'], 'up': 'UP' in link['flags'], 'master': link.get('master'),
                    'addresses': addresses})
    return out


def routes(prefix):
    out = []
    for family in ('-4', '-6'):
        for route in json.loads(run(prefix + [family, '-j', 'route', 'show', 'table', 'all'])):
            if route.get('dst', '').startswith(('fe80:', 'ff00:')) or route.get('table') == 'local':
                continue
            out.append(dict((k, route.get(k)) for k in ('dst', 'gateway', 'dev', 'metric', 'table', 'protocol')))
    return sorted(out, key=json.dumps)


def node(name):
    pin = '/run/netns/' + name
    if not os.path.exists(pin):
        return {'present': False, 'files': sorted(os.listdir('/run/nsforge/nodes/' + name))
                if os.path.isdir('/run/nsforge/nodes/' + name) else []}
    state = {'present': True, 'pins': {}}
    for kind, path in (('net', pin), ('uts', '/run/nsforge/nodes/%s/uts' % name),
                       ('user', '/run/nsforge/nodes/%s/user' % name), ('mnt', '/run/nsforge/nodes/%s/mntns/mnt' % name)):
        if os.path.exists(path):
            # stat -L follows the pin to the namespace: an nsfs file whose inode the kernel chose
            state['pins'][kind] = run(['stat', '-L', '-f', '-c', '%T', path]).strip()
            run(['stat', '-L', '-c', '%i', path])
    prefix = ['ip', '-n', name]
    state['links'] = links(prefix)
    state['routes'] = routes(prefix)
    state['ip_forward'] = run(['ip', 'netns', 'exec', name, 'sysctl', '-n', 'net.ipv4.ip_forward']).strip()
    if 'uts' in state['pins']:
        state['hostname'] = run(['nsenter', '--uts=/run/nsforge/nodes/%s/uts' % name, 'hostname']).strip()
    if 'user' in state['pins']:
        user = '/run/nsforge/nodes/%s/user' % name
        state['uid_map'] = run(['nsenter', '--user=' + user, 'cat', '/proc/self/uid_map']).split()
        state['gid_map'] = run(['nsenter', '--user=' + user, 'cat', '/proc/self/gid_map']).split()
    if 'mnt' in state['pins']:
        found = json.loads(run(['nsenter', '--mount=/run/nsforge/nodes/%s/mntns/mnt' % name, 'findmnt', '-J', '-l',
                                '-o', 'TARGET,FSTYPE,OPTIONS']))
        flat = [{'target': item['target'], 'fstype': item['fstype'],
                 'options': sorted(o for o in item['options'].split(',') if o.split('=')[0] in ('ro', 'rw', 'size', 'mode'))}
                for item in found['filesystems'] if item['target'].startswith('/etc/nsforge-test')]
        state['mounts'] = flat
    resolv = '/etc/netns/%s/resolv.conf' % name
    if os.path.exists(resolv):
        with open(resolv) as handle:
            state['resolv.conf'] = handle.read()
    return state


def main():
    snapshot = {'nodes': dict((name, node(name)) for name in sys.argv[1:])}
    host = json.loads(run(['ip', '-j', 'addr', 'show']))
    snapshot['host_peers'] = sorted(('%s %s' % (l['ifname'], ' '.join('%s/%d' % (a['local'], a['prefixlen'])
                                                                      for a in l.get('addr_info', []) if not a['local'].startswith('fe80:'))))
                                    for l in host if l['ifname'] != 'lo')
    json.dump(snapshot, sys.stdout, indent=1, sort_keys=True)


main()
