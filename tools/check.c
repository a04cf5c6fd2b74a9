/* tapir check: is that port listening?  Many hosts and ports, fewest packets.
 *
 * Every (host, port) pair is a probe with a slot in one array; probes go out
 * in rounds, each round in a fresh keyed random order across all hosts and
 * ports, paced by a token bucket.  A round re-sends only the probes that
 * have no answer yet; a probe nobody answered after the last round is
 * `filtered`.  Two ways to send:
 *
 *  connect  unprivileged: non-blocking connect()s in flight, watched with
 *           epoll; closed with SO_LINGER {1,0} so the kernel ends an open
 *           connection with a RST (RFC 9293 3.10.7.x ABORT) instead of a FIN
 *           handshake and TIME-WAIT.  TCP_QUICKACK is switched off before
 *           connect(): Linux then delays the handshake's final ACK (see
 *           docs/check-and-ping.md), and the RST goes out first — 3 packets
 *           for an open port, 2 (SYN, RST) for a closed one.
 *  syn      CAP_NET_RAW: SYNs from a raw socket, the sequence number a keyed
 *           hash of the 4-tuple (no per-probe state is needed to trust a
 *           reply: RFC 9293 3.10.7.3 makes the peer's SYN/ACK and RST carry
 *           ack = our ISN + 1).  Replies come from a BPF-filtered libpcap
 *           capture.  Our kernel has no socket for the SYN/ACK and answers
 *           it with a RST (RFC 9293 3.10.7.1), so open = 3 packets, closed = 2.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/filter.h>

#include "netutil.h"
#include "tool.h"

static const char check_usage[] =
	"usage: tapir check [options] HOST:PORTS...\n"
	"\n"
	"Tells which TCP ports listen: open (SYN/ACK), closed (RST) or filtered\n"
	"(ICMP unreachable, or no answer after the retries), with the round-trip time.\n"
	"HOST is an IPv4 address, a name or a CIDR block; PORTS is 80, 1-1024 or\n"
	"22,80,8000-8010.  Probes go out in a random order across hosts and ports.\n"
	"\n"
	"  --mode MODE     auto (default: syn with CAP_NET_RAW, else connect),\n"
	"                  connect (unprivileged connect()s), syn (raw SYNs),\n"
	"                  stack (tapir's own stack; not available yet)\n"
	"  --rate PPS      probes per second, all hosts together (default 1000)\n"
	"  --retries N     re-probe unanswered ports N more times (default 2)\n"
	"  --timeout MS    wait for an answer this long after each probe (default 1000)\n"
	"  --json          one JSON object per line: host, port, state, rtt_ms\n"
	"  --open-only     print open ports only\n"
	"\n"
	"Exit status: 0 every port open, 1 some closed or filtered, 2 error.\n";

enum { ST_PENDING, ST_OPEN, ST_CLOSED, ST_FILTERED };
static const char *const state_name[] = {"filtered", "open", "closed", "filtered"};

enum mode { MODE_AUTO, MODE_CONNECT, MODE_SYN, MODE_STACK };

#define MAX_PROBES (1u << 23) /* 12 bytes each: ~100 MB at most */
#define MAX_ROUNDS_EXTRA 4    /* extra rounds while answers keep coming */

struct probe {
	uint32_t sent_us; /* when the latest try went out, since the start */
	uint32_t rtt_us;
	uint8_t state;
	uint8_t tries;
	uint8_t answered_round; /* the round (1-based) that got the answer */
};

struct portset {
	uint16_t *p;
	size_t n;
};

/* A connect() in flight; live ones form a list in send order, and as every
 * probe gets the same timeout that order is also deadline order. */
struct conn {
	int fd;
	uint32_t idx;
	uint64_t sent_ns;
	int prev, next;
};

struct check {
	enum mode mode;
	unsigned rate, retries, timeout_ms;
	bool json, open_only, progress;
	struct nu_hosts hosts;
	char **tstr; /* the targets' host parts: names point into them */
	size_t ntstr;
	struct portset *sets;
	size_t nsets;
	uint64_t *off; /* probe index of each host's first port; off[n] = total */
	uint64_t total;
	struct probe *pr;
	struct nu_key key;
	uint64_t t0_ns;     /* monotonic start */
	uint64_t t0_wall;   /* wall-clock start, µs (syn: pcap timestamps) */
	int ep;
	unsigned round;
	uint64_t sent, resolved, dups, retry_answers, late;
	uint64_t counts[4];
	uint64_t last_progress;
	bool progress_shown;
	/* connect mode */
	struct conn *conns;
	int nconns, free_head, live_head, live_tail, live;
	/* syn mode */
	int raw;
	pcap_t *pc;
	int linkoff;
	uint32_t *src;       /* per host: our source address (network order), 0 unknown */
	uint16_t sport_lo, sport_n;
	unsigned syn_enobufs;
};

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* ---- targets ---- */

