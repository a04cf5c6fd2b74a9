#!/usr/bin/env bash
# tapir host --forward PORT=HOST:HPORT in front of unmodified kernel servers
# (python's http.server, fwd_peer.py) in the namespace, reached by the
# kernel's own clients at tapir's address:
#   - bytes exact both ways: curl fetches a 4 MB file; 4 MB through an echo
#     and back (sha256);
#   - backpressure: 32 MiB to a server that starts reading late, 4 KiB at a
#     time, all arrive;
#   - half-close both ways: nc -N (the client's FIN reaches the server,
#     the echo still comes back) and a server that sends FIN first and then
#     still reads what the client sends;
#   - resets both ways: the server's abortive close is an RST from tapir
#     (on the capture), the client's abortive close resets the server;
#   - a refused backend: tapir's peer gets an RST;
#   - 200 connections at once through the echo, none lost; 12 with
#     --max-sockets 6, none lost either (beyond the limit SYNs go unanswered
#     and the clients retransmit them);
#   - with --personality dth every data segment tapir sends to the client
#     carries RFC 9401's DTH bit, and curl still gets the file byte-exact;
#   - with --personality challenge-ack-only the same http.server becomes the
#     SYN -> bare-ACK server: curl times out connecting (28).
# shellcheck source=tests/run/lib_fwd.sh
source "$(dirname "$0")/lib_fwd.sh"
require_root curl nc sha256sum
ns_create
fwd_plain_tcp
PCAP=$WORK/fwd.pcap
WWW=$WORK/www
mkdir -p "$WWW"
head -c 4194304 /dev/urandom >"$WWW/4m.bin"

fwd_http 127.0.0.1 8000 "$WWW"
fwd_server 127.0.0.1 41000 echo
fwd_server 127.0.0.1 41001 greet
fwd_server 127.0.0.1 41002 rst
fwd_server 127.0.0.1 41003 watch
fwd_server 127.0.0.1 41004 slow
# 127.0.0.1:41009: nothing listens (a refused backend)
host_start --serve discard --pcap "$PCAP" --forward 80=127.0.0.1:8000 \
	--forward 40000=127.0.0.1:41000 --forward 40001=127.0.0.1:41001 \
	--forward 40002=127.0.0.1:41002 --forward 40003=127.0.0.1:41003 \
	--forward 40004=127.0.0.1:41004 --forward 40009=127.0.0.1:41009
grep -q 'forward=80>127.0.0.1:8000 ' "$HOST_OUT" || fail "the ready line names no forward: $(head -1 "$HOST_OUT")"

# ---- bytes exact ----
got=$(NSX_TIMEOUT=60 nsx curl -sS --max-time 50 -o "$WORK/4m.out" -w '%{http_code}' "http://$HOST_ADDR/4m.bin") ||
	fail "curl through --forward failed: $got"
[[ $got == 200 ]] || fail "curl: HTTP $got"
cmp -s "$WWW/4m.bin" "$WORK/4m.out" || fail "curl: the 4 MB body differs"
log "curl http://$HOST_ADDR/4m.bin through --forward: 200, byte-exact"
fwd_sha "echo through --forward" "$HOST_ADDR" 40000 4

# ---- backpressure: a server that reads late and slowly still gets it all ----
fwd_expect "32 MiB to a slow reader" "sent 33554432" "$HOST_ADDR" 40004 bulk=32
fwd_wait_log 41004 "eof 33554432"

# ---- half-close, both ways ----
got=$(printf 'half-closed\n' | NSX_TIMEOUT=20 nsx nc -N -w 10 "$HOST_ADDR" 40000) ||
	fail "nc -N through --forward failed"
[[ $got == half-closed ]] || fail "nc -N: the echo after the client's FIN is '$got'"
fwd_wait_log 41000 "eof 12"
log "client FIN first (nc -N): the server saw EOF after 12 bytes, the echo came back"
fwd_expect "server FIN first" greet-ok "$HOST_ADDR" 40001 greet
fwd_wait_log 41001 "got 13"

