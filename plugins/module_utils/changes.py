# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""The change list: one path for check mode, diff, changed, apply and undo.

A planner compares the declared state with the actual state and returns a
list of Change objects. Outside check mode they are applied in order; when
one fails, the ones already applied are undone in reverse order, so a task
that fails halfway leaves the host as it found it. `changed` is true exactly
when the list is not empty.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError

# Test-only fault injection (issue "reliability"): when set, the process
# kills itself right after applying the change with this ordinal (1-based).
FAULT_ENV = 'NSFORGE_TEST_DIE_AFTER_STEP'
# steps whose undo failed that a failure's message names (a task of thousands of nodes can have thousands)
UNDO_ERRORS_SHOWN = 5


class Change:
    """One step: a description for the user, a function to apply it, one to undo it."""

    def __init__(self, description, apply, undo=None, phase=0):
        self.description = description
        self.apply = apply
        self.undo = undo
        self.phase = phase
        # the entry of a bulk task that the change belongs to (such as 'namespaces[3] (r4)'), named when it fails
        self.where = None

    def __repr__(self):
        return 'Change(%r)' % self.description


def ordered(changes):
    """Sort changes by phase, keeping the planner's order inside a phase."""
    return [c for _i, c in sorted(enumerate(changes), key=lambda pair: (pair[1].phase, pair[0]))]


def run(changes, check_mode, describe_error=str):
    """Apply changes unless in check mode. Returns the list of descriptions.

    On failure, undo what was applied and raise NsforgeError naming the step.
    """
    descriptions = [c.description for c in changes]
    if check_mode:
        return descriptions
    die_after = os.environ.get(FAULT_ENV)
    done = []
    for step, change in enumerate(changes, 1):
        try:
            change.apply()
        except Exception as exc:  # pylint: disable=broad-except
            if isinstance(exc, NsforgeError):
                reason = exc.msg
            else:
                reason = describe_error(exc)
            undo_errors = undo_all(done)
            where = getattr(change, 'where', None)
            msg = '%s%s failed: %s' % (where + ': ' if where else '', change.description, reason)
            if done:
                msg += '; undid %d earlier change(s) of this task' % len(done)
            if undo_errors:
                msg += '; could not undo: %s' % '; '.join(undo_errors[:UNDO_ERRORS_SHOWN])
                if len(undo_errors) > UNDO_ERRORS_SHOWN:
                    msg += '; and %d more' % (len(undo_errors) - UNDO_ERRORS_SHOWN)
            raise NsforgeError(msg, **getattr(exc, 'details', {}))
        done.append(change)
        if die_after and str(step) == die_after:
            os.kill(os.getpid(), 9)
    return descriptions


def undo_all(done):
    errors = []
    for change in reversed(done):
        if change.undo is None:
            continue
        try:
            change.undo()
        except Exception as exc:  # pylint: disable=broad-except
            errors.append('%s (%s)' % (change.description, exc))
    return errors
