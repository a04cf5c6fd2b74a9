#!/usr/bin/env bash
# SLAAC (RFC 4862 5.5) against the kernel: tapir host --addr slaac solicits
# routers once its link-local address passed DAD (RFC 4861 6.3.7); a router
# advertisement (scapy, from the kernel's side of the TAP) with the
# autonomous prefix fd00:5::/64 gives tapir fd00:5:: plus its modified
# EUI-64 interface identifier (RFC 4291 Appendix A), which passes DAD and
# answers the kernel's ping -6.  A second prefix valid for 3 s gives an
# address that expires: one 'address ... removed' line.  Then the kernel
# takes the first address too (RFC 4862 5.4.4, a duplicate after DAD):
# tapir defends it once and gives it up at the second claim, one 'address
# ... duplicate' line.  (ipv6_radvd.sh does the same with radvd as the
# router, and its default route; this one needs only scapy.)
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
require_root ping
"$PY" -c 'import scapy.all' 2>/dev/null || fail "$PY has no scapy"
NS_IPV6=1
ns_create
PCAP=$WORK/slaac.pcap
host_start --pcap "$PCAP" --addr slaac --peer-addr fd00:5::1/64 --trace nd
WANT=$(slaac_addr fd00:5::)
log "expecting $WANT"

for ((i = 0; i < 60; i++)); do
	grep -q 'nd .*tx RS' "$HOST_OUT" && break
	sleep 0.1
done
grep -q 'nd .*tx RS' "$HOST_OUT" || fail "tapir sent no router solicitation within 6 s"

log "a router advertisement for fd00:5::/64 (on-link, autonomous)"
NSX_TIMEOUT=30 nsx "$PY" - "$TAP" <<'PYEOF' || fail "cannot send the RA"
import sys
from scapy.all import (Ether, IPv6, ICMPv6ND_RA, ICMPv6NDOptPrefixInfo,
                       ICMPv6NDOptSrcLLAddr, sendp, get_if_hwaddr)
iface = sys.argv[1]
mac = get_if_hwaddr(iface)
ra = (Ether(src=mac, dst="33:33:00:00:00:01") /
      IPv6(src="fe80::99", dst="ff02::1", hlim=255) /
      ICMPv6ND_RA(routerlifetime=0) / ICMPv6NDOptSrcLLAddr(lladdr=mac) /
      ICMPv6NDOptPrefixInfo(prefix="fd00:5::", prefixlen=64, L=1, A=1,
                            validlifetime=600, preferredlifetime=300))
sendp(ra, iface=iface, verbose=False)
PYEOF
for ((i = 0; i < 50; i++)); do
	grep -q "^address $WANT/64 added$" "$HOST_OUT" && break
	sleep 0.1
done
slaac_formed "$WANT"

out=$(nsx ping -6 -n -c 5 -i 0.2 -W 2 "$WANT") || true
grep -q '^5 packets transmitted, 5 received' <<<"$out" || fail "ping -6 $WANT: $out"
log "ping -6 $WANT: 5 of 5 answered"

# an address lost later prints one line: a second prefix with a valid
# lifetime of 3 s (a new address takes it as given, RFC 4862 5.5.3 (d);
# only an existing one is held to (e)'s two hours) is formed, then
# expires (5.5.4) and the host says "removed"
SHORT=$(slaac_addr fd00:6::)
log "a router advertisement for fd00:6::/64 valid 3 s: $SHORT comes and goes"
NSX_TIMEOUT=30 nsx "$PY" - "$TAP" <<'PYEOF' || fail "cannot send the second RA"
import sys
from scapy.all import (Ether, IPv6, ICMPv6ND_RA, ICMPv6NDOptPrefixInfo,
                       ICMPv6NDOptSrcLLAddr, sendp, get_if_hwaddr)
