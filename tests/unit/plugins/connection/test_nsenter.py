# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the nsenter connection plugin's pure logic: targets, kinds, argument vectors, the host-side
scripts (run against this process's own /proc, no namespace is made), and the retry when a service changed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shlex
import subprocess
import sys

import pytest

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.playbook.play_context import PlayContext

from ansible_collections.nsforge.linux.plugins.connection import nsenter

NODE = ('node', 'r1')
SERVICE = ('service', 'web')
SERVICE_FOUND = {'pid': 4242, 'start_time': 777, 'host_python': 'python3',
                 'kinds': {'pid': {'inode': 1, 'shared': False}, 'mnt': {'inode': 2, 'shared': False},
                           'net': {'inode': 3, 'shared': True}, 'uts': {'inode': 4, 'shared': False}}}


# ---------------------------------------------------------------------------
# options


def test_target_node_and_service():
    assert nsenter.check_target('r1', None) == NODE
    assert nsenter.check_target(None, 'web') == SERVICE


@pytest.mark.parametrize('node, service, message', [
    (None, None, 'needs ansible_nsenter_node or ansible_nsenter_service'),
    ('r1', 'web', "ansible_nsenter_node ('r1') and ansible_nsenter_service ('web') are mutually exclusive"),
    ('../etc', None, "ansible_nsenter_node: invalid value '../etc'"),
    (None, 'a b', "ansible_nsenter_service: invalid value 'a b'"),
    ('-x', None, "ansible_nsenter_node: invalid value '-x'"),
])
def test_target_errors_name_the_variable(node, service, message):
    with pytest.raises(AnsibleError) as err:
        nsenter.check_target(node, service)
    assert message in str(err.value)


def test_kinds_default_and_order():
    assert nsenter.check_kinds(None) is None
    # nsenter's order, whatever the order given
    assert nsenter.check_kinds(['mnt', 'net', 'user']) == ['user', 'net', 'mnt']
    assert nsenter.check_kinds('net, uts') == ['uts', 'net']


@pytest.mark.parametrize('value, message', [
    (['net', 'bogus'], "ansible_nsenter_namespaces: invalid value ['net', 'bogus']: 'bogus' is not a kind of namespace"),
    ([], 'ansible_nsenter_namespaces: invalid value []: a non-empty list'),
    ({'net': 1}, 'ansible_nsenter_namespaces: invalid value'),
    (['mount'], "'mount' is not a kind of namespace; choose among cgroup, ipc, mnt, net, pid, time, user, uts"),
])
def test_kinds_errors_name_the_variable(value, message):
    with pytest.raises(AnsibleError) as err:
        nsenter.check_kinds(value)
    assert message in str(err.value)


def test_kind_table_matches_the_engine():
    assert sorted(nsenter.KINDS) == sorted(nsenter.layout.KIND_NAMES)
    assert sorted(nsenter.OPTION_OF) == sorted(nsenter.KINDS)


# ---------------------------------------------------------------------------
# looking the target up


def test_probe_spec_uses_the_node_layout():
    spec = nsenter.probe_spec(NODE)
    assert spec['paths']['net'] == '/run/netns/r1'
    assert spec['paths']['uts'] == '/run/nsforge/nodes/r1/uts'
    assert spec['paths']['user'] == '/run/nsforge/nodes/r1/user'
    assert spec['paths']['mnt'] == '/run/nsforge/nodes/r1/mntns/mnt'
    assert nsenter.probe_spec(SERVICE)['record'] == '/run/nsforge/services/web.json'


@pytest.mark.parametrize('target, found, message', [
    (NODE, {'kinds': {}}, 'node r1: no such node on h1 (none of its namespaces is pinned, such as /run/netns/r1)'),
    (SERVICE, {'error': 'absent'}, 'service web: no such service on h1 (no record /run/nsforge/services/web.json)'),
    (SERVICE, {'error': 'dead', 'status': 'stopped', 'pid': 5}, 'service web is not running on h1 (its record says status stopped)'),
    (SERVICE, {'error': 'dead', 'status': 'running', 'pid': 5}, 'service web is not running on h1 (its recorded process, PID 5, has ended)'),
    (SERVICE, {'error': 'unreadable', 'why': 'Permission denied'}, 'the host connection must log in as root'),
])
def test_probe_failures_name_the_target(target, found, message):
    with pytest.raises(AnsibleConnectionFailure) as err:
        nsenter.parse_probe(target, 0, json.dumps(found).encode(), b'', 'h1')
    assert message in str(err.value)


def test_probe_that_did_not_run():
    with pytest.raises(AnsibleConnectionFailure) as err:
        nsenter.parse_probe(NODE, 127, b'', b'sh: 1: python3: not found', 'h1')
    assert 'node r1: cannot look it up on h1 (exit status 127): sh: 1: python3: not found' in str(err.value)


def test_select_kinds():
    node_found = {'kinds': {'net': {'shared': False}, 'uts': {'shared': False}, 'user': {'shared': False}}}
    assert nsenter.select_kinds(NODE, node_found, None) == ['user', 'uts', 'net']
    assert nsenter.select_kinds(NODE, node_found, ['net']) == ['net']
    # a service: the kinds that differ from the host's, or those asked for
    assert nsenter.select_kinds(SERVICE, SERVICE_FOUND, None) == ['uts', 'pid', 'mnt']
    assert nsenter.select_kinds(SERVICE, SERVICE_FOUND, ['net']) == ['net']
    with pytest.raises(AnsibleError) as err:
        nsenter.select_kinds(NODE, node_found, ['net', 'pid'])
    assert "ansible_nsenter_namespaces: invalid value ['net', 'pid']: node r1 has no pid namespace (it has: user, uts, net)" \
        in str(err.value)


# ---------------------------------------------------------------------------
# argument vectors


def test_node_without_mount_namespace_goes_through_ip_netns_exec():
    assert nsenter.nsenter_argv(NODE, {}, ['user', 'uts', 'net']) == [
        'ip', 'netns', 'exec', 'r1',
        'nsenter', '--user=/run/nsforge/nodes/r1/user', '--uts=/run/nsforge/nodes/r1/uts', '--']
    assert nsenter.nsenter_argv(NODE, {}, ['net']) == ['ip', 'netns', 'exec', 'r1']


def test_node_with_mount_namespace_is_entered_with_nsenter_only():
    assert nsenter.nsenter_argv(NODE, {}, ['uts', 'net', 'mnt']) == [
        'nsenter', '--uts=/run/nsforge/nodes/r1/uts', '--net=/run/netns/r1', '--mount=/run/nsforge/nodes/r1/mntns/mnt', '--']
    assert nsenter.nsenter_argv(NODE, {}, ['uts']) == ['nsenter', '--uts=/run/nsforge/nodes/r1/uts', '--']


def test_service_is_checked_then_entered_through_its_process():
    argv = nsenter.nsenter_argv(SERVICE, SERVICE_FOUND, ['uts', 'pid', 'mnt'])
    assert argv[:2] == ['python3', '-c']
    assert argv[3:] == ['4242', '777', '--',
                        'nsenter', '--uts=/proc/4242/ns/uts', '--pid=/proc/4242/ns/pid', '--mount=/proc/4242/ns/mnt',
                        '--root=/proc/4242/root', '--wd=/proc/4242/cwd', '--']
    # without its mount namespace: no root or working directory of its own
    assert nsenter.nsenter_argv(SERVICE, SERVICE_FOUND, ['net'])[3:] == ['4242', '777', '--', 'nsenter', '--net=/proc/4242/ns/net', '--']


def test_join_argv_round_trips_through_a_shell():
    argv = ['nsenter', '--net=/run/netns/r1', '--', '/bin/sh', '-c', "echo 'a b' \"$HOME\" `x`; exit 3\n"]
    assert shlex.split(nsenter.join_argv(argv)) == argv


def test_dd_argv():
    assert nsenter.dd_write_argv('/tmp/x y', 0, 10) == ['dd', 'of=/tmp/x y', 'bs=65536']
    assert nsenter.dd_write_argv('/tmp/x', 0, 0) == ['dd', 'of=/tmp/x', 'bs=65536', 'count=0']
    assert nsenter.dd_write_argv('/tmp/x', 2 * nsenter.CHUNK, 5) == [
        'dd', 'of=/tmp/x', 'bs=65536', 'seek=%d' % (2 * nsenter.CHUNK // 65536), 'conv=notrunc']
    assert nsenter.dd_read_argv('/tmp/x', 0) == ['dd', 'if=/tmp/x', 'bs=65536', 'count=128']
    assert nsenter.dd_read_argv('/tmp/x', nsenter.CHUNK) == ['dd', 'if=/tmp/x', 'bs=65536', 'count=128', 'skip=128']


# ---------------------------------------------------------------------------
# the host-side scripts, run against this process's own /proc


def run_python(argv):
    return subprocess.run([sys.executable] + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)


def test_probe_script_finds_namespace_files_only(tmp_path):
    plain = tmp_path / 'plain'
    plain.write_text(u'not a namespace')
    spec = {'kinds': list(nsenter.KINDS), 'paths': {'net': '/proc/self/ns/net', 'uts': str(plain), 'user': str(tmp_path / 'none')}}
    done = run_python(['-c', nsenter.PROBE, json.dumps(spec)])
    found = json.loads(done.stdout.decode())
    assert list(found['kinds']) == ['net']
    assert found['kinds']['net']['shared'] is True
    assert found['kinds']['net']['inode'] == os.stat('/proc/self/ns/net').st_ino


def test_probe_script_reads_a_record(tmp_path):
    with open('/proc/self/stat') as handle:
        start = int(handle.read().rsplit(')', 1)[1].split()[19])
    record = tmp_path / 'svc.json'
    record.write_text(json.dumps({'pid': os.getpid(), 'start_time': start, 'status': 'running'}))
    spec = {'kinds': list(nsenter.KINDS), 'record': str(record)}
    found = json.loads(run_python(['-c', nsenter.PROBE, json.dumps(spec)]).stdout.decode())
    assert found['pid'] == os.getpid()
    assert found['kinds']['net'] == {'inode': os.stat('/proc/self/ns/net').st_ino, 'shared': True}
    record.write_text(json.dumps({'pid': os.getpid(), 'start_time': start + 1, 'status': 'running'}))
    assert json.loads(run_python(['-c', nsenter.PROBE, json.dumps(spec)]).stdout.decode())['error'] == 'dead'
    spec['record'] = str(tmp_path / 'none.json')
    assert json.loads(run_python(['-c', nsenter.PROBE, json.dumps(spec)]).stdout.decode())['error'] == 'absent'


def test_guard_script_runs_the_command_only_for_the_same_process():
    with open('/proc/self/stat') as handle:
        start = handle.read().rsplit(')', 1)[1].split()[19]
    pid = str(os.getpid())
    done = run_python(['-c', nsenter.GUARD, pid, start, '--', 'echo', 'same'])
    assert (done.returncode, done.stdout) == (0, b'same\n')
    done = run_python(['-c', nsenter.GUARD, pid, str(int(start) + 1), '--', 'echo', 'same'])
    assert done.returncode == nsenter.GONE_STATUS
    assert done.stdout == b''
    assert nsenter.GONE_MARK.encode() in done.stderr


# ---------------------------------------------------------------------------
# the connection with a stand-in host connection


class FakeHost(object):
    """Answers the probe with successive findings and commands with successive results."""

    def __init__(self, probes, results):
        self.probes = list(probes)
        self.results = list(results)
        self.commands = []

    def get_option(self, name):
        return {'host': 'h1'}[name]

    def exec_command(self, cmd, in_data=None, sudoable=True):
        argv = shlex.split(cmd)
        self.commands.append((argv, in_data, sudoable))
        if argv[1:3] == ['-c', nsenter.PROBE]:
            return 0, json.dumps(self.probes.pop(0)).encode(), b''
        return self.results.pop(0)


def connection(host, target=SERVICE):
    conn = nsenter.Connection(PlayContext())
    conn._host_conn = host
    conn._host_conn_name = 'fake'
    conn._target = target
    conn._options['host_python'] = 'python3'
    conn._lookup()
    conn._kinds = nsenter.select_kinds(target, conn._found, None)
    conn._connected = True
    return conn


def test_exec_runs_the_play_shell_inside_with_the_inner_connection():
    host = FakeHost([dict(SERVICE_FOUND)], [(0, b'out', b'')])
    conn = connection(host)
    assert conn.exec_command("echo 'hi'; id", in_data=b'data', sudoable=True) == (0, b'out', b'')
    argv, in_data, sudoable = host.commands[-1]
    assert argv[-3:] == ['/bin/sh', '-c', "echo 'hi'; id"]
    assert '--pid=/proc/4242/ns/pid' in argv
    assert (in_data, sudoable) == (b'data', True)


def test_a_restarted_service_is_looked_up_again():
    restarted = dict(SERVICE_FOUND, pid=5151, start_time=888)
    gone = (nsenter.GONE_STATUS, b'', (nsenter.GONE_MARK + ': process 4242\n').encode())
    host = FakeHost([dict(SERVICE_FOUND), restarted], [gone, (0, b'ok', b'')])
    conn = connection(host)
    assert conn.exec_command('true') == (0, b'ok', b'')
    last = host.commands[-1][0]
    assert last[3:6] == ['5151', '888', '--']
    assert '--pid=/proc/5151/ns/pid' in last


def test_a_service_that_keeps_changing_fails():
    gone = (nsenter.GONE_STATUS, b'', nsenter.GONE_MARK.encode())
    host = FakeHost([dict(SERVICE_FOUND), dict(SERVICE_FOUND)], [gone, gone])
    conn = connection(host)
    with pytest.raises(AnsibleConnectionFailure) as err:
        conn.exec_command('true')
    assert 'service web: its process keeps changing' in str(err.value)


def test_an_ordinary_exit_status_is_not_a_restart():
    host = FakeHost([dict(SERVICE_FOUND)], [(nsenter.GONE_STATUS, b'', b'the command itself')])
    conn = connection(host)
    assert conn.exec_command('exit 222')[0] == nsenter.GONE_STATUS
    assert len(host.commands) == 2


def test_files_move_in_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(nsenter, 'CHUNK', 2 * nsenter.BLOCK)
    source = tmp_path / 'src'
    payload = bytes(bytearray(range(256))) * (5 * nsenter.BLOCK // 256) + b'tail'
    source.write_bytes(payload)
    host = FakeHost([{'kinds': {'net': {'shared': False}, 'mnt': {'shared': False}}}], [(0, b'', b'')] * 3)
    conn = connection(host, NODE)
    conn.put_file(str(source), '/data/f')
    writes = host.commands[1:]
    assert [w[0][-3:] for w in writes] == [
        ['dd', 'of=/data/f', 'bs=65536'],
        ['bs=65536', 'seek=2', 'conv=notrunc'],
        ['bs=65536', 'seek=4', 'conv=notrunc']]
    assert b''.join(w[1] for w in writes) == payload
    assert all(w[1] is not None and w[2] is False for w in writes)

    chunks = [payload[i:i + nsenter.CHUNK] for i in range(0, len(payload), nsenter.CHUNK)]
    host.results = [(0, c, b'') for c in chunks]
    target = tmp_path / 'back'
    conn.fetch_file('/data/f', str(target))
    assert target.read_bytes() == payload
    assert host.commands[-1][0][-4:] == ['if=/data/f', 'bs=65536', 'count=2', 'skip=4']


def test_a_file_of_whole_chunks_and_a_failed_transfer(tmp_path, monkeypatch):
    monkeypatch.setattr(nsenter, 'CHUNK', nsenter.BLOCK)
    source = tmp_path / 'src'
    source.write_bytes(b'x' * (2 * nsenter.BLOCK))
    host = FakeHost([{'kinds': {'mnt': {'shared': False}}}], [(0, b'', b'')] * 2)
    conn = connection(host, NODE)
    conn.put_file(str(source), '/data/f')
    # two writes, no third one with an empty input that a host connection could leave open
    assert len(host.commands) == 3
    host.results = [(1, b'', b"dd: failed to open '/nope/f': No such file or directory\n")]
    with pytest.raises(AnsibleError) as err:
        conn.fetch_file('/nope/f', str(tmp_path / 'back'))
    assert "cannot transfer /nope/f in node r1: dd: failed to open '/nope/f': No such file or directory" in str(err.value)
