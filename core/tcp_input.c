/* TCP input: RFC 9293 3.10.7 "SEGMENT ARRIVES", step by step in the RFC's
 * order, with RFC 5961's defences against blind attacks.  Each step is a
 * function named after the RFC's words; each says what becomes of the
 * segment (a struct tcp_verdict), and tcp_input carries that out in one
 * place (tcp_verdict_apply).  LISTEN and SYN-SENT are in tcp_syn.c. */
#include <errno.h>

#include "tcp_int.h"

/* RFC 9293 3.2: options.  A malformed list ends the parse; the segment is
 * still processed (the RFC asks to be liberal in what is accepted). */
static void tcp_parse_options(const uint8_t *o, size_t len, struct tp_seg *seg)
{
	size_t i = 0;
	const uint8_t *p;
	while ((p = tcp_opt_next(o, len, &i)) != NULL) {
		if (p[0] == 2 && p[1] == 4)
			seg->mss = tapir_get16(p + 2);
		else if (p[0] == 3 && p[1] == 3) /* RFC 7323 2.3: above 14 means 14 */
			seg->wscale = p[2] > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : p[2];
		else if (p[0] == 4 && p[1] == 2)
			seg->sack_ok = true;
		else if (p[0] == 8 && p[1] == 10) {
			seg->has_ts = true;
			seg->tsval = tapir_get32(p + 2);
			seg->tsecr = tapir_get32(p + 6);
		} else if (p[0] == 5 && p[1] >= 10 && (p[1] - 2) % 8 == 0) {
			for (size_t b = 2; b + 8 <= p[1] && seg->nsack < 4; b += 8) {
				seg->sack[seg->nsack][0] = tapir_get32(p + b);
				seg->sack[seg->nsack][1] = tapir_get32(p + b + 4);
				seg->nsack++;
			}
		} else if (p[0] == 34 || p[0] == 254) {
			tcp_tfo_parse(seg, p); /* RFC 7413 4.1.1 */
		}
	}
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
	t->ack_plain = true;
	tcp_send_ack(t);
	t->ack_plain = false;
}

/* RFC 9293 3.10.7.1: no connection.  Never answer a RST. */
static int tcp_reply_closed(struct tapir_stack *s, const struct tp_seg *seg)
{
	const struct tapir_tcp *t;
	if (seg->flags & TAPIR_TH_RST)
		return TAPIR_DROP_tcp_no_socket;
	STAT(s, tcp_rst_sent);
	t = tcp_lookup_closed(s, &seg->dst, seg->dport);
	if (seg->flags & TAPIR_TH_ACK)
		tcp_respond(s, t, &seg->dst, seg->dport, &seg->src, seg->sport, seg->ack, 0,
			    TAPIR_TH_RST);
	else
		tcp_respond(s, t, &seg->dst, seg->dport, &seg->src, seg->sport, 0,
			    seg->seq + tcp_seg_len(seg), TAPIR_TH_RST | TAPIR_TH_ACK);
	return TAPIR_DROP_tcp_no_socket;
}

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

/* Out-of-order data sits in the ring beyond the in-order bytes; these
 * ranges say which parts are filled.  Returns false when full. */
bool tcp_ooo_add(struct tapir_tcp *t, uint32_t start, uint32_t end)
{
	return tp_range_add(t->ooo, &t->nooo, TCP_OOO_MAX, start, end);
}

/* RFC 6298 5.7: a handshake whose SYN timed out, with no RTT sample, goes
 * on with an RTO of 3 s rather than the 1 s that was too short. */
static void tcp_syn_rto(struct tapir_tcp *t)
{
	if (t->syn_rexmt && !t->srtt && t->rto < TAPIR_SEC(3))
		t->rto = TAPIR_SEC(3);
}

/* RFC 6298 3 and Karn's rule: an ACK that covers the segment being timed
 * gives an RTT sample (a retransmission stops the timing).  RFC 7323 4
 * (RTTM): after a timeout (BACKOFF still counts it), the echoed timestamp
 * tells which transmission the ACK answers, so a sample survives the
 * retransmissions Karn's rule must ignore. */
static void tcp_rtt_ack(struct tapir_tcp *t, const struct tp_seg *seg)
{
	if (t->timing && SEQ_GT(seg->ack, t->rtt_seq)) {
		tcp_rtt_sample(t, t->s->now - t->rtt_start);
		t->timing = false;
	} else if (t->backoff > 0 && t->ts_ok && seg->has_ts && seg->tsecr) {
		uint32_t ms = tcp_ts_now(t) - seg->tsecr;
		if (ms < 60000)
			tcp_rtt_sample(t, TAPIR_MS(ms));
	}
}

/* BACKOFF is cleared before the RTT sample: a SYN that timed out gives
 * none, and RFC 6298 5.7 (tcp_syn_rto) sets the RTO then. */
void tcp_handshake_done(struct tapir_tcp *t, const struct tp_seg *seg)
{
	t->backoff = 0;
	tcp_rtt_ack(t, seg);
	t->t_rexmt = TAPIR_TIME_NEVER;
	t->una_since = TAPIR_TIME_NEVER; /* our SYN is acknowledged: progress */
	tcp_syn_rto(t);
	tcp_set_state(t, TAPIR_TCP_ESTABLISHED);
	tcp_keep_arm(t);
}

