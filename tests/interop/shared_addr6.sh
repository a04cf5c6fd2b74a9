#!/usr/bin/env bash
# tapir --shared-addr over IPv6 (docs/shared-addr.md): tapir takes the
# interface's global IPv6 address beside its IPv4 one.  Two namespaces
# joined by a veth pair: A (10.78.0.1, fd00:78::1: the kernel and tapir)
# and B (10.78.0.2, fd00:78::2, and fd00:79::1 behind it: A's kernel's IPv6
# default route goes through B).
#   - tapir host --iface vA --shared-addr: the ready line has fd00:78::1/64;
#     its nftables table has an ip6 rule for the same ports; B fetches
#     tapir's file over IPv6 (hop limit 33 from the ttl personality), echo
#     over IPv6 (TCP and UDP); the kernel's server on [fd00:78::1]:8000, its
#     closed port 22 (its RST), its UDP port unreachable (exactly one) and
#     ping -6 (three replies, no DUP: tapir holds echo, neighbour
#     advertisements and DAD back) keep working, as does A's kernel's own
#     client to B; no RST or ICMPv6 error from A for tapir's ports;
#   - the ruleset is exactly as before after SIGTERM;
#   - tapir check --mode stack --iface vA --shared-addr over IPv6, on-link
#     and off-link (through the kernel's IPv6 default router): open and
#     closed right, each SYN/ACK answered by one RST (tapir's);
#   - tapir run --iface vA --shared-addr -- curl -g http://[fd00:79::1]/:
#     byte-exact over tapir's TCP (hop limit 44, a port of tapir's range).
source "$(dirname "$0")/lib.sh"
require_root nft curl python3 dumpcap

A_ADDR=10.78.0.1 B_ADDR=10.78.0.2 A6=fd00:78::1 B6=fd00:78::2 FAR6=fd00:79::1
NSB=""

