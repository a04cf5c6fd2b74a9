/* tapir drill: the script parser.
 *
 * packetdrill's grammar, as far as the FreeBSD TCP suite uses it, read line
 * by line: options (--name=value), preprocessor lines (#ifdef), and timed
 * events: shell commands in backquotes, %{ python }% blocks, packets
 * (< injected, > expected) and system calls.  Nothing here touches the
 * stack; drill.c interprets the events. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "drill.h"

/* ---- the reader ---- */

struct rd {
	struct dl_script *sc;
	int line;
	const char *p;
};

static void bad(struct rd *r, bool skip, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void bad(struct rd *r, bool skip, const char *fmt, ...)
{
	va_list ap;
	if (r->sc->bad_line)
		return; /* the first problem is the one reported */
	r->sc->bad_line = r->line;
	r->sc->bad_skip = skip;
	va_start(ap, fmt);
	vsnprintf(r->sc->bad_msg, sizeof(r->sc->bad_msg), fmt, ap);
	va_end(ap);
}

static void ws(struct rd *r)
{
	while (*r->p == ' ' || *r->p == '\t' || *r->p == '\r' || *r->p == '\n')
		r->p++;
}

static bool lit(struct rd *r, const char *s)
{
	size_t n = strlen(s);
	ws(r);
	if (strncmp(r->p, s, n))
		return false;
	r->p += n;
	return true;
}

/* A keyword: S followed by something that cannot continue a name. */
static bool kw(struct rd *r, const char *s)
{
	size_t n = strlen(s);
	ws(r);
	if (strncmp(r->p, s, n) || isalnum((unsigned char)r->p[n]) || r->p[n] == '_')
		return false;
	r->p += n;
	return true;
}

static bool u32(struct rd *r, uint32_t *v)
{
	char *end;
	unsigned long long x;
	ws(r);
	if (!isdigit((unsigned char)*r->p))
		return false;
	errno = 0;
	x = strtoull(r->p, &end, 0);
	if (errno || x > UINT32_MAX)
		return false;
	r->p = end;
	*v = (uint32_t)x;
	return true;
}

/* Seconds with a fraction, as microseconds. */
static bool secs(struct rd *r, int64_t *us)
{
	char *end;
	double x;
	ws(r);
	if (!isdigit((unsigned char)*r->p) && *r->p != '.')
		return false;
	x = strtod(r->p, &end);
	if (end == r->p || !(x >= 0 && x < 1e9))
		return false;
	/* "+0...0.200": strtod takes "0." and would leave ".." of the range */
	if (end - r->p >= 2 && end[-1] == '.' && end[0] == '.')
		end--;
	r->p = end;
	*us = llround(x * 1e6);
	return true;
}

/* "0.1", "+0.1", "*", "1.0...2.0", "+1~+2" */
static bool parse_time(struct rd *r, struct dl_time *t)
{
	memset(t, 0, sizeof(*t));
	ws(r);
	if (*r->p == '*') {
		r->p++;
		t->kind = DL_T_ANY;
		return true;
	}
	t->kind = DL_T_ABS;
	if (*r->p == '+') {
		r->p++;
		t->kind = DL_T_REL;
	}
	if (!secs(r, &t->us))
		return false;
	t->end_us = t->us;
	if (lit(r, "...") || lit(r, "~")) {
		ws(r);
		if (*r->p == '+') {
			r->p++;
			t->end_rel = true;
		}
		if (!secs(r, &t->end_us))
			return false;
		if (t->end_rel && t->kind == DL_T_ABS)
			t->end_us += t->us;
		if (t->end_us < t->us)
			return false;
	}
	return true;
}

/* The hex digits of a Fast Open cookie (RFC 7413 4.1.1), if any */
static bool fo_cookie(struct rd *r, struct dl_opt *o)
{
	unsigned len = 0;
	ws(r);
	while (isxdigit((unsigned char)r->p[0]) && isxdigit((unsigned char)r->p[1])) {
		char h[3] = {r->p[0], r->p[1], 0};
		if (len == DL_FO_COOKIE_MAX)
			return false;
		o->v[1 + len / 4] |= (uint32_t)strtoul(h, NULL, 16) << (24 - 8 * (len % 4));
		len++;
		r->p += 2;
	}
	if (isxdigit((unsigned char)*r->p))
		return false; /* an odd number of digits */
	o->v[0] = len;
	o->n = 1 + (len + 3) / 4;
	return true;
}

static bool parse_opts(struct rd *r, struct dl_pkt *k)
{
	/* after '<' */
	if (lit(r, "...")) {
		k->opts = DL_OPTS_ANY;
		return lit(r, ">");
	}
	k->opts = DL_OPTS_LIST;
	for (;;) {
		struct dl_opt *o;
		if (k->nopt == DL_MAX_OPTS) {
			bad(r, false, "too many TCP options");
			return false;
		}
		o = &k->opt[k->nopt++];
		memset(o, 0, sizeof(*o));
		if (kw(r, "nop")) {
			o->kind = DL_OPT_NOP;
		} else if (kw(r, "eol")) {
			o->kind = DL_OPT_EOL;
		} else if (kw(r, "mss")) {
			o->kind = DL_OPT_MSS;
			if (!u32(r, &o->v[0]) || o->v[0] > 65535)
				return false;
			o->n = 1;
		} else if (kw(r, "wscale")) {
			o->kind = DL_OPT_WSCALE;
			if (!u32(r, &o->v[0]) || o->v[0] > 255)
				return false;
			o->n = 1;
		} else if (kw(r, "sackOK")) {
			o->kind = DL_OPT_SACKOK;
		} else if (kw(r, "sack")) {
			o->kind = DL_OPT_SACK;
			while (o->n < 8 && u32(r, &o->v[o->n])) {
				if (!lit(r, ":") || !u32(r, &o->v[o->n + 1]))
					return false;
				o->n += 2;
			}
			if (!o->n)
				return false;
		} else if (kw(r, "FO")) {
			/* "FO" asks for a cookie; "FO 0123abcd" carries one */
			o->kind = DL_OPT_FO;
			if (!fo_cookie(r, o))
				return false;
		} else if (kw(r, "TS")) {
			o->kind = DL_OPT_TS;
			if (!kw(r, "val") || !u32(r, &o->v[0]) || !kw(r, "ecr") || !u32(r, &o->v[1]))
				return false;
			o->n = 2;
		} else {
			char name[24];
			ws(r);
			sscanf(r->p, "%23[A-Za-z0-9_]", name);
			bad(r, true, "TCP option '%s' not supported", name);
			return false;
		}
		if (lit(r, ">"))
			return true;
		if (!lit(r, ","))
			return false;
	}
}

/* ICMP messages by packetdrill's names: for IPv4 RFC 792's (the MTU of
 * RFC 1191), for IPv6 RFC 4443's; a code by its name, its place in the
 * type's list, or "code_N". */
static const char *const unreach4[] = {
	"net_unreachable", "host_unreachable", "protocol_unreachable", "port_unreachable",
	"frag_needed", "source_route_failed", "net_unknown", "host_unknown",
	"source_host_isolated", "net_prohibited", "host_prohibited", "net_unreachable_for_tos",
	"host_unreachable_for_tos", "packet_filtered", "precedence_violation",
	"precedence_cutoff", NULL,
};
static const char *const timex4[] = {"ttl_exceeded_in_transit", "frag_reass_exceeded", NULL};
/* RFC 4443 3.1: code 2 is "beyond scope" now, "not a neighbor" in RFC 2463 */
static const char *const unreach6[] = {"no_route", "admin_prohibited", "not_neighbour",
				       "address_unreachable", "port_unreachable", NULL};
static const char *const timex6[] = {"exceeded_hop_limit", "exceeded_frag_time", NULL};
static const char *const param6[] = {"header_field", "unknown_next_header", "unknown_option",
				     NULL};
static const char *const no_codes[] = {NULL};
struct icmp_type {
	const char *name;
	uint8_t type;
	const char *const *codes;
};
static const struct icmp_type icmp4[] = {
	{"unreachable", 3, unreach4}, {"source_quench", 4, no_codes}, {"redirect", 5, no_codes},
	{"time_exceeded", 11, timex4}, {"parameter_problem", 12, no_codes}, {NULL, 0, NULL},
};
static const struct icmp_type icmp6[] = {
	{"unreachable", 1, unreach6}, {"packet_too_big", 2, no_codes},
	{"time_exceeded", 3, timex6}, {"parameter_problem", 4, param6}, {NULL, 0, NULL},
};

/* "< icmp TYPE [CODE] [mtu N] [SEQ:END(LEN)]" (after "icmp") */
static bool parse_icmp(struct rd *r, struct dl_event *e)
{
	struct dl_icmp *c = &e->icmp;
	const struct icmp_type *t = r->sc->cfg.ipv6 ? icmp6 : icmp4;
	char word[40] = "";
	uint32_t end;
	e->type = DL_EV_ICMP;
	ws(r);
	sscanf(r->p, "%39[a-z_]", word);
	while (t->name && strcmp(word, t->name))
		t++;
	if (!t->name) {
		bad(r, true, "ICMP type '%s' not supported", word);
		return false;
	}
	c->type = t->type;
	r->p += strlen(word);
	ws(r);
	word[0] = 0;
	sscanf(r->p, "%39[a-z_0-9]", word);
	if (word[0] && strcmp(word, "mtu")) {
		size_t i = 0;
		while (t->codes[i] && strcmp(word, t->codes[i]))
			i++;
		if (t->codes[i])
			c->code = (uint8_t)i;
		else if (!strncmp(word, "code_", 5))
			c->code = (uint8_t)atoi(word + 5);
		else
			return false;
		r->p += strlen(word);
	}
	if (kw(r, "mtu")) {
		uint32_t m;
		if (!u32(r, &m) || m > 65535)
			return false;
		c->mtu = (uint16_t)m;
	}
	if (!lit(r, "[") || !u32(r, &c->seq) || !lit(r, ":") || !u32(r, &end) || !lit(r, "(") ||
	    !u32(r, &c->len) || !lit(r, ")") || !lit(r, "]"))
		return false;
	return end - c->seq == c->len;
}

/* "(ttl N)", "(hlim N)", "(tos 0xNN)", "(class 0xNN)", or a tos or class
 * and a ttl or hlim, comma-separated: the IP header's fields */
static bool parse_ip_fields(struct rd *r, struct dl_pkt *k)
{
	r->p++; /* '(' */
	do {
		uint32_t v;
		bool hops = kw(r, "ttl") || kw(r, "hlim"), tos = !hops && (kw(r, "tos") || kw(r, "class"));
		if (!hops && !tos) {
			bad(r, true, "IP header field not supported (ttl, hlim, tos, class)");
			return false;
		}
		if (!u32(r, &v) || v > 255)
			return false;
		*(hops ? &k->ip_ttl : &k->ip_tos) = (int)v;
	} while (lit(r, ","));
	return lit(r, ")");
}

static bool parse_packet(struct rd *r, struct dl_event *e)
{
	struct dl_pkt *k = &e->pkt;
	uint32_t end;
	k->out = *r->p++ == '>';
	k->ecn = -1;
	k->ip_ttl = k->ip_tos = -1;
	ws(r);
	if (*r->p == '[') { /* ECN codepoint of the IP header (RFC 3168 5) */
		static const char *const names[] = {"[noecn]", "[ect1]", "[ect0]", "[ce]", "[ect01]"};
		for (int i = 0; i < 5 && k->ecn < 0; i++)
			if (lit(r, names[i]))
				k->ecn = i;
		if (k->ecn < 0) {
			bad(r, true, "unknown ECN codepoint (noecn, ect0, ect1, ect01, ce)");
			return false;
		}
		if (!k->out && k->ecn == 4) {
			bad(r, false, "[ect01] is for packets tapir sends");
			return false;
		}
	}
	if (kw(r, "icmp")) {
		if (k->out) {
			bad(r, true, "outbound ICMP not supported");
			return false;
		}
		return parse_icmp(r, e);
	}
	e->type = DL_EV_PKT;
	ws(r);
	if (*r->p == '(' && !parse_ip_fields(r, k))
		return false;
	ws(r);
	while (*r->p && strchr("SFRP.EWU-", *r->p)) {
		switch (*r->p++) {
		case 'S': k->flags |= DL_SYN; break;
		case 'F': k->flags |= DL_FIN; break;
		case 'R': k->flags |= DL_RST; break;
		case 'P': k->flags |= DL_PSH; break;
		case '.': k->flags |= DL_ACK; break;
		case 'E': k->flags |= DL_ECE; break;
		case 'W': k->flags |= DL_CWR; break;
		case 'U': k->flags |= DL_URG; break;
		default: break; /* '-': no flags */
		}
	}
	/* AccECN (RFC 9768 3.2): Linux's scripts write the AE flag as 'A'
	 * and the ACE counter as a digit among the flags ("P.6", "P5.") */
	if (*r->p == 'A' || (isdigit((unsigned char)*r->p) && strchr("SFRP.EWU", r->p[-1]))) {
		bad(r, true, "AccECN (AE flag, ACE counter) not supported");
		return false;
	}
	if (lit(r, "...")) {
		k->seq_any = true;
		/* "...(LEN)": any sequence number, LEN bytes (this suite's
		 * form for a SYN,ACK whose ISN the script cannot know) */
		if (lit(r, "(") && (!u32(r, &k->len) || !lit(r, ")")))
			return false;
	} else {
		if (!u32(r, &k->seq) || !lit(r, ":") || !u32(r, &end) || !lit(r, "(") ||
		    !u32(r, &k->len) || !lit(r, ")"))
			return false;
		if (end - k->seq != k->len) {
			bad(r, false, "sequence range %u:%u does not match length %u", k->seq, end,
			    k->len);
			return false;
		}
		if (k->len > 65000) {
			bad(r, false, "payload of %u bytes too long", k->len);
			return false;
		}
		/* '!': an absolute sequence number, not relative to an ISN */
		k->seq_abs = *r->p == '!';
		r->p += k->seq_abs;
	}
	for (;;) {
		ws(r);
		if (!*r->p)
			return true;
		if (kw(r, "ack")) {
			k->has_ack = true;
			if (lit(r, "..."))
				k->ack_any = true;
			else if (!u32(r, &k->ack))
				return false;
		} else if (kw(r, "win")) {
			k->has_win = true;
			if (lit(r, "..."))
				k->win_any = true;
			else if (!u32(r, &k->win) || k->win > 65535)
				return false;
		} else if (lit(r, "<")) {
			if (!parse_opts(r, k))
				return false;
		} else if (lit(r, "...")) {
			k->rest_any = true;
		} else if (*r->p == '/') {
			bad(r, true, "encapsulation (%.10s) not supported", r->p);
			return false;
		} else {
			bad(r, true, "packet field '%.12s' not supported", r->p);
			return false;
		}
	}
}

/* name(arg, ...) = ret [ERRNO] [(text)] */
static bool parse_call(struct rd *r, struct dl_event *e)
{
	struct dl_call *c = &e->call;
	char *p = (char *)r->p, *start;
	int depth = 0;
	e->type = DL_EV_CALL;
	c->name = p;
	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	if (p == c->name)
		return false;
	start = p;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '(')
		return false;
	*start = 0; /* ends the name */
	p++;
	start = p;
	for (;; p++) {
		if (!*p)
			return false;
		if (*p == '(' || *p == '[' || *p == '{')
			depth++;
		else if ((*p == ')' || *p == ']' || *p == '}') && depth)
			depth--;
		else if ((*p == ',' || *p == ')') && !depth) {
			char c0 = *p, *a = start, *z = p;
			while (isspace((unsigned char)*a))
				a++;
			while (z > a && isspace((unsigned char)z[-1]))
				z--;
			*z = 0;
			if (*a || c->nargs) {
				if (c->nargs == DL_MAX_ARGS)
					return false;
				c->arg[c->nargs++] = a;
			}
			start = p + 1;
			if (c0 == ')')
				break;
		}
	}
	r->p = p + 1;
	if (!lit(r, "="))
		return false;
	ws(r);
	p = (char *)r->p;
	c->ret = p;
	while (*p && !isspace((unsigned char)*p))
		p++;
	if (*p)
		*p++ = 0;
	while (isspace((unsigned char)*p))
		p++;
	if (isupper((unsigned char)*p)) {
		c->err = p;
		while (isalnum((unsigned char)*p) || *p == '_')
			p++;
		if (*p)
			*p++ = 0;
	}
	while (isspace((unsigned char)*p))
		p++;
	/* the rest is a comment in parentheses: "(Operation now in progress)" */
	if (*p && *p != '(')
		return false;
	r->p = p + strlen(p);
	return true;
}

