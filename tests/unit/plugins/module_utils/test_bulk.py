# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the bulk forms' pure validation: bulk (entries, paths in errors), nsmount's namespaces
(nsmount_options.items) and uidmap's users and namespaces (uidmap_options.validate).

The parameters are those AnsibleModule hands the engine: the module's spec (specs) applied by ansible-core's own
argument validator, so defaults and suboptions are as in a task.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.nsforge.linux.plugins.module_utils import (
    bulk, layout, nsmount_options, persist, specs, systemd, uidmap_options)
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError, bad_option


def module_params(spec, **params):
    """The parameters of a task as AnsibleModule gives them to the engine."""
    validator = ArgumentSpecValidator(spec['argument_spec'], mutually_exclusive=spec.get('mutually_exclusive'),
                                      required_one_of=spec.get('required_one_of'), required_by=spec.get('required_by'))
    result = validator.validate(params)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def nsmount(**params):
    return module_params(specs.nsmount(), **params)


def uidmap(**params):
    return module_params(specs.uidmap(), **params)


def tmpfs_nodes(count, **entry):
    return [dict({'namespace': 'n%02d' % i, 'mounts': [{'dst': '/t%d' % i, 'type': 'tmpfs', 'size': '%dm' % i}]},
                 **entry) for i in range(1, count + 1)]


def failure(function, *args):
    with pytest.raises(NsforgeError) as info:
        function(*args)
    return info.value


# ---------------------------------------------------------------------------
# bulk


def test_relabeled_names_the_path_and_the_label():
    exc = bulk.relabeled(bad_option('mounts[0].dst', 'x', 'expected an absolute path'), 'namespaces[17]', 'node n18')
    assert exc.option == 'namespaces[17].mounts[0].dst'
    assert exc.msg == "namespaces[17].mounts[0].dst: invalid value 'x': expected an absolute path (node n18)"
    assert exc.value == 'x'


def test_relabeled_message_without_an_option():
    exc = bulk.relabeled(NsforgeError('cannot read the maps'), 'namespaces[3]', 'node r4')
    assert exc.option == 'namespaces[3]'
    assert exc.msg == 'namespaces[3]: cannot read the maps (node r4)'


def test_within_a_single_task_keeps_errors():
    with pytest.raises(NsforgeError) as info:
        with bulk.within('', 'node red'):
            raise bad_option('mounts[0].dst', 'x', 'bad')
    assert info.value.option == 'mounts[0].dst'
    assert info.value.msg == "mounts[0].dst: invalid value 'x': bad"


def test_entries_inherit_only_what_they_leave_unset():
    spec = specs.nsmount()['argument_spec']
    params = {'namespaces': [{'namespace': 'a'}, {'namespace': 'b', 'state': 'absent', 'purge': False}],
              'state': 'present', 'purge': True, 'persist': None}
    got = bulk.entries(params, 'namespaces', specs.MOUNT_ENTRY_OPTIONS, ('state', 'purge', 'persist'), spec,
                       'namespace')
    assert [path for path, _entry in got] == ['namespaces[0]', 'namespaces[1]']
    assert [(e['state'], e['purge']) for _path, e in got] == [('present', True), ('absent', False)]


def test_claim_marks_changes_of_an_entry_only():
    class Step:
        where = None
    steps = [Step(), Step()]
    bulk.claim(steps[:1], 'namespaces[39]', 'r40')
    bulk.claim(steps[1:], '', 'red')
    assert [s.where for s in steps] == ['namespaces[39] (r40)', None]


# ---------------------------------------------------------------------------
# nsmount


def test_nsmount_single_task_is_one_item_without_path():
    items = nsmount_options.items(nsmount(namespace='red', mounts=[{'dst': '/t', 'type': 'tmpfs'}]))
    assert len(items) == 1
    assert items[0]['path'] == '' and items[0]['name'] == 'red'
    # what the record of a node keeps: the options of one node, not namespaces
    assert sorted(items[0]['params']) == sorted(specs.MOUNT_NODE_OPTIONS)
    assert items[0]['params']['propagation'] == 'private' and items[0]['params']['pivot'] is True


