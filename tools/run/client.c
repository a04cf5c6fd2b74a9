/*
 * The program side of tapir run's protocol (client.h, proto.h).  Raw
 * system calls only: the preload library interposes the libc socket calls
 * and must not call itself through this file.
 */
#include "run/client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <tapir/addr.h>

struct trc_chan trc_self = {.mu = PTHREAD_MUTEX_INITIALIZER, .fd = -1};

/* The channel's descriptor sits high, out of the way of programs that
 * dup2 onto the numbers they expect free (shells, daemons). */
#define TRC_CHAN_FD_MIN 512

static long sys_ret(long r) { return r < 0 ? -errno : r; }

static void chan_drop(struct trc_chan *c)
{
	struct stat st;
	/* after fork or exec the number may be the program's by now: close it
	 * only when it is still the socket this channel made */
	if (c->fd >= 0 && c->pid == getpid() && fstat(c->fd, &st) == 0 && st.st_dev == c->dev &&
	    st.st_ino == c->ino)
		syscall(SYS_close, c->fd);
	c->fd = -1;
	c->gate = 0;
}

/* The child of a fork has its own channel (the gate tells processes apart
 * by theirs), and its own lock: another thread of the parent may have held
 * it at the fork. */
static void atfork_child(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
	trc_self.mu = fresh;
	/* the inherited descriptor is the parent's channel: the child closes
	 * its copy (the parent's stays) and makes its own when it needs one */
	if (trc_self.fd >= 0)
		syscall(SYS_close, trc_self.fd);
	trc_self.fd = -1;
	trc_self.gate = 0;
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void atfork_register(void) { pthread_atfork(NULL, NULL, atfork_child); }

static int xfer(int fd, struct msghdr *m, int recv)
{
	long r;
	do
		r = syscall(recv ? SYS_recvmsg : SYS_sendmsg, fd, m, recv ? MSG_CMSG_CLOEXEC : 0);
	while (r < 0 && errno == EINTR); /* the reply must be read: it is in order */
	return (int)sys_ret(r);
}

static int chan_open(struct trc_chan *c)
{
	const char *path = c->path[0] ? c->path : getenv(TRUN_ENV_GATE);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct trun_req req = {.op = TRUN_HELLO, .a = TRUN_VERSION};
	struct trun_rep rep;
	struct iovec iv;
	struct msghdr m = {.msg_iov = &iv, .msg_iovlen = 1};
	struct stat st;
	int fd, hi, r;

	if (!path || !*path)
		return -ENOENT;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	if (!c->path[0]) {
		const char *pe = getenv(TRUN_ENV_PERSONA);
		strcpy(c->path, path);
		c->persona = pe ? atoi(pe) : 0;
	}
	req.c = c->persona;
	fd = (int)syscall(SYS_socket, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	do
		r = (int)sys_ret(trun_syscall(SYS_connect, fd, &sun, sizeof(sun), 0, 0));
	while (r == -EINTR);
	if (r < 0)
		goto fail;
	hi = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, TRC_CHAN_FD_MIN);
	if (hi >= 0) {
		syscall(SYS_close, fd);
		fd = hi;
	}
	req.b = (int32_t)getpid();
	iv = (struct iovec){&req, offsetof(struct trun_req, data)};
	if ((r = xfer(fd, &m, 0)) < 0)
		goto fail;
	iv = (struct iovec){&rep, sizeof(rep)};
	if ((r = xfer(fd, &m, 1)) < 0)
		goto fail;
	if (r < (int)offsetof(struct trun_rep, data) || rep.ret <= 0) {
		r = r == 0 ? -EPIPE : rep.ret < 0 ? rep.ret : -EPROTO;
		goto fail;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto fail;
	}
	c->fd = fd;
	c->pid = getpid();
	c->gate = (unsigned)rep.ret;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	return 0;
fail:
	syscall(SYS_close, fd);
	return r;
}

/* Under C->mu: a channel of this process, made when needed. */
static int chan_ready(struct trc_chan *c)
{
	if (c == &trc_self)
		pthread_once(&atfork_once, atfork_register);
	if (c->fd >= 0 && c->pid != getpid()) /* a raw clone(): no atfork ran */
		chan_drop(c);
	return c->fd >= 0 ? 0 : chan_open(c);
}

static int call_locked(struct trc_chan *c, struct trun_req *req, struct trun_rep *rep, int *fd,
		       int cloexec)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iv = {req, offsetof(struct trun_req, data) + req->len};
	struct msghdr m = {.msg_iov = &iv, .msg_iovlen = 1};
	struct cmsghdr *h;
	int r;

	if ((r = chan_ready(c)) < 0)
		return r;
	if ((r = xfer(c->fd, &m, 0)) < 0)
		goto broken;
	iv = (struct iovec){rep, sizeof(*rep)};
	m.msg_control = cm.buf;
	m.msg_controllen = sizeof(cm.buf);
	if ((r = xfer(c->fd, &m, 1)) < 0)
		goto broken;
	if (r < (int)offsetof(struct trun_rep, data) || rep->len > TRUN_DATA_MAX) {
		r = r == 0 ? -EPIPE : -EPROTO;
		goto broken;
	}
	for (h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS &&
		    h->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int got;
			memcpy(&got, CMSG_DATA(h), sizeof(got));
			if (fd && *fd < 0) {
				*fd = got;
				if (!cloexec)
					syscall(SYS_fcntl, got, F_SETFD, 0);
			} else {
				syscall(SYS_close, got); /* not asked for */
			}
		}
	return rep->ret;
broken:
	/* a channel that lost a request or a reply is out of step: a new one */
	chan_drop(c);
	return r == -ECONNRESET ? -EPIPE : r;
}

