# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The benchmark suite: every measurement in its own throwaway sandbox, medians, ratios, a results table.

Usage: python bench/run.py [--quick] [--sizes 10,100,300,1000] [--runs 3] [--output docs/benchmarks.md]
  --quick   N = 10, one run, small W2, W3 and soak: checks that the harness works and that every workload
            converged to the declared state (make test runs it); writes no table unless --output is given.
Environment: BENCH_PYTHON, BENCH_COLLECTIONS (see workload.py); BENCH_CACHE, where community.general is
unpacked for W1 (d) (default build/bench).
Exit status 1 when a workload did not converge or a re-run reported a change.
"""

from __future__ import absolute_import, division, print_function

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import zipfile

import topology

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SANDBOX = os.path.join(ROOT, 'tests', 'sandbox.sh')
PYTHON = os.environ.get('BENCH_PYTHON', sys.executable)
CACHE = os.environ.get('BENCH_CACHE', os.path.join(ROOT, 'build', 'bench'))
# The release of the `ansible` package that goes with ansible-core 2.21 (ansible 14); only its community.general is used.
ANSIBLE_PACKAGE = 'ansible==14.5.0'
IPNETNS_MAX = 100  # the common Ansible way is measured up to this N and extrapolated beyond
# W4's per-item form: the netlab role as it was before its bulk tasks (one nsproc, nsmount and uidmap task per item)
W4_PERITEM_REV = '28eb4f041de64455a6ba2ca3c2bf1b6c0dfe2bb2'


def community_general():
    """A collections folder holding community.general (unpacked from the `ansible` package on PyPI)."""
    version = ANSIBLE_PACKAGE.split('==')[1]
    target = os.path.join(CACHE, 'collections-' + version)
    if os.path.isdir(os.path.join(target, 'ansible_collections', 'community', 'general')):
        return target
    download = os.path.join(CACHE, 'download-' + version)
    subprocess.run([PYTHON, '-m', 'pip', 'download', '--quiet', '--no-deps', '--dest', download, ANSIBLE_PACKAGE],
                   check=True)
    wheel = [f for f in os.listdir(download) if f.startswith('ansible-') and f.endswith('.whl')][0]
    with zipfile.ZipFile(os.path.join(download, wheel)) as archive:
        members = [m for m in archive.namelist() if m.startswith('ansible_collections/community/general/')]
        archive.extractall(target, members)
    return target


def peritem_collection():
    """A collections folder holding nsforge.linux at W4_PERITEM_REV (its files from git, as the collection)."""
    target = os.path.join(CACHE, 'peritem-' + W4_PERITEM_REV[:12])
    where = os.path.join(target, 'ansible_collections', 'nsforge', 'linux')
    if not os.path.exists(os.path.join(where, 'galaxy.yml')):
        os.makedirs(where, exist_ok=True)
        archive = subprocess.run(['git', '-C', ROOT, 'archive', W4_PERITEM_REV, 'galaxy.yml', 'meta', 'plugins', 'roles'],
                                 stdout=subprocess.PIPE, check=True).stdout
        subprocess.run(['tar', '-x', '-C', where], input=archive, check=True)
    return target


def measure(args, extra_collections=None, env_extra=None):
    """Run one workload in a fresh sandbox; return its JSON result."""
    env = dict(os.environ)
    env['BENCH_PYTHON'] = PYTHON
    if extra_collections:
        env['BENCH_COLLECTIONS'] = env['BENCH_COLLECTIONS'] + ':' + extra_collections
    env.update(env_extra or {})
    proc = subprocess.run([SANDBOX, PYTHON, os.path.join(HERE, 'workload.py')] + [str(a) for a in args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=False)
    lines = proc.stdout.decode().strip().splitlines()
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout.decode()[-3000:] + proc.stderr.decode()[-3000:])
        raise SystemExit('workload %s failed (exit %d)' % (' '.join(str(a) for a in args), proc.returncode))
    result = json.loads(lines[-1])
    print('  %s' % json.dumps(result, sort_keys=True), flush=True)
    return result


def median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2.0


def machine():
    def first(path, key):
        try:
            with open(path) as handle:
                for line in handle:
                    if line.startswith(key):
                        return line.split(':', 1)[1].strip()
        except IOError:
            pass
        return 'unknown'
    versions = subprocess.run([PYTHON, '-c', 'import ansible, pyroute2; print(ansible.__version__, pyroute2.__version__)'],
                              stdout=subprocess.PIPE, check=True).stdout.decode().split()
    iproute = subprocess.run(['ip', '-V'], stdout=subprocess.PIPE, check=True).stdout.decode().strip()
    return {
        'cpu': first('/proc/cpuinfo', 'model name'), 'cores': os.cpu_count(),
        'memory': first('/proc/meminfo', 'MemTotal'), 'kernel': platform.release(),
        'python': subprocess.run([PYTHON, '-V'], stdout=subprocess.PIPE, check=True).stdout.decode().strip(),
        'ansible_core': versions[0], 'pyroute2': versions[1], 'iproute2': iproute,
    }


def collect(opts):
    results = {'w1': {}, 'w2': [], 'w3': []}
    extra = None
    for n in opts.sizes:
        ways = ['play', 'module', 'engine', 'shell', 'floor'] + (['ipnetns'] if n <= IPNETNS_MAX else [])
        for way in ways:
            runs = opts.runs if way != 'ipnetns' or n <= 10 else max(1, opts.runs // 2)
            if way == 'ipnetns' and extra is None:
                extra = community_general()
            print('W1 N=%d way=%s (%d run%s)' % (n, way, runs, '' if runs == 1 else 's'), flush=True)
            results['w1'].setdefault(n, {})[way] = [measure(['w1', way, n], extra if way == 'ipnetns' else None)
                                                    for dummy in range(runs)]
    for what in ('w2', 'w3', 'soak', 'w4'):
        results[what] = workload(what, opts)
    return results


def workload(what, opts):
    """The results of W2, W3 or the soak."""
    if what == 'w2':
        print('W2 %d services' % opts.services, flush=True)
        return [measure(['w2', opts.services, max(1, opts.services // 10)]) for dummy in range(opts.runs)]
    if what == 'w3':
        print('W3 %d services' % opts.facts_services, flush=True)
        return [measure(['w3', opts.facts_services, opts.runs])]
    if what == 'soak':
        print('Soak: %d nodes and %d services converged %d times' % tuple(opts.soak), flush=True)
        return measure(['soak'] + list(opts.soak))
    if what == 'w4':
        out = {}
        for n in opts.w4_sizes:
            forms = ['bulk'] + (['peritem'] if n <= opts.w4_peritem_max else [])
            for form in forms:
                runs = opts.runs if form == 'bulk' and n <= 300 else 1
                print('W4 N=%d form=%s (%d run%s)' % (n, form, runs, '' if runs == 1 else 's'), flush=True)
                env = {'BENCH_COLLECTIONS_PERITEM': peritem_collection()} if form == 'peritem' else None
                out.setdefault(n, {})[form] = [measure(['w4', form, n], env_extra=env) for dummy in range(runs)]
        return out
    raise SystemExit('unknown workload %r (w2, w3, soak, w4)' % what)


def remeasure(results, opts):
    """Measure some workloads again (after a change that touches only them), as collect() would."""
    for what in [w for w in opts.remeasure.split(',') if w]:
        if 'BENCH_COLLECTIONS' not in os.environ:
            raise SystemExit('set BENCH_COLLECTIONS (make bench does)')
        results[what] = workload(what, opts)


def problems_of(results):
    problems = []
    for n, ways in results['w1'].items():
        for way, runs in ways.items():
            for run in runs:
                if not run['verified']:
                    problems.append('W1 N=%s %s did not converge: %s' % (n, way, run['problems']))
                if way == 'play' and (run['changed'] != 1 or run['again_changed'] != 0):
                    problems.append('W1 N=%s play: changed %s, again %s' % (n, run['changed'], run['again_changed']))
                if way in ('module', 'engine') and (not run['changed'] or run['again_changed']):
                    problems.append('W1 N=%s module: changed %s, again %s' % (n, run['changed'], run['again_changed']))
                if way == 'module' and not run.get('remove_changed', True):
                    problems.append('W1 N=%s module: the removal reported no change' % n)
    for key in ('w2', 'w3'):
        for run in results[key]:
            if not run['verified']:
                problems.append('%s did not converge: %s' % (key.upper(), run['problems']))
    if not results['soak']['verified']:
        problems.append('soak: %s' % results['soak']['problems'])
    for n, forms in (results.get('w4') or {}).items():
        for form, runs in forms.items():
            for run in runs:
                if not run['verified']:
                    problems.append('W4 N=%s %s did not converge: %s' % (n, form, run['problems']))
                if not run['deploy_changed'] or run['again_changed'] != 0:
                    problems.append('W4 N=%s %s: changed %s, again %s'
                                    % (n, form, run['deploy_changed'], run['again_changed']))
    return problems


def summarize(results):
    """Medians per N and way, ratios, extrapolations and target verdicts."""
    rows = []
    sizes = sorted(results['w1'])
    ipnetns_per_node = None
    for n in sizes:
        ways = results['w1'][n]
        row = {'n': n}
        for way, runs in ways.items():
            row[way] = median(r['seconds'] for r in runs)
            if way in ('play', 'module', 'engine'):
                row[way + '_again'] = median(r['again_seconds'] for r in runs)
            if 'rss_kib' in runs[0]:
                row[way + '_rss_mb'] = max(r['rss_kib'] for r in runs) / 1024.0
        if 'ipnetns' in row:
            ipnetns_per_node = row['ipnetns'] / n
            row['ipnetns_extrapolated'] = False
        elif ipnetns_per_node is not None:
            row['ipnetns'] = ipnetns_per_node * n
            row['ipnetns_extrapolated'] = True
        rows.append(row)
    w2 = results['w2']
    w3 = results['w3']
    summary = {
        'w1': rows,
        'w2': {k: median(r[k] for r in w2) for k in ('start_ms_median', 'start_ms_max', 'stop_ms_median',
                                                     'overhead_kib_median', 'overhead_kib_max', 'overhead_pss_kib_median',
                                                     'overhead_pss_kib_max', 'module_rss_kib')},
        'w3': {k: median(r[k] for r in w3) for k in ('seconds', 'namespaces', 'rss_kib')},
    }
    summary['w2']['services'] = w2[0]['services']
    summary['w3']['services'] = w3[0]['services']
    summary['soak'] = results['soak']
    summary['w4'] = []
    for n in sorted(int(k) for k in (results.get('w4') or {})):
        forms = results['w4'].get(n) or results['w4'].get(str(n))
        row = {'n': n}
        for form, runs in forms.items():
            for step in ('deploy', 'again', 'remove'):
                row['%s_%s' % (form, step)] = median(r[step + '_seconds'] for r in runs)
            row[form + '_again_changed'] = max(r['again_changed'] for r in runs)
        summary['w4'].append(row)
    summary['targets'] = targets(summary)
    return summary


def targets(summary):
    """(what, measured, met) for each target of the issue that the sizes measured allow."""
    out = []
    by_n = dict((row['n'], row) for row in summary['w1'])
    row = by_n.get(300)
    if row:
        out.append(('W1 N=300: (a) one netns task through ansible-playbook takes no longer than (c) the ip script',
                    '(c)/(a) = %.2f' % (row['shell'] / row['play']), row['play'] <= row['shell']))
        out.append(('W1 N=300: (a) is at least 20 times faster than (d) ip_netns + command loops',
                    '(d)/(a) = %.0f%s' % (row['ipnetns'] / row['play'], ' (d extrapolated)' if row['ipnetns_extrapolated'] else ''),
                    row['ipnetns'] >= 20 * row['play']))
        out.append(('W1 N=300: (b) the re-run takes at most a tenth of (a)\'s module time, with changed: false '
                    '(engine time, in one process)',
                    'engine again/engine = %.3f (module runs with interpreter start: %.2f)'
                    % (row['engine_again'] / row['engine'], row['module_again'] / row['module']),
                    row['engine_again'] <= row['engine'] / 10))
        out.append(('W1 N=300: the module\'s time is within 3 times the floor (e)',
                    'module/(e) = %.2f' % (row['module'] / row['floor']), row['module'] <= 3 * row['floor']))
    sizes = sorted(by_n)
    if len(sizes) >= 3:
        base, last = by_n[sizes[1]], by_n[sizes[-1]]
        early = base['engine'] / base['floor']
        late = last['engine'] / last['floor']
        out.append(('W1: cost per node stays flat from N=%d to N=%d: the engine\'s time grows no faster than the '
                    'kernel work of the floor (engine/(e) at N=%d within 1.5 times that at N=%d)'
                    % (sizes[1], sizes[-1], sizes[-1], sizes[1]),
                    'engine/(e) %.2f at N=%d, %.2f at N=%d; engine ms per node %s'
                    % (early, sizes[1], late, sizes[-1],
                       ', '.join('%.1f' % (1000 * by_n[n]['engine'] / n) for n in sizes)),
                    late <= 1.5 * early))
    row = by_n.get(1000)
    if row:
        out.append(('W1 N=1000: module peak resident memory at most 100 MB', '%.0f MB' % row['module_rss_mb'],
                    row['module_rss_mb'] <= 100))
    w2 = summary['w2']
    out.append(('W2: at most 20 ms of engine time per service start', '%.1f ms median, %.1f ms max'
                % (w2['start_ms_median'], w2['start_ms_max']), w2['start_ms_median'] <= 20))
    # resident memory as the host pays for it: the proportional set size, in which libc's pages, mapped by every
    # process, count once in all; VmRSS counts them in full in each process (shown too)
    out.append(('W2: at most 2 MB resident per service beyond its own process (init and keeper; PSS)',
                '%.1f MB median, %.1f MB max (VmRSS, shared pages counted in every process: %.1f / %.1f MB)'
                % (w2['overhead_pss_kib_median'] / 1024.0, w2['overhead_pss_kib_max'] / 1024.0,
                   w2['overhead_kib_median'] / 1024.0, w2['overhead_kib_max'] / 1024.0),
                w2['overhead_pss_kib_max'] <= 2048))
    w3 = summary['w3']
    out.append(('W3: nsinfo with %d namespaces and %d services in at most 1 s' % (w3['namespaces'], w3['services']),
                '%.2f s' % w3['seconds'], w3['seconds'] <= 1.0))
    w4 = dict((row['n'], row) for row in summary.get('w4') or [])
    row = w4.get(300)
    if row:
        out.append(('W4 N=300: deploy at most 10 s', '%.1f s' % row['bulk_deploy'], row['bulk_deploy'] <= 10))
        out.append(('W4 N=300: deploy again at most 2 s with changed=0', '%.1f s, changed=%d'
                    % (row['bulk_again'], row['bulk_again_changed']),
                    row['bulk_again'] <= 2 and row['bulk_again_changed'] == 0))
        out.append(('W4 N=300: remove at most 10 s', '%.1f s' % row['bulk_remove'], row['bulk_remove'] <= 10))
        if row.get('peritem_deploy'):
            ratio = row['peritem_deploy'] / row['bulk_deploy']
            out.append(('W4 N=300: deploy at least 10 times faster than the per-item form',
                        '%.1f times (%.0f s against %.1f s)' % (ratio, row['peritem_deploy'], row['bulk_deploy']),
                        ratio >= 10))
    row = w4.get(1000)
    if row:
        out.append(('W4 N=1,000: deploy at most 40 s', '%.1f s' % row['bulk_deploy'], row['bulk_deploy'] <= 40))
    soak = summary['soak']
    later = soak['rows'][1:]
    if later:
        out.append(('Soak: %d nodes and %d services converged %d times: every run after the first changes nothing, '
                    'every service stays up (same PIDs), descriptors, mounts and module memory do not grow'
                    % (soak['nodes'], soak['services'], soak['runs']),
                    'changed in runs 2-%d: %d; services up: %d-%d; mounts %d-%d; descriptors %d-%d; module peak %d-%d MB'
                    % (soak['runs'], sum(1 for r in later if r['changed'] or r['services_changed']),
                       min(r['alive'] for r in later), max(r['alive'] for r in later),
                       min(r['mounts'] for r in later), max(r['mounts'] for r in later),
                       min(r['fds'] for r in later), max(r['fds'] for r in later),
                       min(r['rss_kib'] for r in later) // 1024, max(r['rss_kib'] for r in later) // 1024),
                    soak['verified']))
    return out


def fmt(value, digits=2):
    return '-' if value is None else ('%.*f' % (digits, value))


def markdown(summary, info, opts, command):
    lines = [
        '# Benchmarks',
        '',
        'Written by `%s` on %s. Every measurement ran in its own throwaway sandbox (`tests/sandbox.sh`: new network,'
        ' mount, PID, UTS and IPC namespaces, a tmpfs on `/run`), the machine\'s own network untouched. Times are '
        'medians of %d runs; this machine is shared and noisy, so read the ratios, which were measured side by side '
        'in the same run, rather than the absolute seconds.' % (command, datetime.date.today().isoformat(), opts.runs),
        '',
        '## Machine',
        '',
        '| | |', '| --- | --- |',
    ]
    for key in ('cpu', 'cores', 'memory', 'kernel', 'python', 'ansible_core', 'pyroute2', 'iproute2'):
        lines.append('| %s | %s |' % (key, info[key]))
    lines += [
        '',
        '## W1: a lab of N nodes',
        '',
        'Each node: a network namespace, `lo` up, a veth to a bridge in a switch node, one IPv4 and one IPv6 '
        'address, a default route, a hostname (`bench/topology.py`). The nodes are spread over bridges of at most '
        '%d ports, as a user of a large lab would (the kernel refuses a bridge\'s 1,025th port): one bridge up to '
        'N = %d, two at 1,000.' % (topology.PORTS, topology.PORTS),
        '',
        '- (a) one `nsforge.linux.netns` task with the `namespaces` list, through `ansible-playbook` (whole run);',
        '- (b) the same again, nothing to change (`changed: false` checked);',
        '- module: the same task\'s module run directly (`python -m ...netns args.json`: interpreter start, '
        'argument checks, reading, planning, applying, result), from scratch and again;',
        '- engine: the engine\'s `converge` alone, timed inside one process (no interpreter start, no result '
        'conversion), from scratch and again;',
        '- (c) a shell script of `ip` commands, one per step (`ip netns add`, `ip -n ... addr add`, '
        '`unshare --uts=FILE hostname`);',
        '- (d) the common Ansible way: `community.general.ip_netns` and `ansible.builtin.command: ip ...` tasks in '
        'loops (measured up to N=%d, extrapolated linearly beyond and marked *);' % IPNETNS_MAX,
        '- (e) the floor: one Python process doing only the kernel work (unshare, bind mount, netlink through '
        'pyroute2 as the module does) with no reading, planning or checking (`bench/floor.py`).',
        '',
        'Every run was verified afterwards with `ip -j netns list`, `nsenter --net=... ip -j addr/route` and '
        '`nsenter --uts=... hostname`.',
        '',
        '| N | (a) play s | (b) again s | module s | module again s | engine s | engine again s | (c) ip script s '
        '| (d) ip_netns s | (e) floor s | (c)/(a) | (d)/(a) | engine again/engine | module/(e) | engine ms/node '
        '| module peak MB |',
        '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ]
    for row in summary['w1']:
        star = '*' if row.get('ipnetns_extrapolated') else ''
        lines.append('| %d | %s | %s | %s | %s | %s | %s | %s | %s%s | %s | %s | %s%s | %s | %s | %s | %s |' % (
            row['n'], fmt(row['play']), fmt(row['play_again']), fmt(row['module']), fmt(row['module_again']),
            fmt(row['engine']), fmt(row['engine_again'], 3), fmt(row['shell']), fmt(row.get('ipnetns'), 1), star,
            fmt(row['floor']), fmt(row['shell'] / row['play']),
            fmt(row['ipnetns'] / row['play'], 0) if row.get('ipnetns') else '-', star,
            fmt(row['engine_again'] / row['engine'], 3), fmt(row['module'] / row['floor']),
            fmt(1000 * row['engine'] / row['n']), fmt(row['module_rss_mb'], 0)))
    w2, w3 = summary['w2'], summary['w3']
    lines += [
        '',
        '## W2: %d services' % w2['services'],
        '',
        'Each service: `sleep` under the `nsproc` init (tini) as PID 1 of a new PID namespace, with new UTS, IPC and '
        'mount namespaces, joined to one of %d nodes\' network namespaces; `startup_check: 0`. Engine time is the '
        'time of the engine\'s `converge` call in one process, without the interpreter start that a task adds. '
        'Verified with `/proc/<pid>/status` (NSpid 1), `stat` of the namespace files, and that no process is left '
        'after the stops.' % max(1, w2['services'] // 10),
        '',
        'Beyond its program, each service has its init (tini) and its keeper (`sleep infinity`, the parent that holds '
        'its exit status). Their memory is given as PSS (shared pages such as libc\'s count as each process\'s '
        'share) and as VmRSS (shared pages counted in full in every process).',
        '',
        '| start ms (median) | start ms (max) | stop ms (median) | init + keeper PSS, KiB (median / max) '
        '| init + keeper VmRSS, KiB (median / max) | module process peak MB |',
        '| ---: | ---: | ---: | ---: | ---: | ---: |',
        '| %s | %s | %s | %d / %d | %d / %d | %s |' % (
            fmt(w2['start_ms_median'], 1), fmt(w2['start_ms_max'], 1), fmt(w2['stop_ms_median'], 1),
            w2['overhead_pss_kib_median'], w2['overhead_pss_kib_max'],
            w2['overhead_kib_median'], w2['overhead_kib_max'], fmt(w2['module_rss_kib'] / 1024.0, 0)),
        '',
        '## W3: facts',
        '',
        '`nsinfo` run directly (interpreter start included) on a host with %d namespaces and %d services, '
        'network reading on; verified against `lsns --json --list` (every namespace listed) and the services\' '
        'status.' % (w3['namespaces'], w3['services']),
        '',
        '| seconds | peak MB |', '| ---: | ---: |',
        '| %s | %s |' % (fmt(w3['seconds']), fmt(w3['rss_kib'] / 1024.0, 0)),
        '',
        '## Soak',
        '',
        'The W1 lab of %d nodes and %d services (as in W2, joined to the nodes) converged %d times in a row in one '
        'sandbox: the `netns` task as a module process of its own, then every service declared `started` again. '
        'After each run: the services\' PIDs (must not change), the mounts of the sandbox and the open descriptors '
        'of all its processes (must not grow), and the module\'s peak memory. The lab is verified with `ip` and '
        '`nsenter` at the end.' % (summary['soak']['nodes'], summary['soak']['services'], summary['soak']['runs']),
        '',
        '| run | netns module s | changed | services s | services changed | services up | mounts | descriptors '
        '| module peak MB |',
        '| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ] + ['| %d | %s | %s | %s | %d | %d | %d | %d | %s |' % (
        r['run'], fmt(r['seconds']), 'yes' if r['changed'] else 'no', fmt(r['services_seconds'], 3),
        r['services_changed'], r['alive'], r['mounts'], r['fds'], fmt(r['rss_kib'] / 1024.0, 0))
        for r in summary['soak']['rows']] + w4_markdown(summary.get('w4') or [], opts) + [
        '',
        '## Targets',
        '',
        '| target | measured | met |', '| --- | --- | --- |',
    ]
    for what, measured, met in summary['targets']:
        lines.append('| %s | %s | %s |' % (what, measured, 'yes' if met else '**no**'))
    lines.append('')
    return '\n'.join(lines)


def w4_markdown(rows, opts):
    """The W4 section: the netlab role's deploy, again and remove, bulk against per item."""
    if not rows:
        return []
    lines = [
        '',
        '## W4: a netlab lab of N nodes, every node with a service, a private tmpfs, one in ten a user namespace',
        '',
        'A `nsforge.linux.netlab` topology (`bench/topology.py`): N nodes on bridges of %d ports, each node with one '
        'service (tini and `sleep infinity`), a tmpfs on `%s` in its own mount namespace, and every tenth node a user '
        'namespace mapping root to %d. Deployed, deployed again (nothing to change) and removed, each a whole '
        '`ansible-playbook` run. The role makes one `netns`, one `uidmap`, one `nsmount` and one `nsproc` task '
        'whatever N (bulk); the per-item form is the role as it was at %s, one task per service, mount namespace and '
        'user namespace (measured up to N = %d). Verified after each step with `ip -j netns list`, `/proc/<pid>/ns/net`, '
        '`/proc/<pid>/mountinfo` and `uid_map` of every service, `findmnt -N` and `nsenter --net ... ip` for a sample, '
        'and after the removal that no namespace, record or process is left.'
        % (topology.W4_PORTS, topology.W4_SCRATCH, topology.W4_OUTSIDE, W4_PERITEM_REV[:7], opts.w4_peritem_max),
        '',
        '| N | deploy s | again s | remove s | per-item deploy s | per-item again s | per-item remove s '
        '| per-item/bulk deploy | again | remove |',
        '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ]
    for row in rows:
        def ratio(step):
            theirs, ours = row.get('peritem_' + step), row.get('bulk_' + step)
            return fmt(theirs / ours, 1) if theirs and ours else '-'
        lines.append('| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
            row['n'], fmt(row.get('bulk_deploy'), 1), fmt(row.get('bulk_again'), 1), fmt(row.get('bulk_remove'), 1),
            fmt(row.get('peritem_deploy'), 1), fmt(row.get('peritem_again'), 1), fmt(row.get('peritem_remove'), 1),
            ratio('deploy'), ratio('again'), ratio('remove')))
    return lines