/* RFC 9293 3.10.7.4 fifth: "If SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and
 * SND.WL2 =< SEG.ACK)": only a segment newer than the one the window came
 * from updates it, so an old, reordered one cannot shrink it. */
void tcp_update_window(struct tapir_tcp *t, uint32_t seq, uint32_t ack, uint32_t wnd, bool always)
{
	if (!always && !SEQ_LT(t->snd_wl1, seq) && !(t->snd_wl1 == seq && SEQ_LEQ(t->snd_wl2, ack)))
		return;
	t->snd_wnd = wnd;
	if (wnd > t->max_sndwnd)
		t->max_sndwnd = wnd;
	t->snd_wl1 = seq;
	t->snd_wl2 = ack;
	if (wnd && t->t_persist != TAPIR_TIME_NEVER) { /* open: no more probes (3.8.6.1) */
		t->t_persist = TAPIR_TIME_NEVER;
		t->backoff = 0;
	}
	if (wnd) /* the user timeout's zero-window clock stops (tcp_timer.c) */
		t->persist_since = TAPIR_TIME_NEVER;
}

/* RCV.WND: what we offered, from RCV.NXT to the right edge we advertised */
static uint32_t rcv_wnd_offered(const struct tapir_tcp *t)
{
	return SEQ_GT(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
}

/* RFC 7323 3.2 and 5.3 (PAWS), before the sequence number is looked at */
static bool tcp_check_paws(struct tapir_tcp *t, const struct tp_seg *seg, struct tcp_verdict *v)
{
	if (!t->ts_ok || (seg->flags & TAPIR_TH_RST))
		return true;
	/* RFC 7323 3.2: once agreed, a segment without TSopt is dropped */
	if (!seg->has_ts) {
		*v = tcp_dropped(TCP_ANS_NONE);
		return false;
	}
	/* RFC 7323 5.3 R1 (PAWS): an older timestamp than TS.Recent is a
	 * duplicate from an earlier wrap; unless TS.Recent is over 24 days
	 * old (5.5), it gets an ACK and is dropped */
	if ((int32_t)(seg->tsval - t->ts_recent) < 0) {
		if (t->s->now - t->ts_recent_age <= TCP_PAWS_IDLE) {
			*v = tcp_dropped(TCP_ANS_ACK);
			return false;
		}
		t->ts_recent = seg->tsval;
		t->ts_recent_age = t->s->now;
	}
	return true;
}

/* RFC 9293 3.10.7.4 first: check the sequence number (after PAWS).  Each
 * step returns false, with the verdict in *V, when the segment goes no
 * further. */
static bool tcp_check_sequence(struct tapir_tcp *t, struct tp_seg *seg, struct tcp_verdict *v)
{
	uint32_t wnd = rcv_wnd_offered(t), seglen = tcp_seg_len(seg), seq = seg->seq;
	bool ok;

	/* the profile's rcvbuf_mss: the free buffer is the window, even past
	 * the 65535 an unscaled window field can offer (FreeBSD's rcv_wnd;
	 * not yet for an embryo of a listener, its syncache entry) */
	if (t->s->cfg.profile.rcvbuf_mss && !(t->state == TAPIR_TCP_SYN_RECEIVED && t->passive) &&
	    t->rcvbuf > t->rcv.len && t->rcvbuf - t->rcv.len > wnd)
		wnd = t->rcvbuf - t->rcv.len;

	if (!tcp_check_paws(t, seg, v))
		return false;
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
		if (seg->len)
			tcp_quickack_enter(t, wnd);
		seg->len = 0;
		seg->flags &= (uint8_t)~TAPIR_TH_FIN;
		t->ack_now = true; /* what we could not take gets an ACK: it tells
				    * a zero-window prober our window */
	}
	/* the profile's old_fin_ack: the peer's FIN again, all of it below
	 * RCV.NXT, is trimmed to an empty segment at RCV.NXT whose ACK counts
	 * (it may acknowledge our FIN: CLOSING to TIME-WAIT) and is answered
	 * as the RFC would; RFC 9293 3.10.7.4 first step only answers it */
	if (!ok && t->s->cfg.profile.old_fin_ack && seq + seglen == t->rcv_nxt &&
	    (seg->flags & (TAPIR_TH_FIN | TAPIR_TH_ACK | TAPIR_TH_SYN | TAPIR_TH_RST)) ==
		    (TAPIR_TH_FIN | TAPIR_TH_ACK)) {
		ok = true;
		seg->seq = t->rcv_nxt;
		seg->len = 0;
		seg->flags &= (uint8_t)~TAPIR_TH_FIN;
		t->ack_now = true;
	}
	if (!ok) {
		uint32_t start = seq + (seg->flags & TAPIR_TH_SYN ? 1 : 0);
		if (seg->flags & TAPIR_TH_RST) {
			*v = tcp_dropped(TCP_ANS_NONE);
			return false;
		}
		if (seg->len && SEQ_LEQ(start + seg->len, t->rcv_nxt)) {
			tcp_dsack(t, start, start + seg->len);
			tcp_quickack_enter(t, wnd);
		}
		*v = tcp_dropped(TCP_ANS_ACK);
		return false;
	}
	/* RFC 7323 4.3 (2): remember the newest timestamp of a segment that
	 * starts at or before what we last acknowledged */
	if (t->ts_ok && seg->has_ts && SEQ_LEQ(seq, t->last_ack_sent) &&
	    (int32_t)(seg->tsval - t->ts_recent) >= 0) {
		t->ts_recent = seg->tsval;
		t->ts_recent_age = t->s->now;
	}
	return true;
}

