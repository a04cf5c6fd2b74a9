/* --mode connect, unprivileged: non-blocking connect()s in flight, watched
 * with epoll; closed with SO_LINGER {1,0} so the kernel ends an open
 * connection with a RST (RFC 9293 3.10.7.x ABORT) instead of a FIN
 * handshake and TIME-WAIT.  TCP_QUICKACK is switched off before connect():
 * Linux then delays the handshake's final ACK (see docs/check-and-ping.md),
 * and the RST goes out first — 3 packets for an open port, 2 (SYN, RST)
 * for a closed one.
 *
 * --udp goes the same way with connected UDP sockets: the probe is the
 * port's protocol request (udp_payload.c), a datagram back is `open`, and
 * with IP_RECVERR the kernel reports the ICMP errors for the socket's
 * 4-tuple as socket errors: port unreachable (ECONNREFUSED) is `closed`,
 * the other unreachables `filtered`; silence stays pending, printed as
 * `open|filtered` (nothing tells an open port that ignored the datagram
 * from a filter that dropped it). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/errqueue.h>

#include "engine.h"
#include "util.h"

/* A connect() in flight; live ones form a list in send order, and as every
 * probe gets the same timeout that order is also deadline order. */
struct conn {
	int fd;
	uint32_t idx;
	uint64_t sent_ns;
	int prev, next;
};

struct connect_engine {
	struct check *c;
	struct conn *conns;
	int nconns, free_head, live_head, live_tail, live;
};

static void conn_unlink(struct connect_engine *x, int s)
{
	struct conn *k = &x->conns[s];
	if (k->prev >= 0)
		x->conns[k->prev].next = k->next;
	else
		x->live_head = k->next;
	if (k->next >= 0)
		x->conns[k->next].prev = k->prev;
	else
		x->live_tail = k->prev;
	/* SO_LINGER {1,0}: close() sends a RST and frees the port at once */
	close(k->fd);
	k->fd = -1;
	k->next = x->free_head;
	x->free_head = s;
	x->live--;
}

static int connect_open(struct check *c, void **state, char *err, size_t errlen)
{
	long nofile = nu_raise_nofile();
	struct connect_engine *x = check_calloc(1, sizeof(*x));
	int i;
	(void)err; /* it cannot fail but by dying */
	(void)errlen;
	x->c = c;
	x->nconns = (int)(nofile - 64 < 16384 ? nofile - 64 : 16384);
	if (x->nconns < 16)
		die("check: too few file descriptors (RLIMIT_NOFILE %ld)", nofile);
	x->conns = check_calloc((size_t)x->nconns, sizeof(*x->conns));
	for (i = 0; i < x->nconns; i++) {
		x->conns[i].fd = -1;
		x->conns[i].next = i + 1 < x->nconns ? i + 1 : -1;
	}
	x->free_head = 0;
	x->live_head = x->live_tail = -1;
	*state = x;
	return 0;
}

/* 1 when this host has a source address towards A: a connected UDP socket
 * asks the routing table and sends nothing. */
