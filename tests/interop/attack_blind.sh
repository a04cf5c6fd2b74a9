#!/usr/bin/env bash
# RFC 5961 blind in-window attacks against a live connection whose
# sequence numbers are learnt by sniffing it (attack_blind.py): an in-window
# RST that is not at RCV.NXT (3.2), a SYN in ESTABLISHED (4.2), data whose
# ACK acknowledges what was never sent or is far too old (5.2; RFC 9293
# 3.10.7.4).  Each must get an ACK at RCV.NXT and leave the connection
# alive, with no injected byte delivered; other connections go on, and
# tapir's RSS stays bounded.  ATTACK_WRONG=1 expects the wrong ACK number
# (the test must then fail).
# shellcheck source=tests/interop/attack_lib.sh
source "$(dirname "$0")/attack_lib.sh"
attack_setup
attack_host
attack_run attack_blind.py "${BLIND_ROUNDS:-50}" ${ATTACK_WRONG:+--wrong}
attack_done
