/* Opening and closing connections, on the wire: the three-way handshake,
 * simultaneous open and close, half-close, TIME-WAIT, the listen backlog,
 * abortive close, and the errors that end a connect (ICMP, ARP). */
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

static void info(struct tapir_tcp *t, struct tapir_tcp_info *i) { tapir_tcp_get_info(t, i); }

/* RFC 9293 3.5 (figure 6), 3.7.1: SYN, SYN-ACK, ACK; each SYN carries an
 * MSS option of MTU - 40 = 1460. */
static void test_handshake(void **state)
{
	FX_VARS(state);
	struct tapir_tcp_info ia, ib;
	const struct tseg *s0, *s1, *s2;
	sim_advance(sim, TAPIR_MS(10));
	info(p->cli, &ia);
	info(p->srv, &ib);
	assert_int_equal(tap_n(sim, -1), 3);
	s0 = tap_get(sim, -1, 0);
	s1 = tap_get(sim, -1, 1);
	s2 = tap_get(sim, -1, 2);
	/* SYN */
	assert_int_equal(s0->to, 1);
	assert_int_equal(s0->flags, TAPIR_TH_SYN);
	assert_int_equal(s0->seq, ia.iss);
	assert_int_equal(s0->len, 0);
	assert_int_equal(s0->mss, 1460);
	assert_int_equal(s0->dport, 80);
	assert_true(s0->win > 0);
	/* SYN, ACK */
	assert_int_equal(s1->to, 0);
	assert_int_equal(s1->flags, TAPIR_TH_SYN | TAPIR_TH_ACK);
	assert_int_equal(s1->seq, ib.iss);
	assert_int_equal(s1->ack, ia.iss + 1);
	assert_int_equal(s1->mss, 1460);
	assert_true(s1->win > 0);
	/* ACK */
	assert_int_equal(s2->to, 1);
	assert_int_equal(s2->flags, TAPIR_TH_ACK);
	assert_int_equal(s2->seq, ia.iss + 1);
	assert_int_equal(s2->ack, ib.iss + 1);
	assert_int_equal(s2->len, 0);
	/* both ends agree */
	assert_int_equal(ia.state, TAPIR_TCP_ESTABLISHED);
	assert_int_equal(ib.state, TAPIR_TCP_ESTABLISHED);
	assert_true(p->connected);
	assert_int_equal(ia.mss, 1460);
	assert_int_equal(ib.mss, 1460);
	assert_int_equal(ia.irs, ib.iss);
	assert_int_equal(ib.irs, ia.iss);
	assert_int_equal(ia.snd_una, ia.iss + 1);
	assert_int_equal(ia.snd_nxt, ia.iss + 1);
	assert_int_equal(ia.rcv_nxt, ib.iss + 1);
	assert_int_equal(ib.rcv_nxt, ia.iss + 1);
	assert_int_equal(ia.snd_wnd, s1->win);
	assert_int_equal(ib.snd_wnd, s2->win);
	assert_int_equal(tapir_stats(sim->st[0])->tcp_active_opens, 1);
	assert_int_equal(tapir_stats(sim->st[1])->tcp_passive_opens, 1);
	assert_int_equal(tapir_stats(sim->st[0])->tcp_rst_sent + tapir_stats(sim->st[1])->tcp_rst_sent, 0);
}

/* RFC 9293 3.7.1: TAPIR_TCP_MAXSEG lowers the MSS we announce. */
static void set_maxseg(struct tapir_tcp *t) { tapir_tcp_setopt(t, TAPIR_TCP_MAXSEG, 1000); }

static const struct fx_opts maxseg_opts = {.cli_setup = set_maxseg};

static void test_handshake_maxseg(void **state)
{
	FX_VARS(state);
	struct tapir_tcp_info ia, ib;
	assert_int_equal(tap_get(sim, 1, 0)->mss, 1000);
	assert_int_equal(tap_get(sim, 0, 0)->mss, 1460);
	info(p->cli, &ia);
	info(p->srv, &ib);
	assert_int_equal(ia.mss, 1000);
	assert_int_equal(ib.mss, 1000); /* the server sends no more than we take */
}

struct simopen {
	struct tapir_tcp *t[2];
	bool connected[2];
};

static void simopen_ev0(void *arg, unsigned ev)
{
	if (ev & TAPIR_EV_CONNECTED)
		((struct simopen *)arg)->connected[0] = true;
}

static void simopen_ev1(void *arg, unsigned ev)
{
	if (ev & TAPIR_EV_CONNECTED)
		((struct simopen *)arg)->connected[1] = true;
}

static bool both_connected(void *arg)
{
	struct simopen *o = arg;
	return o->connected[0] && o->connected[1];
}

/* RFC 9293 3.5, figure 8: both ends send SYN at once; each answers the
 * other's SYN with SYN,ACK, and both reach ESTABLISHED. */
