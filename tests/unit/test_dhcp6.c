/* The stateless DHCPv6 client (RFC 8415 18.2.6) against a server played by
 * the test, in simulated time: nothing before a router advertisement's O
 * flag, then the Information-request (its format and checksum), its
 * retransmission (RFC 8415 15) with a fixed seed, the Reply's DNS servers
 * and search list, the refresh, and malformed or foreign replies counted
 * and dropped. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "../common/cmt.h"

#include "core.h"
#include "frames.h"

static uint8_t FR[2048];
static const uint8_t ALL_DHCP[16] = {0xff, 2, [13] = 1, [15] = 2};
static const uint8_t DNS1[16] = {0xfd, [14] = 0, [15] = 0x53};
static const uint8_t DNS2[16] = {0xfd, [15] = 0x54};
/* "example.test", "lab.example" as RFC 1035 labels */
static const uint8_t NAMES[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0,
				3, 'l', 'a', 'b', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};

static int setup(void **state)
{
	int r = fx6_setup(state);
	struct fx *f = *state;
	assert_int_equal(tapir_dhcp6_start(f->s, f->ifi, 0, f->now), 0);
	return r;
}

static struct tapir_dhcp6_info info(const struct fx *f)
{
	struct tapir_dhcp6_info i;
	assert_int_equal(tapir_dhcp6_info(f->s, &i), 0);
	return i;
}

/* A router advertisement from LL_PEER with FLAGS (M 0x80, O 0x40). */
static void ra(struct fx *f, uint8_t flags)
{
	uint8_t b[8] = {0};
	fx_expect_ok(f, FR, fr_icmp6_frame(FR, LL_PEER, IP6_ALLNODES, 255, TAPIR_ICMP6_ROUTER_ADVERT, 0,
					   64u << 24 | (uint32_t)flags << 16, b, sizeof(b)));
}

/* Captured UDP-over-IPv6 datagrams (no extension headers): how many, and
 * the last one's IPv6 header. */
static const uint8_t *last_udp6(const struct fx *f, size_t *count)
{
	const uint8_t *last = NULL;
	*count = 0;
	for (size_t i = 0; i < f->cap.n; i++) {
		const uint8_t *ip = cap_l3(&f->cap, i, TAPIR_ETH_P_IPV6, NULL);
		if (ip && ip[6] == TAPIR_IPPROTO_UDP) {
			last = ip;
			(*count)++;
		}
	}
	return last;
}

/* An option's value in the DHCPv6 message M (LEN bytes), or NULL. */
static const uint8_t *opt6(const uint8_t *m, size_t len, uint16_t code, uint16_t *olen)
{
	for (size_t i = 4; i < len;) {
		uint16_t n = tapir_get16(m + i + 2);
		assert_true(i + 4 + n <= len);
		if (tapir_get16(m + i) == code) {
			*olen = n;
			return m + i + 4;
		}
		i += 4u + n;
	}
	return NULL;
}

/* Asserts the last datagram is a well-formed Information-request from our
 * link-local address to ff02::1:2 (RFC 8415 18.2.6); its xid, elapsed time. */
static uint32_t check_request(const struct fx *f, uint16_t *elapsed)
{
	size_t n;
	const uint8_t *ip = last_udp6(f, &n), *u, *m, *v;
	uint16_t len, olen;
	uint8_t duid[10] = {0, 3, 0, 1};
	bool want[4] = {false};
	assert_non_null(ip);
	assert_memory_equal(ip + 8, LL_US, 16);
	assert_memory_equal(ip + 24, ALL_DHCP, 16);
	static const uint8_t group_mac[6] = {0x33, 0x33, 0, 1, 0, 2}; /* RFC 2464 7 */
	assert_memory_equal(ip - 14, group_mac, 6);
	u = ip + 40;
	len = tapir_get16(u + 4);
	assert_int_equal(len, tapir_get16(ip + 4));
	assert_int_equal(tapir_get16(u), 546);
	assert_int_equal(tapir_get16(u + 2), 547);
	assert_int_equal(tapir_csum_fold(tapir_csum_add(tapir_csum_pseudo6(ip + 8, ip + 24, 17, len), u,
							len)), 0);
	m = u + 8;
	len -= 8;
	assert_int_equal(m[0], 11);
	v = opt6(m, len, 1, &olen); /* DUID-LL (RFC 8415 11.4) */
	memcpy(duid + 4, MAC_US, 6);
	assert_non_null(v);
	assert_int_equal(olen, 10);
	assert_memory_equal(v, duid, 10);
	v = opt6(m, len, 8, &olen);
	assert_non_null(v);
	assert_int_equal(olen, 2);
	*elapsed = tapir_get16(v);
	v = opt6(m, len, 6, &olen);
	assert_non_null(v);
	for (uint16_t k = 0; k < olen; k += 2) {
		uint16_t c = tapir_get16(v + k);
		want[0] |= c == 23, want[1] |= c == 24, want[2] |= c == 32, want[3] |= c == 83;
	}
	assert_true(want[0] && want[1] && want[2] && want[3]);
	assert_null(opt6(m, len, 3, &olen)); /* no IA_NA: stateless */
	assert_null(opt6(m, len, 2, &olen));
	return (uint32_t)(m[1] << 16 | m[2] << 8 | m[3]);
}

