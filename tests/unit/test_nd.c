/* Neighbor Discovery (RFC 4861), DAD (RFC 4862) and MLDv2 reports (RFC
 * 3810): the link-local address, DAD and its conflicts, answering
 * solicitations, the cache's states (INCOMPLETE, REACHABLE, STALE, DELAY,
 * PROBE) with time passed in, its bounds, router advertisements; two
 * stacks resolving each other over the in-memory link; and RFC 7217's
 * stable interface identifiers. */
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
static const uint8_t FD4[16] = {0xfd, [15] = 4}; /* fd00::4 */
static const uint8_t SN_PEER_MAC[6] = {0x33, 0x33, 0xff, 0, 0, 2}; /* ff02::1:ff00:2's */

/* An NS for TARGET from SRC (with our peer's MAC unless SRC is ::). */
static size_t ns_frame(const uint8_t *src, const uint8_t *dst, const uint8_t *target, uint8_t hlim)
{
	uint8_t b[24] = {0};
	bool dad = tapir_ipv6_is_unspecified(src);
	memcpy(b, target, 16);
	b[16] = TAPIR_ND_OPT_SRC_LLADDR;
	b[17] = 1;
	memcpy(b + 18, MAC_PEER, 6);
	return fr_icmp6_frame(FR, src, dst, hlim, TAPIR_ICMP6_NEIGHBOR_SOLICIT, 0, 0, b, dad ? 16 : 24);
}

/* An NA for TARGET at MAC with FLAGS (R/S/O), to DST. */
static size_t na_frame(const uint8_t *dst, const uint8_t *target, const uint8_t *mac, uint8_t flags)
{
	uint8_t b[24] = {0};
	memcpy(b, target, 16);
	b[16] = TAPIR_ND_OPT_TGT_LLADDR;
	b[17] = 1;
	if (mac)
		memcpy(b + 18, mac, 6);
	return fr_icmp6_frame(FR, target, dst, 255, TAPIR_ICMP6_NEIGHBOR_ADVERT, 0,
			      (uint32_t)flags << 24, b, mac ? 24 : 16);
}

static const uint8_t *sn(const uint8_t *a)
{
	static uint8_t g[16];
	tapir_ipv6_solicited_node(g, a);
	return g;
}

static const struct nd_entry *entry(struct fx *f, const uint8_t *ip) { return nd_lookup(f->s, ip); }

/* RFC 4291 Appendix A; RFC 4862 5.4.2: the join's report, then an NS from
 * ::, then the address is ours */
static void test_link_local_and_dad(void **state)
{
	struct fx *f = *state;
	uint8_t a[16];
	const uint8_t *ip, *m;
	size_t mlen;
	(void)state;
	assert_int_equal(tapir_iface_enable_ipv6(f->s, f->ifi, f->now), 0);
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 0, a, NULL), TAPIR_ADDR6_TENTATIVE);
	assert_memory_equal(a, LL_US, 16);
	fx_advance(f, TAPIR_SEC(1));
	ip = cap_last_icmp6(&f->cap, TAPIR_ICMP6_NEIGHBOR_SOLICIT, &m, &mlen);
	assert_non_null(ip);
	assert_memory_equal(ip + 8, IP6_UNSPEC, 16);
	assert_memory_equal(ip + 24, sn(LL_US), 16);
	assert_int_equal(ip[7], 255);
	assert_int_equal(mlen, 24); /* no source link-layer option from :: */
	assert_memory_equal(m + 8, LL_US, 16);
	assert_icmp6_csum(ip, m, mlen);
	/* the MLDv2 report came first: hop limit 1, a router alert, the
	 * solicited-node group as "changed to exclude" */
	ip = cap_l3(&f->cap, 0, TAPIR_ETH_P_IPV6, NULL);
	assert_int_equal(ip[6], TAPIR_IPPROTO_HOPOPTS);
	assert_int_equal(ip[7], 1);
	assert_int_equal(ip[40 + 2], TAPIR_IPV6_OPT_RTALERT);
	assert_int_equal(ip[48], TAPIR_ICMP6_MLD2_REPORT);
	assert_int_equal(tapir_get16(ip + 48 + 6), 1);
	assert_int_equal(ip[56], 4);
	assert_memory_equal(ip + 60, sn(LL_US), 16);
	assert_icmp6_csum(ip, ip + 48, 28);
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 0, NULL, NULL), TAPIR_ADDR6_TENTATIVE);
	fx_advance(f, TAPIR_SEC(1));
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 0, NULL, NULL), TAPIR_ADDR6_PREFERRED);
	assert_int_equal(fx_st(f)->nd_dad_ok, 1);
	assert_int_equal(cap_count_icmp6(&f->cap, TAPIR_ICMP6_NEIGHBOR_SOLICIT), 1);
	/* RFC 4861 7.2.6: then one unsolicited advertisement to all nodes,
	 * Override set, Solicited not, with our MAC */
	assert_int_equal(cap_count_icmp6(&f->cap, TAPIR_ICMP6_NEIGHBOR_ADVERT), 1);
	ip = cap_last_icmp6(&f->cap, TAPIR_ICMP6_NEIGHBOR_ADVERT, &m, &mlen);
	assert_memory_equal(ip + 24, IP6_ALLNODES, 16);
	assert_int_equal(m[4], TAPIR_ND_NA_OVERRIDE);
	assert_memory_equal(m + 8, LL_US, 16);
	assert_int_equal(m[24], TAPIR_ND_OPT_TGT_LLADDR);
	assert_memory_equal(m + 26, MAC_US, 6);
	assert_icmp6_csum(ip, m, mlen);
}

/* RFC 4862 5.4.3, 5.4.4: another node's DAD or advertisement for our
 * tentative address: a duplicate, never used */
