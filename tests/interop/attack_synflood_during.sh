#!/usr/bin/env bash
# The SYN flood of attack_synflood.sh, asserting also that most legitimate
# connects to the flooded port complete WHILE the flood runs -- what SYN
# cookies (RFC 4987 3.6) give: the SYN,ACK carries the state, so half-open
# connections from spoofed addresses cannot fill the backlog.
# shellcheck source=tests/interop/attack_lib.sh
source "$(dirname "$0")/attack_lib.sh"
attack_setup
attack_host --gateway "$PEER_ADDR"
ATTACK_TIMEOUT=280 attack_run attack_synflood.py --require-during ${ATTACK_WRONG:+--wrong}
attack_done
