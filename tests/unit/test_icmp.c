/* ICMP (RFC 792, RFC 1122 3.2.2): parsing, echo, errors received and
 * delivered to their socket, errors sent with RFC 1122's "never about"
 * rules and RFC 1812 4.3.2.8's rate limit. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core.h"
#include "frames.h"

static size_t icmp_frame(uint8_t *fr, uint32_t dst, uint8_t type, uint8_t code, uint32_t rest,
			 const void *data, size_t len)
{
	uint8_t m[1600];
	size_t ml = fr_icmp(m, type, code, rest, data, len);
	struct ip_spec ip = {.src = IP_PEER, .dst = dst, .proto = TAPIR_IPPROTO_ICMP, .id = 3};
	return fr_ip_frame(fr, &ip, m, ml);
}

static void test_short(void **state)
{
	struct fx *f = *state;
	uint8_t fr[128];
	struct ip_spec ip = {.src = IP_PEER, .dst = IP_US, .proto = TAPIR_IPPROTO_ICMP};
	const uint8_t seven[7] = {TAPIR_ICMP_ECHO, 0, 0xf7, 0xff, 0, 0, 0};
	fx_expect_drop(f, fr, fr_ip_frame(fr, &ip, seven, 7), icmp_short);
	fx_expect_drop(f, fr, fr_ip_frame(fr, &ip, NULL, 0), icmp_short);
	assert_int_equal(f->cap.n, 0);
}

static void test_bad_checksum(void **state)
{
	struct fx *f = *state;
	uint8_t fr[128];
	size_t n = icmp_frame(fr, IP_US, TAPIR_ICMP_ECHO, 0, 1, "abc", 3);
	fr[n - 1] ^= 0x40;
	fx_expect_drop(f, fr, n, icmp_checksum);
	assert_int_equal(f->cap.n, 0);
}

/* RFC 792 "Echo or Echo Reply Message": the reply carries the request's
 * identifier, sequence number and data; addresses are swapped. */
static void test_echo_reply_exact(void **state)
{
	struct fx *f = *state;
	uint8_t fr[1600], data[1000];
	size_t n, rl;
	const uint8_t *r;

	fx_learn_peer(f);
	pattern_fill(data, sizeof(data), 42);
	n = icmp_frame(fr, IP_US, TAPIR_ICMP_ECHO, 0, 0xbeef0007u, data, sizeof(data));
	fx_expect_ok(f, fr, n);
	assert_int_equal(f->cap.n, 1);
	assert_memory_equal(f->cap.f[0].data, MAC_PEER, 6);
	r = cap_l3(&f->cap, 0, TAPIR_ETH_P_IPV4, &rl);
	assert_non_null(r);
	assert_int_equal(r[0], 0x45);
	assert_int_equal(tapir_get16(r + 2), 20 + 8 + sizeof(data));
	assert_int_equal(tapir_csum(r, 20), 0);
	assert_int_equal(r[9], TAPIR_IPPROTO_ICMP);
	assert_int_equal(tapir_get32(r + 12), IP_US);
	assert_int_equal(tapir_get32(r + 16), IP_PEER);
	assert_int_equal(r[20], TAPIR_ICMP_ECHO_REPLY);
	assert_int_equal(r[21], 0);
	assert_int_equal(tapir_get16(r + 24), 0xbeef);
	assert_int_equal(tapir_get16(r + 26), 0x0007);
	assert_memory_equal(r + 28, data, sizeof(data));
	assert_int_equal(fr_verify_l4(r), 0);
	assert_int_equal(fx_st(f)->icmp_echo_replied, 1);
}

/* RFC 1122 3.2.2.6: echo to a broadcast address MAY be ignored; we do. */
static void test_echo_broadcast_ignored(void **state)
{
	struct fx *f = *state;
	uint8_t fr[128];
	fx_learn_peer(f);
	fx_expect_drop(f, fr, icmp_frame(fr, IP_BCAST, TAPIR_ICMP_ECHO, 0, 1, "x", 1), icmp_broadcast);
	fx_expect_drop(f, fr, icmp_frame(fr, 0xffffffffu, TAPIR_ICMP_ECHO, 0, 1, "x", 1),
		       icmp_broadcast);
	assert_int_equal(f->cap.n, 0);
}

