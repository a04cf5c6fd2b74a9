/* Receive-buffer autotuning (dynamic right-sizing; core/tcp_mem.c), in
 * simulated time over a cable with 10 ms each way: the buffer grows with a
 * fast reader, stays as it is with a slow one or with TAPIR_TCP_RCVBUF
 * set, never past tcp_rcvbuf_max or tcp_mem_max, the advertised right edge
 * never moves back (RFC 9293 3.8.6, RFC 7323 2.4), and a bulk transfer
 * ends sooner in simulated time than with the buffer fixed.  The same for
 * the sender's buffer (tcp_sndbuf_max, tcp_snd_space_adjust). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tcpsim.h"

#define DELAY TAPIR_MS(10)

struct xfer {
	struct sim *sim;
	struct pair p;
	size_t total, sent, got;
	size_t read_chunk;         /* per READ_EVERY; 0: all there is */
	tapir_time_t read_every, next_read;
	uint32_t max_rcvbuf;       /* the largest B's socket reported */
	uint32_t max_sndbuf;       /* ... and A's send buffer */
	uint32_t max_right;        /* the right edge B advertised, as seen */
	bool edge_seen, shrunk;
	size_t max_ring_bytes;     /* the most the rings of stack SIDE held */
	int side;                  /* 1: B's receive buffer is tuned; 0: A's send buffer */
	uint8_t wscale;
};

static uint8_t pattern(size_t i) { return (uint8_t)(i * 13 + (i >> 11)); }

static bool step(void *arg)
{
	struct xfer *x = arg;
	static uint8_t buf[65536];
	struct tapir_tcp_mem m;
	int v = 0;
	while (x->sent < x->total) {
		size_t n = x->total - x->sent < sizeof(buf) ? x->total - x->sent : sizeof(buf);
		long r;
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(x->sent + i);
		r = tapir_tcp_send(x->p.cli, buf, n, x->sim->now);
		if (r <= 0)
			break;
		x->sent += (size_t)r;
	}
	if (x->sim->now >= x->next_read) {
		size_t cap = x->read_chunk ? x->read_chunk : sizeof(buf);
		long r;
		while ((r = tapir_tcp_recv(x->p.srv, buf, cap, x->sim->now)) > 0) {
			for (long i = 0; i < r; i++)
				if (buf[i] != pattern(x->got + (size_t)i))
					fail_msg("byte %zu differs", x->got + (size_t)i);
			x->got += (size_t)r;
			if (x->read_chunk)
				break;
		}
		x->next_read = x->sim->now + x->read_every;
	}
	tapir_tcp_getopt(x->p.srv, TAPIR_TCP_RCVBUF, &v);
	if ((uint32_t)v > x->max_rcvbuf)
		x->max_rcvbuf = (uint32_t)v;
	tapir_tcp_getopt(x->p.cli, TAPIR_TCP_SNDBUF, &v);
	if ((uint32_t)v > x->max_sndbuf)
		x->max_sndbuf = (uint32_t)v;
	for (int k = 0; k < 2; k++) { /* the rings of the stack x->side tunes */
		tapir_tcp_mem(x->sim->st[k], &m);
		if (k == x->side && m.ring_bytes > x->max_ring_bytes)
			x->max_ring_bytes = m.ring_bytes;
	}
	/* the right edge of every segment B sent (SEG.ACK + SEG.WND) */
	for (size_t k = 0; k < tap_n(x->sim, 0); k++) {
		const struct tseg *g = tap_get(x->sim, 0, k);
		uint32_t right;
		if (g->flags & TAPIR_TH_SYN)
			continue;
		right = g->ack + ((uint32_t)g->win << x->wscale);
		if (x->edge_seen && (int32_t)(right - x->max_right) < 0)
			x->shrunk = true;
		if (!x->edge_seen || (int32_t)(right - x->max_right) > 0)
			x->max_right = right;
		x->edge_seen = true;
	}
	tap_clear(x->sim);
	return x->got >= x->total;
}

static void pin_rcvbuf(struct tapir_tcp *t) { tapir_tcp_setopt(t, TAPIR_TCP_RCVBUF, 65535); }
static void pin_sndbuf(struct tapir_tcp *t) { tapir_tcp_setopt(t, TAPIR_TCP_SNDBUF, 131072); }

/* Moves TOTAL bytes A -> B over the 10 ms cable.  SIDE 1: B's stack has
 * tcp_rcvbuf_max AUTO and tcp_mem_max MEM_MAX (0: the default), A an
 * 8 MiB send buffer; SIDE 0: A's stack has tcp_sndbuf_max AUTO (from
 * 128 KiB) and MEM_MAX, B's receive buffer tuned up to 8 MiB.  PIN sets
 * the tuned buffer's size on the socket.  Returns the simulated time the
 * transfer took. */
