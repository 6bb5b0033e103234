#!/usr/bin/env bash
# playbooks/site.yml over real SSH on a simulated fleet (tests/fleet/fleet.py): FLEET_HOSTS hosts (default 3), each
# its own network, mount, UTS and PID namespaces with its own sshd, all inside this test's sandbox.
#   1. deploy with forks = hosts; the last host's sshd is killed mid-run (once its lab's namespaces exist): it alone
#      is unreachable, the others finish and are checked (nsenter into each host, ip, nft, /proc, HTTP);
#   2. its sshd back, run again: it converges, the others report changed=0;
#   3. run again: changed=0 everywhere, every host checked;
#   4. playbooks/destroy.yml: every host clean.
# Every run uses pipelining (about half the time of transferring each module by SFTP; bench/fleet.py measures both).
# Runs inside tests/sandbox.sh.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../setup_runme/files/in_sandbox.sh
. ../setup_runme/files/in_sandbox.sh

out=${OUTPUT_DIR:?OUTPUT_DIR is not set}
here=$(pwd)
root=$(cd ../../../.. && pwd)
count=${FLEET_HOSTS:-3}
python=$(command -v python)
fdir=$out/fleet
fleet=("$python" "$root/tests/fleet/fleet.py")
verify=("$python" "$here/verify.py" "$fdir")
results=("$python" "$root/tests/fleet/results.py")
export LAB_PUBLISH_PORT=8080

stop_fleet() {
  "${fleet[@]}" down --dir "$fdir" || true
}
trap stop_fleet EXIT

"${fleet[@]}" up --dir "$fdir" --hosts "$count" --python "$python"
hosts=()
for i in $(seq "$count"); do hosts+=("fleet$i"); done
last=fleet$count
others=("${hosts[@]:0:$((count - 1))}")
all_csv=$(IFS=,; echo "${hosts[*]}")
others_csv=$(IFS=,; echo "${others[*]}")
"${verify[@]}" baseline "${hosts[@]}"

# the playbooks are copied: the netlab role draws the topology next to its file
cp -r "$root/playbooks" "$out/playbooks"
export ANSIBLE_INVENTORY=$fdir/inventory.ini
export ANSIBLE_CALLBACK_PLUGINS=$root/tests/fleet/callbacks
export ANSIBLE_CALLBACKS_ENABLED=fleet_results
export ANSIBLE_FORKS=$count
export ANSIBLE_PIPELINING=True

# one run of a playbook; its results in $out/<name>.json; no playbook may hang the test
run=0
playbook() {
  local name=$1 start=$SECONDS
  shift
  run=0
  FLEET_RESULTS=$out/$name.json timeout 900 ansible-playbook "$@" || run=$?
  echo "--- $name: ansible-playbook exited $run after $((SECONDS - start))s"
}

kill_sshd_when_lab_exists() {
  local pid
  pid=$("${fleet[@]}" pid --dir "$fdir" "$last")
  for _ in $(seq 1800); do
    if [ -e "/proc/$pid/root/run/netns/web-a" ]; then
      "${fleet[@]}" sshd --dir "$fdir" "$last" stop
      echo "--- $last: sshd killed once its node web-a existed"
      return 0
    fi
    sleep 0.1
  done
  echo "--- $last: its node web-a never appeared" >&2
  return 1
}

echo "=== 1. deploy on $count hosts; $last becomes unreachable during the run"
kill_sshd_when_lab_exists &
watcher=$!
playbook deploy "$out/playbooks/site.yml" -e "lab_publish_port=$LAB_PUBLISH_PORT"
wait "$watcher"
"${results[@]}" "$out/deploy.json" --hosts "$all_csv" --ok "$others_csv" --unreachable "$last" --changed "$others_csv"
# ansible-playbook's status: 4 when the host was unreachable, 2 when its connection went away during a task
case $run in 2|4) ;; *) echo "expected exit status 4 or 2 (a host lost), got $run" >&2; exit 1 ;; esac
"${verify[@]}" deployed "${others[@]}"
"${verify[@]}" no-services "$last"

echo "=== 2. $last reachable again: it converges, the others do not change"
"${fleet[@]}" sshd --dir "$fdir" "$last" start
playbook converge "$out/playbooks/site.yml" -e "lab_publish_port=$LAB_PUBLISH_PORT"
"${results[@]}" "$out/converge.json" --hosts "$all_csv" --ok "$all_csv" --changed "$last" --unchanged "$others_csv"
[ "$run" -eq 0 ]

echo "=== 3. again: changed=0 on every host"
playbook again "$out/playbooks/site.yml" -e "lab_publish_port=$LAB_PUBLISH_PORT"
"${results[@]}" "$out/again.json" --hosts "$all_csv" --ok "$all_csv" --unchanged "$all_csv"
[ "$run" -eq 0 ]
"${verify[@]}" deployed "${hosts[@]}"

echo "=== 4. destroy on every host"
playbook destroy "$out/playbooks/destroy.yml"
"${results[@]}" "$out/destroy.json" --hosts "$all_csv" --ok "$all_csv" --changed "$all_csv"
[ "$run" -eq 0 ]
"${verify[@]}" clean "${hosts[@]}"
