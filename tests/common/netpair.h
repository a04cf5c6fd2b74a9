/* Two nets joined by the in-memory link, run in real time by their stack
 * threads: the bench of the socket-layer tests (tests/api) and of the
 * hook tests (tests/hook).  A: 10.0.0.1, B: 10.0.0.2, both on a /24; with
 * net_pair_add_ipv6 also fd00::1 and fd00::2 on a /64. */
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

/* *V, read under NET's lock (a count its stack thread updates) */
unsigned net_locked_read(struct tapir_net *net, const unsigned *v);

/* ---- IPv6 on the pair ---- */
extern const uint8_t NP_A6[16]; /* fd00::1 */
extern const uint8_t NP_B6[16]; /* fd00::2 */
/* Adds NP_A6 and NP_B6 (/64) to A and B: from BEFORE_START, with the
 * config's nd_dad_transmits 0 (RFC 4862 5.1: DAD off) so that they are
 * usable at once. */
void net_pair_add_ipv6(struct net_pair *p);
/* ADDR (16 bytes; NULL: ::) and PORT */
struct sockaddr_in6 net_sin6(const uint8_t *addr, uint16_t port);

/* A's (WHICH 'a'), B's ('b') or the "any" (0) address of family AF
 * (AF_INET or AF_INET6, the pair's addresses above) with PORT in SS; its
 * length. */
socklen_t net_sa(int af, char which, uint16_t port, struct sockaddr_storage *ss);

#endif