/* RFC 9293 3.10.7.4 second: the RST bit.  RFC 5961 3.2: only an exact
 * RCV.NXT resets; anything else in the window gets a challenge ACK.  The
 * user is told "connection refused" in SYN-RECEIVED (from a listener,
 * nobody: back to LISTEN, the embryo is forgotten), "connection reset" in
 * ESTABLISHED, FIN-WAIT-1 and -2 and CLOSE-WAIT, nothing in CLOSING,
 * LAST-ACK and TIME-WAIT. */
static bool tcp_check_rst(struct tapir_tcp *t, const struct tp_seg *seg, struct tcp_verdict *v)
{
	static const int told[TAPIR_TCP_TIME_WAIT + 1] = {
		[TAPIR_TCP_SYN_RECEIVED] = ECONNREFUSED, [TAPIR_TCP_ESTABLISHED] = ECONNRESET,
		[TAPIR_TCP_FIN_WAIT_1] = ECONNRESET,     [TAPIR_TCP_FIN_WAIT_2] = ECONNRESET,
		[TAPIR_TCP_CLOSE_WAIT] = ECONNRESET,
	};
	int err;

	if (!(seg->flags & TAPIR_TH_RST))
		return true;
	/* the profile's insecure_rst: RFC 793 3.9, any RST in the window */
	if (seg->seq != t->rcv_nxt && !t->s->cfg.profile.insecure_rst) {
		*v = tcp_dropped(TCP_ANS_CHALLENGE);
		return false;
	}
	err = t->state == TAPIR_TCP_SYN_RECEIVED && t->passive ? 0 : told[t->state];
	if ((t->state == TAPIR_TCP_LAST_ACK || t->state == TAPIR_TCP_CLOSING) &&
	    t->s->cfg.profile.rst_closing_reset)
		err = ECONNRESET; /* FreeBSD tells the user (profile) */
	if (err == ECONNREFUSED)
		STAT(t->s, tcp_conn_refused);
	*v = tcp_ends(TP_OK, TCP_ANS_NONE, err);
	return false;
}

/* The rest of the first step (RFC 9293 3.10.7.4): only the new part of
 * the segment, within the window, is processed.  Done after the RST check,
 * which judges the segment as it came (RFC 5961 3.2).  What came before is
 * reported as a D-SACK (RFC 2883). */
static void tcp_trim_to_window(struct tapir_tcp *t, struct tp_seg *seg)
{
	uint32_t wnd = rcv_wnd_offered(t);
	if (SEQ_LT(seg->seq, t->rcv_nxt)) {
		uint32_t d = t->rcv_nxt - seg->seq;
		if (seg->flags & TAPIR_TH_SYN) {
			seg->flags &= (uint8_t)~TAPIR_TH_SYN;
			seg->seq++;
			d--;
		}
		tcp_dsack(t, seg->seq, seg->seq + (d < seg->len ? d : seg->len)); /* the part had before */
		if (d >= seg->len) {
			if (d > seg->len) /* the FIN, too, was received before */
				seg->flags &= (uint8_t)~TAPIR_TH_FIN;
			d = seg->len;
		}
		seg->data += d;
		seg->seq += d;
		seg->len -= d;
	}
	if (seg->len && SEQ_GT(seg->seq + seg->len, t->rcv_nxt + wnd)) {
		seg->len = t->rcv_nxt + wnd - seg->seq;
		seg->flags &= (uint8_t)~TAPIR_TH_FIN;
		t->ack_now = true;
	}
}

/* RFC 9293 3.10.7.4 fourth: a SYN in a synchronized state.  RFC 5961 4.2:
 * a challenge ACK, whatever its sequence number; in SYN-RECEIVED from a
 * listener, back to LISTEN (the embryo is forgotten). */
static bool tcp_check_syn(struct tapir_tcp *t, const struct tp_seg *seg, struct tcp_verdict *v)
{
	if (!(seg->flags & TAPIR_TH_SYN))
		return true;
	if (t->state == TAPIR_TCP_SYN_RECEIVED && t->passive)
		*v = tcp_ends(TAPIR_DROP_tcp_dropped, TCP_ANS_NONE, 0);
	else if (t->s->cfg.profile.insecure_syn) /* RFC 793 3.9: reset, ECONNRESET */
		*v = tcp_ends(TAPIR_DROP_tcp_dropped, TCP_ANS_RST_ACK, ECONNRESET);
	else
		*v = tcp_dropped(TCP_ANS_CHALLENGE);
	return false;
}

/* RFC 3168 6.1.3: a CE mark is echoed (ECE on every ACK) until the sender
 * says CWR; ACKed at once, so the sender hears of it soon */
static void tcp_ecn_echo(struct tapir_tcp *t, const struct tp_seg *seg)
{
	if (!t->ecn_ok)
		return;
	if (seg->flags & TAPIR_TH_CWR)
		t->ece_pending = false;
	if (seg->ecn == 3) {
		STAT(t->s, tcp_ecn_ce_rx);
		t->ece_pending = true;
		t->ack_now = true;
	}
}

