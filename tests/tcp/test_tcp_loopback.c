/* The loopback of one stack (RFC 1122 3.2.1.3 (g), RFC 4291 2.5.3): a
 * client and a server on stack B talk over 127.0.0.1 and ::1, TCP and
 * UDP, with nothing on the cable; 127/8 and ::1 arriving from the link are
 * dropped as martians; a loopback source never leaves for the link. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <tapir/hook.h>
#include <tapir/udp.h>
#include <tapir/wire.h>

#include "tcpsim.h"

#define LO4 0x7f000001u
static const uint8_t LO6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

/* B listens on LADDR:80 and connects to RADDR:80 itself; data both ways;
 * both close; the client's name is SRC; no frame crossed the cable. */
static void loop_tcp(const struct tapir_ip *laddr, const struct tapir_ip *raddr,
		     const struct tapir_ip *src)
{
	struct sim sim;
	struct pair p = {0};
	struct tapir_ip name;
	uint16_t port;
	unsigned frames;
	sim_init(&sim, NULL, NULL);
	sim_advance(&sim, TAPIR_SEC(5)); /* past the ARP announcements */
	frames = sim.frames[0] + sim.frames[1];
	p.lis = tapir_tcp_new(sim.st[1]);
	assert_int_equal(tapir_tcp_bind_addr(p.lis, laddr, 80), 0);
	assert_int_equal(tapir_tcp_listen(p.lis, 8), 0);
	p.cli = tapir_tcp_new(sim.st[1]);
	tapir_tcp_set_event(p.cli, pair_cli_event, &p);
	assert_int_equal(tapir_tcp_connect_addr(p.cli, raddr, 80, sim.now), 0);
	assert_true(sim_run(&sim, sim.now + TAPIR_SEC(5), sim_pair_accepted, &p));
	tapir_tcp_local_addr(p.cli, &name, &port);
	assert_memory_equal(name.b, src->b, 16);
	tapir_tcp_peer_addr(p.srv, &name, &port);
	assert_memory_equal(name.b, src->b, 16);
	sim_transfer(&sim, p.cli, p.srv, 300000, 0, TAPIR_SEC(60));
	sim_transfer(&sim, p.srv, p.cli, 200000, 0, TAPIR_SEC(60));
	tapir_tcp_close(p.cli, sim.now);
	tapir_tcp_close(p.srv, sim.now);
	tapir_tcp_close(p.lis, sim.now);
	sim_advance(&sim, TAPIR_SEC(200));
	assert_int_equal(sim_sockets(sim.st[1]), 0);
	assert_int_equal(sim.frames[0] + sim.frames[1], frames);
	assert_int_equal(tapir_stats(sim.st[1])->loop_dropped, 0);
	sim_fini(&sim);
}

/* Bulk over 127.0.0.1 with windows of megabytes (as autotuning makes
 * them in tapir host and tapir_net): a burst of a whole window would overflow the
 * loopback queue (LOOP_LIMIT packets, a device queue), so TCP stops at a
 * nearly full queue and goes on once the loopback poll made room -- no
 * datagram dropped, no retransmission, every byte in order. */
static void test_tcp_bulk_big_window(void **state)
{
	struct tapir_config c;
	struct sim sim;
	struct pair p = {0};
	struct tapir_ip lo = tapir_ip_from_v4(LO4);
	(void)state;
	tapir_config_default(&c);
	c.tcp_rcvbuf = c.tcp_sndbuf = 4u << 20;
	sim_init(&sim, &c, NULL);
	sim_advance(&sim, TAPIR_SEC(5));
	p.lis = tapir_tcp_new(sim.st[1]);
	assert_int_equal(tapir_tcp_bind_addr(p.lis, &lo, 80), 0);
	assert_int_equal(tapir_tcp_listen(p.lis, 8), 0);
	p.cli = tapir_tcp_new(sim.st[1]);
	tapir_tcp_set_event(p.cli, pair_cli_event, &p);
	assert_int_equal(tapir_tcp_connect_addr(p.cli, &lo, 80, sim.now), 0);
	assert_true(sim_run(&sim, sim.now + TAPIR_SEC(5), sim_pair_accepted, &p));
	sim_transfer(&sim, p.cli, p.srv, 16u << 20, 3, TAPIR_SEC(60));
	sim_transfer(&sim, p.srv, p.cli, 16u << 20, 4, TAPIR_SEC(60));
	assert_int_equal(tapir_stats(sim.st[1])->loop_dropped, 0);
	assert_int_equal(tapir_stats(sim.st[1])->tcp_retransmits, 0);
	tapir_tcp_close(p.cli, sim.now);
	tapir_tcp_close(p.srv, sim.now);
	tapir_tcp_close(p.lis, sim.now);
	sim_advance(&sim, TAPIR_SEC(200));
	assert_int_equal(sim_sockets(sim.st[1]), 0);
	sim_fini(&sim);
}

