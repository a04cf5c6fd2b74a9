#!/usr/bin/python3
"""Shared by the attack suite (tests/interop/attack_*.py), run inside the
test's network namespace against `tapir host` on tp0 (tapir 10.0.0.2, the
kernel 10.0.0.1).

What every attack needs:

  * Link -- one AF_PACKET socket on the kernel's side of the TAP: frames
    crafted with scapy go out of it straight to tapir's MAC (spoofed
    sources, bad headers the kernel would never send), and a reader thread
    records every TCP segment in both directions (to learn a live
    connection's sequence numbers, to see tapir's answers) and answers ARP
    for the fake hosts we impersonate;
  * RawPeer -- a minimal TCP peer at a fake address (10.0.0.50...) built
    on Link: a handshake with the options we choose (MSS 0, SACK, window 0),
    then segments by hand;
  * Legit -- the legitimate traffic that must go on during every attack:
    a persistent echo connection doing round trips, and new echo
    connections one after another, through the kernel's own TCP;
  * Rss -- VmRSS of the tapir process, sampled in a thread: before,
    peak and after;
  * stats() -- tapir's counters through `tapir stats --control`.

Attack scripts get their settings from the environment (attack_lib.sh sets
them): IFACE HOST_MAC HOST_IP PEER_IP TAPIR_PID TAPIR CTL WWW.
Every loop that sends is bounded in count and in time.
"""
import collections
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time

from scapy.all import ARP, IP, TCP, UDP, ICMP, Ether, Raw  # noqa: F401  (re-exported)

from inet import csum as inet_csum, recv_all  # noqa: F401  (re-exported)

ENV = os.environ
IFACE = ENV.get("IFACE", "tp0")
HOST_MAC = ENV.get("HOST_MAC", "")
HOST_IP = ENV.get("HOST_IP", "10.0.0.2")
PEER_IP = ENV.get("PEER_IP", "10.0.0.1")
TAPIR_PID = int(ENV.get("TAPIR_PID", "0"))
TAPIR = ENV.get("TAPIR", "tapir")
CTL = ENV.get("CTL", "")
WWW = ENV.get("WWW", "")
MEM_BOUND_KIB = int(ENV.get("MEM_BOUND_KIB", str(64 * 1024)))  # +64 MiB

ETH_P_ALL = 0x0003
FAILURES = []


def log(*a):
    print("  ", *a, flush=True)


def check(cond, what):
    """Records a failed assertion (the script goes on, to report all)."""
    if cond:
        log("ok:", what)
    else:
        log("FAIL:", what)
        FAILURES.append(what)
    return cond


def finish():
    if FAILURES:
        print(f"attack: {len(FAILURES)} assertion(s) failed:", flush=True)
        for f in FAILURES:
            print("  -", f, flush=True)
        sys.exit(1)
    print("attack: all assertions held", flush=True)
    sys.exit(0)


# ---- tapir's counters and memory ----

def stats():
    """{name: value} of every counter, through the control socket."""
    out = subprocess.run([TAPIR, "stats", "--control", CTL, "--all"], capture_output=True,
                         text=True, timeout=15).stdout
    d = {}
    for line in out.splitlines():
        w = line.split()
        if len(w) >= 2 and w[1].isdigit():
            d[w[0]] = int(w[1])
    return d


def delta(a, b, name):
    return b.get(name, 0) - a.get(name, 0)


