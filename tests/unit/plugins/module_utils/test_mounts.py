# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of nsmount's pure logic: mountinfo parsing, sizes, comparisons, validation."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nsforge.linux.plugins.module_utils import mountinfo, nsmount_options, nsmount_plan
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError

HOST = """22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 0:25 / /run rw,nosuid shared:5 - tmpfs tmpfs rw,mode=755
31 22 8:1 /srv/with\\040space /mnt/bound ro,relatime shared:1 - ext4 /dev/sda1 rw
"""

NODE = HOST + """40 22 8:1 /srv/vol /data rw,relatime - ext4 /dev/sda1 rw
41 22 0:50 / /tmp rw,nosuid,nodev - tmpfs nsforge rw,size=65536k,mode=1777
42 22 0:51 / /opt/app ro - overlay overlay rw,lowerdir=/l1:/l2,upperdir=/u,workdir=/w
"""


def decl(**kw):
    base = {'option': 'mounts[0]', 'dst': '/data', 'type': 'bind', 'ro': False, 'state': 'mounted', 'mkdir': True,
            'recursive': True, 'src': None, 'size': None, 'mode': None, 'lower': None, 'upper': None, 'work': None}
    base.update(kw)
    return base


def test_parse_mountinfo():
    entries = mountinfo.parse_mountinfo(HOST)
    assert [e['dst'] for e in entries] == ['/', '/run', '/mnt/bound']
    assert entries[2]['root'] == '/srv/with space'
    assert entries[2]['options'][0] == 'ro'
    assert entries[1]['propagation'] == ['shared:5']
    # a peer group of the namespace's own is no sharing with the host: it is what its services' views follow
    assert mountinfo.propagation_of(entries) == 'private'
    assert mountinfo.has_peer_group(entries)


@pytest.mark.parametrize('tags,propagation,peers', [
    ('shared:7', 'private', True),              # every node now: a peer group of its own
    ('-', 'private', False),                    # made by an earlier version: its services' views cannot follow it
    ('shared:7 master:1', 'slave', True),       # a slave of the host, with a peer group of its own
    ('master:1', 'slave', False),
    ('unbindable', 'unbindable', False),
])
def test_propagation_towards_the_host(tags, propagation, peers):
    line = '22 1 8:1 / / rw,relatime %s - ext4 /dev/sda1 rw' % tags if tags != '-' else '22 1 8:1 / / rw - ext4 /dev/sda1 rw'
    entries = mountinfo.parse_mountinfo(line)
    assert mountinfo.propagation_of(entries) == propagation
    assert mountinfo.has_peer_group(entries) == peers


def test_shared_is_private_now():
    assert [nsmount_options.wanted_propagation(p) for p in ('private', 'shared', 'slave', 'unbindable')] == \
        ['private', 'private', 'slave', 'unbindable']


@pytest.mark.parametrize('value,kib', [('64m', 65536), ('65536k', 65536), ('1g', 1048576), ('10%', None), ('2048', 2)])
def test_size_kib(value, kib):
    assert mountinfo.size_kib(value) == kib


def test_host_source_of_a_bind():
    host = mountinfo.parse_mountinfo(HOST)
    assert mountinfo.host_source(host, '/srv/vol') == ('8:1', '/srv/vol')
    assert mountinfo.host_source(host, '/run/x') == ('0:25', '/x')
    assert mountinfo.host_source(host, '/mnt/bound/sub') == ('8:1', '/srv/with space/sub')


def test_matches():
    host = mountinfo.parse_mountinfo(HOST)
    top = mountinfo.top_mounts(mountinfo.parse_mountinfo(NODE))
    assert nsmount_plan.matches(decl(src='/srv/vol'), top['/data'], host) == (True, True, False)
    assert nsmount_plan.matches(decl(src='/srv/vol', ro=True), top['/data'], host) == (True, False, False)
    assert nsmount_plan.matches(decl(src='/srv/other'), top['/data'], host)[0] is False
    tmp = decl(dst='/tmp', type='tmpfs', size='64m', mode='1777')
    assert nsmount_plan.matches(tmp, top['/tmp'], host) == (True, True, False)
    assert nsmount_plan.matches(dict(tmp, size='32m'), top['/tmp'], host) == (True, False, True)
    ov = decl(dst='/opt/app', type='overlay', lower=['/l1', '/l2'], upper='/u', work='/w', ro=True)
    assert nsmount_plan.matches(ov, top['/opt/app'], host) == (True, True, False)
    assert nsmount_plan.matches(dict(ov, upper='/u2'), top['/opt/app'], host)[0] is False


def test_own_mounts_are_those_the_host_lacks():
    own = mountinfo.own_mounts(mountinfo.parse_mountinfo(NODE), mountinfo.parse_mountinfo(HOST))
    assert [e['dst'] for e in own] == ['/data', '/tmp', '/opt/app']


