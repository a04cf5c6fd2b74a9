/* TCP: the socket table, lookup, the ISN, ports, and the user calls of
 * RFC 9293 3.10.1-3.10.6 (OPEN, SEND, RECEIVE, CLOSE, ABORT, STATUS). */
#include <errno.h>
#include <stdlib.h>

#include "tcp_int.h"

static const char *const state_names[] = {
	"CLOSED",     "LISTEN",     "SYN_SENT",   "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1",
	"FIN_WAIT_2", "CLOSE_WAIT", "CLOSING",    "LAST_ACK",     "TIME_WAIT",
};

const char *tapir_tcp_state_name(enum tapir_tcp_state st)
{
	return (unsigned)st < sizeof(state_names) / sizeof(state_names[0]) ? state_names[st] : "?";
}

/* ---- the socket table (its memory: tcp_mem.c) ---- */

/* Frees the TIME-WAIT TCB closest to its end, one nobody holds, so that
 * a new connection gets its place when all TCBs are taken.  TIME-WAIT only
 * absorbs old duplicates (RFC 9293 3.6.1), which timestamps and the ISN
 * clock already guard against (RFC 6191, RFC 7323 5): a flood of short
 * connections must not lock new ones out for 2 MSL.  Returns false when
 * there is none. */
static bool tcp_time_wait_reclaim(struct tapir_stack *s)
{
	struct tapir_tcp *old = NULL;
	if (tcp_tw_reclaim(s)) { /* a record, the oldest: O(1) */
		STAT(s, tcp_time_wait_reclaimed);
		return true;
	}
	for (struct tapir_tcp *t = s->tcp->all; t; t = t->anext)
		if (t->state == TAPIR_TCP_TIME_WAIT && t->user_closed && !t->parent &&
		    (!old || t->t_2msl < old->t_2msl))
			old = t;
	if (!old)
		return false;
	STAT(s, tcp_time_wait_reclaimed);
	tcp_drop(old, 0);
	return true;
}

struct tapir_tcp *tcp_alloc(struct tapir_stack *s)
{
	/* cfg.tcp_sockets is a limit, not a pool: TCBs come as needed;
	 * TIME-WAIT records count, as the TCBs they stand for */
	if (s->tcp->tcbs.n + s->tcp->ntw >= s->cfg.tcp_sockets && !tcp_time_wait_reclaim(s))
		return NULL;
	return tcp_alloc_unbounded(s);
}

struct tapir_tcp *tcp_alloc_unbounded(struct tapir_stack *s)
{
	struct tp_tcp *tc = s->tcp;
	struct tapir_tcp *t = tcb_get(s);
	if (!t)
		return NULL;
	t->used = true;
	t->state = TAPIR_TCP_CLOSED;
	t->linger = -1;
	t->rcvbuf = s->cfg.tcp_rcvbuf;
	t->sndbuf = s->cfg.tcp_sndbuf;
	t->rcv_auto = s->cfg.tcp_rcvbuf_max > t->rcvbuf;
	t->snd_auto = s->cfg.tcp_sndbuf_max > t->sndbuf;
	/* RFC 1122 4.2.3.6: no less than two hours; the profile's figures */
	t->keepidle = s->cfg.profile.keepidle_s;
	t->keepintvl = s->cfg.profile.keepintvl_s;
	t->keepcnt = s->cfg.profile.keepcnt;
	t->keepinit_s = s->cfg.profile.keepinit_s;
	t->rto = s->cfg.tcp_rto_initial_us;
	t->cc_algo = s->cfg.tcp_congestion;
	t->t_rexmt = t->t_persist = t->t_delack = t->t_keep = t->t_2msl = t->t_rack = TAPIR_TIME_NEVER;
	t->una_since = t->persist_since = t->pmtu_raise_at = TAPIR_TIME_NEVER;
	t->anext = tc->all;
	if (tc->all)
		tc->all->aprev = t;
	tc->all = t;
	return t;
}

static bool queue_remove(struct tapir_tcp **head, struct tapir_tcp *t)
{
	for (; *head; head = &(*head)->qnext)
		if (*head == t) {
			*head = t->qnext;
			return true;
		}
	return false;
}

