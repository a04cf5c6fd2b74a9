#!/usr/bin/python3
"""Malformed frames for flood.sh, sent at a tapir host through an AF_PACKET
socket on the kernel's side of its TAP device.

    flood.py IFACE HOST_MAC HOST_IP PEER_IP COUNT SEED

Every frame has exactly one defect, so each has one expected drop reason;
the generator prints them as "expect REASON N" lines.  Some defects need a
valid frame before them (an overlapping fragment needs the fragment it
overlaps): those "lead" frames are sent too and counted apart ("leads N"):
tapir accepts them.

Frames go out in batches; after each, a UDP echo through the kernel's own
stack ("sync") proves tapir has read everything sent before it, so the TAP
device's queue never overflows (it drops rather than blocks).
"""
import os
import random
import socket
import struct
import sys
import time
from collections import Counter

from inet import csum

IFACE, HOST_MAC, HOST_IP, PEER_IP = sys.argv[1:5]
COUNT, SEED = int(sys.argv[5]), int(sys.argv[6])
BATCH = 200  # the TAP's queue holds 1000 (tx_queue_len)

rng = random.Random(SEED)
mac = lambda s: bytes.fromhex(s.replace(":", ""))
ip4 = socket.inet_aton
H = mac(HOST_MAC)
BCAST = b"\xff" * 6
with open(f"/sys/class/net/{IFACE}/address") as f:
    K = mac(f.read().strip())  # the kernel's side of the TAP
HIP, PIP = ip4(HOST_IP), ip4(PEER_IP)
P_ICMP, P_UDP = 1, 17


def bad_csum(good):
    """A checksum value that is wrong whatever the one's complement zero."""
    while True:
        v = good ^ rng.randrange(1, 0x10000)
        if v not in (0, 0xFFFF, good):
            return v


def rbytes(n):
    return rng.randbytes(n)


def eth(payload, etype=0x0800, dst=None, src=None):
    if dst is None:
        dst = rng.choice((H, BCAST))
    return (dst + (src or K) + struct.pack("!H", etype) + payload)[:1514]


ip_id = rng.randrange(0x10000)


def next_id():
    global ip_id
    ip_id = (ip_id + 1) & 0xFFFF
    return ip_id


def iphdr(payload_len, proto, src=PIP, dst=HIP, ihl=5, total=None, frag=0, ver=4,
          options=b"", ident=None, check=True):
    total = 4 * ihl + payload_len if total is None else total
    h = struct.pack("!BBHHHBBH4s4s", (ver << 4) | ihl, 0, total & 0xFFFF,
                    next_id() if ident is None else ident, frag, 64, proto, 0, src, dst)
    h += options
    if check:
        h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h


def ip(payload, proto, **kw):
    return iphdr(len(payload), proto, **kw) + payload


def icmp(t, code, rest, body):
    m = struct.pack("!BBH", t, code, 0) + rest + body
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


def udp(sport, dport, data, src=PIP, dst=HIP):
    u = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    c = csum(src + dst + struct.pack("!BBH", 0, P_UDP, len(u)) + u) or 0xFFFF
    return u[:6] + struct.pack("!H", c) + u[8:]


def echo_req(n=None):
    return icmp(8, 0, struct.pack("!HH", rng.randrange(0x10000), 1),
                rbytes(rng.randrange(0, 200) if n is None else n))


# ---- the defects: each returns (frames, leads) with frames all dropped ----
# name -> (expected drop reason, weight, builder)
CASES = {}


def case(reason, weight=1):
    def reg(f):
        CASES[f.__name__] = (reason, weight, f)
        return f
    return reg


@case("eth_ethertype", 4)
def random_ethertype():
    t = 0x0800
    while t in (0x0800, 0x0806):  # anything but IPv4 and ARP
        t = rng.randrange(0x10000)
    return eth(rbytes(rng.randrange(0, 1501)), t)


@case("eth_not_for_us")
def not_our_mac():
    dst = bytearray(rbytes(6))
    if rng.random() < 0.5:
        dst[0] &= 0xFE  # unicast, someone else's
    else:
        dst[0] |= 1  # a multicast group we never joined
    dst = bytes(dst)
    if dst in (H, BCAST):
        dst = b"\x02\x00\x00\x00\x00\x99"
    return eth(ip(echo_req(), P_ICMP), dst=dst)


