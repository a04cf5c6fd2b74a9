/* IPv6 (RFC 8200) and ICMPv6 (RFC 4443): the header checks, the extension
 * header chain (options by their action bits, routing type 0 per RFC 5095,
 * the hop-by-hop position, the chain's bound), echo, the errors we send
 * (RFC 4443 2.4's rules, the rate limit) and Packet Too Big (RFC 8201). */
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

static uint8_t FR[70000];

/* An echo request from SRC to DST behind the extension headers EXT (whose
 * last next header must be 58), as a frame. */
static size_t echo_frame(const uint8_t *src, const uint8_t *dst, uint8_t nh, const uint8_t *ext,
			 size_t extlen, size_t dlen)
{
	static uint8_t pl[70000];
	uint8_t data[65536];
	pattern_fill(data, dlen, 7);
	if (extlen)
		memcpy(pl, ext, extlen);
	fr_icmp6(pl + extlen, src, dst, TAPIR_ICMP6_ECHO, 0, 0x12340001, data, dlen);
	return fr_ip6_frame(FR, NULL, src, dst, nh, 0, pl, extlen + 8 + dlen);
}

/* The last parameter problem sent: asserts its code and pointer. */
static void expect_pp(struct fx *f, uint8_t code, uint32_t ptr)
{
	const uint8_t *m, *ip = cap_last_icmp6(&f->cap, TAPIR_ICMP6_PARAM_PROBLEM, &m, NULL);
	assert_non_null(ip);
	assert_int_equal(m[1], code);
	assert_int_equal(tapir_get32(m + 4), ptr);
	assert_memory_equal(ip + 24, IP6_PEER, 16);
}

static void test_echo(void **state)
{
	struct fx *f = *state;
	const uint8_t *m, *ip;
	size_t mlen;
	fx_learn_peer6(f, IP6_PEER);
	fx_expect_ok(f, FR, echo_frame(IP6_PEER, IP6_US, 58, NULL, 0, 100));
	ip = cap_last_icmp6(&f->cap, TAPIR_ICMP6_ECHO_REPLY, &m, &mlen);
	assert_non_null(ip);
	assert_int_equal(mlen, 108);
	assert_memory_equal(ip + 8, IP6_US, 16);
	assert_memory_equal(ip + 24, IP6_PEER, 16);
	assert_memory_equal(f->cap.f[f->cap.n - 1].data, MAC_PEER, 6);
	assert_int_equal(tapir_get32(m + 4), 0x12340001);
	assert_icmp6_csum(ip, m, mlen);
	assert_int_equal(fx_st(f)->icmp6_echo_replied, 1);
}

/* RFC 4443 4.2: to a multicast request, from the link-local address */
static void test_echo_all_nodes(void **state)
{
	struct fx *f = *state;
	const uint8_t *ip;
	fx_learn_peer6(f, LL_PEER);
	fx_expect_ok(f, FR, echo_frame(LL_PEER, IP6_ALLNODES, 58, NULL, 0, 8));
	ip = cap_last_icmp6(&f->cap, TAPIR_ICMP6_ECHO_REPLY, NULL, NULL);
	assert_non_null(ip);
	assert_memory_equal(ip + 8, LL_US, 16);
	/* a group we are not in */
	fx_expect_drop(f, FR, echo_frame(LL_PEER, (uint8_t[16]){0xff, 2, [15] = 2}, 58, NULL, 0, 8),
		       ip6_not_for_us);
}