static void test_tcp_any_to_127(void **state)
{
	struct tapir_ip any = tapir_ip_from_v4(0), lo = tapir_ip_from_v4(LO4);
	(void)state;
	loop_tcp(&any, &lo, &lo);
}

static void test_tcp_127_to_127(void **state)
{
	struct tapir_ip lo = tapir_ip_from_v4(LO4);
	(void)state;
	loop_tcp(&lo, &lo, &lo);
}

/* any of 127/8 is ours; the source stays 127.0.0.1 */
static void test_tcp_to_127_0_0_9(void **state)
{
	struct tapir_ip any = tapir_ip_from_v4(0), lo9 = tapir_ip_from_v4(0x7f000009u),
			lo = tapir_ip_from_v4(LO4);
	(void)state;
	loop_tcp(&any, &lo9, &lo);
}

static void test_tcp_v6(void **state)
{
	struct tapir_ip any6 = {{0}}, lo = tapir_ip_from_v6(LO6);
	(void)state;
	loop_tcp(&any6, &lo, &lo);
}

static bool udp_readable(void *arg) { return tapir_udp_events(arg) & TAPIR_EV_READ; }

/* UDP to DST:7 on B and back, from an unbound socket: the source is SRC */
static void loop_udp(const struct tapir_ip *dst, const struct tapir_ip *src)
{
	struct sim sim;
	struct tapir_ip any = {{0}}, from;
	uint8_t buf[2000], msg[1000];
	uint16_t port;
	unsigned frames;
	long n;
	sim_init(&sim, NULL, NULL);
	sim_advance(&sim, TAPIR_SEC(5));
	frames = sim.frames[0] + sim.frames[1];
	struct tapir_udp *ua = tapir_udp_new(sim.st[1]), *ub = tapir_udp_new(sim.st[1]);
	assert_int_equal(tapir_udp_bind_addr(ub, &any, 7), 0);
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7);
	assert_int_equal(tapir_udp_sendto_addr(ua, msg, sizeof(msg), dst, 7, sim.now), sizeof(msg));
	assert_true(sim_run(&sim, sim.now + TAPIR_SEC(2), udp_readable, ub));
	n = tapir_udp_recvfrom_addr(ub, buf, sizeof(buf), &from, &port);
	assert_int_equal(n, sizeof(msg));
	assert_memory_equal(from.b, src->b, 16);
	assert_int_equal(tapir_udp_sendto_addr(ub, buf, (size_t)n, &from, port, sim.now), n);
	assert_true(sim_run(&sim, sim.now + TAPIR_SEC(2), udp_readable, ua));
	n = tapir_udp_recvfrom_addr(ua, buf, sizeof(buf), &from, &port);
	assert_int_equal(n, sizeof(msg));
	assert_memory_equal(buf, msg, sizeof(msg));
	assert_int_equal(port, 7);
	assert_int_equal(sim.frames[0] + sim.frames[1], frames);
	tapir_udp_free(ua);
	tapir_udp_free(ub);
	sim_fini(&sim);
}

static void test_udp_v4(void **state)
{
	struct tapir_ip lo = tapir_ip_from_v4(LO4);
	(void)state;
	loop_udp(&lo, &lo);
}

static void test_udp_v6(void **state)
{
	struct tapir_ip lo = tapir_ip_from_v6(LO6);
	(void)state;
	loop_udp(&lo, &lo);
}

