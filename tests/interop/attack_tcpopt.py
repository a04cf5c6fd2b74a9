#!/usr/bin/python3
"""TCP header and option attacks (attack_tcpopt.sh), from raw peers at fake
addresses 10.0.0.50.. (RawPeer: a TCP endpoint by hand, ARP answered for
it), with the kernel's legitimate connections running throughout.

  options    SYNs whose options are malformed: an option of length 0 or 1
             (a parser that adds the length forever loops on 0), one running
             past the header, a truncated MSS, 200 of random bytes.
             RFC 9293 3.1 / 3.2 (be liberal): the parse stops, the SYN is
             still answered with a SYN,ACK.
  doff       data offset below 5 or beyond the segment: drop.tcp_header,
             one each, nothing answered.
  mss        MSS 0, 1 and 64 in the SYN, then an HTTP GET of 100 KB:
             tapir clamps the peer's MSS (CVE-2019-11479: a tiny MSS
             multiplies segments, and work, per byte); every data segment
             but the last carries >= 216 bytes.  The body is byte-exact.
  sack       a 2 MB GET where the peer holds back one hole and sends
             thousands of ACKs with 4 tiny SACK blocks each, all over what
             it has (CVE-2019-11477/11478: a scoreboard or a retransmission
             queue cut into pieces by SACKs).  tapir's scoreboard is
             bounded: memory stays bounded, and once the peer fills the
             hole the transfer completes byte-exact.
  zerowin    ZW_CONNS peers ask for 2 MB and advertise a zero window
             forever, answering each probe with window 0 (a peer that never
             reads).  tapir keeps probing (RFC 9293 3.8.6.1: the
             connection must not be dropped for that), its memory stays
             bounded by the send buffers, other connections are fine.
"""
import os
import random
import sys
import time

import attack_lib as A

WRONG = "--wrong" in sys.argv
ZW_CONNS = int(os.environ.get("ZW_CONNS", "10"))
rng = random.Random(11)
link = A.Link()
rss = A.Rss()
legit = A.Legit()
peers = []
nfake = [0]


def peer():
    nfake[0] += 1
    k = nfake[0]
    p = A.RawPeer(link, f"10.0.0.{50 + k % 150}", f"02:00:00:00:{k // 256:02x}:{k % 256:02x}",
                  sport=rng.randrange(20000, 60000))
    peers.append(p)
    return p


# ---- malformed options in SYNs ----
named = {
    "MSS option of length 0": b"\x02\x00\x05\xb4",
    "MSS option of length 1": b"\x02\x01\x05\xb4",
    "window scale running past the header": b"\x03\x28\x07\x00",
    "truncated MSS at the end": b"\x01\x01\x02\x04",
    "timestamps of length 255": b"\x08\xff" + bytes(10),
    "SACK-permitted of length 0 after NOPs": b"\x01\x01\x04\x00",
}
for what, opts in named.items():
    p = peer()
    p.dport = 7
    m = link.mark()
    p.send("S", seq=p.iss, ack=0, raw_opts=opts)
    sa = link.wait(lambda s: p.mine(s) and s.flags & A.SYN and s.flags & A.ACK, m, 5)
    A.check((sa is not None) != WRONG, f"SYN with {what}: answered by a SYN,ACK")
    if sa:
        p.rcv_nxt = (sa.seq + 1) & 0xFFFFFFFF
        p.send("R", seq=(p.iss + 1) & 0xFFFFFFFF, ack=0)
a = A.stats()
for k in range(200):
    p = peer()
    p.dport = rng.choice((7, 9, 80))
    n = rng.randrange(1, 11) * 4
    p.send("S", seq=p.iss, ack=0, raw_opts=os.urandom(n))
    if k % 50 == 0:
        A.udp_sync()
A.udp_sync()
A.check(A.host_alive(), "200 SYNs with random option bytes: tapir alive")
for p in peers:  # clean the half-open ones: their SYN,ACKs were never acknowledged
    p.send("R", seq=(p.iss + 1) & 0xFFFFFFFF, ack=0)

# ---- data offset ----
a = A.stats()
p = peer()
p.dport = 7
bad = [(d, b"") for d in range(0, 5)] + [(15, b""), (6, b""), (8, b"\x01\x01\x01\x01")]
for d, opts in bad:
    p.send("S", seq=p.iss, ack=0, raw_opts=opts, dataofs=d)
A.udp_sync()
b = A.stats()
n = A.delta(a, b, "drop.tcp_header")
A.check(n == len(bad) + (1 if WRONG else 0),
        f"data offsets 0-4 and beyond the segment: drop.tcp_header +{n} (expected +{len(bad)})")


# ---- a receiver by hand: HTTP GET, ACKs, optional misbehaviour ----
def fetch(p, path, policy=None, deadline=60, win=65535):
    """GETs PATH over P's connection; POLICY(seg, p, state) may take over
    the answer to a segment (return True).  Returns (body, segments)."""
    m = link.mark()
    req = b"GET " + path + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    p.send_data(req, win=win)
    st = {"ooo": {}, "data": bytearray(), "segs": [], "fin": False}
    end = time.monotonic() + deadline
    i = m
    while time.monotonic() < end and not st["fin"]:
        s = link.wait(lambda s: p.mine(s), i, 2)
        if s is None:
            continue
        i = s.idx + 1
        if s.payload:
            st["segs"].append(s)
        if policy and policy(s, p, st):
            continue
        if s.payload:
            st["ooo"][s.seq] = s.payload
        while p.rcv_nxt in st["ooo"]:
            d = st["ooo"].pop(p.rcv_nxt)
            st["data"] += d
            p.rcv_nxt = (p.rcv_nxt + len(d)) & 0xFFFFFFFF
        if s.flags & A.FIN and s.seq == p.rcv_nxt:
            p.rcv_nxt = (p.rcv_nxt + 1) & 0xFFFFFFFF
            st["fin"] = True
        if s.payload or s.flags & A.FIN:
            p.send("A", win=win)
    p.send("R") if not st["fin"] else p.send("A", win=win)
    data = bytes(st["data"])
    body = data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""
    return body, st["segs"]


