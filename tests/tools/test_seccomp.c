/*
 * The seccomp supervisor (tools/run/seccomp.c) against a stand-in gate:
 * a forked child installs the filter and makes raw socket calls (no libc
 * wrappers, as a static binary or Go would); the supervisor in this
 * process answers them through a small gate thread here that speaks
 * proto.h without a stack.  What is checked is what the program sees:
 * descriptors injected, addresses and options read from and written to
 * its memory, a blocking accept and a blocking connect answered late,
 * other families left to the kernel, the cookie letting calls through.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run/proto.h"
#include "run/seccomp.h"
#include "run/seccomp_int.h"

/* ---- the stand-in gate ---------------------------------------------- */

#define G_SOCKS 16
struct gsock {
	int gate_end, domain, listening, opt;
	struct trun_addr name, peer; /* as the program named them, proto.h */
};
static struct gsock gs[G_SOCKS];
static unsigned g_next = 1;
static int g_pending_accept = -1; /* the listener to give a connection to */

/* A new pair: the app end named as proto.h says; ID and the app end out. */
static int g_pair(int domain, int *app)
{
	int sv[2];
	unsigned id = g_next++;
	struct sockaddr_un sun;
	socklen_t len = trun_name(&sun, (unsigned)getpid(), TRUN_TCP, id);
	if (id >= G_SOCKS || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    bind(sv[0], (struct sockaddr *)&sun, len) < 0)
		return -1;
	memset(&gs[id], 0, sizeof(gs[id]));
	gs[id].gate_end = sv[1];
	gs[id].domain = domain;
	*app = sv[0];
	return (int)id;
}

/* The connection a listener is given: one record with its app end. */
static void g_give_accept(int lid)
{
	struct trun_accept rec;
	int app, id = g_pair(gs[lid].domain, &app);
	memset(&rec, 0, sizeof(rec));
	rec.id = (uint32_t)id;
	inet_pton(AF_INET6, "::ffff:10.9.8.7", rec.peer_addr);
	rec.peer_port = htons(4321);
	if (sc_send_fd(gs[lid].gate_end, &rec, sizeof(rec), app) < 0)
		perror("give accept");
	close(app);
}

static void g_getsockopt(const struct trun_req *q, struct trun_rep *r)
{
	struct gsock *g = &gs[q->id];
	int v = g->opt;
	if (q->a == SOL_SOCKET && q->b == SO_DOMAIN)
		v = g->domain;
	else if (q->a == SOL_SOCKET && q->b == SO_ACCEPTCONN) {
		v = g->listening;
		/* the connection comes after the accept has begun to wait */
		if (v)
			g_pending_accept = (int)q->id;
	} else if (q->a == SOL_SOCKET && q->b == SO_ERROR)
		v = ntohs(g->peer.port) == 2 ? ECONNREFUSED : 0;
	memcpy(r->data, &v, sizeof(v));
	r->len = sizeof(v);
}

static void g_serve(int c, const struct trun_req *q)
{
	struct trun_rep r;
	struct gsock *g = &gs[q->id < G_SOCKS ? q->id : 0];
	int fd = -1;
	memset(&r, 0, sizeof(r));
	switch (q->op) {
	case TRUN_HELLO:
		r.ret = getpid();
		break;
	case TRUN_SOCKET:
		r.ret = g_pair(q->a, &fd);
		break;
	case TRUN_BIND:
		memcpy(&g->name, q->data, sizeof(g->name));
		r.ret = ntohs(g->name.port) == 1 ? -EADDRINUSE : 0;
		break;
	case TRUN_LISTEN:
		g->listening = 1;
		break;
	case TRUN_CONNECT:
		memcpy(&g->peer, q->data, sizeof(g->peer));
		r.ret = -EINPROGRESS;
		break;
	case TRUN_GETSOCKNAME:
	case TRUN_GETPEERNAME:
		memcpy(r.data, q->op == TRUN_GETSOCKNAME ? &g->name : &g->peer, sizeof(g->name));
		r.len = sizeof(g->name);
		break;
	case TRUN_SETSOCKOPT:
		memcpy(&g->opt, q->data, sizeof(g->opt));
		break;
	case TRUN_GETSOCKOPT:
		g_getsockopt(q, &r);
		break;
	default:
		r.ret = 0;
	}
	sc_send_fd(c, &r, sizeof(r), fd);
	if (fd >= 0)
		close(fd);
}

static void *g_main(void *arg)
{
	int l = *(int *)arg, c = accept(l, NULL, NULL);
	struct trun_req q;
	for (;;) {
		struct pollfd p = {c, POLLIN, 0};
		int k = poll(&p, 1, g_pending_accept >= 0 ? 50 : -1);
		if (k == 0) {
			g_give_accept(g_pending_accept);
			g_pending_accept = -1;
			continue;
		}
		if (recv(c, &q, sizeof(q), 0) <= 0)
			break;
		g_serve(c, &q);
	}
	close(c);
	return NULL;
}

/* ---- the program under the filter ----------------------------------- */

#define SYS(...) syscall(__VA_ARGS__)
#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "child: line %d: %s (errno %d)\n", __LINE__, #cond, errno); \
			_exit(1);                                                            \
		}                                                                            \
	} while (0)

