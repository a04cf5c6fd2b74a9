/* Loss recovery, reassembly and flow control, on the wire: fast
 * retransmit and NewReno (RFC 5681 3.2, RFC 6582), out-of-order data (RFC
 * 5681 4.2), zero windows and persist (RFC 9293 3.8.6.1), silly window
 * avoidance on both sides (RFC 9293 3.8.6.2), reading and writing in place
 * (tapir_tcp_recv_peek, tapir_tcp_send_space), and the ACKs a driver's turn holds to its end
 * (tapir_stack_defer_acks). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

static uint8_t pattern(size_t i) { return (uint8_t)(i * 7 + (i >> 9)); }

static void fill(uint8_t *b, size_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = pattern(off + i);
}

static bool is_tcp(const uint8_t *f, size_t len)
{
	return len > 23 && f[12] == 0x08 && f[13] == 0 && f[23] == 6;
}

static size_t payload_len(const uint8_t *f)
{
	size_t ihl = (size_t)(f[14] & 15) * 4;
	unsigned tot = (unsigned)(f[16] << 8 | f[17]);
	unsigned off = (unsigned)(f[14 + ihl + 12] >> 4) * 4;
	return tot - ihl - off;
}

/* Drops, once each, the data segments towards B whose index (counting
 * data segments towards B from when it was armed) is in the list. */
struct dropper {
	bool armed;
	unsigned seen;
	unsigned which[4];
	unsigned n;
};

static bool drop_nth_data(void *arg, int to, const uint8_t *f, size_t len)
{
	struct dropper *d = arg;
	unsigned k;
	if (!d->armed || to != 1 || !is_tcp(f, len) || !payload_len(f))
		return false;
	k = d->seen++;
	for (unsigned i = 0; i < d->n; i++)
		if (d->which[i] == k)
			return true;
	return false;
}

/* The K-th data segment towards TO carrying sequence number SEQ. */
static const struct tseg *find_data(const struct sim *sim, int to, uint32_t seq, size_t k)
{
	for (size_t i = 0; i < sim->ntap; i++)
		if (sim->tap[i].to == to && sim->tap[i].len && sim->tap[i].seq == seq && !k--)
			return &sim->tap[i];
	return NULL;
}

static const struct tseg *data_seg(const struct sim *sim, int to, size_t k)
{
	for (size_t i = 0; i < sim->ntap; i++)
		if (sim->tap[i].to == to && sim->tap[i].len && !k--)
			return &sim->tap[i];
	return NULL;
}

static void check_read(struct sim *sim, struct tapir_tcp *t, size_t total)
{
	static uint8_t buf[1 << 17];
	long n = sim_read(sim, t, buf, sizeof(buf));
	assert_int_equal(n, (long)total);
	for (size_t i = 0; i < total; i++)
		if (buf[i] != pattern(i))
			fail_msg("byte %zu differs", i);
}

static const struct fx_opts loss_opts = {.link = fx_delay_5ms};

/* On loss_opts' bench: one window of 10 segments from A with the segments
 * in D lost, and A's state after it in I (the hook drops nothing until armed, so it is put on the cable
 * only now). */
static void loss_window(struct fx *x, struct dropper *d, struct tapir_tcp_info *i)
{
	struct sim *sim = &x->sim;
	static uint8_t buf[14600];
	sim->drop = drop_nth_data;
	sim->drop_arg = d;
	sim_advance(sim, TAPIR_MS(100));
	tap_clear(sim);
	d->armed = true;
	fill(buf, 0, sizeof(buf));
	assert_int_equal(tapir_tcp_send(x->p.cli, buf, sizeof(buf), sim->now), (long)sizeof(buf));
	sim_advance(sim, TAPIR_SEC(5));
	tapir_tcp_get_info(x->p.cli, i);
}

/* After loss_window: one fast recovery (RFC 5681 3.2) with NREXMIT
 * retransmissions, everything acknowledged and read, byte-exact, by B. */