static void test_header_checks(void **state)
{
	struct fx *f = *state;
	size_t n = echo_frame(IP6_PEER, IP6_US, 58, NULL, 0, 8);
	static const uint8_t v4mapped[16] = {[10] = 0xff, [11] = 0xff, 10, 0, 0, 2};
	static const uint8_t loop[16] = {[15] = 1};
	fx_expect_drop(f, FR, 14 + 39, ip6_short);
	n = echo_frame(IP6_PEER, IP6_US, 58, NULL, 0, 8);
	FR[14] = 0x40;
	fx_expect_drop(f, FR, n, ip6_version);
	n = echo_frame(IP6_PEER, IP6_US, 58, NULL, 0, 8);
	tapir_put16(FR + 14 + 4, 17);
	fx_expect_drop(f, FR, n, ip6_length);
	fx_expect_drop(f, FR, echo_frame(IP6_ALLNODES, IP6_US, 58, NULL, 0, 8), ip6_bad_source);
	fx_expect_drop(f, FR, echo_frame(loop, IP6_US, 58, NULL, 0, 8), ip6_bad_source);
	fx_expect_drop(f, FR, echo_frame(v4mapped, IP6_US, 58, NULL, 0, 8), ip6_bad_source);
	fx_expect_drop(f, FR, echo_frame(IP6_US, IP6_US, 58, NULL, 0, 8), ip6_bad_source);
	fx_expect_drop(f, FR, echo_frame(IP6_PEER, IP6_OTHER, 58, NULL, 0, 8), ip6_not_for_us);
	/* a padded frame: the payload length rules */
	n = echo_frame(IP6_PEER, IP6_US, 58, NULL, 0, 8);
	fx_learn_peer6(f, IP6_PEER);
	fx_expect_ok(f, FR, n + 20);
	assert_int_equal(f->cap.n, 1);
}

/* RFC 4862 5.4: nothing reaches an address still in DAD */
static void test_tentative(void **state)
{
	struct fx *f = *state;
	assert_int_equal(tapir_iface_add_ipv6(f->s, f->ifi, IP6_OTHER, 64, f->now), 0);
	fx_expect_drop(f, FR, echo_frame(IP6_PEER, IP6_OTHER, 58, NULL, 0, 8), ip6_tentative);
	assert_int_equal(tapir_iface_add_ipv6(f->s, f->ifi, IP6_OTHER, 64, f->now), -EEXIST);
	assert_int_equal(tapir_iface_add_ipv6(f->s, f->ifi, IP6_ALLNODES, 64, f->now), -EINVAL);
	assert_int_equal(tapir_iface_add_ipv6(f->s, f->ifi, LL_PEER, 64, f->now), -EINVAL);
}

/* RFC 8200 4.2: Pad1, PadN, and unknown options by their two high bits */
static void test_options(void **state)
{
	struct fx *f = *state;
	uint8_t h[16] = {58, 1, 0 /* Pad1 */, 1, 2, 0, 0 /* PadN */, 0x1e, 1, 0 /* 00: skip */,
			 1, 4, 0, 0, 0, 0};
	fx_learn_peer6(f, IP6_PEER);
	fx_expect_ok(f, FR, echo_frame(IP6_PEER, IP6_US, 0, h, 16, 8));
	assert_int_equal(cap_count_icmp6(&f->cap, TAPIR_ICMP6_ECHO_REPLY), 1);
	assert_int_equal(f->s->stats.icmp6_echo_replied, 1);
	cap_clear(&f->cap);
	h[7] = 0x5e; /* 01: discard quietly */
	fx_expect_drop(f, FR, echo_frame(IP6_PEER, IP6_US, 0, h, 16, 8), ip6_option);
	assert_int_equal(f->cap.n, 0);
	h[7] = 0x9e; /* 10: discard, parameter problem code 2 at the option */
	fx_expect_drop(f, FR, echo_frame(IP6_PEER, IP6_US, 60, h, 16, 8), ip6_option);
	expect_pp(f, TAPIR_ICMP6_PARAM_OPTION, 47);
	cap_clear(&f->cap);
	/* ... even about a packet to a multicast group (RFC 4443 2.4 (e.3)) */
	fx_expect_drop(f, FR, echo_frame(IP6_PEER, IP6_ALLNODES, 60, h, 16, 8), ip6_option);
	expect_pp(f, TAPIR_ICMP6_PARAM_OPTION, 47);
	cap_clear(&f->cap);
	h[7] = 0xde; /* 11: the problem only to a unicast destination */
	fx_expect_drop(f, FR, echo_frame(IP6_PEER, IP6_ALLNODES, 60, h, 16, 8), ip6_option);
	assert_int_equal(f->cap.n, 0);
	fx_expect_drop(f, FR, echo_frame(IP6_PEER, IP6_US, 60, h, 16, 8), ip6_option);
	expect_pp(f, TAPIR_ICMP6_PARAM_OPTION, 47);
	cap_clear(&f->cap);
	/* an option running past its header */
	h[7] = 0x1e;
	h[11] = 9;
	fx_expect_drop(f, FR, echo_frame(IP6_PEER, IP6_US, 60, h, 16, 8), ip6_ext_header);
	/* a header running past the packet */
	h[1] = 200;
	fx_expect_drop(f, FR, echo_frame(IP6_PEER, IP6_US, 60, h, 16, 8), ip6_ext_header);
}

