/* TCP's memory: TCBs in chunks taken as connections come and given back
 * when all of a chunk's TCBs are free, the 4-tuple hash table that grows
 * and shrinks with the connections, and the rings, held only while they
 * hold data (with a small cache against malloc churn).  Nothing is
 * preallocated per possible connection: a host holding 100,000 idle
 * connections pays for 100,000 TCBs and nothing more. */
#include <errno.h>
#include <stdlib.h>

#include "tcp_int.h"

#define TCB_CHUNK 64            /* TCBs per chunk */
#define HASH_MIN 64             /* buckets, at least */

struct tcb_chunk {
	struct tcb_chunk *next, *prev; /* in the list of chunks with a free TCB */
	struct tapir_tcp *free;        /* its free TCBs, through hnext */
	unsigned used;
	struct tapir_tcp tcb[TCB_CHUNK];
};

int tcp_init(struct tapir_stack *s)
{
	struct tp_tcp *tc = calloc(1, sizeof(*tc));
	if (!tc)
		return -1;
	s->tcp = tc;
	tc->hash = calloc(HASH_MIN, sizeof(*tc->hash));
	if (!tc->hash)
		return -1;
	tc->hash_mask = HASH_MIN - 1;
	tc->secret[0] = tp_rand(s);
	tc->secret[1] = tp_rand(s);
	/* a key of its own: the ISN shows SipHash(secret, 4-tuple) to the
	 * peer, which must not learn where its 4-tuples fall */
	tc->hkey[0] = tp_rand(s);
	tc->hkey[1] = tp_rand(s);
	tc->cache[0].size = s->cfg.tcp_sndbuf;
	tc->cache[1].size = s->cfg.tcp_rcvbuf;
	return 0;
}

void tcp_fini(struct tapir_stack *s)
{
	struct tp_tcp *tc = s->tcp;
	struct tapir_tcp *t, *next;
	if (!tc)
		return;
	for (t = tc->all; t; t = next) {
		next = t->anext;
		tcp_ring_put(t, &t->snd);
		tcp_ring_put(t, &t->rcv);
		tcb_put(t);
	}
	for (unsigned i = 0; i < 2; i++)
		while (tc->cache[i].n)
			free(tc->cache[i].buf[--tc->cache[i].n]);
	free(tc->spare);
	free(tc->hash);
	free(tc);
	s->tcp = NULL;
}

/* ---- bound ports ---- */

void tcp_port_insert(struct tapir_tcp *t)
{
	struct tapir_tcp **head = &t->s->tcp->ports[t->lport & (TCP_PORT_BUCKETS - 1)];
	t->bound = true;
	t->bnext = *head;
	if (*head)
		(*head)->bprev = &t->bnext;
	t->bprev = head;
	*head = t;
}

static void tcp_port_remove(struct tapir_tcp *t)
{
	if (!t->bprev)
		return;
	*t->bprev = t->bnext;
	if (t->bnext)
		t->bnext->bprev = t->bprev;
	t->bprev = NULL;
}

/* ---- TCBs ---- */

static void chunk_unlink(struct tp_tcp *tc, struct tcb_chunk *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		tc->partial = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
}

static void chunk_link(struct tp_tcp *tc, struct tcb_chunk *c)
{
	c->prev = NULL;
	c->next = tc->partial;
	if (tc->partial)
		tc->partial->prev = c;
	tc->partial = c;
}

static struct tcb_chunk *chunk_new(struct tp_tcp *tc)
{
	struct tcb_chunk *c = tc->spare;
	if (c) {
		tc->spare = NULL;
	} else {
		if (!(c = malloc(sizeof(*c))))
			return NULL;
		tc->nchunks++;
	}
	c->used = 0;
	c->free = NULL;
	for (unsigned i = TCB_CHUNK; i-- > 0;) {
		c->tcb[i].hnext = c->free;
		c->free = &c->tcb[i];
	}
	chunk_link(tc, c);
	return c;
}

struct tapir_tcp *tcb_get(struct tapir_stack *s)
{
	struct tp_tcp *tc = s->tcp;
	struct tcb_chunk *c = tc->partial ? tc->partial : chunk_new(tc);
	struct tapir_tcp *t;
	if (!c)
		return NULL;
	t = c->free;
	c->free = t->hnext;
	if (++c->used == TCB_CHUNK)
		chunk_unlink(tc, c);
	memset(t, 0, sizeof(*t));
	t->chunk = c;
	t->s = s;
	tc->ntcb++;
	return t;
}

/* The TCB goes back to its chunk; an empty chunk goes back to malloc,
 * but for one spare, so that one connection opened and closed over and
 * over does not take and give back a chunk each time. */
void tcb_put(struct tapir_tcp *t)
{
	struct tp_tcp *tc = t->s->tcp;
	struct tcb_chunk *c = t->chunk;
	tcp_port_remove(t);
	memset(t, 0, sizeof(*t));
	t->hnext = c->free;
	c->free = t;
	tc->ntcb--;
	if (c->used-- == TCB_CHUNK)
		chunk_link(tc, c);
	if (c->used)
		return;
	chunk_unlink(tc, c);
	if (!tc->spare) {
		tc->spare = c;
		return;
	}
	free(c);
	tc->nchunks--;
}

/* ---- the 4-tuple hash: keyed (SipHash), so that a peer cannot choose
 * 4-tuples that fall in one bucket; resized to keep about one connection
 * a bucket, so a lookup stays O(1) ---- */

