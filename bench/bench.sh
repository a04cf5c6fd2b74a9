#!/usr/bin/env bash
# make bench: tapir against lwIP 2.1.3, the Linux kernel and the TAP device's
# own ceiling, in one run on one machine.  Figures only: nothing passes or
# fails here.  docs/performance.md tells how to read the output.
#
#   tapir-host  `tapir host --serve echo,discard,chargen` over a TAP (the
#               built-in services: one event loop on the stack thread)
#   tapir-run   bench/ksrv.c (the kernel's server, unmodified) under
#               `tapir run`: the preload, the gate and the relays
#               (docs/run.md); its srv_cpu is tapir's alone, not ksrv's
#   tapir-host6 tapir host again, over IPv6 (bulk, RR, connections/s),
#               each figure also as a ratio to tapir-host's IPv4 one
#   tapir-raw   bench/tapir-raw.c: tapir's core on its raw API, one thread
#   lwip        bench/lwip-srv.c: Debian's liblwip-dev on its raw API
#   kernel      bench/ksrv.c (epoll) over a veth pair between two namespaces
#   tap-ceiling bench/tapecho.c: frames reflected from the TAP fd, no stack
#
# The kernel's side of every run is bench/load.c.  Output: a table on
# stdout, build/bench/bench.json, build/bench/bench.png, and the raw lines
# in build/bench/raw.txt.  Root; installs what is missing with apt-get;
# traffic stays in namespaces of its own (removed on exit); every loop is
# bounded in count and time.  BENCH_SECS (default 3) sets each measurement;
# BENCH_ONLY="lwip kernel" runs some of the systems only; BENCH_SCALE
# (default 1000,10000,100000) the idle-connection counts of the scale rows,
# BENCH_SCALE_ONLY=1 runs those rows (and CRR) only; BENCH_BULK_ONLY=1 the
# bulk rows only (tput_*: no scale, RR or CRR); BENCH_CRR_ONLY=1 the
# connections/s rows only (a fresh server, no scale rows); BENCH_TAPIR=PATH
# runs tapir host from another build (before/after a change, each against
# the kernel of its own run).  A run limited by BENCH_ONLY or BENCH_*_ONLY
# leaves out the loss-recovery tables at the end.
#
# The scale rows: load.c's scale mode holds idle connections from several
# client processes (RLIMIT_NOFILE: 20,000 here) and from the source
# addresses SRC_* added in the bench's own namespaces (64k ports each),
# reads the server's RSS at each count, then its CPU per 1-byte request on
# one more connection.  build/bench/scale.png draws them.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/build/bench
BIN=$OUT/bin
SECS=${BENCH_SECS:-3}
[[ $(id -u) -eq 0 ]] || { echo "bench: needs root (namespaces, TAP devices)" >&2; exit 2; }

# ---- packages (the pattern of scripts/deps.sh: ask apt only for what is missing)
pkgs=(build-essential cmake pkg-config libpcap-dev iproute2 procps python3 liblwip-dev gnuplot-nox)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
	echo "bench: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	timeout 300 apt-get update -qq && timeout 300 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		{ echo "bench: apt-get failed" >&2; exit 2; }
fi

# ---- build: tapir (build/), then the bench programs against it
if ! make -s build >/dev/null; then
	[[ -x build/tapir && -f build/libtapir.a ]] || { echo "bench: make build failed" >&2; exit 2; }
	echo "bench: make build failed; using the tapir already in build/" >&2
fi
mkdir -p "$OUT" && make -s -C bench O="$BIN" >/dev/null || { echo "bench: building bench/ failed" >&2; exit 2; }

