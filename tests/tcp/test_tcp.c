/* TCP between two tapir stacks over the in-memory link, in simulated time:
 * one test per rule of RFC 9293 and its companions. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include <cmocka.h>

#include "tcpsim.h"

static uint8_t pattern(size_t i) { return (uint8_t)(i * 7 + (i >> 9)); }

/* A one-way transfer of TOTAL bytes from A (client) to B (server), both
 * sides closing gracefully at the end. */
struct xfer {
	struct sim *sim;
	struct tapir_tcp *cli, *lis, *srv;
	size_t total, sent, rcvd;
	bool cli_closed, eof, bad, connected;
	int cli_err;
};

static bool xfer_step(void *arg)
{
	struct xfer *x = arg;
	static uint8_t buf[65536];
	tapir_time_t now = x->sim->now;
	int err;
	if (!x->srv) {
		x->srv = tapir_tcp_accept(x->lis, &err);
	}
	if (x->cli && !x->cli_closed) {
		if (tapir_tcp_state(x->cli) == TAPIR_TCP_CLOSED && tapir_tcp_error(x->cli)) {
			x->bad = true;
			return true;
		}
		while (x->sent < x->total) {
			size_t n = x->total - x->sent < sizeof(buf) ? x->total - x->sent : sizeof(buf);
			long r;
			for (size_t i = 0; i < n; i++)
				buf[i] = pattern(x->sent + i);
			r = tapir_tcp_send(x->cli, buf, n, now);
			if (r <= 0)
				break;
			x->sent += (size_t)r;
		}
		if (x->sent == x->total) {
			tapir_tcp_close(x->cli, now);
			x->cli_closed = true;
		}
	}
	if (x->srv && !x->eof) {
		long r;
		while ((r = tapir_tcp_recv(x->srv, buf, sizeof(buf), now)) > 0) {
			for (long i = 0; i < r; i++)
				if (buf[i] != pattern(x->rcvd + (size_t)i))
					x->bad = true;
			x->rcvd += (size_t)r;
		}
		if (r == 0)
			x->eof = true;
		else if (r != -EAGAIN)
			x->bad = true;
	}
	return x->bad || (x->eof && x->rcvd == x->total);
}

static void run_transfer(const struct tapir_memlink_params *lp, size_t total)
{
	struct sim sim;
	struct xfer x = {.sim = &sim, .total = total};
	sim_init(&sim, NULL, lp);
	x.lis = tapir_tcp_new(sim.st[1]);
	assert_int_equal(tapir_tcp_bind(x.lis, 0, 5001), 0);
	assert_int_equal(tapir_tcp_listen(x.lis, 8), 0);
	x.cli = tapir_tcp_new(sim.st[0]);
	assert_int_equal(tapir_tcp_connect(x.cli, SIM_B, 5001, sim.now), 0);
	if (!sim_run(&sim, sim.now + TAPIR_SEC(3600), xfer_step, &x)) {
		sim_dump_sockets(&sim);
		fprintf(stderr, "seed %llu sent %zu rcvd %zu\n", (unsigned long long)(lp ? lp->seed : 0), x.sent, x.rcvd);
		fail();
	}
	assert_false(x.bad);
	assert_int_equal(x.rcvd, total);
	/* the server closes too; after 2 MSL nothing but the listener is left */
	tapir_tcp_close(x.srv, sim.now);
	assert_true(sim_only_listener_after(&sim, TAPIR_SEC(300)));
	tapir_tcp_close(x.lis, sim.now);
	sim_fini(&sim);
}

static void test_transfer_clean(void **state)
{
	(void)state;
	run_transfer(NULL, 1 << 20);
}

static void test_transfer_lossy(void **state)
{
	(void)state;
	/* 10 seeds here: test_tcp_stress runs 50 seeds of 10 MB both ways */
	for (uint64_t seed = 1; seed <= 10; seed++) {
		struct tapir_memlink_params p;
		sim_lossy_link(&p, seed);
		run_transfer(&p, 1 << 20);
	}
}

struct conn_wait {
	struct tapir_tcp *t;
	bool connected;
};

static void on_ev(void *arg, unsigned ev)
{
	struct conn_wait *w = arg;
	if (ev & TAPIR_EV_CONNECTED)
		w->connected = true;
}

static bool closed_or_connected(void *arg)
{
	struct conn_wait *w = arg;
	return w->connected || tapir_tcp_state(w->t) == TAPIR_TCP_CLOSED;
}

static void test_refused(void **state)
{
	struct sim sim;
	struct conn_wait w = {0};
	(void)state;
	sim_init(&sim, NULL, NULL);
	w.t = tapir_tcp_new(sim.st[0]);
	tapir_tcp_set_event(w.t, on_ev, &w);
	assert_int_equal(tapir_tcp_connect(w.t, SIM_B, 9999, sim.now), 0);
	assert_true(sim_run(&sim, sim.now + TAPIR_SEC(10), closed_or_connected, &w));
	assert_false(w.connected);
	assert_int_equal(tapir_tcp_error(w.t), ECONNREFUSED);
	/* S, then R.A: two segments (plus ARP) */
	assert_int_equal(tapir_stats(sim.st[1])->tcp_rst_sent, 1);
	tapir_tcp_close(w.t, sim.now);
	sim_fini(&sim);
}

static bool drop_all_tcp(void *arg, int to, const uint8_t *f, size_t len)
{
	(void)arg;
	(void)to;
	return len > 23 && f[12] == 0x08 && f[13] == 0 && f[23] == 6;
}

static void test_syn_timeout(void **state)
{
	struct sim sim;
	struct conn_wait w = {0};
	struct tapir_config c;
	tapir_time_t t0;
	(void)state;
	tapir_config_default(&c);
	c.tcp_syn_retries = 3;
	sim_init(&sim, &c, NULL);
	sim.drop = drop_all_tcp;
	w.t = tapir_tcp_new(sim.st[0]);
	tapir_tcp_set_event(w.t, on_ev, &w);
	t0 = sim.now;
	assert_int_equal(tapir_tcp_connect(w.t, SIM_B, 80, sim.now), 0);
	assert_true(sim_run(&sim, sim.now + TAPIR_SEC(100), closed_or_connected, &w));
	assert_int_equal(tapir_tcp_error(w.t), ETIMEDOUT);
	/* RFC 6298 5.5: 1 + 2 + 4 + 8 s of backoff before giving up */
	assert_true(sim.now - t0 >= TAPIR_SEC(15));
	assert_true(sim.now - t0 < TAPIR_SEC(16));
	assert_int_equal(tapir_stats(sim.st[0])->tcp_retransmits, 3);
	tapir_tcp_close(w.t, sim.now);
	sim_fini(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transfer_clean),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_syn_timeout),
		cmocka_unit_test(test_transfer_lossy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
