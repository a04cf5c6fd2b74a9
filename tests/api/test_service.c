/* tapir_net_set_service / add_service: code on the stack thread, after each turn, under
 * the net's mutex.  B runs a small echo on the core's own TCP API as a
 * service (no thread, no api descriptor per connection); A's application
 * threads are its clients through the Berkeley calls.  The service's
 * returned deadline must wake the stack thread when nothing else would.
 * No assertion depends on how long something took. */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <tapir/tcp.h>

#include "cmt.h"
#include "netpair.h"

#define CONNS 200 /* within A's socket table */
#define MAXC 512

/* The service: a listener, the connections with events since its last
 * run, and counts the test reads under the net's lock. */
struct echo_svc {
	struct tapir_tcp *lis;
	bool lis_ready;
	struct tapir_tcp *conn[MAXC];
	bool ready[MAXC];
	int nconn;
	atomic_uint runs;   /* read without the lock, which would wake the thread */
	unsigned accepted, echoed, closed;
	tapir_time_t tick;  /* > 0: ask to run again this long after each run */
	tapir_time_t now;   /* the time of its last run */
};

static void conn_ev(void *arg, unsigned ev)
{
	bool *ready = arg;
	(void)ev;
	*ready = true; /* the core's event: note it, act in the service */
}

static void lis_ev(void *arg, unsigned ev)
{
	struct echo_svc *e = arg;
	(void)ev;
	e->lis_ready = true;
}

static void step(struct echo_svc *e, int i, tapir_time_t now)
{
	uint8_t buf[2048];
	long n;
	while ((n = tapir_tcp_recv(e->conn[i], buf, sizeof(buf), now)) > 0) {
		assert_int_equal(tapir_tcp_send(e->conn[i], buf, (size_t)n, now), n);
		e->echoed += (unsigned)n;
	}
	if (n != -EAGAIN) { /* the client's end */
		tapir_tcp_set_event(e->conn[i], NULL, NULL);
		tapir_tcp_close(e->conn[i], now);
		e->conn[i] = NULL;
		e->closed++;
	}
}

static tapir_time_t echo_turn(void *arg, struct tapir_stack *s, tapir_time_t now)
{
	struct echo_svc *e = arg;
	struct tapir_tcp *t;
	int err;
	(void)s;
	atomic_fetch_add(&e->runs, 1);
	e->now = now;
	while (e->lis_ready && e->nconn < MAXC) {
		if (!(t = tapir_tcp_accept(e->lis, &err))) {
			e->lis_ready = false;
			break;
		}
		e->conn[e->nconn] = t;
		e->ready[e->nconn] = true; /* data may have come with it */
		tapir_tcp_set_event(t, conn_ev, &e->ready[e->nconn]);
		e->nconn++;
		e->accepted++;
	}
	for (int i = 0; i < e->nconn; i++)
		if (e->ready[i] && e->conn[i]) {
			e->ready[i] = false;
			step(e, i, now);
		}
	return e->tick ? now + e->tick : TAPIR_TIME_NEVER;
}

static void echo_install(struct tapir_net *net, struct echo_svc *e)
{
	memset(e, 0, sizeof(*e));
	tapir_net_lock(net);
	e->lis = tapir_tcp_new(tapir_net_stack(net));
	assert_non_null(e->lis);
	assert_int_equal(tapir_tcp_bind(e->lis, 0, 7), 0);
	assert_int_equal(tapir_tcp_listen(e->lis, 128), 0);
	tapir_tcp_set_event(e->lis, lis_ev, e);
	tapir_net_unlock(net);
	tapir_net_set_service(net, echo_turn, e);
}

/* E lives on the test's stack: before the test returns, the stack thread
 * must be done with it -- no service run, no event callback into it. */
static void echo_remove(struct tapir_net *net, struct echo_svc *e)
{
	tapir_net_remove_service(net, echo_turn, e);
	tapir_net_lock(net);
	for (int i = 0; i < e->nconn; i++)
		if (e->conn[i]) {
			tapir_tcp_set_event(e->conn[i], NULL, NULL);
			tapir_tcp_abort(e->conn[i], e->now);
			e->conn[i] = NULL;
		}
	tapir_tcp_set_event(e->lis, NULL, NULL);
	tapir_tcp_close(e->lis, e->now);
	tapir_net_unlock(net);
}

static int pair_setup(void **state)
{
	struct tapir_config c;
	tapir_config_default(&c);
	c.seed = 11;
	/* a delayed ACK later than the retransmission timers (RFC 1122
	 * 4.2.3.2 allows 500 ms): a segment left waiting is then resent by
	 * one of them, which the counters show (service_loopback) */
	c.tcp_delack_us = TAPIR_MS(450);
	return net_pair_fixture(state, &c, NULL, NULL);
}