/* RFC 9293 3.10.7.4 fifth, SYN-RECEIVED: an ACK of our SYN makes the
 * connection ESTABLISHED, with the window it offers; any other ACK gets
 * <SEQ=SEG.ACK><CTL=RST>. */
static bool tcp_ack_syn_received(struct tapir_tcp *t, const struct tp_seg *seg,
				 struct tcp_verdict *v)
{
	struct tapir_stack *s = t->s;
	if (!SEQ_GT(seg->ack, t->snd_una)) {
		*v = tcp_dropped(TCP_ANS_RST_ACKNO);
		return false;
	}
	/* the listener's accept queue is full (its application is behind):
	 * the ACK is dropped and the connection stays half-open, so a later
	 * ACK or our SYN,ACK's retransmission tries again, as Linux does
	 * (UNP 4.5) */
	if (t->parent && !t->tfo_early && t->parent->acc_n >= (unsigned)t->parent->backlog) {
		STAT(s, tcp_listen_overflows);
		*v = tcp_dropped(TCP_ANS_NONE);
		return false;
	}
	t->snd_una = t->iss + 1; /* our SYN is acknowledged */
	tcp_update_window(t, seg->seq, seg->ack, seg->wnd, true);
	tcp_handshake_done(t, seg);
	if (tcp_ooo_merge(t) && t->t_delack == TAPIR_TIME_NEVER)
		/* text queued from the SYN (3.10.7.3): ACKed as any data */
		tcp_timer_set(t, &t->t_delack, s->now + s->cfg.tcp_delack_us);
	if (t->parent && !t->tfo_early)
		tcp_child_established(t);
	else if (!t->parent) /* (a Fast Open child is in the accept queue already) */
		tcp_notify(t, TAPIR_EV_CONNECTED | TAPIR_EV_WRITE);
	t->tfo_early = false;
	return true;
}

/* New data acknowledged: SND.UNA < SEG.ACK (RFC 9293 3.10.7.4 fifth) */
static void tcp_ack_advance(struct tapir_tcp *t, const struct tp_seg *seg)
{
	uint32_t acked = seg->ack - t->snd_una;
	bool full = t->snd.len >= t->snd.cap;
	/* beyond the data, the rest is our FIN */
	ring_consume(&t->snd, acked > t->snd.len ? t->snd.len : acked);
	if (full)
		tcp_snd_space_adjust(t);
	/* all acknowledged: no ring held (but a tuned one: tcp_snd_ring_keep) */
	if (!t->snd.len && !tcp_snd_ring_keep(t))
		tcp_ring_put(t, &t->snd);
	t->snd_una = seg->ack;
	if (SEQ_LT(t->snd_nxt, t->snd_una))
		t->snd_nxt = t->snd_una;
	tcp_rtt_ack(t, seg);
	if (t->sack_ok)
		tcp_sack_trim(t);
	t->backoff = 0;
	/* progress: the user timeout's clocks start again (tcp_rexmt_arm) */
	t->una_since = t->persist_since = TAPIR_TIME_NEVER;
	/* RFC 6298 5.2/5.3 */
	if (t->snd_una == t->snd_max)
		t->t_rexmt = TAPIR_TIME_NEVER;
	else
		tcp_rexmt_arm(t);
	cc_spurious_check(t, seg->ack, seg->has_ts, seg->tsecr);
	/* a partial ACK without SACK: the segment at SND.UNA (RFC 6582 3.2
	 * (5)) */
	if (cc_ack(t, acked) && !t->sack_ok)
		tcp_resend(t, t->snd_una, t->mss);
	tcp_notify(t, TAPIR_EV_WRITE);
}

/* Duplicate ACKs.  RFC 5681 2: no data, no FIN, the same window, nothing
 * new acknowledged -- and not behind a zero window, where the answers to
 * persist probes look alike and mean no loss.  RFC 6675 2: with SACK, any
 * ACK that SACKs new data (NEWLY) is one, even if it moves SND.UNA or the
 * window; one without SACK blocks (a peer that agreed to SACK but sends
 * none) when it is one by RFC 5681's rules. */
static void tcp_ack_duplicate(struct tapir_tcp *t, const struct tp_seg *seg, uint32_t newly,
			      bool advanced)
{
	bool dup = !advanced && seg->ack == t->snd_una && seg->len == 0 &&
		   !(seg->flags & TAPIR_TH_FIN) && seg->wnd == t->snd_wnd && seg->wnd;
	if (t->sack_ok) {
		dup = newly || (!seg->nsack && dup);
		if (advanced || dup)
			tcp_sack_ack(t, dup, advanced);
	} else if (dup && t->snd_max != t->snd_una && cc_dupack(t)) {
		/* RFC 5681 3.2: fast retransmit */
		tcp_resend(t, t->snd_una, t->mss);
		STAT(t->s, tcp_fast_retransmits);
	}
}

/* RFC 9293 3.10.7.4 fifth, the closing states: FIN-WAIT-1 and -2,
 * CLOSING, LAST-ACK, TIME-WAIT */
