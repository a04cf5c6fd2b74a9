/* Two (and three) tapir stacks over clean in-memory links: ARP, ping and
 * UDP, including fragmented datagrams, must all simply work. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core.h"
#include "sim.h"
#include "traffic.h"

#define A_ADDR 0x0a000001u
#define B_ADDR 0x0a000002u

/* On a clean link everything arrives exactly once, byte-exact, and ARP
 * resolves both ways with the right MACs (RFC 826). */
static void test_clean_traffic(void **state)
{
	struct tapir_memlink_params p;
	struct traffic_params tp = {.count = 20, .interval = TAPIR_MS(100), .stack_seed = 1};
	struct traffic_result r;
	(void)state;
	tapir_memlink_params_default(&p);
	traffic_run(&p, &tp, &r);
	assert_int_equal(r.udp_sent, 20);
	assert_int_equal(r.udp_at_b, 20);
	assert_int_equal(r.udp_back, 20);
	assert_int_equal(r.udp_dups, 0);
	assert_int_equal(r.udp_bad, 0);
	assert_int_equal(r.ping_sent, 20);
	assert_int_equal(r.ping_ok, 20);
	assert_int_equal(r.ping_err, 0);
	assert_int_equal(r.ping_bad, 0);
	assert_true(r.a_resolved_b);
	assert_true(r.b_knows_a);
	assert_int_equal(r.checksum_drops, 0);
	/* 5 datagrams of 4000 bytes each way: 3 fragments each */
	assert_int_equal(r.frags_made, 2 * 5 * 3);
	assert_int_equal(r.reassembled, 2 * 5);
	assert_true(r.accounting_ok);
}

struct pings {
	int ok, err, bad;
	uint16_t last_seq;
};

static void on_echo(void *arg, const struct tapir_echo_reply *e)
{
	struct pings *p = arg;
	if (e->error) {
		p->err++;
		return;
	}
	for (size_t i = 0; i < e->len; i++)
		if (e->data[i] != (uint8_t)(i * 7 + e->seq)) {
			p->bad++;
			return;
		}
	p->ok++;
	p->last_seq = e->seq;
}

static bool got_reply(struct sim *sm, void *arg)
{
	(void)sm;
	return ((struct pings *)arg)->ok > 0;
}

/* Step by step: the first ping waits for ARP (one request, one reply), the
 * second goes straight out; the MACs learnt are the wire's.  A 3000-byte
 * ping is fragmented both ways and answered whole. */
static void test_arp_then_ping(void **state)
{
	struct sim sm;
	struct pings pg = {0};
	struct tapir_stack *a, *b;
	const struct arp_entry *e;
	uint8_t data[3000];
	int na, nb, w;
	(void)state;

	sim_init(&sm);
	na = sim_node(&sm, NULL);
	nb = sim_node(&sm, NULL);
	w = sim_wire(&sm, na, A_ADDR, nb, B_ADDR, 24, NULL);
	a = sim_stack(&sm, na);
	b = sim_stack(&sm, nb);
	tapir_echo_set_handler(a, on_echo, &pg);
	sim_run_until(&sm, TAPIR_SEC(3)); /* past the RFC 5227 announcements */

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(tapir_echo_send(a, B_ADDR, 9, 1, data, 56, sm.now), 0);
	assert_true(sim_run_cond(&sm, sm.now + TAPIR_SEC(1), got_reply, &pg));
	assert_int_equal(tapir_stats(a)->arp_requests_sent, 1);
	assert_int_equal(tapir_stats(b)->arp_replies_sent, 1);
	e = arp_lookup(a, B_ADDR);
	assert_non_null(e);
	assert_memory_equal(e->mac, sm.wires[w].mac[1], 6);
	e = arp_lookup(b, A_ADDR);
	assert_non_null(e);
	assert_memory_equal(e->mac, sm.wires[w].mac[0], 6);

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 2);
	pg.ok = 0;
	assert_int_equal(tapir_echo_send(a, B_ADDR, 9, 2, data, sizeof(data), sm.now), 0);
	assert_true(sim_run_cond(&sm, sm.now + TAPIR_SEC(1), got_reply, &pg));
	assert_int_equal(pg.last_seq, 2);
	assert_int_equal(pg.bad, 0);
	assert_int_equal(tapir_stats(a)->arp_requests_sent, 1);
	assert_int_equal(tapir_stats(a)->ip_frag_created, 3);
	assert_int_equal(tapir_stats(b)->ip_frag_created, 3);
	assert_int_equal(tapir_stats(b)->reasm_done, 1);
	assert_int_equal(tapir_stats(a)->reasm_done, 1);
	assert_true(sim_accounting_ok(&sm));
	sim_free(&sm);
}

