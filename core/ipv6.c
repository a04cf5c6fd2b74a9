/* IPv6 (RFC 8200): header validation, the extension-header chain and local
 * delivery on the way in; routing, source selection, the path MTU and
 * fragmentation on the way out.  Reassembly is ip_reasm.c's (both
 * families), neighbor discovery nd.c's, ICMPv6 icmp6.c's. */
#include <errno.h>
#include <stdio.h>

#include "core.h"

/* RFC 8504 5.3: a host may limit the extension headers it walks; eight is
 * more than any legitimate packet carries (RFC 8200 4.1 allows each once,
 * destination options twice). */
#define IP6_MAX_EXT 8

/* ---- addresses and routes ---- */

int ipv6_local_iface(const struct tapir_stack *s, const uint8_t *addr, bool tentative)
{
	for (int i = 0; i < s->nifaces; i++) {
		const struct tp_iface *ifc = &s->ifaces[i];
		if (!ifc->v6)
			continue;
		for (int k = 0; k < TAPIR_IPV6_ADDRS; k++) {
			const struct tp_addr6 *a = &ifc->a6[k];
			if ((a->state == TAPIR_ADDR6_PREFERRED ||
			     (tentative && a->state == TAPIR_ADDR6_TENTATIVE)) &&
			    !memcmp(a->a, addr, 16))
				return i;
		}
	}
	return -1;
}

const uint8_t *ipv6_select_source(const struct tapir_stack *s, int ifindex, const uint8_t *dst)
{
	const struct tp_iface *ifc = &s->ifaces[ifindex];
	const struct tp_addr6 *any = NULL;
	/* RFC 6724 5 rule 2: the smallest scope that reaches DST; rule 8:
	 * the longest matching prefix, here "on DST's prefix" */
	bool link = tapir_ipv6_is_link_local(dst) ||
		    (tapir_ipv6_is_multicast(dst) && tapir_ipv6_mcast_scope(dst) <= 2);
	if (!ifc->v6)
		return NULL;
	for (int k = 0; k < TAPIR_IPV6_ADDRS; k++) {
		const struct tp_addr6 *a = &ifc->a6[k];
		/* RFC 4862 5.5.4: a deprecated address starts nothing new */
		if (a->state != TAPIR_ADDR6_PREFERRED || link != tapir_ipv6_is_link_local(a->a) ||
		    (a->preferred_until && a->preferred_until <= s->now))
			continue;
		if (link || tapir_ipv6_prefix_eq(a->a, dst, a->plen))
			return a->a;
		if (!any)
			any = a;
	}
	if (any)
		return any->a;
	return ifc->a6[0].state == TAPIR_ADDR6_PREFERRED ? ifc->a6[0].a : NULL;
}

int ipv6_route(const struct tapir_stack *s, const uint8_t *dst, uint8_t nexthop[16])
{
	const uint8_t *gw;
	int i;
	/* link-local and multicast: the first IPv6 interface (scope ids are
	 * for the socket layer, next) */
	if (tapir_ipv6_is_link_local(dst) || tapir_ipv6_is_multicast(dst)) {
		for (i = 0; i < s->nifaces; i++)
			if (s->ifaces[i].v6)
				goto onlink;
		return -1;
	}
	/* RFC 4861 5.2: on link when a prefix of ours or of a router's
	 * advertisement covers DST; else a default router */
	for (i = 0; i < s->nifaces; i++) {
		const struct tp_iface *ifc = &s->ifaces[i];
		for (int k = 1; ifc->v6 && k < TAPIR_IPV6_ADDRS; k++)
			if (ifc->a6[k].state != TAPIR_ADDR6_FREE &&
			    tapir_ipv6_prefix_eq(ifc->a6[k].a, dst, ifc->a6[k].plen))
				goto onlink;
	}
	if ((i = nd_prefix_onlink(s, dst)) >= 0)
		goto onlink;
	gw = nd_default_router(s, &i);
	if (!gw)
		return -1;
	if (nexthop)
		memcpy(nexthop, gw, 16);
	return i;
onlink:
	if (nexthop)
		memcpy(nexthop, dst, 16);
	return i;
}

