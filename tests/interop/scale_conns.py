#!/usr/bin/python3
"""Many concurrent kernel connections to tapir's echo service (scale_conns.sh).

    TAPIR_PID=PID scale_conns.py HOST N

Opens N connections to HOST:7 (at most WINDOW connects in flight, so the
listener's backlog of 128 is not what is measured), echoes one message on
each and checks every byte, holds them all while a SYN flood from spoofed
addresses hits the same port (FLOOD_COUNT frames, FLOOD_MIN_SECONDS at least,
FLOOD_SECONDS at most),
checks that none of them saw a byte, an end or an error meanwhile, echoes a
second message on each, and closes them all.  Prints tapir's VmRSS before,
while held and after close; memory is judged (check_memory: the flood
bounded, 2 KiB per idle connection at most, half given back after close),
time never.  Exit 1 on any lost, reset, refused or wrong connection.
"""
import os
import random
import resource
import selectors
import socket
import struct
import sys
import time

from attack_lib import rss_kib  # tapir's VmRSS (TAPIR_PID)
from inet import csum

HOST, N = sys.argv[1], int(sys.argv[2])
PORT = 7
WINDOW = int(os.environ.get("SCALE_WINDOW", "100"))
FLOOD_COUNT = int(os.environ.get("FLOOD_COUNT", "500000"))
FLOOD_SECONDS = float(os.environ.get("FLOOD_SECONDS", "5"))
# tapir answers a full backlog with SYN cookies only once a half-open
# connection's SYN,ACK was retransmitted (the initial RTO, 1 s: a flood,
# not a burst; core/tcp_syn.c), so the flood lasts past that
FLOOD_MIN_SECONDS = float(os.environ.get("FLOOD_MIN_SECONDS", "2.5"))
MIN_N_PER_CONN = 4000
PHASE_SECONDS = float(os.environ.get("PHASE_SECONDS", "40"))  # each phase's bound
IFACE = os.environ.get("IFACE", "tp0")
HOST_MAC = os.environ.get("HOST_MAC", "")


def log(msg):
    print("[scale_conns] " + msg, flush=True)


def die(msg):
    log("FAIL: " + msg)
    sys.exit(1)


def connect_all():
    """N connected sockets, WINDOW connects at a time; dies on any failure."""
    sel = selectors.DefaultSelector()
    done, pending, started = [], 0, 0
    end = time.monotonic() + PHASE_SECONDS
    while len(done) < N:
        while pending < WINDOW and started < N:
            s = socket.socket()
            s.setblocking(False)
            err = s.connect_ex((HOST, PORT))
            if err not in (0, 115):  # EINPROGRESS
                die(f"connect {started}: {os.strerror(err)}")
            sel.register(s, selectors.EVENT_WRITE, started)
            started += 1
            pending += 1
        if time.monotonic() > end:
            die(f"only {len(done)} of {N} connected within {PHASE_SECONDS:.0f} s")
        for key, _ in sel.select(1.0):
            s = key.fileobj
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                die(f"connection {key.data}: {os.strerror(err)}")
            sel.unregister(s)
            pending -= 1
            done.append((key.data, s))
    sel.close()
    done.sort(key=lambda x: x[0])
    return [s for _, s in done]


def echo_all(socks, tag):
    """Sends a distinct message on every connection, reads it back whole."""
    msgs = [b"%s %06d of %06d\n" % (tag, i, N) for i in range(len(socks))]
    sel = selectors.DefaultSelector()
    got = [b""] * len(socks)
    for i, s in enumerate(socks):
        if s.send(msgs[i]) != len(msgs[i]):  # a few bytes: always fits
            die(f"{tag.decode()}: short send on connection {i}")
        sel.register(s, selectors.EVENT_READ, i)
    left = len(socks)
    end = time.monotonic() + PHASE_SECONDS
    while left:
        if time.monotonic() > end:
            die(f"{tag.decode()}: {left} of {len(socks)} connections never echoed")
        for key, _ in sel.select(1.0):
            i = key.data
            try:
                b = key.fileobj.recv(256)
            except OSError as e:
                die(f"{tag.decode()}: connection {i}: {e}")
            if not b:
                die(f"{tag.decode()}: connection {i} ended (got {got[i]!r})")
            got[i] += b
            if len(got[i]) >= len(msgs[i]):
                if got[i] != msgs[i]:
                    die(f"{tag.decode()}: connection {i}: sent {msgs[i]!r}, got {got[i]!r}")
                sel.unregister(key.fileobj)
                left -= 1
    sel.close()


def kernel_mac():
    with open(f"/sys/class/net/{IFACE}/address") as f:
        return bytes(int(x, 16) for x in f.read().strip().split(":"))


