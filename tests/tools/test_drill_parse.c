/* tapir drill's script parser (tools/drill/drill_parse.c): packetdrill's
 * grammar as the FreeBSD TCP suite writes it, through dl_parse_file on
 * scripts written to a temporary file, and the expression helpers dl_eval
 * and dl_errno_name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../common/cmt.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>

#include "drill/drill.h"

/* ---- fixtures ---- */

/* Writes LEN bytes of TEXT to a temporary file and parses it into SC
 * (teardown frees the last one); returns dl_parse_file's result. */
static int parse_bytes(const char *text, size_t len, const char *const *defines,
		       struct dl_script *sc)
{
	const char *dir = getenv("TMPDIR");
	char path[512];
	int fd, rc;
	dl_script_free(sc); /* the one parsed before */
	snprintf(path, sizeof(path), "%s/test_drill_parse.XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	rc = dl_parse_file(path, defines, NULL, sc);
	unlink(path);
	return rc;
}

static int parse(const char *text, const char *const *defines, struct dl_script *sc)
{
	return parse_bytes(text, strlen(text), defines, sc);
}

/* A script that must parse cleanly into NEV events, with DEFINES. */
static void parse_def(const char *text, const char *const *defines, struct dl_script *sc,
		      size_t nev)
{
	assert_int_equal(parse(text, defines, sc), 0);
	if (sc->bad_line)
		fail_msg("line %d: %s", sc->bad_line, sc->bad_msg);
	assert_int_equal(sc->nev, nev);
}

static void parse_ok(const char *text, struct dl_script *sc, size_t nev)
{
	parse_def(text, NULL, sc, nev);
}

/* A script whose first problem is at LINE: a FAIL, or a SKIP when SKIP,
 * with a message that starts with MSG.  Returns the events before it. */
static size_t parse_bad(const char *text, int line, bool skip, const char *msg)
{
	struct dl_script sc = {0};
	size_t nev;
	assert_int_equal(parse(text, NULL, &sc), 0);
	if (sc.bad_line != line || sc.bad_skip != skip || strncmp(sc.bad_msg, msg, strlen(msg)))
		fail_msg("%s: line %d %s '%s', want line %d %s '%s...'", text, sc.bad_line,
			 sc.bad_skip ? "SKIP" : "FAIL", sc.bad_msg, line, skip ? "SKIP" : "FAIL", msg);
	nev = sc.nev;
	dl_script_free(&sc);
	return nev;
}

/* The fields of a packet line but its options. */
static void assert_pkt(const struct dl_pkt *k, bool out, uint8_t flags, uint32_t seq, uint32_t len,
		       uint32_t ack, uint32_t win)
{
	assert_int_equal(k->out, out);
	assert_int_equal(k->flags, flags);
	assert_false(k->seq_any);
	assert_int_equal(k->seq, seq);
	assert_int_equal(k->len, len);
	assert_true(k->has_ack);
	assert_false(k->ack_any);
	assert_int_equal(k->ack, ack);
	assert_true(k->has_win);
	assert_false(k->win_any);
	assert_int_equal(k->win, win);
	assert_false(k->rest_any);
}

/* Every test parses into one struct dl_script, freed after it. */
static int setup(void **state)
{
	static struct dl_script sc;
	memset(&sc, 0, sizeof(sc));
	*state = &sc;
	return 0;
}

static int teardown(void **state)
{
	dl_script_free(*state);
	return 0;
}

/* A TCP option: its kind and its N values V. */
static void assert_opt(const struct dl_opt *o, enum dl_opt_kind kind, unsigned n, const uint32_t *v)
{
	assert_int_equal(o->kind, kind);
	assert_int_equal(o->n, n);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(o->v[i], v[i]);
}

/* ---- event times ---- */

/* An event time as written, and as parsed (packetdrill: absolute, "+"
 * relative to the previous line, "*" any time, "a...b" and "a~b" ranges). */
static const struct {
	const char *text;
	enum dl_time_kind kind;
	int64_t us, end_us;
	bool end_rel;
} times[] = {
	{"0", DL_T_ABS, 0, 0, false},
	{"1.25", DL_T_ABS, 1250000, 1250000, false}, /* no range: end == start */
	{".5", DL_T_ABS, 500000, 500000, false},
	{"+0.1", DL_T_REL, 100000, 100000, false},
	{"+0", DL_T_REL, 0, 0, false},
	{"*", DL_T_ANY, 0, 0, false},
	{"1.0...2.5", DL_T_ABS, 1000000, 2500000, false},
	{"2.0~3", DL_T_ABS, 2000000, 3000000, false},
	/* "+a~+b": both relative to the previous line, the end kept as written */
	{"+0.1~+0.3", DL_T_REL, 100000, 300000, true},
	{"+1.0...1.5", DL_T_REL, 1000000, 1500000, false},
	/* "a~+b" on an absolute start: the end is a + b */
	{"1~+2", DL_T_ABS, 1000000, 3000000, true},
};

static void test_times(void **state)
{
	struct dl_script *sc = *state;
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		char line[64];
		const struct dl_time *t;
		snprintf(line, sizeof(line), "\n%s close(3) = 0\n", times[i].text);
		parse_ok(line, sc, 1);
		t = &sc->ev[0].time;
		if (t->kind != times[i].kind || t->us != times[i].us || t->end_us != times[i].end_us ||
		    t->end_rel != times[i].end_rel)
			fail_msg("%s: kind %d %lld...%lld%s", times[i].text, (int)t->kind,
				 (long long)t->us, (long long)t->end_us, t->end_rel ? " end_rel" : "");
		assert_int_equal(sc->ev[0].line, 2);
	}
}

