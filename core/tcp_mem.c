/* TCP's memory: TCBs in chunks taken as connections come and given back
 * when all of a chunk's TCBs are free (slab.c, as TIME-WAIT records), the
 * 4-tuple hash table that grows and shrinks with the connections, and the
 * rings, held only while they hold data (with a small cache against malloc churn).  Nothing is
 * preallocated per possible connection: a host holding 100,000 idle
 * connections pays for 100,000 TCBs and nothing more. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "tcp_int.h"

#define TCB_CHUNK 64            /* TCBs per chunk */
#define TCB_CHUNKS_MAX (UINT32_MAX / TCB_CHUNK) /* (tcp_sockets bounds them) */

int tcp_init(struct tapir_stack *s)
{
	struct tp_tcp *tc = calloc(1, sizeof(*tc));
	if (!tc)
		return -1;
	s->tcp = tc;
	tp_slab_init(&tc->tcbs, sizeof(struct tapir_tcp), TCB_CHUNK, TCB_CHUNKS_MAX);
	tc->hash.b = calloc(TCP_HASH_MIN, sizeof(void *));
	if (!tc->hash.b)
		return -1;
	tc->hash.mask = TCP_HASH_MIN - 1;
	tc->hash.link = offsetof(struct tapir_tcp, hnext);
	tc->secret[0] = tp_rand(s);
	tc->secret[1] = tp_rand(s);
	/* a key of its own: the ISN shows SipHash(secret, 4-tuple) to the
	 * peer, which must not learn where its 4-tuples fall */
	tc->hkey[0] = tp_rand(s);
	tc->hkey[1] = tp_rand(s);
	if (tcp_tw_init(tc) < 0)
		return -1;
	tc->cache[0].size = TCP_RING_MIN;
	tc->cache[1].size = s->cfg.tcp_sndbuf;
	tc->cache[2].size = s->cfg.tcp_rcvbuf;
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
	for (unsigned i = 0; i < 3; i++)
		while (tc->cache[i].n)
			free(tc->cache[i].buf[--tc->cache[i].n]);
	tcp_tw_fini(tc);
	tp_slab_fini(&tc->tcbs);
	free(tc->hash.b);
	free(tc);
	s->tcp = NULL;
}

/* ---- bound ports ---- */

void tcp_port_insert(struct tapir_tcp *t)
{
	t->bound = true;
	TP_LINK(&t->s->tcp->ports[t->lport & (TCP_PORT_BUCKETS - 1)], t, bnext, bprev);
}

/* ---- ACKs held to the end of a turn ---- */

/* An ESTABLISHED connection's ACK that may wait for the turn's end: one
 * owed only for in-order text or a window the application opened
 * (ack_lazy), with no hole to report (RFC 5681 4.2: an out-of-order
 * segment, or one that fills a hole, is acknowledged at once), no
 * congestion mark to echo (RFC 3168 6.1.3) and no D-SACK (RFC 2883).
 * The turn's frames arrive together (a batch from the driver, each a
 * 64 KiB super-segment with offload) and its ACKs leave together, so one
 * ACK at its end, after the application has read, says what the two
 * ACKs per pair of segments and the window updates of the reads would
 * have said.  RFC 9293 3.8.6.3 asks for an ACK every second full-sized
 * segment (SHOULD), as RFC 5681 4.2; each super-segment already holds
 * dozens of them (a stretch ACK, as any receiver that coalesces segments
 * sends), and the wait is bounded: to the turn's end (RFC 1122 4.2.3.2
 * allows 0.5 s), and to half the window last offered, so that a sender
 * the window holds back is never kept waiting on our ACK. */
static bool tcp_ack_may_wait(const struct tapir_tcp *t)
{
	uint32_t offered = t->rcv_adv - t->last_ack_sent;
	return t->state == TAPIR_TCP_ESTABLISHED && t->ack_lazy && !t->nooo && !t->ece_pending &&
	       !t->dsack && t->rcv_nxt - t->last_ack_sent <= offered / 2;
}

