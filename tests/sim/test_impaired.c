/* The same traffic as test_basic over links that lose, duplicate, reorder
 * and corrupt frames, for many seeds.  What must hold for every seed:
 *  - whatever arrives is byte-exact: corrupted frames are caught by the
 *    IPv4/UDP/ICMP checksums (RFC 791, 768, 792) and counted, never
 *    delivered wrong;
 *  - every frame is counted once (rx_frames == delivered + drops);
 *  - the same seed gives the same run (the whole frame log's digest).
 * And over all seeds together: ARP resolves, most pings are answered. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sim.h"
#include "traffic.h"

#define SEEDS 50

struct totals {
	int udp_sent, udp_at_b, udp_back, udp_dups;
	int ping_sent, ping_ok;
	int resolved;
	uint64_t checksum_drops, frags, reassembled;
};

/* Fractions as integer comparisons: num/den >= pct/100. */
static int at_least(int num, int den, int pct) { return num * 100 >= den * pct; }

static void run_seeds(const char *name, double loss, double dup, double reorder,
		      double corrupt, tapir_time_t jitter, struct totals *tot)
{
	memset(tot, 0, sizeof(*tot));
	for (int seed = 1; seed <= SEEDS; seed++) {
		struct tapir_memlink_params p;
		struct traffic_params tp = {.count = 16, .interval = TAPIR_MS(200),
					    .stack_seed = (uint64_t)seed};
		struct traffic_result r, again;

		tapir_memlink_params_default(&p);
		p.seed = (uint64_t)seed * 7919;
		p.loss = loss;
		p.dup = dup;
		p.reorder = reorder;
		p.corrupt = corrupt;
		p.jitter_us = jitter;
		traffic_run(&p, &tp, &r);
		if (r.udp_bad || r.ping_bad || !r.accounting_ok)
			print_error("%s seed %d: udp_bad %d ping_bad %d accounting %d\n", name,
				    seed, r.udp_bad, r.ping_bad, r.accounting_ok);
		assert_int_equal(r.udp_bad, 0);
		assert_int_equal(r.ping_bad, 0);
		assert_true(r.accounting_ok);
		/* a datagram can only arrive twice if the link made a copy */
		if (dup == 0)
			assert_int_equal(r.udp_dups, 0);
		assert_true(r.udp_back <= r.udp_at_b);
		assert_true(r.ping_ok <= r.ping_sent);

		/* determinism: run it again, frame for frame the same */
		traffic_run(&p, &tp, &again);
		assert_int_equal(again.digest, r.digest);

		tot->udp_sent += r.udp_sent;
		tot->udp_at_b += r.udp_at_b;
		tot->udp_back += r.udp_back;
		tot->udp_dups += r.udp_dups;
		tot->ping_sent += r.ping_sent;
		tot->ping_ok += r.ping_ok;
		tot->resolved += r.a_resolved_b;
		tot->checksum_drops += r.checksum_drops;
		tot->frags += r.frags_made;
		tot->reassembled += r.reassembled;
	}
	print_message("%-10s udp %d/%d/%d (dups %d) pings %d/%d resolved %d/%d csum drops %llu "
		      "reassembled %llu\n",
		      name, tot->udp_back, tot->udp_at_b, tot->udp_sent, tot->udp_dups,
		      tot->ping_ok, tot->ping_sent, tot->resolved, SEEDS,
		      (unsigned long long)tot->checksum_drops,
		      (unsigned long long)tot->reassembled);
}

/* One impaired link, run over all seeds, and what must hold over them
 * all; a field left 0 is not checked. */
struct impaired_case {
	const char *name;
	double loss, dup, reorder, corrupt;
	tapir_time_t jitter;
	bool resolved;       /* ARP resolved for every seed */
	int ping_pct, udp_pct; /* floors on answered pings, datagrams at B */
	bool lossless;       /* every ping answered, every datagram there and back */
	bool some_lost;      /* some ping unanswered (the loss did happen) */
	int dups;            /* 1: some datagram arrived twice; -1: none did */
	bool checksum_drops; /* the checksums caught some corruption */
};

