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
 *  stack    tapir's own stack, with an address and a MAC of its own, on an
 *           interface (AF_PACKET, beside the kernel's stack, which drops
 *           frames not for its MAC) or a TAP device.  The same cookie SYNs,
 *           sent with tapir_tcp_send_raw(); replies seen by TCP_RX / IP_RX
 *           hooks, then left to the core, which has no socket for them and
 *           answers a SYN/ACK with the RST itself (RFC 9293 3.10.7.1).  The
 *           kernel never sees these connections.
 *
 * How long to wait for answers adapts like a TCP retransmission timer
 * (RFC 6298): SRTT and RTTVAR from the answers seen, and a round ends
 * 4 x (SRTT + 4 x RTTVAR) after its last probe (at least WAIT_FLOOR_US, at
 * most --timeout, the user's bound, which is also the wait before any
 * answer came).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
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

#include <tapir/hook.h>
#include <tapir/link.h>
#include <tapir/tcp.h>

#include "netutil.h"
#include "commands.h"
#include "util.h"

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
	"                  stack (tapir's own stack and address: needs --iface or\n"
	"                  --tap, and --addr)\n"
	"  --rate PPS      probes per second, all hosts together (default 1000)\n"
	"  --retries N     re-probe unanswered ports N more times (default 2)\n"
	"  --timeout MS    wait at most this long for an answer (default 1000); the wait\n"
	"                  adapts to the round-trip times seen, like TCP's RTO\n"
	"  --json          one JSON object per line: host, port, state, rtt_ms\n"
	"  --open-only     print open ports only\n"
	"\n"
	"--mode stack only:\n"
	"  --iface IF      send and receive on interface IF (AF_PACKET), beside the\n"
	"                  kernel's stack, with tapir's own MAC and address\n"
	"  --tap NAME      or on the TAP device NAME (created when absent)\n"
	"  --peer-addr A.B.C.D/LEN  with --tap: the kernel's address on the TAP\n"
	"  --addr A.B.C.D/LEN       tapir's address and prefix (required)\n"
	"  --gateway IP    the router for targets off that subnet\n"
	"  --mac MAC       tapir's MAC (default: random, locally administered)\n"
	"\n"
	"Exit status: 0 every port open, 1 some closed or filtered, 2 error.\n";

enum { ST_PENDING, ST_OPEN, ST_CLOSED, ST_FILTERED };
static const char *const state_name[] = {"filtered", "open", "closed", "filtered"};

enum mode { MODE_AUTO, MODE_CONNECT, MODE_SYN, MODE_STACK };

#define MAX_PROBES (1u << 23) /* 12 bytes each: ~100 MB at most */
#define MAX_ROUNDS_EXTRA 4    /* extra rounds while answers keep coming */
/* The adaptive wait's floor.  nmap -T5 never waits less than 50 ms; an
 * answer later than this is still taken in the next round (and makes the
 * wait back off), so a shorter floor costs a re-probe, never a result. */
#define WAIT_FLOOR_US 20000
#define MAX_BACKOFF 6

/* stack mode: the state of a next hop's ARP entry, as far as we know */
enum { NH_UNKNOWN, NH_PENDING, NH_RESOLVED, NH_FAILED };
#define STACK_SPORT_LO 32768 /* no sockets in our core: any range will do */
#define STACK_ARP_QUEUE 256  /* probes queued behind one ARP request */
#define STACK_PENDING_MAX 64 /* next hops being resolved at once */

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
	/* the adaptive wait (RFC 6298 2.2/2.3, in µs) */
	double srtt, rttvar;
	bool have_rtt;
	unsigned backoff; /* doublings after answers that came too late */
	uint64_t samples;
	/* stack mode */
	const char *iface, *tap_name;
	uint32_t my_addr, my_mask, gw, peer; /* host order */
	unsigned my_plen, peer_plen;
	bool have_addr, have_gw, have_mac, have_peer;
	uint8_t mac[6];
	struct tapir_stack *st;
	struct tapir_afp *afp;
	struct tapir_tap *tap;
	int ifi, lfd;
	tapir_time_t st_next;
	uint8_t *rxbuf;
	size_t rxcap;
	struct nu_hosts nh;   /* next hops: the targets on our subnet, else the gateway */
	uint32_t *host_nh;    /* per host: its next hop's index */
	uint8_t *nh_state;
	uint64_t *nh_since;   /* ns: when its first probe went out */
	size_t nh_pending;
	uint32_t pend[STACK_PENDING_MAX]; /* the next hops being resolved */
	unsigned npend;
	tapir_time_t arp_give_up_us;
	uint64_t link_drops;
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

