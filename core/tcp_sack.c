/* The sender's side of SACK: the scoreboard of what the peer holds
 * (RFC 2018), and loss recovery driven by it (RFC 6675): which holes count
 * as lost, how much is still in the network (the pipe), what to send next,
 * with limited transmit (RFC 3042) and early retransmit (RFC 5827) for
 * small windows, and a retransmission that was itself lost found again by
 * the SACKs of data sent after it, as RACK does (RFC 8985 6.2), instead of
 * waiting for the timeout.  Connections without SACK use NewReno
 * (RFC 6582) in tcp_input.c.  When the profile asks for RACK (rack),
 * tcp_rack.c finds the losses and says what the pipe holds; with prr,
 * RFC 6937 sets cwnd on each ACK of a recovery either way. */
#include <stdlib.h>

#include "tcp_int.h"

/* The duplicate threshold: RFC 6675 2's DupThresh of 3, raised after a
 * retransmission proved spurious by the reordering then seen (as RFC 4653
 * adapts it), but never above half the segments in flight, so that a
 * real loss is still found without waiting for the timeout. */
static unsigned dupthresh(const struct tapir_tcp *t)
{
	unsigned half = (t->snd_max - t->snd_una) / t->mss / 2;
	unsigned r = t->reordering > 3 ? t->reordering : 3;
	return r > half ? (half > 3 ? half : 3) : r;
}

/* T's SACK block, allocated when first needed; NULL when out of memory */
static struct tcp_sackblk *sackblk_get(struct tapir_tcp *t)
{
	if (!t->sb && !(t->sb = malloc(sizeof(*t->sb))))
		STAT(t->s, tcp_rcv_nomem);
	return t->sb;
}

void tcp_sackblk_release(struct tapir_tcp *t, bool force)
{
	if (t->sb && (force || (!t->nsacked && !t->nrx))) {
		free(t->sb);
		t->sb = NULL;
		t->nsacked = t->nrx = 0;
	}
}

/* Adds an ACK's N SACK blocks to the scoreboard; returns how many bytes
 * they newly cover (what makes the ACK a "DupAck" in RFC 6675 2). */
uint32_t tcp_sack_update(struct tapir_tcp *t, const uint32_t (*sack)[2], unsigned n)
{
	uint32_t before = 0, after = 0;
	for (unsigned i = 0; i < t->nsacked; i++)
		before += t->sb->sacked[i].end - t->sb->sacked[i].start;
	if (!sackblk_get(t))
		return 0; /* no memory: recovery without SACK (RFC 6582) */
	for (unsigned b = 0; b < n; b++) {
		uint32_t start = sack[b][0], end = sack[b][1];
		if (!SEQ_LT(start, end) || SEQ_LEQ(end, t->snd_una) || SEQ_GT(end, t->snd_max))
			continue; /* invalid, or a D-SACK (RFC 2883): nothing to keep */
		if (SEQ_LT(start, t->snd_una))
			start = t->snd_una;
		/* a full scoreboard forgets the block: bounded memory */
		tp_range_add(t->sb->sacked, &t->nsacked, TCP_SACK_MAX, start, end);
	}
	for (unsigned i = 0; i < t->nsacked; i++)
		after += t->sb->sacked[i].end - t->sb->sacked[i].start;
	if (t->nsacked && (SEQ_GT(t->sb->sacked[t->nsacked - 1].end, t->sack_high) ||
			    SEQ_LT(t->sack_high, t->snd_una)))
		t->sack_high = t->sb->sacked[t->nsacked - 1].end;
	return after > before ? after - before : 0;
}

/* Forgets what SND.UNA has passed, and the retransmissions it covers. */
void tcp_sack_trim(struct tapir_tcp *t)
{
	unsigned i = 0, k = 0;
	if (!t->sb)
		return;
	while (i < t->nsacked && SEQ_LEQ(t->sb->sacked[i].end, t->snd_una))
		i++;
	memmove(&t->sb->sacked[0], &t->sb->sacked[i], (t->nsacked - i) * sizeof(t->sb->sacked[0]));
	t->nsacked -= i;
	if (t->nsacked && SEQ_LT(t->sb->sacked[0].start, t->snd_una))
		t->sb->sacked[0].start = t->snd_una;
	for (i = 0; i < t->nrx; i++)
		if (SEQ_GT(t->sb->rx[i].end, t->snd_una))
			t->sb->rx[k++] = t->sb->rx[i];
	t->nrx = k;
	tcp_sackblk_release(t, false);
}

