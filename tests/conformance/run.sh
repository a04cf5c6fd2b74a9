#!/bin/sh
# Runs every IPv4 script of FreeBSD's packetdrill TCP suite through
# `tapir drill` and compares the results with expected.txt, the list of
# scripts expected to FAIL or SKIP (each with its reason).  Fails when a
# script not listed fails, or a listed one now has another result (so the
# list stays true).  Exit 77 (skipped) when the suite is not there.
#
# TAPIR: the tapir binary (default build/tapir).  SUITE: the suite's
# directory (default ../shared/conformance/freebsd-tcp-testsuite from the
# repository root).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tapir=${TAPIR:-$root/build/tapir}
case $tapir in /*) ;; *) tapir=$PWD/$tapir ;; esac
suite=${SUITE:-$root/../shared/conformance/freebsd-tcp-testsuite}
expected=$here/expected.txt

if [ ! -d "$suite" ]; then
	echo "conformance: no suite at $suite: skipped"
	exit 77
fi
if [ ! -x "$tapir" ]; then
	echo "conformance: no tapir binary at $tapir" >&2
	exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# IPv4 scripts only: IPv6 waits for tapir's IPv6.
(cd "$suite" && find . -name '*.pkt' | sed 's|^\./||' | sort |
	while read -r f; do
		grep -q -- '--ip_version=ipv6' "$f" || echo "$f"
	done) >"$tmp/scripts"

# Scripts encode FreeBSD's buffer sizes and option choices: compare windows
# and options only as far as the RFCs fix them (see docs/drill.md).
(cd "$suite" && xargs "$tapir" drill --lenient win,options <"$tmp/scripts") >"$tmp/out"
# tapir drill exits 1 when a script fails; only a missing summary (a crash,
# a usage error) is the runner's own failure
if ! tail -1 "$tmp/out" | grep -q '^[0-9]* passed, [0-9]* failed, [0-9]* skipped$'; then
	echo "conformance: tapir drill did not finish" >&2
	tail -5 "$tmp/out" >&2
	exit 1
fi

# "STATUS path" of every script, and of every expected.txt entry
sed -n 's/^\(PASS\|FAIL\|SKIP\) \([^: ]*\).*/\2 \1/p' "$tmp/out" | sort >"$tmp/got"
grep -v '^#' "$expected" | awk 'NF >= 2 { print $2, $1 }' | sort >"$tmp/want"

bad=0
while read -r path status; do
	want=$(awk -v p="$path" '$1 == p { print $2 }' "$tmp/want")
	if [ "$status" = PASS ] && [ -n "$want" ]; then
		echo "NOW PASSES (remove from expected.txt): $path"
		bad=1
	elif [ "$status" != PASS ] && [ "$status" != "$want" ]; then
		grep -F " $path" "$tmp/out" | head -1 | sed 's/^/UNEXPECTED: /'
		[ -n "$want" ] && echo "  (expected.txt says $want)"
		bad=1
	fi
done <"$tmp/got"
# entries for scripts that no longer exist
awk '{ print $1 }' "$tmp/want" | while read -r path; do
	grep -q "^$path " "$tmp/got" || echo "STALE entry in expected.txt: $path"
done | tee "$tmp/stale"
[ -s "$tmp/stale" ] && bad=1

echo "conformance: $(tail -1 "$tmp/out") of $(wc -l <"$tmp/scripts") IPv4 scripts"
for g in snd-syn state-event-engine rcv-data-segments rcv-icmp socket-api snippets; do
	printf '  %-20s %s passed, %s failed, %s skipped\n' "$g" \
		"$(grep -c "^PASS $g/" "$tmp/out")" "$(grep -c "^FAIL $g/" "$tmp/out")" \
		"$(grep -c "^SKIP $g/" "$tmp/out")"
done
if [ $bad -ne 0 ]; then
	echo "conformance: results differ from tests/conformance/expected.txt"
	exit 1
fi
echo "conformance: results match expected.txt"
exit 0
