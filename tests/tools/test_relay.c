/* tools/relay.c: a relay between a kernel stream descriptor and a tapir
 * connection, on B's stack thread as a service.  A (the in-memory peer)
 * talks through the Berkeley calls; the kernel side is one end of an
 * AF_UNIX socketpair (the gate's case) or a kernel TCP socket on loopback
 * (the --forward case).  Checked: bytes exact both ways, half-close both
 * ways, resets both ways, bounded buffering under backpressure, and the
 * relay's end.  No assertion depends on how long something took. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../common/cmt.h"
#include <tapir/tcp.h>

#include "netpair.h"
#include "relay.h"

#define PORT 9000

struct svc {
	struct relay_loop *loop;
	struct tapir_tcp *lis;
	bool lis_ready;
	int next_fd;    /* the kernel end the next accepted connection gets */
	size_t discard; /* ... and its filler */
	unsigned started, done;
	unsigned turns; /* the service's runs */
	int err;        /* the last relay's end */
	tapir_time_t now;
	int ep;         /* the service's own set, when the relays share it */
};

/* The second round of the tests: the relays in the service's own epoll set
 * (relay_loop_new_shared, as the gate of `tapir run` has them), SHARED_TAG
 * the relays' tag there. */
static bool shared;
#define SHARED_TAG 7

static void done_fn(void *arg, int err)
{
	struct svc *s = arg;
	s->done++;
	s->err = err;
}

static void lis_ev(void *arg, unsigned ev)
{
	(void)ev;
	((struct svc *)arg)->lis_ready = true;
}

static tapir_time_t turn(void *arg, struct tapir_stack *st, tapir_time_t now)
{
	struct svc *s = arg;
	struct tapir_tcp *t;
	int err;
	(void)st;
	s->now = now;
	s->turns++;
	while (s->lis_ready && s->next_fd >= 0) {
		if (!(t = tapir_tcp_accept(s->lis, &err))) {
			s->lis_ready = false;
			break;
		}
		assert_non_null(relay_start(s->loop, s->next_fd, t, s->discard, done_fn, s, now));
		s->next_fd = -1;
		s->started++;
	}
	if (s->ep >= 0) {
		struct epoll_event ev[16];
		int n = epoll_wait(s->ep, ev, 16, 0);
		for (int i = 0; i < n; i++) {
			assert_int_equal(*(int *)ev[i].data.ptr, SHARED_TAG);
			relay_loop_event(s->loop, ev[i].data.ptr, ev[i].events);
		}
		return n == 16 ? now : relay_loop_step(s->loop, now, false);
	}
	return relay_loop_run(s->loop, now);
}

static int setup(void **state)
{
	struct net_pair *p = calloc(1, sizeof(*p));
	struct svc *s = calloc(1, sizeof(*s));
	struct tapir_config c;
	void **st = calloc(2, sizeof(void *));
	tapir_config_default(&c);
	c.seed = 5;
	net_pair_up(p, &c, NULL, NULL);
	s->next_fd = -1;
	s->ep = shared ? epoll_create1(EPOLL_CLOEXEC) : -1;
	assert_non_null(s->loop = shared ? relay_loop_new_shared(s->ep, SHARED_TAG) : relay_loop_new());
	tapir_net_lock(p->b);
	s->lis = tapir_tcp_new(tapir_net_stack(p->b));
	assert_int_equal(tapir_tcp_bind(s->lis, 0, PORT), 0);
	assert_int_equal(tapir_tcp_listen(s->lis, 16), 0);
	tapir_tcp_set_event(s->lis, lis_ev, s);
	tapir_net_unlock(p->b);
	assert_int_equal(tapir_net_add_service(p->b, turn, s, shared ? s->ep : relay_loop_fd(s->loop)), 0);
	st[0] = p;
	st[1] = s;
	*state = st;
	return 0;
}

static int teardown(void **state)
{
	void **st = *state;
	struct net_pair *p = st[0];
	struct svc *s = st[1];
	tapir_net_remove_service(p->b, turn, s);
	tapir_net_lock(p->b);
	relay_loop_free(s->loop, s->now);
	tapir_tcp_set_event(s->lis, NULL, NULL);
	tapir_tcp_close(s->lis, s->now);
	tapir_net_unlock(p->b);
	net_pair_down(p);
	if (s->ep >= 0)
		close(s->ep);
	free(p);
	free(s);
	free(st);
	return 0;
}

/* Waits (boundedly, by polling the count) until the relay has ended. */
static int wait_done(struct net_pair *p, struct svc *s, unsigned n)
{
	int err;
	for (int i = 0; i < 20000 && net_locked_read(p->b, &s->done) < n; i++)
		usleep(500);
	assert_int_equal(net_locked_read(p->b, &s->done), n);
	tapir_net_lock(p->b);
	err = s->err;
	tapir_net_unlock(p->b);
	return err;
}

