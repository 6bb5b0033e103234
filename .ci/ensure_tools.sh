#!/usr/bin/env bash
# Install Debian packages for the commands the build needs, only when a command
# is missing.  `apt-get update` runs once, before the first install.
# Usage: .ci/ensure_tools.sh COMMAND:PACKAGE [COMMAND:PACKAGE ...]
set -euo pipefail

missing=()
for pair in "$@"; do
  cmd=${pair%%:*}
  pkg=${pair#*:}
  if ! command -v "$cmd" >/dev/null 2>&1; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]} (run as root or install them)" >&2
  exit 1
fi

echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packages such as openssh-server start their service when installed; the tests
# start their own daemons inside sandboxes, so forbid service starts during the
# install (policy-rc.d exit 101) unless the machine already has a policy.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 0755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
