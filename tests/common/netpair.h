/* Two nets joined by the in-memory link, run in real time by their stack
 * threads: the bench of the socket-layer tests (tests/api) and of the
 * hook tests (tests/hook).  A: 10.0.0.1, B: 10.0.0.2, both on a /24. */
#ifndef TESTS_NETPAIR_H
#define TESTS_NETPAIR_H

#include <stdint.h>

#include <tapir/socket.h>

#define NP_A 0x0a000001u /* 10.0.0.1 */
#define NP_B 0x0a000002u /* 10.0.0.2 */

struct net_pair {
	struct tapir_net *a, *b;
};

/* Both nets with config C and their interfaces; BEFORE_START (if not NULL)
 * runs with ARG before the stack threads start (hooks, filters). */
void net_pair_up(struct net_pair *p, const struct tapir_config *c,
		 void (*before_start)(struct net_pair *p, void *arg), void *arg);
void net_pair_down(struct net_pair *p);

/* For a cmocka fixture: a pair allocated and up in *STATE (as
 * net_pair_up), and its teardown (stopped and freed).  Returns 0. */
int net_pair_fixture(void **state, const struct tapir_config *c,
		     void (*before_start)(struct net_pair *p, void *arg), void *arg);
int net_pair_fixture_down(void **state);

struct sockaddr_in net_sin(uint32_t addr, uint16_t port);
#define SA(x) ((struct sockaddr *)&(x))

#endif
