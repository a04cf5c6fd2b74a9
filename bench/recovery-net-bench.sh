#!/usr/bin/env bash
# The loss-recovery row of `make bench` over a real link (docs/performance.md,
# "Loss recovery"): recovery-bench.sh's comparison again, with the Linux
# kernel as the peer.  `tapir host --serve http=DIR` on a TAP in a namespace
# of its own sends a file to the kernel's curl through the netem
# personality (5 ms each way), once with RFC 6675 alone (--recovery rfc6675)
# and once with RACK-TLP + PRR (--recovery rack), both under the rfc
# profile so that nothing else differs.  Cases:
#   1% loss, 5% loss  one GET of the whole file; loss=P both ways, the seed
#                     of run N is N for both recoveries
#   tail loss         the file in 64 KB pieces, one GET after the other on
#                     one connection; tail=1,dir=tx drops the first copy of
#                     each answer's last segment (its PSH), as the
#                     simulation does for each request
# Per case: mean seconds (curl's time_total, summed over the pieces), the
# data segments tapir's TCP sent again (from --trace tcp, counted where TCP
# sends them, before the loss: one that starts below the highest end sent
# so far, recovery_bench's count), tapir's tcp_retransmits counter, its
# timeouts and TLP probes; and RACK's time as a share of RFC 6675's.  A
# download that is not byte-exact is an error row, never a figure.
# Figures only: nothing passes or fails.
#   RECOVERY_NET_MB=N      the file (default 10)
#   RECOVERY_NET_RUNS=N    runs per case and recovery (default 2)
#   RECOVERY_NET_TAIL_RUNS=N  of which tail loss (default 1: its figures
#                          hardly move, 60.0 and 60.7 s, and it is the longest)
#   RECOVERY_NET_CASES=".."  some of "1 5 tail" only
#   RECOVERY_NET_BUDGET=S  no new run after S seconds (default 300; one run
#                          of each case takes about 3.5 minutes)
#   RECOVERY_NET_RATE=MBIT the link's rate too (default 0: none, delay only,
#                          as in the simulation)
#   RECOVERY_NET_PCAP=DIR  keep each run's --pcap capture there
#   RECOVERY_NET_KERNEL=0  without the kernel-as-sender rows
# Root (a namespace, a TAP); every transfer bounded by curl's --max-time.
# shellcheck source=tests/interop/pers_lib.sh
source "$(dirname "$0")/../tests/interop/pers_lib.sh"
cd "$REPO_DIR" || exit 2
log() { :; } # (lib.sh says each host it starts: too much for a table)
MB=${RECOVERY_NET_MB:-10}
RUNS=${RECOVERY_NET_RUNS:-2}
CASES=${RECOVERY_NET_CASES:-1 5 tail}
BUDGET=${RECOVERY_NET_BUDGET:-300}
KEEP=${RECOVERY_NET_PCAP:-}
DELAY=5
RATE=${RECOVERY_NET_RATE:-0}
TAIL_RUNS=${RECOVERY_NET_TAIL_RUNS:-1}
[[ $MB =~ ^[1-9][0-9]*$ && $MB -le 100 ]] || { echo "recovery-net-bench: RECOVERY_NET_MB must be 1..100" >&2; exit 2; }
[[ $RUNS =~ ^[1-9][0-9]*$ && $RUNS -le 50 ]] || { echo "recovery-net-bench: RECOVERY_NET_RUNS must be 1..50" >&2; exit 2; }
[[ $TAIL_RUNS =~ ^[0-9]+$ ]] || { echo "recovery-net-bench: RECOVERY_NET_TAIL_RUNS must be a number" >&2; exit 2; }
[[ $BUDGET =~ ^[1-9][0-9]*$ ]] || { echo "recovery-net-bench: RECOVERY_NET_BUDGET must be seconds" >&2; exit 2; }
for c in $CASES; do
	[[ $c == 1 || $c == 5 || $c == tail ]] || { echo "recovery-net-bench: unknown case '$c' (1 5 tail)" >&2; exit 2; }
done
[[ -z $KEEP ]] || mkdir -p "$KEEP" || exit 2
[[ $RATE =~ ^[0-9]+$ && $RATE -le 10000 ]] || { echo "recovery-net-bench: RECOVERY_NET_RATE must be 0..10000 (Mbit/s)" >&2; exit 2; }
LINKRATE=
[[ $RATE -gt 0 ]] && LINKRATE=",rate=$RATE"
[[ $(id -u) -eq 0 ]] || { echo "recovery-net-bench: needs root (a namespace, a TAP)" >&2; exit 2; }
[[ -x $TAPIR ]] || { echo "recovery-net-bench: no $TAPIR (make build)" >&2; exit 2; }
command -v curl >/dev/null || { echo "recovery-net-bench: needs curl" >&2; exit 2; }
ns_create
# shellcheck disable=SC2034 # read by host_start: its timeout around each tapir host
HOST_GUARD=$((BUDGET + 300))
CHUNK=65536
SIZE=$((MB << 20))
PIECES=$(((SIZE + CHUNK - 1) / CHUNK))
www_create file.bin "$SIZE"
mkdir -p "$WWW/p"
split -a 4 -d -b $CHUNK "$WWW/file.bin" "$WWW/p/" || exit 2
WANT=$(sha256sum <"$WWW/file.bin" | cut -d' ' -f1)
RES=$WORK/results
: >"$RES"

