# Independent mount table reader for the nsmount integration target: parses
# /proc/self/mountinfo (or the file given as the first argument) of the mount
# namespace this process runs in, and prints it as JSON: one entry per mount
# with id, parent, dst, root, fstype, source, opts (per-mount options), super
# (superblock options), ro and propagation. Not part of the collection.
import json
import re
import sys


def unescape(text):
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), text)


path = sys.argv[1] if len(sys.argv) > 1 else '/proc/self/mountinfo'
out = []
with open(path) as handle:
    for line in handle:
        fields = line.split()
        sep = fields.index('-')
        opts = fields[5].split(',')
        out.append({
            'id': int(fields[0]),
            'parent': int(fields[1]),
            'root': unescape(fields[3]),
            'dst': unescape(fields[4]),
            'opts': opts,
            'ro': 'ro' in opts,
            'propagation': fields[6:sep],
            'fstype': fields[sep + 1],
            'source': unescape(fields[sep + 2]),
            'super': fields[sep + 3].split(',') if len(fields) > sep + 3 else [],
        })
print(json.dumps(out))
