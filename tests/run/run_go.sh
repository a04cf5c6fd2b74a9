#!/usr/bin/env bash
# A Go program under tapir run (tests/run/go/goprog.go): Go's runtime makes
# raw system calls even when dynamically linked, with non-blocking sockets
# and an epoll netpoller, so only the seccomp supervisor can put it on
# tapir.  Built twice, static (CGO_ENABLED=0) and dynamic; each fetches 3 MB
# byte-exact from a kernel-side server with net/http from tapir's address,
# and a dial to a closed port gives ECONNREFUSED; the static one serves
# net/http on Go's dual-stack AF_INET6 listener to three kernel curls, with
# no kernel socket of its own in `ss`.  The captures show tapir's address and
# its ttl personality in every frame it sent.
source "$(dirname "$0")/lib_seccomp.sh"
seccomp_setup curl python3 ss
[[ -x $RUNBIN/goprog-static && -x $RUNBIN/goprog-dyn ]] ||
	fail "no $RUNBIN/goprog-static or goprog-dyn (golang-go missing when cmake ran? scripts/deps.sh installs it)"
kernel_http 8000
TTL=47

# go_get BIN: BIN get under tapir run with --personality ttl, retried while
# the kernel's server starts; the capture in $WORK/BIN.pcap
go_get() {
	local b=$1 i ok=0
	for ((i = 0; i < 50; i++)); do
		rm -f "$WORK/$b.got"
		if run_fg "$WORK/$b.out" "$WORK/$b.err" --pcap "$WORK/$b.pcap" --personality "ttl=$TTL" -- \
			"$RUNBIN/$b" get "http://$PEER_ADDR:8000/f.bin" "$WORK/$b.got"; then
			ok=1
			break
		fi
		grep -q 'connection refused' "$WORK/$b.err" || break
		sleep 0.2
	done
	[[ $ok = 1 ]] || fail "$b get failed: $(cat "$WORK/$b.err")"
	cmp -s "$WORK/$b.got" "$WWW/f.bin" || fail "$b: the body differs from f.bin"
	grep -q "^local $HOST_ADDR:" "$WORK/$b.err" || fail "$b: getsockname: $(cat "$WORK/$b.err")"
	must_count "$b: tapir's SYN" "$WORK/$b.pcap" "ip.src == $HOST_ADDR && tcp.dstport == 8000 && tcp.flags.syn == 1 && tcp.flags.ack == 0" -ge 1
	must_count "$b: data from the kernel's server" "$WORK/$b.pcap" "ip.dst == $HOST_ADDR && tcp.srcport == 8000 && tcp.len > 0" -ge 1
	must_count "$b: tapir's TCP without the personality's ttl" "$WORK/$b.pcap" "ip.src == $HOST_ADDR && tcp && ip.ttl != $TTL" -eq 0
}

for b in goprog-static goprog-dyn; do
	log "$b: net/http client under tapir run"
	go_get "$b"
	log "$b: a dial to a closed port"
	run_fg "$WORK/$b.ref.out" "$WORK/$b.ref.err" -- "$RUNBIN/$b" refused "$PEER_ADDR:9" ||
		fail "$b refused: $(cat "$WORK/$b.ref.err")"
done
file -L "$RUNBIN/goprog-static" | has 'statically linked' || fail "goprog-static is not static"

log "goprog-static: net/http server under tapir run, three kernel curls"
run_bg "$WORK/serve.out" "$WORK/serve.err" --pcap "$WORK/serve.pcap" --personality "ttl=$TTL" -- \
	"$RUNBIN/goprog-static" serve 8080 "$WWW" 3
for n in 1 2 3; do
	fetch "http://$HOST_ADDR:8080/f.bin" "$WORK/d$n" || fail "curl $n: no answer; $(cat "$WORK/serve.err")"
	cmp -s "$WORK/d$n" "$WWW/f.bin" || fail "curl $n: the body differs"
	[[ $n = 1 ]] && nsx ss -tlnp >"$WORK/ss.txt"
done
wait "$RUN_PID" || fail "tapir run (serve) exited $?: $(cat "$WORK/serve.err")"
grep -q ':8080 ' "$WORK/ss.txt" && fail "a kernel socket listens on 8080: $(cat "$WORK/ss.txt")"
[[ $(grep -c "^peer $PEER_ADDR:" "$WORK/serve.err") -eq 3 ]] || fail "the peers Go saw: $(cat "$WORK/serve.err")"
must_count "tapir's SYN-ACKs from Go" "$WORK/serve.pcap" "ip.src == $HOST_ADDR && tcp.srcport == 8080 && tcp.flags.syn == 1 && tcp.flags.ack == 1" -ge 3
must_count "Go's data from tapir" "$WORK/serve.pcap" "ip.src == $HOST_ADDR && tcp.srcport == 8080 && tcp.len > 0" -ge 3
must_count "tapir's TCP without the personality's ttl" "$WORK/serve.pcap" "ip.src == $HOST_ADDR && tcp && ip.ttl != $TTL" -eq 0
pass
