/* Berkeley sockets over the core's event-driven TCP and UDP objects.
 *
 * Every function takes the net's mutex, calls the core, and, when it has
 * to block, waits on the socket's condition variable.  The core's event
 * callback (sock_event) only broadcasts that variable: it runs inside a
 * core call with the mutex held and must not call back into the core.  A
 * waiter always re-tests the core's state after waking, so a spurious or
 * unrelated event costs one more test, never a lost wake-up: the test and
 * the wait happen under the same mutex the event is raised under.
 *
 * The semantics are UNP's (Stevens, Fenner, Rudoff, 3rd ed., ch. 4-8);
 * docs/sockets.md has the errno table. */
#define _GNU_SOURCE /* ppoll */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <tapir/hook.h>

#include "api_int.h"

/* ---- the socket table ---- */

void socks_init(struct tapir_net *net)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	/* every slot's condition variable lives as long as the net, so a
	 * thread waking on a slot being closed never sees a destroyed one */
	for (int i = 0; i < TAPIR_NET_MAX_SOCKETS; i++) {
		net->socks[i].net = net;
		net->socks[i].cond = &net->conds[i];
		pthread_cond_init(&net->conds[i], &ca);
	}
	pthread_condattr_destroy(&ca);
}

void socks_fini(struct tapir_net *net)
{
	/* the stack is freed next and takes every core object with it */
	for (int i = 0; i < TAPIR_NET_MAX_SOCKETS; i++)
		pthread_cond_destroy(&net->conds[i]);
}

/* Wakes every thread waiting for S (mutex held). */
static void sock_signal(struct sock *s)
{
	pthread_cond_broadcast(s->cond);
	if (s->waiter_efd1) {
		uint64_t one = 1;
		if (write(s->waiter_efd1 - 1, &one, sizeof(one)) < 0) {
			/* EAGAIN: the counter is full, it wakes anyway */
		}
	}
}

static void sock_event(void *arg, unsigned events)
{
	struct sock *s = arg;
	struct net_runner *rt = s->net->rt;
	(void)events; /* waiters read the core's state itself */
	if (rt->defer) {
		/* in the stack thread: a waiter woken now would only block on
		 * the mutex this thread holds; signal it once it is free */
		size_t i = (size_t)(s - s->net->socks);
		s->net->wake_bits[i / 64] |= 1ull << (i % 64);
		rt->wake_pollers |= rt->pollers != 0;
		return;
	}
	sock_signal(s);
	if (rt->pollers)
		pthread_cond_broadcast(&rt->poll_cond);
}

static int fail(int err)
{
	errno = err;
	return -1;
}

/* Finds FD and pins it (mutex held): the slot is not reused until put. */
static struct sock *sock_get(struct tapir_net *net, int fd)
{
	struct sock *s;
	if (fd < 0 || fd >= TAPIR_NET_MAX_SOCKETS)
		return NULL;
	s = &net->socks[fd];
	if (!s->used || s->closing)
		return NULL;
	s->refs++;
	return s;
}

static void sock_release(struct sock *s)
{
	pthread_cond_t *cond = s->cond;
	struct tapir_net *net = s->net;
	memset(s, 0, sizeof(*s));
	s->cond = cond;
	s->net = net;
}

static void sock_put(struct sock *s)
{
	if (--s->refs == 0 && s->closing)
		sock_release(s);
}

/* Takes the mutex and pins FD; NULL (errno EBADF, mutex released) if FD is
 * not an open socket of NET. */
static struct sock *enter(struct tapir_net *net, int fd)
{
	struct sock *s;
	if (!net) {
		errno = EINVAL;
		return NULL;
	}
	pthread_mutex_lock(&net->rt->lock);
	s = sock_get(net, fd);
	if (!s) {
		pthread_mutex_unlock(&net->rt->lock);
		errno = EBADF;
	}
	return s;
}

static void leave(struct sock *s)
{
	struct tapir_net *net = s->net;
	sock_put(s);
	pthread_mutex_unlock(&net->rt->lock);
}