def test_nsmount_entries_take_the_task_defaults():
    items = nsmount_options.items(nsmount(purge=True, persist=False, namespaces=tmpfs_nodes(3) + [
        {'namespace': 'gone', 'state': 'absent', 'purge': False, 'persist': True}]))
    assert [i['path'] for i in items] == ['namespaces[0]', 'namespaces[1]', 'namespaces[2]', 'namespaces[3]']
    assert [i['label'] for i in items][:2] == ['node n01', 'node n02']
    assert [(i['params']['state'], i['params']['purge'], i['params']['persist']) for i in items] == \
        [('present', True, False)] * 3 + [('absent', False, True)]
    assert items[2]['decls'][0]['dst'] == '/t3' and items[2]['decls'][0]['size'] == '3m'
    # an entry's params are those of a single task: the same keys, so the same record
    assert all(sorted(i['params']) == sorted(specs.MOUNT_NODE_OPTIONS) for i in items)


def test_nsmount_bad_entry_names_its_path_and_node():
    nodes = tmpfs_nodes(20)
    nodes[17]['mounts'] = [{'dst': 'relative', 'type': 'tmpfs'}]
    exc = failure(nsmount_options.items, nsmount(namespaces=nodes))
    assert exc.option == 'namespaces[17].mounts[0].dst'
    assert exc.msg.startswith("namespaces[17].mounts[0].dst: invalid value 'relative'")
    assert exc.msg.endswith('(node n18)')


def test_nsmount_bad_entry_name():
    exc = failure(nsmount_options.items, nsmount(namespaces=tmpfs_nodes(2) + [{'namespace': '../x'}]))
    assert exc.option == 'namespaces[2].namespace'


def test_nsmount_node_twice_names_both_entries():
    exc = failure(nsmount_options.items, nsmount(namespaces=tmpfs_nodes(3) + [{'namespace': 'n02'}]))
    assert exc.option == 'namespaces[3].namespace'
    assert 'also in namespaces[1]' in exc.msg


@pytest.mark.parametrize('beside', [
    {'mounts': [{'dst': '/t', 'type': 'tmpfs'}]},
    {'propagation': 'slave'},
    {'rootfs': '/srv/root'},
    {'pivot': False},
])
def test_nsmount_node_options_beside_namespaces_fail(beside):
    key = list(beside)[0]
    exc = failure(nsmount_options.items, nsmount(namespaces=tmpfs_nodes(1), **beside))
    assert exc.option == key
    assert exc.msg == '%s: set it inside each entry of namespaces, not beside it' % key


def test_nsmount_defaults_beside_namespaces_are_the_entries_defaults():
    items = nsmount_options.items(nsmount(namespaces=tmpfs_nodes(1, propagation='slave'), propagation='private',
                                          pivot=True))
    assert items[0]['params']['propagation'] == 'slave'


def test_nsmount_empty_namespaces():
    assert failure(nsmount_options.items, nsmount(namespaces=[])).option == 'namespaces'


@pytest.fixture
def state_dirs(tmp_path, monkeypatch):
    """Records and units in a temporary folder; systemd not running."""
    monkeypatch.setattr(layout, 'NODE_RECORD_DIR', str(tmp_path / 'nodes'))
    monkeypatch.setattr(persist, 'NODE_RECORD_DIR', str(tmp_path / 'nodes'))
    monkeypatch.setattr(systemd, 'UNIT_DIR', str(tmp_path / 'units'))
    monkeypatch.setattr(systemd, 'running', lambda: False)
    return tmp_path


def record_diffs(found):
    return dict((d['after_header'], d['after']) for d in found[0].diffs if d['after_header'].endswith('.json'))


def test_nsmount_records_of_entries_are_those_of_single_tasks(state_dirs):
    mounts = [{'dst': '/t', 'type': 'tmpfs', 'size': '8m'}]
    entries = [{'namespace': 'a', 'mounts': mounts}, {'namespace': 'b', 'persist': False}]
    items = nsmount_options.items(nsmount(persist=True, namespaces=entries))
    found = persist.plan_nsmount([(i['path'], i['label'], i['params']) for i in items])
    single = nsmount_options.items(nsmount(namespace='a', persist=True, mounts=mounts))[0]
    alone = persist.plan_nsmount([(single['path'], single['label'], single['params'])])
    assert record_diffs(found) == record_diffs(alone)
    assert list(record_diffs(found)) == [str(state_dirs / 'nodes' / 'a.json')]
    # a's record and its unit's link are a's steps; b had no record, so it has none; the template is the task's
    owned = found[0].owned
    assert [c.description.split(' ')[0] for c in owned['a']] == ['write'] + ['enable'] * len(systemd.NODE_WANTED_BY)
    assert owned['b'] == []
    assert any('nsforge-node@.service' in c.description for c in found[0].changes if c not in owned['a'])


