#!/usr/bin/env bash
# The relays' figures (docs/performance.md, "Relays"): bench/load against
# bench/ksrv in a namespace, directly (127.0.0.1) and through
# `tapir host --forward` (tapir's address -> 127.0.0.1), and the host's own
# built-in services for reference.  Root; figures only, nothing passes or
# fails.  Needs `make build` and the bench programs (make -C bench, or:
# make -C bench O=../build/bench/bin ../build/bench/bin/load ../build/bench/bin/ksrv).
#   BENCH_SECS=N  each measurement's length (default 3)
# shellcheck source=tests/run/lib_fwd.sh
source "$(dirname "$0")/../tests/run/lib_fwd.sh"
require_root ip
S=${BENCH_SECS:-3}
B=$REPO_DIR/build/bench/bin
[[ -x $B/load && -x $B/ksrv ]] || fail "no $B/load or $B/ksrv (make -C bench)"
ns_create
(timeout $((S * 20 + 60)) ip netns exec "$NS" "$B/ksrv" >/dev/null 2>&1 &)
_wait_listen 7

# rows WHAT ADDR DISCARD SOURCE ECHO [CPU_PID]: one line per measurement
rows() {
	echo "$1:"
	echo "  send  $(nsx "$B/load" send "$2" "$3" "$S" 65536 ${6:+"$6"})"
	echo "  recv  $(nsx "$B/load" recv "$2" "$4" "$S" 65536 ${6:+"$6"})"
	echo "  rr    $(nsx "$B/load" rr "$2" "$5" "$S" 1000000)"
	echo "  crr   $(nsx "$B/load" crr "$2" "$5" "$S" 1000000)"
}
rows "kernel, direct (127.0.0.1)" 127.0.0.1 9 19 7
host_start --serve daytime --forward 7007=127.0.0.1:7 --forward 7009=127.0.0.1:9 \
	--forward 7019=127.0.0.1:19
rows "through tapir host --forward" "$HOST_ADDR" 7009 7019 7007 "$HOST_PID"
host_stop
host_start --serve echo,discard,chargen
rows "tapir host's built-in services" "$HOST_ADDR" 9 19 7 "$HOST_PID"
host_stop
pass
