#!/usr/bin/env bash
# tapir check --mode stack over IPv6 beyond its own prefix, and --banners
# over IPv6, in a namespace pair (check_net.sh, IPv6 on): tapir on the
# scanner's veth cs0 with fd00:201::9/64 beside the kernel, the target's
# kernel at fd00:201::2 with fd00:201:1::1 on its lo (off-link for tapir).
#   - --banners over IPv6 (on-link): python's http.server (the status line
#     and Server header; Host: in brackets, RFC 3986 3.2.2), an SSH-like
#     line server and openssl s_server (the certificate's subject and
#     issuer), a silent listener and a closed port: exact;
#   - an off-link target through an IPv6 --gateway (the target itself):
#     open and closed right, and the banner;
#   - the same through the router that router discovery finds (RFC 4861
#     6.3.4: a router advertisement from the target's link-local address,
#     scapy, in place of radvd), no --gateway;
#   - no --gateway and no router on the link: one tapir: line, exit 2.
CN_IPV6=1
source "$(dirname "$0")/check_net.sh"
require_root openssl socat tshark "$PY"
"$PY" -c 'import scapy.all' 2>/dev/null || fail "$PY has no scapy"
cn_create
T6=$CN_T_ADDR6 FAR=fd00:201:1::1 A6=fd00:201::9
tx ip addr add "$FAR/128" dev lo || fail "$FAR on the target's lo"

cd "$WORK" || fail "cd"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
	-subj "/O=Tapir Test CA Org/CN=Tapir Test CA" 2>/dev/null || fail "openssl: CA"
openssl req -newkey rsa:2048 -nodes -keyout def.key -out def.csr -subj "/O=Tapir Six/CN=six.tapir.test" 2>/dev/null &&
	openssl x509 -req -in def.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out def.pem 2>/dev/null ||
	fail "openssl: certificate"
SERVER=$("$PY" -c 'import http.server as h; r=h.SimpleHTTPRequestHandler; print(r.server_version+" "+r.sys_version)')
mkdir -p www && echo hello >www/index.html
# (the servers live through the whole test: NSX_TIMEOUT)
NSX_TIMEOUT=300 tx "$PY" -m http.server 8080 --bind :: --directory www >/dev/null 2>&1 &
CN_PIDS+=($!)
printf '#!/bin/sh\nprintf "SSH-2.0-tapirsix\\r\\n"\nsleep 10\n' >ssh.sh && chmod +x ssh.sh || fail "ssh.sh"
NSX_TIMEOUT=300 tx socat TCP6-LISTEN:2222,ipv6only=0,fork,reuseaddr EXEC:"$WORK/ssh.sh" 2>/dev/null &
CN_PIDS+=($!)
NSX_TIMEOUT=300 tx openssl s_server -quiet -accept "[$T6]:8443" -cert def.pem -key def.key </dev/null >/dev/null 2>&1 &
CN_PIDS+=($!)
cn_listen "[::]:6000"
for p in 8080 2222 8443; do
	for ((i = 0; i < 100; i++)); do
		tx ss -Hltn "sport = :$p" | has LISTEN && break
		sleep 0.1
	done
done
strip() { cut -d' ' -f1-3,5- | sed 's/ $//'; } # (no round-trip times)

# ---- --banners over IPv6, on-link ----
ARGS=(--mode stack --iface cs0 --addr "$A6/64" --banners --banner-wait 2000 --banner-bytes 1024)
cn_capture "$NS_S" cs0 "$WORK/ban.pcap" "ip6 and (tcp port 8080 or (udp and dst port 9))" \
	sx bash -c "echo mark >/dev/udp/$T6/9"
