/* The built-in services of `tapir host --serve`: the classic small servers
 * of RFC 862 (echo), 863 (discard), 867 (daytime) and 864 (chargen), over
 * TCP and UDP, and a static HTTP server (http.c).
 *
 * One event loop serves them all, on the stack thread itself
 * (tapir_net_set_service): they are written against the core's own
 * event-driven API (tapir/tcp.h, tapir/udp.h), so a connection costs a
 * small struct conn, no thread and no socket descriptor.  The core's event
 * functions only note what became ready (they run inside the stack and
 * must not call back into it); after each turn of the stack thread -- a
 * batch of frames, the timers -- services_turn accepts what the listeners
 * hold, answers the datagrams, and moves every connection that had an
 * event as far as it can go: many connections per wake-up.  Data leaves as
 * the send buffer drains (EV_WRITE), never more than it takes. */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <tapir/tcp.h>
#include <tapir/udp.h>

#include "personalities/personality.h" /* tapir_services_accept_delay_ms */
#include "host.h"
#include "../readyq.h"

enum kind { ECHO, DISCARD, DAYTIME, CHARGEN, HTTP };

static const struct {
	const char *name;
	uint16_t port;
	bool udp;
} known[] = {
	[ECHO] = {"echo", 7, true},       [DISCARD] = {"discard", 9, true},
	[DAYTIME] = {"daytime", 13, true}, [CHARGEN] = {"chargen", 19, true},
	[HTTP] = {"http", 80, false},
};
#define NKINDS (sizeof(known) / sizeof(known[0]))
#define BACKLOG 128 /* each listener's accept queue (UNP 4.5); half-open connections are bounded apart (tcp_max_syn_backlog) */
#define UDP_BATCH 256 /* datagrams per service per turn, so TCP is never starved */

struct service {
	struct services *all;
	enum kind kind;
	struct tapir_tcp *lis;
	struct tapir_udp *udp;
	bool lis_ready, udp_ready;  /* set by their event functions */
	tapir_time_t next_accept;   /* the slow-accept personality's pace */
};

struct services {
	struct tapir_net *net;
	struct service svc[NKINDS];
	size_t n;
	char *http_root;
	unsigned chargen_rot;
	struct conn *ready, **ready_tail;     /* connections with events */
	struct conn *idle_head, *idle_tail;   /* oldest deadline first */
	uint8_t scratch[65536]; /* as much per call as a receive window holds */
};

/* RFC 864: the 95 printable ASCII characters, 72 to a line, each line
 * starting one character further on: a cycle of 95 lines (7030 bytes).
 * Made once, long enough that CHARGEN_SEND bytes of whole lines can be
 * sent straight from it starting at any line. */
#define CHARGEN_LINE 74
#define CHARGEN_SEND (885 * CHARGEN_LINE) /* just under 64 KiB */
#define CHARGEN_CYCLE (95 * CHARGEN_LINE)
static char chargen_text[94 * CHARGEN_LINE + CHARGEN_SEND];

static void chargen_init(void)
{
	for (size_t line = 0, n = 0; n + CHARGEN_LINE <= sizeof(chargen_text); line++) {
		for (unsigned i = 0; i < 72; i++)
			chargen_text[n++] = (char)(' ' + (line + i) % 95);
		chargen_text[n++] = '\r';
		chargen_text[n++] = '\n';
	}
}

/* Six lines of the stream from line ROT on: a UDP answer (RFC 864: up to
 * 512 characters). */
static const char *chargen_lines(unsigned rot)
{
	return chargen_text + (size_t)(rot % 95) * CHARGEN_LINE;
}

/* RFC 867 leaves the format open; this is its suggested one. */
static size_t daytime_line(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	return strftime(buf, len, "%A, %B %d, %Y %H:%M:%S-%Z\r\n", &tm);
}

/* ---- the event functions: note, act later (tapir/events.h) ---- */

static void conn_event(void *arg, unsigned events)
{
	struct conn *c = arg;
	struct services *all = c->sv->all;
	(void)events; /* the handlers read the core's state itself */
	READYQ_PUSH(all, c);
}

static void listener_event(void *arg, unsigned events)
{
	struct service *sv = arg;
	(void)events;
	sv->lis_ready = true;
}

static void udp_event(void *arg, unsigned events)
{
	struct service *sv = arg;
	if (events & TAPIR_EV_READ)
		sv->udp_ready = true;
}

/* ---- the idle list: HTTP connections waiting for a request, in the order
 * their time runs out (all get the same HTTP_IDLE, so appending keeps it
 * sorted and each step is O(1)) ---- */