/* Returns R (>= 0) after leaving, or -1 with errno -R / ERR. */
static int leave_ret(struct sock *s, int r)
{
	leave(s);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

static int sock_alloc(struct tapir_net *net)
{
	/* POSIX: the lowest descriptor not in use */
	for (int i = 0; i < TAPIR_NET_MAX_SOCKETS; i++)
		if (!net->socks[i].used)
			return i;
	return -1;
}

/* ---- waiting ---- */

static void deadline_after(struct timespec *ts, tapir_time_t us)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(us / 1000000u);
	ts->tv_nsec += (long)(us % 1000000u) * 1000;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Waits for the next event on S (mutex held).  0; ETIMEDOUT once DEADLINE
 * (NULL: none) has passed; EBADF when the socket was closed meanwhile. */
/* This thread's eventfd, for waiting in ppoll (made at its first wait,
 * closed when the thread ends); -1 if none can be made. */
static pthread_key_t efd_key;
static pthread_once_t efd_once = PTHREAD_ONCE_INIT;
static __thread int my_efd = -1;

static void efd_close(void *v) { close((int)(intptr_t)v - 1); }
static void efd_key_make(void) { pthread_key_create(&efd_key, efd_close); }

static int thread_efd(void)
{
	if (my_efd < 0) {
		pthread_once(&efd_once, efd_key_make);
		my_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (my_efd >= 0)
			pthread_setspecific(efd_key, (void *)(intptr_t)(my_efd + 1));
	}
	return my_efd;
}

/* Waits on the driver's fd itself (mutex held): when a frame comes, this
 * thread hands it to the core at once -- as the stack thread would, but
 * without the second wake-up (the stack thread's, then this one's) that
 * a message would otherwise cost; the stack thread, which also watches
 * the fd, finds it done.  An event posted by another thread (the stack
 * thread's, a close) writes the eventfd.  One such waiter per socket. */
static int sock_wait_fd(struct sock *s, int efd, const struct timespec *deadline)
{
	struct net_runner *rt = s->net->rt;
	struct pollfd pfd[2] = {{.fd = rt->drv.fd, .events = POLLIN}, {.fd = efd, .events = POLLIN}};
	struct timespec ts, *tsp = NULL;
	uint64_t v;
	int r;
	if (deadline) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		ts.tv_sec = deadline->tv_sec - now.tv_sec;
		ts.tv_nsec = deadline->tv_nsec - now.tv_nsec;
		if (ts.tv_nsec < 0) {
			ts.tv_sec--;
			ts.tv_nsec += 1000000000L;
		}
		if (ts.tv_sec < 0)
			return ETIMEDOUT;
		tsp = &ts;
	}
	s->waiter_efd1 = efd + 1;
	rt->fd_waiter = true;
	pthread_mutex_unlock(&rt->lock);
	r = ppoll(pfd, 2, tsp, NULL);
	if (read(efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: woken by the driver's fd or the deadline */
	}
	pthread_mutex_lock(&rt->lock);
	s->waiter_efd1 = 0;
	rt->fd_waiter = false;
	if (s->closing)
		return EBADF;
	if (r > 0 && (pfd[0].revents & POLLIN))
		net_rx_drain(s->net);
	return r == 0 ? ETIMEDOUT : 0;
}

#define FD_WAIT_US 1000 /* a wait this short is a request/response exchange */

/* Waits for the next event on S (mutex held).  0; ETIMEDOUT once DEADLINE
 * (NULL: none) has passed; EBADF when the socket was closed meanwhile.
 * A connection whose last wait was short -- one side of a conversation --
 * waits on the driver's fd itself (sock_wait_fd), one thread at a time;
 * any other wait (a listener, an idle connection) on its condition
 * variable, so that idle threads never wake for every frame. */
static int sock_wait(struct sock *s, const struct timespec *deadline)
{
	struct net_runner *rt = s->net->rt;
	tapir_time_t t0 = net_mono_us();
	int r = 0, efd;
	if (s->quick && !rt->fd_waiter && !rt->ml && rt->drv.fd >= 0 && !s->waiter_efd1 &&
	    s->net->ifindex >= 0 && (efd = thread_efd()) >= 0) {
		r = sock_wait_fd(s, efd, deadline);
	} else {
		if (deadline)
			r = pthread_cond_timedwait(s->cond, &rt->lock, deadline);
		else
			pthread_cond_wait(s->cond, &rt->lock);
		r = s->closing ? EBADF : r == ETIMEDOUT ? ETIMEDOUT : 0;
	}
	s->quick = s->tcp && net_mono_us() - t0 < FD_WAIT_US;
	return r;
}

static const struct timespec *timeo_deadline(struct timespec *ts, tapir_time_t us)
{
	if (!us)
		return NULL;
	deadline_after(ts, us);
	return ts;
}

/* ---- addresses ---- */

static int addr_in(const struct sockaddr *sa, socklen_t len, uint32_t *addr, uint16_t *port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	if (!sa || len < (socklen_t)sizeof(*sin))
		return -EINVAL;
	if (sin->sin_family != AF_INET)
		return -EAFNOSUPPORT;
	*addr = ntohl(sin->sin_addr.s_addr);
	*port = ntohs(sin->sin_port);
	return 0;
}

/* POSIX: fills at most *LEN bytes and sets *LEN to the full size. */
static void addr_out(struct sockaddr *sa, socklen_t *len, uint32_t addr, uint16_t port)
{
	struct sockaddr_in sin;
	if (!sa || !len)
		return;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(addr);
	sin.sin_port = htons(port);
	memcpy(sa, &sin, *len < (socklen_t)sizeof(sin) ? *len : sizeof(sin));
	*len = sizeof(sin);
}

/* ---- socket, bind, listen ---- */

int tapir_socket(struct tapir_net *net, int domain, int type, int protocol)
{
	int kind = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), fd;
	struct sock *s;
	if (!net)
		return fail(EINVAL);
	if (domain != AF_INET)
		return fail(EAFNOSUPPORT);
	if (kind != SOCK_STREAM && kind != SOCK_DGRAM)
		return fail(ESOCKTNOSUPPORT);
	if (protocol && protocol != (kind == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP))
		return fail(EPROTONOSUPPORT);
	pthread_mutex_lock(&net->rt->lock);
	fd = sock_alloc(net);
	if (fd < 0) {
		pthread_mutex_unlock(&net->rt->lock);
		return fail(EMFILE); /* the table is the per-process limit */
	}
	s = &net->socks[fd];
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
		return fail(ENOBUFS); /* the core's socket pool is exhausted */
	}
	s->used = true;
	s->type = kind;
	s->nonblock = (type & SOCK_NONBLOCK) != 0;
	pthread_mutex_unlock(&net->rt->lock);
	return fd;
}

