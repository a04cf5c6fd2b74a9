/* The gate's UDP sockets (proto.h): a SOCK_SEQPACKET pair (datagram
 * boundaries kept, and unlike SOCK_DGRAM its gate end sees POLLHUP at the
 * program's last close), every datagram headed by a struct trun_dgram.
 * Datagrams are never queued by the gate: one the program's end cannot
 * take now is dropped, as a full receive buffer drops it (RFC 768 promises
 * no delivery). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "gate_int.h"

#define UDP_BATCH 256 /* datagrams each way per turn, so TCP is never starved */

static void udp_event(void *arg, unsigned events)
{
	if (events & (TAPIR_EV_READ | TAPIR_EV_ERROR))
		gate_sock_queue(arg);
}

int gudp_socket(struct gsock *gs, int *app)
{
	int r;
	if (!(gs->u = tapir_udp_new(gs->g->s)))
		return -ENOBUFS;
	if ((r = gate_pair(gs, SOCK_SEQPACKET, app)) < 0)
		return r;
	if ((r = gate_watch(gs->g, gs->gfd, EPOLLIN, gs, false)) < 0) {
		close(*app);
		return r;
	}
	tapir_udp_set_event(gs->u, udp_event, gs);
	return 0;
}

int gudp_bind(struct gsock *gs, const struct tapir_ip *addr, uint16_t port)
{
	int r = tapir_udp_bind_addr(gs->u, addr, port);
	if (r == 0)
		tapir_udp_local_addr(gs->u, &gs->laddr, &gs->lport);
	return r;
}

/* An unbound socket gets an ephemeral port on first use, as the kernel's. */
static int autobind(struct gsock *gs)
{
	/* an AF_INET6 socket's port takes both families (::), unless IPv6-only */
	struct tapir_ip any = gs->domain == AF_INET6 ? tapir_ip_from_v6(in6addr_any.s6_addr)
						     : tapir_ip_from_v4(0);
	tapir_udp_local_addr(gs->u, &gs->laddr, &gs->lport);
	return gs->lport ? 0 : gudp_bind(gs, &any, 0);
}

int gudp_connect(struct gsock *gs, const struct tapir_ip *addr, uint16_t port, bool unspec)
{
	int r;
	if (unspec) { /* UNP 8.11: connect with AF_UNSPEC dissolves the association */
		memset(&gs->paddr, 0, sizeof(gs->paddr));
		gs->pport = 0;
		return tapir_udp_connect(gs->u, 0, 0);
	}
	if ((r = autobind(gs)) < 0 || (r = tapir_udp_connect_addr(gs->u, addr, port)) < 0)
		return r;
	gs->paddr = *addr;
	gs->pport = port;
	return 0;
}

/* The program's datagrams, out through tapir. */
static void udp_out(struct gsock *gs)
{
	struct gate *g = gs->g;
	for (int i = 0; i < UDP_BATCH; i++) {
		struct trun_dgram h;
		long r;
		ssize_t n = recv(gs->gfd, g->buf, sizeof(g->buf), MSG_DONTWAIT);
		if (n < 0)
			return;
		if ((size_t)n < sizeof(h))
			continue; /* not the protocol: dropped */
		memcpy(&h, g->buf, sizeof(h));
		if (autobind(gs) < 0)
			continue;
		struct tapir_ip dst = tapir_ip_from_v6(h.addr);
		r = tapir_udp_sendto_addr(gs->u, g->buf + sizeof(h), (size_t)n - sizeof(h),
					  tapir_ip_is_any(&dst) && !h.port ? NULL : &dst,
					  ntohs(h.port), g->now);
		if (r < 0)
			gs->err = (int)-r; /* SO_ERROR: the send cannot fail late */
	}
	gate_sock_queue(gs); /* more may wait */
}

/* tapir's datagrams, in to the program. */
static void udp_in(struct gsock *gs)
{
	struct gate *g = gs->g;
	const size_t cap = sizeof(g->buf) - sizeof(struct trun_dgram);
	for (int i = 0; i < UDP_BATCH; i++) {
		struct trun_dgram h = {0};
		struct tapir_ip src;
		uint16_t sport;
		long n = tapir_udp_recvfrom_addr(gs->u, g->buf + sizeof(h), cap, &src, &sport);
		if (n < 0)
			return;
		memcpy(h.addr, src.b, sizeof(h.addr));
		h.port = htons(sport);
		memcpy(g->buf, &h, sizeof(h));
		/* EAGAIN: the program's buffer is full; dropped as the kernel would */
		send(gs->gfd, g->buf, sizeof(h) + ((size_t)n < cap ? (size_t)n : cap),
		     MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	gate_sock_queue(gs);
}

void gudp_step(struct gsock *gs)
{
	int e = tapir_udp_error(gs->u);
	if (e)
		gs->err = e < 0 ? -e : e;
	udp_in(gs);
	udp_out(gs);
}

void gudp_free(struct gsock *gs)
{
	if (gs->gfd >= 0)
		epoll_ctl(gs->g->ep, EPOLL_CTL_DEL, gs->gfd, NULL);
	if (gs->u) {
		tapir_udp_set_event(gs->u, NULL, NULL);
		tapir_udp_free(gs->u);
		gs->u = NULL;
	}
	gate_sock_free(gs);
}