struct add_ctx {
	struct check *c;
	uint32_t set;
	uint32_t memo_old, memo_new; /* last union made: a CIDR block's hosts share it */
	bool memo;
};

static uint32_t union_sets(struct check *c, uint32_t a, uint32_t b)
{
	struct portset *x = &c->sets[a], *y = &c->sets[b], u;
	size_t i = 0, j = 0;
	u.p = malloc((x->n + y->n) * sizeof(*u.p));
	if (!u.p)
		die("out of memory");
	u.n = 0;
	while (i < x->n || j < y->n) {
		uint16_t v;
		if (j >= y->n || (i < x->n && x->p[i] < y->p[j]))
			v = x->p[i++];
		else if (i >= x->n || y->p[j] < x->p[i])
			v = y->p[j++];
		else {
			v = x->p[i++];
			j++;
		}
		u.p[u.n++] = v;
	}
	c->sets = realloc(c->sets, (c->nsets + 1) * sizeof(*c->sets));
	if (!c->sets)
		die("out of memory");
	c->sets[c->nsets] = u;
	return (uint32_t)c->nsets++;
}

static void on_host(void *arg, size_t idx, int is_new)
{
	struct add_ctx *a = arg;
	struct nu_host *h = &a->c->hosts.v[idx];
	if (is_new) {
		h->portset = a->set;
		return;
	}
	/* the same host in two targets (a:22 a:80): probe the union once */
	if (h->portset == a->set)
		return;
	if (!(a->memo && a->memo_old == h->portset)) {
		a->memo_old = h->portset;
		a->memo_new = union_sets(a->c, h->portset, a->set);
		a->memo = true;
	}
	h->portset = a->memo_new;
}

static void add_target(struct check *c, const char *t)
{
	const char *colon = strrchr(t, ':');
	char err[256], *host;
	struct add_ctx a = {.c = c};
	struct portset ps;
	if (!colon || colon == t)
		die("check: target '%s' is not HOST:PORTS (e.g. 10.0.0.2:22,80 or 10.0.0.0/24:1-1024)", t);
	if (nu_parse_ports(colon + 1, &ps.p, &ps.n, err, sizeof(err)))
		die("check: %s", err);
	c->sets = realloc(c->sets, (c->nsets + 1) * sizeof(*c->sets));
	if (!c->sets)
		die("out of memory");
	c->sets[c->nsets] = ps;
	a.set = (uint32_t)c->nsets++;
	host = strndup(t, (size_t)(colon - t)); /* kept: a name is printed as given */
	c->tstr = realloc(c->tstr, (c->ntstr + 1) * sizeof(*c->tstr));
	if (!host || !c->tstr)
		die("out of memory");
	c->tstr[c->ntstr++] = host;
	if (nu_hosts_add(&c->hosts, host, on_host, &a, err, sizeof(err)))
		die("check: %s", err);
}

static void index_probes(struct check *c)
{
	size_t i;
	c->off = malloc((c->hosts.n + 1) * sizeof(*c->off));
	if (!c->off)
		die("out of memory");
	c->total = 0;
	for (i = 0; i < c->hosts.n; i++) {
		c->off[i] = c->total;
		c->total += c->sets[c->hosts.v[i].portset].n;
		if (c->total > MAX_PROBES)
			die("check: more than %u host:port pairs in one run", MAX_PROBES);
	}
	c->off[c->hosts.n] = c->total;
	c->pr = calloc(c->total, sizeof(*c->pr));
	if (!c->pr)
		die("out of memory");
}

static size_t host_of(const struct check *c, uint64_t idx)
{
	size_t lo = 0, hi = c->hosts.n; /* off[lo] <= idx < off[hi] */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->off[mid] <= idx)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static uint16_t port_of(const struct check *c, size_t h, uint64_t idx)
{
	return c->sets[c->hosts.v[h].portset].p[idx - c->off[h]];
}

/* The probe for (host index, port), or -1 when that port is not ours. */
static long long probe_of(const struct check *c, size_t h, uint16_t port)
{
	const struct portset *ps = &c->sets[c->hosts.v[h].portset];
	size_t lo = 0, hi = ps->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ps->p[mid] < port)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ps->n && ps->p[lo] == port)
		return (long long)(c->off[h] + lo);
	return -1;
}

