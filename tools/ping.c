/* tapir ping: many hosts at once, every reply credited to the right probe.
 *
 * One socket per address family for all hosts: an unprivileged "ping
 * socket" (SOCK_DGRAM, IPPROTO_ICMP or IPPROTO_ICMPV6; the kernel picks the
 * identifier and hands us only replies that carry it) where
 * net.ipv4.ping_group_range allows (it rules both families), else a raw
 * socket (which sees every ICMP message on the host, other pings' replies
 * too).
 *
 * Echo (RFC 792; over IPv6 RFC 4443 4.1/4.2, the same fields): the
 * identifier and sequence number are ours to choose and the data comes
 * back unchanged.  A reply is credited only when all of these hold: its
 * source is one of our hosts; its identifier is ours; its sequence number,
 * minus a keyed per-host offset, names a probe already sent to that host;
 * and the first (up to) 8 data bytes equal a keyed hash of (host, probe,
 * identifier).  So another process's replies, even with the same
 * identifier, are never counted; a second copy of a reply is a duplicate,
 * one after -W a late reply, both counted apart.  An ICMP error is
 * credited to the host and probe of the echo request it quotes.  RTTs come
 * from the kernel's receive timestamp (SO_TIMESTAMPNS), not from when we
 * read. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/errqueue.h>
#include <linux/icmp.h>
#include <math.h>
#include <netinet/icmp6.h>
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

#include <tapir/wire.h>

#include "netutil.h"
#include "commands.h"
#include "util.h"

static const char ping_usage[] =
	"usage: tapir ping [options] HOST...\n"
	"\n"
	"Pings many hosts at once from one socket per address family and prints,\n"
	"per host,\n"
	"  HOST : xmt/rcv/%loss = 3/3/0%, min/avg/max/mdev = 0.081/0.102/0.133/0.021 ms\n"
	"HOST is an IPv4 address, a name, a CIDR block, or an IPv6 address or\n"
	"prefix (/112 or longer).\n"
	"\n"
	"  -c COUNT        echo requests per host (default 3)\n"
	"  -i MS           interval between requests to one host (default 1000)\n"
	"  -W MS           wait this long for each reply (default 1000)\n"
	"  -s SIZE         data bytes per request (default 56)\n"
	"  -q              no per-reply lines, only the summaries\n"
	"  --json          one JSON object per host\n"
	"  --rate PPS      requests per second, all hosts together (default 1000)\n"
	"  --raw           use raw sockets even where a ping socket is allowed\n"
	"\n"
	"Exit status: 0 every host answered, 1 some did not, 2 error.\n";

#define MAX_PROBES (1u << 22) /* hosts x count: 5 bytes each */

enum { P_UNSENT, P_SENT, P_ANSWERED, P_LATE, P_UNREACH };

struct phost {
	uint32_t sent, received, dups, late, unreach;
	double min, max, sum, sum2; /* ms */
};

/* The socket of one address family. */
struct psock {
	int fd; /* -1: no host of this family */
	int family;
	bool raw;
	uint16_t id;             /* network order */
	uint8_t echo, reply;     /* the echo request and reply types */
};

