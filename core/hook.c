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

bool hook_run(struct tapir_stack *s, enum tapir_hook_point point, int ifindex, uint8_t *data,
	      size_t len, uint32_t src, uint32_t dst, struct tapir_tcp *sock)
{
	struct tapir_hook_pkt p = {.point = point, .ifindex = ifindex, .data = data, .len = len,
				   .src = src, .dst = dst, .sock = sock, .now = s->now,
				   .saddr = tapir_ip_from_v4(src), .daddr = tapir_ip_from_v4(dst)};
	return hooks_call(s, &p);
}

bool hook_run_ip(struct tapir_stack *s, enum tapir_hook_point point, uint8_t *data, size_t len,
		 const struct tapir_ip *src, const struct tapir_ip *dst, struct tapir_tcp *sock)
{
	struct tapir_hook_pkt p = {.point = point, .ifindex = -1, .data = data, .len = len,
				   .src = tp_ip_hook(src), .dst = tp_ip_hook(dst), .sock = sock,
				   .now = s->now, .saddr = *src, .daddr = *dst};
	return hooks_call(s, &p);
}

static void fix_l4(uint8_t *l4, size_t len, const struct tapir_ip *src, const struct tapir_ip *dst,
		   uint8_t proto)
{
	size_t at = proto == TAPIR_IPPROTO_TCP ? 16 : proto == TAPIR_IPPROTO_UDP ? 6 : 2;
	uint16_t sum;
	if (len < at + 2 || (proto == TAPIR_IPPROTO_UDP && tapir_get16(l4 + 6) == 0))
		return; /* too short to hold one, or a UDP datagram sent without */
	tapir_put16(l4 + at, 0);
	if (proto == TAPIR_IPPROTO_ICMP)
		sum = tapir_csum(l4, len);
	else
		sum = tapir_csum_fold(tapir_csum_add(tp_l4_pseudo(src, dst, proto, (uint32_t)len), l4, len));
	if (proto == TAPIR_IPPROTO_UDP && sum == 0)
		sum = 0xffff;
	tapir_put16(l4 + at, sum);
}

static void fix_ip(uint8_t *ip, size_t len)
{
	size_t hl;
	if (len < TAPIR_IPV4_HLEN || ip[0] >> 4 != 4 || (hl = (size_t)(ip[0] & 15) * 4) > len)
		return;
	tapir_put16(ip + 10, 0);
	tapir_put16(ip + 10, tapir_csum(ip, hl));
	if (tapir_get16(ip + 6) & 0x3fff) /* a fragment: the L4 checksum spans all of them */
		return;
	if (ip[9] == TAPIR_IPPROTO_TCP || ip[9] == TAPIR_IPPROTO_UDP || ip[9] == TAPIR_IPPROTO_ICMP)
	{
		struct tapir_ip src = tapir_ip_from_v4(tapir_get32(ip + 12)),
				dst = tapir_ip_from_v4(tapir_get32(ip + 16));
		fix_l4(ip + hl, len - hl, &src, &dst, ip[9]);
	}
}

void tapir_hook_fix_checksums(struct tapir_hook_pkt *p)
{
	switch (p->point) {
	case TAPIR_HOOK_LINK_RX:
	case TAPIR_HOOK_LINK_TX:
		if (p->len > TAPIR_ETH_HLEN && tapir_get16(p->data + 12) == TAPIR_ETH_P_IPV4)
			fix_ip(p->data + TAPIR_ETH_HLEN, p->len - TAPIR_ETH_HLEN);
		break;
	case TAPIR_HOOK_IP_RX:
	case TAPIR_HOOK_IP_TX:
		fix_ip(p->data, p->len);
		break;
	default:
		fix_l4(p->data, p->len, &p->saddr, &p->daddr, TAPIR_IPPROTO_TCP);
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
