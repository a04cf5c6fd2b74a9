/* RFC 1191 path MTU discovery for IPv4 TCP, between two stacks in
 * simulated time.  A sends to B over a 10 ms cable; a "router" in the
 * cable drops A's IPv4 packets larger than its MTU and the test hands A
 * the fragmentation needed (ICMP 3/4, RFC 1191 4) it would send, quoting
 * the dropped packet.  Checked: the MSS follows the next-hop MTU down at
 * once, the dropped segment goes again at the new size at that instant
 * and the congestion window stays (RFC 1191 6.4); forged messages are
 * counted and change nothing (RFC 5927 4.1); MTU 0 takes a plateau (RFC
 * 1191 5); a tiny MTU stops at the floor; after 10 minutes the MSS grows
 * again (RFC 1191 6.3).  The bulk case again over IPv6: a Packet Too Big
 * (RFC 8201 4, 5.4) from a 1280-byte hop, which the same 6.4 rule follows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <tapir/wire.h>

#include "tcpsim.h"

#define DELAY TAPIR_MS(10)
#define ROUTER 0x0a0000feu /* the ICMP's source: a router between A and B */
#define QUOTES 64
#define QUOTE 60 /* an IPv6 header and 20 bytes of TCP (IPv4: 40 of them) */

static const uint8_t A6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t B6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
static const uint8_t ROUTER6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfe};

struct bench {
	struct sim sim;
	struct pair p;
	unsigned mtu; /* the router's (0: no router) */
	uint16_t next_hop; /* what its messages say */
	bool answer;  /* send a fragmentation needed per packet dropped */
	bool v6;      /* the pair talks IPv6; the router drops IPv6 packets */
	uint8_t quote[QUOTES][QUOTE];
	unsigned nq, dropped;
};

static bool router(void *arg, int to, const uint8_t *f, size_t len)
{
	struct bench *b = arg;
	const uint8_t *ip = f + 14;
	uint16_t type = b->v6 ? TAPIR_ETH_P_IPV6 : TAPIR_ETH_P_IPV4;
	if (!b->mtu || to != 1 || len < 14 + QUOTE || tapir_get16(f + 12) != type ||
	    (b->v6 ? 40u + tapir_get16(ip + 4) : tapir_get16(ip + 2)) <= b->mtu)
		return false;
	b->dropped++;
	if (b->answer && b->nq < QUOTES)
		memcpy(b->quote[b->nq++], ip, QUOTE);
	return true;
}

/* A frag-needed from the router to A saying MTU, quoting Q (an IPv4 header
 * and 20 bytes of TCP) */
static void needfrag(struct bench *b, const uint8_t *q, uint16_t mtu)
{
	uint8_t f[14 + 20 + 8 + 40] = {0};
	uint8_t *ip = sim_eth_header(f, 0, 1, TAPIR_ETH_P_IPV4), *m = ip + 20;
	ip[0] = 0x45;
	tapir_put16(ip + 2, 20 + 8 + 40);
	ip[8] = 64;
	ip[9] = TAPIR_IPPROTO_ICMP;
	tapir_put32(ip + 12, ROUTER);
	tapir_put32(ip + 16, SIM_A);
	tapir_put16(ip + 10, tapir_csum_fold(tapir_csum_add(0, ip, 20)));
	m[0] = TAPIR_ICMP_UNREACH;
	m[1] = TAPIR_ICMP_UNREACH_NEEDFRAG;
	tapir_put16(m + 6, mtu);
	memcpy(m + 8, q, 40);
	tapir_put16(m + 2, tapir_csum_fold(tapir_csum_add(0, m, 8 + 40)));
	assert_int_equal(tapir_inject_rx(b->sim.st[0], b->sim.ifindex[0], f, sizeof(f), b->sim.now), 0);
}

/* A Packet Too Big from the router to A saying MTU, quoting Q (an IPv6
 * header and 20 bytes of TCP) */
static void too_big6(struct bench *b, const uint8_t *q, uint32_t mtu)
{
	uint8_t f[14 + 40 + 8 + QUOTE] = {0};
	uint8_t *m = sim_ip6_header(sim_eth_header(f, 0, 1, TAPIR_ETH_P_IPV6), ROUTER6, A6,
				    TAPIR_IPPROTO_ICMPV6, 8 + QUOTE);
	m[0] = TAPIR_ICMP6_PKT_TOO_BIG;
	tapir_put32(m + 4, mtu);
	memcpy(m + 8, q, QUOTE);
	tapir_put16(m + 2, tapir_csum_fold(tapir_csum_add(
		tapir_csum_pseudo6(ROUTER6, A6, TAPIR_IPPROTO_ICMPV6, 8 + QUOTE), m, 8 + QUOTE)));
	assert_int_equal(tapir_inject_rx(b->sim.st[0], b->sim.ifindex[0], f, sizeof(f), b->sim.now), 0);
}

