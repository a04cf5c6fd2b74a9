#!/usr/bin/env bash
# Mistakes a user can make with `tapir host`: each one is a single line on
# stderr starting with "tapir:", nothing on stdout, and exit status 2.
# shellcheck disable=SC2119 # require_root and host_start take no arguments here
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
require_root
ns_create

# expect_error WHAT PATTERN ARGS...: `tapir host ARGS` inside the namespace
# must fail that way, with PATTERN (an ERE) in its message.
expect_error() {
	local what=$1 pat=$2 rc out err
	shift 2
	NSX_TIMEOUT=10 nsx "$TAPIR" host "$@" >"$WORK/out" 2>"$WORK/err"
	rc=$?
	err=$(cat "$WORK/err")
	out=$(cat "$WORK/out")
	[[ $rc -eq 2 ]] || fail "$what: exit status $rc, not 2 (stderr: $err)"
	[[ -z $out ]] || fail "$what: printed on stdout: $out"
	[[ $(wc -l <"$WORK/err") -eq 1 ]] || fail "$what: stderr is not one line: $err"
	[[ $err == tapir:* ]] || fail "$what: stderr does not start with 'tapir:': $err"
	grep -Eq -- "$pat" <<<"$err" || fail "$what: message does not match /$pat/: $err"
	log "$what -> $err"
}

OK=(--tap "$TAP" --addr "$HOST_ADDR/24")
expect_error "bad CIDR" "10\.0\.0\.300/24" --tap "$TAP" --addr 10.0.0.300/24
expect_error "CIDR without prefix" "--addr" --tap "$TAP" --addr 10.0.0.2
expect_error "prefix too long" "--addr" --tap "$TAP" --addr 10.0.0.2/33
expect_error "missing --tap" "--tap" --addr "$HOST_ADDR/24"
expect_error "missing --addr" "--addr" --tap "$TAP"
expect_error "unknown option" "--frobnicate" "${OK[@]}" --frobnicate
expect_error "option without its value" "--serve" "${OK[@]}" --serve
expect_error "unknown --serve name" "gopher" "${OK[@]}" --serve echo,gopher
expect_error "--peer-addr off the subnet" "--peer-addr" "${OK[@]}" --peer-addr 10.0.1.1/24
expect_error "--peer-addr same as --addr" "same" "${OK[@]}" --peer-addr "$HOST_ADDR/24"
expect_error "--addr dhcp with an IPv4 --addr" "--addr dhcp" "${OK[@]}" --addr dhcp
expect_error "--addr dhcp with --gateway" "--addr dhcp" --tap "$TAP" --addr dhcp --gateway 10.0.0.1
expect_error "unknown --addr-gen" "--addr-gen: 'bogus'" "${OK[@]}" --addr-gen bogus
head -c 5 /dev/zero >"$WORK/short"
expect_error "short --stable-secret" "at least 16" "${OK[@]}" --stable-secret "$WORK/short"
expect_error "missing --stable-secret" "--stable-secret: $WORK/none" "${OK[@]}" --stable-secret "$WORK/none"
expect_error "--stable-secret with eui64" "eui64" "${OK[@]}" --addr-gen eui64 --stable-secret "$WORK/short"

# an address a kernel interface of this namespace already has
nsx ip addr add 10.0.0.9/32 dev lo || fail "cannot add 10.0.0.9 to lo"
expect_error "address in use by the kernel" "10\.0\.0\.9 is in use.*lo" --tap "$TAP" --addr 10.0.0.9/24
expect_error "--peer-addr in use by the kernel" "10\.0\.0\.9 is in use.*lo" "${OK[@]}" --peer-addr 10.0.0.9/24
nsx ip addr del 10.0.0.9/32 dev lo || fail "cannot remove 10.0.0.9 from lo"

# a second host on the TAP device the first one holds
host_start
expect_error "TAP device busy" "$TAP.*(busy|another process)" --tap "$TAP" --addr 10.0.0.3/24
host_alive
out=$(nsx ping -n -c 1 -W 2 "$HOST_ADDR") || fail "the first host stopped answering: $out"
log "the first host still answers"
host_stop
pass
