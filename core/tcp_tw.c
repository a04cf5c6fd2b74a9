/* TIME-WAIT as a compact record.  A connection nobody holds any more (the
 * user closed it, no listener owns it) keeps nothing in TIME-WAIT but what
 * RFC 9293 3.10.7.4 needs to answer a segment: the 4-tuple, the sequence
 * numbers and window, the timestamp state of RFC 7323 and the end of its
 * 2 MSL.  Its TCB is freed and a record of at most 128 bytes stays, in
 * chunks of 64 given back when empty (slab.c).
 *
 * A segment for a record thaws it: a TCB is made again from the record and
 * the segment goes the way of any segment (tcp_sync_input), so the answers
 * on the wire are those of a TCB in TIME-WAIT.  After the segment the TCB
 * is frozen again (tcp_tw_settle), or is gone (a RST, a new SYN, RFC 6191).
 * Records expire oldest first: the list is in expiry order, since every
 * expiry is "now + 2 MSL" when set. */
#include <stddef.h>
#include <stdlib.h>

#include "tcp_int.h"

enum {
	TW_WS = 1, TW_TS = 2, TW_SACK = 4, TW_ECN = 8, TW_ECE = 16,
};

/* 128 bytes: what RFC 9293 3.10.7.4 and RFC 7323 4.3 read in TIME-WAIT,
 * packed.  Values a TCB in TIME-WAIT nearly always has in a narrow range
 * are kept as short deltas or in their scaled form (RFC 7323 2.3); a TCB
 * whose values do not fit keeps its TCB (tw_packs), so a record always
 * gives back exactly the TCB it was made from. */
struct tcp_tw {
	struct tcp_tw *next, **pprev;   /* the expiry list, oldest first (first: see
					 * tw_unlist) */
	struct tcp_tw *hnext;           /* the records' hash chain */
	struct tcp_tw *bnext, **bprev;  /* the records of one local port */
	struct tapir_ip laddr, raddr;
	tapir_time_t expire;            /* the end of 2 MSL */
	uint16_t lport, rport;
	uint32_t snd_nxt, rcv_nxt, ts_recent, ts_offset;
	uint32_t ts_age;                /* expire - ts_recent_age (TW_AGE_NONE: 0) */
	uint32_t rcvbuf;
	unsigned snd_wscale : 4, rcv_wscale : 4; /* RFC 7323 2.3: at most 14 */
	unsigned flags : 5;             /* TW_* */
	unsigned ipo_set : 4;           /* which ipo[] hold a value */
	unsigned chunk : 15;            /* the index of its chunk (slab.c) */
	uint16_t snd_wnd, max_sndwnd;   /* >> snd_wscale */
	uint16_t rcv_wnd;               /* (rcv_adv - rcv_nxt) >> rcv_wscale */
	uint16_t wl1, wl2;              /* rcv_nxt - snd_wl1, snd_nxt - snd_wl2 */
	uint16_t mss;
	uint8_t ipo[4];                 /* IP header fields, less one (tp_ipopts) */
};

#define TW_AGE_NONE UINT32_MAX
#define TW_CHUNK 64                     /* records per chunk: 8 KiB */
#define TW_CHUNKS_MAX (1u << 15)        /* CHUNK's range: 2 M records at most */

_Static_assert(sizeof(struct tcp_tw) <= 128, "a TIME-WAIT record is at most 128 bytes");

static unsigned tw_hash(const struct tp_tcp *tc, unsigned mask, const void *e)
{
	const struct tcp_tw *w = e;
	return tcp_tuple_hash(tc, mask, &w->laddr, w->lport, &w->raddr, w->rport);
}

int tcp_tw_init(struct tp_tcp *tc)
{
	tc->tw_hash.link = offsetof(struct tcp_tw, hnext);
	tc->tw_hash.mask = TCP_HASH_MIN - 1;
	tc->tw_hash.b = calloc(TCP_HASH_MIN, sizeof(void *));
	tp_slab_init(&tc->tws, sizeof(struct tcp_tw), TW_CHUNK, TW_CHUNKS_MAX);
	return tc->tw_hash.b ? 0 : -1;
}

