#!/usr/bin/env bash
# The attack suite over IPv6 (attack_ipv6.py, scapy): RA flood with random
# prefixes, NS flood from thousands of sources, long extension-header
# chains, overlapping and tiny fragments, packet too big below 1280, the
# jumbo payload option in a normal frame, ICMPv6 redirect spoofing -- each
# drop counted for its reason, an echo connection over IPv6 (and new ones)
# working throughout, RSS grown by at most 16 MiB.
# shellcheck source=tests/interop/attack_lib.sh
source "$(dirname "$0")/attack_lib.sh"
NS_IPV6=1
attack_setup
attack_host --addr fd00::2/64 --peer-addr fd00::1/64
attack_run attack_ipv6.py fd00::2 fd00::1
attack_done
