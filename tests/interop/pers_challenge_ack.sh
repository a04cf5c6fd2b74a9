#!/usr/bin/env bash
# challenge-ack-only: every SYN to a listening port is answered by a bare
# ACK with a wrong ACK number, and RSTs are ignored.  The kernel's curl
# (the client) answers each ACK with a RST (RFC 9293 3.10.7.3), retransmits
# its SYN, never reaches ESTABLISHED, and gives up at --connect-timeout.
# On the wire: each kernel SYN is followed by a tapir ACK without SYN whose
# ACK number is not SYN+1; tapir sends no SYN,ACK at all.
# shellcheck source=tests/interop/pers_lib.sh
source "$(dirname "$0")/pers_lib.sh"
require_root curl
ns_create
PCAP=$WORK/cao.pcap
pers_host_start --pcap "$PCAP" --personality challenge-ack-only

# curl in the background, so that the kernel's socket can be watched stalling
NSX_TIMEOUT=20 nsx curl -sS --connect-timeout 3 "http://$HOST_ADDR:7/" >"$WORK/curl.out" 2>&1 &
CURL=$!
states=""
for ((i = 0; i < 20; i++)); do
	sleep 0.1
	states+=$(nsx ss -Htn state all "dst $HOST_ADDR:7" | awk '{ print $1 }')" "
done
wait "$CURL"
rc=$?
[[ $rc -eq 28 ]] || fail "curl exited $rc, not 28 (connect timeout): $(cat "$WORK/curl.out")"
log "curl: $(cat "$WORK/curl.out")"
[[ $states == *SYN-SENT* ]] || fail "the kernel's socket was never seen in SYN-SENT: '$states'"
[[ $states != *ESTAB* ]] || fail "the kernel's socket reached ESTABLISHED: '$states'"
log "the kernel's socket: SYN-SENT while watched, never ESTABLISHED"

# tapir's side: listeners only, no connection
tctl ss >"$WORK/ss.out" || fail "tapir ss failed"
grep -qv -e '^State' -e '^LISTEN' "$WORK/ss.out" && fail "tapir holds a connection: $(cat "$WORK/ss.out")"
host_stop

# the wire: K = the kernel's SYNs, T = tapir's answers
challenge_ack_wire "$PCAP" "tcp.port == 7" ip.src "$PEER_ADDR" "$HOST_ADDR" IPv4
pass
