/* The socket layer over IPv6: AF_INET6 sockets (sockaddr_in6) between the
 * two nets of netpair.h, which also get fd00::1 and fd00::2 here
 * (net_pair_add_ipv6; DAD off, so they are usable at once).  An AF_INET6
 * socket reaches IPv4 peers v4-mapped unless IPV6_V6ONLY (RFC 3493 3.7,
 * 5.3). */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <tapir/stack.h>

#include "cmt.h"
#include "netpair.h"

static void add_v6(struct net_pair *p, void *arg)
{
	(void)arg;
	net_pair_add_ipv6(p);
}

static int pair_setup(void **state)
{
	struct tapir_config c;
	tapir_config_default(&c);
	c.seed = 11;
	c.nd_dad_transmits = 0; /* RFC 4862 5.1: 0 turns DAD off */
	return net_pair_fixture(state, &c, add_v6, NULL);
}

static int pair_teardown(void **state)
{
	return net_pair_fixture_down(state);
}

static int listener6(struct tapir_net *net, uint16_t port, int v6only)
{
	struct sockaddr_in6 any = net_sin6(NULL, port);
	int l = tapir_socket(net, AF_INET6, SOCK_STREAM, 0);
	assert_true(l >= 0);
	assert_int_equal(tapir_setsockopt(net, l, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)), 0);
	assert_int_equal(tapir_bind(net, l, SA(any), sizeof(any)), 0);
	assert_int_equal(tapir_listen(net, l, 8), 0);
	return l;
}

/* connect, accept, data both ways, the names on both ends */
static void tcp6_echo(void **state)
{
	struct net_pair *p = *state;
	struct sockaddr_in6 to = net_sin6(NP_B6, 7000), name;
	socklen_t len = sizeof(name);
	char buf[64];
	int l = listener6(p->b, 7000, 0), c, a;

	c = tapir_socket(p->a, AF_INET6, SOCK_STREAM, 0);
	assert_true(c >= 0);
	assert_int_equal(tapir_connect(p->a, c, SA(to), sizeof(to)), 0);
	a = tapir_accept(p->b, l, SA(name), &len);
	assert_true(a >= 0);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(name.sin6_family, AF_INET6);
	assert_memory_equal(&name.sin6_addr, NP_A6, 16);
	len = sizeof(name);
	assert_int_equal(tapir_getsockname(p->a, c, SA(name), &len), 0);
	assert_memory_equal(&name.sin6_addr, NP_A6, 16);
	assert_int_equal(ntohs(name.sin6_port) != 0, 1);
	len = sizeof(name);
	assert_int_equal(tapir_getpeername(p->a, c, SA(name), &len), 0);
	assert_memory_equal(&name.sin6_addr, NP_B6, 16);
	assert_int_equal(ntohs(name.sin6_port), 7000);

	assert_int_equal(tapir_send(p->a, c, "hello over ipv6", 15, 0), 15);
	assert_int_equal(tapir_recv(p->b, a, buf, sizeof(buf), 0), 15);
	assert_memory_equal(buf, "hello over ipv6", 15);
	assert_int_equal(tapir_send(p->b, a, buf, 15, 0), 15);
	assert_int_equal(tapir_recv(p->a, c, buf, sizeof(buf), 0), 15);
	assert_memory_equal(buf, "hello over ipv6", 15);
	assert_int_equal(tapir_close(p->a, c), 0);
	assert_int_equal(tapir_recv(p->b, a, buf, sizeof(buf), 0), 0); /* the FIN */
	tapir_close(p->b, a);
	tapir_close(p->b, l);
}

/* RFC 3493 3.7: IPv4 reaches an AF_INET6 listener as ::ffff:10.0.0.1;
 * with IPV6_V6ONLY it does not (refused) */
