#!/usr/bin/python3
"""Malformed IPv6 frames for ipv6_flood.sh, built with scapy and sent at a
tapir host through an AF_PACKET socket on the kernel's side of its TAP.

    ipv6_flood.py IFACE HOST_MAC HOST_IP HOST6 PEER6 COUNT SEED

Each frame has one defect and so one expected drop reason, printed as
"expect REASON N"; "random N" frames are random bytes behind an IPv6
ethertype, dropped for whatever reason their bytes give.  After every
batch a UDP echo over IPv4 through the kernel's own stack ("sync") proves
tapir has read everything before it (the TAP's queue drops rather than
blocks).
"""
import random
import socket
import sys
from collections import Counter

from scapy.all import (ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6ND_NS,
                       ICMPv6ND_Redirect, ICMPv6ND_RS, ICMPv6NDOptSrcLLAddr, ICMPv6Unknown,
                       IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                       IPv6ExtHdrRouting, Ether, HBHOptUnknown, Raw, PadN)

IFACE, HOST_MAC, HOST_IP, HOST6, PEER6 = sys.argv[1:6]
COUNT, SEED = int(sys.argv[6]), int(sys.argv[7])
BATCH = 200  # the TAP's queue holds 1000 (tx_queue_len)
rng = random.Random(SEED)
with open(f"/sys/class/net/{IFACE}/address") as f:
    KMAC = f.read().strip()


def eth():
    return Ether(dst=HOST_MAC, src=KMAC, type=0x86DD)


def ip6(**kw):
    kw.setdefault("src", PEER6)
    kw.setdefault("dst", HOST6)
    return IPv6(**kw)


def echo():
    return ICMPv6EchoRequest(id=rng.randrange(65536), seq=1, data=rng.randbytes(rng.randrange(0, 64)))


def raw(pkt):
    return bytes(pkt)


def short():
    return raw(eth() / Raw(rng.randbytes(rng.randrange(0, 40))))


def version():
    b = bytearray(raw(eth() / ip6() / echo()))
    b[14] = (rng.choice([0, 1, 4, 5, 7, 15]) << 4) | (b[14] & 15)
    return bytes(b)


def length():
    b = bytearray(raw(eth() / ip6() / echo()))
    plen = len(b) - 54
    b[18:20] = (plen + rng.randrange(1, 1000)).to_bytes(2, "big")
    return bytes(b)


def bad_source():
    src = rng.choice(["ff02::1", "::1", "::ffff:10.0.0.1", HOST6])
    return raw(eth() / ip6(src=src) / echo())


def not_for_us():
    return raw(eth() / ip6(dst="fd00::%x" % rng.randrange(0x100, 0xffff)) / echo())


def option_discard():  # action bits 01: dropped, no ICMPv6
    opt = HBHOptUnknown(otype=rng.randrange(0x40, 0x80), optdata=b"\0\0\0\0")
    return raw(eth() / ip6() / IPv6ExtHdrHopByHop(options=[opt]) / echo())


def option_jumbo():  # RFC 2675's option in a normal frame: unknown, 11
    opt = HBHOptUnknown(otype=0xC2, optdata=b"\0\1\0\0")
    return raw(eth() / ip6() / IPv6ExtHdrHopByHop(options=[opt]) / echo())


