/*
 * Socket-API checks, run once on the kernel and once under `tapir run`
 * (tests/run/run_sockapi.sh diffs the two outputs): one line per check,
 * its result or errno name, nothing that differs between runs (no port
 * numbers, no times).
 *   prog_sockapi PEER PORT CLOSED_PORT
 *   prog_sockapi exec-child FD FD2   (run by itself: a socket across exec)
 * PEER:PORT serves TCP echo (a line starting "RST" closes with RST) and
 * UDP echo; CLOSED_PORT has no listener.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/wait.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static struct sockaddr_in peer, closed;

static const char *en(int e)
{
	static char buf[32];
	const char *n = strerrorname_np(e);
	if (n)
		return n;
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

static void say(const char *check, int r)
{
	printf("%-22s %s\n", check, r < 0 ? en(errno) : "ok");
}

static void sayv(const char *check, const char *v) { printf("%-22s %s\n", check, v); }

static int tcp(int nb)
{
	return socket(AF_INET, SOCK_STREAM | (nb ? SOCK_NONBLOCK : 0), 0);
}

static int connected(void)
{
	int fd = tcp(0);
	if (connect(fd, (struct sockaddr *)&peer, sizeof(peer)) < 0) {
		perror("connect to the echo server");
		exit(1);
	}
	return fd;
}

/* Waits (bounded) until FD has N bytes to read. */
static int wait_bytes(int fd, int n)
{
	int have = 0;
	for (int i = 0; i < 200 && have < n; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		poll(&p, 1, 10);
		ioctl(fd, FIONREAD, &have);
	}
	return have;
}

static void listen_checks(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int l = tcp(0), l2 = tcp(0), one = 1, t;

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	say("bind_port0", bind(l, (struct sockaddr *)&a, sizeof(a)));
	getsockname(l, (struct sockaddr *)&a, &len);
	sayv("getsockname_port0", a.sin_port ? "nonzero" : "zero");
	say("accept_not_listening", accept(l, NULL, NULL));
	say("listen", listen(l, 8));
	say("bind_in_use", bind(l2, (struct sockaddr *)&a, sizeof(a)));
	fcntl(l, F_SETFL, O_NONBLOCK);
	say("accept_nonblock", accept(l, NULL, NULL));
	len = sizeof(t);
	getsockopt(l, SOL_SOCKET, SO_TYPE, &t, &len);
	sayv("so_type", t == SOCK_STREAM ? "SOCK_STREAM" : "other");
	getsockopt(l, SOL_SOCKET, SO_DOMAIN, &t, &len);
	sayv("so_domain", t == AF_INET ? "AF_INET" : "other");
	getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &t, &len);
	sayv("so_acceptconn", t ? "1" : "0");
	say("shutdown_unconnected", shutdown(l2, SHUT_WR));
	len = sizeof(a);
	say("getpeername_unconn", getpeername(l2, (struct sockaddr *)&a, &len));
	close(l);
	close(l2);
}

/* wait for a non-blocking connect to finish and say its SO_ERROR */
static void say_so_error(const char *what, int fd)
{
	int e = 0;
	socklen_t len = sizeof(e);
	struct pollfd p = {.fd = fd, .events = POLLOUT};

	poll(&p, 1, 5000);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len);
	sayv(what, e ? en(e) : "0");
}

static void connect_checks(void)
{
	int fd = tcp(0);

	say("connect_refused", connect(fd, (struct sockaddr *)&closed, sizeof(closed)));
	close(fd);
	fd = tcp(1);
	say("nb_connect", connect(fd, (struct sockaddr *)&peer, sizeof(peer)));
	say_so_error("nb_connect_so_error", fd);
	say("connect_again", connect(fd, (struct sockaddr *)&peer, sizeof(peer)));
	close(fd);
	fd = tcp(1);
	say("nb_refused", connect(fd, (struct sockaddr *)&closed, sizeof(closed)));
	say_so_error("nb_refused_so_error", fd);
	close(fd);
}

