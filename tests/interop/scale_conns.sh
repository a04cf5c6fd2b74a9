#!/usr/bin/env bash
# Scale against the kernel: tapir host holds SCALE_CONNS (default 16,000)
# concurrent connections from kernel clients to its echo service, each
# echoing a distinct message at the start and at the end, every byte
# checked; a SYN flood from spoofed addresses hits the same port while they
# are held and must change none of them; then all close, and tapir's
# connection table empties.  tapir's VmRSS before, held and after close is
# printed (figures, not thresholds).  The services serve every connection
# from one event loop on the stack thread (tools/host/services.c), so the
# limit is the host's --max-sockets: room for the N connections and for the
# flood's half-open ones (the echo listener's backlog, 128).
# shellcheck source=tests/interop/pers_lib.sh
source "$(dirname "$0")/pers_lib.sh"
require_root
"$PY" -c 'import scapy.all, socket; socket.AF_PACKET' 2>/dev/null ||
	skip "$PY has no scapy (python3-scapy, for attack_lib) or no AF_PACKET"
N=${SCALE_CONNS:-16000}
EXTRA=(--max-sockets $((N + 1024)))
ns_create
# the namespace's own settings only: ports for N connections from one
# address
nsx sysctl -qw net.ipv4.ip_local_port_range="1024 65535" ||
	fail "cannot set the namespace's sysctls"
# the gateway: SYN,ACKs to the flood's spoofed sources go to the kernel,
# which drops them
HOST_GUARD=200 pers_host_start --serve echo --gateway "$PEER_ADDR" "${EXTRA[@]}"

# under AddressSanitizer freed memory waits in its quarantine and redzones
# pad every block: VmRSS says nothing of tapir's own use, so only the
# flood's bound is checked there (the release build checks all three:
# scripts/run-tests.sh's RELEASE_PEER_TESTS)
ASAN_BUILD=0
# (not nm | grep -q: under pipefail grep's early exit fails the pipe)
[[ $(nm -D "$TAPIR" 2>/dev/null) == *__asan_init* ]] && ASAN_BUILD=1
NSX_TIMEOUT=170 nsx env IFACE="$TAP" HOST_MAC="$HOST_MAC" TAPIR_PID="$HOST_PID" ASAN_BUILD="$ASAN_BUILD" \
	"$PY" "$LIB_DIR/scale_conns.py" "$HOST_ADDR" "$N" >"$WORK/client.out" 2>&1
rc=$?
cat "$WORK/client.out"
if [[ $rc -ne 0 ]] || ! grep -q '^ALL OK' "$WORK/client.out"; then
	fail "the client failed (above)"
fi
# the flood reached tapir: its backlog overflowed into SYN cookies (RFC 4987 3.6)
cookies=$(stat_of tcp_syncookies_sent)
log "during the flood: tcp_syncookies_sent $cookies, tcp_syn_queue_full $(stat_of tcp_syn_queue_full)"
[[ $cookies -gt 0 ]] || fail "the SYN flood never filled the echo listener's backlog"

# every connection gone from tapir's table (the flood's half-open ones may
# still be there: they die after their SYN,ACK retransmissions)
for ((i = 0; i < 100; i++)); do
	left=$(tctl ss | awk '$1 != "LISTEN" && $1 != "SYN_RECEIVED" && $1 != "State"' | wc -l)
	[[ $left -eq 0 ]] && break
	sleep 0.1
done
[[ $left -eq 0 ]] || fail "$left connections still in tapir's table after close: $(tctl ss | head)"
log "tapir's table holds no connection after close"
host_alive || fail "tapir died"
host_stop
pass
