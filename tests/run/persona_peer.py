"""The program of run_persona.sh, under `tapir run --attach`: listens on
LISTEN_PORT, connects to the kernel's echo server at ADDR:PORT (prints
"client PORT" with its own port, once the echo came back), then serves one
connection from the kernel (echoes a line) and waits for the path GO.

  persona_peer.py LISTEN_PORT ADDR PORT GO
"""
import os
import socket
import sys
import time

lport, addr, port, go = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
ls = socket.socket()
ls.bind(("0.0.0.0", lport))
ls.listen(4)
c = socket.create_connection((addr, port), timeout=20)
c.sendall(b"ping\n")
if c.recv(64) != b"ping\n":
    sys.exit("no echo")
print("client", c.getsockname()[1], flush=True)
s, _ = ls.accept()
s.sendall(s.recv(64))
print("served", flush=True)
while not os.path.exists(go):
    time.sleep(0.05)
s.close()
c.close()