void tcp_free(struct tapir_tcp *t)
{
	struct tp_tcp *tc = t->s->tcp;
	struct tapir_tcp *p = t->parent;
	if (p) { /* an embryonic or unaccepted child: by membership, not by
		  * state, which the caller may already have set to CLOSED */
		if (queue_remove(&p->synq, t)) {
			p->syn_n--;
		} else if (queue_remove(&p->accq, t)) {
			p->acc_n--;
			p->accq_tail = NULL;
			for (struct tapir_tcp *q = p->accq; q; q = q->qnext)
				p->accq_tail = q;
		}
	}
	if (t->in_listen)
		queue_remove(&tc->listeners, t);
	tcp_tw_forget(t);
	tcp_tfo_forget(t);
	tcp_hash_remove(t);
	tp_timer_del(&tc->wheel, &t->tmr); /* also off the due list of a running poll */
	tcp_ring_put(t, &t->snd);
	tcp_ring_put(t, &t->rcv);
	if (t->aprev)
		t->aprev->anext = t->anext;
	else
		tc->all = t->anext;
	if (t->anext)
		t->anext->aprev = t->aprev;
	tcb_put(t);
}

/* At open, the rings get their size, which the window follows (RFC 9293
 * 3.8.6.2); their memory comes, and grows, with the data (tcp_ring_get).  A
 * connection opens only while its rings would fit under tcp_mem_max. */
int tcp_buffers(struct tapir_tcp *t)
{
	if (t->snd.cap)
		return 0;
	if (t->s->tcp->mem + t->sndbuf + t->rcvbuf > t->s->cfg.tcp_mem_max)
		return -ENOBUFS;
	t->snd.cap = t->sndbuf;
	t->rcv.cap = t->rcvbuf;
	return 0;
}

/* A size set on an open connection (socket(7) allows it) applies to what
 * is queued next: a send ring holding more than its new size takes no more
 * until it drains below it (tapir_tcp_writable).  The receive ring keeps
 * room for what it holds and for all of the window announced: the right
 * edge never moves back (RFC 9293 3.8.6), so a smaller buffer takes effect
 * as the application reads (tapir_tcp_recv calls this again). */
static void tcp_buffers_resize(struct tapir_tcp *t, bool rcv)
{
	uint32_t floor;
	if (!rcv) {
		t->snd.cap = t->sndbuf;
		return;
	}
	floor = t->rcv.len;
	if (SEQ_GT(t->rcv_adv, t->rcv_nxt))
		floor += t->rcv_adv - t->rcv_nxt;
	t->rcv.cap = t->rcvbuf > floor ? t->rcvbuf : floor;
}

static void tcp_buffers_release(struct tapir_tcp *t)
{
	tcp_ring_put(t, &t->snd);
	tcp_ring_put(t, &t->rcv);
}

/* ---- sets of sequence ranges (out-of-order data, the SACK scoreboard) ---- */

bool tp_range_add(struct tp_range *r, unsigned *n, unsigned max, uint32_t start, uint32_t end)
{
	unsigned i, j;
	for (i = 0; i < *n && SEQ_LT(r[i].end, start); i++)
		;
	if (i < *n && SEQ_LEQ(r[i].start, end)) {
		/* overlaps or touches range i: grow it, then swallow followers */
		if (SEQ_LT(start, r[i].start))
			r[i].start = start;
		if (SEQ_GT(end, r[i].end))
			r[i].end = end;
		for (j = i + 1; j < *n && SEQ_LEQ(r[j].start, r[i].end); j++)
			if (SEQ_GT(r[j].end, r[i].end))
				r[i].end = r[j].end;
		memmove(&r[i + 1], &r[j], (*n - j) * sizeof(r[0]));
		*n -= j - i - 1;
		return true;
	}
	if (*n == max)
		return false;
	memmove(&r[i + 1], &r[i], (*n - i) * sizeof(r[0]));
	r[i].start = start;
	r[i].end = end;
	(*n)++;
	return true;
}

/* ---- rings ---- */

/* A ring with no memory (size 0) holds nothing: only N = 0 reaches it. */
void ring_write_at(struct tp_ring *r, uint32_t off, const uint8_t *data, uint32_t n)
{
	uint32_t pos, first;
	if (!n)
		return;
	pos = (r->head + off) % r->size;
	first = r->size - pos < n ? r->size - pos : n;
	memcpy(r->buf + pos, data, first);
	memcpy(r->buf, data + first, n - first);
}

void ring_read_at(const struct tp_ring *r, uint32_t off, uint8_t *out, uint32_t n)
{
	uint32_t pos, first;
	if (!n)
		return;
	pos = (r->head + off) % r->size;
	first = r->size - pos < n ? r->size - pos : n;
	memcpy(out, r->buf + pos, first);
	memcpy(out + first, r->buf, n - first);
}

