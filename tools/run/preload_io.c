/*
 * libtapir-run.so: the data calls.  Connected TCP is the kernel's own
 * stream on the app end; only its EOF is asked about (TRUN_EOF: a FIN, or
 * the reset a kernel socket would report).  UDP datagrams carry a struct
 * trun_dgram ahead of the payload, added on send and stripped on receive.
 */
#define _GNU_SOURCE
#include "run/preload.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DGRAM_HDR sizeof(struct trun_dgram)
/* iovecs of one datagram (Linux allows UIO_MAXIOV; this bounds our stack) */
#define DGRAM_IOV 64

/* Is the gate's end of FD still open?  Its close (the relay's end, or
 * tapir gone) leaves FD with both directions shut: POLLHUP. */
static bool gate_end_open(int fd)
{
	struct pollfd p = {.fd = fd};
	struct timespec zero = {0, 0};
	long r = syscall(SYS_ppoll, &p, 1, &zero, NULL, 0);
	return r == 0 || (r > 0 && !(p.revents & (POLLHUP | POLLNVAL | POLLERR)));
}

/* A read of 0 on TCP: EOF, or the error the connection ended with.  An
 * accepted socket whose gate end is still open is being relayed: its EOF
 * is the peer's FIN (the gate shut its end for writing), known without a
 * question to the gate (a round trip: two wake-ups).  A connect that failed
 * shuts the gate end the same way, so other sockets still ask. */
static ssize_t tcp_read_done(const struct trc_fd *f, int fd, ssize_t r, size_t n)
{
	pl_spin_moved(r);
	if (r == 0 && n > 0 && (f->flags & TRC_ESTAB) && gate_end_open(fd))
		return 0;
	if (r == 0 && n > 0) {
		int e = pl_eof(f, -ECONNRESET);
		if (e < 0)
			return pl_ret(e);
	}
	return r;
}

/* A write that met EPIPE on TCP: a reset says ECONNRESET first. */
static ssize_t tcp_write_done(const struct trc_fd *f, ssize_t r)
{
	if (r < 0 && errno == EPIPE) {
		int e = pl_eof(f, -EPIPE);
		errno = e < 0 ? -e : EPIPE;
	}
	return r;
}

/* MSG_MORE on TCP (tcp(7): "the caller has more data to send", TCP_CORK
 * for one call): the gate holds what the app end gives until a send
 * without it.  Which sockets hold one, by descriptor (the socket's id
 * + 1, so a number reused by another socket starts clear). */
static unsigned more_held[TRC_CACHE];

static void tcp_more(int fd, const struct trc_fd *f, int flags)
{
	int on = (flags & MSG_MORE) != 0;
	if (fd < 0 || fd >= TRC_CACHE || on == (more_held[fd] == f->id + 1))
		return;
	int r = trc_op(&trc_self, TRUN_SETSOCKOPT, f->id, IPPROTO_TCP, TRUN_TCP_MORE, 0, &on,
		       sizeof(on), NULL);
	pl_log(on ? "send(MSG_MORE)" : "send(uncork)", fd, r);
	if (r == 0)
		more_held[fd] = on ? f->id + 1 : 0;
}

/* A connect that Fast Open let succeed at once (RFC 7413 4.2,
 * TCP_FASTOPEN_CONNECT) and a non-blocking send, as Linux's: until the
 * handshake ends, the first send gives the SYN what it carries and later
 * ones fail with EAGAIN -- where the app end alone would take all it has
 * room for.  The gate tells which (TRUN_TCP_TFO).  Returns the most this
 * send may give (SSIZE_MAX: no limit, that state is over) or -errno. */
static ssize_t tfo_room(int fd, const struct trc_fd *f, int flags)
{
	struct trun_rep rep;
	int v = -1;
	if (!(flags & MSG_DONTWAIT) && !pl_nonblocking(fd)) {
		/* a blocking send: Linux's waits for the handshake, then takes
		 * all, as the app end does; later sends need not ask */
		trc_fd_unflag(fd, TRC_TFO | TRC_TFO_SYN);
		return SSIZE_MAX;
	}
	if (trc_op(&trc_self, TRUN_GETSOCKOPT, f->id, IPPROTO_TCP, TRUN_TCP_TFO, sizeof(v), NULL,
		   0, &rep) == 0 &&
	    rep.len >= sizeof(v))
		memcpy(&v, rep.data, sizeof(v));
	if (v < 0) {
		trc_fd_unflag(fd, TRC_TFO | TRC_TFO_SYN);
		return SSIZE_MAX;
	}
	if (v == 0 || (f->flags & TRC_TFO_SYN)) /* the SYN has its bytes */
		return -EAGAIN;
	return v;
}