static void recovered(struct fx *x, const struct tapir_tcp_info *i, uint64_t nrexmit)
{
	assert_int_equal(tapir_stats(x->sim.st[0])->tcp_fast_retransmits, 1);
	assert_int_equal(tapir_stats(x->sim.st[0])->tcp_retransmits, nrexmit);
	assert_int_equal(i->snd_una, i->snd_nxt);
	check_read(&x->sim, x->p.srv, 14600);
}

/* RFC 5681 3.2 / 4.2: one segment lost: every later segment draws an
 * immediate duplicate ACK; the third duplicate triggers its retransmission,
 * well before the RTO would. */
static void test_fast_retransmit(void **state)
{
	FX_VARS(state);
	struct dropper d = {.which = {2}, .n = 1};
	struct tapir_tcp_info i;
	const struct tseg *lost, *rexmit;
	size_t dups = 0;
	loss_window(x, &d, &i);
	lost = data_seg(sim, 1, 2);
	assert_true(lost->dropped);
	rexmit = find_data(sim, 1, lost->seq, 1);
	assert_non_null(rexmit);
	assert_false(rexmit->dropped);
	/* ACKs from B naming the hole before the retransmission came */
	for (size_t k = 0; k < sim->ntap; k++) {
		const struct tseg *s = &sim->tap[k];
		if (s->to == 0 && s->t < rexmit->t && s->ack == lost->seq) {
			assert_int_equal(s->len, 0);
			dups++;
		}
	}
	assert_true(dups >= 3 + 1); /* the ACK that moved to the hole, then 3 duplicates */
	assert_true(rexmit->t - lost->t < i.rto_us);
	assert_true(rexmit->t - lost->t < TAPIR_MS(30)); /* about one RTT */
	recovered(x, &i, 1);
}

/* RFC 6582 3.2 (5): two losses in one window: the partial ACK after the
 * fast retransmission retransmits the next hole at once (no RTO, one
 * fast recovery). */
static void test_newreno_partial_ack(void **state)
{
	FX_VARS(state);
	struct dropper d = {.which = {2, 5}, .n = 2};
	struct tapir_tcp_info i;
	const struct tseg *lost1, *lost2, *rx1, *rx2, *partial = NULL;
	loss_window(x, &d, &i);
	lost1 = data_seg(sim, 1, 2);
	lost2 = data_seg(sim, 1, 5);
	assert_true(lost1->dropped && lost2->dropped);
	rx1 = find_data(sim, 1, lost1->seq, 1);
	rx2 = find_data(sim, 1, lost2->seq, 1);
	assert_non_null(rx1);
	assert_non_null(rx2);
	/* the partial ACK: B's first ACK of the first hole, up to the second */
	for (size_t k = 0; k < sim->ntap && !partial; k++)
		if (sim->tap[k].to == 0 && sim->tap[k].ack == lost2->seq)
			partial = &sim->tap[k];
	assert_non_null(partial);
	assert_true(partial->t > rx1->t);
	/* the second hole went out on the partial ACK's arrival */
	assert_int_equal(rx2->t, partial->t + 5000);
	assert_true(rx2->t - lost1->t < i.rto_us);
	recovered(x, &i, 2);
}

/* RFC 5681 4.2 / RFC 9293 3.10.7.4: segments arriving in reverse are
 * kept; each out-of-order one is answered at once with a duplicate ACK,
 * the one that fills the hole with an ACK of everything. */
static void test_ooo_reversed(void **state)
{
	FX_VARS(state);
	struct pconn *pc = &x->pc;
	static uint8_t data[5000];
	uint32_t base;
	base = pc->snd_nxt;
	fill(data, 0, sizeof(data));
	for (int k = 4; k >= 0; k--)
		pc_send(sim, pc, base + (uint32_t)k * 1000, pc->rcv_nxt, TAPIR_TH_ACK,
			data + k * 1000, 1000);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tap_n(sim, 0), 5);
	for (size_t k = 0; k < 5; k++) {
		const struct tseg *a = tap_get(sim, 0, k);
		assert_int_equal(a->flags, TAPIR_TH_ACK);
		assert_int_equal(a->ack, k < 4 ? base : base + 5000);
		assert_int_equal(a->t, tap_get(sim, 1, k)->t + 100); /* at once */
	}
	assert_int_equal(tapir_stats(sim->st[1])->tcp_ooo_queued, 4);
	check_read(sim, pc->b, 5000);
}

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 33;
}

