#!/usr/bin/env bash
# tapir check's scan splitting, against the Linux kernel in a namespace pair
# (check_net.sh): six target addresses routed through the target namespace,
# each with the same listeners, nftables drops and an ICMP reject.
#
#  --seed/--shard  shards 1/3, 2/3, 3/3 (one capture each): the SYNs they
#                  send go to disjoint (address, port) sets whose union is
#                  every target; their outputs are disjoint and together
#                  exactly the unsharded run's, also when the three run at
#                  once; their source ports are disjoint slices; stack mode's shard 2/3 is
#                  syn mode's; the same seed twice sends the first round
#                  in the same order
#  --exclude       the excluded addresses get no SYN (capture) and no line;
#                  a malformed line is one tapir: error with its number
#  -oX             ndiff reads two tapir XML files and reports a port that
#                  changed between them; against nmap -oX of the same
#                  targets ndiff finds no difference
#  --resume        a run interrupted with SIGINT, resumed, interrupted again
#                  and resumed once more: the three outputs hold every port
#                  exactly once, with the unsharded run's states
source "$(dirname "$0")/check_net.sh"
require_root nft "$PY" ndiff nmap
cn_create

P=10.201.5 # the target's addresses P.1-P.6, on its lo, routed through it
cn_addrs "$P" 1 6
OPEN=(22 80 443 3306 40001)
DROP=(139 445 53)
REJECT=(25)
PORTS="1-200,443,445,3306,40001"
TARGETS=("$P.0/29:$PORTS")  # (.0 and .7 left out: network and broadcast)
NPROBES=$((6 * 204))
args=()
for p in "${OPEN[@]}"; do args+=("0.0.0.0:$p"); done
cn_listen "${args[@]}"
cn_nft_filter tapir_shard tcp "${DROP[*]}" "${REJECT[*]}"
RUN=(--mode syn --rate 20000 --timeout 300 --retries 1)

# keys FILE: "host port" of each line, sorted
keys() { awk '{ print $1, $2 }' "$1" | sort; }
# states FILE: "host port state" of each line, sorted
states() { awk '{ print $1, $2, $3 }' "$1" | sort; }
# syns PCAP: "host port" of each SYN tapir sent (no ACK), sorted and unique
syns() {
	tsh -r "$1" -Y "tcp.flags.syn == 1 && tcp.flags.ack == 0 && ip.src == $CN_S_ADDR" \
		-T fields -e ip.dst -e tcp.dstport | tr '\t' ' ' | sort -u
}
# run NAME ARGS...: tapir check in the scanner's namespace, exit 1 expected
run() {
	local name=$1
	shift
	cn_run_check "$name" -- "${RUN[@]}" "$@"
}
# capture NAME: the SYNs of what follows, in $WORK/NAME.pcap
capture() {
	cn_capture "$NS_T" ct0 "$WORK/$1.pcap" "tcp or (udp and dst port 9)" \
		tx bash -c "echo mark >/dev/udp/$CN_S_ADDR/9"
}

# ---- the whole set, unsharded ----
run all --seed 42 "${TARGETS[@]}"
[[ $(wc -l <"$WORK/all.out") -eq $NPROBES ]] || fail "all: $(wc -l <"$WORK/all.out") lines, not $NPROBES"
states "$WORK/all.out" >"$WORK/all.st"
for h in 1 2 3 4 5 6; do
	for p in "${OPEN[@]}"; do grep -qx "$P.$h $p open" "$WORK/all.st" || fail "all: $P.$h $p not open"; done
	for p in "${DROP[@]}" "${REJECT[@]}"; do
		grep -qx "$P.$h $p filtered" "$WORK/all.st" || fail "all: $P.$h $p not filtered"
	done
done
n=$(grep -c ' closed$' "$WORK/all.st")
[[ $n -eq $((NPROBES - 6 * 9)) ]] || fail "all: $n closed ports"
keys "$WORK/all.out" >"$WORK/all.keys"
log "unsharded: $NPROBES ports, the expected states"