int tapir_bind(struct tapir_net *net, int fd, const struct sockaddr *sa, socklen_t len)
{
	struct sock *s = enter(net, fd);
	uint32_t addr;
	uint16_t port;
	int r;
	if (!s)
		return -1;
	if ((r = addr_in(sa, len, &addr, &port)) < 0)
		return leave_ret(s, r);
	r = s->tcp ? tapir_tcp_bind(s->tcp, addr, port) : tapir_udp_bind(s->udp, addr, port);
	return leave_ret(s, r);
}

int tapir_listen(struct tapir_net *net, int fd, int backlog)
{
	struct sock *s = enter(net, fd);
	if (!s)
		return -1;
	if (!s->tcp)
		return leave_ret(s, -EOPNOTSUPP);
	/* the core bounds SYN-RECEIVED plus the accept queue by BACKLOG,
	 * as UNP 4.5 describes; a full queue drops SYNs silently */
	return leave_ret(s, tapir_tcp_listen(s->tcp, backlog));
}

/* ---- accept, connect ---- */

int tapir_accept4(struct tapir_net *net, int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	struct sock *s = enter(net, fd), *c;
	struct timespec ts;
	const struct timespec *dl;
	struct tapir_tcp *t;
	int err, nfd, r;
	uint32_t addr;
	uint16_t port;

	if (!s)
		return -1;
	if (!s->tcp || tapir_tcp_state(s->tcp) != TAPIR_TCP_LISTEN)
		return leave_ret(s, s->tcp ? -EINVAL : -EOPNOTSUPP);
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return leave_ret(s, -EINVAL);
	dl = timeo_deadline(&ts, s->rcvtimeo); /* Linux: SO_RCVTIMEO bounds accept */
	for (;;) {
		/* a slot first, so a dequeued connection is never dropped */
		nfd = sock_alloc(net);
		if (nfd < 0)
			return leave_ret(s, -EMFILE);
		t = tapir_tcp_accept(s->tcp, &err);
		if (t)
			break;
		if (err != -EAGAIN)
			return leave_ret(s, err);
		if (s->nonblock)
			return leave_ret(s, -EAGAIN);
		if ((r = sock_wait(s, dl)) != 0)
			return leave_ret(s, r == ETIMEDOUT ? -EAGAIN : -r);
	}
	c = &net->socks[nfd];
	c->used = true;
	c->type = SOCK_STREAM;
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
	tapir_tcp_peer(t, &addr, &port);
	addr_out(sa, len, addr, port);
	/* accepting can open the window of nothing, but a child may already
	 * hold data; nothing to send, so no wake-up is needed */
	leave(s);
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

int tapir_connect(struct tapir_net *net, int fd, const struct sockaddr *sa, socklen_t len)
{
	struct sock *s = enter(net, fd);
	struct timespec ts;
	const struct timespec *dl;
	uint32_t addr;
	uint16_t port;
	int r;

	if (!s)
		return -1;
	if ((r = addr_in(sa, len, &addr, &port)) < 0)
		return leave_ret(s, r);
	if (s->udp) {
		/* UNP 8.11: connect on UDP only records the peer; it makes the
		 * socket eligible for asynchronous errors (ICMP) */
		r = tapir_udp_connect(s->udp, addr, port);
		if (r == 0) {
			s->udp_connected = true;
			s->udp_raddr = addr;
			s->udp_rport = port;
		}
		return leave_ret(s, r);
	}
	r = tapir_tcp_connect(s->tcp, addr, port, net_now(net));
	net_wake(net);
	if (r == -EISCONN && tapir_tcp_state(s->tcp) == TAPIR_TCP_CLOSED) {
		/* a connect that already failed: report its error once */
		int e = tapir_tcp_error(s->tcp);
		if (e)
			r = -e;
	}
	if (r < 0)
		return leave_ret(s, r);
	/* UNP 16.3: a non-blocking connect returns EINPROGRESS; completion
	 * shows as POLLOUT, and SO_ERROR tells how it ended */
	if (s->nonblock)
		return leave_ret(s, -EINPROGRESS);
	/* Linux bounds a blocking connect by SO_SNDTIMEO (then EINPROGRESS;
	 * the handshake goes on in the background) */
	dl = timeo_deadline(&ts, s->sndtimeo);
	while (tcp_opening(s->tcp)) {
		if ((r = sock_wait(s, dl)) != 0)
			return leave_ret(s, r == ETIMEDOUT ? -EINPROGRESS : -r);
	}
	if (tapir_tcp_state(s->tcp) == TAPIR_TCP_CLOSED) {
		/* RST: ECONNREFUSED; SYN retries exhausted: ETIMEDOUT; ICMP or
		 * ARP failure: EHOSTUNREACH/ENETUNREACH (UNP 4.3) */
		int e = tapir_tcp_error(s->tcp);
		return leave_ret(s, -(e ? e : ECONNREFUSED));
	}
	return leave_ret(s, 0);
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
	uint32_t raddr;
	uint16_t rport;
	if (r == -ENOTCONN && writing) {
		/* ENOTCONN only for a socket never connected; one whose
		 * connection ended cleanly is a broken pipe (as Linux) */
		tapir_tcp_peer(t, &raddr, &rport);
		return raddr ? -EPIPE : r;
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
	bool nb = s->nonblock || (flags & MSG_DONTWAIT);
	struct timespec ts;
	const struct timespec *dl = NULL;
	size_t done = 0;
	long r;

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
		if (nb)
			return done ? (ssize_t)done : -EAGAIN;
		if (r == -EAGAIN) {
			int w;
			if (!dl && s->sndtimeo)
				dl = timeo_deadline(&ts, s->sndtimeo);
			w = sock_wait(s, dl);
			if (w == ETIMEDOUT)
				return done ? (ssize_t)done : -EAGAIN;
			if (w)
				return done ? (ssize_t)done : -w;
		}
	}
}

static ssize_t udp_send(struct sock *s, const void *buf, size_t len, uint32_t dst, uint16_t dport)
{
	if (s->shut_wr)
		return -EPIPE;
	/* UDP never blocks here: the core sends at once or fails (ENOBUFS) */
	long r = tapir_udp_sendto(s->udp, buf, len, dst, dport, net_now(s->net));
	net_wake(s->net);
	return r;
}

ssize_t tapir_sendto(struct tapir_net *net, int fd, const void *buf, size_t len, int flags,
		     const struct sockaddr *to, socklen_t tolen)
{
	struct sock *s = enter(net, fd);
	uint32_t addr = 0;
	uint16_t port = 0;
	ssize_t r;
	if (!s)
		return -1;
	if (flags & ~SEND_FLAGS)
		return leave_ret(s, -EOPNOTSUPP);
	if (!buf && len)
		return leave_ret(s, -EFAULT);
	if (s->tcp) {
		/* TCP ignores a destination (as Linux does) */
		r = tcp_send(s, buf, len, flags);
	} else {
		if (to && (r = addr_in(to, tolen, &addr, &port)) < 0)
			return leave_ret(s, (int)r);
		if (to && !addr)
			return leave_ret(s, -EINVAL);
		r = udp_send(s, buf, len, addr, port);
	}
	leave(s);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
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
	bool nb = s->nonblock || (flags & MSG_DONTWAIT);
	struct timespec ts;
	const struct timespec *dl = NULL;
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
		if (nb)
			return done ? (ssize_t)done : -EAGAIN;
		if (!dl && s->rcvtimeo)
			dl = timeo_deadline(&ts, s->rcvtimeo);
		int w = sock_wait(s, dl);
		if (w == ETIMEDOUT) /* SO_RCVTIMEO expired (UNP 14.2) */
			return done ? (ssize_t)done : -EAGAIN;
		if (w)
			return done ? (ssize_t)done : -w;
	}
}

