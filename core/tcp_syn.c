/* TCP opening: a segment for a listener (RFC 9293 3.10.7.2), with SYN
 * cookies when half-open connections fill the backlog (RFC 4987 3.6), and
 * a segment in SYN-SENT (3.10.7.3); and, for both, what the SYNs' options
 * agree (tcp_syn_agree). */
#include <errno.h>

#include "tcp_int.h"

/* RFC 3168 6.1.1: an ECN-setup SYN carries both ECE and CWR */
static bool ecn_setup_syn(const struct tp_seg *seg)
{
	return (seg->flags & (TAPIR_TH_ECE | TAPIR_TH_CWR)) == (TAPIR_TH_ECE | TAPIR_TH_CWR);
}

/* The peer's MSS, clamped: a tiny MSS would make us cut the stream into
 * thousands of segments (CVE-2019-11479). */
static uint16_t peer_mss(const struct tp_seg *seg)
{
	if (!seg->mss)
		return TCP_DEFAULT_MSS;
	return seg->mss < TCP_MIN_MSS ? TCP_MIN_MSS : seg->mss;
}

/* What the SYNs agreed, from the peer's SYN (or SYN,ACK) SEG: its MSS, and
 * each option only if both SYNs carried it (RFC 7323 2.2, 3.2 / RFC 2018
 * 2).  ECN (RFC 3168 6.1.1): a SYN,ACK with ECE alone answers our
 * ECN-setup SYN; a SYN -- to a listener, or in a simultaneous open -- asks
 * with both ECE and CWR. */
static void tcp_syn_agree(struct tapir_tcp *t, const struct tp_seg *seg)
{
	struct tapir_stack *s = t->s;
	struct tp_seg bare;
	if (t->noopt) { /* TCP_NOOPT: we offered nothing, so nothing is agreed */
		bare = *seg;
		bare.wscale = -1;
		bare.has_ts = bare.sack_ok = false;
		seg = &bare;
	}
	t->peer_mss = peer_mss(seg);
	t->ws_ok = s->cfg.tcp_window_scaling && seg->wscale >= 0;
	t->snd_wscale = t->ws_ok ? (uint8_t)seg->wscale : 0;
	t->ts_ok = s->cfg.tcp_timestamps && seg->has_ts;
	t->ts_recent = seg->tsval;
	t->ts_recent_age = s->now;
	t->sack_ok = s->cfg.tcp_sack && seg->sack_ok;
	if (seg->flags & TAPIR_TH_ACK)
		t->ecn_ok = t->ecn_syn && (seg->flags & (TAPIR_TH_ECE | TAPIR_TH_CWR)) == TAPIR_TH_ECE;
	else
		t->ecn_ok = s->cfg.tcp_ecn && ecn_setup_syn(seg);
	tcp_options_agreed(t);
	/* the profile's rcvbuf_mss: FreeBSD's tcp_mss_update rounds the
	 * receive buffer up to whole segments */
	if (s->cfg.profile.rcvbuf_mss && t->mss && t->rcvbuf > t->mss)
		t->rcvbuf = (t->rcvbuf + t->mss - 1) / t->mss * t->mss;
}

/* A new connection for listener L from SEG: addresses, the listener's
 * options, buffers.  NULL when out of sockets or memory. */
static struct tapir_tcp *tcp_child_new(struct tapir_tcp *l, const struct tp_seg *seg)
{
	struct tapir_tcp *c = tcp_alloc(l->s);
	if (!c)
		return NULL;
	c->laddr = seg->dst;
	c->lport = seg->dport;
	c->raddr = seg->src;
	c->rport = seg->sport;
	tcp_port_insert(c);
	c->nodelay = l->nodelay;
	c->keepalive = l->keepalive;
	c->keepidle = l->keepidle;
	c->keepintvl = l->keepintvl;
	c->keepcnt = l->keepcnt;
	c->linger = l->linger;
	c->rcvbuf = l->rcvbuf;
	c->rcv_auto = l->rcv_auto;
	c->snd_auto = l->snd_auto;
	c->sndbuf = l->sndbuf;
	c->user_mss = l->user_mss;
	c->user_timeout_ms = l->user_timeout_ms;
	c->noopt = l->noopt;
	c->ipo = l->ipo;
	c->cc_algo = l->cc_algo;
	c->handler = l->handler;
	c->handler_arg = l->handler_arg;
	c->tx_reserved = l->tx_reserved;
	c->passive = true;
	c->parent = l;
	if (tcp_buffers(c) < 0) {
		c->parent = NULL;
		tcp_free(c);
		return NULL;
	}
	return c;
}

