#!/usr/bin/env bash
# The live view: `tapir host --control PATH` and its clients.
#   tapir ss     lists the listeners, and a kernel client's connection as
#                ESTABLISHED with the right peer, while it is open;
#   tapir stats  counters by protocol, drops with their reasons;
#   tapir trace  switches trace channels at run time: tcp lines appear on
#                the host's stdout after "tcp", none after "off";
# and the mistakes: no such socket, no --control, a bad channel, an
# unknown option, a path in use by a running host -- each one "tapir:"
# line, exit 2.  The socket file goes away when the host exits.
# shellcheck source=tests/interop/pers_lib.sh
source "$(dirname "$0")/pers_lib.sh"
require_root
ns_create
pers_host_start

# ---- ss ----
tctl ss >"$WORK/ss0" || fail "tapir ss failed"
head -n 1 "$WORK/ss0" | has '^State .*Recv-Q .*Send-Q .*Local .*Peer .*cwnd .*srtt_ms .*rto_ms' ||
	fail "tapir ss: no header: $(head -n 1 "$WORK/ss0")"
for p in 7 9 13 19; do
	grep -q "^LISTEN .* 0.0.0.0:$p " "$WORK/ss0" || fail "tapir ss: no listener on $p: $(cat "$WORK/ss0")"
done
log "tapir ss: 4 listeners"
# a connection held open by a kernel client until we have looked
nsx "$PY" - "$HOST_ADDR" "$WORK/go" >"$WORK/client.out" 2>&1 <<'PYEOF' &
import os, socket, sys, time
s = socket.create_connection((sys.argv[1], 7), timeout=5)
s.sendall(b"ping\n")
assert s.recv(100) == b"ping\n"
print(s.getsockname()[1], flush=True)
for i in range(200):
    if os.path.exists(sys.argv[2]):
        break
    time.sleep(0.05)
PYEOF
CLIENT=$!
for ((i = 0; i < 100; i++)); do
	[[ -s $WORK/client.out ]] && break
	sleep 0.05
done
port=$(head -n 1 "$WORK/client.out")
[[ $port =~ ^[0-9]+$ ]] || fail "client: $(cat "$WORK/client.out")"
tctl ss >"$WORK/ss1" || fail "tapir ss failed"
line=$(grep "^ESTABLISHED .* $HOST_ADDR:7 *$PEER_ADDR:$port " "$WORK/ss1") ||
	fail "tapir ss: no ESTABLISHED connection from port $port: $(cat "$WORK/ss1")"
read -r _ rq sq _ _ cwnd srtt rto mss <<<"$line"
[[ $rq -eq 0 && $sq -eq 0 && $cwnd -gt 0 && $mss -eq 1448 ]] ||
	fail "tapir ss: implausible numbers: $line"
awk -v r="$rto" -v s="$srtt" 'BEGIN { exit !(r > 0 && s >= 0) }' || fail "tapir ss: rto/srtt: $line"
log "tapir ss: $line"
touch "$WORK/go"
wait "$CLIENT" || fail "client: $(cat "$WORK/client.out")"

# ---- stats ----
tctl stats >"$WORK/stats" || fail "tapir stats failed"
for sect in link: arp: ip: icmp: udp: tcp: drops:; do
	grep -q "^$sect" "$WORK/stats" || fail "tapir stats: no section $sect: $(cat "$WORK/stats")"
done
grep -Eq '^  tcp_passive_opens +1$' "$WORK/stats" || fail "tapir stats: tcp_passive_opens not 1: $(cat "$WORK/stats")"
printf 'x' | nsx socat -u - "UDP:$HOST_ADDR:4444" || fail "socat could not send"
for ((i = 0; i < 50; i++)); do
	tctl stats >"$WORK/stats"
	grep -q '^  drop.udp_no_port ' "$WORK/stats" && break
	sleep 0.1
