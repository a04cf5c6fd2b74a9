/* TCP's clocks, on the wire and in simulated time (assertions on times
 * are exact): retransmission (RFC 6298), giving up (RFC 9293 3.8.3, RFC
 * 5482), keepalive (RFC 1122 4.2.3.6), delayed ACK (RFC 1122 4.2.3.2,
 * RFC 5681 4.2) and Nagle (RFC 1122 4.2.3.4). */
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

static bool is_tcp(const uint8_t *f, size_t len)
{
	return len > 23 && f[12] == 0x08 && f[13] == 0 && f[23] == 6;
}

/* drop_arg: an int, the side whose incoming TCP is dropped (-1: none) */
static bool drop_tcp_to(void *arg, int to, const uint8_t *f, size_t len)
{
	return *(int *)arg == to && is_tcp(f, len);
}

/* drops the first TCP segment with payload towards side 1, once */
static bool drop_first_data(void *arg, int to, const uint8_t *f, size_t len)
{
	int *armed = arg;
	size_t ihl;
	unsigned tot, off;
	if (!*armed || to != 1 || !is_tcp(f, len))
		return false;
	ihl = (size_t)(f[14] & 15) * 4;
	tot = (unsigned)(f[16] << 8 | f[17]);
	off = (unsigned)(f[14 + ihl + 12] >> 4) * 4;
	if (tot - ihl - off == 0)
		return false;
	*armed = 0;
	return true;
}

/* drops the first segment carrying SYN towards side 1, once */
static bool drop_first_syn(void *arg, int to, const uint8_t *f, size_t len)
{
	int *armed = arg;
	size_t ihl;
	if (!*armed || to != 1 || !is_tcp(f, len))
		return false;
	ihl = (size_t)(f[14] & 15) * 4;
	if (!(f[14 + ihl + 13] & TAPIR_TH_SYN))
		return false;
	*armed = 0;
	return true;
}

static bool is_closed(void *arg) { return tapir_tcp_state(arg) == TAPIR_TCP_CLOSED; }

static void info(struct tapir_tcp *t, struct tapir_tcp_info *i) { tapir_tcp_get_info(t, i); }

/* The K-th segment towards TO with payload. */
static const struct tseg *data_seg(const struct sim *sim, int to, size_t k)
{
	for (size_t i = 0; i < sim->ntap; i++)
		if (sim->tap[i].to == to && sim->tap[i].len && !k--)
			return &sim->tap[i];
	return NULL;
}

/* A client whose every TCP segment towards side 1 is lost (no delay on
 * the link), with SYN_RETRIES; *drop_to must outlive the sim. */
static struct tapir_tcp *blackholed_client(struct sim *sim, unsigned syn_retries, int *drop_to)
{
	struct tapir_config c;
	struct tapir_memlink_params lp;
	tapir_config_default(&c);
	c.tcp_syn_retries = syn_retries;
	tapir_memlink_params_default(&lp);
	lp.delay_us = 0;
	sim_init(sim, &c, &lp);
	sim->tap_on = true;
	*drop_to = 1;
	sim->drop = drop_tcp_to;
	sim->drop_arg = drop_to;
	return tapir_tcp_new(sim->st[0]);
}

/* RFC 6298 2.1 and 5.5: the SYN's first RTO is 1 s, doubled at each
 * timeout (1, 2, 4, 8 s); after tcp_syn_retries, ETIMEDOUT. */
static void test_syn_backoff(void **state)
{
	struct sim sim;
	int drop_to;
	struct tapir_tcp *t = blackholed_client(&sim, 4, &drop_to);
	(void)state;
	assert_int_equal(tapir_tcp_connect(t, SIM_B, 80, sim.now), 0);
	assert_true(sim_run(&sim, sim.now + TAPIR_SEC(100), is_closed, t));
	assert_int_equal(tapir_tcp_error(t), ETIMEDOUT);
	assert_int_equal(tap_n(&sim, 1), 5);
	for (size_t k = 0; k < 5; k++) {
		const struct tseg *s = tap_get(&sim, 1, k);
		assert_int_equal(s->flags, TAPIR_TH_SYN);
		assert_int_equal(s->seq, tap_get(&sim, 1, 0)->seq);
		if (k)
			assert_int_equal(s->t - tap_get(&sim, 1, k - 1)->t, TAPIR_SEC(1) << (k - 1));
	}
	assert_int_equal(sim.now - tap_get(&sim, 1, 4)->t, TAPIR_SEC(16));
	assert_int_equal(tapir_stats(sim.st[0])->tcp_retransmits, 4);
	assert_int_equal(tapir_stats(sim.st[0])->tcp_conn_timeout, 1);
	tapir_tcp_close(t, sim.now);
	sim_fini(&sim);
}

static const struct fx_opts syn_lost_opts = {.drop = drop_first_syn, .knob = 1};

/* RFC 6298 5.7: when the SYN timed out and the RTO is below 3 s, the RTO
 * MUST be re-initialized to 3 s when data transmission begins. */