/* ---- results ---- */

static void resolve(struct check *c, uint64_t idx, int state, uint64_t rtt_us)
{
	struct probe *p = &c->pr[idx];
	if (p->state != ST_PENDING) {
		/* a SYN/ACK retransmission, or the answer to an earlier try */
		c->dups++;
		return;
	}
	p->state = (uint8_t)state;
	p->rtt_us = rtt_us > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt_us;
	p->answered_round = (uint8_t)c->round;
	if (p->tries > 1)
		c->retry_answers++; /* the first try's answer (or the try) was lost */
	c->resolved++;
	c->counts[state]++;
}

static void progress(struct check *c, bool final)
{
	uint64_t now = nu_now_ns();
	if (!c->progress)
		return;
	if (final) {
		if (c->progress_shown)
			fputs("\r\033[K", stderr);
		return;
	}
	if (now - c->t0_ns < 1000000000ull || now - c->last_progress < 200000000ull)
		return;
	c->last_progress = now;
	c->progress_shown = true;
	fprintf(stderr, "\r\033[Ktapir check: round %u, %llu/%llu answered, %llu sent: %llu open, %llu closed, %llu filtered",
		c->round, (unsigned long long)c->resolved, (unsigned long long)c->total,
		(unsigned long long)c->sent, (unsigned long long)c->counts[ST_OPEN],
		(unsigned long long)c->counts[ST_CLOSED], (unsigned long long)c->counts[ST_FILTERED]);
	fflush(stderr);
}

/* ---- connect mode ---- */

static void conn_unlink(struct check *c, int s)
{
	struct conn *k = &c->conns[s];
	if (k->prev >= 0)
		c->conns[k->prev].next = k->next;
	else
		c->live_head = k->next;
	if (k->next >= 0)
		c->conns[k->next].prev = k->prev;
	else
		c->live_tail = k->prev;
	/* SO_LINGER {1,0}: close() sends a RST and frees the port at once */
	close(k->fd);
	k->fd = -1;
	k->next = c->free_head;
	c->free_head = s;
	c->live--;
}

static void connect_setup(struct check *c)
{
	long nofile = nu_raise_nofile();
	int i;
	c->nconns = (int)(nofile - 64 < 16384 ? nofile - 64 : 16384);
	if (c->nconns < 16)
		die("check: too few file descriptors (RLIMIT_NOFILE %ld)", nofile);
	c->conns = calloc((size_t)c->nconns, sizeof(*c->conns));
	if (!c->conns)
		die("out of memory");
	for (i = 0; i < c->nconns; i++) {
		c->conns[i].fd = -1;
		c->conns[i].next = i + 1 < c->nconns ? i + 1 : -1;
	}
	c->free_head = 0;
	c->live_head = c->live_tail = -1;
}

/* Returns 0 when sent, -1 to try this probe again a little later. */
static int connect_send(struct check *c, uint64_t idx)
{
	size_t h = host_of(c, idx);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = c->hosts.v[h].addr,
				  .sin_port = htons(port_of(c, h, idx))};
	struct linger lg = {1, 0};
	int zero = 0, one = 1, fd, s, rc;
	struct epoll_event ev;
	uint64_t now;
	if (c->free_head < 0)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			return -1;
		die("check: socket: %s", strerror(errno));
	}
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	/* Linux: quick-ack off puts the socket in "pingpong" (interactive)
	 * mode, and tcp_rcv_synsent_state_process() then delays the ACK of the
	 * SYN/ACK, expecting data to carry it; we close first, so it never goes. */
	setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof(zero));
	/* one kernel retransmission at most: our rounds do the retrying */
	setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &one, sizeof(one));
	now = nu_now_ns();
	rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	if (rc < 0 && errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		switch (e) {
		case EADDRNOTAVAIL: /* no local port free right now */
		case EAGAIN:
		case ENOBUFS:
		case ENOMEM:
			return -1;
		case ECONNREFUSED:
			c->pr[idx].tries++;
			c->sent++;
			resolve(c, idx, ST_CLOSED, (nu_now_ns() - now) / 1000);
			return 0;
		case ENETUNREACH:
		case EHOSTUNREACH:
		case EACCES:
		case EPERM:
			c->pr[idx].tries++;
			resolve(c, idx, ST_FILTERED, 0);
			return 0;
		default:
			die("check: connect: %s", strerror(e));
		}
	}
	c->pr[idx].tries++;
	c->sent++;
	s = c->free_head;
	c->free_head = c->conns[s].next;
	c->conns[s] = (struct conn){.fd = fd, .idx = (uint32_t)idx, .sent_ns = now,
				    .prev = c->live_tail, .next = -1};
	if (c->live_tail >= 0)
		c->conns[c->live_tail].next = s;
	else
		c->live_head = s;
	c->live_tail = s;
	c->live++;
	ev.events = EPOLLOUT | EPOLLERR | EPOLLHUP;
	ev.data.u64 = (uint64_t)s;
	if (epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev))
		die("check: epoll_ctl: %s", strerror(errno));
	return 0;
}

