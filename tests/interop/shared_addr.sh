#!/usr/bin/env bash
# tapir host --iface vA --shared-addr: tapir on the address the kernel also
# holds (docs/shared-addr.md).  Two namespaces joined by a veth pair: A
# (10.78.0.1, the kernel and tapir) and B (10.78.0.2, the kernel as a
# client and server).
#   - tapir's port 80 answers from B with tapir's TCP (the ttl=33
#     personality in B's capture), and neither A's kernel RST nor ICMP
#     appears for it;
#   - the kernel's own server on A's port 8000, ping to A (answered once:
#     by the kernel, no DUP), and A's kernel's outgoing connection to B
#     keep working; tapir counts what it ignored;
#   - `nft list tables` in A shows inet tapir_<pid> while tapir runs, and
#     the ruleset is exactly as before after SIGTERM, after SIGINT, after a
#     SIGKILL followed by another start (which removes the leftover), and
#     after refused starts (--ports in the ephemeral range or on a kernel
#     listener, no CAP_NET_ADMIN: exit 2, one tapir: line);
#   - UDP: tapir's echo on 7; a datagram to the kernel's closed port 9999
#     gets exactly one port unreachable (the kernel's);
#   - tapir check --mode stack --shared-addr from A scanning B: the right
#     open/closed results, each SYN/ACK answered by one RST (tapir's), none
#     by A's kernel; --banners gets B's HTTP status line and Server header
#     with no firewall rule of the user's; a check stopped with SIGINT
#     removes its table;
#   - tapir host and tapir run --iface vA with an address of their own
#     (10.78.0.9): ping, echo, its own MAC; curl from it to B;
#   - tapir run --iface vA --shared-addr -- curl: B's file byte-exact over
#     tapir's TCP (ttl=44, a port of tapir's range), no RST from A.
source "$(dirname "$0")/shared_lib.sh"
require_root nft curl python3 capsh dumpcap

A_ADDR=10.78.0.1
B_ADDR=10.78.0.2
sh_pair4 "$A_ADDR" "$B_ADDR"

mkdir -p "$WORK/tapir" "$WORK/kernelA" "$WORK/kernelB"
head -c 100000 /dev/urandom >"$WORK/tapir/t.bin"
echo "the kernel of A" >"$WORK/kernelA/k.txt"
echo "the kernel of B" >"$WORK/kernelB/b.txt"
# the kernel's own servers: A on 8000, B on 8080 (for A's outgoing test and the scan)
(cd "$WORK/kernelA" && exec ip netns exec "$NS" python3 -m http.server 8000 --bind "$A_ADDR") \
	>/dev/null 2>&1 &
(cd "$WORK/kernelB" && exec ip netns exec "$NSB" python3 -m http.server 8080 --bind "$B_ADDR") \
	>/dev/null 2>&1 &
for ((i = 0; i < 100; i++)); do
	nsb curl -sf -o /dev/null "http://$B_ADDR:8080/b.txt" && nsx curl -sf -o /dev/null "http://$A_ADDR:8000/k.txt" && break
	sleep 0.1
done
sh_rules0

# ---- 0: tapir host --iface vA with an address (and MAC) of its own ----
HOST_N=$((HOST_N + 1))
HOST_OUT=$WORK/host$HOST_N.out
HOST_ERR=$WORK/host$HOST_N.err
timeout -s TERM -k 5 60 ip netns exec "$NS" "$TAPIR" host --iface vA --addr 10.78.0.9/24 \
	--serve echo >"$HOST_OUT" 2>"$HOST_ERR" &
