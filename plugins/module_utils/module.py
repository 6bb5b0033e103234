# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""run_module(): build the AnsibleModule from a spec and turn engine errors into fail_json."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError


def run_module(spec, converge, needs_pyroute2=True, needs_root=True):
    """spec: dict of AnsibleModule keyword arguments; converge(module, session) -> result dict.

    needs_pyroute2 may be a function of the module's parameters.
    """
    module = AnsibleModule(**spec)
    from ansible_collections.nsforge.linux.plugins.module_utils import netlink
    if callable(needs_pyroute2):
        needs_pyroute2 = needs_pyroute2(module.params)
    if needs_pyroute2 and not netlink.have_pyroute2():
        module.fail_json(msg=missing_required_lib('pyroute2>=0.9.1'), exception=netlink.PYROUTE2_IMPORT_ERROR)
    if needs_root and os.geteuid() != 0:
        module.fail_json(msg='%s needs root on the managed host (running as uid %d): use become: true'
                         % (module._name, os.geteuid()))
    session = netlink.Session() if needs_pyroute2 else None
    try:
        result = converge(module, session)
    except NsforgeError as exc:
        extra = {}
        if exc.option is not None:
            extra['option'] = exc.option
        extra.update(exc.details)
        module.fail_json(msg=exc.msg, **extra)
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg='unexpected error: %s' % exc, exception=traceback.format_exc())
    finally:
        if session is not None:
            session.close()
    if not module._diff:
        result.pop('diff', None)
    module.exit_json(**result)