static void idle_remove(struct services *all, struct conn *c)
{
	if (!c->idle_listed)
		return;
	*(c->iprev ? &c->iprev->inext : &all->idle_head) = c->inext;
	*(c->inext ? &c->inext->iprev : &all->idle_tail) = c->iprev;
	c->idle_listed = false;
}

static void idle_touch(struct services *all, struct conn *c, tapir_time_t now)
{
	idle_remove(all, c);
	c->idle_at = now + HTTP_IDLE;
	c->inext = NULL;
	c->iprev = all->idle_tail;
	*(all->idle_tail ? &all->idle_tail->inext : &all->idle_head) = c;
	all->idle_tail = c;
	c->idle_listed = true;
}

/* ---- connections ---- */

/* The user is done with C: FIN after what is queued (tapir_tcp_close), as
 * close() on a socket.  A reset connection is freed by the same call. */
static void conn_close(struct conn *c, tapir_time_t now)
{
	tapir_tcp_set_event(c->t, NULL, NULL);
	tapir_tcp_close(c->t, now);
	idle_remove(c->sv->all, c);
	http_free(c->http);
	free(c->pend);
	c->http = NULL;
	c->pend = NULL;
	if (c->queued)
		c->dead = true; /* on the ready list: freed when taken off it */
	else
		free(c);
}

size_t conn_room(const struct conn *c, size_t cap)
{
	size_t room = tapir_tcp_writable(c->t);
	if (!room) {
		/* full, or no buffer yet (one is taken as data is queued) */
		struct tapir_tcp_info i;
		tapir_tcp_get_info(c->t, &i);
		if (!i.snd_queued)
			room = cap;
	}
	return room < cap ? room : cap;
}

/* RFC 862: what arrives goes back, as fast as the send buffer takes it;
 * while it is full nothing is read, so the receive window closes on the
 * client (backpressure, no buffer of our own but the overflow of one
 * read).  False when the connection is to be closed. */
static bool echo_step(struct conn *c, tapir_time_t now, uint8_t *buf, size_t cap)
{
	for (;;) {
		size_t room = conn_room(c, cap);
		long n, taken;
		if (c->pend) {
			taken = tapir_tcp_send(c->t, c->pend + c->pend_off, c->pend_len - c->pend_off,
					       now);
			if (taken == -EAGAIN)
				return true;
			if (taken < 0)
				return false;
			c->pend_off += (uint32_t)taken;
			if (c->pend_off < c->pend_len)
				return true;
			free(c->pend);
			c->pend = NULL;
			continue;
		}
		if (!room)
			return true; /* EV_WRITE comes when the peer acknowledges */
		n = tapir_tcp_recv(c->t, buf, room, now);
		if (n <= 0)
			return n == -EAGAIN; /* 0: the client closed; or an error */
		taken = tapir_tcp_send(c->t, buf, (size_t)n, now);
		if (taken < 0 && taken != -EAGAIN)
			return false;
		if (taken < n) { /* the room was a hint: keep the rest */
			taken = taken < 0 ? 0 : taken;
			c->pend = malloc((size_t)(n - taken));
			if (!c->pend)
				return false;
			memcpy(c->pend, buf + taken, (size_t)(n - taken));
			c->pend_len = (uint32_t)(n - taken);
			c->pend_off = 0;
		}
	}
}

/* RFC 864: characters until the client goes; only as the buffer drains. */
static bool chargen_step(struct conn *c, tapir_time_t now)
{
	for (;;) {
		long taken = tapir_tcp_send(c->t, chargen_text + c->chargen_off,
					    sizeof(chargen_text) - c->chargen_off, now);
		if (taken == -EAGAIN)
			return true;
		if (taken <= 0)
			return false;
		c->chargen_off = (uint32_t)((c->chargen_off + (size_t)taken) % CHARGEN_CYCLE);
	}
}

/* Moves C on after an event; false when it is to be closed. */
static bool conn_step(struct conn *c, tapir_time_t now)
{
	struct services *all = c->sv->all;
	long n;
	/* reset, or timed out: nothing can be sent any more (RFC 9293 3.10.7.4) */
	if (tapir_tcp_state(c->t) == TAPIR_TCP_CLOSED)
		return false;
	switch (c->sv->kind) {
	case ECHO:
		return echo_step(c, now, all->scratch, sizeof(all->scratch));
	case DISCARD: /* RFC 863: taken from the ring, never copied out of it,
		       * all of it in one call: each call that opens the window
		       * by a segment sends a window update (RFC 9293 3.8.6.2.2),
		       * and one for the whole turn's data says the same */
		/* (a length of 0 would read as the end of the stream) */
		while ((n = tapir_tcp_recv(c->t, NULL, tapir_tcp_readable(c->t) | 1, now)) > 0)
			;
		return n == -EAGAIN;
	case DAYTIME: /* RFC 867: one line, then close (it fits any send buffer) */
		n = (long)daytime_line((char *)all->scratch, sizeof(all->scratch));
		tapir_tcp_send(c->t, all->scratch, (size_t)n, now);
		return false;
	case CHARGEN:
		return chargen_step(c, now);
	case HTTP:
		switch (http_step(c, all->http_root, now, all->scratch, sizeof(all->scratch))) {
		case HTTP_READING: /* SO_RCVTIMEO as before: idle too long, closed */
			idle_touch(all, c, now);
			return true;
		case HTTP_SENDING:
			idle_remove(all, c);
			return true;
		case HTTP_CLOSE:
			return false;
		}
	}
	return false;
}

