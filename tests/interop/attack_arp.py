#!/usr/bin/python3
"""ARP attacks (attack_arp.sh).  RFC 826's rule on reception: update the
entry of the sender's address if there is one ("merge"); add one only when
we are the target.  So:

  poison     a reply "10.0.0.77 is-at EVIL" sent to someone else (target
             10.0.0.99), for an address tapir has no entry for: not cached
             (drop.arp_not_for_us).  Then a ping from 10.0.0.77 (from the
             MAC GOOD): tapir must ask who has 10.0.0.77 and answer to GOOD,
             never to EVIL.
  own        replies claiming tapir's own address: RFC 5227 2.4, a conflict
             (arp_conflicts), tapir keeps its address and defends it; it
             goes on answering the kernel.
  unsolicited  a reply to tapir for an address it never asked about: RFC
             826 adds it (tapir is the target).  Reported, not asserted:
             RFC 826 allows it, Linux (arp_accept=0) would not.
  flood      requests for tapir from ARP_FLOOD (10,000) different senders:
             each is cached (RFC 826, tapir is the target), so the cache
             must evict (arp_evicted) rather than grow; RSS bounded; the
             legitimate connection (whose entry for 10.0.0.1 may be evicted
             and resolved again) never fails.
"""
import os
import socket
import struct
import sys
import time

import attack_lib as A

WRONG = "--wrong" in sys.argv
FLOOD = int(os.environ.get("ARP_FLOOD", "10000"))
link = A.Link()
rss = A.Rss()
legit = A.Legit()
EVIL, GOOD = "02:ee:ee:ee:ee:01", "02:60:0d:00:00:77"


def arp(op, sha, spa, tpa, tha="00:00:00:00:00:00", dst="ff:ff:ff:ff:ff:ff"):
    return A.Ether(dst=dst, src=sha) / A.ARP(op=op, hwsrc=sha, psrc=spa, hwdst=tha, pdst=tpa)


def sendf(pkt):
    link.send_frame(bytes(pkt))


def ping_from(ip, mac, ident):
    sendf(A.Ether(dst=A.HOST_MAC, src=mac) / A.IP(src=ip, dst=A.HOST_IP) /
          A.ICMP(type=8, id=ident, seq=1) / A.Raw(b"arp test"))


def reply_mac(ident, since, timeout=5):
    """The destination MAC of tapir's echo reply with id IDENT (sniffed)."""
    end = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < end:
        frames = link_raw.frames()
        for fr in frames[seen:]:
            if fr[6:12] == link.hmac and fr[12:14] == b"\x08\x00" and fr[23] == 1 and \
                    fr[34] == 0 and struct.unpack("!H", fr[38:40])[0] == ident:
                return ":".join(f"{b:02x}" for b in fr[0:6])
        seen = len(frames)
        time.sleep(0.05)
    return None


class RawLog:
    """Every ICMP frame tapir sends, in order (a second AF_PACKET socket)."""

    def __init__(self):
        import threading
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        self.s.bind((A.IFACE, 3))
        self.s.settimeout(0.2)
        self.buf = []
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            try:
                fr = self.s.recv(2000)
            except socket.timeout:
                continue
            if len(fr) > 40 and fr[12:14] == b"\x08\x00" and fr[23] == 1:
                self.buf.append(fr)

    def frames(self):
        return list(self.buf)


link_raw = RawLog()
time.sleep(0.2)

# ---- a reply for someone else, about an address tapir has no entry for ----
a = A.stats()
sendf(arp(2, EVIL, "10.0.0.77", "10.0.0.99", tha="02:00:00:00:00:99"))
A.udp_sync()
b = A.stats()
A.check(A.delta(a, b, "drop.arp_not_for_us") == 1,
        "a reply to another host about an unknown address: drop.arp_not_for_us +1")
m = len(link.arp_log)
link.add_fake("10.0.0.77", GOOD)  # from now on, tapir's ARP for .77 is answered with GOOD
ping_from("10.0.0.77", GOOD, 0x7777)
got = reply_mac(0x7777, 0)
asked = [e for e in link.arp_log[m:] if e[0] and e[1] == 1 and e[5] == socket.inet_aton("10.0.0.77")]
A.check(bool(asked), "tapir asked who has 10.0.0.77 (no entry had been made)")
A.check((got == GOOD) != WRONG, f"the echo reply to 10.0.0.77 went to {got} (GOOD {GOOD}, never EVIL)")

# ---- claims on tapir's own address ----
a = A.stats()
for k in range(5):
    sendf(arp(2, EVIL, A.HOST_IP, A.PEER_IP, tha=link.kmac, dst=A.HOST_MAC))
A.udp_sync()
b = A.stats()
A.check(A.delta(a, b, "arp_conflicts") == 5, f"5 claims of tapir's address: arp_conflicts "
        f"+{A.delta(a, b, 'arp_conflicts')} (RFC 5227 2.4)")
print(f"own address: announcements (defences) +{A.delta(a, b, 'arp_announces_sent')}", flush=True)

# ---- an unsolicited reply to tapir (RFC 826 adds it: reported) ----
m = len(link.arp_log)
sendf(arp(2, EVIL, "10.0.0.78", A.HOST_IP, tha=A.HOST_MAC, dst=A.HOST_MAC))
A.udp_sync()
link.add_fake("10.0.0.78", GOOD)
ping_from("10.0.0.78", GOOD, 0x7878)
got = reply_mac(0x7878, 0)
print(f"unsolicited reply to tapir for 10.0.0.78: cached per RFC 826 -> echo reply sent to "
      f"{got} ({'the claimed MAC' if got == EVIL else 'after asking'})", flush=True)

# ---- 10,000 senders ----
a = A.stats()
r0 = A.rss_kib()
for k in range(FLOOD):
    ip = f"10.{100 + k // 65536}.{(k // 256) % 256}.{k % 256 or 1}"
    mac = "02:aa:%02x:%02x:%02x:%02x" % ((k >> 24) & 255, (k >> 16) & 255, (k >> 8) & 255, k & 255)
    sendf(arp(1, mac, ip, A.HOST_IP))
    if k % 200 == 199:
        A.udp_sync()
A.udp_sync()
b = A.stats()
ev = A.delta(a, b, "arp_evicted")
print(f"ARP flood: {FLOOD} requests from different senders; arp_replies_sent "
      f"+{A.delta(a, b, 'arp_replies_sent')}, arp_evicted +{ev}, rss {r0} -> {A.rss_kib()} KiB",
      flush=True)
A.check(ev >= (FLOOD + 1 if WRONG else FLOOD - 128),
        f"the cache evicted (+{ev} >= {FLOOD} - 128 entries): it did not grow past its size")
A.check(A.delta(a, b, "arp_replies_sent") == FLOOD, "every request was answered")

legit.stop()
rss.stop().report()
link_raw.stop = True
link.close()
A.finish()
