#!/usr/bin/env bash
# 4000-byte pings both ways over a 1500-byte MTU, so every request and reply
# is fragmented: tapir pings the kernel (its --ping client) and the kernel
# pings tapir.  The capture must show fragments in both directions.
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
require_root ping
ns_create
PCAP=$WORK/bigping.pcap
host_start --pcap "$PCAP" --ping "$PEER_ADDR" --ping-count 3 --ping-size 4000 --ping-interval 100

log "tapir: --ping $PEER_ADDR --ping-count 3 --ping-size 4000"
for ((i = 0; i < 100; i++)); do
	grep -q '^--- .* ping statistics ---' "$HOST_OUT" && break
	host_alive
	sleep 0.1
done
grep -A1 '^--- .* ping statistics ---' "$HOST_OUT" || fail "tapir's ping printed no statistics within 10 s"
grep -q "^--- $PEER_ADDR ping statistics ---" "$HOST_OUT" || fail "statistics for the wrong address"
grep -q '^3 packets transmitted, 3 received' "$HOST_OUT" || fail "tapir's ping to the kernel lost replies"
grep -q 'wrong data' "$HOST_OUT" && fail "tapir's ping got replies with wrong data"

log "kernel: ping -c 3 -s 4000 $HOST_ADDR"
out=$(nsx ping -n -c 3 -i 0.2 -W 2 -s 4000 "$HOST_ADDR") || true
echo "$out" | grep -E 'bytes from|transmitted'
grep -q '^3 packets transmitted, 3 received, 0% packet loss' <<<"$out" ||
	fail "the kernel's 4000-byte ping lost packets"
grep -q '^4008 bytes from' <<<"$out" || fail "the kernel's ping replies are not 4008 bytes"

host_counters after
log "reassembled: $(ctr "$WORK/after.ctr" reasm_done), fragments created: $(ctr "$WORK/after.ctr" ip_frag_created)"
host_stop

FRAG='(ip.flags.mf == 1 || ip.frag_offset > 0)'
to_host=$(pcap_count "$PCAP" "$FRAG && ip.src == $PEER_ADDR && ip.dst == $HOST_ADDR")
from_host=$(pcap_count "$PCAP" "$FRAG && eth.src == $HOST_MAC && ip.src == $HOST_ADDR && ip.dst == $PEER_ADDR")
log "IPv4 fragments in the capture: kernel->tapir $to_host, tapir->kernel $from_host"
# 4008 bytes of ICMP in 1480-byte pieces: 3 fragments per datagram, 6
# datagrams each way (3 requests, 3 replies)
[[ $to_host -eq 18 ]] || fail "expected 18 fragments from the kernel, saw $to_host"
[[ $from_host -eq 18 ]] || fail "expected 18 fragments from tapir, saw $from_host"
must_count "echo replies of 4008 bytes (reassembled) from tapir" "$PCAP" \
	"eth.src == $HOST_MAC && icmp.type == 0 && ip.reassembled.length == 4008" -eq 3
pcap_assert_clean "$PCAP" "$HOST_MAC"
pass
