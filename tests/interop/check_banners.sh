#!/usr/bin/env bash
# tapir check --banners (stack mode) against the kernel's services in a
# namespace pair (check_net.sh):
#
#  HTTP   python's http.server on 8080: the exact status line and Server
#         header (python's own version string)
#  line   an SSH-like server on 2222 that speaks first: its exact line;
#         tapir closes that connection with a FIN, not a RST
#  TLS    openssl s_server on 8443 with certificates made here: by address,
#         the default certificate's subject and issuer, exact; by name
#         (/etc/netns/NS/hosts), SNI picks the second certificate: its own
#  silent a listener that never speaks: open, no banner
#  chatty a service that never stops (and has no line end): at most
#         --banner-bytes read (200 characters shown), then a RST from
#         tapir, no FIN
#  JSON and -oX carry the same (python json, xml), --shared-addr (the
#  scanner's own address) gives the same banners, and --banners is
#  refused outside stack mode
source "$(dirname "$0")/check_net.sh"
require_root openssl socat tshark nft "$PY"
cn_create
A=10.201.0.9 # tapir's address on cs0
NAME=tapir-banner.test
ETC=/etc/netns/$NS_S
_ban_cleanup() { # (keeps the exit status for _cn_cleanup)
	local rc=$?
	rm -rf "$ETC"
	(exit "$rc")
	_cn_cleanup
}
trap _ban_cleanup EXIT

# certificates: a CA, the default server certificate and the SNI one
cd "$WORK" || fail "cd"
cert() { # NAME SUBJ [CA]
	openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null &&
		openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
			-out "$1.pem" 2>/dev/null || fail "openssl: certificate $1"
}
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
	-subj "/O=Tapir Test CA Org/CN=Tapir Test CA" 2>/dev/null || fail "openssl: CA"
cert def "/O=Tapir Default/CN=default.tapir.test"
cert sni "/CN=$NAME/O=Tapir SNI Org"

SERVER=$("$PY" -c 'import http.server as h; r=h.SimpleHTTPRequestHandler; print(r.server_version+" "+r.sys_version)')
mkdir -p www && echo hello >www/index.html
tx "$PY" -m http.server 8080 --bind "$CN_T_ADDR" --directory www >/dev/null 2>&1 &
CN_PIDS+=($!)
# (a script: socat's SYSTEM: address would mangle the quotes and line end)
printf '#!/bin/sh\nprintf "SSH-2.0-tapirtest\\r\\n"\nsleep 10\n' >ssh.sh && chmod +x ssh.sh || fail "ssh.sh"
tx socat TCP-LISTEN:2222,bind="$CN_T_ADDR",fork,reuseaddr EXEC:"$WORK/ssh.sh" 2>/dev/null &
CN_PIDS+=($!)
printf '#!/bin/sh\nyes | tr -d "\\n"\n' >chatty.sh && chmod +x chatty.sh || fail "chatty.sh"
tx socat TCP-LISTEN:7777,bind="$CN_T_ADDR",fork,reuseaddr EXEC:"$WORK/chatty.sh" 2>/dev/null &
CN_PIDS+=($!)
tx openssl s_server -quiet -accept "$CN_T_ADDR:8443" -cert def.pem -key def.key \
	-servername "$NAME" -cert2 sni.pem -key2 sni.key </dev/null >/dev/null 2>&1 &
CN_PIDS+=($!)
cn_listen "$CN_T_ADDR:6000"
for p in 8080 2222 7777 8443; do # (the others' listen sockets)
	for ((i = 0; i < 100; i++)); do
		tx ss -Hltn "sport = :$p" | has LISTEN && break
		sleep 0.1
	done
done
mkdir -p "$ETC" && echo "$CN_T_ADDR $NAME" >"$ETC/hosts" || fail "$ETC/hosts"

expect_error "--banners in syn mode" "needs --mode stack" --mode syn --banners "$CN_T_ADDR:80"

PORTS=2222,6000,7777,8080,8443,9999
cn_capture "$NS_S" cs0 "$WORK/ban.pcap" "(tcp and host $A) or (udp and dst port 9)" \
	tx bash -c "echo mark >/dev/udp/$CN_S_ADDR/9"
