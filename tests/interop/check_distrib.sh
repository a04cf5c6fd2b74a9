#!/usr/bin/env bash
# A scan split over shards run at once, merged (docs/check-and-ping.md, "A
# scan over many machines"), in a namespace pair (check_net.sh): 64 target
# addresses x 1024 ports, some open, the rest closed (no drops: no retries).
#
#  - deploy/parallel/check-shards.sh runs 4 shards at once under GNU
#    parallel (the recipe's local form), nmap XML per shard; merged by
#    deploy/merge.py, ndiff finds no difference from the single run's XML
#  - a capture of the shards' SYNs: every (address, port) exactly once,
#    none twice, none missing
#  - the same with FORMAT=json: the merged lines are the single run's
#    (round-trip times aside); merge.py refuses two shards' copies of a port
source "$(dirname "$0")/check_net.sh"
require_root parallel ndiff tshark "$PY"
cn_create

P=10.201.7 # P.1-P.64 on the target's lo, routed through it
cn_addrs "$P" 1 64
cn_listen 0.0.0.0:22 0.0.0.0:80 0.0.0.0:443 0.0.0.0:1000
TARGETS=()
for ((i = 1; i <= 64; i++)); do TARGETS+=("$P.$i:1-1024"); done
N=$((64 * 1024))
SEED=2026
RATE=8000
SHARDS="$(cd "$LIB_DIR/../.." && pwd)/deploy/parallel/check-shards.sh"
MERGE="$(cd "$LIB_DIR/../.." && pwd)/deploy/merge.py"

cn_run_check single -- --mode syn --rate "$RATE" --seed "$SEED" -oX "$WORK/single.xml" --json "${TARGETS[@]}"
[[ $(wc -l <"$WORK/single.out") -eq $N ]] || fail "single: $(wc -l <"$WORK/single.out") lines, not $N"
[[ $(grep -c '"open"' "$WORK/single.out") -eq $((64 * 4)) ]] || fail "single: not 256 open ports"
log "single run: $N ports, $(grep -c '"open"' "$WORK/single.out") open"

cn_capture "$NS_T" ct0 "$WORK/shards.pcap" "(tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn) or (udp and dst port 9)" \
	tx bash -c "echo mark >/dev/udp/$CN_S_ADDR/9"
log "4 shards at once: check-shards.sh 4 $SEED (GNU parallel)"
NSX_TIMEOUT=120 sx env TAPIR="$TAPIR" "$SHARDS" 4 "$SEED" "$WORK/x" --mode syn --rate $((RATE / 4)) \
	"${TARGETS[@]}" 2>"$WORK/x.err" || fail "check-shards.sh: $(tail -n 3 "$WORK/x.err")"
cn_capture_stop
for i in 1 2 3 4; do
	[[ -s $WORK/x/shard-$i.xml ]] || fail "no XML from shard $i ($(cat "$WORK/x/shard-$i.xml.err"))"
done
ndiff "$WORK/single.xml" "$WORK/x/scan.xml" >"$WORK/ndiff.out"
rc=$?
[[ $rc -eq 0 ]] || { head -n 20 "$WORK/ndiff.out" >&2; fail "ndiff single vs merged shards: exit $rc"; }
log "merged XML of the 4 shards: ndiff finds no difference from the single run"

tshark -n -r "$WORK/shards.pcap" -Y "tcp" -T fields -e ip.dst -e tcp.dstport 2>/dev/null |
	sort | uniq -c | awk '{print $1}' | sort | uniq -c >"$WORK/syns"
[[ $(cat "$WORK/syns" | tr -s ' ') == " $N 1" ]] ||
	fail "SYNs per (address, port) over the 4 shards, as 'count times': $(cat "$WORK/syns") (want $N ports once)"
log "capture: $N SYNs, each (address, port) exactly once"

NSX_TIMEOUT=120 sx env TAPIR="$TAPIR" FORMAT=json "$SHARDS" 4 "$SEED" "$WORK/j" --mode syn \
	--rate $((RATE / 4)) "${TARGETS[@]}" 2>"$WORK/j.err" || fail "check-shards.sh json: $(tail -n 3 "$WORK/j.err")"
norm() { "$PY" -c 'import json,sys
for l in sys.stdin: r=json.loads(l); print(r["host"], r["port"], r["state"])'; }
diff <(norm <"$WORK/single.out") <(norm <"$WORK/j/scan.jsonl") >/dev/null ||
	fail "merged JSON shards differ from the single run"
log "merged JSON of the 4 shards: the single run's lines"
if "$PY" "$MERGE" "$WORK/j/shard-1.jsonl" "$WORK/j/shard-1.jsonl" >/dev/null 2>"$WORK/dup.err"; then
	fail "merge.py took the same shard twice"
fi
grep -q "two shards probed it" "$WORK/dup.err" || fail "merge.py: $(cat "$WORK/dup.err")"
log "merge.py refuses a port twice: $(cat "$WORK/dup.err")"
log "PASS"
