#!/usr/bin/python3
"""RFC 5961 blind in-window attacks on a live connection (attack_blind.sh).

The victim is a real connection: the kernel's TCP talking to tapir's echo
service.  We learn its sequence numbers by sniffing it (what an on-path
observer knows, and what a blind attacker guesses at), then inject, with
the kernel's address and port as the source:

  rst      a RST in the window but not at RCV.NXT.  RFC 5961 3.2: not an
           exact match, so tapir must send a challenge ACK (ACK at
           RCV.NXT) and keep the connection; only the real peer, which
           knows RCV.NXT, could then reset it.
  syn      a SYN in ESTABLISHED, in and out of the window.  RFC 5961 4.2
           (RFC 9293 3.10.7.4 "fourth, check the SYN bit"): challenge ACK,
           the connection lives.
  ack-new  data at RCV.NXT whose ACK acknowledges bytes tapir never sent
           (SEG.ACK > SND.NXT).  RFC 9293 3.10.7.4 / RFC 5961 5.2: drop the
           segment, send an ACK.  The data must not reach the application.
  ack-old  the same with an ACK far below SND.UNA - MAX.SND.WND (RFC 5961
           5.2): dropped, an ACK sent, the data never delivered.

A segment without the connection's timestamps would be dropped silently
for that alone (RFC 7323 3.2), so the injections carry the sniffed ones:
the attacker we model sees the connection.

After each injection the connection does another round trip: the echo
must be exactly the legitimate bytes (an accepted injection would be
echoed instead), and the connection must be alive.  Meanwhile Legit runs
new echo connections, and tapir's RSS is watched.
"""
import random
import socket
import sys
import time

import attack_lib as A

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
WRONG = "--wrong" in sys.argv  # a deliberately wrong expectation (the test must fail)

link = A.Link()
rss = A.Rss()
s0 = A.stats()
legit = A.Legit()

# the victim: a second persistent connection of the kernel, ours to attack
victim = socket.create_connection((A.HOST_IP, 7), timeout=30)
victim.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
vport = victim.getsockname()[1]
n = 0


def round_trip():
    """One echo on the victim; returns once the sniffer has recorded tapir's
    echo too (the kernel's socket may see it first), so that the sniffed
    sequence numbers are current."""
    global n
    n += 1
    msg = b"victim %d\n" % n
    m = link.mark()
    victim.sendall(msg)
    got = b""
    while len(got) < len(msg):
        b = victim.recv(100)
        if not b:
            raise ConnectionError("victim connection closed")
        got += b
    link.wait(lambda s: s.from_tapir and s.dport == vport and s.payload.endswith(msg), m, 10)
    return got == msg, got


def state():
    pn, tn, _, win = A.conn_state(link, vport, 7)
    return pn, tn, win


counts = {"rst": 0, "syn": 0, "ack-new": 0, "ack-old": 0}
answered = {k: 0 for k in counts}
bad_echo = 0
INJECT = b"INJECTED BY A BLIND ATTACKER\n"

ok, got = round_trip()
A.check(ok, "the victim connection echoes before the attack")
for r in range(ROUNDS):
    for kind in counts:
        ok, got = round_trip()
        if not ok:
            bad_echo += 1
        rcv_nxt, snd_nxt, win = state()
        m = link.mark()
        ts = A.last_ts(link, vport, 7)
        if kind == "rst":
            # anywhere in the window but RCV.NXT itself
            off = random.randrange(1, max(2, min(win, 60000)))
            pkt = A.IP(src=A.PEER_IP, dst=A.HOST_IP) / A.TCP(
                sport=vport, dport=7, flags="R", seq=(rcv_nxt + off) & 0xFFFFFFFF)
        elif kind == "syn":
            seq = (rcv_nxt + random.choice((1, 1000, 1 << 20, 1 << 31))) & 0xFFFFFFFF
            pkt = A.IP(src=A.PEER_IP, dst=A.HOST_IP) / A.TCP(
                sport=vport, dport=7, flags="S", seq=seq, window=65535, options=ts)
        elif kind == "ack-new":
            pkt = A.IP(src=A.PEER_IP, dst=A.HOST_IP) / A.TCP(
                sport=vport, dport=7, flags="PA", seq=rcv_nxt,
                ack=(snd_nxt + (1 << 20)) & 0xFFFFFFFF, window=65535, options=ts) / INJECT
        else:
            pkt = A.IP(src=A.PEER_IP, dst=A.HOST_IP) / A.TCP(
                sport=vport, dport=7, flags="PA", seq=rcv_nxt,
                ack=(snd_nxt - (1 << 30)) & 0xFFFFFFFF, window=65535, options=ts) / INJECT
        link.send(pkt)
        counts[kind] += 1
        # tapir's answer: a bare ACK at RCV.NXT (the challenge ACK / the ACK
        # for an unacceptable segment), from its SND.NXT
        want_ack = rcv_nxt if not WRONG else (rcv_nxt + 1) & 0xFFFFFFFF
        a = link.wait(lambda s: s.from_tapir and s.dport == vport and s.flags & A.ACK and
                      not s.flags & (A.SYN | A.RST | A.FIN) and not s.payload and
                      s.ack == want_ack and s.seq == snd_nxt, m, 5.0)
        if a is not None:
            answered[kind] += 1
        elif answered[kind] == counts[kind] - 1:  # the first miss of its kind
            A.log(f"no ACK at {want_ack} from {snd_nxt} after {kind}; tapir sent:",
                  [(s.flags, s.seq, s.ack, len(s.payload)) for s in
                   link.since(m, lambda s: s.from_tapir and s.dport == vport)][:5])
        # nothing from tapir may carry the injected bytes
        if link.since(m, lambda s: s.from_tapir and b"INJECTED" in s.payload):
            bad_echo += 1
    if not A.host_alive():
        break

ok, got = round_trip()
A.check(ok, f"the victim connection still echoes exactly after {sum(counts.values())} "
        f"injections (last echo {got!r})")
A.check(bad_echo == 0, f"no round trip returned injected or wrong bytes ({bad_echo} did)")
for k in counts:
    A.check(answered[k] == counts[k],
            f"{k}: {answered[k]} of {counts[k]} answered by an ACK at RCV.NXT from SND.NXT "
            f"(RFC 5961 {'3.2' if k == 'rst' else '4.2' if k == 'syn' else '5.2'})")
victim.close()
legit.stop()
rss.stop().report()
s1 = A.stats()
ch = A.delta(s0, s1, "tcp_challenge_acks")
print(f"counters tcp_challenge_acks +{ch} tcp_rst_sent +{A.delta(s0, s1, 'tcp_rst_sent')} "
      f"drop.tcp_dropped +{A.delta(s0, s1, 'drop.tcp_dropped')}", flush=True)
A.check(ch >= counts["rst"] + counts["syn"],
        f"tcp_challenge_acks grew by {ch} >= the {counts['rst'] + counts['syn']} RSTs and SYNs")
link.close()
A.finish()
