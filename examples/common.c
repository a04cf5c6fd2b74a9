/* common.c — option parsing and set-up shared by the examples (see
 * common.h).  This is the part a real program would do once: open the TAP
 * device, describe it to tapir as a driver, give the stack its address and
 * start the stack thread. */
#define _GNU_SOURCE /* strerrorname_np */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static const char net_usage[] =
	"network options (tapir's side of a TAP device):\n"
	"  --tap NAME               TAP device, created if absent (required)\n"
	"  --addr A.B.C.D/LEN       tapir's address and prefix (required)\n"
	"  --peer-addr A.B.C.D/LEN  also give the kernel's side of the TAP this address\n"
	"  --gateway IP             default route through IP\n"
	"  --syn-retries N          SYN retransmissions before ETIMEDOUT (default 6)\n"
	"  --trace CHANNELS         print the stack's events on stderr (all, tcp, arp, ...)\n"
	"  --pcap FILE              record every frame sent and received\n";

static const char *prog = "example", *usage_text = "";

static struct {
	const char *tap, *pcap_path;
	uint32_t addr, peer, gw;
	unsigned plen, peer_plen, trace_mask, syn_retries;
	bool have_addr, have_peer, have_syn_retries;
} opt;

/* What the signal thread may touch, under `lock`: the net while it runs,
 * and the descriptor to close on a signal. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tapir_net *running;
static struct tapir_pcap *pcap;
static int close_fd = -1;
static int64_t wall_offset_us; /* wall clock - CLOCK_MONOTONIC, for pcap stamps */
static tapir_time_t t0;

void ex_init(const char *name, const char *usage)
{
	prog = name;
	usage_text = usage;
	setvbuf(stdout, NULL, _IOLBF, 0); /* tests wait for our lines */
}

static void vmsg(const char *fmt, va_list ap)
{
	fprintf(stderr, "tapir: %s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void ex_usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(2);
}

void ex_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(1);
}

const char *ex_errname(int err)
{
	const char *n = strerrorname_np(err);
	return n ? n : "E?";
}

unsigned long ex_number(const char *name, const char *text, unsigned long lo, unsigned long hi)
{
	char *end;
	unsigned long n;
	errno = 0;
	n = strtoul(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || n < lo || n > hi)
		ex_usage_error("%s: '%s' is not a number from %lu to %lu", name, text, lo, hi);
	return n;
}

void ex_sockaddr(struct sockaddr_in *sin, const char *text, uint16_t port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	if (inet_pton(AF_INET, text, &sin->sin_addr) != 1)
		ex_usage_error("'%s' is not an IPv4 address such as 10.0.0.1", text);
}

