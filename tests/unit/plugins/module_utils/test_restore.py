# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the restore command's errors: what the journal of a node's unit says when its restore fails."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.nsforge.linux.plugins.module_utils import restore
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError, bad_option

RECORDS = {
    'broken': {'node': 'broken', 'netns': {'name': 'broken', 'links': [
        {'name': 'vx0', 'type': 'vxlan', 'underlay': 'host', 'link': 'under0', 'vni': 4242, 'remote': '10.237.9.2'}]}},
    'a': {'node': 'a', 'netns': {'name': 'a', 'links': [{'name': 'eth0', 'type': 'veth', 'peer': {'name': 'x', 'netns': 'broken'}}]}},
    'm': {'node': 'm', 'nsmount': {'namespace': 'm', 'mounts': []}},
}


class FakeSession:
    def close(self):
        pass


@pytest.fixture
def restoring(monkeypatch):
    monkeypatch.setattr(restore, 'read_node_record', RECORDS.get)
    monkeypatch.setattr(restore.netlink, 'Session', FakeSession)


def test_a_missing_underlay_is_told_in_the_terms_of_the_node(restoring, monkeypatch, capsys):
    """The restore declares nodes a and broken as namespaces[0] and [1] of one task; the error names broken, its
    interface and the missing underlay, not an index the user never wrote."""
    def converge(declared, check_mode, session, diff):
        assert [e['name'] for e in declared['namespaces']] == ['a', 'broken']
        raise bad_option('namespaces[1].links[0].link', 'under0', 'no interface of that name in the host, the underlay')
    monkeypatch.setattr(restore.netns_engine, 'converge', converge)
    assert restore.main(['node', 'a']) == 1
    err = capsys.readouterr().err
    assert err == ("nsforge-restore: node broken, interface vx0: links[0].link: invalid value 'under0': "
                   "no interface of that name in the host, the underlay\n")


def test_errors_of_a_node_section_and_without_an_entry():
    exc = NsforgeError('namespaces[0].hostname: invalid value 1: bad', option='namespaces[0].hostname', value=1)
    told = restore.in_node_terms(exc, ['m'])
    assert told.msg == 'node m: hostname: invalid value 1: bad'
    assert (told.option, told.value) == ('namespaces[0].hostname', 1)
    assert restore.in_node_terms(NsforgeError('netlink: File exists'), ['a', 'b']).msg == 'nodes a, b: netlink: File exists'
    already = NsforgeError('node b: create veth eth0 failed')
    assert restore.in_node_terms(already, ['a', 'b']) is already
    # an index beyond the nodes (not ours to translate) is kept, with the nodes named
    assert restore.in_node_terms(NsforgeError('namespaces[5]: x'), ['a']).msg == 'node a: namespaces[5]: x'


def test_an_nsmount_section_error_names_its_node(restoring, monkeypatch, capsys):
    def converge(section, check_mode):
        raise NsforgeError('namespaces[0].mounts[0].source: invalid value \'/srv/x\': does not exist')
    monkeypatch.setattr(restore.nsmount_engine, 'converge', converge)
    assert restore.main(['node', 'm']) == 1
    assert capsys.readouterr().err == "nsforge-restore: node m: mounts[0].source: invalid value '/srv/x': does not exist\n"


def test_a_node_already_as_recorded_is_said_so(restoring, monkeypatch, capsys):
    """Run by hand on nodes that are already there, the command prints one line instead of nothing."""
    monkeypatch.setattr(restore.netns_engine, 'converge', lambda declared, check_mode, session, diff: {'changes': []})
    assert restore.main(['node', 'a']) == 0
    assert capsys.readouterr().out == 'nodes a, broken: as recorded, nothing to restore\n'
    monkeypatch.setattr(restore.netns_engine, 'converge', lambda declared, check_mode, session, diff: {'changes': ['node a: set eth0 up']})
    assert restore.main(['node', 'a']) == 0
    assert capsys.readouterr().out == 'node a: set eth0 up\n'


def test_the_journal_is_the_stream_systemd_named(monkeypatch, tmp_path):
    """A service inherits the restore command's stdout/stderr only when systemd connected them to the journal
    ($JOURNAL_STREAM); else (by hand, or a stand-in of systemctl that captures them) the builtin's log files."""
    with open(str(tmp_path / 'stream'), 'w') as handle:
        st = os.fstat(handle.fileno())
        monkeypatch.delenv('JOURNAL_STREAM', raising=False)
        assert not restore.to_journal(handle.fileno())
        monkeypatch.setenv('JOURNAL_STREAM', '%d:%d' % (st.st_dev, st.st_ino))
        assert restore.to_journal(handle.fileno())
        monkeypatch.setenv('JOURNAL_STREAM', '%d:%d' % (st.st_dev, st.st_ino + 1))
        assert not restore.to_journal(handle.fileno())
