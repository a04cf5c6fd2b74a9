#!/usr/bin/env bash
# tapir's HTTP/1.1 server (`tapir host --serve http=DIR`) against curl on the
# kernel's side: 1 MB and 200 MB files downloaded byte-exact (sha256); HEAD
# (headers, no body); 404; 403 for a path that climbs out of DIR (sent
# as is, and percent-encoded); 405 for POST; two requests on one
# persistent connection.  The small transfers are captured and must hold
# no malformed frame and no bad checksum; the 200 MB one runs uncaptured (a
# pcap that size would only cost time).
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
require_root curl sha256sum
ns_create
PCAP=$WORK/http.pcap
WWW=$WORK/www
URL=http://$HOST_ADDR
mkdir -p "$WWW/sub"
head -c 1048576 /dev/urandom >"$WWW/1m.bin"
printf 'hello from tapir\n' >"$WWW/sub/hello.txt"
printf '<html><body>index</body></html>\n' >"$WWW/index.html"

# curl_k ARGS...: curl from the kernel's side, bounded, no retries.
curl_k() {
	NSX_TIMEOUT=${CURL_TIMEOUT:-30} nsx curl -sS --max-time "${CURL_TIMEOUT:-30}" "$@"
}

# sha_of FILE: the sha256 of FILE.
sha_of() { sha256sum "$1" | cut -d' ' -f1; }

host_start --serve "http=$WWW" --pcap "$PCAP"

# ---- GET 1 MB: byte-exact ----
out=$(curl_k -o "$WORK/1m.out" -w '%{http_code} %{size_download}' "$URL/1m.bin") ||
	fail "curl GET /1m.bin failed: $out"
[[ $out == "200 1048576" ]] || fail "GET /1m.bin: code and size '$out', not '200 1048576'"
[[ $(sha_of "$WORK/1m.out") == $(sha_of "$WWW/1m.bin") ]] || fail "GET /1m.bin: sha256 differs"
log "GET /1m.bin: 200, 1048576 bytes, sha256 equal"

# ---- a directory serves its index.html; a text file in a subdirectory ----
body=$(curl_k "$URL/") || fail "GET / failed"
[[ $body == "<html><body>index</body></html>" ]] || fail "GET /: '$body'"
body=$(curl_k "$URL/sub/hello.txt") || fail "GET /sub/hello.txt failed"
[[ $body == "hello from tapir" ]] || fail "GET /sub/hello.txt: '$body'"
log "GET / and /sub/hello.txt: right bodies"

# ---- HEAD: the GET's headers, no body ----
curl_k -I -o "$WORK/head.hdr" -w '%{http_code} %{size_download}\n' "$URL/1m.bin" >"$WORK/head.out" ||
	fail "curl HEAD failed"
[[ $(cat "$WORK/head.out") == "200 0" ]] || fail "HEAD: '$(cat "$WORK/head.out")', not '200 0'"
grep -qi '^Content-Length: 1048576' "$WORK/head.hdr" ||
	fail "HEAD: no 'Content-Length: 1048576': $(tr -d '\r' <"$WORK/head.hdr")"
log "HEAD /1m.bin: 200, Content-Length 1048576, no body"

# ---- error answers ----
# expect_code CODE DESCRIPTION CURL_ARGS...
expect_code() {
	local want=$1 what=$2 got
	shift 2
	got=$(curl_k -o "$WORK/err.body" -D "$WORK/err.hdr" -w '%{http_code}' "$@") ||
		fail "$what: curl failed: $got"
	[[ $got == "$want" ]] || fail "$what: HTTP $got, not $want"
	log "$what: $got"
}
expect_code 404 "GET /nope" "$URL/nope"
expect_code 403 "GET /../../etc/passwd (--path-as-is)" --path-as-is "$URL/../../etc/passwd"
expect_code 403 "GET /sub/%2e%2e/%2e%2e/etc/passwd" --path-as-is "$URL/sub/%2e%2e/%2e%2e/etc/passwd"
expect_code 405 "POST /1m.bin" -X POST -d x=1 "$URL/1m.bin"
grep -qi '^Allow: .*GET' "$WORK/err.hdr" || fail "405 without an Allow header naming GET"

# ---- keep-alive: two URLs, one connection ----
n=$(curl_k -o /dev/null -o "$WORK/ka.out" -w '%{num_connects}\n' "$URL/sub/hello.txt" "$URL/1m.bin") ||
	fail "curl keep-alive fetch failed"
total=$(awk '{ s += $1 } END { print s }' <<<"$n")
[[ $total -eq 1 ]] || fail "two requests took $total connections (num_connects: $(echo $n)), not 1"
[[ $(sha_of "$WORK/ka.out") == $(sha_of "$WWW/1m.bin") ]] || fail "keep-alive: second body differs"
log "keep-alive: 2 requests over 1 connection, second body sha256 equal"

host_counters small
host_stop
pcap_assert_clean "$PCAP" "$HOST_MAC"
n=$(pcap_count "$PCAP" "eth.src == $HOST_MAC && tcp.srcport == 80 && tcp.len > 0")
log "data segments from tapir in the capture: $n"

# ---- 200 MB, uncaptured ----
BIG=200
if ! head -c $((BIG * 1048576)) /dev/urandom >"$WWW/big.bin"; then
	fail "cannot write a $BIG MB file in $WORK"
fi
host_start --serve "http=$WWW"
t0=$(date +%s.%N)
out=$(CURL_TIMEOUT=240 curl_k -o "$WORK/big.out" -w '%{http_code} %{size_download}' "$URL/big.bin") ||
	fail "curl GET /big.bin failed: $out"
t1=$(date +%s.%N)
[[ $out == "200 $((BIG * 1048576))" ]] || fail "GET /big.bin: '$out', not '200 $((BIG * 1048576))'"
[[ $(sha_of "$WORK/big.out") == $(sha_of "$WWW/big.bin") ]] || fail "GET /big.bin: sha256 differs"
log "GET /big.bin: $BIG MB, sha256 equal, $(awk -v a="$t0" -v b="$t1" -v m=$BIG \
	'BEGIN { printf "%.1f s, %.1f MB/s", b - a, m / (b - a) }')"
rm -f "$WORK/big.out" "$WWW/big.bin"
host_counters big
host_stop
pass
