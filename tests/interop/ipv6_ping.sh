#!/usr/bin/env bash
# IPv6 at layer 3 against the kernel (RFC 8200, 4443, 4861, 4862, 3810):
# tapir host with two global addresses and its link-local one, the kernel
# with IPv6 on.  The kernel pings each address (1000 at 1 ms to one, and
# 4000-byte payloads fragmented both ways), the all-nodes group (answered
# from the link-local address, RFC 4443 4.2); the kernel's neighbor entry
# for tapir ends REACHABLE with tapir's MAC (tapir answered its NS); the
# capture shows tapir's DAD and MLDv2 reports and nothing malformed.  Then
# DAD catches a duplicate: tapir refuses an address the kernel holds.
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
require_root ping
NS_IPV6=1
ns_create
A1=fd00::2 A2=fd00::3 K1=fd00::1
PCAP=$WORK/ipv6.pcap
host_start --pcap "$PCAP" --addr $A1/64 --addr $A2/64 --peer-addr $K1/64
LL=$(sed -n 's/^ready .* addr=\(fe80:[^ /]*\)\/64 .*/\1/p' "$HOST_OUT")
[[ -n $LL ]] || fail "no link-local address in the ready line"
for a in $A1 $A2; do
	grep -q "^ready .* addr=$a/64 " "$HOST_OUT" || fail "the ready line lacks $a/64"
done
log "tapir's link-local address: $LL"

# ping6 ADDR COUNT INTERVAL SIZE: COUNT replies of SIZE+8 bytes, none lost
ping6() {
	local out
	out=$(NSX_TIMEOUT=60 nsx ping -6 -n -q -c "$2" -i "$3" -W 2 -s "$4" "$1") || true
	grep -q "^$2 packets transmitted, $2 received, 0% packet loss" <<<"$out" ||
		fail "ping -6 -c $2 -s $4 $1: $(grep transmitted <<<"$out")"
	log "ping -6 -c $2 -s $4 $1: $(grep transmitted <<<"$out")"
}
ping6 $A1 1000 0.001 56
ping6 $A2 100 0.01 56
ping6 "$LL%$TAP" 100 0.01 56
for size in 1232 1233 1452 1453 3000 4000; do
	ping6 $A1 3 0.1 $size
done
ping6 "$LL%$TAP" 3 0.1 4000

log "kernel: ping -6 ff02::1%$TAP (all nodes)"
out=$(nsx ping -6 -n -c 2 -i 0.3 -W 2 "ff02::1%$TAP") || true
grep -q "bytes from $LL%$TAP" <<<"$out" || fail "no echo reply from $LL to ff02::1: $out"

neigh=$(nsx ip -6 neigh show $A1 dev $TAP)
log "kernel's neighbor entry: $neigh"
grep -q "lladdr $HOST_MAC .*REACHABLE" <<<"$neigh" ||
	fail "the kernel's entry for $A1 is not REACHABLE at $HOST_MAC: $neigh"

host_counters after
A=$WORK/after.ctr
log "echo replies $(ctr "$A" icmp6_echo_replied), reassembled $(ctr "$A" reasm_done)," \
	"fragments sent $(ctr "$A" ip6_frag_created), NA sent $(ctr "$A" nd_na_sent)"
# 1000 + 100 + 100 + 6 * 3 + 3 + 2 requests
[[ $(ctr "$A" icmp6_echo_replied) -eq 1223 ]] || fail "$(ctr "$A" icmp6_echo_replied) echo replies for 1223 requests"
[[ $(ctr "$A" nd_dad_ok) -eq 3 ]] || fail "DAD passed for $(ctr "$A" nd_dad_ok) addresses, not 3"
[[ $(ctr "$A" nd_dad_failed) -eq 0 ]] || fail "DAD failed"
# nothing the kernel sent may be dropped but its own MLD reports and
# router solicitations (groups tapir is not in)
bad=$(drops_of "$A" | grep -v '^drop\.ip6_not_for_us ')
[[ -z $bad ]] || fail "unexpected drops: $bad"
host_stop

# every count from one tshark pass (pcap_counts)
DAD_EACH=()
for t in $LL $A1 $A2; do
	DAD_EACH+=("DAD for $t" "eth.src == $HOST_MAC && ipv6.src == :: && icmpv6.nd.ns.target_address == $t" -eq 1)
done
must_counts "$PCAP" \
	"fragments from the kernel" "eth.src != $HOST_MAC && ipv6.fraghdr" -ge 20 \
	"fragments from tapir" "eth.src == $HOST_MAC && ipv6.fraghdr" -ge 20 \
	"4008-byte echo replies reassembled from tapir's fragments" \
	"eth.src == $HOST_MAC && icmpv6.type == 129 && ipv6.reassembled.length == 4008" -eq 6 \
	"DAD solicitations from tapir (RFC 4862 5.4.2)" \
	"eth.src == $HOST_MAC && ipv6.src == :: && icmpv6.type == 135 && !icmpv6.opt" -eq 3 \
	"${DAD_EACH[@]}" \
	"MLDv2 reports from tapir (RFC 3810)" \
	"eth.src == $HOST_MAC && icmpv6.type == 143 && ipv6.hlim == 1 && ipv6.hopopts" -ge 2 \
	"solicited NAs from tapir" \
	"eth.src == $HOST_MAC && icmpv6.type == 136 && icmpv6.nd.na.flag.s == 1 && icmpv6.opt.linkaddr == $HOST_MAC" -ge 1 \
	"atomic fragments from tapir (none: RFC 8021)" \
	"eth.src == $HOST_MAC && ipv6.fraghdr.offset == 0 && ipv6.fraghdr.more == 0" -eq 0 \
	"malformed frames or bad ICMPv6 checksums from tapir" \
	"eth.src == $HOST_MAC && (icmpv6.checksum.status == 0 || _ws.malformed || _ws.expert.severity == error)" -eq 0
pcap_assert_clean "$PCAP" "$HOST_MAC"

# RFC 4862 5.4.4: the kernel holds fd00::7 (on a TAP made beforehand):
# tapir's DAD hears its advertisement and tapir host refuses the address
log "DAD: the kernel holds fd00::7 on tp1, and tapir host asks for it"
nsx ip tuntap add dev tp1 mode tap || fail "cannot create tp1"
nsx ip link set tp1 up
nsx ip -6 addr add fd00::7/64 dev tp1 nodad || fail "cannot add fd00::7 to tp1"
rc=0
NSX_TIMEOUT=20 nsx "$TAPIR" host --tap tp1 --addr 10.0.1.2/24 --addr fd00::7/64 \
	>"$WORK/dup.out" 2>"$WORK/dup.err" || rc=$?
[[ $rc -eq 2 ]] || fail "tapir host with a duplicate address exited $rc, not 2: $(cat "$WORK/dup.err")"
grep -q '^tapir: .*fd00::7 is already in use' "$WORK/dup.err" ||
	fail "no 'already in use' line: $(cat "$WORK/dup.err")"
grep -q '^ready' "$WORK/dup.out" && fail "tapir host said ready with a duplicate address"
log "refused: $(head -n 1 "$WORK/dup.err")"
pass
