# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""Surviving reboot, the planning part: node records, their systemd units, and the install of the restore command.

Layout (docs/persistence.md):
- /etc/nsforge/nodes/<node>.json     a node's declaration, one section per module (netns, uidmap, nsmount); 0600
- /etc/nsforge/services/<name>.json  a systemd-supervised service's nsproc declaration (env included); 0600
- /etc/systemd/system/nsforge-node@.service       the one template that restores a node at boot
- /etc/systemd/system/<target>.wants/nsforge-node@<escaped node>.service   the node's enabled instance
- /etc/systemd/system/nsforge-service-<name>.service  a service's unit
- /usr/local/lib/nsforge/<engine id>/          the engine (these module_utils files) and the restore command
- /usr/local/sbin/nsforge-restore              a link to the current engine's restore command
The tasks add their steps to the same change list as the rest of the task, so a
failure undoes everything, and check mode and diff show the files. The engines give
their validated declarations; the restore command (restore.py, above the engines)
reads them back at boot.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import hashlib
import json
import os
import pkgutil
import shutil
import sys
import tempfile

from ansible_collections.nsforge.linux.plugins.module_utils import bulk, files, nodes, systemd
from ansible_collections.nsforge.linux.plugins.module_utils.changes import Change
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError, bad_option
from ansible_collections.nsforge.linux.plugins.module_utils.layout import (
    LIB_DIR, LOCK_DIR, NODE_RECORD_DIR, RESTORE_COMMAND, node_record, service_declaration)

PACKAGE = 'ansible_collections.nsforge.linux.plugins.module_utils'
# the top of the restore command's engine: it and what it imports, directly or not, are installed
RESTORE_MODULE = 'restore'
SECTIONS = ('uidmap', 'netns', 'nsmount')  # the order of restoring
# paths a declaration must not depend on at boot: they are emptied
VOLATILE = ('/run', '/tmp', '/dev/shm', '/proc', '/sys')
PH_PERSIST = 100  # after every other phase of a task's change list


def as_json(data):
    return json.dumps(data, sort_keys=True, indent=2) + '\n'


def record_path(node):
    return node_record(node)


def declaration_path(service):
    return service_declaration(service)


def read_json(path):
    text = files.read_text(path)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise NsforgeError('%s is not valid JSON; remove it or fix it' % path)


def read_record(node):
    return read_json(record_path(node))


def persisted_nodes():
    try:
        names = os.listdir(NODE_RECORD_DIR)
    except OSError:
        return []
    return sorted(n[:-5] for n in names if n.endswith('.json') and not n.startswith('.'))


def volatile(path):
    """The volatile folder a path lies in (emptied at boot), or None."""
    real = os.path.normpath(path)
    for top in VOLATILE:
        if real == top or real.startswith(top + '/'):
            return top
    return None


# ---------------------------------------------------------------------------
# the engine: these files, installed once per content


def engine_files():
    """{file name: bytes} of the restore command's engine: restore.py and every file of this package that it imports,
    directly or not, read from the package this module was loaded from (an AnsiballZ zip too, which holds them
    because the modules that persist import restore)."""
    found = {}
    queue = [RESTORE_MODULE]
    while queue:
        name = queue.pop()
        if name + '.py' in found:
            continue
        data, why = _engine_file(name + '.py')
        if data is None:
            raise NsforgeError('cannot read the engine file %s.py to install the restore command: %s' % (name, why))
        found[name + '.py'] = data
        queue.extend(imported_files(data))
    return found


def _engine_file(file_name):
    """(bytes of a file of this package, why not): through the package's loader (an AnsiballZ zip), else from the
    folders of a package without one (a namespace package of plain files)."""
    try:
        data = pkgutil.get_data(PACKAGE, file_name)
    except (IOError, OSError, ImportError) as exc:
        return None, str(exc)
    if data is None:
        for folder in getattr(sys.modules.get(PACKAGE), '__path__', None) or []:
            path = os.path.join(folder, file_name)
            if os.path.isfile(path):
                with open(path, 'rb') as handle:
                    return handle.read(), None
    return data, 'not in the package'


def imported_files(source):
    """The files of this package that a file's source imports (at its top level: the engine imports nothing
    inside functions)."""
    names = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.ImportFrom) or not node.module:
            continue
        if node.module == PACKAGE:
            names.extend(alias.name for alias in node.names)
        elif node.module.startswith(PACKAGE + '.'):
            names.append(node.module[len(PACKAGE) + 1:].split('.')[0])
    return names


