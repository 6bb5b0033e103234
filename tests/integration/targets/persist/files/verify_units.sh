#!/usr/bin/env bash
# systemd-analyze verify on every unit the collection wrote: the template through an instance of each persisted
# node, and each service unit. The units are copied to a temporary folder with the instances as files of their own.
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
count=0
for link in /etc/systemd/system/multi-user.target.wants/nsforge-*.service; do
  [ -e "$link" ] || continue
  cp "$(readlink -f "$link")" "$dir/$(basename "$link")"
  count=$((count + 1))
done
cp /etc/systemd/system/nsforge-node@.service "$dir/"
# all at once: each one's After=/Requires= names the others
if ! out=$(cd "$dir" && systemd-analyze verify --man=no ./*.service 2>&1); then
  printf '%s\n' "$out" >&2
  exit 1
fi
if [ -n "$out" ]; then
  printf 'systemd-analyze verify complained:\n%s\n' "$out" >&2
  exit 1
fi
echo "verify_units.sh: $count unit(s) and the template pass systemd-analyze verify"
