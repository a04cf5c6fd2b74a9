#!/usr/bin/env bash
# Personalities, the capture and the trace over IPv6 (tapir host with
# fd00::2, the kernel fd00::1 on the TAP):
#   ttl=5             every IPv6 packet tapir sends has hop limit 5, but
#                     neighbor discovery, which keeps 255 (RFC 4861 7.1.1):
#                     ping -6 shows ttl=5, curl -g fetches byte-exact;
#   dth               every data segment tapir sends over IPv6 carries
#                     RFC 9401's DTH (tcp.flags & 0x800), no SYN does;
#   challenge-ack-only  the kernel's SYN to [fd00::2]:7 gets a bare ACK
#                     with a wrong ACK number, never a SYN,ACK; curl -g
#                     exits 28 (connect timeout), the kernel RSTs each one;
#   blackhole         nothing over IPv6 is answered, yet the kernel still
#                     resolves tapir (neighbor discovery answered): nc -6
#                     times out rather than failing at once;
#   slow-accept       200 IPv6 connects fill the accept queue and overflow
#                     the backlog (tcp_listen_overflows).
# And `tapir ss` lists an IPv6 and an IPv4 connection side by side;
# --pcap, --trace tcp,ip6 over IPv6: tshark reads the IPv6 TCP frames,
# none from tapir with a bad checksum or malformed; the trace brackets IPv6
# endpoints and prints the hop limit.
# shellcheck source=tests/interop/pers_lib.sh
source "$(dirname "$0")/pers_lib.sh"
require_root curl nc ping cmp
NS_IPV6=1
ns_create
A6=fd00::2 K6=fd00::1
V6=(--addr "$A6/64" --peer-addr "$K6/64")
www_create r.bin 300000

# pcap_clean6 PCAP: pcap_assert_clean, plus ICMPv6 checksums (not in its list)
pcap_clean6() {
	pcap_assert_clean "$1" "$HOST_MAC"
	must_count "ICMPv6 from tapir with a bad checksum" "$1" \
		"eth.src == $HOST_MAC && icmpv6.checksum.status == 0" -eq 0
}

# fetch_and_stop WHAT: curl -g fetches r.bin from [A6] byte-exact; then
# the host stops (its capture complete)
fetch_and_stop() {
	NSX_TIMEOUT=40 nsx curl -g -sS --max-time 30 -o "$WORK/r.out" "http://[$A6]/r.bin" ||
		fail "curl -g http://[$A6]/r.bin $1 failed"
	cmp -s "$WORK/r.out" "$WWW/r.bin" || fail "curl -g $1: the body differs"
	log "curl -g http://[$A6]/r.bin $1: byte-exact"
	host_stop
}

# ---- ttl=5: the hop limit; --pcap and --trace over IPv6 ----
PCAP=$WORK/ttl.pcap
pers_host_start "${V6[@]}" --serve "echo,http=$WWW" --pcap "$PCAP" --trace tcp,ip6 \
	--personality ttl=5
SEL="eth.src == $HOST_MAC && ipv6" # (each host has a MAC of its own)
nsx ping -6 -c 3 -i 0.2 -W 2 $A6 >"$WORK/ping.out" || fail "ping -6: $(cat "$WORK/ping.out")"
[[ $(grep -c 'ttl=5 ' "$WORK/ping.out") -eq 3 ]] ||
	fail "ping -6: replies without hop limit 5: $(cat "$WORK/ping.out")"
log "ping -6: 3 replies with ttl=5"
# tapir ss shows both families: an echo connection over each, held open
rm -f "$WORK/held" "$WORK/held.done"
NSX_TIMEOUT=30 nsx "$PY" - "$A6" "$HOST_ADDR" "$WORK/held" <<'PYEOF' &
import os, socket, sys, time
a6, a4, flag = sys.argv[1:4]
cs = [socket.create_connection((a, 7), timeout=10) for a in (a6, a4)]
for c in cs:
    c.sendall(b"held\n")
    assert c.recv(10) == b"held\n"
with open(flag + ".tmp", "w") as f:
    f.write(" ".join(str(c.getsockname()[1]) for c in cs) + "\n")
os.rename(flag + ".tmp", flag)
for _ in range(200):  # until the shell has run tapir ss (at most 20 s)
    if os.path.exists(flag + ".done"):
        break
    time.sleep(0.1)
PYEOF
HELD=$!
for ((i = 0; i < 100; i++)); do
	[[ -s $WORK/held ]] && break
	sleep 0.1
done
read -r P6 P4 <"$WORK/held" || fail "the held connections did not open"
tctl ss >"$WORK/ss.out" || fail "tapir ss failed"
touch "$WORK/held.done"
wait "$HELD" || fail "the held connections failed"
grep -Eq "^ESTABLISHED .* \[$A6\]:7 +\[$K6\]:$P6 " "$WORK/ss.out" ||
	fail "tapir ss shows no IPv6 connection [$A6]:7 [$K6]:$P6: $(cat "$WORK/ss.out")"
grep -Eq "^ESTABLISHED .* $HOST_ADDR:7 +$PEER_ADDR:$P4 " "$WORK/ss.out" ||
	fail "tapir ss shows no IPv4 connection $HOST_ADDR:7 $PEER_ADDR:$P4: $(cat "$WORK/ss.out")"
