#!/usr/bin/env bash
# Two programs share one tapir host: `tapir host --control PATH` and two
# `tapir run --attach PATH`, a server (python's http.server, fetched by the
# kernel's curl) and a client holding a connection to the kernel; `tapir
# ss` lists the sockets of both.  --attach to a path with no host: exit 2.
source "$(dirname "$0")/lib_run.sh"
require_run curl python3 cmp

ns_create
host_start --control "$WORK/ctl" --serve echo
mkdir -p "$WORK/www"
head -c 100000 /dev/urandom >"$WORK/www/f.bin"
cat >"$WORK/hold.py" <<'PY'
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9000)); s.listen(4)
print("ready", flush=True)
c, _ = s.accept(); c.recv(1); time.sleep(60)
PY
ip netns exec "$NS" timeout 60 python3 "$WORK/hold.py" >"$WORK/hold.out" 2>&1 &
for _ in $(seq 50); do grep -q ready "$WORK/hold.out" && break; sleep 0.1; done

run_bg srv --attach "$WORK/ctl" -- python3 -m http.server 8080 --directory "$WORK/www"
wait_port "$HOST_ADDR" 8080 || fail "the attached server does not answer ($(tail -3 "$WORK/srv.err"))"
run_bg cli --attach "$WORK/ctl" -- python3 -c "
import socket, time
s = socket.create_connection(('$PEER_ADDR', 9000)); print('connected', flush=True); time.sleep(60)"
for _ in $(seq 100); do grep -q connected "$WORK/cli.out" && break; sleep 0.1; done
grep -q connected "$WORK/cli.out" || fail "the attached client did not connect ($(tail -3 "$WORK/cli.err"))"

nsx curl -sS -m 20 -o "$WORK/got.bin" "http://$HOST_ADDR:8080/f.bin" || fail "curl: exit $?"
cmp -s "$WORK/www/f.bin" "$WORK/got.bin" || fail "the body differs"
nsx "$TAPIR" ss --control "$WORK/ctl" >"$WORK/ss.out" 2>&1 || fail "tapir ss: $(cat "$WORK/ss.out")"
grep -E 'LISTEN' "$WORK/ss.out" | grep -q ':8080' || fail "no listener on 8080 in tapir ss: $(cat "$WORK/ss.out")"
grep -E 'ESTAB' "$WORK/ss.out" | grep -q "$PEER_ADDR:9000" ||
	fail "no connection to $PEER_ADDR:9000 in tapir ss: $(cat "$WORK/ss.out")"

nsx "$TAPIR" run --attach "$WORK/nothing" -- true 2>"$WORK/noattach.err"
rc=$?
[[ $rc -eq 2 ]] && grep -q '^tapir: ' "$WORK/noattach.err" || fail "--attach to nothing: exit $rc"
pass
