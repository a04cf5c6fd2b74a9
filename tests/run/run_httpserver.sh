#!/usr/bin/env bash
# python3 -m http.server under `tapir run`, fetched by the kernel's curl:
# one after another, then 20 at once (three rounds): every body
# byte-exact, none lost (the lost wake-up trap: a relay that stops reading
# while a buffer is full must wake up again).  SIGTERM to tapir run goes
# to the server, and tapir run exits with its status.  Then, with
# --personality challenge-ack-only, the SYN->bare-ACK server of issue 13,
# ended by SIGINT.
source "$(dirname "$0")/lib_run.sh"
require_run curl python3 cmp tshark

ns_create
mkdir -p "$WORK/www"
head -c 500000 /dev/urandom >"$WORK/www/f.bin"
NSX_TIMEOUT=200 run_bg srv "${RUN_LINK[@]}" -- python3 -m http.server 8080 --directory "$WORK/www"
RUN_PID=$!
wait_port "$HOST_ADDR" 8080 || fail "the server under tapir run does not answer ($(tail -3 "$WORK/srv.err"))"

for i in $(seq 10); do
	nsx curl -sS -m 20 -o "$WORK/seq$i" "http://$HOST_ADDR:8080/f.bin" || fail "fetch $i: curl exit $?"
	cmp -s "$WORK/www/f.bin" "$WORK/seq$i" || fail "fetch $i differs"
done
for round in 1 2 3; do
	pids=()
	for i in $(seq 20); do
		nsx curl -sS -m 30 -o "$WORK/par$round.$i" "http://$HOST_ADDR:8080/f.bin" &
		pids+=($!)
	done
	for i in $(seq 20); do
		wait "${pids[$((i - 1))]}" || fail "round $round fetch $i: curl exit $?"
		cmp -s "$WORK/www/f.bin" "$WORK/par$round.$i" || fail "round $round fetch $i differs"
	done
done
# no kernel TCP socket serves 8080 in the namespace: tapir does
nsx ss -Htln | has ':8080 ' && fail "a kernel socket listens on 8080"

kill -TERM "$(pgrep -P "$RUN_PID" -f 'tapir run' | head -1)" 2>/dev/null || kill -TERM "$RUN_PID"
wait "$RUN_PID"
rc=$?
[[ $rc -ne 124 && $rc -ne 137 ]] || fail "tapir run did not exit on SIGTERM ($rc)"

# issue 13's SYN->bare-ACK server: the same server under `tapir run
# --personality challenge-ack-only` answers the kernel's SYNs with a bare ACK
# (no SYN,ACK), so curl gives up connecting (28); tapir's capture says so
log "challenge-ack-only: python3 -m http.server answers SYN with a bare ACK"
NSX_TIMEOUT=60 run_bg cao "${RUN_LINK[@]}" --pcap "$WORK/cao.pcap" \
	--personality challenge-ack-only -- python3 -u -m http.server 8080 --directory "$WORK/www"
RUN_PID=$!
for _ in $(seq 100); do grep -q 'Serving HTTP' "$WORK/cao.out" "$WORK/cao.err" && break; sleep 0.1; done
nsx curl -sS --connect-timeout 2 -o /dev/null "http://$HOST_ADDR:8080/f.bin" 2>"$WORK/cao.curl"
rc=$?
[[ $rc -eq 28 ]] || fail "challenge-ack-only: curl exited $rc, not 28: $(cat "$WORK/cao.curl")"
# SIGINT to tapir run goes to the server too (Ctrl-C): python's http.server
# exits 0 on it, and so does tapir run, its capture flushed (read below)
kill -INT "$(pgrep -P "$RUN_PID" -f 'tapir run' | head -1)" 2>/dev/null || kill -INT "$RUN_PID"
wait "$RUN_PID"
rc=$?
[[ $rc -eq 0 ]] || fail "tapir run exited $rc after SIGINT, not the server's 0: $(tail -3 "$WORK/cao.err")"
grep -q 'Keyboard interrupt' "$WORK/cao.out" "$WORK/cao.err" || fail "the server never saw SIGINT"
must_counts "$WORK/cao.pcap" \
	"the kernel's SYNs to 8080" "tcp.dstport == 8080 && tcp.flags.syn == 1 && tcp.flags.ack == 0" -ge 1 \
	"tapir's bare ACKs" "tcp.srcport == 8080 && tcp.flags == 0x010 && tcp.len == 0" -ge 1 \
	"tapir's SYN,ACKs" "tcp.srcport == 8080 && tcp.flags.syn == 1" -eq 0
pass
