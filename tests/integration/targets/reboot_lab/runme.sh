#!/usr/bin/env bash
# The default lab comes back after a real reboot: one fleet host whose PID 1 is systemd (tests/fleet/fleet.py up
# --kind systemd, booted by systemd-nspawn inside this test's sandbox).
#   1. deploy playbooks/lab.yml -e lab_persist=true over SSH (its own proofs run), and extra.yml: a node without
#      persist and a service with the builtin supervisor; snapshot the host over SSH (snapshot.py: ip -j, nsenter,
#      findmnt, /proc, systemctl show) and check the lab as declared (compare.py lab);
#   2. systemctl reboot inside (fleet.py reboot), while compare.py poll waits for the lab's first HTTP answer;
#   3. without any Ansible run: snapshot again; equal to the first after normalising what a boot renumbers (PIDs,
#      namespace inodes, ifindex, veth MACs); systemd's view (units active, MemoryMax/TasksMax, After=/Before= and
#      this boot's order); the extra node and service are gone; the reboot's timeline printed;
#   4. lab.yml again: changed=0; extra.yml again: changed>0 (it is back), and a third time: changed=0;
#   5. lab.yml without lab_persist: the lab stays (its proofs pass, under the builtin supervisor), its records and
#      units go, systemd lists no nsforge unit, the lab's record moves back to /run; then destroy.yml: nothing of
#      the lab is left (namespaces, processes, records, units, script folders).
# Runs inside tests/sandbox.sh.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../setup_runme/files/in_sandbox.sh
. ../setup_runme/files/in_sandbox.sh

out=${OUTPUT_DIR:?OUTPUT_DIR is not set}
here=$(pwd)
root=$(cd ../../../.. && pwd)
python=$(command -v python)
fdir=$out/fleet
fleet=("$python" "$root/tests/fleet/fleet.py")
compare=("$python" "$here/compare.py")
results=("$python" "$root/tests/fleet/results.py")
host=fleet1
poller=

stop_fleet() {
  [ -z "$poller" ] || kill "$poller" 2>/dev/null || true
  "${fleet[@]}" down --dir "$fdir" || true
}
trap stop_fleet EXIT

# snapshot NAME: snapshot.py on the host over SSH, its JSON in $out/NAME.json
spec=$("${compare[@]}" spec)
snapshot() {
  local start=$SECONDS
  "${fleet[@]}" ssh --dir "$fdir" "$host" -- python3 - "'$spec'" < "$here/snapshot.py" > "$out/$1.json"
  echo "--- snapshot $1 over SSH: $((SECONDS - start))s"
}

run=0
playbook() {
  local name=$1 start=$SECONDS
  shift
  run=0
  FLEET_RESULTS=$out/$name.json timeout 300 ansible-playbook "$@" || run=$?
  echo "--- $name: ansible-playbook exited $run after $((SECONDS - start))s"
}

start_all=$SECONDS
"${fleet[@]}" up --dir "$fdir" --hosts 1 --kind systemd
cp -r "$root/playbooks" "$out/playbooks"
export ANSIBLE_INVENTORY=$fdir/inventory.ini
export ANSIBLE_CALLBACK_PLUGINS=$root/tests/fleet/callbacks
export ANSIBLE_CALLBACKS_ENABLED=fleet_results
export ANSIBLE_PIPELINING=True

echo "=== 1. deploy the persisted lab and a non-persisted node with a builtin service"
playbook deploy "$out/playbooks/lab.yml" -e lab_persist=true
"${results[@]}" "$out/deploy.json" --hosts "$host" --ok "$host" --changed "$host"
[ "$run" -eq 0 ]
playbook extra "$here/extra.yml"
"${results[@]}" "$out/extra.json" --hosts "$host" --ok "$host" --changed "$host"
[ "$run" -eq 0 ]
snapshot before
"${compare[@]}" lab "$out/before.json"
"${compare[@]}" extra "$out/before.json" present

echo "=== 2. reboot $host (systemctl reboot inside)"
"${compare[@]}" poll "$fdir" "$host" "$out/http.json" &
poller=$!
"${fleet[@]}" reboot --dir "$fdir" "$host" | tee "$out/reboot.json"
wait "$poller" || { poller=; echo "the lab did not answer HTTP after the reboot" >&2; exit 1; }
poller=

echo "=== 3. after the reboot, without Ansible"
snapshot after
"${compare[@]}" lab "$out/after.json"
"${compare[@]}" same "$out/before.json" "$out/after.json"
"${compare[@]}" systemd "$out/after.json"
"${compare[@]}" extra "$out/after.json" absent
"${fleet[@]}" ssh --dir "$fdir" "$host" -- journalctl -b -o cat -u "'nsforge*'" --no-pager | tail -n 12
"${compare[@]}" timeline "$out/reboot.json" "$out/after.json" "$out/http.json"

echo "=== 4. Ansible again: the lab unchanged, the non-persisted node and service back, then unchanged"
playbook again "$out/playbooks/lab.yml" -e lab_persist=true
"${results[@]}" "$out/again.json" --hosts "$host" --ok "$host" --unchanged "$host"
[ "$run" -eq 0 ]
playbook extra-again "$here/extra.yml"
"${results[@]}" "$out/extra-again.json" --hosts "$host" --ok "$host" --changed "$host"
[ "$run" -eq 0 ]
playbook extra-third "$here/extra.yml"
"${results[@]}" "$out/extra-third.json" --hosts "$host" --ok "$host" --unchanged "$host"
[ "$run" -eq 0 ]
snapshot final
"${compare[@]}" extra "$out/final.json" present
"${compare[@]}" same "$out/after.json" "$out/final.json"

echo "=== 5. the lab no longer persisted, then destroyed"
on() { "${fleet[@]}" ssh --dir "$fdir" "$host" -- "$(printf '%q ' "$@")"; }
left() {  # what persistence left on the host: records, units, the lab's persistent record; nsforge units systemd lists
  on sh -c 'ls -d /etc/nsforge/nodes/*.json /etc/nsforge/services/*.json /etc/systemd/system/nsforge-* \
    /etc/systemd/system/*.wants/nsforge-* /var/lib/nsforge/lab-records/*.json 2>/dev/null; \
    systemctl list-units "nsforge-*" --all --no-legend --plain | cut -d" " -f1'
}
playbook volatile "$out/playbooks/lab.yml"
"${results[@]}" "$out/volatile.json" --hosts "$host" --ok "$host" --changed "$host"
[ "$run" -eq 0 ]
what=$(left)
[ -z "$what" ] || { echo "left after the lab stopped persisting: $what" >&2; exit 1; }
on test -f /run/nsforge/labs/default.json
echo "no longer persisted: no record, unit or listed unit left; the lab's record in /run; the lab's proofs passed"
playbook destroy "$out/playbooks/destroy.yml"
[ "$run" -eq 0 ]
what=$(left; on sh -c 'ls -d /run/nsforge/labs/default.json /run/nsforge-lab /var/lib/nsforge-lab 2>/dev/null; \
  ip netns list | cut -d" " -f1 | grep -v "^scratch$"; pgrep -f "[w]hoami_http"' || true)
[ -z "$what" ] || { echo "left after destroy: $what" >&2; exit 1; }
echo "destroyed: no node, process, record, unit or script folder of the lab left"
echo "--- reboot_lab: $((SECONDS - start_all))s in all"
