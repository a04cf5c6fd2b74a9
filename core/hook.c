/* Hooks: user functions at the layer boundaries, and frame injection.
 * Each boundary tests one count before doing anything, so an unhooked
 * stack pays nothing more. */
#include <errno.h>

#include "core.h"
#include <tapir/hook.h>

int tapir_hook_add(struct tapir_stack *s, enum tapir_hook_point point, tapir_hook_fn fn,
		   void *arg)
{
	if ((unsigned)point >= TAPIR_HOOK_COUNT || !fn)
		return -EINVAL;
	if (s->nhooks[point] == TAPIR_MAX_HOOKS)
		return -ENOSPC;
	s->hooks[point][s->nhooks[point]].fn = fn;
	s->hooks[point][s->nhooks[point]].arg = arg;
	s->nhooks[point]++;
	return 0;
}

void tapir_hook_remove(struct tapir_stack *s, enum tapir_hook_point point, tapir_hook_fn fn,
		       void *arg)
{
	unsigned n = s->nhooks[point];
	for (unsigned i = 0; i < n; i++)
		if (s->hooks[point][i].fn == fn && s->hooks[point][i].arg == arg) {
			memmove(&s->hooks[point][i], &s->hooks[point][i + 1],
				(n - i - 1) * sizeof(s->hooks[point][0]));
			s->nhooks[point]--;
			return;
		}
}

static bool hooks_call(struct tapir_stack *s, struct tapir_hook_pkt *p)
{
	for (unsigned i = 0; i < s->nhooks[p->point]; i++)
		if (s->hooks[p->point][i].fn(s->hooks[p->point][i].arg, p) == TAPIR_DROP)
			return false;
	return true;
}

/* A LINK frame's IP version, by its EtherType (hook.h: FAMILY) */
static uint8_t link_family(const uint8_t *frame, size_t len)
{
	uint16_t type = len > TAPIR_ETH_HLEN ? tapir_get16(frame + TAPIR_ETH_TYPE) : 0;
	return type == TAPIR_ETH_P_IPV4 ? 4 : type == TAPIR_ETH_P_IPV6 ? 6 : 0;
}

bool hook_run(struct tapir_stack *s, enum tapir_hook_point point, int ifindex, uint8_t *data,
	      size_t len, uint32_t src, uint32_t dst, struct tapir_tcp *sock)
{
	bool link = point == TAPIR_HOOK_LINK_RX || point == TAPIR_HOOK_LINK_TX;
	struct tapir_hook_pkt p = {.point = point, .ifindex = ifindex, .data = data, .len = len,
				   .src = src, .dst = dst, .sock = sock, .now = s->now,
				   .family = link ? link_family(data, len) : 4};
	if (!link) { /* an IPv4 IP point */
		p.saddr = tapir_ip_from_v4(src);
		p.daddr = tapir_ip_from_v4(dst);
	}
	return hooks_call(s, &p);
}

bool hook_run_ip(struct tapir_stack *s, enum tapir_hook_point point, uint8_t *data, size_t len,
		 const struct tapir_ip *src, const struct tapir_ip *dst, struct tapir_tcp *sock)
{
	struct tapir_hook_pkt p = {.point = point, .ifindex = -1, .data = data, .len = len,
				   .src = tp_ip_hook(src), .dst = tp_ip_hook(dst), .sock = sock,
				   .now = s->now, .saddr = *src, .daddr = *dst,
				   .family = tapir_ip_is_v4(dst) ? 4 : 6};
	return hooks_call(s, &p);
}

/* The transport header of the IPv4 or IPv6 packet IP (LEN bytes, maybe
 * with a link's padding after it): its offset and protocol, and the
 * packet's length by its own header; -1 when there is none to read.
 * *WHOLE: not fragment zero of a fragmented packet. */
static int ip_l4(const uint8_t *ip, size_t len, size_t *iplen, uint8_t *proto, bool *whole)
{
	if (len >= TAPIR_IPV4_HLEN && ip[0] >> 4 == 4) {
		size_t hl = (size_t)(ip[0] & 15) * 4, total = tapir_get16(ip + TAPIR_IPV4_LEN);
		uint16_t frag = tapir_get16(ip + TAPIR_IPV4_FRAG);
		if (hl < TAPIR_IPV4_HLEN || total < hl || total > len || (frag & TAPIR_IPV4_OFFMASK))
			return -1;
		*iplen = total;
		*proto = ip[TAPIR_IPV4_PROTO];
		*whole = !(frag & TAPIR_IPV4_MF);
		return (int)hl;
	}
	if (len >= TAPIR_IPV6_HLEN && ip[0] >> 4 == 6) {
		bool frag;
		int off;
		*iplen = TAPIR_IPV6_HLEN + (size_t)tapir_get16(ip + TAPIR_IPV6_PLEN);
		*proto = ip[TAPIR_IPV6_NXT];
		if (*iplen > len)
			return -1;
		off = ipv6_upper_frag(ip, *iplen, TAPIR_IPV6_HLEN, proto, &frag);
		*whole = !frag;
		return off;
	}
	return -1;
}

int tapir_hook_l4(const struct tapir_hook_pkt *p, uint8_t *proto)
{
	size_t iplen;
	bool whole;
	int off;
	switch (p->point) {
	case TAPIR_HOOK_LINK_RX:
	case TAPIR_HOOK_LINK_TX:
		if (!p->family)
			return -1;
		off = ip_l4(p->data + TAPIR_ETH_HLEN, p->len - TAPIR_ETH_HLEN, &iplen, proto, &whole);
		return off < 0 ? -1 : off + TAPIR_ETH_HLEN;
	case TAPIR_HOOK_IP_RX:
	case TAPIR_HOOK_IP_TX:
		return ip_l4(p->data, p->len, &iplen, proto, &whole);
	default:
		*proto = TAPIR_IPPROTO_TCP;
		return 0;
	}
}

