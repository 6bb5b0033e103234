# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks of the reboot_lab target, on snapshots that snapshot.py took on the host (JSON files):

    compare.py spec                         the SPEC argument of snapshot.py (the default lab's nodes and services)
    compare.py lab SNAP                     the lab is there as declared (nodes, links, addresses, services, HTTP)
    compare.py same BEFORE AFTER            everything that should come back did: equal after normalising
    compare.py systemd SNAP                 systemd's view after the boot: active units, limits, ordering
    compare.py extra SNAP present|absent    the non-persisted node and the builtin service
    compare.py poll DIR HOST FILE           (background) the first HTTP answer of the lab in the host's next boot
    compare.py timeline REBOOT SNAP POLL    the reboot's timeline, seconds from `systemctl reboot`
Exits 1 with the reasons when a check fails.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import shlex
import subprocess
import sys
import time

NODES = ['web-a', 'web-b', 'tenant', 'vault']
BRIDGE = 'lan'              # the bridge's own network namespace, which holds the nodes' peers
SIDECAR = 'web-a-sidecar'   # network_mode container:web-a: web-a's network namespace; its service's own hostname
# service: [node whose network namespace it joins, its node]
SERVICES = {'web-a-http': ['web-a', 'web-a'], 'web-b-http': ['web-b', 'web-b'], 'web-a-sidecar-probe': ['web-a', SIDECAR],
            'tenant-http': ['tenant', 'tenant'], 'vault-http': ['vault', 'vault']}
HTTP = [['web-b', 'web-a'], ['web-a', 'web-b'], ['web-a', 'tenant'], ['web-a', 'vault']]
WEB = ['web-a-http', 'web-b-http', 'tenant-http', 'vault-http']   # limits: {memory: 64M, pids: 32}
SYSCTL = ['net.ipv4.ip_unprivileged_port_start', 'net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding']
EXTRA = {'netns': 'scratch', 'marker': '^(/usr/bin/)?sleep 86399$'}
# What a boot legitimately changes: the kernel numbers new objects (PIDs, namespace inodes, interface indexes) and
# a veth gets a random MAC when it is made (the topology declares none); the clocks move.
VOLATILE = frozenset(['pid', 'inodes', 'ifindex', 'mac', 'time', 'monotonic', 'init_start_ticks', 'units', 'extra'])
FETCH = 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=1).read().decode().strip())'


def load(path):
    with open(path) as handle:
        return json.load(handle)


def normal(value):
    """Without what a boot may change; an IPv6 link-local address follows its (random) MAC, so only its presence counts."""
    if isinstance(value, dict):
        if value.get('family') == 'inet6' and value.get('scope') == 'link' and value.get('local', '').startswith('fe80:'):
            value = dict(value, local='fe80::(from the MAC)/64')
        return dict((k, normal(v)) for k, v in value.items() if k not in VOLATILE)
    if isinstance(value, list):
        items = [normal(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True)) if items and isinstance(items[0], dict) else items
    return value


def lab_only(snap):
    """The snapshot without the non-persisted node and its host-side veth (which a reboot removes, as it should)."""
    snap = dict(snap, netns=[n for n in snap['netns'] if n != EXTRA['netns']])
    snap['host_links'] = [link for link in snap['host_links'] if link['peer_netns'] != EXTRA['netns']]
    snap['host_addresses'] = [a for a in snap['host_addresses'] if a['dev'] not in [EXTRA['netns'] + '0']]
    return snap


def diff(a, b, path=''):
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                out.append('%s/%s: %s -> %s' % (path, key, json.dumps(a.get(key, '(missing)')), json.dumps(b.get(key, '(missing)'))))
            else:
                out += diff(a[key], b[key], '%s/%s' % (path, key))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += diff(x, y, '%s[%d]' % (path, i))
        return out
    return [] if a == b else ['%s: %s -> %s' % (path, json.dumps(a), json.dumps(b))]


def count(snap):
    """Figures of a snapshot: what the comparison covered."""
    nodes = snap['nodes'].values()
    return {'nodes': len(snap['nodes']), 'links': sum(len(n['links']) for n in nodes) + len(snap['host_links']),
            'addresses': sum(len(n['addresses']) for n in nodes) + len(snap['host_addresses']),
            'routes': sum(len(n['routes']) for n in nodes), 'sysctls': sum(len(n['sysctl']) for n in nodes),
            'hostnames': sum(1 for n in nodes if n['hostname']),
            'etc_netns files': sum(len(n['etc_netns']) for n in nodes),
            'node mounts': sum(len(n['mounts'] or []) for n in nodes), 'id maps': sum(1 for n in nodes if n['uid_map']),
            'services': len(snap['services']), 'http answers': sum(1 for v in snap['http'].values() if v)}


