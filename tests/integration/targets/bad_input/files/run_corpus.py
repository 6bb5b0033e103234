# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the bad-input corpus (corpus.yml) against the real host.

Module cases run the module's main() in a forked child with the arguments
set exactly as AnsiballZ sets them (ansible.module_utils.basic._ANSIBLE_ARGS),
which costs milliseconds instead of the ~0.5 s of a new interpreter.
Role cases run in one ansible-playbook run, one block per case, its failure
caught by rescue.

For every case: the module (or role) must fail; its message must contain
every fragment of `expect` (the option, and the node, link or value at
fault), must not be an "unexpected error" nor carry a traceback; and the
snapshot of the host (snapshot.py) taken after it must equal the snapshot
taken before the corpus started.

Usage: run_corpus.py CORPUS OUTPUT_DIR   (exit status 1 when a case fails)
"""

from __future__ import annotations

import collections
import importlib
import json
import os
import subprocess
import sys
import time
import traceback

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import snapshot  # noqa: E402  pylint: disable=wrong-import-position

PREFIX = 'ansible_collections.nsforge.linux.plugins.modules.'


def run_module(name, args):
    """Run a module in a forked child; returns (result dict or None, stdout, stderr, exit status)."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 98
        try:
            os.close(out_r)
            os.close(err_r)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            from ansible.module_utils import basic
            basic._ANSIBLE_ARGS = json.dumps({'ANSIBLE_MODULE_ARGS': args}).encode('utf-8')
            if hasattr(basic, '_ANSIBLE_PROFILE'):
                basic._ANSIBLE_PROFILE = 'legacy'  # ansible-core 2.19 and later: how AnsiballZ serializes results
            importlib.import_module(PREFIX + name).main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # pylint: disable=broad-except
            traceback.print_exc()
            code = 97
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(out_w)
    os.close(err_w)
    chunks = {out_r: [], err_r: []}
    import selectors
    sel = selectors.DefaultSelector()
    for fd in chunks:
        sel.register(fd, selectors.EVENT_READ)
    open_fds = set(chunks)
    while open_fds:
        for key, _mask in sel.select():
            data = os.read(key.fd, 65536)
            if data:
                chunks[key.fd].append(data)
            else:
                sel.unregister(key.fd)
                os.close(key.fd)
                open_fds.discard(key.fd)
    _pid, status = os.waitpid(pid, 0)
    stdout = b''.join(chunks[out_r]).decode('utf-8', errors='replace')
    stderr = b''.join(chunks[err_r]).decode('utf-8', errors='replace')
    result = None
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith('{'):
            try:
                result = json.loads(line)
            except ValueError:
                pass
    return result, stdout, stderr, os.waitstatus_to_exitcode(status)


def check_result(case, result, detail):
    problems = []
    if result is None:
        return ['no JSON result (crashed?): %s' % detail]
    msg = result.get('msg')
    if not result.get('failed'):
        problems.append('did not fail: %s' % json.dumps(result)[:400])
        return problems
    if not isinstance(msg, str):
        msg = json.dumps(msg)
    if 'unexpected error' in msg or 'Traceback' in msg or 'exception' in result and 'Traceback' in str(result['exception']):
        problems.append('failed with a traceback: %s' % msg[:400])
    for fragment in case['expect']:
        if fragment not in msg:
            problems.append('message lacks %r: %s' % (fragment, msg[:600]))
    return problems


def report(case, what, problems, failures, xfails):
    """A case with `xfail: <words>` is a known fault: exactly its problems must contain those words."""
    xfail = case.get('xfail')
    if xfail:
        if problems and all(xfail in p for p in problems):
            xfails.append('case %s (%s): %s' % (case['id'], what, '; '.join(problems)[:300]))
            return
        problems = problems or ['marked xfail (%s) but passed: remove the mark' % xfail]
    for problem in problems:
        failures.append('case %s (%s): %s' % (case['id'], what, problem))


