# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of uidmap's pure logic: /etc/subuid and /etc/subgid, ID map lines, atomic writes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


import pytest

from ansible_collections.nsforge.linux.plugins.module_utils import idmap
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError

SAMPLE = (
    '# subordinate uids\n'
    '\n'
    'alice:100000:65536\n'
    'not an entry\n'
    'bob:165536:65536\n'
    'x:y:z\n'
    'carol:1:2:3\n'
    '  # indented comment\n'
    'dave:300000:10\r\n'
    '1001:231072:65536'
)


# parsing and formatting --------------------------------------------------------------------------------------

@pytest.mark.parametrize('text', [
    SAMPLE, SAMPLE + '\n', '', '\n', '\n\n', 'alice:1:2', '# only a comment', 'caf\u00e9:1:2\n', 'a:1:2\r\nb:3:4\x0bc\n',
])
def test_round_trip(text):
    assert idmap.format_lines(idmap.parse(text)) == text


def test_parse_entries():
    lines = idmap.parse(SAMPLE)
    entries = [(l.user, l.start, l.count, l.number) for l in lines if l.is_entry]
    assert entries == [('alice', 100000, 65536, 3), ('bob', 165536, 65536, 5), ('1001', 231072, 65536, 10)]
    assert lines[-1].text == '1001:231072:65536'
    assert not lines[8].is_entry    # a '\r' before the newline makes the count malformed, as for shadow


def test_ranges_of_by_name_and_uid():
    text = 'alice:100000:65536\n1000:200000:10\nbob:300000:5\n01000:400000:1\n'
    assert idmap.ranges_of(text, 'alice') == [(100000, 65536)]
    assert idmap.ranges_of(text, 'alice', 1000) == [(100000, 65536), (200000, 10), (400000, 1)]
    assert idmap.ranges_of(text, 'nobody') == []
    assert idmap.ranges_of('', 'alice') == []


# plan_ranges: present --------------------------------------------------------------------------------------------

def test_present_exact_range_unchanged():
    assert idmap.plan_ranges(SAMPLE, 'alice', {'start': 100000, 'count': 65536}, 'present', False, 'subuid') == (SAMPLE, [])


def test_present_start_count_appended_after_missing_newline():
    new, changes = idmap.plan_ranges(SAMPLE, 'erin', {'start': 500000, 'count': 1000}, 'present', False, 'subuid')
    assert new == SAMPLE + '\nerin:500000:1000\n'
    assert changes == ['add erin:500000:1000']
    assert idmap.plan_ranges(new, 'erin', {'start': 500000, 'count': 1000}, 'present', False, 'subuid') == (new, [])


def test_present_start_none_means_count_only():
    text = 'alice:100000:65536\n'
    new, changes = idmap.plan_ranges(text, 'bob', {'start': None, 'count': 65536}, 'present', False, 'subgid')
    assert new == text + 'bob:165536:65536\n'
    assert changes == ['add bob:165536:65536']


def test_allocation_lowest_free_and_deterministic():
    text = '# c\nalice:100000:1000\nbob:101500:500\ncarol:102000:10\n'
    new, changes = idmap.plan_ranges(text, 'erin', {'count': 500}, 'present', False, 'subuid')
    assert changes == ['add erin:101000:500']                  # fits exactly in the hole
    assert new == text + 'erin:101000:500\n'
    assert idmap.plan_ranges(text, 'erin', {'count': 500}, 'present', False, 'subuid') == (new, changes)
    _new, changes = idmap.plan_ranges(text, 'erin', {'count': 501}, 'present', False, 'subuid')
    assert changes == ['add erin:102010:501']                  # hole too small: after the last range
    assert idmap.plan_ranges(new, 'erin', {'count': 500}, 'present', False, 'subuid') == (new, [])


def test_allocation_empty_file_and_below_min():
    assert idmap.plan_ranges('', 'alice', {'count': 65536}, 'present', False, 'subuid') == ('alice:100000:65536\n', ['add alice:100000:65536'])
    # ranges below SUB_UID_MIN do not matter; a range straddling it does
    _new, changes = idmap.plan_ranges('bob:0:5000\ncarol:99999:2\n', 'alice', {'count': 10}, 'present', False, 'subuid')
    assert changes == ['add alice:100001:10']


