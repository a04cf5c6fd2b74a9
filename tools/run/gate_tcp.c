/* The gate's TCP sockets (proto.h): the filled pair of an unconnected
 * socket, connect and its outcome, listeners handing connections over as
 * trun_accept records with the new app end attached, the relay of a
 * connected socket (relay.h), and what is kept once it ends. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/sockios.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "gate_int.h"

#define BACKLOG_MAX 4096 /* net.core.somaxconn's default */
#define REC_TRUESIZE_MAX 1024 /* a record's skb with its descriptor (768 on 6.x) */

static void tcp_event(void *arg, unsigned events)
{
	(void)events; /* the step reads the connection's state itself */
	gate_sock_queue(arg);
}

int gtcp_socket(struct gsock *gs, int *app)
{
	int r, sndbuf = 0;
	socklen_t sl = sizeof(sndbuf);
	size_t fill;
	char zero[4096];
	if (!(gs->t = tapir_tcp_new(gs->g->s)))
		return -ENOBUFS;
	if ((r = gate_pair(gs, SOCK_STREAM, app)) < 0)
		return r;
	/* proto.h: the app end is not writable until the handshake ends */
	getsockopt(*app, SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl);
	fill = TRUN_FILL((size_t)sndbuf);
	memset(zero, 0, sizeof(zero));
	while (gs->fill < fill) {
		size_t n = fill - gs->fill < sizeof(zero) ? fill - gs->fill : sizeof(zero);
		ssize_t w = send(*app, zero, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w <= 0)
			break;
		gs->fill += (size_t)w;
	}
	/* only POLLHUP: the program's last close */
	if ((r = gate_watch(gs->g, gs->gfd, 0, gs, false)) < 0) {
		close(*app);
		return r;
	}
	tapir_tcp_set_event(gs->t, tcp_event, gs);
	return 0;
}

void gtcp_names(struct gsock *gs)
{
	if (!gs->t || gs->rp_lead) /* a member's own t is never bound */
		return;
	tapir_tcp_local_addr(gs->t, &gs->laddr, &gs->lport);
	if (gs->state == GS_RELAY)
		tapir_tcp_peer_addr(gs->t, &gs->paddr, &gs->pport);
}

/* The lead of the SO_REUSEPORT sockets bound to ADDR:PORT, or NULL. */
static struct gsock *rp_find(struct gate *g, const struct tapir_ip *addr, uint16_t port)
{
	for (unsigned i = 0; i < g->cap; i++) {
		struct gsock *o = g->socks[i];
		struct tapir_ip la;
		uint16_t lp;
		if (!o || o->kind != TRUN_TCP || !o->reuseport || o->rp_lead || !o->t ||
		    (o->state != GS_NEW && o->state != GS_LISTEN))
			continue;
		tapir_tcp_local_addr(o->t, &la, &lp);
		if (tapir_ip_eq(&la, addr) && lp == port)
			return o;
	}
	return NULL;
}

int gtcp_bind(struct gsock *gs, const struct tapir_ip *addr, uint16_t port)
{
	struct gsock *lead;
	int r;
	if (gs->state != GS_NEW || !gs->t || gs->rp_lead)
		return -EINVAL;
	r = tapir_tcp_bind_addr(gs->t, addr, port);
	/* socket(7): SO_REUSEPORT on every socket bound to the port lets
	 * them all bind it, and listening ones share its connections */
	if (r == -EADDRINUSE && gs->reuseport && port && (lead = rp_find(gs->g, addr, port))) {
		gs->rp_lead = lead;
		gs->rp_next = lead->rp_next;
		lead->rp_next = gs;
		gs->laddr = *addr;
		gs->lport = port;
		gpersona_hold(gs);
		return 0;
	}
	if (r == 0)
		gpersona_hold(gs);
	return r;
}

/* Records the program has not taken from the listener yet.  Each is one
 * skb on the pair; SIOCOUTQ counts their truesize, measured on the first. */
static unsigned records_unread(struct gsock *gs)
{
	int outq = 0;
	if (ioctl(gs->gfd, SIOCOUTQ, &outq) < 0 || outq <= 0)
		return 0;
	if (!gs->g->rec_unit)
		return 1;
	return ((unsigned)outq + gs->g->rec_unit - 1) / gs->g->rec_unit;
}