/* B's highest ACK in the tap */
static uint32_t b_acked(const struct sim *sim, uint32_t base)
{
	uint32_t best = base;
	for (size_t k = 0; k < sim->ntap; k++)
		if (sim->tap[k].to == 0 && (sim->tap[k].flags & TAPIR_TH_ACK) &&
		    (int32_t)(sim->tap[k].ack - best) > 0)
			best = sim->tap[k].ack;
	return best;
}

/* RFC 9293 3.10.7.4 seventh / 3.4: shuffled, overlapping and duplicated
 * segments are reassembled byte-exact (what could not be kept is sent
 * again from B's ACK, as a sender would). */
static void test_ooo_shuffled(void **state)
{
	FX_VARS(state);
	struct pconn *pc = &x->pc;
	enum { TOTAL = 40000, NSEG = 120 };
	static uint8_t data[TOTAL];
	struct { uint32_t off, len; } seg[NSEG];
	uint64_t rng = 12345;
	uint32_t base, acked;
	int rounds = 0;
	base = pc->snd_nxt;
	fill(data, 0, sizeof(data));
	for (int k = 0; k < NSEG; k++) {
		seg[k].off = (uint32_t)(lcg(&rng) % TOTAL);
		seg[k].len = 1 + (uint32_t)(lcg(&rng) % 1400);
		if (seg[k].off + seg[k].len > TOTAL)
			seg[k].len = TOTAL - seg[k].off;
	}
	for (int k = 0; k < NSEG; k++)
		pc_send(sim, pc, base + seg[k].off, pc->rcv_nxt, TAPIR_TH_ACK, data + seg[k].off,
			seg[k].len);
	sim_advance(sim, TAPIR_MS(1));
	/* every segment not at RCV.NXT was answered at once */
	assert_true(tap_n(sim, 0) >= NSEG / 2);
	while ((acked = b_acked(sim, base)) != base + TOTAL) {
		uint32_t off = acked - base, n = TOTAL - off < 1400 ? TOTAL - off : 1400;
		assert_true(++rounds < 200);
		pc_send(sim, pc, acked, pc->rcv_nxt, TAPIR_TH_ACK, data + off, n);
		sim_advance(sim, TAPIR_MS(50));
	}
	check_read(sim, pc->b, TOTAL);
}

static void set_rcvbuf_8k(struct tapir_tcp *t) { tapir_tcp_setopt(t, TAPIR_TCP_RCVBUF, 8192); }
static const struct fx_opts rcvbuf_8k_opts = {.lis_setup = set_rcvbuf_8k};
static void set_sndbuf_8k(struct tapir_tcp *t) { tapir_tcp_setopt(t, TAPIR_TCP_SNDBUF, 8192); }

struct sender {
	struct sim *sim;
	struct tapir_tcp *t;
	size_t total, sent;
};

static bool send_more(void *arg)
{
	struct sender *s = arg;
	static uint8_t buf[16384];
	while (s->sent < s->total) {
		size_t n = s->total - s->sent < sizeof(buf) ? s->total - s->sent : sizeof(buf);
		long r;
		fill(buf, s->sent, n);
		r = tapir_tcp_send(s->t, buf, n, s->sim->now);
		if (r <= 0)
			break;
		s->sent += (size_t)r;
	}
	return false;
}

/* socket(7): SO_SNDBUF and SO_RCVBUF set on an open connection apply to
 * what is queued next; the receive window announced is not taken back
 * (RFC 9293 3.8.6), a smaller buffer shows once the reader has read. */
