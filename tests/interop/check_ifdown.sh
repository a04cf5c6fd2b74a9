#!/usr/bin/env bash
# tapir check --mode syn when the scanner's interface goes down, or away,
# in the middle of a scan (check_net.sh's namespace pair; the interface is
# the scanner's end of its veth).  The SYNs leave through a PACKET_TX_RING
# on that interface (tools/check/syn_ring.c); when the ring's send fails,
# tapir says so in one warning line and goes on through the raw socket,
# where the kernel has no route left: those ports come out filtered.
#
#  - `ip link set cs0 down` a second and a half into a scan of 64 hosts x
#    1024 ports: tapir ends by itself (bounded), exit 1, no crash; one
#    warning line naming cs0 and "Network is down" (and no error: other
#    lines only tapir check's usual warnings); every (host, port) exactly once in the output, the ports
#    probed before the fall open or closed as they are, the rest filtered
#  - --mode stack (tapir's own stack on cs0, which has no other way out):
#    with --resume FILE the scan stops as on SIGINT, exit 3, what was
#    answered printed, one line naming cs0 and "Network is down" and the
#    resume command; once cs0 is up again `--resume FILE` probes the rest:
#    the two outputs hold every port exactly once, 22 and 80 open on every
#    host; without --resume: one tapir: line, exit 2
#  - syn mode with `ip link del cs0` (the interface removed)
source "$(dirname "$0")/check_net.sh"
require_root
cn_create

P=10.201.6 # the target's addresses P.1-P.64, on its lo, routed through it
cn_addrs "$P" 1 64
cn_listen 0.0.0.0:22 0.0.0.0:80
TARGETS=("$P.0/26:1-1024" "$P.64:1-1024") # .1-.62 (network and broadcast left out), .64
NHOSTS=63
N=$((NHOSTS * 1024))

# scan_and NAME CMD...: a scan slow enough to last several seconds
# (--rate 8000); CMD (in the scanner's namespace) a second and a half in.
scan_and() {
	local name=$1 pid rc
	shift
	NSX_TIMEOUT=120 sx "$TAPIR" check --mode syn --rate 8000 --retries 1 --timeout 300 \
		"${TARGETS[@]}" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	pid=$!
	sleep 1.5
	sx "$@" || fail "$name: $* failed"
	wait "$pid"
	rc=$?
	[[ $rc -ne 124 && $rc -ne 137 ]] || fail "$name: tapir check did not end by itself (timeout)"
	[[ $rc -eq 1 ]] || fail "$name: exit $rc, not 1 ($(head -n 5 "$WORK/$name.err"))"
	log "$name: stderr: $(cat "$WORK/$name.err")"
	# the ring's warning once; other lines only tapir check's usual warnings
	# (a slow machine may see "answered only on a retry")
	[[ $(grep -c "the packet ring failed" "$WORK/$name.err") -eq 1 ]] || fail "$name: not one ring warning"
	[[ -z $(grep -v "^tapir check: warning: " "$WORK/$name.err") ]] || fail "$name: more than warnings on stderr"
	awk '{ print $1, $2 }' "$WORK/$name.out" | sort | uniq -d >"$WORK/$name.dup"
	[[ ! -s $WORK/$name.dup ]] || fail "$name: ports printed twice: $(head -n 3 "$WORK/$name.dup")"
	[[ $(wc -l <"$WORK/$name.out") -eq $N ]] || fail "$name: $(wc -l <"$WORK/$name.out") lines, not $N"
	local open closed filt
	open=$(awk '$3 == "open"' "$WORK/$name.out" | wc -l)
	closed=$(awk '$3 == "closed"' "$WORK/$name.out" | wc -l)
	filt=$(awk '$3 == "filtered"' "$WORK/$name.out" | wc -l)
	[[ $((open + closed + filt)) -eq $N ]] || fail "$name: states other than open, closed, filtered"
	[[ $closed -gt 0 && $filt -gt 0 ]] || fail "$name: $open open, $closed closed, $filt filtered: not both before and after"
	# an open port is one of the listeners' (22, 80), nothing else
	[[ -z $(awk '$3 == "open" && $2 != 22 && $2 != 80' "$WORK/$name.out") ]] || fail "$name: a port open that is not"
	log "$name: $N ports once each: $open open, $closed closed, $filt filtered"
}