/* T is on Q (ON: it was already): false when Q is full */
static bool tcbq_add(struct tcp_tcbq *q, struct tapir_tcp *t, bool on)
{
	if (on)
		return true;
	if (q->n == TCP_TCBQ)
		return false;
	q->t[q->n++] = t;
	return true;
}

/* T (on Q when ON) is off it */
static void tcbq_remove(struct tcp_tcbq *q, struct tapir_tcp *t, bool on)
{
	for (unsigned i = 0; on && i < q->n; i++) /* (at most TCP_TCBQ) */
		if (q->t[i] == t) {
			q->t[i] = q->t[--q->n];
			return;
		}
}

/* T's output waits for the turn's end (tapir_stack_defer_acks sends it):
 * true when T is, or now goes, on the turn's queue; false when the queue
 * is full (sent now, as without the turn) */
static bool tcp_turn_hold(struct tapir_tcp *t)
{
	if (!tcbq_add(&t->s->tcp->ackq, t, t->ack_held))
		return false;
	t->ack_held = true;
	return true;
}

/* A connection in CLOSE-WAIT has taken the peer's FIN and owes it an ACK
 * (RFC 9293 3.10.7.4 eighth).  While a driver's turn lasts, the ACK waits
 * for the turn's end: an application on the stack thread that reads the
 * end of the stream and closes within the turn sends its FIN, which
 * carries the same acknowledgment, and the bare ACK is never sent.  RFC
 * 1122 4.2.3.2 lets an ACK wait up to 0.5 s; this waits for the rest of
 * one turn.  A challenge ACK (RFC 5961) is never held; nor, in
 * ESTABLISHED, any but those tcp_ack_may_wait lets wait. */
bool tcp_ack_hold(struct tapir_tcp *t)
{
	struct tp_tcp *tc = t->s->tcp;
	if (!tc->ack_defer || t->ack_plain ||
	    (t->state != TAPIR_TCP_CLOSE_WAIT && !tcp_ack_may_wait(t)))
		return false;
	return tcp_turn_hold(t);
}

/* New data on an ESTABLISHED (or CLOSE-WAIT) connection waits for the
 * turn's end too: each ACK of the turn frees some of the send buffer, and
 * the application on the stack thread refills it after the input, so
 * sending at every ACK cuts the stream into as many small super-segments
 * (the leftover, then the refill).  Sent once at the turn's end, what the
 * turn's ACKs opened and the application queued leaves as one, and each
 * super-segment the peer's kernel takes costs it one pass through its
 * receive path.  The data waits microseconds (the rest of the turn), as
 * a sender whose segmentation offload waits for a larger burst.  Nothing
 * forced (a probe) waits, nor an ACK that tcp_ack_hold would send at once
 * (a hole to report: RFC 5681 4.2), and a full queue sends at once. */
bool tcp_output_hold(struct tapir_tcp *t)
{
	struct tp_tcp *tc = t->s->tcp;
	if (!tc->ack_defer || t->force || t->snd.len <= t->snd_nxt - t->snd_una ||
	    (t->state != TAPIR_TCP_ESTABLISHED && t->state != TAPIR_TCP_CLOSE_WAIT))
		return false; /* (nothing new to send: the ACK's own rule) */
	/* an ACK that may not wait takes the data with it, now */
	if (t->ack_now && (t->ack_plain || (t->state == TAPIR_TCP_ESTABLISHED && !tcp_ack_may_wait(t))))
		return false;
	return tcp_turn_hold(t);
}

void tapir_stack_defer_acks(struct tapir_stack *s, int on)
{
	struct tp_tcp *tc = s->tcp;
	tc->ack_defer = on != 0;
	if (on)
		return;
	/* what the FIN did not carry goes now (tcb_put took out the freed) */
	while (tc->ackq.n) {
		struct tapir_tcp *t = tc->ackq.t[--tc->ackq.n];
		t->ack_held = false;
		tcp_output(t); /* the data and the ACK the turn held */
	}
}

/* ---- data waiting for room on the loopback queue ---- */

