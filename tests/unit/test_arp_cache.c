/* The ARP cache (RFC 826, RFC 1122 2.3.2): resolution with a bounded
 * queue, retries and failure, aging with unicast re-checks, and a bounded
 * table. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core.h"
#include "frames.h"

#define OP_REQ 1
#define OP_REP 2

static void peer_replies(struct fx *f)
{
	uint8_t fr[64];
	fx_expect_ok(f, fr, fr_arp_frame(fr, MAC_US, OP_REP, MAC_PEER, IP_PEER, MAC_US, IP_US));
}

/* Asserts that captured frame I is a broadcast who-has IP_PEER from us. */
static void assert_request(const struct cap *c, size_t i, const uint8_t *eth_dst)
{
	const uint8_t *a = cap_arp_request(c, i, eth_dst, IP_PEER);
	/* RFC 826/5227: the target hardware address of a broadcast request is
	 * ignored; we send zero.  A unicast re-check names the target. */
	assert_memory_equal(a + 18, eth_dst == MAC_BCAST ? MAC_ZERO : eth_dst, 6);
}

/* RFC 1122 2.3.2.2: packets for an unresolved address wait for the reply
 * (one request for all of them) and then go out in order. */
static void test_resolution_queues(void **state)
{
	struct fx *f = *state;
	struct tapir_udp *u = tapir_udp_new(f->s);
	char msg[8];

	for (int i = 0; i < 3; i++) {
		snprintf(msg, sizeof(msg), "msg%d", i);
		assert_int_equal(tapir_udp_sendto(u, msg, 4, IP_PEER, 7, f->now), 4);
	}
	assert_int_equal(f->cap.n, 1);
	assert_request(&f->cap, 0, MAC_BCAST);
	assert_int_equal(fx_st(f)->arp_requests_sent, 1);
	assert_int_equal(arp_lookup(f->s, IP_PEER)->state, ARP_INCOMPLETE);

	f->now += TAPIR_MS(5);
	peer_replies(f);
	assert_int_equal(f->cap.n, 4);
	for (int i = 0; i < 3; i++) {
		const uint8_t *ip = cap_l3(&f->cap, 1 + (size_t)i, TAPIR_ETH_P_IPV4, NULL);
		assert_non_null(ip);
		assert_memory_equal(f->cap.f[1 + i].data, MAC_PEER, 6);
		snprintf(msg, sizeof(msg), "msg%d", i);
		assert_memory_equal(ip + 28, msg, 4);
	}
	assert_int_equal(fx_st(f)->arp_resolved, 1);
	assert_int_equal(arp_lookup(f->s, IP_PEER)->state, ARP_REACHABLE);
	/* resolved: the next packet goes straight out */
	assert_int_equal(tapir_udp_sendto(u, "next", 4, IP_PEER, 7, f->now), 4);
	assert_int_equal(f->cap.n, 5);
	assert_int_equal(fx_st(f)->arp_requests_sent, 1);
}

/* RFC 1122 2.3.2.2 asks to keep at least one packet; the queue is bounded
 * by cfg.arp_queue_len and drops its oldest to keep the newest. */
static void queue_2(struct tapir_config *c) { c->arp_queue_len = 2; }
static const struct fx_opts q2 = {.tune = queue_2};

static void test_queue_limit(void **state)
{
	struct fx *f = *state;
	struct tapir_udp *u = tapir_udp_new(f->s);
	const char *msgs[] = {"aaaa", "bbbb", "cccc", "dddd"};
	for (int i = 0; i < 4; i++)
		assert_int_equal(tapir_udp_sendto(u, msgs[i], 4, IP_PEER, 7, f->now), 4);
	assert_int_equal(fx_st(f)->arp_queue_dropped, 2);
	assert_int_equal(arp_lookup(f->s, IP_PEER)->queued, 2);
	cap_clear(&f->cap);
	peer_replies(f);
	assert_int_equal(cap_count_ip(&f->cap, TAPIR_IPPROTO_UDP), 2);
	assert_memory_equal(cap_l3(&f->cap, 0, TAPIR_ETH_P_IPV4, NULL) + 28, "cccc", 4);
	assert_memory_equal(cap_l3(&f->cap, 1, TAPIR_ETH_P_IPV4, NULL) + 28, "dddd", 4);
}

struct echo_log {
	int calls, error;
};
static void echo_cb(void *arg, const struct tapir_echo_reply *r)
{
	struct echo_log *l = arg;
	l->calls++;
	l->error = r->error;
}

