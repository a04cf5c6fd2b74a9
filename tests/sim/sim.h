/*
 * A small deterministic network simulator for whole-stack tests.
 *
 * Nodes are tapir stacks; wires are tapir_memlink pairs joining one
 * interface of one node to one interface of another, each with its own
 * impairments.  Time is simulated: the loop jumps straight to the next
 * event (a frame due on a wire, or a stack's timer deadline), so minutes of
 * protocol time run in milliseconds, and the same seeds give the same run,
 * frame for frame.
 *
 * Typical use:
 *   struct sim sm;
 *   sim_init(&sm);
 *   int a = sim_node(&sm, NULL), b = sim_node(&sm, NULL);
 *   sim_wire(&sm, a, ADDR_A, b, ADDR_B, 24, &params);
 *   ... act on sm.nodes[a].s at sm.now (tapir_udp_sendto(..., sm.now)) ...
 *   sim_run_until(&sm, sm.now + TAPIR_SEC(5));
 *   sim_free(&sm);
 */
#ifndef TAPIR_TEST_SIM_H
#define TAPIR_TEST_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include <tapir/tapir.h>

#define SIM_MAX_NODES 8
#define SIM_MAX_WIRES 8

struct sim_node {
	struct tapir_stack *s;
	struct tapir_config cfg;
	tapir_time_t deadline;  /* what tapir_stack_poll last returned */
	int nifaces;
	uint64_t digest;        /* FNV-1a over every frame in and out, with times */
};

struct sim_wire {
	struct tapir_memlink *m;
	int node[2];            /* the node at each end */
	int ifindex[2];         /* its interface index on that node */
	uint8_t mac[2][6];
	uint32_t addr[2];
};

struct sim {
	tapir_time_t now;
	struct sim_node nodes[SIM_MAX_NODES];
	int nnodes;
	struct sim_wire wires[SIM_MAX_WIRES];
	int nwires;
	uint64_t steps;         /* loop iterations, for the curious */
	/* Called after every step (frames delivered, timers run) with the
	 * current time: a test can act on what happened. */
	void (*on_step)(struct sim *sm, void *arg);
	void *on_step_arg;
};

void sim_init(struct sim *sm);
/* Adds a stack.  CFG NULL: defaults, seeded with the node's index + 1.
 * Returns the node index. */
int sim_node(struct sim *sm, const struct tapir_config *cfg);
/* Joins node A and node B with a new memlink (PARAMS NULL: a clean link
 * with the default delay), adds an interface on each (MTU 1500, MACs
 * 02:00:00:00:<node>:<wire>) and gives them ADDR_A and ADDR_B /PREFIX.
 * Returns the wire index. */
int sim_wire(struct sim *sm, int a, uint32_t addr_a, int b, uint32_t addr_b,
	     unsigned prefix, const struct tapir_memlink_params *params);
/* Like sim_wire with a chosen MTU. */
int sim_wire_mtu(struct sim *sm, int a, uint32_t addr_a, int b, uint32_t addr_b,
		 unsigned prefix, const struct tapir_memlink_params *params, unsigned mtu);
struct tapir_stack *sim_stack(struct sim *sm, int node);

/* Runs every event up to and including time T, then sets sm->now = T. */
void sim_run_until(struct sim *sm, tapir_time_t t);
/* Runs until DONE(arg) is true (checked after each step) or time T; returns
 * whether DONE became true.  sm->now is the time it did (or T). */
bool sim_run_cond(struct sim *sm, tapir_time_t t, bool (*done)(struct sim *, void *),
		  void *arg);
/* The time of the next event (frame or timer), TAPIR_TIME_NEVER if none. */
tapir_time_t sim_next_event(struct sim *sm);
/* After acting on a stack outside the loop (sending, binding), call this
 * so the loop learns the stack's new deadline.  sim_run_* do it anyway. */
void sim_sync(struct sim *sm);

/* rx_frames == rx_delivered + drops for every node. */
bool sim_accounting_ok(const struct sim *sm);
/* A digest of the whole run: every node's frame digest and counters and
 * every wire's statistics.  Equal runs give equal digests. */
uint64_t sim_digest(const struct sim *sm);

void sim_free(struct sim *sm);

/* FNV-1a, for tests that fold their own observations into a digest. */
uint64_t sim_hash(uint64_t h, const void *data, size_t len);
#define SIM_HASH_INIT 0xcbf29ce484222325ull

#endif
