/* UDP (RFC 768, RFC 1122 4.1): checksum, demux to sockets with bounded
 * receive queues, port unreachable for closed ports. */
#include <errno.h>
#include <stdlib.h>

#include "core.h"

#define UDP_HLEN 8
#define UDP_MAX_PAYLOAD (65535 - TAPIR_IPV4_HLEN - UDP_HLEN)

int udp_init(struct tapir_stack *s)
{
	s->udp = calloc(s->cfg.udp_sockets ? s->cfg.udp_sockets : 1, sizeof(*s->udp));
	return s->udp ? 0 : -1;
}

static void udp_notify(struct tapir_udp *u, unsigned ev)
{
	if (u->event)
		u->event(u->event_arg, ev);
}

/* The socket a datagram to DST:DPORT from SRC:SPORT belongs to: a connected
 * socket beats one bound to the address, which beats a wildcard bind (of
 * DST's family, or :: for both unless IPv6-only: RFC 3493 5.3). */
static struct tapir_udp *udp_lookup(struct tapir_stack *s, const struct tapir_ip *dst,
				    uint16_t dport, const struct tapir_ip *src, uint16_t sport)
{
	struct tapir_udp *best = NULL;
	int best_score = -1;
	for (unsigned i = 0; i < s->cfg.udp_sockets; i++) {
		struct tapir_udp *u = &s->udp[i];
		int score = 0;
		if (!u->used || !u->bound || u->lport != dport)
			continue;
		if (!tapir_ip_covers(&u->laddr, u->v6only, dst))
			continue;
		score += !tapir_ip_is_any(&u->laddr);
		if (u->rport) {
			if (!tapir_ip_eq(&u->raddr, src) || u->rport != sport)
				continue;
			score += 2;
		}
		if (score > best_score) {
			best = u;
			best_score = score;
		}
	}
	return best;
}

/* RFC 1122 4.1.3.1 / RFC 4443 3.1: port unreachable, never about a
 * broadcast or multicast datagram */
static void udp_unreachable(struct tapir_stack *s, uint8_t *pkt, size_t len,
			    const struct tapir_ip *dst)
{
	if (!tapir_ip_is_v4(dst)) {
		if (!tapir_ipv6_is_multicast(dst->b))
			icmp6_send_error(s, ipv6_local_iface(s, dst->b, false), pkt, len, TAPIR_ICMP6_UNREACH,
					 TAPIR_ICMP6_UNREACH_PORT, 0);
	} else if (!ipv4_is_broadcast(s, tapir_ip_v4(dst)) &&
		   !tapir_ipv4_is_multicast(tapir_ip_v4(dst))) {
		icmp_send_error(s, pkt, len, TAPIR_ICMP_UNREACH, TAPIR_ICMP_UNREACH_PORT);
	}
}

/* The datagram's payload into U's queue; its source (16 bytes) goes just
 * before the payload, in the packet's headroom, for recvfrom. */
static int udp_queue(struct tapir_stack *s, struct tapir_udp *u, const uint8_t *data, size_t n,
		     const struct tapir_ip *src, uint16_t sport)
{
	struct tp_pkt *p;
	if (u->rq_bytes + n > u->rcvbuf)
		return TAPIR_DROP_udp_rcvbuf;
	p = tp_pkt_alloc(s, sizeof(*src) + n);
	if (!p)
		return TAPIR_DROP_nomem;
	memcpy(p->data, src->b, sizeof(*src));
	p->data += sizeof(*src);
	memcpy(p->data, data, n);
	p->len = (uint32_t)n;
	p->port = sport;
	TP_FIFO_PUSH(u->rq_head, u->rq_tail, p, next);
	u->rq_bytes += p->len;
	STAT(s, udp_rx);
	udp_notify(u, TAPIR_EV_READ);
	return TP_OK;
}

