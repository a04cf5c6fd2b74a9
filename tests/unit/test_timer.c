/* The timing wheel (core/timer.c): entries come due exactly at their
 * deadline, in deadline order, whatever the distance (1 us to centuries);
 * moving, removing and re-adding one inside an expiry; the next deadline
 * is never later than the true one.  Every run is checked against a plain
 * array of what each entry's deadline should be. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <tapir/tcp.h>

#include "tcp_int.h"
#include "testrng.h"

#define N_MAX 100000

static struct tp_wheel W;
static struct tp_timer E[N_MAX];
static tapir_time_t want[N_MAX]; /* each entry's deadline, NEVER if off */
static unsigned n_ent;

static void reset(unsigned n, tapir_time_t now)
{
	memset(E, 0, sizeof(E));
	tp_wheel_init(&W, now);
	n_ent = n;
	for (unsigned i = 0; i < n; i++)
		want[i] = TAPIR_TIME_NEVER;
}

static void set(unsigned i, tapir_time_t when)
{
	tp_timer_add(&W, &E[i], when);
	want[i] = when;
}

static tapir_time_t true_min(void)
{
	tapir_time_t m = TAPIR_TIME_NEVER;
	for (unsigned i = 0; i < n_ent; i++)
		if (want[i] < m)
			m = want[i];
	return m;
}

/* Advances to NOW and takes every due entry: each must be due, in
 * deadline order, and nothing due may stay behind.  Returns how many. */
static unsigned expire(tapir_time_t now)
{
	struct tp_timer *e;
	tapir_time_t last = 0;
	unsigned n = 0;
	tp_wheel_advance(&W, now);
	while ((e = tp_wheel_pop(&W))) {
		unsigned i = (unsigned)(e - E);
		assert_true(i < n_ent);
		assert_false(tp_timer_pending(e));
		assert_true(want[i] <= now);
		assert_true(want[i] >= last); /* deadline order */
		last = want[i];
		want[i] = TAPIR_TIME_NEVER;
		n++;
	}
	assert_true(true_min() > now);
	return n;
}

/* Runs the wheel the way a poll loop does, waking at each deadline it
 * returns; EXACT: no entry was removed, so no early wake-up is allowed.
 * Returns the wake-ups that found nothing. */
static unsigned drain(bool exact)
{
	unsigned idle = 0, rounds = 0;
	tapir_time_t next;
	while ((next = tp_wheel_next(&W)) != TAPIR_TIME_NEVER) {
		tapir_time_t m = true_min();
		assert_true(next <= m);
		if (exact)
			assert_true(next == m);
		if (!expire(next))
			idle++;
		assert_true(++rounds <= 4 * n_ent + 64);
	}
	assert_int_equal(true_min(), TAPIR_TIME_NEVER);
	assert_int_equal(W.n, 0);
	return idle;
}

static void test_order_and_exact_times(void **state)
{
	(void)state;
	static const tapir_time_t d[] = {5, 1, 63, 64, 65, 4095, 4096, 1000000, 999999,
					 TAPIR_MS(40), TAPIR_MS(200), TAPIR_SEC(1), 123456789};
	unsigned n = sizeof(d) / sizeof(d[0]);
	reset(n, 1000);
	for (unsigned i = 0; i < n; i++)
		set(i, 1000 + d[i]);
	/* one microsecond early finds nothing, the deadline itself finds it */
	assert_int_equal(expire(1000 + 1 - 1), 0);
	assert_int_equal(expire(1001), 1);
	assert_int_equal(expire(1004), 0);
	assert_int_equal(expire(1005), 1);
	assert_int_equal(expire(1000 + 999998), 7); /* 63 us to 200 ms */
	assert_int_equal(drain(true), 0);
}

static void test_far_deadlines(void **state)
{
	(void)state;
	tapir_time_t start = 1700000000ull * 1000000u; /* a wall-clock-like start */
	reset(6, start);
	set(0, start + TAPIR_SEC(7200) + 1);               /* keepalive, 2 h */
	set(1, start + TAPIR_SEC(60));                     /* 2 MSL */
	set(2, start + TAPIR_SEC(30ull * 24 * 3600));      /* a month */
	set(3, TAPIR_TIME_NEVER - 1);                      /* the end of time */
	set(4, start + TAPIR_SEC(7200));
	set(5, (tapir_time_t)1 << 63);
	assert_int_equal(drain(true), 0);
	/* a jump far past everything takes all at once, in order */
	reset(4, 0);
	set(0, TAPIR_SEC(1));
	set(1, TAPIR_SEC(3600));
	set(2, 7);
	set(3, TAPIR_SEC(100000));
	assert_int_equal(expire(TAPIR_SEC(200000)), 4);
	assert_int_equal(tp_wheel_next(&W), TAPIR_TIME_NEVER);
}

