/* tapir drill: the system calls of a script.
 *
 * Each call a script makes ("connect(3, ..., ...) = -1 EINPROGRESS") is
 * carried out on tapir's TCP API, one row of calls[] a system call.  The
 * first socket is fd 3, as in a fresh process.  A call that would block on
 * a blocking socket stays pending (packetdrill runs it in a thread): it is
 * tried again whenever the stack has done something, and must return within
 * its line's time window. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "drill_call.h"

const char *dc_arg(const struct dl_event *e, unsigned i)
{
	return i < e->call.nargs ? e->call.arg[i] : "";
}

/* The integer value of A, an argument or return value of E's call; "[v]"
 * brackets are taken off. */
bool dc_eval_int(struct drill *d, const struct dl_event *e, const char *a, long long *v)
{
	char tmp[128], badname[64];
	size_t n = strlen(a);
	if (n >= sizeof(tmp)) {
		drill_finish(d, R_FAIL, e->line, "argument too long");
		return false;
	}
	memcpy(tmp, a, n + 1);
	if (tmp[0] == '[' && n >= 2 && tmp[n - 1] == ']') {
		tmp[n - 1] = 0;
		memmove(tmp, tmp + 1, n - 1);
	}
	if (dl_eval(tmp, v, badname, sizeof(badname)) < 0) {
		drill_finish(d, R_SKIP, e->line, "%s: symbol or expression '%s' not supported",
			     e->call.name, badname);
		return false;
	}
	return true;
}

bool dc_arg_int(struct drill *d, const struct dl_event *e, unsigned i, long long *v)
{
	return dc_eval_int(d, e, dc_arg(e, i), v);
}

void dc_set_res(struct res *r, long v)
{
	if (v < 0) {
		r->ret = -1;
		r->err = (int)-v;
	} else {
		r->ret = v;
		r->err = 0;
	}
}

struct dfd *dc_get_fd(struct drill *d, const struct dl_event *e, struct res *r)
{
	long long fd;
	if (!dc_arg_int(d, e, 0, &fd))
		return NULL;
	if (fd < 0 || fd >= DL_MAX_FD || !d->fd[fd].t) {
		r->ret = -1;
		r->err = EBADF;
		return NULL;
	}
	return &d->fd[fd];
}

static bool fd_free(const struct drill *d, long long i)
{
	return i >= 3 && i < DL_MAX_FD && !d->fd[i].t && !d->fd[i].ep && !d->fd[i].dropped;
}

int dc_free_fd(struct drill *d, const struct dl_event *e)
{
	char *end;
	long long want = strtoll(e->call.ret ? e->call.ret : "", &end, 10);
	if (end != e->call.ret && !*end && fd_free(d, want))
		return (int)want;
	for (int i = 3; i < DL_MAX_FD; i++)
		if (fd_free(d, i))
			return i;
	return -1;
}

/* Gives T a free descriptor (dc_free_fd) as the call's result; without
 * one, T is aborted and the call fails with EMFILE.  True when installed. */
static bool new_fd(struct drill *d, const struct dl_event *e, struct tapir_tcp *t, struct res *r)
{
	int i = dc_free_fd(d, e);
	if (i >= 0) {
		d->fd[i].t = t;
		d->fd[i].nonblock = false;
		r->ret = i;
		return true;
	}
	tapir_tcp_abort(t, d->now);
	dc_set_res(r, -EMFILE);
	return false;
}

/* ---- the calls ---- */

