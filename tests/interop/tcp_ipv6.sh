#!/usr/bin/env bash
# TCP and UDP over IPv6 against the kernel (RFC 8200, RFC 9293): tapir host
# with fd00::2 (and its IPv4 address), the kernel fd00::1.  The kernel's
# nc -6 through echo (a line, and 1 MB byte-exact; the link-local address
# with a scope id too), discard, daytime; curl -g fetches 1 MB over HTTP
# byte-exact; a closed port refuses the
# connection (tapir's RST), a closed UDP port answers with an ICMPv6 port
# unreachable (ECONNREFUSED on the kernel's connected socket); a UDP echo over IPv6; the same services still
# answer IPv4 (one listener on ::, IPv4 v4-mapped).  The capture: tapir's
# SYN,ACKs over IPv6 offer an MSS of 1440 (MTU 1500 less 60) and agree ECN
# (data ECT(0) in the traffic class), and no frame
# from tapir has a bad checksum or is malformed.  Then segmentation offload
# over IPv6: 16 MiB each way through echo, super-segments both ways, and
# curl -g fetching 200 MB byte-exact.
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
require_root nc curl sha256sum
NS_IPV6=1
ns_create
A6=fd00::2 K6=fd00::1
PCAP=$WORK/tcp6.pcap
WWW=$WORK/www
mkdir -p "$WWW"
head -c 1048576 /dev/urandom >"$WWW/1m.bin"
head -c 1048576 /dev/urandom >"$WORK/1m.in"
host_start --pcap "$PCAP" --addr $A6/64 --peer-addr $K6/64 \
	--serve "echo,discard,daytime,chargen,http=$WWW"
grep -q "^ready .* addr=$A6/64 " "$HOST_OUT" || fail "the ready line lacks $A6/64"

# the kernel asks for ECN (RFC 3168; Linux's IPv4 sysctl covers IPv6 too)
nsx sysctl -qw net.ipv4.tcp_ecn=1 || fail "cannot set net.ipv4.tcp_ecn=1"

# ---- echo, discard, daytime over IPv6 ----
out=$(echo "hello over ipv6" | nsx nc -6 -N -w 10 $A6 7) || fail "nc -6 echo failed"
[[ $out == "hello over ipv6" ]] || fail "nc -6 echo: got '$out'"
nsx nc -6 -N -w 10 $A6 7 <"$WORK/1m.in" >"$WORK/1m.out" || fail "nc -6 echo of 1 MB failed"
cmp -s "$WORK/1m.in" "$WORK/1m.out" ||
	fail "nc -6 echo of 1 MB: $(stat -c %s "$WORK/1m.out") bytes back, not the same"
log "nc -6 echo: a line and 1 MB, byte-exact"
nsx nc -6 -N -w 10 $A6 9 <"$WORK/1m.in" >"$WORK/discard.out" || fail "nc -6 discard failed"
[[ ! -s $WORK/discard.out ]] || fail "discard answered $(stat -c %s "$WORK/discard.out") bytes"
out=$(nsx nc -6 -w 10 $A6 13 </dev/null) || fail "nc -6 daytime failed"
[[ $out == *"$(date +%Y)"* ]] || fail "daytime over IPv6: '$out'"
log "nc -6: discard took 1 MB silently; daytime: $out"
# the link-local address, with the kernel's scope id (RFC 4007 11)
LL=$(sed -n 's/^ready .* addr=\(fe80:[^ /]*\)\/64 .*/\1/p' "$HOST_OUT")
[[ -n $LL ]] || fail "no link-local address in the ready line"
out=$(echo "link-local" | nsx nc -6 -N -w 10 "$LL%$TAP" 7) || fail "nc -6 $LL%$TAP echo failed"
[[ $out == "link-local" ]] || fail "echo over $LL%$TAP: got '$out'"
log "nc -6 $LL%$TAP: echo over the link-local address"

# ---- HTTP over IPv6: curl -g with the address in brackets ----
out=$(NSX_TIMEOUT=40 nsx curl -g -sS --max-time 30 -o "$WORK/http.out" \
	-w '%{http_code} %{size_download}' "http://[$A6]/1m.bin") || fail "curl -g GET failed: $out"
[[ $out == "200 1048576" ]] || fail "GET http://[$A6]/1m.bin: '$out', not '200 1048576'"
cmp -s "$WWW/1m.bin" "$WORK/http.out" || fail "GET over IPv6: the body differs"
log "curl -g http://[$A6]/1m.bin: 200, 1048576 bytes, byte-exact"