def role_playbook(cases, path, baseline_path, results_path):
    """One play, one block per role case; rescue records the failure."""
    py = sys.executable
    tasks = [{'name': 'Results so far', 'ansible.builtin.set_fact': {'corpus_results': []}}]
    for idx, case in cases:
        tasks.append({
            'name': 'Case %d: %s' % (idx, case['id']),
            'block': [
                {'name': 'Role %s' % case['role'], 'ansible.builtin.include_role': {'name': 'nsforge.linux.' + case['role']},
                 'vars': json.loads(json.dumps(case.get('vars', {})).replace('@FILES@', HERE))},
                {'name': 'Record that the role did not fail', 'ansible.builtin.set_fact': {
                    'corpus_results': '{{ corpus_results + [{"idx": %d, "failed": false}] }}' % idx}},
            ],
            'rescue': [
                {'name': 'Record the failure', 'ansible.builtin.set_fact': {
                    'corpus_results': '{{ corpus_results + [{"idx": %d, "failed": true, '
                                      '"msg": ansible_failed_result.msg | default(""), '
                                      '"task": ansible_failed_task.name | default("")}] }}' % idx}},
            ],
        })
        tasks.append({'name': 'Case %d: snapshot after' % idx,
                      'ansible.builtin.command': {'argv': [py, os.path.join(HERE, 'compare.py'), baseline_path]},
                      'register': 'corpus_snap', 'changed_when': False, 'failed_when': False})
        tasks.append({'name': 'Case %d: keep the comparison' % idx, 'ansible.builtin.set_fact': {
            'corpus_results': '{{ corpus_results + [{"idx": %d, "snapshot_rc": corpus_snap.rc, '
                              '"snapshot_diff": corpus_snap.stdout}] }}' % idx}})
    tasks.append({'name': 'Write the results', 'ansible.builtin.copy': {
        'dest': results_path, 'content': '{{ corpus_results | to_json }}', 'mode': '0600'}})
    play = [{'name': 'Bad-input corpus: roles', 'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}]
    with open(path, 'w', encoding='utf-8') as handle:
        yaml.safe_dump(play, handle, sort_keys=False)


def main():
    corpus_path, out = sys.argv[1], sys.argv[2]
    with open(corpus_path, encoding='utf-8') as handle:
        corpus = yaml.safe_load(handle)
    # The process that runs this corpus is the root of the transient processes.
    root = int(os.environ.get('CORPUS_TRANSIENT_ROOT', os.getpid()))
    os.environ['CORPUS_TRANSIENT_ROOT'] = str(root)
    baseline = snapshot.snapshot(root)
    baseline_path = os.path.join(out, 'baseline.json')
    with open(baseline_path, 'w', encoding='utf-8') as handle:
        json.dump(baseline, handle, sort_keys=True)
    if len(baseline['network']) < 4 or len(baseline['mountinfo']) < 2 or len(baseline['processes']) < 2:
        print('the baseline lacks the state setup.yml builds: %s' % sorted(baseline['network']))
        return 1
    for name in set(c['module'] for c in corpus if 'module' in c):
        importlib.import_module(PREFIX + name)  # imported once; each fork reuses it

    failures = []
    xfails = []
    counts = collections.Counter()
    ids = set()
    started = time.time()
    role_cases = []
    for idx, case in enumerate(corpus):
        if case['id'] in ids:
            failures.append('case %s: id used twice' % case['id'])
        ids.add(case['id'])
        if not case.get('expect'):
            failures.append('case %s: expect names nothing' % case['id'])
        if 'role' in case:
            role_cases.append((idx, case))
            counts['role ' + case['role']] += 1
            continue
        counts[case['module']] += 1
        result, stdout, stderr, status = run_module(case['module'], case['args'])
        problems = check_result(case, result, 'exit %s, stdout %r, stderr %r' % (status, stdout[-300:], stderr[-600:]))
        if stderr.strip() and 'Traceback' in stderr:
            problems.append('traceback on stderr: %s' % stderr[-600:])
        after = snapshot.snapshot(root)
        diff = snapshot.differences(baseline, after)
        if diff:
            problems.append('the host changed: %s' % '; '.join(line[:300] for line in diff)[:1500])
            # a new baseline, so that one failure does not hide the next ones
            baseline = after
            with open(baseline_path, 'w', encoding='utf-8') as handle:
                json.dump(baseline, handle, sort_keys=True)
        report(case, case['module'], problems, failures, xfails)
    module_time = time.time() - started

    if role_cases:
        playbook = os.path.join(out, 'roles.yml')
        results_path = os.path.join(out, 'role_results.json')
        role_playbook(role_cases, playbook, baseline_path, results_path)
        start = time.time()
        proc = subprocess.run(['ansible-playbook', playbook], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        if proc.returncode != 0 or not os.path.exists(results_path):
            print(proc.stdout.decode(errors='replace')[-5000:])
            failures.append('the role playbook failed (rc %d)' % proc.returncode)
        else:
            with open(results_path, encoding='utf-8') as handle:
                records = json.load(handle)
            by_idx = collections.defaultdict(dict)
            for rec in records:
                by_idx[rec['idx']].update(rec)
            for idx, case in role_cases:
                rec = by_idx.get(idx, {})
                problems = check_result(case, rec if 'failed' in rec else None, 'no record')
                if rec.get('snapshot_rc') != 0:
                    problems.append('the host changed: %s' % rec.get('snapshot_diff', '')[:1500])
                report(case, 'role ' + case['role'], problems, failures, xfails)
        print('role cases: %.1f s' % (time.time() - start))

    print('module cases: %.1f s' % module_time)
    for key in sorted(counts):
        print('%-24s %3d cases' % (key, counts[key]))
    print('%d cases in all' % sum(counts.values()))
    for xfail in xfails:
        print('XFAIL ' + xfail)
    return finish(failures)


def finish(failures):
    """Print the failures; the exit status of a test driver."""
    for failure in failures:
        print('FAIL ' + failure)
    print('%d failures' % len(failures))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
