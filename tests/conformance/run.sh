#!/bin/sh
# Runs FreeBSD's packetdrill TCP suite through `tapir drill`, the IPv4
# scripts and the IPv6 ones (--ip_version=ipv6), twice: under --profile rfc
# (compared with expected.txt and expected-ipv6.txt) and under --profile
# freebsd, FreeBSD's own choices and the scripts' FreeBSD branches
# (expected-freebsd.txt, expected-freebsd-ipv6.txt: only what tapir does
# not implement).  Each list names the scripts expected to FAIL or SKIP,
# each with its reason.  Fails when a script not listed fails, or a
# listed one now has another result (so the lists stay true), or when an
# IPv6 script does not PASS where its IPv4 twin does (twin_check).  Exit 77
# (skipped) when the suite is not there.
#
# `run.sh mapped`: the IPv4 scripts only, under --profile freebsd, with
# --ip_version=ipv4-mapped-ipv6 on drill's command line (it overrides the
# scripts' --ip_version=ipv4): AF_INET6 sockets, IPv4 on the wire.  Its
# list is expected-freebsd.txt with expected-freebsd-mapped.txt over it
# (what differs in mapped mode only; "PASS script" there removes an entry).
#
# TAPIR: the tapir binary (default build/tapir).  SUITE: the suite's
# directory (default ../shared/conformance/freebsd-tcp-testsuite from the
# repository root).
set -u
mode=${1:-plain}
case $mode in plain | mapped) ;; *) echo "usage: run.sh [mapped]" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tapir=${TAPIR:-$root/build/tapir}
case $tapir in /*) ;; *) tapir=$PWD/$tapir ;; esac
suite=${SUITE:-$root/../shared/conformance/freebsd-tcp-testsuite}

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
bad=0

# run_family NAME EXPECTED PROFILE [DRILL OPTION] [OVERLAY]: runs the
# scripts listed in $tmp/NAME.scripts under PROFILE and compares them with
# the list EXPECTED (OVERLAY's entries over it); bad=1 on a difference
run_family() {
	fam=$1 expected=$2 profile=$3 out=$tmp/$1-$3.out
	# Scripts encode FreeBSD's buffer sizes and option choices: compare
	# windows and options only as far as the RFCs fix them (docs/drill.md).
	(cd "${dir:-$suite}" && xargs "$tapir" drill --profile "$profile" --lenient win,options \
		${4:+"$4"} <"$tmp/$fam.scripts") >"$out"
	# tapir drill exits 1 when a script fails; only a missing summary (a
	# crash, a usage error) is the runner's own failure
	if ! tail -1 "$out" | grep -q '^[0-9]* passed, [0-9]* failed, [0-9]* skipped$'; then
		echo "conformance: tapir drill did not finish ($fam, $profile)" >&2
		tail -5 "$out" >&2
		exit 1
	fi

	# "STATUS path" of every script, and of every expected entry
	sed -n 's/^\(PASS\|FAIL\|SKIP\) \([^: ]*\).*/\2 \1/p' "$out" | sort >"$tmp/got"
	# in order: an overlay's entry replaces the list's
	cat "$expected" ${5:+"$5"} | grep -v '^#' | awk 'NF >= 2 { print $2, $1 }' >"$tmp/want"
	name=$(basename "$expected")${5:+" + $(basename "${5:-}")"}

	# one awk for the comparison (a process per script is slow on a
	# loaded machine): the run's lines, the list, then every result
	if ! awk -v name="$name" '
		FILENAME == ARGV[1] {
			if ($1 ~ /^(PASS|FAIL|SKIP)$/) { p = $2; sub(/:$/, "", p); line[p] = $0 }
			next
		}
		FILENAME == ARGV[2] { if ($2 == "PASS") delete want[$1]; else want[$1] = $2; next }
		{
			seen[$1] = 1
			if ($2 == "PASS" && ($1 in want)) {
				print "NOW PASSES (remove from " name "): " $1; bad = 1
			} else if ($2 != "PASS" && $2 != want[$1]) {
				print "UNEXPECTED: " line[$1]
				if ($1 in want) print "  (" name " says " want[$1] ")"
				bad = 1
			}
		}
		END {
			for (p in want) if (!(p in seen)) { print "STALE entry in " name ": " p; bad = 1 }
			exit bad
		}' "$out" "$tmp/want" "$tmp/got"; then
		bad=1
	fi

	echo "conformance: --profile $profile${4:+ $4}: $(tail -1 "$out") of $(wc -l <"$tmp/$fam.scripts") $fam scripts"
	for g in snd-syn state-event-engine rcv-data-segments rcv-icmp socket-api snippets; do
		printf '  %-20s %s passed, %s failed, %s skipped\n' "$g" \
			"$(grep -c "^PASS $g/" "$out")" "$(grep -c "^FAIL $g/" "$out")" \
			"$(grep -c "^SKIP $g/" "$out")"
	done
}