scan_and down ip link set cs0 down
grep -q "^tapir check: warning: cs0: the packet ring failed (Network is down): its SYNs go through the raw socket now\$" \
	"$WORK/down.err" || fail "down: not the warning: $(cat "$WORK/down.err")"

# up_again: cs0 up, the route through the target back, the target reachable
up_again() {
	sx ip link set cs0 up && sx ip route replace 10.201.0.0/16 via "$CN_T_ADDR" || fail "cs0 up again"
	for ((i = 0; i < 50; i++)); do
		sx ping -c 1 -W 1 "$P.1" >/dev/null 2>&1 && break
		sleep 0.1
	done
}
up_again
STACK=(--mode stack --iface cs0 --addr 10.201.0.9/24 --gateway "$CN_T_ADDR" --retries 1 --timeout 300)
NSX_TIMEOUT=120 sx "$TAPIR" check "${STACK[@]}" --rate 8000 --resume "$WORK/res" "${TARGETS[@]}" \
	>"$WORK/st1.out" 2>"$WORK/st1.err" &
pid=$!
sleep 1.5
sx ip link set cs0 down || fail "stack: cs0 down"
wait "$pid"
rc=$?
log "stack: stderr: $(cat "$WORK/st1.err")"
[[ $rc -eq 3 ]] || fail "stack --resume, cs0 down: exit $rc, not 3"
grep -q "^tapir check: stopped: receiving on cs0: Network is down: [0-9]* of $N probes answered; the rest: tapir check --resume $WORK/res\$" \
	"$WORK/st1.err" || fail "stack: not the stop line"
[[ -s $WORK/res ]] || fail "stack: no resume file"
up_again
NSX_TIMEOUT=120 sx "$TAPIR" check "${STACK[@]}" --rate 20000 --resume "$WORK/res" >"$WORK/st2.out" 2>"$WORK/st2.err"
rc=$?
[[ $rc -eq 1 ]] || fail "stack: the resumed run: exit $rc ($(cat "$WORK/st2.err"))"
cat "$WORK/st1.out" "$WORK/st2.out" >"$WORK/st.out"
[[ -z $(awk '{ print $1, $2 }' "$WORK/st.out" | sort | uniq -d) ]] || fail "stack: a port in both runs"
[[ $(wc -l <"$WORK/st.out") -eq $N ]] || fail "stack: $(wc -l <"$WORK/st.out") lines in both runs, not $N"
[[ $(awk '$3 == "open"' "$WORK/st.out" | wc -l) -eq $((2 * NHOSTS)) ]] || fail "stack: not 22 and 80 open on every host"
[[ $(awk '$3 == "closed"' "$WORK/st.out" | wc -l) -eq $((N - 2 * NHOSTS)) ]] || fail "stack: not the rest closed"
log "stack: $(wc -l <"$WORK/st1.out") ports before cs0 went down, $(wc -l <"$WORK/st2.out") resumed: every port once, right"
NSX_TIMEOUT=120 sx "$TAPIR" check "${STACK[@]}" --rate 8000 "${TARGETS[@]}" >"$WORK/st3.out" 2>"$WORK/st3.err" &
pid=$!
sleep 1.5
sx ip link set cs0 down || fail "stack: cs0 down"
wait "$pid"
rc=$?
[[ $rc -eq 2 && ! -s $WORK/st3.out && $(cat "$WORK/st3.err") == "tapir: check: receiving on cs0: Network is down" ]] ||
	fail "stack without --resume, cs0 down: exit $rc, stderr $(cat "$WORK/st3.err")"
log "stack without --resume: $(cat "$WORK/st3.err"), exit 2"

up_again
scan_and del ip link del cs0
grep -Eq "^tapir check: warning: (cs0|#[0-9]+): the packet ring failed \([^)]*\): its SYNs go through the raw socket now\$" \
	"$WORK/del.err" || fail "del: not the warning: $(cat "$WORK/del.err")"
pass
