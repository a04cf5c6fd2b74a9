#!/usr/bin/python3
"""Fragment attacks and LAND (attack_frag.sh).

Each attack is a list of crafted frames with the drop counters it must move
(exactly), sent with the legitimate traffic running; a UDP echo through the
kernel after each ("sync") proves tapir has read them before the counters
are read.  Datagrams that must not be reassembled are UDP echo requests to
port 7 holding a marker: if tapir ever delivered one, its echo would come
back to the kernel, and the sniffer would see it.

  teardrop     the second fragment lies inside the first (the 1997 Linux
               bug: a negative length).  RFC 5722: drop the whole datagram.
  overlaps     overlap at the start, at the end, an exact duplicate offset
               with another length, a fragment covering the others, an
               overlap of the last fragment -- all frag_overlap.
  ping of death  fragments reaching past 65535 bytes (CVE-1999-0128):
               frag_too_big, nothing allocated for them.
  tiny         RFC 1858: a TCP header cut into 8-byte fragments and a
               second fragment at offset 8 rewriting the first's bytes
               (the "overlapping fragment attack"): frag_overlap.  Tiny but
               honest fragments (8 bytes each) of a UDP echo reassemble
               and are answered (end hosts must, RFC 791).
  LAND         a SYN from tapir's own address and port to itself (1997):
               ip_bad_source, no answer.
  flood        thousands of incomplete datagrams (never finished), each
               up to ~60 KB: reassembly memory stays within its limits
               (reasm_max_datagrams, reasm_max_bytes): old ones evicted or
               new ones refused, RSS bounded, and a legitimate 4000-byte
               fragmented ping-size UDP echo still works afterwards.
"""
import os
import random
import socket
import struct
import sys

import attack_lib as A

WRONG = "--wrong" in sys.argv
FLOOD = int(os.environ.get("FRAG_FLOOD", "4000"))
P_UDP, P_TCP, P_ICMP = 17, 6, 1
rng = random.Random(5)
link = A.Link()
rss = A.Rss()
legit = A.Legit()
ident = [rng.randrange(1 << 16)]


def new_id():
    ident[0] = (ident[0] + 1) & 0xFFFF
    return ident[0]


