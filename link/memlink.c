/* An in-memory Ethernet cable for tests: two ends, frames cross in
 * simulated time with seeded loss, duplication, reordering, delay, jitter
 * and corruption.  The same seed gives the same run, frame for frame. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <tapir/link.h>
#include <tapir/wire.h>

struct flight {
	tapir_time_t due;
	uint64_t seq; /* ties keep sending order */
	uint8_t *frame;
	size_t len;
};

/* a binary min-heap of frames in flight towards one end, its room
 * (queue_limit frames) taken once when the link is made */
struct lane {
	struct flight *h;
	size_t n;
};

struct memlink_end {
	struct tapir_link link; /* first: the core sees only this */
	struct tapir_memlink *m;
	int side;
};

struct tapir_memlink {
	struct tapir_memlink_params p;
	struct memlink_end ends[2];
	struct lane lanes[2]; /* lanes[i]: frames arriving at end i */
	tapir_time_t now;
	uint64_t rng, seq;
	struct tapir_memlink_stats st;
};

static uint64_t ml_rand(struct tapir_memlink *m)
{
	uint64_t z = (m->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static bool chance(struct tapir_memlink *m, double p)
{
	return p > 0 && (double)(ml_rand(m) >> 11) * 0x1.0p-53 < p;
}

static bool before(const struct flight *a, const struct flight *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

/* The caller has checked the lane's limit (enqueue). */
static void lane_push(struct lane *l, struct flight f)
{
	size_t i = l->n++;
	while (i && before(&f, &l->h[(i - 1) / 2])) {
		l->h[i] = l->h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	l->h[i] = f;
}

static struct flight lane_pop(struct lane *l)
{
	struct flight top = l->h[0], last = l->h[--l->n];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= l->n)
			break;
		if (c + 1 < l->n && before(&l->h[c + 1], &l->h[c]))
			c++;
		if (!before(&l->h[c], &last))
			break;
		l->h[i] = l->h[c];
		i = c;
	}
	if (l->n)
		l->h[i] = last;
	return top;
}

static void enqueue(struct tapir_memlink *m, int to, const uint8_t *frame, size_t len,
		    tapir_time_t extra)
{
	struct lane *l = &m->lanes[to];
	struct flight f;
	tapir_time_t delay = m->p.delay_us + extra;

	if (l->n >= m->p.queue_limit) {
		m->st.queue_full++;
		return;
	}
	if (m->p.jitter_us) {
		tapir_time_t j = ml_rand(m) % (2 * m->p.jitter_us + 1);
		delay = delay + j >= m->p.jitter_us ? delay + j - m->p.jitter_us : 0;
	}
	f.due = m->now + delay;
	f.seq = m->seq++;
	f.len = len;
	f.frame = malloc(len ? len : 1);
	if (!f.frame) {
		m->st.queue_full++;
		return;
	}
	memcpy(f.frame, frame, len);
	if (len && chance(m, m->p.corrupt)) {
		f.frame[ml_rand(m) % len] ^= (uint8_t)(1u << (ml_rand(m) % 8));
		m->st.corrupted++;
	}
	lane_push(l, f);
}


static int memlink_send(struct tapir_link *link, const uint8_t *frame, size_t len)
{
	struct memlink_end *e = (struct memlink_end *)link;
	struct tapir_memlink *m = e->m;
	int to = !e->side;
	tapir_time_t extra = 0;

	m->st.sent++;
	if (chance(m, m->p.loss)) {
		m->st.lost++;
		return 0;
	}
	if (chance(m, m->p.reorder)) {
		extra = m->p.reorder_extra_us;
		m->st.reordered++;
	}
	if (m->p.ce > 0 && len >= 34 && frame[12] == 0x08 && frame[13] == 0x00 &&
	    (frame[15] & 3) && (frame[15] & 3) != 3 && chance(m, m->p.ce)) {
		/* a router's AQM marks instead of dropping (RFC 3168 5) */
		uint8_t f[65536 + 128];
		size_t hl = (size_t)(frame[14] & 15) * 4;
		if (len <= sizeof(f) && hl >= 20 && 14 + hl <= len) {
			memcpy(f, frame, len);
			f[15] |= 3;
			tapir_put16(f + 24, 0);
			tapir_put16(f + 24, tapir_csum_fold(tapir_csum_add(0, f + 14, hl)));
			m->st.ce_marked++;
			enqueue(m, to, f, len, extra);
			return 0;
		}
	}
	enqueue(m, to, frame, len, extra);
	if (chance(m, m->p.dup)) {
		m->st.duplicated++;
		enqueue(m, to, frame, len, extra + 1);
	}
	return 0;
}

/* One cut segment's IP header at IP (L4 bytes of IP headers, TCPLEN of
 * TCP follow), segment K of its super-segment: IPv4's length, id (+1
 * each) and header checksum, or IPv6's payload length. */
static void tso_ip_fix(uint8_t *ip, size_t l4, size_t tcplen, size_t k)
{
	if (ip[0] >> 4 == 6) {
		tapir_put16(ip + TAPIR_IPV6_PLEN, (uint16_t)(l4 - TAPIR_IPV6_HLEN + tcplen));
		return;
	}
	tapir_put16(ip + 2, (uint16_t)(l4 + tcplen));
	tapir_put16(ip + 4, (uint16_t)(tapir_get16(ip + 4) + k));
	tapir_put16(ip + 10, 0);
	tapir_put16(ip + 10, tapir_csum_fold(tapir_csum_add(0, ip, l4)));
}

/* Checksum offload, as a NIC does it: the sum over the bytes from
 * csum_start, the field included (it holds the pseudo-header sum the stack
 * left there), goes into the field.  So a wrong pseudo-header sum reaches
 * the receiver as a bad checksum, as it would on a wire. */
static int memlink_send_csum(struct tapir_link *link, const uint8_t *frame, size_t len,
			     const struct tapir_tso *tso)
{
	uint8_t seg[65536 + 128];
	size_t at = (size_t)tso->csum_start + tso->csum_offset;
	if (len > sizeof(seg) || tso->csum_start >= len || at + 2 > len)
		return -EINVAL;
	memcpy(seg, frame, len);
	tapir_put16(seg + at, tapir_csum(seg + tso->csum_start, len - tso->csum_start));
	((struct memlink_end *)link)->m->st.csum_offload++;
	return memlink_send(link, seg, len);
}

/* Segmentation offload, as the kernel does it for a TAP (GSO): the super-
 * segment (IPv4 or IPv6) is cut into segments of TSO->size payload bytes,
 * each with the headers copied and its IP fields (tso_ip_fix), the TCP
 * sequence number made anew and the checksum completed as the kernel's GSO
 * does: from the pseudo-header sum the stack left in the field, its length
 * changed to the segment's (so a wrong sum there arrives as a bad checksum);
 * FIN and PSH only on the last.
 * Each then crosses the cable as any frame (and is impaired alone).  Size
 * 0 is checksum offload (memlink_send_csum). */
static int memlink_send_tso(struct tapir_link *link, const uint8_t *frame, size_t len,
			    const struct tapir_tso *tso)
{
	uint8_t seg[65536 + 128];
	size_t hl = tso->hdr_len, l4 = tso->csum_start, ip = 14;
	uint32_t seq0;
	if (!tso->size)
		return memlink_send_csum(link, frame, len, tso);
	if (hl > len || hl > 128 || l4 + 20 > hl || l4 < ip + 20)
		return -EINVAL;
	seq0 = tapir_get32(frame + l4 + 4);
	((struct memlink_end *)link)->m->st.tso++;
	for (size_t off = hl, k = 0; off < len; off += tso->size, k++) {
		size_t n = len - off < tso->size ? len - off : tso->size;
		bool last = off + n == len;
		size_t tcplen = hl - l4 + n;
		uint8_t *th = seg + l4;
		memcpy(seg, frame, hl);
		memcpy(seg + hl, frame + off, n);
		tso_ip_fix(seg + ip, l4 - ip, tcplen, k);
		tapir_put32(th + 4, seq0 + (uint32_t)(off - hl));
		if (!last)
			th[13] &= (uint8_t)~0x09; /* FIN, PSH */
		/* one's complement: minus the whole length, plus this one's */
		tapir_put16(th + 16, (uint16_t)~tapir_csum_fold(
					     tapir_get16(frame + l4 + 16) +
					     (uint16_t)~(uint16_t)(len - l4) + (uint32_t)tcplen));
		tapir_put16(th + 16, tapir_csum(th, tcplen));
		memlink_send(link, seg, hl + n);
	}
	return 0;
}

void tapir_memlink_params_default(struct tapir_memlink_params *p)
{
	memset(p, 0, sizeof(*p));
	p->seed = 1;
	p->delay_us = 100;
	p->reorder_extra_us = 1000;
	p->queue_limit = 4096;
}

struct tapir_memlink *tapir_memlink_new(const struct tapir_memlink_params *p)
{
	struct tapir_memlink *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->p = *p;
	if (!m->p.queue_limit)
		m->p.queue_limit = 4096;
	m->rng = p->seed;
	for (int i = 0; i < 2; i++) {
		m->lanes[i].h = calloc(m->p.queue_limit, sizeof(struct flight));
		if (!m->lanes[i].h) {
			tapir_memlink_free(m);
			return NULL;
		}
		m->ends[i].link.send = memlink_send;
		if (p && p->tso) {
			m->ends[i].link.send_tso = memlink_send_tso;
			m->ends[i].link.tso_max = 65535 + 14;
		}
		m->ends[i].link.name = i ? "mem1" : "mem0";
		m->ends[i].m = m;
		m->ends[i].side = i;
	}
	return m;
}

void tapir_memlink_free(struct tapir_memlink *m)
{
	if (!m)
		return;
	for (int i = 0; i < 2; i++) {
		for (size_t j = 0; j < m->lanes[i].n; j++)
			free(m->lanes[i].h[j].frame);
		free(m->lanes[i].h);
	}
	free(m);
}

struct tapir_link *tapir_memlink_end(struct tapir_memlink *m, int side)
{
	return &m->ends[side ? 1 : 0].link;
}

void tapir_memlink_set_time(struct tapir_memlink *m, tapir_time_t now) { m->now = now; }

size_t tapir_memlink_deliver(struct tapir_memlink *m, tapir_time_t now, tapir_memlink_rx_fn rx,
			     void *arg)
{
	size_t n = 0;
	bool more = true;
	m->now = now;
	/* alternate between the lanes so neither starves the other; a frame
	 * sent from inside RX with no delay is delivered in this same call */
	while (more) {
		more = false;
		for (int side = 0; side < 2; side++) {
			struct lane *l = &m->lanes[side];
			if (l->n && l->h[0].due <= now) {
				struct flight f = lane_pop(l);
				m->st.delivered++;
				n++;
				rx(arg, side, f.frame, f.len, now);
				free(f.frame);
				more = true;
			}
		}
	}
	return n;
}

tapir_time_t tapir_memlink_next(const struct tapir_memlink *m)
{
	tapir_time_t t = TAPIR_TIME_NEVER;
	for (int i = 0; i < 2; i++)
		if (m->lanes[i].n && m->lanes[i].h[0].due < t)
			t = m->lanes[i].h[0].due;
	return t;
}

const struct tapir_memlink_stats *tapir_memlink_stats(const struct tapir_memlink *m)
{
	return &m->st;
}