unsigned ipv6_link_mtu(const struct tapir_stack *s, const uint8_t *dst)
{
	int i = ipv6_route(s, dst, NULL);
	unsigned mtu;
	if (i < 0)
		return 0;
	mtu = s->ifaces[i].mtu6 ? s->ifaces[i].mtu6 : s->ifaces[i].mtu;
	return mtu < TAPIR_IPV6_MIN_MTU ? TAPIR_IPV6_MIN_MTU : mtu;
}

unsigned ipv6_path_mtu(const struct tapir_stack *s, const uint8_t *dst)
{
	struct tapir_ip d;
	memcpy(d.b, dst, 16);
	return tp_pmtu_get(s, &d, ipv6_link_mtu(s, dst));
}

unsigned ipv6_path_tso(const struct tapir_stack *s, const uint8_t *dst)
{
	if (tapir_ipv6_is_loopback(dst) || ipv6_local_iface(s, dst, false) >= 0)
		return 0;
	return ether_tso_max(s, ipv6_route(s, dst, NULL), TAPIR_TR_IP6);
}

bool ipv6_pmtu_update(struct tapir_stack *s, const uint8_t *dst, uint32_t mtu)
{
	struct tapir_ip d;
	char a[46];
	memcpy(d.b, dst, 16);
	/* RFC 8201 4: never below 1280 (and, RFC 8021, no atomic fragments
	 * for a smaller one); never an increase from a Packet Too Big */
	if (mtu < TAPIR_IPV6_MIN_MTU)
		mtu = TAPIR_IPV6_MIN_MTU;
	if (!tp_pmtu_lower(s, &d, mtu, ipv6_path_mtu(s, dst)))
		return false;
	STAT(s, icmp6_pmtu_updates);
	TRACE(s, TAPIR_TR_IP6, "path mtu to %s: %u", tp_ip6_str(dst, a), (unsigned)mtu);
	return true;
}

static void trace_ip6(struct tapir_stack *s, const char *dir, const uint8_t *h, size_t len)
{
	char a[46], b[46], frag[48] = "";
	size_t off = TAPIR_IPV6_HLEN;
	uint8_t nh = h[TAPIR_IPV6_NXT];
	if (nh == TAPIR_IPPROTO_HOPOPTS && len >= off + 8) {
		off += (h[off + 1] + 1u) * 8;
		nh = h[TAPIR_IPV6_HLEN];
	}
	if (nh == TAPIR_IPPROTO_FRAGMENT && len >= off + 8)
		snprintf(frag, sizeof(frag), " frag id %u off %u%s", tapir_get32(h + off + 4),
			 tapir_get16(h + off + 2) & TAPIR_IPV6_FH_OFFMASK,
			 (h[off + 3] & TAPIR_IPV6_FH_MF) ? "+" : "");
	tp_trace(s, TAPIR_TR_IP6, "%s %s > %s: nh %u plen %u hlim %u%s", dir,
		 tp_ip6_str(h + TAPIR_IPV6_SRC, a), tp_ip6_str(h + TAPIR_IPV6_DST, b), h[6],
		 tapir_get16(h + TAPIR_IPV6_PLEN), h[TAPIR_IPV6_HLIM], frag);
}

/* The IP hooks of POINT (tapir/hook.h) on the IPv6 packet PKT, with its
 * addresses; false when one dropped it. */
static bool ipv6_hook(struct tapir_stack *s, enum tapir_hook_point point, uint8_t *pkt, size_t len)
{
	struct tapir_ip src = tapir_ip_from_v6(pkt + TAPIR_IPV6_SRC),
			dst = tapir_ip_from_v6(pkt + TAPIR_IPV6_DST);
	return hook_run_ip(s, point, pkt, len, &src, &dst, NULL);
}

/* ---- input ---- */

/* The length of the extension header at OFF (RFC 8200 4.3: 8-byte units
 * beyond the first 8), 0 when it does not fit in LEN. */
static size_t ext_len(const uint8_t *p, size_t len, size_t off)
{
	size_t hl;
	if (off + 8 > len)
		return 0;
	hl = (p[off + 1] + 1u) * 8;
	return off + hl > len ? 0 : hl;
}

