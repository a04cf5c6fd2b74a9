/* Congestion control.  The shared machinery: slow start (RFC 5681) with
 * appropriate byte counting (RFC 3465, L = 2), fast retransmit and NewReno
 * fast recovery (RFC 6582).  Two ways to grow and to back off, chosen per
 * socket (TAPIR_TCP_CONGESTION): NewReno's halving and one segment per
 * window (RFC 5681), or CUBIC's cubic growth around the last maximum and a
 * backoff to 0.7 (RFC 9438). */
#include <math.h>

#include "tcp_int.h"

#define CUBIC_BETA 0.7 /* RFC 9438 4.6 */
#define CUBIC_C 0.4    /* RFC 9438 5 */

static uint32_t flight(const struct tapir_tcp *t) { return t->snd_max - t->snd_una; }

/* The window after a loss: RFC 5681 (4) max(FlightSize / 2, 2 * SMSS) for
 * NewReno; RFC 9438 4.6 cwnd * beta for CUBIC, which also remembers where
 * the loss happened (W_max, with 4.7's fast convergence). */
static uint32_t loss_ssthresh(struct tapir_tcp *t)
{
	uint32_t w;
	if (t->cc_algo == TAPIR_CC_CUBIC) {
		double cwnd = (double)t->cwnd / t->mss;
		t->cubic_wmax = cwnd < t->cubic_wlast ? cwnd * (1 + CUBIC_BETA) / 2 : cwnd;
		t->cubic_wlast = cwnd;
		t->cubic_epoch = 0;
		w = (uint32_t)(t->cwnd * CUBIC_BETA);
	} else {
		w = flight(t) / 2;
	}
	return w > 2u * t->mss ? w : 2u * t->mss;
}

void cc_init(struct tapir_tcp *t)
{
	/* RFC 6928: IW = min(10 * MSS, max(2 * MSS, 14600)) for 10 segments */
	uint32_t iw = t->s->cfg.tcp_initial_window * t->mss;
	uint32_t cap = 2u * t->mss > 14600 ? 2u * t->mss : 14600;
	if (t->s->cfg.tcp_initial_window >= 10 && iw > cap)
		iw = cap;
	t->cwnd = iw ? iw : t->mss;
	t->ssthresh = 0x7fffffff; /* RFC 5681 3.1: arbitrarily high */
	t->bytes_acked = 0;
	t->dupacks = 0;
	t->in_recovery = false;
	t->recover = t->iss;
	t->reordering = 3;
	t->sack_high = t->iss;
	t->ecn_recover = t->iss;
	t->cubic_wmax = t->cubic_wlast = 0;
	t->cubic_epoch = 0;
	tcp_rack_init(t);
}

/* RFC 9438 4.2-4.4: congestion avoidance for CUBIC, per ACK of ACKED bytes */
static void cubic_avoid(struct tapir_tcp *t, uint32_t acked)
{
	double mss = t->mss, cwnd = t->cwnd / mss, rtt, el, target, wcubic;
	tapir_time_t now = t->s->now;
	if (!t->cubic_epoch) { /* a new epoch starts with the first ACK after loss */
		t->cubic_epoch = now;
		if (t->cubic_wmax < cwnd) { /* never lost at this size: K = 0 */
			t->cubic_k = 0;
			t->cubic_wmax = cwnd;
		} else {
			t->cubic_k = cbrt(t->cubic_wmax * (1 - CUBIC_BETA) / CUBIC_C);
		}
		t->cubic_west = cwnd;
	}
	rtt = (t->srtt ? (double)t->srtt : 100000.0) / 1e6;
	el = (double)(now - t->cubic_epoch) / 1e6;
	/* W_cubic(t + RTT) = C (t + RTT - K)^3 + W_max (eq. 1, 4.4) */
	wcubic = CUBIC_C * pow(el + rtt - t->cubic_k, 3) + t->cubic_wmax;
	/* the Reno-friendly estimate (4.3): alpha = 3 (1 - beta) / (1 + beta) */
	t->cubic_west += 3 * (1 - CUBIC_BETA) / (1 + CUBIC_BETA) * (acked / mss) / cwnd;
	target = wcubic;
	if (target < cwnd)
		target = cwnd;
	if (target > 1.5 * cwnd) /* 4.4: at most 50% per RTT */
		target = 1.5 * cwnd;
	if (t->cubic_west > target) /* 4.3: the Reno-friendly region */
		target = t->cubic_west;
	/* grow by (target - cwnd) / cwnd segments per segment acked */
	t->bytes_acked += (uint32_t)((target - cwnd) / cwnd * acked);
	if (t->bytes_acked >= t->mss) {
		t->cwnd += t->bytes_acked / t->mss * t->mss;
		t->bytes_acked %= t->mss;
	}
}

