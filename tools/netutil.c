/* Shared by `tapir check` and `tapir ping`: see netutil.h. */
#define _GNU_SOURCE
#include "netutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <tapir/stack.h>
#include <tapir/addr.h>
#include <tapir/wire.h>

/* ---- hosts ---- */

struct nu_addr nu_addr_v4(uint32_t a)
{
	struct nu_addr x;
	memset(&x, 0, sizeof(x));
	x.family = AF_INET;
	x.u.v4 = a;
	return x;
}

int nu_addr_eq(const struct nu_addr *a, const struct nu_addr *b)
{
	if (a->family != b->family)
		return 0;
	if (a->family == AF_INET)
		return a->u.v4 == b->u.v4;
	return !memcmp(a->u.v6, b->u.v6, 16);
}

unsigned nu_addr_sockaddr(const struct nu_addr *a, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a->u.v6, 16);
		return sizeof(*s6);
	}
	{
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		s4->sin_addr.s_addr = a->u.v4;
		return sizeof(*s4);
	}
}

const char *nu_addr_str(const struct nu_addr *a, char *buf)
{
	return inet_ntop(a->family, a->family == AF_INET ? (const void *)&a->u.v4 : a->u.v6, buf,
			 NU_ADDRSTRLEN);
}

static size_t addr_hash(const struct nu_addr *a, size_t mask)
{
	uint64_t k = a->u.v4;
	if (a->family == AF_INET6) {
		uint32_t w[4];
		memcpy(w, a->u.v6, 16);
		/* an IPv6 family differs from IPv4 in its last word, mostly */
		k = (uint64_t)(w[0] ^ w[1] ^ w[2]) << 32 ^ w[3] ^ 0x6u;
	}
	/* Fibonacci hashing: consecutive addresses (a CIDR block) spread out */
	return (size_t)((k * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

long nu_hosts_find(const struct nu_hosts *h, const struct nu_addr *addr)
{
	size_t mask, i;
	if (!h->nslot)
		return -1;
	mask = h->nslot - 1;
	for (i = addr_hash(addr, mask);; i = (i + 1) & mask) {
		uint32_t s = h->slot[i];
		if (!s)
			return -1;
		if (nu_addr_eq(&h->v[s - 1].addr, addr))
			return (long)(s - 1);
	}
}

static int grow(struct nu_hosts *h)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct nu_host *v = realloc(h->v, cap * sizeof(*v));
		if (!v)
			return -1;
		h->v = v;
		h->cap = cap;
	}
	if ((h->n + 1) * 2 > h->nslot) {
		size_t ns = h->nslot ? h->nslot * 2 : 128, i;
		uint32_t *slot = calloc(ns, sizeof(*slot));
		if (!slot)
			return -1;
		free(h->slot);
		h->slot = slot;
		h->nslot = ns;
		for (i = 0; i < h->n; i++) {
			size_t j = addr_hash(&h->v[i].addr, ns - 1);
			while (slot[j])
				j = (j + 1) & (ns - 1);
			slot[j] = (uint32_t)i + 1;
		}
	}
	return 0;
}

/* Adds one address; -1 when the list is full or memory ran out. */
static int add_one(struct nu_hosts *h, const struct nu_addr *addr, const char *name,
		   void (*fn)(void *, size_t, int), void *arg, char *err, size_t errlen)
{
	long old = nu_hosts_find(h, addr);
	size_t j;
	if (old >= 0) {
		if (fn)
			fn(arg, (size_t)old, 0);
		return 0;
	}
	if (h->n >= NU_MAX_HOSTS) {
		snprintf(err, errlen, "more than %u hosts", NU_MAX_HOSTS);
		return -1;
	}
	if (grow(h)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->v[h->n] = (struct nu_host){.addr = *addr, .name = name};
	j = addr_hash(addr, h->nslot - 1);
	while (h->slot[j])
		j = (j + 1) & (h->nslot - 1);
	h->slot[j] = (uint32_t)h->n + 1;
	h->n++;
	if (fn)
		fn(arg, h->n - 1, 1);
	return 0;
}

typedef void (*nu_host_fn)(void *arg, size_t idx, int is_new);

/* An IPv4 block, ADDR (host order) and PLEN. */
static int add_block4(struct nu_hosts *h, const char *spec, uint32_t addr, long long plen,
		      nu_host_fn fn, void *arg, char *err, size_t errlen)
{
	uint32_t base, first, last, x;
	if (plen < 12) {
		snprintf(err, errlen, "'%s': blocks larger than /12 are refused", spec);
		return -1;
	}
	base = addr & (plen ? ~0u << (32 - plen) : 0);
	first = base;
	last = base | (plen == 32 ? 0 : ~0u >> plen);
	if (plen < 31) { /* the network and broadcast addresses answer no one */
		first++;
		last--;
	}
	for (x = first;; x++) {
		struct nu_addr a = nu_addr_v4(htonl(x));
		if (add_one(h, &a, NULL, fn, arg, err, errlen))
			return -1;
		if (x == last)
			break;
	}
	return 0;
}

/* An IPv6 prefix, A and PLEN (at least NU_MIN_PLEN6: the host part is in
 * the last 16 bits). */
static int add_block6(struct nu_hosts *h, const char *spec, struct nu_addr *a, long long plen,
		      nu_host_fn fn, void *arg, char *err, size_t errlen)
{
	uint32_t x, n;
	uint16_t base;
	if (plen < NU_MIN_PLEN6) {
		snprintf(err, errlen, "'%s': IPv6 prefixes shorter than /%u are refused (a /%lld holds 2^%lld addresses)",
			 spec, NU_MIN_PLEN6, plen, 128 - plen);
		return -1;
	}
	n = 1u << (128 - plen);
	base = (uint16_t)(tapir_get16(a->u.v6 + 14) & ~(n - 1));
	/* RFC 4291 2.6.1: the all-zeros host part is the Subnet-Router anycast
	 * address, no host's own; on a /127 both are hosts (RFC 6164) */
	for (x = plen < 127 ? 1 : 0; x < n; x++) {
		tapir_put16(a->u.v6 + 14, (uint16_t)(base | x));
		if (add_one(h, a, NULL, fn, arg, err, errlen))
			return -1;
	}
	return 0;
}

/* A name: its first IPv4 address, else its first IPv6 one (a name is
 * probed where it was probed before IPv6, and works with AAAA alone). */
static int add_name(struct nu_hosts *h, const char *spec, nu_host_fn fn, void *arg, char *err,
		    size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL, *r;
	struct nu_addr a;
	int rc = getaddrinfo(spec, NULL, &hints, &res);
	const struct addrinfo *v4 = NULL, *v6 = NULL;
	if (rc || !res) {
		snprintf(err, errlen, "cannot resolve '%s': %s", spec,
			 rc ? gai_strerror(rc) : "no address");
		return -1;
	}
	for (r = res; r; r = r->ai_next) {
		if (r->ai_family == AF_INET && !v4)
			v4 = r;
		if (r->ai_family == AF_INET6 && !v6)
			v6 = r;
	}
	memset(&a, 0, sizeof(a));
	if (v4) {
		a = nu_addr_v4(((const struct sockaddr_in *)v4->ai_addr)->sin_addr.s_addr);
	} else if (v6) {
		a.family = AF_INET6;
		memcpy(a.u.v6, &((const struct sockaddr_in6 *)v6->ai_addr)->sin6_addr, 16);
	}
	freeaddrinfo(res);
	if (!a.family) {
		snprintf(err, errlen, "cannot resolve '%s': no IPv4 or IPv6 address", spec);
		return -1;
	}
	return add_one(h, &a, spec, fn, arg, err, errlen);
}

int nu_hosts_add(struct nu_hosts *h, const char *spec,
		 void (*fn)(void *arg, size_t idx, int is_new), void *arg, char *err,
		 size_t errlen)
{
	char buf[64];
	const char *slash;
	long long plen = -1;
	struct nu_addr a;
	size_t len = strlen(spec);
	memset(&a, 0, sizeof(a));
	if (!*spec) {
		snprintf(err, errlen, "empty host");
		return -1;
	}
	if (len >= sizeof(buf))
		return add_name(h, spec, fn, arg, err, errlen);
	/* [2001:db8::1], [2001:db8::/112] or [2001:db8::]/112: the brackets off */
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');
		if (!rb || (rb[1] && rb[1] != '/') || rb == spec + 1) {
			snprintf(err, errlen, "'%s' is not an IPv6 address in brackets such as [2001:db8::1]",
				 spec);
			return -1;
		}
		snprintf(buf, sizeof(buf), "%.*s%s", (int)(rb - spec - 1), spec + 1, rb + 1);
		if (!strchr(buf, ':')) {
			snprintf(err, errlen, "'%s': only IPv6 addresses go in brackets", spec);
			return -1;
		}
	} else {
		memcpy(buf, spec, len + 1);
	}
	if ((slash = strchr(buf, '/'))) {
		buf[slash - buf] = 0;
		plen = nu_parse_num(slash + 1, 0, 128);
	}
	if (inet_pton(AF_INET, buf, &a.u.v4) == 1) {
		a.family = AF_INET;
		if (!slash)
			return add_one(h, &a, NULL, fn, arg, err, errlen);
		if (plen >= 0 && plen <= 32)
			return add_block4(h, spec, ntohl(a.u.v4), plen, fn, arg, err, errlen);
	} else if (strchr(buf, '%') || (inet_pton(AF_INET6, buf, a.u.v6) == 1 &&
					 tapir_ipv6_is_link_local(a.u.v6))) {
		/* RFC 4007 11: a link-local address means nothing without its
		 * zone, and targets carry none (yet) */
		snprintf(err, errlen, "'%s': link-local IPv6 targets (fe80::/10, %%zone) are not supported yet",
			 spec);
		return -1;
	} else if (inet_pton(AF_INET6, buf, a.u.v6) == 1) {
		a.family = AF_INET6;
		if (!slash)
			return add_one(h, &a, NULL, fn, arg, err, errlen);
		if (plen >= 0)
			return add_block6(h, spec, &a, plen, fn, arg, err, errlen);
	} else if (!slash && !strchr(buf, ':') && spec[0] != '[') {
		return add_name(h, spec, fn, arg, err, errlen);
	}
	if (slash || strchr(buf, ':'))
		snprintf(err, errlen, "'%s' is not an address, a CIDR block such as 10.0.0.0/24 or an IPv6 prefix such as 2001:db8::/112",
			 spec);
	else
		snprintf(err, errlen, "'%s' is not an address", spec);
	return -1;
}

int nu_split_target(const char *t, char **host, const char **ports, char *err, size_t errlen)
{
	const char *colon = strrchr(t, ':'), *rb = strchr(t, ']');
	if (t[0] == '[' && rb) {
		/* [v6]:PORTS or [v6]/LEN:PORTS: the colon after the bracket */
		colon = strchr(rb, ':');
	} else if (colon && memchr(t, ':', (size_t)(colon - t))) {
		snprintf(err, errlen, "target '%s': an IPv6 host goes in brackets, as [2001:db8::1]:80", t);
		return -1;
	}
	if (!colon || colon == t) {
		snprintf(err, errlen, "target '%s' is not HOST:PORTS (e.g. 10.0.0.2:22,80, 10.0.0.0/24:1-1024 or [2001:db8::1]:80)",
			 t);
		return -1;
	}
	*host = strndup(t, (size_t)(colon - t));
	if (!*host) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*ports = colon + 1;
	return 0;
}

int nu_parse_endpoint(const char *s, struct nu_addr *a, uint16_t *port)
{
	char host[NU_ADDRSTRLEN];
	const char *colon = strrchr(s, ':'), *h = s;
	size_t n;
	long long p;
	uint32_t v4;

	if (!colon)
		return -1;
	n = (size_t)(colon - s);
	if (s[0] == '[') { /* RFC 5952 6: [2001:db8::1]:80 */
		if (n < 3 || s[n - 1] != ']')
			return -1;
		h = s + 1;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, h, n);
	host[n] = 0;
	memset(a, 0, sizeof(*a));
	if (h == s && !tapir_parse_ipv4(host, &v4)) {
		*a = nu_addr_v4(htonl(v4));
	} else if (h != s && !tapir_parse_ipv6(host, a->u.v6, NULL)) {
		a->family = AF_INET6;
	} else {
		return -1;
	}
	if ((p = nu_parse_num(colon + 1, 1, 65535)) < 0)
		return -1;
	*port = (uint16_t)p;
	return 0;
}

struct tapir_ip nu_addr_ip(const struct nu_addr *a)
{
	return a->family == AF_INET6 ? tapir_ip_from_v6(a->u.v6) : tapir_ip_from_v4(ntohl(a->u.v4));
}

void nu_hosts_free(struct nu_hosts *h)
{
	free(h->v);
	free(h->slot);
	memset(h, 0, sizeof(*h));
}

const char *nu_host_str(const struct nu_host *x, char *buf)
{
	if (x->name)
		return x->name;
	return nu_addr_str(&x->addr, buf);
}

/* ---- ports ---- */

long long nu_parse_num(const char *s, long long lo, long long hi)
{
	char *end;
	long long v;
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	return v;
}

int nu_numopt_set(const struct nu_numopt *t, size_t n, int opt, const char *arg, char *err,
		  size_t errlen)
{
	size_t i;
	long long v;
	for (i = 0; i < n && t[i].opt != opt; i++)
		;
	if (i == n)
		return 0;
	if ((v = nu_parse_num(arg, t[i].lo, t[i].hi)) < 0) {
		snprintf(err, errlen, "%s: '%s' is not %s from %lld to %lld", t[i].name, arg,
			 t[i].what, t[i].lo, t[i].hi);
		return -1;
	}
	*t[i].dst = (unsigned)v;
	return 1;
}

int nu_parse_ports(const char *s, uint16_t **ports, size_t *n, char *err, size_t errlen)
{
	static uint8_t seen[65536 / 8];
	char buf[32];
	const char *p = s;
	size_t count = 0, k = 0;
	unsigned v;
	memset(seen, 0, sizeof(seen));
	if (!*s)
		goto bad;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char *dash;
		long long lo, hi;
		if (!len || len >= sizeof(buf))
			goto bad;
		memcpy(buf, p, len);
		buf[len] = 0;
		dash = strchr(buf, '-');
		if (dash) {
			*dash = 0;
			lo = nu_parse_num(buf, 1, 65535);
			hi = nu_parse_num(dash + 1, 1, 65535);
		} else {
			lo = hi = nu_parse_num(buf, 1, 65535);
		}
		if (lo < 0 || hi < 0 || lo > hi)
			goto bad;
		for (v = (unsigned)lo; v <= (unsigned)hi; v++)
			seen[v >> 3] |= (uint8_t)(1u << (v & 7));
		p += len;
		if (*p == ',') {
			p++;
			if (!*p)
				goto bad;
		}
	}
	for (v = 1; v < 65536; v++)
		count += (seen[v >> 3] >> (v & 7)) & 1;
	*ports = malloc(count * sizeof(**ports));
	if (!*ports) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (v = 1; v < 65536; v++)
		if ((seen[v >> 3] >> (v & 7)) & 1)
			(*ports)[k++] = (uint16_t)v;
	*n = count;
	return 0;
bad:
	snprintf(err, errlen, "'%s' is not a port list such as 80, 1-1024 or 22,80,8000-8010 (ports 1-65535)",
		 s);
	return -1;
}