static void test_simultaneous_open(void **state)
{
	struct sim sim;
	struct simopen o = {0};
	struct tapir_memlink_params lp;
	struct tapir_tcp_info i0, i1;
	(void)state;
	tapir_memlink_params_default(&lp);
	lp.delay_us = 5000; /* both SYNs are in flight at once */
	sim_init(&sim, NULL, &lp);
	sim.tap_on = true;
	o.t[0] = tapir_tcp_new(sim.st[0]);
	o.t[1] = tapir_tcp_new(sim.st[1]);
	tapir_tcp_set_event(o.t[0], simopen_ev0, &o);
	tapir_tcp_set_event(o.t[1], simopen_ev1, &o);
	assert_int_equal(tapir_tcp_bind(o.t[0], 0, 1111), 0);
	assert_int_equal(tapir_tcp_bind(o.t[1], 0, 2222), 0);
	assert_int_equal(tapir_tcp_connect(o.t[0], SIM_B, 2222, sim.now), 0);
	assert_int_equal(tapir_tcp_connect(o.t[1], SIM_A, 1111, sim.now), 0);
	assert_true(sim_run(&sim, sim.now + TAPIR_SEC(5), both_connected, &o));
	sim_advance(&sim, TAPIR_MS(100));
	info(o.t[0], &i0);
	info(o.t[1], &i1);
	assert_int_equal(i0.state, TAPIR_TCP_ESTABLISHED);
	assert_int_equal(i1.state, TAPIR_TCP_ESTABLISHED);
	assert_int_equal(i0.irs, i1.iss);
	assert_int_equal(i1.irs, i0.iss);
	assert_int_equal(i0.snd_una, i0.iss + 1);
	assert_int_equal(i1.snd_una, i1.iss + 1);
	for (int to = 0; to < 2; to++) {
		const struct tapir_tcp_info *snd = to ? &i0 : &i1;
		const struct tseg *syn = tap_get(&sim, to, 0), *synack = tap_get(&sim, to, 1);
		/* each side: a SYN, then a SYN,ACK of the other's SYN */
		assert_non_null(synack);
		assert_int_equal(syn->flags, TAPIR_TH_SYN);
		assert_int_equal(syn->seq, snd->iss);
		assert_int_equal(syn->mss, 1460);
		assert_int_equal(synack->flags, TAPIR_TH_SYN | TAPIR_TH_ACK);
		assert_int_equal(synack->seq, snd->iss);
		assert_int_equal(synack->ack, snd->irs + 1);
		assert_int_equal(tap_count(&sim, to, TAPIR_TH_RST, TAPIR_TH_RST, -1), 0);
	}
	/* data flows both ways */
	assert_int_equal(tapir_tcp_send(o.t[0], "ping", 4, sim.now), 4);
	assert_int_equal(tapir_tcp_send(o.t[1], "pong", 4, sim.now), 4);
	sim_advance(&sim, TAPIR_SEC(1));
	{
		char b[8];
		assert_int_equal(tapir_tcp_recv(o.t[1], b, sizeof(b), sim.now), 4);
		assert_memory_equal(b, "ping", 4);
		assert_int_equal(tapir_tcp_recv(o.t[0], b, sizeof(b), sim.now), 4);
		assert_memory_equal(b, "pong", 4);
	}
	tapir_tcp_abort(o.t[0], sim.now);
	tapir_tcp_abort(o.t[1], sim.now);
	sim_fini(&sim);
}

/* Every state a socket passes through, as seen between events. */
struct trail {
	struct tapir_tcp *t[2];
	enum tapir_tcp_state seen[2][16];
	unsigned n[2];
};

static bool trail_step(void *arg)
{
	struct trail *tr = arg;
	for (int i = 0; i < 2; i++) {
		enum tapir_tcp_state st;
		if (!tr->t[i])
			continue;
		st = tapir_tcp_state(tr->t[i]);
		if ((!tr->n[i] || tr->seen[i][tr->n[i] - 1] != st) && tr->n[i] < 16)
			tr->seen[i][tr->n[i]++] = st;
	}
	return false;
}

static void msl_1s(struct tapir_config *c) { c->tcp_msl_us = TAPIR_SEC(1); }
static const struct fx_opts simclose_opts = {.config = msl_1s, .link = fx_delay_5ms};

/* RFC 9293 3.6, figure 13: both ends close at once; each goes
 * FIN-WAIT-1 -> CLOSING -> TIME-WAIT, then CLOSED after 2 MSL. */
