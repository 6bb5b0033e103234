# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""The one error type of the engine; run_module() turns it into fail_json."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class NsforgeError(Exception):
    """An error with a message fit for the user.

    option and value, when known, name what in the task is at fault; the
    message already contains them, they are kept for the result.
    """

    def __init__(self, msg, option=None, value=None, **details):
        super(NsforgeError, self).__init__(msg)
        self.msg = msg
        self.option = option
        self.value = value
        self.details = details


def bad_option(option, value, why):
    """Build an NsforgeError that names the option and the value at fault."""
    return NsforgeError('%s: invalid value %r: %s' % (option, value, why), option=option, value=value)