static ssize_t udp_recv(struct sock *s, void *buf, size_t len, int flags, uint32_t *src,
			uint16_t *sport)
{
	bool nb = s->nonblock || (flags & MSG_DONTWAIT);
	struct timespec ts;
	const struct timespec *dl = timeo_deadline(&ts, s->rcvtimeo);
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
		r = tapir_udp_recvfrom(s->udp, buf, len, src, sport);
		if (r >= 0)
			/* a longer datagram is truncated (UNP 8.7); MSG_TRUNC asks
			 * for its real length, as Linux gives */
			return (flags & MSG_TRUNC) || (size_t)r <= len ? r : (ssize_t)len;
		if (nb)
			return -EAGAIN;
		int w = sock_wait(s, dl);
		if (w == ETIMEDOUT)
			return -EAGAIN;
		if (w)
			return -w;
	}
}

ssize_t tapir_recvfrom(struct tapir_net *net, int fd, void *buf, size_t len, int flags,
		       struct sockaddr *from, socklen_t *fromlen)
{
	struct sock *s = enter(net, fd);
	uint32_t addr = 0;
	uint16_t port = 0;
	ssize_t r;
	if (!s)
		return -1;
	if (flags & ~RECV_FLAGS)
		return leave_ret(s, -EOPNOTSUPP);
	if (!buf && len)
		return leave_ret(s, -EFAULT);
	if (s->tcp) {
		r = tcp_recv(s, buf, len, flags);
		if (r >= 0 && from && s->tcp)
			tapir_tcp_peer(s->tcp, &addr, &port);
	} else {
		r = udp_recv(s, buf, len, flags, &addr, &port);
	}
	if (r >= 0 && from)
		addr_out(from, fromlen, addr, port);
	leave(s);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
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
	struct sock *s = enter(net, fd);
	int r = 0;
	if (!s)
		return -1;
	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		return leave_ret(s, -EINVAL);
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
	sock_signal(s);
	if (net->rt->pollers)
		pthread_cond_broadcast(&net->rt->poll_cond);
	return leave_ret(s, r);
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
	deadline_after(&ts, TAPIR_SEC(s->linger_sec));
	while (fin_unacked(s->tcp)) {
		int r = pthread_cond_timedwait(s->cond, &net->rt->lock, &ts);
		if (r == ETIMEDOUT && fin_unacked(s->tcp))
			return -EWOULDBLOCK;
	}
	return 0;
}

