"""The programs of run_attach.sh, each under its own `tapir run --attach`.

  attach_peer.py server PORT FILE     accepts; sends FILE to each connection
                                      and holds it open until the peer closes
  attach_peer.py client ADDR[,ADDR...] PORT SHA HOLD
                                      connects to each ADDR in turn, reads the
                                      whole FILE, checks its sha256, prints
                                      "got ADDR from ME", and holds the
                                      connections until the path HOLD exists
"""
import hashlib
import os
import socket
import sys
import threading
import time


def serve(port, path):
    data = open(path, "rb").read()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(16)
    print("listening", flush=True)

    def one(c):
        c.sendall(len(data).to_bytes(8, "big") + data)
        while c.recv(4096):
            pass
        c.close()

    while True:
        c, _ = s.accept()
        threading.Thread(target=one, args=(c,), daemon=True).start()


def client(addrs, port, sha, hold):
    held = []
    for addr in addrs:
        c = socket.create_connection((addr, port), timeout=30)
        n = int.from_bytes(recv_all(c, 8), "big")
        got = hashlib.sha256(recv_all(c, n)).hexdigest()
        if got != sha:
            sys.exit(f"{addr}: sha256 {got}, not {sha}")
        me = c.getsockname()
        print(f"got {addr} from {me[0]}:{me[1]}", flush=True)
        held.append(c)
    while not os.path.exists(hold):
        time.sleep(0.05)
    for c in held:
        c.close()


def recv_all(c, n):
    buf = bytearray()
    while len(buf) < n:
        b = c.recv(min(65536, n - len(buf)))
        if not b:
            sys.exit("EOF early")
        buf += b
    return bytes(buf)


if sys.argv[1] == "server":
    serve(int(sys.argv[2]), sys.argv[3])
else:
    client(sys.argv[2].split(","), int(sys.argv[3]), sys.argv[4], sys.argv[5])