static void test_simultaneous_close(void **state)
{
	FX_VARS(state);
	struct trail tr = {0};
	static const enum tapir_tcp_state want[] = {
		TAPIR_TCP_ESTABLISHED, TAPIR_TCP_FIN_WAIT_1, TAPIR_TCP_CLOSING,
		TAPIR_TCP_TIME_WAIT, TAPIR_TCP_CLOSED};
	sim_advance(sim, TAPIR_MS(100));
	tr.t[0] = p->cli;
	tr.t[1] = p->srv;
	trail_step(&tr);
	tap_clear(sim);
	assert_int_equal(tapir_tcp_shutdown(p->cli, TAPIR_SHUT_WR, sim->now), 0);
	assert_int_equal(tapir_tcp_shutdown(p->srv, TAPIR_SHUT_WR, sim->now), 0);
	sim_run(sim, sim->now + TAPIR_SEC(5), trail_step, &tr);
	for (int i = 0; i < 2; i++) {
		if (tr.n[i] != 5 || memcmp(tr.seen[i], want, sizeof(want))) {
			for (unsigned k = 0; k < tr.n[i]; k++)
				fprintf(stderr, "side %d: %s\n", i, tapir_tcp_state_name(tr.seen[i][k]));
			fail();
		}
		/* one FIN each way, each acknowledged */
		assert_int_equal(tap_count(sim, i, TAPIR_TH_FIN, TAPIR_TH_FIN, -1), 1);
		assert_int_equal(tap_count(sim, i, TAPIR_TH_RST, TAPIR_TH_RST, -1), 0);
	}
	assert_int_equal(tapir_tcp_error(p->cli), 0);
	assert_int_equal(tapir_tcp_error(p->srv), 0);
	fx_close(x, &p->cli);
	fx_close(x, &p->srv);
	assert_int_equal(sim_sockets(sim->st[0]), 0);
	assert_int_equal(sim_sockets(sim->st[1]), 1);
}

struct halfclose {
	struct sim *sim;
	struct pair *p;
	size_t total, sent, rcvd;
	bool bad;
};

static bool halfclose_step(void *arg)
{
	struct halfclose *h = arg;
	uint8_t buf[8192];
	long r;
	while (h->sent < h->total) {
		size_t n = h->total - h->sent < sizeof(buf) ? h->total - h->sent : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(h->sent + i);
		r = tapir_tcp_send(h->p->srv, buf, n, h->sim->now);
		if (r <= 0)
			break;
		h->sent += (size_t)r;
	}
	while ((r = tapir_tcp_recv(h->p->cli, buf, sizeof(buf), h->sim->now)) > 0) {
		for (long i = 0; i < r; i++)
			if (buf[i] != pattern(h->rcvd + (size_t)i))
				h->bad = true;
		h->rcvd += (size_t)r;
	}
	return h->bad || h->rcvd == h->total;
}

/* RFC 9293 3.6 / RFC 1122 4.2.2.13: a half-close.  A shuts down its
 * sending half; B reads end-of-stream but keeps sending, and everything
 * it sends arrives. */
static void test_half_close(void **state)
{
	FX_VARS(state);
	struct halfclose h = {.sim = sim, .p = p, .total = 300000};
	char b[16];
	assert_int_equal(tapir_tcp_send(p->cli, "request", 7, sim->now), 7);
	assert_int_equal(tapir_tcp_shutdown(p->cli, TAPIR_SHUT_WR, sim->now), 0);
	assert_int_equal(tapir_tcp_send(p->cli, "more", 4, sim->now), -EPIPE);
	sim_advance(sim, TAPIR_MS(100));
	assert_int_equal(tapir_tcp_state(p->cli), TAPIR_TCP_FIN_WAIT_2);
	assert_int_equal(tapir_tcp_state(p->srv), TAPIR_TCP_CLOSE_WAIT);
	assert_int_equal(tapir_tcp_recv(p->srv, b, sizeof(b), sim->now), 7);
	assert_int_equal(tapir_tcp_recv(p->srv, b, sizeof(b), sim->now), 0); /* EOF */
	assert_int_equal(tapir_tcp_recv(p->srv, b, sizeof(b), sim->now), 0);
	/* B keeps talking */
	assert_true(sim_run(sim, sim->now + TAPIR_SEC(60), halfclose_step, &h));
	assert_false(h.bad);
	assert_int_equal(h.rcvd, h.total);
	assert_int_equal(tapir_tcp_state(p->cli), TAPIR_TCP_FIN_WAIT_2);
	/* then closes: A sees EOF and enters TIME-WAIT */
	fx_close(x, &p->srv);
	sim_advance(sim, TAPIR_MS(100));
	assert_int_equal(tapir_tcp_recv(p->cli, b, sizeof(b), sim->now), 0);
	assert_int_equal(tapir_tcp_state(p->cli), TAPIR_TCP_TIME_WAIT);
	assert_int_equal(sim_sockets(sim->st[1]), 1); /* B's LAST-ACK ended */
	assert_int_equal(tap_count(sim, -1, TAPIR_TH_RST, TAPIR_TH_RST, -1), 0);
}

static void msl_2s(struct tapir_config *c) { c->tcp_msl_us = TAPIR_SEC(2); }
static const struct fx_opts msl_2s_opts = {.config = msl_2s};

/* RFC 9293 3.6 / 3.10.7.4: TIME-WAIT lasts 2 MSL from the peer's FIN, then
 * the connection is deleted (A closed first, so A waits). */