/* ---- SYN cookies (RFC 4987 3.6) ----
 * When half-open connections fill the backlog (a SYN flood), the SYN,ACK's
 * sequence number carries the state instead: a keyed hash of the 4-tuple
 * and a 64-second counter, its low 2 bits an index into the MSS table.  An
 * ACK that returns it creates the connection; nothing is kept until then.
 * Options beyond the MSS (window scale, SACK, timestamps) are not kept. */
static const uint16_t cookie_mss[4] = {536, 1220, 1440, 1460};

static uint32_t cookie_hash(struct tapir_stack *s, const struct tp_seg *seg, uint32_t count)
{
	uint8_t b[TCP_TUPLE_MAX + 4];
	size_t n = tcp_tuple_bytes(b, &seg->dst, seg->dport, &seg->src, seg->sport);
	tapir_put32(b + n, count);
	return (uint32_t)tp_siphash(s->tcp->secret, b, n + 4) & ~3u;
}

static struct tcp_verdict tcp_send_cookie(struct tapir_tcp *l, const struct tp_seg *seg)
{
	struct tapir_stack *s = l->s;
	unsigned i = 3;
	uint32_t count = (uint32_t)(s->now / TAPIR_SEC(64));
	uint16_t mss = peer_mss(seg);
	while (i && cookie_mss[i] > mss)
		i--;
	STAT(s, tcp_syncookies_sent);
	tcp_send_synack_cookie(l, &seg->dst, seg->dport, &seg->src, seg->sport,
			       cookie_hash(s, seg, count) | i, seg->seq + 1);
	return tcp_taken();
}

/* An ACK to a listener that may answer a cookie: the connection, in
 * SYN-RECEIVED, that the ACK then makes ESTABLISHED, or NULL (*ROOMLESS
 * then says the cookie was good but there was no room for it).  Its
 * options are not agreed: the cookie kept none but the MSS. */
struct tapir_tcp *tcp_cookie_check(struct tapir_tcp *l, const struct tp_seg *seg, bool *roomless)
{
	struct tapir_stack *s = l->s;
	uint32_t cookie = seg->ack - 1, count = (uint32_t)(s->now / TAPIR_SEC(64));
	struct tapir_tcp *c;
	if ((cookie & ~3u) != cookie_hash(s, seg, count) &&
	    (cookie & ~3u) != cookie_hash(s, seg, count - 1))
		return NULL;
	if (l->acc_n >= (unsigned)l->backlog || !(c = tcp_child_new(l, seg))) {
		/* no room: dropped without a RST (the client believes it is
		 * connected), so its retransmission, with the same cookie,
		 * comes again */
		*roomless = true;
		STAT(s, tcp_listen_overflows);
		return NULL;
	}
	STAT(s, tcp_syncookies_ok);
	c->irs = seg->seq - 1;
	c->rcv_nxt = seg->seq;
	/* the window the cookie's SYN,ACK offered */
	c->rcv_adv = c->rcv_nxt + (c->rcv.cap < 65535 ? c->rcv.cap : 65535);
	c->iss = cookie;
	c->snd_una = cookie; /* the ACK in hand acknowledges the SYN below */
	c->snd_nxt = c->snd_max = cookie + 1;
	tcp_update_window(c, seg->seq, seg->ack, seg->wnd, true);
	c->peer_mss = cookie_mss[cookie & 3];
	tcp_options_prepare(c);
	tcp_options_agreed(c);
	cc_init(c);
	tcp_hash_insert(c);
	c->state = TAPIR_TCP_LISTEN;
	tcp_set_state(c, TAPIR_TCP_SYN_RECEIVED);
	c->qnext = l->synq; /* through the SYN queue, as any child */
	l->synq = c;
	l->syn_n++;
	STAT(s, tcp_passive_opens);
	return c;
}