for mss in (0, 1, 64):
    p = peer()
    sa = p.connect(80, opts=[("MSS", mss)])
    if not A.check(sa is not None, f"MSS {mss}: handshake"):
        continue
    body, segs = fetch(p, b"/100k.bin")
    sizes = [len(s.payload) for s in segs]
    small = [x for x in sizes[:-1] if x < 216]
    print(f"MSS {mss}: {len(segs)} data segments, sizes min {min(sizes)} max {max(sizes)}",
          flush=True)
    A.check(not small and (min(sizes[:-1] or [216]) >= (217 if WRONG else 216)),
            f"MSS {mss}: every data segment but the last carries >= 216 bytes "
            f"({len(small)} smaller)")
    A.check(body == A.pattern(102400), f"MSS {mss}: 100 KB body byte-exact ({len(body)} bytes)")

# ---- SACK blocks cutting the queue into pieces ----
p = peer()
sa = p.connect(80, opts=[("MSS", 1460), ("SAckOK", b""), ("WScale", 8)])
A.check(sa is not None, "SACK peer: handshake")
blocks_sent = [0]
hole = {"seq": None, "held": 0}


def sack_policy(s, p, st):
    if not s.payload:
        return False
    if hole["seq"] is None:
        hole["seq"] = s.seq  # the first data segment: held back as a hole
    if s.seq == hole["seq"] and hole["held"] < 3 and blocks_sent[0] < 6000:
        hole["held"] += 1
        return True  # not taken: the hole stays
    if hole["held"] >= 3 or blocks_sent[0] >= 6000 or s.seq == hole["seq"]:
        return False  # from now on, an honest receiver
    st["ooo"][s.seq] = s.payload
    # 3 ACKs at the hole, each with 4 SACK blocks of 1..8 bytes somewhere in
    # what we have (tiny, scattered, never the same)
    have = [(q, q + len(d)) for q, d in st["ooo"].items()]
    for _ in range(3):
        blks = []
        for _ in range(4):
            lo, hi = rng.choice(have)
            x = rng.randrange(lo, hi - 1)
            blks.append((x & 0xFFFFFFFF, (x + rng.randrange(1, 9)) & 0xFFFFFFFF))
        p.send("A", win=65535 >> 8 << 0, opts=[("SAck", tuple(v for b in blks for v in b))])
        blocks_sent[0] += 4
    return True


r0 = A.rss_kib()
body, segs = fetch(p, b"/2m.bin", policy=sack_policy, deadline=90, win=(1 << 20) >> 8)
print(f"SACK: {blocks_sent[0]} tiny SACK blocks sent, {len(segs)} data segments received, "
      f"rss {r0} -> {A.rss_kib()} KiB", flush=True)
A.check(blocks_sent[0] > 0, "SACK: tiny blocks were sent while the hole was open")
A.check(body == A.pattern(2 * 1048576), f"SACK: 2 MB body byte-exact once the hole was filled "
        f"({len(body)} bytes)")

# ---- zero window forever ----
zps = []
for k in range(ZW_CONNS):
    p = peer()
    if p.connect(80, opts=[("MSS", 1460)]) is None:
        continue
    p.send("A", win=0)
    p.send_data(b"GET /2m.bin HTTP/1.1\r\nHost: t\r\n\r\n", win=0)
    zps.append(p)
A.check(len(zps) == ZW_CONNS, f"zero window: {len(zps)} of {ZW_CONNS} peers connected")
m = link.mark()
probes = {id(p): 0 for p in zps}
end = time.monotonic() + 12
i = m
while time.monotonic() < end:
    s = link.wait(lambda s: any(p.mine(s) for p in zps), i, 1)
    if s is None:
        continue
    i = s.idx + 1
    for p in zps:
        if p.mine(s):
            probes[id(p)] += 1
            p.send("A", win=0)  # never reads, never opens: the probe byte not taken
peak_zw = A.rss_kib()
few = [n for n in probes.values() if n < 3]
print(f"zero window: probes per connection in 12 s: {sorted(probes.values())}, rss {peak_zw} KiB",
      flush=True)
A.check(not few, "zero window: tapir kept probing every connection (>= 3 probes each)")
ss = A.subprocess.run([A.TAPIR, "ss", "--control", A.CTL], capture_output=True, text=True,
                      timeout=15).stdout
alive = sum(1 for p in zps if f"{p.ip}:{p.sport}" in ss and "ESTABLISHED" in
            [ln.split()[0] for ln in ss.splitlines() if f"{p.ip}:{p.sport}" in ln])
A.check(alive == len(zps), f"zero window: {alive} of {len(zps)} connections still ESTABLISHED")
for p in zps:
    p.send("R", ack=0)

legit.stop()
rss.stop().report()
link.close()
A.finish()