static struct tcp_tw *tw_lookup(struct tapir_stack *s, const struct tapir_ip *laddr, uint16_t lport,
				const struct tapir_ip *raddr, uint16_t rport)
{
	struct tp_tcp *tc = s->tcp;
	struct tcp_tw *w;
	if (!tc->tw_hash.n)
		return NULL;
	w = tc->tw_hash.b[tcp_tuple_hash(tc, tc->tw_hash.mask, laddr, lport, raddr, rport)];
	for (; w; w = w->hnext)
		if (w->lport == lport && w->rport == rport && tapir_ip_eq(&w->raddr, raddr) &&
		    tapir_ip_eq(&w->laddr, laddr))
			return w;
	return NULL;
}

bool tcp_tw_exists(struct tapir_stack *s, const struct tapir_ip *laddr, uint16_t lport,
		   const struct tapir_ip *raddr, uint16_t rport)
{
	return tw_lookup(s, laddr, lport, raddr, rport) != NULL;
}

/* NEXT is the first member: a link that points to W is W's predecessor */
static void tw_unlist(struct tp_tcp *tc, struct tcp_tw *w)
{
	if (tc->tw_tail == w)
		tc->tw_tail = w->pprev == &tc->tw_head ? NULL : (struct tcp_tw *)(void *)w->pprev;
	TP_UNLINK(w, next, pprev);
}

static void tw_append(struct tp_tcp *tc, struct tcp_tw *w)
{
	TP_LINK(tc->tw_tail ? &tc->tw_tail->next : &tc->tw_head, w, next, pprev);
	tc->tw_tail = w;
}

static void tw_free(struct tp_tcp *tc, struct tcp_tw *w)
{
	htab_remove(tc, &tc->tw_hash, w, tw_hash);
	TP_UNLINK(w, bnext, bprev);
	tw_unlist(tc, w);
	tc->ntw--;
	tp_slab_put(&tc->tws, w, w->chunk);
}

/* ---- freezing and thawing ---- */

/* What a record cannot carry keeps the TCB: a hook's handler or bits, a
 * timer still running, data or ranges still held. */
static bool tw_fits(const struct tapir_tcp *t)
{
	return t->state == TAPIR_TCP_TIME_WAIT && t->user_closed && !t->parent && !t->handler &&
	       !t->tx_reserved && !t->snd.len && !t->rcv.len && !t->nooo && !t->nsacked &&
	       !t->dsack && !t->fin_pending && t->fin_sent && t->rcv_fin &&
	       t->snd_una == t->snd_max && t->snd_nxt == t->snd_max &&
	       t->t_delack == TAPIR_TIME_NEVER && t->t_rexmt == TAPIR_TIME_NEVER &&
	       t->t_persist == TAPIR_TIME_NEVER && t->t_2msl != TAPIR_TIME_NEVER;
}

/* V, kept as X >> SHIFT in 16 bits, gives V back */
static bool tw_scaled_fits(uint32_t v, unsigned shift)
{
	return (v >> shift) <= UINT16_MAX && (v >> shift) << shift == v;
}

/* The record keeps T exactly: every packed value fits.  Last.ACK.sent is
 * RCV.NXT once the last segment was ACKed (RFC 7323 4.3), so not kept. */
static bool tw_packs(const struct tapir_tcp *t)
{
	return tw_scaled_fits(t->snd_wnd, t->snd_wscale) &&
	       tw_scaled_fits(t->max_sndwnd, t->snd_wscale) &&
	       tw_scaled_fits(t->rcv_adv - t->rcv_nxt, t->rcv_wscale) &&
	       t->rcv_nxt - t->snd_wl1 <= UINT16_MAX && t->snd_nxt - t->snd_wl2 <= UINT16_MAX &&
	       t->last_ack_sent == t->rcv_nxt && t->snd_wscale <= 15 && t->rcv_wscale <= 15 &&
	       (!t->ts_recent_age ||
		(t->ts_recent_age <= t->t_2msl && t->t_2msl - t->ts_recent_age < TW_AGE_NONE));
}