static void test_rto_3s_after_syn_timeout(void **state)
{
	FX_VARS(state);
	struct tapir_tcp_info i;
	info(p->cli, &i);
	assert_int_equal(i.state, TAPIR_TCP_ESTABLISHED);
	assert_int_equal(i.srtt_us, 0); /* Karn: no sample from the retransmitted SYN */
	assert_int_equal(i.rto_us, TAPIR_SEC(3));
}

static tapir_time_t absdiff(tapir_time_t a, tapir_time_t b) { return a > b ? a - b : b - a; }

static void rtt_config(struct tapir_config *c)
{
	c->tcp_timestamps = 0; /* two 1460-byte segments */
	c->tcp_rto_min_us = TAPIR_MS(1); /* let the formula show */
}
static const struct fx_opts rtt_opts = {.config = rtt_config, .link = fx_delay_10ms};

/* RFC 6298 2.2/2.3: SRTT, RTTVAR and RTO from the samples, on a link
 * with a known delay (10 ms each way). */
static void test_rtt_estimator(void **state)
{
	FX_VARS(state);
	struct tapir_tcp_info i;
	tapir_time_t r, srtt, rttvar, rto, d;
	const struct tseg *synack = NULL, *ack = NULL;
	static uint8_t buf[2920];
	sim_advance(sim, TAPIR_MS(100));
	for (size_t k = 0; k < sim->ntap; k++) {
		if (!synack && sim->tap[k].to == 0 && sim->tap[k].flags == (TAPIR_TH_SYN | TAPIR_TH_ACK))
			synack = &sim->tap[k];
		else if (synack && !ack && sim->tap[k].to == 1)
			ack = &sim->tap[k];
	}
	assert_non_null(ack);
	/* B's first sample: from sending the SYN,ACK to the ACK */
	r = ack->t - (synack->t - x->lp.delay_us);
	assert_int_equal(r, 20000);
	info(p->srv, &i);
	assert_int_equal(i.srtt_us, r);
	assert_int_equal(i.rttvar_us, r / 2);
	assert_int_equal(i.rto_us, r + 4 * (r / 2));
	srtt = i.srtt_us;
	rttvar = i.rttvar_us;
	/* two full segments from B, ACKed at once by A: a 20 ms sample */
	assert_int_equal(tapir_tcp_send(p->srv, buf, sizeof(buf), sim->now), (long)sizeof(buf));
	sim_advance(sim, TAPIR_MS(100));
	info(p->srv, &i);
	assert_int_equal(i.snd_una, i.snd_nxt);
	r = 20000;
	d = absdiff(srtt, r);
	rttvar = (3 * rttvar + d) / 4;
	srtt = (7 * srtt + r) / 8;
	rto = srtt + (4 * rttvar > 1000 ? 4 * rttvar : 1000);
	if (absdiff(i.srtt_us, srtt) > 2 || absdiff(i.rttvar_us, rttvar) > 2) {
		fprintf(stderr, "srtt %llu want %llu, rttvar %llu want %llu\n",
			(unsigned long long)i.srtt_us, (unsigned long long)srtt,
			(unsigned long long)i.rttvar_us, (unsigned long long)rttvar);
		}
	assert_true(absdiff(i.srtt_us, srtt) <= 2);
	assert_true(absdiff(i.rttvar_us, rttvar) <= 2);
	assert_true(absdiff(i.rto_us, rto) <= 4);
}

static void rto_min_200ms(struct tapir_config *c)
{
	c->tcp_rto_min_us = TAPIR_MS(200);
	c->tcp_retries2 = 3;
}
static void rto_min_300ms(struct tapir_config *c)
{
	c->tcp_rto_min_us = TAPIR_MS(300);
	c->tcp_retries2 = 3;
}
static const struct fx_opts rto_min_opts[] = {
	{.config = rto_min_200ms, .drop = drop_tcp_to, .knob = -1},
	{.config = rto_min_300ms, .drop = drop_tcp_to, .knob = -1},
};

/* RFC 6298 2.4 (tcp_rto_min_us) and 5.5: on a fast link the RTO is the
 * minimum; data is retransmitted after RTO, 2 RTO, 4 RTO. */
static void test_rto_min(void **state)
{
	FX_VARS(state);
	struct tapir_tcp_info i;
	tapir_time_t rto_min = x->c.tcp_rto_min_us;
	assert_int_equal(tapir_tcp_send(p->cli, "x", 1, sim->now), 1);
	sim_advance(sim, TAPIR_MS(100));
	info(p->cli, &i);
	assert_int_equal(i.rto_us, rto_min);
	info(p->srv, &i);
	assert_int_equal(i.rto_us, rto_min);
	/* B vanishes */
	x->knob = 1;
	tap_clear(sim);
	assert_int_equal(tapir_tcp_send(p->cli, "hello", 5, sim->now), 5);
	assert_true(sim_run(sim, sim->now + TAPIR_SEC(100), is_closed, p->cli));
	assert_int_equal(tap_n(sim, 1), 4);
	for (size_t k = 1; k < 4; k++) {
		assert_int_equal(tap_get(sim, 1, k)->seq, tap_get(sim, 1, 0)->seq);
		assert_int_equal(tap_get(sim, 1, k)->len, 5);
		assert_int_equal(tap_get(sim, 1, k)->t - tap_get(sim, 1, k - 1)->t,
				 rto_min << (k - 1));
	}
}

