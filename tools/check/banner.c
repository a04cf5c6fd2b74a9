/* --banners (stack mode): after the scan, a connection from tapir's own
 * stack to each open port, and what the service says: its first line, or
 * its answer to a hello chosen by port (an HTTP/1.0 GET, RFC 1945 5; a
 * TLS 1.2 ClientHello, banner_tls.c).  Bounded: at most --banner-bytes
 * read per connection, --banner-wait after the handshake,
 * --banner-conns connections per host and BANNER_CONNS in all; then the
 * connection is closed with a FIN, or reset when the service keeps
 * talking (RFC 9293 3.10.4: ABORT). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <tapir/tcp.h>

#include "banner.h"
#include "check.h"
#include "util.h"

#define BANNER_CONNS 64   /* connections at once, all hosts */
#define BANNER_TEXT 200   /* characters of a line kept */
#define BANNER_CLOSE_MS 1000 /* at most, for the closes to finish */

struct bconn {
	struct tapir_tcp *t;
	uint64_t idx;
	size_t host;
	uint16_t port;
	uint8_t kind;
	bool hello_sent, eof, err;
	uint64_t deadline; /* ns */
	size_t len;
	uint8_t buf[BANNER_MAX];
};

struct bctx {
	struct check *c;
	struct tapir_stack *st;
	uint32_t my_addr;
	void (*kick)(void *);
	void *arg;
	struct bconn *conn[BANNER_CONNS];
	unsigned nconn;
	uint8_t *per_host; /* connections open to each host */
};

static const uint16_t http_ports[] = {80, 81, 591, 3000, 5000, 8000, 8008, 8080, 8081, 8088, 8888, 9090};
static const uint16_t tls_ports[] = {443, 465, 563, 636, 853, 989, 990, 992, 993, 994, 995, 3269,
				     4443, 5061, 6697, 8443, 9443};

static int kind_of(uint16_t port)
{
	for (size_t i = 0; i < sizeof(http_ports) / sizeof(http_ports[0]); i++)
		if (http_ports[i] == port)
			return BK_HTTP;
	for (size_t i = 0; i < sizeof(tls_ports) / sizeof(tls_ports[0]); i++)
		if (tls_ports[i] == port)
			return BK_TLS;
	return BK_LINE;
}

/* The host's name as given (for SNI and Host:), or NULL for an address. */
static const char *host_name(const struct check *c, size_t h)
{
	const char *n = c->hosts.v[h].name;
	struct in6_addr a;
	if (!n || strchr(n, '/') || strchr(n, '[') || inet_pton(AF_INET, n, &a) == 1 ||
	    inet_pton(AF_INET6, n, &a) == 1)
		return NULL;
	return n;
}

/* Bytes up to the first line end (or LIM), printable, into a new string. */
static char *line_dup(const uint8_t *p, size_t n)
{
	char *s = check_calloc(BANNER_TEXT + 1, 1);
	size_t k = 0;
	for (size_t i = 0; i < n && p[i] != '\n' && k < BANNER_TEXT; i++) {
		if (p[i] == '\r' && (i + 1 == n || p[i + 1] == '\n'))
			break;
		s[k++] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '.';
	}
	return s;
}

/* The value of header NAME (case-insensitive, RFC 9110 5.1) in the head
 * P[0..N), or NULL. */
static char *header_dup(const uint8_t *p, size_t n, const char *name)
{
	size_t nl = strlen(name), i = 0;
	while (i < n) {
		const uint8_t *e = memchr(p + i, '\n', n - i);
		size_t end = e ? (size_t)(e - p) : n;
		if (end - i > nl && !strncasecmp((const char *)p + i, name, nl) && p[i + nl] == ':') {
			size_t v = i + nl + 1;
			while (v < end && (p[v] == ' ' || p[v] == '\t'))
				v++;
			return line_dup(p + v, end - v);
		}
		if (end == i || (end == i + 1 && p[i] == '\r'))
			break; /* the blank line: the head's end */
		i = end + 1;
	}
	return NULL;
}

/* Whether what came is the whole answer. */
static bool complete(const struct bconn *b)
{
	struct banner_tls tls;
	switch (b->kind) {
	case BK_HTTP:
		/* an HTTP/1.0 server closes after the body (RFC 1945 7.2.2):
		 * read on to its FIN, so that ours is no RST */
		return false;
	case BK_TLS: return banner_tls_parse(b->buf, b->len, &tls) == 1;
	default: return memchr(b->buf, '\n', b->len) != NULL;
	}
}

/* Bytes B reads at most: --banner-bytes, but on a TLS port the whole
 * first flight (a certificate chain is several KB). */
static size_t cap_of(const struct check *c, const struct bconn *b)
{
	return b->kind == BK_TLS ? BANNER_MAX : c->banner_bytes;
}

