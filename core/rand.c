/* The core's randomness: a splitmix64 sequence from the configured seed.
 * The caller seeds it from the system (tools) or with a constant (tests),
 * so a run with the same seed repeats exactly. */
#include "core.h"

uint64_t tp_rand(struct tapir_stack *s)
{
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