int ipv6_upper_frag(const uint8_t *p, size_t len, size_t off, uint8_t *nh, bool *frag)
{
	if (frag)
		*frag = false;
	for (int n = 0; n <= IP6_MAX_EXT; n++) {
		size_t hl;
		switch (*nh) {
		case TAPIR_IPPROTO_FRAGMENT:
			/* past it only in fragment zero */
			if (off + TAPIR_IPV6_FH_LEN > len ||
			    (tapir_get16(p + off + TAPIR_IPV6_FH_OFF) & TAPIR_IPV6_FH_OFFMASK))
				return -1;
			if (frag) /* RFC 6946 4: an atomic fragment is the whole packet */
				*frag |= tapir_get16(p + off + TAPIR_IPV6_FH_OFF) & TAPIR_IPV6_FH_MF;
			hl = TAPIR_IPV6_FH_LEN;
			break;
		case TAPIR_IPPROTO_HOPOPTS:
		case TAPIR_IPPROTO_ROUTING:
		case TAPIR_IPPROTO_DSTOPTS:
			if (!(hl = ext_len(p, len, off)))
				return -1;
			break;
		default:
			return (int)off;
		}
		*nh = p[off];
		off += hl;
	}
	return -1;
}

int tapir_ipv6_upper(const uint8_t *p, size_t len, uint8_t *nh)
{
	if (len < TAPIR_IPV6_HLEN)
		return -1;
	*nh = p[TAPIR_IPV6_NXT];
	return ipv6_upper_frag(p, len, TAPIR_IPV6_HLEN, nh, NULL);
}

static void param_problem(struct tapir_stack *s, int ifindex, const uint8_t *pkt, size_t len,
			  uint8_t code, size_t ptr)
{
	icmp6_send_error(s, ifindex, pkt, len, TAPIR_ICMP6_PARAM_PROBLEM, code, (uint32_t)ptr);
}

/* RFC 8200 4.2: the options of a hop-by-hop or destination options header
 * at OFF, HL bytes long.  Pad1 and PadN are skipped, and the router alert
 * (RFC 2711, which means nothing to a host); any other option is unknown
 * and its two high bits say what to do. */
static int ipv6_options(struct tapir_stack *s, int ifindex, const uint8_t *pkt, size_t len,
			size_t off, size_t hl)
{
	size_t i = off + 2, end = off + hl;
	while (i < end) {
		uint8_t t = pkt[i];
		if (t == TAPIR_IPV6_OPT_PAD1) {
			i++;
			continue;
		}
		if (i + 2 > end || i + 2 + pkt[i + 1] > end)
			return TAPIR_DROP_ip6_ext_header;
		if (t != TAPIR_IPV6_OPT_PADN && t != TAPIR_IPV6_OPT_RTALERT) {
			switch (t >> 6) {
			case 0: /* skip over it */
				break;
			case 1: /* discard */
				return TAPIR_DROP_ip6_option;
			case 2: /* discard, and a parameter problem even to multicast */
				param_problem(s, ifindex, pkt, len, TAPIR_ICMP6_PARAM_OPTION, i);
				return TAPIR_DROP_ip6_option;
			default: /* discard; the problem only for a unicast destination */
				if (!tapir_ipv6_is_multicast(pkt + TAPIR_IPV6_DST))
					param_problem(s, ifindex, pkt, len, TAPIR_ICMP6_PARAM_OPTION, i);
				return TAPIR_DROP_ip6_option;
			}
		}
		i += 2u + pkt[i + 1];
	}
	return TP_OK;
}

/* RFC 7112 5: the whole header chain, through the upper-layer header, must
 * be in fragment zero.  Its upper-layer header's minimum length. */
static size_t upper_min(uint8_t nh)
{
	switch (nh) {
	case TAPIR_IPPROTO_TCP: return TAPIR_TCP_HLEN;
	case TAPIR_IPPROTO_UDP: return TAPIR_UDP_HLEN;
	case TAPIR_IPPROTO_ICMPV6: return 4; /* RFC 4443 2.1: type, code, checksum */
	default: return 0;
	}
}