/* N bytes at offset OFF of R, in place: one span, or two when they wrap
 * past the ring's end (P[1] NULL and N[1] 0 when not) */
static void ring_spans(const struct tp_ring *r, uint32_t off, uint32_t len, uint8_t *p[2],
		       size_t n[2])
{
	uint32_t pos = len ? (r->head + off) % r->size : 0;
	n[0] = r->size - pos < len ? r->size - pos : len;
	n[1] = len - n[0];
	p[0] = len ? r->buf + pos : NULL;
	p[1] = n[1] ? r->buf : NULL;
}

void ring_consume(struct tp_ring *r, uint32_t n)
{
	if (!n)
		return;
	r->head = (r->head + n) % r->size;
	r->len -= n;
}

/* ---- the ISN, RFC 6528: ISN = M + F(localip, localport, remoteip,
 * remoteport, secretkey), M a 4-microsecond clock ---- */
uint32_t tcp_isn(struct tapir_stack *s, const struct tapir_ip *laddr, uint16_t lport,
		 const struct tapir_ip *raddr, uint16_t rport)
{
	uint8_t b[TCP_TUPLE_MAX];
	size_t n = tcp_tuple_bytes(b, laddr, lport, raddr, rport);
	return (uint32_t)(s->now / 4) + (uint32_t)tp_siphash(s->tcp->secret, b, n);
}

/* ---- state, events, endings ---- */

void tcp_set_state(struct tapir_tcp *t, enum tapir_tcp_state st)
{
	if (TRACE_ON(t->s, TAPIR_TR_TCP)) {
		char a[TAPIR_IP_PORT_STRLEN], b[TAPIR_IP_PORT_STRLEN];
		tp_trace(t->s, TAPIR_TR_TCP, "%s %s %s -> %s", tapir_ip_port_str(&t->laddr, t->lport, a),
			 tapir_ip_port_str(&t->raddr, t->rport, b), state_names[t->state],
			 state_names[st]);
	}
	t->state = st;
	if (st != TAPIR_TCP_SYN_RECEIVED) /* no longer a pending Fast Open (RFC 7413 4.2) */
		tcp_tfo_release(t);
}

void tcp_notify(struct tapir_tcp *t, unsigned ev)
{
	if (t->event)
		t->event(t->event_arg, ev);
}

void tcp_drop(struct tapir_tcp *t, int err)
{
	tcp_set_state(t, TAPIR_TCP_CLOSED);
	tcp_hash_remove(t);
	t->t_rexmt = t->t_persist = t->t_delack = t->t_keep = t->t_2msl = t->t_rack = TAPIR_TIME_NEVER;
	if (err) {
		t->hard_error = err;
		t->error = err;
	}
	if (t->user_closed || t->parent) {
		tcp_free(t);
		return;
	}
	tcp_notify(t, TAPIR_EV_ERROR | TAPIR_EV_HUP | TAPIR_EV_READ | TAPIR_EV_WRITE);
}

void tcp_enter_time_wait(struct tapir_tcp *t)
{
	tcp_set_state(t, TAPIR_TCP_TIME_WAIT);
	t->t_rexmt = t->t_persist = t->t_keep = t->t_rack = TAPIR_TIME_NEVER;
	tcp_timer_set(t, &t->t_2msl, t->s->now + 2 * t->s->cfg.tcp_msl_us);
	/* nothing more will be read or sent: keep only the TCB, and once
	 * this segment is done only a record (tcp_tw.c) */
	if (t->user_closed)
		tcp_buffers_release(t);
	tcp_tw_candidate(t);
	tcp_notify(t, TAPIR_EV_READ | TAPIR_EV_HUP);
}

void tcp_child_established(struct tapir_tcp *t)
{
	struct tapir_tcp *p = t->parent;
	queue_remove(&p->synq, t);
	p->syn_n--;
	TP_FIFO_PUSH(p->accq, p->accq_tail, t, qnext);
	p->acc_n++;
	tcp_notify(p, TAPIR_EV_ACCEPT);
}

uint16_t tcp_effective_mss(struct tapir_tcp *t)
{
	unsigned mss = tcp_path_mss(t->s, &t->raddr);
	if (t->peer_mss && t->peer_mss < mss)
		mss = t->peer_mss;
	if (t->user_mss && t->user_mss < mss)
		mss = t->user_mss;
	/* RFC 6691: the MSS counts data only, so options come off it */
	if (t->ts_ok)
		mss -= 12;
	return (uint16_t)mss;
}

