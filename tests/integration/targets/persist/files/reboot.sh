#!/usr/bin/env bash
# A simulated reboot inside the sandbox: every process of the test's services ends, every mount under /run goes
# and /run is emptied, as at boot (/etc, /usr/local and /var/log stay, as disks do). The sandbox's own overlay
# folders (/run/.sandbox-*) stand for disks and stay too.
set -euo pipefail
for record in /run/nsforge/services/*.json; do
  [ -e "$record" ] || continue
  pid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("pid") or "")' "$record")
  if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
done
# deepest mount points first
findmnt -rn -o TARGET | awk '$0 ~ /^\/run\// && $0 !~ /^\/run\/\.sandbox-/' | sort -r | while read -r target; do
  umount -l "$target"
done
find /run -mindepth 1 -maxdepth 1 ! -name '.sandbox-*' -exec rm -rf {} +
# the namespaces go when their last pin and process are gone; their veths in the host with them
for _ in $(seq 100); do
  ip link show pc-host >/dev/null 2>&1 || break
  sleep 0.1
done
if ip link show pc-host >/dev/null 2>&1; then
  echo "reboot.sh: pc-host is still there" >&2
  exit 1
fi
echo "reboot.sh: /run holds $(find /run -mindepth 1 -maxdepth 1 ! -name '.sandbox-*' | wc -l) entries"