/* Bytes SACKed at or above SEQ, and in how many blocks. */
static uint32_t sacked_above(const struct tapir_tcp *t, uint32_t seq, unsigned *blocks)
{
	uint32_t n = 0;
	*blocks = 0;
	for (unsigned i = t->nsacked; i-- > 0 && SEQ_GT(t->sb->sacked[i].end, seq);) {
		n += t->sb->sacked[i].end - (SEQ_GT(t->sb->sacked[i].start, seq) ? t->sb->sacked[i].start : seq);
		(*blocks)++;
	}
	return n;
}

/* RFC 6675 4 IsLost(SeqNum), with RFC 5827's threshold when only a few
 * segments are out and nothing waits to be sent: fewer SACKs can come. */
static bool is_lost(const struct tapir_tcp *t, uint32_t seq)
{
	unsigned blocks, thresh = dupthresh(t);
	uint32_t out = t->snd_max - t->snd_una;
	uint32_t n = sacked_above(t, seq, &blocks);
	if (t->snd.len <= out && out < 4u * t->mss) {
		unsigned segs = (out + t->mss - 1) / t->mss;
		thresh = segs > 1 ? segs - 1 : 1;
	}
	return blocks >= thresh || n > (thresh - 1) * (uint32_t)t->mss;
}

/* Everything unSACKed below the returned sequence number is lost (the
 * start of the lowest SACK block above which IsLost holds); SND.UNA when
 * nothing is. */
static uint32_t lost_edge(const struct tapir_tcp *t)
{
	for (unsigned i = t->nsacked; i-- > 0;)
		if (is_lost(t, t->sb->sacked[i].start - 1))
			return t->sb->sacked[i].start;
	return t->snd_una;
}

/* Bytes in [SND.UNA, SEQ) not SACKed. */
static uint32_t unsacked_below(const struct tapir_tcp *t, uint32_t seq)
{
	uint32_t n;
	if (!SEQ_GT(seq, t->snd_una))
		return 0;
	n = seq - t->snd_una;
	for (unsigned i = 0; i < t->nsacked && SEQ_LT(t->sb->sacked[i].start, seq); i++)
		n -= (SEQ_LT(t->sb->sacked[i].end, seq) ? t->sb->sacked[i].end : seq) - t->sb->sacked[i].start;
	return n;
}

/* Bytes of the scoreboard below SEQ (what a cumulative ACK to SEQ takes
 * off it: delivered already, when it was SACKed). */
uint32_t tcp_sacked_below(const struct tapir_tcp *t, uint32_t seq)
{
	return SEQ_GT(seq, t->snd_una) ? seq - t->snd_una - unsacked_below(t, seq) : 0;
}

/* RFC 6675 4 SetPipe(): each unSACKed byte counts once if not lost, and
 * once more if retransmitted. */
uint32_t tcp_sack_pipe(const struct tapir_tcp *t)
{
	uint32_t out, lost;
	if (tcp_rack_active(t))
		return tcp_rack_pipe(t); /* RACK says what is lost */
	out = unsacked_below(t, t->snd_max);
	lost = unsacked_below(t, lost_edge(t));
	return out - lost + unsacked_below(t, t->rexmt_high);
}

/* RFC 6675 4 NextSeg() rules 1 and 3: the first unSACKed bytes at or above
 * HighRxt that are lost, or, with no new data to send instead, that lie
 * below a SACKed block at all.  Returns the length (at most MSS), 0 when
 * nothing qualifies. */
static uint32_t next_hole(const struct tapir_tcp *t, uint32_t *seq)
{
	uint32_t at = SEQ_GT(t->rexmt_high, t->snd_una) ? t->rexmt_high : t->snd_una;
	uint32_t edge = lost_edge(t), unsent = t->snd.len - (t->snd_max - t->snd_una);
	if (t->snd_max - t->snd_una > t->snd.len)
		unsent = 0; /* the FIN is out */
	for (unsigned i = 0; i < t->nsacked; i++) {
		if (SEQ_LT(at, t->sb->sacked[i].start)) {
			uint32_t n = t->sb->sacked[i].start - at;
			if (SEQ_GEQ(at, edge) && unsent && t->snd_wnd > t->snd_max - t->snd_una)
				return 0; /* rule 2 first: new data */
			*seq = at;
			return n < t->mss ? n : t->mss;
		}
		if (SEQ_LT(at, t->sb->sacked[i].end))
			at = t->sb->sacked[i].end;
	}
	return 0;
}

/* Sends N bytes from SEQ (within the send buffer) again, and remembers
 * when (by SND.MAX), so that a loss of this copy can be seen. */
