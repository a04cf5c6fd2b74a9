#!/usr/bin/env python3
"""UDP services for the `tapir check --udp` test: one per PORT:KIND
argument, on ADDR (the first argument).  Each answers only a request of
its protocol, so an answer shows that the probe was one:
  echo    any datagram, sent back (RFC 862)
  ntp     an NTP client request (48 bytes or more, mode 3: RFC 5905 7.3)
          gets a server reply (mode 4) with the request's transmit time as
          its origin
  snmp    a BER SEQUENCE (0x30: any SNMP message, RFC 1157 4 / RFC 3412)
          gets a short GetResponse
  nbstat  a NetBIOS name query of type NBSTAT (0x0021: RFC 1002 4.2.17)
          gets a reply
  silent  never answers (an open port that ignores what it gets)
Prints 'ready' once all are bound and one line per datagram; runs until
killed (the caller bounds it with timeout)."""
import select
import socket
import sys

addr = sys.argv[1]
socks = {}
for arg in sys.argv[2:]:
    port, kind = arg.split(":")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    socks[s] = kind
print("ready", len(socks), flush=True)


def answer(kind, d):
    if kind == "echo":
        return d
    if kind == "ntp" and len(d) >= 48 and d[0] & 7 == 3:
        return bytes([(d[0] & 0x38) | 4, 16]) + bytes(22) + d[40:48] + bytes(16)
    if kind == "snmp" and d[:1] == b"\x30":
        return b"\x30\x0e\x02\x01\x00\x04\x06public\xa2\x01\x00"
    if kind == "nbstat" and len(d) >= 50 and d[-4:-2] == b"\x00\x21":
        return d[:2] + b"\x84\x00\x00\x00\x00\x01\x00\x00\x00\x00"
    return None


while True:
    for s in select.select(list(socks), [], [])[0]:
        d, peer = s.recvfrom(4096)
        kind = socks[s]
        r = answer(kind, d)
        print(s.getsockname()[1], kind, len(d), "answered" if r is not None else "ignored",
              d[:64].hex(), flush=True)
        if r is not None:
            s.sendto(r, peer)
