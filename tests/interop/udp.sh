#!/usr/bin/env bash
# UDP services against the kernel's sockets: echo (byte-exact, 1 to 8000
# bytes, the big ones fragmented both ways), discard (no reply), daytime (a
# line), chargen (printable lines), and a closed port (ICMP port
# unreachable, seen by a connected socket as ECONNREFUSED).
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
require_root socat
ns_create
PCAP=$WORK/udp.pcap
CLOSED=4444
host_start --pcap "$PCAP"

# ---- echo, with socat: all sizes at once, each from its own port ----
SIZES="1 100 1472 1473 8000"
pids=()
for n in $SIZES; do
	head -c "$n" /dev/urandom >"$WORK/echo-$n.in"
	nsx socat -b 65507 -t 2 - "UDP4:$HOST_ADDR:7" <"$WORK/echo-$n.in" >"$WORK/echo-$n.out" 2>"$WORK/echo-$n.err" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
for n in $SIZES; do
	got=$(stat -c %s "$WORK/echo-$n.out")
	cmp -s "$WORK/echo-$n.in" "$WORK/echo-$n.out" ||
		fail "echo of $n bytes: got $got bytes back, not the same ($(cat "$WORK/echo-$n.err"))"
	log "echo $n bytes: identical"
done

# ---- discard, daytime, chargen, closed port: a connected socket each ----
timeout 40 ip netns exec "$NS" "$PY" - "$HOST_ADDR" "$CLOSED" <<'PYEOF' || fail "UDP services (above)"
import errno, socket, sys, time
host, closed = sys.argv[1], int(sys.argv[2])

def sock(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((host, port))
    s.settimeout(2)
    return s

def die(msg):
    print("  " + msg)
    sys.exit(1)

# discard: three datagrams, nothing back (neither data nor an ICMP error)
s = sock(9)
for i in range(3):
    s.send(b"discard me %d" % i)
s.settimeout(1)
try:
    die("discard answered: %r" % s.recv(2048))
except socket.timeout:
    pass
except OSError as e:
    die("discard: %s" % e)
print("[udp] discard: no reply")

# daytime: one line naming this year
s = sock(13)
s.send(b"\n")
line = s.recv(2048)
text = line.decode("ascii")
year = time.localtime().tm_year
if not text.endswith("\r\n") or "\n" in text[:-1] or not text[:-2].isprintable():
    die("daytime: not one printable line: %r" % line)
if str(year) not in text and str(year - 1) not in text:
    die("daytime: no year in %r" % text)
print("[udp] daytime: %s" % text.strip())

# chargen: lines of 72 printable characters, at most 512 bytes
s = sock(19)
s.send(b"x")
d = s.recv(4096)
lines = d.split(b"\r\n")
if not d or len(d) > 512 or lines[-1] != b"" or any(
        len(l) != 72 or not l.decode("ascii").isprintable() for l in lines[:-1]):
    die("chargen: not lines of 72 printable characters: %r" % d[:200])
print("[udp] chargen: %d lines, first %r" % (len(lines) - 1, lines[0][:20].decode()))

# closed port: the ICMP port unreachable turns into ECONNREFUSED
s = sock(closed)
s.send(b"anyone there?")
try:
    d = s.recv(2048)
    die("closed port %d answered: %r" % (closed, d))
except ConnectionRefusedError:
    pass
except socket.timeout:
    die("closed port %d: no ICMP error (recv timed out)" % closed)
# and the socket works again: the same happens a second time
s.send(b"still nobody?")
try:
    s.recv(2048)
    die("closed port answered")
except ConnectionRefusedError:
    pass
print("[udp] closed port %d: ECONNREFUSED twice" % closed)
PYEOF

host_counters after
host_stop

must_count "ICMP port unreachables for port $CLOSED" "$PCAP" \
	"eth.src == $HOST_MAC && icmp.type == 3 && icmp.code == 3 && udp.dstport == $CLOSED" -ge 2
must_count "frames from tapir about the discard port" "$PCAP" \
	"eth.src == $HOST_MAC && (udp.srcport == 9 || (icmp && udp.dstport == 9))" -eq 0
# 1473 bytes of data: 2 fragments; 8000: 6 (1480 bytes of UDP each)
must_count "fragments of echo replies" "$PCAP" \
	"eth.src == $HOST_MAC && ip.proto == 17 && (ip.flags.mf == 1 || ip.frag_offset > 0)" -eq 8
pcap_assert_clean "$PCAP" "$HOST_MAC"
pass
