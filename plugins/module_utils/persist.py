# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""Surviving reboot: persisted declarations, the restore command and its engine, systemd-supervised services.

Layout (documented in the README, section "Surviving reboot"):
- /etc/nsforge/nodes/<node>.json     a node's declaration, one section per module (netns, uidmap, nsmount); 0600
- /etc/nsforge/services/<name>.json  a systemd-supervised service's nsproc declaration (env included); 0600
- /etc/systemd/system/nsforge-node@.service       the one template that restores a node at boot
- /etc/systemd/system/<target>.wants/nsforge-node@<escaped node>.service   the node's enabled instance
- /etc/systemd/system/nsforge-service-<name>.service  a service's unit
- /usr/local/lib/nsforge/<engine id>/          the engine (these module_utils files) and the restore command
- /usr/local/sbin/nsforge-restore              a link to the current engine's restore command
The tasks add their steps to the same change list as the rest of the task, so a
failure undoes everything, and check mode and diff show the files.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import shutil
import sys
import tempfile

from ansible_collections.nsforge.linux.plugins.module_utils import kernel, nodes, systemd
from ansible_collections.nsforge.linux.plugins.module_utils.changes import Change
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError, bad_option

RECORD_DIR = systemd.RECORD_DIR
NODES_DIR = RECORD_DIR + '/nodes'
SERVICES_DIR = RECORD_DIR + '/services'
LIB_DIR = '/usr/local/lib/nsforge'
RESTORE_COMMAND = systemd.RESTORE_COMMAND
PACKAGE = 'ansible_collections.nsforge.linux.plugins.module_utils'
# what the restore command imports, directly or not
ENGINE_FILES = ('errors', 'kernel', 'nodes', 'changes', 'netlink', 'network', 'idmap', 'userns', 'mounts',
                'cgroups', 'services', 'systemd', 'persist')
SECTIONS = ('uidmap', 'netns', 'nsmount')  # the order of restoring
# paths a declaration must not depend on at boot: they are emptied
VOLATILE = ('/run', '/tmp', '/dev/shm', '/proc', '/sys')
PH_PERSIST = 100  # after every other phase of a task's change list


def _json(data):
    return json.dumps(data, sort_keys=True, indent=2) + '\n'


def record_path(node):
    return os.path.join(NODES_DIR, nodes.check_name(node) + '.json')


def declaration_path(service):
    return os.path.join(SERVICES_DIR, nodes.check_name(service) + '.json')


def read_json(path):
    text = systemd.read_text(path)
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
        names = os.listdir(NODES_DIR)
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
    """{file name: bytes} of the engine, read from the package this module was loaded from (an AnsiballZ zip too)."""
    import pkgutil
    files = {}
    for name in ENGINE_FILES:
        try:
            data = pkgutil.get_data(PACKAGE, name + '.py')
        except (IOError, OSError, ImportError) as exc:
            data = None
            why = str(exc)
        else:
            why = 'not in the package'
        if data is None:
            raise NsforgeError('cannot read the engine file %s.py to install the restore command: %s' % (name, why))
        files[name + '.py'] = data
    return files


def restore_script(engine_dir, interpreter):
    return '\n'.join([
        '#!%s -I' % interpreter,
        '# nsforge.linux restore command, installed by the collection; see the README, "Surviving reboot".',
        '# Usage: nsforge-restore node NAME | nsforge-restore all | nsforge-restore service NAME',
        'import sys',
        'sys.path.insert(0, %r)' % engine_dir,
        'from ansible_collections.nsforge.linux.plugins.module_utils import persist  # noqa: E402',
        'sys.exit(persist.main(sys.argv[1:]))',
        '',
    ])


def engine_id(files, interpreter):
    digest = hashlib.sha256(interpreter.encode('utf-8'))
    for name in sorted(files):
        digest.update(name.encode('utf-8') + b'\0' + files[name] + b'\0')
    return digest.hexdigest()[:16]


