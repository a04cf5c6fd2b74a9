#!/usr/bin/env bash
# Benchmark (not a test): tapir check and tapir ping against nmap, masscan,
# zmap and fping, all on two namespaces of our own (scanner <-> target over a
# veth pair; nothing else is touched).  Scenarios:
#   full    all 65535 ports of one host
#   wide    1024 ports x 64 hosts
#   ping    200 hosts (150 alive, 50 dead), three pingers of a kind at once
# tapir check runs in every mode: connect, syn, auto, and stack (tapir's own
# stack with its own address and MAC on the scanner's veth end, AF_PACKET).
# Figures: wall time, packets the scanner sent (veth tx counter), and
# whether the result is exactly the known set / every reply credited right.
# The load average (uptime) before and after goes with the figures: the
# machine may be shared.
# Prints a table, writes build/bench/check.json.  Root; installs missing
# tools with apt-get; bounded: every command under timeout, < 10 minutes.
set -uo pipefail
# the whole run is bounded: 9.5 minutes, then TERM (the EXIT trap cleans up)
if [[ -z ${CHECK_BENCH_INNER:-} ]]; then
	CHECK_BENCH_INNER=1 exec timeout -k 10 570 bash "$0" "$@"
fi
cd "$(dirname "$0")/.."
TEST_NAME=check-bench
TAPIR=${TAPIR:-build/tapir}
source tests/interop/check_net.sh
[[ $(id -u) -eq 0 ]] || { echo "bench: needs root" >&2; exit 2; }
[[ -x $TAPIR ]] || make build >/dev/null || exit 2
need=()
for t in nmap:nmap masscan:masscan zmap:zmap fping:fping tshark:tshark nft:nftables; do
	command -v "${t%%:*}" >/dev/null || need+=("${t#*:}")
