/* --mode stack: tapir's own stack, with an address and a MAC of its own, on
 * an interface (AF_PACKET, beside the kernel's stack, which drops frames
 * not for its MAC) or a TAP device.  The same cookie SYNs as --mode syn
 * (cookie.c), sent with tapir_tcp_send_raw(); replies seen by TCP_RX /
 * IP_RX hooks, then left to the core, which has no socket for them and
 * answers a SYN/ACK with the RST itself (RFC 9293 3.10.7.1).  The kernel
 * never sees these connections.  IPv6 targets the same way, from tapir's
 * IPv6 --addr, with ND (RFC 4861) in place of ARP and ICMPv6 destination
 * unreachable (RFC 4443 3.1) in place of ICMP's. */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

#include <tapir/addr.h>

#include <tapir/hook.h>
#include <tapir/link.h>
#include <tapir/tcp.h>
#include <tapir/wire.h>

#include "engine.h"
#include "shared.h"
#include "util.h"

/* the state of a next hop's ARP entry, as far as we know */
enum { NH_UNKNOWN, NH_PENDING, NH_RESOLVED, NH_FAILED };
#define STACK_SPORT_LO 32768 /* no sockets in our core: any range will do */
#define STACK_ARP_QUEUE 256  /* probes queued behind one ARP request */
#define STACK_PENDING_MAX 64 /* next hops being resolved at once */

struct stack_engine {
	struct check *c;
	const struct check_stack_cfg *cfg;
	struct check_cookie ck;
	uint8_t mac[6];
	struct tapir_stack *st;
	struct tapir_afp *afp;
	struct tapir_tap *tap;
	int ifi, lfd;
	tapir_time_t st_next;
	uint8_t *rxbuf;
	size_t rxcap;
	struct nu_hosts nh; /* next hops: the targets on our subnet, else the gateway */
	uint32_t *host_nh;  /* per host: its next hop's index */
	uint8_t *nh_state;
	uint64_t *nh_since; /* ns: when its first probe went out */
	size_t nh_pending;
	uint32_t pend[STACK_PENDING_MAX]; /* the next hops being resolved */
	unsigned npend;
	tapir_time_t arp_give_up_us, nd_give_up_us;
	/* off-link IPv6 without --gateway: the router found (stack_router6) */
	bool want_router6, have_router6;
	uint8_t router6[16];
	uint64_t link_drops;
	unsigned enobufs;
};

/* The hook's IP address (either family) as the tools' struct nu_addr */
static struct nu_addr stack_nu_addr(const struct tapir_ip *a)
{
	struct nu_addr n = {.family = AF_INET6};
	if (tapir_ip_is_v4(a))
		return nu_addr_v4(htonl(tapir_ip_v4(a)));
	memcpy(n.u.v6, a->b, 16);
	return n;
}

/* P is addressed to one of tapir's --addr */
static bool stack_is_mine(const struct stack_engine *x, const struct tapir_hook_pkt *p)
{
	if (p->family == 6)
		return x->cfg->have_addr6 && !memcmp(p->daddr.b, x->cfg->my6, 16);
	return x->cfg->have_addr && p->dst == x->cfg->my_addr;
}

/* IP_RX over IPv6: an ICMPv6 destination unreachable (RFC 4443 3.1) that
 * quotes one of our probes (its IPv6 header, TCP right after: our SYNs
 * carry no extension headers) makes the port filtered. */
static enum tapir_verdict stack_ip6_rx(struct stack_engine *x, struct tapir_hook_pkt *p)
{
	const uint8_t *ip = p->data, *m, *in, *th;
	struct check_reply r;
	struct nu_addr peer = {.family = AF_INET6};
	if (p->len < 2 * TAPIR_IPV6_HLEN + TAPIR_ICMP6_HLEN + 8 ||
	    ip[TAPIR_IPV6_NXT] != TAPIR_IPPROTO_ICMPV6)
		return TAPIR_PASS;
	m = ip + TAPIR_IPV6_HLEN;
	in = m + TAPIR_ICMP6_HLEN;
	th = in + TAPIR_IPV6_HLEN;
	if (m[0] != TAPIR_ICMP6_UNREACH || in[TAPIR_IPV6_NXT] != TAPIR_IPPROTO_TCP ||
	    !x->cfg->have_addr6 || memcmp(in + TAPIR_IPV6_SRC, x->cfg->my6, 16))
		return TAPIR_PASS;
	memcpy(peer.u.v6, in + TAPIR_IPV6_DST, 16);
	r = (struct check_reply){.peer = peer,
				 .port = tapir_get16(th + TAPIR_TH_DPORT),
				 .ours = tapir_get16(th + TAPIR_TH_SPORT),
				 .seqack = tapir_get32(th + TAPIR_TH_SEQ),
				 .state = ST_FILTERED,
				 .why = check_why_icmp(AF_INET6, m[1]),
				 .rx_us = check_since_start_us(x->c)};
	check_credit(x->c, &x->ck, &r);
	return TAPIR_PASS;
}