/* packetdrill's addresses: tapir is the local host, the script the remote
 * one behind a router.  IPv4: 192.168.0.1/16, 192.0.2.1 behind 192.168.0.2.
 * IPv6: fd3d:fa7b:d17d::/48 and 2001:db8::1 (RFC 3849); the router is
 * fe80::2, its link-local address, the one its advertisements come from
 * (RFC 4861 6.1.2) and a host's default router is known by. */
static void addr_defaults(struct dl_config *c)
{
	static const uint8_t local6[16] = {0xfd, 0x3d, 0xfa, 0x7b, 0xd1, 0x7d};
	static const uint8_t remote6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	static const uint8_t router6[16] = {0xfe, 0x80, [15] = 2};
	if (c->ipv6) {
		c->local = tapir_ip_from_v6(local6);
		c->remote = tapir_ip_from_v6(remote6);
		c->gateway = tapir_ip_from_v6(router6);
		c->prefix_len = 48;
		return;
	}
	c->local = tapir_ip_from_v4(0xc0a80001);
	c->remote = tapir_ip_from_v4(0xc0000201);
	c->gateway = tapir_ip_from_v4(0xc0a80002);
	c->prefix_len = 16; /* packetdrill's 255.255.0.0 */
}

/* packetdrill's options that make no difference to drill: the device and
 * the wire mode (drill has neither), output, the init scripts and code
 * runner (drill's own), --non_fatal (drill stops at the first difference
 * anyway), the TS clock (compared only with --lenient off, where tapir's
 * own is used), --speed (no link rate) and --define (for shell and code) */