static void test_dad_conflicts(void **state)
{
	struct fx *f = *state;
	uint8_t a[16];
	assert_int_equal(tapir_iface_add_ipv6(f->s, f->ifi, IP6_OTHER, 64, f->now), 0);
	assert_int_equal(tapir_iface_add_ipv6(f->s, f->ifi, IP6_PEER, 64, f->now), 0);
	assert_int_equal(tapir_iface_add_ipv6(f->s, f->ifi, FD4, 64, f->now), 0);
	fx_expect_ok(f, FR, ns_frame(IP6_UNSPEC, sn(IP6_OTHER), IP6_OTHER, 255));
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 2, a, NULL), TAPIR_ADDR6_DUPLICATE);
	assert_memory_equal(a, IP6_OTHER, 16);
	fx_expect_ok(f, FR, na_frame(IP6_ALLNODES, IP6_PEER, MAC_PEER, TAPIR_ND_NA_OVERRIDE));
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 3, NULL, NULL), TAPIR_ADDR6_DUPLICATE);
	/* a solicitation from a node resolving it: not yet ours to answer */
	fx_expect_drop(f, FR, ns_frame(LL_PEER, sn(FD4), FD4, 255), ip6_tentative);
	for (int i = 0; i < 3; i++)
		fx_advance(f, TAPIR_SEC(1));
	assert_int_equal(fx_st(f)->nd_dad_failed, 2);
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 2, NULL, NULL), TAPIR_ADDR6_DUPLICATE);
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 4, NULL, NULL), TAPIR_ADDR6_PREFERRED);
	cap_clear(&f->cap);
	fx_expect_drop(f, FR, ns_frame(LL_PEER, sn(IP6_OTHER), IP6_OTHER, 255), ip6_not_for_us);
}

/* RFC 4861 7.2.3, 7.2.4: an NS for us: the sender is learned (STALE) and
 * answered, solicited and override, with our MAC */
static void test_answer_ns(void **state)
{
	struct fx *f = *state;
	const uint8_t *ip, *m;
	size_t mlen;
	fx_expect_ok(f, FR, ns_frame(IP6_PEER, sn(IP6_US), IP6_US, 255));
	assert_memory_equal(entry(f, IP6_PEER)->mac, MAC_PEER, 6);
	ip = cap_last_icmp6(&f->cap, TAPIR_ICMP6_NEIGHBOR_ADVERT, &m, &mlen);
	assert_non_null(ip);
	assert_memory_equal(f->cap.f[0].data, MAC_PEER, 6);
	assert_memory_equal(ip + 8, IP6_US, 16);
	assert_memory_equal(ip + 24, IP6_PEER, 16);
	assert_int_equal(ip[7], 255);
	assert_int_equal(m[4], TAPIR_ND_NA_SOLICITED | TAPIR_ND_NA_OVERRIDE);
	assert_memory_equal(m + 8, IP6_US, 16);
	assert_int_equal(m[24], TAPIR_ND_OPT_TGT_LLADDR);
	assert_memory_equal(m + 26, MAC_US, 6);
	assert_icmp6_csum(ip, m, mlen);
	/* sending to a STALE entry starts DELAY (7.3.3) */
	assert_int_equal(entry(f, IP6_PEER)->state, ND_DELAY);
	cap_clear(&f->cap);
	/* the DAD of a node that wants our address: to all nodes, not solicited */
	fx_expect_ok(f, FR, ns_frame(IP6_UNSPEC, sn(IP6_US), IP6_US, 255));
	ip = cap_last_icmp6(&f->cap, TAPIR_ICMP6_NEIGHBOR_ADVERT, &m, NULL);
	assert_memory_equal(ip + 24, IP6_ALLNODES, 16);
	assert_int_equal(m[4], TAPIR_ND_NA_OVERRIDE);
}

/* RFC 4861 7.1.1, 7.1.2 */
static void test_validation(void **state)
{
	struct fx *f = *state;
	size_t n;
	fx_expect_drop(f, FR, ns_frame(IP6_PEER, sn(IP6_US), IP6_US, 64), nd_hop_limit);
	fx_expect_drop(f, FR, ns_frame(IP6_PEER, sn(IP6_US), IP6_ALLNODES, 255), nd_bad);
	/* an option of length 0 */
	n = fr_icmp6_frame(FR, IP6_PEER, sn(IP6_US), 255, TAPIR_ICMP6_NEIGHBOR_SOLICIT, 0, 0,
			   (uint8_t[24]){[0] = 0xfd, [15] = 1, [16] = 1}, 24);
	fx_expect_drop(f, FR, n, nd_bad);
	/* from :: with a link-layer option, or not to the solicited group */
	n = fr_icmp6_frame(FR, IP6_UNSPEC, sn(IP6_US), 255, TAPIR_ICMP6_NEIGHBOR_SOLICIT, 0, 0,
			   (uint8_t[24]){[0] = 0xfd, [15] = 1, [16] = 1, [17] = 1}, 24);
	fx_expect_drop(f, FR, n, nd_bad);
	fx_expect_drop(f, FR, ns_frame(IP6_UNSPEC, IP6_US, IP6_US, 255), nd_bad);
	fx_expect_drop(f, FR, ns_frame(IP6_PEER, sn(IP6_OTHER), IP6_OTHER, 255), ip6_not_for_us);
	fx_expect_drop(f, FR, ns_frame(IP6_PEER, IP6_US, IP6_OTHER, 255), nd_not_for_us);
	/* a solicited NA to a group */
	fx_expect_drop(f, FR, na_frame(IP6_ALLNODES, IP6_PEER, MAC_PEER, TAPIR_ND_NA_SOLICITED), nd_bad);
	fx_expect_drop(f, FR, na_frame(IP6_US, IP6_PEER, MAC_PEER, TAPIR_ND_NA_SOLICITED), nd_no_entry);
	assert_int_equal(f->cap.n, 0);
}

/* Our echo reply to an unknown neighbor: RFC 4861 7.2.2 resolution */
static void reply_to_peer(struct fx *f)
{
	fx_input(f, FR, fr_icmp6_frame(FR, IP6_PEER, IP6_US, 0, TAPIR_ICMP6_ECHO, 0, 1, "ab", 2));
}

