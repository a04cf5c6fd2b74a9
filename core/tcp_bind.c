/* TCP's addresses and ports, for either family (struct tapir_ip: IPv4
 * v4-mapped): the listener a segment reaches, binds and the choice of an
 * ephemeral port, LISTEN, accept, and the active OPEN (RFC 9293 3.10.1)
 * with its route and source address; the names a socket reports. */
#include <errno.h>

#include "tcp_int.h"

struct tapir_tcp *tcp_lookup_listener(struct tapir_stack *s, const struct tapir_ip *laddr,
				      uint16_t lport)
{
	struct tapir_tcp *wild = NULL;
	for (struct tapir_tcp *t = s->tcp->listeners; t; t = t->qnext) {
		if (t->state != TAPIR_TCP_LISTEN || t->lport != lport)
			continue;
		if (tapir_ip_eq(&t->laddr, laddr))
			return t;
		/* the any of LADDR's family (RFC 3493 5.3: IPv4 reaches an IPv6
		 * "any" listener as v4-mapped, unless IPV6_V6ONLY) */
		if (tapir_ip_covers(&t->laddr, t->v6only, laddr))
			wild = t;
	}
	return wild;
}

/* A socket bound to LADDR:LPORT that is neither listening nor connected:
 * a TCB in CLOSED (RFC 9293 3.10.7.1), whose IP header fields its answers
 * carry, as a connected one's do. */
const struct tapir_tcp *tcp_lookup_closed(struct tapir_stack *s,
						 const struct tapir_ip *laddr, uint16_t lport)
{
	for (const struct tapir_tcp *o = tcp_port_first(s, lport); o; o = o->bnext)
		if (o->bound && o->lport == lport && o->state == TAPIR_TCP_CLOSED &&
		    tapir_ip_covers(&o->laddr, o->v6only, laddr))
			return o;
	return NULL;
}

/* ---- ports ---- */

static bool port_conflict(struct tapir_stack *s, const struct tapir_tcp *self,
			  const struct tapir_ip *addr, uint16_t port)
{
	for (const struct tapir_tcp *o = tcp_port_first(s, port); o; o = o->bnext) {
		if (o == self || !o->bound || o->lport != port)
			continue;
		if (!tapir_ip_overlap(&o->laddr, o->v6only, addr, self->v6only))
			continue;
		/* SO_REUSEADDR lets a new socket share the port with connections
		 * (TIME_WAIT above all), never with a listener */
		if (self->reuseaddr && o->state != TAPIR_TCP_LISTEN &&
		    (o->state == TAPIR_TCP_TIME_WAIT || o->reuseaddr))
			continue;
		return true;
	}
	return tcp_tw_port_used(s, addr, self->v6only, port, self->reuseaddr);
}

static int pick_port(struct tapir_tcp *t)
{
	struct tapir_stack *s = t->s;
	unsigned range = s->cfg.ephemeral_hi - s->cfg.ephemeral_lo + 1u;
	unsigned start = (unsigned)(tp_rand(s) % range);
	/* RFC 6056 3.3.1 (simple randomisation): a random start, then onwards */
	for (unsigned i = 0; i < range; i++) {
		uint16_t p = (uint16_t)(s->cfg.ephemeral_lo + (start + i) % range);
		bool used = false;
		for (const struct tapir_tcp *o = tcp_port_first(s, p); o && !used; o = o->bnext)
			used = o->bound && o->lport == p;
		used = used || tcp_tw_port_used(s, NULL, false, p, false);
		if (!used)
			return p;
	}
	return -EADDRINUSE;
}

/* ---- the user calls ---- */

int tapir_tcp_bind(struct tapir_tcp *t, uint32_t addr, uint16_t port)
{
	struct tapir_ip a = tapir_ip_from_v4(addr);
	return tapir_tcp_bind_addr(t, &a, port);
}

/* ADDR is one of the stack's (the loopback's too), or an "any" */
static bool tcp_addr_local(const struct tapir_stack *s, const struct tapir_ip *a)
{
	return tapir_ip_is_any(a) || tp_ip_is_local(s, a);
}

int tapir_tcp_bind_addr(struct tapir_tcp *t, const struct tapir_ip *addr, uint16_t port)
{
	int p;
	if (t->bound || t->state != TAPIR_TCP_CLOSED)
		return -EINVAL;
	if (!tcp_addr_local(t->s, addr))
		return -EADDRNOTAVAIL;
	if (t->v6only && tapir_ip_is_v4(addr))
		return -EINVAL;
	if (!port) {
		if ((p = pick_port(t)) < 0)
			return p;
		port = (uint16_t)p;
	} else if (port_conflict(t->s, t, addr, port)) {
		return -EADDRINUSE;
	}
	t->laddr = *addr;
	t->lport = port;
	tcp_port_insert(t);
	return 0;
}