/* A connection to one of our own addresses sends into the loopback queue,
 * which holds LOOP_LIMIT datagrams and drops beyond, as a device queue
 * does; a window of megabytes (autotuning) would overflow it in one
 * burst, and each drop cost a retransmission.  So TCP's data stops at a
 * nearly full queue, as a sender stops at a full device queue (the idea
 * of Linux's TCP Small Queues), and goes on once the loopback poll has
 * delivered what waited (tcp_loop_resume).  Nothing is in flight that was
 * not sent, so no timer is needed.  False when T may send (not to us,
 * room enough, or the waiting list full: then sent, and perhaps dropped,
 * as before). */
bool tcp_loop_wait(struct tapir_tcp *t)
{
	if (!ip_loop_busy(t->s, &t->raddr) || !tcbq_add(&t->s->tcp->loopq, t, t->loop_wait))
		return false;
	t->loop_wait = true;
	return true;
}

void tcp_loop_resume(struct tapir_stack *s)
{
	struct tp_tcp *tc = s->tcp;
	struct tcp_tcbq q;
	if (!tc->loopq.n)
		return;
	q = tc->loopq;
	/* (output only sends: no TCB is freed meanwhile; one still short of
	 * room goes on the list again) */
	tc->loopq.n = 0;
	for (unsigned i = 0; i < q.n; i++) {
		q.t[i]->loop_wait = false;
		tcp_output(q.t[i]);
	}
}

/* ---- TCBs ---- */

struct tapir_tcp *tcb_get(struct tapir_stack *s)
{
	uint32_t chunk;
	struct tapir_tcp *t = tp_slab_get(&s->tcp->tcbs, &chunk);
	if (!t)
		return NULL;
	t->chunk = chunk;
	t->s = s;
	return t;
}

/* The TCB goes back to its chunk (slab.c) */
void tcb_put(struct tapir_tcp *t)
{
	struct tp_tcp *tc = t->s->tcp;
	tcbq_remove(&tc->ackq, t, t->ack_held);
	tcbq_remove(&tc->loopq, t, t->loop_wait);
	TP_UNLINK(t, bnext, bprev);
	tcp_sackblk_release(t, true);
	tcp_rack_free(t);
	tp_slab_put(&tc->tcbs, t, t->chunk);
}

/* ---- the 4-tuple hash: keyed (SipHash), so that a peer cannot choose
 * 4-tuples that fall in one bucket; resized to keep about one connection
 * a bucket, so a lookup stays O(1) ---- */

unsigned tcp_tuple_hash(const struct tp_tcp *tc, unsigned mask, const struct tapir_ip *laddr,
			uint16_t lport, const struct tapir_ip *raddr, uint16_t rport)
{
	uint8_t b[TCP_TUPLE_MAX];
	size_t n = tcp_tuple_bytes(b, laddr, lport, raddr, rport);
	return (unsigned)tp_siphash(tc->hkey, b, n) & mask;
}

#define LINK(h, e) (*(void **)((char *)(e) + (h)->link))

/* Moves every element to a table of N buckets; keeps the old table when
 * there is no memory for the new one (lookups still work, slower). */
static void htab_resize(const struct tp_tcp *tc, struct tp_htab *h, unsigned n, tp_hash_fn hash)
{
	void **b = calloc(n, sizeof(*b)), *e, *next;
	if (!b)
		return;
	for (unsigned i = 0; i <= h->mask; i++)
		for (e = h->b[i]; e; e = next) {
			unsigned k = hash(tc, n - 1, e);
			next = LINK(h, e);
			LINK(h, e) = b[k];
			b[k] = e;
		}
	free(h->b);
	h->b = b;
	h->mask = n - 1;
}

/* about one element a bucket: doubled past it */
void htab_insert(const struct tp_tcp *tc, struct tp_htab *h, void *e, tp_hash_fn hash)
{
	unsigned k;
	if (++h->n > h->mask + 1 && h->mask < (1u << 30))
		htab_resize(tc, h, (h->mask + 1) * 2, hash);
	k = hash(tc, h->mask, e);
	LINK(h, e) = h->b[k];
	h->b[k] = e;
}

/* shrunk at 1/8 full, to half: the memory comes back after a crowd, and
 * a table never flaps between two sizes */
