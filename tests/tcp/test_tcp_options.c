/* The TCP options of RFC 7323 (window scaling, timestamps with PAWS and
 * RTTM) and RFC 2018 (SACK), between two tapir stacks in simulated time. */
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

static uint8_t pattern(size_t i) { return (uint8_t)(i * 13 + (i >> 11)); }

/* Sends TOTAL bytes A -> B and reads them on B, checking each byte. */
static void transfer(struct sim *sim, struct pair *p, size_t total)
{
	static uint8_t buf[65536];
	size_t sent = 0, got = 0;
	tapir_time_t until = sim->now + TAPIR_SEC(600);
	while (got < total) {
		while (sent < total) {
			size_t n = total - sent < sizeof(buf) ? total - sent : sizeof(buf);
			long r;
			for (size_t i = 0; i < n; i++)
				buf[i] = pattern(sent + i);
			r = tapir_tcp_send(p->cli, buf, n, sim->now);
			if (r <= 0)
				break;
			sent += (size_t)r;
		}
		for (long r; (r = tapir_tcp_recv(p->srv, buf, sizeof(buf), sim->now)) > 0; got += (size_t)r)
			for (long i = 0; i < r; i++)
				assert_int_equal(buf[i], pattern(got + (size_t)i));
		sim_advance(sim, TAPIR_MS(1));
		assert_true(sim->now < until);
	}
}

static void set_rcvbuf_64k(struct tapir_tcp *t) { tapir_tcp_setopt(t, TAPIR_TCP_RCVBUF, 65535); }
static void set_rcvbuf_1m(struct tapir_tcp *t) { tapir_tcp_setopt(t, TAPIR_TCP_RCVBUF, 1 << 20); }
static void set_rcvbuf_1g(struct tapir_tcp *t) { tapir_tcp_setopt(t, TAPIR_TCP_RCVBUF, 1 << 30); }
static void mem_4g(struct tapir_config *c) { c->tcp_mem_max = (size_t)4 << 30; }

struct wscale_case {
	uint32_t rcvbuf;
	uint8_t want_shift;
};
static const struct wscale_case wscale_0 = {65535, 0}, wscale_14 = {1u << 30, 14};
static const struct fx_opts wscale_opts[] = {
	{.config = mem_4g, .cli_setup = set_rcvbuf_64k, .lis_setup = set_rcvbuf_64k, .arg = &wscale_0},
	{.config = mem_4g, .cli_setup = set_rcvbuf_1g, .lis_setup = set_rcvbuf_1g, .arg = &wscale_14},
};

/* RFC 7323 2: both SYNs carry the option, so both ends scale; the shift
 * is the smallest that covers the buffer: 0 for 64 KiB, 14 for 1 GiB. */
static void test_wscale(void **state)
{
	FX_VARS(state);
	const struct wscale_case *w = x->arg;
	uint32_t rcvbuf = w->rcvbuf;
	uint8_t want_shift = w->want_shift;
	struct tapir_tcp_info a, b;
	tapir_tcp_get_info(x->p.cli, &a);
	tapir_tcp_get_info(x->p.srv, &b);
	assert_true(a.wscale_ok && b.wscale_ok);
	assert_int_equal(a.rcv_wscale, want_shift);
	assert_int_equal(b.snd_wscale, want_shift);
	assert_int_equal(b.rcv_wscale, want_shift);
	assert_int_equal(a.snd_wscale, want_shift);
	/* a SYN's window is never scaled (RFC 7323 2.2) */
	assert_true(a.snd_wnd <= 65535);
	transfer(&x->sim, &x->p, 3u << 20);
	/* once B has ACKed (and read) the data, the window A knows is B's
	 * free buffer scaled back up (to within one unit of the shift), far
	 * beyond what 16 bits could say when the shift is large */
	sim_advance(&x->sim, TAPIR_SEC(1));
	tapir_tcp_get_info(x->p.cli, &a);
	{
		uint64_t most = (uint64_t)65535 << want_shift; /* the field's limit */
		uint64_t want = rcvbuf < most ? rcvbuf : most;
		assert_true(a.snd_wnd <= want);
		assert_true(a.snd_wnd + (1u << want_shift) > want);
	}
}

