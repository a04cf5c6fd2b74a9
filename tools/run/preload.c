/*
 * libtapir-run.so: symbol resolution, the descriptor bookkeeping (close,
 * dup, close_range: the cache of client.c forgets what they end) and the
 * helpers the other preload files share.
 */
#define _GNU_SOURCE
#include "run/preload.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct pl_real pl;
static int pl_debug;
int pl_active; /* $TAPIR_RUN_GATE was set when the program started */

static void resolve(void)
{
#define R(name) pl.name = (__typeof__(pl.name))dlsym(RTLD_NEXT, #name)
	R(socket), R(bind), R(listen), R(accept4), R(connect), R(shutdown);
	R(getsockname), R(getpeername), R(setsockopt), R(getsockopt);
	R(close), R(dup), R(dup2), R(dup3), R(fcntl), R(ioctl), R(close_range);
	R(read), R(write), R(recvfrom), R(sendto), R(recvmsg), R(sendmsg);
	R(readv), R(writev), R(sendmmsg), R(recvmmsg);
#undef R
	const char *d = getenv(TRUN_ENV_DEBUG), *g = getenv(TRUN_ENV_GATE);
	pl_active = g && *g;
	pl_debug = d && d[0] == '1';
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
__attribute__((constructor)) void pl_init(void) { pthread_once(&once, resolve); }

/* TRUN_IPV6_ZONE, asked once per process (the link is the same for all
 * its sockets); -1: not yet */
static int zone = -1;

void pl_zone(const struct trc_fd *f, struct sockaddr *sa, socklen_t room)
{
	struct sockaddr_in6 s6;
	struct trun_rep rep;
	int z;
	if (!sa || room < sizeof(s6) || sa->sa_family != AF_INET6)
		return;
	memcpy(&s6, sa, sizeof(s6));
	if (!trun_needs_zone(s6.sin6_addr.s6_addr))
		return;
	if ((z = __atomic_load_n(&zone, __ATOMIC_RELAXED)) < 0) {
		if (trc_op(&trc_self, TRUN_GETSOCKOPT, f->id, IPPROTO_IPV6, TRUN_IPV6_ZONE,
			   sizeof(int), NULL, 0, &rep) < 0 ||
		    rep.len < sizeof(z))
			return;
		memcpy(&z, rep.data, sizeof(z));
		__atomic_store_n(&zone, z, __ATOMIC_RELAXED);
	}
	s6.sin6_scope_id = (uint32_t)z;
	memcpy(sa, &s6, sizeof(s6));
}

int pl_ret(int r)
{
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

void pl_log(const char *call, int fd, int r)
{
	if (pl_debug)
		fprintf(stderr, "tapir-run[%d]: %s(%d) = %d%s%s\n", (int)getpid(), call, fd, r,
			r < 0 ? " " : "", r < 0 ? strerror(-r) : "");
}

int pl_fd(int fd, struct trc_fd *f)
{
	/* without a gate the library is inert: a program it was left in by
	 * mistake (a child that cleared the environment) runs on the kernel */
	if (!pl_active)
		return 0;
	return trc_fd_get(&trc_self, fd, f);
}

int pl_domain(const struct trc_fd *f) { return f->flags & TRC_V6 ? AF_INET6 : AF_INET; }

int pl_eof(const struct trc_fd *f, int gone)
{
	struct trun_rep rep;
	int r;
	if (f->kind != TRUN_TCP)
		return 0;
	rep.ret = INT32_MIN; /* no gate answered: tapir itself is gone */
	r = trc_op(&trc_self, TRUN_EOF, f->id, 0, 0, 0, NULL, 0, &rep);
	/* the host crashed: its end of every connection went with it, which
	 * the program must see as a reset, never as a FIN or a hang */
	if (rep.ret == INT32_MIN)
		return gone;
	return r == -EBADF ? 0 : r < 0 ? r : 0;
}

int pl_nonblocking(int fd)
{
	pl_init();
	int fl = pl.fcntl(fd, F_GETFL);
	return fl >= 0 && (fl & O_NONBLOCK);
}

/* ---- descriptors ending or changing hands ---- */

PL_API int close(int fd)
{
	pl_init();
	trc_fd_closed(&trc_self, fd);
	return pl.close(fd);
}

/* A descriptor number the kernel just (re)assigned: what the cache said of
 * it is stale, and when it was our channel's, the channel is gone. */
static int renumbered(int r)
{
	if (r >= 0)
		trc_fd_closed(&trc_self, r);
	return r;
}

PL_API int dup(int fd)
{
	pl_init();
	return renumbered(pl.dup(fd));
}

PL_API int dup2(int fd, int nfd)
{
	pl_init();
	return renumbered(pl.dup2(fd, nfd));
}

PL_API int dup3(int fd, int nfd, int flags)
{
	pl_init();
	return renumbered(pl.dup3(fd, nfd, flags));
}

PL_API int close_range(unsigned lo, unsigned hi, int flags)
{
	pl_init();
	int r = pl.close_range(lo, hi, flags);
	if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC)) {
		unsigned top = hi < TRC_CACHE ? hi : TRC_CACHE - 1;
		for (unsigned fd = lo; fd <= top; fd++)
			trc_fd_closed(&trc_self, (int)fd);
		if (trc_self.fd >= 0 && (unsigned)trc_self.fd >= lo && (unsigned)trc_self.fd <= hi)
			trc_fd_closed(&trc_self, trc_self.fd);
	}
	return r;
}

PL_API int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	unsigned long arg = va_arg(ap, unsigned long); /* an int or a pointer */
	va_end(ap);
	pl_init();
	int r = pl.fcntl(fd, cmd, arg);
	return cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC ? renumbered(r) : r;
}

/* The name programs built with 64-bit file offsets call. */
PL_API int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));

/* FIONREAD on a UDP app end counts the header the program never sees. */
PL_API int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	struct trc_fd f;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	pl_init();
	int r = pl.ioctl(fd, req, arg);
	if (r == 0 && req == FIONREAD && arg && pl_fd(fd, &f) && f.kind == TRUN_UDP) {
		int n;
		memcpy(&n, arg, sizeof(n));
		n = n >= (int)sizeof(struct trun_dgram) ? n - (int)sizeof(struct trun_dgram) : 0;
		memcpy(arg, &n, sizeof(n));
	}
	return r;
}
