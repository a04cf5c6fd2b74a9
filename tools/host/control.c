/* A live view of a running tapir host: `tapir host --control PATH` serves
 * a UNIX stream socket, and `tapir ss`, `tapir stats`, `tapir trace` are
 * its clients.
 *
 * The protocol is one request line per connection, answered by text lines
 * and the end of the connection:
 *
 *   ss                   one line per TCP socket (header first)
 *   stats [all]          counters by protocol, then drops with reasons
 *                        (non-zero ones; "all" for every counter)
 *   trace LIST|off       switch trace channels; the lines go to the
 *                        host's stdout, like --trace
 *
 * An answer starting "error: " is a failure; the client prints it as one
 * "tapir:" line and exits 2.  The server thread reads the stack only with
 * tapir_net_lock held, copies what it needs, and writes after unlocking,
 * so a slow client never holds up the stack. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "commands.h"
#include "util.h"

struct control {
	struct tapir_net *net;
	int fd;
	tapir_trace_fn trace_fn;
	void *trace_arg;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static char control_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

static void remove_socket(void)
{
	if (control_path[0])
		unlink(control_path);
}

/* A growing text buffer for an answer. */
struct out {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void __attribute__((format(printf, 2, 3))) out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf ? o->buf + o->len : NULL, o->buf ? o->cap - o->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = true;
			return;
		}
		if (o->buf && o->len + (size_t)n < o->cap) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = o->cap ? o->cap * 2 : 4096;
		while (cap < o->len + (size_t)n + 1)
			cap *= 2;
		char *b = realloc(o->buf, cap);
		if (!b) {
			o->failed = true;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
}

/* ---- ss ---- */

struct infos {
	struct tapir_tcp_info *v;
	size_t n, cap;
};

static void collect(void *arg, const struct tapir_tcp *t)
{
	struct infos *in = arg;
	if (in->n == in->cap) {
		size_t cap = in->cap ? in->cap * 2 : 64;
		struct tapir_tcp_info *v = realloc(in->v, cap * sizeof(*v));
		if (!v)
			return; /* a shorter list rather than none */
		in->v = v;
		in->cap = cap;
	}
	tapir_tcp_get_info(t, &in->v[in->n++]);
}

/* An endpoint as ss(8) writes it: 192.0.2.1:80, [2001:db8::1]:80, and
 * *:80 for :: (both families) */
static void endpoint(char *buf, size_t n, const struct tapir_ip *a, uint16_t port)
{
	if (tapir_ipv6_is_unspecified(a->b))
		snprintf(buf, n, "*:%u", port);
	else
		tapir_ip_port_str(a, port, buf);
}

static void do_ss(struct control *c, struct out *o)
{
	struct infos in = {0};
	tapir_net_lock(c->net);
	tapir_tcp_foreach(tapir_net_stack(c->net), collect, &in);
	tapir_net_unlock(c->net);
	/* as ss(8): for a listener, Recv-Q is the accept queue and Send-Q the
	 * backlog; for a connection, the bytes in the two buffers */
	out_printf(o, "%-12s %7s %7s %-21s %-21s %8s %8s %8s %5s\n", "State", "Recv-Q", "Send-Q",
		   "Local", "Peer", "cwnd", "srtt_ms", "rto_ms", "mss");
	for (size_t i = 0; i < in.n; i++) {
		const struct tapir_tcp_info *t = &in.v[i];
		char l[TAPIR_IP_PORT_STRLEN], r[TAPIR_IP_PORT_STRLEN];
		endpoint(l, sizeof(l), &t->laddr_ip, t->lport);
		if (t->state == TAPIR_TCP_LISTEN) {
			snprintf(r, sizeof(r), "%s", tapir_ip_is_v4(&t->laddr_ip) ? "0.0.0.0:*" : "*:*");
			out_printf(o, "%-12s %7u %7u %-21s %-21s %8s %8s %8s %5s\n",
				   tapir_tcp_state_name(t->state), t->accept_queued, t->backlog, l, r,
				   "-", "-", "-", "-");
			continue;
		}
		endpoint(r, sizeof(r), &t->raddr_ip, t->rport);
		out_printf(o, "%-12s %7zu %7zu %-21s %-21s %8u %8.3f %8.3f %5u\n",
			   tapir_tcp_state_name(t->state), t->rcv_queued, t->snd_queued, l, r,
			   t->cwnd, (double)t->srtt_us / 1000.0, (double)t->rto_us / 1000.0,
			   t->mss);
	}
	free(in.v);
}

/* ---- stats ---- */

struct counter {
	char name[48];
	uint64_t v;
};
struct counters {
	struct counter v[256];
	size_t n;
};

static void grab(void *arg, const char *name, uint64_t v)
{
	struct counters *cs = arg;
	if (cs->n < sizeof(cs->v) / sizeof(cs->v[0])) {
		snprintf(cs->v[cs->n].name, sizeof(cs->v[0].name), "%s", name);
		cs->v[cs->n++].v = v;
	}
}