/* The fields a record keeps as they are, under the same names */
#define TW_FIELD(f)                                                            \
	{offsetof(struct tcp_tw, f), offsetof(struct tapir_tcp, f),             \
	 sizeof(((struct tcp_tw *)0)->f)}
static const struct {
	uint16_t tw, tcb, size;
} tw_fields[] = {
	TW_FIELD(laddr),   TW_FIELD(raddr),     TW_FIELD(lport),     TW_FIELD(rport),
	TW_FIELD(snd_nxt), TW_FIELD(rcv_nxt),   TW_FIELD(ts_recent), TW_FIELD(ts_offset),
	TW_FIELD(mss),
};

static void tw_save(struct tcp_tw *w, const struct tapir_tcp *t)
{
	for (size_t i = 0; i < sizeof(tw_fields) / sizeof(tw_fields[0]); i++)
		memcpy((char *)w + tw_fields[i].tw, (const char *)t + tw_fields[i].tcb,
		       tw_fields[i].size);
	w->rcvbuf = t->rcv.cap;
	w->expire = t->t_2msl;
	w->ts_age = t->ts_recent_age ? (uint32_t)(t->t_2msl - t->ts_recent_age) : TW_AGE_NONE;
	w->snd_wscale = t->snd_wscale;
	w->rcv_wscale = t->rcv_wscale;
	w->snd_wnd = (uint16_t)(t->snd_wnd >> t->snd_wscale);
	w->max_sndwnd = (uint16_t)(t->max_sndwnd >> t->snd_wscale);
	w->rcv_wnd = (uint16_t)((t->rcv_adv - t->rcv_nxt) >> t->rcv_wscale);
	w->wl1 = (uint16_t)(t->rcv_nxt - t->snd_wl1);
	w->wl2 = (uint16_t)(t->snd_nxt - t->snd_wl2);
	w->ipo_set = 0;
	for (unsigned i = 0; i < 4; i++) { /* tp_ipopts: 0 the default, else 1..256 */
		w->ipo[i] = (uint8_t)(t->ipo.v[i] - 1);
		w->ipo_set |= (t->ipo.v[i] ? 1u : 0u) << i;
	}
	w->flags = (t->ws_ok ? TW_WS : 0) | (t->ts_ok ? TW_TS : 0) | (t->sack_ok ? TW_SACK : 0) |
		   (t->ecn_ok ? TW_ECN : 0) | (t->ece_pending ? TW_ECE : 0);
}

/* T (fresh from tcp_alloc's defaults) as the TCB the record was made
 * from: a connection the user closed, both FINs in and acknowledged. */
