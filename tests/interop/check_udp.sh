#!/usr/bin/env bash
# tapir check --udp against the Linux kernel in a namespace pair
# (check_net.sh): dnsmasq answers DNS on 53, check_udp_serve.py echo on 7,
# NTP on 123, NetBIOS NBSTAT on 137 and SNMP on 161 (each only to a request
# of its protocol) and ignores 40001; nftables drops 40002 and rejects 40003
# (ICMP admin-prohibited); everything else is closed (ICMP port
# unreachable).  As `nobody`, tapir must report exactly: those five open,
# 40001 and 40002 open|filtered, 40003 filtered, the rest closed; the
# capture decodes its DNS, NTP and SNMP probes as requests of their
# protocols (tshark's dissectors); -oX says protocol="udp", and ndiff finds
# no difference from nmap -sU of the same ports; --resume keeps the
# protocol.
source "$(dirname "$0")/check_net.sh"
require_root nft setpriv dnsmasq "$PY" ndiff nmap
cn_create
# the services' address: on the target's lo, routed through it (so nmap
# reports no MAC address for it, as tapir does not)
T=10.201.7.1
cn_addrs 10.201.7 1 1

timeout -k 5 300 ip netns exec "$NS_T" dnsmasq -k --conf-file=/dev/null --port=53 \
	--listen-address="$T" --bind-interfaces --no-resolv --no-hosts --pid-file= --user=root \
	--log-facility="$WORK/dnsmasq.log" 2>"$WORK/dnsmasq.err" &
CN_PIDS+=($!)
timeout -k 5 300 ip netns exec "$NS_T" "$PY" "$LIB_DIR/check_udp_serve.py" "$T" \
	7:echo 123:ntp 137:nbstat 161:snmp 40001:silent >"$WORK/serve.out" 2>&1 &
CN_PIDS+=($!)
for ((i = 0; i < 100; i++)); do
	grep -q '^ready' "$WORK/serve.out" && tx ss -uln | has "$T:53 " && break
	sleep 0.1
done
grep -q '^ready' "$WORK/serve.out" || fail "UDP services did not start: $(cat "$WORK/serve.out")"
tx ss -uln | has "$T:53 " || fail "dnsmasq did not start: $(cat "$WORK/dnsmasq.err")"
cn_nft_filter tapir_udp udp 40002 40003

PORTS="1-200,40001-40003"
NPORTS=203
{
	for p in 7 53 123 137 161; do echo "$T $p open"; done
	echo "$T 40001 open|filtered"
	echo "$T 40002 open|filtered"
	echo "$T 40003 filtered"
} | sort >"$WORK/expected"
NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
RUN=(--udp --rate 5000 --timeout 300 --retries 1)

cn_capture "$NS_T" ct0 "$WORK/udp.pcap" "udp or icmp" tx bash -c "echo mark >/dev/udp/$CN_S_ADDR/9"
cn_run_check udp "${NOBODY[@]}" -- "${RUN[@]}" "$T:$PORTS"
cn_capture_stop
awk '$3 != "closed" { print $1, $2, $3 }' "$WORK/udp.out" | sort | diff -u "$WORK/expected" - >&2 ||
	fail "--udp: not the expected ports (diff above)"
n=$(awk '$3 == "closed"' "$WORK/udp.out" | wc -l)
[[ $n -eq $((NPORTS - 8)) ]] || fail "--udp: $n closed ports, not $((NPORTS - 8))"
log "--udp as nobody: 5 open, 2 open|filtered, 1 filtered, $n closed"
grep -E ' (ntp|snmp|nbstat|echo) ' "$WORK/serve.out" | has ignored &&
	fail "a service got a probe it did not take for its protocol: $(grep ignored "$WORK/serve.out" | head -n 3)"
