/* TCP Fast Open (RFC 7413): data on the SYN, and its cookies.
 *
 * Server (4.1.2, 4.2): a cookie is a keyed MAC (SipHash) of the client's
 * address and ours, under a key that rotates every TCP_TFO_KEY_PERIOD;
 * the key before is still accepted, so a cookie lives one to two periods.
 * A SYN with a valid cookie has its data taken at once: its child goes to
 * the accept queue while still in SYN-RECEIVED and the SYN,ACK
 * acknowledges the data.  A request, or a cookie that fails, gets a fresh
 * cookie on the SYN,ACK and its data is not taken (4.2 "If the cookie is
 * not valid ... the server MUST ... ignore the data").  At most the
 * listener's TAPIR_TCP_FASTOPEN connections from cookies are half-open at
 * once (4.2's "bound the number of pending TFO connection requests").
 *
 * Client (4.1.3, 4.2.2): the cookies servers give are kept by server
 * address in a bounded cache (least recently used out); a SYN asks for one
 * (an empty option) until one is cached, then carries it and up to one
 * MSS of data.  Data the SYN,ACK does not acknowledge is sent again after
 * the handshake; a SYN with data that times out, or a server that stops
 * answering with cookies, loses its cache entry (4.1.3.1: Fast Open
 * failing on a path is given up). */
#include <errno.h>

#include "tcp_int.h"

/* ---- options (4.1.1) ---- */

void tcp_tfo_parse(struct tp_seg *seg, const uint8_t *p)
{
	unsigned hdr = p[0] == 34 ? 2 : 4, n;
	if (p[0] == 254 && (p[1] < 4 || tapir_get16(p + 2) != 0xF989))
		return; /* another experiment's (RFC 6994) */
	if (p[1] < hdr)
		return;
	n = p[1] - hdr;
	/* 4.1.1: a cookie is 4 to 16 bytes; an empty option a request */
	if (n && (n < 4 || n > TCP_TFO_COOKIE_MAX))
		return;
	seg->tfo.len = (int8_t)n;
	seg->tfo.exp = p[0] == 254;
	memcpy(seg->tfo.cookie, p + hdr, n);
}

/* ---- the server's keys and cookies (4.1.2) ---- */

/* Rotation happens when a key is needed: one period on, the current key
 * becomes the previous one; two on, neither is kept */
static struct tcp_tfo *tfo_keys(struct tapir_stack *s)
{
	struct tcp_tfo *f = &s->tcp->tfo;
	tapir_time_t age = s->now - f->key_at;
	if (f->key_at && age < TCP_TFO_KEY_PERIOD)
		return f;
	if (f->key_at && age < 2 * TCP_TFO_KEY_PERIOD) {
		memcpy(f->key[1], f->key[0], sizeof(f->key[0]));
	} else {
		f->key[1][0] = tp_rand(s);
		f->key[1][1] = tp_rand(s);
	}
	f->key[0][0] = tp_rand(s);
	f->key[0][1] = tp_rand(s);
	/* (time 0 means "none": a stack may start its clock there) */
	f->key_at = s->now ? s->now : 1;
	return f;
}

/* The cookie of client RADDR to our LADDR under key K */
static uint64_t tfo_mac(const uint64_t k[2], const struct tapir_ip *laddr,
			const struct tapir_ip *raddr)
{
	uint8_t b[32];
	memcpy(b, raddr->b, 16);
	memcpy(b + 16, laddr->b, 16);
	return tp_siphash(k, b, sizeof(b));
}

static void tfo_cookie(struct tapir_stack *s, const struct tapir_ip *laddr,
		       const struct tapir_ip *raddr, uint8_t out[TCP_TFO_COOKIE_LEN])
{
	uint64_t m = tfo_mac(tfo_keys(s)->key[0], laddr, raddr);
	for (int i = 0; i < TCP_TFO_COOKIE_LEN; i++)
		out[i] = (uint8_t)(m >> (8 * i));
}

/* The key under which the cookie SEG carries is ours: 0 the current, 1
 * the one before; -1 none */
