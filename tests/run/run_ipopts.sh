#!/usr/bin/env bash
# A program's IP header options under `tapir run` reach tapir's sockets:
# python sets IP_TTL 9 and IP_TOS 0x21 on a UDP socket, IPV6_UNICAST_HOPS 7
# and IPV6_TCLASS 0x41 on an AF_INET6 UDP one (RFC 3493 5.1, RFC 3542 6.5),
# and the hop limit 5 and class 0x43 on a TCP one, reads them back with
# getsockopt, and sends to the kernel (a closed UDP port, a TCP port that
# refuses).  tapir's capture: the datagrams with those TTL, TOS, hop limit
# and traffic class, the ECN bits as the program gave them; the TCP SYN with
# hop limit 5 and class 0x40 (TCP keeps the ECN bits its own, RFC 3168 5).
source "$(dirname "$0")/lib_run.sh"
require_run python3 tshark
A6=fd00::2 K6=fd00::1
NS_IPV6=1
ns_create
cat >"$WORK/opts.py" <<'EOF'
import socket, sys, time
S = socket
def check(s, level, name, want):
    got = s.getsockopt(level, name)
    if got != want:
        sys.exit(f"getsockopt {name}: {got}, not {want}")
u4 = S.socket(S.AF_INET, S.SOCK_DGRAM)
u4.setsockopt(S.IPPROTO_IP, S.IP_TTL, 9)
u4.setsockopt(S.IPPROTO_IP, S.IP_TOS, 0x21)
check(u4, S.IPPROTO_IP, S.IP_TTL, 9)
check(u4, S.IPPROTO_IP, S.IP_TOS, 0x21)
u6 = S.socket(S.AF_INET6, S.SOCK_DGRAM)
u6.setsockopt(S.IPPROTO_IPV6, S.IPV6_UNICAST_HOPS, 7)
u6.setsockopt(S.IPPROTO_IPV6, S.IPV6_TCLASS, 0x41)
check(u6, S.IPPROTO_IPV6, S.IPV6_UNICAST_HOPS, 7)
check(u6, S.IPPROTO_IPV6, S.IPV6_TCLASS, 0x41)
try:
    u6.setsockopt(S.IPPROTO_IPV6, S.IPV6_UNICAST_HOPS, 256)
    sys.exit("IPV6_UNICAST_HOPS 256 taken")
except OSError:
    pass
# (the kernel's address may still be resolving: a few tries, bounded)
for _ in range(10):
    u4.sendto(b"v4", (sys.argv[1], 9999))
    u6.sendto(b"v6", (sys.argv[2], 9999))
    time.sleep(0.3)
t = S.socket(S.AF_INET6, S.SOCK_STREAM)
t.setsockopt(S.IPPROTO_IPV6, S.IPV6_UNICAST_HOPS, 5)
t.setsockopt(S.IPPROTO_IPV6, S.IPV6_TCLASS, 0x43)
t.settimeout(10)
try:
    t.connect((sys.argv[2], 9998))
except OSError:
    pass
print("options set")
EOF
run_fg "${RUN_LINK[@]}" --addr "$A6/64" --peer-addr "$K6/64" --pcap "$WORK/o.pcap" -- \
	python3 "$WORK/opts.py" "$PEER_ADDR" "$K6" >"$WORK/o.out" 2>"$WORK/o.err" ||
	fail "the program failed: $(tail -3 "$WORK/o.err")"
grep -q '^options set$' "$WORK/o.out" || fail "no 'options set': $(tail -3 "$WORK/o.err")"
log "getsockopt gives back what setsockopt set; 256 refused"
must_counts "$WORK/o.pcap" \
	"UDP/IPv4 with TTL 9 and TOS 0x21" \
	"eth.src == $RUN_MAC && udp.dstport == 9999 && ip.ttl == 9 && ip.dsfield == 0x21" -ge 1 \
	"UDP/IPv4 with another TTL or TOS" \
	"eth.src == $RUN_MAC && udp.dstport == 9999 && ip && !(ip.ttl == 9 && ip.dsfield == 0x21)" -eq 0 \
	"UDP/IPv6 with hop limit 7 and class 0x41" \
	"eth.src == $RUN_MAC && udp.dstport == 9999 && ipv6.hlim == 7 && ipv6.tclass == 0x41" -ge 1 \
	"UDP/IPv6 with another hop limit or class" \
	"eth.src == $RUN_MAC && udp.dstport == 9999 && ipv6 && !(ipv6.hlim == 7 && ipv6.tclass == 0x41)" -eq 0 \
	"TCP SYN with hop limit 5 and class 0x40 (the ECN bits TCP's)" \
	"eth.src == $RUN_MAC && tcp.dstport == 9998 && tcp.flags.syn == 1 && ipv6.hlim == 5 && ipv6.tclass == 0x40" -ge 1
pass
