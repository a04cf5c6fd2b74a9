/* The gate (proto.h, gate.h): the control channels of the programs under
 * `tapir run`, their sockets' ids, and the loop that serves it all on the
 * net's stack thread.
 *
 * One epoll set (the service's descriptor) holds the control socket, every
 * control channel, the gate ends of sockets not yet relayed (TCP before it
 * is connected, listeners, UDP) and, nested, the relay loop's own set.
 * Every request is answered at once, in order, from the service function:
 * none waits on the network (proto.h), so one program cannot hold up
 * another. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "gate_int.h"
#include "../readyq.h"

#define CTL_BATCH 64 /* requests per channel per turn, so none starves */

void gate_log(const struct gate *g, const char *fmt, ...)
{
	va_list ap;
	if (!g->debug)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "tapir gate: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int gate_watch(struct gate *g, int fd, uint32_t events, void *what, bool mod)
{
	struct epoll_event ev = {.events = events, .data.ptr = what};
	return epoll_ctl(g->ep, mod ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* ---- socket ids: the lowest free one, as descriptors ---- */

struct gsock *gate_sock_new(struct gate *g, char kind)
{
	struct gsock *gs;
	unsigned id;
	for (id = 1; id < g->cap && g->socks[id]; id++)
		;
	if (id >= g->cap) {
		unsigned cap = g->cap ? g->cap * 2 : 64;
		struct gsock **n = realloc(g->socks, cap * sizeof(*n));
		if (!n)
			return NULL;
		memset(n + g->cap, 0, (cap - g->cap) * sizeof(*n));
		g->socks = n;
		if (id == 0)
			id = 1;
		g->cap = cap;
	}
	gs = calloc(1, sizeof(*gs));
	if (!gs)
		return NULL;
	gs->watch = GW_SOCK;
	gs->g = g;
	gs->id = id;
	gs->kind = kind;
	gs->gfd = -1;
	gs->linger_on = 0;
	g->socks[id] = gs;
	g->live++;
	return gs;
}

struct gsock *gate_sock_get(struct gate *g, unsigned id)
{
	return id && id < g->cap ? g->socks[id] : NULL;
}

void gate_sock_free(struct gsock *gs)
{
	struct gate *g = gs->g;
	gpersona_sock_free(gs);
	if (gs->gfd >= 0)
		close(gs->gfd);
	gs->gfd = -1;
	g->socks[gs->id] = NULL;
	g->live--;
	if (gs->queued) /* freed as it leaves the ready list */
		gs->g = NULL;
	else
		free(gs);
}

void gate_sock_queue(struct gsock *gs)
{
	struct gate *g = gs->g;
	gs->ready = true;
	READYQ_PUSH(g, gs);
}

int gate_pair(struct gsock *gs, int type, int *app)
{
	struct sockaddr_un sun;
	int sp[2];
	socklen_t len;
	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sp) < 0)
		return -errno;
	len = trun_name(&sun, gs->g->pid, gs->kind, gs->id);
	if (bind(sp[0], (struct sockaddr *)&sun, len) < 0) {
		int e = -errno;
		close(sp[0]);
		close(sp[1]);
		return e;
	}
	*app = sp[0];
	gs->gfd = sp[1];
	return 0;
}

/* ---- requests ---- */

static void sin_put(struct trun_rep *rep, const struct tapir_ip *addr, uint16_t port)
{
	struct trun_addr a = {.family = AF_INET6};
	memcpy(a.ip, addr->b, sizeof(a.ip));
	a.port = htons(port);
	memcpy(rep->data, &a, sizeof(a));
	rep->len = sizeof(a);
}

/* The request's address; an AF_INET socket takes IPv4 ones only, as the
 * kernel's (an IPv6 address cannot be named in a sockaddr_in). */
static int sin_get(const struct gsock *gs, const struct trun_req *req, struct tapir_ip *addr,
		   uint16_t *port, bool *unspec)
{
	struct trun_addr a;
	if (req->len < sizeof(a))
		return -EINVAL;
	memcpy(&a, req->data, sizeof(a));
	*unspec = a.family == AF_UNSPEC;
	if (!*unspec && a.family != AF_INET6)
		return -EAFNOSUPPORT;
	*addr = tapir_ip_from_v6(a.ip);
	*port = ntohs(a.port);
	if (!*unspec && gs->domain == AF_INET && !tapir_ip_is_v4(addr))
		return -EAFNOSUPPORT;
	/* RFC 3493 5.3: an IPv6-only socket neither binds nor reaches IPv4 */
	if (!*unspec && gs->v6only && tapir_ip_is_v4(addr))
		return tapir_ip_v4(addr) ? -ENETUNREACH : -EADDRNOTAVAIL;
	/* RFC 4007 6: a link-local address names no one without its zone;
	 * Linux refuses bind and connect with sin6_scope_id 0 (EINVAL).
	 * tapir has one interface, so any other zone is that one. */
	if (!*unspec && !a.scope && trun_needs_zone(a.ip))
		return -EINVAL;
	return 0;
}

static int req_socket(struct gate *g, struct gctl *c, const struct trun_req *req, int *app)
{
	struct gsock *gs;
	int r;
	bool tcp = req->b == SOCK_STREAM;
	if (req->a != AF_INET && req->a != AF_INET6)
		return -EAFNOSUPPORT;
	if ((req->b != SOCK_STREAM && req->b != SOCK_DGRAM) ||
	    (req->c && req->c != (tcp ? IPPROTO_TCP : IPPROTO_UDP)))
		return -EPROTONOSUPPORT;
	if (!(gs = gate_sock_new(g, tcp ? TRUN_TCP : TRUN_UDP)))
		return -ENOMEM;
	gs->domain = req->a;
	gpersona_sock(gs, c->persona);
	r = tcp ? gtcp_socket(gs, app) : gudp_socket(gs, app);
	if (r < 0) {
		gate_sock_free(gs);
		return r;
	}
	return (int)gs->id;
}

static int req_names(struct gsock *gs, const struct trun_req *req, struct trun_rep *rep)
{
	if (gs->kind == TRUN_TCP)
		gtcp_names(gs);
	else if (gs->u)
		tapir_udp_local_addr(gs->u, &gs->laddr, &gs->lport);
	if (req->op == TRUN_GETSOCKNAME) {
		sin_put(rep, &gs->laddr, gs->lport);
		return 0;
	}
	if (!gs->pport || (gs->kind == TRUN_TCP && gs->state != GS_RELAY))
		return -ENOTCONN;
	sin_put(rep, &gs->paddr, gs->pport);
	return 0;
}

/* One request on a socket: the answer (ret), REP's data filled. */
static int req_sock(struct gsock *gs, const struct trun_req *req, struct trun_rep *rep)
{
	struct tapir_ip addr = {{0}};
	uint32_t len;
	uint16_t port = 0;
	bool unspec = false;
	int r;
	bool tcp = gs->kind == TRUN_TCP;
	switch (req->op) {
	case TRUN_BIND:
		if ((r = sin_get(gs, req, &addr, &port, &unspec)) < 0)
			return r;
		return tcp ? gtcp_bind(gs, &addr, port) : gudp_bind(gs, &addr, port);
	case TRUN_LISTEN:
		return tcp ? gtcp_listen(gs, req->a) : -EOPNOTSUPP;
	case TRUN_CONNECT:
		if ((r = sin_get(gs, req, &addr, &port, &unspec)) < 0)
			return r;
		if (tcp)
			return unspec ? -EAFNOSUPPORT : gtcp_connect(gs, &addr, port);
		return gudp_connect(gs, &addr, port, unspec);
	case TRUN_SHUTDOWN:
		return tcp ? gtcp_shutdown(gs, req->a) : (gs->pport ? 0 : -ENOTCONN);
	case TRUN_GETSOCKNAME:
	case TRUN_GETPEERNAME:
		return req_names(gs, req, rep);
	case TRUN_SETSOCKOPT:
		return gate_setsockopt(gs, req->a, req->b, req->data,
				       req->len < TRUN_DATA_MAX ? req->len : TRUN_DATA_MAX);
	case TRUN_GETSOCKOPT:
		len = req->c < 0 ? 0 : (uint32_t)req->c;
		if (len > TRUN_DATA_MAX)
			len = TRUN_DATA_MAX;
		r = gate_getsockopt(gs, req->a, req->b, rep->data, &len);
		rep->len = r < 0 ? 0 : len;
		return r;
	case TRUN_EOF:
		return tcp ? gtcp_eof(gs) : 0;
	}
	return -EINVAL;
}

static const char *op_name(uint32_t op)
{
	static const char *const names[] = {
		[TRUN_HELLO] = "hello",     [TRUN_SOCKET] = "socket",
		[TRUN_BIND] = "bind",       [TRUN_LISTEN] = "listen",
		[TRUN_CONNECT] = "connect", [TRUN_SHUTDOWN] = "shutdown",
		[TRUN_GETSOCKNAME] = "getsockname", [TRUN_GETPEERNAME] = "getpeername",
		[TRUN_SETSOCKOPT] = "setsockopt",   [TRUN_GETSOCKOPT] = "getsockopt",
		[TRUN_EOF] = "eof",         [TRUN_PERSONA] = "persona",
	};
	return op < TRUN_OP_MAX && names[op] ? names[op] : "?";
}

/* Sends REP on C, with FD attached when not -1.  False: drop C. */
static bool ctl_reply(struct gctl *c, const struct trun_rep *rep, int fd)
{
	struct iovec iov = {.iov_base = (void *)rep, .iov_len = sizeof(*rep)};
	union trun_cmsg u;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0)
		trun_msg_fd(&m, &u, fd);
	return sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)sizeof(*rep);
}