struct ping {
	unsigned count, interval_ms, timeout_ms, size, rate;
	bool quiet, json, raw_forced;
	struct nu_hosts hosts;
	struct phost *ph;
	uint32_t *sent_us; /* per probe (host * count + n): wall µs since t0_wall */
	uint8_t *st;
	struct nu_key key;
	struct psock sk[2]; /* IPv4, IPv6 */
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

static struct psock *sock_of(struct ping *p, const struct nu_addr *a)
{
	return &p->sk[a->family == AF_INET6];
}

/* A keyed hash of (TAG, A, X, Y): the address as 4 or 16 bytes, so the
 * families never share an input. */
static uint64_t addr_mac(const struct ping *p, uint32_t tag, const struct nu_addr *a, uint32_t x,
			 uint32_t y)
{
	uint32_t in[7] = {tag, x, y};
	size_t alen = a->family == AF_INET6 ? 16 : 4;
	memcpy(in + 3, a->family == AF_INET6 ? (const void *)a->u.v6 : &a->u.v4, alen);
	return nu_siphash(&p->key, in, 12 + alen);
}

/* The keyed per-host sequence offset: probe n to a host carries seq
 * (n + offset) mod 2^16, so sequence numbers tell nothing to others and
 * differ between hosts. */
static uint16_t seq_off(const struct ping *p, const struct nu_addr *a)
{
	return (uint16_t)addr_mac(p, 0x5e9u, a, 0, 0);
}

static uint64_t probe_mac(const struct ping *p, const struct nu_addr *a, uint32_t n)
{
	return addr_mac(p, 0x3ac, a, n, p->sk[a->family == AF_INET6].id);
}

/* The raw socket's filter: echo replies and the errors about requests. */
static void raw_filter(struct psock *s)
{
	if (s->family == AF_INET6) {
		struct icmp6_filter f;
		ICMP6_FILTER_SETBLOCKALL(&f);
		/* RFC 4443 2.1: the errors, and the echo reply */
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
		ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &f);
		ICMP6_FILTER_SETPASS(ICMP6_PACKET_TOO_BIG, &f);
		ICMP6_FILTER_SETPASS(ICMP6_TIME_EXCEEDED, &f);
		ICMP6_FILTER_SETPASS(ICMP6_PARAM_PROB, &f);
		setsockopt(s->fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f));
	} else {
		struct icmp_filter f;
		f.data = ~((1u << ICMP_ECHOREPLY) | (1u << ICMP_DEST_UNREACH) |
			   (1u << ICMP_TIME_EXCEEDED) | (1u << ICMP_PARAMETERPROB));
		setsockopt(s->fd, SOL_RAW, ICMP_FILTER, &f, sizeof(f));
	}
}

