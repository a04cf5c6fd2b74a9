#!/usr/bin/env bash
# tapir check over IPv6 against the Linux kernel, mixed with IPv4: a target
# namespace with IPv6 listeners (some on one address, some on every IPv6
# address), closed ports (RST), ports dropped by nftables and one rejected
# with ICMPv6 administratively prohibited (both `filtered`), 15 more IPv6
# addresses probed as a /124 prefix, and an IPv4 host in the same run.
# connect mode (as nobody), syn mode (raw SYNs with the RFC 8200 8.1
# pseudo-header checksum) and auto must print exactly the expected lines;
# syn mode over all of 1-65535 finds exactly the open ports;
# a capture checks syn mode's packet cost and its SYNs' checksums.  Stack
# mode (tapir's own stack on a TAP, --addr fd00:202::9/64) against the
# kernel's end of the TAP must print exactly what connect mode prints, and
# a capture on the TAP shows its IPv6 SYNs from tapir's MAC and address.
# Bad IPv6 targets and options give one `tapir:` line and exit 2.
CN_IPV6=1
source "$(dirname "$0")/check_net.sh"
require_root nft setpriv "$PY"
cn_create
T6=$CN_T_ADDR6
for ((i = 1; i <= 15; i++)); do
	printf 'address add fd00:201:1::%x/128 dev lo\n' "$i"
done | tx ip -batch - || fail "IPv6 addresses on the target's lo"
cn_listen "[$T6]:22" "[$T6]:25" "[$T6]:80" "[::]:443" "[::]:8080" "[$T6]:40001" "[::]:65535" "$CN_T_ADDR:22"
cn_nft_filter tapir_check6 "meta nfproto ipv6 tcp" "135 139" 5555

# The expected lines ("host port state"), in output order: hosts as given,
# ports ascending.
{
	for ((p = 1; p <= 1024; p++)); do
		case $p in
		22 | 25 | 80 | 443) echo "$T6 $p open" ;;
		135 | 139) echo "$T6 $p filtered" ;;
		*) echo "$T6 $p closed" ;;
		esac
	done
	echo "$T6 5555 filtered"
	echo "$T6 8080 open"
	for ((i = 1; i <= 15; i++)); do
		printf 'fd00:201:1::%x 443 open\nfd00:201:1::%x 444 closed\n' "$i" "$i"
	done
	echo "$CN_T_ADDR 22 open"
	echo "$CN_T_ADDR 23 closed"
} >"$WORK/expected"
TARGETS=("[$T6]:1-1024,5555,8080" "[fd00:201:1::/124]:443,444" "$CN_T_ADDR:22,23")
RUNARGS=(--rate 20000 --timeout 500 --retries 1)

# run_check NAME [WRAPPER...] -- ARGS: tapir check in the scanner's
# namespace: exit 1 (some ports closed) and exactly the expected lines.
run_check() {
	local name=$1
	cn_run_check "$@"
	awk '{ print $1, $2, $3 }' "$WORK/$name.out" >"$WORK/$name.got"
	diff -u "$WORK/expected" "$WORK/$name.got" >&2 || fail "$name: not the expected lines (diff above)"
	# every open or closed port has an RTT; the dropped ones have none (the
	# ICMPv6-rejected one has its error's in syn mode)
	awk '$3 != "filtered" && $4 !~ /^[0-9]+\.[0-9]+$/ { bad = 1 }
		($2 == 135 || $2 == 139) && $4 != "-" { bad = 1 } NF != 4 { bad = 1 }
		END { exit bad }' "$WORK/$name.out" || fail "$name: a line whose RTT does not go with its state"
	log "$name: exactly the expected $(wc -l <"$WORK/expected") lines"
}

NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
run_check connect "${NOBODY[@]}" -- --mode connect "${RUNARGS[@]}" "${TARGETS[@]}"
run_check syn -- --mode syn "${RUNARGS[@]}" "${TARGETS[@]}"
run_check auto -- "${RUNARGS[@]}" "${TARGETS[@]}"

# every port, 1-65535, over IPv6 in syn mode: exactly the open ones (two
# of them above 1024, beyond the run above), the filtered ones, the rest closed
NSX_TIMEOUT=120 sx "$TAPIR" check --mode syn --rate 50000 --timeout 500 --retries 1 \
	"[$T6]:1-65535" >"$WORK/all.out" 2>"$WORK/all.err"
rc=$?
[[ $rc -eq 1 ]] || fail "syn, 1-65535: exit $rc: $(head -n 3 "$WORK/all.err")"
[[ $(wc -l <"$WORK/all.out") -eq 65535 ]] || fail "syn, 1-65535: $(wc -l <"$WORK/all.out") lines, not 65535"
got=$(awk '$3 != "closed" { printf "%s%s %s", sep, $2, $3; sep = ", " }' "$WORK/all.out")
want="22 open, 25 open, 80 open, 135 filtered, 139 filtered, 443 open, 5555 filtered, 8080 open, 40001 open, 65535 open"
[[ $got == "$want" ]] || fail "syn, 1-65535 over IPv6: '$got', not '$want'"
log "syn, 1-65535 over IPv6: exactly $want; $(grep -c ' closed ' "$WORK/all.out") closed"