/* TCP_RX: every segment before the core sees it.  A SYN/ACK or RST (with
 * ACK) to one of our probes is credited; then it goes on to the core, which
 * has no socket for it: RFC 9293 3.10.7.1 makes it answer the SYN/ACK with
 * <SEQ=SEG.ACK><CTL=RST> and drop the RST silently. */
static enum tapir_verdict stack_tcp_rx(void *arg, struct tapir_hook_pkt *p)
{
	struct stack_engine *x = arg;
	const uint8_t *th = p->data;
	struct check_reply r;
	uint8_t fl;
	struct nu_addr peer;
	if (p->len < TAPIR_TCP_HLEN || !stack_is_mine(x, p))
		return TAPIR_PASS;
	fl = th[TAPIR_TH_FLAGS];
	if (!(fl & TAPIR_TH_ACK) || !((fl & TAPIR_TH_RST) || (fl & TAPIR_TH_SYN)))
		return TAPIR_PASS; /* a RST without ACK does not answer a SYN */
	peer = stack_nu_addr(&p->saddr);
	r = (struct check_reply){.peer = peer, .port = tapir_get16(th + TAPIR_TH_SPORT),
				 .ours = tapir_get16(th + TAPIR_TH_DPORT),
				 .seqack = tapir_get32(th + TAPIR_TH_ACK_NO) - 1,
				 .state = (fl & TAPIR_TH_RST) ? ST_CLOSED : ST_OPEN,
				 .rx_us = check_since_start_us(x->c)};
	check_credit(x->c, &x->ck, &r);
	return TAPIR_PASS;
}

/* IP_RX: an ICMP destination unreachable (RFC 792) quoting one of our
 * probes (its IPv4 header and the first 8 bytes of TCP: ports and
 * sequence number) makes the port filtered. */
static enum tapir_verdict stack_ip_rx(void *arg, struct tapir_hook_pkt *p)
{
	struct stack_engine *x = arg;
	const uint8_t *ip = p->data, *m, *in;
	struct check_reply r;
	size_t ihl, ihl2;
	if (p->family == 6)
		return stack_ip6_rx(x, p);
	if (p->family != 4 || p->len < TAPIR_IPV4_HLEN || ip[TAPIR_IPV4_PROTO] != TAPIR_IPPROTO_ICMP)
		return TAPIR_PASS;
	ihl = (size_t)(ip[TAPIR_IPV4_VHL] & 15) * 4;
	if (ihl < TAPIR_IPV4_HLEN || p->len < ihl + TAPIR_ICMP_HLEN + TAPIR_IPV4_HLEN)
		return TAPIR_PASS;
	m = ip + ihl;
	if (m[0] != TAPIR_ICMP_UNREACH)
		return TAPIR_PASS;
	in = m + TAPIR_ICMP_HLEN;
	ihl2 = (size_t)(in[TAPIR_IPV4_VHL] & 15) * 4;
	if (in[TAPIR_IPV4_PROTO] != TAPIR_IPPROTO_TCP || ihl2 < TAPIR_IPV4_HLEN ||
	    p->len < ihl + TAPIR_ICMP_HLEN + ihl2 + 8 ||
	    tapir_get32(in + TAPIR_IPV4_SRC) != x->cfg->my_addr)
		return TAPIR_PASS;
	r = (struct check_reply){.peer = nu_addr_v4(htonl(tapir_get32(in + TAPIR_IPV4_DST))),
				 .port = tapir_get16(in + ihl2 + TAPIR_TH_DPORT),
				 .ours = tapir_get16(in + ihl2 + TAPIR_TH_SPORT),
				 .seqack = tapir_get32(in + ihl2 + TAPIR_TH_SEQ),
				 .state = ST_FILTERED,
				 .why = check_why_icmp(AF_INET, m[1]),
				 .rx_us = check_since_start_us(x->c)};
	check_credit(x->c, &x->ck, &r);
	return TAPIR_PASS; /* the core finds no socket for it and drops it */
}