# ---- three shards, a capture each ----
for i in 1 2 3; do
	capture "shard$i"
	run "shard$i" --seed 42 --shard "$i/3" "${TARGETS[@]}"
	cn_capture_stop
	keys "$WORK/shard$i.out" >"$WORK/shard$i.keys"
	syns "$WORK/shard$i.pcap" >"$WORK/shard$i.syns"
	n=$(wc -l <"$WORK/shard$i.keys")
	[[ $n -gt 0 ]] || fail "shard $i/3: no port"
	diff -q "$WORK/shard$i.keys" "$WORK/shard$i.syns" >/dev/null ||
		fail "shard $i/3: the SYNs captured are not its output's ports"
	log "shard $i/3: $n ports, a SYN to each and to no other"
	# its source ports: a slice of its own (the shards' captures need not
	# copy each other's answers)
	tsh -r "$WORK/shard$i.pcap" -Y "tcp.flags.syn == 1 && tcp.flags.ack == 0 && ip.src == $CN_S_ADDR" \
		-T fields -e tcp.srcport | sort -n | sed -n '1p;$p' | tr '\n' ' ' >"$WORK/shard$i.sports"
done
read -r lo1 hi1 <"$WORK/shard1.sports"
read -r lo2 hi2 <"$WORK/shard2.sports"
read -r lo3 hi3 <"$WORK/shard3.sports"
[[ $hi1 -lt $lo2 && $hi2 -lt $lo3 ]] ||
	fail "shards' source ports overlap: $lo1-$hi1, $lo2-$hi2, $lo3-$hi3"
log "shards' source ports apart: $lo1-$hi1, $lo2-$hi2, $lo3-$hi3"
# the three at once, as a scheduler runs them (syn mode: each process has
# its own cookie key, so none takes another's answers for its own)
pids=()
for i in 1 2 3; do
	NSX_TIMEOUT=120 sx "$TAPIR" check --mode syn --rate 5000 --timeout 300 --retries 1 --seed 42 \
		--shard "$i/3" "${TARGETS[@]}" >"$WORK/par$i.out" 2>"$WORK/par$i.err" &
	pids+=($!)
done
for i in 1 2 3; do
	wait "${pids[i - 1]}"
	rc=$?
	[[ $rc -eq 1 ]] || fail "shard $i/3 run at once with the others: exit $rc ($(cat "$WORK/par$i.err"))"
	keys "$WORK/par$i.out" | cmp -s - "$WORK/shard$i.keys" || fail "shard $i/3 at once: other ports than alone"
done
cat "$WORK"/par[123].out >"$WORK/par.out"
states "$WORK/par.out" | diff -u "$WORK/all.st" - >&2 || fail "shards at once: their union is not the unsharded result (diff above)"
log "shards 1/3 2/3 3/3 at once: the same shares, their union the unsharded result"
# stack mode (tapir's own stack and address on the veth) takes the same
# share: its warm-up resolves next hops with the shard's own first probes
cn_run_check shard2_stack -- --mode stack --iface cs0 --addr 10.201.0.9/24 --gateway "$CN_T_ADDR" \
	--rate 20000 --timeout 300 --retries 1 --seed 42 --shard 2/3 "${TARGETS[@]}"
states "$WORK/shard2_stack.out" | diff -u <(states "$WORK/shard2.out") - >&2 ||
	fail "shard 2/3 in stack mode: not what syn mode's shard 2/3 gave (diff above)"
log "shard 2/3 in stack mode: the same ports and states as in syn mode"
cat "$WORK"/shard[123].out >"$WORK/shards.out"
[[ -z $(keys "$WORK/shards.out" | uniq -d) ]] || fail "shards: a port in two shards: $(keys "$WORK/shards.out" | uniq -d | head -3)"
[[ -z $(cat "$WORK"/shard[123].syns | sort | uniq -d) ]] || fail "shards: SYNs to a port from two shards"
states "$WORK/shards.out" | diff -u "$WORK/all.st" - >&2 || fail "shards: their union is not the unsharded result (diff above)"
log "shards 1/3 2/3 3/3: disjoint, their union is the unsharded result"