int udp_input(struct tapir_stack *s, uint8_t *pkt, size_t len, size_t hlen)
{
	const uint8_t *h = pkt + hlen;
	struct tapir_ip src, dst;
	uint16_t sport, dport, ulen;
	uint32_t sum;
	uint8_t ecn;
	struct tapir_udp *u;
	char a[TAPIR_IP_STRLEN], b[TAPIR_IP_STRLEN];

	if (len - hlen < UDP_HLEN)
		return TAPIR_DROP_udp_short;
	ulen = tapir_get16(h + 4);
	if (ulen < UDP_HLEN || ulen > len - hlen)
		return TAPIR_DROP_udp_length;
	if (!tp_l4_addrs(pkt, ulen, TAPIR_IPPROTO_UDP, &src, &dst, &ecn, &sum))
		return TAPIR_DROP_udp_short;
	/* RFC 768: a zero checksum means the sender computed none; RFC 8200
	 * 8.1: over IPv6 the checksum is mandatory, and a zero one dropped */
	if (tapir_get16(h + 6) == 0 && !tapir_ip_is_v4(&dst))
		return TAPIR_DROP_udp_checksum;
	if (tapir_get16(h + 6) != 0 && !(s->rx_flags & TAPIR_RX_CSUM_PARTIAL) &&
	    tapir_csum_fold(tapir_csum_add(sum, h, ulen)) != 0)
		return TAPIR_DROP_udp_checksum;
	sport = tapir_get16(h);
	dport = tapir_get16(h + 2);
	TRACE(s, TAPIR_TR_UDP, "rx %s.%u > %s.%u len %u", tapir_ip_str(&src, a), sport,
	      tapir_ip_str(&dst, b), dport, ulen - UDP_HLEN);
	/* RFC 2131 4.1: the DHCP client's replies (port 68, from 67) */
	if (s->dhcp && dport == TP_DHCP_CLIENT_PORT && sport == 67 && tapir_ip_is_v4(&dst))
		return dhcp_input(s, h + UDP_HLEN, ulen - UDP_HLEN);
	/* RFC 8415 7.2: the DHCPv6 client's replies (port 546) */
	if (s->dhcp6 && dport == TP_DHCP6_CLIENT_PORT && !tapir_ip_is_v4(&dst))
		return dhcp6_input(s, &src, sport, h + UDP_HLEN, ulen - UDP_HLEN);
	u = udp_lookup(s, &dst, dport, &src, sport);
	if (!u) {
		STAT(s, udp_no_socket);
		udp_unreachable(s, pkt, len, &dst);
		return TAPIR_DROP_udp_no_port;
	}
	return udp_queue(s, u, h + UDP_HLEN, ulen - UDP_HLEN, &src, sport);
}

int udp_icmp_error(struct tapir_stack *s, const struct tapir_ip *laddr, uint16_t lport,
		   const struct tapir_ip *raddr, uint16_t rport, int err)
{
	struct tapir_udp *u = udp_lookup(s, laddr, lport, raddr, rport);
	if (!u)
		return TAPIR_DROP_icmp_error_bad;
	/* UNP 8.9: asynchronous errors reach only connected UDP sockets; an
	 * unconnected one could not tell which destination failed. */
	if (u->rport) {
		u->error = err;
		udp_notify(u, TAPIR_EV_ERROR);
	}
	return TP_OK;
}

/* ---- the raw API ---- */

struct tapir_udp *tapir_udp_new(struct tapir_stack *s)
{
	for (unsigned i = 0; i < s->cfg.udp_sockets; i++) {
		struct tapir_udp *u = &s->udp[i];
		if (!u->used) {
			memset(u, 0, sizeof(*u));
			u->s = s;
			u->used = true;
			u->rcvbuf = s->cfg.udp_rcvbuf;
			return u;
		}
	}
	return NULL;
}

void tapir_udp_free(struct tapir_udp *u)
{
	tp_pkt_free_list(u->s, u->rq_head);
	memset(u, 0, sizeof(*u));
}

void tapir_udp_set_event(struct tapir_udp *u, tapir_event_fn fn, void *arg)
{
	u->event = fn;
	u->event_arg = arg;
}

static bool udp_port_used(struct tapir_stack *s, const struct tapir_ip *addr, bool v6only,
			  uint16_t port)
{
	for (unsigned i = 0; i < s->cfg.udp_sockets; i++) {
		const struct tapir_udp *o = &s->udp[i];
		if (o->used && o->bound && o->lport == port &&
		    (!addr || tapir_ip_overlap(&o->laddr, o->v6only, addr, v6only)))
			return true;
	}
	return false;
}

int tapir_udp_bind(struct tapir_udp *u, uint32_t addr, uint16_t port)
{
	struct tapir_ip a = tapir_ip_from_v4(addr);
	return tapir_udp_bind_addr(u, &a, port);
}

int tapir_udp_bind_addr(struct tapir_udp *u, const struct tapir_ip *addr, uint16_t port)
{
	struct tapir_stack *s = u->s;
	if (u->bound)
		return -EINVAL;
	if (!tapir_ip_is_any(addr) && !tp_ip_is_local(s, addr))
		return -EADDRNOTAVAIL;
	if (u->v6only && tapir_ip_is_v4(addr))
		return -EINVAL;
	if (!port) {
		/* RFC 6056 3.3.1-style: a random start, then the next free one */
		unsigned range = s->cfg.ephemeral_hi - s->cfg.ephemeral_lo + 1u;
		unsigned start = (unsigned)(tp_rand(s) % range);
		for (unsigned i = 0; i < range && !port; i++) {
			uint16_t p = (uint16_t)(s->cfg.ephemeral_lo + (start + i) % range);
			if (!udp_port_used(s, NULL, false, p))
				port = p;
		}
		if (!port)
			return -EADDRINUSE;
	} else if (udp_port_used(s, addr, u->v6only, port)) {
		return -EADDRINUSE;
	}
	u->laddr = *addr;
	u->lport = port;
	u->bound = true;
	return 0;
}

