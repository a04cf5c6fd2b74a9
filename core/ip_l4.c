/* What TCP and UDP share of the two IP families: the addresses, ECN field
 * and pseudo-header sum of a received segment, and the way out through
 * IPv4 or IPv6.  The transports keep one input and one output path; the
 * family is decided here, from the address (v4-mapped: IPv4). */
#include <errno.h>

#include "core.h"

bool tp_l4_addrs(const uint8_t *pkt, size_t l4len, uint8_t proto, struct tapir_ip *src,
		 struct tapir_ip *dst, uint8_t *ecn, uint32_t *sum)
{
	if (pkt[0] >> 4 == 4) {
		uint32_t s = tapir_get32(pkt + TAPIR_IPV4_SRC), d = tapir_get32(pkt + TAPIR_IPV4_DST);
		*src = tapir_ip_from_v4(s);
		*dst = tapir_ip_from_v4(d);
		*ecn = pkt[TAPIR_IPV4_TOS] & 3;
		*sum = tapir_csum_pseudo(s, d, proto, (uint16_t)l4len);
		return true;
	}
	if (pkt[0] >> 4 != 6)
		return false;
	memcpy(src->b, pkt + TAPIR_IPV6_SRC, 16);
	memcpy(dst->b, pkt + TAPIR_IPV6_DST, 16);
	/* RFC 8200 7 / RFC 3168 5: ECN is the traffic class's low 2 bits */
	*ecn = (pkt[TAPIR_IPV6_VTC + 1] >> 4) & 3;
	*sum = tapir_csum_pseudo6(src->b, dst->b, proto, (uint32_t)l4len);
	return true;
}

uint32_t tp_l4_pseudo(const struct tapir_ip *src, const struct tapir_ip *dst, uint8_t proto,
		      uint32_t len)
{
	if (tapir_ip_is_v4(dst))
		return tapir_csum_pseudo(tapir_ip_v4(src), tapir_ip_v4(dst), proto, (uint16_t)len);
	return tapir_csum_pseudo6(src->b, dst->b, proto, len);
}

int tp_l4_output(struct tapir_stack *s, struct tp_pkt *p, const struct tapir_ip *src,
		 const struct tapir_ip *dst, uint8_t proto, unsigned flags)
{
	if (tapir_ip_is_v4(dst)) {
		if (!tapir_ip_is_v4(src)) {
			tp_pkt_free(s, p);
			return -EAFNOSUPPORT;
		}
		return ipv4_output(s, p, tapir_ip_v4(src), tapir_ip_v4(dst), proto, flags);
	}
	return ipv6_output(s, p, tapir_ip_is_any(src) ? NULL : src->b, dst->b, proto, 0, -1,
			   flags & TP_IP_ECT0);
}

unsigned tp_l4_path_mtu(struct tapir_stack *s, const struct tapir_ip *dst)
{
	return tapir_ip_is_v4(dst) ? ipv4_path_mtu(s, tapir_ip_v4(dst)) : ipv6_path_mtu(s, dst->b);
}