# ---- resets, both ways ----
fwd_expect "the server resets" reset "$HOST_ADDR" 40002 reset
fwd_wait_log 41002 sent-rst
fwd_expect "the client resets" "done" "$HOST_ADDR" 40003 abort
fwd_wait_log 41003 reset
log "the client's RST reset the server's connection"

# ---- a refused backend ----
fwd_expect "refused backend" reset "$HOST_ADDR" 40009 reset

# ---- many at once ----
fwd_expect "200 connections at once" "ok 200/200" "$HOST_ADDR" 40000 many=200
host_alive
host_stop

must_counts "$PCAP" \
	"RSTs from tapir's port 40002 (the server's reset)" \
	"ip.src == $HOST_ADDR && tcp.srcport == 40002 && tcp.flags.reset == 1" -ge 1 \
	"RSTs from tapir's port 40009 (refused backend)" \
	"ip.src == $HOST_ADDR && tcp.srcport == 40009 && tcp.flags.reset == 1" -ge 1 \
	"FINs from tapir's port 40001 (the server's FIN)" \
	"ip.src == $HOST_ADDR && tcp.srcport == 40001 && tcp.flags.fin == 1" -ge 1 \
	"RSTs from tapir's port 40000 (the orderly ones)" \
	"ip.src == $HOST_ADDR && tcp.srcport == 40000 && tcp.flags.reset == 1" -eq 0
pcap_assert_clean "$PCAP" "$HOST_MAC"

# ---- a bounded number of relays: the rest wait in the listen queue ----
# (SYNs beyond the limit go unanswered: the kernel's clients retransmit them
# together at 1, 3, 7, 15, 31 and 63 s after the first, and a round admits as
# many as relays have ended since the last; on a loaded machine a round may
# admit only one or two, so 12 clients and rounds up to 63 s: six rounds for
# seven waiting connections.  The kernel gives up on a SYN only after 127 s,
# so any client still waiting at 100 s is one tapir lost.)
host_start --serve discard --max-sockets 6 --forward 40000=127.0.0.1:41000
FWD_TIMEOUT=100 NSX_TIMEOUT=120 fwd_expect "12 connections at once, at most 6 sockets" \
	"ok 12/12" "$HOST_ADDR" 40000 many=12
host_stop

# ---- dth: tapir's data segments toward the client carry RFC 9401's bit ----
PCAP=$WORK/dth.pcap
host_start --serve discard --pcap "$PCAP" --forward 80=127.0.0.1:8000 --personality dth
NSX_TIMEOUT=60 nsx curl -sS --max-time 50 -o "$WORK/dth.out" "http://$HOST_ADDR/4m.bin" ||
	fail "curl through --forward with dth failed"
cmp -s "$WWW/4m.bin" "$WORK/dth.out" || fail "curl with dth: the 4 MB body differs"
host_stop
DTH='tcp.flags & 0x800'
must_counts "$PCAP" \
	"tapir's data segments (dth)" "ip.src == $HOST_ADDR && tcp.len > 0" -ge 100 \
	"... without DTH" "ip.src == $HOST_ADDR && tcp.len > 0 && !($DTH)" -eq 0 \
	"SYNs with DTH (RFC 9401 3.3: never)" "tcp.flags.syn == 1 && $DTH" -eq 0

# ---- challenge-ack-only in front of the same server ----
host_start --serve discard --forward 80=127.0.0.1:8000 --personality challenge-ack-only
NSX_TIMEOUT=20 nsx curl -sS --connect-timeout 2 -o /dev/null "http://$HOST_ADDR/4m.bin" 2>"$WORK/cao.err"
rc=$?
[[ $rc -eq 28 ]] || fail "challenge-ack-only: curl exited $rc, not 28: $(cat "$WORK/cao.err")"
log "challenge-ack-only in front of http.server: curl timed out connecting (28)"
host_stop
pass
