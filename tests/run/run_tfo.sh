#!/usr/bin/env bash
# TCP Fast Open (RFC 7413) as a client under `tapir run`, against the
# kernel's Fast Open server (net.ipv4.tcp_fastopen=3 in the test's
# namespace only; a small HTTP server in python with TCP_FASTOPEN on its
# listener, port 8007, and one without it, port 8008).  Under one run (one
# tapir stack, so one cookie cache), as Linux's tcp(7) describes:
#  1. TCP_FASTOPEN_CONNECT, no cookie yet: the SYN asks for one (4.1.3),
#     the request follows the handshake;
#  2. TCP_FASTOPEN_CONNECT, the cookie cached: connect returns at once
#     (getpeername ENOTCONN, a second non-blocking connect EISCONN, as
#     Linux's), the request goes on the SYN (4.2) and the kernel's
#     SYN,ACK acks it;
#  3. sendto(MSG_FASTOPEN): the same in one call;
#  4. a non-blocking TCP_FASTOPEN_CONNECT: connect gives 0, not EINPROGRESS;
#     and then a non-blocking send of a 20 kB request takes only what the
#     SYN carries (Linux's tcp_sendmsg_fastopen; the next send is EAGAIN
#     until the handshake ends, unless it has ended already), the rest
#     goes when the socket is writable;
#  5. curl --tcp-fastopen: its request on the SYN;
#  6. to 8008, whose listener has no Fast Open: the SYN's data is not
#     acked, so it goes again after the handshake (4.2.2).
# (The same client script passes on the kernel's own TCP.)  Every body is
# byte-exact; a capture on the kernel's side of the TAP and
# the kernel's own counters (nstat) show the SYNs, their data and the acks.
source "$(dirname "$0")/lib_run.sh"
require_run curl dumpcap nstat
PY=/usr/bin/python3

ns_create
nsx sysctl -qw net.ipv4.tcp_fastopen=3 || fail "cannot set net.ipv4.tcp_fastopen in $NS"

cat >"$WORK/common.py" <<'EOF'
import hashlib
def body(path):
    out, i = [], 0
    while len(out) * 32 < 100000:
        out.append(hashlib.sha256(b"%s %d" % (path.encode(), i)).digest())
        i += 1
    return b"".join(out)[:100000]
EOF
cat >"$WORK/server.py" <<'EOF'
import socket, sys
from common import body
port, tfo = int(sys.argv[1]), int(sys.argv[2])
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if tfo:
    l.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16)
l.bind(("0.0.0.0", port))
l.listen(16)
print("listening", flush=True)
while True:
    c, _ = l.accept()
    c.settimeout(20)
    req = b""
    while b"\r\n\r\n" not in req:
        b = c.recv(4096)
        if not b:
            break
        req += b
    path = req.split(b" ")[1].decode() if req.startswith(b"GET ") else "/"
    bd = body(path)
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(bd) + bd)
    c.close()
    print("served", path, len(req), flush=True)
EOF
cat >"$WORK/client.py" <<'EOF'
import errno, select, socket, sys, time
from common import body
TCP_FASTOPEN_CONNECT = 30  # Linux's (tcp(7))
MSG_FASTOPEN = 0x20000000
host, mode = sys.argv[1], sys.argv[2]

def req(path, pad=0):
    return b"GET %s HTTP/1.0\r\nHost: tfo\r\n%s\r\n" % (
        path.encode(), b"X-Pad: %s\r\n" % (b"p" * pad) if pad else b"")

def check(s, path):
    s.settimeout(20)
    got = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
    s.close()
    if got.partition(b"\r\n\r\n")[2] != body(path):
        sys.exit("%s: %d bytes, not the body" % (path, len(got)))
    print("ok", path, flush=True)

def tfo_socket():
    s = socket.socket()
    s.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1)
    if s.getsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_CONNECT) != 1:
        sys.exit("TCP_FASTOPEN_CONNECT does not read back 1")
    return s

def errname(f, *a):
    try:
        f(*a)
        return "no error"
    except OSError as e:
        return errno.errorcode[e.errno]

if mode == "tfo":
    for path in ("/one", "/two"):
        s = tfo_socket()
        s.connect((host, 8007))
        if path == "/two":
            # no SYN went yet (Linux: SYN-SENT with the connect deferred;
            # a blocking connect again would wait for a handshake that
            # has not begun)
            s.setblocking(False)
            e = (errname(s.getpeername), errname(s.connect, (host, 8007)))
            s.setblocking(True)
            if e != ("ENOTCONN", "EISCONN"):
                sys.exit("a deferred connect: getpeername, connect again: %s %s" % e)
        s.sendall(req(path))
        check(s, path)
    s = socket.socket()
    r = req("/three")
    n = s.sendto(r, MSG_FASTOPEN, (host, 8007))
    if n < len(r):
        s.sendall(r[n:])
    check(s, "/three")
    s = tfo_socket()
    s.setblocking(False)
    e = s.connect_ex((host, 8007))
    if e != 0:
        sys.exit("a non-blocking connect with a cookie cached: %d, not 0" % e)
    if not select.select([], [s], [], 10)[1]:
        sys.exit("not writable after a connect that returned 0")
    s.setblocking(True)
    s.sendall(req("/four"))
    check(s, "/four")
    s = tfo_socket()
    s.setblocking(False)
    if s.connect_ex((host, 8007)) != 0:
        sys.exit("a non-blocking connect with a cookie cached: not 0")
    r = req("/five", 20000)
    n = s.send(r)
    if not 0 < n <= 1500:
        sys.exit("a non-blocking send after a deferred connect took %d of %d bytes, "
                 "not what one SYN carries" % (n, len(r)))
    first = n
    second = errname(s.send, b"")  # (an empty send: only the state)
    # (under tapir run the app end polls writable while the handshake
    # runs, where Linux's does not: a poll loop turns until it ends)
    end = time.monotonic() + 10
    while n < len(r):
        if not select.select([], [s], [], 10)[1] or time.monotonic() > end:
            sys.exit("not writable after the SYN's %d bytes" % n)
        try:
            n += s.send(r[n:])
        except BlockingIOError:
            pass
    s.setblocking(True)
    check(s, "/five")
    print("nonblocking send after a deferred connect: %d of %d bytes, then %s"
          % (first, len(r), second), flush=True)