static void test_bufs_after_open(void **state)
{
	FX_VARS(state);
	struct sender s = {.sim = sim, .total = 8192};
	uint8_t buf[8192];
	int v;
	assert_int_equal(tapir_tcp_setopt(p->cli, TAPIR_TCP_SNDBUF, 2048), 0);
	assert_int_equal(tapir_tcp_getopt(p->cli, TAPIR_TCP_SNDBUF, &v), 0);
	assert_int_equal(v, 2048);
	assert_int_equal(tapir_tcp_writable(p->cli), 2048);
	assert_int_equal(tapir_tcp_setopt(p->cli, TAPIR_TCP_SNDBUF, 1 << 20), 0);
	assert_int_equal(tapir_tcp_writable(p->cli), 1 << 20);
	/* the receiver has announced 8192: all of it is still taken */
	assert_int_equal(tapir_tcp_setopt(p->srv, TAPIR_TCP_RCVBUF, 1024), 0);
	s.t = p->cli;
	send_more(&s);
	sim_advance(sim, TAPIR_SEC(1));
	assert_int_equal(tapir_tcp_readable(p->srv), 8192);
	/* read: the next window is the new size's */
	assert_int_equal(tapir_tcp_recv(p->srv, buf, sizeof(buf), sim->now), 8192);
	sim_advance(sim, TAPIR_MS(10));
	assert_int_equal(tap_last(sim, 0)->win, 1024);
	s.total += 4096;
	send_more(&s);
	sim_advance(sim, TAPIR_SEC(1));
	assert_int_equal(tapir_tcp_readable(p->srv), 1024);
	/* a send buffer made smaller than what it holds takes no more */
	assert_int_equal(tapir_tcp_setopt(p->cli, TAPIR_TCP_SNDBUF, 1024), 0);
	assert_int_equal(tapir_tcp_writable(p->cli), 0);
	assert_int_equal(tapir_tcp_send(p->cli, buf, 10, sim->now), -EAGAIN);
}

/* RFC 9293 3.8.6.2.2 (receiver SWS avoidance) and 3.8.6.1: a receiver
 * that does not read closes its window to 0; reading a little does not
 * reopen it (no update for less than min(MSS, buffer/2)); reading enough
 * sends a window update at once. */
static void test_zero_window_and_update(void **state)
{
	FX_VARS(state);
	struct sender s = {.sim = sim, .total = 8192};
	uint8_t buf[8192];
	const struct tseg *u;
	size_t n0;
	s.t = p->cli;
	send_more(&s);
	assert_int_equal(s.sent, 8192);
	sim_advance(sim, TAPIR_SEC(1));
	assert_int_equal(tapir_tcp_readable(p->srv), 8192);
	assert_int_equal(tap_last(sim, 0)->win, 0);
	/* a small read: nothing said */
	n0 = tap_n(sim, 0);
	assert_int_equal(tapir_tcp_recv(p->srv, buf, 100, sim->now), 100);
	sim_advance(sim, TAPIR_MS(500));
	assert_int_equal(tap_n(sim, 0), n0);
	/* a full segment's worth: a window update, at once */
	assert_int_equal(tapir_tcp_recv(p->srv, buf + 100, 1400, sim->now), 1400);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tap_n(sim, 0), n0 + 1);
	u = tap_last(sim, 0);
	assert_int_equal(u->flags, TAPIR_TH_ACK);
	assert_true(u->win >= 1460);
	assert_true(u->win <= 1500);
}

/* tapir_tcp_recv_peek: the bytes waiting, in place, as one span and then
 * two once the ring wraps, in order; tapir_tcp_recv(NULL, K) takes K of
 * them, and the window opens as after a copying read (RFC 9293 3.8.6.2.2:
 * an update once a segment's worth is free). */