/* ---- packets ---- */

/* The packet of a one-line script. */
static const struct dl_pkt *parse_pkt(struct dl_script *sc, const char *line)
{
	parse_ok(line, sc, 1);
	assert_int_equal(sc->ev[0].type, DL_EV_PKT);
	return &sc->ev[0].pkt;
}

static void test_packet_outbound_syn_ack(void **state)
{
	const struct dl_pkt *k = parse_pkt(*state, "+0 > S. 0:0(0) ack 1 win 65535 <mss 1460,nop,"
					   "wscale 7,sackOK,TS val 100 ecr 200,eol>\n");
	assert_pkt(k, true, DL_SYN | DL_ACK, 0, 0, 1, 65535);
	assert_int_equal(k->ecn, -1);
	assert_int_equal(k->opts, DL_OPTS_LIST);
	assert_int_equal(k->nopt, 6);
	assert_opt(&k->opt[0], DL_OPT_MSS, 1, (uint32_t[]){1460});
	assert_opt(&k->opt[1], DL_OPT_NOP, 0, NULL);
	assert_opt(&k->opt[2], DL_OPT_WSCALE, 1, (uint32_t[]){7});
	assert_opt(&k->opt[3], DL_OPT_SACKOK, 0, NULL);
	assert_opt(&k->opt[4], DL_OPT_TS, 2, (uint32_t[]){100, 200});
	assert_opt(&k->opt[5], DL_OPT_EOL, 0, NULL);
}

static void test_packet_inbound_data_and_sack(void **state)
{
	const struct dl_pkt *k = parse_pkt(*state, "0.2 < P. 1:1001(1000) ack 1 win 257 "
					   "<nop,nop,sack 1:2 3:4>\n");
	assert_pkt(k, false, DL_PSH | DL_ACK, 1, 1000, 1, 257);
	assert_int_equal(k->nopt, 3);
	assert_opt(&k->opt[0], DL_OPT_NOP, 0, NULL);
	assert_opt(&k->opt[2], DL_OPT_SACK, 4, (uint32_t[]){1, 2, 3, 4});
}

static void test_packet_flags(void **state)
{
	struct dl_script *sc = *state;
	parse_ok("0 < SFRP.EWU 0:0(0) win 0\n"
		 "0 < - 0:0(0)\n"
		 "0 < R 5:5(0)\n"
		 "0 > F. 1:1(0) ack 2\n",
		 sc, 4);
	assert_int_equal(sc->ev[0].pkt.flags, DL_SYN | DL_FIN | DL_RST | DL_PSH | DL_ACK | DL_ECE |
						     DL_CWR | DL_URG);
	assert_int_equal(sc->ev[0].pkt.win, 0);
	assert_int_equal(sc->ev[1].pkt.flags, 0);
	assert_false(sc->ev[1].pkt.has_ack);
	assert_false(sc->ev[1].pkt.has_win);
	assert_int_equal(sc->ev[1].pkt.opts, DL_OPTS_NONE);
	assert_int_equal(sc->ev[2].pkt.flags, DL_RST);
	assert_int_equal(sc->ev[2].pkt.seq, 5);
	assert_int_equal(sc->ev[3].pkt.flags, DL_FIN | DL_ACK);
	assert_true(sc->ev[3].pkt.out);
}

static void test_packet_wildcards(void **state)
{
	struct dl_script *sc = *state;
	const struct dl_pkt *k;
	parse_ok("0 > S ... win ... <...>\n"
		 "0 > . 1:1(0) ack ... ...\n",
		 sc, 2);
	k = &sc->ev[0].pkt;
	assert_true(k->seq_any);
	assert_true(k->has_win);
	assert_true(k->win_any);
	assert_int_equal(k->opts, DL_OPTS_ANY);
	assert_false(k->rest_any);
	k = &sc->ev[1].pkt;
	assert_false(k->seq_any);
	assert_true(k->has_ack);
	assert_true(k->ack_any);
	assert_true(k->rest_any);
}

