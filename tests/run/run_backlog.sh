#!/usr/bin/env bash
# A listen backlog larger than the default unix send buffer holds, filled
# while the program under `tapir run` accepts nothing: 400 kernel clients
# connect to a listen(1024) server that starts accepting only once all are
# connected, each having sent a byte; all must be echoed.  (The gate hands
# each connection over as one record on the listener's unix socket, some
# 768 bytes of send buffer each: past about 270 the send failed with
# EAGAIN and the gate reset every connection still queued, which clients
# saw as ECONNRESET -- run_many.sh's failure on a loaded machine, where the
# server fell that far behind.  Linux keeps them all in its accept queue.)
source "$(dirname "$0")/lib_run.sh"
require_run python3
PEER=$LIB_DIR/../run/many_peer.py
N=400

ns_create
NSX_TIMEOUT=120 run_bg srv "${RUN_LINK[@]}" -- python3 "$PEER" serve 9500 "$N" "$WORK/go"
wait_line listening "$WORK/srv.out" || fail "the server does not listen ($(tail -3 "$WORK/srv.err"))"
NSX_TIMEOUT=90 nsx python3 "$PEER" burst "$HOST_ADDR" 9500 "$N" "$WORK/go" >"$WORK/burst.out" 2>"$WORK/burst.err" ||
	fail "the burst: $(tail -3 "$WORK/burst.err")"
grep -qx "echoed $N" "$WORK/burst.out" || fail "echoes: $(cat "$WORK/burst.out")"
grep -qx "after ok" "$WORK/burst.out" || fail "the request after: $(cat "$WORK/burst.out")"
log "$N connections queued before the first accept, all echoed"
pass
