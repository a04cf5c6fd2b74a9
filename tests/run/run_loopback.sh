#!/usr/bin/env bash
# 127.0.0.0/8 is tapir's own loopback (RFC 1122 3.2.1.3 (g)): under one
# `tapir host --control`, python's http.server in one `tapir run --attach`
# (on 0.0.0.0, and a second on 127.0.0.1) is fetched byte-exact by curl
# http://127.0.0.1:PORT/ in another; a held client connection shows in
# `tapir ss` as 127.0.0.1 both ends, while the kernel's ss in the
# namespace shows no socket on those ports and tapir's counters show
# nothing with a 127/8 address went onto the TAP.  UDP over 127.0.0.1
# between two runs, too.
source "$(dirname "$0")/lib_run.sh"
require_run curl python3 cmp ss

ns_create
host_start --control "$WORK/ctl" --pcap "$WORK/tap.pcap"
mkdir -p "$WORK/www"
head -c 300000 /dev/urandom >"$WORK/www/f.bin"

run_bg http --attach "$WORK/ctl" -- python3 -m http.server 8080 --bind 0.0.0.0 --directory "$WORK/www"
run_bg http2 --attach "$WORK/ctl" -- python3 -m http.server 8081 --bind 127.0.0.1 --directory "$WORK/www"
for _ in $(seq 100); do
	nsx "$TAPIR" ss --control "$WORK/ctl" 2>/dev/null | grep LISTEN | has ':8081' && break
	sleep 0.1
done
for port in 8080 8081; do
	ok=""
	for _ in $(seq 50); do
		if nsx "$TAPIR" run --attach "$WORK/ctl" -- \
			curl -sS -m 20 -o "$WORK/got$port.bin" "http://127.0.0.1:$port/f.bin" 2>"$WORK/curl$port.err"; then
			ok=1
			break
		fi
		sleep 0.2
	done
	[[ -n $ok ]] || fail "curl http://127.0.0.1:$port/ under tapir run: $(cat "$WORK/curl$port.err")"
	cmp -s "$WORK/www/f.bin" "$WORK/got$port.bin" || fail "the body from port $port differs"
done
log "curl under one run fetched byte-exact from http.server under another, over 127.0.0.1"

# a client that holds its connection, for both ss's
run_bg hold --attach "$WORK/ctl" -- python3 -c "
import socket, time
s = socket.create_connection(('127.0.0.1', 8080)); print('connected', s.getsockname()[0], flush=True); time.sleep(60)"
for _ in $(seq 100); do grep -q connected "$WORK/hold.out" && break; sleep 0.1; done
grep -q '^connected 127.0.0.1$' "$WORK/hold.out" ||
	fail "the held client: $(cat "$WORK/hold.out") $(tail -3 "$WORK/hold.err")"
nsx "$TAPIR" ss --control "$WORK/ctl" >"$WORK/ss.out" 2>&1 || fail "tapir ss: $(cat "$WORK/ss.out")"
grep ESTAB "$WORK/ss.out" | has -E ' 127\.0\.0\.1:[0-9]+ +127\.0\.0\.1:8080 ' ||
	fail "no client connection 127.0.0.1 -> 127.0.0.1:8080 in tapir ss: $(cat "$WORK/ss.out")"
grep ESTAB "$WORK/ss.out" | has -E ' 127\.0\.0\.1:8080 +127\.0\.0\.1:[0-9]+ ' ||
	fail "no accepted connection on 127.0.0.1:8080 in tapir ss: $(cat "$WORK/ss.out")"
nsx ss -Htuan >"$WORK/kss.out" 2>&1 || fail "ss: $(cat "$WORK/kss.out")"
if grep -E ':808[01]\b' "$WORK/kss.out"; then
	fail "the kernel holds sockets on 8080/8081: $(cat "$WORK/kss.out")"
fi
log "tapir ss shows both ends on 127.0.0.1; the kernel's ss shows no socket"

# UDP over 127.0.0.1 between two runs: an echo server and a client
run_bg udpsrv --attach "$WORK/ctl" -- python3 -c "
import socket
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(('127.0.0.1', 9053)); a.settimeout(30)
print('bound', flush=True)
d, src = a.recvfrom(100); a.sendto(d.upper(), src)"
for _ in $(seq 100); do grep -q bound "$WORK/udpsrv.out" && break; sleep 0.1; done
nsx "$TAPIR" run --attach "$WORK/ctl" -- python3 -c "
import socket
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.settimeout(10)
b.sendto(b'ping', ('127.0.0.1', 9053))
d, src = b.recvfrom(100); assert d == b'PING' and src == ('127.0.0.1', 9053), (d, src)
print('udp ok', b.getsockname()[0])" >"$WORK/udp.out" 2>&1 || fail "UDP over 127.0.0.1: $(cat "$WORK/udp.out")"
grep -q 'udp ok' "$WORK/udp.out" || fail "UDP over 127.0.0.1: $(cat "$WORK/udp.out")"
log "UDP over 127.0.0.1 between two runs"

# RFC 1122 3.2.1.3 (g): nothing with a 127/8 address went onto the link
host_stop
n=$(tshark -r "$WORK/tap.pcap" -Y 'ip.addr==127.0.0.0/8' 2>/dev/null | wc -l)
[[ $n -eq 0 ]] || fail "$n frames with a 127/8 address in the host's capture"
[[ $(tshark -r "$WORK/tap.pcap" 2>/dev/null | wc -l) -gt 0 ]] || fail "the capture is empty"
pass