static void test_time_wait_2msl(void **state)
{
	FX_VARS(state);
	const struct tseg *fin = NULL;
	for (size_t k = 0; k < tap_n(sim, 0); k++)
		if (tap_get(sim, 0, k)->flags & TAPIR_TH_FIN)
			fin = tap_get(sim, 0, k);
	assert_non_null(fin);
	sim_run(sim, fin->t + 2 * x->c.tcp_msl_us - 1, NULL, NULL);
	assert_int_equal(sim_sockets_in(sim->st[0], TAPIR_TCP_TIME_WAIT), 1);
	sim_run(sim, fin->t + 2 * x->c.tcp_msl_us, NULL, NULL);
	assert_int_equal(sim_sockets(sim->st[0]), 0);
}

/* RFC 9293 3.6.1 / RFC 6191's idea: a new SYN for a 4-tuple in TIME-WAIT
 * whose sequence number is above the old connection's is accepted as a
 * new incarnation. */
static void test_time_wait_reuse(void **state)
{
	FX_VARS(state);
	struct tapir_tcp *c2, *s2;
	struct tapir_tcp_info i;
	uint16_t cport;
	uint32_t addr;
	uint32_t old_rcv_nxt;
	char b[8];
	int err;
	size_t k;
	tapir_tcp_local(p->cli, &addr, &cport);
	assert_int_equal(tapir_tcp_send(p->cli, "hello", 5, sim->now), 5);
	sim_advance(sim, TAPIR_MS(100));
	assert_int_equal(tapir_tcp_recv(p->srv, b, sizeof(b), sim->now), 5);
	info(p->srv, &i);
	old_rcv_nxt = i.rcv_nxt;
	fx_close(x, &p->srv); /* the server closes first: it waits */
	sim_advance(sim, TAPIR_MS(10));
	assert_int_equal(tapir_tcp_recv(p->cli, b, sizeof(b), sim->now), 0);
	fx_close(x, &p->cli);
	sim_advance(sim, TAPIR_SEC(1));
	assert_int_equal(sim_sockets(sim->st[0]), 0);
	assert_int_equal(sim_sockets_in(sim->st[1], TAPIR_TCP_TIME_WAIT), 1);
	/* the same 4-tuple again, a second later: a higher ISN */
	k = sim->ntap;
	c2 = tapir_tcp_new(sim->st[0]);
	assert_int_equal(tapir_tcp_bind(c2, 0, cport), 0);
	assert_int_equal(tapir_tcp_connect(c2, SIM_B, 80, sim->now), 0);
	sim_advance(sim, TAPIR_MS(10));
	assert_true(k + 3 <= sim->ntap);
	assert_int_equal(sim->tap[k].flags, TAPIR_TH_SYN);
	assert_true((int32_t)(sim->tap[k].seq - old_rcv_nxt) > 0);
	assert_int_equal(sim->tap[k + 1].flags, TAPIR_TH_SYN | TAPIR_TH_ACK);
	assert_int_equal(sim->tap[k + 1].ack, sim->tap[k].seq + 1);
	assert_int_equal(tapir_tcp_state(c2), TAPIR_TCP_ESTABLISHED);
	s2 = tapir_tcp_accept(p->lis, &err);
	assert_non_null(s2);
	assert_int_equal(sim_sockets_in(sim->st[1], TAPIR_TCP_TIME_WAIT), 0);
	assert_int_equal(tapir_tcp_send(c2, "again", 5, sim->now), 5);
	sim_advance(sim, TAPIR_MS(100));
	assert_int_equal(tapir_tcp_recv(s2, b, sizeof(b), sim->now), 5);
	assert_memory_equal(b, "again", 5);
	tapir_tcp_abort(c2, sim->now);
	tapir_tcp_abort(s2, sim->now);
}

/* All TCBs taken, some by TIME-WAIT connections nobody holds: a new
 * connection takes the place of the one closest to its end (the flood of
 * short connections must not lock new ones out for 2 MSL); a TIME-WAIT
 * socket its user still holds is never taken. */
