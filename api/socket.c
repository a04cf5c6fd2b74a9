/* Berkeley sockets over the core's event-driven TCP and UDP objects.
 *
 * Every function takes the net's mutex, calls the core, and, when it has
 * to block, waits linked on the socket (poll.c).  The core's event
 * callback (sock_event, sock.c) only signals the waiters: it runs
 * inside a core call with the mutex held and must not call back into the
 * core.  A waiter always re-tests the core's state after waking, so a
 * spurious or unrelated event costs one more test, never a lost wake-up:
 * the test and the wait happen under the same mutex the event is raised
 * under.
 *
 * The table is in sock.c, waiting and poll in poll.c, the options in
 * sockopt.c.  The semantics are UNP's (Stevens, Fenner, Rudoff, 3rd ed.,
 * ch. 4-8); docs/sockets.md has the errno table. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_int.h"

/* ---- socket, bind, listen ---- */

int tapir_socket(struct tapir_net *net, int domain, int type, int protocol)
{
	int kind = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), fd;
	struct sock *s;
	if (!net)
		return api_fail(EINVAL);
	if (domain != AF_INET && domain != AF_INET6)
		return api_fail(EAFNOSUPPORT);
	if (kind != SOCK_STREAM && kind != SOCK_DGRAM)
		return api_fail(ESOCKTNOSUPPORT);
	if (protocol && protocol != (kind == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP))
		return api_fail(EPROTONOSUPPORT);
	pthread_mutex_lock(&net->rt->lock);
	fd = sock_alloc(net);
	s = fd >= 0 ? sock_new() : NULL;
	if (!s) {
		pthread_mutex_unlock(&net->rt->lock);
		/* EMFILE: the net's limit is the per-process one */
		return api_fail(fd < 0 ? -fd : ENOMEM);
	}
	if (kind == SOCK_STREAM) {
		s->tcp = tapir_tcp_new(net->stack);
		if (s->tcp)
			tapir_tcp_set_event(s->tcp, sock_event, s);
	} else {
		s->udp = tapir_udp_new(net->stack);
		if (s->udp)
			tapir_udp_set_event(s->udp, sock_event, s);
	}
	if (!s->tcp && !s->udp) {
		pthread_mutex_unlock(&net->rt->lock);
		free(s);
		return api_fail(ENOBUFS); /* the core's socket pool is exhausted */
	}
	s->type = kind;
	s->family = domain;
	s->nonblock = (type & SOCK_NONBLOCK) != 0;
	sock_install(net, fd, s);
	pthread_mutex_unlock(&net->rt->lock);
	return fd;
}

/* sock_enter, then SA in host order: NULL (errno set, mutex released) when
 * either fails. */
static struct sock *enter_addr(struct tapir_net *net, int fd, const struct sockaddr *sa,
			       socklen_t len, struct tapir_ip *addr, uint16_t *port)
{
	struct sock *s = sock_enter(net, fd);
	int r;
	if (s && (r = sock_addr_in(s, sa, len, addr, port)) < 0) {
		sock_leave_ret(s, r);
		return NULL;
	}
	return s;
}

int tapir_bind(struct tapir_net *net, int fd, const struct sockaddr *sa, socklen_t len)
{
	struct tapir_ip addr;
	uint16_t port;
	struct sock *s = enter_addr(net, fd, sa, len, &addr, &port);
	if (!s)
		return -1;
	return sock_leave_ret(s, s->tcp ? tapir_tcp_bind_addr(s->tcp, &addr, port)
				       : tapir_udp_bind_addr(s->udp, &addr, port));
}

int tapir_listen(struct tapir_net *net, int fd, int backlog)
{
	struct sock *s = sock_enter(net, fd);
	if (!s)
		return -1;
	if (!s->tcp)
		return sock_leave_ret(s, -EOPNOTSUPP);
	/* an unbound AF_INET6 socket listens on :: (both families unless
	 * IPV6_V6ONLY), as Linux; the core's own default is IPv4's any */
	if (s->family == AF_INET6 && tapir_tcp_state(s->tcp) == TAPIR_TCP_CLOSED) {
		struct tapir_ip any = {{0}}, a;
		uint16_t port;
		int r;
		tapir_tcp_local_addr(s->tcp, &a, &port);
		if (!port && (r = tapir_tcp_bind_addr(s->tcp, &any, 0)) < 0)
			return sock_leave_ret(s, r);
	}
	/* the core bounds SYN-RECEIVED plus the accept queue by BACKLOG,
	 * as UNP 4.5 describes; a full queue drops SYNs silently */
	return sock_leave_ret(s, tapir_tcp_listen(s->tcp, backlog));
}