static int pair_teardown(void **state)
{
	tapir_net_set_service(((struct net_pair *)*state)->b, NULL, NULL);
	return net_pair_fixture_down(state);
}

/* CONNS connections open at once, each echoing one distinct line, every
 * byte checked, all served by the service alone; then all closed. */
static void echo_all(struct net_pair *p)
{
	struct echo_svc e;
	struct sockaddr_in to = net_sin(NP_B, 7);
	int fd[CONNS];
	unsigned total = 0;
	echo_install(p->b, &e);
	for (int i = 0; i < CONNS; i++) {
		fd[i] = tapir_socket(p->a, AF_INET, SOCK_STREAM, 0);
		assert_true(fd[i] >= 0);
		assert_int_equal(tapir_connect(p->a, fd[i], SA(to), sizeof(to)), 0);
	}
	for (int i = 0; i < CONNS; i++) {
		char msg[32], got[32];
		int n = snprintf(msg, sizeof(msg), "connection %d\n", i);
		assert_int_equal(tapir_send(p->a, fd[i], msg, (size_t)n, 0), n);
		assert_int_equal(tapir_recv(p->a, fd[i], got, (size_t)n, MSG_WAITALL), n);
		assert_memory_equal(got, msg, (size_t)n);
		total += (unsigned)n;
	}
	assert_int_equal(net_locked_read(p->b, &e.accepted), CONNS);
	for (int i = 0; i < CONNS; i++) {
		char c;
		assert_int_equal(tapir_shutdown(p->a, fd[i], SHUT_WR), 0);
		/* the service closes on our FIN: end-of-file */
		assert_int_equal(tapir_recv(p->a, fd[i], &c, 1, 0), 0);
		assert_int_equal(tapir_close(p->a, fd[i]), 0);
	}
	assert_int_equal(net_locked_read(p->b, &e.echoed), total);
	assert_int_equal(net_locked_read(p->b, &e.closed), CONNS);
	echo_remove(p->b, &e);
}

static void service_echo(void **state)
{
	struct net_pair *p = *state;
	uint64_t spins, hits;
	echo_all(p);
	/* busy-polling is off unless asked for: the thread never spun */
	tapir_net_busy_poll_counts(p->b, &spins, &hits);
	assert_int_equal(spins, 0);
}

/* Busy-polling on B's stack thread (tapir_net_set_busy_poll): the same
 * echo, every byte back, and the thread spun after frames came in. */
static void service_busy_poll(void **state)
{
	struct net_pair *p = *state;
	uint64_t spins, hits;
	tapir_net_set_busy_poll(p->b, 50);
	echo_all(p);
	tapir_net_busy_poll_counts(p->b, &spins, &hits);
	assert_true(spins > 0);
	assert_true(hits <= spins);
}

/* A client service on the same net: it connects to the echo over
 * 127.0.0.1, sends TOTAL bytes and reads them back, all on the stack
 * thread (as `tapir run`'s relays talk to each other over the loopback).
 * No assertion here: a failure is noted for the test's thread. */
struct lo_client {
	struct tapir_tcp *t;
	size_t total, sent, got;
	uint64_t timeouts, probes; /* the stack's counts when it began */
	bool bad, resent;
	atomic_bool done;
	tapir_time_t now;
};

#define LO_EXCHANGE 1

static uint8_t lo_byte(size_t i) { return (uint8_t)(i * 7 + (i >> 12)); }

static tapir_time_t lo_client_turn(void *arg, struct tapir_stack *s, tapir_time_t now)
{
	struct lo_client *c = arg;
	uint8_t buf[4096];
	long n;
	c->now = now;
	const struct tapir_stats *st = tapir_stats(s);
	if (!c->t) {
		c->timeouts = st->tcp_timeouts;
		c->probes = st->tcp_tlp_probes;
		c->t = tapir_tcp_new(s);
		c->bad = !c->t || tapir_tcp_connect(c->t, 0x7f000001u, 7, now) < 0;
		return TAPIR_TIME_NEVER;
	}
	/* a retransmission timer fired: a segment waited (the test fails) */
	c->resent |= st->tcp_timeouts != c->timeouts || st->tcp_tlp_probes != c->probes;
	while ((n = tapir_tcp_recv(c->t, buf, sizeof(buf), now)) > 0)
		for (long i = 0; i < n; i++, c->got++)
			c->bad |= buf[i] != lo_byte(c->got);
	/* one exchange at a time: the next bytes go once the last came back,
	 * in the turn that brought them */
	while (c->sent < c->total && c->sent - c->got < LO_EXCHANGE) {
		size_t k = LO_EXCHANGE - (c->sent - c->got);
		if (k > c->total - c->sent)
			k = c->total - c->sent;
		for (size_t i = 0; i < k; i++)
			buf[i] = lo_byte(c->sent + i);
		if ((n = tapir_tcp_send(c->t, buf, k, now)) <= 0)
			break;
		c->sent += (size_t)n;
	}
	if (c->bad || c->resent || c->got == c->total)
		atomic_store(&c->done, true);
	return TAPIR_TIME_NEVER;
}

