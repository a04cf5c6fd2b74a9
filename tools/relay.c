/* Relays between kernel stream descriptors and tapir TCP connections on
 * the stack thread (relay.h).  Each relay is a small state machine moved
 * by events of both sides: the kernel's (epoll, level-triggered, so a
 * readiness that arrives while the relay was not listening is reported
 * as soon as it listens again: no lost wake-up) and tapir's (the core's
 * event function notes the relay on a ready list; relay_loop_run acts on
 * it).  From FD to tapir, data is read straight into tapir's send buffer
 * (k2t_direct); a buffer taken from the loop's cache holds what cannot go
 * yet (tapir's side full, TCP_CORK, a segment's tail), so an idle relay
 * holds none; while it holds data the relay reads no more from FD (EPOLLIN
 * off).  From tapir to FD there is no buffer of ours: FD takes the
 * bytes from tapir's receive buffer in place, and what FD has no room for
 * stays there, where tapir's window closes on it.  Backpressure both ways,
 * bounded memory. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "relay.h"
#include "readyq.h"

#define ROUNDS 4       /* buffers per direction per step, for fairness */
#define CACHE_MAX 16   /* free buffers kept (4 MiB) */
/* The send buffer of an AF_UNIX end (the gate end of a `tapir run`
 * socket): the program's reads find up to this much waiting, so a bulk
 * receiver wakes once per this many bytes rather than once per 208 KiB
 * (net.core.wmem_default).  Kernel TCP ends keep their autotuning. */
#define UNIX_SNDBUF (1 << 20) /* the kernel doubles it: 2 MiB */
#define EPOLL_BATCH 64
/* tcp(7): "there is a 200 millisecond ceiling on the time for which
 * output is corked by TCP_CORK" */
#define CORK_CEILING TAPIR_MS(200)

struct rbuf {
	uint8_t *p;
	uint32_t off, len;
};

struct relay {
	int tag;          /* first: the shared set's tag (relay_loop_new_shared) */
	struct relay_loop *loop;
	struct tapir_tcp *t;
	int fd;
	bool fd_tcp;      /* a kernel TCP socket: abortive close by SO_LINGER */
	bool cork;        /* TCP_CORK: only full segments to tapir */
	uint32_t mss;
	tapir_time_t cork_at; /* a corked remainder goes then (0: none held) */
	size_t discard;   /* filler bytes still to drop from FD */
	struct rbuf k2t;  /* read from FD, not yet taken by tapir */
	bool fd_eof;      /* FD read EOF: tapir's FIN is due */
	bool fd_hup;      /* FD's peer is gone altogether (POLLHUP) */
	bool fd_err;      /* POLLERR: FD holds an error */
	bool fd_in;       /* FD may have bytes: epoll said so, or it was not asked */
	bool fd_wr_shut;  /* shutdown(FD, SHUT_WR) done */
	bool t_eof;       /* tapir's peer sent FIN */
	bool t_wr_shut;   /* tapir_tcp_shutdown(WR) done */
	bool queued, dead, registered;
	uint32_t interest;
	relay_done_fn done;
	void *arg;
	struct relay *rnext;         /* the ready list */
	struct relay *aprev, *anext; /* every live relay */
};

struct relay_loop {
	int ep;
	bool shared;  /* EP is the caller's (relay_loop_new_shared) */
	int tag;
	struct relay *ready, **ready_tail;
	struct relay *all;
	size_t count;
	uint8_t *cache[CACHE_MAX];
	size_t ncache;
	tapir_time_t cork_next; /* the earliest cork_at of any relay */
	uint64_t moved;         /* bytes the relays moved, ever (both ways) */
};

enum pump { PUMP_OK, PUMP_MORE, PUMP_FD_ERR, PUMP_T_ERR, PUMP_BUFFERED };

/* ---- buffers ---- */

