#!/usr/bin/env python3
"""TCP listeners for the `tapir check` tests: one per ADDR:PORT argument
(ADDR 0.0.0.0 = every address; an IPv6 ADDR in brackets, [::] = every IPv6
address, IPv6 only).  Prints 'ready' once all listen; runs until
killed (the caller bounds it with timeout).  Never accepts: the kernel
completes handshakes into the backlog, which is all a port check sees."""
import socket
import sys
import time

socks = []
for arg in sys.argv[1:]:
    addr, port = arg.rsplit(":", 1)
    if addr.startswith("["):
        addr = addr[1:-1]
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    s.listen(4096)
    socks.append(s)
print("ready", len(socks), flush=True)
while True:
    time.sleep(3600)
