"""Lint the EXAMPLES of the collection's plugins with ansible-lint (make test's docs-lint stage).

Usage, from the repository root, with .venv/bin on PATH (or run with .venv/bin/python):

    python .ci/lint_examples.py COLLECTIONS_PATH [PLUGIN_FILE ...]

COLLECTIONS_PATH holds the installed collection (ansible_collections/nsforge/linux; make: build/collections): the
examples' syntax check resolves nsforge.linux's modules and filters there.  Without PLUGIN_FILEs, the plugins are
plugins/modules/*.py, plugins/filter/*.py (and a filter's documentation in plugins/filter/*.yml) and
plugins/connection/*.py.

Each plugin's EXAMPLES is read without importing the plugin (the module-level assignment, found with ast), must
parse as YAML and be a list: of plays (a playbook: an item has `hosts` or `import_playbook`), written as it is, or
of tasks, written inside a play (`hosts: all`, `gather_facts: false`, the tasks indented by 4 columns).  The files
go to a temporary folder, and `ansible-lint --offline --nocolor -c .ansible-lint` (the repository's configuration:
the production profile) lints them all at once.  Each finding is printed with the plugin file and the line of that
file it comes from.  Exit status: 0 when every example parses and ansible-lint finds nothing, 1 otherwise, 2 on a
usage error.
"""

import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

PLAYBOOK_KEYS = ('hosts', 'import_playbook', 'ansible.builtin.import_playbook')


class Example:
    """One plugin's EXAMPLES, and where its lines are in the plugin file."""

    def __init__(self, plugin, text, first_line, exact):
        self.plugin = plugin          # path relative to the repository root
        self.text = text
        self.first_line = first_line  # line of the plugin file holding the EXAMPLES string's first line
        self.exact = exact            # False when escapes make the string's lines differ from the file's
        self.header = 0               # lines the written file has before the EXAMPLES' first line
        self.written = None           # the file written for ansible-lint

    def plugin_line(self, written_line):
        """The plugin file's line for a line of the written file (None: a line of the play around the tasks)."""
        line = written_line - self.header
        if line < 1 or line > len(self.text.splitlines()):
            return None
        return self.first_line + line - 1

    def where(self, written_line):
        line = self.plugin_line(written_line) if written_line else None
        if line is None:
            return '%s (EXAMPLES)' % self.plugin
        if not self.exact:
            return '%s (EXAMPLES line %d)' % (self.plugin, line - self.first_line + 1)
        return '%s:%d' % (self.plugin, line)


def read_python_examples(root, relpath):
    """The EXAMPLES of a plugin's Python file, or an error message."""
    path = os.path.join(root, relpath)
    with open(path, encoding='utf-8') as f:
        source = f.read()
    try:
        tree = ast.parse(source, filename=relpath)
    except SyntaxError as e:
        return None, 'not valid Python: %s' % e
    found = None
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == 'EXAMPLES' for t in targets):
            found = node.value
    if found is None:
        return None, 'no module-level EXAMPLES assignment'
    if not (isinstance(found, ast.Constant) and isinstance(found.value, str)):
        return None, 'EXAMPLES (line %d) is not a string literal' % found.lineno
    text = found.value
    exact = len(text.split('\n')) == found.end_lineno - found.lineno + 1
    return Example(relpath, text, found.lineno, exact), None


def read_yaml_examples(root, relpath):
    """The EXAMPLES of a plugin's YAML documentation file (a filter's docs beside its Python file), or None."""
    with open(os.path.join(root, relpath), encoding='utf-8') as f:
        try:
            docs = yaml.safe_load(f)
        except yaml.YAMLError as e:
            return None, 'not valid YAML: %s' % e
    if not isinstance(docs, dict) or 'EXAMPLES' not in docs:
        return None, None
    if not isinstance(docs['EXAMPLES'], str):
        return None, 'EXAMPLES is not a string'
    # Lines of a YAML block scalar: the finding's line in EXAMPLES, not in the file.
    return Example(relpath, docs['EXAMPLES'], 1, False), None


def plugin_files(root):
    found = []
    for folder, suffixes in (('plugins/modules', ('.py',)), ('plugins/filter', ('.py', '.yml', '.yaml')),
                             ('plugins/connection', ('.py',))):
        if not os.path.isdir(os.path.join(root, folder)):
            continue
        for name in sorted(os.listdir(os.path.join(root, folder))):
            if name.endswith(suffixes) and name != '__init__.py':
                found.append('%s/%s' % (folder, name))
    return found


def is_playbook(data):
    return any(isinstance(item, dict) and any(k in item for k in PLAYBOOK_KEYS) for item in data)


