/* tapir drill: the other forms of I/O a script may use.
 *
 * writev/readv and sendmsg/recvmsg move the sum of their iovec lengths
 * through read and write (drill_syscall.c); ioctl answers FIONREAD
 * (SIOCINQ), SIOCOUTQ and FIONBIO; poll and epoll report readiness from
 * tapir_tcp_events.  packetdrill's forms:
 *   writev(4, [{..., 100}, {..., 200}], 2) = 300
 *   sendmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 100}], msg_flags=0}, 0) = 100
 *   ioctl(4, FIONREAD, [1000]) = 0
 *   poll([{fd=4, events=POLLIN, revents=POLLIN}], 1, 0) = 1
 *   epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN, fd=4}) = 0
 *   epoll_wait(5, {events=EPOLLIN, fd=4}, 1, 0) = 1 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>

#include "drill_call.h"

#define DL_EP_MAX 16 /* sockets one epoll descriptor watches */

struct dl_epoll {
	int fd[DL_EP_MAX];
	unsigned events[DL_EP_MAX];
	unsigned n;
};

/* The sum of the lengths in "[{..., 100}, {..., 200}]" (also inside a
 * msghdr); -1 when there is none. */
static long long iov_sum(const char *s)
{
	long long sum = -1;
	while ((s = strchr(s, '{'))) {
		long long v;
		char *end;
		s++;
		while (*s == ' ')
			s++;
		if (strncmp(s, "...", 3))
			continue;
		s += 3;
		while (*s == ' ' || *s == ',')
			s++;
		v = strtoll(s, &end, 0);
		if (end == s || v < 0)
			continue;
		sum = (sum < 0 ? 0 : sum) + v;
		s = end;
	}
	return sum;
}

bool dc_io_args(struct call *c, long long *len, long long *flags)
{
	struct drill *d = c->d;
	const struct dl_event *e = c->e;
	*flags = 0;
	if (!c->row->iov)
		return dc_arg_int(d, e, 2, len) && (!c->row->flags || dc_arg_int(d, e, 3, flags));
	*len = iov_sum(dc_arg(e, 1));
	if (*len < 0) {
		drill_finish(d, R_SKIP, e->line, "%s: cannot read the lengths of %.40s", e->call.name,
			     dc_arg(e, 1));
		return false;
	}
	return c->row->iov != 2 || dc_arg_int(d, e, 2, flags);
}

/* "[N]" of an ioctl line against V */
static bool ioctl_value(struct call *c, long long v)
{
	long long want;
	if (!strcmp(dc_arg(c->e, 2), "..."))
		return true;
	if (!dc_arg_int(c->d, c->e, 2, &want))
		return false;
	if (want != v) {
		drill_finish(c->d, R_FAIL, c->e->line, "ioctl %s %s, got [%lld]", dc_arg(c->e, 1),
			     dc_arg(c->e, 2), v);
		return false;
	}
	return true;
}

bool call_ioctl(struct call *c)
{
	const char *req = dc_arg(c->e, 1);
	struct tapir_tcp_info i;
	long long v;
	tapir_tcp_get_info(c->f->t, &i);
	if (!strcmp(req, "FIONREAD") || !strcmp(req, "SIOCINQ")) {
		if (!ioctl_value(c, (long long)tapir_tcp_readable(c->f->t)))
			return false;
	} else if (!strcmp(req, "SIOCOUTQ") || !strcmp(req, "TIOCOUTQ")) {
		/* Linux: bytes not yet acknowledged, sent or not */
		if (!ioctl_value(c, (long long)i.snd_queued))
			return false;
	} else if (!strcmp(req, "FIONBIO")) {
		if (!dc_arg_int(c->d, c->e, 2, &v))
			return false;
		c->f->nonblock = v != 0;
	} else {
		drill_finish(c->d, R_SKIP, c->e->line, "ioctl %s not supported", req);
		return false;
	}
	c->r->ret = 0;
	drill_settle(c->d);
	return true;
}

/* poll(2)'s bits of what socket FD is ready for, or POLLNVAL */
static unsigned ready(struct drill *d, long fd)
{
	unsigned ev, r = 0;
	if (fd < 0 || fd >= DL_MAX_FD || !d->fd[fd].t)
		return POLLNVAL;
	ev = tapir_tcp_events(d->fd[fd].t);
	if (ev & TAPIR_EV_READ)
		r |= POLLIN;
	if (ev & TAPIR_EV_WRITE)
		r |= POLLOUT;
	if (ev & TAPIR_EV_ERROR)
		r |= POLLERR;
	if (ev & TAPIR_EV_HUP)
		r |= POLLHUP;
	return r;
}