# twin_check PROFILE: the IPv6 scripts that are IPv4 ones with another
# header (same path, -ipv6 for -ipv4) must PASS where their IPv4 twin
# does: an IPv6-only failure is a bug of tapir's IPv6 path (ICMPv6, the MSS
# from the IPv6 MTU, addresses) or of drill's IPv6 packets, unless named in
# TWIN_V6_OK with its reason in docs/drill.md (none today)
TWIN_V6_OK=""
twin_check() {
	for f in IPv4 IPv6; do
		sed -n 's/^\(PASS\|FAIL\|SKIP\) \([^: ]*\)-ipv[46]\.pkt.*/\2 \1/p' \
			"$tmp/$f-$1.out" | sort >"$tmp/twin-$f"
	done
	join "$tmp/twin-IPv4" "$tmp/twin-IPv6" >"$tmp/twins"
	awk -v ok=" $TWIN_V6_OK " '$2 == "PASS" && $3 != "PASS" && index(ok, " " $1 " ") == 0 {
		print "IPv6 ONLY (its IPv4 twin passes): " $1 "-ipv6.pkt " $3 }' "$tmp/twins" >"$tmp/v6only"
	if [ -s "$tmp/v6only" ]; then
		cat "$tmp/v6only"
		bad=1
	fi
	awk -v p="$1" '{ n[$2 != "PASS" ? ($3 != "PASS" ? "neither" : "v6") : ($3 != "PASS" ? "v4" : "both")]++ }
		END { printf "conformance: --profile %s: %d IPv4/IPv6 twins: %d pass in both, %d in neither, %d in IPv4 only, %d in IPv6 only\n",
			p, NR, n["both"], n["neither"], n["v4"], n["v6"] }' "$tmp/twins"
}

# The suite has no IPv6 rcv-data-segments scripts (reassembly, SACK blocks
# for out-of-order data): its IPv4 ones once more as IPv6, made in $tmp/v6
# by changing what packetdrill's IPv6 copies of the other groups change
# (the header's --ip_version, an MSS of 1440, sockstat -6).  Every one must
# PASS under rfc, as its IPv4 script does: family "IPv6-derived", list empty.
derive_v6() {
	grep '^rcv-data-segments/.*\.pkt$' "$tmp/IPv4.scripts" >"$tmp/v6.src"
	if [ ! -s "$tmp/v6.src" ]; then
		echo "conformance: no rcv-data-segments scripts in $suite" >&2
		exit 1
	fi
	sed 's/\.pkt$/-ipv6.pkt/' "$tmp/v6.src" >"$tmp/IPv6-derived.scripts"
	sed 's|/[^/]*$||' "$tmp/v6.src" | sort -u | sed "s|^|$tmp/v6/|" | xargs mkdir -p
	# one awk for all of them (a process per script is slow)
	(cd "$suite" && xargs awk -v dst="$tmp/v6/" '
		FNR == 1 { if (o != "") close(o); o = dst FILENAME; sub(/\.pkt$/, "-ipv6.pkt", o) }
		{
			sub(/--ip_version=ipv4/, "--ip_version=ipv6")
			gsub(/mss 1460/, "mss 1440")
			gsub(/sockstat -4/, "sockstat -6")
			print >o
		}' <"$tmp/v6.src") || exit 1
}

# the scripts of each family, by the --ip_version line in their header
(cd "$suite" && find . -name '*.pkt' | sed 's|^\./||' | sort >"$tmp/all" &&
	xargs grep -l -- '--ip_version=ipv6' <"$tmp/all" | sort >"$tmp/IPv6.scripts"
	comm -23 "$tmp/all" "$tmp/IPv6.scripts" >"$tmp/IPv4.scripts")
if [ "$mode" = mapped ]; then
	run_family IPv4 "$here/expected-freebsd.txt" freebsd --ip_version=ipv4-mapped-ipv6 \
		"$here/expected-freebsd-mapped.txt"
	lists="expected-freebsd.txt + expected-freebsd-mapped.txt"
else
	run_family IPv4 "$here/expected.txt" rfc
	run_family IPv6 "$here/expected-ipv6.txt" rfc
	run_family IPv4 "$here/expected-freebsd.txt" freebsd
	run_family IPv6 "$here/expected-freebsd-ipv6.txt" freebsd
	twin_check rfc
	twin_check freebsd
	derive_v6
	dir=$tmp/v6
	run_family IPv6-derived /dev/null rfc
	dir=
	lists="expected.txt, expected-ipv6.txt, expected-freebsd.txt and expected-freebsd-ipv6.txt"
fi

if [ $bad -ne 0 ]; then
	echo "conformance: results differ from tests/conformance/expected*.txt ($mode)"
	exit 1
fi
echo "conformance: results match $lists"
exit 0
