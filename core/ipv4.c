/* IPv4 (RFC 791, RFC 1122 3.2.1): header validation and local delivery on
 * the way in; routing, the header and fragmentation on the way out.
 * Reassembly lives in ip_reasm.c. */
#include <errno.h>
#include <stdio.h>

#include "core.h"

/* ---- addresses and routes ---- */

bool ipv4_is_local(const struct tapir_stack *s, uint32_t a)
{
	/* RFC 1122 3.2.1.3 (g): all of 127/8 is this host's loopback */
	if (tapir_ipv4_is_loopback(a))
		return true;
	for (int i = 0; i < s->nifaces; i++)
		if (s->ifaces[i].up && s->ifaces[i].addr == a)
			return true;
	return false;
}

bool ipv4_is_broadcast(const struct tapir_stack *s, uint32_t a)
{
	if (a == TAPIR_IPV4_BROADCAST)
		return true;
	for (int i = 0; i < s->nifaces; i++) {
		const struct tp_iface *ifc = &s->ifaces[i];
		if (ifc->up && tapir_ipv4_is_directed_broadcast(a, ifc->addr, ifc->mask))
			return true;
	}
	return false;
}

int ipv4_route(const struct tapir_stack *s, uint32_t dst, uint32_t *nexthop)
{
	const struct tp_route *best = NULL;
	for (int i = 0; i < TP_MAX_ROUTES; i++) {
		const struct tp_route *r = &s->routes[i];
		if (r->used && (dst & r->mask) == r->dst && s->ifaces[r->ifindex].up &&
		    (!best || r->mask > best->mask))
			best = r;
	}
	if (!best)
		return -1;
	if (nexthop)
		*nexthop = best->gateway ? best->gateway : dst;
	return best->ifindex;
}

unsigned ipv4_link_mtu(const struct tapir_stack *s, uint32_t dst)
{
	int i;
	if (tapir_ipv4_is_loopback(dst))
		return TP_LOOP_MTU;
	i = ipv4_route(s, dst, NULL);
	return i < 0 ? 0 : s->ifaces[i].mtu;
}

unsigned ipv4_path_mtu(const struct tapir_stack *s, uint32_t dst)
{
	struct tapir_ip d = tapir_ip_from_v4(dst);
	return tp_pmtu_get(s, &d, ipv4_link_mtu(s, dst));
}

bool ipv4_pmtu_update(struct tapir_stack *s, uint32_t dst, unsigned mtu)
{
	/* RFC 1191 3 allows 68 (RFC 791's minimum), but a forged message
	 * could then shrink every segment to a few bytes (RFC 1191 8, RFC
	 * 5927 7): the floor is configurable, 576 (RFC 1122 3.3.3, the size
	 * every host takes) by default, never below 68 */
	unsigned floor = s->cfg.pmtu_min ? s->cfg.pmtu_min : TP_PMTU4_FLOOR;
	struct tapir_ip d = tapir_ip_from_v4(dst);
	char a[16];
	if (floor < TP_IPV4_MIN_MTU)
		floor = TP_IPV4_MIN_MTU;
	if (mtu < floor)
		mtu = floor;
	if (!tp_pmtu_lower(s, &d, mtu, ipv4_path_mtu(s, dst)))
		return false;
	STAT(s, icmp_pmtu_updates);
	TRACE(s, TAPIR_TR_IP, "path mtu to %s: %u", tp_ip_str(dst, a), mtu);
	return true;
}

unsigned ipv4_path_tso(const struct tapir_stack *s, uint32_t dst)
{
	if (ipv4_is_local(s, dst))
		return 0;
	return ether_tso_max(s, ipv4_route(s, dst, NULL), TAPIR_TR_IP);
}

static const char *proto_name(uint8_t p, char buf[12])
{
	switch (p) {
	case TAPIR_IPPROTO_ICMP: return "icmp";
	case TAPIR_IPPROTO_UDP: return "udp";
	case TAPIR_IPPROTO_TCP: return "tcp";
	}
	snprintf(buf, 12, "proto%u", p);
	return buf;
}