cleanup_b() {
	local rc=$? p
	if [[ -n $NSB ]]; then
		for p in $(ip netns pids "$NSB" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		timeout 10 ip netns del "$NSB" 2>/dev/null
	fi
	(exit "$rc")
	_cleanup
}

NS_IPV6=1
ns_create
NSB="$NS-b"
trap cleanup_b EXIT
timeout 10 ip netns add "$NSB" || fail "cannot create namespace $NSB"
nsb() { timeout -k 5 "${NSX_TIMEOUT:-30}" ip netns exec "$NSB" "$@"; }
for ns in nsx nsb; do # no router solicitations or advertisements of the kernels'
	$ns sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 || fail "sysctl"
done
ip link add vA netns "$NS" type veth peer name vB netns "$NSB" || fail "cannot create the veth pair"
nsx ip addr add "$A_ADDR/24" dev vA && nsx ip addr add "$A6/64" dev vA nodad &&
	nsx ip link set vA up || fail "vA"
nsb ip addr add "$B_ADDR/24" dev vB && nsb ip addr add "$B6/64" dev vB nodad &&
	nsb ip link set vB up && nsb ip link set lo up && nsb ip addr add "$FAR6/128" dev lo || fail "vB"
nsx ip -6 route add default via "$B6" dev vA || fail "A's IPv6 default route"

mkdir -p "$WORK/tapir" "$WORK/kernelA" "$WORK/kernelB"
head -c 100000 /dev/urandom >"$WORK/tapir/t.bin"
head -c 300000 /dev/urandom >"$WORK/kernelB/r.bin"
echo "the kernel of A" >"$WORK/kernelA/k.txt"
echo "the kernel of B" >"$WORK/kernelB/b.txt"
# the kernels' own servers, both families (:: takes IPv4 v4-mapped)
(cd "$WORK/kernelA" && exec ip netns exec "$NS" python3 -m http.server 8000 --bind ::) >/dev/null 2>&1 &
(cd "$WORK/kernelB" && exec ip netns exec "$NSB" python3 -m http.server 8080 --bind ::) >/dev/null 2>&1 &
for ((i = 0; i < 100; i++)); do
	nsb curl -gsf -o /dev/null "http://[$B6]:8080/b.txt" && nsx curl -gsf -o /dev/null "http://[$A6]:8000/k.txt" && break
	sleep 0.1
done
RULES0=$(nsx nft list ruleset) || fail "nft list ruleset"

shared_start() {
	local i
	HOST_N=$((HOST_N + 1))
	HOST_OUT=$WORK/host$HOST_N.out
	HOST_ERR=$WORK/host$HOST_N.err
	timeout -s TERM -k 5 120 ip netns exec "$NS" "$TAPIR" host --iface vA --shared-addr "$@" \
		>"$HOST_OUT" 2>"$HOST_ERR" &
	HOST_WRAP=$!
	for ((i = 0; i < 100; i++)); do
		grep -q '^ready ' "$HOST_OUT" 2>/dev/null && break
		kill -0 "$HOST_WRAP" 2>/dev/null || { cat "$HOST_ERR" >&2; fail "tapir host exited before 'ready'"; }
		sleep 0.1
	done
	grep -q '^ready ' "$HOST_OUT" || fail "no ready line"
	HOST_PID=$(pgrep -P "$HOST_WRAP" | head -n 1)
	[[ -n $HOST_PID ]] || fail "cannot find the tapir process"
	log "host up: $(grep -m1 '^ready ' "$HOST_OUT")"
}
ruleset_as_before() {
	[[ "$(nsx nft list ruleset)" == "$RULES0" ]] || fail "$1: the ruleset differs from before: $(nsx nft list ruleset)"
}
count() { tshark -n -r "$1" -Y "$2" 2>/dev/null | wc -l; }

# ---- 1: tapir host on A's own IPv6 address ----
nsb dumpcap -q -i vB -w "$WORK/b.pcap" >/dev/null 2>&1 &
CAP=$!
for ((i = 0; i < 50; i++)); do [[ -s $WORK/b.pcap ]] && break; sleep 0.1; done
shared_start --serve "http=$WORK/tapir,echo" --personality ttl=33
grep -q "^ready iface=vA addr=$A_ADDR/24 .*addr=$A6/64 .*shared=vA ports=61000-65535 nft=inet tapir_$HOST_PID" "$HOST_OUT" ||
	fail "ready line: $(cat "$HOST_OUT")"
guard=$(nsx nft list table inet "tapir_$HOST_PID")
grep -q "ip6 daddr $A6 .*th dport { 7, 80, 61000-65535 } counter packets [0-9]* bytes [0-9]* drop" <<<"$guard" ||
	fail "no ip6 rule in the guard: $guard"

nsb curl -gsf -o "$WORK/got.bin" "http://[$A6]/t.bin" || fail "curl -g to tapir's port 80 over IPv6"
cmp -s "$WORK/got.bin" "$WORK/tapir/t.bin" || fail "tapir's file differs"
[[ $(nsb curl -gsf "http://[$A6]:8000/k.txt") == "the kernel of A" ]] || fail "the kernel's server on [$A6]:8000"
[[ $(nsx curl -gsf "http://[$B6]:8080/b.txt") == "the kernel of B" ]] || fail "A's kernel's own client to B over IPv6"
[[ $(echo hello6 | nsb nc -6 -N -w 5 "$A6" 7) == hello6 ]] || fail "nc -6 to tapir's echo"
[[ $(echo udp6 | nsb nc -6 -u -w 2 "$A6" 7) == udp6 ]] || fail "UDP echo over IPv6 from tapir's port 7"
nsb ping -6 -c 3 -i 0.2 -W 2 "$A6" >"$WORK/ping.out" || fail "ping -6 to A: $(cat "$WORK/ping.out")"
grep -q DUP "$WORK/ping.out" && fail "ping -6 to A answered twice (tapir echoed too)"
nsb nc -6 -z -w 2 "$A6" 22 && fail "port 22 of A is open?"
echo to-the-kernel | nsb nc -6 -u -w 1 "$A6" 9999
nsx nft list table inet "tapir_$HOST_PID" >"$WORK/guard.txt"
grep -Eq "ip6 daddr .*counter packets [1-9]" "$WORK/guard.txt" || fail "the ip6 rule dropped nothing: $(cat "$WORK/guard.txt")"
kill -TERM "$HOST_PID"
_wait_gone "$HOST_WRAP" 100 || fail "tapir did not exit on SIGTERM"
wait "$HOST_WRAP" 2>/dev/null
HOST_PID=""
kill "$CAP"
wait "$CAP" 2>/dev/null
ruleset_as_before "after SIGTERM"
grep -q '^tapir: shared-addr: ignored' "$HOST_ERR" || fail "no report: $(cat "$HOST_ERR")"
log "$(grep '^tapir: shared-addr' "$HOST_ERR")"

P=$WORK/b.pcap
hl=$(tshark -n -r "$P" -Y "ipv6.src==$A6 && tcp.srcport==80" -T fields -e ipv6.hlim | sort -u | tr '\n' ' ')
[[ $hl == "33 " ]] || fail "A's port 80 over IPv6 answered with hop limits '$hl' (tapir's personality: 33 only)"
hl=$(tshark -n -r "$P" -Y "ipv6.src==$A6 && tcp.srcport==8000" -T fields -e ipv6.hlim | sort -u | tr '\n' ' ')
[[ $hl == "64 " ]] || fail "A's port 8000 answered with hop limits '$hl' (the kernel's: 64)"
n=$(count "$P" "ipv6.src==$A6 && (tcp.srcport==80 || tcp.srcport==7) && tcp.flags.reset==1")
[[ $n -eq 0 ]] || fail "$n RSTs from A's port 80/7 over IPv6 (the kernel's?)"
n=$(count "$P" "ipv6.src==$A6 && tcp.srcport==22 && tcp.flags.reset==1")
[[ $n -ge 1 ]] || fail "no kernel RST for A's closed port 22"
n=$(count "$P" "ipv6.src==$A6 && icmpv6.type < 128 && !(udp.dstport==9999)")
[[ $n -eq 0 ]] || fail "$n ICMPv6 errors from A for tapir's ports"
n=$(count "$P" "ipv6.src==$A6 && icmpv6.type==1 && udp.dstport==9999")
[[ $n -eq 1 ]] || fail "$n port unreachables for one datagram to the kernel's UDP port 9999 (want 1)"
n=$(count "$P" "ipv6.src==$A6 && icmpv6.type==129")
[[ $n -eq 3 ]] || fail "$n echo replies from A for 3 requests"
n=$(count "$P" "icmpv6.type==135 && ipv6.src==::")
[[ $n -eq 0 ]] || fail "$n duplicate address detection solicitations on the link (tapir's DAD for the kernel's address?)"
log "IPv6: tapir on :80 and :7 (hop limit 33), the kernel on :8000, :22, ping -6 and its own client (64)"

# ---- 2: check --mode stack --shared-addr over IPv6, on-link and off-link ----
nsx dumpcap -q -i vA -f tcp -w "$WORK/a.pcap" >/dev/null 2>&1 &
CAP=$!
for ((i = 0; i < 50; i++)); do [[ -s $WORK/a.pcap ]] && break; sleep 0.1; done
nsx "$TAPIR" check --mode stack --iface vA --shared-addr "[$B6]:8080,8081" "[$FAR6]:8080,8081" \
	>"$WORK/check.out" 2>"$WORK/check.err"
rc=$?
sleep 0.5
kill "$CAP"
wait "$CAP" 2>/dev/null
[[ $rc -eq 1 ]] || fail "check exit $rc (want 1: some closed): $(cat "$WORK/check.err")"
got=$(awk '{print $1, $2, $3}' "$WORK/check.out" | tr '\n' '|')
[[ $got == "$B6 8080 open|$B6 8081 closed|$FAR6 8080 open|$FAR6 8081 closed|" ]] ||
	fail "check said: $(cat "$WORK/check.out" "$WORK/check.err")"
ruleset_as_before "after check"
synacks=$(count "$WORK/a.pcap" "tcp.srcport==8080 && tcp.flags.syn==1 && tcp.flags.ack==1")
rsts=$(count "$WORK/a.pcap" "ipv6.src==$A6 && tcp.dstport==8080 && tcp.flags.reset==1")
[[ $synacks -ge 2 && $rsts -eq $synacks ]] || fail "$rsts RSTs for $synacks SYN/ACKs (A's kernel answered too?)"
log "check --shared-addr over IPv6: on-link and off-link (via $B6) right; $synacks SYN/ACKs, $rsts RSTs (tapir's)"

# ---- 3: tapir run --shared-addr -- curl over IPv6, off-link ----
nsb dumpcap -q -i vB -w "$WORK/run.pcap" >/dev/null 2>&1 &
CAP=$!
for ((i = 0; i < 50; i++)); do [[ -s $WORK/run.pcap ]] && break; sleep 0.1; done
NSX_TIMEOUT=60 nsx "$TAPIR" run --iface vA --shared-addr --personality ttl=44 -- \
	curl -gsf --max-time 30 -o "$WORK/run.bin" "http://[$FAR6]:8080/r.bin" 2>"$WORK/run.err" ||
	fail "tapir run curl -g: $(cat "$WORK/run.err")"
sleep 0.5
kill "$CAP"
wait "$CAP" 2>/dev/null
cmp -s "$WORK/run.bin" "$WORK/kernelB/r.bin" || fail "tapir run: the file differs"
ruleset_as_before "after tapir run"
syn=$(tshark -n -r "$WORK/run.pcap" -Y "ipv6.src==$A6 && tcp.dstport==8080 && tcp.flags.syn==1" -T fields -e ipv6.hlim -e tcp.srcport | sort -u)
[[ $(wc -l <<<"$syn") -eq 1 && $syn =~ ^44[[:space:]]+6[1-5][0-9]{3}$ ]] ||
	fail "tapir run: SYN(s) '$syn' (want one, hop limit 44, a port of 61000-65535)"
n=$(count "$WORK/run.pcap" "ipv6.src==$A6 && tcp.flags.reset==1")
[[ $n -eq 0 ]] || fail "tapir run: $n RSTs from A"
log "tapir run --shared-addr: curl -g fetched 300000 bytes from [$FAR6] over tapir's TCP ($syn)"
pass
