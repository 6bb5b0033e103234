# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""systemd units: names, the pure renderers of the unit files, and the files and links on disk.

The renderers are pure functions of a declaration (unit-tested); the rest
writes unit files atomically, enables them the way `systemctl enable` does
(a symbolic link in <target>.wants/), and runs `systemctl daemon-reload` only
when a unit changed and systemd is running (PID 1).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal

from ansible_collections.nsforge.linux.plugins.module_utils import files, kernel
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError
from ansible_collections.nsforge.linux.plugins.module_utils.layout import RECORD_DIR, RESTORE_COMMAND, UNIT_DIR

NODE_TEMPLATE = 'nsforge-node@.service'
SERVICE_PREFIX = 'nsforge-service-'
UNIT_NAME_MAX = 255
HEADER = '# Managed by nsforge.linux; changes here are overwritten.\n'
NODE_WANTED_BY = ('multi-user.target', 'network-online.target')
SERVICE_WANTED_BY = ('multi-user.target',)
_PLAIN = frozenset('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_.')


def escape(text):
    """systemd-escape TEXT (not --path): '/' becomes '-', other unsafe bytes and a leading '.' become \\xNN."""
    out = []
    for i, byte in enumerate(text.encode('utf-8')):
        char = chr(byte)
        if char == '/':
            out.append('-')
        elif char in _PLAIN and not (i == 0 and char == '.'):
            out.append(char)
        else:
            out.append('\\x%02x' % byte)
    return ''.join(out)


def unescape(text):
    """The inverse of escape()."""
    raw = bytearray()
    i = 0
    while i < len(text):
        if text.startswith('\\x', i) and i + 4 <= len(text):
            raw.append(int(text[i + 2:i + 4], 16))
            i += 4
        else:
            raw.extend(b'/' if text[i] == '-' else text[i].encode('utf-8'))
            i += 1
    return raw.decode('utf-8')


def node_unit(node):
    """The instance of the node template that restores this node, such as nsforge-node@web\\x2da.service."""
    return 'nsforge-node@%s.service' % escape(node)


def service_unit(name):
    """The unit of a service supervised by systemd. Service names are already valid in unit names."""
    return SERVICE_PREFIX + name + '.service'


def unit_name_fits(unit):
    return len(unit.encode('utf-8')) <= UNIT_NAME_MAX


def unit_path(unit):
    return os.path.join(UNIT_DIR, unit)


def wants_link(unit, target):
    return os.path.join(UNIT_DIR, target + '.wants', unit)


def running():
    """True when systemd is the init system of this host (PID 1), as sd_booted() decides."""
    return os.path.isdir('/run/systemd/system')


def pid1_name():
    try:
        with open('/proc/1/comm') as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return 'unknown'


def not_running_reason():
    return 'systemd is not running on this host (no /run/systemd/system; PID 1 is %s)' % pid1_name()


# ---------------------------------------------------------------------------
# renderers: pure functions


def render_node_template(restore=RESTORE_COMMAND, record_dir=RECORD_DIR):
    """The one template unit; its instance %i is a node's escaped name, %I the node's name."""
    return HEADER + '\n'.join([
        '[Unit]',
        'Description=nsforge node %I (namespaces recreated from ' + record_dir + '/nodes/%I.json)',
        'Documentation=man:ip-netns(8)',
        'DefaultDependencies=no',
        'After=local-fs.target systemd-sysctl.service',
        'Before=network-pre.target network-online.target shutdown.target',
        'Wants=network-pre.target',
        'Conflicts=shutdown.target',
        'ConditionPathExists=' + record_dir + '/nodes/%I.json',
        '',
        '[Service]',
        'Type=oneshot',
        'RemainAfterExit=yes',
        'ExecStart=' + restore + ' node %I',
        '',
        '[Install]',
        'WantedBy=' + ' '.join(NODE_WANTED_BY),
        '',
    ])


def _seconds(value):
    text = ('%.3f' % float(value)).rstrip('0').rstrip('.')
    return (text or '0') + 's'


def node_joins(cfg):
    """{kind: node} of the namespaces a service configuration joins from nodes (not new, host nor service:)."""
    out = {}
    for kind, spec in sorted(cfg['namespaces'].items()):
        if spec['mode'] == 'join' and not spec.get('service'):
            out[kind] = spec['label']
    return out


