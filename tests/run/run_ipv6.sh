#!/usr/bin/env bash
# AF_INET6 sockets under `tapir run` are IPv6 sockets on tapir (issue #13):
# tapir has fd00::2 and 10.0.0.2 on the TAP, the kernel fd00::1 and
# 10.0.0.1.  python3 -m http.server --bind :: (one dual-stack listener,
# IPV6_V6ONLY off as Python leaves it for ::) under tapir run is fetched by
# the kernel's curl over IPv6 (curl -g http://[fd00::2]:8080/) and over
# IPv4 (http://10.0.0.2:8080/, the v4-mapped half, RFC 4291 2.5.5.2), both
# byte-exact; the server logs the IPv6 client as itself (getpeername of an
# accepted socket) and the IPv4 one v4-mapped; tapir's capture shows the
# IPv6 SYN,ACK from tapir's MAC and fd00::2; the kernel's `ss` in the
# namespace has no socket of python's.  Then tapir as the IPv6 client: curl
# under tapir run fetches from the kernel's http.server on [fd00::1]
# byte-exact, and a python client checks getsockname/getpeername of its
# AF_INET6 socket and IPV6_V6ONLY (an IPv6-only socket cannot reach IPv4).
# UDP: one AF_INET6 socket under tapir run sends to the kernel's echo over
# IPv6 and to a v4-mapped address; recvfrom names both senders.
source "$(dirname "$0")/lib_run.sh"
require_run curl python3 cmp ss tshark
A6=fd00::2 K6=fd00::1
LINK6=("${RUN_LINK[@]}" --addr "$A6/64" --peer-addr "$K6/64")

NS_IPV6=1
ns_create
mkdir -p "$WORK/www"
head -c 300000 /dev/urandom >"$WORK/www/file"

# ---- tapir as the server: one listener on [::] takes both families ----
NSX_TIMEOUT=200 run_bg srv "${LINK6[@]}" --pcap "$WORK/srv.pcap" -- \
	python3 -m http.server --bind :: --directory "$WORK/www" 8080
RUN_PID=$!
wait_port "$HOST_ADDR" 8080 || fail "the server under tapir run does not answer ($(tail -3 "$WORK/srv.err"))"
ok=""
for _ in $(seq 50); do # the kernel's fd00::1 may still be tentative (DAD)
	nsx curl -sS -g -m 20 -o "$WORK/got6" "http://[$A6]:8080/file" 2>"$WORK/curl6.err" && { ok=1; break; }
	sleep 0.2
done
[[ -n $ok ]] || fail "curl over IPv6: $(cat "$WORK/curl6.err")"
cmp -s "$WORK/www/file" "$WORK/got6" || fail "the body over IPv6 differs"
log "curl -g http://[$A6]:8080/file: byte-exact"
nsx curl -sS -m 20 -o "$WORK/got4" "http://$HOST_ADDR:8080/file" || fail "curl over IPv4: exit $?"
cmp -s "$WORK/www/file" "$WORK/got4" || fail "the body over IPv4 differs"
log "curl http://$HOST_ADDR:8080/file: byte-exact (the same [::] listener)"
# the server names its clients by getpeername: fd00::1, and ::ffff:10.0.0.1
grep -q "^$K6 .*GET /file" "$WORK/srv.err" || fail "the server's log lacks the IPv6 peer: $(cat "$WORK/srv.err")"
grep -q "^::ffff:$PEER_ADDR .*GET /file" "$WORK/srv.err" ||
	fail "the server's log lacks the v4-mapped peer: $(cat "$WORK/srv.err")"
log "python's log: $K6 and ::ffff:$PEER_ADDR"
nsx ss -Htanp >"$WORK/ss.txt" 2>&1
grep -q python "$WORK/ss.txt" && fail "a kernel socket of python's: $(grep python "$WORK/ss.txt")"
grep -E '^LISTEN.*:8080 ' "$WORK/ss.txt" && fail "a kernel socket listens on 8080"
log "ss: no kernel socket of python's"
kill -TERM "$(pgrep -P "$RUN_PID" -f 'tapir run' | head -1)" 2>/dev/null || kill -TERM "$RUN_PID"
wait "$RUN_PID"
must_count "IPv6 SYN,ACK from tapir's MAC and $A6" "$WORK/srv.pcap" \
	"ipv6.src==$A6 && tcp.srcport==8080 && tcp.flags.syn==1 && tcp.flags.ack==1 && eth.src==$RUN_MAC" -ge 1