/* The router's message about a dropped packet, as the family asks */
static void too_big(struct bench *b, const uint8_t *q, uint16_t mtu)
{
	if (b->v6)
		too_big6(b, q, mtu);
	else
		needfrag(b, q, mtu);
}

/* B listens on [B6]:80, A connects to it, once both addresses passed DAD
 * (RFC 4862 5.4) */
static void pair6(struct bench *b)
{
	struct tapir_ip dst = tapir_ip_from_v6(B6);
	struct pair *p = &b->p;
	assert_int_equal(tapir_iface_add_ipv6(b->sim.st[0], b->sim.ifindex[0], A6, 64, b->sim.now), 0);
	assert_int_equal(tapir_iface_add_ipv6(b->sim.st[1], b->sim.ifindex[1], B6, 64, b->sim.now), 0);
	sim_advance(&b->sim, TAPIR_SEC(5));
	p->lis = tapir_tcp_new(b->sim.st[1]);
	assert_int_equal(tapir_tcp_bind_addr(p->lis, &dst, 80), 0);
	assert_int_equal(tapir_tcp_listen(p->lis, 8), 0);
	p->cli = tapir_tcp_new(b->sim.st[0]);
	tapir_tcp_set_event(p->cli, pair_cli_event, p);
	assert_int_equal(tapir_tcp_connect_addr(p->cli, &dst, 80, b->sim.now), 0);
	assert_true(sim_run(&b->sim, b->sim.now + TAPIR_SEC(10), sim_pair_accepted, p));
}

static void bench_open6(struct bench *b, const struct tapir_config *cfg, bool v6)
{
	struct tapir_memlink_params lp;
	memset(b, 0, sizeof(*b));
	tapir_memlink_params_default(&lp);
	lp.delay_us = DELAY;
	sim_init(&b->sim, cfg, &lp); /* NULL: no timestamps, no SACK: MSS 1460 */
	b->sim.tap_on = true;
	b->v6 = v6;
	if (v6)
		pair6(b);
	else
		assert_true(sim_pair(&b->sim, 80, &b->p, NULL, NULL));
	b->sim.drop = router;
	b->sim.drop_arg = b;
	b->next_hop = 1000;
}

static void bench_open(struct bench *b, const struct tapir_config *cfg)
{
	bench_open6(b, cfg, false);
}

static const struct tapir_stats *st_a(const struct bench *b) { return tapir_stats(b->sim.st[0]); }

static struct tapir_tcp_info info(const struct bench *b)
{
	struct tapir_tcp_info i;
	tapir_tcp_get_info(b->p.cli, &i);
	return i;
}

/* A quote of A's segment at SEQ (A to B, the pair's ports), LEN bytes of
 * data, for messages made up by the test */
static void quote_of(const struct bench *b, uint8_t q[40], uint32_t seq, uint16_t len)
{
	const struct tseg *s = tap_get(&b->sim, 1, 0);
	assert_non_null(s);
	memset(q, 0, 40);
	q[0] = 0x45;
	tapir_put16(q + 2, (uint16_t)(40 + len));
	tapir_put16(q + 6, 0x4000);
	q[8] = 64;
	q[9] = TAPIR_IPPROTO_TCP;
	tapir_put32(q + 12, SIM_A);
	tapir_put32(q + 16, SIM_B);
	tapir_put16(q + 20, s->to == 1 ? s->sport : s->dport);
	tapir_put16(q + 22, s->to == 1 ? s->dport : s->sport);
	tapir_put32(q + 24, seq);
}

/* A bulk transfer meets a hop of MTU (1000 bytes for IPv4): the first
 * message lowers the MSS to 960 and resends the dropped segment at once at
 * that size, cwnd as it was; the messages about the rest of the burst
 * resend nothing; every later segment fits, and the transfer ends without
 * a timeout. */
