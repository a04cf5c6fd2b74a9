/* Ethernet II (RFC 894): destination filter and ethertype demux on the way
 * in, the header and the link's send on the way out. */
#include <errno.h>

#include "core.h"

const uint8_t tp_mac_broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

int ether_input(struct tapir_stack *s, int ifindex, uint8_t *frame, size_t len)
{
	struct tp_iface *ifc = &s->ifaces[ifindex];
	uint16_t type;

	if (len < TAPIR_ETH_HLEN)
		return TAPIR_DROP_eth_short;
	/* Our MAC, broadcast, and with IPv6 on, the 33:33 multicast block
	 * (RFC 2464 7), whose groups the IPv6 layer checks. */
	if (memcmp(frame, ifc->mac, 6) && memcmp(frame, tp_mac_broadcast, 6) &&
	    !(ifc->v6 && frame[0] == 0x33 && frame[1] == 0x33 &&
	      tapir_get16(frame + 12) == TAPIR_ETH_P_IPV6))
		return TAPIR_DROP_eth_not_for_us;
	if (!memcmp(frame + 6, ifc->mac, 6))
		return TAPIR_DROP_eth_own_source;
	s->rx_l2_broadcast = frame[0] & 1;
	type = tapir_get16(frame + 12);
	switch (type) {
	case TAPIR_ETH_P_ARP:
		return arp_input(s, ifindex, frame + TAPIR_ETH_HLEN, len - TAPIR_ETH_HLEN);
	case TAPIR_ETH_P_IPV4:
		if (!ifc->up && !dhcp_listening(s, ifindex))
			return TAPIR_DROP_iface_down;
		return ipv4_input(s, ifindex, frame + TAPIR_ETH_HLEN, len - TAPIR_ETH_HLEN);
	case TAPIR_ETH_P_IPV6:
		if (!ifc->v6) /* IPv6 not turned on: not handled */
			return TAPIR_DROP_eth_ethertype;
		return ipv6_input(s, ifindex, frame + TAPIR_ETH_HLEN, len - TAPIR_ETH_HLEN);
	default:
		return TAPIR_DROP_eth_ethertype;
	}
}

/* Sends the chain Q (packets that waited for the neighbor's address, ARP
 * or ND) to DST, in the order they came. */
void ether_send_queue(struct tapir_stack *s, int ifindex, struct tp_pkt *q, const uint8_t *dst,
		      uint16_t type)
{
	while (q) {
		struct tp_pkt *next = q->next;
		ether_send(s, ifindex, q, dst, type);
		q = next;
	}
}

void ether_send(struct tapir_stack *s, int ifindex, struct tp_pkt *p, const uint8_t *dst,
		uint16_t type)
{
	struct tp_iface *ifc = &s->ifaces[ifindex];
	uint8_t *h = tp_pkt_push(p, TAPIR_ETH_HLEN);

	memcpy(h, dst, 6);
	memcpy(h + 6, ifc->mac, 6);
	tapir_put16(h + 12, type);
	/* Frames shorter than 60 bytes are padded by the sender (IEEE 802.3);
	 * a TAP device passes them unpadded, so pad here with zeros. */
	if (p->len < 60 && tp_pkt_headroom(p) + 60 <= p->cap) {
		memset(p->data + p->len, 0, 60 - p->len);
		p->len = 60;
	}
	if (HOOKED(s, TAPIR_HOOK_LINK_TX) &&
	    !hook_run(s, TAPIR_HOOK_LINK_TX, ifindex, p->data, p->len, 0, 0, NULL)) {
		STAT(s, tx_hook_dropped);
		tp_pkt_free(s, p);
		return;
	}
	if ((p->tso_size || p->csum_partial) && ifc->link->send_tso) {
		/* TCP's super-segment: the link cuts it at tso_size (0: one
		 * segment, its checksum alone left to the link).  TCP
		 * follows the IPv4 header and its options, or the fixed IPv6
		 * header (TCP sends no extension header, RFC 8200 4) */
		const uint8_t *ip = p->data + TAPIR_ETH_HLEN;
		uint16_t l4 = (uint16_t)(TAPIR_ETH_HLEN +
					 (ip[0] >> 4 == 6 ? TAPIR_IPV6_HLEN : (ip[0] & 15) * 4));
		struct tapir_tso t = {.size = p->tso_size,
				      .hdr_len = (uint16_t)(l4 + (ip[l4 - TAPIR_ETH_HLEN + 12] >> 4) * 4),
				      .csum_start = l4,
				      .csum_offset = 16};
		ether_xmit(s, ifindex, p->data, p->len, &t);
	} else {
		ether_xmit(s, ifindex, p->data, p->len, NULL);
	}
	tp_pkt_free(s, p);
}

int ether_xmit(struct tapir_stack *s, int ifindex, const uint8_t *frame, size_t len,
	       const struct tapir_tso *tso)
{
	struct tapir_link *link = s->ifaces[ifindex].link;
	if (s->frame_fn)
		s->frame_fn(s->frame_arg, ifindex, TAPIR_TX, frame, len, s->now);
	if ((tso ? link->send_tso(link, frame, len, tso) : link->send(link, frame, len)) < 0) {
		STAT(s, tx_errors);
		return -EIO;
	}
	STAT(s, tx_frames);
	return 0;
}

unsigned ether_tso_max(const struct tapir_stack *s, int ifindex, unsigned ip_trace)
{
	const struct tapir_link *l;
	if (ifindex < 0 || s->frame_fn || HOOKED(s, TAPIR_HOOK_LINK_TX) ||
	    HOOKED(s, TAPIR_HOOK_IP_TX) || HOOKED(s, TAPIR_HOOK_TCP_TX) ||
	    TRACE_ON(s, ip_trace | TAPIR_TR_TCP))
		return 0;
	l = s->ifaces[ifindex].link;
	if (!l->send_tso || l->tso_max <= TAPIR_ETH_HLEN)
		return 0;
	return l->tso_max - TAPIR_ETH_HLEN < 65535 ? l->tso_max - TAPIR_ETH_HLEN : 65535;
}
