/* tapir-raw — tapir's core on its raw API (include/tapir/tcp.h), one thread,
 * over a TAP device: the counterpart of the lwIP harness (raw API, one
 * thread) and the program that can hold 10,000 connections, which the
 * socket layer's table (TAPIR_NET_MAX_SOCKETS, 256) cannot.
 *
 *   tapir-raw TAP ADDR/LEN TCP_SOCKETS [TCP_MEM_MAX_MIB [TCP_RCVBUF [TCP_SNDBUF]]]
 *
 * (0 or absent: tapir's default; `make bench` uses the defaults, and the
 * buffers grow with use up to tapir host's ceilings, TAPIR_TCP_*BUF_AUTO)
 *
 * Services as in ksrv.c: 7 echo, 9 discard, 19 source.  The loop: read a
 * batch of frames into tapir_stack_input, act on the sockets whose event
 * function fired, run tapir_stack_poll, send the turn's frames and sleep
 * until a frame or the next deadline, to the microsecond, in one system
 * call (tapir_tap_wait: io_uring).  After a turn that took frames in it
 * busy-polls first, as tapir host's stack thread does (tapir/spin.h: the
 * same policy and TAPIR_BUSY_POLL, 50 us unless set, 0 off): a client's
 * next segment is often microseconds away, and a sleep ended by it costs
 * a cross-CPU wake-up.  SIGTERM/SIGINT end it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <tapir/link.h>
#include <tapir/spin.h>
#include <tapir/stack.h>
#include <tapir/tcp.h>

#include "common.h"

enum kind { ECHO, DISCARD, SOURCE };

struct conn {
	struct tapir_tcp *t;
	enum kind kind;
	bool listener, inq, dead;
	struct conn *qnext;
	struct pend pend; /* echo: bytes received and not yet taken by send */
};

static struct conn *qhead, *qtail;
static uint8_t src[65536], sink[65536], ebuf[PEND_CAP];

static tapir_time_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (tapir_time_t)ts.tv_sec * 1000000u + (tapir_time_t)ts.tv_nsec / 1000u;
}

/* Runs inside the core: only note the socket for later. */
static void on_event(void *arg, unsigned events)
{
	struct conn *c = arg;
	(void)events;
	if (c->inq)
		return;
	c->inq = true;
	c->qnext = NULL;
	if (qtail)
		qtail->qnext = c;
	else
		qhead = c;
	qtail = c;
}

static void conn_close(struct conn *c, tapir_time_t now)
{
	tapir_tcp_set_event(c->t, NULL, NULL);
	tapir_tcp_close(c->t, now);
	c->t = NULL;
	free(c->pend.buf);
	c->pend.buf = NULL;
	if (c->inq)
		c->dead = true; /* freed when it leaves the queue */
	else
		free(c);
}

/* false: the connection is over (closed here) */
static bool drain(struct conn *c, uint8_t *buf, size_t cap, tapir_time_t now, long *got)
{
	long n = tapir_tcp_recv(c->t, buf, cap, now);
	*got = n;
	if (n == -EAGAIN)
		return true;
	if (n <= 0) {
		conn_close(c, now);
		return false;
	}
	return true;
}

static void serve(struct conn *c, tapir_time_t now)
{
	long n, sent;
	if (c->listener) {
		struct tapir_tcp *t;
		int err;
		while ((t = tapir_tcp_accept(c->t, &err))) {
			struct conn *nc = calloc(1, sizeof(*nc));
			if (!nc) {
				tapir_tcp_abort(t, now);
				continue;
			}
			nc->t = t;
			nc->kind = c->kind;
			tapir_tcp_setopt(t, TAPIR_TCP_NODELAY, 1);
			tapir_tcp_set_event(t, on_event, nc);
			on_event(nc, 0); /* data may already be there; a source starts */
		}
		return;
	}
	switch (c->kind) {
	case DISCARD:
		for (int i = 0; i < 64; i++) {
			if (!drain(c, sink, sizeof(sink), now, &n))
				return;
			if (n == -EAGAIN)
				break;
		}
		break;
	case SOURCE:
		if (!drain(c, sink, sizeof(sink), now, &n))
			return;
		for (int i = 0; i < 64; i++)
			if (tapir_tcp_send(c->t, src, sizeof(src), now) <= 0)
				break;
		break;
	case ECHO:
		for (int i = 0; i < 64; i++) {
			if (c->pend.len) {
				n = tapir_tcp_send(c->t, c->pend.buf + c->pend.off, c->pend.len, now);
				if (n == -EAGAIN)
					return; /* EV_WRITE brings us back */
				if (n < 0) {
					conn_close(c, now);
					return;
				}
				if (!pend_sent(&c->pend, (size_t)n))
					return;
			}
			if (!drain(c, ebuf, sizeof(ebuf), now, &n))
				return;
			if (n == -EAGAIN)
				return;
			sent = tapir_tcp_send(c->t, ebuf, (size_t)n, now);
			if ((sent < 0 && sent != -EAGAIN) ||
			    !pend_keep(&c->pend, ebuf, (size_t)n, sent > 0 ? (size_t)sent : 0)) {
				conn_close(c, now);
				return;
			}
		}
		break;
	}
}