static void test_time_wait_reclaimed(void **state)
{
	struct tapir_config cfg;
	struct sim sim;
	struct pair p;
	struct tapir_tcp *held = NULL;
	char b[8];
	(void)state;
	tapir_config_default(&cfg);
	cfg.tcp_timestamps = cfg.tcp_sack = false;
	cfg.tcp_sockets = 4; /* B: the listener and three more */
	sim_init(&sim, &cfg, NULL);
	for (int round = 0; round < 6; round++) {
		struct tapir_tcp *c, *srv;
		int err;
		if (round == 0) {
			assert_true(sim_pair(&sim, 80, &p, NULL, NULL));
			c = p.cli;
			srv = p.srv;
		} else {
			c = tapir_tcp_new(sim.st[0]);
			assert_int_equal(tapir_tcp_connect(c, SIM_B, 80, sim.now), 0);
			sim_advance(&sim, TAPIR_MS(10));
			assert_int_equal(tapir_tcp_state(c), TAPIR_TCP_ESTABLISHED);
			srv = tapir_tcp_accept(p.lis, &err);
			assert_non_null(srv);
		}
		/* the server closes first: B waits (2 MSL) */
		tapir_tcp_shutdown(srv, TAPIR_SHUT_WR, sim.now);
		sim_advance(&sim, TAPIR_MS(10));
		assert_int_equal(tapir_tcp_recv(c, b, sizeof(b), sim.now), 0);
		tapir_tcp_close(c, sim.now);
		sim_advance(&sim, TAPIR_MS(10));
		assert_int_equal(tapir_tcp_state(srv), TAPIR_TCP_TIME_WAIT);
		if (round == 0)
			held = srv; /* still held by its user */
		else
			tapir_tcp_close(srv, sim.now);
		assert_int_equal(sim_sockets(sim.st[1]), round < 3 ? 2u + (unsigned)round : 4u);
		assert_int_equal(tapir_stats(sim.st[1])->tcp_time_wait_reclaimed,
				 round < 3 ? 0u : (unsigned)round - 2);
	}
	/* the held one is still there, in TIME-WAIT */
	assert_int_equal(tapir_tcp_state(held), TAPIR_TCP_TIME_WAIT);
	tapir_tcp_close(held, sim.now);
	tapir_tcp_close(p.lis, sim.now);
	sim_advance(&sim, TAPIR_SEC(300));
	assert_int_equal(sim_sockets(sim.st[1]), 0);
	sim_fini(&sim);
}

struct backlog {
	struct tapir_tcp *c[3];
	bool connected[3];
};

static void bl_ev0(void *a, unsigned ev) { if (ev & TAPIR_EV_CONNECTED) ((struct backlog *)a)->connected[0] = true; }
static void bl_ev1(void *a, unsigned ev) { if (ev & TAPIR_EV_CONNECTED) ((struct backlog *)a)->connected[1] = true; }
static void bl_ev2(void *a, unsigned ev) { if (ev & TAPIR_EV_CONNECTED) ((struct backlog *)a)->connected[2] = true; }

struct bl_wait {
	struct sim *sim;
	unsigned n;
};

static bool b_established(void *arg)
{
	struct bl_wait *w = arg;
	return sim_sockets_in(w->sim->st[1], TAPIR_TCP_ESTABLISHED) >= w->n;
}

/* UNP 4.5 / RFC 9293 3.10.7.2: the listen() backlog bounds only the
 * accept queue (as Linux).  With it full, the third client's handshake
 * ends on its side, but B drops the ACK (no RST) and keeps the connection
 * half-open; once accept() makes room, B's SYN,ACK retransmission brings
 * the client's ACK again and the connection is B's too.  A new SYN
 * meanwhile gets no answer at all. */
static void test_listen_backlog(void **state)
{
	struct sim sim;
	struct backlog bl = {0};
	struct tapir_tcp *l, *a, *a2, *late;
	tapir_event_fn evs[3] = {bl_ev0, bl_ev1, bl_ev2};
	uint16_t port4;
	uint32_t addr;
	tapir_time_t t0, t_accept;
	int err;
	(void)state;
	sim_init(&sim, NULL, NULL);
	sim.tap_on = true;
	l = tapir_tcp_new(sim.st[1]);
	assert_int_equal(tapir_tcp_bind(l, 0, 80), 0);
	assert_int_equal(tapir_tcp_listen(l, 2), 0);
	t0 = sim.now;
	for (int i = 0; i < 3; i++) {
		bl.c[i] = tapir_tcp_new(sim.st[0]);
		tapir_tcp_set_event(bl.c[i], evs[i], &bl);
		assert_int_equal(tapir_tcp_connect(bl.c[i], SIM_B, 80, sim.now), 0);
	}
	sim_advance(&sim, TAPIR_MS(500));
	for (int i = 0; i < 3; i++)
		assert_true(bl.connected[i]);
	assert_int_equal(sim_sockets_in(sim.st[1], TAPIR_TCP_ESTABLISHED), 2);
	assert_int_equal(sim_sockets_in(sim.st[1], TAPIR_TCP_SYN_RECEIVED), 1);
	assert_true(tapir_stats(sim.st[1])->tcp_listen_overflows >= 1);
	assert_int_equal(tapir_stats(sim.st[1])->tcp_rst_sent, 0);
	/* a fourth SYN: no answer at all */
	late = tapir_tcp_new(sim.st[0]);
	assert_int_equal(tapir_tcp_connect(late, SIM_B, 80, sim.now), 0);
	tapir_tcp_local(late, &addr, &port4);
	sim_advance(&sim, TAPIR_MS(100));
	for (size_t k = 0; k < tap_n(&sim, 0); k++)
		assert_int_not_equal(tap_get(&sim, 0, k)->dport, port4);
	tapir_tcp_abort(late, sim.now);
	/* one accept: room for one */
	a = tapir_tcp_accept(l, &err);
	assert_non_null(a);
	t_accept = sim.now;
	assert_true(sim_run(&sim, sim.now + TAPIR_SEC(10), b_established, &(struct bl_wait){&sim, 3}));
	/* by B's first SYN,ACK retransmission (RTO 1 s) */
	assert_true(sim.now - t0 > TAPIR_SEC(1));
	assert_true(sim.now - t0 < TAPIR_SEC(1) + TAPIR_MS(10));
	assert_true(sim.now > t_accept);
	assert_int_equal(tapir_stats(sim.st[1])->tcp_rst_sent, 0);
	a2 = tapir_tcp_accept(l, &err);
	assert_non_null(a2);
	tapir_tcp_abort(a2, sim.now);
	tapir_tcp_abort(a, sim.now);
	for (int i = 0; i < 3; i++)
		tapir_tcp_abort(bl.c[i], sim.now);
	tapir_tcp_close(l, sim.now);
	sim_fini(&sim);
}

