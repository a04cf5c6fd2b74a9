#!/usr/bin/env bash
# tapir check against the Linux kernel: a target namespace with a known set
# of listening ports among 1-65535 (some on every address, some bound to one
# address), closed ports, ports dropped by nftables and one rejected with
# ICMP admin-prohibited (both `filtered`).  Every mode (connect as an
# unprivileged user, syn, auto, and stack: tapir's own stack on the veth via
# AF_PACKET and on a TAP device routed by the scanner's kernel) must report
# exactly that set at a high rate; a tshark capture checks the packet cost
# of each mode (and in stack mode that the RSTs are tapir's, from its MAC);
# user mistakes give one `tapir:` line and exit 2.
source "$(dirname "$0")/check_net.sh"
require_root nft setpriv "$PY"
cn_create
T2=10.201.0.3
tx ip addr add "$T2/24" dev ct0 || fail "second target address"

OPEN_ANY=(1 22 80 443 1023 1024 8080 32768 40001 60999 61000 65535)
OPEN_T1=(25 3306 50000) # bound to 10.201.0.2 only: closed on .3
DROP=(135 139 445 20000 20001 20002)
REJECT=(5555)
args=()
for p in "${OPEN_ANY[@]}"; do args+=("0.0.0.0:$p"); done
for p in "${OPEN_T1[@]}"; do args+=("$CN_T_ADDR:$p"); done
cn_listen "${args[@]}"
cn_nft_filter tapir_check tcp "${DROP[*]}" "${REJECT[*]}"

# The expected non-closed lines ("host port state"), and the number of ports.
T2_PORTS="1-1024,3306,5555,20001,65535"
{
	for p in "${OPEN_ANY[@]}" "${OPEN_T1[@]}"; do echo "$CN_T_ADDR $p open"; done
	for p in "${DROP[@]}" "${REJECT[@]}"; do echo "$CN_T_ADDR $p filtered"; done
	for p in "${OPEN_ANY[@]}"; do [[ $p -le 1024 || $p -eq 65535 ]] && echo "$T2 $p open"; done
	for p in "${DROP[@]}" "${REJECT[@]}"; do
		[[ $p -le 1024 || $p -eq 5555 || $p -eq 20001 ]] && echo "$T2 $p filtered"
	done
} | sort >"$WORK/expected"
TOTAL=$((65535 + 1024 + 4))
TARGETS=("$CN_T_ADDR:1-65535" "$T2:$T2_PORTS")
RUNARGS=(--rate 50000 --timeout 500 --retries 1)
# stack mode: tapir's own address and MAC on the scanner's veth end
# (AF_PACKET), or on a TAP device with the scanner's kernel routing
S_ADDR=10.201.0.9
S_MAC=02:00:00:00:0c:09
STACK_AFP=(--mode stack --iface cs0 --addr "$S_ADDR/24" --mac "$S_MAC")
STACK_TAP=(--mode stack --tap tck0 --peer-addr 10.202.0.1/24 --addr 10.202.0.2/24 --gateway 10.202.0.1)
sx sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 ||
	fail "scanner sysctls"
tx ip route add 10.202.0.0/24 via "$CN_S_ADDR" || fail "route back to the TAP's subnet"

# run_check NAME [WRAPPER...] -- ARGS: runs tapir check in the scanner's
# namespace, checks exit 1 (some ports closed) and the exact set.
run_check() {
	local name=$1 n
	cn_run_check "$@"
	n=$(wc -l <"$WORK/$name.out")
	[[ $n -eq $TOTAL ]] || fail "$name: $n lines, not $TOTAL"
	awk '$3 != "closed" { print $1, $2, $3 }' "$WORK/$name.out" | sort >"$WORK/$name.got"
	diff -u "$WORK/expected" "$WORK/$name.got" >&2 || fail "$name: not the expected set of ports (diff above)"
	n=$(awk '$3 == "closed"' "$WORK/$name.out" | wc -l)
	[[ $n -eq $((TOTAL - $(wc -l <"$WORK/expected"))) ]] || fail "$name: $n closed ports"
	# every answered port has an RTT; silent (dropped) ones have none
	awk '$3 != "filtered" && $4 !~ /^[0-9]+\.[0-9]+$/ { bad = 1 } END { exit bad }' "$WORK/$name.out" ||
		fail "$name: an open or closed port without an RTT"
	log "$name: exactly the expected set ($(wc -l <"$WORK/expected") open/filtered, $n closed)"
}

NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
run_check connect "${NOBODY[@]}" -- --mode connect "${RUNARGS[@]}" "${TARGETS[@]}"
run_check syn -- --mode syn "${RUNARGS[@]}" "${TARGETS[@]}"
run_check auto -- "${RUNARGS[@]}" "${TARGETS[@]}"
run_check auto_nobody "${NOBODY[@]}" -- "${RUNARGS[@]}" "${TARGETS[@]}"
run_check stack -- "${STACK_AFP[@]}" "${RUNARGS[@]}" "${TARGETS[@]}"
run_check stack_tap -- "${STACK_TAP[@]}" "${RUNARGS[@]}" "${TARGETS[@]}"
# unprivileged auto must not have tried raw sockets: syn needs CAP_NET_RAW
out=$(NSX_TIMEOUT=10 sx "${NOBODY[@]}" "$TAPIR" check --mode syn "$CN_T_ADDR:22" 2>&1)
[[ $? -eq 2 && $out == tapir:*CAP_NET_RAW* ]] || fail "--mode syn as nobody: '$out'"

# ---- packet counts, from a capture on the veth ----
# open 22 and 80, closed 9998 and 9999, dropped 135: every mode.  Captured on
# the target's end (what really crossed the wire), COUNT_ARGS are the mode's
# own options.
count_packets() {
	local mode=$1 rc i
	shift
	# markers: UDP to the scanner's discard port, not counted below
	cn_capture "$NS_T" ct0 "$WORK/$mode.pcap" "tcp or (udp and dst port 9)" \
		tx bash -c "echo mark >/dev/udp/$CN_S_ADDR/9"
	NSX_TIMEOUT=30 sx "$@" "$TAPIR" check "${COUNT_ARGS[@]}" --timeout 300 --retries 1 \
		"$CN_T_ADDR:22,80,135,9998,9999" >"$WORK/$mode.small"
	rc=$?
	cn_capture_stop
	[[ $rc -eq 1 ]] || fail "$mode: exit $rc on the small run"
	cn_port_costs "$mode" "$WORK/$mode.pcap" tcp 22:3 80:3 9998:2 9999:2 135:2
	# open: SYN, SYN/ACK, RST - the handshake's ACK never went out
	# the open ports' RSTs: one each, from the scanner (its kernel, or in
	# stack mode tapir's core: tapir's address and MAC)
	must_counts "$WORK/$mode.pcap" \
		"$mode: a bare ACK to port 22" "tcp.port == 22 && tcp.flags == 0x010 && ip.dst == $CN_T_ADDR" -eq 0 \
		"$mode: RSTs from $SRC_ADDR/$SRC_MAC (ports 22, 80)" \
		"tcp.flags.reset == 1 && ip.dst == $CN_T_ADDR && ip.src == $SRC_ADDR && eth.src == $SRC_MAC" -eq 2 \
		"$mode: segments to the target not from $SRC_ADDR/$SRC_MAC" \
		"ip.dst == $CN_T_ADDR && !(ip.src == $SRC_ADDR && eth.src == $SRC_MAC)" -eq 0
	log "$mode: open port 3 packets, closed 2, dropped 2 (SYN + 1 retry); RSTs from $SRC_ADDR $SRC_MAC"
}
CS_MAC=$(sx cat /sys/class/net/cs0/address)
SRC_ADDR=$CN_S_ADDR SRC_MAC=$CS_MAC
COUNT_ARGS=(--mode connect)
count_packets connect "${NOBODY[@]}"
COUNT_ARGS=(--mode syn)
count_packets syn
SRC_ADDR=$S_ADDR SRC_MAC=$S_MAC COUNT_ARGS=("${STACK_AFP[@]}")
count_packets stack
# (through the TAP the scanner's kernel routes: the frames on the veth carry
# its MAC, the RST still comes from tapir's address)
SRC_ADDR=10.202.0.2 SRC_MAC=$CS_MAC COUNT_ARGS=("${STACK_TAP[@]}")
count_packets stack_tap

# stack mode, a host that does not answer ARP: the core gives up after
# 1 + --retries requests, and its ports are filtered without a probe
out=$(NSX_TIMEOUT=20 sx "$TAPIR" check "${STACK_AFP[@]}" --timeout 200 --retries 1 10.201.0.77:22,80 "$CN_T_ADDR:22")
[[ $? -eq 1 && $out == $'10.201.0.77 22 filtered -\n10.201.0.77 80 filtered -\n'"$CN_T_ADDR"' 22 open '* ]] ||
	fail "stack mode, a silent host: '$out'"
