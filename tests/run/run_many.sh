#!/usr/bin/env bash
# Many connections ready at once under `tapir run`: 300 kernel clients of an
# echo server on one selector each send a byte; the server answers all 300
# together; the clients read the echoes and all close together; one more
# request afterwards must be answered.  (The relay loop once drained its epoll set until a batch came
# back short of 64 before stepping any relay: with 64 or more gate ends
# readable at once it spun forever and tapir served nothing more.)
source "$(dirname "$0")/lib_run.sh"
require_run python3
PEER=$LIB_DIR/../run/many_peer.py
N=300

ns_create
NSX_TIMEOUT=120 run_bg srv "${RUN_LINK[@]}" -- python3 "$PEER" serve 9500 "$N"
for _ in $(seq 100); do grep -q listening "$WORK/srv.out" && break; sleep 0.1; done
grep -q listening "$WORK/srv.out" || fail "the server does not listen ($(tail -3 "$WORK/srv.err"))"
NSX_TIMEOUT=90 nsx python3 "$PEER" burst "$HOST_ADDR" 9500 "$N" >"$WORK/burst.out" 2>"$WORK/burst.err" ||
	fail "the burst: $(tail -3 "$WORK/burst.err")"
grep -qx "echoed $N" "$WORK/burst.out" || fail "echoes: $(cat "$WORK/burst.out")"
grep -qx "after ok" "$WORK/burst.out" || fail "the request after: $(cat "$WORK/burst.out")"
log "$N connections echoed at once, closed together; the next one answered"
pass