/* Runs timer by timer until a new DHCPv6 datagram leaves or LIMIT
 * passes; its time (0: none). */
static tapir_time_t next_request(struct fx *f, tapir_time_t limit)
{
	size_t n0, n;
	last_udp6(f, &n0);
	for (int i = 0; i < 10000 && f->now <= limit; i++) {
		tapir_time_t next = fx_poll(f);
		last_udp6(f, &n);
		if (n > n0)
			return f->now;
		if (next == TAPIR_TIME_NEVER || next > limit)
			break;
		f->now = next > f->now ? next : f->now + 1;
	}
	last_udp6(f, &n);
	return n > n0 ? f->now : 0;
}

struct reply {
	uint8_t type;
	uint32_t xid;
	uint16_t sport;           /* 0: 547 */
	bool no_server, no_client, other_client;
	const uint8_t *extra;     /* more options, raw */
	size_t extra_len;
	bool no_info;             /* without the DNS and search options */
};

/* A Reply (or TYPE) from LL_PEER:547 to LL_US:546: server id, client id,
 * DNS1 and DNS2, NAMES, then EXTRA; the frame's length. */
static size_t reply_frame(const struct reply *r)
{
	uint8_t u[1200], *m = u + 8, *o = m + 4;
	size_t len;
	uint16_t sum;
	m[0] = r->type ? r->type : 7;
	m[1] = (uint8_t)(r->xid >> 16), m[2] = (uint8_t)(r->xid >> 8), m[3] = (uint8_t)r->xid;
	if (!r->no_server) {
		tapir_put16(o, 2), tapir_put16(o + 2, 10), tapir_put16(o + 4, 3), tapir_put16(o + 6, 1);
		memcpy(o + 8, MAC_PEER, 6);
		o += 14;
	}
	if (!r->no_client) {
		tapir_put16(o, 1), tapir_put16(o + 2, 10), tapir_put16(o + 4, 3), tapir_put16(o + 6, 1);
		memcpy(o + 8, r->other_client ? MAC_OTHER : MAC_US, 6);
		o += 14;
	}
	if (!r->no_info) {
		tapir_put16(o, 23), tapir_put16(o + 2, 32);
		memcpy(o + 4, DNS1, 16), memcpy(o + 20, DNS2, 16);
		o += 36;
		tapir_put16(o, 24), tapir_put16(o + 2, sizeof(NAMES));
		memcpy(o + 4, NAMES, sizeof(NAMES));
		o += 4 + sizeof(NAMES);
	}
	if (r->extra_len)
		memcpy(o, r->extra, r->extra_len), o += r->extra_len;
	len = (size_t)(o - u);
	tapir_put16(u, r->sport ? r->sport : 547);
	tapir_put16(u + 2, 546);
	tapir_put16(u + 4, (uint16_t)len);
	tapir_put16(u + 6, 0);
	sum = tapir_csum_fold(tapir_csum_add(tapir_csum_pseudo6(LL_PEER, LL_US, 17, (uint32_t)len), u, len));
	tapir_put16(u + 6, sum ? sum : 0xffff);
	return fr_ip6_frame(FR, NULL, LL_PEER, LL_US, TAPIR_IPPROTO_UDP, 64, u, len);
}

/* The RA, then the first Information-request; its xid. */
static uint32_t first_request(struct fx *f)
{
	tapir_time_t t0 = f->now, t;
	uint16_t el;
	size_t n;
	uint32_t xid;
	ra(f, 0x40);
	t = next_request(f, t0 + TAPIR_SEC(2));
	/* RFC 8415 18.2.6: within INF_MAX_DELAY of the advertisement */
	assert_true(t >= t0 && t <= t0 + TAPIR_SEC(1));
	xid = check_request(f, &el);
	assert_int_equal(el, 0);
	last_udp6(f, &n);
	assert_int_equal(n, 1);
	assert_int_equal(info(f).state, TAPIR_DHCP6_REQUESTING);
	return xid;
}

