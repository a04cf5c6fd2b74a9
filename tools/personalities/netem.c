/* Link impairments, a userspace netem (the kernel here has no sch_netem):
 *
 *   loss=P          drop a frame with probability P
 *   corrupt=P       flip one bit after the Ethernet header (the checksum
 *                   then catches it, at tapir or at the peer; IPv6 has no
 *                   header checksum, RFC 8200 3, so a bit of its traffic
 *                   class, flow label or hop limit goes unnoticed, as on
 *                   a real link)
 *   dup=P           send a frame twice
 *   delay=MS[±J]    hold every frame MS ms, plus or minus up to J ms
 *                   ("+-" works for "±"); jitter never reorders frames
 *   reorder=P       hold a frame back (by the delay, at least 1 ms) so that
 *                   the frames after it overtake it
 *   rate=MBIT       serialise frames at MBIT Mbit/s (a slow link)
 *   tail=P          drop the first copy of a TCP segment that ends a burst
 *                   (data and PSH: it emptied the sender's buffer) with
 *                   probability P; its retransmissions pass.  "First copy":
 *                   its data ends beyond all its connection sent before
 *                   (a table of TAIL_FLOWS connections per direction).
 *                   The tail loss of RFC 8985 7: only a timeout or a probe
 *                   can repair it, no later segment reports it lost
 *
 * Each takes extra arguments after a comma: seed=N (default 1, so runs
 * repeat), dir=rx|tx|both (default both: frames tapir receives, and frames
 * it sends), limit=N (frames held per direction, default 1000; more are
 * dropped, like a full queue).  Several combine, as netem's options do,
 * in netem's order: loss, tail, corrupt, duplicate, rate, delay, reorder.
 *
 * One engine serves them all: a LINK_RX and a LINK_TX hook that drop,
 * copy or hold frames, and the (shared) hook timer that re-injects held
 * frames with tapir_inject_rx / tapir_inject_tx when they are due.
 * Injected frames do not pass the link hooks again.  A capture (--pcap)
 * shows frames as the stack takes them in and as they leave, after the
 * impairments.  Frames of any kind (IPv4, IPv6, ARP, neighbor discovery)
 * are impaired alike: a lossy link does not know what it carries. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "personality.h"

enum { RX, TX };

#define TAIL_FLOWS 64 /* connections tail= tracks per direction (hashed) */

struct held {
	struct held *next;
	tapir_time_t at;
	int ifindex;
	size_t len;
	uint8_t data[];
};

struct netem {
	struct tapir_stack *s;
	struct netem *next;
	uint64_t rng;
	unsigned limit;
	struct dir {
		double loss, tail_p, corrupt, dup, reorder, rate_mbit;
		tapir_time_t delay, jitter;
		struct held *head, *tail; /* sorted by AT */
		unsigned n;
		tapir_time_t last_at;    /* FIFO for frames not reordered */
		tapir_time_t busy_until; /* rate: when the link is free */
		struct {                 /* tail: the highest data end sent */
			uint64_t key;    /* (0: a free slot) */
			uint32_t high;
		} flows[TAIL_FLOWS];
	} d[2];
};

static struct netem *engines; /* one per stack */

/* Inserts H in AT order (from the tail: the usual case is the end). */
static void enqueue(struct dir *d, struct held *h)
{
	struct held **at = &d->head, *prev = NULL;
	if (!d->tail || d->tail->at <= h->at) {
		prev = d->tail;
		at = prev ? &prev->next : &d->head;
	} else {
		while (*at && (*at)->at <= h->at)
			at = &(*at)->next;
	}
	h->next = *at;
	*at = h;
	if (!h->next)
		d->tail = h;
	d->n++;
}

static bool hold(struct netem *e, struct dir *d, struct tapir_hook_pkt *p, tapir_time_t at)
{
	struct held *h;
	if (d->n >= e->limit || !(h = malloc(sizeof(*h) + p->len)))
		return false; /* queue full: the frame is lost */
	h->at = at;
	h->ifindex = p->ifindex;
	h->len = p->len;
	memcpy(h->data, p->data, p->len);
	enqueue(d, h);
	pers_timer_at(e->s, at);
	return true;
}