/* Sizes LS's gate end for BACKLOG records.  Each record is one skb that
 * a unix stream socket charges to its sender at its truesize (some 768
 * bytes with the descriptor attached), and a send fails with EAGAIN once
 * they reach SO_SNDBUF: the default (net.core.wmem_default) holds some
 * 270, fewer than a backlog of 1024.  Four times the need, as the socket
 * is writable again (the EPOLLOUT edge the gate waits for) only below a
 * quarter of SO_SNDBUF; the kernel doubles the value set.  Only a limit:
 * what is queued stays bounded by BACKLOG records.  Unprivileged, the
 * plain SO_SNDBUF stops at net.core.wmem_max, and record_room keeps
 * the rest in tapir's listen queue. */
static void records_size(struct gsock *ls, int backlog)
{
	int v = backlog * REC_TRUESIZE_MAX * 2;
	socklen_t sl = sizeof(ls->rec_sndbuf);
	if (setsockopt(ls->gfd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(ls->gfd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	/* what the kernel made of it, for record_room: only the gate sets it */
	if (getsockopt(ls->gfd, SOL_SOCKET, SO_SNDBUF, &ls->rec_sndbuf, &sl) < 0)
		ls->rec_sndbuf = 0;
}

int gtcp_listen(struct gsock *gs, int backlog)
{
	int r;
	if (backlog < 1)
		backlog = 1; /* as Linux: 0 still takes one */
	if (backlog > BACKLOG_MAX)
		backlog = BACKLOG_MAX;
	struct gsock *lead = gs->rp_lead ? gs->rp_lead : gs;
	gs->backlog = backlog;
	if (gs->state == GS_LISTEN) {
		records_size(gs, backlog);
		return 0;
	}
	if (gs->state != GS_NEW)
		return -EINVAL;
	/* the group's one tapir listener, on the lead, from the first listen */
	if (!lead->tlisten && (r = tapir_tcp_listen(lead->t, backlog)) < 0)
		return r;
	lead->tlisten = true;
	records_size(gs, backlog);
	gs->state = GS_LISTEN;
	/* each record the program takes frees room: an edge of EPOLLOUT */
	gate_watch(gs->g, gs->gfd, EPOLLOUT | EPOLLET, gs, true);
	gate_sock_queue(lead);
	return 0;
}

/* The end of a relayed connection: the record stays for TRUN_EOF (the
 * real error) and the names, up to GATE_GONE_MAX of them. */
static void relay_done(void *arg, int err)
{
	struct gsock *gs = arg;
	struct gate *g = gs->g;
	gpersona_drop_later(gs, g->now);
	gs->relay = NULL;
	gs->t = NULL;
	gs->err = -err;
	gs->state = GS_GONE;
	gs->gnext = NULL;
	*(g->gone_tail ? &g->gone_tail->gnext : &g->gone_head) = gs;
	g->gone_tail = gs;
	if (++g->ngone > GATE_GONE_MAX) {
		struct gsock *old = g->gone_head;
		g->gone_head = old->gnext;
		if (!g->gone_head)
			g->gone_tail = NULL;
		g->ngone--;
		gate_sock_free(old);
	}
	gate_log(g, "id %u ended: %s", gs->id, err ? strerror(-err) : "closed");
}

/* Hands GS's gate end and connection to a relay; WATCHED: the gate's set
 * has the gate end (a connecting socket's; an accepted one's never). */
static void relay_begin(struct gsock *gs, size_t discard, bool watched)
{
	int fd = gs->gfd;
	if (watched)
		epoll_ctl(gs->g->ep, EPOLL_CTL_DEL, fd, NULL);
	gs->gfd = -1; /* the relay's now */
	gs->state = GS_RELAY;
	gtcp_names(gs);
	gs->relay = relay_start(gs->g->relays, fd, gs->t, discard, relay_done, gs, gs->g->now);
	if (gs->relay && (gs->cork || gs->more))
		relay_set_cork(gs->relay, true);
	if (!gs->relay) { /* out of memory: the connection was reset */
		gs->t = NULL;
		gs->err = ENOMEM;
		gs->state = GS_GONE;
		relay_done(gs, -ENOMEM);
	}
}

/* One connection from the listener to the program: a new connected pair
 * and a record with its app end.  False when none could be taken. */
static bool accept_one(struct gsock *lead, struct gsock *ls)
{
	struct gate *g = ls->g;
	struct tapir_tcp *t;
	struct gsock *gs;
	struct trun_accept rec;
	union trun_cmsg u;
	struct iovec iov = {.iov_base = &rec, .iov_len = sizeof(rec)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	int err, app = -1;
	bool first = !g->rec_unit && !records_unread(ls); /* measured once */
	if (!(t = tapir_tcp_accept(lead->t, &err)))
		return false;
	if (!(gs = gate_sock_new(g, TRUN_TCP)) || gate_pair(gs, SOCK_STREAM, &app) < 0) {
		tapir_tcp_abort(t, g->now); /* out of descriptors: RST, as an overflow */
		if (gs)
			gate_sock_free(gs);
		return true;
	}
	relay_unix_sndbuf(app); /* the program's writes: as the gate end's */
	gs->domain = ls->domain;
	gs->t = t;
	gs->cork = ls->cork;
	gpersona_sock(gs, ls->persona);
	gpersona_hold(gs);
	relay_begin(gs, 0, false);
	memset(&rec, 0, sizeof(rec));
	rec.id = gs->id;
	memcpy(rec.peer_addr, gs->paddr.b, sizeof(rec.peer_addr));
	memcpy(rec.local_addr, gs->laddr.b, sizeof(rec.local_addr));
	rec.peer_port = htons(gs->pport);
	rec.local_port = htons(gs->lport);
	trun_msg_fd(&m, &u, app);
	if (sendmsg(ls->gfd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)sizeof(rec)) {
		/* (not for want of room: record_room) reset, as an overflow;
		 * logged before GS goes, which it once was not */
		gate_log(g, "id %u could not hand id %u over: %s, reset", ls->id, gs->id,
			 strerror(errno));
		if (gs->relay)
			relay_abort(gs->relay, g->now);
		gs->relay = NULL;
		gate_sock_free(gs);
		close(app);
		return true;
	}
	if (first && !g->rec_unit) {
		int outq = 0;
		if (ioctl(ls->gfd, SIOCOUTQ, &outq) == 0 && outq > 0)
			g->rec_unit = (unsigned)outq;
	}
	close(app);
	gate_log(g, "id %u accepted id %u", ls->id, gs->id);
	return true;
}

/* Reads the filler (proto.h) back from the gate end: the app end becomes
 * writable. */
static void drain_fill(struct gsock *gs)
{
	char buf[4096];
	while (gs->fill) {
		ssize_t n = recv(gs->gfd, buf, gs->fill < sizeof(buf) ? gs->fill : sizeof(buf),
				 MSG_DONTWAIT);
		if (n <= 0)
			break;
		gs->fill -= (size_t)n;
	}
}

/* The handshake failed: the app end becomes writable (the filler read)
 * and reads EOF, which the preload turns into the error (TRUN_EOF);
 * SO_ERROR tells it too.  The gate end stays for its POLLHUP. */
static void connect_failed(struct gsock *gs, int err)
{
	gs->err = err;
	gs->state = GS_FAILED;
	gs->tfo_defer = false;
	tapir_tcp_set_event(gs->t, NULL, NULL);
	tapir_tcp_close(gs->t, gs->g->now);
	gs->t = NULL;
	drain_fill(gs);
	shutdown(gs->gfd, SHUT_WR);
	gate_log(gs->g, "id %u connect failed: %s", gs->id, err ? strerror(err) : "shut down");
}

/* The first bytes the program wrote after a connect that Fast Open let
 * succeed at once: tapir takes them, so its SYN carries them (RFC 7413
 * 4.2, as much as fits in one segment; the rest follows the handshake),
 * and what tapir did not take waits in the gate end for the relay. */
static void tfo_feed(struct gsock *gs)
{
	struct gate *g = gs->g;
	ssize_t n = recv(gs->gfd, g->buf, sizeof(g->buf), MSG_PEEK | MSG_DONTWAIT);
	long k;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* shut down before any byte: no SYN at all, as Linux's
		 * shutdown of a connect still deferred */
		connect_failed(gs, 0);
		return;
	}
	k = tapir_tcp_send(gs->t, g->buf, (size_t)n, g->now);
	if (k < 0) {
		connect_failed(gs, (int)-k);
		return;
	}
	if (recv(gs->gfd, g->buf, (size_t)k, MSG_DONTWAIT) != k) { /* taken: off the pair */
		connect_failed(gs, EPROTO);
		return;
	}
	gs->tfo_defer = false;
	gate_watch(g, gs->gfd, 0, gs, true); /* POLLHUP only, until the relay */
	gate_log(g, "id %u fast open: %ld bytes for the SYN", gs->id, k);
}

int gtcp_tfo_room(const struct gsock *gs)
{
	size_t n;
	if (gs->tfo_defer) {
		n = tapir_tcp_syn_room(gs->t);
		return n > INT_MAX ? INT_MAX : n ? (int)n : 1;
	}
	return gs->state == GS_CONNECTING ? 0 : -1;
}

int gtcp_connect(struct gsock *gs, const struct tapir_ip *addr, uint16_t port)
{
	int r;
	switch (gs->state) {
	case GS_NEW: break;
	case GS_CONNECTING: return gs->tfo_defer ? -EISCONN : -EALREADY; /* Linux's */
	case GS_FAILED: return -ECONNABORTED;
	case GS_RELAY:
		/* the first connect after a non-blocking one completed reports
		 * its success; then EISCONN (Linux's __inet_stream_connect) */
		if (gs->connect_pending) {
			gs->connect_pending = false;
			return 0;
		}
		return -EISCONN;
	default: return -EISCONN;
	}
	/* a run's personalities bend its SYN already: the port first */
	struct tapir_ip any = tapir_ip_is_v4(addr) ? tapir_ip_from_v4(0)
						   : tapir_ip_from_v6(in6addr_any.s6_addr);
	if (gs->persona && !gs->pe_port && tapir_tcp_bind_addr(gs->t, &any, 0) == 0)
		gpersona_hold(gs);
	if ((r = tapir_tcp_connect_addr(gs->t, addr, port, gs->g->now)) < 0)
		return r;
	gpersona_hold(gs);
	gs->state = GS_CONNECTING;
	gs->connect_pending = true;
	if (r == 1) {
		/* TCP_FASTOPEN_CONNECT with a cookie cached (tcp(7); RFC 7413
		 * 4.2): connect succeeds at once and the SYN waits for the
		 * first data, so the app end is writable now and the gate
		 * watches for its bytes (tfo_feed) */
		gs->tfo_defer = true;
		drain_fill(gs);
		gate_watch(gs->g, gs->gfd, EPOLLIN, gs, true);
		return 0;
	}
	gate_sock_queue(gs); /* loopback may have connected already */
	return -EINPROGRESS;
}

/* Whether a record sent on LS's gate end now is sure to go: a unix stream
 * send waits (EAGAIN here) once what its sender has queued reaches
 * SO_SNDBUF.  Taken from tapir's queue and then not sent, a connection
 * could only be reset -- which clients of a program slow to accept once
 * saw as ECONNRESET while the backlog still had room (run_backlog.sh).
 * The gate alone writes there, so the room seen now stays. */
static bool record_room(struct gsock *ls)
{
	int outq = 0;
	if (ioctl(ls->gfd, SIOCOUTQ, &outq) < 0)
		return false;
	return outq < ls->rec_sndbuf;
}

/* The next listening socket of LEAD's group (LEAD alone without
 * SO_REUSEPORT) with room for a record, round robin; NULL when none. */
static struct gsock *rp_next_taker(struct gsock *lead)
{
	struct gsock *c = lead->rp_turn ? lead->rp_turn : lead;
	struct gsock *start = c;
	do {
		if (c->state == GS_LISTEN && records_unread(c) < (unsigned)c->backlog &&
		    record_room(c)) {
			lead->rp_turn = c->rp_next ? c->rp_next : lead;
			return c;
		}
		c = c->rp_next ? c->rp_next : lead;
	} while (c != start);
	return NULL;
}

/* Connections from LEAD's tapir listener to the listening sockets. */
static void rp_deal(struct gsock *lead)
{
	struct gsock *to;
	struct tapir_tcp_info ti;
	/* the room checks are system calls: none while tapir's accept queue
	 * is empty (a SYN, a record taken: most steps of a listener) */
	for (;;) {
		tapir_tcp_get_info(lead->t, &ti);
		if (!ti.accept_queued || !(to = rp_next_taker(lead)) || !accept_one(lead, to))
			return;
	}
}

/* GS leaves its SO_REUSEPORT group; a lead hands its tapir listener to the
 * next member, which leads from then on. */
static void rp_leave(struct gsock *gs)
{
	struct gsock *lead = gs->rp_lead, *m;
	if (lead) {
		struct gsock **p = &lead->rp_next;
		while (*p && *p != gs)
			p = &(*p)->rp_next;
		if (*p)
			*p = gs->rp_next;
		if (lead->rp_turn == gs)
			lead->rp_turn = NULL;
		gs->rp_lead = gs->rp_next = NULL;
		return;
	}
	if (!(m = gs->rp_next))
		return;
	if (m->t) {
		tapir_tcp_set_event(m->t, NULL, NULL);
		tapir_tcp_close(m->t, gs->g->now);
	}
	m->t = gs->t;
	m->tlisten = gs->tlisten;
	tapir_tcp_set_event(m->t, tcp_event, m);
	m->rp_lead = NULL;
	m->rp_turn = NULL;
	for (struct gsock *o = m->rp_next; o; o = o->rp_next)
		o->rp_lead = m;
	gs->t = NULL;
	gs->rp_next = NULL;
	gate_sock_queue(m);
}

void gtcp_step(struct gsock *gs)
{
	enum tapir_tcp_state st;
	int err;
	if (gs->rp_lead) { /* a member: the lead's listener deals */
		if (gs->state == GS_LISTEN)
			gtcp_step(gs->rp_lead);
		return;
	}
	if (gs->tlisten) {
		rp_deal(gs);
		return;
	}
	if (gs->state != GS_CONNECTING)
		return;
	if (gs->tfo_defer) {
		tfo_feed(gs);
		return;
	}
	st = tapir_tcp_state(gs->t);
	if (st == TAPIR_TCP_SYN_SENT)
		return;
	if (st == TAPIR_TCP_CLOSED) {
		err = tapir_tcp_error(gs->t);
		connect_failed(gs, err < 0 ? -err : err ? err : ECONNREFUSED);
		return;
	}
	relay_begin(gs, gs->fill, true); /* the relay drops the filler first */
}

void gtcp_hup(struct gsock *gs)
{
	/* written, then closed before the gate fed tapir: the SYN still
	 * carries the bytes, as Linux's write had sent them; the close in
	 * SYN-SENT then ends it (RFC 9293 3.10.4) */
	if (gs->tfo_defer)
		tfo_feed(gs);
	epoll_ctl(gs->g->ep, EPOLL_CTL_DEL, gs->gfd, NULL);
	gtcp_free(gs);
}

void gtcp_free(struct gsock *gs)
{
	struct gate *g = gs->g;
	rp_leave(gs);
	if (gs->relay)
		relay_abort(gs->relay, g->now);
	else if (gs->t) {
		tapir_tcp_set_event(gs->t, NULL, NULL);
		tapir_tcp_close(gs->t, g->now);
	}
	gs->relay = NULL;
	gs->t = NULL;
	if (gs->state == GS_GONE) { /* off the list of ended ones */
		struct gsock **p = &g->gone_head, *prev = NULL;
		while (*p && *p != gs) {
			prev = *p;
			p = &(*p)->gnext;
		}
		if (*p) {
			*p = gs->gnext;
			if (g->gone_tail == gs)
				g->gone_tail = prev;
			g->ngone--;
		}
	}
	gate_sock_free(gs);
}

int gtcp_shutdown(struct gsock *gs, int how)
{
	(void)how; /* the caller shuts the app end down itself: SHUT_WR is EOF */
	return gs->state == GS_RELAY ? 0 : -ENOTCONN;
}

int gtcp_eof(struct gsock *gs)
{
	int err = gs->err;
	if (gs->state != GS_GONE && gs->state != GS_FAILED)
		return 0;
	gs->err = 0; /* once, as a kernel read fails once */
	return err ? -err : 0;
}
