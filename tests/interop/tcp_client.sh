#!/usr/bin/env bash
# tapir as the TCP CLIENT, kernel servers in the namespace, through the
# example programs (examples/): `fetch` downloads 1 MB and 50 MB from
# python's http.server (sha256 equal, and a 404 is an error); `echo-client`
# round-trips lines through a kernel echo server (socat); `daytime-client`
# reads a kernel daytime server's line, and sees each connect failure as
# the right errno:
#   ECONNREFUSED  a closed kernel port (RST)
#   ETIMEDOUT     nftables drops the SYNs; --syn-retries 2 keeps it short,
#                 and the capture holds exactly 1 + 2 SYNs
#   EHOSTUNREACH  an address on the TAP's subnet that nobody has (ARP fails)
#   ENETUNREACH   an address with no route
# Each run of an example opens the TAP device afresh (and it vanishes when
# the example exits); the kernel's servers listen on 0.0.0.0 meanwhile.
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
EXAMPLES=${EXAMPLES:-$(dirname "$TAPIR")/examples}
require_root socat nft sha256sum
for x in fetch echo-client daytime-client; do
	[[ -x $EXAMPLES/$x ]] || fail "no example program $EXAMPLES/$x (set EXAMPLES)"
done
ns_create
WWW=$WORK/www
mkdir -p "$WWW"
NET=(--tap "$TAP" --addr "$HOST_ADDR/24" --peer-addr "$PEER_ADDR/24")
HTTP_PORT=8080 ECHO_PORT=7777 DAYTIME_PORT=1313 CLOSED_PORT=1314 DROP_PORT=1315

# ex NAME ARGS...: runs an example in the namespace, bounded; its stderr
# goes to $WORK/NAME.err (and is shown when it fails).
ex() {
	local name=$1 rc
	shift
	NSX_TIMEOUT=${EX_TIMEOUT:-60} nsx "$EXAMPLES/$name" "${NET[@]}" "$@" 2>"$WORK/$name.err"
	rc=$?
	[[ $rc -eq 0 ]] || cat "$WORK/$name.err" >&2
	return $rc
}

# wait_listen PORT: until a kernel socket listens on PORT (10 s).
wait_listen() {
	local i
	for ((i = 0; i < 100; i++)); do
		nsx ss -Hltn "sport = :$1" | has . && return 0
		sleep 0.1
	done
	fail "nothing listens on port $1 after 10 s"
}

# ---- the kernel's servers (killed with the namespace) ----
head -c 1048576 /dev/urandom >"$WWW/1m.bin"
head -c $((50 * 1048576)) /dev/urandom >"$WWW/50m.bin"
(cd "$WWW" && exec timeout 170 ip netns exec "$NS" "$PY" -m http.server --bind 0.0.0.0 "$HTTP_PORT" \
	>"$WORK/http.log" 2>&1) &
timeout 170 ip netns exec "$NS" socat "TCP-LISTEN:$ECHO_PORT,fork,reuseaddr" EXEC:cat \
	2>"$WORK/echo.log" &
timeout 170 ip netns exec "$NS" socat "TCP-LISTEN:$DAYTIME_PORT,fork,reuseaddr" \
	SYSTEM:"date -u" 2>"$WORK/daytime.log" &
disown -a # the namespace's clean-up kills them: no "Killed" notices
wait_listen "$HTTP_PORT"
wait_listen "$ECHO_PORT"
wait_listen "$DAYTIME_PORT"

# ---- fetch: 1 MB (captured: no malformed frame, no bad checksum), 50 MB ----
ex fetch --pcap "$WORK/fetch.pcap" -o "$WORK/1m.out" "http://$PEER_ADDR:$HTTP_PORT/1m.bin" ||
	fail "fetch 1m.bin failed"
cmp -s "$WWW/1m.bin" "$WORK/1m.out" || fail "fetch 1m.bin: the file differs"
log "fetch 1 MB: sha256 equal; $(cat "$WORK/fetch.err")"
mac=$(tsh -r "$WORK/fetch.pcap" -Y "tcp.dstport == $HTTP_PORT && tcp.flags.syn == 1" -T fields \
	-e eth.src | head -n 1) || exit 1