/* Both ends bound to 127.0.0.1, as a program's two sockets would be */
static void test_udp_both_bound(void **state)
{
	struct sim sim;
	struct tapir_ip lo = tapir_ip_from_v4(LO4), from;
	uint8_t buf[16];
	uint16_t port;
	(void)state;
	sim_init(&sim, NULL, NULL);
	struct tapir_udp *ua = tapir_udp_new(sim.st[1]), *ub = tapir_udp_new(sim.st[1]);
	assert_int_equal(tapir_udp_bind_addr(ua, &lo, 9153), 0);
	assert_int_equal(tapir_udp_bind_addr(ub, &lo, 9154), 0);
	assert_int_equal(tapir_udp_sendto_addr(ub, "ping", 4, &lo, 9153, sim.now), 4);
	assert_true(sim_run(&sim, sim.now + TAPIR_SEC(2), udp_readable, ua));
	assert_int_equal(tapir_udp_recvfrom_addr(ua, buf, sizeof(buf), &from, &port), 4);
	assert_int_equal(port, 9154);
	assert_int_equal(tapir_udp_sendto_addr(ua, "pong", 4, &from, port, sim.now), 4);
	assert_true(sim_run(&sim, sim.now + TAPIR_SEC(2), udp_readable, ub));
	assert_int_equal(tapir_udp_recvfrom_addr(ub, buf, sizeof(buf), &from, &port), 4);
	assert_memory_equal(buf, "pong", 4);
	assert_int_equal(port, 9153);
	tapir_udp_free(ua);
	tapir_udp_free(ub);
	sim_fini(&sim);
}

/* The loopback queue is bounded: datagrams beyond it, sent before any
 * poll, are dropped and counted (loop_dropped); those queued arrive */
static void test_loop_queue_bounded(void **state)
{
	struct sim sim;
	struct tapir_ip lo = tapir_ip_from_v4(LO4), any = tapir_ip_from_v4(0);
	unsigned sent = 0, refused = 0, got = 0;
	uint8_t buf[16];
	(void)state;
	sim_init(&sim, NULL, NULL);
	struct tapir_udp *ua = tapir_udp_new(sim.st[1]), *ub = tapir_udp_new(sim.st[1]);
	assert_int_equal(tapir_udp_bind_addr(ub, &any, 7), 0);
	tapir_udp_set_rcvbuf(ub, 1u << 20);
	for (int i = 0; i < 300; i++) {
		long r = tapir_udp_sendto_addr(ua, "x", 1, &lo, 7, sim.now);
		if (r == 1)
			sent++;
		else
			refused++;
	}
	assert_true(refused > 0);
	assert_int_equal(tapir_stats(sim.st[1])->loop_dropped, refused);
	sim_advance(&sim, TAPIR_MS(10));
	while (tapir_udp_recvfrom_addr(ub, buf, sizeof(buf), NULL, NULL) == 1)
		got++;
	assert_int_equal(got, sent);
	tapir_udp_free(ua);
	tapir_udp_free(ub);
	sim_fini(&sim);
}

/* RFC 1122 3.2.1.3 (g): a socket bound to 127.0.0.1 reaches only this
 * host; nothing with a loopback source goes on the link */
static void test_loopback_source_stays(void **state)
{
	struct sim sim;
	struct tapir_ip lo = tapir_ip_from_v4(LO4), a = tapir_ip_from_v4(SIM_A);
	(void)state;
	sim_init(&sim, NULL, NULL);
	struct tapir_tcp *t = tapir_tcp_new(sim.st[1]);
	assert_int_equal(tapir_tcp_bind_addr(t, &lo, 0), 0);
	assert_int_equal(tapir_tcp_connect_addr(t, &a, 80, sim.now), -EINVAL);
	tapir_tcp_close(t, sim.now);
	struct tapir_udp *u = tapir_udp_new(sim.st[1]);
	assert_int_equal(tapir_udp_bind_addr(u, &lo, 0), 0);
	assert_true(tapir_udp_sendto_addr(u, "x", 1, &a, 7, sim.now) < 0);
	tapir_udp_free(u);
	sim_fini(&sim);
}

