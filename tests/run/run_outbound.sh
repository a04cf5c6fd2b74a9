#!/usr/bin/env bash
# tapir host --outbound ADDR:PORT=HOST:HPORT: the kernel listens on
# 127.0.0.1:PORT in the namespace, and each connection it accepts goes out
# through tapir's stack (from tapir's address, over the TAP) to a kernel
# server at 10.0.0.1:
#   - bytes exact both ways (4 MB through an echo and back, sha256), and the
#     server sees the connection come from tapir's address;
#   - half-close both ways (nc -N; a server that sends FIN first);
#   - resets both ways (the server's reset reaches the client, the client's
#     reset reaches the server), and a refused connect is a reset to the
#     client;
#   - 200 connections at once, none lost;
#   - with --personality dth every data segment tapir sends carries RFC
#     9401's DTH bit and no SYN does (RFC 9401 3.3), on the capture;
#   - with --personality challenge-ack-only (a server's fault: SYN->bare
#     ACK, RSTs dropped) the outbound clients' bytes, half-close and
#     resets toward the server still pass.
# shellcheck source=tests/run/lib_fwd.sh
source "$(dirname "$0")/lib_fwd.sh"
require_root nc sha256sum
ns_create
fwd_plain_tcp
PCAP=$WORK/out.pcap
L=127.0.0.1

# the servers are on the kernel's side of the TAP: they exist once the
# host has given it its address
host_start --serve discard --pcap "$PCAP" --personality dth \
	--outbound $L:40000=$PEER_ADDR:41000 --outbound $L:40001=$PEER_ADDR:41001 \
	--outbound $L:40002=$PEER_ADDR:41002 --outbound $L:40003=$PEER_ADDR:41003 \
	--outbound $L:40009=$PEER_ADDR:41009
grep -q "outbound=$L:40000>$PEER_ADDR:41000 " "$HOST_OUT" || fail "the ready line names no outbound: $(head -1 "$HOST_OUT")"
fwd_server "$PEER_ADDR" 41000 echo
fwd_server "$PEER_ADDR" 41001 greet
fwd_server "$PEER_ADDR" 41002 rst
fwd_server "$PEER_ADDR" 41003 watch

# ---- bytes exact, from tapir's address ----
fwd_sha "echo through --outbound" $L 40000 4

# ---- half-close, both ways ----
got=$(printf 'half-closed\n' | NSX_TIMEOUT=20 nsx nc -N -w 10 $L 40000) ||
	fail "nc -N through --outbound failed"
[[ $got == half-closed ]] || fail "nc -N: the echo after the client's FIN is '$got'"
fwd_wait_log 41000 "eof 12"
log "client FIN first (nc -N): the server saw EOF after 12 bytes, the echo came back"
fwd_expect "server FIN first" greet-ok $L 40001 greet
fwd_wait_log 41001 "got 13"

# ---- resets, both ways, and a refused connect ----
fwd_expect "the server resets" reset $L 40002 reset
fwd_wait_log 41002 sent-rst
fwd_expect "the client resets" "done" $L 40003 abort
fwd_wait_log 41003 reset
log "the client's RST reset the server's connection"
fwd_expect "refused server" reset $L 40009 reset

# ---- many at once ----
fwd_expect "200 connections at once" "ok 200/200" $L 40000 many=200
host_alive
host_stop

must_counts "$PCAP" \
	"the echo's SYN came from tapir" \
	"ip.src == $HOST_ADDR && tcp.dstport == 41000 && tcp.flags.syn == 1 && tcp.flags.ack == 0" -ge 1 \
	"RSTs from tapir to the server that reset (port 41003)" \
	"ip.src == $HOST_ADDR && tcp.dstport == 41003 && tcp.flags.reset == 1" -ge 1 \
	"RSTs from tapir to the echo (all orderly)" \
	"ip.src == $HOST_ADDR && tcp.dstport == 41000 && tcp.flags.reset == 1" -eq 0
DTH='tcp.flags & 0x800'
must_counts "$PCAP" \
	"tapir's data segments to the echo" \
	"ip.src == $HOST_ADDR && tcp.dstport == 41000 && tcp.len > 0" -ge 100 \
	"... without DTH" "ip.src == $HOST_ADDR && tcp.len > 0 && !($DTH)" -eq 0 \
	"SYNs with DTH (RFC 9401 3.3: never)" "tcp.flags.syn == 1 && $DTH" -eq 0
pcap_assert_clean "$PCAP" "$HOST_MAC"

# ---- challenge-ack-only: it bends what reaches tapir's listeners and
# drops the RSTs tapir receives; tapir's outbound connections are clients,
# so bytes, half-close and the client's reset still pass
host_start --serve discard --personality challenge-ack-only \
	--outbound $L:40000=$PEER_ADDR:41000 --outbound $L:40003=$PEER_ADDR:41003
: >"$WORK/srv41000.log"
: >"$WORK/srv41003.log"
fwd_sha "echo through --outbound (challenge-ack-only)" $L 40000 1
got=$(printf 'half-closed\n' | NSX_TIMEOUT=20 nsx nc -N -w 10 $L 40000) ||
	fail "nc -N through --outbound (challenge-ack-only) failed"
[[ $got == half-closed ]] || fail "nc -N (challenge-ack-only): the echo after the client's FIN is '$got'"
fwd_wait_log 41000 "eof 12"
fwd_expect "the client resets (challenge-ack-only)" "done" $L 40003 abort
fwd_wait_log 41003 reset
host_alive
host_stop
pass
