#include "fixture.h"

/* The bench as OPTS (in *STATE) asks, side A a puppet if PUPPET. */
static struct fx *fx_new(void **state, bool puppet)
{
	const struct fx_opts *o = *state;
	struct fx *x = calloc(1, sizeof(*x));
	const struct tapir_config *c = NULL;
	assert_non_null(x);
	*state = x;
	tapir_memlink_params_default(&x->lp);
	if (o && o->link)
		o->link(&x->lp);
	tapir_config_default(&x->c);
	if (o && o->config) {
		o->config(&x->c);
		c = &x->c;
	} else {
		/* what sim_init runs without a config */
		x->c.tcp_timestamps = 0;
		x->c.tcp_sack = 0;
	}
	if (o)
		x->arg = o->arg;
	if (puppet) {
		sim_init_puppet(&x->sim, c, &x->lp);
	} else if (o && o->config_b) {
		struct tapir_config cb = x->c;
		o->config_b(&cb);
		sim_init2(&x->sim, &x->c, &cb, &x->lp);
	} else {
		sim_init(&x->sim, c, &x->lp);
	}
	return x;
}

static struct fx *fx_listen(void **state, int backlog)
{
	const struct fx_opts *o = *state;
	struct fx *x = fx_new(state, true);
	if (o && o->backlog)
		backlog = o->backlog;
	x->p.lis = tapir_tcp_new(x->sim.st[1]);
	assert_int_equal(tapir_tcp_bind(x->p.lis, 0, 80), 0);
	assert_int_equal(tapir_tcp_listen(x->p.lis, backlog), 0);
	return x;
}

int fx_listener(void **state)
{
	fx_listen(state, 2);
	return 0;
}

int fx_puppet(void **state)
{
	struct fx *x = fx_listen(state, 8);
	struct tapir_tcp_info i;
	assert_non_null(puppet_open(&x->sim, x->p.lis, 80, 1000, 100000, &x->pc));
	tapir_tcp_get_info(x->pc.b, &i);
	assert_int_equal(i.state, TAPIR_TCP_ESTABLISHED);
	assert_int_equal(i.rcv_nxt, 100001);
	tap_clear(&x->sim);
	return 0;
}

int fx_syn_sent(void **state)
{
	struct fx *x = fx_new(state, true);
	x->p.cli = tapir_tcp_new(x->sim.st[1]);
	assert_int_equal(tapir_tcp_connect(x->p.cli, SIM_A, 80, x->sim.now), 0);
	sim_advance(&x->sim, TAPIR_MS(1));
	assert_int_equal(tap_n(&x->sim, 0), 1);
	assert_int_equal(tap_get(&x->sim, 0, 0)->flags, TAPIR_TH_SYN);
	assert_int_equal(tapir_tcp_state(x->p.cli), TAPIR_TCP_SYN_SENT);
	return 0;
}

/* The bench with both stacks, the tap on, and the connection made. */
static struct fx *fx_open(void **state)
{
	const struct fx_opts *o = *state;
	struct fx *x = fx_new(state, false);
	x->sim.tap_on = true;
	if (o && o->drop) {
		x->knob = o->knob;
		x->sim.drop = o->drop;
		x->sim.drop_arg = &x->knob;
	}
	assert_true(sim_pair(&x->sim, 80, &x->p, o ? o->cli_setup : NULL, o ? o->lis_setup : NULL));
	return x;
}

void fx_options(struct tapir_config *c) { (void)c; }
void fx_delay_5ms(struct tapir_memlink_params *lp) { lp->delay_us = 5000; }
void fx_delay_10ms(struct tapir_memlink_params *lp) { lp->delay_us = 10000; }
void fx_retries2_3(struct tapir_config *c) { c->tcp_retries2 = 3; }
const struct fx_opts fx_with_options = {.config = fx_options};

int fx_established(void **state)
{
	fx_open(state);
	return 0;
}

void fx_close(struct fx *x, struct tapir_tcp **t)
{
	tapir_tcp_close(*t, x->sim.now);
	*t = NULL;
}

int fx_fin_wait_2(void **state)
{
	struct fx *x = fx_open(state);
	char b[8];
	fx_close(x, &x->p.cli); /* A closes first: A waits */
	sim_advance(&x->sim, TAPIR_MS(10));
	assert_int_equal(tapir_tcp_recv(x->p.srv, b, sizeof(b), x->sim.now), 0);
	assert_int_equal(sim_sockets_in(x->sim.st[0], TAPIR_TCP_FIN_WAIT_2), 1);
	assert_int_equal(tapir_tcp_state(x->p.srv), TAPIR_TCP_CLOSE_WAIT);
	return 0;
}

int fx_time_wait(void **state)
{
	struct fx *x;
	fx_fin_wait_2(state);
	x = *state;
	fx_close(x, &x->p.srv);
	sim_advance(&x->sim, TAPIR_MS(10));
	assert_int_equal(sim_sockets_in(x->sim.st[0], TAPIR_TCP_TIME_WAIT), 1);
	assert_int_equal(sim_sockets(x->sim.st[1]), 1); /* the listener */
	return 0;
}

/* A connection or listener still open after the teardown's own: one the
 * test opened and never gave back. */
static void check_none_open(struct tapir_stack *s)
{
	static const enum tapir_tcp_state open[] = {
		TAPIR_TCP_LISTEN, TAPIR_TCP_SYN_SENT, TAPIR_TCP_SYN_RECEIVED, TAPIR_TCP_ESTABLISHED};
	for (size_t i = 0; i < sizeof(open) / sizeof(open[0]); i++)
		assert_int_equal(sim_sockets_in(s, open[i]), 0);
}

void pair_fini(struct sim *sim, struct pair *p)
{
	if (p->cli)
		tapir_tcp_abort(p->cli, sim->now);
	if (p->srv)
		tapir_tcp_abort(p->srv, sim->now);
	if (p->lis)
		tapir_tcp_close(p->lis, sim->now);
	for (int i = 0; i < 2; i++)
		if (sim->st[i])
			check_none_open(sim->st[i]);
	sim_fini(sim);
}

int fx_teardown(void **state)
{
	struct fx *x = *state;
	if (!x)
		return 0;
	if (x->pc.b)
		tapir_tcp_abort(x->pc.b, x->sim.now);
	pair_fini(&x->sim, &x->p);
	free(x);
	return 0;
}
