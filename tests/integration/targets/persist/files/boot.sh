#!/usr/bin/env bash
# What systemd would do at boot, without systemd: run every enabled unit of the collection (a link in
# multi-user.target.wants), node units first (services require them). See units.sh.
set -euo pipefail
# shellcheck source=SCRIPTDIR/units.sh
. "$(dirname "$0")/units.sh"
wants=/etc/systemd/system/multi-user.target.wants
for pattern in 'nsforge-node@*.service' 'nsforge-service-*.service'; do
  for link in "$wants"/$pattern; do
    [ -e "$link" ] || continue
    run_unit "$(basename "$link")"
  done
done
