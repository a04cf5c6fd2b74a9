# shellcheck shell=bash
# Shared by the personality tests (pers_*.sh): lib.sh, plus what they all
# use -- the control socket and reading a capture as rows of fields.
# shellcheck source=tests/interop/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CTL="" # the host's control socket, once pers_host_start has run
WWW="" # what --serve http=$WWW serves, once www_create has run

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

# wait_stat NAME MIN TRIES: polls the counter NAME every 0.1 s, at most
# TRIES times, until it reaches MIN; prints its last value.
wait_stat() {
	local i v
	for ((i = 0; i < $3; i++)); do
		v=$(stat_of "$1")
		[[ $v -ge $2 ]] && break
		sleep 0.1
	done
	stat_of "$1"
}

# www_create [NAME BYTES]...: the directory $WORK/www, in WWW, with a file
# of BYTES random bytes for each NAME.
www_create() {
	WWW=$WORK/www
	mkdir -p "$WWW"
	while (($# >= 2)); do
		head -c "$2" /dev/urandom >"$WWW/$1"
		shift 2
	done
}

# www_get NAME [SECS]: curl fetches NAME from tapir's HTTP service within
# SECS (default 30); the body must be $WWW/NAME byte for byte.
www_get() {
	local secs=${2:-30}
	NSX_TIMEOUT=$secs nsx curl -sS --max-time "$secs" -o "$WORK/$1.out" "http://$HOST_ADDR/$1" ||
		fail "curl /$1 failed"
	cmp -s "$WORK/$1.out" "$WWW/$1" || fail "/$1: the body differs"
	log "curl /$1: byte-exact"
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

# challenge_ack_wire PCAP FILTER SRCFIELD KERNEL TAPIR WHAT: the capture of
# challenge-ack-only, judged: every SYN from KERNEL answered by TAPIR with a
# bare ACK whose number is not SYN+1, no SYN from tapir, never established,
# the SYN retransmitted and the kernel's RST seen.  SRCFIELD: ip.src or
# ipv6.src.  Logs one line naming WHAT.
challenge_ack_wire() {
	local syns acks rsts bad
	rows "$1" "$2" "$3" tcp.flags.syn tcp.flags.ack tcp.flags.reset tcp.seq tcp.ack >"$WORK/rows"
	awk -v k="$4" -v t="$5" '
		$1 == k && $2 == 1 && $3 == 0 { if (want) bad = bad " unanswered SYN"; want = 1; syn = $5; syns++; next }
		$1 == t && $2 == 1 { bad = bad " tapir sent a SYN"; next }
		$1 == t && want {
			want = 0
			if ($3 != 1 || $4 != 0) bad = bad " answer not a bare ACK"
			if ($6 == (syn + 1) % 4294967296) bad = bad " ACK number is SYN+1"
			acks++
		}
		$1 == k && $2 == 0 && $3 == 1 && $4 == 0 { bad = bad " kernel sent a plain ACK (established)" }
		$1 == k && $4 == 1 { rsts++ }
		END {
			if (want) bad = bad " last SYN unanswered"
			printf "%d %d %d%s\n", syns, acks, rsts, bad
		}' "$WORK/rows" >"$WORK/verdict"
	read -r syns acks rsts bad <"$WORK/verdict"
	[[ -z $bad ]] || fail "wire: $bad (rows in $WORK/rows)"
	[[ $syns -ge 2 ]] || fail "only $syns SYN(s) from the kernel: no retransmission seen"
	[[ $rsts -ge 1 ]] || fail "the kernel sent no RST in answer to the wrong ACK"
	log "wire: $syns $6 SYNs, each answered by a bare wrong ACK ($acks); kernel RSTs: $rsts"
}
