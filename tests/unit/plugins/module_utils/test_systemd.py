# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the pure parts of surviving reboot: unit names, the unit renderers, the checks of persist."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess

import pytest

from ansible_collections.nsforge.linux.plugins.module_utils import layout, netns_options, persist, restore, specs, supervisors, systemd
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError

NAMES = ['web', 'web-a', 'pc-2', 'a.b', 'a_b', 'x-y-z.1', 'A9', '_lead']


@pytest.mark.parametrize('name', NAMES)
def test_escape_round_trip(name):
    assert systemd.unescape(systemd.escape(name)) == name
    assert '-' not in systemd.escape(name)


@pytest.mark.skipif(shutil.which('systemd-escape') is None, reason='systemd-escape is not installed')
@pytest.mark.parametrize('name', NAMES + ['.dot', 'a/b', 'ü'])
def test_escape_is_systemd_escape(name):
    want = subprocess.run(['systemd-escape', '--', name], stdout=subprocess.PIPE, check=True).stdout.decode().strip()
    assert systemd.escape(name) == want


def test_node_unit_names():
    assert systemd.node_unit('web-a') == 'nsforge-node@web\\x2da.service'
    assert systemd.service_unit('web-a') == 'nsforge-service-web-a.service'
    assert systemd.unit_name_fits(systemd.node_unit('n' * 234))
    assert not systemd.unit_name_fits(systemd.node_unit('n' * 235))


def lines_of(text):
    return text.splitlines()


def test_node_template():
    lines = lines_of(systemd.render_node_template())
    assert 'ExecStart=/usr/local/sbin/nsforge-restore node %I' in lines
    assert 'Type=oneshot' in lines and 'RemainAfterExit=yes' in lines
    assert 'Before=network-pre.target network-online.target shutdown.target' in lines
    assert 'DefaultDependencies=no' in lines
    assert 'ConditionPathExists=/etc/nsforge/nodes/%I.json' in lines
    assert 'WantedBy=multi-user.target network-online.target' in lines


def ns(**joins):
    out = {}
    for kind in ('pid', 'net', 'uts', 'ipc', 'mnt', 'user', 'cgroup', 'time'):
        value = joins.get(kind, 'host')
        if value in ('new', 'host'):
            out[kind] = {'mode': value, 'path': None, 'label': value}
        elif value.startswith('service:'):
            out[kind] = {'mode': 'join', 'path': '/proc/1/ns/' + kind, 'label': value, 'service': value[8:]}
        else:
            out[kind] = {'mode': 'join', 'path': '/x', 'label': value}
    return out


def cfg(**over):
    base = {'name': 'web', 'type': 'service', 'command': ['sleep', 'infinity'], 'env': {'TOKEN': 'secret'},
            'namespaces': ns(pid='new', net='red', mnt='red', uts='new'), 'stop_signal': 'TERM', 'startup_check': 0.5,
            'timeout': 300, 'limits': {}, 'stop_timeout': 10}
    base.update(over)
    return base


def test_service_unit_maps_each_option():
    lines = lines_of(systemd.render_service_unit(cfg(limits={'memory': 128 * 1024 ** 2, 'pids': 64, 'cpu': 1.5},
                                                     stop_signal='HUP', stop_timeout=2.5, startup_check=1)))
    assert 'Description=nsforge service web: sleep infinity' in lines
    assert 'After=nsforge-node@red.service' in lines
    assert 'Requires=nsforge-node@red.service' in lines
    assert 'NetworkNamespacePath=/run/netns/red' in lines
    assert not any(l.startswith('IPCNamespacePath=') for l in lines)
    assert 'Type=forking' in lines
    assert 'PIDFile=/run/nsforge/services/web.pid' in lines
    assert 'ExecStart=/usr/local/sbin/nsforge-restore service web' in lines
    assert 'Restart=on-failure' in lines
    assert 'KillSignal=SIGHUP' in lines and 'KillMode=mixed' in lines
    assert 'TimeoutStopSec=2.5s' in lines
    assert 'TimeoutStartSec=31s' in lines
    assert 'MemoryMax=134217728' in lines
    assert 'TasksMax=64' in lines
    assert 'CPUQuota=150%' in lines
    assert 'ConditionPathExists=/etc/nsforge/services/web.json' in lines
    assert 'WantedBy=multi-user.target' in lines