static bool has_source(const struct nu_addr *a)
{
	struct sockaddr_storage sa;
	socklen_t len = nu_addr_sockaddr(a, 9, &sa);
	int fd = socket(a->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, len) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* A connect() that failed at once: 0 when that is the probe's answer,
 * -1 to try again a little later. */
static int connect_failed(struct connect_engine *x, const struct check_target *t, int e,
			  uint64_t t0)
{
	struct check *c = x->c;
	switch (e) {
	case EADDRNOTAVAIL:
		/* no local port free right now, or no source address at all
		 * (IPv6 off, or no IPv6 address here): that one never passes */
		if (has_source(&t->addr))
			return -1;
		c->pr[t->idx].tries++;
		check_resolve_why(c, t->idx, ST_FILTERED, 0, WHY_NO_ROUTE);
		return 0;
	case EAGAIN:
	case ENOBUFS:
	case ENOMEM:
		return -1;
	case ECONNREFUSED:
		c->pr[t->idx].tries++;
		c->sent++;
		check_resolve_why(c, t->idx, ST_CLOSED, (nu_now_ns() - t0) / 1000,
				  c->udp ? WHY_PORT_UNREACH : WHY_NONE);
		return 0;
	case ENETUNREACH:
	case EHOSTUNREACH:
	case EACCES:
	case EPERM:
	case EAFNOSUPPORT: /* no IPv6 in this namespace */
		c->pr[t->idx].tries++;
		check_resolve_why(c, t->idx, ST_FILTERED, 0, check_why_errno(e));
		return 0;
	default:
		die("check: connect: %s", strerror(e));
	}
}

/* Slot S now holds FD, the probe for T sent at NOW, watched for EVENTS. */
static void conn_add(struct connect_engine *x, const struct check_target *t, int fd, uint64_t now,
		     uint32_t events)
{
	struct check *c = x->c;
	struct epoll_event ev = {.events = events};
	int s = x->free_head;
	c->pr[t->idx].tries++;
	c->sent++;
	x->free_head = x->conns[s].next;
	x->conns[s] = (struct conn){.fd = fd, .idx = (uint32_t)t->idx, .sent_ns = now,
				    .prev = x->live_tail, .next = -1};
	if (x->live_tail >= 0)
		x->conns[x->live_tail].next = s;
	else
		x->live_head = s;
	x->live_tail = s;
	x->live++;
	ev.data.u64 = (uint64_t)s;
	if (epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev))
		die("check: epoll_ctl: %s", strerror(errno));
}

/* --udp: the port's request from a connected UDP socket. */
static int udp_send(struct connect_engine *x, const struct check_target *t,
		    const struct sockaddr_storage *sa, socklen_t salen)
{
	const uint8_t *data;
	size_t len = check_udp_payload(t->port, &data);
	int one = 1, fd = socket(t->addr.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	uint64_t now;
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			return -1;
		die("check: socket: %s%s", strerror(errno),
		    errno == EAFNOSUPPORT ? " (an IPv6 target, and no IPv6 here)" : "");
	}
	/* every ICMP error for this 4-tuple becomes the socket's error */
	if (t->addr.family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
	else
		setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
	now = nu_now_ns();
	if (connect(fd, (const struct sockaddr *)sa, salen) < 0 ||
	    send(fd, len ? (const void *)data : "", len, 0) < 0) {
		int e = errno;
		close(fd);
		return connect_failed(x, t, e, now);
	}
	conn_add(x, t, fd, now, EPOLLIN | EPOLLERR);
	return 0;
}

static int connect_send(void *state, const struct check_target *t)
{
	struct connect_engine *x = state;
	struct check *c = x->c;
	struct sockaddr_storage sa;
	socklen_t salen = nu_addr_sockaddr(&t->addr, t->port, &sa);
	struct linger lg = {1, 0};
	int zero = 0, one = 1, fd;
	uint64_t now;
	if (x->free_head < 0)
		return -1;
	if (c->udp)
		return udp_send(x, t, &sa, salen);
	fd = socket(t->addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			return -1;
		die("check: socket: %s%s", strerror(errno),
		    errno == EAFNOSUPPORT ? " (an IPv6 target, and no IPv6 here)" : "");
	}
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	/* Linux: quick-ack off puts the socket in "pingpong" (interactive)
	 * mode, and tcp_rcv_synsent_state_process() then delays the ACK of the
	 * SYN/ACK, expecting data to carry it; we close first, so it never goes. */
	setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof(zero));
	/* one kernel retransmission at most: our rounds do the retrying (the
	 * first comes after the initial RTO, 1 s: RFC 6298 2.1; a shorter
	 * --timeout closes the socket before, and saves the system call) */
	if (c->timeout_ms >= 1000)
		setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &one, sizeof(one));
	now = nu_now_ns();
	if (connect(fd, (struct sockaddr *)&sa, salen) < 0 && errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		return connect_failed(x, t, e, now);
	}
	conn_add(x, t, fd, now, EPOLLOUT | EPOLLERR | EPOLLHUP);
	return 0;
}

