# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the change list: check mode, order, undo on failure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nsforge.linux.plugins.module_utils import changes
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError


def recorder():
    log = []

    def step(name, fail=False):
        def apply():
            if fail:
                raise OSError(22, 'Invalid argument')
            log.append('do ' + name)

        def undo():
            log.append('undo ' + name)
        return changes.Change(name, apply, undo)
    return log, step


def test_check_mode_applies_nothing():
    log, step = recorder()
    assert changes.run([step('a'), step('b')], check_mode=True) == ['a', 'b']
    assert log == []


def test_apply_in_order():
    log, step = recorder()
    assert changes.run([step('a'), step('b')], check_mode=False) == ['a', 'b']
    assert log == ['do a', 'do b']


def test_failure_undoes_in_reverse_and_names_the_step():
    log, step = recorder()
    with pytest.raises(NsforgeError) as info:
        changes.run([step('a'), step('b'), step('c', fail=True), step('d')], check_mode=False)
    assert log == ['do a', 'do b', 'undo b', 'undo a']
    assert info.value.msg.startswith('c failed: ')
    assert 'undid 2 earlier change(s)' in info.value.msg


def test_undo_errors_are_reported():
    def boom():
        raise RuntimeError('stuck')

    def refuse():
        raise OSError(1, 'no')
    first = changes.Change('first', lambda: None, boom)
    second = changes.Change('second', refuse)
    with pytest.raises(NsforgeError) as info:
        changes.run([first, second], check_mode=False)
    assert 'could not undo: first (stuck)' in info.value.msg


def test_undo_errors_named_up_to_a_few():
    def boom():
        raise RuntimeError('stuck')

    def refuse():
        raise OSError(1, 'no')
    done = [changes.Change('step %d' % i, lambda: None, boom) for i in range(1, 1001)]
    with pytest.raises(NsforgeError) as info:
        changes.run(done + [changes.Change('last', refuse)], check_mode=False)
    msg = info.value.msg
    assert 'undid 1000 earlier change(s)' in msg
    assert 'could not undo: step 1000 (stuck); step 999 (stuck)' in msg
    assert msg.count('(stuck)') == changes.UNDO_ERRORS_SHOWN
    assert msg.endswith('; and %d more' % (1000 - changes.UNDO_ERRORS_SHOWN))


def test_ordered_by_phase_then_plan_order():
    items = [changes.Change(n, None, None, p) for n, p in (('x', 2), ('a', 1), ('y', 2), ('b', 1))]
    assert [c.description for c in changes.ordered(items)] == ['a', 'b', 'x', 'y']
