# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""No shell is ever run by the collection: every external program gets an argv list.

The source of every Python file under plugins/ is read as a syntax tree and
searched for the ways a shell gets run: shell=True or use_unsafe_shell=True,
os.system, os.popen, subprocess.getoutput/getstatusoutput, a command line given
as one string to run_command or subprocess, an argv list that starts with a
shell and -c, and a string that holds "sh -c".

One use is allowed, precisely: the nsenter connection plugin's exec_command runs
the command Ansible hands it with the play's shell (ansible_shell_executable,
/bin/sh by default) as [executable, '-c', cmd] after nsenter. Ansible builds its
commands as shell command lines (environment, cd, the module's interpreter), and
every connection plugin must run them so (ansible.builtin.local runs them with
executable -c too); the plugin adds no shell command line of its own.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', 'plugins'))
SHELLS = ('sh', 'bash', 'dash', 'zsh', 'ksh', '/bin/sh', '/bin/bash', '/usr/bin/sh', '/usr/bin/bash', '/bin/dash')
RUNNERS = ('run_command', 'run', 'Popen', 'call', 'check_call', 'check_output')
SHELL_FUNCTIONS = ('system', 'popen', 'getoutput', 'getstatusoutput')
# (file relative to plugins/, enclosing function, what) -> why it is allowed
ALLOWED = {
    ('connection/nsenter.py', 'exec_command', "argv [executable, '-c', ...]"):
        "Ansible's own command, run with the play's shell as every connection plugin must",
}


def _name(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _is_str(node):
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _stringy(node):
    """A command line built as one string: a literal, an f-string, 'a' % b or 'a' + b."""
    if _is_str(node) or isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return _stringy(node.left)
    return False


class Finder(ast.NodeVisitor):
    def __init__(self):
        self.found = []
        self.func = []

    def report(self, what):
        self.found.append((self.func[-1] if self.func else '<module>', what))

    def visit_FunctionDef(self, node):
        self.func.append(node.name)
        self.generic_visit(node)
        self.func.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_keyword(self, node):
        if node.arg in ('shell', 'use_unsafe_shell') and not (isinstance(node.value, ast.Constant) and not node.value.value):
            self.report('%s=%s' % (node.arg, ast.dump(node.value)))
        self.generic_visit(node)

    def visit_Call(self, node):
        name = _name(node.func)
        owner = _name(node.func.value) if isinstance(node.func, ast.Attribute) else None
        if name in SHELL_FUNCTIONS and owner in ('os', 'subprocess', 'commands'):
            self.report('%s.%s()' % (owner, name))
        if name in RUNNERS and node.args and _stringy(node.args[0]) and (name == 'run_command' or owner == 'subprocess'):
            self.report('%s() with a command line string' % name)
        self.generic_visit(node)

    def _sequence(self, node):
        elts = node.elts
        if len(elts) >= 2 and _is_str(elts[1]) and elts[1].value == '-c':
            first = elts[0]
            if _is_str(first) and os.path.basename(first.value) in [os.path.basename(s) for s in SHELLS]:
                self.report("argv ['%s', '-c', ...]" % first.value)
            elif _name(first) in ('executable', 'shell', 'sh'):
                self.report("argv [%s, '-c', ...]" % _name(first))
        self.generic_visit(node)

    visit_List = _sequence
    visit_Tuple = _sequence

    def visit_Constant(self, node):
        if isinstance(node.value, str) and any(s + ' -c' in node.value for s in ('sh', 'bash')) \
                and not node.value.lstrip().startswith(('C(', 'See ')) and '\n' not in node.value:
            self.report('string %r' % node.value[:60])


def findings(source):
    finder = Finder()
    finder.visit(ast.parse(source))
    return finder.found


def plugin_files():
    for dirpath, _dirs, files in os.walk(ROOT):
        for name in sorted(files):
            if name.endswith('.py'):
                yield os.path.join(dirpath, name)


def test_no_shell_in_plugins():
    files = list(plugin_files())
    assert len(files) > 20  # the scan sees the collection
    found = {}
    for path in files:
        with open(path, encoding='utf-8') as handle:
            for func, what in findings(handle.read()):
                found[(os.path.relpath(path, ROOT), func, what)] = path
    unexpected = sorted(set(found) - set(ALLOWED))
    assert not unexpected, 'shell use in plugins/: %s' % unexpected
    # the allowed use is still there, seen by this very scan (so the scan is not blind)
    assert set(ALLOWED) <= set(found)


@pytest.mark.parametrize('source', [
    "import subprocess\nsubprocess.run('ip link', shell=True)",
    "module.run_command('ip link show')",
    "module.run_command(['ip', 'link'], use_unsafe_shell=True)",
    "import os\nos.system('ip link')",
    "import os\nos.popen('ip link')",
    "import subprocess\nsubprocess.check_output('ip -j link %s' % name)",
    "import subprocess\nsubprocess.Popen(f'ip link show {name}')",
    "argv = ['/bin/sh', '-c', cmd]",
    "argv = ('bash', '-c', cmd)",
    "cmd = 'sh -c \"ip link\"'",
    "import subprocess\nsubprocess.getoutput('ip link')",
])
def test_the_scan_finds_shell_use(source):
    assert findings(source)


@pytest.mark.parametrize('source', [
    "module.run_command(['ip', 'link', 'show'])",
    "import subprocess\nsubprocess.run(['ip', '-j', 'link'], check=True, shell=False)",
    "argv = [python, '-c', PROBE]",
])
def test_the_scan_passes_argv_lists(source):
    assert not findings(source)