/* What B read, into the run's banners. */
static void record(struct bctx *x, struct bconn *b)
{
	struct check *c = x->c;
	struct check_banner r = {.idx = b->idx, .kind = b->kind};
	struct banner_tls tls;
	if (b->len == 0)
		return;
	if (b->kind == BK_HTTP && b->len >= 5 && !memcmp(b->buf, "HTTP/", 5)) {
		r.text = line_dup(b->buf, b->len);
		r.server = header_dup(b->buf, b->len, "Server");
	} else if (b->kind == BK_TLS && banner_tls_parse(b->buf, b->len, &tls) >= 0 &&
		   (tls.have_cert || tls.have_alert)) {
		if (tls.have_cert) {
			r.subject = strdup(tls.subject);
			r.issuer = strdup(tls.issuer);
			if (!r.subject || !r.issuer)
				die("out of memory");
		} else {
			r.text = check_calloc(32, 1);
			snprintf(r.text, 32, "TLS alert %u", tls.alert); /* RFC 5246 7.2 */
		}
	} else {
		r.kind = BK_LINE; /* not what the port's hello expects: its first line */
		r.text = line_dup(b->buf, b->len);
	}
	c->ban = check_realloc(c->ban, c->nban + 1, sizeof(*c->ban));
	c->ban[c->nban++] = r;
}

/* Ends B: FIN when the service is done or waits for us, RST when it keeps
 * talking (bytes unread, or our cap reached). */
static void finish(struct bctx *x, unsigned k, uint64_t now_us)
{
	struct bconn *b = x->conn[k];
	record(x, b);
	if (b->err || (!b->eof && (b->len >= cap_of(x->c, b) || tapir_tcp_readable(b->t))))
		tapir_tcp_abort(b->t, now_us);
	else
		tapir_tcp_close(b->t, now_us);
	x->per_host[b->host]--;
	free(b);
	x->conn[k] = x->conn[--x->nconn];
}

static void send_hello(struct bctx *x, struct bconn *b, uint64_t now_us)
{
	const char *name = host_name(x->c, b->host);
	const struct nu_addr *addr = &x->c->hosts.v[b->host].addr;
	char req[512], a[NU_ADDRSTRLEN];
	uint8_t hello[1024], rnd[32];
	size_t n = 0;
	if (b->kind == BK_HTTP) {
		/* RFC 1945 5 (Host: as HTTP/1.1 clients send it, RFC 9112 3.2);
		 * an IPv6 address in brackets, RFC 3986 3.2.2's IP-literal */
		bool lit6 = !name && addr->family == AF_INET6;
		int k = snprintf(req, sizeof(req),
				 "GET / HTTP/1.0\r\nHost: %s%s%s\r\nUser-Agent: tapir-check\r\nAccept: */*\r\n\r\n",
				 lit6 ? "[" : "", name ? name : nu_addr_str(addr, a), lit6 ? "]" : "");
		n = k > 0 && (size_t)k < sizeof(req) ? (size_t)k : 0;
		memcpy(hello, req, n);
	} else if (b->kind == BK_TLS) {
		for (int i = 0; i < 4; i++) {
			uint64_t r = nu_siphash(&x->c->key, &(uint64_t[2]){b->idx, (uint64_t)i}, 16);
			memcpy(rnd + 8 * i, &r, 8);
		}
		n = banner_tls_hello(hello, sizeof(hello), name, rnd);
	}
	b->hello_sent = true;
	if (n && tapir_tcp_send(b->t, hello, n, now_us) != (long)n)
		b->err = true;
}

/* Reads what B has; 1 when B is done. */
static int service(struct bctx *x, struct bconn *b, uint64_t now)
{
	uint64_t now_us = now / 1000;
	enum tapir_tcp_state s = tapir_tcp_state(b->t);
	size_t cap = cap_of(x->c, b);
	long r;
	if (s == TAPIR_TCP_CLOSED || tapir_tcp_error(b->t))
		b->err = true;
	if (!b->err && !b->hello_sent && (s == TAPIR_TCP_ESTABLISHED || s == TAPIR_TCP_CLOSE_WAIT)) {
		/* the wait runs from the handshake */
		b->deadline = now + (uint64_t)x->c->banner_wait_ms * 1000000ull;
		send_hello(x, b, now_us);
	}
	while (!b->err && !b->eof && b->len < cap) {
		r = tapir_tcp_recv(b->t, b->buf + b->len, cap - b->len, now_us);
		if (r == -EAGAIN)
			break;
		if (r <= 0) {
			b->eof = true;
			b->err = r < 0 && !b->len;
		} else {
			b->len += (size_t)r;
		}
	}
	return b->err || b->eof || b->len >= cap || (b->len && complete(b)) || now >= b->deadline;
}

/* The open ports, each host's in turn (its 1st port, then every host's
 * 2nd, ...): connections spread over the hosts. */
static uint64_t *open_ports(const struct check *c, size_t *n)
{
	uint64_t *v = NULL, maxp = 0;
	size_t h, k = 0;
	for (h = 0; h < c->hosts.n; h++)
		if (c->off[h + 1] - c->off[h] > maxp)
			maxp = c->off[h + 1] - c->off[h];
	for (uint64_t j = 0; j < maxp; j++)
		for (h = 0; h < c->hosts.n; h++)
			if (c->off[h] + j < c->off[h + 1] && c->pr[c->off[h] + j].state == ST_OPEN) {
				v = check_realloc(v, k + 1, sizeof(*v));
				v[k++] = c->off[h] + j;
			}
	*n = k;
	return v;
}

