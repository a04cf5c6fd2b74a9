#!/usr/bin/env bash
# dth: RFC 9401's DTH bit (the reserved bit 0x08 of byte 12; tshark 4.0
# shows it in tcp.flags.res, and exactly as tcp.flags & 0x800).
#   dth (all): every data segment tapir sends carries it, no SYN does,
#              and the kernel's curl still gets the whole body;
#   dth=every=2: of four connections, the 2nd and the 4th;
#   dth=marker=S: only the segments whose payload holds S.
# The receiving side (tapir reports a DTH and stays connected) is
# tests/hook's job: the kernel never sends one.
# shellcheck source=tests/interop/pers_lib.sh
source "$(dirname "$0")/pers_lib.sh"
require_root curl cmp
ns_create
www_create r.bin 300000
# a marker in a text file, three times at odd distances (so that not all
# of them can straddle segment boundaries), and nowhere else
{
	for n in 100000 50001 50003; do
		head -c $n /dev/zero | tr '\0' 'a'
		printf 'XYZZY'
	done
	head -c 1000 /dev/zero | tr '\0' 'b'
} >"$WWW/m.txt"
DTH='tcp.flags & 0x800'
TAPIR_DATA="ip.src == $HOST_ADDR && tcp.len > 0"

# ---- all ----
PCAP=$WORK/all.pcap
pers_host_start --serve "http=$WWW" --pcap "$PCAP" --personality dth
www_get r.bin
log "curl got all 300000 bytes of /r.bin, byte-exact"
host_stop
must_counts "$PCAP" \
	"tapir data segments" "$TAPIR_DATA" -ge 100 \
	"tapir data segments without DTH" "$TAPIR_DATA && !($DTH)" -eq 0 \
	"segments with tcp.flags.res set" "ip.src == $HOST_ADDR && tcp.flags.res == 1" -ge 100 \
	"SYNs with DTH (RFC 9401 3.3: never)" "tcp.flags.syn == 1 && $DTH" -eq 0 \
	"tapir segments without data with DTH" "ip.src == $HOST_ADDR && tcp.len == 0 && $DTH" -eq 0
pcap_assert_clean "$PCAP" "$HOST_MAC"

# ---- every=2 ----
PCAP=$WORK/every.pcap
pers_host_start --serve "http=$WWW" --pcap "$PCAP" --personality dth=every=2
for i in 1 2 3 4; do
	www_get r.bin
done
host_stop
# per connection (tcp.stream, in order of opening): data segments, with DTH
rows "$PCAP" "$TAPIR_DATA" tcp.stream >"$WORK/every.all"
rows "$PCAP" "$TAPIR_DATA && $DTH" tcp.stream >"$WORK/every.dth"
got=$(awk 'FNR == NR { d[$1]++; next } { n[$1]++ }
	END { for (s = 0; s < 4; s++) printf "%s%d/%d", s ? " " : "", d[s] + 0, n[s] + 0 }' \
	"$WORK/every.dth" "$WORK/every.all")
read -r s1 s2 s3 s4 <<<"$got"
[[ ${s1%%/*} -eq 0 && ${s3%%/*} -eq 0 ]] || fail "every=2: connections 1 and 3 carry DTH: $got"
[[ ${s2%%/*} -eq ${s2##*/} && ${s4%%/*} -eq ${s4##*/} && ${s2##*/} -gt 0 ]] ||
	fail "every=2: connections 2 and 4 not all DTH: $got"
log "every=2: DTH/data segments per connection: $got"

# ---- marker ----
PCAP=$WORK/marker.pcap
pers_host_start --serve "http=$WWW" --pcap "$PCAP" --personality dth=marker=XYZZY
www_get m.txt
www_get r.bin
host_stop
must_counts "$PCAP" \
	"marker: segments with DTH" "$DTH" -ge 1 \
	"marker: DTH segments without the marker" "$DTH && !(tcp.payload contains \"XYZZY\")" -eq 0 \
	"marker: marker segments without DTH" "$TAPIR_DATA && tcp.payload contains \"XYZZY\" && !($DTH)" -eq 0
pcap_assert_clean "$PCAP" "$HOST_MAC"
pass