/* A connects to B; the accepted connection is relayed to KFD. */
static int connect_relayed(struct net_pair *p, struct svc *s, int kfd, size_t discard)
{
	struct sockaddr_in to = net_sin(NP_B, PORT);
	int fd;
	tapir_net_lock(p->b);
	s->next_fd = kfd;
	s->discard = discard;
	tapir_net_unlock(p->b);
	fd = tapir_socket(p->a, AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(tapir_connect(p->a, fd, SA(to), sizeof(to)), 0);
	return fd;
}

/* Pattern bytes (SEED + offset) on a kernel-side FD: kernel_writer
 * writes LEN of them, then shuts down; kernel_reader reads to EOF,
 * counting them in GOT, OK while each is right. */
struct stream {
	int fd;
	uint8_t seed;
	size_t len, got;
	bool ok;
};

static void *kernel_writer(void *arg)
{
	struct stream *b = arg;
	uint8_t buf[8192];
	for (size_t done = 0; done < b->len;) {
		size_t n = b->len - done < sizeof(buf) ? b->len - done : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)(b->seed + done + i);
		ssize_t w = write(b->fd, buf, n);
		assert_true(w > 0);
		done += (size_t)w;
	}
	shutdown(b->fd, SHUT_WR);
	return NULL;
}

static void kernel_pair(int sp[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	/* as an accepted socket's app end: a writer ahead of the relay fills
	 * its reads, so they are cut into whole segments */
	relay_unix_sndbuf(sp[0]);
}

/* The start of a relay test: P and S from the state, a kernel socket
 * pair SP whose SP[1] the service relays to, and A's connection to it. */
static int test_start(void **state, struct net_pair **p, struct svc **s, int sp[2])
{
	void **st = *state;
	*p = st[0];
	*s = st[1];
	kernel_pair(sp);
	return connect_relayed(*p, *s, sp[1], 0);
}

/* Reads FD to EOF, checking the pattern. */
static void *kernel_reader(void *arg)
{
	struct stream *rd = arg;
	uint8_t in[65536];
	rd->ok = true;
	for (;;) {
		ssize_t r = read(rd->fd, in, sizeof(in));
		if (r <= 0) {
			rd->ok &= r == 0;
			return NULL;
		}
		for (ssize_t i = 0; i < r; i++)
			rd->ok &= in[i] == (uint8_t)(rd->seed + rd->got + (size_t)i);
		rd->got += (size_t)r;
	}
}

/* 1 MiB each way at once, byte-exact; then half-closes both ways: the
 * kernel side's EOF is A's EOF, A's FIN is the kernel side's EOF, and the
 * relay ends in order (0). */
static void relay_bytes_and_half_close(void **state)
{
	struct net_pair *p;
	struct svc *s;
	int sp[2], fd = test_start(state, &p, &s, sp);
	const size_t len = 1 << 20;
	pthread_t tw, tr;
	struct stream b, rd;
	uint8_t buf[8192];
	size_t got = 0;
	b = (struct stream){.fd = sp[0], .seed = 7, .len = len};
	rd = (struct stream){.fd = sp[0], .seed = 3};
	assert_int_equal(pthread_create(&tw, NULL, kernel_writer, &b), 0);
	assert_int_equal(pthread_create(&tr, NULL, kernel_reader, &rd), 0);
	for (size_t sent = 0; sent < len;) {
		size_t n = sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)(3 + sent + i);
		assert_int_equal(tapir_send(p->a, fd, buf, n, 0), (ssize_t)n);
		sent += n;
	}
	/* A's FIN: the kernel side reads EOF after the last byte */
	assert_int_equal(tapir_shutdown(p->a, fd, SHUT_WR), 0);
	for (;;) { /* A reads the kernel side's bytes, then EOF */
		ssize_t r = tapir_recv(p->a, fd, buf, sizeof(buf), 0);
		assert_true(r >= 0);
		if (r == 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			assert_int_equal(buf[i], (uint8_t)(7 + got + (size_t)i));
		got += (size_t)r;
	}
	assert_int_equal(got, len);
	pthread_join(tw, NULL);
	pthread_join(tr, NULL);
	assert_true(rd.ok);
	assert_int_equal(rd.got, len);
	assert_int_equal(wait_done(p, s, 1), 0);
	tapir_close(p->a, fd);
	close(sp[0]);
}

/* The filler of an unconnected `tapir run` socket is dropped, not sent. */
static void relay_discards_filler(void **state)
{
	void **st = *state;
	struct net_pair *p = st[0];
	struct svc *s = st[1];
	int sp[2], fd;
	char fill[3000], got[16];
	kernel_pair(sp);
	memset(fill, 'f', sizeof(fill));
	assert_int_equal(write(sp[0], fill, sizeof(fill)), (ssize_t)sizeof(fill));
	assert_int_equal(write(sp[0], "hello", 5), 5);
	fd = connect_relayed(p, s, sp[1], sizeof(fill));
	assert_int_equal(tapir_recv(p->a, fd, got, 5, MSG_WAITALL), 5);
	assert_memory_equal(got, "hello", 5);
	close(sp[0]); /* the last close: A sees FIN */
	assert_int_equal(tapir_recv(p->a, fd, got, 1, 0), 0);
	assert_int_equal(wait_done(p, s, 1), 0);
	tapir_close(p->a, fd);
}

/* A resets (SO_LINGER {1, 0}): the kernel end is closed, the relay ends
 * with ECONNRESET. */
static void relay_tapir_reset(void **state)
{
	struct net_pair *p;
	struct svc *s;
	int sp[2], fd = test_start(state, &p, &s, sp);
	struct linger lg = {1, 0};
	char c;
	assert_int_equal(tapir_send(p->a, fd, "x", 1, 0), 1);
	assert_int_equal(read(sp[0], &c, 1), 1);
	assert_int_equal(tapir_setsockopt(p->a, fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	assert_int_equal(tapir_close(p->a, fd), 0);
	assert_int_equal(wait_done(p, s, 1), -ECONNRESET);
	assert_int_equal(read(sp[0], &c, 1), 0); /* AF_UNIX: plain close */
	close(sp[0]);
}

/* The kernel side closes with data it never read: the gate end reads
 * ECONNRESET, and A's connection is reset. */
static void relay_kernel_reset(void **state)
{
	struct net_pair *p;
	struct svc *s;
	int sp[2], fd = test_start(state, &p, &s, sp);
	char c;
	struct pollfd pf;
	assert_int_equal(tapir_send(p->a, fd, "unread", 6, 0), 6);
	pf = (struct pollfd){.fd = sp[0], .events = POLLIN};
	assert_int_equal(poll(&pf, 1, 10000), 1);
	close(sp[0]);
	assert_int_equal(tapir_recv(p->a, fd, &c, 1, 0), -1);
	assert_int_equal(errno, ECONNRESET);
	assert_int_equal(wait_done(p, s, 1), -ECONNRESET);
	tapir_close(p->a, fd);
}

/* A never reads: the kernel side can write only so much before its
 * writes block (EAGAIN) -- the relay holds at most RELAY_BUF of it. */
static void relay_backpressure(void **state)
{
	struct net_pair *p;
	struct svc *s;
	int sp[2], fd = test_start(state, &p, &s, sp);
	char buf[4096];
	size_t wrote = 0, got = 0;
	unsigned turns;
	fcntl(sp[0], F_SETFL, O_NONBLOCK);
	memset(buf, 'b', sizeof(buf));
	for (int idle = 0; idle < 200 && wrote < (64u << 20);) {
		ssize_t w = write(sp[0], buf, sizeof(buf));
		if (w > 0) {
			wrote += (size_t)w;
			idle = 0;
		} else {
			assert_int_equal(errno, EAGAIN);
			idle++;
			usleep(1000);
		}
	}
	/* it stopped: bounded by the windows and buffers on the way */
	assert_true(wrote < (64u << 20));
	/* ... and the relay waits for tapir's room without turning the loop:
	 * FD's waiting bytes are not asked for again and again (a stack thread
	 * with nothing to do turns for its timers only, a few times) */
	turns = net_locked_read(p->b, &s->turns);
	usleep(200000);
	turns = net_locked_read(p->b, &s->turns) - turns;
	assert_true(turns < 100);
	/* then everything arrives once A reads */
	shutdown(sp[0], SHUT_WR);
	for (;;) {
		ssize_t r = tapir_recv(p->a, fd, buf, sizeof(buf), 0);
		assert_true(r >= 0);
		if (r == 0)
			break;
		got += (size_t)r;
	}
	assert_int_equal(got, wrote);
	tapir_close(p->a, fd);
	assert_int_equal(wait_done(p, s, 1), 0);
	close(sp[0]);
}

/* The --forward case: a kernel TCP socket.  A's RST becomes the kernel
 * peer's ECONNRESET (SO_LINGER {1, 0} on the relayed socket). */
static void relay_kernel_tcp_reset(void **state)
{
	void **st = *state;
	struct net_pair *p = st[0];
	struct svc *s = st[1];
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sin);
	int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), k, fd;
	struct linger lg = {1, 0};
	char ch;
	assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &sl), 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sin, sizeof(sin)), 0);
	k = accept(l, NULL, NULL);
	assert_true(k >= 0);
	fd = connect_relayed(p, s, k, 0);
	assert_int_equal(write(c, "ping", 4), 4);
	assert_int_equal(tapir_recv(p->a, fd, &ch, 1, 0), 1);
	assert_int_equal(tapir_setsockopt(p->a, fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	assert_int_equal(tapir_close(p->a, fd), 0);
	assert_int_equal(wait_done(p, s, 1), -ECONNRESET);
	assert_int_equal(read(c, &ch, 1), -1);
	assert_int_equal(errno, ECONNRESET);
	close(c);
	close(l);
}

int main(void)
{
	int r = CMT_RUN(setup, teardown, relay_bytes_and_half_close, relay_discards_filler,
			relay_tapir_reset, relay_kernel_reset, relay_backpressure,
			relay_kernel_tcp_reset);
	shared = true;
	return r | CMT_RUN(setup, teardown, relay_bytes_and_half_close, relay_discards_filler,
			   relay_tapir_reset, relay_kernel_reset, relay_backpressure,
			   relay_kernel_tcp_reset);
}