/* RFC 6298 2.2 and 2.3: the first sample sets SRTT = R, RTTVAR = R/2;
 * later ones RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R|, SRTT = 7/8 SRTT + 1/8 R.
 * Only unambiguous samples come here (Karn: never from an answer that may
 * belong to an earlier try). */
static void rtt_sample(struct check *c, uint64_t rtt_us)
{
	double r = (double)rtt_us;
	if (!c->have_rtt) {
		c->srtt = r;
		c->rttvar = r / 2;
		c->have_rtt = true;
	} else {
		c->rttvar = 0.75 * c->rttvar + 0.25 * fabs(c->srtt - r);
		c->srtt = 0.875 * c->srtt + 0.125 * r;
	}
	c->samples++;
}

/* How long to wait for answers after a probe, in ns: 4 x the RTO of
 * RFC 6298 2.3 (SRTT + 4 RTTVAR; a scan's probes come in bursts, and the
 * last ones of a burst queue behind the others at the target), doubled for
 * every round in which an answer came after its wait (RFC 6298 5.5's
 * back-off), at least WAIT_FLOOR_US; --timeout is the user's upper bound,
 * and the whole wait while there is no sample (RFC 6298 2.1). */
static uint64_t wait_ns(const struct check *c)
{
	double w;
	uint64_t cap = (uint64_t)c->timeout_ms * 1000000ull;
	if (!c->have_rtt)
		return cap;
	w = 4.0 * (c->srtt + 4.0 * c->rttvar) * (double)(1u << c->backoff);
	if (w < WAIT_FLOOR_US)
		w = WAIT_FLOOR_US;
	w *= 1000.0;
	return w >= (double)cap ? cap : (uint64_t)w;
}

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
	/* one kernel retransmission at most: our rounds do the retrying (the
	 * first comes after the initial RTO, 1 s: RFC 6298 2.1; a shorter
	 * --timeout closes the socket before, and saves the system call) */
	if (c->timeout_ms >= 1000)
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
	if (c->pr[k->idx].state == ST_PENDING)
		rtt_sample(c, (now - k->sent_ns) / 1000);
	resolve(c, k->idx, st, (now - k->sent_ns) / 1000);
	conn_unlink(c, s);
}

