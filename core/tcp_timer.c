/* TCP timers: retransmission (RFC 6298), persist (RFC 9293 3.8.6.1),
 * delayed ACK (RFC 1122 4.2.3.2), keepalive (RFC 1122 4.2.3.6), TIME-WAIT
 * (2 MSL) and the orphan's FIN-WAIT-2 limit.  Each socket keeps absolute
 * deadlines, and one entry in the stack's timing wheel (timer.c) at no
 * later than the earliest of them: tcp_poll visits only the sockets whose
 * entry is due, so a poll costs the same with 10 or 100,000 idle ones.
 * A deadline turned off or pushed later leaves the entry where it is; when
 * it comes due, the socket finds nothing to do and files itself again at
 * its real earliest deadline. */
#include <errno.h>

#include "tcp_int.h"

static tapir_time_t backed_off_rto(const struct tapir_tcp *t)
{
	unsigned b = t->backoff < TCP_MAX_BACKOFF ? t->backoff : TCP_MAX_BACKOFF;
	tapir_time_t rto = t->rto << b;
	/* the profile's rto_slop_us (FreeBSD's TCPT_RANGESET adds it to each
	 * backed-off RTO) */
	if (b)
		rto += t->s->cfg.profile.rto_slop_us;
	return rto > t->s->cfg.tcp_rto_max_us ? t->s->cfg.tcp_rto_max_us : rto;
}

static tapir_time_t tcp_earliest(const struct tapir_tcp *t)
{
	tapir_time_t m = t->t_rexmt;
	if (t->t_persist < m) m = t->t_persist;
	if (t->t_keep < m) m = t->t_keep;
	if (t->t_delack < m) m = t->t_delack;
	if (t->t_2msl < m) m = t->t_2msl;
	if (t->t_rack < m) m = t->t_rack;
	return m;
}

void tcp_timer_set(struct tapir_tcp *t, tapir_time_t *field, tapir_time_t when)
{
	TP_ARM(t->s, *field, when);
	/* an entry not filed (none yet, or just run) goes at the earliest of
	 * all five; a filed one moves only to come earlier */
	if (!tp_timer_pending(&t->tmr))
		tp_timer_add(&t->s->tcp->wheel, &t->tmr, tcp_earliest(t));
	else if (when < t->tmr.when)
		tp_timer_add(&t->s->tcp->wheel, &t->tmr, when);
}

/* TCP_USER_TIMEOUT: RFC 793's USER TIMEOUT (RFC 9293 3.8.3 keeps it), the
 * local limit on how long sent data may remain unacknowledged before the
 * connection is closed (RFC 5482 1; its option only advises the peer,
 * RFC 5482 3, and is not sent).  The clock, SINCE, runs from the oldest
 * unacknowledged send (data, SYN or FIN) and starts again at each ACK that
 * moves SND.UNA (tcp_ack_advance); behind a zero window, from the first
 * probe until the window opens or data is acknowledged (tcp(7): data
 * "buffered ... untransmitted (due to zero window size)"), answered probes
 * or not.  A timer due past the limit comes at the limit, so the abort is
 * not late by up to a backed-off RTO. */
static tapir_time_t uto_clamp(const struct tapir_tcp *t, tapir_time_t since, tapir_time_t when)
{
	tapir_time_t end;
	if (!t->user_timeout_ms || since == TAPIR_TIME_NEVER)
		return when;
	end = since + TAPIR_MS(t->user_timeout_ms);
	if (end < t->s->now)
		end = t->s->now; /* set late, or already over: at once */
	return when < end ? when : end;
}

static bool uto_expired(const struct tapir_tcp *t, tapir_time_t since)
{
	return t->user_timeout_ms && since != TAPIR_TIME_NEVER &&
	       t->s->now - since >= TAPIR_MS(t->user_timeout_ms);
}

/* Only ever called with something outstanding: the first arm after none
 * starts the user timeout's clock. */
void tcp_rexmt_arm(struct tapir_tcp *t)
{
	if (t->una_since == TAPIR_TIME_NEVER)
		t->una_since = t->s->now;
	tcp_timer_set(t, &t->t_rexmt, uto_clamp(t, t->una_since, t->s->now + backed_off_rto(t)));
}

