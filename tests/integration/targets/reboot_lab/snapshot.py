# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run ON a fleet host over SSH (`ssh host python3 - SPEC < snapshot.py`): what the default lab looks like there,
read with tools independent of the collection (ip -j, nsenter, findmnt, /proc, systemctl show), as one JSON.

SPEC (JSON): {"nodes": [names], "services": {name: [node of its network namespace, its node]}, "sysctl": [keys], "http": [[from, to]],
              "pod": [service, port], "extra": {"netns": name, "marker": text}}
Values that change at every boot (PIDs, inodes, ifindex, MAC) are read too: compare.py decides what may differ.
"""

from __future__ import absolute_import, division, print_function

import glob
import hashlib
import json
import os
import subprocess
import sys
import time

FETCH = 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode().strip())'


def run(argv, ok=(0,)):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if proc.returncode not in ok:
        return None
    return proc.stdout.decode(errors='replace')


def ipj(*argv):
    out = run(['ip', '-j'] + list(argv))
    return json.loads(out) if out and out.strip() else []


def inode(path):
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def netns_names():
    return sorted(e['name'] for e in ipj('netns', 'list'))


def nsid_names(prefix):
    """{nsid: name} of the namespaces a namespace knows (the host's own, unnamed, is 'host')."""
    out = {}
    for e in ipj(*(prefix + ['netns', 'list-id'])):
        out[e['nsid']] = e.get('name', 'host')
    return out


def links(prefix, skip=('lo',)):
    ids = nsid_names(prefix)
    rows = []
    for e in ipj(*(prefix + ['-d', 'link', 'show'])):
        if e['ifname'] in skip:
            continue
        info = e.get('linkinfo', {})
        peer = ids.get(e['link_netnsid'], 'nsid %s' % e['link_netnsid']) if 'link_netnsid' in e else None
        rows.append({'name': e['ifname'], 'kind': info.get('info_kind'), 'state': e.get('operstate'),
                     'mtu': e.get('mtu'), 'master': e.get('master'), 'peer_netns': peer,
                     'mac': e.get('address'), 'ifindex': e.get('ifindex'), 'flags': sorted(e.get('flags', []))})
    return sorted(rows, key=lambda r: r['name'])


def addresses(prefix):
    rows = []
    for e in ipj(*(prefix + ['addr', 'show'])):
        for a in e.get('addr_info', []):
            rows.append({'dev': e['ifname'], 'family': a['family'], 'local': '%s/%s' % (a['local'], a['prefixlen']),
                         'scope': a.get('scope')})
    return sorted(rows, key=lambda r: (r['dev'], r['family'], r['local']))


def routes(prefix):
    rows = []
    for fam in ('-4', '-6'):
        for e in ipj(*(prefix + [fam, 'route', 'show', 'table', 'main'])):
            rows.append({'family': fam, 'dst': e.get('dst'), 'gateway': e.get('gateway'), 'dev': e.get('dev'),
                         'protocol': e.get('protocol'), 'scope': e.get('scope'), 'metric': e.get('metric'),
                         'prefsrc': e.get('prefsrc')})
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))


def mounts(argv):
    argv = argv if argv[:1] == ['findmnt'] else argv + ['findmnt']
    out = run(argv + ['-J', '-l', '-o', 'TARGET,FSTYPE,OPTIONS'])
    return json.loads(out)['filesystems'] if out else []


def own_mounts(node_mounts, host_mounts):
    """The mounts of a node's view that the host's view lacks (target, fstype, options)."""
    host = set((m['target'], m['fstype']) for m in host_mounts)
    return sorted([m for m in node_mounts if (m['target'], m['fstype']) not in host], key=lambda m: m['target'])


def read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def node(name, spec, host_mounts):
    pins = '/run/nsforge/nodes/%s' % name
    prefix = ['-n', name]
    has_net = os.path.exists('/run/netns/' + name)
    out = {'inodes': {'net': inode('/run/netns/' + name), 'uts': inode(pins + '/uts'), 'user': inode(pins + '/user'),
                      'mnt': inode(pins + '/mntns/mnt')}, 'has_netns': has_net,
           'links': links(prefix) if has_net else [], 'addresses': addresses(prefix) if has_net else [],
           'routes': routes(prefix) if has_net else []}
    net = ['nsenter', '--net=/run/netns/' + name]
    out['sysctl'] = {}
    for key in spec['sysctl'] if has_net else []:
        value = run(net + ['cat', '/proc/sys/' + key.replace('.', '/')])
        out['sysctl'][key] = value.strip() if value is not None else None
    out['hostname'] = None
    if os.path.exists(pins + '/uts'):
        value = run(['nsenter', '--uts=' + pins + '/uts', 'hostname'])
        out['hostname'] = value.strip() if value is not None else None
    out['etc_netns'] = {}
    for path in sorted(glob.glob('/etc/netns/%s/*' % name)):
        with open(path, 'rb') as handle:
            out['etc_netns'][os.path.basename(path)] = hashlib.sha256(handle.read()).hexdigest()[:16]
    out['mounts'] = None
    if os.path.exists(pins + '/mntns/mnt'):
        out['mounts'] = own_mounts(mounts(['nsenter', '--mount=' + pins + '/mntns/mnt']), host_mounts)
    out['uid_map'] = out['gid_map'] = None
    if os.path.exists(pins + '/user'):
        for kind in ('uid_map', 'gid_map'):
            value = run(['nsenter', '--user=' + pins + '/user', 'cat', '/proc/self/' + kind])
            out[kind] = ' '.join(value.split()) if value is not None else None
    return out