/* The shift we offer (RFC 7323 2.3): the smallest that lets the window
 * field cover the whole receive buffer, as far as autotuning may grow it
 * (the shift is agreed once, on the SYNs). */
static uint8_t tcp_pick_wscale(const struct tapir_tcp *t)
{
	uint8_t s = 0;
	/* the profile's wscale_bufmax: the largest buffer allowed, not this
	 * one's ceiling (FreeBSD: kern.ipc.maxsockbuf) */
	uint32_t buf = t->s->cfg.profile.wscale_bufmax ? t->s->cfg.profile.wscale_bufmax
						       : tcp_rcvbuf_ceiling(t);
	while (s < TCP_MAX_WSCALE && (buf >> s) > 65535)
		s++;
	return s;
}

/* Before our SYN (or SYN,ACK): our shift and our timestamp clock's offset
 * (RFC 7323 5.4: per connection, from a keyed hash as for the ISN). */
void tcp_options_prepare(struct tapir_tcp *t)
{
	t->rcv_wscale = tcp_pick_wscale(t);
	t->ts_offset = tcp_isn(t->s, &t->raddr, t->rport, &t->laddr, t->lport) ^ 0x5a5a5a5au;
}

void tcp_options_agreed(struct tapir_tcp *t)
{
	if (!t->ws_ok)
		t->rcv_wscale = t->snd_wscale = 0;
	t->mss = tcp_effective_mss(t);
}

/* ---- the user calls ---- */

struct tapir_tcp *tapir_tcp_new(struct tapir_stack *s) { return tcp_alloc(s); }

void tapir_tcp_set_event(struct tapir_tcp *t, tapir_event_fn fn, void *arg)
{
	t->event = fn;
	t->event_arg = arg;
}

void *tapir_tcp_event_arg(const struct tapir_tcp *t) { return t->event_arg; }

/* How many of LEN bytes the send buffer takes now, its ring grown to hold
 * them; or what tapir_tcp_send says instead (-EAGAIN: full, -EPIPE, ...).
 * SPACE: for tapir_tcp_send_space, which only looks (a deferred Fast Open
 * SYN waits for tapir_tcp_send's own data). */
static long tcp_send_room(struct tapir_tcp *t, size_t len, bool space)
{
	uint32_t room, n;
	if (t->hard_error)
		return -t->hard_error;
	if (t->shut_wr || t->fin_queued)
		return -EPIPE;
	switch (t->state) {
	case TAPIR_TCP_SYN_SENT:
		if (t->tfo_defer && !space) { /* RFC 7413 4.2: the SYN goes with this data */
			t->tfo_defer = false;
			break;
		}
		return -EAGAIN;
	case TAPIR_TCP_SYN_RECEIVED:
		return -EAGAIN; /* as Linux: wait for the handshake */
	case TAPIR_TCP_ESTABLISHED:
	case TAPIR_TCP_CLOSE_WAIT:
		break;
	case TAPIR_TCP_CLOSED:
	case TAPIR_TCP_LISTEN:
		return -ENOTCONN;
	default:
		return -EPIPE;
	}
	room = (uint32_t)tapir_tcp_writable(t); /* (TCP_NOTSENT_LOWAT's limit too) */
	n = len < room ? (uint32_t)len : room;
	if (!n)
		return len ? -EAGAIN : 0;
	if (tcp_ring_get(t, &t->snd, t->snd.len + n) < 0)
		return -ENOBUFS;
	return n;
}

long tapir_tcp_send(struct tapir_tcp *t, const void *data, size_t len, tapir_time_t now)
{
	long n;
	t->s->now = now;
	if ((n = tcp_send_room(t, len, false)) <= 0)
		return n;
	ring_write_at(&t->snd, t->snd.len, data, (uint32_t)n);
	t->snd.len += (uint32_t)n;
	tcp_output(t);
	return n;
}

long tapir_tcp_send_space(struct tapir_tcp *t, uint8_t *p[2], size_t n[2], size_t len,
			  tapir_time_t now)
{
	long room;
	t->s->now = now;
	room = tcp_send_room(t, len, true);
	ring_spans(&t->snd, t->snd.len, room > 0 ? (uint32_t)room : 0, p, n);
	return room;
}

long tapir_tcp_send_commit(struct tapir_tcp *t, size_t k, tapir_time_t now)
{
	t->s->now = now;
	if (!k)
		return 0;
	t->snd.len += (uint32_t)k;
	tcp_output(t);
	return (long)k;
}