static void connect_event(struct check *c, int s, uint64_t now)
{
	struct conn *k = &c->conns[s];
	int err = 0, st;
	socklen_t len = sizeof(err);
	if (k->fd < 0)
		return;
	getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	switch (err) {
	case 0: st = ST_OPEN; break;
	case ECONNREFUSED: st = ST_CLOSED; break; /* a RST (or ICMP port unreachable) */
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EACCES:
	case EPERM:
	case EHOSTDOWN:
	case ENONET:
	case EPROTO:
		st = ST_FILTERED;
		break;
	case ETIMEDOUT:
		conn_unlink(c, s); /* no answer: the round decides */
		return;
	default:
		st = ST_FILTERED;
		break;
	}
	resolve(c, k->idx, st, (now - k->sent_ns) / 1000);
	conn_unlink(c, s);
}

static void connect_expire(struct check *c, uint64_t now)
{
	uint64_t t = (uint64_t)c->timeout_ms * 1000000ull;
	while (c->live_head >= 0 && now - c->conns[c->live_head].sent_ns >= t) {
		int s = c->live_head;
		struct pollfd pfd = {.fd = c->conns[s].fd, .events = POLLOUT};
		/* the answer may be in and its event not read yet (we were busy
		 * sending): ask the socket itself before calling it silent */
		if (poll(&pfd, 1, 0) > 0 && pfd.revents)
			connect_event(c, s, now);
		else
			conn_unlink(c, s);
	}
}

/* ---- syn mode ---- */

static uint32_t syn_cookie(const struct check *c, uint32_t dst, uint16_t dport, uint16_t sport)
{
	uint32_t in[3] = {dst, dport, sport};
	return (uint32_t)nu_siphash(&c->key, in, sizeof(in));
}

static uint16_t syn_sport(const struct check *c, uint32_t dst, uint16_t dport, unsigned try)
{
	uint32_t in[3] = {dst, dport, 0xffffffffu};
	uint64_t h = nu_siphash(&c->key, in, sizeof(in));
	return (uint16_t)(c->sport_lo + (h + try) % c->sport_n);
}

/* Source ports the kernel will not hand to its own sockets: outside
 * ip_local_port_range, so no local connection shares our 4-tuples and
 * the kernel RSTs every SYN/ACK we provoke. */
static void pick_sports(struct check *c)
{
	unsigned lo = 32768, hi = 60999;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	if (f) {
		if (fscanf(f, "%u %u", &lo, &hi) != 2 || lo > hi || hi > 65535)
			lo = 32768, hi = 60999;
		fclose(f);
	}
	if (65535 - hi >= 1024) { /* above the range (61000-65535 by default) */
		c->sport_lo = (uint16_t)(hi + 1);
		c->sport_n = (uint16_t)(65535 - hi);
	} else if (lo > 1024 + 1024) { /* else below it, clear of the well-known ports */
		c->sport_lo = 1024;
		c->sport_n = (uint16_t)(lo - 1024);
	} else {
		die("check: ip_local_port_range %u-%u leaves no source ports for --mode syn", lo, hi);
	}
}