KEEP_MARK = '<!-- Written by hand, kept by bench/run.py when it writes the tables again. -->'


def kept_text(path):
    """The hand-written part of an earlier output file: from KEEP_MARK on (empty when there is none)."""
    try:
        with open(path) as handle:
            text = handle.read()
    except (IOError, OSError):
        return ''
    at = text.find(KEEP_MARK)
    return '' if at < 0 else '\n' + text[at:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--sizes', default='10,100,300,1000')
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--services', type=int, default=100)
    parser.add_argument('--facts-services', type=int, default=200)
    parser.add_argument('--soak', default='1000,200,20', help='nodes,services,runs')
    parser.add_argument('--w4-sizes', default='10,100,300,1000')
    parser.add_argument('--w4-peritem-max', type=int, default=300,
                        help='measure the per-item form of W4 up to this N (0: not at all)')
    parser.add_argument('--output')
    parser.add_argument('--json')
    parser.add_argument('--from-json', help='write the table from the results a run saved with --json, measuring nothing')
    parser.add_argument('--remeasure', default='',
                        help='with --from-json: measure these workloads again (comma list of w2, w3, soak, w4), '
                             'keep the others, and save the whole with --json')
    opts = parser.parse_args()
    if opts.quick:
        opts.sizes, opts.runs, opts.services, opts.facts_services, opts.soak = '10', 1, 10, 10, '20,5,3'
        opts.w4_sizes, opts.w4_peritem_max = '10', 0
    opts.soak = [int(v) for v in opts.soak.split(',')]
    opts.sizes = [int(n) for n in opts.sizes.split(',')]
    opts.w4_sizes = [int(n) for n in opts.w4_sizes.split(',') if n]
    if opts.from_json:
        with open(opts.from_json) as handle:
            results = json.load(handle)['results']
        # JSON turned the sizes into strings
        results['w1'] = dict((int(n), ways) for n, ways in results['w1'].items())
        remeasure(results, opts)
    elif 'BENCH_COLLECTIONS' not in os.environ:
        raise SystemExit('set BENCH_COLLECTIONS (make bench does)')
    else:
        results = collect(opts)
    summary = summarize(results)
    problems = problems_of(results)
    if opts.json and (opts.remeasure or not opts.from_json):
        with open(opts.json, 'w') as handle:
            json.dump({'results': results, 'summary': summary}, handle, indent=1, sort_keys=True, default=str)
    command = 'make bench-quick' if opts.quick else 'make bench'
    if opts.output:
        if os.path.dirname(opts.output) and not os.path.isdir(os.path.dirname(opts.output)):
            os.makedirs(os.path.dirname(opts.output))
        kept = kept_text(opts.output)
        with open(opts.output, 'w') as handle:
            handle.write(markdown(summary, machine(), opts, command) + kept)
        print('wrote %s' % opts.output)
    for what, measured, met in summary['targets']:
        print('%-4s %s: %s' % ('ok' if met else 'MISS', what, measured))
    for problem in problems:
        print('PROBLEM: %s' % problem)
    if problems:
        sys.exit(1)
    print('all workloads converged to the declared state')


if __name__ == '__main__':
    main()
