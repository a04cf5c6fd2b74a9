#!/usr/bin/env bash
# The capture check itself: pcap_assert_clean must pass a good capture and
# catch each kind of bad frame (IP, ICMP, UDP, TCP checksum; an ICMP
# checksum only visible after reassembly; a truncated ARP packet), and must
# ignore bad frames from other senders.  No namespace, no root needed.
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
command -v tshark >/dev/null || fail "missing tool: tshark"
"$PY" -c 'import scapy' 2>/dev/null || fail "$PY has no scapy"
WORK=$(mktemp -d "/tmp/tapir-interop-$TEST_NAME.XXXXXX") || fail "mktemp"
trap 'rm -rf "$WORK"' EXIT
M=02:00:00:00:00:02

timeout 60 "$PY" - "$WORK" <<'PYEOF' || fail "cannot build the test captures"
import sys
from scapy.all import Ether, IP, ICMP, UDP, TCP, fragment, wrpcap
d = sys.argv[1]
M, K = "02:00:00:00:00:02", "02:00:00:00:00:01"
e = Ether(src=M, dst=K)
ip = IP(src="10.0.0.2", dst="10.0.0.1")
good = [bytes(e / ip / ICMP(type=0) / (b"x" * 8)),
        bytes(e / ip / UDP(sport=7, dport=4000) / b"hi"),
        bytes(e / ip / TCP(sport=7, dport=4000, flags="SA"))] + \
       [bytes(e / f) for f in fragment(ip / ICMP(type=0) / (b"y" * 3000), fragsize=1480)] + \
       [bytes(Ether(src=K, dst=M) / IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(chksum=0x1234))]
badip = bytearray(bytes(e / ip / ICMP(type=0) / (b"x" * 8)))
badip[14 + 10] ^= 0x55
bad = {
    "ip": [bytes(badip)],
    "icmp": [bytes(e / ip / ICMP(type=0, chksum=0x1234) / (b"x" * 8))],
    "udp": [bytes(e / ip / UDP(sport=7, dport=4000, chksum=0x1234) / b"hi")],
    "tcp": [bytes(e / ip / TCP(sport=7, dport=4000, chksum=0x1234))],
    "fragicmp": [bytes(e / f) for f in
                 fragment(ip / ICMP(type=0, chksum=0x1234) / (b"y" * 3000), fragsize=1480)],
    "arp_truncated": [bytes(Ether(src=M, dst=K, type=0x0806) / b"\x00\x01\x08\x00")],
}
wrpcap(f"{d}/good.pcap", [Ether(f) for f in good])
for k, v in bad.items():
    wrpcap(f"{d}/bad-{k}.pcap", [Ether(f) for f in good + v])
PYEOF

( pcap_assert_clean "$WORK/good.pcap" "$M" ) || fail "the check rejects a good capture"
for f in "$WORK"/bad-*.pcap; do
	if out=$( (pcap_assert_clean "$f" "$M") 2>&1); then
		fail "the check passes $(basename "$f")"
	fi
	grep -q 'bad checksums or malformed' <<<"$out" || fail "$(basename "$f"): $out"
	log "caught $(basename "$f" .pcap)"
done
pass
