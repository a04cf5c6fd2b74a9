#!/usr/bin/env bash
# The loss-recovery row of `make bench` (docs/performance.md, "Loss
# recovery"): a 10 MB transfer over tapir's in-memory cable (5 ms each
# way, simulated time, so the figures repeat exactly) under 1% and 5%
# random loss and a tail loss on each 64 KB request, with RFC 6675 alone
# (the rfc profile) and with RACK-TLP (RFC 8985) + PRR (RFC 6937), the
# linux profile's recovery.  Figures only: nothing passes or fails.
#   RECOVERY_MB=N     the transfer (default 10)
#   RECOVERY_SEEDS=N  the loss patterns averaged (default 30)
# Needs no root; builds tests/tcp/recovery_bench in build/ when missing.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
MB=${RECOVERY_MB:-10}
SEEDS=${RECOVERY_SEEDS:-30}
BIN=build/tests/tcp/recovery_bench
[[ $MB =~ ^[1-9][0-9]*$ && $MB -le 1024 ]] || { echo "recovery-bench: RECOVERY_MB must be 1..1024" >&2; exit 2; }
[[ $SEEDS =~ ^[1-9][0-9]*$ && $SEEDS -le 1000 ]] || { echo "recovery-bench: RECOVERY_SEEDS must be 1..1000" >&2; exit 2; }
if [[ ! -x $BIN ]]; then
	{ cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
		cmake --build build --target recovery_bench >/dev/null; } ||
		{ echo "recovery-bench: cannot build $BIN" >&2; exit 2; }
fi
out=$(timeout 600 "$BIN" "$MB" "$SEEDS") || { echo "recovery-bench: $BIN failed" >&2; exit 2; }
# recovery_bench prints, per case, the RFC 6675 line and then RACK-TLP+PRR's:
# the table puts them side by side, with RACK's time as a share of RFC 6675's
echo "loss recovery, $MB MB at 5 ms each way, mean of $SEEDS seeds (simulated time)"
awk 'NR > 2 {
	c = $1 " " $2; n = NF
	if ($3 == "RFC") { t6[c] = $(n - 3); r6[c] = $(n - 2); o6[c] = $(n - 1); order[++k] = c }
	else { tr[c] = $(n - 3); rr[c] = $(n - 2); orr[c] = $(n - 1); pr[c] = $n }
}
END {
	printf "%-10s %12s %12s %7s %12s %12s %10s %8s\n", "case", "RFC6675 s", "RACK+PRR s", "ratio",
	       "rexmit 6675", "rexmit RACK", "RTOs 6675", "RTOs RACK"
	for (i = 1; i <= k; i++) {
		c = order[i]
		printf "%-10s %12.3f %12.3f %7.3f %12.1f %12.1f %10.1f %8.1f\n", c, t6[c], tr[c],
		       (t6[c] > 0 ? tr[c] / t6[c] : 0), r6[c], rr[c], o6[c], orr[c]
	}
}' <<<"$out"