def frag(payload, off, more, i, proto=P_UDP, src=None, dst=None):
    """An IPv4 fragment carrying PAYLOAD at byte offset OFF."""
    return A.IP(src=src or A.PEER_IP, dst=dst or A.HOST_IP, id=i, proto=proto,
                flags="MF" if more else 0, frag=off // 8) / A.Raw(payload)


def udp_bytes(data, sport, dport=7):
    u = A.UDP(sport=sport, dport=dport) / A.Raw(data)
    return bytes(A.IP(src=A.PEER_IP, dst=A.HOST_IP) / u)[20:]


def run(name, frames, expect, sync=True):
    """Sends FRAMES; checks each drop counter of EXPECT moved by exactly its
    count (and nothing marked came back)."""
    a = A.stats()
    for f in frames:
        link.send(f)
    if sync:
        A.udp_sync()
    b = A.stats()
    bad = []
    for reason, n in expect.items():
        got = A.delta(a, b, reason)
        if WRONG:
            n += 1
        if got != n:
            bad.append(f"{reason} +{got} (expected +{n})")
    A.check(not bad, f"{name}: " + (", ".join(bad) if bad else
                                    ", ".join(f"{r} +{n}" for r, n in expect.items())))
    return a, b


MARK = b"MUST-NOT-BE-REASSEMBLED"
sport = 40000


def marked(n):
    global sport
    sport += 1
    return udp_bytes(MARK + bytes(n - len(MARK) - 8), sport)


m0 = link.mark()

# teardrop: [0, 48) then [24, 32) inside it
p = marked(64)
i = new_id()
run("teardrop", [frag(p[:48], 0, True, i), frag(p[24:32], 24, True, i),
                 frag(p[48:], 48, False, i)],
    {"drop.frag_overlap": 1, "drop.frag_dead": 1})

# the other overlaps: each with a lead fragment accepted first
cases = 0
frames = []
for lead, bad in (((0, 48), (40, 96)),       # overlaps the lead's end
                  ((48, 96), (8, 56)),       # overlaps the lead's start
                  ((0, 48), (0, 56)),        # same offset, another length
                  ((16, 32), (0, 96)),       # covers the lead entirely
                  ((64, 104), (56, 72))):    # overlaps the last fragment (no MF)
    p = marked(104)
    i = new_id()
    frames.append(frag(p[lead[0]:lead[1]], lead[0], lead[1] < 104, i))
    frames.append(frag(p[bad[0]:bad[1]], bad[0], True, i))
    cases += 1
run("overlaps", frames, {"drop.frag_overlap": cases})

# ping of death: an echo request whose fragments end past 65535
frames = []
for k in range(20):
    i = new_id()
    icmp = bytes(A.ICMP(type=8, id=k, seq=1) / A.Raw(b"x" * 1472))
    frames.append(frag(icmp, 0, True, i, proto=P_ICMP))
    off = 8 * ((65535 - 1000) // 8 + rng.randrange(0, 100))
    frames.append(frag(b"y" * 1480, off, False, i, proto=P_ICMP))
run("ping of death", frames, {"drop.frag_too_big": 20})

# RFC 1858 tiny-fragment overlap: first fragment 16 bytes of a TCP SYN to
# port 7 (ports, sequence number), the second at offset 8 rewriting them
syn = bytes(A.IP(src=A.PEER_IP, dst=A.HOST_IP) / A.TCP(sport=4444, dport=7, flags="S"))[20:]
rst = bytes(A.IP(src=A.PEER_IP, dst=A.HOST_IP) / A.TCP(sport=4444, dport=7, flags="R"))[20:]
i = new_id()
run("RFC 1858 overlapping tiny fragments",
    [frag(syn[:16], 0, True, i, proto=P_TCP), frag(rst[8:], 8, False, i, proto=P_TCP)],
    {"drop.frag_overlap": 1})

# tiny but honest fragments: a UDP echo in 8-byte pieces is reassembled
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as us:
    us.bind((A.PEER_IP, 0))
    us.settimeout(3)
    data = b"tiny fragments, honest ones" + bytes(range(64))
    u = bytes(A.IP(src=A.PEER_IP, dst=A.HOST_IP) /
              A.UDP(sport=us.getsockname()[1], dport=7) / A.Raw(data))[20:]
    i = new_id()
    pieces = [frag(u[o:o + 8], o, o + 8 < len(u), i) for o in range(0, len(u), 8)]
    rng.shuffle(pieces)
    a = A.stats()
    for f in pieces:
        link.send(f)
    try:
        echoed = us.recv(4096) == data
    except socket.timeout:
        echoed = False
    A.check(echoed, f"{len(pieces)} tiny fragments (8 bytes, out of order) reassembled and echoed")

# LAND: source = destination (address and port)
land = [A.IP(src=A.HOST_IP, dst=A.HOST_IP) / A.TCP(sport=p, dport=p, flags="S", seq=rng.randrange(1 << 32))
        for p in (7, 9, 13, 80) for _ in range(5)]
run("LAND", land, {"drop.ip_bad_source": 20})
A.check(not link.since(m0, lambda s: s.from_tapir and s.dst == A.HOST_IP),
        "tapir sent nothing to its own address")

# the flood: many incomplete datagrams, each with several fragments spread
# over up to 60 KB, from many sources; a sync every 200 frames
a = A.stats()
sent = 0
for k in range(FLOOD):
    i = new_id()
    src = f"10.0.{rng.randrange(1, 250)}.{rng.randrange(1, 250)}" if k % 2 else A.PEER_IP
    for off in sorted(rng.sample(range(0, 60000 // 8), 6)):
        link.send(frag(b"f" * 8 * rng.randrange(1, 180), 8 * off + 8, True, i, src=src))
        sent += 1
        if sent % 200 == 0:
            A.udp_sync()
A.udp_sync()
b = A.stats()
ev = A.delta(a, b, "reasm_evicted") + A.delta(a, b, "drop.frag_nomem") + \
    A.delta(a, b, "drop.frag_overlap") + A.delta(a, b, "drop.frag_dead")
print(f"fragment flood: {sent} fragments of {FLOOD} datagrams; reasm_evicted "
      f"+{A.delta(a, b, 'reasm_evicted')}, frag_nomem +{A.delta(a, b, 'drop.frag_nomem')}, "
      f"reasm_timeout +{A.delta(a, b, 'reasm_timeout')}, rss now {A.rss_kib()} KiB", flush=True)
A.check(A.delta(a, b, "reasm_done") == 0, "no flood datagram was reassembled")
A.check(ev > 0, "the reassembly limits were reached (evictions or refusals counted)")

# and a legitimate fragmented datagram still gets through
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as us:
    us.settimeout(3)
    us.connect((A.HOST_IP, 7))
    data = os.urandom(4000)
    ok = False
    for _ in range(3):
        us.send(data)
        try:
            ok = us.recv(8192) == data
            break
        except socket.timeout:
            pass
    A.check(ok, "a 4000-byte UDP echo (3 fragments each way) works after the flood")

A.check(not link.since(m0, lambda s: MARK in s.payload), "no marked datagram was ever echoed")
legit.stop()
rss.stop().report()
link.close()
A.finish()