static void conn_open(struct service *sv, struct tapir_tcp *t, tapir_time_t now)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (c && sv->kind == HTTP && !(c->http = http_new())) {
		free(c);
		c = NULL;
	}
	if (!c) { /* out of memory: refuse this one rather than fall over */
		tapir_tcp_close(t, now);
		return;
	}
	c->sv = sv;
	c->t = t;
	if (sv->kind == CHARGEN) /* each connection starts a line further on */
		c->chargen_off = (uint32_t)(chargen_lines(sv->all->chargen_rot++) - chargen_text);
	tapir_tcp_set_event(t, conn_event, c);
	/* data may have come with the handshake; daytime and chargen speak first */
	if (!conn_step(c, now))
		conn_close(c, now);
}

/* Takes the listener's established connections off its queue.  The
 * slow-accept personality: an application slow to drain its accept queue,
 * so that the backlog fills (UNP 4.5): one accept per delay. */
static tapir_time_t accept_ready(struct service *sv, tapir_time_t now)
{
	unsigned delay = atomic_load(&tapir_services_accept_delay_ms);
	for (;;) {
		struct tapir_tcp *t;
		int err;
		if (delay && !sv->next_accept)
			sv->next_accept = now + TAPIR_MS(delay); /* it waits before each */
		if (delay && now < sv->next_accept)
			return sv->next_accept;
		t = tapir_tcp_accept(sv->lis, &err);
		if (!t) {
			sv->lis_ready = false; /* the next connection raises EV_ACCEPT */
			return TAPIR_TIME_NEVER;
		}
		if (delay)
			sv->next_accept = now + TAPIR_MS(delay);
		conn_open(sv, t, now);
	}
}

/* Answers the datagrams waiting, at most UDP_BATCH; true if more wait. */
static bool udp_answer(struct service *sv, tapir_time_t now)
{
	uint8_t *buf = sv->all->scratch;
	const size_t cap = sizeof(sv->all->scratch);
	for (int i = 0; i < UDP_BATCH; i++) {
		struct tapir_ip from;
		uint16_t port;
		size_t out = 0;
		unsigned rot;
		long n = tapir_udp_recvfrom_addr(sv->udp, buf, cap, &from, &port);
		if (n < 0) {
			sv->udp_ready = false;
			return false;
		}
		switch (sv->kind) {
		case ECHO: out = (size_t)n < cap ? (size_t)n : cap; break; /* truncated, as recv */
		case DISCARD: continue;
		case DAYTIME: out = daytime_line((char *)buf, cap); break;
		case CHARGEN: /* RFC 864 (UDP): up to 512 characters per answer */
			rot = sv->all->chargen_rot++;
			out = 6 * CHARGEN_LINE;
			memcpy(buf, chargen_lines(rot), out);
			break;
		case HTTP: continue;
		}
		tapir_udp_sendto_addr(sv->udp, buf, out, &from, port, now);
	}
	return true;
}

/* The loop: run by the stack thread after each of its turns. */
static tapir_time_t services_turn(void *arg, struct tapir_stack *s, tapir_time_t now)
{
	struct services *all = arg;
	struct conn *list, *c;
	tapir_time_t next = TAPIR_TIME_NEVER, t;
	bool more = false;
	(void)s;
	for (size_t i = 0; i < all->n; i++) {
		struct service *sv = &all->svc[i];
		if (sv->lis_ready && (t = accept_ready(sv, now)) < next)
			next = t;
		if (sv->udp_ready)
			more |= udp_answer(sv, now);
	}
	READYQ_TAKE(all, list);
	while (READYQ_POP(list, c)) {
		if (c->dead)
			free(c);
		else if (!conn_step(c, now))
			conn_close(c, now);
	}
	while (all->idle_head && all->idle_head->idle_at <= now)
		conn_close(all->idle_head, now);
	if (all->idle_head && all->idle_head->idle_at < next)
		next = all->idle_head->idle_at;
	return all->ready || more ? now : next;
}