# ---- namespaces, and their removal whatever happens
ID=$$
NS_T=tapirb${ID}t # the kernel's side of a TAP, and the TAP itself
NS_A=tapirb${ID}a # kernel <-> kernel over veth: client
NS_B=tapirb${ID}b #                              server
SRV_PID=
stop_watchdog() { # the subshell first, or it would take its sleep's end for the alarm
	[[ -n ${WATCHDOG:-} ]] && kill "$WATCHDOG" 2>/dev/null && wait "$WATCHDOG" 2>/dev/null
	[[ -s $OUT/watchdog.pid ]] && kill "$(cat "$OUT/watchdog.pid")" 2>/dev/null
	rm -f "$OUT/watchdog.pid"
	WATCHDOG=
}
cleanup() {
	[[ -n $SRV_PID ]] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
	stop_watchdog
	for ns in "$NS_T" "$NS_A" "$NS_B"; do ip netns del "$ns" 2>/dev/null; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# the watchdog: its sleep must not hold our stdout open (`make bench | tail`)
( sleep 840 </dev/null >/dev/null 2>&1 & echo $! >"$OUT/watchdog.pid"; wait
  echo "bench: 14 minutes: giving up" >&2; kill -TERM $$ ) &
WATCHDOG=$!

for ns in "$NS_T" "$NS_A" "$NS_B"; do
	ip netns add "$ns" && ip -n "$ns" link set lo up || { echo "bench: cannot create namespace $ns" >&2; exit 2; }
done
# The clients' namespaces reuse a TIME-WAIT 4-tuple for a new connection
# (timestamps on both ways make it safe: RFC 6191, RFC 7323 5.8).  The CRR
# rows of one system leave up to 100,000 TIME-WAITs to the same address and
# port, and without reuse the next system's connect() walked the port range
# past them (8.7 ms a connect): its one-client row measured that.
for ns in "$NS_T" "$NS_A"; do ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1; done
ip link add bv$ID netns "$NS_A" type veth peer name bw$ID netns "$NS_B" || exit 2
ip -n "$NS_A" addr add 10.78.0.1/24 dev bv$ID && ip -n "$NS_B" addr add 10.78.0.2/24 dev bw$ID
ip -n "$NS_A" link set bv$ID up && ip -n "$NS_B" link set bw$ID up
# the clients' extra source addresses (scale, parallel CRR): 8 x 64k ports
SRC_T=$(echo 10.77.0.{11..18} | tr ' ' ,)
SRC_A=$(echo 10.78.0.{11..18} | tr ' ' ,)
for a in ${SRC_A//,/ }; do ip -n "$NS_A" addr add "$a/24" dev bv$ID; done
SCALE=${BENCH_SCALE:-1000,10000,100000}
SCALE_MAX=${SCALE##*,}
for ns in "$NS_T" "$NS_A"; do # CRR opens tens of thousands of connections
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
done

RAW=$OUT/raw.txt
: >"$RAW"
CLIENT_NS=
ADDR=
SRC=
LOAD_TIMEOUT=30

# result SYSTEM METRIC LINE: one line of raw.txt
result() { echo "$1 $2 $3" >>"$RAW"; printf '  %-12s %-14s %s\n' "$1" "$2" "$3"; }
# load SYSTEM METRIC ARGS...: runs bench/load.c in the client's namespace
load() {
	local sys=$1 metric=$2 mode=$3 port=$4 out
	shift 4
	out=$(ip netns exec "$CLIENT_NS" timeout "$LOAD_TIMEOUT" "$BIN/load" "$mode" "$ADDR" "$port" "$@" 2>"$OUT/load.err" | tail -1)
	[[ -n $out ]] || out="error=$(head -c 200 "$OUT/load.err" | tr ' \n' '_ ')"
	result "$sys" "$metric" "$out"
}

# server SYSTEM MTU: starts SYSTEM's server (its pid in SRV_PID) and waits
# until it answers.
server() {
	local sys=$1 mtu=$2 dev=bt$ID mac=02:00:00:4d:00:02
	CLIENT_NS=$NS_T ADDR=10.77.0.2 SRC=$SRC_T
	if [[ $sys == kernel ]]; then
		CLIENT_NS=$NS_A ADDR=10.78.0.2 SRC=$SRC_A
		ip -n "$NS_A" link set bv$ID mtu "$mtu" && ip -n "$NS_B" link set bw$ID mtu "$mtu"
		ip netns exec "$NS_B" "$BIN/ksrv" "${KSRV_PROCS:-1}" >"$OUT/srv.log" 2>&1 &
		SRV_PID=$!
	else
		ip -n "$NS_T" tuntap add dev "$dev" mode tap || return 1
		ip -n "$NS_T" link set "$dev" mtu "$mtu" up
		ip -n "$NS_T" addr add 10.77.0.1/24 dev "$dev"
		for a in ${SRC_T//,/ }; do ip -n "$NS_T" addr add "$a/24" dev "$dev"; done
		case $sys in
		tapir-host) ip netns exec "$NS_T" "${BENCH_TAPIR:-build/tapir}" host --tap "$dev" --addr 10.77.0.2/24 \
			--serve echo,discard,chargen ${HOST_MAX:+--max-sockets "$HOST_MAX"} >"$OUT/srv.log" 2>&1 & ;;
		tapir-run) ip netns exec "$NS_T" build/tapir run --tap "$dev" --addr 10.77.0.2/24 \
			-- "$BIN/ksrv" 1 >"$OUT/srv.log" 2>&1 & ;;
		tapir-raw) ip netns exec "$NS_T" "$BIN/tapir-raw" "$dev" 10.77.0.2/24 "${RAW_SOCKETS:-1024}" \
			${RAW_MEM_MIB:-} >"$OUT/srv.log" 2>&1 & ;;
		lwip) ip netns exec "$NS_T" "$BIN/lwip-srv" "$dev" 10.77.0.2 255.255.255.0 >"$OUT/srv.log" 2>&1 & ;;
		tap-ceiling)
			ip -n "$NS_T" neigh add 10.77.0.2 lladdr $mac dev "$dev" nud permanent
			ip netns exec "$NS_T" "$BIN/tapecho" "$dev" $mac >"$OUT/srv.log" 2>&1 & ;;
		esac
		SRV_PID=$!
	fi
	if [[ $sys == tap-ceiling ]]; then
		sleep 0.3
	else
		ip netns exec "$CLIENT_NS" timeout 20 "$BIN/load" wait "$ADDR" 9 10 ||
			{ echo "bench: $sys does not answer:" >&2; cat "$OUT/srv.log" >&2; return 1; }
	fi
}
stop_server() {
	[[ -n $SRV_PID ]] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
	SRV_PID=
	ip -n "$NS_T" link del bt$ID 2>/dev/null
	sleep 0.2
}

