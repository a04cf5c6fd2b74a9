/* How a probe is sent and its answer seen: one engine per --mode, each in
 * its own file with its own state.  The scheduler (sched.c) only calls
 * these operations; it knows nothing of sockets, captures or stacks. */
#ifndef TAPIR_CHECK_ENGINE_H
#define TAPIR_CHECK_ENGINE_H

#include "check.h"

/* Read what epoll already holds before running the engine's timers (its
 * expiry would otherwise ask each socket itself). */
#define CHECK_DRAIN_FIRST 1u
/* An answer says which try it answers, so a late one is told from a lost
 * one (the wait then backs off on late answers alone). */
#define CHECK_KNOWS_TRY 2u

struct check_engine {
	const char *name;
	unsigned flags;
	/* Sets up (after the targets are known, before the start) and adds
	 * its descriptors to c->ep.  0, or -1 with why in ERR, everything
	 * undone. */
	int (*open)(struct check *c, void **state, char *err, size_t errlen);
	/* Sends a probe: 0 when sent (or already resolved: no route), -1 to
	 * try the same probe again a little later (no slot, port or buffer). */
	int (*send)(void *state, const struct check_target *t);
	/* Optional: sends what send() batched; runs before every wait. */
	void (*flush)(void *state);
	/* An epoll event with TOKEN came in at NOW: read the answers. */
	void (*collect)(void *state, uint64_t token, uint64_t now);
	/* Optional: runs what is due at NOW; may bring the pump's DEADLINE
	 * forward (it returns then) or only its WAKE-up time. */
	void (*timers)(void *state, uint64_t now, uint64_t *deadline, uint64_t *wake);
	/* Optional: probes still in flight that the engine itself times out. */
	bool (*busy)(void *state);
	/* Optional: runs before the first round. */
	void (*warm_up)(void *state);
	/* Optional: --banners, after the rounds (stack mode). */
	void (*banners)(void *state);
	/* Warns about what it lost, and frees everything. */
	void (*close)(void *state);
};

extern const struct check_engine check_engine_connect, check_engine_syn, check_engine_stack;

#endif
