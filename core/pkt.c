/* Packet buffers.  Two pools fixed at stack creation: small buffers for
 * frames, large ones for reassembled or big datagrams.  Nothing on the
 * per-packet path calls malloc; an empty pool is a counted drop. */
#include <stdlib.h>

#include "core.h"

static int pool_init(struct tp_pool *pool, unsigned count, size_t cap, bool large)
{
	pool->count = count;
	pool->used = 0;
	pool->free = NULL;
	if (!count)
		return 0;
	pool->pkts = calloc(count, sizeof(*pool->pkts));
	pool->mem = malloc((size_t)count * cap);
	if (!pool->pkts || !pool->mem)
		return -1;
	for (unsigned i = count; i-- > 0;) {
		struct tp_pkt *p = &pool->pkts[i];
		p->base = pool->mem + (size_t)i * cap;
		p->cap = (uint32_t)cap;
		p->large = large;
		p->next = pool->free;
		pool->free = p;
	}
	return 0;
}

int tp_pools_init(struct tapir_stack *s)
{
	if (pool_init(&s->small, s->cfg.pkt_small, TP_SMALL_CAP, false) ||
	    pool_init(&s->large, s->cfg.pkt_large, TP_LARGE_CAP, true))
		return -1;
	return 0;
}

void tp_pools_free(struct tapir_stack *s)
{
	free(s->small.pkts);
	free(s->small.mem);
	free(s->large.pkts);
	free(s->large.mem);
}

static struct tp_pkt *pool_get(struct tp_pool *pool)
{
	struct tp_pkt *p = pool->free;
	if (p) {
		pool->free = p->next;
		pool->used++;
	}
	return p;
}

struct tp_pkt *tp_pkt_alloc(struct tapir_stack *s, size_t len)
{
	struct tp_pkt *p = NULL;

	if (len + TP_HEADROOM <= TP_SMALL_CAP)
		p = pool_get(&s->small);
	if (!p && len + TP_HEADROOM <= TP_LARGE_CAP)
		p = pool_get(&s->large);
	if (!p)
		return NULL;
	/* all but the buffer its pool gave it starts afresh */
	*p = (struct tp_pkt){
		.base = p->base, .cap = p->cap, .large = p->large, .data = p->base + TP_HEADROOM};
	return p;
}

void tp_pkt_free(struct tapir_stack *s, struct tp_pkt *p)
{
	struct tp_pool *pool = p->large ? &s->large : &s->small;
	p->next = pool->free;
	pool->free = p;
	pool->used--;
}

int tp_queue_bounded(struct tapir_stack *s, struct tp_pkt **head, uint16_t *n, unsigned limit,
		     struct tp_pkt *p)
{
	int dropped = 0;
	p->next = NULL;
	if (*n >= limit && *head) {
		struct tp_pkt *old = *head;
		*head = old->next;
		(*n)--;
		tp_pkt_free(s, old);
		dropped = 1;
	}
	while (*head)
		head = &(*head)->next;
	*head = p;
	(*n)++;
	return dropped;
}

void tp_pkt_free_list(struct tapir_stack *s, struct tp_pkt *p)
{
	while (p) {
		struct tp_pkt *next = p->next;
		tp_pkt_free(s, p);
		p = next;
	}
}
