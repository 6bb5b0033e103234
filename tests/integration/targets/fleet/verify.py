# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check the default lab on hosts of the simulated fleet with tools independent of the collection, entering each
host's namespaces with nsenter (tests/fleet/fleet.py gives the PID of each host's init).

    python verify.py FLEET_DIR baseline HOST...   # before the lab: what clean compares with
    python verify.py FLEET_DIR deployed HOST...   # the whole lab, on each host its own, and web-a published
    python verify.py FLEET_DIR no-services HOST...  # no service runs (a run stopped before starting them)
    python verify.py FLEET_DIR clean HOST...      # nothing of the lab is left
Environment: LAB_PUBLISH_PORT (default 8080). Exit status 1 with a list of what is wrong.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import subprocess
import sys
import urllib.request

NODES = {'web-a': '10.231.0.2/24', 'web-b': '10.231.0.3/24', 'tenant': '10.231.0.4/24', 'vault': '10.231.0.5/24'}
NETNS = sorted(list(NODES) + ['lan'])
SERVICES = sorted(['web-a-http', 'web-b-http', 'web-a-sidecar-probe', 'tenant-http', 'vault-http'])
TABLE = 'nsforge_default'
PORT = int(os.environ.get('LAB_PUBLISH_PORT', '8080'))
ERRORS = []


def check(ok, what):
    if not ok:
        ERRORS.append(what)
    return ok