def test_nsmount_volatile_source_of_an_entry_names_it(state_dirs):
    entries = [{'namespace': 'a'}, {'namespace': 'b', 'persist': True, 'mounts': [{'dst': '/m', 'src': '/run'}]}]
    items = nsmount_options.items(nsmount(namespaces=entries))
    exc = failure(persist.plan_nsmount, [(i['path'], i['label'], i['params']) for i in items])
    assert exc.option == 'namespaces[1].mounts[0].src'
    assert exc.msg.endswith('(node b)')
    assert not os.path.exists(str(state_dirs / 'nodes'))


def test_uidmap_records_of_a_bulk_task(state_dirs):
    maps = [(0, 300000, 65536)]
    params = [{'namespace': n, 'state': 'present', 'persist': True, 'allow_host_root': False} for n in ('a', 'b')]
    found = persist.plan_uidmap([('namespaces[%d]' % i, 'node ' + p['namespace'], p, maps, maps)
                                 for i, p in enumerate(params)])
    alone = persist.plan_uidmap([('', 'node b', params[1], maps, maps)])
    records = record_diffs(found)
    assert sorted(records) == [str(state_dirs / 'nodes' / n) for n in ('a.json', 'b.json')]
    assert records[str(state_dirs / 'nodes' / 'b.json')] == record_diffs(alone)[str(state_dirs / 'nodes' / 'b.json')]
    assert sorted(found[0].owned) == ['a', 'b'] and all(found[0].owned.values())


# ---------------------------------------------------------------------------
# uidmap (root, uid 0, is the user every host has)


def test_uidmap_single_task():
    task = uidmap_options.validate(uidmap(user='root', subuid={'count': 10}, namespace='t1', map_root_user=True))
    assert [i['path'] for i in task['users']] == [''] and task['users'][0]['name'] == 'root'
    item = task['namespaces'][0]
    assert item['path'] == '' and item['owner'] == ('root', 0, 'map_root_user')
    assert item['params'] == {'namespace': 't1', 'state': 'present', 'persist': None, 'allow_host_root': False}


def test_uidmap_entries_take_the_task_defaults():
    task = uidmap_options.validate(uidmap(
        state='absent', persist=False,
        users=[{'user': '0', 'subuid': {'count': 10}}, {'user': 'nobody', 'state': 'present'}],
        namespaces=[{'namespace': 'a'}, {'namespace': 'b', 'state': 'present', 'map_user': 'root', 'persist': True}]))
    assert [(i['path'], i['name'], i['state']) for i in task['users']] == \
        [('users[0]', 'root', 'absent'), ('users[1]', 'nobody', 'present')]
    assert [(i['path'], i['state'], i['params']['persist']) for i in task['namespaces']] == \
        [('namespaces[0]', 'absent', False), ('namespaces[1]', 'present', True)]
    assert task['namespaces'][1]['owner'] == ('root', 0, 'map_user')


def test_uidmap_map_root_user_of_an_entry_is_roots():
    task = uidmap_options.validate(uidmap(users=[{'user': 'nobody'}],
                                          namespaces=[{'namespace': 'a', 'map_root_user': True}]))
    assert task['namespaces'][0]['owner'] == ('root', 0, 'map_root_user')


def test_uidmap_explicit_maps_are_checked_into_lines():
    task = uidmap_options.validate(uidmap(namespaces=[
        {'namespace': 'a', 'uid_map': [{'inside': 0, 'outside': 300000, 'count': 10}]}]))
    assert task['namespaces'][0]['uid_map'] == [(0, 300000, 10)] == task['namespaces'][0]['gid_map']


