#!/usr/bin/env bash
# The TAP device deleted under a running host (`ip link del` in the
# namespace): the host must not spin on the dead device's read error.  It
# ends with one `tapir: link tp0: ...` line and a non-zero exit, and the
# programs attached to it see their connection fail (ECONNRESET / EPIPE),
# never hang.  The same for a standalone `tapir run --tap`: it ends, non-zero.
# (The only time limits are generous guards against a hang.)
source "$(dirname "$0")/lib_run.sh"
require_run python3
PEER=$LIB_DIR/../run/crash_peer.py

ns_create
host_start --control "$WORK/ctl" --serve echo
orphan_start 7002

nsx ip link del "$TAP" || fail "cannot delete $TAP"
dead_tap_wait "$HOST_WRAP" "the host"
HOST_PID=""
n=$(grep -c "^tapir: link $TAP: " "$HOST_ERR")
[[ $n -eq 1 ]] || fail "$n 'tapir: link $TAP:' lines, not 1: $(tail -5 "$HOST_ERR")"
log "the host ended, exit $DEAD_RC: $(grep "^tapir: link" "$HOST_ERR")"
orphan_check "the link died"

# ---- a standalone tapir run: its own host on a new TAP ----
ip netns exec "$NS" timeout -k 5 90 "$TAPIR" run "${RUN_LINK[@]}" -- \
	python3 -c "
import socket
s = socket.socket(); s.bind(('0.0.0.0', 9100)); s.listen(1); print('listening', flush=True)
try:
    s.accept(); print('accepted', flush=True)
except OSError as e:
    print('accept', e.errno, flush=True)" >"$WORK/run.out" 2>"$WORK/run.err" &
RUNPID=$!
wait_line listening "$WORK/run.out" || fail "the program under run does not listen ($(tail -3 "$WORK/run.err"))"
nsx ip link del "$TAP" || fail "cannot delete $TAP (the run's)"
dead_tap_wait "$RUNPID" "tapir run"
grep -q "^tapir: link $TAP: " "$WORK/run.err" || fail "tapir run said: $(tail -5 "$WORK/run.err")"
log "tapir run ended, exit $DEAD_RC: $(grep "^tapir: link" "$WORK/run.err")"
# the program blocked in accept is not left waiting for the gate
wait_line '^accept' "$WORK/run.out" 300
grep -q '^accept [0-9]' "$WORK/run.out" || fail "the program under run: $(cat "$WORK/run.out")"
log "the program under run: $(grep '^accept' "$WORK/run.out")"
pass