/* A jumbo payload option (RFC 2675) in a normal frame: unknown here, its
 * action bits 11 refuse it */
static void test_jumbogram(void **state)
{
	struct fx *f = *state;
	uint8_t h[8] = {58, 0, 0xc2, 4, 0, 1, 0, 0};
	fx_learn_peer6(f, IP6_PEER);
	fx_expect_drop(f, FR, echo_frame(IP6_PEER, IP6_US, 0, h, 8, 8), ip6_option);
	expect_pp(f, TAPIR_ICMP6_PARAM_OPTION, 42);
}

/* RFC 8200 4.1: hop-by-hop only first */
static void test_hbh_position(void **state)
{
	struct fx *f = *state;
	uint8_t h[16] = {0, 0, 1, 4, 0, 0, 0, 0, 58, 0, 1, 4, 0, 0, 0, 0};
	fx_learn_peer6(f, IP6_PEER);
	fx_expect_drop(f, FR, echo_frame(IP6_PEER, IP6_US, 60, h, 16, 8), ip6_hbh_position);
	expect_pp(f, TAPIR_ICMP6_PARAM_NEXTHDR, 40);
}

/* RFC 5095 3 / RFC 8200 4.4: a host routes nothing */
static void test_routing(void **state)
{
	struct fx *f = *state;
	uint8_t h[24] = {58, 2, 0 /* type 0 */, 1 /* segments left */};
	fx_learn_peer6(f, IP6_PEER);
	fx_expect_drop(f, FR, echo_frame(IP6_PEER, IP6_US, 43, h, 24, 8), ip6_routing);
	expect_pp(f, TAPIR_ICMP6_PARAM_HEADER, 42);
	cap_clear(&f->cap);
	h[2] = 4; /* another unknown type, the same */
	fx_expect_drop(f, FR, echo_frame(IP6_PEER, IP6_US, 43, h, 24, 8), ip6_routing);
	expect_pp(f, TAPIR_ICMP6_PARAM_HEADER, 42);
	cap_clear(&f->cap);
	h[3] = 0; /* no segments left: ignored, the packet goes on */
	fx_expect_ok(f, FR, echo_frame(IP6_PEER, IP6_US, 43, h, 24, 8));
	assert_int_equal(cap_count_icmp6(&f->cap, TAPIR_ICMP6_ECHO_REPLY), 1);
}

