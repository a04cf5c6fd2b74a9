/*
 * libtapir-run.so, the preload library of `tapir run` (proto.h, client.h):
 * inside an unmodified program, it turns the socket calls that name
 * addresses or options into requests to the gate, and adds or strips the
 * datagram header on UDP.  Everything else a socket does (bytes, poll,
 * epoll, fork, dup) the kernel does on the app end itself.
 */
#ifndef TAPIR_RUN_PRELOAD_H
#define TAPIR_RUN_PRELOAD_H

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include "run/client.h"

/* The symbols we export: everything else stays hidden (-fvisibility). */
#define PL_API __attribute__((visibility("default")))

/* The next definitions (libc's), found with dlsym(RTLD_NEXT). */
struct pl_real {
	int (*socket)(int, int, int);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*listen)(int, int);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*shutdown)(int, int);
	int (*getsockname)(int, struct sockaddr *, socklen_t *);
	int (*getpeername)(int, struct sockaddr *, socklen_t *);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	int (*close)(int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, ...);
	int (*ioctl)(int, unsigned long, ...);
	int (*close_range)(unsigned, unsigned, int);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*writev)(int, const struct iovec *, int);
	int (*sendmmsg)(int, struct mmsghdr *, unsigned, int);
	int (*recvmmsg)(int, struct mmsghdr *, unsigned, int, struct timespec *);
};
extern struct pl_real pl;
/* Was there a gate to use ($TAPIR_RUN_GATE) when the program started?
 * Without one the library is inert: every call is libc's. */
extern int pl_active;

/* Fills PL (once; also the library's constructor). */
void pl_init(void);
/* Is FD an app end?  1 and *F when it is. */
int pl_fd(int fd, struct trc_fd *f);
/* The domain the program asked for: AF_INET6 for a dual-stack socket. */
int pl_domain(const struct trc_fd *f);
/* -1 with errno -R when R < 0, else R. */
int pl_ret(int r);
/* TRUN_DEBUG: one line on stderr per call the gate answered. */
void pl_log(const char *call, int fd, int r);
/* The app end of a TCP socket read EOF (or wrote EPIPE): 0 for a FIN, or
 * -errno (ECONNRESET, ETIMEDOUT) for the error a kernel socket reports;
 * GONE (-ECONNRESET reading, -EPIPE writing) when no gate answers: the
 * host crashed. */
int pl_eof(const struct trc_fd *f, int gone);
/* SA (ROOM bytes the caller gave), an address just given back on F: a
 * link-local IPv6 one gets its zone in sin6_scope_id, as Linux's
 * getsockname, getpeername, accept and recvfrom give it (RFC 4007 6). */
void pl_zone(const struct trc_fd *f, struct sockaddr *sa, socklen_t room);
/* Is FD in non-blocking mode? */
int pl_nonblocking(int fd);
/* N (a read's or write's result) bytes of TCP moved by this thread: after
 * bulk its next wait does not busy-poll (preload_poll.c) */
void pl_spin_moved(ssize_t n);

#endif