/* LINK_RX: an ARP packet from a next hop we wait for means the core is
 * about to take its address and send what it queued for it. */
static enum tapir_verdict stack_link_rx(void *arg, struct tapir_hook_pkt *p)
{
	struct stack_engine *x = arg;
	const uint8_t *f = p->data;
	uint16_t type = p->len >= TAPIR_ETH_HLEN ? tapir_get16(f + TAPIR_ETH_TYPE) : 0;
	long i = -1;
	if (p->len >= TAPIR_ETH_HLEN + 28 && type == TAPIR_ETH_P_ARP) {
		/* the sender's protocol address (RFC 826) */
		struct nu_addr spa = nu_addr_v4(htonl(tapir_get32(f + TAPIR_ETH_HLEN + 14)));
		i = nu_hosts_find(&x->nh, &spa);
	} else if (p->len >= TAPIR_ETH_HLEN + TAPIR_IPV6_HLEN + 24 && type == TAPIR_ETH_P_IPV6 &&
		   f[TAPIR_ETH_HLEN + TAPIR_IPV6_NXT] == TAPIR_IPPROTO_ICMPV6 &&
		   f[TAPIR_ETH_HLEN + TAPIR_IPV6_HLEN] == TAPIR_ICMP6_NEIGHBOR_ADVERT) {
		/* a neighbor advertisement's target address (RFC 4861 4.4) */
		struct nu_addr ta = {.family = AF_INET6};
		memcpy(ta.u.v6, f + TAPIR_ETH_HLEN + TAPIR_IPV6_HLEN + 8, 16);
		if (x->have_router6 && !memcmp(ta.u.v6, x->router6, 16))
			memset(ta.u.v6, 0, 16); /* the router found stands for "::" */
		i = nu_hosts_find(&x->nh, &ta);
	} else if (p->len >= TAPIR_ETH_HLEN + TAPIR_IPV6_HLEN && type == TAPIR_ETH_P_IPV6 &&
		   x->nh_pending) {
		struct nu_addr src = {.family = AF_INET6};
		long h;
		memcpy(src.u.v6, f + TAPIR_ETH_HLEN + TAPIR_IPV6_SRC, 16);
		h = nu_hosts_find(&x->c->hosts, &src);
		if (h >= 0)
			i = (long)x->host_nh[h];
	} else if (p->len >= TAPIR_ETH_HLEN + TAPIR_IPV4_HLEN && type == TAPIR_ETH_P_IPV4 &&
		   x->nh_pending) {
		/* a target's packet (a SYN/ACK) came back, so a probe went out
		 * to it, through an address the core has resolved (it may have
		 * learned it without our seeing an ARP packet for it) */
		struct nu_addr src = nu_addr_v4(htonl(tapir_get32(f + TAPIR_ETH_HLEN + TAPIR_IPV4_SRC)));
		long h = nu_hosts_find(&x->c->hosts, &src);
		if (h >= 0)
			i = (long)x->host_nh[h];
	}
	if (i >= 0 && x->nh_state[i] != NH_FAILED && x->nh_state[i] != NH_RESOLVED) {
		if (x->nh_state[i] == NH_PENDING)
			x->nh_pending--;
		x->nh_state[i] = NH_RESOLVED;
	}
	return TAPIR_PASS;
}

/* Hands every waiting frame to the core, then runs its timers. */
static void stack_collect(void *state, uint64_t token, uint64_t now)
{
	struct stack_engine *x = state;
	(void)token;
	(void)now;
	for (unsigned k = 0; k < 1u << 16; k++) {
		long n = x->afp ? tapir_afp_recv(x->afp, x->rxbuf, x->rxcap)
				: tapir_tap_recv(x->tap, x->rxbuf, x->rxcap);
		if (n == 0)
			break;
		if (n < 0) { /* the interface went down or away: tapir's stack has no
			      * other; the scan stops as on SIGINT (--resume saves the rest) */
			snprintf(check_stop_why, sizeof(check_stop_why), "receiving on %s: %s",
				 x->afp ? x->cfg->iface : x->cfg->tap_name, strerror((int)-n));
			check_interrupted = 1;
			break;
		}
		tapir_stack_input(x->st, x->ifi, x->rxbuf, (size_t)n, nu_now_ns() / 1000);
	}
	x->st_next = tapir_stack_poll(x->st, nu_now_ns() / 1000);
}