/* B's listener holds nothing any more (its queues empty, no other socket
 * on B) and takes N connections from the puppet (each aborted); closing it
 * then leaves nothing on B. */
static void listener_clean(struct fx *x, int n)
{
	struct tapir_tcp_info li;
	struct pconn pc;
	tapir_tcp_get_info(x->p.lis, &li);
	assert_int_equal(li.syn_queued, 0);
	assert_int_equal(li.accept_queued, 0);
	assert_int_equal(sim_sockets(x->sim.st[1]), 1);
	for (int k = 0; k < n; k++) {
		assert_non_null(puppet_open(&x->sim, x->p.lis, 80, (uint16_t)(1001 + k),
					    7000 + 2000 * (uint32_t)k, &pc));
		tapir_tcp_abort(pc.b, x->sim.now);
	}
	fx_close(x, &x->p.lis);
	assert_int_equal(sim_sockets(x->sim.st[1]), 0);
}

/* RFC 9293 3.10.7.4 second (SYN-RECEIVED, passive open): a RST returns
 * the connection to LISTEN; the embryo must leave the listener's queue,
 * and the listener keeps taking connections up to its backlog. */
static void test_listener_rst_in_syn_received(void **state)
{
	FX_VARS(state);
	struct tapir_tcp_info li;
	const struct tseg *sa;
	puppet_syn(sim, 1000, 5000);
	sim_advance(sim, TAPIR_MS(1));
	sa = tap_last(sim, 0);
	assert_non_null(sa);
	assert_int_equal(sa->flags, TAPIR_TH_SYN | TAPIR_TH_ACK);
	tapir_tcp_get_info(p->lis, &li);
	assert_int_equal(li.syn_queued, 1);
	puppet_send(sim, &(struct pseg){.sport = 1000, .dport = 80, .seq = 5001,
					.flags = TAPIR_TH_RST, .win = 0});
	sim_advance(sim, TAPIR_MS(1));
	/* the listener still takes BACKLOG connections */
	listener_clean(x, 2);
}

static void syn_retries2(struct tapir_config *c) { c->tcp_syn_retries = 2; }
static const struct fx_opts syn_retries2_opts = {.config = syn_retries2};

/* RFC 9293 3.8.3 / RFC 6298: an embryo whose SYN,ACK is never answered
 * gives up after the SYN retries and leaves the listener's queue. */
static void test_listener_synack_timeout(void **state)
{
	FX_VARS(state);
	puppet_syn(sim, 1000, 5000);
	sim_advance(sim, TAPIR_SEC(30));
	/* the SYN,ACK: first at once, then after 1 and 2 more seconds */
	assert_int_equal(tap_count(sim, 0, TAPIR_TH_SYN | TAPIR_TH_ACK, TAPIR_TH_SYN | TAPIR_TH_ACK, -1), 3);
	listener_clean(x, 1);
}

/* Closing a listener with a connection still in SYN-RECEIVED frees
 * everything (and resets the embryo, RFC 9293 3.10.5). */
static void test_close_listener_with_embryo(void **state)
{
	FX_VARS(state);
	puppet_syn(sim, 1000, 5000);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(sim_sockets(sim->st[1]), 2);
	fx_close(x, &p->lis);
	assert_int_equal(sim_sockets(sim->st[1]), 0);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tap_last(sim, 0)->flags & TAPIR_TH_RST, TAPIR_TH_RST);
}

static void set_linger0(struct tapir_tcp *t) { tapir_tcp_setopt(t, TAPIR_TCP_LINGER, 0); }

static const struct fx_opts linger0_opts = {.cli_setup = set_linger0};

/* RFC 9293 3.10.5 (ABORT) / SO_LINGER {1, 0}: close sends RST
 * <SEQ=SND.NXT>, frees the socket at once; the peer gets ECONNRESET. */