# the same seed sends the first round in the same order (one try each:
# --retries 0, and a rate slow enough that nothing is reordered)
for k in a b; do
	capture "order$k"
	NSX_TIMEOUT=60 sx "$TAPIR" check --mode syn --rate 2000 --retries 0 --timeout 300 --seed 7 \
		--shard 2/2 "$P.1:1-100" >/dev/null
	cn_capture_stop
	tsh -r "$WORK/order$k.pcap" -Y "tcp.flags.syn == 1 && tcp.flags.ack == 0 && ip.src == $CN_S_ADDR" \
		-T fields -e tcp.dstport >"$WORK/order$k"
done
[[ $(wc -l <"$WORK/ordera") -eq 50 ]] || fail "--seed 7 --shard 2/2: $(wc -l <"$WORK/ordera") SYNs, not 50"
cmp -s "$WORK/ordera" "$WORK/orderb" || fail "--seed 7: two runs sent in different orders"
sort -n "$WORK/ordera" | cmp -s - "$WORK/ordera" && fail "--seed 7: the probes went in ascending order"
log "--seed 7 twice: the same order ($(head -n 5 "$WORK/ordera" | tr '\n' ' ')...)"

# ---- --exclude ----
cat >"$WORK/exclude" <<EOF
# hosts that must never see a SYN
$P.2
   $P.4/31   # .4 and .5

192.0.2.0/24
fd00::/8
EOF
capture excl
run excl --exclude "$WORK/exclude" --seed 42 --shard 1/1 "${TARGETS[@]}"
cn_capture_stop
n=$(pcap_count "$WORK/excl.pcap" "tcp.flags.syn == 1 && tcp.flags.ack == 0 && (ip.dst == $P.2 || ip.dst == $P.4 || ip.dst == $P.5)")
[[ $n -eq 0 ]] || fail "--exclude: $n SYNs to excluded addresses"
grep -v -E "^$P\.(2|4|5) " "$WORK/all.st" | diff -u - <(states "$WORK/excl.out") >&2 ||
	fail "--exclude: not the unsharded result without the excluded hosts (diff above)"
n=$(pcap_count "$WORK/excl.pcap" "tcp.flags.syn == 1 && tcp.flags.ack == 0 && (ip.dst == $P.1 || ip.dst == $P.3 || ip.dst == $P.6)")
[[ $n -ge $((3 * 204)) ]] || fail "--exclude: only $n SYNs to the other hosts"
log "--exclude: no SYN to $P.2, $P.4, $P.5; the other hosts as before"
printf '10.0.0.0/8\n# fine\n10.1.2.3/33\n' >"$WORK/badex"
expect_error "a malformed --exclude line" "line 3: '10.1.2.3/33'" --exclude "$WORK/badex" "$P.1:22"
expect_error "no --exclude file" "cannot read" --exclude "$WORK/nosuch" "$P.1:22"
expect_error "--shard without --seed" "--shard needs --seed" --shard 1/2 "$P.1:22"
expect_error "--shard 3/2" "--shard" --seed 1 --shard 3/2 "$P.1:22"
expect_error "--shard 0/2" "--shard" --seed 1 --shard 0/2 "$P.1:22"
expect_error "--seed -1" "--seed" --seed -1 "$P.1:22"

# ---- -oX: ndiff reads it; against nmap's own XML ----
XPORTS="1-200,443,445,3306,40001"
XT=("$P.1-3")
cn_run_check xml_a -- "${RUN[@]}" -oX "$WORK/a.xml" "$P.1:$XPORTS" "$P.2:$XPORTS" "$P.3:$XPORTS"
"$PY" -c "import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])" "$WORK/a.xml" ||
	fail "-oX: python's xml cannot parse it"
# nmap's reasons, the ICMP code's too (the reject is admin-prohibited)
grep -q '<port protocol="tcp" portid="25"><state state="filtered" reason="admin-prohibited"' "$WORK/a.xml" &&
	grep -q '<port protocol="tcp" portid="139"><state state="filtered" reason="no-response"' "$WORK/a.xml" &&
	grep -q '<port protocol="tcp" portid="22"><state state="open" reason="syn-ack"' "$WORK/a.xml" &&
	grep -q '<extrareasons reason="reset" count="195" proto="tcp" ports="1-21,23-24,26-52,54-79,81-138,140-200"/>' "$WORK/a.xml" ||
	fail "-oX: not nmap's reasons: $(grep -m 3 '<port' "$WORK/a.xml")"
