# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of nsmount's pure logic: mountinfo parsing, sizes, comparisons, validation."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nsforge.linux.plugins.module_utils import mountinfo, mounts, nsmount_options, nsmount_plan, specs
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
            'recursive': True, 'src': None, 'size': None, 'mode': None, 'uid': None, 'gid': None, 'data': [],
            'lower': None, 'upper': None, 'work': None}
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
    assert nsmount_plan.matches(decl(src='/srv/vol'), top['/data'], host) == (True, True, False, None)
    assert nsmount_plan.matches(decl(src='/srv/vol', ro=True), top['/data'], host) == (True, False, False, None)
    assert nsmount_plan.matches(decl(src='/srv/other'), top['/data'], host)[0] is False
    tmp = decl(dst='/tmp', type='tmpfs', size='64m', mode='1777')
    assert nsmount_plan.matches(tmp, top['/tmp'], host, [0, 0, 0o1777]) == (True, True, False, None)
    assert nsmount_plan.matches(dict(tmp, size='32m'), top['/tmp'], host, [0, 0, 0o1777]) == (True, False, True, None)
    ov = decl(dst='/opt/app', type='overlay', lower=['/l1', '/l2'], upper='/u', work='/w', ro=True)
    assert nsmount_plan.matches(ov, top['/opt/app'], host) == (True, True, False, None)
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


def test_a_tmpfs_root_is_compared_by_stat_not_by_its_mount_options():
    """The kernel shows the uid=, gid= and mode= a tmpfs was mounted with, and a remount changes none of them: the
    root's stat is what counts, and only what is declared is compared."""
    host = mountinfo.parse_mountinfo(HOST)
    top = mountinfo.top_mounts(mountinfo.parse_mountinfo(NODE))
    tmp = decl(dst='/tmp', type='tmpfs', uid=1000, gid=100, mode='750')
    assert nsmount_plan.matches(tmp, top['/tmp'], host, [1000, 100, 0o750]) == (True, True, False, None)
    assert nsmount_plan.matches(tmp, top['/tmp'], host, [0, 100, 0o750]) == (True, False, False, [1000, None, None])
    assert nsmount_plan.matches(tmp, top['/tmp'], host, [0, 0, 0o1777]) == (True, False, False, [1000, 100, 0o750])
    assert nsmount_plan.matches(decl(dst='/tmp', type='tmpfs'), top['/tmp'], host, [5, 5, 0o700])[1] is True
    assert nsmount_plan.root_words([1000, None, 0o750]) == 'uid=1000, mode=750'


@pytest.mark.parametrize('words,shown', [
    (['nr_inodes=1k'], True),      # the kernel shows nr_inodes=1024
    (['nr_inodes=2k'], False),
    (['huge=never'], True),        # a default the kernel does not show
    (['noswap'], True),
])
def test_tmpfs_options_as_the_kernel_shows_them(words, shown):
    entry = mountinfo.parse_mountinfo('41 22 0:50 / /t rw - tmpfs nsforge rw,nr_inodes=1024,noswap')[0]
    assert nsmount_plan.matches(decl(dst='/t', type='tmpfs', data=words), entry, [], [0, 0, 0o1777])[1] is shown


def test_one_mount_spec_for_both_modules():
    nsproc = specs.nsproc()['argument_spec']
    nsmount = specs.nsmount()['argument_spec']
    assert nsproc['mounts']['options'] == nsmount['mounts']['options'] == specs.mount_entry_spec()
    assert nsproc['services']['options']['mounts'] == nsproc['mounts']
    assert nsmount['namespaces']['options']['mounts'] == nsmount['mounts']
    assert specs.mount_entry_spec()['ro']['aliases'] == ['readonly']
    assert 'private' in nsproc and 'private' in nsmount and 'private' in specs.SERVICE_OPTIONS


def test_entry_resolves_the_alias_and_fills_the_defaults():
    """A record written before the one vocabulary holds readonly; one from a task, both spellings."""
    defaults = dict((key, spec.get('default')) for key, spec in specs.mount_entry_spec().items())
    assert mounts.entry({'dst': '/x', 'src': '/s', 'readonly': True}) == dict(defaults, dst='/x', src='/s', ro=True)
    assert mounts.entry({'dst': '/x', 'ro': False, 'readonly': True})['ro'] is False