static bool call_socket(struct call *c)
{
	const struct dl_event *e = c->e;
	const struct dl_config *cfg = &c->d->sc->cfg;
	struct tapir_tcp *t;
	bool nonblock = !strcmp(dc_arg(e, 1), "SOCK_STREAM|SOCK_NONBLOCK") ||
			!strcmp(dc_arg(e, 1), "SOCK_STREAM | SOCK_NONBLOCK");
	if (strcmp(dc_arg(e, 1), "SOCK_STREAM") && !nonblock) {
		drill_finish(c->d, R_SKIP, e->line, "socket type %s not supported", dc_arg(e, 1));
		return false;
	}
	/* the script's family: AF_INET6 for ipv6 and ipv4-mapped-ipv6; an
	 * IPv4 script run with --ip_version=ipv4-mapped-ipv6 asks AF_INET,
	 * which becomes AF_INET6 as packetdrill's socket_domain does */
	if (strcmp(dc_arg(e, 0), "...") &&
	    strcmp(dc_arg(e, 0), cfg->v6_socket ? "AF_INET6" : "AF_INET") &&
	    strcmp(dc_arg(e, 0), cfg->v6_socket ? "PF_INET6" : "PF_INET") &&
	    (cfg->ipv6 || (strcmp(dc_arg(e, 0), "AF_INET") && strcmp(dc_arg(e, 0), "PF_INET")))) {
		drill_finish(c->d, R_SKIP, e->line, "socket domain %s not supported", dc_arg(e, 0));
		return false;
	}
	t = tapir_tcp_new(c->d->s);
	if (!t) {
		dc_set_res(c->r, -ENFILE);
		return true;
	}
	/* an AF_INET6 socket on IPv4 takes v4-mapped peers only without
	 * IPV6_V6ONLY (RFC 3493 5.3), cleared as packetdrill does */
	if (cfg->v6_socket && !cfg->ipv6)
		tapir_tcp_setopt(t, TAPIR_TCP_V6ONLY, 0);
	if (new_fd(c->d, c->e, t, c->r))
		c->d->fd[c->r->ret].nonblock = nonblock; /* Linux's SOCK_NONBLOCK */
	return true;
}

static bool call_bind(struct call *c)
{
	struct drill *d = c->d;
	dc_set_res(c->r, tapir_tcp_bind_addr(c->f->t, &d->sc->cfg.local, d->sc->cfg.bind_port));
	if (!c->r->err) {
		d->lport = d->sc->cfg.bind_port;
		d->rport = DL_REMOTE_PORT;
	}
	drill_settle(d);
	return true;
}

static bool call_listen(struct call *c)
{
	long long backlog;
	if (!dc_arg_int(c->d, c->e, 1, &backlog))
		return false;
	dc_set_res(c->r, tapir_tcp_listen(c->f->t, (int)backlog));
	drill_settle(c->d);
	return true;
}

static bool call_accept(struct call *c)
{
	int err = 0;
	struct tapir_tcp *t = tapir_tcp_accept(c->f->t, &err);
	if (!t) {
		if (err == -EAGAIN && !c->f->nonblock)
			return false;
		dc_set_res(c->r, err);
		return true;
	}
	if (new_fd(c->d, c->e, t, c->r))
		drill_settle(c->d);
	return true;
}

static bool call_connect(struct call *c)
{
	struct drill *d = c->d;
	struct res *r = c->r;
	enum tapir_tcp_state st = tapir_tcp_state(c->f->t);
	int rc;
	if (c->p->on) { /* a blocking connect: done when the handshake is */
		if (st == TAPIR_TCP_SYN_SENT || st == TAPIR_TCP_SYN_RECEIVED)
			return false;
		if (st == TAPIR_TCP_CLOSED) {
			int err = tapir_tcp_error(c->f->t);
			dc_set_res(r, -(err ? err : ECONNREFUSED));
		}
		return true;
	}
	rc = tapir_tcp_connect_addr(c->f->t, &d->sc->cfg.remote, d->sc->cfg.connect_port, d->now);
	/* 1: TCP_FASTOPEN_CONNECT with a cookie: no SYN until the first
	 * write (RFC 7413 4.2), and connect returns 0 at once, as Linux's */
	dc_set_res(r, rc == 1 ? 0 : rc);
	if (r->err || rc == 1) {
		if (rc == 1) {
			tapir_tcp_local_addr(c->f->t, &(struct tapir_ip){{0}}, &d->lport);
			d->rport = d->sc->cfg.connect_port;
		}
		drill_settle(d);
		return true;
	}
	tapir_tcp_local_addr(c->f->t, &(struct tapir_ip){{0}}, &d->lport);
	d->rport = d->sc->cfg.connect_port;
	drill_settle(d);
	if (c->f->nonblock) {
		dc_set_res(r, -EINPROGRESS);
		return true;
	}
	c->p->on = true; /* the caller keeps it pending */
	*r = (struct res){0};
	return call_connect(c);
}