/* The core's timers (ARP retries, announcements) are ours to run. */
static void stack_timers(void *state, uint64_t now, uint64_t *deadline, uint64_t *wake)
{
	struct stack_engine *x = state;
	(void)deadline;
	if (x->st_next != TAPIR_TIME_NEVER && x->st_next * 1000 <= now)
		x->st_next = tapir_stack_poll(x->st, now / 1000);
	if (x->st_next != TAPIR_TIME_NEVER && x->st_next * 1000 < *wake)
		*wake = x->st_next * 1000;
}

/* Sends T as a tapir_tcp_send_raw() SYN: 0 when sent (or queued behind an
 * ARP request in the core), -1 to try again a bit later. */
static int stack_send(void *state, const struct check_target *t)
{
	struct stack_engine *x = state;
	struct check *c = x->c;
	uint32_t nh = x->host_nh[t->host];
	struct probe *p = &c->pr[t->idx];
	const struct tapir_stats *stats = tapir_stats(x->st);
	uint64_t errs = stats->tx_errors + stats->tx_nomem, sent_us;
	unsigned mtu = x->afp ? tapir_afp_mtu(x->afp) : tapir_tap_mtu(x->tap);
	struct tapir_tcp_out o;
	int rc;
	if (x->nh_state[nh] == NH_FAILED) {
		/* no ARP answer from its next hop: nothing can reach it (and
		 * no try is counted: this is no answer to a retry) */
		check_resolve_why(c, t->idx, ST_FILTERED, 0, WHY_HOST_UNREACH);
		return 0;
	}
	memset(&o, 0, sizeof(o));
	if (t->addr.family == AF_INET6) {
		o.laddr6 = tapir_ip_from_v6(x->cfg->my6);
		o.raddr6 = tapir_ip_from_v6(t->addr.u.v6);
	} else {
		o.laddr = x->cfg->my_addr;
		o.raddr = ntohl(t->addr.u.v4);
	}
	o.lport = check_cookie_sport(&x->ck, &t->addr, t->port, t->try);
	o.rport = t->port;
	o.seq = check_cookie_isn(&x->ck, &t->addr, t->port, o.lport);
	o.flags = TAPIR_TH_SYN;
	o.wnd = 64240;
	/* an MSS option, like any SYN (RFC 9293 3.7.1) */
	o.mss = (uint16_t)((mtu > 1500 ? 1500 : mtu) - (t->addr.family == AF_INET6 ? 60 : 40));
	sent_us = check_since_start_us(c);
	rc = tapir_tcp_send_raw(x->st, &o, nu_now_ns() / 1000);
	if (stats->tx_errors + stats->tx_nomem != errs) {
		x->enobufs++; /* the link's queue or our buffers are full */
		return -1;
	}
	p->tries++;
	if (rc < 0) {
		check_resolve_why(c, t->idx, ST_FILTERED, 0, WHY_NO_ROUTE);
		return 0;
	}
	p->sent_us = (uint32_t)sent_us;
	c->sent++;
	if (x->nh_state[nh] == NH_UNKNOWN && x->npend < STACK_PENDING_MAX) {
		x->nh_state[nh] = NH_PENDING;
		x->nh_since[nh] = nu_now_ns();
		x->pend[x->npend++] = nh;
		x->nh_pending++;
	}
	return 0;
}

/* A next hop that did not answer ARP in the core's time (arp_retries
 * requests, arp_retry_us apart) is given up: its hosts are filtered. */
static void stack_expire_nh(struct stack_engine *x)
{
	uint64_t now = nu_now_ns();
	unsigned i, k = 0;
	for (i = 0; i < x->npend; i++) {
		uint32_t n = x->pend[i];
		if (x->nh_state[n] == NH_PENDING &&
		    now - x->nh_since[n] >= (uint64_t)(x->nh.v[n].addr.family == AF_INET6
							      ? x->nd_give_up_us : x->arp_give_up_us) * 1000) {
			x->nh_state[n] = NH_FAILED;
			x->nh_pending--;
		}
		if (x->nh_state[n] == NH_PENDING)
			x->pend[k++] = n;
	}
	x->npend = k;
}

