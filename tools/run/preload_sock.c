/*
 * libtapir-run.so: the socket calls that name addresses or options, as
 * requests to the gate (proto.h).  Errno values as Linux's for the same
 * call on a kernel socket.
 */
#define _GNU_SOURCE
#include "run/preload.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Only AF_INET (and dual-stack AF_INET6) TCP and UDP go to tapir;
 * AF_UNIX, AF_NETLINK, raw and ICMP sockets stay the kernel's. */
static int for_tapir(int domain, int type, int protocol)
{
	if (domain != AF_INET && domain != AF_INET6)
		return 0;
	if (type == SOCK_STREAM)
		return protocol == 0 || protocol == IPPROTO_TCP;
	if (type == SOCK_DGRAM)
		return protocol == 0 || protocol == IPPROTO_UDP;
	return 0;
}

PL_API int socket(int domain, int type, int protocol)
{
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), fd, r;
	struct trun_req req = {.op = TRUN_SOCKET, .a = domain, .b = base, .c = protocol};
	struct trun_rep rep;

	pl_init();
	if (!pl_active || !for_tapir(domain, base, protocol))
		return pl.socket(domain, type, protocol);
	r = trc_call(&trc_self, &req, &rep, &fd, type & SOCK_CLOEXEC);
	pl_log("socket", fd, r);
	if (r == -ENOENT || r == -ECONNREFUSED || r == -EPIPE) {
		/* never silently on the kernel: the program learns why, once */
		static int told;
		if (!__atomic_exchange_n(&told, 1, __ATOMIC_RELAXED))
			fprintf(stderr, "tapir: run: no tapir gate at %s (%s): socket() fails\n",
				trc_self.path[0] ? trc_self.path : getenv(TRUN_ENV_GATE),
				strerror(-r));
		r = -EAFNOSUPPORT;
	}
	if (r < 0)
		return pl_ret(r);
	if (fd < 0)
		return pl_ret(-EPROTO);
	if (type & SOCK_NONBLOCK)
		pl.fcntl(fd, F_SETFL, pl.fcntl(fd, F_GETFL) | O_NONBLOCK);
	trc_fd_set(fd, base == SOCK_STREAM ? TRUN_TCP : TRUN_UDP, (unsigned)r,
		   (domain == AF_INET6 ? TRC_V6 : 0) | TRC_UKNOWN);
	return fd;
}

PL_API int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct trc_fd f;
	struct trun_addr sin;
	int r;
	pl_init();
	if (!pl_fd(fd, &f))
		return pl.bind(fd, sa, len);
	if ((r = trc_sa_to_addr(sa, len, pl_domain(&f), &sin)) == 0)
		r = trc_op(&trc_self, TRUN_BIND, f.id, 0, 0, 0, &sin, sizeof(sin), NULL);
	pl_log("bind", fd, r);
	return pl_ret(r == -ENETUNREACH ? -EADDRNOTAVAIL : r);
}

PL_API int listen(int fd, int backlog)
{
	struct trc_fd f;
	int r;
	pl_init();
	if (!pl_fd(fd, &f))
		return pl.listen(fd, backlog);
	r = trc_op(&trc_self, TRUN_LISTEN, f.id, backlog, 0, 0, NULL, 0, NULL);
	pl_log("listen", fd, r);
	if (r == 0)
		trc_fd_flags(fd, TRC_LISTEN);
	return pl_ret(r);
}

/* A socket this process did not see listen (an exec'd child's): ask. */
static int is_listener(const struct trc_fd *f)
{
	struct trun_rep rep;
	int v = 0;
	if (f->flags & TRC_LISTEN)
		return 1;
	if (trc_op(&trc_self, TRUN_GETSOCKOPT, f->id, SOL_SOCKET, SO_ACCEPTCONN, sizeof(int), NULL,
		   0, &rep) == 0 &&
	    rep.len >= sizeof(v))
		memcpy(&v, rep.data, sizeof(v));
	return v != 0;
}