static const struct fx_opts karn_opts = {.link = fx_delay_10ms, .drop = drop_first_data};

/* RFC 6298 3 (Karn's algorithm): no RTT sample from a retransmitted
 * segment; SRTT and RTTVAR are unchanged by the ACK of a retransmission. */
static void test_karn(void **state)
{
	FX_VARS(state);
	struct tapir_tcp_info before, after;
	static uint8_t buf[2920];
	assert_int_equal(tapir_tcp_send(p->cli, buf, sizeof(buf), sim->now), (long)sizeof(buf));
	sim_advance(sim, TAPIR_MS(200));
	info(p->cli, &before);
	assert_int_equal(before.snd_una, before.snd_nxt);
	assert_true(before.srtt_us > 0);
	x->knob = 1;
	tap_clear(sim);
	assert_int_equal(tapir_tcp_send(p->cli, buf, 1460, sim->now), 1460);
	sim_advance(sim, TAPIR_SEC(2));
	info(p->cli, &after);
	assert_int_equal(after.snd_una, after.snd_nxt);
	assert_int_equal(after.snd_una, before.snd_una + 1460);
	assert_int_equal(tapir_stats(sim->st[0])->tcp_retransmits, 1);
	assert_int_equal(tap_count(sim, 1, 0, 0, 1), 2); /* sent twice */
	assert_int_equal(after.srtt_us, before.srtt_us);
	assert_int_equal(after.rttvar_us, before.rttvar_us);
}

static const struct fx_opts retries3_opts = {.config = fx_retries2_3, .drop = drop_tcp_to, .knob = -1};

/* The fixture's client sends "hello" into the blackhole (knob 1) 100 ms
 * after setup and runs until it is closed; *i: its info before.  Returns
 * when the hello was sent. */
static tapir_time_t hello_into_blackhole(struct fx *x, struct tapir_tcp_info *i)
{
	struct sim *sim = &x->sim;
	tapir_time_t t0;
	sim_advance(sim, TAPIR_MS(100));
	info(x->p.cli, i);
	x->knob = 1;
	tap_clear(sim);
	t0 = sim->now;
	assert_int_equal(tapir_tcp_send(x->p.cli, "hello", 5, sim->now), 5);
	assert_true(sim_run(sim, sim->now + TAPIR_SEC(1000), is_closed, x->p.cli));
	return t0;
}

/* RFC 9293 3.8.3 (R2) / RFC 1122 4.2.3.5: when the peer vanishes, the
 * connection is given up after tcp_retries2 retransmissions, with
 * ETIMEDOUT, at T + RTO * (1 + 2 + 4 + 8). */
static void test_retries2_etimedout(void **state)
{
	FX_VARS(state);
	struct tapir_tcp_info i;
	tapir_time_t t0;
	char b[8];
	t0 = hello_into_blackhole(x, &i);
	assert_int_equal(sim->now - t0, i.rto_us * 15);
	assert_int_equal(tap_count(sim, 1, 0, 0, 1), 4);
	assert_int_equal(tapir_tcp_error(p->cli), ETIMEDOUT);
	assert_int_equal(tapir_tcp_recv(p->cli, b, sizeof(b), sim->now), -ETIMEDOUT);
	assert_int_equal(tapir_stats(sim->st[0])->tcp_conn_timeout, 1);
	fx_close(x, &p->cli);
	assert_int_equal(sim_sockets(sim->st[0]), 0);
}

/* ---- TCP_USER_TIMEOUT (RFC 5482 1; RFC 9293 3.8.3's USER TIMEOUT, RFC
 * 1122 4.2.3.5's R2 set by the application): what was sent and stays
 * unacknowledged that long, counted from its sending or from the last ACK
 * that moved SND.UNA, ends the connection with ETIMEDOUT at that instant,
 * in place of the retry counts. */
#define UTO_MS 1000

static void set_user_timeout(struct tapir_tcp *t) { tapir_tcp_setopt(t, TAPIR_TCP_USER_TIMEOUT, UTO_MS); }

static void set_user_timeout_nodelay(struct tapir_tcp *t)
{
	set_user_timeout(t);
	tapir_tcp_setopt(t, TAPIR_TCP_NODELAY, 1);
}

static const struct fx_opts utimeout_opts = {.cli_setup = set_user_timeout, .drop = drop_tcp_to, .knob = -1};

/* The data blackholed: sent at T0, resent at each backed-off RTO, the
 * connection gone at T0 + the user timeout exactly (not at a timeout's
 * end, and not counted from the first retransmission). */