static void connect_expire(struct check *c, uint64_t now)
{
	uint64_t t = wait_ns(c);
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

/* A SYN/ACK, RST or ICMP error about probe (DST, PORT) from our source port
 * OURS, carrying SEQACK (the ack number - 1, or the quoted sequence number),
 * seen RX_US after the start: credited only if SEQACK is the probe's
 * cookie.  syn and stack mode. */
static void credit(struct check *c, uint32_t dst, uint16_t port, uint16_t ours, uint32_t seqack,
		   int state, uint64_t rx_us)
{
	long h = nu_hosts_find(&c->hosts, dst);
	long long idx;
	unsigned try;
	uint64_t rtt;
	struct probe *p;
	if (h < 0 || (idx = probe_of(c, (size_t)h, port)) < 0)
		return;
	if (seqack != syn_cookie(c, dst, port, ours))
		return; /* not ours: another scanner, a stale or forged segment */
	if (ours < c->sport_lo || ours - c->sport_lo >= c->sport_n)
		return;
	p = &c->pr[idx];
	try = (unsigned)((ours - c->sport_lo + c->sport_n -
			  (syn_sport(c, dst, port, 0) - c->sport_lo)) % c->sport_n);
	if (try >= p->tries)
		return;
	rtt = rx_us > p->sent_us ? rx_us - p->sent_us : 0;
	if (p->state == ST_PENDING) {
		if (try + 1u != p->tries)
			c->late++; /* an earlier try answered: the RTT is a lower bound */
		else
			rtt_sample(c, rtt); /* the source port says which try: no ambiguity */
	}
	resolve(c, (uint64_t)idx, state, rtt);
}

static void syn_reply(u_char *arg, const struct pcap_pkthdr *ph, const u_char *pkt)
{
	struct check *c = (struct check *)arg;
	const uint8_t *ip = pkt + c->linkoff, *l4;
	size_t caplen = ph->caplen, ihl;
	uint32_t saddr, dst, seqack;
	uint16_t port, ours;
	int state;
	uint64_t rx_us = (uint64_t)ph->ts.tv_sec * 1000000u + (uint64_t)ph->ts.tv_usec;
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
	credit(c, dst, port, ours, seqack, state, rx_us > c->t0_wall ? rx_us - c->t0_wall : 0);
}

/* ---- stack mode ---- */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t since_start_us(const struct check *c) { return (nu_now_ns() - c->t0_ns) / 1000; }

/* TCP_RX: every segment before the core sees it.  A SYN/ACK or RST (with
 * ACK) to one of our probes is credited; then it goes on to the core, which
 * has no socket for it: RFC 9293 3.10.7.1 makes it answer the SYN/ACK with
 * <SEQ=SEG.ACK><CTL=RST> and drop the RST silently. */
static enum tapir_verdict stack_tcp_rx(void *arg, struct tapir_hook_pkt *p)
{
	struct check *c = arg;
	const uint8_t *th = p->data;
	uint8_t fl;
	if (p->len < 20 || p->dst != c->my_addr)
		return TAPIR_PASS;
	fl = th[13];
	if (!(fl & TAPIR_TH_ACK) || !((fl & TAPIR_TH_RST) || (fl & TAPIR_TH_SYN)))
		return TAPIR_PASS; /* a RST without ACK does not answer a SYN */
	credit(c, htonl(p->src), rd16(th), rd16(th + 2), rd32(th + 8) - 1,
	       (fl & TAPIR_TH_RST) ? ST_CLOSED : ST_OPEN, since_start_us(c));
	return TAPIR_PASS;
}

/* IP_RX: an ICMP destination unreachable (RFC 792) quoting one of our
 * probes (its IPv4 header and the first 8 bytes of TCP: ports and
 * sequence number) makes the port filtered. */
static enum tapir_verdict stack_ip_rx(void *arg, struct tapir_hook_pkt *p)
{
	struct check *c = arg;
	const uint8_t *ip = p->data, *m, *in;
	size_t ihl, ihl2;
	if (p->len < 20 || ip[9] != IPPROTO_ICMP)
		return TAPIR_PASS;
	ihl = (size_t)(ip[0] & 15) * 4;
	if (ihl < 20 || p->len < ihl + 8 + 20)
		return TAPIR_PASS;
	m = ip + ihl;
	if (m[0] != 3)
		return TAPIR_PASS;
	in = m + 8;
	ihl2 = (size_t)(in[0] & 15) * 4;
	if (in[9] != IPPROTO_TCP || ihl2 < 20 || p->len < ihl + 8 + ihl2 + 8 ||
	    rd32(in + 12) != c->my_addr)
		return TAPIR_PASS;
	credit(c, htonl(rd32(in + 16)), rd16(in + ihl2 + 2), rd16(in + ihl2), rd32(in + ihl2 + 4),
	       ST_FILTERED, since_start_us(c));
	return TAPIR_PASS; /* the core finds no socket for it and drops it */
}

/* LINK_RX: an ARP packet from a next hop we wait for means the core is
 * about to take its address and send what it queued for it. */

static enum tapir_verdict stack_link_rx(void *arg, struct tapir_hook_pkt *p)
{
	struct check *c = arg;
	const uint8_t *f = p->data;
	long i = -1;
	if (p->len >= 14 + 28 && rd16(f + 12) == 0x0806) {
		i = nu_hosts_find(&c->nh, htonl(rd32(f + 14 + 14))); /* sender address */
	} else if (p->len >= 14 + 20 && rd16(f + 12) == 0x0800 && c->nh_pending) {
		/* a target's packet (a SYN/ACK) came back, so a probe went out
		 * to it, through an address the core has resolved (it may have
		 * learned it without our seeing an ARP packet for it) */
		long h = nu_hosts_find(&c->hosts, htonl(rd32(f + 14 + 12)));
		if (h >= 0)
			i = (long)c->host_nh[h];
	}
	if (i >= 0 && c->nh_state[i] != NH_FAILED && c->nh_state[i] != NH_RESOLVED) {
		if (c->nh_state[i] == NH_PENDING)
			c->nh_pending--;
		c->nh_state[i] = NH_RESOLVED;
	}
	return TAPIR_PASS;
}

/* Hands every waiting frame to the core, then runs its timers. */
static void stack_rx(struct check *c)
{
	for (unsigned k = 0; k < 1u << 16; k++) {
		long n = c->afp ? tapir_afp_recv(c->afp, c->rxbuf, c->rxcap)
				: tapir_tap_recv(c->tap, c->rxbuf, c->rxcap);
		if (n == 0)
			break;
		if (n < 0)
			die("check: receiving on %s: %s", c->afp ? c->iface : c->tap_name, strerror((int)-n));
		tapir_stack_input(c->st, c->ifi, c->rxbuf, (size_t)n, nu_now_ns() / 1000);
	}
	c->st_next = tapir_stack_poll(c->st, nu_now_ns() / 1000);
}

/* Sends probe IDX as tapir_tcp_send_raw() SYN: 0 when sent (or queued
 * behind an ARP request in the core), -1 to try again a bit later. */
static int stack_send(struct check *c, uint64_t idx)
{
	size_t h = host_of(c, idx);
	uint32_t dst = c->hosts.v[h].addr;
	uint16_t dport = port_of(c, h, idx), sport;
	struct probe *p = &c->pr[idx];
	const struct tapir_stats *stats = tapir_stats(c->st);
	uint64_t errs = stats->tx_errors + stats->tx_nomem, sent_us;
	unsigned mtu = c->afp ? tapir_afp_mtu(c->afp) : tapir_tap_mtu(c->tap);
	struct tapir_tcp_out o;
	int rc;
	if (c->nh_state[c->host_nh[h]] == NH_FAILED) {
		/* no ARP answer from its next hop: nothing can reach it (and
		 * no try is counted: this is no answer to a retry) */
		resolve(c, idx, ST_FILTERED, 0);
		return 0;
	}
	sport = syn_sport(c, dst, dport, p->tries);
	memset(&o, 0, sizeof(o));
	o.laddr = c->my_addr;
	o.raddr = ntohl(dst);
	o.lport = sport;
	o.rport = dport;
	o.seq = syn_cookie(c, dst, dport, sport);
	o.flags = TAPIR_TH_SYN;
	o.wnd = 64240;
	/* an MSS option, like any SYN (RFC 9293 3.7.1) */
	o.mss = (uint16_t)(mtu > 1500 ? 1460 : mtu - 40);
	sent_us = since_start_us(c);
	rc = tapir_tcp_send_raw(c->st, &o, nu_now_ns() / 1000);
	if (stats->tx_errors + stats->tx_nomem != errs) {
		c->syn_enobufs++; /* the link's queue or our buffers are full */
		return -1;
	}
	p->tries++;
	if (rc < 0) { /* no route */
		resolve(c, idx, ST_FILTERED, 0);
		return 0;
	}
	p->sent_us = (uint32_t)sent_us;
	c->sent++;
	if (c->nh_state[c->host_nh[h]] == NH_UNKNOWN && c->npend < STACK_PENDING_MAX) {
		c->nh_state[c->host_nh[h]] = NH_PENDING;
		c->nh_since[c->host_nh[h]] = nu_now_ns();
		c->pend[c->npend++] = c->host_nh[h];
		c->nh_pending++;
	}
	return 0;
}

/* A next hop that did not answer ARP in the core's time (arp_retries
 * requests, arp_retry_us apart) is given up: its hosts are filtered. */
static void stack_expire_nh(struct check *c)
{
	uint64_t now = nu_now_ns();
	unsigned i, k = 0;
	for (i = 0; i < c->npend; i++) {
		uint32_t n = c->pend[i];
		if (c->nh_state[n] == NH_PENDING &&
		    now - c->nh_since[n] >= (uint64_t)c->arp_give_up_us * 1000) {
			c->nh_state[n] = NH_FAILED;
			c->nh_pending--;
		}
		if (c->nh_state[n] == NH_PENDING)
			c->pend[k++] = n;
	}
	c->npend = k;
}

/* tapir's address must be its own: if the kernel had it too, the kernel
 * would answer ARP for it and get the replies (and RST them). */
static void stack_addr_free(const struct check *c)
{
	struct ifaddrs *ifa, *i;
	if (getifaddrs(&ifa) < 0)
		return;
	for (i = ifa; i; i = i->ifa_next) {
		struct sockaddr_in sin;
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
			continue;
		memcpy(&sin, i->ifa_addr, sizeof(sin));
		if (ntohl(sin.sin_addr.s_addr) == c->my_addr) {
			char a[16], name[IF_NAMESIZE + 1];
			snprintf(name, sizeof(name), "%s", i->ifa_name); /* outlives the list */
			freeifaddrs(ifa);
			die("check: --addr %s is in use by interface %s in this namespace: tapir needs an address of its own",
			    tapir_ipv4_str(c->my_addr, a), name);
		}
	}
	freeifaddrs(ifa);
}

static void stack_setup(struct check *c)
{
	struct tapir_config cfg;
	char err[256], a[16], b[16];
	size_t h;
	unsigned mtu;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = UINT64_MAX - 1};
	uint64_t now_us;

	/* next hops: ARP is the core's job, but we pace the first probes so
	 * that none waits behind an unresolved address longer than needed */
	stack_addr_free(c);
	c->host_nh = malloc(c->hosts.n * sizeof(*c->host_nh));
	if (!c->host_nh)
		die("out of memory");
	for (h = 0; h < c->hosts.n; h++) {
		uint32_t d = ntohl(c->hosts.v[h].addr), nh = d;
		long i;
		if (d == c->my_addr)
			die("check: %s is tapir's own address (--addr)", tapir_ipv4_str(d, a));
		if ((d & c->my_mask) != (c->my_addr & c->my_mask)) {
			if (!c->have_gw)
				die("check: %s is not on %s/%u and there is no --gateway",
				    tapir_ipv4_str(d, a), tapir_ipv4_str(c->my_addr & c->my_mask, b),
				    c->my_plen);
			nh = c->gw;
		}
		tapir_ipv4_str(nh, a);
		if (nu_hosts_add(&c->nh, a, NULL, NULL, err, sizeof(err)))
			die("check: %s", err);
		i = nu_hosts_find(&c->nh, htonl(nh));
		c->host_nh[h] = (uint32_t)i;
	}
	c->nh_state = calloc(c->nh.n, 1);
	c->nh_since = calloc(c->nh.n, sizeof(*c->nh_since));
	if (!c->nh_state || !c->nh_since)
		die("out of memory");

	tapir_config_default(&cfg);
	cfg.seed = c->key.k0 ^ c->key.k1;
	/* one entry per next hop (the core searches it linearly: bounded) */
	cfg.arp_cache_size = c->nh.n + 16 < 1024 ? (unsigned)c->nh.n + 16 : 1024;
	/* an entry that expires in a long run is resolved again with probes
	 * queued behind it; room for them, and buffers for all those queues */
	cfg.arp_queue_len = STACK_ARP_QUEUE;
	cfg.pkt_small = 8192;
	/* give up on a silent next hop as a probe would: 1 + --retries tries,
	 * --timeout apart */
	cfg.arp_retries = c->retries + 1;
	cfg.arp_retry_us = (tapir_time_t)c->timeout_ms * 1000;
	c->arp_give_up_us = cfg.arp_retries * cfg.arp_retry_us + TAPIR_MS(100);
	cfg.tcp_sockets = 16; /* we open none: the core only answers */
	c->st = tapir_stack_new(&cfg);
	if (!c->st)
		die("check: out of memory for the stack");
	if (c->iface) {
		c->afp = tapir_afp_open(c->iface, c->mac, err, sizeof(err));
		if (!c->afp)
			die("check: --iface: %s", err);
		c->lfd = tapir_afp_fd(c->afp);
		mtu = tapir_afp_mtu(c->afp);
	} else {
		c->tap = tapir_tap_open(c->tap_name, err, sizeof(err));
		if (!c->tap)
			die("check: --tap: %s", err);
		if (c->have_peer &&
		    tapir_tap_set_peer_addr(c->tap, c->peer, c->peer_plen, err, sizeof(err)))
			die("check: --peer-addr: %s", err);
		c->lfd = tapir_tap_fd(c->tap);
		mtu = tapir_tap_mtu(c->tap);
	}
	c->rxcap = (size_t)mtu + 64 > 65600 ? (size_t)mtu + 64 : 65600;
	c->rxbuf = malloc(c->rxcap);
	if (!c->rxbuf)
		die("out of memory");
	c->ifi = tapir_iface_add(c->st, c->afp ? tapir_afp_link(c->afp) : tapir_tap_link(c->tap),
				 c->mac, mtu);
	if (c->ifi < 0)
		die("check: cannot add the interface to the stack (%s)", strerror(-c->ifi));
	now_us = nu_now_ns() / 1000;
	if (tapir_iface_set_ipv4(c->st, c->ifi, c->my_addr, c->my_plen, now_us) < 0)
		die("check: cannot give the stack the address %s/%u", tapir_ipv4_str(c->my_addr, a),
		    c->my_plen);
	if (c->have_gw && tapir_route_add(c->st, 0, 0, c->gw, c->ifi) < 0)
		die("check: cannot add the default route via %s", tapir_ipv4_str(c->gw, a));
	if (tapir_hook_add(c->st, TAPIR_HOOK_TCP_RX, stack_tcp_rx, c) ||
	    tapir_hook_add(c->st, TAPIR_HOOK_IP_RX, stack_ip_rx, c) ||
	    tapir_hook_add(c->st, TAPIR_HOOK_LINK_RX, stack_link_rx, c))
		die("check: cannot add the stack's hooks");
	c->st_next = tapir_stack_poll(c->st, now_us);
	if (epoll_ctl(c->ep, EPOLL_CTL_ADD, c->lfd, &ev))
		die("check: epoll_ctl: %s", strerror(errno));
	c->sport_lo = STACK_SPORT_LO;
	c->sport_n = (uint16_t)(65536 - STACK_SPORT_LO);
}

