"""The programs of run_cork.sh.

  cork_peer.py server PORT      (kernel side) accepts one connection; for
                                each of 100 and 3000 bytes: reads that many,
                                answers "k"; prints "got N" each time
  cork_peer.py client ADDR PORT (under tapir run) TCP_CORK on, writes 40 then
                                60 bytes and waits for the answer (only
                                the 200 ms ceiling sends them); then 3000
                                bytes, the same; then uncorks and sends 30
                                bytes with MSG_MORE and 20 without: one
                                50-byte segment (MSG_MORE corks one send)
"""
import time
import socket
import sys

from inet import listen_tcp  # tests/interop, on PYTHONPATH (lib.sh)


def recv_n(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            sys.exit(f"EOF after {len(b)} of {n}")
        b += d
    return b


def server(port):
    s = listen_tcp(port, 1)
    c, _ = s.accept()
    for n in (100, 3000, 50):
        recv_n(c, n)
        print("got", n, flush=True)
        c.sendall(b"k")
    c.recv(1)


def client(addr, port):
    c = socket.create_connection((addr, port), timeout=20)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    c.send(b"a" * 40)
    c.send(b"b" * 60)
    if recv_n(c, 1) != b"k":
        sys.exit("no answer to 100 bytes")
    c.sendall(b"c" * 3000)
    if recv_n(c, 1) != b"k":
        sys.exit("no answer to 3000 bytes")
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
    c.send(b"d" * 30, socket.MSG_MORE)
    time.sleep(0.02)  # without MSG_MORE's cork the 30 bytes would leave now
    c.send(b"e" * 20)
    if recv_n(c, 1) != b"k":
        sys.exit("no answer to 50 bytes")
    print("answered", flush=True)
    c.close()


if sys.argv[1] == "server":
    server(int(sys.argv[2]))
else:
    client(sys.argv[2], int(sys.argv[3]))