def unit_props(units, props):
    """systemctl show of several units: {Id: {prop: value}}."""
    if not units:
        return {}
    out = run(['systemctl', 'show', '-p', ','.join(['Id'] + props)] + list(units)) or ''
    result = {}
    for block in out.strip().split('\n\n'):
        entry = dict(line.split('=', 1) for line in block.splitlines() if '=' in line)
        if entry.get('Id'):
            result[entry['Id']] = entry
    return result


def status_field(pid, field):
    for line in (read('/proc/%d/status' % pid) or '').splitlines():
        if line.startswith(field + ':'):
            return line.split()[1:]
    return None


def service(name, net_node, node_name, pid, host_mounts):
    """A running service: net_node is the node whose network namespace it joins, node_name its own node."""
    proc = '/proc/%d' % pid
    ns = dict((kind, inode('%s/ns/%s' % (proc, kind))) for kind in ('net', 'uts', 'user', 'mnt', 'pid', 'ipc'))
    pins = '/run/nsforge/nodes/%s' % node_name
    hostname = run(['nsenter', '--target', str(pid), '--uts', 'hostname'])
    return {'pid': pid, 'node': node_name, 'inodes': ns,
            'in_node_net': ns['net'] is not None and ns['net'] == inode('/run/netns/' + net_node),
            'in_node_uts': None if not os.path.exists(pins + '/uts') else ns['uts'] == inode(pins + '/uts'),
            'in_node_user': None if not os.path.exists(pins + '/user') else ns['user'] == inode(pins + '/user'),
            'in_node_mnt': None if not os.path.exists(pins + '/mntns/mnt') else ns['mnt'] == inode(pins + '/mntns/mnt'),
            'own_pid_ns': ns['pid'] != inode('/proc/1/ns/pid'),
            'hostname': hostname.strip() if hostname is not None else None,
            'nspid_inside': (status_field(pid, 'NSpid') or [None])[-1],
            'uid_host': (status_field(pid, 'Uid') or [None])[0],
            'uid_map': ' '.join((read(proc + '/uid_map') or '').split()),
            'gid_map': ' '.join((read(proc + '/gid_map') or '').split()),
            # findmnt -N reads /proc/PID/mountinfo: entering the mount namespace would hide findmnt's own /proc/self
            'mounts': own_mounts(mounts(['findmnt', '-N', str(pid)]), host_mounts),
            'cmdline': (read(proc + '/cmdline') or '').split('\0')[:-1]}


def fetch(netns_argv, url):
    out = run(netns_argv + ['/usr/bin/python3', '-c', FETCH, url])
    return out.strip() if out is not None else None


def main():
    spec = json.loads(sys.argv[1])
    host_mounts = mounts([])
    snap = {'time': time.time(), 'monotonic': time.monotonic(), 'netns': netns_names(),
            'host_links': list(links([], skip=('lo', 'host0'))),
            'host_addresses': [a for a in addresses([]) if a['dev'] not in ('lo', 'host0')],
            'init_start_ticks': int((read('/proc/1/stat') or '0 ' * 22).split()[21]),
            'nodes': {}, 'services': {}, 'units': {}, 'http': {}}
    for name in spec['nodes']:
        if name in snap['netns'] or os.path.isdir('/run/nsforge/nodes/' + name):
            snap['nodes'][name] = node(name, spec, host_mounts)
    units = sorted(line.split()[0] for line in (run(['systemctl', 'list-units', '--all', '--plain', '--no-legend',
                                                     'nsforge*']) or '').splitlines() if line.strip())
    props = ['ActiveState', 'SubState', 'Result', 'After', 'Before', 'Requires', 'WantedBy', 'MemoryMax', 'TasksMax',
             'MainPID', 'ControlGroup', 'ActiveEnterTimestampMonotonic', 'InactiveExitTimestampMonotonic',
             'ExecMainStartTimestampMonotonic', 'UnitFileState', 'NRestarts']
    snap['units'] = unit_props(units + ['network-online.target', 'network-pre.target', 'ssh.service',
                                        'multi-user.target'], props)
    for svc, (net_node, node_name) in sorted(spec['services'].items()):
        unit = snap['units'].get('nsforge-service-%s.service' % svc, {})
        pid = int(unit.get('MainPID') or 0)
        if pid:
            snap['services'][svc] = service(svc, net_node, node_name, pid, host_mounts)
            cg = unit.get('ControlGroup') or ''
            snap['services'][svc]['cgroup'] = {
                'memory': (read('/sys/fs/cgroup%s/memory.max' % cg) or read('/sys/fs/cgroup/memory%s/memory.limit_in_bytes' % cg)
                           or '').strip() or None,
                'pids': (read('/sys/fs/cgroup%s/pids.max' % cg) or read('/sys/fs/cgroup/pids%s/pids.max' % cg) or '').strip() or None}
    for src, dst in spec['http']:
        if src in snap['nodes'] and dst in snap['nodes']:
            addr = [a['local'].split('/')[0] for a in snap['nodes'][dst]['addresses'] if a['family'] == 'inet' and a['dev'] != 'lo']
            if addr:
                snap['http']['%s->%s' % (src, dst)] = fetch(['ip', 'netns', 'exec', src], 'http://%s/' % addr[0])
    pod, port = spec['pod']
    if pod in snap['services']:
        snap['http']['%s->127.0.0.1' % pod] = fetch(['nsenter', '--target', str(snap['services'][pod]['pid']), '--net'],
                                                    'http://127.0.0.1:%d/' % port)
    extra = spec.get('extra')
    if extra:
        pids = run(['pgrep', '-f', extra['marker']], ok=(0, 1)) or ''
        snap['extra'] = {'netns': extra['netns'] in snap['netns'], 'pids': [int(p) for p in pids.split()]}
    json.dump(snap, sys.stdout, sort_keys=True)


if __name__ == '__main__':
    main()
