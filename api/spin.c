/* When busy-polling pays (spin.h). */
#define _GNU_SOURCE
#include <tapir/spin.h>

#include <stdlib.h>
#include <sched.h>

void tapir_spin_init(struct tapir_spin *s, uint64_t window_us)
{
	*s = (struct tapir_spin){.window = window_us > TAPIR_SPIN_MAX_US ? TAPIR_SPIN_MAX_US : window_us};
}

uint64_t tapir_spin_window(const char *v)
{
	char *end;
	unsigned long us;
	if (!v || !*v)
		return TAPIR_SPIN_DEFAULT_US;
	us = strtoul(v, &end, 10);
	return *end ? 0 : us > TAPIR_SPIN_MAX_US ? TAPIR_SPIN_MAX_US : us;
}

bool tapir_spin_may(const struct tapir_spin *s, uint64_t now, uint64_t bytes)
{
	return s->window && !s->start && now >= s->quiet_until && bytes < TAPIR_SPIN_BULK;
}

void tapir_spin_begin(struct tapir_spin *s, uint64_t now)
{
	s->start = now;
	s->spins++;
}

bool tapir_spin_on(const struct tapir_spin *s, uint64_t now)
{
	return s->start && now - s->start < s->window;
}

/* no spin until a quiet time has passed, each one twice the last */
static void tapir_spin_quiet(struct tapir_spin *s, uint64_t now)
{
	s->quiet = s->quiet ? s->quiet * 2 : TAPIR_SPIN_QUIET_MIN;
	if (s->quiet > TAPIR_SPIN_QUIET_MAX)
		s->quiet = TAPIR_SPIN_QUIET_MAX;
	s->quiet_until = now + s->quiet;
	s->misses = 0;
}

void tapir_spin_end(struct tapir_spin *s, uint64_t now, bool hit)
{
	s->start = 0;
	if (hit) {
		s->hits++;
		s->misses = 0;
		s->quiet = 0;
	} else if (++s->misses >= TAPIR_SPIN_MISSES)
		tapir_spin_quiet(s, now);
}

bool tapir_spin_turn(struct tapir_spin *s, uint64_t now, uint64_t moved, uint64_t bulk)
{
	if (s->start) {
		if (!moved && tapir_spin_on(s, now))
			return true;
		tapir_spin_end(s, now, moved > 0);
	}
	if (!moved || !tapir_spin_may(s, now, bulk))
		return false;
	tapir_spin_begin(s, now);
	return true;
}

void tapir_spin_yield(void)
{
	sched_yield();
}
