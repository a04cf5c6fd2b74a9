#!/usr/bin/env bash
# Static binaries under tapir run (the seccomp path: no dynamic loader, no
# preload): Debian's busybox-static wget fetches 3 MB byte-exact from a
# kernel-side server on tapir's TCP, and busybox httpd (an AF_INET6
# dual-stack listener, fork per connection) serves the kernel's curl;
# the captures show tapir's address on both, and `ss` in the namespace no
# kernel socket of httpd's.  busybox nslookup's UDP, which the preload
# cannot frame, stays the kernel's (no `tapir:` line; nothing on tapir).
source "$(dirname "$0")/lib_seccomp.sh"
BB=/bin/busybox
seccomp_setup curl python3 ss file
file -L "$BB" 2>/dev/null | has 'statically linked' || skip "$BB is not busybox-static"
kernel_http 8000

log "busybox wget (static) under tapir run"
ok=0
for ((i = 0; i < 50; i++)); do # the kernel's server may still be starting
	rm -f "$WORK/got"
	if run_fg "$WORK/wget.out" "$WORK/wget.err" --pcap "$WORK/wget.pcap" -- \
		"$BB" wget -q -O "$WORK/got" "http://$PEER_ADDR:8000/f.bin"; then
		ok=1
		break
	fi
	sleep 0.2
done
[[ $ok = 1 ]] || fail "busybox wget failed: $(cat "$WORK/wget.err")"
cmp -s "$WORK/got" "$WWW/f.bin" || fail "wget's file differs from f.bin"
must_count "tapir's SYN" "$WORK/wget.pcap" "ip.src == $HOST_ADDR && tcp.dstport == 8000 && tcp.flags.syn == 1 && tcp.flags.ack == 0" -ge 1
must_count "data to tapir" "$WORK/wget.pcap" "ip.dst == $HOST_ADDR && tcp.srcport == 8000 && tcp.len > 0" -ge 1

log "UDP of a static binary: the kernel's, quietly (no tapir: line, no UDP on tapir's link)"
run_fg "$WORK/ns.out" "$WORK/ns.err" --pcap "$WORK/ns.pcap" -- "$BB" nslookup tapir.example "$PEER_ADDR" || true
grep -q '^tapir:' "$WORK/ns.err" && fail "a tapir: line for a kernel UDP socket: $(cat "$WORK/ns.err")"
must_count "UDP from tapir" "$WORK/ns.pcap" "udp && ip.src == $HOST_ADDR" -eq 0

log "busybox httpd (static) under tapir run, fetched by the kernel's curl"
run_bg "$WORK/httpd.out" "$WORK/httpd.err" --pcap "$WORK/httpd.pcap" -- \
	"$BB" httpd -f -p 8080 -h "$WWW"
for n in 1 2 3; do
	fetch "http://$HOST_ADDR:8080/f.bin" "$WORK/d$n" || fail "curl $n: no answer; $(cat "$WORK/httpd.err")"
	cmp -s "$WORK/d$n" "$WWW/f.bin" || fail "curl $n: the body differs"
done
nsx ss -tlnp >"$WORK/ss.txt"
grep -q ':8080 ' "$WORK/ss.txt" && fail "a kernel socket listens on 8080: $(cat "$WORK/ss.txt")"
run_stop
must_count "tapir's SYN-ACKs from httpd" "$WORK/httpd.pcap" "ip.src == $HOST_ADDR && tcp.srcport == 8080 && tcp.flags.syn == 1 && tcp.flags.ack == 1" -ge 3
must_count "httpd's data from tapir" "$WORK/httpd.pcap" "ip.src == $HOST_ADDR && tcp.srcport == 8080 && tcp.len > 0" -ge 3
pass
