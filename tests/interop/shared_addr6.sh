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
#     byte-exact over tapir's TCP (hop limit 44, a port of tapir's range);
#   - several global addresses on vA (fd00:78::5 beside ::1, ::9 tentative):
#     --shared-addr6 fd00:78::5 shares that one (ready line, the guard's ip6
#     rule, B fetches tapir's file from it while ::1's port 80 stays
#     tapir-free); with ::1 deprecated the default takes ::5, never the
#     tentative ::9; --shared-addr6 of an address vA lacks, of the tentative
#     one, of a link-local one, or without --shared-addr: one tapir: line,
#     exit 2, the ruleset as before.
source "$(dirname "$0")/shared_lib.sh"
require_root nft curl python3 dumpcap

A_ADDR=10.78.0.1 B_ADDR=10.78.0.2 A6=fd00:78::1 B6=fd00:78::2 FAR6=fd00:79::1
NS_IPV6=1
sh_pair
nsx ip addr add "$A_ADDR/24" dev vA && nsx ip addr add "$A6/64" dev vA nodad || fail "vA"
nsb ip addr add "$B_ADDR/24" dev vB && nsb ip addr add "$B6/64" dev vB nodad &&
	nsb ip addr add "$FAR6/128" dev lo || fail "vB"
nsx ip -6 route add default via "$B6" dev vA || fail "A's IPv6 default route"
# the veths' link-local addresses end duplicate address detection before
# any capture starts: a solicitation from :: in one is then tapir's
for ((i = 0; i < 50; i++)); do
	nsx ip -6 addr show dev vA tentative | grep -q inet6 ||
		nsb ip -6 addr show dev vB tentative | grep -q inet6 || break
	sleep 0.1
done

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
sh_rules0
# hlims PORT: the hop limits A's answers from PORT had in B's capture
hlims() {
	tshark -n -r "$WORK/b.pcap" -Y "ipv6.src==$A6 && tcp.srcport==$1" -T fields -e ipv6.hlim | sort -u | tr '\n' ' '
}

# ---- 1: tapir host on A's own IPv6 address ----
sh_cap_start nsb vB "$WORK/b.pcap"
shared_start --serve "http=$WORK/tapir,echo" --personality ttl=33
grep -q "^ready iface=vA addr=$A_ADDR/24 .*addr=$A6/64 .*shared=vA ports=61000-65535 nft=inet tapir_$HOST_PID" "$HOST_OUT" ||
	fail "ready line: $(cat "$HOST_OUT")"
guard=$(nsx nft list table inet "tapir_$HOST_PID")
grep -q "ip6 daddr $A6 .*th dport { 7, 80, 61000-65535 } counter packets [0-9]* bytes [0-9]* drop" <<<"$guard" ||
	fail "no ip6 rule in the guard: $guard"

sh_http_checks "[$A6]" "[$B6]"
[[ $(echo hello6 | nsb nc -6 -N -w 5 "$A6" 7) == hello6 ]] || fail "nc -6 to tapir's echo"
[[ $(echo udp6 | nsb nc -6 -u -w 2 "$A6" 7) == udp6 ]] || fail "UDP echo over IPv6 from tapir's port 7"
nsb ping -6 -c 3 -i 0.2 -W 2 "$A6" >"$WORK/ping.out" || fail "ping -6 to A: $(cat "$WORK/ping.out")"
grep -q DUP "$WORK/ping.out" && fail "ping -6 to A answered twice (tapir echoed too)"
nsb nc -6 -z -w 2 "$A6" 22 && fail "port 22 of A is open?"
echo to-the-kernel | nsb nc -6 -u -w 1 "$A6" 9999
nsx nft list table inet "tapir_$HOST_PID" >"$WORK/guard.txt"
grep -Eq "ip6 daddr .*counter packets [1-9]" "$WORK/guard.txt" || fail "the ip6 rule dropped nothing: $(cat "$WORK/guard.txt")"
stop_with TERM
sh_cap_stop
ruleset_as_before "after SIGTERM"
grep -q '^tapir: shared-addr: ignored' "$HOST_ERR" || fail "no report: $(cat "$HOST_ERR")"
log "$(grep '^tapir: shared-addr' "$HOST_ERR")"

