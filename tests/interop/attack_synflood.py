#!/usr/bin/python3
"""A SYN flood from spoofed addresses (attack_synflood*.sh; RFC 4987).

    attack_synflood.py [--require-during] [--wrong]

SYNs to tapir's HTTP port (80) from random addresses in 198.18.0.0/15
(RFC 2544's benchmark range: nobody's), as fast as one Python process
sends, bounded by FLOOD_COUNT frames and FLOOD_SECONDS.  tapir routes its
SYN,ACKs to them through its gateway, the kernel (10.0.0.1), which does not
forward: the half-open connections are never completed nor reset -- the
worst case of RFC 4987 2.

Meanwhile:
  * Legit: the persistent echo connection and new echo connections (port 7,
    not flooded) must all succeed: a flood of one listener must not hurt
    the others, nor established connections;
  * a prober tries new HTTP connections to the flooded port (connect bound
    7 s each) and counts those that complete while the flood runs.
    Without SYN cookies (RFC 4987 3.6) the backlog is full of half-open
    connections and they cannot; with them they can.  Reported always;
    asserted only with --require-during.
After the flood: tapir is alive, its RSS grew by less than the bound, and
an HTTP GET to the flooded port eventually succeeds (each half-open entry
dies after its SYN,ACK retransmissions; the prober retries for up to
AFTER_SECONDS).
"""
import os
import random
import socket
import struct
import sys
import threading
import time

import attack_lib as A

# (a count that a fast machine sends in under FLOOD_SECONDS left the prober
# two or three tries: one unlucky SYN decided the test)
COUNT = int(os.environ.get("FLOOD_COUNT", "6000000"))
SECONDS = float(os.environ.get("FLOOD_SECONDS", "8"))
AFTER_SECONDS = float(os.environ.get("AFTER_SECONDS", "200"))
REQUIRE_DURING = "--require-during" in sys.argv
WRONG = "--wrong" in sys.argv


def http_get(timeout=3.0):
    """One GET /small.txt on a new connection; True if the body came."""
    s = socket.socket()
    s.settimeout(timeout)
    try:
        s.connect((A.HOST_IP, 80))
        s.settimeout(30)
        s.sendall(b"GET /small.txt HTTP/1.1\r\nHost: tapir\r\nConnection: close\r\n\r\n")
        return A.recv_all(s).endswith(b"tapir under attack\n")
    except OSError:
        return False
    finally:
        s.close()


s0 = A.stats()
rss = A.Rss()
legit = A.Legit(port=7)
A.check(http_get(), "an HTTP GET to port 80 works before the flood")

flooding = threading.Event()
probe = {"tried": 0, "ok": 0}


def prober():
    # 7 s: the kernel's SYN and two retransmissions (1 s, 3 s), since the
    # flood overflows the TAP's queue and drops a legitimate SYN as often
    # as a spoofed one, before tapir sees it; a connect the flood's end
    # overtook counts neither way
    while flooding.is_set():
        ok = http_get(7.0)
        if flooding.is_set():
            probe["tried"] += 1
            probe["ok"] += ok


# the frames: one template, source address, port, sequence number and the
# two checksums patched in per frame (scapy per frame would be too slow
# to flood)
link = A.Link(record_tcp=False)
tmpl = bytearray(bytes(A.Ether(dst=A.HOST_MAC, src=link.kmac) /
                       A.IP(src="198.18.0.1", dst=A.HOST_IP, ttl=64) /
                       A.TCP(sport=1, dport=80, flags="S", seq=0, window=64240,
                             options=[("MSS", 1460), ("SAckOK", b""), ("WScale", 7)])))
ip_off, tcp_off = 14, 34
dst = socket.inet_aton(A.HOST_IP)
rng = random.Random(int(os.environ.get("FLOOD_SEED", "1")))


def frame():
    src = struct.pack("!I", (198 << 24) | (18 << 16) | rng.randrange(1, 1 << 17))
    f = tmpl[:]
    f[ip_off + 12:ip_off + 16] = src
    f[ip_off + 10:ip_off + 12] = b"\0\0"
    f[ip_off + 10:ip_off + 12] = struct.pack("!H", A.inet_csum(bytes(f[ip_off:ip_off + 20])))
    f[tcp_off:tcp_off + 2] = struct.pack("!H", rng.randrange(1024, 65536))
    f[tcp_off + 4:tcp_off + 8] = struct.pack("!I", rng.randrange(1 << 32))
    f[tcp_off + 16:tcp_off + 18] = b"\0\0"
    t = bytes(f[tcp_off:])
    f[tcp_off + 16:tcp_off + 18] = struct.pack(
        "!H", A.inet_csum(src + dst + struct.pack("!BBH", 0, 6, len(t)) + t))
    return bytes(f)


frames = [frame() for _ in range(min(COUNT, 50000))]  # reused round robin
drop0 = A.tx_dropped()
flooding.set()
pt = threading.Thread(target=prober, daemon=True)
pt.start()
sent = errs = 0
t0 = time.monotonic()
end = t0 + SECONDS
while sent < COUNT and time.monotonic() < end:
    for f in frames[sent % len(frames):sent % len(frames) + 500]:
        try:
            link.send_frame(f)
        except OSError:
            errs += 1  # the qdisc is full: the flood is at full speed
        sent += 1
dur = time.monotonic() - t0
mid = A.stats()
flooding.clear()
pt.join(35)
tap_drops = A.tx_dropped() - drop0
print(f"flood sent {sent} SYNs in {dur:.1f} s ({sent / dur:.0f}/s), send errors {errs}, "
      f"dropped by the TAP queue {tap_drops}", flush=True)
print(f"during the flood: tcp_syn_queue_full +{A.delta(s0, mid, 'tcp_syn_queue_full')}, "
      f"tcp_passive_opens +{A.delta(s0, mid, 'tcp_passive_opens')}, "
      f"tcp_syncookies_sent +{A.delta(s0, mid, 'tcp_syncookies_sent')}, "
      f"tcp_time_wait_reclaimed +{A.delta(s0, mid, 'tcp_time_wait_reclaimed')}", flush=True)
print(f"during the flood: legitimate HTTP connects to the flooded port: {probe['ok']} of "
      f"{probe['tried']} completed", flush=True)
if REQUIRE_DURING:
    A.check(probe["ok"] >= 1 and probe["ok"] * 2 >= probe["tried"],
            f"most legitimate connects to the flooded port completed during the flood "
            f"({probe['ok']} of {probe['tried']}; RFC 4987 3.6 SYN cookies)")
A.check(A.host_alive(), "tapir survived the flood")

# after: the flooded port serves again, eventually (bounded)
t1 = time.monotonic()
ok_after = False
tries = 0
while time.monotonic() - t1 < AFTER_SECONDS and A.host_alive():
    tries += 1
    if http_get(3.0) != WRONG:
        ok_after = True
        break
    time.sleep(1)
print(f"after the flood: HTTP GET to the flooded port succeeded after "
      f"{time.monotonic() - t1:.1f} s ({tries} tries)", flush=True)
A.check(ok_after, f"a legitimate client connects to the flooded port after the flood "
        f"(within {AFTER_SECONDS:.0f} s)")
legit.stop()
rss.stop().report()
link.close()
A.finish()
