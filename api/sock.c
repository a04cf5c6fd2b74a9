/* The socket table: slots, pinning a descriptor for the length of a call,
 * the core's event callback, and sockaddr_in in and out.  The calls are in
 * socket.c, the options in sockopt.c, waiting and poll in poll.c. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
	if (rt->defer) {
		/* in the stack thread: a waiter woken now would only block on
		 * the mutex this thread holds; signal it once it is free */
		size_t i = (size_t)(s - s->net->socks);
		s->net->wake_bits[i / 64] |= 1ull << (i % 64);
		rt->wake_pollers |= rt->pollers != 0;
		return;
	}
	sock_wake(s);
}

int api_fail(int err)
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
	struct tapir_net *net = s->net;
	sock_put(s);
	pthread_mutex_unlock(&net->rt->lock);
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

int sock_alloc(struct tapir_net *net)
{
	/* POSIX: the lowest descriptor not in use */
	for (int i = 0; i < TAPIR_NET_MAX_SOCKETS; i++)
		if (!net->socks[i].used)
			return i;
	return -1;
}

/* ---- addresses ---- */

int sock_addr_in(const struct sockaddr *sa, socklen_t len, uint32_t *addr, uint16_t *port)
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

void sock_addr_out(struct sockaddr *sa, socklen_t *len, uint32_t addr, uint16_t port)
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
