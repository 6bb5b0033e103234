# Compare `lsns --json` (util-linux) with the namespaces nsinfo reported.
# Usage: compare_lsns.py LSNS_JSON NSINFO_JSON
# Every namespace lsns lists must be in nsinfo with the same fields; nsinfo may
# list more only when nothing but a bind mount keeps them (nprocs 0, paths set),
# which lsns 2.38 leaves out.  The namespaces the tooling itself runs in
# (nsinfo's `host` ones) gain and lose Ansible's processes between the two
# reads, so their process count is not compared.  Prints a summary; exits 1 on
# any difference.
import json
import sys

with open(sys.argv[1]) as handle:
    lsns = json.load(handle)['namespaces']
with open(sys.argv[2]) as handle:
    nsinfo = json.load(handle)

ours = dict(((n['kind'], n['inode']), n) for n in nsinfo['namespaces'])
theirs = dict(((n['type'], n['ns']), n) for n in lsns)
problems = []


def zero(value):
    return 0 if value is None else value


for key, row in sorted(theirs.items()):
    mine = ours.get(key)
    if mine is None:
        problems.append('%s:[%d] is listed by lsns, not by nsinfo' % key)
        continue
    expected = {
        'pid': row['pid'], 'ppid': row['ppid'], 'command': row['command'], 'uid': row['uid'],
        'owner': row['ons'], 'parent': row['pns'],
        'paths': sorted((row['nsfs'] or '').split('\n')) if row['nsfs'] else [],
    }
    got = {
        'pid': mine['pid'], 'ppid': mine['ppid'], 'command': mine['command'], 'uid': mine['uid'],
        'owner': zero(mine['owner']), 'parent': zero(mine['parent']), 'paths': mine['paths'],
    }
    if key[0] != 'net':
        # lsns 2.38 fills NSFS for network namespaces only
        got['paths'] = expected['paths']
    if not mine['host']:
        expected['nprocs'] = row['nprocs']
        got['nprocs'] = mine['nprocs']
    elif mine['nprocs'] < 1:
        problems.append('%s:[%d] holds the tooling but nsinfo counts %d processes' % (key + (mine['nprocs'],)))
    for field in sorted(expected):
        if expected[field] != got[field]:
            problems.append('%s:[%d] %s: lsns %r, nsinfo %r' % (key + (field, expected[field], got[field])))

extra = sorted(set(ours) - set(theirs))
for key in extra:
    mine = ours[key]
    if mine['nprocs'] != 0 or not mine['paths']:
        problems.append('%s:[%d] is listed by nsinfo only, yet it is not a pinned-only namespace' % key)

print('lsns %d, nsinfo %d, compared %d, pinned-only %d, host %d' % (
    len(theirs), len(ours), len(set(ours) & set(theirs)), len(extra),
    sum(1 for n in nsinfo['namespaces'] if n['host'])))
for line in problems:
    print(line)
sys.exit(1 if problems else 0)
