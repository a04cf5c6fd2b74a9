/* The net: one protocol stack and the thread that runs it.
 *
 * The core is deterministic and not thread-safe (docs/sockets.md): it reads
 * no clock and never blocks.  The stack thread is its clock and its loop:
 * it waits in ppoll on the driver's fd and an eventfd, hands received
 * frames to tapir_stack_input, runs tapir_stack_poll with CLOCK_MONOTONIC
 * microseconds, and sleeps until the next deadline.  One mutex per runner
 * guards every core call; application threads take it for their calls and
 * write the eventfd when they may have moved a deadline or queued output,
 * so the thread recomputes its sleep. */
#define _GNU_SOURCE /* ppoll */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "api_int.h"

#define FRAME_MAX (65536 + 64) /* an uncut TCP segment from a TAP with offload, and more */
#define RX_BATCH 256 /* frames per wake-up, so timers are never starved */

tapir_time_t net_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (tapir_time_t)ts.tv_sec * 1000000u + (tapir_time_t)ts.tv_nsec / 1000u;
}

tapir_time_t net_now(struct tapir_net *net)
{
	struct net_runner *rt = net->rt;
	tapir_time_t now = net_mono_us();
	/* the core's timers assume time never goes back between calls */
	if (now < rt->last_now)
		now = rt->last_now;
	rt->last_now = now;
	/* frames sent during the coming core call leave at NOW */
	if (rt->ml)
		tapir_memlink_set_time(rt->ml, now);
	return now;
}

