# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine's layers (docs/architecture.md), checked by parsing the imports of every file under plugins/.

- Every file of plugins/module_utils belongs to one layer. A file imports only files of lower layers, or files of
  its own layer that the layer lists before it: so imports go one way and there is no cycle.
- In the layer of the engines, an engine's files import only their own module's files (one room per job), with the
  exceptions named in CROSS.
- Nothing under plugins/ imports a file of the collection inside a function (that is how a cycle hides).
- Controller-side code (connection, filter and inventory plugins, plugin_utils) imports only the basics.
- The restore command's engine, which persist installs on a host, is exactly restore.py and its import closure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os

import pytest

from ansible_collections.nsforge.linux.plugins.module_utils import persist

PLUGINS = os.path.normpath(os.path.join(os.path.dirname(__file__), '..', '..', '..', 'plugins'))
PACKAGE = 'ansible_collections.nsforge.linux.plugins.module_utils'

LAYERS = (
    ('basics', ('errors', 'names', 'layout', 'files', 'kernel', 'changes', 'mountinfo', 'idmap', 'linktypes', 'netem', 'rtnl',
                'limits', 'specs', 'bulk', 'mounts', 'timelines', 'timeline_runner')),
    ('handles', ('nodes', 'netlink', 'cgroups', 'systemd', 'nsproc_records', 'timeline_records')),
    ('shared by the engines', ('persist', 'module')),
    ('engines', ('netns_options', 'netns_views', 'netns_read', 'netns_plan', 'netns_limits', 'netns_timeline', 'netns_engine',
                 'uidmap_options', 'uidmap_engine',
                 'nsmount_options', 'nsmount_ops', 'nsmount_plan', 'nsmount_engine',
                 'nsinfo_engine',
                 'nsproc_options', 'nsproc_launch', 'nsproc_engine', 'nsproc_bulk')),
    ('supervisors', ('supervisors',)),
    ('restore', ('restore',)),
)
# an engine's file that reads another engine's view: nsinfo reports the network of a namespace as netns does
CROSS = {('nsinfo_engine', 'netns_views')}
RANK = dict((name, (layer, index)) for layer, (_title, names) in enumerate(LAYERS) for index, name in enumerate(names))
CONTROLLER_SIDE = ('connection', 'filter', 'inventory', 'plugin_utils')


def engine_of(name):
    return name.split('_')[0] if LAYERS[RANK[name][0]][0] == 'engines' else None


def collection_imports(path):
    """(name of the imported module_utils file, line, at the top level) for each import of the collection's files."""
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    top = set(id(node) for node in tree.body)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == PACKAGE:
                names = [alias.name for alias in node.names]
            elif node.module.startswith(PACKAGE + '.'):
                names = [node.module[len(PACKAGE) + 1:].split('.')[0]]
            else:
                continue
        elif isinstance(node, ast.Import):
            names = [alias.name[len(PACKAGE) + 1:].split('.')[0] for alias in node.names if alias.name.startswith(PACKAGE + '.')]
        else:
            continue
        found.extend((name, node.lineno, id(node) in top) for name in names)
    return found


def python_files(folder):
    for root, _dirs, names in os.walk(os.path.join(PLUGINS, folder)):
        for name in sorted(names):
            if name.endswith('.py') and name != '__init__.py':
                yield os.path.join(root, name)


def test_every_engine_file_has_a_layer():
    files = set(os.path.basename(p)[:-3] for p in python_files('module_utils'))
    assert files == set(RANK), 'place a new file in LAYERS (and docs/architecture.md): %s' % sorted(files ^ set(RANK))


@pytest.mark.parametrize('name', sorted(RANK))
def test_imports_go_one_way(name):
    layer, index = RANK[name]
    for imported, line, _top in collection_imports(os.path.join(PLUGINS, 'module_utils', name + '.py')):
        ilayer, iindex = RANK[imported]
        where = '%s.py:%d imports %s' % (name, line, imported)
        assert (ilayer, iindex) < (layer, index), where + ', which is not below it'
        if ilayer == layer and engine_of(name) is not None:
            assert engine_of(imported) == engine_of(name) or (name, imported) in CROSS, where + ', another engine'


@pytest.mark.parametrize('path', [p for folder in ('module_utils', 'modules', 'connection', 'filter', 'inventory',
                                                   'plugin_utils') for p in python_files(folder)])
def test_no_import_inside_a_function(path):
    inside = [(name, line) for name, line, top in collection_imports(path) if not top]
    assert not inside, '%s imports %s inside a function' % (os.path.relpath(path, PLUGINS), inside)


@pytest.mark.parametrize('path', [p for folder in CONTROLLER_SIDE for p in python_files(folder)])
def test_controller_side_imports_only_basics(path):
    for name, line, _top in collection_imports(path):
        assert LAYERS[RANK[name][0]][0] == 'basics', '%s:%d imports %s' % (os.path.relpath(path, PLUGINS), line, name)


def test_the_installed_engine_is_the_restore_closure():
    closure = set()
    queue = ['restore']
    while queue:
        name = queue.pop()
        if name not in closure:
            closure.add(name)
            queue.extend(n for n, _line, _top in collection_imports(os.path.join(PLUGINS, 'module_utils', name + '.py')))
    installed = persist.engine_files()
    assert set(installed) == set(n + '.py' for n in closure)
    for name, data in installed.items():
        with open(os.path.join(PLUGINS, 'module_utils', name), 'rb') as handle:
            assert handle.read() == data
    # what the boot-time command needs, and nothing of the controller or of AnsibleModule
    assert {'netns_engine', 'nsmount_engine', 'uidmap_engine', 'nsproc_launch'} <= closure
    assert 'module' not in closure
