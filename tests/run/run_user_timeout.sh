#!/usr/bin/env bash
# TCP_USER_TIMEOUT through tapir run's gate (tools/run/gate_opt.c): python
# under tapir run sets it to 2500 ms, reads it back, and connects to a port
# whose SYNs the namespace's kernel drops (nft, in the test's own
# namespace).  The connect fails with ETIMEDOUT at the limit (RFC 5482 1;
# core/tcp_timer.c), after the SYN and one retransmission (at 0 and 1 s;
# the next would go at 3 s), not after the default six retries: the drop
# rule's counter says 2.  Then the same non-blocking: EINPROGRESS, writable
# at the limit, SO_ERROR ETIMEDOUT (2 more SYNs).  No clock is read: the count is the proof.
source "$(dirname "$0")/lib_run.sh"
require_run python3 nft

ns_create
nsx nft -f - <<'NFT' || fail "nft rules"
table inet uto {
	chain input {
		type filter hook input priority 0;
		tcp dport 9101 tcp flags & (syn | ack) == syn counter drop
	}
}
NFT

run_fg "${RUN_LINK[@]}" -- python3 -c "
import errno, socket
s = socket.socket()
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 2500)
print('uto', s.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT), flush=True)
try:
    s.connect(('$PEER_ADDR', 9101))
    print('connected', flush=True)
except OSError as e:
    print('connect', errno.errorcode.get(e.errno, e.errno), flush=True)
# non-blocking: EINPROGRESS, writable when the handshake gives up, SO_ERROR
import select
s = socket.socket()
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 2500)
s.setblocking(False)
print('nb', errno.errorcode.get(s.connect_ex(('$PEER_ADDR', 9101))), flush=True)
select.select([], [s], [], 30)
print('nb so_error', errno.errorcode.get(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)), flush=True)
" >"$WORK/run.out" 2>"$WORK/run.err" || fail "tapir run: exit $? ($(tail -3 "$WORK/run.err"))"
grep -qx 'uto 2500' "$WORK/run.out" || fail "getsockopt: $(cat "$WORK/run.out")"
grep -qx 'connect ETIMEDOUT' "$WORK/run.out" || fail "connect: $(cat "$WORK/run.out")"
grep -qx 'nb EINPROGRESS' "$WORK/run.out" || fail "non-blocking connect: $(cat "$WORK/run.out")"
grep -qx 'nb so_error ETIMEDOUT' "$WORK/run.out" || fail "SO_ERROR: $(cat "$WORK/run.out")"
n=$(nsx nft list table inet uto | sed -n 's/.*counter packets \([0-9]*\) .*/\1/p')
[[ $n == 4 ]] || fail "$n SYNs reached the kernel's drop rule, not 2 for each connect"
log "connect, blocking and not: ETIMEDOUT (SO_ERROR) after $n SYNs in all"
pass