int tapir_close(struct tapir_net *net, int fd)
{
	struct sock *s = enter(net, fd);
	int r = 0;
	if (!s)
		return -1;
	/* from now on no call can find FD; calls already inside wake up and
	 * return EBADF; the slot is reused once the last of them leaves */
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
	sock_signal(s);
	if (net->rt->pollers)
		pthread_cond_broadcast(&net->rt->poll_cond);
	return leave_ret(s, r);
}

/* ---- names ---- */

int tapir_getsockname(struct tapir_net *net, int fd, struct sockaddr *sa, socklen_t *len)
{
	struct sock *s = enter(net, fd);
	uint32_t addr;
	uint16_t port;
	if (!s)
		return -1;
	if (!sa || !len)
		return leave_ret(s, -EFAULT);
	if (s->tcp)
		tapir_tcp_local(s->tcp, &addr, &port);
	else
		tapir_udp_local(s->udp, &addr, &port);
	addr_out(sa, len, addr, port);
	return leave_ret(s, 0);
}

int tapir_getpeername(struct tapir_net *net, int fd, struct sockaddr *sa, socklen_t *len)
{
	struct sock *s = enter(net, fd);
	uint32_t addr = 0;
	uint16_t port = 0;
	if (!s)
		return -1;
	if (!sa || !len)
		return leave_ret(s, -EFAULT);
	if (s->tcp) {
		enum tapir_tcp_state st = tapir_tcp_state(s->tcp);
		if (st == TAPIR_TCP_CLOSED || st == TAPIR_TCP_LISTEN || st == TAPIR_TCP_SYN_SENT)
			return leave_ret(s, -ENOTCONN);
		tapir_tcp_peer(s->tcp, &addr, &port);
	} else {
		if (!s->udp_connected)
			return leave_ret(s, -ENOTCONN);
		addr = s->udp_raddr;
		port = s->udp_rport;
	}
	addr_out(sa, len, addr, port);
	return leave_ret(s, 0);
}