/* Opens a connection to open port IDX: 0, or -1 to try later. */
static int start(struct bctx *x, uint64_t idx)
{
	struct check_target t;
	struct bconn *b;
	struct tapir_tcp *s;
	struct tapir_ip me, to;
	uint64_t now = nu_now_ns();
	check_target_of(x->c, idx, &t);
	if (x->per_host[t.host] >= x->c->banner_conns || !(s = tapir_tcp_new(x->st)))
		return -1;
	/* from our address of the target's family (the stack mode's --addr) */
	me = t.addr.family == AF_INET6 ? tapir_ip_from_v6(x->c->stack.my6)
				       : tapir_ip_from_v4(x->my_addr);
	to = nu_addr_ip(&t.addr);
	if (tapir_tcp_bind_addr(s, &me, 0) < 0 || tapir_tcp_connect_addr(s, &to, t.port, now / 1000) < 0) {
		tapir_tcp_abort(s, now / 1000);
		return 0; /* (no port free, no route: no banner) */
	}
	b = check_calloc(1, sizeof(*b));
	*b = (struct bconn){.t = s, .idx = idx, .host = t.host, .port = t.port,
			    .kind = (uint8_t)kind_of(t.port),
			    /* the handshake's time, then --banner-wait from it */
			    .deadline = now + (uint64_t)(x->c->timeout_ms + x->c->banner_wait_ms) * 1000000ull};
	x->per_host[t.host]++;
	x->conn[x->nconn++] = b;
	return 0;
}

static int by_idx(const void *a, const void *b)
{
	const struct check_banner *x = a, *y = b;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

void check_banners_run(struct check *c, struct tapir_stack *st, uint32_t my_addr,
		       void (*kick)(void *), void *arg)
{
	struct bctx x = {.c = c, .st = st, .my_addr = my_addr, .kick = kick, .arg = arg};
	size_t n, next = 0;
	uint64_t *todo = open_ports(c, &n), end;
	struct tapir_tcp_mem m;
	x.per_host = check_calloc(c->hosts.n, 1);
	while ((next < n || x.nconn) && !check_interrupted) {
		uint64_t now = nu_now_ns(), wake = now + 20000000ull;
		while (next < n && x.nconn < BANNER_CONNS && start(&x, todo[next]) == 0)
			next++;
		kick(arg);
		check_pump(c, wake, true);
		now = nu_now_ns();
		for (unsigned k = 0; k < x.nconn;) {
			if (service(&x, x.conn[k], now))
				finish(&x, k, now / 1000); /* (the last one moves to K) */
			else
				k++;
		}
		kick(arg);
	}
	while (x.nconn) /* interrupted */
		finish(&x, 0, nu_now_ns() / 1000);
	/* the FINs' exchanges finish (connections nobody holds) */
	end = nu_now_ns() + BANNER_CLOSE_MS * 1000000ull;
	for (tapir_tcp_mem(st, &m); m.tcbs && nu_now_ns() < end; tapir_tcp_mem(st, &m)) {
		kick(arg);
		check_pump(c, nu_now_ns() + 20000000ull, true);
	}
	free(todo);
	free(x.per_host);
	if (c->nban)
		qsort(c->ban, c->nban, sizeof(*c->ban), by_idx);
}

const struct check_banner *check_banner_of(const struct check *c, uint64_t idx)
{
	size_t lo = 0, hi = c->nban;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->ban[mid].idx == idx)
			return &c->ban[mid];
		if (c->ban[mid].idx < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void check_banner_text(FILE *f, const struct check_banner *b)
{
	if (b->kind == BK_HTTP)
		fprintf(f, " http: %s%s%s", b->text, b->server ? " | Server: " : "",
			b->server ? b->server : "");
	else if (b->subject)
		fprintf(f, " tls: subject %s | issuer %s", b->subject, b->issuer);
	else
		fprintf(f, " banner: %s", b->text);
}

void check_banner_json(FILE *f, const struct check_banner *b)
{
	static const char *const kind[] = {"line", "http", "tls"};
	fprintf(f, ",\"service\":\"%s\"", b->subject ? "tls" : kind[b->kind]);
	if (b->text) {
		fputs(",\"banner\":", f);
		nu_json_str(f, b->text);
	}
	if (b->server) {
		fputs(",\"server\":", f);
		nu_json_str(f, b->server);
	}
	if (b->subject) {
		fputs(",\"subject\":", f);
		nu_json_str(f, b->subject);
		fputs(",\"issuer\":", f);
		nu_json_str(f, b->issuer);
	}
}

void check_banners_free(struct check *c)
{
	for (size_t i = 0; i < c->nban; i++) {
		free(c->ban[i].text);
		free(c->ban[i].server);
		free(c->ban[i].subject);
		free(c->ban[i].issuer);
	}
	free(c->ban);
}