/* The half-open bound of each listener: tcp_max_syn_backlog, but never
 * more than a quarter of the stack's TCBs, so that a flooded listener
 * leaves TCBs for other listeners and for the clients its cookies let in
 * (RFC 4987 3.6); at least one */
static unsigned tcp_syn_backlog(const struct tapir_stack *s)
{
	unsigned n = s->cfg.tcp_max_syn_backlog, quarter = s->cfg.tcp_sockets / 4;
	if (n > quarter)
		n = quarter;
	return n ? n : 1;
}

/* A SYN listener L has no room for (its half-open connections reach the
 * stack's tcp_max_syn_backlog, or the stack has no TCB left): dropped
 * silently as DROP says, so the client's retransmission tries again
 * (UNP 4.5) -- unless half-open connections that linger take the room: a
 * flood, whose SYN,ACKs are never answered (one was already
 * retransmitted).  Then a SYN cookie answers, so real clients still get in
 * (RFC 4987 3.6).  (A full accept queue never gets here: tcp_listen_input.) */
static struct tcp_verdict tcp_listen_full(struct tapir_tcp *l, const struct tp_seg *seg,
					  struct tcp_verdict drop)
{
	if (l->s->cfg.tcp_syncookies)
		for (struct tapir_tcp *h = l->synq; h; h = h->qnext)
			if (h->syn_rexmt)
				return tcp_send_cookie(l, seg);
	return drop;
}

/* RFC 9293 3.10.7.2: LISTEN (an ACK that returns a SYN cookie went to
 * its connection before: tcp_input) */
struct tcp_verdict tcp_listen_input(struct tapir_tcp *l, const struct tp_seg *seg)
{
	struct tapir_stack *s = l->s;
	struct tapir_tcp *c;

	if (seg->flags & TAPIR_TH_RST) /* first: an incoming RST is ignored */
		return tcp_dropped(TCP_ANS_NONE);
	/* the profile's listen_synack_drop: a SYN,ACK goes unanswered */
	if ((seg->flags & (TAPIR_TH_SYN | TAPIR_TH_ACK)) == (TAPIR_TH_SYN | TAPIR_TH_ACK) &&
	    s->cfg.profile.listen_synack_drop)
		return tcp_dropped(TCP_ANS_NONE);
	if (seg->flags & TAPIR_TH_ACK) /* second: an ACK gets <SEQ=SEG.ACK><CTL=RST> */
		return tcp_dropped(TCP_ANS_RST_ACKNO);
	if (!(seg->flags & TAPIR_TH_SYN))
		return tcp_dropped(TCP_ANS_NONE);
	if (tcp_addr_is_group(s, &seg->dst))
		return tcp_dropped(TCP_ANS_NONE); /* RFC 1122 4.2.3.10 */
	/* third: a SYN.  The two queues are bounded apart, as Linux does
	 * (UNP 4.5): a full accept queue means the application is behind, so
	 * the SYN is dropped silently and the client retries (no cookie: its
	 * connection would find no room either); half-open connections up to
	 * tcp_max_syn_backlog, or no TCB left, go to tcp_listen_full */
	if (l->acc_n >= (unsigned)l->backlog) {
		STAT(s, tcp_listen_overflows);
		return tcp_dropped(TCP_ANS_NONE);
	}
	if (l->syn_n >= tcp_syn_backlog(s)) {
		STAT(s, tcp_syn_queue_full);
		return tcp_listen_full(l, seg, tcp_dropped(TCP_ANS_NONE));
	}
	c = tcp_child_new(l, seg);
	if (!c)
		return tcp_listen_full(l, seg, (struct tcp_verdict){.reason = TAPIR_DROP_nomem});
	c->irs = seg->seq;
	c->rcv_nxt = seg->seq + 1;
	c->iss = tcp_isn(s, &c->laddr, c->lport, &c->raddr, c->rport);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	tcp_update_window(c, seg->seq, c->iss, seg->wnd, true);
	tcp_options_prepare(c); /* (our shift: before the agreement clears it) */
	tcp_syn_agree(c, seg);
	cc_init(c);
	/* data on a SYN to a listener is not taken (as Linux and FreeBSD do
	 * without TCP Fast Open): the peer sends it again after the SYN,ACK */
	c->qnext = l->synq;
	l->synq = c;
	l->syn_n++;
	tcp_hash_insert(c);
	c->state = TAPIR_TCP_LISTEN;
	tcp_set_state(c, TAPIR_TCP_SYN_RECEIVED);
	STAT(s, tcp_passive_opens);
	/* ... unless it comes with a valid Fast Open cookie (RFC 7413 4.2) */
	tcp_tfo_listen(l, c, seg);
	tcp_output(c);
	return tcp_taken();
}

