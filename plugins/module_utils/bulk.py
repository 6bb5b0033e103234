# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""The bulk form of a module: a list option (such as namespaces) whose entries each take the options of one task.

entries() gives each entry with the task's defaults and its path in the task (namespaces[17]); within() names that
path and the entry's node or user in every error raised while the entry is handled, so that an option at fault reads
namespaces[17].mounts[0].dst whichever engine function found it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib

from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError, bad_option


def beside(params, keys, list_key, spec):
    """Refuse an option of an entry set at the top level beside list_key (a value other than its default)."""
    for key in keys:
        value = params.get(key)
        if value is not None and value != spec.get(key, {}).get('default'):
            raise NsforgeError('%s: set it inside each entry of %s, not beside it' % (key, list_key), option=key)


def entries(params, list_key, keys, inherited, spec, what):
    """(path, entry) of each entry of params[list_key]; an entry's inherited options that it leaves unset take the
    task's values. keys: the options of an entry that the task may not set beside the list (see beside)."""
    beside(params, keys, list_key, spec)
    if not params.get(list_key):
        raise bad_option(list_key, params.get(list_key), 'declare at least one %s' % what)
    out = []
    for index, entry in enumerate(params[list_key]):
        entry = dict(entry)
        for key in inherited:
            if entry.get(key) is None:
                entry[key] = params.get(key)
        out.append(('%s[%d]' % (list_key, index), entry))
    return out


def once(seen, key, path, option, value, what):
    """Remember that the entry at path declares key; refuse a second entry that declares it too, naming both."""
    if key in seen:
        raise bad_option('%s.%s' % (path, option), value, 'the %s is declared twice (also in %s)' % (what, seen[key]))
    seen[key] = path


def claim(changes, path, name):
    """Mark the changes of the entry at path (of node or user name), so that a failing one names the entry; a single
    task's (path '') are left as they are."""
    if path:
        for change in changes:
            change.where = '%s (%s)' % (path, name)


def headed(diff, path, label):
    """A diff of the entry at path, headed with the entry's path and label."""
    header = '%s (%s)' % (path, label)
    return dict(diff, before_header=header, after_header=header)


def relabeled(exc, path, label):
    """exc as raised by the entry at path: its option is the path's (namespaces[3].uid_map[0].outside), and its
    message names the entry's label (node r4)."""
    option = '%s.%s' % (path, exc.option) if exc.option else path
    if exc.option and exc.msg.startswith(exc.option + ':'):
        msg = '%s.%s' % (path, exc.msg)
    else:
        msg = '%s: %s' % (path, exc.msg)
    if label:
        msg = '%s (%s)' % (msg, label)
    return NsforgeError(msg, option=option, value=exc.value, **exc.details)


@contextlib.contextmanager
def within(path, label):
    """Errors raised in the block are the entry's at path (relabeled); a single task's (path '') stay as they are."""
    if not path:
        yield
        return
    try:
        yield
    except NsforgeError as exc:
        raise relabeled(exc, path, label)


def echoed(lists):
    """What the result's invocation echoes of a task's options (lists: {list option: the key naming an entry}): the
    entries of a bulk task by name. With every option and default of thousands of entries filled in, the echo would
    cost more to return than their work."""
    def echo(params):
        return dict(params, **dict((key, [entry.get(name) for entry in params[key]])
                                   for key, name in lists.items() if params.get(key) is not None))
    return echo