/* The fragment header at OFF (RFC 8200 4.5). */
static int ipv6_fragment(struct tapir_stack *s, int ifindex, const uint8_t *pkt, size_t len,
			 size_t off)
{
	const uint8_t *fh = pkt + off;
	uint16_t fo = tapir_get16(fh + TAPIR_IPV6_FH_OFF);
	size_t data = off + TAPIR_IPV6_FH_LEN;
	uint8_t h[TAPIR_IPV6_HLEN];
	struct reasm_frag fr = {.family = 6, .src = pkt + TAPIR_IPV6_SRC, .dst = pkt + TAPIR_IPV6_DST,
				.id = tapir_get32(fh + TAPIR_IPV6_FH_ID),
				.off = fo & TAPIR_IPV6_FH_OFFMASK, .len = len - data,
				.more = fo & TAPIR_IPV6_FH_MF, .data = pkt + data, .hdr = h,
				.hlen = TAPIR_IPV6_HLEN,
				/* the reassembled payload length is 16 bits and
				 * holds the headers before this one */
				.limit = 65535 - (off - TAPIR_IPV6_HLEN)};
	int r;

	if (fr.more && (fr.len & 7)) {
		/* RFC 8200 4.5: pointing at the payload length */
		param_problem(s, ifindex, pkt, len, TAPIR_ICMP6_PARAM_HEADER, TAPIR_IPV6_PLEN);
		return TAPIR_DROP_frag_bad;
	}
	if (fr.off == 0) {
		uint8_t nh = fh[0];
		int up = ipv6_upper(pkt, len, data, &nh);
		if (up < 0 || (size_t)up + upper_min(nh) > len) {
			param_problem(s, ifindex, pkt, len, TAPIR_ICMP6_PARAM_CHAIN, 0);
			return TAPIR_DROP_frag6_chain;
		}
	}
	memcpy(h, pkt, TAPIR_IPV6_HLEN);
	h[TAPIR_IPV6_NXT] = fh[0];
	r = reasm_add(s, ifindex, &fr);
	if (r == TAPIR_DROP_frag_too_big) /* RFC 8200 4.5: at the offset field */
		param_problem(s, ifindex, pkt, len, TAPIR_ICMP6_PARAM_HEADER, off + TAPIR_IPV6_FH_OFF);
	return r;
}

/* Walks the chain from the header NH at OFF (RFC 8200 4.1's order);
 * REASSEMBLED: what came before the fragment header is gone. */
static int ipv6_chain(struct tapir_stack *s, int ifindex, uint8_t *pkt, size_t len, size_t off,
		      uint8_t nh, bool reassembled)
{
	size_t prev = TAPIR_IPV6_NXT; /* where NH was read: the pointer for code 1 */
	for (int n = 0;; n++) {
		size_t hl = 0;
		int r;
		if (n > IP6_MAX_EXT)
			return TAPIR_DROP_ip6_ext_chain;
		switch (nh) {
		case TAPIR_IPPROTO_HOPOPTS:
			/* RFC 8200 4.1: only right after the IPv6 header */
			if (off != TAPIR_IPV6_HLEN || reassembled) {
				param_problem(s, ifindex, pkt, len, TAPIR_ICMP6_PARAM_NEXTHDR, prev);
				return TAPIR_DROP_ip6_hbh_position;
			}
			/* fall through */
		case TAPIR_IPPROTO_DSTOPTS:
			if (!(hl = ext_len(pkt, len, off)))
				return TAPIR_DROP_ip6_ext_header;
			if ((r = ipv6_options(s, ifindex, pkt, len, off, hl)) != TP_OK)
				return r;
			break;
		case TAPIR_IPPROTO_ROUTING:
			if (!(hl = ext_len(pkt, len, off)))
				return TAPIR_DROP_ip6_ext_header;
			/* RFC 8200 4.4: a host routes no type; one with segments
			 * left is refused pointing at its type.  RFC 5095 3: type
			 * 0 is treated as unknown, so the same. */
			if (pkt[off + TAPIR_IPV6_RH_SEGLEFT]) {
				param_problem(s, ifindex, pkt, len, TAPIR_ICMP6_PARAM_HEADER,
					      off + TAPIR_IPV6_RH_TYPE);
				return TAPIR_DROP_ip6_routing;
			}
			break;
		case TAPIR_IPPROTO_FRAGMENT:
			if (off + TAPIR_IPV6_FH_LEN > len || reassembled)
				return TAPIR_DROP_ip6_ext_header;
			/* RFC 6946 4: an atomic fragment (offset 0, no more) is
			 * the whole packet, never reassembled with anything */
			if (tapir_get16(pkt + off + TAPIR_IPV6_FH_OFF) & (TAPIR_IPV6_FH_OFFMASK | TAPIR_IPV6_FH_MF))
				return ipv6_fragment(s, ifindex, pkt, len, off);
			hl = TAPIR_IPV6_FH_LEN;
			break;
		case TAPIR_IPPROTO_ICMPV6:
			return icmp6_input(s, ifindex, pkt, len, off);
		case TAPIR_IPPROTO_TCP: /* the same input as over IPv4 */
			return tcp_input(s, pkt, len, off);
		case TAPIR_IPPROTO_UDP:
			return udp_input(s, pkt, len, off);
		case TAPIR_IPPROTO_NONE:
			return TAPIR_DROP_ip6_no_next;
		default:
			/* RFC 8200 4: pointing at the unrecognized value */
			param_problem(s, ifindex, pkt, len, TAPIR_ICMP6_PARAM_NEXTHDR, prev);
			return TAPIR_DROP_ip6_next_header;
		}
		prev = off;
		nh = pkt[off];
		off += hl;
	}
}

