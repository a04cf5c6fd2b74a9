/* The simulator's event loop: see sim.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* A step that is repeated at the same instant this often means a timer
 * that never moves forward: a stack bug, not something to wait out. */
#define SIM_MAX_STEPS_PER_INSTANT 100000

uint64_t sim_hash(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

void sim_init(struct sim *sm)
{
	memset(sm, 0, sizeof(*sm));
}

static void observe(void *arg, int ifindex, enum tapir_dir dir, const uint8_t *frame,
		    size_t len, tapir_time_t now)
{
	struct sim_node *n = arg;
	uint8_t meta[2] = {(uint8_t)ifindex, (uint8_t)dir};
	n->digest = sim_hash(n->digest, meta, sizeof(meta));
	n->digest = sim_hash(n->digest, &now, sizeof(now));
	n->digest = sim_hash(n->digest, frame, len);
}

int sim_node(struct sim *sm, const struct tapir_config *cfg)
{
	struct sim_node *n;
	if (sm->nnodes == SIM_MAX_NODES) {
		fprintf(stderr, "sim: too many nodes\n");
		abort();
	}
	n = &sm->nodes[sm->nnodes];
	memset(n, 0, sizeof(*n));
	if (cfg) {
		n->cfg = *cfg;
	} else {
		tapir_config_default(&n->cfg);
		n->cfg.seed = (uint64_t)sm->nnodes + 1;
	}
	n->s = tapir_stack_new(&n->cfg);
	if (!n->s) {
		fprintf(stderr, "sim: tapir_stack_new failed\n");
		abort();
	}
	n->deadline = TAPIR_TIME_NEVER;
	n->digest = SIM_HASH_INIT;
	tapir_set_frame_observer(n->s, observe, n);
	return sm->nnodes++;
}

struct tapir_stack *sim_stack(struct sim *sm, int node) { return sm->nodes[node].s; }

int sim_wire_mtu(struct sim *sm, int a, uint32_t addr_a, int b, uint32_t addr_b,
		 unsigned prefix, const struct tapir_memlink_params *params, unsigned mtu)
{
	struct tapir_memlink_params def;
	struct sim_wire *w;
	int ends[2] = {a, b};
	uint32_t addrs[2] = {addr_a, addr_b};

	if (sm->nwires == SIM_MAX_WIRES) {
		fprintf(stderr, "sim: too many wires\n");
		abort();
	}
	if (!params) {
		tapir_memlink_params_default(&def);
		params = &def;
	}
	w = &sm->wires[sm->nwires];
	memset(w, 0, sizeof(*w));
	w->m = tapir_memlink_new(params);
	if (!w->m)
		abort();
	tapir_memlink_set_time(w->m, sm->now);
	for (int side = 0; side < 2; side++) {
		struct sim_node *n = &sm->nodes[ends[side]];
		uint8_t mac[6] = {0x02, 0, 0, 0, (uint8_t)ends[side], (uint8_t)sm->nwires};
		int ifi = tapir_iface_add(n->s, tapir_memlink_end(w->m, side), mac, mtu);
		if (ifi < 0 || tapir_iface_set_ipv4(n->s, ifi, addrs[side], prefix, sm->now) < 0) {
			fprintf(stderr, "sim: cannot set up interface\n");
			abort();
		}
		n->nifaces++;
		w->node[side] = ends[side];
		w->ifindex[side] = ifi;
		memcpy(w->mac[side], mac, 6);
		w->addr[side] = addrs[side];
	}
	sm->nwires++;
	sim_sync(sm);
	return sm->nwires - 1;
}

int sim_wire(struct sim *sm, int a, uint32_t addr_a, int b, uint32_t addr_b,
	     unsigned prefix, const struct tapir_memlink_params *params)
{
	return sim_wire_mtu(sm, a, addr_a, b, addr_b, prefix, params, 1500);
}

struct rx_ctx {
	struct sim *sm;
	struct sim_wire *w;
};

static void wire_rx(void *arg, int side, uint8_t *frame, size_t len, tapir_time_t now)
{
	struct rx_ctx *c = arg;
	struct sim_node *n = &c->sm->nodes[c->w->node[side]];
	tapir_stack_input(n->s, c->w->ifindex[side], frame, len, now);
}

/* Stamps the wires with the current time so frames sent now (from inside
 * the loop or by the test between runs) leave now. */
static void wires_at(struct sim *sm)
{
	for (int i = 0; i < sm->nwires; i++)
		tapir_memlink_set_time(sm->wires[i].m, sm->now);
}

/* Polls every stack at sm->now and records its next deadline. */
void sim_sync(struct sim *sm)
{
	wires_at(sm);
	for (int i = 0; i < sm->nnodes; i++)
		sm->nodes[i].deadline = tapir_stack_poll(sm->nodes[i].s, sm->now);
}

tapir_time_t sim_next_event(struct sim *sm)
{
	tapir_time_t t = TAPIR_TIME_NEVER;
	for (int i = 0; i < sm->nwires; i++) {
		tapir_time_t w = tapir_memlink_next(sm->wires[i].m);
		if (w < t)
			t = w;
	}
	for (int i = 0; i < sm->nnodes; i++)
		if (sm->nodes[i].deadline < t)
			t = sm->nodes[i].deadline;
	return t;
}

/* Everything due at sm->now: frames on every wire, then every stack's
 * timers (which may send frames that are due at once on a zero-delay wire:
 * the caller loops until nothing is due). */
static void step(struct sim *sm)
{
	wires_at(sm);
	for (int i = 0; i < sm->nwires; i++) {
		struct rx_ctx c = {sm, &sm->wires[i]};
		tapir_memlink_deliver(sm->wires[i].m, sm->now, wire_rx, &c);
	}
	sim_sync(sm);
	sm->steps++;
	if (sm->on_step)
		sm->on_step(sm, sm->on_step_arg);
}

bool sim_run_cond(struct sim *sm, tapir_time_t t, bool (*done)(struct sim *, void *),
		  void *arg)
{
	unsigned same = 0;
	sim_sync(sm);
	if (done && done(sm, arg))
		return true;
	for (;;) {
		tapir_time_t next = sim_next_event(sm);
		if (next > t)
			break;
		if (next <= sm->now) {
			if (++same > SIM_MAX_STEPS_PER_INSTANT) {
				fprintf(stderr, "sim: no progress at t=%llu us\n",
					(unsigned long long)sm->now);
				abort();
			}
		} else {
			same = 0;
			sm->now = next;
		}
		step(sm);
		if (done && done(sm, arg))
			return true;
	}
	if (t > sm->now)
		sm->now = t;
	sim_sync(sm);
	return done ? done(sm, arg) : false;
}

void sim_run_until(struct sim *sm, tapir_time_t t)
{
	sim_run_cond(sm, t, NULL, NULL);
}

bool sim_accounting_ok(const struct sim *sm)
{
	for (int i = 0; i < sm->nnodes; i++) {
		const struct tapir_stats *st = tapir_stats(sm->nodes[i].s);
		if (st->rx_frames != st->rx_delivered + tapir_drops_total(st))
			return false;
	}
	return true;
}

uint64_t sim_digest(const struct sim *sm)
{
	uint64_t h = SIM_HASH_INIT;
	for (int i = 0; i < sm->nnodes; i++) {
		h = sim_hash(h, &sm->nodes[i].digest, sizeof(uint64_t));
		h = sim_hash(h, tapir_stats(sm->nodes[i].s), sizeof(struct tapir_stats));
	}
	for (int i = 0; i < sm->nwires; i++)
		h = sim_hash(h, tapir_memlink_stats(sm->wires[i].m),
			     sizeof(struct tapir_memlink_stats));
	h = sim_hash(h, &sm->now, sizeof(sm->now));
	return h;
}

void sim_free(struct sim *sm)
{
	for (int i = 0; i < sm->nnodes; i++)
		tapir_stack_free(sm->nodes[i].s);
	for (int i = 0; i < sm->nwires; i++)
		tapir_memlink_free(sm->wires[i].m);
	memset(sm, 0, sizeof(*sm));
}
