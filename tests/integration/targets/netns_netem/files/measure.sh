#!/usr/bin/env bash
# The traffic of the netns_netem target, measured with ping and TCP (independently of the module), and every
# first node's qdiscs as `tc -s -j` shows them; one JSON object on stdout.
#   measure.sh PYTHON TCP_RATE_PY
set -euo pipefail
python=$1
tcp_rate=$2
rtts=$(ip netns exec nn_delay_a ping -n -c 50 -i 0.02 -W 2 10.223.1.2 | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | sort -n | tr '\n' ' ')
loss=$(ip netns exec nn_loss_a ping -n -q -c 500 -i 0.005 -W 1 10.223.2.2 | sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' || true)
rate=$("$python" "$tcp_rate" measure nn_rate_a nn_rate_b 10.223.3.2 --seconds 3)
plain=$("$python" "$tcp_rate" measure nn_plain_a nn_plain_b 10.223.5.2 --seconds 1)
qdiscs=()
for pair in delay loss rate mix plain; do
  qdiscs+=("\"$pair\": $(tc -s -j -n "nn_${pair}_a" qdisc show dev eth0)")
done
printf '{"rtts": [%s], "loss": %s, "rate": %s, "plain": %s, "qdiscs": {%s}}\n' \
  "$(echo "$rtts" | sed 's/ *$//; s/ /, /g')" "${loss:-null}" "$rate" "$plain" "$(IFS=,; echo "${qdiscs[*]}")"
