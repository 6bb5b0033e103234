# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the netlab picture: every interface written once, in its own box, and no text drawn over another.

The structure is checked on the Graphviz source; with Graphviz's dot installed, the SVG that the role would draw is
rendered and the boxes of its texts (estimated from their position, anchor and font size) must not overlap, for the
default lab, a lab of 50 nodes on four bridges with point-to-point links, and a lab across two hosts; and for labs
whose links are impaired (the only edges with words): the WAN example, the 50 nodes with a default impairment on every
link and others of their own, and the chain of nodes on one bridge with impaired links between them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
import yaml

from ansible_collections.nsforge.linux.plugins.plugin_utils.netlab import plan

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_LAB = os.path.join(HERE, '..', '..', '..', '..', 'playbooks', 'topologies', 'default.yml')
WAN_LAB = os.path.join(HERE, '..', '..', '..', '..', 'playbooks', 'topologies', 'wan.yml')
QUOTED = r'("(?:[^"\\]|\\.)*")'
BOX_RE = re.compile(r'^  %s \[label=<(.*)>\];$' % QUOTED)
ROW_RE = re.compile(r'<TD PORT="(i\d+)" ALIGN="LEFT">([^<]*)</TD>')
EDGE_RE = re.compile(r'^  %s(?::(i\d+))?(?::e)? -- %s(?::(i\d+))?(?::e)?(?: \[(.*)\])?;$' % (QUOTED, QUOTED))


def default_lab():
    with open(DEFAULT_LAB) as handle:
        topology = yaml.safe_load(handle)
    topology['nat'] = {'bridge': 'lan', 'ports': [{'node': 'web-a', 'port': 80, 'host_port': 8080}]}
    return topology, None


def fifty_nodes():
    """Four bridges of ten hosts and a gateway each, two core routers joined to every gateway, and a few more."""
    nodes, links = [], []
    for b in range(4):
        nodes.append({'name': 'gw%d' % b})
        links.append(['gw%d:eth0' % b, 'lan%d' % b])
        for h in range(10):
            node = {'name': 'h%d%d' % (b, h)}
            if h == 0:
                node['services'] = [{'name': 'h%d0-http' % b, 'command': ['sleep', 'infinity']}]
            nodes.append(node)
            links.append(['h%d%d:eth0' % (b, h), 'lan%d' % b])
    nodes.append({'name': 'h00-sidecar', 'network_mode': 'container:h00'})
    for c in range(2):
        nodes.append({'name': 'core%d' % c})
        links += [['core%d:eth%d' % (c, b + 1), 'gw%d:eth%d' % (b, c + 1)] for b in range(4)]
    links.append({'endpoints': ['core0:eth0', 'core1:eth0'], 'mtu': 9000})
    nodes += [{'name': 'mon', 'hostname': 'monitor'}, {'name': 'dns'}, {'name': 'a-node-with-a-long-name'}]
    links += [['mon:eth0', 'core0:eth9'], ['dns:eth0', 'core1:eth9'], ['a-node-with-a-long-name:eth0', 'lan3']]
    topology = {'name': 'fifty', 'addressing': {'ipv4': '10.240.0.0/16', 'ipv6': 'fd42:240::/48'},
                'bridges': [{'name': 'lan%d' % b} for b in range(4)], 'nodes': nodes, 'links': links,
                'nat': {'bridge': 'lan0', 'ports': [{'node': 'h00', 'port': 80, 'host_port': 8080}]}}
    assert len(nodes) == 50
    return topology, None


def chain():
    """The lab of the netlab_scale test: 50 nodes on one bridge, and a chain of point-to-point links through them."""
    links = [['n%02d:eth0' % i, 'scale-lan'] for i in range(50)]
    links += [['n%02d:eth2' % i, 'n%02d:eth1' % (i + 1)] for i in range(49)]
    return {'name': 'scale', 'addressing': {'ipv4': '10.238.0.0/16', 'ipv6': 'fd42:238::/48'},
            'bridges': [{'name': 'scale-lan'}], 'nodes': [{'name': 'n%02d' % i} for i in range(50)],
            'links': links}, None


