#!/usr/bin/env bash
# What systemd would do at boot, without systemd: for each enabled unit of the collection (a link in
# multi-user.target.wants), check its ConditionPathExists= and run its ExecStart= with the instance's
# specifiers (%i escaped, %I unescaped with systemd-escape) in the namespace of NetworkNamespacePath=.
# Node units first (services require them).
set -euo pipefail
wants=/etc/systemd/system/multi-user.target.wants
for pattern in 'nsforge-node@*.service' 'nsforge-service-*.service'; do
  for link in "$wants"/$pattern; do
    [ -e "$link" ] || continue
    unit=$(basename "$link")
    file=$(readlink -f "$link")
    instance=
    if [[ $unit == *@*.service ]]; then
      instance=${unit#*@}
      instance=${instance%.service}
    fi
    unescaped=$(systemd-escape --unescape -- "$instance")
    expand() { local text=${1//%I/$unescaped}; printf '%s' "${text//%i/$instance}"; }
    condition=$(expand "$(sed -n 's/^ConditionPathExists=//p' "$file")")
    if [ -n "$condition" ] && [ ! -e "$condition" ]; then
      echo "boot.sh: $unit skipped, no $condition"
      continue
    fi
    netns=$(expand "$(sed -n 's/^NetworkNamespacePath=//p' "$file")")
    read -ra argv <<< "$(expand "$(sed -n 's/^ExecStart=//p' "$file")")"
    echo "boot.sh: $unit: ${argv[*]}"
    if [ -n "$netns" ]; then
      nsenter --net="$netns" -- "${argv[@]}"
    else
      "${argv[@]}"
    fi
  done
done