static void test_same_slot(void **state)
{
	(void)state;
	reset(300, 0);
	for (unsigned i = 0; i < 100; i++) /* one microsecond */
		set(i, TAPIR_MS(5));
	for (unsigned i = 100; i < 200; i++) /* one high-level slot, apart */
		set(i, TAPIR_SEC(10) + i);
	for (unsigned i = 200; i < 300; i++) /* the next microseconds */
		set(i, TAPIR_MS(5) + (i - 200) % 3);
	assert_int_equal(expire(TAPIR_MS(5)), 100 + 34);
	assert_int_equal(drain(true), 0);
}

static void test_move_and_remove(void **state)
{
	(void)state;
	reset(4, 0);
	set(0, TAPIR_SEC(100));
	set(1, TAPIR_SEC(50));
	set(2, TAPIR_SEC(75));
	set(0, TAPIR_MS(3));     /* earlier */
	set(1, TAPIR_SEC(1000)); /* later */
	assert_int_equal(tp_wheel_next(&W), TAPIR_MS(3));
	tp_timer_del(&W, &E[0]);
	want[0] = TAPIR_TIME_NEVER;
	tp_timer_del(&W, &E[0]); /* twice is harmless */
	set(3, TAPIR_TIME_NEVER); /* NEVER files nothing */
	assert_false(tp_timer_pending(&E[3]));
	assert_int_equal(W.n, 2);
	/* the removed earliest may cost one early wake-up, no more */
	assert_true(drain(false) <= 1);
}

static void test_rearm_inside_expiry(void **state)
{
	(void)state;
	struct tp_timer *e;
	reset(3, 0);
	set(0, 100);
	set(1, 100);
	set(2, 5000);
	tp_wheel_advance(&W, 100);
	e = tp_wheel_pop(&W);
	assert_non_null(e);
	/* the other due one is moved away before its turn: it leaves the
	 * due list */
	set((unsigned)(e - E) ^ 1, 300);
	assert_null(tp_wheel_pop(&W));
	/* the one running re-arms: once in the past (due at the next
	 * expiry, at once), once ahead */
	set((unsigned)(e - E), 50);
	assert_true(tp_wheel_next(&W) <= 100);
	assert_int_equal(expire(100), 1);
	set(0, 200);
	set(1, 250);
	tp_wheel_advance(&W, 300);
	e = tp_wheel_pop(&W);
	assert_ptr_equal(e, &E[0]);
	want[0] = TAPIR_TIME_NEVER;
	set(0, 301); /* re-armed ahead, while E[1] is still on the due list */
	e = tp_wheel_pop(&W);
	assert_ptr_equal(e, &E[1]);
	want[1] = TAPIR_TIME_NEVER;
	assert_null(tp_wheel_pop(&W));
	assert_int_equal(tp_wheel_next(&W), 301);
	assert_int_equal(drain(true), 0);
}

/* Moved, removed and re-armed at random while the clock runs, checked
 * against the array at every step. */
static void test_random_churn(void **state)
{
	(void)state;
	tapir_time_t now = 12345;
	unsigned idle = 0, n = 5000;
	reset(n, now);
	for (unsigned i = 0; i < n; i++)
		set(i, now + (xorshift() % TAPIR_SEC(1 + i % 7200)));
	for (unsigned round = 0; round < 3000; round++) {
		tapir_time_t next;
		for (unsigned k = 0; k < 10; k++) {
			unsigned i = (unsigned)(xorshift() % n);
			uint64_t r = xorshift();
			if (r % 4 == 0)
				set(i, TAPIR_TIME_NEVER);
			else
				set(i, now + r % TAPIR_SEC(r % 3 ? 1 : 9000));
		}
		next = tp_wheel_next(&W);
		assert_true(next <= true_min());
		now = next > now ? next : now;
		if (!expire(now))
			idle++;
	}
	/* a removed earliest costs at most one early wake-up */
	assert_true(idle < 3000 / 4);
	drain(false);
}

/* 100,000 entries: each comes due exactly at the deadline the wheel
 * announced, in order, none lost. */
