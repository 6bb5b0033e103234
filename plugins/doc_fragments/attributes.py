# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    """Shared documentation of nsforge.linux modules."""

    # Modules that change the host: full check mode, diff and idempotence.
    DOCUMENTATION = r'''
options: {}
attributes:
  check_mode:
    description: Can run in check mode and return the changed status prediction without modifying the target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode) when in diff mode.
    support: full
  idempotent:
    description: Running the task again with the same options reports no change and changes nothing.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: linux
  action_group:
    description: Use C(group/nsforge.linux.namespaces) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - nsforge.linux.namespaces
'''

    # Modules that only read: check mode is the same run, no diff.
    INFO_MODULE = r'''
options: {}
attributes:
  check_mode:
    description: Can run in check mode and return the changed status prediction without modifying the target.
    support: full
    details: The module never changes anything, so a run in check mode is the same run.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing) when in diff mode.
    support: N/A
    details: The module never changes anything.
  idempotent:
    description: Running the task again with the same options reports no change and changes nothing.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: linux
  action_group:
    description: Use C(group/nsforge.linux.namespaces) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - nsforge.linux.namespaces
'''
