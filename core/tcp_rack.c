/* RACK-TLP loss detection (RFC 8985) and Proportional Rate Reduction
 * (RFC 6937), for SACK connections whose profile asks for them (profile
 * fields rack, tlp, prr; docs/profiles.md).
 *
 * RACK keeps, for each segment sent and not yet cumulatively
 * acknowledged, when it last went out, and deems a segment lost once a
 * segment sent after it was delivered and a reordering window has passed
 * (RFC 8985 6): losses are found by time, so a lost retransmission or a
 * loss at the tail of a flight is found as any other.  TLP sends a probe
 * when the ACKs stop (RFC 8985 7), so that a tail loss is repaired by
 * fast recovery instead of a timeout.  PRR spreads the window reduction of
 * a recovery over the ACKs that come in it (RFC 6937).
 *
 * The per-segment records are a sorted array (bounded, allocated only
 * while data is outstanding); the RFC 6675 scoreboard (tcp_sack.c) is
 * kept beside it, and the rest of recovery (cc_enter_recovery, the pipe
 * rule of RFC 6675 5 (C), new data in tcp_output) is shared. */
#include <stdlib.h>

#include "tcp_int.h"

#define WC_DEL_ACK_T TAPIR_MS(200) /* RFC 8985 7.2 WCDelAckT */
#define DUP_THRESH 3               /* RFC 8985 6.2 step 4, RFC 6675 2 */

void tcp_rack_init(struct tapir_tcp *t)
{
	const struct tapir_profile *p = &t->s->cfg.profile;
	tcp_rack_free(t);
	memset(&t->rack, 0, sizeof(t->rack));
	t->rack.on = p->rack;
	t->rack.tlp = p->rack && p->tlp; /* TLP uses RACK's records (RFC 8985 7) */
	t->rack.prr = p->prr;
	t->rack.reo_wnd_mult = 1;        /* RFC 8985 6.1 */
	t->rack.rtt_since_probe = true;  /* the handshake's sample */
	t->t_rack = TAPIR_TIME_NEVER;
}

void tcp_rack_free(struct tapir_tcp *t)
{
	free(t->rack.b);
	t->rack.b = NULL;
}

static struct tcp_rackblk *blk_get(struct tapir_tcp *t)
{
	struct tcp_rackblk *b = t->rack.b;
	if (b)
		return b;
	b = malloc(sizeof(*b) + TCP_RACK_SEGS_MIN * sizeof(b->seg[0]));
	if (!b) {
		STAT(t->s, tcp_rcv_nomem); /* untracked: the RTO still covers it */
		return NULL;
	}
	b->n = 0; /* (only seg[0..n) is ever read) */
	b->cap = TCP_RACK_SEGS_MIN;
	return t->rack.b = b;
}