def ext_truncated():
    b = bytearray(raw(eth() / ip6() / IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\0\0\0\0")]) / echo()))
    b[54 + 1] = rng.randrange(20, 256)  # the header's length beyond the packet
    return bytes(b)


def routing():  # RFC 5095: type 0 (or another) with segments left
    rh = IPv6ExtHdrRouting(type=rng.choice([0, 0, 1, 3, 250]), segleft=1, addresses=["fd00::9"])
    return raw(eth() / ip6() / rh / echo())


def next_header():
    return raw(eth() / ip6(nh=rng.choice([253, 254, 132, 50])) / Raw(rng.randbytes(24)))


def no_next():
    return raw(eth() / ip6(nh=59) / Raw(rng.randbytes(rng.randrange(0, 30))))


def hbh_position():
    return raw(eth() / ip6() / IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop() / echo())


def ext_chain():
    p = ip6()
    for _ in range(rng.randrange(10, 40)):
        p = p / IPv6ExtHdrDestOpt()
    return raw(eth() / p / echo())


def frag_chain():  # RFC 7112: the first fragment stops inside the chain
    d = raw(ip6() / IPv6ExtHdrDestOpt(nh=58, options=[PadN(optdata=b"\0" * 12)]) / echo())[40:]
    return raw(eth() / ip6() / IPv6ExtHdrFragment(nh=60, offset=0, m=1, id=rng.randrange(1 << 32)) / Raw(d[:8]))


def frag_unaligned():
    return raw(eth() / ip6() / IPv6ExtHdrFragment(nh=58, offset=rng.randrange(1, 100), m=1,
                                                   id=rng.randrange(1 << 32)) / Raw(rng.randbytes(13)))


def icmp_checksum():
    b = bytearray(raw(eth() / ip6() / echo()))
    b[56] ^= 1 << rng.randrange(8)
    return bytes(b)


def icmp_type():
    m = rng.choice([ICMPv6Unknown(type=rng.randrange(150, 256), msgbody=rng.randbytes(4)), ICMPv6EchoReply(),
                    ICMPv6ND_RS(), ICMPv6ND_Redirect(tgt="fd00::7", dst="fd00::8")])
    hlim = 255 if isinstance(m, (ICMPv6ND_RS, ICMPv6ND_Redirect)) else 64
    src = "fe80::1" if hlim == 255 else PEER6
    return raw(eth() / ip6(src=src, hlim=hlim) / m)


def nd_hop_limit():
    return raw(eth() / ip6(hlim=64) / ICMPv6ND_NS(tgt=HOST6) / ICMPv6NDOptSrcLLAddr(lladdr=KMAC))


def nd_bad():
    return raw(eth() / ip6(hlim=255) / ICMPv6ND_NS(tgt="ff02::1"))


def nd_not_for_us():
    return raw(eth() / ip6(hlim=255) / ICMPv6ND_NS(tgt="fd00::%x" % rng.randrange(0x100, 0xffff)))


def nd_no_entry():
    return raw(eth() / ip6(hlim=255) / ICMPv6ND_NA(tgt="fd00::%x" % rng.randrange(0x100, 0xffff), O=1))


def garbage():
    return raw(eth() / Raw(rng.randbytes(rng.randrange(40, 300))))


CASES = {  # name: (reason, weight, builder)
    "short": ("ip6_short", 2, short),
    "version": ("ip6_version", 2, version),
    "length": ("ip6_length", 2, length),
    "bad_source": ("ip6_bad_source", 2, bad_source),
    "not_for_us": ("ip6_not_for_us", 2, not_for_us),
    "option_discard": ("ip6_option", 2, option_discard),
    "option_jumbo": ("ip6_option", 1, option_jumbo),
    "ext_truncated": ("ip6_ext_header", 2, ext_truncated),
    "routing": ("ip6_routing", 2, routing),
    "next_header": ("ip6_next_header", 2, next_header),
    "no_next": ("ip6_no_next", 1, no_next),
    "hbh_position": ("ip6_hbh_position", 1, hbh_position),
    "ext_chain": ("ip6_ext_chain", 1, ext_chain),
    "frag_chain": ("frag6_chain", 2, frag_chain),
    "frag_unaligned": ("frag_bad", 2, frag_unaligned),
    "icmp_checksum": ("icmp6_checksum", 2, icmp_checksum),
    "icmp_type": ("icmp6_type", 2, icmp_type),
    "nd_hop_limit": ("nd_hop_limit", 1, nd_hop_limit),
    "nd_bad": ("nd_bad", 1, nd_bad),
    "nd_not_for_us": ("nd_not_for_us", 1, nd_not_for_us),
    "nd_no_entry": ("nd_no_entry", 1, nd_no_entry),
    "random": ("random", 4, garbage),
}


def main():
    names = list(CASES)
    weights = [CASES[n][1] for n in names]
    frames, expect = [], Counter()
    for _ in range(COUNT):
        name = rng.choices(names, weights)[0]
        frames.append(CASES[name][2]())
        expect[CASES[name][0]] += 1
    raw_sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    raw_sock.bind((IFACE, 0))
    sync = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sync.connect((HOST_IP, 7))
    sync.settimeout(2)

    def do_sync(tag):
        for attempt in range(3):
            msg = b"sync %d %d" % (tag, attempt)
            sync.send(msg)
            try:
                while sync.recv(100) != msg:
                    pass
                return
            except socket.timeout:
                pass
        sys.exit(f"ipv6_flood.py: the host did not echo the sync after frame {tag}")

    with open(f"/sys/class/net/{IFACE}/statistics/tx_dropped") as f:
        dropped0 = int(f.read())
    do_sync(0)
    for i, fr in enumerate(frames):
        raw_sock.send(fr[:1514])
        if (i + 1) % BATCH == 0:
            do_sync(i + 1)
    do_sync(len(frames))
    with open(f"/sys/class/net/{IFACE}/statistics/tx_dropped") as f:
        lost = int(f.read()) - dropped0
    print(f"sent {len(frames)} malformed IPv6 frames, seed {SEED}")
    print(f"tap_tx_dropped {lost}")
    for reason, n in sorted(expect.items()):
        print(f"expect {reason} {n}")


main()
