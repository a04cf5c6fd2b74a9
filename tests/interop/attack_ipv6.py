#!/usr/bin/python3
"""IPv6 attacks (attack_ipv6.sh; issue 14's attack suite over IPv6), each
wave of frames from the kernel's side of the TAP while an echo connection
over IPv6 (and new ones) must keep working, tapir's RSS watched:

  ra_flood    router advertisements from RA_FLOOD different link-local
              routers, each with a random autonomous /64 (RFC 4861 6.3.4:
              the default router and prefix lists must stay bounded);
  ns_flood    neighbor solicitations for tapir's address from NS_FLOOD
              different sources with their link-layer address (RFC 4861
              7.2.3 creates an entry for each): the cache evicts
              (nd_evicted) rather than grows;
  ext_chain   long chains of destination options headers (RFC 8504 5.3:
              a bounded walk; dropped as ip6_ext_chain);
  overlap     fragment pairs that overlap (RFC 5722: the whole datagram
              dropped, frag_overlap) and honest 8-byte tiny fragments of an
              echo request, reassembled;
  ptb         packet too big below 1280 quoting the live connection (RFC
              8200 5: the path MTU never goes below 1280; the connection
              goes on);
  jumbo       the jumbo payload option in a normal frame (RFC 2675 3:
              parameter problem, dropped as ip6_option);
  redirect    redirects from a host that is not tapir's router, sending the
              kernel's address to an evil MAC (RFC 4861 8.1: ignored; the
              connection to the kernel would break otherwise).
Argv: HOST6 PEER6.  Every sending loop is bounded in count and in time.
"""
import os
import random
import socket
import subprocess
import sys
import time

from scapy.all import (Ether, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                       HBHOptUnknown, PadN, ICMPv6EchoRequest, ICMPv6ND_RA, ICMPv6ND_NS,
                       ICMPv6ND_Redirect, ICMPv6NDOptDstLLAddr, ICMPv6NDOptPrefixInfo,
                       ICMPv6NDOptSrcLLAddr, ICMPv6PacketTooBig, TCP, raw)

import attack_lib as A

HOST6, PEER6 = sys.argv[1], sys.argv[2]
RA_FLOOD = int(os.environ.get("RA_FLOOD", "2000"))
NS_FLOOD = int(os.environ.get("NS_FLOOD", "3000"))
WAVE = 200
BATCH = 100  # frames between two syncs (the TAP's queue is 500 frames)
rng = random.Random(int(os.environ.get("ATTACK_SEED", "14")))
link = A.Link(record_tcp=False)
A.HOST_IP = HOST6  # the legitimate traffic over IPv6
rss = A.Rss()
legit = A.Legit()
HMAC = A.HOST_MAC
KMAC = link.kmac


def rmac():
    return "02:%02x:%02x:%02x:%02x:%02x" % tuple(rng.randrange(256) for _ in range(5))


def sync6(tag):
    """A UDP echo over IPv6: tapir has read every frame sent before it."""
    if not A.udp_sync(b"sync6 %d" % tag, host=HOST6):
        A.check(False, f"tapir echoed the IPv6 sync after frame {tag}")


def wave(name, frames):
    t0 = time.monotonic()
    for i, fr in enumerate(frames):
        link.send_frame(fr)
        if (i + 1) % BATCH == 0:
            sync6(i + 1)
    sync6(len(frames))
    A.log(f"{name}: {len(frames)} frames in {time.monotonic() - t0:.1f} s, "
          f"rss {A.rss_kib()} KiB")


def ra(i):
    src = "fe80::%x:%x" % (rng.randrange(1, 0xffff), i)
    mac = rmac()
    pfx = "2001:db8:%x:%x::" % (rng.randrange(0x10000), rng.randrange(0x10000))
    return raw(Ether(src=mac, dst="33:33:00:00:00:01") / IPv6(src=src, dst="ff02::1", hlim=255) /
               ICMPv6ND_RA(routerlifetime=1800) / ICMPv6NDOptSrcLLAddr(lladdr=mac) /
               ICMPv6NDOptPrefixInfo(prefix=pfx, prefixlen=64, L=1, A=1,
                                     validlifetime=86400, preferredlifetime=14400))


def ns(i):
    src = "fd00::1:%x:%x" % (i >> 16, i & 0xffff)
    mac = rmac()
    return raw(Ether(src=mac, dst=HMAC) / IPv6(src=src, dst=HOST6, hlim=255) /
               ICMPv6ND_NS(tgt=HOST6) / ICMPv6NDOptSrcLLAddr(lladdr=mac))


def ip6(**kw):
    return Ether(src=KMAC, dst=HMAC) / IPv6(src=PEER6, dst=HOST6, **kw)


def ext_chain(i):
    pkt = ip6()
    for _ in range(40):
        pkt = pkt / IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\0\0\0\0")])
    return raw(pkt / ICMPv6EchoRequest(id=0x6a00, seq=i))


