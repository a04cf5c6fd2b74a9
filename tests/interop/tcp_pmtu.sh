#!/usr/bin/env bash
# RFC 1191 against the kernel as a router: a second namespace (the client)
# sits behind the tapir namespace's kernel on a veth whose router side has
# MTU 1000.  The client's route says MTU 1000 but advertises MSS 1460, so
# tapir's echo answers in 1500-byte packets with DF set; the kernel drops
# them and sends fragmentation needed (next-hop MTU 1000).  Checks: 4 MiB
# echoed byte-exact (sha256), tapir believed the messages
# (icmp_needfrag_ok) and lowered its path MTU once (icmp_pmtu_updates 1),
# none was ignored as forged; reports how many timeouts it took (0 expected:
# the dropped segments go again at once, RFC 1191 6.4).
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
require_root sha256sum
BYTES=$((4 * 1048576))
CLIENT=10.1.0.2
ns_create
NS2="tapir-pmtu4-$$-$RANDOM"
ns_more "$NS2"
n2() { timeout -k 5 "${NSX_TIMEOUT:-30}" ip netns exec "$NS2" "$@"; }
n2 sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 ||
	fail "cannot disable IPv6 in $NS2"
n2 ip link set lo up || fail "cannot bring lo up in $NS2"
nsx ip link add r0 type veth peer name c0 netns "$NS2" || fail "cannot create the veth pair"
nsx ip addr add 10.1.0.1/24 dev r0 || fail "cannot address r0"
nsx ip link set r0 mtu 1000 up || fail "cannot bring r0 up at MTU 1000"
n2 ip addr add "$CLIENT/24" dev c0 || fail "cannot address c0"
n2 ip link set c0 up || fail "cannot bring c0 up"
# the client sends at most 1000-byte packets (r0 takes no more) but tells
# tapir MSS 1460
n2 ip route add default via 10.1.0.1 mtu lock 1000 advmss 1460 || fail "cannot add the client's route"
nsx sysctl -qw net.ipv4.ip_forward=1 net.ipv4.icmp_ratelimit=0 || fail "cannot make $NS a router"

head -c "$BYTES" /dev/urandom >"$WORK/pmtu.bin" || fail "cannot write $BYTES bytes in $WORK"
SHA=$(sha256sum "$WORK/pmtu.bin" | cut -d' ' -f1)
host_start --serve echo --gateway "$PEER_ADDR"
got=$(NSX_TIMEOUT=60 n2 "$PY" "$LIB_DIR/echo_sha.py" "$HOST_ADDR" 7 "$WORK/pmtu.bin" 50) ||
	fail "the echo client behind the 1000-byte hop failed: $got"
read -r n sum <<<"$got"
[[ $n -eq $BYTES ]] || fail "$n bytes echoed, not $BYTES"
[[ $sum == "$SHA" ]] || fail "sha256 $sum != $SHA"
host_stop
ok=$(ctr "$WORK/final.ctr" icmp_needfrag_ok)
upd=$(ctr "$WORK/final.ctr" icmp_pmtu_updates)
bad=$(ctr "$WORK/final.ctr" drop.icmp_too_big_bad)
rto=$(ctr "$WORK/final.ctr" tcp_timeouts)
log "4 MiB echoed through a 1000-byte hop, sha256 equal; fragmentation needed believed $ok, path MTU lowered $upd, ignored $bad, timeouts $rto"
((ok >= 1)) || fail "no fragmentation needed reached TCP (icmp_needfrag_ok 0)"
((upd == 1)) || fail "the path MTU was lowered $upd times, not once"
((bad == 0)) || fail "$bad of the kernel's messages were ignored as not in flight"
pass