/* Answers one request of C.  False: the channel is to be closed. */
static bool ctl_request(struct gate *g, struct gctl *c, const struct trun_req *req, size_t n)
{
	struct trun_rep rep;
	struct trun_req one;
	int app = -1;
	bool ok, noreply = req->op & TRUN_NOREPLY;
	memset(&rep, 0, sizeof(rep));
	if (n < offsetof(struct trun_req, data) || req->len > TRUN_DATA_MAX ||
	    n < offsetof(struct trun_req, data) + req->len)
		return false; /* not the protocol: bad input, dropped */
	if (noreply) { /* proto.h: a setting that cannot fail, unanswered */
		if ((req->op & ~TRUN_NOREPLY) != TRUN_SETSOCKOPT)
			return false;
		memcpy(&one, req, n < sizeof(one) ? n : sizeof(one));
		one.op = TRUN_SETSOCKOPT;
		req = &one;
	}
	if (req->op == TRUN_HELLO) {
		if (req->a != TRUN_VERSION)
			return false;
		c->pid = (unsigned)req->b;
		if (!c->persona)
			gpersona_attach(g, c, (unsigned)req->c);
		rep.ret = (int32_t)g->pid;
	} else if (req->op == TRUN_SOCKET) {
		rep.ret = req_socket(g, c, req, &app);
	} else if (req->op == TRUN_PERSONA) {
		rep.ret = gpersona_new(g, c, (const char *)req->data, req->len, &rep);
	} else {
		struct gsock *gs = gate_sock_get(g, req->id);
		rep.ret = gs ? req_sock(gs, req, &rep) : -EBADF;
	}
	gate_log(g, "pid %u %s id %u a %d b %d c %d: %d%s%s%s", c->pid, op_name(req->op), req->id,
		 req->a, req->b, req->c, rep.ret, rep.ret < 0 ? " " : "",
		 rep.ret < 0 ? strerror(-rep.ret) : "", noreply ? " (no reply)" : "");
	ok = noreply || ctl_reply(c, &rep, app);
	if (app >= 0)
		close(app); /* the program has its copy now */
	return ok;
}

