#!/usr/bin/env bash
# Bad input and crashes under `tapir run --attach`, as on the kernel:
#  - a COMMAND that does not exist: one tapir: line, exit 2;
#  - a port taken on tapir (by another run on the same host) is EADDRINUSE
#    to the program's bind;
#  - COMMAND killed -9 with a connection open: the kernel-side peer sees its
#    end (FIN, or RST for unread data), nothing hangs in tapir;
#  - the host killed -9 under a program's open connection: recv and send
#    fail (ECONNRESET / EPIPE), never hang.
source "$(dirname "$0")/lib_run.sh"
require_run python3
PEER=$LIB_DIR/../run/crash_peer.py

ns_create
host_start --control "$WORK/ctl" --serve echo

nsx "$TAPIR" run --attach "$WORK/ctl" -- /no/such/command 2>"$WORK/nocmd.err"
rc=$?
[[ $rc -eq 2 && $(grep -c . "$WORK/nocmd.err") -eq 1 ]] && grep -q '^tapir: ' "$WORK/nocmd.err" ||
	fail "--attach, a missing command: exit $rc ($(cat "$WORK/nocmd.err"))"

# ---- a port taken ----
run_bg b1 --attach "$WORK/ctl" -- python3 "$PEER" bind 7000
for _ in $(seq 100); do grep -q . "$WORK/b1.out" && break; sleep 0.1; done
grep -qx bound "$WORK/b1.out" || fail "the first bind: $(cat "$WORK/b1.out" "$WORK/b1.err")"
run_bg b2 --attach "$WORK/ctl" -- python3 "$PEER" bind 7000
for _ in $(seq 100); do grep -q . "$WORK/b2.out" && break; sleep 0.1; done
grep -qx EADDRINUSE "$WORK/b2.out" || fail "the second bind of 7000: $(cat "$WORK/b2.out" "$WORK/b2.err")"
log "a port taken by another run: EADDRINUSE"

# ---- COMMAND killed -9 with a connection open ----
ip netns exec "$NS" timeout 90 python3 "$PEER" hold 7001 >"$WORK/hold.out" 2>&1 &
for _ in $(seq 100); do grep -q listening "$WORK/hold.out" && break; sleep 0.1; done
run_bg victim --attach "$WORK/ctl" -- python3 "$PEER" client "$PEER_ADDR" 7001 "$WORK/never"
for _ in $(seq 100); do grep -q connected "$WORK/victim.out" && break; sleep 0.1; done
grep -q connected "$WORK/victim.out" || fail "the client did not connect ($(tail -3 "$WORK/victim.err"))"
for _ in $(seq 100); do grep -q accepted "$WORK/hold.out" && break; sleep 0.1; done
pid=$(pgrep -f "^[^ ]*python3 [^ ]*crash_peer.py client $PEER_ADDR 7001")
[[ -n $pid ]] || fail "cannot find the client's pid"
kill -KILL "$pid"
for _ in $(seq 300); do grep -qE 'FIN|RST|HANG' "$WORK/hold.out" && break; sleep 0.1; done
grep -qE '^(FIN|RST)$' "$WORK/hold.out" || fail "the kernel's peer after kill -9: $(cat "$WORK/hold.out")"
log "COMMAND killed -9: the kernel's peer saw $(grep -E '^(FIN|RST)$' "$WORK/hold.out")"
for _ in $(seq 100); do
	nsx "$TAPIR" ss --control "$WORK/ctl" >"$WORK/ss.out" 2>&1
	grep -q ":7001 " "$WORK/ss.out" || break
	sleep 0.1
done
grep ":7001 " "$WORK/ss.out" | grep -vq TIME && fail "a connection to 7001 left in tapir: $(cat "$WORK/ss.out")"

# ---- the host killed -9 ----
orphan_start 7002
kill -KILL "$HOST_PID"
_wait_gone "$HOST_PID" 50 || fail "the host survived kill -9"
orphan_check "the host's crash"
pass