static bool tcp_ack_closing(struct tapir_tcp *t, const struct tp_seg *seg, struct tcp_verdict *v)
{
	struct tapir_stack *s = t->s;
	bool fin_acked = tcp_fin_acked(t);
	switch (t->state) {
	case TAPIR_TCP_FIN_WAIT_1:
		if (fin_acked) {
			tcp_set_state(t, TAPIR_TCP_FIN_WAIT_2);
			if (t->user_closed)
				tcp_timer_set(t, &t->t_2msl, s->now + s->cfg.tcp_fin_timeout_us);
		}
		return true;
	case TAPIR_TCP_CLOSING:
		if (fin_acked)
			tcp_enter_time_wait(t);
		*v = tcp_taken();
		return false;
	case TAPIR_TCP_LAST_ACK:
		if (!fin_acked)
			return true;
		*v = tcp_ends(TP_OK, TCP_ANS_NONE, 0);
		return false;
	case TAPIR_TCP_TIME_WAIT:
		/* a retransmitted FIN: acknowledge it, restart 2MSL */
		*v = tcp_taken();
		if (seg->flags & TAPIR_TH_FIN) {
			tcp_timer_set(t, &t->t_2msl, s->now + 2 * s->cfg.tcp_msl_us);
			v->answer = TCP_ANS_ACK;
		}
		return false;
	default:
		return true;
	}
}

/* RFC 9293 3.10.7.4 fifth: the ACK field */
static bool tcp_check_ack(struct tapir_tcp *t, const struct tp_seg *seg, struct tcp_verdict *v)
{
	uint32_t newly;
	bool advanced;

	if (!(seg->flags & TAPIR_TH_ACK)) {
		*v = tcp_dropped(TCP_ANS_NONE);
		return false;
	}
	/* RFC 5961 5.2: acceptable is SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT
	 * (SND.MAX here, as after a timeout SND.NXT went back) */
	if (SEQ_GT(seg->ack, t->snd_max) || SEQ_LT(seg->ack, t->snd_una - t->max_sndwnd)) {
		*v = tcp_dropped(TCP_ANS_CHALLENGE);
		return false;
	}
	tcp_ecn_echo(t, seg);
	if (t->state == TAPIR_TCP_SYN_RECEIVED && !tcp_ack_syn_received(t, seg, v))
		return false;
	/* ESTABLISHED and the states after it */
	newly = t->sack_ok && seg->nsack ? tcp_sack_update(t, seg->sack, seg->nsack) : 0;
	advanced = SEQ_GT(seg->ack, t->snd_una);
	if (tcp_rack_active(t) || tcp_prr_active(t))
		tcp_rack_ack(t, seg, newly); /* RFC 8985 6.2, RFC 6937 */
	if (advanced)
		tcp_ack_advance(t, seg);
	tcp_ack_duplicate(t, seg, newly, advanced);
	/* RFC 3168 6.1.2: the network said congestion, not loss */
	if (t->ecn_ok && (seg->flags & TAPIR_TH_ECE))
		cc_ecn(t);
	tcp_update_window(t, seg->seq, seg->ack, seg->wnd, false);
	return tcp_ack_closing(t, seg, v);
}

/* The text of SEG, in order or beyond a hole, into the receive buffer */
static void tcp_data(struct tapir_tcp *t, const struct tp_seg *seg)
{
	struct tapir_stack *s = t->s;
	uint32_t seq = seg->seq, len = seg->len;
	const uint8_t *data = seg->data;
	uint32_t room = t->rcv.cap - t->rcv.len, wnd = rcv_wnd_offered(t);

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
		tcp_rcv_rtt_measure(t);
		/* RFC 5681 4.2 / RFC 1122 4.2.3.2 ask for an ACK at least every
		 * second full-sized segment; like Linux and FreeBSD we ACK every
		 * second segment of any size, a filled hole at once, and delay
		 * the rest (but in quick-ack mode, tcp_quickack) */
		t->unacked_segs++;
		if (tcp_quickack(t, wnd) || filled) {
			t->ack_now = true;
			t->ack_lazy = false;
		} else if (t->unacked_segs >= 2) {
			tcp_ack_lazily(t);
		} else if (t->t_delack == TAPIR_TIME_NEVER)
			tcp_timer_set(t, &t->t_delack, s->now + s->cfg.tcp_delack_us);
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
		if (tcp_ooo_add(t, seq, seq + len)) {
			ring_write_at(&t->rcv, t->rcv.len + off, data, len);
			STAT(s, tcp_ooo_queued);
			/* the block holding this segment goes first in SACKs */
			for (unsigned i = 0; i < t->nooo; i++)
				if (SEQ_LEQ(t->ooo[i].start, seq) && SEQ_LT(seq, t->ooo[i].end))
					t->ooo_last = t->ooo[i].start;
		}
		t->ack_now = true; /* RFC 5681 4.2: a duplicate ACK at once */
	}
}

/* The receive ring's bytes that SEG's text needs, at its place after
 * RCV.NXT (in order, or beyond a hole), never more than the ring's cap */
static uint32_t tcp_rcv_need(const struct tapir_tcp *t, const struct tp_seg *seg)
{
	uint64_t need = (uint64_t)t->rcv.len + (uint32_t)(seg->seq - t->rcv_nxt) + seg->len;
	return need < t->rcv.cap ? (uint32_t)need : t->rcv.cap;
}

/* RFC 9293 3.10.7.4 seventh: segment text, in ESTABLISHED and FIN-WAIT-1
 * and -2 */
