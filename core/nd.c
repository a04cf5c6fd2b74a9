/* Neighbor Discovery for IPv6 over Ethernet (RFC 4861): the neighbor cache
 * with its five states and a bounded queue per entry, neighbor
 * solicitations and advertisements; an interface's addresses with
 * duplicate address detection (RFC 4862 5.4), the link-local one from the
 * MAC (RFC 4291 Appendix A); router advertisements into a bounded default
 * router list and prefix list (RFC 4861 6.3.4, asked for by router
 * solicitations, 6.3.7; no SLAAC yet). */
#include <errno.h>
#include <stdlib.h>

#include "core.h"

#define MAX_MULTICAST_SOLICIT 3                 /* RFC 4861 10 */
#define MAX_UNICAST_SOLICIT 3
#define DELAY_FIRST_PROBE_TIME TAPIR_SEC(5)
#define MAX_RTR_SOLICITATION_DELAY TAPIR_SEC(1)
#define RTR_SOLICITATION_INTERVAL TAPIR_SEC(4)
#define MAX_RTR_SOLICITATIONS 3
#define ND_HOP_LIMIT 255                        /* RFC 4861 7.1.1: never forwarded */
#define ND_RA_L 0x80                            /* RFC 4861 4.6.2 on-link flag */

const uint8_t tp_ip6_all_nodes[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t all_routers[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
static const uint8_t unspecified[16];

/* RFC 4861 6.3.2: ReachableTime is BaseReachableTime times a random
 * factor between MIN_RANDOM_FACTOR (0.5) and MAX_RANDOM_FACTOR (1.5). */
static tapir_time_t random_reachable(struct tapir_stack *s, tapir_time_t base)
{
	return base / 2 + tp_rand(s) % (base + 1);
}

int nd_init(struct tapir_stack *s)
{
	s->nd = calloc(s->cfg.nd_cache_size, sizeof(*s->nd));
	s->nd_routers = calloc(s->cfg.nd_routers ? s->cfg.nd_routers : 1, sizeof(*s->nd_routers));
	s->nd_prefixes = calloc(s->cfg.nd_prefixes ? s->cfg.nd_prefixes : 1, sizeof(*s->nd_prefixes));
	s->nd_reachable = random_reachable(s, s->cfg.nd_reachable_us);
	return s->nd && s->nd_routers && s->nd_prefixes ? 0 : -1;
}

void nd_free(struct tapir_stack *s)
{
	free(s->nd);
	free(s->nd_routers);
	free(s->nd_prefixes);
}

/* ---- the cache ---- */

static struct nd_entry *nd_find(const struct tapir_stack *s, const uint8_t *ip)
{
	for (unsigned i = 0; i < s->cfg.nd_cache_size; i++)
		if (s->nd[i].state != ND_FREE && !memcmp(s->nd[i].ip, ip, 16))
			return &s->nd[i];
	return NULL;
}

const struct nd_entry *nd_lookup(const struct tapir_stack *s, const uint8_t *ip)
{
	return nd_find(s, ip);
}

static void nd_forget(struct tapir_stack *s, struct nd_entry *e)
{
	s->stats.nd_queue_dropped += e->queued;
	tp_pkt_free_list(s, e->queue);
	memset(e, 0, sizeof(*e));
}

/* A free entry; a full cache gives up its least recently used one,
 * resolved ones before those being resolved (so that a flood of
 * solicitations for new addresses cannot push out the neighbors in use). */
static struct nd_entry *nd_alloc(struct tapir_stack *s, const uint8_t *ip, int ifindex)
{
	struct nd_entry *victim = TP_EVICT_PICK(s->nd, s->cfg.nd_cache_size, struct nd_entry);
	if (victim->state != ND_FREE) {
		STAT(s, nd_evicted);
		nd_forget(s, victim);
	}
	memcpy(victim->ip, ip, 16);
	victim->ifindex = (uint8_t)ifindex;
	victim->updated = s->now;
	return victim;
}

/* RFC 4861 7.3.2, 7.3.3: each state's timer. */
static void nd_set_state(struct tapir_stack *s, struct nd_entry *e, enum nd_state st)
{
	e->state = (uint8_t)st;
	e->probes = 0;
	e->updated = s->now;
	switch (st) {
	case ND_REACHABLE: TP_ARM(s, e->deadline, s->now + s->nd_reachable); break;
	case ND_DELAY: TP_ARM(s, e->deadline, s->now + DELAY_FIRST_PROBE_TIME); break;
	case ND_INCOMPLETE:
	case ND_PROBE: TP_ARM(s, e->deadline, s->now + s->cfg.nd_retrans_us); break;
	default: e->deadline = TAPIR_TIME_NEVER; break;
	}
}

/* ---- messages ---- */

static struct tp_pkt *nd_msg(struct tapir_stack *s, uint8_t type, const uint8_t *target,
			     const uint8_t *lla_mac, uint8_t lla_type)
{
	size_t len = TAPIR_ND_NS_LEN + (lla_mac ? 8 : 0);
	struct tp_pkt *p = tp_pkt_alloc(s, len);
	if (!p) {
		STAT(s, tx_nomem);
		return NULL;
	}
	memset(p->data, 0, len);
	p->len = (uint32_t)len;
	p->data[0] = type;
	memcpy(p->data + TAPIR_ND_TARGET, target, 16);
	if (lla_mac) { /* RFC 4861 4.6.1, RFC 2464 8: one 8-byte unit */
		p->data[TAPIR_ND_NS_LEN] = lla_type;
		p->data[TAPIR_ND_NS_LEN + 1] = 1;
		memcpy(p->data + TAPIR_ND_NS_LEN + 2, lla_mac, 6);
	}
	return p;
}

/* An NS for TARGET to DST; SRC NULL for DAD (RFC 4862 5.4.2: from the
 * unspecified address, without a source link-layer option). */
static void nd_send_ns(struct tapir_stack *s, int ifindex, const uint8_t *target,
		       const uint8_t *dst, const uint8_t *src)
{
	struct tp_pkt *p = nd_msg(s, TAPIR_ICMP6_NEIGHBOR_SOLICIT, target,
				  src ? s->ifaces[ifindex].mac : NULL, TAPIR_ND_OPT_SRC_LLADDR);
	char a[46];
	if (!p)
		return;
	src = src ? src : unspecified;
	STAT(s, nd_ns_sent);
	TRACE(s, TAPIR_TR_ND, "tx NS who-has %s%s", tp_ip6_str(target, a),
	      src == unspecified ? " (DAD)" : tapir_ipv6_is_multicast(dst) ? "" : " (unicast probe)");
	icmp6_checksum(p->data, p->len, src, dst);
	ipv6_output(s, p, src, dst, TAPIR_IPPROTO_ICMPV6, ND_HOP_LIMIT, ifindex, 0);
}

/* RFC 4861 7.2.4: an NA for our address TARGET, with our MAC. */
static void nd_send_na(struct tapir_stack *s, int ifindex, const uint8_t *target,
		       const uint8_t *dst, uint8_t flags)
{
	struct tp_pkt *p = nd_msg(s, TAPIR_ICMP6_NEIGHBOR_ADVERT, target, s->ifaces[ifindex].mac,
				  TAPIR_ND_OPT_TGT_LLADDR);
	char a[46], b[46];
	if (!p)
		return;
	p->data[4] = flags;
	STAT(s, nd_na_sent);
	TRACE(s, TAPIR_TR_ND, "tx NA %s is-at %s to %s%s", tp_ip6_str(target, a),
	      tp_mac_str(s->ifaces[ifindex].mac, (char[18]){0}), tp_ip6_str(dst, b),
	      (flags & TAPIR_ND_NA_SOLICITED) ? " (solicited)" : "");
	icmp6_checksum(p->data, p->len, target, dst);
	ipv6_output(s, p, target, dst, TAPIR_IPPROTO_ICMPV6, ND_HOP_LIMIT, ifindex, 0);
}

/* RFC 4861 7.2.2: solicit E's address, from the source of the packet that
 * prompted it when that is ours on the interface (HINT), multicast to the
 * solicited-node group, or (PROBE) unicast to the cached address. */
static void nd_solicit(struct tapir_stack *s, struct nd_entry *e, const uint8_t *hint)
{
	uint8_t dst[16];
	const uint8_t *src = hint && ipv6_local_iface(s, hint, false) == e->ifindex
				     ? hint : ipv6_select_source(s, e->ifindex, e->ip);
	if (!src)
		return; /* no address yet: the retries will tell */
	if (e->state == ND_PROBE)
		memcpy(dst, e->ip, 16);
	else
		tapir_ipv6_solicited_node(dst, e->ip);
	nd_send_ns(s, e->ifindex, e->ip, dst, src);
}

/* The address is resolved: send what waited for it. */
static void nd_flush(struct tapir_stack *s, struct nd_entry *e)
{
	struct tp_pkt *q = e->queue;
	e->queue = NULL;
	e->queued = 0;
	ether_send_queue(s, e->ifindex, q, e->mac, TAPIR_ETH_P_IPV6);
}

void nd_output(struct tapir_stack *s, int ifindex, const uint8_t *nexthop, struct tp_pkt *p)
{
	struct nd_entry *e;
	uint8_t mac[6];

	if (tapir_ipv6_is_multicast(nexthop)) {
		tapir_ipv6_mcast_mac(mac, nexthop);
		ether_send(s, ifindex, p, mac, TAPIR_ETH_P_IPV6);
		return;
	}
	e = nd_find(s, nexthop);
	if (e && e->state != ND_INCOMPLETE) {
		/* RFC 4861 7.3.3: sending to a STALE entry starts the delay */
		if (e->state == ND_STALE)
			nd_set_state(s, e, ND_DELAY);
		ether_send(s, ifindex, p, e->mac, TAPIR_ETH_P_IPV6);
		return;
	}
	if (!e) {
		e = nd_alloc(s, nexthop, ifindex);
		nd_set_state(s, e, ND_INCOMPLETE);
		e->probes = 1;
		nd_solicit(s, e, p->data + TAPIR_IPV6_SRC);
	}
	/* RFC 4861 7.2.2: a bounded queue per entry */
	s->stats.nd_queue_dropped += tp_queue_bounded(s, &e->queue, &e->queued, s->cfg.nd_queue_len, p);
}

/* RFC 4861 7.2.2: no answer: each waiting packet's sender hears "address
 * unreachable" (the packets are ours, so the error comes back to us). */
static void nd_fail(struct tapir_stack *s, struct nd_entry *e)
{
	struct tp_pkt *q = e->queue;
	int ifindex = e->ifindex;
	char a[46];
	STAT(s, nd_resolve_failed);
	TRACE(s, TAPIR_TR_ND, "%s: no answer after %u solicitations, unreachable",
	      tp_ip6_str(e->ip, a), e->probes);
	memset(e, 0, sizeof(*e));
	while (q) {
		struct tp_pkt *next = q->next;
		icmp6_send_error(s, ifindex, q->data, q->len, TAPIR_ICMP6_UNREACH,
				 TAPIR_ICMP6_UNREACH_ADDR, 0);
		tp_pkt_free(s, q);
		q = next;
	}
}

/* A neighbor's link-layer address from an NS or RA (RFC 4861 7.2.3,
 * 6.3.4): a new entry is STALE; a changed address makes it STALE. */
static void nd_learn(struct tapir_stack *s, int ifindex, const uint8_t *ip, const uint8_t *mac,
		     bool router)
{
	struct nd_entry *e = nd_find(s, ip);
	if (!e) {
		e = nd_alloc(s, ip, ifindex);
		memcpy(e->mac, mac, 6);
		nd_set_state(s, e, ND_STALE);
	} else if (e->state == ND_INCOMPLETE) {
		memcpy(e->mac, mac, 6);
		nd_set_state(s, e, ND_STALE);
		STAT(s, nd_resolved);
		nd_flush(s, e);
	} else if (memcmp(e->mac, mac, 6)) {
		memcpy(e->mac, mac, 6);
		nd_set_state(s, e, ND_STALE);
	}
	e->router |= router;
}

/* ---- options (RFC 4861 4.6) ---- */

/* RFC 4861 7.1.1: every option has a length above zero, within the message. */
static bool nd_opts_ok(const uint8_t *m, size_t mlen, size_t i)
{
	while (i < mlen) {
		if (i + 2 > mlen || m[i + 1] == 0 || i + m[i + 1] * 8u > mlen)
			return false;
		i += m[i + 1] * 8u;
	}
	return true;
}

/* The first option of TYPE (options already checked), or NULL. */
static const uint8_t *nd_opt(const uint8_t *m, size_t mlen, size_t i, uint8_t type)
{
	for (; i < mlen; i += m[i + 1] * 8u)
		if (m[i] == type)
			return m + i;
	return NULL;
}

/* ---- addresses and DAD (RFC 4862 5.4) ---- */

static int addr_slot(const struct tapir_stack *s, int ifindex, const uint8_t *a)
{
	const struct tp_iface *ifc = &s->ifaces[ifindex];
	for (int k = 0; ifc->v6 && k < TAPIR_IPV6_ADDRS; k++)
		if ((ifc->a6[k].state == TAPIR_ADDR6_TENTATIVE ||
		     ifc->a6[k].state == TAPIR_ADDR6_PREFERRED) && !memcmp(ifc->a6[k].a, a, 16))
			return k;
	return -1;
}

/* The address is ours (DAD passed, or is off): announced; once the
 * link-local one is, routers may be asked (RFC 4861 6.3.7). */
static void addr_ready(struct tapir_stack *s, int ifindex, struct tp_addr6 *a)
{
	struct tp_iface *ifc = &s->ifaces[ifindex];
	a->state = TAPIR_ADDR6_PREFERRED;
	/* RFC 4861 7.2.6: one unsolicited advertisement to all nodes, Override
	 * set, so that a neighbour still holding another link-layer address
	 * for it (the same address on another MAC before: a restarted tapir
	 * with a fresh one) takes ours at once, as the IPv4 announcement
	 * does (RFC 5227 2.3) */
	nd_send_na(s, ifindex, a->a, tp_ip6_all_nodes, TAPIR_ND_NA_OVERRIDE);
	if (a == &ifc->a6[0]) {
		ifc->rs_left = MAX_RTR_SOLICITATIONS;
		TP_ARM(s, ifc->rs_at, s->now + tp_rand(s) % MAX_RTR_SOLICITATION_DELAY);
	}
}

static void dad_start(struct tapir_stack *s, int ifindex, struct tp_addr6 *a)
{
	char t[46];
	/* RFC 4862 5.4.2: join the solicited-node group, then solicit, after
	 * a random delay of up to MAX_RTR_SOLICITATION_DELAY */
	TP_ARM(s, a->dad_at, s->now + tp_rand(s) % MAX_RTR_SOLICITATION_DELAY);
	mld_join(s, ifindex, a->dad_at);
	/* RFC 4862 5.1: DupAddrDetectTransmits 0 turns DAD off */
	if (!s->cfg.nd_dad_transmits) {
		addr_ready(s, ifindex, a);
		return;
	}
	a->state = TAPIR_ADDR6_TENTATIVE;
	a->dad_left = (uint8_t)s->cfg.nd_dad_transmits;
	TRACE(s, TAPIR_TR_ND, "dad: %s tentative", tp_ip6_str(a->a, t));
}

/* RFC 4862 5.4.5: someone else has it; it is never used.  An RFC 7217
 * one is formed again with the next DAD_Counter (RFC 7217 6), whose DAD
 * starts after dad_start's random delay of up to 1 s: IDGEN_DELAY. */
static void dad_fail(struct tapir_stack *s, int ifindex, struct tp_addr6 *a, const char *why)
{
	char t[46], u[46];
	STAT(s, nd_dad_failed);
	tp_ip6_str(a->a, t);
	if (iid_retry(s, ifindex, a)) {
		TRACE(s, TAPIR_TR_ND, "dad: %s is a duplicate (%s), trying %s", t, why,
		      tp_ip6_str(a->a, u));
		dad_start(s, ifindex, a);
		return;
	}
	a->state = TAPIR_ADDR6_DUPLICATE;
	TRACE(s, TAPIR_TR_ND, "dad: %s is a duplicate (%s), not used", t, why);
}

int tapir_iface_enable_ipv6(struct tapir_stack *s, int ifindex, tapir_time_t now)
{
	static const uint8_t ll[8] = {0xfe, 0x80};
	struct tp_iface *ifc;
	int c;
	if (ifindex < 0 || ifindex >= s->nifaces)
		return -EINVAL;
	ifc = &s->ifaces[ifindex];
	if (ifc->v6)
		return 0;
	s->now = now;
	ifc->v6 = true;
	ifc->mld_query_at = TAPIR_TIME_NEVER;
	ifc->a6[0].plen = 64; /* RFC 4291 2.5.6 */
	if ((c = iid_form(s, ifindex, ifc->a6[0].a, ll, 0)) < 0) {
		ifc->a6[0].state = TAPIR_ADDR6_DUPLICATE; /* none to form */
		return 0;
	}
	iid_note(s, &ifc->a6[0], c);
	dad_start(s, ifindex, &ifc->a6[0]);
	return 0;
}

int tapir_iface_add_ipv6(struct tapir_stack *s, int ifindex, const uint8_t addr[16],
			 unsigned plen, tapir_time_t now)
{
	int k;
	if (ifindex < 0 || ifindex >= s->nifaces || plen == 0 || plen > 128 ||
	    tapir_ipv6_is_unspecified(addr) || tapir_ipv6_is_martian_source(addr) ||
	    tapir_ipv6_is_link_local(addr))
		return -EINVAL;
	tapir_iface_enable_ipv6(s, ifindex, now);
	s->now = now;
	k = nd_addr_add(s, ifindex, addr, plen);
	return k < 0 ? k : 0;
}

int nd_addr_add(struct tapir_stack *s, int ifindex, const uint8_t *addr, unsigned plen)
{
	struct tp_iface *ifc = &s->ifaces[ifindex];
	for (int k = 1; k < TAPIR_IPV6_ADDRS; k++)
		if (ifc->a6[k].state != TAPIR_ADDR6_FREE && !memcmp(ifc->a6[k].a, addr, 16))
			return -EEXIST;
	for (int k = 1; k < TAPIR_IPV6_ADDRS; k++) {
		struct tp_addr6 *a = &ifc->a6[k];
		if (a->state == TAPIR_ADDR6_FREE) {
			memset(a, 0, sizeof(*a));
			memcpy(a->a, addr, 16);
			a->plen = (uint8_t)plen;
			dad_start(s, ifindex, a);
			return k;
		}
	}
	return -ENOSPC;
}

enum tapir_addr6_state tapir_iface_ipv6_addr(const struct tapir_stack *s, int ifindex,
					     unsigned i, uint8_t addr[16], unsigned *plen)
{
	const struct tp_addr6 *a;
	if (ifindex < 0 || ifindex >= s->nifaces || i >= TAPIR_IPV6_ADDRS || !s->ifaces[ifindex].v6)
		return TAPIR_ADDR6_FREE;
	a = &s->ifaces[ifindex].a6[i];
	if (addr)
		memcpy(addr, a->a, 16);
	if (plen)
		*plen = a->plen;
	return (enum tapir_addr6_state)a->state;
}

bool nd_joined(const struct tapir_stack *s, int ifindex, const uint8_t *g)
{
	const struct tp_iface *ifc = &s->ifaces[ifindex];
	uint8_t sn[16];
	if (!ifc->v6)
		return false;
	if (!memcmp(g, tp_ip6_all_nodes, 16))
		return true;
	for (int k = 0; k < TAPIR_IPV6_ADDRS; k++) {
		if (ifc->a6[k].state != TAPIR_ADDR6_TENTATIVE && ifc->a6[k].state != TAPIR_ADDR6_PREFERRED)
			continue;
		tapir_ipv6_solicited_node(sn, ifc->a6[k].a);
		if (!memcmp(sn, g, 16))
			return true;
	}
	return false;
}

/* ---- input ---- */

/* RFC 4861 7.2.3 (and RFC 4862 5.4.3 for a target still in DAD). */
static int nd_ns_input(struct tapir_stack *s, int ifindex, const uint8_t *pkt, const uint8_t *m,
		       size_t mlen)
{
	const uint8_t *src = pkt + TAPIR_IPV6_SRC, *dst = pkt + TAPIR_IPV6_DST, *target = m + TAPIR_ND_TARGET;
	const uint8_t *slla;
	bool dad = tapir_ipv6_is_unspecified(src);
	uint8_t sn[16];
	char a[46], b[46];
	int k;

	if (mlen < TAPIR_ND_NS_LEN || tapir_ipv6_is_multicast(target) ||
	    !nd_opts_ok(m, mlen, TAPIR_ND_NS_LEN))
		return TAPIR_DROP_nd_bad;
	slla = nd_opt(m, mlen, TAPIR_ND_NS_LEN, TAPIR_ND_OPT_SRC_LLADDR);
	tapir_ipv6_solicited_node(sn, target);
	/* RFC 4861 7.1.1: from :: only to the solicited-node group, and
	 * without a source link-layer address */
	if ((slla && slla[1] != 1) || (dad && (slla || memcmp(dst, sn, 16))))
		return TAPIR_DROP_nd_bad;
	TRACE(s, TAPIR_TR_ND, "rx NS who-has %s from %s", tp_ip6_str(target, a), tp_ip6_str(src, b));
	if ((k = addr_slot(s, ifindex, target)) < 0)
		return TAPIR_DROP_nd_not_for_us;
	if (s->ifaces[ifindex].a6[k].state == TAPIR_ADDR6_TENTATIVE) {
		if (!dad) /* RFC 4862 5.4.3: someone resolving it: not yet ours */
			return TAPIR_DROP_ip6_tentative;
		dad_fail(s, ifindex, &s->ifaces[ifindex].a6[k], "another node's DAD");
		return TP_OK;
	}
	if (dad) {
		/* RFC 4861 7.2.4: the answer to :: goes to all nodes, so the
		 * node probing our address learns it is taken */
		STAT(s, nd_conflicts);
		nd_send_na(s, ifindex, target, tp_ip6_all_nodes, TAPIR_ND_NA_OVERRIDE);
		return TP_OK;
	}
	if (slla)
		nd_learn(s, ifindex, src, slla + 2, false);
	nd_send_na(s, ifindex, target, src, TAPIR_ND_NA_SOLICITED | TAPIR_ND_NA_OVERRIDE);
	return TP_OK;
}

static void nd_router_forget(struct tapir_stack *s, const uint8_t *ip);

/* RFC 4862 5.4.4: another node advertises an address already ours, a
 * duplicate that DAD missed; what then is left open.  As RFC 5227 2.4 (b)
 * for IPv4: defend it once (our advertisement, Override set, puts our MAC
 * back in the neighbors' caches), and if it is claimed again within
 * DEFEND_INTERVAL, give it up (5.4.5; an RFC 7217 one is formed anew). */
static void addr_conflict(struct tapir_stack *s, int ifindex, struct tp_addr6 *a)
{
	STAT(s, nd_conflicts);
	/* last_defend is the time plus one: 0 is "never" at time 0 too */
	if (a->last_defend && s->now + 1 < a->last_defend + DEFEND_INTERVAL) {
		dad_fail(s, ifindex, a, "claimed again after our defence");
		return;
	}
	a->last_defend = s->now + 1;
	nd_send_na(s, ifindex, a->a, tp_ip6_all_nodes, TAPIR_ND_NA_OVERRIDE);
}

/* RFC 4861 7.2.5: what an advertisement changes in the cache. */
static int nd_na_input(struct tapir_stack *s, int ifindex, const uint8_t *pkt, const uint8_t *m,
		       size_t mlen)
{
	const uint8_t *target = m + TAPIR_ND_TARGET, *tlla;
	uint8_t flags;
	struct nd_entry *e;
	bool differs;
	char a[46];
	int k;

	if (mlen < TAPIR_ND_NA_LEN || tapir_ipv6_is_multicast(target) ||
	    !nd_opts_ok(m, mlen, TAPIR_ND_NA_LEN))
		return TAPIR_DROP_nd_bad;
	flags = m[4];
	tlla = nd_opt(m, mlen, TAPIR_ND_NA_LEN, TAPIR_ND_OPT_TGT_LLADDR);
	/* RFC 4861 7.1.2: a solicited advertisement is never multicast */
	if ((tlla && tlla[1] != 1) ||
	    (tapir_ipv6_is_multicast(pkt + TAPIR_IPV6_DST) && (flags & TAPIR_ND_NA_SOLICITED)))
		return TAPIR_DROP_nd_bad;
	TRACE(s, TAPIR_TR_ND, "rx NA %s%s%s", tp_ip6_str(target, a),
	      (flags & TAPIR_ND_NA_SOLICITED) ? " S" : "", (flags & TAPIR_ND_NA_OVERRIDE) ? " O" : "");
	if ((k = addr_slot(s, ifindex, target)) >= 0) {
		struct tp_addr6 *ad = &s->ifaces[ifindex].a6[k];
		if (ad->state == TAPIR_ADDR6_TENTATIVE)
			dad_fail(s, ifindex, ad, "advertised by another node"); /* RFC 4862 5.4.4 */
		else if (!tlla || memcmp(tlla + 2, s->ifaces[ifindex].mac, 6))
			addr_conflict(s, ifindex, ad);
		return TP_OK;
	}
	if (!(e = nd_find(s, target)))
		return TAPIR_DROP_nd_no_entry;
	if (e->state == ND_INCOMPLETE) {
		if (!tlla)
			return TAPIR_DROP_nd_bad;
		memcpy(e->mac, tlla + 2, 6);
		e->router = flags & TAPIR_ND_NA_ROUTER;
		nd_set_state(s, e, (flags & TAPIR_ND_NA_SOLICITED) ? ND_REACHABLE : ND_STALE);
		STAT(s, nd_resolved);
		nd_flush(s, e);
		return TP_OK;
	}
	differs = tlla && memcmp(tlla + 2, e->mac, 6);
	if (!(flags & TAPIR_ND_NA_OVERRIDE) && differs) {
		if (e->state == ND_REACHABLE)
			nd_set_state(s, e, ND_STALE);
		return TP_OK;
	}
	if (differs)
		memcpy(e->mac, tlla + 2, 6);
	if (flags & TAPIR_ND_NA_SOLICITED)
		nd_set_state(s, e, ND_REACHABLE);
	else if (differs)
		nd_set_state(s, e, ND_STALE);
	if (e->router && !(flags & TAPIR_ND_NA_ROUTER))
		nd_router_forget(s, e->ip);
	e->router = flags & TAPIR_ND_NA_ROUTER;
	return TP_OK;
}

/* ---- router discovery (RFC 4861 6.3.4) ---- */

static void nd_router_forget(struct tapir_stack *s, const uint8_t *ip)
{
	for (unsigned i = 0; i < s->cfg.nd_routers; i++)
		if (s->nd_routers[i].used && !memcmp(s->nd_routers[i].ip, ip, 16))
			s->nd_routers[i].used = false;
}

/* Adds, refreshes or (LIFETIME 0) removes a default router; a full list
 * takes no new one (RFC 4861 6.3.4 leaves this to the host, and a flood
 * of advertisements must not cost memory). */
static void nd_router_set(struct tapir_stack *s, int ifindex, const uint8_t *ip, uint32_t lifetime)
{
	struct nd_router *free_r = NULL;
	for (unsigned i = 0; i < s->cfg.nd_routers; i++) {
		struct nd_router *r = &s->nd_routers[i];
		if (r->used && r->expires <= s->now)
			r->used = false;
		if (r->used && !memcmp(r->ip, ip, 16)) {
			if (r->fixed)
				return; /* configured: kept whatever it advertises */
			r->used = lifetime != 0;
			r->expires = s->now + TAPIR_SEC(lifetime);
			return;
		}
		if (!r->used && !free_r)
			free_r = r;
	}
	if (!lifetime || !free_r)
		return;
	memcpy(free_r->ip, ip, 16);
	free_r->ifindex = (uint8_t)ifindex;
	free_r->used = true;
	free_r->expires = s->now + TAPIR_SEC(lifetime);
}

int tapir_iface_add_router6(struct tapir_stack *s, int ifindex, const uint8_t addr[16])
{
	struct nd_router *slot = NULL;
	if (ifindex < 0 || ifindex >= s->nifaces || tapir_ipv6_is_multicast(addr) ||
	    tapir_ipv6_is_unspecified(addr) || tapir_ipv6_is_loopback(addr))
		return -EINVAL;
	for (unsigned i = 0; i < s->cfg.nd_routers; i++) {
		struct nd_router *r = &s->nd_routers[i];
		if (r->used && !memcmp(r->ip, addr, 16)) {
			slot = r; /* learned already: configured now */
			break;
		}
		if (!slot && (!r->used || r->expires <= s->now))
			slot = r;
	}
	/* a full list: a learned router gives way to the configured one */
	for (unsigned i = 0; !slot && i < s->cfg.nd_routers; i++)
		if (!s->nd_routers[i].fixed)
			slot = &s->nd_routers[i];
	if (!slot)
		return -ENOSPC;
	*slot = (struct nd_router){.ifindex = (uint8_t)ifindex, .used = true, .fixed = true,
				   .expires = TAPIR_TIME_NEVER};
	memcpy(slot->ip, addr, 16);
	return 0;
}

int tapir_ipv6_router(const struct tapir_stack *s, uint8_t addr[16])
{
	int ifindex;
	const uint8_t *r = nd_default_router(s, &ifindex);
	if (!r)
		return -1;
	memcpy(addr, r, 16);
	return ifindex;
}

/* RFC 4861 6.3.6: a router known reachable (or probably so) first. */
const uint8_t *nd_default_router(const struct tapir_stack *s, int *ifindex)
{
	const struct nd_router *best = NULL;
	for (unsigned i = 0; i < s->cfg.nd_routers; i++) {
		const struct nd_router *r = &s->nd_routers[i];
		const struct nd_entry *e;
		if (!r->used || r->expires <= s->now)
			continue;
		e = nd_find(s, r->ip);
		if (e && e->state != ND_INCOMPLETE) {
			best = r;
			break;
		}
		if (!best)
			best = r;
	}
	if (!best)
		return NULL;
	*ifindex = best->ifindex;
	return best->ip;
}

static void nd_prefix_set(struct tapir_stack *s, int ifindex, const uint8_t *p, unsigned plen,
			  uint32_t valid)
{
	struct nd_prefix *free_p = NULL;
	/* RFC 4861 6.3.4: infinity is all ones; a lifetime of 0 removes it */
	tapir_time_t exp = valid == 0xffffffffu ? TAPIR_TIME_NEVER : s->now + TAPIR_SEC(valid);
	for (unsigned i = 0; i < s->cfg.nd_prefixes; i++) {
		struct nd_prefix *x = &s->nd_prefixes[i];
		if (x->used && x->expires <= s->now)
			x->used = false;
		if (x->used && x->plen == plen && tapir_ipv6_prefix_eq(x->p, p, plen)) {
			x->used = valid != 0;
			x->expires = exp;
			return;
		}
		if (!x->used && !free_p)
			free_p = x;
	}
	if (!valid || !free_p)
		return;
	memset(free_p->p, 0, 16);
	memcpy(free_p->p, p, (plen + 7) / 8);
	free_p->plen = (uint8_t)plen;
	free_p->ifindex = (uint8_t)ifindex;
	free_p->used = true;
	free_p->expires = exp;
}

int nd_prefix_onlink(const struct tapir_stack *s, const uint8_t *dst)
{
	for (unsigned i = 0; i < s->cfg.nd_prefixes; i++) {
		const struct nd_prefix *x = &s->nd_prefixes[i];
		if (x->used && x->expires > s->now && tapir_ipv6_prefix_eq(x->p, dst, x->plen))
			return x->ifindex;
	}
	return -1;
}

/* RFC 4861 6.1.2 validation, 6.3.4 processing. */
static int nd_ra_input(struct tapir_stack *s, int ifindex, const uint8_t *pkt, const uint8_t *m,
		       size_t mlen)
{
	const uint8_t *src = pkt + TAPIR_IPV6_SRC;
	uint32_t reachable;
	char a[46];

	if (!tapir_ipv6_is_link_local(src) || mlen < TAPIR_ND_RA_LEN ||
	    !nd_opts_ok(m, mlen, TAPIR_ND_RA_LEN))
		return TAPIR_DROP_nd_bad;
	STAT(s, nd_ra_rx);
	TRACE(s, TAPIR_TR_ND, "rx RA from %s lifetime %u", tp_ip6_str(src, a), tapir_get16(m + 6));
	s->ifaces[ifindex].rs_left = 0; /* RFC 4861 6.3.7: answered */
	if (m[4])
		s->ifaces[ifindex].hop_limit = m[4];
	nd_router_set(s, ifindex, src, tapir_get16(m + 6));
	reachable = tapir_get32(m + 8);
	if (reachable && reachable <= 3600000) /* RFC 4861 6.2.1: at most an hour */
		s->nd_reachable = random_reachable(s, TAPIR_MS(reachable));
	for (size_t i = TAPIR_ND_RA_LEN; i < mlen; i += m[i + 1] * 8u) {
		const uint8_t *o = m + i;
		if (o[0] == TAPIR_ND_OPT_SRC_LLADDR && o[1] == 1)
			nd_learn(s, ifindex, src, o + 2, true);
		/* RFC 4861 4.6.4, 6.3.4: within 1280 and the link's own */
		if (o[0] == TAPIR_ND_OPT_MTU && o[1] == 1 && tapir_get32(o + 4) >= TAPIR_IPV6_MIN_MTU &&
		    tapir_get32(o + 4) <= s->ifaces[ifindex].mtu)
			s->ifaces[ifindex].mtu6 = tapir_get32(o + 4);
		/* RFC 4861 4.6.2: 32 bytes; on-link prefixes only (no SLAAC
		 * here), never the link-local one */
		if (o[0] == TAPIR_ND_OPT_PREFIX && o[1] == 4 && (o[3] & ND_RA_L) && o[2] <= 128 &&
		    !tapir_ipv6_is_link_local(o + 16))
			nd_prefix_set(s, ifindex, o + 16, o[2], tapir_get32(o + 4));
		if (o[0] == TAPIR_ND_OPT_PREFIX && o[1] == 4)
			slaac_prefix(s, ifindex, o);
	}
	dhcp6_ra(s, ifindex, m[5]); /* RFC 4861 4.2: the M and O flags */
	return TP_OK;
}

int nd_input(struct tapir_stack *s, int ifindex, const uint8_t *pkt, size_t len, size_t off)
{
	const uint8_t *m = pkt + off;
	size_t mlen = len - off;

	if (m[0] == TAPIR_ICMP6_MLD_QUERY)
		return mld_input(s, ifindex, pkt, len, off);
	/* RFC 4861 7.1.1, 7.1.2, 6.1.2: from a neighbor on this link */
	if (pkt[TAPIR_IPV6_HLIM] != ND_HOP_LIMIT)
		return TAPIR_DROP_nd_hop_limit;
	if (m[1] != 0)
		return TAPIR_DROP_nd_bad;
	switch (m[0]) {
	case TAPIR_ICMP6_NEIGHBOR_SOLICIT:
		return nd_ns_input(s, ifindex, pkt, m, mlen);
	case TAPIR_ICMP6_NEIGHBOR_ADVERT:
		return nd_na_input(s, ifindex, pkt, m, mlen);
	default:
		return nd_ra_input(s, ifindex, pkt, m, mlen);
	}
}

/* ---- timers ---- */

static tapir_time_t dad_poll(struct tapir_stack *s, int ifindex, tapir_time_t now)
{
	struct tp_iface *ifc = &s->ifaces[ifindex];
	tapir_time_t next = TAPIR_TIME_NEVER;
	uint8_t sn[16];
	char t[46];
	for (int k = 0; k < TAPIR_IPV6_ADDRS; k++) {
		struct tp_addr6 *a = &ifc->a6[k];
		if (a->state != TAPIR_ADDR6_TENTATIVE)
			continue;
		if (a->dad_at <= now) {
			if (a->dad_left) {
				tapir_ipv6_solicited_node(sn, a->a);
				nd_send_ns(s, ifindex, a->a, sn, NULL);
				a->dad_left--;
				TP_ARM(s, a->dad_at, now + s->cfg.nd_retrans_us);
			} else { /* RFC 4862 5.4: no answer in RetransTimer */
				STAT(s, nd_dad_ok);
				TRACE(s, TAPIR_TR_ND, "dad: %s is ours", tp_ip6_str(a->a, t));
				addr_ready(s, ifindex, a);
				continue;
			}
		}
		if (a->dad_at < next)
			next = a->dad_at;
	}
	return next;
}

/* RFC 4861 6.3.7: a router solicitation from the link-local address,
 * with our link-layer address, to all routers. */
static tapir_time_t rs_poll(struct tapir_stack *s, int ifindex, tapir_time_t now)
{
	struct tp_iface *ifc = &s->ifaces[ifindex];
	struct tp_pkt *p;
	if (!ifc->rs_left)
		return TAPIR_TIME_NEVER;
	if (ifc->rs_at > now)
		return ifc->rs_at;
	if (--ifc->rs_left)
		TP_ARM(s, ifc->rs_at, now + RTR_SOLICITATION_INTERVAL);
	if (!(p = tp_pkt_alloc(s, 16))) {
		STAT(s, tx_nomem);
		return ifc->rs_left ? ifc->rs_at : TAPIR_TIME_NEVER;
	}
	memset(p->data, 0, 16);
	p->len = 16;
	p->data[0] = TAPIR_ICMP6_ROUTER_SOLICIT;
	p->data[8] = TAPIR_ND_OPT_SRC_LLADDR;
	p->data[9] = 1;
	memcpy(p->data + 10, ifc->mac, 6);
	icmp6_checksum(p->data, p->len, ifc->a6[0].a, all_routers);
	STAT(s, nd_rs_sent);
	TRACE(s, TAPIR_TR_ND, "tx RS");
	ipv6_output(s, p, ifc->a6[0].a, all_routers, TAPIR_IPPROTO_ICMPV6, ND_HOP_LIMIT, ifindex, 0);
	return ifc->rs_left ? ifc->rs_at : TAPIR_TIME_NEVER;
}

/* RFC 4861 7.3.3: the cache's timers. */
static void nd_entry_due(struct tapir_stack *s, struct nd_entry *e)
{
	switch (e->state) {
	case ND_INCOMPLETE:
		if (e->probes >= MAX_MULTICAST_SOLICIT) {
			nd_fail(s, e);
			return;
		}
		break;
	case ND_REACHABLE:
		nd_set_state(s, e, ND_STALE);
		return;
	case ND_DELAY:
		nd_set_state(s, e, ND_PROBE);
		break;
	case ND_PROBE:
		if (e->probes >= MAX_UNICAST_SOLICIT) {
			nd_forget(s, e);
			return;
		}
		break;
	default:
		e->deadline = TAPIR_TIME_NEVER;
		return;
	}
	e->probes++;
	TP_ARM(s, e->deadline, s->now + s->cfg.nd_retrans_us);
	nd_solicit(s, e, NULL);
}

tapir_time_t nd_poll(struct tapir_stack *s, tapir_time_t now)
{
	tapir_time_t next = TAPIR_TIME_NEVER, t;
	bool v6 = false;
	for (int i = 0; i < s->nifaces; i++) {
		if (!s->ifaces[i].v6)
			continue;
		v6 = true;
		t = mld_poll(s, i, now); /* the join's report before DAD's NS */
		next = t < next ? t : next;
		t = dad_poll(s, i, now);
		next = t < next ? t : next;
		t = rs_poll(s, i, now);
		next = t < next ? t : next;
		t = slaac_poll(s, i, now);
		next = t < next ? t : next;
	}
	for (unsigned i = 0; v6 && i < s->cfg.nd_cache_size; i++) { /* no IPv6: no entries */
		struct nd_entry *e = &s->nd[i];
		if (e->state == ND_FREE)
			continue;
		if (e->deadline <= now)
			nd_entry_due(s, e);
		if (e->state != ND_FREE && e->deadline < next)
			next = e->deadline;
	}
	return next;
}
