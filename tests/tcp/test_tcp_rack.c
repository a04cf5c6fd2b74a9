/* RACK-TLP (RFC 8985) and PRR (RFC 6937) between two stacks in simulated
 * time, the cases of the RFCs: a tail loss repaired by a loss probe at
 * 2 SRTT, a lost retransmission found by RACK, reordering within the
 * reordering window taken for no loss, and PRR's window at the end of a
 * recovery.  A sends to B over a 10 ms cable; the tests lose or hold
 * chosen data segments by sequence number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tcpsim.h"
#include "../../core/tcp_int.h" /* tcp_rack_min_rtt */

#define DELAY TAPIR_MS(10)
#define MSS 1448 /* 1460 less the timestamps */
#define RULES 4

struct rule {
	uint32_t seg;      /* the data segment's index from the first (0 ...) */
	unsigned drop;     /* copies lost */
	tapir_time_t hold; /* or: the first copy held this long */
	unsigned seen;
	uint8_t frame[1600];
	size_t len;
	tapir_time_t due;
};

struct bench {
	struct sim sim;
	struct pair p;
	uint32_t base; /* A's first data sequence number */
	struct rule r[RULES];
	unsigned nr;
	uint8_t *out;
	size_t got;
	bool fin; /* A shuts down after its data */
	uint32_t drop_ack; /* the first pure ACK towards A with this ACK number is lost */
};

static bool hook(void *arg, int to, const uint8_t *f, size_t len)
{
	struct bench *b = arg;
	const uint8_t *th = f + 14 + 20;
	size_t hl;
	if (len < 14 + 20 + 20 || f[14 + 9] != 6)
		return false;
	hl = (size_t)(th[12] >> 4) * 4;
	if (to == 0 && b->drop_ack && tapir_get32(th + 8) == b->drop_ack && len == 14 + 20 + hl) {
		b->drop_ack = 0;
		return true;
	}
	if (to != 1)
		return false;
	if (len <= 14 + 20 + hl)
		return false;
	for (unsigned i = 0; i < b->nr; i++) {
		struct rule *r = &b->r[i];
		if (tapir_get32(th + 4) != b->base + r->seg * MSS)
			continue;
		r->seen++;
		if (r->hold && r->seen == 1 && len <= sizeof(r->frame)) {
			memcpy(r->frame, f, len);
			r->len = len;
			r->due = b->sim.now + r->hold;
			return true;
		}
		return r->seen <= r->drop;
	}
	return false;
}

static bool bench_nosack; /* the next bench_open* offers no SACK */

static void bench_open3(struct bench *b, bool rack, bool tlp, bool prr)
{
	struct tapir_config cfg;
	struct tapir_memlink_params lp;
	struct tapir_tcp_info i;
	memset(b, 0, sizeof(*b));
	tapir_config_default(&cfg);
	cfg.profile.rack = rack;
	cfg.profile.tlp = tlp;
	cfg.profile.prr = prr;
	if (bench_nosack)
		cfg.tcp_sack = 0;
	bench_nosack = false;
	tapir_memlink_params_default(&lp);
	lp.delay_us = DELAY;
	sim_init(&b->sim, &cfg, &lp);
	b->sim.tap_on = true;
	assert_true(sim_pair(&b->sim, 80, &b->p, NULL, NULL));
	tapir_tcp_get_info(b->p.cli, &i);
	b->base = i.snd_nxt;
	b->sim.drop = hook;
	b->sim.drop_arg = b;
}

static void bench_open(struct bench *b, bool rack, bool prr)
{
	bench_open3(b, rack, rack, prr);
}

/* A writes SEGS full segments at once (sent at this instant, as the
 * windows allow) */
static void bench_write(struct bench *b, unsigned segs)
{
	static uint8_t data[8 * MSS];
	assert_true(segs <= 8);
	memset(data, 'w', sizeof(data));
	assert_int_equal(tapir_tcp_send(b->p.cli, data, (size_t)segs * MSS, b->sim.now),
			 (long)segs * MSS);
}

