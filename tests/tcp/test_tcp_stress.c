/* Whole transfers over an impaired cable (loss, reordering, duplication,
 * corruption), many seeds: every byte arrives exactly once and in order,
 * both ways at once, and no connection is left stuck. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tcpsim.h"

static uint8_t pat(unsigned dir, size_t i) { return (uint8_t)((i * 7 + (i >> 9)) ^ (dir * 0x5a)); }

/* One end of a bidirectional transfer: sends TOTAL bytes of its pattern,
 * then shuts down its sending half; reads the peer's pattern to EOF. */
struct end {
	struct tapir_tcp *t;
	unsigned dir;
	size_t total, sent, rcvd;
	bool shut, eof, bad;
	bool answer; /* a server: sends only after the request's EOF */
};

/* the two directions' streams, made once */
#define STREAM_MAX (10u << 20)
static uint8_t *stream[2];

static void streams_init(void)
{
	for (unsigned d = 0; d < 2; d++) {
		if (stream[d])
			continue;
		stream[d] = malloc(STREAM_MAX);
		if (!stream[d])
			abort();
		for (size_t i = 0; i < STREAM_MAX; i++)
			stream[d][i] = pat(d, i);
	}
}

static void end_step(struct end *e, tapir_time_t now)
{
	static uint8_t buf[65536];
	long r;
	if (!e->t)
		return;
	while (e->sent < e->total && (!e->answer || e->eof) && tapir_tcp_writable(e->t)) {
		r = tapir_tcp_send(e->t, stream[e->dir] + e->sent, e->total - e->sent, now);
		if (r <= 0) {
			if (r != -EAGAIN)
				e->bad = true;
			break;
		}
		e->sent += (size_t)r;
	}
	if (e->sent == e->total && !e->shut && (!e->answer || e->eof)) {
		if (tapir_tcp_shutdown(e->t, TAPIR_SHUT_WR, now) < 0)
			e->bad = true;
		e->shut = true;
	}
	while (!e->eof &&
	       (r = tapir_tcp_recv(e->t, buf, sizeof(buf), now)) != -EAGAIN) {
		if (r == 0) {
			e->eof = true;
			break;
		}
		if (r < 0) {
			e->bad = true;
			break;
		}
		if (e->rcvd + (size_t)r > STREAM_MAX ||
		    memcmp(buf, stream[!e->dir] + e->rcvd, (size_t)r) != 0)
			e->bad = true;
		e->rcvd += (size_t)r;
	}
}

struct bidir {
	struct sim *sim;
	struct tapir_tcp *lis;
	struct end a, b;
};

static bool bidir_step(void *arg)
{
	struct bidir *x = arg;
	int err;
	if (!x->b.t && (x->b.t = tapir_tcp_accept(x->lis, &err)) != NULL)
		x->b.dir = 1;
	end_step(&x->a, x->sim->now);
	end_step(&x->b, x->sim->now);
	return x->a.bad || x->b.bad ||
	       (x->a.eof && x->b.eof && x->a.shut && x->b.shut);
}

static void impaired(struct tapir_memlink_params *p, uint64_t seed)
{
	sim_lossy_link(p, seed);
	p->tso = seed & 1; /* odd seeds: super-segments, cut by the cable */
}

static void bidir_run(uint64_t seed, size_t total)
{
	struct sim sim;
	struct tapir_memlink_params lp;
	struct bidir x = {.sim = &sim};
	impaired(&lp, seed);
	sim_init(&sim, NULL, &lp);
	x.lis = tapir_tcp_new(sim.st[1]);
	assert_int_equal(tapir_tcp_bind(x.lis, 0, 5001), 0);
	assert_int_equal(tapir_tcp_listen(x.lis, 8), 0);
	x.a.t = tapir_tcp_new(sim.st[0]);
	x.a.total = x.b.total = total;
	assert_int_equal(tapir_tcp_connect(x.a.t, SIM_B, 5001, sim.now), 0);
	if (!sim_run(&sim, sim.now + TAPIR_SEC(3600), bidir_step, &x) || x.a.bad || x.b.bad) {
		fprintf(stderr, "seed %llu at %.3f s: A sent %zu rcvd %zu bad %d err %d, B sent %zu rcvd %zu bad %d err %d\n",
			(unsigned long long)seed, (double)sim.now / 1e6, x.a.sent, x.a.rcvd, x.a.bad,
			x.a.t ? tapir_tcp_error(x.a.t) : 0, x.b.sent, x.b.rcvd, x.b.bad,
			x.b.t ? tapir_tcp_error(x.b.t) : 0);
		sim_dump_sockets(&sim);
		fail();
	}
	assert_int_equal(x.a.rcvd, total);
	assert_int_equal(x.b.rcvd, total);
	tapir_tcp_close(x.a.t, sim.now);
	tapir_tcp_close(x.b.t, sim.now);
	/* after 2 MSL (and any retransmitted FIN), nothing but the listener */
	assert_true(sim_only_listener_after(&sim, TAPIR_SEC(200)));
	tapir_tcp_close(x.lis, sim.now);
	sim_fini(&sim);
}

/* RFC 9293 3.4, 3.10.7.4 and the whole loss machinery: 10 MB each way at
 * once, 50 impaired links. */
