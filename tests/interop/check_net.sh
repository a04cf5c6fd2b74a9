# shellcheck shell=bash
# Two network namespaces joined by a veth pair, for `tapir check` and
# `tapir ping` tests and bench/check-bench.sh:
#
#   source "$(dirname "$0")/check_net.sh"
#   cn_create            # $NS_S (scanner, 10.201.0.1) <-> $NS_T (target, 10.201.0.2)
#                        # (CN_IPV6=1 before it: IPv6 on too, fd00:201::1 <-> fd00:201::2)
#   sx CMD...            # CMD in the scanner's namespace, under timeout
#   tx CMD...            # CMD in the target's namespace, under timeout
#   cn_listen ADDR:PORT...   # python listeners in $NS_T (killed on exit)
#   cn_nft_filter TABLE PROTO DROP REJECT   # nftables in $NS_T: drop / reject ports
#   cn_capture NS IF PCAP FILTER MARKER...  # dumpcap, on once MARKER is seen
#   cn_capture_stop
#   cn_three_pings MODE ARGS... # three tapir pings at once (unprivileged, MODE, --raw):
#                               # $WORK/{a,b,c}.json, each must exit 1 (some hosts dead)
#   cn_port_costs WHAT PCAP SEL PORT:N...   # each TCP PORT cost N frames
#   expect_error WHAT PATTERN ARGS...       # tapir check ARGS: one tapir: line, exit 2
#   cn_run_check NAME [WRAPPER...] -- ARGS  # tapir check ARGS: exit 1, into $WORK/NAME.out
#   cn_interrupt NAME FILE ARGS...          # tapir check ARGS --resume FILE, SIGINT: exit 3
#   cn_nmap_agrees WHAT XML NMAP_ARGS...    # ndiff: nmap's XML and tapir's XML agree
#
# Everything lives inside these namespaces: no traffic reaches any other
# interface.  Both are removed by an EXIT trap, also on failure.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NS_S=""
NS_T=""
CN_PIDS=()
CN_S_ADDR=10.201.0.1
CN_T_ADDR=10.201.0.2
CN_S_ADDR6=fd00:201::1
CN_T_ADDR6=fd00:201::2

_cn_cleanup() { # the servers first, then lib.sh's cleanup (namespaces, $WORK)
	local rc=$? p
	for p in "${CN_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	(exit "$rc")
	_cleanup
}

sx() { timeout -k 5 "${NSX_TIMEOUT:-60}" ip netns exec "$NS_S" "$@"; }
tx() { timeout -k 5 "${NSX_TIMEOUT:-60}" ip netns exec "$NS_T" "$@"; }

cn_create() {
	local tag="$$-$RANDOM"
	WORK=$(mktemp -d "/tmp/tapir-$TEST_NAME.XXXXXX") || fail "mktemp"
	trap _cn_cleanup EXIT
	trap 'exit 1' INT TERM HUP
	NS_S="tapir-cs-$tag"
	ns_more "$NS_S"
	NS_T="tapir-ct-$tag"
	ns_more "$NS_T"
	# veth names are per namespace, so short fixed names are unique enough
	# once moved; create them inside the scanner's namespace directly
	sx ip link add cs0 type veth peer name ct0 netns "$NS_T" || fail "cannot create the veth pair"
	local ns
	for ns in sx tx; do
		if [[ -z ${CN_IPV6:-} ]]; then
			$ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		else # no router solicitations; addresses usable at once (nodad)
			$ns sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
		fi
		$ns ip link set lo up || fail "lo up"
	done
	sx ip addr add "$CN_S_ADDR/24" dev cs0 && sx ip link set cs0 up || fail "cs0"
	tx ip addr add "$CN_T_ADDR/24" dev ct0 && tx ip link set ct0 up || fail "ct0"
	# the target answers every ICMP error it owes (no rate limit), and
	# forwards, so `unreachable` routes there send host-unreachables
	tx sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv4.icmp_msgs_per_sec=1000000 \
		net.ipv4.icmp_msgs_burst=1000000 net.ipv4.ip_forward=1 \
		net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=65536 || fail "target sysctls"
	# the scanner reaches the target's extra addresses through it
	sx ip route add 10.201.0.0/16 via "$CN_T_ADDR" 2>/dev/null || true
	if [[ -n ${CN_IPV6:-} ]]; then
		sx ip addr add "$CN_S_ADDR6/64" dev cs0 nodad || fail "cs0 IPv6"
		tx ip addr add "$CN_T_ADDR6/64" dev ct0 nodad || fail "ct0 IPv6"
		tx sysctl -qw net.ipv6.icmp.ratelimit=0 net.ipv6.conf.all.forwarding=1 ||
			fail "target IPv6 sysctls"
		sx ip -6 route add fd00:201::/32 via "$CN_T_ADDR6" || fail "IPv6 route to the target"
	fi
}

