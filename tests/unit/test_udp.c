/* UDP (RFC 768, RFC 1122 4.1): header checks, checksum, closed ports,
 * receive buffers, demultiplexing and port allocation. */
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

static struct tapir_udp *bound(struct fx *f, uint32_t addr, uint16_t port)
{
	struct tapir_udp *u = tapir_udp_new(f->s);
	assert_non_null(u);
	assert_int_equal(tapir_udp_bind(u, addr, port), 0);
	return u;
}

/* A frame whose IP payload is the UDP message M (ML bytes), from the peer. */
static size_t raw_frame(uint8_t *fr, uint32_t dst, const uint8_t *m, size_t ml)
{
	struct ip_spec ip = {.src = IP_PEER, .dst = dst, .proto = TAPIR_IPPROTO_UDP, .id = 5};
	return fr_ip_frame(fr, &ip, m, ml);
}

static void test_short(void **state)
{
	struct fx *f = *state;
	uint8_t fr[128], m[16];
	bound(f, 0, PORT);
	fr_udp(m, IP_PEER, IP_US, 1, PORT, NULL, 0);
	fx_expect_drop(f, fr, raw_frame(fr, IP_US, m, 7), udp_short);
	fx_expect_drop(f, fr, raw_frame(fr, IP_US, m, 0), udp_short);
}

/* The UDP length must fit the IP payload (RFC 768).  A length shorter than
 * the IP payload is accepted with the surplus ignored, as BSD and Linux
 * do; a length below the 8-byte header, or beyond the payload, is not. */
static void test_length_field(void **state)
{
	struct fx *f = *state;
	struct tapir_udp *u = bound(f, 0, PORT);
	uint8_t fr[128], m[64], buf[64];
	size_t ml = fr_udp(m, IP_PEER, IP_US, 1, PORT, "abcdef", 6);

	tapir_put16(m + 4, (uint16_t)(ml + 1));
	fx_expect_drop(f, fr, raw_frame(fr, IP_US, m, ml), udp_length);
	tapir_put16(m + 4, 7);
	fx_expect_drop(f, fr, raw_frame(fr, IP_US, m, ml), udp_length);
	tapir_put16(m + 4, 0);
	fx_expect_drop(f, fr, raw_frame(fr, IP_US, m, ml), udp_length);

	/* 4 data bytes by the UDP length, 6 in the IP payload */
	ml = fr_udp(m, IP_PEER, IP_US, 1, PORT, "abcd", 4);
	memcpy(m + ml, "XY", 2);
	fx_expect_ok(f, fr, raw_frame(fr, IP_US, m, ml + 2));
	assert_int_equal(tapir_udp_recvfrom(u, buf, sizeof(buf), NULL, NULL), 4);
	assert_memory_equal(buf, "abcd", 4);
}

static void test_bad_checksum(void **state)
{
	struct fx *f = *state;
	struct tapir_udp *u = bound(f, 0, PORT);
	uint8_t fr[128], m[64], buf[8];
	size_t ml = fr_udp(m, IP_PEER, IP_US, 1, PORT, "abcdef", 6);
	m[ml - 1] ^= 0x10;
	fx_expect_drop(f, fr, raw_frame(fr, IP_US, m, ml), udp_checksum);
	/* the pseudo header counts: the same datagram "from" another source */
	m[ml - 1] ^= 0x10;
	{
		struct ip_spec ip = {.src = IP_OTHER, .dst = IP_US, .proto = TAPIR_IPPROTO_UDP};
		fx_expect_drop(f, fr, fr_ip_frame(fr, &ip, m, ml), udp_checksum);
	}
	assert_int_equal(tapir_udp_recvfrom(u, buf, sizeof(buf), NULL, NULL), -EAGAIN);
	assert_int_equal(f->cap.n, 0); /* no ICMP about corrupt datagrams */
}

/* RFC 768: "An all zero transmitted checksum value means that the
 * transmitter generated no checksum": accepted unverified. */
static void test_zero_checksum_accepted(void **state)
{
	struct fx *f = *state;
	struct tapir_udp *u = bound(f, 0, PORT);
	uint8_t fr[128], m[64], buf[8];
	size_t ml = fr_udp(m, IP_PEER, IP_US, 1, PORT, "abcdef", 6);
	tapir_put16(m + 6, 0);
	fx_expect_ok(f, fr, raw_frame(fr, IP_US, m, ml));
	assert_int_equal(tapir_udp_recvfrom(u, buf, sizeof(buf), NULL, NULL), 6);
	assert_memory_equal(buf, "abcdef", 6);
}

