/* The DHCPv4 client (RFC 2131, RFC 2132) against a scripted server played
 * by the test, in simulated time: DISCOVER at once and its back-off, the
 * OFFER/REQUEST/ACK exchange, the ARP probe (RFC 5227) and DECLINE on a
 * conflict, renewing at T1, rebinding at T2, expiry, NAK, RELEASE, and
 * malformed replies counted and dropped. */
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

#define SERVER IP_PEER              /* 10.0.0.2, MAC_PEER */
#define LEASED 0x0a000032u          /* 10.0.0.50 */
#define ROUTER 0x0a000001u          /* 10.0.0.1 */
#define DNS1 0x08080808u
#define LEASE 1000                  /* s: T1 500, T2 875 */

/* A stack with one interface and no IPv4 address: the client's start. */
static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	tapir_config_default(&f->cfg);
	cap_init(&f->cap);
	f->s = tapir_stack_new(&f->cfg);
	assert_non_null(f->s);
	f->ifi = tapir_iface_add(f->s, &f->cap.link, MAC_US, 1500);
	f->now = TAPIR_SEC(100);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

static struct tapir_dhcp_lease lease(const struct fx *f)
{
	struct tapir_dhcp_lease l;
	assert_int_equal(tapir_dhcp_lease(f->s, &l), 0);
	return l;
}

/* A DHCP option's value in message M (LEN bytes), or NULL. */
static const uint8_t *opt(const uint8_t *m, size_t len, uint8_t code, uint8_t *olen)
{
	for (size_t i = 240; i < len && m[i] != 255;) {
		if (m[i] == 0) {
			i++;
			continue;
		}
		assert_true(i + 2 + m[i + 1] <= len);
		if (m[i] == code) {
			*olen = m[i + 1];
			return m + i + 2;
		}
		i += 2u + m[i + 1];
	}
	return NULL;
}

/* The last DHCP message we sent (asserted to be of TYPE, well formed, with
 * a right UDP checksum); its IPv4 header in *IP. */
static const uint8_t *sent(const struct fx *f, uint8_t type, const uint8_t **ipp, size_t *mlen)
{
	size_t len;
	const uint8_t *ip = cap_last_ip(&f->cap, TAPIR_IPPROTO_UDP, &len), *m, *t;
	uint8_t n;
	assert_non_null(ip);
	assert_int_equal(fr_verify_l4(ip), 0);
	assert_int_equal(tapir_get16(ip + 20), 68);
	assert_int_equal(tapir_get16(ip + 22), 67);
	m = ip + 28;
	*mlen = tapir_get16(ip + 24) - 8u;
	assert_true(*mlen >= 300); /* RFC 1542 2.1 */
	assert_int_equal(m[0], 1);
	assert_memory_equal(m + 28, MAC_US, 6);
	assert_int_equal(tapir_get32(m + 236), 0x63825363u);
	t = opt(m, *mlen, 53, &n);
	assert_non_null(t);
	assert_int_equal(n, 1);
	assert_int_equal(*t, type);
	if (ipp)
		*ipp = ip;
	return m;
}

static uint32_t sent_xid(const struct fx *f, uint8_t type)
{
	size_t n;
	return tapir_get32(sent(f, type, NULL, &n) + 4);
}

struct reply {
	uint8_t type;
	uint32_t xid, yiaddr, lease;
	const uint8_t *extra;   /* more options, raw */
	size_t extra_len;
	bool no_lease, no_server;
	uint32_t dst;           /* 0: the limited broadcast */
};

/* The server's reply as a frame from MAC_PEER: the fixed part, the cookie,
 * type, server id, mask /24, router, DNS, lease, then EXTRA. */
