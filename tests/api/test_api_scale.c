/* The socket layer at scale: a descriptor table that grows with use up to
 * the limit the user sets (tapir_net_set_max_sockets), EMFILE at the limit
 * from socket and accept as the kernel gives it at RLIMIT_NOFILE, the
 * lowest free descriptor first (POSIX), thousands of sockets in one net,
 * and threads blocked on different sockets each woken for their own data.
 *
 * As in test_api.c, no assertion depends on how long something took. */
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

#ifndef MANY /* connections, so each net holds MANY sockets or more */
#define MANY 5000
#endif
#define BATCH 64    /* connects in flight at once: the link's queue is bounded */

static void small_config(struct tapir_config *c)
{
	tapir_config_default(c);
	c->seed = 11;
	c->tcp_rto_initial_us = TAPIR_MS(200);
}

static int pair_setup(void **state)
{
	struct tapir_config c;
	small_config(&c);
	return net_pair_fixture(state, &c, NULL, NULL);
}

/* Room for MANY connections on each side: the core's TCBs and buffers. */
static int many_setup(void **state)
{
	struct tapir_config c;
	struct net_pair *p;
	small_config(&c);
	c.tcp_sockets = 2 * MANY + 64;
	c.tcp_rcvbuf = 4096;
	c.tcp_sndbuf = 4096;
	c.tcp_mem_max = (size_t)1 << 30;
	net_pair_fixture(state, &c, NULL, NULL);
	p = *state;
	assert_int_equal(tapir_net_set_max_sockets(p->a, MANY + 16), 0);
	assert_int_equal(tapir_net_set_max_sockets(p->b, MANY + 16), 0);
	return 0;
}

static int pair_teardown(void **state)
{
	return net_pair_fixture_down(state);
}

static int tcp_socket(struct tapir_net *net, int flags)
{
	return tapir_socket(net, AF_INET, SOCK_STREAM | flags, 0);
}

static int listener(struct tapir_net *net, uint16_t port, int backlog)
{
	int fd = tcp_socket(net, 0);
	struct sockaddr_in s = net_sin(0, port);
	assert_true(fd >= 0);
	assert_int_equal(tapir_bind(net, fd, SA(s), sizeof(s)), 0);
	assert_int_equal(tapir_listen(net, fd, backlog), 0);
	return fd;
}

static int connect_to(struct tapir_net *net, uint16_t port)
{
	int fd = tcp_socket(net, 0);
	struct sockaddr_in s = net_sin(NP_B, port);
	assert_true(fd >= 0);
	assert_int_equal(tapir_connect(net, fd, SA(s), sizeof(s)), 0);
	return fd;
}