# rexmits TRACE: tapir's data segments from port 80 that start below the
# highest end sent before them (sequence arithmetic modulo 2^32, relative
# to the first); the trace line reads "... tx A:80 > B:P [F] seq N ... len L"
rexmits() {
	awk '{
		for (i = 1; i < NF; i++) if ($i == "tx") break
		if (i >= NF || $(i + 1) !~ /:80$/) next
		for (j = i; j < NF; j++) { if ($j == "seq") s = $(j + 1); if ($j == "len") l = $(j + 1) }
		if (l == 0) next
		if (!any) { base = s; any = 1 }
		r = (s - base) % 4294967296; if (r < 0) r += 4294967296
		if (r < high) n++
		if (r + l > high) high = r + l
	} END { print n + 0 }' "$1"
}

# impair CASE RUN DIR BASE: the personality (PERS) and curl's URLs (URLS,
# on BASE) of a case; DIR: the direction tail= drops (the sender's frames)
impair() {
	if [[ $1 == tail ]]; then
		PERS="tail=1,dir=$3,delay=$DELAY,limit=20000$LINKRATE"
		URLS="$4/p/[0000-$(printf %04d $((PIECES - 1)))]"
	else
		PERS="loss=0.0$1,seed=$2,delay=$DELAY,limit=20000$LINKRATE"
		URLS="$4/file.bin"
	fi
	rm -rf "$WORK/got" && mkdir -p "$WORK/got"
}

# verdict CASE MODE OUT FIGURES...: the line of $RES for curl's output OUT
# (a line "code time_total connects" per piece): "CASE MODE ok SECONDS
# FIGURES..." when every piece came and the whole is byte-exact, else
# "CASE MODE error WHY"
verdict() {
	local cs=$1 mode=$2 out=$3 secs got
	shift 3
	secs=$(awk '$1 == 200 { s += $2; k++ } END { if (k) printf "%.3f", s }' <<<"$out")
	got=$(find "$WORK/got" -type f | sort | xargs cat | sha256sum | cut -d' ' -f1)
	if [[ $(awk '$1 == 200' <<<"$out" | wc -l) -ne $([[ $cs == tail ]] && echo "$PIECES" || echo 1) ]]; then
		echo "$cs $mode error curl: $(tr '\n' ' ' <<<"$out" | head -c 120)" >>"$RES"
	elif [[ $got != "$WANT" ]]; then
		echo "$cs $mode error the download is not byte-exact" >>"$RES"
	else
		echo "$cs $mode ok $secs $*" >>"$RES"
	fi
	rm -rf "$WORK/got"
}

# one CASE MODE RUN: a fresh tapir host, one download, one line of $RES:
# "CASE MODE ok SECONDS REXMITS TCP_RETRANSMITS TIMEOUTS PROBES RACK_LOST"
# or "CASE MODE error WHY"
one() {
	local cs=$1 mode=$2 run=$3 out t n rt to pr rl pcap=()
	impair "$cs" "$run" tx "http://$HOST_ADDR"
	[[ -n $KEEP ]] && pcap=(--pcap "$KEEP/$cs-$mode-$run.pcap")
	pers_host_start --serve "http=$WWW" --recovery "$mode" --trace tcp "${pcap[@]}" \
		--personality "$PERS"
	t=$((BUDGET > 120 ? BUDGET : 120))
	out=$(NSX_TIMEOUT=$((t + 10)) nsx curl -sS --max-time "$t" -o "$WORK/got/#1" \
		-w '%{http_code} %{time_total} %{num_connects}\n' "$URLS" 2>&1)
	# the counters before the host ends (stat_of reads them over --control)
	rt=$(stat_of tcp_retransmits) to=$(stat_of tcp_timeouts) pr=$(stat_of tcp_tlp_probes)
	rl=$(stat_of tcp_rack_lost)
	host_stop
	n=$(rexmits "$HOST_OUT") # (the trace is on stdout)
	verdict "$cs" "$mode" "$out" "$n" "$rt" "$to" "$pr" "$rl"
	rm -f "$HOST_ERR" "$HOST_OUT"
}

# knstat: the kernel's retransmitted segments, timeouts and loss probes in
# the namespace (nstat's absolute counters; -s leaves its history alone)
knstat() {
	ip netns exec "$NS" nstat -asz TcpRetransSegs TcpExtTCPTimeouts TcpExtTCPLossProbes |
		awk '$1 == "TcpRetransSegs" { r = $2 } $1 == "TcpExtTCPTimeouts" { t = $2 }
		     $1 == "TcpExtTCPLossProbes" { p = $2 } END { print r + 0, t + 0, p + 0 }'
}