size_t tapir_tcp_syn_room(struct tapir_tcp *t) { return t->tfo_defer ? tcp_tfo_syn_room(t) : 0; }

size_t tapir_tcp_readable(const struct tapir_tcp *t) { return t->rcv.len; }

/* TCP_NOTSENT_LOWAT: what may still be written is the room in the buffer,
 * and with a low-water mark what keeps the bytes not yet sent below it */
size_t tapir_tcp_writable(const struct tapir_tcp *t)
{
	/* (LEN may exceed CAP after a smaller SO_SNDBUF: tcp_buffers_resize) */
	uint32_t room = t->snd.cap > t->snd.len ? t->snd.cap - t->snd.len : 0, sent = t->snd_nxt - t->snd_una, unsent;
	if (!t->notsent_lowat)
		return room;
	if (t->state < TAPIR_TCP_ESTABLISHED)
		sent = 0; /* (the SYN is not in the buffer) */
	unsent = t->snd.len > sent ? t->snd.len - sent : 0;
	if (unsent >= t->notsent_lowat)
		return 0;
	return room < t->notsent_lowat - unsent ? room : t->notsent_lowat - unsent;
}

size_t tapir_tcp_recv_peek(const struct tapir_tcp *t, const uint8_t *p[2], size_t n[2])
{
	ring_spans(&t->rcv, 0, t->shut_rd ? 0 : t->rcv.len, (uint8_t **)p, n);
	return n[0] + n[1];
}

long tapir_tcp_recv(struct tapir_tcp *t, void *buf, size_t len, tapir_time_t now)
{
	uint32_t n;
	t->s->now = now;
	if (t->rcv.len && !t->shut_rd) {
		n = len < t->rcv.len ? (uint32_t)len : t->rcv.len;
		if (buf) /* (NULL: consumed uncopied, as a discard wants) */
			ring_read_at(&t->rcv, 0, buf, n);
		ring_consume(&t->rcv, n);
		tcp_rcv_space_adjust(t, n);
		if (t->rcv.cap > t->rcvbuf) /* a smaller SO_RCVBUF set since */
			tcp_buffers_resize(t, true);
		/* all read and nothing held beyond a hole: the memory goes
		 * (but a tuned ring's: tcp_rcv_ring_keep) */
		if (!t->rcv.len && !t->nooo && !tcp_rcv_ring_keep(t))
			tcp_ring_put(t, &t->rcv);
		/* RFC 9293 3.8.6.2.2: tell the peer once the window has opened by
		 * a full segment or half the buffer, not byte by byte */
		if (t->state >= TAPIR_TCP_ESTABLISHED && !t->rcv_fin) {
			uint32_t adv = t->rcv_adv - t->rcv_nxt;
			uint32_t thresh = t->rcv.cap / 2 < t->mss ? t->rcv.cap / 2 : t->mss;
			if (tcp_rcv_window(t) >= adv + thresh) {
				tcp_ack_lazily(t);
				tcp_output(t);
			}
		}
		return n;
	}
	if (t->rcv_fin || t->shut_rd)
		return 0;
	if (t->hard_error)
		return -t->hard_error;
	if (t->state == TAPIR_TCP_CLOSED || t->state == TAPIR_TCP_LISTEN)
		return -ENOTCONN;
	return len ? -EAGAIN : 0;
}

/* RFC 9293 3.10.4 CLOSE, for the sending half */
static void tcp_queue_fin(struct tapir_tcp *t)
{
	if (t->fin_queued)
		return;
	if (t->state == TAPIR_TCP_ESTABLISHED || t->state == TAPIR_TCP_SYN_RECEIVED)
		tcp_set_state(t, TAPIR_TCP_FIN_WAIT_1);
	else if (t->state == TAPIR_TCP_CLOSE_WAIT)
		tcp_set_state(t, TAPIR_TCP_LAST_ACK);
	else
		return;
	t->fin_queued = true;
	tcp_output(t);
}

int tapir_tcp_shutdown(struct tapir_tcp *t, int how, tapir_time_t now)
{
	t->s->now = now;
	if (how < TAPIR_SHUT_RD || how > TAPIR_SHUT_RDWR)
		return -EINVAL;
	if (t->state == TAPIR_TCP_CLOSED || t->state == TAPIR_TCP_LISTEN ||
	    t->state == TAPIR_TCP_SYN_SENT)
		return -ENOTCONN;
	if (how != TAPIR_SHUT_WR) {
		t->shut_rd = true;
		tcp_notify(t, TAPIR_EV_READ);
	}
	if (how != TAPIR_SHUT_RD) {
		t->shut_wr = true;
		tcp_queue_fin(t);
	}
	return 0;
}