/* RFC 3168 5: the IP header's ECN codepoint, as packetdrill writes it */
static void test_packet_ecn(void **state)
{
	/* in the order of dl_pkt.ecn: the field's value, then 4 for either ECT */
	static const char *const names[] = {"noecn", "ect1", "ect0", "ce", "ect01"};
	for (int i = 0; i < 5; i++) {
		char line[64];
		/* [ect01] is only for what tapir sends */
		snprintf(line, sizeof(line), "0 %c [%s] . 1:1(0)\n", i == 4 ? '>' : '<', names[i]);
		assert_int_equal(parse_pkt(*state, line)->ecn, i);
	}
}

/* The IP header's fields: "(ttl N)", "(hlim N)", "(tos N)", "(class N)", a
 * pair; and '!' after the sequence numbers (absolute) */
static void test_packet_ip_fields(void **state)
{
	const struct dl_pkt *k = parse_pkt(*state, "0 > (hlim 4) R. 0:0(0)! ack 1 win 0\n");
	assert_int_equal(k->ip_ttl, 4);
	assert_int_equal(k->ip_tos, -1);
	assert_true(k->seq_abs);
	assert_int_equal(k->flags, DL_RST | DL_ACK);
	k = parse_pkt(*state, "0 < (class 0x28) S 0:0(0) win 1\n");
	assert_int_equal(k->ip_ttl, -1);
	assert_int_equal(k->ip_tos, 0x28);
	assert_false(k->seq_abs);
	k = parse_pkt(*state, "0 > (tos 0xe0, ttl 6) . 1:1(0) ack 1 win 1\n");
	assert_int_equal(k->ip_ttl, 6);
	assert_int_equal(k->ip_tos, 0xe0);
	k = parse_pkt(*state, "0 > . 1:1(0) ack 1 win 1\n");
	assert_int_equal(k->ip_ttl, -1);
	assert_int_equal(k->ip_tos, -1);
}

/* ICMP lines as parsed: RFC 792's types and codes (the MTU of RFC 1191),
 * and in an IPv6 script (V6) ICMPv6's (RFC 4443) */
static const struct {
	bool v6;
	const char *text;
	struct dl_icmp icmp;
} icmps[] = {
	{false, "unreachable frag_needed mtu 1200 [1:1461(1460)]", {3, 4, 1200, 1, 1460}},
	{false, "unreachable port_unreachable [0:0(0)]", {3, 3, 0, 0, 0}},
	{false, "time_exceeded ttl_exceeded_in_transit [7:8(1)]", {11, 0, 0, 7, 1}},
	{false, "time_exceeded frag_reass_exceeded [0:0(0)]", {11, 1, 0, 0, 0}},
	{false, "parameter_problem code_2 [5:6(1)]", {12, 2, 0, 5, 1}},
	{true, "unreachable no_route [0:0(0)]", {1, 0, 0, 0, 0}},
	{true, "unreachable admin_prohibited [1:1(0)]", {1, 1, 0, 1, 0}},
	{true, "unreachable not_neighbour [0:0(0)]", {1, 2, 0, 0, 0}},
	{true, "unreachable address_unreachable [0:0(0)]", {1, 3, 0, 0, 0}},
	{true, "unreachable port_unreachable [4294967295:4294967295(0)]", {1, 4, 0, 4294967295u, 0}},
	{true, "packet_too_big mtu 1300 [0:0(0)]", {2, 0, 1300, 0, 0}},
	{true, "time_exceeded exceeded_hop_limit [0:0(0)]", {3, 0, 0, 0, 0}},
	{true, "time_exceeded exceeded_frag_time [0:0(0)]", {3, 1, 0, 0, 0}},
	{true, "parameter_problem header_field [0:0(0)]", {4, 0, 0, 0, 0}},
	{true, "parameter_problem unknown_next_header [0:0(0)]", {4, 1, 0, 0, 0}},
	{true, "parameter_problem unknown_option [0:0(0)]", {4, 2, 0, 0, 0}},
};

static void check_icmp(struct dl_script *sc, const char *prefix, const char *text,
		       const struct dl_icmp *want)
{
	const struct dl_icmp *c;
	char line[160];
	snprintf(line, sizeof(line), "%s0 < icmp %s\n", prefix, text);
	parse_ok(line, sc, 1);
	assert_int_equal(sc->ev[0].type, DL_EV_ICMP);
	c = &sc->ev[0].icmp;
	if (c->type != want->type || c->code != want->code || c->mtu != want->mtu ||
	    c->seq != want->seq || c->len != want->len)
		fail_msg("%s: type %u code %u mtu %u [%u(%u)]", text, c->type, c->code, c->mtu,
			 c->seq, c->len);
}