/* Which section a counter belongs to, by its prefix. */
static const char *section_of(const char *name)
{
	static const struct {
		const char *prefix, *section;
	} map[] = {
		{"drop.", "drops"}, {"arp_", "arp"}, {"ip_", "ip"}, {"reasm_", "ip"},
		{"icmp_", "icmp"},  {"udp_", "udp"}, {"tcp_", "tcp"},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strncmp(name, map[i].prefix, strlen(map[i].prefix)))
			return map[i].section;
	return "link"; /* rx_frames, tx_frames, hooks, ... */
}

static void do_stats(struct control *c, struct out *o, bool all)
{
	static const char *const order[] = {"link", "arp", "ip", "icmp", "udp", "tcp", "drops"};
	struct counters *cs = calloc(1, sizeof(*cs));
	uint64_t dropped = 0;
	if (!cs) {
		out_printf(o, "error: out of memory\n");
		return;
	}
	tapir_net_lock(c->net);
	tapir_stats_foreach(tapir_net_stack(c->net), grab, cs);
	tapir_net_unlock(c->net);
	for (size_t i = 0; i < cs->n; i++)
		if (!strncmp(cs->v[i].name, "drop.", 5))
			dropped += cs->v[i].v;
	for (size_t s = 0; s < sizeof(order) / sizeof(order[0]); s++) {
		if (!strcmp(order[s], "drops"))
			out_printf(o, "drops: %llu in all\n", (unsigned long long)dropped);
		else
			out_printf(o, "%s:\n", order[s]);
		for (size_t i = 0; i < cs->n; i++) {
			const char *name = cs->v[i].name;
			if (strcmp(section_of(name), order[s]) || (!all && !cs->v[i].v))
				continue;
			out_printf(o, "  %-24s %12llu", name, (unsigned long long)cs->v[i].v);
			for (int d = 0; d < TAPIR_DROP_COUNT && !strncmp(name, "drop.", 5); d++)
				if (!strcmp(name + 5, tapir_drop_name((enum tapir_drop)d)))
					out_printf(o, "  %s", tapir_drop_text((enum tapir_drop)d));
			out_printf(o, "\n");
		}
	}
	free(cs);
}

/* ---- trace ---- */

static void do_trace(struct control *c, struct out *o, const char *list)
{
	unsigned mask = 0;
	const char *bad;
	if (!list || !*list) {
		out_printf(o, "error: trace: name the channels (all, link, arp, ip, icmp, udp, tcp, "
			      "socket) or off\n");
		return;
	}
	if (strcmp(list, "off") && tapir_trace_parse(list, &mask, &bad)) {
		out_printf(o, "error: trace: unknown channel at '%s' (all, link, arp, ip, icmp, udp, "
			      "tcp, socket, or off)\n", bad);
		return;
	}
	tapir_net_lock(c->net);
	tapir_set_trace(tapir_net_stack(c->net), mask, mask ? c->trace_fn : NULL,
			mask ? c->trace_arg : NULL);
	tapir_net_unlock(c->net);
	out_printf(o, "trace: %s\n", mask ? list : "off");
}

/* ---- the server ---- */

