#!/usr/bin/env bash
# curl under `tapir run --personality ttl=N` fetches 100 MB byte-exact
# (sha256) from python's http.server on the kernel's side of the TAP.  A
# capture on the kernel's side of the TAP (dumpcap on tp0 in the namespace,
# not tapir's own --pcap) shows tapir's MAC and address as the client's and
# TTL N in every frame from tapir; `ss -tanp` in the namespace, sampled
# while the body flows, shows the server's connection and no kernel TCP
# socket of curl's.  curl's own exit codes: 7 for a refused port, 28 for
# --connect-timeout 2 against a port whose SYNs the kernel drops (an nft
# rule in the test's namespace), as on the kernel.
source "$(dirname "$0")/lib_run.sh"
require_run curl python3 sha256sum dumpcap nft ss
TTL=61
SIZE_MB=100

ns_create
mkdir -p "$WORK/www"
head -c $((SIZE_MB * 1048576)) /dev/urandom >"$WORK/www/f.bin"
want=$(sha256sum <"$WORK/www/f.bin" | cut -d' ' -f1)
ip netns exec "$NS" timeout 200 python3 -m http.server 8000 --bind 0.0.0.0 \
	--directory "$WORK/www" >"$WORK/http.log" 2>&1 &
for _ in $(seq 100); do nsx ss -Htln | has ':8000 ' && break; sleep 0.1; done
nsx ss -Htln | has ':8000 ' || fail "python's http.server does not listen"

# curl starts once the capture is on (tp0 exists only once tapir run made it)
NSX_TIMEOUT=200 run_bg fetch "${RUN_LINK[@]}" --personality "ttl=$TTL" -- sh -c \
	"while [ ! -e '$WORK/go' ]; do sleep 0.05; done
	 exec curl -sS -m 150 --limit-rate 40M -o '$WORK/got.bin' 'http://$PEER_ADDR:8000/f.bin'"
RUN_PID=$!
for _ in $(seq 100); do nsx ip link show "$TAP" >/dev/null 2>&1 && break; sleep 0.1; done
nsx ip link show "$TAP" >/dev/null 2>&1 || fail "tapir run made no $TAP ($(tail -3 "$WORK/fetch.err"))"
timeout -k 5 200 ip netns exec "$NS" dumpcap -q -i "$TAP" -s 128 -w "$WORK/k.pcap" \
	2>"$WORK/dumpcap.err" &
CAP_PID=$!
capture_ready "$WORK/k.pcap" "$WORK/dumpcap.err" nsx ping -c 1 -W 1 "$HOST_ADDR"
touch "$WORK/go"

# while the body flows: the server's socket to tapir is the kernel's only
# connection; curl has none
seen=0
while kill -0 "$RUN_PID" 2>/dev/null; do
	nsx ss -Htanp >"$WORK/ss.now" 2>&1
	grep -q 'curl' "$WORK/ss.now" && { cp "$WORK/ss.now" "$WORK/ss.bad"; fail "a kernel socket of curl's: $(grep curl "$WORK/ss.now")"; }
	grep -E "^ESTAB.*$PEER_ADDR:8000 +$HOST_ADDR:" "$WORK/ss.now" | has python && seen=$((seen + 1))
	sleep 0.2
done
wait "$RUN_PID" || fail "tapir run curl: exit $? ($(tail -3 "$WORK/fetch.err"))"
[[ $seen -ge 1 ]] || fail "ss never saw the server's connection to tapir while the body flowed"
log "ss: the server's connection to $HOST_ADDR in $seen samples, no socket of curl's"
got=$(sha256sum <"$WORK/got.bin" | cut -d' ' -f1)
[[ $got == "$want" ]] || fail "the body differs ($(stat -c %s "$WORK/got.bin") bytes, sha256 $got)"
log "100 MB byte-exact (sha256 $want)"
kill -INT "$CAP_PID" 2>/dev/null
wait "$CAP_PID"

must_count "SYN from tapir's MAC and address" "$WORK/k.pcap" \
	"tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.dstport==8000 && ip.src==$HOST_ADDR && eth.src==$RUN_MAC" -eq 1
must_count "data segments to tapir" "$WORK/k.pcap" "ip.dst==$HOST_ADDR && tcp.srcport==8000 && tcp.len>0" -ge 2000
must_count "frames from tapir" "$WORK/k.pcap" "ip && eth.src==$RUN_MAC" -ge 1000
must_count "frames from tapir with another TTL" "$WORK/k.pcap" "ip && eth.src==$RUN_MAC && ip.ttl!=$TTL" -eq 0
must_count "frames to 8000 not from tapir" "$WORK/k.pcap" "tcp.dstport==8000 && !(eth.src==$RUN_MAC)" -eq 0

run_fg "${RUN_LINK[@]}" -- curl -sS -o /dev/null "http://$PEER_ADDR:8001/" 2>"$WORK/refused.err"
rc=$?
[[ $rc -eq 7 ]] || fail "a refused port: curl exit $rc, not 7 ($(cat "$WORK/refused.err"))"
log "a refused port: curl exit 7 ($(cat "$WORK/refused.err"))"

# the kernel drops every SYN to 8002: curl gives up after 2 s with 28
nsx nft -f - <<EOF || fail "nft: cannot add the drop rule"
table inet tapirtest {
	chain in { type filter hook input priority 0; tcp dport 8002 drop; }
}
EOF
run_fg "${RUN_LINK[@]}" -- curl -sS --connect-timeout 2 -o /dev/null "http://$PEER_ADDR:8002/" \
	2>"$WORK/dropped.err"
rc=$?
[[ $rc -eq 28 ]] || fail "a dropped port: curl exit $rc, not 28 ($(cat "$WORK/dropped.err"))"
log "a dropped port: curl exit 28 ($(cat "$WORK/dropped.err"))"

run_fg "${RUN_LINK[@]}" -- /nonexistent/cmd 2>"$WORK/nocmd.err"
rc=$?
[[ $rc -eq 2 && $(grep -c . "$WORK/nocmd.err") -eq 1 ]] && grep -q '^tapir: ' "$WORK/nocmd.err" ||
	fail "a missing command: exit $rc ($(cat "$WORK/nocmd.err"))"
run_fg "${RUN_LINK[@]}" -- no-such-command-anywhere 2>"$WORK/nocmd2.err"
rc=$?
[[ $rc -eq 2 && $(grep -c . "$WORK/nocmd2.err") -eq 1 ]] && grep -q '^tapir: ' "$WORK/nocmd2.err" ||
	fail "a command not on PATH: exit $rc ($(cat "$WORK/nocmd2.err"))"
pass