/* Before the rounds: the first probe to each next hop, paced and at most
 * STACK_PENDING_MAX at once, then a wait until every one is resolved or
 * given up.  The core queues each behind its ARP request and sends it on
 * the reply; the rounds then find every address resolved, so no probe
 * waits in an ARP queue (where a full queue would lose some) and none goes
 * to a host that never answered ARP. */
static void stack_warm_up(void *state)
{
	struct stack_engine *x = state;
	struct check *c = x->c;
	struct nu_bucket b;
	size_t h;
	nu_bucket_init(&b, c->rate, nu_now_ns());
	c->round = 1;
	for (h = 0; h < c->hosts.n && !check_interrupted; h++) {
		struct check_target t;
		uint64_t first = c->off[h];
		/* the host's first probe of this run (--shard, --exclude) */
		while (first < c->off[h + 1] && c->pr[first].state != ST_PENDING)
			first++;
		if (x->nh_state[x->host_nh[h]] != NH_UNKNOWN || first == c->off[h + 1])
			continue;
		check_target_of(c, first, &t);
		for (;;) {
			uint64_t now = nu_now_ns(), w = nu_bucket_wait(&b, now);
			stack_expire_nh(x);
			if (w) {
				check_pump(c, now + w, false);
				continue;
			}
			if (x->npend >= STACK_PENDING_MAX) {
				check_pump(c, now + 1000000ull, true);
				continue;
			}
			t.try = c->pr[t.idx].tries;
			if (x->nh_state[x->host_nh[h]] != NH_UNKNOWN || stack_send(x, &t) == 0) {
				nu_bucket_take(&b, now);
				break;
			}
			check_pump(c, now + 1000000ull, true);
		}
	}
	while (x->npend && !check_interrupted) {
		check_pump(c, nu_now_ns() + 1000000ull, true);
		stack_expire_nh(x);
	}
}

/* An IPv6 target's next hop (RFC 4861 5.2): itself on the prefix of
 * tapir's IPv6 --addr; else the IPv6 --gateway, or, without one, the
 * router that router discovery finds (RFC 4861 6.3.6), which the run
 * learns only once the stack is up: "::" stands for it until then
 * (stack_router6). */
static uint32_t next_hop6(struct stack_engine *x, const struct nu_addr *t)
{
	const struct check_stack_cfg *cfg = x->cfg;
	char err[256], a[46];
	struct nu_addr nh = *t;
	if (!memcmp(t->u.v6, cfg->my6, 16))
		die("check: %s is tapir's own address (--addr)", tapir_ipv6_str(t->u.v6, a));
	if (!tapir_ipv6_prefix_eq(t->u.v6, cfg->my6, cfg->my6_plen)) {
		memset(nh.u.v6, 0, 16);
		if (cfg->have_gw6)
			memcpy(nh.u.v6, cfg->gw6, 16);
		else
			x->want_router6 = true;
	}
	tapir_ipv6_str(nh.u.v6, a);
	if (nu_hosts_add(&x->nh, a, NULL, NULL, err, sizeof(err)))
		die("check: %s", err);
	return (uint32_t)nu_hosts_find(&x->nh, &nh);
}

/* Off-link IPv6 targets without an IPv6 --gateway: the default router
 * that router discovery found (the core solicits one once its link-local
 * address is up, RFC 4861 6.3.7: three solicitations 4 s apart) stands in
 * for "::" among the next hops. */
static void stack_router6(struct stack_engine *x)
{
	uint64_t end = nu_now_ns() + 13000000000ull;
	char a[46];
	while (tapir_ipv6_router(x->st, x->router6) < 0) {
		if (check_interrupted)
			return;
		if (nu_now_ns() > end)
			die("check: no IPv6 router advertised itself on the link (RFC 4861 router discovery): off-link IPv6 targets need --gateway ROUTER");
		stack_collect(x, 0, 0);
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	}
	x->have_router6 = true;
	fprintf(stderr, "tapir check: off-link IPv6 targets through %s (router discovery)\n",
		tapir_ipv6_str(x->router6, a));
}

/* Each target's next hop: itself on our subnet, else the gateway.  ARP
 * is the core's job, but we pace the first probes so that none waits
 * behind an unresolved address longer than needed. */
