#!/usr/bin/env bash
# DHCPv4 (RFC 2131) against dnsmasq on the kernel's side of the TAP, inside
# the test's namespace: tapir host --addr dhcp finds no server for 10 s and
# says so, keeps trying, and once dnsmasq runs gets a lease (DISCOVER,
# OFFER, REQUEST, ACK, then RFC 5227's three ARP probes), prints it and
# 'ready' with the address; dnsmasq's lease file shows it.  Then dnsmasq
# is told (its hosts file, SIGHUP) that tapir's MAC has another address,
# so at T1 (dnsmasq's option 58, 5 s; the first renewal often falls in
# the probe) tapir's renewal by unicast gets a DHCPNAK: tapir prints
# 'address ... removed' (a lease lost), starts over (RFC 2131 3.1.5) and
# leases the new address ('address ... added'), which the kernel pings
# and dnsmasq's lease file shows; at its T1 tapir renews it and keeps it;
# SIGTERM sends a DHCPRELEASE and the lease file loses it.  tshark: every
# DHCP message tapir sent is well formed.  (dnsmasq's shortest lease is
# two minutes: rebinding at T2 and expiry are tests/unit/test_dhcp.c's.)
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
require_root ping dnsmasq
ns_create
PCAP=$WORK/dhcp.pcap
LEASES=$WORK/dnsmasq.leases
DNSMASQ_PID=""
RANGE_LO=10.0.0.50
RANGE_HI=10.0.0.59

# the kernel's side first, so that dnsmasq has its interface (tapir opens
# the TAP device as it is)
nsx ip tuntap add dev "$TAP" mode tap || fail "cannot create $TAP"
nsx ip addr add "$PEER_ADDR/24" dev "$TAP" || fail "cannot address $TAP"
nsx ip link set "$TAP" up || fail "cannot bring $TAP up"
: >"$LEASES"
: >"$WORK/hosts"
# -k: in the foreground; no DNS (port 0); no ICMP check before offering
# (tapir's ARP probe is the check)
dnsmasq_run() {
	exec timeout -k 5 120 ip netns exec "$NS" dnsmasq -k --conf-file=/dev/null --port=0 \
		--interface="$TAP" --bind-interfaces --dhcp-range="$RANGE_LO,$RANGE_HI,255.255.255.0,2m" \
		--dhcp-leasefile="$LEASES" --no-ping --dhcp-option=option:router,"$PEER_ADDR" \
		--dhcp-option=option:dns-server,"$PEER_ADDR" --dhcp-option=option:T1,5 --pid-file="$WORK/dnsmasq.pid" \
		--dhcp-hostsfile="$WORK/hosts" \
		--user=root --log-dhcp --log-facility="$WORK/dnsmasq.log" 2>"$WORK/dnsmasq.err"
}
# The server starts only once tapir has said that none answered (issue 14:
# after 10 s, and it keeps trying with its back-off).
(
	for ((i = 0; i < 200; i++)); do
		grep -q 'no DHCP server has answered in 10 s' "$WORK/host1.err" 2>/dev/null && break
		sleep 0.1
	done
	dnsmasq_run
) &
DNSMASQ_PID=$!

HOST_ADDR=dhcp
# DISCOVERs at 0, 4, 12 and 28 s (each +-1 s, RFC 2131 4.1), then up to
# 7 s of ARP probing (RFC 5227)
HOST_READY_TENTHS=450 host_start --pcap "$PCAP" --trace udp
[[ -s $WORK/dnsmasq.pid ]] || fail "dnsmasq did not start: $(cat "$WORK/dnsmasq.err")"
grep -q '^tapir: --addr dhcp: no DHCP server has answered in 10 s (selecting); still trying$' \
	"$HOST_ERR" || fail "no notice of the missing server on stderr"
LEASED=$(sed -n 's/^ready .* addr=\([0-9.]*\)\/24 .*/\1/p' "$HOST_OUT")
[[ -n $LEASED ]] || fail "no IPv4 addr= in: $(grep '^ready' "$HOST_OUT")"
log "leased $LEASED"
grep -q "^dhcp lease $LEASED/24 from $PEER_ADDR for 120 s router $PEER_ADDR dns $PEER_ADDR$" \
	"$HOST_OUT" || fail "no (right) dhcp lease line: $(grep '^dhcp' "$HOST_OUT")"
IFS=. read -r _ _ _ last <<<"$LEASED"
[[ $last -ge 50 && $last -le 59 ]] || fail "$LEASED is outside dnsmasq's range"

grep -qi " $HOST_MAC $LEASED " "$LEASES" || fail "dnsmasq's lease file lacks $LEASED for $HOST_MAC: $(cat "$LEASES")"

