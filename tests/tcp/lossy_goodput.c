/* Figures, not a test: goodput of one bulk transfer between two tapir
 * stacks over an impaired in-memory cable, in simulated time (so the
 * figures repeat exactly for a seed).  For tuning loss recovery:
 *
 *   [TSO=1] [RACK=1] build/tests/tcp/lossy_goodput [MB] [SEEDS] [loss] [delay_ms]
 *
 * (RACK=1: RACK-TLP and PRR, the profile fields rack, tlp, prr, on;
 * PRR=1: PRR alone; NOPRR=1 with RACK=1: RACK-TLP alone; NOREORDER=1: loss
 * only, no reordering, duplicates, corruption or jitter)
 *
 * prints per seed the simulated seconds, goodput and the sender's
 * counters (retransmissions, fast retransmits, timeouts). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcpsim.h"

int main(int argc, char **argv)
{
	size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 4;
	unsigned seeds = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 5;
	double loss = argc > 3 ? atof(argv[3]) : 0.05;
	double delay_ms = argc > 4 ? atof(argv[4]) : 5;
	double sum = 0;
	for (unsigned seed = 1; seed <= seeds; seed++) {
		struct tapir_config cfg;
		struct tapir_memlink_params lp;
		struct sim sim;
		struct sim_bulk x = {.total = mb << 20, .limit = mb << 20};
		tapir_time_t t0;
		const struct tapir_stats *st;
		tapir_config_default(&cfg);
		cfg.profile.rack = cfg.profile.tlp = getenv("RACK") != NULL;
		cfg.profile.prr = getenv("RACK") != NULL || getenv("PRR") != NULL;
		if (getenv("NOPRR"))
			cfg.profile.prr = 0;
		tapir_memlink_params_default(&lp);
		lp.seed = seed;
		lp.loss = loss;
		lp.reorder = getenv("NOREORDER") ? 0 : 0.05;
		lp.dup = getenv("NOREORDER") ? 0 : 0.01;
		lp.corrupt = getenv("NOREORDER") ? 0 : 0.001;
		lp.delay_us = (tapir_time_t)(delay_ms * 1000);
		lp.jitter_us = getenv("NOREORDER") ? 0 : lp.delay_us * 2 / 5;
		lp.reorder_extra_us = lp.delay_us;
		lp.tso = getenv("TSO") != NULL;
		sim_init(&sim, &cfg, &lp);
		sim_bulk_start(&x, &sim, 5001);
		t0 = sim.now;
		sim_run(&sim, sim.now + TAPIR_SEC(36000), sim_bulk_step, &x);
		st = tapir_stats(sim.st[0]);
		printf("seed %u: %zu of %zu bytes in %.2f s: %.3f MB/s; retransmits %llu fast %llu "
		       "timeouts %llu lost-rexmit %llu spurious %llu segments %llu tlp %llu rack-lost %llu\n",
		       seed, x.rcvd, x.total, (double)(sim.now - t0) / 1e6,
		       (double)x.rcvd / ((double)(sim.now - t0) / 1e6) / 1e6,
		       (unsigned long long)st->tcp_retransmits,
		       (unsigned long long)st->tcp_fast_retransmits,
		       (unsigned long long)st->tcp_timeouts, (unsigned long long)st->tcp_lost_retransmits, (unsigned long long)st->tcp_spurious_rexmits,
		       (unsigned long long)st->tcp_tx, (unsigned long long)st->tcp_tlp_probes,
		       (unsigned long long)st->tcp_rack_lost);
		sum += (double)x.rcvd / ((double)(sim.now - t0) / 1e6) / 1e6;
		sim_fini(&sim);
	}
	printf("mean %.3f MB/s\n", sum / seeds);
	return 0;
}