static bool call_close(struct call *c)
{
	tapir_tcp_close(c->f->t, c->d->now);
	c->f->t = NULL;
	drill_settle(c->d);
	return true;
}

static bool call_shutdown(struct call *c)
{
	long long how;
	if (!dc_arg_int(c->d, c->e, 1, &how))
		return false;
	dc_set_res(c->r, tapir_tcp_shutdown(c->f->t, how == SHUT_RD ? TAPIR_SHUT_RD
					 : how == SHUT_WR ? TAPIR_SHUT_WR : TAPIR_SHUT_RDWR,
					 c->d->now));
	drill_settle(c->d);
	return true;
}

/* Up to LEN bytes, in pieces of drill's buffer (Linux's scripts read
 * 100000 at once): what was read, or the first piece's error. */
static long recv_chunks(struct drill *d, struct tapir_tcp *t, size_t len)
{
	long done = 0;
	do {
		size_t n = len - (size_t)done < sizeof(d->buf) ? len - (size_t)done : sizeof(d->buf);
		long k = tapir_tcp_recv(t, d->buf, n, d->now);
		if (k <= 0)
			return done ? done : k;
		done += k;
		if ((size_t)k < n)
			break;
	} while ((size_t)done < len);
	return done;
}

/* read, recv */
bool call_read(struct call *c)
{
	struct drill *d = c->d;
	const struct dl_event *e = c->e;
	long long len, flags = 0;
	long k;
	if (!dc_io_args(c, &len, &flags))
		return false;
	if (len < 0 || len > (1 << 24)) {
		drill_finish(d, R_FAIL, e->line, "%s of %lld bytes: too many", e->call.name, len);
		return false;
	}
	if (flags & ~(long long)(MSG_PEEK | MSG_DONTWAIT)) {
		drill_finish(d, R_SKIP, e->line, "recv flags 0x%llx not supported", flags);
		return false;
	}
	if (flags & MSG_PEEK) {
		/* the core has no peek: what is readable is what a
		 * peek would copy, and a read would then return */
		size_t n = tapir_tcp_readable(c->f->t);
		if (n) {
			c->r->ret = (long)(n < (size_t)len ? n : (size_t)len);
			return true;
		}
	}
	k = recv_chunks(d, c->f->t, (size_t)len);
	if (k > 0 && (flags & MSG_PEEK)) { /* cannot happen: nothing was readable */
		drill_finish(d, R_FAIL, e->line, "internal: peek consumed data");
		return false;
	}
	drill_settle(d);
	if (k == -EAGAIN && !c->f->nonblock && !(flags & MSG_DONTWAIT))
		return false;
	dc_set_res(c->r, k);
	drill_settle(d);
	return true;
}

static uint8_t zeros[65536];

/* sendto/sendmsg with MSG_FASTOPEN (Linux's, RFC 7413 4.2) on a socket not
 * yet connected: connect with TCP_FASTOPEN_CONNECT; with a cookie cached
 * the data goes on the SYN (true: go on sending); without one the SYN asks
 * for a cookie, and a non-blocking call gets EINPROGRESS (false, result
 * set), a blocking one sends once connected (false, pending).  On a
 * connected socket the flag is ignored, as Linux does (true); while the
 * connect is under way it is EALREADY. */
