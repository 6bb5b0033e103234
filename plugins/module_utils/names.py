# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""Names and addresses as the user writes them, checked and normalized: pure functions.

Node names (one safe path component), interface names, hostnames, DNS names, addresses with and without a
prefix length, MAC addresses, numeric ranges. Each raises NsforgeError naming the option at fault. Controller-side
code (the topology planner) uses them too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.nsforge.linux.plugins.module_utils.errors import bad_option


NAME_MAX = 255
IFNAMSIZ = 16
_NAME_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.-]*\Z')
_GOOD_NAMES = set()


def check_name(name, option='name'):
    """Validate a node name; raise NsforgeError naming the option when it is unfit.

    A node name becomes a file name in several folders, so it must be one
    safe path component: letters, digits, '_', '-', '.', not starting with
    '.' or '-', no '..', at most 255 bytes.
    """
    if isinstance(name, str) and name in _GOOD_NAMES:
        return name  # every path of a node checks its name; a lab of a thousand nodes asks tens of thousands of times
    if not isinstance(name, str):
        raise bad_option(option, name, 'a node name must be a string')
    if name == '':
        raise bad_option(option, name, 'a node name must not be empty')
    if len(name.encode('utf-8')) > NAME_MAX:
        raise bad_option(option, name, 'a node name is at most %d bytes long' % NAME_MAX)
    if '/' in name:
        raise bad_option(option, name, "a node name must not contain '/'")
    if '..' in name:
        raise bad_option(option, name, "a node name must not contain '..'")
    if any(ch.isspace() for ch in name):
        raise bad_option(option, name, 'a node name must not contain whitespace')
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise bad_option(option, name, 'a node name must not contain control characters')
    if not _NAME_RE.match(name):
        raise bad_option(option, name, "a node name may hold only ASCII letters, digits, '_', '-' and '.', "
                                       "and must not start with '.' or '-'")
    _GOOD_NAMES.add(name)
    return name


def check_ifname(name, option):
    if not isinstance(name, str) or name == '':
        raise bad_option(option, name, 'an interface name must be a non-empty string')
    if len(name.encode('utf-8')) >= IFNAMSIZ:
        raise bad_option(option, name, 'an interface name is at most %d bytes long' % (IFNAMSIZ - 1))
    if name in ('.', '..') or '/' in name or ':' in name or any(ch.isspace() for ch in name):
        raise bad_option(option, name, "an interface name must not be '.' or '..' nor contain '/', ':' or whitespace")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise bad_option(option, name, 'an interface name must not contain control characters')
    return name


def norm_cidr(value, option):
    """An interface address: IPv4 or IPv6 with a prefix length; host bits are meaningful."""
    if not isinstance(value, str) or '/' not in value:
        raise bad_option(option, value, 'expected an address with a prefix length, such as 10.0.0.1/24 or fd00:1::1/64')
    try:
        iface = ipaddress.ip_interface(value.strip())
    except ValueError as exc:
        raise bad_option(option, value, str(exc))
    if iface.ip.is_multicast or iface.ip.is_unspecified:
        raise bad_option(option, value, 'not a unicast address')
    return '%s/%d' % (iface.ip, iface.network.prefixlen)


def norm_ip(value, option, family=None):
    try:
        addr = ipaddress.ip_address(str(value).strip())
    except ValueError as exc:
        raise bad_option(option, value, str(exc))
    if family is not None and addr.version != family:
        raise bad_option(option, value, 'expected an IPv%d address' % family)
    return str(addr)


def norm_mac(value, option):
    if not re.match(r'^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}\Z', value or ''):
        raise bad_option(option, value, 'expected a MAC address such as 02:00:00:00:00:01')
    if int(value[:2], 16) & 1:
        raise bad_option(option, value, 'a multicast MAC address cannot be an interface address')
    if value == '00:00:00:00:00:00':
        raise bad_option(option, value, 'the all-zero MAC address cannot be an interface address')
    return value.lower()


def check_range(value, option, low, high):
    if value is not None and not low <= value <= high:
        raise bad_option(option, value, 'must be between %d and %d' % (low, high))
    return value


def check_hostname(value, option):
    if not isinstance(value, str) or not value or len(value.encode('utf-8')) > 64:
        raise bad_option(option, value, 'a hostname is 1 to 64 bytes long')
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 or ch == '/' for ch in value):
        raise bad_option(option, value, "a hostname must not contain whitespace, '/' or control characters")
    return value


def check_dnsname(value, option):
    if not isinstance(value, str) or not value or len(value) > 253 or \
            not re.match(r'^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?\Z', value) or '..' in value:
        raise bad_option(option, value, 'expected a DNS name')
    return value
