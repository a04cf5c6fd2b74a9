# shellcheck shell=bash
# Shared set-up of the --forward/--outbound tests (run_forward.sh,
# run_outbound.sh): tests/interop/lib.sh's namespace and host, kernel-side
# servers and clients from fwd_peer.py, and the wire checks.
#
#   source "$(dirname "$0")/lib_fwd.sh"
#   fwd_server 127.0.0.1 7000 echo     # fwd_peer.py serve, logging to $WORK/srv7000.log
#   fwd_client 10.0.0.2 7007 greet     # prints fwd_peer.py's one line
#   fwd_wait_log 7000 'eof 3'          # the server logged that line (10 s)
# shellcheck source=tests/interop/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../interop/lib.sh"
RUN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PEER=$RUN_DIR/fwd_peer.py

# _wait_listen PORT: until the namespace's kernel listens on PORT (10 s).
_wait_listen() {
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -n $(nsx ss -Htln "sport = :$1") ]] && return 0
		sleep 0.1
	done
	fail "nothing listens on port $1 in $NS"
}

# fwd_server ADDR PORT MODE: a fwd_peer.py server in the namespace (killed
# with the namespace by lib.sh's cleanup), its lines in $WORK/srvPORT.log.
fwd_server() {
	: >"$WORK/srv$2.log"
	# (in a subshell: no job for bash to report killed at the end)
	(timeout -k 5 "${HOST_GUARD:-300}" ip netns exec "$NS" "$PY" "$PEER" serve "$1" "$2" "$3" \
		"$WORK/srv$2.log" 2>>"$WORK/srv$2.err" &)
	_wait_listen "$2"
}

# fwd_http ADDR PORT DIR: python's http.server on ADDR:PORT serving DIR.
fwd_http() {
	(timeout -k 5 "${HOST_GUARD:-300}" ip netns exec "$NS" "$PY" -m http.server --bind "$1" \
		--directory "$3" "$2" >"$WORK/http$2.log" 2>&1 &)
	_wait_listen "$2"
}

# fwd_client HOST PORT ACTION: fwd_peer.py's client, its one line on stdout.
fwd_client() {
	NSX_TIMEOUT=${NSX_TIMEOUT:-60} nsx "$PY" "$PEER" client "$@"
}

# fwd_expect WHAT WANT HOST PORT ACTION: the client's line must be WANT.
fwd_expect() {
	local what=$1 want=$2 got
	shift 2
	got=$(fwd_client "$@")
	[[ $got == "$want" ]] || fail "$what: the client says '$got', not '$want'"
	log "$what: $got"
}

# fwd_wait_log PORT LINE: the server on PORT logged LINE (within 10 s).
fwd_wait_log() {
	local i
	for ((i = 0; i < 100; i++)); do
		grep -qxF "$2" "$WORK/srv$1.log" && return 0
		sleep 0.1
	done
	fail "the server on port $1 never logged '$2': $(tr '\n' '|' <"$WORK/srv$1.log")"
}

# fwd_sha WHAT HOST PORT MB: MB random megabytes through an echo at
# HOST:PORT: what comes back must be the same bytes (sha256), both ways.
fwd_sha() {
	local f=$WORK/sha.bin want got
	head -c $(($4 * 1048576)) /dev/urandom >"$f"
	want="$(stat -c %s "$f") $(sha256sum "$f" | cut -d' ' -f1)"
	got=$(NSX_TIMEOUT=60 nsx "$PY" "$LIB_DIR/echo_sha.py" "$2" "$3" "$f" 50) ||
		fail "$1: echo_sha.py failed"
	[[ $got == "$want" ]] || fail "$1: got '$got', sent '$want'"
	log "$1: $4 MB there and back, sha256 equal"
}

# fwd_plain_tcp: tshark (lib.sh's tsh) leaves TCP payloads undissected:
# random bytes through an echo are not taken for a protocol that one of
# its heuristics guesses, and then called malformed.
fwd_plain_tcp() {
	mkdir -p "$WORK/wireshark"
	tshark -G heuristic-decodes 2>/dev/null | awk '$1 == "tcp" { print $2 }' \
		>"$WORK/wireshark/disabled_protos"
}