def inside(host, args, kinds=('-m', '-n'), ok_codes=(0,)):
    """Run argv in the host's namespaces; return (rc, stdout)."""
    proc = subprocess.run(['nsenter', '-t', str(host['pid'])] + list(kinds) + ['--'] + args,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if proc.returncode not in ok_codes:
        error = proc.stderr.decode(errors='replace').strip()
        ERRORS.append('%s: %s exited %d: %s' % (host['name'], ' '.join(args), proc.returncode, error))
    return proc.returncode, proc.stdout.decode(errors='replace')


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.read().decode().strip()
    except OSError as exc:
        return 'error: %s' % exc


def netns_names(host):
    _rc, out = inside(host, ['ip', 'netns', 'list'])
    return sorted(line.split()[0] for line in out.splitlines() if line.strip())


def services(host):
    rc, out = inside(host, ['find', '/run/nsforge/services', '-maxdepth', '1', '-name', '*.json', '-printf', '%f\\n'],
                     ok_codes=(0, 1))
    return sorted(n[:-len('.json')] for n in out.split()) if rc == 0 else []


def deployed(host, seen):
    name = host['name']
    check(netns_names(host) == NETNS, '%s: ip netns list gives %s, expected %s' % (name, netns_names(host), NETNS))
    for node, addr in sorted(NODES.items()):
        _rc, out = inside(host, ['nsenter', '--net=/run/netns/%s' % node, 'ip', '-j', 'addr', 'show', 'dev', 'eth0'])
        found = ['%s/%s' % (a['local'], a['prefixlen']) for link in json.loads(out or '[]')
                 for a in link.get('addr_info', []) if a.get('family') == 'inet']
        check(found == [addr], '%s: node %s has %s on eth0, expected %s' % (name, node, found, addr))
        _rc, inode = inside(host, ['stat', '-L', '-c', '%i', '/run/netns/%s' % node])
        check(inode.strip() not in seen, '%s: network namespace of %s (inode %s) is also on %s'
              % (name, node, inode.strip(), seen.get(inode.strip())))
        seen[inode.strip()] = name
    check(services(host) == SERVICES, '%s: services %s, expected %s' % (name, services(host), SERVICES))
    _rc, record = inside(host, ['cat', '/run/nsforge/services/web-a-http.json'])
    pid = json.loads(record or '{}').get('pid')
    if check(pid, '%s: web-a-http has no PID in its record' % name):
        _rc, status = inside(host, ['cat', '/proc/%d/status' % pid])
        nspid = [line.split()[1:] for line in status.splitlines() if line.startswith('NSpid:')]
        check(nspid and nspid[0][-1] == '1', "%s: web-a-http's NSpid is %s, expected it to end in 1" % (name, nspid))
        _rc, cgroup = inside(host, ['cat', '/proc/%d/cgroup' % pid])
        memory = [line.split(':', 2)[2] for line in cgroup.splitlines() if line.split(':')[1:2] == ['memory']]
        check(memory and memory[0].endswith('/%s/nsforge/web-a-http' % name),
              "%s: web-a-http's memory cgroup is %s, expected one under the host's own subtree" % (name, memory))
    _rc, table = inside(host, ['nft', 'list', 'table', 'inet', TABLE], kinds=('-n',))
    check('tcp dport %d dnat ip to 10.231.0.2:80' % PORT in table,
          "%s: the lab's table %s has no DNAT of port %d to web-a:\n%s" % (name, TABLE, PORT, table))
    _rc, forward = inside(host, ['cat', '/proc/sys/net/ipv4/ip_forward'], kinds=('-n',))
    check(forward.strip() == '1', '%s: IPv4 forwarding is %s, expected 1 while the lab publishes a port'
          % (name, forward.strip()))
    _rc, hostname = inside(host, ['hostname'], kinds=('-u',))
    check(hostname.strip() == name, '%s: hostname %r' % (name, hostname.strip()))
    _rc, subuid = inside(host, ['cat', '/etc/subuid'])
    check(any(line.startswith('root:') for line in subuid.splitlines()), '%s: no range of root in /etc/subuid' % name)
    answer = fetch('http://%s:%d/' % (host['address'], PORT))
    check(answer.startswith('web-a pid=1 '), '%s: http://%s:%d/ answered %r' % (name, host['address'], PORT, answer))


def no_services(host):
    check(services(host) == [], '%s: services %s, expected none' % (host['name'], services(host)))


def links(host):
    _rc, out = inside(host, ['ip', '-j', 'link', 'show'])
    return sorted(link['ifname'] for link in json.loads(out or '[]'))


def read_forward(host=None):
    if host is None:
        with open('/proc/sys/net/ipv4/ip_forward') as handle:
            return handle.read().strip()
    return inside(host, ['cat', '/proc/sys/net/ipv4/ip_forward'], kinds=('-n',))[1].strip()


def clean(host, base):
    name = host['name']
    check(netns_names(host) == [], '%s: namespaces left: %s' % (name, netns_names(host)))
    check(services(host) == [], '%s: services left: %s' % (name, services(host)))
    rc, _table = inside(host, ['nft', 'list', 'table', 'inet', TABLE], kinds=('-n',), ok_codes=(0, 1))
    check(rc != 0, '%s: table inet %s is left' % (name, TABLE))
    check(read_forward(host) == base['forward'], '%s: IPv4 forwarding is %s, expected it restored to %s'
          % (name, read_forward(host), base['forward']))
    check(links(host) == base['links'], '%s: links %s, expected %s as before the lab' % (name, links(host), base['links']))
    rc, left = inside(host, ['find', '/run/nsforge/labs', '/run/nsforge-lab', '-mindepth', '1'], ok_codes=(0, 1))
    check(not left.strip(), '%s: files of the lab are left: %s' % (name, left.split()))
    answer = fetch('http://%s:%d/' % (host['address'], PORT))
    check(answer.startswith('error'), '%s: port %d still answers: %r' % (name, PORT, answer))


def main(argv):
    folder, mode, names = argv[0], argv[1], argv[2:]
    with open(os.path.join(folder, 'state.json')) as handle:
        hosts = {h['name']: h for h in json.load(handle)['hosts']}
    baseline_path = os.path.join(folder, 'baseline.json')
    if mode == 'baseline':
        base = {'sandbox_forward': read_forward(),
                'hosts': {n: {'forward': read_forward(hosts[n]), 'links': links(hosts[n])} for n in names}}
        with open(baseline_path, 'w') as handle:
            json.dump(base, handle)
    else:
        with open(baseline_path) as handle:
            base = json.load(handle)
    seen = {}
    for name in names:
        host = hosts[name]
        if mode == 'baseline':
            pass
        elif mode == 'deployed':
            deployed(host, seen)
        elif mode == 'no-services':
            no_services(host)
        elif mode == 'clean':
            clean(host, base['hosts'][name])
        else:
            raise SystemExit('unknown mode %r' % mode)
    check(read_forward() == base['sandbox_forward'], "the sandbox's own IPv4 forwarding changed")
    for error in ERRORS:
        print('FAILED: ' + error)
    print('%s: %s %s' % ('FAILED' if ERRORS else 'ok', mode, ' '.join(names)))
    return 1 if ERRORS else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
