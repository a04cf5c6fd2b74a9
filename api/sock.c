/* The socket table: descriptors, pinning one for the length of a call,
 * the waiters and the core's event callback, and sockaddr_in and sockaddr_in6
 * in and out.
 * The calls are in socket.c, the options in sockopt.c, waiting and poll in
 * poll.c. */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api_int.h"

/* ---- the socket table ---- */

void socks_init(struct tapir_net *net)
{
	/* nothing allocated until the first socket: an unused net costs its
	 * struct alone */
	net->max_socks = TAPIR_NET_DEFAULT_MAX_SOCKETS;
}

void socks_fini(struct tapir_net *net)
{
	/* no call is inside (tapir_net_stop's rule), so no waiter; the stack
	 * is freed next and takes every core object with it */
	for (unsigned i = 0; i < net->nsocks; i++)
		free(net->socks[i]);
	free(net->socks);
	net->socks = NULL;
	net->nsocks = 0;
}

int tapir_net_set_max_sockets(struct tapir_net *net, unsigned max)
{
	if (!net || max < 1 || max > INT_MAX)
		return api_fail(EINVAL);
	pthread_mutex_lock(&net->rt->lock);
	net->max_socks = max;
	pthread_mutex_unlock(&net->rt->lock);
	return 0;
}

unsigned tapir_net_max_sockets(struct tapir_net *net)
{
	unsigned max;
	pthread_mutex_lock(&net->rt->lock);
	max = net->max_socks;
	pthread_mutex_unlock(&net->rt->lock);
	return max;
}

/* Makes the table hold descriptor FD: doubling, so N sockets cost
 * O(N) copies in all, and never longer than the limit. */
static int socks_grow(struct tapir_net *net, unsigned fd)
{
	unsigned n = net->nsocks ? net->nsocks : 16;
	struct sock **t;
	while (n <= fd)
		n = n > UINT_MAX / 2 ? UINT_MAX : n * 2;
	if (n > net->max_socks)
		n = net->max_socks > fd ? net->max_socks : fd + 1;
	t = realloc(net->socks, n * sizeof(*t));
	if (!t)
		return -ENOMEM;
	memset(t + net->nsocks, 0, (n - net->nsocks) * sizeof(*t));
	net->socks = t;
	net->nsocks = n;
	return 0;
}

int sock_alloc(struct tapir_net *net)
{
	/* POSIX: the lowest descriptor not in use; none is free below
	 * LOW_FREE, so a run of opens costs O(1) each */
	unsigned fd = net->low_free;
	while (fd < net->nsocks && net->socks[fd])
		fd++;
	net->low_free = fd;
	if (fd >= net->max_socks)
		return -EMFILE; /* the kernel's answer at RLIMIT_NOFILE (UNP 4.6) */
	if (fd >= net->nsocks && socks_grow(net, fd) < 0)
		return -ENOMEM;
	return (int)fd;
}

struct sock *sock_new(void) { return calloc(1, sizeof(struct sock)); }

void sock_install(struct tapir_net *net, int fd, struct sock *s)
{
	s->net = net;
	s->fd = fd;
	net->socks[fd] = s;
}

struct sock *sock_find(struct tapir_net *net, int fd)
{
	struct sock *s;
	if (fd < 0 || (unsigned)fd >= net->nsocks)
		return NULL;
	s = net->socks[fd];
	return s && !s->closing ? s : NULL;
}

/* ---- waiters ---- */

