#!/usr/bin/env bash
# rst-after=N: once N bytes of data have crossed a connection, tapir resets
# it.  Both directions:
#   - curl downloads 200 KB with N=20000: curl fails "reset by peer"
#     (exit 56) having received fewer than N bytes of body; on the wire,
#     tapir's RST carries the sequence number right after the last data
#     byte it sent (RFC 5961 3.2: the one the peer accepts at once), and no
#     data follows it;
#   - a client uploads 200 KB to discard with N=5000: its send fails with
#     ECONNRESET (or EPIPE).
# tapir's own socket is closed (tapir ss shows no connection afterwards).
# shellcheck source=tests/interop/pers_lib.sh
source "$(dirname "$0")/pers_lib.sh"
require_root curl
ns_create
www_create r.bin 200000

# ---- tapir sends ----
PCAP=$WORK/down.pcap
pers_host_start --serve "http=$WWW" --pcap "$PCAP" --personality rst-after=20000
NSX_TIMEOUT=20 nsx curl -sS --max-time 10 -o "$WORK/r.out" "http://$HOST_ADDR/r.bin" \
	>"$WORK/curl.out" 2>&1
rc=$?
[[ $rc -eq 56 ]] || fail "curl exited $rc, not 56 (connection reset): $(cat "$WORK/curl.out")"
got=$(stat -c %s "$WORK/r.out" 2>/dev/null || echo 0)
[[ $got -lt 20000 ]] || fail "curl received $got bytes of body, not fewer than 20000"
log "curl: $(cat "$WORK/curl.out") after $got bytes of body"
host_stop
must_count "RSTs from tapir" "$PCAP" "ip.src == $HOST_ADDR && tcp.flags.reset == 1" -ge 1
rst=$(rows "$PCAP" "ip.src == $HOST_ADDR && tcp.flags.reset == 1" frame.number tcp.seq)
read -r rst_frame rst_seq <<<"$rst"
# after it, tapir's stack knows no connection: a segment of the kernel's
# still in flight (an ACK crossing the RST) gets a RST of its own (RFC 9293
# 3.10.7.1), never more RSTs than such segments
late=$(pcap_counts "$PCAP" "ip.src == $HOST_ADDR && tcp.flags.reset == 1 && frame.number > $rst_frame" \
	"ip.dst == $HOST_ADDR && tcp && tcp.flags.reset == 0 && frame.number > $rst_frame")
{ read -r late_rst; read -r late_in; } <<<"$late"
[[ $late_rst -le $late_in ]] || fail "tapir sent $late_rst RSTs after its reset, for $late_in segments of the kernel's"
last=$(rows "$PCAP" "ip.src == $HOST_ADDR && tcp.len > 0 && frame.number < $rst_frame" tcp.nxtseq |
	sort -n | tail -n 1)
[[ $last -eq $rst_seq ]] || fail "tapir's RST has seq $rst_seq, not $last (after its last data byte)"
must_count "tapir data after its RST" "$PCAP" \
	"ip.src == $HOST_ADDR && tcp.len > 0 && frame.number > $rst_frame" -eq 0
data=$(rows "$PCAP" "ip.src == $HOST_ADDR && tcp.len > 0" tcp.len | awk '{ s += $1 } END { print s + 0 }')
[[ $data -lt 20000 ]] || fail "tapir sent $data bytes before its RST, not fewer than 20000"
log "tapir's RST: seq $rst_seq, right after its last data byte; $data bytes sent before it"

# ---- tapir receives ----
PCAP=$WORK/up.pcap
pers_host_start --pcap "$PCAP" --personality rst-after=5000
nsx "$PY" - "$HOST_ADDR" >"$WORK/client.out" 2>&1 <<'PYEOF' || fail "client: $(cat "$WORK/client.out")"
import errno, socket, sys, time
s = socket.create_connection((sys.argv[1], 9), timeout=5)
chunk = b"u" * 1000
try:
    for i in range(200):
        s.sendall(chunk)
        time.sleep(0.005)  # small writes, so that tapir ACKs (and resets) on the way
    raise SystemExit("200 KB sent, no reset")
except (ConnectionResetError, BrokenPipeError) as e:
    print("send failed after %d KB: %s" % (i, e))
PYEOF
log "client: $(cat "$WORK/client.out")"
tctl ss >"$WORK/ss.out" || fail "tapir ss failed"
grep -q ":9 .*$PEER_ADDR:" "$WORK/ss.out" && fail "tapir still holds the connection: $(cat "$WORK/ss.out")"
host_stop
must_count "RSTs from tapir" "$PCAP" "ip.src == $HOST_ADDR && tcp.flags.reset == 1" -ge 1
pass
