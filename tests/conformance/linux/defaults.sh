#!/bin/sh
# Linux's defaults for tests/conformance/linux/*.pkt, as Linux's own
# packetdrill scripts start (`../common/defaults.sh`): sysctl writes of the
# figures tapir's linux profile has (Documentation/networking/ip-sysctl.rst
# and include/net/tcp.h; docs/profiles.md).  tapir drill reads the writes
# onto the profile; the rest runs in a throwaway network namespace.

# forget what earlier connections taught (TFO cookies, metrics)
ip tcp_metrics flush all > /dev/null 2>&1

# buffers: min, default, max
sysctl -q net.ipv4.tcp_rmem="4096 131072 $((6*1024*1024))"
sysctl -q net.ipv4.tcp_wmem="4096 16384 $((4*1024*1024))"

# the SYN's options
sysctl -q net.ipv4.tcp_sack=1
sysctl -q net.ipv4.tcp_timestamps=1
sysctl -q net.ipv4.tcp_window_scaling=1
# ECN: accepted when the peer asks, never asked for
echo 2 > /proc/sys/net/ipv4/tcp_ecn

sysctl -q net.ipv4.tcp_syn_retries=6
sysctl -q net.ipv4.tcp_congestion_control=reno
sysctl -q net.ipv4.tcp_keepalive_time=7200
sysctl -q net.ipv4.tcp_keepalive_intvl=75
sysctl -q net.ipv4.tcp_keepalive_probes=9