static void test_recv_peek_wraps(void **state)
{
	FX_VARS(state);
	struct sender s = {.sim = sim, .total = 8192};
	const uint8_t *pp[2];
	size_t n[2], off = 0;
	s.t = p->cli;
	send_more(&s);
	sim_advance(sim, TAPIR_SEC(1));
	assert_int_equal(tapir_tcp_recv_peek(p->srv, pp, n), 8192);
	assert_int_equal(n[0], 8192);
	assert_int_equal(n[1], 0);
	assert_null(pp[1]);
	for (size_t i = 0; i < n[0]; i++)
		assert_int_equal(pp[0][i], pattern(i));
	assert_int_equal(tap_last(sim, 0)->win, 0);
	/* 5000 taken: the window opens, and 4000 more wrap the ring */
	assert_int_equal(tapir_tcp_recv(p->srv, NULL, 5000, sim->now), 5000);
	sim_advance(sim, TAPIR_MS(1));
	assert_true(tap_last(sim, 0)->win >= 4000);
	s.total = 12192;
	send_more(&s);
	sim_advance(sim, TAPIR_SEC(1));
	assert_int_equal(tapir_tcp_recv_peek(p->srv, pp, n), 7192);
	assert_true(n[0] > 0 && n[1] > 0); /* wrapped */
	assert_int_equal(n[0] + n[1], 7192);
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < n[k]; i++, off++)
			assert_int_equal(pp[k][i], pattern(5000 + off));
	assert_int_equal(tapir_tcp_recv(p->srv, NULL, 7192, sim->now), 7192);
	assert_int_equal(tapir_tcp_recv_peek(p->srv, pp, n), 0);
	assert_int_equal(n[0] + n[1], 0);
	assert_int_equal(tapir_tcp_recv(p->srv, NULL, 1, sim->now), -EAGAIN);
}

/* tapir_tcp_send_space / send_commit: the room in place, as one span and
 * then two once the send ring wraps; what is committed goes out in order,
 * as with tapir_tcp_send, and what was written but not committed never
 * leaves.  (B's 2 KiB window holds the ring's head back, so that the third
 * commit wraps the ring of 6,000 bytes the first two grew.) */
static void put(struct tapir_tcp *t, struct sim *sim, size_t *off, size_t len, size_t extra,
		bool wraps)
{
	uint8_t *pp[2];
	size_t n[2];
	assert_int_equal(tapir_tcp_send_space(t, pp, n, len + extra, sim->now), (long)(len + extra));
	assert_int_equal(n[0] + n[1], len + extra);
	assert_true(wraps ? n[1] > 0 : n[1] == 0);
	for (size_t i = 0, k = 0; k < 2; k++)
		for (size_t j = 0; j < n[k]; j++, i++)
			pp[k][j] = i < len ? pattern(*off + i) : 0xee;
	assert_int_equal(tapir_tcp_send_commit(t, len, sim->now), (long)len);
	*off += len;
}

static void test_send_space_wraps(void **state)
{
	FX_VARS(state);
	static uint8_t got[16384];
	uint8_t *pp[2];
	size_t n[2], off = 0, have = 0;
	long r;
	put(p->cli, sim, &off, 3000, 0, false);
	put(p->cli, sim, &off, 1000, 100, false);
	sim_advance(sim, TAPIR_MS(100)); /* B's window: some acknowledged */
	put(p->cli, sim, &off, 3000, 0, true);
	while (have < off && (r = tapir_tcp_recv(p->srv, got + have, sizeof(got) - have,
						 sim->now)) != 0) {
		if (r > 0)
			have += (size_t)r;
		sim_advance(sim, TAPIR_MS(100));
	}
	assert_int_equal(have, 7000);
	for (size_t i = 0; i < have; i++)
		assert_int_equal(got[i], pattern(i));
	tapir_tcp_shutdown(p->cli, TAPIR_SHUT_WR, sim->now);
	assert_int_equal(tapir_tcp_send_space(p->cli, pp, n, 10, sim->now), -EPIPE);
}

static void set_rcvbuf_2k(struct tapir_tcp *t) { tapir_tcp_setopt(t, TAPIR_TCP_RCVBUF, 2048); }
static const struct fx_opts space_opts = {.cli_setup = set_sndbuf_8k, .lis_setup = set_rcvbuf_2k};

static const struct fx_opts persist_opts = {.config = fx_retries2_3, .lis_setup = set_rcvbuf_8k};

/* RFC 9293 3.8.6.1: behind a zero window the sender probes; the probes
 * back off; answered probes keep the connection alive however long it
 * lasts (beyond tcp_retries2); once the reader reads, the data flows. */
