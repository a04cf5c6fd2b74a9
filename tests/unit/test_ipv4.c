/* IPv4 input validation (RFC 791 3.1, RFC 1122 3.2.1), through
 * tapir_stack_input: every malformed header is dropped and counted under
 * its own reason; good ones reach the transport. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core.h"
#include "frames.h"

#define PORT 7000

/* A UDP socket on PORT, so that well-formed packets have somewhere to go. */
/* the fixture with a UDP socket bound to PORT */
static const struct fx_opts bound = {.udp_port = PORT};

/* A UDP datagram from the peer to us, in FR; returns the frame length. */
static size_t good_frame(uint8_t *fr, const uint8_t *opt, size_t optlen)
{
	uint8_t udp[64];
	size_t ul = fr_udp(udp, IP_PEER, IP_US, 1234, PORT, "hello", 5);
	struct ip_spec ip = {.src = IP_PEER, .dst = IP_US, .proto = TAPIR_IPPROTO_UDP, .id = 7,
			     .opt = opt, .optlen = optlen};
	return fr_ip_frame(fr, &ip, udp, ul);
}

static struct tapir_udp *sock(struct fx *f)
{
	/* the only socket: slot 0 */
	return &f->s->udp[0];
}

static void test_good_packet(void **state)
{
	struct fx *f = *state;
	uint8_t fr[128], buf[16];
	uint32_t src;
	uint16_t sport;
	fx_expect_ok(f, fr, good_frame(fr, NULL, 0));
	assert_int_equal(tapir_udp_recvfrom(sock(f), buf, sizeof(buf), &src, &sport), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(src, IP_PEER);
	assert_int_equal(sport, 1234);
	assert_int_equal(fx_st(f)->ip_rx, 1);
}

static void test_short(void **state)
{
	struct fx *f = *state;
	uint8_t fr[128];
	good_frame(fr, NULL, 0);
	fx_expect_drop(f, fr, TAPIR_ETH_HLEN + 19, ip_short);
	fx_expect_drop(f, fr, TAPIR_ETH_HLEN, ip_short);
}

static void test_version(void **state)
{
	struct fx *f = *state;
	uint8_t fr[128];
	size_t n = good_frame(fr, NULL, 0);
	fr[TAPIR_ETH_HLEN] = 0x65; /* version 6, IHL 5, in an IPv4 ethertype */
	fx_expect_drop(f, fr, n, ip_version);
}

/* RFC 791: IHL counts 32-bit words and is at least 5. */
static void test_header_len(void **state)
{
	struct fx *f = *state;
	uint8_t fr[128];
	size_t n = good_frame(fr, NULL, 0);
	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		fr[TAPIR_ETH_HLEN] = (uint8_t)(0x40 | ihl);
		fx_expect_drop(f, fr, n, ip_header_len);
	}
	/* IHL 15 = 60 bytes, but only 40 bytes of IP follow */
	fr[TAPIR_ETH_HLEN] = 0x4f;
	fx_expect_drop(f, fr, TAPIR_ETH_HLEN + 40, ip_header_len);
}

static void test_total_len(void **state)
{
	struct fx *f = *state;
	uint8_t fr[128];
	size_t n = good_frame(fr, NULL, 0);
	uint8_t *ip = fr + TAPIR_ETH_HLEN;
	/* beyond the frame: the frame was cut short */
	tapir_put16(ip + 2, (uint16_t)(n - TAPIR_ETH_HLEN + 1));
	fr_ip_fix_csum(ip);
	fx_expect_drop(f, fr, n, ip_total_len);
	/* below the header length */
	tapir_put16(ip + 2, 19);
	fr_ip_fix_csum(ip);
	fx_expect_drop(f, fr, n, ip_total_len);
	tapir_put16(ip + 2, 0);
	fr_ip_fix_csum(ip);
	fx_expect_drop(f, fr, n, ip_total_len);
}

/* Ethernet pads frames to 60 bytes: the bytes after the IP total length
 * are the link's, not the datagram's.  An echo request with 4 data bytes
 * and 0xaa padding must be answered with exactly those 4 bytes (if the
 * padding were kept, the ICMP checksum would fail or the reply grow). */
