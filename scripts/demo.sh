#!/usr/bin/env bash
# `make demo`: a userspace TCP/IP host answering the Linux kernel.
#
# Creates a network namespace of its own, starts `build/tapir host` on a TAP
# device there, talks to it with the kernel's own tools (ping, socat, curl, nc), shows
# what tapir traced and counted and what the capture holds; then runs an
# unmodified curl on tapir's TCP (`tapir run`), and cleans up.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

TAPIR=${TAPIR:-build/tapir}
PCAP=$PWD/build/demo.pcap
NS=tapir-demo-$$-$RANDOM
HOST=10.0.0.2
KERNEL=10.0.0.1

bold="" plain=""
if [[ -t 1 ]]; then
	bold=$(tput bold 2>/dev/null || true)
	plain=$(tput sgr0 2>/dev/null || true)
fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
say() { printf '%s\n' "$*"; }
die() {
	printf 'demo: %s\n' "$*" >&2
	exit 1
}
# a command inside the namespace, never longer than 20 s
k() { timeout -k 2 20 ip netns exec "$NS" "$@"; }
indent() { sed 's/^/    /'; }

[[ $(id -u) -eq 0 ]] || die "run as root (it creates a network namespace and a TAP device)"
[[ -c /dev/net/tun ]] || die "no /dev/net/tun (is the tun module loaded?)"
[[ -x $TAPIR ]] || die "no $TAPIR: run 'make build' first"
for t in ip ping socat tshark timeout curl; do
	command -v "$t" >/dev/null || die "missing $t (make deps installs it)"
done

TMP=$(mktemp -d /tmp/tapir-demo.XXXXXX) || die "mktemp failed"
PID=""
WRAP=""
WEB=""
cleanup() {
	trap - EXIT INT TERM
	[[ -n $WEB ]] && kill -TERM "$WEB" 2>/dev/null
	if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$WRAP" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$PID" 2>/dev/null
	fi
	timeout 10 ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

step "1. A network namespace with a TAP device, and tapir on it"
timeout 10 ip netns add "$NS" || die "cannot create a network namespace"
k sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
k ip link set lo up
mkdir -p build
rm -f "$PCAP"
mkdir -p "$TMP/www"
printf '<html><body><h1>Hello from tapir</h1><p>This page came over a userspace TCP.</p></body></html>\n' >"$TMP/www/index.html"
say "\$ tapir host --tap tp0 --addr $HOST/24 --peer-addr $KERNEL/24 --serve echo,daytime,http=WWW --trace arp,icmp,udp,tcp --pcap build/demo.pcap"
timeout -k 2 120 ip netns exec "$NS" "$TAPIR" host --tap tp0 --addr "$HOST/24" \
	--peer-addr "$KERNEL/24" --serve "echo,daytime,http=$TMP/www" --trace arp,icmp,udp,tcp \
	--pcap "$PCAP" >"$TMP/out" 2>"$TMP/err" &
WRAP=$!
for _ in $(seq 100); do
	grep -q '^ready ' "$TMP/out" && break
	kill -0 "$WRAP" 2>/dev/null || { cat "$TMP/err" >&2; die "tapir host did not start"; }
	sleep 0.1
done
grep '^ready ' "$TMP/out" | indent || die "tapir host printed no 'ready' line"
PID=$(pgrep -P "$WRAP" | head -n 1)
MAC=$(sed -n 's/^ready .* mac=\([0-9a-f:]*\).*/\1/p' "$TMP/out")
say "tapir is $HOST ($MAC), in userspace; the kernel's side of tp0 is $KERNEL."

step "2. The kernel pings tapir"
say "\$ ping -c 3 $HOST"
k ping -n -c 3 -i 0.2 -W 2 "$HOST" | indent
say "The kernel learned tapir's MAC by ARP:"
k ip neigh show "$HOST" | indent

step "3. A 4000-byte ping: fragmented on the way there and back"
say "\$ ping -c 1 -s 4000 $HOST"
k ping -n -c 1 -W 2 -s 4000 "$HOST" | indent

step "4. UDP echo (port 7), with socat"
say "\$ echo 'hello from the kernel' | socat - UDP4:$HOST:7"
echo "hello from the kernel" | k socat -t 1 - "UDP4:$HOST:7" | indent

step "5. UDP daytime (port 13)"
say "\$ echo | socat - UDP4:$HOST:13"
echo | k socat -t 1 - "UDP4:$HOST:13" | tr -d '\r' | indent

step "6. TCP: a web page with curl, served by tapir's HTTP server (port 80)"
say "\$ curl -s http://$HOST/"
k curl -s --max-time 10 "http://$HOST/" | indent

step "7. TCP echo (port 7), with nc"
say "\$ echo 'a line over TCP' | nc -q 1 $HOST 7"
echo "a line over TCP" | k nc -q 1 "$HOST" 7 | indent

step "8. What tapir saw and did (--trace arp,icmp,udp,tcp): every segment, every state change"
sleep 0.2
grep -v '^ready ' "$TMP/out" | indent

step "9. tapir's counters (printed when it stops)"
kill -TERM "$PID"
for _ in $(seq 50); do kill -0 "$WRAP" 2>/dev/null || break; sleep 0.1; done
wait "$WRAP" 2>/dev/null
PID=""
indent <"$TMP/err"

step "10. The capture, as tshark reads it"
timeout 30 tshark -n -r "$PCAP" 2>/dev/null | indent

step "11. An unmodified program on tapir's TCP: tapir run -- curl"
say "A web server on the kernel's side (python3 -m http.server 8000), and curl under tapir run:"
timeout -k 2 60 ip netns exec "$NS" python3 -m http.server --bind 0.0.0.0 --directory "$TMP/www" 8000 \
	>/dev/null 2>&1 &
WEB=$!
for _ in $(seq 50); do
	k curl -s -o /dev/null --max-time 1 http://127.0.0.1:8000/ && break
	sleep 0.1
done
say "\$ tapir run --tap tp0 --addr $HOST/24 --peer-addr $KERNEL/24 -- curl -s -w '%{http_code} from %{local_ip}\\n' http://$KERNEL:8000/"
k "$TAPIR" run --tap tp0 --addr "$HOST/24" --peer-addr "$KERNEL/24" -- \
	curl -s --max-time 10 -w '%{http_code} from %{local_ip}\n' "http://$KERNEL:8000/" 2>&1 | indent
say "curl's socket was tapir's: its local address is $HOST, tapir's, not the kernel's."
kill -TERM "$WEB" 2>/dev/null
WEB=""

step "Done"
say "Every frame tapir sent and received is in $PCAP"
say "(tshark -r build/demo.pcap, or open it in Wireshark).  Namespace $NS removed."
