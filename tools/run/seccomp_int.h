/* What seccomp.c (the filter, the supervisor's loop) and seccomp_call.c
 * (the answers to each trapped call) share.  Private to tools/run. */
#ifndef TAPIR_RUN_SECCOMP_INT_H
#define TAPIR_RUN_SECCOMP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "run/client.h"
#include "run/proto.h"

/* A trapped call, as the kernel's notification gave it. */
struct sc_note {
	uint64_t id;  /* the notification's cookie */
	uint32_t pid; /* the calling thread, in our pid namespace */
	int nr;       /* the system call */
	uint64_t args[6];
};

/* A blocking call that must wait (a connect's handshake, an accept with no
 * connection queued): the supervisor keeps its notification unanswered and
 * watches TFD, its own copy of the program's descriptor, in its epoll set,
 * so no call ever blocks the supervisor. */
struct sc_wait {
	struct sc_note n;
	int tfd;     /* -1: the slot is free */
	unsigned id; /* the socket's tapir id */
};

/* Bounds what waits at once: beyond it a blocking call fails (ENOBUFS)
 * with a `tapir:` line, rather than growing without bound. */
#define SC_WAIT_MAX 256
/* How often waiting calls are checked for a notification the kernel has
 * withdrawn (the caller was interrupted by a signal, or died). */
#define SC_WAIT_CHECK_MS 200

/* Warnings said once per run (a `tapir:` line each). */
enum sc_warn {
	SC_WARN_UDP = 1u << 0,
	SC_WARN_PROTO = 1u << 1,
	SC_WARN_WAITS = 1u << 2,
	SC_WARN_INET6 = 1u << 3,
	SC_WARN_GATE = 1u << 4,
};

struct sc {
	int listener; /* the seccomp notification descriptor */
	int stopfd;   /* an eventfd: seccomp_stop */
	int ep;
	unsigned gate_pid; /* whose app ends we answer for (HELLO's answer) */
	struct trc_chan chan; /* the control channel to the gate (client.c) */
	int no_addfd_send; /* the kernel predates SECCOMP_ADDFD_FLAG_SEND (5.14) */
	uint32_t warned;
	int debug; /* TAPIR_RUN_DEBUG=1: one line per trapped call */
	int zone;  /* sin6_scope_id of link-local addresses; -1: not asked yet */
	struct sc_wait waits[SC_WAIT_MAX];
	unsigned nwaits;
	/* which sockets are AF_INET6 (by tapir id): small, direct-mapped */
	struct {
		unsigned id;
		int domain;
	} dom[256];
};

/* seccomp.c */
/* Sends LEN bytes of BUF on SOCK with FD attached (SCM_RIGHTS) when not
 * -1: 0, or -1 with errno. */
int sc_send_fd(int sock, const void *buf, size_t len, int fd);
void sc_warn(struct sc *s, enum sc_warn w, const char *msg);
/* Answers N: RET >= 0 is what the call returns, < 0 its -errno. */
int sc_reply(struct sc *s, const struct sc_note *n, int64_t ret);
int sc_continue(struct sc *s, const struct sc_note *n);
int sc_valid(struct sc *s, const struct sc_note *n);
/* Puts FD into N's process and answers N with its number there. */
int sc_addfd(struct sc *s, const struct sc_note *n, int fd, int cloexec);
int sc_wait_add(struct sc *s, const struct sc_note *n, int tfd, unsigned id, uint32_t events);
/* One request to the gate: 0 and REP (with *FD when the reply carries a
 * descriptor and FD is not NULL), or -1 when the channel is gone. */
int sc_gate(struct sc *s, struct trun_req *req, struct trun_rep *rep, int *fd);

/* seccomp_call.c */
void sc_handle(struct sc *s, const struct sc_note *n);
/* A waiting call's descriptor is ready: 1 when answered (the slot may go),
 * 0 to keep waiting. */
int sc_wait_ready(struct sc *s, struct sc_wait *w);

#endif