void htab_remove(const struct tp_tcp *tc, struct tp_htab *h, void *e, tp_hash_fn hash)
{
	for (void **pp = &h->b[hash(tc, h->mask, e)]; *pp; pp = &LINK(h, *pp))
		if (*pp == e) {
			*pp = LINK(h, e);
			break;
		}
	if (--h->n < (h->mask + 1) / 8 && h->mask + 1 > TCP_HASH_MIN)
		htab_resize(tc, h, (h->mask + 1) / 2, hash);
}

static unsigned tcb_hash(const struct tp_tcp *tc, unsigned mask, const void *e)
{
	const struct tapir_tcp *t = e;
	return tcp_tuple_hash(tc, mask, &t->laddr, t->lport, &t->raddr, t->rport);
}

struct tapir_tcp *tcp_lookup(struct tapir_stack *s, const struct tapir_ip *laddr, uint16_t lport,
			     const struct tapir_ip *raddr, uint16_t rport)
{
	struct tp_tcp *tc = s->tcp;
	struct tapir_tcp *t = tc->hash.b[tcp_tuple_hash(tc, tc->hash.mask, laddr, lport, raddr, rport)];
	for (; t; t = t->hnext)
		if (t->lport == lport && t->rport == rport && tapir_ip_eq(&t->raddr, raddr) &&
		    tapir_ip_eq(&t->laddr, laddr))
			return t;
	return NULL;
}

void tcp_hash_insert(struct tapir_tcp *t)
{
	htab_insert(t->s->tcp, &t->s->tcp->hash, t, tcb_hash);
	t->in_hash = true;
}

void tcp_hash_remove(struct tapir_tcp *t)
{
	if (!t->in_hash)
		return;
	htab_remove(t->s->tcp, &t->s->tcp->hash, t, tcb_hash);
	t->in_hash = false;
}

/* ---- rings ---- */

static struct tp_ring_cache *ring_cache(struct tp_tcp *tc, uint32_t size)
{
	for (unsigned i = 0; i < 3; i++)
		if (tc->cache[i].size == size)
			return &tc->cache[i];
	return NULL;
}

/* A buffer of SIZE bytes for a ring: from the cache, or malloc */
static uint8_t *ring_alloc(struct tp_tcp *tc, uint32_t size)
{
	struct tp_ring_cache *c = ring_cache(tc, size);
	if (c && c->n)
		return c->buf[--c->n];
	return malloc(size);
}

static void ring_free(struct tp_tcp *tc, uint8_t *buf, uint32_t size)
{
	struct tp_ring_cache *c = ring_cache(tc, size);
	if (c && c->n < TCP_RING_CACHE)
		c->buf[c->n++] = buf;
	else
		free(buf);
}

/* Room for NEED bytes (at most the ring's cap) from the ring's head.  A
 * ring without memory starts at the size it had when it last emptied (a
 * connection that moves bulk data keeps moving it: no regrowth, and the
 * cache has its size), or at TCP_RING_MIN; growth at least doubles, so a
 * ring reaches its cap in a few steps and what it holds is copied as many
 * times; the bytes keep their places relative to the head (out-of-order
 * data too).  tcp_mem_max bounds what all rings hold together. */
int tcp_ring_get(struct tapir_tcp *t, struct tp_ring *r, uint32_t need)
{
	struct tp_tcp *tc = t->s->tcp;
	uint32_t held = r->buf ? r->size : 0;
	uint32_t size = r->buf ? r->size * 2 : r->size ? r->size : TCP_RING_MIN;
	uint8_t *buf;
	if (r->buf && r->size >= need)
		return 0;
	if (size < need)
		size = need;
	if (size > r->cap)
		size = r->cap;
	if (tc->mem + size - held > t->s->cfg.tcp_mem_max || !(buf = ring_alloc(tc, size)))
		return -ENOBUFS;
	if (r->buf) {
		ring_read_at(r, 0, buf, r->size);
		ring_free(tc, r->buf, r->size);
	}
	tc->mem += size - held;
	r->buf = buf;
	r->size = size;
	r->head = 0;
	return 0;
}

