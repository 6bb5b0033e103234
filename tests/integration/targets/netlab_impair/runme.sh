#!/usr/bin/env bash
# Impaired links and a timeline of faults in a netlab lab (files/impair.yml), as a user deploys it (files/lab.yml),
# checked with tools outside the modules (tc -j, ip -j, /proc, a TCP transfer between the nodes, the picture):
#   1. check mode on a new lab creates nothing and starts nothing;
#   2. the first deploy sets a tbf qdisc on each end at the rate its link, its endpoint or the lab's default says
#      (none where the link says {}; the bridge's port its own), the picture labels the impaired links per direction,
#      a TCP transfer over the capped link is well below one over the uncapped link and twice as fast one way as the
#      other, and the timeline's runner flaps the link it drives;
#   3. the second deploy changes nothing (recap changed=0, the same runner) while the timeline runs;
#   4. without the impairment and the timeline (round 2), the qdiscs go and the timeline stops, the links up;
#   5. removed, no namespace, qdisc, runner or record of the lab is left;
#   6. the WAN example (nsforge.linux.wan, delay and loss): on a kernel without netem the deploy fails naming the
#      topology's link and leaves nothing; on one with netem, a ping's round trip is about 40 ms.
# Runs inside tests/sandbox.sh (tests/integration/run.sh does).
set -euo pipefail

# shellcheck source=SCRIPTDIR/../setup_runme/files/in_sandbox.sh
. ../setup_runme/files/in_sandbox.sh
out=${OUTPUT_DIR:?OUTPUT_DIR is not set}
python=$(command -v python)
here=$(pwd)
pictures=$out/pictures

fail() { echo "netlab_impair: $*" >&2; exit 1; }
lab() {  # lab NAME ARGS...: run files/lab.yml, its output in $out/NAME.log
  local name=$1
  shift
  # (JSON results: the YAML format wraps long lines)
  ANSIBLE_CALLBACK_RESULT_FORMAT=json timeout 600 ansible-playbook "$here/files/lab.yml" -e "impair_graph_dir=$pictures" \
    "$@" 2>&1 | tee "$out/$name.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || fail "$name: the playbook failed"
}
said() {  # said NAME TEXT: the playbook's output holds TEXT
  grep -qF -- "$2" "$out/$1.log" || fail "$1: the output does not say: $2"
}
rate() {  # rate NODE IFNAME: the rate (bytes per second) of the tbf qdisc at the root of the interface, or "none"
  tc -n "$1" -j qdisc show dev "$2" | "$python" -c '
import json, sys
roots = [q for q in json.load(sys.stdin) if q.get("root")]
tbf = [q for q in roots if q["kind"] == "tbf"]
print(tbf[0]["options"]["rate"] if tbf else "none:" + ",".join(q["kind"] for q in roots))'
}
transfer() {  # transfer FROM TO ADDRESS: bytes per second of a 2-second TCP transfer from node FROM to ADDRESS in TO
  timeout 60 "$python" "$here/../netns_impairment/files/tcp_rate.py" measure "$1" "$2" "$3" --seconds 2 >"$out/xfer.json" \
    || fail "the transfer $1 -> $3 failed"
  "$python" -c 'import json, sys; r = json.load(open(sys.argv[1])); print(int(r["bits_per_second"] / 8))' "$out/xfer.json"
}
ratio_below() {  # ratio_below A B MAX: A / B < MAX
  "$python" -c 'import sys; a, b, m = map(float, sys.argv[1:]); sys.exit(0 if b > 0 and a / b < m else 1)' "$@"
}
ratio_within() {  # ratio_within A B LO HI: LO <= A / B <= HI
  "$python" -c 'import sys; a, b, lo, hi = map(float, sys.argv[1:]); sys.exit(0 if b > 0 and lo <= a / b <= hi else 1)' "$@"
}
admin_up() {  # admin_up NODE IFNAME: 1 when the interface is set up, else 0 (ip -j)
  ip -n "$1" -j link show dev "$2" | "$python" -c 'import json, sys; print(int("UP" in json.load(sys.stdin)[0]["flags"]))'
}
runners() {  # the PIDs of timeline runners, from /proc (the runner's command line names it)
  pgrep -f 'nsforge.*runner' | sort -n || true
}
lab_nodes() {
  ip netns list | grep -Ec '^(ia|ib|ic|imp-lan|ra|rb|ha|hb|lan-a|lan-b)( |$)' || true
}

# ---------------------------------------------------------------- 1. check mode, a lab that does not exist
lab check -e impair_round=1 --check
said check 'lab impair: 3 nodes, 1 bridge, 5 links, 1 timeline; changed:'
[ "$(lab_nodes)" -eq 0 ] || fail "check mode created namespaces: $(ip netns list)"
[ -z "$(runners)" ] || fail "check mode started a runner: $(runners)"
echo "check mode: nothing created, no runner"

