#!/usr/bin/env bash
# ECN (RFC 3168) with the Linux kernel as the peer: the kernel's side of
# the namespace asks for it (net.ipv4.tcp_ecn=1) and tapir, which accepts
# it when asked (its default), agrees: in the capture the kernel's SYN
# carries ECE and CWR, tapir's SYN,ACK ECE alone (6.1.1), and every data
# segment tapir sends is ECT(0) (6.1.2; none is retransmitted on this
# clean link, and retransmissions, ACKs and window probes would not be);
# a 1 MB download is byte-exact.  Then the kernel asks no more
# (tcp_ecn=0): nothing is agreed and no packet of tapir's is ECT.
# shellcheck source=tests/interop/pers_lib.sh
source "$(dirname "$0")/pers_lib.sh"
require_root curl sha256sum tshark
ns_create
WWW=$WORK/www
mkdir -p "$WWW"
head -c 1048576 /dev/urandom >"$WWW/1m.bin"
SHA=$(sha256sum "$WWW/1m.bin" | cut -d' ' -f1)

for ask in 1 0; do
	nsx sysctl -qw net.ipv4.tcp_ecn=$ask || fail "cannot set net.ipv4.tcp_ecn=$ask"
	PCAP=$WORK/ecn$ask.pcap
	host_start --serve "http=$WWW" --pcap "$PCAP"
	out=$(NSX_TIMEOUT=30 nsx curl -sS --max-time 30 -o "$WORK/1m.out" -w '%{http_code} %{size_download}' \
		"http://$HOST_ADDR/1m.bin") || fail "curl failed: $out"
	[[ $out == "200 1048576" ]] || fail "GET /1m.bin: '$out'"
	[[ $(sha256sum "$WORK/1m.out" | cut -d' ' -f1) == "$SHA" ]] || fail "GET /1m.bin: sha256 differs"
	host_stop
	pcap_assert_clean "$PCAP" "$HOST_MAC"
	me="ip.src == $HOST_ADDR"
	if [[ $ask == 1 ]]; then
		must_counts "$PCAP" \
			"the kernel's ECN-setup SYN" \
			"ip.dst == $HOST_ADDR && tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.flags.ece == 1 && tcp.flags.cwr == 1" -ge 1 \
			"tapir's ECN-setup SYN,ACK (ECE, no CWR)" \
			"$me && tcp.flags.syn == 1 && tcp.flags.ack == 1 && tcp.flags.ece == 1 && tcp.flags.cwr == 0" -ge 1 \
			"tapir's data segments as ECT(0)" "$me && tcp.len > 0 && ip.dsfield.ecn == 2" -ge 700 \
			"tapir's data segments not ECT" "$me && tcp.len > 0 && ip.dsfield.ecn != 2" -eq 0 \
			"tapir's ACKs and SYN,ACK as ECT" "$me && tcp.len == 0 && ip.dsfield.ecn != 0" -eq 0
	else
		must_counts "$PCAP" \
			"a SYN,ACK with ECE when nobody asked" "$me && tcp.flags.syn == 1 && tcp.flags.ece == 1" -eq 0 \
			"tapir's packets as ECT" "$me && ip.dsfield.ecn != 0" -eq 0
	fi
	log "net.ipv4.tcp_ecn=$ask: 1 MB byte-exact"
done
pass