static void no_wscale(struct tapir_config *c) { c->tcp_window_scaling = 0; /* both stacks: A offers nothing ... */ }
static const struct fx_opts no_wscale_opts = {.config = no_wscale, .cli_setup = set_rcvbuf_1m, .lis_setup = set_rcvbuf_1m};

/* A side that does not offer window scaling gets none: RFC 7323 2.2. */
static void test_wscale_one_sided(void **state)
{
	FX_VARS(state);
	struct tapir_tcp_info a, b;
	tapir_tcp_get_info(p->cli, &a);
	tapir_tcp_get_info(p->srv, &b);
	assert_false(a.wscale_ok || b.wscale_ok);
	assert_int_equal(a.snd_wnd, 65535); /* the unscaled maximum */
	assert_true(a.ts_ok && b.ts_ok && a.sack_ok && b.sack_ok);
	assert_int_equal(a.mss, 1448); /* RFC 6691: 1460 less 12 bytes of TSopt */
	transfer(sim, p, 1u << 20);
}

/* PAWS (RFC 7323 5.3): a data segment whose timestamp is older than
 * TS.Recent is dropped (and ACKed) even though its sequence number is
 * fine; the sender's retransmission then delivers the bytes. */
static int aged;
static enum tapir_verdict age_one(void *arg, struct tapir_hook_pkt *p)
{
	uint8_t *th = p->data;
	size_t hl = (size_t)(th[12] >> 4) * 4;
	(void)arg;
	if (aged || p->len <= hl)
		return TAPIR_PASS; /* only the first data segment */
	for (size_t o = 20; o + 10 <= hl;) {
		if (th[o] == 1) {
			o++;
			continue;
		}
		if (th[o] == 8 && th[o + 1] == 10) {
			uint32_t v = (uint32_t)th[o + 2] << 24 | (uint32_t)th[o + 3] << 16 |
				     (uint32_t)th[o + 4] << 8 | th[o + 5];
			v -= 100000; /* 100 s into the past */
			th[o + 2] = (uint8_t)(v >> 24);
			th[o + 3] = (uint8_t)(v >> 16);
			th[o + 4] = (uint8_t)(v >> 8);
			th[o + 5] = (uint8_t)v;
			tapir_hook_fix_checksums(p);
			aged = 1;
			break;
		}
		if (th[o] == 0 || th[o + 1] < 2)
			break;
		o += th[o + 1];
	}
	return TAPIR_PASS;
}

static void test_paws(void **state)
{
	FX_VARS(state);
	uint64_t drops, rexmits;
	aged = 0;
	assert_int_equal(tapir_hook_add(sim->st[1], TAPIR_HOOK_TCP_RX, age_one, NULL), 0);
	drops = tapir_stats(sim->st[1])->drop[TAPIR_DROP_tcp_dropped];
	transfer(sim, p, 200000);
	assert_true(aged);
	assert_int_equal(tapir_stats(sim->st[1])->drop[TAPIR_DROP_tcp_dropped], drops + 1);
	rexmits = tapir_stats(sim->st[0])->tcp_retransmits;
	assert_true(rexmits >= 1);
}

/* SACK recovery (RFC 2018, RFC 6675): three segments lost from one window
 * are each retransmitted once, without waiting for a timeout, and the
 * receiver's ACKs name the blocks it holds. */
static unsigned data_seen;
static bool drop_three(void *arg, int to, const uint8_t *f, size_t len)
{
	(void)arg;
	if (to != 1 || len < 54 || f[23] != 6)
		return false;
	{
		size_t ihl = (size_t)(f[14] & 15) * 4, th = 14 + ihl;
		size_t hl = (size_t)(f[th + 12] >> 4) * 4;
		size_t ip_len = (size_t)f[16] << 8 | f[17];
		if (ip_len <= ihl + hl)
			return false; /* not data */
		data_seen++;
		return data_seen == 3 || data_seen == 6 || data_seen == 9;
	}
}