/* A neighbor advertisement (no extension headers) whose target is its
 * source address. */
static bool claims_source(const uint8_t *pkt, size_t plen)
{
	const uint8_t *m = pkt + TAPIR_IPV6_HLEN;
	return pkt[6] == TAPIR_IPPROTO_ICMPV6 && plen >= TAPIR_ND_NA_LEN &&
	       m[0] == TAPIR_ICMP6_NEIGHBOR_ADVERT && !memcmp(m + TAPIR_ND_TARGET, pkt + TAPIR_IPV6_SRC, 16);
}

int ipv6_input(struct tapir_stack *s, int ifindex, uint8_t *pkt, size_t len)
{
	const uint8_t *src = pkt + TAPIR_IPV6_SRC, *dst = pkt + TAPIR_IPV6_DST;
	size_t plen;
	int mine;

	if (len < TAPIR_IPV6_HLEN)
		return TAPIR_DROP_ip6_short;
	if (pkt[0] >> 4 != 6)
		return TAPIR_DROP_ip6_version;
	/* a zero payload length is a jumbogram only with a hop-by-hop jumbo
	 * option (RFC 2675), which no Ethernet frame can carry: its option is
	 * unknown here and refused by its action bits */
	plen = tapir_get16(pkt + TAPIR_IPV6_PLEN);
	if (TAPIR_IPV6_HLEN + plen > len)
		return TAPIR_DROP_ip6_length;
	len = TAPIR_IPV6_HLEN + plen; /* the link may pad short frames */
	/* ours only once DAD passed: the answer to our DAD comes from the
	 * address itself (RFC 4862 5.4.4); so does another node's
	 * advertisement of an address already ours (5.4.4's second case),
	 * the one packet from our own address that nd.c must see */
	if (tapir_ipv6_is_martian_source(src) ||
	    (ipv6_local_iface(s, src, false) >= 0 && !claims_source(pkt, plen)))
		return TAPIR_DROP_ip6_bad_source;
	mine = ipv6_local_iface(s, dst, true);
	if (mine >= 0 && ipv6_local_iface(s, dst, false) < 0)
		return TAPIR_DROP_ip6_tentative; /* RFC 4862 5.4 */
	if (mine < 0 && !(tapir_ipv6_is_multicast(dst) && nd_joined(s, ifindex, dst)))
		return TAPIR_DROP_ip6_not_for_us;
	if (HOOKED(s, TAPIR_HOOK_IP_RX) && !ipv6_hook(s, TAPIR_HOOK_IP_RX, pkt, len))
		return TAPIR_DROP_hook;
	STAT(s, ip6_rx);
	if (TRACE_ON(s, TAPIR_TR_IP6))
		trace_ip6(s, "rx", pkt, len);
	return ipv6_chain(s, ifindex, pkt, len, TAPIR_IPV6_HLEN, pkt[TAPIR_IPV6_NXT], false);
}

