#!/usr/bin/env bash
# Security checks (security.yml), then: the secrets never appear in the output
# of that run with --diff -v, nor in any state file; each module run as
# `nobody` fails with a clear message, not a traceback.
# Runs inside tests/sandbox.sh (tests/integration/run.sh does).
set -euo pipefail

# shellcheck source=SCRIPTDIR/../setup_runme/files/in_sandbox.sh
. ../setup_runme/files/in_sandbox.sh
out=${OUTPUT_DIR:-$(mktemp -d)}
collections=${ANSIBLE_COLLECTIONS_PATH%%:*}

timeout 300 ansible-playbook --diff -v security.yml >"$out/security.log" 2>&1 || { cat "$out/security.log"; exit 1; }
echo "security.yml: passed"
# The playbook spells the secrets as templates, so only a leak shows them whole.
if grep -n -e 's3cr3t-first-9f2c41' -e 's3cr3t-second-77ab10' "$out/security.log"; then
  echo "a secret appears in the output of the run (above)" >&2
  exit 1
fi
grep -q 'SECRET_TOKEN' "$out/security.log" || { echo "the env option is not in the output at all: nothing was checked" >&2; exit 1; }
# (namespace handles, nsfs mounts, are no files to read)
if find /run/nsforge /var/log/nsforge /etc/netns -not -fstype nsfs -type f -exec grep -l -e 's3cr3t' {} +; then
  echo "a secret is in a state or log file (above)" >&2
  exit 1
fi
echo "secrets: in no output, diff, state file or log"

# Each module as nobody: a clear message, no traceback.
args=/run/sec-args
mkdir "$args"
chmod 0755 "$args"
python - "$args" <<'PY'
import json, sys
cases = {'netns': {'name': 'nobody1'}, 'nsproc': {'name': 'nobody2', 'command': ['true']},
         'uidmap': {'namespace': 'nobody3', 'uid_map': [{'inside': 0, 'outside': 300000, 'count': 1}]},
         'nsmount': {'namespace': 'nobody4'}, 'nsinfo': {}}
for module, params in cases.items():
    # as Ansible passes them, with the module's name for its messages
    params['_ansible_module_name'] = 'nsforge.linux.' + module
    with open('%s/%s.json' % (sys.argv[1], module), 'w') as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': params}, handle)
PY
chmod 0644 "$args"/*.json
# The checkout (and its virtual environment) may sit in a folder that only root may enter (a clone in /root,
# or in a folder made by mktemp -d): nobody runs the system's python 3 with read-only binds of the installed
# collection and of the virtual environment's packages, in a folder of this sandbox's /run that anyone may enter.
site=$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
mkdir -p /run/sec-lib/collections /run/sec-lib/site
chmod 0755 /run/sec-lib /run/sec-lib/collections /run/sec-lib/site
mount --bind -o ro "$collections" /run/sec-lib/collections
mount --bind -o ro "$site" /run/sec-lib/site
collections=/run/sec-lib/collections
site=/run/sec-lib/site
for module in netns nsproc uidmap nsmount nsinfo; do
  rc=0
  setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$args" PYTHONPATH="$collections:$site" \
    /usr/bin/python3 -m "ansible_collections.nsforge.linux.plugins.modules.$module" "$args/$module.json" \
    >"$out/nobody-$module.out" 2>"$out/nobody-$module.err" || rc=$?
  if ! python - "$module" "$out/nobody-$module.out" "$out/nobody-$module.err" <<'PY'
import json, sys
out, err = (open(path).read() for path in sys.argv[2:])
result = json.loads(out)
assert result.get('failed') is True, result
assert result.get('msg', '').startswith('nsforge.linux.%s needs root on the managed host (running as uid 65534)'
                                        % sys.argv[1]), result
assert 'exception' not in result and 'Traceback' not in out + err, (result, err)
PY
  then
    echo "$module as nobody (rc $rc):" >&2
    cat "$out/nobody-$module.out" "$out/nobody-$module.err" >&2
    exit 1
  fi
  echo "$module as nobody: $(jq -r .msg "$out/nobody-$module.out")"
done
for left in /run/netns/nobody1 /run/nsforge/services/nobody2.json /run/nsforge/nodes/nobody3 /run/nsforge/nodes/nobody4; do
  if [ -e "$left" ]; then
    echo "a module run as nobody changed the host: $left" >&2
    exit 1
  fi
done