static bool fastopen_connect(struct call *c, bool dontwait)
{
	struct drill *d = c->d;
	struct pending *p = c->p;
	int rc;
	if (tapir_tcp_state(c->f->t) == TAPIR_TCP_SYN_SENT) {
		dc_set_res(c->r, -EALREADY); /* Linux: a connect under way */
		return false;
	}
	if (tapir_tcp_state(c->f->t) != TAPIR_TCP_CLOSED)
		return true;
	if (!strcmp(c->row->name, "sendto") && !strcmp(dc_arg(c->e, 4), "AF_UNSPEC")) {
		dc_set_res(c->r, -EOPNOTSUPP); /* Linux: AF_UNSPEC is a disconnect */
		return false;
	}
	/* Linux: EOPNOTSUPP unless tcp_fastopen has the client bit */
	if (!(tapir_stack_profile(d->s)->fastopen & 1)) {
		dc_set_res(c->r, -EOPNOTSUPP);
		return false;
	}
	rc = tapir_tcp_setopt(c->f->t, TAPIR_TCP_FASTOPEN_CONNECT, 1);
	if (rc == 0)
		rc = tapir_tcp_connect_addr(c->f->t, &d->sc->cfg.remote, d->sc->cfg.connect_port,
					    d->now);
	if (rc < 0) {
		dc_set_res(c->r, rc);
		return false;
	}
	tapir_tcp_local_addr(c->f->t, &(struct tapir_ip){{0}}, &d->lport);
	d->rport = d->sc->cfg.connect_port;
	drill_settle(d);
	p->fastopen = true;
	if (rc == 1)
		return true;
	if (c->f->nonblock || dontwait) {
		dc_set_res(c->r, -EINPROGRESS);
		return false;
	}
	p->on = true;
	return false;
}

/* write, send: what is left of it; returned when all of it was taken or it
 * failed; a would-block on a non-blocking socket returns what was taken. */
bool call_write(struct call *c)
{
	struct drill *d = c->d;
	const struct dl_event *e = c->e;
	struct pending *p = c->p;
	long long len, flags = 0;
	if (!dc_io_args(c, &len, &flags))
		return false;
	if (len < 0 || len > (1 << 24)) {
		drill_finish(d, R_FAIL, e->line, "%s of %lld bytes: too many", e->call.name, len);
		return false;
	}
	/* MSG_NOSIGNAL: drill raises no signals; MSG_DONTWAIT: this call
	 * does not block */
	if (flags & ~(long long)(MSG_FASTOPEN | MSG_NOSIGNAL | MSG_DONTWAIT)) {
		drill_finish(d, R_SKIP, e->line, "send flags 0x%llx not supported", flags);
		return false;
	}
	if (!p->on) {
		p->left = (size_t)len;
		p->done = 0;
		p->fastopen = false;
		if ((flags & MSG_FASTOPEN) && !fastopen_connect(c, (flags & MSG_DONTWAIT) != 0))
			return p->on || d->result != R_RUN ? false : true;
	} else if (p->fastopen && tapir_tcp_state(c->f->t) == TAPIR_TCP_SYN_SENT) {
		return false;
	}
	/* a non-blocking sendto(MSG_FASTOPEN) whose SYN goes now: what fits
	 * in it (Linux's) */
	if (p->fastopen && (c->f->nonblock || (flags & MSG_DONTWAIT)) &&
	    tapir_tcp_syn_room(c->f->t) && p->left > tapir_tcp_syn_room(c->f->t))
		p->left = tapir_tcp_syn_room(c->f->t);
	while (p->left) {
		size_t n = p->left < sizeof(zeros) ? p->left : sizeof(zeros);
		long k = tapir_tcp_send(c->f->t, zeros, n, d->now);
		drill_settle(d);
		if (k == -EAGAIN) {
			if (c->f->nonblock || (flags & MSG_DONTWAIT)) {
				dc_set_res(c->r, p->done ? p->done : -EAGAIN);
				return true;
			}
			return false;
		}
		if (k < 0) {
			dc_set_res(c->r, p->done ? p->done : k);
			return true;
		}
		p->done += k;
		p->left -= (size_t)k;
	}
	/* Linux's blocking sendto(MSG_FASTOPEN) returns once connected */
	if (p->fastopen && !c->f->nonblock && !(flags & MSG_DONTWAIT) &&
	    tapir_tcp_state(c->f->t) == TAPIR_TCP_SYN_SENT) {
		c->p->on = true;
		return false;
	}
	dc_set_res(c->r, p->done);
	return true;
}

