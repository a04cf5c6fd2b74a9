#!/usr/bin/env bash
# ARP attacks (attack_arp.py): a reply for another host about an address
# tapir never cached does not enter its cache (RFC 826's update rule: merge
# existing entries, add only when we are the target); claims of tapir's own
# address are conflicts it defends (RFC 5227 2.4); requests from 10,000
# different senders make the cache evict (arp_evicted), not grow -- with a
# legitimate connection running throughout and RSS bounded.
# shellcheck source=tests/interop/attack_lib.sh
source "$(dirname "$0")/attack_lib.sh"
attack_setup
attack_host
attack_run attack_arp.py ${ATTACK_WRONG:+--wrong}
attack_done