/* M cut to at most MAX bytes in OUT (its iovecs in V, N of them) */
static const struct msghdr *msg_cut(const struct msghdr *m, size_t max, struct msghdr *out,
				    struct iovec *v, size_t n)
{
	size_t k = 0;
	*out = *m;
	out->msg_iov = v;
	for (; k < n && k < m->msg_iovlen && max; k++) {
		v[k] = m->msg_iov[k];
		if (v[k].iov_len > max)
			v[k].iov_len = max;
		max -= v[k].iov_len;
	}
	out->msg_iovlen = k;
	return out;
}

/* A TCP send: corked first when FLAGS has MSG_MORE; uncorked after when
 * an earlier one had it (the bytes are in the app end by then); cut to
 * the SYN's room after a Fast Open connect (tfo_room). */
static ssize_t tcp_send(int fd, const struct trc_fd *f, const struct msghdr *m, int flags)
{
	ssize_t r, room = SSIZE_MAX;
	struct msghdr cut;
	struct iovec v[DGRAM_IOV];
	if ((f->flags & TRC_TFO) && (room = tfo_room(fd, f, flags)) < 0)
		return pl_ret((int)room);
	if (room != SSIZE_MAX)
		m = msg_cut(m, (size_t)room, &cut, v, DGRAM_IOV);
	if (flags & MSG_MORE)
		tcp_more(fd, f, flags);
	r = tcp_write_done(f, pl.sendmsg(fd, m, flags & ~MSG_MORE));
	pl_spin_moved(r);
	if (room != SSIZE_MAX && r > 0)
		trc_fd_flags(fd, TRC_TFO_SYN);
	if (!(flags & MSG_MORE))
		tcp_more(fd, f, flags);
	return r;
}

/* MSG_FASTOPEN (Linux's tcp(7); RFC 7413 4.2): a connect with
 * TCP_FASTOPEN_CONNECT, then the send.  With a cookie cached the connect
 * succeeds at once and the gate gives tapir the bytes for its SYN;
 * without one the SYN asks for a cookie and the bytes follow the
 * handshake (a non-blocking call: EINPROGRESS, nothing sent, as Linux's).
 * (Unlike Linux, getsockopt(TCP_FASTOPEN_CONNECT) reads 1 afterwards.) */
static int fastopen_connect(int fd, struct trc_fd *f, const struct sockaddr *to,
			    socklen_t tolen)
{
	int on = 1, r;
	/* refused on a socket already connecting or connected: the
	 * connect says EISCONN or EALREADY then, as Linux's sendto */
	trc_op(&trc_self, TRUN_SETSOCKOPT, f->id, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 0, &on,
	       sizeof(on), NULL);
	if ((r = connect(fd, to, tolen)) == 0)
		pl_fd(fd, f); /* its flags now: TRC_TFO (tcp_send) */
	return r;
}

/* May a datagram go without an address?  Only on a connected socket:
 * else EDESTADDRREQ, as Linux's udp_sendmsg says. */
static int udp_connected(int fd, const struct trc_fd *f)
{
	struct trun_rep rep;
	int conn;
	if (f->flags & TRC_UKNOWN)
		return !!(f->flags & TRC_UCONN);
	conn = trc_op(&trc_self, TRUN_GETPEERNAME, f->id, 0, 0, 0, NULL, 0, &rep) == 0;
	trc_fd_set(fd, f->kind, f->id, f->flags | TRC_UKNOWN | (conn ? TRC_UCONN : 0));
	return conn;
}

