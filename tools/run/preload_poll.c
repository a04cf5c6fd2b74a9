/*
 * libtapir-run.so: busy-polling in the program's waits (epoll_wait,
 * epoll_pwait, poll), as Linux's net.core.busy_poll does for sockets.
 *
 * Every byte between the program and tapir crosses an AF_UNIX pair, so a
 * request/response costs the program a wake-up that a built-in service of
 * tapir host does not pay.  A thread whose last wait ended with events a
 * moment ago (SPIN_RECENT_US) is likely in an exchange whose next message
 * is microseconds away: before it sleeps, it asks again without waiting
 * (timeout 0) for up to TAPIR_BUSY_POLL microseconds (TAPIR_SPIN_DEFAULT_US when
 * unset; 0: off), yielding the CPU between two asks, while spinning pays
 * (spin.h: a thread whose spins keep seeing nothing stops for a while) and
 * not after bulk: a thread that read or wrote TAPIR_SPIN_BULK bytes of TCP
 * since its last wait sleeps at once.
 * The calls' meaning is unchanged: the same set, the same mask, only asked
 * sooner; a thread that saw nothing for a while (an idle server) sleeps at
 * once.
 */
#define _GNU_SOURCE
#include "run/preload.h"
#include <tapir/spin.h>

#include <dlfcn.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>

/* a thread spins only when its last wait ended with events this recently */
#define SPIN_RECENT_US 2000

static struct {
	int (*epoll_wait)(int, struct epoll_event *, int, int);
	int (*epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
	int (*poll)(struct pollfd *, nfds_t, int);
	uint64_t spin_us;
} pp;
static pthread_once_t pp_once = PTHREAD_ONCE_INIT;
static __thread uint64_t last_events; /* when this thread's wait last had some */
static __thread struct tapir_spin spin;      /* this thread's (spin.window 0: not yet set) */
static __thread uint64_t moved;               /* TCP bytes it read or wrote since its last wait */

void pl_spin_moved(ssize_t n)
{
	if (n > 0)
		moved += (uint64_t)n;
}

static void pp_resolve(void)
{
	pp.epoll_wait = (__typeof__(pp.epoll_wait))dlsym(RTLD_NEXT, "epoll_wait");
	pp.epoll_pwait = (__typeof__(pp.epoll_pwait))dlsym(RTLD_NEXT, "epoll_pwait");
	pp.poll = (__typeof__(pp.poll))dlsym(RTLD_NEXT, "poll");
	pp.spin_us = tapir_spin_window(getenv(TRUN_ENV_BUSY_POLL));
}

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* When a spin may begin, now (0: the thread sleeps at once) */
static uint64_t spin_start(int timeout)
{
	uint64_t now, bytes = moved;
	moved = 0;
	pthread_once(&pp_once, pp_resolve);
	if (!pl_active || !pp.spin_us || timeout == 0 || !last_events)
		return 0;
	now = mono_us();
	if (now - last_events > SPIN_RECENT_US)
		return 0;
	if (!spin.window)
		tapir_spin_init(&spin, pp.spin_us);
	return tapir_spin_may(&spin, now, bytes) ? now : 0;
}

/* N, the wait's result, noted: the thread stays busy while it has events */
static int noted(int n)
{
	if (n > 0 && pp.spin_us) /* no clock read when busy-polling is off */
		last_events = mono_us();
	return n;
}

/* TIMEOUT (ms) less what the spin took from START, never below 0 */
static int left_ms(int timeout, uint64_t start)
{
	uint64_t ms = (mono_us() - start) / 1000u;
	if (timeout < 0)
		return timeout;
	return (uint64_t)timeout > ms ? timeout - (int)ms : 0;
}

/* One wait call with its arguments; TIMEOUT in ms as the call takes it */
struct waitcall {
	int kind; /* 0 epoll_pwait, 1 epoll_wait, 2 poll */
	int fd, max;
	struct epoll_event *ev;
	const sigset_t *mask;
	struct pollfd *fds;
	nfds_t nfds;
};

static int call(const struct waitcall *w, int timeout)
{
	if (w->kind == 0)
		return pp.epoll_pwait(w->fd, w->ev, w->max, timeout, w->mask);
	if (w->kind == 1)
		return pp.epoll_wait(w->fd, w->ev, w->max, timeout);
	return pp.poll(w->fds, w->nfds, timeout);
}

/* W without waiting until the spin ends (events, or an error: EINTR, a
 * signal came), then W with what is left of TIMEOUT */
static int spin_wait(const struct waitcall *w, int timeout)
{
	uint64_t start = spin_start(timeout), now = start;
	int n;
	if (start) {
		tapir_spin_begin(&spin, start);
		for (;;) {
			n = call(w, 0);
			if (n != 0) {
				tapir_spin_end(&spin, mono_us(), n > 0);
				return noted(n);
			}
			if (!tapir_spin_on(&spin, now = mono_us()))
				break;
			tapir_spin_yield();
		}
		tapir_spin_end(&spin, now, false);
	}
	return noted(call(w, start ? left_ms(timeout, start) : timeout));
}

PL_API int epoll_pwait(int ep, struct epoll_event *ev, int max, int timeout,
		       const sigset_t *mask)
{
	struct waitcall w = {.kind = 0, .fd = ep, .ev = ev, .max = max, .mask = mask};
	return spin_wait(&w, timeout);
}

PL_API int epoll_wait(int ep, struct epoll_event *ev, int max, int timeout)
{
	struct waitcall w = {.kind = 1, .fd = ep, .ev = ev, .max = max};
	return spin_wait(&w, timeout);
}

PL_API int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	struct waitcall w = {.kind = 2, .fds = fds, .nfds = nfds};
	return spin_wait(&w, timeout);
}
