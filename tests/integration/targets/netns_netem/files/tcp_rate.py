# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Measure the rate of one TCP transfer between two nodes (network namespaces).

    python3 tcp_rate.py measure SENDER RECEIVER ADDRESS [--seconds S] [--port P]

starts a receiver in node RECEIVER (ip netns exec) listening on ADDRESS:P, then a sender in node SENDER that writes
as fast as TCP lets it. The receiver counts the bytes that arrive during S seconds from the first one and prints, as
JSON: bytes, seconds (measured by the receiver, from the first byte to the last one counted) and bits_per_second.
It then resets the connection, which ends the sender; a helper still running after that is ended by its PID.
The sub-commands `receive` and `send` are the two halves, run inside the nodes.
"""

import argparse
import json
import os
import socket
import struct
import subprocess
import sys
import time

CHUNK = 65536


def receive(address, port, seconds):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, port))
    listener.listen(1)
    listener.settimeout(30)
    print('ready', flush=True)
    conn, _peer = listener.accept()
    conn.settimeout(10)
    total = 0
    first = last = None
    while True:
        data = conn.recv(CHUNK)
        now = time.monotonic()
        if not data:
            break
        if first is None:
            first = now
        if now - first > seconds:
            break
        total += len(data)
        last = now
    # a reset, not a close: the sender's queued bytes are dropped and its next write fails at once
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    conn.close()
    listener.close()
    elapsed = (last - first) if first is not None and last is not None else 0.0
    print(json.dumps({'bytes': total, 'seconds': elapsed,
                      'bits_per_second': (total * 8 / elapsed) if elapsed > 0 else 0.0}), flush=True)


def send(address, port, seconds):
    deadline = time.monotonic() + seconds + 20
    for _attempt in range(50):
        try:
            sock = socket.create_connection((address, port), timeout=5)
            break
        except OSError:
            time.sleep(0.1)
    else:
        sys.exit('could not connect to %s:%d' % (address, port))
    payload = b'\0' * CHUNK
    sock.settimeout(5)
    try:
        while time.monotonic() < deadline:
            sock.sendall(payload)
    except OSError:
        pass        # the receiver reset the connection: its count is done
    sock.close()


def measure(sender, receiver, address, port, seconds):
    here = os.path.abspath(__file__)
    rx = subprocess.Popen(['ip', 'netns', 'exec', receiver, sys.executable, here, 'receive', address,
                           '--port', str(port), '--seconds', str(seconds)], stdout=subprocess.PIPE, text=True)
    tx = None
    try:
        if rx.stdout.readline().strip() != 'ready':
            sys.exit('the receiver did not start')
        tx = subprocess.Popen(['ip', 'netns', 'exec', sender, sys.executable, here, 'send', address,
                               '--port', str(port), '--seconds', str(seconds)])
        out, _err = rx.communicate(timeout=seconds + 30)
        if rx.returncode != 0:
            sys.exit('the receiver failed (exit status %d)' % rx.returncode)
        tx.wait(timeout=30)
    finally:
        for proc in (tx, rx):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
    result = json.loads(out.strip().splitlines()[-1])
    if result['bytes'] == 0:
        sys.exit('nothing arrived')
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('mode', choices=['measure', 'receive', 'send'])
    parser.add_argument('args', nargs='+')
    parser.add_argument('--seconds', type=float, default=3.0)
    parser.add_argument('--port', type=int, default=5201)
    opts = parser.parse_args()
    if opts.mode == 'measure':
        sender, receiver, address = opts.args
        measure(sender, receiver, address, opts.port, opts.seconds)
    elif opts.mode == 'receive':
        receive(opts.args[0], opts.port, opts.seconds)
    else:
        send(opts.args[0], opts.port, opts.seconds)


if __name__ == '__main__':
    main()
