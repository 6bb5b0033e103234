# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of nsproc's pure logic: ID maps, limits, configuration hashes, process identity."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import subprocess
import time

import pytest

from ansible_collections.nsforge.linux.plugins.module_utils import cgroups, idmap, nsproc_bulk, nsproc_launch, nsproc_options, nsproc_records, specs
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError


def line(inside, outside, count):
    return {'inside': inside, 'outside': outside, 'count': count}


def test_map_lines():
    assert idmap.check_map([line(0, 100000, 65536)], 'uid_map', False) == [(0, 100000, 65536)]


@pytest.mark.parametrize('lines,option,why', [
    ([line(0, 0, 1)], 'uid_map[0].outside', 'allow_host_root'),
    ([line(0, 100000, 0)], 'uid_map[0].count', 'at least 1'),
    ([line(0, 4294967295, 1)], 'uid_map[0].outside', 'between 0 and'),
    ([line(0, 100000, 10), line(5, 200000, 10)], 'uid_map', 'inside ranges overlap'),
    ([line(0, 100000, 10), line(10, 100005, 10)], 'uid_map', 'outside ranges overlap'),
    ([line(i, 100000 + i, 1) for i in range(341)], 'uid_map', 'at most 340'),
])
def test_bad_map_lines(lines, option, why):
    with pytest.raises(NsforgeError) as info:
        idmap.check_map(lines, 'uid_map', False)
    assert info.value.option == option
    assert why in info.value.msg


def test_host_root_allowed_on_purpose():
    assert idmap.check_map([line(0, 0, 1)], 'uid_map', True) == [(0, 0, 1)]


@pytest.mark.parametrize('limits,expected', [
    ({'memory': '64M'}, {'memory': 64 * 1024 * 1024}),
    ({'memory': '2g', 'pids': 10, 'cpu': 0.5}, {'memory': 2 * 1024 ** 3, 'pids': 10, 'cpu': 0.5}),
    ({'memory': '1048576'}, {'memory': 1048576}),
    ({'memory': None, 'pids': None, 'cpu': None}, {}),
])
def test_limits(limits, expected):
    assert cgroups.parse_limits(limits) == expected


@pytest.mark.parametrize('limits,option', [
    ({'memory': 'lots'}, 'limits.memory'), ({'memory': '-1M'}, 'limits.memory'), ({'memory': '10K'}, 'limits.memory'),
    ({'pids': 0}, 'limits.pids'), ({'cpu': 0.0}, 'limits.cpu'), ({'cpu': -1.0}, 'limits.cpu'),
])
def test_bad_limits(limits, option):
    with pytest.raises(NsforgeError) as info:
        cgroups.parse_limits(limits)
    assert info.value.option == option


def cfg(**kw):
    base = {
        'name': 's', 'type': 'service', 'command': ['sleep', '1'], 'program': '/bin/sleep', 'env': {'TOKEN': 'secret'},
        'cwd': '/', 'namespaces': dict((k, {'mode': v, 'path': None, 'label': v}) for k, v in nsproc_options.DEFAULTS.items()),
        'hostname': None, 'mount_proc': True, 'mounts': [], 'uid_map': None, 'gid_map': None, 'uid': None, 'gid': None,
        'umask': None, 'init': '/usr/bin/tini', 'stdout': '/l/o', 'stderr': '/l/e', 'limits': {}, 'stop_signal': 'TERM',
        'startup_check': 0.5, 'timeout': 300,
    }
    base.update(kw)
    return base


def test_public_config_masks_env_values():
    shown = nsproc_options.public_config(cfg())
    assert shown['env'] == {'TOKEN': '********'}
    assert 'secret' not in repr(shown)
    assert shown['namespaces']['pid'] == 'new'


def test_hash_follows_what_matters():
    base = nsproc_options.config_hash(cfg())
    assert nsproc_options.config_hash(cfg()) == base
    assert nsproc_options.config_hash(cfg(env={'TOKEN': 'other'})) != base
    assert nsproc_options.config_hash(cfg(command=['sleep', '2'])) != base
    # how to stop and how long to watch do not restart a service
    assert nsproc_options.config_hash(cfg(stop_signal='INT', startup_check=3, timeout=5)) == base