static void test_next_header(void **state)
{
	struct fx *f = *state;
	uint8_t d[8] = {253, 0, 1, 4, 0, 0, 0, 0}, body[20] = {0};
	size_t n;
	fx_learn_peer6(f, IP6_PEER);
	n = fr_ip6_frame(FR, NULL, IP6_PEER, IP6_US, 253, 0, body, 20);
	fx_expect_drop(f, FR, n, ip6_next_header);
	expect_pp(f, TAPIR_ICMP6_PARAM_NEXTHDR, 6);
	memcpy(body, d, 8);
	n = fr_ip6_frame(FR, NULL, IP6_PEER, IP6_US, 60, 0, body, 20);
	fx_expect_drop(f, FR, n, ip6_next_header);
	expect_pp(f, TAPIR_ICMP6_PARAM_NEXTHDR, 40);
	cap_clear(&f->cap);
	n = fr_ip6_frame(FR, NULL, IP6_PEER, IP6_US, 59, 0, body, 20);
	fx_expect_drop(f, FR, n, ip6_no_next);
	assert_int_equal(f->cap.n, 0);
}

/* RFC 8504 5.3: a bounded walk */
static void test_chain_bound(void **state)
{
	struct fx *f = *state;
	uint8_t h[8 * 10];
	for (int i = 0; i < 10; i++) {
		uint8_t *x = h + 8 * i;
		memset(x, 0, 8);
		x[0] = i == 9 ? 58 : 60;
		x[2] = 1;
		x[3] = 4;
	}
	fx_learn_peer6(f, IP6_PEER);
	fx_expect_drop(f, FR, echo_frame(IP6_PEER, IP6_US, 60, h, 80, 8), ip6_ext_chain);
	fx_expect_ok(f, FR, echo_frame(IP6_PEER, IP6_US, 60, h + 24, 56, 8));
}

/* RFC 4443 2.4 (e.1): never an error about an error; (f): rate limited */
static void test_error_rules(void **state)
{
	struct fx *f = *state;
	uint8_t pl[64] = {58, 0, 0x9e, 4, 0, 0, 0, 0};
	size_t n;
	fx_learn_peer6(f, IP6_PEER);
	fr_icmp6(pl + 8, IP6_PEER, IP6_US, TAPIR_ICMP6_UNREACH, 4, 0, "x", 1);
	n = fr_ip6_frame(FR, NULL, IP6_PEER, IP6_US, 60, 0, pl, 17);
	fx_expect_drop(f, FR, n, ip6_option);
	assert_int_equal(f->cap.n, 0);
	/* from the unspecified address: no one to tell */
	n = fr_ip6_frame(FR, NULL, IP6_UNSPEC, IP6_US, 253, 0, pl, 17);
	fx_expect_drop(f, FR, n, ip6_next_header);
	assert_int_equal(f->cap.n, 0);
	/* the burst of the token bucket, then nothing */
	for (unsigned i = 0; i < f->cfg.icmp_burst + 10; i++) {
		n = fr_ip6_frame(FR, NULL, IP6_PEER, IP6_US, 253, 0, pl, 17);
		fx_expect_drop(f, FR, n, ip6_next_header);
	}
	assert_int_equal(cap_count_icmp6(&f->cap, TAPIR_ICMP6_PARAM_PROBLEM), f->cfg.icmp_burst);
	assert_int_equal(fx_st(f)->icmp_rate_limited, 10);
}

/* RFC 4443 2.4 (e.4): nothing about a packet that came as a link-layer
 * multicast, but a parameter problem about an option (code 2) */
static void test_error_l2_multicast(void **state)
{
	struct fx *f = *state;
	static const uint8_t mcast_mac[6] = {0x33, 0x33, 0, 0, 0, 1};
	uint8_t h[8] = {58, 0, 0x9e, 4, 0, 0, 0, 0}, body[20] = {0};
	size_t n;
	fx_learn_peer6(f, IP6_PEER);
	n = fr_ip6_frame(FR, mcast_mac, IP6_PEER, IP6_US, 253, 0, body, 20);
	fx_expect_drop(f, FR, n, ip6_next_header);
	assert_int_equal(f->cap.n, 0);
	n = echo_frame(IP6_PEER, IP6_US, 60, h, 8, 8);
	memcpy(FR, mcast_mac, 6);
	fx_expect_drop(f, FR, n, ip6_option);
	expect_pp(f, TAPIR_ICMP6_PARAM_OPTION, 42);
}

