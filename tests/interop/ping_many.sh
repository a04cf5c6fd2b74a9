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

timeout -k 5 60 ip netns exec "$NS_S" tshark -n -q -i cs0 -w "$WORK/ping.pcap" -f icmp \
	2>"$WORK/tshark.err" &
TS=$!
# tshark says "Capturing on" before it captures: send marker pings (IPv4
# length 361, left out of the count below) until one is in the file, which
# dumpcap writes in blocks: then the capture is surely on
for ((i = 0; i < 100; i++)); do
	[[ -s $WORK/ping.pcap ]] && break
	sleep 0.1
done
s0=$(stat -c %s "$WORK/ping.pcap" 2>/dev/null) || fail "tshark did not start"
for ((i = 0; i < 100; i++)); do
	sx ping -c 1 -W 1 -s 333 10.201.1.1 >/dev/null 2>&1
	[[ $(stat -c %s "$WORK/ping.pcap") -gt $s0 ]] && break
	sleep 0.1
done
[[ $i -lt 100 ]] || fail "the capture did not start"

PARGS=(-c "$COUNT" -i 200 -W 1000 --json)
NSX_TIMEOUT=60 sx setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$TAPIR" ping "${PARGS[@]}" "${HOSTS[@]}" >"$WORK/a.json" 2>"$WORK/a.err" &
A=$!
NSX_TIMEOUT=60 sx "$TAPIR" ping "${PARGS[@]}" "${HOSTS[@]}" >"$WORK/b.json" 2>"$WORK/b.err" &
B=$!
NSX_TIMEOUT=60 sx "$TAPIR" ping --raw "${PARGS[@]}" "${HOSTS[@]}" >"$WORK/c.json" 2>"$WORK/c.err" &
C=$!
for p in A B C; do
	wait "${!p}"
	rc=$?
	[[ $rc -eq 1 ]] || fail "tapir ping $p: exit $rc, not 1 (some hosts dead): $(cat "$WORK/${p,,}.err")"
done
sleep 0.5
kill -INT "$TS"
wait "$TS"

for p in a b c; do
	"$PY" - "$WORK/$p.json" "$COUNT" <<'PYEOF' || fail "tapir ping $p: wrong per-host results (above)"
import ipaddress, json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
count = int(sys.argv[2])
by = {r["host"]: r for r in rows}
assert len(rows) == 200 and len(by) == 200, f"{len(rows)} rows"
bad = []
for r in rows:
    a = ipaddress.ip_address(r["host"])
    o = a.packed
    alive = (o[2] == 1 and o[3] <= 100) or (o[2] == 2 and o[3] <= 50)
    unreach = o[2] == 2 and o[3] > 50
    want_rcv = count if alive else 0
    if r["sent"] != count or r["received"] != want_rcv or r["duplicates"] != 0:
        bad.append(r)
    elif r["loss_pct"] != (0 if alive else 100):
        bad.append(r)
    elif alive and not (0 <= r["rtt_min_ms"] <= r["rtt_avg_ms"] <= r["rtt_max_ms"]):
        bad.append(r)
    elif unreach and r["unreachable"] < 1:
        bad.append(r)
    elif not alive and r["rtt_avg_ms"] is not None:
        bad.append(r)
for r in bad[:10]:
    print("bad:", r, file=sys.stderr)
sys.exit(1 if bad else 0)
PYEOF
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
