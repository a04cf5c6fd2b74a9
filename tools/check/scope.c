/* tapir check: which targets this run probes, and in what order.
 *
 * The order is a keyed permutation of all probes (nu_perm), keyed from
 * --seed: every process given the same seed and targets computes the same
 * order, as masscan's and zmap's shards do.  --shard I/N takes every N-th
 * position of that order from position I-1 (masscan's split), so the N
 * shards are disjoint and together cover every probe, with no
 * coordination.  --exclude takes addresses out (zmap's blocklist: CIDR
 * lines, comments after #).  Without --seed the seed is random, and a
 * --resume file records it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <tapir/addr.h>
#include <tapir/stack.h>

#include "check.h"
#include "util.h"

#define MAX_SHARDS 65535
#define MAX_EXCLUDES (1u << 20) /* lines: bounded memory */

void check_parse_seed(struct check_scope *s, const char *arg)
{
	char *end;
	unsigned long long v;
	errno = 0;
	if (arg[0] < '0' || arg[0] > '9' || ((v = strtoull(arg, &end, 10)), *end) || errno)
		die("check: --seed: '%s' is not a number from 0 to 18446744073709551615", arg);
	s->seed = v;
	s->have_seed = true;
}

void check_parse_shard(struct check_scope *s, const char *arg)
{
	const char *slash = strchr(arg, '/');
	long long i = -1, n = -1;
	char buf[16];
	if (slash && (size_t)(slash - arg) < sizeof(buf)) {
		memcpy(buf, arg, (size_t)(slash - arg));
		buf[slash - arg] = 0;
		i = nu_parse_num(buf, 1, MAX_SHARDS);
		n = nu_parse_num(slash + 1, 1, MAX_SHARDS);
	}
	if (i < 1 || n < 1 || i > n)
		die("check: --shard: '%s' is not I/N with 1 <= I <= N <= %u (such as 2/4)", arg,
		    MAX_SHARDS);
	s->shard_i = (unsigned)i;
	s->shard_n = (unsigned)n;
}

/* One blocklist line (comment and blanks already gone): ADDR or ADDR/LEN,
 * either family.  0, or -1 when it is neither. */
static int parse_excl(const char *t, struct check_excl *e)
{
	memset(e, 0, sizeof(*e));
	if (strchr(t, ':')) {
		e->family = AF_INET6;
		return tapir_parse_ipv6(t, e->a, &e->plen);
	}
	uint32_t a;
	e->family = AF_INET;
	if (strchr(t, '/')) {
		if (tapir_parse_cidr(t, &a, &e->plen))
			return -1;
	} else {
		if (tapir_parse_ipv4(t, &a))
			return -1;
		e->plen = 32;
	}
	a = htonl(a);
	memcpy(e->a, &a, 4);
	return 0;
}

void check_read_exclude(struct check_scope *s)
{
	FILE *f = fopen(s->exclude_file, "r");
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	if (!f)
		die("check: --exclude: cannot read %s: %s", s->exclude_file, strerror(errno));
	while (getline(&line, &cap, f) >= 0) {
		char *p = line, *q, *hash = strchr(line, '#');
		lineno++;
		if (hash)
			*hash = 0;
		while (*p == ' ' || *p == '\t')
			p++;
		q = p + strlen(p);
		while (q > p && (q[-1] == '\n' || q[-1] == '\r' || q[-1] == ' ' || q[-1] == '\t'))
			*--q = 0;
		if (!*p)
			continue;
		if (s->nexcl >= MAX_EXCLUDES)
			die("check: --exclude %s: more than %u entries", s->exclude_file, MAX_EXCLUDES);
		s->excl = check_realloc(s->excl, s->nexcl + 1, sizeof(*s->excl));
		if (parse_excl(p, &s->excl[s->nexcl]))
			die("check: --exclude %s line %zu: '%s' is not an address or CIDR block such as 192.0.2.0/24 or 2001:db8::/32",
			    s->exclude_file, lineno, p);
		s->nexcl++;
	}
	free(line);
	fclose(f);
}

