/* cmocka fixtures for the TCP tests: a setup builds the two stacks of
 * tcpsim.h and brings a connection (A: client, B: server on port 80) to a
 * named state; one teardown checks what every test leaves and frees it all.
 * A test states only what it is about:
 *
 *	static void test_x(void **state)
 *	{
 *		FX_VARS(state);
 *		... sim, p->cli, p->srv, x->c ...
 *	}
 *	FX_TEST(test_x, &opts)   (on fx_established; OPTS may be NULL)
 *	FX_TEST_AT(test_y, fx_time_wait, &opts)
 */
#ifndef TCP_FIXTURE_H
#define TCP_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tcpsim.h"

/* For fx_opts.config: tapir_config_default as it is (timestamps, SACK). */
void fx_options(struct tapir_config *c);

/* What a setup builds; handed to it as cmocka's initial state. */
struct fx_opts {
	/* the config both stacks run: NULL for sim_init's base protocol
	 * (no timestamps, no SACK); else it changes tapir_config_default */
	void (*config)(struct tapir_config *c);
	/* if not NULL, B runs CONFIG's result changed by this (sim_init2) */
	void (*config_b)(struct tapir_config *c);
	/* NULL: a clean link; else it changes tapir_memlink_params_default */
	void (*link)(struct tapir_memlink_params *lp);
	void (*cli_setup)(struct tapir_tcp *t); /* as sim_pair's */
	void (*lis_setup)(struct tapir_tcp *t);
	/* a drop hook for the cable from the SYN on (sim.drop); its
	 * argument is the fixture's knob, which starts at KNOB */
	bool (*drop)(void *arg, int to, const uint8_t *frame, size_t len);
	int knob;
	const void *arg; /* the test's own parameters, for a table of cases */
	int backlog;     /* fx_listener's listen backlog; 0: 2 */
};

struct fx {
	struct sim sim;
	/* a socket the test gives back to the stack (close) is set to NULL,
	 * so that the teardown leaves it alone */
	struct pair p;
	struct tapir_config c; /* the config the stacks run */
	struct tapir_memlink_params lp; /* the cable's */
	int knob;              /* the drop hook's argument: the test turns it */
	struct pconn pc;       /* fx_puppet: the puppet's side (pc.b: B's socket) */
	const void *arg;       /* fx_opts.arg */
};

/* RFC 9293 3.5: both ends ESTABLISHED, the tap on from the SYN. */
int fx_established(void **state);
/* RFC 9293 3.6: A closed 10 ms after ESTABLISHED; its FIN is acknowledged
 * and B has read the end of the stream: A in FIN-WAIT-2 (p.cli NULL),
 * B in CLOSE-WAIT. */
int fx_fin_wait_2(void **state);
/* From fx_fin_wait_2, B closed too, 10 ms later: A in TIME-WAIT, B's
 * connection gone (p.srv NULL); only the listener stays on B. */
int fx_time_wait(void **state);
/* Side A a puppet (tcpsim.h): B listens on 80 (p.lis) and the puppet has
 * connected from 1000 (ISS 100000); B's socket (pc.b) ESTABLISHED, the
 * tap cleared.  OPTS: only config counts. */
int fx_puppet(void **state);
/* Side A a puppet; B listens on 80 (p.lis) with OPTS' backlog; the tap on.
 * OPTS: config and backlog count. */
int fx_listener(void **state);
/* Side A a puppet; B connects to A:80 (p.cli, on B) and has sent exactly
 * one segment, its SYN (tap_get(sim, 0, 0)), left unanswered: B in
 * SYN-SENT.  OPTS: only config counts. */
int fx_syn_sent(void **state);
/* Aborts the fixture's connection, closes the listener, checks that no
 * connection or listener the test opened is left, and frees the stacks. */
int fx_teardown(void **state);

/* The teardown's work, for a test that builds its own bench: aborts
 * P's connection (the sockets not NULL), closes its listener, checks that
 * no connection or listener is left open on either stack, frees SIM. */
void pair_fini(struct sim *sim, struct pair *p);

#define FX_TEST_AT(f, setup, opts)                                             \
	cmocka_unit_test_prestate_setup_teardown(f, setup, fx_teardown, (void *)(opts))
/* The common case: the test starts on fx_established. */
#define FX_TEST(f, opts) FX_TEST_AT(f, fx_established, opts)

/* The first line of a fixture test: X (the fixture), and SIM and P in it. */
#define FX_VARS(state)                                                         \
	struct fx *x = *(state);                                               \
	struct sim *sim = &x->sim;                                             \
	struct pair *p = &x->p;                                                \
	(void)sim;                                                             \
	(void)p

/* Often wanted in fx_opts: */
void fx_delay_5ms(struct tapir_memlink_params *lp);  /* 5 ms each way */
void fx_delay_10ms(struct tapir_memlink_params *lp); /* 10 ms each way */
void fx_retries2_3(struct tapir_config *c);          /* tcp_retries2 3 */
extern const struct fx_opts fx_with_options;         /* .config = fx_options */

/* One body run as several cases (a table of fx_opts): NAME is the case's. */
#define FX_CASE_AT(name, f, setup, opts) {name, f, setup, fx_teardown, (void *)(opts)}
#define FX_CASE(name, f, opts) FX_CASE_AT(name, f, fx_established, opts)

/* Closes *T (the application is done with it) and forgets it. */
void fx_close(struct fx *x, struct tapir_tcp **t);

#endif
