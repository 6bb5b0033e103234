# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One benchmark measurement, run inside a throwaway sandbox (tests/sandbox.sh) by bench/run.py.

Usage: workload.py w1 WAY N | w2 SERVICES NODES | w3 SERVICES [RUNS] | soak NODES SERVICES RUNS
       workload.py w4 FORM N          (FORM bulk: this collection; peritem: BENCH_COLLECTIONS_PERITEM's netlab role)
       workload.py engine-profile N [TOP]
Prints one JSON object: the timings, the peak resident memory of the measured
process where there is one, and `verified`, the result of checking with
independent tools (ip, nsenter, /proc, lsns) that the declared state exists.
engine-profile runs the netns engine on the W1 lab of N nodes under cProfile,
from scratch and again, and prints, for each run, its time and the TOP
functions (default 25) by their own time, then by cumulative time.

Environment: BENCH_PYTHON (the interpreter with ansible-core and pyroute2),
BENCH_COLLECTIONS (ANSIBLE_COLLECTIONS_PATH holding nsforge.linux and, for
W1 way `ipnetns`, community.general).
"""

from __future__ import absolute_import, division, print_function

import json
import os
import re
import subprocess
import sys
import tempfile
import time

import topology

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = os.environ.get('BENCH_PYTHON', sys.executable)
COLLECTIONS = os.environ['BENCH_COLLECTIONS']
WORK = tempfile.mkdtemp(prefix='nsforge-bench.')
MODULES = 'ansible_collections.nsforge.linux.plugins.modules.'


def run_measured(argv, env=None):
    """Run argv and return (seconds, peak resident KiB of that process itself, stdout)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    out_path = os.path.join(WORK, 'out.%d' % time.monotonic_ns())
    with open(out_path, 'wb') as out, open(out_path + '.err', 'wb') as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=full_env)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    with open(out_path) as handle:
        text = handle.read()
    if proc.returncode != 0:
        with open(out_path + '.err') as handle:
            raise SystemExit('%s failed (%d): %s %s'
                             % (' '.join(argv[:4]), proc.returncode, text[-2000:], handle.read()[-2000:]))
    return seconds, usage.ru_maxrss, text


def module(name, args):
    """Run a module of the collection directly (no Ansible controller); return (seconds, KiB, result)."""
    path = os.path.join(WORK, '%s.%d.json' % (name, time.monotonic_ns()))
    with open(path, 'w') as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': args}, handle)
    seconds, rss, out = run_measured([PYTHON, '-m', MODULES + name, path], env={'PYTHONPATH': COLLECTIONS})
    result = json.loads(out)
    if result.get('failed'):
        raise SystemExit('module %s failed: %s' % (name, result.get('msg')))
    return seconds, rss, result


def playbook(plays, collections=None):
    """Run a playbook against localhost through ansible-playbook; return (seconds, changed tasks)."""
    path = os.path.join(WORK, 'play.%d.json' % time.monotonic_ns())
    with open(path, 'w') as handle:
        json.dump(plays, handle)
    inventory = os.path.join(WORK, 'inventory.ini')
    with open(inventory, 'w') as handle:
        handle.write('localhost ansible_connection=local ansible_python_interpreter=%s\n' % PYTHON)
    bindir = os.path.dirname(PYTHON)
    env = {'ANSIBLE_COLLECTIONS_PATH': collections or COLLECTIONS, 'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_RETRY_FILES_ENABLED': '0',
           'ANSIBLE_HOST_KEY_CHECKING': '0', 'PATH': bindir + ':' + os.environ.get('PATH', '')}
    seconds, _rss, out = run_measured([os.path.join(bindir, 'ansible-playbook'), '-i', inventory, path], env=env)
    found = re.search(r'localhost\s*:\s*ok=\d+\s+changed=(\d+)', out)
    return seconds, int(found.group(1)) if found else None


# ---------------------------------------------------------------------------
# independent verification


def sh(argv):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout.decode()


