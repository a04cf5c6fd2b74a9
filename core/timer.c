/* A hierarchical timing wheel with exact deadlines (core.h, struct
 * tp_wheel).  Level L files a deadline by its base-64 digit L: an entry
 * sits at the level of the highest digit where its deadline differs from
 * the wheel's time CUR, in the slot of that digit.  Digits above are
 * CUR's, so every entry at level L comes after every entry at the levels
 * below, and level 0's slots are single microseconds: what a slot holds
 * there is due exactly at the slot's time, never rounded.  When CUR
 * reaches a slot of a higher level, its entries are filed again, lower
 * (a cascade): an entry moves at most TP_WHEEL_LEVELS times in its life,
 * whatever the number of others, and adding, moving and removing one is
 * a list link.  Finding the next slot is a find-first-set per level. */
#include "core.h"

#define DIGIT(t, l) ((unsigned)(((t) >> (TP_WHEEL_BITS * (l))) & (TP_WHEEL_SLOTS - 1)))

/* The first time of slot SLOT at level L, given the wheel's time CUR. */
static tapir_time_t slot_start(tapir_time_t cur, unsigned l, unsigned slot)
{
	unsigned shift = TP_WHEEL_BITS * l;
	tapir_time_t high = 0;
	if (shift + TP_WHEEL_BITS < 64) /* the digits above level L stay CUR's */
		high = cur & ~(((tapir_time_t)1 << (shift + TP_WHEEL_BITS)) - 1);
	return high | (tapir_time_t)slot << shift;
}

static void link_in(struct tp_timer **head, struct tp_timer *e)
{
	e->next = *head;
	if (e->next)
		e->next->pprev = &e->next;
	*head = e;
	e->pprev = head;
}

/* Files E by its deadline relative to CUR.  A deadline already past goes
 * in CUR's own slot, which the next expiry takes whatever its time. */
static void file(struct tp_wheel *w, struct tp_timer *e)
{
	tapir_time_t k = e->when > w->cur ? e->when : w->cur, x = k ^ w->cur;
	unsigned l = x ? (unsigned)(63 - __builtin_clzll(x)) / TP_WHEEL_BITS : 0;
	unsigned slot = DIGIT(k, l);
	uint64_t bit = (uint64_t)1 << slot;

	if (!(w->map[l] & bit) || e->when < w->min[l][slot])
		w->min[l][slot] = e->when;
	w->map[l] |= bit;
	e->level = (uint8_t)l;
	e->slot = (uint8_t)slot;
	link_in(&w->slot[l][slot], e);
}

void tp_timer_del(struct tp_wheel *w, struct tp_timer *e)
{
	if (!e->pprev)
		return;
	*e->pprev = e->next;
	if (e->next)
		e->next->pprev = e->pprev;
	/* a slot left empty leaves the map; its min stays as it was, never
	 * later than what is left in it (tp_wheel_next is conservative) */
	if (e->level == TP_WHEEL_DUE) {
		if (w->due_last == e) /* pprev is the previous entry's NEXT */
			w->due_last = e->pprev == &w->due ? NULL
				      : (struct tp_timer *)((char *)e->pprev -
							    offsetof(struct tp_timer, next));
	} else if (!w->slot[e->level][e->slot]) {
		w->map[e->level] &= ~((uint64_t)1 << e->slot);
	}
	e->next = NULL;
	e->pprev = NULL;
	w->n--;
}

void tp_timer_add(struct tp_wheel *w, struct tp_timer *e, tapir_time_t when)
{
	tp_timer_del(w, e);
	if (when == TAPIR_TIME_NEVER)
		return;
	e->when = when;
	file(w, e);
	w->n++;
}

/* The lowest level that holds anything, or -1. */
static int lowest_level(const struct tp_wheel *w)
{
	for (unsigned l = 0; l < TP_WHEEL_LEVELS; l++)
		if (w->map[l])
			return (int)l;
	return -1;
}

void tp_wheel_init(struct tp_wheel *w, tapir_time_t now)
{
	memset(w, 0, sizeof(*w)); /* all zero is a wheel at time 0 */
	w->cur = now;
}

void tp_wheel_advance(struct tp_wheel *w, tapir_time_t now)
{
	int l;
	while ((l = lowest_level(w)) >= 0) {
		unsigned slot = (unsigned)__builtin_ctzll(w->map[l]);
		tapir_time_t start = slot_start(w->cur, (unsigned)l, slot);
		struct tp_timer *e = w->slot[l][slot], *en;
		if (start > now)
			break;
		/* nothing is below level L: CUR may move to START */
		w->cur = start;
		w->slot[l][slot] = NULL;
		w->map[l] &= ~((uint64_t)1 << slot);
		for (; e; e = en) {
			en = e->next;
			if (l == 0) { /* due: to the end of the list tp_wheel_pop
				       * reads, which stays in deadline order */
				e->level = TP_WHEEL_DUE;
				e->next = NULL;
				e->pprev = w->due_last ? &w->due_last->next : &w->due;
				*e->pprev = e;
				w->due_last = e;
			} else {
				file(w, e);
			}
		}
	}
	/* the next slot starts after NOW, at every level: moving CUR to NOW
	 * keeps each entry's digits above its level equal to CUR's */
	if (now > w->cur)
		w->cur = now;
}

struct tp_timer *tp_wheel_pop(struct tp_wheel *w)
{
	struct tp_timer *e = w->due;
	if (e)
		tp_timer_del(w, e);
	return e;
}

tapir_time_t tp_wheel_next(const struct tp_wheel *w)
{
	int l = lowest_level(w);
	if (w->due)
		return w->cur;
	if (l < 0)
		return TAPIR_TIME_NEVER;
	return w->min[l][__builtin_ctzll(w->map[l])];
}
