#!/usr/bin/env bash
# A dynamically linked program making its socket calls with raw syscall(2)
# (prog_rawsys.c) under tapir run: the preload cannot see them, the seccomp
# supervisor carries them to tapir.  As a client it fetches 3 MB from a
# kernel-side server byte-exact, from tapir's address (its getsockname and
# the capture say so); as a server (blocking accept4) the kernel's curl
# fetches from it three times; io_uring_setup fails ENOSYS, an MPTCP
# socket EPROTONOSUPPORT with a tapir: line; with --no-seccomp the same calls reach the
# kernel's TCP, which is what the supervisor is for.
source "$(dirname "$0")/lib_seccomp.sh"
seccomp_setup curl python3
[[ -x $RUNBIN/prog_rawsys ]] || fail "no $RUNBIN/prog_rawsys"
kernel_http 8000

log "client: prog_rawsys get under tapir run"
ok=0
for ((i = 0; i < 50; i++)); do # the kernel's server may still be starting
	if run_fg "$WORK/got" "$WORK/get.err" --pcap "$WORK/get.pcap" -- \
		"$RUNBIN/prog_rawsys" get "$PEER_ADDR" 8000 /f.bin; then
		ok=1
		break
	fi
	grep -q 'Connection refused' "$WORK/get.err" || break
	sleep 0.2
done
[[ $ok = 1 ]] || fail "prog_rawsys get failed: $(cat "$WORK/get.err")"
cmp -s "$WORK/got" "$WWW/f.bin" || fail "the body differs from f.bin"
grep -q "^local $HOST_ADDR:" "$WORK/get.err" || fail "getsockname: $(cat "$WORK/get.err")"
must_count "tapir's SYN" "$WORK/get.pcap" "ip.src == $HOST_ADDR && tcp.dstport == 8000 && tcp.flags.syn == 1 && tcp.flags.ack == 0" -ge 1
must_count "data from the kernel's server" "$WORK/get.pcap" "ip.dst == $HOST_ADDR && tcp.srcport == 8000 && tcp.len > 0" -ge 1

log "server: prog_rawsys serve under tapir run, three kernel curls"
run_bg "$WORK/serve.out" "$WORK/serve.err" --pcap "$WORK/serve.pcap" -- \
	"$RUNBIN/prog_rawsys" serve 8080 "$WWW/f.bin" 3
for n in 1 2 3; do
	fetch "http://$HOST_ADDR:8080/" "$WORK/d$n" || fail "curl $n: no answer; $(cat "$WORK/serve.err")"
	cmp -s "$WORK/d$n" "$WWW/f.bin" || fail "curl $n: the body differs"
done
wait "$RUN_PID" || fail "tapir run (serve) exited $?: $(cat "$WORK/serve.err")"
[[ $(grep -c "^peer $PEER_ADDR:" "$WORK/serve.err") -eq 3 ]] || fail "accept4's addresses: $(cat "$WORK/serve.err")"
must_count "tapir's SYN-ACKs" "$WORK/serve.pcap" "ip.src == $HOST_ADDR && tcp.srcport == 8080 && tcp.flags.syn == 1 && tcp.flags.ack == 1" -ge 3

log "io_uring under tapir run: its setup fails ENOSYS (socket calls cannot bypass the supervisor)"
run_fg "$WORK/uring.out" "$WORK/uring.err" -- "$RUNBIN/prog_rawsys" uring ||
	fail "prog_rawsys uring: $(cat "$WORK/uring.err")"
grep -qx "io_uring_setup ENOSYS" "$WORK/uring.out" || fail "io_uring under tapir run: $(cat "$WORK/uring.out")"
grep -qx "mptcp EPROTONOSUPPORT" "$WORK/uring.out" || fail "MPTCP under tapir run: $(cat "$WORK/uring.out")"
grep -q '^tapir: .*MPTCP' "$WORK/uring.err" || fail "MPTCP refused without a tapir: line: $(cat "$WORK/uring.err")"

log "--no-seccomp: the raw calls reach the kernel (what the supervisor prevents)"
run_fg "$WORK/got2" "$WORK/get2.err" --no-seccomp -- "$RUNBIN/prog_rawsys" get "$PEER_ADDR" 8000 /f.bin
grep -q "^local $PEER_ADDR:" "$WORK/get2.err" || fail "--no-seccomp: $(cat "$WORK/get2.err")"
pass