static void test_many(void **state)
{
	(void)state;
	struct tp_timer *e;
	tapir_time_t next, last = 0;
	unsigned got = 0;
	reset(N_MAX, 0);
	for (unsigned i = 0; i < N_MAX; i++) {
		tp_timer_add(&W, &E[i], xorshift() % TAPIR_SEC(i % 2 ? 7200 : 3));
		want[i] = E[i].when;
	}
	assert_int_equal(W.n, N_MAX);
	while ((next = tp_wheel_next(&W)) != TAPIR_TIME_NEVER) {
		tp_wheel_advance(&W, next);
		assert_non_null(W.due); /* no idle wake-up: nothing was removed */
		while ((e = tp_wheel_pop(&W))) {
			assert_int_equal(want[e - E], next);
			assert_true(next >= last);
			last = next;
			got++;
		}
	}
	assert_int_equal(got, N_MAX);
	assert_int_equal(W.n, 0);
}

/* The earliest of every TCP deadline the stack holds, by a full scan:
 * what tcp_poll used to compute. */
static tapir_time_t tcp_true_min(struct tapir_stack *s)
{
	tapir_time_t m = TAPIR_TIME_NEVER;
	for (struct tapir_tcp *t = s->tcp->all; t; t = t->anext) {
		tapir_time_t f[5] = {t->t_rexmt, t->t_persist, t->t_delack, t->t_keep, t->t_2msl};
		if (t->state == TAPIR_TCP_CLOSED || t->state == TAPIR_TCP_LISTEN)
			continue;
		for (int k = 0; k < 5; k++)
			m = f[k] < m ? f[k] : m;
	}
	return m;
}

/* Through the stack: connections to its own address, with keepalive,
 * left idle for three hours.  Each poll's deadline is never later than
 * the earliest TCP deadline, and the stack wakes about as often as the
 * timers ask, not once per rounding step. */
static void test_tcp_poll_deadlines(void **state)
{
	(void)state;
	struct tapir_config cfg;
	struct tapir_memlink_params mp;
	struct tapir_memlink *ml;
	struct tapir_stack *s;
	struct tapir_tcp *l, *a;
	static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
	const uint32_t addr = 0x0a000001u;
	tapir_time_t now = TAPIR_SEC(5), end;
	unsigned polls = 0, probes0;
	int err;

	tapir_config_default(&cfg);
	s = tapir_stack_new(&cfg);
	tapir_memlink_params_default(&mp);
	ml = tapir_memlink_new(&mp);
	assert_non_null(s);
	assert_non_null(ml);
	assert_true(tapir_iface_add(s, tapir_memlink_end(ml, 0), mac, 1500) == 0);
	assert_int_equal(tapir_iface_set_ipv4(s, 0, addr, 24, now), 0);
	l = tapir_tcp_new(s);
	assert_int_equal(tapir_tcp_bind(l, addr, 80), 0);
	assert_int_equal(tapir_tcp_listen(l, 16), 0);
	for (unsigned i = 0; i < 3; i++, now += TAPIR_MS(333)) {
		struct tapir_tcp *c = tapir_tcp_new(s);
		assert_int_equal(tapir_tcp_setopt(c, TAPIR_TCP_KEEPALIVE, 1), 0);
		assert_int_equal(tapir_tcp_connect(c, addr, 80, now), 0);
		for (int k = 0; k < 4; k++)
			tapir_stack_poll(s, now);
		a = tapir_tcp_accept(l, &err);
		assert_non_null(a);
		assert_int_equal(tapir_tcp_state(c), TAPIR_TCP_ESTABLISHED);
	}
	probes0 = (unsigned)tapir_stats(s)->tcp_tx;
	end = now + TAPIR_SEC(3 * 3600);
	while (now < end) {
		tapir_time_t next = tapir_stack_poll(s, now);
		assert_true(next <= tcp_true_min(s));
		if (next == TAPIR_TIME_NEVER)
			break;
		now = next > now ? next : now;
		assert_true(++polls < 200);
	}
	/* the three keepalive probes went out, two hours in (RFC 1122
	 * 4.2.3.6), and were answered */
	assert_true(tapir_stats(s)->tcp_tx >= probes0 + 6);
	assert_true(polls >= 3);
	tapir_stack_free(s);
	tapir_memlink_free(ml);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_exact_times),
		cmocka_unit_test(test_far_deadlines),
		cmocka_unit_test(test_same_slot),
		cmocka_unit_test(test_move_and_remove),
		cmocka_unit_test(test_rearm_inside_expiry),
		cmocka_unit_test(test_random_churn),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_tcp_poll_deadlines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
