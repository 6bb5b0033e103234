# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A TCP transfer between two nodes, measured by the receiver (the standard library only; run with ip netns exec).

  xfer.py recv ADDRESS PORT SECONDS   accept one connection, count the bytes that arrive in SECONDS from the first
                                      one, close (the sender sees the connection go), print {"bytes", "seconds"}
  xfer.py send ADDRESS PORT           connect (retrying while the receiver starts), send until the receiver closes
"""

from __future__ import annotations

import json
import socket
import sys
import time


def recv(address, port, seconds):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((address, port))
    server.listen(1)
    server.settimeout(30)
    conn, _peer = server.accept()
    conn.settimeout(10)
    start = None
    total = 0
    while True:
        data = conn.recv(1 << 16)
        now = time.monotonic()
        if not data:
            break
        if start is None:
            start = now
            continue
        if now - start > seconds:
            break
        total += len(data)
    conn.close()
    server.close()
    print(json.dumps({'bytes': total, 'seconds': seconds}))


def send(address, port):
    deadline = time.monotonic() + 20
    while True:
        try:
            sock = socket.create_connection((address, port), timeout=5)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    sock.settimeout(30)
    chunk = b'x' * (1 << 16)
    try:
        while True:
            sock.sendall(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass


if __name__ == '__main__':
    if sys.argv[1] == 'recv':
        recv(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        send(sys.argv[2], int(sys.argv[3]))