static ssize_t udp_send(int fd, const struct trc_fd *f, const struct iovec *iov, size_t niov,
			const struct sockaddr *to, socklen_t tolen, int flags)
{
	struct trun_dgram h = {0};
	struct iovec v[DGRAM_IOV];
	struct trun_addr sin;
	struct msghdr m = {.msg_iov = v, .msg_iovlen = niov + 1};
	ssize_t r;
	if (niov >= DGRAM_IOV)
		return pl_ret(-EMSGSIZE);
	if (to) {
		int e = trc_sa_to_addr(to, tolen, pl_domain(f), &sin);
		if (e < 0)
			return pl_ret(e);
		memcpy(h.addr, sin.ip, sizeof(h.addr));
		h.port = sin.port;
	} else if (!udp_connected(fd, f)) {
		return pl_ret(-EDESTADDRREQ);
	}
	v[0] = (struct iovec){&h, DGRAM_HDR};
	memcpy(&v[1], iov, niov * sizeof(*iov));
	r = pl.sendmsg(fd, &m, flags & ~MSG_MORE);
	return r < 0 ? r : r - (ssize_t)DGRAM_HDR;
}

static ssize_t udp_recv(int fd, const struct trc_fd *f, const struct iovec *iov, size_t niov,
			struct sockaddr *from, socklen_t *fromlen, int flags, int *mflags)
{
	struct trun_dgram h;
	struct iovec v[DGRAM_IOV];
	struct msghdr m = {.msg_iov = v, .msg_iovlen = niov + 1};
	ssize_t r;
	if (niov >= DGRAM_IOV)
		return pl_ret(-EMSGSIZE);
	v[0] = (struct iovec){&h, DGRAM_HDR};
	memcpy(&v[1], iov, niov * sizeof(*iov));
	r = pl.recvmsg(fd, &m, flags);
	if (r < 0)
		return r;
	if (r < (ssize_t)DGRAM_HDR) /* not the gate's: nothing to give */
		return pl_ret(-EAGAIN);
	if (mflags)
		*mflags = m.msg_flags;
	if (from && fromlen) {
		socklen_t room = *fromlen;
		trc_addr_to_sa(h.addr, h.port, pl_domain(f), from, fromlen);
		pl_zone(f, from, room);
	}
	return r - (ssize_t)DGRAM_HDR;
}

PL_API ssize_t read(int fd, void *buf, size_t n)
{
	struct trc_fd f;
	struct iovec v = {buf, n};
	ssize_t r;
	pl_init();
	if (!pl_fd(fd, &f))
		return pl.read(fd, buf, n);
	if (f.kind == TRUN_UDP)
		return udp_recv(fd, &f, &v, 1, NULL, NULL, 0, NULL);
	r = pl.read(fd, buf, n);
	return tcp_read_done(&f, fd, r, n);
}

PL_API ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen) { return read(fd, buf, n); }

PL_API ssize_t write(int fd, const void *buf, size_t n)
{
	struct trc_fd f;
	struct iovec v = {(void *)buf, n};
	pl_init();
	if (!pl_fd(fd, &f))
		return pl.write(fd, buf, n);
	if (f.kind == TRUN_UDP)
		return udp_send(fd, &f, &v, 1, NULL, 0, 0);
	return tcp_send(fd, &f, &(struct msghdr){.msg_iov = &v, .msg_iovlen = 1}, 0);
}

PL_API ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to,
		      socklen_t tolen)
{
	struct trc_fd f;
	struct iovec v = {(void *)buf, n};
	pl_init();
	if (!pl_fd(fd, &f))
		return pl.sendto(fd, buf, n, flags, to, tolen);
	if (f.kind == TRUN_UDP)
		return udp_send(fd, &f, &v, 1, to, tolen, flags);
	if ((flags & MSG_FASTOPEN) && fastopen_connect(fd, &f, to, tolen) < 0)
		return -1;
	/* connected TCP ignores an address, as Linux's */
	return tcp_send(fd, &f, &(struct msghdr){.msg_iov = &v, .msg_iovlen = 1},
			flags & ~MSG_FASTOPEN);
}

PL_API ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	return sendto(fd, buf, n, flags, NULL, 0);
}

PL_API ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct trc_fd f;
	struct msghdr m;
	pl_init();
	if (!pl_fd(fd, &f))
		return pl.sendmsg(fd, msg, flags);
	if (f.kind == TRUN_UDP)
		return udp_send(fd, &f, msg->msg_iov, msg->msg_iovlen, msg->msg_name,
				msg->msg_namelen, flags);
	if ((flags & MSG_FASTOPEN) && fastopen_connect(fd, &f, msg->msg_name, msg->msg_namelen) < 0)
		return -1;
	m = *msg;
	m.msg_name = NULL;
	m.msg_namelen = 0;
	return tcp_send(fd, &f, &m, flags & ~MSG_FASTOPEN);
}