static bool buf_get(struct relay_loop *l, struct rbuf *b)
{
	if (b->p)
		return true;
	b->p = l->ncache ? l->cache[--l->ncache] : malloc(RELAY_BUF);
	b->off = b->len = 0;
	return b->p != NULL;
}

static void buf_put(struct relay_loop *l, struct rbuf *b)
{
	if (!b->p)
		return;
	if (l->ncache < CACHE_MAX)
		l->cache[l->ncache++] = b->p;
	else
		free(b->p);
	b->p = NULL;
	b->off = b->len = 0;
}

/* ---- the loop ---- */

static struct relay_loop *loop_new(int ep, bool shared, int tag)
{
	struct relay_loop *l;
	if (ep < 0 || !(l = calloc(1, sizeof(*l)))) {
		if (ep >= 0 && !shared)
			close(ep);
		return NULL;
	}
	l->ep = ep;
	l->shared = shared;
	l->tag = tag;
	READYQ_INIT(l);
	l->cork_next = TAPIR_TIME_NEVER;
	return l;
}

struct relay_loop *relay_loop_new(void)
{
	return loop_new(epoll_create1(EPOLL_CLOEXEC), false, 0);
}

struct relay_loop *relay_loop_new_shared(int ep, int tag)
{
	return loop_new(ep, true, tag);
}

int relay_loop_fd(const struct relay_loop *l)
{
	return l->ep;
}

size_t relay_loop_count(const struct relay_loop *l)
{
	return l->count;
}

uint64_t relay_loop_moved(const struct relay_loop *l)
{
	return l->moved;
}

static void queue(struct relay *r)
{
	struct relay_loop *l = r->loop;
	READYQ_PUSH(l, r);
}

/* tapir's event function: note, act in relay_loop_run (tcp.h) */
static void tcp_event(void *arg, unsigned events)
{
	(void)events; /* the step reads the connection's state itself */
	queue(arg);
}

/* Lets go of R: FD closed, the connection given back, R freed (or, when
 * on the ready list, marked to be freed as it is taken off). */
static void relay_release(struct relay *r)
{
	struct relay_loop *l = r->loop;
	close(r->fd);
	buf_put(l, &r->k2t);
	*(r->aprev ? &r->aprev->anext : &l->all) = r->anext;
	if (r->anext)
		r->anext->aprev = r->aprev;
	l->count--;
	r->dead = true;
	if (!r->queued)
		free(r);
}

/* The end of R: the connection closed (FIN, or the core's choice of RST:
 * SO_LINGER {1, 0}) or aborted, the descriptor closed, DONE told. */
static void relay_end(struct relay *r, int err, bool abort_t, tapir_time_t now)
{
	relay_done_fn done = r->done;
	void *arg = r->arg;
	tapir_tcp_set_event(r->t, NULL, NULL);
	if (abort_t)
		tapir_tcp_abort(r->t, now);
	else
		tapir_tcp_close(r->t, now); /* frees a reset connection too */
	relay_release(r);
	if (done)
		done(arg, err);
}

/* tapir's connection reset or timed out: the descriptor goes abortively,
 * so a kernel TCP peer sees an RST too. */
