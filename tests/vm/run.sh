#!/usr/bin/env bash
# Run a command inside a small virtual machine with Debian's kernel, for the tests
# that need what this machine's kernel lacks (netem: CONFIG_NET_SCH_NETEM is not set).
#
# The guest is qemu (TCG: the machine has no VMX/SVM), Debian bookworm's kernel
# (linux-image-amd64's current package, extracted, not installed) and an initramfs
# of busybox-static and the few modules that mount the root: the host's own root
# filesystem, shared read-only with virtio-9p under a tmpfs overlay, so the guest
# runs this checkout, its .venv and the built collection where they are.  Writes
# inside the guest vanish with it.  Every other module of that kernel (sch_netem,
# veth, nf_tables, ...) loads on demand.  See tests/vm/README.md.
#
# Usage: tests/vm/run.sh [--build] [-- ] COMMAND [ARGS...]
#   --build   only build (or check) the cached pieces under build/vm/ and exit
# The command runs as root in the guest, in the current working directory, with
# the current environment; its output (stdout and stderr together) is printed and
# its exit status is this script's (125: the guest failed before reporting one).
# Environment:
#   VM_MEM (MB, default 2048)  VM_CPUS (default 2)  VM_TIMEOUT (seconds, default 3600)
#   VM_KERNEL_PACKAGE  a linux-image-* package (default: what linux-image-amd64 depends on)
#   VM_PRELOAD         modules loaded before the command (default: sch_netem veth)
#   VM_KEEP            when set, keep the run folder (console log) under build/vm/runs/
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${VM_CACHE:-$root/build/vm}
mem=${VM_MEM:-2048}
cpus=${VM_CPUS:-2}
timeout_s=${VM_TIMEOUT:-3600}
preload=${VM_PRELOAD:-sch_netem veth}
# The modules the initramfs needs to mount the root and talk to the host.
init_modules=(virtio_pci virtio_console virtio_rng 9pnet_virtio 9p overlay)

say() { echo "tests/vm: $*" >&2; }
die() { say "$*"; exit 125; }

build_only=
if [ "${1:-}" = "--build" ]; then build_only=1; shift; fi
if [ "${1:-}" = "--" ]; then shift; fi
if [ -z "$build_only" ] && [ "$#" -eq 0 ]; then
  echo "usage: $0 [--build] [--] COMMAND [ARGS...]" >&2
  exit 2
fi
[ "$(id -u)" -eq 0 ] || die "must run as root (the guest's command runs as root on the host's files)"
for c in qemu-system-x86_64 busybox apt-get dpkg-deb; do
  command -v "$c" >/dev/null 2>&1 || die "$c not found (make vm-tools)"
done
busybox_bin=$(command -v busybox)
dpkg-query -W -f '${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' \
  || die "busybox-static is not installed (make vm-tools)"

mkdir -p "$cache"

