/* Figures, not a test: loss recovery by RFC 6675 alone against RACK-TLP
 * (RFC 8985) with PRR (RFC 6937), the profile fields rack, tlp and prr,
 * on the same cable in simulated time (the figures repeat exactly for a
 * seed).  A 10 MB transfer A -> B, 5 ms each way:
 *
 *   build/tests/tcp/recovery_bench [MB] [SEEDS]
 *
 * cases: 1% and 5% random loss (a bulk transfer), and tail loss: the data
 * goes in 64 KB requests, each sent when the last is acknowledged, and
 * the first copy of each request's last segment is lost.  Prints, per
 * case and mode, the mean simulated seconds to complete and the data
 * segments the sender put on the wire again (counted at its TCP output:
 * the stack's own counter leaves out the go-back-N resends after a
 * timeout), with its timeouts and TLP probes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tapir/hook.h>

#include "tcpsim.h"

#define CHUNK 65536

/* the bulk transfer, in 64 KB requests when CHUNKED */
struct xfer {
	struct sim_bulk b;
	bool chunked;
	uint32_t tail_seq; /* the request's last segment, dropped once */
	unsigned tail_dropped;
	bool sent_any;      /* the sender's highest data end so far: */
	uint32_t high;
	unsigned long long resent; /* data segments starting below it */
};

/* Every data segment A's TCP sends: one that starts below the highest
 * end sent so far is a retransmission (the sender's sequence numbers
 * only; 10 MB never wraps). */
static enum tapir_verdict count_resent(void *arg, struct tapir_hook_pkt *p)
{
	struct xfer *x = arg;
	size_t hl;
	uint32_t seq;
	if (p->len < 20 || (hl = (size_t)(p->data[12] >> 4) * 4) >= p->len)
		return TAPIR_PASS;
	seq = tapir_get32(p->data + 4);
	if (x->sent_any && (int32_t)(seq - x->high) < 0)
		x->resent++;
	if (!x->sent_any || (int32_t)(seq + (uint32_t)(p->len - hl) - x->high) > 0)
		x->high = seq + (uint32_t)(p->len - hl);
	x->sent_any = true;
	return TAPIR_PASS;
}

/* chunked: the next request once the last is all acknowledged */
static void next_chunk(struct xfer *x)
{
	struct sim_bulk *b = &x->b;
	if (x->chunked && b->sent == b->limit && b->rcvd == b->sent && b->limit < b->total)
		b->limit = b->limit + CHUNK < b->total ? b->limit + CHUNK : b->total;
}

static bool step(void *arg)
{
	struct xfer *x = arg;
	bool done;
	next_chunk(x);
	done = sim_bulk_step(&x->b);
	next_chunk(x);
	sim_bulk_send(&x->b);
	return done;
}

/* Tail loss: the first copy of a segment A -> B with PSH (the end of a
 * request) is lost, once per sequence number. */
static bool drop_tail(void *arg, int to, const uint8_t *f, size_t len)
{
	struct xfer *x = arg;
	const uint8_t *th = f + 14 + 20;
	uint32_t seq;
	if (to != 1 || len < 14 + 20 + 20 || f[14 + 9] != 6 || !(th[13] & TAPIR_TH_PSH) ||
	    len <= 14 + 20 + (size_t)(th[12] >> 4) * 4)
		return false;
	seq = tapir_get32(th + 4);
	if (x->tail_dropped && seq == x->tail_seq)
		return false;
	x->tail_seq = seq;
	x->tail_dropped++;
	return true;
}

struct result {
	double secs;
	unsigned long long rexmits, timeouts, probes;
};

static struct result run(size_t total, double loss, bool tail, bool rack, unsigned seed)
{
	struct tapir_config cfg;
	struct tapir_memlink_params lp;
	struct sim sim;
	struct xfer x = {.b = {.total = total, .limit = tail ? 0 : total}, .chunked = tail};
	const struct tapir_stats *st;
	tapir_time_t t0;
	tapir_config_default(&cfg);
	cfg.profile.rack = cfg.profile.tlp = cfg.profile.prr = rack;
	tapir_memlink_params_default(&lp);
	lp.seed = seed;
	lp.loss = loss;
	lp.delay_us = TAPIR_MS(5);
	sim_init(&sim, &cfg, &lp);
	tapir_hook_add(sim.st[0], TAPIR_HOOK_TCP_TX, count_resent, &x);
	if (tail) {
		sim.drop = drop_tail;
		sim.drop_arg = &x;
	}
	sim_bulk_start(&x.b, &sim, 5001);
	t0 = sim.now;
	sim_run(&sim, sim.now + TAPIR_SEC(36000), step, &x);
	st = tapir_stats(sim.st[0]);
	struct result r = {(double)(sim.now - t0) / 1e6, x.resent, st->tcp_timeouts,
			   st->tcp_tlp_probes};
	if (x.b.rcvd != x.b.total)
		fprintf(stderr, "seed %u: %zu of %zu bytes arrived\n", seed, x.b.rcvd, x.b.total);
	sim_fini(&sim);
	return r;
}

int main(int argc, char **argv)
{
	size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 10;
	unsigned seeds = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 3;
	static const struct {
		const char *name;
		double loss;
		bool tail;
	} cases[] = {{"1% loss", 0.01, false}, {"5% loss", 0.05, false}, {"tail loss", 0, true}};
	printf("%zu MB A -> B, 5 ms each way, mean of %u seeds\n", mb, seeds);
	printf("%-10s %-14s %10s %10s %9s %7s\n", "case", "recovery", "seconds", "rexmits",
	       "timeouts", "probes");
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		for (int rack = 0; rack < 2; rack++) {
			struct result sum = {0};
			for (unsigned seed = 1; seed <= seeds; seed++) {
				struct result r = run(mb << 20, cases[c].loss, cases[c].tail, rack, seed);
				sum.secs += r.secs;
				sum.rexmits += r.rexmits;
				sum.timeouts += r.timeouts;
				sum.probes += r.probes;
			}
			printf("%-10s %-14s %10.3f %10.1f %9.1f %7.1f\n", cases[c].name,
			       rack ? "RACK-TLP+PRR" : "RFC 6675", sum.secs / seeds,
			       (double)sum.rexmits / seeds, (double)sum.timeouts / seeds,
			       (double)sum.probes / seeds);
		}
	return 0;
}
