#!/usr/bin/env bash
# Many TCP connections from the kernel to tapir's built-in services:
# 1000 sequential echo connections (connect, one line, read it back, close)
# and 200 at once (all connected before any sends: 200 live connections in
# tapir), every byte checked; nc round trips through echo (a line, and
# 1 MB); discard swallows 1 MB and answers nothing; daytime sends one line
# and closes; chargen streams RFC 864's rotating lines.  The echo
# connections all end with FIN, never RST, from tapir; the capture is clean.
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
require_root nc
ns_create
PCAP=$WORK/conns.pcap
host_start --pcap "$PCAP"

# ---- 1000 sequential, then 200 concurrent echo connections ----
NSX_TIMEOUT=120 nsx "$PY" - "$HOST_ADDR" <<'PYEOF' || fail "echo connections (above)"
import os, socket, sys, threading, time
from inet import recv_exact
host = sys.argv[1]
SEQ, CONC = 1000, 200

t0 = time.monotonic()
for i in range(SEQ):
    with socket.create_connection((host, 7), timeout=10) as s:
        line = b"sequential connection %d of %d\n" % (i + 1, SEQ)
        s.sendall(line)
        got = recv_exact(s, len(line))
        if got != line:
            print("  connection %d: sent %r, got %r" % (i + 1, line, got))
            sys.exit(1)
t1 = time.monotonic()
print("[tcp_conns] %d sequential echo connections byte-exact in %.1f s" % (SEQ, t1 - t0))

# 200 at once: every thread connects, then waits at the barrier, so that all
# 200 connections are open in tapir together before data flows
barrier = threading.Barrier(CONC, timeout=60)
errors = []
def worker(i):
    try:
        data = os.urandom(1000 + 97 * i)  # 1000 .. 20303 bytes, each different
        s = socket.create_connection((host, 7), timeout=30)
        barrier.wait()
        s.sendall(data)
        got = recv_exact(s, len(data))
        if got != data:
            errors.append("conn %d: %d bytes sent, %d back, equal=%s" % (i, len(data), len(got), got == data))
        s.shutdown(socket.SHUT_WR)
        rest = s.recv(1)  # the echo server closes after our FIN
        if rest:
            errors.append("conn %d: extra bytes after the echo: %r" % (i, rest))
        s.close()
    except Exception as e:
        errors.append("conn %d: %r" % (i, e))
        barrier.abort()
threads = [threading.Thread(target=worker, args=(i,)) for i in range(CONC)]
for t in threads: t.start()
for t in threads: t.join(90)
if any(t.is_alive() for t in threads):
    errors.append("threads still running after 90 s")
t2 = time.monotonic()
if errors:
    print("  " + "\n  ".join(errors[:20]))
    sys.exit(1)
print("[tcp_conns] %d concurrent echo connections byte-exact in %.1f s" % (CONC, t2 - t1))
PYEOF

# ---- nc: echo a line and 1 MB; discard 1 MB ----
out=$(echo "hello, tapir" | nsx nc -N -w 10 "$HOST_ADDR" 7) || fail "nc echo failed"
[[ $out == "hello, tapir" ]] || fail "nc echo: got '$out'"
head -c 1048576 /dev/urandom >"$WORK/1m.in"
nsx nc -N -w 10 "$HOST_ADDR" 7 <"$WORK/1m.in" >"$WORK/1m.out" || fail "nc echo of 1 MB failed"
cmp -s "$WORK/1m.in" "$WORK/1m.out" ||
	fail "nc echo of 1 MB: $(stat -c %s "$WORK/1m.out") bytes back, not the same"
log "nc echo: a line and 1 MB, byte-exact"
nsx nc -N -w 10 "$HOST_ADDR" 9 <"$WORK/1m.in" >"$WORK/discard.out" || fail "nc discard failed"
[[ ! -s $WORK/discard.out ]] || fail "discard answered $(stat -c %s "$WORK/discard.out") bytes"
log "nc discard: 1 MB sent, nothing back"

# ---- daytime and chargen ----
NSX_TIMEOUT=30 nsx "$PY" - "$HOST_ADDR" <<'PYEOF' || fail "daytime/chargen (above)"
import socket, sys, time
from inet import recv_all
host = sys.argv[1]

# daytime: one printable line naming the year, then the server closes
s = socket.create_connection((host, 13), timeout=10)
data = recv_all(s)
s.close()
text = data.decode("ascii", "replace")
year = time.localtime().tm_year
if not text.endswith("\r\n") or "\n" in text[:-1] or not text[:-2].isprintable() or \
        (str(year) not in text and str(year - 1) not in text):
    print("  daytime: not one line with the year: %r" % data)
    sys.exit(1)
print("[tcp_conns] daytime: %s" % text.strip())

# chargen: 100 kB of lines, 72 printable characters each, each line
# starting one character further along the 95 printable ones
s = socket.create_connection((host, 19), timeout=10)
want = 100000
data = b""
while len(data) < want:
    d = s.recv(65536)
    if not d:
        break
    data += d
s.close()
lines = data[:want - want % 74].split(b"\r\n")[:-1]
if len(lines) < 1000:
    print("  chargen: only %d lines" % len(lines))
    sys.exit(1)
first = lines[0][0] - 32
for k, l in enumerate(lines):
    exp = bytes(32 + (first + k + i) % 95 for i in range(72))
    if l != exp:
        print("  chargen line %d: %r, expected %r" % (k, l, exp))
        sys.exit(1)
print("[tcp_conns] chargen: %d lines in the RFC 864 pattern" % len(lines))
PYEOF

host_counters after
host_stop
# every echo connection is closed by the client first and fully read: tapir
# must end each with FIN, and never reset one
must_count "RSTs from the echo port" "$PCAP" \
	"eth.src == $HOST_MAC && tcp.srcport == 7 && tcp.flags.reset == 1" -eq 0
must_count "SYN-ACKs from the echo port (1202 connections)" "$PCAP" \
	"eth.src == $HOST_MAC && tcp.srcport == 7 && tcp.flags.syn == 1 && tcp.flags.ack == 1" -ge 1202
pcap_assert_clean "$PCAP" "$HOST_MAC"
pass
