#!/usr/bin/env bash
# Galaxy's path: what a user who installs nsforge.linux from Galaxy does, from the collection tarball alone.
#
#   1. the tarball's content: nothing for developers only (tests, benchmarks, Molecule scenarios, CI, changelog
#      fragments, build leftovers, caches, topology pictures), and what a user needs is there;
#   2. a fresh virtual environment WORK_DIR/venv (Python 3.12) with nothing but the newest ansible-core and pyroute2
#      (the modules' library, needed on the managed host: this machine);
#   3. `ansible-galaxy collection install TARBALL -p WORK_DIR/collections` into that empty folder, and `ansible-doc`
#      lists the five modules with ANSIBLE_COLLECTIONS_PATH set to that folder only;
#   4. in ONE throwaway sandbox (tests/sandbox.sh; tests/galaxy/in_sandbox.sh): the playbook nsforge.linux.lab
#      deploys the default lab (checked with ip), runs again with changed=0, and nsforge.linux.destroy removes it.
#
# Every Ansible command runs in a clean environment (env -i): PATH with the venv's bin first, HOME=WORK_DIR/home (no
# ~/.ansible.cfg, no ~/.ansible/collections), ANSIBLE_COLLECTIONS_PATH=WORK_DIR/collections, in WORK_DIR (no
# ansible.cfg of the checkout). One line per step with its duration; the first failure stops the run (exit 1).
# The managed host needs tini, nft (nftables), dot (graphviz), sysctl (procps), ip (iproute2), nsenter and findmnt
# (util-linux): `make tools` installs them.
#
# Usage: tests/galaxy/run.sh TARBALL WORK_DIR      (WORK_DIR: absent or empty; it is kept for a look afterwards)
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 TARBALL WORK_DIR" >&2
  exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
sandbox=$(cd "$(dirname "$0")/.." && pwd)/sandbox.sh
galaxy_label=galaxy
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

if [ ! -f "$1" ]; then
  echo "$0: no tarball at $1 (make collection builds build/dist/nsforge-linux-*.tar.gz)" >&2
  exit 2
fi
tarball=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
mkdir -p "$2"
work=$(cd "$2" && pwd)
if [ -n "$(ls -A "$work")" ]; then
  echo "$0: $work is not empty: give an empty (or absent) folder, the environment must be fresh" >&2
  exit 2
fi

venv=$work/venv
collections=$work/collections
installed=$collections/ansible_collections/nsforge/linux
inventory=$work/inventory.ini
modules=(netns nsproc uidmap nsmount nsinfo)
mkdir -p "$work/home" "$collections"

# What Ansible runs with: nothing of the caller's environment or of this checkout.
clean_env=(env -i
  "HOME=$work/home"
  "PATH=$venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  "LANG=C.UTF-8"
  "ANSIBLE_COLLECTIONS_PATH=$collections"
  "ANSIBLE_NOCOLOR=1"
  # Python's bytecode caches of the controller's plugins (__pycache__ under plugins/filter...) would show in
  # `ansible-galaxy collection verify` as modified content of any collection: the check is on what the plays write.
  "PYTHONDONTWRITEBYTECODE=1"
)

make_venv() {
  local python
  python=$("$root/.ci/find_python.sh" 3.12) || fail "no Python 3.12 found (.ci/find_python.sh 3.12)"
  echo "$python ($("$python" --version 2>&1))"
  "$python" -m venv "$venv"
}

install_packages() {
  local pyroute2
  pyroute2=$("$root/.ci/requirement.sh" pyroute2)
  # pip keeps the caller's environment and configuration (index, certificates); PYTHONPATH would leak the checkout.
  env -u PYTHONPATH -u PYTHONHOME "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    ansible-core "$pyroute2"
  "${clean_env[@]}" "$venv/bin/python" -m pip list --disable-pip-version-check --format=freeze \
    | grep -iE '^(ansible-core|pyroute2)==' | tr '\n' ' '
  echo
  # No collection comes from the venv's own path (ANSIBLE_COLLECTIONS_SCAN_SYS_PATH looks there).
  if "${clean_env[@]}" "$venv/bin/python" -c \
      'import importlib.util, sys; sys.exit(importlib.util.find_spec("ansible_collections") is None)'; then
    fail "the virtual environment's Python finds a package ansible_collections: it must find none"
  fi
}