@case("eth_own_source")
def own_source():
    return eth(ip(echo_req(), P_ICMP), src=H)


# ARP (RFC 826), over Ethernet: 28 bytes
def arp(op=1, sha=None, spa=None, tha=b"\0" * 6, tpa=None, htype=1, ptype=0x0800, hlen=6,
        plen=4):
    return struct.pack("!HHBBH6s4s6s4s", htype, ptype, hlen, plen, op, sha or K,
                       spa or PIP, tha, tpa or HIP)


@case("arp_short", 2)
def arp_truncated():
    return eth(arp()[:rng.randrange(0, 28)], 0x0806)


@case("arp_format")
def arp_bad_format():
    k = rng.randrange(4)
    a = arp(**[{"htype": rng.choice((0, 6, 0xFFFF))}, {"ptype": rng.choice((0x86DD, 0))},
               {"hlen": rng.choice((0, 8))}, {"plen": rng.choice((0, 16))}][k])
    return eth(a + rbytes(rng.randrange(0, 20)), 0x0806)


@case("arp_op")
def arp_bad_op():
    return eth(arp(op=rng.choice((0, 3, 4, 8, 0xFFFF))), 0x0806)


@case("arp_bad_sender")
def arp_bad_sender():
    k = rng.randrange(3)
    if k == 0:
        a = arp(sha=rng.choice((BCAST, b"\x01\x00\x5e\x00\x00\x01")))
    elif k == 1:
        a = arp(sha=H)
    else:
        a = arp(spa=rng.choice((ip4("224.0.0.1"), ip4("239.1.2.3"), BCAST[:4])))
    return eth(a, 0x0806)


@case("arp_not_for_us")
def arp_for_another():
    # a sender tapir has no entry for, asking for someone else
    spa = ip4(f"10.0.0.{rng.randrange(100, 200)}")
    tpa = ip4(f"10.0.0.{rng.randrange(3, 99)}")
    return eth(arp(op=rng.choice((1, 2)), sha=b"\x02\x55" + rbytes(4), spa=spa, tpa=tpa),
               0x0806, dst=BCAST)


@case("ip_short", 2)
def ip_truncated():
    return eth(ip(echo_req(), P_ICMP)[:rng.randrange(0, 20)])


@case("ip_version")
def ip_bad_version():
    body = bytearray(rbytes(rng.randrange(20, 200)))
    body[0] = (rng.choice([v for v in range(16) if v != 4]) << 4) | (body[0] & 15)
    return eth(bytes(body))


@case("ip_header_len")
def ip_ihl_small():
    return eth(ip(echo_req(), P_ICMP, ihl=rng.randrange(0, 5)))


@case("ip_header_len")
def ip_ihl_beyond():
    # IHL says up to 60 bytes; the frame ends first
    ihl = rng.randrange(6, 16)
    h = iphdr(0, P_ICMP, ihl=ihl, options=b"\x01" * (4 * ihl - 20))
    return eth(h[:rng.randrange(20, 4 * ihl)])


@case("ip_total_len")
def ip_total_beyond():
    p = echo_req()
    n = 20 + len(p)
    return eth(ip(p, P_ICMP, total=rng.randrange(n + 1, 0x10000)))


@case("ip_total_len")
def ip_total_below_ihl():
    return eth(ip(echo_req(), P_ICMP, total=rng.randrange(0, 20)))


@case("ip_checksum", 3)
def ip_bad_checksum():
    if rng.random() < 0.5:
        pkt = bytearray(ip(echo_req(), P_ICMP))
    else:
        pkt = bytearray(ip(udp(rng.randrange(1024, 65536), 7, rbytes(20)), P_UDP))
    good = struct.unpack("!H", pkt[10:12])[0]
    pkt[10:12] = struct.pack("!H", bad_csum(good))
    assert csum(bytes(pkt[:20])) != 0
    return eth(bytes(pkt))