static void stack_close(struct check *c)
{
	if (c->afp) {
		uint64_t d = 0;
		if (tapir_afp_drops(c->afp, &d) == 0)
			c->link_drops += d;
		tapir_afp_close(c->afp);
	}
	if (c->tap)
		tapir_tap_close(c->tap);
	if (c->st)
		tapir_stack_free(c->st);
	free(c->rxbuf);
	free(c->host_nh);
	free(c->nh_state);
	free(c->nh_since);
	nu_hosts_free(&c->nh);
}

/* ---- the loop ---- */

/* Handles whatever arrives until DEADLINE (monotonic ns) or sooner when
 * something happened and RETURN_EARLY. */
static void pump(struct check *c, uint64_t deadline, bool return_early)
{
	struct epoll_event evs[1024];
	bool first = true;
	for (;;) {
		uint64_t now = nu_now_ns(), wait;
		struct timespec ts;
		int n, i;
		/* connect: read what epoll has first (a batch per call) so that
		 * the expiry below rarely has to ask a socket itself */
		if (c->mode == MODE_CONNECT && !first) {
			connect_expire(c, now);
			if (c->live_head >= 0) {
				uint64_t exp = c->conns[c->live_head].sent_ns + wait_ns(c);
				if (exp < deadline)
					deadline = exp;
			}
		}
		progress(c, false);
		if (interrupted)
			return;
		wait = deadline > now ? deadline - now : 0;
		if (first && c->mode == MODE_CONNECT)
			wait = 0;
		if (c->mode == MODE_STACK) {
			/* the core's timers (ARP retries, announcements) are ours to run */
			if (c->st_next != TAPIR_TIME_NEVER && c->st_next * 1000 <= now)
				c->st_next = tapir_stack_poll(c->st, now / 1000);
			if (c->st_next != TAPIR_TIME_NEVER && c->st_next * 1000 < now + wait)
				wait = c->st_next * 1000 > now ? c->st_next * 1000 - now : 0;
		}
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
			else if (evs[i].data.u64 == UINT64_MAX - 1)
				stack_rx(c);
			else
				connect_event(c, (int)evs[i].data.u64, now);
		}
		if (first && c->mode == MODE_CONNECT) {
			first = false;
			if (n == 1024)
				first = true; /* more waiting: another batch */
			continue;
		}
		first = false;
		if ((return_early && n > 0) || now >= deadline)
			return;
	}
}

