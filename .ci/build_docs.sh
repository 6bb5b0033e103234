#!/usr/bin/env bash
# Build the HTML documentation site of nsforge.linux (make docs).
#
# Usage: .ci/build_docs.sh VENV COLLECTIONS_PATH DEST
#   VENV              virtual environment of the documentation tools.  Created when missing, with the Python of this
#                     checkout's .venv (.ci/../.venv/bin/python; DOCS_PYTHON=/path/to/python3.12 chooses another);
#                     docs/requirements-docs.txt is installed into it whenever that file differs from the copy
#                     kept in VENV/.requirements-docs.txt after the last install.
#   COLLECTIONS_PATH  where nsforge.linux is installed (ANSIBLE_COLLECTIONS_PATH; make: build/collections).  The
#                     module, role, connection and filter pages come from the installed collection's documentation.
#   DEST              output folder: DEST/html the site (DEST/html/index.html), DEST/src the Sphinx source tree
#                     (antsibull-docs sphinx-init's conf.py and antsibull-docs' RST, plus the guides),
#                     DEST/doctrees, DEST/warnings.log.  Those four are made anew on every run.
#
# The guides are the Markdown files docs/*.md of this checkout: they are copied to DEST/src/rst/guides/, rendered by
# myst-parser and listed under "Guides" on the index page, in the order README.md's tables link them (the others
# after them, by name).  Links between guides (labs.md, fleets.md#anchor) become links between their pages; links
# that leave docs/ (../playbooks/lab.yml, ../README.md#quick-start) become plain text.
#
# No intersphinx: other projects' inventories (docs.ansible.com, Python) cannot be fetched here, so references to
# other projects' pages (ansible.builtin modules, community.general, Ansible's own guides and settings) stay plain
# text and Sphinx warns about each.  Those warnings are counted and allowed; any other warning or error of the build
# (a broken link between guides, bad markup, a missing page) makes the script fail, as does a documentation error
# that antsibull-docs finds (--fail-on-error).
set -euo pipefail

usage() {
  echo "usage: $0 VENV COLLECTIONS_PATH DEST" >&2
  exit 2
}
[ "$#" -eq 3 ] || usage

ROOT=$(cd -- "$(dirname -- "$0")/.." && pwd)
COLLECTION=nsforge.linux
PYTHON=${DOCS_PYTHON:-$ROOT/.venv/bin/python}
REQUIREMENTS=$ROOT/docs/requirements-docs.txt

VENV=$(realpath -m -- "$1")
COLLECTIONS_PATH=$(realpath -m -- "$2")
mkdir -p -- "$3"
DEST=$(cd -- "$3" && pwd)
SRC=$DEST/src
RST=$SRC/rst
WARNINGS=$DEST/warnings.log

if [ ! -d "$COLLECTIONS_PATH/ansible_collections/nsforge/linux" ]; then
  echo "$COLLECTIONS_PATH/ansible_collections/nsforge/linux: no such folder (install the collection: make collection)" >&2
  exit 1
fi

# ---------------------------------------------------------------- the tools
if [ ! -x "$VENV/bin/python" ]; then
  if [ ! -x "$PYTHON" ]; then
    echo "$PYTHON: no such Python (make venv, or DOCS_PYTHON=/path/to/python3.12)" >&2
    exit 1
  fi
  echo "--- docs: creating $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV"
fi
if ! cmp -s "$REQUIREMENTS" "$VENV/.requirements-docs.txt"; then
  echo "--- docs: installing docs/requirements-docs.txt into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  cp -- "$REQUIREMENTS" "$VENV/.requirements-docs.txt"
fi
# antsibull-docs runs the ansible-doc it finds on PATH: the one of VENV.
export PATH="$VENV/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_PATH"
export ANSIBLE_NOCOLOR=1

# ---------------------------------------------------------------- the Sphinx source tree
rm -rf -- "$SRC" "$DEST/html" "$DEST/doctrees" "$WARNINGS"
mkdir -p -- "$SRC"
antsibull-docs sphinx-init --use-current --squash-hierarchy --fail-on-error --dest-dir "$SRC" \
  --project "$COLLECTION" --title "$COLLECTION documentation" --copyright "nsforge developers" \
  "$COLLECTION" >/dev/null
