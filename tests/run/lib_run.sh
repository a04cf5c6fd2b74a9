# shellcheck shell=bash
# Helpers of the tapir run tests: the namespace, TAP and cleanup of
# tests/interop/lib.sh, and `tapir run` on that TAP.
#   source "$(dirname "$0")/lib_run.sh"
#   require_run curl             # root, the preload, the tools named
#   ns_create
#   run_fg [RUN OPTIONS] -- CMD...   # tapir run in the namespace, waited for
#   run_bg NAME [RUN OPTIONS] -- CMD...  # in the background; $WORK/NAME.{out,err}
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