static bool call_fcntl(struct call *c)
{
	const char *cmd = dc_arg(c->e, 1);
	long long v;
	if (!strcmp(cmd, "F_GETFL")) {
		c->r->ret = O_RDWR | (c->f->nonblock ? O_NONBLOCK : 0);
	} else if (!strcmp(cmd, "F_SETFL")) {
		if (!dc_arg_int(c->d, c->e, 2, &v))
			return false;
		c->f->nonblock = (v & O_NONBLOCK) != 0;
	} else {
		drill_finish(c->d, R_SKIP, c->e->line, "fcntl %s not supported", cmd);
		return false;
	}
	drill_settle(c->d);
	return true;
}

/* ---- socket options ---- */

/* The value of getsockopt, or the value to set: "[1]", "[{l_onoff=1, l_linger=5}]" */
static bool linger_arg(const char *a, int *onoff, int *secs)
{
	return sscanf(a, "[{ l_onoff = %d , l_linger = %d }]", onoff, secs) == 2 ||
	       sscanf(a, "{ l_onoff = %d , l_linger = %d }", onoff, secs) == 2;
}

static const struct {
	const char *level, *name;
	enum tapir_tcp_opt opt;
} sockopts[] = {
	{"SOL_SOCKET", "SO_RCVBUF", TAPIR_TCP_RCVBUF},
	{"SOL_SOCKET", "SO_SNDBUF", TAPIR_TCP_SNDBUF},
	{"SOL_SOCKET", "SO_KEEPALIVE", TAPIR_TCP_KEEPALIVE},
	{"SOL_SOCKET", "SO_REUSEADDR", TAPIR_TCP_REUSEADDR},
	{"SOL_SOCKET", "SO_LINGER", TAPIR_TCP_LINGER},
	{"IPPROTO_TCP", "TCP_NODELAY", TAPIR_TCP_NODELAY},
	{"IPPROTO_TCP", "TCP_MAXSEG", TAPIR_TCP_MAXSEG},
	{"IPPROTO_TCP", "TCP_KEEPIDLE", TAPIR_TCP_KEEPIDLE},
	{"IPPROTO_TCP", "TCP_KEEPINTVL", TAPIR_TCP_KEEPINTVL},
	{"IPPROTO_TCP", "TCP_KEEPCNT", TAPIR_TCP_KEEPCNT},
	{"IPPROTO_TCP", "TCP_USER_TIMEOUT", TAPIR_TCP_USER_TIMEOUT},
	{"IPPROTO_TCP", "TCP_FASTOPEN", TAPIR_TCP_FASTOPEN},
	{"IPPROTO_TCP", "TCP_FASTOPEN_CONNECT", TAPIR_TCP_FASTOPEN_CONNECT},
	{"IPPROTO_TCP", "TCP_NOTSENT_LOWAT", TAPIR_TCP_NOTSENT_LOWAT},
	{"IPPROTO_TCP", "TCP_NOOPT", TAPIR_TCP_NOOPT},       /* FreeBSD's */
	{"IPPROTO_TCP", "TCP_KEEPINIT", TAPIR_TCP_KEEPINIT}, /* FreeBSD's */
};
#define NSOCKOPTS (sizeof(sockopts) / sizeof(sockopts[0]))

