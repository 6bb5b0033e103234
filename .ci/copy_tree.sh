#!/usr/bin/env bash
# Copy the collection's files (tracked by git, plus untracked files that are
# not ignored) into DEST, replacing whatever was there.  Used to build the
# ansible_collections/<namespace>/<name>/ tree that ansible-test and pytest need.
# DEST should be a directory that is not tracked (e.g. under the ignored build/).
# Usage: .ci/copy_tree.sh DEST
set -euo pipefail

dest=${1:?usage: $0 DEST}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

rm -rf "$dest"
mkdir -p "$dest"

# `git ls-files` still lists tracked files deleted from the work tree: skip those.
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' path; do
      if [ -e "$path" ] || [ -L "$path" ]; then printf '%s\0' "$path"; fi
    done \
  | tar --null --no-recursion -T - -cf - \
  | tar -xf - -C "$dest"

# Make the copy its own git work tree (nothing committed).  ansible-test walks up
# from the collection root to the nearest .git and asks `git ls-files` for its
# targets; without this it would reach the checkout, where build/ is ignored,
# and skip every target.  Its .gitignore also hides tests/output/ from it.
git -C "$dest" init --quiet