static void run_queue(tapir_time_t now)
{
	/* bounded: a socket re-queued while served waits for the next turn */
	struct conn *c = qhead;
	qhead = qtail = NULL;
	while (c) {
		struct conn *next = c->qnext;
		c->inq = false;
		if (c->dead)
			free(c);
		else
			serve(c, now);
		c = next;
	}
}

/* The core's own memory accounting (tapir_tcp_mem), on stderr: once a
 * second while the number of connections changes, and at the end.  Per
 * connection: TCB chunks, rings and the hash over the TCBs in use. */
static void mem_report(struct tapir_stack *s, tapir_time_t now, bool last)
{
	static tapir_time_t at;
	static size_t seen = (size_t)-1;
	struct tapir_tcp_mem m;
	if (!last && now - at < 1000000)
		return;
	at = now;
	tapir_tcp_mem(s, &m);
	if (!last && m.tcbs + m.time_wait == seen)
		return;
	seen = m.tcbs + m.time_wait;
	fprintf(stderr,
		"mem tcbs=%zu tcb_size=%zu tcb_bytes=%zu ring_bytes=%zu ring_cache_bytes=%zu "
		"hash_bytes=%zu time_wait=%zu time_wait_bytes=%zu per_conn=%zu\n",
		m.tcbs, m.tcb_size, m.tcb_bytes, m.ring_bytes, m.ring_cache_bytes, m.hash_bytes,
		m.time_wait, m.time_wait_bytes,
		m.tcbs ? (m.tcb_bytes + m.ring_bytes + m.hash_bytes) / m.tcbs : 0);
}