def write_example(example, folder, index):
    """Write the file ansible-lint lints; returns an error message when EXAMPLES is not a list of YAML."""
    try:
        data = yaml.safe_load(example.text)
    except yaml.YAMLError as e:
        mark = getattr(e, 'problem_mark', None)
        where = example.where(mark.line + 1) if mark is not None else example.plugin
        # PyYAML's own text gives lines of the EXAMPLES string: say the problem and its context only.
        problem = getattr(e, 'problem', None) or str(e)
        context = getattr(e, 'context', None)
        return '%s: EXAMPLES is not valid YAML: %s%s' % (where, ' '.join(problem.split()), ' (%s)' % context if context else '')
    if not isinstance(data, list) or not data:
        return '%s: EXAMPLES is not a list of tasks or plays (%s)' % (example.plugin, type(data).__name__)
    header = ['---', '# EXAMPLES of %s' % example.plugin]
    lines = example.text.split('\n')
    if is_playbook(data):
        body = lines
    else:
        header += ['- name: EXAMPLES of %s' % example.plugin, '  hosts: all', '  gather_facts: false', '  tasks:']
        body = [('    ' + line) if line.strip() else '' for line in lines]
    example.header = len(header)
    stem = example.plugin.replace('/', '_').rsplit('.', 1)[0]
    example.written = os.path.join(folder, '%02d_%s.yml' % (index, stem))
    with open(example.written, 'w', encoding='utf-8') as f:
        f.write('\n'.join(header + body).rstrip('\n') + '\n')
    return None


def find_ansible_lint():
    beside = os.path.join(os.path.dirname(sys.executable), 'ansible-lint')
    if os.access(beside, os.X_OK):
        return beside
    return shutil.which('ansible-lint')


def finding_line(finding):
    location = finding.get('location', {})
    lines = location.get('lines') or {}
    if 'begin' in lines:
        begin = lines['begin']
        return begin.get('line') if isinstance(begin, dict) else begin
    positions = location.get('positions') or {}
    return (positions.get('begin') or {}).get('line')


def run_ansible_lint(root, collections_path, examples, folder):
    """ansible-lint on the written files; returns (findings as printed lines, error message)."""
    ansible_lint = find_ansible_lint()
    if ansible_lint is None:
        return [], 'ansible-lint not found (run with .venv/bin on PATH)'
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, NO_COLOR='1', ANSIBLE_NOCOLOR='1')
    argv = [ansible_lint, '--offline', '--nocolor', '-c', os.path.join(root, '.ansible-lint'), '-f', 'codeclimate']
    argv += [os.path.relpath(e.written, folder) for e in examples]
    # From the temporary folder: the files are the project, .ansible-lint's exclude_paths (build/) do not hide them.
    proc = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, check=False)
    try:
        findings = json.loads(proc.stdout) if proc.stdout.strip() else []
    except ValueError:
        findings = None
    if findings is None or proc.returncode not in (0, 2):
        return [], 'ansible-lint failed (exit status %d):\n%s%s' % (proc.returncode, proc.stdout, proc.stderr)
    by_file = {os.path.realpath(e.written): e for e in examples}
    printed = []
    for finding in findings:
        path = (finding.get('location') or {}).get('path', '')
        example = by_file.get(os.path.realpath(os.path.join(folder, path)))
        line = finding_line(finding)
        where = example.where(line) if example else '%s:%s' % (path, line)
        text = ' '.join(finding.get('description', '').split())
        details = ' '.join(((finding.get('content') or {}).get('body') or '').split())
        if details:
            text += ' [%s]' % details
        if finding.get('severity') == 'minor':
            text += ' (a warning of ansible-lint)'
        printed.append('%s: %s: %s' % (where, finding.get('check_name', '?'), text))
    if proc.returncode != 0 and not printed:
        return [], 'ansible-lint failed (exit status %d) without findings:\n%s' % (proc.returncode, proc.stderr)
    return printed, None


def main(argv):
    if len(argv) < 2 or argv[1] in ('-h', '--help'):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    root = os.getcwd()
    collections_path = os.path.abspath(argv[1])
    if not os.path.isfile(os.path.join(root, '.ansible-lint')):
        print('%s: no .ansible-lint here: run from the repository root' % root, file=sys.stderr)
        return 2
    if not os.path.isdir(os.path.join(collections_path, 'ansible_collections')):
        print('%s: no ansible_collections folder (make collection installs it)' % collections_path, file=sys.stderr)
        return 2
    plugins = [os.path.relpath(os.path.abspath(p), root) for p in argv[2:]] or plugin_files(root)

    errors = []
    examples = []
    for relpath in plugins:
        reader = read_python_examples if relpath.endswith('.py') else read_yaml_examples
        example, error = reader(root, relpath)
        if error:
            errors.append('%s: %s' % (relpath, error))
        elif example is not None:
            examples.append(example)

    folder = tempfile.mkdtemp(prefix='lint-examples-')
    try:
        written = []
        for index, example in enumerate(examples):
            error = write_example(example, folder, index)
            if error:
                errors.append(error)
            else:
                written.append(example)
        findings = []
        if written:
            findings, error = run_ansible_lint(root, collections_path, written, folder)
            if error:
                errors.append(error)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    for line in errors + findings:
        print(line)
    print('lint_examples: %d plugin files, %d examples linted, %d YAML or read errors, %d ansible-lint findings'
          % (len(plugins), len(written), len(errors), len(findings)))
    return 1 if errors or findings else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
