# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""The restore command, /usr/local/sbin/nsforge-restore: what the systemd units run at boot. The top of the engine,
the only file above the engines and the supervisors.

  nsforge-restore node NAME...   recreate persisted nodes from /etc/nsforge/nodes/<node>.json (and the nodes their
                                 veths reach), as the tasks that declared them would: uidmap, netns, then nsmount
  nsforge-restore all            every persisted node
  nsforge-restore service NAME   start a systemd-supervised service from its declaration, as the builtin supervisor
                                 does, and write the PID file systemd follows

Its import closure (this file and what it imports, directly or not) is the engine that persist installs on the
host; the modules that persist import this file so that their AnsiballZ carries it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import sys

from ansible_collections.nsforge.linux.plugins.module_utils import files, netlink, netns_engine, nsmount_engine, uidmap_engine
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError
from ansible_collections.nsforge.linux.plugins.module_utils.layout import service_log, service_pid_file
from ansible_collections.nsforge.linux.plugins.module_utils.names import check_name
from ansible_collections.nsforge.linux.plugins.module_utils.nsproc_launch import relaunch
from ansible_collections.nsforge.linux.plugins.module_utils.nsproc_options import config_hash, public_config, validate
from ansible_collections.nsforge.linux.plugins.module_utils.nsproc_records import locked, read_record, write_record
from ansible_collections.nsforge.linux.plugins.module_utils.persist import (
    declaration_path, persisted_nodes, read_json, record_path)
from ansible_collections.nsforge.linux.plugins.module_utils.persist import read_record as read_node_record


def say(line):
    sys.stdout.write(line + '\n')


_ENTRY = re.compile(r'namespaces\[(\d+)\]\.?')
_LINK = re.compile(r'links\[(\d+)\]')


def in_node_terms(exc, nodes, entries=None):
    """An engine's error while restoring nodes, in the terms of the node: the restore declares the nodes as the
    entries of one task (namespaces[i] is nodes[i]), which the user never wrote. With entries (netns sections),
    a link's index is followed by its name. An error that names no entry is prefixed with the nodes restored."""
    match = _ENTRY.match(exc.msg)
    if match and int(match.group(1)) < len(nodes):
        index = int(match.group(1))
        rest = exc.msg[match.end():]
        where = 'node %s' % nodes[index]
        link = _LINK.match(rest)
        links = (entries[index].get('links') or []) if entries else []
        if link and int(link.group(1)) < len(links) and links[int(link.group(1))].get('name'):
            where += ', interface %s' % links[int(link.group(1))]['name']
        msg = '%s: %s' % (where, rest)
    elif any(re.search(r'\bnode %s\b' % re.escape(n), exc.msg) for n in nodes):
        return exc
    else:
        msg = '%s %s: %s' % ('node' if len(nodes) == 1 else 'nodes', ', '.join(nodes), exc.msg)
    return NsforgeError(msg, option=exc.option, value=exc.value, **exc.details)


def restore_nodes(names, out=say):
    """Recreate the nodes (and the nodes their veths reach) from their records; returns the change lines."""
    records = {}
    queue = list(names)
    while queue:
        node = queue.pop(0)
        if node in records:
            continue
        record = read_node_record(node)
        if record is None:
            raise NsforgeError('node %s: no declaration in %s' % (node, record_path(node)))
        records[node] = record
        for link in (record.get('netns') or {}).get('links') or []:
            other = (link.get('peer') or {}).get('netns')
            if other and other not in records:
                queue.append(other)
    lines = []
    for node in sorted(records):
        section = records[node].get('uidmap')
        if section:
            try:
                lines += uidmap_engine.converge(section, False)['changes']
            except NsforgeError as exc:
                raise in_node_terms(exc, [node])
    netns_nodes = [n for n in sorted(records) if records[n].get('netns')]
    entries = [records[n]['netns'] for n in netns_nodes]
    if entries:
        session = netlink.Session()
        try:
            declared = {'namespaces': entries, 'state': 'present', 'purge': False}
            lines += netns_engine.converge(declared, False, session, diff=False)['changes']
        except NsforgeError as exc:
            raise in_node_terms(exc, netns_nodes, entries)
        finally:
            session.close()
    for node in sorted(records):
        section = records[node].get('nsmount')
        if section:
            try:
                lines += nsmount_engine.converge(section, False)['changes']
            except NsforgeError as exc:
                raise in_node_terms(exc, [node])
    for line in lines:
        out(line)
    if not lines:
        # run by hand on a node that is already there: say so, rather than print nothing
        out('%s %s: as recorded, nothing to restore' % ('node' if len(records) == 1 else 'nodes', ', '.join(sorted(records))))
    return lines


def to_journal(fd):
    """Whether descriptor fd is the journal stream that systemd gave this process ($JOURNAL_STREAM is its
    device:inode, systemd.exec(5))."""
    try:
        st = os.fstat(fd)
    except OSError:
        return False
    return os.environ.get('JOURNAL_STREAM') == '%d:%d' % (st.st_dev, st.st_ino)


def start_service(name, out=say):
    """Start a systemd-supervised service from its declaration, as the builtin supervisor does; write its PID file."""
    params = read_json(declaration_path(name))
    if params is None:
        raise NsforgeError('service %s: no declaration in %s' % (name, declaration_path(name)))
    # as the task declared it: supervised by systemd (so its output goes to the journal unless it names files)
    declared = validate(dict(params, supervisor='systemd'))
    # systemd enforces the limits on the unit's own cgroup, and is the service's keeper (it reaps it)
    cfg = dict(declared, limits={}, keeper=False)
    for fd, key in ((1, 'stdout'), (2, 'stderr')):
        if cfg[key] is None and not to_journal(fd):
            # run by hand or by a stand-in of systemd: the service must not hold the caller's pipe
            cfg[key] = service_log(name, key)
    with locked(name):
        record = relaunch(cfg, read_record(name))
        record.update(config_hash=config_hash(declared), config=public_config(declared), supervisor='systemd')
        write_record(record)
        if record.get('pid'):
            files.put(service_pid_file(name), '%d\n' % record['pid'], 0o644, 0o700)
    out('service %s: started, pid %s' % (name, record.get('pid')))


def main(argv, out=say):
    usage = 'usage: nsforge-restore node NAME... | nsforge-restore all | nsforge-restore service NAME'
    try:
        if argv[:1] == ['all'] and len(argv) == 1:
            restore_nodes(persisted_nodes(), out)
        elif argv[:1] == ['node'] and len(argv) > 1:
            restore_nodes([check_name(n, 'NAME') for n in argv[1:]], out)
        elif argv[:1] == ['service'] and len(argv) == 2:
            start_service(check_name(argv[1], 'NAME'), out)
        else:
            sys.stderr.write(usage + '\n')
            return 2
    except NsforgeError as exc:
        sys.stderr.write('nsforge-restore: %s\n' % exc.msg)
        return 1
    return 0
