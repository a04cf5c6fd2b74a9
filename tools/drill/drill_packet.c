/* tapir drill: the packets of a script.
 *
 * '<' lines become frames from the remote end (192.0.2.1 or 2001:db8::1,
 * behind the router whose MAC is drill_mac_remote), handed to
 * tapir_stack_input, in the script's IP family; '>' lines are
 * compared with the frames tapir sent, decoded here.  As in packetdrill,
 * tapir's sequence numbers are shown and written relative to its ISN (the
 * first SYN it sends), the remote end's absolute. */
#include <stdio.h>
#include <string.h>

#include <tapir/wire.h>

#include "drill_run.h"

const uint8_t drill_mac_tapir[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
const uint8_t drill_mac_remote[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

/* TCP option kinds: RFC 9293 3.1 (EOL, NOP, MSS), RFC 7323 (window scale,
 * timestamps), RFC 2018 (SACK) */
enum { OPT_EOL = 0, OPT_NOP = 1, OPT_MSS = 2, OPT_WSCALE = 3, OPT_SACKOK = 4, OPT_SACK = 5,
       OPT_TS = 8, OPT_FO = 34 /* RFC 7413 4.1.1 */ };

/* ---- building what the script sends ---- */

static void eth_header(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memcpy(f + TAPIR_ETH_DST, dst, 6);
	memcpy(f + TAPIR_ETH_SRC, src, 6);
	tapir_put16(f + TAPIR_ETH_TYPE, type);
}

static void inject(struct drill *d, uint8_t *f, size_t len)
{
	tapir_stack_input(d->s, d->ifindex, f, len, d->now);
}

static size_t ip_hlen(const struct drill *d)
{
	return d->sc->cfg.ipv6 ? TAPIR_IPV6_HLEN : TAPIR_IPV4_HLEN;
}

/* ---- the link: ARP (RFC 826), neighbor discovery (RFC 4861) ---- */

static void drill_arp(struct drill *d, uint16_t op, uint32_t sip, uint32_t tip, const uint8_t *tmac)
{
	uint8_t f[42];
	eth_header(f, op == 1 ? (const uint8_t *)"\xff\xff\xff\xff\xff\xff" : tmac, drill_mac_remote,
		   TAPIR_ETH_P_ARP);
	/* RFC 826: hardware Ethernet (1), protocol IPv4, addresses of 6 and 4 bytes */
	static const uint8_t eth_ipv4[6] = {0, 1, TAPIR_ETH_P_IPV4 >> 8, TAPIR_ETH_P_IPV4 & 0xff, 6, 4};
	memcpy(f + TAPIR_ETH_HLEN, eth_ipv4, sizeof(eth_ipv4));
	tapir_put16(f + 20, op);
	memcpy(f + 22, drill_mac_remote, 6);
	tapir_put32(f + 28, sip);
	memcpy(f + 32, op == 1 ? (const uint8_t *)"\0\0\0\0\0\0" : tmac, 6);
	tapir_put32(f + 38, tip);
	inject(d, f, sizeof(f));
}

/* An IPv6 header (RFC 8200 3): traffic class TC, no flow label */
static void ip6_header(uint8_t *ip, const uint8_t *src, const uint8_t *dst, uint8_t nh, uint8_t hlim,
		       uint8_t tc, size_t plen)
{
	ip[TAPIR_IPV6_VTC] = (uint8_t)(0x60 | tc >> 4);
	ip[1] = (uint8_t)(tc << 4);
	ip[2] = ip[3] = 0;
	tapir_put16(ip + TAPIR_IPV6_PLEN, (uint16_t)plen);
	ip[TAPIR_IPV6_NXT] = nh;
	ip[TAPIR_IPV6_HLIM] = hlim;
	memcpy(ip + TAPIR_IPV6_SRC, src, 16);
	memcpy(ip + TAPIR_IPV6_DST, dst, 16);
}

/* A neighbor discovery message of MLEN bytes, already after its IPv6
 * header in d->buf, from the router's link-local SRC to DST (MAC DMAC):
 * hop limit 255, so that tapir knows it comes from the link (RFC 4861
 * 7.1.1, 6.1.2); the router's MAC as the last option. */
static void send_nd(struct drill *d, const uint8_t *dmac, const uint8_t *src, const uint8_t *dst,
		    size_t mlen)
{
	uint8_t *f = d->buf, *ip = f + TAPIR_ETH_HLEN, *m = ip + TAPIR_IPV6_HLEN;
	eth_header(f, dmac, drill_mac_remote, TAPIR_ETH_P_IPV6);
	ip6_header(ip, src, dst, TAPIR_IPPROTO_ICMPV6, 255, 0, mlen);
	memcpy(m + mlen - 6, drill_mac_remote, 6);
	tapir_put16(m + 2, 0);
	tapir_put16(m + 2, tapir_csum_fold(tapir_csum_add(
				   tapir_csum_pseudo6(src, dst, TAPIR_IPPROTO_ICMPV6, (uint32_t)mlen), m, mlen)));
	inject(d, f, TAPIR_ETH_HLEN + TAPIR_IPV6_HLEN + mlen);
}

void drill_link_seed(struct drill *d)
{
	static const uint8_t all_nodes[16] = {0xff, 2, [15] = 1}; /* RFC 4291 2.7.1 */
	const struct dl_config *c = &d->sc->cfg;
	uint8_t *m = d->buf + TAPIR_ETH_HLEN + TAPIR_IPV6_HLEN, mac[6];
	if (!c->ipv6) {
		/* the router asks for tapir: RFC 826 merges the sender of a
		 * request for us into the cache */
		drill_arp(d, 1, tapir_ip_v4(&c->gateway), tapir_ip_v4(&c->local), NULL);
		return;
	}
	/* RFC 4861 4.2: a router advertisement to all nodes, making the
	 * router tapir's default router for the longest lifetime there is;
	 * hop limit, reachable time and retransmission timer unspecified
	 * (0), its MAC in a source link-layer address option */
	memset(m, 0, TAPIR_ND_RA_LEN + 8);
	m[0] = TAPIR_ICMP6_ROUTER_ADVERT;
	tapir_put16(m + 6, 0xffff);
	m[TAPIR_ND_RA_LEN] = TAPIR_ND_OPT_SRC_LLADDR;
	m[TAPIR_ND_RA_LEN + 1] = 1;
	tapir_ipv6_mcast_mac(mac, all_nodes);
	send_nd(d, mac, c->gateway.b, all_nodes, TAPIR_ND_RA_LEN + 8);
}

bool drill_nbr_request(const struct drill *d, const uint8_t *f, size_t len, struct nbr_req *q)
{
	const uint8_t *ip = f + TAPIR_ETH_HLEN, *m = ip + TAPIR_IPV6_HLEN;
	if (len >= TAPIR_ETH_HLEN + 28 && tapir_get16(f + TAPIR_ETH_TYPE) == TAPIR_ETH_P_ARP) {
		/* RFC 826: a request (1), for any address but tapir's own */
		q->asker = tapir_ip_from_v4(tapir_get32(ip + 14));
		q->target = tapir_ip_from_v4(tapir_get32(ip + 24));
		memcpy(q->mac, ip + 8, 6);
		return tapir_get16(ip + 6) == 1 && !tapir_ip_eq(&q->target, &d->sc->cfg.local);
	}
	/* RFC 4861 4.3: a neighbor solicitation, from an address of
	 * tapir's (not DAD's ::), for another */
	if (len < TAPIR_ETH_HLEN + TAPIR_IPV6_HLEN + TAPIR_ND_NS_LEN ||
	    tapir_get16(f + TAPIR_ETH_TYPE) != TAPIR_ETH_P_IPV6 ||
	    ip[TAPIR_IPV6_NXT] != TAPIR_IPPROTO_ICMPV6 || m[0] != TAPIR_ICMP6_NEIGHBOR_SOLICIT ||
	    tapir_ipv6_is_unspecified(ip + TAPIR_IPV6_SRC))
		return false;
	q->asker = tapir_ip_from_v6(ip + TAPIR_IPV6_SRC);
	q->target = tapir_ip_from_v6(m + TAPIR_ND_TARGET);
	memcpy(q->mac, f + TAPIR_ETH_SRC, 6);
	return !tapir_ip_eq(&q->target, &d->sc->cfg.local);
}

void drill_nbr_reply(struct drill *d, const struct nbr_req *q)
{
	uint8_t *m = d->buf + TAPIR_ETH_HLEN + TAPIR_IPV6_HLEN;
	if (tapir_ip_is_v4(&q->target)) {
		drill_arp(d, 2, tapir_ip_v4(&q->target), tapir_ip_v4(&q->asker), q->mac);
		return;
	}
	/* RFC 4861 4.4: a solicited advertisement overriding what tapir
	 * had, with the router flag for the router (else tapir would take
	 * it off its router list, 7.2.5) */
	memset(m, 0, TAPIR_ND_NA_LEN + 8);
	m[0] = TAPIR_ICMP6_NEIGHBOR_ADVERT;
	m[4] = TAPIR_ND_NA_SOLICITED | TAPIR_ND_NA_OVERRIDE |
	       (tapir_ip_eq(&q->target, &d->sc->cfg.gateway) ? TAPIR_ND_NA_ROUTER : 0);
	memcpy(m + TAPIR_ND_TARGET, q->target.b, 16);
	m[TAPIR_ND_NA_LEN] = TAPIR_ND_OPT_TGT_LLADDR;
	m[TAPIR_ND_NA_LEN + 1] = 1;
	send_nd(d, q->mac, q->target.b, q->asker.b, TAPIR_ND_NA_LEN + 8);
}

bool drill_is_tcp(const struct drill *d, const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + TAPIR_ETH_HLEN;
	if (len < TAPIR_ETH_HLEN + ip_hlen(d) + TAPIR_TCP_HLEN)
		return false;
	if (d->sc->cfg.ipv6)
		/* tapir puts no extension header before TCP (RFC 8200 4) */
		return tapir_get16(f + TAPIR_ETH_TYPE) == TAPIR_ETH_P_IPV6 &&
		       ip[TAPIR_IPV6_NXT] == TAPIR_IPPROTO_TCP;
	return tapir_get16(f + TAPIR_ETH_TYPE) == TAPIR_ETH_P_IPV4 &&
	       ip[TAPIR_IPV4_PROTO] == TAPIR_IPPROTO_TCP;
}

static size_t put_opts(struct drill *d, uint8_t *o, const struct dl_pkt *k, bool *too_long)
{
	size_t n = 0;
	*too_long = false;
	for (unsigned i = 0; i < k->nopt; i++) {
		const struct dl_opt *x = &k->opt[i];
		size_t need = x->kind == DL_OPT_EOL || x->kind == DL_OPT_NOP ? 1
			      : x->kind == DL_OPT_MSS ? 4 : x->kind == DL_OPT_WSCALE ? 3
			      : x->kind == DL_OPT_SACKOK ? 2 : x->kind == DL_OPT_TS ? 10
			      : x->kind == DL_OPT_FO ? 2 + (size_t)x->v[0]
			      : 2 + 4 * (size_t)x->n;
		if (n + need > 40) {
			*too_long = true;
			return n;
		}
		switch (x->kind) {
		case DL_OPT_EOL: o[n] = OPT_EOL; break;
		case DL_OPT_NOP: o[n] = OPT_NOP; break;
		case DL_OPT_MSS: o[n] = OPT_MSS; o[n + 1] = 4; tapir_put16(o + n + 2, x->v[0]); break;
		case DL_OPT_WSCALE: o[n] = OPT_WSCALE; o[n + 1] = 3; o[n + 2] = (uint8_t)x->v[0]; break;
		case DL_OPT_SACKOK: o[n] = OPT_SACKOK; o[n + 1] = 2; break;
		case DL_OPT_TS: o[n] = OPT_TS; o[n + 1] = 10; tapir_put32(o + n + 2, x->v[0]);
			tapir_put32(o + n + 6, x->v[1]); break;
		case DL_OPT_FO:
			o[n] = OPT_FO;
			o[n + 1] = (uint8_t)need;
			for (unsigned j = 0; j < x->v[0]; j++)
				o[n + 2 + j] = (uint8_t)(x->v[1 + j / 4] >> (24 - 8 * (j % 4)));
			break;
		case DL_OPT_SACK:
			o[n] = OPT_SACK;
			o[n + 1] = (uint8_t)need;
			/* SACK blocks acknowledge tapir's data: relative to its ISN */
			for (unsigned j = 0; j < x->n; j++)
				tapir_put32(o + n + 2 + 4 * j, x->v[j] + d->isn);
			break;
		}
		n += need;
	}
	while (n % 4) /* pad to the 32-bit boundary with EOL */
		o[n++] = OPT_EOL;
	return n;
}

/* The IP header of a packet between tapir and the remote end, from the
 * remote end or, FROM_TAPIR, the one an ICMP message quotes.  TOS is the
 * IPv4 TOS or IPv6 traffic class (ECN in its low bits, RFC 3168 5); PLEN
 * the bytes after the header; TTL the TTL or hop limit. */
static void ip_header(struct drill *d, uint8_t *ip, bool from_tapir, uint8_t proto, uint8_t tos,
		      uint8_t ttl, size_t plen)
{
	const struct dl_config *c = &d->sc->cfg;
	const struct tapir_ip *src = from_tapir ? &c->local : &c->remote;
	const struct tapir_ip *dst = from_tapir ? &c->remote : &c->local;
	if (c->ipv6) {
		ip6_header(ip, src->b, dst->b, proto, ttl, tos, plen);
		return;
	}
	ip[TAPIR_IPV4_VHL] = 0x45;
	ip[TAPIR_IPV4_TOS] = tos;
	tapir_put16(ip + TAPIR_IPV4_LEN, (uint16_t)(TAPIR_IPV4_HLEN + plen));
	tapir_put16(ip + TAPIR_IPV4_ID, d->ip_id++);
	tapir_put16(ip + TAPIR_IPV4_FRAG, TAPIR_IPV4_DF);
	ip[TAPIR_IPV4_TTL] = ttl;
	ip[TAPIR_IPV4_PROTO] = proto;
	tapir_put16(ip + TAPIR_IPV4_CSUM, 0);
	tapir_put32(ip + TAPIR_IPV4_SRC, tapir_ip_v4(src));
	tapir_put32(ip + TAPIR_IPV4_DST, tapir_ip_v4(dst));
	tapir_put16(ip + TAPIR_IPV4_CSUM, tapir_csum(ip, TAPIR_IPV4_HLEN));
}

/* The pseudo-header sum (RFC 9293 3.1; RFC 8200 8.1) of LEN bytes of
 * PROTO from tapir (FROM_TAPIR) or to it */
static uint32_t pseudo_sum(const struct drill *d, bool from_tapir, uint8_t proto, size_t len)
{
	const struct dl_config *c = &d->sc->cfg;
	const struct tapir_ip *src = from_tapir ? &c->local : &c->remote;
	const struct tapir_ip *dst = from_tapir ? &c->remote : &c->local;
	if (c->ipv6)
		return tapir_csum_pseudo6(src->b, dst->b, proto, (uint32_t)len);
	return tapir_csum_pseudo(tapir_ip_v4(src), tapir_ip_v4(dst), proto, (uint16_t)len);
}

/* A packet from the remote end to tapir: the IP header before the PLEN
 * bytes already in d->buf after it. */
static void send_ip(struct drill *d, uint8_t proto, uint8_t tos, uint8_t ttl, size_t plen)
{
	uint8_t *f = d->buf;
	eth_header(f, drill_mac_tapir, drill_mac_remote,
		   d->sc->cfg.ipv6 ? TAPIR_ETH_P_IPV6 : TAPIR_ETH_P_IPV4);
	ip_header(d, f + TAPIR_ETH_HLEN, false, proto, tos, ttl, plen);
	inject(d, f, TAPIR_ETH_HLEN + ip_hlen(d) + plen);
}

void drill_inject_tcp(struct drill *d, const struct dl_event *e)
{
	const struct dl_pkt *k = &e->pkt;
	uint8_t *th = d->buf + TAPIR_ETH_HLEN + ip_hlen(d);
	bool too_long;
	size_t ol = put_opts(d, th + TAPIR_TCP_HLEN, k, &too_long), tl;
	if (too_long) {
		d->plain = true;
		drill_finish(d, R_FAIL, e->line, "TCP options longer than 40 bytes");
		return;
	}
	if (k->seq_any || k->ack_any || k->win_any || k->opts == DL_OPTS_ANY) {
		d->plain = true;
		drill_finish(d, R_FAIL, e->line, "wildcards in an inbound packet");
		return;
	}
	tl = TAPIR_TCP_HLEN + ol + k->len;
	tapir_put16(th + TAPIR_TH_SPORT, d->rport);
	tapir_put16(th + TAPIR_TH_DPORT, d->lport);
	if ((k->flags & (DL_SYN | DL_ACK)) == DL_SYN)
		d->syn_isn = k->seq;
	if ((k->flags & (DL_SYN | DL_ACK)) == (DL_SYN | DL_ACK) && d->synack_pending) {
		d->risn = k->seq;
		d->synack_pending = false;
	}
	/* a SYN's number as written; the rest relative to the script's ISN */
	tapir_put32(th + TAPIR_TH_SEQ, k->flags & DL_SYN ? k->seq : k->seq + d->risn);
	/* packetdrill: inbound ACK numbers are relative to tapir's ISN */
	tapir_put32(th + TAPIR_TH_ACK_NO, k->has_ack ? k->ack + d->isn : 0);
	th[TAPIR_TH_OFF] = (uint8_t)(((TAPIR_TCP_HLEN + ol) / 4) << 4);
	th[TAPIR_TH_FLAGS] = k->flags;
	tapir_put16(th + TAPIR_TH_WIN, k->has_win ? k->win : 65535);
	tapir_put16(th + TAPIR_TH_CSUM, 0);
	tapir_put16(th + TAPIR_TH_URP, 0);
	memset(th + TAPIR_TCP_HLEN + ol, 0, k->len);
	tapir_put16(th + TAPIR_TH_CSUM,
		    tapir_csum_fold(tapir_csum_add(pseudo_sum(d, false, TAPIR_IPPROTO_TCP, tl), th, tl)));
	send_ip(d, TAPIR_IPPROTO_TCP,
		k->ip_tos >= 0 ? (uint8_t)k->ip_tos : k->ecn > 0 ? (uint8_t)k->ecn : 0,
		k->ip_ttl > 0 ? (uint8_t)k->ip_ttl : 64, tl);
}

void drill_inject_icmp(struct drill *d, const struct dl_event *e)
{
	const struct dl_icmp *c = &e->icmp;
	const bool v6 = d->sc->cfg.ipv6;
	const size_t ihl = ip_hlen(d), len = TAPIR_ICMP_HLEN + ihl + TAPIR_TCP_HLEN;
	uint8_t *ic = d->buf + TAPIR_ETH_HLEN + ihl, *ip = ic + TAPIR_ICMP_HLEN, *th = ip + ihl;
	memset(ic, 0, len);
	ic[0] = c->type;
	ic[1] = c->code;
	if (v6 ? c->type == TAPIR_ICMP6_PKT_TOO_BIG
	       : c->type == TAPIR_ICMP_UNREACH && c->code == TAPIR_ICMP_UNREACH_NEEDFRAG)
		tapir_put16(ic + 6, c->mtu); /* RFC 1191; RFC 4443 3.2 (32 bits) */
	else if (v6 && c->type == TAPIR_ICMP6_PARAM_PROBLEM && c->code == TAPIR_ICMP6_PARAM_NEXTHDR)
		/* RFC 4443 3.4: the pointer to the quoted next header */
		tapir_put32(ic + 4, TAPIR_IPV6_NXT);
	/* the quoted packet: one tapir sent, sequence relative to its ISN */
	ip_header(d, ip, true, TAPIR_IPPROTO_TCP, 0, 64, TAPIR_TCP_HLEN + c->len);
	tapir_put16(th + TAPIR_TH_SPORT, d->lport);
	tapir_put16(th + TAPIR_TH_DPORT, d->rport);
	tapir_put32(th + TAPIR_TH_SEQ, c->seq + d->isn);
	th[TAPIR_TH_OFF] = (TAPIR_TCP_HLEN / 4) << 4;
	th[TAPIR_TH_FLAGS] = DL_ACK;
	/* RFC 4443 2.3: ICMPv6 sums its pseudo header too */
	tapir_put16(ic + 2, tapir_csum_fold(tapir_csum_add(
				    v6 ? pseudo_sum(d, false, TAPIR_IPPROTO_ICMPV6, len) : 0, ic, len)));
	send_ip(d, v6 ? TAPIR_IPPROTO_ICMPV6 : TAPIR_IPPROTO_ICMP, 0, 64, len);
}

/* ---- decoding what tapir sends ---- */

/* The options of a segment, after its fixed header; an unknown kind is kept
 * as an EOL with 99 values, so that it shows as a mismatch. */
static void decode_opts(const uint8_t *o, size_t len, struct seg *g)
{
	for (size_t i = 0; i < len && g->nopt < DL_MAX_OPTS;) {
		struct dl_opt *x = &g->opt[g->nopt];
		size_t ol;
		memset(x, 0, sizeof(*x));
		if (o[i] == OPT_EOL) {
			x->kind = DL_OPT_EOL;
			g->nopt++;
			break;
		}
		if (o[i] == OPT_NOP) {
			x->kind = DL_OPT_NOP;
			g->nopt++;
			i++;
			continue;
		}
		if (i + 1 >= len || o[i + 1] < 2 || i + o[i + 1] > len)
			break;
		ol = o[i + 1];
		switch (o[i]) {
		case OPT_MSS: x->kind = DL_OPT_MSS; x->v[0] = tapir_get16(o + i + 2); x->n = 1; break;
		case OPT_WSCALE: x->kind = DL_OPT_WSCALE; x->v[0] = o[i + 2]; x->n = 1; break;
		case OPT_SACKOK: x->kind = DL_OPT_SACKOK; break;
		case OPT_TS: x->kind = DL_OPT_TS; x->v[0] = tapir_get32(o + i + 2);
			x->v[1] = tapir_get32(o + i + 6); x->n = 2; break;
		case OPT_FO:
			if (ol - 2 > DL_FO_COOKIE_MAX) {
				x->kind = DL_OPT_EOL;
				x->n = 99; /* no such cookie: matches nothing */
				break;
			}
			x->kind = DL_OPT_FO;
			x->v[0] = (uint32_t)(ol - 2);
			for (size_t j = 0; j < ol - 2; j++)
				x->v[1 + j / 4] |= (uint32_t)o[i + 2 + j] << (24 - 8 * (j % 4));
			x->n = 1 + (x->v[0] + 3) / 4;
			break;
		case OPT_SACK:
			x->kind = DL_OPT_SACK;
			for (size_t j = 2; j + 4 <= ol && x->n < 8; j += 4)
				x->v[x->n++] = tapir_get32(o + i + j);
			break;
		default:
			x->kind = DL_OPT_EOL;
			x->n = 99;
			break;
		}
		g->nopt++;
		i += ol;
	}
}

bool drill_decode(const struct drill *d, const struct frame *fr, struct seg *g)
{
	const uint8_t *ip = fr->data + TAPIR_ETH_HLEN, *th;
	size_t ihl, tot, off;
	bool ip_ok;
	memset(g, 0, sizeof(*g));
	if (d->sc->cfg.ipv6) { /* RFC 8200 3 */
		ihl = TAPIR_IPV6_HLEN;
		tot = ihl + tapir_get16(ip + TAPIR_IPV6_PLEN);
		g->tos = (uint8_t)(ip[TAPIR_IPV6_VTC] << 4 | ip[1] >> 4);
		g->ttl = ip[TAPIR_IPV6_HLIM];
	} else {
		ihl = (size_t)(ip[TAPIR_IPV4_VHL] & 15) * 4;
		tot = tapir_get16(ip + TAPIR_IPV4_LEN);
		g->tos = ip[TAPIR_IPV4_TOS];
		g->ttl = ip[TAPIR_IPV4_TTL];
	}
	if (ihl < TAPIR_IPV4_HLEN || tot > fr->len - TAPIR_ETH_HLEN || tot < ihl + TAPIR_TCP_HLEN)
		return false;
	/* RFC 8200 3 / RFC 791: a hop limit (TTL) of 0 never arrives */
	if (!ip[d->sc->cfg.ipv6 ? TAPIR_IPV6_HLIM : TAPIR_IPV4_TTL])
		return false;
	ip_ok = d->sc->cfg.ipv6 ? ip[0] >> 4 == 6 : tapir_csum(ip, ihl) == 0;
	th = ip + ihl;
	off = (size_t)(th[TAPIR_TH_OFF] >> 4) * 4;
	if (off < TAPIR_TCP_HLEN || off > tot - ihl)
		return false;
	g->sport = tapir_get16(th + TAPIR_TH_SPORT);
	g->dport = tapir_get16(th + TAPIR_TH_DPORT);
	g->seq = tapir_get32(th + TAPIR_TH_SEQ);
	g->ack = tapir_get32(th + TAPIR_TH_ACK_NO);
	g->flags = th[TAPIR_TH_FLAGS];
	g->win = tapir_get16(th + TAPIR_TH_WIN);
	g->len = (uint32_t)(tot - ihl - off);
	g->csum_ok = ip_ok && tapir_csum_fold(tapir_csum_add(pseudo_sum(d, true, TAPIR_IPPROTO_TCP,
									  tot - ihl),
							      th, tot - ihl)) == 0;
	decode_opts(th + TAPIR_TCP_HLEN, off - TAPIR_TCP_HLEN, g);
	return true;
}

/* ---- showing segments as scripts write them ---- */

static int fmt_flags(char *b, size_t n, uint8_t f)
{
	return snprintf(b, n, "%s%s%s%s%s%s%s%s", f & DL_SYN ? "S" : "", f & DL_FIN ? "F" : "",
			f & DL_RST ? "R" : "", f & DL_PSH ? "P" : "", f & DL_ECE ? "E" : "",
			f & DL_CWR ? "W" : "", f & DL_URG ? "U" : "", f & DL_ACK ? "." : "");
}

/* " <mss 1460,nop,...>" */
static int fmt_opts(char *b, size_t n, const struct dl_opt *o, unsigned no)
{
	int w = snprintf(b, n, " <");
	for (unsigned i = 0; i < no && (size_t)w < n; i++) {
		const char *sep = i ? "," : "";
		switch (o[i].kind) {
		case DL_OPT_EOL: w += snprintf(b + w, n - (size_t)w, "%seol", sep); break;
		case DL_OPT_NOP: w += snprintf(b + w, n - (size_t)w, "%snop", sep); break;
		case DL_OPT_MSS: w += snprintf(b + w, n - (size_t)w, "%smss %u", sep, o[i].v[0]); break;
		case DL_OPT_WSCALE:
			w += snprintf(b + w, n - (size_t)w, "%swscale %u", sep, o[i].v[0]);
			break;
		case DL_OPT_SACKOK: w += snprintf(b + w, n - (size_t)w, "%ssackOK", sep); break;
		case DL_OPT_TS:
			w += snprintf(b + w, n - (size_t)w, "%sTS val %u ecr %u", sep, o[i].v[0],
				      o[i].v[1]);
			break;
		case DL_OPT_FO:
			w += snprintf(b + w, n - (size_t)w, "%sFO%s", sep, o[i].v[0] ? " " : "");
			for (unsigned j = 0; j < o[i].v[0] && (size_t)w < n; j++)
				w += snprintf(b + w, n - (size_t)w, "%02x",
					      (o[i].v[1 + j / 4] >> (24 - 8 * (j % 4))) & 0xff);
			break;
		case DL_OPT_SACK:
			w += snprintf(b + w, n - (size_t)w, "%ssack", sep);
			for (unsigned j = 0; j + 1 < o[i].n && (size_t)w < n; j += 2)
				w += snprintf(b + w, n - (size_t)w, " %u:%u", o[i].v[j], o[i].v[j + 1]);
			break;
		}
	}
	if ((size_t)w < n)
		w += snprintf(b + w, n - (size_t)w, ">");
	return w;
}

void drill_fmt_seg(struct drill *d, char *b, size_t n, const struct seg *g)
{
	int w = fmt_flags(b, n, g->flags);
	uint32_t s = g->seq - d->isn;
	w += snprintf(b + w, n - (size_t)w, " %u:%u(%u)", s, s + g->len, g->len);
	if (g->flags & DL_ACK)
		w += snprintf(b + w, n - (size_t)w, " ack %u", g->ack - d->risn);
	w += snprintf(b + w, n - (size_t)w, " win %u", g->win);
	if (g->nopt)
		fmt_opts(b + w, n - (size_t)w, g->opt, g->nopt);
}

/* WANT and GOT (already written) with "(ttl N, tos 0xNN) " in front: the
 * fields K names */
void drill_fmt_ip(char *want, size_t wn, char *got, size_t gn, const struct dl_pkt *k,
		  const struct seg *g)
{
	char w[300], t[300];
	snprintf(w, sizeof(w), "(ttl %d, tos 0x%02x) %s", k->ip_ttl >= 0 ? k->ip_ttl : g->ttl,
		 (unsigned)(k->ip_tos >= 0 ? k->ip_tos : g->tos), want);
	snprintf(t, sizeof(t), "(ttl %u, tos 0x%02x) %s", g->ttl, g->tos, got);
	snprintf(want, wn, "%s", w);
	snprintf(got, gn, "%s", t);
}

void drill_fmt_exp(char *b, size_t n, const struct dl_pkt *k)
{
	int w = fmt_flags(b, n, k->flags);
	if (k->seq_any)
		w += snprintf(b + w, n - (size_t)w, " ...");
	else
		w += snprintf(b + w, n - (size_t)w, " %u:%u(%u)", k->seq, k->seq + k->len, k->len);
	if (k->has_ack)
		w += k->ack_any ? snprintf(b + w, n - (size_t)w, " ack ...")
				: snprintf(b + w, n - (size_t)w, " ack %u", k->ack);
	if (k->has_win)
		w += k->win_any ? snprintf(b + w, n - (size_t)w, " win ...")
				: snprintf(b + w, n - (size_t)w, " win %u", k->win);
	if (k->opts == DL_OPTS_ANY)
		w += snprintf(b + w, n - (size_t)w, " <...>");
	else if (k->opts == DL_OPTS_LIST)
		w += fmt_opts(b + w, n - (size_t)w, k->opt, k->nopt);
	if (k->rest_any)
		snprintf(b + w, n - (size_t)w, " ...");
}

/* ---- comparing ---- */

/* --lenient options: only the options tapir implements (MSS) are compared;
 * the rest are one OS's choices (RFC 7323, RFC 2018 are optional). */
static unsigned filter_opts(const struct dl_opt *in, unsigned n, struct dl_opt *out, bool lenient)
{
	unsigned m = 0;
	for (unsigned i = 0; i < n; i++) {
		if (lenient && in[i].kind != DL_OPT_MSS)
			continue;
		out[m++] = in[i];
	}
	return m;
}

static bool opts_match(struct drill *d, const struct dl_pkt *k, const struct seg *g)
{
	struct dl_opt a[DL_MAX_OPTS], b[DL_MAX_OPTS];
	unsigned na, nb;
	if (k->rest_any || k->opts == DL_OPTS_ANY)
		return true;
	na = filter_opts(k->opt, k->opts == DL_OPTS_LIST ? k->nopt : 0, a, d->lenient_opts);
	nb = filter_opts(g->opt, g->nopt, b, d->lenient_opts);
	/* trailing EOL padding is not an option */
	while (na && a[na - 1].kind == DL_OPT_EOL && !a[na - 1].n)
		na--;
	while (nb && b[nb - 1].kind == DL_OPT_EOL && !b[nb - 1].n)
		nb--;
	if (na != nb)
		return false;
	for (unsigned i = 0; i < na; i++) {
		if (a[i].kind != b[i].kind || a[i].n != b[i].n)
			return false;
		/* outbound SACK blocks: the script's own numbers, as written */
		for (unsigned j = 0; j < a[i].n; j++) {
			/* packetdrill checks no TS val (its clock is not ours) */
			if (a[i].kind == DL_OPT_TS && j == 0)
				continue;
			if (a[i].v[j] + (a[i].kind == DL_OPT_SACK ? d->risn : 0) != b[i].v[j])
				return false;
		}
	}
	return true;
}

bool drill_seg_match(struct drill *d, const struct dl_pkt *k, const struct seg *g)
{
	if (k->flags != g->flags)
		return false;
	if (!k->seq_any && (g->seq - (k->seq_abs ? 0 : d->isn) != k->seq || g->len != k->len))
		return false;
	if ((k->ip_ttl >= 0 && g->ttl != k->ip_ttl) || (k->ip_tos >= 0 && g->tos != k->ip_tos))
		return false;
	if (!k->rest_any && k->has_ack && !k->ack_any && (k->flags & DL_ACK) &&
	    g->ack - d->risn != k->ack)
		return false;
	if (!k->rest_any && k->has_win && !k->win_any) {
		/* --lenient win: the size is one OS's buffer choice; only a
		 * closed window (0) against an open one is a difference */
		if (d->lenient_win ? (k->win == 0) != (g->win == 0) : k->win != g->win)
			return false;
	}
	/* the IP header's ECN field (RFC 3168 5); 4 is [ect01]: either ECT */
	if (k->ecn >= 0 && (k->ecn == 4 ? (g->tos & 3) != 1 && (g->tos & 3) != 2
				      : (g->tos & 3) != k->ecn))
		return false;
	return opts_match(d, k, g);
}