def engine_plan():
    """The change that installs the engine and links the restore command, or None when it is in place."""
    interpreter = sys.executable or '/usr/bin/python3'
    files = engine_files()
    ident = engine_id(files, interpreter)
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
            _install_tree(target, files, interpreter)
        kernel.make_dirs(os.path.dirname(RESTORE_COMMAND), 0o755)
        tmp = RESTORE_COMMAND + '.nsforge-tmp'
        systemd.remove(tmp)
        os.symlink(script, tmp)
        os.rename(tmp, RESTORE_COMMAND)

    def undo():
        systemd.remove(RESTORE_COMMAND)
        if linked is not None:
            os.symlink(linked, RESTORE_COMMAND)

    return Change('install the restore command %s (engine %s in %s)' % (RESTORE_COMMAND, ident, target), apply, undo, PH_PERSIST)


def _install_tree(target, files, interpreter):
    """Write the engine into a temporary folder next to target, then rename it into place."""
    kernel.make_dirs(LIB_DIR, 0o755)
    tmp = tempfile.mkdtemp(prefix='.install-', dir=LIB_DIR)
    try:
        package = os.path.join(tmp, *PACKAGE.split('.'))
        os.makedirs(package, 0o755)
        folder = tmp
        for part in PACKAGE.split('.'):
            folder = os.path.join(folder, part)
            with open(os.path.join(folder, '__init__.py'), 'w'):
                pass
        for name, data in files.items():
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
    return nodes.file_lock(nodes.LOCK_DIR, '.persist.lock')


def _with_template(write_record):
    """Write a record, and the template with it when a concurrent task removed it after this task planned."""
    def apply():
        with _template_lock():
            write_record()
            template = systemd.unit_path(systemd.NODE_TEMPLATE)
            if systemd.read_text(template) != systemd.render_node_template():
                systemd.write_text(template, systemd.render_node_template())
    return apply


def _remove_unused_template():
    with _template_lock():
        if not persisted_nodes():
            systemd.remove(systemd.unit_path(systemd.NODE_TEMPLATE))


class Persisted:
    """The persistence steps of one task: records, declarations, units, links, the engine, daemon-reload."""

    def __init__(self):
        self.changes = []
        self.diffs = []
        self.units_changed = False
        self.records = {}

    def _file(self, path, new, mode, what, show=True, unit=False):
        old = systemd.read_text(path)
        if old == new:
            return None
        if new is None:
            desc = 'remove %s %s' % (what, path)
        else:
            desc = '%s %s %s' % ('write' if old is None else 'rewrite', what, path)
        change = Change(desc, lambda: systemd.write_text(path, new, mode, 0o700 if mode == 0o600 else 0o755),
                        lambda: systemd.write_text(path, old, mode, 0o700 if mode == 0o600 else 0o755), PH_PERSIST)
        self.changes.append(change)
        if show:
            self.diffs.append({'before_header': path, 'after_header': path, 'before': old or '', 'after': new or ''})
        if unit:
            self.units_changed = True
        return change

    def _links(self, unit, targets, enabled):
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

    def services(self):
        try:
            names = os.listdir(SERVICES_DIR)
        except OSError:
            return []
        return [n[:-5] for n in names if n.endswith('.json')]

    def finish_nodes(self):
        """Plan the node records, their unit instances and the template; returns whether anything persists."""
        for node, record in sorted(self.records.items()):
            keep = any(k in record for k in SECTIONS)
            unit = systemd.node_unit(node)
            if keep and not systemd.unit_name_fits(unit):
                raise bad_option('persist', True, 'the unit name %s of node %s is longer than systemd allows (%d)'
                                 % (unit, node, systemd.UNIT_NAME_MAX))
            change = self._file(record_path(node), _json(record) if keep else None, 0o600, 'the declaration of node %s' % node)
            if change is not None and keep:
                change.apply = _with_template(change.apply)
            self._links(unit, systemd.NODE_WANTED_BY, keep)
        remaining = set(persisted_nodes())
        for node, record in self.records.items():
            if any(k in record for k in SECTIONS):
                remaining.add(node)
            else:
                remaining.discard(node)
        template = systemd.unit_path(systemd.NODE_TEMPLATE)
        change = self._file(template, systemd.render_node_template() if remaining else None, 0o644, 'the unit', unit=True)
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
        return self.changes