static void test_packet_icmp(void **state)
{
	for (size_t i = 0; i < sizeof(icmps) / sizeof(icmps[0]); i++)
		check_icmp(*state, icmps[i].v6 ? "--ip_version=ipv6\n" : "", icmps[i].text,
			   &icmps[i].icmp);
}

static void test_packet_too_many_options(void **state)
{
	char nops[256];
	int n;
	(void)state;
	n = snprintf(nops, sizeof(nops), "0 < S 0:0(0) <");
	for (int i = 0; i < DL_MAX_OPTS; i++)
		n += snprintf(nops + n, sizeof(nops) - (size_t)n, "nop,");
	snprintf(nops + n, sizeof(nops) - (size_t)n, "nop>\n");
	parse_bad(nops, 1, false, "too many TCP options");
}

/* ---- system calls ---- */

static void test_call_args_and_return(void **state)
{
	struct dl_script *sc = *state;
	const struct dl_call *c;
	parse_ok("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
		 "+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0\n"
		 "+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n"
		 "+0 getpid ( ) = 7\n",
		 sc, 4);
	c = &sc->ev[0].call;
	assert_int_equal(sc->ev[0].type, DL_EV_CALL);
	assert_string_equal(c->name, "socket");
	assert_int_equal(c->nargs, 3);
	assert_string_equal(c->arg[0], "...");
	assert_string_equal(c->arg[1], "SOCK_STREAM");
	assert_string_equal(c->arg[2], "IPPROTO_TCP");
	assert_string_equal(c->ret, "3");
	assert_null(c->err);
	/* a comma inside braces does not end an argument */
	c = &sc->ev[1].call;
	assert_string_equal(c->name, "setsockopt");
	assert_int_equal(c->nargs, 5);
	assert_string_equal(c->arg[3], "{l_onoff=1, l_linger=0}");
	assert_string_equal(c->arg[4], "8");
	c = &sc->ev[2].call;
	assert_string_equal(c->arg[2], "O_RDWR|O_NONBLOCK");
	c = &sc->ev[3].call;
	assert_string_equal(c->name, "getpid");
	assert_int_equal(c->nargs, 0);
	assert_string_equal(c->ret, "7");
}

static void test_call_errno(void **state)
{
	struct dl_script *sc = *state;
	const struct dl_call *c;
	parse_ok("0 connect(3, ..., ...) = -1 ECONNREFUSED (Connection refused)\n"
		 "+0 read(3, ..., 10) = -1 EAGAIN\n"
		 "+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNRESET], [4]) = 0 (all well)\n",
		 sc, 3);
	c = &sc->ev[0].call;
	assert_string_equal(c->name, "connect");
	assert_int_equal(c->nargs, 3);
	assert_string_equal(c->ret, "-1");
	assert_string_equal(c->err, "ECONNREFUSED");
	c = &sc->ev[1].call;
	assert_string_equal(c->ret, "-1");
	assert_string_equal(c->err, "EAGAIN");
	c = &sc->ev[2].call;
	assert_string_equal(c->arg[3], "[ECONNRESET]");
	assert_string_equal(c->arg[4], "[4]");
	assert_string_equal(c->ret, "0");
	assert_null(c->err);
}

static void test_events_before_a_problem(void **state)
{
	(void)state;
	/* the events before the first problem are kept (they run); none after it */
	assert_int_equal(parse_bad("0 close(3) = 0\n+0 close 3\n+0 close(4) = 0\n", 2, false,
				   "cannot parse: +0 close 3"),
			 1);
}

/* ---- other lines ---- */

static void test_shell_and_code_blocks(void **state)
{
	struct dl_script *sc = *state;
	parse_ok("0 `sysctl -w net.inet.tcp.recvspace=1000`\n"
		 "+0 %{\n"
		 "print(1)\n"
		 "}%\n"
		 "0.1 `echo a//b` // a comment\n"
		 "0.2 close(3) = 0 // closes\n",
		 sc, 4);
	assert_int_equal(sc->ev[0].type, DL_EV_SHELL);
	assert_string_equal(sc->ev[0].text, "`sysctl -w net.inet.tcp.recvspace=1000`");
	assert_int_equal(sc->ev[1].type, DL_EV_CODE);
	assert_int_equal(sc->ev[1].line, 2);
	/* "//" inside backquotes is not a comment */
	assert_int_equal(sc->ev[2].type, DL_EV_SHELL);
	assert_int_equal(sc->ev[2].line, 5);
	assert_non_null(strstr(sc->ev[2].text, "`echo a//b`"));
	assert_int_equal(sc->ev[3].line, 6);
	assert_string_equal(sc->ev[3].call.ret, "0");
}

