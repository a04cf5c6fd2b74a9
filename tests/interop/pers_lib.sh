# shellcheck shell=bash
# Shared by the personality tests (pers_*.sh): lib.sh, plus what they all
# use -- the control socket and reading a capture as rows of fields.
# shellcheck source=tests/interop/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CTL="" # the host's control socket, once pers_host_start has run

# pers_host_start ARGS...: host_start with a control socket.
pers_host_start() {
	CTL=$WORK/ctl.$((HOST_N + 1))
	host_start --control "$CTL" "$@"
}

# tctl CMD ARGS...: `tapir CMD --control $CTL ARGS`, bounded.
tctl() {
	local cmd=$1
	shift
	timeout 15 "$TAPIR" "$cmd" --control "$CTL" "$@"
}

# stat_of NAME: a counter of the running host, through `tapir stats`.
stat_of() {
	tctl stats --all | awk -v n="$1" '$1 == n { v = $2 } END { print v + 0 }'
}

# rows PCAP FILTER FIELDS...: one line per matching frame, the fields
# separated by spaces; absolute sequence numbers.
rows() {
	local pcap=$1 filter=$2 args=() f
	shift 2
	for f in "$@"; do
		args+=(-e "$f")
	done
	tsh -r "$pcap" -o tcp.relative_sequence_numbers:FALSE -Y "$filter" -T fields \
		-E separator=' ' "${args[@]}"
}

# must_count WHAT PCAP FILTER OP N: fails unless the number of frames
# matching FILTER compares with N by OP (-eq, -ge, ...).
must_count() {
	local what=$1 n
	n=$(pcap_count "$2" "$3") # (grep -c: status 1 when none)
	[[ $n =~ ^[0-9]+$ ]] || fail "$what: cannot count '$3' in $2"
	# shellcheck disable=SC2086 # OP is a test operator
	[ "$n" $4 "$5" ] || fail "$what: $n frames match '$3', expected $4 $5"
	log "$what: $n frames ($3)"
}