static int send_probe(struct check *c, uint64_t idx)
{
	switch (c->mode) {
	case MODE_CONNECT: return connect_send(c, idx);
	case MODE_STACK: return stack_send(c, idx);
	default: return syn_send(c, idx);
	}
}

/* Stack mode, before the rounds: the first probe to each next hop, paced
 * and at most STACK_PENDING_MAX at once, then a wait until every one is
 * resolved or given up.  The core queues each behind its ARP request and
 * sends it on the reply; the rounds then find every address resolved, so
 * no probe waits in an ARP queue (where a full queue would lose some) and
 * none goes to a host that never answered ARP. */
static void stack_resolve(struct check *c)
{
	struct nu_bucket b;
	size_t h;
	nu_bucket_init(&b, c->rate, nu_now_ns());
	c->round = 1;
	for (h = 0; h < c->hosts.n && !interrupted; h++) {
		if (c->nh_state[c->host_nh[h]] != NH_UNKNOWN || c->off[h] == c->off[h + 1])
			continue;
		for (;;) {
			uint64_t now = nu_now_ns(), w = nu_bucket_wait(&b, now);
			stack_expire_nh(c);
			if (w) {
				pump(c, now + w, false);
				continue;
			}
			if (c->npend >= STACK_PENDING_MAX) {
				pump(c, now + 1000000ull, true);
				continue;
			}
			if (c->nh_state[c->host_nh[h]] != NH_UNKNOWN ||
			    stack_send(c, c->off[h]) == 0) {
				nu_bucket_take(&b, now);
				break;
			}
			pump(c, now + 1000000ull, true);
		}
	}
	while (c->npend && !interrupted) {
		pump(c, nu_now_ns() + 1000000ull, true);
		stack_expire_nh(c);
	}
}