/* A sends LEN bytes; runs until B has them all (or LIMIT), putting held
 * frames back when due. */
static void bench_send_len(struct bench *b, size_t len, tapir_time_t limit)
{
	static uint8_t data[64 * MSS];
	tapir_time_t end = b->sim.now + limit;
	assert_true(len <= sizeof(data));
	memset(data, 'r', len);
	assert_int_equal(tapir_tcp_send(b->p.cli, data, len, b->sim.now), (long)len);
	if (b->fin)
		tapir_tcp_shutdown(b->p.cli, TAPIR_SHUT_WR, b->sim.now);
	b->out = malloc(len);
	while (b->got < len && b->sim.now < end) {
		long n;
		sim_advance(&b->sim, 100);
		for (unsigned k = 0; k < b->nr; k++)
			if (b->r[k].len && b->r[k].due <= b->sim.now) {
				tapir_stack_input(b->sim.st[1], b->sim.ifindex[1], b->r[k].frame,
						  b->r[k].len, b->sim.now);
				b->r[k].len = 0;
			}
		n = sim_read(&b->sim, b->p.srv, b->out + b->got, len - b->got);
		if (n > 0)
			b->got += (size_t)n;
	}
	assert_int_equal(b->got, len);
	free(b->out);
}

/* ... SEGS full segments */
static void bench_send(struct bench *b, unsigned segs, tapir_time_t limit)
{
	bench_send_len(b, (size_t)segs * MSS, limit);
}

static void bench_close(struct bench *b)
{
	sim_fini(&b->sim);
}

/* The K-th copy (0 ...) of data segment SEG towards B in the tap */
static const struct tseg *copy_of(const struct bench *b, uint32_t seg, unsigned k)
{
	for (size_t i = 0; i < tap_n(&b->sim, 1); i++) {
		const struct tseg *s = tap_get(&b->sim, 1, i);
		if (s->len && s->seq == b->base + seg * MSS && k-- == 0)
			return s;
	}
	return NULL;
}

/* The last segment towards A that arrived before T */
static const struct tseg *last_ack_before(const struct bench *b, tapir_time_t t)
{
	const struct tseg *last = NULL;
	for (size_t i = 0; i < tap_n(&b->sim, 0); i++) {
		const struct tseg *s = tap_get(&b->sim, 0, i);
		if (s->t < t && !s->dropped)
			last = s;
	}
	return last;
}

/* RFC 8985 7.2-7.3: the last two segments of a flight are lost; with no
 * more ACKs to come, a probe -- the last segment again -- goes at 2 SRTT
 * after the last ACK (more than one segment in flight: no WCDelAckT), its
 * SACK shows the other lost, and RACK repairs it: no timeout. */
static void test_tlp_tail_loss(void **state)
{
	struct bench b;
	struct tapir_tcp_info i;
	const struct tseg *probe, *ack;
	const struct tapir_stats *st;
	(void)state;
	bench_open(&b, true, true);
	b.r[0] = (struct rule){.seg = 8, .drop = 1};
	b.r[1] = (struct rule){.seg = 9, .drop = 1};
	b.nr = 2;
	bench_send(&b, 10, TAPIR_SEC(5));
	tapir_tcp_get_info(b.p.cli, &i);
	st = tapir_stats(b.sim.st[0]);
	if (getenv("DUMP"))
		tap_dump(&b.sim);
	probe = copy_of(&b, 9, 1);
	assert_non_null(probe);
	ack = last_ack_before(&b, probe->t - DELAY);
	assert_non_null(ack);
	/* the probe left A one delay before it arrived; SRTT is as the last
	 * ACK left it (no RTT sample since) */
	assert_int_equal(probe->t - DELAY, ack->t + 2 * i.srtt_us);
	assert_true(probe->t < copy_of(&b, 8, 1)->t); /* the probe went first */
	assert_int_equal(st->tcp_tlp_probes, 1);
	assert_int_equal(st->tcp_timeouts, 0);
	assert_int_equal(st->tcp_retransmits, 2);
	bench_close(&b);
}