static size_t reply_frame(uint8_t *fr, const struct reply *r)
{
	uint8_t m[600] = {0}, *o = m + 240, udp[700];
	size_t ml, ul;
	struct ip_spec ip = {.src = SERVER, .dst = r->dst ? r->dst : 0xffffffffu,
			     .proto = TAPIR_IPPROTO_UDP};
	m[0] = 2;
	m[1] = 1;
	m[2] = 6;
	tapir_put32(m + 4, r->xid);
	tapir_put32(m + 16, r->yiaddr);
	memcpy(m + 28, MAC_US, 6);
	tapir_put32(m + 236, 0x63825363u);
	*o++ = 53, *o++ = 1, *o++ = r->type;
	if (!r->no_server)
		*o++ = 54, *o++ = 4, tapir_put32(o, SERVER), o += 4;
	*o++ = 1, *o++ = 4, tapir_put32(o, 0xffffff00u), o += 4;
	*o++ = 3, *o++ = 4, tapir_put32(o, ROUTER), o += 4;
	*o++ = 6, *o++ = 4, tapir_put32(o, DNS1), o += 4;
	if (!r->no_lease)
		*o++ = 51, *o++ = 4, tapir_put32(o, r->lease ? r->lease : LEASE), o += 4;
	if (r->extra_len)
		memcpy(o, r->extra, r->extra_len), o += r->extra_len;
	*o++ = 255;
	ml = (size_t)(o - m) < 300 ? 300 : (size_t)(o - m);
	ul = fr_udp(udp, ip.src, ip.dst, 67, 68, m, ml);
	fr_eth(fr, r->dst ? MAC_US : MAC_BCAST, MAC_PEER, TAPIR_ETH_P_IPV4);
	return TAPIR_ETH_HLEN + fr_ipv4(fr + TAPIR_ETH_HLEN, &ip, udp, ul);
}

static void reply(struct fx *f, const struct reply *r)
{
	uint8_t fr[800];
	fx_expect_ok(f, fr, reply_frame(fr, r));
}

/* The server asks for our address: we know its MAC (RFC 826). */
static void know_server(struct fx *f)
{
	uint8_t fr[128];
	fx_input(f, fr, fr_arp_frame(fr, MAC_BCAST, 1, MAC_PEER, SERVER, MAC_ZERO, LEASED));
	cap_clear(&f->cap);
}

static void start(struct fx *f)
{
	assert_int_equal(tapir_dhcp_start(f->s, f->ifi, f->now), 0);
}

/* From start to BOUND through the probe, with nothing in the way. */
static void bind(struct fx *f)
{
	uint32_t xid;
	start(f);
	xid = sent_xid(f, 1);
	reply(f, &(struct reply){.type = 2, .xid = xid, .yiaddr = LEASED});
	assert_int_equal(sent_xid(f, 3), xid);
	reply(f, &(struct reply){.type = 5, .xid = xid, .yiaddr = LEASED});
	assert_int_equal(lease(f).state, TAPIR_DHCP_PROBING);
	for (int i = 0; i < 10 && lease(f).state == TAPIR_DHCP_PROBING; i++)
		fx_advance(f, TAPIR_SEC(1));
	assert_int_equal(lease(f).state, TAPIR_DHCP_BOUND);
	cap_clear(&f->cap);
}

/* The first DISCOVER at once, broadcast from 0.0.0.0 with the broadcast
 * flag (RFC 2131 4.1); retransmitted at 4 s then 8 s, each +-1 s. */
static void test_discover_backoff(void **state)
{
	struct fx *f = *state;
	const uint8_t *ip, *m;
	size_t n;
	start(f);
	assert_int_equal(cap_count_ip(&f->cap, TAPIR_IPPROTO_UDP), 1);
	m = sent(f, 1, &ip, &n);
	assert_int_equal(tapir_get32(ip + 12), 0);
	assert_int_equal(tapir_get32(ip + 16), 0xffffffffu);
	assert_memory_equal(f->cap.f[0].data, MAC_BCAST, 6);
	assert_int_equal(tapir_get16(m + 10), 0x8000);
	assert_int_equal(lease(f).state, TAPIR_DHCP_SELECTING);
	assert_int_equal(tapir_dhcp_start(f->s, f->ifi, f->now), -EBUSY);
	fx_advance(f, TAPIR_SEC(3) - 1);
	assert_int_equal(cap_count_ip(&f->cap, TAPIR_IPPROTO_UDP), 1);
	fx_advance(f, TAPIR_SEC(2) + 1);
	assert_int_equal(cap_count_ip(&f->cap, TAPIR_IPPROTO_UDP), 2);
	/* secs: since the acquisition began (RFC 2131 2) */
	assert_int_equal(tapir_get16(sent(f, 1, NULL, &n) + 8), 5);
	fx_advance(f, TAPIR_SEC(7) - 1);
	assert_int_equal(cap_count_ip(&f->cap, TAPIR_IPPROTO_UDP), 2);
	fx_advance(f, TAPIR_SEC(2) + 1);
	assert_int_equal(cap_count_ip(&f->cap, TAPIR_IPPROTO_UDP), 3);
	/* and on, never faster than every 63 s once at the 64 s step */
	for (int i = 0; i < 20; i++)
		fx_advance(f, TAPIR_SEC(65));
	assert_true(cap_count_ip(&f->cap, TAPIR_IPPROTO_UDP) >= 3 + 18);
	assert_true(cap_count_ip(&f->cap, TAPIR_IPPROTO_UDP) <= 3 + 22);
	/* the port is the client's */
	{
		struct tapir_udp *u = tapir_udp_new(f->s);
		assert_int_equal(tapir_udp_bind(u, 0, 68), -EADDRINUSE);
		tapir_udp_free(u);
	}
}

