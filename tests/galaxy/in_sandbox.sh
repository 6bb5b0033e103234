#!/usr/bin/env bash
# The steps of tests/galaxy/run.sh that create namespaces, links, mounts and processes; they run inside ONE
# throwaway sandbox (tests/sandbox.sh), which takes the lab with it when it ends:
#   1. ansible-playbook nsforge.linux.lab (the installed collection's playbooks/lab.yml) deploys the default lab,
#      with -e lab_graph_dir=WORK_DIR/pictures (where its picture goes);
#   2. tools independent of the modules see it: `ip netns list` shows web-a, web-b, tenant, vault and lan, and web-b
#      fetches http://<web-a's address>/ (web-a answers with its hostname); the picture is in WORK_DIR/pictures;
#   3. the same playbook again, without lab_graph_dir, changes nothing (changed=0 in the recap);
#   4. ansible-playbook nsforge.linux.destroy removes it: `ip netns list` is empty;
#   5. `ansible-galaxy collection verify --offline`: the plays wrote nothing into the installed collection.
# Each playbook's output goes to WORK_DIR/<step>.log (its recap is shown; on failure, its last lines).
#
# Usage (run.sh does this): PATH=WORK_DIR/venv/bin:... ANSIBLE_COLLECTIONS_PATH=WORK_DIR/collections \
#   tests/sandbox.sh tests/galaxy/in_sandbox.sh WORK_DIR         (WORK_DIR/inventory.ini: the managed host)
set -euo pipefail

if [ "$#" -ne 1 ]; then
  echo "usage: tests/sandbox.sh $0 WORK_DIR" >&2
  exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
galaxy_label="galaxy (sandbox)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

work=$(cd "$1" && pwd)
venv=$work/venv
collections=$work/collections
installed=$collections/ansible_collections/nsforge/linux
inventory=$work/inventory.ini
lab_nodes=(web-a web-b tenant vault lan)
fetch='import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode().strip())'

check_setting() {
  # tests/sandbox.sh names its UTS namespace so: never create the lab on the machine itself.
  [ "$(hostname)" = nsforge-sandbox ] || fail "not inside tests/sandbox.sh (hostname $(hostname)): refusing to run"
  [ -z "$(ip netns list)" ] || fail "the sandbox starts with network namespaces: $(ip netns list | tr '\n' ' ')"
  [ "$(command -v ansible-playbook)" = "$venv/bin/ansible-playbook" ] \
    || fail "ansible-playbook is $(command -v ansible-playbook || echo missing), not $venv/bin/ansible-playbook"
  [ "${ANSIBLE_COLLECTIONS_PATH:-}" = "$collections" ] \
    || fail "ANSIBLE_COLLECTIONS_PATH is '${ANSIBLE_COLLECTIONS_PATH:-}', not $collections"
  [ -f "$inventory" ] || fail "no inventory at $inventory"
  echo "$(ansible-playbook --version | sed -n 1p); collections: $ANSIBLE_COLLECTIONS_PATH"
}

playbook() {  # LOG PLAYBOOK [ARGS...]: run PLAYBOOK (a fully qualified name) against the inventory, output to WORK_DIR/LOG
  local log=$work/$1 playbook=$2 rc=0
  shift 2
  (cd "$work" && ansible-playbook -i "$inventory" "$playbook" "$@") > "$log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "... last lines of $log:" >&2
    tail -n 40 "$log" >&2
    fail "ansible-playbook -i $inventory $playbook $* failed (exit $rc); its whole output: $log"
  fi
  sed -n '/^PLAY RECAP/,$p' "$log" | sed '/^[[:space:]]*$/d'
}

deploy() {
  playbook deploy.log nsforge.linux.lab -e "lab_graph_dir=$work/pictures"
}

check_lab() {
  local names node addr answer tries ext
  names=$(ip netns list | awk '{ print $1 }' | sort | paste -s -d ' ')
  echo "ip netns list: $names"
  for node in "${lab_nodes[@]}"; do
    case " $names " in
      *" $node "*) ;;
      *) fail "ip netns list does not show $node (it shows: $names)" ;;
    esac
  done
  addr=$(ip -n web-a -j -4 addr show scope global \
    | python3 -c 'import json, sys; print(next(a["local"] for i in json.load(sys.stdin) for a in i.get("addr_info", [])))') \
    || fail "web-a has no global IPv4 address (ip -n web-a addr: $(ip -n web-a -br addr | tr '\n' ' '))"
  # The first packets on a new link may wait for neighbour discovery: a few tries.
  for tries in 1 2 3 4 5; do
    if answer=$(ip netns exec web-b python3 -c "$fetch" "http://$addr/" 2>&1); then
      break
    fi
    [ "$tries" -lt 5 ] || fail "web-b cannot fetch http://$addr/ (web-a): $answer"
    sleep 1
  done
  echo "web-b fetches http://$addr/: $answer"
  case $answer in
    "web-a "*) ;;
    *) fail "http://$addr/ answered '$answer', not web-a's server" ;;
  esac
  # The picture goes where lab_graph_dir says, not next to the topology inside the installed collection.
  if [ ! -s "$work/pictures/default.svg" ] || [ ! -s "$work/pictures/default.png" ]; then
    fail "no picture $work/pictures/default.svg and .png drawn by the netlab role (lab_graph_dir)"
  fi
  echo "pictures: $(cd "$work/pictures" && echo *)"
  for ext in dot svg png; do
    if [ -e "$installed/playbooks/topologies/default.$ext" ]; then
      fail "a picture written into the installed collection: $installed/playbooks/topologies/default.$ext"
    fi
  done
}

deploy_again() {
  playbook deploy-again.log nsforge.linux.lab
  if ! grep -qE '^localhost +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0 ' "$work/deploy-again.log"; then
    echo "tasks that changed:" >&2
    awk '/^TASK \[/ { task = $0 } /^changed:/ { print "  " task; print "    " $0 }' "$work/deploy-again.log" >&2
    fail "the second run of nsforge.linux.lab is not idempotent: its recap does not say changed=0 (see $work/deploy-again.log)"
  fi
}

destroy() {
  local left
  playbook destroy.log nsforge.linux.destroy
  left=$(ip netns list)
  [ -z "$left" ] || fail "nodes left after nsforge.linux.destroy (ip netns list): $(echo "$left" | tr '\n' ' ')"
  echo "ip netns list: empty"
}

verify() {
  (cd "$work" && ansible-galaxy collection verify nsforge.linux --offline) \
    || fail "ansible-galaxy collection verify nsforge.linux --offline: the installed collection was modified"
}

step "setting" check_setting
step "ansible-playbook nsforge.linux.lab" deploy
step "lab check (ip netns, web-b -> web-a:80)" check_lab
step "ansible-playbook nsforge.linux.lab again (changed=0)" deploy_again
step "ansible-playbook nsforge.linux.destroy (no node left)" destroy
step "ansible-galaxy collection verify --offline (nothing written into it)" verify
summary