static bool ignored_option(const char *s)
{
	static const char *const names[] = {
		"speed", "verbose", "debug", "dry_run", "non_fatal", "send_omit_free",
		"so_filter", "init_scripts", "code_command", "code_format", "code_sockopt",
		"wire_client", "wire_server", "wire_server_ip", "wire_server_port",
		"wire_client_dev", "wire_server_dev", "tcp_ts_tick_usecs", "tcp_ts_ecr_scaled",
		"define", "persist_tun", "local_linklocal_ip", "remote_linklocal_ip", NULL};
	for (const char *const *n = names; *n; n++)
		if (!strcmp(s, *n))
			return true;
	return false;
}

/* --local_ip=ADDR and the like, in the script's family */
static bool parse_ip(const struct dl_config *c, const char *v, struct tapir_ip *ip)
{
	uint8_t b[16];
	if (inet_pton(c->ipv6 ? AF_INET6 : AF_INET, v, b) != 1)
		return false;
	*ip = c->ipv6 ? tapir_ip_from_v6(b)
		      : tapir_ip_from_v4((uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]);
	return true;
}

/* --name=value */
static void parse_option(struct rd *r, char *s)
{
	struct dl_config *c = &r->sc->cfg;
	char *v = strchr(s, '=');
	long long n;
	if (v)
		*v++ = 0;
	else
		v = "";
	for (char *z = v + strlen(v); z > v && isspace((unsigned char)z[-1]);)
		*--z = 0;
	for (char *z = s + strlen(s); z > s && isspace((unsigned char)z[-1]);)
		*--z = 0; /* "--flag // comment" */
	n = atoll(v);
	if (!strcmp(s, "ip_version")) {
		/* ipv4-mapped-ipv6: IPv4 on the wire, AF_INET6 sockets with
		 * v4-mapped addresses (RFC 4291 2.5.5.2) */
		c->ipv6 = !strcmp(v, "ipv6");
		c->v6_socket = c->ipv6 || !strcmp(v, "ipv4-mapped-ipv6");
		if (c->v6_socket || !strcmp(v, "ipv4"))
			addr_defaults(c);
		else
			bad(r, false, "unknown --ip_version=%s", v);
	} else if (!strcmp(s, "tolerance_usecs")) {
		c->tolerance_us = n;
	} else if (!strcmp(s, "tolerance_percent")) {
		c->tolerance_pct = (unsigned)n;
	} else if (!strcmp(s, "local_ip") || !strcmp(s, "remote_ip") || !strcmp(s, "gateway_ip")) {
		struct tapir_ip *ip = s[0] == 'l' ? &c->local : s[0] == 'r' ? &c->remote : &c->gateway;
		if (!parse_ip(c, v, ip))
			bad(r, false, "--%s=%s: not an IPv%c address", s, v, c->ipv6 ? '6' : '4');
	} else if (!strcmp(s, "netmask_ip")) {
		uint8_t m[4];
		unsigned len = 0;
		if (c->ipv6 || inet_pton(AF_INET, v, m) != 1) {
			bad(r, false, "--netmask_ip=%s: not an IPv4 netmask", v);
			return;
		}
		for (unsigned i = 0; i < 32 && (m[i / 8] & (0x80 >> (i % 8))); i++)
			len++;
		c->prefix_len = len;
	} else if (ignored_option(s)) {
		/* how packetdrill reaches the stack (tun, wire), its output,
		 * its pacing: nothing to do with an in-memory link */
	} else if (!strcmp(s, "strict_segments")) {
		c->strict_segments = 1;
	} else if (!strcmp(s, "mtu")) {
		c->mtu = (unsigned)n;
	} else if (!strcmp(s, "bind_port")) {
		c->bind_port = (uint16_t)n;
	} else if (!strcmp(s, "connect_port")) {
		c->connect_port = (uint16_t)n;
	} else {
		bad(r, true, "option --%s not supported", s);
	}
}

