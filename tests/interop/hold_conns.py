"""hold_conns.py ADDR GO: 200 non-blocking connects to ADDR port 9 (the
discard service), held open until the file GO exists (at most 30 s), then
"held N".  The slow-accept tests fill a listener's backlog with it."""
import os
import socket
import sys
import time

family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
socks = []
for i in range(200):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setblocking(False)
    s.connect_ex((sys.argv[1], 9))
    socks.append(s)
for i in range(300):  # held until the test has looked (bounded)
    if os.path.exists(sys.argv[2]):
        break
    time.sleep(0.1)
print("held", len(socks))