def merge_diff(diff, extra):
    """A module's diff dict followed by the diffs of files, as Ansible shows a list of diffs."""
    if not extra:
        return diff
    return ([diff] if isinstance(diff, dict) else list(diff)) + extra


# ---------------------------------------------------------------------------
# netns, nsmount, uidmap: what each records, and what cannot be restored


NETNS_KEYS = ('name', 'loopback', 'hostname', 'links', 'routes', 'sysctl', 'nameservers', 'search', 'hosts', 'purge')


def netns_entries(params):
    """(option prefix, entry) of each node of a netns task, with persist resolved from the task's default."""
    if params.get('namespaces') is not None:
        out = []
        for i, entry in enumerate(params['namespaces']):
            entry = dict(entry)
            if entry.get('persist') is None:
                entry['persist'] = params.get('persist')
            if entry.get('state') is None:
                entry['state'] = params.get('state') or 'present'
            if entry.get('purge') is None:
                entry['purge'] = bool(params.get('purge'))
            out.append(('namespaces[%d].' % i, entry))
        return out
    return [('', params)]


def plan_netns(params):
    """The persistence of a netns task (validated by network.validate first); None when it declares none."""
    entries = netns_entries(params)
    if all(e.get('persist') is None for _p, e in entries) and \
            not any(e.get('state') == 'absent' and _recorded(e['name'], 'netns') for _p, e in entries):
        return None
    plan = Persisted()
    persisting = dict((e['name'], e) for _p, e in entries if e.get('persist') and e.get('state', 'present') == 'present')
    for prefix, entry in entries:
        if entry.get('persist') is None:
            continue
        if entry.get('persist') and entry.get('state', 'present') == 'absent':
            raise bad_option(prefix + 'persist', True, 'a node with state=absent cannot be persisted')
        if not entry.get('persist'):
            plan.node_section(entry['name'], 'netns', None)
            continue
        for i, link in enumerate(entry.get('links') or []):
            peer = link.get('peer') or {}
            other = peer.get('netns')
            if other is None or other == entry['name'] or other in persisting:
                continue
            if (read_record(other) or {}).get('netns') is None:
                raise bad_option('%slinks[%d].peer.netns' % (prefix, i), other,
                                 'node %s is persisted, so the node of its veth peer must be persisted too '
                                 '(persist: true on node %s), or it cannot be recreated at boot' % (entry['name'], other))
        section = dict((k, entry.get(k)) for k in NETNS_KEYS)
        section['state'] = 'present'
        plan.node_section(entry['name'], 'netns', section)
    for prefix, entry in entries:
        if entry.get('state') == 'absent':
            plan.node_section(entry['name'], 'netns', None)
    anything = plan.finish_nodes()
    return plan, anything


def _recorded(node, section):
    return os.path.exists(record_path(node)) and section in (read_record(node) or {})


def plan_nsmount(params):
    if params.get('persist') is None and not (params['state'] == 'absent' and _recorded(params['namespace'], 'nsmount')):
        return None
    plan = Persisted()
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
    else:
        plan.node_section(name, 'nsmount', None)
    return plan, plan.finish_nodes()


def plan_uidmap(params, uid_map, gid_map):
    """uid_map, gid_map: the resolved maps of the node's user namespace (None with state=absent)."""
    if params.get('namespace') is None:
        if params.get('persist') is not None:
            raise bad_option('persist', params['persist'], 'persist is about a node: give namespace')
        return None
    if params.get('persist') is None and not (params['state'] == 'absent' and _recorded(params['namespace'], 'uidmap')):
        return None
    plan = Persisted()
    name = params['namespace']
    if params['persist'] and params['state'] == 'present':
        section = {'namespace': name, 'state': 'present', 'uid_map': _maps(uid_map), 'gid_map': _maps(gid_map),
                   'allow_host_root': bool(params.get('allow_host_root')), 'recreate': False, 'user': None,
                   'subuid': None, 'subgid': None, 'exclusive': False, 'map_root_user': False, 'map_user': None}
        plan.node_section(name, 'uidmap', section)
    elif params['persist']:
        raise bad_option('persist', True, 'a user namespace with state=absent cannot be persisted')
    else:
        plan.node_section(name, 'uidmap', None)
    return plan, plan.finish_nodes()


