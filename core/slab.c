/* Fixed-size objects in chunks (TCBs, TIME-WAIT records).  A chunk is
 * taken when every chunk held is full and given back to malloc when its
 * last object is freed (but for one spare, so that one object taken and
 * freed over and over does not take and give back a chunk each time): a
 * crowd of connections leaves no high-water mark behind it.  Objects carry
 * no malloc header (a 128-byte record costs 128 bytes, not 144).
 *
 * get and put are O(1): a chunk keeps its free objects on a list, the
 * chunks with a free object are on the slab's list, and an object finds
 * its chunk by the index get gave it (the caller keeps it where it has
 * room: a TIME-WAIT record has 15 spare bits, not a pointer's 64) in the
 * slab's table of chunks.  New chunks take the lowest free index, so the
 * table's top empties as the chunks go and is given back too. */
#include <stdlib.h>
#include <string.h>

#include "core.h"

struct tp_slab_chunk {
	struct tp_slab_chunk *next, **pprev; /* in the slab's chunks with a free object */
	void *free;                          /* its free objects, through their first bytes */
	unsigned used;
	uint32_t idx;                        /* in the slab's table */
	_Alignas(16) unsigned char obj[];
};

void tp_slab_init(struct tp_slab *sl, size_t size, unsigned per, unsigned max)
{
	memset(sl, 0, sizeof(*sl));
	sl->size = (size + 7) & ~(size_t)7; /* (pointers, doubles, 64-bit times) */
	sl->per = per;
	sl->max = max;
}

static size_t chunk_bytes(const struct tp_slab *sl)
{
	return sizeof(struct tp_slab_chunk) + sl->per * sl->size;
}

/* the lowest free index of the table, grown (doubled) when full */
static bool table_slot(struct tp_slab *sl, uint32_t *idx)
{
	unsigned i = sl->lo;
	while (i < sl->ntab && sl->tab[i])
		i++;
	if (i == sl->ntab) {
		if (sl->ntab == sl->max)
			return false;
		if (sl->ntab == sl->cap) {
			unsigned cap = sl->cap ? sl->cap * 2 : 4;
			struct tp_slab_chunk **tab;
			if (cap > sl->max)
				cap = sl->max;
			if (!(tab = realloc(sl->tab, cap * sizeof(*tab))))
				return false;
			sl->tab = tab;
			sl->cap = cap;
		}
		sl->tab[sl->ntab++] = NULL;
	}
	*idx = i;
	sl->lo = i + 1;
	return true;
}

/* the table's top, emptied, given back (halved while a quarter full) */
static void table_trim(struct tp_slab *sl)
{
	while (sl->ntab && !sl->tab[sl->ntab - 1])
		sl->ntab--;
	if (sl->lo > sl->ntab)
		sl->lo = sl->ntab;
	unsigned cap = sl->cap;
	while (cap > 4 && sl->ntab < cap / 4)
		cap /= 2;
	if (cap < sl->cap) {
		struct tp_slab_chunk **tab = realloc(sl->tab, cap * sizeof(*tab));
		if (tab) { /* (else the larger table stays: no harm) */
			sl->tab = tab;
			sl->cap = cap;
		}
	}
}

static struct tp_slab_chunk *chunk_new(struct tp_slab *sl)
{
	struct tp_slab_chunk *c = sl->spare;
	uint32_t idx;
	if (!table_slot(sl, &idx))
		return NULL;
	if (c) {
		sl->spare = NULL;
	} else {
		if (!(c = malloc(chunk_bytes(sl)))) {
			sl->lo = idx;
			table_trim(sl);
			return NULL;
		}
		sl->nchunks++;
	}
	c->idx = idx;
	sl->tab[idx] = c;
	c->used = 0;
	c->free = NULL;
	for (unsigned i = sl->per; i-- > 0;) {
		void *o = c->obj + (size_t)i * sl->size;
		memcpy(o, &c->free, sizeof(void *));
		c->free = o;
	}
	TP_LINK(&sl->partial, c, next, pprev);
	return c;
}

void *tp_slab_get(struct tp_slab *sl, uint32_t *idx)
{
	struct tp_slab_chunk *c = sl->partial ? sl->partial : chunk_new(sl);
	void *o;
	if (!c)
		return NULL;
	o = c->free;
	memcpy(&c->free, o, sizeof(void *));
	if (++c->used == sl->per)
		TP_UNLINK(c, next, pprev);
	memset(o, 0, sl->size);
	*idx = c->idx;
	sl->n++;
	return o;
}

void tp_slab_put(struct tp_slab *sl, void *o, uint32_t idx)
{
	struct tp_slab_chunk *c = sl->tab[idx];
	memcpy(o, &c->free, sizeof(void *));
	c->free = o;
	sl->n--;
	if (c->used-- == sl->per)
		TP_LINK(&sl->partial, c, next, pprev);
	if (c->used)
		return;
	TP_UNLINK(c, next, pprev);
	sl->tab[idx] = NULL; /* (the spare is out of the table: its index is free) */
	if (idx < sl->lo)
		sl->lo = idx;
	if (sl->spare) {
		free(c);
		sl->nchunks--;
	} else {
		sl->spare = c;
	}
	table_trim(sl);
}

void tp_slab_fini(struct tp_slab *sl)
{
	for (unsigned i = 0; i < sl->ntab; i++)
		free(sl->tab[i]);
	free(sl->tab);
	free(sl->spare);
	memset(sl, 0, sizeof(*sl));
}

size_t tp_slab_bytes(const struct tp_slab *sl)
{
	return sl->nchunks * chunk_bytes(sl) + sl->cap * sizeof(*sl->tab);
}
