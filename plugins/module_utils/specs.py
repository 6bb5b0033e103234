# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""The options of every module, declared once: AnsibleModule's keyword arguments (pure data).

Each module builds its AnsibleModule from its function here; the engines validate what these declare; persistence
records a node's options by these keys; the topology planner of the netlab role (controller side) takes a node's
and a service's keys from here. The documentation of each option is in the module's DOCUMENTATION.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nsforge.linux.plugins.module_utils.layout import KIND_NAMES
from ansible_collections.nsforge.linux.plugins.module_utils.netem import DISTRIBUTIONS
from ansible_collections.nsforge.linux.plugins.module_utils.linktypes import MACVLAN_MODES, NAMES as LINK_TYPES

MAP_OPTIONS = dict(inside=dict(type='int', required=True), outside=dict(type='int', required=True),
                   count=dict(type='int', required=True))


# a link's impairment: the keys of netem, values as people write them (netem.normalize reads them)
IMPAIRMENT_SPEC = dict(
    delay=dict(type='str'),
    jitter=dict(type='str'),
    correlation=dict(type='str'),
    distribution=dict(type='str', choices=list(DISTRIBUTIONS)),
    loss=dict(type='str'),
    loss_correlation=dict(type='str'),
    gemodel=dict(type='dict', options=dict(p=dict(type='str', required=True), r=dict(type='str'),
                                           loss_bad=dict(type='str'), loss_good=dict(type='str'))),
    duplicate=dict(type='str'),
    duplicate_correlation=dict(type='str'),
    corrupt=dict(type='str'),
    corrupt_correlation=dict(type='str'),
    reorder=dict(type='str'),
    reorder_correlation=dict(type='str'),
    gap=dict(type='int'),
    rate=dict(type='str'),
    limit=dict(type='int'),
    bandwidth=dict(type='str'),
)


PEER_SPEC = dict(
    name=dict(type='str', required=True),
    netns=dict(type='str'),
    addresses=dict(type='list', elements='str'),
    master=dict(type='str'),
    mtu=dict(type='int'),
    impairment=dict(type='dict', options=IMPAIRMENT_SPEC),
)


LINK_SPEC = dict(
    name=dict(type='str', required=True),
    type=dict(type='str', required=True, choices=list(LINK_TYPES)),
    addresses=dict(type='list', elements='str'),
    mtu=dict(type='int'),
    mac=dict(type='str'),
    state=dict(type='str', default='up', choices=['up', 'down']),
    master=dict(type='str'),
    peer=dict(type='dict', options=PEER_SPEC),
    vlan_id=dict(type='int'),
    link=dict(type='str'),
    mode=dict(type='str', choices=list(MACVLAN_MODES)),
    vni=dict(type='int'),
    remote=dict(type='str'),
    group=dict(type='str'),
    local=dict(type='str'),
    dstport=dict(type='int'),
    underlay=dict(type='str', choices=['node', 'host']),
    impairment=dict(type='dict', options=IMPAIRMENT_SPEC),
)


ROUTE_SPEC = dict(
    dst=dict(type='str', required=True),
    gateway=dict(type='str'),
    dev=dict(type='str'),
    metric=dict(type='int'),
    table=dict(type='int'),
)


def mount_entry_spec():
    """Options of one mount, as nsmount (a node's mounts) and nsproc (a service's mounts) both take them; the
    spellings nsproc took before are aliases (readonly)."""
    return dict(
        dst=dict(type='str', required=True),
        src=dict(type='path'),
        type=dict(type='str', default='bind', choices=['bind', 'tmpfs', 'overlay', 'proc', 'sysfs']),
        ro=dict(type='bool', default=False, aliases=['readonly']),
        recursive=dict(type='bool', default=True),
        size=dict(type='str'),
        mode=dict(type='str'),
        owner=dict(type='str'),
        group=dict(type='str'),
        options=dict(type='str'),
        lower=dict(type='list', elements='path'),
        upper=dict(type='path'),
        work=dict(type='path'),
        state=dict(type='str', default='mounted', choices=['mounted', 'absent']),
        mkdir=dict(type='bool', default=True),
    )


# what a netns result tells of each node: its identity (compact), or with its interfaces and routes (full)
NETNS_FACTS = ('compact', 'full')