int trc_call(struct trc_chan *c, struct trun_req *req, struct trun_rep *rep, int *fd,
	     int cloexec)
{
	int r;
	if (fd)
		*fd = -1;
	if (req->len > TRUN_DATA_MAX)
		return -EINVAL;
	pthread_mutex_lock(&c->mu);
	r = call_locked(c, req, rep, fd, cloexec);
	pthread_mutex_unlock(&c->mu);
	if (fd && *fd >= 0 && r < 0) {
		syscall(SYS_close, *fd);
		*fd = -1;
	}
	return r;
}

int trc_op(struct trc_chan *c, enum trun_op op, unsigned id, int a, int b, int c_,
	   const void *data, size_t len, struct trun_rep *rep)
{
	struct trun_req req = {.op = op, .id = id, .a = a, .b = b, .c = c_};
	struct trun_rep tmp;
	if (len > TRUN_DATA_MAX)
		return -EINVAL;
	if (len)
		memcpy(req.data, data, len);
	req.len = (uint32_t)len;
	return trc_call(c, &req, rep ? rep : &tmp, NULL, 0);
}

int trc_op_noreply(struct trc_chan *c, enum trun_op op, unsigned id, int a, int b,
		   const void *data, size_t len)
{
	struct trun_req req = {.op = (uint32_t)op | TRUN_NOREPLY, .id = id, .a = a, .b = b};
	struct iovec iv = {&req, offsetof(struct trun_req, data) + len};
	struct msghdr m = {.msg_iov = &iv, .msg_iovlen = 1};
	int r;
	if (len > TRUN_DATA_MAX)
		return -EINVAL;
	if (len)
		memcpy(req.data, data, len);
	req.len = (uint32_t)len;
	pthread_mutex_lock(&c->mu);
	if ((r = chan_ready(c)) == 0) {
		r = xfer(c->fd, &m, 0);
		if (r < 0)
			chan_drop(c); /* as call_locked: a lost request, a new channel */
	}
	pthread_mutex_unlock(&c->mu);
	return r < 0 ? (r == -ECONNRESET ? -EPIPE : r) : 0;
}