/* OFFER -> REQUEST naming server and address -> ACK -> three probes ->
 * the address, its route, a default route, DNS servers, announcements. */
static void test_bind(void **state)
{
	struct fx *f = *state;
	const uint8_t *m, *v, *ip;
	size_t n;
	uint8_t len;
	uint32_t xid;
	struct tapir_dhcp_lease l;

	start(f);
	xid = sent_xid(f, 1);
	reply(f, &(struct reply){.type = 2, .xid = xid, .yiaddr = LEASED});
	m = sent(f, 3, &ip, &n);
	assert_int_equal(tapir_get32(ip + 16), 0xffffffffu);
	assert_int_equal(tapir_get32(m + 12), 0); /* ciaddr */
	v = opt(m, n, 50, &len);
	assert_non_null(v);
	assert_int_equal(tapir_get32(v), LEASED);
	v = opt(m, n, 54, &len);
	assert_non_null(v);
	assert_int_equal(tapir_get32(v), SERVER);
	/* a second offer is not taken */
	{
		uint8_t fr[800];
		fx_expect_drop(f, fr, reply_frame(fr, &(struct reply){.type = 2, .xid = xid,
								       .yiaddr = LEASED + 1}),
			       dhcp_unexpected);
	}
	reply(f, &(struct reply){.type = 5, .xid = xid, .yiaddr = LEASED});
	cap_clear(&f->cap);
	for (int i = 0; i < 10 && lease(f).state == TAPIR_DHCP_PROBING; i++)
		fx_advance(f, TAPIR_SEC(1));
	/* RFC 5227 2.1.1: three probes from 0.0.0.0, then two announcements */
	assert_int_equal(cap_count_arp(&f->cap, 1), 3 + 1);
	{
		size_t al;
		const uint8_t *a = cap_l3(&f->cap, 0, TAPIR_ETH_P_ARP, &al);
		assert_non_null(a);
		assert_int_equal(tapir_get32(a + 14), 0);
		assert_int_equal(tapir_get32(a + 24), LEASED);
	}
	l = lease(f);
	assert_int_equal(l.state, TAPIR_DHCP_BOUND);
	assert_int_equal(l.addr, LEASED);
	assert_int_equal(l.prefix_len, 24);
	assert_int_equal(l.router, ROUTER);
	assert_int_equal(l.ndns, 1);
	assert_int_equal(l.dns[0], DNS1);
	assert_int_equal(l.lease_secs, LEASE);
	assert_int_equal(l.leases, 1);
	assert_true(f->s->ifaces[f->ifi].up);
	assert_int_equal(f->s->ifaces[f->ifi].addr, LEASED);
	{
		uint32_t hop;
		assert_int_equal(ipv4_route(f->s, IP_REMOTE, &hop), f->ifi);
		assert_int_equal(hop, ROUTER);
	}
	/* T1 from the time of the REQUEST (RFC 2131 4.4.1) */
	assert_true(l.t1 <= f->now + TAPIR_SEC(LEASE / 2));
	assert_int_equal(l.expires - l.t1, TAPIR_SEC(LEASE / 2));
	assert_int_equal(fx_st(f)->dhcp_leases, 1);
}