# ---------------------------------------------------------------- 2. first deploy
lab first -e impair_round=1
grep -q '\[WARNING\]' "$out/first.log" && fail "the first deploy warned: $(grep -A2 '\[WARNING\]' "$out/first.log")"
said first 'lab impair: 3 nodes, 1 bridge, 5 links, 1 timeline; changed: 3 nodes, 1 bridge, 5 links, 1 timeline'
# the qdiscs, as tc shows them (bytes per second): the link's, the endpoint's own, none, the bridge port's, the default
declare -A want=([ia:eth1]=250000 [ib:eth1]=500000 [ia:eth2]=none:noqueue [ic:eth1]=none:noqueue
                 [imp-lan:ib-eth0]=625000 [ib:eth0]=12500000 [ic:eth0]=12500000 [imp-lan:ic-eth0]=12500000
                 [ib:eth2]=12500000 [ic:eth2]=12500000)
for end in "${!want[@]}"; do
  got=$(rate "${end%%:*}" "${end#*:}")
  [ "$got" = "${want[$end]}" ] || fail "$end: the root qdisc's rate is $got, not ${want[$end]}"
done
echo "qdiscs: ${#want[@]} ends as declared (tc -j)"
grep -qF 'label=<ia → ib: 2mbit<BR/>ib → ia: 4mbit>' "$pictures/impair.dot" || fail "the picture does not label ia - ib per direction"
grep -qF 'label=<ib → imp-lan: 100mbit<BR/>imp-lan → ib: 5mbit>' "$pictures/impair.dot" || fail "the picture does not label the bridge port"
[ -s "$pictures/impair.svg" ] || fail "no picture drawn"
# a TCP transfer: capped (ia -> ib 2mbit, ib -> ia 4mbit) against the uncapped link (ia -> ic)
capped=$(transfer ia ib 10.247.0.2)
back=$(transfer ib ia 10.247.0.1)
free=$(transfer ia ic 10.247.0.6)
echo "TCP: ia -> ib $capped B/s (2mbit), ib -> ia $back B/s (4mbit), ia -> ic $free B/s (no cap)"
ratio_below "$capped" "$free" 0.2 || fail "the capped transfer ($capped B/s) is not well below the uncapped one ($free B/s)"
# (a cap is an upper bound whatever the load: at most 1.5 times 2mbit)
ratio_below "$capped" 250000 1.5 || fail "the transfer over 2mbit ran at $capped B/s"
ratio_within "$back" "$capped" 1.3 3 || fail "4mbit against 2mbit: $back B/s against $capped B/s"
# the timeline: one runner; the link it drives goes down and up (sampled for 10 seconds, a flap every 4)
pids=$(runners)
[ "$(echo "$pids" | grep -c .)" -eq 1 ] || fail "expected one timeline runner, found: '$pids' ($(pgrep -af runner || true))"
seen=''
for _ in $(seq 50); do
  seen="$seen$(admin_up ib eth2)$(admin_up ic eth2)"
  sleep 0.2
done
case $seen in *00*) ;; *) fail "ib:eth2 and ic:eth2 were never down together in 10 seconds: $seen" ;; esac
case $seen in *11*) ;; *) fail "ib:eth2 and ic:eth2 were never up together in 10 seconds: $seen" ;; esac
echo "timeline: runner $pids; the flapped link went down and up"

# nsinfo reports the timeline: running, by this runner, with a next event
ANSIBLE_CALLBACK_RESULT_FORMAT=json ansible testhost -m nsforge.linux.nsinfo >"$out/nsinfo.out" 2>&1 || fail "nsinfo failed: $(cat "$out/nsinfo.out")"
sed -n '/^localhost | SUCCESS => /,$p' "$out/nsinfo.out" | sed '1s/^localhost | SUCCESS => //' >"$out/nsinfo.json"
"$python" - "$out/nsinfo.json" "$pids" <<'PY' || fail "nsinfo does not report the timeline as running: $(cat "$out/nsinfo.json")"
import json, sys
result = json.load(open(sys.argv[1]))
mine = [t for t in result.get('timelines') or [] if t.get('name') == 'impair']
assert len(mine) == 1, mine
assert mine[0]['state'] == 'running' and str(mine[0]['pid']) == sys.argv[2].strip(), mine
assert mine[0].get('next') and mine[0].get('total'), mine
PY
echo "nsinfo: the timeline impair is running, with its next step"

# ---------------------------------------------------------------- 3. second deploy
lab again -e impair_round=1
said again 'lab impair: 3 nodes, 1 bridge, 5 links, 1 timeline; no change'
grep -Eq 'localhost +: ok=[0-9]+ +changed=0 ' "$out/again.log" || fail "the second deploy's recap is not changed=0"
[ "$(runners)" = "$pids" ] || fail "the runner changed: $pids / $(runners)"
[ "$(rate ia eth1)" = 250000 ] || fail "ia:eth1 lost its cap"
echo "second deploy: no change, the same runner"

# ---------------------------------------------------------------- 4. the impairment and the timeline leave
lab round2 -e impair_round=2
said round2 'lab impair: 3 nodes, 1 bridge, 5 links; changed: '
grep -E 'lab impair: 3 nodes, 1 bridge, 5 links; changed: .*\b1 timeline\b' "$out/round2.log" >/dev/null \
  || fail "round 2: the report does not count the timeline's stop"