static void test_unknown_type(void **state)
{
	struct fx *f = *state;
	uint8_t fr[128];
	/* timestamp (13), and source quench (4), which RFC 6633 says to ignore */
	fx_expect_drop(f, fr, icmp_frame(fr, IP_US, 13, 0, 0, "123456789012", 12), icmp_type);
	fx_expect_drop(f, fr, icmp_frame(fr, IP_US, TAPIR_ICMP_SOURCE_QUENCH, 0, 0, NULL, 0),
		       icmp_type);
	assert_int_equal(f->cap.n, 0);
}

struct echo_log {
	int calls;
	struct tapir_echo_reply last;
	uint8_t data[64];
};

static void echo_cb(void *arg, const struct tapir_echo_reply *r)
{
	struct echo_log *l = arg;
	l->calls++;
	l->last = *r;
	if (r->data && r->len <= sizeof(l->data))
		memcpy(l->data, r->data, r->len);
}

/* A reply to our ping reaches the handler with id, seq and data; without a
 * handler, a reply has nowhere to go. */
static void test_echo_reply_received(void **state)
{
	struct fx *f = *state;
	struct echo_log log = {0};
	uint8_t fr[128];

	fx_expect_drop(f, fr, icmp_frame(fr, IP_US, TAPIR_ICMP_ECHO_REPLY, 0, 0x00050006u, "pong", 4),
		       icmp_type);
	tapir_echo_set_handler(f->s, echo_cb, &log);
	fx_expect_ok(f, fr, icmp_frame(fr, IP_US, TAPIR_ICMP_ECHO_REPLY, 0, 0x00050006u, "pong", 4));
	assert_int_equal(log.calls, 1);
	assert_int_equal(log.last.from, IP_PEER);
	assert_int_equal(log.last.id, 5);
	assert_int_equal(log.last.seq, 6);
	assert_int_equal(log.last.error, 0);
	assert_int_equal(log.last.len, 4);
	assert_memory_equal(log.data, "pong", 4);
	assert_int_equal(log.last.now, f->now);
}

/* Sends one UDP datagram from U to the peer and returns a copy of its IPv4
 * packet (header + UDP) in OUT. */
static size_t send_and_capture(struct fx *f, struct tapir_udp *u, uint8_t *out)
{
	const uint8_t *ip;
	size_t len;
	cap_clear(&f->cap);
	assert_int_equal(tapir_udp_sendto(u, "query", 5, IP_PEER, 53, f->now), 5);
	ip = cap_last_ip(&f->cap, TAPIR_IPPROTO_UDP, &len);
	assert_non_null(ip);
	len = tapir_get16(ip + 2);
	memcpy(out, ip, len);
	cap_clear(&f->cap);
	return len;
}

struct evlog {
	unsigned events;
};
static void ev_cb(void *arg, unsigned ev) { ((struct evlog *)arg)->events |= ev; }

/* A UDP socket with its events in EV, the peer learnt. */
static struct tapir_udp *udp_watched(struct fx *f, struct evlog *ev)
{
	struct tapir_udp *u = tapir_udp_new(f->s);
	fx_learn_peer(f);
	tapir_udp_set_event(u, ev_cb, ev);
	return u;
}

/* The peer's port unreachable about QUOTED, a datagram we sent. */
static void port_unreachable(struct fx *f, const uint8_t *quoted)
{
	uint8_t fr[256];
	fx_expect_ok(f, fr, icmp_frame(fr, IP_US, TAPIR_ICMP_UNREACH, TAPIR_ICMP_UNREACH_PORT, 0, quoted, 28));
}

/* RFC 1122 4.1.3.3: UDP passes ICMP errors to the application; as in BSD,
 * only a connected socket can be told (it names one destination). */
static void test_port_unreachable_connected(void **state)
{
	struct fx *f = *state;
	struct evlog ev = {0};
	struct tapir_udp *u = udp_watched(f, &ev);
	uint8_t quoted[128];

	assert_int_equal(tapir_udp_connect(u, IP_PEER, 53), 0);
	send_and_capture(f, u, quoted);
	port_unreachable(f, quoted);
	assert_true(ev.events & TAPIR_EV_ERROR);
	assert_true(tapir_udp_events(u) & TAPIR_EV_ERROR);
	assert_int_equal(tapir_udp_error(u), ECONNREFUSED);
	assert_int_equal(tapir_udp_error(u), 0); /* read and cleared */

	/* a pending error is reported by the next send to the peer, once */
	port_unreachable(f, quoted);
	assert_int_equal(tapir_udp_sendto(u, "again", 5, 0, 0, f->now), -ECONNREFUSED);
	assert_int_equal(tapir_udp_sendto(u, "again", 5, 0, 0, f->now), 5);
	assert_int_equal(fx_st(f)->icmp_errors_rx, 2);
	tapir_udp_free(u);
}