void net_wake(struct tapir_net *net)
{
	struct net_runner *rt = net->rt;
	uint64_t one = 1;
	/* Only a sleeping thread needs the nudge: a running one recomputes its
	 * deadline under the mutex before it sleeps again.  And only when the
	 * core call set a deadline earlier than the one it sleeps until (what
	 * a send sets, a retransmission timeout, is usually later): frames
	 * the call had to send it has sent itself.  The memory link's frames
	 * in flight are the thread's to deliver, always. */
	if (!rt->sleeping || (!rt->ml && tapir_stack_armed(net->stack) >= rt->sleep_until))
		return;
	rt->sleeping = false;
	if (write(rt->efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, so a wake-up is pending anyway */
	}
}

/* Wakes the stack thread whatever the deadlines say (mutex held): it must
 * look at something else (stop, a new interface). */
static void net_kick(struct net_runner *rt)
{
	uint64_t one = 1;
	rt->sleeping = false;
	if (write(rt->efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, so a wake-up is pending anyway */
	}
}

void tapir_net_lock(struct tapir_net *net) { pthread_mutex_lock(&net->rt->lock); }
/* The caller may have called into the core (sent a ping, say): the stack
 * thread must look at its deadlines again. */
void tapir_net_unlock(struct tapir_net *net)
{
	net_wake(net);
	pthread_mutex_unlock(&net->rt->lock);
}
struct tapir_stack *tapir_net_stack(struct tapir_net *net) { return net->stack; }

static struct net_runner *runner_new(void)
{
	struct net_runner *rt = calloc(1, sizeof(*rt));
	pthread_condattr_t ca;
	if (!rt)
		return NULL;
	rt->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (rt->efd < 0) {
		free(rt);
		return NULL;
	}
	pthread_mutex_init(&rt->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rt->poll_cond, &ca);
	pthread_condattr_destroy(&ca);
	rt->drv.fd = -1;
	return rt;
}

static void runner_free(struct net_runner *rt)
{
	if (rt->drv.close)
		rt->drv.close(rt->drv.ctx);
	tapir_memlink_free(rt->ml);
	close(rt->efd);
	pthread_cond_destroy(&rt->poll_cond);
	pthread_mutex_destroy(&rt->lock);
	free(rt->frame);
	free(rt);
}

static struct tapir_net *net_alloc(struct net_runner *rt, const struct tapir_config *cfg)
{
	struct tapir_net *net = calloc(1, sizeof(*net));
	struct tapir_config def;
	if (!net)
		return NULL;
	if (!cfg) {
		tapir_config_default(&def);
		def.tcp_rcvbuf_max = TAPIR_TCP_RCVBUF_AUTO; /* sockets' buffers follow their readers */
		def.tcp_sndbuf_max = TAPIR_TCP_SNDBUF_AUTO; /* ... and the windows */
		cfg = &def;
	}
	net->stack = tapir_stack_new(cfg);
	if (!net->stack) {
		free(net);
		errno = ENOMEM;
		return NULL;
	}
	net->rt = rt;
	net->ifindex = -1;
	socks_init(net);
	rt->nets[rt->nnets++] = net;
	rt->refs++;
	return net;
}

static void net_free(struct tapir_net *net)
{
	socks_fini(net);
	tapir_stack_free(net->stack);
	free(net);
}

struct tapir_net *tapir_net_new(const struct tapir_config *cfg, const struct tapir_net_driver *drv)
{
	struct net_runner *rt;
	struct tapir_net *net;
	if (!drv || !drv->link || (drv->fd >= 0 && !drv->recv)) {
		errno = EINVAL;
		return NULL;
	}
	if (!(rt = runner_new()))
		return NULL;
	rt->drv = *drv;
	rt->frame = malloc(FRAME_MAX);
	if (!rt->frame || !(net = net_alloc(rt, cfg))) {
		rt->drv.close = NULL; /* the caller still owns its driver */
		runner_free(rt);
		errno = ENOMEM;
		return NULL;
	}
	net->link = drv->link;
	net->mtu = drv->mtu ? drv->mtu : 1500;
	return net;
}

static long tap_recv(void *ctx, uint8_t *buf, size_t cap) { return tapir_tap_recv(ctx, buf, cap); }
static long tap_recv_flags(void *ctx, uint8_t *buf, size_t cap, unsigned *flags)
{
	return tapir_tap_recv_flags(ctx, buf, cap, flags);
}
static void tap_close(void *ctx) { tapir_tap_close(ctx); }

struct tapir_net *tapir_net_new_tap(const struct tapir_config *cfg, const char *name, char *err,
				    size_t errlen)
{
	struct tapir_tap *tap = tapir_tap_open(name, err, errlen);
	struct tapir_net_driver d;
	struct tapir_net *net;
	if (!tap)
		return NULL;
	d.link = tapir_tap_link(tap);
	d.fd = tapir_tap_fd(tap);
	d.recv = tap_recv;
	d.recv_flags = tap_recv_flags;
	d.close = tap_close;
	d.batch = NULL; /* tapir_tap_set_uring is tapir host's choice, not yet every net's */
	d.ctx = tap;
	d.mtu = tapir_tap_mtu(tap);
	net = tapir_net_new(cfg, &d);
	if (!net) {
		snprintf(err, errlen, "out of memory");
		tapir_tap_close(tap);
	}
	return net;
}

int tapir_net_new_pair(const struct tapir_config *cfg_a, const struct tapir_config *cfg_b,
		       const struct tapir_memlink_params *params, struct tapir_net **a,
		       struct tapir_net **b)
{
	struct tapir_memlink_params def;
	struct net_runner *rt = runner_new();
	if (!rt)
		return -1;
	if (!params) {
		tapir_memlink_params_default(&def);
		params = &def;
	}
	rt->ml = tapir_memlink_new(params);
	if (!rt->ml || !(*a = net_alloc(rt, cfg_a)) || !(*b = net_alloc(rt, cfg_b))) {
		for (int i = 0; i < rt->nnets; i++)
			net_free(rt->nets[i]);
		runner_free(rt);
		errno = ENOMEM;
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		rt->nets[i]->link = tapir_memlink_end(rt->ml, i);
		rt->nets[i]->mtu = 1500;
	}
	return 0;
}

int tapir_net_add_iface(struct tapir_net *net, const uint8_t mac[6], unsigned mtu, uint32_t addr,
			unsigned prefix_len, uint32_t gateway)
{
	int r, idx;
	pthread_mutex_lock(&net->rt->lock);
	if (net->ifindex >= 0) {
		r = -EEXIST;
		goto out;
	}
	r = idx = tapir_iface_add(net->stack, net->link, mac, mtu ? mtu : net->mtu);
	if (r < 0)
		goto out;
	/* ADDR 0: none yet (a DHCP client will find one) */
	r = addr ? tapir_iface_set_ipv4(net->stack, idx, addr, prefix_len, net_now(net)) : 0;
	if (r >= 0 && gateway)
		r = tapir_route_add(net->stack, 0, 0, gateway, idx);
	if (r >= 0)
		net->ifindex = idx;
	net_kick(net->rt); /* frames for the new interface, its announcements */
out:
	pthread_mutex_unlock(&net->rt->lock);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return 0;
}

void tapir_net_set_rx_filter(struct tapir_net *net, tapir_net_filter_fn fn, void *arg)
{
	pthread_mutex_lock(&net->rt->lock);
	net->filter = fn;
	net->filter_arg = arg;
	pthread_mutex_unlock(&net->rt->lock);
}

static void net_input(struct tapir_net *net, uint8_t *frame, size_t len, tapir_time_t now,
		      unsigned flags)
{
	if (net->ifindex < 0)
		return;
	if (net->filter && net->filter(net->filter_arg, frame, len))
		return;
	tapir_stack_input_flags(net->stack, net->ifindex, frame, len, now, flags);
}

static void memlink_rx(void *arg, int side, uint8_t *frame, size_t len, tapir_time_t now)
{
	struct net_runner *rt = arg;
	net_input(rt->nets[side], frame, len, now, 0);
	rt->rx_bytes += len;
}

/* Hands the fd driver's waiting frames to the core (mutex held), at most
 * RX_BATCH, so that timers are never starved. */
static void rx_batch(struct tapir_net *net, tapir_time_t now)
{
	struct net_runner *rt = net->rt;
	if (rt->link_err)
		return;
	for (int i = 0; i < RX_BATCH; i++) {
		unsigned flags = 0;
		uint8_t *frame = rt->frame;
		long n = rt->drv.recv_ref ? rt->drv.recv_ref(rt->drv.ctx, &frame, &flags)
			 : rt->drv.recv_flags
				 ? rt->drv.recv_flags(rt->drv.ctx, rt->frame, FRAME_MAX, &flags)
				 : rt->drv.recv(rt->drv.ctx, rt->frame, FRAME_MAX);
		if (n < 0 && tapir_link_error_fatal((int)-n) && !rt->link_err) {
			/* the device is gone (a deleted TAP reads EBADFD at
			 * once, for ever): polling it again would spin */
			rt->link_err = (int)-n;
			pthread_cond_broadcast(&rt->poll_cond);
		}
		if (n <= 0 || rt->link_err)
			break; /* 0: drained; <0: a passing error, retried next turn */
		net_input(net, frame, (size_t)n, now, flags);
		rt->rx_bytes += (uint64_t)n;
	}
}

void net_rx_drain(struct tapir_net *net)
{
	rx_batch(net, net_now(net));
	net_wake(net); /* a deadline the frames set before the thread's */
}

/* One turn of the loop, mutex held: take what arrived (RX: the driver's fd
 * may have some; a wake-up by the eventfd or a deadline alone skips the
 * read that would only say EAGAIN), run the timers; returns the next
 * deadline. */
static tapir_time_t runner_turn(struct net_runner *rt, bool rx, bool *pending)
{
	tapir_time_t now = net_now(rt->nets[0]), next = TAPIR_TIME_NEVER, t;
	/* a service on this thread closes in the turn that read the peer's
	 * FIN: its FIN carries that ACK (tapir_stack_defer_acks) */
	for (int i = 0; i < rt->nnets; i++)
		tapir_stack_defer_acks(rt->nets[i]->stack, rt->nets[i]->nservices > 0);
	/* the turn's frames leave together at its end (one system call) */
	if (rt->drv.batch)
		rt->drv.batch(rt->drv.ctx, true);
	if (rt->ml)
		tapir_memlink_deliver(rt->ml, now, memlink_rx, rt);
	else if (rx && rt->drv.fd >= 0 && !rt->link_err)
		rx_batch(rt->nets[0], now);
	for (int i = 0; i < rt->nnets; i++) {
		t = tapir_stack_poll(rt->nets[i]->stack, now);
		if (t < next)
			next = t;
	}
	/* after the timers, so the service also acts on what they raised */
	for (int i = 0; i < rt->nnets; i++) {
		t = net_service_run(rt->nets[i], now);
		if (t < next)
			next = t;
		tapir_stack_defer_acks(rt->nets[i]->stack, 0);
		/* what the turn's end sent armed: its retransmission timer, and
		 * a segment to one of our own addresses, due at once on the
		 * loopback queue (else it waited for the next wake-up) */
		t = tapir_stack_armed(rt->nets[i]->stack);
		if (t < next)
			next = t;
	}
	/* frames the driver took in while sending: no sleep before reading them */
	*pending = rt->drv.batch && rt->drv.batch(rt->drv.ctx, false);
	if (*pending)
		next = now;
	if (rt->ml) {
		/* frames the timers just sent, and those still in flight */
		t = tapir_memlink_next(rt->ml);
		if (t < next)
			next = t;
	}
	return next;
}

/* Lets go of the mutex (held by the stack thread), then signals the
 * threads waiting on sockets that had an event meanwhile: woken after the
 * unlock, they take the mutex at once instead of sleeping on it again. */
static void runner_release(struct net_runner *rt)
{
	bool pollers = rt->wake_pollers;
	struct sock_waiter *sig = sock_wake_collect(rt);
	rt->wake_pollers = false;
	rt->defer = false;
	pthread_mutex_unlock(&rt->lock);
	sock_wake_signal(sig);
	if (pollers)
		pthread_cond_broadcast(&rt->poll_cond);
}

/* Busy-polling (tapir/spin.h): frames just came in, so the peer's next
 * ones (a request/response's next request) are likely microseconds away;
 * turning again at once catches them without a wake-up of this thread.
 * RX: the bytes this turn took in.  A spin hits when frames come before
 * its window ends.  Bulk spins too (no TAPIR_SPIN_BULK here): the stack
 * thread is then the transfer's busiest, and its spin between frames took
 * tapir host's kernel->stack bulk from 18.9 to 21.3 Gbit/s (MTU 1500) and
 * from 30.3 to 34.9 (65520). */
static bool runner_spins(struct net_runner *rt, tapir_time_t now, uint64_t rx)
{
	return tapir_spin_turn(&rt->spin, now, rx, 0);
}

void tapir_net_set_busy_poll(struct tapir_net *net, unsigned us)
{
	pthread_mutex_lock(&net->rt->lock);
	tapir_spin_init(&net->rt->spin, us);
	pthread_mutex_unlock(&net->rt->lock);
}

void tapir_net_busy_poll_counts(struct tapir_net *net, uint64_t *spins, uint64_t *hits)
{
	pthread_mutex_lock(&net->rt->lock);
	*spins = net->rt->spin.spins;
	*hits = net->rt->spin.hits;
	pthread_mutex_unlock(&net->rt->lock);
}

static void *runner_main(void *arg)
{
	struct net_runner *rt = arg;
	struct pollfd pfd[2 + 2 * TAPIR_NET_MAX_SERVICES];
	sigset_t all;

	/* signals belong to the application's threads, never this one */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);

	pthread_mutex_lock(&rt->lock);
	rt->defer = true;
	for (bool rx = true, pending = false; !rt->stop;) {
		uint64_t rx_bytes = rt->rx_bytes;
		tapir_time_t next = runner_turn(rt, rx, &pending), now = rt->last_now;
		struct timespec ts, *tsp = NULL;
		int nfds = 0;
		uint64_t v;

		if (runner_spins(rt, now, rt->rx_bytes - rx_bytes))
			next = now;
		if (next <= now) {
			/* a turn due at once (a spin, a service's work, frames
			 * the driver holds): the thread does not sleep, so no
			 * core call need write the eventfd and this turn need
			 * not read it (two system calls a spinning turn saves;
			 * net_kick's write waits for the next sleep, which it
			 * ends at once).  A thread waiting for this CPU goes
			 * first. */
			runner_release(rt);
			if (!pending)
				tapir_spin_yield();
			rx = true;
			pthread_mutex_lock(&rt->lock);
			rt->defer = true;
			continue;
		}
		if (next != TAPIR_TIME_NEVER) {
			tapir_time_t wait = next - now; /* above 0: due at once went on */
			ts.tv_sec = (time_t)(wait / 1000000u);
			ts.tv_nsec = (long)(wait % 1000000u) * 1000;
			tsp = &ts;
		}
		pfd[nfds++] = (struct pollfd){.fd = rt->efd, .events = POLLIN};
		if (!rt->ml && rt->drv.fd >= 0 && !rt->link_err)
			pfd[nfds++] = (struct pollfd){.fd = rt->drv.fd, .events = POLLIN};
		for (int i = 0; i < rt->nnets; i++)
			nfds += net_service_fds(rt->nets[i], pfd + nfds);
		/* from here, a core call by another thread must write the eventfd
		 * if it sets a deadline before NEXT */
		for (int i = 0; i < rt->nnets; i++)
			tapir_stack_armed(rt->nets[i]->stack);
		rt->sleep_until = next;
		rt->sleeping = true;
		runner_release(rt);
		/* each wake-up costs a system call less per source that did not
		 * wake it (a failed read says only EAGAIN); a failed ppoll
		 * reads both */
		pfd[0].revents = POLLIN;
		rx = true;
		if (ppoll(pfd, (nfds_t)nfds, tsp, NULL) >= 0)
			rx = nfds > 1 && pfd[1].fd == rt->drv.fd && pfd[1].revents;
		if (pfd[0].revents && read(rt->efd, &v, sizeof(v)) < 0) {
			/* EAGAIN: woken by the driver or the deadline, not the eventfd */
		}
		pthread_mutex_lock(&rt->lock);
		rt->sleeping = false;
		rt->defer = true;
	}
	runner_release(rt);
	return NULL;
}

int tapir_net_link_error(struct tapir_net *net)
{
	int e;
	pthread_mutex_lock(&net->rt->lock);
	e = net->rt->link_err;
	pthread_mutex_unlock(&net->rt->lock);
	return e;
}

const char *tapir_net_link_name(const struct tapir_net *net)
{
	return net->link ? net->link->name : NULL;
}

int tapir_net_start(struct tapir_net *net)
{
	struct net_runner *rt = net->rt;
	int r = 0;
	pthread_mutex_lock(&rt->lock);
	net->started = true;
	if (!rt->running) {
		rt->stop = false;
		r = pthread_create(&rt->thread, NULL, runner_main, rt);
		rt->running = r == 0;
	}
	pthread_mutex_unlock(&rt->lock);
	if (r) {
		errno = r;
		return -1;
	}
	return 0;
}

void tapir_net_stop(struct tapir_net *net)
{
	struct net_runner *rt;
	bool join;
	if (!net)
		return;
	rt = net->rt;
	pthread_mutex_lock(&rt->lock);
	join = rt->running;
	rt->stop = true;
	rt->running = false;
	net_kick(rt);
	pthread_mutex_unlock(&rt->lock);
	if (join)
		pthread_join(rt->thread, NULL);
	pthread_mutex_lock(&rt->lock);
	for (int i = 0; i < rt->nnets; i++)
		if (rt->nets[i] == net)
			rt->nets[i] = NULL;
	pthread_mutex_unlock(&rt->lock);
	net_free(net);
	if (--rt->refs == 0)
		runner_free(rt);
}