/* ---- accept, connect ---- */

int tapir_accept4(struct tapir_net *net, int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	struct sock *s = sock_enter(net, fd), *c;
	struct sock_blocking b;
	struct tapir_tcp *t;
	int err, nfd = -1, r;
	struct tapir_ip addr;
	uint16_t port;

	if (!s)
		return -1;
	if (!s->tcp || tapir_tcp_state(s->tcp) != TAPIR_TCP_LISTEN)
		return sock_leave_ret(s, s->tcp ? -EINVAL : -EOPNOTSUPP);
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return sock_leave_ret(s, -EINVAL);
	/* Linux: SO_RCVTIMEO bounds accept */
	b = (struct sock_blocking){.nb = s->nonblock, .timeo = s->rcvtimeo};
	if (!(c = sock_new()))
		return sock_leave_ret(s, -ENOMEM);
	for (t = NULL;;) {
		/* a descriptor first, as Linux: at the limit (EMFILE) the
		 * connection stays in the accept queue for a later accept,
		 * and a full queue drops SYNs as a full backlog does */
		if ((r = nfd = sock_alloc(net)) < 0)
			break;
		if ((t = tapir_tcp_accept(s->tcp, &err)) != NULL || (r = err) != -EAGAIN)
			break;
		if ((r = sock_block(s, &b)) != 0)
			break;
	}
	if (!t) {
		free(c);
		return sock_leave_ret(s, r);
	}
	sock_install(net, nfd, c);
	c->type = SOCK_STREAM;
	c->family = s->family;
	c->tcp = t;
	c->nonblock = (flags & SOCK_NONBLOCK) != 0;
	/* the core copied its options to the child; these live here */
	c->rcvtimeo = s->rcvtimeo;
	c->sndtimeo = s->sndtimeo;
	c->linger_on = s->linger_on;
	c->linger_sec = s->linger_sec;
	c->keepalive = s->keepalive;
	c->rcvbuf = s->rcvbuf;
	c->sndbuf = s->sndbuf;
	tapir_tcp_set_event(t, sock_event, c);
	tapir_tcp_peer_addr(t, &addr, &port);
	sock_addr_out(c, sa, len, &addr, port);
	/* accepting can open the window of nothing, but a child may already
	 * hold data; nothing to send, so no wake-up is needed */
	sock_leave(s);
	return nfd;
}

int tapir_accept(struct tapir_net *net, int fd, struct sockaddr *sa, socklen_t *len)
{
	return tapir_accept4(net, fd, sa, len, 0);
}

static bool tcp_opening(const struct tapir_tcp *t)
{
	enum tapir_tcp_state st = tapir_tcp_state(t);
	return st == TAPIR_TCP_SYN_SENT || st == TAPIR_TCP_SYN_RECEIVED;
}