static const struct impaired_case cases[] = {
	/* Loss: a ping needs its request and its reply (p = 0.9^2 = 0.81 at
	 * 10%, 0.64 at 20%, on top of ARP's own losses); over 50 seeds x 16
	 * pings the answered fraction stays well above the floors below.  ARP
	 * retries (RFC 1122 2.3.2.1) get every seed resolved. */
	{.name = "loss10", .loss = 0.10, .resolved = true, .ping_pct = 65, .udp_pct = 60,
	 .some_lost = true},
	{.name = "loss20", .loss = 0.20, .resolved = true, .ping_pct = 45, .udp_pct = 40},
	/* Duplication: copies of fragments are dropped as frag_dup, copies of
	 * whole datagrams reach UDP twice (UDP does not deduplicate, RFC 768);
	 * nothing is lost, so every ping and datagram gets through. */
	{.name = "dup20", .dup = 0.20, .resolved = true, .lossless = true, .dups = 1},
	/* Reordering and jitter: fragments arrive out of order and reassemble;
	 * nothing is lost. */
	{.name = "reorder30", .reorder = 0.30, .jitter = 300, .resolved = true, .lossless = true,
	 .dups = -1},
	/* Corruption: one flipped bit per corrupted frame.  The checksums catch
	 * it (and count it); the per-seed checks above guarantee no wrong byte
	 * was ever delivered.  (ARP has no checksum of its own, so a corrupted
	 * ARP reply can teach a wrong MAC until the entry ages out; that is why
	 * only the aggregate ping rate is checked here.) */
	{.name = "corrupt10", .corrupt = 0.10, .ping_pct = 60, .dups = -1, .checksum_drops = true},
	/* Everything at once. */
	{.name = "mixed", .loss = 0.05, .dup = 0.05, .reorder = 0.10, .corrupt = 0.05, .jitter = 200,
	 .ping_pct = 60, .checksum_drops = true},
};

static void test_impaired(void **state)
{
	const struct impaired_case *c = *state;
	struct totals t;
	run_seeds(c->name, c->loss, c->dup, c->reorder, c->corrupt, c->jitter, &t);
	if (c->resolved)
		assert_int_equal(t.resolved, SEEDS);
	if (c->ping_pct)
		assert_true(at_least(t.ping_ok, t.ping_sent, c->ping_pct));
	if (c->udp_pct)
		assert_true(at_least(t.udp_at_b, t.udp_sent, c->udp_pct));
	if (c->lossless) {
		assert_int_equal(t.ping_ok, t.ping_sent);
		assert_int_equal(t.udp_at_b, t.udp_sent);
		assert_int_equal(t.udp_back, t.udp_sent);
	}
	if (c->some_lost)
		assert_true(t.ping_ok < t.ping_sent);
	if (c->dups > 0)
		assert_true(t.udp_dups > 0);
	else if (c->dups < 0)
		assert_int_equal(t.udp_dups, 0);
	if (c->checksum_drops)
		assert_true(t.checksum_drops > 0);
}

/* The digest is sensitive: a different seed gives a different run (else
 * the determinism checks above could not fail). */
static void test_digest_distinguishes(void **state)
{
	struct tapir_memlink_params p;
	struct traffic_params tp = {.count = 8, .interval = TAPIR_MS(200), .stack_seed = 1};
	struct traffic_result r1, r2, r3;
	(void)state;
	tapir_memlink_params_default(&p);
	p.loss = 0.1;
	p.seed = 1;
	traffic_run(&p, &tp, &r1);
	p.seed = 2;
	traffic_run(&p, &tp, &r2);
	assert_int_not_equal(r1.digest, r2.digest);
	/* the stacks' own seed (IP ids, ports) matters too */
	p.seed = 1;
	tp.stack_seed = 2;
	traffic_run(&p, &tp, &r3);
	assert_int_not_equal(r1.digest, r3.digest);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{"test_loss_10", test_impaired, NULL, NULL, (void *)&cases[0]},
		{"test_loss_20", test_impaired, NULL, NULL, (void *)&cases[1]},
		{"test_duplication", test_impaired, NULL, NULL, (void *)&cases[2]},
		{"test_reordering", test_impaired, NULL, NULL, (void *)&cases[3]},
		{"test_corruption", test_impaired, NULL, NULL, (void *)&cases[4]},
		{"test_mixed", test_impaired, NULL, NULL, (void *)&cases[5]},
		cmocka_unit_test(test_digest_distinguishes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