def check_lab(snap):
    errors = []
    if set(NODES) - set(snap['netns']):
        errors.append('nodes missing from ip netns list: %s' % sorted(set(NODES) - set(snap['netns'])))
    for name in NODES:
        n = snap['nodes'].get(name)
        if not n:
            continue
        eth0 = [link for link in n['links'] if link['name'] == 'eth0']
        if not eth0 or eth0[0]['kind'] != 'veth' or eth0[0]['state'] != 'UP' or eth0[0]['peer_netns'] != BRIDGE:
            errors.append('%s: eth0 is not an up veth to the bridge node %s: %s' % (name, BRIDGE, eth0))
        if not [a for a in n['addresses'] if a['dev'] == 'eth0' and a['local'].startswith('10.231.0.')]:
            errors.append('%s: no 10.231.0.x address on eth0: %s' % (name, n['addresses']))
        if n['hostname'] != name:
            errors.append('%s: hostname %r' % (name, n['hostname']))
    if snap['nodes'].get('tenant', {}).get('sysctl', {}).get('net.ipv4.ip_unprivileged_port_start') != '80':
        errors.append('tenant: net.ipv4.ip_unprivileged_port_start is not 80: %s' % snap['nodes'].get('tenant', {}).get('sysctl'))
    tenant = snap['nodes'].get('tenant', {})
    if not (tenant.get('uid_map') or '').startswith('0 ') or int((tenant.get('uid_map') or '0 0').split()[1]) == 0:
        errors.append('tenant: uid_map %r does not map root to a subordinate range' % tenant.get('uid_map'))
    vault = snap['nodes'].get('vault', {})
    if not [m for m in vault.get('mounts') or [] if m['target'] == '/data' and m['fstype'] == 'tmpfs']:
        errors.append('vault: no private tmpfs on /data: %s' % vault.get('mounts'))
    blinks = snap['nodes'].get(BRIDGE, {}).get('links', [])
    bridges = [link['name'] for link in blinks if link['kind'] == 'bridge' and link['state'] == 'UP']
    ports = [link for link in blinks if link['kind'] == 'veth' and link['master'] in bridges and link['peer_netns'] in NODES]
    if len(bridges) != 1 or sorted(p['peer_netns'] for p in ports) != sorted(NODES):
        errors.append('the bridge node %s: bridges %s, ports to %s: %s' % (BRIDGE, bridges, [p['peer_netns'] for p in ports], blinks))
    for svc, (_net_node, node) in sorted(SERVICES.items()):
        s = snap['services'].get(svc)
        if not s:
            errors.append('%s: not running (no MainPID)' % svc)
            continue
        # a service's mount namespace is its own, made from its node's (for the /proc of its PID namespace): not the pin
        why = [k for k in ('in_node_net', 'own_pid_ns') if not s[k]] + [k for k in ('in_node_uts', 'in_node_user') if s[k] is False]
        if why or s['nspid_inside'] != '1' or s['hostname'] != node:
            errors.append('%s (pid %s): not in %s as declared: %s, PID inside %s, hostname %s' % (
                svc, s['pid'], node, why, s['nspid_inside'], s['hostname']))
    if not snap['services'].get('tenant-http', {}).get('uid_map', '').startswith('0 '):
        errors.append('tenant-http: uid_map %r' % snap['services'].get('tenant-http', {}).get('uid_map'))
    if not [m for m in snap['services'].get('vault-http', {}).get('mounts', []) if m['target'] == '/data' and m['fstype'] == 'tmpfs']:
        errors.append("vault-http: no tmpfs on /data in its view")
    for src, dst in HTTP:
        answer = snap['http'].get('%s->%s' % (src, dst)) or ''
        if not answer.startswith('%s pid=1 ' % dst):
            errors.append('HTTP %s -> %s answered %r' % (src, dst, answer))
    if not (snap['http'].get('web-a-sidecar-probe->127.0.0.1') or '').startswith('web-a pid=1 '):
        errors.append('HTTP from the sidecar to 127.0.0.1 answered %r' % snap['http'].get('web-a-sidecar-probe->127.0.0.1'))
    return errors