# kone CASE RUN: the kernel as the sender through the same impairments,
# applied by tapir on its side (dir=rx for tail: the kernel's segments):
# `tapir run` puts curl on tapir, python's http.server in the namespace
# serves the same files.  One line of $RES: "CASE kernel ok SECONDS
# RETRANS_SEGS - TIMEOUTS PROBES -" or an error.
kone() {
	local cs=$1 run=$2 out t b a
	impair "$cs" "$run" rx "http://$PEER_ADDR:8080"
	t=$((BUDGET > 120 ? BUDGET : 120))
	read -r -a b <<<"$(knstat)"
	out=$(NSX_TIMEOUT=$((t + 20)) nsx "$TAPIR" run --tap "$TAP" --addr "$HOST_ADDR/24" \
		--peer-addr "$PEER_ADDR/24" --personality "$PERS" -- curl -sS --max-time "$t" \
		-o "$WORK/got/#1" -w '%{http_code} %{time_total} %{num_connects}\n' "$URLS" 2>&1)
	read -r -a a <<<"$(knstat)"
	verdict "$cs" kernel "$out" $((a[0] - b[0])) - $((a[1] - b[1])) $((a[2] - b[2])) -
}

KERNEL=${RECOVERY_NET_KERNEL:-1}
if [[ $KERNEL == 1 ]]; then # the kernel's server, for the whole run (the namespace's end kills it)
	timeout $((BUDGET + 900)) ip netns exec "$NS" /usr/bin/python3 -m http.server -d "$WWW" \
		-b 0.0.0.0 8080 >/dev/null 2>&1 &
	disown # (killed with the namespace: no job notice)
	for ((i = 0; i < 100; i++)); do
		ip netns exec "$NS" ss -Hltn 'sport = :8080' | grep -q . && break
		sleep 0.1
	done
fi
start=$SECONDS
done_runs=0
for ((run = 1; run <= RUNS; run++)); do
	((SECONDS - start < BUDGET)) || break
	for cs in $CASES; do # the two recoveries side by side, run by run
		[[ $cs == tail && $run -gt $TAIL_RUNS ]] && continue
		one "$cs" rfc6675 "$run"
		one "$cs" rack "$run"
		[[ $KERNEL == 1 ]] && kone "$cs" "$run"
	done
	done_runs=$run
done
echo "loss recovery over a TAP, the kernel's curl downloading $MB MB from tapir host," \
	"5 ms each way$LINKRATE, $done_runs run(s) (mean, wall time; $((SECONDS - start)) s)"
awk '
BEGIN { name["1"] = "1% loss"; name["5"] = "5% loss"; name["tail"] = "tail loss" }
!($1 in seen) { seen[$1] = 1; order[++k] = $1 }
$3 == "error" { err[$1] = err[$1] " " $2 ":" substr($0, index($0, "error") + 5); next }
{ m = $2 == "rack" ? 1 : $2 == "kernel" ? 2 : 0; c = $1; n[c, m]++
  t[c, m] += $4; x[c, m] += $5; r[c, m] += $6; o[c, m] += $7; p[c, m] += $8 }
function avg(v, c, m) { return n[c, m] ? v[c, m] / n[c, m] : 0 }
END {
	printf "%-10s %4s %8s %8s %6s %8s %8s %8s %8s %7s %7s %6s\n", "case", "runs", "6675 s", "RACK s",
	       "ratio", "rex 6675", "rex RACK", "ctr 6675", "ctr RACK", "RTO6675", "RTORACK", "TLPs"
	for (i = 1; i <= k; i++) {
		c = order[i]
		if (n[c, 0] && n[c, 1])
			printf "%-10s %4d %8.3f %8.3f %6.3f %8.1f %8.1f %8.1f %8.1f %7.1f %7.1f %6.1f\n", name[c],
			       n[c, 1], avg(t, c, 0), avg(t, c, 1), avg(t, c, 1) / (avg(t, c, 0) ? avg(t, c, 0) : 1),
			       avg(x, c, 0), avg(x, c, 1), avg(r, c, 0), avg(r, c, 1), avg(o, c, 0),
			       avg(o, c, 1), avg(p, c, 1)
		if (c in err) printf "%-10s error:%s\n", name[c], err[c]
		if (n[c, 2]) kern = 1
	}
	if (!kern) exit
	print "the kernel as the sender (tapir run curl receiving, the same impairments):"
	printf "%-10s %4s %8s %9s %8s %7s %6s\n", "case", "runs", "kernel s", "/RACK s", "rexmits", "RTOs",
	       "TLPs"
	for (i = 1; i <= k; i++) {
		c = order[i]
		if (n[c, 2])
			printf "%-10s %4d %8.3f %9.3f %8.1f %7.1f %6.1f\n", name[c], n[c, 2], avg(t, c, 2),
			       avg(t, c, 1) ? avg(t, c, 2) / avg(t, c, 1) : 0, avg(x, c, 2), avg(o, c, 2),
			       avg(p, c, 2)
	}
}' "$RES"
[[ -z ${RECOVERY_NET_RAW:-} ]] || cp "$RES" "$RECOVERY_NET_RAW"
exit 0