check_tarball() {
  local listing=$work/tarball.txt bad=() path kind
  local -A kinds=()
  tar -tzf "$tarball" > "$listing.raw" || fail "tar cannot list $tarball"
  sed 's|^\./||' "$listing.raw" > "$listing"
  echo "$(grep -cv '/$' "$listing") files, $(stat -c %s "$tarball") bytes: $tarball"
  while IFS= read -r path; do
    case /$path in
      /tests/* | /bench/* | /extensions/* | /.ci/* | /build/* | /.venv/* | /.ansible/*) kind=${path%%/*}/ ;;
      /changelogs/fragments/*) kind=changelogs/fragments/ ;;
      */.hypothesis/* | */.pytest_cache/* | */__pycache__/*) kind="caches (.hypothesis .pytest_cache __pycache__)" ;;
      */Makefile) kind=Makefile ;;
      *.dot | *.svg | *.png) kind="pictures (*.dot *.svg *.png)" ;;
      *.tar.gz) kind="tarballs" ;;
      *) continue ;;
    esac
    bad+=("$path")
    kinds[$kind]=1
  done < "$listing"
  if [ "${#bad[@]}" -gt 0 ]; then
    printf '  not for users: %s\n' "${bad[@]:0:40}" >&2
    [ "${#bad[@]}" -le 40 ] || echo "  ... and $(( ${#bad[@]} - 40 )) more (all entries: $listing)" >&2
    fail "the tarball holds ${#bad[@]} entries that galaxy.yml's build_ignore should leave out:" \
      "$(printf '%s\n' "${!kinds[@]}" | sort | paste -s -d ',' | sed 's/,/, /g')"
  fi
  for path in plugins/modules/netns.py roles/netlab/tasks/main.yml playbooks/lab.yml meta/runtime.yml; do
    grep -qxF "$path" "$listing" || fail "the tarball lacks $path"
  done
}

install_collection() {
  (cd "$work" && "${clean_env[@]}" ansible-galaxy collection install "$tarball" -p "$collections")
  [ -f "$installed/MANIFEST.json" ] || fail "no $installed/MANIFEST.json after ansible-galaxy collection install"
  (cd "$work" && "${clean_env[@]}" ansible-galaxy collection list nsforge.linux)
}

list_modules() {
  local listing=$work/ansible-doc.txt name missing=()
  (cd "$work" && "${clean_env[@]}" ansible-doc -l nsforge.linux) > "$listing"
  cat "$listing"
  for name in "${modules[@]}"; do
    grep -qE "^nsforge\.linux\.$name( |$)" "$listing" || missing+=("nsforge.linux.$name")
  done
  [ "${#missing[@]}" -eq 0 ] || fail "ansible-doc -l nsforge.linux does not list ${missing[*]}"
  # The documentation comes from the installed tarball, not from anywhere else.
  (cd "$work" && "${clean_env[@]}" ansible-doc --json nsforge.linux.netns) \
    | "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["nsforge.linux.netns"]["doc"]["filename"])' \
    > "$work/netns-doc-path.txt"
  case $(cat "$work/netns-doc-path.txt") in
    "$installed"/plugins/modules/netns.py) ;;
    *) fail "ansible-doc reads nsforge.linux.netns from $(cat "$work/netns-doc-path.txt"), not from $installed" ;;
  esac
}

write_inventory() {
  printf '%s\n' "localhost ansible_connection=local ansible_python_interpreter=$venv/bin/python" > "$inventory"
  cat "$inventory"
}

in_sandbox() {
  (cd "$work" && "${clean_env[@]}" "$sandbox" "$here/in_sandbox.sh" "$work")
}

echo "=== galaxy: $tarball in $work"
step "tarball content" check_tarball
step "venv (Python 3.12)" make_venv
step "pip install ansible-core pyroute2" install_packages
step "ansible-galaxy collection install" install_collection
step "ansible-doc -l nsforge.linux" list_modules
step "inventory" write_inventory
step "sandbox: deploy, check, again, destroy" in_sandbox
summary