bool cc_ack(struct tapir_tcp *t, uint32_t acked)
{
	if (t->in_recovery) {
		if (SEQ_GEQ(t->snd_una, t->recover)) {
			/* RFC 6582 3.2 (3), RFC 6675 5 (B): a full ACK ends
			 * recovery, cwnd min(ssthresh, FlightSize + SMSS)
			 * (option 1); with PRR too, which leaves the end of
			 * recovery to the recovery algorithm (RFC 6937 3) */
			uint32_t f = flight(t) + t->mss;
			t->cwnd = t->ssthresh < f ? t->ssthresh : f;
			t->in_recovery = false;
			t->dupacks = 0;
			t->nrx = 0;
			return false;
		}
		if (t->sack_ok) /* RFC 6675: cwnd stays; the pipe says what goes */
			return false;
		if (tcp_prr_nosack(t)) { /* RFC 6937 in place of (5)'s deflation */
			tcp_prr_partial(t, acked);
			return true;
		}
		/* (5) a partial ACK: deflate by what it acked, add back one SMSS
		 * if that was at least one, and retransmit the next hole */
		t->cwnd = t->cwnd > acked ? t->cwnd - acked : t->mss;
		if (acked >= t->mss)
			t->cwnd += t->mss;
		return true;
	}
	t->dupacks = 0;
	if (t->cwnd < t->ssthresh) {
		/* slow start, RFC 3465 2.2: at most L * SMSS per ACK, L = 2 */
		t->cwnd += acked < 2u * t->mss ? acked : 2u * t->mss;
	} else if (t->cc_algo == TAPIR_CC_CUBIC) {
		cubic_avoid(t, acked);
	} else {
		/* congestion avoidance, RFC 3465 2.1: one SMSS per cwnd acked */
		t->bytes_acked += acked;
		if (t->bytes_acked >= t->cwnd) {
			t->bytes_acked -= t->cwnd;
			t->cwnd += t->mss;
		}
	}
	return false;
}

bool cc_dupack(struct tapir_tcp *t)
{
	t->dupacks++;
	if (t->in_recovery) {
		if (tcp_prr_nosack(t))
			tcp_prr_dupack(t, false); /* RFC 6937 in place of inflation */
		else
			t->cwnd += t->mss; /* RFC 5681 3.2 (4): inflate per dup ACK */
		return false;
	}
	/* RFC 6582 3.2 (1)-(2): the third duplicate, unless the ACK does not
	 * cover what was outstanding at the last recovery (a false alarm) */
	if (t->dupacks == 3 && SEQ_GT(t->snd_una, t->recover - 1)) {
		cc_enter_recovery(t);
		if (tcp_prr_nosack(t))
			tcp_prr_dupack(t, true);
		return true;
	}
	return false;
}

void cc_enter_recovery(struct tapir_tcp *t)
{
	/* RFC 3522: with timestamps, the ACK of the retransmission will tell
	 * whether the original had arrived after all (reordering) */
	t->undo_ok = t->ts_ok;
	t->undo_seq = t->snd_una;
	t->undo_tsval = tcp_ts_now(t);
	t->undo_cwnd = t->cwnd;
	t->undo_ssthresh = t->ssthresh;
	t->undo_wmax = t->cubic_wmax;
	t->undo_wlast = t->cubic_wlast;
	t->ssthresh = loss_ssthresh(t);
	t->recover = t->snd_max;
	/* NewReno counts the three segments the duplicates say have left
	 * (RFC 5681 3.2 (2)); with SACK the pipe counts them (RFC 6675 5 (4.2)) */
	t->cwnd = t->ssthresh + (t->sack_ok ? 0 : 3u * t->mss);
	t->in_recovery = true;
	t->bytes_acked = 0;
}

/* RFC 3522 2: the first ACK that covers the fast retransmission echoes a
 * timestamp older than it, so the original arrived: the retransmission
 * was spurious (the network reordered).  RFC 4015 3.2: the window comes
 * back as it was, recovery ends, and a loss found later may start a new
 * one.  Returns true when it undid. */
bool cc_spurious_check(struct tapir_tcp *t, uint32_t ack, bool has_ts, uint32_t tsecr)
{
	if (!t->undo_ok || !t->in_recovery || !SEQ_GT(ack, t->undo_seq))
		return false;
	t->undo_ok = false;
	if (!has_ts || (int32_t)(tsecr - t->undo_tsval) >= 0)
		return false;
	if (t->cwnd < t->undo_cwnd)
		t->cwnd = t->undo_cwnd;
	if (t->ssthresh < t->undo_ssthresh)
		t->ssthresh = t->undo_ssthresh;
	t->cubic_wmax = t->undo_wmax;
	t->cubic_wlast = t->undo_wlast;
	t->in_recovery = false;
	t->dupacks = 0;
	t->nrx = 0;
	t->recover = t->snd_una;
	/* the original came after this many later segments had: wait for
	 * that many duplicates from now on (bounded) */
	if (t->sack_ok && SEQ_GT(t->sack_high, t->undo_seq)) {
		uint32_t degree = (t->sack_high - t->undo_seq) / t->mss + 1;
		if (degree > TCP_REORDER_MAX)
			degree = TCP_REORDER_MAX;
		if (degree > t->reordering)
			t->reordering = (uint8_t)degree;
	}
	STAT(t->s, tcp_spurious_rexmits);
	return true;
}

void cc_ecn(struct tapir_tcp *t)
{
	/* once per window (6.1.2): not until data sent after the last
	 * reduction is acknowledged; nor while a loss is being answered */
	if (t->in_recovery || SEQ_LEQ(t->snd_una, t->ecn_recover))
		return;
	cc_reduce(t);
	t->ecn_recover = t->snd_max;
	t->cwr_pending = true;
	STAT(t->s, tcp_ecn_reductions);
}

void cc_reduce(struct tapir_tcp *t)
{
	t->ssthresh = loss_ssthresh(t);
	t->cwnd = t->ssthresh > t->mss ? t->ssthresh : t->mss;
	t->bytes_acked = 0;
	t->undo_ok = false;
}

void cc_timeout(struct tapir_tcp *t)
{
	t->undo_ok = false;
	/* RFC 5681 3.1 (4) and (5): loss window of one segment */
	t->ssthresh = loss_ssthresh(t);
	t->cwnd = t->mss;
	t->bytes_acked = 0;
	t->dupacks = 0;
	t->in_recovery = false;
	t->recover = t->snd_max; /* RFC 6582 4 */
}