static void run(struct check *c)
{
	unsigned max_rounds = c->retries + 1 + MAX_ROUNDS_EXTRA;
	double rate = c->rate;
	uint64_t prev_resolved = 0;
	if (c->mode == MODE_STACK)
		stack_resolve(c);
	for (c->round = 1; c->round <= max_rounds && c->resolved < c->total && !interrupted;
	     c->round++) {
		struct nu_bucket b;
		struct nu_perm perm;
		struct nu_key k = c->key;
		uint64_t i, last_send = nu_now_ns(), before = c->retry_answers, got;
		uint64_t late_before = c->late, sends = 0;
		k.k1 ^= c->round; /* a fresh order each round */
		nu_perm_init(&perm, c->total, &k);
		nu_bucket_init(&b, rate, nu_now_ns());
		for (i = 0; i < c->total && !interrupted; i++) {
			uint64_t idx = nu_perm_at(&perm, i);
			/* (stack mode: the first probes to each next hop went
			 * out before round 1) */
			if (c->pr[idx].state != ST_PENDING || c->pr[idx].tries >= c->round)
				continue;
			for (;;) {
				uint64_t now = nu_now_ns(), w = nu_bucket_wait(&b, now);
				if (w) {
					pump(c, now + w, false);
					continue;
				}
				if (c->pr[idx].state != ST_PENDING)
					break;
				if (send_probe(c, idx) == 0) {
					nu_bucket_take(&b, now);
					last_send = now;
					/* when sending alone takes all our time (no token
					 * to wait for), still read answers often: an RTT is
					 * measured when it is read, and queues stay short */
					if ((++sends & 63) == 0)
						pump(c, now, true);
					break;
				}
				/* no slot, port or buffer: let answers and expiries free one */
				pump(c, now + 1000000ull, true);
			}
		}
		/* the round's last probe has its full wait; answers coming in
		 * meanwhile update the estimate, so it is recomputed after each */
		for (;;) {
			uint64_t dl = last_send + wait_ns(c);
			if (nu_now_ns() >= dl || interrupted)
				break;
			pump(c, dl, true);
		}
		while (c->mode == MODE_CONNECT && c->live_head >= 0 && !interrupted)
			pump(c, nu_now_ns() + 1000000ull, false);
		got = c->resolved - prev_resolved;
		prev_resolved = c->resolved;
		/* Accuracy over speed: answers on a retry mean probes or replies
		 * were lost, so later rounds go slower, and as long as rounds keep
		 * finding answers we go on past --retries (a few rounds at most). */
		if (c->retry_answers > before)
			rate = rate / 2 < 1 ? 1 : rate / 2;
		/* Answers that came after their wait (syn, stack: the source
		 * port says which try; connect cannot tell a late answer from a
		 * lost one) mean the wait was too short: double it. */
		if ((c->late > late_before ||
		     (c->mode == MODE_CONNECT && c->retry_answers > before)) &&
		    c->backoff < MAX_BACKOFF)
			c->backoff++;
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
		{"iface", required_argument, 0, 'I'},   {"tap", required_argument, 0, 'T'},
		{"addr", required_argument, 0, 'A'},    {"gateway", required_argument, 0, 'G'},
		{"mac", required_argument, 0, 'M'},     {"peer-addr", required_argument, 0, 'P'},
		{"help", no_argument, 0, 'h'},          {0, 0, 0, 0},
	};
	const char *stack_opt = NULL; /* the first --mode stack option given */
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
		case 'I': c.iface = optarg; stack_opt = stack_opt ? stack_opt : "--iface"; break;
		case 'T': c.tap_name = optarg; stack_opt = stack_opt ? stack_opt : "--tap"; break;
		case 'A':
			if (tapir_parse_cidr(optarg, &c.my_addr, &c.my_plen) || c.my_plen == 0 ||
			    c.my_plen > 30)
				die("check: --addr: '%s' is not an address and prefix such as 10.0.0.9/24 (/1 to /30)",
				    optarg);
			c.have_addr = true;
			stack_opt = stack_opt ? stack_opt : "--addr";
			break;
		case 'G':
			if (tapir_parse_ipv4(optarg, &c.gw))
				die("check: --gateway: '%s' is not an IPv4 address", optarg);
			c.have_gw = true;
			stack_opt = stack_opt ? stack_opt : "--gateway";
			break;
		case 'M':
			if (tapir_parse_mac(optarg, c.mac) || (c.mac[0] & 1))
				die("check: --mac: '%s' is not a unicast MAC such as 02:00:00:00:00:01", optarg);
			c.have_mac = true;
			stack_opt = stack_opt ? stack_opt : "--mac";
			break;
		case 'P':
			if (tapir_parse_cidr(optarg, &c.peer, &c.peer_plen) || c.peer_plen == 0)
				die("check: --peer-addr: '%s' is not an address and prefix such as 10.0.0.1/24",
				    optarg);
			c.have_peer = true;
			stack_opt = stack_opt ? stack_opt : "--peer-addr";
			break;
		case 'j': c.json = true; break;
		case 'o': c.open_only = true; break;
		case 'h': fputs(check_usage, stdout); return 0;
		default:
			die("check: unknown or incomplete option '%s' (try tapir check --help)",
			    argv[optind - 1]);
		}
	}
	if (c.mode != MODE_STACK && stack_opt)
		die("check: %s is for --mode stack only", stack_opt);
	if (c.mode == MODE_STACK) {
		char a[16];
		if (!c.iface == !c.tap_name)
			die("check: --mode stack needs an interface: --iface IF (AF_PACKET) or --tap NAME, one of them");
		if (!c.have_addr)
			die("check: --mode stack needs tapir's own address: --addr A.B.C.D/LEN");
		if (c.have_peer && !c.tap_name)
			die("check: --peer-addr goes with --tap (the kernel's side of the TAP)");
		c.my_mask = ~0u << (32 - c.my_plen);
		if (c.have_gw && ((c.gw & c.my_mask) != (c.my_addr & c.my_mask) || c.gw == c.my_addr))
			die("check: --gateway %s is not another address on the subnet of --addr",
			    tapir_ipv4_str(c.gw, a));
		if (c.have_peer && ((c.peer & c.my_mask) != (c.my_addr & c.my_mask) ||
				    c.peer == c.my_addr || c.peer_plen != c.my_plen))
			die("check: --peer-addr %s/%u is not another address on tapir's subnet",
			    tapir_ipv4_str(c.peer, a), c.peer_plen);
	}
	if (optind >= argc)
		die("check: no target (try tapir check --help)");
	for (i = optind; i < argc; i++)
		add_target(&c, argv[i]);
	index_probes(&c);
	nu_key_random(&c.key);
	if (c.mode == MODE_STACK && !c.have_mac) {
		/* random, locally administered, unicast (IEEE 802 U/L and I/G bits) */
		uint64_t r = nu_siphash(&c.key, "mac", 3);
		for (i = 0; i < 6; i++)
			c.mac[i] = (uint8_t)(r >> (8 * i));
		c.mac[0] = (uint8_t)((c.mac[0] & 0xfc) | 0x02);
	}
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
	if (c.mode == MODE_STACK)
		stack_setup(&c);
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
	if (c.mode == MODE_STACK) {
		stack_close(&c);
		if (c.link_drops)
			fprintf(stderr, "tapir check: warning: the interface's socket dropped %llu frames: replies are being lost; lower --rate\n",
				(unsigned long long)c.link_drops);
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