def _maps(lines):
    return [{'inside': i, 'outside': o, 'count': c} for i, o, c in lines]


def add_to(found, changes):
    """Add the persistence steps to a task's change list; returns the diffs of the files."""
    if found is None:
        return []
    plan, anything = found
    changes.extend(plan.finish(anything))
    return plan.diffs


# ---------------------------------------------------------------------------
# the restore command


def say(line):
    sys.stdout.write(line + '\n')


def restore_nodes(names, out=say):
    """Recreate the nodes (and the nodes their veths reach) from their records; returns the change lines."""
    from ansible_collections.nsforge.linux.plugins.module_utils import mounts, netlink, network, userns
    records = {}
    queue = list(names)
    while queue:
        node = queue.pop(0)
        if node in records:
            continue
        record = read_record(node)
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
            lines += userns.converge(section, False)['changes']
    entries = [records[n]['netns'] for n in sorted(records) if records[n].get('netns')]
    if entries:
        session = netlink.Session()
        try:
            lines += network.converge({'namespaces': entries, 'state': 'present', 'purge': False}, False, session)['changes']
        finally:
            session.close()
    for node in sorted(records):
        section = records[node].get('nsmount')
        if section:
            lines += mounts.converge(section, False)['changes']
    for line in lines:
        out(line)
    return lines


def start_service(name, out=say):
    """Start a systemd-supervised service from its declaration, as the builtin supervisor does; write its PID file."""
    from ansible_collections.nsforge.linux.plugins.module_utils import services
    params = read_json(declaration_path(name))
    if params is None:
        raise NsforgeError('service %s: no declaration in %s' % (name, declaration_path(name)))
    declared = services.validate(params)
    # systemd enforces the limits on the unit's own cgroup, and is the service's keeper (it reaps it)
    cfg = dict(declared, limits={}, keeper=False)
    with services.locked(name):
        old = services.read_record(name)
        ended = services.last_exit(old)
        crashed = ended is not None and old.get('type') != 'oneshot'
        record = services.launch(cfg)
        services.release_keeper(old)
        record.update(config_hash=services.config_hash(declared), config=services.public_config(declared),
                      supervisor='systemd', crashes=old.get('crashes', 0) + 1 if crashed else 0,
                      previous_exit=dict(ended, at=old.get('started_at')) if crashed else None)
        services.write_record(record)
        if record.get('pid'):
            systemd.write_text(pid_file(name), '%d\n' % record['pid'], 0o644, 0o700)
    out('service %s: started, pid %s' % (name, record.get('pid')))


def pid_file(name):
    return os.path.join(nodes.STATE_DIR, 'services', nodes.check_name(name) + '.pid')


def main(argv, out=say):
    usage = 'usage: nsforge-restore node NAME... | nsforge-restore all | nsforge-restore service NAME'
    try:
        if argv[:1] == ['all'] and len(argv) == 1:
            restore_nodes(persisted_nodes(), out)
        elif argv[:1] == ['node'] and len(argv) > 1:
            restore_nodes([nodes.check_name(n, 'NAME') for n in argv[1:]], out)
        elif argv[:1] == ['service'] and len(argv) == 2:
            start_service(nodes.check_name(argv[1], 'NAME'), out)
        else:
            sys.stderr.write(usage + '\n')
            return 2
    except NsforgeError as exc:
        sys.stderr.write('nsforge-restore: %s\n' % exc.msg)
        return 1
    return 0


# ---------------------------------------------------------------------------
# nsproc: the supervisor


def unit_exists(name):
    return os.path.exists(systemd.unit_path(systemd.service_unit(name)))


