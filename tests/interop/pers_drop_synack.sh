#!/usr/bin/env bash
# drop-synack: tapir takes the kernel's SYNs (its listener holds the
# half-open connection, as `tapir ss` shows) but its SYN,ACKs never leave:
# curl times out at --connect-timeout after retransmitting its SYN.
# shellcheck source=tests/interop/pers_lib.sh
source "$(dirname "$0")/pers_lib.sh"
require_root curl
ns_create
PCAP=$WORK/dsa.pcap
pers_host_start --pcap "$PCAP" --personality drop-synack

NSX_TIMEOUT=20 nsx curl -sS --connect-timeout 3 "http://$HOST_ADDR:7/" >"$WORK/curl.out" 2>&1
rc=$?
[[ $rc -eq 28 ]] || fail "curl exited $rc, not 28 (connect timeout): $(cat "$WORK/curl.out")"
log "curl: $(cat "$WORK/curl.out")"
tctl ss >"$WORK/ss.out" || fail "tapir ss failed"
grep -q "^SYN_RECEIVED .* $HOST_ADDR:7 *$PEER_ADDR:" "$WORK/ss.out" ||
	fail "tapir ss shows no SYN_RECEIVED connection: $(cat "$WORK/ss.out")"
log "tapir ss: $(grep '^SYN_RECEIVED' "$WORK/ss.out" | head -n 1)"
dropped=$(stat_of tx_hook_dropped)
[[ $dropped -ge 2 ]] || fail "tx_hook_dropped is $dropped: no SYN,ACK (retransmission) dropped"
host_stop

must_count "kernel SYNs (with retransmissions)" "$PCAP" \
	"ip.src == $PEER_ADDR && tcp.flags.syn == 1 && tcp.flags.ack == 0" -ge 2
must_count "SYN,ACKs on the wire" "$PCAP" "tcp.flags.syn == 1 && tcp.flags.ack == 1" -eq 0
must_count "any TCP from tapir" "$PCAP" "ip.src == $HOST_ADDR && tcp" -eq 0
pass