# ---- syn mode's packets over IPv6, from a capture on the target's end ----
# markers: UDP to the scanner's discard port, not counted
cn_capture "$NS_T" ct0 "$WORK/syn6.pcap" "tcp or (udp and dst port 9)" \
	tx bash -c "echo mark >/dev/udp/$CN_S_ADDR6/9"
out=$(NSX_TIMEOUT=30 sx "$TAPIR" check --mode syn --timeout 300 --retries 1 "[$T6]:22,135,5555,9999")
rc=$?
cn_capture_stop
[[ $rc -eq 1 ]] || fail "syn, small run: exit $rc"
[[ $(awk '{ print $1, $2, $3 }' <<<"$out") == "$T6 22 open"$'\n'"$T6 135 filtered"$'\n'"$T6 5555 filtered"$'\n'"$T6 9999 closed" ]] ||
	fail "syn, small run: '$out'"
# open: SYN, SYN/ACK, RST; closed: SYN, RST; dropped: SYN + 1 retry
cn_port_costs "syn over IPv6" "$WORK/syn6.pcap" ipv6 22:3 9999:2 135:2
{ read -r got && read -r bad; } < <(pcap_counts "$WORK/syn6.pcap" \
	"ipv6.src == $CN_S_ADDR6 && tcp.flags == 0x002 && tcp.checksum.status == 1" \
	"ipv6.src == $CN_S_ADDR6 && tcp.flags == 0x002 && tcp.checksum.status != 1")
[[ $got =~ ^[0-9]+$ && $bad =~ ^[0-9]+$ ]] || fail "syn over IPv6: cannot count the SYNs"
[[ $got -ge 5 && $bad -eq 0 ]] || fail "syn over IPv6: $got SYNs with a good checksum, $bad without"
log "syn over IPv6: open port 3 packets, closed 2, dropped 2; $got SYNs, every checksum right"

# ---- output forms ----
out=$(NSX_TIMEOUT=10 sx "$TAPIR" check --mode connect --json --open-only "[$T6]:20-25,80" "$CN_T_ADDR:22")
rc=$?
[[ $rc -eq 1 ]] || fail "--json --open-only: exit $rc"
"$PY" - "$out" "$T6" "$CN_T_ADDR" <<'PYEOF' || fail "--json --open-only output: $out"
import json, sys
rows = [json.loads(l) for l in sys.argv[1].splitlines()]
t6, t4 = sys.argv[2], sys.argv[3]
assert [(r["host"], r["port"], r["state"]) for r in rows] == [
    (t6, 22, "open"), (t6, 25, "open"), (t6, 80, "open"), (t4, 22, "open")], rows
assert all(set(r) == {"host", "port", "state", "rtt_ms"} and r["rtt_ms"] >= 0 for r in rows)
PYEOF
NSX_TIMEOUT=10 sx "$TAPIR" check --mode syn "[$T6]:22,443" "[fd00:201:1::5]:8080" >/dev/null
[[ $? -eq 0 ]] || fail "every IPv6 port open: exit status not 0"
log "--json --open-only and the exit statuses are right"

# ---- stack mode over IPv6: tapir's stack on a TAP in the scanner's
# namespace; the targets are the kernel's end of it (fd00:202::1, given by
# --peer-addr), with listeners, a dropped and a rejected port there ----
P6=fd00:202::1
T6_MAC=02:00:00:00:62:09
STACK6=(--mode stack --tap tck6 --addr fd00:202::9/64 --peer-addr "$P6/64" --mac "$T6_MAC")
timeout -k 5 600 ip netns exec "$NS_S" "$PY" "$LIB_DIR/check_listen.py" \
	"[::]:22" "[::]:80" "[::]:443" "[::]:8080" >"$WORK/listen_s.out" 2>&1 &
CN_PIDS+=($!)
for ((i = 0; i < 100; i++)); do
	grep -q '^ready' "$WORK/listen_s.out" && break
	sleep 0.1