def rss_kib(pid=None):
    with open(f"/proc/{pid or TAPIR_PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def host_alive():
    try:
        os.kill(TAPIR_PID, 0)
        return True
    except OSError:
        return False


class Rss:
    """VmRSS of tapir every 100 ms in a thread: before (at start), peak,
    after (at stop).  The bound is on memory, not on time."""

    def __init__(self):
        self.before = rss_kib()
        self.peak = self.before
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop_ev.wait(0.1):
            try:
                self.peak = max(self.peak, rss_kib())
            except OSError:
                return

    def stop(self):
        self.stop_ev.set()
        self.t.join()
        self.after = rss_kib() if host_alive() else 0
        self.peak = max(self.peak, self.after)
        return self

    def report(self, bound_kib=MEM_BOUND_KIB):
        print(f"rss_kib before {self.before} peak {self.peak} after {self.after} "
              f"growth {self.peak - self.before}", flush=True)
        check(self.peak - self.before <= bound_kib,
              f"tapir's RSS grew by {self.peak - self.before} KiB <= {bound_kib} KiB "
              f"(before {self.before}, peak {self.peak}, after {self.after})")


# ---- legitimate traffic ----

class Legit:
    """What must keep working during an attack, through the kernel's TCP:
    round trips on one persistent echo connection opened before the attack,
    and new echo connections one after another (connect, a line, its echo,
    close).  Each operation is bounded by OP_TIMEOUT (a failure if it is
    exceeded: a TCP retransmission schedule fits in it many times)."""
    OP_TIMEOUT = 30

    def __init__(self, port=7, new_port=None, pause=0.05):
        self.port, self.new_port, self.pause = port, new_port or port, pause
        self.ok_rt = self.ok_new = 0
        self.errors = []
        self.stop_ev = threading.Event()
        self.conn = socket.create_connection((HOST_IP, port), timeout=self.OP_TIMEOUT)
        self.conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.n = 0
        self.round_trip()  # before the attack starts
        self.threads = [threading.Thread(target=self._persistent, daemon=True),
                        threading.Thread(target=self._fresh, daemon=True)]
        for t in self.threads:
            t.start()

    def round_trip(self, sock=None):
        sock = sock or self.conn
        self.n += 1
        msg = b"legit round trip %d\n" % self.n
        sock.sendall(msg)
        got = b""
        while len(got) < len(msg):
            b = sock.recv(len(msg) - len(got))
            if not b:
                raise ConnectionError("connection closed by tapir")
            got += b
        if got != msg:
            raise ValueError(f"echo {got!r} != {msg!r}")

    def _persistent(self):
        while not self.stop_ev.is_set():
            try:
                self.round_trip()
                self.ok_rt += 1
            except Exception as e:  # noqa: BLE001 -- any failure counts
                self.errors.append(f"persistent connection: {e!r}")
                return
            self.stop_ev.wait(self.pause)

    def _fresh(self):
        while not self.stop_ev.is_set():
            phase, t0, sport = "connect", time.monotonic(), 0
            try:
                with socket.create_connection((HOST_IP, self.new_port),
                                              timeout=self.OP_TIMEOUT) as s:
                    sport = s.getsockname()[1]
                    msg = b"fresh %d\n" % self.ok_new
                    phase = "send"
                    s.sendall(msg)
                    s.shutdown(socket.SHUT_WR)
                    phase = "read the echo"
                    got = recv_all(s)
                    if self.new_port == 7 and got != msg:
                        raise ValueError(f"echo {got!r} != {msg!r}")
                self.ok_new += 1
            except Exception as e:  # noqa: BLE001
                self.errors.append(f"new connection to port {self.new_port} (source port "
                                   f"{sport}, {phase}, after {time.monotonic() - t0:.1f} s, "
                                   f"{time.strftime('%H:%M:%S')}): {e!r}")
            self.stop_ev.wait(self.pause)

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(self.OP_TIMEOUT + 5)
        try:
            self.round_trip()  # and once more after the attack
            self.ok_rt += 1
        except Exception as e:  # noqa: BLE001
            self.errors.append(f"persistent connection after the attack: {e!r}")
        self.conn.close()
        print(f"legit round_trips {self.ok_rt} new_connections {self.ok_new} "
              f"errors {len(self.errors)}", flush=True)
        for e in self.errors[:5]:
            log("legit error:", e)
        check(not self.errors, "legitimate traffic never failed during the attack")
        check(self.ok_rt >= 2 and self.ok_new >= 1,
              f"legitimate traffic ran ({self.ok_rt} round trips, {self.ok_new} new connections)")
        return self


def udp_sync(tag=b"sync", port=7, tries=5, host=None):
    """A UDP echo through the kernel: once answered, tapir has read every
    frame sent before it (the TAP is one FIFO).  Keeps floods from
    overflowing the TAP's queue and orders counter reads after frames.
    HOST: HOST_IP unless given (an IPv6 address too)."""
    host = host or HOST_IP
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.connect((host, port))
        s.settimeout(2)
        for i in range(tries):
            msg = b"%s %d %d" % (tag, i, random.randrange(1 << 30))
            s.send(msg)
            try:
                while True:
                    if s.recv(2000) == msg:
                        return True
            except socket.timeout:
                pass
    return False


def tx_dropped():
    with open(f"/sys/class/net/{IFACE}/statistics/tx_dropped") as f:
        return int(f.read())


# ---- the link: crafted frames out, every TCP segment in ----

Seg = collections.namedtuple(
    "Seg", "t idx from_tapir src dst sport dport seq ack flags win payload opts")
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def mac_bytes(m):
    return bytes.fromhex(m.replace(":", ""))


class Link:
    def __init__(self, record_tcp=True):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((IFACE, ETH_P_ALL))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        with open(f"/sys/class/net/{IFACE}/address") as f:
            self.kmac = f.read().strip()
        self.hmac = mac_bytes(HOST_MAC)
        self.fake = {}  # fake IP (bytes) -> fake MAC (bytes): ARP answered for them
        self.segs = []  # every TCP segment seen (bounded below)
        self.cv = threading.Condition()
        self.record_tcp = record_tcp
        self.arp_log = []  # (from_tapir, op, sha, spa, tha, tpa)
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def add_fake(self, ip, mac):
        self.fake[socket.inet_aton(ip)] = mac_bytes(mac)

    def send(self, pkt, src_mac=None, dst_mac=None):
        """PKT: a scapy IP (or ARP) packet, or bytes of an IPv4 packet."""
        if isinstance(pkt, (bytes, bytearray)):
            frame = (mac_bytes(dst_mac) if dst_mac else self.hmac) + \
                mac_bytes(src_mac or self.kmac) + b"\x08\x00" + bytes(pkt)
        else:
            et = Ether(dst=dst_mac or HOST_MAC, src=src_mac or self.kmac)
            frame = bytes(et / pkt)
        self.sock.send(frame)

    def send_frame(self, frame):
        self.sock.send(frame)

    def _run(self):
        self.sock.settimeout(0.2)
        while not self.stop_ev.is_set():
            try:
                fr = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(fr) < 14:
                continue
            from_tapir = fr[6:12] == self.hmac
            et = fr[12:14]
            if et == b"\x08\x06" and len(fr) >= 42:
                op = struct.unpack("!H", fr[20:22])[0]
                sha, spa, tha, tpa = fr[22:28], fr[28:32], fr[32:38], fr[38:42]
                with self.cv:
                    if len(self.arp_log) < 100000:
                        self.arp_log.append((from_tapir, op, sha, spa, tha, tpa))
                if from_tapir and op == 1 and tpa in self.fake:
                    m = self.fake[tpa]
                    rep = (fr[6:12] + m + b"\x08\x06" +
                           struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) + m + tpa + sha + spa)
                    try:
                        self.sock.send(rep)
                    except OSError:
                        pass
                continue
            if et != b"\x08\x00" or not self.record_tcp or len(fr) < 34:
                continue
            ip = fr[14:]
            ihl = (ip[0] & 15) * 4
            if ip[9] != 6 or len(ip) < ihl + 20:
                continue
            tot = struct.unpack("!H", ip[2:4])[0]
            if struct.unpack("!H", ip[6:8])[0] & 0x3FFF:
                continue  # a fragment
            t = ip[ihl:tot]
            if len(t) < 20:
                continue
            off = (t[12] >> 4) * 4
            if off < 20 or off > len(t):
                continue
            sport, dport, seq, ack = struct.unpack("!HHII", t[:12])
            seg = Seg(time.monotonic(), 0, from_tapir, socket.inet_ntoa(ip[12:16]),
                      socket.inet_ntoa(ip[16:20]), sport, dport, seq, ack, t[13],
                      struct.unpack("!H", t[14:16])[0], bytes(t[off:]), bytes(t[20:off]))
            with self.cv:
                seg = seg._replace(idx=len(self.segs))
                self.segs.append(seg)
                if len(self.segs) > 2000000:
                    raise SystemExit("attack_lib: too many segments recorded")
                self.cv.notify_all()

    def mark(self):
        with self.cv:
            return len(self.segs)

    def wait(self, pred, since=0, timeout=10.0):
        """The first segment from index SINCE on that satisfies PRED, or None
        after TIMEOUT seconds (a bound for a failure, not a measurement)."""
        end = time.monotonic() + timeout
        i = since
        with self.cv:
            while True:
                while i < len(self.segs):
                    if pred(self.segs[i]):
                        return self.segs[i]
                    i += 1
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cv.wait(left)

    def since(self, idx, pred=lambda s: True):
        with self.cv:
            return [s for s in self.segs[idx:] if pred(s)]

    def close(self):
        self.stop_ev.set()
        self.t.join()
        self.sock.close()