[ "$(rate ia eth1)" = none:noqueue ] || fail "ia:eth1 keeps a qdisc: $(tc -n ia qdisc show dev eth1)"
[ "$(rate ib eth1)" = none:noqueue ] || fail "ib:eth1 keeps a qdisc: $(tc -n ib qdisc show dev eth1)"
[ "$(rate imp-lan ib-eth0)" = 625000 ] || fail "the bridge port lost its cap"
[ -z "$(runners)" ] || fail "the timeline's runner is left: $(runners)"
for pid in $pids; do [ ! -d "/proc/$pid" ] || fail "runner $pid still runs"; done
[ "$(admin_up ib eth2)$(admin_up ic eth2)" = 11 ] || fail "the flapped link is not up again as declared"
echo "round 2: ia - ib without qdiscs, the timeline stopped, its link up"

# ---------------------------------------------------------------- 5. removal
lab gone -e impair_round=2 -e impair_state=absent
said gone 'lab impair removed: 4 namespaces, 0 services'
[ "$(lab_nodes)" -eq 0 ] || fail "namespaces left: $(ip netns list)"
[ -z "$(runners)" ] || fail "a runner is left: $(runners)"
[ ! -e /run/nsforge/labs/impair.json ] || fail "the lab's record is left"
left=$(find /run/nsforge/timelines -mindepth 1 -not -name runner.py 2>/dev/null | grep -v '\.log$' || true)
[ -z "$left" ] || fail "timeline records are left: $left"
[ -z "$(tc -j qdisc show | "$python" -c 'import json, sys; print(" ".join(q["handle"] for q in json.load(sys.stdin) if q["handle"].startswith("4e")))')" ] \
  || fail "the host has a qdisc of the collection: $(tc qdisc show)"
echo "removed: no namespace, runner, record or qdisc of the lab left"

# ---------------------------------------------------------------- 6. the WAN example: delay and loss need netem
ip netns add netem-probe
ip -n netem-probe link add p0 type veth peer name p1
if tc -n netem-probe qdisc add dev p0 root netem delay 1ms 2>"$out/probe.err"; then netem=yes; else netem=no; fi
ip netns delete netem-probe
echo "this kernel has netem: $netem ($(cat "$out/probe.err"))"
wan() {  # wan NAME ARGS...: the collection's playbook nsforge.linux.wan; its status in $out/NAME.rc
  local name=$1
  shift
  set +e
  ANSIBLE_CALLBACK_RESULT_FORMAT=json timeout 600 ansible-playbook nsforge.linux.wan -e "lab_graph_dir=$pictures" "$@" \
    >"$out/$name.log" 2>&1
  echo $? >"$out/$name.rc"
  set -e
  cat "$out/$name.log"
}
if [ "$netem" = no ]; then
  wan wan
  [ "$(cat "$out/wan.rc")" -ne 0 ] || fail "the WAN lab deployed on a kernel without netem"
  # (named where the topology declares it: the WAN link's impairment, or the timeline's ramp of its loss)
  grep -E "netlab wan: .*(links\[4\] \(ra:wan0 -- rb:wan0\)\.impairment|timeline\.steps\[1\]\.(impairment|ramp))\.(delay|loss): .*no netem" \
    "$out/wan.log" >/dev/null || fail "the WAN deploy's failure does not name the topology's option: $(grep -F 'netlab wan:' "$out/wan.log")"
  [ "$(lab_nodes)" -eq 0 ] || fail "the failed WAN deploy left namespaces: $(ip netns list)"
  [ ! -e /run/nsforge/labs/wan.json ] || fail "the failed WAN deploy left its record"
  [ -z "$(runners)" ] || fail "the failed WAN deploy left a runner: $(runners)"
  echo "WAN: refused on this kernel ($(grep -oE 'failed: [^:]+' "$out/wan.log" | tail -1)); nothing left"
else
  wan wan
  [ "$(cat "$out/wan.rc")" -eq 0 ] || fail "the WAN lab did not deploy on a kernel with netem"
  ip netns exec ha ping -n -c 30 -i 0.2 10.246.2.10 >"$out/ping.out" || true
  median=$("$python" -c '
import re, statistics, sys
rtts = [float(m) for m in re.findall(r"time=([0-9.]+) ms", open(sys.argv[1]).read())]
print(statistics.median(rtts) if len(rtts) >= 20 else "too few: %d" % len(rtts))' "$out/ping.out")
  echo "WAN: ping ha -> hb, median round trip $median ms"
  ratio_within "$median" 40 1 1.75 || fail "the WAN's round trip is $median ms, not within [40, 70]"
  wan wangone -e wan_state=absent
  [ "$(cat "$out/wangone.rc")" -eq 0 ] || fail "the WAN lab's removal failed"
  [ "$(lab_nodes)" -eq 0 ] || fail "the WAN lab left namespaces: $(ip netns list)"
  [ -z "$(runners)" ] || fail "the WAN lab left a runner: $(runners)"
fi