def params(*items, **kw):
    base = {'namespace': 'red', 'state': 'present', 'propagation': 'private', 'purge': False, 'mounts': []}
    for item in items:
        full = {'src': None, 'type': 'bind', 'ro': False, 'recursive': True, 'size': None, 'mode': None, 'lower': None,
                'upper': None, 'work': None, 'state': 'mounted', 'mkdir': True}
        full.update(item)
        base['mounts'].append(full)
    base.update(kw)
    return base


@pytest.mark.parametrize('item,option', [
    ({'dst': 'relative', 'type': 'tmpfs'}, 'mounts[0].dst'),
    ({'dst': '/', 'type': 'tmpfs'}, 'mounts[0].dst'),
    ({'dst': '/a/../b', 'type': 'tmpfs'}, 'mounts[0].dst'),
    ({'dst': '/data', 'src': '/nonexistent/nsforge'}, 'mounts[0].src'),
    ({'dst': '/data'}, 'mounts[0].src'),
    ({'dst': '/o', 'type': 'overlay', 'lower': ['/'], 'upper': '/tmp'}, 'mounts[0].work'),
    ({'dst': '/t', 'type': 'tmpfs', 'size': 'big'}, 'mounts[0].size'),
    ({'dst': '/t', 'type': 'tmpfs', 'mode': '999'}, 'mounts[0].mode'),
    ({'dst': '/t', 'type': 'tmpfs', 'src': '/tmp'}, 'mounts[0].src'),
])
def test_bad_mounts(item, option):
    with pytest.raises(NsforgeError) as info:
        nsmount_options.validate(params(item))
    assert info.value.option == option


def test_bad_namespace_name():
    with pytest.raises(NsforgeError) as info:
        nsmount_options.validate(params(namespace='../x'))
    assert info.value.option == 'namespace'


def test_good_mounts_normalize():
    name, decls = nsmount_options.validate(params({'dst': '/t/', 'type': 'tmpfs', 'size': '64M', 'mode': '01777'}))
    assert name == 'red'
    assert decls[0]['dst'] == '/t' and decls[0]['size'] == '64m' and decls[0]['mode'] == '1777'


# a bind of /srv/app.conf made before the file was replaced by a rename (as Ansible's copy and template write)
STALE = NODE + """43 22 8:1 /srv/app.conf//deleted /etc/app.conf rw,relatime - ext4 /dev/sda1 rw
44 22 8:1 /srv/other.conf//deleted /etc/other.conf rw,relatime - ext4 /dev/sda1 rw
45 22 8:1 /srv/fresh.conf /etc/fresh.conf rw,relatime - ext4 /dev/sda1 rw
"""


def plan_stale(*decls):
    host = mountinfo.parse_mountinfo(HOST)
    entries = mountinfo.parse_mountinfo(STALE)
    actual = {'exists': True, 'inode': 4026532000, 'entries': entries, 'host_entries': host,
              'before': {'present': True, 'propagation': 'private', 'mounts': []}}
    node = {'state': 'present', 'propagation': 'private', 'purge': False, 'rootfs': None}
    changes, _predicted, _entries = nsmount_plan.plan('red', '/run/nsforge/nodes/red/mntns/mnt', node, list(decls),
                                                      actual)
    return [change.description for change in changes]


def test_a_bind_whose_source_was_replaced_is_bound_again():
    host = mountinfo.parse_mountinfo(HOST)
    top = mountinfo.top_mounts(mountinfo.parse_mountinfo(STALE))
    stale = decl(dst='/etc/app.conf', src='/srv/app.conf')
    assert nsmount_plan.replaced(stale, top['/etc/app.conf'], host)
    # another file's old bind, or a bind that still shows its file, is not a replaced source
    assert not nsmount_plan.replaced(stale, top['/etc/other.conf'], host)
    assert not nsmount_plan.replaced(decl(dst='/etc/fresh.conf', src='/srv/fresh.conf'), top['/etc/fresh.conf'], host)
    assert not nsmount_plan.replaced(dict(stale, type='tmpfs'), top['/etc/app.conf'], host)
    assert plan_stale(stale) == ['node red: bind /srv/app.conf on /etc/app.conf again: its source was replaced since '
                                 'it was bound (the bind showed the old, deleted file)']
    assert plan_stale(decl(dst='/etc/fresh.conf', src='/srv/fresh.conf')) == []
    # a bind of another (deleted) file at the point is replaced by the declared one: unmounted, then mounted
    assert plan_stale(decl(dst='/etc/other.conf', src='/srv/app.conf')) == [
        'node red: unmount /etc/other.conf (ext4), to mount it as declared',
        'node red: mount /srv/app.conf (bind) on /etc/other.conf']