static void test_resolve(void **state)
{
	struct fx *f = *state;
	const uint8_t *ip, *m;
	size_t mlen;
	for (int i = 0; i < 10; i++)
		reply_to_peer(f);
	assert_int_equal(entry(f, IP6_PEER)->state, ND_INCOMPLETE);
	assert_int_equal(entry(f, IP6_PEER)->queued, f->cfg.nd_queue_len);
	assert_int_equal(fx_st(f)->nd_queue_dropped, 10 - f->cfg.nd_queue_len);
	assert_int_equal(f->cap.n, 1);
	ip = cap_last_icmp6(&f->cap, TAPIR_ICMP6_NEIGHBOR_SOLICIT, &m, &mlen);
	assert_non_null(ip);
	assert_memory_equal(ip + 8, IP6_US, 16); /* the source of the waiting packet */
	assert_memory_equal(ip + 24, sn(IP6_PEER), 16);
	assert_memory_equal(f->cap.f[0].data, SN_PEER_MAC, 6);
	assert_int_equal(m[24], TAPIR_ND_OPT_SRC_LLADDR);
	assert_memory_equal(m + 26, MAC_US, 6);
	cap_clear(&f->cap);
	fx_expect_ok(f, FR, na_frame(IP6_US, IP6_PEER, MAC_PEER, TAPIR_ND_NA_SOLICITED | TAPIR_ND_NA_OVERRIDE));
	assert_int_equal(entry(f, IP6_PEER)->state, ND_REACHABLE);
	assert_int_equal(cap_count_icmp6(&f->cap, TAPIR_ICMP6_ECHO_REPLY), f->cfg.nd_queue_len);
	assert_memory_equal(f->cap.f[0].data, MAC_PEER, 6);
	assert_int_equal(fx_st(f)->nd_resolved, 1);
}

/* Three multicast solicitations a second apart, then the waiting packets'
 * sender (ourselves) hears "address unreachable" */
static void test_resolve_fails(void **state)
{
	struct fx *f = *state;
	reply_to_peer(f);
	for (int i = 0; i < 3; i++)
		fx_advance(f, TAPIR_SEC(1));
	assert_int_equal(cap_count_icmp6(&f->cap, TAPIR_ICMP6_NEIGHBOR_SOLICIT), 3);
	assert_null(entry(f, IP6_PEER));
	assert_int_equal(fx_st(f)->nd_resolve_failed, 1);
	fx_poll(f); /* the error, through the loopback queue */
	assert_int_equal(fx_st(f)->icmp6_errors_rx, 1);
}

/* REACHABLE -> STALE -> DELAY -> PROBE -> gone, and back to REACHABLE */
static void test_states(void **state)
{
	struct fx *f = *state;
	const uint8_t *ip;
	reply_to_peer(f);
	fx_expect_ok(f, FR, na_frame(IP6_US, IP6_PEER, MAC_PEER, TAPIR_ND_NA_SOLICITED | TAPIR_ND_NA_OVERRIDE));
	/* RFC 4861 6.3.2: ReachableTime within 0.5 and 1.5 of 30 s */
	fx_advance(f, TAPIR_SEC(15) - 1);
	assert_int_equal(entry(f, IP6_PEER)->state, ND_REACHABLE);
	fx_advance(f, TAPIR_SEC(30) + 2);
	assert_int_equal(entry(f, IP6_PEER)->state, ND_STALE);
	cap_clear(&f->cap);
	reply_to_peer(f); /* sent at once, to the cached MAC */
	assert_int_equal(cap_count_icmp6(&f->cap, TAPIR_ICMP6_ECHO_REPLY), 1);
	assert_int_equal(entry(f, IP6_PEER)->state, ND_DELAY);
	fx_advance(f, TAPIR_SEC(5) - 1);
	assert_int_equal(entry(f, IP6_PEER)->state, ND_DELAY);
	fx_advance(f, 1);
	assert_int_equal(entry(f, IP6_PEER)->state, ND_PROBE);
	ip = cap_last_icmp6(&f->cap, TAPIR_ICMP6_NEIGHBOR_SOLICIT, NULL, NULL);
	assert_memory_equal(ip + 24, IP6_PEER, 16); /* unicast */
	assert_memory_equal(f->cap.f[f->cap.n - 1].data, MAC_PEER, 6);
	/* an answer: REACHABLE again */
	fx_expect_ok(f, FR, na_frame(IP6_US, IP6_PEER, MAC_PEER, TAPIR_ND_NA_SOLICITED));
	assert_int_equal(entry(f, IP6_PEER)->state, ND_REACHABLE);
	/* no answer this time: three probes, then the entry goes */
	fx_advance(f, TAPIR_SEC(46));
	reply_to_peer(f);
	fx_advance(f, TAPIR_SEC(5));
	cap_clear(&f->cap);
	fx_advance(f, TAPIR_SEC(1));
	fx_advance(f, TAPIR_SEC(1));
	assert_int_equal(entry(f, IP6_PEER)->state, ND_PROBE);
	fx_advance(f, TAPIR_SEC(1));
	assert_null(entry(f, IP6_PEER));
	assert_int_equal(cap_count_icmp6(&f->cap, TAPIR_ICMP6_NEIGHBOR_SOLICIT), 2);
}

/* RFC 4861 7.2.5: the override flag */
static void test_override(void **state)
{
	struct fx *f = *state;
	reply_to_peer(f);
	fx_expect_ok(f, FR, na_frame(IP6_US, IP6_PEER, MAC_PEER, TAPIR_ND_NA_SOLICITED));
	assert_int_equal(entry(f, IP6_PEER)->state, ND_REACHABLE);
	/* another MAC without O: the entry only turns STALE */
	fx_expect_ok(f, FR, na_frame(IP6_US, IP6_PEER, MAC_OTHER, TAPIR_ND_NA_SOLICITED));
	assert_int_equal(entry(f, IP6_PEER)->state, ND_STALE);
	assert_memory_equal(entry(f, IP6_PEER)->mac, MAC_PEER, 6);
	/* with O: taken */
	fx_expect_ok(f, FR, na_frame(IP6_US, IP6_PEER, MAC_OTHER, TAPIR_ND_NA_OVERRIDE));
	assert_int_equal(entry(f, IP6_PEER)->state, ND_STALE);
	assert_memory_equal(entry(f, IP6_PEER)->mac, MAC_OTHER, 6);
	fx_expect_ok(f, FR, na_frame(IP6_US, IP6_PEER, MAC_OTHER, TAPIR_ND_NA_SOLICITED | TAPIR_ND_NA_OVERRIDE));
	assert_int_equal(entry(f, IP6_PEER)->state, ND_REACHABLE);
}

