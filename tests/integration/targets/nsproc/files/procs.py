# Independent process listing for the nsproc integration target: every process
# this PID namespace sees, from /proc, as JSON (pid, ppid, state, comm, cmdline,
# start_time in clock ticks since boot). Not part of the collection.
import json
import os

out = []
for entry in os.listdir('/proc'):
    if not entry.isdigit():
        continue
    pid = int(entry)
    try:
        with open('/proc/%d/stat' % pid) as handle:
            data = handle.read()
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            cmdline = [a.decode('utf-8', 'replace') for a in handle.read().split(b'\0') if a]
    except (IOError, OSError):
        continue  # gone meanwhile
    comm = data[data.index('(') + 1:data.rindex(')')]
    rest = data[data.rindex(')') + 2:].split()
    out.append({'pid': pid, 'ppid': int(rest[1]), 'state': rest[0], 'comm': comm,
                'cmdline': cmdline, 'start_time': int(rest[19])})
print(json.dumps(sorted(out, key=lambda p: p['pid'])))