static void next_hops(struct stack_engine *x)
{
	const struct check_stack_cfg *cfg = x->cfg;
	struct check *c = x->c;
	char err[256], a[16], b[16];
	size_t h;
	x->host_nh = check_calloc(c->hosts.n, sizeof(*x->host_nh));
	for (h = 0; h < c->hosts.n; h++) {
		uint32_t d = ntohl(c->hosts.v[h].addr.u.v4), nh = d;
		struct nu_addr nha;
		if (c->hosts.v[h].addr.family == AF_INET6) {
			x->host_nh[h] = next_hop6(x, &c->hosts.v[h].addr);
			continue;
		}
		if (d == cfg->my_addr)
			die("check: %s is tapir's own address (--addr)", tapir_ipv4_str(d, a));
		if ((d & cfg->my_mask) != (cfg->my_addr & cfg->my_mask)) {
			if (!cfg->have_gw)
				die("check: %s is not on %s/%u and there is no --gateway",
				    tapir_ipv4_str(d, a), tapir_ipv4_str(cfg->my_addr & cfg->my_mask, b),
				    cfg->my_plen);
			nh = cfg->gw;
		}
		tapir_ipv4_str(nh, a);
		if (nu_hosts_add(&x->nh, a, NULL, NULL, err, sizeof(err)))
			die("check: %s", err);
		nha = nu_addr_v4(htonl(nh));
		x->host_nh[h] = (uint32_t)nu_hosts_find(&x->nh, &nha);
	}
	x->nh_state = check_calloc(x->nh.n, 1);
	x->nh_since = check_calloc(x->nh.n, sizeof(*x->nh_since));
}

/* The core, sized for this run. */
static void stack_new(struct stack_engine *x)
{
	struct check *c = x->c;
	struct tapir_config cfg;
	tapir_config_default(&cfg);
	cfg.seed = c->key.k0 ^ c->key.k1;
	/* one entry per next hop (the core searches it linearly: bounded) */
	cfg.arp_cache_size = x->nh.n + 16 < 1024 ? (unsigned)x->nh.n + 16 : 1024;
	/* an entry that expires in a long run is resolved again with probes
	 * queued behind it; room for them, and buffers for all those queues */
	cfg.arp_queue_len = STACK_ARP_QUEUE;
	cfg.pkt_small = 8192;
	/* give up on a silent next hop as a probe would: 1 + --retries tries,
	 * --timeout apart */
	cfg.arp_retries = c->retries + 1;
	cfg.arp_retry_us = (tapir_time_t)c->timeout_ms * 1000;
	x->arp_give_up_us = cfg.arp_retries * cfg.arp_retry_us + TAPIR_MS(100);
	/* the same for ND (RFC 4861 7.2.2: MAX_MULTICAST_SOLICIT = 3
	 * solicitations, RetransTimer apart) */
	cfg.nd_cache_size = cfg.arp_cache_size;
	cfg.nd_queue_len = STACK_ARP_QUEUE;
	cfg.nd_retrans_us = (tapir_time_t)c->timeout_ms * 1000;
	x->nd_give_up_us = 3 * cfg.nd_retrans_us + TAPIR_MS(100);
	cfg.tcp_sockets = 16; /* we open none: the core only answers */
	if (c->banners) /* --banners: connections of our own (banner.c) */
		cfg.tcp_sockets = 256;
	if (x->cfg->shared) { /* from tapir's own ports only (shared.h) */
		cfg.ephemeral_lo = x->cfg->shared->lo;
		cfg.ephemeral_hi = x->cfg->shared->hi;
	}
	x->st = tapir_stack_new(&cfg);
	if (!x->st)
		die("check: out of memory for the stack");
}

/* The link (AF_PACKET or TAP) and its MTU. */
static unsigned link_open(struct stack_engine *x)
{
	const struct check_stack_cfg *cfg = x->cfg;
	char err[256];
	if (cfg->iface) {
		x->afp = cfg->shared ? tapir_afp_open_shared(cfg->iface, x->mac, err, sizeof(err))
				     : tapir_afp_open(cfg->iface, x->mac, err, sizeof(err));
		if (!x->afp)
			die("check: --iface: %s", err);
		x->lfd = tapir_afp_fd(x->afp);
		return tapir_afp_mtu(x->afp);
	}
	x->tap = tapir_tap_open(cfg->tap_name, err, sizeof(err));
	if (!x->tap)
		die("check: --tap: %s", err);
	if (cfg->have_peer &&
	    tapir_tap_set_peer_addr(x->tap, cfg->peer, cfg->peer_plen, err, sizeof(err)))
		die("check: --peer-addr: %s", err);
	if (cfg->have_peer6 &&
	    tapir_tap_set_peer_addr6(x->tap, cfg->peer6, cfg->peer6_plen, err, sizeof(err)))
		die("check: --peer-addr: %s (is IPv6 disabled in this namespace?)", err);
	x->lfd = tapir_tap_fd(x->tap);
	return tapir_tap_mtu(x->tap);
}