def node_network(name, batch):
    """eth0 and the default routes of a node as ip -j shows them (the two commands of the batch file; empty when
    they fail): ip run by nsenter in the node's network namespace only. (ip -n and ip netns exec also unshare a
    mount namespace, a copy of the whole mount table, which holds two pins per node: checking N nodes that way
    costs N^2, 20 minutes at 10,000.)"""
    proc = subprocess.run(['nsenter', '--net=/run/netns/' + name, 'ip', '-j', '-b', batch],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    lists = [json.loads(line) for line in proc.stdout.decode().splitlines() if line.strip()]
    return lists if proc.returncode == 0 and len(lists) == 2 else ([], [])


def verify_w1(n):
    """Check the W1 lab with ip and nsenter; return a list of problems (empty when it is right)."""
    problems = []
    names = set(item['name'] for item in json.loads(sh(['ip', '-j', 'netns', 'list']) or '[]'))
    want = set(['sw'] + ['n%d' % i for i in range(1, n + 1)])
    if names != want:
        problems.append('ip netns list: %d namespaces, %d expected' % (len(names), len(want)))
    # every port on its bridge and up
    want_master = dict((topology.node(i)['port'], topology.node(i)['bridge']) for i in range(1, n + 1))
    links = json.loads(sh(['ip', '-n', 'sw', '-j', 'link', 'show']) or '[]')
    got_master = dict((link['ifname'], link.get('master')) for link in links
                      if link['ifname'] in want_master and 'UP' in link.get('flags', []))
    if got_master != want_master:
        wrong = sorted(set(want_master) - set(p for p, m in got_master.items() if m == want_master[p]))
        problems.append('%d of %d ports not up on their bridge (%s%s)'
                        % (len(wrong), n, ', '.join(wrong[:5]), '...' if len(wrong) > 5 else ''))
    # every node: eth0 up with both addresses, a default route
    batch = os.path.join(WORK, 'verify.batch')
    with open(batch, 'w') as handle:
        handle.write('addr show dev eth0\nroute show default\n')
    for i in range(1, n + 1):
        item = topology.node(i)
        links, default = node_network(item['name'], batch)
        got = sorted('%s/%d' % (a['local'], a['prefixlen']) for link in links for a in link.get('addr_info', [])
                     if a.get('scope') != 'link')
        if got != sorted([item['v4'], item['v6']]) or not links or 'UP' not in links[0].get('flags', []):
            problems.append('%s: eth0 addresses %s' % (item['name'], got))
        if [r.get('gateway') for r in default] != [item['gw4']]:
            problems.append('%s: default route %s' % (item['name'], default))
    # hostnames of a sample of nodes, with nsenter (a process per node is too slow for all)
    for i in sorted(set([1, n, (n + 1) // 2])):
        name = 'n%d' % i
        handle = '/run/nsforge/nodes/%s/uts' % name
        if not os.path.exists(handle):
            handle = '/run/bench-uts/%s' % name
        got = sh(['nsenter', '--uts=' + handle, 'hostname']).strip()
        if got != name:
            problems.append('%s: hostname %r' % (name, got))
    return problems[:10]


def verify_removed():
    """After a lab's removal: no namespace pinned (ip netns list), no node state left, no veth port left."""
    problems = []
    names = [item['name'] for item in json.loads(sh(['ip', '-j', 'netns', 'list']) or '[]')]
    if names:
        problems.append('after removal, ip netns list: %s' % ', '.join(sorted(names)[:5]))
    state = '/run/nsforge/nodes'
    left = os.listdir(state) if os.path.isdir(state) else []
    if left:
        problems.append('after removal, %d node folders left in %s' % (len(left), state))
    links = [link['ifname'] for link in json.loads(sh(['ip', '-j', 'link', 'show']) or '[]') if link['ifname'] != 'lo']
    if links:
        problems.append('after removal, links in the sandbox: %s' % ', '.join(links[:5]))
    return problems


# ---------------------------------------------------------------------------
# W1


def w1(way, n):
    if way == 'module':
        return w1_module(n)
    result = {'workload': 'w1', 'way': way, 'n': n}
    if way == 'play':
        args_path = os.path.join(WORK, 'w1-args.json')
        with open(args_path, 'w') as handle:
            json.dump(topology.netns_args(n), handle)
        plays = topology.netns_playbook(args_path)
        result['seconds'], result['changed'] = playbook(plays)
        result['again_seconds'], result['again_changed'] = playbook(plays)
    elif way == 'engine':
        result['seconds'], result['changed'] = engine_netns(topology.netns_args(n))
        result['again_seconds'], result['again_changed'] = engine_netns(topology.netns_args(n))
    elif way == 'shell':
        path = os.path.join(WORK, 'w1.sh')
        with open(path, 'w') as handle:
            handle.write(topology.shell_script(n))
        result['seconds'], result['rss_kib'], _out = run_measured(['bash', path])
    elif way == 'ipnetns':
        result['seconds'], result['changed'] = playbook(topology.ip_netns_playbook(n))
    elif way == 'floor':
        result['seconds'], result['rss_kib'], _out = run_measured(
            [PYTHON, os.path.join(HERE, 'floor.py'), str(n)], env={'PYTHONPATH': COLLECTIONS})
    else:
        raise SystemExit('unknown way %s' % way)
    problems = verify_w1(n)
    result['verified'] = not problems
    result['problems'] = problems
    return result


def w1_module(n):
    """The netns module run directly: the lab from scratch, again (nothing to change), nsinfo while it exists
    (verified with ip and nsenter), then the lab removed (verified: nothing left)."""
    result = {'workload': 'w1', 'way': 'module', 'n': n}
    args = topology.netns_args(n)
    result['seconds'], result['rss_kib'], first = module('netns', args)
    result['again_seconds'], result['again_rss_kib'], again = module('netns', args)
    result['changes'] = len(first['changes'])
    result['changed'] = first['changed']
    result['again_changed'] = again['changed']
    result['nsinfo_seconds'], result['nsinfo_rss_kib'], info = module('nsinfo', {})
    result['nsinfo_nodes'] = len(info['nodes'])
    problems = verify_w1(n)
    if result['nsinfo_nodes'] != n + 1:
        problems.append('nsinfo: %d nodes, %d expected' % (result['nsinfo_nodes'], n + 1))
    remove = {'state': 'absent', 'namespaces': [{'name': item['name']} for item in args['namespaces']]}
    result['remove_seconds'], result['remove_rss_kib'], removed = module('netns', remove)
    result['remove_changed'] = removed['changed']
    problems.extend(verify_removed())
    result['verified'] = not problems
    result['problems'] = problems[:10]
    return result


def engine_netns(args):
    """The netns engine's own time, in this process: validation, reading, planning, applying, facts."""
    sys.path.insert(0, COLLECTIONS)
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    from ansible_collections.nsforge.linux.plugins.module_utils import netlink, netns_engine, specs
    spec = specs.netns()
    validated = ArgumentSpecValidator(spec['argument_spec']).validate(args)
    if validated.error_messages:
        raise SystemExit('; '.join(validated.error_messages))
    session = netlink.Session()
    start = time.perf_counter()
    try:
        result = netns_engine.converge(validated.validated_parameters, False, session)
    finally:
        session.close()
    return time.perf_counter() - start, result['changed']


# ---------------------------------------------------------------------------
# W2 and W3: services


def service_params(name, node):
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    from ansible_collections.nsforge.linux.plugins.module_utils import specs
    spec = specs.nsproc()['argument_spec']
    validated = ArgumentSpecValidator(spec).validate({
        'name': name, 'command': ['sleep', '1000000'], 'startup_check': 0,
        'namespaces': {'net': node, 'pid': 'new', 'uts': 'new', 'ipc': 'new', 'mnt': 'new'},
    })
    if validated.error_messages:
        raise SystemExit("; ".join(validated.error_messages))
    return validated.validated_parameters


def make_nodes(count):
    seconds, _rss, result = module('netns', {'namespaces': [{'name': 'node%d' % i} for i in range(count)]})
    return seconds


def start_services(count, nodes):
    """Start services in-process through the engine; return the engine seconds of each start."""
    sys.path.insert(0, COLLECTIONS)
    from ansible_collections.nsforge.linux.plugins.module_utils import supervisors
    times = []
    for i in range(count):
        params = service_params('svc%d' % i, 'node%d' % (i % nodes))
        start = time.perf_counter()
        supervisors.converge(params, False)
        times.append(time.perf_counter() - start)
    return times


def _kib(path, key):
    with open(path) as handle:
        for line in handle:
            if line.startswith(key):
                return int(line.split()[1])
    return 0


def rss_kib(pid):
    return _kib('/proc/%d/status' % pid, 'VmRSS:')


def pss_kib(pid):
    """Proportional set size: pages shared with other processes (libc) count as their share only."""
    return _kib('/proc/%d/smaps_rollup' % pid, 'Pss:')


def tree(pid):
    """pid and its descendants."""
    out = [pid]
    with open('/proc/%d/task/%d/children' % (pid, pid)) as handle:
        for child in handle.read().split():
            out.extend(tree(int(child)))
    return out


def verify_services(count, nodes):
    """Check the services with /proc and stat: running, PID 1 of their own PID namespace, in their node's network."""
    sys.path.insert(0, COLLECTIONS)
    from ansible_collections.nsforge.linux.plugins.module_utils import nsproc_records
    problems = []
    host_pid_ns = os.stat('/proc/self/ns/pid').st_ino
    pid_namespaces = set()
    overhead = []
    for i in range(count):
        record = nsproc_records.read_record('svc%d' % i)
        pid = record['pid']
        pid_ns = os.stat('/proc/%d/ns/pid' % pid).st_ino
        pid_namespaces.add(pid_ns)
        with open('/proc/%d/status' % pid) as handle:
            nspid = [line.split()[1:] for line in handle if line.startswith('NSpid:')][0]
        net = os.stat('/proc/%d/ns/net' % pid).st_ino
        node_net = os.stat('/run/netns/node%d' % (i % nodes)).st_ino
        if pid_ns == host_pid_ns or nspid[-1] != '1' or net != node_net:
            problems.append('svc%d: pid ns %d, NSpid %s, net %d (node %d)' % (i, pid_ns, nspid, net, node_net))
        members = tree(pid)
        program = [p for p in members if open('/proc/%d/comm' % p).read().strip() == 'sleep']
        if len(program) != 1:
            problems.append('svc%d: %d sleep processes' % (i, len(program)))
            continue
        # beyond the service's own program: its init (tini) and its keeper (the parent that holds its exit status)
        keeper = (record.get('keeper') or {}).get('pid')
        with open('/proc/%d/stat' % pid) as handle:
            parent = int(handle.read().rsplit(')', 1)[1].split()[1])
        if keeper is None or parent != keeper:
            problems.append('svc%d: parent %d is not its keeper %s' % (i, parent, keeper))
            continue
        extra = [p for p in members if p != program[0]] + [keeper]
        overhead.append((sum(rss_kib(p) for p in extra), sum(pss_kib(p) for p in extra)))
    if len(pid_namespaces) != count:
        problems.append('%d distinct PID namespaces for %d services' % (len(pid_namespaces), count))
    return problems[:10], overhead


def stop_services(count):
    sys.path.insert(0, COLLECTIONS)
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    from ansible_collections.nsforge.linux.plugins.module_utils import nsproc_records, specs, supervisors
    spec = specs.nsproc()['argument_spec']
    times = []
    pids = []
    for i in range(count):
        pids.append(nsproc_records.read_record('svc%d' % i)['pid'])
        params = ArgumentSpecValidator(spec).validate({'name': 'svc%d' % i, 'state': 'absent'}).validated_parameters
        start = time.perf_counter()
        supervisors.converge(params, False)
        times.append(time.perf_counter() - start)
    left = [p for p in pids if os.path.exists('/proc/%d' % p)]
    return times, left


def median(values):
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else None


def w2(count, nodes):
    result = {'workload': 'w2', 'services': count, 'nodes': nodes}
    make_nodes(nodes)
    start_times = start_services(count, nodes)
    problems, overhead = verify_services(count, nodes)
    # one more start through the module itself, for the module process's peak memory
    _seconds, result['module_rss_kib'], started = module('nsproc', {
        'name': 'svc-extra', 'command': ['sleep', '1000000'], 'startup_check': 0,
        'namespaces': {'net': 'node0', 'pid': 'new', 'uts': 'new', 'ipc': 'new', 'mnt': 'new'}})
    if started['service']['status'] != 'running':
        problems.append('svc-extra: %s' % started['service']['status'])
    stop_times, left = stop_services(count)
    if left:
        problems.append('%d service processes left after stopping' % len(left))
    result.update({
        'start_ms_median': 1000 * median(start_times), 'start_ms_max': 1000 * max(start_times),
        'stop_ms_median': 1000 * median(stop_times), 'stop_ms_max': 1000 * max(stop_times),
        'overhead_kib_median': median([o[0] for o in overhead]), 'overhead_kib_max': max(o[0] for o in overhead),
        'overhead_pss_kib_median': median([o[1] for o in overhead]), 'overhead_pss_kib_max': max(o[1] for o in overhead),
        'verified': not problems, 'problems': problems,
    })
    return result


def w3(count, runs):
    nodes = count
    result = {'workload': 'w3', 'services': count, 'nodes': nodes}
    make_nodes(nodes)
    start_services(count, nodes)
    problems, _overhead = verify_services(count, nodes)
    times = []
    rss = []
    info = None
    for dummy in range(runs):
        seconds, kib, info = module('nsinfo', {})
        times.append(seconds)
        rss.append(kib)
    lsns = json.loads(sh(['lsns', '--json', '--list', '--output', 'NS,TYPE']))['namespaces']
    listed = set((n['kind'], n['inode']) for n in info['namespaces'])
    missing = [n for n in lsns if (n['type'], n['ns']) not in listed]
    if missing:
        problems.append('%d namespaces of lsns not in nsinfo' % len(missing))
    running = [n for n, s in info['services'].items() if s['status'] == 'running']
    if len(running) != count:
        problems.append('%d services running in nsinfo, %d expected' % (len(running), count))
    result.update({'namespaces': len(info['namespaces']), 'seconds': median(times), 'rss_kib': max(rss),
                   'verified': not problems, 'problems': problems})
    return result


def host_counts():
    """Mounts in this mount namespace and open descriptors of every process (the sandbox's whole view)."""
    with open('/proc/self/mountinfo') as handle:
        mounts = len(handle.read().splitlines())
    fds = 0
    for entry in os.listdir('/proc'):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                fds += len(os.listdir('/proc/%s/fd' % entry))
            except OSError:
                pass
    return mounts, fds


def soak(node_count, count, runs):
    """The same lab of nodes and services converged again and again: nothing changes, nothing grows.

    Each run: one netns task for the whole lab (the module as a process of its own, its peak memory
    measured), then every service declared `started` again through the engine.
    """
    sys.path.insert(0, COLLECTIONS)
    from ansible_collections.nsforge.linux.plugins.module_utils import nsproc_records, supervisors
    args = topology.netns_args(node_count)
    params = [service_params('svc%d' % i, 'n%d' % (i % node_count + 1)) for i in range(count)]
    rows = []
    pids = None
    problems = []
    for run_index in range(runs):
        seconds, rss, result = module('netns', args)
        changed_services = 0
        start = time.perf_counter()
        for item in params:
            changed_services += bool(supervisors.converge(item, False)['changed'])
        service_seconds = time.perf_counter() - start
        records = [nsproc_records.read_record('svc%d' % i) for i in range(count)]
        alive = [r for r in records if nsproc_records.alive(r)]
        now = sorted(r['pid'] for r in alive)
        if pids is None:
            pids = now
        elif now != pids:
            problems.append('run %d: the services\' processes changed' % (run_index + 1))
        mounts, fds = host_counts()
        rows.append({'run': run_index + 1, 'seconds': seconds, 'rss_kib': rss, 'changed': result['changed'],
                     'services_changed': changed_services, 'services_seconds': service_seconds,
                     'alive': len(alive), 'mounts': mounts, 'fds': fds})
        if run_index and (result['changed'] or changed_services):
            problems.append('run %d: changed (netns %s, %d services)' % (run_index + 1, result['changed'], changed_services))
        if len(alive) != count:
            problems.append('run %d: %d of %d services up' % (run_index + 1, len(alive), count))
    later = rows[1:]
    if later:
        if max(r['mounts'] for r in later) > rows[1]['mounts'] or max(r['fds'] for r in later) > rows[1]['fds']:
            problems.append('mounts or descriptors grew: %s' % [(r['mounts'], r['fds']) for r in later])
        if max(r['rss_kib'] for r in later) > min(r['rss_kib'] for r in later) + 4096:
            problems.append('module memory grew: %s' % [r['rss_kib'] for r in later])
    problems.extend(verify_w1(node_count))
    return {'workload': 'soak', 'nodes': node_count, 'services': count, 'runs': runs, 'rows': rows,
            'verified': not problems, 'problems': problems[:10]}


# ---------------------------------------------------------------------------
# W4


def verify_w4(n, present):
    """Check the W4 lab with ip, /proc, findmnt and nsenter; return a list of problems (empty when it is right)."""
    problems = []
    names = set(item['name'] for item in json.loads(sh(['ip', '-j', 'netns', 'list']) or '[]'))
    nodes = [topology.w4_node(i) for i in range(1, n + 1)]
    want = set(node['name'] for node in nodes) | set(node['bridge'] for node in nodes) if present else set()
    if names != want:
        problems.append('ip netns list: %d namespaces, %d expected' % (len(names), len(want)))
    records = dict((f[:-5], f) for f in os.listdir('/run/nsforge/services') if f.endswith('.json')) \
        if os.path.isdir('/run/nsforge/services') else {}
    if not present:
        if records:
            problems.append('%d service records left' % len(records))
        # the services (tini, sleep) and their keepers (sleep) all end with the argument infinity
        left = [p for p in os.listdir('/proc') if p.isdigit() and _ours(_cmdline(p))]
        if left:
            problems.append('%d processes of the services left' % len(left))
        return problems
    pids = {}
    for node in nodes:
        try:
            with open('/run/nsforge/services/%s.json' % node['service']) as handle:
                record = json.load(handle)
        except (IOError, OSError, ValueError):
            problems.append('%s: no record' % node['service'])
            continue
        pid = record['pid']
        pids[node['name']] = pid
        try:
            same_net = os.stat('/proc/%d/ns/net' % pid).st_ino == os.stat('/run/netns/' + node['name']).st_ino
            with open('/proc/%d/mountinfo' % pid) as handle:
                scratch = [line for line in handle if ' %s ' % topology.W4_SCRATCH in line and ' - tmpfs ' in line]
            with open('/proc/%d/uid_map' % pid) as handle:
                uid_map = handle.read().split()
        except (IOError, OSError) as exc:
            problems.append('%s: pid %d: %s' % (node['service'], pid, exc))
            continue
        if not same_net:
            problems.append('%s: not in the network namespace of %s' % (node['service'], node['name']))
        if not scratch:
            problems.append('%s: no tmpfs on %s' % (node['service'], topology.W4_SCRATCH))
        want_map = ['0', str(topology.W4_OUTSIDE), '65536'] if node['user'] else ['0', '0', '4294967295']
        if uid_map != want_map:
            problems.append('%s: uid_map %s' % (node['service'], uid_map))
    # a sample, with the tools a user would reach for
    for i in sorted(set([1, n, (n + 1) // 2])):
        node = topology.w4_node(i)
        if node['name'] not in pids:
            continue
        fstype = sh(['findmnt', '-N', str(pids[node['name']]), '-n', '-o', 'FSTYPE', '--mountpoint',
                     topology.W4_SCRATCH]).strip()
        if fstype != 'tmpfs':
            problems.append('%s: findmnt %s: %r' % (node['name'], topology.W4_SCRATCH, fstype))
        addr = sh(['nsenter', '--net=/run/netns/' + node['name'], 'ip', '-br', '-4', 'addr', 'show', 'eth0'])
        if 'UP' not in addr or '10.241.' not in addr:
            problems.append('%s: eth0 %r' % (node['name'], addr.strip()))
    return problems[:10]


def _ours(cmdline):
    return bool(cmdline) and cmdline[-1] == 'infinity' and os.path.basename(cmdline[0]) in ('sleep', 'tini')


def _cmdline(pid):
    try:
        with open('/proc/%s/cmdline' % pid, 'rb') as handle:
            return [a.decode('utf-8', 'replace') for a in handle.read().split(b'\0') if a]
    except (IOError, OSError):
        return None


def w4(form, n):
    """Deploy, deploy again and remove the W4 lab through ansible-playbook and the netlab role."""
    result = {'workload': 'w4', 'form': form, 'n': n}
    collections = COLLECTIONS if form == 'bulk' else os.environ['BENCH_COLLECTIONS_PERITEM']
    path = os.path.join(WORK, 'w4-topology.json')
    with open(path, 'w') as handle:
        json.dump(topology.w4_topology(n), handle)
    problems = []
    for step, state in (('deploy', 'present'), ('again', 'present'), ('remove', 'absent')):
        result[step + '_seconds'], result[step + '_changed'] = playbook(topology.w4_playbook(path, state),
                                                                        collections=collections)
        found = verify_w4(n, state == 'present')
        problems += ['%s: %s' % (step, p) for p in found]
    result['verified'] = not problems
    result['problems'] = problems[:10]
    return result


def engine_profile(n, top):
    """The netns engine on the W1 lab under cProfile: where its time goes (docs/benchmarks.md, "What grows")."""
    import cProfile
    import importlib
    import io
    import pstats
    sys.path.insert(0, COLLECTIONS)
    # imported before the profiler starts: the profile is of the work, not of the imports
    for name in ('ansible.module_utils.common.arg_spec', 'ansible_collections.nsforge.linux.plugins.module_utils.netlink',
                 'ansible_collections.nsforge.linux.plugins.module_utils.netns_engine'):
        importlib.import_module(name)
    args = topology.netns_args(n)
    for label in ('from scratch', 'again'):
        profiler = cProfile.Profile()
        profiler.enable()
        seconds, changed = engine_netns(args)
        profiler.disable()
        print('=== engine, W1 %s, %s: %.2f s under cProfile (changed: %s)' % (topology.describe(n), label, seconds,
                                                                              changed))
        for order in ('tottime', 'cumulative'):
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).strip_dirs().sort_stats(order).print_stats(top)
            print('--- by %s' % order)
            print('\n'.join(line for line in text.getvalue().splitlines() if line.strip()
                            and not line.lstrip().startswith(('Ordered by', 'List reduced'))))
    problems = verify_w1(n)
    print('=== verified: %s' % ('yes' if not problems else '; '.join(problems)))
    if problems:
        raise SystemExit(1)


def main(argv):
    if argv[0] == 'engine-profile':
        engine_profile(int(argv[1]), int(argv[2]) if len(argv) > 2 else 25)
        return
    if argv[0] == 'w1':
        out = w1(argv[1], int(argv[2]))
    elif argv[0] == 'w2':
        out = w2(int(argv[1]), int(argv[2]))
    elif argv[0] == 'w3':
        out = w3(int(argv[1]), int(argv[2]) if len(argv) > 2 else 3)
    elif argv[0] == 'w4':
        out = w4(argv[1], int(argv[2]))
    elif argv[0] == 'soak':
        out = soak(int(argv[1]), int(argv[2]), int(argv[3]))
    else:
        raise SystemExit(__doc__)
    print(json.dumps(out, sort_keys=True))


if __name__ == '__main__':
    main(sys.argv[1:])
