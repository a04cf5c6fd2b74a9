#!/usr/bin/env bash
# Programs share one tapir host like processes on one machine: `tapir host
# --control PATH` and four `tapir run --attach PATH`, a server and three
# clients.  Each client fetches 1 MB (sha256) from the server over tapir's
# own address and holds the connection; `tapir ss` shows the listener, the
# three client sockets and the three the server accepted.  (Over
# 127.0.0.1: run_loopback.sh.)
# Besides, python's http.server under --attach, fetched by the kernel's
# curl, and a client of the kernel's.  --attach to a
# path with no host: one tapir: line, exit 2.
source "$(dirname "$0")/lib_run.sh"
require_run curl python3 cmp sha256sum

ns_create
host_start --control "$WORK/ctl" --serve echo
PEER=$LIB_DIR/../run/attach_peer.py
head -c 1048576 /dev/urandom >"$WORK/one.bin"
sha=$(sha256sum <"$WORK/one.bin" | cut -d' ' -f1)

run_bg srv --attach "$WORK/ctl" -- python3 "$PEER" server 9100 "$WORK/one.bin"
for _ in $(seq 100); do grep -q listening "$WORK/srv.out" && break; sleep 0.1; done
grep -q listening "$WORK/srv.out" || fail "the attached server does not listen ($(tail -3 "$WORK/srv.err"))"
CLI=()
for i in 1 2 3; do
	run_bg "cli$i" --attach "$WORK/ctl" -- python3 "$PEER" client "$HOST_ADDR" 9100 "$sha" "$WORK/release"
	CLI+=($!)
done
for i in 1 2 3; do
	for _ in $(seq 200); do grep -q '^got' "$WORK/cli$i.out" && break; sleep 0.1; done
	grep -q "^got $HOST_ADDR from $HOST_ADDR:" "$WORK/cli$i.out" ||
		fail "client $i: nothing byte-exact over $HOST_ADDR ($(tail -3 "$WORK/cli$i.err"))"
done
log "three clients, 1 MB each over $HOST_ADDR, byte-exact"
nsx "$TAPIR" ss --control "$WORK/ctl" >"$WORK/ss.out" 2>&1 || fail "tapir ss: $(cat "$WORK/ss.out")"
grep 'LISTEN' "$WORK/ss.out" | has ':9100 ' || fail "no listener on 9100 in tapir ss: $(cat "$WORK/ss.out")"
a=$HOST_ADDR
n=$(grep ESTAB "$WORK/ss.out" | grep -cE " $a:9100 +$a:[0-9]+ ")
[[ $n -eq 3 ]] || fail "$n accepted connections over $a in tapir ss, not 3: $(cat "$WORK/ss.out")"
n=$(grep ESTAB "$WORK/ss.out" | grep -cE " $a:[0-9]+ +$a:9100 ")
[[ $n -eq 3 ]] || fail "$n client connections over $a in tapir ss, not 3: $(cat "$WORK/ss.out")"
log "tapir ss: the listener and 6 connections of the four runs"
touch "$WORK/release"
for i in 1 2 3; do
	wait "${CLI[$((i - 1))]}" || fail "client $i: tapir run exited $? ($(tail -3 "$WORK/cli$i.err"))"
done

# a server for the kernel's curl, and a client of the kernel's
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

run_bg http --attach "$WORK/ctl" -- python3 -m http.server 8080 --directory "$WORK/www"
wait_port "$HOST_ADDR" 8080 || fail "the attached server does not answer ($(tail -3 "$WORK/http.err"))"
run_bg kcli --attach "$WORK/ctl" -- python3 -c "
import socket, time
s = socket.create_connection(('$PEER_ADDR', 9000)); print('connected', flush=True); time.sleep(60)"
for _ in $(seq 100); do grep -q connected "$WORK/kcli.out" && break; sleep 0.1; done
grep -q connected "$WORK/kcli.out" || fail "the attached client did not connect ($(tail -3 "$WORK/kcli.err"))"

nsx curl -sS -m 20 -o "$WORK/got.bin" "http://$HOST_ADDR:8080/f.bin" || fail "curl: exit $?"
cmp -s "$WORK/www/f.bin" "$WORK/got.bin" || fail "the body differs"
nsx "$TAPIR" ss --control "$WORK/ctl" >"$WORK/ss.out" 2>&1 || fail "tapir ss: $(cat "$WORK/ss.out")"
grep -E 'LISTEN' "$WORK/ss.out" | has ':8080' || fail "no listener on 8080 in tapir ss: $(cat "$WORK/ss.out")"
grep -E 'ESTAB' "$WORK/ss.out" | has "$PEER_ADDR:9000" ||
	fail "no connection to $PEER_ADDR:9000 in tapir ss: $(cat "$WORK/ss.out")"

nsx "$TAPIR" run --attach "$WORK/nothing" -- true 2>"$WORK/noattach.err"
rc=$?
[[ $rc -eq 2 && $(grep -c . "$WORK/noattach.err") -eq 1 ]] && grep -q '^tapir: ' "$WORK/noattach.err" ||
	fail "--attach to nothing: exit $rc ($(cat "$WORK/noattach.err"))"
pass