static void bulk_too_big(const struct tapir_config *cfg, bool v6, uint16_t mtu, uint32_t mss0,
			 uint32_t mss)
{
	static uint8_t data[100000];
	struct bench b;
	struct tapir_tcp_info i0, i;
	uint32_t lost;
	bench_open6(&b, cfg, v6);
	for (size_t k = 0; k < sizeof(data); k++)
		data[k] = (uint8_t)(k * 7);
	b.mtu = mtu;
	b.answer = true;
	i0 = info(&b);
	assert_int_equal(i0.mss, mss0);
	tap_clear(&b.sim);
	struct sim_xfer x = {&b.sim, b.p.cli, b.p.srv, data, sizeof(data), 0, 0, malloc(sizeof(data))};
	sim_xfer_step(&x); /* the initial window goes, all of it too big */
	sim_advance(&b.sim, DELAY); /* ... to the router, by B */
	assert_int_equal(b.nq, 10);
	lost = tapir_get32(b.quote[0] + (v6 ? 44 : 24));
	assert_int_equal(lost, i0.snd_nxt);
	i0 = info(&b);
	size_t before = tap_n(&b.sim, 1);
	for (unsigned k = 0; k < b.nq; k++)
		too_big(&b, b.quote[k], mtu);
	i = info(&b);
	assert_int_equal(i.mss, mss);
	assert_int_equal(i.cwnd, i0.cwnd);
	assert_int_equal(i.ssthresh, i0.ssthresh);
	/* one segment resent at that instant: the lost one, 960 bytes */
	assert_int_equal(tap_n(&b.sim, 1), before);
	sim_advance(&b.sim, DELAY);
	assert_int_equal(tap_n(&b.sim, 1), before + 1);
	const struct tseg *r = tap_get(&b.sim, 1, before);
	assert_int_equal(r->seq, lost);
	assert_int_equal(r->len, mss);
	assert_int_equal(r->t, b.sim.now);
	assert_int_equal(v6 ? st_a(&b)->icmp6_errors_rx : st_a(&b)->icmp_needfrag_ok, 10);
	assert_int_equal(v6 ? st_a(&b)->icmp6_pmtu_updates : st_a(&b)->icmp_pmtu_updates, 1);
	assert_int_equal(st_a(&b)->tcp_retransmits, 1);
	b.nq = 0;
	assert_true(sim_run(&b.sim, b.sim.now + TAPIR_SEC(60), sim_xfer_step, &x));
	assert_memory_equal(x.out, data, sizeof(data));
	free(x.out);
	for (size_t k = before; k < tap_n(&b.sim, 1); k++)
		assert_true(tap_get(&b.sim, 1, k)->len <= mss);
	assert_int_equal(b.dropped, 10); /* nothing too big after the first message */
	assert_int_equal(st_a(&b)->tcp_timeouts, 0);
	assert_true(info(&b).cwnd >= i0.cwnd);
	assert_true(info(&b).ssthresh >= i0.ssthresh); /* never a congestion signal */
	sim_fini(&b.sim);
}

static void test_bulk_needfrag(void **state)
{
	(void)state;
	bulk_too_big(NULL, false, 1000, 1460, 960);
}

/* the same with timestamps, SACK and RACK-TLP (the defaults): 12 bytes of
 * options come off each size */
static void test_bulk_needfrag_sack(void **state)
{
	struct tapir_config cfg;
	(void)state;
	tapir_config_default(&cfg);
	bulk_too_big(&cfg, false, 1000, 1448, 948);
}

/* RFC 8201 5.4 (the RFC 1191 6.4 rule): the same over IPv6 with a
 * 1280-byte hop: the MSS becomes 1280 - 60 - the 12 bytes of timestamps */
static void test_bulk_too_big6(void **state)
{
	struct tapir_config cfg;
	(void)state;
	tapir_config_default(&cfg);
	bulk_too_big(&cfg, true, 1280, 1500 - 60 - 12, 1280 - 60 - 12);
}

/* RFC 5927 4.1: a message quoting a sequence number not in flight, or
 * another connection's ports, is counted and changes nothing */
static void test_forged_ignored(void **state)
{
	static uint8_t data[20000];
	struct bench b;
	struct tapir_tcp_info i;
	uint8_t q[40];
	(void)state;
	bench_open(&b, NULL);
	assert_int_equal(tapir_tcp_send(b.p.cli, data, sizeof(data), b.sim.now), (long)sizeof(data));
	i = info(&b);
	assert_true(i.snd_nxt != i.snd_una);
	quote_of(&b, q, i.snd_nxt + 100000, 1460); /* beyond SND.NXT */
	needfrag(&b, q, 600);
	quote_of(&b, q, i.snd_una - 1, 1460);      /* below SND.UNA */
	needfrag(&b, q, 600);
	quote_of(&b, q, i.snd_una, 1460);
	tapir_put16(q + 22, 81);                   /* no such connection */
	needfrag(&b, q, 600);
	assert_int_equal(st_a(&b)->drop[TAPIR_DROP_icmp_too_big_bad], 3);
	assert_int_equal(st_a(&b)->icmp_needfrag_ok, 0);
	assert_int_equal(st_a(&b)->icmp_pmtu_updates, 0);
	assert_int_equal(info(&b).mss, 1460);
	assert_int_equal(info(&b).cwnd, i.cwnd);
	sim_fini(&b.sim);
}

/* One message about the first segment in flight, saying MTU, quoting a
 * packet of TOTAL bytes; returns the MSS after it */