def conn_state(link, lport, rport, lip=PEER_IP):
    """Sequence state of the connection between LIP:LPORT (the kernel or a
    peer) and tapir's RPORT, from what was sniffed: the peer's next
    sequence number (tapir's RCV.NXT once all arrived), tapir's SND.NXT,
    the highest ACK the peer sent (tapir's SND.UNA), tapir's last window."""
    peer_nxt = tapir_nxt = peer_ack = None
    win = 0
    for s in link.since(0, lambda s: (s.sport, s.dport) in ((lport, rport), (rport, lport))):
        end = s.seq + len(s.payload) + (1 if s.flags & (SYN | FIN) else 0)
        if not s.from_tapir and s.src == lip:
            if s.flags & RST:
                continue
            if peer_nxt is None or seq_gt(end, peer_nxt):
                peer_nxt = end & 0xFFFFFFFF
            if s.flags & ACK and (peer_ack is None or seq_gt(s.ack, peer_ack)):
                peer_ack = s.ack
        elif s.from_tapir:
            if tapir_nxt is None or seq_gt(end, tapir_nxt):
                tapir_nxt = end & 0xFFFFFFFF
            win = s.win
    return peer_nxt, tapir_nxt, peer_ack, win


def ts_of(opts):
    """(TSval, TSecr) of a TCP option list (bytes), or None."""
    i = 0
    while i < len(opts):
        k = opts[i]
        if k == 0:
            break
        if k == 1:
            i += 1
            continue
        if i + 1 >= len(opts) or opts[i + 1] < 2:
            break
        if k == 8 and opts[i + 1] == 10 and i + 10 <= len(opts):
            return struct.unpack("!II", opts[i + 2:i + 10])
        i += opts[i + 1]
    return None


