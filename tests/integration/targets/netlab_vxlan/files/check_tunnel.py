"""check_tunnel.py NODE IFNAME LOCAL REMOTE: the node's interface is a vxlan whose socket lives in another namespace
(the host's), with the local and remote underlay addresses given; prints its VNI."""
import json
import subprocess
import sys

node, ifname, local, remote = sys.argv[1:5]
info = json.loads(subprocess.run(['ip', '-n', node, '-d', '-j', 'link', 'show', 'dev', ifname], check=True,
                                 capture_output=True, text=True).stdout)[0]
data = info['linkinfo']['info_data']
problems = []
if info['linkinfo']['info_kind'] != 'vxlan':
    problems.append('kind %s' % info['linkinfo']['info_kind'])
if 'link_netnsid' not in info:
    problems.append('its underlay is the node itself')
if (data.get('local'), data.get('remote'), data.get('port')) != (local, remote, 4789):
    problems.append('local %s remote %s port %s' % (data.get('local'), data.get('remote'), data.get('port')))
if not 1 << 20 <= data['id'] < 1 << 24:
    problems.append('VNI %s outside the default range' % data['id'])
if problems:
    sys.exit('%s:%s: %s' % (node, ifname, '; '.join(problems)))
print('%s:%s vxlan %d %s -> %s' % (node, ifname, data['id'], local, remote))