/* socket() up to the limit, EMFILE there, the lowest descriptor first. */
static void emfile_on_socket(void **state)
{
	struct net_pair *p = *state;
	int fd, n = 0;

	assert_int_equal(tapir_net_max_sockets(p->a), TAPIR_NET_DEFAULT_MAX_SOCKETS);
	assert_int_equal(tapir_net_set_max_sockets(p->a, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(tapir_net_set_max_sockets(p->a, 50), 0);
	assert_int_equal(tapir_net_max_sockets(p->a), 50);
	while ((fd = tcp_socket(p->a, 0)) >= 0)
		assert_int_equal(fd, n++);
	assert_int_equal(errno, EMFILE);
	assert_int_equal(n, 50);
	/* the lowest free one first, whatever the order of the closes */
	assert_int_equal(tapir_close(p->a, 31), 0);
	assert_int_equal(tapir_close(p->a, 7), 0);
	assert_int_equal(tapir_close(p->a, 19), 0);
	assert_int_equal(tapir_socket(p->a, AF_INET, SOCK_DGRAM, 0), 7);
	assert_int_equal(tcp_socket(p->a, 0), 19);
	assert_int_equal(tcp_socket(p->a, 0), 31);
	assert_int_equal(tcp_socket(p->a, 0), -1);
	assert_int_equal(errno, EMFILE);
	/* a higher limit: the table grows */
	assert_int_equal(tapir_net_set_max_sockets(p->a, 52), 0);
	assert_int_equal(tcp_socket(p->a, 0), 50);
	assert_int_equal(tcp_socket(p->a, 0), 51);
	assert_int_equal(tcp_socket(p->a, 0), -1);
	assert_int_equal(errno, EMFILE);
	/* a lower one leaves the open ones be; only descriptors below it */
	assert_int_equal(tapir_net_set_max_sockets(p->a, 10), 0);
	assert_int_equal(tcp_socket(p->a, 0), -1);
	assert_int_equal(errno, EMFILE);
	assert_int_equal(tapir_close(p->a, 40), 0);
	assert_int_equal(tcp_socket(p->a, 0), -1);
	assert_int_equal(errno, EMFILE);
	assert_int_equal(tapir_close(p->a, 5), 0);
	assert_int_equal(tcp_socket(p->a, 0), 5);
	assert_int_equal(tapir_close(p->a, 45), 0); /* and a descriptor above it works */
	assert_int_equal(tapir_close(p->a, 45), -1);
	assert_int_equal(errno, EBADF);
}

/* accept() at the limit fails with EMFILE and leaves the connection in
 * the accept queue; a close makes room and the same connection comes. */
static void emfile_on_accept(void **state)
{
	struct net_pair *p = *state;
	int l, c, fd, n;
	char buf[8];
	struct sockaddr_in peer, local;
	socklen_t len = sizeof(peer);

	assert_int_equal(tapir_net_set_max_sockets(p->b, 8), 0);
	l = listener(p->b, 7000, 4);
	while ((fd = tcp_socket(p->b, 0)) >= 0)
		;
	assert_int_equal(errno, EMFILE);
	c = connect_to(p->a, 7000); /* the core completes the handshake */
	assert_int_equal(tapir_send(p->a, c, "queued", 6, 0), 6);
	/* blocking or not, EMFILE at once, as Linux's accept */
	assert_int_equal(tapir_accept(p->b, l, NULL, NULL), -1);
	assert_int_equal(errno, EMFILE);
	assert_int_equal(tapir_accept4(p->b, l, NULL, NULL, SOCK_NONBLOCK), -1);
	assert_int_equal(errno, EMFILE);
	/* the connection is still there: the client sees it open */
	assert_int_equal(tapir_send(p->a, c, "!", 1, 0), 1);
	assert_int_equal(tapir_close(p->b, 3), 0);
	fd = tapir_accept(p->b, l, SA(peer), &len);
	assert_int_equal(fd, 3);
	assert_int_equal(ntohl(peer.sin_addr.s_addr), NP_A);
	len = sizeof(local);
	assert_int_equal(tapir_getsockname(p->a, c, SA(local), &len), 0);
	assert_int_equal(peer.sin_port, local.sin_port);
	n = (int)tapir_recv(p->b, fd, buf, 7, MSG_WAITALL);
	assert_int_equal(n, 7);
	assert_memory_equal(buf, "queued!", 7);
	assert_int_equal(tapir_send(p->b, fd, "ok", 2, 0), 2);
	assert_int_equal(tapir_recv(p->a, c, buf, 2, MSG_WAITALL), 2);
	assert_memory_equal(buf, "ok", 2);
	assert_int_equal(tapir_accept4(p->b, l, NULL, NULL, SOCK_NONBLOCK), -1);
	assert_int_equal(errno, EMFILE);
}

/* Waits until every socket in FDS is connected (POLLOUT), in one poll. */
static void poll_all_out(struct tapir_net *net, const int *fds, int n)
{
	struct pollfd *pf = calloc((size_t)n, sizeof(*pf));
	int left = n;
	assert_non_null(pf);
	for (int i = 0; i < n; i++)
		pf[i] = (struct pollfd){.fd = fds[i], .events = POLLOUT};
	while (left) {
		int r = tapir_poll(net, pf, (nfds_t)n, -1);
		assert_true(r > 0);
		for (int i = 0; i < n; i++) {
			if (!pf[i].revents)
				continue;
			assert_int_equal(pf[i].revents, POLLOUT);
			pf[i].fd = -1; /* done: skipped from now on */
			left--;
		}
	}
	free(pf);
}

static unsigned port_of(struct tapir_net *net, int fd,
			int (*name)(struct tapir_net *, int, struct sockaddr *, socklen_t *))
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	assert_int_equal(name(net, fd, SA(a), &len), 0);
	return ntohs(a.sin_port);
}

/* MANY connections: MANY sockets in one net and MANY + 1 in the other,
 * each used once, then all closed and descriptor 0 free again. */
static void many_sockets(void **state)
{
	struct net_pair *p = *state;
	int *cl = calloc(MANY, sizeof(int)), *sv = calloc(MANY, sizeof(int));
	int l = listener(p->b, 7001, BATCH);
	struct sockaddr_in to = net_sin(NP_B, 7001);
	assert_non_null(cl);
	assert_non_null(sv);
	for (int i = 0; i < MANY; i += BATCH) {
		int n = MANY - i < BATCH ? MANY - i : BATCH;
		for (int k = i; k < i + n; k++) {
			cl[k] = tcp_socket(p->a, SOCK_NONBLOCK);
			assert_int_equal(cl[k], k); /* the lowest free, in order */
			assert_int_equal(tapir_connect(p->a, cl[k], SA(to), sizeof(to)), -1);
			assert_int_equal(errno, EINPROGRESS);
		}
		for (int k = i; k < i + n; k++) {
			sv[k] = tapir_accept(p->b, l, NULL, NULL);
			assert_int_equal(sv[k], k + 1);
		}
	}
	poll_all_out(p->a, cl, MANY);
	/* a byte each way on every connection, BATCH at a time; the accept
	 * order need not be the connect order: the byte names the port */
	for (int i = 0; i < MANY; i += BATCH) {
		int n = MANY - i < BATCH ? MANY - i : BATCH;
		for (int k = i; k < i + n; k++) {
			uint8_t v = (uint8_t)port_of(p->a, cl[k], tapir_getsockname);
			assert_int_equal(tapir_send(p->a, cl[k], &v, 1, 0), 1);
		}
		for (int k = i; k < i + n; k++) {
			uint8_t v;
			assert_int_equal(tapir_recv(p->b, sv[k], &v, 1, 0), 1);
			assert_int_equal(v, (uint8_t)port_of(p->b, sv[k], tapir_getpeername));
		}
	}
	for (int k = 0; k < MANY; k++) {
		assert_int_equal(tapir_close(p->a, cl[k]), 0);
		assert_int_equal(tapir_close(p->b, sv[k]), 0);
	}
	assert_int_equal(tcp_socket(p->a, 0), 0);
	assert_int_equal(tcp_socket(p->b, 0), 1); /* the listener holds 0 */
	free(cl);
	free(sv);
}

#define WAITERS 8

struct reader {
	struct tapir_net *net;
	int fd;
	pthread_barrier_t *go;
	uint8_t got;
	ssize_t n;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	pthread_barrier_wait(r->go);
	r->n = tapir_recv(r->net, r->fd, &r->got, 1, 0);
	return NULL;
}

/* Threads blocked in recv on different sockets, and two on one socket:
 * each wakes with its own socket's data, whatever the order it comes in. */
static void waiters_on_many_sockets(void **state)
{
	struct net_pair *p = *state;
	int l = listener(p->b, 7002, WAITERS), cl[WAITERS], sv[WAITERS];
	struct reader rd[WAITERS + 1];
	pthread_t th[WAITERS + 1];
	pthread_barrier_t go;

	for (int i = 0; i < WAITERS; i++) {
		cl[i] = connect_to(p->a, 7002);
		sv[i] = tapir_accept(p->b, l, NULL, NULL);
		assert_true(sv[i] >= 0);
	}
	pthread_barrier_init(&go, NULL, WAITERS + 2);
	for (int i = 0; i <= WAITERS; i++) {
		/* the last reader waits on the first socket, with the first */
		rd[i] = (struct reader){.net = p->b, .fd = sv[i % WAITERS], .go = &go};
		assert_int_equal(pthread_create(&th[i], NULL, reader_main, &rd[i]), 0);
	}
	pthread_barrier_wait(&go);
	/* backwards, one byte per send: socket 0 gets two */
	for (int i = WAITERS - 1; i >= 0; i--) {
		uint8_t v = (uint8_t)(0x40 + i);
		assert_int_equal(tapir_send(p->a, cl[i], &v, 1, 0), 1);
	}
	{
		uint8_t v = 0x40;
		assert_int_equal(tapir_send(p->a, cl[0], &v, 1, 0), 1);
	}
	for (int i = 0; i <= WAITERS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(rd[i].n, 1);
		assert_int_equal(rd[i].got, 0x40 + i % WAITERS);
	}
	pthread_barrier_destroy(&go);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(emfile_on_socket, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(emfile_on_accept, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(many_sockets, many_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(waiters_on_many_sockets, pair_setup,
						pair_teardown),
	};
	/* ctest runs each test on its own: `test_api_scale NAME` */
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