@case("ip_options")
def ip_bad_options():
    opts = rng.choice((b"\x07\x01\x00\x00",  # length below 2
                       b"\x07\x08\x04\x00",  # length beyond the header
                       b"\x01\x01\x01\x44"))  # a type with no room for its length
    return eth(ip(echo_req(), P_ICMP, ihl=6, options=opts))


@case("ip_bad_source")
def ip_martian_source():
    src = ip4(rng.choice(("127.0.0.1", "0.0.0.5", "224.0.0.1", "240.0.0.1", "255.255.255.255",
                          "10.0.0.255", HOST_IP)))
    return eth(ip(echo_req(), P_ICMP, src=src))


@case("ip_not_for_us")
def ip_other_destination():
    dst = ip4(rng.choice(("10.0.0.77", "8.8.8.8", "10.0.1.255", "224.0.0.1")))
    return eth(ip(echo_req(), P_ICMP, dst=dst))


@case("icmp_short")
def icmp_truncated():
    return eth(ip(echo_req()[:rng.randrange(0, 8)], P_ICMP))


@case("icmp_checksum", 3)
def icmp_bad_checksum():
    m = bytearray(echo_req())
    m[2:4] = struct.pack("!H", bad_csum(struct.unpack("!H", m[2:4])[0]))
    assert csum(bytes(m)) != 0
    return eth(ip(bytes(m), P_ICMP))


@case("icmp_type")
def icmp_unhandled_type():
    # timestamp, information request, address mask, an unassigned type; and
    # echo replies, which a host without --ping does not expect
    t = rng.choice((0, 13, 15, 17, 42, 200))
    return eth(ip(icmp(t, 0, rbytes(4), rbytes(rng.randrange(0, 40))), P_ICMP))


@case("icmp_broadcast")
def icmp_echo_to_broadcast():
    dst = ip4(rng.choice(("255.255.255.255", "10.0.0.255")))
    return eth(ip(echo_req(), P_ICMP, dst=dst), dst=BCAST)


@case("icmp_error_bad")
def icmp_error_not_ours():
    k = rng.randrange(4)
    inner_udp = udp(7, rng.randrange(1024, 65536), b"", src=HIP, dst=PIP)
    if k == 0:  # a datagram someone else sent
        inner = ip(inner_udp, P_UDP, src=ip4("10.0.0.99"), dst=PIP)
    elif k == 1:  # too short to hold a header
        inner = ip(inner_udp, P_UDP, src=HIP, dst=PIP)[:rng.randrange(0, 20)]
    elif k == 2:  # not IPv4
        inner = bytearray(ip(inner_udp, P_UDP, src=HIP, dst=PIP))
        inner[0] = 0x65
        inner = bytes(inner)
    else:  # a protocol tapir never sends (TCP)
        inner = iphdr(20, 6, src=HIP, dst=PIP) + rbytes(8)
    return eth(ip(icmp(rng.choice((3, 11, 12)), rng.randrange(0, 4), b"\0" * 4, inner),
                  P_ICMP))


@case("udp_short")
def udp_truncated():
    return eth(ip(udp(40000, 7, b"x")[:rng.randrange(0, 8)], P_UDP))


@case("udp_length", 2)
def udp_bad_length():
    data = rbytes(rng.randrange(0, 100))
    u = bytearray(udp(rng.randrange(1024, 65536), 7, data))
    n = len(u)
    u[4:6] = struct.pack("!H", rng.choice((rng.randrange(0, 8), rng.randrange(n + 1, 0x10000))))
    u[6:8] = b"\0\0"  # no checksum: only the length is wrong
    return eth(ip(bytes(u), P_UDP))


@case("udp_checksum", 3)
def udp_bad_checksum():
    u = bytearray(udp(rng.randrange(1024, 65536), rng.choice((7, 9, 13, 19)),
                      rbytes(rng.randrange(0, 1000))))
    u[6:8] = struct.pack("!H", bad_csum(struct.unpack("!H", u[6:8])[0]))
    return eth(ip(bytes(u), P_UDP))