/* RFC 8985 7.3: the last data segment is lost and the FIN went alone
 * after it; the probe sends the last data segment again with the FIN, and
 * the cumulative ACK it draws repairs it all, with no timeout. */
static void test_tlp_fin(void **state)
{
	struct bench b;
	const struct tseg *probe;
	char c;
	(void)state;
	bench_open(&b, true, true);
	b.fin = true;
	b.r[0] = (struct rule){.seg = 2, .drop = 1};
	b.nr = 1;
	bench_send(&b, 3, TAPIR_SEC(5));
	sim_advance(&b.sim, TAPIR_MS(100));
	assert_int_equal(tapir_tcp_recv(b.p.srv, &c, 1, b.sim.now), 0); /* the FIN is in */
	if (getenv("DUMP"))
		tap_dump(&b.sim);
	probe = copy_of(&b, 2, 1);
	assert_non_null(probe);
	assert_true(probe->flags & TAPIR_TH_FIN);
	assert_int_equal(tapir_stats(b.sim.st[0])->tcp_tlp_probes, 1);
	assert_int_equal(tapir_stats(b.sim.st[0])->tcp_timeouts, 0);
	bench_close(&b);
}

/* RFC 8985 7.3: a previously unsent segment goes as the probe whenever
 * the peer's window takes it -- Nagle (RFC 9293 3.7.4) does not hold it:
 * the PTO is its timer.  A response of three full segments and a short
 * tail: the tail waits behind the third segment (Nagle), whose ACK is
 * lost.  One segment in flight: the PTO is 2 SRTT + WCDelAckT after the
 * last ACK, or the RTO if sooner, and the probe is the tail, new data (not the third segment
 * again), whose ACK covers it all: no retransmission, no timeout. */
static void test_tlp_new_data_past_nagle(void **state)
{
	struct bench b;
	struct tapir_tcp_info i;
	const struct tseg *probe, *ack;
	const struct tapir_stats *st;
	const uint32_t tail = 500;
	(void)state;
	bench_open(&b, true, true);
	b.drop_ack = b.base + 3 * MSS;
	bench_send_len(&b, 3 * MSS + tail, TAPIR_SEC(5));
	tapir_tcp_get_info(b.p.cli, &i);
	st = tapir_stats(b.sim.st[0]);
	if (getenv("DUMP"))
		tap_dump(&b.sim);
	assert_null(copy_of(&b, 2, 1)); /* the third segment went once */
	probe = copy_of(&b, 3, 0);
	assert_non_null(probe);
	assert_int_equal(probe->len, tail);
	assert_null(copy_of(&b, 3, 1));
	ack = last_ack_before(&b, probe->t - DELAY);
	assert_non_null(ack);
	assert_int_equal(ack->ack, b.base + 2 * MSS);
	/* SRTT and the RTO are still as that ACK left them (the probe's ACK
	 * is not back yet): 2 SRTT + WCDelAckT is past the RTO (its 200 ms
	 * floor), so the probe goes when the RTO would have (7.2: PTO =
	 * min(PTO, RTO)) */
	assert_int_equal(i.rto_us, TAPIR_MS(200));
	assert_true(2 * i.srtt_us + TAPIR_MS(200) > i.rto_us);
	assert_int_equal(probe->t - DELAY, ack->t + i.rto_us);
	sim_advance(&b.sim, TAPIR_SEC(1));
	tapir_tcp_get_info(b.p.cli, &i);
	assert_int_equal(i.snd_una, b.base + 3 * MSS + tail); /* all ACKed */
	assert_int_equal(st->tcp_tlp_probes, 1);
	assert_int_equal(st->tcp_retransmits, 0);
	assert_int_equal(st->tcp_timeouts, 0);
	bench_close(&b);
}