static void tw_load(struct tapir_tcp *t, const struct tcp_tw *w)
{
	for (size_t i = 0; i < sizeof(tw_fields) / sizeof(tw_fields[0]); i++)
		memcpy((char *)t + tw_fields[i].tcb, (const char *)w + tw_fields[i].tw,
		       tw_fields[i].size);
	t->state = TAPIR_TCP_TIME_WAIT;
	t->bound = t->user_closed = t->shut_wr = true;
	t->fin_queued = t->fin_sent = t->rcv_fin = true;
	t->snd_una = t->snd_max = w->snd_nxt;
	t->fin_seq = w->snd_nxt - 1;
	t->rcv_fin_seq = w->rcv_nxt - 1;
	t->rcv.cap = t->rcvbuf = w->rcvbuf;
	t->snd.cap = t->sndbuf;
	t->t_2msl = w->expire;
	t->ts_recent_age = w->ts_age == TW_AGE_NONE ? 0 : w->expire - w->ts_age;
	t->snd_wscale = (uint8_t)w->snd_wscale;
	t->rcv_wscale = (uint8_t)w->rcv_wscale;
	t->snd_wnd = (uint32_t)w->snd_wnd << w->snd_wscale;
	t->max_sndwnd = (uint32_t)w->max_sndwnd << w->snd_wscale;
	t->rcv_adv = w->rcv_nxt + ((uint32_t)w->rcv_wnd << w->rcv_wscale);
	t->snd_wl1 = w->rcv_nxt - w->wl1;
	t->snd_wl2 = w->snd_nxt - w->wl2;
	t->last_ack_sent = w->rcv_nxt;
	for (unsigned i = 0; i < 4; i++)
		t->ipo.v[i] = (uint16_t)(w->ipo_set & (1u << i) ? w->ipo[i] + 1 : 0);
	t->ws_ok = w->flags & TW_WS;
	t->ts_ok = w->flags & TW_TS;
	t->sack_ok = w->flags & TW_SACK;
	t->ecn_ok = w->flags & TW_ECN;
	t->ece_pending = w->flags & TW_ECE;
}

/* A segment for LADDR:LPORT from RADDR:RPORT with no TCB: the TCB of its
 * TIME-WAIT record, made again for the segment, or NULL. */
struct tapir_tcp *tcp_tw_thaw(struct tapir_stack *s, const struct tapir_ip *laddr, uint16_t lport,
			      const struct tapir_ip *raddr, uint16_t rport)
{
	struct tp_tcp *tc = s->tcp;
	struct tcp_tw *w = tw_lookup(s, laddr, lport, raddr, rport);
	struct tapir_tcp *t;
	if (!w || !(t = tcp_alloc_unbounded(s)))
		return NULL;
	tw_load(t, w);
	tcp_timer_set(t, &t->t_2msl, w->expire); /* (into the wheel, should it stay) */
	tcp_hash_insert(t);
	tc->tw_cur = t;
	tc->tw_rec = w;
	return t;
}

/* T enters TIME-WAIT during this segment: frozen after it, if it may be */
void tcp_tw_candidate(struct tapir_tcp *t)
{
	if (!t->s->tcp->tw_rec)
		t->s->tcp->tw_cur = t;
}

/* tcp_free: T's TCB goes; a record thawed for it goes too (the connection
 * ended: a RST, or a new SYN took its place) */
void tcp_tw_forget(struct tapir_tcp *t)
{
	struct tp_tcp *tc = t->s->tcp;
	if (t != tc->tw_cur)
		return;
	if (tc->tw_rec)
		tw_free(tc, tc->tw_rec);
	tc->tw_cur = NULL;
	tc->tw_rec = NULL;
}

static void tw_freeze(struct tp_tcp *tc, struct tapir_tcp *t, struct tcp_tw *w)
{
	if (w) {
		if (t->t_2msl != w->expire) { /* restarted: now the newest */
			tw_unlist(tc, w);
			tw_append(tc, w);
		}
		tw_save(w, t);
	} else {
		uint32_t chunk;
		if (!(w = tp_slab_get(&tc->tws, &chunk)))
			return; /* the TCB stays, as before there were records */
		w->chunk = chunk & (TW_CHUNKS_MAX - 1); /* (below TW_CHUNKS_MAX) */
		tw_save(w, t);
		htab_insert(tc, &tc->tw_hash, w, tw_hash);
		TP_LINK(&tc->tw_ports[w->lport & (TCP_PORT_BUCKETS - 1)], w, bnext, bprev);
		tw_append(tc, w);
		tc->ntw++;
	}
	tc->tw_cur = NULL; /* (tcp_free must not take the record along) */
	tc->tw_rec = NULL;
	tcp_free(t);
}

/* After each segment: the connection it thawed or brought into TIME-WAIT
 * becomes (again) a record; one that no longer fits one keeps its TCB. */