def test_allocation_avoids_own_ranges_and_window_limits():
    text = 'alice:100000:10\n'
    _new, changes = idmap.plan_ranges(text, 'alice', {'count': 20}, 'present', False, 'subuid')
    assert changes == ['add alice:100010:20']
    _new, changes = idmap.plan_ranges('', 'alice', {'count': 11}, 'present', False, 'subuid', min_id=10, max_id=20)
    assert changes == ['add alice:10:11']
    with pytest.raises(NsforgeError) as info:
        idmap.plan_ranges('', 'alice', {'count': 12}, 'present', False, 'subuid', min_id=10, max_id=20)
    assert info.value.option == 'subuid'
    assert 'no free range of 12 IDs between 10 and 20' in info.value.msg
    with pytest.raises(NsforgeError) as info:
        idmap.plan_ranges('bob:100000:600000001\n', 'alice', {'count': 1}, 'present', False, 'subgid')
    assert info.value.option == 'subgid'


def test_count_only_wants_exactly_that_count():
    text = 'alice:100000:1000\n'
    assert idmap.plan_ranges(text, 'alice', {'count': 1000}, 'present', False, 'subuid') == (text, [])
    new, changes = idmap.plan_ranges(text, 'alice', {'count': 500}, 'present', False, 'subuid')
    assert changes == ['add alice:101000:500']
    assert new == text + 'alice:101000:500\n'


def test_count_only_skips_own_range_overlapping_another_user():
    text = 'bob:100000:10\nalice:100005:10\n'
    _new, changes = idmap.plan_ranges(text, 'alice', {'count': 10}, 'present', False, 'subuid')
    assert changes == ['add alice:100015:10']


def test_overlap_with_other_user_refused():
    with pytest.raises(NsforgeError) as info:
        idmap.plan_ranges(SAMPLE, 'erin', {'start': 160000, 'count': 10000}, 'present', False, 'subuid')
    assert info.value.option == 'subuid'
    assert 'overlaps the range 100000-165535 of alice (line 3' in info.value.msg
    with pytest.raises(NsforgeError) as info:       # by numeric uid: another user unless uid says it is the user's
        idmap.plan_ranges(SAMPLE, 'frank', {'start': 231072, 'count': 1}, 'present', False, 'subgid')
    assert info.value.option == 'subgid'
    new, changes = idmap.plan_ranges(SAMPLE, 'frank', {'start': 231072, 'count': 65536}, 'present', False, 'subgid', uid=1001)
    assert (new, changes) == (SAMPLE, [])


def test_overlap_with_existing_other_user_refused_even_if_present():
    text = 'alice:100000:10\nbob:100005:10\n'
    with pytest.raises(NsforgeError) as info:
        idmap.plan_ranges(text, 'bob', {'start': 100005, 'count': 10}, 'present', True, 'subuid')
    assert 'of alice' in info.value.msg


def test_overlap_with_own_range_needs_exclusive():
    text = '# x\nalice:100000:65536\nbob:200000:10\n'
    with pytest.raises(NsforgeError) as info:
        idmap.plan_ranges(text, 'alice', {'start': 100000, 'count': 1000}, 'present', False, 'subuid')
    assert info.value.option == 'subuid'
    assert 'exclusive' in info.value.msg
    new, changes = idmap.plan_ranges(text, 'alice', {'start': 100000, 'count': 1000}, 'present', True, 'subuid')
    assert new == '# x\nbob:200000:10\nalice:100000:1000\n'
    assert changes == ['remove alice:100000:65536 (line 2)', 'add alice:100000:1000']


def test_exclusive_removes_other_ranges_and_duplicates():
    text = 'alice:1:2\n# keep\nalice:100000:65536\nbob:300000:1\nalice:100000:65536\n1000:5:5'
    new, changes = idmap.plan_ranges(text, 'alice', {'start': 100000, 'count': 65536}, 'present', True, 'subuid', uid=1000)
    assert new == '# keep\nalice:100000:65536\nbob:300000:1\n'
    assert changes == ['remove alice:1:2 (line 1)', 'remove alice:100000:65536 (line 5)', 'remove 1000:5:5 (line 6)']
    assert idmap.plan_ranges(new, 'alice', {'start': 100000, 'count': 65536}, 'present', True, 'subuid', uid=1000) == (new, [])