else:
    s = tfo_socket()
    s.connect((host, 8008))
    s.sendall(req("/nofo"))
    check(s, "/nofo")
EOF

for port in 8007 8008; do
	ip netns exec "$NS" timeout 120 "$PY" "$WORK/server.py" "$port" $((port == 8007)) \
		>"$WORK/server$port.log" 2>&1 &
	wait_line listening "$WORK/server$port.log" || fail "the server on $port did not start"
done
"$PY" -c "import sys; sys.path.insert(0, '$WORK'); from common import body; sys.stdout.buffer.write(body('/curl'))" \
	>"$WORK/want.curl"

NSX_TIMEOUT=120 run_bg client "${RUN_LINK[@]}" -- sh -c \
	"cd '$WORK' && while [ ! -e go ]; do sleep 0.05; done
	 $PY client.py $PEER_ADDR tfo &&
	 curl -sS -m 20 --tcp-fastopen -o got.curl http://$PEER_ADDR:8007/curl &&
	 $PY client.py $PEER_ADDR fallback"
RUN_PID=$!
for _ in $(seq 100); do nsx ip link show "$TAP" >/dev/null 2>&1 && break; sleep 0.1; done
nsx ip link show "$TAP" >/dev/null 2>&1 || fail "tapir run made no $TAP ($(tail -3 "$WORK/client.err"))"
timeout -k 5 120 ip netns exec "$NS" dumpcap -q -i "$TAP" -w "$WORK/k.pcap" 2>"$WORK/dumpcap.err" &
CAP_PID=$!
capture_ready "$WORK/k.pcap" "$WORK/dumpcap.err" nsx ping -c 1 -W 1 "$HOST_ADDR"
touch "$WORK/go"
wait "$RUN_PID" || fail "the clients under tapir run: exit $? ($(cat "$WORK/client.out"; tail -5 "$WORK/client.err"))"
log "python: $(grep -c '^ok' "$WORK/client.out") bodies byte-exact ($(grep '^ok' "$WORK/client.out" | tr '\n' ' '))"
log "python: $(grep "^nonblocking" "$WORK/client.out")"
[[ $(grep -c '^ok' "$WORK/client.out") -eq 6 ]] || fail "python's bodies: $(cat "$WORK/client.out")"
cmp -s "$WORK/got.curl" "$WORK/want.curl" || fail "curl's body differs"
log "curl --tcp-fastopen: body byte-exact"
nsx nstat -az TcpExtTCPFastOpenPassive TcpExtTCPFastOpenCookieReqd >"$WORK/nstat" 2>&1
passive=$(awk '$1 == "TcpExtTCPFastOpenPassive" {print $2}' "$WORK/nstat")
reqd=$(awk '$1 == "TcpExtTCPFastOpenCookieReqd" {print $2}' "$WORK/nstat")
sleep 1 # the last frames into the file
kill -INT "$CAP_PID" 2>/dev/null
wait "$CAP_PID"

T="ip.src==$HOST_ADDR && eth.src==$RUN_MAC && tcp.flags.syn==1 && tcp.flags.ack==0"
K="ip.dst==$HOST_ADDR && tcp.flags.syn==1 && tcp.flags.ack==1"
must_counts "$WORK/k.pcap" \
	"tapir's SYNs to 8007" "$T && tcp.dstport==8007" -eq 6 \
	"tapir's cookie request (no data)" "$T && tcp.options.tfo.request && tcp.len==0" -eq 1 \
	"the kernel's SYN and ACK with a cookie" "$K && tcp.srcport==8007 && tcp.options.tfo.cookie" -ge 1 \
	"tapir's SYNs to 8007 with a cookie and data" "$T && tcp.dstport==8007 && tcp.options.tfo.cookie && tcp.len>0" -eq 5 \
	"the kernel's SYN and ACK acking the SYN's data" "$K && tcp.srcport==8007 && tcp.ack>1" -eq 5 \
	"tapir's SYN to 8008 with a cookie and data" "$T && tcp.dstport==8008 && tcp.options.tfo.cookie && tcp.len>0" -eq 1 \
	"8008's SYN and ACK acking the SYN only" "$K && tcp.srcport==8008 && tcp.ack==1" -eq 1 \
	"the request to 8008 again after the handshake" "ip.src==$HOST_ADDR && tcp.dstport==8008 && tcp.flags.syn==0 && tcp.seq==1 && tcp.len>0" -ge 1
[[ $passive == 5 && $reqd == 1 ]] ||
	fail "the kernel's counters: TCPFastOpenPassive $passive (not 5), TCPFastOpenCookieReqd $reqd (not 1)"
log "the kernel: TCPFastOpenPassive $passive, TCPFastOpenCookieReqd $reqd"
pass