# A lease lost: dnsmasq now has another address for tapir's MAC, so it
# NAKs the renewal at T1 (RFC 2131 4.3.2); tapir drops the address at
# once, says so in one line, starts over and leases the new one
NEW=10.0.0.$((last == 59 ? 58 : 59))
echo "$HOST_MAC,$NEW" >"$WORK/hosts"
kill -HUP "$(cat "$WORK/dnsmasq.pid")" || fail "cannot make dnsmasq read its hosts file again"
host_counters bound
[[ $(ctr "$WORK/bound.ctr" dhcp_leases) -ge 1 ]] || fail "dhcp_leases is 0"
[[ -z $(drops_of "$WORK/bound.ctr" | grep dhcp) ]] || fail "DHCP drops: $(drops_of "$WORK/bound.ctr")"
for ((i = 0; i < 250; i++)); do
	grep -q "^address $NEW/24 added$" "$HOST_OUT" && break
	sleep 0.1
done
grep -q "DHCPNAK.* $LEASED $HOST_MAC" "$WORK/dnsmasq.log" ||
	fail "dnsmasq sent no DHCPNAK: $(grep DHCP "$WORK/dnsmasq.log" | tail -n 3)"
[[ $(grep -c "^address $LEASED/24 removed$" "$HOST_OUT") -eq 1 ]] ||
	fail "no single 'address $LEASED/24 removed' line after the NAK: $(grep '^address ' "$HOST_OUT")"
grep -q "^address $NEW/24 added$" "$HOST_OUT" ||
	fail "no 'address $NEW/24 added' line within 25 s: $(grep '^address ' "$HOST_OUT")"
log "NAKed at T1: 'address $LEASED/24 removed', then 'address $NEW/24 added'"
[[ $(grep -c "DHCPNAK" "$WORK/dnsmasq.log") -eq 1 ]] || fail "not one DHCPNAK: $(grep DHCPNAK "$WORK/dnsmasq.log")"
out=$(nsx ping -n -c 3 -i 0.2 -W 2 "$NEW") || true
grep -q '^3 packets transmitted, 3 received' <<<"$out" || fail "ping $NEW: $out"
log "ping $NEW: 3 of 3 answered"
grep -qi " $HOST_MAC $NEW " "$LEASES" || fail "dnsmasq's lease file lacks $NEW for $HOST_MAC: $(cat "$LEASES")"
log "lease file: $(cat "$LEASES")"

# RFC 2131 4.4.5: at T1 (dnsmasq's option 58: 5 s from the REQUEST, so
# at the latest just after the probe) tapir renews, unicast to the
# server, and keeps its address
for ((i = 0; i < 200; i++)); do
	[[ $(grep -c "DHCPACK.* $NEW $HOST_MAC" "$WORK/dnsmasq.log") -ge 2 ]] && break
	sleep 0.1
done
[[ $(grep -c "DHCPACK.* $NEW $HOST_MAC" "$WORK/dnsmasq.log") -ge 2 ]] ||
	fail "no renewal acknowledged by dnsmasq within 20 s: $(grep DHCP "$WORK/dnsmasq.log" | tail -n 3)"
[[ $(grep -c "^address " "$HOST_OUT") -eq 2 ]] ||
	fail "the renewal changed the address: $(grep '^address ' "$HOST_OUT")"
log "renewed at T1: dnsmasq acknowledged $NEW again"

# RFC 2131 4.4.6: SIGTERM gives the lease back
host_stop
for ((i = 0; i < 50; i++)); do
	grep -qi " $NEW " "$LEASES" || break
	sleep 0.1
done
grep -qi " $NEW " "$LEASES" && fail "dnsmasq still holds $NEW after tapir's exit: $(cat "$LEASES")"
log "lease file without $NEW after exit"
grep -q "DHCPRELEASE.*$NEW" "$WORK/dnsmasq.log" || fail "dnsmasq logged no DHCPRELEASE"
kill -TERM "$DNSMASQ_PID" 2>/dev/null
wait "$DNSMASQ_PID" 2>/dev/null

D="eth.src == $HOST_MAC && dhcp"
must_counts "$PCAP" \
	"DHCPDISCOVERs from 0.0.0.0, broadcast, retransmitted" \
	"$D && dhcp.option.dhcp == 1 && ip.src == 0.0.0.0 && ip.dst == 255.255.255.255 && dhcp.flags.bc == 1" -ge 3 \
	"DHCPREQUEST for the offer" \
	"$D && dhcp.option.dhcp == 3 && dhcp.option.requested_ip_address == $LEASED && dhcp.option.dhcp_server_id == $PEER_ADDR" -ge 1 \
	"ARP probes (RFC 5227 2.1.1)" \
	"eth.src == $HOST_MAC && arp.opcode == 1 && arp.src.proto_ipv4 == 0.0.0.0 && arp.dst.proto_ipv4 == $LEASED" -eq 3 \
	"DHCPREQUESTs renewing at T1, unicast to the server (RFC 2131 4.4.5)" \
	"$D && dhcp.option.dhcp == 3 && ip.src == $LEASED && ip.dst == $PEER_ADDR && dhcp.ip.client == $LEASED" -ge 1 \
	"DHCPRELEASE to the server" \
	"$D && dhcp.option.dhcp == 7 && ip.src == $NEW && ip.dst == $PEER_ADDR && dhcp.ip.client == $NEW" -eq 1 \
	"DHCP messages with malformed or bad parts" "$D && $PCAP_BAD" -eq 0
pcap_assert_clean "$PCAP" "$HOST_MAC"
pass
