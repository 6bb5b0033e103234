#!/bin/sh
# /init of the guest's initramfs (tests/vm/run.sh builds it; busybox sh, no bash here).
# Loads the modules the root needs, mounts the host's root (virtio-9p, read-only)
# under an overlay whose writable layer is a tmpfs, and hands over to the host's
# bash running tests/vm/guest.sh from that root.  The kernel passes the unknown
# parameters of its command line as variables: nsforge_vm_guest (path of guest.sh)
# and nsforge_vm_run (the run folder) come from there.
# shellcheck shell=sh
/bin/busybox --install -s /bin
[ -z "${nsforge_vm_debug:-}" ] || set -x
export PATH=/bin
mkdir -p /proc /sys /dev /lower /upperfs /newroot
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

fail() {
  echo "nsforge-vm init: $*" >&2
  echo "nsforge-vm-status 125" > /dev/ttyS0
  poweroff -f
}

modprobe -a virtio_pci virtio_console virtio_rng 9pnet_virtio 9p overlay || fail "modprobe failed"
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 hostroot /lower || fail "9p mount failed"
mount -t tmpfs -o mode=0755 tmpfs /upperfs || fail "tmpfs mount failed"
mkdir -p /upperfs/upper /upperfs/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/upperfs/upper,workdir=/upperfs/work /newroot || fail "overlay mount failed"
if [ -z "${nsforge_vm_guest:-}" ] || [ ! -f "/newroot$nsforge_vm_guest" ]; then
  fail "no guest script: ${nsforge_vm_guest:-unset}"
fi
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /bin/bash "$nsforge_vm_guest"