HOST_WRAP=$!
for ((i = 0; i < 100; i++)); do grep -q '^ready ' "$HOST_OUT" 2>/dev/null && break; sleep 0.1; done
grep -q '^ready iface=vA addr=10.78.0.9/24 ' "$HOST_OUT" || fail "--iface: $(cat "$HOST_OUT" "$HOST_ERR")"
HOST_PID=$(pgrep -P "$HOST_WRAP" | head -n 1)
nsb ping -c 2 -i 0.2 -W 2 10.78.0.9 >/dev/null || fail "--iface: ping to tapir's own address"
[[ $(echo own-addr | nsb nc -N -w 5 10.78.0.9 7) == own-addr ]] || fail "--iface: echo"
[[ $(nsb ip neigh show 10.78.0.9 | awk '{print $5}') != $(nsx cat /sys/class/net/vA/address) ]] ||
	fail "--iface: tapir answered ARP with the kernel's MAC"
stop_with TERM
[[ "$(nsx nft list ruleset)" == "$RULES0" ]] || fail "--iface without --shared-addr touched nftables"
log "--iface with an address of its own: ping, echo, its own MAC"
# tapir run --iface too, on that address of its own: B's server sees the
# connection come from 10.78.0.9 (B closes first: its TIME-WAIT names it)
NSX_TIMEOUT=60 nsx "$TAPIR" run --iface vA --addr 10.78.0.9/24 -- curl -sf --max-time 20 \
	"http://$B_ADDR:8080/b.txt" >"$WORK/run0.out" 2>"$WORK/run0.err" || fail "run --iface: $(cat "$WORK/run0.err")"
cmp -s "$WORK/run0.out" "$WORK/kernelB/b.txt" || fail "run --iface: not B's file"
nsb ss -tan | has "$B_ADDR:8080 *10.78.0.9:" || fail "run --iface: B saw no connection from 10.78.0.9: $(nsb ss -tan)"
[[ "$(nsx nft list ruleset)" == "$RULES0" ]] || fail "run --iface without --shared-addr touched nftables"
log "run --iface with an address of its own: curl fetched B's file from 10.78.0.9"

# ---- 1: tapir serves port 80 on A's own address ----
sh_cap_start nsb vB "$WORK/b.pcap"
shared_start --serve "http=$WORK/tapir,echo" --personality ttl=33
grep -q "^ready iface=vA addr=$A_ADDR/24 mac=$(nsx cat /sys/class/net/vA/address) .*shared=vA ports=61000-65535 nft=inet tapir_$HOST_PID" "$HOST_OUT" ||
	fail "ready line: $(cat "$HOST_OUT")"
# (whole outputs first: grep -q leaving early would fail the pipe under pipefail)
tables=$(nsx nft list tables)
grep -qx "table inet tapir_$HOST_PID" <<<"$tables" || fail "no table inet tapir_$HOST_PID: $tables"
guard=$(nsx nft list table inet "tapir_$HOST_PID")
grep -q 'th dport { 7, 80, 61000-65535 } counter packets [0-9]* bytes [0-9]* drop' <<<"$guard" ||
	fail "the guard's rule: $guard"

sh_http_checks "$A_ADDR" "$B_ADDR"
echo hello-echo | nsb nc -N -w 5 "$A_ADDR" 7 >"$WORK/echo.out" || fail "nc to tapir's echo"
[[ $(cat "$WORK/echo.out") == hello-echo ]] || fail "tapir's echo said: $(cat "$WORK/echo.out")"
nsb ping -c 3 -i 0.2 -W 2 "$A_ADDR" >"$WORK/ping.out" || fail "ping to A: $(cat "$WORK/ping.out")"
grep -q DUP "$WORK/ping.out" && fail "ping to A answered twice (tapir echoed too)"
grep -q '3 received' "$WORK/ping.out" || fail "ping: $(tail -n 2 "$WORK/ping.out")"
# a closed port of the kernel's: the kernel's RST, tapir silent
nsb nc -z -w 2 "$A_ADDR" 22 && fail "port 22 of A is open?"
# UDP: tapir's echo on 7; a datagram to a closed port of the kernel's gets
# the kernel's port unreachable only (tapir's would be a second one)
[[ $(echo udp-echo | nsb nc -u -w 2 "$A_ADDR" 7) == udp-echo ]] || fail "UDP echo from tapir's port 7"
echo to-the-kernel | nsb nc -u -w 1 "$A_ADDR" 9999