/* The TCP half of connect (S entered): 0 once connected, or -errno */
static int tcp_connect_wait(struct sock *s, const struct tapir_ip *addr, uint16_t port)
{
	struct tapir_net *net = s->net;
	int r = tapir_tcp_connect_addr(s->tcp, addr, port, net_now(net));
	net_wake(net);
	if (r == 1) /* RFC 7413 4.2: TCP_FASTOPEN_CONNECT with a cookie: the
		     * SYN goes with the first data, as Linux's connect */
		return 0;
	if (r == -EISCONN && tapir_tcp_state(s->tcp) == TAPIR_TCP_CLOSED) {
		/* a connect that already failed: report its error once */
		int e = tapir_tcp_error(s->tcp);
		if (e)
			r = -e;
	}
	if (r < 0)
		return r;
	/* UNP 16.3: a non-blocking connect returns EINPROGRESS; completion
	 * shows as POLLOUT, and SO_ERROR tells how it ended */
	if (s->nonblock)
		return -EINPROGRESS;
	/* Linux bounds a blocking connect by SO_SNDTIMEO (then EINPROGRESS;
	 * the handshake goes on in the background) */
	struct sock_blocking b = {.timeo = s->sndtimeo};
	while (tcp_opening(s->tcp)) {
		if ((r = sock_block(s, &b)) != 0)
			return r == -EAGAIN ? -EINPROGRESS : r;
	}
	if (tapir_tcp_state(s->tcp) == TAPIR_TCP_CLOSED) {
		/* RST: ECONNREFUSED; SYN retries exhausted: ETIMEDOUT; ICMP or
		 * ARP failure: EHOSTUNREACH/ENETUNREACH (UNP 4.3) */
		int e = tapir_tcp_error(s->tcp);
		return -(e ? e : ECONNREFUSED);
	}
	return 0;
}

int tapir_connect(struct tapir_net *net, int fd, const struct sockaddr *sa, socklen_t len)
{
	struct tapir_ip addr;
	uint16_t port;
	struct sock *s = enter_addr(net, fd, sa, len, &addr, &port);
	int r;

	if (!s)
		return -1;
	if (s->udp) {
		/* UNP 8.11: connect on UDP only records the peer; it makes the
		 * socket eligible for asynchronous errors (ICMP) */
		r = tapir_udp_connect_addr(s->udp, &addr, port);
		if (r == 0) {
			s->udp_connected = true;
			s->udp_raddr = addr;
			s->udp_rport = port;
		}
		return sock_leave_ret(s, r);
	}
	return sock_leave_ret(s, tcp_connect_wait(s, &addr, port));
}

/* ---- sending ---- */

#define SEND_FLAGS (MSG_DONTWAIT | MSG_NOSIGNAL)
#define RECV_FLAGS (MSG_DONTWAIT | MSG_WAITALL | MSG_TRUNC | MSG_NOSIGNAL)

/* The error a failed TCP call reports: a connection ended by an error
 * reports it once (it is SO_ERROR, UNP 7.5); afterwards a writer sees EPIPE
 * (UNP 5.13, without the SIGPIPE) and a reader end-of-file. */
static long tcp_hard_error(struct tapir_tcp *t, long r, bool writing)
{
	int e;
	struct tapir_ip raddr;
	uint16_t rport;
	if (r == -ENOTCONN && writing) {
		/* ENOTCONN only for a socket never connected; one whose
		 * connection ended cleanly is a broken pipe (as Linux) */
		tapir_tcp_peer_addr(t, &raddr, &rport);
		return rport ? -EPIPE : r;
	}
	if (r == -EAGAIN || r == -ENOTCONN || tapir_tcp_state(t) != TAPIR_TCP_CLOSED)
		return r;
	e = tapir_tcp_error(t);
	if (e)
		return -e;
	return writing ? -EPIPE : 0;
}

static ssize_t tcp_send(struct sock *s, const uint8_t *buf, size_t len, int flags)
{
	struct tapir_net *net = s->net;
	struct sock_blocking b = {.nb = s->nonblock || (flags & MSG_DONTWAIT),
				  .timeo = s->sndtimeo};
	size_t done = 0;
	long r;
	int w;

	for (;;) {
		if (!s->tcp)
			return done ? (ssize_t)done : -EBADF;
		r = tapir_tcp_send(s->tcp, buf + done, len - done, net_now(net));
		net_wake(net);
		if (r > 0)
			done += (size_t)r;
		if (done == len)
			return (ssize_t)done;
		if (r < 0 && r != -EAGAIN) {
			r = tcp_hard_error(s->tcp, r, true);
			return done ? (ssize_t)done : r;
		}
		/* POSIX: a blocking send takes everything; a non-blocking one
		 * what fits (UNP 16.2) */
		if (r >= 0 && !b.nb)
			continue; /* some went: the rest may fit at once */
		if ((w = sock_block(s, &b)) != 0)
			return done ? (ssize_t)done : w;
	}
}