[[ -n $mac ]] || fail "no SYN from tapir in the fetch capture"
pcap_assert_clean "$WORK/fetch.pcap" "$mac"
ex fetch -o "$WORK/50m.out" "http://$PEER_ADDR:$HTTP_PORT/50m.bin" || fail "fetch 50m.bin failed"
[[ $(sha256sum <"$WORK/50m.out") == $(sha256sum <"$WWW/50m.bin") ]] ||
	fail "fetch 50m.bin: sha256 differs ($(stat -c %s "$WORK/50m.out") bytes)"
log "fetch 50 MB: sha256 equal; $(cat "$WORK/fetch.err")"
rm -f "$WORK/50m.out"
if ex fetch -o "$WORK/404.out" "http://$PEER_ADDR:$HTTP_PORT/nope" 2>/dev/null; then
	fail "fetch of a missing file succeeded"
fi
grep -q '404' "$WORK/fetch.err" || fail "fetch of a missing file: no 404 in '$(cat "$WORK/fetch.err")'"
log "fetch 404: $(cat "$WORK/fetch.err")"

# ---- echo-client against socat ----
{
	for i in $(seq 1 200); do echo "line $i: $(head -c 30 /dev/urandom | base64)"; done
	head -c 20000 /dev/urandom | base64 -w 0
	echo
	printf 'last line without a newline'
} >"$WORK/echo.in"
ex echo-client "$PEER_ADDR" "$ECHO_PORT" <"$WORK/echo.in" >"$WORK/echo.out" ||
	fail "echo-client failed"
cmp -s "$WORK/echo.in" "$WORK/echo.out" || fail "echo-client: the output differs from the input"
log "echo-client: $(wc -l <"$WORK/echo.in") lines ($(stat -c %s "$WORK/echo.in") bytes) back byte-exact"

# ---- daytime-client ----
out=$(ex daytime-client --port "$DAYTIME_PORT" "$PEER_ADDR") || fail "daytime-client failed"
[[ $out =~ ^[A-Z][a-z]{2}\ [A-Z][a-z]{2}\ [\ 0-9][0-9]\ [0-9:]{8}\ UTC\ [0-9]{4}$ ]] ||
	fail "daytime-client printed '$out'"
log "daytime-client: $out"

# expect_errno ERRNO DESCRIPTION ARGS...: daytime-client fails with ERRNO.
expect_errno() {
	local want=$1 what=$2 t0 t1 rc
	shift 2
	t0=$(date +%s.%N)
	ex daytime-client "$@" >/dev/null 2>&1
	rc=$?
	t1=$(date +%s.%N)
	[[ $rc -eq 1 ]] || fail "$what: exit status $rc, not 1 ($(cat "$WORK/daytime-client.err"))"
	grep -q "^tapir: daytime-client: connect to .*: $want (" "$WORK/daytime-client.err" ||
		fail "$what: '$(cat "$WORK/daytime-client.err")', not $want"
	log "$what: $want after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
}
expect_errno ECONNREFUSED "closed kernel port $CLOSED_PORT" --port "$CLOSED_PORT" "$PEER_ADDR"

# the kernel drops every SYN to DROP_PORT: only retransmissions, then ETIMEDOUT
nsx nft -f - <<EOF || fail "nft: cannot add the drop rule"
table ip tapir_test {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport $DROP_PORT drop
	}
}
EOF
expect_errno ETIMEDOUT "SYNs dropped by nftables (--syn-retries 2)" \
	--syn-retries 2 --pcap "$WORK/timeout.pcap" --port "$DROP_PORT" "$PEER_ADDR"
must_count "SYNs to the dropping port (1 + 2 retries)" "$WORK/timeout.pcap" \
	"tcp.dstport == $DROP_PORT && tcp.flags.syn == 1 && tcp.flags.ack == 0" -eq 3
must_count "segments back from the dropping port" "$WORK/timeout.pcap" "tcp.srcport == $DROP_PORT" -eq 0
log "ETIMEDOUT capture: 3 SYNs (1 + 2 retransmissions), no answer"

expect_errno EHOSTUNREACH "10.0.0.99, on the subnet, nobody there" "10.0.0.99"
expect_errno ENETUNREACH "192.0.2.1, no route (no --gateway)" "192.0.2.1"
pass