/* The echo and its client both on the stack thread, over 127.0.0.1:
 * what each sends leaves at the turn's end (tapir_stack_defer_acks) onto
 * the loopback queue, which the thread must take up before it sleeps.
 * Once it slept on it instead, and each exchange waited for a
 * retransmission timeout: every byte comes back, and none fired. */
static void service_loopback(void **state)
{
	struct net_pair *p = *state;
	struct echo_svc e;
	struct lo_client c = {.total = 64 * LO_EXCHANGE};
	echo_install(p->b, &e);
	assert_int_equal(tapir_net_add_service(p->b, lo_client_turn, &c, -1), 0);
	while (!atomic_load(&c.done))
		usleep(1000); /* bounded by ctest's timeout */
	tapir_net_remove_service(p->b, lo_client_turn, &c);
	tapir_net_lock(p->b);
	assert_false(c.bad);
	assert_int_equal(c.got, c.total);
	assert_false(c.resent);
	tapir_tcp_close(c.t, c.now);
	tapir_net_unlock(p->b);
	echo_remove(p->b, &e);
}

/* With no frame and no timer, only the service's own deadline wakes the
 * stack thread: it must run again and again. */
static void service_deadline(void **state)
{
	struct net_pair *p = *state;
	struct echo_svc e;
	unsigned first;
	echo_install(p->b, &e);
	tapir_net_lock(p->b);
	e.tick = TAPIR_MS(10);
	tapir_net_unlock(p->b);
	first = atomic_load(&e.runs);
	while (atomic_load(&e.runs) < first + 20)
		usleep(1000); /* bounded by ctest's timeout */
	echo_remove(p->b, &e);
}

/* A service's kernel descriptor: a byte written to the pipe must wake the
 * stack thread (no frame, no deadline would), and the service reads it. */
struct pipe_svc {
	int rd;
	atomic_uint got, runs;
};

static tapir_time_t pipe_turn(void *arg, struct tapir_stack *s, tapir_time_t now)
{
	struct pipe_svc *ps = arg;
	char buf[16];
	ssize_t n;
	(void)s;
	(void)now;
	atomic_fetch_add(&ps->runs, 1);
	while ((n = read(ps->rd, buf, sizeof(buf))) > 0)
		atomic_fetch_add(&ps->got, (unsigned)n);
	return TAPIR_TIME_NEVER;
}

static tapir_time_t noop_turn(void *arg, struct tapir_stack *s, tapir_time_t now)
{
	(void)arg;
	(void)s;
	(void)now;
	return TAPIR_TIME_NEVER;
}

static void service_fd(void **state)
{
	struct net_pair *p = *state;
	struct pipe_svc ps = {0};
	int fds[2], slot[TAPIR_NET_MAX_SERVICES];
	unsigned runs;
	assert_int_equal(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
	ps.rd = fds[0];
	assert_int_equal(tapir_net_add_service(p->b, pipe_turn, &ps, ps.rd), 0);
	assert_int_equal(tapir_net_add_service(p->b, pipe_turn, &ps, ps.rd), -1);
	assert_int_equal(errno, EEXIST);
	for (unsigned i = 1; i <= 5; i++) {
		assert_int_equal(write(fds[1], "x", 1), 1);
		while (atomic_load(&ps.got) < i)
			usleep(1000); /* bounded by ctest's timeout */
	}
	/* the table holds TAPIR_NET_MAX_SERVICES: one more is ENOSPC */
	for (int i = 1; i < TAPIR_NET_MAX_SERVICES; i++)
		assert_int_equal(tapir_net_add_service(p->b, noop_turn, &slot[i], -1), 0);
	assert_int_equal(tapir_net_add_service(p->b, noop_turn, &slot[0], -1), -1);
	assert_int_equal(errno, ENOSPC);
	/* once removed, it never runs again, whatever the pipe says */
	tapir_net_remove_service(p->b, pipe_turn, &ps);
	runs = atomic_load(&ps.runs);
	assert_int_equal(write(fds[1], "y", 1), 1);
	for (int i = 0; i < 20; i++) {
		tapir_net_lock(p->b); /* a turn of the thread */
		tapir_net_unlock(p->b);
		usleep(1000);
	}
	assert_int_equal(atomic_load(&ps.runs), runs);
	close(fds[0]);
	close(fds[1]);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return CMT_RUN(pair_setup, pair_teardown, service_echo, service_loopback, service_deadline,
			service_fd, service_busy_poll);
}