void tcp_ring_put(struct tapir_tcp *t, struct tp_ring *r)
{
	struct tp_tcp *tc = t->s->tcp;
	if (!r->buf)
		return;
	tc->mem -= r->size;
	ring_free(tc, r->buf, r->size);
	r->buf = NULL;
	r->head = r->len = 0; /* SIZE stays: the next allocation's (tcp_ring_get) */
}

void tapir_tcp_mem(const struct tapir_stack *s, struct tapir_tcp_mem *m)
{
	const struct tp_tcp *tc = s->tcp;
	memset(m, 0, sizeof(*m));
	m->tcbs = tc->tcbs.n;
	m->tcb_size = sizeof(struct tapir_tcp);
	m->tcb_bytes = tp_slab_bytes(&tc->tcbs);
	m->ring_bytes = tc->mem;
	for (unsigned i = 0; i < 3; i++)
		m->ring_cache_bytes += (size_t)tc->cache[i].n * tc->cache[i].size;
	m->hash_bytes = (size_t)(tc->hash.mask + 1) * sizeof(void *);
	m->time_wait = tc->ntw;
	m->time_wait_bytes = tcp_tw_bytes(tc);
}

/* ---- receive-buffer autotuning: dynamic right-sizing (the idea of
 * Linux's tcp_rcv_space_adjust and FreeBSD's receive buffer scaling).  A
 * fixed buffer caps a connection at buffer/RTT; a large one for every
 * connection costs memory a slow reader never uses.  So the buffer
 * follows the reader: each round trip, what the application took is
 * measured, and the buffer grows to about twice that, so that the window
 * stays ahead of a sender whose window doubles each round trip (slow
 * start).  It only grows: the right edge of the window never moves back
 * (RFC 9293 3.8.6, RFC 7323 2.4). ---- */

uint32_t tcp_rcvbuf_ceiling(const struct tapir_tcp *t)
{
	uint32_t max = t->s->cfg.tcp_rcvbuf_max;
	return t->rcv_auto && max > t->rcvbuf ? max : t->rcvbuf;
}

/* A ring grown past the default size for a reader that keeps up is
 * emptied by every read: given back each time, it would come back from
 * malloc (mmap at that size) and be faulted in page by page for every
 * batch of segments.  So a tuned connection keeps it until it closes:
 * its memory stays counted in tcp_mem_max, and is at most
 * tcp_rcvbuf_max. */
bool tcp_rcv_ring_keep(const struct tapir_tcp *t)
{
	return t->rcv_auto && t->rcv.size > t->s->cfg.tcp_rcvbuf;
}

/* The same for a send ring that autotuning grew (tcp_snd_space_adjust):
 * a writer that keeps the connection busy empties it whenever the peer
 * acknowledges faster than the writer refills it (a relay feeding it from
 * a socket, a server between two files), and each time it would come back
 * from malloc and be faulted in again: under `tapir run`, 1,200 mmap and
 * munmap calls per 537 MB, 12 % of the stack thread in page faults. */
bool tcp_snd_ring_keep(const struct tapir_tcp *t)
{
	return t->snd_auto && t->snd.size > t->s->cfg.tcp_sndbuf;
}

/* The receiver's RTT without timestamps (whose clock ticks in
 * milliseconds): from the moment a window's right edge stands to the
 * arrival of the byte at it, the sender has had our ACK and answered it,
 * so the time is about a round trip (more when the sender is not window
 * limited, which only makes the tuning slower). */
void tcp_rcv_rtt_measure(struct tapir_tcp *t)
{
	tapir_time_t now = t->s->now, m;
	if (!t->rcv_auto)
		return;
	if (t->rcv_rtt_on && SEQ_GEQ(t->rcv_nxt, t->rcv_rtt_seq)) {
		m = now > t->rcv_rtt_at ? now - t->rcv_rtt_at : 1;
		/* a smaller sample is taken at once, a larger one by 1/8 */
		if (!t->rcv_rtt || m < t->rcv_rtt)
			t->rcv_rtt = m;
		else
			t->rcv_rtt += (m - t->rcv_rtt) / 8;
		t->rcv_rtt_on = false;
	}
	if (!t->rcv_rtt_on && SEQ_GT(t->rcv_adv, t->rcv_nxt)) {
		t->rcv_rtt_seq = t->rcv_adv;
		t->rcv_rtt_at = now;
		t->rcv_rtt_on = true;
	}
}