def restore_script(engine_dir, interpreter):
    return '\n'.join([
        '#!%s -I' % interpreter,
        '# nsforge.linux restore command, installed by the collection; see the README, "Surviving reboot".',
        '# Usage: nsforge-restore node NAME | nsforge-restore all | nsforge-restore service NAME',
        'import sys',
        'sys.path.insert(0, %r)' % engine_dir,
        'from ansible_collections.nsforge.linux.plugins.module_utils import restore  # noqa: E402',
        'sys.exit(restore.main(sys.argv[1:]))',
        '',
    ])


def engine_id(engine, interpreter):
    digest = hashlib.sha256(interpreter.encode('utf-8'))
    for name in sorted(engine):
        digest.update(name.encode('utf-8') + b'\0' + engine[name] + b'\0')
    return digest.hexdigest()[:16]


def engine_plan():
    """The change that installs the engine and links the restore command, or None when it is in place."""
    interpreter = sys.executable or '/usr/bin/python3'
    engine = engine_files()
    ident = engine_id(engine, interpreter)
    target = os.path.join(LIB_DIR, ident)
    script = os.path.join(target, 'nsforge-restore')
    complete = os.path.isfile(os.path.join(target, '.complete'))
    try:
        linked = os.readlink(RESTORE_COMMAND)
    except OSError:
        linked = None
    if complete and linked == script:
        return None

    def apply():
        if not os.path.isfile(os.path.join(target, '.complete')):
            _install_tree(target, engine, interpreter)
        files.make_dirs(os.path.dirname(RESTORE_COMMAND), 0o755)
        tmp = RESTORE_COMMAND + '.nsforge-tmp'
        files.remove(tmp)
        os.symlink(script, tmp)
        os.rename(tmp, RESTORE_COMMAND)

    def undo():
        files.remove(RESTORE_COMMAND)
        if linked is not None:
            os.symlink(linked, RESTORE_COMMAND)

    return Change('install the restore command %s (engine %s in %s)' % (RESTORE_COMMAND, ident, target), apply, undo, PH_PERSIST)


def _install_tree(target, engine, interpreter):
    """Write the engine into a temporary folder next to target, then rename it into place."""
    files.make_dirs(LIB_DIR, 0o755)
    tmp = tempfile.mkdtemp(prefix='.install-', dir=LIB_DIR)
    try:
        package = os.path.join(tmp, *PACKAGE.split('.'))
        os.makedirs(package, 0o755)
        folder = tmp
        for part in PACKAGE.split('.'):
            folder = os.path.join(folder, part)
            with open(os.path.join(folder, '__init__.py'), 'w'):
                pass
        for name, data in engine.items():
            with open(os.path.join(package, name), 'wb') as handle:
                handle.write(data)
        script = os.path.join(tmp, 'nsforge-restore')
        with open(script, 'w') as handle:
            handle.write(restore_script(target, interpreter))
        os.chmod(script, 0o755)
        with open(os.path.join(tmp, '.complete'), 'w') as handle:
            handle.write(interpreter + '\n')
        os.chmod(tmp, 0o755)
        if os.path.isdir(target):
            shutil.rmtree(target)  # an incomplete folder (no .complete) left by a crash
        os.rename(tmp, target)
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# ---------------------------------------------------------------------------
# planning the files of a task


def _template_lock():
    """One lock for the template and the set of records, so two tasks on other nodes never remove it from each other."""
    return nodes.file_lock(LOCK_DIR, '.persist.lock')


def _with_template(write_record):
    """Write a record, and the template with it when a concurrent task removed it after this task planned."""
    def apply():
        with _template_lock():
            write_record()
            template = systemd.unit_path(systemd.NODE_TEMPLATE)
            if files.read_text(template) != systemd.render_node_template():
                files.put(template, systemd.render_node_template())
    return apply


def _remove_unused_template():
    with _template_lock():
        if not persisted_nodes():
            files.remove(systemd.unit_path(systemd.NODE_TEMPLATE))