static const struct fx_opts sack_opts = {.config = fx_options, .link = fx_delay_5ms};

static void test_sack_recovery(void **state)
{
	FX_VARS(state);
	const struct tapir_stats *st;
	size_t sack_acks = 0;
	data_seen = 0;
	sim->drop = drop_three;
	transfer(sim, p, 40 * 1448);
	st = tapir_stats(sim->st[0]);
	assert_int_equal(st->tcp_fast_retransmits, 1); /* one recovery episode */
	assert_int_equal(st->tcp_retransmits, 3);      /* each hole once */
	for (size_t k = 0; k < sim->ntap; k++)
		if (sim->tap[k].to == 0 && sim->tap[k].optlen > 12)
			sack_acks++; /* TS (12) and SACK blocks */
	assert_true(sack_acks >= 3);
}

/* A retransmission lost too (RFC 8985 6.2's rule, by sequence): data sent
 * after the retransmission is SACKed while the hole stays, so the hole is
 * sent a third time at once -- no retransmission timeout. */
static uint32_t lost_seq;
static unsigned lost_copies;
static bool drop_twice(void *arg, int to, const uint8_t *f, size_t len)
{
	size_t ihl, th, hl, ip_len;
	uint32_t seq;
	(void)arg;
	if (to != 1 || len < 54 || f[23] != 6)
		return false;
	ihl = (size_t)(f[14] & 15) * 4;
	th = 14 + ihl;
	hl = (size_t)(f[th + 12] >> 4) * 4;
	ip_len = (size_t)f[16] << 8 | f[17];
	if (ip_len <= ihl + hl)
		return false; /* not data */
	seq = (uint32_t)f[th + 4] << 24 | (uint32_t)f[th + 5] << 16 | (uint32_t)f[th + 6] << 8 | f[th + 7];
	if (++data_seen == 5)
		lost_seq = seq;
	if (data_seen >= 5 && seq == lost_seq && lost_copies < 2) {
		lost_copies++; /* the original and its first retransmission */
		return true;
	}
	return false;
}

static void test_sack_lost_retransmission(void **state)
{
	FX_VARS(state);
	const struct tapir_stats *st;
	data_seen = lost_copies = 0;
	sim->drop = drop_twice;
	transfer(sim, p, 200 * 1448);
	st = tapir_stats(sim->st[0]);
	assert_int_equal(lost_copies, 2);
	assert_int_equal(st->tcp_lost_retransmits, 1);
	assert_int_equal(st->tcp_timeouts, 0);
	assert_int_equal(st->tcp_fast_retransmits, 1);
}

static void link_reorder(struct tapir_memlink_params *lp)
{
	lp->seed = 7;
	lp->delay_us = 5000;
	lp->reorder = 0.02;
	lp->reorder_extra_us = 8000;
}
static const struct fx_opts reorder_opts = {.config = fx_options, .link = link_reorder};

/* Reordering, no loss: a segment held back looks lost to the duplicate
 * threshold.  When the ACK of the fast retransmission echoes a timestamp
 * older than it, the original had arrived (RFC 3522): the window comes
 * back (RFC 4015), and the threshold rises to the reordering seen, so
 * later reordering costs fewer retransmissions. */
static void test_spurious_undo(void **state)
{
	FX_VARS(state);
	const struct tapir_stats *st;
	struct tapir_tcp_info i;
	transfer(sim, p, 4u << 20);
	st = tapir_stats(sim->st[0]);
	tapir_tcp_get_info(p->cli, &i);
	fprintf(stderr, "reordering only: %llu fast retransmits, %llu spurious, %llu timeouts, "
		"ssthresh %u cwnd %u\n", (unsigned long long)st->tcp_fast_retransmits,
		(unsigned long long)st->tcp_spurious_rexmits, (unsigned long long)st->tcp_timeouts,
		i.ssthresh, i.cwnd);
	assert_true(tapir_memlink_stats(sim->link)->reordered > 20);
	assert_true(st->tcp_spurious_rexmits >= 1);
	/* every episode that was not undone had its retransmission arrive
	 * before the original; none needed a timeout */
	assert_int_equal(st->tcp_timeouts, 0);
	assert_true(st->tcp_spurious_rexmits * 2 >= st->tcp_fast_retransmits);
}

