# shellcheck shell=bash
# Helpers of tests/galaxy/run.sh and tests/galaxy/in_sandbox.sh (sourced, not run).
#
#   step NAME COMMAND [ARGS...]  run COMMAND (a function of the script, usually) in a subshell with errexit on, print a
#                                line with its duration; at its failure, print which step failed and exit 1
#   fail MESSAGE                 print MESSAGE and return 1 (inside a step: the step fails)
#   summary                      print every step's duration on one line
#
# The subshell matters: bash ignores errexit in a function called as `f || ...`, so a step whose third command
# failed would run on; `( set -e; f )` called on its own line keeps errexit in force inside f.

galaxy_label=${galaxy_label:-galaxy}
galaxy_times=()
galaxy_start_us=${EPOCHREALTIME/[.,]/}

galaxy_elapsed() {  # START_US: seconds since START_US, one decimal
  local us=$(( ${EPOCHREALTIME/[.,]/} - $1 ))
  printf '%d.%d' $(( us / 1000000 )) $(( us % 1000000 / 100000 ))
}

fail() {
  echo "$galaxy_label: $*" >&2
  return 1
}

step() {
  local name=$1 start rc seconds
  shift
  echo "--- $galaxy_label: $name"
  start=${EPOCHREALTIME/[.,]/}
  set +e
  (
    set -e
    "$@"
  )
  rc=$?
  set -e
  seconds=$(galaxy_elapsed "$start")
  if [ "$rc" -ne 0 ]; then
    echo "=== $galaxy_label: step '$name' FAILED after ${seconds}s (exit $rc); later steps not run" >&2
    exit 1
  fi
  echo "=== $galaxy_label: step '$name' ok (${seconds}s)"
  galaxy_times+=("$name ${seconds}s")
}

summary() {
  local joined
  joined=$(printf '%s, ' "${galaxy_times[@]}")
  echo "=== $galaxy_label: all ${#galaxy_times[@]} steps passed in $(galaxy_elapsed "$galaxy_start_us")s (${joined%, })"
}