/* LEN bytes of pattern SEED (in DATA) from the peer to closed port 2222,
 * in the frame FR: dropped as udp_no_port.  Returns the last ICMP packet
 * sent (NULL if none). */
static const uint8_t *to_closed_port(struct fx *f, uint8_t *fr, uint8_t *data, size_t len,
				     uint32_t seed)
{
	size_t rl;
	fx_learn_peer(f);
	pattern_fill(data, len, seed);
	fx_expect_drop(f, fr, fr_udp_frame(fr, IP_PEER, IP_US, 1111, 2222, data, len), udp_no_port);
	return cap_last_ip(&f->cap, TAPIR_IPPROTO_ICMP, &rl);
}

/* RFC 1122 4.1.3.1: a datagram to a closed port gets ICMP port
 * unreachable, quoting the IP header and the start of the datagram. */
static void test_closed_port(void **state)
{
	struct fx *f = *state;
	uint8_t fr[256], data[100];
	const uint8_t *r;
	size_t rl;

	to_closed_port(f, fr, data, sizeof(data), 3);
	assert_int_equal(fx_st(f)->udp_no_socket, 1);
	assert_int_equal(f->cap.n, 1);
	r = cap_l3(&f->cap, 0, TAPIR_ETH_P_IPV4, &rl);
	assert_non_null(r);
	assert_int_equal(r[9], TAPIR_IPPROTO_ICMP);
	assert_int_equal(tapir_get32(r + 12), IP_US);
	assert_int_equal(tapir_get32(r + 16), IP_PEER);
	assert_int_equal(tapir_csum(r, 20), 0);
	assert_int_equal(r[20], TAPIR_ICMP_UNREACH);
	assert_int_equal(r[21], TAPIR_ICMP_UNREACH_PORT);
	assert_int_equal(fr_verify_l4(r), 0);
	/* the whole (small) datagram is quoted, header first (RFC 1812 4.3.2.3) */
	assert_int_equal(tapir_get16(r + 2), 20 + 8 + 20 + 8 + sizeof(data));
	assert_memory_equal(r + 28, fr + TAPIR_ETH_HLEN, 20 + 8 + sizeof(data));
}

/* ... and a long datagram is quoted only so far that the error stays
 * within 576 bytes (RFC 1812 4.3.2.3). */
static void test_closed_port_long_quote(void **state)
{
	struct fx *f = *state;
	uint8_t fr[1600], data[1400];
	const uint8_t *r = to_closed_port(f, fr, data, sizeof(data), 4);

	assert_non_null(r);
	assert_int_equal(tapir_get16(r + 2), 576);
	assert_memory_equal(r + 28, fr + TAPIR_ETH_HLEN, 576 - 28);
	assert_int_equal(fr_verify_l4(r), 0);
}

static void test_closed_port_broadcast(void **state)
{
	struct fx *f = *state;
	uint8_t fr[128];
	fx_learn_peer(f);
	fx_expect_drop(f, fr, fr_udp_frame(fr, IP_PEER, IP_BCAST, 1, 2222, "b", 1), udp_no_port);
	fx_expect_drop(f, fr, fr_udp_frame(fr, IP_PEER, 0xffffffffu, 1, 2222, "b", 1),
		       udp_no_port);
	assert_int_equal(f->cap.n, 0);
	assert_int_equal(fx_st(f)->icmp_errors_sent, 0);
}

/* RFC 1122 3.2.2: no ICMP error about a datagram that came as a link-layer
 * broadcast, even when its IP destination is our unicast address. */
static void test_closed_port_link_broadcast(void **state)
{
	struct fx *f = *state;
	uint8_t fr[128];
	size_t n;
	fx_learn_peer(f);
	n = fr_udp_frame(fr, IP_PEER, IP_US, 1, 2222, "b", 1);
	memset(fr, 0xff, 6);
	fx_expect_drop(f, fr, n, udp_no_port);
	assert_int_equal(fx_st(f)->icmp_errors_sent, 0);
	/* the flag is per frame: the next unicast one is answered */
	n = fr_udp_frame(fr, IP_PEER, IP_US, 1, 2222, "b", 1);
	fx_expect_drop(f, fr, n, udp_no_port);
	assert_int_equal(fx_st(f)->icmp_errors_sent, 1);
}