def test_identity_is_pid_and_start_time():
    pid = os.getpid()
    state, start = nsproc_records.proc_stat(pid)
    assert state in ('R', 'S')
    assert nsproc_records.alive({'pid': pid, 'start_time': start})
    assert not nsproc_records.alive({'pid': pid, 'start_time': start + 1})
    assert not nsproc_records.alive({'pid': None})
    assert not nsproc_records.alive(None)


def test_status_of_records():
    assert nsproc_records.status_of(None) == 'absent'
    assert nsproc_records.status_of({'status': 'stopped'}) == 'stopped'
    assert nsproc_records.status_of({'status': 'running', 'pid': 999999999, 'start_time': 1}) == 'exited'
    assert nsproc_records.view(None)['status'] == 'absent'


def _wait_for(test):
    for _attempt in range(500):
        found = test()
        if found:
            return found
        time.sleep(0.01)
    raise AssertionError('gave up waiting')


def test_program_is_the_first_child_of_the_init_or_the_first_process_itself():
    """A process in the init's place that started two children, 0.1 s apart: the program is the earlier one."""
    top = os.fork()
    if top == 0:  # pragma: no cover (child)
        first = subprocess.Popen(['sleep', '61'])
        time.sleep(0.1)
        subprocess.Popen(['sleep', '62'])
        first.wait()
        os._exit(0)  # pylint: disable=protected-access
    try:
        kids = _wait_for(lambda: len(nsproc_records.children(top)) == 2 and nsproc_records.children(top))
        first = [kid for kid in kids if open('/proc/%d/cmdline' % kid).read() == 'sleep\x0061\x00'][0]
        record = {'name': 'x', 'pid': top, 'start_time': nsproc_records.proc_stat(top)[1], 'status': 'running',
                  'config': {'init': '/usr/bin/tini'}}
        assert nsproc_records.program_pid(record) == first
        view = nsproc_records.view(record)
        assert (view['pid'], view['program_pid']) == (top, first)
        assert view['program_ns_pid'] == nsproc_records.ns_pid(first) and view['program_ns_pid'] > 0
        # without an init the first process is the program; an init without a child has none (yet)
        assert nsproc_records.program_pid(dict(record, config={'init': None})) == top
        assert nsproc_records.program_pid(dict(record, pid=first)) is None
    finally:
        for kid in nsproc_records.children(top):
            os.kill(kid, signal.SIGKILL)
        os.kill(top, signal.SIGKILL)
        os.waitpid(top, 0)
    stopped = nsproc_records.view({'name': 'x', 'pid': top, 'start_time': 1, 'status': 'stopped',
                                   'config': {'init': 'x'}})
    assert (stopped['pid'], stopped['program_pid'], stopped['program_ns_pid']) == (None, None, None)


