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
rows "$PCAP" "tcp.port == 7" ip.src tcp.flags.syn tcp.flags.ack tcp.flags.reset tcp.seq \
	tcp.ack >"$WORK/rows"
awk -v k="$PEER_ADDR" -v t="$HOST_ADDR" '
	$1 == k && $2 == 1 && $3 == 0 { if (want) bad = bad " unanswered SYN"; want = 1; syn = $5; syns++; next }
	$1 == t && $2 == 1 { bad = bad " tapir sent a SYN"; next }
	$1 == t && want {
		want = 0
		if ($3 != 1 || $4 != 0) bad = bad " answer not a bare ACK"
		if ($6 == (syn + 1) % 4294967296) bad = bad " ACK number is SYN+1"
		acks++
	}
	$1 == k && $2 == 0 && $3 == 1 && $4 == 0 { bad = bad " kernel sent a plain ACK (established)" }
	$1 == k && $4 == 1 { rsts++ }
	END {
		if (want) bad = bad " last SYN unanswered"
		printf "%d %d %d%s\n", syns, acks, rsts, bad
	}' "$WORK/rows" >"$WORK/verdict"
read -r syns acks rsts bad <"$WORK/verdict"
[[ -z $bad ]] || fail "wire: $bad (rows in $WORK/rows)"
[[ $syns -ge 2 ]] || fail "only $syns SYN(s) from the kernel: no retransmission seen"
[[ $rsts -ge 1 ]] || fail "the kernel sent no RST in answer to the wrong ACK"
log "wire: $syns SYNs, each answered by a bare wrong ACK ($acks); kernel RSTs: $rsts, ignored"
pass