static void test_user_timeout(void **state)
{
	FX_VARS(state);
	struct tapir_tcp_info i;
	tapir_time_t t0, at = 0, rto;
	size_t n = 0;
	t0 = hello_into_blackhole(x, &i);
	assert_int_equal(tapir_tcp_error(p->cli), ETIMEDOUT);
	assert_int_equal(sim->now - t0, TAPIR_MS(UTO_MS));
	/* sent at T0, T0 + RTO, T0 + 3 RTO ... while before the limit */
	for (rto = i.rto_us; at < TAPIR_MS(UTO_MS); at += rto, rto *= 2, n++)
		assert_int_equal(data_seg(sim, 1, n)->t - x->lp.delay_us, t0 + at);
	assert_int_equal(tap_count(sim, 1, 0, 0, 1), n);
	assert_int_equal(tapir_stats(sim->st[0])->tcp_conn_timeout, 1);
}

/* drops every segment with payload towards side 1 while the knob is set */
static bool drop_data_to_1(void *arg, int to, const uint8_t *f, size_t len)
{
	size_t ihl;
	unsigned tot, off;
	if (!*(int *)arg || to != 1 || !is_tcp(f, len))
		return false;
	ihl = (size_t)(f[14] & 15) * 4;
	tot = (unsigned)(f[16] << 8 | f[17]);
	off = (unsigned)(f[14 + ihl + 12] >> 4) * 4;
	return tot - ihl - off > 0;
}

static const struct fx_opts utimeout_progress_opts = {
	.cli_setup = set_user_timeout_nodelay, .link = fx_delay_5ms, .drop = drop_data_to_1};

/* An ACK that moves SND.UNA starts the clock again: "a" reaches B, "b"
 * (sent 6 ms later) never does; the limit counts from the moment A got
 * the ACK of "a", not from the sending of "b" nor of "a". */
static void test_user_timeout_progress(void **state)
{
	FX_VARS(state);
	tapir_time_t t_ack;
	sim_advance(sim, TAPIR_MS(100));
	tap_clear(sim);
	assert_int_equal(tapir_tcp_send(p->cli, "a", 1, sim->now), 1);
	sim_advance(sim, TAPIR_MS(6)); /* "a" is in; its ACK is delayed */
	x->knob = 1;
	assert_int_equal(tapir_tcp_send(p->cli, "b", 1, sim->now), 1);
	assert_true(sim_run(sim, sim->now + TAPIR_SEC(1000), is_closed, p->cli));
	assert_int_equal(tapir_tcp_error(p->cli), ETIMEDOUT);
	/* B's one answer: the ACK of "a" */
	assert_int_equal(tap_n(sim, 0), 1);
	t_ack = tap_get(sim, 0, 0)->t;
	assert_int_equal(tap_get(sim, 0, 0)->ack, data_seg(sim, 1, 0)->seq + 1);
	assert_true(t_ack > data_seg(sim, 1, 1)->t);
	assert_int_equal(sim->now - t_ack, TAPIR_MS(UTO_MS));
}

/* connect() blackholed: the SYN's clock starts at its first sending.  A
 * limit shorter than the SYN retries ends the attempt early; a longer one
 * outlasts tcp_syn_retries (the SYN is sent on, the RTO doubling). */
static void test_user_timeout_connect(void **state)
{
	static const struct {
		unsigned uto_ms, syn_retries;
		size_t syns; /* at 0, 1, 3, 7 s */
	} cases[] = {{2500, 6, 2}, {10000, 2, 4}};
	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct sim sim;
		int drop_to;
		struct tapir_tcp *t = blackholed_client(&sim, cases[c].syn_retries, &drop_to);
		tapir_time_t t0;
		assert_int_equal(tapir_tcp_setopt(t, TAPIR_TCP_USER_TIMEOUT, (int)cases[c].uto_ms), 0);
		t0 = sim.now;
		assert_int_equal(tapir_tcp_connect(t, SIM_B, 80, sim.now), 0);
		assert_true(sim_run(&sim, sim.now + TAPIR_SEC(1000), is_closed, t));
		assert_int_equal(tapir_tcp_error(t), ETIMEDOUT);
		assert_int_equal(sim.now - t0, TAPIR_MS(cases[c].uto_ms));
		assert_int_equal(tap_n(&sim, 1), cases[c].syns);
		for (size_t k = 0; k < cases[c].syns; k++) {
			assert_int_equal(tap_get(&sim, 1, k)->flags, TAPIR_TH_SYN);
			assert_int_equal(tap_get(&sim, 1, k)->t - t0, (TAPIR_SEC(1) << k) - TAPIR_SEC(1));
		}
		tapir_tcp_close(t, sim.now);
		sim_fini(&sim);
	}
}

static bool only_listener(void *arg) { return sim_sockets(arg) == 1; }

/* SYN-RECEIVED: the listener's limit goes to the embryo, whose SYN,ACK
 * is never answered: gone at its first SYN,ACK + the limit (at 2.5 s,
 * before its third SYN,ACK at 3 s). */
