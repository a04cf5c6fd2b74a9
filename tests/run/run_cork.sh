#!/usr/bin/env bash
# TCP_CORK under `tapir run` as on Linux (tcp(7)): corked data that is no
# full segment leaves after the 200 ms ceiling even though the program
# never uncorks.  A python client corks, writes 40 and 60 bytes and waits
# for the kernel peer's answer to all 100: on the capture they are ONE
# 100-byte segment.  Then 3000 bytes: two full segments and the 3000 - 2 *
# MSS remainder as one segment.  Then, uncorked, 30 bytes sent with
# MSG_MORE and 20 without: one 50-byte segment (tcp(7): MSG_MORE is
# TCP_CORK for one call).
source "$(dirname "$0")/lib_run.sh"
require_run python3
PEER=$LIB_DIR/../run/cork_peer.py

ns_create
ip netns exec "$NS" timeout 60 python3 "$PEER" server 7200 >"$WORK/srv.out" 2>&1 &
for _ in $(seq 100); do grep -q listening "$WORK/srv.out" && break; sleep 0.1; done
run_fg "${RUN_LINK[@]}" --pcap "$WORK/c.pcap" -- python3 "$PEER" client "$PEER_ADDR" 7200 \
	>"$WORK/cli.out" 2>"$WORK/cli.err" || fail "the corked client: exit $? ($(tail -3 "$WORK/cli.err"))"
grep -q answered "$WORK/cli.out" || fail "the client got no answers ($(cat "$WORK/cli.out"))"
tsh -r "$WORK/c.pcap" -Y "ip.src==$HOST_ADDR && tcp.dstport==7200 && tcp.len>0" -T fields -e tcp.len \
	>"$WORK/lens" || exit 1
log "segments from tapir: $(tr '\n' ' ' <"$WORK/lens")"
mss=$(tsh -r "$WORK/c.pcap" -Y "tcp.flags.syn==1 && tcp.flags.ack==1 && tcp.srcport==7200" \
	-T fields -e tcp.options.mss_val | head -1) || exit 1
[[ -n $mss ]] || fail "no MSS in the kernel's SYN,ACK"
want="100 $((mss - 12)) $((mss - 12)) $((3000 - 2 * (mss - 12))) 50"
# (tapir's segments carry timestamps: 12 bytes of options)
got=$(tr '\n' ' ' <"$WORK/lens" | sed 's/ $//')
[[ $got == "$want" ]] || fail "segments '$got', not '$want' (MSS $mss)"
pass