class Persisted:
    """The persistence steps of one task: records, declarations, units, links, the engine, daemon-reload."""

    def __init__(self):
        self.changes = []
        self.diffs = []
        self.units_changed = False
        self.records = {}
        # node -> the changes of its record and its unit's links (the rest, such as the template, is the task's)
        self.owned = {}
        # the units of nodes whose record this task removes (systemd keeps a started one loaded without its file)
        self.unpersisted = []

    def file(self, path, new, mode, what, show=True, unit=False):
        """Plan a file to be written (or, for None, removed); returns its Change, or None when it is as wanted."""
        old = files.read_text(path)
        if old == new:
            return None
        if new is None:
            desc = 'remove %s %s' % (what, path)
        else:
            desc = '%s %s %s' % ('write' if old is None else 'rewrite', what, path)
        folder_mode = 0o700 if mode == 0o600 else 0o755
        change = Change(desc, lambda: files.put(path, new, mode, folder_mode), lambda: files.put(path, old, mode, folder_mode),
                        PH_PERSIST)
        self.changes.append(change)
        if show:
            self.diffs.append({'before_header': path, 'after_header': path, 'before': old or '', 'after': new or ''})
        if unit:
            self.units_changed = True
        return change

    def links(self, unit, targets, enabled):
        """Plan the enabling links of a unit (enabled) or their removal."""
        for target in targets:
            have = systemd.link_state(unit, target)
            want = systemd.enable_target(unit) if enabled else None
            if have == want:
                continue
            link = systemd.wants_link(unit, target)
            desc = ('enable %s (link %s -> %s)' % (unit, link, want)) if want else ('disable %s (remove %s)' % (unit, link))
            self.changes.append(Change(desc, lambda t=target, w=want: systemd.set_link(unit, t, w),
                                       lambda t=target, h=have: systemd.set_link(unit, t, h), PH_PERSIST))
            self.diffs.append({'before_header': link, 'after_header': link,
                               'before': '-> %s\n' % have if have else '', 'after': '-> %s\n' % want if want else ''})
            self.units_changed = True

    def node_section(self, node, key, section):
        """Declare the section key of node's record (None removes it); the record goes with its last section."""
        record = self.records.get(node)
        if record is None:
            record = read_record(node) or {'node': node}
        record = dict(record)
        if section is None:
            record.pop(key, None)
        else:
            record[key] = section
        self.records[node] = record

    def finish_nodes(self):
        """Plan the node records, their unit instances and the template; returns whether anything persists."""
        for node, record in sorted(self.records.items()):
            first = len(self.changes)
            keep = any(k in record for k in SECTIONS)
            unit = systemd.node_unit(node)
            if keep and not systemd.unit_name_fits(unit):
                raise bad_option('persist', True, 'the unit name %s of node %s is longer than systemd allows (%d)'
                                 % (unit, node, systemd.UNIT_NAME_MAX))
            change = self.file(record_path(node), as_json(record) if keep else None, 0o600, 'the declaration of node %s' % node)
            if change is not None and keep:
                change.apply = _with_template(change.apply)
            elif change is not None:
                self.unpersisted.append(unit)
            self.links(unit, systemd.NODE_WANTED_BY, keep)
            self.owned[node] = self.changes[first:]
        remaining = set(persisted_nodes())
        for node, record in self.records.items():
            if any(k in record for k in SECTIONS):
                remaining.add(node)
            else:
                remaining.discard(node)
        template = systemd.unit_path(systemd.NODE_TEMPLATE)
        change = self.file(template, systemd.render_node_template() if remaining else None, 0o644, 'the unit', unit=True)
        if change is not None and not remaining:
            change.apply = _remove_unused_template
        return bool(remaining)

    def finish(self, need_engine):
        """Append the engine (when something needs it) and daemon-reload (when a unit changed); return the changes."""
        if need_engine:
            change = engine_plan()
            if change is not None:
                self.changes.insert(0, change)
        if self.units_changed and systemd.running():
            # last, without an undo of its own: a failure after it is the caller's to undo and reload
            self.changes.append(Change('systemd: daemon-reload, since a unit changed', systemd.daemon_reload, None, PH_PERSIST))
        if self.unpersisted and systemd.running():
            units = sorted(self.unpersisted)
            self.changes.append(Change('systemd: stop and forget %s (no longer persisted)' % ', '.join(units),
                                       lambda: systemd.forget(units), None, PH_PERSIST))
        return self.changes


def merge_diff(diff, extra):
    """A module's diff dict followed by the diffs of files, as Ansible shows a list of diffs."""
    if not extra:
        return diff
    return ([diff] if isinstance(diff, dict) else list(diff)) + extra


# ---------------------------------------------------------------------------
# netns, nsmount, uidmap: what each records, and what cannot be restored