/* ---- options ---- */

static int tcp_opt(struct sock *s, enum tapir_tcp_opt opt, int v)
{
	if (!s->tcp)
		return -ENOPROTOOPT;
	return tapir_tcp_setopt(s->tcp, opt, v);
}

int tapir_setsockopt(struct tapir_net *net, int fd, int level, int name, const void *val,
		     socklen_t len)
{
	struct sock *s = enter(net, fd);
	int v = 0, r = 0;
	if (!s)
		return -1;
	if (!val)
		return leave_ret(s, -EFAULT);
	if (level == SOL_SOCKET && name == SO_LINGER) {
		struct linger l;
		if (len < (socklen_t)sizeof(l))
			return leave_ret(s, -EINVAL);
		memcpy(&l, val, sizeof(l));
		if (l.l_onoff && l.l_linger < 0)
			return leave_ret(s, -EINVAL);
		/* the core knows {1, 0} (RST on close); the api does the wait */
		if (s->tcp && (r = tapir_tcp_setopt(s->tcp, TAPIR_TCP_LINGER,
						     l.l_onoff ? l.l_linger : -1)) < 0)
			return leave_ret(s, r);
		s->linger_on = l.l_onoff != 0;
		s->linger_sec = l.l_linger;
		return leave_ret(s, 0);
	}
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
		struct timeval tv;
		if (len < (socklen_t)sizeof(tv))
			return leave_ret(s, -EINVAL);
		memcpy(&tv, val, sizeof(tv));
		if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000)
			return leave_ret(s, -EDOM); /* as Linux */
		*(name == SO_RCVTIMEO ? &s->rcvtimeo : &s->sndtimeo) =
			(tapir_time_t)tv.tv_sec * 1000000u + (tapir_time_t)tv.tv_usec;
		return leave_ret(s, 0);
	}
	if (level == IPPROTO_TCP && name == TCP_CONGESTION) {
		/* a name, as Linux takes it: "reno" (NewReno) or "cubic" */
		char algo[16] = {0};
		memcpy(algo, val, len < sizeof(algo) - 1 ? len : sizeof(algo) - 1);
		if (!s->tcp)
			return leave_ret(s, -ENOPROTOOPT);
		return leave_ret(s, tapir_tcp_setopt(s->tcp, TAPIR_TCP_CONGESTION,
						     !strcmp(algo, "cubic") ? TAPIR_CC_CUBIC
						     : !strcmp(algo, "reno") || !strcmp(algo, "newreno")
							     ? TAPIR_CC_NEWRENO
							     : -1));
	}
	if (len < (socklen_t)sizeof(int))
		return leave_ret(s, -EINVAL);
	memcpy(&v, val, sizeof(v));
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_REUSEADDR:
			if (s->tcp)
				r = tapir_tcp_setopt(s->tcp, TAPIR_TCP_REUSEADDR, v);
			if (r == 0)
				s->reuseaddr = v != 0;
			break;
		case SO_KEEPALIVE:
			if (s->tcp)
				r = tapir_tcp_setopt(s->tcp, TAPIR_TCP_KEEPALIVE, v);
			if (r == 0)
				s->keepalive = v != 0;
			break;
		case SO_RCVBUF:
		case SO_SNDBUF:
			if (v < 0)
				return leave_ret(s, -EINVAL);
			if (s->tcp) {
				/* buffers are sized at open: set these before
				 * connect or listen (EISCONN after) */
				r = tapir_tcp_setopt(s->tcp, name == SO_RCVBUF ? TAPIR_TCP_RCVBUF
									: TAPIR_TCP_SNDBUF,
						     v);
			} else if (name == SO_RCVBUF) {
				tapir_udp_set_rcvbuf(s->udp, (size_t)v);
			}
			if (r == 0)
				*(name == SO_RCVBUF ? &s->rcvbuf : &s->sndbuf) = v;
			break;
		case SO_ERROR:
		case SO_TYPE:
			r = -ENOPROTOOPT; /* read-only */
			break;
		default:
			r = -ENOPROTOOPT;
		}
		return leave_ret(s, r);
	}
	if (level == IPPROTO_TCP) {
		switch (name) {
		case TCP_NODELAY: r = tcp_opt(s, TAPIR_TCP_NODELAY, v); break;
		case TCP_MAXSEG: r = tcp_opt(s, TAPIR_TCP_MAXSEG, v); break;
		case TCP_KEEPIDLE: r = tcp_opt(s, TAPIR_TCP_KEEPIDLE, v); break;
		case TCP_KEEPINTVL: r = tcp_opt(s, TAPIR_TCP_KEEPINTVL, v); break;
		case TCP_KEEPCNT: r = tcp_opt(s, TAPIR_TCP_KEEPCNT, v); break;
		case TCP_USER_TIMEOUT: r = tcp_opt(s, TAPIR_TCP_USER_TIMEOUT, v); break;
		default: r = -ENOPROTOOPT;
		}
		/* NODELAY may push queued data out */
		net_wake(net);
		return leave_ret(s, r);
	}
	return leave_ret(s, -ENOPROTOOPT);
}

