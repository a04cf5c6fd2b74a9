/*
 * The program side of tapir run's protocol (proto.h), shared by the
 * preload library (libtapir-run.so) and the tapir command's seccomp
 * supervisor: the control channel to the gate, the app-end test with its
 * per-descriptor cache, address conversions and the accept record.
 *
 * No libc interposition here, and no call of a function the preload
 * interposes: every socket call below is a raw system call, so the preload
 * can use this without calling itself, and the supervisor can use it in a
 * process that has no preload at all.
 */
#ifndef TAPIR_RUN_CLIENT_H
#define TAPIR_RUN_CLIENT_H

#include <netinet/in.h>
#include <stddef.h> /* offsetof, for proto.h */
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "run/proto.h"

/* ---- the control channel ---- */

/* One process's channel to a gate.  Made lazily by the first call, made
 * again in a child after fork (the pid differs), and dropped when the
 * program closes its descriptor (trc_fd_closed). */
struct trc_chan {
	pthread_mutex_t mu; /* one request and its reply at a time: in order */
	int fd;             /* -1: none yet */
	pid_t pid;          /* the process that made FD */
	unsigned gate;      /* the gate's pid, from TRUN_HELLO */
	dev_t dev;          /* FD's inode: a stale number is never closed */
	ino_t ino;
	/* the gate's path: $TAPIR_RUN_GATE when first asked (a program that
	 * clears its environment later keeps its gate, and so do its children) */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int persona; /* $TAPIR_RUN_PERSONA, read with the path: TRUN_HELLO's c */
};

/* The process's own channel, to the gate at $TAPIR_RUN_GATE. */
extern struct trc_chan trc_self;

/* Sends REQ (REQ->len bytes of data) and reads its reply into REP.  When
 * FD is not NULL, a descriptor attached to the reply goes to *FD (else -1),
 * with O_CLOEXEC when CLOEXEC.  Returns REP->ret, or -errno when the
 * channel itself failed (-ENOENT: no $TAPIR_RUN_GATE; -ECONNREFUSED: no
 * gate there; -EPIPE: the gate went away). */
int trc_call(struct trc_chan *c, struct trun_req *req, struct trun_rep *rep, int *fd,
	     int cloexec);
/* The common case: OP on socket ID with A, B, C and LEN bytes of DATA;
 * REP may be NULL when only the result matters. */
int trc_op(struct trc_chan *c, enum trun_op op, unsigned id, int a, int b, int c_,
	   const void *data, size_t len, struct trun_rep *rep);
/* OP (TRUN_SETSOCKOPT) sent with TRUN_NOREPLY: no reply is read, none
 * comes.  Returns 0 once the request is on the channel, or -errno when the
 * channel failed. */
int trc_op_noreply(struct trc_chan *c, enum trun_op op, unsigned id, int a, int b,
		   const void *data, size_t len);
/* The gate's pid (connects when needed), or 0 when there is no gate. */
unsigned trc_gate(struct trc_chan *c);
/* Is FD the channel's own descriptor (which the program must not see)? */
int trc_is_chan(const struct trc_chan *c, int fd);

/* ---- is this descriptor an app end? ---- */

enum {
	TRC_V6 = 1,      /* a dual-stack AF_INET6 socket (its addresses v4-mapped) */
	TRC_LISTEN = 2,  /* listen() succeeded on it */
	TRC_UCONN = 4,   /* UDP: connected (send without an address is allowed) */
	TRC_UKNOWN = 8,  /* UDP: TRC_UCONN is known (else the gate is asked) */
	TRC_ESTAB = 16,  /* TCP: accepted (relayed from the start, no failed connect) */
	TRC_TFO = 32,    /* TCP: connect returned 0 at once (maybe Fast Open, deferred) */
	TRC_TFO_SYN = 64, /* TCP: ... and a non-blocking send gave the SYN its bytes */
};

struct trc_fd {
	char kind;     /* TRUN_TCP, TRUN_UDP; 0: not an app end */
	uint8_t flags; /* TRC_* */
	unsigned id;
};

/* What FD is: 1 and *OUT for an app end of this process's gate, 0 for
 * anything else.  Cached per descriptor number (the first TRC_CACHE
 * numbers); the cache is told of new descriptors by trc_fd_set and of
 * closed ones by trc_fd_closed. */
#define TRC_CACHE 4096
int trc_fd_get(struct trc_chan *c, int fd, struct trc_fd *out);
void trc_fd_set(int fd, char kind, unsigned id, uint8_t flags);
void trc_fd_flags(int fd, uint8_t set);
void trc_fd_unflag(int fd, uint8_t clear);
/* FD was closed (or replaced by dup2/dup3): forgets it, and drops the
 * channel when it was the channel's descriptor. */
void trc_fd_closed(struct trc_chan *c, int fd);

/* ---- addresses ---- */

/* The program's sockaddr (AF_INET on an AF_INET socket; AF_INET6 on an
 * AF_INET6 one, IPv6 or v4-mapped) as the gate's struct trun_addr.  0, or
 * -EAFNOSUPPORT/-EINVAL as the kernel's bind and connect would say. */
int trc_sa_to_addr(const struct sockaddr *sa, socklen_t len, int domain, struct trun_addr *out);
/* Writes IP:PORT (struct trun_addr's form) as DOMAIN's sockaddr into SA,
 * truncated to *LEN as the kernel truncates; *LEN becomes the full length. */
void trc_addr_to_sa(const uint8_t *ip, uint16_t port, int domain, struct sockaddr *sa,
		    socklen_t *len);

/* ---- accept ---- */

/* Reads one struct trun_accept from listener LFD, with its attached app
 * end in *NFD (O_CLOEXEC when CLOEXEC).  MSG_DONTWAIT when NONBLOCK.
 * Returns 0, or -errno (-EAGAIN, -EINTR, ...). */
int trc_accept(int lfd, int nonblock, int cloexec, struct trun_accept *rec, int *nfd);

#endif