def converge_nsproc(module, params, check_mode):
    """nsproc with supervisor builtin (services.converge) or systemd; both report the same fields."""
    from ansible_collections.nsforge.linux.plugins.module_utils import services
    name = nodes.check_name(params['name'], 'name')
    if params.get('supervisor') == 'systemd' or (params['state'] == 'absent' and unit_exists(name)):
        return converge_systemd_service(params, check_mode)
    if unit_exists(name):
        raise bad_option('supervisor', 'builtin', 'service %s is supervised by systemd (unit %s); declare supervisor: '
                         'systemd, or remove it first with state: absent' % (name, systemd.unit_path(systemd.service_unit(name))))
    if params.get('install_only'):
        raise bad_option('install_only', True, 'only with supervisor: systemd')
    result = services.converge(module, params, check_mode)
    result['unit'] = None
    return result


def check_systemd_service(params, cfg):
    name = cfg['name']
    unit = systemd.service_unit(name)
    if not systemd.unit_name_fits(unit):
        raise bad_option('name', name, 'the unit name %s is longer than systemd allows (%d)' % (unit, systemd.UNIT_NAME_MAX))
    for kind, spec in sorted(cfg['namespaces'].items()):
        if spec.get('service'):
            raise bad_option('namespaces.%s' % kind, spec['label'], 'supervisor: systemd cannot join the namespace of '
                             'another service (it is not there at boot); join a persisted node instead')
    for kind, node in sorted(systemd.node_joins(cfg).items()):
        record = read_record(node) or {}
        section = {'net': 'netns', 'uts': 'netns', 'user': 'uidmap', 'mnt': 'nsmount'}.get(kind)
        if section is None or section not in record:
            option = 'node' if params.get('node') == node and kind not in (params.get('namespaces') or {}) else 'namespaces.%s' % kind
            raise bad_option(option, node, 'supervisor: systemd needs the %s namespace of node %s persisted (persist: true '
                             'on its %s task), since the unit requires %s at boot'
                             % (kind, node, section or 'node', systemd.node_unit(node)))
    for key in ('stdout', 'stderr'):
        if params.get(key) and volatile(params[key]):
            raise bad_option(key, params[key], 'is under %s, which is emptied at boot' % volatile(params[key]))


def declaration_of(params):
    decl = dict((k, v) for k, v in params.items() if k not in ('supervisor', 'install_only', 'state'))
    decl['state'] = 'started'
    return decl