/* ---- keyed hashing ---- */

uint64_t nu_siphash(const struct nu_key *k, const void *data, size_t len)
{
	/* the library's SipHash-2-4 (the one its own cookies use, RFC 6528) */
	const uint64_t key[2] = {k->k0, k->k1};
	return tapir_siphash(key, data, len);
}

void nu_key_random(struct nu_key *k)
{
	uint64_t r[2];
	size_t got = 0;
	while (got < sizeof(r)) {
		ssize_t n = getrandom((uint8_t *)r + got, sizeof(r) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) { /* no entropy source: still unpredictable enough per run */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			r[0] ^= (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull;
			r[1] ^= (uint64_t)ts.tv_sec ^ (uint64_t)getpid();
			break;
		}
		got += (size_t)n;
	}
	k->k0 = r[0];
	k->k1 = r[1];
}

/* ---- keyed permutation ---- */

void nu_perm_init(struct nu_perm *p, uint64_t n, const struct nu_key *k)
{
	unsigned bits = 0;
	while (bits < 64 && (1ull << bits) < n)
		bits++;
	if (bits < 2)
		bits = 2;
	p->n = n;
	p->half = (bits + 1) / 2;
	p->key = *k;
}

static uint64_t feistel(const struct nu_perm *p, uint64_t x)
{
	uint64_t mask = (1ull << p->half) - 1, l = x >> p->half, r = x & mask;
	unsigned round;
	for (round = 0; round < 4; round++) {
		uint64_t in[2] = {r, round}, f = nu_siphash(&p->key, in, sizeof(in)) & mask;
		uint64_t t = l ^ f;
		l = r;
		r = t;
	}
	return (l << p->half) | r;
}

uint64_t nu_perm_at(const struct nu_perm *p, uint64_t i)
{
	/* cycle walking: the domain is < 4n, so a few steps on average */
	uint64_t x = feistel(p, i);
	while (x >= p->n)
		x = feistel(p, x);
	return x;
}

/* ---- token bucket ---- */

void nu_bucket_init(struct nu_bucket *b, double rate, uint64_t now)
{
	b->rate = rate;
	/* at most 2 ms of sending at once (never fewer than one probe): the
	 * loop wakes about every millisecond, and a short burst spreads over
	 * random hosts anyway */
	b->burst = rate / 500.0 < 1.0 ? 1.0 : rate / 500.0;
	b->tokens = 1.0;
	b->last = now;
}

static void refill(struct nu_bucket *b, uint64_t now)
{
	if (now > b->last) {
		b->tokens += (double)(now - b->last) * b->rate / 1e9;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
		b->last = now;
	}
}

int nu_bucket_take(struct nu_bucket *b, uint64_t now)
{
	refill(b, now);
	if (b->tokens < 1.0)
		return 0;
	b->tokens -= 1.0;
	return 1;
}

uint64_t nu_bucket_wait(struct nu_bucket *b, uint64_t now)
{
	refill(b, now);
	if (b->tokens >= 1.0)
		return 0;
	return (uint64_t)((1.0 - b->tokens) * 1e9 / b->rate) + 1;
}

uint64_t nu_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int nu_addr_in_use(uint32_t addr, const char *except, char *ifname, size_t len)
{
	struct ifaddrs *ifa, *i;
	int found = 0;
	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i && !found; i = i->ifa_next) {
		struct sockaddr_in sin;
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
			continue;
		memcpy(&sin, i->ifa_addr, sizeof(sin));
		if (ntohl(sin.sin_addr.s_addr) == addr && (!except || strcmp(i->ifa_name, except))) {
			snprintf(ifname, len, "%s", i->ifa_name); /* outlives the list */
			found = 1;
		}
	}
	freeifaddrs(ifa);
	return found;
}

long nu_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur > (1 << 20) ? 1 << 20 : (long)rl.rlim_cur;
}

void nu_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}