/* --udp: why the socket FD failed with E: the ICMP type and code from the
 * error queue (IP_RECVERR), else what the error number says. */
static uint8_t udp_why(int fd, int e)
{
	char cbuf[256];
	struct msghdr m = {.msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	if (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
		return check_why_errno(e);
	for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
		struct sock_extended_err ee;
		if (!((cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_RECVERR) ||
		      (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_RECVERR)))
			continue;
		memcpy(&ee, CMSG_DATA(cm), sizeof(ee));
		if (ee.ee_origin == SO_EE_ORIGIN_ICMP && ee.ee_type == 3)
			return check_why_icmp(AF_INET, ee.ee_code);
		if (ee.ee_origin == SO_EE_ORIGIN_ICMP6 && ee.ee_type == 1)
			return check_why_icmp(AF_INET6, ee.ee_code);
	}
	return check_why_errno(e);
}

/* The connect() in slot TOKEN finished (or failed). */
static void connect_collect(void *state, uint64_t token, uint64_t now)
{
	struct connect_engine *x = state;
	int s = (int)token;
	struct conn *k = &x->conns[s];
	int err = 0, st;
	socklen_t len = sizeof(err);
	if (k->fd < 0)
		return;
	getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	/* UDP: no error and a datagram to read is the service's answer */
	if (x->c->udp && !err && recv(k->fd, &len, 0, MSG_DONTWAIT | MSG_TRUNC) < 0)
		return;
	switch (err) {
	case 0: st = ST_OPEN; break;
	case ECONNREFUSED: st = ST_CLOSED; break; /* a RST (or ICMP port unreachable) */
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EACCES:
	case EPERM:
	case EHOSTDOWN:
	case ENONET:
	case EPROTO:
		st = ST_FILTERED;
		break;
	case ETIMEDOUT:
		conn_unlink(x, s); /* no answer: the round decides */
		return;
	default:
		st = ST_FILTERED;
		break;
	}
	if (x->c->pr[k->idx].state == ST_PENDING)
		check_rtt_sample(x->c, (now - k->sent_ns) / 1000);
	check_resolve_why(x->c, k->idx, st, (now - k->sent_ns) / 1000,
			  !err ? WHY_NONE : x->c->udp ? udp_why(k->fd, err)
			  : err == ECONNREFUSED ? WHY_NONE : check_why_errno(err));
	conn_unlink(x, s);
}

/* Closes the connect()s whose wait is over, and brings the deadline
 * forward to the next one's end. */
static void connect_timers(void *state, uint64_t now, uint64_t *deadline, uint64_t *wake)
{
	struct connect_engine *x = state;
	uint64_t t = check_wait_ns(x->c);
	(void)wake;
	while (x->live_head >= 0 && now - x->conns[x->live_head].sent_ns >= t) {
		int s = x->live_head;
		struct pollfd pfd = {.fd = x->conns[s].fd, .events = x->c->udp ? POLLIN : POLLOUT};
		/* the answer may be in and its event not read yet (we were busy
		 * sending): ask the socket itself before calling it silent */
		if (poll(&pfd, 1, 0) > 0 && pfd.revents)
			connect_collect(x, (uint64_t)s, now);
		else
			conn_unlink(x, s);
	}
	if (x->live_head >= 0) {
		uint64_t exp = x->conns[x->live_head].sent_ns + check_wait_ns(x->c);
		if (exp < *deadline)
			*deadline = exp;
	}
}

static bool connect_busy(void *state)
{
	return ((struct connect_engine *)state)->live_head >= 0;
}

static void connect_close(void *state)
{
	struct connect_engine *x = state;
	while (x->live_head >= 0)
		conn_unlink(x, x->live_head);
	free(x->conns);
	free(x);
}

const struct check_engine check_engine_connect = {
	.name = "connect", .flags = CHECK_DRAIN_FIRST, .open = connect_open, .send = connect_send,
	.collect = connect_collect, .timers = connect_timers, .busy = connect_busy,
	.close = connect_close,
};