static void test_bidir_10mb_lossy(void **state)
{
	const char *env = getenv("TCPSIM_SEEDS");
	uint64_t seeds = env ? strtoull(env, NULL, 10) : 50;
	(void)state;
	streams_init();
	for (uint64_t seed = 1; seed <= seeds; seed++)
		bidir_run(seed, 10u << 20);
}

/* A small request/response service: NCLI clients, each sends a request
 * of a seed-chosen size and shuts down; the server answers with a
 * response, then closes. */
enum { NCLI = 4 };

struct svc {
	struct sim *sim;
	struct tapir_tcp *lis;
	struct end cli[NCLI], srv[NCLI];
	unsigned nsrv;
	bool cli_closed[NCLI], srv_closed[NCLI];
};

static bool svc_step(void *arg)
{
	struct svc *v = arg;
	struct tapir_tcp *t;
	int err;
	bool all = true;
	while (v->nsrv < NCLI && (t = tapir_tcp_accept(v->lis, &err)) != NULL) {
		struct tapir_tcp_info i;
		unsigned k;
		tapir_tcp_get_info(t, &i);
		/* match by port with its client (one still open: a closed
		 * one's handle is gone, and its server was matched before) */
		for (k = 0; k < NCLI; k++) {
			uint32_t a;
			uint16_t port;
			if (v->cli_closed[k])
				continue;
			tapir_tcp_local(v->cli[k].t, &a, &port);
			if (port == i.rport)
				break;
		}
		assert_true(k < NCLI);
		v->srv[k].t = t;
		v->srv[k].dir = 1;
		v->srv[k].answer = true;
		v->nsrv++;
	}
	for (unsigned k = 0; k < NCLI; k++) {
		struct end *c = &v->cli[k], *s = &v->srv[k];
		if (!v->cli_closed[k])
			end_step(c, v->sim->now);
		/* the server answers once the whole request is in */
		if (s->t && !v->srv_closed[k]) {
			end_step(s, v->sim->now);
			if (s->eof) /* the answer, now that the request is in */
				end_step(s, v->sim->now);
		}
		if (c->bad || s->bad)
			return true;
		if (c->eof && c->shut && !v->cli_closed[k]) {
			tapir_tcp_close(c->t, v->sim->now);
			v->cli_closed[k] = true;
		}
		if (s->eof && s->shut && s->sent == s->total && !v->srv_closed[k]) {
			tapir_tcp_close(s->t, v->sim->now);
			v->srv_closed[k] = true;
		}
		all = all && v->cli_closed[k] && v->srv_closed[k];
	}
	return all;
}

/* No stuck connection: 100 impaired links, 4 request/response exchanges
 * each; all end, and after 2 MSL no socket is left. */
static void test_service_100_seeds(void **state)
{
	(void)state;
	streams_init();
	for (uint64_t seed = 1; seed <= 100; seed++) {
		struct sim sim;
		struct tapir_memlink_params lp;
		struct tapir_config c;
		struct svc v;
		uint64_t r = seed * 0x9e3779b97f4a7c15ull;
		memset(&v, 0, sizeof(v));
		v.sim = &sim;
		impaired(&lp, seed + 1000);
		tapir_config_default(&c);
		c.seed = seed;
		sim_init(&sim, &c, &lp);
		v.lis = tapir_tcp_new(sim.st[1]);
		assert_int_equal(tapir_tcp_bind(v.lis, 0, 80), 0);
		assert_int_equal(tapir_tcp_listen(v.lis, NCLI), 0);
		for (unsigned k = 0; k < NCLI; k++) {
			r ^= r >> 29;
			r *= 0xbf58476d1ce4e5b9ull;
			v.cli[k].t = tapir_tcp_new(sim.st[0]);
			v.cli[k].total = 1 + (size_t)(r % 100000);
			v.srv[k].total = 1 + (size_t)((r >> 32) % 300000);
			assert_int_equal(tapir_tcp_connect(v.cli[k].t, SIM_B, 80, sim.now), 0);
		}
		if (!sim_run(&sim, sim.now + TAPIR_SEC(3600), svc_step, &v)) {
			fprintf(stderr, "seed %llu stuck\n", (unsigned long long)seed);
			for (unsigned k = 0; k < NCLI; k++)
				fprintf(stderr, "  %u: cli sent %zu/%zu rcvd %zu eof %d; srv %s sent %zu/%zu rcvd %zu eof %d\n",
					k, v.cli[k].sent, v.cli[k].total, v.cli[k].rcvd, v.cli[k].eof,
					v.srv[k].t ? "up" : "none", v.srv[k].sent, v.srv[k].total,
					v.srv[k].rcvd, v.srv[k].eof);
			sim_dump_sockets(&sim);
			fail();
		}
		for (unsigned k = 0; k < NCLI; k++) {
			assert_false(v.cli[k].bad || v.srv[k].bad);
			assert_int_equal(v.srv[k].rcvd, v.cli[k].total);
			assert_int_equal(v.cli[k].rcvd, v.srv[k].total);
		}
		if (!sim_only_listener_after(&sim, TAPIR_SEC(200)))
			fail_msg("seed %llu: sockets left", (unsigned long long)seed);
		tapir_tcp_close(v.lis, sim.now);
		sim_fini(&sim);
	}
}

static int free_streams(void **state)
{
	(void)state;
	free(stream[0]);
	free(stream[1]);
	stream[0] = stream[1] = NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_100_seeds),
		cmocka_unit_test(test_bidir_10mb_lossy),
	};
	return cmocka_run_group_tests(tests, NULL, free_streams);
}
