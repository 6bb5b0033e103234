# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""The runner of a timeline of faults: a standalone program (standard library only, no file of the collection),
which the netns task writes to /run/nsforge/timelines/runner.py and starts detached with the host's Python:

    python3 -I runner.py /run/nsforge/timelines/NAME.plan

The plan (JSON, written by the task: timelines.compile_plan and its start time) lists events, each at an offset t
in seconds from the start, with the argument vectors to run (ip, tc; never a shell) and, per interface it touches,
how to set from scratch what the interface is after it (`reset`: commands whose failure does not matter, then the
commands). Its last event is the restore: every driven interface back to its declared state and impairment.

The runner sleeps until each event, runs its commands (a failure is logged, and the timeline goes on), and writes
its progress atomically to NAME.status after each event: {pid, start_time, started, state, done, total, current,
next, next_at, failures, ended}. At the end it applies the restore event and records `finished`; on SIGTERM (or
SIGINT) it applies the restore from scratch, records `stopped` and exits. Started again after a runner died, it
resumes at the clock's offset: it first sets each interface as the latest event before now left it, then goes on.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import select
import signal
import subprocess
import sys
import time

# the files of a timeline NAME in its folder; the states of its runner
PLAN_SUFFIX = '.plan'
STATUS_SUFFIX = '.status'
LOG_SUFFIX = '.log'
RUNNING, FINISHED, STOPPED = 'running', 'finished', 'stopped'
# an event this late (seconds) when the runner starts is not run but set from scratch with the others missed
GRACE = 1.0
COMMAND_TIMEOUT = 30
DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'


def status_path(plan_path):
    return plan_path[:-len(PLAN_SUFFIX)] + STATUS_SUFFIX


def start_time(pid):
    """The start time (clock ticks after boot) of a process, which tells it from a later one with the same PID."""
    try:
        with open('/proc/%d/stat' % pid) as handle:
            data = handle.read()
    except (IOError, OSError):
        return None
    return int(data[data.rindex(')') + 2:].split()[19])


def write_json(path, data):
    """Replace a file atomically (a temporary file in its folder, then a rename)."""
    tmp = '%s.%d.tmp' % (path, os.getpid())
    with open(tmp, 'w') as handle:
        json.dump(data, handle, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.rename(tmp, path)


def log(message):
    stamp = time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime()) + ('%.3fZ' % (time.time() % 1))[1:]
    sys.stdout.write('%s %s\n' % (stamp, message))
    sys.stdout.flush()


class Runner:
    def __init__(self, plan_path):
        self.plan_path = plan_path
        with open(plan_path) as handle:
            self.plan = json.load(handle)
        self.events = self.plan['events']
        self.started = self.plan['started']
        self.status_path = status_path(plan_path)
        self.stop_requested = False
        self.failures = 0
        self.done = 0
        self.current = None
        self.pid = os.getpid()
        self.start_time = start_time(self.pid)
        self.wake_r, self.wake_w = os.pipe()
        for fd in (self.wake_r, self.wake_w):
            os.set_blocking(fd, False)

    # ---- signals: SIGTERM and SIGINT only set a flag; the pipe wakes the sleep
    def install_signals(self):
        signal.set_wakeup_fd(self.wake_w)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.on_signal)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    def on_signal(self, signum, _frame):
        self.stop_requested = True

    def sleep_until(self, when):
        """Sleep until the epoch time when, or until a stop is requested; True when woken for a stop."""
        while not self.stop_requested:
            left = when - time.time()
            if left <= 0:
                return False
            try:
                ready, _w, _x = select.select([self.wake_r], [], [], min(left, 60))
            except InterruptedError:
                continue
            if ready:
                try:
                    os.read(self.wake_r, 512)
                except OSError:
                    pass
        return True

    # ---- commands
    def run(self, argv, quiet=False):
        env = {'PATH': os.environ.get('PATH') or DEFAULT_PATH, 'LC_ALL': 'C'}
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=env, timeout=COMMAND_TIMEOUT, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            self.failures += 1
            log('failed: %s: %s' % (' '.join(argv), exc))
            return False
        if done.returncode != 0:
            if not quiet:
                self.failures += 1
                log('failed (exit status %d): %s: %s' % (done.returncode, ' '.join(argv),
                                                         done.stderr.decode('utf-8', 'replace').strip()))
            return False
        return True

    def apply(self, event):
        for argv in event['argv']:
            self.run(argv)

    def apply_resets(self, resets):
        for key in sorted(resets):
            for argv in resets[key].get('clear', []):
                self.run(argv, quiet=True)
            for argv in resets[key].get('apply', []):
                self.run(argv)

    # ---- progress
    def write_status(self, state, index):
        following = self.events[index] if index < len(self.events) and state == RUNNING else None
        status = {
            'name': self.plan['name'],
            'hash': self.plan['hash'],
            'pid': self.pid,
            'start_time': self.start_time,
            'started': self.started,
            'state': state,
            'done': self.done,
            'total': len(self.events),
            'current': self.current,
            'next': following['words'] if following else None,
            'next_at': round(self.started + following['t'], 3) if following else None,
            'failures': self.failures,
            'ended': round(time.time(), 3) if state != RUNNING else None,
        }
        write_json(self.status_path, status)

    def stop(self):
        log('stop requested: setting every driven interface back to its declared state')
        self.apply_resets(self.events[-1]['reset'])
        self.current = 'stopped: ' + self.events[-1]['words']
        self.write_status(STOPPED, len(self.events))
        log('stopped')
        return 0

    def main(self):
        self.install_signals()
        offset = time.time() - self.started
        # events missed (a runner that died and is started again): each interface set as the latest one left it
        index = 0
        missed = {}
        while index < len(self.events) and self.events[index]['t'] < offset - GRACE:
            missed.update(self.events[index]['reset'])
            self.current = self.events[index]['words']
            index += 1
        if index:
            log('resuming at +%.1fs: %d event(s) missed, setting %s as the latest of them left them'
                % (offset, index, ', '.join(sorted(missed))))
            self.apply_resets(missed)
            self.done = index
        else:
            log('timeline %s starts: %d events over %.1fs' % (self.plan['name'], len(self.events), self.events[-1]['t']))
        self.write_status(RUNNING if index < len(self.events) else FINISHED, index)
        while index < len(self.events):
            event = self.events[index]
            if self.sleep_until(self.started + event['t']):
                return self.stop()
            log('+%.3fs event %d/%d: %s' % (time.time() - self.started, index + 1, len(self.events), event['words']))
            self.apply(event)
            self.done = index + 1
            self.current = event['words']
            index += 1
            self.write_status(RUNNING if index < len(self.events) else FINISHED, index)
            if self.stop_requested and index < len(self.events):
                return self.stop()
        log('finished')
        return 0


def main(argv):
    if len(argv) != 1 or not argv[0].endswith(PLAN_SUFFIX):
        sys.stderr.write('usage: runner.py /run/nsforge/timelines/NAME%s\n' % PLAN_SUFFIX)
        return 2
    os.umask(0o077)
    os.chdir('/')
    return Runner(argv[0]).main()


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
