/* When busy-polling pays (tapir/spin.h): the policy alone, time passed in.
 * Its use by the stack thread is api.service_busy_poll (test_service.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <tapir/spin.h>

/* one spin from NOW that ends at NOW + LEN, caught or not */
static void spin_once(struct tapir_spin *s, uint64_t now, uint64_t len, bool hit)
{
	assert_true(tapir_spin_may(s, now, 0));
	tapir_spin_begin(s, now);
	assert_false(tapir_spin_may(s, now, 0)); /* one at a time */
	assert_true(tapir_spin_on(s, now + len - 1));
	tapir_spin_end(s, now + len, hit);
}

/* TAPIR_BUSY_POLL's values: unset or empty is the default, a number is
 * capped, anything else is off */
static void window_from_env(void **state)
{
	(void)state;
	assert_int_equal(tapir_spin_window(NULL), TAPIR_SPIN_DEFAULT_US);
	assert_int_equal(tapir_spin_window(""), TAPIR_SPIN_DEFAULT_US);
	assert_int_equal(tapir_spin_window("0"), 0);
	assert_int_equal(tapir_spin_window("20"), 20);
	assert_int_equal(tapir_spin_window("99999999"), TAPIR_SPIN_MAX_US);
	assert_int_equal(tapir_spin_window("50us"), 0);
}

/* A window of 0 never spins; a spin lasts its window and no longer */
static void window_bounds_a_spin(void **state)
{
	struct tapir_spin s;
	(void)state;
	tapir_spin_init(&s, 0);
	assert_false(tapir_spin_may(&s, 1000, 0));
	tapir_spin_init(&s, 50);
	tapir_spin_begin(&s, 1000);
	assert_true(tapir_spin_on(&s, 1000));
	assert_true(tapir_spin_on(&s, 1049));
	assert_false(tapir_spin_on(&s, 1050));
	tapir_spin_end(&s, 1050, false);
	assert_false(tapir_spin_on(&s, 1051));
	tapir_spin_init(&s, 1u << 30);
	assert_int_equal(s.window, TAPIR_SPIN_MAX_US);
}

/* After bulk (TAPIR_SPIN_BULK bytes since the last wait) no spin begins;
 * after less, one does */
static void no_spin_after_bulk(void **state)
{
	struct tapir_spin s;
	(void)state;
	tapir_spin_init(&s, 50);
	assert_false(tapir_spin_may(&s, 1000, TAPIR_SPIN_BULK));
	assert_false(tapir_spin_may(&s, 1000, 1u << 30));
	assert_true(tapir_spin_may(&s, 1000, TAPIR_SPIN_BULK - 1));
	assert_true(tapir_spin_may(&s, 1000, 1));
}

/* Spins that keep catching their event go on for ever */
static void hits_keep_spinning(void **state)
{
	struct tapir_spin s;
	uint64_t t = 1;
	(void)state;
	tapir_spin_init(&s, 50);
	for (int i = 0; i < 1000; i++, t += 10)
		spin_once(&s, t, 10, true);
	assert_int_equal(s.spins, 1000);
	assert_int_equal(s.hits, 1000);
	assert_int_equal(s.quiet_until, 0);
}

/* TAPIR_SPIN_MISSES fruitless spins in a row start a quiet time, twice as
 * long each time spins keep missing after it, up to the ceiling; one spin
 * that catches its event ends the doubling. */
static void misses_quiet_and_double(void **state)
{
	struct tapir_spin s;
	uint64_t t = 1000, quiet = TAPIR_SPIN_QUIET_MIN;
	(void)state;
	tapir_spin_init(&s, 50);
	for (int round = 0; round < 14; round++) {
		for (int i = 0; i < TAPIR_SPIN_MISSES; i++, t += 50)
			spin_once(&s, t, 50, false);
		/* T: when the last spin ended */
		assert_false(tapir_spin_may(&s, t, 0));
		assert_false(tapir_spin_may(&s, t + quiet - 1, 0));
		assert_true(tapir_spin_may(&s, t + quiet, 0));
		t += quiet;
		quiet = quiet * 2 > TAPIR_SPIN_QUIET_MAX ? TAPIR_SPIN_QUIET_MAX : quiet * 2;
	}
	assert_int_equal(s.quiet, TAPIR_SPIN_QUIET_MAX);
	/* a hit: the next quiet time is the shortest again */
	spin_once(&s, t, 5, true);
	t += 5;
	for (int i = 0; i < TAPIR_SPIN_MISSES; i++, t += 50)
		spin_once(&s, t, 50, false);
	assert_false(tapir_spin_may(&s, t + TAPIR_SPIN_QUIET_MIN - 1, 0));
	assert_true(tapir_spin_may(&s, t + TAPIR_SPIN_QUIET_MIN, 0));
}

/* Misses broken by a hit never add up to a quiet time */
static void a_hit_resets_the_misses(void **state)
{
	struct tapir_spin s;
	uint64_t t = 1;
	(void)state;
	tapir_spin_init(&s, 50);
	for (int round = 0; round < 100; round++) {
		for (int i = 0; i < TAPIR_SPIN_MISSES - 1; i++, t += 50)
			spin_once(&s, t, 50, false);
		spin_once(&s, t, 20, true);
		t += 20;
	}
	assert_int_equal(s.quiet_until, 0);
	assert_int_equal(s.hits, 100);
}

/* tapir_spin_turn, as a loop calls it once a turn: nothing came, no spin;
 * something came, a spin begins; empty turns inside the window keep it
 * going, the first past it ends it as a miss; a turn that brings
 * something ends it as a hit and begins the next; bulk counted toward the
 * rule begins none, bulk not counted (BULK 0) does */
static void turns_of_a_loop(void **state)
{
	struct tapir_spin s;
	(void)state;
	tapir_spin_init(&s, 50);
	assert_false(tapir_spin_turn(&s, 1000, 0, 0));
	assert_true(tapir_spin_turn(&s, 1000, 1, 0));
	assert_true(tapir_spin_turn(&s, 1030, 0, 0));
	assert_true(tapir_spin_turn(&s, 1049, 0, 0));
	assert_false(tapir_spin_turn(&s, 1050, 0, 0));
	assert_int_equal(s.spins, 1);
	assert_int_equal(s.hits, 0);
	assert_int_equal(s.misses, 1);
	assert_true(tapir_spin_turn(&s, 2000, 100, 0));
	assert_true(tapir_spin_turn(&s, 2010, 100, 0)); /* a hit, and the next */
	assert_int_equal(s.spins, 3);
	assert_int_equal(s.hits, 1);
	assert_int_equal(s.misses, 0);
	assert_false(tapir_spin_turn(&s, 2020, TAPIR_SPIN_BULK, TAPIR_SPIN_BULK));
	assert_int_equal(s.hits, 2); /* it ended the running spin, caught */
	assert_true(tapir_spin_turn(&s, 2030, TAPIR_SPIN_BULK, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(window_from_env),
		cmocka_unit_test(window_bounds_a_spin),
		cmocka_unit_test(no_spin_after_bulk),
		cmocka_unit_test(hits_keep_spinning),
		cmocka_unit_test(misses_quiet_and_double),
		cmocka_unit_test(a_hit_resets_the_misses),
		cmocka_unit_test(turns_of_a_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
