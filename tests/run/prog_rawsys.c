/*
 * A program that makes its socket calls with raw syscall(2), never through
 * libc's wrappers, as Go programs do: the preload cannot see them, only
 * tapir run's seccomp supervisor can.  run_rawsys.sh runs it.
 *
 *   prog_rawsys get IP PORT PATH      HTTP/1.0 GET; the body on stdout,
 *                                     "local A:P" (getsockname) on stderr
 *   prog_rawsys serve PORT FILE N     serves FILE to N clients, one at a
 *                                     time (blocking accept4), "peer A:P"
 *                                     for each on stderr
 *   prog_rawsys uring                 "io_uring_setup ERRNO" and "mptcp ERRNO"
 *                                     (a raw MPTCP socket()), or "ok"
 *   prog_rawsys bench N               N getsockname() calls made raw, then N
 *                                     through libc: "raw US libc US" (µs a
 *                                     call), the cost of a trapped call
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void die_errno(const char *what)
{
	fprintf(stderr, "prog_rawsys: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void put_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die_errno("write");
		p += w;
		n -= (size_t)w;
	}
}

static void print_addr(const char *what, const struct sockaddr_in *a)
{
	char b[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &a->sin_addr, b, sizeof(b));
	fprintf(stderr, "%s %s:%u\n", what, b, ntohs(a->sin_port));
}

/* a raw socket(2) of TYPE with the int option LEVEL/OPT set to 1 */
static int sock_with(int type, int level, int opt)
{
	int s = (int)syscall(SYS_socket, AF_INET, type, 0), one = 1;
	if (s < 0)
		die_errno("socket");
	if (syscall(SYS_setsockopt, s, level, opt, &one, sizeof(one)) < 0)
		die_errno("setsockopt");
	return s;
}

static int get(const char *ip, int port, const char *path)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	socklen_t len = sizeof(a);
	char buf[65536], req[512];
	int s, in_body = 0, tail = 0;
	ssize_t r;
	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1)
		return fprintf(stderr, "prog_rawsys: bad address %s\n", ip), 2;
	s = sock_with(SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP, TCP_NODELAY);
	if (syscall(SYS_connect, s, &a, sizeof(a)) < 0)
		die_errno("connect");
	if (syscall(SYS_getsockname, s, &a, &len) < 0)
		die_errno("getsockname");
	print_addr("local", &a);
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, ip);
	put_all(s, req, strlen(req));
	if (syscall(SYS_shutdown, s, SHUT_WR) < 0)
		die_errno("shutdown");
	/* the body follows the first blank line */
	while ((r = read(s, buf, sizeof(buf))) > 0) {
		ssize_t i = 0;
		for (; !in_body && i < r; i++) {
			tail = buf[i] == '\n' ? tail + 1 : buf[i] == '\r' ? tail : 0;
			in_body = tail == 2;
		}
		if (in_body && i < r)
			put_all(1, buf + i, (size_t)(r - i));
	}
	if (r < 0)
		die_errno("read");
	close(s);
	return in_body ? 0 : 1;
}

static int serve(int port, const char *file, int n)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	socklen_t len;
	char buf[65536], hdr[128];
	int s, c, f;
	ssize_t r;
	s = sock_with(SOCK_STREAM, SOL_SOCKET, SO_REUSEADDR);
	if (syscall(SYS_bind, s, &a, sizeof(a)) < 0)
		die_errno("bind");
	if (syscall(SYS_listen, s, 16) < 0)
		die_errno("listen");
	fprintf(stderr, "listening %d\n", port);
	for (int i = 0; i < n; i++) {
		len = sizeof(a);
		c = (int)syscall(SYS_accept4, s, &a, &len, SOCK_CLOEXEC);
		if (c < 0)
			die_errno("accept4");
		print_addr("peer", &a);
		/* the request: read until its blank line (a small GET) */
		r = read(c, buf, sizeof(buf));
		if (r < 0)
			die_errno("read");
		f = open(file, O_RDONLY | O_CLOEXEC);
		if (f < 0)
			die_errno(file);
		snprintf(hdr, sizeof(hdr), "HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n");
		put_all(c, hdr, strlen(hdr));
		while ((r = read(f, buf, sizeof(buf))) > 0)
			put_all(c, buf, (size_t)r);
		close(f);
		if (syscall(SYS_shutdown, c, SHUT_WR) < 0)
			die_errno("shutdown");
		/* the client's FIN, then our close */
		while (read(c, buf, sizeof(buf)) > 0)
			;
		close(c);
	}
	close(s);
	return 0;
}

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int bench(int n)
{
	struct sockaddr_in a;
	socklen_t len;
	double t0, t1, t2;
	int s = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	if (s < 0 || n <= 0)
		die_errno("socket");
	t0 = now_us();
	for (int i = 0; i < n; i++) {
		len = sizeof(a);
		if (syscall(SYS_getsockname, s, &a, &len) < 0)
			die_errno("getsockname");
	}
	t1 = now_us();
	for (int i = 0; i < n; i++) {
		len = sizeof(a);
		if (getsockname(s, (struct sockaddr *)&a, &len) < 0)
			die_errno("getsockname");
	}
	t2 = now_us();
	printf("raw %.2f libc %.2f\n", (t1 - t0) / n, (t2 - t1) / n);
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "uring")) {
		/* io_uring would carry socket calls past the supervisor: under
		 * tapir run its setup fails ENOSYS, so programs fall back */
		long params[15] = {0}; /* struct io_uring_params: 120 bytes */
		long r = syscall(SYS_io_uring_setup, 4, params);
		printf("io_uring_setup %s\n", r < 0 ? (errno == ENOSYS ? "ENOSYS" : strerror(errno)) : "ok");
		/* a protocol tapir lacks is refused, never the kernel's (MPTCP) */
		r = syscall(SYS_socket, AF_INET, SOCK_STREAM, 262 /* IPPROTO_MPTCP */);
		printf("mptcp %s\n", r < 0 ? (errno == EPROTONOSUPPORT ? "EPROTONOSUPPORT" : strerror(errno)) : "ok");
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "bench"))
		return bench(atoi(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "get"))
		return get(argv[2], atoi(argv[3]), argv[4]);
	if (argc == 5 && !strcmp(argv[1], "serve"))
		return serve(atoi(argv[2]), argv[3], atoi(argv[4]));
	fprintf(stderr, "usage: prog_rawsys get IP PORT PATH | serve PORT FILE N | uring | bench N\n");
	return 2;
}