def last_ts(link, lport, rport, lip=PEER_IP):
    """The timestamps to put on a segment that impersonates the peer LIP:LPORT
    (RFC 7323 3.2: once negotiated, a non-RST segment without them is
    silently dropped -- a blind attacker must sniff or guess them too):
    [("Timestamp", (the peer's last TSval, tapir's last TSval))], or []."""
    pv = tv = None
    for s in link.since(0, lambda s: (s.sport, s.dport) in ((lport, rport), (rport, lport))):
        ts = ts_of(s.opts)
        if ts is None:
            continue
        if s.from_tapir:
            tv = ts[0]
        elif s.src == lip:
            pv = ts[0]
    return [("Timestamp", (pv, tv))] if pv is not None and tv is not None else []


def seq_gt(a, b):
    return 0 < ((a - b) & 0xFFFFFFFF) < 0x80000000


# ---- a TCP peer by hand, at a fake address ----

class RawPeer:
    """A TCP endpoint at IP (a fake host on tapir's subnet, MAC ours) that
    sends exactly what it is told.  Link answers tapir's ARP for it; the
    kernel ignores frames to a MAC not its own."""

    def __init__(self, link, ip, mac, sport=None):
        self.link, self.ip, self.mac = link, ip, mac
        link.add_fake(ip, mac)
        self.sport = sport or random.randrange(20000, 60000)
        self.dport = None
        self.iss = random.randrange(1 << 32)
        self.snd_nxt = self.iss
        self.rcv_nxt = None
        self.irs = None

    def tcp(self, flags, seq=None, ack=None, win=65535, opts=None, payload=b"", dataofs=None,
            raw_opts=None):
        t = TCP(sport=self.sport, dport=self.dport, flags=flags,
                seq=self.snd_nxt if seq is None else seq,
                ack=(self.rcv_nxt or 0) if ack is None else ack, window=win,
                options=opts or [])
        if raw_opts is not None:
            t.options = []
        pkt = IP(src=self.ip, dst=HOST_IP) / t
        if raw_opts is not None or dataofs is not None:
            # options as raw bytes (malformed on purpose), checksum by hand
            b = bytearray(bytes(TCP(sport=self.sport, dport=self.dport, flags=flags,
                                    seq=t.seq, ack=t.ack, window=win)))
            b = b[:20] + (raw_opts or b"")
            d = dataofs if dataofs is not None else len(b) // 4
            b[12] = (d & 15) << 4
            b += payload
            b[16:18] = b"\0\0"
            ph = socket.inet_aton(self.ip) + socket.inet_aton(HOST_IP) + struct.pack("!BBH", 0, 6, len(b))
            b[16:18] = struct.pack("!H", inet_csum(ph + bytes(b)))
            return IP(src=self.ip, dst=HOST_IP, proto=6) / Raw(bytes(b))
        return pkt / Raw(payload) if payload else pkt

    def send(self, *a, **kw):
        self.link.send(self.tcp(*a, **kw), src_mac=self.mac)

    def mine(self, s):
        return s.from_tapir and s.dst == self.ip and s.dport == self.sport and \
            s.sport == self.dport

    def connect(self, dport, opts=(("MSS", 1460),), win=65535, timeout=10):
        self.dport = dport
        m = self.link.mark()
        self.send("S", seq=self.iss, ack=0, win=win, opts=list(opts))
        sa = self.link.wait(lambda s: self.mine(s) and s.flags & SYN and s.flags & ACK,
                            m, timeout)
        if sa is None:
            return None
        self.irs = sa.seq
        self.rcv_nxt = (sa.seq + 1) & 0xFFFFFFFF
        self.snd_nxt = (self.iss + 1) & 0xFFFFFFFF
        self.send("A", win=win)
        return sa

    def send_data(self, data, win=65535, flags="PA"):
        self.send(flags, payload=data, win=win)
        self.snd_nxt = (self.snd_nxt + len(data)) & 0xFFFFFFFF

    def reset(self):
        if self.dport is not None and self.rcv_nxt is not None:
            self.send("R", ack=0)


def pattern(n):
    """The bytes of the test files the HTTP attacks fetch (attack_lib.sh
    writes the same): byte i is i*7+(i>>8) mod 251, so any offset can be
    checked by itself."""
    return bytes(((i * 7) + (i >> 8)) % 251 for i in range(n))
