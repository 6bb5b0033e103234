# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""State folders: two tasks that create them at the same moment both succeed; missing parents get the same mode."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import resource
import sys

from ansible_collections.nsforge.linux.plugins.module_utils import files, layout, nodes, nsproc_records

WORKERS = 8
ROUNDS = 40


def together(action, workers=WORKERS):
    """Fork workers children that call action() at the same moment; return how many failed."""
    go_r, go_w = os.pipe()
    pids = []
    for _worker in range(workers):
        pid = os.fork()
        if pid == 0:  # pragma: no cover (child)
            code = 0
            try:
                os.close(go_w)
                os.read(go_r, 1)
                action()
            except Exception as exc:  # pylint: disable=broad-except
                sys.stderr.write('%r\n' % exc)
                code = 1
            os._exit(code)  # pylint: disable=protected-access
        pids.append(pid)
    os.close(go_r)
    os.close(go_w)  # every child reads EOF at once
    return sum(os.waitpid(pid, 0)[1] != 0 for pid in pids)


def _race(tmp_path, action):
    """action(folder) by WORKERS children at once, on a fresh folder each round; how many failed in all."""
    return sum(together(lambda: action(str(tmp_path / ('r%d' % rnd)))) for rnd in range(ROUNDS))


def test_node_locks_created_at_once(tmp_path, monkeypatch):
    def action(base):
        monkeypatch.setattr(nodes, 'LOCK_DIR', os.path.join(base, 'locks'))
        monkeypatch.setattr(layout, 'LOCK_DIR', os.path.join(base, 'locks'))
        with nodes.locked(['a']):
            pass
    assert _race(tmp_path, action) == 0


def test_service_records_written_at_once(tmp_path, monkeypatch):
    def action(base):
        monkeypatch.setattr(nsproc_records, 'SERVICE_DIR', os.path.join(base, 'services'))
        monkeypatch.setattr(layout, 'SERVICE_DIR', os.path.join(base, 'services'))
        nsproc_records.write_record({'name': 'svc%d' % os.getpid()})
    assert _race(tmp_path, action) == 0


def test_missing_parents_get_the_mode(tmp_path):
    """/run/nsforge and /run/nsforge/nodes, made on the way to a node's folder, are root-only too."""
    old = os.umask(0o022)
    try:
        files.make_dirs(str(tmp_path / 'nsforge' / 'nodes' / 'red'), 0o700)
    finally:
        os.umask(old)
    for path in ('nsforge', 'nsforge/nodes', 'nsforge/nodes/red'):
        assert oct(os.stat(str(tmp_path / path)).st_mode & 0o7777) == oct(0o700), path
    files.make_dirs(str(tmp_path / 'nsforge' / 'nodes' / 'red'), 0o700)  # again: nothing to do, no error


def test_open_folders_of_an_older_version_are_tightened(tmp_path, monkeypatch):
    """A host where an older version made /run/nsforge 0755: the next state folder made under it closes the path."""
    state = tmp_path / 'nsforge'
    monkeypatch.setattr(nodes, 'STATE_DIR', str(state))
    (state / 'locks').mkdir(parents=True)
    for path in (tmp_path, state, state / 'locks'):
        os.chmod(str(path), 0o755)
    nodes.make_state_dir(str(state / 'locks' / 'services'))
    for path in (state, state / 'locks', state / 'locks' / 'services'):
        assert oct(os.stat(str(path)).st_mode & 0o7777) == oct(0o700), path
    assert oct(os.stat(str(tmp_path)).st_mode & 0o7777) == oct(0o755)  # above STATE_DIR: not the collection's


def test_locks_of_more_nodes_than_the_soft_limit_of_descriptors(tmp_path, monkeypatch):
    """A task locks a node per descriptor: the soft limit (often 1,024) is raised by as many for the while."""
    monkeypatch.setattr(nodes, 'LOCK_DIR', str(tmp_path / 'locks'))
    monkeypatch.setattr(layout, 'LOCK_DIR', str(tmp_path / 'locks'))
    names = ['n%d' % i for i in range(300)]

    def action():  # in a child of its own: its limits are its own
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
        with nodes.locked(names):
            held = len(os.listdir('/proc/self/fd'))
            assert held > 300, held
            assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == 364
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (64, hard)
    assert together(action, workers=1) == 0
