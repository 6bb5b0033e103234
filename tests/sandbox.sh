#!/usr/bin/env bash
# Run a command inside a throwaway sandbox, so tests that create network
# namespaces, links, /run/netns pins and /etc/netns files leave nothing behind
# on the host, and find nothing of the host's either:
#   - new network, mount (private propagation), UTS, IPC and PID namespaces;
#   - a fresh /proc for the new PID namespace; `lo` is brought up;
#   - a mount table without the machine's namespace pins: every nsfs mount and
#     everything mounted under /run is detached (a tmpfs laid over /run would
#     only hide them: /proc/self/mountinfo would still list them), then a fresh
#     tmpfs goes on /run (so /run/netns and /run/nsforge start empty);
#   - /etc as an overlay whose changes vanish with the sandbox, holding the
#     sandbox's own account files (passwd, group, shadow, gshadow with system
#     accounts only; subuid and subgid empty), no persisted nodes (/etc/nsforge)
#     and no nsforge units; a fresh tmpfs on /etc/netns, /var/log/nsforge and
#     /var/lib/nsforge (the netlab role's files of labs);
#   - services' cgroups under a parent of the sandbox's own.
# A test that needs a fact (a user, a subordinate range, a node) makes it
# inside its sandbox. When the command ends, every process and mount of the
# sandbox goes with it. Sandboxes nest: a command inside one may start another.
# Usage: tests/sandbox.sh COMMAND [ARGS...]
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

if [ "$1" != "--inside-new-namespaces" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "$0: must run as root (it creates namespaces and mounts)" >&2
    exit 1
  fi
  # The mount points must exist on the host before they can be covered.
  mkdir -p /etc/netns /var/log/nsforge /var/lib/nsforge
  exec unshare --net --mount --uts --ipc --pid --fork --mount-proc --propagation private \
    "$0" --inside-new-namespaces "$@"
fi
shift

# Detach the machine's pins and everything under /run, deepest first (mountinfo escapes spaces as \040).
mapfile -t inherited < <(awk '{
    for (i = 7; $i != "-"; i++) {}
    if ($(i + 1) == "nsfs" || $5 == "/run" || index($5, "/run/") == 1 || $5 == "/etc/netns" || index($5, "/etc/netns/") == 1 \
        || $5 == "/var/log/nsforge" || index($5, "/var/log/nsforge/") == 1)
      print $5
  }' /proc/self/mountinfo | sort -r -u)
for target in "${inherited[@]}"; do
  printf -v target '%b' "$target"
  umount -l "$target" 2>/dev/null || true   # already gone with a parent detached before it
done
if awk '{ for (i = 7; $i != "-"; i++) {} if ($(i + 1) == "nsfs") found = 1 } END { exit !found }' /proc/self/mountinfo; then
  echo "$0: a namespace pin of the machine could not be detached" >&2
  exit 1
fi

mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -p /run/netns /run/lock
# /etc becomes an overlay whose changes (users, /etc/subuid, /etc/subgid) live
# only in the sandbox; files can still be replaced by rename, as tools do.
mkdir -p /run/.sandbox-etc/upper /run/.sandbox-etc/work
mount -t overlay overlay -o lowerdir=/etc,upperdir=/run/.sandbox-etc/upper,workdir=/run/.sandbox-etc/work /etc
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /etc/netns
mount -t tmpfs -o mode=0750,nosuid,nodev tmpfs /var/log/nsforge
mount -t tmpfs -o mode=0700,nosuid,nodev tmpfs /var/lib/nsforge

# The account files of the sandbox: system accounts only (sshd for the fleet's servers), no subordinate ranges.
write_etc() {  # FILE MODE GROUP CONTENT
  printf '%s' "$4" > "/etc/$1.sandbox-new"
  chmod "$2" "/etc/$1.sandbox-new"
  chgrp "$3" "/etc/$1.sandbox-new"
  mv -f "/etc/$1.sandbox-new" "/etc/$1"
}
write_etc passwd 0644 0 'root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
sshd:x:100:65534::/run/sshd:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
'
write_etc group 0644 0 'root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
shadow:x:42:
utmp:x:43:
staff:x:50:
users:x:100:
nogroup:x:65534:
'
write_etc shadow 0640 42 'root:*:20000:0:99999:7:::
daemon:*:20000:0:99999:7:::
bin:*:20000:0:99999:7:::
sys:*:20000:0:99999:7:::
sshd:*:20000:0:99999:7:::
nobody:*:20000:0:99999:7:::
'
write_etc gshadow 0640 42 'root:*::
daemon:*::
bin:*::
sys:*::
adm:*::
tty:*::
disk:*::
shadow:*::
utmp:*::
staff:*::
users:*::
nogroup:*::
'
write_etc subuid 0644 0 ''
write_etc subgid 0644 0 ''
rm -f /etc/passwd- /etc/group- /etc/shadow- /etc/gshadow- /etc/subuid- /etc/subgid-
# Nothing persisted by the collection on the machine: no node records, no units.
rm -rf /etc/nsforge /etc/systemd/system/nsforge-* /etc/systemd/system/*.wants/nsforge-* 2>/dev/null || true

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