static void test_persist(void **state)
{
	FX_VARS(state);
	struct sender s = {.sim = sim, .total = 100000};
	const struct tseg *zw = NULL;
	size_t probes = 0, answered = 0;
	tapir_time_t prev = 0, gap = 0;
	static uint8_t buf[100000];
	size_t got = 0;
	s.t = p->cli;
	sim_run(sim, sim->now + TAPIR_SEC(120), send_more, &s);
	assert_int_equal(tapir_tcp_state(p->cli), TAPIR_TCP_ESTABLISHED);
	assert_int_equal(tapir_tcp_readable(p->srv), 8192);
	for (size_t k = 0; k < sim->ntap; k++)
		if (sim->tap[k].to == 0 && sim->tap[k].win == 0) {
			zw = &sim->tap[k];
			break;
		}
	assert_non_null(zw);
	/* after the window closed: probes of at most one byte, answered */
	for (size_t k = (size_t)(zw - sim->tap) + 1; k < sim->ntap; k++) {
		const struct tseg *g = &sim->tap[k];
		if (g->to == 1) {
			if (prev) {
				assert_true(g->t - prev >= gap); /* backing off */
				gap = g->t - prev;
			}
			prev = g->t;
			probes++;
		} else if (g->win == 0) {
			answered++;
		}
	}
	if (probes < 5 || answered < probes) {
		tap_dump(sim);
		fprintf(stderr, "probes %zu answered %zu\n", probes, answered);
	}
	assert_true(probes >= 5); /* more than tcp_retries2 */
	assert_int_equal(answered, probes);
	assert_true(gap >= TAPIR_SEC(8));
	/* the reader wakes */
	while (got < s.total) {
		long r = sim_read(sim, p->srv, buf + got, sizeof(buf) - got);
		if (r > 0)
			got += (size_t)r;
		send_more(&s);
		sim_advance(sim, TAPIR_MS(10));
		assert_true(sim->now < TAPIR_SEC(300));
	}
	for (size_t k = 0; k < s.total; k++)
		assert_int_equal(buf[k], pattern(k));
	assert_int_equal(tapir_tcp_state(p->cli), TAPIR_TCP_ESTABLISHED);
}

/* RFC 9293 3.8.6.2.1 (sender SWS avoidance) with RFC 1122 4.2.3.4: the
 * sender does not fill the last bit of a window with a tiny segment while
 * data is in flight; every data segment is full but the stream's tail. */
static void test_sender_sws(void **state)
{
	enum { TOTAL = 20000 };
	FX_VARS(state);
	struct tapir_tcp *t = p->cli;
	struct pconn pc;
	const struct tseg *syn = tap_get(sim, 0, 0);
	static uint8_t buf[TOTAL];
	uint32_t got = 0, iss;
	int rounds = 0;
	memset(&pc, 0, sizeof(pc));
	pc.pport = 80;
	pc.bport = syn->sport;
	pc.win = 3000; /* two segments and a bit */
	iss = syn->seq;
	pc.rcv_nxt = iss + 1;
	pc.snd_nxt = 5000;
	puppet_send(sim, &(struct pseg){.sport = 80, .dport = pc.bport, .seq = pc.snd_nxt,
					.ack = pc.rcv_nxt, .flags = TAPIR_TH_SYN | TAPIR_TH_ACK, .win = pc.win,
					 .mss = 1460});
	pc.snd_nxt++;
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tapir_tcp_state(t), TAPIR_TCP_ESTABLISHED);
	tap_clear(sim);
	fill(buf, 0, TOTAL);
	assert_int_equal(tapir_tcp_send(t, buf, TOTAL, sim->now), TOTAL);
	while (got < TOTAL) {
		sim_advance(sim, TAPIR_MS(5));
		pc_ack_all(sim, &pc);
		got = pc.rcv_nxt - (iss + 1);
		if (++rounds >= 100) {
			tap_dump(sim);
			fail();
		}
	}
	sim_advance(sim, TAPIR_MS(5));
	for (size_t k = 0; k < sim->ntap; k++) {
		const struct tseg *g = &sim->tap[k];
		if (g->to != 0 || !g->len)
			continue;
		if (g->seq + g->len != iss + 1 + TOTAL && g->len != 1460) {
			tap_dump(sim);
			fail_msg("a %u-byte segment in mid-stream", g->len);
		}
		assert_memory_equal(g->data, buf + (g->seq - iss - 1), g->len);
	}
}

