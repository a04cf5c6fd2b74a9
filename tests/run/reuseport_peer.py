"""The programs of run_reuseport.sh.

  reuseport_peer.py serve NAME PORT REUSE   binds PORT (SO_REUSEPORT when
                     REUSE is 1), prints "listening" or the errno's name,
                     and answers each connection with NAME and a close
  reuseport_peer.py ask ADDR PORT N         (kernel side) N connections, one
                     line each: the name that answered
"""
import errno
import socket
import sys

from inet import recv_all  # tests/interop, on PYTHONPATH (lib.sh)


def serve(name, port, reuse):
    s = socket.socket()
    if reuse:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        s.bind(("0.0.0.0", port))
        s.listen(64)
    except OSError as e:
        print(errno.errorcode.get(e.errno, str(e.errno)), flush=True)
        return
    print("listening", flush=True)
    while True:
        c, _ = s.accept()
        c.sendall(name.encode())
        c.close()


def ask(addr, port, n):
    for _ in range(n):
        c = socket.create_connection((addr, port), timeout=10)
        b = recv_all(c, 64)
        print(b.decode() or "-", flush=True)
        c.close()


if sys.argv[1] == "serve":
    serve(sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1")
else:
    ask(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