def test_private_expands_to_tmpfs_mounts():
    got = mounts.with_private([{'dst': '/srv/'}], ['/run', '/tmp', '/var/log/', '/srv'], owner=(1000, 100))
    assert [(opt, m['dst'], m['type'], m['mode'], m['owner'], m['group']) for opt, m in got] == [
        ('private[0]', '/run', 'tmpfs', '0755', '1000', '100'),
        ('private[1]', '/tmp', 'tmpfs', '1777', None, None),
        ('private[2]', '/var/log', 'tmpfs', '0755', '1000', '100'),
        ('mounts[0]', '/srv/', 'bind', None, None, None),           # declared in mounts too: mounts says how
    ]
    assert [m['owner'] for _o, m in mounts.with_private(None, ['/run'])] == [None]


@pytest.mark.parametrize('private,option', [
    (['run'], 'private[0]'), (['/'], 'private[0]'), (['/run', '/a/../b'], 'private[1]'),
    (['/run', '/run/'], 'private[1]'), ('/run', 'private'),
])
def test_bad_private(private, option):
    with pytest.raises(NsforgeError) as info:
        mounts.with_private([], private)
    assert info.value.option == option


def declared(**kw):
    return mounts.declare('mounts[1]', mounts.entry(dict({'dst': '/t', 'type': 'tmpfs'}, **kw)))


def test_tmpfs_owner_group_and_options():
    got = declared(owner='root', group='0', size='4M', mode='0750', options='nr_inodes=1k,huge=within_size')
    assert (got['uid'], got['gid'], got['size'], got['mode'], got['data']) == \
        (0, 0, '4m', '750', ['nr_inodes=1k', 'huge=within_size'])
    assert mounts.tmpfs_data(got) == 'size=4m,mode=750,uid=0,gid=0,nr_inodes=1k,huge=within_size'
    # nsproc's older spelling: the words with keys of their own are read as those keys
    old = declared(options='size=1m,mode=0755,uid=7')
    assert (old['size'], old['mode'], old['uid'], old['data']) == ('1m', '755', 7, [])
    assert mounts.describe_tmpfs(dict(old, ro=True)) == 'size=1m, mode=755, uid=7, read-only'


@pytest.mark.parametrize('kw,option,words', [
    ({'owner': 'nobodyx'}, 'mounts[1].owner', ["'nobodyx'", 'no such user']),
    ({'group': 'nogroupx'}, 'mounts[1].group', ["'nogroupx'", 'no such group']),
    ({'type': 'bind', 'src': '/', 'owner': 'root'}, 'mounts[1].owner', ['not an option of a bind mount']),
    ({'type': 'proc', 'size': '1m'}, 'mounts[1].size', ['proc']),
    ({'options': 'size=1m', 'size': '2m'}, 'mounts[1].options', ['size']),
    ({'options': 'a b'}, 'mounts[1].options', ['comma-separated']),
    ({'type': 'tmpfs', 'recursive': False}, 'mounts[1].recursive', ['bind']),
])
def test_bad_mount_entries(kw, option, words):
    with pytest.raises(NsforgeError) as info:
        declared(**kw)
    assert info.value.option == option
    assert all(word in info.value.msg for word in words), info.value.msg


def test_an_owner_must_be_mapped_in_the_user_namespace():
    entry = mounts.entry({'dst': '/t', 'type': 'tmpfs', 'owner': '70000'})
    with pytest.raises(NsforgeError) as info:
        mounts.declare('mounts[0]', entry, mapped=([(0, 100000, 65536)], None))
    assert info.value.option == 'mounts[0].owner' and 'not mapped' in info.value.msg
    assert mounts.declare('mounts[0]', dict(entry, owner='5'), mapped=([(0, 100000, 65536)], None))['uid'] == 5


def test_nsmount_private_and_a_twice_declared_point():
    _name, decls = nsmount_options.validate(params({'dst': '/tmp', 'type': 'tmpfs', 'size': '1m'}, private=['/run', '/tmp']))
    assert [(d['option'], d['dst'], d['mode'], d['size']) for d in decls] == [
        ('private[0]', '/run', '755', None), ('mounts[0]', '/tmp', None, '1m')]
    with pytest.raises(NsforgeError) as info:
        nsmount_options.validate(params({'dst': '/t', 'type': 'tmpfs'}, {'dst': '/t/', 'type': 'tmpfs'}))
    assert info.value.option == 'mounts[1].dst'


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