/* Segmentation offload: over a link that cuts super-segments itself (as
 * the kernel does behind a TAP), data goes many segments at a time, each
 * cut segment carries MSS bytes at most and a checksum the receiver
 * accepts, and the stream arrives byte-exact; with a hook on the way out
 * (which must see each segment) the stack cuts them itself. */
static size_t max_frame;
static bool frame_size(void *arg, int to, const uint8_t *f, size_t len)
{
	(void)arg;
	(void)to;
	(void)f;
	if (len > max_frame)
		max_frame = len;
	return false;
}

static enum tapir_verdict pass_all(void *arg, struct tapir_hook_pkt *p)
{
	(void)arg;
	(void)p;
	return TAPIR_PASS;
}

static void link_tso(struct tapir_memlink_params *lp)
{
	lp->delay_us = 1000;
	lp->tso = 1;
}
static const int hooked_no = 0, hooked_yes = 1;
static const struct fx_opts tso_opts[] = {
	{.config = fx_options, .link = link_tso, .arg = &hooked_no},
	{.config = fx_options, .link = link_tso, .arg = &hooked_yes},
};

static void test_tso(void **state)
{
	FX_VARS(state);
	int hooked = *(const int *)x->arg;
	const struct tapir_stats *st;
	if (hooked)
		assert_int_equal(tapir_hook_add(sim->st[0], TAPIR_HOOK_IP_TX, pass_all, NULL), 0);
	max_frame = 0;
	sim->drop = frame_size;
	transfer(sim, &x->p, 8u << 20);
	st = tapir_stats(sim->st[0]);
	assert_true(max_frame <= 1514);
	assert_int_equal(tapir_stats(sim->st[1])->drop[TAPIR_DROP_tcp_checksum], 0);
	if (hooked)
		assert_int_equal(tapir_memlink_stats(sim->link)->tso, 0);
	else /* most data went in super-segments: far fewer sends than segments */
		assert_true(tapir_memlink_stats(sim->link)->tso * 4 > st->tcp_tx &&
			    tapir_memlink_stats(sim->link)->sent > 4 * st->tcp_tx);
}

/* Checksum offload: over the same link one segment of 1000 bytes leaves
 * its checksum to the link, which completes it (the receiver accepts it);
 * one of 100 bytes is summed by the stack (TCP_CSUM_OFFLOAD_MIN), and with
 * a hook on the way out none is left to the link. */
static void test_csum_offload(void **state)
{
	FX_VARS(state);
	int hooked = *(const int *)x->arg;
	const struct tapir_memlink_stats *ls = tapir_memlink_stats(sim->link);
	if (hooked)
		assert_int_equal(tapir_hook_add(sim->st[0], TAPIR_HOOK_IP_TX, pass_all, NULL), 0);
	transfer(sim, &x->p, 100);
	assert_int_equal(ls->csum_offload, 0);
	transfer(sim, &x->p, 1000);
	assert_int_equal(ls->csum_offload, hooked ? 0 : 1);
	assert_int_equal(ls->tso, 0);
	assert_int_equal(tapir_stats(sim->st[1])->drop[TAPIR_DROP_tcp_checksum], 0);
}

/* ECN (RFC 3168): a client that asks (tcp_ecn 1) and a server that
 * accepts when asked (2, the default) agree on the SYNs; new data goes
 * ECT(0); a link that marks CE instead of dropping makes the receiver echo
 * ECE until the sender's CWR, and the sender halve its window without a
 * single retransmission.  With the server off (0) nothing is agreed and no
 * packet is ECT. */
static unsigned ect_frames, cwr_segs, ece_segs;
static bool ecn_watch(void *arg, int to, const uint8_t *f, size_t len)
{
	(void)arg;
	if (len < 54 || f[23] != 6)
		return false;
	if (to == 1 && (f[15] & 3))
		ect_frames++;
	if (to == 1 && (f[47] & 0x80))
		cwr_segs++;
	if (to == 0 && (f[47] & 0x40) && !(f[47] & 0x02))
		ece_segs++;
	return false;
}