cn_run_check ban -- "${ARGS[@]}" "[$T6]:2222,6000,8080,8443,9999"
cn_capture_stop
host=$(tshark -n -r "$WORK/ban.pcap" -Y 'http.request' -T fields -e http.host 2>/dev/null)
[[ $host == "[$T6]" ]] || fail "the HTTP request's Host: '$host', not '[$T6]'"
cat >"$WORK/want" <<W
$T6 2222 open banner: SSH-2.0-tapirsix
$T6 6000 open
$T6 8080 open http: HTTP/1.0 200 OK | Server: $SERVER
$T6 8443 open tls: subject O=Tapir Six, CN=six.tapir.test | issuer O=Tapir Test CA Org, CN=Tapir Test CA
$T6 9999 closed
W
strip <"$WORK/ban.out" | diff -u "$WORK/want" - >&2 || fail "banners over IPv6: not the services' (diff above)"
log "banners over IPv6: HTTP, line, TLS, silent and closed exact"

# ---- off-link through an IPv6 --gateway ----
cn_capture "$NS_S" cs0 "$WORK/gw.pcap" "ip6 and (tcp or (udp and dst port 9))" \
	sx bash -c "echo mark >/dev/udp/$T6/9"
cn_run_check gw -- "${ARGS[@]}" --gateway "$T6" "[$FAR]:2222,9999"
cn_capture_stop
printf '%s\n' "$FAR 2222 open banner: SSH-2.0-tapirsix" "$FAR 9999 closed" >"$WORK/want"
strip <"$WORK/gw.out" | diff -u "$WORK/want" - >&2 || fail "off-link via --gateway: (diff above)"
# tapir's frames to the off-link target went to the gateway's MAC
TMAC=$(tx cat /sys/class/net/ct0/address)
n=$(pcap_count "$WORK/gw.pcap" "ipv6.src == $A6 && ipv6.dst == $FAR && eth.dst == $TMAC")
[[ $n -ge 2 ]] || fail "no frames from $A6 to $FAR through the gateway's MAC $TMAC"
log "off-link $FAR through --gateway $T6: exact ($n frames to the gateway's MAC)"

# ---- no router at all: one line, exit 2 ----
NSX_TIMEOUT=40 sx "$TAPIR" check --mode stack --iface cs0 --addr "$A6/64" "[$FAR]:22" \
	>"$WORK/nort.out" 2>"$WORK/nort.err"
rc=$?
[[ $rc -eq 2 && ! -s $WORK/nort.out && $(wc -l <"$WORK/nort.err") -eq 1 ]] &&
	grep -q '^tapir: .*no IPv6 router advertised itself.*--gateway' "$WORK/nort.err" ||
	fail "no router: exit $rc, $(cat "$WORK/nort.out" "$WORK/nort.err")"
log "no router, no --gateway: $(cat "$WORK/nort.err")"

# ---- off-link through the router that router discovery finds ----
LL=$(tx ip -6 -o addr show dev ct0 scope link | awk '{ sub("/.*", "", $4); print $4 }')
[[ -n $LL ]] || fail "the target has no link-local address"
# advertisements every 0.5 s for at most 30 s (bounded), as a router would
# answer tapir's solicitation; the scanner's kernel takes none (accept_ra 0)
timeout -k 5 40 ip netns exec "$NS_T" "$PY" - ct0 "$LL" >/dev/null 2>&1 <<'PYEOF' &
import sys, time
from scapy.all import Ether, IPv6, ICMPv6ND_RA, ICMPv6NDOptSrcLLAddr, sendp, get_if_hwaddr
iface, ll = sys.argv[1], sys.argv[2]
mac = get_if_hwaddr(iface)
ra = (Ether(src=mac, dst="33:33:00:00:00:01") / IPv6(src=ll, dst="ff02::1", hlim=255) /
      ICMPv6ND_RA(routerlifetime=1800) / ICMPv6NDOptSrcLLAddr(lladdr=mac))
for _ in range(60):
    sendp(ra, iface=iface, verbose=False)
    time.sleep(0.5)
PYEOF
CN_PIDS+=($!)
cn_run_check ra -- "${ARGS[@]}" "[$FAR]:2222,9999"
strip <"$WORK/ra.out" | diff -u "$WORK/want" - >&2 || fail "off-link via router discovery: (diff above)"
grep -q "off-link IPv6 targets through $LL (router discovery)" "$WORK/ra.err" ||
	fail "no word of the router found: $(cat "$WORK/ra.err")"
log "off-link $FAR through $LL, found by router discovery: exact"
pass