ssize_t ex_writen(struct tapir_net *net, int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t left = len;
	while (left > 0) {
		ssize_t n = tapir_send(net, fd, p, left, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	return (ssize_t)len;
}

/* getopt_long entries for the common options: their values are >= 1000. */
static const struct option net_options[] = {
	{"tap", required_argument, 0, 1000},
	{"addr", required_argument, 0, 1001},
	{"peer-addr", required_argument, 0, 1002},
	{"gateway", required_argument, 0, 1003},
	{"syn-retries", required_argument, 0, 1004},
	{"trace", required_argument, 0, 1005},
	{"pcap", required_argument, 0, 1006},
	{"help", no_argument, 0, 'h'},
	{0, 0, 0, 0},
};

static void net_option(int c, const char *arg)
{
	const char *bad;
	switch (c) {
	case 1000: opt.tap = arg; break;
	case 1001:
		if (tapir_parse_cidr(arg, &opt.addr, &opt.plen) || opt.plen == 0)
			ex_usage_error("--addr: '%s' is not an address/prefix such as 10.0.0.2/24", arg);
		opt.have_addr = true;
		break;
	case 1002:
		if (tapir_parse_cidr(arg, &opt.peer, &opt.peer_plen) || opt.peer_plen == 0)
			ex_usage_error("--peer-addr: '%s' is not an address/prefix such as 10.0.0.1/24",
				       arg);
		opt.have_peer = true;
		break;
	case 1003:
		if (tapir_parse_ipv4(arg, &opt.gw))
			ex_usage_error("--gateway: '%s' is not an IPv4 address", arg);
		break;
	case 1004:
		opt.syn_retries = (unsigned)ex_number("--syn-retries", arg, 0, 20);
		opt.have_syn_retries = true;
		break;
	case 1005:
		if (tapir_trace_parse(arg, &opt.trace_mask, &bad))
			ex_usage_error("--trace: unknown channel at '%s'", bad);
		break;
	case 1006: opt.pcap_path = arg; break;
	case 'h':
		fputs(usage_text, stdout);
		fputs(net_usage, stdout);
		exit(0);
	default:
		ex_usage_error("unknown or incomplete option (try --help)");
	}
}

int ex_getopt(int argc, char **argv, const char *shortopts, const struct option *own)
{
	static struct option all[32];
	char shorts[32];
	int c;
	if (!all[0].name) { /* the first call: the example's options, then ours */
		size_t n = 0;
		while (own[n].name)
			n++;
		if (n + sizeof(net_options) / sizeof(net_options[0]) > sizeof(all) / sizeof(all[0]))
			ex_fail("too many options");
		memcpy(all, own, n * sizeof(*own));
		memcpy(all + n, net_options, sizeof(net_options));
	}
	snprintf(shorts, sizeof(shorts), "h%s", shortopts);
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, all, NULL)) != -1) {
		if (c < 1000 && c != 'h' && c != '?')
			return c; /* the example's own */
		net_option(c, optarg);
	}
	return -1;
}

int ex_connect(struct tapir_net *net, const struct sockaddr_in *sin)
{
	char host[INET_ADDRSTRLEN];
	int fd = tapir_socket(net, AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		ex_fail("socket: %s", strerror(errno));
	if (tapir_connect(net, fd, (const struct sockaddr *)sin, sizeof(*sin)) < 0) {
		int e = errno;
		ex_fail("connect to %s port %u: %s (%s)",
			inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host)), ntohs(sin->sin_port),
			ex_errname(e), strerror(e));
	}
	return fd;
}

static tapir_time_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (tapir_time_t)ts.tv_sec * 1000000u + (tapir_time_t)ts.tv_nsec / 1000u;
}

static void print_trace(void *arg, tapir_time_t now, const char *chan, const char *line)
{
	(void)arg;
	fprintf(stderr, "%10.6f %-6s %s\n", (double)(now - t0) / 1e6, chan, line);
}

static void record_frame(void *arg, int ifindex, enum tapir_dir dir, const uint8_t *frame,
			 size_t len, tapir_time_t now)
{
	(void)arg;
	(void)ifindex;
	(void)dir;
	tapir_pcap_write(pcap, frame, len, (uint64_t)((int64_t)now + wall_offset_us));
}

/* The TAP driver as the stack thread sees it (link.h). */
static long tap_recv(void *ctx, uint8_t *buf, size_t cap) { return tapir_tap_recv(ctx, buf, cap); }
static void tap_close(void *ctx) { tapir_tap_close(ctx); }

/* Signals are blocked in every thread but this one, which waits for them:
 * a handler could not call tapir_close (it takes a mutex). */
static void *signal_thread(void *arg)
{
	sigset_t *set = arg;
	int sig;
	bool closed = false;
	for (;;) {
		if (sigwait(set, &sig))
			continue;
		pthread_mutex_lock(&lock);
		if (running && close_fd >= 0 && !closed) {
			/* wakes the accept blocked on it with EBADF */
			tapir_close(running, close_fd);
			closed = true;
			pthread_mutex_unlock(&lock);
			continue;
		}
		if (running) {
			tapir_net_lock(running); /* the stack thread writes the pcap */
			if (pcap)
				tapir_pcap_flush(pcap);
		}
		_exit(128 + sig);
	}
}