/* "POLLIN|POLLOUT" and the like, also EPOLL* */
static bool poll_bits(struct call *c, const char *s, size_t n, unsigned *v)
{
	static const struct { const char *name; unsigned v; } bits[] = {
		{"POLLIN", POLLIN}, {"POLLOUT", POLLOUT}, {"POLLERR", POLLERR},
		{"POLLHUP", POLLHUP}, {"POLLNVAL", POLLNVAL}, {"POLLRDHUP", EPOLLRDHUP},
		{"EPOLLIN", EPOLLIN}, {"EPOLLOUT", EPOLLOUT}, {"EPOLLERR", EPOLLERR},
		{"EPOLLHUP", EPOLLHUP}, {"EPOLLRDHUP", EPOLLRDHUP}, {"EPOLLET", EPOLLET},
		{"0", 0},
	};
	*v = 0;
	while (n) {
		size_t k = strcspn(s, "|"), j;
		if (k > n)
			k = n;
		while (k && s[k - 1] == ' ')
			k--;
		for (j = 0; j < sizeof(bits) / sizeof(bits[0]); j++)
			if (strlen(bits[j].name) == k && !strncmp(s, bits[j].name, k))
				break;
		if (j == sizeof(bits) / sizeof(bits[0])) {
			drill_finish(c->d, R_SKIP, c->e->line, "%s: event '%.*s' not supported",
				     c->e->call.name, (int)k, s);
			return false;
		}
		*v |= bits[j].v;
		k = strcspn(s, "|");
		if (k > n)
			k = n;
		s += k;
		n = n > k ? n - k : 0;
		while (n && (*s == '|' || *s == ' ')) {
			s++;
			n--;
		}
	}
	return true;
}

/* KEY=VALUE inside the braces at S: the value's text and its length */
static const char *field(const char *s, const char *key, size_t *n)
{
	const char *p = strstr(s, key);
	size_t k = strlen(key);
	while (p && (p[k] != '=' || (p > s && (p[-1] == '_' || p[-1] == 'r'))))
		p = strstr(p + 1, key); /* "events" inside "revents" is not it */
	if (!p)
		return NULL;
	p += k + 1;
	*n = strcspn(p, ",}");
	return p;
}

bool call_poll(struct call *c)
{
	const char *s = dc_arg(c->e, 0);
	long long timeout;
	long n = 0;
	bool mismatch = false;
	char got[160] = "";
	if (!dc_arg_int(c->d, c->e, 2, &timeout))
		return false;
	/* each {fd=N, events=X, revents=Y} */
	while ((s = strchr(s, '{'))) {
		size_t fl, el, rl;
		const char *fv = field(s, "fd", &fl), *ev = field(s, "events", &el),
			   *rv = field(s, "revents", &rl);
		unsigned want_ev, want_rev = 0, r;
		if (!fv || !ev) {
			drill_finish(c->d, R_FAIL, c->e->line, "cannot parse poll's %.40s", s);
			return false;
		}
		if (!poll_bits(c, ev, el, &want_ev) || (rv && !poll_bits(c, rv, rl, &want_rev)))
			return false;
		r = ready(c->d, atol(fv));
		r &= want_ev | POLLERR | POLLHUP | POLLNVAL;
		if (r)
			n++;
		if (rv && r != want_rev)
			mismatch = true;
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%sfd %ld: 0x%x",
			 got[0] ? ", " : "", atol(fv), r);
		s++;
	}
	/* nothing ready: a blocking poll waits (within its line's time) */
	if (!n && timeout != 0)
		return false;
	if (mismatch) {
		drill_finish(c->d, R_FAIL, c->e->line, "poll revents as %.60s, got %s",
			     dc_arg(c->e, 0), got);
		return false;
	}
	c->r->ret = n;
	return true;
}

static struct dl_epoll *ep_of(struct call *c, long long fd)
{
	if (fd < 0 || fd >= DL_MAX_FD || !c->d->fd[fd].ep) {
		dc_set_res(c->r, -EBADF);
		return NULL;
	}
	return c->d->fd[fd].ep;
}