/* RFC 4861 4.2: without O (or M) nothing is asked */
static void test_waits_for_o_flag(void **state)
{
	struct fx *f = *state;
	size_t n;
	assert_int_equal(info(f).state, TAPIR_DHCP6_WAITING);
	ra(f, 0);
	for (int i = 0; i < 50; i++)
		fx_advance(f, TAPIR_MS(100));
	last_udp6(f, &n);
	assert_int_equal(n, 0);
	assert_int_equal(info(f).state, TAPIR_DHCP6_WAITING);
	ra(f, 0x80); /* M: O is redundant (4.2) */
	assert_int_equal(info(f).state, TAPIR_DHCP6_REQUESTING);
	assert_int_equal(tapir_dhcp6_start(f->s, f->ifi, 0, f->now), -EBUSY);
}

/* The message (18.2.6): DUID-LL, elapsed time 0, ORO; no IA */
static void test_request_format(void **state)
{
	struct fx *f = *state;
	first_request(f);
	assert_int_equal(fx_st(f)->dhcp6_tx, 1);
	assert_int_equal(info(f).requests, 1);
}

/* Retransmission times of one run from seed SEED: the gaps in GAP. */
static void run_gaps(unsigned long long seed, tapir_time_t *gap, uint16_t *el, int n)
{
	struct tapir_config cfg;
	struct fx *f;
	tapir_time_t prev;
	tapir_config_default(&cfg);
	cfg.seed = seed;
	f = fx_new_cfg(&cfg, 0);
	fx_enable_ipv6(f);
	assert_int_equal(tapir_dhcp6_start(f->s, f->ifi, TAPIR_DHCP6_NOW, f->now), 0);
	prev = next_request(f, f->now + TAPIR_SEC(2));
	assert_true(prev);
	for (int i = 0; i < n; i++) {
		tapir_time_t t = next_request(f, prev + TAPIR_SEC(5000));
		assert_true(t);
		check_request(f, &el[i]);
		gap[i] = t - prev;
		/* elapsed time: hundredths since the first (RFC 8415 21.9) */
		prev = t;
	}
	fx_free(f);
}

/* RFC 8415 15 with IRT 1 s, MRT 3600 s: each RT within 10% of 1 s, then
 * of twice the one before, then of 3600 s; the same seed, the same times */
static void test_retransmission(void **state)
{
	tapir_time_t g[16], h[16], lo, hi, total = 0;
	uint16_t el[16], el2[16];
	(void)state;
	run_gaps(7, g, el, 16);
	run_gaps(7, h, el2, 16);
	assert_memory_equal(g, h, sizeof(g));
	assert_true(g[0] >= TAPIR_MS(900) && g[0] <= TAPIR_MS(1100));
	for (int i = 1; i < 16; i++) {
		lo = 2 * g[i - 1] - g[i - 1] / 10;
		hi = 2 * g[i - 1] + g[i - 1] / 10;
		if (lo > TAPIR_SEC(3600)) /* the cap */
			lo = TAPIR_SEC(3240), hi = TAPIR_SEC(3960);
		if (g[i] < lo || g[i] > hi) {
			assert_true(g[i] >= TAPIR_SEC(3240) && g[i] <= TAPIR_SEC(3960));
			assert_true(2 * g[i - 1] + g[i - 1] / 10 > TAPIR_SEC(3600));
		}
	}
	assert_true(g[15] >= TAPIR_SEC(3240) && g[15] <= TAPIR_SEC(3960));
	for (int i = 0; i < 16; i++) {
		total += g[i];
		assert_int_equal(el[i], total / TAPIR_MS(10) > 0xffff ? 0xffff : total / TAPIR_MS(10));
	}
	run_gaps(8, h, el2, 4);
	assert_memory_not_equal(g, h, 4 * sizeof(g[0]));
}

/* The Reply: servers and names kept, the refresh time (21.23), then a new
 * exchange at that time */
