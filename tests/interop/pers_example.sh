#!/usr/bin/env bash
# The worked example of docs/hacking.md, tools/personalities/example_ttl.c:
# ttl=7 makes every IPv4 packet tapir sends leave with TTL 7 (ping shows
# ttl=7; on the wire every packet from tapir has ip.ttl 7, checksums
# good), and the code in the document is exactly the file.
# shellcheck source=tests/interop/pers_lib.sh
source "$(dirname "$0")/pers_lib.sh"
require_root ping
ns_create

awk '/<!-- example_ttl.c begin -->/ { on = 1; next } /<!-- example_ttl.c end -->/ { on = 0 }
	on && !/^```/' "$REPO_DIR/docs/hacking.md" >"$WORK/doc.c"
diff -u "$REPO_DIR/tools/personalities/example_ttl.c" "$WORK/doc.c" >"$WORK/doc.diff" ||
	fail "docs/hacking.md's example differs from tools/personalities/example_ttl.c: $(cat "$WORK/doc.diff")"
[[ $(wc -l <"$WORK/doc.c") -lt 50 ]] || fail "the example is not under 50 lines"
log "docs/hacking.md shows exactly tools/personalities/example_ttl.c ($(wc -l <"$WORK/doc.c") lines)"

PCAP=$WORK/ttl.pcap
pers_host_start --pcap "$PCAP" --personality ttl=7
nsx ping -c 3 -i 0.2 -W 2 "$HOST_ADDR" >"$WORK/ping.out" || fail "ping: $(cat "$WORK/ping.out")"
[[ $(grep -c 'ttl=7 ' "$WORK/ping.out") -eq 3 ]] || fail "ping: replies without ttl=7: $(cat "$WORK/ping.out")"
log "ping: 3 replies with ttl=7"
host_stop
must_count "packets from tapir" "$PCAP" "ip.src == $HOST_ADDR" -ge 3
must_count "packets from tapir with another TTL" "$PCAP" "ip.src == $HOST_ADDR && ip.ttl != 7" -eq 0
pcap_assert_clean "$PCAP" "$HOST_MAC"
pass