static bool tcp_process_text(struct tapir_tcp *t, const struct tp_seg *seg, struct tcp_verdict *v)
{
	if (!seg->len || (t->state != TAPIR_TCP_ESTABLISHED && t->state != TAPIR_TCP_FIN_WAIT_1 &&
			  t->state != TAPIR_TCP_FIN_WAIT_2))
		return true;
	if (t->user_closed) {
		/* nobody will read it: RFC 1122 4.2.2.13, reset */
		*v = tcp_ends(TP_OK, TCP_ANS_RST, 0);
		return false;
	}
	/* the ring's memory comes, and grows, with the bytes it holds;
	 * without it the text is not taken, as beyond the window, and the
	 * ACK says so */
	if (tcp_ring_get(t, &t->rcv, tcp_rcv_need(t, seg)) < 0) {
		STAT(t->s, tcp_rcv_nomem);
		t->ack_now = true;
		return true;
	}
	tcp_data(t, seg);
	if (!t->rcv.len && !t->nooo) /* nothing taken (beyond the window) */
		tcp_ring_put(t, &t->rcv);
	return true;
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

/* RFC 9293 3.10.7.4 eighth: the FIN bit, taken once every byte before it
 * is in; one that came early waits for the hole before it to fill */
static void tcp_process_fin(struct tapir_tcp *t, const struct tp_seg *seg)
{
	struct tapir_stack *s = t->s;
	if (seg->flags & TAPIR_TH_FIN) {
		t->rcv_fin_seq = seg->seq + seg->len;
		t->fin_pending = true;
		t->ack_now = true;
	}
	if (t->fin_pending && !t->rcv_fin && t->rcv_nxt == t->rcv_fin_seq) {
		t->fin_pending = false;
		tcp_fin_in_order(t);
	}
	if (t->state == TAPIR_TCP_TIME_WAIT)
		tcp_timer_set(t, &t->t_2msl, s->now + 2 * s->cfg.tcp_msl_us);
}

/* RFC 9293 3.10.7.4: every state from SYN-RECEIVED on, step by step.  The
 * steps trim a copy of the segment as they go. */
struct tcp_verdict tcp_sync_input(struct tapir_tcp *t, const struct tp_seg *seg)
{
	struct tcp_verdict v = tcp_taken();
	struct tp_seg in = *seg;

	/* RFC 7323 2.3: the window field of a non-SYN segment is scaled */
	if (t->ws_ok && !(seg->flags & TAPIR_TH_SYN))
		in.wnd <<= t->snd_wscale;
	/* A retransmitted SYN in SYN-RECEIVED means our SYN,ACK was lost:
	 * send it again rather than the RFC's bare ACK. */
	if (t->state == TAPIR_TCP_SYN_RECEIVED &&
	    (in.flags & (TAPIR_TH_SYN | TAPIR_TH_ACK | TAPIR_TH_RST)) == TAPIR_TH_SYN && in.seq == t->irs) {
		t->snd_nxt = t->iss;
		tcp_output(t);
		return v;
	}
	if (tcp_tw_profile_check(t, &in, &v))
		return v;
	if (!tcp_check_sequence(t, &in, &v) || /* first */
	    !tcp_check_rst(t, &in, &v))         /* second */
		return v;
	/* third: security -- nothing to check */
	tcp_trim_to_window(t, &in);             /* (the first step's trimming) */
	if (tcp_check_syn(t, &in, &v) &&        /* fourth */
	    tcp_check_ack(t, &in, &v) &&        /* fifth */
	    /* sixth: URG is ignored (RFC 6093 recommends applications not use it) */
	    tcp_process_text(t, &in, &v))       /* seventh */
		tcp_process_fin(t, &in);        /* eighth */
	return v;
}

/* A reset answering SEG (back to where it came from), counted. */
static void tcp_answer_rst(const struct tapir_tcp *t, const struct tp_seg *seg, uint32_t seq,
			   uint32_t ack, uint8_t flags)
{
	STAT(t->s, tcp_rst_sent);
	tcp_respond(t->s, t, &seg->dst, seg->dport, &seg->src, seg->sport, seq, ack, flags);
}

/* The one place a segment's verdict is carried out: its answer, the end of
 * the connection, and then (OUTPUT) what the connection has to send.
 * Returns what tapir_stack_input counts. */
static int tcp_verdict_apply(struct tapir_tcp *t, const struct tp_seg *seg, struct tcp_verdict v,
			     bool output)
{
	switch (v.answer) {
	case TCP_ANS_ACK:
		/* one that answers a SYN is a challenge ACK too (RFC 5961 4.2) */
		t->ack_plain = (seg->flags & TAPIR_TH_SYN) != 0;
		tcp_send_ack(t);
		t->ack_plain = false;
		break;
	case TCP_ANS_CHALLENGE:
		tcp_challenge_ack(t);
		break;
	case TCP_ANS_RST_ACKNO: /* <SEQ=SEG.ACK><CTL=RST> */
		tcp_answer_rst(t, seg, seg->ack, 0, TAPIR_TH_RST);
		break;
	case TCP_ANS_RST:
		tcp_send_rst(t);
		break;
	case TCP_ANS_RST_ACK:
		tcp_answer_rst(t, seg, t->snd_nxt, t->rcv_nxt, TAPIR_TH_RST | TAPIR_TH_ACK);
		break;
	default:
		break;
	}
	if (v.end) {
		tcp_drop(t, v.err);
	} else if (output) {
		tcp_keep_arm(t);
		tcp_output(t);
	}
	return v.reason;
}

/* A replaced segment handler (hook.h) sees the segment first. */
static enum tapir_verdict tcp_handler(struct tapir_tcp *t, const struct tp_seg *seg,
				      uint8_t byte12)
{
	struct tapir_tcp_seg h = {
		.src = tapir_ip_is_v4(&seg->src) ? tapir_ip_v4(&seg->src) : 0,
		.dst = tapir_ip_is_v4(&seg->dst) ? tapir_ip_v4(&seg->dst) : 0,
		.saddr = seg->src, .daddr = seg->dst, .sport = seg->sport, .dport = seg->dport,
		.seq = seg->seq, .ack = seg->ack, .wnd = seg->wnd, .flags = seg->flags,
		.reserved = byte12 & 0x0f, .data = seg->data, .len = seg->len, .mss = seg->mss,
	};
	return t->handler(t->handler_arg, t, &h);
}

/* No connection for SEG: a listener's (RFC 9293 3.10.7.2), or nobody's
 * (3.10.7.1) */
static int tcp_no_conn_input(struct tapir_stack *s, const struct tp_seg *seg, uint8_t byte12)
{
	struct tapir_tcp *l = tcp_lookup_listener(s, &seg->dst, seg->dport), *c;
	bool roomless = false;
	if (!l)
		return tcp_reply_closed(s, seg);
	if (l->handler && tcp_handler(l, seg, byte12) == TAPIR_DROP)
		return TP_OK;
	/* an ACK that returns a SYN cookie makes the connection, and
	 * completes its handshake (RFC 4987 3.6) */
	if ((seg->flags & (TAPIR_TH_SYN | TAPIR_TH_ACK | TAPIR_TH_RST)) == TAPIR_TH_ACK &&
	    s->cfg.tcp_syncookies) {
		if ((c = tcp_cookie_check(l, seg, &roomless)) != NULL)
			return tcp_verdict_apply(c, seg, tcp_sync_input(c, seg), false);
		if (roomless)
			return tcp_verdict_apply(l, seg, tcp_dropped(TCP_ANS_NONE), false);
	}
	return tcp_verdict_apply(l, seg, tcp_listen_input(l, seg), false);
}

/* The segment in PKT (after an IP header of HLEN bytes) into SEG, with
 * the checks that need no connection: TP_OK or the drop reason.  (A hook
 * may rewrite the segment in place before it is parsed.) */
static int tcp_parse(struct tapir_stack *s, uint8_t *pkt, size_t len, size_t hlen,
		     struct tp_seg *seg)
{
	const uint8_t *th = pkt + hlen;
	size_t tlen = len - hlen, off;
	uint32_t sum;

	if (tlen < TAPIR_TCP_HLEN)
		return TAPIR_DROP_tcp_short;
	memset(seg, 0, sizeof(*seg));
	seg->wscale = -1;
	seg->tfo.len = -1;
	if (!tp_l4_addrs(pkt, tlen, TAPIR_IPPROTO_TCP, &seg->src, &seg->dst, &seg->ecn, &sum))
		return TAPIR_DROP_tcp_short;
	if (!(s->rx_flags & TAPIR_RX_CSUM_PARTIAL) && tapir_csum_fold(tapir_csum_add(sum, th, tlen)))
		return TAPIR_DROP_tcp_checksum;
	if (HOOKED(s, TAPIR_HOOK_TCP_RX) &&
	    !hook_run_ip(s, TAPIR_HOOK_TCP_RX, pkt + hlen, tlen, &seg->src, &seg->dst,
			 tapir_tcp_lookup_addr(s, &seg->dst, tapir_get16(th + TAPIR_TH_DPORT), &seg->src,
					    tapir_get16(th + TAPIR_TH_SPORT))))
		return TAPIR_DROP_hook;
	off = (size_t)(th[TAPIR_TH_OFF] >> 4) * 4;
	if (off < TAPIR_TCP_HLEN || off > tlen)
		return TAPIR_DROP_tcp_header;
	/* RFC 1122 4.2.3.10; RFC 8200 2 / RFC 4291 2.7: no multicast TCP */
	if (tcp_addr_is_group(s, &seg->dst))
		return TAPIR_DROP_tcp_dropped;
	seg->sport = tapir_get16(th + TAPIR_TH_SPORT);
	seg->dport = tapir_get16(th + TAPIR_TH_DPORT);
	seg->seq = tapir_get32(th + TAPIR_TH_SEQ);
	seg->ack = tapir_get32(th + TAPIR_TH_ACK_NO);
	seg->flags = th[TAPIR_TH_FLAGS]; /* with ECE and CWR (RFC 3168 6.1) */
	seg->wnd = tapir_get16(th + TAPIR_TH_WIN);
	seg->data = th + off;
	seg->len = (uint32_t)(tlen - off);
	tcp_parse_options(th + TAPIR_TCP_HLEN, off - TAPIR_TCP_HLEN, seg);
	return TP_OK;
}

static int tcp_input_seg(struct tapir_stack *s, uint8_t *pkt, size_t len, size_t hlen)
{
	const uint8_t *th = pkt + hlen;
	uint8_t byte12;
	struct tp_seg seg;
	struct tapir_tcp *t;
	int r = tcp_parse(s, pkt, len, hlen, &seg);

	if (r != TP_OK)
		return r;
	STAT(s, tcp_rx);
	if (TRACE_ON(s, TAPIR_TR_TCP))
		tcp_trace_seg(s, "rx", &seg.src, seg.sport, &seg.dst, seg.dport, th, len - hlen);
	byte12 = th[TAPIR_TH_OFF];
	/* the profile's drop_synfin: no RFC asks it, FreeBSD can */
	if (s->cfg.profile.drop_synfin &&
	    (seg.flags & (TAPIR_TH_SYN | TAPIR_TH_FIN)) == (TAPIR_TH_SYN | TAPIR_TH_FIN))
		return TAPIR_DROP_tcp_dropped;

	t = tcp_lookup(s, &seg.dst, seg.dport, &seg.src, seg.sport);
	if (!t) /* TIME-WAIT kept as a record: its TCB again, for this segment */
		t = tcp_tw_thaw(s, &seg.dst, seg.dport, &seg.src, seg.sport);
	/* RFC 6191's idea without timestamps: a new SYN beyond the old
	 * connection's sequence space may end its TIME-WAIT early */
	if (t && t->state == TAPIR_TCP_TIME_WAIT && (seg.flags & (TAPIR_TH_SYN | TAPIR_TH_ACK | TAPIR_TH_RST)) == TAPIR_TH_SYN &&
	    SEQ_GT(seg.seq, t->rcv_nxt) && tcp_lookup_listener(s, &seg.dst, seg.dport)) {
		if (t->user_closed)
			tcp_free(t);
		else
			tcp_drop(t, 0);
		t = NULL;
	}
	if (!t)
		return tcp_no_conn_input(s, &seg, byte12);
	if (t->handler && tcp_handler(t, &seg, byte12) == TAPIR_DROP)
		return TP_OK; /* the handler took it; T may be gone */
	if (byte12 & 0x0f) {
		/* RFC 9401 3.1: a DTH (or any reserved bit) is reported to the
		 * application, and changes nothing else */
		t->rx_reserved |= byte12 & 0x0f;
		if (byte12 & TAPIR_TH_RES_DTH)
			STAT(s, tcp_dth_rx);
		tcp_notify(t, TAPIR_EV_DTH);
	}
	t->last_rx = s->now;
	t->keep_probes = 0;
	t->probes_unanswered = 0;
	return tcp_verdict_apply(t, &seg, t->state == TAPIR_TCP_SYN_SENT ? tcp_synsent_input(t, &seg)
									: tcp_sync_input(t, &seg),
				 true);
}

int tcp_input(struct tapir_stack *s, uint8_t *pkt, size_t len, size_t hlen)
{
	int r = tcp_input_seg(s, pkt, len, hlen);
	tcp_tw_settle(s); /* a connection now in TIME-WAIT: a record again */
	return r;
}

/* RFC 5927 / RFC 1122 4.2.3.9: an ICMP or ICMPv6 error about one of our
 * segments (TH: its TCP header, at least 8 bytes, from LADDR to RADDR).
 * Believed only if it quotes a sequence number in flight (RFC 5927 4.1:
 * SND.UNA <= SEG.SEQ < SND.NXT, with SND.MAX here since a timeout moves
 * SND.NXT back).  HARD: protocol or port unreachable (RFC 1122 4.2.3.9;
 * RFC 4443 3.1's port unreachable for IPv6), or our own ARP/ND failure,
 * as good as a hard answer for a connect, as Linux has it: it ends a
 * connection in SYN-SENT.  The rest, net and host unreachable among them,
 * are soft: the connection goes on and the error is told only if it then
 * times out (UNP 4.3).  TOO_BIG: a fragmentation needed (RFC 1191 4) or
 * packet too big (RFC 8201 4) with that path MTU estimate: believed only
 * by the same check (RFC 5927 7, RFC 9293 3.9.2.2: the attack that
 * shrinks segments with forged messages), counted either way. */
int tcp_icmp_error(struct tapir_stack *s, const struct tapir_ip *laddr, const struct tapir_ip *raddr,
		   const uint8_t *th, int err, bool hard, unsigned too_big)
{
	struct tapir_tcp *t = tcp_lookup(s, laddr, tapir_get16(th + TAPIR_TH_SPORT), raddr,
					 tapir_get16(th + TAPIR_TH_DPORT));
	uint32_t seq = tapir_get32(th + TAPIR_TH_SEQ);
	if (!t || SEQ_LT(seq, t->snd_una) || SEQ_GEQ(seq, t->snd_max))
		return too_big ? TAPIR_DROP_icmp_too_big_bad : TAPIR_DROP_icmp_error_bad;
	if (too_big) {
		if (tapir_ip_is_v4(raddr))
			STAT(s, icmp_needfrag_ok);
		tp_l4_pmtu_update(s, raddr, too_big);
		tcp_pmtu_lowered(t, seq);
		return TP_OK;
	}
	if (t->state == TAPIR_TCP_SYN_SENT && hard) {
		tcp_drop(t, err);
		return TP_OK;
	}
	t->soft_error = err;
	return TP_OK;
}