static void efd_poke(int efd)
{
	uint64_t one = 1;
	if (write(efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, it wakes anyway */
	}
}

void sock_waiter_add(struct sock *s, struct sock_waiter *w)
{
	w->queued = false;
	atomic_init(&w->pinned, false);
	w->next = s->waiters;
	s->waiters = w;
}

void sock_waiter_del(struct sock *s, struct sock_waiter *w)
{
	struct sock_waiter **pp = &s->waiters;
	while (*pp && *pp != w)
		pp = &(*pp)->next;
	if (*pp)
		*pp = w->next;
	/* the stack thread lets go of the mutex before it signals; W (on
	 * this thread's stack) must outlive that signal: a few instructions */
	while (atomic_load_explicit(&w->pinned, memory_order_acquire))
		sched_yield();
}

/* Wakes every thread waiting for S (mutex held). */
static void sock_signal(struct sock *s)
{
	for (struct sock_waiter *w = s->waiters; w; w = w->next) {
		if (w->efd >= 0)
			efd_poke(w->efd);
		else
			pthread_cond_signal(&w->cond);
	}
}

void sock_wake(struct sock *s)
{
	sock_signal(s);
	if (s->net->rt->pollers)
		pthread_cond_broadcast(&s->net->rt->poll_cond);
}

/* EVENTS are not kept: waiters read the core's state itself. */
void sock_event(void *arg, unsigned events)
{
	struct sock *s = arg;
	struct net_runner *rt = s->net->rt;
	(void)events;
	if (!rt->defer) {
		sock_wake(s);
		return;
	}
	/* in the stack thread: a waiter woken now would only block on the
	 * mutex this thread holds; signal it once it is free.  Each waiter
	 * is queued once, so the list is bounded by the waiting threads. */
	for (struct sock_waiter *w = s->waiters; w; w = w->next) {
		if (w->queued)
			continue;
		w->queued = true;
		if (w->efd < 0)
			atomic_store_explicit(&w->pinned, true, memory_order_relaxed);
		w->wnext = rt->wake;
		rt->wake = w;
	}
	rt->wake_pollers |= rt->pollers != 0;
}

struct sock_waiter *sock_wake_collect(struct net_runner *rt)
{
	struct sock_waiter *w = rt->wake, *next, *sig = NULL;
	rt->wake = NULL;
	for (; w; w = next) {
		next = w->wnext;
		w->queued = false;
		if (w->efd >= 0) {
			/* before the unlock: a waiter in ppoll may leave as soon
			 * as the mutex is free, and its record with it */
			efd_poke(w->efd);
			continue;
		}
		w->wnext = sig; /* pinned: it stays until signalled */
		sig = w;
	}
	return sig;
}

void sock_wake_signal(struct sock_waiter *w)
{
	struct sock_waiter *next;
	for (; w; w = next) {
		next = w->wnext; /* read before the unpin: W may go at once */
		pthread_cond_signal(&w->cond);
		atomic_store_explicit(&w->pinned, false, memory_order_release);
	}
}

int api_fail(int err)
{
	errno = err;
	return -1;
}

/* Finds FD and pins it (mutex held): it is not freed until put. */
static struct sock *sock_get(struct tapir_net *net, int fd)
{
	struct sock *s = sock_find(net, fd);
	if (s)
		s->refs++;
	return s;
}

/* Frees S and its descriptor for reuse (mutex held, no call inside). */
static void sock_release(struct sock *s)
{
	struct tapir_net *net = s->net;
	net->socks[s->fd] = NULL;
	if ((unsigned)s->fd < net->low_free)
		net->low_free = (unsigned)s->fd;
	free(s);
}

static void sock_put(struct sock *s)
{
	if (--s->refs == 0 && s->closing)
		sock_release(s);
}

struct sock *sock_enter(struct tapir_net *net, int fd)
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

void sock_leave(struct sock *s)
{
	struct net_runner *rt = s->net->rt;
	sock_put(s); /* may free S */
	pthread_mutex_unlock(&rt->lock);
}

ssize_t sock_leave_len(struct sock *s, ssize_t r)
{
	sock_leave(s);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

int sock_leave_ret(struct sock *s, int r)
{
	return (int)sock_leave_len(s, r);
}

/* ---- addresses ---- */

int sock_addr_in(const struct sock *s, const struct sockaddr *sa, socklen_t len,
		 struct tapir_ip *addr, uint16_t *port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	if (!sa || len < (socklen_t)sizeof(sa_family_t))
		return -EINVAL;
	if (s->family == AF_INET6) {
		/* RFC 3493 3.3, 3.7: an AF_INET6 socket names IPv4 peers
		 * v4-mapped; scope ids are not taken yet */
		if (sin6->sin6_family != AF_INET6)
			return -EAFNOSUPPORT;
		if (len < (socklen_t)sizeof(*sin6))
			return -EINVAL;
		memcpy(addr->b, &sin6->sin6_addr, 16);
		*port = ntohs(sin6->sin6_port);
		return 0;
	}
	if (len < (socklen_t)sizeof(*sin))
		return -EINVAL;
	if (sin->sin_family != AF_INET)
		return -EAFNOSUPPORT;
	*addr = tapir_ip_from_v4(ntohl(sin->sin_addr.s_addr));
	*port = ntohs(sin->sin_port);
	return 0;
}

void sock_addr_out(const struct sock *s, struct sockaddr *sa, socklen_t *len,
		   const struct tapir_ip *addr, uint16_t port)
{
	union {
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;
	} u;
	socklen_t n;
	if (!sa || !len)
		return;
	memset(&u, 0, sizeof(u));
	if (s->family == AF_INET6) {
		u.sin6.sin6_family = AF_INET6;
		memcpy(&u.sin6.sin6_addr, addr->b, 16);
		u.sin6.sin6_port = htons(port);
		n = sizeof(u.sin6);
	} else {
		u.sin.sin_family = AF_INET;
		u.sin.sin_addr.s_addr = htonl(tapir_ip_is_v4(addr) ? tapir_ip_v4(addr) : 0);
		u.sin.sin_port = htons(port);
		n = sizeof(u.sin);
	}
	memcpy(sa, &u, *len < n ? *len : n);
	*len = n;
}
