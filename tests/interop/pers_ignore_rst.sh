#!/usr/bin/env bash
# ignore-rst: a kernel client reads a little from tapir's chargen service
# (which sends for as long as the connection lives), then aborts
# (SO_LINGER 0: a RST).  tapir drops the RST, so its connection stays
# ESTABLISHED (`tapir ss`) and it goes on sending; the kernel, which has
# no such connection any more, answers each segment with another RST
# (RFC 9293 3.10.7.1), and tapir ignores those too.
# shellcheck source=tests/interop/pers_lib.sh
source "$(dirname "$0")/pers_lib.sh"
require_root
ns_create
PCAP=$WORK/ir.pcap
pers_host_start --pcap "$PCAP" --personality ignore-rst

nsx "$PY" - "$HOST_ADDR" >"$WORK/client.out" 2>&1 <<'PYEOF' || fail "client: $(cat "$WORK/client.out")"
import socket, struct, sys
s = socket.create_connection((sys.argv[1], 19), timeout=5)
got = b""
while len(got) < 1000:
    d = s.recv(4096)
    assert d, "chargen closed"
    got += d
print(s.getsockname()[1])
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()  # RST
PYEOF
port=$(tail -n 1 "$WORK/client.out")
log "the client (port $port) read chargen's lines and reset the connection"
# tapir, deaf to the RST, retransmits into the closed connection; the
# kernel answers each retransmission with a RST.  Two retransmissions
# after the client's exit: the first one's answer is in by the second.
r0=$(stat_of tcp_retransmits)
[[ $(wait_stat tcp_retransmits $((r0 + 2)) 150) -ge $((r0 + 2)) ]] ||
	fail "tapir did not retransmit after the RST"
tctl ss >"$WORK/ss.out" || fail "tapir ss failed"
grep -q "^ESTABLISHED .* $PEER_ADDR:$port " "$WORK/ss.out" ||
	fail "tapir's connection to port $port is not ESTABLISHED: $(cat "$WORK/ss.out")"
log "tapir ss after the RSTs: $(grep "$PEER_ADDR:$port " "$WORK/ss.out")"
host_stop

must_count "RSTs from the kernel" "$PCAP" "ip.src == $PEER_ADDR && tcp.flags.reset == 1" -ge 2
first=$(rows "$PCAP" "ip.src == $PEER_ADDR && tcp.flags.reset == 1" frame.number | head -n 1)
after=$(rows "$PCAP" "frame.number > $first && ip.src == $HOST_ADDR && tcp.len > 0" frame.number |
	head -n 1)
[[ -n $after ]] || fail "tapir sent no data after the kernel's first RST"
must_count "kernel RSTs answering tapir's data after the first RST" "$PCAP" \
	"frame.number > $after && ip.src == $PEER_ADDR && tcp.flags.reset == 1" -ge 1
must_count "RSTs from tapir" "$PCAP" "ip.src == $HOST_ADDR && tcp.flags.reset == 1" -eq 0
pass
