#!/usr/bin/python3
"""The kernel's side of the --forward/--outbound tests: small scripted
servers and clients whose every outcome is one line.

    fwd_peer.py serve ADDR PORT MODE LOG   a server (ADDR IPv4 or IPv6), one
                                           thread a connection;
                                           one line a connection in LOG
      echo    what arrives goes back; after the client's FIN, FIN ("eof N")
      greet   sends "hello\\n" and FIN at once, then reads to EOF ("got N")
      rst     reads one byte, then closes with SO_LINGER {1, 0} ("sent-rst")
      watch   sends "!" (the relay has connected both sides), then reads
              to EOF ("eof N") or to a reset ("reset")
      slow    waits a second, then reads to EOF 4 KiB a call ("eof N"):
              meanwhile every buffer on the way fills (backpressure)
    fwd_peer.py client HOST PORT ACTION    prints what happened
      reset   sends a byte, reads: "reset", "eof" or "data"
      greet   reads to EOF, then sends 13 bytes and FIN, reads to EOF: "greet-ok"
      abort   waits for watch's "!", sends 3 bytes, then closes with
              SO_LINGER {1, 0}: "done".  (Without the wait the reset can
              reach tapir before its relay has taken the connection: then
              the listener drops it, as BSD does (UNP 5.11), and the server
              never sees it.)
      many=N  N connections at once through an echo, 4000 bytes each: "ok K/N"
      bulk=M  sends M MiB, FIN, reads to EOF: "sent N"

Every socket call is bounded by a timeout (FWD_TIMEOUT seconds, default
20); a hung step prints "timeout".
"""
import os
import socket
import struct
import sys
import threading
import time

LINGER0 = struct.pack("ii", 1, 0)
TIMEOUT = float(os.environ.get("FWD_TIMEOUT", "20"))


def read_all(s):
    return len(read_all_bytes(s))


def serve_one(c, mode, log, lock):
    c.settimeout(TIMEOUT)
    try:
        if mode == "echo":
            n = 0
            while True:
                b = c.recv(65536)
                if not b:
                    break
                c.sendall(b)
                n += len(b)
            c.shutdown(socket.SHUT_WR)
            line = "eof %d" % n
        elif mode == "greet":
            c.sendall(b"hello\n")
            c.shutdown(socket.SHUT_WR)
            line = "got %d" % read_all(c)
        elif mode == "rst":
            c.recv(1)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
            line = "sent-rst"
        elif mode == "slow":
            time.sleep(1)
            n = 0
            while True:
                b = c.recv(4096)
                if not b:
                    break
                n += len(b)
            line = "eof %d" % n
        else:
            c.sendall(b"!")
            line = "eof %d" % read_all(c)
    except ConnectionResetError:
        line = "reset"
    except OSError as e:
        line = "error %s" % e
    c.close()
    with lock:
        with open(log, "a") as f:
            f.write(line + "\n")


def serve(addr, port, mode, log):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(512)
    lock = threading.Lock()
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve_one, args=(c, mode, log, lock), daemon=True).start()


def connect(host, port):
    return socket.create_connection((host, port), timeout=TIMEOUT)


def one_echo(host, port, i, ok, lock):
    data = (("%06d" % i).encode() * 700)[:4000]
    try:
        s = connect(host, port)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        got = read_all_bytes(s)
        s.close()
        if got == data:
            with lock:
                ok[0] += 1
    except OSError:
        pass


def client(host, port, action):
    if action.startswith("many="):
        n = int(action[5:])
        ok, lock = [0], threading.Lock()
        ts = [threading.Thread(target=one_echo, args=(host, port, i, ok, lock)) for i in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return "ok %d/%d" % (ok[0], n)
    if action.startswith("bulk="):
        n = int(action[5:]) << 20
        s = connect(host, port)
        s.sendall(bytes(range(256)) * (n // 256))
        s.shutdown(socket.SHUT_WR)
        read_all(s)
        return "sent %d" % n
    if action == "reset":
        try:  # the reset may come before connect() has looked (SO_ERROR)
            s = connect(host, port)
            s.sendall(b"x")
            b = s.recv(100)
            return "data" if b else "eof"
        except ConnectionResetError:
            return "reset"
    s = connect(host, port)
    if action == "greet":
        first = read_all_bytes(s)
        if first != b"hello\n":
            return "greet-bad %r" % first
        s.sendall(b"late data 123")
        s.shutdown(socket.SHUT_WR)
        return "greet-ok" if read_all(s) == 0 else "greet-bad tail"
    if action == "abort":
        if s.recv(1) != b"!":
            return "abort-bad: no ready byte"
        s.sendall(b"abc")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
        s.close()
        return "done"
    return "unknown action"


def read_all_bytes(s):
    got = b""
    while True:
        b = s.recv(65536)
        if not b:
            return got
        got += b


def main():
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    try:
        print(client(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
    except socket.timeout:
        print("timeout")
    except OSError as e:
        print("error %s" % e)


main()
