/* MLDv2 (RFC 3810) as a host.  An IPv6 interface listens to all-nodes
 * (ff02::1, never reported: RFC 3810 6) and to the solicited-node group of
 * each of its addresses (RFC 4861 7.2.1); a switch that snoops MLD
 * forwards those groups only once they are reported, so a join is
 * reported at once (Robustness Variable times, RFC 3810 6.1) and a
 * router's query is answered (6.2). */
#include "core.h"

#define MLD_ROBUSTNESS 2                          /* RFC 3810 9.1 */
#define MLD_UNSOLICITED_INTERVAL TAPIR_SEC(1)     /* RFC 3810 9.11 */
#define MLD_QUERY_MIN_LEN 24                      /* MLDv1 query; v2 is 28 (5.1) */
#define MLD2_MODE_IS_EXCLUDE 2                    /* RFC 3810 5.2.12 */
#define MLD2_CHANGE_TO_EXCLUDE 4
#define MLD2_RECORD_LEN 20                        /* with no sources */

static const uint8_t all_mld_routers[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16};

void mld_join(struct tapir_stack *s, int ifindex, tapir_time_t at)
{
	struct tp_iface *ifc = &s->ifaces[ifindex];
	if (!ifc->mld_left || at < ifc->mld_at)
		TP_ARM(s, ifc->mld_at, at);
	ifc->mld_left = MLD_ROBUSTNESS;
}

/* One report with a record of RECTYPE for each solicited-node group. */
static void mld_report(struct tapir_stack *s, int ifindex, uint8_t rectype)
{
	const struct tp_iface *ifc = &s->ifaces[ifindex];
	uint8_t groups[TAPIR_IPV6_ADDRS][16];
	static const uint8_t none[16];
	const uint8_t *src = none;
	unsigned n = 0;
	struct tp_pkt *p;

	for (int k = 0; k < TAPIR_IPV6_ADDRS; k++) {
		unsigned j = 0;
		if (ifc->a6[k].state != TAPIR_ADDR6_TENTATIVE && ifc->a6[k].state != TAPIR_ADDR6_PREFERRED)
			continue;
		tapir_ipv6_solicited_node(groups[n], ifc->a6[k].a);
		while (j < n && memcmp(groups[j], groups[n], 16))
			j++;
		n += j == n; /* a group shared by two addresses once */
	}
	if (!n || !(p = tp_pkt_alloc(s, TAPIR_ICMP6_HLEN + n * MLD2_RECORD_LEN))) {
		if (n)
			STAT(s, tx_nomem);
		return;
	}
	p->len = TAPIR_ICMP6_HLEN + n * MLD2_RECORD_LEN;
	memset(p->data, 0, p->len);
	p->data[0] = TAPIR_ICMP6_MLD2_REPORT;
	tapir_put16(p->data + 6, (uint16_t)n);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *r = p->data + TAPIR_ICMP6_HLEN + i * MLD2_RECORD_LEN;
		r[0] = rectype;
		memcpy(r + 4, groups[i], 16);
	}
	/* RFC 3810 5.2.13: from the link-local address, or :: while it is
	 * still tentative; hop limit 1 and a router alert (RFC 3810 5) */
	if (ifc->a6[0].state == TAPIR_ADDR6_PREFERRED)
		src = ifc->a6[0].a;
	icmp6_checksum(p->data, p->len, src, all_mld_routers);
	STAT(s, mld_reports_sent);
	TRACE(s, TAPIR_TR_ND, "tx MLDv2 report: %u group%s (%s)", n, n == 1 ? "" : "s",
	      rectype == MLD2_CHANGE_TO_EXCLUDE ? "joined" : "to a query");
	ipv6_output(s, p, src, all_mld_routers, TAPIR_IPPROTO_ICMPV6, 1, ifindex, TP_IP6_RTALERT);
}

int mld_input(struct tapir_stack *s, int ifindex, const uint8_t *pkt, size_t len, size_t off)
{
	struct tp_iface *ifc = &s->ifaces[ifindex];
	const uint8_t *m = pkt + off;
	uint16_t code;
	tapir_time_t delay;

	/* RFC 3810 5.1.14: hop limit 1, from a link-local router */
	if (pkt[TAPIR_IPV6_HLIM] != 1)
		return TAPIR_DROP_nd_hop_limit;
	if (len - off < MLD_QUERY_MIN_LEN || !tapir_ipv6_is_link_local(pkt + TAPIR_IPV6_SRC))
		return TAPIR_DROP_nd_bad;
	/* a query for one group that is not ours asks nothing of us */
	if (!tapir_ipv6_is_unspecified(m + 8) && !nd_joined(s, ifindex, m + 8))
		return TAPIR_DROP_nd_not_for_us;
	/* RFC 3810 6.2: answer after a random part of the Maximum Response
	 * Delay (5.1.3: milliseconds, or a floating-point code from 32768) */
	code = tapir_get16(m + 4);
	delay = code < 32768 ? TAPIR_MS(code) : TAPIR_SEC(10);
	delay = delay ? s->now + tp_rand(s) % delay : s->now;
	if (delay < ifc->mld_query_at)
		TP_ARM(s, ifc->mld_query_at, delay);
	return TP_OK;
}

tapir_time_t mld_poll(struct tapir_stack *s, int ifindex, tapir_time_t now)
{
	struct tp_iface *ifc = &s->ifaces[ifindex];
	if (ifc->mld_left && ifc->mld_at <= now) {
		mld_report(s, ifindex, MLD2_CHANGE_TO_EXCLUDE);
		ifc->mld_left--;
		/* RFC 3810 6.1: the repetitions at random within the interval */
		if (ifc->mld_left)
			TP_ARM(s, ifc->mld_at, now + 1 + tp_rand(s) % MLD_UNSOLICITED_INTERVAL);
	}
	if (ifc->mld_query_at <= now) {
		mld_report(s, ifindex, MLD2_MODE_IS_EXCLUDE);
		ifc->mld_query_at = TAPIR_TIME_NEVER;
	}
	if (!ifc->mld_left)
		return ifc->mld_query_at;
	return ifc->mld_at < ifc->mld_query_at ? ifc->mld_at : ifc->mld_query_at;
}