/* A request every cfg.arp_retry_us, cfg.arp_retries in all; then the
 * waiting packets' senders learn EHOSTUNREACH (RFC 1122 2.3.2.2). */
static void test_retries_and_failure(void **state)
{
	struct fx *f = *state;
	struct tapir_udp *u = tapir_udp_new(f->s);
	struct echo_log log = {0};
	tapir_time_t t0 = f->now;

	tapir_echo_set_handler(f->s, echo_cb, &log);
	assert_int_equal(tapir_udp_connect(u, IP_PEER, 7), 0);
	assert_int_equal(tapir_udp_sendto(u, "hi", 2, 0, 0, f->now), 2);
	assert_int_equal(tapir_echo_send(f->s, IP_PEER, 1, 1, "p", 1, f->now), 0);
	assert_int_equal(fx_st(f)->arp_requests_sent, 1);
	/* the stack asks to be polled when the retry is due */
	assert_int_equal(fx_poll(f), t0 + f->cfg.arp_retry_us);

	for (unsigned i = 1; i < f->cfg.arp_retries; i++) {
		f->now = t0 + i * f->cfg.arp_retry_us - 1;
		fx_poll(f);
		assert_int_equal(fx_st(f)->arp_requests_sent, i);
		f->now++;
		fx_poll(f);
		assert_int_equal(fx_st(f)->arp_requests_sent, i + 1);
		assert_request(&f->cap, f->cap.n - 1, MAC_BCAST);
	}
	assert_int_equal(tapir_udp_error(u), 0);
	f->now = t0 + f->cfg.arp_retries * f->cfg.arp_retry_us;
	fx_poll(f);
	assert_int_equal(fx_st(f)->arp_requests_sent, f->cfg.arp_retries);
	assert_int_equal(fx_st(f)->arp_resolve_failed, 1);
	assert_int_equal(tapir_udp_error(u), EHOSTUNREACH);
	assert_int_equal(log.calls, 1);
	assert_int_equal(log.error, EHOSTUNREACH);
	assert_null(arp_lookup(f->s, IP_PEER));
	assert_int_equal(cap_count_ip(&f->cap, 0), 0);
	/* nothing left to do */
	f->now += TAPIR_SEC(100);
	assert_int_equal(fx_poll(f), TAPIR_TIME_NEVER);
	assert_int_equal(fx_st(f)->arp_requests_sent, f->cfg.arp_retries);
}

/* The same with other settings, to catch constants hiding in the code. */
static void retries_5(struct tapir_config *c)
{
	c->arp_retries = 5;
	c->arp_retry_us = TAPIR_MS(250);
}
static const struct fx_opts retry = {.tune = retries_5};

/* An entry lives cfg.arp_reachable_us after confirmation.  If idle, it is
 * then forgotten (no traffic is caused by an entry nobody uses). */
static void test_aging_idle(void **state)
{
	struct fx *f = *state;
	tapir_time_t t0 = f->now;
	fx_learn_peer(f);
	assert_int_equal(fx_poll(f), t0 + f->cfg.arp_reachable_us);
	f->now = t0 + f->cfg.arp_reachable_us - 1;
	fx_poll(f);
	assert_non_null(arp_lookup(f->s, IP_PEER));
	f->now++;
	fx_poll(f);
	assert_null(arp_lookup(f->s, IP_PEER));
	assert_int_equal(f->cap.n, 0);
}

/* RFC 1122 2.3.2.1: an entry in use is re-validated by a unicast request
 * to the known MAC, and used meanwhile; an answer renews it, silence ends
 * it after the retries. */