static int tfo_cookie_key(struct tapir_stack *s, const struct tp_seg *seg)
{
	struct tcp_tfo *f = tfo_keys(s);
	if (seg->tfo.len != TCP_TFO_COOKIE_LEN)
		return -1;
	for (int k = 0; k < 2; k++) {
		uint64_t m = tfo_mac(f->key[k], &seg->dst, &seg->src);
		uint8_t c[TCP_TFO_COOKIE_LEN];
		for (int i = 0; i < TCP_TFO_COOKIE_LEN; i++)
			c[i] = (uint8_t)(m >> (8 * i));
		if (!memcmp(c, seg->tfo.cookie, sizeof(c)))
			return k;
	}
	return -1;
}

/* ---- server (4.2) ---- */

/* C takes the SYN's data: in order at RCV.NXT, so the SYN,ACK
 * acknowledges it; false when there is no room for it */
static bool tfo_take_data(struct tapir_tcp *c, const struct tp_seg *seg)
{
	uint32_t n = seg->len < c->rcv.cap ? seg->len : c->rcv.cap;
	if (n && tcp_ring_get(c, &c->rcv, n) < 0)
		return false;
	ring_write_at(&c->rcv, 0, seg->data, n);
	c->rcv.len = n;
	c->rcv_nxt += n;
	return true;
}

void tcp_tfo_listen(struct tapir_tcp *l, struct tapir_tcp *c, const struct tp_seg *seg)
{
	struct tapir_stack *s = l->s;
	uint8_t on = s->cfg.profile.fastopen;
	/* the listener's own bound, or with the profile's bit 4 its backlog */
	unsigned qlen = l->tfo_qlen ? l->tfo_qlen : (on & 4) ? (unsigned)l->backlog : 0;
	int key;
	if (seg->tfo.len < 0 || !qlen || c->noopt || !(on & 2))
		return;
	key = seg->tfo.len > 0 ? tfo_cookie_key(s, seg) : -1;
	/* a cookie of the key before is good, and replaced by a current one */
	c->tfo_cookie_out = key != 0;
	c->tfo_exp = seg->tfo.exp;
	if (key >= 0) {
		if (l->tfo_pending >= qlen) {
			/* 4.2: too many pending: a plain handshake */
			STAT(s, tcp_tfo_qlen_full);
			return;
		}
		if (!tfo_take_data(c, seg))
			return;
		STAT(s, tcp_tfo_data_in);
		c->tfo_parent = l;
		l->tfo_pending++;
		c->tfo_early = true;
		/* the application has the connection, and its data, now */
		tcp_child_established(c);
		return;
	}
	if (seg->tfo.len > 0)
		STAT(s, tcp_tfo_cookie_bad);
}

void tcp_tfo_release(struct tapir_tcp *t)
{
	if (t->tfo_parent) {
		t->tfo_parent->tfo_pending--;
		t->tfo_parent = NULL;
	}
}

void tcp_tfo_forget(struct tapir_tcp *t)
{
	tcp_tfo_release(t);
	if (t->tfo_pending) /* a listener: its children count for nobody now */
		for (struct tapir_tcp *c = t->s->tcp->all; c; c = c->anext)
			if (c->tfo_parent == t)
				c->tfo_parent = NULL;
	t->tfo_pending = 0;
}

/* ---- client (4.1.3, 4.2.2) ---- */

static struct tcp_tfo_entry *tfo_cache_find(struct tapir_stack *s, const struct tapir_ip *a)
{
	struct tcp_tfo *f = &s->tcp->tfo;
	for (unsigned i = 0; i < TCP_TFO_CACHE; i++)
		if (f->cache[i].len && tapir_ip_eq(&f->cache[i].addr, a)) {
			f->cache[i].used = ++f->clock;
			return &f->cache[i];
		}
	return NULL;
}

static void tfo_cache_put(struct tapir_stack *s, const struct tapir_ip *a,
			  const struct tcp_tfo_opt *o, uint16_t mss)
{
	struct tcp_tfo *f = &s->tcp->tfo;
	struct tcp_tfo_entry *e = tfo_cache_find(s, a);
	/* a new server: a free entry, else the least recently used */
	for (unsigned i = 0; !e && i < TCP_TFO_CACHE; i++)
		if (!f->cache[i].len)
			e = &f->cache[i];
	if (!e) {
		e = &f->cache[0];
		for (unsigned i = 1; i < TCP_TFO_CACHE; i++)
			if (f->cache[i].used < e->used)
				e = &f->cache[i];
	}
	e->addr = *a;
	e->len = (uint8_t)o->len;
	memcpy(e->cookie, o->cookie, (size_t)o->len);
	e->mss = mss;
	e->used = ++f->clock;
}