def two_hosts():
    return {'name': 'x', 'addressing': {'ipv4': '10.237.0.0/16'},
            'hosts': {'h1': {'underlay': '10.236.0.11'}, 'h3': {'underlay': '10.236.0.13'}},
            'bridges': [{'name': 'lan', 'host': 'h3'}],
            'nodes': [{'name': 'a', 'host': 'h1'}, {'name': 'c', 'host': 'h3'}, {'name': 'd', 'host': 'h3'},
                      {'name': 'e', 'host': 'h1'}],
            'links': [['a:eth1', 'c:eth1'], ['a:eth2', 'lan'], ['d:eth0', 'lan'], ['a:eth3', 'e:eth0']]}, 'h1'


LABS = {'default': default_lab, 'fifty': fifty_nodes, 'chain': chain, 'two_hosts': two_hosts}


def wan():
    with open(WAN_LAB) as handle:
        return yaml.safe_load(handle), None


def fifty_impaired():
    """Every link 1ms each way, a core link and a bridge port with their own, one end of a link with another."""
    topology, host = fifty_nodes()
    topology['defaults'] = {'impairment': {'delay': '1ms'}}
    topology['links'][-1] = {'endpoints': [{'node': 'a-node-with-a-long-name', 'interface': 'eth0',
                                            'impairment': {'delay': '40ms', 'jitter': '5ms', 'loss': '1%'}}, 'lan3']}
    topology['links'][-4]['impairment'] = {'bandwidth': '100mbit', 'loss': '0.5%'}
    topology['links'][5] = ['h%d%d:eth0' % (0, 4), {'node': 'lan0', 'impairment': {'rate': '1mbit'}}]
    return topology, host


def chain_impaired():
    """The chain's links between nodes of one bridge (edges that rank nothing) all impaired, two of them otherwise."""
    topology, host = chain()
    topology['defaults'] = {'impairment': {'delay': '1ms', 'loss': '0.1%'}}
    topology['links'][60] = {'endpoints': topology['links'][60], 'impairment': {'delay': '5ms'}}
    topology['links'][61] = {'endpoints': [{'node': 'n11', 'interface': 'eth2', 'impairment': {}}, 'n12:eth1']}
    return topology, host


IMPAIRED = {'wan': wan, 'fifty_impaired': fifty_impaired, 'chain_impaired': chain_impaired}


def parse(source):
    """The boxes (name: [(port, row text)]) and edges ((name, port, name, port, attributes)) of a picture."""
    boxes, edges = {}, []
    for line in source.splitlines():
        box = BOX_RE.match(line)
        edge = EDGE_RE.match(line)
        if box:
            boxes[box.group(1)] = ROW_RE.findall(box.group(2))
        elif edge:
            edges.append(edge.groups())
    return boxes, edges


def expected_interfaces(result):
    """Each planned namespace's interfaces as the netns declaration has them (veth peers included), less br0."""
    out = dict(('"%s"' % entry['name'], []) for entry in result['namespaces'])
    for entry in result['namespaces']:
        for lk in entry['links']:
            if lk['name'] != 'br0':
                out['"%s"' % entry['name']].append(lk['name'])
            if lk.get('peer', {}).get('netns'):
                out['"%s"' % lk['peer']['netns']].append(lk['peer']['name'])
    return dict((name, sorted(ifnames)) for name, ifnames in out.items())


def impaired_ends(result):
    """The (box, interface) pairs of the plan that send with an impairment."""
    out = set()
    for entry in result['namespaces']:
        for lk in entry['links']:
            if lk.get('impairment'):
                out.add(('"%s"' % entry['name'], lk['name']))
            if lk.get('peer', {}).get('impairment'):
                out.add(('"%s"' % lk['peer']['netns'], lk['peer']['name']))
    return out


@pytest.mark.parametrize('lab', sorted(LABS) + sorted(IMPAIRED))
def test_each_interface_is_one_row_of_its_own_box_and_edges_carry_no_labels(lab):
    topology, host = dict(LABS, **IMPAIRED)[lab]()
    result = plan(topology, host=host)
    boxes, edges = parse(result['dot'])
    wanted = expected_interfaces(result)
    for name, rows in boxes.items():
        ifnames = [text.split()[0] for _port, text in rows]
        assert len(ifnames) == len(set(ifnames)), '%s lists an interface twice: %s' % (name, ifnames)
        if name in wanted:
            assert sorted(ifnames) == wanted[name], name
    assert set(wanted) <= set(boxes)
    # no edge has a text of its own (nothing to stack where many links meet a bridge), but an impaired link's
    ifname = dict(((name, port), text.split()[0]) for name, rows in boxes.items() for port, text in rows)
    impaired = impaired_ends(result)
    labelled = [e for e in edges if e[4] and 'label=' in e[4]]
    assert sorted(labelled) == sorted(e for e in edges if e[1] and e[3] and (
        (e[0], ifname[(e[0], e[1])]) in impaired or (e[2], ifname[(e[2], e[3])]) in impaired))
    assert bool(labelled) == (lab in IMPAIRED)
    # each link joins two rows, and each row has one link
    ends = [(e[0], e[1]) for e in edges if e[1]] + [(e[2], e[3]) for e in edges if e[3]]
    assert len(ends) == len(set(ends))
    assert sorted(ends) == sorted((name, port) for name, rows in boxes.items() for port, _text in rows)


