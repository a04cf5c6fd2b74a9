#!/usr/bin/env bash
# tapir ping over IPv6 (ICMPv6 echo, RFC 4443 4.1/4.2), mixed with IPv4:
# behind a target namespace, 100 IPv6 addresses: 92 alive (on its lo), 4
# silent (a blackhole route there) and 4 rejected with ICMPv6 address
# unreachable (nftables, in its forward path), plus 5 IPv4 addresses alive.
# Three tapir pings at once - one on ping sockets as nobody, two on raw
# sockets that see the others' replies too - must each credit every reply to exactly its own
# probe: alive 0% loss, dead 100% (the rejected ones reported unreachable,
# from the target), no duplicates; a capture shows no more replies than
# were credited.
CN_IPV6=1
source "$(dirname "$0")/check_net.sh"
require_root setpriv nft "$PY"
cn_create
cn_addrs 10.201.1 1 5
N6=92 # alive IPv6 addresses: with 4 silent and 4 unreachable, 100 IPv6 targets
for ((i = 1; i <= N6; i++)); do
	printf 'address add fd00:201:1::%x/128 dev lo\n' "$i"
done | tx ip -batch - || fail "IPv6 addresses on the target's lo"
tx ip -6 route add blackhole fd00:201:1:1::/64 || fail "blackhole route"
# fd00:201:2::/64 is forwarded back towards the scanner, and rejected on
# the way by nftables with ICMPv6 address unreachable (RFC 4443 3.1 code 3)
tx ip -6 route add fd00:201:2::/64 via "$CN_S_ADDR6" || fail "route for the unreachable hosts"
tx nft -f - <<'NFT' || fail "nft rules"
table ip6 tapir_ping6 {
  chain reject_dead {
    type filter hook forward priority 0;
    ip6 daddr fd00:201:2::/64 reject with icmpv6 type addr-unreachable
  }
}
NFT
# ping sockets for every group in the scanner's namespace (both families)
sx sysctl -qw net.ipv4.ping_group_range="0 2147483647" || fail "ping_group_range"

HOSTS=(10.201.1.1 10.201.1.2 10.201.1.3 10.201.1.4 10.201.1.5)
for ((i = 1; i <= N6; i++)); do HOSTS+=("$(printf 'fd00:201:1::%x' "$i")"); done
for ((i = 1; i <= 4; i++)); do HOSTS+=("fd00:201:1:1::$i" "fd00:201:2::$i"); done
COUNT=3

# markers (ICMPv6 echo of 333 bytes, left out of the count below)
cn_capture "$NS_S" cs0 "$WORK/ping.pcap" "icmp6 or icmp" sx ping -6 -c 1 -W 1 -s 333 fd00:201:1::1

PARGS=(-c "$COUNT" -i 200 -W 1000 --json)
cn_three_pings --raw "${PARGS[@]}" "${HOSTS[@]}"
cn_capture_stop

for p in a b c; do
	"$PY" "$LIB_DIR/ping_results.py" "$WORK/$p.json" "$COUNT" $((5 + N6 + 8)) \
		alive=10.201.1.1-10.201.1.5,fd00:201:1::/64 unreach=fd00:201:2::/64 ||
		fail "tapir ping $p: wrong per-host results (above)"
	log "tapir ping $p: $((5 + N6)) alive hosts (5 IPv4, $N6 IPv6) 0% loss, 8 dead 100% (4 unreachable reported), no duplicates"
done

# The capture: exactly 3 x N6 x COUNT ICMPv6 echo replies came back (and
# 3 x 5 x COUNT IPv4 ones), and the three processes together credited them all.
n6=$(pcap_count "$WORK/ping.pcap" "icmpv6.type == 129 && ipv6.dst == $CN_S_ADDR6 && ipv6.plen != 341") || exit 1
n4=$(pcap_count "$WORK/ping.pcap" "icmp.type == 0 && ip.dst == $CN_S_ADDR") || exit 1
[[ $n6 -eq $((3 * N6 * COUNT)) && $n4 -eq $((3 * 5 * COUNT)) ]] ||
	fail "the capture holds $n6 ICMPv6 and $n4 ICMP echo replies, not $((3 * N6 * COUNT)) and $((3 * 5 * COUNT))"
got=$(cat "$WORK"/[abc].json | "$PY" -c 'import json,sys; print(sum(json.loads(l)["received"] for l in sys.stdin))')
[[ $got -eq $((n6 + n4)) ]] || fail "the three processes credited $got replies; $((n6 + n4)) arrived"
n=$(pcap_count "$WORK/ping.pcap" "icmpv6.type == 1 && icmpv6.code == 3") || exit 1
[[ $n -eq $((3 * 4 * COUNT)) ]] || fail "$n ICMPv6 address unreachables, not $((3 * 4 * COUNT))"
log "capture: $n6 + $n4 echo replies, $got credited in all, each once; $n address unreachables"

# text output: per-reply lines, an ICMPv6 error credited to its host and
# probe, the summaries; and exit 0 when every host answers
out=$(NSX_TIMEOUT=20 sx "$TAPIR" ping -c 1 fd00:201:1::1 fd00:201:2::1 10.201.1.1)
rc=$?
[[ $rc -eq 1 ]] || fail "one host unreachable: exit $rc"
grep -Eq '^fd00:201:1::1 : \[0\], 64 bytes, [0-9.]+ ms$' <<<"$out" || fail "per-reply line: $out"
grep -Fxq "fd00:201:2::1 : [0], ICMPv6 Address Unreachable from $CN_T_ADDR6" <<<"$out" ||
	fail "unreachable line: $out"
grep -Eq '^fd00:201:2::1 : xmt/rcv/%loss = 1/0/100%, 1 unreachable$' <<<"$out" || fail "summary of the unreachable host: $out"
grep -Eq '^10\.201\.1\.1 : xmt/rcv/%loss = 1/1/0%, min/avg/max/mdev = [0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+ ms$' <<<"$out" ||
	fail "IPv4 summary in a mixed run: $out"
out=$(NSX_TIMEOUT=20 sx "$TAPIR" ping -q -c 2 -i 50 '[fd00:201:1::4]' fd00:201:1::2/127)
rc=$?
[[ $rc -eq 0 ]] || fail "three alive hosts: exit $rc ($out)"
[[ $(wc -l <<<"$out") -eq 3 ]] || fail "-q printed more than the summaries: $out"
grep -Eq '^fd00:201:1::2 : xmt/rcv/%loss = 2/2/0%, min/avg/max/mdev = [0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+ ms$' <<<"$out" ||
	fail "summary line: $out"
log "text output, an ICMPv6 error's line, a mixed run and exit status 0 are right"

for bad in "fd00:201:1::/64" "fd00:201:1::1/129" "[fd00:201:1::1" "fd00:201:1:::1"; do
	NSX_TIMEOUT=10 sx "$TAPIR" ping "$bad" >"$WORK/eout" 2>"$WORK/eerr"
	rc=$?
	[[ $rc -eq 2 && ! -s $WORK/eout && $(wc -l <"$WORK/eerr") -eq 1 ]] &&
		grep -q '^tapir: ' "$WORK/eerr" || fail "ping $bad: exit $rc, stderr $(cat "$WORK/eerr")"
	log "ping $bad -> $(cat "$WORK/eerr")"
done
pass