/* T1: unicast REQUEST to the server from our address, ciaddr set and no
 * server id (Table 5); an ACK extends the lease. */
static void test_renew(void **state)
{
	struct fx *f = *state;
	struct tapir_dhcp_lease l;
	const uint8_t *m, *ip;
	uint8_t len;
	size_t n;
	bind(f);
	l = lease(f);
	f->now = l.t1 - 1;
	fx_poll(f);
	assert_int_equal(cap_count_ip(&f->cap, TAPIR_IPPROTO_UDP), 0);
	know_server(f); /* the server is a neighbour we know (it asked for us) */
	fx_advance(f, 1);
	assert_int_equal(lease(f).state, TAPIR_DHCP_RENEWING);
	m = sent(f, 3, &ip, &n);
	assert_int_equal(tapir_get32(ip + 12), LEASED);
	assert_int_equal(tapir_get32(ip + 16), SERVER);
	assert_memory_equal(f->cap.f[f->cap.n - 1].data, MAC_PEER, 6);
	assert_int_equal(tapir_get32(m + 12), LEASED);
	assert_null(opt(m, n, 54, &len));
	assert_null(opt(m, n, 50, &len));
	assert_int_equal(tapir_get16(m + 8), 0); /* the renewal just began */
	reply(f, &(struct reply){.type = 5, .xid = tapir_get32(m + 4), .yiaddr = LEASED,
				 .dst = LEASED});
	assert_int_equal(lease(f).state, TAPIR_DHCP_BOUND);
	assert_int_equal(lease(f).leases, 2);
	assert_int_equal(lease(f).t1, f->now + TAPIR_SEC(LEASE / 2));
	assert_true(f->s->ifaces[f->ifi].up);
}

/* No answer at T1: retransmit at half the time to T2 (at least 60 s);
 * at T2 broadcast (REBINDING); at the lease's end the address goes and
 * the client starts over. */
static void test_rebind_expire(void **state)
{
	struct fx *f = *state;
	struct tapir_dhcp_lease l;
	const uint8_t *m, *ip;
	size_t n;
	bind(f);
	l = lease(f);
	f->now = l.t1;
	fx_poll(f);
	assert_int_equal(lease(f).state, TAPIR_DHCP_RENEWING);
	/* 375 s to T2: the next REQUEST after 187.5 s */
	cap_clear(&f->cap);
	fx_advance(f, TAPIR_MS(187500) - 1);
	assert_int_equal(cap_count_ip(&f->cap, TAPIR_IPPROTO_UDP), 0);
	f->now = l.t2;
	fx_poll(f);
	assert_int_equal(lease(f).state, TAPIR_DHCP_REBINDING);
	m = sent(f, 3, &ip, &n);
	assert_int_equal(tapir_get32(ip + 12), LEASED);
	assert_int_equal(tapir_get32(ip + 16), 0xffffffffu);
	assert_int_equal(tapir_get32(m + 12), LEASED);
	/* 125 s left: retransmit at 62.5 s, then 60 s floor capped at expiry */
	cap_clear(&f->cap);
	fx_advance(f, TAPIR_MS(62500));
	assert_int_equal(cap_count_ip(&f->cap, TAPIR_IPPROTO_UDP), 1);
	f->now = l.expires - 1;
	fx_poll(f);
	assert_true(f->s->ifaces[f->ifi].up);
	fx_advance(f, 1);
	assert_false(f->s->ifaces[f->ifi].up);
	assert_int_equal(ipv4_route(f->s, IP_REMOTE, NULL), -1);
	l = lease(f);
	assert_int_equal(l.addr, 0);
	assert_int_equal(l.state, TAPIR_DHCP_SELECTING);
	sent(f, 1, &ip, &n);
	assert_int_equal(tapir_get32(ip + 12), 0);
	assert_int_equal(fx_st(f)->dhcp_expired, 1);
}

/* A NAK: in REQUESTING back to a new DISCOVER; when renewing, the address
 * goes first (RFC 2131 4.4.5). */
