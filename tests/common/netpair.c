#include "netpair.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <tapir/stack.h>

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

const uint8_t NP_A6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const uint8_t NP_B6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

void net_pair_add_ipv6(struct net_pair *p)
{
	assert_int_equal(tapir_iface_add_ipv6(tapir_net_stack(p->a), 0, NP_A6, 64, 0), 0);
	assert_int_equal(tapir_iface_add_ipv6(tapir_net_stack(p->b), 0, NP_B6, 64, 0), 0);
}

struct sockaddr_in6 net_sin6(const uint8_t *addr, uint16_t port)
{
	struct sockaddr_in6 s;
	memset(&s, 0, sizeof(s));
	s.sin6_family = AF_INET6;
	if (addr)
		memcpy(&s.sin6_addr, addr, 16);
	s.sin6_port = htons(port);
	return s;
}

unsigned net_locked_read(struct tapir_net *net, const unsigned *v)
{
	unsigned r;
	tapir_net_lock(net);
	r = *v;
	tapir_net_unlock(net);
	return r;
}

socklen_t net_sa(int af, char which, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET6) {
		struct sockaddr_in6 s = net_sin6(which == 'a' ? NP_A6 : which == 'b' ? NP_B6 : NULL,
						 port);
		memcpy(ss, &s, sizeof(s));
		return sizeof(s);
	} else {
		struct sockaddr_in s = net_sin(which == 'a' ? NP_A : which == 'b' ? NP_B : 0, port);
		memcpy(ss, &s, sizeof(s));
		return sizeof(s);
	}
}
