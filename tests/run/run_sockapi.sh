#!/usr/bin/env bash
# prog_sockapi's ~35 socket-API checks, once on the kernel (the reference)
# and once under `tapir run`: the two outputs must be the same, line for
# line (errno names included).  The peer (sockapi_peer.py: TCP echo, a
# reset on request, UDP echo) is the kernel in the namespace.
source "$(dirname "$0")/../interop/lib.sh"
require_root python3
PROG=${RUNBIN:-$REPO_DIR/build/tests/run}/prog_sockapi
[[ -x $PROG ]] || fail "no $PROG (set RUNBIN)"
"$TAPIR" run --help 2>&1 | has "unknown command 'run'" && skip "this tapir has no 'run' subcommand yet"

ns_create
# the peer listens on every address: 127.0.0.1 for the reference run,
# 10.0.0.1 (the kernel's side of the TAP) for the run on tapir
nsx ip addr add 10.0.0.1/32 dev lo # until tapir run puts it on the TAP
ip netns exec "$NS" timeout 120 python3 "$LIB_DIR/../run/sockapi_peer.py" 0.0.0.0 7007 \
	>"$WORK/peer.out" 2>&1 &
for _ in $(seq 50); do grep -q ready "$WORK/peer.out" && break; sleep 0.1; done
grep -q ready "$WORK/peer.out" || fail "the peer did not start"

nsx "$PROG" 127.0.0.1 7007 7008 >"$WORK/kernel.out" 2>&1 || fail "reference run: $(cat "$WORK/kernel.out")"
nsx ip addr del 10.0.0.1/32 dev lo
nsx "$TAPIR" run --tap "$TAP" --addr "$HOST_ADDR/24" --peer-addr "$PEER_ADDR/24" \
	--pcap "$WORK/run.pcap" -- "$PROG" "$PEER_ADDR" 7007 7008 >"$WORK/tapir.out" 2>"$WORK/tapir.err" ||
	fail "tapir run: exit $? ($(tail -3 "$WORK/tapir.err"))"
grep -v '^ready' "$WORK/tapir.out" >"$WORK/tapir.lines"
diff -u "$WORK/kernel.out" "$WORK/tapir.lines" || fail "tapir run differs from the kernel"
# tapir carried it: its SYNs toward the peer are in the capture of the TAP
[[ $(tsh -r "$WORK/run.pcap" -Y "tcp.flags.syn==1 && tcp.flags.ack==0 && ip.src==$HOST_ADDR" | wc -l) -gt 0 ]] ||
	fail "no SYN from $HOST_ADDR in the capture"
pass
