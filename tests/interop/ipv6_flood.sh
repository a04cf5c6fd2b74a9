#!/usr/bin/env bash
# 5,000 malformed IPv6 frames at the host (ipv6_flood.py, scapy, from the
# kernel's side of the TAP): truncated and lying headers, bad sources,
# options whose action bits discard, routing type 0 (RFC 5095), hop-by-hop
# out of place, chains too long (RFC 8504), first fragments without their
# chain (RFC 7112), unaligned fragments, bad ICMPv6 checksums and types,
# malformed neighbor discovery, random bytes.  Every one must be counted
# as dropped, each deterministic kind for its own reason; the host must
# stay up and still answer ping -6; what it sent must be well formed.
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
require_root ping socat
"$PY" -c 'import scapy.all' 2>/dev/null || fail "$PY has no scapy"
COUNT=5000
SEED=${FLOOD_SEED:-$RANDOM}
NS_IPV6=1
ns_create
PCAP=$WORK/ipv6_flood.pcap
HOST6=fd00::2 PEER6=fd00::1
host_start --pcap "$PCAP" --addr $HOST6/64 --peer-addr $PEER6/64
# the kernel's own MLD reports and solicitations come and go meanwhile:
# know its neighbor first, so that nothing but the flood is in flight
nsx ping -6 -n -c 2 -i 0.2 -W 2 $HOST6 >/dev/null || fail "no answer to ping -6 before the flood"

host_counters before
log "sending $COUNT malformed IPv6 frames (seed $SEED; FLOOD_SEED=$SEED repeats them)"
NSX_TIMEOUT=240 nsx "$PY" "$LIB_DIR/ipv6_flood.py" "$TAP" "$HOST_MAC" "$HOST_ADDR" $HOST6 $PEER6 \
	"$COUNT" "$SEED" >"$WORK/flood.out" 2>&1 || fail "ipv6_flood.py failed: $(tail -n 5 "$WORK/flood.out")"
head -n 1 "$WORK/flood.out"
host_alive
host_counters after

B=$WORK/before.ctr A=$WORK/after.ctr G=$WORK/flood.out
[[ $(ctr "$G" tap_tx_dropped) -eq 0 ]] ||
	fail "the TAP device dropped $(ctr "$G" tap_tx_dropped) frames before tapir read them"
d_drop=$(ctr_delta "$B" "$A" summary.dropped)
d_rx=$(ctr_delta "$B" "$A" rx_frames)
d_dlv=$(ctr_delta "$B" "$A" rx_delivered)
log "during the flood: $d_rx frames received, $d_dlv delivered, $d_drop dropped"
rnd=$(awk '$1 == "expect" && $2 == "random" { print $3 }' "$G")
# the kernel's own frames meanwhile (MLD reports, solicitations, its
# answers to tapir's errors) are either delivered or ip6_not_for_us
extra_ok=$((d_rx - COUNT))
printf '  %-18s %8s %8s\n' reason expected counted
bad=0 surplus=0
for r in $( (awk '$1 == "expect" && $2 != "random" { print $2 }' "$G"; drops_of "$A" | sed 's/^drop\.//; s/ .*//') | sort -u); do
	e=$(awk -v r="$r" '$1 == "expect" && $2 == r { print $3 }' "$G")
	c=$(ctr_delta "$B" "$A" "drop.$r")
	mark=""
	if [[ $c -lt ${e:-0} ]]; then
		mark="  <-- fewer"
		bad=1
	fi
	surplus=$((surplus + c - ${e:-0}))
	printf '  %-18s %8s %8s%s\n' "$r" "${e:-0}" "$c" "$mark"
done
[[ $bad -eq 0 ]] || fail "some frames were not dropped for the reason expected (above)"
# what is beyond the expected counts: the random frames, and the
# kernel's frames that were not for us
[[ $surplus -le $((rnd + extra_ok)) ]] ||
	fail "$surplus drops beyond the expected ones, more than $rnd random frames and $extra_ok of the kernel's"
[[ $((d_drop)) -ge $COUNT ]] || fail "the drop counters grew by $d_drop, fewer than $COUNT"
log "every malformed frame dropped ($rnd random ones for whatever reason their bytes gave)"

out=$(nsx ping -6 -n -c 3 -i 0.2 -W 2 $HOST6) || true
grep -q '^3 packets transmitted, 3 received' <<<"$out" || fail "no answer to ping -6 after the flood: $out"
log "ping -6 still answered"
host_stop
# tapir's ICMPv6 errors quote the malformed frames (Wireshark's verdict on
# the quote is about the flood): their own checksum must be right
pcap_assert_clean "$PCAP" "$HOST_MAC" "icmpv6.type < 128"
errs=$(pcap_count "$PCAP" "eth.src == $HOST_MAC && icmpv6.type < 128")
good=$(pcap_count "$PCAP" "eth.src == $HOST_MAC && icmpv6.type < 128 && icmpv6.checksum.status == 1 && !(icmpv6.checksum.status == 0)")
[[ $errs -eq $good ]] || fail "$((errs - good)) of tapir's $errs ICMPv6 errors have a bad checksum"
[[ $errs -gt 0 ]] || fail "tapir sent no ICMPv6 error (parameter problems expected)"
log "tapir sent: $(tsh -r "$PCAP" -Y "eth.src == $HOST_MAC && ipv6" -T fields -E occurrence=f -e icmpv6.type | sort | uniq -c | awk '{ printf "%s%s type %s", sep, $1, $2; sep = ", " }')"
pass
