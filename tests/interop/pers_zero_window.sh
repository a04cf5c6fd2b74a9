#!/usr/bin/env bash
# zero-window=MS: for 2 s after the handshake tapir advertises a zero
# window.  A kernel client uploading 300 KB to discard must stop, probe
# the window (RFC 9293 3.8.6.1), and finish once tapir's real window shows
# again: every byte arrives (the client half-closes, and tapir's discard,
# having read to the end, closes too).
# shellcheck source=tests/interop/pers_lib.sh
source "$(dirname "$0")/pers_lib.sh"
require_root
ns_create
PCAP=$WORK/zw.pcap
pers_host_start --pcap "$PCAP" --personality zero-window=2000

NSX_TIMEOUT=40 nsx "$PY" - "$HOST_ADDR" >"$WORK/client.out" 2>&1 <<'PYEOF' ||
import socket, sys
s = socket.create_connection((sys.argv[1], 9), timeout=30)
s.sendall(b"z" * 300000)
s.shutdown(socket.SHUT_WR)
assert s.recv(100) == b"", "discard sent something"
print("300000 bytes sent; tapir closed after reading them")
PYEOF
	fail "client: $(cat "$WORK/client.out")"
log "client: $(cat "$WORK/client.out")"
host_stop

T="ip.src == $HOST_ADDR && tcp.flags.syn == 0"
must_count "SYN,ACK with a zero window" "$PCAP" "ip.src == $HOST_ADDR && tcp.flags.syn == 1 && tcp.window_size_value == 0" -eq 0
must_count "tapir segments with a zero window" "$PCAP" "$T && tcp.window_size_value == 0" -ge 1
# Linux probes with a segment one below SND.UNA, which tshark 4.0 calls a
# keep-alive; a probe carrying a byte would be a zero_window_probe
must_count "kernel zero-window probes" "$PCAP" \
	"ip.src == $PEER_ADDR && (tcp.analysis.zero_window_probe || tcp.analysis.keep_alive)" -ge 1
last_zero=$(rows "$PCAP" "$T && tcp.window_size_value == 0" frame.number | tail -n 1)
must_count "tapir segments opening the window after that" "$PCAP" \
	"$T && tcp.window_size_value > 0 && frame.number > $last_zero" -ge 1
# every byte acknowledged: tapir's highest ACK covers 300000 bytes and the FIN
acked=$(rows "$PCAP" "ip.src == $HOST_ADDR && tcp.flags.ack == 1" tcp.ack | sort -n | tail -n 1)
isn=$(rows "$PCAP" "ip.src == $PEER_ADDR && tcp.flags.syn == 1" tcp.seq | head -n 1)
[[ $(((acked - isn + 4294967296) % 4294967296)) -eq 300002 ]] ||
	fail "tapir acknowledged up to $acked; the client's ISN is $isn: not 300000 bytes + SYN + FIN"
log "tapir acknowledged all 300000 bytes and the FIN"
pcap_assert_clean "$PCAP" "$HOST_MAC"
pass