def node_spec():
    """Options of one node; used at the top level and in each namespaces entry."""
    return dict(
        name=dict(type='str'),
        state=dict(type='str', choices=['present', 'absent']),
        loopback=dict(type='bool'),
        hostname=dict(type='str'),
        links=dict(type='list', elements='dict', options=LINK_SPEC),
        routes=dict(type='list', elements='dict', options=ROUTE_SPEC),
        sysctl=dict(type='dict'),
        nameservers=dict(type='list', elements='str'),
        search=dict(type='list', elements='str'),
        hosts=dict(type='dict'),
        purge=dict(type='bool'),
        persist=dict(type='bool'),
    )


def bulk_of(node_options, key):
    """The spec of a module that declares one node (node_options(): its options, a new dict each call; key: the option
    naming the node) or, with namespaces, many: each entry takes the node's options, key required, and the task's
    state and purge are the defaults of the entries."""
    spec = node_options()
    spec['state']['default'] = 'present'
    spec['purge']['default'] = False
    entry = node_options()
    entry[key]['required'] = True
    spec['namespaces'] = dict(type='list', elements='dict', options=entry)
    return dict(
        argument_spec=spec,
        mutually_exclusive=[[key, 'namespaces']],
        required_one_of=[[key, 'namespaces']],
        supports_check_mode=True,
    )


# a timeline of faults (netns's task-level option): its steps' times are text with a unit (timelines.parse_duration),
# an impairment or a ramp the keys of a link's impairment as text (netem.normalize names a value at fault)
TIMELINE_STEP_SPEC = {
    'link': dict(type='list', elements='str', required=True),
    'at': dict(type='str'),
    'every': dict(type='str'),
    'for': dict(type='str'),
    'hold': dict(type='str'),
    'state': dict(type='str', choices=['down', 'up']),
    'impairment': dict(type='dict'),
    'ramp': dict(type='dict'),
}

TIMELINE_SPEC = dict(
    name=dict(type='str', required=True),
    state=dict(type='str', default='present', choices=['present', 'absent']),
    steps=dict(type='list', elements='dict', options=TIMELINE_STEP_SPEC),
)


def netns():
    spec = bulk_of(node_spec, 'name')
    spec['argument_spec']['facts'] = dict(type='str', default='compact', choices=list(NETNS_FACTS))
    spec['argument_spec']['timeline'] = dict(type='dict', options=TIMELINE_SPEC)
    return spec


def service_spec():
    """Options of one service; used at the top level and in each services entry."""
    return dict(
        name=dict(type='str'),
        state=dict(type='str', default='started', choices=['started', 'stopped', 'restarted', 'absent']),
        type=dict(type='str', default='service', choices=['service', 'oneshot']),
        command=dict(type='raw'),
        env=dict(type='dict', no_log=True),
        cwd=dict(type='path', default='/'),
        user=dict(type='str'),
        group=dict(type='str'),
        umask=dict(type='str'),
        node=dict(type='str'),
        namespaces=dict(type='dict'),
        hostname=dict(type='str'),
        mount_proc=dict(type='bool'),
        mounts=dict(type='list', elements='dict', options=mount_entry_spec()),
        private=dict(type='list', elements='str'),
        uid_map=dict(type='list', elements='dict', options=MAP_OPTIONS),
        gid_map=dict(type='list', elements='dict', options=MAP_OPTIONS),
        map_root_user=dict(type='bool', default=False),
        allow_host_root=dict(type='bool', default=False),
        init=dict(type='bool'),
        stop_signal=dict(type='str', default='TERM'),
        stop_timeout=dict(type='float', default=10),
        startup_check=dict(type='float', default=0.5),
        timeout=dict(type='float', default=300),
        stdout=dict(type='path'),
        stderr=dict(type='path'),
        limits=dict(type='dict', options=dict(
            memory=dict(type='str'),
            pids=dict(type='int'),
            cpu=dict(type='float'),
        )),
        restart_on_change=dict(type='bool', default=True),
        supervisor=dict(type='str', default='builtin', choices=['builtin', 'systemd']),
        install_only=dict(type='bool', default=False),
    )