mkdir -p -- "$RST"
chmod og-w "$RST"  # antsibull-docs wants that folder writable only by its owner
echo "--- docs: plugin and role pages (antsibull-docs collection)"
antsibull-docs --config-file "$SRC/antsibull-docs.cfg" collection --cleanup everything --fail-on-error \
  --use-current --squash-hierarchy --dest-dir "$RST" "$COLLECTION"

# The guides: README.md's tables first (the Guides table lists them in reading order), then the rest by name.
mkdir -p -- "$RST/guides"
guides=()
while IFS= read -r name; do
  if [ -f "$ROOT/docs/$name.md" ]; then guides+=("$name"); fi
done < <(grep -E '^[[:space:]]*\|' "$ROOT/README.md" | grep -oE '\]\(docs/[A-Za-z0-9_.-]+\.md' \
           | sed -E 's|^\]\(docs/||; s|\.md$||' | awk '!seen[$0]++')
for path in "$ROOT"/docs/*.md; do
  name=$(basename -- "$path" .md)
  listed=0
  for g in "${guides[@]}"; do
    if [ "$g" = "$name" ]; then listed=1; fi
  done
  if [ "$listed" -eq 0 ]; then guides+=("$name"); fi
done
if [ "${#guides[@]}" -eq 0 ]; then
  echo "no guides found in $ROOT/docs" >&2
  exit 1
fi
cp -- "$ROOT"/docs/*.md "$RST/guides/"
{
  printf '\n\n.. _guides_in_nsforge.linux:\n\nGuides\n------\n\n.. toctree::\n    :maxdepth: 1\n\n'
  printf '    guides/%s\n' "${guides[@]}"
} >>"$RST/index.rst"

cat >>"$SRC/conf.py" <<'EOF'

# ---- added by .ci/build_docs.sh
# The guides (docs/*.md, copied to rst/guides/) are Markdown, rendered by MyST.  Headings get GitHub's anchors, so
# links such as labs.md#labs-that-span-hosts work as they do on a forge.
extensions.append('myst_parser')
source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
myst_heading_anchors = 6

# Other projects' inventories cannot be fetched here: no intersphinx, references to their pages stay plain text.
intersphinx_mapping = {}


def _links_out_of_the_guides_as_text(app, doctree):
    """A guide's link that leaves docs/ (../playbooks/lab.yml) points at no page of the site: keep its text."""
    from sphinx import addnodes
    for node in list(doctree.findall(addnodes.pending_xref)):
        if node.get('reftype') == 'myst' and node.get('reftarget', '').startswith('../'):
            node.replace_self(node.children)


def setup(app):
    app.connect('doctree-read', _links_out_of_the_guides_as_text)
EOF

# ---------------------------------------------------------------- the build
echo "--- docs: sphinx-build (${#guides[@]} guides)"
rc=0
sphinx-build -M html "$RST" "$DEST" -q -c "$SRC" -w "$WARNINGS" || rc=$?
touch -- "$WARNINGS"
if [ "$rc" -ne 0 ]; then
  echo "docs: sphinx-build failed (exit status $rc)" >&2
  exit "$rc"
fi

# Each warning or error is one line with "WARNING:", "ERROR:" or "CRITICAL:" (some have more lines after it).
# Allowed: a reference to another project's page (a label outside this collection, an environment variable of
# ansible-core) and an inventory that could not be fetched.
marker='(WARNING|ERROR|CRITICAL|SEVERE):'
foreign="WARNING: (undefined label: '[^']*' \[ref\.ref\]|'envvar' reference target not found: [A-Za-z0-9_]+ \[ref\.envvar\]|failed to reach any of the inventories|.*intersphinx inventory)"
total=$(grep -cE "$marker" "$WARNINGS" || true)
others=$(grep -E "$marker" "$WARNINGS" | grep -vE "$foreign" || true)
# ...but an undefined label of this collection's own pages is not another project's.
others+=$'\n'$(grep -E "$marker" "$WARNINGS" | grep -E "$foreign" | grep -E "undefined label: '[^']*nsforge\.linux" || true)
others=$(printf '%s\n' "$others" | sed '/^$/d')
bad=0
if [ -n "$others" ]; then bad=$(printf '%s\n' "$others" | wc -l); fi
echo "--- docs: $total warnings ($((total - bad)) from references to other projects' documentation, left as plain text;" \
  "$bad others): $WARNINGS"
if [ "$bad" -ne 0 ]; then
  echo "docs: the build has warnings or errors of its own:" >&2
  printf '%s\n' "$others" >&2
  exit 1
fi
echo "--- docs: $DEST/html/index.html"
