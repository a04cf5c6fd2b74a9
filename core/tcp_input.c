/* TCP input: RFC 9293 3.10.7 "SEGMENT ARRIVES", step by step in the RFC's
 * order, with RFC 5961's defences against blind attacks.  Each step is a
 * function or a marked block, named after the RFC's words. */
#include <errno.h>

#include "tcp_int.h"

struct tp_seg {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack, wnd;
	uint8_t flags;
	const uint8_t *data;
	uint32_t len;  /* data bytes */
	uint16_t mss;  /* the MSS option, 0 if absent */
	int wscale;    /* the window scale option, -1 if absent */
	bool sack_ok, has_ts;
	uint32_t tsval, tsecr;
	unsigned nsack;
	uint32_t sack[4][2];
	uint8_t ecn;   /* the IP header's ECN field (RFC 3168 5): 3 is CE */
};

/* RFC 3168 6.1.1: an ECN-setup SYN carries both ECE and CWR */
static bool ecn_setup_syn(const struct tp_seg *seg)
{
	return (seg->flags & (TAPIR_TH_ECE | TAPIR_TH_CWR)) == (TAPIR_TH_ECE | TAPIR_TH_CWR);
}

/* RFC 9293 3.2: options.  A malformed list ends the parse; the segment is
 * still processed (the RFC asks to be liberal in what is accepted). */
static void tcp_parse_options(const uint8_t *o, size_t len, struct tp_seg *seg)
{
	size_t i = 0;
	while (i < len) {
		uint8_t kind = o[i];
		if (kind == 0)
			return;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= len || o[i + 1] < 2 || i + o[i + 1] > len)
			return;
		if (kind == 2 && o[i + 1] == 4)
			seg->mss = tapir_get16(o + i + 2);
		else if (kind == 3 && o[i + 1] == 3) /* RFC 7323 2.3: above 14 means 14 */
			seg->wscale = o[i + 2] > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : o[i + 2];
		else if (kind == 4 && o[i + 1] == 2)
			seg->sack_ok = true;
		else if (kind == 8 && o[i + 1] == 10) {
			seg->has_ts = true;
			seg->tsval = tapir_get32(o + i + 2);
			seg->tsecr = tapir_get32(o + i + 6);
		} else if (kind == 5 && o[i + 1] >= 10 && (o[i + 1] - 2) % 8 == 0) {
			for (size_t b = i + 2; b + 8 <= i + o[i + 1] && seg->nsack < 4; b += 8) {
				seg->sack[seg->nsack][0] = tapir_get32(o + b);
				seg->sack[seg->nsack][1] = tapir_get32(o + b + 4);
				seg->nsack++;
			}
		}
		i += o[i + 1];
	}
}

/* The peer's MSS, clamped: a tiny MSS would make us cut the stream into
 * thousands of segments (CVE-2019-11479). */
static uint16_t peer_mss(const struct tp_seg *seg)
{
	if (!seg->mss)
		return TCP_DEFAULT_MSS;
	return seg->mss < TCP_MIN_MSS ? TCP_MIN_MSS : seg->mss;
}

/* RFC 5961 7: challenge ACKs are rate limited, here per stack and second */
static void tcp_challenge_ack(struct tapir_tcp *t)
{
	struct tp_tcp *tc = t->s->tcp;
	if (t->s->now >= tc->challenge_at + TAPIR_SEC(1)) {
		tc->challenge_at = t->s->now;
		tc->challenge_n = 0;
	}
	if (tc->challenge_n >= t->s->cfg.tcp_challenge_acks)
		return;
	tc->challenge_n++;
	STAT(t->s, tcp_challenge_acks);
	tcp_send_ack(t);
}

/* RFC 9293 3.10.7.1: no connection.  Never answer a RST. */
static int tcp_reply_closed(struct tapir_stack *s, const struct tp_seg *seg)
{
	uint32_t seglen = seg->len + !!(seg->flags & TAPIR_TH_SYN) + !!(seg->flags & TAPIR_TH_FIN);
	if (seg->flags & TAPIR_TH_RST)
		return TAPIR_DROP_tcp_no_socket;
	STAT(s, tcp_rst_sent);
	if (seg->flags & TAPIR_TH_ACK)
		tcp_respond(s, seg->dst, seg->dport, seg->src, seg->sport, seg->ack, 0, TAPIR_TH_RST);
	else
		tcp_respond(s, seg->dst, seg->dport, seg->src, seg->sport, 0, seg->seq + seglen,
			    TAPIR_TH_RST | TAPIR_TH_ACK);
	return TAPIR_DROP_tcp_no_socket;
}

static int tcp_sync_input(struct tapir_tcp *t, struct tp_seg *seg);

static bool ooo_add(struct tapir_tcp *t, uint32_t start, uint32_t end);

/* RFC 2883: data received twice, [START, END), is reported in the first
 * SACK block of the next ACK (a D-SACK), at once, so that the sender can
 * tell its retransmission was not needed.  Only on SACK connections. */
static void tcp_dsack(struct tapir_tcp *t, uint32_t start, uint32_t end)
{
	if (!t->sack_ok || !SEQ_LT(start, end))
		return;
	t->dsack = true;
	t->dsack_start = start;
	t->dsack_end = end;
	t->ack_now = true;
}

