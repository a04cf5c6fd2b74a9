#!/usr/bin/env bash
# Installs what tapir's build, tests and demo need on Debian 12, as root.
# Idempotent: asks apt only for what is missing.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libpcap-dev libcmocka-dev
      iproute2 iputils-ping procps tshark socat netcat-openbsd python3 python3-scapy
      clang libclang-rt-14-dev curl nftables libnftables-dev
      nginx iperf3 busybox-static dnsmasq-base radvd golang-go
      nmap ndiff openssl parallel python3-yaml)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "deps: missing packages: ${missing[*]} (run as root, or install them)" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# A package's service (nginx) must not start in the machine's own namespace
# (dnsmasq-base has none: the DHCP test runs its own dnsmasq in a namespace;
# radvd, too, runs only as ipv6_radvd starts it there):
# tests start their own copies inside namespaces they create.
rc=/usr/sbin/policy-rc.d
made_rc=0
if [ ! -e "$rc" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$rc" && chmod +x "$rc" && made_rc=1
fi
trap '[ "$made_rc" = 1 ] && rm -f "$rc"' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
