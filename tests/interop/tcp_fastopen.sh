#!/usr/bin/env bash
# TCP Fast Open (RFC 7413) with the Linux kernel as the client: the
# namespace's kernel does Fast Open (net.ipv4.tcp_fastopen=1, set in the
# namespace only), tapir host runs its echo with --fastopen.  A Python
# client sends with MSG_FASTOPEN five times: the first SYN asks for a
# cookie and gets one (4.1.3), every later SYN carries the cookie and its
# data, which tapir takes at once and acknowledges on its SYN,ACK (4.2);
# each echo is byte-exact.  Then curl --tcp-fastopen fetches a file twice
# over HTTP, the request on the SYN.  The capture shows it; tapir's
# counters too.
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
require_root tshark curl
ns_create
PCAP=$WORK/tfo.pcap
mkdir -p "$WORK/www"
printf 'fast open over http\n' >"$WORK/www/f.txt"
nsx sysctl -qw net.ipv4.tcp_fastopen=1 || fail "cannot set net.ipv4.tcp_fastopen in $NS"
host_start --serve "echo,http=$WORK/www" --fastopen --pcap "$PCAP"

NSX_TIMEOUT=30 nsx "$PY" - "$HOST_ADDR" <<'EOF' || fail "the MSG_FASTOPEN client failed"
import socket, sys
MSG_FASTOPEN = 0x20000000
for i in range(5):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    msg = b"fast open %d " % i * 20
    # (blocking: without a cookie it connects first; nsx bounds the wait)
    n = s.sendto(msg, MSG_FASTOPEN, (sys.argv[1], 7))
    s.settimeout(10)
    if n < len(msg):
        s.sendall(msg[n:])
    got = b""
    while len(got) < len(msg):
        b = s.recv(4096)
        if not b:
            break
        got += b
    if got != msg:
        sys.exit("echo %d: %r" % (i, got[:40]))
    s.close()
EOF
log "five MSG_FASTOPEN echoes byte-exact"
for i in 1 2; do
	body=$(NSX_TIMEOUT=30 nsx curl -sS --max-time 20 --tcp-fastopen "http://$HOST_ADDR/f.txt") ||
		fail "curl --tcp-fastopen failed"
	[[ $body == "fast open over http" ]] || fail "curl --tcp-fastopen: '$body'"
done
log "two curl --tcp-fastopen fetches right"
host_stop
pcap_assert_clean "$PCAP" "$HOST_MAC"
# tcp.options.tfo.request / tcp.options.tfo.cookie: tshark's names for the option
must_count "the kernel's cookie request" "$PCAP" \
	"ip.dst == $HOST_ADDR && tcp.flags.syn == 1 && tcp.options.tfo.request" -eq 1
must_count "tapir's SYN,ACK with a cookie" "$PCAP" \
	"ip.src == $HOST_ADDR && tcp.flags.syn == 1 && tcp.flags.ack == 1 && tcp.options.tfo.cookie" -eq 1
must_count "the kernel's SYNs with a cookie and data" "$PCAP" \
	"ip.dst == $HOST_ADDR && tcp.flags.syn == 1 && tcp.options.tfo.cookie && tcp.len > 0" -eq 6
data_in=$(ctr "$WORK/final.ctr" tcp_tfo_data_in)
[[ $data_in == 6 ]] || fail "tcp_tfo_data_in $data_in, not 6"
log "capture: 1 cookie request, 1 cookie, 6 SYNs with data taken (tcp_tfo_data_in $data_in)"
pass
