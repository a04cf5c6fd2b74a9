/* A socket's own IP header fields: IP_TTL and IP_TOS, IPV6_UNICAST_HOPS
 * (RFC 3493 5.1) and IPV6_TCLASS (RFC 3542 6.5), on UDP and TCP packets of
 * both families; -1 the default; TCP keeps the ECN bits its own (RFC 3168
 * 5), UDP sends them as given. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core.h"
#include "frames.h"

#define PORT 9000

/* The last IPv6 packet captured whose next header is NH, or NULL */
static const uint8_t *last_ip6(const struct cap *c, uint8_t nh)
{
	for (size_t i = c->n; i-- > 0;) {
		size_t len;
		const uint8_t *p = cap_l3(c, i, TAPIR_ETH_P_IPV6, &len);
		if (p && len >= TAPIR_IPV6_HLEN && p[TAPIR_IPV6_NXT] == nh)
			return p;
	}
	return NULL;
}

static uint8_t tclass_of(const uint8_t *ip6)
{
	return (uint8_t)(ip6[0] << 4 | ip6[1] >> 4);
}

/* The ranges of RFC 3493 5.1 / RFC 3542 6.5, and IP_TTL's no-zero */
static void test_ranges(void **state)
{
	struct fx *f = *state;
	struct tapir_udp *u = tapir_udp_new(f->s);
	struct tapir_tcp *t = tapir_tcp_new(f->s);
	assert_non_null(u);
	assert_non_null(t);
	for (int o = TAPIR_IP_TTL; o <= TAPIR_IP_TCLASS; o++) {
		assert_int_equal(tapir_udp_set_ipopt(u, (enum tapir_ip_opt)o, -2), -EINVAL);
		assert_int_equal(tapir_udp_set_ipopt(u, (enum tapir_ip_opt)o, 256), -EINVAL);
		assert_int_equal(tapir_tcp_set_ipopt(t, (enum tapir_ip_opt)o, 256), -EINVAL);
		assert_int_equal(tapir_udp_set_ipopt(u, (enum tapir_ip_opt)o, 255), 0);
		assert_int_equal(tapir_udp_get_ipopt(u, (enum tapir_ip_opt)o), 255);
		assert_int_equal(tapir_tcp_set_ipopt(t, (enum tapir_ip_opt)o, 1), 0);
		assert_int_equal(tapir_tcp_get_ipopt(t, (enum tapir_ip_opt)o), 1);
	}
	assert_int_equal(tapir_udp_set_ipopt(u, TAPIR_IP_TTL, 0), -EINVAL);
	assert_int_equal(tapir_udp_set_ipopt(u, TAPIR_IP_HOPLIMIT, 0), 0);
	/* -1: back to the default, which getting reports as sent */
	assert_int_equal(tapir_udp_set_ipopt(u, TAPIR_IP_TTL, -1), 0);
	assert_int_equal(tapir_udp_get_ipopt(u, TAPIR_IP_TTL), f->s->cfg.ttl);
	assert_int_equal(tapir_udp_set_ipopt(u, TAPIR_IP_TCLASS, -1), 0);
	assert_int_equal(tapir_udp_get_ipopt(u, TAPIR_IP_TCLASS), 0);
	assert_int_equal(tapir_tcp_get_ipopt(tapir_tcp_new(f->s), TAPIR_IP_HOPLIMIT), f->s->cfg.ttl);
	tapir_udp_free(u);
}