/* Text on a SYN in SYN-SENT is "queued for processing after the
 * ESTABLISHED state has been reached" (RFC 9293 3.10.7.3): it waits in the
 * receive buffer as if out of order, so the SYN,ACK does not acknowledge it;
 * tcp_ooo_merge takes it in once the handshake is done. */
static void tcp_syn_data(struct tapir_tcp *t, const struct tp_seg *seg)
{
	uint32_t n = seg->len < t->rcv.cap ? seg->len : t->rcv.cap;
	if (n && ooo_add(t, t->rcv_nxt, t->rcv_nxt + n))
		ring_write_at(&t->rcv, 0, seg->data, n);
}

/* Takes in out-of-order ranges that now start at RCV.NXT; true if any. */
static bool tcp_ooo_merge(struct tapir_tcp *t)
{
	bool merged = false;
	while (t->nooo && SEQ_LEQ(t->ooo[0].start, t->rcv_nxt)) {
		if (SEQ_GT(t->ooo[0].end, t->rcv_nxt)) {
			t->rcv.len += t->ooo[0].end - t->rcv_nxt;
			t->rcv_nxt = t->ooo[0].end;
		}
		memmove(&t->ooo[0], &t->ooo[1], (t->nooo - 1) * sizeof(t->ooo[0]));
		t->nooo--;
		merged = true;
	}
	return merged;
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
	c->bound = true;
	c->nodelay = l->nodelay;
	c->keepalive = l->keepalive;
	c->keepidle = l->keepidle;
	c->keepintvl = l->keepintvl;
	c->keepcnt = l->keepcnt;
	c->linger = l->linger;
	c->rcvbuf = l->rcvbuf;
	c->sndbuf = l->sndbuf;
	c->user_mss = l->user_mss;
	c->user_timeout_ms = l->user_timeout_ms;
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
	uint8_t b[16];
	tapir_put32(b, seg->dst);
	tapir_put16(b + 4, seg->dport);
	tapir_put32(b + 6, seg->src);
	tapir_put16(b + 10, seg->sport);
	tapir_put32(b + 12, count);
	return (uint32_t)tp_siphash(s->tcp->secret, b, sizeof(b)) & ~3u;
}

static int tcp_send_cookie(struct tapir_tcp *l, const struct tp_seg *seg)
{
	struct tapir_stack *s = l->s;
	unsigned i = 3;
	uint32_t count = (uint32_t)(s->now / TAPIR_SEC(64));
	uint16_t mss = peer_mss(seg);
	while (i && cookie_mss[i] > mss)
		i--;
	STAT(s, tcp_syncookies_sent);
	tcp_send_synack_cookie(s, seg->dst, seg->dport, seg->src, seg->sport,
			       cookie_hash(s, seg, count) | i, seg->seq + 1, l->rcvbuf);
	return TP_OK;
}

/* An ACK to a listener that may answer a cookie: the connection, at once
 * ESTABLISHED (and queued to accept), or NULL. */