static void test_linger_zero(void **state)
{
	FX_VARS(state);
	struct tapir_tcp_info ia;
	const struct tseg *r;
	char b[8];
	assert_int_equal(tapir_tcp_send(p->cli, "abc", 3, sim->now), 3);
	sim_advance(sim, TAPIR_MS(100));
	info(p->cli, &ia);
	tap_clear(sim);
	fx_close(x, &p->cli);
	assert_int_equal(sim_sockets(sim->st[0]), 0);
	sim_advance(sim, TAPIR_MS(10));
	assert_int_equal(tap_n(sim, -1), 1);
	r = tap_get(sim, 1, 0);
	assert_int_equal(r->flags & (TAPIR_TH_RST | TAPIR_TH_FIN | TAPIR_TH_SYN), TAPIR_TH_RST);
	assert_int_equal(r->seq, ia.snd_nxt);
	assert_int_equal(tapir_stats(sim->st[0])->tcp_rst_sent, 1);
	assert_int_equal(tapir_tcp_state(p->srv), TAPIR_TCP_CLOSED);
	/* the data that came before is still there to read, then the error */
	assert_int_equal(tapir_tcp_recv(p->srv, b, sizeof(b), sim->now), 3);
	assert_int_equal(tapir_tcp_recv(p->srv, b, sizeof(b), sim->now), -ECONNRESET);
	assert_int_equal(tapir_tcp_error(p->srv), ECONNRESET);
	assert_int_equal(tapir_tcp_send(p->srv, "x", 1, sim->now), -ECONNRESET);
	fx_close(x, &p->srv);
	assert_int_equal(sim_sockets(sim->st[1]), 1);
}

/* RFC 1122 4.2.2.13 / RFC 2525 2.17: closing with data not yet read
 * resets the connection, so the peer knows the data was lost. */
static void test_close_unread_data(void **state)
{
	FX_VARS(state);
	assert_int_equal(tapir_tcp_send(p->cli, "unread", 6, sim->now), 6);
	sim_advance(sim, TAPIR_MS(100));
	assert_int_equal(tapir_tcp_readable(p->srv), 6);
	tap_clear(sim);
	fx_close(x, &p->srv);
	assert_int_equal(sim_sockets(sim->st[1]), 1);
	sim_advance(sim, TAPIR_MS(10));
	assert_int_equal(tap_count(sim, 0, TAPIR_TH_RST, TAPIR_TH_RST, -1), 1);
	assert_int_equal(tap_count(sim, 0, TAPIR_TH_FIN, TAPIR_TH_FIN, -1), 0);
	assert_int_equal(tapir_tcp_state(p->cli), TAPIR_TCP_CLOSED);
	assert_int_equal(tapir_tcp_error(p->cli), ECONNRESET);
}

/* RFC 1122 4.2.3.9 / RFC 5927: a hard ICMP error about our SYN (port or
 * protocol unreachable) ends the connect with the errno of the code; a
 * soft one (net or host unreachable) is only remembered, and told when the
 * connect times out (UNP 4.3); an ICMP error quoting a sequence number not
 * in flight is ignored (RFC 5927 4.1). */
struct icmp_case {
	uint8_t code;
	int want;
	bool hard;
};
static const struct icmp_case port_unreachable = {3, ECONNREFUSED, true};
static const struct icmp_case host_unreachable = {1, EHOSTUNREACH, false};
static const struct fx_opts icmp_opts[] = {{.arg = &port_unreachable}, {.arg = &host_unreachable}};

static void test_icmp_error(void **state)
{
	FX_VARS(state);
	const struct icmp_case *ic = x->arg;
	struct tapir_tcp *t = p->cli;
	struct tseg syn = *tap_get(sim, 0, 0);
	/* a forged error: a sequence number B never sent */
	syn.seq += 100000;
	puppet_send_icmp(sim, 3, ic->code, &syn);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tapir_tcp_state(t), TAPIR_TCP_SYN_SENT);
	assert_int_equal(tapir_stats(sim->st[1])->drop[TAPIR_DROP_icmp_error_bad], 1);
	/* the real one */
	syn.seq -= 100000;
	puppet_send_icmp(sim, 3, ic->code, &syn);
	sim_advance(sim, TAPIR_MS(1));
	if (!ic->hard) {
		assert_int_equal(tapir_tcp_state(t), TAPIR_TCP_SYN_SENT);
		assert_int_equal(tapir_tcp_error(t), 0);
		sim_advance(sim, TAPIR_SEC(200)); /* the SYN retries run out */
	}
	assert_int_equal(tapir_tcp_state(t), TAPIR_TCP_CLOSED);
	assert_int_equal(tapir_tcp_error(t), ic->want);
	fx_close(x, &p->cli);
	assert_int_equal(sim_sockets(sim->st[1]), 0);
}

static bool is_closed(void *arg) { return tapir_tcp_state(arg) == TAPIR_TCP_CLOSED; }

/* RFC 1122 2.3.2.2: no ARP answer for the SYN's next hop: the connect
 * fails with EHOSTUNREACH (well before the SYN retries run out). */