static void test_nak(void **state)
{
	struct fx *f = *state;
	uint32_t xid, xid2;
	start(f);
	xid = sent_xid(f, 1);
	reply(f, &(struct reply){.type = 2, .xid = xid, .yiaddr = LEASED});
	reply(f, &(struct reply){.type = 6, .xid = xid});
	assert_int_equal(lease(f).state, TAPIR_DHCP_INIT);
	fx_poll(f); /* at once: no time passes */
	xid2 = sent_xid(f, 1);
	assert_int_not_equal(xid, xid2);
	assert_int_equal(lease(f).state, TAPIR_DHCP_SELECTING);
	assert_int_equal(fx_st(f)->dhcp_naks, 1);
	/* the old transaction's replies are no longer ours */
	{
		uint8_t fr[800];
		fx_expect_drop(f, fr, reply_frame(fr, &(struct reply){.type = 5, .xid = xid,
								       .yiaddr = LEASED}),
			       dhcp_unexpected);
	}
	cap_clear(&f->cap);
	tapir_dhcp_release(f->s, f->now); /* not bound: nothing to send */
	assert_int_equal(f->cap.n, 0);
	bind(f);
	f->now = lease(f).t1 - 1;
	fx_poll(f);
	know_server(f);
	fx_advance(f, 1);
	{
		size_t n;
		const uint8_t *m = sent(f, 3, NULL, &n);
		reply(f, &(struct reply){.type = 6, .xid = tapir_get32(m + 4), .dst = LEASED});
	}
	assert_false(f->s->ifaces[f->ifi].up);
	assert_int_equal(lease(f).addr, 0);
	fx_poll(f);
	assert_int_equal(lease(f).state, TAPIR_DHCP_SELECTING);
}

/* RFC 2131 4.4.1, RFC 5227 2.1.1: someone answers for the offered address
 * while we probe: DECLINE it, never use it, start over after 10 s. */
static void test_conflict_decline(void **state)
{
	struct fx *f = *state;
	const uint8_t *m, *ip, *v;
	uint8_t fr[128], len;
	size_t n;
	uint32_t xid;
	start(f);
	xid = sent_xid(f, 1);
	reply(f, &(struct reply){.type = 2, .xid = xid, .yiaddr = LEASED});
	reply(f, &(struct reply){.type = 5, .xid = xid, .yiaddr = LEASED});
	fx_advance(f, TAPIR_SEC(1)); /* the first probe is out */
	assert_int_equal(lease(f).state, TAPIR_DHCP_PROBING);
	fx_input(f, fr, fr_arp_frame(fr, MAC_US, 2, MAC_OTHER, LEASED, MAC_US, 0));
	m = sent(f, 4, &ip, &n);
	assert_int_equal(tapir_get32(ip + 12), 0);
	assert_int_equal(tapir_get32(ip + 16), 0xffffffffu);
	v = opt(m, n, 50, &len);
	assert_non_null(v);
	assert_int_equal(tapir_get32(v), LEASED);
	assert_non_null(opt(m, n, 54, &len));
	assert_int_equal(lease(f).state, TAPIR_DHCP_INIT);
	assert_int_equal(lease(f).declines, 1);
	assert_false(f->s->ifaces[f->ifi].up);
	cap_clear(&f->cap);
	fx_advance(f, TAPIR_SEC(10) - 1);
	assert_int_equal(cap_count_ip(&f->cap, TAPIR_IPPROTO_UDP), 0);
	fx_advance(f, 1);
	sent(f, 1, NULL, &n);
	/* another host's probe for the same address is a conflict too */
	xid = sent_xid(f, 1);
	reply(f, &(struct reply){.type = 2, .xid = xid, .yiaddr = LEASED});
	reply(f, &(struct reply){.type = 5, .xid = xid, .yiaddr = LEASED});
	fx_input(f, fr, fr_arp_frame(fr, MAC_BCAST, 1, MAC_OTHER, 0, MAC_ZERO, LEASED));
	sent(f, 4, NULL, &n);
	assert_int_equal(lease(f).declines, 2);
}

/* RFC 2131 4.4.6: RELEASE unicast to the server, ciaddr and server id;
 * the address is gone and the client stopped. */