/* tapir's IPv6 --addr, usable once duplicate address detection (RFC 4862
 * 5.4) has passed: until then the core would not send from it. */
static void stack_addr6(struct stack_engine *x)
{
	char a[46];
	uint8_t got[16];
	unsigned plen;
	if (tapir_iface_enable_ipv6(x->st, x->ifi, nu_now_ns() / 1000) < 0 ||
	    tapir_iface_add_ipv6(x->st, x->ifi, x->cfg->my6, x->cfg->my6_plen, nu_now_ns() / 1000) < 0)
		die("check: cannot give the stack the address %s/%u", tapir_ipv6_str(x->cfg->my6, a),
		    x->cfg->my6_plen);
	/* RFC 4862 5.4: up to 1 s of random delay, then RetransTimer per
	 * solicitation; 10 s is far beyond any default */
	for (int tries = 0; tries < 1000 && !check_interrupted; tries++) {
		bool tentative = false;
		stack_collect(x, 0, 0);
		for (unsigned i = 0; i < TAPIR_IPV6_ADDRS; i++) {
			enum tapir_addr6_state st = tapir_iface_ipv6_addr(x->st, x->ifi, i, got, &plen);
			if (st == TAPIR_ADDR6_DUPLICATE)
				die("check: --addr %s is already in use on the link (duplicate address detection, RFC 4862)",
				    tapir_ipv6_str(got, a));
			tentative |= st == TAPIR_ADDR6_TENTATIVE;
		}
		if (!tentative)
			return;
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	}
	die("check: --addr %s: duplicate address detection did not finish",
	    tapir_ipv6_str(x->cfg->my6, a));
}

static void stack_close(void *state);