void tcp_send_rst(struct tapir_tcp *t)
{
	/* RFC 9293 3.10.5: <SEQ=SND.NXT><CTL=RST> */
	tcp_respond(t->s, t, &t->laddr, t->lport, &t->raddr, t->rport, t->snd_nxt, 0, TAPIR_TH_RST);
	STAT(t->s, tcp_rst_sent);
}

void tapir_tcp_abort(struct tapir_tcp *t, tapir_time_t now)
{
	t->s->now = now;
	t->user_closed = true;
	switch (t->state) {
	case TAPIR_TCP_LISTEN:
		while (t->synq)
			tapir_tcp_abort(t->synq, now);
		while (t->accq)
			tapir_tcp_abort(t->accq, now);
		break;
	case TAPIR_TCP_SYN_RECEIVED:
	case TAPIR_TCP_ESTABLISHED:
	case TAPIR_TCP_FIN_WAIT_1:
	case TAPIR_TCP_FIN_WAIT_2:
	case TAPIR_TCP_CLOSE_WAIT:
		tcp_send_rst(t);
		break;
	default:
		break;
	}
	tcp_set_state(t, TAPIR_TCP_CLOSED);
	tcp_free(t);
}

void tapir_tcp_close(struct tapir_tcp *t, tapir_time_t now)
{
	t->s->now = now;
	t->event = NULL;
	t->event_arg = NULL;
	/* RFC 1122 4.2.2.13: closing with unread data resets the connection,
	 * so the peer knows it was lost; SO_LINGER {1, 0} asks for the same */
	if (t->state == TAPIR_TCP_LISTEN || t->linger == 0 ||
	    (t->rcv.len && t->state >= TAPIR_TCP_ESTABLISHED)) {
		tapir_tcp_abort(t, now);
		return;
	}
	t->user_closed = true;
	switch (t->state) {
	case TAPIR_TCP_CLOSED:
	case TAPIR_TCP_SYN_SENT:
		tcp_set_state(t, TAPIR_TCP_CLOSED);
		tcp_free(t);
		return;
	case TAPIR_TCP_FIN_WAIT_2:
		tcp_timer_set(t, &t->t_2msl, now + t->s->cfg.tcp_fin_timeout_us);
		return;
	case TAPIR_TCP_TIME_WAIT:
		tcp_buffers_release(t);
		return;
	default:
		t->shut_wr = true;
		tcp_queue_fin(t);
	}
}

int tapir_tcp_error(struct tapir_tcp *t)
{
	int e = t->error;
	t->error = 0;
	return e;
}

unsigned tapir_tcp_events(const struct tapir_tcp *t)
{
	unsigned ev = 0;
	if (t->state == TAPIR_TCP_LISTEN)
		return t->accq ? TAPIR_EV_ACCEPT : 0;
	if (t->rcv.len || t->rcv_fin || t->shut_rd || t->hard_error)
		ev |= TAPIR_EV_READ;
	if (((t->state == TAPIR_TCP_ESTABLISHED || t->state == TAPIR_TCP_CLOSE_WAIT || t->tfo_defer) &&
	     tapir_tcp_writable(t) && !t->shut_wr) ||
	    t->hard_error)
		ev |= TAPIR_EV_WRITE;
	if (t->error)
		ev |= TAPIR_EV_ERROR;
	if (t->rx_reserved & TAPIR_TH_RES_DTH) /* RFC 9401: the peer marked it */
		ev |= TAPIR_EV_DTH;
	if (t->hard_error || (t->rcv_fin && t->shut_wr) || t->state == TAPIR_TCP_TIME_WAIT)
		ev |= TAPIR_EV_HUP;
	return ev;
}

enum tapir_tcp_state tapir_tcp_state(const struct tapir_tcp *t) { return t->state; }

