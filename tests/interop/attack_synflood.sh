#!/usr/bin/env bash
# A SYN flood from spoofed addresses at full speed, bounded (FLOOD_COUNT
# SYNs, FLOOD_SECONDS), against tapir's HTTP port (attack_synflood.py;
# RFC 4987).  What must hold with or without SYN cookies: tapir survives,
# its RSS stays bounded (the backlog bounds the half-open connections),
# established connections and other listeners keep working throughout, and
# a legitimate client gets through to the flooded port once the flood
# stops.  Whether legitimate clients get in DURING the flood is reported
# (attack_synflood_during.sh asserts it).  --gateway: tapir's SYN,ACKs to
# the spoofed addresses go to the kernel, which does not forward them.
# shellcheck source=tests/interop/attack_lib.sh
source "$(dirname "$0")/attack_lib.sh"
attack_setup
attack_host --gateway "$PEER_ADDR"
ATTACK_TIMEOUT=280 attack_run attack_synflood.py ${ATTACK_WRONG:+--wrong}
attack_done