static void strip_comment(char *s);

static int open_brackets(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += (*s == '(' || *s == '[' || *s == '{') - (*s == ')' || *s == ']' || *s == '}');
	return n;
}

/* A system call written over several lines (packetdrill's grammar takes
 * newlines as spaces: poll's and sendmsg's structures): while a bracket
 * of S is open, the next line, without its comment, is appended to S.
 * Returns the line after the last one taken. */
static char *join_lines(struct rd *r, char *s, char *next)
{
	char *end = s + strlen(s);
	int open = open_brackets(s);
	for (unsigned n = 0; open > 0 && next && n < 64; n++) {
		char *nl = strchr(next, '\n');
		size_t k;
		if (nl)
			*nl = 0;
		strip_comment(next);
		r->line++;
		open += open_brackets(next);
		k = strlen(next);
		*end++ = ' '; /* END stays before NEXT: the move goes down */
		memmove(end, next, k);
		end += k;
		*end = 0;
		next = nl ? nl + 1 : NULL;
	}
	return next;
}

/* Cuts a "//" comment, outside backquotes. */
static void strip_comment(char *s)
{
	bool q = false;
	for (; *s; s++) {
		if (*s == '`')
			q = !q;
		else if (!q && s[0] == '/' && s[1] == '/') {
			*s = 0;
			return;
		}
	}
}

