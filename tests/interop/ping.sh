#!/usr/bin/env bash
# The kernel pings tapir: 1000 echo requests 1 ms apart, none lost; the
# kernel learns tapir's MAC by ARP; tapir announced its address (RFC 5227
# 2.3) when it came up; everything tapir sent is well formed.
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
require_root ping
ns_create
PCAP=$WORK/ping.pcap
host_start --pcap "$PCAP"

log "kernel: ping -c 1000 -i 0.001 $HOST_ADDR"
out=$(NSX_TIMEOUT=60 nsx ping -n -q -c 1000 -i 0.001 -W 2 "$HOST_ADDR") || true
echo "$out" | tail -n 2
grep -q '^1000 packets transmitted, 1000 received, 0% packet loss' <<<"$out" ||
	fail "ping lost packets: $(tail -n 2 <<<"$out")"

neigh=$(nsx ip neigh show "$HOST_ADDR" dev "$TAP")
log "kernel neighbour entry: $neigh"
grep -q "lladdr $HOST_MAC " <<<"$neigh " ||
	fail "the kernel's ARP entry for $HOST_ADDR is not tapir's MAC $HOST_MAC: '$neigh'"

host_counters after
replied=$(ctr "$WORK/after.ctr" icmp_echo_replied)
[[ $replied -eq 1000 ]] || fail "icmp_echo_replied is $replied, not 1000"
host_stop

must_count "gratuitous ARP announcements of $HOST_ADDR" "$PCAP" \
	"eth.src == $HOST_MAC && arp.isannouncement == 1 && arp.src.proto_ipv4 == $HOST_ADDR" -ge 1
must_count "echo replies" "$PCAP" "eth.src == $HOST_MAC && icmp.type == 0 && ip.dst == $PEER_ADDR" -eq 1000
pcap_assert_clean "$PCAP" "$HOST_MAC"
pass