/* An IPv4 UDP frame to B from the link, SRC -> DST:7 */
static void inject_udp4(struct sim *sim, uint32_t src, uint32_t dst)
{
	uint8_t f[14 + 20 + 12] = {0};
	uint8_t *ip = sim_eth_header(f, 1, 0, TAPIR_ETH_P_IPV4);
	ip[0] = 0x45;
	tapir_put16(ip + 2, 32);
	ip[8] = 64;
	ip[9] = TAPIR_IPPROTO_UDP;
	tapir_put32(ip + 12, src);
	tapir_put32(ip + 16, dst);
	tapir_put16(ip + 10, tapir_csum(ip, 20));
	sim_udp_ping(ip + 20, 5000, 7);
	tapir_inject_rx(sim->st[1], sim->ifindex[1], f, sizeof(f), sim->now);
}

/* An IPv6 UDP frame to B from the link, SRC -> DST:7 (no checksum: the
 * address checks come first) */
static void inject_udp6(struct sim *sim, const uint8_t *src, const uint8_t *dst)
{
	uint8_t f[14 + 40 + 12] = {0};
	sim_udp_ping(sim_ip6_header(sim_eth_header(f, 1, 0, TAPIR_ETH_P_IPV6), src, dst,
				    TAPIR_IPPROTO_UDP, 12), 5000, 7);
	tapir_inject_rx(sim->st[1], sim->ifindex[1], f, sizeof(f), sim->now);
}

/* RFC 1122 3.2.1.3 (g), RFC 4291 2.5.3: from the link, a loopback source
 * or destination is a martian, dropped and counted */
static void test_martians_dropped(void **state)
{
	static const uint8_t b6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
	static const uint8_t a6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	struct sim sim;
	struct tapir_ip any = {{0}};
	const uint64_t *drop;
	uint64_t src4, dst4, src6, rx;
	(void)state;
	sim_init(&sim, NULL, NULL);
	assert_int_equal(tapir_iface_add_ipv6(sim.st[1], sim.ifindex[1], b6, 64, sim.now), 0);
	sim_advance(&sim, TAPIR_SEC(5));
	struct tapir_udp *u = tapir_udp_new(sim.st[1]);
	assert_int_equal(tapir_udp_bind_addr(u, &any, 7), 0);
	drop = tapir_stats(sim.st[1])->drop;
	src4 = drop[TAPIR_DROP_ip_bad_source];
	dst4 = drop[TAPIR_DROP_ip_not_for_us];
	src6 = drop[TAPIR_DROP_ip6_bad_source];
	rx = tapir_stats(sim.st[1])->udp_rx;
	inject_udp4(&sim, LO4, SIM_B);
	assert_int_equal(drop[TAPIR_DROP_ip_bad_source], src4 + 1);
	inject_udp4(&sim, SIM_A, LO4);
	assert_int_equal(drop[TAPIR_DROP_ip_not_for_us], dst4 + 1);
	inject_udp6(&sim, LO6, b6);
	assert_int_equal(drop[TAPIR_DROP_ip6_bad_source], src6 + 1);
	uint64_t dst6 = drop[TAPIR_DROP_ip6_not_for_us];
	inject_udp6(&sim, a6, LO6);
	assert_int_equal(drop[TAPIR_DROP_ip6_not_for_us], dst6 + 1);
	sim_advance(&sim, TAPIR_SEC(1));
	/* the control: the same frame from A to B is taken */
	inject_udp4(&sim, SIM_A, SIM_B);
	assert_int_equal(tapir_stats(sim.st[1])->udp_rx, rx + 1);
	assert_int_equal(tapir_udp_recvfrom_addr(u, (uint8_t[16]){0}, 16, &any, NULL), 4);
	assert_false(tapir_udp_events(u) & TAPIR_EV_READ);
	tapir_udp_free(u);
	sim_fini(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_any_to_127),
		cmocka_unit_test(test_tcp_127_to_127),
		cmocka_unit_test(test_tcp_to_127_0_0_9),
		cmocka_unit_test(test_tcp_v6),
		cmocka_unit_test(test_tcp_bulk_big_window),
		cmocka_unit_test(test_udp_v4),
		cmocka_unit_test(test_udp_v6),
		cmocka_unit_test(test_udp_both_bound),
		cmocka_unit_test(test_loop_queue_bounded),
		cmocka_unit_test(test_loopback_source_stays),
		cmocka_unit_test(test_martians_dropped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
