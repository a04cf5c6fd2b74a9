/* The stack object, its interfaces and routes, and the two entry points
 * every driver loop calls: tapir_stack_input and tapir_stack_poll. */
#include <errno.h>
#include <stdlib.h>

#include "core.h"
#include "tcp_int.h"

/* The defaults, by layer; include/tapir/stack.h says where each comes from. */
static const struct tapir_config config_default = {
	.seed = 1,
	.pkt_small = 1024, .pkt_large = 16,
	.arp_cache_size = 128, .arp_queue_len = 8, .arp_retries = 3,
	.arp_retry_us = TAPIR_SEC(1), .arp_reachable_us = TAPIR_SEC(60),
	.reasm_max_datagrams = 16, .reasm_max_bytes = 512 * 1024,
	.reasm_timeout_us = TAPIR_SEC(30),
	.icmp_rate = 1000, .icmp_burst = 50,
	.ttl = 64, .pmtu_min = TP_PMTU4_FLOOR, .pmtu_age_us = TAPIR_SEC(600),
	.ephemeral_lo = 49152, .ephemeral_hi = 65535,
	.udp_rcvbuf = 212992, .udp_sockets = 64,
	.tcp_sockets = 1u << 20, .tcp_rcvbuf = 65535, .tcp_sndbuf = 131072, .tcp_mem_max = 256u << 20,
	.tcp_rto_initial_us = TAPIR_SEC(1), .tcp_rto_min_us = TAPIR_MS(200),
	.tcp_rto_max_us = TAPIR_SEC(60),
	.tcp_syn_retries = 6, .tcp_retries2 = 15,
	.tcp_msl_us = TAPIR_SEC(30), .tcp_delack_us = TAPIR_MS(40),
	.tcp_fin_timeout_us = TAPIR_SEC(60),
	.tcp_challenge_acks = 1000, .tcp_initial_window = 10,
	.tcp_window_scaling = 1, .tcp_timestamps = 1, .tcp_sack = 1,
	.tcp_ecn = 2, .tcp_ecn_syn_retries = 1, .tcp_syncookies = 1,
	.tcp_max_syn_backlog = 4096,
	.nd_cache_size = 128, .nd_queue_len = 8, .nd_retrans_us = TAPIR_SEC(1),
	.nd_reachable_us = TAPIR_SEC(30), .nd_dad_transmits = 1, .nd_routers = 4,
	.nd_prefixes = 8,
};

void tapir_config_default(struct tapir_config *c)
{
	*c = config_default;
	tapir_config_profile(c, TAPIR_PROFILE_RFC);
}

struct tapir_stack *tapir_stack_new(const struct tapir_config *cfg)
{
	struct tapir_stack *s;
	/* settings no stack can run with */
	if (!cfg->arp_cache_size || cfg->ephemeral_lo > cfg->ephemeral_hi || !cfg->ephemeral_lo ||
	    !cfg->pkt_small || !cfg->nd_cache_size || !cfg->nd_retrans_us || !cfg->nd_reachable_us)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cfg = *cfg;
	s->rng = cfg->seed;
	s->ip_id = (uint16_t)tp_rand(s);
	s->icmp_tokens_milli = (uint64_t)cfg->icmp_burst * 1000;
	s->hook_timer_at = TAPIR_TIME_NEVER;
	s->arm_hint = TAPIR_TIME_NEVER;
	if (tp_pools_init(s) || arp_init(s) || reasm_init(s) || nd_init(s) || udp_init(s) ||
	    tcp_init(s)) {
		tapir_stack_free(s);
		return NULL;
	}
	return s;
}

void tapir_stack_free(struct tapir_stack *s)
{
	if (!s)
		return;
	/* the pools own every packet, so freeing them frees all queues */
	tcp_fini(s);
	tp_pools_free(s);
	free(s->arp);
	free(s->reasm);
	nd_free(s);
	dhcp_free(s);
	dhcp6_free(s);
	free(s->udp);
	free(s);
}

int tapir_iface_add(struct tapir_stack *s, struct tapir_link *link, const uint8_t mac[6],
		    unsigned mtu)
{
	struct tp_iface *ifc;
	/* RFC 791: every host must accept 576; below 68 IPv4 cannot fragment */
	if (s->nifaces == TAPIR_MAX_IFACES)
		return -ENOSPC;
	if (!link || mtu < 576 || mtu > 65535 || (mac[0] & 1))
		return -EINVAL;
	ifc = &s->ifaces[s->nifaces];
	memset(ifc, 0, sizeof(*ifc));
	ifc->link = link;
	memcpy(ifc->mac, mac, 6);
	ifc->mtu = mtu;
	return s->nifaces++;
}

