#!/usr/bin/env bash
# A fork-per-client echo server (prog_fork_echo, UNP 5) under `tapir run`,
# kernel clients: the parent closes each accepted socket at once and the
# child serves, so tapir's FIN must leave only at the child's close, the
# last descriptor in every process (UNP 4.8).  The capture of the TAP says
# so by order: in each connection the server's FIN comes after its echo
# and after the client's own FIN (the child closes only after EOF).
# Then a child that becomes nobody after fork keeps reaching tapir.
source "$(dirname "$0")/../interop/lib.sh"
require_root python3
PROG=${RUNBIN:-$REPO_DIR/build/tests/run}/prog_fork_echo
[[ -x $PROG ]] || fail "no $PROG (set RUNBIN)"
"$TAPIR" run --help 2>&1 | has "unknown command 'run'" && skip "this tapir has no 'run' subcommand yet"
NCLIENTS=3

ns_create
ip netns exec "$NS" timeout 120 "$TAPIR" run --tap "$TAP" --addr "$HOST_ADDR/24" \
	--peer-addr "$PEER_ADDR/24" --pcap "$WORK/fork.pcap" -- "$PROG" 7007 200 "$NCLIENTS" \
	>"$WORK/run.out" 2>"$WORK/run.err" &
RUN_PID=$!
for _ in $(seq 100); do grep -q listening "$WORK/run.out" && break; sleep 0.1; done
grep -q listening "$WORK/run.out" || fail "the server did not start: $(tail -3 "$WORK/run.err")"

cat >"$WORK/client.py" <<'PY'
import socket, sys
from inet import recv_all  # tests/interop, on PYTHONPATH (lib.sh)
for i in range(int(sys.argv[2])):
    s = socket.create_connection((sys.argv[1], 7007), timeout=10)
    msg = b"hello %d\n" % i
    s.sendall(msg)
    s.shutdown(socket.SHUT_WR)
    got = recv_all(s)
    s.close()
    if got != msg:
        sys.exit("client %d: echo %r" % (i, got))
PY
nsx python3 "$WORK/client.py" "$HOST_ADDR" "$NCLIENTS" || fail "a client failed"
wait "$RUN_PID" || fail "tapir run exited $? ($(tail -3 "$WORK/run.err"))"

# per connection: frame numbers of the server's data, its FIN, the client's FIN
for s in $(seq 0 $((NCLIENTS - 1))); do
	last_data=$(tsh -r "$WORK/fork.pcap" -Y "tcp.stream==$s && ip.src==$HOST_ADDR && tcp.len>0" \
		-T fields -e frame.number | tail -1)
	srv_fin=$(tsh -r "$WORK/fork.pcap" -Y "tcp.stream==$s && ip.src==$HOST_ADDR && tcp.flags.fin==1" \
		-T fields -e frame.number | head -1)
	cli_fin=$(tsh -r "$WORK/fork.pcap" -Y "tcp.stream==$s && ip.src==$PEER_ADDR && tcp.flags.fin==1" \
		-T fields -e frame.number | head -1)
	[[ -n $last_data && -n $srv_fin && -n $cli_fin ]] ||
		fail "connection $s: data '$last_data', server FIN '$srv_fin', client FIN '$cli_fin'"
	((srv_fin > last_data && srv_fin > cli_fin)) ||
		fail "connection $s: the server's FIN (frame $srv_fin) before its echo ($last_data) or the client's FIN ($cli_fin)"
	log "connection $s: echo $last_data, client FIN $cli_fin, server FIN $srv_fin"
done

# A child that changes user (as nginx's workers become nobody) keeps its
# channel to tapir: after fork it drops root, accepts on the parent's
# listener, and opens a socket of its own, which must be tapir's too.
cat >"$WORK/setuid.py" <<'PY'
import os, socket, sys
l = socket.socket()
l.bind(("0.0.0.0", 7008))
l.listen(4)
pid = os.fork()
if pid == 0:
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
    print("listening", flush=True)
    c, _ = l.accept()
    s = socket.socket() # (no create_connection: nobody cannot read the codecs it loads)
    s.settimeout(10)
    s.connect((sys.argv[1], 7009))
    c.sendall(("uid %d local %s\n" % (os.getuid(), s.getsockname()[0])).encode())
    c.close()
    s.close()
    os._exit(0)
l.close()
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))
PY
ip netns exec "$NS" timeout 60 python3 -c "
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('0.0.0.0', 7009)); l.listen(1); l.settimeout(50); l.accept()[0].close()" &
ip netns exec "$NS" timeout 60 "$TAPIR" run --tap "$TAP" --addr "$HOST_ADDR/24" \
	--peer-addr "$PEER_ADDR/24" -- python3 "$WORK/setuid.py" "$PEER_ADDR" \
	>"$WORK/setuid.out" 2>"$WORK/setuid.err" &
RUN_PID=$!
for _ in $(seq 100); do grep -q listening "$WORK/setuid.out" && break; sleep 0.1; done
got=$(nsx python3 -c "
import socket
s = socket.create_connection(('$HOST_ADDR', 7008), timeout=20)
print(s.makefile().readline().strip())") || fail "the child that became nobody: $(tail -3 "$WORK/setuid.err")"
wait "$RUN_PID" || fail "tapir run (setuid) exited $? ($(tail -3 "$WORK/setuid.err"))"
[[ $got == "uid 65534 local $HOST_ADDR" ]] || fail "the child that became nobody says '$got' ($(tail -3 "$WORK/setuid.err"))"
log "a child that became nobody: accepted, and connected from tapir's address"
pass
