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
 * slab's table of chunks.  The table's top is given back as the chunks at
 * its end go (all of it once every chunk has). */
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define ENT_NONE 0x7fffffffu /* no index (and the most chunks) */

/* Under ASan a free object is poisoned (but for its free-list link), so a
 * use after free of a TCB or a record is caught as it was when each was
 * a malloc of its own. */
#if defined(__SANITIZE_ADDRESS__)
#define SLAB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_ASAN 1
#endif
#endif
#ifdef SLAB_ASAN
#include <sanitizer/asan_interface.h>
#define FREED(sl, o) ASAN_POISON_MEMORY_REGION((char *)(o) + sizeof(void *), (sl)->size - sizeof(void *))
#define TAKEN(sl, o) ASAN_UNPOISON_MEMORY_REGION((o), (sl)->size)
#else
#define FREED(sl, o) ((void)(o))
#define TAKEN(sl, o) ((void)(o))
#endif

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
	sl->max = max < ENT_NONE ? max : ENT_NONE;
	sl->free = ENT_NONE;
}

static size_t chunk_bytes(const struct tp_slab *sl)
{
	return sizeof(struct tp_slab_chunk) + sl->per * sl->size;
}

/* The table of chunks: an entry holds its chunk's address (even), or,
 * free, the links of the free entries' list (odd: PREV << 32 | NEXT << 1
 * | 1), doubly linked so that the table's top leaves it in O(1). */
static uint64_t ent_free(uint32_t prev, uint32_t next)
{
	return (uint64_t)prev << 32 | (uint64_t)next << 1 | 1;
}
static uint32_t ent_prev(uint64_t v) { return (uint32_t)(v >> 32); }
static uint32_t ent_next(uint64_t v) { return (uint32_t)(v >> 1) & ENT_NONE; }

static void free_push(struct tp_slab *sl, uint32_t i)
{
	sl->tab[i] = ent_free(ENT_NONE, sl->free);
	if (sl->free != ENT_NONE)
		sl->tab[sl->free] = ent_free(i, ent_next(sl->tab[sl->free]));
	sl->free = i;
}

static void free_unlink(struct tp_slab *sl, uint32_t i)
{
	uint32_t prev = ent_prev(sl->tab[i]), next = ent_next(sl->tab[i]);
	if (prev != ENT_NONE)
		sl->tab[prev] = ent_free(ent_prev(sl->tab[prev]), next);
	else
		sl->free = next;
	if (next != ENT_NONE)
		sl->tab[next] = ent_free(prev, ent_next(sl->tab[next]));
}

/* a free index of the table, grown (doubled) when full */
static bool table_slot(struct tp_slab *sl, uint32_t *idx)
{
	if (sl->free != ENT_NONE) {
		*idx = sl->free;
		free_unlink(sl, *idx);
		return true;
	}
	if (sl->ntab == sl->max)
		return false;
	if (sl->ntab == sl->cap) {
		unsigned cap = sl->cap ? sl->cap * 2 : 4;
		uint64_t *tab;
		if (cap > sl->max)
			cap = sl->max;
		if (!(tab = realloc(sl->tab, cap * sizeof(*tab))))
			return false;
		sl->tab = tab;
		sl->cap = cap;
	}
	*idx = sl->ntab++;
	return true;
}

/* the table's top, emptied, given back (halved while a quarter full) */
static void table_trim(struct tp_slab *sl)
{
	unsigned cap = sl->cap;
	while (sl->ntab && (sl->tab[sl->ntab - 1] & 1)) {
		free_unlink(sl, sl->ntab - 1);
		sl->ntab--;
	}
	while (cap > 4 && sl->ntab < cap / 4)
		cap /= 2;
	if (cap < sl->cap) {
		uint64_t *tab = realloc(sl->tab, cap * sizeof(*tab));
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
			free_push(sl, idx);
			table_trim(sl);
			return NULL;
		}
		sl->nchunks++;
	}
	c->idx = idx;
	sl->tab[idx] = (uintptr_t)c;
	c->used = 0;
	c->free = NULL;
	for (unsigned i = sl->per; i-- > 0;) {
		void *o = c->obj + (size_t)i * sl->size;
		memcpy(o, &c->free, sizeof(void *));
		FREED(sl, o);
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
	TAKEN(sl, o);
	memset(o, 0, sl->size);
	*idx = c->idx;
	sl->n++;
	return o;
}

void tp_slab_put(struct tp_slab *sl, void *o, uint32_t idx)
{
	struct tp_slab_chunk *c = (struct tp_slab_chunk *)(uintptr_t)sl->tab[idx];
	memcpy(o, &c->free, sizeof(void *));
	FREED(sl, o);
	c->free = o;
	sl->n--;
	if (c->used-- == sl->per)
		TP_LINK(&sl->partial, c, next, pprev);
	if (c->used)
		return;
	TP_UNLINK(c, next, pprev);
	free_push(sl, idx); /* (the spare is out of the table: its index is free) */
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
		if (!(sl->tab[i] & 1))
			free((void *)(uintptr_t)sl->tab[i]);
	free(sl->tab);
	free(sl->spare);
	memset(sl, 0, sizeof(*sl));
}

size_t tp_slab_bytes(const struct tp_slab *sl)
{
	return sl->nchunks * chunk_bytes(sl) + sl->cap * sizeof(*sl->tab);
}