def converge_systemd_service(params, check_mode):
    from ansible_collections.nsforge.linux.plugins.module_utils import services
    from ansible_collections.nsforge.linux.plugins.module_utils.changes import run, undo_all
    name = params['name']
    state = params['state']
    install_only = bool(params.get('install_only'))
    live = systemd.running()
    if not live and not install_only:
        raise bad_option('supervisor', 'systemd', '%s; set install_only: true to only install the unit (it starts at '
                         'the next boot), or use supervisor: builtin' % systemd.not_running_reason())
    if install_only and state == 'restarted':
        raise bad_option('install_only', True, 'state=restarted restarts through systemd; use state=started with install_only')
    unit = systemd.service_unit(name)
    path = systemd.unit_path(unit)
    with services.locked(name):
        record = services.read_record(name)
        cfg = services.validate(params) if state in ('started', 'restarted') else None
        if cfg is not None:
            check_systemd_service(params, cfg)
        running = services.alive(record)
        new_hash = services.config_hash(cfg) if cfg else None
        before = {'status': services.status_of(record), 'config_hash': record.get('config_hash') if record else None,
                  'config': record.get('config') if record else None}
        plan = Persisted()
        label = 'service %s' % name
        if cfg is not None:
            plan._file(declaration_path(name), _json(declaration_of(params)), 0o600, 'the root-only declaration',
                       show=False)
            plan._file(path, systemd.render_service_unit(dict(cfg, stop_timeout=params.get('stop_timeout'))), 0o644, 'the unit', unit=True)
            plan._links(unit, systemd.SERVICE_WANTED_BY, True)
        elif state == 'stopped':
            plan._links(unit, systemd.SERVICE_WANTED_BY, False)
        elif state == 'absent':
            plan._links(unit, systemd.SERVICE_WANTED_BY, False)
            plan._file(path, None, 0o644, 'the unit', unit=True)
            plan._file(declaration_path(name), None, 0o600, 'the declaration', show=False)
        steps = []
        holder = {'record': record}

        def reread():
            holder['record'] = services.read_record(name)

        act = None
        if running and record.get('supervisor') != 'systemd' and cfg is not None and not install_only:
            # started by the builtin supervisor: systemd takes it over
            sig = services.stop_signal(params.get('stop_signal'))

            def take_over():
                services.stop(record, sig, params.get('stop_timeout') or 0)
                services.release_keeper(record)
            steps.append(Change('%s: stop (pid %d), started by the builtin supervisor, for systemd to start it'
                                % (label, record['pid']), take_over))
            running = False
        if state == 'started' and not install_only:
            if cfg['type'] == 'oneshot':
                done = record is not None and record.get('exit_code') == 0 and record.get('config_hash') == new_hash
                act = None if done else 'restart'
            elif not running:
                act = 'start'
            elif record.get('config_hash') != new_hash and params.get('restart_on_change', True):
                act = 'restart'
        elif state == 'restarted' and not install_only:
            act = 'restart'
        if state in ('stopped', 'absent') and running:
            if live:
                steps.append(Change('%s: systemctl stop %s' % (label, unit), lambda: systemd.systemctl('stop', unit)))
            else:
                steps.append(Change('%s: stop (pid %d) with SIG%s' % (label, record['pid'], services.stop_signal(params.get('stop_signal'))),
                                    lambda: (services.stop(record, services.stop_signal(params.get('stop_signal')),
                                                           params.get('stop_timeout') or 0), services.release_keeper(record))))
            if state == 'stopped':
                steps.append(Change('%s: record it as stopped' % label,
                                    lambda: services.write_record(dict(services.read_record(name) or record, status='stopped'))))
        changes = steps + plan.finish(cfg is not None)
        if state == 'absent' and record is not None:
            changes.append(Change('%s: remove its state record %s' % (label, services.record_path(name)),
                                  lambda: (services.remove_record(name), systemd.remove(pid_file(name)))))
        descriptions = run(changes, check_mode)
    if act:
        # outside the service's lock: the unit's ExecStart (the restore command) takes it to start the service
        descriptions.append('%s: systemctl %s %s' % (label, act, unit))
        changes.append(Change(descriptions[-1], None))
        if not check_mode:
            try:
                systemd.systemctl(act, unit)
            except NsforgeError as exc:
                with services.locked(name):
                    undo_errors = undo_all([c for c in changes if c.apply is not None])
                    if plan.units_changed and live:
                        try:
                            systemd.daemon_reload()
                        except NsforgeError as again:
                            undo_errors.append(again.msg)
                raise NsforgeError('%s failed: %s; undid %d earlier change(s) of this task%s'
                                   % (descriptions[-1], exc.msg, len(changes) - 1,
                                      '; could not undo: %s' % '; '.join(undo_errors) if undo_errors else ''))
            reread()
    if check_mode or not changes:
        after_record = record
        after = before
        if changes:
            status = before['status']
            if act:
                status = 'exited' if cfg['type'] == 'oneshot' else 'running'
            elif state in ('stopped', 'absent'):
                status = 'stopped' if state == 'stopped' and record is not None else ('absent' if state == 'absent' else status)
            after = {'status': status,
                     'config_hash': new_hash if cfg and (act or not record) else before['config_hash'],
                     'config': services.public_config(cfg) if cfg and (act or not record) else before['config']}
    else:
        after_record = None if state == 'absent' else (services.read_record(name) if not act else holder['record'])
        after = {'status': services.status_of(after_record),
                 'config_hash': after_record.get('config_hash') if after_record else None,
                 'config': after_record.get('config') if after_record else None}
    if check_mode:
        present = cfg is not None or (state == 'stopped' and os.path.exists(path))
        enabled = cfg is not None
    else:
        present = os.path.exists(path)
        enabled = systemd.link_state(unit, systemd.SERVICE_WANTED_BY[0]) is not None
    return {
        'changed': bool(changes),
        'changes': descriptions,
        'service': dict(services.view(after_record), name=name),
        'unit': {'name': unit, 'path': path, 'present': present, 'enabled': enabled},
        'diff': merge_diff({'before': before, 'after': after}, plan.diffs),
    }
