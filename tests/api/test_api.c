/* The socket layer, end to end: two nets joined by the in-memory link,
 * driven in real time by their stack thread, used from application threads
 * through the Berkeley calls alone.  Each test builds its own pair.
 *
 * No assertion depends on how long something took: waits that must end
 * are bounded only by ctest's timeout, and waits that must NOT end (a
 * timeout expiring) check the errno, not the clock. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "netpair.h"

#define NOBODY 0x0a000063u /* 10.0.0.99: no host there */

/* What a test asks of its pair (cmocka's initial state; NULL: nothing). */
struct api_opts {
	void (*tune)(struct tapir_config *c); /* changes the defaults instead of config's */
};

/* The config a test runs: the defaults changed by the test's own TUNE,
 * or else by these. */
static void config(struct tapir_config *c, const struct api_opts *o)
{
	tapir_config_default(c);
	if (o && o->tune) {
		o->tune(c);
		return;
	}
	c->seed = 7;
	/* short timers so the error paths finish fast; they do not change
	 * what the tests check */
	c->tcp_rto_initial_us = TAPIR_MS(200);
	c->arp_retry_us = TAPIR_MS(100);
	c->arp_retries = 2;
}

/* The fixture: the pair, up; torn down after the test whatever happened. */
static int pair_setup(void **state)
{
	struct tapir_config c;
	config(&c, *state);
	return net_pair_fixture(state, &c, NULL, NULL);
}

static int pair_teardown(void **state)
{
	return net_pair_fixture_down(state);
}

#define API_TEST(f, opts) cmocka_unit_test_prestate_setup_teardown(f, pair_setup, pair_teardown, (void *)(opts))

