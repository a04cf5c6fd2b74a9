/* tapir host --forward and --outbound (forward.h, docs/forward.md).
 *
 * One service on the stack thread (tapir_net_add_service) with one epoll
 * set: the kernel's listening sockets of --outbound, the kernel's
 * connects of --forward while they are in progress, and, through
 * tools/relay.c, the kernel's side of every relayed connection.  tapir's
 * side is the core's event API (tapir/tcp.h): the event functions only
 * note what became ready, forward_turn acts on it after the stack's turn.
 *
 * A connection is first PENDING -- accepted on one side, its other side
 * being opened (a non-blocking kernel connect, or tapir's active open) --
 * then handed to a relay, which moves the bytes, half-closes and resets
 * until both sides are done and tells us through its end callback.  A
 * failed open is a reset on the side already open: a refused kernel
 * connect is an RST to tapir's peer, a refused tapir connect an abortive
 * close (SO_LINGER {1, 0}: RST) of the kernel's client, so the client
 * sees what it would see without the relay in between.
 *
 * Memory is bounded: at most MAX_CONNS connections at a time.  At the
 * limit the listeners are left alone (the kernel's listener leaves the
 * epoll set, tapir's is not accepted from), so new connections wait in
 * the listen queues and, once those are full, their SYNs go unanswered:
 * backpressure as a full backlog gives it (UNP 4.5). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <tapir/tcp.h>

#include "forward.h"
#include "netutil.h"
#include "relay.h"
#include "../readyq.h"

#define FWD_MAX_RULES 64
#define FWD_BACKLOG 128   /* each listener's, tapir's and the kernel's (UNP 4.5) */
#define FWD_ACCEPT_BATCH 64 /* accepts per listener per turn: relays are not starved */
#define FWD_EVENTS 64     /* epoll events taken per turn */

enum fwd_tag { TAG_LISTENER, TAG_CONNECT, TAG_NONE };

struct fwd_rule {
	enum fwd_tag tag; /* first: what an epoll event's pointer names */
	struct forward *fw;
	bool outbound;
	struct nu_addr laddr, raddr; /* either family; laddr unset for --forward */
	uint16_t lport, rport;
	struct tapir_tcp *lis; /* --forward: tapir's listener */
	int kfd;               /* --outbound: the kernel's listener, or -1 */
	bool ready, paused;
};

struct fwd_conn {
	enum fwd_tag tag; /* TAG_CONNECT while the kernel's connect runs */
	struct fwd_rule *rule;
	struct tapir_tcp *t;
	int kfd;
	struct relay *relay; /* once both sides are open */
	struct fwd_conn *rnext, *prev, *next;
	bool queued, dead;
};

struct forward {
	struct tapir_net *net;
	struct fwd_rule rule[FWD_MAX_RULES];
	unsigned nrules;
	int ep;
	struct relay_loop *relays;
	unsigned nconns, max_conns;
	struct fwd_conn *conns;                 /* all of them */
	struct fwd_conn *ready, **ready_tail;   /* pending ones with tapir events */
};

/* ---- the options ---- */

int forward_add(struct forward **fwp, bool outbound, const char *spec, char *err,
		size_t errlen)
{
	const char *opt = outbound ? "--outbound" : "--forward";
	const char *form = outbound ? "ADDR:PORT=HOST:HPORT such as 127.0.0.1:8080=10.0.0.1:80 "
				      "or [::1]:8080=[2001:db8::1]:80"
				    : "PORT=HOST:HPORT such as 80=127.0.0.1:8080 or 80=[::1]:8080";
	struct forward *fw = *fwp;
	struct fwd_rule r = {.tag = TAG_LISTENER, .outbound = outbound, .kfd = -1};
	const char *eq = strchr(spec, '=');
	char left[64];
	long long p;

	if (!eq || eq - spec >= (long)sizeof(left) || nu_parse_endpoint(eq + 1, &r.raddr, &r.rport))
		goto bad;
	memcpy(left, spec, (size_t)(eq - spec));
	left[eq - spec] = 0;
	if (outbound) {
		if (nu_parse_endpoint(left, &r.laddr, &r.lport))
			goto bad;
	} else {
		if ((p = nu_parse_num(left, 1, 65535)) < 0)
			goto bad;
		r.lport = (uint16_t)p;
	}
	if (!fw && !(fw = *fwp = calloc(1, sizeof(*fw)))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < fw->nrules; i++) {
		const struct fwd_rule *o = &fw->rule[i];
		if (o->outbound == outbound && o->lport == r.lport &&
		    nu_addr_eq(&o->laddr, &r.laddr)) {
			snprintf(err, errlen, "%s %s: that %s port is already forwarded", opt, spec,
				 outbound ? "kernel" : "tapir");
			return -1;
		}
	}
	if (fw->nrules == FWD_MAX_RULES) {
		snprintf(err, errlen, "--forward and --outbound: at most %d in all", FWD_MAX_RULES);
		return -1;
	}
	r.fw = fw;
	fw->rule[fw->nrules++] = r;
	return 0;
bad:
	snprintf(err, errlen, "%s: '%s' is not %s", opt, spec, form);
	return -1;
}

