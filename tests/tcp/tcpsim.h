/* Two tapir stacks on one in-memory cable, in simulated time: the bench on
 * which every TCP rule is tried.  A: 10.0.0.1, B: 10.0.0.2. */
#ifndef TCPSIM_H
#define TCPSIM_H

#include <stdbool.h>
#include <tapir/tapir.h>
#include <tapir/tcp.h>

#define SIM_A 0x0a000001u
#define SIM_B 0x0a000002u

struct sim {
	struct tapir_stack *st[2];
	struct tapir_memlink *link;
	tapir_time_t now;
	int ifindex[2];
	/* frames seen crossing, for tests that count segments */
	unsigned frames[2];
	bool (*drop)(void *arg, int to, const uint8_t *frame, size_t len);
	void *drop_arg;
};

/* CFG may be NULL (defaults); LP may be NULL (a clean link). */
void sim_init(struct sim *sim, const struct tapir_config *cfg,
	      const struct tapir_memlink_params *lp);
void sim_fini(struct sim *sim);
/* Runs until DONE(arg) is true or UNTIL (absolute) passes; returns DONE's
 * last answer.  DONE may be NULL. */
bool sim_run(struct sim *sim, tapir_time_t until, bool (*done)(void *arg), void *arg);
/* Runs for DT microseconds. */
void sim_advance(struct sim *sim, tapir_time_t dt);

#endif