static void test_ethernet_padding_trimmed(void **state)
{
	struct fx *f = *state;
	uint8_t fr[128], icmp[16];
	size_t il = fr_icmp(icmp, TAPIR_ICMP_ECHO, 0, 0x12340001u, "ping", 4);
	struct ip_spec ip = {.src = IP_PEER, .dst = IP_US, .proto = TAPIR_IPPROTO_ICMP};
	size_t n = fr_ip_frame(fr, &ip, icmp, il);
	const uint8_t *r;
	size_t rl;

	fx_learn_peer(f);
	assert_true(n < 60);
	memset(fr + n, 0xaa, 60 - n);
	fx_expect_ok(f, fr, 60);
	r = cap_last_ip(&f->cap, TAPIR_IPPROTO_ICMP, &rl);
	assert_non_null(r);
	assert_int_equal(tapir_get16(r + 2), 20 + 8 + 4);
	assert_memory_equal(r + 28, "ping", 4);
}

static void test_bad_checksum(void **state)
{
	struct fx *f = *state;
	uint8_t fr[128];
	size_t n = good_frame(fr, NULL, 0);
	fr[TAPIR_ETH_HLEN + 10] ^= 0x01;
	fx_expect_drop(f, fr, n, ip_checksum);
	/* a changed TTL without a new checksum */
	fr[TAPIR_ETH_HLEN + 10] ^= 0x01;
	fr[TAPIR_ETH_HLEN + 8]--;
	fx_expect_drop(f, fr, n, ip_checksum);
}

/* RFC 791 3.1 "Options": EOL (0) ends the list, NOP (1) is one byte, the
 * rest are type, length (>= 2, covering type and length), data. */
static void test_options_well_formed(void **state)
{
	struct fx *f = *state;
	const uint8_t nops[4] = {1, 1, 1, 0};
	/* record route (type 7, length 7, pointer 4, one empty slot), EOL */
	const uint8_t rr[8] = {7, 7, 4, 0, 0, 0, 0, 0};
	/* an option we do not know, well formed, then NOPs to the end */
	const uint8_t unknown[8] = {0x9e, 4, 0xab, 0xcd, 1, 1, 1, 1};
	/* EOL ends the list: what follows is not parsed */
	const uint8_t eol_first[4] = {0, 0x44, 0, 0};
	const uint8_t *opts[] = {nops, rr, unknown, eol_first};
	const size_t lens[] = {4, 8, 8, 4};
	uint8_t buf[16];
	for (size_t i = 0; i < 4; i++) {
		uint8_t fr[128];
		fx_expect_ok(f, fr, good_frame(fr, opts[i], lens[i]));
		assert_int_equal(tapir_udp_recvfrom(sock(f), buf, sizeof(buf), NULL, NULL), 5);
		assert_memory_equal(buf, "hello", 5);
	}
}

static void test_options_malformed(void **state)
{
	struct fx *f = *state;
	const uint8_t len0[4] = {0x44, 0, 0, 0};        /* length below 2 */
	const uint8_t len1[4] = {0x44, 1, 0, 0};
	const uint8_t beyond[4] = {7, 12, 4, 0};        /* longer than the header */
	const uint8_t cut[4] = {1, 1, 1, 0x83};         /* type with no length byte */
	const uint8_t second_bad[8] = {1, 0x83, 3, 4, 0x44, 9, 0, 0};
	const uint8_t *opts[] = {len0, len1, beyond, cut, second_bad};
	const size_t lens[] = {4, 4, 4, 4, 8};
	for (size_t i = 0; i < 5; i++) {
		uint8_t fr[128];
		fx_expect_drop(f, fr, good_frame(fr, opts[i], lens[i]), ip_options);
	}
	assert_int_equal(fx_st(f)->udp_rx, 0);
}

/* RFC 1122 3.2.1.3 and 3.2.1.4 (via 3.2.2): a source must be one host. */
static void test_bad_source(void **state)
{
	struct fx *f = *state;
	const uint32_t bad[] = {
		0xffffffffu, IP_BCAST,   /* limited and directed broadcast */
		0xe0000005u, 0xefffffffu, /* multicast */
		0x7f000001u,             /* loopback from the wire */
		IP_US,                   /* our own address: LAND */
		0x00000000u, 0x00000001u, /* "this network" */
		0xf0000001u,             /* class E */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t fr[128], udp[32];
		size_t ul = fr_udp(udp, bad[i], IP_US, PORT, PORT, "x", 1);
		struct ip_spec ip = {.src = bad[i], .dst = IP_US, .proto = TAPIR_IPPROTO_UDP};
		fx_expect_drop(f, fr, fr_ip_frame(fr, &ip, udp, ul), ip_bad_source);
	}
	assert_int_equal(f->cap.n, 0);
}

