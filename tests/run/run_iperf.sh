#!/usr/bin/env bash
# iperf3 under `tapir run`, against the kernel's iperf3 in the namespace,
# 2 s a test, both directions (-R), both ways round: tapir's iperf3 as
# the one-off server (-s -1) of a kernel client, and tapir's iperf3 as the
# client of a one-off kernel server.  Both sides exit 0; in their JSON
# (-J; no "error") the receiver counted more than 0 bytes, and its own count is the
# one the other side reports (iperf3 exchanges results at the end), as is
# the sender's; tapir's iperf3 as the sender reports the cwnd and RTT it
# read with TCP_INFO.  No throughput threshold: the figures are logged.
source "$(dirname "$0")/lib_run.sh"
require_run iperf3 python3

ns_create

# sums JSON: "SENT RECEIVED BPS ERROR" of end.sum_sent/sum_received
sums() {
	/usr/bin/python3 - "$1" <<'PY'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
except Exception as e:
    print("- - - unreadable:%s" % type(e).__name__); sys.exit()
e = j.get("end", {})
s, r = e.get("sum_sent", {}), e.get("sum_received", {})
print(s.get("bytes", "-"), r.get("bytes", "-"), int(r.get("bits_per_second", 0)),
      (j.get("error") or "none").replace(" ", "_"))
PY
}

# check NAME CLIENT_JSON SERVER_JSON REVERSE: the sender's count and the
# receiver's are the same in both reports, the receiver's above 0
check() {
	local name=$1 rev=$4 c s
	read -r -a c <<<"$(sums "$2")"
	read -r -a s <<<"$(sums "$3")"
	[[ ${c[3]} = none ]] || fail "$name: the client's JSON says error ${c[3]}"
	[[ ${s[3]} = none ]] || fail "$name: the server's JSON says error ${s[3]}"
	# the client's JSON holds both counts; the server's only its own side's
	# (the sender's count when reverse, the receiver's otherwise)
	local sent=${c[0]} recv=${c[1]} own
	if [[ $rev = 1 ]]; then own=${s[0]}; else own=${s[1]}; fi
	[[ $recv =~ ^[0-9]+$ && $sent =~ ^[0-9]+$ ]] || fail "$name: no byte counts in the client's JSON (${c[*]})"
	[[ $recv -gt 0 ]] || fail "$name: the receiver got 0 bytes"
	if [[ $rev = 1 ]]; then
		[[ $own = "$sent" ]] || fail "$name: the server sent $own bytes, the client's JSON says $sent"
	else
		[[ $own = "$recv" ]] || fail "$name: the server received $own bytes, the client's JSON says $recv"
	fi
	[[ $recv -le $sent ]] || fail "$name: $recv bytes received, more than the $sent sent"
	log "$name: sent $sent, received $recv bytes, $((c[2] / 1000000)) Mbit/s"
}

# ---- iperf3 -s under tapir run, kernel clients ----
port=5201
for rev in 0 1; do
	name="tapir server, kernel client$([[ $rev = 1 ]] && echo ' -R')"
	flags=()
	[[ $rev = 1 ]] && flags=(-R)
	NSX_TIMEOUT=60 run_bg "srv$rev" "${RUN_LINK[@]}" -- iperf3 -s -1 -J -p "$port"
	RUN_PID=$!
	# unreachable until tapir run's TAP is up, refused until iperf3
	# listens: those connects never reach iperf3 (iperf 3.12 exits 0 with
	# -J on errors: the JSON's "error" says)
	for _ in $(seq 100); do
		nsx iperf3 -c "$HOST_ADDR" -p "$port" -t 2 -J "${flags[@]}" >"$WORK/cli$rev.json" 2>"$WORK/cli$rev.err"
		rc=$?
		grep -Eq '"error":.*(Connection refused|Network is unreachable|No route to host)' \
			"$WORK/cli$rev.json" || break
		sleep 0.1
	done
	[[ $rc -eq 0 ]] || fail "$name: the kernel's iperf3 exit $rc ($(sums "$WORK/cli$rev.json"))"
	wait "$RUN_PID" || fail "$name: iperf3 -s under tapir run exit $? ($(tail -3 "$WORK/srv$rev.err"))"
	check "$name" "$WORK/cli$rev.json" "$WORK/srv$rev.out" "$rev"
	port=$((port + 1))
done

# ---- iperf3 -c under tapir run, kernel servers ----
for rev in 0 1; do
	name="tapir client, kernel server$([[ $rev = 1 ]] && echo ' -R')"
	flags=()
	[[ $rev = 1 ]] && flags=(-R)
	ip netns exec "$NS" timeout 60 iperf3 -s -1 -J -p "$port" \
		>"$WORK/ksrv$rev.json" 2>"$WORK/ksrv$rev.err" &
	KSRV=$!
	for _ in $(seq 100); do
		nsx ss -Htln | has ":$port " && break
		sleep 0.1
	done
	nsx ss -Htln | has ":$port " || fail "$name: the kernel's iperf3 does not listen"
	run_fg "${RUN_LINK[@]}" -- iperf3 -c "$PEER_ADDR" -p "$port" -t 2 -J "${flags[@]}" \
		>"$WORK/tcli$rev.json" 2>"$WORK/tcli$rev.err" ||
		fail "$name: iperf3 -c under tapir run exit $? ($(sums "$WORK/tcli$rev.json"); $(tail -3 "$WORK/tcli$rev.err"))"
	wait "$KSRV" || fail "$name: the kernel's iperf3 -s exit $? ($(sums "$WORK/ksrv$rev.json"))"
	check "$name" "$WORK/tcli$rev.json" "$WORK/ksrv$rev.json" "$rev"
	port=$((port + 1))
done

# iperf3 as the sender reads TCP_INFO (Linux's struct tcp_info, which the
# gate fills from tapir's connection): its cwnd and RTT figures are there
tcpinfo=$(/usr/bin/python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["end"]["streams"][0]["sender"]
print(s.get("max_snd_cwnd", 0), s.get("mean_rtt", 0))' "$WORK/tcli0.json") ||
	fail "tapir client: no sender stream in its JSON"
read -r cwnd rtt <<<"$tcpinfo"
[[ $cwnd -gt 0 && $rtt -gt 0 ]] || fail "TCP_INFO under tapir run: max_snd_cwnd $cwnd, mean_rtt $rtt"
log "TCP_INFO as iperf3 read it under tapir run: max_snd_cwnd $cwnd bytes, mean_rtt $rtt us"
pass
