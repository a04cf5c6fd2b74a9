#!/usr/bin/env bash
# Fragment attacks (attack_frag.py): teardrop and other overlaps (RFC
# 5722: the whole datagram dropped), the ping of death (beyond 65535),
# RFC 1858's overlapping tiny fragments, honest tiny fragments (reassembled),
# LAND (source = destination), and a flood of incomplete datagrams against
# the reassembly limits -- each drop counted for its reason, the host
# serving a legitimate connection throughout, RSS bounded.
# shellcheck source=tests/interop/attack_lib.sh
source "$(dirname "$0")/attack_lib.sh"
attack_setup
attack_host
attack_run attack_frag.py ${ATTACK_WRONG:+--wrong}
attack_done