# ---------------------------------------------------------------- the kernel
kernel_package() {
  if [ -n "${VM_KERNEL_PACKAGE:-}" ]; then echo "$VM_KERNEL_PACKAGE"; return; fi
  local dep
  dep=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
  if [ -z "$dep" ]; then
    apt-get update -qq
    dep=$(apt-cache depends linux-image-amd64 | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
  fi
  [ -n "$dep" ] || die "cannot resolve linux-image-amd64 with apt-cache"
  echo "$dep"
}

# A kernel tree already extracted is used without asking apt (offline runs).
pkg=${VM_KERNEL_PACKAGE:-}
if [ -z "$pkg" ] && [ -f "$cache/kernel.current" ] && [ -f "$cache/$(cat "$cache/kernel.current")/.done" ]; then
  pkg=$(cat "$cache/kernel.current")
fi
[ -n "$pkg" ] || pkg=$(kernel_package)
kdir=$cache/$pkg
if [ ! -f "$kdir/.done" ]; then
  say "fetching and unpacking $pkg"
  rm -rf "$kdir" "$cache/deb"
  mkdir -p "$cache/deb"
  # apt's download user cannot write into a folder of root's: a warning, not an error.
  (cd "$cache/deb"; apt-get download -q "$pkg" 2>&1 | { grep -v 'couldn.t be accessed by user' >&2 || true; })
  deb=$(find "$cache/deb" -name "${pkg}_*.deb" | head -n 1)
  [ -n "$deb" ] || die "apt-get download $pkg gave no package"
  dpkg-deb -x "$deb" "$kdir"
  rm -rf "$cache/deb"
fi
kver=$(basename "$(find "$kdir/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n 1)")
if [ -z "$kver" ] || [ ! -f "$kdir/boot/vmlinuz-$kver" ]; then die "no kernel in $kdir"; fi
if [ ! -f "$kdir/.done" ]; then
  busybox depmod -b "$kdir" "$kver"
  touch "$kdir/.done"
fi
echo "$pkg" > "$cache/kernel.current"
modules_dir=$kdir/lib/modules/$kver

# ---------------------------------------------------------------- the initramfs
# Named by what goes into it: a change of recipe (init.sh, the module list, this
# script's builder) or of kernel or busybox makes a new one.
recipe_hash=$( { cat "$here/init.sh"; printf '%s\n' "${init_modules[@]}" "$kver"; sha256sum "$busybox_bin";
  sed -n '/^# BEGIN initramfs recipe/,/^# END initramfs recipe/p' "$0"; } | sha256sum | cut -c1-16)
initrd=$cache/initrd-$recipe_hash.cpio.gz

# BEGIN initramfs recipe
module_closure() {  # MODULE...: the .ko paths (relative to modules_dir) of the modules and their dependencies
  local queue=("$@") seen=" " name rel line dep
  while [ "${#queue[@]}" -gt 0 ]; do
    name=${queue[0]}; queue=("${queue[@]:1}")
    name=${name//-/_}
    line=$(awk -v n="$name" -F: '{ b = $1; sub(/.*\//, "", b); sub(/\.ko(\.[a-z]+)?$/, "", b); gsub(/-/, "_", b) } b == n { print; exit }' \
      "$modules_dir/modules.dep")
    [ -n "$line" ] || die "module $name not in $modules_dir/modules.dep"
    rel=${line%%:*}
    case $seen in *" $rel "*) continue ;; esac
    seen="$seen$rel "
    echo "$rel"
    for dep in ${line#*:}; do
      dep=${dep##*/}; queue+=("${dep%%.ko*}")
    done
  done
}

build_initrd() {
  local stage rel
  stage=$(mktemp -d "$cache/initrd-stage.XXXXXX")
  mkdir -p "$stage/bin" "$stage/lib/modules/$kver"
  cp "$busybox_bin" "$stage/bin/busybox"
  ln -s busybox "$stage/bin/sh"
  cp "$here/init.sh" "$stage/init"
  chmod 0755 "$stage/init" "$stage/bin/busybox"
  while IFS= read -r rel; do
    mkdir -p "$stage/lib/modules/$kver/$(dirname "$rel")"
    cp "$modules_dir/$rel" "$stage/lib/modules/$kver/$rel"
  done < <(module_closure "${init_modules[@]}")
  busybox depmod -b "$stage" "$kver"
  (cd "$stage" && find . -print0 | LC_ALL=C sort -z | busybox cpio -0 -o -H newc -R 0:0 2>/dev/null) | gzip -1 > "$stage.cpio.gz"
  mv -f "$stage.cpio.gz" "$initrd"
  rm -rf "$stage"
}
# END initramfs recipe

if [ ! -f "$initrd" ]; then
  say "building $(basename "$initrd")"
  rm -f "$cache"/initrd-*.cpio.gz
  build_initrd
fi

if [ -n "$build_only" ]; then
  say "ready: $kdir/boot/vmlinuz-$kver, $initrd"
  exit 0
fi

# ---------------------------------------------------------------- the run
mkdir -p "$cache/runs"
run=$(mktemp -d "$cache/runs/run.XXXXXX")
qemu=
copier=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  # timeout(1) makes a process group of its own: a signal to this script's group misses qemu.
  if [ -n "$qemu" ]; then kill "$qemu" 2>/dev/null || true; wait "$qemu" 2>/dev/null || true; fi
  if [ -n "$copier" ]; then kill "$copier" 2>/dev/null || true; fi
  [ -n "${VM_KEEP:-}" ] || rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
printf '%s\0' "$@" > "$run/cmd"
pwd > "$run/cwd"
# The environment, less what names this shell rather than the command's.
env -0 | grep -zvE '^(_|PWD|OLDPWD|SHLVL)=' > "$run/env" || true
: > "$run/status"
# The command's output comes through a fifo, copied to this script's stdout by cat
# (qemu reopening /dev/stdout would write at an offset of its own into a file).
mkfifo "$run/out"
cat "$run/out" &
copier=$!

append="console=ttyS0 ${VM_KERNEL_LOG:-quiet loglevel=3} panic=-1 mitigations=off tsc=reliable"
append="$append nsforge_vm_guest=$here/guest.sh nsforge_vm_run=$run nsforge_vm_modules=$kdir"
append="$append nsforge_vm_preload=${preload// /,}${VM_DEBUG:+ nsforge_vm_debug=1}"

timeout --kill-after=10 "$timeout_s" qemu-system-x86_64 \
  -machine q35 -accel "${VM_ACCEL:-tcg,thread=multi}" -cpu "${VM_CPU:-max}" -smp "$cpus" -m "$mem" \
  -nodefaults -no-user-config -display none -no-reboot -nic none \
  -kernel "$kdir/boot/vmlinuz-$kver" -initrd "$initrd" -append "$append" \
  -serial "file:$run/console.log" \
  -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
  -device virtio-rng-pci \
  -device virtio-serial-pci \
  -chardev "file,id=out,path=$run/out,append=on" -device virtserialport,chardev=out,name=out \
  -chardev "file,id=status,path=$run/status" -device virtserialport,chardev=status,name=status \
  < /dev/null &
qemu=$!
rc=0
wait "$qemu" || rc=$?
qemu=
# cat still waits for a writer when qemu never opened the fifo: open and close it once (read-write: never blocks).
exec 4<>"$run/out"
exec 4>&-
wait "$copier" || true
copier=

status=$(awk '/^nsforge-vm-status [0-9]+/ { print $2 }' "$run/status" "$run/console.log" 2>/dev/null | tail -n 1)
if [ -z "$status" ]; then
  say "the guest reported no exit status (qemu exit $rc); the end of its console:"
  tail -n 40 "$run/console.log" >&2 || true
  exit 125
fi
exit "$status"
