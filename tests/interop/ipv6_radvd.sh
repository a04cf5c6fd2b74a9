#!/usr/bin/env bash
# SLAAC and the default router (RFC 4862 5.5, RFC 4861 6.3.4) against a
# real router: radvd (the Debian package) on the kernel's side of the TAP,
# inside the test's namespace, advertises the prefix fd00:7::/64 (on-link,
# autonomous) with a router lifetime.  tapir host --addr slaac forms
# fd00:7:: plus its modified EUI-64 interface identifier (RFC 4291
# Appendix A), which passes DAD and answers the kernel's ping -6; and takes
# radvd's link-local address as its default router (RFC 4861 6.3.4): the
# kernel pings it from fd00:99::1, an address not on the link, and tapir's
# replies go to the router's MAC.  radvd's config, pid and log files are in
# the test's temporary directory; the namespace's cleanup ends it.
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
require_root ping radvd
NS_IPV6=1
ns_create
PCAP=$WORK/radvd.pcap
OFFLINK=fd00:99::1

host_start --pcap "$PCAP" --addr slaac --peer-addr fd00:7::1/64 --trace nd
WANT=$(slaac_addr fd00:7::)
log "expecting $WANT"

# a router forwards (radvd will not advertise a default route otherwise);
# the off-link address is the kernel's own, behind the "router"
nsx sysctl -qw net.ipv6.conf.all.forwarding=1 || fail "cannot enable forwarding in $NS"
nsx ip -6 addr add "$OFFLINK/128" dev lo || fail "cannot add $OFFLINK"
KMAC=$(nsx cat "/sys/class/net/$TAP/address") || fail "no MAC for $TAP"
# radvd advertises from the TAP's link-local address: wait for it to pass DAD
for ((i = 0; i < 50; i++)); do
	KLL=$(nsx ip -6 -o addr show dev "$TAP" scope link | awk '!/tentative/ { sub(/\/.*/, "", $4); print $4; exit }')
	[[ -n $KLL ]] && break
	sleep 0.1
done
[[ -n $KLL ]] || fail "$TAP has no link-local address within 5 s"

cat >"$WORK/radvd.conf" <<EOF
interface $TAP {
	AdvSendAdvert on;
	MinRtrAdvInterval 3;
	MaxRtrAdvInterval 4;
	AdvDefaultLifetime 600;
	prefix fd00:7::/64 {
		AdvOnLink on;
		AdvAutonomous on;
		AdvValidLifetime 600;
		AdvPreferredLifetime 300;
	};
};
EOF
# -n: in the foreground, so that the namespace's cleanup finds it
radvd_run() {
	exec timeout -k 5 120 ip netns exec "$NS" radvd -n -C "$WORK/radvd.conf" \
		-p "$WORK/radvd.pid" -m logfile -l "$WORK/radvd.log" -d 1 2>"$WORK/radvd.err"
}
radvd_run &
RADVD=$!

for ((i = 0; i < 200; i++)); do
	grep -q "^address $WANT/64 added$" "$HOST_OUT" && break
	kill -0 "$RADVD" 2>/dev/null || fail "radvd exited: $(cat "$WORK/radvd.err" "$WORK/radvd.log" 2>/dev/null | tail -5)"
	sleep 0.1
done
slaac_formed "$WANT"
grep -Eq "rx RA from $KLL lifetime [1-9]" "$HOST_OUT" ||
	fail "no RA from $KLL with a router lifetime: $(grep 'rx RA' "$HOST_OUT" | tail -3)"
log "SLAAC from radvd: $WANT; router $KLL"

out=$(nsx ping -6 -n -c 5 -i 0.2 -W 2 "$WANT") || true
grep -q '^5 packets transmitted, 5 received' <<<"$out" || fail "ping -6 $WANT: $out"
log "ping -6 $WANT: 5 of 5 answered"
# off-link: tapir answers through its default router, radvd's
out=$(nsx ping -6 -n -c 5 -i 0.2 -W 2 -I "$OFFLINK" "$WANT") || true
grep -q '^5 packets transmitted, 5 received' <<<"$out" ||
	fail "ping -6 -I $OFFLINK $WANT (replies via the default router): $out"
log "ping -6 from $OFFLINK (off-link): 5 of 5 answered through the default router"
host_stop
kill -TERM "$RADVD" 2>/dev/null
wait "$RADVD" 2>/dev/null

must_counts "$PCAP" \
	"radvd's RAs with fd00:7::/64 and a router lifetime" \
	"eth.src == $KMAC && icmpv6.type == 134 && ipv6.src == $KLL && icmpv6.nd.ra.router_lifetime > 0 && icmpv6.opt.prefix == fd00:7::" -ge 1 \
	"DAD for the SLAAC address" \
	"eth.src == $HOST_MAC && ipv6.src == :: && icmpv6.nd.ns.target_address == $WANT" -eq 1 \
	"echo replies to $OFFLINK, to the router's MAC" \
	"eth.src == $HOST_MAC && eth.dst == $KMAC && icmpv6.type == 129 && ipv6.src == $WANT && ipv6.dst == $OFFLINK" -eq 5
# tapir's router solicitations: none when radvd's unsolicited RA came
# within the first one's random delay (RFC 4861 6.3.7: a host stops
# soliciting once it has an RA), so only reported
log "router solicitations from tapir: $(pcap_counts "$PCAP" "eth.src == $HOST_MAC && icmpv6.type == 133 && ipv6.dst == ff02::2")"
pcap_assert_clean "$PCAP" "$HOST_MAC"
pass
