# Start a command detached from Ansible (own session, reparented away, stdio on
# /dev/null) and print a PID, so a test can own a live process it knows the PID of.
#
# Usage: spawn.py [--child] COMM PROGRAM [ARG...]
#   Prints the PID of PROGRAM once its name (/proc/<pid>/comm) is COMM, i.e.
#   once it has exec'd what it should; with --child, the PID of PROGRAM's first
#   child instead (for wrappers such as `unshare --fork`).
import os
import sys
import time

args = sys.argv[1:]
want_child = args[:1] == ['--child']
if want_child:
    args = args[1:]
comm, argv = args[0], args[1:]

read_fd, write_fd = os.pipe()
first = os.fork()
if first == 0:
    os.setsid()
    second = os.fork()
    if second == 0:
        os.close(read_fd)
        os.close(write_fd)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.execvp(argv[0], argv)
    os.write(write_fd, str(second).encode())
    os._exit(0)
os.close(write_fd)
os.waitpid(first, 0)
started = int(os.read(read_fd, 64).decode())


def candidate():
    if not want_child:
        return started
    with open('/proc/%d/task/%d/children' % (started, started)) as handle:
        children = handle.read().split()
    return int(children[0]) if children else None


for _ in range(500):
    try:
        pid = candidate()
        if pid is not None:
            with open('/proc/%d/comm' % pid) as handle:
                if handle.read().strip() == comm:
                    print(pid)
                    sys.exit(0)
    except IOError:
        pass
    time.sleep(0.01)
sys.exit('%s (pid %d) did not become %s' % (' '.join(argv), started, comm))