static void test_release(void **state)
{
	struct fx *f = *state;
	const uint8_t *m, *ip, *v;
	uint8_t fr[128], len;
	size_t n;
	bind(f);
	tapir_dhcp_release(f->s, f->now);
	/* the server's MAC is not known yet: ARP first, the RELEASE waits */
	assert_int_equal(cap_count_ip(&f->cap, TAPIR_IPPROTO_UDP), 0);
	assert_true(lease(f).release_waiting);
	assert_false(f->s->ifaces[f->ifi].up);
	fx_input(f, fr, fr_arp_frame(fr, MAC_US, 2, MAC_PEER, SERVER, MAC_US, LEASED));
	assert_false(lease(f).release_waiting);
	m = sent(f, 7, &ip, &n);
	assert_int_equal(tapir_get32(ip + 12), LEASED);
	assert_int_equal(tapir_get32(ip + 16), SERVER);
	assert_int_equal(tapir_get32(m + 12), LEASED);
	v = opt(m, n, 54, &len);
	assert_non_null(v);
	assert_int_equal(tapir_get32(v), SERVER);
	assert_int_equal(lease(f).state, TAPIR_DHCP_OFF);
	/* it may start again */
	cap_clear(&f->cap);
	start(f);
	sent(f, 1, NULL, &n);
}

/* Replies that are broken, or not ours, are counted and dropped; the
 * client goes on as if they never came. */
/* A T1 (option 58) shorter than the probe (RFC 5227 2.1.1, 3 to 7 s): T1
 * counts from the REQUEST (RFC 2131 4.4.1), so the renewal is due at
 * once when the address is bound, and goes out then. */
static void test_renew_t1_in_probe(void **state)
{
	struct fx *f = *state;
	static const uint8_t t1[] = {58, 4, 0, 0, 0, 2};
	uint32_t xid;
	know_server(f);
	start(f);
	xid = sent_xid(f, 1);
	reply(f, &(struct reply){.type = 2, .xid = xid, .yiaddr = LEASED, .extra = t1, .extra_len = 6});
	reply(f, &(struct reply){.type = 5, .xid = xid, .yiaddr = LEASED, .extra = t1, .extra_len = 6});
	for (int i = 0; i < 10 && lease(f).state == TAPIR_DHCP_PROBING; i++)
		fx_advance(f, TAPIR_SEC(1));
	assert_int_equal(lease(f).state, TAPIR_DHCP_RENEWING);
	fx_advance(f, 1);
	assert_int_equal(lease(f).state, TAPIR_DHCP_RENEWING);
}

