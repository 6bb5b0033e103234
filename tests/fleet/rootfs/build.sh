#!/usr/bin/env bash
# Build (once) the root file system of the fleet's systemd hosts (tests/fleet/systemd_host.py): Debian bookworm
# from debootstrap's minbase with the packages listed in ./packages, pyroute2 as tests/requirements.txt pins it, an
# uplink unit and sshd's settings. The result is cached in OUT/<recipe hash>/root (OUT/current links to it) and
# rebuilt only when a file of this folder or the pyroute2 requirement changes; older builds are removed.
# Usage: build.sh OUT PIP   (PIP: a pip that can download pyroute2, e.g. .venv/bin/pip)
# Needs the network to Debian's archive (MIRROR, default the first URI of /etc/apt/sources*), so it runs outside the
# test sandbox: `make fleet-rootfs`, which `make integration` runs first.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUT PIP}
pip=${2:?usage: build.sh OUT PIP}
suite=bookworm
pyroute2=$(grep -E '^pyroute2' "$here/../../requirements.txt")
if [ -z "${MIRROR:-}" ]; then
  MIRROR=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p; s/^deb \(http[^ ]*\/debian\) .*/\1/p' | head -n 1 || true)
  MIRROR=${MIRROR:-http://deb.debian.org/debian}
fi
hash=$( (cd "$here" && cat build.sh packages fleet-network.service fleet-cgroup-rw.service sshd.conf; echo "$suite $pyroute2") | sha256sum | cut -c1-16)
mkdir -p "$out"
if [ -f "$out/$hash/done" ]; then
  echo "--- fleet root file system: $out/$hash (cached)"
  ln -sfn "$hash" "$out/current"
  exit 0
fi
for cmd in debootstrap systemd-nspawn; do
  command -v "$cmd" >/dev/null || { echo "build.sh: $cmd is missing (make tools installs it)" >&2; exit 1; }
done
work=$out/$hash.tmp
rm -rf "$work"
mkdir -p "$work"
start=$SECONDS
packages=$(grep -v '^#' "$here/packages" | paste -sd, -)
echo "--- fleet root file system: debootstrap $suite from $MIRROR (about a minute)"
if ! debootstrap --variant=minbase --include="$packages" "$suite" "$work/root" "$MIRROR" >"$work/debootstrap.log" 2>&1; then
  tail -n 30 "$work/debootstrap.log" >&2
  echo "build.sh: debootstrap failed (log: $work/debootstrap.log)" >&2
  exit 1
fi
root=$work/root
pyver=
for candidate in "$root"/usr/bin/python3.*; do
  case ${candidate##*/} in python3.[0-9] | python3.[0-9][0-9]) pyver=${candidate##*/} ;; esac
done
[ -n "$pyver" ] || { echo "build.sh: no python3.X in $root/usr/bin" >&2; exit 1; }
"$pip" install --quiet --no-deps --only-binary=:all: --python-version "${pyver#python}" \
  --target "$root/usr/local/lib/$pyver/dist-packages" "$pyroute2"
install -m 0644 "$here/fleet-network.service" "$root/etc/systemd/system/fleet-network.service"
install -m 0644 "$here/fleet-cgroup-rw.service" "$root/etc/systemd/system/fleet-cgroup-rw.service"
mkdir -p "$root/etc/systemd/system/sysinit.target.wants"
ln -sfn /etc/systemd/system/fleet-cgroup-rw.service "$root/etc/systemd/system/sysinit.target.wants/fleet-cgroup-rw.service"
mkdir -p "$root/etc/systemd/system/network-online.target.wants" "$root/etc/systemd/system/multi-user.target.wants"
ln -sfn /etc/systemd/system/fleet-network.service "$root/etc/systemd/system/network-online.target.wants/fleet-network.service"
# a host that waits for its network at boot, as servers do: network-online.target is part of the boot
ln -sfn /lib/systemd/system/network-online.target "$root/etc/systemd/system/multi-user.target.wants/network-online.target"
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer systemd-timesyncd.service; do
  ln -sfn /dev/null "$root/etc/systemd/system/$unit"
done
install -m 0644 "$here/sshd.conf" "$root/etc/ssh/sshd_config.d/fleet.conf"
# the journal kept across reboots (journalctl -b -1 shows the boot before)
mkdir -p "$root/var/log/journal"
rm -f "$root/etc/hostname"
# as the installer of a Debian host writes it (debootstrap writes none): ip netns exec binds a node's
# /etc/netns/<node>/hosts over it, and over nothing when it is missing
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
printf 'built %s in %ss: %s\n' "$(date -u +%FT%TZ)" "$((SECONDS - start))" "$packages" >"$work/done"
for old in "$out"/*; do
  case $(basename "$old") in "$hash.tmp" | current) ;; *) rm -rf "$old" ;; esac
done
mv "$work" "$out/$hash"
ln -sfn "$hash" "$out/current"
echo "--- fleet root file system: $out/$hash ($((SECONDS - start))s)"
