# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""run_module(): build the AnsibleModule from a spec and turn engine errors into fail_json."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import traceback

from ansible.module_utils import basic
from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.nsforge.linux.plugins.module_utils import netlink
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError


def misplaced_elements(argument_spec, params, prefix=''):
    """(path, value) of the first element of a list of dicts that is not a dict, or of a dict
    option with suboptions given a number or a list; None when there is none.

    ansible-core refuses such an element with a message that names no option
    ("dictionary requested, could not parse JSON or key=value"), and crashes with
    a traceback on a number where a dict with suboptions belongs; this names the option.
    """
    if not isinstance(params, dict):
        return None
    for key, spec in argument_spec.items():
        value = params.get(key)
        options = spec.get('options')
        if value is None or not options:
            continue
        path = prefix + key
        if spec.get('type') == 'list' and spec.get('elements') == 'dict' and isinstance(value, list):
            for idx, element in enumerate(value):
                if not isinstance(element, dict):
                    return '%s[%d]' % (path, idx), element
                found = misplaced_elements(options, element, '%s[%d].' % (path, idx))
                if found:
                    return found
        elif spec.get('type') == 'dict':
            if not isinstance(value, (dict, str)):  # a string may still be key=value or JSON
                return path, value
            found = misplaced_elements(options, value, path + '.')
            if found:
                return found
    return None


def fail_early(spec, params, msg, option, hide=False):
    """Fail naming an option before the module's own AnsibleModule is built: through one that takes the options as
    they are. Values of no_log options are not logged; with hide, no value is."""
    raw = dict((key, {'type': 'raw', 'no_log': hide or bool(spec['argument_spec'].get(key, {}).get('no_log'))})
               for key in params if not key.startswith('_ansible_'))
    AnsibleModule(argument_spec=raw, supports_check_mode=True).fail_json(msg=msg, option=option)


def run_module(spec, converge, needs_pyroute2=True, needs_root=True, echoed=None):
    """spec: dict of AnsibleModule keyword arguments; converge(module, session) -> result dict.

    needs_pyroute2 may be a function of the module's parameters. echoed, a function of them too, gives what the
    result's invocation.module_args holds instead of every parameter (ansible-core before 2.21 returns them all;
    2.21 returns invocation only with its INJECT_INVOCATION setting).
    """
    params = basic._load_params()
    found = misplaced_elements(spec['argument_spec'], params)
    if found:
        fail_early(spec, params, '%s: expected a mapping of suboptions, got a %s' % (found[0], type(found[1]).__name__),
                   found[0])
    for key, value in sorted(params.items() if isinstance(params, dict) else []):
        # AnsibleModule logs the options to syslog, which refuses a NUL character (Python 3.12 and later)
        if isinstance(value, str) and '\x00' in value and not key.startswith('_ansible_'):
            fail_early(spec, params, '%s: invalid value %r: a NUL character is not allowed' % (key, value), key, hide=True)
    module = AnsibleModule(**spec)
    if callable(needs_pyroute2):
        needs_pyroute2 = needs_pyroute2(module.params)
    if needs_pyroute2 and not netlink.have_pyroute2():
        module.fail_json(msg=missing_required_lib('pyroute2>=0.9.1'), exception=netlink.pyroute2_import_error())
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
    if echoed is not None:
        result['invocation'] = {'module_args': echoed(module.params)}
    module.exit_json(**result)