/* The index of the first record ending after SEQ (n when none). */
static unsigned seg_find(const struct tcp_rackblk *b, uint32_t seq)
{
	unsigned lo = 0, hi = b->n;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (SEQ_LEQ(b->seg[mid].end, seq))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Room for one more record in T's block (which may move): the block
 * doubles up to TCP_RACK_SEGS; when full, two neighbours alike in their
 * flags become one (the later send time: a loss of the earlier bytes is
 * found later, never wrongly). */
static bool blk_room(struct tapir_tcp *t)
{
	struct tcp_rackblk *b = t->rack.b;
	if (b->n < b->cap)
		return true;
	if (b->cap < TCP_RACK_SEGS) {
		unsigned cap = b->cap * 2 < TCP_RACK_SEGS ? b->cap * 2 : TCP_RACK_SEGS;
		struct tcp_rackblk *nb = realloc(b, sizeof(*b) + cap * sizeof(b->seg[0]));
		if (nb) { /* (else the merge below, as when full) */
			nb->cap = cap;
			t->rack.b = nb;
			return true;
		}
	}
	for (unsigned i = 0; i + 1 < b->n; i++)
		if (b->seg[i].flags == b->seg[i + 1].flags && b->seg[i].end == b->seg[i + 1].seq) {
			b->seg[i].end = b->seg[i + 1].end;
			if (b->seg[i + 1].xmit_ts > b->seg[i].xmit_ts)
				b->seg[i].xmit_ts = b->seg[i + 1].xmit_ts;
			if ((int32_t)(b->seg[i + 1].order - b->seg[i].order) > 0)
				b->seg[i].order = b->seg[i + 1].order;
			memmove(&b->seg[i + 1], &b->seg[i + 2], (b->n - i - 2) * sizeof(b->seg[0]));
			b->n--;
			return true;
		}
	return false;
}

/* A record boundary at SEQ, when one fits */
static void seg_split(struct tapir_tcp *t, uint32_t seq)
{
	struct tcp_rackblk *b = t->rack.b;
	unsigned i = seg_find(b, seq);
	if (i == b->n || SEQ_LEQ(seq, b->seg[i].seq) || !blk_room(t))
		return;
	b = t->rack.b;
	i = seg_find(b, seq); /* (blk_room may have merged) */
	memmove(&b->seg[i + 1], &b->seg[i], (b->n - i) * sizeof(b->seg[0]));
	b->n++;
	b->seg[i].end = seq;
	b->seg[i + 1].seq = seq;
}

/* RFC 8985 7.2: a PTO after new data goes out or an ACK moves SND.UNA,
 * only on a SACK connection with nothing SACKed and not in recovery
 * (fast or RTO); PTO = 2 SRTT (+ WCDelAckT for a single segment in
 * flight), 1 s without an RTT, and never past the RTO. */
static void pto_arm(struct tapir_tcp *t)
{
	uint32_t flight = t->snd_max - t->snd_una;
	tapir_time_t pto, when;
	if (t->t_rack != TAPIR_TIME_NEVER && t->rack.tmr == TCP_RACK_TMR_REO)
		return;
	/* one that may not be scheduled leaves the RTO alone */
	if (t->rack.tmr == TCP_RACK_TMR_PTO)
		t->t_rack = TAPIR_TIME_NEVER;
	/* (behind a zero window the persist timer probes, RFC 9293 3.8.6.1) */
	if (!t->rack.tlp || !flight || !t->snd_wnd || t->nsacked || t->in_recovery ||
	    SEQ_LT(t->snd_una, t->recover))
		return;
	pto = t->srtt ? 2 * t->srtt : TAPIR_SEC(1);
	if (t->srtt && flight <= t->mss)
		pto += WC_DEL_ACK_T;
	when = t->s->now + pto;
	if (t->t_rexmt != TAPIR_TIME_NEVER && when > t->t_rexmt)
		when = t->t_rexmt;
	t->rack.tmr = TCP_RACK_TMR_PTO;
	t->t_rack = TAPIR_TIME_NEVER; /* (may move later) */
	tcp_timer_set(t, &t->t_rack, when);
}

void tcp_rack_sent(struct tapir_tcp *t, uint32_t seq, uint32_t n, uint32_t max)
{
	struct tcp_rackblk *b;
	uint32_t end = seq + n;
	bool room;
	if (t->in_recovery && (tcp_prr_active(t) || tcp_prr_nosack(t)))
		t->rack.prr_out += n; /* RFC 6937 3: on any (re)transmission */
	if (!tcp_rack_active(t) || !n || !(b = blk_get(t)))
		return;
	/* RFC 8985 6.1: a retransmission takes its records' send time */
	if (SEQ_LT(seq, max)) {
		uint32_t rend = SEQ_LT(end, max) ? end : max;
		seg_split(t, seq);
		seg_split(t, rend);
		b = t->rack.b;
		for (unsigned i = seg_find(b, seq); i < b->n && SEQ_LT(b->seg[i].seq, rend); i++) {
			b->seg[i].xmit_ts = t->s->now;
			b->seg[i].order = t->rack.sends;
			b->seg[i].flags = (uint8_t)((b->seg[i].flags | TCP_RACK_RETRANS) &
						    ~(TCP_RACK_LOST | TCP_RACK_SACKED));
		}
		seq = rend;
	}
	room = SEQ_LT(seq, end) && blk_room(t);
	b = t->rack.b; /* (blk_room may have moved it) */
	if (room) {
		/* (a record a merge could not make room for: the newest grows) */
		b->seg[b->n++] = (struct tcp_rack_seg){.seq = seq, .end = end, .xmit_ts = t->s->now,
						       .order = t->rack.sends};
	} else if (SEQ_LT(seq, end)) {
		b->seg[b->n - 1].end = end;
		b->seg[b->n - 1].xmit_ts = t->s->now;
		b->seg[b->n - 1].order = t->rack.sends;
	}
	t->rack.sends++;
	if (SEQ_GT(end, max) && !t->rack.probing)
		pto_arm(t);
}

/* RFC 8985 6.2: RACK_sent_after(t1, seq1, t2, seq2).  Its tie-break by
 * sequence assumes that what goes out in one instant goes in sequence
 * order; a retransmission may follow new data in the same instant (two
 * ACKs at once), so the order of sending breaks ties instead. */
static bool sent_after(tapir_time_t t1, uint32_t order1, tapir_time_t t2, uint32_t order2)
{
	return t1 > t2 || (t1 == t2 && (int32_t)(order1 - order2) > 0);
}

/* RFC 8985 6.2 steps 1-3 for one segment newly delivered (by the
 * cumulative ACK or a SACK) */
static void delivered(struct tapir_tcp *t, const struct tcp_rack_seg *s, const struct tp_seg *seg,
		      bool cumulative)
{
	struct tcp_rack *r = &t->rack;
	tapir_time_t rtt = t->s->now - s->xmit_ts;
	bool retrans = s->flags & TCP_RACK_RETRANS;
	/* step 3: delivered below the highest end delivered, never resent:
	 * the network reordered */
	if (SEQ_GT(s->end, r->fack))
		r->fack = s->end;
	else if (!retrans)
		r->reordering_seen = true;
	/* step 2: an ACK of a retransmitted segment that may answer an
	 * earlier copy gives no sample (the echoed timestamp is older than
	 * the copy, or the RTT is below any possible).  The echo tells only
	 * of what moved RCV.NXT: an out-of-order segment leaves TS.Recent
	 * alone (RFC 7323 4.3), so a SACK echoes an older one (the ACK of a
	 * loss probe would never count) */
	if (retrans && cumulative && seg->has_ts &&
	    (int32_t)(seg->tsecr - (uint32_t)(s->xmit_ts / 1000) - t->ts_offset) < 0)
		return;
	if (retrans && r->min_rtt && rtt < r->min_rtt)
		return;
	/* step 1: RACK.min_RTT, from first transmissions only */
	if (!retrans)
		tcp_rack_min_rtt(r, rtt, t->s->now);
	r->rtt_since_probe = true;
	if (!r->xmit_ts || sent_after(s->xmit_ts, s->order, r->xmit_ts, r->order)) {
		r->rtt = rtt;
		r->xmit_ts = s->xmit_ts;
		r->order = s->order;
		r->end_seq = s->end;
	}
}

/* RFC 8985 6.2 step 1: "a windowed min-filtered estimate of recent RTT
 * measurements that can adapt when migrating to significantly longer
 * paths".  Two halves of the window, each with its least sample: the
 * older (since min_since) and the newer (from min_since + half on); when
 * the older leaves the window, the newer takes its place, so the minimum
 * covers the last half window to window of samples, in constant space.
 * The window is 300 s, as Linux's net.ipv4.tcp_min_rtt_wlen default (the
 * RFC names no figure). */
void tcp_rack_min_rtt(struct tcp_rack *r, tapir_time_t rtt, tapir_time_t now)
{
	const tapir_time_t half = TCP_RACK_MIN_RTT_WIN / 2;
	if (!rtt)
		rtt = 1;
	if (r->min_a && now - r->min_since >= TCP_RACK_MIN_RTT_WIN) {
		r->min_a = r->min_b;
		r->min_b = 0;
		r->min_since += half;
		if (now - r->min_since >= TCP_RACK_MIN_RTT_WIN)
			r->min_a = 0; /* no sample for a whole window: start again */
	}
	if (!r->min_a) {
		r->min_a = rtt;
		r->min_since = now;
	} else if (now - r->min_since < half) {
		if (rtt < r->min_a)
			r->min_a = rtt;
	} else if (!r->min_b || rtt < r->min_b) {
		r->min_b = rtt;
	}
	r->min_rtt = r->min_b && r->min_b < r->min_a ? r->min_b : r->min_a;
}

/* RFC 2883 4: the first block reports a duplicate when it lies below the
 * cumulative ACK or inside the second block */
static bool has_dsack(const struct tp_seg *seg)
{
	if (!seg->nsack)
		return false;
	if (SEQ_LEQ(seg->sack[0][1], seg->ack))
		return true;
	return seg->nsack > 1 && SEQ_GEQ(seg->sack[0][0], seg->sack[1][0]) &&
	       SEQ_LEQ(seg->sack[0][1], seg->sack[1][1]);
}

/* RFC 8985 7.4: what the ACK says of the probe in flight */
static void tlp_ack(struct tapir_tcp *t, const struct tp_seg *seg, bool dsack)
{
	struct tcp_rack *r = &t->rack;
	if (!r->tlp_out || SEQ_LT(seg->ack, r->tlp_end_seq))
		return;
	if (!r->tlp_is_retrans) {
		r->tlp_out = false; /* a probe of new data, delivered */
	} else if (dsack && seg->sack[0][1] == r->tlp_end_seq) {
		r->tlp_out = false; /* the retransmission was redundant */
	} else if (SEQ_GT(seg->ack, r->tlp_end_seq)) {
		/* the probe repaired a loss: the window comes down for it */
		r->tlp_out = false;
		cc_reduce(t);
	} else if (seg->ack == t->snd_una && !seg->nsack && !seg->len) {
		r->tlp_out = false; /* a duplicate without SACK: both copies in */
	}
}

/* RFC 8985 6.2 step 4, the DSACK rounds: each round trip that sees a
 * DSACK widens the window by one more min_RTT/4, for 16 recoveries */
static void dsack_round(struct tapir_tcp *t, const struct tp_seg *seg, bool dsack)
{
	struct tcp_rack *r = &t->rack;
	if (r->dsack_round_on && SEQ_GEQ(seg->ack, r->dsack_round))
		r->dsack_round_on = false;
	if (!r->dsack_round_on && dsack) {
		r->dsack_round_on = true;
		r->dsack_round = t->snd_max;
		if (r->reo_wnd_mult < 255)
			r->reo_wnd_mult++;
		r->reo_wnd_persist = 16;
	}
}

void tcp_rack_ack(struct tapir_tcp *t, const struct tp_seg *seg, uint32_t newly)
{
	struct tcp_rackblk *b = t->rack.b;
	bool dsack = has_dsack(seg);
	unsigned i, k;
	/* RFC 6937 3: DeliveredData = delta(snd.una) + delta(SACKd): what
	 * the cumulative ACK takes off the scoreboard was delivered when it
	 * was SACKed, and counts once (the scoreboard holds this ACK's
	 * blocks, not yet trimmed) */
	t->rack.delivered = (SEQ_GT(seg->ack, t->snd_una) ? seg->ack - t->snd_una : 0) + newly -
			    tcp_sacked_below(t, seg->ack);
	t->rack.newly = newly;
	if (!tcp_rack_active(t))
		return;
	t->rack.rec_before = t->in_recovery;
	dsack_round(t, seg, dsack);
	tlp_ack(t, seg, dsack);
	if (!b)
		return;
	/* in sequence order, as they were first sent (RFC 8985 6.2 takes
	 * them in send order; the fack test of step 3 needs the lower ones
	 * first): the cumulatively acknowledged records leave (what a SACK
	 * had delivered is not delivered again) ... */
	for (k = 0; k < b->n && SEQ_LEQ(b->seg[k].end, seg->ack); k++)
		if (!(b->seg[k].flags & TCP_RACK_SACKED))
			delivered(t, &b->seg[k], seg, true);
	memmove(&b->seg[0], &b->seg[k], (b->n - k) * sizeof(b->seg[0]));
	b->n -= k;
	if (b->n && SEQ_LT(b->seg[0].seq, seg->ack))
		b->seg[0].seq = seg->ack;
	/* ... then the SACKed ones (whole records only; a SACK of part of
	 * one says nothing of the rest) */
	for (unsigned s = 0; s < seg->nsack; s++) {
		uint32_t start = seg->sack[s][0], end = seg->sack[s][1];
		if (!SEQ_LT(start, end) || SEQ_LEQ(end, seg->ack))
			continue;
		for (i = seg_find(b, start); i < b->n && SEQ_LEQ(b->seg[i].end, end); i++)
			if (SEQ_GEQ(b->seg[i].seq, start) && !(b->seg[i].flags & TCP_RACK_SACKED)) {
				b->seg[i].flags = (b->seg[i].flags | TCP_RACK_SACKED) & ~TCP_RACK_LOST;
				delivered(t, &b->seg[i], seg, false);
			}
	}
	if (!b->n)
		tcp_rack_free(t);
}

/* RFC 8985 6.2 step 4: RACK.reo_wnd */
static tapir_time_t reo_wnd(const struct tapir_tcp *t)
{
	const struct tcp_rack *r = &t->rack;
	tapir_time_t w, base = r->min_rtt ? r->min_rtt : t->srtt;
	if (!r->reordering_seen) {
		unsigned sacked = 0;
		if (t->in_recovery || SEQ_LT(t->snd_una, t->recover))
			return 0; /* in fast or RTO recovery */
		for (unsigned i = 0; r->b && i < r->b->n; i++)
			sacked += (r->b->seg[i].flags & TCP_RACK_SACKED) != 0;
		if (sacked >= DUP_THRESH)
			return 0;
	}
	w = r->reo_wnd_mult * base / 4;
	return t->srtt && w > t->srtt ? t->srtt : w;
}

/* RFC 8985 6.2 step 5, RACK_detect_loss(): a segment sent before the
 * latest delivered one is lost once RACK.rtt + RACK.reo_wnd have passed
 * since it was sent; returns the time until the next could be (0: none) */
static tapir_time_t detect_loss(struct tapir_tcp *t)
{
	struct tcp_rack *r = &t->rack;
	tapir_time_t wnd = reo_wnd(t), timeout = 0;
	for (unsigned i = 0; r->b && i < r->b->n; i++) {
		struct tcp_rack_seg *s = &r->b->seg[i];
		tapir_time_t due = s->xmit_ts + r->rtt + wnd;
		if (s->flags & (TCP_RACK_SACKED | TCP_RACK_LOST) ||
		    !sent_after(r->xmit_ts, r->order, s->xmit_ts, s->order))
			continue;
		if (due <= t->s->now) {
			s->flags |= TCP_RACK_LOST;
			STAT(t->s, tcp_rack_lost);
			if (s->flags & TCP_RACK_RETRANS)
				STAT(t->s, tcp_lost_retransmits);
		} else if (due - t->s->now > timeout) {
			timeout = due - t->s->now;
		}
	}
	return timeout;
}

uint32_t tcp_rack_pipe(const struct tapir_tcp *t)
{
	uint32_t pipe = 0;
	/* RFC 6675 4 SetPipe() with RACK's losses in place of IsLost() (RFC
	 * 8985 replaces the DupAck threshold): what is in the network is
	 * each record neither SACKed nor deemed lost */
	for (unsigned i = 0; t->rack.b && i < t->rack.b->n; i++)
		if (!(t->rack.b->seg[i].flags & (TCP_RACK_SACKED | TCP_RACK_LOST)))
			pipe += t->rack.b->seg[i].end - t->rack.b->seg[i].seq;
	return pipe;
}

/* Sends [SEQ, SEQ + N) again, the FIN with it if it is there; COUNT:
 * in the retransmissions (a timeout's first is counted as the timeout). */
static void rack_resend(struct tapir_tcp *t, uint32_t seq, uint32_t n, bool count)
{
	uint32_t off = seq - t->snd_una, len = off < t->snd.len ? t->snd.len - off : 0;
	bool fin = t->fin_sent && SEQ_GEQ(t->fin_seq, seq) && SEQ_LT(t->fin_seq, seq + n);
	if (len > n)
		len = n;
	if (!len && !fin)
		return;
	t->timing = false; /* Karn */
	/* the copy is the segment as first sent: PSH where its data ended
	 * the send buffer (RFC 9293 3.9.1), as tcp_output marks it */
	uint8_t flags = TAPIR_TH_ACK | (fin ? TAPIR_TH_FIN : 0);
	if (len && off + len == t->snd.len)
		flags |= TAPIR_TH_PSH;
	tcp_send_segment(t, seq, flags, off, len);
	if (count)
		STAT(t->s, tcp_retransmits);
	tcp_rack_sent(t, seq, len + fin, t->snd_max);
}

/* The lost records below SND.NXT (above it, tcp_output's go-back-N after
 * a timeout sends them anyway) go again, as the pipe allows (RFC 6675 5
 * (C) rule 1, with PRR's cwnd); FIRST: the first whatever the pipe
 * (RFC 6675 5 (4.3)), and RTO: that first is the timeout's. */
static void send_lost(struct tapir_tcp *t, bool first, bool rto)
{
	uint32_t pipe = tcp_rack_pipe(t);
	for (unsigned i = 0; t->rack.b && i < t->rack.b->n; i++) {
		struct tcp_rack_seg *s = &t->rack.b->seg[i];
		uint32_t n = s->end - s->seq;
		if (!(s->flags & TCP_RACK_LOST) || !SEQ_LT(s->seq, t->snd_nxt))
			continue;
		if (!first && pipe + t->mss > t->cwnd)
			break;
		if (n > t->mss) {
			seg_split(t, s->seq + t->mss);
			n = t->rack.b->seg[i].end - t->rack.b->seg[i].seq;
		}
		rack_resend(t, t->rack.b->seg[i].seq, n, !(first && rto));
		pipe += n;
		first = false;
	}
}

/* Losses found: fast recovery starts (unless these are of a window a
 * recovery or a timeout already answered, RFC 6582 3.2 (1)); PRR sets the
 * window, and the lost records go. */
static void on_losses(struct tapir_tcp *t)
{
	bool any = false, entered = false;
	for (unsigned i = 0; t->rack.b && i < t->rack.b->n && !any; i++)
		any = (t->rack.b->seg[i].flags & TCP_RACK_LOST) && SEQ_LT(t->rack.b->seg[i].seq, t->snd_nxt);
	if (any && !t->in_recovery && SEQ_GEQ(t->snd_una, t->recover)) {
		cc_enter_recovery(t);
		STAT(t->s, tcp_fast_retransmits);
		tcp_prr_start(t);
		entered = true;
		if (t->t_rack != TAPIR_TIME_NEVER && t->rack.tmr == TCP_RACK_TMR_PTO)
			t->t_rack = TAPIR_TIME_NEVER;
	}
	if (t->in_recovery && tcp_prr_active(t))
		tcp_prr_ack(t);
	if (any)
		send_lost(t, entered, false);
}

/* RFC 8985 6.2 RACK_detect_loss_and_arm_timer() */
static void detect_and_arm(struct tapir_tcp *t)
{
	tapir_time_t timeout = detect_loss(t);
	if (timeout) {
		t->rack.tmr = TCP_RACK_TMR_REO;
		t->t_rack = TAPIR_TIME_NEVER;
		tcp_timer_set(t, &t->t_rack, t->s->now + timeout);
	} else if (t->rack.tmr == TCP_RACK_TMR_REO) {
		t->t_rack = TAPIR_TIME_NEVER;
	}
}

void tcp_rack_recover(struct tapir_tcp *t, bool advanced)
{
	struct tcp_rack *r = &t->rack;
	/* RFC 8985 6.2 step 4: a recovery ended; after 16 without DSACK the
	 * window is min_RTT/4 again */
	if (r->rec_before && !t->in_recovery && r->reo_wnd_persist && !--r->reo_wnd_persist)
		r->reo_wnd_mult = 1;
	r->rec_before = false;
	if (t->snd_max == t->snd_una) {
		t->t_rack = TAPIR_TIME_NEVER;
		return;
	}
	detect_and_arm(t);
	on_losses(t);
	if (advanced)
		pto_arm(t);
}

void tcp_prr_start(struct tapir_tcp *t)
{
	uint32_t before = tcp_sacked_below(t, t->snd_max);
	/* RFC 6937 3: at the start of recovery; RecoverFS as RFC 9937 4 has
	 * it (RFC 6937's update): without what was SACKed before this ACK,
	 * which prr_delivered will never count, so that the reduction does
	 * not come out deeper than ssthresh asks */
	before = before > t->rack.newly ? before - t->rack.newly : 0;
	t->rack.prr_delivered = 0;
	t->rack.prr_out = 0;
	t->rack.dup_credit = 0;
	t->rack.recover_fs = t->snd_max - t->snd_una - before;
}

/* RFC 6937 3, on every ACK in recovery: what may be sent now, for what
 * the pipe holds (r->delivered: this ACK's DeliveredData) */
static uint32_t prr_sndcnt(struct tapir_tcp *t, uint32_t pipe)
{
	struct tcp_rack *r = &t->rack;
	uint32_t sndcnt;
	r->prr_delivered += r->delivered;
	if (pipe > t->ssthresh) {
		/* proportional rate reduction: ssthresh/RecoverFS of what is
		 * delivered, rounded up */
		uint64_t fs = r->recover_fs ? r->recover_fs : 1;
		uint64_t want = ((uint64_t)r->prr_delivered * t->ssthresh + fs - 1) / fs;
		sndcnt = want > r->prr_out ? (uint32_t)(want - r->prr_out) : 0;
	} else {
		/* the slow start reduction bound (PRR-SSRB): back to ssthresh,
		 * at most one MSS more than is delivered */
		uint32_t owed = r->prr_delivered > r->prr_out ? r->prr_delivered - r->prr_out : 0;
		uint32_t limit = (owed > r->delivered ? owed : r->delivered) + t->mss;
		sndcnt = t->ssthresh - pipe < limit ? t->ssthresh - pipe : limit;
	}
	r->delivered = 0;
	return sndcnt;
}

void tcp_prr_ack(struct tapir_tcp *t)
{
	uint32_t pipe = tcp_sack_pipe(t);
	t->cwnd = pipe + prr_sndcnt(t, pipe);
}

/* PRR without SACK (RFC 6937 3): a DupAck delivered one MSS, and a later
 * cumulative ACK delivered what it covers less the DupAcks that counted
 * it already.  What is still in the network is FlightSize less what the
 * DupAcks said left it; tcp_output measures the window against
 * FlightSize, so cwnd is FlightSize + sndcnt, less the segment the
 * caller resends next (the fast retransmission, RFC 5681 3.2 (2), or
 * the next hole, RFC 6582 3.2 (5)), which prr_out then counts. */
static void prr_nosack(struct tapir_tcp *t, bool resend)
{
	uint32_t flight = t->snd_max - t->snd_una;
	uint32_t pipe = flight > t->rack.dup_credit ? flight - t->rack.dup_credit : 0;
	uint32_t sndcnt = prr_sndcnt(t, pipe);
	if (resend)
		sndcnt = sndcnt > t->mss ? sndcnt - t->mss : 0;
	t->cwnd = flight + sndcnt;
}

void tcp_prr_dupack(struct tapir_tcp *t, bool start)
{
	if (start)
		tcp_prr_start(t);
	t->rack.delivered = t->mss;
	t->rack.dup_credit += t->mss;
	prr_nosack(t, start);
}

void tcp_prr_partial(struct tapir_tcp *t, uint32_t acked)
{
	struct tcp_rack *r = &t->rack;
	r->delivered = acked > r->dup_credit ? acked - r->dup_credit : 0;
	r->dup_credit = acked > r->dup_credit ? 0 : r->dup_credit - acked;
	prr_nosack(t, true);
}

void tcp_rack_rto(struct tapir_tcp *t)
{
	struct tcp_rackblk *b = t->rack.b;
	tapir_time_t wnd;
	/* the probe's episode ends */
	t->rack.tlp_out = false;
	t->t_rack = TAPIR_TIME_NEVER;
	/* records that do not cover what is outstanding (out of memory
	 * once): the timeout's go-back-N (tcp_timer.c) resends it all */
	if (!b || !b->n || b->seg[0].seq != t->snd_una || b->seg[b->n - 1].end != t->snd_max)
		return;
	/* RFC 8985 6.3 RACK_mark_losses_on_RTO(): lost is the first
	 * segment, sent an RTO ago, and each whose RACK.rtt + RACK.reo_wnd
	 * has passed since it was sent; one sent since is still in flight
	 * and is not sent again unless RACK finds it lost later.  SACKed
	 * bits go first (RFC 2018 8, RFC 6675 5.1: the peer may have
	 * reneged); cc_timeout made this RTO recovery, so reo_wnd is 0
	 * unless reordering was seen (6.2 step 4). */
	wnd = reo_wnd(t);
	for (unsigned i = 0; i < b->n; i++) {
		struct tcp_rack_seg *s = &b->seg[i];
		s->flags &= (uint8_t)~TCP_RACK_SACKED;
		if (i == 0 || s->xmit_ts + t->rack.rtt + wnd <= t->s->now)
			s->flags |= TCP_RACK_LOST;
	}
	/* no going back: the first lost segment goes now, the others as
	 * the window opens (on_losses, on each ACK) */
	t->snd_nxt = t->snd_max;
	send_lost(t, true, true);
}

/* RFC 8985 7.3: the PTO fired: one probe, new data if there is some and
 * the peer's window takes it, else the last segment sent again; not with
 * a probe still in flight, nor without an RTT sample since the last one.
 * Then the RTO is armed again, the last resort. */
static void tlp_send_probe(struct tapir_tcp *t)
{
	struct tcp_rack *r = &t->rack;
	uint32_t flight = t->snd_max - t->snd_una, max = t->snd_max;
	uint32_t unsent = !t->fin_sent && t->snd.len > flight ? t->snd.len - flight : 0;
	if (r->tlp_out || !r->rtt_since_probe)
		goto rearm;
	r->probing = true;
	if (unsent && t->snd_wnd > flight && t->snd_nxt == t->snd_max) {
		uint32_t cwnd = t->cwnd;
		if (t->cwnd < flight + t->mss)
			t->cwnd = flight + t->mss; /* one segment past cwnd (7.3) */
		/* 7.3: the unsent segment goes whenever the receive window
		 * allows it; a short tail that Nagle (RFC 9293 3.7.4) or
		 * sender SWS avoidance holds goes too (the PTO is its timer):
		 * force sends one segment, within the window, as the persist
		 * probe does */
		t->force = true;
		tcp_output(t);
		t->force = false;
		t->cwnd = cwnd;
	}
	r->tlp_is_retrans = t->snd_max == max;
	if (r->tlp_is_retrans) {
		/* the last segment; a FIN sent alone goes with the last data
		 * (a bare FIN out of order is not SACKed: its probe would
		 * tell nothing) */
		bool fin = t->fin_sent && t->fin_seq + 1 == t->snd_max;
		uint32_t dend = fin ? t->fin_seq : t->snd_max, span = dend - t->snd_una;
		uint32_t seq = r->b && r->b->n ? r->b->seg[r->b->n - 1].seq : t->snd_una;
		if (SEQ_GEQ(seq, dend) || dend - seq > t->mss)
			seq = dend - (span < t->mss ? span : t->mss);
		rack_resend(t, seq, t->snd_max - seq, true);
	}
	r->probing = false;
	r->tlp_out = true;
	r->tlp_end_seq = t->snd_max;
	r->rtt_since_probe = false;
	STAT(t->s, tcp_tlp_probes);
rearm:
	if (t->snd_max != t->snd_una)
		tcp_rexmt_arm(t);
}

bool tcp_rack_timer(struct tapir_tcp *t)
{
	uint8_t tmr = t->rack.tmr;
	t->t_rack = TAPIR_TIME_NEVER;
	t->rack.tmr = 0;
	if (!tcp_rack_active(t) || t->snd_max == t->snd_una)
		return true;
	if (tmr == TCP_RACK_TMR_PTO) {
		tlp_send_probe(t);
		return true;
	}
	/* RFC 8985 6.3: the reordering timer: detect again, recover (no ACK
	 * came: PRR has nothing delivered to count) */
	t->rack.delivered = 0;
	detect_and_arm(t);
	on_losses(t);
	tcp_output(t);
	return true;
}