static void serve_one(struct control *c, int fd)
{
	char req[512];
	size_t n = 0;
	struct out o = {0};
	struct timeval tv = {2, 0}; /* a client that sends no line is dropped */

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (n < sizeof(req) - 1) {
		ssize_t r = read(fd, req + n, sizeof(req) - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		if (memchr(req, '\n', n))
			break;
	}
	req[n] = 0;
	req[strcspn(req, "\r\n")] = 0;
	if (!strcmp(req, "ss"))
		do_ss(c, &o);
	else if (!strcmp(req, "stats") || !strcmp(req, "stats all"))
		do_stats(c, &o, req[5] != 0);
	else if (!strncmp(req, "trace", 5) && (req[5] == ' ' || !req[5]))
		do_trace(c, &o, req[5] ? req + 6 : NULL);
	else
		out_printf(&o, "error: unknown request '%.64s' (ss, stats, trace)\n", req);
	if (o.failed)
		out_printf(&o, "error: out of memory\n");
	for (size_t off = 0; o.buf && off < o.len;) {
		ssize_t w = send(fd, o.buf + off, o.len - off, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(o.buf);
}

static void *control_main(void *arg)
{
	struct control *c = arg;
	for (;;) {
		int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE ||
			    errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				continue;
			return NULL;
		}
		serve_one(c, fd);
		close(fd);
	}
}

static int unix_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (!*path || strlen(path) >= sizeof(sun->sun_path))
		return -1;
	memcpy(sun->sun_path, path, strlen(path));
	return 0;
}

int control_start(struct tapir_net *net, const char *path, tapir_trace_fn trace_fn,
		  void *trace_arg, char *err, size_t errlen)
{
	struct control *c = calloc(1, sizeof(*c));
	struct sockaddr_un sun;
	struct stat st;
	pthread_t th;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->net = net;
	c->trace_fn = trace_fn;
	c->trace_arg = trace_arg;
	if (unix_addr(path, &sun) < 0) {
		snprintf(err, errlen, "--control: '%s': a socket path is 1 to %zu bytes", path,
			 sizeof(sun.sun_path) - 1);
		goto fail;
	}
	if (lstat(path, &st) == 0) {
		/* a socket nobody listens on is a previous host's: replace it */
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool live = probe >= 0 && S_ISSOCK(st.st_mode) &&
			    connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0;
		if (probe >= 0)
			close(probe);
		if (!S_ISSOCK(st.st_mode) || live) {
			snprintf(err, errlen, "--control: %s %s", path,
				 live ? "is in use by another host" : "exists and is not a socket");
			goto fail;
		}
		unlink(path);
	}
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(c->fd, 16) < 0) {
		snprintf(err, errlen, "--control: %s: %s", path, strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		goto fail;
	}
	snprintf(control_path, sizeof(control_path), "%s", path);
	atexit(remove_socket);
	if (pthread_create(&th, NULL, control_main, c)) {
		snprintf(err, errlen, "--control: cannot start a thread");
		goto fail;
	}
	pthread_detach(th);
	return 0;
fail:
	free(c);
	return -1;
}

/* ---- the clients ---- */

/* Sends REQUEST to the host at PATH and copies the answer to stdout; an
 * "error: " answer becomes one tapir: line and exit 2. */
static int ask(const char *path, const char *request)
{
	struct sockaddr_un sun;
	struct timeval tv = {10, 0};
	struct out o = {0};
	char buf[8192];
	ssize_t n;
	int fd;

	if (unix_addr(path, &sun) < 0)
		die("--control: '%s': a socket path is 1 to %zu bytes", path, sizeof(sun.sun_path) - 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		die("--control %s: cannot reach a tapir host there: %s", path, strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, request, strlen(request), MSG_NOSIGNAL) < 0 ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) < 0)
		die("--control %s: %s", path, strerror(errno));
	/* answers are small: read all of it, then decide */
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		out_printf(&o, "%.*s", (int)n, buf);
	if (n < 0)
		die("--control %s: %s", path, errno == EAGAIN ? "no answer" : strerror(errno));
	close(fd);
	if (o.failed)
		die("out of memory");
	if (!o.len)
		die("--control %s: empty answer", path);
	if (!strncmp(o.buf, "error: ", 7)) {
		o.buf[strcspn(o.buf, "\n")] = 0;
		die("%s", o.buf + 7);
	}
	fwrite(o.buf, 1, o.len, stdout);
	free(o.buf);
	return 0;
}

/* Parses --control PATH (and --help) for the three clients; returns the
 * path, with OPTIND past the options. */
static const char *client_opts(int argc, char **argv, const char *usage, bool *all)
{
	static const struct option opts[] = {
		{"control", required_argument, 0, 'c'},
		{"all", no_argument, 0, 'a'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	const char *path = NULL;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'a':
			if (!all)
				die("%s: unknown option '--all' (try tapir %s --help)", argv[0], argv[0]);
			*all = true;
			break;
		case 'h': fputs(usage, stdout); exit(0);
		default:
			die("%s: unknown or incomplete option '%s' (try tapir %s --help)", argv[0],
			    argv[optind - 1], argv[0]);
		}
	}
	if (!path)
		die("%s: --control PATH is required (the path given to tapir host --control)",
		    argv[0]);
	return path;
}

int cmd_ss(int argc, char **argv)
{
	const char *path = client_opts(argc, argv,
				       "usage: tapir ss --control PATH\n"
				       "\n"
				       "Lists the TCP sockets of the tapir host serving PATH\n"
				       "(tapir host --control PATH): state, queues, addresses,\n"
				       "congestion window (bytes), smoothed RTT, RTO and MSS.\n"
				       "For a listener, Recv-Q is the accept queue and Send-Q the\n"
				       "backlog, as in ss(8).\n",
				       NULL);
	if (optind < argc)
		die("ss: unexpected argument '%s'", argv[optind]);
	return ask(path, "ss");
}

int cmd_stats(int argc, char **argv)
{
	bool all = false;
	const char *path = client_opts(argc, argv,
				       "usage: tapir stats --control PATH [--all]\n"
				       "\n"
				       "Prints the counters of the tapir host serving PATH, by\n"
				       "protocol, then every drop with its reason.  Only non-zero\n"
				       "counters, unless --all.\n",
				       &all);
	if (optind < argc)
		die("stats: unexpected argument '%s'", argv[optind]);
	return ask(path, all ? "stats all" : "stats");
}

int cmd_trace(int argc, char **argv)
{
	char req[512];
	const char *path = client_opts(argc, argv,
				       "usage: tapir trace --control PATH CHANNELS|off\n"
				       "\n"
				       "Switches the trace of the tapir host serving PATH: CHANNELS\n"
				       "is all, or a comma list of link,arp,ip,icmp,udp,tcp,socket;\n"
				       "off stops it.  The lines appear on the host's stdout.\n",
				       NULL);
	if (optind != argc - 1)
		die("trace: name the channels (e.g. tcp,ip), all, or off");
	if (strchr(argv[optind], '\n') || strlen(argv[optind]) > 400)
		die("trace: '%s' is not a channel list", argv[optind]);
	snprintf(req, sizeof(req), "trace %s", argv[optind]);
	return ask(path, req);
}