must_count "IPv4 SYN,ACK from tapir" "$WORK/srv.pcap" \
	"ip.src==$HOST_ADDR && tcp.srcport==8080 && tcp.flags.syn==1 && tcp.flags.ack==1 && eth.src==$RUN_MAC" -ge 1

# ---- tapir as the IPv6 client ----
ip netns exec "$NS" timeout 200 python3 -m http.server --bind :: --directory "$WORK/www" 8001 \
	>"$WORK/khttp.log" 2>&1 &
for _ in $(seq 100); do nsx ss -Htln | has ':8001 ' && break; sleep 0.1; done
nsx ss -Htln | has ':8001 ' || fail "the kernel's http.server does not listen"
run_fg "${LINK6[@]}" -- curl -sS -g -m 20 -o "$WORK/gotc" "http://[$K6]:8001/file" 2>"$WORK/cli.err" ||
	fail "curl under tapir run over IPv6: $(cat "$WORK/cli.err")"
cmp -s "$WORK/www/file" "$WORK/gotc" || fail "the body fetched by tapir over IPv6 differs"
grep -q "^$A6 .*GET /file" "$WORK/khttp.log" || fail "the kernel's server did not see $A6: $(cat "$WORK/khttp.log")"
log "curl -g http://[$K6]:8001/file under tapir run: byte-exact, from $A6"

# the socket calls themselves: names, and IPV6_V6ONLY
cat >"$WORK/cli.py" <<EOF
import socket, errno
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.connect(("$K6", 8001))
print("sock", s.getsockname()[0], "peer", s.getpeername()[0:2])
s.close()
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.connect(("::ffff:$PEER_ADDR", 8001))
print("mapped", s.getsockname()[0], "peer", s.getpeername()[0])
s.close()
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
print("v6only", s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY))
try:
    s.connect(("::ffff:$PEER_ADDR", 8001))
    print("v6only connect: no error")
except OSError as e:
    print("v6only connect", errno.errorcode[e.errno])
EOF
run_fg "${LINK6[@]}" -- python3 "$WORK/cli.py" >"$WORK/cli.out" 2>&1 || fail "cli.py: $(cat "$WORK/cli.out")"
cat "$WORK/cli.out"
grep -qx "sock $A6 peer ('$K6', 8001)" "$WORK/cli.out" || fail "names of an IPv6 connection"
grep -qx "mapped ::ffff:$HOST_ADDR peer ::ffff:$PEER_ADDR" "$WORK/cli.out" || fail "names of a v4-mapped connection"
grep -qx "v6only 1" "$WORK/cli.out" || fail "IPV6_V6ONLY does not read back"
grep -qx "v6only connect ENETUNREACH" "$WORK/cli.out" || fail "an IPv6-only socket reached IPv4"
# ---- UDP over IPv6: one AF_INET6 socket to the kernel's echo on both families ----
cat >"$WORK/uecho.py" <<EOF
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 9000))
while True:
    d, a = s.recvfrom(2048)
    s.sendto(d + b" from " + a[0].encode(), a)
EOF
cat >"$WORK/ucli.py" <<EOF
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(10)
for dst in ("$K6", "::ffff:$PEER_ADDR"):
    s.sendto(b"ping", (dst, 9000))
    d, a = s.recvfrom(2048)
    print(d.decode(), "via", a[0], a[1])