def escape(name):
    """systemd-escape of a unit's instance (web-a -> web\\x2da)."""
    out = ''
    for i, ch in enumerate(name):
        if ch == '/':
            out += '-'
        elif (ch.isascii() and ch.isalnum()) or ch in ':_' or (ch == '.' and i > 0):
            out += ch
        else:
            out += '\\x%02x' % ord(ch)
    return out


def words(value):
    """The unit names of a list property (systemctl show quotes the ones with a backslash)."""
    return shlex.split(value or '')


def mono(unit, prop):
    return int(unit.get(prop) or 0)


def check_systemd(snap):
    errors = []
    units = snap['units']
    mine = sorted(u for u in units if u.startswith('nsforge'))
    node_units = dict((n, 'nsforge-node@%s.service' % escape(n)) for n in NODES + [BRIDGE, SIDECAR])
    svc_units = dict((s, 'nsforge-service-%s.service' % s) for s in SERVICES)
    for unit in sorted(set(node_units.values()) | set(svc_units.values())):
        if unit not in units and unit != node_units[SIDECAR]:
            errors.append('%s: not loaded' % unit)
    for unit in mine:
        if units[unit]['ActiveState'] != 'active':
            errors.append('%s: %s/%s (result %s)' % (unit, units[unit]['ActiveState'], units[unit]['SubState'], units[unit]['Result']))
    online = units['network-online.target']
    online_at = mono(online, 'ActiveEnterTimestampMonotonic')
    for node, unit in sorted(node_units.items()):
        if unit not in units:
            continue
        u = units.get(unit, {})
        if 'network-online.target' not in words(u.get('Before')):
            errors.append('%s: Before= lacks network-online.target: %s' % (unit, u.get('Before')))
        if not 0 < mono(u, 'ActiveEnterTimestampMonotonic') <= online_at:
            errors.append('%s: active at %s us, network-online.target at %s us' % (unit, u.get('ActiveEnterTimestampMonotonic'), online_at))
    for svc, (node, _own) in sorted(SERVICES.items()):
        u = units.get(svc_units[svc], {})
        nu = units.get(node_units[node], {})
        if node_units[node] not in words(u.get('After')):
            errors.append('%s: After= lacks %s: %s' % (svc_units[svc], node_units[node], u.get('After')))
        if mono(nu, 'ActiveEnterTimestampMonotonic') > mono(u, 'InactiveExitTimestampMonotonic'):
            errors.append('%s started (%s us) before its node was up (%s us)' % (
                svc_units[svc], u.get('InactiveExitTimestampMonotonic'), nu.get('ActiveEnterTimestampMonotonic')))
    for svc in WEB:
        u = units.get(svc_units[svc], {})
        if (u.get('MemoryMax'), u.get('TasksMax')) != (str(64 * 1024 * 1024), '32'):
            errors.append('%s: MemoryMax=%s TasksMax=%s, not 64M and 32' % (svc_units[svc], u.get('MemoryMax'), u.get('TasksMax')))
        cg = snap['services'].get(svc, {}).get('cgroup', {})
        if cg and (cg.get('memory') not in (None, str(64 * 1024 * 1024)) or cg.get('pids') not in (None, '32')):
            errors.append('%s: its cgroup says memory %s pids %s' % (svc, cg.get('memory'), cg.get('pids')))
    return errors, mine


def check_extra(snap, want):
    extra = snap.get('extra') or {}
    present = bool(extra.get('netns')) and bool(extra.get('pids'))
    absent = not extra.get('netns') and not extra.get('pids')
    if (want == 'present' and not present) or (want == 'absent' and not absent):
        return ['the non-persisted node %s and builtin service (%s) should be %s: %s' % (EXTRA['netns'], EXTRA['marker'], want, extra)]
    return []


def leader(folder, host):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'fleet'))
    import systemd_host  # pylint: disable=import-outside-toplevel
    return systemd_host.leader(folder, host)


