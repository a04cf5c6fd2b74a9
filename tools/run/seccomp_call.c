/*
 * The supervisor's answers to each trapped socket call (seccomp.c traps
 * them): the call is made as a gate request (tools/run/proto.h) on the
 * program's behalf, with its arguments read from, and its results written
 * to, the program's memory.
 *
 * A call on a descriptor first fetches the program's descriptor
 * (pidfd_getfd): when it is not one of our gate's app ends (an AF_UNIX or
 * netlink socket, a file) the kernel answers the call itself (CONTINUE).
 * Arguments are read before the request and the notification is checked
 * to be still pending (SECCOMP_IOCTL_NOTIF_ID_VALID) after reading, so
 * what was read belongs to the caller and not to a recycled pid.
 */
#define _GNU_SOURCE /* process_vm_readv */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "run/seccomp_int.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* linux/pidfd.h, 6.9: a pidfd of one thread */
#endif

static int mem_read(const struct sc_note *n, uint64_t addr, void *buf, size_t len)
{
	struct iovec l = {buf, len}, r = {(void *)(uintptr_t)addr, len};
	if (len == 0)
		return 0;
	return process_vm_readv((pid_t)n->pid, &l, 1, &r, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

static int mem_write(struct sc *s, const struct sc_note *n, uint64_t addr, const void *buf,
		     size_t len)
{
	struct iovec l = {(void *)buf, len}, r = {(void *)(uintptr_t)addr, len};
	if (len == 0)
		return 0;
	/* never into a process that is no longer the caller */
	if (!sc_valid(s, n))
		return -ESRCH;
	return process_vm_writev((pid_t)n->pid, &l, 1, &r, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

/* Reads the int at ADDR (a socklen_t the caller passed by pointer):
 * -EFAULT, -EINVAL when negative (as the kernel's move_addr_to_user). */
static int get_len(const struct sc_note *n, uint64_t addr, int *len)
{
	if (mem_read(n, addr, len, sizeof(*len)) < 0)
		return -EFAULT;
	return *len < 0 ? -EINVAL : 0;
}

/* Our own copy of the caller's descriptor FD, or -errno. */
static int target_fd(const struct sc_note *n, int fd)
{
	int pfd, t, e;
	/* the caller may be any thread (Go makes its calls from many) */
	pfd = (int)syscall(SYS_pidfd_open, (pid_t)n->pid, PIDFD_THREAD);
	if (pfd < 0 && errno == EINVAL)
		pfd = (int)syscall(SYS_pidfd_open, (pid_t)n->pid, 0);
	if (pfd < 0)
		return -errno;
	t = (int)syscall(SYS_pidfd_getfd, pfd, fd, 0);
	e = errno;
	close(pfd);
	return t < 0 ? -e : t;
}

/* 1 and the tapir id when FD is an app end of our gate. */
static int app_end(const struct sc *s, int fd, unsigned *id)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	unsigned gate;
	char kind;
	if (getsockname(fd, (struct sockaddr *)&sun, &len) < 0)
		return 0;
	return trun_parse(&sun, len, &gate, &kind, id) && gate == s->gate_pid;
}

static int gate_op(struct sc *s, uint32_t op, unsigned id, int a, int b, int c, const void *data,
		   uint32_t len, struct trun_rep *rep, int *fd)
{
	struct trun_req q;
	memset(&q, 0, offsetof(struct trun_req, data));
	q.op = op;
	q.id = id;
	q.a = a;
	q.b = b;
	q.c = c;
	q.len = len;
	if (len)
		memcpy(q.data, data, len);
	if (sc_gate(s, &q, rep, fd) < 0) {
		sc_warn(s, SC_WARN_GATE, "the gate is gone: the program's socket calls fail");
		rep->ret = -ENETDOWN;
		rep->len = 0;
	}
	if (rep->len > sizeof(rep->data))
		rep->len = sizeof(rep->data);
	return rep->ret;
}

/* The domain the program gave a socket: it decides the form of the
 * addresses it is given back (AF_INET6: v4-mapped, RFC 4291 2.5.5.2). */
static int sock_domain(struct sc *s, unsigned id)
{
	unsigned slot = id % (sizeof(s->dom) / sizeof(s->dom[0]));
	struct trun_rep rep;
	int v;
	if (s->dom[slot].id == id && s->dom[slot].domain)
		return s->dom[slot].domain;
	v = AF_INET;
	if (gate_op(s, TRUN_GETSOCKOPT, id, SOL_SOCKET, SO_DOMAIN, sizeof(v), NULL, 0, &rep, NULL) ==
		    0 &&
	    rep.len >= sizeof(v))
		memcpy(&v, rep.data, sizeof(v));
	s->dom[slot].id = id;
	s->dom[slot].domain = v;
	return v;
}

static void dom_put(struct sc *s, unsigned id, int domain)
{
	unsigned slot = id % (sizeof(s->dom) / sizeof(s->dom[0]));
	s->dom[slot].id = id;
	s->dom[slot].domain = domain;
}

/* The caller's address as the gate's struct trun_addr (client.c): 0 or -errno. */
static int addr_in(struct sc *s, const struct sc_note *n, unsigned id, int connect,
		   struct trun_addr *sin)
{
	struct sockaddr_storage ss;
	int len = (int)n->args[2];
	memset(sin, 0, sizeof(*sin));
	if (len < (int)sizeof(sa_family_t) || len > (int)sizeof(ss))
		return -EINVAL;
	memset(&ss, 0, sizeof(ss));
	if (mem_read(n, n->args[1], &ss, (size_t)len) < 0)
		return -EFAULT;
	if (ss.ss_family == AF_UNSPEC && connect) { /* UDP: disconnect */
		sin->family = AF_UNSPEC;
		return 0;
	}
	return trc_sa_to_addr((struct sockaddr *)&ss, (socklen_t)len, sock_domain(s, id), sin);
}

/* A link-local address's zone as the program's kernel numbers tapir's
 * interface (RFC 4007 6), asked of the gate once (TRUN_IPV6_ZONE, as the
 * preload's pl_zone does): 0 when the gate cannot say. */
static uint32_t sc_zone(struct sc *s, unsigned id)
{
	struct trun_rep rep;
	int z;
	if (s->zone < 0 &&
	    gate_op(s, TRUN_GETSOCKOPT, id, IPPROTO_IPV6, TRUN_IPV6_ZONE, sizeof(z), NULL, 0, &rep,
		    NULL) == 0 &&
	    rep.len >= sizeof(z)) {
		memcpy(&z, rep.data, sizeof(z));
		s->zone = z < 0 ? 0 : z;
	}
	return s->zone < 0 ? 0 : (uint32_t)s->zone;
}

/* Writes SIN in the socket's DOMAIN's form to ADDR, at most ULEN bytes,
 * and its whole length to LENP: the kernel's move_addr_to_user.  ID is
 * the socket asked about, for a link-local address's zone. */
static int addr_out(struct sc *s, const struct sc_note *n, uint64_t addr, uint64_t lenp, int ulen,
		    const struct trun_addr *sin, int domain, unsigned id)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int olen, r;
	trc_addr_to_sa(sin->ip, sin->port, domain, (struct sockaddr *)&ss, &len);
	if (domain == AF_INET6 && trun_needs_zone(sin->ip))
		((struct sockaddr_in6 *)&ss)->sin6_scope_id = sc_zone(s, id);
	olen = (int)len;
	r = mem_write(s, n, addr, &ss, (size_t)(ulen < olen ? ulen : olen));
	if (r == 0)
		r = mem_write(s, n, lenp, &olen, sizeof(olen));
	return r;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -errno : fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

static void do_socket(struct sc *s, const struct sc_note *n)
{
	int dom = (int)n->args[0], type = (int)n->args[1], proto = (int)n->args[2];
	int base = type & 0xf, flags = type & ~0xf, fd = -1, id;
	struct trun_rep rep;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) {
		sc_reply(s, n, -EINVAL);
		return;
	}
	/* ping sockets and raw sockets are not TCP or UDP: the kernel's */
	if ((base != SOCK_STREAM && base != SOCK_DGRAM) ||
	    (base == SOCK_DGRAM && (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6))) {
		sc_continue(s, n);
		return;
	}
	if ((base == SOCK_STREAM && proto != 0 && proto != IPPROTO_TCP) ||
	    (base == SOCK_DGRAM && proto != 0 && proto != IPPROTO_UDP)) {
		sc_warn(s, SC_WARN_PROTO,
			"a protocol other than TCP or UDP (MPTCP, SCTP, UDP-Lite) is not "
			"on tapir: socket() fails with EPROTONOSUPPORT");
		sc_reply(s, n, -EPROTONOSUPPORT);
		return;
	}
	if (base == SOCK_DGRAM) {
		/* A UDP app end frames each datagram with struct trun_dgram, which
		 * only the preload adds and strips: a program it does not reach
		 * would send and read the frames raw.  Such a socket stays the
		 * kernel's, as it was without the supervisor: glibc's own resolver
		 * and getaddrinfo's source-address probes open their UDP sockets
		 * this way in every dynamically linked program, and a refusal would
		 * break name resolution under `tapir run` (said under
		 * TAPIR_RUN_DEBUG). */
		if (s->debug)
			sc_warn(s, SC_WARN_UDP,
				"seccomp: a UDP socket the preload does not reach (the "
				"libc's resolver, a static binary) stays the kernel's");
		sc_continue(s, n);
		return;
	}
	id = gate_op(s, TRUN_SOCKET, 0, dom, base, proto, NULL, 0, &rep, &fd);
	if (id < 0 || fd < 0) {
		if (fd >= 0)
			close(fd);
		sc_reply(s, n, id < 0 ? id : -ENOBUFS);
		return;
	}
	dom_put(s, (unsigned)id, dom);
	if ((flags & SOCK_NONBLOCK) && set_nonblock(fd) < 0)
		sc_reply(s, n, -errno);
	else
		sc_addfd(s, n, fd, !!(flags & SOCK_CLOEXEC));
	/* the program holds it now; ours goes (or, unanswered, the gate sees
	 * the last close and forgets the socket) */
	close(fd);
}

static void do_bind_connect(struct sc *s, const struct sc_note *n, int tfd, unsigned id,
			    int *kept)
{
	int connect = n->nr == SYS_connect, r, fl;
	struct trun_addr sin;
	struct trun_rep rep;
	r = addr_in(s, n, id, connect, &sin);
	if (r == 0 && !sc_valid(s, n))
		return; /* withdrawn while we read: nothing to answer */
	if (r == 0)
		r = gate_op(s, connect ? TRUN_CONNECT : TRUN_BIND, id, 0, 0, 0, &sin, sizeof(sin),
			    &rep, NULL);
	fl = fcntl(tfd, F_GETFL);
	if (connect && r == -EINPROGRESS && fl >= 0 && !(fl & O_NONBLOCK)) {
		/* a blocking connect: answered when the handshake ends */
		*kept = sc_wait_add(s, n, tfd, id, EPOLLOUT) == 0;
		return;
	}
	sc_reply(s, n, r);
}

/* Accepts one connection queued on the listener TFD, if there is one:
 * 1 when N is answered, 0 when nothing is queued (EAGAIN). */
static int accept_try(struct sc *s, const struct sc_note *n, int tfd, unsigned id)
{
	int flags = n->nr == SYS_accept4 ? (int)n->args[3] : 0, ulen = 0, nfd = -1, r;
	uint64_t addr = n->args[1], lenp = n->args[2];
	struct trun_accept rec;
	struct trun_addr sin;
	/* the caller's length first: a bad pointer loses no connection */
	if (addr && (r = get_len(n, lenp, &ulen)) < 0)
		return sc_reply(s, n, r), 1;
	r = trc_accept(tfd, 1, 1, &rec, &nfd);
	if (r == -EAGAIN || r == -EWOULDBLOCK)
		return 0;
	if (r < 0)
		return sc_reply(s, n, r), 1;
	if ((flags & SOCK_NONBLOCK) && (r = set_nonblock(nfd)) < 0)
		goto fail;
	dom_put(s, rec.id, sock_domain(s, id));
	if (addr) {
		memset(&sin, 0, sizeof(sin));
		sin.port = rec.peer_port;
		memcpy(sin.ip, rec.peer_addr, sizeof(sin.ip));
		if ((r = addr_out(s, n, addr, lenp, ulen, &sin, sock_domain(s, id), id)) < 0)
			goto fail;
	}
	sc_addfd(s, n, nfd, !!(flags & SOCK_CLOEXEC));
	close(nfd);
	return 1;
fail:
	/* the connection is lost as when an accepting process dies holding it:
	 * its last close makes the gate end it */
	close(nfd);
	sc_reply(s, n, r);
	return 1;
}

static void do_accept(struct sc *s, const struct sc_note *n, int tfd, unsigned id, int *kept)
{
	int flags = n->nr == SYS_accept4 ? (int)n->args[3] : 0, v = 0, fl;
	struct trun_rep rep;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) {
		sc_reply(s, n, -EINVAL);
		return;
	}
	/* a record read from a socket that is not listening would be its data */
	if (gate_op(s, TRUN_GETSOCKOPT, id, SOL_SOCKET, SO_ACCEPTCONN, sizeof(v), NULL, 0, &rep,
		    NULL) == 0 &&
	    rep.len >= sizeof(v))
		memcpy(&v, rep.data, sizeof(v));
	if (!v) {
		sc_reply(s, n, -EINVAL); /* accept(2): not listening */
		return;
	}
	if (accept_try(s, n, tfd, id))
		return;
	fl = fcntl(tfd, F_GETFL);
	if (fl >= 0 && (fl & O_NONBLOCK)) {
		sc_reply(s, n, -EAGAIN);
		return;
	}
	*kept = sc_wait_add(s, n, tfd, id, EPOLLIN) == 0;
}

static void do_name(struct sc *s, const struct sc_note *n, unsigned id)
{
	int peer = n->nr == SYS_getpeername, ulen, r;
	struct trun_addr sin;
	struct trun_rep rep;
	if ((r = get_len(n, n->args[2], &ulen)) < 0) {
		sc_reply(s, n, r);
		return;
	}
	r = gate_op(s, peer ? TRUN_GETPEERNAME : TRUN_GETSOCKNAME, id, 0, 0, 0, NULL, 0, &rep, NULL);
	if (r == 0) {
		memset(&sin, 0, sizeof(sin));
		memcpy(&sin, rep.data, rep.len < sizeof(sin) ? rep.len : sizeof(sin));
		r = addr_out(s, n, n->args[1], n->args[2], ulen, &sin, sock_domain(s, id), id);
	}
	sc_reply(s, n, r);
}

/* Options that belong to the app end itself, which the program reads and
 * writes: the kernel applies them there. */
static int opt_local(int level, int name)
{
	return level == SOL_SOCKET && (name == SO_RCVTIMEO_OLD || name == SO_SNDTIMEO_OLD ||
#ifdef SO_RCVTIMEO_NEW
				       name == SO_RCVTIMEO_NEW || name == SO_SNDTIMEO_NEW ||
#endif
				       name == SO_RCVLOWAT);
}

static void do_sockopt(struct sc *s, const struct sc_note *n, int *cont, unsigned id)
{
	int level = (int)n->args[1], name = (int)n->args[2], len, r;
	uint64_t val = n->args[3];
	uint8_t buf[TRUN_DATA_MAX];
	struct trun_rep rep;
	if (opt_local(level, name)) {
		*cont = 1;
		return;
	}
	if (n->nr == SYS_setsockopt) {
		len = (int)n->args[4];
		if (len < 0 || len > (int)sizeof(buf))
			r = -EINVAL;
		else
			r = mem_read(n, val, buf, (size_t)len);
		if (r == 0 && !sc_valid(s, n))
			return;
		if (r == 0)
			r = gate_op(s, TRUN_SETSOCKOPT, id, level, name, 0, buf, (uint32_t)len, &rep,
				    NULL);
		sc_reply(s, n, r);
		return;
	}
	if ((r = get_len(n, n->args[4], &len)) == 0)
		r = gate_op(s, TRUN_GETSOCKOPT, id, level, name, len, NULL, 0, &rep, NULL);
	if (r == 0) {
		int out = (int)rep.len < len ? (int)rep.len : len;
		r = mem_write(s, n, val, rep.data, (size_t)out);
		if (r == 0)
			r = mem_write(s, n, n->args[4], &out, sizeof(out));
	}
	sc_reply(s, n, r);
}

static void do_shutdown(struct sc *s, const struct sc_note *n, int tfd, unsigned id)
{
	struct trun_rep rep;
	int how = (int)n->args[1];
	int r = gate_op(s, TRUN_SHUTDOWN, id, how, 0, 0, NULL, 0, &rep, NULL);
	/* proto.h: the caller shuts its app end down too (SHUT_WR: the FIN);
	 * ours is the same socket */
	if (r == 0 && shutdown(tfd, how) < 0)
		r = -errno;
	sc_reply(s, n, r);
}

void sc_handle(struct sc *s, const struct sc_note *n)
{
	int tfd, kept = 0, cont = 0;
	unsigned id;
	if (n->nr == SYS_socket) {
		do_socket(s, n);
		return;
	}
	tfd = target_fd(n, (int)n->args[0]);
	if (tfd < 0 || !app_end(s, tfd, &id)) {
		/* not tapir's (or not a descriptor): the kernel answers */
		if (tfd >= 0)
			close(tfd);
		sc_continue(s, n);
		return;
	}
	switch (n->nr) {
	case SYS_bind:
	case SYS_connect:
		do_bind_connect(s, n, tfd, id, &kept);
		break;
	case SYS_listen: {
		struct trun_rep rep;
		sc_reply(s, n,
			 gate_op(s, TRUN_LISTEN, id, (int)n->args[1], 0, 0, NULL, 0, &rep, NULL));
		break;
	}
	case SYS_accept:
	case SYS_accept4:
		do_accept(s, n, tfd, id, &kept);
		break;
	case SYS_getsockname:
	case SYS_getpeername:
		do_name(s, n, id);
		break;
	case SYS_setsockopt:
	case SYS_getsockopt:
		do_sockopt(s, n, &cont, id);
		break;
	case SYS_shutdown:
		do_shutdown(s, n, tfd, id);
		break;
	default:
		cont = 1;
	}
	if (cont)
		sc_continue(s, n);
	if (!kept)
		close(tfd);
}

int sc_wait_ready(struct sc *s, struct sc_wait *w)
{
	struct trun_rep rep;
	int err = 0, r;
	if (w->n.nr == SYS_accept || w->n.nr == SYS_accept4)
		return accept_try(s, &w->n, w->tfd, w->id);
	/* connect: the handshake has ended; SO_ERROR says how (proto.h) */
	r = gate_op(s, TRUN_GETSOCKOPT, w->id, SOL_SOCKET, SO_ERROR, sizeof(err), NULL, 0, &rep,
		    NULL);
	if (r == 0 && rep.len >= sizeof(err))
		memcpy(&err, rep.data, sizeof(err));
	sc_reply(s, &w->n, r < 0 ? r : -err);
	return 1;
}