/* The reply to a LEN-byte echo request is LEN + 8 bytes of ICMPv6: its
 * pieces on the wire. */
static void reply_pieces(struct fx *f, size_t dlen, size_t *frags, size_t *biggest)
{
	cap_clear(&f->cap);
	fx_expect_ok(f, FR, echo_frame(IP6_PEER, IP6_US, 58, NULL, 0, dlen));
	*frags = 0;
	*biggest = 0;
	for (size_t i = 0; i < f->cap.n; i++) {
		size_t len;
		const uint8_t *ip = cap_l3(&f->cap, i, TAPIR_ETH_P_IPV6, &len);
		assert_non_null(ip);
		len = 40 + tapir_get16(ip + 4);
		if (ip[6] == TAPIR_IPPROTO_FRAGMENT)
			(*frags)++;
		if (len > *biggest)
			*biggest = len;
	}
}

/* RFC 8201 4: Packet Too Big lowers the path MTU, never below 1280, never
 * up; RFC 8021: a packet that fits is never an atomic fragment */
static void test_packet_too_big(void **state)
{
	struct fx *f = *state;
	uint8_t quote[1300];
	size_t frags, big, n;
	fx_learn_peer6(f, IP6_PEER);
	reply_pieces(f, 1400, &frags, &big);
	assert_int_equal(frags, 0);
	assert_int_equal(big, 1448);
	/* a PTB quoting our packet to the peer */
	fr_ipv6(quote, IP6_US, IP6_PEER, 58, 64, NULL, 0);
	tapir_put16(quote + 4, 1400);
	n = fr_icmp6_frame(FR, IP6_PEER, IP6_US, 0, TAPIR_ICMP6_PKT_TOO_BIG, 0, 1300, quote, 48);
	fx_expect_ok(f, FR, n);
	assert_int_equal(fx_st(f)->icmp6_pmtu_updates, 1);
	assert_int_equal(ipv6_path_mtu(f->s, IP6_PEER), 1300);
	reply_pieces(f, 1400, &frags, &big);
	assert_int_equal(frags, 2);
	assert_true(big <= 1300);
	/* below the minimum: 1280, and a 1232-byte reply still goes whole */
	n = fr_icmp6_frame(FR, IP6_PEER, IP6_US, 0, TAPIR_ICMP6_PKT_TOO_BIG, 0, 600, quote, 48);
	fx_expect_ok(f, FR, n);
	assert_int_equal(ipv6_path_mtu(f->s, IP6_PEER), 1280);
	reply_pieces(f, 1232, &frags, &big);
	assert_int_equal(frags, 0);
	assert_int_equal(big, 1280);
	/* never raised by a PTB */
	n = fr_icmp6_frame(FR, IP6_PEER, IP6_US, 0, TAPIR_ICMP6_PKT_TOO_BIG, 0, 1400, quote, 48);
	fx_expect_ok(f, FR, n);
	assert_int_equal(ipv6_path_mtu(f->s, IP6_PEER), 1280);
	/* one not quoting a packet of ours */
	fr_ipv6(quote, IP6_OTHER, IP6_PEER, 58, 64, NULL, 0);
	n = fr_icmp6_frame(FR, IP6_PEER, IP6_US, 0, TAPIR_ICMP6_PKT_TOO_BIG, 0, 1280, quote, 48);
	fx_expect_drop(f, FR, n, icmp6_error_bad);
	/* RFC 8201 5.3: the estimate ages out */
	fx_advance(f, TAPIR_SEC(601));
	assert_int_equal(ipv6_path_mtu(f->s, IP6_PEER), 1500);
}