static void child_inet(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(8080)}, b;
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	unsigned gate, id;
	char kind;
	int s, c, v = 1;
	a.sin_addr.s_addr = inet_addr("10.0.0.2");
	s = (int)SYS(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(s >= 0 && (fcntl(s, F_GETFD) & FD_CLOEXEC));
	/* the cookie: the kernel's own answer, the app end's name */
	CHECK(trun_syscall(SYS_getsockname, s, &sun, &len, 0, 0) == 0);
	CHECK(trun_parse(&sun, len, &gate, &kind, &id) && gate == (unsigned)getppid());
	CHECK(SYS(SYS_bind, s, &a, sizeof(a)) == 0);
	len = sizeof(b);
	CHECK(SYS(SYS_getsockname, s, &b, &len) == 0 && len == sizeof(b));
	CHECK(b.sin_port == htons(8080) && b.sin_addr.s_addr == a.sin_addr.s_addr);
	a.sin_port = htons(1);
	CHECK(SYS(SYS_bind, s, &a, sizeof(a)) == -1 && errno == EADDRINUSE);
	CHECK(SYS(SYS_getsockname, s, (void *)8, &len) == -1 && errno == EFAULT);
	CHECK(SYS(SYS_setsockopt, s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)) == 0);
	v = 0;
	len = sizeof(v);
	CHECK(SYS(SYS_getsockopt, s, SOL_SOCKET, SO_REUSEADDR, &v, &len) == 0 && v == 1);
	CHECK(SYS(SYS_accept4, s, NULL, NULL, 0) == -1 && errno == EINVAL); /* not listening */
	CHECK(SYS(SYS_listen, s, 5) == 0);
	/* blocking: the stand-in gives the connection 50 ms after it waits */
	len = sizeof(b);
	c = (int)SYS(SYS_accept4, s, &b, &len, SOCK_NONBLOCK);
	CHECK(c >= 0 && (fcntl(c, F_GETFL) & O_NONBLOCK) && !(fcntl(c, F_GETFD) & FD_CLOEXEC));
	CHECK(len == sizeof(b) && b.sin_port == htons(4321) &&
	      b.sin_addr.s_addr == inet_addr("10.9.8.7"));
	close(c);
	close(s);
	/* a non-blocking connect */
	s = (int)SYS(SYS_socket, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_TCP);
	CHECK(s >= 0 && (fcntl(s, F_GETFL) & O_NONBLOCK));
	a.sin_port = htons(80);
	CHECK(SYS(SYS_connect, s, &a, sizeof(a)) == -1 && errno == EINPROGRESS);
	close(s);
}

static void child_inet6(void)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(80)}, b;
	socklen_t len = sizeof(b);
	int s = (int)SYS(SYS_socket, AF_INET6, SOCK_STREAM, 0);
	CHECK(s >= 0);
	CHECK(SYS(SYS_bind, s, &a, sizeof(a)) == 0);
	CHECK(SYS(SYS_getsockname, s, &b, &len) == 0 && len == sizeof(b));
	CHECK(b.sin6_family == AF_INET6 && b.sin6_port == htons(80) &&
	      IN6_IS_ADDR_UNSPECIFIED(&b.sin6_addr));
	/* a blocking connect, answered when the handshake ends (refused) */
	inet_pton(AF_INET6, "::ffff:10.0.0.1", &a.sin6_addr);
	a.sin6_port = htons(2);
	CHECK(SYS(SYS_connect, s, &a, sizeof(a)) == -1 && errno == ECONNREFUSED);
	/* an IPv6 address goes to the gate as it is (proto.h: struct trun_addr) */
	s = (int)SYS(SYS_socket, AF_INET6, SOCK_STREAM, 0);
	inet_pton(AF_INET6, "2001:db8::1", &a.sin6_addr);
	CHECK(SYS(SYS_connect, s, &a, sizeof(a)) == -1 && errno == ECONNREFUSED);
	len = sizeof(b);
	CHECK(SYS(SYS_getpeername, s, &b, &len) == 0 && len == sizeof(b) &&
	      !memcmp(&b.sin6_addr, &a.sin6_addr, 16));
	close(s);
}

static void child_other(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct sockaddr_in k;
	socklen_t len;
	int s, p[2];
	/* not ours: AF_UNIX is never trapped, its bind is the kernel's */
	s = (int)SYS(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	CHECK(s >= 0);
	snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1, "tapir-seccomp-test.%d", getpid());
	CHECK(SYS(SYS_bind, s, &sun, sizeof(sun)) == 0);
	close(s);
	CHECK(pipe(p) == 0);
	CHECK(SYS(SYS_bind, p[0], &sun, sizeof(sun)) == -1 && errno == ENOTSOCK);
	CHECK(SYS(SYS_listen, 999, 1) == -1 && errno == EBADF);
	/* UDP the preload does not reach stays the kernel's */
	s = (int)SYS(SYS_socket, AF_INET, SOCK_DGRAM, 0);
	CHECK(s >= 0);
	len = sizeof(k);
	CHECK(trun_syscall(SYS_getsockname, s, &k, &len, 0, 0) == 0 && k.sin_family == AF_INET);
	close(s);
	CHECK(SYS(SYS_io_uring_setup, 8, NULL) == -1 && errno == ENOSYS);
}

static void test_supervisor(void **state)
{
	char path[64];
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int l, sv[2], st;
	pthread_t t;
	pid_t pid;
	(void)state;
	if (!seccomp_supported())
		skip();
	snprintf(path, sizeof(path), "/tmp/tapir-seccomp-test.%d", getpid());
	unlink(path);
	strcpy(sun.sun_path, path);
	l = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(l, 4), 0);
	assert_int_equal(seccomp_pair(sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (seccomp_child(sv) < 0)
			_exit(2);
		child_inet();
		child_inet6();
		child_other();
		_exit(0);
	}
	assert_int_equal(pthread_create(&t, NULL, g_main, &l), 0);
	assert_int_equal(seccomp_parent(sv, path), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	seccomp_stop();
	pthread_join(t, NULL);
	close(l);
	unlink(path);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_supervisor)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
