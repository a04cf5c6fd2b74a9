"""The programs of run_crash.sh.

  crash_peer.py hold PORT            (kernel side) accepts one connection,
                                     prints "accepted", then how it ended:
                                     "FIN" (EOF) or "RST" (a reset)
  crash_peer.py bind PORT            binds and listens on PORT; prints "bound"
                                     or the errno's name, then sleeps
  crash_peer.py client ADDR PORT GO  connects, prints "connected", waits for
                                     the path GO, then prints what recv and
                                     then send said: "recv ERRNO|EOF|DATA",
                                     "send ERRNO"
"""
import errno
import os
import socket
import sys
import time

from inet import listen_tcp  # tests/interop, on PYTHONPATH (lib.sh)


def name(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def hold(port):
    s = listen_tcp(port, 4)
    c, _ = s.accept()
    print("accepted", flush=True)
    c.settimeout(60)
    try:
        while c.recv(65536):
            pass
        print("FIN", flush=True)
    except ConnectionResetError:
        print("RST", flush=True)
    except socket.timeout:
        print("HANG", flush=True)


def bind(port):
    s = socket.socket()
    try:
        s.bind(("0.0.0.0", port))
        s.listen(4)
        print("bound", flush=True)
    except OSError as e:
        print(name(e), flush=True)
    time.sleep(60)


def client(addr, port, go):
    c = socket.create_connection((addr, port), timeout=30)
    print("connected", flush=True)
    while not os.path.exists(go):
        time.sleep(0.05)
    c.settimeout(30)
    try:
        b = c.recv(1)
        print("recv", "DATA" if b else "EOF", flush=True)
    except socket.timeout:
        print("recv HANG", flush=True)
    except OSError as e:
        print("recv", name(e), flush=True)
    try:
        for _ in range(1000):
            c.send(b"x" * 65536)
        print("send HANG", flush=True)
    except socket.timeout:
        print("send HANG", flush=True)
    except OSError as e:
        print("send", name(e), flush=True)


{"hold": lambda a: hold(int(a[0])), "bind": lambda a: bind(int(a[0])),
 "client": lambda a: client(a[0], int(a[1]), a[2])}[sys.argv[1]](sys.argv[2:])
