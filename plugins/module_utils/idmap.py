# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""ID maps and subordinate ranges: /etc/subuid and /etc/subgid texts, and uid_map / gid_map lines (pure logic).

A subordinate ID file is a list of lines `name:start:count`; the name is a
user name or a numeric uid. Every other line (comments, blank lines,
malformed lines) is kept byte for byte, and so is every entry this engine
does not change, including a missing newline at the end of the file. The
texts are str; files.read_text() and files.write_atomic() decode and encode
them as UTF-8 with surrogateescape, so any bytes survive a round trip.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError, bad_option

ID_MAX = 4294967294         # (uid_t)-1 is reserved: the highest usable ID
MAX_MAP_LINES = 340         # the kernel's limit of lines in uid_map / gid_map
SUB_ID_MIN = 100000         # /etc/login.defs SUB_UID_MIN / SUB_GID_MIN default
SUB_ID_MAX = 600100000      # /etc/login.defs SUB_UID_MAX / SUB_GID_MAX default
ROOT_MAP_COUNT = 65536      # IDs mapped by root_map_for() at most

_NUMBER = re.compile(r'\A[0-9]+\Z')


class Line:
    """One line of a subordinate ID file.

    text is the line exactly as read, with its newline when it had one;
    number is its 1-based line number. For an entry `name:start:count`,
    user, start and count are set (start and count as int); for any other
    line (comment, blank, malformed) they are None.
    """

    def __init__(self, text, number):
        self.text = text
        self.number = number
        self.user = self.start = self.count = None
        body = text[:-1] if text.endswith('\n') else text
        if body.startswith('#'):
            return
        fields = body.split(':')
        if len(fields) == 3 and fields[0] and _NUMBER.match(fields[1]) and _NUMBER.match(fields[2]):
            self.user = fields[0]
            self.start = int(fields[1])
            self.count = int(fields[2])

    @property
    def is_entry(self):
        return self.user is not None

    @property
    def end(self):
        """One past the last ID of the entry's range."""
        return self.start + self.count

    @property
    def body(self):
        return self.text[:-1] if self.text.endswith('\n') else self.text

    def __repr__(self):
        return 'Line(%r, %d)' % (self.text, self.number)


def parse(text):
    """Split a subordinate ID file into Line objects; format_lines(parse(t)) == t.

    Lines are split on '\\n' only, so '\\r' and other characters stay part of
    their line (an entry ending in '\\r' is malformed, as it is for shadow).
    """
    pieces = text.split('\n')
    texts = [piece + '\n' for piece in pieces[:-1]]
    if pieces[-1]:
        texts.append(pieces[-1])
    return [Line(t, n) for n, t in enumerate(texts, 1)]


def format_lines(lines):
    """The text of a list of Line objects (or of str lines)."""
    return ''.join(l.text if isinstance(l, Line) else l for l in lines)


def owns(line, user, uid=None):
    """Whether an entry belongs to the user, by name or (when uid is given) by numeric uid."""
    if not line.is_entry:
        return False
    if line.user == user:
        return True
    return uid is not None and _NUMBER.match(line.user) is not None and int(line.user) == uid


def ranges_of(text, user, uid=None):
    """The (start, count) ranges of a user in a subordinate ID file, in file order.

    An entry belongs to the user when its name is the user's name, or, when
    uid is given, when its name is that numeric uid (as shadow matches them).
    """
    return [(l.start, l.count) for l in parse(text) if owns(l, user, uid)]


def _span(start, count):
    return '%d-%d' % (start, start + count - 1)


def _overlaps(start, count, line):
    return count > 0 and line.count > 0 and start < line.end and line.start < start + count


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def check_user(user, option='user'):
    """A name to write into a subordinate ID file: non-empty, no ':' nor whitespace, not a comment."""
    if not isinstance(user, str) or not user:
        raise bad_option(option, user, 'expected a user name or a numeric uid')
    if ':' in user or user.startswith('#') or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in user):
        raise bad_option(option, user, "a user name must not contain ':', whitespace or control characters, nor start with '#'")
    return user


def check_range(want, option):
    """Validate a declared range: None, {'start': int, 'count': int} or {'count': int}.

    A start of None counts as absent (Ansible passes suboptions that way).
    Returns None or (start or None, count). Errors name option.start,
    option.count, or option itself for a value that is not a dict.
    """
    if want is None:
        return None
    if not isinstance(want, dict):
        raise bad_option(option, want, 'expected {start, count} or {count}')
    unknown = sorted(str(k) for k in want if k not in ('start', 'count'))
    if unknown:
        raise bad_option(option, want, 'unknown key(s) %s; expected start and count' % ', '.join(unknown))
    start, count = want.get('start'), want.get('count')
    if count is None:
        raise bad_option(option + '.count', count, 'count is required')
    if not _is_int(count):
        raise bad_option(option + '.count', count, 'expected an integer')
    if count < 1:
        raise bad_option(option + '.count', count, 'a range has at least 1 ID')
    if count > ID_MAX + 1:
        raise bad_option(option + '.count', count, 'a range has at most %d IDs' % (ID_MAX + 1))
    if start is not None:
        if not _is_int(start):
            raise bad_option(option + '.start', start, 'expected an integer')
        if not 0 <= start <= ID_MAX:
            raise bad_option(option + '.start', start, 'must be between 0 and %d' % ID_MAX)
        if start + count - 1 > ID_MAX:
            raise bad_option(option + '.count', count, 'the range %s ends above %d' % (_span(start, count), ID_MAX))
    return start, count