/* 1 when raw sockets and capture work (CAP_NET_RAW), else 0 and why in ERR. */
static int syn_setup(struct check *c, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE], filt[400];
	struct bpf_program prog;
	struct sock_filter none = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog drop_all = {.len = 1, .filter = &none};
	int dlt;
	struct epoll_event ev = {.events = EPOLLIN};

	c->raw = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);
	if (c->raw < 0) {
		snprintf(err, errlen, "raw socket: %s", strerror(errno));
		return 0;
	}
	/* the raw socket only sends: a copy of every TCP segment would queue
	 * on it otherwise */
	setsockopt(c->raw, SOL_SOCKET, SO_ATTACH_FILTER, &drop_all, sizeof(drop_all));
	pick_sports(c);
	c->pc = pcap_create("any", ebuf);
	if (!c->pc) {
		snprintf(err, errlen, "pcap: %.200s", ebuf);
		return 0;
	}
	pcap_set_snaplen(c->pc, 160);
	pcap_set_promisc(c->pc, 0);
	pcap_set_immediate_mode(c->pc, 1);
	pcap_set_buffer_size(c->pc, 64 << 20);
	if (pcap_activate(c->pc) < 0) {
		snprintf(err, errlen, "pcap: %.200s", pcap_geterr(c->pc));
		pcap_close(c->pc);
		c->pc = NULL;
		return 0;
	}
	pcap_setdirection(c->pc, PCAP_D_IN);
	dlt = pcap_datalink(c->pc);
	switch (dlt) {
	case DLT_LINUX_SLL: c->linkoff = 16; break;
	case DLT_LINUX_SLL2: c->linkoff = 20; break;
	case DLT_EN10MB: c->linkoff = 14; break;
	case DLT_RAW: c->linkoff = 0; break;
	default: die("check: unexpected capture link type %d", dlt);
	}
	/* replies to our source ports: SYN/ACK or RST; and ICMP unreachables */
	snprintf(filt, sizeof(filt),
		 "(tcp and dst portrange %u-%u and (tcp[13] & 4 != 0 or tcp[13] & 0x12 == 0x12))"
		 " or (icmp and icmp[0] == 3)",
		 c->sport_lo, c->sport_lo + c->sport_n - 1);
	if (pcap_compile(c->pc, &prog, filt, 1, PCAP_NETMASK_UNKNOWN) ||
	    pcap_setfilter(c->pc, &prog))
		die("check: pcap filter: %s", pcap_geterr(c->pc));
	pcap_freecode(&prog);
	if (pcap_setnonblock(c->pc, 1, ebuf))
		die("check: pcap: %s", ebuf);
	ev.data.u64 = UINT64_MAX;
	if (epoll_ctl(c->ep, EPOLL_CTL_ADD, pcap_get_selectable_fd(c->pc), &ev))
		die("check: epoll_ctl: %s", strerror(errno));
	c->src = calloc(c->hosts.n, sizeof(*c->src));
	if (!c->src)
		die("out of memory");
	return 1;
}