static bool defined(const char *const *defines, const char *name)
{
	for (; defines && *defines; defines++)
		if (!strcmp(*defines, name))
			return true;
	return false;
}

bool dl_option_known(const char *name)
{
	static const char *const names[] = {"ip_version", "tolerance_usecs", "tolerance_percent",
					    "mtu", "bind_port", "connect_port", "local_ip",
					    "remote_ip", "gateway_ip", "netmask_ip", "strict_segments", NULL};
	size_t n = strcspn(name, "=");
	char s[64];
	if (n >= sizeof(s))
		return false;
	memcpy(s, name, n);
	s[n] = 0;
	for (const char *const *p = names; *p; p++)
		if (!strcmp(s, *p))
			return true;
	return ignored_option(s);
}

/* drill's command-line options (OPTS, NULL-ended) */
static void apply_opts(struct rd *r, const char *const *opts)
{
	for (char o[256]; opts && *opts; opts++) {
		snprintf(o, sizeof(o), "%s", *opts);
		parse_option(r, o);
	}
}

int dl_parse_file(const char *path, const char *const *defines, const char *const *opts,
		  struct dl_script *sc)
{
	FILE *f = fopen(path, "rb");
	struct rd r = {.sc = sc};
	size_t n, cap = 0;
	char *line, *next;
	int last_line = 0; /* the last line of a call written over several */
	/* #ifdef nesting: bit i set when level i is skipping */
	unsigned skip = 0, depth = 0;