static struct tapir_tcp *tcp_cookie_check(struct tapir_tcp *l, struct tp_seg *seg)
{
	struct tapir_stack *s = l->s;
	uint32_t cookie = seg->ack - 1, count = (uint32_t)(s->now / TAPIR_SEC(64));
	struct tapir_tcp *c;
	if ((cookie & ~3u) != cookie_hash(s, seg, count) &&
	    (cookie & ~3u) != cookie_hash(s, seg, count - 1))
		return NULL;
	if (l->acc_n >= (unsigned)l->backlog || !(c = tcp_child_new(l, seg)))
		return NULL; /* no room: the client's data will come again */
	STAT(s, tcp_syncookies_ok);
	c->irs = seg->seq - 1;
	c->rcv_nxt = seg->seq;
	/* the window the cookie's SYN,ACK offered */
	c->rcv_adv = c->rcv_nxt + (c->rcv.cap < 65535 ? c->rcv.cap : 65535);
	c->iss = cookie;
	c->snd_una = cookie; /* the ACK in hand acknowledges the SYN below */
	c->snd_nxt = c->snd_max = cookie + 1;
	c->snd_wnd = c->max_sndwnd = seg->wnd;
	c->snd_wl1 = seg->seq;
	c->snd_wl2 = seg->ack;
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

/* RFC 9293 3.10.7.2: LISTEN */
static int tcp_listen_input(struct tapir_tcp *l, struct tp_seg *seg)
{
	struct tapir_stack *s = l->s;
	struct tapir_tcp *c;

	if (seg->flags & TAPIR_TH_RST) /* first: an incoming RST is ignored */
		return TAPIR_DROP_tcp_dropped;
	if (seg->flags & TAPIR_TH_ACK) { /* second: an ACK gets <SEQ=SEG.ACK><CTL=RST> */
		if (!(seg->flags & TAPIR_TH_SYN) && s->cfg.tcp_syncookies &&
		    (c = tcp_cookie_check(l, seg)) != NULL)
			return tcp_sync_input(c, seg); /* it completes the handshake */
		STAT(s, tcp_rst_sent);
		tcp_respond(s, seg->dst, seg->dport, seg->src, seg->sport, seg->ack, 0, TAPIR_TH_RST);
		return TAPIR_DROP_tcp_dropped;
	}
	if (!(seg->flags & TAPIR_TH_SYN))
		return TAPIR_DROP_tcp_dropped;
	if (ipv4_is_broadcast(s, seg->dst) || tapir_ipv4_is_multicast(seg->dst))
		return TAPIR_DROP_tcp_dropped; /* RFC 1122 4.2.3.10 */
	/* third: a SYN.  A full backlog (SYN-RECEIVED + accept queue) drops
	 * it silently, so the client's retransmission tries again (UNP 4.5) --
	 * unless half-open connections that linger fill it: a flood, whose
	 * SYN,ACKs are never answered (one was already retransmitted).  Then
	 * a SYN cookie answers, so real clients still get in (RFC 4987). */
	if (l->syn_n + l->acc_n >= (unsigned)l->backlog) {
		STAT(s, tcp_syn_queue_full);
		if (s->cfg.tcp_syncookies && l->acc_n < (unsigned)l->backlog)
			for (struct tapir_tcp *h = l->synq; h; h = h->qnext)
				if (h->syn_rexmt)
					return tcp_send_cookie(l, seg);
		return TAPIR_DROP_tcp_dropped;
	}
	c = tcp_child_new(l, seg);
	if (!c)
		return TAPIR_DROP_nomem;
	c->irs = seg->seq;
	c->rcv_nxt = seg->seq + 1;
	c->iss = tcp_isn(s, c->laddr, c->lport, c->raddr, c->rport);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->snd_wnd = c->max_sndwnd = seg->wnd;
	c->snd_wl1 = seg->seq;
	c->snd_wl2 = c->iss;
	c->peer_mss = peer_mss(seg);
	/* RFC 7323 / RFC 2018: each option only if the SYN offered it */
	c->ws_ok = s->cfg.tcp_window_scaling && seg->wscale >= 0;
	c->snd_wscale = c->ws_ok ? (uint8_t)seg->wscale : 0;
	c->ts_ok = s->cfg.tcp_timestamps && seg->has_ts;
	c->ts_recent = seg->tsval;
	c->ts_recent_age = s->now;
	c->sack_ok = s->cfg.tcp_sack && seg->sack_ok;
	c->ecn_ok = s->cfg.tcp_ecn && ecn_setup_syn(seg); /* RFC 3168 6.1.1 */
	tcp_options_prepare(c);
	tcp_options_agreed(c);
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
	tcp_output(c);
	return TP_OK;
}

/* RFC 6298 5.7: a handshake whose SYN timed out, with no RTT sample, goes
 * on with an RTO of 3 s rather than the 1 s that was too short. */
static void tcp_syn_rto(struct tapir_tcp *t)
{
	if (t->syn_rexmt && !t->srtt && t->rto < TAPIR_SEC(3))
		t->rto = TAPIR_SEC(3);
}

/* RFC 9293 3.10.7.3: SYN-SENT */
static int tcp_synsent_input(struct tapir_tcp *t, const struct tp_seg *seg)
{
	struct tapir_stack *s = t->s;
	bool ack = seg->flags & TAPIR_TH_ACK;

	/* first: the ACK must cover our SYN and nothing more */
	if (ack && (SEQ_LEQ(seg->ack, t->iss) || SEQ_GT(seg->ack, t->snd_max))) {
		if (!(seg->flags & TAPIR_TH_RST)) {
			STAT(s, tcp_rst_sent);
			tcp_respond(s, t->laddr, t->lport, t->raddr, t->rport, seg->ack, 0, TAPIR_TH_RST);
		}
		return TAPIR_DROP_tcp_dropped;
	}
	/* second: RST, believed only with an acceptable ACK (RFC 5961 3.2) */
	if (seg->flags & TAPIR_TH_RST) {
		if (!ack)
			return TAPIR_DROP_tcp_dropped;
		STAT(s, tcp_conn_refused);
		tcp_drop(t, ECONNREFUSED);
		return TP_OK;
	}
	/* fourth: SYN */
	if (!(seg->flags & TAPIR_TH_SYN))
		return TAPIR_DROP_tcp_dropped;
	t->irs = seg->seq;
	t->rcv_nxt = seg->seq + 1;
	/* our SYN offered the window of our buffer (never scaled, RFC 7323
	 * 2.2); only now do we know where it starts */
	t->rcv_adv = t->rcv_nxt + (t->rcv.cap < 65535 ? t->rcv.cap : 65535);
	t->peer_mss = peer_mss(seg);
	/* RFC 7323 2.2, 3.2 / RFC 2018 2: on when both SYNs carried it */
	t->ws_ok = s->cfg.tcp_window_scaling && seg->wscale >= 0;
	t->snd_wscale = t->ws_ok ? (uint8_t)seg->wscale : 0;
	t->ts_ok = s->cfg.tcp_timestamps && seg->has_ts;
	t->ts_recent = seg->tsval;
	t->ts_recent_age = s->now;
	t->sack_ok = s->cfg.tcp_sack && seg->sack_ok;
	/* RFC 3168 6.1.1: a SYN,ACK with ECE alone answers our ECN-setup
	 * SYN; in a simultaneous open the peer's SYN asks as any SYN does */
	t->ecn_ok = ack ? t->ecn_syn && (seg->flags & (TAPIR_TH_ECE | TAPIR_TH_CWR)) == TAPIR_TH_ECE
			: s->cfg.tcp_ecn && ecn_setup_syn(seg);
	tcp_options_agreed(t);
	t->snd_wnd = t->max_sndwnd = seg->wnd;
	t->snd_wl1 = seg->seq;
	t->snd_wl2 = seg->ack;
	cc_init(t);
	if (ack) {
		t->snd_una = seg->ack;
		if (t->timing) { /* the SYN was not retransmitted: an RTT sample */
			tcp_rtt_sample(t, s->now - t->rtt_start);
			t->timing = false;
		}
		t->t_rexmt = TAPIR_TIME_NEVER;
		t->backoff = 0;
		tcp_syn_rto(t);
		tcp_set_state(t, TAPIR_TCP_ESTABLISHED);
		t->last_rx = s->now;
		tcp_keep_arm(t);
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
		return TP_OK;
	}
	/* simultaneous open (RFC 9293 3.5, figure 8): answer SYN,ACK */
	tcp_syn_data(t, seg);
	tcp_set_state(t, TAPIR_TCP_SYN_RECEIVED);
	t->snd_nxt = t->iss;
	t->t_rexmt = TAPIR_TIME_NEVER;
	tcp_output(t);
	return TP_OK;
}

static void tcp_fin_in_order(struct tapir_tcp *t)
{
	t->rcv_fin = true;
	t->rcv_nxt++;
	t->ack_now = true;
	switch (t->state) {
	case TAPIR_TCP_SYN_RECEIVED:
	case TAPIR_TCP_ESTABLISHED:
		tcp_set_state(t, TAPIR_TCP_CLOSE_WAIT);
		break;
	case TAPIR_TCP_FIN_WAIT_1:
		/* our FIN not yet acknowledged: a simultaneous close */
		tcp_set_state(t, TAPIR_TCP_CLOSING);
		break;
	case TAPIR_TCP_FIN_WAIT_2:
		tcp_enter_time_wait(t);
		break;
	default:
		break;
	}
	tcp_notify(t, TAPIR_EV_READ);
}

/* Out-of-order data sits in the ring beyond the in-order bytes; these
 * ranges say which parts are filled.  Returns false when full. */
static bool ooo_add(struct tapir_tcp *t, uint32_t start, uint32_t end)
{
	return tp_range_add(t->ooo, &t->nooo, TCP_OOO_MAX, start, end);
}

/* RFC 9293 3.10.7.4 seventh: segment text */
static void tcp_data(struct tapir_tcp *t, const struct tp_seg *seg, uint32_t seq,
		     const uint8_t *data, uint32_t len)
{
	struct tapir_stack *s = t->s;
	uint32_t room = t->rcv.cap - t->rcv.len;

	if (seq == t->rcv_nxt) {
		/* RFC 5681 4.2: a segment that fills all or part of a gap is
		 * ACKed at once */
		bool filled = t->nooo > 0;
		if (len > room)
			len = room;
		ring_write_at(&t->rcv, t->rcv.len, data, len);
		t->rcv.len += len;
		t->rcv_nxt += len;
		/* the new bytes may reach ranges that arrived early */
		tcp_ooo_merge(t);
		/* RFC 5681 4.2 / RFC 1122 4.2.3.2 ask for an ACK at least every
		 * second full-sized segment; like Linux and FreeBSD we ACK every
		 * second segment of any size, a filled hole at once, and delay
		 * the rest */
		t->unacked_segs++;
		if (filled || t->unacked_segs >= 2)
			t->ack_now = true;
		else if (t->t_delack == TAPIR_TIME_NEVER)
			TP_ARM(s, t->t_delack, s->now + s->cfg.tcp_delack_us);
		tcp_notify(t, TAPIR_EV_READ);
	} else {
		uint32_t off = seq - t->rcv_nxt;
		if (off >= room)
			return;
		if (len > room - off)
			len = room - off;
		for (unsigned i = 0; i < t->nooo; i++)
			if (SEQ_LEQ(t->ooo[i].start, seq) && SEQ_LEQ(seq + len, t->ooo[i].end))
				tcp_dsack(t, seq, seq + len); /* held already */
		if (ooo_add(t, seq, seq + len)) {
			ring_write_at(&t->rcv, t->rcv.len + off, data, len);
			STAT(s, tcp_ooo_queued);
			/* the block holding this segment goes first in SACKs */
			for (unsigned i = 0; i < t->nooo; i++)
				if (SEQ_LEQ(t->ooo[i].start, seq) && SEQ_LT(seq, t->ooo[i].end))
					t->ooo_last = t->ooo[i].start;
		}
		t->ack_now = true; /* RFC 5681 4.2: a duplicate ACK at once */
	}
	(void)seg;
}

/* RFC 9293 3.10.7.4: every state from SYN-RECEIVED on */
static int tcp_sync_input(struct tapir_tcp *t, struct tp_seg *seg)
{
	struct tapir_stack *s = t->s;
	uint32_t wnd = SEQ_GT(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
	uint32_t seq = seg->seq, len = seg->len;
	const uint8_t *data = seg->data;
	uint8_t flags = seg->flags;
	uint32_t seglen = len + !!(flags & TAPIR_TH_SYN) + !!(flags & TAPIR_TH_FIN);
	/* RFC 7323 2.3: the window field of a non-SYN segment is scaled */
	uint32_t swnd = seg->wnd << (t->ws_ok && !(flags & TAPIR_TH_SYN) ? t->snd_wscale : 0);
	bool ok;

	/* A retransmitted SYN in SYN-RECEIVED means our SYN,ACK was lost:
	 * send it again rather than the RFC's bare ACK. */
	if (t->state == TAPIR_TCP_SYN_RECEIVED && (flags & TAPIR_TH_SYN) && !(flags & (TAPIR_TH_ACK | TAPIR_TH_RST)) &&
	    seq == t->irs) {
		t->snd_nxt = t->iss;
		tcp_output(t);
		return TP_OK;
	}

	if (t->ts_ok && !(flags & TAPIR_TH_RST)) {
		/* RFC 7323 3.2: once agreed, a segment without TSopt is dropped */
		if (!seg->has_ts)
			return TAPIR_DROP_tcp_dropped;
		/* RFC 7323 5.3 R1 (PAWS): an older timestamp than TS.Recent is
		 * a duplicate from an earlier wrap; unless TS.Recent is over 24
		 * days old (5.5), it gets an ACK and is dropped */
		if ((int32_t)(seg->tsval - t->ts_recent) < 0) {
			if (s->now - t->ts_recent_age <= TCP_PAWS_IDLE) {
				tcp_send_ack(t);
				return TAPIR_DROP_tcp_dropped;
			}
			t->ts_recent = seg->tsval;
			t->ts_recent_age = s->now;
		}
	}

	/* first: is the sequence number acceptable? */
	if (seglen == 0)
		ok = wnd ? SEQ_LEQ(t->rcv_nxt, seq) && SEQ_LT(seq, t->rcv_nxt + wnd)
			 : seq == t->rcv_nxt;
	else
		ok = wnd && ((SEQ_LEQ(t->rcv_nxt, seq) && SEQ_LT(seq, t->rcv_nxt + wnd)) ||
			     (SEQ_LEQ(t->rcv_nxt, seq + seglen - 1) &&
			      SEQ_LT(seq + seglen - 1, t->rcv_nxt + wnd)));
	/* a zero window still takes ACKs and RSTs at RCV.NXT */
	if (!ok && wnd == 0 && seq == t->rcv_nxt) {
		ok = true;
		len = 0;
		flags &= (uint8_t)~TAPIR_TH_FIN;
		t->ack_now = true; /* what we could not take gets an ACK: it tells
				    * a zero-window prober our window */
	}
	if (!ok) {
		if (!(flags & TAPIR_TH_RST)) {
			if (len && SEQ_LEQ(seq + (flags & TAPIR_TH_SYN ? 1 : 0) + len, t->rcv_nxt))
				tcp_dsack(t, seq + (flags & TAPIR_TH_SYN ? 1 : 0), seq + (flags & TAPIR_TH_SYN ? 1 : 0) + len);
			tcp_send_ack(t);
		}
		return TAPIR_DROP_tcp_dropped;
	}

	/* RFC 7323 4.3 (2): remember the newest timestamp of a segment that
	 * starts at or before what we last acknowledged */
	if (t->ts_ok && seg->has_ts && SEQ_LEQ(seq, t->last_ack_sent) &&
	    (int32_t)(seg->tsval - t->ts_recent) >= 0) {
		t->ts_recent = seg->tsval;
		t->ts_recent_age = s->now;
	}

	/* second: RST (RFC 5961 3.2): only an exact RCV.NXT resets; anything
	 * else in the window gets a challenge ACK */
	if (flags & TAPIR_TH_RST) {
		if (seq != t->rcv_nxt) {
			tcp_challenge_ack(t);
			return TAPIR_DROP_tcp_dropped;
		}
		switch (t->state) {
		case TAPIR_TCP_SYN_RECEIVED:
			if (t->passive) { /* back to LISTEN: forget the embryo */
				tcp_drop(t, 0);
				return TP_OK;
			}
			STAT(s, tcp_conn_refused);
			tcp_drop(t, ECONNREFUSED);
			return TP_OK;
		case TAPIR_TCP_ESTABLISHED:
		case TAPIR_TCP_FIN_WAIT_1:
		case TAPIR_TCP_FIN_WAIT_2:
		case TAPIR_TCP_CLOSE_WAIT:
			tcp_drop(t, ECONNRESET);
			return TP_OK;
		default: /* CLOSING, LAST-ACK, TIME-WAIT */
			tcp_drop(t, 0);
			return TP_OK;
		}
	}

	/* Trim what was received before and what lies beyond the window. */
	if (SEQ_LT(seq, t->rcv_nxt)) {
		uint32_t d = t->rcv_nxt - seq;
		if (flags & TAPIR_TH_SYN) {
			flags &= (uint8_t)~TAPIR_TH_SYN;
			seq++;
			d--;
		}
		if (!(flags & TAPIR_TH_RST))
			tcp_dsack(t, seq, seq + (d < len ? d : len)); /* the part had before */
		if (d >= len) {
			if (d > len) /* the FIN, too, was received before */
				flags &= (uint8_t)~TAPIR_TH_FIN;
			data += len;
			seq += len;
			len = 0;
		} else {
			data += d;
			seq += d;
			len -= d;
		}
	}
	if (len && SEQ_GT(seq + len, t->rcv_nxt + wnd)) {
		len = t->rcv_nxt + wnd - seq;
		flags &= (uint8_t)~TAPIR_TH_FIN;
		t->ack_now = true;
	}

	/* fourth: SYN in a synchronized state (RFC 5961 4.2: challenge ACK) */
	if (flags & TAPIR_TH_SYN) {
		if (t->state == TAPIR_TCP_SYN_RECEIVED && t->passive) {
			tcp_drop(t, 0);
			return TAPIR_DROP_tcp_dropped;
		}
		tcp_challenge_ack(t);
		return TAPIR_DROP_tcp_dropped;
	}

	/* fifth: the ACK field */
	if (!(flags & TAPIR_TH_ACK))
		return TAPIR_DROP_tcp_dropped;
	/* RFC 5961 5.2: acceptable is SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT
	 * (SND.MAX here, as after a timeout SND.NXT went back) */
	if (SEQ_GT(seg->ack, t->snd_max) || SEQ_LT(seg->ack, t->snd_una - t->max_sndwnd)) {
		tcp_challenge_ack(t);
		return TAPIR_DROP_tcp_dropped;
	}
	/* RFC 3168 6.1.3: a CE mark is echoed (ECE on every ACK) until the
	 * sender says CWR; ACKed at once, so the sender hears of it soon */
	if (t->ecn_ok) {
		if (flags & TAPIR_TH_CWR)
			t->ece_pending = false;
		if (seg->ecn == 3) {
			STAT(s, tcp_ecn_ce_rx);
			t->ece_pending = true;
			t->ack_now = true;
		}
	}
	if (t->state == TAPIR_TCP_SYN_RECEIVED) {
		if (!SEQ_GT(seg->ack, t->snd_una)) {
			STAT(s, tcp_rst_sent);
			tcp_respond(s, t->laddr, t->lport, t->raddr, t->rport, seg->ack, 0, TAPIR_TH_RST);
			return TAPIR_DROP_tcp_dropped;
		}
		t->snd_una = t->iss + 1; /* our SYN is acknowledged */
		if (t->timing) {
			tcp_rtt_sample(t, s->now - t->rtt_start);
			t->timing = false;
		}
		t->backoff = 0;
		t->t_rexmt = TAPIR_TIME_NEVER;
		tcp_syn_rto(t);
		t->snd_wnd = swnd;
		if (swnd > t->max_sndwnd)
			t->max_sndwnd = swnd;
		t->snd_wl1 = seq;
		t->snd_wl2 = seg->ack;
		tcp_set_state(t, TAPIR_TCP_ESTABLISHED);
		tcp_keep_arm(t);
		if (tcp_ooo_merge(t) && t->t_delack == TAPIR_TIME_NEVER)
			/* text queued from the SYN (3.10.7.3): ACKed as any data */
			TP_ARM(s, t->t_delack, s->now + s->cfg.tcp_delack_us);
		if (t->parent)
			tcp_child_established(t);
		else
			tcp_notify(t, TAPIR_EV_CONNECTED | TAPIR_EV_WRITE);
	}
	uint32_t newly = t->sack_ok && seg->nsack ? tcp_sack_update(t, seg->sack, seg->nsack) : 0;
	bool advanced = SEQ_GT(seg->ack, t->snd_una);
	if (advanced) {
		uint32_t acked = seg->ack - t->snd_una, data_acked = acked;
		bool rexmit, timed_out = t->backoff > 0;
		if (data_acked > t->snd.len) /* the rest is our FIN */
			data_acked = t->snd.len;
		ring_consume(&t->snd, data_acked);
		t->snd_una = seg->ack;
		if (SEQ_LT(t->snd_nxt, t->snd_una))
			t->snd_nxt = t->snd_una;
		/* RFC 6298 3 and Karn's rule: sample only untouched segments */
		if (t->timing && SEQ_GT(seg->ack, t->rtt_seq)) {
			tcp_rtt_sample(t, s->now - t->rtt_start);
			t->timing = false;
		} else if (timed_out && t->ts_ok && seg->has_ts && seg->tsecr) {
			/* RFC 7323 4 (RTTM): the echoed timestamp tells which
			 * transmission this ACK answers, so a sample survives
			 * the retransmissions Karn's rule must ignore */
			uint32_t ms = tcp_ts_now(t) - seg->tsecr;
			if (ms < 60000)
				tcp_rtt_sample(t, TAPIR_MS(ms));
		}
		if (t->sack_ok)
			tcp_sack_trim(t);
		t->backoff = 0;
		t->first_rexmt = 0;
		/* RFC 6298 5.2/5.3 */
		if (t->snd_una == t->snd_max)
			t->t_rexmt = TAPIR_TIME_NEVER;
		else
			tcp_rexmt_arm(t);
		cc_spurious_check(t, seg->ack, seg->has_ts, seg->tsecr);
		rexmit = cc_ack(t, acked);
		/* a partial ACK without SACK: the segment at SND.UNA (RFC 6582
		 * 3.2 (5)) */
		if (rexmit && !t->sack_ok)
			tcp_resend(t, t->snd_una, t->mss);
		tcp_notify(t, TAPIR_EV_WRITE);
	}
	if (t->sack_ok) {
		/* RFC 6675 2: any ACK that SACKs new data is a duplicate,
		 * even if it moves SND.UNA or the window; one without SACK
		 * blocks (a peer that agreed to SACK but sends none) when it
		 * is one by RFC 5681's rules */
		bool dup = newly || (!seg->nsack && !advanced && seg->ack == t->snd_una &&
				     len == 0 && !(flags & TAPIR_TH_FIN) && swnd == t->snd_wnd && swnd);
		if (advanced || dup)
			tcp_sack_ack(t, dup, advanced);
	} else if (!advanced && seg->ack == t->snd_una && len == 0 && !(flags & TAPIR_TH_FIN) &&
		   swnd == t->snd_wnd && swnd && t->snd_max != t->snd_una) {
		/* RFC 5681 2: a duplicate ACK.  Not behind a zero window: there
		 * the answers to persist probes look alike and mean no loss. */
		if (cc_dupack(t)) { /* RFC 5681 3.2: fast retransmit */
			tcp_resend(t, t->snd_una, t->mss);
			STAT(s, tcp_fast_retransmits);
		}
	}
	/* RFC 3168 6.1.2: the network said congestion, not loss */
	if (t->ecn_ok && (flags & TAPIR_TH_ECE))
		cc_ecn(t);
	/* RFC 9293 3.10.7.4: update the send window from the newest segment */
	if (SEQ_LT(t->snd_wl1, seq) || (t->snd_wl1 == seq && SEQ_LEQ(t->snd_wl2, seg->ack))) {
		t->snd_wnd = swnd;
		if (swnd > t->max_sndwnd)
			t->max_sndwnd = swnd;
		t->snd_wl1 = seq;
		t->snd_wl2 = seg->ack;
		if (swnd && t->t_persist != TAPIR_TIME_NEVER) {
			t->t_persist = TAPIR_TIME_NEVER;
			t->backoff = 0;
		}
	}
	{
		bool fin_acked = tcp_fin_acked(t);
		switch (t->state) {
		case TAPIR_TCP_FIN_WAIT_1:
			if (fin_acked) {
				tcp_set_state(t, TAPIR_TCP_FIN_WAIT_2);
				if (t->user_closed)
					TP_ARM(s, t->t_2msl, s->now + s->cfg.tcp_fin_timeout_us);
			}
			break;
		case TAPIR_TCP_CLOSING:
			if (fin_acked)
				tcp_enter_time_wait(t);
			return TP_OK;
		case TAPIR_TCP_LAST_ACK:
			if (fin_acked) {
				tcp_drop(t, 0);
				return TP_OK;
			}
			break;
		case TAPIR_TCP_TIME_WAIT:
			/* a retransmitted FIN: acknowledge it, restart 2MSL */
			if (flags & TAPIR_TH_FIN) {
				TP_ARM(s, t->t_2msl, s->now + 2 * s->cfg.tcp_msl_us);
				tcp_send_ack(t);
			}
			return TP_OK;
		default:
			break;
		}
	}

	/* sixth: URG is ignored (RFC 6093 recommends applications not use it) */

	/* seventh: text */
	if (len && (t->state == TAPIR_TCP_ESTABLISHED || t->state == TAPIR_TCP_FIN_WAIT_1 ||
		    t->state == TAPIR_TCP_FIN_WAIT_2)) {
		if (t->user_closed) {
			/* nobody will read it: RFC 1122 4.2.2.13, reset */
			tcp_send_rst(t);
			tcp_drop(t, 0);
			return TP_OK;
		}
		tcp_data(t, seg, seq, data, len);
	}

	/* eighth: FIN, once every byte before it is in; one that came early
	 * waits for the hole before it to fill */
	if (flags & TAPIR_TH_FIN) {
		t->rcv_fin_seq = seq + len;
		t->fin_pending = true;
		t->ack_now = true;
	}
	if (t->fin_pending && !t->rcv_fin && t->rcv_nxt == t->rcv_fin_seq) {
		t->fin_pending = false;
		tcp_fin_in_order(t);
	}
	if (t->state == TAPIR_TCP_TIME_WAIT)
		TP_ARM(s, t->t_2msl, s->now + 2 * s->cfg.tcp_msl_us);
	return TP_OK;
}

/* A replaced segment handler (hook.h) sees the segment first. */
static enum tapir_verdict tcp_handler(struct tapir_tcp *t, const struct tp_seg *seg,
				      uint8_t byte12)
{
	struct tapir_tcp_seg h = {
		.src = seg->src, .dst = seg->dst, .sport = seg->sport, .dport = seg->dport,
		.seq = seg->seq, .ack = seg->ack, .wnd = seg->wnd, .flags = seg->flags,
		.reserved = byte12 & 0x0f, .data = seg->data, .len = seg->len, .mss = seg->mss,
	};
	return t->handler(t->handler_arg, t, &h);
}

int tcp_input(struct tapir_stack *s, uint8_t *pkt, size_t len, size_t hlen)
{
	const uint8_t *th = pkt + hlen;
	size_t tlen = len - hlen, off;
	/* (a hook may rewrite the segment in place before it is parsed) */
	struct tp_seg seg;
	struct tapir_tcp *t;
	int r;

	if (tlen < TAPIR_TCP_HLEN)
		return TAPIR_DROP_tcp_short;
	memset(&seg, 0, sizeof(seg));
	seg.wscale = -1;
	seg.ecn = pkt[1] & 3;
	seg.src = tapir_get32(pkt + 12);
	seg.dst = tapir_get32(pkt + 16);
	if (!(s->rx_flags & TAPIR_RX_CSUM_PARTIAL) &&
	    tapir_csum_fold(tapir_csum_add(tapir_csum_pseudo(seg.src, seg.dst, TAPIR_IPPROTO_TCP, (uint16_t)tlen),
				     th, tlen)) != 0)
		return TAPIR_DROP_tcp_checksum;
	if (HOOKED(s, TAPIR_HOOK_TCP_RX) &&
	    !hook_run(s, TAPIR_HOOK_TCP_RX, -1, pkt + hlen, tlen, seg.src, seg.dst,
		      tapir_tcp_lookup(s, seg.dst, tapir_get16(th + 2), seg.src, tapir_get16(th))))
		return TAPIR_DROP_hook;
	off = (size_t)(th[12] >> 4) * 4;
	if (off < TAPIR_TCP_HLEN || off > tlen)
		return TAPIR_DROP_tcp_header;
	if (ipv4_is_broadcast(s, seg.dst))
		return TAPIR_DROP_tcp_dropped; /* RFC 1122 4.2.3.10 */
	seg.sport = tapir_get16(th);
	seg.dport = tapir_get16(th + 2);
	seg.seq = tapir_get32(th + 4);
	seg.ack = tapir_get32(th + 8);
	seg.flags = th[13]; /* with ECE and CWR (RFC 3168 6.1) */
	seg.wnd = tapir_get16(th + 14);
	seg.data = th + off;
	seg.len = (uint32_t)(tlen - off);
	tcp_parse_options(th + TAPIR_TCP_HLEN, off - TAPIR_TCP_HLEN, &seg);
	STAT(s, tcp_rx);
	if (TRACE_ON(s, TAPIR_TR_TCP))
		tcp_trace_seg(s, "rx", seg.src, seg.sport, seg.dst, seg.dport, th, tlen);

	t = tcp_lookup(s, seg.dst, seg.dport, seg.src, seg.sport);
	/* RFC 6191's idea without timestamps: a new SYN beyond the old
	 * connection's sequence space may end its TIME-WAIT early */
	if (t && t->state == TAPIR_TCP_TIME_WAIT && (seg.flags & (TAPIR_TH_SYN | TAPIR_TH_ACK | TAPIR_TH_RST)) == TAPIR_TH_SYN &&
	    SEQ_GT(seg.seq, t->rcv_nxt) && tcp_lookup_listener(s, seg.dst, seg.dport)) {
		if (t->user_closed)
			tcp_free(t);
		else
			tcp_drop(t, 0);
		t = NULL;
	}
	if (!t) {
		struct tapir_tcp *l = tcp_lookup_listener(s, seg.dst, seg.dport);
		if (l && l->handler && tcp_handler(l, &seg, th[12]) == TAPIR_DROP)
			return TP_OK;
		if (l)
			return tcp_listen_input(l, &seg);
		return tcp_reply_closed(s, &seg);
	}
	if (t->handler && tcp_handler(t, &seg, th[12]) == TAPIR_DROP)
		return TP_OK; /* the handler took it; T may be gone */
	if (th[12] & 0x0f) {
		/* RFC 9401 3.1: a DTH (or any reserved bit) is reported to the
		 * application, and changes nothing else */
		t->rx_reserved |= th[12] & 0x0f;
		if (th[12] & TAPIR_TH_RES_DTH)
			STAT(s, tcp_dth_rx);
		tcp_notify(t, TAPIR_EV_DTH);
	}
	t->last_rx = s->now;
	t->keep_probes = 0;
	t->probes_unanswered = 0;
	if (t->state == TAPIR_TCP_SYN_SENT)
		r = tcp_synsent_input(t, &seg);
	else
		r = tcp_sync_input(t, &seg);
	/* T may be gone now; only a live socket has anything to send */
	if (r == TP_OK || r == TAPIR_DROP_tcp_dropped) {
		t = tcp_lookup(s, seg.dst, seg.dport, seg.src, seg.sport);
		if (t) {
			tcp_keep_arm(t);
			tcp_output(t);
		}
	}
	return r;
}

/* RFC 5927 / RFC 1122 4.2.3.9: an ICMP error about one of our segments.
 * Believed only if it quotes a sequence number in flight (RFC 5927 4.1:
 * SND.UNA <= SEG.SEQ < SND.NXT, with SND.MAX here since a timeout moves
 * SND.NXT back). */
int tcp_icmp_error(struct tapir_stack *s, const uint8_t *inner, size_t len, int err, uint8_t type,
		   uint8_t code, bool local)
{
	size_t hlen = (size_t)(inner[0] & 15) * 4;
	const uint8_t *th = inner + hlen;
	struct tapir_tcp *t = tcp_lookup(s, tapir_get32(inner + 12), tapir_get16(th), tapir_get32(inner + 16),
					 tapir_get16(th + 2));
	uint32_t seq = tapir_get32(th + 4);
	bool hard;
	(void)len;
	if (!t || SEQ_LT(seq, t->snd_una) || SEQ_GEQ(seq, t->snd_max))
		return TAPIR_DROP_icmp_error_bad;
	/* RFC 1122 4.2.3.9: protocol, port unreachable and fragmentation needed
	 * (codes 2-4) are hard errors; the rest, net and host unreachable among
	 * them, are soft: the connection goes on and the error is told only if
	 * it then times out (UNP 4.3).  Our own ARP failure is as good as a
	 * hard answer for a connect, as Linux has it. */
	hard = local || (type == TAPIR_ICMP_UNREACH && code >= TAPIR_ICMP_UNREACH_PROTO &&
			 code <= TAPIR_ICMP_UNREACH_NEEDFRAG);
	if (t->state == TAPIR_TCP_SYN_SENT && hard && code != TAPIR_ICMP_UNREACH_NEEDFRAG) {
		tcp_drop(t, err);
		return TP_OK;
	}
	t->soft_error = err;
	return TP_OK;
}