# ---- a closed port: connection refused; UDP echo; IPv4 still served ----
NSX_TIMEOUT=30 nsx "$PY" - "$A6" "$HOST_ADDR" <<'PYEOF' || fail "refused/UDP/IPv4 (above)"
import os, socket, sys
a6, a4 = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.settimeout(10)
try:
    s.connect((a6, 4444))
    print("  connect to [%s]:4444 succeeded" % a6); sys.exit(1)
except ConnectionRefusedError:
    print("[tcp_ipv6] connect to [%s]:4444: connection refused" % a6)
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u.settimeout(5)
for size in (1, 1000, 1400, 4000):
    msg = os.urandom(size)
    u.sendto(msg, (a6, 7))
    got, frm = u.recvfrom(65536)
    if got != msg or frm[0] != a6:
        print("  UDP echo of %d bytes: %d back from %s" % (size, len(got), frm[0])); sys.exit(1)
print("[tcp_ipv6] UDP echo over IPv6: 1, 1000, 1400, 4000 bytes")
# RFC 4443 3.1 code 4: a closed UDP port answers with a port unreachable,
# which the kernel gives a connected socket as ECONNREFUSED
c = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
c.settimeout(5)
c.connect((a6, 4445))
c.send(b"anyone there?")
try:
    c.recv(100)
    print("  UDP [%s]:4445 answered" % a6); sys.exit(1)
except ConnectionRefusedError:
    print("[tcp_ipv6] UDP to [%s]:4445: port unreachable (connection refused)" % a6)
with socket.create_connection((a4, 7), timeout=10) as t:
    t.sendall(b"v4 still\n")
    if t.recv(100) != b"v4 still\n":
        print("  IPv4 echo failed"); sys.exit(1)
print("[tcp_ipv6] IPv4 echo through the same listener")
PYEOF

host_counters after
A=$WORK/after.ctr
[[ $(ctr "$A" tcp_rst_sent) -ge 1 ]] || fail "no RST counted for the closed port"
host_stop

must_counts "$PCAP" \
	"RSTs from tapir over IPv6 (the closed port)" \
	"eth.src == $HOST_MAC && ipv6 && tcp.srcport == 4444 && tcp.flags.reset == 1" -ge 1 \
	"ICMPv6 port unreachables from tapir for the closed UDP port (RFC 4443 3.1)" \
	"eth.src == $HOST_MAC && icmpv6.type == 1 && icmpv6.code == 4 && udp.dstport == 4445 && ipv6.src == $A6" -eq 1 \
	"SYN,ACKs over IPv6 offering MSS 1440 (RFC 8200 5)" \
	"eth.src == $HOST_MAC && ipv6 && tcp.flags.syn == 1 && tcp.flags.ack == 1 && tcp.options.mss_val == 1440" -ge 5 \
	"SYN,ACKs over IPv6 offering any other MSS" \
	"eth.src == $HOST_MAC && ipv6 && tcp.flags.syn == 1 && tcp.flags.ack == 1 && tcp.options.mss_val != 1440" -eq 0 \
	"TCP segments from tapir over IPv6" "eth.src == $HOST_MAC && ipv6 && tcp" -ge 500
# RFC 3168 over IPv6: ECN agreed on the SYNs, tapir's data ECT(0) in the
# traffic class (RFC 8200 7), its ACKs not
must_counts "$PCAP" \
	"tapir's ECN-setup SYN,ACKs over IPv6 (ECE, no CWR)" \
	"eth.src == $HOST_MAC && ipv6 && tcp.flags.syn == 1 && tcp.flags.ack == 1 && tcp.flags.ece == 1 && tcp.flags.cwr == 0" -ge 5 \
	"tapir's data over IPv6 as ECT(0)" \
	"eth.src == $HOST_MAC && ipv6 && tcp.len > 0 && ipv6.tclass.ecn == 2" -ge 500 \
	"tapir's pure ACKs over IPv6 as ECT" \
	"eth.src == $HOST_MAC && ipv6 && tcp.len == 0 && ipv6.tclass.ecn != 0" -eq 0 \
	"UDP datagrams from tapir over IPv6 with no checksum" \
	"eth.src == $HOST_MAC && ipv6 && udp.checksum == 0" -eq 0
pcap_assert_clean "$PCAP" "$HOST_MAC"

