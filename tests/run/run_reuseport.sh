#!/usr/bin/env bash
# SO_REUSEPORT under `tapir run --attach`, as on Linux (socket(7)): two
# servers in two runs on one host both bind port 7100 with SO_REUSEPORT and
# both get connections from the kernel's clients; a third binding it
# without SO_REUSEPORT gets EADDRINUSE.  The first server killed, the
# second takes every connection (the group's listener passes to it).
source "$(dirname "$0")/lib_run.sh"
require_run python3
PEER=$LIB_DIR/../run/reuseport_peer.py
N=40

ns_create
host_start --control "$WORK/ctl" --serve echo

started() {
	for _ in $(seq 100); do grep -q . "$WORK/$1.out" && break; sleep 0.1; done
	grep -qx "$2" "$WORK/$1.out" || fail "$1: $(cat "$WORK/$1.out" "$WORK/$1.err")"
}
run_bg A --attach "$WORK/ctl" -- python3 "$PEER" serve A 7100 1
started A listening
run_bg B --attach "$WORK/ctl" -- python3 "$PEER" serve B 7100 1
started B listening
run_bg C --attach "$WORK/ctl" -- python3 "$PEER" serve C 7100 0
started C EADDRINUSE
log "A and B bound 7100 with SO_REUSEPORT; C without it: EADDRINUSE"

nsx python3 "$PEER" ask "$HOST_ADDR" 7100 "$N" >"$WORK/ask1.out" 2>"$WORK/ask1.err" ||
	fail "the kernel's clients: $(tail -3 "$WORK/ask1.err")"
a=$(grep -cx A "$WORK/ask1.out")
b=$(grep -cx B "$WORK/ask1.out")
log "$N connections: A took $a, B took $b"
[[ $((a + b)) -eq $N ]] || fail "only $((a + b)) of $N connections answered: $(sort "$WORK/ask1.out" | uniq -c)"
[[ $a -ge 1 && $b -ge 1 ]] || fail "one server took them all (A $a, B $b)"

pid=$(pgrep -f "^[^ ]*python3 [^ ]*reuseport_peer.py serve A 7100")
[[ -n $pid ]] || fail "cannot find server A"
kill -KILL "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
nsx python3 "$PEER" ask "$HOST_ADDR" 7100 "$N" >"$WORK/ask2.out" 2>"$WORK/ask2.err" ||
	fail "the kernel's clients after A's end: $(tail -3 "$WORK/ask2.err")"
b=$(grep -cx B "$WORK/ask2.out")
[[ $b -eq $N ]] || fail "after A's end B took $b of $N: $(sort "$WORK/ask2.out" | uniq -c)"
log "A killed: B took all $N"
pass
