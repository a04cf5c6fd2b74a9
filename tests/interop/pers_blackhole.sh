#!/usr/bin/env bash
# blackhole: tapir answers ARP but drops every IPv4 packet: pings go
# unanswered, curl's connect times out (not refused, not unreachable), a
# UDP datagram to a closed port draws no ICMP.  The capture (what tapir
# took in and sent) holds the kernel's packets and not one IPv4 packet
# from tapir.
# shellcheck source=tests/interop/pers_lib.sh
source "$(dirname "$0")/pers_lib.sh"
require_root curl ping
ns_create
PCAP=$WORK/bh.pcap
pers_host_start --pcap "$PCAP" --personality blackhole

nsx ping -c 2 -i 0.2 -W 1 "$HOST_ADDR" >"$WORK/ping.out" 2>&1 && fail "ping got an answer"
grep -q ' 0 received' "$WORK/ping.out" || fail "ping: $(cat "$WORK/ping.out")"
log "ping: $(grep 'packets transmitted' "$WORK/ping.out")"
NSX_TIMEOUT=20 nsx curl -sS --connect-timeout 2 "http://$HOST_ADDR:7/" >"$WORK/curl.out" 2>&1
rc=$?
[[ $rc -eq 28 ]] || fail "curl exited $rc, not 28 (connect timeout): $(cat "$WORK/curl.out")"
log "curl: $(cat "$WORK/curl.out")"
printf 'x' | nsx socat -u - "UDP:$HOST_ADDR:4444" || fail "socat could not send"
dropped=$(stat_of drop.hook)
[[ $dropped -ge 4 ]] || fail "drop.hook is $dropped, expected every IPv4 packet (>= 4)"
host_stop

must_count "kernel pings" "$PCAP" "ip.src == $PEER_ADDR && icmp.type == 8" -eq 2
must_count "kernel SYNs" "$PCAP" "ip.src == $PEER_ADDR && tcp.flags.syn == 1" -ge 2
must_count "UDP to a closed port" "$PCAP" "ip.src == $PEER_ADDR && udp.dstport == 4444" -eq 1
must_count "IPv4 packets from tapir" "$PCAP" "ip.src == $HOST_ADDR" -eq 0
must_count "ARP replies from tapir" "$PCAP" "arp.opcode == 2 && eth.src == $HOST_MAC" -ge 1
pass