def allocate(lines, count, min_id=SUB_ID_MIN, max_id=SUB_ID_MAX):
    """The lowest start >= min_id of a range of count IDs ending at or below max_id that
    overlaps none of the entries in lines; None when there is no room."""
    spans = sorted((l.start, l.end) for l in lines if l.is_entry and l.count > 0)
    candidate = min_id
    for b_start, b_end in spans:
        if b_end <= candidate:
            continue
        if b_start >= candidate + count:
            break
        candidate = b_end
    if candidate + count - 1 > max_id:
        return None
    return candidate


def plan_ranges(text, user, want, state, exclusive=False, option='subuid', uid=None, min_id=SUB_ID_MIN, max_id=SUB_ID_MAX):
    """Plan the user's ranges in the text of /etc/subuid or /etc/subgid.

    Returns (new_text, changes): changes is a list of strings such as
    'add alice:100000:65536' or 'remove alice:1000:10 (line 4)', empty when
    new_text == text. Lines not removed stay byte for byte, in their order;
    new entries are appended at the end (a newline is first added to a last
    line that had none). The result depends only on the arguments.

    The user's entries are those named user, and, when uid is given, those
    named with that numeric uid; every other entry belongs to another user.
    option ('subuid' or 'subgid') names the option in errors (NsforgeError).

    state 'present':
      - want None: nothing is declared; no change.
      - want {start, count}: if the user has exactly this range, no change;
        otherwise the line `user:start:count` is appended. Refused when the
        range overlaps another user's entry (even one already in the file),
        or one of the user's own other ranges that stays (exclusive removes
        them, so it replaces them).
      - want {count}: the user's first range of exactly count IDs that
        overlaps no other user's range is kept (a range of another size
        does not satisfy it); without one, the lowest free range of count
        IDs from min_id (SUB_UID_MIN, 100000) that ends at or below max_id
        (SUB_UID_MAX, 600100000) and overlaps no entry of anyone, the user
        included, is appended. Ranges removed by exclusive in the same call
        are free again. Refused when there is no room.
      - exclusive: every other entry of the user is removed (duplicates of
        the kept range included).
    state 'absent' (exclusive is ignored):
      - want None: every entry of the user is removed.
      - want {start, count}: the user's entries of exactly that range are removed.
      - want {count}: the user's entries of exactly count IDs are removed.
    """
    check_user(user)
    if state not in ('present', 'absent'):
        raise bad_option('state', state, "expected 'present' or 'absent'")
    if not (_is_int(min_id) and _is_int(max_id) and 0 <= min_id <= max_id <= ID_MAX):
        raise NsforgeError('%s: the allocation window %r-%r is not within 0-%d' % (option, min_id, max_id, ID_MAX), option=option)
    want = check_range(want, option)
    lines = parse(text)
    own = [l for l in lines if owns(l, user, uid)]
    others = [l for l in lines if l.is_entry and not owns(l, user, uid)]
    removed = set()
    add = None
    if state == 'absent':
        for line in own:
            if want is None or (line.count == want[1] and want[0] in (None, line.start)):
                removed.add(line.number)
    elif want is not None:
        start, count = want
        if start == 0:
            raise bad_option(option + '.start', start, 'a subordinate range holding ID 0 would let the user map host root')
        if start is not None:
            for line in others:
                if _overlaps(start, count, line):
                    raise bad_option(option, {'start': start, 'count': count},
                                     'the range %s overlaps the range %s of %s (line %d of the file); ranges of different users never overlap'
                                     % (_span(start, count), _span(line.start, line.count), line.user, line.number))
            keep = next((l for l in own if (l.start, l.count) == (start, count)), None)
        else:
            keep = next((l for l in own if l.count == count and not any(_overlaps(l.start, l.count, o) for o in others)), None)
        if exclusive:
            removed.update(l.number for l in own if l is not keep)
        if keep is None:
            staying = [l for l in lines if l.is_entry and l.number not in removed]
            if start is not None:
                for line in staying:
                    if _overlaps(start, count, line):
                        raise bad_option(option, {'start': start, 'count': count},
                                         'the range %s overlaps %s own range %s (line %d of the file); set exclusive: true to replace it, '
                                         'or remove it first' % (_span(start, count), user, _span(line.start, line.count), line.number))
            else:
                start = allocate(staying, count, min_id, max_id)
                if start is None:
                    raise bad_option(option, {'count': count},
                                     'no free range of %d IDs between %d and %d' % (count, min_id, max_id))
            add = '%s:%d:%d' % (user, start, count)
    changes = ['remove %s (line %d)' % (l.body, l.number) for l in lines if l.number in removed]
    out = [l.text for l in lines if l.number not in removed]
    if add is not None:
        if out and not out[-1].endswith('\n'):
            out[-1] += '\n'
        out.append(add + '\n')
        changes.append('add %s' % add)
    new_text = ''.join(out)
    if new_text == text:
        return text, []
    return new_text, changes