int main(int argc, char **argv)
{
	struct tapir_config cfg;
	struct tapir_stack *s;
	struct tapir_tap *tap;
	uint32_t addr;
	unsigned plen;
	uint8_t mac[6];
	char err[256];
	int ifx;
	bool uring;
	tapir_time_t now, next;
	struct tapir_spin spin;

	if (argc < 4 || tapir_parse_cidr(argv[2], &addr, &plen)) {
		fprintf(stderr, "usage: tapir-raw TAP ADDR/LEN TCP_SOCKETS [TCP_MEM_MAX_MIB [RCVBUF [SNDBUF]]]\n");
		return 2;
	}
	bench_catch_signals();
	tapir_spin_init(&spin, tapir_spin_window(getenv("TAPIR_BUSY_POLL")));
	memset(src, 'x', sizeof(src));
	tapir_config_default(&cfg);
	if (getrandom(&cfg.seed, sizeof(cfg.seed), 0) != sizeof(cfg.seed))
		cfg.seed = mono_us();
	cfg.tcp_sockets = (unsigned)atoi(argv[3]);
	/* buffers that follow their readers and writers, as tapir host's: with
	 * the core's fixed 64 KiB a segment at MTU 65520 fills the window,
	 * and kernel->stack ran stop-and-wait (10-12 Gbit/s where tapir host
	 * moved 33) */
	cfg.tcp_rcvbuf_max = TAPIR_TCP_RCVBUF_AUTO;
	cfg.tcp_sndbuf_max = TAPIR_TCP_SNDBUF_AUTO;
	if (argc > 4 && atol(argv[4]) > 0)
		cfg.tcp_mem_max = (size_t)atol(argv[4]) << 20;
	if (argc > 5 && atol(argv[5]) > 0)
		cfg.tcp_rcvbuf = (uint32_t)atol(argv[5]);
	if (argc > 6 && atol(argv[6]) > 0)
		cfg.tcp_sndbuf = (uint32_t)atol(argv[6]);
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)(cfg.seed >> (8 * i));
	mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02);

	if (!(tap = tapir_tap_open(argv[1], err, sizeof(err)))) {
		fprintf(stderr, "tapir-raw: %s\n", err);
		return 1;
	}
	/* frames through io_uring, as tapir host's (link/tap_uring.c): a
	 * turn's sends in one system call, reads without one; TAPIR_NO_URING=1
	 * (or no io_uring here) keeps one readv/writev per frame */
	uring = tapir_tap_set_uring(tap, true) == 0;
	if (!(s = tapir_stack_new(&cfg))) {
		fprintf(stderr, "tapir-raw: out of memory\n");
		return 1;
	}
	now = mono_us();
	ifx = tapir_iface_add(s, tapir_tap_link(tap), mac, tapir_tap_mtu(tap));
	if (ifx < 0 || tapir_iface_set_ipv4(s, ifx, addr, plen, now) < 0) {
		fprintf(stderr, "tapir-raw: cannot configure the interface\n");
		return 1;
	}
	for (int k = 0; k < 3; k++) {
		static const uint16_t ports[] = {7, 9, 19};
		struct conn *l = calloc(1, sizeof(*l));
		if (!l || !(l->t = tapir_tcp_new(s)) || tapir_tcp_bind(l->t, 0, ports[k]) < 0 ||
		    tapir_tcp_listen(l->t, 1024) < 0) {
			fprintf(stderr, "tapir-raw: cannot listen on %u\n", ports[k]);
			return 1;
		}
		l->kind = (enum kind)k;
		l->listener = true;
		tapir_tcp_set_event(l->t, on_event, l);
	}
	printf("ready mtu=%u tcp_sockets=%u tcp_mem_max_mib=%zu rcvbuf=%u sndbuf=%u uring=%d "
	       "busy_poll_us=%llu\n",
	       tapir_tap_mtu(tap), cfg.tcp_sockets, cfg.tcp_mem_max >> 20, cfg.tcp_rcvbuf,
	       cfg.tcp_sndbuf, uring, (unsigned long long)spin.window);
	fflush(stdout);

	while (!bench_stop) {
		int got = 0;
		now = mono_us();
		/* a connection that read the peer's FIN and closes in this turn
		 * sends one FIN,ACK, not an ACK and then a FIN */
		tapir_stack_defer_acks(s, 1);
		/* the turn's frames leave together at its end */
		tapir_tap_batch(tap, true);
		for (; got < 256; got++) {
			unsigned flags;
			uint8_t *frame;
			/* in place, where the kernel put it: no copy before
			 * the payload's into the receive ring */
			long n = tapir_tap_recv_ref(tap, &frame, &flags);
			if (n <= 0)
				break;
			tapir_stack_input_flags(s, ifx, frame, (size_t)n, now, flags);
		}
		run_queue(now);
		next = tapir_stack_poll(s, now);
		run_queue(now);
		tapir_stack_defer_acks(s, 0);
		next = tapir_stack_poll(s, now);
		mem_report(s, now, false);
		/* a batch short of 256 ended on EAGAIN: the fd is drained, and
		 * reading it again before the wait would only say so again --
		 * unless a spin asks again at once */
		if (got < 256 && !qhead && !tapir_spin_turn(&spin, now, (uint64_t)got, 0)) {
			tapir_time_t wait = next == TAPIR_TIME_NEVER ? 200000
					    : next > now		 ? next - now
									 : 0;
			/* the turn's frames go and the wait begins in one
			 * system call (io_uring), to the microsecond */
			(void)tapir_tap_wait(tap, wait > 200000 ? 200000 : wait);
		} else {
			(void)tapir_tap_batch(tap, false);
			if (got < 256 && !qhead) /* spinning */
				tapir_spin_yield();
		}
	}
	mem_report(s, now, true);
	fprintf(stderr, "busy_poll spins=%llu hits=%llu\n", (unsigned long long)spin.spins,
		(unsigned long long)spin.hits);
	tapir_stack_free(s);
	tapir_tap_close(tap);
	return 0;
}