static void test_arp_failure(void **state)
{
	struct sim sim;
	struct tapir_tcp *t;
	tapir_time_t t0;
	(void)state;
	sim_init(&sim, NULL, NULL);
	t = tapir_tcp_new(sim.st[0]);
	t0 = sim.now;
	assert_int_equal(tapir_tcp_connect(t, 0x0a000003u, 80, sim.now), 0);
	assert_true(sim_run(&sim, sim.now + TAPIR_SEC(60), is_closed, t));
	assert_int_equal(tapir_tcp_error(t), EHOSTUNREACH);
	assert_true(sim.now - t0 <= TAPIR_SEC(5));
	assert_int_equal(tapir_stats(sim.st[0])->arp_resolve_failed, 1);
	tapir_tcp_close(t, sim.now);
	assert_int_equal(sim_sockets(sim.st[0]), 0);
	sim_fini(&sim);
}

/* tapir_stack_defer_acks: the ACK a FIN asks for (RFC 9293 3.10.7.4
 * eighth) waits for the turn's end; an application that closes within the
 * turn sends one FIN,ACK (DEFER_CLOSE), one that does not gets the bare
 * ACK sent when the turn ends. */
static void fin_in_turn(struct fx *x, bool close_in_turn)
{
	struct sim *sim = &x->sim;
	struct pconn *pc = &x->pc;
	const struct tseg *r;
	uint32_t fin_seq = pc->snd_nxt;
	tapir_stack_defer_acks(sim->st[1], 1);
	pc_send(sim, pc, fin_seq, pc->b_iss + 1, TAPIR_TH_FIN | TAPIR_TH_ACK, NULL, 0);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tapir_tcp_state(pc->b), TAPIR_TCP_CLOSE_WAIT);
	assert_int_equal(tap_n(sim, 0), 0); /* held */
	if (close_in_turn) {
		tapir_tcp_close(pc->b, sim->now);
		pc->b = NULL;
	}
	tapir_stack_defer_acks(sim->st[1], 0);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tap_n(sim, 0), 1);
	r = tap_get(sim, 0, 0);
	assert_int_equal(r->flags, close_in_turn ? TAPIR_TH_FIN | TAPIR_TH_ACK : TAPIR_TH_ACK);
	assert_int_equal(r->ack, fin_seq + 1);
	if (close_in_turn) { /* the puppet acknowledges our FIN: B's side is gone */
		pc_send(sim, pc, fin_seq + 1, r->seq + 1, TAPIR_TH_ACK, NULL, 0);
		sim_advance(sim, TAPIR_MS(1));
	}
}

/* tapir_tcp_recv with no buffer takes the bytes uncopied (a discard) */
static void test_recv_discard(void **state)
{
	FX_VARS(state);
	pc_data(sim, &x->pc, "hello", 5);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tapir_tcp_readable(x->pc.b), 5);
	assert_int_equal(tapir_tcp_recv(x->pc.b, NULL, 3, sim->now), 3);
	assert_int_equal(tapir_tcp_recv(x->pc.b, NULL, 100, sim->now), 2);
	assert_int_equal(tapir_tcp_recv(x->pc.b, NULL, 100, sim->now), -EAGAIN);
}

static void test_fin_ack_with_close(void **state) { fin_in_turn(*state, true); }
static void test_fin_ack_at_turn_end(void **state) { fin_in_turn(*state, false); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_handshake, NULL),
		FX_TEST(test_handshake_maxseg, &maxseg_opts),
		cmocka_unit_test(test_simultaneous_open),
		FX_TEST(test_simultaneous_close, &simclose_opts),
		FX_TEST(test_half_close, NULL),
		FX_TEST_AT(test_time_wait_2msl, fx_time_wait, &msl_2s_opts),
		FX_TEST(test_time_wait_reuse, NULL),
		cmocka_unit_test(test_time_wait_reclaimed),
		cmocka_unit_test(test_listen_backlog),
		FX_TEST_AT(test_listener_rst_in_syn_received, fx_listener, NULL),
		FX_TEST_AT(test_listener_synack_timeout, fx_listener, &syn_retries2_opts),
		FX_TEST_AT(test_close_listener_with_embryo, fx_listener, NULL),
		FX_TEST(test_linger_zero, &linger0_opts),
		FX_TEST(test_close_unread_data, NULL),
		FX_CASE_AT("test_icmp_port_unreachable", test_icmp_error, fx_syn_sent, &icmp_opts[0]),
		FX_CASE_AT("test_icmp_host_unreachable", test_icmp_error, fx_syn_sent, &icmp_opts[1]),
		cmocka_unit_test(test_arp_failure),
		FX_TEST_AT(test_recv_discard, fx_puppet, NULL),
		FX_TEST_AT(test_fin_ack_with_close, fx_puppet, NULL),
		FX_TEST_AT(test_fin_ack_at_turn_end, fx_puppet, NULL),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