/* The IP header options (RFC 3493 5.1, RFC 3542 6.5), the core's for
 * either transport (tapir/addr.h) */
static const struct {
	const char *level, *name;
	enum tapir_ip_opt opt;
} ipopts[] = {
	{"IPPROTO_IP", "IP_TTL", TAPIR_IP_TTL},
	{"IPPROTO_IP", "IP_TOS", TAPIR_IP_TOS},
	{"IPPROTO_IPV6", "IPV6_UNICAST_HOPS", TAPIR_IP_HOPLIMIT},
	{"IPPROTO_IPV6", "IPV6_TCLASS", TAPIR_IP_TCLASS},
};

/* getsockopt or setsockopt of one of ipopts (I) */
static bool ip_sockopt(struct call *c, size_t i, bool set)
{
	long long want;
	int v;
	if (!dc_arg_int(c->d, c->e, 3, &want) && (set || strcmp(dc_arg(c->e, 3), "...")))
		return false;
	if (set) {
		dc_set_res(c->r, tapir_tcp_set_ipopt(c->f->t, ipopts[i].opt, (int)want));
		return true;
	}
	v = tapir_tcp_get_ipopt(c->f->t, ipopts[i].opt);
	c->r->ret = 0;
	if (strcmp(dc_arg(c->e, 3), "...") && want != v) {
		drill_finish(c->d, R_FAIL, c->e->line, "getsockopt %s [%lld], got [%d]",
			     dc_arg(c->e, 2), want, v);
		return false;
	}
	return true;
}

/* getsockopt SO_ERROR: the pending error, compared as the script says */
static bool get_so_error(struct call *c)
{
	struct drill *d = c->d;
	const char *val = dc_arg(c->e, 3);
	long long want;
	int v = tapir_tcp_error(c->f->t);
	if (strcmp(val, "...") && dc_arg_int(d, c->e, 3, &want) && want != v) {
		const char *n = dl_errno_name(v);
		drill_finish(d, R_FAIL, c->e->line, "getsockopt SO_ERROR %s, got [%s]", val,
			     n ? n : v ? "?" : "0");
		return false;
	}
	c->r->ret = 0;
	return d->result == R_RUN;
}

/* The option's value compared with what getsockopt's line expects. */
static bool check_opt(struct call *c, size_t i, int v)
{
	struct drill *d = c->d;
	const char *name = dc_arg(c->e, 2), *val = dc_arg(c->e, 3);
	long long want;
	if (!strcmp(name, "SO_LINGER")) {
		int eo, es;
		if (!linger_arg(val, &eo, &es)) {
			drill_finish(d, R_FAIL, c->e->line, "cannot parse the linger value %s", val);
			return false;
		}
		if ((eo != 0) != (v >= 0) || (eo && es != v)) {
			drill_finish(d, R_FAIL, c->e->line,
				     "getsockopt SO_LINGER %s, got [{l_onoff=%d, l_linger=%d}]", val,
				     v >= 0, v >= 0 ? v : 0);
			return false;
		}
		return true;
	}
	if (!dc_arg_int(d, c->e, 3, &want))
		return false;
	/* --lenient win: buffer sizes are one OS's choice, too */
	/* (0xffffffff and -1 are the same four bytes of an int option) */
	if (want != v && want != (long long)(uint32_t)v && !(d->lenient_win && (sockopts[i].opt == TAPIR_TCP_RCVBUF ||
					      sockopts[i].opt == TAPIR_TCP_SNDBUF))) {
		drill_finish(d, R_FAIL, c->e->line, "getsockopt %s [%lld], got [%d]", name, want, v);
		return false;
	}
	return true;
}