	memset(sc, 0, sizeof(*sc));
	sc->cfg.tolerance_us = 4000; /* packetdrill's default */
	sc->cfg.mtu = 1500;
	addr_defaults(&sc->cfg);
	sc->cfg.bind_port = 8080;
	sc->cfg.connect_port = 8080;
	/* drill's command line (--tolerance_usecs=N...) */
	apply_opts(&r, opts);
	if (!f) {
		snprintf(sc->bad_msg, sizeof(sc->bad_msg), "cannot open: %s", strerror(errno));
		return -1;
	}
	sc->buf = malloc(DL_MAX_FILE + 1);
	if (!sc->buf) {
		fclose(f);
		snprintf(sc->bad_msg, sizeof(sc->bad_msg), "out of memory");
		return -1;
	}
	n = fread(sc->buf, 1, DL_MAX_FILE + 1, f);
	fclose(f);
	if (n > DL_MAX_FILE) {
		snprintf(sc->bad_msg, sizeof(sc->bad_msg), "script larger than %u bytes",
			 DL_MAX_FILE);
		return -1;
	}
	sc->buf[n] = 0;
	if (memchr(sc->buf, 0, n)) {
		snprintf(sc->bad_msg, sizeof(sc->bad_msg), "not a text file");
		return -1;
	}

