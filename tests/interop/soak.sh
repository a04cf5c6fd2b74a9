#!/usr/bin/env bash
# Soak: bulk data both ways between tapir and the Linux kernel over a bad
# link -- tapir's userspace netem (docs/hacking.md), both directions:
#   SOAK_NETEM (default 'loss=0.05,reorder=0.05,dup=0.01,corrupt=0.001,delay=5±2')
# and every byte checked by sha256:
#   tapir -> kernel  curl downloads SOAK_BYTES from `--serve http=DIR`;
#   kernel -> tapir  a python client streams SOAK_BYTES into tapir's echo
#                    service while reading the echo back: the echo's sha256
#                    equals the sent one only if tapir received every byte
#                    right (and sent it back right).
# SOAK_BYTES defaults to 4 MiB (the short form in `make test`); `make soak`
# runs 1 GiB each way.  Reports time, throughput, tapir's retransmission
# counters and the kernel's (nstat), and the host's RSS.  Corrupted frames
# must be caught by checksums (RFC 9293 3.1, RFC 791) and never delivered.
# shellcheck source=tests/interop/pers_lib.sh
source "$(dirname "$0")/pers_lib.sh"
require_root curl sha256sum
BYTES=${SOAK_BYTES:-$((4 * 1048576))}
NETEM=${SOAK_NETEM:-'loss=0.05,reorder=0.05,dup=0.01,corrupt=0.001,delay=5±2'}
SEED=${SOAK_SEED:-1}
# bounds, not expectations: generous enough for the slowest build
LIMIT=${SOAK_LIMIT:-$((300 + BYTES / 50000))}
ns_create
WWW=$WORK/www
mkdir -p "$WWW"
head -c "$BYTES" /dev/urandom >"$WWW/soak.bin" || fail "cannot write $BYTES bytes in $WORK"
SHA=$(sha256sum "$WWW/soak.bin" | cut -d' ' -f1)
HOST_GUARD=$((2 * LIMIT + 120)) pers_host_start --serve "echo,discard,http=$WWW" \
	--personality "$NETEM,seed=$SEED"
log "link: $NETEM, seed $SEED; $BYTES bytes each way"
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$HOST_PID/status"; }
RSS0=$(rss)
nsx nstat -n >/dev/null 2>&1 # reset the kernel's counter history

# Each direction is a function that writes one result line to a file; they
# run one after the other, or at once with SOAK_PARALLEL=1 (what `make soak`
# does: through this link each direction is bounded by loss recovery, not by
# CPU, so together they take the time of the slower one).
PARALLEL=${SOAK_PARALLEL:-0}

# tapir -> kernel: curl downloads the file from tapir's HTTP service
soak_down() {
	local t0 t1 out got
	t0=$(date +%s.%N)
	out=$(NSX_TIMEOUT=$LIMIT nsx curl -sS --max-time "$LIMIT" -o "$WORK/down.bin" \
		-w '%{http_code} %{size_download}' "http://$HOST_ADDR/soak.bin") ||
		{ echo "FAIL curl failed: $out"; return; }
	t1=$(date +%s.%N)
	[[ $out == "200 $BYTES" ]] || { echo "FAIL download: '$out', not '200 $BYTES'"; return; }
	got=$(sha256sum "$WORK/down.bin" | cut -d' ' -f1)
	rm -f "$WORK/down.bin"
	[[ $got == "$SHA" ]] || { echo "FAIL tapir -> kernel: sha256 $got != $SHA"; return; }
	echo "ok tapir -> kernel: $BYTES bytes, sha256 equal, $(awk -v a="$t0" -v b="$t1" -v n="$BYTES" \
		'BEGIN { printf "%.1f s, %.2f MB/s", b - a, n / (b - a) / 1e6 }')"
}

# kernel -> tapir (and back: the echo): a client streams the file into
# tapir's echo service while reading the echo back
soak_up() {
	local t0 t1 got n sum
	t0=$(date +%s.%N)
	got=$(NSX_TIMEOUT=$LIMIT nsx "$PY" "$LIB_DIR/echo_sha.py" "$HOST_ADDR" 7 "$WWW/soak.bin" "$LIMIT") || { echo "FAIL the echo client failed: $got"; return; }
	t1=$(date +%s.%N)
	read -r n sum <<<"$got"
	[[ $n -eq $BYTES ]] || { echo "FAIL kernel -> tapir -> kernel: $n bytes echoed, not $BYTES"; return; }
	[[ $sum == "$SHA" ]] || { echo "FAIL kernel -> tapir (echo): sha256 $sum != $SHA"; return; }
	echo "ok kernel -> tapir (echoed back): $BYTES bytes, sha256 equal, $(awk -v a="$t0" -v b="$t1" \
		-v n="$BYTES" 'BEGIN { printf "%.1f s, %.2f MB/s each way", b - a, n / (b - a) / 1e6 }')"
}

# result FILE: logs a direction's line; fails on its failure
result() {
	local line
	line=$(cat "$1" 2>/dev/null)
	[[ $line == ok\ * ]] || fail "${line#FAIL }"
	log "${line#ok }"
}

if [ "$PARALLEL" = 1 ]; then
	log "both directions at once"
	soak_down >"$WORK/down.res" &
	down_pid=$!
	soak_up >"$WORK/up.res"
	wait "$down_pid"
	result "$WORK/down.res"
	result "$WORK/up.res"
else
	soak_down >"$WORK/down.res"
	result "$WORK/down.res"
	host_alive
	soak_up >"$WORK/up.res"
	result "$WORK/up.res"
fi
host_alive
RSS1=$(rss)

st=$WORK/stats.txt
tctl stats >"$st" || fail "tapir stats failed"
k=$(nsx nstat -az TcpRetransSegs TcpExtTCPFastRetrans TcpExtTCPLostRetransmit TcpInSegs TcpOutSegs TcpInCsumErrors 2>/dev/null |
	awk 'NR > 1 { printf "%s %s, ", $1, $2 }')
log "tapir: $(awk '$1 ~ /^(tcp_tx|tcp_rx|tcp_retransmits|tcp_fast_retransmits|tcp_ooo_queued|tx_hook_dropped|hook_injected|drop.tcp_checksum|drop.ip_checksum|drop.hook)$/ { printf "%s %s, ", $1, $2 }' "$st")"
log "kernel: $k"
log "tapir RSS: $RSS0 KiB before, $RSS1 KiB after"
host_counters final
host_stop
pass