static void data_checks(void)
{
	int fd = connected(), d, ep, n;
	char buf[64] = {0};
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET}, out[4];
	struct pollfd p = {.events = POLLIN};

	getpeername(fd, (struct sockaddr *)&a, &len);
	sayv("getpeername", a.sin_port == peer.sin_port && a.sin_addr.s_addr == peer.sin_addr.s_addr
				    ? "peer"
				    : "other");
	write(fd, "hello", 5);
	snprintf(buf, sizeof(buf), "%d", wait_bytes(fd, 5));
	sayv("fionread", buf);
	p.fd = fd;
	n = poll(&p, 1, 0) + poll(&p, 1, 0);
	sayv("poll_level_twice", n == 2 ? "2" : "not 2");
	memset(buf, 0, sizeof(buf));
	recv(fd, buf, 5, MSG_PEEK);
	sayv("msg_peek", buf);
	memset(buf, 0, sizeof(buf));
	read(fd, buf, 5);
	sayv("read_after_peek", buf);
	ep = epoll_create1(0);
	ev.data.fd = fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	write(fd, "abc", 3);
	n = epoll_wait(ep, out, 4, 5000);
	snprintf(buf, sizeof(buf), "%d then %d", n, epoll_wait(ep, out, 4, 0));
	sayv("epoll_edge", buf);
	wait_bytes(fd, 3);
	read(fd, buf, 3);
	d = dup(fd);
	close(fd);
	write(d, "dup", 3);
	memset(buf, 0, sizeof(buf));
	wait_bytes(d, 3);
	read(d, buf, 3);
	sayv("dup_close_one", buf);
	say("shutdown_wr", shutdown(d, SHUT_WR));
	n = (int)read(d, buf, sizeof(buf));
	sayv("peer_eof_read", n == 0 ? "0" : n < 0 ? en(errno) : "data");
	close(d);
	close(ep);

	fd = connected();
	write(fd, "RST\n", 4);
	n = (int)read(fd, buf, sizeof(buf));
	sayv("read_after_rst", n == 0 ? "0" : n < 0 ? en(errno) : "data");
	n = (int)read(fd, buf, sizeof(buf));
	sayv("read_after_rst_again", n == 0 ? "0" : n < 0 ? en(errno) : "data");
	close(fd);

	/* SO_LINGER {1, 0}: the close is an abort, the peer reads ECONNRESET */
	struct linger lg = {1, 0};
	fd = connected();
	write(fd, "LINGER\n", 7);
	read(fd, buf, 3); /* "ok\n": the peer watches for the end */
	say("so_linger_set", setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	close(fd);
	fd = connected();
	write(fd, "RESULT\n", 7);
	memset(buf, 0, sizeof(buf));
	n = (int)read(fd, buf, sizeof(buf) - 1);
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	sayv("peer_saw_after_linger", buf);
	close(fd);
}

static void udp_checks(void)
{
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	char buf[64] = {0};
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	struct pollfd p = {.fd = u, .events = POLLIN};

	say("udp_send_no_dest", (int)send(u, "x", 1, 0));
	say("udp_sendto", (int)sendto(u, "ping", 4, 0, (struct sockaddr *)&peer, sizeof(peer)));
	poll(&p, 1, 5000);
	recvfrom(u, buf, sizeof(buf), 0, (struct sockaddr *)&a, &len);
	sayv("udp_recvfrom", buf);
	sayv("udp_recvfrom_src", a.sin_port == peer.sin_port ? "peer" : "other");
	say("udp_connect", connect(u, (struct sockaddr *)&peer, sizeof(peer)));
	write(u, "pong", 4);
	poll(&p, 1, 5000);
	memset(buf, 0, sizeof(buf));
	snprintf(buf + 8, 16, "%d", (int)read(u, buf, 8));
	sayv("udp_read", buf);
	sayv("udp_read_len", buf + 8);
	len = sizeof(a);
	getsockname(u, (struct sockaddr *)&a, &len);
	sayv("udp_getsockname", a.sin_port ? "nonzero" : "zero");
	struct iovec v[2] = {{"ve", 2}, {"ctor", 4}};
	writev(u, v, 2);
	poll(&p, 1, 5000);
	memset(buf, 0, sizeof(buf));
	v[0] = (struct iovec){buf, 3};
	v[1] = (struct iovec){buf + 3, 8};
	snprintf(buf + 16, 16, "%d", (int)readv(u, v, 2));
	sayv("udp_writev_readv", buf);
	sayv("udp_readv_len", buf + 16);
	close(u);
}