static void test_user_timeout_syn_received(void **state)
{
	FX_VARS(state);
	tapir_time_t t_synack;
	assert_int_equal(tapir_tcp_setopt(p->lis, TAPIR_TCP_USER_TIMEOUT, 2500), 0);
	puppet_syn(sim, 1000, 5000);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(sim_sockets(sim->st[1]), 2);
	assert_true(sim_run(sim, sim->now + TAPIR_SEC(1000), only_listener, sim->st[1]));
	assert_int_equal(tap_count(sim, 0, TAPIR_TH_SYN | TAPIR_TH_ACK, TAPIR_TH_SYN | TAPIR_TH_ACK, -1), 2);
	/* the SYN,ACK leaves as the SYN comes (its arrival may wait for ARP) */
	t_synack = tap_get(sim, 1, 0)->t;
	assert_int_equal(sim->now - t_synack, TAPIR_MS(2500));
	assert_int_equal(tap_get(sim, 0, 1)->t - x->lp.delay_us, t_synack + TAPIR_SEC(1));
}

static void set_rcvbuf_8k(struct tapir_tcp *t) { tapir_tcp_setopt(t, TAPIR_TCP_RCVBUF, 8192); }

static const struct fx_opts utimeout_zero_window_opts = {.cli_setup = set_user_timeout,
							 .lis_setup = set_rcvbuf_8k};

/* A zero-window peer that answers every probe and never reads: without
 * the limit the probing goes on for ever (RFC 9293 3.8.6.1, test_persist
 * in test_tcp_flow.c); with it, the connection ends at the first probe +
 * the limit (tcp(7): data "buffered ... untransmitted (due to zero window
 * size)" counts too). */
static void test_user_timeout_zero_window(void **state)
{
	FX_VARS(state);
	static uint8_t buf[20000];
	const struct tseg *probe = NULL;
	size_t k, zw = 0, answered = 0;
	assert_int_equal(tapir_tcp_send(p->cli, buf, sizeof(buf), sim->now), (long)sizeof(buf));
	assert_true(sim_run(sim, sim->now + TAPIR_SEC(1000), is_closed, p->cli));
	assert_int_equal(tapir_tcp_error(p->cli), ETIMEDOUT);
	assert_int_equal(tapir_tcp_readable(p->srv), 8192);
	for (k = 0; k < sim->ntap && !zw; k++)
		if (sim->tap[k].to == 0 && sim->tap[k].win == 0)
			zw = k + 1;
	assert_true(zw > 0);
	for (k = zw; k < sim->ntap; k++) {
		if (sim->tap[k].to == 1 && !probe)
			probe = &sim->tap[k];
		else if (probe && sim->tap[k].to == 0 && sim->tap[k].win == 0)
			answered++;
	}
	assert_non_null(probe);
	assert_true(probe->len <= 1);
	assert_true(answered >= 2);
	assert_int_equal(sim->now - (probe->t - x->lp.delay_us), TAPIR_MS(UTO_MS));
}

static void set_keepalive(struct tapir_tcp *t)
{
	assert_int_equal(tapir_tcp_setopt(t, TAPIR_TCP_KEEPALIVE, 1), 0);
	assert_int_equal(tapir_tcp_setopt(t, TAPIR_TCP_KEEPIDLE, 10), 0);
	assert_int_equal(tapir_tcp_setopt(t, TAPIR_TCP_KEEPINTVL, 2), 0);
	assert_int_equal(tapir_tcp_setopt(t, TAPIR_TCP_KEEPCNT, 3), 0);
}

/* the time A last received a segment: the SYN,ACK */
static tapir_time_t last_rx_by_a(const struct sim *sim)
{
	const struct tseg *s = tap_last(sim, 0);
	return s->t;
}

static const struct fx_opts keepalive_opts = {.cli_setup = set_keepalive};
static const struct fx_opts keepalive_lossy_opts = {.cli_setup = set_keepalive, .drop = drop_tcp_to, .knob = -1};

/* RFC 1122 4.2.3.6: after KEEPIDLE of silence, a probe <SEQ=SND.NXT-1>
 * with no data; the peer answers with an ACK and the connection lives. */
static void test_keepalive_answered(void **state)
{
	FX_VARS(state);
	struct tapir_tcp_info i;
	tapir_time_t last;
	sim_advance(sim, TAPIR_MS(1));
	last = last_rx_by_a(sim);
	info(p->cli, &i);
	tap_clear(sim);
	sim_advance(sim, TAPIR_SEC(35));
	assert_int_equal(tapir_tcp_state(p->cli), TAPIR_TCP_ESTABLISHED);
	assert_int_equal(tap_n(sim, 1), 3);
	assert_int_equal(tap_n(sim, 0), 3);
	for (size_t k = 0; k < 3; k++) {
		const struct tseg *probe = tap_get(sim, 1, k), *answer = tap_get(sim, 0, k);
		assert_int_equal(probe->flags & (TAPIR_TH_ACK | TAPIR_TH_SYN | TAPIR_TH_FIN | TAPIR_TH_RST), TAPIR_TH_ACK);
		assert_int_equal(probe->seq, i.snd_nxt - 1);
		assert_true(probe->len <= 1);
		/* idle time counts from the last segment received */
		assert_int_equal(probe->t - 100, last + TAPIR_SEC(10));
		assert_int_equal(answer->flags, TAPIR_TH_ACK);
		assert_int_equal(answer->ack, i.snd_nxt);
		assert_true(answer->t > probe->t);
		last = answer->t;
	}
}