P=$WORK/b.pcap
[[ $(hlims 80) == "33 " ]] || fail "A's port 80 over IPv6 answered with hop limits '$(hlims 80)' (tapir's personality: 33 only)"
[[ $(hlims 8000) == "64 " ]] || fail "A's port 8000 answered with hop limits '$(hlims 8000)' (the kernel's: 64)"
must_count "RSTs from A's port 80/7 over IPv6 (the kernel's?)" "$P" \
	"ipv6.src==$A6 && (tcp.srcport==80 || tcp.srcport==7) && tcp.flags.reset==1" -eq 0
must_count "the kernel's RSTs for A's closed port 22" "$P" "ipv6.src==$A6 && tcp.srcport==22 && tcp.flags.reset==1" -ge 1
must_count "ICMPv6 errors from A for tapir's ports" "$P" "ipv6.src==$A6 && icmpv6.type < 128 && !(udp.dstport==9999)" -eq 0
must_count "port unreachables for one datagram to the kernel's UDP port 9999" "$P" \
	"ipv6.src==$A6 && icmpv6.type==1 && udp.dstport==9999" -eq 1
must_count "echo replies from A for 3 requests" "$P" "ipv6.src==$A6 && icmpv6.type==129" -eq 3
must_count "duplicate address detection solicitations on the link" "$P" "icmpv6.type==135 && ipv6.src==::" -eq 0
log "IPv6: tapir on :80 and :7 (hop limit 33), the kernel on :8000, :22, ping -6 and its own client (64)"

# ---- 2: check --mode stack --shared-addr over IPv6, on-link and off-link ----
sh_cap_start nsx vA "$WORK/a.pcap" -f tcp
nsx "$TAPIR" check --mode stack --iface vA --shared-addr "[$B6]:8080,8081" "[$FAR6]:8080,8081" \
	>"$WORK/check.out" 2>"$WORK/check.err"
rc=$?
sh_cap_stop
[[ $rc -eq 1 ]] || fail "check exit $rc (want 1: some closed): $(cat "$WORK/check.err")"
got=$(awk '{print $1, $2, $3}' "$WORK/check.out" | tr '\n' '|')
[[ $got == "$B6 8080 open|$B6 8081 closed|$FAR6 8080 open|$FAR6 8081 closed|" ]] ||
	fail "check said: $(cat "$WORK/check.out" "$WORK/check.err")"
ruleset_as_before "after check"
synacks=$(pcap_count "$WORK/a.pcap" "tcp.srcport==8080 && tcp.flags.syn==1 && tcp.flags.ack==1")
rsts=$(pcap_count "$WORK/a.pcap" "ipv6.src==$A6 && tcp.dstport==8080 && tcp.flags.reset==1")
[[ $synacks -ge 2 && $rsts -eq $synacks ]] || fail "$rsts RSTs for $synacks SYN/ACKs (A's kernel answered too?)"
log "check --shared-addr over IPv6: on-link and off-link (via $B6) right; $synacks SYN/ACKs, $rsts RSTs (tapir's)"

# ---- 3: tapir run --shared-addr -- curl over IPv6, off-link ----
sh_run_fetch "http://[$FAR6]:8080/r.bin" "$WORK/kernelB/r.bin" "ipv6.src==$A6" ipv6.hlim