@pytest.mark.parametrize('params,option,label', [
    ({'users': [{'user': 'root'}, {'user': 'nobody'}, {'user': 'root', 'subuid': {'count': 0}}]},
     'users[2].subuid.count', 'user root'),
    ({'users': [{'user': 'root', 'subgid': {'start': -1, 'count': 10}}]}, 'users[0].subgid.start', 'user root'),
    ({'users': [{'user': 'nosuchuser-nsforge'}]}, 'users[0].user', 'user nosuchuser-nsforge'),
    ({'namespaces': [{'namespace': n, 'map_user': 'root'} for n in ('a', 'b', 'c')]
      + [{'namespace': 'r4', 'uid_map': [{'inside': 0, 'outside': 0, 'count': 1}]}]},
     'namespaces[3].uid_map[0].outside', 'node r4'),
    ({'namespaces': [{'namespace': 'a', 'map_user': 'root', 'uid_map': [{'inside': 0, 'outside': 9, 'count': 1}]}]},
     'namespaces[0].map_user', 'node a'),
    ({'namespaces': [{'namespace': 'a', 'gid_map': [{'inside': 0, 'outside': 9, 'count': 1}]}]},
     'namespaces[0].gid_map', 'node a'),
    ({'namespaces': [{'namespace': 'a'}]}, 'namespaces[0].namespace', 'node a'),
    ({'namespaces': [{'namespace': 'a/b', 'map_user': 'root'}]}, 'namespaces[0].namespace', 'node a/b'),
    ({'namespaces': [{'namespace': 'a', 'map_user': 'nosuchuser-nsforge'}]}, 'namespaces[0].map_user', 'node a'),
])
def test_uidmap_bad_entry_names_its_path_and_label(params, option, label):
    exc = failure(uidmap_options.validate, uidmap(**params))
    assert exc.option == option
    assert exc.msg.startswith(option + ': ')
    assert exc.msg.endswith('(%s)' % label)


def test_uidmap_absent_entry_needs_no_map():
    task = uidmap_options.validate(uidmap(namespaces=[{'namespace': 'a', 'state': 'absent'}]))
    assert task['namespaces'][0]['owner'] is None and task['namespaces'][0]['uid_map'] is None


def test_uidmap_twice_names_both_entries():
    exc = failure(uidmap_options.validate, uidmap(users=[{'user': 'root'}, {'user': '0'}]))
    assert exc.option == 'users[1].user' and 'also in users[0]' in exc.msg
    twice = [{'namespace': 'a', 'map_user': 'root'} for _i in range(2)]
    exc = failure(uidmap_options.validate, uidmap(namespaces=twice))
    assert exc.option == 'namespaces[1].namespace' and 'also in namespaces[0]' in exc.msg


@pytest.mark.parametrize('key,value,where', [
    ('user', 'root', 'users'),
    ('subuid', {'start': None, 'count': 10}, 'users'),
    ('exclusive', True, 'users'),
    ('namespace', 'b', 'namespaces'),
    ('map_user', 'root', 'namespaces'),
    ('uid_map', [{'inside': 0, 'outside': 9, 'count': 1}], 'namespaces'),
    ('recreate', True, 'namespaces'),
    ('allow_host_root', True, 'namespaces'),
])
def test_uidmap_options_beside_the_lists_fail(key, value, where):
    # AnsibleModule refuses some of these first (user with users); the engine names each one all the same
    params = uidmap(namespaces=[{'namespace': 'a', 'map_user': 'root'}])
    params[key] = value
    exc = failure(uidmap_options.validate, params)
    assert exc.option == key
    assert exc.msg == '%s: set it inside each entry of %s, not beside it' % (key, where)


def test_uidmap_defaults_beside_the_lists_are_the_entries_defaults():
    task = uidmap_options.validate(uidmap(namespaces=[{'namespace': 'a', 'map_user': 'root'}], exclusive=False,
                                          map_root_user=False, recreate=False))
    assert task['namespaces'][0]['recreate'] is False


def test_uidmap_persist_needs_namespaces():
    exc = failure(uidmap_options.validate, uidmap(users=[{'user': 'root'}], persist=True))
    assert exc.option == 'persist'
    exc = failure(uidmap_options.validate, uidmap(user='root', persist=True))
    assert exc.option == 'persist' and exc.msg.endswith('give namespace')


def test_uidmap_empty_lists():
    assert failure(uidmap_options.validate, uidmap(users=[])).option == 'users'
    assert failure(uidmap_options.validate, uidmap(namespaces=[])).option == 'namespaces'


def test_the_invocation_names_the_entries_of_each_list():
    echo = bulk.echoed({'namespaces': 'namespace', 'users': 'user'})
    params = {'state': 'present', 'namespaces': [{'namespace': 'a', 'mounts': []}, {'namespace': 'b'}],
              'users': [{'user': 'u1', 'subuid': {'count': 1}}], 'namespace': None}
    assert echo(params) == {'state': 'present', 'namespaces': ['a', 'b'], 'users': ['u1'], 'namespace': None}
    one = {'namespace': 'a', 'namespaces': None, 'users': None}
    assert echo(one) == one