unsigned trc_gate(struct trc_chan *c)
{
	unsigned g;
	pthread_mutex_lock(&c->mu);
	g = chan_ready(c) == 0 ? c->gate : 0;
	pthread_mutex_unlock(&c->mu);
	return g;
}

int trc_is_chan(const struct trc_chan *c, int fd) { return fd >= 0 && fd == c->fd; }

/* ---- the descriptor cache ---- */

/* One word per descriptor number, read and written atomically: bits 0-31
 * the id, 32-39 the kind, 40-47 the flags, bit 48 "known".  0: unknown. */
#define TRC_KNOWN (1ull << 48)
static uint64_t fdcache[TRC_CACHE];

static uint64_t fd_word(char kind, unsigned id, uint8_t flags)
{
	return TRC_KNOWN | (uint64_t)(uint8_t)kind << 32 | (uint64_t)flags << 40 | id;
}

void trc_fd_set(int fd, char kind, unsigned id, uint8_t flags)
{
	if (fd >= 0 && fd < TRC_CACHE)
		__atomic_store_n(&fdcache[fd], fd_word(kind, id, flags), __ATOMIC_RELAXED);
}

void trc_fd_flags(int fd, uint8_t set)
{
	if (fd >= 0 && fd < TRC_CACHE)
		__atomic_fetch_or(&fdcache[fd], (uint64_t)set << 40, __ATOMIC_RELAXED);
}

void trc_fd_unflag(int fd, uint8_t clear)
{
	if (fd >= 0 && fd < TRC_CACHE)
		__atomic_fetch_and(&fdcache[fd], ~((uint64_t)clear << 40), __ATOMIC_RELAXED);
}

void trc_fd_closed(struct trc_chan *c, int fd)
{
	if (fd >= 0 && fd < TRC_CACHE)
		__atomic_store_n(&fdcache[fd], 0, __ATOMIC_RELAXED);
	if (fd >= 0 && fd == c->fd) {
		/* the program closed our channel (a daemon closing every
		 * descriptor): it is gone, not ours to close again */
		pthread_mutex_lock(&c->mu);
		if (fd == c->fd) {
			c->fd = -1;
			c->gate = 0;
		}
		pthread_mutex_unlock(&c->mu);
	}
}

static int fd_probe(struct trc_chan *c, int fd, struct trc_fd *out)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	struct trun_rep rep;
	unsigned gate;

	out->kind = 0;
	out->flags = 0;
	out->id = 0;
	if (trun_syscall(SYS_getsockname, fd, &sun, &len, 0, 0) < 0)
		return errno == EBADF ? -1 : 0; /* EBADF: nothing to remember */
	if (!trun_parse(&sun, len, &gate, &out->kind, &out->id) ||
	    (out->kind != TRUN_TCP && out->kind != TRUN_UDP) || gate != trc_gate(c)) {
		out->kind = 0; /* a plain socket, or another gate's */
		return 0;
	}
	/* the name says nothing of the domain: a dual-stack socket inherited
	 * across exec must still speak AF_INET6 addresses */
	if (trc_op(c, TRUN_GETSOCKOPT, out->id, SOL_SOCKET, SO_DOMAIN, sizeof(int), NULL, 0, &rep) ==
		    0 &&
	    rep.len >= sizeof(int)) {
		int d;
		memcpy(&d, rep.data, sizeof(d));
		if (d == AF_INET6)
			out->flags |= TRC_V6;
	}
	return 1;
}