/* TO (NULL: the connected peer) must name a host. */
static ssize_t udp_send(struct sock *s, const void *buf, size_t len, const struct sockaddr *to,
			socklen_t tolen)
{
	struct tapir_ip addr;
	uint16_t port = 0;
	long r;
	if (to && (r = sock_addr_in(s, to, tolen, &addr, &port)) < 0)
		return r;
	if (to && tapir_ip_is_any(&addr))
		return -EINVAL;
	if (s->shut_wr)
		return -EPIPE;
	/* UDP never blocks here: the core sends at once or fails (ENOBUFS) */
	r = tapir_udp_sendto_addr(s->udp, buf, len, to ? &addr : NULL, port, net_now(s->net));
	net_wake(s->net);
	return r;
}

/* The checks every send and receive makes first: FLAGS within ALLOWED,
 * a buffer where LEN asks for one. */
static int xfer_check(const void *buf, size_t len, int flags, int allowed)
{
	if (flags & ~allowed)
		return -EOPNOTSUPP;
	if (!buf && len)
		return -EFAULT;
	return 0;
}

/* MSG_FASTOPEN (Linux's, RFC 7413 4.2): an unconnected TCP socket
 * connects to TO and sends, the data on the SYN when a cookie is cached;
 * without one, a non-blocking call gets EINPROGRESS (the SYN asked for a
 * cookie) and a blocking one sends once connected */
static ssize_t tcp_sendto_fastopen(struct sock *s, const void *buf, size_t len, int flags,
				   const struct sockaddr *to, socklen_t tolen)
{
	struct tapir_ip addr;
	uint16_t port = 0;
	int r;
	if (tapir_tcp_state(s->tcp) != TAPIR_TCP_CLOSED)
		return -EISCONN;
	if (!to)
		return -EDESTADDRREQ;
	if ((r = sock_addr_in(s, to, tolen, &addr, &port)) < 0 ||
	    (r = tapir_tcp_setopt(s->tcp, TAPIR_TCP_FASTOPEN_CONNECT, 1)) < 0 ||
	    (r = tcp_connect_wait(s, &addr, port)) < 0)
		return r;
	/* non-blocking with a cookie: only what the SYN carries (Linux's) */
	if ((s->nonblock || (flags & MSG_DONTWAIT)) && tapir_tcp_syn_room(s->tcp) &&
	    len > tapir_tcp_syn_room(s->tcp))
		len = tapir_tcp_syn_room(s->tcp);
	return tcp_send(s, buf, len, flags & ~MSG_FASTOPEN);
}

ssize_t tapir_sendto(struct tapir_net *net, int fd, const void *buf, size_t len, int flags,
		     const struct sockaddr *to, socklen_t tolen)
{
	struct sock *s = sock_enter(net, fd);
	ssize_t r;
	if (!s)
		return -1;
	r = xfer_check(buf, len, flags, SEND_FLAGS | (s->tcp ? MSG_FASTOPEN : 0));
	if (r == 0 && (flags & MSG_FASTOPEN))
		r = tcp_sendto_fastopen(s, buf, len, flags, to, tolen);
	else if (r == 0)
		/* TCP ignores a destination (as Linux does) */
		r = s->tcp ? tcp_send(s, buf, len, flags) : udp_send(s, buf, len, to, tolen);
	return sock_leave_len(s, r);
}

ssize_t tapir_send(struct tapir_net *net, int fd, const void *buf, size_t len, int flags)
{
	return tapir_sendto(net, fd, buf, len, flags, NULL, 0);
}

ssize_t tapir_write(struct tapir_net *net, int fd, const void *buf, size_t len)
{
	return tapir_sendto(net, fd, buf, len, 0, NULL, 0);
}

/* ---- receiving ---- */