def _zombie(action):
    """A child that runs action() and exits, left unreaped: its record, and its PID to reap."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover (child)
        action()
        os._exit(0)  # pylint: disable=protected-access
    for _attempt in range(500):
        found = nsproc_records.proc_stat(pid)
        if found and found[0] == 'Z':
            return {'pid': pid, 'start_time': found[1], 'status': 'running', 'stderr': None}
        time.sleep(0.01)
    raise AssertionError('the child did not become a zombie')


@pytest.mark.parametrize('action,expected', [
    (lambda: os._exit(3), (3, None)),  # pylint: disable=protected-access
    (lambda: os.kill(os.getpid(), signal.SIGKILL), (128 + signal.SIGKILL, signal.SIGKILL)),
])
def test_exit_status_of_a_held_zombie(action, expected):
    """The wait status a keeper holds is read from /proc/<pid>/stat, for that process only (start time)."""
    record = _zombie(action)
    try:
        assert not nsproc_records.alive(record)
        assert nsproc_records.exit_status(record) == expected
        assert nsproc_records.exit_status(dict(record, start_time=record['start_time'] + 1)) is None
        assert nsproc_records.last_exit(record) == {'exit_code': expected[0], 'exit_signal': expected[1], 'stderr_tail': None}
    finally:
        os.waitpid(record['pid'], 0)
    assert nsproc_records.exit_status(record) is None


def test_last_exit(tmp_path):
    log = tmp_path / 'stderr.log'
    log.write_text(u'old run\ncrash: disk full\n')
    gone = {'pid': 999999999, 'start_time': 1, 'status': 'running', 'stderr': str(log), 'stderr_offset': 8}
    # no keeper held it: the code is lost, what it wrote is still shown
    assert nsproc_records.last_exit(gone) == {'exit_code': None, 'exit_signal': None, 'stderr_tail': 'crash: disk full'}
    assert nsproc_records.last_exit(dict(gone, exit_code=0, status='exited')) == \
        {'exit_code': 0, 'exit_signal': None, 'stderr_tail': None}
    assert nsproc_records.last_exit(dict(gone, status='stopped')) is None
    assert nsproc_records.last_exit(None) is None
    view = nsproc_records.view(dict(gone, name='svc', exit_code=3, status='exited', crashes=2,
                                    previous_exit={'exit_code': 3}))
    assert (view['status'], view['exit_code'], view['stderr_tail'], view['crashes']) == ('exited', 3, 'crash: disk full', 2)


@pytest.mark.parametrize('mnt,mount_proc,mounts,view', [
    ('new', True, False, 'new'),        # a private copy of the host's view
    ('new', False, True, 'new'),
    ('join', True, False, 'child'),     # a node's view: a child of it with the service's own /proc
    ('join', False, True, 'child'),     # ... or with the service's own mounts
    ('join', False, False, None),       # mount_proc: false and no mounts: the node's view itself
    ('host', True, False, 'child'),     # the host's view, with the service's own /proc
    ('host', False, False, None),
])
def test_mount_view(mnt, mount_proc, mounts, view):
    assert nsproc_options.mount_view_of(mnt, mount_proc, mounts) == view


def _cfg_of(monkeypatch, **params):
    """validate() with no host lookups: every node has every namespace but a user namespace."""
    monkeypatch.setattr(nsproc_options.kernel, 'is_nsfs_mount', lambda path, kind=None: kind != 'user')
    monkeypatch.setattr(nsproc_options.nodes, 'netns_exists', lambda name: True)
    monkeypatch.setattr(nsproc_options, 'read_record', lambda name: {'pid': 4242, 'start_time': 1})
    monkeypatch.setattr(nsproc_options, 'alive', lambda record: True)
    base = dict((key, spec.get('default')) for key, spec in specs.nsproc()['argument_spec'].items())
    base.update(name='s1', command=['sleep', 'infinity'])
    base.update(params)
    return nsproc_options.validate(base)


@pytest.mark.parametrize('params,mount_proc,view', [
    ({}, True, 'new'),                                                         # the defaults: new PID and mount namespaces
    ({'node': 'red'}, True, 'child'),                                          # a node's mount namespace, joined by node:
    ({'namespaces': {'mnt': 'red'}}, True, 'child'),
    ({'namespaces': {'mnt': 'host'}}, True, 'child'),
    ({'namespaces': {'pid': 'host', 'mnt': 'red'}}, False, None),              # the host's PID namespace: its /proc fits
    ({'namespaces': {'pid': 'service:web', 'mnt': 'service:web'}}, False, None),  # a pod's shared PID namespace and view
    ({'namespaces': {'pid': 'service:web', 'mnt': 'red'}}, True, 'child'),
    ({'node': 'red', 'mount_proc': False}, False, None),                       # opting out: the node's view itself
    ({'node': 'red', 'mount_proc': False, 'mounts': [{'dst': '/x', 'type': 'tmpfs', 'src': None, 'readonly': False,
                                                      'options': None, 'mkdir': True}]}, False, 'child'),
])
def test_every_service_with_its_own_pid_namespace_gets_its_own_proc(monkeypatch, params, mount_proc, view):
    cfg = _cfg_of(monkeypatch, **params)
    assert cfg['mount_proc'] is mount_proc
    assert cfg['mount_view'] == view


# ---------------------------------------------------------------------------
# nsproc services: the entries of a task of many services


def bulk_params(services, **top):
    params = dict((key, spec.get('default')) for key, spec in specs.service_spec().items())
    params.update(top)
    params['services'] = services
    return params


def test_entries_take_the_task_state_as_their_default():
    got = nsproc_bulk.entries(bulk_params([{'name': 'a', 'state': None}, {'name': 'b', 'state': 'stopped'}],
                                          state='absent'))
    assert [(prefix, entry['name'], entry['state']) for prefix, entry in got] == \
        [('services[0]', 'a', 'absent'), ('services[1]', 'b', 'stopped')]


def test_entries_refuse_a_service_option_beside_services():
    with pytest.raises(NsforgeError) as err:
        nsproc_bulk.entries(bulk_params([{'name': 'a'}], command=['sleep', '1']))
    assert err.value.option == 'command'
    assert 'inside each entry of services' in err.value.msg


def test_entries_refuse_a_name_declared_twice_and_an_empty_list():
    with pytest.raises(NsforgeError) as err:
        nsproc_bulk.entries(bulk_params([{'name': 'a'}, {'name': 'b'}, {'name': 'a'}]))
    assert err.value.option == 'services[2].name'
    assert 'also in services[0]' in err.value.msg
    with pytest.raises(NsforgeError) as err:
        nsproc_bulk.entries(bulk_params([]))
    assert err.value.option == 'services'


def test_an_item_error_names_the_item_and_its_option():
    named = nsproc_bulk.in_item('services[17]', 'web', NsforgeError("command: invalid value 'x': nope", option='command'))
    assert named.option == 'services[17].command'
    assert named.msg == "services[17].command: invalid value 'x': nope (service web)"
    plain = nsproc_bulk.in_item('services[3]', 'db', NsforgeError('could not start: boom'))
    assert plain.option == 'services[3]'
    assert plain.msg == 'services[3]: could not start: boom (service db)'


def test_joining_a_service_that_an_earlier_item_starts_is_valid_before_it_runs():
    spec = nsproc_options.resolve_ns('net', 'service:app', 'namespaces.net', pending={'app'})
    assert spec['mode'] == 'join' and spec['service'] == 'app' and spec['path'] is None


def test_a_service_takes_the_mounts_of_nsmount(monkeypatch):
    """ro or its alias readonly; private folders owned by the service's user; what a service cannot do is refused."""
    cfg = _cfg_of(monkeypatch, user='0', private=['/run', '/tmp'],
                  mounts=[{'dst': '/srv', 'src': '/', 'readonly': True}, {'dst': '/p', 'type': 'proc'}])
    assert [(m['option'], m['dst'], m['type'], m['ro'], m['uid'], m['mode']) for m in cfg['mounts']] == [
        ('private[0]', '/run', 'tmpfs', False, 0, '755'), ('private[1]', '/tmp', 'tmpfs', False, None, '1777'),
        ('mounts[0]', '/srv', 'bind', True, None, None), ('mounts[1]', '/p', 'proc', False, None, None)]
    for mount, option in (({'dst': '/x', 'type': 'tmpfs', 'state': 'absent'}, 'mounts[0].state'),
                          ({'dst': '/x', 'type': 'tmpfs', 'owner': 'nobodyx'}, 'mounts[0].owner')):
        with pytest.raises(NsforgeError) as info:
            _cfg_of(monkeypatch, mounts=[mount])
        assert info.value.option == option