/* RFC 6298 2.2-2.4 */
void tcp_rtt_sample(struct tapir_tcp *t, tapir_time_t r)
{
	const struct tapir_config *c = &t->s->cfg;
	tapir_time_t k;
	if (r == 0)
		r = 1;
	if (!t->srtt) {
		t->srtt = r;
		t->rttvar = r / 2;
	} else {
		tapir_time_t d = t->srtt > r ? t->srtt - r : r - t->srtt;
		t->rttvar = (3 * t->rttvar + d) / 4; /* beta = 1/4 */
		t->srtt = (7 * t->srtt + r) / 8;    /* alpha = 1/8 */
	}
	k = 4 * t->rttvar;
	if (k < 1000) /* G: a clock granularity of 1 ms */
		k = 1000;
	t->rto = t->srtt + k;
	if (t->rto < c->tcp_rto_min_us)
		t->rto = c->tcp_rto_min_us;
	if (t->rto > c->tcp_rto_max_us)
		t->rto = c->tcp_rto_max_us;
}

void tcp_keep_arm(struct tapir_tcp *t)
{
	if (t->keepalive && (t->state == TAPIR_TCP_ESTABLISHED || t->state == TAPIR_TCP_CLOSE_WAIT))
		tcp_timer_set(t, &t->t_keep,
			      (t->last_rx ? t->last_rx : t->s->now) + TAPIR_SEC(t->keepidle) +
				      (tapir_time_t)t->keep_probes * TAPIR_SEC(t->keepintvl));
	else
		t->t_keep = TAPIR_TIME_NEVER;
}

static void tcp_timeout_error(struct tapir_tcp *t)
{
	STAT(t->s, tcp_conn_timeout);
	tcp_drop(t, t->soft_error ? t->soft_error : ETIMEDOUT);
}

/* Returns false when T was freed. */
static bool rexmt_timeout(struct tapir_tcp *t)
{
	struct tapir_stack *s = t->s;
	const struct tapir_config *c = &s->cfg;
	bool syn = t->state == TAPIR_TCP_SYN_SENT || t->state == TAPIR_TCP_SYN_RECEIVED;

	t->t_rexmt = TAPIR_TIME_NEVER;
	t->backoff++;
	/* RFC 1122 4.2.3.5: "An application MUST be able to set the value for
	 * R2 for a particular connection": the user timeout is that setting
	 * (RFC 5482 1), a time in place of the count, in every state that
	 * retransmits, SYN-SENT and SYN-RECEIVED too (as tcp(7)'s does) */
	if (t->user_timeout_ms ? uto_expired(t, t->una_since)
			       : syn ? t->backoff > c->tcp_syn_retries : t->backoff > c->tcp_retries2) {
		tcp_timeout_error(t);
		return false;
	}
	if (TRACE_ON(s, TAPIR_TR_TCP)) {
		char a[TAPIR_IP_PORT_STRLEN];
		tp_trace(s, TAPIR_TR_TCP, "%s retransmission timeout #%u, rto %llu ms",
			 tapir_ip_port_str(&t->raddr, t->rport, a), t->backoff,
			 (unsigned long long)(backed_off_rto(t) / 1000));
	}
	STAT(s, tcp_retransmits);
	STAT(s, tcp_timeouts);
	t->timing = false; /* Karn */
	if (syn) {
		t->syn_rexmt = true;
		t->snd_nxt = t->iss;
	} else {
		cc_timeout(t);
		t->snd_nxt = t->snd_una; /* go back: resend from the first hole */
		/* RFC 2018 8: after a timeout the SACKed bits are turned off,
		 * since the peer may have dropped what it held */
		t->nsacked = 0;
		t->nrx = 0;
		tcp_sackblk_release(t, false);
		t->rexmt_high = t->snd_una;
		if (tcp_rack_active(t))
			tcp_rack_rto(t);
	}
	tcp_output(t);
	if (t->t_rexmt == TAPIR_TIME_NEVER && t->snd_max != t->snd_una)
		tcp_rexmt_arm(t);
	return true;
}

/* Returns false when T was freed. */
static bool persist_timeout(struct tapir_tcp *t)
{
	bool zero = !t->snd_wnd; /* (else: the SWS override, 3.8.6.2.1) */
	t->t_persist = TAPIR_TIME_NEVER;
	/* RFC 9293 3.8.6.1: probing goes on as long as the peer answers; a
	 * peer that answers nothing is as gone as one that ACKs no data.  The
	 * user timeout bounds it even so (RFC 5482 1, uto_clamp) */
	if (++t->probes_unanswered > t->s->cfg.tcp_retries2 || (zero && uto_expired(t, t->persist_since))) {
		tcp_timeout_error(t);
		return false;
	}
	if (zero && t->persist_since == TAPIR_TIME_NEVER)
		t->persist_since = t->s->now;
	if (t->backoff < TCP_MAX_BACKOFF)
		t->backoff++;
	/* RFC 9293 3.8.6.1: send one byte past the zero window; the peer must
	 * answer with its current window */
	t->snd_nxt = t->snd_una;
	t->force = true;
	tcp_output(t);
	t->force = false;
	if (t->t_persist != TAPIR_TIME_NEVER)
		tcp_timer_set(t, &t->t_persist, uto_clamp(t, t->persist_since, t->t_persist));
	return true;
}