PL_API int accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	struct trc_fd f;
	struct trun_accept rec;
	int nfd, r;
	pl_init();
	if (!pl_fd(fd, &f))
		return pl.accept4(fd, sa, len, flags);
	if (f.kind != TRUN_TCP)
		return pl_ret(-EOPNOTSUPP);
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return pl_ret(-EINVAL);
	if (!is_listener(&f))
		return pl_ret(-EINVAL);
	trc_fd_flags(fd, TRC_LISTEN);
	/* blocking or not as the listener's own descriptor is: recvmsg says
	 * EAGAIN, blocks, or fails EINTR exactly as the kernel's accept */
	r = trc_accept(fd, 0, flags & SOCK_CLOEXEC, &rec, &nfd);
	pl_log("accept", fd, r < 0 ? r : nfd);
	if (r < 0)
		return pl_ret(r == -EPROTO ? -ECONNABORTED : r);
	if (flags & SOCK_NONBLOCK)
		pl.fcntl(nfd, F_SETFL, pl.fcntl(nfd, F_GETFL) | O_NONBLOCK);
	trc_fd_set(nfd, TRUN_TCP, rec.id, (f.flags & TRC_V6) | TRC_ESTAB);
	if (sa && len) {
		socklen_t room = *len;
		trc_addr_to_sa(rec.peer_addr, rec.peer_port, pl_domain(&f), sa, len);
		pl_zone(&f, sa, room);
	}
	return nfd;
}

PL_API int accept(int fd, struct sockaddr *sa, socklen_t *len) { return accept4(fd, sa, len, 0); }

/* The blocking half of connect: the handshake ends with POLLOUT (or a
 * hangup), then SO_ERROR says how, as the kernel's own connect waits. */
static int connect_wait(int fd, const struct trc_fd *f)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	struct trun_rep rep;
	int err = 0;
	if (poll(&p, 1, -1) < 0)
		return -errno; /* EINTR: the handshake goes on, as on Linux */
	if (trc_op(&trc_self, TRUN_GETSOCKOPT, f->id, SOL_SOCKET, SO_ERROR, sizeof(int), NULL, 0,
		   &rep) == 0 &&
	    rep.len >= sizeof(err))
		memcpy(&err, rep.data, sizeof(err));
	return -err;
}

PL_API int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct trc_fd f;
	struct trun_addr sin;
	int r;
	pl_init();
	if (!pl_fd(fd, &f))
		return pl.connect(fd, sa, len);
	if (f.kind == TRUN_UDP && sa && len >= sizeof(sa_family_t) && sa->sa_family == AF_UNSPEC) {
		memset(&sin, 0, sizeof(sin)); /* UDP disconnect */
		sin.family = AF_UNSPEC;
		r = 0;
	} else {
		r = trc_sa_to_addr(sa, len, pl_domain(&f), &sin);
	}
	if (r == 0)
		r = trc_op(&trc_self, TRUN_CONNECT, f.id, 0, 0, 0, &sin, sizeof(sin), NULL);
	if (r == 0 && f.kind == TRUN_TCP) /* at once: Fast Open's, perhaps (tcp_send) */
		trc_fd_flags(fd, TRC_TFO);
	if (r == -EINPROGRESS && !pl_nonblocking(fd))
		r = connect_wait(fd, &f);
	if (f.kind == TRUN_UDP && r == 0) /* send() without an address: allowed or not */
		trc_fd_set(fd, f.kind, f.id,
			   (f.flags & ~TRC_UCONN) | TRC_UKNOWN |
				   (sin.family == AF_UNSPEC ? 0 : TRC_UCONN));
	pl_log("connect", fd, r);
	return pl_ret(r);
}

PL_API int shutdown(int fd, int how)
{
	struct trc_fd f;
	int r;
	pl_init();
	if (!pl_fd(fd, &f))
		return pl.shutdown(fd, how);
	if (how < SHUT_RD || how > SHUT_RDWR)
		return pl_ret(-EINVAL);
	r = trc_op(&trc_self, TRUN_SHUTDOWN, f.id, how, 0, 0, NULL, 0, NULL);
	pl_log("shutdown", fd, r);
	if (r == 0 && trun_syscall(SYS_shutdown, fd, how, 0, 0, 0) < 0)
		return -1; /* SHUT_WR here is what sends the FIN */
	return pl_ret(r);
}

