/* The gate's protocol (tools/run/proto.h) spoken directly, without the
 * preload: HELLO; a TCP socket connected to the kernel's echo server
 * (EINPROGRESS, POLLOUT, SO_ERROR 0, bytes both ways, half-close, EOF);
 * a refused connect (SO_ERROR ECONNREFUSED, TRUN_EOF the error); a
 * listener whose accept record arrives with the new app end; a UDP
 * datagram out and back with its trun_dgram header; an unknown id (EBADF);
 * a TCP_NODELAY set without reply (TRUN_NOREPLY), seen by a getsockopt.
 *   prog_gate GATE_PATH PEER_ADDR ECHO_PORT CLOSED_PORT LISTEN_PORT
 * Prints one line per check; exits 1 at the first that fails. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "run/proto.h"

static int ctl;

#define CHECK(cond, ...)                                                                       \
	do {                                                                                   \
		if (!(cond)) {                                                                 \
			printf("FAIL %s:%d ", __func__, __LINE__);                             \
			printf(__VA_ARGS__);                                                   \
			printf("\n");                                                          \
			exit(1);                                                               \
		}                                                                              \
	} while (0)

/* One request, its reply; *FD gets an attached descriptor (or -1). */
static int call(uint32_t op, uint32_t id, int a, int b, int c, const void *data, uint32_t len,
		struct trun_rep *rep, int *fd)
{
	struct trun_req req = {.op = op, .id = id, .a = a, .b = b, .c = c, .len = len};
	union trun_cmsg u;
	struct iovec iov = {.iov_base = rep, .iov_len = sizeof(*rep)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	if (data)
		memcpy(req.data, data, len);
	trun_msg_fd(&m, &u, -1);
	CHECK(send(ctl, &req, sizeof(req), 0) == (ssize_t)sizeof(req), "send: %m");
	CHECK(recvmsg(ctl, &m, 0) >= (ssize_t)offsetof(struct trun_rep, data), "recv: %m");
	if (fd)
		*fd = trun_fd_of(&m);
	return rep->ret;
}

/* ADDR:PORT as the gate takes it (proto.h): IPv4 v4-mapped */
static struct trun_addr sin_of(const char *addr, int port)
{
	struct trun_addr s = {.family = AF_INET6, .port = htons((uint16_t)port)};
	s.ip[10] = s.ip[11] = 0xff;
	inet_pton(AF_INET, addr, &s.ip[12]);
	return s;
}

static int new_socket(int type, int *fd)
{
	struct trun_rep rep;
	int id = call(TRUN_SOCKET, 0, AF_INET, type, 0, NULL, 0, &rep, fd);
	CHECK(id > 0 && *fd >= 0, "socket: %d", id);
	return id;
}

/* TRUN_NOREPLY (proto.h): a TCP_NODELAY set is answered by nothing, so
 * the next reply on the channel is the next request's, and that request
 * (a getsockopt) sees the setting. */
static void nodelay_noreply(uint32_t id)
{
	struct trun_rep rep;
	for (int v = 1; v >= 0; v--) {
		struct trun_req req = {.op = TRUN_SETSOCKOPT | TRUN_NOREPLY, .id = id,
				       .a = IPPROTO_TCP, .b = TCP_NODELAY, .len = sizeof(v)};
		int got = -1;
		memcpy(req.data, &v, sizeof(v));
		CHECK(send(ctl, &req, sizeof(req), 0) == (ssize_t)sizeof(req), "send: %m");
		CHECK(call(TRUN_GETSOCKOPT, id, IPPROTO_TCP, TCP_NODELAY, sizeof(int), NULL, 0, &rep,
			   NULL) == 0 && rep.len == sizeof(int),
		      "getsockopt after a TCP_NODELAY without reply: %d len %u", rep.ret, rep.len);
		memcpy(&got, rep.data, sizeof(got));
		CHECK(got == v, "TCP_NODELAY reads %d after a set of %d without reply", got, v);
	}
	printf("nodelay_noreply ok\n");
}

static void tcp_echo(const char *peer, int port)
{
	struct trun_rep rep;
	struct trun_addr to = sin_of(peer, port);
	struct pollfd pf;
	int fd, id = new_socket(SOCK_STREAM, &fd), err;
	char buf[64];
	pf = (struct pollfd){.fd = fd, .events = POLLOUT};
	CHECK(poll(&pf, 1, 0) == 0, "an unconnected socket is writable");
	CHECK(call(TRUN_CONNECT, (uint32_t)id, 0, 0, 0, &to, sizeof(to), &rep, NULL) == -EINPROGRESS,
	      "connect: %d", rep.ret);
	CHECK(poll(&pf, 1, 10000) == 1, "no POLLOUT after connect");
	CHECK(call(TRUN_GETSOCKOPT, (uint32_t)id, SOL_SOCKET, SO_ERROR, sizeof(int), NULL, 0, &rep,
		   NULL) == 0, "SO_ERROR: %d", rep.ret);
	memcpy(&err, rep.data, sizeof(err));
	CHECK(err == 0, "SO_ERROR %d", err);
	CHECK(call(TRUN_GETPEERNAME, (uint32_t)id, 0, 0, 0, NULL, 0, &rep, NULL) == 0,
	      "getpeername %d", rep.ret);
	CHECK(!memcmp(&((struct trun_addr *)rep.data)->port, &to.port, 2), "peer port");
	nodelay_noreply((uint32_t)id);
	CHECK(write(fd, "hello", 5) == 5, "write: %m");
	CHECK(call(TRUN_SHUTDOWN, (uint32_t)id, SHUT_WR, 0, 0, NULL, 0, &rep, NULL) == 0, "shutdown");
	shutdown(fd, SHUT_WR);
	ssize_t n, got = 0;
	while ((n = read(fd, buf + got, sizeof(buf) - (size_t)got)) > 0)
		got += n;
	CHECK(n == 0 && got == 5 && !memcmp(buf, "hello", 5), "echo: %zd bytes", got);
	CHECK(call(TRUN_EOF, (uint32_t)id, 0, 0, 0, NULL, 0, &rep, NULL) == 0, "eof: %d", rep.ret);
	close(fd);
	printf("tcp_echo ok\n");
}

static void tcp_refused(const char *peer, int port)
{
	struct trun_rep rep;
	struct trun_addr to = sin_of(peer, port);
	struct pollfd pf;
	int fd, id = new_socket(SOCK_STREAM, &fd), err;
	CHECK(call(TRUN_CONNECT, (uint32_t)id, 0, 0, 0, &to, sizeof(to), &rep, NULL) == -EINPROGRESS,
	      "connect: %d", rep.ret);
	pf = (struct pollfd){.fd = fd, .events = POLLOUT};
	CHECK(poll(&pf, 1, 10000) == 1, "no POLLOUT after a refused connect");
	call(TRUN_GETSOCKOPT, (uint32_t)id, SOL_SOCKET, SO_ERROR, sizeof(int), NULL, 0, &rep, NULL);
	memcpy(&err, rep.data, sizeof(err));
	CHECK(err == ECONNREFUSED, "SO_ERROR %d", err);
	close(fd);
	printf("tcp_refused ok\n");
}

static void tcp_listen(int port)
{
	struct trun_rep rep;
	struct trun_addr any = sin_of("0.0.0.0", port);
	struct trun_accept rec;
	union trun_cmsg u;
	struct iovec iov = {.iov_base = &rec, .iov_len = sizeof(rec)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	int fd, id = new_socket(SOCK_STREAM, &fd), cfd;
	char buf[16];
	trun_msg_fd(&m, &u, -1);
	CHECK(call(TRUN_BIND, (uint32_t)id, 0, 0, 0, &any, sizeof(any), &rep, NULL) == 0, "bind");
	CHECK(call(TRUN_LISTEN, (uint32_t)id, 8, 0, 0, NULL, 0, &rep, NULL) == 0, "listen");
	printf("listening\n");
	fflush(stdout);
	CHECK(recvmsg(fd, &m, 0) == (ssize_t)sizeof(rec), "accept record: %m");
	CHECK((cfd = trun_fd_of(&m)) >= 0, "no app end");
	CHECK(ntohs(rec.local_port) == port, "local port %u", ntohs(rec.local_port));
	CHECK(read(cfd, buf, 4) == 4 && !memcmp(buf, "ping", 4), "read from the kernel");
	close(cfd);
	close(fd);
	printf("tcp_listen ok\n");
}

static void udp(const char *peer, int port)
{
	struct trun_rep rep;
	uint8_t dg[64], in[64];
	struct trun_dgram h = {.port = htons((uint16_t)port)};
	int fd, id = new_socket(SOCK_DGRAM, &fd);
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	h.addr[10] = h.addr[11] = 0xff; /* v4-mapped, proto.h */
	inet_pton(AF_INET, peer, &h.addr[12]);
	memcpy(dg, &h, sizeof(h));
	memcpy(dg + sizeof(h), "dgram", 5);
	CHECK(send(fd, dg, sizeof(h) + 5, 0) == (ssize_t)sizeof(h) + 5, "send: %m");
	CHECK(poll(&pf, 1, 10000) == 1, "no datagram back");
	CHECK(recv(fd, in, sizeof(in), 0) == (ssize_t)sizeof(h) + 5, "recv");
	CHECK(!memcmp(in, dg, sizeof(h) + 5), "the echo and its header");
	CHECK(call(TRUN_GETSOCKNAME, (uint32_t)id, 0, 0, 0, NULL, 0, &rep, NULL) == 0 &&
		      ((struct trun_addr *)rep.data)->port != 0, "autobound port");
	close(fd);
	printf("udp ok\n");
}

int main(int argc, char **argv)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct trun_rep rep;
	if (argc != 6) {
		fprintf(stderr, "usage: prog_gate GATE PEER ECHO_PORT CLOSED_PORT LISTEN_PORT\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	ctl = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[1]);
	CHECK(connect(ctl, (struct sockaddr *)&sun, sizeof(sun)) == 0, "connect %s: %m", argv[1]);
	CHECK(call(TRUN_HELLO, 0, TRUN_VERSION, getpid(), 0, NULL, 0, &rep, NULL) > 0, "hello");
	CHECK(call(TRUN_BIND, 12345, 0, 0, 0, NULL, 0, &rep, NULL) == -EBADF, "unknown id");
	tcp_echo(argv[2], atoi(argv[3]));
	tcp_refused(argv[2], atoi(argv[4]));
	udp(argv[2], atoi(argv[3]));
	tcp_listen(atoi(argv[5]));
	return 0;
}
