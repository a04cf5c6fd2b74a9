#!/usr/bin/env bash
# The gate's protocol spoken directly (prog_gate, no preload) against a
# `tapir host --control PATH` and its gate at PATH.gate: TCP connect, echo
# and half-close with the kernel's echo server, a refused connect, UDP, a
# listener's accept record for a kernel client, an unknown id; a
# TCP_NODELAY sent without reply (TRUN_NOREPLY) seen by a later getsockopt.
source "$(dirname "$0")/../interop/lib.sh"
require_root python3
PROG=${RUNBIN:-$REPO_DIR/build/tests/run}/prog_gate
[[ -x $PROG ]] || fail "no $PROG (set RUNBIN)"

ns_create
host_start --control "$WORK/ctl" --serve echo
cat >"$WORK/echo.py" <<'PY'
import socket, threading
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 7007))
def udp():
    while True:
        d, a = u.recvfrom(2048); u.sendto(d, a)
threading.Thread(target=udp, daemon=True).start()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7007)); s.listen(8)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    while True:
        b = c.recv(4096)
        if not b: break
        c.sendall(b)
    c.close()
PY
ip netns exec "$NS" timeout 60 python3 "$WORK/echo.py" >"$WORK/echo.out" 2>&1 &
for _ in $(seq 50); do grep -q ready "$WORK/echo.out" && break; sleep 0.1; done

ip netns exec "$NS" timeout 60 "$PROG" "$WORK/ctl.gate" "$PEER_ADDR" 7007 7009 9100 >"$WORK/prog.out" 2>&1 &
PROG_PID=$!
for _ in $(seq 100); do grep -q listening "$WORK/prog.out" && break; sleep 0.1; done
grep -q listening "$WORK/prog.out" || fail "prog_gate: $(cat "$WORK/prog.out")"
nsx python3 -c "
import socket; s = socket.create_connection(('$HOST_ADDR', 9100)); s.sendall(b'ping'); s.recv(1)" ||
	fail "the kernel's client: exit $?"
wait "$PROG_PID" || fail "prog_gate: $(cat "$WORK/prog.out")"
for c in nodelay_noreply tcp_echo tcp_refused udp tcp_listen; do
	grep -qx "$c ok" "$WORK/prog.out" || fail "$c: $(cat "$WORK/prog.out")"
done
pass