static void tcp6_v4mapped(void **state)
{
	struct net_pair *p = *state;
	static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};
	struct sockaddr_in to = net_sin(NP_B, 7001);
	struct sockaddr_in6 name, to6 = net_sin6(NP_B6, 7002);
	socklen_t len = sizeof(name);
	int l = listener6(p->b, 7001, 0), l6 = listener6(p->b, 7002, 1), c, a;

	c = tapir_socket(p->a, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(tapir_connect(p->a, c, SA(to), sizeof(to)), 0);
	a = tapir_accept(p->b, l, SA(name), &len);
	assert_true(a >= 0);
	assert_memory_equal(&name.sin6_addr, mapped, 16);
	tapir_close(p->a, c);
	tapir_close(p->b, a);

	to = net_sin(NP_B, 7002);
	c = tapir_socket(p->a, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(tapir_connect(p->a, c, SA(to), sizeof(to)), -1);
	assert_int_equal(errno, ECONNREFUSED);
	tapir_close(p->a, c);
	/* ... while IPv6 gets in */
	c = tapir_socket(p->a, AF_INET6, SOCK_STREAM, 0);
	assert_int_equal(tapir_connect(p->a, c, SA(to6), sizeof(to6)), 0);
	tapir_close(p->a, c);
	/* an AF_INET6 socket takes no sockaddr_in */
	c = tapir_socket(p->a, AF_INET6, SOCK_STREAM, 0);
	assert_int_equal(tapir_connect(p->a, c, SA(to), sizeof(to)), -1);
	assert_int_equal(errno, EAFNOSUPPORT);
	tapir_close(p->a, c);
	tapir_close(p->b, l);
	tapir_close(p->b, l6);
}

static void udp6_echo(void **state)
{
	struct net_pair *p = *state;
	struct sockaddr_in6 any = net_sin6(NULL, 7003), to = net_sin6(NP_B6, 7003), from;
	socklen_t len = sizeof(from);
	char buf[64];
	int u = tapir_socket(p->b, AF_INET6, SOCK_DGRAM, 0), c = tapir_socket(p->a, AF_INET6, SOCK_DGRAM, 0);
	assert_int_equal(tapir_bind(p->b, u, SA(any), sizeof(any)), 0);
	assert_int_equal(tapir_sendto(p->a, c, "dgram", 5, 0, SA(to), sizeof(to)), 5);
	assert_int_equal(tapir_recvfrom(p->b, u, buf, sizeof(buf), 0, SA(from), &len), 5);
	assert_int_equal(len, sizeof(from));
	assert_memory_equal(&from.sin6_addr, NP_A6, 16);
	assert_int_equal(tapir_sendto(p->b, u, buf, 5, 0, SA(from), len), 5);
	len = sizeof(from);
	assert_int_equal(tapir_recvfrom(p->a, c, buf, sizeof(buf), 0, SA(from), &len), 5);
	assert_memory_equal(buf, "dgram", 5);
	assert_memory_equal(&from.sin6_addr, NP_B6, 16);
	assert_int_equal(ntohs(from.sin6_port), 7003);
	tapir_close(p->a, c);
	tapir_close(p->b, u);
}

/* OPT (LEVEL, NAME) of FD: setsockopt V, then getsockopt's value */
static int set_get(struct tapir_net *net, int fd, int level, int name, int v)
{
	socklen_t len = sizeof(v);
	assert_int_equal(tapir_setsockopt(net, fd, level, name, &v, sizeof(v)), 0);
	v = -99;
	assert_int_equal(tapir_getsockopt(net, fd, level, name, &v, &len), 0);
	assert_int_equal(len, sizeof(v));
	return v;
}

/* IP_TTL, IP_TOS, IPV6_UNICAST_HOPS (RFC 3493 5.1), IPV6_TCLASS (RFC 3542
 * 6.5): set and read back on either transport; -1 gives the default back;
 * out of range EINVAL; the IPv6 ones are an AF_INET6 socket's (ENOPROTOOPT
 * on AF_INET, as Linux) */
static void ip_options(void **state)
{
	struct net_pair *p = *state;
	int t6 = tapir_socket(p->a, AF_INET6, SOCK_STREAM, 0), u6 = tapir_socket(p->a, AF_INET6, SOCK_DGRAM, 0);
	int u4 = tapir_socket(p->a, AF_INET, SOCK_DGRAM, 0), v = 256;
	for (int i = 0; i < 2; i++) {
		int fd = i ? u6 : t6;
		assert_int_equal(set_get(p->a, fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 7), 7);
		assert_int_equal(set_get(p->a, fd, IPPROTO_IPV6, IPV6_TCLASS, 0x41), 0x41);
		assert_int_equal(set_get(p->a, fd, IPPROTO_IP, IP_TTL, 9), 9);
		assert_int_equal(set_get(p->a, fd, IPPROTO_IP, IP_TOS, 0x20), 0x20);
		assert_int_equal(set_get(p->a, fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, -1), 64);
		assert_int_equal(set_get(p->a, fd, IPPROTO_IPV6, IPV6_TCLASS, -1), 0);
		assert_int_equal(tapir_setsockopt(p->a, fd, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof(v)), -1);
		assert_int_equal(errno, EINVAL);
	}
	assert_int_equal(set_get(p->a, u4, IPPROTO_IP, IP_TTL, 3), 3);
	assert_int_equal(tapir_setsockopt(p->a, u4, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof(v)), -1);
	assert_int_equal(errno, ENOPROTOOPT);
	v = 0; /* IP_TTL has no 0 */
	assert_int_equal(tapir_setsockopt(p->a, u4, IPPROTO_IP, IP_TTL, &v, sizeof(v)), -1);
	assert_int_equal(errno, EINVAL);
	tapir_close(p->a, t6);
	tapir_close(p->a, u6);
	tapir_close(p->a, u4);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return CMT_RUN(pair_setup, pair_teardown, tcp6_echo, tcp6_v4mapped, udp6_echo, ip_options);
}
