#!/usr/bin/env bash
# nginx (worker_processes 2: fork, accept4 on one listener shared by two
# workers, epoll, sendfile, tcp_nopush = TCP_CORK) under `tapir run`,
# fetched by the kernel's curl: 1000 requests from 100 clients at once,
# every body byte-exact (sha256).  No kernel socket listens on nginx's port
# in the namespace.  A second, short run with --pcap and --personality
# ttl=N: the SYN,ACK of nginx's connections leaves with tapir's MAC and
# address, and every IPv4 frame from tapir carries TTL N.  SIGTERM to
# tapir run goes to nginx's master, and tapir run exits with its status 0.
source "$(dirname "$0")/lib_run.sh"
require_run nginx curl sha256sum xargs
PORT=8080
TTL=77
NREQ=1000
NPAR=100

ns_create
mkdir -p "$WORK/www" "$WORK/tmp"
head -c 1048576 /dev/urandom >"$WORK/www/big.bin"
head -c 100000 /dev/urandom >"$WORK/www/mid.bin"
head -c 1 /dev/urandom >"$WORK/www/one.bin"
echo '<html><body>tapir</body></html>' >"$WORK/www/index.html"
FILES=(big.bin mid.bin one.bin index.html)
for f in "${FILES[@]}"; do
	echo "$f $(sha256sum <"$WORK/www/$f" | cut -d' ' -f1)"
done >"$WORK/sums"

# its own configuration, pid, logs and temp paths, all in $WORK; user root,
# so that the workers can read $WORK (0700) and reach tapir run's gate
cat >"$WORK/nginx.conf" <<EOF
user root;
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/error.log info;
events {
	worker_connections 1024;
	use epoll;
}
http {
	log_format w '\$pid \$status \$body_bytes_sent \$request_uri';
	access_log $WORK/access.log w;
	client_body_temp_path $WORK/tmp/body;
	proxy_temp_path $WORK/tmp/proxy;
	fastcgi_temp_path $WORK/tmp/fastcgi;
	uwsgi_temp_path $WORK/tmp/uwsgi;
	scgi_temp_path $WORK/tmp/scgi;
	default_type application/octet-stream;
	sendfile on;
	tcp_nopush on;
	server {
		listen $PORT;
		root $WORK/www;
	}
}
EOF
NGINX=(nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf" -g 'daemon off;')
nginx -t -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf" >"$WORK/conf.out" 2>&1 ||
	fail "nginx -t: $(cat "$WORK/conf.out")"

# stop_run NAME: SIGTERM to tapir run (forwarded to nginx's master); it must
# exit 0, nginx's status
stop_run() {
	kill -TERM "$(pgrep -P "$RUN_PID" -f 'tapir run' | head -1)" 2>/dev/null || kill -TERM "$RUN_PID"
	wait "$RUN_PID"
	local rc=$?
	[[ $rc -eq 0 ]] || fail "$1: tapir run exited $rc after SIGTERM ($(tail -3 "$WORK/$1.err"))"
}

# ---- 1000 requests, 100 at once ----
NSX_TIMEOUT=250 run_bg load "${RUN_LINK[@]}" -- "${NGINX[@]}"
RUN_PID=$!
wait_port "$HOST_ADDR" "$PORT" || fail "nginx under tapir run does not answer ($(tail -3 "$WORK/load.err"))"

# request i fetches FILES[i % 4]; each prints "i file sha256" once curl
# succeeded, nothing otherwise
cat >"$WORK/get.sh" <<'EOF'
#!/bin/bash
set -o pipefail
h=$(curl -sS --fail -m 60 "http://$1/$3" | sha256sum) || { echo "request $2 ($3): failed" >&2; exit 0; }
echo "$2 $3 ${h%% *}"
EOF
chmod +x "$WORK/get.sh"
for ((i = 0; i < NREQ; i++)); do echo "$i ${FILES[$((i % ${#FILES[@]}))]}"; done >"$WORK/reqs"
NSX_TIMEOUT=200 nsx xargs -P "$NPAR" -L 1 "$WORK/get.sh" "$HOST_ADDR:$PORT" <"$WORK/reqs" \
	>"$WORK/got" 2>"$WORK/got.err" || fail "xargs: exit $? ($(tail -3 "$WORK/got.err"))"
ok=$(awk 'NR == FNR { sum[$1] = $2; next } sum[$2] == $3 { n++ } END { print n + 0 }' "$WORK/sums" "$WORK/got")
nfail=$(grep -c . "$WORK/got.err")
log "$ok of $NREQ requests byte-exact ($nfail failed, $(grep -c . "$WORK/got") answered)"
[[ $ok -eq $NREQ ]] || fail "only $ok of $NREQ bodies are byte-exact ($(head -3 "$WORK/got.err"))"
n200=$(awk '$2 == 200' "$WORK/access.log" | wc -l)
[[ $n200 -eq $NREQ ]] || fail "nginx logged $n200 answers 200, not $NREQ"
log "answers by worker (pid count): $(awk '{ print $1 }' "$WORK/access.log" | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')"
# no kernel TCP socket serves the port in the namespace: tapir does
nsx ss -Htln | has ":$PORT " && fail "a kernel socket listens on $PORT"
stop_run load
grep -E '\[(alert|emerg|crit)\]' "$WORK/error.log" && fail "nginx logged alerts (above)"

# ---- a capture, with the ttl personality ----
NSX_TIMEOUT=120 run_bg cap "${RUN_LINK[@]}" --personality "ttl=$TTL" --pcap "$WORK/n.pcap" -- "${NGINX[@]}"
RUN_PID=$!
wait_port "$HOST_ADDR" "$PORT" || fail "nginx under tapir run (ttl) does not answer ($(tail -3 "$WORK/cap.err"))"
for f in "${FILES[@]}"; do
	h=$(nsx curl -sS --fail -m 30 "http://$HOST_ADDR:$PORT/$f" | sha256sum | cut -d' ' -f1)
	grep -qx "$f $h" "$WORK/sums" || fail "$f differs (ttl run)"
done
stop_run cap
must_count "SYN,ACK from tapir's MAC" "$WORK/n.pcap" \
	"tcp.flags.syn==1 && tcp.flags.ack==1 && tcp.srcport==$PORT && ip.src==$HOST_ADDR && eth.src==$RUN_MAC" -ge 5
must_count "SYN,ACK from elsewhere" "$WORK/n.pcap" \
	"tcp.flags.syn==1 && tcp.flags.ack==1 && tcp.srcport==$PORT && !(eth.src==$RUN_MAC)" -eq 0
must_count "IPv4 frames from tapir" "$WORK/n.pcap" "ip && eth.src==$RUN_MAC" -ge 700
must_count "IPv4 frames from tapir with another TTL" "$WORK/n.pcap" "ip && eth.src==$RUN_MAC && ip.ttl!=$TTL" -eq 0
pcap_assert_clean "$WORK/n.pcap" "$RUN_MAC"
pass