void forward_describe(const struct forward *fw, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = 0;
	for (unsigned i = 0; fw && i < fw->nrules && n < len; i++) {
		const struct fwd_rule *r = &fw->rule[i];
		struct tapir_ip la = nu_addr_ip(&r->laddr), ra = nu_addr_ip(&r->raddr);
		char a[TAPIR_IP_PORT_STRLEN], b[TAPIR_IP_PORT_STRLEN];
		int w;
		if (r->outbound)
			w = snprintf(buf + n, len - n, " outbound=%s>%s",
				     tapir_ip_port_str(&la, r->lport, a),
				     tapir_ip_port_str(&ra, r->rport, b));
		else
			w = snprintf(buf + n, len - n, " forward=%u>%s", r->lport,
				     tapir_ip_port_str(&ra, r->rport, b));
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

/* ---- connections ---- */

/* An abortive close: SO_LINGER {1, 0} makes close() send RST, so the
 * kernel's side sees the reset tapir's side saw (or the refusal). */
static void close_abortive(int fd)
{
	struct linger lg = {1, 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void conn_event(void *arg, unsigned events)
{
	struct fwd_conn *c = arg;
	struct forward *fw = c->rule->fw;
	(void)events; /* the turn reads the connection's state itself */
	READYQ_PUSH(fw, c);
}

static void listener_event(void *arg, unsigned events)
{
	struct fwd_rule *r = arg;
	(void)events;
	r->ready = true;
}

static struct fwd_conn *conn_new(struct forward *fw, struct fwd_rule *r)
{
	struct fwd_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->tag = TAG_NONE;
	c->rule = r;
	c->kfd = -1;
	c->next = fw->conns;
	if (fw->conns)
		fw->conns->prev = c;
	fw->conns = c;
	fw->nconns++;
	return c;
}

/* A slot is free again: listeners paused at the limit take connections
 * again (tapir's on the next turn, the kernel's when epoll says so). */
static void listeners_resume(struct forward *fw)
{
	for (unsigned i = 0; i < fw->nrules; i++) {
		struct fwd_rule *r = &fw->rule[i];
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = r};
		if (!r->paused)
			continue;
		r->paused = false;
		r->ready = true;
		if (r->outbound)
			epoll_ctl(fw->ep, EPOLL_CTL_ADD, r->kfd, &ev);
	}
}

/* C is gone: its sides were closed (or handed to the relay, which closed
 * them).  Freed now, or when the ready list lets go of it. */
static void conn_gone(struct forward *fw, struct fwd_conn *c)
{
	*(c->prev ? &c->prev->next : &fw->conns) = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (fw->nconns-- == fw->max_conns)
		listeners_resume(fw);
	if (c->queued)
		c->dead = true;
	else
		free(c);
}

/* Opening the second side failed: both sides go, the open one with a
 * reset (tapir's ABORT, RFC 9293 3.10.5, or the kernel's SO_LINGER {1, 0}). */
static void conn_fail(struct forward *fw, struct fwd_conn *c, tapir_time_t now)
{
	if (c->kfd >= 0) {
		epoll_ctl(fw->ep, EPOLL_CTL_DEL, c->kfd, NULL);
		close_abortive(c->kfd);
		c->kfd = -1;
	}
	if (c->t) {
		tapir_tcp_set_event(c->t, NULL, NULL);
		tapir_tcp_abort(c->t, now);
		c->t = NULL;
	}
	conn_gone(fw, c);
}

/* The relay closed both sides (in order, or with the reset it passed on). */
static void relay_done(void *arg, int err)
{
	struct fwd_conn *c = arg;
	(void)err;
	c->relay = NULL;
	conn_gone(c->rule->fw, c);
}

/* Both sides are open (tapir's may still be in its handshake: the relay
 * waits for it, and a refusal ends it with an abortive close of the
 * kernel's side): the relay takes them over. */
static void conn_relay(struct forward *fw, struct fwd_conn *c, tapir_time_t now)
{
	if (c->tag == TAG_CONNECT)
		epoll_ctl(fw->ep, EPOLL_CTL_DEL, c->kfd, NULL);
	c->tag = TAG_NONE; /* no longer in our epoll set */
	c->relay = relay_start(fw->relays, c->kfd, c->t, 0, relay_done, c, now);
	c->t = NULL;
	c->kfd = -1;
	if (!c->relay) /* out of memory: it closed FD and aborted T */
		conn_gone(fw, c);
}

/* --forward: tapir accepted C; the kernel connects to the rule's server. */
static void forward_open(struct forward *fw, struct fwd_conn *c, tapir_time_t now)
{
	struct sockaddr_storage sa;
	socklen_t salen = nu_addr_sockaddr(&c->rule->raddr, c->rule->rport, &sa);
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};

	c->kfd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->kfd < 0) {
		conn_fail(fw, c, now);
		return;
	}
	if (connect(c->kfd, (struct sockaddr *)&sa, salen) == 0) {
		conn_relay(fw, c, now);
		return;
	}
	if (errno != EINPROGRESS || epoll_ctl(fw->ep, EPOLL_CTL_ADD, c->kfd, &ev) < 0) {
		conn_fail(fw, c, now); /* e.g. ENETUNREACH at once */
		return;
	}
	c->tag = TAG_CONNECT;
	/* until the kernel's handshake ends, tapir's side only queues what
	 * arrives (its receive window closes when the buffer is full); a
	 * reset from tapir's peer meanwhile is seen through the event */
	tapir_tcp_set_event(c->t, conn_event, c);
}

/* The kernel's connect of C ended (EPOLLOUT or EPOLLERR): SO_ERROR tells. */
static void forward_connected(struct forward *fw, struct fwd_conn *c, tapir_time_t now)
{
	int e = 0;
	socklen_t l = sizeof(e);
	if (getsockopt(c->kfd, SOL_SOCKET, SO_ERROR, &e, &l) < 0 || e)
		conn_fail(fw, c, now); /* refused, unreachable: RST to tapir's peer */
	else
		conn_relay(fw, c, now);
}

/* --outbound: the kernel accepted KFD; tapir opens toward the rule's
 * server from its own address. */
static void outbound_open(struct forward *fw, struct fwd_conn *c, tapir_time_t now,
			  struct tapir_stack *s)
{
	struct tapir_ip to = nu_addr_ip(&c->rule->raddr);
	int r;
	c->t = tapir_tcp_new(s);
	if (!c->t) {
		conn_fail(fw, c, now); /* tapir's sockets are all in use */
		return;
	}
	r = tapir_tcp_connect_addr(c->t, &to, c->rule->rport, now);
	if (r < 0)
		conn_fail(fw, c, now); /* no route: RST to the kernel's client */
	else
		conn_relay(fw, c, now);
}

/* A --forward connection had a tapir event while the kernel's connect
 * runs: only a reset (or timeout) of tapir's side matters now; data and a
 * FIN wait in tapir's buffers for the relay. */
static void pending_step(struct forward *fw, struct fwd_conn *c, tapir_time_t now)
{
	if (c->relay || !c->t)
		return; /* the relay has it now */
	if (tapir_tcp_error(c->t) || tapir_tcp_state(c->t) == TAPIR_TCP_CLOSED)
		conn_fail(fw, c, now);
}

/* ---- the listeners ---- */

static bool at_limit(struct forward *fw, struct fwd_rule *r)
{
	if (fw->nconns < fw->max_conns)
		return false;
	if (!r->paused && r->outbound)
		epoll_ctl(fw->ep, EPOLL_CTL_DEL, r->kfd, NULL);
	r->paused = true;
	return true;
}

/* Takes up to FWD_ACCEPT_BATCH connections from R; true when more may
 * wait (the turn asks to run again at once). */
static bool rule_accept(struct forward *fw, struct fwd_rule *r, struct tapir_stack *s,
			tapir_time_t now)
{
	for (int i = 0; i < FWD_ACCEPT_BATCH; i++) {
		struct fwd_conn *c;
		struct tapir_tcp *t = NULL;
		int kfd = -1, e;
		if (at_limit(fw, r))
			return false;
		if (r->outbound) {
			kfd = accept4(r->kfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (kfd < 0)
				return false; /* EAGAIN; or EMFILE: tried again on the next event */
		} else if (!(t = tapir_tcp_accept(r->lis, &e))) {
			return false;
		}
		if (!(c = conn_new(fw, r))) {
			if (t)
				tapir_tcp_abort(t, now);
			else
				close_abortive(kfd);
			continue;
		}
		c->t = t;
		c->kfd = kfd;
		if (r->outbound)
			outbound_open(fw, c, now, s);
		else
			forward_open(fw, c, now);
	}
	return true;
}

/* ---- the turn ---- */

static tapir_time_t forward_turn(void *arg, struct tapir_stack *s, tapir_time_t now)
{
	struct forward *fw = arg;
	struct epoll_event ev[FWD_EVENTS];
	bool more = false;
	tapir_time_t next;
	int n = epoll_wait(fw->ep, ev, FWD_EVENTS, 0);

	for (int i = 0; i < n; i++) {
		enum fwd_tag *tag = ev[i].data.ptr;
		if (!tag) {
			continue;
		} else if (*tag == TAG_CONNECT) {
			forward_connected(fw, (struct fwd_conn *)tag, now);
		} else if (*tag == TAG_LISTENER) {
			struct fwd_rule *r = (struct fwd_rule *)tag;
			r->ready = true;
		}
	}
	more = n == FWD_EVENTS;
	for (unsigned i = 0; i < fw->nrules; i++) {
		struct fwd_rule *r = &fw->rule[i];
		if (!r->ready || r->paused)
			continue;
		r->ready = false;
		if (rule_accept(fw, r, s, now))
			r->ready = more = true;
	}
	while (fw->ready) {
		struct fwd_conn *c = fw->ready;
		fw->ready = c->rnext;
		if (!fw->ready)
			READYQ_INIT(fw);
		c->queued = false;
		if (c->dead)
			free(c);
		else
			pending_step(fw, c, now);
	}
	next = relay_loop_run(fw->relays, now);
	return more ? now : next;
}

/* ---- start ---- */

static int open_tapir_listener(struct fwd_rule *r, struct tapir_stack *s, char *err,
			       size_t errlen)
{
	/* ::, both families: IPv4 comes in v4-mapped (RFC 3493 3.7) */
	const struct tapir_ip any = {{0}};
	int e = -ENOBUFS;
	if (!(r->lis = tapir_tcp_new(s)))
		goto fail;
	tapir_tcp_setopt(r->lis, TAPIR_TCP_REUSEADDR, 1);
	if ((e = tapir_tcp_bind_addr(r->lis, &any, r->lport)) < 0 ||
	    (e = tapir_tcp_listen(r->lis, FWD_BACKLOG)) < 0)
		goto fail;
	tapir_tcp_set_event(r->lis, listener_event, r);
	r->ready = true;
	return 0;
fail:
	snprintf(err, errlen, "--forward %u: cannot listen on tapir's port %u: %s%s", r->lport,
		 r->lport, strerror(-e),
		 e == -EADDRINUSE ? " (a --serve service has it: leave it out of --serve)" : "");
	return -1;
}

static int open_kernel_listener(struct forward *fw, struct fwd_rule *r, char *err,
				size_t errlen)
{
	struct sockaddr_storage sa;
	socklen_t salen = nu_addr_sockaddr(&r->laddr, r->lport, &sa);
	struct tapir_ip la = nu_addr_ip(&r->laddr);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = r};
	int one = 1;
	char a[TAPIR_IP_PORT_STRLEN];

	r->kfd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->kfd < 0 || setsockopt(r->kfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(r->kfd, (struct sockaddr *)&sa, salen) < 0 || listen(r->kfd, FWD_BACKLOG) < 0 ||
	    epoll_ctl(fw->ep, EPOLL_CTL_ADD, r->kfd, &ev) < 0) {
		snprintf(err, errlen, "--outbound %s: cannot listen there: %s",
			 tapir_ip_port_str(&la, r->lport, a), strerror(errno));
		return -1;
	}
	return 0;
}

int forward_start(struct forward *fw, struct tapir_net *net, unsigned max_conns, char *err,
		  size_t errlen)
{
	long nofile = nu_raise_nofile();
	int rc = 0;

	fw->net = net;
	READYQ_INIT(fw);
	/* each connection holds one kernel descriptor: keep some for the
	 * listeners, the TAP, the pcap and the control socket */
	if (nofile > 64 && max_conns > (unsigned long)nofile - 64)
		max_conns = (unsigned)(nofile - 64);
	fw->max_conns = max_conns ? max_conns : 1;
	fw->ep = epoll_create1(EPOLL_CLOEXEC);
	fw->relays = relay_loop_new();
	/* the relays' epoll set nested in ours, its events with no pointer */
	if (fw->ep < 0 || !fw->relays ||
	    epoll_ctl(fw->ep, EPOLL_CTL_ADD, relay_loop_fd(fw->relays),
		      &(struct epoll_event){.events = EPOLLIN, .data.ptr = NULL}) < 0) {
		snprintf(err, errlen, "cannot set up the relays: %s", strerror(errno));
		return -1;
	}
	tapir_net_lock(net);
	for (unsigned i = 0; i < fw->nrules && !rc; i++) {
		struct fwd_rule *r = &fw->rule[i];
		rc = r->outbound ? open_kernel_listener(fw, r, err, errlen)
				 : open_tapir_listener(r, tapir_net_stack(net), err, errlen);
	}
	tapir_net_unlock(net);
	if (rc)
		return -1; /* the process exits on this error */
	if (tapir_net_add_service(net, forward_turn, fw, fw->ep) < 0) {
		snprintf(err, errlen, "cannot add the relay service: %s", strerror(errno));
		return -1;
	}
	return 0;
}
