# Start `sleep SECONDS` detached (own session, reparented away from Ansible)
# and print its PID, so a test can own a live process it knows the PID of.
import os
import sys
import time

seconds = sys.argv[1] if len(sys.argv) > 1 else '300'
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
        os.execvp('sleep', ['sleep', seconds])
    os.write(write_fd, str(second).encode())
    os._exit(0)
os.close(write_fd)
os.waitpid(first, 0)
pid = int(os.read(read_fd, 64).decode())
# wait until the child has exec'd sleep, so its command line is final
for _ in range(200):
    try:
        with open('/proc/%d/comm' % pid) as handle:
            if handle.read().strip() == 'sleep':
                break
    except IOError:
        break
    time.sleep(0.01)
print(pid)