static void ctl_close(struct gate *g, struct gctl *c)
{
	*c->pprev = c->next; /* the list head or the previous one's next */
	if (c->next)
		c->next->pprev = c->pprev;
	epoll_ctl(g->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	gpersona_ctl_gone(c);
	free(c);
}

static void ctl_readable(struct gate *g, struct gctl *c, uint32_t events)
{
	struct trun_req req;
	for (int i = 0; i < CTL_BATCH; i++) {
		ssize_t n = recv(c->fd, &req, sizeof(req), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0 || !ctl_request(g, c, &req, (size_t)n)) {
			ctl_close(g, c);
			return;
		}
	}
	(void)events; /* more waits: level-triggered, the next turn takes it */
}

static void ctl_accept(struct gate *g)
{
	for (;;) {
		int fd = accept4(g->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct gctl *c;
		if (fd < 0)
			return;
		if (!(c = calloc(1, sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->watch = GW_CTL;
		c->fd = fd;
		if (gate_watch(g, fd, EPOLLIN, c, false) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = g->ctls;
		if (g->ctls)
			g->ctls->pprev = &c->next;
		c->pprev = &g->ctls;
		g->ctls = c;
	}
}

/* ---- the loop ---- */

static void sock_event(struct gsock *gs, uint32_t events)
{
	if (events & (EPOLLHUP | EPOLLERR)) {
		if (gs->kind == TRUN_TCP)
			gtcp_hup(gs);
		else
			gudp_free(gs);
		return;
	}
	gate_sock_queue(gs);
}

/* Busy-polling (tapir/spin.h): bytes just crossed, so the answer is
 * likely microseconds away; turning again at once (the thread skips its
 * sleep for a deadline of now, and yields the CPU first) catches it without
 * a wake-up of this thread.  A spin hits when a relay moves bytes again
 * before its window ends; a turn that moved bulk begins none. */
static bool gate_spins(struct gate *g, tapir_time_t now)
{
	uint64_t moved = relay_loop_moved(g->relays), turn = moved - g->spin_moved;
	g->spin_moved = moved;
	return tapir_spin_turn(&g->spin, now, turn, turn);
}

static tapir_time_t gate_turn(void *arg, struct tapir_stack *s, tapir_time_t now)
{
	struct gate *g = arg;
	struct epoll_event ev[64];
	struct gsock *list, *gs;
	tapir_time_t next;
	int n;
	(void)s;
	g->now = now;
	n = epoll_wait(g->ep, ev, 64, 0);
	/* the relays' events first: noting one frees nothing, while a request
	 * (a close) may end a relay whose event comes later in the batch --
	 * ended after it was noted, it is only marked, and freed off the list */
	for (int i = 0; i < n; i++)
		if (*(enum gwatch *)ev[i].data.ptr == GW_RELAY)
			relay_loop_event(g->relays, ev[i].data.ptr, ev[i].events);
	for (int i = 0; i < n; i++) {
		enum gwatch *w = ev[i].data.ptr;
		switch (*w) {
		case GW_LISTEN: ctl_accept(g); break;
		case GW_CTL: ctl_readable(g, (struct gctl *)w, ev[i].events); break;
		case GW_SOCK: sock_event((struct gsock *)w, ev[i].events); break;
		case GW_RELAY: break; /* above */
		}
	}
	READYQ_TAKE(g, list);
	while (READYQ_POP(list, gs)) {
		if (!gs->g) {
			free(gs);
			continue;
		}
		gs->ready = false;
		if (gs->kind == TRUN_TCP)
			gtcp_step(gs);
		else
			gudp_step(gs);
	}
	gpersona_tick(g, now);
	/* the relays' kernel events came in the batch above (a full batch
	 * turns again at once for the rest) */
	next = relay_loop_step(g->relays, now, false);
	if (g->ready || n == 64)
		return now;
	return gate_spins(g, now) ? now : next;
}

size_t gate_busy(struct gate *g)
{
	size_t n;
	tapir_net_lock(g->net);
	n = relay_loop_count(g->relays);
	tapir_net_unlock(g->net);
	return n;
}

struct gate *gate_start(struct tapir_net *net, const char *path, char *err, size_t errlen)
{
	struct gate *g = calloc(1, sizeof(*g));
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	const char *dbg = getenv(TRUN_ENV_DEBUG);
	if (!g || (g->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    !(g->relays = relay_loop_new_shared(g->ep, GW_RELAY))) {
		snprintf(err, errlen, "gate: %s", strerror(errno));
		if (g && g->ep >= 0)
			close(g->ep);
		free(g);
		return NULL;
	}
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "gate: path too long: %s", path);
		goto fail;
	}
	g->watch = GW_LISTEN;
	g->net = net;
	g->s = tapir_net_stack(net);
	g->pid = (unsigned)getpid();
	g->debug = dbg && *dbg && strcmp(dbg, "0");
	tapir_spin_init(&g->spin, tapir_spin_window(getenv(TRUN_ENV_BUSY_POLL)));
	READYQ_INIT(g);
	snprintf(g->path, sizeof(g->path), "%s", path);
	memcpy(sun.sun_path, path, strlen(path));
	g->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	unlink(path);
	if (g->lfd < 0 || bind(g->lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(g->lfd, 128) < 0) {
		snprintf(err, errlen, "gate: cannot listen at %s: %s", path, strerror(errno));
		goto fail;
	}
	/* programs that change user (nginx's workers) still reach it */
	chmod(path, 0777);
	if (gate_watch(g, g->lfd, EPOLLIN, g, false) < 0 ||
	    tapir_net_add_service(net, gate_turn, g, g->ep) < 0) {
		snprintf(err, errlen, "gate: cannot start: %s", strerror(errno));
		goto fail;
	}
	return g;
fail:
	if (g->lfd > 0)
		close(g->lfd);
	if (g->ep > 0)
		close(g->ep);
	relay_loop_free(g->relays, 0);
	free(g);
	return NULL;
}

void gate_stop(struct gate *g)
{
	if (!g)
		return;
	tapir_net_remove_service(g->net, gate_turn, g);
	tapir_net_lock(g->net);
	relay_loop_free(g->relays, g->now);
	g->relays = NULL;
	while (g->ctls) /* the runs still attached see their channel end */
		ctl_close(g, g->ctls);
	for (unsigned id = 1; id < g->cap; id++) {
		struct gsock *gs = g->socks[id];
		if (!gs)
			continue;
		if (gs->kind == TRUN_TCP) {
			if (gs->relay) { /* the loop ended it, and its connection */
				gs->relay = NULL;
				gs->t = NULL;
			}
			gtcp_free(gs);
		} else {
			gudp_free(gs);
		}
	}
	tapir_net_unlock(g->net);
	close(g->lfd);
	close(g->ep);
	unlink(g->path);
	free(g->socks);
	free(g);
}