/* A ping to an address nobody has: ARP gives up after cfg.arp_retries
 * requests, cfg.arp_retry_us apart, and the ping learns EHOSTUNREACH. */
static void test_ping_nobody(void **state)
{
	struct sim sm;
	struct pings pg = {0};
	struct tapir_stack *a;
	int na;
	tapir_time_t t0;
	(void)state;

	sim_init(&sm);
	na = sim_node(&sm, NULL);
	sim_node(&sm, NULL);
	sim_wire(&sm, na, A_ADDR, 1, B_ADDR, 24, NULL);
	a = sim_stack(&sm, na);
	tapir_echo_set_handler(a, on_echo, &pg);
	sim_run_until(&sm, TAPIR_SEC(3));
	t0 = sm.now;
	assert_int_equal(tapir_echo_send(a, 0x0a000063u, 1, 1, "x", 1, sm.now), 0);
	sim_run_until(&sm, t0 + 3 * TAPIR_SEC(1) - 1);
	assert_int_equal(pg.err, 0);
	sim_run_until(&sm, t0 + 3 * TAPIR_SEC(1));
	assert_int_equal(pg.err, 1);
	assert_int_equal(tapir_stats(a)->arp_requests_sent, 3);
	assert_int_equal(tapir_stats(a)->arp_resolve_failed, 1);
	sim_free(&sm);
}

/* Three stacks: A has two interfaces, one towards B (10.0.0.0/24) and one
 * towards C (10.0.1.0/24).  Each neighbour reaches A's address on its own
 * link, and A's routes pick the right interface. */
static void test_three_nodes(void **state)
{
	struct sim sm;
	struct pings pb = {0}, pc = {0};
	int na, nb, nc;
	uint8_t d[100];
	(void)state;

	sim_init(&sm);
	na = sim_node(&sm, NULL);
	nb = sim_node(&sm, NULL);
	nc = sim_node(&sm, NULL);
	sim_wire(&sm, na, A_ADDR, nb, B_ADDR, 24, NULL);
	sim_wire(&sm, na, 0x0a000101u, nc, 0x0a000102u, 24, NULL);
	tapir_echo_set_handler(sim_stack(&sm, nb), on_echo, &pb);
	tapir_echo_set_handler(sim_stack(&sm, nc), on_echo, &pc);
	for (size_t i = 0; i < sizeof(d); i++)
		d[i] = (uint8_t)(i * 7 + 5);
	assert_int_equal(tapir_echo_send(sim_stack(&sm, nb), A_ADDR, 1, 5, d, 100, sm.now), 0);
	assert_int_equal(tapir_echo_send(sim_stack(&sm, nc), 0x0a000101u, 1, 5, d, 100, sm.now), 0);
	sim_run_until(&sm, TAPIR_SEC(1));
	assert_int_equal(pb.ok, 1);
	assert_int_equal(pc.ok, 1);
	assert_int_equal(tapir_stats(sim_stack(&sm, na))->icmp_echo_replied, 2);
	/* B has no route to C's subnet */
	assert_int_equal(tapir_echo_send(sim_stack(&sm, nb), 0x0a000102u, 1, 6, d, 1, sm.now),
			 -ENETUNREACH);
	assert_true(sim_accounting_ok(&sm));
	sim_free(&sm);
}

/* The loop's contract: it stops exactly at the time asked, and an idle
 * network has no events. */
static void test_sim_time(void **state)
{
	struct sim sm;
	(void)state;
	sim_init(&sm);
	sim_node(&sm, NULL);
	sim_node(&sm, NULL);
	sim_wire(&sm, 0, A_ADDR, 1, B_ADDR, 24, NULL);
	/* the first announcements are on the wire (default delay 100 us) */
	assert_int_equal(sim_next_event(&sm), 100);
	sim_run_until(&sm, 100);
	/* RFC 5227 2.3: the second announcement is due 2 s after the first */
	assert_int_equal(sim_next_event(&sm), TAPIR_SEC(2));
	sim_run_until(&sm, TAPIR_MS(1500));
	assert_int_equal(sm.now, TAPIR_MS(1500));
	sim_run_until(&sm, TAPIR_SEC(10));
	assert_int_equal(sm.now, TAPIR_SEC(10));
	assert_int_equal(tapir_stats(sim_stack(&sm, 0))->arp_announces_sent, 2);
	assert_int_equal(tapir_stats(sim_stack(&sm, 1))->rx_frames, 2);
	assert_int_equal(sim_next_event(&sm), TAPIR_TIME_NEVER);
	sim_free(&sm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_traffic),
		cmocka_unit_test(test_arp_then_ping),
		cmocka_unit_test(test_ping_nobody),
		cmocka_unit_test(test_three_nodes),
		cmocka_unit_test(test_sim_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