ndiff "$WORK/a.xml" "$WORK/a.xml" >"$WORK/ndiff.same"
[[ $? -eq 0 ]] || fail "ndiff of a tapir XML with itself: $(head -n 5 "$WORK/ndiff.same")"
tx nft -f - <<NFT || fail "nft: drop 3306 on .2"
table inet tapir_change {
  chain in {
    type filter hook input priority 0;
    ip daddr $P.2 tcp dport 3306 drop
  }
}
NFT
cn_run_check xml_b -- "${RUN[@]}" -oX "$WORK/b.xml" "$P.1:$XPORTS" "$P.2:$XPORTS" "$P.3:$XPORTS"
ndiff "$WORK/a.xml" "$WORK/b.xml" >"$WORK/ndiff.ab"
rc=$?
cat "$WORK/ndiff.ab" >&2
[[ $rc -eq 1 ]] || fail "ndiff a b: exit $rc, not 1 (different)"
grep -q "^-3306/tcp *open *mysql" "$WORK/ndiff.ab" && grep -q "^+3306/tcp *filtered *mysql" "$WORK/ndiff.ab" ||
	fail "ndiff a b: does not report 3306 open -> filtered"
[[ $(grep -c '^[-+][0-9]' "$WORK/ndiff.ab") -eq 2 ]] || fail "ndiff a b: other ports differ too"
log "-oX: ndiff reports $P.2's 3306 open -> filtered, nothing else"
# nmap's SYN scan of the same targets (without host discovery: every host
# has open ports, so tapir says "up" as nmap -Pn does)
cn_nmap_agrees "tapir check --mode syn" "$WORK/b.xml" -n -Pn -sS -T4 --max-retries 1 -p "$XPORTS" "${XT[@]}"
tx nft delete table inet tapir_change || fail "nft: the change undone"
cn_run_check xml_stdout -- "${RUN[@]}" -oX - "$P.1:22,23"
grep -q '<port protocol="tcp" portid="22"><state state="open" reason="syn-ack"' "$WORK/xml_stdout.out" ||
	fail "-oX -: no XML on stdout"

# ---- --resume ----
# interrupted runs: 150 probes a second, SIGINT after a second (cn_interrupt)
INT=(--mode syn --timeout 300 --retries 1 --rate 150)
cn_interrupt resume1 "$WORK/resume" "${INT[@]}" --resume "$WORK/resume" "${TARGETS[@]}"
grep -q "^target $P.0/29:$PORTS\$" "$WORK/resume" || fail "resume file: no target line"
grep -q '^seed [0-9]' "$WORK/resume" || fail "resume file: no seed"
expect_error "--resume FILE with targets, FILE there" "file exists" --resume "$WORK/resume" "$P.1:22"
expect_error "--resume FILE alone with --seed" "alone" --resume "$WORK/resume" --seed 3
cn_interrupt resume2 "$WORK/resume" "${INT[@]}" --resume "$WORK/resume"
cn_run_check resume3 -- --mode syn --rate 20000 --timeout 300 --retries 1 --resume "$WORK/resume"
[[ ! -e $WORK/resume ]] || fail "resume3: the resume file is still there after a complete run"
cat "$WORK"/resume[123].out >"$WORK/resumed.out"
[[ -z $(keys "$WORK/resumed.out" | uniq -d) ]] || fail "resume: a port printed twice: $(keys "$WORK/resumed.out" | uniq -d | head -3)"
states "$WORK/resumed.out" | diff -u "$WORK/all.st" - >&2 || fail "resume: the three runs are not the whole result once (diff above)"
log "resume: $(wc -l <"$WORK/resume1.out") + $(wc -l <"$WORK/resume2.out") + $(wc -l <"$WORK/resume3.out") lines: every port exactly once"
echo "not a resume file" >"$WORK/badresume"
expect_error "a bad resume file" "line 1" --resume "$WORK/badresume"
pass