def nsproc():
    spec = service_spec()
    entry = service_spec()
    entry['name']['required'] = True
    entry['state'] = dict(type='str', choices=entry['state']['choices'])
    spec['services'] = dict(type='list', elements='dict', options=entry)
    return dict(
        argument_spec=spec,
        mutually_exclusive=[['name', 'services']],
        required_one_of=[['name', 'services']],
        supports_check_mode=True,
    )


_RANGE = dict(start=dict(type='int'), count=dict(type='int', required=True))


def user_ranges_spec():
    """Options of a user's subordinate ranges; used at the top level of uidmap and in each users entry."""
    return dict(
        user=dict(type='str'),
        subuid=dict(type='dict', options=_RANGE),
        subgid=dict(type='dict', options=_RANGE),
        exclusive=dict(type='bool', default=False),
        state=dict(type='str', choices=['present', 'absent']),
    )


def user_ns_spec():
    """Options of a node's user namespace; used at the top level of uidmap and in each namespaces entry."""
    return dict(
        state=dict(type='str', choices=['present', 'absent']),
        namespace=dict(type='str'),
        uid_map=dict(type='list', elements='dict', options=MAP_OPTIONS),
        gid_map=dict(type='list', elements='dict', options=MAP_OPTIONS),
        map_root_user=dict(type='bool', default=False),
        map_user=dict(type='str'),
        allow_host_root=dict(type='bool', default=False),
        recreate=dict(type='bool', default=False),
        persist=dict(type='bool'),
    )


def uidmap():
    spec = user_ranges_spec()
    spec.update(user_ns_spec())
    spec['state']['default'] = 'present'
    users = user_ranges_spec()
    users['user']['required'] = True
    namespaces = user_ns_spec()
    namespaces['namespace']['required'] = True
    spec['users'] = dict(type='list', elements='dict', options=users)
    spec['namespaces'] = dict(type='list', elements='dict', options=namespaces)
    return dict(
        argument_spec=spec,
        required_one_of=[['user', 'namespace', 'users', 'namespaces']],
        mutually_exclusive=[['uid_map', 'map_root_user', 'map_user'], ['user', 'users'], ['namespace', 'namespaces']],
        required_by={'subuid': 'user', 'subgid': 'user'},
        supports_check_mode=True,
    )


def mount_node_spec():
    """Options of a node's mount namespace; used at the top level of nsmount and in each namespaces entry."""
    return dict(
        namespace=dict(type='str'),
        state=dict(type='str', choices=['present', 'absent']),
        propagation=dict(type='str', default='private', choices=['private', 'slave', 'shared', 'unbindable']),
        mounts=dict(type='list', elements='dict', options=mount_entry_spec()),
        private=dict(type='list', elements='str'),
        purge=dict(type='bool'),
        rootfs=dict(type='path'),
        pivot=dict(type='bool', default=True),
        persist=dict(type='bool'),
    )


def nsmount():
    return bulk_of(mount_node_spec, 'namespace')


def nsinfo():
    return dict(
        argument_spec=dict(
            kinds=dict(type='list', elements='str', choices=list(KIND_NAMES)),
            node=dict(type='str'),
            service=dict(type='str'),
            network=dict(type='bool', default=True),
        ),
        mutually_exclusive=[('node', 'service')],
        supports_check_mode=True,
    )


# the options of a node that each node of a netns task declares for itself (not the task's state, purge, persist)
NODE_OPTIONS = tuple(key for key in node_spec() if key not in ('name', 'state', 'purge', 'persist'))
# a service's declaration, whichever supervisor keeps it running
SERVICE_OPTIONS = tuple(key for key in service_spec() if key not in ('supervisor', 'install_only'))
# the options of a node's user namespace (not the subordinate ranges of a user)
USER_OPTIONS = tuple(key for key in user_ns_spec() if key not in ('namespace', 'persist', 'state'))
# the options of a user's subordinate ranges that each entry of a uidmap task's users declares for itself
RANGE_OPTIONS = tuple(key for key in user_ranges_spec() if key != 'state')
# a node's mount namespace as one nsmount task declares it (and its record keeps it, without persist)
MOUNT_NODE_OPTIONS = tuple(mount_node_spec())
# what each entry of an nsmount task's namespaces declares for itself (not the task's state, purge, persist)
MOUNT_ENTRY_OPTIONS = tuple(key for key in MOUNT_NODE_OPTIONS if key not in ('namespace', 'state', 'purge', 'persist'))