void tcp_rcv_space_adjust(struct tapir_tcp *t, uint32_t copied)
{
	struct tapir_stack *s = t->s;
	size_t mem = s->tcp->mem, mem_max = s->cfg.tcp_mem_max;
	uint32_t want, max;
	if (!t->rcv_auto)
		return;
	t->rcv_copied += copied;
	if (!t->rcv_space_on) {
		t->rcv_space_on = true;
		t->rcv_space_at = s->now;
		return;
	}
	if (!t->rcv_rtt || s->now - t->rcv_space_at < t->rcv_rtt)
		return;
	copied = t->rcv_copied;
	t->rcv_copied = 0;
	t->rcv_space_at = s->now;
	if (copied <= t->rcv_space)
		return; /* the reader is not taking more than it did */
	t->rcv_space = copied;
	/* twice a round trip's worth, and 16 segments of slack for the
	 * measurement's coarseness */
	want = copied > (1u << 30) ? 1u << 31 : copied * 2 + 16u * t->mss;
	/* RFC 7323 2.3: no more than the window field can say (without
	 * window scaling, 65535: no tuning at all) */
	max = s->cfg.tcp_rcvbuf_max;
	if (t->ws_ok && (65535u << t->rcv_wscale) < max)
		max = 65535u << t->rcv_wscale;
	else if (!t->ws_ok && max > 65535)
		max = 65535;
	if (want > max)
		want = max;
	/* the global bound: the growth must fit in what all rings may hold
	 * (tcp_ring_get still bounds what is actually allocated) */
	if (want <= t->rcv.cap || mem + (want - t->rcv.cap) > mem_max)
		return;
	STAT(s, tcp_rcvbuf_grown);
	t->rcv.cap = t->rcvbuf = want;
}

/* ---- send-buffer autotuning (the idea of Linux's tcp_sndbuf_expand).  A
 * fixed send buffer caps a connection at buffer/RTT however wide the
 * windows are: a writer kept waiting for room while the peer's window and
 * the congestion window would take more.  So when an ACK frees a buffer
 * that was full, the buffer grows to twice what the windows let be in
 * flight -- one window out, one queued behind it for the next round trip
 * (slow start doubles the window each) -- up to tcp_sndbuf_max and within
 * tcp_mem_max.  Only an ESTABLISHED connection out of recovery grows:
 * during recovery the window says little about the next round trip.  A
 * grown ring goes back when it drains, as any (tcp_ack_advance). ---- */

void tcp_snd_space_adjust(struct tapir_tcp *t)
{
	struct tapir_stack *s = t->s;
	uint32_t win = t->cwnd < t->snd_wnd ? t->cwnd : t->snd_wnd, want;
	if (!t->snd_auto || t->state != TAPIR_TCP_ESTABLISHED || t->in_recovery)
		return;
	want = win > (1u << 30) ? 1u << 31 : win * 2;
	if (want <= t->snd.cap)
		return;
	/* at least doubled (and so at most 4 windows): a window that grows a
	 * little each round trip would otherwise move the full ring into a
	 * slightly larger one each time -- megabytes copied, and mapped
	 * afresh, hundreds of times (582 steps in 3 s over the loopback) */
	if (t->snd.cap <= (1u << 30) && want < 2 * t->snd.cap)
		want = 2 * t->snd.cap;
	if (want > s->cfg.tcp_sndbuf_max)
		want = s->cfg.tcp_sndbuf_max;
	if (want <= t->snd.cap || s->tcp->mem + (want - t->snd.cap) > s->cfg.tcp_mem_max)
		return;
	STAT(s, tcp_sndbuf_grown);
	t->snd.cap = t->sndbuf = want;
}