static void test_reply(void **state)
{
	struct fx *f = *state;
	uint8_t refresh[8] = {0, 32, 0, 4};
	tapir_time_t t;
	uint16_t el;
	uint32_t xid = first_request(f), xid2;
	struct tapir_dhcp6_info i;
	tapir_put32(refresh + 4, 1000);
	fx_expect_ok(f, FR, reply_frame(&(struct reply){.xid = xid, .extra = refresh, .extra_len = 8}));
	i = info(f);
	assert_int_equal(i.state, TAPIR_DHCP6_DONE);
	assert_int_equal(i.ndns, 2);
	assert_memory_equal(i.dns[0], DNS1, 16);
	assert_memory_equal(i.dns[1], DNS2, 16);
	assert_int_equal(i.nsearch, 2);
	assert_string_equal(i.search[0], "example.test");
	assert_string_equal(i.search[1], "lab.example");
	assert_memory_equal(i.server, LL_PEER, 16);
	assert_int_equal(i.refresh_secs, 1000);
	assert_int_equal(i.refresh_at, f->now + TAPIR_SEC(1000));
	assert_int_equal(i.replies, 1);
	assert_int_equal(i.changes, 1);
	assert_int_equal(fx_st(f)->dhcp6_rx, 1);
	/* a second Reply (another server) is not waited for any more */
	fx_expect_drop(f, FR, reply_frame(&(struct reply){.xid = xid}), dhcp6_unexpected);
	t = next_request(f, i.refresh_at + TAPIR_SEC(2));
	assert_int_equal(t, i.refresh_at);
	xid2 = check_request(f, &el);
	assert_int_equal(el, 0);
	assert_int_not_equal(xid2, xid);
	/* the same again: a reply, but no change; no option: IRT_DEFAULT */
	fx_expect_ok(f, FR, reply_frame(&(struct reply){.xid = xid2}));
	i = info(f);
	assert_int_equal(i.replies, 2);
	assert_int_equal(i.changes, 1);
	assert_int_equal(i.refresh_secs, 86400);
}

/* Bounds: 3 servers, 6 names; a refresh time below IRT_MINIMUM raised to
 * it; INF_MAX_RT out of 60..86400 ignored, within taken */
static void test_reply_bounds(void **state)
{
	struct fx *f = *state;
	uint8_t x[4 + 5 * 16 + 4 + 10 * 3 + 8 + 8], *o = x;
	uint32_t xid = first_request(f);
	struct tapir_dhcp6_info i;
	tapir_put16(o, 23), tapir_put16(o + 2, 5 * 16);
	for (int k = 0; k < 5; k++)
		memcpy(o + 4 + 16 * k, (uint8_t[16]){0xfd, [15] = (uint8_t)(k + 1)}, 16);
	o += 4 + 5 * 16;
	tapir_put16(o, 24), tapir_put16(o + 2, 10 * 3);
	for (int k = 0; k < 10; k++)
		memcpy(o + 4 + 3 * k, (uint8_t[3]){1, (uint8_t)('a' + k), 0}, 3);
	o += 4 + 10 * 3;
	tapir_put16(o, 32), tapir_put16(o + 2, 4), tapir_put32(o + 4, 5);
	tapir_put16(o + 8, 83), tapir_put16(o + 10, 4), tapir_put32(o + 12, 30);
	fx_expect_ok(f, FR, reply_frame(&(struct reply){.xid = xid, .no_info = true, .extra = x,
							.extra_len = sizeof(x)}));
	i = info(f);
	assert_int_equal(i.ndns, 3);
	assert_int_equal(i.dns[2][15], 3);
	assert_int_equal(i.nsearch, 6);
	assert_string_equal(i.search[5], "f");
	assert_int_equal(i.refresh_secs, 600);
	assert_int_equal(i.inf_max_rt, 3600);
	tapir_put32(o + 12, 120);
	fx_advance(f, TAPIR_SEC(600));
	xid = check_request(f, &(uint16_t){0});
	fx_expect_ok(f, FR, reply_frame(&(struct reply){.xid = xid, .no_info = true, .extra = x,
							.extra_len = sizeof(x)}));
	assert_int_equal(info(f).inf_max_rt, 120);
}

/* RFC 8415 16.10, 21: what is not a well-formed Reply to us is counted
 * and dropped, and the exchange goes on */