/* Text on a SYN in SYN-SENT is "queued for processing after the
 * ESTABLISHED state has been reached" (RFC 9293 3.10.7.3): it waits in the
 * receive buffer as if out of order, so the SYN,ACK does not acknowledge it;
 * tcp_ooo_merge takes it in once the handshake is done. */
static void tcp_syn_data(struct tapir_tcp *t, const struct tp_seg *seg)
{
	uint32_t n = seg->len < t->rcv.cap ? seg->len : t->rcv.cap;
	if (n && tcp_ring_get(t, &t->rcv, n) == 0 && tcp_ooo_add(t, t->rcv_nxt, t->rcv_nxt + n))
		ring_write_at(&t->rcv, 0, seg->data, n);
}

/* RFC 9293 3.10.7.3: SYN-SENT */
struct tcp_verdict tcp_synsent_input(struct tapir_tcp *t, const struct tp_seg *seg)
{
	bool ack = seg->flags & TAPIR_TH_ACK;

	/* first: the ACK must cover our SYN and nothing more */
	if (ack && (SEQ_LEQ(seg->ack, t->iss) || SEQ_GT(seg->ack, t->snd_max)))
		return tcp_dropped(seg->flags & TAPIR_TH_RST ? TCP_ANS_NONE : TCP_ANS_RST_ACKNO);
	/* second: RST, believed only with an acceptable ACK (RFC 5961 3.2) */
	if (seg->flags & TAPIR_TH_RST) {
		if (!ack)
			return tcp_dropped(TCP_ANS_NONE);
		STAT(t->s, tcp_conn_refused);
		return tcp_ends(TP_OK, TCP_ANS_NONE, ECONNREFUSED);
	}
	/* fourth: SYN */
	if (!(seg->flags & TAPIR_TH_SYN))
		return tcp_dropped(TCP_ANS_NONE);
	t->irs = seg->seq;
	t->rcv_nxt = seg->seq + 1;
	/* our SYN offered the window of our buffer (never scaled, RFC 7323
	 * 2.2); only now do we know where it starts */
	t->rcv_adv = t->rcv_nxt + (t->rcv.cap < 65535 ? t->rcv.cap : 65535);
	tcp_syn_agree(t, seg);
	tcp_update_window(t, seg->seq, seg->ack, seg->wnd, true);
	cc_init(t);
	if (ack) {
		tcp_tfo_synack(t, seg); /* RFC 7413 4.2.2 */
		t->snd_una = seg->ack;
		tcp_handshake_done(t, seg);
		t->ack_now = true;
		tcp_notify(t, TAPIR_EV_CONNECTED | TAPIR_EV_WRITE);
		/* data or FIN on the SYN,ACK: "continue processing at the sixth
		 * step" (RFC 9293 3.10.7.3), i.e. as any segment now */
		if (seg->len || (seg->flags & TAPIR_TH_FIN)) {
			struct tp_seg rest = *seg;
			rest.flags &= (uint8_t)~TAPIR_TH_SYN;
			rest.seq++;
			return tcp_sync_input(t, &rest);
		}
		tcp_output(t);
		return tcp_taken();
	}
	/* simultaneous open (RFC 9293 3.5, figure 8): answer SYN,ACK */
	tcp_syn_data(t, seg);
	tcp_set_state(t, TAPIR_TCP_SYN_RECEIVED);
	t->snd_nxt = t->iss;
	t->t_rexmt = TAPIR_TIME_NEVER;
	tcp_output(t);
	return tcp_taken();
}