@pytest.mark.parametrize('init,stop_signal,success', [
    ('/usr/bin/tini', 'TERM', 'SuccessExitStatus=143'),   # tini exits with 128 + the signal its child was stopped with
    ('/usr/bin/tini', 'INT', 'SuccessExitStatus=130'),
    (None, 'TERM', None),                                 # the service itself: systemd's stop signal is a clean exit
])
def test_service_unit_a_stop_through_tini_is_no_failure(init, stop_signal, success):
    lines = lines_of(systemd.render_service_unit(cfg(init=init, stop_signal=stop_signal)))
    assert [line for line in lines if line.startswith('SuccessExitStatus=')] == ([success] if success else [])


def test_service_unit_never_holds_env_values():
    assert 'secret' not in systemd.render_service_unit(cfg())


def test_service_unit_without_node_nor_limits():
    lines = lines_of(systemd.render_service_unit(cfg(namespaces=ns(pid='new', net='new'), stop_timeout=None)))
    assert not any(l.startswith(('After=', 'Requires=', 'NetworkNamespacePath=', 'MemoryMax=', 'TasksMax=', 'CPUQuota='))
                   for l in lines)
    assert 'TimeoutStopSec=10s' in lines


def test_service_unit_requires_every_node_joined_once():
    lines = lines_of(systemd.render_service_unit(cfg(namespaces=ns(net='red', ipc='blue', uts='red'))))
    assert 'After=nsforge-node@blue.service nsforge-node@red.service' in lines
    assert 'IPCNamespacePath=/run/nsforge/nodes/blue/ipc' in lines


def test_oneshot_unit():
    lines = lines_of(systemd.render_service_unit(cfg(type='oneshot', timeout=20)))
    assert 'Type=oneshot' in lines and 'RemainAfterExit=yes' in lines
    assert 'TimeoutStartSec=50s' in lines
    assert not any(l.startswith(('PIDFile=', 'Restart=')) for l in lines)


def test_percent_in_command_is_escaped():
    lines = lines_of(systemd.render_service_unit(cfg(command=['date', '+%s'])))
    assert 'Description=nsforge service web: date +%%s' in lines


def check_systemd(params, cfg_):
    supervisors.Systemd().check(params, cfg_, None)


def test_systemd_refuses_joining_a_service():
    with pytest.raises(NsforgeError) as exc:
        check_systemd({'name': 'web'}, cfg(namespaces=ns(net='service:db')))
    assert exc.value.option == 'namespaces.net'


def test_systemd_needs_persisted_nodes(tmp_path, monkeypatch):
    monkeypatch.setattr(layout, 'NODE_RECORD_DIR', str(tmp_path))
    with pytest.raises(NsforgeError) as exc:
        check_systemd({'name': 'web', 'node': 'red'}, cfg())
    assert exc.value.option == 'node'
    assert 'nsforge-node@red.service' in exc.value.msg
    (tmp_path / 'red.json').write_text('{"node": "red", "netns": {}}')
    with pytest.raises(NsforgeError) as exc:
        check_systemd({'name': 'web', 'node': 'red'}, cfg())
    assert 'mnt namespace of node red' in exc.value.msg  # the node's mount namespace is not persisted
    (tmp_path / 'red.json').write_text('{"node": "red", "netns": {}, "nsmount": {}}')
    check_systemd({'name': 'web', 'node': 'red'}, cfg())


def test_systemd_service_name_must_fit():
    with pytest.raises(NsforgeError) as exc:
        check_systemd({'name': 'w' * 240}, cfg(name='w' * 240, namespaces=ns()))
    assert exc.value.option == 'name'


@pytest.mark.parametrize('path, top', [('/run/x', '/run'), ('/run', '/run'), ('/tmp/a/b', '/tmp'), ('/srv/run', None),
                                       ('/running', None), ('/dev/shm/x', '/dev/shm')])
def test_volatile(path, top):
    assert persist.volatile(path) == top


def test_netns_declarations_take_the_task_defaults():
    decls = netns_options.validate({'persist': True, 'state': 'present', 'purge': False,
                                    'namespaces': [{'name': 'a'}, {'name': 'b', 'persist': False}]})
    assert [(d['prefix'], d['persist']) for d in decls] == [('namespaces[0]', True), ('namespaces[1]', False)]
    # what a node's record keeps: its own options, as the restore command declares them again
    assert sorted(decls[0]['entry']) == sorted(('name', 'purge') + specs.NODE_OPTIONS)