/* The options of RFC 7413 and the socket API's newer ones */
static int tcp_setopt_more(struct tapir_tcp *t, enum tapir_tcp_opt opt, int v)
{
	switch (opt) {
	case TAPIR_TCP_FASTOPEN: /* Linux's qlen; RFC 7413 4.2 bounds pending ones */
		if (v < 0)
			return -EINVAL;
		/* (kept even when the profile's fastopen has the server off,
		 * as Linux does: the SYNs see that) */
		t->tfo_qlen = (unsigned)v;
		return 0;
	case TAPIR_TCP_FASTOPEN_CONNECT:
		if (t->state != TAPIR_TCP_CLOSED)
			return -EISCONN;
		t->tfo_client = v != 0;
		return 0;
	case TAPIR_TCP_NOTSENT_LOWAT:
		/* unsigned, as Linux's: 0xffffffff (-1) is "no limit" and
		 * reads back as set */
		t->notsent_lowat = (uint32_t)v;
		return 0;
	case TAPIR_TCP_NOOPT:
	case TAPIR_TCP_KEEPINIT:
		/* FreeBSD's: the freebsd profile has them (it sets keepinit) */
		if (!t->s->cfg.profile.keepinit_s)
			return -ENOPROTOOPT;
		if (v < 0)
			return -EINVAL;
		if (opt == TAPIR_TCP_NOOPT)
			t->noopt = v != 0;
		else
			t->keepinit_s = (unsigned)v;
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

int tapir_tcp_setopt(struct tapir_tcp *t, enum tapir_tcp_opt opt, int v)
{
	switch (opt) {
	case TAPIR_TCP_NODELAY:
		t->nodelay = v != 0;
		if (t->nodelay && t->state >= TAPIR_TCP_ESTABLISHED)
			tcp_output(t);
		return 0;
	case TAPIR_TCP_KEEPALIVE:
		t->keepalive = v != 0;
		tcp_keep_arm(t);
		return 0;
	case TAPIR_TCP_KEEPIDLE:
	case TAPIR_TCP_KEEPINTVL:
		if (v < 1 || v > 32767)
			return -EINVAL;
		*(opt == TAPIR_TCP_KEEPIDLE ? &t->keepidle : &t->keepintvl) = v;
		tcp_keep_arm(t);
		return 0;
	case TAPIR_TCP_KEEPCNT:
		if (v < 1 || v > 127)
			return -EINVAL;
		t->keepcnt = v;
		return 0;
	case TAPIR_TCP_LINGER:
		t->linger = v < 0 ? -1 : v;
		return 0;
	case TAPIR_TCP_RCVBUF:
	case TAPIR_TCP_SNDBUF:
		if (v < 1024 || v > (1 << 30))
			return -EINVAL;
		*(opt == TAPIR_TCP_RCVBUF ? &t->rcvbuf : &t->sndbuf) = (uint32_t)v;
		if (opt == TAPIR_TCP_RCVBUF) /* as Linux: a size chosen is kept */
			t->rcv_auto = false;
		else
			t->snd_auto = false;
		if (t->snd.cap) /* open already: the rings follow */
			tcp_buffers_resize(t, opt == TAPIR_TCP_RCVBUF);
		return 0;
	case TAPIR_TCP_MAXSEG:
		if (v < 88 || v > 65495)
			return -EINVAL;
		t->user_mss = (uint16_t)v;
		return 0;
	case TAPIR_TCP_USER_TIMEOUT:
		if (v < 0)
			return -EINVAL;
		t->user_timeout_ms = (unsigned)v;
		return 0;
	case TAPIR_TCP_REUSEADDR:
		t->reuseaddr = v != 0;
		return 0;
	case TAPIR_TCP_V6ONLY:
		if (t->bound) /* RFC 3493 5.3: before bind, as Linux has it */
			return -EINVAL;
		t->v6only = v != 0;
		return 0;
	case TAPIR_TCP_CONGESTION:
		if (v != TAPIR_CC_NEWRENO && v != TAPIR_CC_CUBIC)
			return -ENOENT; /* as Linux for an unknown name */
		t->cc_algo = (uint8_t)v;
		return 0;
	default:
		return tcp_setopt_more(t, opt, v);
	}
}

int tapir_tcp_getopt(const struct tapir_tcp *t, enum tapir_tcp_opt opt, int *v)
{
	switch (opt) {
	case TAPIR_TCP_NODELAY: *v = t->nodelay; return 0;
	case TAPIR_TCP_KEEPALIVE: *v = t->keepalive; return 0;
	case TAPIR_TCP_KEEPIDLE: *v = t->keepidle; return 0;
	case TAPIR_TCP_KEEPINTVL: *v = t->keepintvl; return 0;
	case TAPIR_TCP_KEEPCNT: *v = t->keepcnt; return 0;
	case TAPIR_TCP_LINGER: *v = t->linger; return 0;
	case TAPIR_TCP_RCVBUF: *v = (int)t->rcvbuf; return 0;
	case TAPIR_TCP_SNDBUF: *v = (int)t->sndbuf; return 0;
	case TAPIR_TCP_MAXSEG: *v = t->mss ? t->mss : TCP_DEFAULT_MSS; return 0;
	case TAPIR_TCP_USER_TIMEOUT: *v = (int)t->user_timeout_ms; return 0;
	case TAPIR_TCP_REUSEADDR: *v = t->reuseaddr; return 0;
	case TAPIR_TCP_V6ONLY: *v = t->v6only; return 0;
	case TAPIR_TCP_CONGESTION: *v = t->cc_algo; return 0;
	case TAPIR_TCP_FASTOPEN: *v = (int)t->tfo_qlen; return 0;
	case TAPIR_TCP_FASTOPEN_CONNECT: *v = t->tfo_client; return 0;
	case TAPIR_TCP_NOTSENT_LOWAT: *v = (int)t->notsent_lowat; return 0;
	case TAPIR_TCP_NOOPT:
	case TAPIR_TCP_KEEPINIT:
		if (!t->s->cfg.profile.keepinit_s)
			return -ENOPROTOOPT;
		*v = opt == TAPIR_TCP_NOOPT ? t->noopt : (int)t->keepinit_s;
		return 0;
	}
	return -ENOPROTOOPT;
}

int tapir_tcp_set_ipopt(struct tapir_tcp *t, enum tapir_ip_opt opt, int v)
{
	return tp_ipopt_set(&t->ipo, opt, v);
}

int tapir_tcp_get_ipopt(const struct tapir_tcp *t, enum tapir_ip_opt opt)
{
	return tp_ipopt_get(&t->ipo, t->s->cfg.ttl, opt);
}

void tapir_tcp_get_info(const struct tapir_tcp *t, struct tapir_tcp_info *i)
{
	memset(i, 0, sizeof(*i));
	i->state = (enum tapir_tcp_state)t->state;
	i->laddr = tapir_ip_is_v4(&t->laddr) ? tapir_ip_v4(&t->laddr) : 0;
	i->raddr = tapir_ip_is_v4(&t->raddr) ? tapir_ip_v4(&t->raddr) : 0;
	i->laddr_ip = t->laddr;
	i->raddr_ip = t->raddr;
	i->lport = t->lport;
	i->rport = t->rport;
	i->snd_una = t->snd_una;
	i->snd_nxt = t->snd_nxt;
	i->snd_wnd = t->snd_wnd;
	i->rcv_nxt = t->rcv_nxt;
	i->rcv_wnd = t->rcv_adv - t->rcv_nxt;
	i->iss = t->iss;
	i->irs = t->irs;
	i->mss = t->mss;
	i->cwnd = t->cwnd;
	i->ssthresh = t->ssthresh;
	i->srtt_us = t->srtt;
	i->rttvar_us = t->rttvar;
	i->rto_us = t->rto;
	i->retransmits = t->backoff;
	i->rcv_queued = t->rcv.len;
	i->snd_queued = t->snd.len;
	i->backlog = (unsigned)t->backlog;
	i->syn_queued = t->syn_n;
	i->accept_queued = t->acc_n;
	i->wscale_ok = t->ws_ok;
	i->ts_ok = t->ts_ok;
	i->sack_ok = t->sack_ok;
	i->snd_wscale = t->snd_wscale;
	i->rcv_wscale = t->rcv_wscale;
	i->sacked_ranges = t->nsacked;
}

void tapir_tcp_foreach(struct tapir_stack *s, void (*fn)(void *arg, const struct tapir_tcp *t),
		       void *arg)
{
	for (struct tapir_tcp *t = s->tcp->all; t; t = t->anext)
		fn(arg, t);
	tcp_tw_foreach(s, fn, arg);
}

/* ---- for hooks (hook.h) ---- */

void tapir_tcp_set_handler(struct tapir_tcp *t, tapir_tcp_handler_fn fn, void *arg)
{
	t->handler = fn;
	t->handler_arg = arg;
}

void tapir_tcp_force_state(struct tapir_tcp *t, enum tapir_tcp_state st, tapir_time_t now)
{
	t->s->now = now;
	if (st == TAPIR_TCP_CLOSED) {
		tcp_drop(t, ECONNABORTED);
		return;
	}
	tcp_set_state(t, st);
	tcp_notify(t, TAPIR_EV_READ | TAPIR_EV_WRITE);
}

void tapir_tcp_set_tx_reserved(struct tapir_tcp *t, uint8_t bits) { t->tx_reserved = bits & 0x0f; }
uint8_t tapir_tcp_rx_reserved(const struct tapir_tcp *t) { return t->rx_reserved; }