static void test_port_unreachable_unconnected(void **state)
{
	struct fx *f = *state;
	struct evlog ev = {0};
	struct tapir_udp *u = udp_watched(f, &ev);
	uint8_t quoted[128];

	assert_int_equal(tapir_udp_bind(u, 0, 5353), 0);
	send_and_capture(f, u, quoted);
	port_unreachable(f, quoted);
	assert_int_equal(ev.events, 0);
	assert_int_equal(tapir_udp_error(u), 0);
	tapir_udp_free(u);
}

/* Other codes map per RFC 1122 4.2.3.9 (as transports use them). */
static void test_icmp_errno_mapping(void **state)
{
	(void)state;
	assert_int_equal(icmp_errno(TAPIR_ICMP_UNREACH, TAPIR_ICMP_UNREACH_NET), ENETUNREACH);
	assert_int_equal(icmp_errno(TAPIR_ICMP_UNREACH, TAPIR_ICMP_UNREACH_HOST), EHOSTUNREACH);
	assert_int_equal(icmp_errno(TAPIR_ICMP_UNREACH, TAPIR_ICMP_UNREACH_PROTO), ENOPROTOOPT);
	assert_int_equal(icmp_errno(TAPIR_ICMP_UNREACH, TAPIR_ICMP_UNREACH_PORT), ECONNREFUSED);
	assert_int_equal(icmp_errno(TAPIR_ICMP_UNREACH, TAPIR_ICMP_UNREACH_NEEDFRAG), EMSGSIZE);
	assert_int_equal(icmp_errno(TAPIR_ICMP_TIME_EXCEEDED, 0), EHOSTUNREACH);
	assert_int_equal(icmp_errno(TAPIR_ICMP_PARAM_PROBLEM, 0), EPROTO);
}

/* An ICMP error must quote a datagram we sent (RFC 5927: check what is
 * quoted before acting on it).  Anything else is dropped, and no socket
 * hears of it. */
static void test_error_about_foreign_packet(void **state)
{
	struct fx *f = *state;
	struct tapir_udp *u = tapir_udp_new(f->s);
	uint8_t quoted[128], q[128], fr[256];
	size_t ql;

	fx_learn_peer(f);
	assert_int_equal(tapir_udp_connect(u, IP_PEER, 53), 0);
	ql = send_and_capture(f, u, quoted);

	/* source not ours */
	memcpy(q, quoted, ql);
	tapir_put32(q + 12, IP_OTHER);
	fx_expect_drop(f, fr, icmp_frame(fr, IP_US, TAPIR_ICMP_UNREACH, 3, 0, q, 28), icmp_error_bad);
	/* ports matching no socket */
	memcpy(q, quoted, ql);
	tapir_put16(q + 20, 9);
	fx_expect_drop(f, fr, icmp_frame(fr, IP_US, TAPIR_ICMP_UNREACH, 3, 0, q, 28), icmp_error_bad);
	/* too short to hold the transport ports: header + 7 bytes */
	fx_expect_drop(f, fr, icmp_frame(fr, IP_US, TAPIR_ICMP_UNREACH, 3, 0, quoted, 27),
		       icmp_error_bad);
	/* not an IPv4 header at all */
	memcpy(q, quoted, ql);
	q[0] = 0x65;
	fx_expect_drop(f, fr, icmp_frame(fr, IP_US, TAPIR_ICMP_UNREACH, 3, 0, q, 28), icmp_error_bad);
	memcpy(q, quoted, ql);
	q[0] = 0x44;
	fx_expect_drop(f, fr, icmp_frame(fr, IP_US, TAPIR_ICMP_UNREACH, 3, 0, q, 28), icmp_error_bad);
	/* a protocol we have no sockets for */
	memcpy(q, quoted, ql);
	q[9] = 253;
	fx_expect_drop(f, fr, icmp_frame(fr, IP_US, TAPIR_ICMP_UNREACH, 3, 0, q, 28), icmp_error_bad);
	/* an ICMP echo, but nobody is pinging */
	memcpy(q, quoted, ql);
	q[9] = TAPIR_IPPROTO_ICMP;
	q[20] = TAPIR_ICMP_ECHO;
	fx_expect_drop(f, fr, icmp_frame(fr, IP_US, TAPIR_ICMP_TIME_EXCEEDED, 0, 0, q, 28),
		       icmp_error_bad);
	assert_int_equal(tapir_udp_error(u), 0);
	assert_int_equal(f->cap.n, 0);
	tapir_udp_free(u);
}

