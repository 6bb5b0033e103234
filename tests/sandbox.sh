#!/usr/bin/env bash
# Run a command inside a throwaway sandbox, so tests that create network
# namespaces, links, /run/netns pins and /etc/netns files leave nothing behind
# on the host:
#   - new network, mount (private propagation), UTS, IPC and PID namespaces;
#   - a fresh tmpfs on /run (so /run/netns starts empty) and on /etc/netns, and
#     /etc as an overlay whose changes vanish with the sandbox;
#   - a fresh /proc for the new PID namespace; `lo` is brought up.
# When the command ends, every process and mount of the sandbox goes with it.
# Usage: tests/sandbox.sh COMMAND [ARGS...]
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

if [ "${NSFORGE_SANDBOX:-}" != "inside" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "$0: must run as root (it creates namespaces and mounts)" >&2
    exit 1
  fi
  # The mount points must exist on the host before they can be covered.
  mkdir -p /etc/netns /var/log/nsforge
  exec unshare --net --mount --uts --ipc --pid --fork --mount-proc --propagation private \
    env NSFORGE_SANDBOX=inside "$0" "$@"
fi

mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -p /run/netns /run/lock
# /etc becomes an overlay whose changes (users, /etc/subuid, /etc/subgid) live
# only in the sandbox; files can still be replaced by rename, as tools do.
mkdir -p /run/.sandbox-etc/upper /run/.sandbox-etc/work
mount -t overlay overlay -o lowerdir=/etc,upperdir=/run/.sandbox-etc/upper,workdir=/run/.sandbox-etc/work /etc
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /etc/netns
mount -t tmpfs -o mode=0750,nosuid,nodev tmpfs /var/log/nsforge
# cgroups are not namespaced by this sandbox: services' cgroups go under a
# parent of their own, removed when the sandbox ends.
NSFORGE_CGROUP_PARENT="nsforge-sandbox-$$-$(date +%s%N)"
export NSFORGE_CGROUP_PARENT
cleanup_cgroups() {
  local dir
  # PID 1 of the sandbox: end every process the tests left, then their cgroups.
  kill -KILL -1 2>/dev/null || true
  sleep 0.2
  for dir in /sys/fs/cgroup/*/"$NSFORGE_CGROUP_PARENT" /sys/fs/cgroup/"$NSFORGE_CGROUP_PARENT"; do
    [ -d "$dir" ] || continue
    find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}
hostname nsforge-sandbox
ip link set lo up

# Not exec: this shell is PID 1 of the sandbox and reaps orphans until the end.
status=0
"$@" || status=$?
cleanup_cgroups
exit "$status"