/* Keepalive's verdict, taken only when a probe is due.  RFC 1122 4.2.3.6:
 * the connection is dead after KEEPCNT unanswered probes.  RFC 5482 1
 * gives the user timeout no say here: it bounds transmitted data left
 * unacknowledged, and a probe sends none (SND.NXT - 1).  The profile's
 * uto_keepalive (Linux, tcp(7): the user timeout "will override keepalive
 * to determine when to close a connection due to keepalive failure"):
 * with a user timeout set, KEEPCNT does not count; the connection is dead
 * once a probe went unanswered and the time since the peer last spoke has
 * reached the user timeout, so it ends at the first probe time at or past
 * that (keepidle + k * keepintvl, k >= 1), fewer or more probes than
 * KEEPCNT.  With data unacknowledged or behind a zero window, the user
 * timeout's own clock decides (rexmt_timeout, persist_timeout). */
static bool keep_gives_up(const struct tapir_tcp *t)
{
	if (t->user_timeout_ms && t->s->cfg.profile.uto_keepalive)
		return t->keep_probes > 0 && t->una_since == TAPIR_TIME_NEVER &&
		       t->persist_since == TAPIR_TIME_NEVER && uto_expired(t, t->last_rx);
	return t->keep_probes >= (unsigned)t->keepcnt;
}

static bool keep_timeout(struct tapir_tcp *t)
{
	t->t_keep = TAPIR_TIME_NEVER;
	if (t->state == TAPIR_TCP_SYN_SENT) { /* TCP_KEEPINIT ran out (FreeBSD) */
		tcp_timeout_error(t);
		return false;
	}
	if (t->state != TAPIR_TCP_ESTABLISHED && t->state != TAPIR_TCP_CLOSE_WAIT)
		return true;
	if (keep_gives_up(t)) {
		tcp_timeout_error(t);
		return false;
	}
	/* RFC 1122 4.2.3.6: SEG.SEQ = SND.NXT - 1, no data: the peer answers
	 * with an ACK */
	tcp_send_segment(t, t->snd_una - 1, TAPIR_TH_ACK, 0, 0);
	t->keep_probes++;
	tcp_keep_arm(t);
	return true;
}

/* Runs T's due timers.  Returns false when T was freed. */
static bool tcp_timers_run(struct tapir_tcp *t, tapir_time_t now)
{
	if (t->t_2msl <= now) {
		t->t_2msl = TAPIR_TIME_NEVER;
		tcp_drop(t, t->state == TAPIR_TCP_FIN_WAIT_2 ? ETIMEDOUT : 0);
		return false;
	}
	/* (a PTO due with the RTO goes first: it re-arms the RTO) */
	if (t->t_rack <= now && !tcp_rack_timer(t))
		return false;
	if (t->t_rexmt <= now && !rexmt_timeout(t))
		return false;
	if (t->t_persist <= now && !persist_timeout(t))
		return false;
	if (t->t_keep <= now && !keep_timeout(t))
		return false;
	if (t->t_delack <= now) {
		t->t_delack = TAPIR_TIME_NEVER;
		tcp_send_ack(t);
	}
	return true;
}

tapir_time_t tcp_poll(struct tapir_stack *s, tapir_time_t now)
{
	struct tp_wheel *w = &s->tcp->wheel;
	struct tp_timer *e;

	tp_wheel_advance(w, now);
	/* each due socket runs once per poll, in deadline order; what it arms
	 * for NOW or before is due at the next poll, which the returned
	 * deadline asks for at once.  A socket freed meanwhile has left the
	 * due list (tcp_free). */
	while ((e = tp_wheel_pop(w))) {
		struct tapir_tcp *t = (struct tapir_tcp *)((char *)e - offsetof(struct tapir_tcp, tmr));
		/* a closed or listening socket runs no timers; what it arms
		 * when it opens files it again (tcp_timer_set) */
		if (t->state == TAPIR_TCP_CLOSED || t->state == TAPIR_TCP_LISTEN)
			continue;
		if (!tcp_timers_run(t, now) || t->state == TAPIR_TCP_CLOSED)
			continue;
		if (!tp_timer_pending(&t->tmr) || tcp_earliest(t) < t->tmr.when)
			tp_timer_add(w, &t->tmr, tcp_earliest(t));
	}
	return tp_wheel_next(w);
}
