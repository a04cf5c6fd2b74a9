/* tapir drill: runs packetdrill scripts against the tapir core.
 *
 * One tapir stack per script, on an in-memory link of our own: what tapir
 * sends is captured in a queue, what the script sends ('<' lines) is built
 * here and handed to tapir_stack_input.  The clock is the script's: time
 * advances only from event to event, running the stack's timers on the way,
 * so a script of minutes runs in milliseconds.
 *
 * tapir is packetdrill's "local" host (192.168.0.1); the script plays the
 * remote end (192.0.2.1) behind the gateway 192.168.0.2, whose ARP the
 * link answers itself. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <tapir/link.h>
#include <tapir/wire.h>
#include <tapir/stack.h>
#include <tapir/tcp.h>

#include "drill.h"
#include "commands.h"
#include "util.h"

#define DL_BASE TAPIR_SEC(1)         /* tapir time of script time 0 */
#define DL_ANY_HORIZON TAPIR_SEC(600) /* how long a "*" line waits */
#define DL_MAX_FD 64
#define DL_QUEUE 64                  /* frames tapir sent, not yet read */
#define DL_ARPQ 8
#define DL_FRAME_MAX (65535 + 14)
#define DL_REMOTE_PORT 40000         /* the script's port when it connects to tapir */

static const uint8_t mac_tapir[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
static const uint8_t mac_remote[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

struct frame {
	uint8_t *data;
	size_t len;
	tapir_time_t t;
};

/* a TCP segment tapir sent, decoded */
struct seg {
	uint8_t flags, tos;
	uint16_t sport, dport, win;
	uint32_t seq, ack, len;
	struct dl_opt opt[DL_MAX_OPTS];
	unsigned nopt;
	bool csum_ok;
};

enum { R_RUN, R_PASS, R_FAIL, R_SKIP };

struct pending { /* a blocking call that has not returned yet */
	bool on;
	const struct dl_event *e;
	int fd;
	tapir_time_t lo, hi;
	size_t left;     /* send: bytes still to take */
	long done;       /* send: bytes taken so far */
};

struct dfd {
	struct tapir_tcp *t;
	bool nonblock;
};

struct drill {
	struct tapir_link link; /* first: the send callback finds us from it */
	const struct dl_script *sc;
	bool verbose, lenient_win, lenient_opts;
	struct tapir_config cfg;
	struct tapir_stack *s;
	int ifindex;
	tapir_time_t now, deadline;
	int64_t last_us;        /* script time of the previous event */
	int64_t tol;
	uint32_t isn;           /* tapir's ISN: outbound seq and inbound ack are relative */
	uint16_t lport, rport;  /* tapir's port and the script's */
	uint16_t ip_id;
	struct dfd fd[DL_MAX_FD];
	struct frame q[DL_QUEUE];
	unsigned qhead, qlen;
	bool qoverflow;
	struct { uint32_t ip, target; uint8_t mac[6]; } arpq[DL_ARPQ];
	unsigned narp;
	struct pending pend;
	int result, line;
	bool plain;             /* a script error, not a mismatch: no "expected" */
	char msg[512];
	uint8_t buf[DL_FRAME_MAX];
};

static void note(struct drill *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct drill *d, const char *fmt, ...)
{
	va_list ap;
	if (!d->verbose)
		return;
	printf("  %8.3f  ", (double)((int64_t)d->now - (int64_t)DL_BASE) / 1e6);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* The first FAIL or SKIP ends the script; it is the one reported. */
static void finish(struct drill *d, int result, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void finish(struct drill *d, int result, int line, const char *fmt, ...)
{
	va_list ap;
	if (d->result != R_RUN)
		return;
	d->result = result;
	d->line = line;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
}

static double script_s(tapir_time_t t) { return (double)((int64_t)t - (int64_t)DL_BASE) / 1e6; }

/* ---- bytes ---- */
/* the Internet checksum, from the core's public helpers */
#define csum_fold tapir_csum_fold
#define csum_pseudo(src, dst, proto, len) tapir_csum_pseudo(src, dst, proto, (uint16_t)(len))

/* ---- the link ---- */

static int link_send(struct tapir_link *l, const uint8_t *f, size_t len)
{
	struct drill *d = (struct drill *)l;
	if (len >= 14 + 28 && tapir_get16(f + 12) == 0x0806) {
		/* ARP: answer requests for any address but tapir's own, with
		 * the remote MAC, once tapir's call has returned (a link must
		 * not call back into the stack) */
		const uint8_t *a = f + 14;
		uint32_t target = tapir_get32(a + 24);
		if (tapir_get16(a + 6) == 1 && target != d->sc->cfg.local_ip && d->narp < DL_ARPQ) {
			d->arpq[d->narp].ip = tapir_get32(a + 14);
			d->arpq[d->narp].target = target;
			memcpy(d->arpq[d->narp].mac, a + 8, 6);
			d->narp++;
		}
		return 0;
	}
	if (len < 14 + 20 || tapir_get16(f + 12) != 0x0800 || f[14 + 9] != 6) {
		note(d, "tapir sent a frame that is not TCP/IPv4 (%zu bytes): ignored", len);
		return 0;
	}
	if (d->qlen == DL_QUEUE) {
		d->qoverflow = true;
		return 0;
	}
	{
		struct frame *q = &d->q[(d->qhead + d->qlen) % DL_QUEUE];
		q->data = malloc(len);
		if (!q->data)
			return -ENOMEM;
		memcpy(q->data, f, len);
		q->len = len;
		q->t = d->now;
		d->qlen++;
	}
	return 0;
}

static void eth_header(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	tapir_put16(f + 12, type);
}

static void inject(struct drill *d, uint8_t *f, size_t len)
{
	tapir_stack_input(d->s, d->ifindex, f, len, d->now);
}

static void arp_frame(struct drill *d, uint16_t op, uint32_t sip, uint32_t tip,
		      const uint8_t *tmac)
{
	uint8_t f[42];
	eth_header(f, op == 1 ? (const uint8_t *)"\xff\xff\xff\xff\xff\xff" : tmac, mac_remote,
		   0x0806);
	tapir_put16(f + 14, 1);
	tapir_put16(f + 16, 0x0800);
	f[18] = 6;
	f[19] = 4;
	tapir_put16(f + 20, op);
	memcpy(f + 22, mac_remote, 6);
	tapir_put32(f + 28, sip);
	memcpy(f + 32, op == 1 ? (const uint8_t *)"\0\0\0\0\0\0" : tmac, 6);
	tapir_put32(f + 38, tip);
	inject(d, f, sizeof(f));
}

/* After every call into the stack: answer ARP, learn the next deadline. */
static void settle(struct drill *d)
{
	for (int rounds = 0; rounds < 4 && d->narp; rounds++) {
		unsigned n = d->narp;
		d->narp = 0;
		for (unsigned i = 0; i < n; i++)
			arp_frame(d, 2, d->arpq[i].target, d->arpq[i].ip, d->arpq[i].mac);
	}
	d->deadline = tapir_stack_poll(d->s, d->now);
}

/* ---- building what the script sends ---- */

static size_t put_opts(struct drill *d, uint8_t *o, const struct dl_pkt *k, bool *too_long)
{
	size_t n = 0;
	*too_long = false;
	for (unsigned i = 0; i < k->nopt; i++) {
		const struct dl_opt *x = &k->opt[i];
		size_t need = x->kind == DL_OPT_EOL || x->kind == DL_OPT_NOP ? 1
			      : x->kind == DL_OPT_MSS ? 4 : x->kind == DL_OPT_WSCALE ? 3
			      : x->kind == DL_OPT_SACKOK ? 2 : x->kind == DL_OPT_TS ? 10
			      : 2 + 4 * (size_t)x->n;
		if (n + need > 40) {
			*too_long = true;
			return n;
		}
		switch (x->kind) {
		case DL_OPT_EOL: o[n] = 0; break;
		case DL_OPT_NOP: o[n] = 1; break;
		case DL_OPT_MSS: o[n] = 2; o[n + 1] = 4; tapir_put16(o + n + 2, x->v[0]); break;
		case DL_OPT_WSCALE: o[n] = 3; o[n + 1] = 3; o[n + 2] = (uint8_t)x->v[0]; break;
		case DL_OPT_SACKOK: o[n] = 4; o[n + 1] = 2; break;
		case DL_OPT_TS: o[n] = 8; o[n + 1] = 10; tapir_put32(o + n + 2, x->v[0]);
			tapir_put32(o + n + 6, x->v[1]); break;
		case DL_OPT_SACK:
			o[n] = 5;
			o[n + 1] = (uint8_t)need;
			/* SACK blocks acknowledge tapir's data: relative to its ISN */
			for (unsigned j = 0; j < x->n; j++)
				tapir_put32(o + n + 2 + 4 * j, x->v[j] + d->isn);
			break;
		}
		n += need;
	}
	while (n % 4) /* pad to the 32-bit boundary with EOL */
		o[n++] = 0;
	return n;
}

/* An IPv4 packet from the remote end to tapir: header + P (LEN bytes). */
static void send_ip(struct drill *d, uint8_t proto, uint8_t tos, size_t plen)
{
	uint8_t *f = d->buf, *ip = f + 14;
	eth_header(f, mac_tapir, mac_remote, 0x0800);
	ip[0] = 0x45;
	ip[1] = tos;
	tapir_put16(ip + 2, (uint32_t)(20 + plen));
	tapir_put16(ip + 4, d->ip_id++);
	tapir_put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = proto;
	tapir_put16(ip + 10, 0);
	tapir_put32(ip + 12, d->sc->cfg.remote_ip);
	tapir_put32(ip + 16, d->sc->cfg.local_ip);
	tapir_put16(ip + 10, csum_fold(tapir_csum_add(0, ip, 20)));
	inject(d, f, 14 + 20 + plen);
}

static void inject_tcp(struct drill *d, const struct dl_event *e)
{
	const struct dl_pkt *k = &e->pkt;
	uint8_t *th = d->buf + 14 + 20;
	bool too_long;
	size_t ol = put_opts(d, th + 20, k, &too_long), tl;
	if (too_long) {
		d->plain = true;
		finish(d, R_FAIL, e->line, "TCP options longer than 40 bytes");
		return;
	}
	if (k->seq_any || k->ack_any || k->win_any || k->opts == DL_OPTS_ANY) {
		d->plain = true;
		finish(d, R_FAIL, e->line, "wildcards in an inbound packet");
		return;
	}
	tl = 20 + ol + k->len;
	tapir_put16(th, d->rport);
	tapir_put16(th + 2, d->lport);
	tapir_put32(th + 4, k->seq);
	/* packetdrill: inbound ACK numbers are relative to tapir's ISN */
	tapir_put32(th + 8, k->has_ack ? k->ack + d->isn : 0);
	th[12] = (uint8_t)(((20 + ol) / 4) << 4);
	th[13] = k->flags;
	tapir_put16(th + 14, k->has_win ? k->win : 65535);
	tapir_put16(th + 16, 0);
	tapir_put16(th + 18, 0);
	memset(th + 20 + ol, 0, k->len);
	tapir_put16(th + 16, csum_fold(tapir_csum_add(csum_pseudo(d->sc->cfg.remote_ip, d->sc->cfg.local_ip,
						     6, tl), th, tl)));
	send_ip(d, 6, k->ecn > 0 ? (uint8_t)k->ecn : 0, tl);
}

static void inject_icmp(struct drill *d, const struct dl_event *e)
{
	const struct dl_icmp *c = &e->icmp;
	uint8_t *ic = d->buf + 14 + 20, *ip = ic + 8, *th = ip + 20;
	memset(ic, 0, 8 + 20 + 20);
	ic[0] = c->type;
	ic[1] = c->code;
	if (c->type == 3 && c->code == 4)
		tapir_put16(ic + 6, c->mtu); /* RFC 1191 */
	/* the quoted packet: one tapir sent, sequence relative to its ISN */
	ip[0] = 0x45;
	tapir_put16(ip + 2, 20 + 20 + c->len);
	ip[8] = 64;
	ip[9] = 6;
	tapir_put32(ip + 12, d->sc->cfg.local_ip);
	tapir_put32(ip + 16, d->sc->cfg.remote_ip);
	tapir_put16(ip + 10, csum_fold(tapir_csum_add(0, ip, 20)));
	tapir_put16(th, d->lport);
	tapir_put16(th + 2, d->rport);
	tapir_put32(th + 4, c->seq + d->isn);
	th[12] = 5 << 4;
	th[13] = DL_ACK;
	tapir_put16(ic + 2, csum_fold(tapir_csum_add(0, ic, 48)));
	send_ip(d, 1, 0, 48);
}

/* ---- decoding and comparing what tapir sends ---- */

static bool decode(const struct frame *fr, uint32_t src, uint32_t dst, struct seg *g)
{
	const uint8_t *ip = fr->data + 14, *th, *o;
	size_t ihl = (size_t)(ip[0] & 15) * 4, tot = tapir_get16(ip + 2), off, i;
	memset(g, 0, sizeof(*g));
	if (ihl < 20 || tot > fr->len - 14 || tot < ihl + 20)
		return false;
	th = ip + ihl;
	off = (size_t)(th[12] >> 4) * 4;
	if (off < 20 || off > tot - ihl)
		return false;
	g->tos = ip[1];
	g->sport = tapir_get16(th);
	g->dport = tapir_get16(th + 2);
	g->seq = tapir_get32(th + 4);
	g->ack = tapir_get32(th + 8);
	g->flags = th[13];
	g->win = tapir_get16(th + 14);
	g->len = (uint32_t)(tot - ihl - off);
	g->csum_ok = csum_fold(tapir_csum_add(0, ip, ihl)) == 0 &&
		     csum_fold(tapir_csum_add(csum_pseudo(src, dst, 6, tot - ihl), th, tot - ihl)) == 0;
	o = th + 20;
	for (i = 0; i < off - 20 && g->nopt < DL_MAX_OPTS;) {
		struct dl_opt *x = &g->opt[g->nopt];
		size_t ol;
		memset(x, 0, sizeof(*x));
		if (o[i] == 0) {
			x->kind = DL_OPT_EOL;
			g->nopt++;
			break;
		}
		if (o[i] == 1) {
			x->kind = DL_OPT_NOP;
			g->nopt++;
			i++;
			continue;
		}
		if (i + 1 >= off - 20 || o[i + 1] < 2 || i + o[i + 1] > off - 20)
			break;
		ol = o[i + 1];
		switch (o[i]) {
		case 2: x->kind = DL_OPT_MSS; x->v[0] = tapir_get16(o + i + 2); x->n = 1; break;
		case 3: x->kind = DL_OPT_WSCALE; x->v[0] = o[i + 2]; x->n = 1; break;
		case 4: x->kind = DL_OPT_SACKOK; break;
		case 8: x->kind = DL_OPT_TS; x->v[0] = tapir_get32(o + i + 2); x->v[1] = tapir_get32(o + i + 6);
			x->n = 2; break;
		case 5:
			x->kind = DL_OPT_SACK;
			for (size_t j = 2; j + 4 <= ol && x->n < 8; j += 4)
				x->v[x->n++] = tapir_get32(o + i + j);
			break;
		default:
			x->kind = DL_OPT_EOL; /* unknown kind: shown as a mismatch */
			x->n = 99;
			break;
		}
		g->nopt++;
		i += ol;
	}
	return true;
}

static int fmt_flags(char *b, size_t n, uint8_t f)
{
	return snprintf(b, n, "%s%s%s%s%s%s%s%s", f & DL_SYN ? "S" : "", f & DL_FIN ? "F" : "",
			f & DL_RST ? "R" : "", f & DL_PSH ? "P" : "", f & DL_ECE ? "E" : "",
			f & DL_CWR ? "W" : "", f & DL_URG ? "U" : "", f & DL_ACK ? "." : "");
}

static int fmt_opts(char *b, size_t n, const struct dl_opt *o, unsigned no)
{
	int w = 0;
	for (unsigned i = 0; i < no && (size_t)w < n; i++) {
		const char *sep = i ? "," : "";
		switch (o[i].kind) {
		case DL_OPT_EOL: w += snprintf(b + w, n - (size_t)w, "%seol", sep); break;
		case DL_OPT_NOP: w += snprintf(b + w, n - (size_t)w, "%snop", sep); break;
		case DL_OPT_MSS: w += snprintf(b + w, n - (size_t)w, "%smss %u", sep, o[i].v[0]); break;
		case DL_OPT_WSCALE:
			w += snprintf(b + w, n - (size_t)w, "%swscale %u", sep, o[i].v[0]);
			break;
		case DL_OPT_SACKOK: w += snprintf(b + w, n - (size_t)w, "%ssackOK", sep); break;
		case DL_OPT_TS:
			w += snprintf(b + w, n - (size_t)w, "%sTS val %u ecr %u", sep, o[i].v[0],
				      o[i].v[1]);
			break;
		case DL_OPT_SACK:
			w += snprintf(b + w, n - (size_t)w, "%ssack", sep);
			for (unsigned j = 0; j + 1 < o[i].n && (size_t)w < n; j += 2)
				w += snprintf(b + w, n - (size_t)w, " %u:%u", o[i].v[j], o[i].v[j + 1]);
			break;
		}
	}
	return w;
}

/* "S. 0:0(0) ack 1 win 65535 <mss 1460>", seq relative to tapir's ISN */
static void fmt_seg(struct drill *d, char *b, size_t n, const struct seg *g)
{
	int w = fmt_flags(b, n, g->flags);
	uint32_t s = g->seq - d->isn;
	w += snprintf(b + w, n - (size_t)w, " %u:%u(%u)", s, s + g->len, g->len);
	if (g->flags & DL_ACK)
		w += snprintf(b + w, n - (size_t)w, " ack %u", g->ack);
	w += snprintf(b + w, n - (size_t)w, " win %u", g->win);
	if (g->nopt) {
		w += snprintf(b + w, n - (size_t)w, " <");
		w += fmt_opts(b + w, n - (size_t)w, g->opt, g->nopt);
		snprintf(b + w, n - (size_t)w, ">");
	}
}

static void fmt_exp(char *b, size_t n, const struct dl_pkt *k)
{
	int w = fmt_flags(b, n, k->flags);
	if (k->seq_any)
		w += snprintf(b + w, n - (size_t)w, " ...");
	else
		w += snprintf(b + w, n - (size_t)w, " %u:%u(%u)", k->seq, k->seq + k->len, k->len);
	if (k->has_ack)
		w += k->ack_any ? snprintf(b + w, n - (size_t)w, " ack ...")
				: snprintf(b + w, n - (size_t)w, " ack %u", k->ack);
	if (k->has_win)
		w += k->win_any ? snprintf(b + w, n - (size_t)w, " win ...")
				: snprintf(b + w, n - (size_t)w, " win %u", k->win);
	if (k->opts == DL_OPTS_ANY)
		w += snprintf(b + w, n - (size_t)w, " <...>");
	else if (k->opts == DL_OPTS_LIST) {
		w += snprintf(b + w, n - (size_t)w, " <");
		w += fmt_opts(b + w, n - (size_t)w, k->opt, k->nopt);
		w += snprintf(b + w, n - (size_t)w, ">");
	}
	if (k->rest_any)
		snprintf(b + w, n - (size_t)w, " ...");
}

/* --lenient options: only the options tapir implements (MSS) are compared;
 * the rest are one OS's choices (RFC 7323, RFC 2018 are optional). */
static unsigned filter_opts(const struct dl_opt *in, unsigned n, struct dl_opt *out, bool lenient)
{
	unsigned m = 0;
	for (unsigned i = 0; i < n; i++) {
		if (lenient && in[i].kind != DL_OPT_MSS)
			continue;
		out[m++] = in[i];
	}
	return m;
}

static bool opts_match(struct drill *d, const struct dl_pkt *k, const struct seg *g)
{
	struct dl_opt a[DL_MAX_OPTS], b[DL_MAX_OPTS];
	unsigned na, nb;
	if (k->rest_any || k->opts == DL_OPTS_ANY)
		return true;
	na = filter_opts(k->opt, k->opts == DL_OPTS_LIST ? k->nopt : 0, a, d->lenient_opts);
	nb = filter_opts(g->opt, g->nopt, b, d->lenient_opts);
	/* trailing EOL padding is not an option */
	while (na && a[na - 1].kind == DL_OPT_EOL && !a[na - 1].n)
		na--;
	while (nb && b[nb - 1].kind == DL_OPT_EOL && !b[nb - 1].n)
		nb--;
	if (na != nb)
		return false;
	for (unsigned i = 0; i < na; i++) {
		if (a[i].kind != b[i].kind || a[i].n != b[i].n)
			return false;
		for (unsigned j = 0; j < a[i].n; j++) {
			uint32_t want = a[i].v[j];
			/* packetdrill checks no TS val (its clock is not ours) */
			if (a[i].kind == DL_OPT_TS && j == 0)
				continue;
			if (a[i].kind == DL_OPT_SACK)
				want = a[i].v[j]; /* outbound SACK: the script's own numbers */
			if (want != b[i].v[j])
				return false;
		}
	}
	return true;
}

static bool seg_match(struct drill *d, const struct dl_pkt *k, const struct seg *g)
{
	if (k->flags != g->flags)
		return false;
	if (!k->seq_any && (g->seq - d->isn != k->seq || g->len != k->len))
		return false;
	if (!k->rest_any && k->has_ack && !k->ack_any && (k->flags & DL_ACK) && g->ack != k->ack)
		return false;
	if (!k->rest_any && k->has_win && !k->win_any) {
		/* --lenient win: the size is one OS's buffer choice; only a
		 * closed window (0) against an open one is a difference */
		if (d->lenient_win ? (k->win == 0) != (g->win == 0) : k->win != g->win)
			return false;
	}
	if (k->ecn >= 0 && (k->ecn == 4 ? (g->tos & 3) != 1 && (g->tos & 3) != 2
				      : (g->tos & 3) != k->ecn))
		return false;
	return opts_match(d, k, g);
}

/* ---- time ---- */

/* Runs the stack's timers up to T; with STOP_ON_FRAME, stops as soon as
 * tapir has sent something. */
static void pend_retry(struct drill *d);
static void advance(struct drill *d, tapir_time_t t, bool stop_on_frame)
{
	unsigned guard = 0;
	if (stop_on_frame && d->qlen)
		return;
	while (d->deadline <= t && d->result == R_RUN) {
		if (d->deadline > d->now)
			d->now = d->deadline;
		d->deadline = tapir_stack_poll(d->s, d->now);
		settle(d);
		if (d->pend.on)
			pend_retry(d);
		if (stop_on_frame && d->qlen)
			return;
		if (++guard > 1000000) {
			finish(d, R_FAIL, 0, "the stack's timers do not advance at %.6f",
			       script_s(d->now));
			return;
		}
		if (d->deadline <= d->now)
			d->deadline = d->now + 1; /* a timer due now ran: look again later */
	}
	if (t > d->now)
		d->now = t;
}

/* ---- the stack ---- */

static void apply_sysctl(struct drill *d, const struct dl_event *e)
{
	char name[80];
	long long v;
	if (sscanf(e->text, "`sysctl -w %79[^=]=%lld", name, &v) != 2) {
		note(d, "line %d: shell command skipped: %s", e->line, e->text);
		return;
	}
	/* the FreeBSD defaults that have a tapir knob; others are noted */
	if (!strcmp(name, "net.inet.tcp.ecn.enable") && !d->s && v >= 0 && v <= 2)
		/* FreeBSD's values are tapir's: 0 off, 1 ask and accept,
		 * 2 accept only */
		d->cfg.tcp_ecn = (uint8_t)v;
	else if (!strcmp(name, "net.inet.tcp.ecn.maxretries") && !d->s && v >= 0 && v < 256)
		d->cfg.tcp_ecn_syn_retries = (uint8_t)v;
	else if (!strcmp(name, "net.inet.tcp.recvspace") && !d->s && v > 0)
		d->cfg.tcp_rcvbuf = (uint32_t)v;
	else if (!strcmp(name, "net.inet.tcp.sendspace") && !d->s && v > 0)
		d->cfg.tcp_sndbuf = (uint32_t)v;
	else
		note(d, "line %d: sysctl %s=%lld has no tapir equivalent: skipped", e->line, name, v);
}

static void trace_fn(void *arg, tapir_time_t now, const char *channel, const char *line)
{
	(void)arg;
	printf("  %8.3f  [%s] %s\n", script_s(now), channel, line);
}

static bool stack_up(struct drill *d, int line)
{
	const struct dl_config *c = &d->sc->cfg;
	if (d->s)
		return true;
	d->s = tapir_stack_new(&d->cfg);
	if (!d->s) {
		finish(d, R_FAIL, line, "tapir_stack_new failed");
		return false;
	}
	if (d->verbose)
		tapir_set_trace(d->s, TAPIR_TR_TCP | TAPIR_TR_ICMP, trace_fn, d);
	d->link.send = link_send;
	d->link.name = "drill";
	d->ifindex = tapir_iface_add(d->s, &d->link, mac_tapir, c->mtu);
	if (d->ifindex < 0) {
		finish(d, R_SKIP, line, "tapir does not take an interface MTU of %u", c->mtu);
		return false;
	}
	tapir_iface_set_ipv4(d->s, d->ifindex, c->local_ip, c->prefix_len, d->now);
	tapir_route_add(d->s, 0, 0, c->gateway_ip, d->ifindex);
	/* pre-seed tapir's ARP cache: the gateway asks for tapir (RFC 826
	 * merges the sender of a request for us) */
	arp_frame(d, 1, c->gateway_ip, c->local_ip, NULL);
	settle(d);
	/* what tapir sent while coming up (its RFC 5227 announcements, the
	 * ARP reply) is not part of the script */
	while (d->qlen) {
		free(d->q[d->qhead].data);
		d->qhead = (d->qhead + 1) % DL_QUEUE;
		d->qlen--;
	}
	return true;
}

/* ---- system calls ---- */

struct res {
	long ret;
	int err;
};

static const char *arg(const struct dl_event *e, unsigned i)
{
	return i < e->call.nargs ? e->call.arg[i] : "";
}

/* An integer argument; "[v]" brackets are taken off. */
static bool arg_int(struct drill *d, const struct dl_event *e, unsigned i, long long *v)
{
	char tmp[128], badname[64];
	const char *a = arg(e, i);
	size_t n = strlen(a);
	if (n >= sizeof(tmp)) {
		finish(d, R_FAIL, e->line, "argument too long");
		return false;
	}
	memcpy(tmp, a, n + 1);
	if (tmp[0] == '[' && n >= 2 && tmp[n - 1] == ']') {
		tmp[n - 1] = 0;
		memmove(tmp, tmp + 1, n - 1);
	}
	if (dl_eval(tmp, v, badname, sizeof(badname)) < 0) {
		finish(d, R_SKIP, e->line, "%s: symbol or expression '%s' not supported",
		       e->call.name, badname);
		return false;
	}
	return true;
}

static struct dfd *get_fd(struct drill *d, const struct dl_event *e, struct res *r)
{
	long long fd;
	if (!arg_int(d, e, 0, &fd))
		return NULL;
	if (fd < 0 || fd >= DL_MAX_FD || !d->fd[fd].t) {
		r->ret = -1;
		r->err = EBADF;
		return NULL;
	}
	return &d->fd[fd];
}

static int new_fd(struct drill *d, struct tapir_tcp *t)
{
	for (int i = 3; i < DL_MAX_FD; i++)
		if (!d->fd[i].t) {
			d->fd[i].t = t;
			d->fd[i].nonblock = false;
			return i;
		}
	return -1;
}

static void set_res(struct res *r, long v)
{
	if (v < 0) {
		r->ret = -1;
		r->err = (int)-v;
	} else {
		r->ret = v;
		r->err = 0;
	}
}

/* The value of getsockopt, or the value to set: "[1]", "[{l_onoff=1, l_linger=5}]" */
static bool linger_arg(const char *a, int *onoff, int *secs)
{
	return sscanf(a, "[{ l_onoff = %d , l_linger = %d }]", onoff, secs) == 2 ||
	       sscanf(a, "{ l_onoff = %d , l_linger = %d }", onoff, secs) == 2;
}

static const struct {
	const char *level, *name;
	enum tapir_tcp_opt opt;
} sockopts[] = {
	{"SOL_SOCKET", "SO_RCVBUF", TAPIR_TCP_RCVBUF},
	{"SOL_SOCKET", "SO_SNDBUF", TAPIR_TCP_SNDBUF},
	{"SOL_SOCKET", "SO_KEEPALIVE", TAPIR_TCP_KEEPALIVE},
	{"SOL_SOCKET", "SO_REUSEADDR", TAPIR_TCP_REUSEADDR},
	{"SOL_SOCKET", "SO_LINGER", TAPIR_TCP_LINGER},
	{"IPPROTO_TCP", "TCP_NODELAY", TAPIR_TCP_NODELAY},
	{"IPPROTO_TCP", "TCP_MAXSEG", TAPIR_TCP_MAXSEG},
	{"IPPROTO_TCP", "TCP_KEEPIDLE", TAPIR_TCP_KEEPIDLE},
	{"IPPROTO_TCP", "TCP_KEEPINTVL", TAPIR_TCP_KEEPINTVL},
	{"IPPROTO_TCP", "TCP_KEEPCNT", TAPIR_TCP_KEEPCNT},
};

/* getsockopt/setsockopt: returns false when the script has ended. */
static bool do_sockopt(struct drill *d, const struct dl_event *e, struct dfd *f, bool set,
		       struct res *r)
{
	const char *level = arg(e, 1), *name = arg(e, 2), *val = arg(e, 3);
	size_t i;
	int v = 0, onoff = 0, secs = 0;
	long long want;
	bool is_linger = !strcmp(name, "SO_LINGER");

	if (!strcmp(level, "SOL_SOCKET") && !strcmp(name, "SO_ERROR") && !set) {
		v = tapir_tcp_error(f->t);
		if (strcmp(val, "...") && arg_int(d, e, 3, &want) && want != v) {
			const char *n = dl_errno_name(v);
			finish(d, R_FAIL, e->line, "getsockopt SO_ERROR %s, got [%s]", val,
			       n ? n : v ? "?" : "0");
			return false;
		}
		r->ret = 0;
		return d->result == R_RUN;
	}
	for (i = 0; i < sizeof(sockopts) / sizeof(sockopts[0]); i++)
		if (!strcmp(level, sockopts[i].level) && !strcmp(name, sockopts[i].name))
			break;
	if (i == sizeof(sockopts) / sizeof(sockopts[0])) {
		finish(d, R_SKIP, e->line, "%s %s %s not supported by tapir", e->call.name, level,
		       name);
		return false;
	}
	if (set) {
		if (is_linger) {
			if (!linger_arg(val, &onoff, &secs)) {
				finish(d, R_FAIL, e->line, "cannot parse the linger value %s", val);
				return false;
			}
			v = onoff ? secs : -1;
		} else {
			if (!arg_int(d, e, 3, &want))
				return false;
			v = (int)want;
		}
		set_res(r, tapir_tcp_setopt(f->t, sockopts[i].opt, v));
		return true;
	}
	set_res(r, tapir_tcp_getopt(f->t, sockopts[i].opt, &v));
	if (r->ret < 0 || !strcmp(val, "..."))
		return true;
	if (is_linger) {
		int eo, es;
		if (!linger_arg(val, &eo, &es)) {
			finish(d, R_FAIL, e->line, "cannot parse the linger value %s", val);
			return false;
		}
		if ((eo != 0) != (v >= 0) || (eo && es != v)) {
			finish(d, R_FAIL, e->line, "getsockopt SO_LINGER %s, got [{l_onoff=%d, l_linger=%d}]",
			       val, v >= 0, v >= 0 ? v : 0);
			return false;
		}
		return true;
	}
	if (!arg_int(d, e, 3, &want))
		return false;
	/* --lenient win: buffer sizes are one OS's choice, too */
	if (want != v && !(d->lenient_win && (sockopts[i].opt == TAPIR_TCP_RCVBUF ||
					      sockopts[i].opt == TAPIR_TCP_SNDBUF))) {
		finish(d, R_FAIL, e->line, "getsockopt %s [%lld], got [%d]", name, want, v);
		return false;
	}
	return true;
}

static uint8_t zeros[65536];

/* Sends what is left of a send/write; true when all of it was taken or it
 * failed; a would-block on a non-blocking socket returns what was taken. */
static bool send_more(struct drill *d, struct dfd *f, struct pending *p, struct res *r)
{
	while (p->left) {
		size_t n = p->left < sizeof(zeros) ? p->left : sizeof(zeros);
		long k = tapir_tcp_send(f->t, zeros, n, d->now);
		settle(d);
		if (k == -EAGAIN) {
			if (f->nonblock) {
				set_res(r, p->done ? p->done : -EAGAIN);
				return true;
			}
			return false;
		}
		if (k < 0) {
			set_res(r, p->done ? p->done : k);
			return true;
		}
		p->done += k;
		p->left -= (size_t)k;
	}
	r->ret = p->done;
	r->err = 0;
	return true;
}

/* One attempt at the call of E.  Returns true when it completed (result in
 * R); false when it would block (or the script ended). */
static bool attempt(struct drill *d, const struct dl_event *e, struct pending *p, struct res *r)
{
	const char *name = e->call.name;
	struct dfd *f = NULL;
	long long v;
	r->ret = 0;
	r->err = 0;
	if (!strcmp(name, "socket")) {
		struct tapir_tcp *t;
		int fd;
		if (strcmp(arg(e, 1), "SOCK_STREAM")) {
			finish(d, R_SKIP, e->line, "socket type %s not supported", arg(e, 1));
			return false;
		}
		if (strcmp(arg(e, 0), "...") && strcmp(arg(e, 0), "AF_INET") &&
		    strcmp(arg(e, 0), "PF_INET")) {
			finish(d, R_SKIP, e->line, "socket domain %s not supported", arg(e, 0));
			return false;
		}
		t = tapir_tcp_new(d->s);
		if (!t) {
			set_res(r, -ENFILE);
			return true;
		}
		fd = new_fd(d, t);
		if (fd < 0) {
			tapir_tcp_abort(t, d->now);
			set_res(r, -EMFILE);
			return true;
		}
		r->ret = fd;
		return true;
	}
	f = get_fd(d, e, r);
	if (!f)
		return d->result == R_RUN;
	if (!strcmp(name, "bind")) {
		set_res(r, tapir_tcp_bind(f->t, d->sc->cfg.local_ip, d->sc->cfg.bind_port));
		if (!r->err) {
			d->lport = d->sc->cfg.bind_port;
			d->rport = DL_REMOTE_PORT;
		}
	} else if (!strcmp(name, "listen")) {
		if (!arg_int(d, e, 1, &v))
			return false;
		set_res(r, tapir_tcp_listen(f->t, (int)v));
	} else if (!strcmp(name, "accept")) {
		int err = 0, fd;
		struct tapir_tcp *c = tapir_tcp_accept(f->t, &err);
		if (!c) {
			if (err == -EAGAIN && !f->nonblock)
				return false;
			set_res(r, err);
			return true;
		}
		fd = new_fd(d, c);
		if (fd < 0) {
			tapir_tcp_abort(c, d->now);
			set_res(r, -EMFILE);
			return true;
		}
		r->ret = fd;
	} else if (!strcmp(name, "connect")) {
		enum tapir_tcp_state st = tapir_tcp_state(f->t);
		if (p->on) { /* a blocking connect: done when the handshake is */
			if (st == TAPIR_TCP_SYN_SENT || st == TAPIR_TCP_SYN_RECEIVED)
				return false;
			if (st == TAPIR_TCP_CLOSED) {
				int err = tapir_tcp_error(f->t);
				set_res(r, -(err ? err : ECONNREFUSED));
			}
			return true;
		}
		set_res(r, tapir_tcp_connect(f->t, d->sc->cfg.remote_ip, d->sc->cfg.connect_port,
					     d->now));
		if (!r->err) {
			uint32_t a;
			tapir_tcp_local(f->t, &a, &d->lport);
			d->rport = d->sc->cfg.connect_port;
			settle(d);
			if (f->nonblock) {
				set_res(r, -EINPROGRESS);
				return true;
			}
			p->on = true; /* the caller keeps it pending */
			return attempt(d, e, p, r);
		}
	} else if (!strcmp(name, "close")) {
		tapir_tcp_close(f->t, d->now);
		f->t = NULL;
	} else if (!strcmp(name, "shutdown")) {
		if (!arg_int(d, e, 1, &v))
			return false;
		set_res(r, tapir_tcp_shutdown(f->t, v == SHUT_RD ? TAPIR_SHUT_RD
					      : v == SHUT_WR ? TAPIR_SHUT_WR : TAPIR_SHUT_RDWR,
					      d->now));
	} else if (!strcmp(name, "read") || !strcmp(name, "recv")) {
		long long len, flags = 0;
		long k;
		if (!arg_int(d, e, 2, &len) || (!strcmp(name, "recv") && !arg_int(d, e, 3, &flags)))
			return false;
		if (len < 0 || len > (long long)sizeof(d->buf)) {
			finish(d, R_FAIL, e->line, "%s of %lld bytes: too many", name, len);
			return false;
		}
		if (flags & ~(long long)(MSG_PEEK | MSG_DONTWAIT)) {
			finish(d, R_SKIP, e->line, "recv flags 0x%llx not supported", flags);
			return false;
		}
		if (flags & MSG_PEEK) {
			/* the core has no peek: what is readable is what a
			 * peek would copy, and a read would then return */
			size_t n = tapir_tcp_readable(f->t);
			if (n) {
				r->ret = (long)(n < (size_t)len ? n : (size_t)len);
				return true;
			}
		}
		k = tapir_tcp_recv(f->t, d->buf, (size_t)len, d->now);
		if (k > 0 && (flags & MSG_PEEK)) { /* cannot happen: nothing was readable */
			finish(d, R_FAIL, e->line, "internal: peek consumed data");
			return false;
		}
		settle(d);
		if (k == -EAGAIN && !f->nonblock && !(flags & MSG_DONTWAIT))
			return false;
		set_res(r, k);
	} else if (!strcmp(name, "write") || !strcmp(name, "send")) {
		long long len, flags = 0;
		if (!arg_int(d, e, 2, &len) || (!strcmp(name, "send") && !arg_int(d, e, 3, &flags)))
			return false;
		if (len < 0 || len > (1 << 24)) {
			finish(d, R_FAIL, e->line, "%s of %lld bytes: too many", name, len);
			return false;
		}
		if (flags) {
			finish(d, R_SKIP, e->line, "send flags 0x%llx not supported", flags);
			return false;
		}
		if (!p->on) {
			p->left = (size_t)len;
			p->done = 0;
		}
		return send_more(d, f, p, r);
	} else if (!strcmp(name, "fcntl")) {
		const char *cmd = arg(e, 1);
		if (!strcmp(cmd, "F_GETFL")) {
			r->ret = O_RDWR | (f->nonblock ? O_NONBLOCK : 0);
		} else if (!strcmp(cmd, "F_SETFL")) {
			if (!arg_int(d, e, 2, &v))
				return false;
			f->nonblock = (v & O_NONBLOCK) != 0;
		} else {
			finish(d, R_SKIP, e->line, "fcntl %s not supported", cmd);
			return false;
		}
	} else if (!strcmp(name, "getsockopt") || !strcmp(name, "setsockopt")) {
		if (!do_sockopt(d, e, f, name[0] == 's', r))
			return false;
	} else {
		finish(d, R_SKIP, e->line, "system call %s not supported", name);
		return false;
	}
	settle(d);
	return true;
}

static void check_res(struct drill *d, const struct dl_event *e, const struct res *r)
{
	long long want, want_err = 0;
	char badname[64];
	if (!arg_int(d, &(struct dl_event){.line = e->line,
					   .call = {.name = e->call.name, .arg = {e->call.ret},
						    .nargs = 1}},
		     0, &want))
		return;
	if (e->call.err && dl_eval(e->call.err, &want_err, badname, sizeof(badname)) < 0) {
		finish(d, R_SKIP, e->line, "errno %s not supported", e->call.err);
		return;
	}
	if (r->ret != want || (want == -1 && e->call.err && r->err != want_err)) {
		char got[64];
		if (r->ret == -1)
			snprintf(got, sizeof(got), "-1 %s", dl_errno_name(r->err) ? dl_errno_name(r->err)
										 : strerror(r->err));
		else
			snprintf(got, sizeof(got), "%ld", r->ret);
		finish(d, R_FAIL, e->line, "%s = %s%s%s, got %s", e->call.name, e->call.ret,
		       e->call.err ? " " : "", e->call.err ? e->call.err : "", got);
	}
}

/* A blocking call in progress: try again; report when it completes. */
static void pend_retry(struct drill *d)
{
	struct pending *p = &d->pend;
	struct res r;
	int line = p->e->line;
	if (!attempt(d, p->e, p, &r)) {
		if (d->result == R_RUN && d->now > p->hi)
			finish(d, R_FAIL, line, "%s still blocked at %.3f", p->e->call.name,
			       script_s(d->now));
		return;
	}
	p->on = false;
	note(d, "line %d: %s returned %ld", line, p->e->call.name, r.ret);
	if (d->now < p->lo || d->now > p->hi)
		finish(d, R_FAIL, line, "%s to return at %.3f...%.3f, got at %.3f", p->e->call.name,
		       script_s(p->lo), script_s(p->hi), script_s(d->now));
	check_res(d, p->e, &r);
}

static void run_call(struct drill *d, const struct dl_event *e, tapir_time_t lo, tapir_time_t hi)
{
	struct pending p = {0};
	struct res r;
	if (d->pend.on) {
		finish(d, R_SKIP, e->line, "a system call while another one blocks");
		return;
	}
	if (attempt(d, e, &p, &r)) {
		check_res(d, e, &r);
		return;
	}
	if (d->result != R_RUN)
		return;
	/* it blocks: packetdrill runs it in a thread and goes on with the
	 * script; we retry it whenever the stack has done something */
	note(d, "line %d: %s blocks", e->line, e->call.name);
	p.on = true;
	p.e = e;
	p.lo = lo;
	p.hi = hi;
	d->pend = p;
}

/* ---- the script ---- */

static void run_out(struct drill *d, const struct dl_event *e, tapir_time_t lo, tapir_time_t hi)
{
	struct frame fr;
	struct seg g;
	char want[256], got[256];
	advance(d, hi, true);
	if (d->result != R_RUN)
		return;
	fmt_exp(want, sizeof(want), &e->pkt);
	if (d->qoverflow) {
		finish(d, R_FAIL, e->line, "%s, got more than %u unexpected segments", want, DL_QUEUE);
		return;
	}
	if (!d->qlen) {
		finish(d, R_FAIL, e->line, "%s at %.3f, got nothing", want, script_s(hi));
		return;
	}
	fr = d->q[d->qhead];
	d->qhead = (d->qhead + 1) % DL_QUEUE;
	d->qlen--;
	if (!decode(&fr, d->sc->cfg.local_ip, d->sc->cfg.remote_ip, &g)) {
		free(fr.data);
		finish(d, R_FAIL, e->line, "%s, got a malformed TCP/IPv4 packet", want);
		return;
	}
	free(fr.data);
	/* packetdrill: the first SYN tapir sends defines its ISN; outbound
	 * sequence numbers (and inbound ACKs) are relative to it */
	if ((g.flags & DL_SYN) && (e->pkt.flags & DL_SYN) && !e->pkt.seq_any)
		d->isn = g.seq - e->pkt.seq;
	fmt_seg(d, got, sizeof(got), &g);
	note(d, "line %d: > %s", e->line, got);
	if (!g.csum_ok) {
		finish(d, R_FAIL, e->line, "%s, got %s with a bad checksum", want, got);
		return;
	}
	if (g.sport != d->lport || g.dport != d->rport) {
		/* a new connection of tapir's: follow its ports */
		if (g.flags & DL_SYN) {
			d->lport = g.sport;
			d->rport = g.dport;
		} else {
			finish(d, R_FAIL, e->line, "%s on ports %u>%u, got ports %u>%u", want, d->lport,
			       d->rport, g.sport, g.dport);
			return;
		}
	}
	if (!seg_match(d, &e->pkt, &g)) {
		finish(d, R_FAIL, e->line, "%s, got %s", want, got);
		return;
	}
	if (fr.t < lo) {
		finish(d, R_FAIL, e->line, "%s at %.3f, got it at %.3f", want, script_s(lo),
		       script_s(fr.t));
		return;
	}
	/* packetdrill: what follows is timed from when it actually came */
	d->last_us = (int64_t)(fr.t - DL_BASE);
}

static void run_event(struct drill *d, const struct dl_event *e)
{
	int64_t base = e->time.kind == DL_T_REL ? d->last_us : 0;
	int64_t start = base + e->time.us, end = base + e->time.end_us;
	tapir_time_t lo, hi;
	if (e->time.kind == DL_T_ANY)
		start = end = d->last_us;
	if (e->time.kind == DL_T_ABS && !e->time.end_rel)
		end = e->time.end_us;
	lo = (tapir_time_t)(DL_BASE + start - (start - d->tol < -(int64_t)DL_BASE ? 0 : d->tol));
	hi = (tapir_time_t)(DL_BASE + end + d->tol);
	if (e->time.kind == DL_T_ANY) {
		lo = d->now;
		hi = d->now + DL_ANY_HORIZON;
	}

	if (e->type == DL_EV_SHELL) {
		apply_sysctl(d, e);
		d->last_us = start;
		return;
	}
	if (e->type == DL_EV_CODE) {
		note(d, "line %d: %%{ }%% block skipped", e->line);
		d->last_us = start;
		return;
	}
	if (!stack_up(d, e->line))
		return;
	if (e->type == DL_EV_PKT && e->pkt.out) {
		run_out(d, e, lo, hi);
		return;
	}
	/* everything else happens at its time exactly */
	advance(d, (tapir_time_t)(DL_BASE + start), false);
	if (d->result != R_RUN)
		return;
	d->last_us = start;
	switch (e->type) {
	case DL_EV_PKT:
		note(d, "line %d: < injected", e->line);
		inject_tcp(d, e);
		settle(d);
		break;
	case DL_EV_ICMP:
		note(d, "line %d: < icmp injected", e->line);
		inject_icmp(d, e);
		settle(d);
		break;
	case DL_EV_CALL:
		note(d, "line %d: %s", e->line, e->call.name);
		/* a blocking call returns within the range, else at its time */
		run_call(d, e, lo, hi);
		break;
	default:
		break;
	}
	if (d->pend.on && d->result == R_RUN)
		pend_retry(d);
}

static int run_script(const char *path, const char *const *defines, bool verbose,
		      bool lenient_win, bool lenient_opts)
{
	struct dl_script sc;
	struct drill *d;
	int result;

	if (dl_parse_file(path, defines, &sc) < 0) {
		printf("FAIL %s: %s\n", path, sc.bad_msg);
		dl_script_free(&sc);
		return R_FAIL;
	}
	if (sc.cfg.ipv6) {
		printf("SKIP %s: IPv6 not implemented in tapir yet\n", path);
		dl_script_free(&sc);
		return R_SKIP;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		die("out of memory");
	d->sc = &sc;
	d->verbose = verbose;
	d->lenient_win = lenient_win;
	d->lenient_opts = lenient_opts;
	d->tol = sc.cfg.tolerance_us;
	d->now = DL_BASE;
	d->deadline = TAPIR_TIME_NEVER;
	tapir_config_default(&d->cfg);
	d->cfg.seed = 1; /* deterministic: the same run every time */
	d->result = R_RUN;

	for (size_t i = 0; i < sc.nev && d->result == R_RUN; i++) {
		/* a parse problem after the events before it have run: the
		 * events up to it may already fail */
		if (sc.bad_line && sc.ev[i].line >= sc.bad_line)
			break;
		run_event(d, &sc.ev[i]);
	}
	if (d->result == R_RUN && sc.bad_line) {
		d->plain = true;
		finish(d, sc.bad_skip ? R_SKIP : R_FAIL, sc.bad_line, "%s", sc.bad_msg);
	}
	if (d->result == R_RUN && d->pend.on) {
		advance(d, d->pend.hi, false);
		if (d->result == R_RUN && d->pend.on)
			finish(d, R_FAIL, d->pend.e->line, "%s never returned", d->pend.e->call.name);
	}
	if (d->result == R_RUN)
		d->result = R_PASS;

	result = d->result;
	if (result == R_PASS)
		printf("PASS %s\n", path);
	else
		printf("%s %s: line %d, %s%s\n", result == R_FAIL ? "FAIL" : "SKIP", path, d->line,
		       result == R_FAIL && !d->plain ? "expected " : "", d->msg);
	while (d->qlen) {
		free(d->q[d->qhead].data);
		d->qhead = (d->qhead + 1) % DL_QUEUE;
		d->qlen--;
	}
	if (d->s)
		tapir_stack_free(d->s);
	free(d);
	dl_script_free(&sc);
	return result;
}

static void usage(FILE *f)
{
	fputs("usage: tapir drill [-v] [-D NAME]... [--lenient win,options] SCRIPT.pkt...\n"
	      "\n"
	      "Runs packetdrill scripts against the tapir TCP core in simulated time.\n"
	      "  -v                 show every event, packet and skipped line\n"
	      "  -D NAME            take the #ifdef NAME branches (default: STANDARD)\n"
	      "  --lenient LIST     win: any open window (and buffer size) matches;\n"
	      "                     options: compare only the options tapir implements (MSS)\n"
	      "\n"
	      "Prints PASS|FAIL|SKIP per script and 'N passed, N failed, N skipped';\n"
	      "exits 1 when a script failed, 2 on a usage error.\n",
	      f);
}

int cmd_drill(int argc, char **argv)
{
	const char *defines[DL_MAX_DEFINES + 1] = {0};
	unsigned ndef = 0, counts[4] = {0};
	bool verbose = false, lwin = false, lopts = false, any_d = false;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "-v")) {
			verbose = true;
		} else if (!strcmp(a, "-D") || !strncmp(a, "-D", 2)) {
			const char *n = a[2] ? a + 2 : (++i < argc ? argv[i] : NULL);
			if (!n)
				die("-D needs a name");
			if (ndef == DL_MAX_DEFINES)
				die("at most %d -D names", DL_MAX_DEFINES);
			defines[ndef++] = n;
			any_d = true;
		} else if (!strcmp(a, "--lenient") || !strncmp(a, "--lenient=", 10)) {
			char list[64], *tok, *save;
			const char *v = a[9] == '=' ? a + 10 : (++i < argc ? argv[i] : NULL);
			if (!v)
				die("--lenient needs a list (win,options)");
			snprintf(list, sizeof(list), "%s", v);
			for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				if (!strcmp(tok, "win"))
					lwin = true;
				else if (!strcmp(tok, "options"))
					lopts = true;
				else
					die("--lenient: unknown '%s' (win, options)", tok);
			}
		} else if (a[0] == '-' && a[1]) {
			die("drill: unknown option '%s' (try tapir drill --help)", a);
		} else {
			break;
		}
	}
	if (i == argc) {
		usage(stderr);
		return 2;
	}
	if (!any_d) /* the RFC's behaviour, where the suite offers FreeBSD's as well */
		defines[ndef++] = "STANDARD";
	for (; i < argc; i++)
		counts[run_script(argv[i], defines, verbose, lwin, lopts)]++;
	printf("%u passed, %u failed, %u skipped\n", counts[R_PASS], counts[R_FAIL],
	       counts[R_SKIP]);
	return counts[R_FAIL] ? 1 : 0;
}