static void open_socket(struct ping *p, struct psock *s)
{
	int on = 1, e1 = 0, proto = s->family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	const char *v = s->family == AF_INET6 ? "IPv6 " : "";
	struct sockaddr_storage sa;
	socklen_t len;
	s->fd = -1;
	if (!p->raw_forced) {
		s->fd = socket(s->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
		e1 = errno;
	}
	if (s->fd >= 0) {
		/* the kernel's identifier for this socket: bind picks a free one */
		len = nu_addr_sockaddr(&(struct nu_addr){.family = s->family}, 0, &sa);
		if (bind(s->fd, (struct sockaddr *)&sa, len) ||
		    getsockname(s->fd, (struct sockaddr *)&sa, &len))
			die("ping: %sping socket: %s", v, strerror(errno));
		s->id = ((struct sockaddr_in *)&sa)->sin_port; /* where sin6_port is too */
		/* ICMP errors about our requests come back on the error queue */
		if (s->family == AF_INET6)
			setsockopt(s->fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on));
		else
			setsockopt(s->fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
	} else {
		s->fd = socket(s->family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
		if (s->fd < 0) {
			if (p->raw_forced)
				die("ping: --raw: %sraw socket: %s (needs CAP_NET_RAW)", v,
				    strerror(errno));
			die("ping: no %sping socket (%s: net.ipv4.ping_group_range excludes group %u) and no raw socket (%s: needs CAP_NET_RAW)",
			    v, strerror(e1), (unsigned)getgid(), strerror(errno));
		}
		s->raw = true;
		raw_filter(s);
		s->id = (uint16_t)nu_siphash(&p->key, s->family == AF_INET6 ? "id6" : "id", 2 + (s->family == AF_INET6));
	}
	setsockopt(s->fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
	{
		int rcv = 4 << 20;
		setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	}
}

/* The probe's request could not leave (errno E): 0 when that is its
 * answer (unreachable), -1 to try again a little later. */
static int send_failed(struct ping *p, size_t h, uint32_t n, int e)
{
	char abuf[NU_ADDRSTRLEN];
	switch (e) {
	case EAGAIN:
	case ENOBUFS:
	case ENOMEM:
		return -1;
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EACCES:
	case EPERM:
	case EHOSTDOWN:
	case EADDRNOTAVAIL: /* IPv6: no source address for it */
		/* refused locally: sent as far as we are concerned, and unreachable */
		p->ph[h].sent++;
		p->ph[h].unreach++;
		p->st[(size_t)h * p->count + n] = P_UNREACH;
		if (!p->quiet && !p->json)
			printf("%s : [%u], %s\n", nu_host_str(&p->hosts.v[h], abuf), n, strerror(e));
		return 0;
	default:
		die("ping: sendto %s: %s", nu_host_str(&p->hosts.v[h], abuf), strerror(e));
	}
}

/* 0 when sent (or failed for good), -1 to try again a little later. */
static int send_probe(struct ping *p, size_t h, uint32_t n)
{
	const struct nu_addr *addr = &p->hosts.v[h].addr;
	struct psock *s = sock_of(p, addr);
	size_t len = 8 + p->size, i, k = (size_t)h * p->count + n;
	uint8_t *b = p->buf;
	uint16_t seq = (uint16_t)(n + seq_off(p, addr));
	uint64_t mac = probe_mac(p, addr, n), now;
	struct sockaddr_storage sa;
	socklen_t salen = nu_addr_sockaddr(addr, 0, &sa);
	memset(b, 0, 8);
	b[0] = s->echo;
	memcpy(b + 4, &s->id, 2);
	tapir_put16(b + 6, seq);
	for (i = 0; i < p->size; i++)
		b[8 + i] = i < 8 ? (uint8_t)(mac >> (8 * i)) : (uint8_t)i;
	/* RFC 792: checksum over the ICMP message (a ping socket redoes it);
	 * ICMPv6's covers a pseudo-header too, and the kernel computes it on
	 * raw and ping sockets alike (RFC 3542 3.1) */
	if (s->family == AF_INET)
		tapir_put16(b + 2, tapir_csum(b, len));
	now = wall_ns();
	if (sendto(s->fd, b, len, 0, (struct sockaddr *)&sa, salen) < 0)
		return send_failed(p, h, n, errno);
	p->sent_us[k] = (uint32_t)((now - p->t0_wall_ns) / 1000);
	p->st[k] = P_SENT;
	p->ph[h].sent++;
	p->outstanding++;
	return 0;
}

/* The probe a reply from ADDR with sequence SEQ answers, or -1. */
static long long match(const struct ping *p, const struct nu_addr *addr, uint16_t seq, long *hp)
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

/* An echo reply (ICMP message ICMP, LEN bytes) from ADDR on socket S. */
static void on_reply(struct ping *p, const struct psock *s, const struct nu_addr *addr,
		     const uint8_t *icmp, size_t len, uint64_t rx_ns)
{
	long h;
	long long k;
	uint32_t n;
	size_t i, m;
	uint64_t mac;
	double ms;
	char abuf[NU_ADDRSTRLEN];
	struct phost *x;
	if (len < 8 || icmp[0] != s->reply || memcmp(icmp + 4, &s->id, 2) ||
	    (k = match(p, addr, tapir_get16(icmp + 6), &h)) < 0)
		goto foreign;
	n = (uint32_t)(k - (long long)h * p->count);
	/* RFC 792, RFC 4443 4.2: the data of the request comes back unchanged */
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

static const char *unreach_text(int family, int type, int code)
{
	static char buf[48];
	static const char *const du[] = {
		"Network Unreachable", "Host Unreachable", "Protocol Unreachable",
		"Port Unreachable", "Fragmentation Needed", "Source Route Failed",
		"Network Unknown", "Host Unknown", "Source Host Isolated",
		"Network Prohibited", "Host Prohibited", "Network Unreachable for TOS",
		"Host Unreachable for TOS", "Communication Prohibited",
		"Host Precedence Violation", "Precedence Cutoff"};
	/* RFC 4443 3.1's codes */
	static const char *const du6[] = {
		"No Route to Destination", "Administratively Prohibited",
		"Beyond Scope of Source Address", "Address Unreachable", "Port Unreachable",
		"Source Address Failed Policy", "Reject Route to Destination"};
	if (family == AF_INET6) {
		if (type == ICMP6_DST_UNREACH && code >= 0 && code < 7)
			return du6[code];
		if (type == ICMP6_PACKET_TOO_BIG)
			return "Packet Too Big";
		if (type == ICMP6_TIME_EXCEEDED)
			return "Time Exceeded";
		if (type == ICMP6_PARAM_PROB)
			return "Parameter Problem";
		snprintf(buf, sizeof(buf), "type %d code %d", type, code);
		return buf;
	}
	if (type == ICMP_DEST_UNREACH && code >= 0 && code < 16)
		return du[code];
	if (type == ICMP_TIME_EXCEEDED)
		return "Time Exceeded";
	snprintf(buf, sizeof(buf), "ICMP type %d code %d", type, code);
	return buf;
}

/* An ICMP error (TYPE, CODE, from FROM) about our request to DST, whose
 * first 8 bytes are ECHO. */
static void on_error(struct ping *p, const struct psock *s, const struct nu_addr *dst,
		     const uint8_t *echo, const struct nu_addr *from, int type, int code)
{
	long h;
	long long k;
	char abuf[NU_ADDRSTRLEN], fbuf[NU_ADDRSTRLEN];
	if (echo[0] != s->echo || memcmp(echo + 4, &s->id, 2) ||
	    (k = match(p, dst, tapir_get16(echo + 6), &h)) < 0) {
		p->foreign++;
		return;
	}
	p->ph[h].unreach++;
	if (p->st[k] == P_SENT) {
		p->outstanding--;
		p->st[k] = P_UNREACH;
	}
	if (!p->quiet && !p->json)
		printf("%s : [%lld], %s %s from %s\n", nu_host_str(&p->hosts.v[h], abuf),
		       k - (long long)h * p->count, s->family == AF_INET6 ? "ICMPv6" : "ICMP",
		       unreach_text(s->family, type, code), nu_addr_str(from, fbuf));
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
	struct sockaddr_storage peer;
	char ctrl[512];
	struct iovec iov;
	struct msghdr msg;
};

/* A socket address (from the kernel) as a struct nu_addr. */
static struct nu_addr addr_of(const void *sa)
{
	struct nu_addr a;
	sa_family_t fam;
	memset(&a, 0, sizeof(a));
	memcpy(&fam, sa, sizeof(fam));
	a.family = fam;
	if (fam == AF_INET6)
		memcpy(a.u.v6, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	else
		a.u.v4 = ((const struct sockaddr_in *)sa)->sin_addr.s_addr;
	return a;
}

/* Receives one message (recvmsg with FLAGS | MSG_DONTWAIT) from S into M:
 * its length, or -1 when none waits. */
static ssize_t rx_one(struct ping *p, const struct psock *s, struct rx_msg *m, int flags)
{
	ssize_t n;
	m->iov = (struct iovec){p->buf, 8 + p->size + 128};
	m->msg = (struct msghdr){.msg_name = &m->peer, .msg_namelen = sizeof(m->peer),
				 .msg_iov = &m->iov, .msg_iovlen = 1, .msg_control = m->ctrl,
				 .msg_controllen = sizeof(m->ctrl)};
	do
		n = recvmsg(s->fd, &m->msg, flags | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n;
}

/* A raw IPv4 socket's message: the IP header first. */
static void raw_input4(struct ping *p, const struct psock *s, size_t n, uint64_t rx)
{
	const uint8_t *buf = p->buf, *in;
	size_t ihl, ihl2;
	struct nu_addr src = nu_addr_v4(0), dst = nu_addr_v4(0);
	if (n < 20 || (buf[0] >> 4) != 4)
		return;
	ihl = (size_t)(buf[0] & 15) * 4;
	if (n < ihl + 8)
		return;
	memcpy(&src.u.v4, buf + 12, 4);
	if (buf[ihl] == ICMP_ECHOREPLY) {
		on_reply(p, s, &src, buf + ihl, n - ihl, rx);
		return;
	}
	/* RFC 792 errors quote our IP header and 8 bytes of the echo */
	in = buf + ihl + 8;
	if (n < ihl + 8 + 20)
		return;
	ihl2 = (size_t)(in[0] & 15) * 4;
	if (in[9] != IPPROTO_ICMP || n < ihl + 8 + ihl2 + 8)
		return;
	memcpy(&dst.u.v4, in + 16, 4);
	on_error(p, s, &dst, in + ihl2, &src, buf[ihl], buf[ihl + 1]);
}

/* A raw ICMPv6 socket's message: the ICMPv6 header first (RFC 3542 3),
 * from FROM. */
static void raw_input6(struct ping *p, const struct psock *s, const struct nu_addr *from,
		       size_t n, uint64_t rx)
{
	const uint8_t *buf = p->buf, *in = p->buf + TAPIR_ICMP6_HLEN;
	struct nu_addr dst = {.family = AF_INET6};
	if (n < TAPIR_ICMP6_HLEN)
		return;
	if (buf[0] == TAPIR_ICMP6_ECHO_REPLY) {
		on_reply(p, s, from, buf, n, rx);
		return;
	}
	/* RFC 4443 2.4(c): an error quotes the invoking packet; ours is an
	 * IPv6 header without extension headers and the echo request */
	if (buf[0] >= 128 || n < TAPIR_ICMP6_HLEN + TAPIR_IPV6_HLEN + 8 ||
	    in[TAPIR_IPV6_NXT] != TAPIR_IPPROTO_ICMPV6)
		return;
	memcpy(dst.u.v6, in + TAPIR_IPV6_DST, 16);
	on_error(p, s, &dst, in + TAPIR_IPV6_HLEN, from, buf[0], buf[1]);
}

/* A ping socket's error queue: errors about our requests (IP_RECVERR,
 * IPV6_RECVERR), the message our request, its peer the destination. */
static void drain_errors(struct ping *p, const struct psock *s)
{
	struct rx_msg m;
	ssize_t n;
	int level = s->family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP;
	int type = s->family == AF_INET6 ? IPV6_RECVERR : IP_RECVERR;
	int origin = s->family == AF_INET6 ? SO_EE_ORIGIN_ICMP6 : SO_EE_ORIGIN_ICMP;
	while ((n = rx_one(p, s, &m, MSG_ERRQUEUE)) >= 0) {
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m.msg); cm; cm = CMSG_NXTHDR(&m.msg, cm)) {
			struct sock_extended_err ee;
			struct nu_addr dst, off;
			if (cm->cmsg_level != level || cm->cmsg_type != type)
				continue;
			memcpy(&ee, CMSG_DATA(cm), sizeof(ee));
			if (ee.ee_origin != origin || n < 8)
				continue;
			/* the offender: the error's sender */
			off = addr_of(SO_EE_OFFENDER((struct sock_extended_err *)CMSG_DATA(cm)));
			dst = addr_of(&m.peer);
			on_error(p, s, &dst, p->buf, &off, ee.ee_type, ee.ee_code);
		}
	}
}

static void drain(struct ping *p, const struct psock *s)
{
	struct rx_msg m;
	ssize_t n;
	while ((n = rx_one(p, s, &m, 0)) >= 0) {
		uint64_t rx = rx_time(&m.msg);
		struct nu_addr from = addr_of(&m.peer);
		if (s->raw && s->family == AF_INET)
			raw_input4(p, s, (size_t)n, rx);
		else if (s->raw)
			raw_input6(p, s, &from, (size_t)n, rx);
		else
			on_reply(p, s, &from, p->buf, (size_t)n, rx);
	}
	if (!s->raw)
		drain_errors(p, s);
}

static void drain_all(struct ping *p)
{
	for (int f = 0; f < 2; f++)
		if (p->sk[f].fd >= 0)
			drain(p, &p->sk[f]);
}

/* Waits for replies until DEADLINE (monotonic ns). */
static void wait_until(struct ping *p, uint64_t deadline)
{
	for (;;) {
		uint64_t now = nu_now_ns();
		struct pollfd pfd[2] = {{.fd = p->sk[0].fd, .events = POLLIN},
					{.fd = p->sk[1].fd, .events = POLLIN}};
		struct timespec ts;
		if (now >= deadline || interrupted)
			return;
		ts.tv_sec = (time_t)((deadline - now) / 1000000000ull);
		ts.tv_nsec = (long)((deadline - now) % 1000000000ull);
		/* (poll ignores a negative fd: a family without hosts) */
		if (ppoll(pfd, 2, &ts, NULL) > 0)
			drain_all(p);
	}
}

static void summary(struct ping *p)
{
	size_t h;
	char abuf[NU_ADDRSTRLEN];
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
	for (int f = 0; f < 2; f++) {
		p.sk[f] = (struct psock){.fd = -1, .family = f ? AF_INET6 : AF_INET,
					 .echo = f ? TAPIR_ICMP6_ECHO : ICMP_ECHO,
					 .reply = f ? TAPIR_ICMP6_ECHO_REPLY : ICMP_ECHOREPLY};
		for (h = 0; h < p.hosts.n; h++)
			if (p.hosts.v[h].addr.family == p.sk[f].family) {
				open_socket(&p, &p.sk[f]);
				break;
			}
	}
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
				drain_all(&p);
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
	for (int f = 0; f < 2; f++)
		if (p.sk[f].fd >= 0)
			close(p.sk[f].fd);
	free(p.ph);
	free(p.sent_us);
	free(p.st);
	free(p.buf);
	nu_hosts_free(&p.hosts);
	return all ? 0 : 1;
}