def render_service_unit(cfg, restore=RESTORE_COMMAND, record_dir=RECORD_DIR):
    """The unit of a service from its validated nsproc configuration (services.validate) and its stop_timeout.

    The unit joins the node's network (NetworkNamespacePath=) and IPC (IPCNamespacePath=) namespaces, the kinds
    systemd has directives for; ExecStart, the restore command, reads the declaration from the root-only
    record_dir/services/<name>.json and starts the service exactly as the builtin supervisor does (the other
    namespaces, ID maps, mounts, hostname, init, identity, logs), so env values never appear in the unit.
    """
    name = cfg['name']
    joins = node_joins(cfg)
    needed = sorted(set(joins.values()))
    units = ' '.join(node_unit(n) for n in needed)
    lines = ['[Unit]', 'Description=nsforge service %s: %s' % (name, ' '.join(cfg['command']).replace('%', '%%')),
             'Documentation=man:nsenter(1)']
    if units:
        lines.append('After=%s' % units)
        lines.append('Requires=%s' % units)
    lines += [
        'ConditionPathExists=%s/services/%s.json' % (record_dir, name),
        '',
        '[Service]',
    ]
    if cfg['type'] == 'oneshot':
        lines += ['Type=oneshot', 'RemainAfterExit=yes', 'TimeoutStartSec=%s' % _seconds(cfg['timeout'] + 30)]
    else:
        lines += ['Type=forking', 'PIDFile=/run/nsforge/services/%s.pid' % name,
                  'TimeoutStartSec=%s' % _seconds(cfg['startup_check'] + 30),
                  'Restart=on-failure', 'RestartSec=1s']
    lines.append('ExecStart=%s service %s' % (restore, name))
    if 'net' in joins:
        lines.append('NetworkNamespacePath=/run/netns/%s' % joins['net'])
    if 'ipc' in joins:
        lines.append('IPCNamespacePath=/run/nsforge/nodes/%s/ipc' % joins['ipc'])
    lines += [
        'KillMode=mixed',
        'KillSignal=SIG%s' % cfg['stop_signal'],
    ]
    if cfg.get('init'):
        # tini, the service's PID 1, exits with 128 + the signal that stopped its child: a stop, not a failure
        lines.append('SuccessExitStatus=%d' % (128 + signal.Signals['SIG' + cfg['stop_signal']].value))
    lines += [
        'TimeoutStopSec=%s' % _seconds(10 if cfg.get('stop_timeout') is None else cfg['stop_timeout']),
        'SyslogIdentifier=nsforge-%s' % name,
    ]
    limits = cfg.get('limits') or {}
    if 'memory' in limits:
        lines.append('MemoryMax=%d' % limits['memory'])
    if 'pids' in limits:
        lines.append('TasksMax=%d' % limits['pids'])
    if 'cpu' in limits:
        lines.append('CPUQuota=%d%%' % round(limits['cpu'] * 100))
    lines += ['', '[Install]', 'WantedBy=' + ' '.join(SERVICE_WANTED_BY), '']
    return HEADER + '\n'.join(lines)


# ---------------------------------------------------------------------------
# files and links


def link_state(unit, target):
    """The target of the enabling link of a unit, or None."""
    try:
        return os.readlink(wants_link(unit, target))
    except OSError:
        return None


def set_link(unit, target, points_to):
    """Create (atomically, by rename) or remove (points_to None) the link target.wants/unit."""
    link = wants_link(unit, target)
    if points_to is None:
        files.remove(link)
        return
    files.make_dirs(os.path.dirname(link), 0o755)
    tmp = link + '.nsforge-tmp'
    files.remove(tmp)
    os.symlink(points_to, tmp)
    os.rename(tmp, link)


def enable_target(unit):
    """What an enabling link of unit points to: the unit file itself, or the template of an instance."""
    if '@' in unit:
        return unit_path(unit.split('@', 1)[0] + '@.service')
    return unit_path(unit)


def systemctl(*args):
    """Run systemctl with an argument vector; raise NsforgeError with its stderr when it fails."""
    argv = ['systemctl'] + list(args)
    code, stdout, stderr = kernel.run(argv)
    if code != 0:
        raise NsforgeError('%s failed (exit code %d): %s' % (' '.join(argv), code, stderr.decode('utf-8', 'replace').strip()))
    return stdout.decode('utf-8', 'replace')


def daemon_reload():
    systemctl('daemon-reload')


def forget(units):
    """Stop units whose files are gone, and clear their failed state, so that systemd no longer lists them (a started
    node unit stays loaded, active or failed, after its file is removed). The stop touches no other unit
    (ignore-dependencies: a service that requires the node keeps running) and nothing in the kernel (a node unit has
    no ExecStop). Best effort: a unit that was never started is not loaded, and systemctl says so with a failure."""
    for unit in units:
        kernel.run(['systemctl', 'stop', '--job-mode=ignore-dependencies', '--', unit])
        kernel.run(['systemctl', 'reset-failed', '--', unit])
