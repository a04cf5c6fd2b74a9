# shellcheck shell=bash
# Helpers of the seccomp tests (run_rawsys.sh, run_static.sh): programs the
# preload cannot reach, under `tapir run`, with the kernel as the peer in a
# namespace of their own (tests/interop/lib.sh makes it and cleans up).
#
#   source "$(dirname "$0")/lib_seccomp.sh"
#   seccomp_setup curl python3     # root, tools, namespace, $WWW with f.bin
#   kernel_http 8000               # python3 http.server on the kernel's side
#   run_fg OUT ERR [RUN OPTIONS] -- CMD...   # tapir run in the foreground
#   run_bg OUT ERR [RUN OPTIONS] -- CMD...   # in the background: $RUN_PID
#   run_stop                       # SIGTERM to that tapir run, and wait
#   fetch URL FILE                 # the kernel's curl, retried until it answers
source "$(dirname "${BASH_SOURCE[0]}")/../interop/lib.sh"

RUNBIN=${RUNBIN:-$REPO_DIR/build/tests/run}
RUN_PID=""

seccomp_setup() {
	require_root "$@"
	"$TAPIR" run --help 2>&1 | has -- '--no-seccomp' || skip "tapir run has no seccomp"
	ns_create
	WWW=$WORK/www
	mkdir -p "$WWW"
	head -c 3000000 /dev/urandom >"$WWW/f.bin" || fail "cannot make f.bin"
}

# kernel_http PORT: a static file server in the namespace on every address
# (10.0.0.1 appears once tapir run has made the TAP), killed at cleanup.
kernel_http() {
	timeout -k 5 "${HOST_GUARD:-300}" ip netns exec "$NS" python3 -m http.server "$1" \
		--bind 0.0.0.0 --directory "$WWW" >"$WORK/http.out" 2>&1 &
}

_run() {
	local out=$1 err=$2 opts=()
	shift 2
	while [[ $# -gt 0 && $1 != -- ]]; do
		opts+=("$1")
		shift
	done
	shift
	timeout -s TERM -k 5 "${RUN_GUARD:-120}" ip netns exec "$NS" "$TAPIR" run --tap "$TAP" \
		--addr "$HOST_ADDR/24" --peer-addr "$PEER_ADDR/24" "${opts[@]}" -- "$@" \
		>"$out" 2>"$err"
}

run_fg() { _run "$@"; }

run_bg() {
	_run "$@" &
	RUN_PID=$!
}

# run_stop: SIGTERM to the tapir run started by run_bg (it forwards it to
# its command, flushes its capture, exits); waits for it.
run_stop() {
	local p=$RUN_PID c
	# (the subshell ->) timeout -> tapir (ip netns exec execs it)
	for c in 1 2 3; do
		[[ $(cat "/proc/$p/comm" 2>/dev/null) = tapir ]] && break
		p=$(pgrep -P "$p" | head -n 1)
		[[ -n $p ]] || fail "run_stop: no tapir run under $RUN_PID"
	done
	[[ $(cat "/proc/$p/comm" 2>/dev/null) = tapir ]] || fail "run_stop: no tapir run under $RUN_PID"
	kill -TERM "$p"
	wait "$RUN_PID"
}

# fetch URL FILE: the kernel's curl until it gets an answer (20 s at most:
# the program under tapir run may still be starting).
fetch() {
	local i
	for ((i = 0; i < 100; i++)); do
		nsx curl -sf --max-time 10 -o "$2" "$1" && return 0
		sleep 0.2
	done
	return 1
}
