# shellcheck shell=bash
# Helpers of the tapir run tests: the namespace, TAP and cleanup of
# tests/interop/lib.sh, and `tapir run` on that TAP.
#   source "$(dirname "$0")/lib_run.sh"
#   require_run curl             # root, the preload, the tools named
#   ns_create
#   run_fg [RUN OPTIONS] -- CMD...   # tapir run in the namespace, waited for
#   run_bg NAME [RUN OPTIONS] -- CMD...  # in the background; $WORK/NAME.{out,err}
#   wait_line PATTERN FILE [TENTHS]      # until grep -q PATTERN FILE (10 s)
#   orphan_start PORT / orphan_check WHAT  # crash_peer.py hold + client (run_crash, run_deadlink)
#   dead_tap_wait PID WHAT               # PID ends, non-zero, after $TAP was deleted
#   capture_ready PCAP ERR PING...       # pings (PING...) until dumpcap's PCAP grows
source "$(dirname "${BASH_SOURCE[0]}")/../interop/lib.sh"

RUN_MAC=02:00:00:00:00:22

require_run() {
	require_root "$@"
	"$TAPIR" run --help >/dev/null 2>&1 || skip "this tapir has no 'run' subcommand"
	[[ -n ${TAPIR_PRELOAD:-} && -r ${TAPIR_PRELOAD:-} ]] ||
		[[ -r $(dirname "$TAPIR")/libtapir-run.so ]] || skip "no libtapir-run.so built"
}

# the link options of every run: tapir 10.0.0.2 on tp0, the kernel 10.0.0.1
RUN_LINK=(--tap "$TAP" --addr "$HOST_ADDR/24" --peer-addr "$PEER_ADDR/24" --mac "$RUN_MAC")

run_fg() {
	nsx "$TAPIR" run "$@"
}

run_bg() {
	local name=$1
	shift
	ip netns exec "$NS" timeout -k 5 "${NSX_TIMEOUT:-120}" "$TAPIR" run "$@" \
		>"$WORK/$name.out" 2>"$WORK/$name.err" &
}

# wait_port ADDR PORT: until a kernel connect from the namespace succeeds
wait_port() {
	local i
	for i in $(seq 100); do
		nsx bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# wait_line PATTERN FILE [TENTHS]: until FILE has a line matching PATTERN
# (grep -q), at most TENTHS tenths of a second (100); grep's status.
wait_line() {
	local i
	for ((i = 0; i < ${3:-100}; i++)); do
		grep -q "$1" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	grep -q "$1" "$2" 2>/dev/null
}

# orphan_start PORT: crash_peer.py ($PEER) holds PORT on the kernel side
# ($WORK/hold-PORT.out), and a program attached to the host on
# $WORK/ctl connects to it and waits for $WORK/go ($ORPHAN, $WORK/orphan.*).
orphan_start() {
	ip netns exec "$NS" timeout 90 python3 "$PEER" hold "$1" >"$WORK/hold-$1.out" 2>&1 &
	wait_line listening "$WORK/hold-$1.out"
	run_bg orphan --attach "$WORK/ctl" -- python3 "$PEER" client "$PEER_ADDR" "$1" "$WORK/go"
	ORPHAN=$!
	wait_line connected "$WORK/orphan.out" || fail "the client did not connect ($(tail -3 "$WORK/orphan.err"))"
}

# orphan_check WHAT: once its host is gone, the program of orphan_start
# gets ECONNRESET from recv and EPIPE or ECONNRESET from send, no hang.
orphan_check() {
	touch "$WORK/go"
	wait "$ORPHAN"
	log "$1: $(tr '\n' ' ' <"$WORK/orphan.out")"
	grep -qx 'recv ECONNRESET' "$WORK/orphan.out" || fail "recv after $1: $(cat "$WORK/orphan.out" "$WORK/orphan.err")"
	grep -qE '^send (EPIPE|ECONNRESET)$' "$WORK/orphan.out" || fail "send after $1: $(cat "$WORK/orphan.out" "$WORK/orphan.err")"
}

# dead_tap_wait PID WHAT: after $TAP was deleted, PID (WHAT) ends by
# itself, non-zero and not by a timeout's signal; its status in $DEAD_RC.
# (30 s is a guard against a hang, not a threshold: a host wakes once a
# second.)
dead_tap_wait() {
	_wait_gone "$1" 300 || fail "$2 still runs 30 s after its TAP was deleted"
	wait "$1"
	DEAD_RC=$?
	[[ $DEAD_RC -ne 0 && $DEAD_RC -ne 124 && $DEAD_RC -ne 137 ]] || fail "$2 exited $DEAD_RC after its TAP was deleted"
}

# capture_ready PCAP ERR PING...: dumpcap writes in blocks, so run PING...
# (one ping) until PCAP grows; then it surely captures.  ERR: dumpcap's
# stderr.  A pause after each ping: a ping that fails at once (the TAP is
# there, its address not yet) or is answered in half a millisecond would
# use up the tries before tapir has set the link up or dumpcap has written
# a block.
capture_ready() {
	local pcap=$1 err=$2 s0="" i
	shift 2
	for ((i = 0; i < 100; i++)); do
		[[ -s $pcap && -z $s0 ]] && s0=$(stat -c %s "$pcap")
		[[ -n $s0 && $(stat -c %s "$pcap") -gt $s0 ]] && return 0
		"$@" >/dev/null 2>&1
		sleep 0.1
	done
	fail "dumpcap captures nothing ($(cat "$err"))"
}