int ipv6_deliver_reassembled(struct tapir_stack *s, int ifindex, uint8_t *pkt, size_t len)
{
	return ipv6_chain(s, ifindex, pkt, len, TAPIR_IPV6_HLEN, pkt[TAPIR_IPV6_NXT], true);
}

int ipv6_deliver_local(struct tapir_stack *s, uint8_t *pkt, size_t len)
{
	int i = ipv6_local_iface(s, pkt + TAPIR_IPV6_DST, true);
	STAT(s, ip6_rx);
	if (TRACE_ON(s, TAPIR_TR_IP6))
		trace_ip6(s, "rx", pkt, len);
	return ipv6_chain(s, i < 0 ? 0 : i, pkt, len, TAPIR_IPV6_HLEN, pkt[TAPIR_IPV6_NXT], false);
}

/* ---- output ---- */

static void ipv6_header(uint8_t *h, size_t plen, uint8_t nh, uint8_t hlim, const uint8_t *src,
			const uint8_t *dst, uint8_t tclass)
{
	/* RFC 8200 3: version, the traffic class (a socket's, RFC 3542 6.5,
	 * with ECN in its low two bits, RFC 3168 5: ECT(0) for an ECN
	 * transport), no flow label */
	tapir_put32(h, 6u << 28 | (uint32_t)tclass << 20);
	tapir_put16(h + TAPIR_IPV6_PLEN, (uint16_t)plen);
	h[TAPIR_IPV6_NXT] = nh;
	h[TAPIR_IPV6_HLIM] = hlim;
	memcpy(h + TAPIR_IPV6_SRC, src, 16);
	memcpy(h + TAPIR_IPV6_DST, dst, 16);
}

/* RFC 3810 5 / RFC 2711: a hop-by-hop header holding a router alert (MLD),
 * padded to 8 bytes with a PadN of two. */
static void rtalert_header(uint8_t *o, uint8_t nh)
{
	static const uint8_t hbh[8] = {0, 0, TAPIR_IPV6_OPT_RTALERT, 2, 0, 0, TAPIR_IPV6_OPT_PADN, 0};
	memcpy(o, hbh, 8);
	o[0] = nh;
}

static void ipv6_send(struct tapir_stack *s, int ifindex, const uint8_t *nexthop, struct tp_pkt *p)
{
	if (HOOKED(s, TAPIR_HOOK_IP_TX) && !ipv6_hook(s, TAPIR_HOOK_IP_TX, p->data, p->len)) {
		STAT(s, tx_hook_dropped);
		tp_pkt_free(s, p);
		return;
	}
	STAT(s, ip6_tx);
	if (TRACE_ON(s, TAPIR_TR_IP6))
		trace_ip6(s, "tx", p->data, p->len);
	nd_output(s, ifindex, nexthop, p);
}

/* RFC 8200 4.5: the unfragmentable part (UNFRAG bytes at the start of P,
 * its last next header at NHOFF) in front of each piece, then a fragment
 * header; every piece but the last a multiple of 8 bytes. */
static int ipv6_fragment_out(struct tapir_stack *s, int ifindex, const uint8_t *nexthop,
			     struct tp_pkt *p, size_t unfrag, size_t nhoff, unsigned mtu)
{
	size_t rest = p->len - unfrag, chunk = (mtu - unfrag - TAPIR_IPV6_FH_LEN) & ~(size_t)7;
	uint8_t nh = p->data[nhoff];
	/* RFC 7739: an identification no one can guess */
	uint32_t id = (uint32_t)tp_rand(s);
	if (unfrag - TAPIR_IPV6_HLEN + TAPIR_IPV6_FH_LEN + rest > 65535) {
		tp_pkt_free(s, p);
		return -EMSGSIZE;
	}
	for (size_t off = 0; off < rest; off += chunk) {
		size_t n = rest - off < chunk ? rest - off : chunk;
		struct tp_pkt *f = tp_pkt_alloc(s, unfrag + TAPIR_IPV6_FH_LEN + n);
		uint8_t *fh;
		if (!f) {
			STAT(s, tx_nomem);
			break; /* the peer's reassembly will time out */
		}
		memcpy(f->data, p->data, unfrag);
		f->data[nhoff] = TAPIR_IPPROTO_FRAGMENT;
		fh = f->data + unfrag;
		fh[0] = nh;
		fh[1] = 0;
		tapir_put16(fh + TAPIR_IPV6_FH_OFF, (uint16_t)(off | (off + n < rest)));
		tapir_put32(fh + TAPIR_IPV6_FH_ID, id);
		memcpy(fh + TAPIR_IPV6_FH_LEN, p->data + unfrag + off, n);
		f->len = (uint32_t)(unfrag + TAPIR_IPV6_FH_LEN + n);
		tapir_put16(f->data + TAPIR_IPV6_PLEN, (uint16_t)(f->len - TAPIR_IPV6_HLEN));
		STAT(s, ip6_frag_created);
		ipv6_send(s, ifindex, nexthop, f);
	}
	tp_pkt_free(s, p);
	return 0;
}