done
if [[ ${#need[@]} -gt 0 ]]; then
	echo "bench: installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	timeout 300 apt-get update -qq && timeout 300 apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
exec 3>&1
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load average before: $LOAD0 ($(nproc) CPUs)" >&3

cn_create
cn_addrs 10.201.3 0 63 # the 64 hosts of the wide scenario: 10.201.3.0/26
OPEN=(22 80 443 1024 3306 8080 40001 60999 65535)
DROP=(135 445)
args=()
for p in "${OPEN[@]}"; do args+=("0.0.0.0:$p"); done
cn_listen "${args[@]}"
tx nft add table inet bench && tx nft add chain inet bench in '{ type filter hook input priority 0; }' &&
	tx nft add rule inet bench in tcp dport "{ 135, 445 }" drop || fail "nft"
T_MAC=$(tx cat /sys/class/net/ct0/address)
WIDE_HOSTS=()
for ((i = 0; i < 64; i++)); do WIDE_HOSTS+=("10.201.3.$i"); done

# expected open sets, "host port" lines
for p in "${OPEN[@]}"; do echo "$CN_T_ADDR $p"; done | sort >"$WORK/exp.full"
for h in "${WIDE_HOSTS[@]}"; do for p in "${OPEN[@]}"; do [[ $p -le 1024 ]] && echo "$h $p"; done; done | sort >"$WORK/exp.wide"

txp() { sx cat /sys/class/net/cs0/statistics/tx_packets; }
RESULTS=()
# bench NAME SCENARIO PARSER CMD...: runs CMD in the scanner's namespace;
# PARSER turns its stdout into "host port" lines of open ports.
bench() {
	local name=$1 sc=$2 parser=$3 t0 t1 p0 p1 exact
	shift 3
	p0=$(txp)
	t0=$(date +%s.%N)
	NSX_TIMEOUT=${NSX_TIMEOUT:-150} sx "$@" >"$WORK/$name.$sc.raw" 2>"$WORK/$name.$sc.err"
	t1=$(date +%s.%N)
	p1=$(txp)
	$parser <"$WORK/$name.$sc.raw" | sort -u >"$WORK/$name.$sc.open"
	cmp -s "$WORK/$name.$sc.open" "$WORK/exp.$sc" && exact=yes || exact=no
	RESULTS+=("$(printf '{"tool":"%s","scenario":"%s","wall_s":%.2f,"packets_sent":%d,"exact":"%s"}' \
		"$name" "$sc" "$(echo "$t1 - $t0" | bc)" $((p1 - p0)) "$exact")")
	printf '%-22s %-6s %8.2f s %9d pkts  exact=%s\n' "$name" "$sc" "$(echo "$t1 - $t0" | bc)" $((p1 - p0)) "$exact" >&3
	sleep 1 # let stray answers die down between tools
}
p_tapir() { awk '$3 == "open" { print $1, $2 }'; }
p_nmap() { sed -n 's/^Host: \([0-9.]*\) .*Ports: \(.*\)$/\1 \2/p' | while read -r h ports; do
	tr ',' '\n' <<<"$ports" | sed -n 's|^ *\([0-9]*\)/open/.*|\1|p' | sed "s/^/$h /"; done; }
p_masscan() { awk '$1 == "open" { print $4, $3 }'; }
p_zmap() { awk 'NF { print $1, 80 }'; }

ONLY=${1:-all} # all, or one part: gen (probe generation), shards, scan, ping

# ---- gen: probe generation into a veth sink ----
# 262144 SYNs (10.204.0.0/14, port 80: zmap 2.1 scans one port) as fast as
# each tool sends them, into a target namespace that drops them at ct0's
# ingress (nothing answers: the send path alone is measured).  pkt/s =
# packets sent on cs0 / wall time (the whole run: start-up and the last
# wait included); "at sink": the SYNs an nftables counter saw arrive
# (262144 when none was lost).
gen() {
	local name=$1 t0 t1 c0 c1 p0 p1 pps
	shift
	tx nft reset counters table netdev sink >/dev/null
	p0=$(txp)
	# the send phase: from the first packet to the last, sampled every 20 ms
	# (masscan 1.3.2 does not exit after --wait here: its wall time says little)
	(while :; do echo "$(date +%s.%N) $(txp)"; sleep 0.02; done) >"$WORK/gen.$name.tx" &
	local sampler=$!
	t0=$(date +%s.%N)
	NSX_TIMEOUT=${GEN_TIMEOUT:-60} sx "$@" >"$WORK/gen.$name.out" 2>"$WORK/gen.$name.err"
	t1=$(date +%s.%N)
	kill "$sampler"; wait "$sampler" 2>/dev/null
	p1=$(txp)
	c1=$(tx nft list counter netdev sink syns | sed -n 's/.*packets \([0-9]*\).*/\1/p')
	# from the sample before the first packet to the last change: the send phase
	pps=$(awk -v p0="$p0" '$2 != last && NR > 1 { if (!a && $2 > p0) a = prevt; b = $1; v = $2 }
		{ prevt = $1; last = $2 } END { if (b > a && a) printf "%d", (v - p0) / (b - a); else print 0 }' \
		"$WORK/gen.$name.tx")
	RESULTS+=("$(printf '{"tool":"%s","scenario":"gen262144","wall_s":%.2f,"packets_sent":%d,"syns_at_sink":%d,"send_pps":%d}' \
		"$name" "$(echo "$t1 - $t0" | bc)" $((p1 - p0)) "$c1" "$pps")")
	printf '%-26s gen    %8.2f s %9d pkts %9d at sink %9d pkt/s sending\n' "$name" "$(echo "$t1 - $t0" | bc)" \
		$((p1 - p0)) "$c1" "$pps" >&3
	sleep 1
}
if [[ $ONLY == all || $ONLY == gen ]]; then
	sx ip route add 10.204.0.0/14 via "$CN_T_ADDR"
	tx nft -f - <<NFT || fail "nft sink"
table netdev sink {
	counter syns { }
	chain in {
		type filter hook ingress device ct0 priority 0;
		ip daddr 10.204.0.0/14 tcp flags syn counter name syns drop
	}
}
NFT
	GR=${GEN_RATE:-10000000}
	gen tapir-syn "$TAPIR" check --mode syn --rate "$GR" --retries 0 --timeout 100 10.204.0.0/14:80
	# TAPIR_BEFORE=path: another tapir (e.g. main's before a change) in the same run
	[[ -z ${TAPIR_BEFORE:-} ]] ||
		gen tapir-syn-before "$TAPIR_BEFORE" check --mode syn --rate "$GR" --retries 0 --timeout 100 10.204.0.0/14:80
	gen tapir-stack "$TAPIR" check --mode stack --iface cs0 --addr 10.201.0.9/24 --gateway "$CN_T_ADDR" \
		--rate "$GR" --retries 0 --timeout 100 10.204.0.0/14:80
	GEN_TIMEOUT=15 gen masscan masscan --rate "$GR" --wait 0 -p 80 --interface cs0 --adapter-ip "$CN_S_ADDR" \
		--router-mac "$T_MAC" 10.204.0.0/14
	gen zmap zmap -q -b /dev/null -p 80 -B 10G -c 0 -i cs0 -S "$CN_S_ADDR" -G "$T_MAC" -o /dev/null 10.204.0.0/14
fi

# ---- shards: 4 shards at once on the 2 cores vs one process ----
# The wide scenario (1024 ports x 64 hosts) as one process and as 4 shards
# (--seed 7 --shard I/4) at once, merged: wall time, packets sent (SYNs,
# and our kernel's RSTs for the SYN/ACKs), CPU seconds of the processes
# (user + system, bash's `times`) and whether the merge is exactly the
# known set.  Twice: at --rate 100000 in all (the 4 shards 25000 each: the
# same pace), and "max" (--rate 10000000: each as fast as it can, so the
# 2 cores are the limit).
shard_runs() {
	local tag=$1 r1=$2 r4=$3
	bench "tapir-syn-1proc$tag" wide p_tapir env WORK_S="$WORK/cpu1$tag" R1="$r1" bash -c '
		"$0" check --mode syn --seed 7 --rate "$R1" --timeout 500 "$@"; rc=$?
		times >"$WORK_S"; exit $rc' "$TAPIR" "${ST[@]}"
	SHARD_CPU+=("$(cpu_s "$WORK/cpu1$tag")")
	bench "tapir-syn-4shards$tag" wide p_tapir env WORK_S="$WORK/shard$tag" R4="$r4" bash -c '
		for i in 1 2 3 4; do "$0" check --mode syn --seed 7 --shard $i/4 --rate "$R4" --timeout 500 "$@" >"$WORK_S.$i" & done
		wait; times >"$WORK_S.cpu"; cat "$WORK_S".[1-4]' "$TAPIR" "${ST[@]}"
	SHARD_CPU+=("$(cpu_s "$WORK/shard$tag.cpu")")
}
# cpu_s FILE: the children's user + system seconds, the last line of `times` ("0m1.2s 0m0.3s")
cpu_s() { tail -n 1 "$1" | sed "s/m/ /g; s/s//g" | awk '{ printf "%.2f", $1 * 60 + $2 + $3 * 60 + $4 }'; }
if [[ $ONLY == all || $ONLY == shards ]]; then
	ST=("${WIDE_HOSTS[@]/%/:1-1024}")
	SHARD_CPU=()
	shard_runs "" 100000 25000
	shard_runs "-max" 10000000 2500000
	k=0
	for tag in 1proc 4shards 1proc-max 4shards-max; do
		RESULTS+=("$(printf '{"tool":"tapir-syn-%s","scenario":"wide","cpu_s":%s}' "$tag" "${SHARD_CPU[k]}")")
		printf '%-22s wide   %8s s CPU (user + system, all processes)\n' "tapir-syn-$tag" "${SHARD_CPU[k]}" >&3
		k=$((k + 1))
	done
fi

R=100000
[[ $ONLY == all || $ONLY == scan ]] || SKIP_SCAN=1
for sc in full wide; do
	[[ -z ${SKIP_SCAN:-} ]] || break
	if [[ $sc == full ]]; then T=("$CN_T_ADDR:1-65535"); NT=("$CN_T_ADDR"); P=1-65535; MT=$CN_T_ADDR
	else T=("${WIDE_HOSTS[@]/%/:1-1024}"); NT=(10.201.3.0/26); P=1-1024; MT=10.201.3.0/26; fi
	bench "tapir-connect" $sc p_tapir "$TAPIR" check --mode connect --rate $R --timeout 500 "${T[@]}"
	bench "tapir-syn" $sc p_tapir "$TAPIR" check --mode syn --rate $R --timeout 500 "${T[@]}"
	bench "tapir-auto" $sc p_tapir "$TAPIR" check --rate $R --timeout 500 "${T[@]}"
	# tapir's own stack and address on cs0; the wide scenario's hosts are
	# the target's (on its lo), so it is their gateway
	bench "tapir-stack" $sc p_tapir "$TAPIR" check --mode stack --iface cs0 --addr 10.201.0.9/24 \
		--gateway "$CN_T_ADDR" --rate $R --timeout 500 "${T[@]}"
	bench "nmap-sS-T5" $sc p_nmap nmap -n -Pn -sS -T5 -p "$P" -oG - "${NT[@]}"
	bench "nmap-sT" $sc p_nmap nmap -n -Pn -sT -T5 -p "$P" -oG - "${NT[@]}"
	# masscan 1.3.2 in a namespace does not exit after --wait: bounded at 25 s
	NSX_TIMEOUT=25 bench "masscan-$R" $sc p_masscan masscan --rate $R --wait 1 -p "$P" --interface cs0 \
		--adapter-ip "$CN_S_ADDR" --router-mac "$T_MAC" -oL - "$MT"
done
# zmap 2.1 probes one port per run: the wide scenario's port 80 only
for h in "${WIDE_HOSTS[@]}"; do echo "$h 80"; done >"$WORK/exp.zmap80"
bench_zmap() {
	local t0 t1 p0 p1 exact
	p0=$(txp); t0=$(date +%s.%N)
	NSX_TIMEOUT=60 sx zmap -q -b /dev/null -p 80 -r 100000 -c 1 -i cs0 -S "$CN_S_ADDR" -G "$T_MAC" -o - 10.201.3.0/26 \
		>"$WORK/zmap.raw" 2>"$WORK/zmap.err"
	t1=$(date +%s.%N); p1=$(txp)
	p_zmap <"$WORK/zmap.raw" | sort -u >"$WORK/zmap.open"
	sort "$WORK/exp.zmap80" | cmp -s - "$WORK/zmap.open" && exact=yes || exact=no
	RESULTS+=("$(printf '{"tool":"zmap","scenario":"port80x64","wall_s":%.2f,"packets_sent":%d,"exact":"%s"}' \
		"$(echo "$t1 - $t0" | bc)" $((p1 - p0)) "$exact")")
	printf '%-22s %-6s %8.2f s %9d pkts  exact=%s (one port per run in zmap 2.1)\n' zmap port80 \
		"$(echo "$t1 - $t0" | bc)" $((p1 - p0)) "$exact" >&3
	p0=$(txp); t0=$(date +%s.%N)
	NSX_TIMEOUT=60 sx "$TAPIR" check --rate 100000 --timeout 500 "${WIDE_HOSTS[@]/%/:80}" >"$WORK/tz.raw"
	t1=$(date +%s.%N); p1=$(txp)
	p_tapir <"$WORK/tz.raw" | sort -u | cmp -s - <(sort "$WORK/exp.zmap80") && exact=yes || exact=no
	RESULTS+=("$(printf '{"tool":"tapir-auto","scenario":"port80x64","wall_s":%.2f,"packets_sent":%d,"exact":"%s"}' \
		"$(echo "$t1 - $t0" | bc)" $((p1 - p0)) "$exact")")
	printf '%-22s %-6s %8.2f s %9d pkts  exact=%s\n' tapir-auto port80 "$(echo "$t1 - $t0" | bc)" $((p1 - p0)) "$exact" >&3
}
[[ -z ${SKIP_SCAN:-} ]] && bench_zmap

# ---- ping: 200 hosts, three pingers at once ----
if [[ $ONLY == all || $ONLY == ping ]]; then
cn_addrs 10.201.1 1 100
cn_addrs 10.201.2 1 50
tx ip route add blackhole 10.201.1.0/24
tx ip route add blackhole 10.201.2.0/24
sx sysctl -qw net.ipv4.ping_group_range="0 2147483647"
PH=(10.201.1.0/25); for ((i = 1; i <= 74; i++)); do PH+=("10.201.2.$i"); done
FH=(); for ((i = 1; i <= 126; i++)); do FH+=("10.201.1.$i"); done; for ((i = 1; i <= 74; i++)); do FH+=("10.201.2.$i"); done
# verdict FILE: "yes" when alive hosts 3/3 and dead ones 3/0, in fping-style lines
verdict() {
	awk '/xmt\/rcv/ { split($1, o, "."); split($5, x, "/");
		alive = (o[3] == 1 && o[4] <= 100) || (o[3] == 2 && o[4] <= 50)
		if (x[1] != 3 || x[2] != (alive ? 3 : 0)) bad++; n++ }
		END { print (n == 200 && !bad) ? "yes" : "no (" bad+0 " wrong of " n+0 ")" }' "$1"
}
for tool in tapir fping; do
	t0=$(date +%s.%N)
	pids=()
	for k in 1 2 3; do
		if [[ $tool == tapir ]]; then
			NSX_TIMEOUT=60 sx "$TAPIR" ping -q -c 3 -i 200 -W 1000 "${PH[@]}" >"$WORK/p.$tool.$k" 2>&1 &
		else
			NSX_TIMEOUT=60 sx fping -q -c 3 -p 200 -t 1000 -i 1 "${FH[@]}" >"$WORK/p.$tool.$k" 2>&1 &
		fi
		pids+=($!)
	done
	wait "${pids[@]}"
	t1=$(date +%s.%N)
	v=""
	for k in 1 2 3; do v+="$(verdict "$WORK/p.$tool.$k") "; done
	ok=$([[ $v == "yes yes yes " ]] && echo yes || echo "no: $v")
	RESULTS+=("$(printf '{"tool":"%s","scenario":"ping200x3","wall_s":%.2f,"credited_right":"%s"}' "$tool" "$(echo "$t1 - $t0" | bc)" "$ok")")
	printf '%-22s %-6s %8.2f s  (3 at once) credited right: %s\n' "$tool ping" ping200 "$(echo "$t1 - $t0" | bc)" "$ok" >&3
done

fi

LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load average after: $LOAD1" >&3
RESULTS+=("$(printf '{"loadavg_before":"%s","loadavg_after":"%s","cpus":%d}' "$LOAD0" "$LOAD1" "$(nproc)")")
mkdir -p build/bench
{ echo "["; (IFS=,; echo "${RESULTS[*]}" | sed 's/},{/},\n{/g'); echo "]"; } >"build/bench/check${1:+-$1}.json"
echo "wrote build/bench/check${1:+-$1}.json" >&3