/* When a copy of a frame should leave, or arrive. */
static tapir_time_t due(struct netem *e, struct dir *d, size_t len, tapir_time_t now)
{
	tapir_time_t at = now;
	if (d->rate_mbit > 0) { /* bits / (Mbit/s) = microseconds */
		tapir_time_t start = d->busy_until > now ? d->busy_until : now;
		d->busy_until = start + (tapir_time_t)ceil((double)len * 8.0 / d->rate_mbit);
		at = d->busy_until;
	}
	at += d->delay;
	if (d->jitter) {
		double j = (pers_rand01(&e->rng) * 2 - 1) * (double)d->jitter;
		at = j < 0 && (tapir_time_t)-j > at - now ? now : (tapir_time_t)((double)at + j);
	}
	if (at < d->last_at)
		at = d->last_at; /* jitter does not reorder */
	if (d->reorder > 0 && pers_rand01(&e->rng) < d->reorder)
		return at + (d->delay > TAPIR_MS(1) ? d->delay : TAPIR_MS(1));
	d->last_at = at;
	return at;
}

/* tail=: is the frame in P the first copy of a TCP segment with data and
 * PSH?  Each data segment moves its connection's highest end; a
 * retransmission ends at or below it.  A slot taken over by another
 * connection (a hash collision) forgets the first: at worst one of its
 * retransmissions counts as a first copy. */
static bool tail_first(struct dir *d, const struct tapir_hook_pkt *p)
{
	uint8_t proto;
	int off = tapir_hook_l4(p, &proto);
	size_t ip = TAPIR_ETH_HLEN, end, hl, a0, alen;
	uint64_t key = 0xcbf29ce484222325ull; /* FNV-1a over addresses and ports */
	uint32_t seq, high;
	bool psh, known;
	if (off < 0 || proto != TAPIR_IPPROTO_TCP || (size_t)off + 20 > p->len)
		return false;
	if (p->family == 4) {
		end = ip + tapir_get16(p->data + ip + 2);
		a0 = ip + 12, alen = 8;
	} else if (p->family == 6) {
		end = ip + TAPIR_IPV6_HLEN + tapir_get16(p->data + ip + 4);
		a0 = ip + 8, alen = 32;
	} else {
		return false;
	}
	hl = (size_t)(p->data[off + TAPIR_TH_OFF] >> 4) * 4;
	if (end > p->len || (size_t)off + hl >= end)
		return false; /* no data (or a frame cut short) */
	for (size_t i = 0; i < alen + 4; i++) /* the addresses, then the ports */
		key = (key ^ p->data[i < alen ? a0 + i : (size_t)off + i - alen]) * 0x100000001b3ull;
	key |= 1;
	seq = tapir_get32(p->data + off + 4);
	high = seq + (uint32_t)(end - off - hl);
	psh = p->data[off + 13] & TAPIR_TH_PSH;
	unsigned slot = (unsigned)(key >> 32) % TAIL_FLOWS;
	known = d->flows[slot].key == key;
	if (known && (int32_t)(high - d->flows[slot].high) <= 0)
		return false; /* all of it sent before: a retransmission */
	d->flows[slot].key = key;
	d->flows[slot].high = high;
	return psh;
}

static enum tapir_verdict impair(struct netem *e, int dir, struct tapir_hook_pkt *p)
{
	struct dir *d = &e->d[dir];
	int copies = 1;
	bool held = false;

