/* TCP Fast Open (RFC 7413) and the newer TCP options through the socket
 * calls, as Linux offers them: sendto with MSG_FASTOPEN, TCP_FASTOPEN on a
 * listener, TCP_FASTOPEN_CONNECT, TCP_NOTSENT_LOWAT; and FreeBSD's
 * TCP_NOOPT and TCP_KEEPINIT (the nets run the freebsd profile, with the
 * Fast Open server allowed). */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <tapir/profile.h>
#include <tapir/stack.h>

#include "cmt.h"
#include "netpair.h"

static int pair_setup(void **state)
{
	struct tapir_config c;
	tapir_config_default(&c);
	tapir_config_profile(&c, TAPIR_PROFILE_FREEBSD);
	c.profile.fastopen = 3; /* (FreeBSD's server_enable is 0) */
	c.seed = 13;
	return net_pair_fixture(state, &c, NULL, NULL);
}

static int pair_teardown(void **state)
{
	return net_pair_fixture_down(state);
}

static int listener_tfo(struct tapir_net *net, uint16_t port)
{
	struct sockaddr_in s = net_sin(0, port);
	int fd = tapir_socket(net, AF_INET, SOCK_STREAM, 0), q = 8;
	assert_true(fd >= 0);
	assert_int_equal(tapir_setsockopt(net, fd, IPPROTO_TCP, TCP_FASTOPEN, &q, sizeof(q)), 0);
	assert_int_equal(tapir_bind(net, fd, SA(s), sizeof(s)), 0);
	assert_int_equal(tapir_listen(net, fd, 8), 0);
	return fd;
}

/* accepts one connection on L and reads exactly WANT from it */
static void accept_read(struct tapir_net *net, int l, const char *want)
{
	char buf[32] = {0};
	size_t n = strlen(want);
	int a = tapir_accept(net, l, NULL, NULL);
	assert_true(a >= 0);
	assert_int_equal(tapir_recv(net, a, buf, n, MSG_WAITALL), (ssize_t)n);
	assert_memory_equal(buf, want, n);
	tapir_close(net, a);
}

/* waits up to TIMEOUT ms (-1: for ever) for C to be writable */
static void writable(struct tapir_net *net, int c, int timeout)
{
	struct pollfd pf = {.fd = c, .events = POLLOUT};
	assert_int_equal(tapir_poll(net, &pf, 1, timeout), 1);
}

/* the end of a test: B reads exactly WANT on L, then both sockets close */
static void read_and_close(struct net_pair *p, int c, int l, const char *want)
{
	accept_read(p->b, l, want);
	tapir_close(p->a, c);
	tapir_close(p->b, l);
}

/* RFC 7413 4.1.3, 4.2: the first MSG_FASTOPEN asks for a cookie (a
 * non-blocking one says EINPROGRESS); the next sends its data on the SYN
 * and returns at once; TCP_FASTOPEN_CONNECT makes connect return at once */
static void tfo_sendto(void **state)
{
	struct net_pair *p = *state;
	struct sockaddr_in to = net_sin(NP_B, 7100);
	int l = listener_tfo(p->b, 7100), c, one = 1;

	c = tapir_socket(p->a, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(tapir_set_nonblock(p->a, c, true), 0);
	assert_int_equal(tapir_sendto(p->a, c, "first", 5, MSG_FASTOPEN, SA(to), sizeof(to)), -1);
	assert_int_equal(errno, EINPROGRESS);
	writable(p->a, c, -1);
	assert_int_equal(tapir_send(p->a, c, "first", 5, 0), 5);
	accept_read(p->b, l, "first");
	tapir_close(p->a, c);

	c = tapir_socket(p->a, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(tapir_set_nonblock(p->a, c, true), 0);
	assert_int_equal(tapir_sendto(p->a, c, "second", 6, MSG_FASTOPEN, SA(to), sizeof(to)), 6);
	accept_read(p->b, l, "second");
	/* a second MSG_FASTOPEN on it: connected already */
	assert_int_equal(tapir_sendto(p->a, c, "x", 1, MSG_FASTOPEN, SA(to), sizeof(to)), -1);
	assert_int_equal(errno, EISCONN);
	tapir_close(p->a, c);

	/* non-blocking, more than a segment: only what the SYN carries */
	c = tapir_socket(p->a, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(tapir_set_nonblock(p->a, c, true), 0);
	{
		static char big[5000];
		ssize_t n = tapir_sendto(p->a, c, big, sizeof(big), MSG_FASTOPEN, SA(to), sizeof(to));
		assert_true(n > 0 && n < (ssize_t)sizeof(big));
		accept_read(p->b, l, ""); /* (off the listener's queue) */
	}
	tapir_close(p->a, c);

	c = tapir_socket(p->a, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(tapir_setsockopt(p->a, c, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one)), 0);
	assert_int_equal(tapir_connect(p->a, c, SA(to), sizeof(to)), 0);
	writable(p->a, c, 0); /* writable: the SYN waits for it */
	assert_int_equal(tapir_write(p->a, c, "third", 5), 5);
	read_and_close(p, c, l, "third");
}

/* TCP_NOTSENT_LOWAT as a socket option, and poll's POLLOUT under it */
static void notsent_lowat(void **state)
{
	struct net_pair *p = *state;
	struct sockaddr_in to = net_sin(NP_B, 7101);
	socklen_t len = sizeof(int);
	int l = listener_tfo(p->b, 7101), c, v = 4096;
	c = tapir_socket(p->a, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(tapir_setsockopt(p->a, c, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, sizeof(v)), 0);
	v = 0;
	assert_int_equal(tapir_getsockopt(p->a, c, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, &len), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(tapir_connect(p->a, c, SA(to), sizeof(to)), 0);
	writable(p->a, c, -1);
	assert_int_equal(tapir_send(p->a, c, "lowat", 5, 0), 5);
	read_and_close(p, c, l, "lowat");
}

/* FreeBSD's options under its profile: TCP_KEEPINIT's default is
 * net.inet.tcp.keepinit's; a connection with TCP_NOOPT works */
static void bsd_options(void **state)
{
	struct net_pair *p = *state;
	struct sockaddr_in to = net_sin(NP_B, 7102);
	socklen_t len = sizeof(int);
	int l = listener_tfo(p->b, 7102), c, v = 0, one = 1;
	c = tapir_socket(p->a, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(tapir_getsockopt(p->a, c, IPPROTO_TCP, TAPIR_SO_TCP_KEEPINIT, &v, &len), 0);
	assert_int_equal(v, 75);
	v = 10;
	assert_int_equal(tapir_setsockopt(p->a, c, IPPROTO_TCP, TAPIR_SO_TCP_KEEPINIT, &v, sizeof(v)), 0);
	assert_int_equal(tapir_setsockopt(p->a, c, IPPROTO_TCP, TAPIR_SO_TCP_NOOPT, &one, sizeof(one)), 0);
	assert_int_equal(tapir_getsockopt(p->a, c, IPPROTO_TCP, TAPIR_SO_TCP_NOOPT, &v, &len), 0);
	assert_int_equal(v, 1);
	assert_int_equal(tapir_connect(p->a, c, SA(to), sizeof(to)), 0);
	assert_int_equal(tapir_send(p->a, c, "noopt", 5, 0), 5);
	read_and_close(p, c, l, "noopt");
}

int main(int argc, char **argv)
{
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return CMT_RUN(pair_setup, pair_teardown, tfo_sendto, notsent_lowat, bsd_options);
}
