/* A small seeded PRNG for the unit tests' random workloads (xorshift64,
 * Marsaglia 2003): the same sequence every run, so a failure repeats. */
#ifndef TAPIR_TEST_RNG_H
#define TAPIR_TEST_RNG_H
#include <stdint.h>

static uint64_t test_rng_state = 88172645463325252ull;

static inline uint64_t xorshift(void)
{
	test_rng_state ^= test_rng_state << 13;
	test_rng_state ^= test_rng_state >> 7;
	test_rng_state ^= test_rng_state << 17;
	return test_rng_state;
}
#endif