# tshark's dissectors read the probes as requests of their protocols
P=$WORK/udp.pcap S="ip.src == $CN_S_ADDR"
must_counts "$P" \
	"DNS NS queries to port 53" "$S && dns.flags.response == 0 && dns.qry.type == 2 && udp.dstport == 53" -ge 1 \
	"NTPv4 client requests to port 123" "$S && ntp.flags.mode == 3 && ntp.flags.vn == 4 && udp.dstport == 123" -ge 1 \
	"SNMP GetRequests to port 161" "$S && snmp.community == \"public\" && snmp.get_request_element && udp.dstport == 161" -ge 1 \
	"NetBIOS name queries to port 137" "$S && nbns.flags.opcode == 0 && udp.dstport == 137" -ge 1 \
	"dnsmasq's answers to the DNS probe" "ip.src == $T && dns.flags.response == 1 && udp.srcport == 53" -ge 1 \
	"probes to closed port 100" "!icmp && $S && udp.dstport == 100" -eq 1 \
	"probes to dropped port 40002 (--retries 1)" "!icmp && $S && udp.dstport == 40002" -eq 2
log "the probes are DNS, NTP, SNMP and NetBIOS requests (tshark); closed 1 probe, dropped 2"

# JSON, and the exit status
out=$(NSX_TIMEOUT=30 sx "$TAPIR" check "${RUN[@]}" --json "$T:40002")
[[ $? -eq 1 && $out == "{\"host\":\"$T\",\"port\":40002,\"state\":\"open|filtered\",\"rtt_ms\":null}" ]] ||
	fail "--udp --json: '$out'"
NSX_TIMEOUT=30 sx "$TAPIR" check "${RUN[@]}" "$T:53,123" >/dev/null
[[ $? -eq 0 ]] || fail "--udp, every port open: exit status not 0"

# -oX, and nmap -sU of the same ports (its own requests: the services take
# them too); 60-99 closed, folded into <extraports> by both
XPORTS="7,53,123,137,161,40001-40003,60-99"
cn_run_check udp_xml -- "${RUN[@]}" -oX "$WORK/udp.xml" "$T:$XPORTS"
grep -q '<scaninfo type="udp" protocol="udp"' "$WORK/udp.xml" || fail "-oX: no udp scaninfo"
grep -q '<port protocol="udp" portid="123"><state state="open" reason="udp-response"' "$WORK/udp.xml" ||
	fail "-oX: 123 not open by udp-response"
grep -q '<port protocol="udp" portid="40003"><state state="filtered" reason="admin-prohibited"' "$WORK/udp.xml" ||
	fail "-oX: 40003 not filtered by admin-prohibited (the ICMP code from the error queue)"
grep -q '<extrareasons reason="port-unreach" count="40" proto="udp" ports="60-99"/>' "$WORK/udp.xml" ||
	fail "-oX: the closed ports not folded with port-unreach"
cn_nmap_agrees "tapir check --udp" "$WORK/udp.xml" -n -Pn -sU -T4 --max-retries 1 -p "$XPORTS" "$T"

# --resume keeps the protocol
cn_interrupt r1 "$WORK/resume" --udp --rate 100 --timeout 300 --retries 1 --resume "$WORK/resume" "$T:1-1000"
grep -qx 'protocol udp' "$WORK/resume" || fail "the resume file does not say udp"
expect_error "--mode syn with a UDP resume file" "UDP ports" --mode syn --resume "$WORK/resume"
cn_run_check r2 -- --rate 20000 --timeout 300 --retries 1 --resume "$WORK/resume"
cat "$WORK/r1.out" "$WORK/r2.out" >"$WORK/r.out"
[[ $(wc -l <"$WORK/r.out") -eq 1000 && -z $(awk '{ print $2 }' "$WORK/r.out" | sort | uniq -d) ]] ||
	fail "--udp --resume: not 1000 ports once each"
grep -qx "$T 123 open [0-9.]*" "$WORK/r.out" && grep -qx "$T 999 closed [0-9.]*" "$WORK/r.out" ||
	fail "--udp --resume: the second run probed TCP?"
log "--udp --resume: $(wc -l <"$WORK/r1.out") + $(wc -l <"$WORK/r2.out") ports, UDP both times"

expect_error "--udp with --mode syn" "TCP only" --udp --mode syn "$T:53"
pass
