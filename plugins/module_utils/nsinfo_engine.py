# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""nsinfo: the task. What namespaces, nodes and services exist on a host, read without changing anything.

Sources, each read once:
- /proc/<pid>/ns/<kind> links of every process (one readlink per process and kind; no process is spawned),
- /proc/self/mountinfo for the namespaces pinned by nsfs bind mounts (their paths),
- the node layout (/run/netns, /run/nsforge/nodes) and the service records of nsproc,
- netlink, inside each network namespace reported, for interfaces, addresses and routes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.nsforge.linux.plugins.module_utils import kernel, nsproc_records, timeline_records
from ansible_collections.nsforge.linux.plugins.module_utils.errors import bad_option
from ansible_collections.nsforge.linux.plugins.module_utils.layout import (
    KIND_NAMES as KINDS, NETNS_DIR, NODE_DIR, SERVICE_DIR, etc_dir, ns_handle)
from ansible_collections.nsforge.linux.plugins.module_utils.limits import scan_processes
from ansible_collections.nsforge.linux.plugins.module_utils.mountinfo import parse_mountinfo, parse_ns_link
from ansible_collections.nsforge.linux.plugins.module_utils.names import check_name
from ansible_collections.nsforge.linux.plugins.module_utils.netns_views import net_view

# The order of kinds in results (KINDS): the order of `lsns --list` is by inode, this is for per-kind maps.
NODE_KINDS = ('net', 'uts', 'user', 'mnt')


def validate(params):
    kinds = params.get('kinds')
    if kinds is None:
        kinds = list(KINDS)
    for index, kind in enumerate(kinds):
        if kind not in KINDS:  # AnsibleModule checks the choices; this guards direct callers
            raise bad_option('kinds[%d]' % index, kind, 'a namespace kind is one of %s' % ', '.join(KINDS))
    if params.get('node') is not None:
        check_name(params['node'], 'node')
    if params.get('service') is not None:
        check_name(params['service'], 'service')
    return set(kinds)


def pinned_paths(mountinfo_entries, reach=kernel.mount_id):
    """({(kind, inode): [paths]}, {(kind, inode): [{'path', 'reason'}]}): the namespaces pinned by nsfs bind
    mounts that this process can open at their path, and those it cannot.

    A pin that mountinfo lists may be out of reach: hidden by a later mount on a parent folder (a machine's
    /run/netns/<node> under a fresh tmpfs on /run), hidden by another mount at the same path, or at a path that
    no longer exists. reach(path) gives the ID of the mount visible at path (None when path cannot be reached).
    """
    by_id = dict((entry['id'], entry) for entry in mountinfo_entries)
    pins, unreachable = {}, {}
    for entry in mountinfo_entries:
        if entry['fstype'] != 'nsfs':
            continue
        parsed = parse_ns_link(entry['root'])
        if parsed is None:
            continue
        path = entry['dst']
        found = reach(path)
        if found == entry['id']:
            pins.setdefault(parsed, []).append(path)
            continue
        if found is not None and found in by_id and by_id[found]['dst'] == path:
            reason = 'hidden by a later mount at the same path (%s)' % by_id[found]['fstype']
        else:
            cover = _covering_mount(entry, by_id, reach)
            reason = ('hidden by a later mount on %s' % cover) if cover else 'its path cannot be reached'
        unreachable.setdefault(parsed, []).append({'path': path, 'reason': reason})
    for paths in pins.values():
        paths.sort()
    for items in unreachable.values():
        items.sort(key=lambda item: item['path'])
    return pins, unreachable


def _covering_mount(entry, by_id, reach):
    """The deepest parent folder of a pin's path where a mount other than the pin's own ancestors is visible."""
    ancestors = set()
    parent = by_id.get(entry['parent'])
    while parent is not None and parent['id'] not in ancestors:
        ancestors.add(parent['id'])
        parent = by_id.get(parent['parent'])
    folder = os.path.dirname(entry['dst'])
    while folder and folder != '/':
        found = reach(folder)
        if found is not None and found not in ancestors and found in by_id and by_id[found]['dst'] == folder:
            return folder
        folder = os.path.dirname(folder)
    return None


