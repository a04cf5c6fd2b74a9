# shellcheck shell=bash
# Shared by the attack suite (tests/interop/attack_*.sh): each test starts a
# tapir host in a namespace of its own (pers_lib.sh: lib.sh + a control
# socket), runs one attack script (attack_*.py, scapy, /usr/bin/python3)
# inside the namespace, and then checks that the host is still alive,
# that its counters still add up and that it exits cleanly.
#
#   source "$(dirname "$0")/attack_lib.sh"
#   attack_setup                 # root, scapy, namespace, $WWW with test files
#   attack_host [ARGS...]        # host with --control (and http=$WWW by default)
#   attack_run attack_x.py [ARGS...]   # the attack; fails the test if it fails
#   attack_done                  # alive, counters consistent, SIGTERM, exit 0
#
# The python side (attack_lib.py) reads IFACE HOST_MAC HOST_IP PEER_IP
# TAPIR_PID TAPIR CTL WWW from the environment.  It prints "rss_kib ..."
# and "legit ..." lines; attack_run repeats them in the test's log.
# shellcheck source=tests/interop/pers_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/pers_lib.sh"

WWW=""

attack_setup() {
	require_root curl
	"$PY" -c 'import scapy.all, socket; socket.AF_PACKET' 2>/dev/null ||
		skip "$PY has no scapy (python3-scapy) or no AF_PACKET"
	ns_create
	WWW=$WORK/www
	mkdir -p "$WWW"
	# the files the raw HTTP peers fetch: a pattern any offset can be checked
	# against (attack_lib.pattern)
	"$PY" - "$WWW" <<-'EOF' || fail "cannot write the test files"
		import sys
		n = 2 * 1048576
		b = bytes(((i * 7) + (i >> 8)) % 251 for i in range(n))
		open(sys.argv[1] + "/2m.bin", "wb").write(b)
		open(sys.argv[1] + "/100k.bin", "wb").write(b[:102400])
		open(sys.argv[1] + "/small.txt", "wb").write(b"tapir under attack\n")
	EOF
}

# attack_host ARGS...: the host, with a control socket; the services are
# echo, discard, daytime, chargen and http=$WWW unless ARGS has --serve.
attack_host() {
	local a serve=1
	for a in "$@"; do
		[[ $a == --serve ]] && serve=0
	done
	# --no-tso: the attacker reads tapir's segments from the kernel's side
	# of the TAP, before any segmentation offload would cut them
	if ((serve)); then
		pers_host_start --no-tso --serve "echo,discard,daytime,chargen,http=$WWW" "$@"
	else
		pers_host_start --no-tso "$@"
	fi
}

# attack_run SCRIPT ARGS...: runs the attack inside the namespace, bounded
# by $ATTACK_TIMEOUT seconds (120); its output in $WORK/SCRIPT.out.
attack_run() {
	local script=$1 out rc
	shift
	out=$WORK/$(basename "$script" .py).out
	log "running $script $*"
	NSX_TIMEOUT=${ATTACK_TIMEOUT:-120} nsx env IFACE="$TAP" HOST_MAC="$HOST_MAC" \
		HOST_IP="$HOST_ADDR" PEER_IP="$PEER_ADDR" TAPIR_PID="$HOST_PID" TAPIR="$TAPIR" \
		CTL="$CTL" WWW="$WWW" PYTHONPATH="$LIB_DIR" PYTHONUNBUFFERED=1 \
		"$PY" "$LIB_DIR/$script" "$@" >"$out" 2>&1
	rc=$?
	sed 's/^/    /' "$out"
	host_alive
	[[ $rc -eq 0 ]] || fail "$script failed (exit $rc; output above, in $out)"
}

# attack_done: the host still runs, its counters add up (rx_frames ==
# delivered + dropped), and it exits 0 on SIGTERM.
attack_done() {
	host_alive
	host_counters after
	host_stop
	pass
}
