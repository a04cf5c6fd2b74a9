#include "netpair.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

void net_pair_up(struct net_pair *p, const struct tapir_config *c,
		 void (*before_start)(struct net_pair *p, void *arg), void *arg)
{
	static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 1}, mac_b[6] = {0x02, 0, 0, 0, 0, 2};
	assert_int_equal(tapir_net_new_pair(c, c, NULL, &p->a, &p->b), 0);
	assert_int_equal(tapir_net_add_iface(p->a, mac_a, 0, NP_A, 24, 0), 0);
	assert_int_equal(tapir_net_add_iface(p->b, mac_b, 0, NP_B, 24, 0), 0);
	if (before_start)
		before_start(p, arg);
	assert_int_equal(tapir_net_start(p->a), 0);
	assert_int_equal(tapir_net_start(p->b), 0);
}

void net_pair_down(struct net_pair *p)
{
	tapir_net_stop(p->a);
	tapir_net_stop(p->b);
}

int net_pair_fixture(void **state, const struct tapir_config *c,
		     void (*before_start)(struct net_pair *p, void *arg), void *arg)
{
	struct net_pair *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	net_pair_up(p, c, before_start, arg);
	*state = p;
	return 0;
}

int net_pair_fixture_down(void **state)
{
	net_pair_down(*state);
	free(*state);
	return 0;
}

struct sockaddr_in net_sin(uint32_t addr, uint16_t port)
{
	struct sockaddr_in s;
	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_addr.s_addr = htonl(addr);
	s.sin_port = htons(port);
	return s;
}