void tcp_resend(struct tapir_tcp *t, uint32_t seq, uint32_t n)
{
	uint32_t off = seq - t->snd_una;
	if (off >= t->snd.len)
		return;
	if (n > t->snd.len - off)
		n = t->snd.len - off;
	t->timing = false; /* Karn */
	tcp_send_segment(t, seq, TAPIR_TH_ACK, off, n);
	if (SEQ_GT(seq + n, t->rexmt_high))
		t->rexmt_high = seq + n;
	if (!sackblk_get(t))
		return; /* sent, but not remembered: its loss waits for the RTO */
	if (t->nrx == TCP_SACK_MAX) { /* the oldest is forgotten: its loss waits for the RTO */
		memmove(&t->sb->rx[0], &t->sb->rx[1], (TCP_SACK_MAX - 1) * sizeof(t->sb->rx[0]));
		t->nrx--;
	}
	t->sb->rx[t->nrx].seq = seq;
	t->sb->rx[t->nrx].end = seq + n;
	t->sb->rx[t->nrx].mark = t->snd_max;
	t->nrx++;
	STAT(t->s, tcp_retransmits);
	tcp_rack_sent(t, seq, n, t->snd_max); /* RFC 6937: prr_out */
}

static bool is_sacked(const struct tapir_tcp *t, uint32_t seq, uint32_t end)
{
	for (unsigned i = 0; i < t->nsacked; i++)
		if (SEQ_LEQ(t->sb->sacked[i].start, seq) && SEQ_GEQ(t->sb->sacked[i].end, end))
			return true;
	return false;
}

/* RFC 8985 6.2's idea, by sequence instead of send time: a retransmission
 * is lost when data first sent after it (above its MARK) is SACKed past
 * the duplicate threshold.  Sends it again. */
static void lost_retransmissions(struct tapir_tcp *t)
{
	for (unsigned i = 0; i < t->nrx; i++) {
		unsigned blocks;
		uint32_t seq = SEQ_GT(t->sb->rx[i].seq, t->snd_una) ? t->sb->rx[i].seq : t->snd_una;
		if (is_sacked(t, seq, t->sb->rx[i].end) ||
		    sacked_above(t, t->sb->rx[i].mark, &blocks) <= (dupthresh(t) - 1) * (uint32_t)t->mss)
			continue;
		STAT(t->s, tcp_lost_retransmits);
		uint32_t end = t->sb->rx[i].end;
		memmove(&t->sb->rx[i], &t->sb->rx[i + 1], (t->nrx - i - 1) * sizeof(t->sb->rx[0]));
		t->nrx--;
		tcp_resend(t, seq, end - seq);
		i--;
	}
}

/* RFC 6675 5 (C): on each ACK in recovery, fill what the pipe leaves of
 * cwnd with lost holes; tcp_output then adds new data (rule 2). */
static void recover(struct tapir_tcp *t)
{
	uint32_t seq, n;
	lost_retransmissions(t);
	while (tcp_sack_pipe(t) + t->mss <= t->cwnd && (n = next_hole(t, &seq)) != 0)
		tcp_resend(t, seq, n);
}

/* An ACK of a SACK connection, after the scoreboard took its blocks:
 * NEWLY says it is a DupAck, ADVANCED that SND.UNA moved. */
void tcp_sack_ack(struct tapir_tcp *t, bool newly, bool advanced)
{
	if (advanced)
		t->dupacks = 0; /* RFC 6675 5 (1) */
	if (newly && t->snd_max != t->snd_una)
		t->dupacks++; /* a DupAck, RFC 6675 2 (and RFC 3042's count) */
	if (tcp_rack_active(t)) {
		tcp_rack_recover(t, advanced); /* RFC 8985 instead of 5 (4) */
		return;
	}
	if (t->snd_max == t->snd_una)
		return;
	if (t->in_recovery) {
		if (tcp_prr_active(t))
			tcp_prr_ack(t); /* RFC 6937: cwnd for what the pipe leaves */
		recover(t);
		return;
	}
	/* (4): the third DupAck, or enough SACKed above the first byte; not
	 * again for losses of the window that a recovery or a timeout has
	 * already answered (RFC 6582 3.2 (1), 4) */
	if (newly && (t->dupacks >= dupthresh(t) || is_lost(t, t->snd_una)) &&
	    SEQ_GEQ(t->snd_una, t->recover)) {
		uint32_t seq = t->snd_una, n = t->mss;
		cc_enter_recovery(t);
		if (tcp_prr_active(t)) {
			tcp_prr_start(t);
			tcp_prr_ack(t);
		}
		t->rexmt_high = t->snd_una;
		t->nrx = 0;
		STAT(t->s, tcp_fast_retransmits);
		/* (4.3): the first hole goes at once, whatever the pipe */
		if (t->nsacked && SEQ_LT(t->sb->sacked[0].start, seq + n))
			n = t->sb->sacked[0].start - seq;
		tcp_resend(t, seq, n ? n : t->mss);
		recover(t);
	}
	/* else RFC 3042: tcp_output may send new data past cwnd */
}