def test_a_service_of_systemd_logs_to_its_journal_unless_it_names_files(monkeypatch, tmp_path):
    """supervisor: systemd without stdout/stderr: None, the restore command's own descriptors (the unit's journal)."""
    cfg = _cfg_of(monkeypatch)
    assert (cfg['stdout'], cfg['stderr']) == ('/var/log/nsforge/s1/stdout.log', '/var/log/nsforge/s1/stderr.log')
    cfg = _cfg_of(monkeypatch, supervisor='systemd')
    assert (cfg['stdout'], cfg['stderr']) == (None, None)
    out = str(tmp_path / 'out.log')
    cfg = _cfg_of(monkeypatch, supervisor='systemd', stdout=out)
    assert (cfg['stdout'], cfg['stderr']) == (out, None)


def test_the_log_of_a_journal_service_is_the_inherited_descriptor(tmp_path):
    fd = nsproc_launch._open_log(None, 2)
    try:
        assert os.fstat(fd)[1:2] == os.fstat(2)[1:2] and fd != 2
        assert os.get_inheritable(fd) is False
    finally:
        os.close(fd)
    assert nsproc_launch._stderr_tail({'name': 's1', 'stderr': None}, 0) == 'in the journal (journalctl -u nsforge-service-s1)'
    log = tmp_path / 'err.log'
    log.write_text(u'old\nboom\n')
    assert nsproc_launch._stderr_tail({'name': 's1', 'stderr': str(log)}, 4) == 'boom'