static int stack_open(struct check *c, void **state, char *err, size_t errlen)
{
	struct stack_engine *x = check_calloc(1, sizeof(*x));
	const struct check_stack_cfg *cfg = &c->stack;
	char a[16], ifname[IF_NAMESIZE];
	unsigned mtu;
	struct epoll_event ev = {.events = EPOLLIN};
	uint64_t now_us;
	char buf[NU_ADDRSTRLEN];
	for (size_t h = 0; h < c->hosts.n; h++) {
		bool v6 = c->hosts.v[h].addr.family == AF_INET6;
		const char *why = NULL;
		if (v6 && !cfg->have_addr6)
			why = "an IPv6 target needs an IPv6 --addr (such as fd00::9/64)";
		else if (!v6 && !cfg->have_addr)
			why = "an IPv4 target needs an IPv4 --addr (such as 10.0.0.9/24)";
		if (why) {
			snprintf(err, errlen, "%s: stack mode: %s", nu_host_str(&c->hosts.v[h], buf), why);
			free(x);
			return -1;
		}
	}
	x->c = c;
	x->cfg = cfg;
	x->ck = (struct check_cookie){.key = &c->key, .sport_lo = STACK_SPORT_LO,
				      .sport_n = (uint16_t)(65536 - STACK_SPORT_LO)};
	if (cfg->shared) /* probes from tapir's own ports only (shared.h) */
		x->ck = (struct check_cookie){.key = &c->key, .sport_lo = cfg->shared->lo,
					      .sport_n = (uint16_t)(cfg->shared->hi - cfg->shared->lo + 1)};
	memcpy(x->mac, cfg->mac, sizeof(x->mac));
	if (!cfg->have_mac) {
		/* random, locally administered, unicast (IEEE 802 U/L and I/G bits) */
		uint64_t r = nu_siphash(&c->key, "mac", 3);
		for (int i = 0; i < 6; i++)
			x->mac[i] = (uint8_t)(r >> (8 * i));
		x->mac[0] = (uint8_t)((x->mac[0] & 0xfc) | 0x02);
	}
	/* tapir's address must be its own: if the kernel had it too, the
	 * kernel would answer ARP for it and get the replies (and RST them) */
	if (!cfg->shared && cfg->have_addr && nu_addr_in_use(cfg->my_addr, NULL, ifname, sizeof(ifname)))
		die("check: --addr %s is in use by interface %s in this namespace: tapir needs an address of its own",
		    tapir_ipv4_str(cfg->my_addr, a), ifname);
	next_hops(x);
	stack_new(x);
	mtu = link_open(x);
	x->rxcap = (size_t)mtu + 64 > 65600 ? (size_t)mtu + 64 : 65600;
	x->rxbuf = check_calloc(x->rxcap, 1);
	x->ifi = tapir_iface_add(x->st, x->afp ? tapir_afp_link(x->afp) : tapir_tap_link(x->tap),
				 x->mac, mtu);
	if (x->ifi < 0)
		die("check: cannot add the interface to the stack (%s)", strerror(-x->ifi));
	now_us = nu_now_ns() / 1000;
	/* --shared-addr: the kernel's ports and answers stay the kernel's, and
	 * its firewall keeps it off ours (before the address: it announces) */
	if (cfg->shared && (shared_hooks(cfg->shared, x->st, err, errlen) < 0 ||
			    shared_guard(cfg->shared, NULL, err, errlen) < 0)) {
		stack_close(x); /* the link, the stack and the buffers go too */
		return -1;
	}
	if (cfg->have_addr && tapir_iface_set_ipv4(x->st, x->ifi, cfg->my_addr, cfg->my_plen, now_us) < 0)
		die("check: cannot give the stack the address %s/%u", tapir_ipv4_str(cfg->my_addr, a),
		    cfg->my_plen);
	if (cfg->have_gw && tapir_route_add(x->st, 0, 0, cfg->gw, x->ifi) < 0)
		die("check: cannot add the default route via %s", tapir_ipv4_str(cfg->gw, a));
	if (tapir_hook_add(x->st, TAPIR_HOOK_TCP_RX, stack_tcp_rx, x) ||
	    tapir_hook_add(x->st, TAPIR_HOOK_IP_RX, stack_ip_rx, x) ||
	    tapir_hook_add(x->st, TAPIR_HOOK_LINK_RX, stack_link_rx, x))
		die("check: cannot add the stack's hooks");
	x->st_next = tapir_stack_poll(x->st, now_us);
	if (cfg->have_addr6)
		stack_addr6(x);
	if (cfg->have_gw6 && tapir_iface_add_router6(x->st, x->ifi, cfg->gw6) < 0)
		die("check: cannot add the IPv6 default route via %s", tapir_ipv6_str(cfg->gw6, buf));
	if (x->want_router6)
		stack_router6(x);
	if (epoll_ctl(c->ep, EPOLL_CTL_ADD, x->lfd, &ev))
		die("check: epoll_ctl: %s", strerror(errno));
	*state = x;
	return 0;
}

/* The core's timers, after banner.c called into it. */
static void stack_kick(void *arg)
{
	struct stack_engine *x = arg;
	x->st_next = tapir_stack_poll(x->st, nu_now_ns() / 1000);
}

static void stack_banners(void *state)
{
	struct stack_engine *x = state;
	check_banners_run(x->c, x->st, x->cfg->my_addr, stack_kick, x);
}

static void stack_close(void *state)
{
	struct stack_engine *x = state;
	if (x->afp) {
		uint64_t d = 0;
		if (tapir_afp_drops(x->afp, &d) == 0)
			x->link_drops += d;
		tapir_afp_close(x->afp);
	}
	if (x->tap)
		tapir_tap_close(x->tap);
	tapir_stack_free(x->st);
	free(x->rxbuf);
	free(x->host_nh);
	free(x->nh_state);
	free(x->nh_since);
	nu_hosts_free(&x->nh);
	if (x->link_drops)
		fprintf(stderr, "tapir check: warning: the interface's socket dropped %llu frames: replies are being lost; lower --rate\n",
			(unsigned long long)x->link_drops);
	free(x);
}

const struct check_engine check_engine_stack = {
	.name = "stack", .flags = CHECK_KNOWS_TRY, .open = stack_open, .send = stack_send,
	.collect = stack_collect, .timers = stack_timers, .warm_up = stack_warm_up,
	.banners = stack_banners, .close = stack_close,
};