/* getsockopt, setsockopt: false when the script has ended. */
static bool sockopt(struct call *c, bool set)
{
	struct drill *d = c->d;
	const char *level = dc_arg(c->e, 1), *name = dc_arg(c->e, 2), *val = dc_arg(c->e, 3);
	size_t i;
	/* Linux's scripts say SOL_TCP for IPPROTO_TCP */
	if (!strcmp(level, "SOL_TCP"))
		level = "IPPROTO_TCP";
	int v = 0, onoff = 0, secs = 0;
	long long want;

	if (!strcmp(level, "SOL_SOCKET") && !strcmp(name, "SO_ERROR") && !set)
		return get_so_error(c);
	if (!strcmp(level, "SOL_IP"))
		level = "IPPROTO_IP";
	for (i = 0; i < sizeof(ipopts) / sizeof(ipopts[0]); i++)
		if (!strcmp(level, ipopts[i].level) && !strcmp(name, ipopts[i].name))
			return ip_sockopt(c, i, set);
	for (i = 0; i < NSOCKOPTS; i++)
		if (!strcmp(level, sockopts[i].level) && !strcmp(name, sockopts[i].name))
			break;
	if (i == NSOCKOPTS) {
		drill_finish(d, R_SKIP, c->e->line, "%s %s %s not supported by tapir", c->e->call.name,
			     level, name);
		return false;
	}
	if (!set) {
		dc_set_res(c->r, tapir_tcp_getopt(c->f->t, sockopts[i].opt, &v));
		return c->r->ret < 0 || !strcmp(val, "...") || check_opt(c, i, v);
	}
	if (!strcmp(name, "SO_LINGER")) {
		if (!linger_arg(val, &onoff, &secs)) {
			drill_finish(d, R_FAIL, c->e->line, "cannot parse the linger value %s", val);
			return false;
		}
		v = onoff ? secs : -1;
	} else {
		if (!dc_arg_int(d, c->e, 3, &want))
			return false;
		v = (int)want;
	}
	dc_set_res(c->r, tapir_tcp_setopt(c->f->t, sockopts[i].opt, v));
	return true;
}

static bool call_getsockopt(struct call *c)
{
	if (!sockopt(c, false))
		return false;
	drill_settle(c->d);
	return true;
}

static bool call_setsockopt(struct call *c)
{
	if (!sockopt(c, true))
		return false;
	drill_settle(c->d);
	return true;
}

/* any other call: after the check of its socket (EBADF), as for the rest */
static bool call_unsupported(struct call *c)
{
	drill_finish(c->d, R_SKIP, c->e->line, "system call %s not supported", c->e->call.name);
	return false;
}

static const struct drill_call calls[] = {
	{"socket", call_socket, false, false, 0},
	{"bind", call_bind, true, false, 0},
	{"listen", call_listen, true, false, 0},
	{"accept", call_accept, true, false, 0},
	{"connect", call_connect, true, false, 0},
	{"close", call_close, true, false, 0},
	{"shutdown", call_shutdown, true, false, 0},
	{"read", call_read, true, false, 0},
	{"recv", call_read, true, true, 0},
	{"write", call_write, true, false, 0},
	{"send", call_write, true, true, 0},
	{"fcntl", call_fcntl, true, false, 0},
	{"getsockopt", call_getsockopt, true, false, 0},
	{"setsockopt", call_setsockopt, true, false, 0},
	{"sendto", call_write, true, true, 0},
	{"recvfrom", call_read, true, true, 0},
	{"writev", call_write, true, false, 1},
	{"readv", call_read, true, false, 1},
	{"sendmsg", call_write, true, false, 2},
	{"recvmsg", call_read, true, false, 2},
	{"ioctl", call_ioctl, true, false, 0},
	{"poll", call_poll, false, false, 0},
	{"epoll_create", call_epoll_create, false, false, 0},
	{"epoll_create1", call_epoll_create, false, false, 0},
	{"epoll_ctl", call_epoll_ctl, false, false, 0},
	{"epoll_wait", call_epoll_wait, false, false, 0},
};
static const struct drill_call unsupported = {"", call_unsupported, true, false, 0};

