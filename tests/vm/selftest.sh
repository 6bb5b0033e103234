#!/usr/bin/env bash
# The virtual machine's own check: netem works there and traffic obeys it.
# Two network namespaces joined by a veth (10.22.0.1 - 10.22.0.2); on v0:
#   netem delay 50ms   ping RTT median of 50 pings (-i 0.02) within [50, 80] ms
#   netem loss 20%     loss over 500 pings within [10, 30] %
#   netem rate 1mbit   256 KiB over TCP take 1.6 to 4 s (2.1 s at the rate)
# each configuration checked first with `tc -j qdisc show`.
# Usage: tests/vm/run.sh -- tests/vm/selftest.sh   (refuses to run outside the guest)
set -euo pipefail

if [ "$(hostname)" != nsforge-vm ]; then
  echo "$0: run me inside the virtual machine (tests/vm/run.sh -- $0)" >&2
  exit 2
fi

# Debian's Python: python3 on PATH may be a pyenv shim, a shell script that costs seconds in the guest.
python=${SELFTEST_PYTHON:-/usr/bin/python3}
failures=0
check() {  # DESCRIPTION CONDITION...: print and count
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; failures=$((failures + 1)); fi
}
between() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x >= lo && x <= hi) }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
qdisc_json() { ip netns exec vma tc -j qdisc show dev v0; }
json_field() {  # PYTHON-EXPRESSION on q, the root qdisc of v0
  qdisc_json | "$python" -c 'import json, sys; q = [q for q in json.load(sys.stdin) if q.get("root")][0]; print('"$1"')'
}

ip netns add vma
ip netns add vmb
ip link add v0 netns vma type veth peer name v1 netns vmb
ip -n vma addr add 10.22.0.1/24 dev v0
ip -n vmb addr add 10.22.0.2/24 dev v1
for ns in vma vmb; do ip -n "$ns" link set lo up; done
ip -n vma link set v0 up
ip -n vmb link set v1 up
ip netns exec vma ping -c 2 -W 5 -q 10.22.0.2 > /dev/null

ip netns exec vma tc qdisc add dev v0 root netem delay 50ms
check "tc -j: netem, delay 0.05 s" test "$(json_field 'q["kind"], q["options"]["delay"]["delay"]')" = "netem 0.05"
rtts=$(ip netns exec vma ping -c 50 -i 0.02 10.22.0.2 | sed -n 's/.*time=\([0-9.]*\) ms$/\1/p')
rtt=$(median <<< "$rtts")
echo "delay 50ms: $(wc -l <<< "$rtts") replies, RTT median $rtt ms"
check "RTT median $rtt ms within [50, 80]" between "$rtt" 50 80

ip netns exec vma tc qdisc replace dev v0 root netem loss 20%
check "tc -j: netem, loss 0.2" test "$(json_field 'q["kind"], q["options"]["loss-random"]["loss"]')" = "netem 0.2"
loss=$(ip netns exec vma ping -c 500 -i 0.01 -q 10.22.0.2 | sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' || true)
echo "loss 20%: $loss % of 500 lost"
check "loss $loss % within [10, 30]" between "${loss:-0}" 10 30

ip netns exec vma tc qdisc replace dev v0 root netem rate 1mbit
check "tc -j: netem, rate 125000 B/s" test "$(json_field 'q["kind"], q["options"]["rate"]["rate"]')" = "netem 125000"
ip netns exec vmb "$python" -c 'import socket
s = socket.create_server(("10.22.0.2", 5001))
c, _ = s.accept()
while c.recv(65536):
    pass' &
server=$!
for _ in $(seq 300); do
  if ip netns exec vmb ss -Hltn 'sport = :5001' | grep -q .; then break; fi
  sleep 0.1
done
# The client times the transfer itself: from its first byte until the server, having read the last, closes.
seconds=$(ip netns exec vma "$python" -c 'import socket, time
c = socket.create_connection(("10.22.0.2", 5001), timeout=120)
start = time.monotonic()
c.sendall(bytes(262144))
c.shutdown(socket.SHUT_WR)
c.recv(1)
print("%.2f" % (time.monotonic() - start))')
wait "$server"
echo "rate 1mbit: 256 KiB over TCP in $seconds s"
check "256 KiB take $seconds s, within [1.6, 4]" between "$seconds" 1.6 4

ip netns del vma
ip netns del vmb
echo "$failures failed"
[ "$failures" -eq 0 ]