static int tcp_listener(struct tapir_net *net, uint16_t port, int backlog)
{
	int fd = tapir_socket(net, AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in s = net_sin(0, port);
	assert_true(fd >= 0);
	assert_int_equal(tapir_setsockopt(net, fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(tapir_bind(net, fd, SA(s), sizeof(s)), 0);
	assert_int_equal(tapir_listen(net, fd, backlog), 0);
	return fd;
}

static int tcp_connect_to(struct tapir_net *net, uint32_t addr, uint16_t port)
{
	int fd = tapir_socket(net, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in s = net_sin(addr, port);
	assert_true(fd >= 0);
	assert_int_equal(tapir_connect(net, fd, SA(s), sizeof(s)), 0);
	return fd;
}

static void send_all(struct tapir_net *net, int fd, const void *buf, size_t len)
{
	assert_int_equal(tapir_send(net, fd, buf, len, 0), (ssize_t)len);
}

static size_t recv_full(struct tapir_net *net, int fd, void *buf, size_t len)
{
	ssize_t n = tapir_recv(net, fd, buf, len, MSG_WAITALL);
	assert_true(n >= 0);
	return (size_t)n;
}

/* ---- an echo server in its own thread: one thread per connection ---- */

struct echo_conn {
	struct tapir_net *net;
	int fd;
};

static void *echo_conn_main(void *arg)
{
	struct echo_conn *c = arg;
	char buf[4096];
	ssize_t n;
	while ((n = tapir_recv(c->net, c->fd, buf, sizeof(buf), 0)) > 0)
		if (tapir_send(c->net, c->fd, buf, (size_t)n, 0) != n)
			break;
	tapir_close(c->net, c->fd);
	free(c);
	return NULL;
}

struct echo_server {
	struct tapir_net *net;
	int lfd, conns;
	pthread_t thread;
};

static void *echo_server_main(void *arg)
{
	struct echo_server *e = arg;
	pthread_t th[64];
	int n = 0;
	while (n < e->conns) {
		struct sockaddr_in peer;
		socklen_t plen = sizeof(peer);
		struct echo_conn *c = malloc(sizeof(*c));
		c->net = e->net;
		c->fd = tapir_accept(e->net, e->lfd, SA(peer), &plen);
		if (c->fd < 0) {
			free(c);
			break;
		}
		pthread_create(&th[n++], NULL, echo_conn_main, c);
	}
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	return NULL;
}

static void echo_server_start(struct echo_server *e, struct tapir_net *net, uint16_t port,
			      int conns)
{
	e->net = net;
	e->conns = conns;
	e->lfd = tcp_listener(net, port, 128);
	pthread_create(&e->thread, NULL, echo_server_main, e);
}

static void echo_server_join(struct echo_server *e)
{
	pthread_join(e->thread, NULL);
	assert_int_equal(tapir_close(e->net, e->lfd), 0);
}

/* ---- UDP ---- */

static void udp_sendto_recvfrom(void **state)
{
	struct net_pair *p = *state;
	struct sockaddr_in b = net_sin(NP_B, 7), from;
	socklen_t flen = sizeof(from);
	char buf[64];
	int ua, ub;
	ub = tapir_socket(p->b, AF_INET, SOCK_DGRAM, 0);
	ua = tapir_socket(p->a, AF_INET, SOCK_DGRAM, 0);
	assert_true(ua >= 0 && ub >= 0);
	assert_int_equal(tapir_bind(p->b, ub, SA(b), sizeof(b)), 0);
	assert_int_equal(tapir_sendto(p->a, ua, "hello", 5, 0, SA(b), sizeof(b)), 5);
	/* recvfrom fills the source address (UNP 8.2) */
	assert_int_equal(tapir_recvfrom(p->b, ub, buf, sizeof(buf), 0, SA(from), &flen), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(flen, sizeof(from));
	assert_int_equal(ntohl(from.sin_addr.s_addr), NP_A);
	assert_true(ntohs(from.sin_port) != 0);
	/* answer to that address */
	assert_int_equal(tapir_sendto(p->b, ub, "world!", 6, 0, SA(from), flen), 6);
	flen = sizeof(from);
	assert_int_equal(tapir_recvfrom(p->a, ua, buf, 3, 0, SA(from), &flen), 3); /* truncated */
	assert_memory_equal(buf, "wor", 3);
	assert_int_equal(ntohl(from.sin_addr.s_addr), NP_B);
	assert_int_equal(ntohs(from.sin_port), 7);
	/* nothing more queued: non-blocking says EAGAIN */
	assert_int_equal(tapir_recv(p->a, ua, buf, sizeof(buf), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(tapir_close(p->a, ua), 0);
	assert_int_equal(tapir_close(p->b, ub), 0);
}

static void udp_connected_refused(void **state)
{
	struct net_pair *p = *state;
	struct sockaddr_in b = net_sin(NP_B, 9999), peer;
	struct timeval tv = {5, 0}; /* a safety net only: the error comes first */
	socklen_t plen = sizeof(peer);
	char buf[16];
	int u;
	u = tapir_socket(p->a, AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(tapir_setsockopt(p->a, u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(tapir_connect(p->a, u, SA(b), sizeof(b)), 0);
	assert_int_equal(tapir_getpeername(p->a, u, SA(peer), &plen), 0);
	assert_int_equal(ntohs(peer.sin_port), 9999);
	assert_int_equal(tapir_send(p->a, u, "x", 1, 0), 1);
	/* B answers port unreachable; a connected socket gets it on the next
	 * call (UNP 8.11) */
	assert_int_equal(tapir_recv(p->a, u, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, ECONNREFUSED);
	/* reported once */
	assert_int_equal(tapir_recv(p->a, u, buf, sizeof(buf), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(tapir_close(p->a, u), 0);
}

/* ---- TCP ---- */

static void tcp_echo(void **state)
{
	struct net_pair *p = *state;
	struct echo_server e;
	struct sockaddr_in name;
	socklen_t nlen = sizeof(name);
	char buf[64];
	int fd;
	echo_server_start(&e, p->b, 7, 1);
	fd = tcp_connect_to(p->a, NP_B, 7);
	assert_int_equal(tapir_getpeername(p->a, fd, SA(name), &nlen), 0);
	assert_int_equal(ntohl(name.sin_addr.s_addr), NP_B);
	assert_int_equal(ntohs(name.sin_port), 7);
	nlen = sizeof(name);
	assert_int_equal(tapir_getsockname(p->a, fd, SA(name), &nlen), 0);
	assert_int_equal(ntohl(name.sin_addr.s_addr), NP_A);
	send_all(p->a, fd, "ping pong", 9);
	assert_int_equal(recv_full(p->a, fd, buf, 9), 9);
	assert_memory_equal(buf, "ping pong", 9);
	assert_int_equal(tapir_close(p->a, fd), 0);
	echo_server_join(&e);
}

#define MANY 50

struct client_arg {
	struct tapir_net *net;
	int id, ok;
};

static void *many_client(void *arg)
{
	struct client_arg *c = arg;
	struct sockaddr_in s = net_sin(NP_B, 7);
	char out[256], in[256];
	int fd = tapir_socket(c->net, AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || tapir_connect(c->net, fd, SA(s), sizeof(s)) < 0)
		return NULL;
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (char)(c->id * 7 + i);
	for (int round = 0; round < 4; round++) {
		if (tapir_send(c->net, fd, out, sizeof(out), 0) != (ssize_t)sizeof(out))
			goto done;
		if (tapir_recv(c->net, fd, in, sizeof(in), MSG_WAITALL) != (ssize_t)sizeof(in))
			goto done;
		if (memcmp(in, out, sizeof(in)))
			goto done;
	}
	c->ok = 1;
done:
	tapir_close(c->net, fd);
	return NULL;
}

static void tcp_many_connections(void **state)
{
	struct net_pair *p = *state;
	struct echo_server e;
	struct client_arg args[MANY];
	pthread_t th[MANY];
	echo_server_start(&e, p->b, 7, MANY);
	for (int i = 0; i < MANY; i++) {
		args[i] = (struct client_arg){.net = p->a, .id = i};
		pthread_create(&th[i], NULL, many_client, &args[i]);
	}
	for (int i = 0; i < MANY; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].ok, 1);
	}
	echo_server_join(&e);
}

#define BIG (1024 * 1024)

struct sink {
	struct tapir_net *net;
	int lfd;
	size_t got;
	int exact;
};

static void *sink_main(void *arg)
{
	struct sink *k = arg;
	static uint8_t buf[8192];
	ssize_t n;
	int fd = tapir_accept(k->net, k->lfd, NULL, NULL);
	k->exact = 1;
	while (fd >= 0 && (n = tapir_recv(k->net, fd, buf, sizeof(buf), 0)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != (uint8_t)((k->got + (size_t)i) % 251))
				k->exact = 0;
		k->got += (size_t)n;
	}
	/* tell the sender the count, then end */
	if (fd >= 0) {
		uint64_t got = k->got;
		tapir_send(k->net, fd, &got, sizeof(got), 0);
		tapir_close(k->net, fd);
	}
	return NULL;
}

static void tcp_1mb_exact(void **state)
{
	struct net_pair *p = *state;
	struct sink k = {0};
	pthread_t th;
	uint8_t *data = malloc(BIG);
	uint64_t echoed = 0;
	int fd;
	for (size_t i = 0; i < BIG; i++)
		data[i] = (uint8_t)(i % 251);
	k.net = p->b;
	k.lfd = tcp_listener(p->b, 5001, 4);
	pthread_create(&th, NULL, sink_main, &k);
	fd = tcp_connect_to(p->a, NP_B, 5001);
	/* one blocking send takes it all (it loops over the full buffer) */
	send_all(p->a, fd, data, BIG);
	assert_int_equal(tapir_shutdown(p->a, fd, SHUT_WR), 0);
	assert_int_equal(recv_full(p->a, fd, &echoed, sizeof(echoed)), sizeof(echoed));
	assert_int_equal(echoed, BIG);
	assert_int_equal(tapir_recv(p->a, fd, &echoed, sizeof(echoed), 0), 0); /* EOF */
	pthread_join(th, NULL);
	assert_int_equal(k.got, BIG);
	assert_int_equal(k.exact, 1);
	assert_int_equal(tapir_close(p->a, fd), 0);
	assert_int_equal(tapir_close(p->b, k.lfd), 0);
	free(data);
}

static void tcp_connect_refused(void **state)
{
	struct net_pair *p = *state;
	struct sockaddr_in s = net_sin(NP_B, 4444);
	int fd;
	fd = tapir_socket(p->a, AF_INET, SOCK_STREAM, 0);
	/* B answers the SYN with RST: UNP 4.3 "hard error" */
	assert_int_equal(tapir_connect(p->a, fd, SA(s), sizeof(s)), -1);
	assert_int_equal(errno, ECONNREFUSED);
	assert_int_equal(tapir_close(p->a, fd), 0);
}

static bool drop_tcp_to_81(void *arg, const uint8_t *f, size_t len)
{
	size_t ihl;
	(void)arg;
	if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00 || f[14 + 9] != 6)
		return false;
	ihl = (size_t)(f[14] & 15) * 4;
	return len >= 14 + ihl + 4 && f[14 + ihl + 2] == 0 && f[14 + ihl + 3] == 81;
}

static void syn_retries_2(struct tapir_config *c)
{
	c->tcp_rto_initial_us = TAPIR_MS(100);
	c->tcp_syn_retries = 2; /* 100 + 200 + 400 ms */
}

static const struct api_opts syn_retries_2_opts = {syn_retries_2};

static void tcp_connect_timeout(void **state)
{
	struct net_pair *p = *state;
	struct sockaddr_in s = net_sin(NP_B, 81);
	int fd;
	/* B's link swallows every segment to port 81: a peer that never
	 * answers, though ARP works */
	tapir_net_set_rx_filter(p->b, drop_tcp_to_81, NULL);
	fd = tapir_socket(p->a, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(tapir_connect(p->a, fd, SA(s), sizeof(s)), -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_int_equal(tapir_close(p->a, fd), 0);
}

static void tcp_connect_unreachable(void **state)
{
	struct net_pair *p = *state;
	struct sockaddr_in s = net_sin(NOBODY, 80);
	int fd;
	fd = tapir_socket(p->a, AF_INET, SOCK_STREAM, 0);
	/* nobody answers ARP for 10.0.0.99: RFC 1122 2.3.2.2, host unreachable */
	assert_int_equal(tapir_connect(p->a, fd, SA(s), sizeof(s)), -1);
	assert_int_equal(errno, EHOSTUNREACH);
	assert_int_equal(tapir_close(p->a, fd), 0);
	/* and no route at all */
	s = net_sin(0xc0a80001u, 80);
	fd = tapir_socket(p->a, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(tapir_connect(p->a, fd, SA(s), sizeof(s)), -1);
	assert_int_equal(errno, ENETUNREACH);
	assert_int_equal(tapir_close(p->a, fd), 0);
}

static void bind_in_use(void **state)
{
	struct net_pair *p = *state;
	struct sockaddr_in s = net_sin(0, 8080);
	int t1, t2, u1, u2;
	t1 = tcp_listener(p->a, 8080, 4);
	t2 = tapir_socket(p->a, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(tapir_bind(p->a, t2, SA(s), sizeof(s)), -1);
	assert_int_equal(errno, EADDRINUSE);
	u1 = tapir_socket(p->a, AF_INET, SOCK_DGRAM, 0);
	u2 = tapir_socket(p->a, AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(tapir_bind(p->a, u1, SA(s), sizeof(s)), 0);
	assert_int_equal(tapir_bind(p->a, u2, SA(s), sizeof(s)), -1);
	assert_int_equal(errno, EADDRINUSE);
	/* an address not ours */
	s = net_sin(NOBODY, 8081);
	assert_int_equal(tapir_bind(p->a, u2, SA(s), sizeof(s)), -1);
	assert_int_equal(errno, EADDRNOTAVAIL);
	for (int fd = 0; fd < 4; fd++)
		assert_int_equal(tapir_close(p->a, fd), 0);
	(void)t1;
}

static void backlog_overflow(void **state)
{
	struct net_pair *p = *state;
	struct sockaddr_in s = net_sin(NP_B, 9000);
	struct pollfd pfd;
	int l, c1, c2, a1, a2, err;
	socklen_t elen = sizeof(err);
	l = tcp_listener(p->b, 9000, 1);
	c1 = tcp_connect_to(p->a, NP_B, 9000); /* fills the backlog of 1 */
	c2 = tapir_socket(p->a, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_int_equal(tapir_connect(p->a, c2, SA(s), sizeof(s)), -1);
	assert_int_equal(errno, EINPROGRESS);
	/* the full queue drops c2's SYN silently (UNP 4.5): no RST, so no
	 * POLLOUT while c1 waits to be accepted */
	pfd = (struct pollfd){.fd = c2, .events = POLLOUT};
	assert_int_equal(tapir_poll(p->a, &pfd, 1, 300), 0);
	/* accept drains the queue; the retransmitted SYN gets in */
	a1 = tapir_accept(p->b, l, NULL, NULL);
	assert_true(a1 >= 0);
	assert_int_equal(tapir_poll(p->a, &pfd, 1, -1), 1);
	assert_true(pfd.revents & POLLOUT);
	assert_int_equal(tapir_getsockopt(p->a, c2, SOL_SOCKET, SO_ERROR, &err, &elen), 0);
	assert_int_equal(err, 0);
	a2 = tapir_accept(p->b, l, NULL, NULL);
	assert_true(a2 >= 0);
	send_all(p->a, c2, "ok", 2);
	{
		char b[2];
		assert_int_equal(recv_full(p->b, a2, b, 2), 2);
	}
	tapir_close(p->a, c1);
	tapir_close(p->a, c2);
	tapir_close(p->b, a1);
	tapir_close(p->b, a2);
	tapir_close(p->b, l);
}

static void linger_zero_resets(void **state)
{
	struct net_pair *p = *state;
	struct linger lg = {1, 0};
	char buf[8];
	int l, c, a;
	l = tcp_listener(p->b, 9001, 4);
	c = tcp_connect_to(p->a, NP_B, 9001);
	a = tapir_accept(p->b, l, NULL, NULL);
	assert_true(a >= 0);
	send_all(p->a, c, "abc", 3);
	assert_int_equal(recv_full(p->b, a, buf, 3), 3);
	assert_int_equal(tapir_setsockopt(p->a, c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	/* UNP 7.5: l_linger 0 aborts: RST, not FIN */
	assert_int_equal(tapir_close(p->a, c), 0);
	assert_int_equal(tapir_recv(p->b, a, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, ECONNRESET);
	/* the error is reported once; a write afterwards is EPIPE (UNP 5.13,
	 * without SIGPIPE) */
	assert_int_equal(tapir_send(p->b, a, "x", 1, 0), -1);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(tapir_close(p->b, a), 0);
	assert_int_equal(tapir_close(p->b, l), 0);
}

static void linger_drains(void **state)
{
	struct net_pair *p = *state;
	struct linger lg = {1, 30};
	static uint8_t data[150000], in[150000];
	int l, c, a;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13);
	l = tcp_listener(p->b, 9002, 4);
	c = tcp_connect_to(p->a, NP_B, 9002);
	a = tapir_accept(p->b, l, NULL, NULL);
	assert_int_equal(tapir_setsockopt(p->a, c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	/* A's send buffer (128 KiB) plus B's window (64 KiB) hold it all,
	 * so the blocking send returns before anyone reads */
	send_all(p->a, c, data, sizeof(data));
	{
		struct linger got;
		socklen_t glen = sizeof(got);
		assert_int_equal(tapir_getsockopt(p->a, c, SOL_SOCKET, SO_LINGER, &got, &glen), 0);
		assert_int_equal(got.l_onoff, 1);
		assert_int_equal(got.l_linger, 30);
	}
	/* UNP 7.5: close returns once data and FIN are acknowledged.  B
	 * reads enough first that the rest (and the FIN) fit its window, as
	 * this one thread cannot read while close waits */
	assert_int_equal(recv_full(p->b, a, in, 100000), 100000);
	assert_int_equal(tapir_close(p->a, c), 0);
	assert_int_equal(recv_full(p->b, a, in + 100000, 50000), 50000);
	assert_memory_equal(in, data, sizeof(data));
	assert_int_equal(tapir_recv(p->b, a, in, 1, 0), 0);
	assert_int_equal(tapir_close(p->b, a), 0);
	assert_int_equal(tapir_close(p->b, l), 0);
}

static void nonblocking_connect_poll(void **state)
{
	struct net_pair *p = *state;
	struct sockaddr_in s = net_sin(NP_B, 9003);
	struct pollfd pfd;
	int l, c, a, err, fl;
	socklen_t elen = sizeof(err);
	l = tcp_listener(p->b, 9003, 4);
	c = tapir_socket(p->a, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(tapir_fcntl(p->a, c, F_SETFL, O_NONBLOCK), 0);
	fl = tapir_fcntl(p->a, c, F_GETFL, 0);
	assert_true(fl & O_NONBLOCK);
	assert_int_equal(tapir_connect(p->a, c, SA(s), sizeof(s)), -1);
	assert_int_equal(errno, EINPROGRESS);
	pfd = (struct pollfd){.fd = c, .events = POLLOUT | POLLIN};
	assert_int_equal(tapir_poll(p->a, &pfd, 1, -1), 1);
	assert_int_equal(pfd.revents, POLLOUT);
	assert_int_equal(tapir_getsockopt(p->a, c, SOL_SOCKET, SO_ERROR, &err, &elen), 0);
	assert_int_equal(err, 0);
	/* the listener polls readable when a connection waits */
	pfd = (struct pollfd){.fd = l, .events = POLLIN};
	assert_int_equal(tapir_poll(p->b, &pfd, 1, -1), 1);
	assert_true(pfd.revents & POLLIN);
	a = tapir_accept(p->b, l, NULL, NULL);
	assert_true(a >= 0);
	/* nothing to read yet: non-blocking recv says EAGAIN */
	{
		char b[4];
		assert_int_equal(tapir_recv(p->a, c, b, sizeof(b), 0), -1);
		assert_int_equal(errno, EAGAIN);
		send_all(p->b, a, "hi", 2);
		pfd = (struct pollfd){.fd = c, .events = POLLIN};
		assert_int_equal(tapir_poll(p->a, &pfd, 1, -1), 1);
		assert_true(pfd.revents & POLLIN);
		assert_int_equal(tapir_recv(p->a, c, b, sizeof(b), 0), 2);
	}
	tapir_close(p->a, c);
	tapir_close(p->b, a);

	/* to a closed port: POLLERR, and SO_ERROR tells ECONNREFUSED */
	s = net_sin(NP_B, 9004);
	c = tapir_socket(p->a, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_int_equal(tapir_connect(p->a, c, SA(s), sizeof(s)), -1);
	assert_int_equal(errno, EINPROGRESS);
	pfd = (struct pollfd){.fd = c, .events = POLLOUT};
	assert_int_equal(tapir_poll(p->a, &pfd, 1, -1), 1);
	assert_true(pfd.revents & POLLERR);
	elen = sizeof(err);
	assert_int_equal(tapir_getsockopt(p->a, c, SOL_SOCKET, SO_ERROR, &err, &elen), 0);
	assert_int_equal(err, ECONNREFUSED);
	tapir_close(p->a, c);
	/* a closed descriptor: POLLNVAL */
	pfd = (struct pollfd){.fd = c, .events = POLLIN};
	assert_int_equal(tapir_poll(p->a, &pfd, 1, 0), 1);
	assert_int_equal(pfd.revents, POLLNVAL);
	tapir_close(p->b, l);
}

static void rcvtimeo_eagain(void **state)
{
	struct net_pair *p = *state;
	struct timeval tv = {0, 150000}, got;
	socklen_t glen = sizeof(got);
	char b[4];
	int l, c, a, u;
	l = tcp_listener(p->b, 9005, 4);
	c = tcp_connect_to(p->a, NP_B, 9005);
	a = tapir_accept(p->b, l, NULL, NULL);
	assert_int_equal(tapir_setsockopt(p->a, c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(tapir_getsockopt(p->a, c, SOL_SOCKET, SO_RCVTIMEO, &got, &glen), 0);
	assert_int_equal(got.tv_usec, 150000);
	/* UNP 14.2: the timeout ends a blocking recv with EAGAIN */
	assert_int_equal(tapir_recv(p->a, c, b, sizeof(b), 0), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	/* and it still works afterwards */
	send_all(p->b, a, "z", 1);
	assert_int_equal(tapir_recv(p->a, c, b, sizeof(b), 0), 1);
	/* UDP, too */
	u = tapir_socket(p->a, AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(tapir_setsockopt(p->a, u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(tapir_recv(p->a, u, b, sizeof(b), 0), -1);
	assert_int_equal(errno, EAGAIN);
	/* an invalid timeval */
	tv.tv_usec = 1000000;
	assert_int_equal(tapir_setsockopt(p->a, u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), -1);
	assert_int_equal(errno, EDOM);
	tapir_close(p->a, u);
	tapir_close(p->a, c);
	tapir_close(p->b, a);
	tapir_close(p->b, l);
}

static void half_close(void **state)
{
	struct net_pair *p = *state;
	char b[16];
	int l, c, a;
	l = tcp_listener(p->b, 9006, 4);
	c = tcp_connect_to(p->a, NP_B, 9006);
	a = tapir_accept(p->b, l, NULL, NULL);
	send_all(p->a, c, "request", 7);
	/* UNP 6.6: shutdown(SHUT_WR) sends FIN; the peer reads EOF ... */
	assert_int_equal(tapir_shutdown(p->a, c, SHUT_WR), 0);
	assert_int_equal(recv_full(p->b, a, b, 7), 7);
	assert_int_equal(tapir_recv(p->b, a, b, sizeof(b), 0), 0);
	/* ... and may still send; we may still read */
	send_all(p->b, a, "reply", 5);
	assert_int_equal(recv_full(p->a, c, b, 5), 5);
	assert_memory_equal(b, "reply", 5);
	/* our own writes are over */
	assert_int_equal(tapir_send(p->a, c, "x", 1, 0), -1);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(tapir_close(p->b, a), 0);
	assert_int_equal(tapir_recv(p->a, c, b, sizeof(b), 0), 0);
	assert_int_equal(tapir_send(p->a, c, "x", 1, 0), -1);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(tapir_close(p->a, c), 0);
	assert_int_equal(tapir_close(p->b, l), 0);
}

struct blocked_recv {
	struct tapir_net *net;
	int fd, err;
	ssize_t r;
};

static void *blocked_recv_main(void *arg)
{
	struct blocked_recv *b = arg;
	char buf[4];
	b->r = tapir_recv(b->net, b->fd, buf, sizeof(buf), 0);
	b->err = errno;
	return NULL;
}

static void shutdown_rd_wakes_reader(void **state)
{
	struct net_pair *p = *state;
	struct blocked_recv br;
	pthread_t th;
	int l, c, a;
	l = tcp_listener(p->b, 9007, 4);
	c = tcp_connect_to(p->a, NP_B, 9007);
	a = tapir_accept(p->b, l, NULL, NULL);
	br = (struct blocked_recv){.net = p->a, .fd = c};
	pthread_create(&th, NULL, blocked_recv_main, &br);
	/* another thread's shutdown(SHUT_RD) ends the blocked recv with EOF
	 * (whether it was already waiting or not) */
	assert_int_equal(tapir_shutdown(p->a, c, SHUT_RD), 0);
	pthread_join(th, NULL);
	assert_int_equal(br.r, 0);
	tapir_close(p->a, c);
	tapir_close(p->b, a);
	tapir_close(p->b, l);
}

static void options_and_errors(void **state)
{
	struct net_pair *p = *state;
	struct sockaddr_in s = net_sin(0, 0), name;
	socklen_t len;
	int fd, u, v, one = 1;
	fd = tapir_socket(p->a, AF_INET, SOCK_STREAM, 0);
	u = tapir_socket(p->a, AF_INET, SOCK_DGRAM, 0);
	len = sizeof(v);
	assert_int_equal(tapir_getsockopt(p->a, fd, SOL_SOCKET, SO_TYPE, &v, &len), 0);
	assert_int_equal(v, SOCK_STREAM);
	assert_int_equal(tapir_getsockopt(p->a, u, SOL_SOCKET, SO_TYPE, &v, &len), 0);
	assert_int_equal(v, SOCK_DGRAM);
	assert_int_equal(tapir_setsockopt(p->a, fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	assert_int_equal(tapir_getsockopt(p->a, fd, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
	assert_int_equal(v, 1);
	v = 60;
	assert_int_equal(tapir_setsockopt(p->a, fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v)), 0);
	assert_int_equal(tapir_getsockopt(p->a, fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, &len), 0);
	assert_int_equal(v, 60);
	v = 5;
	assert_int_equal(tapir_setsockopt(p->a, fd, IPPROTO_TCP, TCP_KEEPINTVL, &v, sizeof(v)), 0);
	assert_int_equal(tapir_setsockopt(p->a, fd, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof(v)), 0);
	assert_int_equal(tapir_setsockopt(p->a, fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)), 0);
	v = 1000;
	assert_int_equal(tapir_setsockopt(p->a, fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof(v)), 0);
	v = 1200;
	assert_int_equal(tapir_setsockopt(p->a, fd, IPPROTO_TCP, TCP_MAXSEG, &v, sizeof(v)), 0);
	/* TCP_CONGESTION takes a name, as on Linux */
	{
		char algo[16];
		socklen_t alen = sizeof(algo);
		assert_int_equal(tapir_setsockopt(p->a, fd, IPPROTO_TCP, TCP_CONGESTION, "cubic", 5), 0);
		assert_int_equal(tapir_getsockopt(p->a, fd, IPPROTO_TCP, TCP_CONGESTION, algo, &alen), 0);
		assert_string_equal(algo, "cubic");
		assert_int_equal(tapir_setsockopt(p->a, fd, IPPROTO_TCP, TCP_CONGESTION, "bbr", 3), -1);
		assert_int_equal(errno, ENOENT);
		assert_int_equal(tapir_setsockopt(p->a, fd, IPPROTO_TCP, TCP_CONGESTION, "reno", 4), 0);
	}
	v = 32768;
	assert_int_equal(tapir_setsockopt(p->a, fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)), 0);
	assert_int_equal(tapir_getsockopt(p->a, fd, SOL_SOCKET, SO_RCVBUF, &v, &len), 0);
	assert_int_equal(v, 32768);
	/* TCP options on UDP, unknown options, read-only options */
	assert_int_equal(tapir_setsockopt(p->a, u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), -1);
	assert_int_equal(errno, ENOPROTOOPT);
	assert_int_equal(tapir_setsockopt(p->a, fd, SOL_SOCKET, SO_BROADCAST + 1000, &one, sizeof(one)), -1);
	assert_int_equal(errno, ENOPROTOOPT);
	assert_int_equal(tapir_setsockopt(p->a, fd, SOL_SOCKET, SO_TYPE, &one, sizeof(one)), -1);
	assert_int_equal(errno, ENOPROTOOPT);
	/* an ephemeral port on bind to port 0 */
	assert_int_equal(tapir_bind(p->a, u, SA(s), sizeof(s)), 0);
	len = sizeof(name);
	assert_int_equal(tapir_getsockname(p->a, u, SA(name), &len), 0);
	assert_true(ntohs(name.sin_port) >= 49152);
	/* not connected */
	len = sizeof(name);
	assert_int_equal(tapir_getpeername(p->a, fd, SA(name), &len), -1);
	assert_int_equal(errno, ENOTCONN);
	assert_int_equal(tapir_send(p->a, fd, "x", 1, 0), -1);
	assert_int_equal(errno, ENOTCONN);
	assert_int_equal(tapir_listen(p->a, u, 1), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	assert_int_equal(tapir_send(p->a, u, "x", 1, 0), -1);
	assert_int_equal(errno, EDESTADDRREQ);
	/* bad descriptors and arguments */
	assert_int_equal(tapir_close(p->a, 200), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(tapir_recv(p->a, -1, &v, 1, 0), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(tapir_socket(p->a, AF_UNIX, SOCK_STREAM, 0), -1);
	assert_int_equal(errno, EAFNOSUPPORT);
	s.sin_family = AF_INET6;
	assert_int_equal(tapir_bind(p->a, fd, SA(s), sizeof(s)), -1);
	assert_int_equal(errno, EAFNOSUPPORT);
	assert_int_equal(tapir_recv(p->a, fd, &v, 1, MSG_PEEK), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	assert_int_equal(tapir_close(p->a, fd), 0);
	assert_int_equal(tapir_close(p->a, fd), -1);
	assert_int_equal(errno, EBADF);
	/* the lowest free descriptor is reused */
	assert_int_equal(tapir_socket(p->a, AF_INET, SOCK_STREAM, 0), fd);
	/* the table is bounded */
	{
		int n = 0, last = 0;
		while ((last = tapir_socket(p->a, AF_INET, SOCK_DGRAM, 0)) >= 0)
			n++;
		assert_true(errno == EMFILE || errno == ENOBUFS);
		assert_true(n <= TAPIR_NET_MAX_SOCKETS);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		API_TEST(udp_sendto_recvfrom, NULL),
		API_TEST(udp_connected_refused, NULL),
		API_TEST(tcp_echo, NULL),
		API_TEST(tcp_many_connections, NULL),
		API_TEST(tcp_1mb_exact, NULL),
		API_TEST(tcp_connect_refused, NULL),
		API_TEST(tcp_connect_timeout, &syn_retries_2_opts),
		API_TEST(tcp_connect_unreachable, NULL),
		API_TEST(bind_in_use, NULL),
		API_TEST(backlog_overflow, NULL),
		API_TEST(linger_zero_resets, NULL),
		API_TEST(linger_drains, NULL),
		API_TEST(nonblocking_connect_poll, NULL),
		API_TEST(rcvtimeo_eagain, NULL),
		API_TEST(half_close, NULL),
		API_TEST(shutdown_rd_wakes_reader, NULL),
		API_TEST(options_and_errors, NULL),
	};
	/* ctest runs each test on its own: `test_api NAME` */
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