static ssize_t tcp_recv(struct sock *s, uint8_t *buf, size_t len, int flags)
{
	struct tapir_net *net = s->net;
	struct sock_blocking b = {.nb = s->nonblock || (flags & MSG_DONTWAIT),
				  .timeo = s->rcvtimeo};
	size_t done = 0;
	long r;

	for (;;) {
		if (!s->tcp)
			return done ? (ssize_t)done : -EBADF;
		r = tapir_tcp_recv(s->tcp, buf + done, len - done, net_now(net));
		if (r > 0) {
			/* reading may have opened the window: a window update
			 * may be on its way out */
			net_wake(net);
			done += (size_t)r;
			/* MSG_WAITALL: keep going until LEN (UNP 14.7) */
			if (done == len || !(flags & MSG_WAITALL))
				return (ssize_t)done;
			continue;
		}
		/* from here on a MSG_WAITALL that has some bytes returns them
		 * (end of stream, error, timeout: a short count, UNP 14.7) */
		if (r == 0)
			return (ssize_t)done;
		if (r != -EAGAIN)
			return done ? (ssize_t)done : tcp_hard_error(s->tcp, r, false);
		int w = sock_block(s, &b);
		if (w)
			return done ? (ssize_t)done : w;
	}
}

static ssize_t udp_recv(struct sock *s, void *buf, size_t len, int flags, struct tapir_ip *src,
			uint16_t *sport)
{
	struct sock_blocking b = {.nb = s->nonblock || (flags & MSG_DONTWAIT),
				  .timeo = s->rcvtimeo};
	long r;

	for (;;) {
		int e;
		if (!s->udp)
			return -EBADF;
		/* an asynchronous error (ICMP, connected sockets only) is
		 * reported by the next call (UNP 8.9) */
		if ((e = tapir_udp_error(s->udp)) != 0)
			return -e;
		if (s->shut_rd)
			return 0;
		r = tapir_udp_recvfrom_addr(s->udp, buf, len, src, sport);
		if (r >= 0)
			/* a longer datagram is truncated (UNP 8.7); MSG_TRUNC asks
			 * for its real length, as Linux gives */
			return (flags & MSG_TRUNC) || (size_t)r <= len ? r : (ssize_t)len;
		int w = sock_block(s, &b);
		if (w)
			return w;
	}
}

ssize_t tapir_recvfrom(struct tapir_net *net, int fd, void *buf, size_t len, int flags,
		       struct sockaddr *from, socklen_t *fromlen)
{
	struct sock *s = sock_enter(net, fd);
	struct tapir_ip addr = {{0}};
	uint16_t port = 0;
	ssize_t r;
	if (!s)
		return -1;
	r = xfer_check(buf, len, flags, RECV_FLAGS);
	if (r == 0 && s->tcp) {
		r = tcp_recv(s, buf, len, flags);
		if (r >= 0 && from && s->tcp)
			tapir_tcp_peer_addr(s->tcp, &addr, &port);
	} else if (r == 0) {
		r = udp_recv(s, buf, len, flags, &addr, &port);
	}
	if (r >= 0 && from)
		sock_addr_out(s, from, fromlen, &addr, port);
	return sock_leave_len(s, r);
}

ssize_t tapir_recv(struct tapir_net *net, int fd, void *buf, size_t len, int flags)
{
	return tapir_recvfrom(net, fd, buf, len, flags, NULL, NULL);
}

ssize_t tapir_read(struct tapir_net *net, int fd, void *buf, size_t len)
{
	return tapir_recvfrom(net, fd, buf, len, 0, NULL, NULL);
}

/* ---- shutdown, close ---- */

int tapir_shutdown(struct tapir_net *net, int fd, int how)
{
	struct sock *s = sock_enter(net, fd);
	int r = 0;
	if (!s)
		return -1;
	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		return sock_leave_ret(s, -EINVAL);
	if (s->tcp) {
		/* SHUT_WR sends FIN after the queued data: the half-close of
		 * UNP 6.6; the peer reads end-of-file and may still send */
		r = tapir_tcp_shutdown(s->tcp, how, net_now(net));
		net_wake(net);
	} else if (!s->udp_connected) {
		r = -ENOTCONN;
	} else {
		s->shut_rd |= how != SHUT_WR;
		s->shut_wr |= how != SHUT_RD;
	}
	/* a writer blocked on a full buffer must now see EPIPE */
	sock_wake(s);
	return sock_leave_ret(s, r);
}

/* States in which our FIN is sent or queued but not yet acknowledged. */
static bool fin_unacked(const struct tapir_tcp *t)
{
	enum tapir_tcp_state st = tapir_tcp_state(t);
	return st == TAPIR_TCP_FIN_WAIT_1 || st == TAPIR_TCP_CLOSING || st == TAPIR_TCP_LAST_ACK;
}