# ---- segmentation offload over IPv6 (no --pcap: offload on) ----
# 16 MiB each way through echo over IPv6, byte-exact (the kernel checks
# every segment it cut from tapir's super-segments, GSO_TCPV6, and tapir
# every one the kernel handed over uncut, TSO6); a capture on the kernel's
# side of the TAP holds frames larger than the MTU both ways and nothing
# malformed (the uncut frames' TCP checksums are partial by design: that
# check is left to the receivers); tapir's tcp_tx far below the MSS-sized
# segments of data.
BYTES=$((16 * 1048576))
head -c "$BYTES" /dev/urandom >"$WORK/bulk.bin" || fail "cannot write $BYTES bytes"
SHA=$(sha256sum "$WORK/bulk.bin" | cut -d' ' -f1)
host_start --addr $A6/64 --peer-addr $K6/64 --serve "echo,http=$WWW"
TSO_PCAP=$WORK/tso6.pcap
timeout -k 5 120 ip netns exec "$NS" dumpcap -q -i "$TAP" -w "$TSO_PCAP" -f "ip6 and tcp port 7" \
	2>"$WORK/dumpcap.err" &
DUMPCAP=$!
for ((i = 0; i < 100; i++)); do # on once a marker's frames are in the file
	[[ -s $TSO_PCAP ]] && s0=$(stat -c %s "$TSO_PCAP") && echo mark | nsx nc -6 -N -w 2 $A6 7 >/dev/null &&
		sleep 0.2 && [[ $(stat -c %s "$TSO_PCAP") -gt $s0 ]] && break
	sleep 0.1
done
((i < 100)) || fail "the capture on $TAP did not start: $(cat "$WORK/dumpcap.err")"
got=$(NSX_TIMEOUT=120 nsx "$PY" "$LIB_DIR/echo_sha.py" "$A6" 7 "$WORK/bulk.bin" 100) ||
	fail "the IPv6 echo client failed: $got"
sleep 0.5
kill -INT "$DUMPCAP"
wait "$DUMPCAP"
read -r n sum <<<"$got"
[[ $n -eq $BYTES && $sum == "$SHA" ]] || fail "IPv6 echo with offload: $n bytes, sha256 $sum (want $BYTES, $SHA)"
host_counters echo6
tx=$(ctr "$WORK/echo6.ctr" tcp_tx)
segs=$((BYTES / 1428))
((tx * 2 < segs)) || fail "offload over IPv6: tapir sent $tx segments for $segs MSS of data"
log "offload over IPv6: 16 MiB each way through echo, sha256 equal; tcp_tx $tx for $segs MSS of data"
# 200 MB by curl -g over IPv6, offload on, uncaptured: byte-exact
BIG=$((200 * 1048576))
head -c "$BIG" /dev/urandom >"$WWW/big.bin" || fail "cannot write a 200 MB file in $WORK"
out=$(NSX_TIMEOUT=250 nsx curl -g -sS --max-time 240 -o "$WORK/big.out" \
	-w '%{http_code} %{size_download}' "http://[$A6]/big.bin") || fail "curl -g GET /big.bin failed: $out"
[[ $out == "200 $BIG" ]] || fail "GET http://[$A6]/big.bin: '$out', not '200 $BIG'"
cmp -s "$WWW/big.bin" "$WORK/big.out" || fail "GET http://[$A6]/big.bin: the body differs"
rm -f "$WWW/big.bin" "$WORK/big.out"
log "curl -g http://[$A6]/big.bin with offload: 200, 200 MB, byte-exact"
host_stop
TSO_BAD='(_ws.malformed || _ws.expert.severity == error)'
n=$(tsh -o tcp.check_checksum:FALSE -r "$TSO_PCAP" -Y "$TSO_BAD" | wc -l)
[[ $n -eq 0 ]] || { tsh -o tcp.check_checksum:FALSE -r "$TSO_PCAP" -Y "$TSO_BAD" | head >&2; fail "$n malformed frames over IPv6 with offload (above)"; }
must_counts "$TSO_PCAP" \
	"tapir's super-segments over IPv6 (GSO_TCPV6)" "eth.src == $HOST_MAC && ipv6 && frame.len > 1514" -ge 10 \
	"the kernel's uncut segments to tapir over IPv6 (TSO6)" "eth.dst == $HOST_MAC && ipv6 && frame.len > 1514" -ge 10
log "offload over IPv6: super-segments both ways, nothing malformed"
pass
