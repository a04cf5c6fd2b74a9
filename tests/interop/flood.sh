#!/usr/bin/env bash
# 10,000 malformed frames at the host, from the kernel's side of the TAP
# through an AF_PACKET socket (flood.py): random bytes, truncated Ethernet,
# ARP, IPv4, ICMP and UDP headers, wrong IHL, lengths beyond the frame, bad
# checksums, bogus and overlapping fragments; to tapir's MAC and broadcast.
# Every one must be counted as dropped, for the reason the generator
# expects; the counters must still add up; the host must still answer.
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
require_root ping socat
"$PY" -c 'import socket; socket.AF_PACKET' || fail "$PY cannot open AF_PACKET sockets"
COUNT=10000
SEED=${FLOOD_SEED:-$RANDOM}
ns_create
PCAP=$WORK/flood.pcap
host_start --pcap "$PCAP"

host_counters before
log "sending $COUNT malformed frames (seed $SEED; FLOOD_SEED=$SEED repeats them)"
NSX_TIMEOUT=120 nsx "$PY" "$LIB_DIR/flood.py" "$TAP" "$HOST_MAC" "$HOST_ADDR" "$PEER_ADDR" \
	"$COUNT" "$SEED" >"$WORK/flood.out" || fail "flood.py failed: $(cat "$WORK/flood.out")"
head -n 1 "$WORK/flood.out"
host_alive
host_counters after

B=$WORK/before.ctr A=$WORK/after.ctr G=$WORK/flood.out
lost=$(awk '$1 == "tap_tx_dropped" { print $2 }' "$G")
[[ $lost -eq 0 ]] || fail "the TAP device dropped $lost frames before tapir read them (send slower)"
leads=$(awk '$1 == "leads" { print $2 }' "$G")
syncs=$(awk '$1 == "syncs" { print $2 }' "$G")
d_drop=$(($(ctr "$A" summary.dropped) - $(ctr "$B" summary.dropped)))
d_rx=$(($(ctr "$A" rx_frames) - $(ctr "$B" rx_frames)))
d_dlv=$(($(ctr "$A" rx_delivered) - $(ctr "$B" rx_delivered)))
log "during the flood: $d_rx frames received, $d_dlv delivered, $d_drop dropped" \
	"($leads valid lead fragments and $syncs echo syncs sent too)"

# the per-reason breakdown: what the generator expects against the counters
printf '  %-22s %8s %8s\n' reason expected counted
mismatch=0
for r in $( (awk '$1 == "expect" { print $2 }' "$G"; drops_of "$A" | sed 's/^drop\.//; s/ .*//') | sort -u); do
	e=$(awk -v r="$r" '$1 == "expect" && $2 == r { print $3 }' "$G")
	c=$(($(ctr "$A" "drop.$r") - $(ctr "$B" "drop.$r")))
	mark=""
	[[ ${e:-0} -eq $c ]] || { mark="  <-- differs"; mismatch=1; }
	printf '  %-22s %8s %8s%s\n' "$r" "${e:-0}" "$c" "$mark"
done
[[ $d_drop -eq $COUNT ]] || fail "the drop counters grew by $d_drop, not $COUNT"
[[ $mismatch -eq 0 ]] || fail "some frames were dropped for another reason than expected (above)"
[[ $d_dlv -ge $((leads + syncs)) ]] ||
	fail "delivered grew by $d_dlv, fewer than the $leads leads and $syncs syncs sent"

log "still answering?"
out=$(nsx ping -n -c 3 -i 0.2 -W 2 "$HOST_ADDR") || true
grep -q '^3 packets transmitted, 3 received' <<<"$out" || fail "no answer to ping after the flood: $out"
got=$(echo "after the flood" | nsx socat -t 2 - "UDP4:$HOST_ADDR:7")
[[ $got == "after the flood" ]] || fail "no UDP echo after the flood (got '$got')"
log "ping and UDP echo still answered"
host_alive
host_stop
# whatever tapir itself sent meanwhile must be well formed; the flood's
# echo requests with tapir's own MAC as their source are not tapir's
pcap_assert_clean "$PCAP" "$HOST_MAC" "icmp.type == 8"
log "tapir sent: $(tsh -r "$PCAP" -Y "eth.src == $HOST_MAC && !(icmp.type == 8)" -T fields -e _ws.col.Protocol -e icmp.type | sort | uniq -c | awk '{ printf "%s%s %s%s", sep, $1, $2, ($3 != "" ? " type " $3 : ""); sep = ", " }')"
pass
