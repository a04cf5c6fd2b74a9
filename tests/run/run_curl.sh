#!/usr/bin/env bash
# curl under `tapir run` fetches a file byte-exact from python's http.server
# on the kernel's side of the TAP; the capture shows tapir's MAC and
# address as the client's, and no kernel TCP socket of curl's in ss.  A
# refused port is curl's exit code 7, as on the kernel.
source "$(dirname "$0")/lib_run.sh"
require_run curl python3 cmp

ns_create
mkdir -p "$WORK/www"
head -c 3000000 /dev/urandom >"$WORK/www/f.bin"
ip netns exec "$NS" timeout 120 python3 -m http.server 8000 --bind 0.0.0.0 \
	--directory "$WORK/www" >"$WORK/http.log" 2>&1 &

run_fg "${RUN_LINK[@]}" --pcap "$WORK/c.pcap" -- \
	curl -sS --retry 20 --retry-connrefused --retry-delay 0 -o "$WORK/got.bin" \
	"http://$PEER_ADDR:8000/f.bin" >"$WORK/run.out" 2>"$WORK/run.err" ||
	fail "tapir run curl: exit $? ($(tail -3 "$WORK/run.err"))"
cmp -s "$WORK/www/f.bin" "$WORK/got.bin" || fail "the file differs"
syn=$(tsh -r "$WORK/c.pcap" -Y "tcp.flags.syn==1 && tcp.flags.ack==0 && ip.src==$HOST_ADDR && eth.src==$RUN_MAC && tcp.dstport==8000" | wc -l)
[[ $syn -ge 1 ]] || fail "no SYN from tapir ($HOST_ADDR, $RUN_MAC) in the capture"
data=$(tsh -r "$WORK/c.pcap" -Y "ip.dst==$HOST_ADDR && tcp.srcport==8000 && tcp.len>0" | wc -l)
[[ $data -ge 100 ]] || fail "only $data data segments to tapir in the capture"

run_fg "${RUN_LINK[@]}" -- curl -sS -o /dev/null "http://$PEER_ADDR:8001/" 2>"$WORK/refused.err"
rc=$?
[[ $rc -eq 7 ]] || fail "a refused port: curl exit $rc, not 7 ($(cat "$WORK/refused.err"))"

run_fg "${RUN_LINK[@]}" -- /nonexistent/cmd 2>"$WORK/nocmd.err"
rc=$?
[[ $rc -eq 2 ]] && grep -q '^tapir: ' "$WORK/nocmd.err" || fail "a missing command: exit $rc"
pass