def test_exclusive_count_only_reuses_freed_range():
    text = 'alice:100000:10\nbob:100010:10\n'
    new, changes = idmap.plan_ranges(text, 'alice', {'count': 5}, 'present', True, 'subuid')
    assert new == 'bob:100010:10\nalice:100000:5\n'
    assert changes == ['remove alice:100000:10 (line 1)', 'add alice:100000:5']
    assert idmap.plan_ranges(text, 'alice', {'count': 10}, 'present', True, 'subuid') == (text, [])


def test_present_without_range_is_no_change():
    assert idmap.plan_ranges(SAMPLE, 'alice', None, 'present', True, 'subuid') == (SAMPLE, [])


# plan_ranges: absent ---------------------------------------------------------------------------------------------

def test_absent_all():
    text = 'alice:1:2\n# c\nbob:10:1\nalice:100:5'
    new, changes = idmap.plan_ranges(text, 'alice', None, 'absent', False, 'subuid')
    assert new == '# c\nbob:10:1\n'
    assert changes == ['remove alice:1:2 (line 1)', 'remove alice:100:5 (line 4)']
    assert idmap.plan_ranges(new, 'alice', None, 'absent', False, 'subuid') == (new, [])


def test_absent_last_line_keeps_missing_newline_of_others():
    text = 'alice:1:2\nbob:10:1'
    assert idmap.plan_ranges(text, 'alice', None, 'absent', False, 'subuid') == ('bob:10:1', ['remove alice:1:2 (line 1)'])


def test_absent_exact_range_and_count():
    text = 'alice:1:2\nalice:100:5\nalice:200:5\n'
    assert idmap.plan_ranges(text, 'alice', {'start': 100, 'count': 5}, 'absent', False, 'subuid') == \
        ('alice:1:2\nalice:200:5\n', ['remove alice:100:5 (line 2)'])
    assert idmap.plan_ranges(text, 'alice', {'count': 5}, 'absent', False, 'subuid') == \
        ('alice:1:2\n', ['remove alice:100:5 (line 2)', 'remove alice:200:5 (line 3)'])
    assert idmap.plan_ranges(text, 'alice', {'start': 100, 'count': 6}, 'absent', False, 'subuid') == (text, [])
    assert idmap.plan_ranges(text, 'bob', None, 'absent', False, 'subuid') == (text, [])


# bad input -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('want,option,why', [
    ({'start': -1, 'count': 10}, 'subuid.start', 'between 0 and 4294967294'),
    ({'start': 4294967295, 'count': 1}, 'subuid.start', 'between 0 and 4294967294'),
    ({'start': 4294967290, 'count': 10}, 'subuid.count', 'ends above 4294967294'),
    ({'start': 100000, 'count': 0}, 'subuid.count', 'at least 1'),
    ({'count': -5}, 'subuid.count', 'at least 1'),
    ({'count': 4294967296}, 'subuid.count', 'at most'),
    ({'start': 100000}, 'subuid.count', 'required'),
    ({'start': '100000', 'count': 1}, 'subuid.start', 'integer'),
    ({'count': True}, 'subuid.count', 'integer'),
    ({'count': 1, 'end': 5}, 'subuid', 'unknown'),
    ([100000, 65536], 'subuid', 'expected'),
])
def test_bad_range(want, option, why):
    with pytest.raises(NsforgeError) as info:
        idmap.plan_ranges('', 'alice', want, 'present', False, 'subuid')
    assert info.value.option == option
    assert why in info.value.msg


def test_highest_range_accepted():
    new, _changes = idmap.plan_ranges('', 'alice', {'start': 4294967290, 'count': 5}, 'present', False, 'subuid')
    assert new == 'alice:4294967290:5\n'


@pytest.mark.parametrize('user', ['', 'a:b', '#x', 'a b', 'a\nb', None])
def test_bad_user(user):
    with pytest.raises(NsforgeError) as info:
        idmap.plan_ranges('', user, {'count': 1}, 'present', False, 'subuid')
    assert info.value.option == 'user'