# crr_rows SYSTEM: connections/s at 1, 16 and 256 parallel clients (the
# connections take the source addresses in turn, each the next one, so the
# TIME-WAITs the client leaves spread over all of them: docs/performance.md)
crr_rows() {
	load "$1" crr crr 7 "$SECS" 200000 1 src="$SRC"
	load "$1" crr16 crr 7 "$SECS" 400000 16 src="$SRC"
	load "$1" crr256 crr 7 "$SECS" 400000 256 src="$SRC"
}

# ---- IPv6 (issue 14): tapir host over the same TAP, with IPv6 addresses
# (the kernel fd00:77::1 and the clients' fd00:77::11-18, without DAD;
# tapir fd00:77::2), right after its IPv4 rows at the same MTU, on a fresh
# server.  Rows "tapir-host6 METRIC" in raw.txt; report.py sets each
# beside tapir host's IPv4 figure of this run, as a ratio.
HOST6=fd00:77::2
SRC6=$(echo fd00:77::{11..18} | tr ' ' ,)
host6_server() {
	local mtu=$1 dev=bt$ID
	CLIENT_NS=$NS_T ADDR=$HOST6 SRC=$SRC6
	ip -n "$NS_T" tuntap add dev "$dev" mode tap || return 1
	ip -n "$NS_T" link set "$dev" mtu "$mtu" up
	for a in fd00:77::1 ${SRC6//,/ }; do ip -n "$NS_T" addr add "$a/64" dev "$dev" nodad; done
	ip netns exec "$NS_T" "${BENCH_TAPIR:-build/tapir}" host --tap "$dev" --addr 10.77.0.2/24 \
		--addr "$HOST6/64" --serve echo,discard,chargen >"$OUT/srv.log" 2>&1 &
	SRV_PID=$!
	ip netns exec "$CLIENT_NS" timeout 20 "$BIN/load" wait "$ADDR" 9 10 ||
		{ echo "bench: tapir-host6 does not answer:" >&2; cat "$OUT/srv.log" >&2; return 1; }
}
# host6_rows MTU: bulk both ways at MTU; at 1500 also RR and CRR (the
# BENCH_*_ONLY variables choose as for the IPv4 rows)
host6_rows() {
	local mtu=$1 sys=tapir-host6
	host6_server "$mtu" || { stop_server; return; }
	if [[ -z ${BENCH_SCALE_ONLY:-}${BENCH_CRR_ONLY:-} ]]; then
		load $sys "tput_k2s_$mtu" send 9 "$SECS" 262144 "$SRV_PID"
		load $sys "tput_s2k_$mtu" recv 19 "$SECS" 262144 "$SRV_PID"
	fi
	if [[ $mtu == 1500 && -z ${BENCH_BULK_ONLY:-} ]]; then
		[[ -z ${BENCH_SCALE_ONLY:-}${BENCH_CRR_ONLY:-} ]] && load $sys rr rr 7 "$SECS" 500000
		crr_rows $sys
	fi
	stop_server
}

BIG=65520 # tapir's --mtu ceiling on a TAP
echo "bench: load average $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; ${SECS} s per figure"
echo "meta start date=$(date -u +%FT%TZ) loadavg=$(cut -d' ' -f1 /proc/loadavg) cores=$(nproc) secs=$SECS kernel=$(uname -r) commit=$(git rev-parse --short HEAD 2>/dev/null)" >>"$RAW"

for sys in ${BENCH_ONLY:-tapir-host tapir-run tapir-raw lwip kernel tap-ceiling}; do
	echo "== $sys"
	# scale first, on a fresh server: idle connections at each count of
	# SCALE, RSS (and the kernel's slab) and CPU per request at each; the
	# old memory rows (1000, 10000) are read from the same points
	LOAD_TIMEOUT=$((120 + SCALE_MAX / 200))
	[[ -n ${BENCH_BULK_ONLY:-}${BENCH_CRR_ONLY:-} ]] && sys_scale=none || sys_scale=$sys
	case $sys_scale in
	tapir-host) HOST_MAX=$((SCALE_MAX + 1024)) server "$sys" 1500 &&
		load "$sys" scale scale 9 "$SECS" "$SCALE" "$SRV_PID" src="$SRC"; stop_server ;;
	tapir-raw) # tcp_mem_max counts the buffers reserved at open: 192 KiB each
		RAW_SOCKETS=$((SCALE_MAX + 1024)) RAW_MEM_MIB=$(((SCALE_MAX + 1024) * 192 / 1024 + 256)) \
			server "$sys" 1500 &&
		load "$sys" scale scale 9 "$SECS" "$SCALE" "$SRV_PID" src="$SRC"; stop_server ;;
	lwip) server "$sys" 1500 && load "$sys" scale scale 9 "$SECS" "$SCALE" "$SRV_PID" src="$SRC"; stop_server ;;
	kernel) # one ksrv process per 10,000 connections (RLIMIT_NOFILE)
		KSRV_PROCS=$((SCALE_MAX / 10000 + 1)) server "$sys" 1500 &&
		load "$sys" scale scale 9 "$SECS" "$SCALE" "$SRV_PID" src="$SRC" slab; stop_server ;;
	esac
	LOAD_TIMEOUT=30
	if [[ -n ${BENCH_SCALE_ONLY:-}${BENCH_CRR_ONLY:-} ]]; then
		[[ $sys != tap-ceiling ]] && server "$sys" 1500 && crr_rows "$sys"
		stop_server
		[[ $sys == tapir-host ]] && host6_rows 1500
		continue
	fi
	for mtu in 1500 $BIG; do
		[[ $sys == lwip && $mtu == "$BIG" ]] && { result lwip "tput_k2s_$mtu" "na=TCP_MSS_1460"; result lwip "tput_s2k_$mtu" "na=TCP_MSS_1460"; continue; }
		server "$sys" "$mtu" || { stop_server; continue; }
		if [[ $sys == tap-ceiling ]]; then
			load "$sys" "tput_k2s_$mtu" udp 9 "$SECS" $((mtu - 28)) "$SRV_PID"
			[[ $mtu == 1500 && -z ${BENCH_BULK_ONLY:-} ]] && load "$sys" rr udprr 9 "$SECS" 200000
		else
			load "$sys" "tput_k2s_$mtu" send 9 "$SECS" 262144 "$SRV_PID"
			load "$sys" "tput_s2k_$mtu" recv 19 "$SECS" 262144 "$SRV_PID"
			if [[ $mtu == 1500 && -z ${BENCH_BULK_ONLY:-} ]]; then
				load "$sys" rr rr 7 "$SECS" 500000
				crr_rows "$sys"
			fi
		fi
		stop_server
		[[ $sys == tapir-host ]] && host6_rows "$mtu"
	done
done
stop_watchdog
echo "meta end date=$(date -u +%FT%TZ) loadavg=$(cut -d' ' -f1 /proc/loadavg)" >>"$RAW"
python3 bench/report.py "$RAW" "$OUT"
# a run of some rows only (BENCH_*ONLY) leaves out the loss-recovery tables
[[ -n ${BENCH_ONLY:-}${BENCH_SCALE_ONLY:-}${BENCH_BULK_ONLY:-}${BENCH_CRR_ONLY:-} ]] && exit 0
bench/recovery-bench.sh || echo "bench: recovery-bench.sh failed" >&2
# the same comparison over a TAP with the kernel as the peer (its own
# namespace and time bound; RECOVERY_NET_* choose the runs)
TAPIR=${BENCH_TAPIR:-build/tapir} RECOVERY_NET_RAW=${RECOVERY_NET_RAW:-$OUT/recovery-net.txt} \
	bench/recovery-net-bench.sh || echo "bench: recovery-net-bench.sh failed" >&2
