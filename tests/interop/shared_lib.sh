# shellcheck shell=bash
# Shared set-up of the --shared-addr tests (shared_addr.sh, shared_addr6.sh):
# lib.sh's namespace A ($NS) and a second one B ($NSB) joined by a veth pair
# vA <-> vB, and tapir host --iface vA --shared-addr in A.
#
#   source "$(dirname "$0")/shared_lib.sh"
#   sh_pair                      # A and B, vA and vB up, no addresses yet
#   sh_pair4 A_ADDR B_ADDR       # the same, with IPv4 addresses (/24) on vA and vB
#   nsb CMD...                   # CMD in B, under timeout
#   sh_rules0                    # remembers A's ruleset (ruleset_as_before)
#   shared_start ARGS...         # tapir host --iface vA --shared-addr ARGS; HOST_*
#   stop_with SIG                # stops it, waits until it has gone
#   ruleset_as_before WHAT       # A's ruleset is as sh_rules0 saw it
# shellcheck source=tests/interop/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NSB=""

nsb() { timeout -k 5 "${NSX_TIMEOUT:-30}" ip netns exec "$NSB" "$@"; }

# sh_pair: ns_create (NS_IPV6 as lib.sh reads it) and B beside it, IPv6 in B
# as in A; vA and vB up.
sh_pair() {
	ns_create
	NSB="$NS-b"
	ns_more "$NSB"
	if [[ -z ${NS_IPV6:-} ]]; then
		nsb sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	else # the kernels neither solicit nor take router advertisements
		nsx sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 &&
			nsb sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 ||
			fail "accept_ra"
	fi
	ip link add vA netns "$NS" type veth peer name vB netns "$NSB" || fail "cannot create the veth pair"
	nsx ip link set vA up && nsb ip link set vB up && nsb ip link set lo up || fail "vA, vB up"
}

# sh_pair4 A B: sh_pair, then A/24 on vA and B/24 on vB
sh_pair4() {
	sh_pair
	nsx ip addr add "$1/24" dev vA || fail "vA"
	nsb ip addr add "$2/24" dev vB || fail "vB"
}

sh_rules0() { RULES0=$(nsx nft list ruleset) || fail "nft list ruleset"; }

# shared_start ARGS...: tapir host --iface vA --shared-addr in A; sets HOST_*.
shared_start() {
	local i
	HOST_N=$((HOST_N + 1))
	HOST_OUT=$WORK/host$HOST_N.out
	HOST_ERR=$WORK/host$HOST_N.err
	timeout -s TERM -k 5 120 ip netns exec "$NS" "$TAPIR" host --iface vA --shared-addr "$@" \
		>"$HOST_OUT" 2>"$HOST_ERR" &
	HOST_WRAP=$!
	for ((i = 0; i < 100; i++)); do
		grep -q '^ready ' "$HOST_OUT" 2>/dev/null && break
		kill -0 "$HOST_WRAP" 2>/dev/null || { cat "$HOST_ERR" >&2; fail "tapir host exited before 'ready'"; }
		sleep 0.1
	done
	grep -q '^ready ' "$HOST_OUT" || fail "no ready line"
	HOST_PID=$(pgrep -P "$HOST_WRAP" | head -n 1)
	[[ -n $HOST_PID ]] || fail "cannot find the tapir process"
	log "host up: $(grep -m1 '^ready ' "$HOST_OUT")"
}
# stop_with SIG: stops tapir; waits until it has gone
stop_with() {
	kill -"$1" "$HOST_PID"
	_wait_gone "$HOST_WRAP" 100 || fail "tapir did not exit on SIG$1"
	wait "$HOST_WRAP" 2>/dev/null
	HOST_PID=""
}
ruleset_as_before() {
	[[ "$(nsx nft list ruleset)" == "$RULES0" ]] || fail "$1: the ruleset differs from before: $(nsx nft list ruleset)"
}

# sh_cap_start NSX|NSB IF PCAP [DUMPCAP ARGS...]: a capture in A (nsx) or B
# (nsb), on once its file has begun; sh_cap_stop ends it with the last frames.
sh_cap_start() {
	local who=$1 ifc=$2 pcap=$3 i
	shift 3
	$who dumpcap -q -i "$ifc" "$@" -w "$pcap" >/dev/null 2>&1 &
	CAP=$!
	for ((i = 0; i < 50; i++)); do [[ -s $pcap ]] && break; sleep 0.1; done
}
sh_cap_stop() {
	sleep 0.5
	kill "$CAP"
	wait "$CAP" 2>/dev/null
}

# sh_run_fetch URL FILE SRC FIELD: tapir run --iface vA --shared-addr
# --personality ttl=44 -- curl URL must fetch FILE byte-exact, leave the
# ruleset as it was, open one connection whose SYN (SRC: "ip.src == A" or
# "ipv6.src == A") has 44 in FIELD (ip.ttl, ipv6.hlim) and a port of
# tapir's range, and draw no RST from A.
sh_run_fetch() {
	local url=$1 file=$2 src=$3 field=$4 syn
	sh_cap_start nsb vB "$WORK/run.pcap"
	NSX_TIMEOUT=60 nsx "$TAPIR" run --iface vA --shared-addr --personality ttl=44 -- \
		curl -gsf --max-time 30 -o "$WORK/run.bin" "$url" 2>"$WORK/run.err" ||
		fail "tapir run curl $url: $(cat "$WORK/run.err")"
	sh_cap_stop
	cmp -s "$WORK/run.bin" "$file" || fail "tapir run: the file differs"
	ruleset_as_before "after tapir run"
	syn=$(tshark -n -r "$WORK/run.pcap" -Y "$src && tcp.flags.syn==1 && tcp.flags.ack==0" -T fields -e "$field" -e tcp.srcport | sort -u)
	[[ $(wc -l <<<"$syn") -eq 1 && $syn =~ ^44[[:space:]]+6[1-5][0-9]{3}$ ]] ||
		fail "tapir run: SYN(s) '$syn' (want one, $field 44, a port of 61000-65535)"
	must_count "tapir run: RSTs from A" "$WORK/run.pcap" "$src && tcp.flags.reset==1" -eq 0
	log "tapir run --shared-addr: curl fetched $url byte-exact over tapir's TCP ($syn)"
}

# sh_http_checks A B: from B, tapir's $WORK/tapir/t.bin on A's port 80
# byte-exact and the kernel's k.txt on A's port 8000; from A, the kernel's
# own client fetching B's b.txt on 8080.  A and B as a URL names them
# (10.78.0.1, [fd00:78::1]).
sh_http_checks() {
	nsb curl -gsf -o "$WORK/got.bin" "http://$1/t.bin" || fail "curl to tapir's port 80 of $1"
	cmp -s "$WORK/got.bin" "$WORK/tapir/t.bin" || fail "tapir's file from $1 differs"
	[[ $(nsb curl -gsf "http://$1:8000/k.txt") == "the kernel of A" ]] || fail "the kernel's server on $1:8000"
	[[ $(nsx curl -gsf "http://$2:8080/b.txt") == "the kernel of B" ]] || fail "A's kernel's own client to $2:8080"
}