/* ---- ACKs held to the turn's end (tapir_stack_defer_acks, tcp_ack_hold) */

/* The puppet sends N in-order segments of LEN bytes; B's ACKs so far. */
static size_t puppet_burst(struct sim *sim, struct pconn *pc, unsigned n, size_t len)
{
	static uint8_t text[1460];
	size_t before = tap_n(sim, 0);
	for (unsigned i = 0; i < n; i++)
		pc_data(sim, pc, text, len);
	sim_advance(sim, TAPIR_MS(1));
	return tap_n(sim, 0) - before;
}

/* Without a turn: an ACK every second segment (RFC 5681 4.2).  In a turn:
 * one ACK at its end for all of them (a stretch ACK, bounded by the turn
 * and half the window). */
static void test_ack_turn_stretch(void **state)
{
	FX_VARS(state);
	const struct tseg *a;
	assert_int_equal(puppet_burst(sim, &x->pc, 4, 1000), 2);
	assert_int_equal(tapir_tcp_recv(x->pc.b, NULL, 4000, sim->now), 4000);
	sim_advance(sim, TAPIR_MS(1));
	tap_clear(sim);
	tapir_stack_defer_acks(sim->st[1], 1);
	assert_int_equal(puppet_burst(sim, &x->pc, 6, 1000), 0);
	tapir_stack_defer_acks(sim->st[1], 0);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tap_n(sim, 0), 1);
	a = tap_get(sim, 0, 0);
	assert_int_equal(a->flags, TAPIR_TH_ACK);
	assert_int_equal(a->ack, x->pc.snd_nxt);
}

/* The application reads in the turn: the window update its read owes
 * (RFC 9293 3.8.6.2.2) and the ACK of the text are one segment, at the
 * turn's end, with the window the read opened. */
static void test_ack_turn_window(void **state)
{
	FX_VARS(state);
	const struct tseg *a;
	tapir_stack_defer_acks(sim->st[1], 1);
	assert_int_equal(puppet_burst(sim, &x->pc, 8, 1460), 0);
	assert_int_equal(tapir_tcp_recv(x->pc.b, NULL, 4 * 1460, sim->now), 4 * 1460);
	assert_int_equal(tapir_tcp_recv(x->pc.b, NULL, 4 * 1460, sim->now), 4 * 1460);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tap_n(sim, 0), 0);
	tapir_stack_defer_acks(sim->st[1], 0);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tap_n(sim, 0), 1);
	a = tap_get(sim, 0, 0);
	assert_int_equal(a->ack, x->pc.snd_nxt);
	assert_int_equal(a->win, 65535); /* all read: the whole buffer */
}

/* Never held: the duplicate ACK an out-of-order segment asks for (RFC
 * 5681 4.2), nor the ACK once half the window offered is unacknowledged. */
static void test_ack_turn_not_held(void **state)
{
	FX_VARS(state);
	static uint8_t text[1460];
	size_t n;
	tapir_stack_defer_acks(sim->st[1], 1);
	pc_send(sim, &x->pc, x->pc.snd_nxt + 1000, x->pc.rcv_nxt, TAPIR_TH_ACK, text, 1000);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tap_n(sim, 0), 1);
	assert_int_equal(tap_get(sim, 0, 0)->ack, x->pc.snd_nxt);
	pc_data(sim, &x->pc, text, 1000); /* fills the hole: at once too */
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tap_n(sim, 0), 2);
	x->pc.snd_nxt += 1000;
	tapir_stack_defer_acks(sim->st[1], 0);
	assert_int_equal(tapir_tcp_recv(x->pc.b, NULL, 2000, sim->now), 2000);
	sim_advance(sim, TAPIR_MS(1));
	tap_clear(sim);
	/* 24 segments, 35,040 bytes, in a 65,535-byte window: past half of
	 * it the every-second-segment ACK goes at once */
	tapir_stack_defer_acks(sim->st[1], 1);
	n = puppet_burst(sim, &x->pc, 24, 1460);
	assert_true(n >= 1);
	assert_true(n <= 2);
	assert_true(tap_get(sim, 0, 0)->ack - (x->pc.snd_nxt - 24 * 1460) > 32767);
	tapir_stack_defer_acks(sim->st[1], 0);
	sim_advance(sim, TAPIR_MS(500)); /* (the odd last segment: the delayed ACK) */
	assert_int_equal(tap_last(sim, 0)->ack, x->pc.snd_nxt);
	assert_int_equal(tapir_tcp_recv(x->pc.b, NULL, 24 * 1460, sim->now), 24 * 1460);
}