def test_bad_state():
    with pytest.raises(NsforgeError) as info:
        idmap.plan_ranges('', 'alice', {'count': 1}, 'gone', False, 'subuid')
    assert info.value.option == 'state'


# ID maps ---------------------------------------------------------------------------------------------------------

def line(inside, outside, count):
    return {'inside': inside, 'outside': outside, 'count': count}


def test_map_lines():
    assert idmap.check_map([line(0, 100000, 65536), line(65536, 300000, 1)], 'uid_map', False) == [(0, 100000, 65536), (65536, 300000, 1)]
    assert idmap.check_map([(0, 100000, 1)], 'gid_map', False) == [(0, 100000, 1)]
    assert idmap.check_map([line(0, 0, 1)], 'uid_map', True) == [(0, 0, 1)]
    assert idmap.check_map([line(4294967294, 4294967294, 1)], 'uid_map', False) == [(4294967294, 4294967294, 1)]
    assert len(idmap.check_map([line(i, 100000 + i, 1) for i in range(340)], 'uid_map', False)) == 340


@pytest.mark.parametrize('lines,option,why', [
    ([line(0, 0, 1)], 'uid_map[0].outside', 'allow_host_root'),
    ([line(0, 100000, 0)], 'uid_map[0].count', 'at least 1'),
    ([line(0, 4294967295, 1)], 'uid_map[0].outside', 'between 0 and'),
    ([line(-1, 100000, 1)], 'uid_map[0].inside', 'between 0 and'),
    ([line(4294967290, 100000, 10)], 'uid_map[0].count', 'end below'),
    ([line(0, 100000, '5')], 'uid_map[0].count', 'integer'),
    ([line(0, 100000, 10), line(5, 200000, 10)], 'uid_map', 'inside ranges overlap'),
    ([line(0, 100000, 10), line(10, 100005, 10)], 'uid_map', 'outside ranges overlap'),
    ([line(i, 100000 + i, 1) for i in range(341)], 'uid_map', 'at most 340'),
    ([(1, 2)], 'uid_map[0]', 'expected'),
])
def test_bad_map_lines(lines, option, why):
    with pytest.raises(NsforgeError) as info:
        idmap.check_map(lines, 'uid_map', False)
    assert info.value.option == option
    assert why in info.value.msg


def test_root_map_for():
    assert idmap.root_map_for([(100000, 65536), (300000, 10)]) == [(0, 100000, 65536)]
    assert idmap.root_map_for([(100000, 1000000)]) == [(0, 100000, 65536)]
    assert idmap.root_map_for([(100000, 10)]) == [(0, 100000, 10)]
    assert idmap.root_map_for([(5, 0), (100000, 10)], count=4) == [(0, 100000, 4)]
    assert idmap.root_map_for([]) == []


def test_covered():
    ranges = [(100000, 10), (100010, 10), (200000, 5)]
    assert idmap.covered([(0, 100000, 20)], ranges)              # adjacent ranges cover together
    assert idmap.covered([(0, 100005, 10), line(10, 200000, 5)], ranges)
    assert not idmap.covered([(0, 100000, 21)], ranges)
    assert idmap.uncovered([(0, 99990, 40)], ranges) == [(99990, 10), (100020, 10)]
    assert idmap.uncovered([(0, 199999, 10)], ranges) == [(199999, 1), (200005, 4)]
    assert not idmap.covered([(0, 100000, 1)], [])
    assert idmap.covered([], [])
    assert idmap.covered(idmap.root_map_for(ranges), ranges)


# files -----------------------------------------------------------------------------------------------------------


# property: any sequence of operations ----------------------------------------------------------------------------

UIDS = {'alice': 1000, 'bob': None, 'carol': None}
START_LINES = ['# comment\n', '\n', 'garbage\n', 'x:y:z\n', 'dave:150:50\n', '1000:900:20\n', 'alice:400:10\n',
               'bob:600:50\n', 'carol:700:5\r\n', '  \n', 'eve:0:0\n']


