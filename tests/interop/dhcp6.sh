#!/usr/bin/env bash
# Stateless DHCPv6 (RFC 8415 18.2.6) against dnsmasq on the kernel's side of
# the TAP, inside the test's namespace: dnsmasq advertises fd00:5::/64 with
# the A and O flags (--enable-ra, ra-stateless), tapir host --addr slaac
# forms its SLAAC address and, told by the O flag (RFC 4861 4.2), sends an
# Information-request; dnsmasq's Reply carries the DNS server fd00::53 and
# the search list example.test, which tapir prints as one line.  tshark: a
# well-formed Information-request from the link-local address to ff02::1:2
# (DUID-LL, elapsed time, the options asked for, no IA_NA) and dnsmasq's
# Reply with the DNS server option.  Then the same with a static IPv6
# --addr (no SLAAC): the O flag still has tapir ask.
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
require_root dnsmasq
NS_IPV6=1
ns_create
PCAP=$WORK/dhcp6.pcap
DNSMASQ_PID=""

host_start --pcap "$PCAP" --addr slaac --peer-addr fd00:5::1/64 --trace udp,nd
# the SLAAC address to expect: the MAC's first byte with the U/L bit
# inverted, ff:fe in the middle (RFC 4291 Appendix A)
IFS=: read -r m0 m1 m2 m3 m4 m5 <<<"$HOST_MAC"
WANT=$(printf 'fd00:5::%x:%x:%x:%x' $(((0x$m0 ^ 2) << 8 | 0x$m1)) $((0x$m2 << 8 | 0xff)) \
	$((0xfe << 8 | 0x$m3)) $((0x$m4 << 8 | 0x$m5)))
grep -q 'dhcp6 tx' "$HOST_OUT" && fail "tapir asked DHCPv6 before any router said O"

# -k: in the foreground; no DNS (port 0); RAs for the TAP's fd00:5::/64
# with A and O (ra-stateless), every 4 s at most
dnsmasq_run() {
	exec timeout -k 5 120 ip netns exec "$NS" dnsmasq -k --conf-file=/dev/null --port=0 \
		--interface="$TAP" --bind-interfaces --enable-ra --ra-param="$TAP,4" \
		--dhcp-range="::,constructor:$TAP,ra-stateless,64,10m" \
		--dhcp-option=option6:dns-server,[fd00::53] \
		--dhcp-option=option6:domain-search,example.test \
		--pid-file="$WORK/dnsmasq.pid" --user=root --log-dhcp \
		--log-facility="$WORK/dnsmasq.log" 2>"$WORK/dnsmasq.err"
}
dnsmasq_run &
DNSMASQ_PID=$!

for ((i = 0; i < 300; i++)); do
	grep -q '^dhcp6 dns ' "$HOST_OUT" && grep -q "^address $WANT/64 added$" "$HOST_OUT" && break
	kill -0 "$DNSMASQ_PID" 2>/dev/null || fail "dnsmasq exited: $(cat "$WORK/dnsmasq.err")"
	sleep 0.1
done
grep -q "^address $WANT/64 added$" "$HOST_OUT" ||
	fail "no SLAAC address $WANT within 30 s: $(grep -E '^address|slaac' "$HOST_OUT")"
log "SLAAC: $WANT"
line=$(grep '^dhcp6 ' "$HOST_OUT")
[[ -n $line ]] || fail "no 'dhcp6 dns' line within 30 s: $(grep dhcp6 "$HOST_OUT" | tail -5)"
[[ $line = 'dhcp6 dns fd00::53 search example.test' ]] || fail "unexpected line: $line"
log "$line"
host_counters after
[[ $(ctr "$WORK/after.ctr" dhcp6_rx) -eq 1 ]] || fail "dhcp6_rx is $(ctr "$WORK/after.ctr" dhcp6_rx), not 1"
[[ -z $(drops_of "$WORK/after.ctr" | grep dhcp6) ]] || fail "DHCPv6 drops: $(drops_of "$WORK/after.ctr")"
host_stop
kill -TERM "$DNSMASQ_PID" 2>/dev/null
wait "$DNSMASQ_PID" 2>/dev/null
grep -q "DHCPINFORMATION-REQUEST($TAP)" "$WORK/dnsmasq.log" ||
	fail "dnsmasq logged no Information-request: $(tail -5 "$WORK/dnsmasq.log")"
grep -q "sent size: 16 option: 23 dns-server  fd00::53" "$WORK/dnsmasq.log" ||
	fail "dnsmasq logged no Reply with fd00::53"

must_count "router advertisements with the O flag (dnsmasq)" "$PCAP" \
	"icmpv6.type == 134 && icmpv6.nd.ra.flag.o == 1" -ge 1
IR="eth.src == $HOST_MAC && dhcpv6.msgtype == 11 && ipv6.src == fe80::/10 && ipv6.dst == ff02::1:2"
IR="$IR && udp.srcport == 546 && udp.dstport == 547"
must_counts "$PCAP" \
	"Information-requests (RFC 8415 18.2.6)" \
	"$IR && dhcpv6.duid.type == 3 && dhcpv6.duidll.link_layer_addr == $HOST_MAC && dhcpv6.elapsed_time == 0" -eq 1 \
	"... asking for DNS servers, search list, refresh time and INF_MAX_RT" \
	"$IR && dhcpv6.requested_option_code == 23 && dhcpv6.requested_option_code == 24 && dhcpv6.requested_option_code == 32 && dhcpv6.requested_option_code == 83" -eq 1 \
	"... with no IA_NA or IA_PD (stateless)" \
	"$IR && (dhcpv6.option.type == 3 || dhcpv6.option.type == 25)" -eq 0 \
	"dnsmasq's Reply with fd00::53 and the search list" \
	"eth.dst == $HOST_MAC && dhcpv6.msgtype == 7 && udp.dstport == 546 && dhcpv6.dns_server == fd00::53 && dhcpv6.option.type == 24 && frame contains \"example\"" -eq 1 \
	"DHCPv6 messages with malformed or bad parts" "dhcpv6 && $PCAP_BAD" -eq 0
pcap_assert_clean "$PCAP" "$HOST_MAC"

log "a static IPv6 --addr, no SLAAC"
host_start --addr fd00:5::2/64 --peer-addr fd00:5::1/64
dnsmasq_run &
DNSMASQ_PID=$!
for ((i = 0; i < 300; i++)); do
	grep -q '^dhcp6 dns ' "$HOST_OUT" && break
	kill -0 "$DNSMASQ_PID" 2>/dev/null || fail "dnsmasq exited: $(cat "$WORK/dnsmasq.err")"
	sleep 0.1
done
line=$(grep '^dhcp6 ' "$HOST_OUT")
[[ $line = 'dhcp6 dns fd00::53 search example.test' ]] ||
	fail "with --addr fd00:5::2/64: no or a wrong dhcp6 line: '$line'"
grep -q '^address fd00:5::' "$HOST_OUT" && fail "an address from the RA without --addr slaac"
log "$line"
host_stop
kill -TERM "$DNSMASQ_PID" 2>/dev/null
wait "$DNSMASQ_PID" 2>/dev/null
pass