static bool excluded(const struct check_scope *s, const struct nu_addr *a)
{
	for (size_t k = 0; k < s->nexcl; k++) {
		const struct check_excl *e = &s->excl[k];
		if (e->family != a->family)
			continue;
		if (a->family == AF_INET) {
			uint32_t m = tapir_ipv4_mask(e->plen), x;
			memcpy(&x, e->a, 4);
			if ((ntohl(a->u.v4) & m) == (ntohl(x) & m))
				return true;
		} else if (tapir_ipv6_prefix_eq(a->u.v6, e->a, e->plen)) {
			return true;
		}
	}
	return false;
}

uint64_t check_probe_at(const struct check *c, uint64_t j)
{
	const struct check_scope *s = &c->sc;
	return nu_perm_at(&s->order, (uint64_t)(s->shard_i - 1) + j * s->shard_n);
}

/* The order's key from the seed: SipHash of it under two fixed keys, so
 * any seed (0, 1, 2...) gives an unrelated order, the same everywhere. */
static void order_key(uint64_t seed, struct nu_key *k)
{
	static const struct nu_key k0 = {0x7461706972636b30ull, 0x6f72646572000000ull};
	static const struct nu_key k1 = {0x7461706972636b31ull, 0x6f72646572000001ull};
	uint8_t b[8];
	for (int i = 0; i < 8; i++) /* little-endian on every machine */
		b[i] = (uint8_t)(seed >> (8 * i));
	k->k0 = nu_siphash(&k0, b, sizeof(b));
	k->k1 = nu_siphash(&k1, b, sizeof(b));
}

void check_scope_apply(struct check *c)
{
	struct check_scope *s = &c->sc;
	struct nu_key k;
	uint64_t j, i;
	order_key(s->seed, &k);
	nu_perm_init(&s->order, c->total, &k);
	s->npos = c->total > s->shard_i - 1 ? (c->total - (s->shard_i - 1) + s->shard_n - 1) / s->shard_n : 0;
	if (s->resuming)
		check_resume_verify(c);
	if (s->shard_n > 1) { /* only this shard's positions are ours */
		for (i = 0; i < c->total; i++)
			c->pr[i].state = ST_OUT;
		for (j = 0; j < s->npos; j++)
			c->pr[check_probe_at(c, j)].state = ST_PENDING;
	}
	for (size_t k2 = 0; k2 < s->ndone; k2++)
		for (j = s->done[k2][0]; j < s->done[k2][0] + s->done[k2][1]; j++)
			c->pr[check_probe_at(c, j)].state = ST_OUT;
	if (s->nexcl)
		for (size_t h = 0; h < c->hosts.n; h++)
			if (excluded(s, &c->hosts.v[h].addr))
				for (i = c->off[h]; i < c->off[h + 1]; i++)
					c->pr[i].state = ST_OUT;
	c->todo = 0;
	for (i = 0; i < c->total; i++)
		c->todo += c->pr[i].state == ST_PENDING;
}

uint64_t check_targets_hash(const struct check *c)
{
	static const struct nu_key k = {0x7461706972746768ull, 0x6173680000000000ull};
	uint64_t h = nu_siphash(&k, &c->total, sizeof(c->total));
	for (size_t i = 0; i < c->hosts.n; i++) {
		const struct nu_host *x = &c->hosts.v[i];
		const struct portset *ps = &c->sets[x->portset];
		uint8_t a[17] = {(uint8_t)x->addr.family};
		uint64_t in[3];
		memcpy(a + 1, x->addr.family == AF_INET ? (const void *)&x->addr.u.v4 : x->addr.u.v6,
		       x->addr.family == AF_INET ? 4 : 16);
		in[0] = h;
		in[1] = nu_siphash(&k, a, sizeof(a));
		in[2] = nu_siphash(&k, ps->p, ps->n * sizeof(*ps->p));
		h = nu_siphash(&k, in, sizeof(in));
	}
	return h;
}
