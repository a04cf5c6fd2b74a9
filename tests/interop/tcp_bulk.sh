#!/usr/bin/env bash
# Bulk TCP both ways through the TAP, byte-exact (sha256), with
# segmentation offload (the default: super-segments of up to 64 KiB cross
# the TAP, cut by the kernel on the way in and left uncut on the way out,
# their checksums completed by the TAP driver) and without it (--no-tso),
# at MTU 1500 and 9000: a Python client on the kernel's side streams
# BULK_MB into tapir's echo service while reading the echo back.
# Reports the figures; checks that offload was used where it should be
# (tapir's tcp_tx: far fewer sends than 1448-byte segments) and not where
# it should not.
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
require_root sha256sum
MB=${BULK_MB:-64}
BYTES=$((MB * 1048576))
ns_create
head -c "$BYTES" /dev/urandom >"$WORK/bulk.bin" || fail "cannot write $BYTES bytes in $WORK"
SHA=$(sha256sum "$WORK/bulk.bin" | cut -d' ' -f1)

echo_through() { # the count and sha256 of what came back
	NSX_TIMEOUT=120 nsx "$PY" "$LIB_DIR/echo_sha.py" "$HOST_ADDR" 7 "$WORK/bulk.bin" 60
}

for mtu in 1500 9000; do
	for tso in on off; do
		args=(--serve echo --mtu "$mtu")
		[[ $tso == off ]] && args+=(--no-tso)
		host_start "${args[@]}"
		nsx ip link set "$TAP" mtu "$mtu" || fail "cannot set the kernel's MTU $mtu"
		t0=$(date +%s.%N)
		got=$(echo_through) || fail "MTU $mtu, offload $tso: the echo client failed: $got"
		t1=$(date +%s.%N)
		read -r n sum <<<"$got"
		[[ $n -eq $BYTES ]] || fail "MTU $mtu, offload $tso: $n bytes echoed, not $BYTES"
		[[ $sum == "$SHA" ]] || fail "MTU $mtu, offload $tso: sha256 $sum != $SHA"
		host_stop
		tx=$(awk '$1 == "tcp_tx" { print $2 }' "$WORK/final.ctr")
		segs=$((BYTES / (mtu - 52)))
		log "MTU $mtu, offload $tso: $MB MiB each way, sha256 equal, $(awk -v a="$t0" -v b="$t1" \
			-v n="$BYTES" 'BEGIN { printf "%.2f s, %.0f MB/s each way", b - a, n / (b - a) / 1e6 }'), tcp_tx $tx for $segs MSS-sized segments of data"
		if [[ $tso == on && $mtu == 1500 ]]; then
			((tx * 2 < segs)) || fail "MTU $mtu: offload on, but tapir sent $tx segments for $segs MSS of data"
		elif [[ $tso == off ]]; then
			((tx >= segs)) || fail "MTU $mtu: offload off, but tapir sent $tx segments for $segs MSS of data"
		fi
	done
done
pass