static void test_malformed(void **state)
{
	struct fx *f = *state;
	uint32_t xid = first_request(f);
	static const uint8_t past_end[] = {0, 23, 0, 40, 0};
	static const uint8_t dns15[] = {0, 23, 0, 15, [18] = 0};
	static const uint8_t pointer[] = {0, 24, 0, 4, 1, 'a', 0xc0, 0};
	static const uint8_t no_root[] = {0, 24, 0, 2, 1, 'a'};
	static const uint8_t long_label[] = {0, 24, 0, 3, 64, 'a', 0};
	static const uint8_t refresh3[] = {0, 32, 0, 3, 0, 0, 1};
	static const uint8_t status1[] = {0, 13, 0, 2, 0, 1};
	static const uint8_t short_server[] = {0, 2, 0, 2, 0, 3};
	static const struct {
		const uint8_t *x;
		size_t n;
	} bad[] = {{past_end, sizeof(past_end)}, {dns15, sizeof(dns15)}, {pointer, sizeof(pointer)},
		   {no_root, sizeof(no_root)}, {long_label, sizeof(long_label)},
		   {refresh3, sizeof(refresh3)}, {short_server, sizeof(short_server)}};
	uint8_t u[64];
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		fx_expect_drop(f, FR, reply_frame(&(struct reply){.xid = xid, .extra = bad[k].x,
								  .extra_len = bad[k].n}),
			       dhcp6_malformed);
	fx_expect_drop(f, FR, reply_frame(&(struct reply){.xid = xid, .no_server = true}), dhcp6_malformed);
	fx_expect_drop(f, FR, reply_frame(&(struct reply){.xid = xid, .no_client = true}), dhcp6_malformed);
	fx_expect_drop(f, FR, reply_frame(&(struct reply){.xid = xid ^ 1}), dhcp6_unexpected);
	fx_expect_drop(f, FR, reply_frame(&(struct reply){.xid = xid, .other_client = true}),
		       dhcp6_unexpected);
	fx_expect_drop(f, FR, reply_frame(&(struct reply){.xid = xid, .type = 2}), dhcp6_unexpected);
	fx_expect_drop(f, FR, reply_frame(&(struct reply){.xid = xid, .sport = 548}), dhcp6_unexpected);
	fx_expect_drop(f, FR, reply_frame(&(struct reply){.xid = xid, .extra = status1, .extra_len = 6}),
		       dhcp6_status);
	/* three bytes: shorter than the header */
	memset(u, 0, sizeof(u));
	tapir_put16(u, 547), tapir_put16(u + 2, 546), tapir_put16(u + 4, 11);
	u[8] = 7;
	tapir_put16(u + 6, tapir_csum_fold(tapir_csum_add(tapir_csum_pseudo6(LL_PEER, LL_US, 17, 11), u, 11)));
	fx_expect_drop(f, FR, fr_ip6_frame(FR, NULL, LL_PEER, LL_US, 17, 64, u, 11), dhcp6_malformed);
	/* random bytes after a valid header: never taken, never a crash */
	for (int k = 0; k < 300; k++) {
		uint8_t x[80];
		size_t n = (size_t)(k % 80);
		size_t before = fx_st(f)->rx_delivered;
		for (size_t j = 0; j < n; j++)
			x[j] = pattern_byte((uint32_t)k, j);
		fx_input(f, FR, reply_frame(&(struct reply){.xid = xid, .no_client = k & 1, .extra = x,
							    .extra_len = n}));
		if (fx_st(f)->rx_delivered > before) /* a valid one: start again */
			break;
	}
	assert_int_equal(info(f).replies <= 1, true);
	if (info(f).state == TAPIR_DHCP6_REQUESTING) {
		fx_expect_ok(f, FR, reply_frame(&(struct reply){.xid = xid}));
		assert_int_equal(info(f).state, TAPIR_DHCP6_DONE);
	}
	assert_int_equal(info(f).ndns, 2);
}

/* Asked at once on a fresh interface: not before the link-local address
 * passed DAD (RFC 4862 5.4), then from it */
static void test_now_after_dad(void **state)
{
	struct fx *f = fx_new();
	tapir_time_t t;
	uint16_t el;
	(void)state;
	assert_int_equal(tapir_dhcp6_start(f->s, f->ifi, 0, f->now), -EINVAL); /* no IPv6 */
	assert_int_equal(tapir_iface_enable_ipv6(f->s, f->ifi, f->now), 0);
	assert_int_equal(tapir_dhcp6_start(f->s, f->ifi, TAPIR_DHCP6_NOW, f->now), 0);
	t = next_request(f, f->now + TAPIR_SEC(5));
	assert_true(t);
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 0, NULL, NULL), TAPIR_ADDR6_PREFERRED);
	check_request(f, &el);
	tapir_dhcp6_stop(f->s);
	assert_int_equal(info(f).state, TAPIR_DHCP6_OFF);
	assert_int_equal(next_request(f, f->now + TAPIR_SEC(10)), 0);
	fx_free(f);
}

int main(void)
{
	return CMT_RUN(setup, fx_teardown, test_waits_for_o_flag, test_request_format, test_retransmission,
		       test_reply, test_reply_bounds, test_malformed, test_now_after_dad);
}