/* RFC 1122 4.2.3.6: unanswered probes, every KEEPINTVL; after KEEPCNT of
 * them the connection is dead: ETIMEDOUT at idle + cnt * intvl. */
static void test_keepalive_unanswered(void **state)
{
	FX_VARS(state);
	tapir_time_t last;
	sim_advance(sim, TAPIR_MS(1));
	last = last_rx_by_a(sim);
	x->knob = 0; /* B's answers are lost */
	tap_clear(sim);
	assert_true(sim_run(sim, sim->now + TAPIR_SEC(100), is_closed, p->cli));
	assert_int_equal(tapir_tcp_error(p->cli), ETIMEDOUT);
	assert_int_equal(sim->now, last + TAPIR_SEC(10 + 3 * 2));
	assert_int_equal(tap_n(sim, 1), 3);
	for (size_t k = 0; k < 3; k++)
		assert_int_equal(tap_get(sim, 1, k)->t - 100, last + TAPIR_SEC(10 + 2 * k));
	assert_int_equal(tapir_stats(sim->st[0])->tcp_conn_timeout, 1);
}

/* TCP_USER_TIMEOUT with keepalive (idle 10 s, interval 2 s, count 3),
 * B's answers all lost.  rfc: the user timeout bounds unacknowledged data
 * only (RFC 5482 1), KEEPCNT decides.  linux (profile uto_keepalive,
 * tcp(7): the user timeout "will override keepalive"): at each probe time,
 * once a probe went unanswered, the connection ends if the silence has
 * reached the user timeout -- at the first probe time at or past it, with
 * fewer or more probes than KEEPCNT.  With data unacknowledged the user
 * timeout counts from its sending, as without keepalive. */
struct uto_keep_case {
	bool linux_profile;
	unsigned uto_ms;
	unsigned data_at_s; /* A sends a byte this long after the silence began; 0: none */
	unsigned end_s;     /* ETIMEDOUT this long after the silence began */
	size_t probes;      /* keepalive probes sent (no data case) */
};

static void linux_config(struct tapir_config *c) { tapir_config_profile(c, TAPIR_PROFILE_LINUX); }

#define UTO_KEEP(name, linux_p, uto, data, end, n)                                                  \
	FX_CASE(name, test_uto_keepalive,                                                           \
		(&(const struct fx_opts){.config = (linux_p) ? linux_config : NULL,              \
					 .cli_setup = set_keepalive,                                \
					 .drop = drop_tcp_to,                                       \
					 .knob = -1,                                                \
					 .arg = &(const struct uto_keep_case){linux_p, uto, data, end, n}}))

static void test_uto_keepalive(void **state)
{
	FX_VARS(state);
	const struct uto_keep_case *c = x->arg;
	tapir_time_t last;
	size_t probes = 0;
	assert_int_equal(tapir_tcp_setopt(p->cli, TAPIR_TCP_USER_TIMEOUT, (int)c->uto_ms), 0);
	sim_advance(sim, TAPIR_MS(1));
	last = last_rx_by_a(sim);
	x->knob = 0; /* B's answers are lost */
	tap_clear(sim);
	if (c->data_at_s) {
		sim_advance(sim, last + TAPIR_SEC(c->data_at_s) - sim->now);
		assert_int_equal(tapir_tcp_send(p->cli, "x", 1, sim->now), 1);
	}
	assert_true(sim_run(sim, sim->now + TAPIR_SEC(100), is_closed, p->cli));
	assert_int_equal(tapir_tcp_error(p->cli), ETIMEDOUT);
	assert_int_equal(sim->now, last + TAPIR_SEC(c->end_s));
	if (c->data_at_s)
		return;
	for (size_t k = 0; k < tap_n(sim, 1); k++, probes++) {
		const struct tseg *probe = tap_get(sim, 1, k);
		assert_int_equal(probe->flags, TAPIR_TH_ACK);
		assert_int_equal(probe->t - x->lp.delay_us, last + TAPIR_SEC(10 + 2 * k));
	}
	assert_int_equal(probes, c->probes);
}

/* RFC 1122 4.2.3.2 / RFC 5681 4.2: one small segment is ACKed after the
 * delayed-ACK time (tcp_delack_us, well under 500 ms), not at once. */
