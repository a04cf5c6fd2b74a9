/* The shared headers every layer reads packets and addresses with:
 * include/tapir/addr.h (which IPv4 address is what) and the byte-order
 * helpers of include/tapir/wire.h.  The checksum has test_checksum.c; the
 * predicates at work in the core are in test_ether_arp.c and test_ipv4.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <tapir/addr.h>
#include <tapir/wire.h>

#define A(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static void test_byte_order(void **state)
{
	uint8_t b[6] = {0};
	tapir_put16(b, 0x1234);
	tapir_put32(b + 2, 0xa1b2c3d4u);
	assert_int_equal(b[0], 0x12);
	assert_int_equal(b[1], 0x34);
	assert_int_equal(b[2], 0xa1);
	assert_int_equal(b[5], 0xd4);
	assert_int_equal(tapir_get16(b), 0x1234);
	assert_int_equal(tapir_get32(b + 2), 0xa1b2c3d4u);
	/* no alignment needed: an odd offset reads the same bytes */
	assert_int_equal(tapir_get16(b + 1), 0x34a1);
}

static void test_mask(void **state)
{
	assert_int_equal(tapir_ipv4_mask(0), 0);
	assert_int_equal(tapir_ipv4_mask(8), 0xff000000u);
	assert_int_equal(tapir_ipv4_mask(24), 0xffffff00u);
	assert_int_equal(tapir_ipv4_mask(31), 0xfffffffeu);
	assert_int_equal(tapir_ipv4_mask(32), 0xffffffffu);
}

static void test_special_ranges(void **state)
{
	assert_true(tapir_ipv4_is_this_net(A(0, 0, 0, 0)));
	assert_true(tapir_ipv4_is_this_net(A(0, 1, 2, 3)));
	assert_false(tapir_ipv4_is_this_net(A(1, 0, 0, 0)));
	assert_true(tapir_ipv4_is_loopback(A(127, 0, 0, 1)));
	assert_true(tapir_ipv4_is_loopback(A(127, 255, 255, 254)));
	assert_false(tapir_ipv4_is_loopback(A(128, 0, 0, 1)));
	assert_true(tapir_ipv4_is_multicast(A(224, 0, 0, 1)));
	assert_true(tapir_ipv4_is_multicast(A(239, 255, 255, 255)));
	assert_false(tapir_ipv4_is_multicast(A(240, 0, 0, 1)));
	assert_false(tapir_ipv4_is_multicast(A(223, 255, 255, 255)));
	assert_true(tapir_ipv4_is_reserved(A(240, 0, 0, 1)));
	assert_true(tapir_ipv4_is_reserved(TAPIR_IPV4_BROADCAST));
	assert_false(tapir_ipv4_is_reserved(A(239, 0, 0, 1)));
}

static void test_directed_broadcast(void **state)
{
	uint32_t m24 = tapir_ipv4_mask(24), m31 = tapir_ipv4_mask(31), m32 = tapir_ipv4_mask(32);
	/* RFC 919/922: all host bits one, on this subnet only */
	assert_true(tapir_ipv4_is_directed_broadcast(A(10, 0, 0, 255), A(10, 0, 0, 2), m24));
	assert_false(tapir_ipv4_is_directed_broadcast(A(10, 0, 1, 255), A(10, 0, 0, 2), m24));
	assert_false(tapir_ipv4_is_directed_broadcast(A(10, 0, 0, 254), A(10, 0, 0, 2), m24));
	/* RFC 3021 2.2: a /31 has none: both its addresses are hosts */
	assert_false(tapir_ipv4_is_directed_broadcast(A(10, 0, 0, 1), A(10, 0, 0, 0), m31));
	assert_false(tapir_ipv4_is_directed_broadcast(A(10, 0, 0, 1), A(10, 0, 0, 1), m32));
}

static void test_martian_source(void **state)
{
	static const uint32_t bad[] = {A(0, 0, 0, 0), A(0, 9, 9, 9), A(127, 0, 0, 1),
				       A(224, 0, 0, 5), A(250, 1, 1, 1), TAPIR_IPV4_BROADCAST};
	static const uint32_t good[] = {A(10, 0, 0, 1), A(192, 0, 2, 7), A(223, 255, 255, 254)};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_true(tapir_ipv4_is_martian_source(bad[i]));
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_false(tapir_ipv4_is_martian_source(good[i]));
}

static void test_host_addr(void **state)
{
	/* RFC 1122 3.2.1.3: not the subnet's zero or broadcast address ... */
	assert_true(tapir_ipv4_is_host_addr(A(10, 0, 0, 2), 24));
	assert_false(tapir_ipv4_is_host_addr(A(10, 0, 0, 0), 24));
	assert_false(tapir_ipv4_is_host_addr(A(10, 0, 0, 255), 24));
	/* ... except on /31 (RFC 3021 2.1) and /32 */
	assert_true(tapir_ipv4_is_host_addr(A(10, 0, 0, 0), 31));
	assert_true(tapir_ipv4_is_host_addr(A(10, 0, 0, 1), 31));
	assert_true(tapir_ipv4_is_host_addr(A(10, 0, 0, 255), 32));
	/* never a special range, never a prefix out of 1..32 */
	assert_false(tapir_ipv4_is_host_addr(A(127, 0, 0, 1), 8));
	assert_false(tapir_ipv4_is_host_addr(A(224, 0, 0, 9), 24));
	assert_false(tapir_ipv4_is_host_addr(A(10, 0, 0, 2), 0));
	assert_false(tapir_ipv4_is_host_addr(A(10, 0, 0, 2), 33));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_byte_order),
		cmocka_unit_test(test_mask),
		cmocka_unit_test(test_special_ranges),
		cmocka_unit_test(test_directed_broadcast),
		cmocka_unit_test(test_martian_source),
		cmocka_unit_test(test_host_addr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