/* A flood of solicitations from new sources costs no more than the cache */
static void test_cache_bound(void **state)
{
	struct fx *f = *state;
	unsigned n = f->cfg.nd_cache_size + 50, used = 0;
	for (unsigned i = 0; i < n; i++) {
		uint8_t src[16];
		memcpy(src, IP6_PEER, 16);
		tapir_put16(src + 12, (uint16_t)i);
		fx_expect_ok(f, FR, ns_frame(src, sn(IP6_US), IP6_US, 255));
	}
	for (unsigned i = 0; i < f->cfg.nd_cache_size; i++)
		used += f->s->nd[i].state != ND_FREE;
	assert_int_equal(used, f->cfg.nd_cache_size);
	assert_int_equal(fx_st(f)->nd_evicted, 50);
}

/* The RA's first word after the checksum: Cur Hop Limit 64, no flags,
 * Router Lifetime L seconds (RFC 4861 4.2) */
#define RA(l) (64u << 24 | (l))

/* RFC 4861 6.3.4: bounded router and prefix lists; the default route */
static void test_router_advert(void **state)
{
	struct fx *f = *state;
	uint8_t ra[8 + 8 + 32] = {0}, nh[16], far[16] = {0x20, 1, 0xd, 0xb8, [15] = 9};
	size_t n;
	ra[8] = TAPIR_ND_OPT_SRC_LLADDR;
	ra[9] = 1;
	memcpy(ra + 10, MAC_PEER, 6);
	ra[16] = TAPIR_ND_OPT_PREFIX;
	ra[17] = 4;
	ra[18] = 64;
	ra[19] = 0x80;
	tapir_put32(ra + 20, 3600);
	memcpy(ra + 32, (uint8_t[8]){0xfd, 0, 0, 9}, 8);
	for (int i = 0; i < 10; i++) {
		uint8_t src[16];
		memcpy(src, LL_PEER, 16);
		src[15] = (uint8_t)(10 + i);
		ra[32 + 7] = (uint8_t)i; /* fd00:9:0:I::/64 */
		n = fr_icmp6_frame(FR, src, IP6_ALLNODES, 255, TAPIR_ICMP6_ROUTER_ADVERT, 0, RA(30), ra,
				   sizeof(ra));
		fx_expect_ok(f, FR, n);
	}
	assert_int_equal(fx_st(f)->nd_ra_rx, 10);
	for (unsigned i = 0; i < f->cfg.nd_routers; i++)
		assert_true(f->s->nd_routers[i].used);
	assert_int_equal(ipv6_route(f->s, far, nh), f->ifi);
	assert_int_equal(nh[15], 10); /* the first router, reachable (STALE) */
	assert_int_equal(nd_prefix_onlink(f->s, (uint8_t[16]){0xfd, 0, 0, 9, 0, 0, 0, 3, [15] = 5}), f->ifi);
	assert_int_equal(nd_prefix_onlink(f->s, (uint8_t[16]){0xfd, 0, 0, 9, 0, 0, 0, 9, [15] = 5}), -1);
	/* lifetime 0: gone */
	for (int i = 0; i < 10; i++) {
		uint8_t src[16];
		memcpy(src, LL_PEER, 16);
		src[15] = (uint8_t)(10 + i);
		n = fr_icmp6_frame(FR, src, IP6_ALLNODES, 255, TAPIR_ICMP6_ROUTER_ADVERT, 0, RA(0), ra,
				   sizeof(ra));
		fx_expect_ok(f, FR, n);
	}
	assert_int_equal(ipv6_route(f->s, far, nh), -1);
	/* from a global address: not a router's */
	n = fr_icmp6_frame(FR, IP6_PEER, IP6_ALLNODES, 255, TAPIR_ICMP6_ROUTER_ADVERT, 0, 0, ra, sizeof(ra));
	fx_expect_drop(f, FR, n, nd_bad);
}

/* A configured default router (tapir_iface_add_router6): off-link
 * destinations go through it, tapir_ipv6_router names it, and its own
 * advertisement of lifetime 0 does not remove it (RFC 4861 6.3.4 leaves
 * the list to the host) */
static void test_router_configured(void **state)
{
	struct fx *f = *state;
	uint8_t ra[8] = {TAPIR_ND_OPT_SRC_LLADDR, 1}, nh[16], got[16];
	uint8_t far[16] = {0x20, 1, 0xd, 0xb8, [15] = 9};
	size_t n;
	assert_int_equal(ipv6_route(f->s, far, nh), -1);
	assert_int_equal(tapir_ipv6_router(f->s, got), -1);
	assert_int_equal(tapir_iface_add_router6(f->s, f->ifi, IP6_ALLNODES), -EINVAL);
	assert_int_equal(tapir_iface_add_router6(f->s, f->ifi + 5, LL_PEER), -EINVAL);
	assert_int_equal(tapir_iface_add_router6(f->s, f->ifi, LL_PEER), 0);
	assert_int_equal(ipv6_route(f->s, far, nh), f->ifi);
	assert_memory_equal(nh, LL_PEER, 16);
	assert_int_equal(tapir_ipv6_router(f->s, got), f->ifi);
	assert_memory_equal(got, LL_PEER, 16);
	memcpy(ra + 2, MAC_PEER, 6);
	n = fr_icmp6_frame(FR, LL_PEER, IP6_ALLNODES, 255, TAPIR_ICMP6_ROUTER_ADVERT, 0, RA(0), ra,
			   sizeof(ra));
	fx_expect_ok(f, FR, n);
	fx_advance(f, TAPIR_SEC(3600));
	assert_int_equal(ipv6_route(f->s, far, nh), f->ifi);
	assert_memory_equal(nh, LL_PEER, 16);
}

/* RFC 4861 6.3.7: once the link-local address is ours, three router
 * solicitations 4 s apart, to all routers; an advertisement ends them */