nsx nft list table inet "tapir_$HOST_PID" >"$WORK/guard.txt"
grep -Eq 'counter packets [1-9]' "$WORK/guard.txt" || fail "the guard dropped nothing: $(cat "$WORK/guard.txt")"
stop_with TERM
sh_cap_stop
ruleset_as_before "after SIGTERM"
grep -Eq '^tapir: shared-addr: ignored \(the kernel.s\) [1-9][0-9]* TCP segments, [1-9][0-9]* UDP datagrams, [1-9][0-9]* ICMP queries' "$HOST_ERR" ||
	fail "tapir's report: $(grep shared-addr "$HOST_ERR")"

# the capture: tapir's TCP (ttl 33) on port 80, the kernel's (ttl 64) on 8000,
# no RST and no ICMP from A for tapir's ports
# (every count from one tshark pass: pcap_counts)
mapfile -t c < <(pcap_counts "$WORK/b.pcap" \
	"ip.src==$A_ADDR && tcp.srcport==80" "ip.src==$A_ADDR && tcp.srcport==80 && ip.ttl!=33" \
	"ip.src==$A_ADDR && tcp.srcport==8000" "ip.src==$A_ADDR && tcp.srcport==8000 && ip.ttl!=64" \
	"ip.src==$A_ADDR && (tcp.srcport==80 || tcp.srcport==7) && tcp.flags.reset==1" \
	"ip.src==$A_ADDR && icmp && icmp.type!=0 && !(udp.dstport==9999)" \
	"ip.src==$A_ADDR && icmp.type==3 && udp.dstport==9999" \
	"ip.src==$A_ADDR && tcp.srcport==22 && tcp.flags.reset==1 && ip.ttl==64" \
	"ip.src==$A_ADDR && icmp.type==0")