iface = sys.argv[1]
mac = get_if_hwaddr(iface)
sendp(Ether(src=mac, dst="33:33:00:00:00:01") /
      IPv6(src="fe80::99", dst="ff02::1", hlim=255) /
      ICMPv6ND_RA(routerlifetime=0) / ICMPv6NDOptSrcLLAddr(lladdr=mac) /
      ICMPv6NDOptPrefixInfo(prefix="fd00:6::", prefixlen=64, L=1, A=1,
                            validlifetime=3, preferredlifetime=2), iface=iface, verbose=False)
PYEOF
for ((i = 0; i < 150; i++)); do
	grep -q "^address $SHORT/64 removed$" "$HOST_OUT" && break
	sleep 0.1
done
grep -q "^address $SHORT/64 added$" "$HOST_OUT" || fail "no 'address $SHORT/64 added' line"
[[ $(grep -c "^address $SHORT/64 removed$" "$HOST_OUT") -eq 1 ]] ||
	fail "no single 'address $SHORT/64 removed' line after its valid lifetime: $(grep '^address' "$HOST_OUT")"
grep -q "^address $WANT/64 removed$" "$HOST_OUT" && fail "$WANT (valid 600 s) was removed too"
log "$SHORT: one 'added' line, then one 'removed' line when its 3 s ran out"

# a duplicate found after assignment (RFC 4862 5.4.4): the kernel takes
# $WANT too, without DAD and with ndisc_notify, so that it advertises it
# at once (Override set); tapir defends it once (its own advertisement),
# and when the kernel claims it again within 10 s (RFC 5227 2.4 (b)'s
# DEFEND_INTERVAL, which tapir keeps for IPv6) gives it up: one line
defended() { grep -c "nd .*tx NA $WANT is-at .* to ff02::1" "$HOST_OUT"; }
nsx sysctl -qw "net.ipv6.conf.$TAP.accept_dad=0" "net.ipv6.conf.$TAP.ndisc_notify=1" ||
	fail "cannot turn the kernel's DAD off on $TAP"
n0=$(defended)
nsx ip addr add "$WANT/128" dev "$TAP" || fail "the kernel cannot take $WANT"
for ((i = 0; i < 50; i++)); do
	[[ $(defended) -gt $n0 ]] && break
	sleep 0.1
done
[[ $(defended) -gt $n0 ]] || fail "tapir did not defend $WANT: $(grep "NA $WANT" "$HOST_OUT")"
grep -q "^address $WANT/64 duplicate$" "$HOST_OUT" && fail "$WANT given up at the first claim"
nsx ip addr del "$WANT/128" dev "$TAP"
nsx ip addr add "$WANT/128" dev "$TAP" || fail "the kernel cannot take $WANT again"
for ((i = 0; i < 50; i++)); do
	grep -q "^address $WANT/64 duplicate$" "$HOST_OUT" && break
	sleep 0.1
done
[[ $(grep -c "^address $WANT/64 duplicate$" "$HOST_OUT") -eq 1 ]] ||
	fail "no single 'address $WANT/64 duplicate' line: $(grep '^address' "$HOST_OUT")"
log "$WANT claimed by the kernel: defended once, then one 'duplicate' line"
host_counters after
[[ $(ctr "$WORK/after.ctr" nd_ra_rx) -eq 2 ]] || fail "tapir counted $(ctr "$WORK/after.ctr" nd_ra_rx) RAs, not 2"
[[ $(ctr "$WORK/after.ctr" nd_conflicts) -eq 2 ]] || fail "nd_conflicts $(ctr "$WORK/after.ctr" nd_conflicts), not 2"
host_stop
must_count "router solicitations from tapir" "$PCAP" \
	"eth.src == $HOST_MAC && icmpv6.type == 133 && ipv6.dst == ff02::2 && icmpv6.opt.linkaddr == $HOST_MAC" -ge 1
must_count "DAD for the SLAAC address" "$PCAP" \
	"eth.src == $HOST_MAC && ipv6.src == :: && icmpv6.nd.ns.target_address == $WANT" -eq 1
pcap_assert_clean "$PCAP" "$HOST_MAC"
pass