static void test_udp_v4(void **state)
{
	struct fx *f = *state;
	struct tapir_udp *u = tapir_udp_new(f->s);
	const uint8_t *ip;
	size_t len;
	fx_learn_peer(f);
	assert_int_equal(tapir_udp_bind(u, 0, PORT), 0);
	assert_int_equal(tapir_udp_sendto(u, "a", 1, IP_PEER, 7, f->now), 1);
	ip = cap_last_ip(&f->cap, TAPIR_IPPROTO_UDP, &len);
	assert_non_null(ip);
	assert_int_equal(ip[TAPIR_IPV4_TTL], f->s->cfg.ttl);
	assert_int_equal(ip[TAPIR_IPV4_TOS], 0);
	/* the IPv6 options leave IPv4 alone */
	assert_int_equal(tapir_udp_set_ipopt(u, TAPIR_IP_HOPLIMIT, 9), 0);
	assert_int_equal(tapir_udp_set_ipopt(u, TAPIR_IP_TTL, 7), 0);
	/* a datagram's ECN bits are the application's (no transport owns them) */
	assert_int_equal(tapir_udp_set_ipopt(u, TAPIR_IP_TOS, 0xb9), 0);
	assert_int_equal(tapir_udp_sendto(u, "a", 1, IP_PEER, 7, f->now), 1);
	ip = cap_last_ip(&f->cap, TAPIR_IPPROTO_UDP, &len);
	assert_int_equal(ip[TAPIR_IPV4_TTL], 7);
	assert_int_equal(ip[TAPIR_IPV4_TOS], 0xb9);
	assert_int_equal(tapir_csum(ip, TAPIR_IPV4_HLEN), 0);
	tapir_udp_free(u);
}

/* The TTL and hop limit are unicast ones (multicast has IP_MULTICAST_TTL,
 * IPV6_MULTICAST_HOPS); the class goes to every destination */
static void test_multicast(void **state)
{
	struct tp_ipopts o = {{0}};
	struct tapir_ip g4 = tapir_ip_from_v4(0xe0000001u), g6 = tapir_ip_from_v6(IP6_ALLNODES),
			u6 = tapir_ip_from_v6(IP6_PEER);
	unsigned fl;
	(void)state;
	assert_int_equal(tp_ipopt_set(&o, TAPIR_IP_TTL, 7), 0);
	assert_int_equal(tp_ipopt_set(&o, TAPIR_IP_HOPLIMIT, 0), 0);
	assert_int_equal(tp_ipopt_set(&o, TAPIR_IP_TCLASS, 0x41), 0);
	assert_false(tp_ipopts_flags(&o, &g4, false) & TP_IP_TTL);
	assert_false(tp_ipopts_flags(&o, &g6, false) & TP_IP_TTL);
	assert_int_equal(TP_IP_TOS_OF(tp_ipopts_flags(&o, &g6, false)), 0x41);
	/* a hop limit of 0 is one (RFC 3493 5.1), not the default */
	fl = tp_ipopts_flags(&o, &u6, false);
	assert_true(fl & TP_IP_TTL);
	assert_int_equal(TP_IP_TTL_OF(fl), 0);
	/* a stream's ECN bits are the transport's */
	assert_int_equal(TP_IP_TOS_OF(tp_ipopts_flags(&o, &u6, true)), 0x40);
	assert_int_equal(TP_IP_TOS_OF(tp_ipopts_flags(&o, &u6, true) | TP_IP_ECT0), 0x42);
}