static unsigned tcp_hash(const struct tp_tcp *tc, unsigned mask, uint32_t laddr, uint16_t lport,
			 uint32_t raddr, uint16_t rport)
{
	uint8_t b[12];
	tapir_put32(b, laddr);
	tapir_put16(b + 4, lport);
	tapir_put32(b + 6, raddr);
	tapir_put16(b + 10, rport);
	return (unsigned)tp_siphash(tc->hkey, b, sizeof(b)) & mask;
}

static unsigned tcb_hash(const struct tp_tcp *tc, unsigned mask, const struct tapir_tcp *t)
{
	return tcp_hash(tc, mask, t->laddr, t->lport, t->raddr, t->rport);
}

/* Moves every connection to a table of N buckets; keeps the old table
 * when there is no memory for the new one (lookups still work, slower). */
static void tcp_hash_resize(struct tp_tcp *tc, unsigned n)
{
	struct tapir_tcp **h = calloc(n, sizeof(*h)), *t, *next;
	if (!h)
		return;
	for (unsigned i = 0; i <= tc->hash_mask; i++)
		for (t = tc->hash[i]; t; t = next) {
			unsigned b = tcb_hash(tc, n - 1, t);
			next = t->hnext;
			t->hnext = h[b];
			h[b] = t;
		}
	free(tc->hash);
	tc->hash = h;
	tc->hash_mask = n - 1;
}

struct tapir_tcp *tcp_lookup(struct tapir_stack *s, uint32_t laddr, uint16_t lport,
			     uint32_t raddr, uint16_t rport)
{
	struct tp_tcp *tc = s->tcp;
	for (struct tapir_tcp *t = tc->hash[tcp_hash(tc, tc->hash_mask, laddr, lport, raddr, rport)];
	     t; t = t->hnext)
		if (t->lport == lport && t->rport == rport && t->raddr == raddr && t->laddr == laddr)
			return t;
	return NULL;
}

void tcp_hash_insert(struct tapir_tcp *t)
{
	struct tp_tcp *tc = t->s->tcp;
	unsigned h;
	if (++tc->nhash > tc->hash_mask + 1 && tc->hash_mask < (1u << 30))
		tcp_hash_resize(tc, (tc->hash_mask + 1) * 2);
	h = tcb_hash(tc, tc->hash_mask, t);
	t->hnext = tc->hash[h];
	tc->hash[h] = t;
	t->in_hash = true;
}

void tcp_hash_remove(struct tapir_tcp *t)
{
	struct tp_tcp *tc = t->s->tcp;
	struct tapir_tcp **pp;
	if (!t->in_hash)
		return;
	for (pp = &tc->hash[tcb_hash(tc, tc->hash_mask, t)]; *pp; pp = &(*pp)->hnext)
		if (*pp == t) {
			*pp = t->hnext;
			break;
		}
	t->in_hash = false;
	/* shrink at 1/8 full to half: the memory comes back after a crowd,
	 * and a table never flaps between two sizes */
	if (--tc->nhash < (tc->hash_mask + 1) / 8 && tc->hash_mask + 1 > HASH_MIN)
		tcp_hash_resize(tc, (tc->hash_mask + 1) / 2);
}

/* ---- rings ---- */

static struct tp_ring_cache *ring_cache(struct tp_tcp *tc, uint32_t size)
{
	for (unsigned i = 0; i < 2; i++)
		if (tc->cache[i].size == size)
			return &tc->cache[i];
	return NULL;
}

int tcp_ring_get(struct tapir_tcp *t, struct tp_ring *r)
{
	struct tp_tcp *tc = t->s->tcp;
	struct tp_ring_cache *c = ring_cache(tc, r->cap);
	if (r->buf)
		return 0;
	if (tc->mem + r->cap > t->s->cfg.tcp_mem_max)
		return -ENOBUFS;
	if (c && c->n)
		r->buf = c->buf[--c->n];
	else if (!(r->buf = malloc(r->cap)))
		return -ENOBUFS;
	r->head = r->len = 0;
	tc->mem += r->cap;
	return 0;
}

void tcp_ring_put(struct tapir_tcp *t, struct tp_ring *r)
{
	struct tp_tcp *tc = t->s->tcp;
	struct tp_ring_cache *c = ring_cache(tc, r->cap);
	if (!r->buf)
		return;
	tc->mem -= r->cap;
	if (c && c->n < TCP_RING_CACHE)
		c->buf[c->n++] = r->buf;
	else
		free(r->buf);
	r->buf = NULL;
	r->head = r->len = 0;
}

void tapir_tcp_mem(const struct tapir_stack *s, struct tapir_tcp_mem *m)
{
	const struct tp_tcp *tc = s->tcp;
	memset(m, 0, sizeof(*m));
	m->tcbs = tc->ntcb;
	m->tcb_size = sizeof(struct tapir_tcp);
	m->tcb_bytes = (size_t)tc->nchunks * sizeof(struct tcb_chunk);
	m->ring_bytes = tc->mem;
	for (unsigned i = 0; i < 2; i++)
		m->ring_cache_bytes += (size_t)tc->cache[i].n * tc->cache[i].size;
	m->hash_bytes = (size_t)(tc->hash_mask + 1) * sizeof(*tc->hash);
}