int tapir_udp_set_v6only(struct tapir_udp *u, bool on)
{
	if (u->bound) /* RFC 3493 5.3: before bind */
		return -EINVAL;
	u->v6only = on;
	return 0;
}

int tapir_udp_connect(struct tapir_udp *u, uint32_t addr, uint16_t port)
{
	struct tapir_ip a = tapir_ip_from_v4(addr);
	return tapir_udp_connect_addr(u, &a, port);
}

/* A :: socket binds to the any of DST's family first (IPv4: v4-mapped) */
static int udp_autobind(struct tapir_udp *u, const struct tapir_ip *dst)
{
	struct tapir_ip any = tapir_ip_is_v4(dst) ? tapir_ip_from_v4(0) : (struct tapir_ip){{0}};
	return u->bound ? 0 : tapir_udp_bind_addr(u, &any, 0);
}

int tapir_udp_connect_addr(struct tapir_udp *u, const struct tapir_ip *addr, uint16_t port)
{
	int r;
	if (tapir_ip_is_any(addr) || !port)
		return -EINVAL;
	if ((r = udp_autobind(u, addr)) < 0)
		return r;
	u->raddr = *addr;
	u->rport = port;
	return 0;
}

/* The UDP header on P (its payload after 8 bytes), with the checksum over
 * the pseudo-header sum PSEUDO */
static void udp_fill(struct tp_pkt *p, uint16_t sport, uint16_t dport, uint32_t pseudo)
{
	uint16_t sum;
	tapir_put16(p->data, sport);
	tapir_put16(p->data + 2, dport);
	tapir_put16(p->data + 4, (uint16_t)p->len);
	tapir_put16(p->data + 6, 0);
	sum = tapir_csum_fold(tapir_csum_add(pseudo, p->data, p->len));
	tapir_put16(p->data + 6, sum ? sum : 0xffff); /* RFC 768: 0 is sent as all ones */
}

void udp_header(struct tp_pkt *p, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	udp_fill(p, sport, dport, tapir_csum_pseudo(src, dst, TAPIR_IPPROTO_UDP, (uint16_t)p->len));
}

/* The source for a datagram to DST: the socket's address, or the outgoing
 * interface's (RFC 6724 5 for IPv6); 0 or a negative errno */
static int udp_source(struct tapir_udp *u, const struct tapir_ip *dst, struct tapir_ip *src)
{
	struct tapir_stack *s = u->s;
	const uint8_t *a;
	int ifindex;
	/* RFC 1122 3.2.1.3 (g): a loopback source reaches only this host */
	if (!tapir_ip_is_any(&u->laddr) && tp_ip_is_loopback(&u->laddr) && !tp_ip_is_local(s, dst))
		return -EINVAL;
	if (tapir_ip_is_v4(dst)) {
		if (u->v6only || (!tapir_ip_is_v4(&u->laddr) && !tapir_ip_is_any(&u->laddr)))
			return -ENETUNREACH;
		if (tapir_ipv4_is_loopback(tapir_ip_v4(dst))) {
			*src = tapir_ip_is_any(&u->laddr) ? tapir_ip_from_v4(TP_IPV4_LOOPBACK) : u->laddr;
			return 0;
		}
		if ((ifindex = ipv4_route(s, tapir_ip_v4(dst), NULL)) < 0)
			return -ENETUNREACH;
		*src = tapir_ip_is_any(&u->laddr) ? tapir_ip_from_v4(s->ifaces[ifindex].addr) : u->laddr;
		return 0;
	}
	if (tapir_ip_is_v4(&u->laddr))
		return -EAFNOSUPPORT; /* an IPv4 socket */
	if (tapir_ipv6_is_loopback(dst->b)) {
		*src = tapir_ip_is_any(&u->laddr) ? *dst : u->laddr;
		return 0;
	}
	if ((ifindex = ipv6_route(s, dst->b, NULL)) < 0)
		return -ENETUNREACH;
	if (!tapir_ip_is_any(&u->laddr)) {
		*src = u->laddr;
		return 0;
	}
	if (!(a = ipv6_select_source(s, ifindex, dst->b)))
		return -EADDRNOTAVAIL;
	*src = tapir_ip_from_v6(a);
	return 0;
}

long tapir_udp_sendto(struct tapir_udp *u, const void *data, size_t len, uint32_t dst,
		      uint16_t dport, tapir_time_t now)
{
	struct tapir_ip d = tapir_ip_from_v4(dst);
	return tapir_udp_sendto_addr(u, data, len, dst ? &d : NULL, dport, now);
}

