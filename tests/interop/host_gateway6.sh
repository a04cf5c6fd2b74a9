#!/usr/bin/env bash
# tapir host --gateway with an IPv6 router (RFC 4861 6.3.4: a default
# router configured by hand): tapir fd00:31::2/64 on the TAP; the kernel's
# side has fd00:31::1/64 and fe80::1/64 there, and fd00:32::2 on its lo:
# off-link for tapir, reached only through the kernel as its router.
#   - --gateway fd00:31::1 (a global address on tapir's prefix): an echo
#     from fd00:32::2 comes back, and tapir counts no packet without a route;
#   - --gateway fe80::1 (link-local): the same;
#   - no --gateway: the same echo gets nothing back (tapir has no route:
#     ip6_no_route counted);
#   - mistakes: a gateway off every IPv6 --addr prefix, an IPv6 gateway
#     without an IPv6 --addr, a malformed one: one tapir: line, exit 2.
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
require_root nc
NS_IPV6=1
ns_create
A6=fd00:31::2 R6=fd00:31::1 RLL=fe80::1 FAR=fd00:32::2
# the TAP made beforehand (persistent), so the kernel's addresses on it are
# there before tapir starts and stay across its runs
nsx ip tuntap add dev "$TAP" mode tap || fail "cannot create $TAP"
nsx ip link set "$TAP" up || fail "cannot bring $TAP up"
for a in "$R6/64" "$RLL/64"; do
	nsx ip addr add "$a" dev "$TAP" nodad || fail "cannot add $a to $TAP"
done
nsx ip addr add "$FAR/128" dev lo nodad || fail "cannot add $FAR to lo"

# echo_far: one line to tapir's echo from the off-link address; prints
# what came back (nothing when tapir cannot answer)
echo_far() {
	echo "from afar" | nsx nc -6 -N -w 3 -s "$FAR" "$A6" 7 2>/dev/null
}

for gw in "$R6" "$RLL"; do
	host_start --addr "$A6/64" --gateway "$gw" --serve echo
	out=$(echo_far)
	[[ $out == "from afar" ]] || fail "--gateway $gw: echo from $FAR got '$out'"
	host_stop
	[[ $(ctr "$WORK/final.ctr" ip6_no_route) -eq 0 ]] ||
		fail "--gateway $gw: ip6_no_route $(ctr "$WORK/final.ctr" ip6_no_route)"
	log "--gateway $gw: tapir answers $FAR (off-link) through the kernel"
done

host_start --addr "$A6/64" --serve echo
out=$(echo_far)
[[ -z $out ]] || fail "no --gateway: echo from $FAR got '$out' (tapir has no route there)"
host_stop
[[ $(ctr "$WORK/final.ctr" ip6_no_route) -ge 1 ]] || fail "no --gateway: no ip6_no_route counted"
log "no --gateway: no answer to $FAR, ip6_no_route $(ctr "$WORK/final.ctr" ip6_no_route)"

# expect_error WHAT PATTERN ARGS...: tapir host ARGS exits 2 with one
# tapir: line matching PATTERN
expect_error() {
	local what=$1 pat=$2 rc err
	shift 2
	NSX_TIMEOUT=10 nsx "$TAPIR" host --tap tp9 --addr 10.9.0.2/24 "$@" >"$WORK/out" 2>"$WORK/err"
	rc=$?
	err=$(cat "$WORK/err")
	[[ $rc -eq 2 && ! -s $WORK/out && $(wc -l <"$WORK/err") -eq 1 && $err == tapir:* ]] ||
		fail "$what: exit $rc, stdout '$(cat "$WORK/out")', stderr '$err'"
	grep -Eq -- "$pat" <<<"$err" || fail "$what: message does not match /$pat/: $err"
	log "$what -> $err"
}
expect_error "a gateway off the prefix" "neither link-local nor on the prefix" \
	--addr fd00:31::2/64 --gateway fd00:99::1
expect_error "an IPv6 gateway without an IPv6 --addr" "needs an IPv6 --addr" --gateway fe80::1
expect_error "a malformed gateway" "not a unicast IPv6 address" --addr fd00:31::2/64 --gateway fd00::zz
expect_error "a multicast gateway" "not a unicast IPv6 address" --addr fd00:31::2/64 --gateway ff02::2
pass
