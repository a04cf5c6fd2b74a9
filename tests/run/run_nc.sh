#!/usr/bin/env bash
# nc under `tapir run`, both ways, with half-close (nc -N: shutdown(SHUT_WR)
# at the end of its input).  The kernel's side answers only after it read
# EOF, so the answer arriving proves tapir's FIN went out while the other
# half stayed open; nc ending proves the kernel's FIN came back in.
source "$(dirname "$0")/lib_run.sh"
require_run nc python3 cmp

ns_create
head -c 400000 /dev/urandom >"$WORK/in.bin"
# the kernel's side: reads to EOF, then answers with the byte count
cat >"$WORK/count.py" <<'PY'
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(4)
print("ready", flush=True)
c, _ = s.accept(); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    n += len(b)
c.sendall(b"got %d\n" % n); c.close()
PY
ip netns exec "$NS" timeout 60 python3 "$WORK/count.py" 9000 >"$WORK/count.out" 2>&1 &
for _ in $(seq 50); do grep -q ready "$WORK/count.out" && break; sleep 0.1; done

# tapir -> kernel: half-close, then the answer
run_fg "${RUN_LINK[@]}" -- nc -N "$PEER_ADDR" 9000 <"$WORK/in.bin" >"$WORK/answer" 2>"$WORK/nc1.err" ||
	fail "nc -N under tapir run: exit $? ($(tail -3 "$WORK/nc1.err"))"
grep -qx "got 400000" "$WORK/answer" || fail "the answer: '$(cat "$WORK/answer")'"

# kernel -> tapir: nc -l under tapir run receives a file to EOF (the
# kernel's nc tries again while tapir run starts: refused until it listens)
run_bg lis "${RUN_LINK[@]}" -- sh -c "nc -l 9001 >'$WORK/recv.bin'"
RUN_PID=$!
ok=""
for _ in $(seq 100); do
	if nsx nc -N -w 10 "$HOST_ADDR" 9001 <"$WORK/in.bin" 2>/dev/null; then
		ok=1
		break
	fi
	sleep 0.1
done
[[ -n $ok ]] || fail "the kernel's nc never reached nc -l under tapir run"
wait "$RUN_PID" || fail "nc -l under tapir run: exit $? ($(tail -3 "$WORK/lis.err"))"
cmp -s "$WORK/in.bin" "$WORK/recv.bin" || fail "received file differs ($(stat -c %s "$WORK/recv.bin") bytes)"
pass
