#!/usr/bin/env bash
# `tapir run --attach PATH --personality ttl=N` bends only that run's
# connections: two runs share one host, A with ttl=71 and B without.  Each
# connects to the kernel's echo server and serves one connection of the
# kernel's.  On the host's capture every frame of A's two connections
# (its client's port, its listener's port) leaves with TTL 71, and no frame
# of B's does.  A link-wide personality (loss) with --attach: one tapir:
# line, exit 2.
source "$(dirname "$0")/lib_run.sh"
require_run python3
PEER=$LIB_DIR/../run/persona_peer.py
TTL=71

ns_create
host_start --control "$WORK/ctl" --serve echo --pcap "$WORK/h.pcap"
cat >"$WORK/echo.py" <<'PY'
import socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9300)); s.listen(8)
print("listening", flush=True)
def one(c):
    while True:
        b = c.recv(4096)
        if not b:
            break
        c.sendall(b)
while True:
    c, _ = s.accept()
    threading.Thread(target=one, args=(c,), daemon=True).start()
PY
ip netns exec "$NS" timeout 90 python3 "$WORK/echo.py" >"$WORK/echo.out" 2>&1 &
for _ in $(seq 100); do grep -q listening "$WORK/echo.out" && break; sleep 0.1; done

run_bg A --attach "$WORK/ctl" --personality "ttl=$TTL" -- python3 "$PEER" 9401 "$PEER_ADDR" 9300 "$WORK/go"
RA=$!
run_bg B --attach "$WORK/ctl" -- python3 "$PEER" 9402 "$PEER_ADDR" 9300 "$WORK/go"
RB=$!
for r in A B; do
	for _ in $(seq 100); do grep -q '^client' "$WORK/$r.out" && break; sleep 0.1; done
	grep -q '^client' "$WORK/$r.out" || fail "run $r did not connect ($(tail -3 "$WORK/$r.err"))"
done
for p in 9401 9402; do
	nsx python3 -c "
import socket
c = socket.create_connection(('$HOST_ADDR', $p), timeout=10); c.sendall(b'hi\n')
assert c.recv(64) == b'hi\n'" || fail "the kernel's connection to $p"
done
touch "$WORK/go"
wait "$RA" || fail "run A: exit $? ($(tail -3 "$WORK/A.err"))"
wait "$RB" || fail "run B: exit $? ($(tail -3 "$WORK/B.err"))"
ca=$(awk '/^client/ { print $2 }' "$WORK/A.out")
cb=$(awk '/^client/ { print $2 }' "$WORK/B.out")
host_stop

A="eth.src==$HOST_MAC && (tcp.srcport==$ca || tcp.srcport==9401)"
B="eth.src==$HOST_MAC && (tcp.srcport==$cb || tcp.srcport==9402)"
must_count "frames of run A's connections" "$WORK/h.pcap" "$A" -ge 6
must_count "frames of run A's connections without TTL $TTL" "$WORK/h.pcap" "$A && ip.ttl!=$TTL" -eq 0
must_count "SYN of run A's client with TTL $TTL" "$WORK/h.pcap" \
	"$A && tcp.flags.syn==1 && tcp.flags.ack==0 && ip.ttl==$TTL" -eq 1
must_count "SYN,ACK of run A's server with TTL $TTL" "$WORK/h.pcap" \
	"$A && tcp.flags.syn==1 && tcp.flags.ack==1 && ip.ttl==$TTL" -eq 1
must_count "frames of run B's connections" "$WORK/h.pcap" "$B" -ge 6
must_count "frames of run B's connections with TTL $TTL" "$WORK/h.pcap" "$B && ip.ttl==$TTL" -eq 0

host_start --control "$WORK/ctl2" --serve echo
nsx "$TAPIR" run --attach "$WORK/ctl2" --personality loss=0.5 -- true 2>"$WORK/loss.err"
rc=$?
[[ $rc -eq 2 && $(grep -c . "$WORK/loss.err") -eq 1 ]] && grep -q '^tapir: ' "$WORK/loss.err" ||
	fail "--attach --personality loss: exit $rc ($(cat "$WORK/loss.err"))"
log "a link-wide personality with --attach: $(cat "$WORK/loss.err")"
pass