void tcp_tw_settle(struct tapir_stack *s)
{
	struct tp_tcp *tc = s->tcp;
	struct tapir_tcp *t = tc->tw_cur;
	struct tcp_tw *w = tc->tw_rec;
	tc->tw_cur = NULL;
	tc->tw_rec = NULL;
	if (t && tw_fits(t) && tw_packs(t))
		tw_freeze(tc, t, w);
	else if (w)
		tw_free(tc, w);
}

/* ---- expiry, reclaim, ports, listing ---- */

tapir_time_t tcp_tw_poll(struct tapir_stack *s, tapir_time_t now)
{
	struct tp_tcp *tc = s->tcp;
	while (tc->ntw && tc->tw_head->expire <= now)
		tw_free(tc, tc->tw_head);
	return tc->ntw ? tc->tw_head->expire : TAPIR_TIME_NEVER;
}

bool tcp_tw_reclaim(struct tapir_stack *s)
{
	struct tp_tcp *tc = s->tcp;
	if (!tc->ntw)
		return false;
	tw_free(tc, tc->tw_head); /* the oldest: the nearest its end */
	return true;
}

bool tcp_tw_port_used(struct tapir_stack *s, const struct tapir_ip *addr, bool v6only,
		      uint16_t port, bool reuse)
{
	for (const struct tcp_tw *w = s->tcp->tw_ports[port & (TCP_PORT_BUCKETS - 1)]; w;
	     w = w->bnext)
		if (w->lport == port && !reuse &&
		    (!addr || tapir_ip_covers(addr, v6only, &w->laddr)))
			return true;
	return false;
}

void tcp_tw_foreach(struct tapir_stack *s, void (*fn)(void *arg, const struct tapir_tcp *t),
		    void *arg)
{
	struct tp_tcp *tc = s->tcp;
	struct tapir_tcp t;
	for (struct tcp_tw *w = tc->tw_head; w; w = w->next) {
		memset(&t, 0, sizeof(t));
		t.s = s;
		t.sndbuf = s->cfg.tcp_sndbuf;
		tw_load(&t, w);
		fn(arg, &t);
	}
}

void tcp_tw_fini(struct tp_tcp *tc)
{
	while (tc->ntw)
		tw_free(tc, tc->tw_head);
	tp_slab_fini(&tc->tws);
	free(tc->tw_hash.b);
}

size_t tcp_tw_bytes(const struct tp_tcp *tc)
{
	return tp_slab_bytes(&tc->tws) + (tc->tw_hash.mask + 1) * sizeof(void *);
}

/* The profile's tw_ack_segments (FreeBSD's tcp_twcheck, not an RFC rule):
 * in TIME-WAIT a RST or a segment without ACK is dropped silently (RFC
 * 1337 leaves RSTs there to the implementation), a retransmitted FIN
 * restarts the 2 MSL wait, and anything but an exact duplicate ACK is
 * ACKed. */
bool tcp_tw_profile_check(struct tapir_tcp *t, const struct tp_seg *seg, struct tcp_verdict *v)
{
	uint32_t fin_end;
	if (t->state != TAPIR_TCP_TIME_WAIT || !t->s->cfg.profile.tw_ack_segments)
		return false;
	if ((seg->flags & TAPIR_TH_RST) || !(seg->flags & TAPIR_TH_ACK)) {
		*v = tcp_dropped(TCP_ANS_NONE);
		return true;
	}
	fin_end = seg->seq + seg->len + (seg->flags & TAPIR_TH_SYN ? 1 : 0) + 1;
	if ((seg->flags & TAPIR_TH_FIN) && fin_end == t->rcv_nxt)
		tcp_timer_set(t, &t->t_2msl, t->s->now + 2 * t->s->cfg.tcp_msl_us);
	*v = tcp_dropped(seg->flags != TAPIR_TH_ACK || seg->len || seg->seq != t->rcv_nxt ||
					 seg->ack != t->snd_nxt
				 ? TCP_ANS_ACK
				 : TCP_ANS_NONE);
	return true;
}