/* Linux's scripts: an untimed defaults line first; Python keeps its
 * lines (indentation matters to it) */
static void test_linux_forms(void **state)
{
	struct dl_script *sc = *state;
	parse_ok("`../common/defaults.sh`\n"
		 "0 %{\n"
		 "  assert tcpi_state == 1\n"
		 "  assert tcpi_rto > 0\n"
		 "}%\n",
		 sc, 2);
	assert_int_equal(sc->ev[0].type, DL_EV_SHELL);
	assert_int_equal(sc->ev[0].time.kind, DL_T_REL);
	assert_int_equal(sc->ev[0].time.us, 0);
	assert_int_equal(sc->ev[1].type, DL_EV_CODE);
	assert_non_null(strstr(sc->ev[1].text, "== 1\n  assert"));
	/* a shell line over lines keeps them: each is a command */
	parse_ok("`./defaults.sh\n ./set_sysctls.py /proc/sys/net/ipv4/tcp_ecn=1\n`\n"
		 "0 close(3) = 0\n",
		 sc, 2);
	assert_string_equal(sc->ev[0].text,
			    "`./defaults.sh\n ./set_sysctls.py /proc/sys/net/ipv4/tcp_ecn=1\n`");
	assert_int_equal(sc->ev[1].line, 4);
	/* the Fast Open option (RFC 7413 4.1.1): a request, and a cookie */
	parse_ok("0 < S 0:0(0) win 100 <mss 1460,FO,nop,nop>\n"
		 "0 > S. 0:0(0) ack 1 <FO 0102030405,nop>\n",
		 sc, 2);
	assert_int_equal(sc->ev[0].pkt.opt[1].kind, DL_OPT_FO);
	assert_int_equal(sc->ev[0].pkt.opt[1].v[0], 0);
	assert_int_equal(sc->ev[1].pkt.opt[0].kind, DL_OPT_FO);
	assert_int_equal(sc->ev[1].pkt.opt[0].v[0], 5);
	assert_int_equal(sc->ev[1].pkt.opt[0].v[1], 0x01020304);
	assert_int_equal(sc->ev[1].pkt.opt[0].v[2], 0x05000000);
	assert_int_equal(sc->ev[1].pkt.opt[0].n, 3);
	/* an odd number of hex digits is no cookie */
	parse_bad("0 > S 0:0(0) <FO 012>\n", 1, false, "cannot parse packet");
	/* packetdrill's header options drill takes or has no use for */
	parse_ok("--tolerance_percent=10\n--local_ip=10.0.0.1\n--remote_ip=10.1.0.1\n"
		 "--gateway_ip=10.0.0.2\n--netmask_ip=255.255.255.0\n--speed=1000\n"
		 "--non_fatal=packet\n",
		 sc, 0);
	assert_int_equal(sc->cfg.tolerance_pct, 10);
	assert_int_equal(tapir_ip_v4(&sc->cfg.local), 0x0a000001);
	assert_int_equal(tapir_ip_v4(&sc->cfg.remote), 0x0a010001);
	assert_int_equal(tapir_ip_v4(&sc->cfg.gateway), 0x0a000002);
	assert_int_equal(sc->cfg.prefix_len, 24);
	parse_bad("--local_ip=10.0.0\n", 1, false, "--local_ip=10.0.0: not an IPv4");
	assert_true(dl_option_known("tolerance_usecs=5"));
	assert_true(dl_option_known("wire_client"));
	assert_false(dl_option_known("tcp_md5_secret=x"));
	assert_false(dl_option_known("no_such_option=1"));
}