static const struct drill_call *find_call(const char *name)
{
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		if (!strcmp(name, calls[i].name))
			return &calls[i];
	return &unsupported;
}

/* ---- running them ---- */

/* One attempt at the call ROW of E.  Returns true when it returned (result
 * in R); false when it would block (or the script ended). */
static bool attempt(struct drill *d, const struct dl_event *e, const struct drill_call *row,
		    struct pending *p, struct res *r)
{
	struct call c = {.d = d, .e = e, .row = row, .p = p, .r = r};
	*r = (struct res){0};
	if (row->run == call_close && e->call.nargs) {
		int fd = atoi(e->call.arg[0]);
		if (dc_epoll_close(d, fd))
			return true;
		if (fd >= 0 && fd < DL_MAX_FD && d->fd[fd].dropped) {
			d->fd[fd].dropped = false; /* tcpdrop left the descriptor */
			return true;
		}
	}
	if (row->fd) {
		c.f = dc_get_fd(d, e, r);
		if (!c.f)
			return d->result == R_RUN;
	}
	return row->run(&c);
}

static void check_res(struct drill *d, const struct dl_event *e, const struct res *r)
{
	long long want, want_err = 0;
	char badname[64];
	if (!dc_eval_int(d, e, e->call.ret, &want))
		return;
	if (e->call.err && dl_eval(e->call.err, &want_err, badname, sizeof(badname)) < 0) {
		drill_finish(d, R_SKIP, e->line, "errno %s not supported", e->call.err);
		return;
	}
	if (r->ret != want || (want == -1 && e->call.err && r->err != want_err)) {
		char got[64];
		if (r->ret == -1)
			snprintf(got, sizeof(got), "-1 %s", dl_errno_name(r->err) ? dl_errno_name(r->err)
										 : strerror(r->err));
		else
			snprintf(got, sizeof(got), "%ld", r->ret);
		drill_finish(d, R_FAIL, e->line, "%s = %s%s%s, got %s", e->call.name, e->call.ret,
			     e->call.err ? " " : "", e->call.err ? e->call.err : "", got);
	}
}

void drill_call_retry(struct drill *d)
{
	struct pending *p = &d->pend;
	struct res r;
	int line = p->e->line;
	if (!attempt(d, p->e, p->call, p, &r)) {
		if (d->result == R_RUN && d->now > p->hi)
			drill_finish(d, R_FAIL, line, "%s still blocked at %.3f", p->e->call.name,
				     drill_script_s(d->now));
		return;
	}
	p->on = false;
	drill_note(d, "line %d: %s returned %ld", line, p->e->call.name, r.ret);
	if (d->now < p->lo || d->now > p->hi)
		drill_finish(d, R_FAIL, line, "%s to return at %.3f...%.3f, got at %.3f",
			     p->e->call.name, drill_script_s(p->lo), drill_script_s(p->hi),
			     drill_script_s(d->now));
	check_res(d, p->e, &r);
}

void drill_call_run(struct drill *d, const struct dl_event *e, tapir_time_t lo, tapir_time_t hi)
{
	struct pending p = {.call = find_call(e->call.name)};
	struct res r;
	if (d->pend.on) {
		drill_finish(d, R_SKIP, e->line, "a system call while another one blocks");
		return;
	}
	if (attempt(d, e, p.call, &p, &r)) {
		check_res(d, e, &r);
		return;
	}
	if (d->result != R_RUN)
		return;
	/* it blocks: packetdrill runs it in a thread and goes on with the
	 * script; we retry it whenever the stack has done something */
	drill_note(d, "line %d: %s blocks", e->line, e->call.name);
	p.on = true;
	p.e = e;
	p.lo = lo;
	p.hi = hi;
	d->pend = p;
}