def test_nodes_on_one_bridge_stay_in_one_column():
    """A link between two nodes of one bridge does not rank one after the other: 50 of them are not 50 columns."""
    source = plan(chain()[0])['dot']
    assert '  "n00":i1:e -- "n01":i1:e [constraint=false];' in source
    assert '  "n00":i0 -- "scale-lan":i0;' in source
    boxes, edges = parse(plan(fifty_nodes()[0])['dot'])
    assert ('"core0"', 'i0', '"gw0"', 'i1', None) in edges


def test_pods_nat_and_tunnels_are_drawn():
    topology, _host = default_lab()
    boxes, edges = parse(plan(topology)['dot'])
    assert ('"web-a"', None, '"web-a-sidecar"', None, 'style=dashed, color="#999999"') in edges
    assert boxes['" host"'] == [('i0', 'nsf-default  10.231.0.1/24  fd42:231::1/64')]
    assert ('" host"', 'i0', '"lan"', 'i4', None) in edges and boxes['"lan"'][4] == ('i4', 'nat0')
    topology, host = two_hosts()
    source = plan(topology, host=host)['dot']
    boxes, edges = parse(source)
    tunnel = [text for port, text in boxes['"a"'] if text.startswith('eth1 ')][0]
    assert re.match(r'eth1  10\.237\.1\.1/30  vxlan \d+ to h3\Z', tunnel)
    assert [e for e in edges if e[0] == '"a"' and e[2] == '"c"'][0][4] == 'style=dashed, color="#3060c0"'
    assert 'on h3' in source


def text_boxes(svg):
    """(text, left, top, right, bottom) of each text of an SVG, estimated from its anchor and font size."""
    out = []
    for elem in ET.fromstring(svg).iter('{http://www.w3.org/2000/svg}text'):
        size = float(elem.get('font-size', '14'))
        x, y = float(elem.get('x')), float(elem.get('y'))
        text = ''.join(elem.itertext())
        width = len(text) * size * 0.5
        left = {'start': x, 'middle': x - width / 2, 'end': x - width}[elem.get('text-anchor', 'start')]
        out.append((text, left, y - size * 0.75, left + width, y + size * 0.15))
    return out


def overlapping(svg):
    boxes = text_boxes(svg)
    return [(p[0], q[0]) for i, p in enumerate(boxes) for q in boxes[i + 1:]
            if p[1] < q[3] and q[1] < p[3] and p[2] < q[4] and q[2] < p[4]]


def test_overlap_check_finds_stacked_texts():
    svg = ('<svg xmlns="http://www.w3.org/2000/svg">'
           '<text text-anchor="middle" x="100" y="50" font-size="9.00">eth0 10.231.0.2/24</text>'
           '<text text-anchor="start" x="90" y="53" font-size="9.00">eth0 10.231.0.5/24</text>'
           '<text text-anchor="start" x="90" y="80" font-size="9.00">eth0 10.231.0.6/24</text></svg>')
    assert overlapping(svg) == [('eth0 10.231.0.2/24', 'eth0 10.231.0.5/24')]


@pytest.mark.skipif(shutil.which('dot') is None, reason="Graphviz's dot is not installed")
@pytest.mark.parametrize('lab', sorted(LABS) + sorted(IMPAIRED))
def test_rendered_picture_has_no_text_over_another(lab):
    topology, host = dict(LABS, **IMPAIRED)[lab]()
    svg = subprocess.run(['dot', '-Tsvg'], input=plan(topology, host=host)['dot'].encode('utf-8'),
                         stdout=subprocess.PIPE, check=True).stdout
    texts = text_boxes(svg)
    assert len(texts) > 10
    assert overlapping(svg) == []
