# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of nsinfo's pure logic: namespace links, the /proc pass, pinned paths, validation."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.nsforge.linux.plugins.module_utils import limits, mountinfo, nsinfo_engine
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError


def test_parse_ns_link():
    assert mountinfo.parse_ns_link('net:[4026531840]') == ('net', 4026531840)
    assert mountinfo.parse_ns_link('pid_for_children:[4026531836]') == ('pid_for_children', 4026531836)
    assert mountinfo.parse_ns_link('/run/netns/web') is None
    assert mountinfo.parse_ns_link('net:[40265x]') is None
    assert mountinfo.parse_ns_link('') is None


def _process(root, pid, links, stat=None, cmdline=b'', uid=None):
    base = os.path.join(str(root), str(pid))
    os.makedirs(os.path.join(base, 'ns'))
    for kind, inode in links.items():
        os.symlink('%s:[%d]' % (kind, inode), os.path.join(base, 'ns', kind))
    with open(os.path.join(base, 'stat'), 'w') as handle:
        handle.write(stat or '%d (sleep) S 1 %d %d 0 -1' % (pid, pid, pid))
    with open(os.path.join(base, 'cmdline'), 'wb') as handle:
        handle.write(cmdline)


def test_scan_counts_processes_and_keeps_the_lowest_pid(tmp_path):
    _process(tmp_path, 40, {'net': 100, 'uts': 200})
    _process(tmp_path, 7, {'net': 100, 'uts': 201})
    _process(tmp_path, 300, {'net': 101, 'uts': 201})
    os.makedirs(str(tmp_path / 'self'))  # not a process
    (tmp_path / 'uptime').write_text(u'1 2')
    found = limits.scan_processes(str(tmp_path))
    assert found == {
        ('net', 100): [2, 7], ('net', 101): [1, 300],
        ('uts', 200): [1, 40], ('uts', 201): [2, 7],
    }


def test_scan_skips_missing_kinds_and_vanished_processes(tmp_path):
    _process(tmp_path, 5, {'net': 100})  # a kernel without the other kinds
    os.makedirs(str(tmp_path / '9'))  # a process that exited: no ns folder any more
    assert limits.scan_processes(str(tmp_path)) == {('net', 100): [1, 5]}
    assert limits.scan_processes(str(tmp_path / 'nothing-here')) == {}


def test_process_details_as_lsns_shows_them(tmp_path):
    _process(tmp_path, 12, {}, stat='12 (my (odd) name) S 3 12 12 0 -1', cmdline=b'python3\0-m\0http.server\0')
    ppid, command, uid = nsinfo_engine.process_details(12, str(tmp_path))
    assert ppid == 3
    assert command == 'python3 -m http.server'
    assert uid == os.stat(str(tmp_path / '12')).st_uid
    # a kernel thread has no command line: its name stands in
    _process(tmp_path, 2, {}, stat='2 (kthreadd) S 0 0 0 0 -1')
    assert nsinfo_engine.process_details(2, str(tmp_path))[:2] == (0, 'kthreadd')
    assert nsinfo_engine.process_details(99, str(tmp_path)) == (None, None, None)


MOUNTINFO = """22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 0:25 / /run rw,nosuid shared:5 - tmpfs tmpfs rw,mode=755
41 30 0:4 net:[4026532300] /run/netns/web rw shared:9 - nsfs nsfs rw
42 30 0:4 net:[4026532300] /run/p/alias rw - nsfs nsfs rw
43 30 0:4 uts:[4026532301] /run/nsforge/nodes/web/uts rw - nsfs nsfs rw
44 30 0:4 net:[4026532302] /run/netns/old rw shared:9 - nsfs nsfs rw
45 30 0:4 net:[4026532303] /run/netns/old rw shared:9 - nsfs nsfs rw
46 30 0:4 mnt:[4026532304] /run/nsforge/nodes/m\\040x/mntns/mnt rw - nsfs nsfs rw
47 30 8:1 /srv/net:[1] /run/not-nsfs rw - ext4 /dev/sda1 rw
"""


def _reach_last(entries):
    """A stand-in for kernel.mount_id where nothing is mounted over a parent folder: the last mount listed at a
    path is the visible one."""
    return dict((entry['dst'], entry['id']) for entry in entries).get


def test_pinned_paths_from_mountinfo():
    entries = mountinfo.parse_mountinfo(MOUNTINFO)
    pins, unreachable = nsinfo_engine.pinned_paths(entries, _reach_last(entries))
    assert pins == {
        ('net', 4026532300): ['/run/netns/web', '/run/p/alias'],
        ('uts', 4026532301): ['/run/nsforge/nodes/web/uts'],
        ('net', 4026532303): ['/run/netns/old'],  # the later mount hides the earlier one
        ('mnt', 4026532304): ['/run/nsforge/nodes/m x/mntns/mnt'],
    }
    assert unreachable == {('net', 4026532302): [{'path': '/run/netns/old',
                                                  'reason': 'hidden by a later mount at the same path (nsfs)'}]}


# A machine's pins, then a fresh tmpfs on /run laid over them (a container's, a test sandbox's).
SHADOWED = MOUNTINFO + """60 22 0:70 / /run rw,nosuid - tmpfs tmpfs rw,mode=755
61 60 0:4 net:[4026532400] /run/netns/mine rw - nsfs nsfs rw
"""


def test_pins_under_a_later_mount_are_reported_not_used():
    entries = mountinfo.parse_mountinfo(SHADOWED)
    visible = {'/run': 60, '/run/netns/mine': 61, '/': 22}
    pins, unreachable = nsinfo_engine.pinned_paths(entries, visible.get)
    assert pins == {('net', 4026532400): ['/run/netns/mine']}
    assert unreachable[('net', 4026532300)] == [
        {'path': '/run/netns/web', 'reason': 'hidden by a later mount on /run'},
        {'path': '/run/p/alias', 'reason': 'hidden by a later mount on /run'}]
    assert unreachable[('mnt', 4026532304)] == [
        {'path': '/run/nsforge/nodes/m x/mntns/mnt', 'reason': 'hidden by a later mount on /run'}]
    # a pin whose folder is gone, with nothing mounted above it
    gone = mountinfo.parse_mountinfo("22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
                                     "41 22 0:4 net:[7] /srv/pins/x rw - nsfs nsfs rw\n")
    lost = {'path': '/srv/pins/x', 'reason': 'its path cannot be reached'}
    assert nsinfo_engine.pinned_paths(gone, {'/': 22}.get) == ({}, {('net', 7): [lost]})


def test_validate_defaults_and_errors():
    assert nsinfo_engine.validate({'kinds': None, 'node': None, 'service': None}) == set(nsinfo_engine.KINDS)
    assert nsinfo_engine.validate({'kinds': ['net', 'pid'], 'node': 'web', 'service': None}) == {'net', 'pid'}
    with pytest.raises(NsforgeError) as err:
        nsinfo_engine.validate({'kinds': ['net', 'netz'], 'node': None, 'service': None})
    assert err.value.option == 'kinds[1]'
    assert "'netz'" in err.value.msg
    with pytest.raises(NsforgeError) as err:
        nsinfo_engine.validate({'kinds': None, 'node': '../etc', 'service': None})
    assert err.value.option == 'node'
    with pytest.raises(NsforgeError) as err:
        nsinfo_engine.validate({'kinds': None, 'node': None, 'service': 'a b'})
    assert err.value.option == 'service'