	if (d->loss > 0 && pers_rand01(&e->rng) < d->loss)
		return TAPIR_DROP;
	if (d->tail_p > 0 && tail_first(d, p) && (d->tail_p >= 1 || pers_rand01(&e->rng) < d->tail_p))
		return TAPIR_DROP;
	if (d->corrupt > 0 && pers_rand01(&e->rng) < d->corrupt && p->len > 14) {
		uint64_t r = pers_rand(&e->rng);
		p->data[14 + (r >> 8) % (p->len - 14)] ^= (uint8_t)(1u << (r & 7));
	}
	if (d->dup > 0 && pers_rand01(&e->rng) < d->dup)
		copies = 2;
	for (int c = 0; c < copies; c++) {
		tapir_time_t at = due(e, d, p->len, p->now);
		/* the original goes at once when it is due and nothing due
		 * waits before it; anything else is held */
		if (c == 0 && at <= p->now && (!d->head || d->head->at > p->now))
			continue;
		if (!hold(e, d, p, at) && c == 0)
			return TAPIR_DROP;
		held |= c == 0;
	}
	return held ? TAPIR_DROP : TAPIR_PASS;
}

static enum tapir_verdict netem_rx(void *arg, struct tapir_hook_pkt *p) { return impair(arg, RX, p); }
static enum tapir_verdict netem_tx(void *arg, struct tapir_hook_pkt *p) { return impair(arg, TX, p); }

static tapir_time_t netem_timer(void *arg, tapir_time_t now)
{
	struct netem *e = arg;
	tapir_time_t next = TAPIR_TIME_NEVER;
	for (int dir = RX; dir <= TX; dir++) {
		struct dir *d = &e->d[dir];
		struct held *h;
		while ((h = d->head) && h->at <= now) {
			d->head = h->next;
			if (!d->head)
				d->tail = NULL;
			d->n--;
			if (dir == RX)
				tapir_inject_rx(e->s, h->ifindex, h->data, h->len, now);
			else
				tapir_inject_tx(e->s, h->ifindex, h->data, h->len, now);
			free(h);
		}
	}
	/* after the injections, which may have queued more */
	for (int dir = RX; dir <= TX; dir++)
		if (e->d[dir].head && e->d[dir].head->at < next)
			next = e->d[dir].head->at;
	return next;
}

/* At personalities_release: the frames still held, and the list entry. */
static void netem_cleanup(void *arg)
{
	struct netem *e = arg;
	for (int dir = RX; dir <= TX; dir++)
		while (e->d[dir].head) {
			struct held *h = e->d[dir].head;
			e->d[dir].head = h->next;
			free(h);
		}
	for (struct netem **at = &engines; *at; at = &(*at)->next)
		if (*at == e) {
			*at = e->next;
			break;
		}
}

static struct netem *engine(struct tapir_stack *s)
{
	struct netem *e;
	for (e = engines; e; e = e->next)
		if (e->s == s)
			return e;
	e = pers_calloc(s, sizeof(*e), netem_cleanup);
	if (!e)
		return NULL;
	e->s = s;
	e->rng = 1;
	e->limit = 1000;
	if (pers_timer_add(s, netem_timer, e) < 0 ||
	    tapir_hook_add(s, TAPIR_HOOK_LINK_RX, netem_rx, e) < 0 ||
	    tapir_hook_add(s, TAPIR_HOOK_LINK_TX, netem_tx, e) < 0) {
		tapir_hook_remove(s, TAPIR_HOOK_LINK_RX, netem_rx, e);
		return NULL; /* (freed with the others at personalities_release) */
	}
	e->next = engines;
	engines = e;
	return e;
}

enum knob { LOSS, TAIL, CORRUPT, DUP, REORDER, DELAY, RATE };

