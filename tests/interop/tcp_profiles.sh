#!/usr/bin/env bash
# The OS profiles (docs/profiles.md) against the kernel's curl over a lossy
# link: for each of `tapir host --profile rfc|linux|freebsd`, with the netem
# personality dropping 5% of the frames both ways (loss=0.05, a fixed seed),
# curl fetches a 2 MB file from --serve http=DIR; its sha256 must equal the
# file's.  What must hold, and nothing about time:
#  - the impairment happened (tx_hook_dropped, drop.hook > 0) and tapir
#    repaired it (tcp_retransmits > 0, and resent segments in the capture);
#  - the SYN,ACK's options, in the --pcap capture read by tshark
#    (tcp.option_kind), come in the profile's order (options_bsd): rfc and
#    linux MSS, SACK-permitted, timestamps, NOP, window scale (2,4,8,1,3);
#    freebsd MSS, NOP, window scale, SACK-permitted, timestamps
#    (2,1,3,4,8: the timestamps start at byte 10, already even, so no NOP
#    before them, and the 20 bytes need no EOL).  Every SYN,ACK tapir sent,
#    resent ones too, carries the same sequence;
#  - loss recovery by profile (rack, tlp): under linux RACK (RFC 8985) is
#    at work, tcp_rack_lost + tcp_tlp_probes > 0; under rfc and freebsd
#    neither RACK nor TLP ever acts (both counters 0).
# shellcheck source=tests/interop/pers_lib.sh
source "$(dirname "$0")/pers_lib.sh"
require_root curl sha256sum
ns_create
SIZE=$((2 * 1048576))
www_create 2m.bin $SIZE
WANT_SHA=$(sha256sum "$WWW/2m.bin" | cut -d' ' -f1)

# the SYN,ACK option kinds (tshark's tcp.option_kind, comma-separated)
declare -A WANT_OPTS=(
	[rfc]="2,4,8,1,3"
	[linux]="2,4,8,1,3"
	[freebsd]="2,1,3,4,8"
)

for P in rfc linux freebsd; do
	PCAP=$WORK/$P.pcap
	pers_host_start --profile "$P" --serve "http=$WWW" --pcap "$PCAP" \
		--personality 'loss=0.05,seed=16'
	out=$(NSX_TIMEOUT=50 nsx curl -sS --max-time 50 -o "$WORK/$P.out" \
		-w '%{http_code} %{size_download}' "http://$HOST_ADDR/2m.bin") ||
		fail "$P: curl failed: $out"
	[[ $out == "200 $SIZE" ]] || fail "$P: code and size '$out', not '200 $SIZE'"
	got=$(sha256sum "$WORK/$P.out" | cut -d' ' -f1)
	[[ $got == "$WANT_SHA" ]] || fail "$P: sha256 of the body differs"
	log "$P: curl 2 MB, 200, sha256 equal"

	for c in tx_hook_dropped drop.hook tcp_retransmits tcp_tlp_probes tcp_rack_lost; do
		declare "v_${c//./_}=$(stat_of "$c")"
	done
	# shellcheck disable=SC2154 # set by the declare above
	log "$P: tx_hook_dropped $v_tx_hook_dropped, drop.hook $v_drop_hook," \
		"tcp_retransmits $v_tcp_retransmits, tcp_tlp_probes $v_tcp_tlp_probes," \
		"tcp_rack_lost $v_tcp_rack_lost"
	[[ $v_tx_hook_dropped -gt 0 && $v_drop_hook -gt 0 ]] ||
		fail "$P: the 5% loss dropped nothing (tx $v_tx_hook_dropped, rx $v_drop_hook)"
	[[ $v_tcp_retransmits -gt 0 ]] || fail "$P: frames were lost but tcp_retransmits is 0"
	if [[ $P == linux ]]; then
		# RFC 8985 6.2: with SACK (the kernel offers it) losses are found
		# by RACK; a tail one by a TLP (RFC 8985 7)
		[[ $((v_tcp_rack_lost + v_tcp_tlp_probes)) -gt 0 ]] ||
			fail "linux: no RACK loss marked and no TLP sent under 5% loss"
	else
		[[ $v_tcp_rack_lost -eq 0 && $v_tcp_tlp_probes -eq 0 ]] ||
			fail "$P: RACK/TLP acted (rack_lost $v_tcp_rack_lost, tlp $v_tcp_tlp_probes) with the profile's rack=0 tlp=0"
	fi
	host_stop

	rows "$PCAP" "eth.src == $HOST_MAC && tcp.flags.syn == 1 && tcp.flags.ack == 1" \
		tcp.option_kind >"$WORK/$P.synack"
	n=$(grep -c . "$WORK/$P.synack")
	[[ $n -ge 1 ]] || fail "$P: no SYN,ACK from tapir in the capture"
	bad=$(grep -vx "${WANT_OPTS[$P]}" "$WORK/$P.synack" | sort -u | tr '\n' ' ')
	[[ -z $bad ]] || fail "$P: SYN,ACK option kinds '$bad', not '${WANT_OPTS[$P]}'"
	log "$P: $n SYN,ACK(s), option kinds ${WANT_OPTS[$P]}"
	# no bad checksum, nothing malformed in tapir's frames (pcap_assert_clean's
	# test), with port 80's payload read as plain data: with frames missing
	# from the capture, the HTTP dissector takes random body bytes for a
	# header, and heuristic ones (Thrift) take them for their messages, and
	# call the frame malformed (both seen, under linux and rfc)
	bad=$(tsh -r "$PCAP" -d tcp.port==80,data -Y "eth.src == $HOST_MAC && $PCAP_BAD") || exit 1
	[[ -z $bad ]] || fail "$P: frames from tapir with bad checksums or malformed: $bad"
	# what tcp_retransmits counted is on the wire (Wireshark's own analysis).
	# The capture holds only what passed the loss, so a quick repair (RACK
	# under linux) fills a gap Wireshark never saw sent and it calls that
	# out-of-order, not a retransmission: tapir sends nothing else below
	# its highest sequence number, so both count
	must_count "$P: resent segments from tapir" "$PCAP" "eth.src == $HOST_MAC && (tcp.analysis.retransmission || tcp.analysis.fast_retransmission || tcp.analysis.spurious_retransmission || tcp.analysis.out_of_order)" -ge 1
	rm -f "$PCAP" "$WORK/$P.out"
done
pass