def identity(entry):
    """Who owns an entry: numeric names that are a known uid belong to that user."""
    for name, uid in UIDS.items():
        if idmap.owns(entry, name, uid):
            return name
    return entry.user


def assert_no_overlap_between_users(text):
    entries = [l for l in idmap.parse(text) if l.is_entry and l.count > 0]
    for i, a in enumerate(entries):
        for b in entries[i + 1:]:
            if identity(a) != identity(b):
                assert a.end <= b.start or b.end <= a.start, (a, b)


def assert_kept_in_order(old, new, user, added):
    """Every new line is an old line (in order, byte for byte) or the appended one; other users' lines all stay."""
    old_lines = [l.text for l in idmap.parse(old)]
    new_lines = [l.text for l in idmap.parse(new)]
    if added:
        assert new_lines[-1] == added + '\n'
        new_lines = new_lines[:-1]
        if old_lines and not old.endswith('\n') and new_lines and new_lines[-1] == old_lines[-1] + '\n':
            new_lines[-1] = old_lines[-1]       # the one byte an append may add
    pos = 0
    for text in new_lines:
        while old_lines[pos] != text:
            entry = idmap.parse(old_lines[pos])[0]
            assert entry.is_entry and identity(entry) == user, 'removed a line not of %s: %r' % (user, old_lines[pos])
            pos += 1
        pos += 1
    for rest in old_lines[pos:]:
        entry = idmap.parse(rest)[0]
        assert entry.is_entry and identity(entry) == user


def test_property_no_overlap_and_untouched_lines():
    hypothesis = pytest.importorskip('hypothesis')
    st = hypothesis.strategies

    operation = st.tuples(
        st.sampled_from(['present', 'absent']),
        st.sampled_from(sorted(UIDS)),
        st.one_of(st.none(), st.integers(0, 1300)),
        st.one_of(st.none(), st.integers(1, 300)),
        st.booleans(),
    )

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(st.permutations(START_LINES), st.integers(0, len(START_LINES)), st.booleans(), st.lists(operation, max_size=12))
    def check(start_lines, keep, strip_newline, operations):
        text = ''.join(start_lines[:keep])
        if strip_newline:
            text = text.rstrip('\n')
        assert_no_overlap_between_users(text)
        for state, user, start, count, exclusive in operations:
            if count is None:
                want = None
            elif start is None:
                want = {'count': count}
            else:
                want = {'start': start, 'count': count}
            try:
                new, changes = idmap.plan_ranges(text, user, want, state, exclusive, 'subuid', uid=UIDS[user], min_id=100, max_id=1000)
            except NsforgeError as exc:
                # subuid.start: a range at ID 0 (host root) is refused
                assert exc.option in ('subuid', 'subuid.count') or (exc.option == 'subuid.start' and start == 0)
                continue
            assert (new, changes) == idmap.plan_ranges(text, user, want, state, exclusive, 'subuid', uid=UIDS[user], min_id=100, max_id=1000)
            assert bool(changes) == (new != text)
            added = [c[4:] for c in changes if c.startswith('add ')]
            assert len(added) <= 1
            assert_no_overlap_between_users(new)
            assert_kept_in_order(text, new, user, added[0] if added else None)
            if added:       # a new range overlaps no other entry at all, the user's own included
                entries = [l for l in idmap.parse(new) if l.is_entry and l.count > 0]
                assert not any(l.start < entries[-1].end and entries[-1].start < l.end for l in entries[:-1])
            mine = idmap.ranges_of(new, user, UIDS[user])
            if state == 'present' and want is not None:
                assert (start, count) in mine if start is not None else any(c == count for _s, c in mine)
                if exclusive:
                    assert len(mine) == 1
                if added and start is None:
                    assert 100 <= mine[-1][0] and mine[-1][0] + count - 1 <= 1000
            if state == 'absent':
                assert not [r for r in mine if want is None or (r[1] == count and start in (None, r[0]))]
            # idempotent: the same operation again changes nothing
            assert idmap.plan_ranges(new, user, want, state, exclusive, 'subuid', uid=UIDS[user], min_id=100, max_id=1000) == (new, [])
            text = new

    check()  # pylint: disable=no-value-for-parameter