long tapir_udp_sendto_addr(struct tapir_udp *u, const void *data, size_t len,
			   const struct tapir_ip *dst, uint16_t dport, tapir_time_t now)
{
	struct tapir_stack *s = u->s;
	struct tp_pkt *p;
	struct tapir_ip src;
	int r;
	char a[TAPIR_IP_STRLEN], b[TAPIR_IP_STRLEN];

	s->now = now;
	if (!dst) {
		if (!u->rport)
			return -EDESTADDRREQ;
		dst = &u->raddr;
		dport = u->rport;
		if (u->error) { /* a connected socket learns of ICMP errors here */
			r = u->error;
			u->error = 0;
			return -r;
		}
	}
	if (!dport || tapir_ip_is_any(dst))
		return -EINVAL;
	/* (IPv6 has no options here: the same 20 bytes more than IPv4 leave
	 * room for its larger header, RFC 8200 3) */
	if (len > UDP_MAX_PAYLOAD - (tapir_ip_is_v4(dst) ? 0 : 20))
		return -EMSGSIZE;
	if ((r = udp_autobind(u, dst)) < 0 || (r = udp_source(u, dst, &src)) < 0)
		return r;
	p = tp_pkt_alloc(s, UDP_HLEN + len);
	if (!p) {
		STAT(s, tx_nomem);
		return -ENOBUFS;
	}
	if (len)
		memcpy(p->data + UDP_HLEN, data, len);
	p->len = (uint32_t)(UDP_HLEN + len);
	udp_fill(p, u->lport, dport, tp_l4_pseudo(&src, dst, TAPIR_IPPROTO_UDP, p->len));
	STAT(s, udp_tx);
	TRACE(s, TAPIR_TR_UDP, "tx %s.%u > %s.%u len %zu", tapir_ip_str(&src, a), u->lport,
	      tapir_ip_str(dst, b), dport, len);
	r = tp_l4_output(s, p, &src, dst, TAPIR_IPPROTO_UDP, tp_ipopts_flags(&u->ipo, dst, false));
	return r < 0 ? r : (long)len;
}

long tapir_udp_recvfrom(struct tapir_udp *u, void *buf, size_t cap, uint32_t *src,
			uint16_t *sport)
{
	struct tapir_ip a;
	long n = tapir_udp_recvfrom_addr(u, buf, cap, &a, sport);
	if (n >= 0 && src)
		*src = tapir_ip_is_v4(&a) ? tapir_ip_v4(&a) : 0;
	return n;
}

long tapir_udp_recvfrom_addr(struct tapir_udp *u, void *buf, size_t cap, struct tapir_ip *src,
			     uint16_t *sport)
{
	struct tp_pkt *p = u->rq_head;
	long n;
	if (!p)
		return -EAGAIN;
	TP_FIFO_POP(u->rq_head, u->rq_tail, next);
	u->rq_bytes -= p->len;
	memcpy(buf, p->data, p->len < cap ? p->len : cap);
	if (src) /* (udp_queue put it before the payload) */
		memcpy(src->b, p->data - sizeof(*src), sizeof(*src));
	if (sport)
		*sport = p->port;
	n = p->len;
	tp_pkt_free(u->s, p);
	return n;
}

int tapir_udp_error(struct tapir_udp *u)
{
	int e = u->error;
	u->error = 0;
	return e;
}

unsigned tapir_udp_events(const struct tapir_udp *u)
{
	return (u->rq_head ? TAPIR_EV_READ : 0) | TAPIR_EV_WRITE |
	       (u->error ? TAPIR_EV_ERROR : 0);
}

void tapir_udp_local(const struct tapir_udp *u, uint32_t *addr, uint16_t *port)
{
	if (addr)
		*addr = tapir_ip_is_v4(&u->laddr) ? tapir_ip_v4(&u->laddr) : 0;
	if (port)
		*port = u->lport;
}

void tapir_udp_local_addr(const struct tapir_udp *u, struct tapir_ip *addr, uint16_t *port)
{
	if (addr)
		*addr = u->laddr;
	if (port)
		*port = u->lport;
}

void tapir_udp_set_rcvbuf(struct tapir_udp *u, size_t bytes)
{
	u->rcvbuf = bytes;
}

int tapir_udp_set_ipopt(struct tapir_udp *u, enum tapir_ip_opt opt, int v)
{
	return tp_ipopt_set(&u->ipo, opt, v);
}

int tapir_udp_get_ipopt(const struct tapir_udp *u, enum tapir_ip_opt opt)
{
	return tp_ipopt_get(&u->ipo, u->s->cfg.ttl, opt);
}