/* The same loss under RFC 6675 alone (the rfc profile): the timeout
 * repairs it, an RTO after the last ACK. */
static void test_tail_loss_rto_without_tlp(void **state)
{
	struct bench b;
	const struct tapir_stats *st;
	(void)state;
	bench_open(&b, false, false);
	b.r[0] = (struct rule){.seg = 8, .drop = 1};
	b.r[1] = (struct rule){.seg = 9, .drop = 1};
	b.nr = 2;
	bench_send(&b, 10, TAPIR_SEC(5));
	st = tapir_stats(b.sim.st[0]);
	assert_int_equal(st->tcp_tlp_probes, 0);
	assert_int_equal(st->tcp_timeouts, 1);
	bench_close(&b);
}

/* RFC 8985 6.2 (and its section 3.3's example): a retransmission that is
 * itself lost is found when data sent after it is SACKed, and sent again
 * at the arrival of that ACK, with no timeout. */
static void test_lost_retransmission(void **state)
{
	struct bench b;
	const struct tapir_stats *st;
	const struct tseg *r1, *r2;
	(void)state;
	bench_open(&b, true, false);
	b.r[0] = (struct rule){.seg = 3, .drop = 2};
	b.nr = 1;
	bench_send(&b, 30, TAPIR_SEC(5));
	st = tapir_stats(b.sim.st[0]);
	r1 = copy_of(&b, 3, 1);
	r2 = copy_of(&b, 3, 2);
	assert_non_null(r1);
	assert_non_null(r2);
	assert_null(copy_of(&b, 3, 3));
	assert_int_equal(st->tcp_lost_retransmits, 1);
	assert_int_equal(st->tcp_timeouts, 0);
	/* sent when an ACK arrived at A: one delay before it reached B */
	{
		const struct tseg *ack = last_ack_before(&b, r2->t - DELAY + 1);
		assert_non_null(ack);
		assert_int_equal(ack->t, r2->t - DELAY);
	}
	bench_close(&b);
}

/* RFC 8985 6.2 step 4: the ninth segment of the initial window comes
 * 2 ms after the tenth (within min_RTT/4 = 5 ms): no loss, and reordering
 * is seen; from then on a segment that a whole burst overtakes by 2 ms is
 * no loss either.  RFC 6675's three duplicate ACKs resend that one (see
 * the next test). */
static void run_reorder(struct bench *b, bool rack)
{
	bench_open(b, rack, rack);
	b->r[0] = (struct rule){.seg = 8, .hold = TAPIR_MS(2)};
	b->r[1] = (struct rule){.seg = 20, .hold = TAPIR_MS(2)};
	b->nr = 2;
	bench_send(b, 40, TAPIR_SEC(5));
}

static void test_reordering_within_window(void **state)
{
	struct bench b;
	const struct tapir_stats *st;
	(void)state;
	run_reorder(&b, true);
	st = tapir_stats(b.sim.st[0]);
	assert_int_equal(st->tcp_retransmits, 0);
	assert_int_equal(st->tcp_rack_lost, 0);
	assert_null(copy_of(&b, 8, 1));
	assert_null(copy_of(&b, 20, 1));
	bench_close(&b);
}

static void test_reordering_rfc6675(void **state)
{
	struct bench b;
	(void)state;
	run_reorder(&b, false);
	/* the figure RACK improves on: a spurious retransmission */
	assert_true(tapir_stats(b.sim.st[0])->tcp_retransmits >= 1);
	bench_close(&b);
}

/* RFC 6937: during a recovery with PRR no more is sent than PRR-SSRB
 * allows: ssthresh plus the one-MSS bound, from the first retransmission
 * to the end; the ACK that ends it sets cwnd to min(ssthresh, FlightSize
 * + SMSS) (RFC 6582 3.2 (3)), here one segment: the transfer ends with
 * that ACK, nothing is in flight and nothing grows cwnd after. */
