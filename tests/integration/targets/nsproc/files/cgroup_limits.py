# Read the memory and pids limits that apply to a process, from /proc/<pid>/cgroup
# and the cgroup files: cgroup v2 (memory.max, pids.max) or the v1 memory and
# pids controllers (memory.limit_in_bytes, pids.max). Prints JSON.
import json
import os
import sys

pid = int(sys.argv[1])
paths = {}
with open('/proc/%d/cgroup' % pid) as handle:
    for line in handle:
        hier, controllers, path = line.rstrip('\n').split(':', 2)
        if hier == '0' and controllers == '':
            paths['unified'] = path
        for controller in controllers.split(','):
            if controller:
                paths[controller] = path


def read(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except IOError:
        return None


out = {'paths': paths, 'memory': None, 'pids': None, 'dirs': []}
memory_v1 = paths.get('memory')
pids_v1 = paths.get('pids')
if memory_v1 is not None and os.path.isdir('/sys/fs/cgroup/memory'):
    out['version'] = 1
    out['dirs'] = ['/sys/fs/cgroup/memory' + memory_v1]
    out['memory'] = read('/sys/fs/cgroup/memory%s/memory.limit_in_bytes' % memory_v1)
    if pids_v1 is not None:
        out['dirs'].append('/sys/fs/cgroup/pids' + pids_v1)
        out['pids'] = read('/sys/fs/cgroup/pids%s/pids.max' % pids_v1)
else:
    out['version'] = 2
    base = '/sys/fs/cgroup' + paths.get('unified', '/')
    out['dirs'] = [base]
    out['memory'] = read(base + '/memory.max')
    out['pids'] = read(base + '/pids.max')
print(json.dumps(out))
