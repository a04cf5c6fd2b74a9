#include "tcpsim.h"

#include <stdlib.h>
#include <string.h>

static void rx(void *arg, int side, uint8_t *frame, size_t len, tapir_time_t now)
{
	struct sim *sim = arg;
	if (sim->drop && sim->drop(sim->drop_arg, side, frame, len))
		return;
	sim->frames[side]++;
	tapir_stack_input(sim->st[side], sim->ifindex[side], frame, len, now);
}

void sim_init(struct sim *sim, const struct tapir_config *cfg,
	      const struct tapir_memlink_params *lp)
{
	struct tapir_config c;
	struct tapir_memlink_params p;
	memset(sim, 0, sizeof(*sim));
	if (cfg)
		c = *cfg;
	else
		tapir_config_default(&c);
	if (lp)
		p = *lp;
	else
		tapir_memlink_params_default(&p);
	sim->link = tapir_memlink_new(&p);
	sim->now = 1000;
	for (int i = 0; i < 2; i++) {
		uint8_t mac[6] = {0x02, 0, 0, 0, 0, (uint8_t)(i + 1)};
		c.seed = (cfg ? cfg->seed : 1) * 2 + (uint64_t)i;
		sim->st[i] = tapir_stack_new(&c);
		sim->ifindex[i] = tapir_iface_add(sim->st[i], tapir_memlink_end(sim->link, i), mac, 1500);
		tapir_memlink_set_time(sim->link, sim->now);
		tapir_iface_set_ipv4(sim->st[i], sim->ifindex[i], i ? SIM_B : SIM_A, 24, sim->now);
	}
}

void sim_fini(struct sim *sim)
{
	tapir_stack_free(sim->st[0]);
	tapir_stack_free(sim->st[1]);
	tapir_memlink_free(sim->link);
}

bool sim_run(struct sim *sim, tapir_time_t until, bool (*done)(void *arg), void *arg)
{
	unsigned spins = 0; /* steps without time moving: a stuck timer is a bug */
	for (;;) {
		tapir_time_t next, t;
		if (done && done(arg))
			return true;
		tapir_memlink_set_time(sim->link, sim->now);
		next = tapir_stack_poll(sim->st[0], sim->now);
		t = tapir_stack_poll(sim->st[1], sim->now);
		if (t < next)
			next = t;
		tapir_memlink_deliver(sim->link, sim->now, rx, sim);
		if (done && done(arg))
			return true;
		t = tapir_memlink_next(sim->link);
		if (t < next)
			next = t;
		if (next <= sim->now) { /* something is due now (e.g. loopback) */
			if (++spins > 1000000)
				abort();
			continue;
		}
		spins = 0;
		if (next == TAPIR_TIME_NEVER || next > until) {
			sim->now = until;
			return done ? done(arg) : false;
		}
		sim->now = next;
	}
}

void sim_advance(struct sim *sim, tapir_time_t dt)
{
	sim_run(sim, sim->now + dt, NULL, NULL);
}