static uint32_t source_for(struct check *c, size_t h)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = c->hosts.v[h].addr,
				  .sin_port = htons(9)};
	socklen_t len = sizeof(sin);
	int fd;
	if (c->src[h])
		return c->src[h];
	/* a connected UDP socket asks the routing table; it sends nothing */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("check: socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		c->src[h] = sin.sin_addr.s_addr;
	close(fd);
	return c->src[h];
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static int syn_send(struct check *c, uint64_t idx)
{
	size_t h = host_of(c, idx);
	uint32_t dst = c->hosts.v[h].addr, src = source_for(c, h), sum = 0;
	uint16_t dport = port_of(c, h, idx), sport;
	uint32_t sent_us;
	uint8_t seg[24];
	struct tcphdr *t = (struct tcphdr *)seg;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = dst};
	size_t i;
	struct probe *p = &c->pr[idx];
	if (!src) {
		resolve(c, idx, ST_FILTERED, 0); /* no route */
		p->tries++;
		return 0;
	}
	sport = syn_sport(c, dst, dport, p->tries);
	memset(seg, 0, sizeof(seg));
	t->source = htons(sport);
	t->dest = htons(dport);
	t->seq = htonl(syn_cookie(c, dst, dport, sport));
	t->doff = 6;
	t->syn = 1;
	t->window = htons(64240);
	/* MSS 1460: a SYN like any other, so nothing treats it specially */
	seg[20] = 2, seg[21] = 4, seg[22] = 1460 >> 8, seg[23] = 1460 & 0xff;
	/* RFC 9293 3.1: checksum over the pseudo-header and the segment */
	sum += (ntohl(src) >> 16) + (ntohl(src) & 0xffff) + (ntohl(dst) >> 16) +
	       (ntohl(dst) & 0xffff) + IPPROTO_TCP + sizeof(seg);
	for (i = 0; i < sizeof(seg); i += 2)
		sum += (uint32_t)(seg[i] << 8 | seg[i + 1]);
	t->check = htons(csum_fold(sum));
	/* before sendto: on a veth the answer can be captured before it returns */
	sent_us = (uint32_t)(wall_us() - c->t0_wall);
	if (sendto(c->raw, seg, sizeof(seg), 0, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		switch (errno) {
		case ENOBUFS:
		case EAGAIN:
		case ENOMEM:
			c->syn_enobufs++;
			return -1; /* the queue is full: the same probe a bit later */
		case EHOSTUNREACH:
		case ENETUNREACH:
		case EACCES:
		case EPERM:
			p->tries++;
			resolve(c, idx, ST_FILTERED, 0);
			return 0;
		default:
			die("check: sendto: %s", strerror(errno));
		}
	}
	p->tries++;
	p->sent_us = sent_us;
	c->sent++;
	return 0;
}

static void syn_reply(u_char *arg, const struct pcap_pkthdr *ph, const u_char *pkt)
{
	struct check *c = (struct check *)arg;
	const uint8_t *ip = pkt + c->linkoff, *l4;
	size_t caplen = ph->caplen, ihl;
	uint32_t saddr, dst, seqack;
	uint16_t port, ours;
	long h;
	long long idx;
	int state;
	unsigned try;
	uint64_t rx_us = (uint64_t)ph->ts.tv_sec * 1000000u + (uint64_t)ph->ts.tv_usec, rtt;
	if (caplen < (size_t)c->linkoff + 20 || (ip[0] >> 4) != 4)
		return;
	caplen -= (size_t)c->linkoff;
	ihl = (size_t)(ip[0] & 15) * 4;
	if (ihl < 20 || caplen < ihl + 20)
		return;
	l4 = ip + ihl;
	memcpy(&saddr, ip + 12, 4);
	if (ip[9] == IPPROTO_TCP) {
		/* SYN/ACK or RST: ack must be our cookie + 1 (RFC 9293 3.10.7.3) */
		port = (uint16_t)(l4[0] << 8 | l4[1]);
		ours = (uint16_t)(l4[2] << 8 | l4[3]);
		memcpy(&seqack, l4 + 8, 4);
		seqack = ntohl(seqack) - 1;
		dst = saddr;
		state = (l4[13] & 0x04) ? ST_CLOSED : ST_OPEN;
		if (!(l4[13] & 0x10))
			return; /* a RST without ACK does not answer a SYN */
	} else if (ip[9] == IPPROTO_ICMP) {
		/* RFC 792 destination unreachable: our IP header + 8 bytes of TCP */
		const uint8_t *in = l4 + 8;
		size_t ihl2;
		if (caplen < ihl + 8 + 20)
			return;
		ihl2 = (size_t)(in[0] & 15) * 4;
		if (in[9] != IPPROTO_TCP || ihl2 < 20 || caplen < ihl + 8 + ihl2 + 8)
			return;
		memcpy(&dst, in + 16, 4);
		ours = (uint16_t)(in[ihl2] << 8 | in[ihl2 + 1]);
		port = (uint16_t)(in[ihl2 + 2] << 8 | in[ihl2 + 3]);
		memcpy(&seqack, in + ihl2 + 4, 4);
		seqack = ntohl(seqack);
		state = ST_FILTERED;
	} else {
		return;
	}
	h = nu_hosts_find(&c->hosts, dst);
	if (h < 0 || (idx = probe_of(c, (size_t)h, port)) < 0)
		return;
	if (seqack != syn_cookie(c, dst, port, ours))
		return; /* not ours: another scanner, a stale or forged segment */
	if (ours < c->sport_lo || ours - c->sport_lo >= c->sport_n)
		return;
	try = (unsigned)((ours - c->sport_lo + c->sport_n -
			  (syn_sport(c, dst, port, 0) - c->sport_lo)) % c->sport_n);
	if (try >= c->pr[idx].tries)
		return;
	rtt = rx_us - c->t0_wall > c->pr[idx].sent_us ? rx_us - c->t0_wall - c->pr[idx].sent_us : 0;
	if (try + 1u != c->pr[idx].tries)
		c->late++; /* an earlier try answered: the RTT is a lower bound */
	resolve(c, (uint64_t)idx, state, rtt);
}

/* ---- the loop ---- */

/* Handles whatever arrives until DEADLINE (monotonic ns) or sooner when
 * something happened and RETURN_EARLY. */
static void pump(struct check *c, uint64_t deadline, bool return_early)
{
	struct epoll_event evs[1024];
	for (;;) {
		uint64_t now = nu_now_ns(), wait;
		struct timespec ts;
		int n, i;
		if (c->mode == MODE_CONNECT) {
			connect_expire(c, now);
			if (c->live_head >= 0) {
				uint64_t exp = c->conns[c->live_head].sent_ns +
					       (uint64_t)c->timeout_ms * 1000000ull;
				if (exp < deadline)
					deadline = exp;
			}
		}
		progress(c, false);
		if (interrupted)
			return;
		wait = deadline > now ? deadline - now : 0;
		ts.tv_sec = (time_t)(wait / 1000000000ull);
		ts.tv_nsec = (long)(wait % 1000000000ull);
		n = epoll_pwait2(c->ep, evs, 1024, &ts, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("check: epoll_wait: %s", strerror(errno));
		}
		now = nu_now_ns();
		for (i = 0; i < n; i++) {
			if (evs[i].data.u64 == UINT64_MAX)
				pcap_dispatch(c->pc, -1, syn_reply, (u_char *)c);
			else
				connect_event(c, (int)evs[i].data.u64, now);
		}
		if ((return_early && n > 0) || now >= deadline)
			return;
	}
}

static void run(struct check *c)
{
	unsigned max_rounds = c->retries + 1 + MAX_ROUNDS_EXTRA;
	double rate = c->rate;
	uint64_t prev_resolved = 0;
	for (c->round = 1; c->round <= max_rounds && c->resolved < c->total && !interrupted;
	     c->round++) {
		struct nu_bucket b;
		struct nu_perm perm;
		struct nu_key k = c->key;
		uint64_t i, last_send = nu_now_ns(), before = c->retry_answers, got;
		k.k1 ^= c->round; /* a fresh order each round */
		nu_perm_init(&perm, c->total, &k);
		nu_bucket_init(&b, rate, nu_now_ns());
		for (i = 0; i < c->total && !interrupted; i++) {
			uint64_t idx = nu_perm_at(&perm, i);
			if (c->pr[idx].state != ST_PENDING)
				continue;
			for (;;) {
				uint64_t now = nu_now_ns(), w = nu_bucket_wait(&b, now);
				if (w) {
					pump(c, now + w, false);
					continue;
				}
				if (c->pr[idx].state != ST_PENDING)
					break;
				if ((c->mode == MODE_CONNECT ? connect_send(c, idx) : syn_send(c, idx)) == 0) {
					nu_bucket_take(&b, now);
					last_send = now;
					break;
				}
				/* no slot, port or buffer: let answers and expiries free one */
				pump(c, now + 1000000ull, true);
			}
		}
		/* everything of this round has its full timeout */
		pump(c, last_send + (uint64_t)c->timeout_ms * 1000000ull, false);
		while (c->mode == MODE_CONNECT && c->live_head >= 0 && !interrupted)
			pump(c, nu_now_ns() + 1000000ull, false);
		got = c->resolved - prev_resolved;
		prev_resolved = c->resolved;
		/* Accuracy over speed: answers on a retry mean probes or replies
		 * were lost, so later rounds go slower, and as long as rounds keep
		 * finding answers we go on past --retries (a few rounds at most). */
		if (c->retry_answers > before)
			rate = rate / 2 < 1 ? 1 : rate / 2;
		if (c->round >= c->retries + 1 && (got == 0 || c->round == 1 || c->retry_answers == before))
			break;
	}
	progress(c, true);
}

static void print_results(struct check *c)
{
	size_t h;
	char buf[INET_ADDRSTRLEN];
	for (h = 0; h < c->hosts.n; h++) {
		const char *name = nu_host_str(&c->hosts.v[h], buf);
		uint64_t idx;
		for (idx = c->off[h]; idx < c->off[h + 1]; idx++) {
			const struct probe *p = &c->pr[idx];
			uint16_t port = port_of(c, h, idx);
			bool has_rtt = p->state != ST_PENDING && (p->rtt_us || p->state != ST_FILTERED);
			if (c->open_only && p->state != ST_OPEN)
				continue;
			if (c->json) {
				fputs("{\"host\":", stdout);
				nu_json_str(stdout, name);
				printf(",\"port\":%u,\"state\":\"%s\",\"rtt_ms\":", port,
				       state_name[p->state]);
				if (has_rtt)
					printf("%.3f}\n", p->rtt_us / 1000.0);
				else
					fputs("null}\n", stdout);
			} else if (has_rtt) {
				printf("%s %u %s %.3f\n", name, port, state_name[p->state],
				       p->rtt_us / 1000.0);
			} else {
				printf("%s %u %s -\n", name, port, state_name[p->state]);
			}
		}
	}
	fflush(stdout);
}

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{"mode", required_argument, 0, 'm'},   {"rate", required_argument, 0, 'r'},
		{"retries", required_argument, 0, 'R'}, {"timeout", required_argument, 0, 't'},
		{"json", no_argument, 0, 'j'},          {"open-only", no_argument, 0, 'o'},
		{"help", no_argument, 0, 'h'},          {0, 0, 0, 0},
	};
	struct check c;
	int opt, i;
	long long v;
	char err[256];
	bool all_open = true;
	struct sigaction sa;

	memset(&c, 0, sizeof(c));
	c.rate = 1000;
	c.retries = 2;
	c.timeout_ms = 1000;
	c.raw = -1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			if (!strcmp(optarg, "auto")) c.mode = MODE_AUTO;
			else if (!strcmp(optarg, "connect")) c.mode = MODE_CONNECT;
			else if (!strcmp(optarg, "syn")) c.mode = MODE_SYN;
			else if (!strcmp(optarg, "stack")) c.mode = MODE_STACK;
			else die("check: --mode: '%s' is not auto, connect, syn or stack", optarg);
			break;
		case 'r':
			if ((v = nu_parse_num(optarg, 1, 10000000)) < 0)
				die("check: --rate: '%s' is not a number from 1 to 10000000", optarg);
			c.rate = (unsigned)v;
			break;
		case 'R':
			if ((v = nu_parse_num(optarg, 0, 20)) < 0)
				die("check: --retries: '%s' is not a number from 0 to 20", optarg);
			c.retries = (unsigned)v;
			break;
		case 't':
			if ((v = nu_parse_num(optarg, 1, 600000)) < 0)
				die("check: --timeout: '%s' is not a number of ms from 1 to 600000", optarg);
			c.timeout_ms = (unsigned)v;
			break;
		case 'j': c.json = true; break;
		case 'o': c.open_only = true; break;
		case 'h': fputs(check_usage, stdout); return 0;
		default:
			die("check: unknown or incomplete option '%s' (try tapir check --help)",
			    argv[optind - 1]);
		}
	}
	if (c.mode == MODE_STACK)
		die("check: --mode stack is not available yet (it needs tapir's TCP core); use connect or syn");
	if (optind >= argc)
		die("check: no target (try tapir check --help)");
	for (i = optind; i < argc; i++)
		add_target(&c, argv[i]);
	index_probes(&c);
	nu_key_random(&c.key);
	c.ep = epoll_create1(EPOLL_CLOEXEC);
	if (c.ep < 0)
		die("check: epoll_create1: %s", strerror(errno));
	if (c.mode == MODE_SYN || c.mode == MODE_AUTO) {
		if (syn_setup(&c, err, sizeof(err))) {
			c.mode = MODE_SYN;
		} else if (c.mode == MODE_SYN) {
			die("check: --mode syn needs CAP_NET_RAW (%s); try --mode connect", err);
		} else {
			if (c.raw >= 0)
				close(c.raw);
			c.raw = -1;
			c.mode = MODE_CONNECT;
		}
	}
	if (c.mode == MODE_CONNECT)
		connect_setup(&c);
	c.progress = isatty(2);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	c.t0_ns = nu_now_ns();
	c.t0_wall = wall_us();
	run(&c);
	if (interrupted)
		die("check: interrupted");
	print_results(&c);
	if (c.pc) {
		struct pcap_stat ps;
		if (pcap_stats(c.pc, &ps) == 0 && ps.ps_drop)
			fprintf(stderr, "tapir check: warning: the capture dropped %u packets: replies are being lost; lower --rate\n",
				ps.ps_drop);
		pcap_close(c.pc);
	}
	if (c.retry_answers)
		fprintf(stderr, "tapir check: warning: %llu ports answered only on a retry: probes or replies are being lost (rate too high?); later rounds went slower\n",
			(unsigned long long)c.retry_answers);
	for (uint64_t k = 0; k < c.total; k++)
		if (c.pr[k].state != ST_OPEN)
			all_open = false;
	if (c.conns) {
		while (c.live_head >= 0)
			conn_unlink(&c, c.live_head);
		free(c.conns);
	}
	if (c.raw >= 0)
		close(c.raw);
	close(c.ep);
	for (size_t k = 0; k < c.nsets; k++)
		free(c.sets[k].p);
	for (size_t k = 0; k < c.ntstr; k++)
		free(c.tstr[k]);
	free(c.tstr);
	free(c.sets);
	free(c.off);
	free(c.pr);
	free(c.src);
	nu_hosts_free(&c.hosts);
	return all_open ? 0 : 1;
}