static void test_malformed(void **state)
{
	struct fx *f = *state;
	uint8_t fr[800];
	size_t len;
	uint32_t xid;
	start(f);
	xid = sent_xid(f, 1);

	len = reply_frame(fr, &(struct reply){.type = 2, .xid = xid, .yiaddr = LEASED});
	fr[TAPIR_ETH_HLEN + 28 + 236] ^= 1; /* the cookie */
	fx_input(f, fr, len); /* the UDP checksum would catch it first: fix it */
	assert_int_equal(DROPS(f, udp_checksum), 1);
	{
		uint8_t *ip = fr + TAPIR_ETH_HLEN;
		tapir_put16(ip + 26, 0); /* RFC 768: no checksum */
		fx_expect_drop(f, fr, len, dhcp_malformed);
	}
	/* an option running past the end */
	{
		uint8_t bad[] = {12, 200, 'x'};
		len = reply_frame(fr, &(struct reply){.type = 2, .xid = xid, .yiaddr = LEASED,
						      .extra = bad, .extra_len = sizeof(bad)});
		/* at byte 273 of 300, 200 bytes long */
		fx_expect_drop(f, fr, len, dhcp_malformed);
	}
	/* a mask option of the wrong length, a non-contiguous mask */
	{
		uint8_t bad[] = {1, 3, 255, 255, 0};
		fx_expect_drop(f, fr, reply_frame(fr, &(struct reply){.type = 2, .xid = xid,
			       .yiaddr = LEASED, .extra = bad, .extra_len = sizeof(bad)}),
			       dhcp_malformed);
		uint8_t bad2[] = {1, 4, 255, 0, 255, 0};
		fx_expect_drop(f, fr, reply_frame(fr, &(struct reply){.type = 2, .xid = xid,
			       .yiaddr = LEASED, .extra = bad2, .extra_len = sizeof(bad2)}),
			       dhcp_malformed);
	}
	/* truncated below the fixed part */
	{
		uint8_t m[100] = {2, 1, 6};
		struct ip_spec ip = {.src = SERVER, .dst = 0xffffffffu, .proto = TAPIR_IPPROTO_UDP};
		uint8_t udp[200];
		size_t ul = fr_udp(udp, SERVER, 0xffffffffu, 67, 68, m, sizeof(m));
		fr_eth(fr, MAC_BCAST, MAC_PEER, TAPIR_ETH_P_IPV4);
		len = TAPIR_ETH_HLEN + fr_ipv4(fr + TAPIR_ETH_HLEN, &ip, udp, ul);
		fx_expect_drop(f, fr, len, dhcp_malformed);
	}
	/* no server identifier (Table 3: MUST) */
	fx_expect_drop(f, fr, reply_frame(fr, &(struct reply){.type = 2, .xid = xid,
		       .yiaddr = LEASED, .no_server = true}), dhcp_malformed);
	/* another transaction */
	fx_expect_drop(f, fr, reply_frame(fr, &(struct reply){.type = 2, .xid = xid + 1,
		       .yiaddr = LEASED}), dhcp_unexpected);
	/* an ACK while selecting */
	fx_expect_drop(f, fr, reply_frame(fr, &(struct reply){.type = 5, .xid = xid,
		       .yiaddr = LEASED}), dhcp_unexpected);
	/* an address no host may have */
	fx_expect_drop(f, fr, reply_frame(fr, &(struct reply){.type = 2, .xid = xid,
		       .yiaddr = 0x0a0000ffu}), dhcp_bad_lease);
	fx_expect_drop(f, fr, reply_frame(fr, &(struct reply){.type = 2, .xid = xid,
		       .yiaddr = 0}), dhcp_bad_lease);
	assert_int_equal(lease(f).state, TAPIR_DHCP_SELECTING);
	/* then a good one is taken; an ACK without a lease time is not */
	reply(f, &(struct reply){.type = 2, .xid = xid, .yiaddr = LEASED});
	fx_expect_drop(f, fr, reply_frame(fr, &(struct reply){.type = 5, .xid = xid,
		       .yiaddr = LEASED, .no_lease = true}), dhcp_bad_lease);
	assert_int_equal(lease(f).state, TAPIR_DHCP_REQUESTING);
	/* option overload (52): the router in the file field */
	{
		uint8_t ov[] = {52, 1, 1};
		len = reply_frame(fr, &(struct reply){.type = 5, .xid = xid, .yiaddr = LEASED,
						      .extra = ov, .extra_len = sizeof(ov)});
		fx_expect_ok(f, fr, len);
		assert_int_equal(lease(f).state, TAPIR_DHCP_PROBING);
	}
}

/* Random bytes after a valid header never crash the parser, and every one
 * is counted (fx_free checks the accounting). */
static void test_garbage(void **state)
{
	struct fx *f = *state;
	uint8_t fr[800];
	uint32_t xid;
	start(f);
	xid = sent_xid(f, 1);
	for (uint32_t seed = 1; seed < 300; seed++) {
		size_t len = reply_frame(fr, &(struct reply){.type = 2, .xid = xid,
							     .yiaddr = LEASED});
		uint8_t *m = fr + TAPIR_ETH_HLEN + 28, *ip = fr + TAPIR_ETH_HLEN;
		pattern_fill(m + 240, 60, seed);
		m[240] = 53, m[241] = 1, m[242] = 2;
		tapir_put16(ip + 26, 0);
		fx_input(f, fr, len);
		if (lease(f).state != TAPIR_DHCP_SELECTING) {
			tapir_dhcp_release(f->s, f->now);
			start(f);
			xid = sent_xid(f, 1);
		}
	}
}

int main(void)
{
	return CMT_RUN(setup, teardown, test_discover_backoff, test_bind, test_renew, test_renew_t1_in_probe,
		       test_rebind_expire, test_nak, test_conflict_decline, test_release,
		       test_malformed, test_garbage);
}