int trc_fd_get(struct trc_chan *c, int fd, struct trc_fd *out)
{
	uint64_t w;
	int r;
	if (fd < 0 || trc_is_chan(c, fd))
		return 0;
	if (fd < TRC_CACHE && ((w = __atomic_load_n(&fdcache[fd], __ATOMIC_RELAXED)) & TRC_KNOWN)) {
		out->id = (unsigned)(w & 0xffffffffu);
		out->kind = (char)(w >> 32 & 0xff);
		out->flags = (uint8_t)(w >> 40 & 0xff);
		return out->kind != 0;
	}
	r = fd_probe(c, fd, out);
	if (r >= 0)
		trc_fd_set(fd, out->kind, out->id, out->flags);
	return r > 0;
}

/* ---- addresses ---- */

int trc_sa_to_addr(const struct sockaddr *sa, socklen_t len, int domain, struct trun_addr *out)
{
	memset(out, 0, sizeof(*out));
	out->family = AF_INET6;
	if (!sa || len < sizeof(sa_family_t))
		return -EINVAL;
	if (domain == AF_INET6) {
		struct sockaddr_in6 s6;
		if (sa->sa_family != AF_INET6)
			return -EAFNOSUPPORT;
		if (len < sizeof(s6))
			return -EINVAL; /* SIN6_LEN_RFC2133 (24) too: close enough */
		memcpy(&s6, sa, sizeof(s6));
		memcpy(out->ip, &s6.sin6_addr, 16);
		out->port = s6.sin6_port;
		out->scope = s6.sin6_scope_id;
		return 0;
	}
	struct sockaddr_in sin;
	if (len < sizeof(sin))
		return -EINVAL;
	memcpy(&sin, sa, sizeof(sin));
	if (sin.sin_family != AF_INET)
		return -EAFNOSUPPORT;
	struct tapir_ip ip = tapir_ip_from_v4(ntohl(sin.sin_addr.s_addr));
	memcpy(out->ip, ip.b, sizeof(out->ip));
	out->port = sin.sin_port;
	return 0;
}

void trc_addr_to_sa(const uint8_t *ip, uint16_t port, int domain, struct sockaddr *sa,
		    socklen_t *len)
{
	struct tapir_ip a = tapir_ip_from_v6(ip);
	union {
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} u;
	socklen_t full;
	memset(&u, 0, sizeof(u));
	if (domain == AF_INET6) {
		u.v6.sin6_family = AF_INET6;
		u.v6.sin6_port = port;
		/* ::ffff:0.0.0.0 is :: on a dual-stack socket, as Linux says */
		if (!tapir_ip_is_v4(&a) || tapir_ip_v4(&a))
			memcpy(&u.v6.sin6_addr, ip, 16);
		full = sizeof(u.v6);
	} else {
		u.v4.sin_family = AF_INET;
		u.v4.sin_port = port;
		memcpy(&u.v4.sin_addr, ip + 12, 4);
		full = sizeof(u.v4);
	}
	if (sa && len)
		memcpy(sa, &u, *len < full ? *len : full);
	if (len)
		*len = full;
}

/* ---- accept ---- */

int trc_accept(int lfd, int nonblock, int cloexec, struct trun_accept *rec, int *nfd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iv = {rec, sizeof(*rec)};
	struct msghdr m = {.msg_iov = &iv,
			   .msg_iovlen = 1,
			   .msg_control = cm.buf,
			   .msg_controllen = sizeof(cm.buf)};
	struct cmsghdr *h;
	long r;

	*nfd = -1;
	r = syscall(SYS_recvmsg, lfd, &m,
		    (nonblock ? MSG_DONTWAIT : 0) | (cloexec ? MSG_CMSG_CLOEXEC : 0));
	if (r < 0)
		return -errno;
	for (h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS &&
		    h->cmsg_len >= CMSG_LEN(sizeof(int)))
			memcpy(nfd, CMSG_DATA(h), sizeof(int));
	if (r != (long)sizeof(*rec) || *nfd < 0) {
		/* a record cut short: the gate and we disagree; drop it */
		if (*nfd >= 0)
			syscall(SYS_close, *nfd);
		*nfd = -1;
		return r == 0 ? -EINVAL : -EPROTO;
	}
	return 0;
}