int ipv6_output(struct tapir_stack *s, struct tp_pkt *p, const uint8_t *src, const uint8_t *dst,
		uint8_t proto, uint8_t hlim, int ifindex, unsigned flags)
{
	uint8_t nexthop[16];
	size_t unfrag = TAPIR_IPV6_HLEN;
	unsigned mtu;
	bool lo = tapir_ipv6_is_loopback(dst);

	/* RFC 4291 2.5.3: ::1 is never routed to a link; from it, only to us */
	if (src && tapir_ipv6_is_loopback(src) && !lo && ipv6_local_iface(s, dst, false) < 0) {
		ifindex = -1;
	} else if (lo) {
		ifindex = 0; /* for its hop limit only */
		src = src ? src : dst;
	} else if (ifindex >= 0 && (tapir_ipv6_is_link_local(dst) || tapir_ipv6_is_multicast(dst))) {
		memcpy(nexthop, dst, 16);
	} else {
		ifindex = ipv6_route(s, dst, nexthop);
	}
	if (ifindex < 0 || (!lo && !s->ifaces[ifindex].v6)) {
		STAT(s, ip6_no_route);
		tp_pkt_free(s, p);
		return -ENETUNREACH;
	}
	if (!src && !(src = ipv6_select_source(s, ifindex, dst))) {
		tp_pkt_free(s, p);
		return -EADDRNOTAVAIL;
	}
	if (flags & TP_IP_TTL) /* a socket's IPV6_UNICAST_HOPS (RFC 3493 5.1) */
		hlim = TP_IP_TTL_OF(flags);
	else if (!hlim)
		hlim = s->ifaces[ifindex].hop_limit ? s->ifaces[ifindex].hop_limit : s->cfg.ttl;
	if (flags & TP_IP6_RTALERT) {
		rtalert_header(tp_pkt_push(p, 8), proto);
		proto = TAPIR_IPPROTO_HOPOPTS;
		unfrag += 8;
	}
	if (p->len > 65535) { /* RFC 8200 3: the payload length is 16 bits */
		tp_pkt_free(s, p);
		return -EMSGSIZE;
	}
	ipv6_header(tp_pkt_push(p, TAPIR_IPV6_HLEN), p->len, proto, hlim, src, dst,
		    TP_IP_TOS_OF(flags));
	if (lo || ipv6_local_iface(s, dst, false) >= 0) {
		STAT(s, ip6_tx);
		if (TRACE_ON(s, TAPIR_TR_IP6))
			trace_ip6(s, "loop", p->data, p->len);
		return ip_loop_queue(s, p);
	}
	mtu = tapir_ipv6_is_multicast(dst) ? (s->ifaces[ifindex].mtu6 ? s->ifaces[ifindex].mtu6
								      : s->ifaces[ifindex].mtu)
					   : ipv6_path_mtu(s, dst);
	/* RFC 8021: a packet that fits goes whole, never as an atomic
	 * fragment; so does TCP's super-segment, which the link cuts into
	 * segments that fit (ether_send) */
	if (p->len <= mtu || p->tso_size) {
		ipv6_send(s, ifindex, nexthop, p);
		return 0;
	}
	STAT(s, ip6_fragmented);
	return ipv6_fragment_out(s, ifindex, nexthop, p, unfrag,
				 unfrag == TAPIR_IPV6_HLEN ? TAPIR_IPV6_NXT : TAPIR_IPV6_HLEN, mtu);
}