ARGS=(--mode stack --iface cs0 --addr "$A/24" --banners --banner-wait 2000 --banner-bytes 1024)
cn_run_check text -- "${ARGS[@]}" "$CN_T_ADDR:$PORTS"
cn_capture_stop
cat "$WORK/text.out" >&2
strip() { cut -d' ' -f1-3,5-; } # (no round-trip times)
cat >"$WORK/want" <<W
$CN_T_ADDR 2222 open banner: SSH-2.0-tapirtest
$CN_T_ADDR 6000 open
$CN_T_ADDR 7777 open banner: $(printf "y%.0s" {1..200})
$CN_T_ADDR 8080 open http: HTTP/1.0 200 OK | Server: $SERVER
$CN_T_ADDR 8443 open tls: subject O=Tapir Default, CN=default.tapir.test | issuer O=Tapir Test CA Org, CN=Tapir Test CA
$CN_T_ADDR 9999 closed
W
strip <"$WORK/text.out" | sed 's/ $//' | diff -u "$WORK/want" - >&2 || fail "banners: not the services' (diff above)"
log "banners: HTTP, line, TLS, silent and chatty services exact"

# the banner connections' ends: the stream where tapir completed a
# handshake (an ACK of its own without SYN, RST or FIN) to PORT
ends() { # PORT -> the flags tapir sent on its banner connection: F (FIN), R (RST)
	tshark -n -r "$WORK/ban.pcap" -Y "ip.src==$A && tcp.dstport==$1" \
		-T fields -e tcp.stream -e tcp.flags.syn -e tcp.flags.fin -e tcp.flags.reset -e tcp.len 2>/dev/null |
		awk '{ if ($2==0 && $3==0 && $4==0) est[$1]=1; if ($3==1) f[$1]=1; if ($4==1) r[$1]=1 }
		     END { for (s in est) printf "%s%s\n", f[s] ? "F" : "", r[s] ? "R" : "" }'
}
[[ $(ends 2222) == F ]] || fail "2222: tapir ended the banner connection with '$(ends 2222)', not a FIN alone"
[[ $(ends 7777) == R ]] || fail "7777 (keeps talking): tapir ended with '$(ends 7777)', not a RST alone"
[[ $(ends 8080) == F ]] || fail "8080: tapir ended with '$(ends 8080)', not a FIN alone"
log "banner connections: FIN where the service waits or is done, RST where it keeps talking"

# SNI: the name picks s_server's second certificate; JSON and -oX
cn_run_check json -- "${ARGS[@]}" --json -oX "$WORK/ban.xml" "$NAME:8443,8080" "$CN_T_ADDR:2222,9999"
"$PY" - "$WORK/json.out" "$WORK/ban.xml" "$NAME" "$SERVER" <<'PY' || fail "JSON or -oX not as expected"
import json, sys, xml.etree.ElementTree as ET
out, xmlf, name, server = sys.argv[1:]
# (the name and the address are one host: printed as the name)
rows = {(r["host"], r["port"]): r for r in map(json.loads, open(out))}
tls = rows[(name, 8443)]
assert tls["service"] == "tls", tls
assert tls["subject"] == "CN=%s, O=Tapir SNI Org" % name, tls
assert tls["issuer"] == "O=Tapir Test CA Org, CN=Tapir Test CA", tls
http = rows[(name, 8080)]
assert (http["service"], http["banner"], http["server"]) == ("http", "HTTP/1.0 200 OK", server), http
line = rows[(name, 2222)]
assert (line["service"], line["banner"]) == ("line", "SSH-2.0-tapirtest"), line
assert "banner" not in rows[(name, 9999)]
scripts = {p.get("portid"): p.find("script").get("output")
           for p in ET.parse(xmlf).getroot().iter("port") if p.find("script") is not None}
assert scripts == {
    "8443": "tls: subject CN=%s, O=Tapir SNI Org | issuer O=Tapir Test CA Org, CN=Tapir Test CA" % name,
    "8080": "http: HTTP/1.0 200 OK | Server: " + server,
    "2222": "banner: SSH-2.0-tapirtest"}, scripts
PY
log "SNI by name: the second certificate; JSON and -oX <script id=banner> carry the banners"

# --shared-addr: the banner connections from the kernel's own address and
# tapir's ports (the nftables table keeps the kernel's RSTs off them)
cn_run_check shared -- --mode stack --iface cs0 --shared-addr --banners --banner-wait 2000 \
	"$CN_T_ADDR:2222,8080,8443,9999"
grep -E ' (2222|8080|8443|9999) ' "$WORK/want" | diff -u - <(strip <"$WORK/shared.out" | sed 's/ $//') >&2 ||
	fail "--shared-addr: not the same banners (diff above)"
log "--shared-addr: the same banners from the kernel's address"
log "PASS"
