#!/usr/bin/env bash
# tapir ping, many hosts at once: 200 addresses behind a target namespace,
# 150 alive (addresses of the target), 26 silent (a blackhole route there)
# and 24 unreachable (rejected there with ICMP host unreachable).
# Three tapir pings run at once - two on ping sockets (one as nobody), one
# on a raw socket that sees every process's replies - and each must credit
# every reply to exactly its own probe: alive hosts 0% loss, dead 100%, no
# duplicates, and a capture shows no more replies than were credited.
source "$(dirname "$0")/check_net.sh"
require_root setpriv nft "$PY"
cn_create
cn_addrs 10.201.1 1 100
cn_addrs 10.201.2 1 50
tx ip route add blackhole 10.201.1.0/24 || fail "blackhole route"
# the rest of 10.201.2.0/24 is forwarded, and rejected by nftables with ICMP
# host unreachable (an `unreachable` route would do, but its ICMP errors obey
# net.ipv4.route.error_cost, which is not per namespace: 5 at once at most)
tx ip route add 10.201.2.0/24 via "$CN_S_ADDR" || fail "route for the unreachable hosts"
tx nft -f - <<'NFT' || fail "nft rules"
table ip tapir_ping {
  chain reject_dead {
    type filter hook forward priority 0;
    ip daddr 10.201.2.0/24 reject with icmp type host-unreachable
  }
}
NFT
# ping sockets for every group in the scanner's namespace
sx sysctl -qw net.ipv4.ping_group_range="0 2147483647" || fail "ping_group_range"

HOSTS=(10.201.1.0/25) # .1-.126: 100 alive, 26 silent
for ((i = 1; i <= 74; i++)); do HOSTS+=("10.201.2.$i"); done # 50 alive, 24 unreachable
COUNT=3

# markers (IPv4 length 361, left out of the count below)
cn_capture "$NS_S" cs0 "$WORK/ping.pcap" icmp sx ping -c 1 -W 1 -s 333 10.201.1.1

PARGS=(-c "$COUNT" -i 200 -W 1000 --json)
cn_three_pings "" "${PARGS[@]}" "${HOSTS[@]}"
cn_capture_stop

for p in a b c; do
	"$PY" "$LIB_DIR/ping_results.py" "$WORK/$p.json" "$COUNT" 200 \
		alive=10.201.1.1-10.201.1.100,10.201.2.1-10.201.2.50 unreach=10.201.2.51-10.201.2.74 ||
		fail "tapir ping $p: wrong per-host results (above)"
	log "tapir ping $p: 150 alive hosts 0% loss, 50 dead 100% (24 unreachable reported), no duplicates"
done

# The capture: exactly 3 x 150 x COUNT echo replies came back, and the
# three processes together credited exactly that many.
n=$(pcap_count "$WORK/ping.pcap" "icmp.type == 0 && ip.dst == $CN_S_ADDR && ip.len != 361") || exit 1
[[ $n -eq $((3 * 150 * COUNT)) ]] || fail "the capture holds $n echo replies, not $((3 * 150 * COUNT))"
got=$(cat "$WORK"/[abc].json | "$PY" -c 'import json,sys; print(sum(json.loads(l)["received"] for l in sys.stdin))')
[[ $got -eq $n ]] || fail "the three processes credited $got replies; $n arrived"
log "capture: $n echo replies, $got credited in all, each once"

# text output, -q, and exit 0 when every host answers
out=$(NSX_TIMEOUT=20 sx "$TAPIR" ping -q -c 2 -i 50 10.201.1.1 10.201.1.2)
rc=$?
[[ $rc -eq 0 ]] || fail "two alive hosts: exit $rc"
grep -Eq '^10\.201\.1\.1 : xmt/rcv/%loss = 2/2/0%, min/avg/max/mdev = [0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+ ms$' <<<"$out" ||
	fail "summary line: $out"
[[ $(wc -l <<<"$out") -eq 2 ]] || fail "-q printed more than the summaries: $out"
out=$(NSX_TIMEOUT=20 sx "$TAPIR" ping -c 1 10.201.1.1)
grep -Eq '^10\.201\.1\.1 : \[0\], 64 bytes, [0-9.]+ ms$' <<<"$out" || fail "per-reply line: $out"
log "text output and exit status 0 are right"

for bad in "-c 0" "-s 70000" "-W x" "--frob" "10.201.1.0/40" "256.1.1.1"; do
	# shellcheck disable=SC2086
	NSX_TIMEOUT=10 sx "$TAPIR" ping $bad 10.201.1.1 >"$WORK/eout" 2>"$WORK/eerr"
	rc=$?
	[[ $rc -eq 2 && ! -s $WORK/eout && $(wc -l <"$WORK/eerr") -eq 1 ]] &&
		grep -q '^tapir: ' "$WORK/eerr" || fail "ping $bad: exit $rc, stderr $(cat "$WORK/eerr")"
done
log "user mistakes: one tapir: line, exit 2"
pass