# ---------------------------------------------------------------------------
# uid_map / gid_map


def _map_tuple(line):
    if isinstance(line, dict):
        return line.get('inside'), line.get('outside'), line.get('count')
    return tuple(line)


def check_map(lines, option, allow_host_root):
    """Validate uid_map or gid_map lines; return them as (inside, outside, count) tuples.

    lines are dicts {inside, outside, count} (or 3-tuples). Each range lies
    within 0..ID_MAX and has at least 1 ID; inside ranges do not overlap each
    other, nor do outside ranges; at most MAX_MAP_LINES lines; outside 0
    (host root) only with allow_host_root. Errors name option[i].key for one
    line, option for the map as a whole.
    """
    if not isinstance(lines, (list, tuple)):
        raise bad_option(option, lines, 'expected a list of {inside, outside, count}')
    if len(lines) > MAX_MAP_LINES:
        raise bad_option(option, len(lines), 'the kernel takes at most %d map lines' % MAX_MAP_LINES)
    out = []
    for i, line in enumerate(lines):
        lopt = '%s[%d]' % (option, i)
        try:
            inside, outside, count = _map_tuple(line)
        except (TypeError, ValueError):
            raise bad_option(lopt, line, 'expected {inside, outside, count}')
        for key, value in (('inside', inside), ('outside', outside), ('count', count)):
            if not _is_int(value):
                raise bad_option('%s.%s' % (lopt, key), value, 'expected an integer')
        for key, value in (('inside', inside), ('outside', outside)):
            if not 0 <= value <= ID_MAX:
                raise bad_option('%s.%s' % (lopt, key), value, 'must be between 0 and %d' % ID_MAX)
        if not 1 <= count <= ID_MAX + 1 - max(inside, outside):
            raise bad_option(lopt + '.count', count, 'the range must be at least 1 ID and end below 2^32-1')
        if outside == 0 and not allow_host_root:
            raise bad_option(lopt + '.outside', 0, 'mapping host root needs allow_host_root: true')
        out.append((inside, outside, count))
    for key, label in ((0, 'inside'), (1, 'outside')):
        spans = sorted((l[key], l[key] + l[2]) for l in out)
        for (a_start, a_end), (b_start, _b_end) in zip(spans, spans[1:]):
            if b_start < a_end:
                raise bad_option(option, lines, 'the %s ranges overlap (%d-%d and %d)' % (label, a_start, a_end - 1, b_start))
    return out


def _merged(ranges):
    """Sorted, merged half-open spans of (start, count) ranges."""
    spans = []
    for start, count in sorted(ranges):
        if count <= 0:
            continue
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], start + count)
        else:
            spans.append([start, start + count])
    return spans


def uncovered(map_lines, ranges):
    """The outside IDs of map lines that no (start, count) range covers, as (start, count) ranges.

    Adjacent or overlapping ranges cover together. map_lines are tuples
    (inside, outside, count) or dicts with those keys.
    """
    spans = _merged(ranges)
    missing = []
    for _inside, outside, count in _merged_map(map_lines):
        pos, end = outside, outside + count
        for s_start, s_end in spans:
            if s_end <= pos or s_start >= end:
                continue
            if s_start > pos:
                missing.append((pos, s_start - pos))
            pos = max(pos, s_end)
            if pos >= end:
                break
        if pos < end:
            missing.append((pos, end - pos))
    return missing


def _merged_map(map_lines):
    return sorted((0, o, c) for _i, o, c in (_map_tuple(l) for l in map_lines) if c > 0)


def covered(map_lines, ranges):
    """Whether every outside ID of the map lies in the user's (start, count) ranges (for map_user)."""
    return not uncovered(map_lines, ranges)


def root_map_for(ranges, count=ROOT_MAP_COUNT):
    """The map of map_root_user / map_user: [(0, start, min(range count, count))].

    ID 0 inside maps to the start of the first non-empty range (file order);
    [] when there is none.
    """
    for start, rcount in ranges:
        if rcount > 0:
            return [(0, start, min(rcount, count))]
    return []
