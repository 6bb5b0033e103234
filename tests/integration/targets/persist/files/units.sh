# shellcheck shell=bash
# Sourced by boot.sh and fakebin/systemctl: what systemd does with one of the collection's unit files, without
# systemd. run_unit NAME checks ConditionPathExists= and runs ExecStart= with the instance's specifiers (%i
# escaped, %I unescaped with systemd-escape) in the namespace of NetworkNamespacePath=; stop_unit NAME sends
# KillSignal= to the PID in PIDFile= and waits for it to end.
unit_file() {
  local name=$1
  if [[ $name == *@*.service ]]; then
    printf '%s' "/etc/systemd/system/${name%%@*}@.service"
  else
    printf '%s' "/etc/systemd/system/$name"
  fi
}

unit_value() {  # unit_value NAME KEY: the value of KEY= with the specifiers expanded
  local name=$1 key=$2 instance='' unescaped='' text
  if [[ $name == *@*.service ]]; then
    instance=${name#*@}
    instance=${instance%.service}
    unescaped=$(systemd-escape --unescape -- "$instance")
  fi
  text=$(sed -n "s/^$key=//p" "$(unit_file "$name")")
  text=${text//%I/$unescaped}
  printf '%s' "${text//%i/$instance}"
}

run_unit() {
  local name=$1 condition netns argv
  condition=$(unit_value "$name" ConditionPathExists)
  if [ -n "$condition" ] && [ ! -e "$condition" ]; then
    echo "units.sh: $name skipped, no $condition"
    return 0
  fi
  netns=$(unit_value "$name" NetworkNamespacePath)
  read -ra argv <<< "$(unit_value "$name" ExecStart)"
  echo "units.sh: $name: ${argv[*]}"
  if [ -n "$netns" ]; then
    nsenter --net="$netns" -- "${argv[@]}"
  else
    "${argv[@]}"
  fi
}

stop_unit() {
  local name=$1 pidfile signal pid
  # a unit whose file is gone (a node no longer persisted) is stopped by systemd all the same
  [ -e "$(unit_file "$name")" ] || return 0
  pidfile=$(unit_value "$name" PIDFile)
  signal=$(unit_value "$name" KillSignal)
  if [ -z "$pidfile" ] || [ ! -e "$pidfile" ]; then
    return 0
  fi
  pid=$(cat "$pidfile")
  kill "-${signal:-SIGTERM}" "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    if [ ! -d "/proc/$pid" ] || [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ]; then
      break
    fi
    sleep 0.05
  done
  rm -f "$pidfile"
}