static void ecn_client(struct tapir_config *c) { c->tcp_ecn = 1; }
static void ecn_server_off(struct tapir_config *c) { c->tcp_ecn = 0; }
static void ecn_server_on(struct tapir_config *c) { c->tcp_ecn = 2; }
static void link_ce(struct tapir_memlink_params *lp)
{
	lp->delay_us = 2000;
	lp->ce = 0.01;
}
static const int ecn_off = 0, ecn_on = 2;
static const struct fx_opts ecn_opts[] = {
	{.config = ecn_client, .config_b = ecn_server_off, .link = link_ce, .arg = &ecn_off},
	{.config = ecn_client, .config_b = ecn_server_on, .link = link_ce, .arg = &ecn_on},
};

static void test_ecn(void **state)
{
	FX_VARS(state);
	int server = *(const int *)x->arg; /* B's tcp_ecn */
	const struct tapir_stats *st;
	ect_frames = cwr_segs = ece_segs = 0;
	sim->drop = ecn_watch;
	transfer(sim, &x->p, 4u << 20);
	st = tapir_stats(sim->st[0]);
	if (server) {
		assert_true(tapir_memlink_stats(sim->link)->ce_marked > 5);
		assert_true(tapir_stats(sim->st[1])->tcp_ecn_ce_rx > 5);
		assert_true(ece_segs > 0);
		assert_true(st->tcp_ecn_reductions > 0);
		/* at most once per window: never more than the marks */
		assert_true(st->tcp_ecn_reductions <= tapir_stats(sim->st[1])->tcp_ecn_ce_rx);
		assert_true(cwr_segs > 0 && cwr_segs <= st->tcp_ecn_reductions);
		assert_int_equal(st->tcp_retransmits, 0); /* marks, not losses */
		assert_true(ect_frames > 1000);
	} else {
		assert_int_equal(ect_frames, 0);
		assert_int_equal(tapir_memlink_stats(sim->link)->ce_marked, 0);
		assert_int_equal(st->tcp_ecn_reductions, 0);
	}
}

/* The lossy transfers again, with every option on: byte-exact. */
static void test_lossy_with_options(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 15; seed++) {
		struct sim sim;
		struct pair p;
		struct tapir_config c;
		struct tapir_memlink_params lp;
		tapir_config_default(&c);
		c.seed = seed;
		sim_lossy_link(&lp, seed);
		lp.tso = seed & 1;
		sim_init(&sim, &c, &lp);
		assert_true(sim_pair(&sim, 80, &p, NULL, NULL));
		transfer(&sim, &p, 1u << 20);
		pair_fini(&sim, &p);
	}
}

/* CUBIC (RFC 9438): after a loss at W_max the window drops to beta =
 * 0.7 of it, climbs back concavely to W_max at time K, then grows
 * convexly; NewReno in the same run halves and grows one MSS per RTT. */
static int drop_at_seg;
static unsigned seg_count;
static bool drop_one_at(void *arg, int to, const uint8_t *f, size_t len)
{
	(void)arg;
	if (to != 1 || len < 100 || f[23] != 6)
		return false;
	return ++seg_count == (unsigned)drop_at_seg;
}