def plan_netns(decls):
    """The persistence of a netns task from its validated node declarations (netns_options.validate); None when
    it declares none. A node's record keeps the options of its entry, which the restore command declares again."""
    if all(d['persist'] is None for d in decls) and \
            not any(d['state'] == 'absent' and _recorded(d['name'], 'netns') for d in decls):
        return None
    plan = Persisted()
    persisting = set(d['name'] for d in decls if d['persist'] and d['state'] == 'present')
    for decl in decls:
        if decl['persist'] is None:
            continue
        prefix = decl['prefix'] + '.' if decl['prefix'] else ''
        if decl['persist'] and decl['state'] == 'absent':
            raise bad_option(prefix + 'persist', True, 'a node with state=absent cannot be persisted')
        if not decl['persist']:
            plan.node_section(decl['name'], 'netns', None)
            continue
        for link in decl['links']:
            other = (link['peer'] or {}).get('netns')
            if other is None or other == decl['name'] or other in persisting:
                continue
            if (read_record(other) or {}).get('netns') is None:
                raise bad_option(link['option'] + '.peer.netns', other,
                                 'node %s is persisted, so the node of its veth peer must be persisted too '
                                 '(persist: true on node %s), or it cannot be recreated at boot' % (decl['name'], other))
        section = dict(decl['entry'], state='present')
        plan.node_section(decl['name'], 'netns', section)
    for decl in decls:
        if decl['state'] == 'absent':
            plan.node_section(decl['name'], 'netns', None)
    anything = plan.finish_nodes()
    return plan, anything


def _recorded(node, section):
    return os.path.exists(record_path(node)) and section in (read_record(node) or {})


def _needed(items, section):
    """Whether a task's nodes (path, label, params) touch their records: persist set, or removed while recorded."""
    return any(params.get('persist') is not None
               or (params['state'] == 'absent' and _recorded(params['namespace'], section))
               for _path, _label, params in items)


def plan_nsmount(items):
    """The persistence of an nsmount task: items are (path, label, params) of each node (see nsmount_options.items)."""
    if not _needed(items, 'nsmount'):
        return None
    plan = Persisted()
    for path, label, params in items:
        with bulk.within(path, label):
            _nsmount_section(plan, params)
    return plan, plan.finish_nodes()


def _nsmount_section(plan, params):
    name = params['namespace']
    if params['persist'] and params['state'] == 'present':
        for key in ('rootfs',):
            if params.get(key) and volatile(params[key]):
                raise bad_option(key, params[key], 'is under %s, which is emptied at boot, so the node cannot be '
                                 'restored (persist: true)' % volatile(params[key]))
        for i, mount in enumerate(params.get('mounts') or []):
            for key in ('src', 'upper', 'work'):
                if mount.get(key) and volatile(mount[key]):
                    raise bad_option('mounts[%d].%s' % (i, key), mount[key], 'is under %s, which is emptied at boot, so '
                                     'the node cannot be restored (persist: true)' % volatile(mount[key]))
            for path in mount.get('lower') or []:
                if volatile(path):
                    raise bad_option('mounts[%d].lower' % i, path, 'is under %s, which is emptied at boot, so the '
                                     'node cannot be restored (persist: true)' % volatile(path))
        section = dict((k, v) for k, v in params.items() if k != 'persist')
        plan.node_section(name, 'nsmount', section)
    elif params['persist'] and params['state'] == 'absent':
        raise bad_option('persist', True, 'a mount namespace with state=absent cannot be persisted')
    elif params['persist'] is not None or params['state'] == 'absent':
        plan.node_section(name, 'nsmount', None)


def plan_uidmap(items):
    """The persistence of a uidmap task's user namespaces: items are (path, label, params, uid_map, gid_map) of each
    node, params its namespace, state, persist and allow_host_root, the maps as resolved (None with state=absent)."""
    if not _needed([item[:3] for item in items], 'uidmap'):
        return None
    plan = Persisted()
    for path, label, params, uid_map, gid_map in items:
        with bulk.within(path, label):
            _uidmap_section(plan, params, uid_map, gid_map)
    return plan, plan.finish_nodes()


def _uidmap_section(plan, params, uid_map, gid_map):
    name = params['namespace']
    if params['persist'] and params['state'] == 'present':
        section = {'namespace': name, 'state': 'present', 'uid_map': _maps(uid_map), 'gid_map': _maps(gid_map),
                   'allow_host_root': bool(params.get('allow_host_root')), 'recreate': False, 'user': None,
                   'subuid': None, 'subgid': None, 'exclusive': False, 'map_root_user': False, 'map_user': None}
        plan.node_section(name, 'uidmap', section)
    elif params['persist']:
        raise bad_option('persist', True, 'a user namespace with state=absent cannot be persisted')
    elif params['persist'] is not None or params['state'] == 'absent':
        plan.node_section(name, 'uidmap', None)


def _maps(lines):
    return [{'inside': i, 'outside': o, 'count': c} for i, o, c in lines]


def give_owned(found, items):
    """Add to each item's changes (a dict with name and changes) the persistence steps of its node."""
    if found is not None:
        for item in items:
            item['changes'].extend(found[0].owned.get(item['name'], []))


def add_to(found, changes):
    """Add the persistence steps to a task's change list; returns the diffs of the files."""
    if found is None:
        return []
    plan, anything = found
    changes.extend(plan.finish(anything))
    return plan.diffs