static void test_udp_v6(void **state)
{
	struct fx *f = *state;
	struct tapir_udp *u = tapir_udp_new(f->s);
	struct tapir_ip peer = tapir_ip_from_v6(IP6_PEER), any = tapir_ip_from_v6(IP6_UNSPEC);
	const uint8_t *ip;
	fx_learn_peer6(f, IP6_PEER);
	assert_int_equal(tapir_udp_bind_addr(u, &any, PORT), 0);
	assert_int_equal(tapir_udp_set_ipopt(u, TAPIR_IP_TTL, 9), 0);
	assert_int_equal(tapir_udp_sendto_addr(u, "a", 1, &peer, 7, f->now), 1);
	ip = last_ip6(&f->cap, TAPIR_IPPROTO_UDP);
	assert_non_null(ip);
	assert_int_equal(ip[TAPIR_IPV6_HLIM], f->s->cfg.ttl);
	assert_int_equal(tclass_of(ip), 0);
	assert_int_equal(tapir_udp_set_ipopt(u, TAPIR_IP_HOPLIMIT, 3), 0);
	assert_int_equal(tapir_udp_set_ipopt(u, TAPIR_IP_TCLASS, 0xe1), 0);
	assert_int_equal(tapir_udp_sendto_addr(u, "a", 1, &peer, 7, f->now), 1);
	ip = last_ip6(&f->cap, TAPIR_IPPROTO_UDP);
	assert_int_equal(ip[TAPIR_IPV6_HLIM], 3);
	assert_int_equal(tclass_of(ip), 0xe1);
	assert_int_equal(ip[0] >> 4, 6);
	assert_int_equal(ip[1] & 0x0f, 0); /* no flow label */
	/* -1: the default again */
	assert_int_equal(tapir_udp_set_ipopt(u, TAPIR_IP_HOPLIMIT, -1), 0);
	assert_int_equal(tapir_udp_sendto_addr(u, "a", 1, &peer, 7, f->now), 1);
	ip = last_ip6(&f->cap, TAPIR_IPPROTO_UDP);
	assert_int_equal(ip[TAPIR_IPV6_HLIM], f->s->cfg.ttl);
	tapir_udp_free(u);
}

/* TCP: the SYN carries the socket's fields, the ECN bits masked off (RFC
 * 3168 5: the transport's), and a change applies to the next segment. */
static void test_tcp_v6(void **state)
{
	struct fx *f = *state;
	struct tapir_tcp *t = tapir_tcp_new(f->s);
	struct tapir_ip peer = tapir_ip_from_v6(IP6_PEER);
	const uint8_t *ip;
	fx_learn_peer6(f, IP6_PEER);
	assert_int_equal(tapir_tcp_set_ipopt(t, TAPIR_IP_HOPLIMIT, 4), 0);
	assert_int_equal(tapir_tcp_set_ipopt(t, TAPIR_IP_TCLASS, 0x23), 0);
	assert_int_equal(tapir_tcp_connect_addr(t, &peer, 80, f->now), 0);
	ip = last_ip6(&f->cap, TAPIR_IPPROTO_TCP);
	assert_non_null(ip);
	assert_int_equal(ip[TAPIR_IPV6_HLIM], 4);
	assert_int_equal(tclass_of(ip), 0x20);
	/* the retransmitted SYN, after a change */
	assert_int_equal(tapir_tcp_set_ipopt(t, TAPIR_IP_HOPLIMIT, 6), 0);
	cap_clear(&f->cap);
	fx_advance(f, TAPIR_SEC(3));
	ip = last_ip6(&f->cap, TAPIR_IPPROTO_TCP);
	assert_non_null(ip);
	assert_int_equal(ip[TAPIR_IPV6_HLIM], 6);
	assert_int_equal(tclass_of(ip), 0x20);
}

static void test_tcp_v4(void **state)
{
	struct fx *f = *state;
	struct tapir_tcp *t = tapir_tcp_new(f->s);
	const uint8_t *ip;
	size_t len;
	fx_learn_peer(f);
	assert_int_equal(tapir_tcp_set_ipopt(t, TAPIR_IP_TTL, 5), 0);
	assert_int_equal(tapir_tcp_set_ipopt(t, TAPIR_IP_TOS, 0xe3), 0);
	assert_int_equal(tapir_tcp_connect(t, IP_PEER, 80, f->now), 0);
	ip = cap_last_ip(&f->cap, TAPIR_IPPROTO_TCP, &len);
	assert_non_null(ip);
	assert_int_equal(ip[TAPIR_IPV4_TTL], 5);
	assert_int_equal(ip[TAPIR_IPV4_TOS], 0xe0);
	assert_int_equal(tapir_csum(ip, TAPIR_IPV4_HLEN), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ranges, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_udp_v4, fx_setup, fx_teardown),
		cmocka_unit_test(test_multicast),
		cmocka_unit_test_setup_teardown(test_udp_v6, fx6_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tcp_v6, fx6_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tcp_v4, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
