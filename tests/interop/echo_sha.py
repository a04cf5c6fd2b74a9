#!/usr/bin/python3
"""Streams a file into an echo service while reading the echo back.

    echo_sha.py HOST PORT FILE TIMEOUT

Prints the number of bytes that came back and their sha256: equal to the
file's only if every byte went there and back right (soak.sh, tcp_bulk.sh).
"""
import hashlib
import socket
import sys
import threading

host, port, path, limit = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
s = socket.create_connection((host, port), timeout=limit)


def sender():
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 18)
            if not b:
                break
            s.sendall(b)
    s.shutdown(socket.SHUT_WR)


threading.Thread(target=sender, daemon=True).start()
h, n = hashlib.sha256(), 0
while True:
    b = s.recv(1 << 18)
    if not b:
        break
    h.update(b)
    n += len(b)
print(n, h.hexdigest())