/* RFC 1122 3.3.4.2 weak host model: our address, the limited broadcast and
 * our subnet's broadcast are for us; anything else is not (we do not
 * forward). */
static void test_destination(void **state)
{
	struct fx *f = *state;
	const uint32_t ours[] = {IP_US, 0xffffffffu, IP_BCAST};
	const uint32_t notours[] = {IP_OTHER, IP_REMOTE, 0x0a0001ffu, 0xe0000001u};
	uint8_t fr[128], udp[32], buf[8];
	for (size_t i = 0; i < 3; i++) {
		size_t ul = fr_udp(udp, IP_PEER, ours[i], 1, PORT, "y", 1);
		struct ip_spec ip = {.src = IP_PEER, .dst = ours[i], .proto = TAPIR_IPPROTO_UDP};
		fx_expect_ok(f, fr, fr_ip_frame(fr, &ip, udp, ul));
		assert_int_equal(tapir_udp_recvfrom(sock(f), buf, sizeof(buf), NULL, NULL), 1);
	}
	for (size_t i = 0; i < 4; i++) {
		size_t ul = fr_udp(udp, IP_PEER, notours[i], 1, PORT, "y", 1);
		struct ip_spec ip = {.src = IP_PEER, .dst = notours[i], .proto = TAPIR_IPPROTO_UDP};
		fx_expect_drop(f, fr, fr_ip_frame(fr, &ip, udp, ul), ip_not_for_us);
	}
	assert_int_equal(f->cap.n, 0);
}

/* RFC 1122 3.2.2.1: a protocol we do not speak gets ICMP protocol
 * unreachable, quoting the IP header and at least 8 bytes beyond it
 * (RFC 792; RFC 1812 4.3.2.3 allows more). */
static void test_unknown_protocol(void **state)
{
	struct fx *f = *state;
	uint8_t fr[128], payload[24];
	struct ip_spec ip = {.src = IP_PEER, .dst = IP_US, .proto = 253, .id = 99};
	size_t n, rl;
	const uint8_t *r;

	fx_learn_peer(f);
	pattern_fill(payload, sizeof(payload), 1);
	n = fr_ip_frame(fr, &ip, payload, sizeof(payload));
	fx_expect_drop(f, fr, n, ip_protocol);
	assert_int_equal(f->cap.n, 1);
	r = cap_last_ip(&f->cap, TAPIR_IPPROTO_ICMP, &rl);
	assert_non_null(r);
	assert_memory_equal(f->cap.f[0].data, MAC_PEER, 6);
	assert_int_equal(tapir_csum(r, 20), 0);
	assert_int_equal(tapir_get32(r + 12), IP_US);
	assert_int_equal(tapir_get32(r + 16), IP_PEER);
	assert_int_equal(r[20], TAPIR_ICMP_UNREACH);
	assert_int_equal(r[21], TAPIR_ICMP_UNREACH_PROTO);
	assert_int_equal(fr_verify_l4(r), 0);
	assert_true(tapir_get16(r + 2) >= 20 + 8 + 20 + 8);
	assert_memory_equal(r + 28, fr + TAPIR_ETH_HLEN, tapir_get16(r + 2) - 28);
	assert_int_equal(fx_st(f)->icmp_errors_sent, 1);
}

/* ... but not when the datagram was sent to a broadcast (RFC 1122 3.2.2). */
static void test_unknown_protocol_broadcast(void **state)
{
	struct fx *f = *state;
	uint8_t fr[128];
	struct ip_spec ip = {.src = IP_PEER, .dst = IP_BCAST, .proto = 253};
	fx_learn_peer(f);
	fx_expect_drop(f, fr, fr_ip_frame(fr, &ip, "abcdefgh", 8), ip_protocol);
	assert_int_equal(f->cap.n, 0);
	assert_int_equal(fx_st(f)->icmp_errors_sent, 0);
}

int main(void)
{
#define T(fn) FX_TEST_OPTS(fn, &bound)
	const struct CMUnitTest tests[] = {
		T(test_good_packet),
		T(test_short),
		T(test_version),
		T(test_header_len),
		T(test_total_len),
		T(test_ethernet_padding_trimmed),
		T(test_bad_checksum),
		T(test_options_well_formed),
		T(test_options_malformed),
		T(test_bad_source),
		T(test_destination),
		T(test_unknown_protocol),
		T(test_unknown_protocol_broadcast),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