/* Forms of the scripts packetdrill's authors run against Linux */
static void test_linux_script_forms(void **state)
{
	struct dl_script *sc = *state;
	/* a range from "+0": strtod's "0." must not eat the "..." */
	parse_ok("+0...0.200 accept(3, ..., ...) = 4\n+.002 ... 0.052 connect(4, ..., ...) = 0\n",
		 sc, 2);
	assert_int_equal(sc->ev[0].time.kind, DL_T_REL);
	assert_int_equal(sc->ev[0].time.us, 0);
	assert_int_equal(sc->ev[0].time.end_us, 200000);
	assert_int_equal(sc->ev[1].time.us, 2000);
	assert_int_equal(sc->ev[1].time.end_us, 52000);
	/* a call over lines, a comment inside: one event, at its first line */
	parse_ok("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
		 "+0 poll([{fd=3, // the listener\n"
		 "          events=POLLIN,\n"
		 "          revents=POLLIN}], 1, 100) = 1\n"
		 "+0 close(3) = 0\n",
		 sc, 3);
	assert_string_equal(sc->ev[1].call.name, "poll");
	assert_int_equal(sc->ev[1].line, 2);
	assert_int_equal(sc->ev[1].call.nargs, 3);
	assert_string_equal(sc->ev[1].call.ret, "1");
	assert_int_equal(sc->ev[2].line, 5);
	/* --strict_segments: one > line per segment */
	parse_ok("--strict_segments\n", sc, 0);
	assert_int_equal(sc->cfg.strict_segments, 1);
	assert_true(dl_option_known("strict_segments"));
	/* AccECN (RFC 9768): the AE flag and the ACE counter SKIP */
	parse_bad("0 > [noecn] SEWA 0:0(0) <mss 1460>\n", 1, true, "AccECN");
	parse_bad("0 > [ect0] P.6 1:101(100) ack 1\n", 1, true, "AccECN");
	parse_bad("0 > [ect0] P5. 1:101(100) ack 1\n", 1, true, "AccECN");
}

static void test_options(void **state)
{
	struct dl_script *sc = *state;
	parse_ok("// defaults first\n", sc, 0);
	assert_int_equal(sc->cfg.tolerance_us, 4000);
	assert_int_equal(sc->cfg.mtu, 1500);
	assert_int_equal(sc->cfg.bind_port, 8080);
	assert_int_equal(sc->cfg.connect_port, 8080);
	assert_true(tapir_ip_is_v4(&sc->cfg.local));
	assert_int_equal(tapir_ip_v4(&sc->cfg.local), 0xc0a80001);
	assert_int_equal(tapir_ip_v4(&sc->cfg.remote), 0xc0000201);
	assert_int_equal(tapir_ip_v4(&sc->cfg.gateway), 0xc0a80002);
	assert_int_equal(sc->cfg.prefix_len, 16);
	assert_int_equal(sc->cfg.ipv6, 0);
	parse_ok("--ip_version=ipv4\n--tolerance_usecs=10000\n--mtu=1400 \n"
		 "--bind_port=9000\n--connect_port=9001\n",
		 sc, 0);
	assert_int_equal(sc->cfg.tolerance_us, 10000);
	assert_int_equal(sc->cfg.mtu, 1400);
	assert_int_equal(sc->cfg.bind_port, 9000);
	assert_int_equal(sc->cfg.connect_port, 9001);
	assert_int_equal(sc->cfg.ipv6, 0);
	parse_ok("--ip_version=ipv6\n", sc, 0);
	assert_int_equal(sc->cfg.ipv6, 1);
	assert_int_equal(sc->cfg.v6_socket, 1);
}

/* packetdrill's IPv6 addresses; ipv4-mapped-ipv6 is IPv4 on the wire */
static void test_ip_versions(void **state)
{
	struct dl_script *sc = *state;
	char a[TAPIR_IP_STRLEN];
	parse_ok("--ip_version=ipv6\n", sc, 0);
	assert_string_equal(tapir_ip_str(&sc->cfg.local, a), "fd3d:fa7b:d17d::");
	assert_int_equal(sc->cfg.prefix_len, 48);
	assert_string_equal(tapir_ip_str(&sc->cfg.remote, a), "2001:db8::1");
	assert_string_equal(tapir_ip_str(&sc->cfg.gateway, a), "fe80::2");
	parse_ok("--ip_version=ipv4-mapped-ipv6\n", sc, 0);
	assert_int_equal(sc->cfg.ipv6, 0);
	assert_int_equal(sc->cfg.v6_socket, 1);
	assert_int_equal(tapir_ip_v4(&sc->cfg.local), 0xc0a80001);
	parse_ok("--ip_version=ipv6\n--ip_version=ipv4\n", sc, 0);
	assert_int_equal(sc->cfg.ipv6, 0);
	assert_int_equal(sc->cfg.v6_socket, 0);
	assert_int_equal(tapir_ip_v4(&sc->cfg.remote), 0xc0000201);
}