/* ---- set-up ---- */

/* The service's TCP listener and, where it has one, its UDP socket (net
 * locked); false with ERR set.  R is what failed, WHAT which protocol. */
static bool open_fail(const struct service *sv, const char *what, int r, char *err,
		      size_t errlen)
{
	if (r == -ENOBUFS)
		snprintf(err, errlen, "--serve %s: socket: %s", known[sv->kind].name, strerror(-r));
	else
		snprintf(err, errlen, "--serve %s: cannot use %s port %u: %s", known[sv->kind].name,
			 what, known[sv->kind].port, strerror(-r));
	return false;
}

/* With IPv6 on, every service takes both families: bound to ::, IPv4
 * comes in v4-mapped (RFC 3493 3.7); without, IPv4's any as before */
static bool service_open(struct tapir_stack *s, struct service *sv, char *err, size_t errlen)
{
	bool v6 = false;
	struct tapir_ip any;
	int r;
	for (int i = 0; i < TAPIR_MAX_IFACES && !v6; i++)
		v6 = tapir_iface_ipv6_addr(s, i, 0, NULL, NULL) != TAPIR_ADDR6_FREE;
	any = v6 ? (struct tapir_ip){{0}} : tapir_ip_from_v4(0);
	if (!(sv->lis = tapir_tcp_new(s)))
		return open_fail(sv, "TCP", -ENOBUFS, err, errlen);
	tapir_tcp_setopt(sv->lis, TAPIR_TCP_REUSEADDR, 1);
	if ((r = tapir_tcp_bind_addr(sv->lis, &any, known[sv->kind].port)) < 0 ||
	    (r = tapir_tcp_listen(sv->lis, BACKLOG)) < 0)
		return open_fail(sv, "TCP", r, err, errlen);
	tapir_tcp_set_event(sv->lis, listener_event, sv);
	if (!known[sv->kind].udp)
		return true;
	if (!(sv->udp = tapir_udp_new(s)))
		return open_fail(sv, "UDP", -ENOBUFS, err, errlen);
	if ((r = tapir_udp_bind_addr(sv->udp, &any, known[sv->kind].port)) < 0)
		return open_fail(sv, "UDP", r, err, errlen);
	tapir_udp_set_event(sv->udp, udp_event, sv);
	return true;
}

/* Opens every service (net locked); false with ERR set: the process exits,
 * and what was opened goes with it. */
static bool services_open(struct services *all, struct tapir_stack *s, char *err, size_t errlen)
{
	for (size_t i = 0; i < all->n; i++)
		if (!service_open(s, &all->svc[i], err, errlen))
			return false;
	return true;
}

struct services *services_start(struct tapir_net *net, const char *list, char *err,
				size_t errlen)
{
	struct services *all = calloc(1, sizeof(*all));
	char *copy = strdup(list), *save = NULL;

	if (!all || !copy) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	all->net = net;
	/* first parse everything, so a bad list starts nothing */
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t k;
		char *eq = strchr(tok, '=');
		if (eq)
			*eq = 0;
		for (k = 0; k < NKINDS && strcmp(tok, known[k].name); k++)
			;
		if (k == NKINDS) {
			snprintf(err, errlen, "--serve: unknown service '%s' (echo, discard, daytime, "
					      "chargen, http=DIR)", tok);
			goto fail;
		}
		if ((k == HTTP) != (eq != NULL)) {
			snprintf(err, errlen, k == HTTP ? "--serve: http needs a directory: http=DIR"
							: "--serve: %s takes no argument", tok);
			goto fail;
		}
		for (size_t i = 0; i < all->n; i++)
			if (all->svc[i].kind == (enum kind)k) {
				snprintf(err, errlen, "--serve: '%s' named twice", tok);
				goto fail;
			}
		if (k == HTTP) {
			struct stat st;
			if (stat(eq + 1, &st) < 0 || !S_ISDIR(st.st_mode)) {
				snprintf(err, errlen, "--serve http=%s: not a directory", eq + 1);
				goto fail;
			}
			all->http_root = realpath(eq + 1, NULL);
		}
		all->svc[all->n].kind = (enum kind)k;
		all->svc[all->n].all = all;
		all->n++;
	}
	chargen_init();
	READYQ_INIT(all);
	tapir_net_lock(net);
	if (!services_open(all, tapir_net_stack(net), err, errlen)) {
		tapir_net_unlock(net);
		goto fail; /* the process exits on this error */
	}
	tapir_net_unlock(net);
	tapir_net_set_service(net, services_turn, all);
	free(copy);
	return all;
fail:
	free(copy);
	if (all)
		free(all->http_root);
	free(all);
	return NULL;
}
