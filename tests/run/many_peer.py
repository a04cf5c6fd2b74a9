"""The programs of run_many.sh.

  many_peer.py serve PORT N [GO]   (under tapir run) an echo server on one
                                   selector that answers its first N
                                   requests together: prints "listening";
                                   with GO, accepts nothing until the file
                                   GO exists (its backlog holds them all)
  many_peer.py burst ADDR PORT N [GO]  (kernel side) N connections at once;
                                   one byte on each (then GO created), all
                                   echoes read, all closed at once, then one
                                   more request: prints "echoed N" and
                                   "after ok"
"""
import os
import selectors
import socket
import sys
import time


def serve(port, n, go=None):
    sel = selectors.DefaultSelector()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(1024)
    ls.setblocking(False)
    sel.register(ls, selectors.EVENT_READ)
    print("listening", flush=True)
    for _ in range(900):  # at most 90 s: the test's own timeout ends it
        if go is None or os.path.exists(go):
            break
        time.sleep(0.1)
    held = []  # the first N requests are answered together
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if s is ls:
                try:
                    c, _ = ls.accept()
                except BlockingIOError:
                    continue
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ)
                continue
            try:
                b = s.recv(4096)
            except BlockingIOError:
                continue
            except ConnectionError:
                b = b""
            if not b:
                sel.unregister(s)
                s.close()
            elif n and len(held) < n:
                held.append((s, b))
                if len(held) == n:
                    for c, d in held:
                        c.send(d)
            else:
                s.send(b)


def burst(addr, port, n, go=None):
    cs = [socket.create_connection((addr, port), timeout=30) for _ in range(n)]
    for c in cs:
        c.send(b"x")
    if go is not None:
        open(go, "w").close()
    got = sum(1 for c in cs if c.recv(1) == b"x")
    print("echoed", got, flush=True)
    for c in cs:
        c.close()
    c = socket.create_connection((addr, port), timeout=10)
    c.settimeout(10)
    c.send(b"y")
    print("after", "ok" if c.recv(1) == b"y" else "bad", flush=True)


if sys.argv[1] == "serve":
    serve(int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:5])
else:
    burst(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), *sys.argv[5:6])