/* The receive buffer bounds the queued payload bytes; what does not fit is
 * dropped and counted, and room comes back as the application reads. */
static void test_rcvbuf_full(void **state)
{
	struct fx *f = *state;
	struct tapir_udp *u = bound(f, 0, PORT);
	uint8_t fr[256], data[60], buf[64];
	size_t n;

	tapir_udp_set_rcvbuf(u, 100);
	pattern_fill(data, sizeof(data), 5);
	n = fr_udp_frame(fr, IP_PEER, IP_US, 1, PORT, data, sizeof(data));
	fx_expect_ok(f, fr, n);
	fx_expect_drop(f, fr, n, udp_rcvbuf);
	/* 40 more bytes still fit (60 + 40 = 100) */
	fx_expect_ok(f, fr, fr_udp_frame(fr, IP_PEER, IP_US, 1, PORT, data, 40));
	fx_expect_drop(f, fr, fr_udp_frame(fr, IP_PEER, IP_US, 1, PORT, data, 1), udp_rcvbuf);
	assert_int_equal(tapir_udp_recvfrom(u, buf, sizeof(buf), NULL, NULL), 60);
	assert_memory_equal(buf, data, 60);
	fx_expect_ok(f, fr, fr_udp_frame(fr, IP_PEER, IP_US, 1, PORT, data, 60));
	assert_int_equal(tapir_udp_recvfrom(u, buf, sizeof(buf), NULL, NULL), 40);
	assert_int_equal(tapir_udp_recvfrom(u, buf, sizeof(buf), NULL, NULL), 60);
	assert_int_equal(tapir_udp_recvfrom(u, buf, sizeof(buf), NULL, NULL), -EAGAIN);
	assert_int_equal(f->cap.n, 0); /* a full buffer is not a closed port */
}

/* A short buffer gets the start of the datagram; the return value is the
 * datagram's full length (as MSG_TRUNC reports it). */
static void test_recv_truncates(void **state)
{
	struct fx *f = *state;
	struct tapir_udp *u = bound(f, 0, PORT);
	uint8_t fr[128], buf[4] = {0};
	fx_expect_ok(f, fr, fr_udp_frame(fr, IP_PEER, IP_US, 1, PORT, "0123456789", 10));
	assert_int_equal(tapir_udp_recvfrom(u, buf, 3, NULL, NULL), 10);
	assert_memory_equal(buf, "012\0", 4);
}

/* Demultiplexing, as BSD does it: the most specific socket wins:
 * connected (local and remote fixed) > bound to the address > wildcard.
 * The public API cannot yet create overlapping bindings (there is no
 * SO_REUSEADDR), so the sockets are set up by hand the way such a bind
 * would leave them. */
static struct tapir_udp *raw_sock(struct fx *f, uint32_t laddr, uint32_t raddr, uint16_t rport)
{
	struct tapir_udp *u = tapir_udp_new(f->s);
	u->bound = true;
	u->laddr = tapir_ip_from_v4(laddr);
	u->lport = PORT;
	u->raddr = tapir_ip_from_v4(raddr);
	u->rport = rport;
	return u;
}

static void deliver_from(struct fx *f, uint32_t src, uint16_t sport, uint32_t dst)
{
	uint8_t fr[128];
	fx_expect_ok(f, fr, fr_udp_frame(fr, src, dst, sport, PORT, "d", 1));
}

static int queued(const struct tapir_udp *u) { return u->rq_head != NULL; }

static void test_demux_preference(void **state)
{
	struct fx *f = *state;
	/* created in the least favourable order: wildcard first */
	struct tapir_udp *wild = raw_sock(f, 0, 0, 0);
	struct tapir_udp *addr = raw_sock(f, IP_US, 0, 0);
	struct tapir_udp *conn = raw_sock(f, IP_US, IP_PEER, 53);
	uint8_t buf[8];

	deliver_from(f, IP_PEER, 53, IP_US);
	assert_true(queued(conn) && !queued(addr) && !queued(wild));
	tapir_udp_recvfrom(conn, buf, sizeof(buf), NULL, NULL);

	/* same peer, other port: not the connected socket's */
	deliver_from(f, IP_PEER, 54, IP_US);
	assert_true(!queued(conn) && queued(addr) && !queued(wild));
	tapir_udp_recvfrom(addr, buf, sizeof(buf), NULL, NULL);

	/* to the broadcast address: only the wildcard matches */
	deliver_from(f, IP_OTHER, 53, IP_BCAST);
	assert_true(!queued(conn) && !queued(addr) && queued(wild));
	tapir_udp_recvfrom(wild, buf, sizeof(buf), NULL, NULL);

	/* a connected wildcard-address socket still beats the address bind */
	tapir_udp_free(conn);
	conn = raw_sock(f, 0, IP_OTHER, 7);
	deliver_from(f, IP_OTHER, 7, IP_US);
	assert_true(queued(conn) && !queued(addr) && !queued(wild));
}

