"""The peer of prog_sockapi (tests/run/run_sockapi.sh): TCP echo (a
connection whose data starts with RST is closed with RST) and UDP echo on
ADDR:PORT, until killed.  Bounded: at most 64 connections at once."""
import socket
import struct
import sys
import threading

addr, port = sys.argv[1], int(sys.argv[2])
sem = threading.Semaphore(64)


def serve(c):
    with sem:
        try:
            while True:
                d = c.recv(4096)
                if not d:
                    break
                if d.startswith(b"RST"):
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    break
                c.sendall(d)
        except OSError:
            pass
        c.close()


def udp():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((addr, port))
    while True:
        d, a = u.recvfrom(2048)
        u.sendto(d, a)


l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((addr, port))
l.listen(16)
threading.Thread(target=udp, daemon=True).start()
print("ready", flush=True)
while True:
    c, _ = l.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