static tapir_time_t transfer_side(struct xfer *x, int side, size_t total, uint32_t autotune,
				  size_t mem_max, size_t read_chunk, tapir_time_t read_every,
				  bool pin)
{
	struct tapir_config ca, cb, *tuned;
	struct tapir_memlink_params lp;
	struct tapir_tcp_info info;
	tapir_time_t t0;
	tapir_config_default(&ca);
	ca.tcp_sndbuf = side ? 8u << 20 : 131072;
	cb = ca;
	cb.tcp_sndbuf = 131072; /* B only receives */
	cb.tcp_rcvbuf_max = side ? 0 : 8u << 20;
	tuned = side ? &cb : &ca;
	*(side ? &tuned->tcp_rcvbuf_max : &tuned->tcp_sndbuf_max) = autotune;
	if (mem_max)
		tuned->tcp_mem_max = mem_max;
	tapir_memlink_params_default(&lp);
	lp.delay_us = DELAY;
	lp.queue_limit = 4096;
	memset(x, 0, sizeof(*x));
	x->side = side;
	x->sim = calloc(1, sizeof(*x->sim));
	assert_non_null(x->sim);
	sim_init2(x->sim, &ca, &cb, &lp);
	x->sim->tap_on = true;
	assert_true(sim_pair(x->sim, 80, &x->p, pin && !side ? pin_sndbuf : NULL,
			     pin && side ? pin_rcvbuf : NULL));
	tapir_tcp_get_info(x->p.srv, &info);
	x->wscale = info.rcv_wscale;
	x->total = total;
	x->read_chunk = read_chunk;
	x->read_every = read_every;
	t0 = x->sim->now;
	if (!read_every)
		sim_run(x->sim, t0 + TAPIR_SEC(600), step, x);
	else /* a reader on a clock: time passes whether or not frames do */
		while (!step(x) && x->sim->now < t0 + TAPIR_SEC(600))
			sim_advance(x->sim, read_every);
	return x->sim->now - t0;
}

static tapir_time_t transfer(struct xfer *x, size_t total, uint32_t autotune, size_t mem_max,
			     size_t read_chunk, tapir_time_t read_every, bool pin)
{
	return transfer_side(x, 1, total, autotune, mem_max, read_chunk, read_every, pin);
}

static void xfer_end(struct xfer *x)
{
	struct tapir_tcp_mem m;
	/* every ring byte comes back once the connections are gone */
	tapir_tcp_close(x->p.cli, x->sim->now);
	tapir_tcp_close(x->p.srv, x->sim->now);
	sim_advance(x->sim, TAPIR_SEC(5));
	tapir_tcp_mem(x->sim->st[1], &m);
	assert_int_equal(m.ring_bytes, 0);
	tapir_tcp_mem(x->sim->st[0], &m);
	assert_int_equal(m.ring_bytes, 0);
	sim_fini(x->sim);
	free(x->sim);
}

/* A fast reader over a high-BDP path: the buffer grows far past its
 * 64 KiB start, never past the ceiling; the window's right edge never
 * moves back; the bytes arrive whole.  The same transfer with the buffer
 * fixed takes more simulated time. */
static void test_grows_with_fast_reader(void **state)
{
	struct xfer x;
	tapir_time_t fixed, tuned;
	(void)state;
	tuned = transfer(&x, 40u << 20, 4u << 20, 0, 0, 0, false);
	assert_int_equal(x.got, x.total);
	assert_true(x.max_rcvbuf > 1u << 20);
	assert_true(x.max_rcvbuf <= 4u << 20);
	assert_true(x.wscale >= 7); /* room for 4 MiB in the field (RFC 7323 2.3) */
	assert_false(x.shrunk);
	assert_true(tapir_stats(x.sim->st[1])->tcp_rcvbuf_grown > 0);
	xfer_end(&x);

	fixed = transfer(&x, 40u << 20, 0, 0, 0, 0, false);
	assert_int_equal(x.got, x.total);
	assert_int_equal(x.max_rcvbuf, 65535);
	assert_int_equal(tapir_stats(x.sim->st[1])->tcp_rcvbuf_grown, 0);
	xfer_end(&x);
	print_message("40 MiB over 20 ms RTT: %.2f s tuned, %.2f s fixed (simulated)\n",
		      tuned / 1e6, fixed / 1e6);
	/* a fixed 64 KiB window moves ~3 MB/s on a 20 ms round trip: a
	 * tuned one at least 4 times that */
	assert_true(tuned * 4 < fixed);
}

/* A reader that takes 4 KiB every 100 ms is not worth a bigger buffer */
static void test_stays_small_with_slow_reader(void **state)
{
	struct xfer x;
	(void)state;
	transfer(&x, 200000, 4u << 20, 0, 4096, TAPIR_MS(100), false);
	assert_int_equal(x.got, x.total);
	assert_int_equal(x.max_rcvbuf, 65535);
	assert_int_equal(tapir_stats(x.sim->st[1])->tcp_rcvbuf_grown, 0);
	assert_false(x.shrunk);
	xfer_end(&x);
}