static void test_prr_recovery(void **state)
{
	struct bench b;
	struct tapir_tcp_info i;
	size_t sent = 0;
	const struct tseg *r1;
	(void)state;
	bench_open(&b, true, true);
	b.r[0] = (struct rule){.seg = 20, .drop = 1};
	b.nr = 1;
	bench_send(&b, 40, TAPIR_SEC(5));
	sim_advance(&b.sim, TAPIR_MS(100));
	tapir_tcp_get_info(b.p.cli, &i);
	assert_int_equal(tapir_stats(b.sim.st[0])->tcp_fast_retransmits, 1);
	assert_int_equal(i.ssthresh, 10 * MSS); /* 20 segments out, halved */
	assert_int_equal(i.cwnd, MSS);
	r1 = copy_of(&b, 20, 1);
	assert_non_null(r1);
	for (size_t k = 0; k < tap_n(&b.sim, 1); k++) {
		const struct tseg *s = tap_get(&b.sim, 1, k);
		if (s->t >= r1->t)
			sent += s->len;
	}
	assert_true(sent <= i.ssthresh + MSS);
	bench_close(&b);
}

/* RFC 6937 3 with RFC 6675 loss detection (rack off): the ACK that starts
 * the recovery -- the third DupAck -- sends, at the moment it arrives,
 * one segment and no more: the first hole again (RFC 6675 5 (4.3)); its
 * DeliveredData is PRR's first prr_delivered, and CEIL(prr_delivered *
 * ssthresh / RecoverFS) is less than a segment, so nothing more goes. */
static void test_prr_starting_ack(void **state)
{
	struct bench b;
	const struct tseg *r1, *dup3 = NULL;
	unsigned dups = 0, at_r1 = 0;
	bool after = false;
	(void)state;
	bench_open(&b, false, true);
	b.r[0] = (struct rule){.seg = 20, .drop = 1};
	b.nr = 1;
	bench_send(&b, 40, TAPIR_SEC(5));
	assert_int_equal(tapir_stats(b.sim.st[0])->tcp_fast_retransmits, 1);
	for (size_t k = 0; k < tap_n(&b.sim, 0) && !dup3; k++) {
		const struct tseg *s = tap_get(&b.sim, 0, k);
		if (s->ack == b.base + 20 * MSS && !s->len && ++dups == 4)
			dup3 = s; /* the first ACK for 20, then three DupAcks */
	}
	assert_non_null(dup3);
	r1 = copy_of(&b, 20, 1);
	assert_non_null(r1);
	assert_int_equal(r1->t, dup3->t + DELAY);
	/* the ACKs before it in the same tick sent what slow start let go;
	 * after the retransmission nothing more at that instant */
	for (size_t k = 0; k < tap_n(&b.sim, 1); k++) {
		const struct tseg *s = tap_get(&b.sim, 1, k);
		if (s == r1)
			after = true;
		else if (after && s->t == r1->t && s->len)
			at_r1++;
	}
	assert_int_equal(at_r1, 0);
	bench_close(&b);
}

/* RFC 8985 6.3: at a timeout RACK deems lost the first unacknowledged
 * segment and those sent at least RACK.rtt + RACK.reo_wnd ago, not the
 * rest (no going back N).  RACK without TLP (a probe would repair it).
 * Segments 0-1 set RACK.rtt to one round trip (20 ms, the second is
 * ACKed at once); 2-3 go at T0 and are lost; 4-5 go 10 ms before the RTO
 * (T0 + RTO) and arrive.  At the RTO only 2 goes again (reo_wnd is 0 in
 * RTO recovery without reordering, RFC 8985 6.2 step 4) and 3 is marked
 * lost; 4-5's SACK arrives at RTO + 10 ms and holds nothing back (2's
 * copy fills the one-segment window); 2's ACK at RTO + 20 ms opens the
 * window to two segments and 3 goes; 4 and 5 never go twice. */