static uint32_t one_message(const struct tapir_config *cfg, uint16_t mtu, uint16_t total)
{
	static uint8_t data[20000];
	struct bench b;
	uint8_t q[40];
	uint32_t mss;
	bench_open(&b, cfg);
	assert_int_equal(tapir_tcp_send(b.p.cli, data, sizeof(data), b.sim.now), (long)sizeof(data));
	quote_of(&b, q, info(&b).snd_una, (uint16_t)(total - 40));
	needfrag(&b, q, mtu);
	assert_int_equal(st_a(&b)->icmp_pmtu_updates, 1);
	mss = info(&b).mss;
	sim_fini(&b.sim);
	return mss;
}

/* RFC 1191 5: next-hop MTU 0 (an RFC 792 router): the largest plateau
 * below the quoted Total Length, 1006 for 1400; a length not below our
 * estimate (1500) may be a 4.2BSD router's, the header added, so it loses
 * 4 * IHL first: 1520 gives 1492, 1500 itself 1006; 1000 gives 508,
 * raised to the floor */
static void test_mtu_zero_plateau(void **state)
{
	(void)state;
	assert_int_equal(one_message(NULL, 0, 1400), 1006 - 40);
	assert_int_equal(one_message(NULL, 0, 1520), 1492 - 40);
	assert_int_equal(one_message(NULL, 0, 1500), 1006 - 40);
	assert_int_equal(one_message(NULL, 0, 1000), 576 - 40);
}

/* RFC 1191 8: a forged tiny MTU stops at the floor, 576 by default, or the
 * configured pmtu_min */
static void test_mtu_floor(void **state)
{
	struct tapir_config cfg;
	(void)state;
	assert_int_equal(one_message(NULL, 68, 1500), 576 - 40);
	assert_int_equal(one_message(NULL, 300, 1500), 576 - 40);
	assert_int_equal(one_message(NULL, 577, 1500), 577 - 40);
	tapir_config_default(&cfg);
	cfg.tcp_timestamps = 0;
	cfg.tcp_sack = 0;
	cfg.pmtu_min = 1280;
	assert_int_equal(one_message(&cfg, 600, 1500), 1280 - 40);
}

/* RFC 1191 6.3: the lowered path MTU ages out after 10 minutes; the next
 * segment after that is full-sized again, one sent a microsecond before
 * still is not; no resend for the increase */
static void test_aging(void **state)
{
	static uint8_t data[3000];
	struct bench b;
	uint8_t q[40];
	tapir_time_t t0;
	(void)state;
	bench_open(&b, NULL);
	assert_int_equal(tapir_tcp_send(b.p.cli, data, 1460, b.sim.now), 1460);
	quote_of(&b, q, info(&b).snd_una, 1460);
	t0 = b.sim.now;
	needfrag(&b, q, 1000);
	assert_int_equal(info(&b).mss, 960);
	sim_advance(&b.sim, TAPIR_SEC(1));
	assert_int_equal(info(&b).snd_una, info(&b).snd_nxt);
	/* a new connection to B sends by the learned path MTU but offers the
	 * first hop's MSS (RFC 1191 6.4: the option is for B's path) */
	struct pair p2;
	tap_clear(&b.sim);
	assert_true(sim_pair(&b.sim, 81, &p2, NULL, NULL));
	assert_int_equal(tap_get(&b.sim, 1, 0)->mss, 1460);
	struct tapir_tcp_info i2;
	tapir_tcp_get_info(p2.cli, &i2);
	assert_int_equal(i2.mss, 960);
	sim_run(&b.sim, t0 + TAPIR_SEC(600) - 1, NULL, NULL);
	tap_clear(&b.sim);
	assert_int_equal(tapir_tcp_send(b.p.cli, data, 1460, b.sim.now), 1460);
	assert_int_equal(info(&b).mss, 960);
	sim_advance(&b.sim, TAPIR_SEC(1));
	assert_int_equal(info(&b).snd_una, info(&b).snd_nxt);
	assert_int_equal(tap_count(&b.sim, 1, 0, 0, 1), 2); /* 960 + 500 */
	tap_clear(&b.sim);
	assert_int_equal(tapir_tcp_send(b.p.cli, data, 1460, b.sim.now), 1460);
	assert_int_equal(info(&b).mss, 1460);
	sim_advance(&b.sim, TAPIR_SEC(1));
	assert_int_equal(tap_count(&b.sim, 1, 0, 0, 1), 1);
	assert_int_equal(tap_get(&b.sim, 1, 0)->len, 1460);
	sim_fini(&b.sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bulk_needfrag),
		cmocka_unit_test(test_bulk_needfrag_sack),
		cmocka_unit_test(test_bulk_too_big6),
		cmocka_unit_test(test_forged_ignored),
		cmocka_unit_test(test_mtu_zero_plateau),
		cmocka_unit_test(test_mtu_floor),
		cmocka_unit_test(test_aging),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
