/* Waiting: a blocked call sleeps on a condition variable of its own,
 * linked on the socket while it waits (struct sock_waiter), or,
 * for a conversation, on the driver's fd itself; and tapir_poll.
 *
 * A waiter always re-tests the core's state after waking, so a spurious or
 * unrelated event costs one more test, never a lost wake-up: the test and
 * the wait happen under the same mutex the event is raised under. */
#define _GNU_SOURCE /* ppoll */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <tapir/events.h>

#include "api_int.h"

/* ---- waiting ---- */

void sock_deadline_after(struct timespec *ts, tapir_time_t us)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(us / 1000000u);
	ts->tv_nsec += (long)(us % 1000000u) * 1000;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

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
 * thread's, a close) writes the eventfd.  One such waiter per runner. */
static int sock_wait_fd(struct sock *s, int efd, const struct timespec *deadline)
{
	struct net_runner *rt = s->net->rt;
	struct pollfd pfd[2] = {{.fd = rt->drv.fd, .events = POLLIN}, {.fd = efd, .events = POLLIN}};
	struct timespec ts, *tsp = NULL;
	struct sock_waiter w;
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
	w.efd = efd;
	sock_waiter_add(s, &w);
	rt->fd_waiter = true;
	pthread_mutex_unlock(&rt->lock);
	r = ppoll(pfd, 2, tsp, NULL);
	if (read(efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: woken by the driver's fd or the deadline */
	}
	pthread_mutex_lock(&rt->lock);
	sock_waiter_del(s, &w);
	rt->fd_waiter = false;
	if (s->closing)
		return EBADF;
	if (r > 0 && (pfd[0].revents & POLLIN))
		net_rx_drain(s->net);
	return r == 0 ? ETIMEDOUT : 0;
}

/* The condition variables' clock: deadlines are CLOCK_MONOTONIC. */
static pthread_condattr_t cond_attr;
static pthread_once_t cond_attr_once = PTHREAD_ONCE_INIT;

static void cond_attr_make(void)
{
	pthread_condattr_init(&cond_attr);
	pthread_condattr_setclock(&cond_attr, CLOCK_MONOTONIC);
}

int sock_wait_cond(struct sock *s, const struct timespec *deadline)
{
	struct net_runner *rt = s->net->rt;
	struct sock_waiter w = {.efd = -1};
	int r = 0;
	pthread_once(&cond_attr_once, cond_attr_make);
	/* a condition variable for this wait alone: a socket nobody waits
	 * for holds none, and an event signals only those waiting */
	pthread_cond_init(&w.cond, &cond_attr);
	sock_waiter_add(s, &w);
	if (deadline)
		r = pthread_cond_timedwait(&w.cond, &rt->lock, deadline);
	else
		pthread_cond_wait(&w.cond, &rt->lock);
	sock_waiter_del(s, &w);
	pthread_cond_destroy(&w.cond);
	return r;
}

#define FD_WAIT_US 1000 /* a wait this short is a request/response exchange */

/* Waits for the next event on S (mutex held).  0; ETIMEDOUT once DEADLINE
 * (NULL: none) has passed; EBADF when the socket was closed meanwhile.
 * A connection whose last wait was short -- one side of a conversation --
 * waits on the driver's fd itself (sock_wait_fd), one thread at a time;
 * any other wait (a listener, an idle connection) on a condition
 * variable, so that idle threads never wake for every frame. */
static int sock_wait(struct sock *s, const struct timespec *deadline)
{
	struct net_runner *rt = s->net->rt;
	tapir_time_t t0 = net_mono_us();
	int r = 0, efd;
	if (s->quick && !rt->fd_waiter && !rt->ml && rt->drv.fd >= 0 && !rt->link_err &&
	    s->net->ifindex >= 0 &&
	    (efd = thread_efd()) >= 0) {
		r = sock_wait_fd(s, efd, deadline);
	} else {
		r = sock_wait_cond(s, deadline);
		r = s->closing ? EBADF : r == ETIMEDOUT ? ETIMEDOUT : 0;
	}
	s->quick = s->tcp && net_mono_us() - t0 < FD_WAIT_US;
	return r;
}

/* The deadline US (SO_RCVTIMEO, SO_SNDTIMEO, a poll timeout) from now, in
 * *TS; NULL for 0: no deadline. */
static const struct timespec *sock_timeo_deadline(struct timespec *ts, tapir_time_t us)
{
	if (!us)
		return NULL;
	sock_deadline_after(ts, us);
	return ts;
}

int sock_block(struct sock *s, struct sock_blocking *b)
{
	int w;
	if (b->nb)
		return -EAGAIN;
	if (!b->dl && b->timeo)
		b->dl = sock_timeo_deadline(&b->ts, b->timeo);
	w = sock_wait(s, b->dl);
	/* SO_RCVTIMEO or SO_SNDTIMEO expired: EAGAIN (UNP 14.2) */
	return w == ETIMEDOUT ? -EAGAIN : -w;
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
		return api_fail(EINVAL);
	rt = net->rt;
	if (timeout_ms > 0)
		dl = sock_timeo_deadline(&ts, (tapir_time_t)timeout_ms * 1000u);
	pthread_mutex_lock(&rt->lock);
	/* POSIX: EINVAL beyond the descriptor limit (each fd may be listed
	 * more than once, hence the slack); a wake-up costs O(NFDS) */
	if (nfds > (nfds_t)net->max_socks * 4u) {
		pthread_mutex_unlock(&rt->lock);
		return api_fail(EINVAL);
	}
	for (;;) {
		struct sock *s;
		ready = 0;
		for (nfds_t i = 0; i < nfds; i++) {
			struct pollfd *p = &fds[i];
			p->revents = 0;
			if (p->fd < 0)
				continue;
			if (!(s = sock_find(net, p->fd)))
				p->revents = POLLNVAL;
			else
				p->revents = sock_revents(s, p->events);
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