static void test_router_solicit(void **state)
{
	struct fx *f = *state;
	static const uint8_t all_routers[16] = {0xff, 2, [15] = 2};
	const uint8_t *ip, *m;
	size_t mlen;
	assert_int_equal(tapir_iface_enable_ipv6(f->s, f->ifi, f->now), 0);
	for (int i = 0; i < 20; i++)
		fx_advance(f, TAPIR_SEC(1));
	assert_int_equal(cap_count_icmp6(&f->cap, TAPIR_ICMP6_ROUTER_SOLICIT), 3);
	ip = cap_last_icmp6(&f->cap, TAPIR_ICMP6_ROUTER_SOLICIT, &m, &mlen);
	assert_memory_equal(ip + 8, LL_US, 16);
	assert_memory_equal(ip + 24, all_routers, 16);
	assert_int_equal(ip[7], 255);
	assert_int_equal(mlen, 16);
	assert_int_equal(m[8], TAPIR_ND_OPT_SRC_LLADDR);
	assert_memory_equal(m + 10, MAC_US, 6);
	assert_icmp6_csum(ip, m, mlen);
}

static void test_router_solicit_answered(void **state)
{
	struct fx *f = *state;
	uint8_t ra[8] = {0};
	assert_int_equal(tapir_iface_enable_ipv6(f->s, f->ifi, f->now), 0);
	while (!cap_count_icmp6(&f->cap, TAPIR_ICMP6_ROUTER_SOLICIT))
		fx_advance(f, TAPIR_MS(100));
	fx_expect_ok(f, FR, fr_icmp6_frame(FR, LL_PEER, IP6_ALLNODES, 255, TAPIR_ICMP6_ROUTER_ADVERT, 0,
					   RA(0), ra, 8));
	for (int i = 0; i < 20; i++)
		fx_advance(f, TAPIR_SEC(1));
	assert_int_equal(cap_count_icmp6(&f->cap, TAPIR_ICMP6_ROUTER_SOLICIT), 1);
}

/* RFC 4861 6.3.4: an RA's MTU option, within 1280 and the link's MTU */
static void test_router_mtu(void **state)
{
	struct fx *f = *state;
	uint8_t ra[16] = {[8] = TAPIR_ND_OPT_MTU, [9] = 1};
	static const unsigned mtus[] = {1400, 1000, 9000, 1280};
	static const unsigned want[] = {1400, 1400, 1400, 1280};
	for (int i = 0; i < 4; i++) {
		tapir_put32(ra + 12, mtus[i]);
		fx_expect_ok(f, FR, fr_icmp6_frame(FR, LL_PEER, IP6_ALLNODES, 255, TAPIR_ICMP6_ROUTER_ADVERT,
						   0, RA(0), ra, 16));
		assert_int_equal(ipv6_path_mtu(f->s, IP6_PEER), want[i]);
	}
}

/* An RA from LL_PEER with one prefix option: PREFIX/PLEN, FLAGS, the
 * valid and preferred lifetimes. */
static size_t ra_prefix(const uint8_t *prefix, uint8_t plen, uint8_t flags, uint32_t valid,
			uint32_t preferred)
{
	uint8_t ra[8 + 32] = {[8] = TAPIR_ND_OPT_PREFIX, [9] = 4};
	ra[10] = plen;
	ra[11] = flags;
	tapir_put32(ra + 12, valid);
	tapir_put32(ra + 16, preferred);
	memcpy(ra + 24, prefix, 16);
	return fr_icmp6_frame(FR, LL_PEER, IP6_ALLNODES, 255, TAPIR_ICMP6_ROUTER_ADVERT, 0, RA(0), ra,
			      sizeof(ra));
}

/* RFC 4862 5.5: only when asked; an autonomous /64 gives an address with
 * our interface identifier, through DAD; deprecated, then gone */
static void test_slaac(void **state)
{
	struct fx *f = *state;
	static const uint8_t p9[16] = {0xfd, 0, 0, 9}, p8[16] = {0xfd, 0, 0, 8};
	static const uint8_t a9[16] = {0xfd, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0, 0, 1};
	uint8_t a[16];
	fx_expect_ok(f, FR, ra_prefix(p9, 64, 0xc0, 100, 50));
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 2, NULL, NULL), TAPIR_ADDR6_FREE);
	assert_int_equal(tapir_iface_set_slaac(f->s, f->ifi, 1, f->now), 0);
	fx_expect_ok(f, FR, ra_prefix(p8, 64, 0x80, 100, 50));  /* not autonomous */
	fx_expect_ok(f, FR, ra_prefix(p8, 48, 0xc0, 100, 50));  /* not a /64 */
	fx_expect_ok(f, FR, ra_prefix(p8, 64, 0xc0, 10, 50));   /* preferred > valid */
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 2, NULL, NULL), TAPIR_ADDR6_FREE);
	fx_expect_ok(f, FR, ra_prefix(p9, 64, 0xc0, 100, 50));
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 2, a, NULL), TAPIR_ADDR6_TENTATIVE);
	assert_memory_equal(a, a9, 16);
	for (int i = 0; i < 3; i++)
		fx_advance(f, TAPIR_SEC(1));
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 2, NULL, NULL), TAPIR_ADDR6_PREFERRED);
	assert_memory_equal(ipv6_select_source(f->s, f->ifi, (uint8_t[16]){0xfd, 0, 0, 9, [15] = 7}), a9, 16);
	/* the same prefix again: no second address */
	fx_expect_ok(f, FR, ra_prefix(p9, 64, 0xc0, 100, 50));
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 3, NULL, NULL), TAPIR_ADDR6_FREE);
	/* past the preferred lifetime: deprecated, no longer a source */
	fx_advance(f, TAPIR_SEC(60));
	assert_memory_equal(ipv6_select_source(f->s, f->ifi, (uint8_t[16]){0xfd, 0, 0, 9, [15] = 7}),
			    IP6_US, 16);
	fx_advance(f, TAPIR_SEC(40));
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 2, NULL, NULL), TAPIR_ADDR6_FREE);
}

/* RFC 4862 5.5.3 (e): an advertisement cannot cut a lifetime below two
 * hours; and a flood of prefixes costs no more than the address slots */