static bool tfo_client_on(const struct tapir_tcp *t)
{
	return t->tfo_client && (t->s->cfg.profile.fastopen & 1) && !t->noopt;
}

bool tcp_tfo_may_defer(struct tapir_tcp *t)
{
	return tfo_client_on(t) && tfo_cache_find(t->s, &t->raddr);
}

void tcp_tfo_syn_option(struct tapir_tcp *t, bool passive, struct tcp_tfo_opt *o)
{
	struct tcp_tfo_entry *e;
	o->len = -1;
	if (passive) {
		if (t->tfo_cookie_out) {
			o->len = TCP_TFO_COOKIE_LEN;
			o->exp = t->tfo_exp;
			tfo_cookie(t->s, &t->laddr, &t->raddr, o->cookie);
			STAT(t->s, tcp_tfo_cookies_sent);
		}
		return;
	}
	/* a retransmitted SYN goes plain: the option or the data may be
	 * what the path drops (4.1.3.1) */
	if (!tfo_client_on(t) || t->backoff)
		return;
	o->exp = false;
	if ((e = tfo_cache_find(t->s, &t->raddr)) != NULL) {
		o->len = (int8_t)e->len;
		memcpy(o->cookie, e->cookie, e->len);
	} else {
		o->len = 0; /* a request */
	}
}

/* 4.2: no more than fits in one segment to the server, its MSS as cached,
 * our options (up to 40 bytes) off it */
static uint32_t tfo_syn_room(const struct tapir_tcp *t, const struct tcp_tfo_entry *e)
{
	uint32_t n = e->mss > 40 + 64 ? e->mss - 40u : TCP_DEFAULT_MSS - 40u;
	return n > t->mss ? t->mss : n;
}

uint32_t tcp_tfo_syn_room(struct tapir_tcp *t)
{
	struct tcp_tfo_entry *e = tfo_cache_find(t->s, &t->raddr);
	return e ? tfo_syn_room(t, e) : 0;
}

uint32_t tcp_tfo_syn_data(struct tapir_tcp *t)
{
	struct tcp_tfo_entry *e;
	uint32_t n;
	if (t->tfo_syn_data && t->backoff) {
		/* the SYN with data timed out: no more Fast Open to this
		 * server until it gives a cookie again */
		if ((e = tfo_cache_find(t->s, &t->raddr)) != NULL)
			e->len = 0;
		t->tfo_syn_data = false;
		STAT(t->s, tcp_tfo_fallback);
	}
	if (!tfo_client_on(t) || t->backoff || !t->snd.len ||
	    !(e = tfo_cache_find(t->s, &t->raddr)))
		return 0;
	n = tfo_syn_room(t, e);
	if (n > t->snd.len)
		n = t->snd.len;
	t->tfo_syn_data = true;
	return n;
}

void tcp_tfo_synack(struct tapir_tcp *t, const struct tp_seg *seg)
{
	uint32_t acked = seg->ack - (t->iss + 1);
	struct tcp_tfo_entry *e;
	if (tfo_client_on(t) && seg->tfo.len > 0)
		tfo_cache_put(t->s, &t->raddr, &seg->tfo, seg->mss ? seg->mss : TCP_DEFAULT_MSS);
	if (SEQ_LEQ(t->snd_max, t->iss + 1))
		return; /* no SYN of ours carried data */
	/* what it acknowledges of it, even when the SYN it answers is a
	 * retransmission without the data (the first's SYN,ACK was lost) */
	if (acked) {
		STAT(t->s, tcp_tfo_data_acked);
		ring_consume(&t->snd, acked > t->snd.len ? t->snd.len : acked);
	}
	if (SEQ_LT(seg->ack, t->snd_max)) {
		/* 4.2.2: the server took none (or not all) of it: the rest
		 * goes again once the connection is up; a server that sends
		 * no cookie does Fast Open no more */
		STAT(t->s, tcp_tfo_fallback);
		if (seg->tfo.len < 0 && (e = tfo_cache_find(t->s, &t->raddr)) != NULL)
			e->len = 0;
	}
	t->snd_nxt = seg->ack;
	t->tfo_syn_data = false;
}
