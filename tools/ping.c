/* tapir ping: many hosts at once, every reply credited to the right probe.
 *
 * One socket for all hosts: an unprivileged ICMP "ping socket" (SOCK_DGRAM,
 * IPPROTO_ICMP; the kernel picks the identifier and hands us only replies
 * that carry it) where net.ipv4.ping_group_range allows, else a raw socket
 * (which sees every ICMP message on the host, other pings' replies too).
 *
 * RFC 792 echo: the identifier and sequence number are ours to choose and
 * the data comes back unchanged.  A reply is credited only when all of these
 * hold: its source is one of our hosts; its identifier is ours; its sequence
 * number, minus a keyed per-host offset, names a probe already sent to that
 * host; and the first (up to) 8 data bytes equal a keyed hash of (host,
 * probe, identifier).  So another process's replies, even with the same
 * identifier, are never counted; a second copy of a reply is a duplicate,
 * one after -W a late reply, both counted apart.  RTTs come from the
 * kernel's receive timestamp (SO_TIMESTAMPNS), not from when we read. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/errqueue.h>
#include <linux/icmp.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netutil.h"
#include "commands.h"
#include "util.h"

static const char ping_usage[] =
	"usage: tapir ping [options] HOST...\n"
	"\n"
	"Pings many hosts at once from one socket and prints, per host,\n"
	"  HOST : xmt/rcv/%loss = 3/3/0%, min/avg/max/mdev = 0.081/0.102/0.133/0.021 ms\n"
	"HOST is an IPv4 address, a name or a CIDR block.\n"
	"\n"
	"  -c COUNT        echo requests per host (default 3)\n"
	"  -i MS           interval between requests to one host (default 1000)\n"
	"  -W MS           wait this long for each reply (default 1000)\n"
	"  -s SIZE         data bytes per request (default 56)\n"
	"  -q              no per-reply lines, only the summaries\n"
	"  --json          one JSON object per host\n"
	"  --rate PPS      requests per second, all hosts together (default 1000)\n"
	"  --raw           use a raw socket even where a ping socket is allowed\n"
	"\n"
	"Exit status: 0 every host answered, 1 some did not, 2 error.\n";

#define MAX_PROBES (1u << 22) /* hosts x count: 5 bytes each */

enum { P_UNSENT, P_SENT, P_ANSWERED, P_LATE, P_UNREACH };

struct phost {
	uint32_t sent, received, dups, late, unreach;
	double min, max, sum, sum2; /* ms */
};