static void test_delayed_ack_one_segment(void **state)
{
	FX_VARS(state);
	const struct tseg *d, *a;
	sim_advance(sim, TAPIR_MS(10));
	tap_clear(sim);
	assert_int_equal(tapir_tcp_send(p->cli, "0123456789", 10, sim->now), 10);
	sim_advance(sim, TAPIR_SEC(1));
	assert_int_equal(tap_n(sim, 1), 1);
	assert_int_equal(tap_n(sim, 0), 1);
	d = tap_get(sim, 1, 0);
	a = tap_get(sim, 0, 0);
	assert_int_equal(a->flags, TAPIR_TH_ACK);
	assert_int_equal(a->ack, d->seq + 10);
	assert_int_equal(a->t - d->t, x->c.tcp_delack_us + 100);
	assert_true(x->c.tcp_delack_us > 0 && x->c.tcp_delack_us < TAPIR_MS(200));
}

/* RFC 5681 4.2 / RFC 1122 4.2.3.2: an ACK at least for every second
 * full-sized segment, at once. */
static void test_delayed_ack_two_segments(void **state)
{
	FX_VARS(state);
	const struct tseg *d, *a;
	static uint8_t buf[2 * 1460];
	sim_advance(sim, TAPIR_MS(10));
	tap_clear(sim);
	assert_int_equal(tapir_tcp_send(p->cli, buf, sizeof(buf), sim->now), (long)sizeof(buf));
	sim_advance(sim, TAPIR_SEC(1));
	assert_int_equal(tap_n(sim, 1), 2);
	assert_int_equal(tap_n(sim, 0), 1);
	d = tap_get(sim, 1, 1);
	a = tap_get(sim, 0, 0);
	assert_int_equal(d->len, 1460);
	assert_int_equal(a->ack, d->seq + 1460);
	assert_int_equal(a->t - d->t, 100); /* only the link's delay */
}

/* The profile's quick-ack mode (Linux's; RFC 1122 4.2.3.2 and RFC 9293
 * 3.8.6.3 make the delay a SHOULD): the first 16 lone segments (rcv_wnd /
 * (2 MSS) is more) are each ACKed at once, the 17th after the delayed-ACK
 * time, and after an idle RTO one is ACKed at once again. */
static void quickack_config(struct tapir_config *c)
{
	fx_options(c);
	c->profile.quickack = 1;
}

static const struct fx_opts quickack_opts = {.config = quickack_config};

/* A sends one 10-byte segment; the delay from it to B's ACK */
static tapir_time_t lone_ack_delay(struct fx *x)
{
	struct sim *sim = &x->sim;
	const struct tseg *d, *a;
	tap_clear(sim);
	assert_int_equal(tapir_tcp_send(x->p.cli, "0123456789", 10, sim->now), 10);
	sim_advance(sim, TAPIR_MS(100));
	assert_int_equal(tap_n(sim, 1), 1);
	assert_int_equal(tap_n(sim, 0), 1);
	d = tap_get(sim, 1, 0);
	a = tap_get(sim, 0, 0);
	assert_int_equal(a->ack, d->seq + 10);
	return a->t - d->t;
}

static void test_quickack(void **state)
{
	FX_VARS(state);
	sim_advance(sim, TAPIR_MS(10));
	for (int k = 0; k < 16; k++)
		assert_int_equal(lone_ack_delay(x), 100); /* only the link's delay */
	assert_int_equal(lone_ack_delay(x), x->c.tcp_delack_us + 100);
	sim_advance(sim, TAPIR_SEC(2)); /* idle for more than an RTO */
	assert_int_equal(lone_ack_delay(x), 100);
}

static const struct fx_opts linux_opts = {.config = linux_config};

/* The puppet sends 10 bytes (SEQ, or its next ones when SEQ is 0); the
 * delay from their arrival to B's first answer */
static tapir_time_t puppet_ack_delay(struct fx *x, uint32_t seq)
{
	struct sim *sim = &x->sim;
	struct pconn *pc = &x->pc;
	tap_clear(sim);
	if (seq)
		pc_send(sim, pc, seq, pc->rcv_nxt, TAPIR_TH_ACK | TAPIR_TH_PSH, "0123456789", 10);
	else
		pc_data(sim, pc, "0123456789", 10);
	sim_advance(sim, TAPIR_MS(100));
	assert_int_equal(tap_n(sim, 0), 1);
	assert_int_equal(tap_get(sim, 0, 0)->ack, pc->snd_nxt);
	return tap_get(sim, 0, 0)->t - tap_get(sim, 1, 0)->t;
}

/* Linux's quick-ack mode comes back with a retransmission all below
 * RCV.NXT (tcp_send_dupack: our ACK was perhaps lost): the duplicate is
 * answered at once (RFC 9293 3.10.7.4 first step, every profile), and
 * then, under linux, the next WND / (2 MSS) segments (16 at most) too,
 * where the rfc profile goes on delaying. */
static void test_quickack_after_duplicate(void **state)
{
	FX_VARS(state);
	bool quickack = x->c.profile.quickack;
	tapir_time_t delack = x->c.tcp_delack_us, link = x->lp.delay_us;
	unsigned quick = 0, want;
	int k;
	/* the quick ACKs of the start used up */
	for (k = 0; k < 40 && puppet_ack_delay(x, 0) == link; k++)
		;
	assert_true(k < 40);
	assert_int_equal(puppet_ack_delay(x, 0), delack + link);
	/* the last 10 bytes again */
	assert_int_equal(puppet_ack_delay(x, x->pc.snd_nxt - 10), link);
	want = tap_get(sim, 0, 0)->win / (2 * 1460);
	want = quickack ? (want < 2 ? 2 : want > 16 ? 16 : want) : 0;
	while (quick < 40 && puppet_ack_delay(x, 0) == link)
		quick++;
	assert_int_equal(quick, want);
}