/* #ifdef NAME: the names given (-D on the command line) */
static void test_defines(void **state)
{
	static const char script[] = "#ifdef FreeBSD\n"
				     "0 close(3) = 0\n"
				     "#else\n"
				     "0 close(4) = 0\n"
				     "#ifndef STANDARD\n"
				     "0 close(5) = 0\n"
				     "#endif\n"
				     "#endif\n"
				     "0 close(6) = 0\n";
	static const char *const standard[] = {"STANDARD", NULL};
	static const char *const freebsd[] = {"FreeBSD", NULL};
	struct dl_script *sc = *state;
	parse_def(script, standard, sc, 2);
	assert_string_equal(sc->ev[0].call.arg[0], "4");
	assert_int_equal(sc->ev[0].line, 4);
	assert_string_equal(sc->ev[1].call.arg[0], "6");
	parse_def(script, freebsd, sc, 2);
	assert_string_equal(sc->ev[0].call.arg[0], "3");
	assert_string_equal(sc->ev[1].call.arg[0], "6");
	parse_ok(script, sc, 3);
	assert_string_equal(sc->ev[0].call.arg[0], "4");
	assert_string_equal(sc->ev[1].call.arg[0], "5");
	/* reported at the end of the file */
	/* a skipped branch is not parsed */
	parse_ok("#ifdef X\nnot a line\n#endif\n", sc, 0);
}

static void test_file_errors(void **state)
{
	struct dl_script *sc = *state;
	assert_int_equal(dl_parse_file("/nonexistent/drill/script.pkt", NULL, NULL, sc), -1);
	assert_non_null(strstr(sc->bad_msg, "cannot open"));
	assert_int_equal(parse_bytes("0 close(3) = 0\n\0\n", 17, NULL, sc), -1);
	assert_string_equal(sc->bad_msg, "not a text file");
}

/* ---- lines that are rejected ---- */

/* A script and its first problem: the line, FAIL or SKIP (valid packetdrill
 * tapir drill does not implement), the start of the message. */
static const struct rejected {
	const char *text;
	int line;
	bool skip;
	const char *msg;
} rejected[] = {
	/* event times */
	{"2...1 close(3) = 0\n", 1, false, "cannot parse: 2...1"},
	{"+0.5~+0.1 close(3) = 0\n", 1, false, "cannot parse: "},
	{"0 close(3) = 0\nsoon close(3) = 0\n", 2, false, "cannot parse: soon"},
	{"-1 close(3) = 0\n", 1, false, "cannot parse: -1"},
	{"1...x close(3) = 0\n", 1, false, "cannot parse: "},
	/* the ECN codepoint (RFC 3168 5) */
	{"0 < [ect01] . 1:1(0)\n", 1, false, "[ect01] is for packets tapir sends"},
	{"0 < [ect2] . 1:1(0)\n", 1, true, "unknown ECN codepoint"},
	/* ICMP */
	{"0 > icmp unreachable port_unreachable [0:0(0)]\n", 1, true,
	 "outbound ICMP not supported"},
	{"0 < icmp echo [0:0(0)]\n", 1, true, "ICMP type 'echo' not supported"},
	{"0 < icmp unreachable no_such_code [0:0(0)]\n", 1, false, "cannot parse packet"},
	{"0 < icmp unreachable port_unreachable [0:5(4)]\n", 1, false, "cannot parse packet"},
	/* TCP segments */
	{"0 > S 0:10(5)\n", 1, false, "sequence range 0:10 does not match length 5"},
	{"0 > S 0:0\n", 1, false, "cannot parse packet: 0 > S 0:0"},
	{"0 > S 0:0(0) win 70000\n", 1, false, "cannot parse packet"},
	{"0 > S 0:0(0) <mss 70000>\n", 1, false, "cannot parse packet"},
	{"0 > S 0:0(0) <wscale 256>\n", 1, false, "cannot parse packet"},
	{"0 > S 0:0(0) <TS val 1>\n", 1, false, "cannot parse packet"},
	{"0 > S 0:0(0) <sack>\n", 1, false, "cannot parse packet"},
	{"0 > S 0:0(0) <mss 1460 nop>\n", 1, false, "cannot parse packet"},
	{"0 < . 1:65002(65001) ack 1\n", 1, false, "payload of 65001 bytes too long"},
	{"0 > S 0:0(0) frob 1\n", 1, true, "packet field 'frob 1' not supported"},
	{"0 > S 0:0(0) <md5 abc>\n", 1, true, "TCP option 'md5' not supported"},
	{"0 < (flowlabel 0x1) S 0:0(0)\n", 1, true, "IP header field not supported"},
	{"0 < (ttl 256) S 0:0(0)\n", 1, false, "cannot parse packet"},
	{"0 < (ttl 1 S 0:0(0)\n", 1, false, "cannot parse packet"},
	{"0 < S 0:0(0) /udp\n", 1, true, "encapsulation"},
	/* system calls */
	{"0 close 3\n", 1, false, "cannot parse: 0 close 3"},
	{"0 close(3)\n", 1, false, "cannot parse: "},
	{"0 close(3) 0\n", 1, false, "cannot parse: "},
	{"0 close(3 = 0\n", 1, false, "cannot parse: "},
	{"0 close(3) = 0 junk\n", 1, false, "cannot parse: "},
	{"0 f(1, 2, 3, 4, 5, 6, 7, 8, 9) = 0\n", 1, false, "cannot parse: "},
	{"0 = 0\n", 1, false, "cannot parse: 0 = 0"},
	/* shell commands and code blocks */
	{"0 %{\nprint(1)\n", 1, false, "unterminated }%"},
	/* options */
	{"--ip_version=ipx\n", 1, false, "unknown --ip_version=ipx"},
	{"\n--tcp_md5_secret=x\n", 2, true, "option --tcp_md5_secret not supported"},
	/* the preprocessor */
	{"#ifdef X\n0 close(3) = 0\n", 3, false, "#ifdef without #endif"}, /* at the end */
	{"#define X 1\n", 1, false, "unknown preprocessor line #define"},
};