log "tapir ss: both families: $(grep -c '^ESTABLISHED' "$WORK/ss.out") connections"
fetch_and_stop "over IPv6"
ND='icmpv6.type >= 130 && icmpv6.type <= 137 || icmpv6.type == 143'
must_counts "$PCAP" \
	"IPv6 TCP segments from tapir" "$SEL && tcp" -ge 100 \
	"IPv6 echo replies from tapir" "$SEL && icmpv6.type == 129" -eq 3 \
	"IPv6 packets from tapir (not ND/MLD) with a hop limit other than 5" \
	"$SEL && !($ND) && ipv6.hlim != 5" -eq 0 \
	"neighbor advertisements from tapir with hop limit 255" \
	"$SEL && icmpv6.type == 136 && ipv6.hlim == 255" -ge 1 \
	"ND from tapir with another hop limit" \
	"$SEL && icmpv6.type >= 133 && icmpv6.type <= 137 && ipv6.hlim != 255" -eq 0
pcap_clean6 "$PCAP"
must_count "echo replies from tapir with a good ICMPv6 checksum (tshark checks them)" "$PCAP" \
	"$SEL && icmpv6.type == 129 && icmpv6.checksum.status == 1" -eq 3
# the trace: TCP lines with bracketed IPv6 endpoints, ip6 lines with hop limits
grep -q "\[$A6\]:80" "$HOST_OUT" || fail "no tcp trace line with [$A6]:80 on stdout"
n=$(grep -c "tx $A6 > $K6: nh 6 .* hlim 5" "$HOST_OUT")
[[ $n -ge 100 ]] || fail "only $n ip6 trace lines of TCP sent to $K6 with hop limit 5"
log "trace: tcp lines with [$A6]:80, $n ip6 'tx' lines of TCP"

# ---- dth over IPv6 ----
PCAP=$WORK/dth.pcap
pers_host_start "${V6[@]}" --serve "http=$WWW" --pcap "$PCAP" --personality dth
SEL="eth.src == $HOST_MAC && ipv6"
fetch_and_stop "with dth"
DTH='tcp.flags & 0x800'
must_counts "$PCAP" \
	"IPv6 data segments from tapir" "$SEL && tcp.len > 0" -ge 100 \
	"IPv6 data segments from tapir without DTH" "$SEL && tcp.len > 0 && !($DTH)" -eq 0 \
	"SYNs with DTH (RFC 9401 3.3: never)" "tcp.flags.syn == 1 && $DTH" -eq 0
pcap_clean6 "$PCAP"

# ---- challenge-ack-only over IPv6: curl exits 28 ----
PCAP=$WORK/cao.pcap
pers_host_start "${V6[@]}" --pcap "$PCAP" --personality challenge-ack-only
SEL="eth.src == $HOST_MAC && ipv6"
NSX_TIMEOUT=20 nsx curl -g -sS --connect-timeout 3 "http://[$A6]:7/" >"$WORK/curl.out" 2>&1
rc=$?
[[ $rc -eq 28 ]] || fail "curl -g exited $rc, not 28 (connect timeout): $(cat "$WORK/curl.out")"
log "curl -g: $(cat "$WORK/curl.out")"
host_stop
challenge_ack_wire "$PCAP" "ipv6 && tcp.port == 7" ipv6.src "$K6" "$A6" IPv6
pcap_clean6 "$PCAP"

# ---- blackhole over IPv6: silence, but neighbor discovery answered ----
PCAP=$WORK/bh.pcap
pers_host_start "${V6[@]}" --serve echo --pcap "$PCAP" --personality blackhole
SEL="eth.src == $HOST_MAC && ipv6"
nsx ip -6 neigh flush dev "$TAP" 2>/dev/null
NSX_TIMEOUT=20 nsx nc -6 -w 3 -z $A6 7 >"$WORK/nc.out" 2>&1 && fail "nc -6 -z connected through the blackhole"
nsx ip -6 neigh show $A6 dev "$TAP" >"$WORK/neigh.out"
grep -qi "lladdr $HOST_MAC" "$WORK/neigh.out" ||
	fail "the kernel did not resolve $A6 through the blackhole: $(cat "$WORK/neigh.out")"
log "nc -6: no answer; the kernel resolved $A6: $(cat "$WORK/neigh.out")"
host_stop
must_counts "$PCAP" \
	"IPv6 TCP from tapir through the blackhole" "$SEL && tcp" -eq 0 \
	"IPv6 SYNs from the kernel" "ipv6.src == $K6 && tcp.flags.syn == 1" -ge 1 \
	"neighbor advertisements from tapir" "$SEL && icmpv6.type == 136" -ge 1

# ---- slow-accept over IPv6: 200 connects overflow the backlog ----
pers_host_start "${V6[@]}" --serve discard --personality slow-accept=3000
rm -f "$WORK/go6"
NSX_TIMEOUT=40 nsx "$PY" "$LIB_DIR/hold_conns.py" "$A6" "$WORK/go6" >"$WORK/sa6.out" 2>&1 &
CLIENT=$!
full=$(wait_stat tcp_listen_overflows 1 100)
tctl ss >"$WORK/ss6.out" || fail "tapir ss failed"
touch "$WORK/go6"
wait "$CLIENT" || fail "client: $(cat "$WORK/sa6.out")"
[[ $full -ge 1 ]] || fail "tcp_listen_overflows is 0: the backlog never overflowed over IPv6"
listener=$(awk '$1 == "LISTEN" && $4 ~ /:9$/' "$WORK/ss6.out")
queued=$(awk '{ print $2 }' <<<"$listener")
[[ $queued -ge 100 ]] || fail "the accept queue holds $queued IPv6 connections, not near 128: $listener"
log "slow-accept over IPv6: tcp_listen_overflows $full; tapir ss: $listener"
host_stop
pass
