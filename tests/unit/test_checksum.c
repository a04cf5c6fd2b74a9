/* The Internet checksum (RFC 1071) and the pseudo header (RFC 768). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core.h"
#include "frames.h"

/* RFC 1071 3 "Numerical Examples": the bytes 00 01 f2 03 f4 f5 f6 f7 sum
 * to 0x2ddf0 with deferred carries, 0xddf2 folded; the checksum is its
 * complement. */
static void test_rfc1071_example(void **state)
{
	const uint8_t d[8] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	(void)state;
	/* the running sum may be folded sooner or later; its fold is fixed */
	assert_int_equal(tapir_csum_fold(tapir_csum_add(0, d, 8)), tapir_csum_fold(0x2ddf0));
	assert_int_equal(tapir_csum_fold(0x2ddf0), (uint16_t)~0xddf2);
	assert_int_equal(tapir_csum(d, 8), 0x220d);
	/* summing in pieces gives the same (RFC 1071 2(B), deferred carries),
	 * as long as the pieces are an even number of bytes */
	assert_int_equal(tapir_csum_fold(tapir_csum_add(tapir_csum_add(0, d, 2), d + 2, 6)), 0x220d);
}

/* RFC 1071 4.1: an odd trailing byte is summed as if padded with zero. */
static void test_odd_length(void **state)
{
	const uint8_t odd[3] = {0x00, 0x01, 0xf2};
	const uint8_t padded[4] = {0x00, 0x01, 0xf2, 0x00};
	(void)state;
	assert_int_equal(tapir_csum(odd, 3), (uint16_t)~(0x0001 + 0xf200));
	assert_int_equal(tapir_csum(odd, 3), tapir_csum(padded, 4));
	/* a single byte, and no bytes at all */
	assert_int_equal(tapir_csum(odd + 2, 1), (uint16_t)~0xf200);
	assert_int_equal(tapir_csum(odd, 0), 0xffff);
}

/* Carries out of bit 15 wrap around (end-around carry), also many times
 * over: 0xffff * n sums to 0xffff. */
static void test_end_around_carry(void **state)
{
	uint8_t ff[4096];
	(void)state;
	memset(ff, 0xff, sizeof(ff));
	assert_int_equal(tapir_csum(ff, sizeof(ff)), 0x0000);
	assert_int_equal(tapir_csum_fold(0xffffffffu), 0x0000);
	assert_int_equal(tapir_csum_fold(0x0001fffeu), 0x0000);
}

/* A real IPv4 header (192.168.0.1 > 192.168.0.199, UDP, total length 115)
 * whose checksum is 0xb861; verifying a correct header gives 0
 * (RFC 791 3.1 "Header Checksum"). */
static void test_known_ipv4_header(void **state)
{
	uint8_t h[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	(void)state;
	assert_int_equal(tapir_csum(h, 20), 0);
	tapir_put16(h + 10, 0);
	assert_int_equal(tapir_csum(h, 20), 0xb861);
	/* one flipped bit anywhere is caught */
	tapir_put16(h + 10, 0xb861);
	for (int bit = 0; bit < 160; bit++) {
		h[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_not_equal(tapir_csum(h, 20), 0);
		h[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
}

/* RFC 768: the pseudo header is source, destination, zero, protocol, UDP
 * length.  tapir_csum_pseudo must sum the same as those 12 bytes written out,
 * including when every word is 0xffff (carries). */
static void test_pseudo_header(void **state)
{
	const uint32_t addrs[][2] = {{0xc0a80001u, 0xc0a800c7u},
				     {0xffffffffu, 0xffffffffu},
				     {0, 0},
				     {IP_US, IP_PEER}};
	(void)state;
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		for (unsigned len = 0; len <= 0xffff; len += 0x3fff) {
			uint8_t ph[12];
			tapir_put32(ph, addrs[i][0]);
			tapir_put32(ph + 4, addrs[i][1]);
			ph[8] = 0;
			ph[9] = TAPIR_IPPROTO_UDP;
			tapir_put16(ph + 10, (uint16_t)len);
			assert_int_equal(tapir_csum_fold(tapir_csum_pseudo(addrs[i][0], addrs[i][1],
								     TAPIR_IPPROTO_UDP, (uint16_t)len)),
					 tapir_csum(ph, 12));
		}
	}
}

/* A UDP payload of two bytes chosen so that the computed checksum is 0.
 * RFC 768: "If the computed checksum is zero, it is transmitted as all
 * ones" (0 on the wire means "no checksum"). */
static uint16_t zero_sum_payload(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport)
{
	uint8_t h[8];
	uint32_t sum;
	uint16_t folded;
	tapir_put16(h, sport);
	tapir_put16(h + 2, dport);
	tapir_put16(h + 4, 10);
	tapir_put16(h + 6, 0);
	sum = tapir_csum_add(tapir_csum_pseudo(src, dst, TAPIR_IPPROTO_UDP, 10), h, 8);
	folded = (uint16_t)~tapir_csum_fold(sum);
	return (uint16_t)(0xffff - folded); /* folded + x == 0xffff: complement 0 */
}

static void test_udp_zero_checksum_sent_as_ffff(void **state)
{
	struct fx *f = *state;
	struct tapir_udp *u = tapir_udp_new(f->s);
	uint8_t data[2];
	const uint8_t *ip;
	size_t len;

	fx_learn_peer(f);
	assert_int_equal(tapir_udp_bind(u, 0, 1000), 0);
	tapir_put16(data, zero_sum_payload(IP_US, IP_PEER, 1000, 2000));
	assert_int_equal(tapir_udp_sendto(u, data, 2, IP_PEER, 2000, f->now), 2);
	ip = cap_last_ip(&f->cap, TAPIR_IPPROTO_UDP, &len);
	assert_non_null(ip);
	assert_int_equal(tapir_get16(ip + 20 + 6), 0xffff);
	/* and 0xffff verifies: it is the other zero of one's complement */
	assert_int_equal(fr_verify_l4(ip), 0);
	tapir_udp_free(u);
}

/* The receiving side of the same rule: 0xffff in the field is accepted. */
static void test_udp_ffff_checksum_accepted(void **state)
{
	struct fx *f = *state;
	struct tapir_udp *u = tapir_udp_new(f->s);
	uint8_t data[2], fr[128], buf[8];
	size_t n;

	assert_int_equal(tapir_udp_bind(u, 0, 2000), 0);
	tapir_put16(data, zero_sum_payload(IP_PEER, IP_US, 1000, 2000));
	n = fr_udp_frame(fr, IP_PEER, IP_US, 1000, 2000, data, 2);
	assert_int_equal(tapir_get16(fr + 14 + 20 + 6), 0xffff);
	fx_expect_ok(f, fr, n);
	assert_int_equal(tapir_udp_recvfrom(u, buf, sizeof(buf), NULL, NULL), 2);
	assert_memory_equal(buf, data, 2);
	tapir_udp_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1071_example),
		cmocka_unit_test(test_odd_length),
		cmocka_unit_test(test_end_around_carry),
		cmocka_unit_test(test_known_ipv4_header),
		cmocka_unit_test(test_pseudo_header),
		cmocka_unit_test_setup_teardown(test_udp_zero_checksum_sent_as_ffff, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_udp_ffff_checksum_accepted, fx_setup,
						fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
