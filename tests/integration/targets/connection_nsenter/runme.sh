#!/usr/bin/env bash
# Integration test of the nsforge.linux.nsenter connection plugin: nodes and
# services built by the collection's modules are entered from this host
# (host connection local) and through an sshd on 127.0.0.1 (host connection
# ssh), as a remote controller would. Runs inside tests/sandbox.sh.
set -euo pipefail

out=${OUTPUT_DIR:?OUTPUT_DIR is not set}
python=$(command -v python)
here=$(pwd)
setup_inventory=$(cd ../.. && pwd)/inventory.ini

if [ "$(hostname)" != nsforge-sandbox ]; then
  echo "runme.sh: run me inside tests/sandbox.sh (tests/integration/run.sh does)" >&2
  exit 1
fi

sshd_pid=
stop_sshd() {
  if [ -n "$sshd_pid" ]; then
    kill "$sshd_pid" 2>/dev/null || true
  fi
}
trap stop_sshd EXIT

# no playbook may hang the test run
playbook() {
  local start=$SECONDS
  timeout 600 ansible-playbook "$@"
  echo "--- playbook done in $((SECONDS - start))s"
}

playbook -i "$setup_inventory" setup.yml

# a file of two transfer chunks (8 MiB each; the second one partial), with bytes of every value
big=$out/big.bin
dd if=/dev/urandom of="$big" bs=1M count=9 status=none
printf 'tail\0\377' >> "$big"
big_sha1=$(sha1sum "$big" | cut -d' ' -f1)
big_size=$(stat -c %s "$big")

# A throwaway sshd on 127.0.0.1 that lets root in with a throwaway key
port=22234
ssh-keygen -q -t ed25519 -N '' -f "$out/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$out/client_key"
# sshd's StrictModes refuses a key file below the world-writable /tmp: keep it in the sandbox's /run
keys=/run/nsenter-test-ssh
mkdir -p /run/sshd "$keys"
chmod 0700 "$keys"
cp "$out/client_key.pub" "$keys/authorized_keys"
cat > "$out/sshd_config" <<CONFIG
ListenAddress 127.0.0.1
Port $port
HostKey $out/host_key
PidFile $out/sshd.pid
AuthorizedKeysFile $keys/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
LogLevel ERROR
CONFIG
/usr/sbin/sshd -f "$out/sshd_config" -E "$out/sshd.log"
for _ in $(seq 50); do
  [ -s "$out/sshd.pid" ] && break
  sleep 0.1
done
sshd_pid=$(cat "$out/sshd.pid")

inventory=$out/inventory.yml
# the managed host reached through the test's sshd
ssh_vars="ansible_nsenter_host_connection: ansible.builtin.ssh, ansible_host: 127.0.0.1, ansible_port: $port"
ssh_vars+=", ansible_user: root, ansible_ssh_private_key_file: $out/client_key"
ssh_vars+=", ansible_ssh_common_args: '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'"
# root inside node tenant is an unprivileged ID on the host: a Python and a temporary folder it can use
tenant_vars="ansible_python_interpreter: /usr/bin/python3, ansible_remote_tmp: /run/nsenter-tmp/ansible, ansible_pipelining: true"
cat > "$inventory" <<INVENTORY
all:
  hosts:
    localhost:
      ansible_connection: local
      ansible_python_interpreter: $python
  children:
    local:
      hosts:
        red: {ansible_nsenter_node: red, ansible_pipelining: true}
        blue: {ansible_nsenter_node: blue}
        tenant: {ansible_nsenter_node: tenant, $tenant_vars}
        svc1: {ansible_nsenter_service: svc1}
    remote:
      hosts:
        ssh-red: {ansible_nsenter_node: red, ansible_pipelining: true}
        ssh-blue: {ansible_nsenter_node: blue}
        ssh-tenant: {ansible_nsenter_node: tenant, $tenant_vars}
        ssh-svc1: {ansible_nsenter_service: svc1}
      vars: {$ssh_vars}
    bad:
      hosts:
        ghost: {ansible_nsenter_node: ghost}
        svc-stopped: {ansible_nsenter_service: svc-stopped}
        svc-dead: {ansible_nsenter_service: svc-dead}
        ssh-ghost: {ansible_nsenter_node: ghost, $ssh_vars}
        svc-none: {ansible_nsenter_service: svc-none}
        bad-kinds: {ansible_nsenter_node: red, ansible_nsenter_namespaces: [net, bogus]}
        missing-kind: {ansible_nsenter_node: red, ansible_nsenter_namespaces: [net, pid]}
        bad-name: {ansible_nsenter_node: ../etc}
        both: {ansible_nsenter_node: red, ansible_nsenter_service: svc1}
        become-other: {ansible_nsenter_node: red, ansible_become: true, ansible_become_user: nobody}
        bad-conn: {ansible_nsenter_node: red, ansible_nsenter_host_connection: nosuch}
    inside:
      children: {local: {}, remote: {}, bad: {}}
      vars:
        ansible_connection: nsforge.linux.nsenter
        ansible_python_interpreter: $python
INVENTORY

export ANSIBLE_SSH_CONTROL_PATH_DIR=$out/ssh-cp
extra=(-e "big_file=$big" -e "big_sha1=$big_sha1" -e "big_size=$big_size" -e "fetch_dir=$out/fetched")

echo "--- inside nodes and a service, host connection local"
playbook -i "$inventory" "$here/inside.yml" -e prefix= "${extra[@]}"

echo "--- the same through sshd on 127.0.0.1, host connection ssh"
playbook -i "$inventory" "$here/inside.yml" -e prefix=ssh- "${extra[@]}"
playbook -i "$inventory" "$here/remote.yml"

echo "--- targets that cannot be entered"
playbook -i "$inventory" "$here/errors.yml"