static int put_opt(void *val, socklen_t *len, const void *src, socklen_t n)
{
	if (*len < n)
		return -EINVAL;
	memcpy(val, src, n);
	*len = n;
	return 0;
}

int tapir_getsockopt(struct tapir_net *net, int fd, int level, int name, void *val, socklen_t *len)
{
	struct sock *s = enter(net, fd);
	int v = 0, r = 0;
	enum tapir_tcp_opt opt;
	if (!s)
		return -1;
	if (!val || !len)
		return leave_ret(s, -EFAULT);
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_LINGER: {
			struct linger l = {.l_onoff = s->linger_on, .l_linger = s->linger_sec};
			return leave_ret(s, put_opt(val, len, &l, sizeof(l)));
		}
		case SO_RCVTIMEO:
		case SO_SNDTIMEO: {
			tapir_time_t us = name == SO_RCVTIMEO ? s->rcvtimeo : s->sndtimeo;
			struct timeval tv = {.tv_sec = (time_t)(us / 1000000u),
					     .tv_usec = (suseconds_t)(us % 1000000u)};
			return leave_ret(s, put_opt(val, len, &tv, sizeof(tv)));
		}
		case SO_REUSEADDR: v = s->reuseaddr; break;
		case SO_KEEPALIVE: v = s->keepalive; break;
		case SO_TYPE: v = s->type; break;
		case SO_ERROR:
			/* returns and clears the pending error (UNP 7.5) */
			v = s->tcp ? tapir_tcp_error(s->tcp) : tapir_udp_error(s->udp);
			break;
		case SO_RCVBUF:
		case SO_SNDBUF:
			if (s->tcp)
				tapir_tcp_getopt(s->tcp,
						 name == SO_RCVBUF ? TAPIR_TCP_RCVBUF : TAPIR_TCP_SNDBUF,
						 &v);
			else
				v = name == SO_RCVBUF ? s->rcvbuf : s->sndbuf;
			break;
		default:
			return leave_ret(s, -ENOPROTOOPT);
		}
		return leave_ret(s, put_opt(val, len, &v, sizeof(v)));
	}
	if (level != IPPROTO_TCP || !s->tcp)
		return leave_ret(s, -ENOPROTOOPT);
	if (name == TAPIR_TCP_RESERVED_RX) {
		v = tapir_tcp_rx_reserved(s->tcp);
		return leave_ret(s, put_opt(val, len, &v, sizeof(v)));
	}
	if (name == TCP_CONGESTION) {
		tapir_tcp_getopt(s->tcp, TAPIR_TCP_CONGESTION, &v);
		return leave_ret(s, put_opt(val, len, v == TAPIR_CC_CUBIC ? "cubic" : "reno",
					    v == TAPIR_CC_CUBIC ? 6 : 5));
	}
	switch (name) {
	case TCP_NODELAY: opt = TAPIR_TCP_NODELAY; break;
	case TCP_MAXSEG: opt = TAPIR_TCP_MAXSEG; break;
	case TCP_KEEPIDLE: opt = TAPIR_TCP_KEEPIDLE; break;
	case TCP_KEEPINTVL: opt = TAPIR_TCP_KEEPINTVL; break;
	case TCP_KEEPCNT: opt = TAPIR_TCP_KEEPCNT; break;
	case TCP_USER_TIMEOUT: opt = TAPIR_TCP_USER_TIMEOUT; break;
	default: return leave_ret(s, -ENOPROTOOPT);
	}
	if ((r = tapir_tcp_getopt(s->tcp, opt, &v)) < 0)
		return leave_ret(s, r);
	return leave_ret(s, put_opt(val, len, &v, sizeof(v)));
}