def process_details(pid, proc='/proc'):
    """(ppid, command, uid) of a process as lsns shows them, or (None, None, None) once it has gone."""
    base = '%s/%d' % (proc, pid)
    try:
        uid = os.stat(base).st_uid
        with open(base + '/stat') as handle:
            stat = handle.read()
        with open(base + '/cmdline', 'rb') as handle:
            cmdline = handle.read()
    except (IOError, OSError):
        return None, None, None
    ppid = int(stat[stat.rindex(')') + 2:].split()[1])
    command = cmdline.rstrip(b'\0').replace(b'\0', b' ').decode('utf-8', 'replace')
    if not command:
        command = stat[stat.index('(') + 1:stat.rindex(')')]
    return ppid, command, uid


def related_inode(path, request):
    """Inode of the owning user namespace (request 'owner') or the parent namespace ('parent'), or None."""
    return kernel.related_ns_inode(path, kernel.NS_GET_USERNS if request == 'owner' else kernel.NS_GET_PARENT)


def list_nodes(pinned_by_path):
    """{name: {kind: {'path', 'inode'}}} of the nodes on this host, from the pinned handles."""
    names = set()
    for directory in (NETNS_DIR, NODE_DIR):
        try:
            names.update(os.listdir(directory))
        except OSError:
            pass
    out = {}
    for name in sorted(names):
        try:
            check_name(name)
        except Exception:  # pylint: disable=broad-except
            continue  # not a node name this collection would make
        kinds = {}
        for kind in NODE_KINDS:
            path = ns_handle(name, kind)
            ident = pinned_by_path.get(path)
            if ident is not None and ident[0] == kind:
                kinds[kind] = {'path': path, 'inode': ident[1]}
        if kinds:
            out[name] = kinds
    return out


def read_services():
    """The service records of nsproc, by name, with their live status."""
    out = {}
    try:
        found = sorted(os.listdir(SERVICE_DIR))
    except OSError:
        return out
    for file_name in found:
        if not file_name.endswith('.json') or file_name.startswith('.'):
            continue
        name = file_name[:-len('.json')]
        try:
            record = nsproc_records.read_record(name)
        except Exception:  # pylint: disable=broad-except
            continue
        if record is None:
            continue
        view = nsproc_records.view(record)
        view['type'] = record.get('type')
        view['namespace_modes'] = record.get('namespace_modes', {})
        out[name] = view
    return out


def network_of(session, path):
    """Interfaces and routes inside the network namespace at path; its socket is closed afterwards,
    so that thousands of namespaces do not hold thousands of descriptors."""
    try:
        return net_view(session, path)
    finally:
        session.forget(path)


