#!/usr/bin/env bash
# `tapir run` on one TAP, again and again, each started the moment the last
# one exited (as a script does): every one attaches.  tapir's TAP reads go
# through io_uring, and a ring closed with its read still armed let go of
# the TAP only later, from a kernel worker: the next run failed with "TAP
# device busy" about half the time, until the host ended the read itself on
# its way out (link/tap_uring.c rx_cancel).
source "$(dirname "$0")/lib_run.sh"
require_run python3

ns_create
for i in $(seq 8); do
	nsx "$TAPIR" run "${RUN_LINK[@]}" -- python3 -c \
		"import socket; s = socket.socket(); s.bind(('0.0.0.0', 9100)); s.listen(1)" \
		>"$WORK/run$i.out" 2>"$WORK/run$i.err" ||
		fail "run $i of 8 (right after the last): exit $? ($(head -2 "$WORK/run$i.err"))"
done
log "8 runs back to back on $TAP: each attached, each exited 0"
pass
