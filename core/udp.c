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
 * socket beats one bound to the address, which beats a wildcard bind. */
static struct tapir_udp *udp_lookup(struct tapir_stack *s, uint32_t dst, uint16_t dport,
				    uint32_t src, uint16_t sport)
{
	struct tapir_udp *best = NULL;
	int best_score = -1;
	for (unsigned i = 0; i < s->cfg.udp_sockets; i++) {
		struct tapir_udp *u = &s->udp[i];
		int score = 0;
		if (!u->used || !u->bound || u->lport != dport)
			continue;
		if (u->laddr) {
			if (u->laddr != dst)
				continue;
			score++;
		}
		if (u->rport) {
			if (u->raddr != src || u->rport != sport)
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

int udp_input(struct tapir_stack *s, uint8_t *pkt, size_t len, size_t hlen)
{
	const uint8_t *h = pkt + hlen;
	uint32_t src = tapir_get32(pkt + 12), dst = tapir_get32(pkt + 16);
	uint16_t sport, dport, ulen;
	struct tapir_udp *u;
	struct tp_pkt *p;
	char a[16], b[16];

	if (len - hlen < UDP_HLEN)
		return TAPIR_DROP_udp_short;
	ulen = tapir_get16(h + 4);
	if (ulen < UDP_HLEN || ulen > len - hlen)
		return TAPIR_DROP_udp_length;
	/* RFC 768: a zero checksum means the sender computed none */
	if (tapir_get16(h + 6) != 0 && !(s->rx_flags & TAPIR_RX_CSUM_PARTIAL) &&
	    tapir_csum_fold(tapir_csum_add(tapir_csum_pseudo(src, dst, TAPIR_IPPROTO_UDP, ulen), h, ulen)) != 0)
		return TAPIR_DROP_udp_checksum;
	sport = tapir_get16(h);
	dport = tapir_get16(h + 2);
	TRACE(s, TAPIR_TR_UDP, "rx %s.%u > %s.%u len %u", tp_ip_str(src, a), sport,
	      tp_ip_str(dst, b), dport, ulen - UDP_HLEN);
	/* RFC 2131 4.1: the DHCP client's replies (port 68, from 67) */
	if (s->dhcp && dport == TP_DHCP_CLIENT_PORT && sport == 67)
		return dhcp_input(s, h + UDP_HLEN, ulen - UDP_HLEN);
	u = udp_lookup(s, dst, dport, src, sport);
	if (!u) {
		STAT(s, udp_no_socket);
		/* RFC 1122 4.1.3.1: port unreachable, never for broadcasts */
		if (!ipv4_is_broadcast(s, dst))
			icmp_send_error(s, pkt, len, TAPIR_ICMP_UNREACH, TAPIR_ICMP_UNREACH_PORT);
		return TAPIR_DROP_udp_no_port;
	}
	if (u->rq_bytes + ulen - UDP_HLEN > u->rcvbuf)
		return TAPIR_DROP_udp_rcvbuf;
	p = tp_pkt_alloc(s, ulen - UDP_HLEN);
	if (!p)
		return TAPIR_DROP_nomem;
	memcpy(p->data, h + UDP_HLEN, ulen - UDP_HLEN);
	p->len = ulen - UDP_HLEN;
	p->addr = src;
	p->port = sport;
	TP_FIFO_PUSH(u->rq_head, u->rq_tail, p, next);
	u->rq_bytes += p->len;
	STAT(s, udp_rx);
	udp_notify(u, TAPIR_EV_READ);
	return TP_OK;
}

int udp_icmp_error(struct tapir_stack *s, const uint8_t *inner, size_t len, int err)
{
	size_t hlen = (size_t)(inner[0] & 15) * 4;
	uint32_t src = tapir_get32(inner + 12), dst = tapir_get32(inner + 16);
	uint16_t sport = tapir_get16(inner + hlen), dport = tapir_get16(inner + hlen + 2);
	struct tapir_udp *u = udp_lookup(s, src, sport, dst, dport);
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

static bool udp_port_used(struct tapir_stack *s, uint32_t addr, uint16_t port)
{
	for (unsigned i = 0; i < s->cfg.udp_sockets; i++) {
		const struct tapir_udp *o = &s->udp[i];
		if (o->used && o->bound && o->lport == port &&
		    (!o->laddr || !addr || o->laddr == addr))
			return true;
	}
	return false;
}

int tapir_udp_bind(struct tapir_udp *u, uint32_t addr, uint16_t port)
{
	struct tapir_stack *s = u->s;
	if (u->bound)
		return -EINVAL;
	if (addr && !ipv4_is_local(s, addr))
		return -EADDRNOTAVAIL;
	if (!port) {
		/* RFC 6056 3.3.1-style: a random start, then the next free one */
		unsigned range = s->cfg.ephemeral_hi - s->cfg.ephemeral_lo + 1u;
		unsigned start = (unsigned)(tp_rand(s) % range);
		for (unsigned i = 0; i < range && !port; i++) {
			uint16_t p = (uint16_t)(s->cfg.ephemeral_lo + (start + i) % range);
			if (!udp_port_used(s, addr, p))
				port = p;
		}
		if (!port)
			return -EADDRINUSE;
	} else if (udp_port_used(s, addr, port)) {
		return -EADDRINUSE;
	}
	u->laddr = addr;
	u->lport = port;
	u->bound = true;
	return 0;
}

int tapir_udp_connect(struct tapir_udp *u, uint32_t addr, uint16_t port)
{
	int r;
	if (!addr || !port)
		return -EINVAL;
	if (!u->bound && (r = tapir_udp_bind(u, 0, 0)) < 0)
		return r;
	u->raddr = addr;
	u->rport = port;
	return 0;
}

void udp_header(struct tp_pkt *p, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	uint16_t sum;
	tapir_put16(p->data, sport);
	tapir_put16(p->data + 2, dport);
	tapir_put16(p->data + 4, (uint16_t)p->len);
	tapir_put16(p->data + 6, 0);
	sum = tapir_csum_fold(tapir_csum_add(tapir_csum_pseudo(src, dst, TAPIR_IPPROTO_UDP, (uint16_t)p->len),
				       p->data, p->len));
	tapir_put16(p->data + 6, sum ? sum : 0xffff); /* RFC 768: 0 is sent as all ones */
}

long tapir_udp_sendto(struct tapir_udp *u, const void *data, size_t len, uint32_t dst,
		      uint16_t dport, tapir_time_t now)
{
	struct tapir_stack *s = u->s;
	struct tp_pkt *p;
	uint32_t src;
	int r, ifindex;
	char a[16], b[16];

	s->now = now;
	if (!dst) {
		if (!u->rport)
			return -EDESTADDRREQ;
		dst = u->raddr;
		dport = u->rport;
		if (u->error) { /* a connected socket learns of ICMP errors here */
			r = u->error;
			u->error = 0;
			return -r;
		}
	}
	if (!dport)
		return -EINVAL;
	if (len > UDP_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (!u->bound && (r = tapir_udp_bind(u, 0, 0)) < 0)
		return r;
	ifindex = ipv4_route(s, dst, NULL);
	if (ifindex < 0)
		return -ENETUNREACH;
	src = u->laddr ? u->laddr : s->ifaces[ifindex].addr;
	p = tp_pkt_alloc(s, UDP_HLEN + len);
	if (!p) {
		STAT(s, tx_nomem);
		return -ENOBUFS;
	}
	if (len)
		memcpy(p->data + UDP_HLEN, data, len);
	p->len = (uint32_t)(UDP_HLEN + len);
	udp_header(p, src, u->lport, dst, dport);
	STAT(s, udp_tx);
	TRACE(s, TAPIR_TR_UDP, "tx %s.%u > %s.%u len %zu", tp_ip_str(src, a), u->lport,
	      tp_ip_str(dst, b), dport, len);
	r = ipv4_output(s, p, src, dst, TAPIR_IPPROTO_UDP, 0);
	return r < 0 ? r : (long)len;
}

long tapir_udp_recvfrom(struct tapir_udp *u, void *buf, size_t cap, uint32_t *src,
			uint16_t *sport)
{
	struct tp_pkt *p = u->rq_head;
	long n;
	if (!p)
		return -EAGAIN;
	TP_FIFO_POP(u->rq_head, u->rq_tail, next);
	u->rq_bytes -= p->len;
	memcpy(buf, p->data, p->len < cap ? p->len : cap);
	if (src)
		*src = p->addr;
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
		*addr = u->laddr;
	if (port)
		*port = u->lport;
}

void tapir_udp_set_rcvbuf(struct tapir_udp *u, size_t bytes)
{
	u->rcvbuf = bytes;
}