static void test_slaac_bounds(void **state)
{
	struct fx *f = *state;
	static const uint8_t p9[16] = {0xfd, 0, 0, 9};
	unsigned used = 0;
	assert_int_equal(tapir_iface_set_slaac(f->s, f->ifi, 1, f->now), 0);
	fx_expect_ok(f, FR, ra_prefix(p9, 64, 0xc0, 4 * 3600, 4 * 3600));
	fx_expect_ok(f, FR, ra_prefix(p9, 64, 0xc0, 60, 60));
	fx_advance(f, TAPIR_SEC(3600));
	assert_int_not_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 2, NULL, NULL), TAPIR_ADDR6_FREE);
	fx_advance(f, TAPIR_SEC(3600) + 1);
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 2, NULL, NULL), TAPIR_ADDR6_FREE);
	for (int i = 0; i < 100; i++) {
		uint8_t p[16] = {0xfd, 1, 0, 0, 0, 0, (uint8_t)(i >> 8), (uint8_t)i};
		fx_expect_ok(f, FR, ra_prefix(p, 64, 0xc0, 600, 600));
	}
	for (unsigned i = 0; i < TAPIR_IPV6_ADDRS; i++)
		used += tapir_iface_ipv6_addr(f->s, f->ifi, i, NULL, NULL) != TAPIR_ADDR6_FREE;
	assert_int_equal(used, TAPIR_IPV6_ADDRS);
}

/* RFC 3810 6.2: a general query is answered within its response delay */
static void test_mld_query(void **state)
{
	struct fx *f = *state;
	uint8_t q[20] = {0};
	size_t n = fr_icmp6_frame(FR, LL_PEER, IP6_ALLNODES, 1, TAPIR_ICMP6_MLD_QUERY, 0, 1000u << 16, q, 20);
	fx_expect_ok(f, FR, n);
	assert_int_equal(f->cap.n, 0);
	fx_advance(f, TAPIR_SEC(1));
	{
		const uint8_t *ip = cap_last_icmp6(&f->cap, TAPIR_ICMP6_MLD2_REPORT, NULL, NULL);
		assert_non_null(ip);
		assert_memory_equal(ip + 8, LL_US, 16);
		/* fe80::ff:fe00:1 and fd00::1 share ff02::1:ff00:1 */
		assert_int_equal(tapir_get16(ip + 48 + 6), 1);
		assert_int_equal(ip[56], 2);                    /* MODE_IS_EXCLUDE */
	}
	n = fr_icmp6_frame(FR, LL_PEER, IP6_ALLNODES, 64, TAPIR_ICMP6_MLD_QUERY, 0, 1000u << 16, q, 20);
	fx_expect_drop(f, FR, n, nd_hop_limit);
}

/* ---- two stacks over the in-memory link, time passed in ---- */

struct two {
	struct tapir_memlink *m;
	struct tapir_stack *s[2];
	tapir_time_t now;
};

static void two_rx(void *arg, int side, uint8_t *frame, size_t len, tapir_time_t now)
{
	struct two *t = arg;
	tapir_stack_input(t->s[side], 0, frame, len, now);
}

static void two_run(struct two *t, tapir_time_t until)
{
	while (t->now < until) {
		t->now += 1000;
		tapir_memlink_set_time(t->m, t->now);
		tapir_memlink_deliver(t->m, t->now, two_rx, t);
		tapir_stack_poll(t->s[0], t->now);
		tapir_stack_poll(t->s[1], t->now);
	}
}

static void test_two_stacks(void **state)
{
	struct tapir_memlink_params mp;
	struct tapir_config cfg;
	struct two t = {.now = TAPIR_SEC(1)};
	const uint8_t *macs[2] = {MAC_US, MAC_PEER}, *addrs[2] = {IP6_US, IP6_PEER};
	const struct nd_entry *e;
	struct tp_pkt *p;
	(void)state;
	tapir_memlink_params_default(&mp);
	t.m = tapir_memlink_new(&mp);
	tapir_config_default(&cfg);
	for (int i = 0; i < 2; i++) {
		t.s[i] = tapir_stack_new(&cfg);
		assert_int_equal(tapir_iface_add(t.s[i], tapir_memlink_end(t.m, i), macs[i], 1500), 0);
		assert_int_equal(tapir_iface_add_ipv6(t.s[i], 0, addrs[i], 64, t.now), 0);
	}
	two_run(&t, TAPIR_SEC(4));
	assert_int_equal(tapir_iface_ipv6_addr(t.s[0], 0, 1, NULL, NULL), TAPIR_ADDR6_PREFERRED);
	assert_int_equal(tapir_iface_ipv6_addr(t.s[1], 0, 1, NULL, NULL), TAPIR_ADDR6_PREFERRED);
	/* A pings B: A resolves B (INCOMPLETE -> REACHABLE); B learns A from
	 * the NS (STALE) and answers through it (DELAY) */
	p = tp_pkt_alloc(t.s[0], 64);
	p->len = (uint32_t)fr_icmp6(p->data, IP6_US, IP6_PEER, TAPIR_ICMP6_ECHO, 0, 7, "ping", 4);
	assert_int_equal(ipv6_output(t.s[0], p, NULL, IP6_PEER, 58, 0, -1, 0), 0);
	assert_int_equal(nd_lookup(t.s[0], IP6_PEER)->state, ND_INCOMPLETE);
	two_run(&t, t.now + TAPIR_MS(10));
	assert_int_equal(t.s[1]->stats.icmp6_echo_replied, 1);
	e = nd_lookup(t.s[0], IP6_PEER);
	assert_int_equal(e->state, ND_REACHABLE);
	assert_memory_equal(e->mac, MAC_PEER, 6);
	e = nd_lookup(t.s[1], IP6_US);
	assert_int_equal(e->state, ND_DELAY);
	/* B's delay ends in a unicast probe that A answers: REACHABLE */
	two_run(&t, t.now + TAPIR_SEC(5) + TAPIR_MS(10));
	assert_int_equal(nd_lookup(t.s[1], IP6_US)->state, ND_REACHABLE);
	assert_int_equal(t.s[0]->stats.drop[TAPIR_DROP_icmp6_type], 1); /* the echo reply */
	for (int i = 0; i < 2; i++) {
		const struct tapir_stats *st = tapir_stats(t.s[i]);
		assert_int_equal(st->rx_frames, st->rx_delivered + tapir_drops_total(st));
		assert_int_equal(st->nd_dad_failed, 0);
		tapir_stack_free(t.s[i]);
	}
	tapir_memlink_free(t.m);
}