int tapir_fcntl(struct tapir_net *net, int fd, int cmd, int arg)
{
	struct sock *s = enter(net, fd);
	int r = 0;
	if (!s)
		return -1;
	if (cmd == F_GETFL)
		r = O_RDWR | (s->nonblock ? O_NONBLOCK : 0);
	else if (cmd == F_SETFL)
		s->nonblock = (arg & O_NONBLOCK) != 0;
	else
		r = -EINVAL;
	return leave_ret(s, r);
}

int tapir_set_nonblock(struct tapir_net *net, int fd, bool on)
{
	return tapir_fcntl(net, fd, F_SETFL, on ? O_NONBLOCK : 0);
}

/* ---- poll ---- */

static short sock_revents(struct sock *s, short want)
{
	short rev = 0;
	unsigned ev;
	if (s->tcp) {
		enum tapir_tcp_state st = tapir_tcp_state(s->tcp);
		ev = tapir_tcp_events(s->tcp);
		if (st == TAPIR_TCP_CLOSED)
			/* never connected, or over: as Linux, POLLOUT|POLLHUP (a
			 * failed connect has POLLERR too, until SO_ERROR is read) */
			ev |= TAPIR_EV_HUP | TAPIR_EV_WRITE;
	} else {
		ev = tapir_udp_events(s->udp);
		if (s->shut_rd)
			ev |= TAPIR_EV_READ;
	}
	if (ev & TAPIR_EV_READ)
		rev |= POLLIN | POLLRDNORM;
	if (ev & TAPIR_EV_WRITE)
		rev |= POLLOUT | POLLWRNORM;
	if (ev & TAPIR_EV_DTH) /* an exceptional condition: RFC 9401's mark */
		rev |= POLLPRI;
	rev &= want;
	/* POLLERR and POLLHUP are reported whether asked for or not */
	if (ev & TAPIR_EV_ERROR)
		rev |= POLLERR;
	if (ev & TAPIR_EV_HUP)
		rev |= POLLHUP;
	return rev;
}

int tapir_poll(struct tapir_net *net, struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
	struct net_runner *rt;
	struct timespec ts;
	const struct timespec *dl = NULL;
	int ready;

	if (!net || (!fds && nfds))
		return fail(EINVAL);
	if (nfds > TAPIR_NET_MAX_SOCKETS * 4u)
		return fail(EINVAL);
	rt = net->rt;
	if (timeout_ms > 0)
		dl = timeo_deadline(&ts, (tapir_time_t)timeout_ms * 1000u);
	pthread_mutex_lock(&rt->lock);
	for (;;) {
		ready = 0;
		for (nfds_t i = 0; i < nfds; i++) {
			struct pollfd *p = &fds[i];
			p->revents = 0;
			if (p->fd < 0)
				continue;
			if (p->fd >= TAPIR_NET_MAX_SOCKETS || !net->socks[p->fd].used ||
			    net->socks[p->fd].closing)
				p->revents = POLLNVAL;
			else
				p->revents = sock_revents(&net->socks[p->fd], p->events);
			if (p->revents)
				ready++;
		}
		if (ready || timeout_ms == 0)
			break;
		/* every core event and every close broadcasts poll_cond while
		 * a poller waits; the states were read under the same mutex */
		rt->pollers++;
		int r = dl ? pthread_cond_timedwait(&rt->poll_cond, &rt->lock, dl)
			   : pthread_cond_wait(&rt->poll_cond, &rt->lock);
		rt->pollers--;
		if (r == ETIMEDOUT) {
			timeout_ms = 0; /* one last look, then return */
		}
	}
	pthread_mutex_unlock(&rt->lock);
	return ready;
}