/* RFC 1122 4.2.3.4 (Nagle): while data is unacknowledged, small writes
 * wait and go out together; with TCP_NODELAY each goes at once. */
static void set_nodelay(struct tapir_tcp *t) { tapir_tcp_setopt(t, TAPIR_TCP_NODELAY, 1); }

static const struct fx_opts nagle_opts[] = {
	{.link = fx_delay_5ms},
	{.link = fx_delay_5ms, .cli_setup = set_nodelay},
};

static void test_nagle(void **state)
{
	FX_VARS(state);
	uint8_t buf[128];
	long n;
	int nodelay = 0;
	assert_int_equal(tapir_tcp_getopt(p->cli, TAPIR_TCP_NODELAY, &nodelay), 0);
	sim_advance(sim, TAPIR_MS(100));
	tap_clear(sim);
	for (int k = 0; k < 10; k++) {
		assert_int_equal(tapir_tcp_send(p->cli, "0123456789", 10, sim->now), 10);
		sim_advance(sim, TAPIR_MS(1));
	}
	sim_advance(sim, TAPIR_SEC(1));
	if (nodelay) {
		assert_int_equal(tap_count(sim, 1, 0, 0, 1), 10);
		for (size_t k = 0; k < 10; k++) {
			assert_int_equal(data_seg(sim, 1, k)->len, 10);
			if (k)
				assert_int_equal(data_seg(sim, 1, k)->t - data_seg(sim, 1, k - 1)->t,
						 TAPIR_MS(1));
		}
	} else {
		assert_int_equal(tap_count(sim, 1, 0, 0, 1), 2);
		assert_int_equal(data_seg(sim, 1, 0)->len, 10);
		assert_int_equal(data_seg(sim, 1, 1)->len, 90);
		/* the second left when the first was ACKed */
		assert_true(data_seg(sim, 1, 1)->t > tap_get(sim, 0, 0)->t);
	}
	n = sim_read(sim, p->srv, buf, sizeof(buf));
	assert_int_equal(n, 100);
	for (int k = 0; k < 100; k++)
		assert_int_equal(buf[k], '0' + k % 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syn_backoff),
		FX_TEST(test_rto_3s_after_syn_timeout, &syn_lost_opts),
		FX_TEST(test_rtt_estimator, &rtt_opts),
		FX_CASE("test_rto_min_200ms", test_rto_min, &rto_min_opts[0]),
		FX_CASE("test_rto_min_300ms", test_rto_min, &rto_min_opts[1]),
		FX_TEST(test_karn, &karn_opts),
		FX_TEST(test_retries2_etimedout, &retries3_opts),
		FX_TEST(test_user_timeout, &utimeout_opts),
		FX_TEST(test_user_timeout_progress, &utimeout_progress_opts),
		cmocka_unit_test(test_user_timeout_connect),
		FX_TEST_AT(test_user_timeout_syn_received, fx_listener, NULL),
		FX_TEST(test_user_timeout_zero_window, &utimeout_zero_window_opts),
		FX_TEST(test_keepalive_answered, &keepalive_opts),
		FX_TEST(test_keepalive_unanswered, &keepalive_lossy_opts),
		UTO_KEEP("test_uto_keepalive_rfc_short", false, 5000, 0, 16, 3),
		UTO_KEEP("test_uto_keepalive_rfc_long", false, 20000, 0, 16, 3),
		UTO_KEEP("test_uto_keepalive_linux_none", true, 0, 0, 16, 3),
		UTO_KEEP("test_uto_keepalive_linux_short", true, 5000, 0, 12, 1),
		UTO_KEEP("test_uto_keepalive_linux_at_probe", true, 14000, 0, 14, 2),
		UTO_KEEP("test_uto_keepalive_linux_past_probe", true, 14001, 0, 16, 3),
		UTO_KEEP("test_uto_keepalive_linux_long", true, 20000, 0, 20, 5),
		UTO_KEEP("test_uto_keepalive_linux_data", true, 5000, 9, 14, 0),
		FX_TEST(test_delayed_ack_one_segment, &fx_with_options),
		FX_TEST(test_delayed_ack_two_segments, NULL),
		FX_TEST(test_quickack, &quickack_opts),
		FX_CASE_AT("test_quickack_after_duplicate_linux", test_quickack_after_duplicate, fx_puppet,
			   &linux_opts),
		FX_CASE_AT("test_quickack_after_duplicate_rfc", test_quickack_after_duplicate, fx_puppet,
			   &fx_with_options),
		FX_TEST(test_nagle, &nagle_opts[0]),
		FX_CASE("test_nodelay", test_nagle, &nagle_opts[1]),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
