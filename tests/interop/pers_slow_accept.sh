#!/usr/bin/env bash
# slow-accept=MS: the services accept one connection per 3 s, so 200
# kernel connections to discard overflow the listener's backlog (128): the
# listener holds a full accept queue (tapir ss: Recv-Q near the backlog),
# further SYNs (and handshakes' last ACKs) are dropped silently (counter
# tcp_listen_overflows) and the kernel retransmits them (UNP 4.5).
# shellcheck source=tests/interop/pers_lib.sh
source "$(dirname "$0")/pers_lib.sh"
require_root
ns_create
PCAP=$WORK/sa.pcap
pers_host_start --pcap "$PCAP" --personality slow-accept=3000

# 200 non-blocking connects at once, held open while we look
NSX_TIMEOUT=40 nsx "$PY" "$LIB_DIR/hold_conns.py" "$HOST_ADDR" "$WORK/go" >"$WORK/client.out" 2>&1 &
CLIENT=$!
full=$(wait_stat tcp_listen_overflows 1 100)
[[ $full -ge 1 ]] || fail "tcp_listen_overflows is 0: the backlog never overflowed"
tctl ss >"$WORK/ss.out" || fail "tapir ss failed"
listener=$(awk '$1 == "LISTEN" && $4 ~ /:9$/' "$WORK/ss.out")
[[ $(awk '{ print $3 }' <<<"$listener") -eq 128 ]] || fail "the listener's backlog is not 128: $listener"
queued=$(awk '{ print $2 }' <<<"$listener")
[[ $queued -ge 100 ]] || fail "the accept queue holds $queued connections, not near 128: $listener"
log "tapir ss: $listener"
log "tcp_listen_overflows: $full"
# the dropped SYNs come back (RFC 6298 5.7: 1 s later): the count grows
# past the 72 connections that never fit
full=$(wait_stat tcp_listen_overflows 100 150)
[[ $full -ge 100 ]] || fail "tcp_listen_overflows stays at $full: no retransmitted SYN dropped"
log "tcp_listen_overflows: $full, with the retransmitted SYNs"
touch "$WORK/go"
wait "$CLIENT" || fail "client: $(cat "$WORK/client.out")"
host_stop
# each connection that found the queue full waited: its SYN was dropped
# (the kernel sends it again) or, when its SYN came before the queue filled,
# its last ACK was (tapir sends its SYN,ACK again); which, depends on timing
again=$(rows "$PCAP" "ip.src == $PEER_ADDR && tcp.flags.syn == 1 && tcp.flags.ack == 0" tcp.srcport |
	sort | uniq -d | wc -l)
synack_again=$(rows "$PCAP" "ip.src == $HOST_ADDR && tcp.flags.syn == 1 && tcp.flags.ack == 1" tcp.dstport |
	sort | uniq -d | wc -l)
((again + synack_again >= 1)) || fail "no connection waited: no SYN and no SYN,ACK sent twice"
log "connections whose SYN the kernel retransmitted: $again; whose SYN,ACK tapir retransmitted: $synack_again"
pass