def frag(payload, off, more, proto=P_UDP, ident=None):
    return eth(ip(payload, proto, frag=(0x2000 if more else 0) | (off // 8), ident=ident),
               dst=H)


@case("frag_bad", 2)
def frag_unaligned():
    # RFC 791: all but the last fragment carry a multiple of 8 bytes
    n = rng.choice([x for x in range(1, 200) if x % 8])
    return frag(rbytes(n), 8 * rng.randrange(0, 100), True)


@case("frag_bad")
def frag_empty():
    return frag(b"", 8 * rng.randrange(1, 100), rng.random() < 0.5)


@case("frag_too_big", 2)
def frag_beyond_64k():
    # the ping of death: offset + length beyond 65535
    n = 8 * rng.randrange(2, 60)
    off = 8 * rng.randrange((65516 - n) // 8 + 1, 8192)
    return frag(rbytes(n), off, rng.random() < 0.5)


@case("frag_overlap", 2)
def frag_overlapping():
    """A valid first fragment (a lead), then one that overlaps it; a
    fragment of the dead datagram after that is frag_dead."""
    i = next_id()
    lead = frag(rbytes(64), 0, True, ident=i)
    bad = frag(rbytes(64), 8 * rng.randrange(1, 8), True, ident=i)
    return [lead, bad], 1


@case("frag_dead")
def frag_after_overlap():
    i = next_id()
    lead = frag(rbytes(64), 0, True, ident=i)
    bad = frag(rbytes(32), 32, True, ident=i)  # drops the datagram: frag_overlap
    dead = frag(rbytes(16), 128, False, ident=i)
    return [lead, bad, dead], 1


@case("frag_bad")
def frag_beyond_end():
    """A last fragment fixes the datagram's length (a lead); one beyond it."""
    i = next_id()
    lead = frag(rbytes(16), 64, False, ident=i)
    bad = frag(rbytes(16), 8 * rng.randrange(9, 40), True, ident=i)  # 72+: not a duplicate
    return [lead, bad], 1


# reasons of further dropped frames of a case
EXTRA = {"frag_after_overlap": ["frag_overlap"]}


def build(count):
    names = list(CASES)
    weights = [CASES[n][1] for n in names]
    units, expect, leads, made = [], Counter(), 0, 0
    while made < count:
        name = rng.choices(names, weights)[0]
        reason = CASES[name][0]
        r = CASES[name][2]()
        frames, nlead = (r if isinstance(r, tuple) else ([r], 0))
        drops = len(frames) - nlead
        if made + drops > count:
            continue
        for fr in frames:
            assert 14 <= len(fr) <= 1514, (name, len(fr))
        units.append(frames)
        expect[reason] += 1
        for extra in EXTRA.get(name, []):
            expect[extra] += 1
        leads += nlead
        made += drops
    assert sum(expect.values()) == count
    return units, expect, leads


def tx_dropped():
    with open(f"/sys/class/net/{IFACE}/statistics/tx_dropped") as f:
        return int(f.read())


def main():
    units, expect, leads = build(COUNT)
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    raw.bind((IFACE, 0))
    sync = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sync.connect((HOST_IP, 7))
    sync.settimeout(2)
    syncs = 0

    def do_sync(tag):
        nonlocal syncs
        for attempt in range(3):
            msg = b"sync %d %d" % (tag, attempt)
            sync.send(msg)
            syncs += 1
            try:
                while True:  # skip a late answer to an earlier attempt
                    if sync.recv(100) == msg:
                        return
            except socket.timeout:
                pass
        sys.exit(f"flood.py: the host did not echo the sync after batch {tag}")

    dropped0 = tx_dropped()
    started = time.monotonic()
    do_sync(0)
    batch, sent = 0, 0
    for u in units:
        for fr in u:
            raw.send(fr)
            sent += 1
            batch += 1
        if batch >= BATCH:
            do_sync(sent)
            batch = 0
    do_sync(sent)
    lost = tx_dropped() - dropped0
    print(f"sent {sent} frames ({COUNT} malformed, {leads} leads) in "
          f"{time.monotonic() - started:.1f} s, {syncs} syncs, seed {SEED}")
    print(f"leads {leads}")
    print(f"syncs {syncs}")
    print(f"tap_tx_dropped {lost}")
    for reason, n in sorted(expect.items()):
        print(f"expect {reason} {n}")


main()
