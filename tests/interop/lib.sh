# shellcheck shell=bash
# Shared helpers for the interop tests: the Linux kernel is the peer, over a
# TAP device inside a network namespace that each test creates for itself.
#
#   source "$(dirname "$0")/lib.sh"
#   require_root                 # exit 77 unless root with /dev/net/tun
#   ns_create                    # $NS, IPv6 off (NS_IPV6=1: on), cleanup on EXIT
#   host_start --pcap "$WORK/x.pcap"   # tapir host on tp0: 10.0.0.2, kernel 10.0.0.1
#   nsx ping -c 3 10.0.0.2       # any command inside the namespace, under timeout
#   host_counters snap           # SIGUSR1 -> $WORK/snap.ctr ("name value" lines)
#   host_stop                    # SIGTERM, exit 0, final counters in $WORK/final.ctr
#   pcap_assert_clean "$WORK/x.pcap" "$HOST_MAC"
#   must_counts "$WORK/x.pcap" WHAT FILTER -eq N [WHAT FILTER OP N]...  # one tshark pass
#
# Exit codes: 0 pass, 1 fail, 77 skip.  The binary is $TAPIR (default
# build/tapir, relative to the repository's top).
set -uo pipefail
# has [GREP ARGS] PATTERN: grep -q that reads all its input.  Under pipefail
# `cmd | has X` fails when grep exits at the first match and cmd, still
# writing, dies of SIGPIPE (seen with `ip addr show` on a loaded machine).
has() { grep "$@" >/dev/null; }