struct ping {
	unsigned count, interval_ms, timeout_ms, size, rate;
	bool quiet, json, raw_forced, raw;
	struct nu_hosts hosts;
	struct phost *ph;
	uint32_t *sent_us; /* per probe (host * count + n): wall µs since t0_wall */
	uint8_t *st;
	struct nu_key key;
	int fd;
	uint16_t id; /* network order */
	uint64_t t0_wall_ns;
	uint8_t *buf;
	size_t outstanding;
	uint64_t foreign; /* ICMP messages that were not ours (raw socket) */
};

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig)
{
	interrupted = 1;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The keyed per-host sequence offset: probe n to a host carries seq
 * (n + offset) mod 2^16, so sequence numbers tell nothing to others and
 * differ between hosts. */
static uint16_t seq_off(const struct ping *p, uint32_t addr)
{
	uint32_t in[2] = {addr, 0x5e9u};
	return (uint16_t)nu_siphash(&p->key, in, sizeof(in));
}

static uint64_t probe_mac(const struct ping *p, uint32_t addr, uint32_t n)
{
	uint32_t in[3] = {addr, n, p->id};
	return nu_siphash(&p->key, in, sizeof(in));
}

static void open_socket(struct ping *p)
{
	int on = 1, e1 = 0;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	p->fd = -1;
	if (!p->raw_forced) {
		p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
		e1 = errno;
	}
	if (p->fd >= 0) {
		/* the kernel's identifier for this socket: bind picks a free one */
		if (bind(p->fd, (struct sockaddr *)&sin, sizeof(sin)) ||
		    getsockname(p->fd, (struct sockaddr *)&sin, &len))
			die("ping: ping socket: %s", strerror(errno));
		p->id = sin.sin_port;
		/* ICMP errors about our requests come back on the error queue */
		setsockopt(p->fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
	} else {
		struct icmp_filter f;
		p->fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
		if (p->fd < 0) {
			if (p->raw_forced)
				die("ping: --raw: raw socket: %s (needs CAP_NET_RAW)", strerror(errno));
			die("ping: no ping socket (%s: net.ipv4.ping_group_range excludes group %u) and no raw socket (%s: needs CAP_NET_RAW)",
			    strerror(e1), (unsigned)getgid(), strerror(errno));
		}
		p->raw = true;
		/* only echo replies and the errors about requests reach us */
		f.data = ~((1u << ICMP_ECHOREPLY) | (1u << ICMP_DEST_UNREACH) |
			   (1u << ICMP_TIME_EXCEEDED) | (1u << ICMP_PARAMETERPROB));
		setsockopt(p->fd, SOL_RAW, ICMP_FILTER, &f, sizeof(f));
		p->id = (uint16_t)nu_siphash(&p->key, "id", 2);
	}
	setsockopt(p->fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
	{
		int rcv = 4 << 20;
		setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	}
}

/* 0 when sent (or failed for good), -1 to try again a little later. */
static int send_probe(struct ping *p, size_t h, uint32_t n)
{
	uint32_t addr = p->hosts.v[h].addr;
	size_t len = 8 + p->size, i, k = (size_t)h * p->count + n;
	uint8_t *b = p->buf;
	uint16_t seq = (uint16_t)(n + seq_off(p, addr));
	uint64_t mac = probe_mac(p, addr, n), now;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = addr};
	memset(b, 0, 8);
	b[0] = ICMP_ECHO;
	memcpy(b + 4, &p->id, 2);
	b[6] = (uint8_t)(seq >> 8);
	b[7] = (uint8_t)seq;
	for (i = 0; i < p->size; i++)
		b[8 + i] = i < 8 ? (uint8_t)(mac >> (8 * i)) : (uint8_t)i;
	/* RFC 792: checksum over the ICMP message (a ping socket redoes it) */
	{
		uint16_t c = tapir_csum(b, len);
		b[2] = (uint8_t)(c >> 8);
		b[3] = (uint8_t)c;
	}
	now = wall_ns();
	if (sendto(p->fd, b, len, 0, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		char abuf[INET_ADDRSTRLEN];
		switch (errno) {
		case EAGAIN:
		case ENOBUFS:
		case ENOMEM:
			return -1;
		case EHOSTUNREACH:
		case ENETUNREACH:
		case EACCES:
		case EPERM:
		case EHOSTDOWN:
			/* refused locally: sent as far as we are concerned, and unreachable */
			p->ph[h].sent++;
			p->ph[h].unreach++;
			p->st[k] = P_UNREACH;
			if (!p->quiet && !p->json)
				printf("%s : [%u], %s\n", nu_host_str(&p->hosts.v[h], abuf), n,
				       strerror(errno));
			return 0;
		default:
			die("ping: sendto %s: %s", nu_host_str(&p->hosts.v[h], abuf), strerror(errno));
		}
	}
	p->sent_us[k] = (uint32_t)((now - p->t0_wall_ns) / 1000);
	p->st[k] = P_SENT;
	p->ph[h].sent++;
	p->outstanding++;
	return 0;
}

/* The probe a reply from ADDR with sequence SEQ answers, or -1. */
static long long match(const struct ping *p, uint32_t addr, uint16_t seq, long *hp)
{
	long h = nu_hosts_find(&p->hosts, addr);
	uint32_t n;
	if (h < 0)
		return -1;
	n = (uint16_t)(seq - seq_off(p, addr));
	if (n >= p->ph[h].sent || n >= p->count)
		return -1;
	*hp = h;
	return (long long)h * p->count + n;
}

static void on_reply(struct ping *p, uint32_t addr, const uint8_t *icmp, size_t len,
		     uint64_t rx_ns)
{
	long h;
	long long k;
	uint16_t seq;
	uint32_t n;
	size_t i, m;
	uint64_t mac;
	double ms;
	char abuf[INET_ADDRSTRLEN];
	struct phost *x;
	if (len < 8 || icmp[0] != ICMP_ECHOREPLY || memcmp(icmp + 4, &p->id, 2))
		goto foreign;
	seq = (uint16_t)(icmp[6] << 8 | icmp[7]);
	if ((k = match(p, addr, seq, &h)) < 0)
		goto foreign;
	n = (uint32_t)(k - (long long)h * p->count);
	/* RFC 792: "The data received in the echo message must be returned" */
	mac = probe_mac(p, addr, n);
	m = p->size < 8 ? p->size : 8;
	if (len - 8 < m)
		goto foreign;
	for (i = 0; i < m; i++)
		if (icmp[8 + i] != (uint8_t)(mac >> (8 * i)))
			goto foreign;
	x = &p->ph[h];
	ms = ((double)rx_ns - (double)p->t0_wall_ns) / 1e6 - p->sent_us[k] / 1e3;
	if (ms < 0)
		ms = 0;
	if (p->st[k] == P_ANSWERED || p->st[k] == P_LATE) {
		x->dups++;
		if (!p->quiet && !p->json)
			printf("%s : [%u], %zu bytes, %.3f ms (DUP!)\n",
			       nu_host_str(&p->hosts.v[h], abuf), n, len, ms);
		return;
	}
	if (p->st[k] == P_SENT)
		p->outstanding--;
	if (ms > p->timeout_ms || p->st[k] == P_UNREACH) {
		x->late++;
		p->st[k] = P_LATE;
		if (!p->quiet && !p->json)
			printf("%s : [%u], %zu bytes, %.3f ms (late)\n",
			       nu_host_str(&p->hosts.v[h], abuf), n, len, ms);
		return;
	}
	p->st[k] = P_ANSWERED;
	x->received++;
	if (x->received == 1 || ms < x->min)
		x->min = ms;
	if (ms > x->max)
		x->max = ms;
	x->sum += ms;
	x->sum2 += ms * ms;
	if (!p->quiet && !p->json)
		printf("%s : [%u], %zu bytes, %.3f ms\n", nu_host_str(&p->hosts.v[h], abuf), n,
		       len, ms);
	return;
foreign:
	p->foreign++;
}

static const char *unreach_text(int type, int code)
{
	static char buf[48];
	static const char *const du[] = {
		"Network Unreachable", "Host Unreachable", "Protocol Unreachable",
		"Port Unreachable", "Fragmentation Needed", "Source Route Failed",
		"Network Unknown", "Host Unknown", "Source Host Isolated",
		"Network Prohibited", "Host Prohibited", "Network Unreachable for TOS",
		"Host Unreachable for TOS", "Communication Prohibited",
		"Host Precedence Violation", "Precedence Cutoff"};
	if (type == ICMP_DEST_UNREACH && code >= 0 && code < 16)
		return du[code];
	if (type == ICMP_TIME_EXCEEDED)
		return "Time Exceeded";
	snprintf(buf, sizeof(buf), "ICMP type %d code %d", type, code);
	return buf;
}

/* An ICMP error about our request to DST (whose first 8 bytes are ECHO). */
static void on_error(struct ping *p, uint32_t dst, const uint8_t *echo, uint32_t from, int type,
		     int code)
{
	long h;
	long long k;
	char abuf[INET_ADDRSTRLEN], fbuf[INET_ADDRSTRLEN];
	if (echo[0] != ICMP_ECHO || memcmp(echo + 4, &p->id, 2) ||
	    (k = match(p, dst, (uint16_t)(echo[6] << 8 | echo[7]), &h)) < 0) {
		p->foreign++;
		return;
	}
	p->ph[h].unreach++;
	if (p->st[k] == P_SENT) {
		p->outstanding--;
		p->st[k] = P_UNREACH;
	}
	if (!p->quiet && !p->json)
		printf("%s : [%lld], ICMP %s from %s\n", nu_host_str(&p->hosts.v[h], abuf),
		       k - (long long)h * p->count, unreach_text(type, code),
		       inet_ntop(AF_INET, &from, fbuf, sizeof(fbuf)));
}

static uint64_t rx_time(struct msghdr *msg)
{
	struct cmsghdr *cm;
	for (cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
			return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		}
	return wall_ns(); /* no timestamp: now is the best we know */
}

/* One message received into p->buf, with its peer's address and the
 * control data. */
struct rx_msg {
	struct sockaddr_in peer;
	char ctrl[512];
	struct iovec iov;
	struct msghdr msg;
};

/* Receives one message (recvmsg with FLAGS | MSG_DONTWAIT) into M: its
 * length, or -1 when none waits. */
static ssize_t rx_one(struct ping *p, struct rx_msg *m, int flags)
{
	ssize_t n;
	m->iov = (struct iovec){p->buf, 8 + p->size + 128};
	m->msg = (struct msghdr){.msg_name = &m->peer, .msg_namelen = sizeof(m->peer),
				 .msg_iov = &m->iov, .msg_iovlen = 1, .msg_control = m->ctrl,
				 .msg_controllen = sizeof(m->ctrl)};
	do
		n = recvmsg(p->fd, &m->msg, flags | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n;
}

static void drain(struct ping *p)
{
	uint8_t *buf = p->buf;
	struct rx_msg m;
	ssize_t n;
	while ((n = rx_one(p, &m, 0)) >= 0) {
		uint64_t rx = rx_time(&m.msg);
		if (p->raw) {
			/* a raw socket gets the IP header first */
			size_t ihl;
			uint32_t src;
			if (n < 20 || (buf[0] >> 4) != 4)
				continue;
			ihl = (size_t)(buf[0] & 15) * 4;
			if ((size_t)n < ihl + 8)
				continue;
			memcpy(&src, buf + 12, 4);
			if (buf[ihl] == ICMP_ECHOREPLY) {
				on_reply(p, src, buf + ihl, (size_t)n - ihl, rx);
			} else {
				/* RFC 792 errors quote our IP header and 8 bytes of the echo */
				const uint8_t *in = buf + ihl + 8;
				size_t ihl2;
				uint32_t dst;
				if ((size_t)n < ihl + 8 + 20)
					continue;
				ihl2 = (size_t)(in[0] & 15) * 4;
				if (in[9] != IPPROTO_ICMP || (size_t)n < ihl + 8 + ihl2 + 8)
					continue;
				memcpy(&dst, in + 16, 4);
				on_error(p, dst, in + ihl2, src, buf[ihl], buf[ihl + 1]);
			}
		} else {
			on_reply(p, m.peer.sin_addr.s_addr, buf, (size_t)n, rx);
		}
	}
	if (p->raw)
		return;
	/* ping socket: errors about our requests (IP_RECVERR), PEER their
	 * destination */
	while ((n = rx_one(p, &m, MSG_ERRQUEUE)) >= 0) {
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m.msg); cm; cm = CMSG_NXTHDR(&m.msg, cm)) {
			struct sock_extended_err ee;
			struct sockaddr_in off;
			if (cm->cmsg_level != IPPROTO_IP || cm->cmsg_type != IP_RECVERR)
				continue;
			memcpy(&ee, CMSG_DATA(cm), sizeof(ee));
			if (ee.ee_origin != SO_EE_ORIGIN_ICMP || n < 8)
				continue;
			memcpy(&off, (const uint8_t *)CMSG_DATA(cm) + sizeof(ee), sizeof(off));
			on_error(p, m.peer.sin_addr.s_addr, buf, off.sin_addr.s_addr, ee.ee_type,
				 ee.ee_code);
		}
	}
}

/* Waits for replies until DEADLINE (monotonic ns). */
static void wait_until(struct ping *p, uint64_t deadline)
{
	for (;;) {
		uint64_t now = nu_now_ns();
		struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
		struct timespec ts;
		if (now >= deadline || interrupted)
			return;
		ts.tv_sec = (time_t)((deadline - now) / 1000000000ull);
		ts.tv_nsec = (long)((deadline - now) % 1000000000ull);
		if (ppoll(&pfd, 1, &ts, NULL) > 0)
			drain(p);
	}
}

static void summary(struct ping *p)
{
	size_t h;
	char abuf[INET_ADDRSTRLEN];
	for (h = 0; h < p->hosts.n; h++) {
		const struct phost *x = &p->ph[h];
		const char *name = nu_host_str(&p->hosts.v[h], abuf);
		unsigned loss = x->sent ? (unsigned)((x->sent - x->received) * 100ull / x->sent) : 0;
		double avg = 0, mdev = 0;
		if (x->received) {
			/* mdev as iputils ping: sqrt(E[x^2] - E[x]^2) */
			avg = x->sum / x->received;
			mdev = x->sum2 / x->received - avg * avg;
			mdev = mdev > 0 ? sqrt(mdev) : 0;
		}
		if (p->json) {
			fputs("{\"host\":", stdout);
			nu_json_str(stdout, name);
			printf(",\"sent\":%u,\"received\":%u,\"loss_pct\":%u,", x->sent, x->received,
			       loss);
			if (x->received)
				printf("\"rtt_min_ms\":%.3f,\"rtt_avg_ms\":%.3f,\"rtt_max_ms\":%.3f,\"rtt_mdev_ms\":%.3f",
				       x->min, avg, x->max, mdev);
			else
				fputs("\"rtt_min_ms\":null,\"rtt_avg_ms\":null,\"rtt_max_ms\":null,\"rtt_mdev_ms\":null",
				      stdout);
			printf(",\"duplicates\":%u,\"late\":%u,\"unreachable\":%u}\n", x->dups, x->late,
			       x->unreach);
			continue;
		}
		printf("%s : xmt/rcv/%%loss = %u/%u/%u%%", name, x->sent, x->received, loss);
		if (x->received)
			printf(", min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms", x->min, avg, x->max, mdev);
		if (x->dups)
			printf(", %u duplicates", x->dups);
		if (x->late)
			printf(", %u late", x->late);
		if (x->unreach)
			printf(", %u unreachable", x->unreach);
		putchar('\n');
	}
	fflush(stdout);
}

/* The value of option NAME (in optarg), from LO to HI; dies saying it is
 * not WHAT otherwise. */
static unsigned opt_num(const char *name, const char *what, long long lo, long long hi)
{
	long long v = nu_parse_num(optarg, lo, hi);
	if (v < 0)
		die("ping: %s: '%s' is not %s from %lld to %lld", name, optarg, what, lo, hi);
	return (unsigned)v;
}

int cmd_ping(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, 0, 'j'}, {"rate", required_argument, 0, 'r'},
		{"raw", no_argument, 0, 'R'},  {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	struct ping p;
	int opt, i;
	char err[256];
	uint32_t n;
	size_t h;
	uint64_t last_send = 0;
	bool all = true;
	struct nu_bucket b;
	struct sigaction sa;

	memset(&p, 0, sizeof(p));
	p.count = 3;
	p.interval_ms = 1000;
	p.timeout_ms = 1000;
	p.size = 56;
	p.rate = 1000;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "hc:i:W:s:q", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': p.count = opt_num("-c", "a count", 1, 65535); break;
		case 'i': p.interval_ms = opt_num("-i", "a number of ms", 1, 3600000); break;
		case 'W': p.timeout_ms = opt_num("-W", "a number of ms", 1, 600000); break;
		case 's': p.size = opt_num("-s", "a size", 0, 65507); break;
		case 'r': p.rate = opt_num("--rate", "a number", 1, 1000000); break;
		case 'q': p.quiet = true; break;
		case 'j': p.json = true; break;
		case 'R': p.raw_forced = true; break;
		case 'h': fputs(ping_usage, stdout); return 0;
		default:
			die("ping: unknown or incomplete option '%s' (try tapir ping --help)",
			    argv[optind - 1]);
		}
	}
	if (optind >= argc)
		die("ping: no host (try tapir ping --help)");
	for (i = optind; i < argc; i++)
		if (nu_hosts_add(&p.hosts, argv[i], NULL, NULL, err, sizeof(err)))
			die("ping: %s", err);
	if ((uint64_t)p.hosts.n * p.count > MAX_PROBES)
		die("ping: %zu hosts x %u requests is more than %u", p.hosts.n, p.count, MAX_PROBES);
	p.ph = calloc(p.hosts.n, sizeof(*p.ph));
	p.sent_us = calloc(p.hosts.n * p.count, sizeof(*p.sent_us));
	p.st = calloc(p.hosts.n * p.count, 1);
	p.buf = malloc(8 + p.size + 128);
	if (!p.ph || !p.sent_us || !p.st || !p.buf)
		die("out of memory");
	nu_key_random(&p.key);
	open_socket(&p);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	p.t0_wall_ns = wall_ns();
	nu_bucket_init(&b, p.rate, nu_now_ns());

	/* Round robin: request n to every host, then n + 1; a host's next
	 * request waits -i after its previous one, all of them wait for the
	 * token bucket, so hosts interleave and nobody gets a burst. */
	{
		uint64_t *due = calloc(p.hosts.n, sizeof(*due));
		if (!due)
			die("out of memory");
		for (n = 0; n < p.count && !interrupted; n++) {
			for (h = 0; h < p.hosts.n && !interrupted;) {
				uint64_t now = nu_now_ns(), w = nu_bucket_wait(&b, now);
				if (due[h] > now && due[h] - now > w)
					w = due[h] - now;
				if (w) {
					wait_until(&p, now + w);
					continue;
				}
				if (send_probe(&p, h, n)) {
					wait_until(&p, now + 1000000ull);
					continue;
				}
				nu_bucket_take(&b, now);
				due[h] = now + (uint64_t)p.interval_ms * 1000000ull;
				last_send = now;
				h++;
				drain(&p);
			}
		}
		free(due);
	}
	/* the last request gets its full -W; stop early once all answered */
	{
		uint64_t end = last_send + (uint64_t)p.timeout_ms * 1000000ull;
		while (p.outstanding && !interrupted && nu_now_ns() < end)
			wait_until(&p, nu_now_ns() + 10000000ull < end ? nu_now_ns() + 10000000ull : end);
	}
	if (interrupted)
		die("ping: interrupted");
	summary(&p);
	for (h = 0; h < p.hosts.n; h++)
		if (!p.ph[h].received)
			all = false;
	close(p.fd);
	free(p.ph);
	free(p.sent_us);
	free(p.st);
	free(p.buf);
	nu_hosts_free(&p.hosts);
	return all ? 0 : 1;
}