static void trace_ip(struct tapir_stack *s, const char *dir, const uint8_t *h)
{
	char a[16], b[16], pn[12], frag[32] = "";
	uint16_t fo = tapir_get16(h + 6);
	if (fo & 0x3fff)
		snprintf(frag, sizeof(frag), " frag %u%s", (fo & 0x1fff) * 8u,
			 (fo & 0x2000) ? "+" : "");
	tp_trace(s, TAPIR_TR_IP, "%s %s > %s: %s len %u id %u ttl %u%s%s", dir,
		 tp_ip_str(tapir_get32(h + 12), a), tp_ip_str(tapir_get32(h + 16), b), proto_name(h[9], pn),
		 tapir_get16(h + 2), tapir_get16(h + 4), h[8], (fo & 0x4000) ? " DF" : "", frag);
}

/* RFC 791 3.1 "Options": EOL ends the list, NOP is one byte, every other
 * option has a length byte covering itself and its type. */
static bool ipv4_options_ok(const uint8_t *o, size_t len)
{
	size_t i = 0;
	while (i < len) {
		if (o[i] == 0)
			return true;
		if (o[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= len || o[i + 1] < 2 || i + o[i + 1] > len)
			return false;
		i += o[i + 1];
	}
	return true;
}

/* ---- input ---- */

int ipv4_input(struct tapir_stack *s, int ifindex, uint8_t *pkt, size_t len)
{
	size_t hlen, total;
	uint32_t src, dst;
	const struct tp_iface *ifc = &s->ifaces[ifindex];

	if (len < TAPIR_IPV4_HLEN)
		return TAPIR_DROP_ip_short;
	if (pkt[0] >> 4 != 4)
		return TAPIR_DROP_ip_version;
	hlen = (size_t)(pkt[0] & 15) * 4;
	if (hlen < TAPIR_IPV4_HLEN || hlen > len)
		return TAPIR_DROP_ip_header_len;
	total = tapir_get16(pkt + 2);
	if (total < hlen || total > len)
		return TAPIR_DROP_ip_total_len;
	/* RFC 791 3.1: the checksum covers the header only */
	if (tapir_csum(pkt, hlen) != 0)
		return TAPIR_DROP_ip_checksum;
	if (hlen > TAPIR_IPV4_HLEN && !ipv4_options_ok(pkt + TAPIR_IPV4_HLEN, hlen - TAPIR_IPV4_HLEN))
		return TAPIR_DROP_ip_options;
	src = tapir_get32(pkt + 12);
	dst = tapir_get32(pkt + 16);
	/* RFC 1122 3.2.1.3: never a source (0/8: we do not boot from the net) */
	if (tapir_ipv4_is_martian_source(src) || ipv4_is_broadcast(s, src) || ipv4_is_local(s, src))
		return TAPIR_DROP_ip_bad_source;
	/* RFC 1122 3.2.1.3 (g): 127/8 never comes from outside the host; our
	 * own loopback datagrams take ip_loop_queue, never this path */
	if (tapir_ipv4_is_loopback(dst))
		return TAPIR_DROP_ip_not_for_us;
	/* RFC 1122 3.3.4.2: the weak host model: any of our addresses on any
	 * interface, and broadcasts on the interface they came in on */
	if (!ipv4_is_local(s, dst) && dst != TAPIR_IPV4_BROADCAST &&
	    !(ifc->mask < 0xfffffffeu && (dst & ifc->mask) == (ifc->addr & ifc->mask) &&
	      (dst & ~ifc->mask) == ~ifc->mask))
		return TAPIR_DROP_ip_not_for_us;
	if (HOOKED(s, TAPIR_HOOK_IP_RX) &&
	    !hook_run(s, TAPIR_HOOK_IP_RX, -1, pkt, total, src, dst, NULL))
		return TAPIR_DROP_hook;
	STAT(s, ip_rx);
	if (TRACE_ON(s, TAPIR_TR_IP))
		trace_ip(s, "rx", pkt);
	/* the link may pad short frames: from here on, the datagram only */
	if (tapir_get16(pkt + 6) & 0x3fff) /* MF set or offset non-zero */
		return reasm_input(s, ifindex, pkt, total, hlen);
	return ipv4_deliver(s, ifindex, pkt, total);
}

int ipv4_deliver(struct tapir_stack *s, int ifindex, uint8_t *pkt, size_t len)
{
	size_t hlen = (size_t)(pkt[0] & 15) * 4;
	switch (pkt[9]) {
	case TAPIR_IPPROTO_ICMP:
		return icmp_input(s, ifindex, pkt, len, hlen);
	case TAPIR_IPPROTO_UDP:
		return udp_input(s, pkt, len, hlen);
	case TAPIR_IPPROTO_TCP:
		return tcp_input(s, pkt, len, hlen);
	default:
		/* RFC 1122 3.2.2.1: protocol unreachable */
		icmp_send_error(s, pkt, len, TAPIR_ICMP_UNREACH, TAPIR_ICMP_UNREACH_PROTO);
		return TAPIR_DROP_ip_protocol;
	}
}

/* ---- output ---- */

static void ipv4_header(uint8_t *h, size_t total, uint16_t id, uint16_t frag, uint8_t ttl,
			uint8_t proto, uint32_t src, uint32_t dst, uint8_t tos)
{
	h[0] = 0x45;
	h[1] = tos;
	tapir_put16(h + 2, (uint16_t)total);
	tapir_put16(h + 4, id);
	tapir_put16(h + 6, frag);
	h[8] = ttl;
	h[9] = proto;
	tapir_put16(h + 10, 0);
	tapir_put32(h + 12, src);
	tapir_put32(h + 16, dst);
	tapir_put16(h + 10, tapir_csum(h, TAPIR_IPV4_HLEN));
}

/* The TTL and TOS of FLAGS (TP_IP_TTL, a socket's TOS, TP_IP_ECT0) */
static uint8_t ipv4_ttl(const struct tapir_stack *s, unsigned flags)
{
	return (flags & TP_IP_TTL) ? TP_IP_TTL_OF(flags) : s->cfg.ttl;
}

static int ipv4_loop(struct tapir_stack *s, struct tp_pkt *p, uint32_t src, uint32_t dst,
		     uint8_t proto, uint16_t id, unsigned flags)
{
	ipv4_header(tp_pkt_push(p, TAPIR_IPV4_HLEN), p->len + TAPIR_IPV4_HLEN, id, 0,
		    ipv4_ttl(s, flags), proto, src, dst, TP_IP_TOS_OF(flags));
	STAT(s, ip_tx);
	if (TRACE_ON(s, TAPIR_TR_IP))
		trace_ip(s, "loop", p->data);
	return ip_loop_queue(s, p);
}

/* To or from 127/8: never routed to a link (RFC 1122 3.2.1.3 (g)); a
 * loopback source towards anything but ourselves has no route, as on
 * Linux.  The source for a 127/8 destination is 127.0.0.1. */
static int ipv4_output_loopback(struct tapir_stack *s, struct tp_pkt *p, uint32_t src,
				uint32_t dst, uint8_t proto, uint16_t id, unsigned flags)
{
	if (!ipv4_is_local(s, dst)) {
		STAT(s, ip_no_route);
		tp_pkt_free(s, p);
		return -ENETUNREACH;
	}
	if (p->len + TAPIR_IPV4_HLEN > 65535) {
		tp_pkt_free(s, p);
		return -EMSGSIZE;
	}
	return ipv4_loop(s, p, src ? src : TP_IPV4_LOOPBACK, dst, proto, id, flags);
}

/* The last step of output for a packet or fragment with its header. */
static int ipv4_send(struct tapir_stack *s, int ifindex, uint32_t nexthop, struct tp_pkt *p)
{
	if (HOOKED(s, TAPIR_HOOK_IP_TX) &&
	    !hook_run(s, TAPIR_HOOK_IP_TX, -1, p->data, p->len, tapir_get32(p->data + 12),
		      tapir_get32(p->data + 16), NULL)) {
		STAT(s, tx_hook_dropped);
		tp_pkt_free(s, p);
		return 0;
	}
	STAT(s, ip_tx);
	if (TRACE_ON(s, TAPIR_TR_IP))
		trace_ip(s, "tx", p->data);
	arp_output(s, ifindex, nexthop, p);
	return 0;
}

int ipv4_broadcast(struct tapir_stack *s, int ifindex, struct tp_pkt *p, uint32_t src,
		   uint8_t proto)
{
	size_t total = p->len + TAPIR_IPV4_HLEN;
	/* RFC 1122 3.3.6: the limited broadcast is for the link it is sent on,
	 * so it is not routed: the caller names the interface */
	if (total > s->ifaces[ifindex].mtu) {
		tp_pkt_free(s, p);
		return -EMSGSIZE;
	}
	ipv4_header(tp_pkt_push(p, TAPIR_IPV4_HLEN), total, s->ip_id++, 0, s->cfg.ttl, proto, src,
		    TAPIR_IPV4_BROADCAST, 0);
	return ipv4_send(s, ifindex, TAPIR_IPV4_BROADCAST, p);
}

int ipv4_output(struct tapir_stack *s, struct tp_pkt *p, uint32_t src, uint32_t dst,
		uint8_t proto, unsigned flags)
{
	uint32_t nexthop;
	int ifindex;
	const struct tp_iface *ifc;
	size_t plen = p->len, chunk;
	uint16_t id = s->ip_id++;

	if (tapir_ipv4_is_loopback(dst) || tapir_ipv4_is_loopback(src))
		return ipv4_output_loopback(s, p, src, dst, proto, id, flags);
	ifindex = ipv4_route(s, dst, &nexthop);
	if (ifindex < 0) {
		STAT(s, ip_no_route);
		tp_pkt_free(s, p);
		return -ENETUNREACH;
	}
	ifc = &s->ifaces[ifindex];
	if (!src)
		src = ifc->addr;
	if (plen + TAPIR_IPV4_HLEN > 65535) {
		tp_pkt_free(s, p);
		return -EMSGSIZE;
	}
	if (ipv4_is_local(s, dst))
		return ipv4_loop(s, p, src, dst, proto, id, flags);
	if (plen + TAPIR_IPV4_HLEN <= ifc->mtu || p->tso_size) {
		ipv4_header(tp_pkt_push(p, TAPIR_IPV4_HLEN), plen + TAPIR_IPV4_HLEN, id,
			    (flags & TP_IP_DF) ? 0x4000 : 0, ipv4_ttl(s, flags), proto, src, dst,
			    TP_IP_TOS_OF(flags));
		return ipv4_send(s, ifindex, nexthop, p);
	}
	if (flags & TP_IP_DF) {
		STAT(s, ip_df_too_big);
		tp_pkt_free(s, p);
		return -EMSGSIZE;
	}
	/* RFC 791 3.2 "Fragmentation": every fragment but the last carries a
	 * multiple of 8 bytes; all carry the same id. */
	chunk = (ifc->mtu - TAPIR_IPV4_HLEN) & ~(size_t)7;
	for (size_t off = 0; off < plen; off += chunk) {
		size_t n = plen - off < chunk ? plen - off : chunk;
		bool more = off + n < plen;
		struct tp_pkt *f = tp_pkt_alloc(s, n + TAPIR_IPV4_HLEN);
		if (!f) {
			STAT(s, tx_nomem);
			break; /* the peer's reassembly will time out */
		}
		memcpy(f->data, p->data + off, n);
		f->len = (uint32_t)n;
		ipv4_header(tp_pkt_push(f, TAPIR_IPV4_HLEN), n + TAPIR_IPV4_HLEN, id,
			    (uint16_t)((more ? 0x2000 : 0) | (off / 8)), ipv4_ttl(s, flags), proto,
			    src, dst, TP_IP_TOS_OF(flags));
		STAT(s, ip_frag_created);
		ipv4_send(s, ifindex, nexthop, f);
	}
	tp_pkt_free(s, p);
	return 0;
}