/* "VALUE[,seed=N][,dir=rx|tx|both][,limit=N]" */
static int netem_install(struct tapir_stack *s, enum knob k, const char *args, char *err,
			 size_t errlen)
{
	char *copy = args ? strdup(args) : NULL, *save = NULL, *value;
	unsigned long seed = 0, limit = 0;
	int dirs = 3, rc = -1;
	double p = 0, ms = 0, jit = 0;
	struct netem *e;

	if (!args) {
		snprintf(err, errlen, "needs a value");
		return -1;
	}
	if (!copy)
		goto out;
	value = strtok_r(copy, ",", &save);
	for (char *o = strtok_r(NULL, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (!strncmp(o, "seed=", 5)) {
			if (pers_parse_uint("seed", o + 5, 0, ~0ul, &seed, err, errlen) < 0)
				goto out;
		} else if (!strncmp(o, "limit=", 6)) {
			if (pers_parse_uint("limit", o + 6, 1, 1000000, &limit, err, errlen) < 0)
				goto out;
		} else if (!strcmp(o, "dir=rx") || !strcmp(o, "dir=tx") || !strcmp(o, "dir=both")) {
			dirs = o[4] == 'r' ? 1 : o[4] == 't' ? 2 : 3;
		} else {
			snprintf(err, errlen, "unknown argument '%s' (seed=N, dir=rx|tx|both, limit=N)",
				 o);
			goto out;
		}
	}
	if (!value)
		value = "";
	if (k == DELAY) {
		char *end, *j;
		ms = strtod(value, &end);
		j = !strncmp(end, "\xc2\xb1", 2) ? end + 2 : !strncmp(end, "+-", 2) ? end + 2 : NULL;
		if (j)
			jit = strtod(j, &end);
		if (end == value || *end || !isfinite(ms) || !isfinite(jit) || ms < 0 || jit < 0 ||
		    ms > 60000 || jit > ms) {
			snprintf(err, errlen, "'%s' is not MS or MS±JITTER (milliseconds, jitter "
					      "at most the delay)", value);
			goto out;
		}
	} else if (k == RATE) {
		char *end;
		p = strtod(value, &end);
		if (end == value || *end || !isfinite(p) || p < 0.001 || p > 100000) {
			snprintf(err, errlen, "'%s' is not a rate in Mbit/s", value);
			goto out;
		}
	} else if (pers_parse_prob("P", value, &p, err, errlen) < 0) {
		goto out;
	}
	e = engine(s);
	if (!e) {
		snprintf(err, errlen, "cannot install (hook timer or hook slots in use)");
		goto out;
	}
	if (seed)
		e->rng = seed;
	if (limit)
		e->limit = (unsigned)limit;
	for (int dir = RX; dir <= TX; dir++) {
		struct dir *d = &e->d[dir];
		if (!(dirs & (1 << dir)))
			continue;
		switch (k) {
		case LOSS: d->loss = p; break;
		case TAIL: d->tail_p = p; break;
		case CORRUPT: d->corrupt = p; break;
		case DUP: d->dup = p; break;
		case REORDER: d->reorder = p; break;
		case RATE: d->rate_mbit = p; break;
		case DELAY:
			d->delay = (tapir_time_t)(ms * 1000);
			d->jitter = (tapir_time_t)(jit * 1000);
			break;
		}
	}
	rc = 0;
out:
	if (rc < 0 && !err[0])
		snprintf(err, errlen, "out of memory");
	free(copy);
	return rc;
}

#define KNOB(id, name, args, help, K)                                                      \
	static int id##_install(struct tapir_stack *s, const char *a, char *err, size_t n) \
	{                                                                                  \
		return netem_install(s, K, a, err, n);                                     \
	}                                                                                  \
	PERSONALITY(id, name, args, help, id##_install)

KNOB(loss, "loss", "=P", "drop frames with probability P", LOSS)
KNOB(tail, "tail", "=P", "drop the first copy of TCP segments ending a burst (PSH), "
     "probability P", TAIL)
KNOB(corrupt, "corrupt", "=P", "flip a bit in frames with probability P", CORRUPT)
KNOB(dup, "dup", "=P", "duplicate frames with probability P", DUP)
KNOB(reorder, "reorder", "=P", "hold frames back behind later ones, probability P", REORDER)
KNOB(delay, "delay", "=MS[±J]", "delay every frame MS ms (± jitter, in order)",
     DELAY)
KNOB(rate, "rate", "=MBIT", "serialise frames at MBIT Mbit/s", RATE)
