#!/usr/bin/env bash
# The listen backlog, with the daytime-server example as tapir's server:
# --backlog 1 and a 2 s sleep before each accept, and CLIENTS kernel
# clients connecting at once.  The accept queue holds what the backlog
# allows; beyond it a SYN gets no answer at all, and a handshake's last ACK
# is dropped so the connection stays half-open (no RST either way: UNP 4.5,
# "the client TCP will retransmit its SYN"; Linux drops both), so the
# kernel retransmits its SYN or tapir its SYN,ACK, and each client gets its
# daytime line once the accepts have drained the queue.
# Then SIGTERM ends the server's blocked accept and it exits 0.
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
EXAMPLES=${EXAMPLES:-$(dirname "$TAPIR")/examples}
require_root
[[ -x $EXAMPLES/daytime-server ]] || fail "no example program $EXAMPLES/daytime-server (set EXAMPLES)"
ns_create
PCAP=$WORK/backlog.pcap
CLIENTS=4
DELAY_MS=2000
PORT=13

# ---- the server ----
timeout -s TERM -k 5 120 ip netns exec "$NS" "$EXAMPLES/daytime-server" --tap "$TAP" \
	--addr "$HOST_ADDR/24" --peer-addr "$PEER_ADDR/24" --pcap "$PCAP" --port "$PORT" \
	--backlog 1 --accept-delay-ms "$DELAY_MS" >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_WRAP=$!
HOST_ERR=$WORK/server.err # shown by the clean-up if we fail
for ((i = 0; i < 100; i++)); do
	grep -q '^listening on' "$WORK/server.out" && break
	kill -0 "$SERVER_WRAP" 2>/dev/null || fail "daytime-server exited: $(cat "$WORK/server.err")"
	sleep 0.1
done
grep -q '^listening on' "$WORK/server.out" || fail "daytime-server not listening after 10 s"
log "server: $(head -n 1 "$WORK/server.out")"

# ---- CLIENTS kernel clients at once ----
NSX_TIMEOUT=90 nsx "$PY" - "$HOST_ADDR" "$PORT" "$CLIENTS" <<'PYEOF' || fail "clients (above)"
import re, socket, sys, threading, time
from inet import recv_all
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
start = threading.Barrier(n)
results = [None] * n
t0 = time.monotonic()

def client(i):
    start.wait()
    try:
        s = socket.create_connection((host, port), timeout=60)
        t_conn = time.monotonic() - t0
        data = recv_all(s, 256)
        s.close()
        results[i] = (t_conn, time.monotonic() - t0, data)
    except Exception as e:
        results[i] = (None, time.monotonic() - t0, repr(e))

threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
for t in threads: t.start()
for t in threads: t.join(80)
bad = 0
# ctime()'s 24 characters and CRLF, as UNP fig. 4.11 writes them
line = re.compile(rb"^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] \d\d:\d\d:\d\d \d{4}\r\n$")
for i, r in enumerate(results):
    if r is None or r[0] is None or not line.match(r[2]):
        print("  client %d: %r" % (i, r))
        bad += 1
    else:
        print("[tcp_backlog] client %d: connected at %.1f s, line at %.1f s: %s"
              % (i, r[0], r[1], r[2].decode().strip()))
sys.exit(1 if bad else 0)
PYEOF

# ---- SIGTERM: the blocked accept ends, the server exits 0 ----
kill -TERM "$(pgrep -P "$SERVER_WRAP" | head -n 1)" 2>/dev/null || fail "cannot signal daytime-server"
_wait_gone "$SERVER_WRAP" 100 || fail "daytime-server still running 10 s after SIGTERM"
wait "$SERVER_WRAP"
rc=$?
[[ $rc -eq 0 ]] || fail "daytime-server exited with status $rc after SIGTERM: $(cat "$WORK/server.err")"
n=$(grep -c '^connection from ' "$WORK/server.out")
grep -q "^served $CLIENTS connections$" "$WORK/server.out" && [[ $n -eq $CLIENTS ]] ||
	fail "server output: $(cat "$WORK/server.out")"
log "server: $n connections accepted, exit 0 on SIGTERM"

# ---- the capture ----
mac=$(tsh -r "$PCAP" -Y "tcp.srcport == $PORT && tcp.flags.syn == 1 && tcp.flags.ack == 1" \
	-T fields -e eth.src | head -n 1) || exit 1
[[ -n $mac ]] || fail "no SYN-ACK from the server in the capture"
# the counts in one tshark pass (pcap_counts)
RSTS="eth.src == $mac && tcp.flags.reset == 1"
mapfile -t cnt < <(pcap_counts "$PCAP" "$RSTS" \
	"eth.src != $mac && tcp.dstport == $PORT && tcp.flags.syn == 1 && tcp.flags.ack == 0" \
	"eth.src != $mac && tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.analysis.retransmission" \
	"eth.src == $mac && tcp.flags.syn == 1 && tcp.flags.ack == 1")
[[ ${#cnt[@]} -eq 4 ]] || fail "cannot count the capture's frames"
syns=${cnt[1]} retx=${cnt[2]} synacks=${cnt[3]}
# a full backlog must ignore SYNs, not refuse them
_must_be "RSTs from tapir" "${cnt[0]}" "$PCAP" "$RSTS" -eq 0
ports=$(tsh -r "$PCAP" -Y "eth.src != $mac && tcp.dstport == $PORT && tcp.flags.syn == 1" -T fields \
	-e tcp.srcport | sort -u | grep -c .) || exit 1
[[ $ports -eq $CLIENTS ]] || fail "SYNs from $ports client ports, not $CLIENTS"
((syns + synacks > 2 * CLIENTS)) ||
	fail "$syns SYNs and $synacks SYN-ACKs for $CLIENTS clients: nothing retransmitted, so nothing waited for the queue"
log "capture: $syns SYNs from $CLIENTS clients ($retx retransmitted), $synacks SYN-ACKs, no RST from tapir"
pcap_assert_clean "$PCAP" "$mac"
pass
