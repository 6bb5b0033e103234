#!/usr/bin/env bash
# PID 1 of the guest (tests/vm/run.sh), started by the initramfs' /init on the
# host's root filesystem (read-only virtio-9p under a tmpfs overlay): makes the
# usual kernel filesystems, points module loading at the Debian kernel's modules
# (build/vm/kernel-*/, seen through the same share), runs the command of the run
# folder with its environment and working directory, sends its output to the
# "out" port and its exit status to the "status" port, and powers off.
set -uo pipefail
[ -z "${nsforge_vm_debug:-}" ] || { PS4='+ [$(cut -d" " -f1 /proc/uptime)] '; set -x; }

run=${nsforge_vm_run:?}
kernel_tree=${nsforge_vm_modules:?}

port() {  # NAME: the /dev path of the virtio serial port of that name
  local f
  for f in /sys/class/virtio-ports/*/name; do
    if [ "$(cat "$f")" = "$1" ]; then
      echo "/dev/$(basename "$(dirname "$f")")"
      return 0
    fi
  done
  return 1
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm
# What udev would make: bash's process substitution needs /dev/fd.
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# The host's machinery under /mnt is none of the guest's business.
mount -t tmpfs -o mode=0755 tmpfs /mnt

# Modules: the kernel's own tree, loaded on demand by busybox's modprobe.
mkdir -p "/lib/modules/$(uname -r)"
mount --bind "$kernel_tree/lib/modules/$(uname -r)" "/lib/modules/$(uname -r)"
ln -sfn /bin/busybox /sbin/modprobe
echo /sbin/modprobe > /proc/sys/kernel/modprobe
preload=${nsforge_vm_preload:-}
# shellcheck disable=SC2086 # a list of module names
/sbin/modprobe -a ${preload//,/ } 2>/dev/null || true

hostname nsforge-vm
ip link set lo up

out=$(port out) || out=/dev/ttyS0
status_port=$(port status) || status_port=/dev/ttyS0

mapfile -d '' -t cmd < "$run/cmd"
mapfile -d '' -t envs < "$run/env"
cwd=$(cat "$run/cwd")
rc=0
(cd "$cwd" && exec env -i "${envs[@]}" "${cmd[@]}") > "$out" 2>&1 < /dev/null || rc=$?
echo "nsforge-vm-status $rc" > "$status_port"
sync
exec /bin/busybox poweroff -f