static void cwnd_curve(int algo, uint32_t *w_at_loss, uint32_t *after, double *samples, int n,
		       tapir_time_t step)
{
	struct sim sim;
	struct pair p;
	struct tapir_config c;
	struct tapir_memlink_params lp;
	static uint8_t buf[65536];
	struct tapir_tcp_info i;
	uint64_t fr;
	tapir_config_default(&c);
	c.tcp_congestion = (uint8_t)algo;
	c.tcp_sndbuf = 8u << 20;
	c.tcp_rcvbuf = 64u << 20;
	c.tcp_mem_max = (size_t)1 << 30;
	tapir_memlink_params_default(&lp);
	lp.delay_us = 10000; /* 20 ms round trip */
	lp.queue_limit = 100000;
	sim_init(&sim, &c, &lp);
	assert_true(sim_pair(&sim, 80, &p, NULL, NULL));
	seg_count = 0;
	drop_at_seg = 800;
	sim.drop = drop_one_at;
	*w_at_loss = 0;
	fr = tapir_stats(sim.st[0])->tcp_fast_retransmits;
	for (int k = 0; k < n;) {
		while (tapir_tcp_send(p.cli, buf, sizeof(buf), sim.now) > 0)
			;
		while (tapir_tcp_recv(p.srv, buf, sizeof(buf), sim.now) > 0)
			;
		tapir_tcp_get_info(p.cli, &i);
		if (!*w_at_loss && tapir_stats(sim.st[0])->tcp_fast_retransmits > fr) {
			*w_at_loss = i.ssthresh; /* what the loss left */
			*after = i.cwnd;
		}
		if (*w_at_loss && !i.ssthresh)
			break;
		sim_advance(&sim, TAPIR_MS(1));
		if (*w_at_loss && sim.now % step < 1000 && k < n)
			samples[k++] = (double)i.cwnd / i.mss;
		assert_true(sim.now < TAPIR_SEC(600));
	}
	pair_fini(&sim, &p);
}

static void test_cubic_growth(void **state)
{
	uint32_t ss_c, ss_r, cw_c, cw_r;
	double cubic[40], reno[40];
	int knee = -1;
	(void)state;
	cwnd_curve(TAPIR_CC_CUBIC, &ss_c, &cw_c, cubic, 40, TAPIR_MS(500));
	cwnd_curve(TAPIR_CC_NEWRENO, &ss_r, &cw_r, reno, 40, TAPIR_MS(500));
	/* the same loss at the same window: CUBIC keeps 0.7, NewReno ~0.5 */
	assert_true(ss_c > ss_r);
	assert_true((double)ss_r / ss_c > 0.6 && (double)ss_r / ss_c < 0.8);
	/* CUBIC's growth slows towards W_max (concave), then speeds up past
	 * it (convex): the increments shrink, then grow */
	for (int k = 1; k + 1 < 40 && knee < 0; k++)
		if (cubic[k + 1] - cubic[k] > cubic[k] - cubic[k - 1] + 0.5 && k > 2)
			knee = k;
	if (knee < 0 || getenv("CUBIC_DUMP")) {
		fprintf(stderr, "ssthresh cubic %u reno %u, knee %d\n", ss_c, ss_r, knee);
		for (int k = 0; k < 40; k++)
			fprintf(stderr, "%d: cubic %.1f reno %.1f\n", k, cubic[k], reno[k]);
	}
	assert_true(knee > 0);
	assert_true(cubic[1] - cubic[0] > cubic[knee] - cubic[knee - 1]); /* concave first */
	/* and past the knee it keeps accelerating (convex) */
	assert_true(cubic[39] - cubic[38] > cubic[knee] - cubic[knee - 1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX_CASE("test_wscale_0", test_wscale, &wscale_opts[0]),
		FX_CASE("test_wscale_14", test_wscale, &wscale_opts[1]),
		FX_TEST(test_wscale_one_sided, &no_wscale_opts),
		FX_TEST(test_paws, &fx_with_options),
		FX_TEST(test_sack_recovery, &sack_opts),
		FX_TEST(test_sack_lost_retransmission, &sack_opts),
		FX_TEST(test_spurious_undo, &reorder_opts),
		FX_CASE("test_tso", test_tso, &tso_opts[0]),
		FX_CASE("test_tso_hooked", test_tso, &tso_opts[1]),
		FX_CASE("test_csum_offload", test_csum_offload, &tso_opts[0]),
		FX_CASE("test_csum_offload_hooked", test_csum_offload, &tso_opts[1]),
		FX_CASE("test_ecn_server_off", test_ecn, &ecn_opts[0]),
		FX_CASE("test_ecn", test_ecn, &ecn_opts[1]),
		cmocka_unit_test(test_lossy_with_options),
		cmocka_unit_test(test_cubic_growth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