done
grep -q '^ready' "$WORK/listen_s.out" || fail "listeners in the scanner's namespace did not start"
sx nft -f - <<'NFT' || fail "nft rules in the scanner's namespace"
table inet tapir_stack6 {
  chain in {
    type filter hook input priority 0;
    ip6 daddr fd00:202::1 tcp dport { 135, 139 } drop
    ip6 daddr fd00:202::1 tcp dport 5555 reject with icmpx type admin-prohibited
  }
}
NFT
{
	for ((p = 1; p <= 1024; p++)); do
		case $p in
		22 | 80 | 443) echo "$P6 $p open" ;;
		135 | 139) echo "$P6 $p filtered" ;;
		*) echo "$P6 $p closed" ;;
		esac
	done
	echo "$P6 5555 filtered"
	echo "$P6 8080 open"
} >"$WORK/expected"
TARGETS6=("[$P6]:1-1024,5555,8080")
# stack mode first: it puts fd00:202::1 on the TAP's kernel end (nodad);
# the TAP goes with tapir, so for connect mode the address goes on lo
run_check stack6_tap -- "${STACK6[@]}" "${RUNARGS[@]}" "${TARGETS6[@]}"
# a small run, captured on every interface of the scanner's namespace (the
# TAP comes and goes with tapir): tapir's SYNs come from its MAC and IPv6
# address, and cost what syn mode's do
cn_capture "$NS_S" any "$WORK/stack6.pcap" "tcp or (udp and dst port 9)" \
	sx bash -c "echo mark >/dev/udp/127.0.0.1/9"
out=$(NSX_TIMEOUT=30 sx "$TAPIR" check "${STACK6[@]}" --timeout 300 --retries 1 "[$P6]:22,135,5555,9999")
rc=$?
cn_capture_stop
[[ $rc -eq 1 ]] || fail "stack6, small run: exit $rc"
[[ $(awk '{ print $1, $2, $3 }' <<<"$out") == "$P6 22 open"$'\n'"$P6 135 filtered"$'\n'"$P6 5555 filtered"$'\n'"$P6 9999 closed" ]] ||
	fail "stack6, small run: '$out'"
# the rejected port was credited by its ICMPv6 admin-prohibited (an RTT),
# the dropped one by silence (none)
awk '$2 == 5555 && $4 !~ /^[0-9]+\.[0-9]+$/ { bad = 1 } $2 == 135 && $4 != "-" { bad = 1 }
	END { exit bad }' <<<"$out" || fail "stack6: port 5555 not credited by its ICMPv6 error: '$out'"
cn_port_costs stack6 "$WORK/stack6.pcap" ipv6 22:3 9999:2 135:2
FROM_TAPIR="ipv6.src == fd00:202::9 && sll.src.eth == $T6_MAC"
# the open port's RST is the core's, from tapir's MAC too
{ read -r got && read -r bad && read -r rst; } < <(pcap_counts "$WORK/stack6.pcap" \
	"tcp.flags == 0x002 && $FROM_TAPIR && tcp.checksum.status == 1" \
	"tcp.flags == 0x002 && !($FROM_TAPIR && tcp.checksum.status == 1)" \
	"tcp.port == 22 && tcp.flags.reset == 1 && $FROM_TAPIR")
[[ $got =~ ^[0-9]+$ && $bad =~ ^[0-9]+$ && $rst =~ ^[0-9]+$ ]] || fail "stack6: cannot count the SYNs and RSTs"
nsyn=$got
[[ $got -ge 5 && $bad -eq 0 ]] || fail "stack6: $got SYNs from tapir's MAC and address with a good checksum, $bad others"
got=$rst
[[ $got -eq 1 ]] || fail "stack6: $got RSTs to port 22 from tapir's MAC, not 1"
log "stack6: $nsyn SYNs, all from $T6_MAC fd00:202::9, checksums right; open 3 packets, closed 2, dropped 2"
sx ip -6 addr add "$P6/128" dev lo nodad || fail "fd00:202::1 on the scanner's lo"
run_check connect6_tap "${NOBODY[@]}" -- --mode connect "${RUNARGS[@]}" "${TARGETS6[@]}"
cmp -s "$WORK/stack6_tap.got" "$WORK/connect6_tap.got" || fail "stack and connect mode disagree over IPv6"
log "stack mode over IPv6 on a TAP: the same lines as connect mode"

expect_error "stack mode, an IPv6 target without an IPv6 --addr" "needs an IPv6 --addr" \
	--mode stack --iface cs0 --addr 10.201.0.9/24 "$CN_T_ADDR:22" "[$T6]:22"
# (an off-link target without --gateway waits for router discovery:
# check_stack6.sh)
expect_error "stack mode, an IPv6 --gateway off the prefix" "link-local or another address on its prefix" \
	--mode stack --tap tck6 --addr fd00:202::9/64 --gateway fd00:999::1 "[$T6]:22"
expect_error "stack mode, a bad IPv6 --addr" "not an IPv6 address and prefix" \
	--mode stack --tap tck6 --addr fe80::9/64 "[$P6]:22"
expect_error "IPv6 without brackets" "in brackets" "$T6:22"
expect_error "an IPv6 prefix shorter than /112" "shorter than /112" "[fd00:201:1::]/64:22"
expect_error "brackets, no port list" "HOST:PORTS" "[$T6]"
expect_error "an IPv4 address in brackets" "only IPv6" "[$CN_T_ADDR]:22"
pass