# ---- 4: several global addresses: --shared-addr6 chooses ----
A6B=fd00:78::5 A6T=fd00:78::9
nsx ip addr add "$A6B/64" dev vA nodad || fail "a second address on vA"
# ::9 stays tentative: duplicate address detection with 1000 solicitations
nsx sysctl -qw net.ipv6.conf.vA.dad_transmits=1000 && nsx ip addr add "$A6T/64" dev vA || fail "::9"
nsx ip -6 addr show dev vA | has "$A6T/64 scope global tentative" || fail "::9 is not tentative: $(nsx ip -6 addr show dev vA)"
shared_start --serve "http=$WORK/tapir" --shared-addr6 "$A6B"
grep -q "^ready iface=vA addr=$A_ADDR/24 .*addr=$A6B/64 .*shared=vA" "$HOST_OUT" || fail "--shared-addr6 $A6B: ready line $(cat "$HOST_OUT")"
nsx nft list table inet "tapir_$HOST_PID" | has "ip6 daddr $A6B .*drop" || fail "--shared-addr6: the guard is not for $A6B"
nsb curl -gsf --max-time 10 -o "$WORK/got6b" "http://[$A6B]/t.bin" && cmp -s "$WORK/got6b" "$WORK/tapir/t.bin" ||
	fail "B cannot fetch tapir's file from [$A6B]"
nsb curl -gs --max-time 3 -o /dev/null "http://[$A6]/t.bin" && fail "[$A6]:80 answers: tapir took $A6 too"
stop_with TERM
ruleset_as_before "after --shared-addr6"
log "--shared-addr6 $A6B: tapir's file from it; $A6 left alone"
# ::1 deprecated (preferred lifetime 0, RFC 4862 5.5.4): the default takes ::5
nsx ip addr change "$A6/64" dev vA preferred_lft 0 || fail "::1 deprecated"
shared_start --serve "http=$WORK/tapir"
grep -q "^ready .*addr=$A6B/64 .*shared=vA" "$HOST_OUT" || fail "default with $A6 deprecated: $(cat "$HOST_OUT")"
stop_with TERM
log "default: the stable preferred $A6B, not the deprecated $A6 nor the tentative $A6T"
# user mistakes: one line, exit 2, nothing installed
host_error() {
	local what=$1 pat=$2 rc
	shift 2
	NSX_TIMEOUT=20 nsx "$TAPIR" host --iface vA "$@" >"$WORK/herr.out" 2>"$WORK/herr.err"
	rc=$?
	[[ $rc -eq 2 && $(wc -l <"$WORK/herr.err") -eq 1 ]] && grep -Eq -- "$pat" "$WORK/herr.err" ||
		fail "$what: exit $rc, stderr $(cat "$WORK/herr.err")"
	ruleset_as_before "$what"
	log "$what -> $(cat "$WORK/herr.err")"
}
host_error "--shared-addr6 of an address vA lacks" "fd00:78::99 is not an address of vA \\(it has 3 global" \
	--shared-addr --shared-addr6 fd00:78::99
host_error "--shared-addr6 of a tentative address" "$A6T on vA is tentative" --shared-addr --shared-addr6 "$A6T"
host_error "--shared-addr6 link-local" "not a global IPv6 address" --shared-addr --shared-addr6 fe80::1
host_error "--shared-addr6 with a prefix" "not a global IPv6 address" --shared-addr --shared-addr6 "$A6B/64"
host_error "--shared-addr6 alone" "goes with --shared-addr" --shared-addr6 "$A6B"
NSX_TIMEOUT=20 nsx "$TAPIR" check --mode stack --iface vA --shared-addr6 "$A6B" "[$B6]:8080" >/dev/null 2>"$WORK/cerr"
[[ $? -eq 2 ]] && grep -q "goes with --shared-addr" "$WORK/cerr" || fail "check --shared-addr6 alone: $(cat "$WORK/cerr")"
nsx "$TAPIR" check --mode stack --iface vA --shared-addr --shared-addr6 "$A6B" "[$B6]:8080,8081" >"$WORK/check6b.out" 2>&1
[[ $(awk '{print $1, $2, $3}' "$WORK/check6b.out" | tr '\n' '|') == "$B6 8080 open|$B6 8081 closed|" ]] ||
	fail "check --shared-addr6 $A6B: $(cat "$WORK/check6b.out")"
ruleset_as_before "after check --shared-addr6"
log "check --shared-addr --shared-addr6 $A6B: right"
pass