/* SO_LINGER {1, N > 0} on a blocking socket (UNP 7.5): send FIN, wait
 * until the data and FIN are acknowledged or N seconds pass.  Returns 0, or
 * -EWOULDBLOCK when the time ran out (the connection is then reset and
 * the unsent data discarded, as UNP describes for BSD). */
static int tcp_linger(struct sock *s)
{
	struct tapir_net *net = s->net;
	struct timespec ts;
	enum tapir_tcp_state st = tapir_tcp_state(s->tcp);

	if (st != TAPIR_TCP_ESTABLISHED && st != TAPIR_TCP_CLOSE_WAIT && !fin_unacked(s->tcp))
		return 0;
	/* unread data makes close reset the connection anyway (RFC 1122
	 * 4.2.2.13): nothing to wait for */
	if (tapir_tcp_readable(s->tcp))
		return 0;
	tapir_tcp_shutdown(s->tcp, TAPIR_SHUT_WR, net_now(net));
	net_wake(net);
	sock_deadline_after(&ts, TAPIR_SEC(s->linger_sec));
	while (fin_unacked(s->tcp)) {
		int r = sock_wait_cond(s, &ts);
		if (r == ETIMEDOUT && fin_unacked(s->tcp))
			return -EWOULDBLOCK;
	}
	return 0;
}

int tapir_close(struct tapir_net *net, int fd)
{
	struct sock *s = sock_enter(net, fd);
	int r = 0;
	if (!s)
		return -1;
	/* from now on no call can find FD; calls already inside wake up and
	 * return EBADF; the descriptor is reused once the last of them leaves */
	s->closing = true;
	if (s->tcp) {
		struct tapir_tcp *t;
		if (s->linger_on && s->linger_sec > 0 && !s->nonblock)
			r = tcp_linger(s);
		/* the core frees T (now, or after FIN/TIME_WAIT): forget it
		 * before handing it over, and never touch it again */
		t = s->tcp;
		s->tcp = NULL;
		if (r < 0)
			tapir_tcp_abort(t, net_now(net));
		else
			tapir_tcp_close(t, net_now(net)); /* linger 0: RST, else FIN */
		net_wake(net);
	} else if (s->udp) {
		struct tapir_udp *u = s->udp;
		s->udp = NULL;
		tapir_udp_free(u);
	}
	sock_wake(s);
	return sock_leave_ret(s, r);
}

/* ---- names ---- */

int tapir_getsockname(struct tapir_net *net, int fd, struct sockaddr *sa, socklen_t *len)
{
	struct sock *s = sock_enter(net, fd);
	struct tapir_ip addr;
	uint16_t port;
	if (!s)
		return -1;
	if (!sa || !len)
		return sock_leave_ret(s, -EFAULT);
	if (s->tcp)
		tapir_tcp_local_addr(s->tcp, &addr, &port);
	else
		tapir_udp_local_addr(s->udp, &addr, &port);
	sock_addr_out(s, sa, len, &addr, port);
	return sock_leave_ret(s, 0);
}

int tapir_getpeername(struct tapir_net *net, int fd, struct sockaddr *sa, socklen_t *len)
{
	struct sock *s = sock_enter(net, fd);
	struct tapir_ip addr = {{0}};
	uint16_t port = 0;
	if (!s)
		return -1;
	if (!sa || !len)
		return sock_leave_ret(s, -EFAULT);
	if (s->tcp) {
		enum tapir_tcp_state st = tapir_tcp_state(s->tcp);
		if (st == TAPIR_TCP_CLOSED || st == TAPIR_TCP_LISTEN || st == TAPIR_TCP_SYN_SENT)
			return sock_leave_ret(s, -ENOTCONN);
		tapir_tcp_peer_addr(s->tcp, &addr, &port);
	} else {
		if (!s->udp_connected)
			return sock_leave_ret(s, -ENOTCONN);
		addr = s->udp_raddr;
		port = s->udp_rport;
	}
	sock_addr_out(s, sa, len, &addr, port);
	return sock_leave_ret(s, 0);
}