log "stack mode: a host without ARP answer is filtered"

# ---- output forms and exit status ----
out=$(NSX_TIMEOUT=10 sx "$TAPIR" check --mode connect --json --open-only "$CN_T_ADDR:20-25,80")
rc=$?
[[ $rc -eq 1 ]] || fail "--json --open-only: exit $rc"
"$PY" - "$out" <<'PYEOF' || fail "--json --open-only output: $out"
import json, sys
rows = [json.loads(l) for l in sys.argv[1].splitlines()]
assert [(r["host"], r["port"], r["state"]) for r in rows] == [
    ("10.201.0.2", 22, "open"), ("10.201.0.2", 25, "open"), ("10.201.0.2", 80, "open")], rows
assert all(set(r) == {"host", "port", "state", "rtt_ms"} and r["rtt_ms"] >= 0 for r in rows)
PYEOF
NSX_TIMEOUT=10 sx "$TAPIR" check --mode connect "$CN_T_ADDR:22,80" "$T2:1" >/dev/null
[[ $? -eq 0 ]] || fail "every port open: exit status not 0"
log "--json --open-only and the exit statuses are right"
# IPv6 is off in these namespaces: an IPv6 target has no route and no
# source address, and is filtered at once in both modes (it hung before)
for m in connect syn; do
	out=$(NSX_TIMEOUT=10 sx "$TAPIR" check --mode "$m" --timeout 200 "[fd00::1]:80")
	[[ $? -eq 1 && $out == "fd00::1 80 filtered -" ]] || fail "--mode $m, an IPv6 target with IPv6 off: '$out'"
done
log "an IPv6 target without IPv6: filtered"

expect_error "stack mode without an interface" "--iface" --mode stack --addr "$S_ADDR/24" "$CN_T_ADDR:22"
expect_error "stack mode without --addr" "--addr" --mode stack --iface cs0 "$CN_T_ADDR:22"
expect_error "stack mode, both interfaces" "one of them" --mode stack --iface cs0 --tap tck0 --addr "$S_ADDR/24" "$CN_T_ADDR:22"
expect_error "--iface without stack mode" "--iface is for --mode stack" --mode syn --iface cs0 "$CN_T_ADDR:22"
expect_error "--addr without stack mode" "--addr is for --mode stack" --addr "$S_ADDR/24" "$CN_T_ADDR:22"
expect_error "--gateway off the subnet" "--gateway" --mode stack --iface cs0 --addr "$S_ADDR/24" --gateway 10.9.9.9 "$CN_T_ADDR:22"
expect_error "target off the subnet, no gateway" "no --gateway" --mode stack --iface cs0 --addr "$S_ADDR/24" 10.9.9.9:22
expect_error "the kernel's address" "in use by interface cs0" --mode stack --iface cs0 --addr "$CN_S_ADDR/24" "$CN_T_ADDR:22"
expect_error "the interface's MAC" "MAC must not be" --mode stack --iface cs0 --addr "$S_ADDR/24" --mac "$CS_MAC" "$CN_T_ADDR:22"
expect_error "no such interface" "no interface" --mode stack --iface nosuch0 --addr "$S_ADDR/24" "$CN_T_ADDR:22"
out=$(NSX_TIMEOUT=10 sx "${NOBODY[@]}" "$TAPIR" check --mode stack --iface cs0 --addr "$S_ADDR/24" "$CN_T_ADDR:22" 2>&1)
[[ $? -eq 2 && $out == tapir:*CAP_NET_RAW* ]] || fail "--mode stack as nobody: '$out'"
expect_error "no port list" "HOST:PORTS" "$CN_T_ADDR"
expect_error "port 0" "port list" "$CN_T_ADDR:0-10"
expect_error "port range backwards" "port list" "$CN_T_ADDR:90-80"
expect_error "bad CIDR" "CIDR" "10.201.0.0/40:22"
expect_error "a link-local IPv6 target" "link-local" "[fe80::1]:22"
expect_error "bad mode" "--mode" --mode fast "$CN_T_ADDR:22"
expect_error "bad rate" "--rate" --rate 0 "$CN_T_ADDR:22"
expect_error "no target" "target" --mode connect
pass