static void test_aging_used(void **state)
{
	struct fx *f = *state;
	struct tapir_udp *u = tapir_udp_new(f->s);
	tapir_time_t t0 = f->now;

	fx_learn_peer(f);
	assert_int_equal(tapir_udp_sendto(u, "use", 3, IP_PEER, 7, f->now), 3);
	cap_clear(&f->cap);
	f->now = t0 + f->cfg.arp_reachable_us;
	fx_poll(f);
	assert_int_equal(f->cap.n, 1);
	assert_request(&f->cap, 0, MAC_PEER);
	/* still usable while being re-checked: straight to the known MAC */
	assert_int_equal(tapir_udp_sendto(u, "more", 4, IP_PEER, 7, f->now), 4);
	assert_int_equal(f->cap.n, 2);
	assert_memory_equal(f->cap.f[1].data, MAC_PEER, 6);
	/* the answer renews it for another lifetime */
	peer_replies(f);
	assert_int_equal(arp_lookup(f->s, IP_PEER)->state, ARP_REACHABLE);
	assert_int_equal(arp_lookup(f->s, IP_PEER)->deadline, f->now + f->cfg.arp_reachable_us);

	/* used again, but this time the peer stays silent */
	assert_int_equal(tapir_udp_sendto(u, "used", 4, IP_PEER, 7, f->now), 4);
	cap_clear(&f->cap);
	t0 = f->now;
	f->now = t0 + f->cfg.arp_reachable_us;
	fx_poll(f);
	for (unsigned i = 1; i < f->cfg.arp_retries; i++) {
		f->now += f->cfg.arp_retry_us;
		fx_poll(f);
	}
	assert_int_equal(cap_count_arp(&f->cap, OP_REQ), f->cfg.arp_retries);
	for (size_t i = 0; i < f->cap.n; i++)
		assert_request(&f->cap, i, MAC_PEER);
	assert_non_null(arp_lookup(f->s, IP_PEER));
	f->now += f->cfg.arp_retry_us;
	fx_poll(f);
	assert_null(arp_lookup(f->s, IP_PEER));
	assert_int_equal(cap_count_arp(&f->cap, OP_REQ), f->cfg.arp_retries);
}

static unsigned entries(const struct fx *f)
{
	unsigned n = 0;
	for (unsigned i = 0; i < f->cfg.arp_cache_size; i++)
		n += f->s->arp[i].state != ARP_FREE;
	return n;
}

/* 10,000 hosts asking for us each earn an entry (we are their target,
 * RFC 826), but the table never grows past cfg.arp_cache_size: the least
 * recently confirmed entry is evicted, and counted. */
static void test_cache_bounded(void **state)
{
	struct fx *f = *state;
	const unsigned N = 10000;
	for (unsigned i = 0; i < N; i++) {
		uint8_t fr[64], mac[6] = {0x02, 0x10, 0, 0, (uint8_t)(i >> 8), (uint8_t)i};
		uint32_t ip = 0x0a010000u + i;
		f->now += 1;
		fx_expect_ok(f, fr, fr_arp_frame(fr, MAC_BCAST, OP_REQ, mac, ip, MAC_ZERO, IP_US));
		assert_true(entries(f) <= f->cfg.arp_cache_size);
		cap_clear(&f->cap);
	}
	assert_int_equal(entries(f), f->cfg.arp_cache_size);
	assert_int_equal(fx_st(f)->arp_evicted, N - f->cfg.arp_cache_size);
	assert_int_equal(fx_st(f)->arp_replies_sent, N);
	/* the newest survive, the oldest are gone */
	assert_non_null(arp_lookup(f->s, 0x0a010000u + N - 1));
	assert_null(arp_lookup(f->s, 0x0a010000u));
}

/* Eviction prefers resolved entries over ones still being resolved, so a
 * flood of requesters does not cancel our own resolutions. */
static void cache_4(struct tapir_config *c) { c->arp_cache_size = 4; }
static const struct fx_opts small_cache = {.tune = cache_4};

static void test_eviction_keeps_pending(void **state)
{
	struct fx *f = *state;
	struct tapir_udp *u = tapir_udp_new(f->s);
	assert_int_equal(tapir_udp_sendto(u, "wait", 4, IP_PEER, 7, f->now), 4);
	for (unsigned i = 0; i < 20; i++) {
		uint8_t fr[64], mac[6] = {0x02, 0x10, 0, 0, 0, (uint8_t)i};
		f->now += 1;
		fx_expect_ok(f, fr,
			     fr_arp_frame(fr, MAC_BCAST, OP_REQ, mac, 0x0a010000u + i, MAC_ZERO, IP_US));
	}
	assert_int_equal(entries(f), 4);
	assert_non_null(arp_lookup(f->s, IP_PEER));
	assert_int_equal(fx_st(f)->arp_queue_dropped, 0);
	cap_clear(&f->cap);
	peer_replies(f);
	assert_int_equal(cap_count_ip(&f->cap, TAPIR_IPPROTO_UDP), 1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_resolution_queues),
		FX_TEST_OPTS(test_queue_limit, &q2),
		T(test_retries_and_failure),
		FX_TEST_OPTS(test_retries_and_failure, &retry),
		T(test_aging_idle),
		T(test_aging_used),
		FX_TEST_OPTS(test_aging_used, &retry),
		T(test_cache_bounded),
		FX_TEST_OPTS(test_eviction_keeps_pending, &small_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