/* ---- new data held to the turn's end (tcp_output_hold) */

/* A writer on the stack thread with TCP_NODELAY: three writes in a turn
 * leave at its end as one segment, not three; outside a turn, at once. */
static void test_output_turn(void **state)
{
	FX_VARS(state);
	static uint8_t text[400];
	int one = 1;
	tapir_tcp_setopt(x->pc.b, TAPIR_TCP_NODELAY, one);
	tapir_stack_defer_acks(sim->st[1], 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(tapir_tcp_send(x->pc.b, text, sizeof(text), sim->now), 400);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tap_n(sim, 0), 0);
	tapir_stack_defer_acks(sim->st[1], 0);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tap_n(sim, 0), 1);
	assert_int_equal(tap_get(sim, 0, 0)->len, 1200);
	pc_ack_all(sim, &x->pc);
	tap_clear(sim);
	assert_int_equal(tapir_tcp_send(x->pc.b, text, sizeof(text), sim->now), 400);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tap_n(sim, 0), 1);
}

/* ---- Nagle at the size of a super-segment (tcp_output) */

static void link_tso(struct tapir_memlink_params *lp) { lp->tso = 1; }
static const struct fx_opts tso_opts = {.link = link_tso};

/* RFC 1122 4.2.3.4: with data in flight, the short last segment of a
 * write waits for the ACK -- also when the write leaves as a super-segment
 * that the link cuts (its tail would be a short segment in flight) */
static void test_tso_nagle_tail(void **state)
{
	FX_VARS(state);
	static uint8_t text[2 * 1460 + 700];
	assert_int_equal(tapir_tcp_send(x->pc.b, text, 1000, sim->now), 1000);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tap_n(sim, 0), 1); /* nothing in flight: it goes */
	assert_int_equal(tapir_tcp_send(x->pc.b, text, sizeof(text), sim->now), sizeof(text));
	sim_advance(sim, TAPIR_MS(1));
	assert_true(tapir_memlink_stats(sim->link)->tso > 0); /* a super-segment, cut */
	assert_int_equal(tap_n(sim, 0), 3);
	assert_int_equal(tap_get(sim, 0, 1)->len, 1460);
	assert_int_equal(tap_get(sim, 0, 2)->len, 1460);
	pc_ack_all(sim, &x->pc); /* nothing in flight: the tail goes */
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tap_n(sim, 0), 4);
	assert_int_equal(tap_get(sim, 0, 3)->len, 700);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_fast_retransmit, &loss_opts),
		FX_TEST(test_newreno_partial_ack, &loss_opts),
		FX_TEST_AT(test_ooo_reversed, fx_puppet, NULL),
		FX_TEST_AT(test_ooo_shuffled, fx_puppet, NULL),
		FX_TEST(test_zero_window_and_update, &rcvbuf_8k_opts),
		FX_TEST(test_bufs_after_open, &rcvbuf_8k_opts),
		FX_TEST(test_recv_peek_wraps, &rcvbuf_8k_opts),
		FX_TEST(test_send_space_wraps, &space_opts),
		FX_TEST(test_persist, &persist_opts),
		FX_TEST_AT(test_sender_sws, fx_syn_sent, NULL),
		FX_TEST_AT(test_ack_turn_stretch, fx_puppet, NULL),
		FX_TEST_AT(test_ack_turn_window, fx_puppet, NULL),
		FX_TEST_AT(test_ack_turn_not_held, fx_puppet, NULL),
		FX_TEST_AT(test_output_turn, fx_puppet, NULL),
		FX_TEST_AT(test_tso_nagle_tail, fx_puppet, &tso_opts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