/* The checksum of the transport message L4 (LEN bytes) of protocol PROTO,
 * PSEUDO the sum of its pseudo-header (not used by ICMP for IPv4) */
static void fix_l4(uint8_t *l4, size_t len, uint32_t pseudo, uint8_t proto)
{
	size_t at = proto == TAPIR_IPPROTO_TCP ? TAPIR_TH_CSUM
		    : proto == TAPIR_IPPROTO_UDP ? TAPIR_UH_CSUM : 2;
	uint16_t sum;
	if (len < at + 2 || (proto == TAPIR_IPPROTO_UDP && tapir_get16(l4 + at) == 0))
		return; /* too short to hold one, or a UDP datagram sent without */
	tapir_put16(l4 + at, 0);
	sum = tapir_csum_fold(tapir_csum_add(proto == TAPIR_IPPROTO_ICMP ? 0 : pseudo, l4, len));
	if (proto == TAPIR_IPPROTO_UDP && sum == 0)
		sum = 0xffff; /* RFC 768: zero means "none" */
	tapir_put16(l4 + at, sum);
}

static void fix_ip(uint8_t *ip, size_t len)
{
	size_t iplen;
	uint8_t proto;
	bool whole;
	int off = ip_l4(ip, len, &iplen, &proto, &whole);
	struct tapir_ip src, dst;
	uint8_t ecn;
	uint32_t pseudo = 0;

	if (len >= TAPIR_IPV4_HLEN && ip[0] >> 4 == 4 && (size_t)(ip[0] & 15) * 4 <= len &&
	    (ip[0] & 15) >= 5) { /* RFC 791 3.1: the header's own, in every fragment */
		tapir_put16(ip + TAPIR_IPV4_CSUM, 0);
		tapir_put16(ip + TAPIR_IPV4_CSUM, tapir_csum(ip, (size_t)(ip[0] & 15) * 4));
	}
	if (off < 0 || !whole ||
	    (proto != TAPIR_IPPROTO_TCP && proto != TAPIR_IPPROTO_UDP &&
	     proto != TAPIR_IPPROTO_ICMP && proto != TAPIR_IPPROTO_ICMPV6))
		return; /* (a fragment: the transport checksum spans all of them) */
	tp_l4_addrs(ip, iplen - (size_t)off, proto, &src, &dst, &ecn, &pseudo);
	fix_l4(ip + off, iplen - (size_t)off, pseudo, proto);
}

void tapir_hook_fix_checksums(struct tapir_hook_pkt *p)
{
	switch (p->point) {
	case TAPIR_HOOK_LINK_RX:
	case TAPIR_HOOK_LINK_TX:
		if (p->family)
			fix_ip(p->data + TAPIR_ETH_HLEN, p->len - TAPIR_ETH_HLEN);
		break;
	case TAPIR_HOOK_IP_RX:
	case TAPIR_HOOK_IP_TX:
		fix_ip(p->data, p->len);
		break;
	default:
		fix_l4(p->data, p->len,
		       tp_l4_pseudo(&p->saddr, &p->daddr, TAPIR_IPPROTO_TCP, (uint32_t)p->len),
		       TAPIR_IPPROTO_TCP);
	}
}

int tapir_inject_rx(struct tapir_stack *s, int ifindex, const uint8_t *frame, size_t len,
		    tapir_time_t now)
{
	/* a copy: the core may change a frame in place while it reads it */
	struct tp_pkt *p;
	if (ifindex < 0 || ifindex >= s->nifaces)
		return -EINVAL;
	s->now = now;
	p = tp_pkt_alloc(s, len);
	if (!p)
		return -ENOBUFS;
	memcpy(p->data, frame, len);
	STAT(s, hook_injected);
	stack_input_frame(s, ifindex, p->data, len);
	tp_pkt_free(s, p);
	return 0;
}

int tapir_inject_tx(struct tapir_stack *s, int ifindex, const uint8_t *frame, size_t len,
		    tapir_time_t now)
{
	if (ifindex < 0 || ifindex >= s->nifaces)
		return -EINVAL;
	s->now = now;
	STAT(s, hook_injected);
	return ether_xmit(s, ifindex, frame, len, NULL);
}

int tapir_hook_set_timer(struct tapir_stack *s, tapir_hook_timer_fn fn, void *arg,
			 tapir_time_t first)
{
	if (s->hook_timer && fn)
		return -EBUSY;
	s->hook_timer = fn;
	s->hook_timer_arg = arg;
	s->hook_timer_at = TAPIR_TIME_NEVER;
	if (fn)
		TP_ARM(s, s->hook_timer_at, first);
	return 0;
}

void tapir_hook_timer_at(struct tapir_stack *s, tapir_time_t when)
{
	if (when < s->hook_timer_at)
		TP_ARM(s, s->hook_timer_at, when);
}

tapir_time_t hook_poll(struct tapir_stack *s, tapir_time_t now)
{
	if (s->hook_timer && s->hook_timer_at <= now) {
		tapir_time_t next;
		/* a tapir_hook_timer_at made while the callback runs (a hook
		 * reacting to a frame it injects) must not be lost */
		s->hook_timer_at = TAPIR_TIME_NEVER;
		next = s->hook_timer(s->hook_timer_arg, now);
		if (next < s->hook_timer_at)
			TP_ARM(s, s->hook_timer_at, next);
	}
	return s->hook_timer ? s->hook_timer_at : TAPIR_TIME_NEVER;
}