/* RFC 4862 5.4.4: another node advertises an address already ours (from
 * that address): as RFC 5227 2.4 (b), defended once (our NA, Override
 * set), given up when claimed again within DEFEND_INTERVAL (10 s) */
static void test_later_conflict(void **state)
{
	struct fx *f = *state;
	const uint8_t *m;
	fx_expect_ok(f, FR, na_frame(IP6_ALLNODES, IP6_US, MAC_US, TAPIR_ND_NA_OVERRIDE));
	assert_int_equal(fx_st(f)->nd_conflicts, 0); /* our own MAC: no claim */
	fx_expect_ok(f, FR, na_frame(IP6_ALLNODES, IP6_US, MAC_PEER, TAPIR_ND_NA_OVERRIDE));
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 1, NULL, NULL), TAPIR_ADDR6_PREFERRED);
	assert_non_null(cap_last_icmp6(&f->cap, TAPIR_ICMP6_NEIGHBOR_ADVERT, &m, NULL));
	assert_memory_equal(m + 8, IP6_US, 16);
	assert_int_equal(m[4], TAPIR_ND_NA_OVERRIDE);
	fx_advance(f, TAPIR_SEC(11));
	fx_expect_ok(f, FR, na_frame(IP6_ALLNODES, IP6_US, MAC_PEER, TAPIR_ND_NA_OVERRIDE));
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 1, NULL, NULL), TAPIR_ADDR6_PREFERRED);
	assert_int_equal(cap_count_icmp6(&f->cap, TAPIR_ICMP6_NEIGHBOR_ADVERT), 2);
	fx_advance(f, TAPIR_SEC(9));
	fx_expect_ok(f, FR, na_frame(IP6_ALLNODES, IP6_US, MAC_PEER, TAPIR_ND_NA_OVERRIDE));
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 1, NULL, NULL), TAPIR_ADDR6_DUPLICATE);
	assert_int_equal(cap_count_icmp6(&f->cap, TAPIR_ICMP6_NEIGHBOR_ADVERT), 2);
	assert_int_equal(fx_st(f)->nd_conflicts, 3);
	assert_int_equal(fx_st(f)->nd_dad_failed, 1);
	/* anything else from our own address is still refused */
	fx_expect_drop(f, FR, ns_frame(LL_US, sn(LL_PEER), LL_PEER, 255), ip6_bad_source);
}

/* ---- RFC 7217 stable interface identifiers (core/iid.c) ---- */

#define SECRET_A 0x0123456789abcdefull
#define SECRET_B 0xfedcba9876543210ull
static const uint8_t P8[16] = {0xfd, 0, 0, 8}, P9[16] = {0xfd, 0, 0, 9};

/* What RFC 7217 5 gives for PREFIX on interface 0 with DAD_Counter
 * COUNTER under secret {K0, 7}: F over Prefix | Net_Iface | DAD_Counter,
 * its 64 bits the identifier. */
static void want_iid(uint8_t out[16], const uint8_t *prefix, uint64_t k0, unsigned counter)
{
	const uint64_t key[2] = {k0, 7};
	uint8_t b[13] = {0};
	uint64_t rid;
	memcpy(b, prefix, 8);
	b[12] = (uint8_t)counter;
	rid = tapir_siphash(key, b, sizeof(b));
	memcpy(out, prefix, 8);
	for (int i = 0; i < 8; i++)
		out[8 + i] = (uint8_t)(rid >> (56 - 8 * i));
}

/* A stack forming RFC 7217 identifiers with secret {K0, 7}, SLAAC on
 * (its link-local address tentative). */
static struct fx *stable_new(uint64_t k0)
{
	struct tapir_config cfg;
	struct fx *f;
	tapir_config_default(&cfg);
	cfg.nd_addr_gen = TAPIR_ADDR_GEN_STABLE;
	cfg.nd_secret[0] = k0;
	cfg.nd_secret[1] = 7;
	f = fx_new_cfg(&cfg, 0);
	assert_int_equal(tapir_iface_set_slaac(f->s, f->ifi, 1, f->now), 0);
	return f;
}

/* The same with the link-local address through DAD, frames cleared. */
static struct fx *stable_fx(uint64_t k0)
{
	struct fx *f = stable_new(k0);
	for (int i = 0; i < 3; i++)
		fx_advance(f, TAPIR_SEC(1));
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 0, NULL, NULL), TAPIR_ADDR6_PREFERRED);
	cap_clear(&f->cap);
	return f;
}

/* An advertisement of PREFIX/64 (autonomous): a new address in slot K,
 * tentative; returned in A. */
static void slaac_in(struct fx *f, const uint8_t *prefix, unsigned k, uint8_t a[16])
{
	fx_expect_ok(f, FR, ra_prefix(prefix, 64, 0xc0, 600, 600));
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, k, a, NULL), TAPIR_ADDR6_TENTATIVE);
}

/* RFC 7217 5: the same secret gives the same addresses after a restart,
 * link-local and SLAAC alike; another secret others; none is EUI-64 */
static void test_stable_restart(void **state)
{
	uint8_t a[3][16], ll[3][16], w[16];
	const uint64_t k[3] = {SECRET_A, SECRET_A, SECRET_B};
	(void)state;
	for (int i = 0; i < 3; i++) {
		struct fx *f = stable_fx(k[i]);
		tapir_iface_ipv6_addr(f->s, f->ifi, 0, ll[i], NULL);
		slaac_in(f, P9, 1, a[i]);
		fx_free(f);
	}
	want_iid(w, (const uint8_t[8]){0xfe, 0x80}, SECRET_A, 0);
	assert_memory_equal(ll[0], w, 16);
	assert_memory_not_equal(ll[0], LL_US, 16);
	want_iid(w, P9, SECRET_A, 0);
	assert_memory_equal(a[0], w, 16);
	assert_memory_equal(a[1], a[0], 16);
	assert_memory_equal(ll[1], ll[0], 16);
	assert_memory_not_equal(a[2] + 8, a[0] + 8, 8);
	assert_memory_not_equal(ll[2] + 8, ll[0] + 8, 8);
}