/* A dual-stack socket (IPV6_V6ONLY off, as iperf3 -s and nginx's [::]) to
 * an IPv4 peer by its v4-mapped address. */
static void v6_checks(void)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = peer.sin_port};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET6, SOCK_STREAM, 0), d = 0;
	char buf[16] = {0};
	a.sin6_addr.s6_addr[10] = a.sin6_addr.s6_addr[11] = 0xff;
	memcpy(&a.sin6_addr.s6_addr[12], &peer.sin_addr, 4);
	say("v6_mapped_connect", connect(fd, (struct sockaddr *)&a, sizeof(a)));
	memset(&a, 0, sizeof(a));
	getpeername(fd, (struct sockaddr *)&a, &len);
	sayv("v6_peer_family", a.sin6_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a.sin6_addr)
				       ? "AF_INET6 v4-mapped"
				       : "other");
	len = sizeof(d);
	getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &d, &len);
	sayv("v6_so_domain", d == AF_INET6 ? "AF_INET6" : "other");
	write(fd, "six", 3);
	wait_bytes(fd, 3);
	read(fd, buf, 3);
	sayv("v6_echo", buf);
	close(fd);
	/* RFC 4007 6: a link-local peer without its zone (sin6_scope_id 0) */
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_port = peer.sin_port;
	a.sin6_addr.s6_addr[0] = 0xfe;
	a.sin6_addr.s6_addr[1] = 0x80;
	a.sin6_addr.s6_addr[15] = 1;
	say("v6_linklocal_no_scope_connect", connect(fd, (struct sockaddr *)&a, sizeof(a)));
	say("v6_linklocal_no_scope_bind", bind(fd, (struct sockaddr *)&a, sizeof(a)));
	close(fd);
}

/* RFC 7413 as Linux offers it: sendto with MSG_FASTOPEN connects and
 * sends; the options a listener and a connection take */
static void fastopen_checks(void)
{
	int fd = tcp(0), v = 5;
	char buf[8] = "";
	ssize_t n = sendto(fd, "tfo\n", 4, MSG_FASTOPEN, (struct sockaddr *)&peer, sizeof(peer));
	say("fastopen_sendto", n == 4 ? 0 : -1);
	wait_bytes(fd, 4);
	say("fastopen_echo", recv(fd, buf, 4, MSG_DONTWAIT) == 4 && !memcmp(buf, "tfo\n", 4) ? 0 : -1);
	close(fd);
	fd = tcp(0);
	say("tcp_fastopen_qlen", setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &v, sizeof(v)));
	v = 4096;
	say("tcp_notsent_lowat", setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, sizeof(v)));
	close(fd);
}

/* Sends the N bytes of MSG on FD and reads the echo: "ok" or what came. */
static const char *echoed(int fd, const char *msg, int n)
{
	static char buf[64];
	memset(buf, 0, sizeof(buf));
	if (write(fd, msg, (size_t)n) != n)
		return en(errno);
	wait_bytes(fd, n);
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		return en(errno);
	return memcmp(buf, msg, (size_t)n) ? buf : "ok";
}

/* After exec (exec-child): FD is a socket kept across it, FD2 one that had
 * SOCK_CLOEXEC and must be gone (UNP 4.7). */
static int exec_child(int fd, int fd2)
{
	sayv("exec_kept_echo", echoed(fd, "exec", 4));
	say("exec_cloexec_gone", fcntl(fd2, F_GETFD));
	return 0;
}

static int get_int(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);
	return getsockopt(fd, level, name, &v, &len) < 0 ? -errno : v;
}

/* Options, FIONBIO, select, dup2/dup3, sendfile, splice and exec on a
 * connected socket (issue 13's list of calls). */