static void test_icmp6_checks(void **state)
{
	struct fx *f = *state;
	static const uint8_t zero[32];
	size_t n = fr_icmp6_frame(FR, IP6_PEER, IP6_US, 0, TAPIR_ICMP6_ECHO, 0, 0, "abcd", 4);
	FR[n - 1] ^= 1;
	fx_expect_drop(f, FR, n, icmp6_checksum);
	n = fr_icmp6_frame(FR, IP6_PEER, IP6_US, 0, TAPIR_ICMP6_ECHO, 0, 0, NULL, 0);
	fx_expect_drop(f, FR, n - 2, ip6_length);
	n = fr_ip6_frame(FR, NULL, IP6_PEER, IP6_US, 58, 0, "\x80\0\0\0", 4);
	fx_expect_drop(f, FR, n, icmp6_short);
	n = fr_icmp6_frame(FR, IP6_PEER, IP6_US, 0, 200, 0, 0, NULL, 0);
	fx_expect_drop(f, FR, n, icmp6_type);
	n = fr_icmp6_frame(FR, IP6_PEER, IP6_US, 0, TAPIR_ICMP6_ECHO_REPLY, 0, 0, NULL, 0);
	fx_expect_drop(f, FR, n, icmp6_type);
	n = fr_icmp6_frame(FR, LL_PEER, IP6_US, 255, TAPIR_ICMP6_REDIRECT, 0, 0, zero, 32);
	fx_expect_drop(f, FR, n, icmp6_type);
	assert_int_equal(f->cap.n, 0);
}

/* Our own address: through the loopback queue, never a link */
static void test_loop(void **state)
{
	struct fx *f = *state;
	struct tp_pkt *p = tp_pkt_alloc(f->s, 16);
	p->len = (uint32_t)fr_icmp6(p->data, IP6_US, IP6_US, TAPIR_ICMP6_ECHO, 0, 1, "12345678", 8);
	assert_int_equal(ipv6_output(f->s, p, IP6_US, IP6_US, 58, 0, -1, 0), 0);
	fx_poll(f);
	assert_int_equal(f->cap.n, 0);
	assert_int_equal(fx_st(f)->icmp6_echo_replied, 1);
	fx_poll(f); /* the reply, to ourselves: no one asked */
	assert_int_equal(fx_st(f)->drop[TAPIR_DROP_icmp6_type], 1);
}

static void test_parse(void **state)
{
	uint8_t a[16];
	unsigned plen;
	char buf[46];
	(void)state;
	assert_int_equal(tapir_parse_ipv6("fd00::2/64", a, &plen), 0);
	assert_memory_equal(a, IP6_PEER, 16);
	assert_int_equal(plen, 64);
	assert_int_equal(tapir_parse_ipv6("fe80::ff:fe00:1", a, NULL), 0);
	assert_memory_equal(a, LL_US, 16);
	assert_string_equal(tapir_ipv6_str(LL_US, buf), "fe80::ff:fe00:1");
	assert_int_equal(tapir_parse_ipv6("fd00::2/129", a, &plen), -1);
	assert_int_equal(tapir_parse_ipv6("fd00::2/", a, &plen), -1);
	assert_int_equal(tapir_parse_ipv6("fd00::2/64", a, NULL), -1);
	assert_int_equal(tapir_parse_ipv6("10.0.0.1", a, NULL), -1);
	assert_int_equal(tapir_parse_ipv6("fd00:::2", a, NULL), -1);
	assert_true(tapir_ipv6_prefix_eq(IP6_US, IP6_PEER, 64));
	assert_true(tapir_ipv6_prefix_eq(IP6_US, IP6_PEER, 126));
	assert_false(tapir_ipv6_prefix_eq(IP6_US, IP6_PEER, 127));
}

int main(void)
{
	return CMT_RUN(fx6_setup, fx_teardown, test_echo, test_echo_all_nodes, test_header_checks,
		       test_tentative, test_options, test_jumbogram, test_hbh_position, test_routing,
		       test_next_header, test_chain_bound, test_error_rules, test_error_l2_multicast,
		       test_packet_too_big, test_icmp6_checks, test_loop, test_parse);
}