done
grep -Eq '^  drop.udp_no_port +1  UDP to a closed port' "$WORK/stats" ||
	fail "tapir stats: no drop.udp_no_port with its reason: $(cat "$WORK/stats")"
[[ $(grep -c '^  ' "$WORK/stats") -lt $(tctl stats --all | grep -c '^  ') ]] ||
	fail "tapir stats --all shows no more than tapir stats"
log "tapir stats: sections, tcp_passive_opens 1, drop.udp_no_port 1 with its reason"

# ---- trace ----
tctl trace tcp >"$WORK/trace.out" || fail "tapir trace tcp failed"
[[ $(cat "$WORK/trace.out") == "trace: tcp" ]] || fail "tapir trace: '$(cat "$WORK/trace.out")'"
nsx "$PY" -c "import socket,sys; s=socket.create_connection(('$HOST_ADDR', 13), timeout=5); s.recv(100)" ||
	fail "daytime client failed"
for ((i = 0; i < 50; i++)); do
	grep -q ' tcp  *rx .*:13 ' "$HOST_OUT" && break
	sleep 0.1
done
n_on=$(grep -c ' tcp  *[rt]x ' "$HOST_OUT")
[[ $n_on -ge 3 ]] || fail "no tcp trace lines on the host's stdout after 'trace tcp'"
tctl trace off >/dev/null || fail "tapir trace off failed"
n_off=$(grep -c ' tcp ' "$HOST_OUT")
nsx "$PY" -c "import socket,sys; s=socket.create_connection(('$HOST_ADDR', 13), timeout=5); s.recv(100)" ||
	fail "daytime client failed"
tctl ss >/dev/null # (a round trip through the host after the connection)
[[ $(grep -c ' tcp ' "$HOST_OUT") -eq $n_off ]] || fail "tcp trace lines after 'trace off'"
log "tapir trace: $n_on tcp lines after 'tcp', none after 'off'"

# ---- mistakes: one tapir: line, exit 2 ----
expect_error() { # WHAT PATTERN CMD...
	local what=$1 pat=$2 rc
	shift 2
	timeout 15 "$@" >"$WORK/e.out" 2>"$WORK/e.err"
	rc=$?
	[[ $rc -eq 2 ]] || fail "$what: exit $rc, not 2 ($(cat "$WORK/e.err"))"
	[[ ! -s $WORK/e.out ]] || fail "$what: printed on stdout: $(cat "$WORK/e.out")"
	[[ $(wc -l <"$WORK/e.err") -eq 1 && $(cat "$WORK/e.err") == tapir:* ]] ||
		fail "$what: not one tapir: line: $(cat "$WORK/e.err")"
	grep -Eq -- "$pat" "$WORK/e.err" || fail "$what: /$pat/ not in: $(cat "$WORK/e.err")"
	log "$what -> $(cat "$WORK/e.err")"
}
expect_error "no such socket" "No such file" "$TAPIR" ss --control "$WORK/nope"
expect_error "no --control" "--control" "$TAPIR" stats
expect_error "bad channel" "bogus" "$TAPIR" trace --control "$CTL" tcp,bogus
expect_error "no channel" "channels" "$TAPIR" trace --control "$CTL"
expect_error "unknown option" "--frob" "$TAPIR" ss --control "$CTL" --frob
expect_error "socket in use" "in use" ip netns exec "$NS" "$TAPIR" host --tap tp1 \
	--addr 10.0.1.2/24 --control "$CTL"
expect_error "unknown personality" "nosuch" ip netns exec "$NS" "$TAPIR" host --tap tp1 \
	--addr 10.0.1.2/24 --personality nosuch
expect_error "bad personality argument" "loss=2" ip netns exec "$NS" "$TAPIR" host --tap tp1 \
	--addr 10.0.1.2/24 --personality loss=2
host_stop
[[ ! -e $CTL ]] || fail "the control socket $CTL is still there after the host exited"
log "the control socket is gone after the host exited"
pass