def gather(params, session, proc='/proc'):
    """The whole nsinfo result (without 'changed')."""
    kinds = validate(params)
    want_network = params.get('network', True)

    own = {}
    for kind in KINDS:
        ident = kernel.ns_id(kernel.ns_path(kind))
        if ident:
            own[kind] = ident[1]

    counts = scan_processes(proc)
    with open('/proc/self/mountinfo') as handle:
        pins, unreachable = pinned_paths(parse_mountinfo(handle.read()))
    pinned_by_path = {}
    for ident, paths in pins.items():
        for path in paths:
            pinned_by_path[path] = ident

    node_kinds = list_nodes(pinned_by_path)
    node_of = {}
    for name, handles in node_kinds.items():
        for kind, handle in handles.items():
            node_of.setdefault((kind, handle['inode']), name)
    svc = read_services()
    services_of = {}
    for name, view in svc.items():
        for kind, inode in view['namespaces'].items():
            services_of.setdefault((kind, inode), []).append(name)
        view['node'] = node_of.get(('net', view['namespaces'].get('net')))

    # filters: which namespaces, nodes and services are reported
    idents = set(counts) | set(pins) | set(unreachable)
    if params.get('node') is not None:
        node_kinds = dict((n, h) for n, h in node_kinds.items() if n == params['node'])
        idents = set((kind, h['inode']) for handles in node_kinds.values() for kind, h in handles.items())
        svc = dict((n, v) for n, v in svc.items()
                   if any(ident in idents for ident in _service_idents(v)))
    elif params.get('service') is not None:
        svc = dict((n, v) for n, v in svc.items() if n == params['service'])
        idents = set((k, i) for v in svc.values() for k, i in v['namespaces'].items())
        related = set(ident for v in svc.values() for ident in _service_idents(v))
        node_kinds = dict((n, h) for n, h in node_kinds.items()
                          if any((kind, handle['inode']) in related for kind, handle in h.items()))
    idents = set(ident for ident in idents if ident[0] in kinds)

    networks = {}

    def net_of(inode, path):
        if inode not in networks:
            networks[inode] = network_of(session, path)
        return networks[inode]

    namespaces = []
    for ident in sorted(idents, key=lambda i: (i[1], KINDS.index(i[0]))):
        kind, inode = ident
        nprocs, pid = counts.get(ident, (0, None))
        paths = pins.get(ident, [])
        hidden = unreachable.get(ident, [])
        # a namespace that only unreachable pins keep alive is reported, but nothing inside it can be read
        reachable = bool(paths) or pid is not None
        handle = paths[0] if paths else (kernel.ns_path(kind, pid) if pid is not None else None)
        if pid is not None:
            ppid, command, uid = process_details(pid, proc)
        else:
            ppid = command = uid = None
        item = {
            'kind': kind,
            'inode': inode,
            'owner': related_inode(handle, 'owner') if reachable else None,
            'parent': related_inode(handle, 'parent') if reachable and kind in ('pid', 'user') else None,
            'nprocs': nprocs,
            'pid': pid,
            'ppid': ppid,
            'command': command,
            'uid': uid,
            'paths': paths,
            'reachable': reachable,
            'unreachable_paths': hidden,
            'node': node_of.get(ident),
            'services': sorted(services_of.get(ident, [])),
            'host': own.get(kind) == inode,
        }
        if kind == 'net' and want_network:
            item['network'] = net_of(inode, handle) if reachable else None
        namespaces.append(item)

    node_view = {}
    for name, handles in sorted(node_kinds.items()):
        inodes = set((kind, h['inode']) for kind, h in handles.items())
        entry = {
            'name': name,
            'namespaces': handles,
            'kinds': sorted(handles, key=KINDS.index),
            'hostname': kernel.read_hostname(handles['uts']['path']) if 'uts' in handles else None,
            'services': sorted(n for n, v in svc.items() if any(ident in inodes for ident in _service_idents(v))),
            'etc_netns': _etc_files(name),
            'network': None,
        }
        if 'net' in handles and want_network:
            entry['network'] = net_of(handles['net']['inode'], handles['net']['path'])
        node_view[name] = entry

    return {
        'namespaces': namespaces,
        'nodes': node_view,
        'services': svc,
        'timelines': read_timelines(params),
        'host': {'pid': os.getpid(), 'namespaces': own},
    }


def read_timelines(params):
    """The timelines of netns recorded on this host (with node: those driving one of its interfaces; with service:
    none), each with its runner's progress."""
    if params.get('service') is not None:
        return []
    out = []
    for name in timeline_records.names():
        view = timeline_records.view(name)
        if view is None:
            continue
        if params.get('node') is not None and not any(key.split(':', 1)[0] == params['node'] for key in view['links']):
            continue
        out.append(view)
    return out


def _service_idents(view):
    """(kind, inode) of a service's namespaces, and of the mount namespace its own view follows (a node's)."""
    idents = list(view['namespaces'].items())
    if view.get('mnt_parent') is not None:
        idents.append(('mnt', view['mnt_parent']))
    return idents


def _etc_files(name):
    try:
        return sorted(os.listdir(etc_dir(name)))
    except OSError:
        return []


def converge(module, session):
    result = gather(module.params, session)
    result['changed'] = False
    return result