def syn_flood():
    """Spoofed SYNs to HOST:7 from RFC 2544's 198.18.0.0/15 (nobody's):
    tapir's SYN,ACKs go to its gateway, the kernel, which does not forward
    them, so the half-open connections are never completed (RFC 4987 2)."""
    if not HOST_MAC:
        die("no HOST_MAC for the flood")
    rng = random.Random(1)
    dst = socket.inet_aton(HOST)
    eth = bytes.fromhex(HOST_MAC.replace(":", "")) + kernel_mac() + b"\x08\x00"
    frames = []
    for _ in range(min(FLOOD_COUNT, 20000)):
        src = struct.pack("!I", (198 << 24) | (18 << 16) | rng.randrange(1, 1 << 17))
        tcp = struct.pack("!HHIIBBHHH", rng.randrange(1024, 65536), PORT, rng.randrange(1 << 32),
                          0, 6 << 4, 0x02, 64240, 0, 0) + b"\x02\x04\x05\xb4"
        tcp = tcp[:16] + struct.pack("!H", csum(src + dst + struct.pack("!BBH", 0, 6, len(tcp)) +
                                               tcp)) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        frames.append(eth + ip + tcp)
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    raw.bind((IFACE, 0))
    sent = errs = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < FLOOD_SECONDS and (
            sent < FLOOD_COUNT or time.monotonic() - t0 < FLOOD_MIN_SECONDS):
        try:
            raw.send(frames[sent % len(frames)])
        except OSError:
            errs += 1  # the TAP's queue is full: the flood is at full speed
        sent += 1
    raw.close()
    dur = time.monotonic() - t0
    log(f"SYN flood: {sent} spoofed SYNs to port {PORT} in {dur:.1f} s ({errs} not queued)")


def hold_check(socks):
    """Nothing may have happened to a held connection: no byte, no end."""
    sel = selectors.DefaultSelector()
    for i, s in enumerate(socks):
        sel.register(s, selectors.EVENT_READ, i)
    ev = sel.select(0)
    sel.close()
    if ev:
        i = ev[0][0].data
        try:
            b = socks[i].recv(64)
        except OSError as e:
            b = e
        die(f"{len(ev)} held connections changed during the hold (connection {i}: {b!r})")


def check_memory(r0, r1, r2, r3):
    """Issue 12's memory rules, on tapir's VmRSS (bounds on memory, not on
    time): the flood's half-open connections are bounded (tcp_max_syn_backlog,
    4096, at most a quarter of the sockets), so the flood adds at most
    FLOOD_MAX_KIB; after close tapir gives the heap's free pages back
    (malloc_trim, tools/host/host.c give_back), so at least half of what
    the held connections took is gone again.  At a small N the fixed costs
    (hash tables, the first chunks) are the larger part: the per-connection
    figure is judged from MIN_N_PER_CONN connections up."""
    flood_max = int(os.environ.get("FLOOD_MAX_KIB", str(32 * 1024)))
    per_max = int(os.environ.get("PER_CONN_MAX_BYTES", "2048"))
    if r2 - r1 > flood_max:
        die(f"the SYN flood grew tapir's VmRSS by {r2 - r1} KiB (more than {flood_max})")
    if os.environ.get("ASAN_BUILD") == "1":
        log("memory: the flood bounded (per connection and give-back: not "
            "under AddressSanitizer, whose quarantine and redzones are in VmRSS)")
        return
    if N >= MIN_N_PER_CONN and (r1 - r0) * 1024 / N > per_max:
        die(f"{(r1 - r0) * 1024 / N:.0f} B of VmRSS per idle connection (more than {per_max})")
    if r3 - r0 > max((r1 - r0) // 2, 4096):
        die(f"VmRSS did not come back after close: {r0} KiB before, {r1} KiB held, {r3} KiB after")
    log("memory: the flood bounded, per connection under "
        f"{per_max} B, more than half given back after close")


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < N + 64:
        die(f"RLIMIT_NOFILE hard limit {hard} is below {N + 64}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    r0 = rss_kib()
    t0 = time.monotonic()
    socks = connect_all()
    t1 = time.monotonic()
    log(f"{N} connections established in {t1 - t0:.1f} s ({N / (t1 - t0):.0f}/s)")
    echo_all(socks, b"start")
    t2 = time.monotonic()
    log(f"{N} start echoes byte-exact in {t2 - t1:.1f} s")
    r1 = rss_kib()
    syn_flood()
    time.sleep(1)  # what the flood set off (SYN,ACK retransmissions) runs meanwhile
    hold_check(socks)
    r2 = rss_kib()
    echo_all(socks, b"end")
    log(f"{N} end echoes byte-exact after the flood")
    for s in socks:
        s.close()
    socks = None
    time.sleep(2)  # the FINs, tapir's closes and their ACKs
    r3 = rss_kib()
    log(f"tapir VmRSS: {r0} KiB before, {r1} KiB held ({(r1 - r0) * 1024 / N:.0f} B per "
        f"connection), {r2} KiB after the flood, {r3} KiB after close")
    check_memory(r0, r1, r2, r3)
    print("ALL OK", flush=True)


main()