static void test_rto_marks_by_rack(void **state)
{
	struct bench b;
	struct tapir_tcp_info i;
	const struct tapir_stats *st;
	tapir_time_t t0, rto;
	char buf[8 * MSS];
	(void)state;
	bench_open3(&b, true, false, true);
	b.r[0] = (struct rule){.seg = 2, .drop = 1};
	b.r[1] = (struct rule){.seg = 3, .drop = 1};
	b.nr = 2;
	bench_write(&b, 2);
	sim_advance(&b.sim, TAPIR_MS(100));
	tapir_tcp_get_info(b.p.cli, &i);
	assert_int_equal(i.snd_una, b.base + 2 * MSS);
	rto = i.rto_us;
	t0 = b.sim.now;
	bench_write(&b, 2);
	sim_advance(&b.sim, rto - TAPIR_MS(10));
	bench_write(&b, 2);
	sim_advance(&b.sim, TAPIR_MS(200));
	if (getenv("DUMP"))
		tap_dump(&b.sim);
	assert_int_equal(sim_read(&b.sim, b.p.srv, buf, sizeof(buf)), 6 * MSS);
	st = tapir_stats(b.sim.st[0]);
	assert_int_equal(st->tcp_timeouts, 1);
	assert_int_equal(st->tcp_retransmits, 2);
	assert_non_null(copy_of(&b, 2, 1));
	assert_int_equal(copy_of(&b, 2, 1)->t, t0 + rto + DELAY);
	assert_non_null(copy_of(&b, 3, 1));
	assert_int_equal(copy_of(&b, 3, 1)->t, t0 + rto + 3 * DELAY);
	assert_null(copy_of(&b, 4, 1));
	assert_null(copy_of(&b, 5, 1));
	bench_close(&b);
}

/* RFC 8985 6.2 step 1: RACK.min_RTT is the least sample of a window
 * (TCP_RACK_MIN_RTT_WIN, 300 s) that slides by halves: a sample counts
 * from when it is taken until the end of the half window after its own,
 * so a path that grew longer is seen within one window, to the
 * microsecond. */
static void test_min_rtt_window(void **state)
{
	struct tcp_rack r;
	const tapir_time_t w = TCP_RACK_MIN_RTT_WIN, t0 = TAPIR_SEC(1000);
	(void)state;
	memset(&r, 0, sizeof(r));
	tcp_rack_min_rtt(&r, TAPIR_MS(20), t0);
	assert_int_equal(r.min_rtt, TAPIR_MS(20));
	tcp_rack_min_rtt(&r, TAPIR_MS(50), t0 + w / 3); /* the first half */
	assert_int_equal(r.min_rtt, TAPIR_MS(20));
	tcp_rack_min_rtt(&r, TAPIR_MS(60), t0 + w / 2); /* the second */
	tcp_rack_min_rtt(&r, TAPIR_MS(70), t0 + w - 1);
	assert_int_equal(r.min_rtt, TAPIR_MS(20)); /* t0's sample still in */
	tcp_rack_min_rtt(&r, TAPIR_MS(80), t0 + w);
	assert_int_equal(r.min_rtt, TAPIR_MS(60)); /* gone exactly a window on */
	tcp_rack_min_rtt(&r, TAPIR_MS(90), t0 + w + w / 2 - 1);
	assert_int_equal(r.min_rtt, TAPIR_MS(60));
	tcp_rack_min_rtt(&r, TAPIR_MS(95), t0 + 2 * w - 1);
	assert_int_equal(r.min_rtt, TAPIR_MS(80)); /* the 60 ms half is out */
	tcp_rack_min_rtt(&r, TAPIR_MS(40), t0 + 2 * w + 1); /* shorter: at once */
	assert_int_equal(r.min_rtt, TAPIR_MS(40));
	/* nothing for longer than a window: the next sample alone */
	tcp_rack_min_rtt(&r, TAPIR_MS(100), t0 + 5 * w);
	assert_int_equal(r.min_rtt, TAPIR_MS(100));
	assert_int_equal(r.min_since, t0 + 5 * w);
}