bool call_epoll_create(struct call *c)
{
	struct drill *d = c->d;
	int i = dc_free_fd(d, c->e);
	if (i < 0) {
		dc_set_res(c->r, -EMFILE);
		return true;
	}
	d->fd[i].ep = calloc(1, sizeof(struct dl_epoll));
	dc_set_res(c->r, d->fd[i].ep ? i : -ENOMEM);
	return true;
}

bool dc_epoll_close(struct drill *d, int fd)
{
	if (fd < 0 || fd >= DL_MAX_FD || !d->fd[fd].ep)
		return false;
	free(d->fd[fd].ep);
	d->fd[fd].ep = NULL;
	return true;
}

bool call_epoll_ctl(struct call *c)
{
	long long epfd, fd;
	const char *op = dc_arg(c->e, 1), *ev;
	struct dl_epoll *ep;
	unsigned i, bits = 0;
	size_t el;
	if (!dc_arg_int(c->d, c->e, 0, &epfd) || !dc_arg_int(c->d, c->e, 2, &fd))
		return false;
	if (!(ep = ep_of(c, epfd)))
		return true;
	if (fd < 0 || fd >= DL_MAX_FD || !c->d->fd[fd].t) {
		dc_set_res(c->r, -EBADF);
		return true;
	}
	ev = field(dc_arg(c->e, 3), "events", &el);
	if (ev && !poll_bits(c, ev, el, &bits))
		return false;
	if (bits & EPOLLET) {
		drill_finish(c->d, R_SKIP, c->e->line, "edge-triggered epoll (EPOLLET) not supported");
		return false;
	}
	for (i = 0; i < ep->n && ep->fd[i] != fd; i++)
		;
	if (!strcmp(op, "EPOLL_CTL_ADD")) {
		if (i < ep->n)
			return dc_set_res(c->r, -EEXIST), true;
		if (ep->n == DL_EP_MAX)
			return dc_set_res(c->r, -ENOSPC), true;
		ep->fd[ep->n] = (int)fd;
		ep->events[ep->n++] = bits;
	} else if (i == ep->n) {
		dc_set_res(c->r, -ENOENT);
		return true;
	} else if (!strcmp(op, "EPOLL_CTL_MOD")) {
		ep->events[i] = bits;
	} else if (!strcmp(op, "EPOLL_CTL_DEL")) {
		ep->fd[i] = ep->fd[--ep->n];
		ep->events[i] = ep->events[ep->n];
	} else {
		drill_finish(c->d, R_SKIP, c->e->line, "epoll_ctl %s not supported", op);
		return false;
	}
	c->r->ret = 0;
	return true;
}

/* epoll_wait(EPFD, {events=X, fd=N}, MAX, TIMEOUT): the first ready
 * socket's events are compared with the script's */
bool call_epoll_wait(struct call *c)
{
	long long epfd, max, timeout;
	struct dl_epoll *ep;
	const char *ev, *fv;
	size_t el, fl;
	long n = 0;
	unsigned first = 0, want;
	int first_fd = -1;
	if (!dc_arg_int(c->d, c->e, 0, &epfd) || !dc_arg_int(c->d, c->e, 2, &max) ||
	    !dc_arg_int(c->d, c->e, 3, &timeout))
		return false;
	if (!(ep = ep_of(c, epfd)))
		return true;
	for (unsigned i = 0; i < ep->n && n < max; i++) {
		/* EPOLL* and POLL* share their values (sys/epoll.h) */
		unsigned r = ready(c->d, ep->fd[i]) & (ep->events[i] | POLLERR | POLLHUP);
		if (!r)
			continue;
		if (!n++) {
			first = r;
			first_fd = ep->fd[i];
		}
	}
	if (!n && timeout != 0)
		return false;
	ev = field(dc_arg(c->e, 1), "events", &el);
	fv = field(dc_arg(c->e, 1), "fd", &fl);
	if (n && ev && poll_bits(c, ev, el, &want) &&
	    (want != first || (fv && atoi(fv) != first_fd))) {
		drill_finish(c->d, R_FAIL, c->e->line, "epoll_wait %.50s, got fd %d events 0x%x",
			     dc_arg(c->e, 1), first_fd, first);
		return false;
	}
	c->r->ret = n;
	return c->d->result == R_RUN;
}