def poll(folder, host, out, timeout=60.0):
    """Until the host's next boot answers HTTP (web-b -> web-a): write {answered: epoch, tries} to OUT."""
    first = leader(folder, host)
    deadline = time.time() + timeout
    tries = 0
    while time.time() < deadline:
        pid = leader(folder, host)
        ns = '/proc/%s/root/run/netns/web-b' % pid
        if pid and pid != first and os.path.exists(ns):
            tries += 1
            proc = subprocess.run(['nsenter', '--net=' + ns, sys.executable, '-c', FETCH, 'http://10.231.0.2/'],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
            if proc.returncode == 0 and proc.stdout.decode().startswith('web-a '):
                with open(out, 'w') as handle:
                    json.dump({'answered': time.time(), 'tries': tries, 'answer': proc.stdout.decode().strip()}, handle)
                return 0
        time.sleep(0.05)
    return 1


def timeline(reboot, snap, polled):
    """Seconds from the request: the container's monotonic clock is the sandbox's (one kernel, no time namespace)."""
    offset = snap['time'] - snap['monotonic']
    asked = reboot['requested']

    def at(unit, prop):
        value = mono(snap['units'].get(unit, {}), prop)
        return round(value / 1e6 + offset - asked, 3) if value else None
    rows = [('old boot down (nspawn ended)', reboot['down']), ('nspawn started again', reboot['nspawn'])]
    for unit in sorted(u for u in snap['units'] if u.startswith('nsforge-node@')):
        rows.append(('%s active' % unit, at(unit, 'ActiveEnterTimestampMonotonic')))
    rows.append(('network-online.target', at('network-online.target', 'ActiveEnterTimestampMonotonic')))
    for unit in sorted(u for u in snap['units'] if u.startswith('nsforge-service-')):
        rows.append(('%s starting (ExecStart)' % unit, at(unit, 'InactiveExitTimestampMonotonic')))
        rows.append(('%s active (its startup check passed)' % unit, at(unit, 'ActiveEnterTimestampMonotonic')))
    rows += [('ssh.service active', at('ssh.service', 'ActiveEnterTimestampMonotonic')),
             ('sshd answered (fleet.py)', reboot['ssh']), ('is-system-running (fleet.py)', reboot['running']),
             ('lab answered HTTP web-b -> web-a (polled from the sandbox)', round(polled['answered'] - asked, 3) if polled else None)]
    return sorted(rows, key=lambda row: (row[1] is None, row[1] or 0))


def main(argv):
    cmd = argv[0]
    errors = []
    if cmd == 'spec':
        print(json.dumps({'nodes': NODES + [BRIDGE, SIDECAR], 'services': SERVICES, 'sysctl': SYSCTL, 'http': HTTP,
                          'pod': ['web-a-sidecar-probe', 80], 'extra': EXTRA}))
    elif cmd == 'lab':
        snap = load(argv[1])
        errors = check_lab(snap)
        print('lab checked: %s' % ', '.join('%d %s' % (v, k) for k, v in count(snap).items()))
    elif cmd == 'same':
        before, after = lab_only(load(argv[1])), lab_only(load(argv[2]))
        errors = ['changed by the reboot: ' + line for line in diff(normal(before), normal(after))]
        changed = [k for k in ('pid', 'inodes', 'ifindex', 'mac') if diff(before, after) and
                   any(('/%s' % k) in line for line in diff(before, after))]
        print('compared %s with %s: %s; fields that differ, as allowed: %s' % (
            os.path.basename(argv[2]), os.path.basename(argv[1]), ', '.join('%d %s' % (v, k) for k, v in count(after).items()),
            ', '.join(changed) or 'none'))
    elif cmd == 'systemd':
        errors, mine = check_systemd(load(argv[1]))
        print('systemd: %d nsforge units active; limits, After=, Before= and this boot\'s order checked' % len(mine))
    elif cmd == 'extra':
        errors = check_extra(load(argv[1]), argv[2])
        print('non-persisted node %s and builtin service: %s as expected' % (EXTRA['netns'], argv[2]) if not errors else '')
    elif cmd == 'poll':
        return poll(argv[1], argv[2], argv[3])
    elif cmd == 'timeline':
        polled = load(argv[3]) if os.path.exists(argv[3]) else None
        print('reboot timeline, seconds from `systemctl reboot`:')
        for what, sec in timeline(load(argv[1]), load(argv[2]), polled):
            print('  %8s  %s' % ('-' if sec is None else '%.3f' % sec, what))
    for line in errors:
        print('FAIL: ' + line, file=sys.stderr)
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