TEST_NAME=$(basename "$0" .sh)
LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$LIB_DIR/../.." && pwd)
TAPIR=${TAPIR:-build/tapir}
[[ $TAPIR = /* ]] || TAPIR=$REPO_DIR/$TAPIR
# shellcheck disable=SC2034 # used by the tests that source this
PY=/usr/bin/python3 # has scapy; the python3 first on PATH may not
# the python of the tests imports inet.py (and attack_lib.py) from here
export PYTHONPATH=$LIB_DIR${PYTHONPATH:+:$PYTHONPATH}

HOST_ADDR=10.0.0.2
PEER_ADDR=10.0.0.1
TAP=tp0

NS=""
WORK=""
HOST_WRAP="" # the `timeout` guarding the host (our child)
HOST_PID=""  # tapir itself
HOST_OUT=""
HOST_ERR=""
HOST_MAC=""
HOST_N=0

log() { printf '[%s] %s\n' "$TEST_NAME" "$*"; }
fail() {
	printf '[%s] FAIL: %s\n' "$TEST_NAME" "$*" >&2
	exit 1
}
skip() {
	printf '[%s] SKIP: %s\n' "$TEST_NAME" "$*"
	exit 77
}
pass() {
	log "PASS"
	exit 0
}

require_root() {
	[[ $(id -u) -eq 0 ]] || skip "needs root (network namespaces, TAP devices)"
	[[ -c /dev/net/tun ]] || skip "no /dev/net/tun"
	[[ -x $TAPIR ]] || fail "no tapir binary at $TAPIR (set TAPIR)"
	local t
	for t in ip timeout tshark "$@"; do
		command -v "$t" >/dev/null || fail "missing tool: $t"
	done
}

# ---- namespace and cleanup ----

_cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	set +e
	if [[ -n $HOST_PID ]] && kill -0 "$HOST_PID" 2>/dev/null; then
		kill -TERM "$HOST_PID" 2>/dev/null
		_wait_gone "$HOST_WRAP" 50 || kill -KILL "$HOST_PID" "$HOST_WRAP" 2>/dev/null
	fi
	local ns p
	for ns in "${NS_MORE[@]}" "$NS"; do
		[[ -n $ns ]] || continue
		# anything still running inside (a kernel tool left by a failed step)
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		timeout 10 ip netns del "$ns" 2>/dev/null
	done
	if [[ -n $WORK && -d $WORK ]]; then
		if [[ $rc -ne 0 && $rc -ne 77 && -z ${KEEP_WORK_ON_PASS:-} ]]; then
			if [[ -n $HOST_ERR && -s $HOST_ERR ]]; then
				echo "--- host stderr (last 40 lines): $HOST_ERR" >&2
				tail -n 40 "$HOST_ERR" >&2
			fi
			echo "--- files kept in $WORK" >&2
		else
			rm -rf "$WORK"
		fi
	fi
	exit "$rc"
}

ns_create() {
	WORK=$(mktemp -d "/tmp/tapir-interop-$TEST_NAME.XXXXXX") || fail "mktemp"
	NS="tapir-$$-$RANDOM"
	trap _cleanup EXIT
	trap 'exit 1' INT TERM HUP
	timeout 10 ip netns add "$NS" || {
		NS=""
		fail "cannot create network namespace"
	}
	# IPv6 off, so the kernel sends no router/neighbour solicitations
	# (NS_IPV6=1 before ns_create keeps it on, for the IPv6 tests)
	if [[ -z ${NS_IPV6:-} ]]; then
		nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 ||
			fail "cannot disable IPv6 in $NS"
	fi
	nsx ip link set lo up || fail "cannot bring lo up in $NS"
}

# ns_more NAME: one more namespace beside $NS (after ns_create), removed
# by the same cleanup, whatever happens
NS_MORE=()
ns_more() {
	timeout 10 ip netns add "$1" || fail "cannot create namespace $1"
	NS_MORE+=("$1")
}

# nsx CMD...: runs CMD inside the namespace, killed after $NSX_TIMEOUT s (30).
nsx() {
	timeout -k 5 "${NSX_TIMEOUT:-30}" ip netns exec "$NS" "$@"
}

# ---- the tapir host ----

# _wait_gone PID TENTHS: waits until PID has exited; 1 if it has not.
_wait_gone() {
	local i
	for ((i = 0; i < $2; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	! kill -0 "$1" 2>/dev/null
}

# host_start [ARGS...]: tapir host on tp0 (10.0.0.2/24, kernel side
# 10.0.0.1/24) with extra ARGS; waits for 'ready' (HOST_READY_TENTHS: 10 s).  Sets HOST_PID,
# HOST_MAC, HOST_OUT, HOST_ERR.
host_start() {
	local i addr=(--addr "$HOST_ADDR/24" --peer-addr "$PEER_ADDR/24")
	# HOST_ADDR=dhcp: --addr dhcp; the test sets up the kernel's side itself
	[[ $HOST_ADDR = dhcp ]] && addr=(--addr dhcp)
	HOST_N=$((HOST_N + 1))
	HOST_OUT=$WORK/host$HOST_N.out
	HOST_ERR=$WORK/host$HOST_N.err
	timeout -s TERM -k 5 "${HOST_GUARD:-300}" ip netns exec "$NS" \
		"$TAPIR" host --tap "$TAP" "${addr[@]}" "$@" \
		>"$HOST_OUT" 2>"$HOST_ERR" &
	HOST_WRAP=$!
	HOST_PID=""
	for ((i = 0; i < ${HOST_READY_TENTHS:-100}; i++)); do
		if grep -q '^ready ' "$HOST_OUT" 2>/dev/null; then
			break
		fi
		if ! kill -0 "$HOST_WRAP" 2>/dev/null; then
			cat "$HOST_ERR" >&2
			fail "tapir host exited before 'ready'"
		fi
		sleep 0.1
	done
	grep -q '^ready ' "$HOST_OUT" ||
		fail "tapir host printed no 'ready' line within $((${HOST_READY_TENTHS:-100} / 10)) s"
	HOST_PID=$(pgrep -P "$HOST_WRAP" | head -n 1)
	[[ -n $HOST_PID ]] || fail "cannot find the tapir process under $HOST_WRAP"
	HOST_MAC=$(sed -n 's/^ready .* mac=\([0-9a-f:]\{17\}\)\( .*\)\?$/\1/p' "$HOST_OUT" | head -n 1)
	[[ -n $HOST_MAC ]] || fail "no mac= in the ready line: $(grep '^ready' "$HOST_OUT")"
	log "host up: $(grep -m1 '^ready ' "$HOST_OUT")"
}

# _last_block ERRFILE OUTFILE: the last "tapir: counters" block of ERRFILE as
# "name value" lines (plus "summary.received/delivered/dropped").  Returns 1
# while the block is incomplete or inconsistent.
_last_block() {
	awk '
		/^tapir: counters \(frames: / {
			n = 0; have = 1
			# "frames: R received, D delivered, X dropped"
			m = split($0, w, /[ ,()]+/)
			for (j = 1; j <= m; j++) {
				if (w[j+1] == "received") r = w[j]
				if (w[j+1] == "delivered") d = w[j]
				if (w[j+1] == "dropped") x = w[j]
			}
			next
		}
		have && /^  [a-z0-9_.]+ +[0-9]+$/ { line[++n] = $1 " " $2; next }
		END {
			if (!have) exit 1
			print "summary.received " r; print "summary.delivered " d; print "summary.dropped " x
			for (j = 1; j <= n; j++) print line[j]
		}' "$1" >"$2" || return 1
	local r d x rx dl sum
	r=$(ctr "$2" summary.received)
	d=$(ctr "$2" summary.delivered)
	x=$(ctr "$2" summary.dropped)
	rx=$(ctr "$2" rx_frames)
	dl=$(ctr "$2" rx_delivered)
	sum=$(awk '$1 ~ /^drop\./ { s += $2 } END { print s + 0 }' "$2")
	# counters are printed only when non-zero, drops last: the block is
	# complete once the drop lines add up to the summary's total
	[[ $rx -eq $r && $dl -eq $d && $sum -eq $x ]]
}

# ctr FILE NAME: a counter's value (0 when absent: tapir prints non-zero ones).
ctr() {
	awk -v n="$2" '$1 == n { v = $2 } END { print v + 0 }' "$1"
}

# ctr_delta BEFORE AFTER NAME: how much a counter grew from one file to the other.
ctr_delta() {
	echo $(($(ctr "$2" "$3") - $(ctr "$1" "$3")))
}

# drops_of FILE: the drop.* lines of a counters file.
drops_of() {
	awk '$1 ~ /^drop\./' "$1"
}

# host_counters NAME: SIGUSR1, then the block in $WORK/NAME.ctr.  Checks that
# it is consistent and that rx_frames == rx_delivered + dropped.
host_counters() {
	local f=$WORK/$1.ctr before i
	before=$(grep -c '^tapir: counters' "$HOST_ERR")
	kill -USR1 "$HOST_PID" || fail "cannot signal the host (pid $HOST_PID)"
	for ((i = 0; i < 100; i++)); do
		if [[ $(grep -c '^tapir: counters' "$HOST_ERR") -gt $before ]] &&
			_last_block "$HOST_ERR" "$f"; then
			break
		fi
		sleep 0.1
	done
	[[ $(grep -c '^tapir: counters' "$HOST_ERR") -gt $before ]] ||
		fail "no counters on stderr within 10 s of SIGUSR1"
	_last_block "$HOST_ERR" "$f" || {
		cat "$f" >&2
		fail "counters inconsistent: rx_frames != rx_delivered + dropped (or drop lines do not add up)"
	}
	_check_invariant "$f"
}

_check_invariant() {
	local rx dl x
	rx=$(ctr "$1" rx_frames)
	dl=$(ctr "$1" rx_delivered)
	x=$(ctr "$1" summary.dropped)
	[[ $rx -eq $((dl + x)) ]] ||
		fail "rx_frames $rx != rx_delivered $dl + dropped $x"
}

# host_stop: SIGTERM; the host must exit 0 within 10 s and print its
# counters (kept in $WORK/final.ctr).
host_stop() {
	local rc
	[[ -n $HOST_PID ]] || fail "host_stop: no host running"
	kill -0 "$HOST_PID" 2>/dev/null || fail "the host (pid $HOST_PID) is no longer running"
	kill -TERM "$HOST_PID"
	_wait_gone "$HOST_WRAP" 100 || fail "the host did not exit within 10 s of SIGTERM"
	wait "$HOST_WRAP"
	rc=$?
	HOST_PID=""
	[[ $rc -eq 0 ]] || fail "the host exited with status $rc after SIGTERM"
	_last_block "$HOST_ERR" "$WORK/final.ctr" || fail "no consistent final counters on stderr"
	_check_invariant "$WORK/final.ctr"
}

# host_alive: fails unless the host process still runs.
host_alive() {
	if [[ -z $HOST_PID ]] || ! kill -0 "$HOST_PID" 2>/dev/null; then
		fail "the host died; stderr: $(tail -n 20 "$HOST_ERR")"
	fi
}

# slaac_addr PREFIX: PREFIX ("fd00:5::") with HOST_MAC's modified EUI-64
# interface identifier (RFC 4291 Appendix A: the U/L bit inverted, ff:fe in
# the middle), the address tapir forms by SLAAC
slaac_addr() {
	local m0 m1 m2 m3 m4 m5
	IFS=: read -r m0 m1 m2 m3 m4 m5 <<<"$HOST_MAC"
	printf '%s%x:%x:%x:%x' "$1" $(((0x$m0 ^ 2) << 8 | 0x$m1)) $((0x$m2 << 8 | 0xff)) \
		$((0xfe << 8 | 0x$m3)) $((0x$m4 << 8 | 0x$m5))
}

# slaac_formed ADDR: tapir (--trace nd) formed ADDR from a router's prefix,
# it passed DAD, and the host said so in one line (INTERFACE.md)
slaac_formed() {
	grep -q "slaac: $1 from a router's prefix" "$HOST_OUT" ||
		fail "tapir formed no $1: $(grep 'slaac' "$HOST_OUT")"
	grep -q "dad: $1 is ours" "$HOST_OUT" || fail "$1 did not pass DAD"
	grep -q "^address $1/64 added$" "$HOST_OUT" || fail "no 'address $1/64 added' line"
}

# ---- captures ----

# tshark with checksum validation on, and no personal preferences (an
# empty configuration directory); every call bounded.
tsh() {
	mkdir -p "$WORK/wireshark"
	WIRESHARK_CONFIG_DIR=$WORK/wireshark timeout 60 tshark -n -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
		-o tcp.check_checksum:TRUE "$@" 2>"$WORK/tshark.err"
	local rc=$?
	[[ $rc -eq 0 ]] || fail "tshark $* failed ($rc): $(grep -v 'Running as user' "$WORK/tshark.err")"
}

# pcap_count PCAP FILTER: number of frames matching FILTER.
pcap_count() {
	local out
	out=$(tsh -r "$1" -Y "$2" -T fields -e frame.number) || exit 1
	grep -c . <<<"$out"
}

# pcap_counts PCAP FILTER...: the number of frames matching each FILTER,
# one line each, from a single tshark pass (io,stat: one column per filter).
# tshark's start-up (its dissectors) costs far more than reading a test's
# capture, so counts of one capture are taken together.  io,stat separates
# its filters with commas: a FILTER must have none.
pcap_counts() {
	local pcap=$1 f z=io,stat,0 out
	shift
	for f in "$@"; do
		[[ $f != *,* ]] || fail "pcap_counts: a comma in '$f' (use pcap_count)"
		z+=",$f"
	done
	out=$(tsh -r "$pcap" -q -z "$z") || exit 1
	# "| Interval | Frames | Bytes | Frames | Bytes |", then one row per
	# interval (none when the capture is empty): column i's frames are
	# field 2i+1 when split at '|'
	awk -F'|' -v n=$# '
		/^\| Interval +\|/ { head = 1; next }
		head && / <> / { rows++; for (i = 1; i <= n; i++) c[i] += $(2 * i + 1) }
		END {
			if (!head) exit 1
			for (i = 1; i <= n; i++) print c[i] + 0
		}' <<<"$out" || fail "pcap_counts: no io,stat table from tshark on $pcap: $out"
}

# must_count WHAT PCAP FILTER OP N: fails unless the number of frames
# matching FILTER compares with N by OP (-eq, -ge, ...); logs it otherwise.
must_count() {
	local what=$1 n
	n=$(pcap_count "$2" "$3") # (grep -c: status 1 when none)
	_must_be "$what" "$n" "$2" "$3" "$4" "$5"
}

# _must_be WHAT N PCAP FILTER OP WANT: must_count's check of a count N.
_must_be() {
	[[ $2 =~ ^[0-9]+$ ]] || fail "$1: cannot count '$4' in $3"
	test "$2" "$5" "$6" || fail "$1: $2 frames match '$4', expected $5 $6"
	log "$1: $2 frames ($4)"
}

# must_counts PCAP WHAT FILTER OP N [WHAT FILTER OP N]...: must_count of
# each (WHAT FILTER OP N), in order, from one tshark pass (pcap_counts: no
# comma in a FILTER).
must_counts() {
	local pcap=$1 filters=() counts i
	shift
	(($# % 4 == 0)) || fail "must_counts: not groups of WHAT FILTER OP N: $*"
	for ((i = 2; i <= $#; i += 4)); do filters+=("${!i}"); done
	mapfile -t counts < <(pcap_counts "$pcap" "${filters[@]}")
	[[ ${#counts[@]} -eq ${#filters[@]} ]] || fail "must_counts: cannot count in $pcap"
	for ((i = 0; i < ${#filters[@]}; i++)); do
		_must_be "$1" "${counts[i]}" "$pcap" "$2" "$3" "$4"
		shift 4
	done
}

# pcap_assert_clean PCAP MAC [EXCLUDE]: the frames MAC sent (tapir's) have
# no bad IP, ICMP, UDP or TCP checksum and nothing Wireshark calls malformed
# or an error.  A capture holds received frames too: EXCLUDE (a display
# filter) names received ones that carry tapir's MAC as their source.
# (Checked against deliberately broken captures: pcap_check.sh.)
PCAP_BAD='(ip.checksum.status == 0 || icmp.checksum.status == 0 || udp.checksum.status == 0 || tcp.checksum.status == 0 || _ws.malformed || _ws.expert.severity == error)'
pcap_assert_clean() {
	local pcap=$1 mac=$2 sel="eth.src == $2" n bad
	[[ -n ${3:-} ]] && sel="$sel && !($3)"
	[[ -s $pcap ]] || fail "no capture at $pcap"
	# both counts in one pass; the bad frames are listed only when there are some
	{ read -r n && read -r bad; } < <(pcap_counts "$pcap" "$sel" "$sel && $PCAP_BAD")
	[[ $n =~ ^[0-9]+$ && $bad =~ ^[0-9]+$ ]] || fail "cannot count the frames of $pcap"
	[[ $n -gt 0 ]] || fail "$pcap holds no frame from $mac"
	if [[ $bad -gt 0 ]]; then
		tsh -r "$pcap" -Y "$sel && $PCAP_BAD" >&2
		fail "$pcap: frames from $mac with bad checksums or malformed (above)"
	fi
	log "pcap clean: $n frames from $mac, no bad checksum, nothing malformed"
}