/* RFC 7217 5: a different identifier on each prefix (none ties the two
 * networks' addresses together) */
static void test_stable_per_prefix(void **state)
{
	struct fx *f = stable_fx(SECRET_A);
	uint8_t a8[16], a9[16], w[16];
	(void)state;
	slaac_in(f, P8, 1, a8);
	slaac_in(f, P9, 2, a9);
	want_iid(w, P8, SECRET_A, 0);
	assert_memory_equal(a8, w, 16);
	want_iid(w, P9, SECRET_A, 0);
	assert_memory_equal(a9, w, 16);
	assert_memory_not_equal(a8 + 8, a9 + 8, 8);
	for (int i = 0; i < 3; i++)
		fx_advance(f, TAPIR_SEC(1));
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 1, NULL, NULL), TAPIR_ADDR6_PREFERRED);
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 2, NULL, NULL), TAPIR_ADDR6_PREFERRED);
	fx_free(f);
}

/* RFC 7217 6: a DAD conflict (another node's NA or DAD) forms the address
 * again with DAD_Counter one more, which goes through DAD; after
 * IDGEN_RETRIES (3) more, a duplicate, not used */
static void test_stable_dad_conflict(void **state)
{
	struct fx *f = stable_fx(SECRET_A);
	uint8_t a[16], w[16];
	(void)state;
	slaac_in(f, P9, 1, a);
	fx_expect_ok(f, FR, na_frame(IP6_ALLNODES, a, MAC_PEER, TAPIR_ND_NA_OVERRIDE));
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 1, a, NULL), TAPIR_ADDR6_TENTATIVE);
	want_iid(w, P9, SECRET_A, 1);
	assert_memory_equal(a, w, 16);
	fx_expect_ok(f, FR, ns_frame(IP6_UNSPEC, sn(a), a, 255));
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 1, a, NULL), TAPIR_ADDR6_TENTATIVE);
	want_iid(w, P9, SECRET_A, 2);
	assert_memory_equal(a, w, 16);
	/* the new one's DAD: a solicitation for it, then ours */
	for (int i = 0; i < 3; i++)
		fx_advance(f, TAPIR_SEC(1));
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 1, NULL, NULL), TAPIR_ADDR6_PREFERRED);
	assert_non_null(cap_last_icmp6(&f->cap, TAPIR_ICMP6_NEIGHBOR_SOLICIT, NULL, NULL));
	assert_int_equal(fx_st(f)->nd_dad_failed, 2);
	fx_free(f);
	/* a tentative link-local one too, till its counters are used up */
	f = stable_new(SECRET_A);
	for (unsigned c = 1; c <= 4; c++) {
		tapir_iface_ipv6_addr(f->s, f->ifi, 0, a, NULL);
		fx_expect_ok(f, FR, na_frame(IP6_ALLNODES, a, MAC_PEER, TAPIR_ND_NA_OVERRIDE));
		if (c <= 3) {
			want_iid(w, (const uint8_t[8]){0xfe, 0x80}, SECRET_A, c);
			assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 0, a, NULL), TAPIR_ADDR6_TENTATIVE);
			assert_memory_equal(a, w, 16);
		}
	}
	assert_int_equal(tapir_iface_ipv6_addr(f->s, f->ifi, 0, a, NULL), TAPIR_ADDR6_DUPLICATE);
	assert_memory_equal(a, w, 16); /* counter 3's */
	assert_int_equal(fx_st(f)->nd_dad_failed, 4);
	fx_free(f);
}

/* RFC 5453 (the IANA registry): identifiers never formed; and RFC 7217 5:
 * one already ours on the prefix is skipped like a conflict */
static void test_stable_reserved(void **state)
{
	static const uint64_t reserved[] = {0, 0x02005efffe000000ull, 0x02005efffe005212ull,
		0x02005efffe005213ull, 0x02005efffeffffffull, 0xfdffffffffffff80ull,
		0xffffffffffffffffull};
	static const uint64_t fine[] = {1, 0x02005efffdffffffull, 0x02005effff000000ull,
		0xfdffffffffffff7full, 0x0200000000000001ull};
	struct fx *f;
	uint8_t iid[8], a[16], w[16];
	(void)state;
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		for (int b = 0; b < 8; b++)
			iid[b] = (uint8_t)(reserved[i] >> (56 - 8 * b));
		assert_true(iid_reserved(iid));
	}
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		for (int b = 0; b < 8; b++)
			iid[b] = (uint8_t)(fine[i] >> (56 - 8 * b));
		assert_false(iid_reserved(iid));
	}
	f = stable_fx(SECRET_A);
	want_iid(w, P9, SECRET_A, 0);
	assert_int_equal(tapir_iface_add_ipv6(f->s, f->ifi, w, 64, f->now), 0);
	slaac_in(f, P9, 2, a);
	want_iid(w, P9, SECRET_A, 1);
	assert_memory_equal(a, w, 16);
	fx_free(f);
}

/* Most tests start from an IPv6 address past DAD (fx6_setup); those about
 * DAD and router solicitation from IPv6 off (fx_setup); the two stacks
 * make their own. */
int main(void)
{
	return CMT_RUN(fx6_setup, fx_teardown, test_dad_conflicts, test_answer_ns, test_validation,
		       test_resolve, test_resolve_fails, test_states, test_override,
		       test_cache_bound, test_router_advert, test_router_configured, test_mld_query,
		       test_router_mtu,
		       test_slaac, test_slaac_bounds, test_later_conflict) |
	       CMT_RUN(fx_setup, fx_teardown, test_link_local_and_dad, test_router_solicit,
		       test_router_solicit_answered) |
	       CMT_RUN(NULL, NULL, test_two_stacks, test_stable_restart, test_stable_per_prefix,
		       test_stable_dad_conflict, test_stable_reserved);
}