/* RFC 6937 3 without SACK: each DupAck counts one MSS delivered.  The
 * 13th segment (index 12) is lost once; the third DupAck starts the
 * recovery and sends it again (RFC 5681 3.2 (2)).  The ACKs of a flight
 * arrive in one instant here, so the test counts: of the N DupAcks from
 * the third on, PRR lets CEIL(N * MSS * ssthresh / RecoverFS) bytes go in
 * whole segments, the retransmission among them: one for every two
 * DupAcks from the start, where NewReno's inflation sends nothing until
 * cwnd passes FlightSize, then one for each. */
static void test_prr_without_sack(void **state)
{
	struct bench b;
	struct tapir_tcp_info i;
	const struct tseg *r1;
	const uint32_t hole = 12;
	uint32_t high = 0, fs, allowed, win = 0;
	unsigned dups = 0, fresh = 0, n;
	bool first = true;
	(void)state;
	bench_nosack = true;
	bench_open(&b, false, true);
	b.r[0] = (struct rule){.seg = hole, .drop = 1};
	b.nr = 1;
	bench_send(&b, 64, TAPIR_SEC(5));
	tapir_tcp_get_info(b.p.cli, &i);
	assert_false(i.sack_ok);
	if (getenv("DUMP"))
		tap_dump(&b.sim);
	assert_int_equal(tapir_stats(b.sim.st[0])->tcp_fast_retransmits, 1);
	r1 = copy_of(&b, hole, 1);
	assert_non_null(r1);
	/* what was sent before the retransmission: RecoverFS */
	for (size_t k = 0; k < tap_n(&b.sim, 1) && tap_get(&b.sim, 1, k) != r1; k++)
		if (tap_get(&b.sim, 1, k)->len)
			high = tap_get(&b.sim, 1, k)->seq + tap_get(&b.sim, 1, k)->len;
	fs = high - (b.base + hole * MSS);
	assert_int_equal(i.ssthresh, fs / 2); /* RFC 5681 (4), NewReno */
	/* the DupAcks: after the ACK that reached the hole, the same window */
	for (size_t k = 0; k < tap_n(&b.sim, 0); k++) {
		const struct tseg *a = tap_get(&b.sim, 0, k);
		if (a->ack != b.base + hole * MSS || a->len || a->dropped)
			continue;
		if (first)
			win = a->win;
		else if (a->win == win)
			dups++;
		first = false;
	}
	/* new data sent after the retransmission, up to the ACK of the hole */
	for (size_t k = 0; k < tap_n(&b.sim, 1); k++) {
		const struct tseg *s = tap_get(&b.sim, 1, k);
		if (s->len && s->t == r1->t && s->seq == high) {
			high += s->len;
			fresh++;
		}
	}
	n = dups - 2;
	allowed = (uint32_t)(((uint64_t)n * MSS * i.ssthresh + fs - 1) / fs);
	assert_true(n > 4);
	assert_int_equal(fresh + 1, allowed / MSS);
	bench_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tlp_tail_loss),
		cmocka_unit_test(test_tlp_fin),
		cmocka_unit_test(test_tlp_new_data_past_nagle),
		cmocka_unit_test(test_tail_loss_rto_without_tlp),
		cmocka_unit_test(test_lost_retransmission),
		cmocka_unit_test(test_reordering_within_window),
		cmocka_unit_test(test_reordering_rfc6675),
		cmocka_unit_test(test_prr_recovery),
		cmocka_unit_test(test_prr_starting_ack),
		cmocka_unit_test(test_rto_marks_by_rack),
		cmocka_unit_test(test_min_rtt_window),
		cmocka_unit_test(test_prr_without_sack),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