def test_persisted_peer_needs_a_persisted_node(tmp_path, monkeypatch):
    monkeypatch.setattr(layout, 'NODE_RECORD_DIR', str(tmp_path))
    monkeypatch.setattr(netns_options.nodes, 'netns_exists', lambda name: True)
    params = {'name': 'a', 'persist': True, 'state': 'present',
              'links': [{'name': 'eth0', 'type': 'veth', 'peer': {'name': 'eth0', 'netns': 'b'}}]}
    with pytest.raises(NsforgeError) as exc:
        persist.plan_netns(netns_options.validate(params))
    assert exc.value.option == 'links[0].peer.netns'
    assert not os.listdir(str(tmp_path))


def test_engine_id_depends_on_content_and_interpreter():
    files = {'a.py': b'1'}
    assert persist.engine_id(files, '/usr/bin/python3') == persist.engine_id(dict(files), '/usr/bin/python3')
    assert persist.engine_id(files, '/usr/bin/python3') != persist.engine_id({'a.py': b'2'}, '/usr/bin/python3')
    assert persist.engine_id(files, '/usr/bin/python3') != persist.engine_id(files, '/usr/local/bin/python3')


def test_restore_script_runs_the_installed_engine():
    text = persist.restore_script('/usr/local/lib/nsforge/abc', '/usr/bin/python3')
    assert text.startswith('#!/usr/bin/python3 -I\n')
    assert "sys.path.insert(0, '/usr/local/lib/nsforge/abc')" in text


def test_main_usage():
    assert restore.main([]) == 2
    assert restore.main(['node']) == 2
    assert restore.main(['node', '../x']) == 1


def test_the_engine_installs_and_its_undo_restores(tmp_path, monkeypatch):
    """engine_plan's change writes the restore command's engine into a folder of its own, links the command to it,
    and its undo removes the link; a second plan finds it in place."""
    monkeypatch.setattr(persist, 'LIB_DIR', str(tmp_path / 'lib'))
    monkeypatch.setattr(persist, 'RESTORE_COMMAND', str(tmp_path / 'sbin' / 'nsforge-restore'))
    change = persist.engine_plan()
    change.apply()
    target = os.readlink(str(tmp_path / 'sbin' / 'nsforge-restore'))
    folder = os.path.dirname(target)
    package = os.path.join(folder, *persist.PACKAGE.split('.'))
    assert sorted(os.listdir(package)) == sorted(['__init__.py'] + list(persist.engine_files()))
    assert os.path.isfile(os.path.join(folder, '.complete'))
    with open(target) as handle:
        assert 'restore.main(sys.argv[1:])' in handle.read()
    assert persist.engine_plan() is None
    change.undo()
    assert not os.path.lexists(str(tmp_path / 'sbin' / 'nsforge-restore'))


def test_removed_node_units_are_forgotten_when_systemd_runs(tmp_path, monkeypatch):
    """A node no longer persisted: its record goes, and where systemd runs its unit is stopped (alone) and its failed
    state cleared after the daemon-reload, so that systemctl no longer lists it."""
    monkeypatch.setattr(layout, 'NODE_RECORD_DIR', str(tmp_path))
    monkeypatch.setattr(persist, 'NODE_RECORD_DIR', str(tmp_path))
    (tmp_path / 'web-a.json').write_text('{"node": "web-a", "netns": {}}\n')
    calls = []
    monkeypatch.setattr(systemd.kernel, 'run', lambda argv: calls.append(argv) or (0, b'', b''))
    for running, expected in ((True, True), (False, False)):
        monkeypatch.setattr(systemd, 'running', lambda r=running: r)
        plan = persist.Persisted()
        plan.node_section('web-a', 'netns', None)
        plan.finish_nodes()
        descs = [c.description for c in plan.finish(False)]
        assert ('systemd: stop and forget nsforge-node@web\\x2da.service (no longer persisted)' in descs) is expected
    calls[:] = []
    systemd.forget(['nsforge-node@web\\x2da.service'])
    assert calls == [['systemctl', 'stop', '--job-mode=ignore-dependencies', '--', 'nsforge-node@web\\x2da.service'],
                     ['systemctl', 'reset-failed', '--', 'nsforge-node@web\\x2da.service']]
