# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private engine file of nsforge.linux: not a public API, may change without notice.
"""netns: the task. Validate (netns_options), lock the nodes, read (netns_read), check the kernel's limits
(netns_limits), plan (netns_plan) with the persistence steps (persist), apply or only report (changes), and answer
with the views (netns_views).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nsforge.linux.plugins.module_utils import bulk, changes, netns_limits, netns_timeline, nodes, persist
from ansible_collections.nsforge.linux.plugins.module_utils.netlink import describe_error
from ansible_collections.nsforge.linux.plugins.module_utils.netns_options import validate
from ansible_collections.nsforge.linux.plugins.module_utils.netns_plan import Planner
from ansible_collections.nsforge.linux.plugins.module_utils.netns_read import Reader
from ansible_collections.nsforge.linux.plugins.module_utils.netns_views import actual_view, facts_of, predicted_view


def converge(params, check_mode, session, diff=True):
    """The whole netns task: validate, read, plan, apply, report. Returns the result dict, with the diff only when
    diff is true, and each node's interfaces and routes only with facts: full (the views of thousands of nodes cost
    more to build, send and register than the work)."""
    decls = validate(params)
    timeline = netns_timeline.prepare(params, decls)
    full = params.get('facts') == 'full'
    names = [d['name'] for d in decls]
    with nodes.locked(names), netns_timeline.locked(timeline):
        reader = Reader(session)
        actual = dict((d['name'], reader.node(d)) for d in decls)
        timelines = netns_timeline.TimelinePlan(timeline, decls)
        planner = Planner(session, decls, actual)
        # the interfaces that running timelines go on driving: the planner leaves their state and impairment alone
        planner.driven = timelines.driven
        netns_limits.check(decls, actual, planner.links_of,
                           'namespaces' if params.get('namespaces') is not None else 'name')
        plan = changes.ordered(planner.plan() + timelines.changes)
        file_diffs = persist.add_to(persist.plan_netns(decls), plan) + timelines.diffs
        before = dict((d['name'], actual_view(actual[d['name']])) for d in decls) if diff else None
        descriptions = changes.run(plan, check_mode, describe_error)
        if check_mode or not plan:
            after_actual = actual
        elif diff or full:
            after_actual = dict((d['name'], Reader(session).node(d)) for d in decls)
        else:
            # compact facts only: the pin and the hostname, without reading every node's network again
            after_actual = dict((name, reader.identity(name)) for name in names)
        node_facts = [facts_of(name, after_actual[name], full) for name in names]
        if diff:
            if not plan:
                after = dict(before)
            elif check_mode:
                after = dict((d['name'], predicted_view(before[d['name']], d, planner.track[d['name']])) for d in decls)
            else:
                after = dict((name, actual_view(after_actual[name])) for name in names)
    result = {
        'changed': bool(plan),
        'changes': descriptions,
    }
    if timeline is not None:
        result['timeline'] = timelines.result()
    if diff:
        result['diff'] = persist.merge_diff({'before': before, 'after': after}, file_diffs)
    removed = dict((n, r) for n, r in planner.removed.items() if any(r.values()))
    if params.get('namespaces') is not None:
        result['nodes'] = node_facts
        result['removed'] = removed
    else:
        result['node'] = node_facts[0]
        result['removed'] = removed.get(names[0], {'interfaces': [], 'files': [], 'handles': []})
    return result


# the result's invocation: the nodes of namespaces by name
echoed_args = bulk.echoed({'namespaces': 'name'})
