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
ip netns exec "$NS" timeout 90 python3 "$PEER" hold 7002 >"$WORK/hold.out" 2>&1 &
for _ in $(seq 100); do grep -q listening "$WORK/hold.out" && break; sleep 0.1; done
run_bg orphan --attach "$WORK/ctl" -- python3 "$PEER" client "$PEER_ADDR" 7002 "$WORK/go"
ORPHAN=$!
for _ in $(seq 100); do grep -q connected "$WORK/orphan.out" && break; sleep 0.1; done
grep -q connected "$WORK/orphan.out" || fail "the client did not connect ($(tail -3 "$WORK/orphan.err"))"

nsx ip link del "$TAP" || fail "cannot delete $TAP"
# a guard against a hang, not a threshold: the host wakes once a second
_wait_gone "$HOST_WRAP" 300 || fail "the host still runs 30 s after its TAP was deleted"
wait "$HOST_WRAP"
rc=$?
HOST_PID=""
[[ $rc -ne 0 && $rc -ne 124 && $rc -ne 137 ]] || fail "the host exited $rc after its TAP was deleted"
n=$(grep -c "^tapir: link $TAP: " "$HOST_ERR")
[[ $n -eq 1 ]] || fail "$n 'tapir: link $TAP:' lines, not 1: $(tail -5 "$HOST_ERR")"
log "the host ended, exit $rc: $(grep "^tapir: link" "$HOST_ERR")"
touch "$WORK/go"
wait "$ORPHAN"
log "the attached program: $(tr '\n' ' ' <"$WORK/orphan.out")"
grep -qx 'recv ECONNRESET' "$WORK/orphan.out" || fail "recv after the link died: $(cat "$WORK/orphan.out" "$WORK/orphan.err")"
grep -qE '^send (EPIPE|ECONNRESET)$' "$WORK/orphan.out" || fail "send after the link died: $(cat "$WORK/orphan.out" "$WORK/orphan.err")"

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
for _ in $(seq 100); do grep -q listening "$WORK/run.out" && break; sleep 0.1; done
grep -q listening "$WORK/run.out" || fail "the program under run does not listen ($(tail -3 "$WORK/run.err"))"
nsx ip link del "$TAP" || fail "cannot delete $TAP (the run's)"
_wait_gone "$RUNPID" 300 || fail "tapir run still runs 30 s after its TAP was deleted"
wait "$RUNPID"
rc=$?
[[ $rc -ne 0 && $rc -ne 124 && $rc -ne 137 ]] || fail "tapir run exited $rc after its TAP was deleted"
grep -q "^tapir: link $TAP: " "$WORK/run.err" || fail "tapir run said: $(tail -5 "$WORK/run.err")"
log "tapir run ended, exit $rc: $(grep "^tapir: link" "$WORK/run.err")"
# the program blocked in accept is not left waiting for the gate
for _ in $(seq 300); do grep -q '^accept' "$WORK/run.out" && break; sleep 0.1; done
grep -q '^accept [0-9]' "$WORK/run.out" || fail "the program under run: $(cat "$WORK/run.out")"
log "the program under run: $(grep '^accept' "$WORK/run.out")"
pass