static void test_rejected_lines(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rejected) / sizeof(rejected[0]); i++) {
		const struct rejected *x = &rejected[i];
		parse_bad(x->text, x->line, x->skip, x->msg);
	}
}

/* ---- expressions ---- */

static void test_eval(void **state)
{
	long long v = 0;
	char bad[32];
	(void)state;
	assert_int_equal(dl_eval("12", &v, bad, sizeof(bad)), 0);
	assert_int_equal(v, 12);
	assert_int_equal(dl_eval("0x2", &v, bad, sizeof(bad)), 0);
	assert_int_equal(v, 2);
	assert_int_equal(dl_eval("-1", &v, bad, sizeof(bad)), 0);
	assert_int_equal(v, -1);
	assert_int_equal(dl_eval(" O_RDWR | O_NONBLOCK ", &v, bad, sizeof(bad)), 0);
	assert_int_equal(v, O_RDWR | O_NONBLOCK);
	assert_int_equal(dl_eval("MSG_PEEK|MSG_DONTWAIT|1", &v, bad, sizeof(bad)), 0);
	assert_int_equal(v, MSG_PEEK | MSG_DONTWAIT | 1);
	assert_int_equal(dl_eval("3 | 1", &v, bad, sizeof(bad)), 0); /* an OR, not a sum */
	assert_int_equal(v, 3);
	assert_int_equal(dl_eval("ECONNREFUSED", &v, bad, sizeof(bad)), 0);
	assert_int_equal(v, ECONNREFUSED);
	assert_int_equal(dl_eval("SHUT_WR", &v, bad, sizeof(bad)), 0);
	assert_int_equal(v, SHUT_WR);
	/* an unknown name is reported by itself, other mistakes whole */
	assert_int_equal(dl_eval("O_RDWR | TCP_NOOPT", &v, bad, sizeof(bad)), -1);
	assert_string_equal(bad, "TCP_NOOPT");
	assert_int_equal(dl_eval("1 + 2", &v, bad, sizeof(bad)), -1);
	assert_string_equal(bad, "1 + 2");
	assert_int_equal(dl_eval("1 |", &v, bad, sizeof(bad)), -1);
	assert_int_equal(dl_eval("", &v, bad, sizeof(bad)), -1);
	assert_int_equal(dl_eval("99999999999999999999", &v, bad, sizeof(bad)), -1);
	assert_int_equal(dl_eval("[1]", &v, bad, sizeof(bad)), -1);
}

static void test_errno_name(void **state)
{
	(void)state;
	assert_string_equal(dl_errno_name(ECONNRESET), "ECONNRESET");
	assert_string_equal(dl_errno_name(ECONNREFUSED), "ECONNREFUSED");
	assert_string_equal(dl_errno_name(EINPROGRESS), "EINPROGRESS");
	assert_string_equal(dl_errno_name(ETIMEDOUT), "ETIMEDOUT");
	/* EWOULDBLOCK is EAGAIN's other name: the first one is shown */
	assert_string_equal(dl_errno_name(EAGAIN), "EAGAIN");
	assert_null(dl_errno_name(0));
	assert_null(dl_errno_name(100000));
}

int main(void)
{
	return CMT_RUN(setup, teardown, test_times, test_packet_outbound_syn_ack,
		       test_packet_inbound_data_and_sack, test_packet_flags, test_packet_wildcards,
		       test_packet_ecn, test_packet_ip_fields, test_packet_icmp, test_packet_too_many_options,
		       test_call_args_and_return, test_call_errno, test_events_before_a_problem,
		       test_shell_and_code_blocks, test_linux_forms, test_linux_script_forms, test_options, test_ip_versions, test_defines, test_file_errors,
		       test_rejected_lines, test_eval, test_errno_name);
}
