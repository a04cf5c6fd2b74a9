/* Congestion control: slow start and congestion avoidance (RFC 5681) with
 * appropriate byte counting (RFC 3465, L = 2), fast retransmit and NewReno
 * fast recovery (RFC 6582). */
#include "tcp_int.h"

static uint32_t flight(const struct tapir_tcp *t) { return t->snd_max - t->snd_una; }

static uint32_t half_flight(const struct tapir_tcp *t)
{
	/* RFC 5681 (4): ssthresh = max(FlightSize / 2, 2 * SMSS) */
	uint32_t h = flight(t) / 2;
	return h > 2u * t->mss ? h : 2u * t->mss;
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
}

bool cc_ack(struct tapir_tcp *t, uint32_t acked)
{
	if (t->in_recovery) {
		if (SEQ_GEQ(t->snd_una, t->recover)) {
			/* RFC 6582 3.2 (3): a full ACK ends recovery */
			uint32_t f = flight(t) + t->mss;
			t->cwnd = t->ssthresh < f ? t->ssthresh : f;
			t->in_recovery = false;
			t->dupacks = 0;
			return false;
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
		t->cwnd += t->mss; /* RFC 5681 3.2 (4): inflate per dup ACK */
		return false;
	}
	/* RFC 6582 3.2 (1)-(2): the third duplicate, unless the ACK does not
	 * cover what was outstanding at the last recovery (a false alarm) */
	if (t->dupacks == 3 && SEQ_GT(t->snd_una, t->recover - 1)) {
		t->ssthresh = half_flight(t);
		t->recover = t->snd_max;
		t->cwnd = t->ssthresh + 3u * t->mss;
		t->in_recovery = true;
		return true;
	}
	return false;
}

void cc_timeout(struct tapir_tcp *t)
{
	/* RFC 5681 3.1 (4) and (5): loss window of one segment */
	t->ssthresh = half_flight(t);
	t->cwnd = t->mss;
	t->bytes_acked = 0;
	t->dupacks = 0;
	t->in_recovery = false;
	t->recover = t->snd_max; /* RFC 6582 4 */
}