void ex_close_on_signal(int fd)
{
	pthread_mutex_lock(&lock);
	close_fd = fd;
	pthread_mutex_unlock(&lock);
}

struct tapir_net *ex_net_start(void)
{
	static sigset_t set;
	struct tapir_config cfg;
	struct tapir_net_driver drv;
	struct tapir_tap *tap;
	struct tapir_net *net;
	struct timespec wall;
	pthread_t th;
	uint8_t mac[6];
	char err[256];

	if (!opt.tap)
		ex_usage_error("--tap NAME is required (try --help)");
	if (!opt.have_addr)
		ex_usage_error("--addr A.B.C.D/LEN is required (try --help)");
	if (opt.have_peer) {
		uint32_t mask = ~0u << (32 - opt.plen);
		if ((opt.peer & mask) != (opt.addr & mask) || opt.peer == opt.addr)
			ex_usage_error("--peer-addr must be another address on --addr's subnet");
	}

	tapir_config_default(&cfg);
	/* random ISNs, ports and MAC: runs one after another must not look
	 * like old duplicates of each other to the kernel */
	if (getrandom(&cfg.seed, sizeof(cfg.seed), 0) != sizeof(cfg.seed))
		cfg.seed = (uint64_t)mono_us() ^ ((uint64_t)getpid() << 32);
	if (opt.have_syn_retries)
		cfg.tcp_syn_retries = opt.syn_retries;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)(cfg.seed >> (8 * i));
	mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02); /* unicast, locally administered */

	if (opt.pcap_path && !(pcap = tapir_pcap_open(opt.pcap_path, err, sizeof(err))))
		ex_usage_error("--pcap: %s", err);
	tap = tapir_tap_open(opt.tap, err, sizeof(err));
	if (!tap)
		ex_usage_error("%s", err);
	if (opt.have_peer && tapir_tap_set_peer_addr(tap, opt.peer, opt.peer_plen, err, sizeof(err)))
		ex_usage_error("%s", err);
	drv = (struct tapir_net_driver){.link = tapir_tap_link(tap), .fd = tapir_tap_fd(tap),
					.recv = tap_recv, .close = tap_close, .ctx = tap,
					.mtu = tapir_tap_mtu(tap)};
	net = tapir_net_new(&cfg, &drv);
	if (!net)
		ex_usage_error("cannot create the stack: %s", strerror(errno));

	t0 = mono_us();
	clock_gettime(CLOCK_REALTIME, &wall);
	wall_offset_us = (int64_t)wall.tv_sec * 1000000 + wall.tv_nsec / 1000 - (int64_t)t0;
	if (opt.trace_mask)
		tapir_set_trace(tapir_net_stack(net), opt.trace_mask, print_trace, NULL);
	if (pcap)
		tapir_set_frame_observer(tapir_net_stack(net), record_frame, NULL);
	if (tapir_net_add_iface(net, mac, 0, opt.addr, opt.plen, opt.gw) < 0)
		ex_usage_error("--addr/--gateway: cannot configure the interface: %s", strerror(errno));

	/* block the signals before any thread starts, so that all inherit it */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (tapir_net_start(net) < 0)
		ex_fail("cannot start the stack thread: %s", strerror(errno));
	pthread_mutex_lock(&lock);
	running = net;
	pthread_mutex_unlock(&lock);
	if (pthread_create(&th, NULL, signal_thread, &set))
		ex_fail("cannot start a thread");
	pthread_detach(th);
	return net;
}

void ex_net_stop(struct tapir_net *net)
{
	pthread_mutex_lock(&lock); /* the signal thread leaves the net alone now */
	running = NULL;
	tapir_net_stop(net);
	if (pcap)
		tapir_pcap_close(pcap);
	pcap = NULL;
	pthread_mutex_unlock(&lock);
}