def echo_body(ident, seq, data):
    """An echo request's bytes with its checksum over the pseudo-header
    (scapy leaves it null under a fragment header)."""
    return raw(IPv6(src=PEER6, dst=HOST6) / ICMPv6EchoRequest(id=ident, seq=seq, data=data))[40:]


def overlap(i):
    body = echo_body(0x6b00, i, b"o" * 64)
    a = ip6() / IPv6ExtHdrFragment(nh=58, id=0x60000 + i, offset=0, m=1) / body[:48]
    b = ip6() / IPv6ExtHdrFragment(nh=58, id=0x60000 + i, offset=3, m=0) / body[24:]
    return [raw(a), raw(b)]


def tiny(i):
    body = echo_body(0x6c00, i, b"t" * 24)
    return [raw(ip6() / IPv6ExtHdrFragment(nh=58, id=0x70000 + i, offset=k, m=int(8 * k + 8 < len(body))) /
                body[8 * k:8 * k + 8]) for k in range((len(body) + 7) // 8)]


def ptb(i):
    lport, rport = legit.conn.getsockname()[1], legit.conn.getpeername()[1]
    quoted = IPv6(src=HOST6, dst=PEER6) / TCP(sport=rport, dport=lport, flags="A", seq=i) / (b"q" * 64)
    return raw(ip6() / ICMPv6PacketTooBig(mtu=rng.choice([0, 68, 576, 1000, 1279])) / quoted)


def jumbo(i):
    opt = HBHOptUnknown(otype=0xC2, optdata=b"\0\1\0\0")
    return raw(ip6() / IPv6ExtHdrHopByHop(options=[opt]) / ICMPv6EchoRequest(id=0x6d00, seq=i))


def redirect(i):
    src = "fe80::bad:%x" % i
    return raw(Ether(src=rmac(), dst=HMAC) / IPv6(src=src, dst=HOST6, hlim=255) /
               ICMPv6ND_Redirect(tgt="fe80::e711", dst=PEER6) /
               ICMPv6NDOptDstLLAddr(lladdr="02:ee:ee:ee:ee:66"))


before = A.stats()
wave("ra_flood", [ra(i) for i in range(RA_FLOOD)])
wave("ns_flood", [ns(i) for i in range(NS_FLOOD)])
wave("ext_chain", [ext_chain(i) for i in range(WAVE)])
wave("overlap", [f for i in range(WAVE) for f in overlap(i)])
wave("tiny", [f for i in range(WAVE // 4) for f in tiny(i)])
wave("ptb", [ptb(i) for i in range(WAVE)])
wave("jumbo", [jumbo(i) for i in range(WAVE)])
wave("redirect", [redirect(i) for i in range(WAVE)])
time.sleep(1)  # legitimate traffic after the last wave
# RFC 8200 5 / RFC 8201 4: the live connection's MSS still fits 1280 or more
lport = legit.conn.getsockname()[1]
ss = subprocess.run([A.TAPIR, "ss", "--control", A.CTL], capture_output=True, text=True,
                    timeout=15).stdout
mss = [int(w[-1]) for w in (ln.split() for ln in ss.splitlines())
       if len(w) >= 5 and w[0] == "ESTABLISHED" and w[4] == f"[{PEER6}]:{lport}"]
A.check(len(mss) == 1 and mss[0] >= 1280 - 60,
        f"the live connection's MSS after PTBs below 1280: {mss} (>= 1220)")
after = A.stats()

names = ("nd_ra_rx", "nd_evicted", "drop.ip6_ext_chain", "drop.frag_overlap", "reasm_done",
         "drop.ip6_option", "icmp6_errors_rx", "icmp6_echo_replied")
print("counters " + ", ".join(f"{n} +{A.delta(before, after, n)}" for n in names), flush=True)
A.check(A.delta(before, after, "nd_ra_rx") >= RA_FLOOD, f"every RA read ({A.delta(before, after, 'nd_ra_rx')})")
A.check(A.delta(before, after, "nd_evicted") > 0, "the NS flood made the neighbor cache evict")
A.check(A.delta(before, after, "drop.ip6_ext_chain") >= WAVE, "every long chain dropped as ip6_ext_chain")
A.check(A.delta(before, after, "drop.frag_overlap") >= WAVE, "every overlapping pair dropped as frag_overlap")
A.check(A.delta(before, after, "reasm_done") >= WAVE // 4, "the honest tiny fragments reassembled")
A.check(A.delta(before, after, "icmp6_echo_replied") >= WAVE // 4, "and their echo requests answered")
A.check(A.delta(before, after, "drop.ip6_option") >= WAVE, "every jumbogram option dropped as ip6_option")
legit.stop()
link.close()
rss.stop().report(bound_kib=16 * 1024)
A.finish()