[[ ${#c[@]} -eq 9 ]] || fail "cannot count the frames of $WORK/b.pcap"
[[ ${c[0]} -ge 1 && ${c[1]} -eq 0 ]] ||
	fail "A's port 80 answered with ${c[1]} of ${c[0]} segments not at TTL 33 (tapir's personality: 33 only)"
[[ ${c[2]} -ge 1 && ${c[3]} -eq 0 ]] ||
	fail "A's port 8000 answered with ${c[3]} of ${c[2]} segments not at TTL 64 (the kernel's: 64)"
[[ ${c[4]} -eq 0 ]] || fail "${c[4]} RSTs from A's port 80/7 (the kernel's?)"
[[ ${c[5]} -eq 0 ]] || fail "${c[5]} ICMP errors from A for tapir's ports"
[[ ${c[6]} -eq 1 ]] || fail "${c[6]} port unreachables for one datagram to the kernel's UDP port 9999 (want 1: the kernel's)"
[[ ${c[7]} -ge 1 ]] || fail "no kernel RST for A's closed port 22"
[[ ${c[8]} -eq 3 ]] || fail "${c[8]} echo replies from A for 3 requests"
log "tapir on :80 and :7 (ttl 33), the kernel on :8000, ping, :22 and its own client (ttl 64)"

# ---- 2: SIGINT; SIGKILL and the next start ----
shared_start --serve echo
stop_with INT
ruleset_as_before "after SIGINT"
shared_start --serve echo
old=$HOST_PID
kill -KILL "$HOST_PID"
_wait_gone "$HOST_WRAP" 100 || fail "tapir survived SIGKILL"
wait "$HOST_WRAP" 2>/dev/null
tables=$(nsx nft list tables)
grep -qx "table inet tapir_$old" <<<"$tables" || fail "SIGKILL: the table should be left behind"
shared_start --serve echo --ports 61000-61999
grep -q "removed the nftables table inet tapir_$old of a tapir that is gone" "$HOST_ERR" ||
	fail "the next start did not report removing tapir_$old: $(cat "$HOST_ERR")"
tables=$(nsx nft list tables | tr '\n' ' ')
[[ $tables == "table inet tapir_$HOST_PID " ]] || fail "tables after the next start: $tables"
# a second tapir on the same address may not take the first one's ports
before=$(nsx nft list ruleset)
nsx "$TAPIR" check --mode stack --iface vA --shared-addr "$B_ADDR:8080" >/dev/null 2>"$WORK/two.err"
rc=$?
[[ $rc -eq 2 ]] && grep -q "^tapir: .*port 61000 is already the tapir's with PID $HOST_PID on this address" "$WORK/two.err" ||
	fail "a second tapir on the same ports: exit $rc: $(cat "$WORK/two.err")"
[[ "$(nsx nft list ruleset)" == "$before" ]] || fail "the refused second tapir changed the ruleset"
nsx "$TAPIR" check --mode stack --iface vA --shared-addr --ports 62000-62100 "$B_ADDR:8080" >"$WORK/two.out" 2>"$WORK/two.err" ||
	fail "a second tapir on ports of its own: $(cat "$WORK/two.err")"
stop_with TERM
ruleset_as_before "after SIGKILL and the next start"
log "the table goes on SIGTERM, SIGINT, and after SIGKILL with the next start"

# ---- 3: refused starts: exit 2, one tapir: line, nothing installed ----
refused() { # WHAT PATTERN ARGS...
	local what=$1 pat=$2 rc
	shift 2
	nsx "$@" >"$WORK/ref.out" 2>"$WORK/ref.err"
	rc=$?
	[[ $rc -eq 2 ]] || fail "$what: exit $rc (want 2): $(cat "$WORK/ref.err")"
	[[ $(wc -l <"$WORK/ref.err") -eq 1 ]] && grep -Eq "^tapir: .*$pat" "$WORK/ref.err" ||
		fail "$what: stderr: $(cat "$WORK/ref.err")"
	ruleset_as_before "$what"
}
refused "ephemeral overlap" "overlaps the kernel's ephemeral ports 32768-60999" \
	"$TAPIR" host --iface vA --shared-addr --ports 40000-40100
(exec ip netns exec "$NS" python3 -m http.server 62000 --bind 0.0.0.0) >/dev/null 2>&1 &
PY62=$!
for ((i = 0; i < 100; i++)); do nsx curl -sf -o /dev/null "http://$A_ADDR:62000/" && break; sleep 0.1; done
refused "kernel listener in range" "the kernel has a TCP socket on port 62000" \
	"$TAPIR" host --iface vA --shared-addr --ports 61990-62010
kill "$PY62"
wait "$PY62" 2>/dev/null
refused "kernel listener on a served port" "the kernel has a TCP socket on port 8000" \
	"$TAPIR" host --iface vA --shared-addr --ports 63000-63010 --serve echo --forward "8000=$B_ADDR:8080"
refused "no CAP_NET_ADMIN" "needs CAP_NET_ADMIN for its nftables table" \
	capsh --drop=cap_net_admin -- -c "exec $TAPIR host --iface vA --shared-addr --serve echo"
refused "check without CAP_NET_ADMIN" "needs CAP_NET_ADMIN for its nftables table" \
	capsh --drop=cap_net_admin -- -c "exec $TAPIR check --mode stack --iface vA --shared-addr $B_ADDR:8080"
refused "check --ports overlap" "overlaps the kernel's ephemeral ports" \
	"$TAPIR" check --mode stack --iface vA --shared-addr --ports 50000-50010 "$B_ADDR:8080"
refused "--shared-addr with --tap" "--shared-addr goes with --iface IF" \
	"$TAPIR" host --tap tpx0 --addr 10.79.0.2/24 --shared-addr
refused "--shared-addr with --addr" "takes vA's own address and MAC" \
	"$TAPIR" host --iface vA --shared-addr --addr 10.78.0.9/24
refused "no such interface" "no Ethernet interface nosuch0" \
	"$TAPIR" host --iface nosuch0 --shared-addr
log "refused: ephemeral overlap, kernel listeners, no CAP_NET_ADMIN (exit 2, nothing installed)"

# ---- 4: check --mode stack --shared-addr scanning B ----
sh_cap_start nsx vA "$WORK/a.pcap" -f tcp
nsx "$TAPIR" check --mode stack --iface vA --shared-addr "$B_ADDR:8080,8081,22" >"$WORK/check.out" 2>"$WORK/check.err"
rc=$?
sh_cap_stop
[[ $rc -eq 1 ]] || fail "check exit $rc (want 1: some closed): $(cat "$WORK/check.err")"
[[ $(awk '{print $2, $3}' "$WORK/check.out" | sort | tr '\n' ' ') == "22 closed 8080 open 8081 closed " ]] ||
	fail "check said: $(cat "$WORK/check.out")"
ruleset_as_before "after check"
{ read -r synacks && read -r rsts && read -r sports; } < <(pcap_counts "$WORK/a.pcap" \
	"ip.src==$B_ADDR && tcp.flags.syn==1 && tcp.flags.ack==1" \
	"ip.src==$A_ADDR && tcp.dstport==8080 && tcp.flags.reset==1" \
	"ip.src==$A_ADDR && tcp.flags.syn==1 && tcp.srcport < 61000")
[[ $synacks =~ ^[0-9]+$ && $rsts =~ ^[0-9]+$ && $sports =~ ^[0-9]+$ ]] ||
	fail "cannot count the frames of $WORK/a.pcap"
[[ $synacks -ge 1 ]] || fail "no SYN/ACK from B's 8080 in the capture"
# tapir answers each SYN/ACK with one RST; the kernel, had it seen them, a second
[[ $rsts -eq $synacks ]] || fail "$rsts RSTs for $synacks SYN/ACKs (A's kernel answered too?)"
[[ $sports -eq 0 ]] || fail "$sports SYNs from ports outside tapir's 61000-65535"
log "check --shared-addr: 8080 open, 8081 and 22 closed; $synacks SYN/ACK, $rsts RST (tapir's)"
# --banners on the shared address: the kernel never RSTs the connection
# (the guard), so B's HTTP server's status line and Server header come back
SERVER=$(python3 -c 'import http.server as h; r=h.SimpleHTTPRequestHandler; print(r.server_version+" "+r.sys_version)')
nsx "$TAPIR" check --mode stack --iface vA --shared-addr --banners "$B_ADDR:8080" >"$WORK/ban.out" 2>"$WORK/ban.err"
[[ $(cat "$WORK/ban.out") == "$B_ADDR 8080 open "*" http: HTTP/1.0 200 OK | Server: $SERVER" ]] ||
	fail "--shared-addr --banners: $(cat "$WORK/ban.out" "$WORK/ban.err")"
ruleset_as_before "after check --banners"
log "check --shared-addr --banners: $(cat "$WORK/ban.out")"

# a check stopped with SIGINT removes its table too
ip netns exec "$NS" "$TAPIR" check --mode stack --iface vA --shared-addr --rate 20 "$B_ADDR:1-2000" \
	>/dev/null 2>"$WORK/check2.err" &
CHK=$!
for ((i = 0; i < 100; i++)); do
	[[ $(nsx nft list tables) == "table inet tapir_$CHK" ]] && break
	sleep 0.1
done
[[ $(nsx nft list tables) == "table inet tapir_$CHK" ]] || fail "check: no table inet tapir_$CHK while it runs"
kill -INT "$CHK"
wait "$CHK"
ruleset_as_before "after check's SIGINT"

# ---- 5: tapir run --iface vA --shared-addr -- curl (tapir's TCP, ttl 44) ----
head -c 300000 /dev/urandom >"$WORK/kernelB/r.bin"
sh_run_fetch "http://$B_ADDR:8080/r.bin" "$WORK/kernelB/r.bin" "ip.src==$A_ADDR" ip.ttl
pass
