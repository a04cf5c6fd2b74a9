#!/usr/bin/env bash
# tapir host --forward and --outbound with IPv6 on either side ([v6]:port,
# RFC 5952 6), the kernel as peer in the namespace (tapir fd00::2, the
# kernel fd00::1):
#   - --forward 80=[::1]:8000: curl -g http://[fd00::2]/ fetches 4 MB
#     byte-exact through tapir's TCP over IPv6 and the kernel's over ::1;
#     the same listener takes IPv4 too (bound to ::, v4-mapped);
#   - --forward to an IPv6 echo: 2 MB there and back (sha256); a refused
#     IPv6 backend is an RST to tapir's peer;
#   - --outbound [::1]:P=[fd00::1]:Q: tapir opens over IPv6 from fd00::2
#     (the SYN on the capture), 2 MB through an echo; an IPv4 kernel
#     listener to an IPv6 server ([v4]->[v6]); a refused IPv6 server resets
#     the kernel's client;
#   - the ready line names the rules in RFC 5952 form; an IPv6 address
#     without brackets is one line and exit 2;
#   - nothing from tapir on the capture has a bad checksum or is malformed.
# shellcheck source=tests/run/lib_fwd.sh
source "$(dirname "$0")/lib_fwd.sh"
require_root curl sha256sum
NS_IPV6=1
ns_create
fwd_plain_tcp
A6=fd00::2 K6=fd00::1 PCAP=$WORK/fwd6.pcap WWW=$WORK/www
mkdir -p "$WWW" && head -c 4194304 /dev/urandom >"$WWW/4m.bin" || fail "cannot write $WWW"

# ---- a malformed rule: one line, exit 2 ----
out=$(nsx "$TAPIR" host --tap "$TAP" --addr "$HOST_ADDR/24" --forward 80=::1:8000 2>&1)
rc=$?
[[ $rc -eq 2 && $(wc -l <<<"$out") -eq 1 && $out == *"80=[::1]:8080"* ]] ||
	fail "--forward 80=::1:8000: exit $rc, '$out' (want exit 2 and one line naming the bracket form)"
log "--forward 80=::1:8000: exit 2, '$out'"

fwd_http ::1 8000 "$WWW"
fwd_server ::1 41000 echo
# [::1]:41009: nothing listens (a refused backend)
host_start --addr $A6/64 --peer-addr $K6/64 --serve discard --pcap "$PCAP" \
	--forward 80=[::1]:8000 --forward 40000=[::1]:41000 --forward 40009=[::1]:41009 \
	--outbound [::1]:40100=[$K6]:41100 --outbound 127.0.0.1:40101=[$K6]:41100 \
	--outbound [::1]:40109=[$K6]:41109
for want in 'forward=80>\[::1\]:8000' "outbound=\[::1\]:40100>\[$K6\]:41100" \
	"outbound=127.0.0.1:40101>\[$K6\]:41100"; do
	grep -q " $want " "$HOST_OUT" || fail "the ready line lacks '$want': $(head -1 "$HOST_OUT")"
done
# the kernel's server on its side of the TAP (its address exists now)
fwd_server $K6 41100 echo

# ---- --forward: IPv6 on tapir's wire, IPv6 to the kernel's server ----
got=$(NSX_TIMEOUT=60 nsx curl -g -sS --max-time 50 -o "$WORK/4m.out" -w '%{http_code}' "http://[$A6]/4m.bin") ||
	fail "curl -g through --forward failed: $got"
[[ $got == 200 ]] || fail "curl -g: HTTP $got"
cmp -s "$WWW/4m.bin" "$WORK/4m.out" || fail "curl -g: the 4 MB body differs"
log "curl -g http://[$A6]/4m.bin through --forward 80=[::1]:8000: 200, byte-exact"
got=$(NSX_TIMEOUT=60 nsx curl -sS --max-time 50 -o "$WORK/4m4.out" -w '%{http_code}' "http://$HOST_ADDR/4m.bin") ||
	fail "curl over IPv4 through the same --forward failed: $got"
[[ $got == 200 ]] && cmp -s "$WWW/4m.bin" "$WORK/4m4.out" || fail "curl over IPv4: HTTP $got or the body differs"
log "curl http://$HOST_ADDR/4m.bin (IPv4) through the same listener: 200, byte-exact"
fwd_sha "echo through --forward 40000=[::1]:41000" "$A6" 40000 2
fwd_expect "refused IPv6 backend" reset "$A6" 40009 reset

# ---- --outbound: tapir opens over IPv6 ----
fwd_sha "echo through --outbound [::1]:40100=[$K6]:41100" ::1 40100 2
fwd_sha "echo through --outbound 127.0.0.1:40101=[$K6]:41100" 127.0.0.1 40101 1
fwd_expect "refused IPv6 server" reset ::1 40109 reset
fwd_expect "100 connections at once through --outbound" "ok 100/100" ::1 40100 many=100
host_alive
host_stop

must_count "tapir's SYNs to [$K6]:41100 from $A6" "$PCAP" \
	"ipv6.src == $A6 && ipv6.dst == $K6 && tcp.dstport == 41100 && tcp.flags.syn == 1 && tcp.flags.ack == 0" -ge 102
must_count "RSTs from tapir's port 40009 over IPv6 (refused backend)" "$PCAP" \
	"ipv6.src == $A6 && tcp.srcport == 40009 && tcp.flags.reset == 1" -ge 1
must_count "tapir's data over IPv6 from port 80" "$PCAP" \
	"ipv6.src == $A6 && tcp.srcport == 80 && tcp.len > 0" -ge 100
pcap_assert_clean "$PCAP" "$HOST_MAC"
pass