int tapir_tcp_listen(struct tapir_tcp *t, int backlog)
{
	int r;
	if (t->state != TAPIR_TCP_CLOSED && t->state != TAPIR_TCP_LISTEN)
		return -EINVAL;
	if (!t->bound && (r = tapir_tcp_bind(t, 0, 0)) < 0)
		return r;
	/* as Linux: at least 1, at most SOMAXCONN (4096) */
	t->backlog = backlog < 1 ? 1 : backlog > 4096 ? 4096 : backlog;
	if (t->state != TAPIR_TCP_LISTEN) {
		if (port_conflict(t->s, t, &t->laddr, t->lport) && !t->reuseaddr)
			return -EADDRINUSE;
		tcp_set_state(t, TAPIR_TCP_LISTEN);
		if (!t->in_listen) {
			t->in_listen = true;
			t->qnext = t->s->tcp->listeners;
			t->s->tcp->listeners = t;
		}
	}
	return 0;
}

struct tapir_tcp *tapir_tcp_accept(struct tapir_tcp *l, int *err)
{
	struct tapir_tcp *c = l->accq;
	if (l->state != TAPIR_TCP_LISTEN) {
		*err = -EINVAL;
		return NULL;
	}
	if (!c) {
		*err = -EAGAIN;
		return NULL;
	}
	TP_FIFO_POP(l->accq, l->accq_tail, qnext);
	l->acc_n--;
	c->qnext = NULL;
	c->parent = NULL;
	c->event = NULL;
	c->event_arg = NULL;
	*err = 0;
	return c;
}

int tapir_tcp_connect(struct tapir_tcp *t, uint32_t addr, uint16_t port, tapir_time_t now)
{
	struct tapir_ip a = tapir_ip_from_v4(addr);
	if (!addr) /* (0.0.0.0 is no peer; :: is the IPv6 caller's to refuse) */
		return -EINVAL;
	return tapir_tcp_connect_addr(t, &a, port, now);
}

/* A connection from T to RADDR may be tried: the interface it leaves by
 * (0 for the loopback, which needs none), or a negative errno */
static int tcp_connect_route(const struct tapir_tcp *t, const struct tapir_ip *raddr)
{
	const struct tapir_stack *s = t->s;
	int i;
	/* RFC 1122 3.2.1.3 (g): a loopback source reaches only this host */
	if (t->bound && !tapir_ip_is_any(&t->laddr) && tp_ip_is_loopback(&t->laddr) &&
	    !tp_ip_is_local(s, raddr))
		return -EINVAL;
	if (tapir_ip_is_v4(raddr)) {
		uint32_t a = tapir_ip_v4(raddr);
		if (!a || a == TAPIR_IPV4_BROADCAST || tapir_ipv4_is_multicast(a))
			return -EINVAL;
		/* a :: socket reaches IPv4 v4-mapped, unless IPv6-only (RFC 3493 5.3) */
		if (t->v6only || (t->bound && !tapir_ip_is_v4(&t->laddr) && !tapir_ip_is_any(&t->laddr)))
			return -ENETUNREACH;
		i = tapir_ipv4_is_loopback(a) ? 0 : ipv4_route(s, a, NULL);
		return i < 0 ? -ENETUNREACH : i;
	}
	/* RFC 9293 3.9.1.1 / RFC 4291 2.7: no connection to a group */
	if (tapir_ip_is_any(raddr) || tapir_ipv6_is_multicast(raddr->b))
		return -EINVAL;
	if (t->bound && tapir_ip_is_v4(&t->laddr))
		return -EAFNOSUPPORT; /* an IPv4 socket */
	i = tapir_ipv6_is_loopback(raddr->b) ? 0 : ipv6_route(s, raddr->b, NULL);
	return i < 0 ? -ENETUNREACH : i;
}

/* T bound to an "any": the address of interface IFINDEX towards RADDR
 * (RFC 6724 5 for IPv6); towards the loopback, 127.0.0.1 or ::1 */