# cn_addrs PREFIX FIRST LAST: adds PREFIX.FIRST .. PREFIX.LAST to the target's lo.
cn_addrs() {
	local i
	for ((i = $2; i <= $3; i++)); do
		echo "address add $1.$i/32 dev lo"
	done | tx ip -batch - || fail "cannot add addresses $1.$2-$3"
}

# cn_listen ADDR:PORT...: TCP listeners in the target's namespace.
cn_listen() {
	timeout -k 5 "${CN_LISTEN_GUARD:-600}" ip netns exec "$NS_T" \
		"$PY" "$LIB_DIR/check_listen.py" "$@" >"$WORK/listen.out" 2>&1 &
	CN_PIDS+=($!)
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q '^ready' "$WORK/listen.out" && return 0
		kill -0 "${CN_PIDS[-1]}" 2>/dev/null || break
		sleep 0.1
	done
	cat "$WORK/listen.out" >&2
	fail "listeners did not start"
}

# cn_nft_filter TABLE PROTO DROP REJECT: an nftables table TABLE in the
# target's namespace; PROTO (e.g. "tcp", "udp", "meta nfproto ipv6 tcp")
# ports DROP (space-separated) are dropped, ports REJECT answered with ICMP
# admin-prohibited (ICMP 3/13, RFC 1812 5.2.7.1; ICMPv6 1/1, RFC 4443 3.1):
# both `filtered`.
cn_nft_filter() {
	tx nft -f - <<NFT || fail "nft rules"
table inet $1 {
  chain in {
    type filter hook input priority 0;
    $2 dport { ${3// /, } } drop
    $2 dport { ${4// /, } } reject with icmpx type admin-prohibited
  }
}
NFT
}

# cn_capture NS IFACE PCAP FILTER MARKER...: dumpcap on IFACE in namespace
# NS writes PCAP (capture filter FILTER) in the background ($CN_TS); dumpcap
# is what tshark -w runs, without tshark's start-up (its dissectors).  It
# says "Capturing on" before it captures (a fast run was missed whole), so
# the command MARKER... (a packet the caller leaves out of its counts) is
# run until the file grows, which dumpcap does in blocks: then the capture
# is surely on.
cn_capture() {
	local ns=$1 ifc=$2 pcap=$3 filt=$4 i s0
	shift 4
	# `timeout` itself in the background: it passes our SIGINT on to dumpcap
	timeout -k 5 60 ip netns exec "$ns" dumpcap -q -i "$ifc" -w "$pcap" -f "$filt" \
		2>"$pcap.tshark" &
	CN_TS=$!
	for ((i = 0; i < 100; i++)); do
		[[ -s $pcap ]] && break
		sleep 0.1
	done
	s0=$(stat -c %s "$pcap" 2>/dev/null) || fail "dumpcap did not start on $ifc"
	for ((i = 0; i < 100; i++)); do
		"$@" >/dev/null 2>&1
		[[ $(stat -c %s "$pcap") -gt $s0 ]] && return 0
		sleep 0.1
	done
	fail "the capture on $ifc did not start"
}

# cn_capture_stop: the last packets in, then dumpcap stopped and its file complete.
cn_capture_stop() {
	sleep 0.5
	kill -INT "$CN_TS"
	wait "$CN_TS"
}

# cn_three_pings MODE ARGS...: three `tapir ping ARGS` at once in the
# scanner's namespace -- a as nobody (ICMP datagram sockets), b with MODE
# ("" or --raw), c with --raw -- into $WORK/{a,b,c}.json; each must exit 1
cn_three_pings() {
	local mode=$1 p rc A B C
	shift
	NSX_TIMEOUT=60 sx setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$TAPIR" ping "$@" >"$WORK/a.json" 2>"$WORK/a.err" &
	A=$!
	# shellcheck disable=SC2086 # MODE: no word, or one
	NSX_TIMEOUT=60 sx "$TAPIR" ping $mode "$@" >"$WORK/b.json" 2>"$WORK/b.err" &
	B=$!
	NSX_TIMEOUT=60 sx "$TAPIR" ping --raw "$@" >"$WORK/c.json" 2>"$WORK/c.err" &
	C=$!
	for p in A B C; do
		wait "${!p}"
		rc=$?
		[[ $rc -eq 1 ]] || fail "tapir ping $p: exit $rc, not 1 (some hosts dead): $(cat "$WORK/${p,,}.err")"
	done
}

# cn_port_costs WHAT PCAP SEL PORT:N...: in PCAP, exactly N frames match
# "SEL && tcp.port == PORT" for each PORT:N; else the port's frames are
# shown and WHAT fails.
cn_port_costs() {
	local what=$1 pcap=$2 sel=$3 p want got filters=() counts i=0
	shift 3
	for p in "$@"; do filters+=("$sel && tcp.port == ${p%%:*}"); done
	mapfile -t counts < <(pcap_counts "$pcap" "${filters[@]}") # one tshark pass
	[[ ${#counts[@]} -eq $# ]] || fail "$what: cannot count the ports' frames in $pcap"
	for p in "$@"; do
		want=${p#*:}
		p=${p%%:*}
		got=${counts[i++]}
		[[ $got -eq $want ]] || {
			tsh -r "$pcap" -Y "tcp.port == $p" >&2
			fail "$what: port $p cost $got packets, not $want"
		}
	done
}

# expect_error WHAT PATTERN ARGS...: `tapir check ARGS` in the scanner's
# namespace exits 2 with one `tapir:` line matching PATTERN and no output.
expect_error() {
	local what=$1 pat=$2 rc err
	shift 2
	NSX_TIMEOUT=10 sx "$TAPIR" check "$@" >"$WORK/eout" 2>"$WORK/eerr"
	rc=$?
	err=$(cat "$WORK/eerr")
	[[ $rc -eq 2 && ! -s $WORK/eout && $(wc -l <"$WORK/eerr") -eq 1 && $err == tapir:* ]] ||
		fail "$what: exit $rc, stderr '$err'"
	grep -Eq -- "$pat" <<<"$err" || fail "$what: '$err' does not match /$pat/"
	log "$what -> $err"
}

# cn_run_check NAME [WRAPPER...] -- ARGS: `WRAPPER tapir check ARGS` in the
# scanner's namespace, its output in $WORK/NAME.out; it must exit 1 (some
# ports closed).
cn_run_check() {
	local name=$1 rc
	shift
	local wrap=()
	while [[ $1 != -- ]]; do wrap+=("$1"); shift; done
	shift
	log "$name: tapir check $*"
	NSX_TIMEOUT=120 sx "${wrap[@]}" "$TAPIR" check "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
	rc=$?
	[[ -s $WORK/$name.err ]] && log "$name stderr: $(head -c 600 "$WORK/$name.err")"
	[[ $rc -eq 1 ]] || fail "$name: exit $rc, not 1 ($(head -n 3 "$WORK/$name.err"))"
}

# cn_interrupt NAME FILE ARGS...: `tapir check ARGS` in the scanner's
# namespace, SIGINT a second after it started (ARGS keep it going longer:
# a low --rate); it must exit 3 and name and leave the resume file FILE.
# Output in $WORK/NAME.out and $WORK/NAME.err.
cn_interrupt() {
	local name=$1 file=$2 pid rc i pids=""
	shift 2
	sx "$TAPIR" check "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	pid=$!
	# tapir is the scanner namespace's only process
	for ((i = 0; i < 100; i++)); do
		pids=$(ip netns pids "$NS_S")
		[[ -n $pids ]] && break
		sleep 0.1
	done
	[[ -n $pids ]] || fail "$name: tapir check did not start"
	sleep 1
	kill -INT $pids
	wait "$pid"
	rc=$?
	[[ $rc -eq 3 ]] || fail "$name: exit $rc after SIGINT, not 3 ($(cat "$WORK/$name.err"))"
	grep -q "tapir check --resume $file\$" "$WORK/$name.err" || fail "$name: no word of the resume file"
	[[ -s $file ]] || fail "$name: no resume file $file"
	log "$name: interrupted after $(wc -l <"$WORK/$name.out") ports: $(cat "$WORK/$name.err")"
}

# cn_nmap_agrees WHAT XML NMAP_ARGS...: nmap NMAP_ARGS -oX in the scanner's
# namespace; ndiff must find no difference between its XML and XML
# (tapir check -oX of the same targets).
cn_nmap_agrees() {
	local what=$1 xml=$2 rc
	shift 2
	NSX_TIMEOUT=120 sx nmap "$@" -oX "$WORK/nmap.xml" >"$WORK/nmap.out" 2>&1 ||
		fail "nmap $*: $(tail -n 3 "$WORK/nmap.out")"
	ndiff "$WORK/nmap.xml" "$xml" >"$WORK/ndiff.nmap"
	rc=$?
	cat "$WORK/ndiff.nmap" >&2
	[[ $rc -eq 0 ]] || fail "ndiff nmap $*, $what: exit $rc: they differ"
	log "-oX: ndiff finds no difference between nmap $* and $what"
}