/* Without SO_REUSEADDR a port is held once per address, and a wildcard
 * bind holds it for every address. */
static void test_bind_conflicts(void **state)
{
	struct fx *f = *state;
	struct tapir_udp *a = bound(f, 0, PORT);
	struct tapir_udp *b = tapir_udp_new(f->s);
	struct tapir_udp *c = bound(f, IP_US, PORT + 1);

	assert_int_equal(tapir_udp_bind(b, 0, PORT), -EADDRINUSE);
	assert_int_equal(tapir_udp_bind(b, IP_US, PORT), -EADDRINUSE);
	assert_int_equal(tapir_udp_bind(b, 0, PORT + 1), -EADDRINUSE);
	assert_int_equal(tapir_udp_bind(b, IP_PEER, PORT + 2), -EADDRNOTAVAIL);
	assert_int_equal(tapir_udp_bind(a, 0, PORT + 3), -EINVAL); /* already bound */
	/* a freed socket's port is free again */
	tapir_udp_free(a);
	assert_int_equal(tapir_udp_bind(b, IP_US, PORT), 0);
	tapir_udp_free(c);
}

/* RFC 6335 6 / RFC 6056: ephemeral ports come from the configured range;
 * when it is used up, binding fails rather than straying outside it. */
static void eph_4(struct tapir_config *c)
{
	c->ephemeral_lo = 40000;
	c->ephemeral_hi = 40003;
}
static const struct fx_opts eph = {.tune = eph_4};

static void test_ephemeral_range(void **state)
{
	struct fx *f = *state;
	struct tapir_udp *u[5];
	uint16_t seen = 0;

	for (int i = 0; i < 4; i++) {
		uint16_t port;
		u[i] = tapir_udp_new(f->s);
		/* half by bind(0), half implicitly by connect */
		if (i & 1)
			assert_int_equal(tapir_udp_bind(u[i], 0, 0), 0);
		else
			assert_int_equal(tapir_udp_connect(u[i], IP_PEER, 53), 0);
		tapir_udp_local(u[i], NULL, &port);
		assert_in_range(port, 40000, 40003);
		assert_false(seen & (1u << (port - 40000)));
		seen |= (uint16_t)(1u << (port - 40000));
	}
	u[4] = tapir_udp_new(f->s);
	assert_int_equal(tapir_udp_bind(u[4], 0, 0), -EADDRINUSE);
	assert_int_equal(tapir_udp_sendto(u[4], "x", 1, IP_PEER, 53, f->now), -EADDRINUSE);
	tapir_udp_free(u[2]);
	assert_int_equal(tapir_udp_bind(u[4], 0, 0), 0);
}

static void test_send_errors(void **state)
{
	struct fx *f = *state;
	struct tapir_udp *u = tapir_udp_new(f->s);
	static uint8_t big[65536];
	assert_int_equal(tapir_udp_sendto(u, "x", 1, 0, 0, f->now), -EDESTADDRREQ);
	assert_int_equal(tapir_udp_sendto(u, "x", 1, IP_PEER, 0, f->now), -EINVAL);
	assert_int_equal(tapir_udp_sendto(u, big, 65535 - 28 + 1, IP_PEER, 1, f->now), -EMSGSIZE);
	assert_int_equal(tapir_udp_sendto(u, "x", 1, IP_REMOTE, 1, f->now), -ENETUNREACH);
	assert_int_equal(tapir_udp_connect(u, 0, 1), -EINVAL);
	assert_int_equal(f->cap.n, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_short),
		T(test_length_field),
		T(test_bad_checksum),
		T(test_zero_checksum_accepted),
		T(test_closed_port),
		T(test_closed_port_long_quote),
		T(test_closed_port_broadcast),
		T(test_closed_port_link_broadcast),
		T(test_rcvbuf_full),
		T(test_recv_truncates),
		T(test_demux_preference),
		T(test_bind_conflicts),
		FX_TEST_OPTS(test_ephemeral_range, &eph),
		T(test_send_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