	for (line = sc->buf; line && !sc->bad_line; line = next) {
		struct dl_event *e;
		char *s;
		r.line++;
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		strip_comment(line);
		for (s = line; isspace((unsigned char)*s); s++)
			;
		/* preprocessor: the suite marks the RFC's behaviour STANDARD and
		 * FreeBSD's own choice FreeBSD */
		if (*s == '#') {
			char word[16] = "", name[64] = "";
			sscanf(s + 1, "%15s %63s", word, name);
			if (!strcmp(word, "ifdef") || !strcmp(word, "ifndef")) {
				bool on = defined(defines, name) == !strcmp(word, "ifdef");
				if (++depth > 30)
					bad(&r, false, "#ifdef nested too deep");
				else if (!on)
					skip |= 1u << depth;
			} else if (!strcmp(word, "else") && depth) {
				skip ^= 1u << depth;
			} else if (!strcmp(word, "endif") && depth) {
				skip &= ~(1u << depth);
				depth--;
			} else {
				bad(&r, false, "unknown preprocessor line #%s", word);
			}
			continue;
		}
		if (skip)
			continue;
		if (!*s)
			continue;
		if (s[0] == '-' && s[1] == '-') {
			/* the command line overrides the script's header, as
			 * packetdrill's does: applied again after each line */
			parse_option(&r, s + 2);
			apply_opts(&r, opts);
			continue;
		}
		if (sc->nev == cap) {
			struct dl_event *ne;
			if (cap >= DL_MAX_EVENTS) {
				bad(&r, false, "more than %u events", DL_MAX_EVENTS);
				break;
			}
			cap = cap ? cap * 2 : 64;
			ne = realloc(sc->ev, cap * sizeof(*ne));
			if (!ne) {
				bad(&r, false, "out of memory");
				break;
			}
			sc->ev = ne;
		}
		e = &sc->ev[sc->nev];
		memset(e, 0, sizeof(*e));
		e->line = r.line;
		if (!strchr(s, '`') && !strstr(s, "%{") && strchr(s, '(') &&
		    strcspn(s, "<>") > (size_t)(strchr(s, '(') - s)) {
			/* a call (no packet): problems are its first line's */
			next = join_lines(&r, s, next);
			last_line = r.line;
			r.line = e->line;
		}
		r.p = s;
		if (*s == '`') {
			/* Linux's scripts begin with an untimed shell line
			 * (`../common/defaults.sh`): at once */
			e->time.kind = DL_T_REL;
		} else if (!parse_time(&r, &e->time)) {
			bad(&r, false, "cannot parse: %.60s", s);
			break;
		}
		ws(&r);
		if (*r.p == '`' || (r.p[0] == '%' && r.p[1] == '{')) {
			/* a shell command or a python block, perhaps over lines */
			const char *close = *r.p == '`' ? "`" : "}%";
			e->type = *r.p == '`' ? DL_EV_SHELL : DL_EV_CODE;
			e->text = r.p;
			if (!strstr(r.p + 1 + (*r.p == '%'), close)) {
				/* join the following lines up to the closing mark */
				char *z;
				if (!next || !(z = strstr(next, close))) {
					bad(&r, false, "unterminated %s", close);
					break;
				}
				/* both keep their lines: Python's indentation,
				 * the shell's commands (Linux's scripts put
				 * `defaults.sh` and set_sysctls.py on two) */
				char nl = '\n';
				next[-1] = nl;
				for (char *q = next; q < z; q++)
					if (*q == '\n') {
						*q = nl;
						r.line++;
					}
				r.line++;
				next = strchr(z, '\n');
				if (next)
					*next++ = 0;
			}
			sc->nev++;
			continue;
		}
		if (*r.p == '<' || *r.p == '>') {
			if (!parse_packet(&r, e)) {
				bad(&r, false, "cannot parse packet: %.60s", s);
				break;
			}
		} else if (!parse_call(&r, e)) {
			bad(&r, false, "cannot parse: %.60s", s);
			break;
		}
		sc->nev++;
		if (last_line > r.line)
			r.line = last_line;
	}
	if (depth && !sc->bad_line)
		bad(&r, false, "#ifdef without #endif");
	return 0;
}

void dl_script_free(struct dl_script *sc)
{
	free(sc->buf);
	free(sc->ev);
	memset(sc, 0, sizeof(*sc));
}
