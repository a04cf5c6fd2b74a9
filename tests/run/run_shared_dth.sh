#!/usr/bin/env bash
# RFC 9401's DTH as a client, on the host's own address (issue 15, the
# go-rfc9401 case without a hand-written firewall rule):
#   tapir run --iface vA --shared-addr --personality dth -- curl http://B/...
# Two namespaces joined by a veth pair: A (10.79.0.1: the kernel, and tapir
# on the same address and MAC) and B (10.79.0.2: python's http.server).
# curl fetches two files over three connections (its requests carry a
# 3000-byte header, so each spans segments); then, in a capture on B's side:
#   - every data segment from A (the requests) carries the DTH bit (the
#     reserved bit 0x08 of byte 12, `tcp.flags & 0x800`), no SYN does
#     (RFC 9401 3.3) and no segment without data does;
#   - the client's SYNs come from tapir's port range (61000-65535), A's
#     kernel sends no RST, and B's kernel never sets the bit;
#   - the bodies are byte-exact, and A's nftables ruleset is as before.
source "$(dirname "$0")/lib_run.sh"
# shellcheck source=tests/interop/shared_lib.sh
source "$(dirname "$0")/../interop/shared_lib.sh"
require_run curl python3 cmp dumpcap nft

A_ADDR=10.79.0.1
B_ADDR=10.79.0.2

sh_pair4 "$A_ADDR" "$B_ADDR"

mkdir -p "$WORK/www"
head -c 300000 /dev/urandom >"$WORK/www/r.bin"
head -c 5000 /dev/urandom >"$WORK/www/s.bin"
(cd "$WORK/www" && exec timeout 120 ip netns exec "$NSB" python3 -m http.server 8080 --bind "$B_ADDR") \
	>/dev/null 2>&1 &
for ((i = 0; i < 100; i++)); do
	nsb curl -sf -o /dev/null "http://$B_ADDR:8080/s.bin" && break
	sleep 0.1
done
nsb curl -sf -o /dev/null "http://$B_ADDR:8080/s.bin" || fail "python's http.server does not answer"
sh_rules0

PCAP=$WORK/dth.pcap
timeout -k 5 60 ip netns exec "$NSB" dumpcap -q -i vB -w "$PCAP" >/dev/null 2>"$WORK/dumpcap.err" &
CAP=$!
capture_ready "$PCAP" "$WORK/dumpcap.err" nsb ping -c 1 -W 1 "$A_ADDR"

PAD=$(head -c 3000 /dev/zero | tr '\0' 'p')
NSX_TIMEOUT=60 nsx "$TAPIR" run --iface vA --shared-addr --personality dth -- \
	curl -sS -f -m 40 -H "X-Pad: $PAD" -o "$WORK/r.got" "http://$B_ADDR:8080/r.bin" \
	-o "$WORK/s.got" "http://$B_ADDR:8080/s.bin" \
	-o "$WORK/r2.got" "http://$B_ADDR:8080/r.bin" 2>"$WORK/run.err"
rc=$?
sleep 0.5
kill -INT "$CAP" 2>/dev/null
wait "$CAP" 2>/dev/null
[[ $rc -eq 0 ]] || fail "tapir run --iface vA --shared-addr --personality dth curl: exit $rc ($(tail -3 "$WORK/run.err"))"
for f in r s r2; do
	cmp -s "$WORK/$f.got" "$WORK/www/${f%2}.bin" || fail "$f: the body differs ($(stat -c %s "$WORK/$f.got" 2>/dev/null) bytes)"
done
log "curl under tapir run --shared-addr --personality dth: 300000 + 5000 + 300000 bytes, byte-exact"
ruleset_as_before "after tapir run"

DTH='tcp.flags & 0x800'
CLIENT="ip.src == $A_ADDR && tcp.dstport == 8080"
must_count "client SYNs" "$PCAP" "$CLIENT && tcp.flags.syn == 1" -eq 3
must_count "client SYNs from a port outside tapir's 61000-65535" "$PCAP" \
	"$CLIENT && tcp.flags.syn == 1 && !(tcp.srcport >= 61000)" -eq 0
must_count "client data segments (3 requests of 3 segments)" "$PCAP" "$CLIENT && tcp.len > 0" -ge 9
must_count "client data segments without DTH" "$PCAP" "$CLIENT && tcp.len > 0 && !($DTH)" -eq 0
must_count "client segments with tcp.flags.res set" "$PCAP" "$CLIENT && tcp.flags.res == 1" -ge 9
must_count "SYNs with DTH (RFC 9401 3.3: never)" "$PCAP" "tcp.flags.syn == 1 && $DTH" -eq 0
must_count "client segments without data with DTH" "$PCAP" "$CLIENT && tcp.len == 0 && $DTH" -eq 0
must_count "server segments with DTH" "$PCAP" "ip.src == $B_ADDR && $DTH" -eq 0
must_count "RSTs from A" "$PCAP" "ip.src == $A_ADDR && tcp.flags.reset == 1" -eq 0
pass