PL_API ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from,
			socklen_t *fromlen)
{
	struct trc_fd f;
	struct iovec v = {buf, n};
	pl_init();
	if (!pl_fd(fd, &f))
		return pl.recvfrom(fd, buf, n, flags, from, fromlen);
	if (f.kind == TRUN_UDP)
		return udp_recv(fd, &f, &v, 1, from, fromlen, flags, NULL);
	if (fromlen)
		*fromlen = 0; /* TCP names no source, as Linux's */
	return tcp_read_done(&f, fd, pl.recvfrom(fd, buf, n, flags, NULL, NULL), n);
}

PL_API ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	return recvfrom(fd, buf, n, flags, NULL, NULL);
}

PL_API ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	return recvfrom(fd, buf, n, flags, NULL, NULL);
}

PL_API ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
			      struct sockaddr *from, socklen_t *fromlen)
{
	return recvfrom(fd, buf, n, flags, from, fromlen);
}

/* Descriptors that arrive by SCM_RIGHTS take numbers our cache may
 * remember from before. */
static void forget_passed(struct msghdr *msg)
{
	struct cmsghdr *h;
	for (h = CMSG_FIRSTHDR(msg); h; h = CMSG_NXTHDR(msg, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
			size_t n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < n; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(fd));
				trc_fd_closed(&trc_self, fd);
			}
		}
}

PL_API ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct trc_fd f;
	ssize_t r;
	size_t n = 0;
	pl_init();
	if (!pl_fd(fd, &f)) {
		r = pl.recvmsg(fd, msg, flags);
		if (r >= 0 && msg->msg_controllen)
			forget_passed(msg);
		return r;
	}
	if (f.kind == TRUN_UDP) {
		msg->msg_controllen = 0; /* no IP_PKTINFO and friends from the gate */
		return udp_recv(fd, &f, msg->msg_iov, msg->msg_iovlen, msg->msg_name,
				msg->msg_name ? &msg->msg_namelen : NULL, flags, &msg->msg_flags);
	}
	void *name = msg->msg_name; /* TCP names no source: namelen 0 */
	msg->msg_name = NULL;
	msg->msg_namelen = 0;
	for (size_t i = 0; i < msg->msg_iovlen; i++)
		n += msg->msg_iov[i].iov_len;
	r = pl.recvmsg(fd, msg, flags);
	msg->msg_name = name;
	return tcp_read_done(&f, fd, r, n);
}

/* ---- vectors and batches: only UDP needs them (its header) ---- */

PL_API ssize_t readv(int fd, const struct iovec *iov, int n)
{
	struct trc_fd f;
	struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = n < 0 ? 0 : (size_t)n};
	pl_init();
	if (pl_fd(fd, &f))
		return recvmsg(fd, &m, 0); /* UDP header, or TCP EOF */
	return pl.readv(fd, iov, n);
}

PL_API ssize_t writev(int fd, const struct iovec *iov, int n)
{
	struct trc_fd f;
	struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = n < 0 ? 0 : (size_t)n};
	pl_init();
	if (pl_fd(fd, &f))
		return sendmsg(fd, &m, 0);
	return pl.writev(fd, iov, n);
}

/* As Linux: the count done, or the error when the first one failed. */
PL_API int sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags)
{
	struct trc_fd f;
	unsigned i;
	pl_init();
	if (!pl_fd(fd, &f))
		return pl.sendmmsg(fd, v, n, flags);
	for (i = 0; i < n; i++) {
		ssize_t r = sendmsg(fd, &v[i].msg_hdr, flags);
		if (r < 0)
			return i ? (int)i : -1;
		v[i].msg_len = (unsigned)r;
	}
	return (int)i;
}

PL_API int recvmmsg(int fd, struct mmsghdr *v, unsigned n, int flags, struct timespec *tmo)
{
	struct trc_fd f;
	unsigned i;
	pl_init();
	if (!pl_fd(fd, &f))
		return pl.recvmmsg(fd, v, n, flags, tmo);
	/* the first waits as the descriptor says; the rest take what is there
	 * (MSG_WAITFORONE); TMO is not honoured on app ends */
	for (i = 0; i < n; i++) {
		ssize_t r = recvmsg(fd, &v[i].msg_hdr, i ? flags | MSG_DONTWAIT : flags);
		if (r < 0)
			return i ? (int)i : -1;
		v[i].msg_len = (unsigned)r;
	}
	return (int)i;
}
