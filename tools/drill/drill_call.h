/* tapir drill: what the system calls of drill_syscall.c and drill_io.c
 * share (drill_run.h has the runner's side). */
#ifndef TAPIR_DRILL_CALL_H
#define TAPIR_DRILL_CALL_H

#include "drill_run.h"

/* what the call returned: RET, or -1 and ERR */
struct res {
	long ret;
	int err;
};

/* one attempt at a call: what its handler works on */
struct call {
	struct drill *d;
	const struct dl_event *e;
	const struct drill_call *row;
	struct dfd *f;          /* the socket of the first argument (not for socket()) */
	struct pending *p;
	struct res *r;
};

/* A system call: RUN returns true when the call returned (its result in
 * c->r); false when it would block, or the script has ended. */
struct drill_call {
	const char *name;
	bool (*run)(struct call *c);
	bool fd;                /* the first argument is a socket */
	bool flags;             /* recv, send: the fourth argument is flags */
	int iov;                /* the length from an iovec array (writev, readv: 1)
				 * or a msghdr (sendmsg, recvmsg: 2; flags third) */
};

/* The call's argument I ("" past the last). */
const char *dc_arg(const struct dl_event *e, unsigned i);
/* The integer value of A, an argument or return value of E's call; "[v]"
 * brackets are taken off.  False (the script SKIPs) on an unknown name. */
bool dc_eval_int(struct drill *d, const struct dl_event *e, const char *a, long long *v);
bool dc_arg_int(struct drill *d, const struct dl_event *e, unsigned i, long long *v);
/* V as a result: V >= 0, or -1 and errno -V */
void dc_set_res(struct res *r, long v);
/* A free descriptor for the one E's call makes: the number the script
 * expects when that is free (packetdrill maps the script's descriptors to
 * its own, so a script may start at 4), else the lowest from 3; -1 if
 * none is free. */
int dc_free_fd(struct drill *d, const struct dl_event *e);
/* The socket of the first argument, or NULL with EBADF in R. */
struct dfd *dc_get_fd(struct drill *d, const struct dl_event *e, struct res *r);

/* drill_syscall.c: read, recv (readv, recvmsg) and write, send (writev,
 * sendmsg) */
bool call_read(struct call *c);
bool call_write(struct call *c);

/* drill_io.c */
/* The length and flags of a read or write call of any form. */
bool dc_io_args(struct call *c, long long *len, long long *flags);
bool call_ioctl(struct call *c);
bool call_poll(struct call *c);
bool call_epoll_create(struct call *c);
bool call_epoll_ctl(struct call *c);
bool call_epoll_wait(struct call *c);
/* close() of an epoll descriptor: true when FD was one */
bool dc_epoll_close(struct drill *d, int fd);

#endif