int tapir_route_add(struct tapir_stack *s, uint32_t dst, unsigned plen, uint32_t gw,
		    int ifindex)
{
	uint32_t mask = plen ? ~0u << (32 - plen) : 0;
	if (plen > 32 || ifindex < 0 || ifindex >= s->nifaces)
		return -EINVAL;
	for (int i = 0; i < TP_MAX_ROUTES; i++) {
		struct tp_route *r = &s->routes[i];
		if (r->used && r->dst == (dst & mask) && r->mask == mask) {
			r->gateway = gw; /* replace, as "ip route replace" does */
			r->ifindex = ifindex;
			return 0;
		}
	}
	for (int i = 0; i < TP_MAX_ROUTES; i++) {
		struct tp_route *r = &s->routes[i];
		if (!r->used) {
			*r = (struct tp_route){dst & mask, mask, gw, ifindex, true};
			return 0;
		}
	}
	return -ENOSPC;
}

int tapir_iface_set_ipv4(struct tapir_stack *s, int ifindex, uint32_t addr, unsigned plen,
			 tapir_time_t now)
{
	struct tp_iface *ifc;
	uint32_t mask;
	if (ifindex < 0 || ifindex >= s->nifaces || plen == 0 || plen > 32)
		return -EINVAL;
	mask = tapir_ipv4_mask(plen);
	/* RFC 1122 3.2.1.3, RFC 3021: no host may have a broadcast, zero,
	 * loopback or class D/E address */
	if (!tapir_ipv4_is_host_addr(addr, plen))
		return -EADDRNOTAVAIL;
	s->now = now;
	ifc = &s->ifaces[ifindex];
	ifc->addr = addr;
	ifc->mask = mask;
	ifc->up = true;
	tapir_route_add(s, addr & mask, plen, 0, ifindex);
	/* RFC 5227 2.3: announce twice, ANNOUNCE_INTERVAL (2 s) apart */
	ifc->announces_left = 2;
	TP_ARM(s, ifc->announce_at, now);
	arp_poll(s, now);
	return 0;
}

void tapir_set_frame_observer(struct tapir_stack *s, tapir_frame_fn fn, void *arg)
{
	s->frame_fn = fn;
	s->frame_arg = arg;
}

void tapir_stack_input(struct tapir_stack *s, int ifindex, uint8_t *frame, size_t len,
		       tapir_time_t now)
{
	tapir_stack_input_flags(s, ifindex, frame, len, now, 0);
}

void tapir_stack_input_flags(struct tapir_stack *s, int ifindex, uint8_t *frame, size_t len,
			     tapir_time_t now, unsigned flags)
{
	s->now = now;
	s->rx_flags = flags;
	if (HOOKED(s, TAPIR_HOOK_LINK_RX) &&
	    !hook_run(s, TAPIR_HOOK_LINK_RX, ifindex, frame, len, 0, 0, NULL)) {
		STAT(s, rx_frames);
		s->stats.drop[TAPIR_DROP_hook]++;
		return;
	}
	stack_input_frame(s, ifindex, frame, len);
	s->rx_flags = 0; /* only for the frame being handled */
}

void stack_input_frame(struct tapir_stack *s, int ifindex, uint8_t *frame, size_t len)
{
	int r;
	STAT(s, rx_frames);
	/* the capture shows what the stack took in, after any link hook */
	if (s->frame_fn)
		s->frame_fn(s->frame_arg, ifindex, TAPIR_RX, frame, len, s->now);
	s->rx_l2_broadcast = false;
	if (ifindex < 0 || ifindex >= s->nifaces)
		r = TAPIR_DROP_iface_down;
	else
		r = ether_input(s, ifindex, frame, len);
	if (r == TP_OK)
		STAT(s, rx_delivered);
	else
		s->stats.drop[r]++;
	s->rx_l2_broadcast = false; /* only for the frame being handled */
}

tapir_time_t tapir_stack_poll(struct tapir_stack *s, tapir_time_t now)
{
	tapir_time_t next, t;
	s->now = now;
	/* Timers that send come first; loopback and ARP last, because every
	 * stage before may queue a packet on them (and so arm their timers):
	 * the deadline returned must include what this very poll armed. */
	next = reasm_poll(s, now);
	t = tcp_poll(s, now);
	next = t < next ? t : next;
	t = tcp_tw_poll(s, now);
	next = t < next ? t : next;
	t = hook_poll(s, now);
	next = t < next ? t : next;
	t = dhcp_poll(s, now);
	next = t < next ? t : next;
	nd_poll(s, now);
	/* after ND: a link-local address that passed DAD now is used now */
	t = dhcp6_poll(s, now);
	next = t < next ? t : next;
	t = ipv4_loop_poll(s);
	/* what waited for room on the loop queue goes now (due at once) */
	tcp_loop_resume(s);
	if (s->loop_head)
		t = now;
	next = t < next ? t : next;
	/* again: what the loop delivered may have started a resolution */
	t = nd_poll(s, now);
	next = t < next ? t : next;
	t = arp_poll(s, now);
	return t < next ? t : next;
}

tapir_time_t tapir_stack_armed(struct tapir_stack *s)
{
	tapir_time_t t = s->arm_hint;
	s->arm_hint = TAPIR_TIME_NEVER;
	return t;
}
