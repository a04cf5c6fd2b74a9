#!/usr/bin/env bash
# TCP header and option attacks (attack_tcpopt.py): malformed options
# (length 0 or 1, past the header), data offsets below 5 or beyond the
# segment, MSS 0/1/64 (clamped: segments >= 216 bytes, CVE-2019-11479),
# tiny scattered SACK blocks (CVE-2019-11477/11478: bounded scoreboard),
# peers with a zero window forever (tapir keeps probing, memory bounded) --
# with legitimate connections running throughout and RSS bounded.
# shellcheck source=tests/interop/attack_lib.sh
source "$(dirname "$0")/attack_lib.sh"
attack_setup
attack_host
ATTACK_TIMEOUT=200 attack_run attack_tcpopt.py ${ATTACK_WRONG:+--wrong}
attack_done