static void end_t_err(struct relay *r, int err, tapir_time_t now)
{
	if (r->fd_tcp) {
		struct linger lg = {1, 0};
		setsockopt(r->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	relay_end(r, err, false, now);
}

void relay_abort(struct relay *r, tapir_time_t now)
{
	r->done = NULL;
	relay_end(r, -ECONNABORTED, true, now);
}

void relay_loop_free(struct relay_loop *l, tapir_time_t now)
{
	if (!l)
		return;
	while (l->all)
		relay_abort(l->all, now);
	while (l->ready) { /* only dead ones are left */
		struct relay *r = l->ready;
		l->ready = r->rnext;
		free(r);
	}
	while (l->ncache)
		free(l->cache[--l->ncache]);
	if (!l->shared)
		close(l->ep);
	free(l);
}

struct tapir_tcp *relay_tcp(const struct relay *r)
{
	return r->t;
}

/* ---- moving bytes ---- */

/* N bytes of B went on to tapir */
static void buf_took(struct relay *r, struct rbuf *b, uint32_t n)
{
	b->off += n;
	b->len -= n;
	r->loop->moved += n;
}

/* tapir -> FD, without a copy of ours: the bytes go from tapir's receive
 * buffer (tapir_tcp_recv_peek) straight into FD, and only what FD took
 * leaves tapir (its window opens by that much).  Stops when FD is full
 * (EPOLLOUT will say when it drains) or tapir has nothing (its EV_READ
 * will say). */
static enum pump pump_t2k(struct relay *r, tapir_time_t now, int *err)
{
	for (int i = 0; i < ROUNDS; i++) {
		const uint8_t *p[2];
		size_t n[2];
		struct iovec iov[2];
		struct msghdr mh = {.msg_iov = iov};
		long m;
		if (r->t_eof || r->fd_wr_shut)
			return PUMP_OK;
		if (!tapir_tcp_recv_peek(r->t, p, n)) {
			m = tapir_tcp_recv(r->t, NULL, 1, now); /* why nothing */
			if (m == 0) {
				r->t_eof = true; /* tapir's peer sent FIN */
				return PUMP_OK;
			}
			if (m == -EAGAIN)
				return PUMP_OK;
			*err = (int)m;
			return PUMP_T_ERR;
		}
		/* RELAY_BUF a round, so that one relay cannot hold the loop */
		iov[0] = (struct iovec){(void *)p[0], n[0] < RELAY_BUF ? n[0] : RELAY_BUF};
		iov[1] = (struct iovec){(void *)p[1], n[1] < RELAY_BUF - iov[0].iov_len
							  ? n[1] : RELAY_BUF - iov[0].iov_len};
		mh.msg_iovlen = iov[1].iov_len ? 2 : 1;
		m = sendmsg(r->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (m < 0 && errno == EINTR)
			continue;
		if (m < 0 && errno == EAGAIN)
			return PUMP_OK;
		if (m < 0) {
			*err = -errno;
			return PUMP_FD_ERR;
		}
		tapir_tcp_recv(r->t, NULL, (size_t)m, now);
		r->loop->moved += (uint64_t)m;
		if ((size_t)m < iov[0].iov_len + iov[1].iov_len)
			return PUMP_OK; /* FD is full */
	}
	return PUMP_MORE;
}

/* Is R holding back a partial segment (TCP_CORK, within its ceiling)? */
static bool corked(const struct relay *r, tapir_time_t now)
{
	return r->cork && !r->fd_eof && !(r->cork_at && now >= r->cork_at);
}

/* The bytes K2T must hold before they go to tapir: under TCP_CORK only
 * full segments leave (until EOF, the cork comes out, or 200 ms passed). */
static uint32_t k2t_min(const struct relay *r, tapir_time_t now)
{
	return corked(r, now) ? r->mss : 1;
}

/* After a step: a remainder held under the cork leaves CORK_CEILING after
 * it was first held; the loop wakes for the earliest. */
static void cork_timer(struct relay *r, tapir_time_t now)
{
	if (!r->cork || !r->k2t.len || r->fd_eof) {
		r->cork_at = 0;
		return;
	}
	if (!r->cork_at) {
		r->cork_at = now + CORK_CEILING;
		if (r->cork_at < r->loop->cork_next)
			r->loop->cork_next = r->cork_at;
	}
}

/* Can a recv on FD find anything?  Not when the set listens for EPOLLIN
 * and reported none since FD was last drained (level-triggered: bytes or
 * EOF arriving later are reported on a later step). */
static bool may_read(const struct relay *r)
{
	return r->fd_in || !r->registered || !(r->interest & EPOLLIN);
}

/* LEN bytes between OUT and the spans P/N (one or two: a ring's), from
 * offset OFF in them; TO: into the spans */
static void spans_copy(uint8_t *p[2], const size_t n[2], size_t off, uint8_t *out, size_t len,
		       bool to)
{
	for (int k = 0; k < 2 && len; k++) {
		size_t c;
		if (off >= n[k]) {
			off -= n[k];
			continue;
		}
		c = n[k] - off < len ? n[k] - off : len;
		if (to)
			memcpy(p[k] + off, out, c);
		else
			memcpy(out, p[k] + off, c);
		out += c;
		len -= c;
		off = 0;
	}
}

/* FD -> tapir without a copy of ours: one recvmsg straight into tapir's
 * send buffer (tapir_tcp_send_space), behind room for the tail K2T holds
 * (under a segment, left by the last full read), which goes in front of
 * it.  A read that filled the room (more waits in FD) leaves the bytes
 * past its last whole segment in K2T again, as the buffered path does, so
 * bulk goes in whole segments.  PUMP_MORE: bytes went; PUMP_BUFFERED: the
 * buffered path must act (EOF, FD drained, too little room). */
static enum pump k2t_direct(struct relay *r, tapir_time_t now, bool *drained, int *err)
{
	struct rbuf *b = &r->k2t;
	uint8_t *p[2];
	size_t n[2], tail = b->len, total, whole;
	struct iovec iov[2];
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 1};
	long room = tapir_tcp_send_space(r->t, p, n, RELAY_BUF, now);
	ssize_t m;
	/* tapir full: the buffered path reads FD into the buffer, which turns
	 * EPOLLIN off until tapir takes it (else a level-triggered EPOLLIN on
	 * FD's waiting bytes would wake the loop again and again) */
	if (room == -EAGAIN)
		return PUMP_BUFFERED;
	if (room < 0) {
		*err = (int)room;
		return PUMP_T_ERR;
	}
	if ((size_t)room <= tail)
		return PUMP_BUFFERED;
	if (tail < n[0]) {
		iov[0] = (struct iovec){p[0] + tail, n[0] - tail};
		iov[1] = (struct iovec){p[1], n[1]};
		mh.msg_iovlen = n[1] ? 2 : 1;
	} else {
		iov[0] = (struct iovec){p[1] + (tail - n[0]), n[1] - (tail - n[0])};
	}
	m = recvmsg(r->fd, &mh, MSG_DONTWAIT);
	if (m <= 0) {
		if (m == 0)
			r->fd_eof = true;
		else if (errno != EAGAIN && errno != EINTR) {
			*err = -errno;
			return PUMP_FD_ERR;
		}
		*drained = true;
		r->fd_in = false;
		return PUMP_BUFFERED; /* the tail, if any, goes there */
	}
	*drained = (size_t)m < (size_t)room - tail;
	r->fd_in = !*drained;
	total = tail + (size_t)m;
	spans_copy(p, n, 0, b->p ? b->p + b->off : NULL, tail, true);
	whole = (*drained || !buf_get(r->loop, b)) ? total : total / r->mss * r->mss;
	b->off = 0;
	b->len = (uint32_t)(total - whole);
	spans_copy(p, n, whole, b->p, b->len, false); /* before the spans go */
	if (!b->len)
		buf_put(r->loop, b);
	tapir_tcp_send_commit(r->t, whole, now);
	r->loop->moved += (uint64_t)m;
	return PUMP_MORE;
}

/* May K2T go the direct way?  Not with TCP_CORK (its remainders and
 * ceiling are the buffered path's), not while filler is to be dropped, and
 * only with at most a tail held (under a segment). */
static bool k2t_direct_ok(const struct relay *r, bool drained)
{
	return !r->cork && !r->discard && r->mss && r->k2t.len < r->mss && !r->fd_eof &&
	       !drained && may_read(r);
}

/* FD -> tapir.  Stops when tapir's send buffer is full (EV_WRITE will say)
 * or FD has nothing (EPOLLIN will say). */
static enum pump pump_k2t(struct relay *r, tapir_time_t now, int *err)
{
	bool drained = false; /* a short read took all FD had */
	for (int i = 0; i < ROUNDS; i++) {
		struct rbuf *b = &r->k2t;
		long n;
		size_t room;
		if (k2t_direct_ok(r, drained)) {
			enum pump d = k2t_direct(r, now, &drained, err);
			if (d == PUMP_MORE)
				continue;
			if (d != PUMP_BUFFERED)
				return d;
		}
		/* what FD holds first, behind what waits: an uncork (or a
		 * send without MSG_MORE) finds the bytes that ended it in FD,
		 * and they leave in one segment with those held */
		bool topup = b->len && b->len < RELAY_BUF && !r->fd_eof && !drained && may_read(r);
		if (b->len >= k2t_min(r, now) && !topup) {
			size_t len = b->len;
			/* corked, or a read that filled the buffer (more waits in
			 * FD): whole segments now, the rest in front of what the
			 * next read brings -- not one short segment per read */
			if (corked(r, now) || (b->len == RELAY_BUF && r->mss))
				len = b->len / r->mss * r->mss;
			n = tapir_tcp_send(r->t, b->p + b->off, len, now);
			if (n == -EAGAIN)
				return PUMP_OK;
			if (n < 0) {
				*err = (int)n;
				return PUMP_T_ERR;
			}
			buf_took(r, b, (uint32_t)n);
			if (!b->len) {
				buf_put(r->loop, b);
				r->cork_at = 0; /* nothing held: a new ceiling next time */
			} else if ((size_t)n < len)
				return PUMP_OK; /* full */
			continue;
		}
		/* after a short read, no second recv only to hear EAGAIN: the
		 * set is level-triggered, so more data is reported anyway; nor a
		 * recv when epoll, listening for EPOLLIN, did not report FD (a
		 * step for tapir's bytes alone: one failed recv per request) */
		if (r->fd_eof || drained || !may_read(r))
			return PUMP_OK;
		if (!buf_get(r->loop, b))
			return PUMP_OK;
		if (b->off) { /* a corked remainder: to the front, more after it */
			memmove(b->p, b->p + b->off, b->len);
			b->off = 0;
		}
		room = RELAY_BUF - b->len;
		n = recv(r->fd, b->p + b->len, room, MSG_DONTWAIT);
		drained = n > 0 && (size_t)n < room;
		r->fd_in = !drained && n != -1; /* asked again only once epoll says so */
		if (n > 0 && r->discard) { /* the filler of an unconnected socket */
			size_t d = r->discard < (size_t)n ? r->discard : (size_t)n;
			r->discard -= d;
			n -= (long)d;
			memmove(b->p + b->len, b->p + b->len + d, (size_t)n);
			if (!n) { /* only filler this time */
				if (!b->len)
					buf_put(r->loop, b);
				continue;
			}
		}
		if (n > 0) {
			b->len += (uint32_t)n;
			continue;
		}
		if (!b->len)
			buf_put(r->loop, b);
		if (n == 0) {
			r->fd_eof = true;
			continue; /* a corked remainder goes now */
		}
		if ((errno == EAGAIN || errno == EINTR) && b->len) {
			drained = true; /* a top-up found nothing: what waits goes */
			continue;
		}
		if (errno == EAGAIN || errno == EINTR)
			return PUMP_OK;
		*err = -errno;
		return PUMP_FD_ERR;
	}
	return PUMP_MORE;
}

/* The connection's MSS (its segments' payload), for cutting whole
 * segments; once the handshake gave it. */
static void take_mss(struct relay *r)
{
	struct tapir_tcp_info ti;
	tapir_tcp_get_info(r->t, &ti);
	r->mss = ti.mss > 0 ? ti.mss : 536;
}

void relay_set_cork(struct relay *r, bool on)
{
	take_mss(r);
	r->cork = on;
	/* uncorked: what is held goes now, with what FD holds behind it (the
	 * bytes of the send that uncorked may not have been reported yet) */
	r->fd_in = true;
	queue(r);
}

/* The kernel events R listens for now.  Level-triggered: whatever is
 * ready when it starts listening again is reported at once. */
static void rearm(struct relay *r)
{
	uint32_t want = 0;
	bool reg;
	struct epoll_event ev;
	if (!r->fd_eof && (!r->k2t.len || (r->cork && r->k2t.len < r->mss)))
		want |= EPOLLIN;
	if (!r->fd_wr_shut && tapir_tcp_readable(r->t))
		want |= EPOLLOUT; /* tapir holds bytes FD had no room for */
	/* after EOF, listen for nothing but POLLHUP/POLLERR (the last close
	 * of an AF_UNIX peer); not while a buffer waits for tapir, where a
	 * standing POLLHUP would spin */
	reg = want || (r->fd_eof && !r->k2t.len);
	if (reg == r->registered && want == r->interest)
		return;
	ev.events = want;
	ev.data.ptr = r;
	if (!reg)
		epoll_ctl(r->loop->ep, EPOLL_CTL_DEL, r->fd, NULL);
	else if (epoll_ctl(r->loop->ep, r->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, r->fd,
			   &ev) < 0)
		return; /* only ENOMEM: the next step tries again */
	r->registered = reg;
	r->interest = want;
}

/* The half-closes, and the end once both ways are done.  True when R
 * ended. */
static bool settle(struct relay *r, tapir_time_t now)
{
	if (r->fd_eof && !r->k2t.len && r->fd_hup) {
		/* the descriptor's peer is gone (the program's last close):
		 * data it can never read means RST, as a kernel socket closed
		 * with unread data (RFC 2525 2.17) */
		bool unread = tapir_tcp_readable(r->t);
		relay_end(r, 0, unread, now);
		return true;
	}
	if (r->fd_eof && !r->k2t.len && !r->t_wr_shut) {
		tapir_tcp_shutdown(r->t, TAPIR_SHUT_WR, now); /* FIN */
		r->t_wr_shut = true;
	}
	if (r->t_eof && !r->fd_wr_shut) {
		shutdown(r->fd, SHUT_WR);
		r->fd_wr_shut = true;
	}
	if (r->t_wr_shut && r->fd_wr_shut) {
		relay_end(r, 0, false, now);
		return true;
	}
	return false;
}

/* Moves R as far as it goes; true when it wants another step at once. */
static bool relay_step(struct relay *r, tapir_time_t now)
{
	enum tapir_tcp_state st = tapir_tcp_state(r->t);
	enum pump a, b;
	int err = 0;
	if (st == TAPIR_TCP_SYN_SENT || st == TAPIR_TCP_SYN_RECEIVED)
		return false; /* EV_CONNECTED (or the error) comes */
	if (!r->mss)
		take_mss(r);
	if (st == TAPIR_TCP_CLOSED && !tapir_tcp_readable(r->t)) {
		err = tapir_tcp_error(r->t);
		if (!err && r->t_wr_shut) {
			/* an orderly end: both FINs went, and the record was
			 * dropped without an error (the last ACK came, or a RST
			 * in TIME-WAIT, RFC 9293 3.10.7.4): all tapir received
			 * is read, and what waits in T2K is still owed */
			r->t_eof = true;
		} else {
			/* RFC 9293 3.10.7.4: reset (or timed out) */
			end_t_err(r, err ? (err > 0 ? -err : err) : -ECONNRESET, now);
			return false;
		}
	}
	if (r->fd_err) {
		socklen_t len = sizeof(err);
		r->fd_err = false;
		if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err) {
			relay_end(r, -err, true, now);
			return false;
		}
	}
	a = pump_t2k(r, now, &err);
	if (a == PUMP_T_ERR) {
		end_t_err(r, err, now);
		return false;
	}
	b = a == PUMP_FD_ERR ? PUMP_FD_ERR : pump_k2t(r, now, &err);
	if (b == PUMP_T_ERR) {
		end_t_err(r, err, now);
		return false;
	}
	if (b == PUMP_FD_ERR) { /* RST to tapir's peer */
		relay_end(r, err, true, now);
		return false;
	}
	if (settle(r, now))
		return false;
	cork_timer(r, now);
	rearm(r);
	return a == PUMP_MORE || b == PUMP_MORE;
}

/* Steps the relays whose corked remainder is due; the next deadline. */
static void cork_due(struct relay_loop *l, tapir_time_t now)
{
	l->cork_next = TAPIR_TIME_NEVER;
	for (struct relay *r = l->all; r; r = r->anext) {
		if (!r->cork_at)
			continue;
		if (r->cork_at <= now)
			queue(r);
		else if (r->cork_at < l->cork_next)
			l->cork_next = r->cork_at;
	}
}

void relay_loop_event(struct relay_loop *l, void *ptr, uint32_t events)
{
	struct relay *r = ptr;
	(void)l;
	r->fd_in = true; /* EPOLLIN, or HUP/ERR: a recv tells which */
	if (events & EPOLLHUP)
		r->fd_hup = true;
	if (events & EPOLLERR)
		r->fd_err = true;
	queue(r);
}

tapir_time_t relay_loop_run(struct relay_loop *l, tapir_time_t now)
{
	return relay_loop_step(l, now, true);
}

tapir_time_t relay_loop_step(struct relay_loop *l, tapir_time_t now, bool kernel)
{
	struct epoll_event ev[EPOLL_BATCH];
	struct relay *list, *r;
	int n = 0;
	/* one batch a run: the set is level-triggered, so whatever stays ready
	 * comes back next time, the rest of it first (epoll turns its ready
	 * list).  Waiting for a batch short of full before stepping any spun
	 * forever once EPOLL_BATCH relays stayed readable until stepped. */
	if (kernel)
		n = epoll_wait(l->ep, ev, EPOLL_BATCH, 0);
	for (int i = 0; i < n; i++)
		relay_loop_event(l, ev[i].data.ptr, ev[i].events);
	if (now >= l->cork_next) /* corked remainders whose 200 ms are up */
		cork_due(l, now);
	READYQ_TAKE(l, list);
	while (READYQ_POP(list, r)) {
		if (r->dead)
			free(r);
		else if (relay_step(r, now))
			queue(r);
	}
	return l->ready || n == EPOLL_BATCH ? now : l->cork_next;
}

void relay_unix_sndbuf(int fd)
{
	int v = UNIX_SNDBUF;
	/* past net.core.wmem_max when privileged (the gate is root) */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

struct relay *relay_start(struct relay_loop *l, int fd, struct tapir_tcp *t, size_t discard,
			  relay_done_fn done, void *arg, tapir_time_t now)
{
	struct relay *r = calloc(1, sizeof(*r));
	int dom = 0;
	socklen_t len = sizeof(dom);
	if (!r) {
		close(fd);
		tapir_tcp_set_event(t, NULL, NULL);
		tapir_tcp_abort(t, now);
		return NULL;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) == 0)
		r->fd_tcp = dom == AF_INET || dom == AF_INET6;
	if (dom == AF_UNIX)
		relay_unix_sndbuf(fd);
	r->tag = l->tag;
	r->loop = l;
	r->fd = fd;
	r->t = t;
	r->discard = discard;
	r->fd_in = true;
	r->done = done;
	r->arg = arg;
	r->anext = l->all;
	if (l->all)
		l->all->aprev = r;
	l->all = r;
	l->count++;
	tapir_tcp_set_event(t, tcp_event, r);
	queue(r); /* the first step: data may be waiting either side */
	return r;
}