EOF
ip netns exec "$NS" timeout 200 python3 "$WORK/uecho.py" >"$WORK/uecho.log" 2>&1 &
for _ in $(seq 100); do nsx ss -Huln | has ':9000 ' && break; sleep 0.1; done
run_fg "${LINK6[@]}" -- python3 "$WORK/ucli.py" >"$WORK/ucli.out" 2>&1 || fail "ucli.py: $(cat "$WORK/ucli.out")"
cat "$WORK/ucli.out"
grep -qx "ping from $A6 via $K6 9000" "$WORK/ucli.out" || fail "UDP over IPv6"
grep -qx "ping from ::ffff:$HOST_ADDR via ::ffff:$PEER_ADDR 9000" "$WORK/ucli.out" || fail "UDP v4-mapped"
log "UDP: one AF_INET6 socket, to $K6 and ::ffff:$PEER_ADDR, answers from both"

# ---- link-local: the addresses returned name their zone (RFC 4007 6) ----
# as Linux's: sin6_scope_id is the index of the interface (tp0, as the
# program's kernel numbers it) in getsockname, getpeername, accept and
# recvfrom.  The kernel's fe80:: address on tp0 and tp0's index come from
# /proc/net/if_inet6 (tp0 is made by the run; its address once DAD passed).
cat >"$WORK/ll.py" <<EOF
import socket, sys, time
def kernel_ll():
    for _ in range(100):
        for line in open("/proc/net/if_inet6"):
            a, idx, _, scope, flags, name = line.split()
            if name == "$TAP" and scope == "20" and not int(flags, 16) & 0x40:
                return ":".join(a[i:i + 4] for i in range(0, 32, 4)), int(idx, 16)
        time.sleep(0.1)
    sys.exit("no link-local address of the kernel's on $TAP")
def zone(what, sa, idx):
    print(what, sa[0], sa[3], flush=True)
    if sa[3] != idx:
        sys.exit("%s: sin6_scope_id %d, not %d" % (what, sa[3], idx))
k, idx = kernel_ll()
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.settimeout(20)
s.connect((k, 8001, 0, idx))
me = s.getsockname()
zone("getsockname", me, idx)
if me[0] == k: # the kernel's own socket would connect to itself
    sys.exit("the socket is the kernel's: getsockname %s" % me[0])
zone("getpeername", s.getpeername(), idx)
s.close()
if sys.argv[1:] != ["seccomp"]: # the seccomp path leaves UDP to the kernel
    u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    u.settimeout(10)
    u.sendto(b"ll", (k, 9000, 0, idx))
    zone("recvfrom", u.recvfrom(2048)[1], idx)
l = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
l.bind(("::", 8090))
l.listen(1)
l.settimeout(20)
print("listening", me[0], flush=True)
c, a = l.accept()
zone("accept", a, idx)
zone("accepted getsockname", c.getsockname(), idx)
c.close()
EOF
# ll_case NAME WHAT [ENV...]: ll.py under tapir run (through ENV; "seccomp"
# its argument then), the kernel connecting to its link-local listener
ll_case() {
	local name=$1 what=$2 pid tll mode=()
	shift 2
	(($#)) && mode=(seccomp)
	NSX_TIMEOUT=60 run_bg "$name" "${LINK6[@]}" -- "$@" python3 "$WORK/ll.py" "${mode[@]}"
	pid=$!
	wait_line '^listening ' "$WORK/$name.out" 300 || fail "ll.py$what: $(cat "$WORK/$name.out" "$WORK/$name.err")"
	tll=$(awk '/^listening / {print $2}' "$WORK/$name.out")
	nsx python3 -c "import socket; socket.socket(socket.AF_INET6).connect(('$tll', 8090, 0, socket.if_nametoindex('$TAP')))" ||
		fail "the kernel cannot connect to [$tll%$TAP]:8090$what"
	wait "$pid" || fail "ll.py$what: $(cat "$WORK/$name.out" "$WORK/$name.err")"
	log "link-local$what, sin6_scope_id: $(grep -v '^listening' "$WORK/$name.out" | tr '\n' ' ')"
}
ll_case ll ""

# the same through the seccomp supervisor (static binaries, raw system
# calls): python without the preload, so its TCP calls trap (TCP only)
ll_case llsc " (seccomp)" env -u LD_PRELOAD
pass