static void more_checks(const char *self)
{
	int fd = connected(), one = 1, v = 30, d, fds[2], mfd, st = 0;
	char buf[64];
	fd_set rs;
	struct timeval tv = {5, 0};
	pid_t pid;
	say("so_keepalive_set", setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)));
	snprintf(buf, sizeof(buf), "%d", get_int(fd, SOL_SOCKET, SO_KEEPALIVE));
	sayv("so_keepalive_get", buf);
	say("tcp_nodelay_set", setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
	snprintf(buf, sizeof(buf), "%d", get_int(fd, IPPROTO_TCP, TCP_NODELAY));
	sayv("tcp_nodelay_get", buf);
	say("tcp_keepidle_set", setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v)));
	snprintf(buf, sizeof(buf), "%d %d", get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE),
		 get_int(fd, SOL_SOCKET, SO_ERROR));
	sayv("tcp_keepidle_so_error", buf);
	say("fionbio", ioctl(fd, FIONBIO, &one));
	say("fionbio_read_empty", (int)read(fd, buf, sizeof(buf)));
	one = 0;
	ioctl(fd, FIONBIO, &one);
	if (write(fd, "sel", 3) == 3) {
		FD_ZERO(&rs);
		FD_SET(fd, &rs);
		snprintf(buf, sizeof(buf), "%d", select(fd + 1, &rs, NULL, NULL, &tv));
		sayv("select_readable", buf);
		wait_bytes(fd, 3);
		read(fd, buf, 3);
	}
	d = dup3(fd, 200, O_CLOEXEC);
	snprintf(buf, sizeof(buf), "%d", d == 200 ? fcntl(d, F_GETFD) & FD_CLOEXEC : -1);
	sayv("dup3_cloexec", buf);
	say("dup2", dup2(d, 201));
	close(d);
	sayv("dup2_echo", echoed(201, "dup2", 4));
	close(201);
	/* sendfile and splice: the kernel's, on the socket's descriptor */
	mfd = memfd_create("sockapi", 0);
	write(mfd, "sfile", 5);
	snprintf(buf, sizeof(buf), "%d", (int)sendfile(fd, mfd, &(off_t){0}, 5));
	sayv("sendfile", buf);
	wait_bytes(fd, 5);
	memset(buf, 0, sizeof(buf));
	read(fd, buf, 5);
	sayv("sendfile_echo", buf);
	close(mfd);
	if (pipe(fds) == 0) {
		write(fds[1], "splic", 5);
		snprintf(buf, sizeof(buf), "%d", (int)splice(fds[0], NULL, fd, NULL, 5, 0));
		sayv("splice", buf);
		wait_bytes(fd, 5);
		memset(buf, 0, sizeof(buf));
		read(fd, buf, 5);
		sayv("splice_echo", buf);
		close(fds[0]);
		close(fds[1]);
	}
	/* exec keeps a socket unless it is close-on-exec */
	d = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid = fork();
	if (pid == 0) {
		char a[16], b[16];
		snprintf(a, sizeof(a), "%d", fd);
		snprintf(b, sizeof(b), "%d", d);
		execl(self, self, "exec-child", a, b, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	snprintf(buf, sizeof(buf), "%d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	sayv("exec_child_exit", buf);
	close(d);
	close(fd);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "exec-child"))
		return exec_child(atoi(argv[2]), atoi(argv[3]));
	if (argc != 4) {
		fprintf(stderr, "usage: prog_sockapi PEER PORT CLOSED_PORT\n");
		return 2;
	}
	peer.sin_family = closed.sin_family = AF_INET;
	inet_pton(AF_INET, argv[1], &peer.sin_addr);
	closed.sin_addr = peer.sin_addr;
	peer.sin_port = htons((uint16_t)atoi(argv[2]));
	closed.sin_port = htons((uint16_t)atoi(argv[3]));
	listen_checks();
	connect_checks();
	data_checks();
	udp_checks();
	v6_checks();
	fastopen_checks();
	more_checks(argv[0]);
	return 0;
}