/* An error quoting our own echo request reaches the ping handler. */
static void test_error_about_our_echo(void **state)
{
	struct fx *f = *state;
	struct echo_log log = {0};
	uint8_t quoted[128], fr[256];
	const uint8_t *ip;
	size_t len;

	fx_learn_peer(f);
	tapir_echo_set_handler(f->s, echo_cb, &log);
	assert_int_equal(tapir_echo_send(f->s, IP_PEER, 77, 3, "abcd", 4,
					 f->now), 0);
	ip = cap_last_ip(&f->cap, TAPIR_IPPROTO_ICMP, &len);
	assert_non_null(ip);
	memcpy(quoted, ip, 32);
	fx_expect_ok(f, fr, icmp_frame(fr, IP_US, TAPIR_ICMP_TIME_EXCEEDED, 0, 0, quoted, 28));
	assert_int_equal(log.calls, 1);
	assert_int_equal(log.last.id, 77);
	assert_int_equal(log.last.seq, 3);
	assert_int_equal(log.last.error, EHOSTUNREACH);
	assert_int_equal(log.last.icmp_type, TAPIR_ICMP_TIME_EXCEEDED);
	assert_int_equal(log.last.target, IP_PEER);
}

/* ---- errors we send ---- */

/* A datagram as the peer might have sent it, for icmp_send_error. */
static size_t orig_datagram(uint8_t *out, uint32_t dst, uint8_t proto, uint16_t frag,
			    const void *payload, size_t len)
{
	struct ip_spec ip = {.src = IP_PEER, .dst = dst, .proto = proto, .frag = frag};
	return fr_ipv4(out, &ip, payload, len);
}

/* RFC 1122 3.2.2: an ICMP error MUST NOT be sent about an ICMP error
 * message, a datagram to a broadcast or multicast address, a non-initial
 * fragment, or a datagram whose source is not a single host.  These call
 * icmp_send_error directly, with what each input path would pass. */
static void test_never_about(void **state)
{
	struct fx *f = *state;
	uint8_t d[128], m[64];
	size_t n;

	fx_learn_peer(f);
	f->s->now = f->now;

	/* an ICMP error: destination unreachable, time exceeded, param problem */
	const uint8_t err_types[] = {TAPIR_ICMP_UNREACH, TAPIR_ICMP_TIME_EXCEEDED, TAPIR_ICMP_PARAM_PROBLEM,
				     TAPIR_ICMP_SOURCE_QUENCH, 5 /* redirect */};
	for (size_t i = 0; i < sizeof(err_types); i++) {
		n = orig_datagram(d, IP_US, TAPIR_IPPROTO_ICMP, 0, m,
				  fr_icmp(m, err_types[i], 0, 0, "12345678", 8));
		icmp_send_error(f->s, d, n, TAPIR_ICMP_UNREACH, TAPIR_ICMP_UNREACH_PROTO);
	}
	/* to a broadcast or multicast address */
	n = orig_datagram(d, IP_BCAST, 253, 0, "12345678", 8);
	icmp_send_error(f->s, d, n, TAPIR_ICMP_UNREACH, TAPIR_ICMP_UNREACH_PROTO);
	n = orig_datagram(d, 0xffffffffu, 253, 0, "12345678", 8);
	icmp_send_error(f->s, d, n, TAPIR_ICMP_UNREACH, TAPIR_ICMP_UNREACH_PROTO);
	n = orig_datagram(d, 0xe0000001u, 253, 0, "12345678", 8);
	icmp_send_error(f->s, d, n, TAPIR_ICMP_UNREACH, TAPIR_ICMP_UNREACH_PROTO);
	/* a non-initial fragment (offset 8 bytes, with and without MF) */
	n = orig_datagram(d, IP_US, 253, 0x0001, "12345678", 8);
	icmp_send_error(f->s, d, n, TAPIR_ICMP_UNREACH, TAPIR_ICMP_UNREACH_PROTO);
	n = orig_datagram(d, IP_US, 253, 0x2001, "12345678", 8);
	icmp_send_error(f->s, d, n, TAPIR_ICMP_UNREACH, TAPIR_ICMP_UNREACH_PROTO);
	/* a source that is not one host */
	const uint32_t srcs[] = {0, 0xffffffffu, IP_BCAST, 0xe0000001u};
	for (size_t i = 0; i < 4; i++) {
		n = orig_datagram(d, IP_US, 253, 0, "12345678", 8);
		tapir_put32(d + 12, srcs[i]);
		icmp_send_error(f->s, d, n, TAPIR_ICMP_UNREACH, TAPIR_ICMP_UNREACH_PROTO);
	}
	assert_int_equal(f->cap.n, 0);
	assert_int_equal(fx_st(f)->icmp_errors_sent, 0);

	/* the controls: an echo request (ICMP, but not an error) and fragment
	 * zero with MF set are fine to complain about */
	n = orig_datagram(d, IP_US, TAPIR_IPPROTO_ICMP, 0, m, fr_icmp(m, TAPIR_ICMP_ECHO, 0, 0, "1234", 4));
	icmp_send_error(f->s, d, n, TAPIR_ICMP_UNREACH, TAPIR_ICMP_UNREACH_PROTO);
	n = orig_datagram(d, IP_US, 253, 0x2000, "12345678", 8);
	icmp_send_error(f->s, d, n, TAPIR_ICMP_UNREACH, TAPIR_ICMP_UNREACH_PROTO);
	assert_int_equal(cap_count_ip(&f->cap, TAPIR_IPPROTO_ICMP), 2);
	assert_int_equal(fx_st(f)->icmp_errors_sent, 2);
}