static int tcp_connect_source(struct tapir_tcp *t, const struct tapir_ip *raddr, int ifindex)
{
	const uint8_t *src;
	if (!tapir_ip_is_any(&t->laddr))
		return 0;
	if (tp_ip_is_loopback(raddr)) {
		t->laddr = tapir_ip_is_v4(raddr) ? tapir_ip_from_v4(TP_IPV4_LOOPBACK) : *raddr;
		return 0;
	}
	if (tapir_ip_is_v4(raddr)) {
		t->laddr = tapir_ip_from_v4(t->s->ifaces[ifindex].addr);
		return 0;
	}
	if (!(src = ipv6_select_source(t->s, ifindex, raddr->b)))
		return -EADDRNOTAVAIL;
	t->laddr = tapir_ip_from_v6(src);
	return 0;
}

int tapir_tcp_connect_addr(struct tapir_tcp *t, const struct tapir_ip *addr, uint16_t port,
			   tapir_time_t now)
{
	struct tapir_stack *s = t->s;
	struct tapir_ip any;
	int ifindex, r;
	s->now = now;
	if (t->state == TAPIR_TCP_SYN_SENT)
		return -EALREADY;
	if (t->state == TAPIR_TCP_LISTEN)
		return -EINVAL;
	if (t->state != TAPIR_TCP_CLOSED || t->hard_error || t->snd_max)
		return -EISCONN;
	if (!port)
		return -EINVAL;
	if ((ifindex = tcp_connect_route(t, addr)) < 0)
		return ifindex;
	if (!t->bound) {
		/* the "any" of ADDR's family */
		any = tapir_ip_is_v4(addr) ? tapir_ip_from_v4(0) : (struct tapir_ip){{0}};
		if ((r = tapir_tcp_bind_addr(t, &any, 0)) < 0)
			return r;
	}
	any = t->laddr;
	if ((r = tcp_connect_source(t, addr, ifindex)) < 0)
		return r;
	if (tcp_lookup(s, &t->laddr, t->lport, addr, port) ||
	    tcp_tw_exists(s, &t->laddr, t->lport, addr, port)) {
		t->laddr = any;
		return -EADDRNOTAVAIL;
	}
	if ((r = tcp_buffers(t)) < 0)
		return r;
	t->raddr = *addr;
	t->rport = port;
	t->iss = tcp_isn(s, &t->laddr, t->lport, addr, port);
	t->snd_una = t->snd_nxt = t->snd_max = t->iss;
	t->mss = tcp_effective_mss(t);
	tcp_options_prepare(t);
	tcp_hash_insert(t);
	tcp_set_state(t, TAPIR_TCP_SYN_SENT);
	STAT(s, tcp_active_opens);
	/* FreeBSD's TCP_KEEPINIT: the connect's own limit */
	if (t->keepinit_s)
		tcp_timer_set(t, &t->t_keep, now + TAPIR_SEC(t->keepinit_s));
	/* RFC 7413 4.2: with a cookie cached, the SYN waits for data */
	t->tfo_defer = tcp_tfo_may_defer(t);
	tcp_output(t);
	return t->tfo_defer ? 1 : 0;
}

/* (the IPv4 calls: 0 for an IPv6 address) */
void tapir_tcp_local(const struct tapir_tcp *t, uint32_t *addr, uint16_t *port)
{
	*addr = tapir_ip_is_v4(&t->laddr) ? tapir_ip_v4(&t->laddr) : 0;
	*port = t->lport;
}

void tapir_tcp_peer(const struct tapir_tcp *t, uint32_t *addr, uint16_t *port)
{
	*addr = tapir_ip_is_v4(&t->raddr) ? tapir_ip_v4(&t->raddr) : 0;
	*port = t->rport;
}

void tapir_tcp_local_addr(const struct tapir_tcp *t, struct tapir_ip *addr, uint16_t *port)
{
	*addr = t->laddr;
	*port = t->lport;
}

void tapir_tcp_peer_addr(const struct tapir_tcp *t, struct tapir_ip *addr, uint16_t *port)
{
	*addr = t->raddr;
	*port = t->rport;
}

/* ---- for hooks (hook.h) ---- */

struct tapir_tcp *tapir_tcp_lookup(struct tapir_stack *s, uint32_t laddr, uint16_t lport,
				   uint32_t raddr, uint16_t rport)
{
	struct tapir_ip l = tapir_ip_from_v4(laddr), r = tapir_ip_from_v4(raddr);
	return tapir_tcp_lookup_addr(s, &l, lport, &r, rport);
}

struct tapir_tcp *tapir_tcp_lookup_addr(struct tapir_stack *s, const struct tapir_ip *laddr,
					uint16_t lport, const struct tapir_ip *raddr, uint16_t rport)
{
	struct tapir_tcp *t = tcp_lookup(s, laddr, lport, raddr, rport);
	return t ? t : tcp_lookup_listener(s, laddr, lport);
}