/* TAPIR_TCP_RCVBUF (SO_RCVBUF) pins the buffer, as on Linux: no growth,
 * and the shift offered covers the size chosen only */
static void test_rcvbuf_pins(void **state)
{
	struct xfer x;
	(void)state;
	transfer(&x, 4u << 20, 4u << 20, 0, 0, 0, true);
	assert_int_equal(x.got, x.total);
	assert_int_equal(x.max_rcvbuf, 65535);
	assert_int_equal(x.wscale, 0);
	assert_int_equal(tapir_stats(x.sim->st[1])->tcp_rcvbuf_grown, 0);
	xfer_end(&x);
}

/* tcp_mem_max bounds the growth: with 1 MiB for all rings, the buffer
 * stays under it, and so does the memory held */
static void test_mem_max_bounds(void **state)
{
	struct xfer x;
	(void)state;
	transfer(&x, 8u << 20, 4u << 20, 1u << 20, 0, 0, false);
	assert_int_equal(x.got, x.total);
	assert_true(x.max_rcvbuf > 65535);
	assert_true(x.max_rcvbuf <= 1u << 20);
	assert_true(x.max_ring_bytes <= 1u << 20);
	assert_false(x.shrunk);
	xfer_end(&x);
}

/* ---- the send buffer ---- */

/* The bytes A's rings hold once B has acknowledged all A sent */
static size_t sndring_when_acked(struct xfer *x)
{
	struct tapir_tcp_mem m;
	sim_advance(x->sim, TAPIR_MS(500)); /* past a delayed ACK */
	tapir_tcp_mem(x->sim->st[0], &m);
	return m.ring_bytes;
}

/* A writer that the buffer holds back over a high-BDP path: the buffer
 * grows far past its 128 KiB start, never past the ceiling, and the same
 * transfer with the buffer fixed takes far more simulated time (128 KiB
 * per 20 ms round trip) */
static void test_sndbuf_grows(void **state)
{
	struct xfer x;
	tapir_time_t fixed, tuned;
	(void)state;
	tuned = transfer_side(&x, 0, 40u << 20, 4u << 20, 0, 0, 0, false);
	assert_int_equal(x.got, x.total);
	assert_true(x.max_sndbuf > 1u << 20);
	assert_true(x.max_sndbuf <= 4u << 20);
	assert_true(tapir_stats(x.sim->st[0])->tcp_sndbuf_grown > 0);
	/* each step at least doubles it: 128 KiB to 4 MiB in at most five
	 * (each step moves the full ring into a new one) */
	assert_true(tapir_stats(x.sim->st[0])->tcp_sndbuf_grown <= 5);
	/* all acknowledged, the grown ring stays (tcp_snd_ring_keep) */
	assert_int_equal(sndring_when_acked(&x), x.max_sndbuf);
	xfer_end(&x);

	fixed = transfer_side(&x, 0, 40u << 20, 0, 0, 0, 0, false);
	assert_int_equal(x.got, x.total);
	assert_int_equal(x.max_sndbuf, 131072);
	assert_int_equal(tapir_stats(x.sim->st[0])->tcp_sndbuf_grown, 0);
	assert_int_equal(sndring_when_acked(&x), 0); /* an untuned one goes */
	xfer_end(&x);
	print_message("40 MiB over 20 ms RTT: %.2f s send buffer tuned, %.2f s fixed (simulated)\n",
		      tuned / 1e6, fixed / 1e6);
	assert_true(tuned * 4 < fixed);
}

/* TAPIR_TCP_SNDBUF (SO_SNDBUF) pins it, as on Linux */
static void test_sndbuf_pins(void **state)
{
	struct xfer x;
	(void)state;
	transfer_side(&x, 0, 4u << 20, 4u << 20, 0, 0, 0, true);
	assert_int_equal(x.got, x.total);
	assert_int_equal(x.max_sndbuf, 131072);
	assert_int_equal(tapir_stats(x.sim->st[0])->tcp_sndbuf_grown, 0);
	xfer_end(&x);
}

/* tcp_mem_max bounds its growth and what the rings hold */
static void test_sndbuf_mem_max_bounds(void **state)
{
	struct xfer x;
	(void)state;
	transfer_side(&x, 0, 8u << 20, 4u << 20, 1u << 20, 0, 0, false);
	assert_int_equal(x.got, x.total);
	assert_true(x.max_sndbuf > 131072);
	assert_true(x.max_sndbuf <= 1u << 20);
	assert_true(x.max_ring_bytes <= 1u << 20);
	xfer_end(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grows_with_fast_reader),
		cmocka_unit_test(test_stays_small_with_slow_reader),
		cmocka_unit_test(test_rcvbuf_pins),
		cmocka_unit_test(test_mem_max_bounds),
		cmocka_unit_test(test_sndbuf_grows),
		cmocka_unit_test(test_sndbuf_pins),
		cmocka_unit_test(test_sndbuf_mem_max_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