/* The RFC 1812 4.3.2.8 token bucket: icmp_burst errors at once, then
 * icmp_rate per second as time passes, never more than the burst saved up. */
static void rate_10(struct tapir_config *c)
{
	c->icmp_burst = 5;
	c->icmp_rate = 10; /* one token per 100 ms */
}
static const struct fx_opts rate = {.tune = rate_10, .learn_peer = true};

/* N datagrams to a closed port at the fixture's current time. */
static void closed_port_burst(struct fx *f, int n)
{
	for (int i = 0; i < n; i++) {
		uint8_t fr[128];
		fx_expect_drop(f, fr, fr_udp_frame(fr, IP_PEER, IP_US, 1000, 9, "z", 1),
			       udp_no_port);
	}
}

static void test_rate_limit(void **state)
{
	struct fx *f = *state;
	closed_port_burst(f, 8);
	assert_int_equal(cap_count_ip(&f->cap, TAPIR_IPPROTO_ICMP), 5);
	assert_int_equal(fx_st(f)->icmp_rate_limited, 3);

	/* 99 ms later: not yet a whole token */
	f->now += TAPIR_MS(99);
	closed_port_burst(f, 1);
	assert_int_equal(cap_count_ip(&f->cap, TAPIR_IPPROTO_ICMP), 5);
	/* at 100 ms there is one */
	f->now += TAPIR_MS(1);
	closed_port_burst(f, 2);
	assert_int_equal(cap_count_ip(&f->cap, TAPIR_IPPROTO_ICMP), 6);
	assert_int_equal(fx_st(f)->icmp_rate_limited, 5);

	/* a long quiet spell fills the bucket to the burst, no further */
	f->now += TAPIR_SEC(100);
	cap_clear(&f->cap);
	closed_port_burst(f, 7);
	assert_int_equal(cap_count_ip(&f->cap, TAPIR_IPPROTO_ICMP), 5);
	assert_int_equal(fx_st(f)->icmp_rate_limited, 7);
	assert_int_equal(fx_st(f)->icmp_errors_sent, 11);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_short),
		T(test_bad_checksum),
		T(test_echo_reply_exact),
		T(test_echo_broadcast_ignored),
		T(test_unknown_type),
		T(test_echo_reply_received),
		T(test_port_unreachable_connected),
		T(test_port_unreachable_unconnected),
		cmocka_unit_test(test_icmp_errno_mapping),
		T(test_error_about_foreign_packet),
		T(test_error_about_our_echo),
		T(test_never_about),
		FX_TEST_OPTS(test_rate_limit, &rate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
