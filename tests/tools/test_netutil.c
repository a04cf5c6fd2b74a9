/* Unit tests of tools/netutil.c, the helpers `tapir check` and `tapir ping`
 * share: target and port lists, numeric options, the keyed permutation,
 * the token bucket, SipHash and JSON strings.  No name is resolved here
 * (that would ask DNS): only addresses and blocks. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <tapir/addr.h>

#include "netutil.h"

/* The address S (either family), in a ring of 8 so that a few can be
 * used in one expression. */
static const struct nu_addr *ip(const char *s)
{
	static struct nu_addr ring[8];
	static unsigned k;
	struct nu_addr *a = &ring[k++ % 8];
	memset(a, 0, sizeof(*a));
	a->family = strchr(s, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(a->family, s, a->family == AF_INET ? (void *)&a->u.v4 : a->u.v6),
			 1);
	return a;
}

/* ---- hosts ---- */

struct seen {
	size_t news, olds;
};

static void count_host(void *arg, size_t idx, int is_new)
{
	struct seen *s = arg;
	(void)idx;
	if (is_new)
		s->news++;
	else
		s->olds++;
}

static void test_host_address(void **state)
{
	struct nu_hosts h = {0};
	char err[256], buf[NU_ADDRSTRLEN];
	(void)state;
	assert_int_equal(nu_hosts_add(&h, "192.0.2.7", NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(h.n, 1);
	assert_true(nu_addr_eq(&h.v[0].addr, ip("192.0.2.7")));
	assert_null(h.v[0].name);
	assert_string_equal(nu_host_str(&h.v[0], buf), "192.0.2.7");
	assert_int_equal(nu_hosts_find(&h, ip("192.0.2.7")), 0);
	assert_int_equal(nu_hosts_find(&h, ip("192.0.2.8")), -1);
	nu_hosts_free(&h);
	assert_int_equal(h.n, 0);
}

static void test_host_cidr(void **state)
{
	struct nu_hosts h = {0};
	char err[256];
	size_t i;
	(void)state;
	/* /24: network and broadcast addresses left out */
	assert_int_equal(nu_hosts_add(&h, "10.1.2.99/24", NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(h.n, 254);
	assert_int_equal(nu_hosts_find(&h, ip("10.1.2.0")), -1);
	assert_int_equal(nu_hosts_find(&h, ip("10.1.2.255")), -1);
	for (i = 1; i <= 254; i++) {
		char a[16];
		snprintf(a, sizeof(a), "10.1.2.%zu", i);
		assert_int_equal(nu_hosts_find(&h, ip(a)), (long)(i - 1));
	}
	nu_hosts_free(&h);
	/* /32: the one address; /31: both (RFC 3021) */
	assert_int_equal(nu_hosts_add(&h, "10.9.9.9/32", NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(h.n, 1);
	assert_true(nu_addr_eq(&h.v[0].addr, ip("10.9.9.9")));
	assert_int_equal(nu_hosts_add(&h, "10.8.8.8/31", NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(h.n, 3);
	assert_true(nu_hosts_find(&h, ip("10.8.8.8")) >= 0);
	assert_true(nu_hosts_find(&h, ip("10.8.8.9")) >= 0);
	nu_hosts_free(&h);
	/* /12, the largest block taken; then the list is full (NU_MAX_HOSTS) */
	assert_int_equal(nu_hosts_add(&h, "172.16.0.0/12", NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(h.n, (1u << 20) - 2);
	assert_int_equal(nu_hosts_add(&h, "10.0.0.0/29", NULL, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "more than 1048576 hosts");
	nu_hosts_free(&h);
}

static void test_host_list_dedup(void **state)
{
	struct nu_hosts h = {0};
	struct seen s = {0};
	char err[256];
	(void)state;
	assert_int_equal(nu_hosts_add(&h, "10.0.0.0/30", count_host, &s, err, sizeof(err)), 0);
	assert_int_equal(nu_hosts_add(&h, "10.0.0.2", count_host, &s, err, sizeof(err)), 0);
	assert_int_equal(nu_hosts_add(&h, "10.0.0.3", count_host, &s, err, sizeof(err)), 0);
	assert_int_equal(h.n, 3); /* .1 .2 from the block, then .3 */
	assert_int_equal(s.news, 3);
	assert_int_equal(s.olds, 1);
	assert_int_equal(nu_hosts_find(&h, ip("10.0.0.3")), 2);
	nu_hosts_free(&h);
}

/* Each of the N specs in BAD is refused with a message, and adds nothing. */
static void hosts_refused(const char *const *bad, size_t n)
{
	struct nu_hosts h = {0};
	char err[256];
	size_t i;
	for (i = 0; i < n; i++) {
		err[0] = 0;
		assert_int_equal(nu_hosts_add(&h, bad[i], NULL, NULL, err, sizeof(err)), -1);
		assert_true(err[0] != 0);
	}
	assert_int_equal(h.n, 0);
	nu_hosts_free(&h);
}

static void test_host_bad(void **state)
{
	static const char *const bad[] = {
		"", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/8",
		"0.0.0.0/0", "300.0.0.0/24", "10.0.0/24", "10.0.0.0.0/24",
		"111111111111111111111/24",
	};
	(void)state;
	hosts_refused(bad, sizeof(bad) / sizeof(bad[0]));
}

/* ---- IPv6 hosts ---- */

static void test_host_ipv6(void **state)
{
	struct nu_hosts h = {0};
	char err[256], buf[NU_ADDRSTRLEN];
	(void)state;
	/* bare and in brackets: the same host, printed canonically */
	assert_int_equal(nu_hosts_add(&h, "2001:DB8:0::1", NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(nu_hosts_add(&h, "[2001:db8::1]", NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.v[0].addr.family, AF_INET6);
	assert_string_equal(nu_host_str(&h.v[0], buf), "2001:db8::1");
	assert_int_equal(nu_hosts_find(&h, ip("2001:db8::1")), 0);
	assert_int_equal(nu_hosts_find(&h, ip("2001:db8::2")), -1);
	/* the IPv4 address with the same last bytes is another host */
	assert_int_equal(nu_hosts_add(&h, "0.0.0.1", NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(nu_hosts_find(&h, ip("0.0.0.1")), 1);
	assert_int_equal(nu_hosts_add(&h, "::1", NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(h.n, 3);
	assert_string_equal(nu_host_str(&h.v[2], buf), "::1");
	nu_hosts_free(&h);
}

static void test_host_ipv6_prefix(void **state)
{
	struct nu_hosts h = {0};
	char err[256], a[64];
	size_t i;
	(void)state;
	/* /112: 65,535 hosts, the Subnet-Router anycast address (host part 0,
	 * RFC 4291 2.6.1) left out; the prefix's host bits are ignored */
	assert_int_equal(nu_hosts_add(&h, "2001:db8::77:1234/112", NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(h.n, 65535);
	assert_int_equal(nu_hosts_find(&h, ip("2001:db8::77:0")), -1);
	assert_int_equal(nu_hosts_find(&h, ip("2001:db8::77:1")), 0);
	assert_int_equal(nu_hosts_find(&h, ip("2001:db8::77:ffff")), 65534);
	assert_int_equal(nu_hosts_find(&h, ip("2001:db8::78:1")), -1);
	for (i = 1; i < 65536; i += 997) {
		snprintf(a, sizeof(a), "2001:db8::77:%zx", i);
		assert_int_equal(nu_hosts_find(&h, ip(a)), (long)(i - 1));
	}
	nu_hosts_free(&h);
	/* in brackets, with the length inside or after them */
	assert_int_equal(nu_hosts_add(&h, "[fd00::/120]", NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(h.n, 255);
	assert_int_equal(nu_hosts_add(&h, "[fd00::100]/126", NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(h.n, 258);
	assert_true(nu_hosts_find(&h, ip("fd00::103")) >= 0);
	assert_int_equal(nu_hosts_find(&h, ip("fd00::100")), -1);
	nu_hosts_free(&h);
	/* /127 (RFC 6164): both; /128: the one */
	assert_int_equal(nu_hosts_add(&h, "fd00::4/127", NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(nu_hosts_find(&h, ip("fd00::4")), 0);
	assert_int_equal(nu_hosts_find(&h, ip("fd00::5")), 1);
	assert_int_equal(nu_hosts_add(&h, "fd00::9/128", NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(h.n, 3);
	assert_int_equal(nu_hosts_find(&h, ip("fd00::9")), 2);
	nu_hosts_free(&h);
	/* shorter than /112: refused, saying so */
	assert_int_equal(nu_hosts_add(&h, "2001:db8::/64", NULL, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "shorter than /112"));
	assert_int_equal(nu_hosts_add(&h, "[2001:db8::]/111", NULL, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/112"));
	assert_int_equal(h.n, 0);
}

static void test_host_ipv6_bad(void **state)
{
	static const char *const bad[] = {
		"2001:db8::1/129", "2001:db8::1/", "2001:db8::1/x", "[2001:db8::1", "[]",
		"[2001:db8::1]x", "[10.0.0.1]", "2001:db8:::1", "2001:db8::g", "[2001:db8::1]/",
		"1:2:3:4:5:6:7:8:9", "fe80::1", "fe80::1%eth0", "[fe80::1%1]", "fe80::/120",
	};
	(void)state;
	hosts_refused(bad, sizeof(bad) / sizeof(bad[0]));
}

/* HOST:PORTS split for `tapir check`. */
static void split_ok(const char *t, const char *host, const char *ports)
{
	char *hp = NULL, err[256];
	const char *pp = NULL;
	assert_int_equal(nu_split_target(t, &hp, &pp, err, sizeof(err)), 0);
	assert_string_equal(hp, host);
	assert_string_equal(pp, ports);
	free(hp);
}

static void test_split_target(void **state)
{
	static const char *const bad[] = {
		"10.0.0.1", ":80", "2001:db8::1:80", "[2001:db8::1]", "[2001:db8::1]80", "::1",
	};
	char *hp, err[256];
	const char *pp;
	size_t i;
	(void)state;
	split_ok("10.0.0.1:80", "10.0.0.1", "80");
	split_ok("10.0.0.0/24:1-1024", "10.0.0.0/24", "1-1024");
	split_ok("example.org:22,80", "example.org", "22,80");
	split_ok("[2001:db8::1]:80", "[2001:db8::1]", "80");
	split_ok("[2001:db8::/112]:22,80", "[2001:db8::/112]", "22,80");
	split_ok("[2001:db8::]/112:1-3", "[2001:db8::]/112", "1-3");
	split_ok("[::1]:", "[::1]", ""); /* (the empty port list is nu_parse_ports's to refuse) */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		hp = NULL;
		assert_int_equal(nu_split_target(bad[i], &hp, &pp, err, sizeof(err)), -1);
		assert_null(hp);
		assert_true(err[0] != 0);
	}
	/* an IPv6 address without brackets says how to write it */
	assert_int_equal(nu_split_target("fd00::1:80", &hp, &pp, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "[2001:db8::1]:80"));
}

/* ---- ports ---- */

static void ports_ok(const char *s, size_t n, uint16_t first, uint16_t last)
{
	uint16_t *p = NULL;
	size_t got = 0, i;
	char err[256];
	assert_int_equal(nu_parse_ports(s, &p, &got, err, sizeof(err)), 0);
	assert_int_equal(got, n);
	assert_int_equal(p[0], first);
	assert_int_equal(p[n - 1], last);
	for (i = 1; i < n; i++)
		assert_true(p[i - 1] < p[i]); /* sorted, no duplicates */
	free(p);
}

/* --forward/--outbound endpoints: "A.B.C.D:PORT" or "[V6]:PORT" (RFC 5952 6) */
static void test_endpoint(void **state)
{
	static const uint8_t v6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	static const char *const bad[] = {"::1:80", "[::1]", "[::1]:0", "[::1]:65536", "[10.0.0.1]:80",
					  "[]:80", "10.0.0.1", "10.0.0.1:", ":80", "[::1:80",
					  "::1]:80", "[fd00::1/64]:80", "[fe80::1%eth0]:80"};
	struct nu_addr a;
	struct tapir_ip t;
	uint16_t port = 0;
	(void)state;
	assert_int_equal(nu_parse_endpoint("10.0.0.1:8080", &a, &port), 0);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(a.u.v4, htonl(0x0a000001));
	assert_int_equal(port, 8080);
	t = nu_addr_ip(&a);
	assert_true(tapir_ip_is_v4(&t));
	assert_int_equal(tapir_ip_v4(&t), 0x0a000001);
	assert_int_equal(nu_parse_endpoint("[fd00::1]:65535", &a, &port), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_memory_equal(a.u.v6, v6, 16);
	assert_int_equal(port, 65535);
	t = nu_addr_ip(&a);
	assert_memory_equal(t.b, v6, 16);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(nu_parse_endpoint(bad[i], &a, &port), -1);
}

static void test_ports(void **state)
{
	uint16_t *p = NULL;
	size_t n = 0;
	char err[256];
	(void)state;
	ports_ok("80", 1, 80, 80);
	ports_ok("1-1024", 1024, 1, 1024);
	ports_ok("1-65535", 65535, 1, 65535);
	ports_ok("65535", 1, 65535, 65535);
	ports_ok("22,80,8000-8010", 13, 22, 8010);
	ports_ok("80,22,80,21-23", 4, 21, 80);
	ports_ok("5-5", 1, 5, 5);
	assert_int_equal(nu_parse_ports("8000-8010,22,80", &p, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 13);
	assert_int_equal(p[0], 22);
	assert_int_equal(p[1], 80);
	assert_int_equal(p[2], 8000);
	free(p);
}

static void test_ports_bad(void **state)
{
	static const char *const bad[] = {
		"", "0", "65536", "10-5", "1-", "-5", "80,", ",80", "80,,81", "a", "1-2-3",
		"0-10", "1-65536", " 80", "80 ", "+80", "99999999999999999999",
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint16_t *p = NULL;
		size_t n = 0;
		char err[256] = "";
		assert_int_equal(nu_parse_ports(bad[i], &p, &n, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "is not a port list"));
	}
}

/* ---- numbers and options ---- */

static void test_parse_num(void **state)
{
	(void)state;
	assert_int_equal(nu_parse_num("0", 0, 10), 0);
	assert_int_equal(nu_parse_num("10", 0, 10), 10);
	assert_int_equal(nu_parse_num("007", 0, 10), 7);
	assert_int_equal(nu_parse_num("11", 0, 10), -1);
	assert_int_equal(nu_parse_num("0", 1, 10), -1);
	assert_int_equal(nu_parse_num("-1", -5, 10), -1); /* no signs at all */
	assert_int_equal(nu_parse_num("+1", 0, 10), -1);
	assert_int_equal(nu_parse_num("", 0, 10), -1);
	assert_int_equal(nu_parse_num(NULL, 0, 10), -1);
	assert_int_equal(nu_parse_num(" 5", 0, 10), -1);
	assert_int_equal(nu_parse_num("5x", 0, 10), -1);
	assert_int_equal(nu_parse_num("99999999999999999999", 0, 10), -1); /* overflows */
	assert_int_equal(nu_parse_num("10000000", 1, 10000000), 10000000);
}

static void test_numopt(void **state)
{
	unsigned rate = 7, timeout = 7;
	const struct nu_numopt t[] = {
		{'r', "--rate", 1, 100, "a number", &rate},
		{'t', "--timeout", 1, 600000, "a number of ms", &timeout},
	};
	char err[256];
	(void)state;
	assert_int_equal(nu_numopt_set(t, 2, 'x', "5", err, sizeof(err)), 0);
	assert_int_equal(rate, 7);
	assert_int_equal(nu_numopt_set(t, 2, 'r', "100", err, sizeof(err)), 1);
	assert_int_equal(rate, 100);
	assert_int_equal(nu_numopt_set(t, 2, 't', "0", err, sizeof(err)), -1);
	assert_string_equal(err, "--timeout: '0' is not a number of ms from 1 to 600000");
	assert_int_equal(timeout, 7);
	assert_int_equal(nu_numopt_set(t, 2, 'r', "101", err, sizeof(err)), -1);
	assert_string_equal(err, "--rate: '101' is not a number from 1 to 100");
	assert_int_equal(rate, 100);
}

/* ---- keyed permutation ---- */

static void check_bijection(uint64_t n, const struct nu_key *k)
{
	struct nu_perm p;
	uint8_t *seen = calloc(n, 1);
	uint64_t i;
	assert_non_null(seen);
	nu_perm_init(&p, n, k);
	for (i = 0; i < n; i++) {
		uint64_t x = nu_perm_at(&p, i);
		assert_true(x < n);
		assert_int_equal(seen[x], 0);
		seen[x] = 1;
	}
	free(seen);
}

static void test_perm_bijection(void **state)
{
	static const uint64_t sizes[] = {1, 2, 3, 4, 5, 7, 16, 100, 1000, 1024, 4097, 65535, 100003};
	const struct nu_key k1 = {1, 2}, k2 = {0x0123456789abcdefull, 0xfedcba9876543210ull};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		check_bijection(sizes[i], &k1);
		check_bijection(sizes[i], &k2);
	}
}

static void test_perm_key(void **state)
{
	const struct nu_key k1 = {1, 2}, k2 = {1, 3};
	struct nu_perm a, b, a2;
	uint64_t i, differ = 0, moved = 0;
	(void)state;
	nu_perm_init(&a, 1000, &k1);
	nu_perm_init(&a2, 1000, &k1);
	nu_perm_init(&b, 1000, &k2);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(nu_perm_at(&a, i), nu_perm_at(&a2, i)); /* same key, same order */
		differ += nu_perm_at(&a, i) != nu_perm_at(&b, i);
		moved += nu_perm_at(&a, i) != i;
	}
	/* another key, another order; and neither is the identity */
	assert_true(differ > 900);
	assert_true(moved > 900);
}

/* ---- token bucket ---- */

static void test_bucket(void **state)
{
	struct nu_bucket b;
	(void)state;
	/* 1000/s: a token a millisecond, at most 2 (2 ms) held */
	nu_bucket_init(&b, 1000, 5000);
	assert_int_equal(nu_bucket_wait(&b, 5000), 0);
	assert_int_equal(nu_bucket_take(&b, 5000), 1);
	assert_int_equal(nu_bucket_take(&b, 5000), 0);
	assert_int_equal(nu_bucket_wait(&b, 5000), 1000001);
	assert_int_equal(nu_bucket_wait(&b, 5000 + 500000), 500001);
	assert_int_equal(nu_bucket_take(&b, 5000 + 999999), 0);
	assert_int_equal(nu_bucket_take(&b, 5000 + 1000000), 1);
	/* after a long pause only the burst is there */
	assert_int_equal(nu_bucket_take(&b, 5000000000ull), 1);
	assert_int_equal(nu_bucket_take(&b, 5000000000ull), 1);
	assert_int_equal(nu_bucket_take(&b, 5000000000ull), 0);
	assert_int_equal(nu_bucket_wait(&b, 5000000000ull), 1000001);
	/* time going backwards adds nothing */
	assert_int_equal(nu_bucket_take(&b, 1000), 0);
	/* 100/s: burst of one */
	nu_bucket_init(&b, 100, 0);
	assert_int_equal(nu_bucket_take(&b, 0), 1);
	assert_int_equal(nu_bucket_wait(&b, 0), 10000001);
	assert_int_equal(nu_bucket_take(&b, 10000000000ull), 1);
	assert_int_equal(nu_bucket_take(&b, 10000000000ull), 0);
}

/* ---- SipHash ---- */

static void test_siphash(void **state)
{
	/* SipHash-2-4's reference vector (Aumasson & Bernstein, appendix A):
	 * key 00..0f, message 00..0e */
	const struct nu_key k = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull}, k2 = {1, 2};
	uint8_t msg[15];
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	assert_true(nu_siphash(&k, msg, sizeof(msg)) == 0xa129ca6149be45e5ull);
	assert_true(nu_siphash(&k, msg, sizeof(msg)) == nu_siphash(&k, msg, sizeof(msg)));
	assert_true(nu_siphash(&k, msg, sizeof(msg)) != nu_siphash(&k2, msg, sizeof(msg)));
	assert_true(nu_siphash(&k, msg, 14) != nu_siphash(&k, msg, 15));
}

/* ---- JSON ---- */

static void json_is(const char *in, const char *want)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	assert_non_null(f);
	nu_json_str(f, in);
	fclose(f);
	assert_string_equal(out, want);
	free(out);
}

static void test_json_str(void **state)
{
	(void)state;
	json_is("", "\"\"");
	json_is("host.example", "\"host.example\"");
	json_is("a\"b\\c", "\"a\\\"b\\\\c\"");
	json_is("tab\there\nnl\x01", "\"tab\\u0009here\\u000anl\\u0001\"");
	json_is("caf\xc3\xa9", "\"caf\xc3\xa9\""); /* UTF-8 passes through */
}

/* ---- addresses in use ---- */

static void test_addr_in_use(void **state)
{
	char name[64] = "";
	(void)state;
	/* TEST-NET-3 (RFC 5737): on no interface */
	assert_int_equal(nu_addr_in_use(0xcb00714d, NULL, name, sizeof(name)), 0);
	/* loopback, where the namespace has it up: and not when its own
	 * interface is the exception */
	if (nu_addr_in_use(0x7f000001, NULL, name, sizeof(name))) {
		char other[64];
		assert_true(name[0] != 0);
		assert_int_equal(nu_addr_in_use(0x7f000001, name, other, sizeof(other)), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_address),  cmocka_unit_test(test_host_cidr),
		cmocka_unit_test(test_host_ipv6),     cmocka_unit_test(test_host_ipv6_prefix),
		cmocka_unit_test(test_host_ipv6_bad), cmocka_unit_test(test_split_target),
		cmocka_unit_test(test_host_list_dedup), cmocka_unit_test(test_host_bad),
		cmocka_unit_test(test_endpoint),
		cmocka_unit_test(test_ports),         cmocka_unit_test(test_ports_bad),
		cmocka_unit_test(test_parse_num),     cmocka_unit_test(test_numopt),
		cmocka_unit_test(test_perm_bijection), cmocka_unit_test(test_perm_key),
		cmocka_unit_test(test_bucket),        cmocka_unit_test(test_siphash),
		cmocka_unit_test(test_json_str),      cmocka_unit_test(test_addr_in_use),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