static int names(int fd, struct sockaddr *sa, socklen_t *len, int peer)
{
	struct trc_fd f;
	struct trun_rep rep;
	struct trun_addr sin;
	socklen_t room;
	int r;
	pl_init();
	if (!pl_fd(fd, &f))
		return peer ? pl.getpeername(fd, sa, len) : pl.getsockname(fd, sa, len);
	if (!len)
		return pl_ret(-EFAULT);
	r = trc_op(&trc_self, peer ? TRUN_GETPEERNAME : TRUN_GETSOCKNAME, f.id, 0, 0, 0, NULL, 0,
		   &rep);
	if (r < 0)
		return pl_ret(r);
	memset(&sin, 0, sizeof(sin));
	memcpy(&sin, rep.data, rep.len < sizeof(sin) ? rep.len : sizeof(sin));
	room = *len;
	trc_addr_to_sa(sin.ip, sin.port, pl_domain(&f), sa, len);
	pl_zone(&f, sa, room);
	return 0;
}

PL_API int getsockname(int fd, struct sockaddr *sa, socklen_t *len) { return names(fd, sa, len, 0); }
PL_API int getpeername(int fd, struct sockaddr *sa, socklen_t *len) { return names(fd, sa, len, 1); }

/* Options of the descriptor itself (timeouts of blocking calls), not of
 * the connection: the app end keeps them. */
static int local_opt(int level, int name)
{
	return level == SOL_SOCKET && (name == SO_RCVTIMEO_OLD || name == SO_SNDTIMEO_OLD ||
				       name == SO_RCVTIMEO_NEW || name == SO_SNDTIMEO_NEW);
}

PL_API int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	struct trc_fd f;
	int r;
	pl_init();
	if (!pl_fd(fd, &f) || local_opt(level, name))
		return pl.setsockopt(fd, level, name, val, len);
	if (len > TRUN_DATA_MAX)
		return pl_ret(-EINVAL);
	if (len && !val)
		return pl_ret(-EFAULT);
	/* proto.h TRUN_NOREPLY: what cannot fail goes without a wait */
	if (f.kind == TRUN_TCP && level == IPPROTO_TCP && name == TCP_NODELAY && len >= sizeof(int))
		r = trc_op_noreply(&trc_self, TRUN_SETSOCKOPT, f.id, level, name, val, len);
	else
		r = trc_op(&trc_self, TRUN_SETSOCKOPT, f.id, level, name, 0, val, len, NULL);
	pl_log("setsockopt", fd, r);
	return pl_ret(r);
}

PL_API int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	struct trc_fd f;
	struct trun_rep rep;
	int v = -1, r;
	pl_init();
	if (!pl_fd(fd, &f) || local_opt(level, name))
		return pl.getsockopt(fd, level, name, val, len);
	if (!len || (*len && !val))
		return pl_ret(-EFAULT);
	if (level == SOL_SOCKET && name == SO_TYPE)
		v = f.kind == TRUN_TCP ? SOCK_STREAM : SOCK_DGRAM;
	else if (level == SOL_SOCKET && name == SO_DOMAIN)
		v = pl_domain(&f);
	else if (level == SOL_SOCKET && name == SO_PROTOCOL)
		v = f.kind == TRUN_TCP ? IPPROTO_TCP : IPPROTO_UDP;
	if (v >= 0) {
		rep.len = sizeof(v);
		memcpy(rep.data, &v, sizeof(v));
	} else {
		r = trc_op(&trc_self, TRUN_GETSOCKOPT, f.id, level, name, (int)*len, NULL, 0, &rep);
		pl_log("getsockopt", fd, r);
		if (r < 0)
			return pl_ret(r);
	}
	if ((int)*len < 0)
		return pl_ret(-EINVAL);
	if (*len > rep.len)
		*len = rep.len;
	memcpy(val, rep.data, *len);
	return 0;
}
