# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""Mount tables: /proc/<pid>/mountinfo parsed, and what a table says (pure functions).

Used to read a node's mount namespace (nsmount), a service's view, and the pins of namespaces (nsinfo, limits).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

# the target of a /proc/<pid>/ns/<kind> link and the root of an nsfs mount: net:[4026531840]
_NS_LINK_RE = re.compile(r'^([a-z_]+):\[(\d+)\]$')


def _unescape(text):
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), text)


def parse_mountinfo(text):
    """Entries of a mountinfo file, in order, as dicts."""
    entries = []
    for line in text.splitlines():
        fields = line.split(' ')
        if len(fields) < 10:
            continue
        sep = fields.index('-', 6)
        optional = fields[6:sep]
        entries.append({
            'id': int(fields[0]),
            'parent': int(fields[1]),
            'dev': fields[2],
            'root': _unescape(fields[3]),
            'dst': _unescape(fields[4]),
            'options': fields[5].split(','),
            'propagation': optional,
            'fstype': fields[sep + 1],
            'source': _unescape(fields[sep + 2]),
            'super': fields[sep + 3].split(',') if len(fields) > sep + 3 else [],
        })
    return entries


def parse_ns_link(text):
    """('net', 4026531840) from the target of a /proc/<pid>/ns/net link or the root of an nsfs mount, or None."""
    found = _NS_LINK_RE.match(text)
    if not found:
        return None
    return found.group(1), int(found.group(2))


def top_mounts(entries):
    """The visible (last) mount at each mount point."""
    out = {}
    for entry in entries:
        out[entry['dst']] = entry
    return out


def super_option(entry, key):
    for option in entry['super']:
        if option.startswith(key + '='):
            return option[len(key) + 1:]
    return None


def size_kib(value):
    """A tmpfs size such as 64m, 65536k or 1g in KiB; None for a percentage."""
    match = re.match(r'^(\d+)([kmgt]?)$', str(value).strip().lower())
    if not match:
        return None
    factor = {'': 1.0 / 1024, 'k': 1, 'm': 1024, 'g': 1024 ** 2, 't': 1024 ** 3}[match.group(2)]
    return int(int(match.group(1)) * factor)


def key_of(entry):
    return (entry['dst'], entry['dev'], entry['root'], entry['fstype'])


def host_source(host_entries, path):
    """(dev, root) that a bind of path shows in mountinfo, from the host's mount table."""
    best = None
    for entry in host_entries:
        mp = entry['dst']
        if path == mp or path.startswith(mp.rstrip('/') + '/'):
            if best is None or len(mp) >= len(best['dst']):
                best = entry
    if best is None:
        return None, None
    rest = path[len(best['dst']):] if best['dst'] != '/' else path
    root = os.path.normpath(best['root'].rstrip('/') + '/' + rest.lstrip('/'))
    return best['dev'], root


def entry_view(entry):
    return {'dst': entry['dst'], 'type': entry['fstype'], 'source': entry['source'], 'root': entry['root'],
            'ro': 'ro' in entry['options']}


def pivoted(entries, host_entries):
    """True when the namespace's root is not the host's (a pivoted rootfs)."""
    mine = top_mounts(entries).get('/')
    host = top_mounts(host_entries).get('/')
    return mine is not None and host is not None and (mine['dev'], mine['root']) != (host['dev'], host['root'])


def own_mounts(entries, host_entries):
    """Mounts of the namespace that the host's mount table does not have (all but / when pivoted)."""
    if pivoted(entries, host_entries):
        return [e for e in entries if e['dst'] != '/']
    host = set(key_of(e) for e in host_entries)
    return [e for e in entries if key_of(e) not in host]


def propagation_of(entries):
    """The propagation of a node's mount namespace towards the host, from the tags of its root mount.

    A peer group of the node's own (shared:N without master:M) is not sharing with the host: it is how the node's
    services' views follow the node's mounts. So V(shared) (a peer group of the node's own) reads as private.
    """
    root = top_mounts(entries).get('/')
    if root is None:
        return None
    tags = ' '.join(root['propagation'])
    if 'unbindable' in tags:
        return 'unbindable'
    if 'master:' in tags:
        return 'slave'
    return 'private'


def has_peer_group(entries):
    """True when the root mount of a mount table is shared (its services' views can follow it)."""
    root = top_mounts(entries).get('/')
    return root is not None and any(tag.startswith('shared:') for tag in root['propagation'])
