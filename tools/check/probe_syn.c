/* --mode syn, CAP_NET_RAW: SYNs from a raw socket, the sequence number a
 * keyed hash of the 4-tuple (cookie.c: no per-probe state is needed to
 * trust a reply, RFC 9293 3.10.7.3).  Replies come from a BPF-filtered
 * libpcap capture.  Our kernel has no socket for the SYN/ACK and answers it
 * with a RST (RFC 9293 3.10.7.1), so open = 3 packets, closed = 2. */
#define _GNU_SOURCE
#include <errno.h>
#include <time.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/if_packet.h>

#include <tapir/wire.h>

#include "engine.h"
#include "syn_ring.h"
#include "util.h"

#define SYN_LEN (TAPIR_TCP_HLEN + 4) /* with an MSS option */
#define SYN_BATCH 64 /* IPv4 SYNs per sendmmsg() */

/* IPv4 SYNs built but not yet handed to the kernel: one system call for
 * SYN_BATCH of them (the send path's cost is mostly the call's) */
struct syn_batch {
	unsigned n;
	struct mmsghdr msg[SYN_BATCH];
	struct iovec iov[SYN_BATCH];
	struct sockaddr_in sa[SYN_BATCH];
	uint8_t seg[SYN_BATCH][SYN_LEN];
	uint64_t idx[SYN_BATCH];
};

struct syn_engine {
	struct check *c;
	int raw, raw6; /* per family, -1 when no target has it */
	pcap_t *pc;
	int linkoff;
	/* Hosts in groups sharing a route: a group's source address and next
	 * hop are asked once, of its first host.  Group numbers are dense, so
	 * what is looked up per SYN stays in the cache (a random order over
	 * 2^18 hosts would miss it every time if indexed by host). */
	struct nu_addr *src; /* per group: our source address, family 0 unknown */
	uint32_t *grp;       /* per host: its group (NULL: each host its own) */
	uint32_t *lead;      /* per group: its first host */
	uint32_t ngrp;
	int udp[2];          /* the sockets that ask the routing table (v4, v6) */
	struct check_cookie ck;
	unsigned enobufs;
	struct syn_batch b;
	struct syn_ring *ring; /* the fast path (syn_ring.h), NULL: none */
	uint32_t *hop;         /* per group: HOP_* below */
	uint32_t *hop1;        /* per host, in on-link groups: HOP_* */
};

/* x->hop[], x->hop1[]: 0 not asked yet; else HOP_ASKED, HOP_ONLINK when the
 * route has no gateway (then each host of the group is its own next hop),
 * and the ring's hop index or HOP_RAW (the raw socket's path) in the low bits */
#define HOP_ASKED 0x40000000u
#define HOP_ONLINK 0x80000000u
#define HOP_RAW 0xffffffu

/* Source ports the kernel will not hand to its own sockets: outside
 * ip_local_port_range, so no local connection shares our 4-tuples and
 * the kernel RSTs every SYN/ACK we provoke.  Shard I of N run on one
 * machine takes the I-th of N slices of them (when each keeps 256 ports
 * or more): the shards' captures then filter each other's answers out in
 * the kernel instead of each copying every shard's to userspace to find
 * its cookies there. */
static void pick_sports(struct check_cookie *k, unsigned shard_i, unsigned shard_n)
{
	unsigned lo = 32768, hi = 60999;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	if (f) {
		if (fscanf(f, "%u %u", &lo, &hi) != 2 || lo > hi || hi > 65535)
			lo = 32768, hi = 60999;
		fclose(f);
	}
	if (65535 - hi >= 1024) { /* above the range (61000-65535 by default) */
		k->sport_lo = (uint16_t)(hi + 1);
		k->sport_n = (uint16_t)(65535 - hi);
	} else if (lo > 1024 + 1024) { /* else below it, clear of the well-known ports */
		k->sport_lo = 1024;
		k->sport_n = (uint16_t)(lo - 1024);
	} else {
		die("check: ip_local_port_range %u-%u leaves no source ports for --mode syn", lo, hi);
	}
	if (shard_n > 1 && k->sport_n / shard_n >= 256) {
		k->sport_n = (uint16_t)(k->sport_n / shard_n);
		k->sport_lo = (uint16_t)(k->sport_lo + (shard_i - 1) * k->sport_n);
	}
}

/* The capture of the replies: 0, or -1 with why in ERR. */
static int capture_open(struct syn_engine *x, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE], filt[600];
	struct bpf_program prog;
	int dlt;
	x->pc = pcap_create("any", ebuf);
	if (!x->pc) {
		snprintf(err, errlen, "pcap: %.200s", ebuf);
		return -1;
	}
	pcap_set_snaplen(x->pc, 160);
	pcap_set_promisc(x->pc, 0);
	pcap_set_immediate_mode(x->pc, 1);
	pcap_set_buffer_size(x->pc, 64 << 20);
	if (pcap_activate(x->pc) < 0) {
		snprintf(err, errlen, "pcap: %.200s", pcap_geterr(x->pc));
		pcap_close(x->pc);
		x->pc = NULL;
		return -1;
	}
	pcap_setdirection(x->pc, PCAP_D_IN);
	/* and the kernel does not even copy our own SYNs to the capture (a
	 * clone per SYN, the ring's pages copied: Linux 4.20's
	 * PACKET_IGNORE_OUTGOING; without it the filter still drops them) */
	(void)setsockopt(pcap_get_selectable_fd(x->pc), SOL_PACKET, PACKET_IGNORE_OUTGOING, &(int){1},
			 sizeof(int));
	dlt = pcap_datalink(x->pc);
	switch (dlt) {
	case DLT_LINUX_SLL: x->linkoff = 16; break;
	case DLT_LINUX_SLL2: x->linkoff = 20; break;
	case DLT_EN10MB: x->linkoff = TAPIR_ETH_HLEN; break;
	case DLT_RAW: x->linkoff = 0; break;
	default: die("check: unexpected capture link type %d", dlt);
	}
	/* replies to our source ports: SYN/ACK or RST; and ICMP unreachables.
	 * libpcap's tcp[] is IPv4 only: over IPv6 the TCP header is read at
	 * 40 (no extension headers: a SYN/ACK or RST carries none, and one that
	 * does is not ours), and ICMPv6 destination unreachable is type 1
	 * (RFC 4443 3.1) */
	snprintf(filt, sizeof(filt),
		 "(tcp and dst portrange %u-%u and (tcp[13] & 4 != 0 or tcp[13] & 0x12 == 0x12))"
		 " or (icmp and icmp[0] == 3)"
		 " or (ip6 and ip6[6] == 6 and ip6[42:2] >= %u and ip6[42:2] <= %u"
		 " and (ip6[53] & 4 != 0 or ip6[53] & 0x12 == 0x12))"
		 " or (ip6 and ip6[6] == 58 and ip6[40] == 1)",
		 x->ck.sport_lo, x->ck.sport_lo + x->ck.sport_n - 1, x->ck.sport_lo,
		 x->ck.sport_lo + x->ck.sport_n - 1);
	if (pcap_compile(x->pc, &prog, filt, 1, PCAP_NETMASK_UNKNOWN) ||
	    pcap_setfilter(x->pc, &prog))
		die("check: pcap filter: %s", pcap_geterr(x->pc));
	pcap_freecode(&prog);
	if (pcap_setnonblock(x->pc, 1, ebuf))
		die("check: pcap: %s", ebuf);
	return 0;
}

/* A raw TCP socket of FAMILY that only sends: 0, or -1 with why in ERR. */
static int raw_open(int family, char *err, size_t errlen)
{
	struct sock_filter none = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog drop_all = {.len = 1, .filter = &none};
	int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0) {
		snprintf(err, errlen, "raw %ssocket: %s", family == AF_INET6 ? "IPv6 " : "",
			 strerror(errno));
		return -1;
	}
	/* the raw socket only sends: a copy of every TCP segment would queue
	 * on it otherwise */
	setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &drop_all, sizeof(drop_all));
	return fd;
}

/* Whether every IPv4 route of the main table is /24 or shorter: then the
 * hosts of one /24 share a route, so a source address (the probes' rate
 * is then the send path's, not one routing question per host). */
static bool routes_by_24(void)
{
	FILE *f = fopen("/proc/net/route", "r");
	char line[512];
	bool ok = f != NULL;
	unsigned mask;
	while (ok && fgets(line, sizeof(line), f))
		/* Iface Destination Gateway Flags RefCnt Use Metric Mask ... */
		if (sscanf(line, "%*s %*x %*x %*x %*d %*d %*d %x", &mask) == 1 &&
		    __builtin_popcount(mask) > 24)
			ok = false;
	if (f)
		fclose(f);
	return ok;
}

/* Hosts in runs of one /24 (a CIDR block's are consecutive): each shares
 * the source address of the run's first. */
static void group_hosts(struct syn_engine *x)
{
	const struct nu_hosts *hs = &x->c->hosts;
	if (!routes_by_24())
		return;
	uint32_t n = 0;
	x->grp = check_calloc(hs->n, sizeof(*x->grp));
	x->lead = check_calloc(hs->n, sizeof(*x->lead));
	for (size_t h = 0; h < hs->n; h++) {
		const struct nu_addr *a = &hs->v[h].addr, *f = n ? &hs->v[x->lead[n - 1]].addr : NULL;
		if (!f || a->family != AF_INET || f->family != AF_INET ||
		    (ntohl(a->u.v4) >> 8) != (ntohl(f->u.v4) >> 8))
			x->lead[n++] = (uint32_t)h; /* a new group */
		x->grp[h] = n - 1;
	}
	x->ngrp = n;
}

/* HOST's group.  With few groups, a binary search of their first hosts
 * (a few cache lines) beats reading x->grp[HOST], a cache miss in a random
 * order over many hosts. */
static size_t group_of(const struct syn_engine *x, size_t host)
{
	size_t lo = 0, hi = x->ngrp;
	if (!x->grp)
		return host;
	if (x->ngrp > 4096)
		return x->grp[host];
	while (hi - lo > 1) { /* the last group whose first host is <= HOST */
		size_t mid = (lo + hi) / 2;
		if (x->lead[mid] <= host)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* Our source address towards T's host, or NULL when there is no route. */
static const struct nu_addr *source_for(struct syn_engine *x, const struct check_target *t)
{
	size_t g = group_of(x, t->host);
	struct nu_addr *src = &x->src[g];
	const struct nu_addr *dst;
	struct sockaddr_storage sa;
	socklen_t len;
	struct sockaddr unspec = {.sa_family = AF_UNSPEC};
	int *fd;
	if (src->family)
		return src;
	dst = &x->c->hosts.v[x->grp ? x->lead[g] : g].addr;
	fd = &x->udp[dst->family == AF_INET6];
	len = nu_addr_sockaddr(dst, 9, &sa);
	/* a connected UDP socket asks the routing table; it sends nothing.
	 * One socket, connected anew each time (AF_UNSPEC first: the source
	 * it chose is forgotten, Linux's udp_disconnect) */
	if (*fd < 0 && (*fd = socket(dst->family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		die("check: socket: %s", strerror(errno));
	(void)connect(*fd, &unspec, sizeof(unspec));
	if (connect(*fd, (struct sockaddr *)&sa, len) == 0 &&
	    getsockname(*fd, (struct sockaddr *)&sa, &len) == 0) {
		src->family = dst->family;
		if (dst->family == AF_INET6)
			memcpy(src->u.v6, &((struct sockaddr_in6 *)&sa)->sin6_addr, 16);
		else
			src->u.v4 = ((struct sockaddr_in *)&sa)->sin_addr.s_addr;
	}
	return src->family ? src : NULL;
}

/* Works when raw sockets and capture do (CAP_NET_RAW). */
static int syn_open(struct check *c, void **state, char *err, size_t errlen)
{
	struct epoll_event ev = {.events = EPOLLIN};
	struct syn_engine *x = check_calloc(1, sizeof(*x));
	bool fam[2] = {false, false}; /* IPv4, IPv6 targets */
	size_t h;
	for (h = 0; h < c->hosts.n; h++)
		fam[c->hosts.v[h].addr.family == AF_INET6] = true;
	x->c = c;
	x->ck.key = &c->key;
	x->raw = x->raw6 = -1;
	if ((fam[0] && (x->raw = raw_open(AF_INET, err, errlen)) < 0) ||
	    (fam[1] && (x->raw6 = raw_open(AF_INET6, err, errlen)) < 0))
		goto fail;
	pick_sports(&x->ck, c->sc.shard_i, c->sc.shard_n);
	if (capture_open(x, err, errlen))
		goto fail;
	ev.data.u64 = 0;
	if (epoll_ctl(c->ep, EPOLL_CTL_ADD, pcap_get_selectable_fd(x->pc), &ev))
		die("check: epoll_ctl: %s", strerror(errno));
	x->src = check_calloc(c->hosts.n, sizeof(*x->src));
	x->udp[0] = x->udp[1] = -1;
	group_hosts(x);
	if ((x->ring = syn_ring_open())) {
		x->hop = check_calloc(c->hosts.n, sizeof(*x->hop));
		x->hop1 = check_calloc(c->hosts.n, sizeof(*x->hop1));
	}
	*state = x;
	return 0;
fail:
	if (x->raw >= 0)
		close(x->raw);
	if (x->raw6 >= 0)
		close(x->raw6);
	free(x);
	return -1;
}

/* The 16-bit words of the checksummed bytes at P (LEN even), summed. */
static uint32_t sum16(const uint8_t *p, unsigned len)
{
	uint32_t s = 0;
	for (unsigned i = 0; i < len; i += 2)
		s += tapir_get16(p + i);
	return s;
}

/* The SYN for T from SRC and SPORT.  Its checksum (RFC 9293 3.1, over the
 * pseudo-header of RFC 791 or, over IPv6, RFC 8200 8.1) is the sum of the
 * words every SYN shares, fixed at compile time, plus the words that change:
 * the sum in two parts (RFC 1071 2(B)), as RFC 1624 updates one. */
static void syn_build(uint8_t *seg, const struct syn_engine *x, const struct check_target *t,
		      const struct nu_addr *src, uint16_t sport)
{
	/* data offset and flags, window, the MSS option; the pseudo-header's
	 * protocol and length */
	enum { SHARED = ((SYN_LEN / 4) << 12 | TAPIR_TH_SYN) + 64240 + 0x0204 + 1460 +
			TAPIR_IPPROTO_TCP + SYN_LEN };
	uint32_t isn = check_cookie_isn(&x->ck, &t->addr, t->port, sport), sum = SHARED;
	memset(seg, 0, SYN_LEN);
	tapir_put16(seg + TAPIR_TH_SPORT, sport);
	tapir_put16(seg + TAPIR_TH_DPORT, t->port);
	tapir_put32(seg + TAPIR_TH_SEQ, isn);
	seg[TAPIR_TH_OFF] = (SYN_LEN / 4) << 4;
	seg[TAPIR_TH_FLAGS] = TAPIR_TH_SYN;
	tapir_put16(seg + TAPIR_TH_WIN, 64240);
	/* MSS 1460: a SYN like any other, so nothing treats it specially */
	seg[20] = 2, seg[21] = 4;
	tapir_put16(seg + 22, 1460);
	sum += sport + t->port + (isn >> 16) + (isn & 0xffff);
	if (t->addr.family == AF_INET6)
		sum += sum16(src->u.v6, 16) + sum16(t->addr.u.v6, 16);
	else
		sum += sum16((const uint8_t *)&src->u.v4, 4) + sum16((const uint8_t *)&t->addr.u.v4, 4);
	tapir_put16(seg + TAPIR_TH_CSUM, tapir_csum_fold(sum));
}

/* Whether the kernel refused a SYN for its destination (no route, the
 * interface down, the source address gone, a local firewall): the port is
 * then filtered, with the reason.  Other errors end the scan. */
static bool send_refused(int e)
{
	return e == EHOSTUNREACH || e == ENETUNREACH || e == ENETDOWN || e == EHOSTDOWN ||
	       e == EADDRNOTAVAIL || e == EACCES || e == EPERM;
}

/* Hands the batched SYNs to the kernel.  A full queue (ENOBUFS) is waited
 * out here (the probes are already counted); a SYN with no route or
 * forbidden makes its port filtered, as syn_send() does. */
static void syn_flush_batch(struct syn_engine *x)
{
	struct syn_batch *b = &x->b;
	unsigned done = 0, spins = 0;
	for (unsigned k = 0; k < b->n; k++) {
		b->iov[k] = (struct iovec){.iov_base = b->seg[k], .iov_len = SYN_LEN};
		b->msg[k] = (struct mmsghdr){.msg_hdr = {.msg_name = &b->sa[k], .msg_namelen = sizeof(b->sa[k]),
							   .msg_iov = &b->iov[k], .msg_iovlen = 1}};
	}
	while (done < b->n) {
		int r = sendmmsg(x->raw, b->msg + done, b->n - done, 0);
		if (r > 0) {
			done += (unsigned)r;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == ENOBUFS || errno == EAGAIN || errno == ENOMEM) {
			struct timespec ts = {0, 100000}; /* the queue drains in µs */
			x->enobufs++;
			if (++spins > 100000)
				die("check: sendmmsg: the queue stays full");
			nanosleep(&ts, NULL);
			continue;
		}
		if (send_refused(errno)) {
			x->c->sent--; /* (its try stays counted, as syn_send's) */
			check_resolve_why(x->c, b->idx[done], ST_FILTERED, 0, check_why_errno(errno));
			done++;
			continue;
		}
		die("check: sendmmsg: %s", strerror(errno));
	}
	b->n = 0;
}

static void syn_flush(void *state)
{
	struct syn_engine *x = state;
	if (x->ring)
		syn_ring_flush(x->ring);
	if (x->b.n)
		syn_flush_batch(x);
}

/* Host H's next hop on the ring, asked of the kernel (HOP_* word). */
static uint32_t hop_ask(struct syn_engine *x, size_t h)
{
	bool onlink;
	int i = syn_ring_route(x->ring, &x->c->hosts.v[h].addr, &onlink);
	return HOP_ASKED | (onlink ? HOP_ONLINK : 0) | (i < 0 ? HOP_RAW : (uint32_t)i);
}

/* The ring's next hop for T, or -1: the raw socket's path.  Asked once per
 * group sharing a source (routes_by_24), or per host when the route is
 * on-link (each host its own neighbour). */
static int hop_for(struct syn_engine *x, const struct check_target *t)
{
	size_t g = group_of(x, t->host), lead = x->grp ? x->lead[g] : g;
	uint32_t v;
	if (!x->ring)
		return -1;
	if (!x->hop[g])
		x->hop[g] = hop_ask(x, lead);
	v = x->hop[g];
	if ((v & HOP_ONLINK) && lead != t->host) {
		if (!x->hop1[t->host])
			x->hop1[t->host] = hop_ask(x, t->host);
		v = x->hop1[t->host];
	}
	v &= HOP_RAW;
	return v == HOP_RAW ? -1 : (int)v;
}

/* Through the ring when T's next hop is known: 0 when queued. */
static int syn_send_ring(struct syn_engine *x, const struct check_target *t, const struct nu_addr *src)
{
	int hop = hop_for(x, t);
	uint8_t seg[SYN_LEN];
	uint64_t now_us;
	struct probe *p = &x->c->pr[t->idx];
	if (hop < 0)
		return -1;
	syn_build(seg, x, t, src, check_cookie_sport(&x->ck, &t->addr, t->port, t->try));
	now_us = wall_us() - x->c->t0_wall;
	if (syn_ring_put(x->ring, hop, src, &t->addr, seg, SYN_LEN, now_us))
		return -1;
	p->tries++;
	p->sent_us = (uint32_t)now_us;
	x->c->sent++;
	return 0;
}

static int syn_send(void *state, const struct check_target *t)
{
	struct syn_engine *x = state;
	struct check *c = x->c;
	const struct nu_addr *src = source_for(x, t);
	uint32_t sent_us;
	uint8_t seg[SYN_LEN];
	struct sockaddr_storage sa;
	socklen_t salen;
	struct probe *p = &c->pr[t->idx];
	if (!src) {
		check_resolve_why(c, t->idx, ST_FILTERED, 0, WHY_NO_ROUTE);
		p->tries++;
		return 0;
	}
	if (syn_send_ring(x, t, src) == 0)
		return 0;
	/* raw sockets take the port as 0 (Linux: else EINVAL over IPv6) */
	salen = nu_addr_sockaddr(&t->addr, 0, &sa);
	if (t->addr.family == AF_INET) {
		unsigned k = x->b.n++;
		syn_build(x->b.seg[k], x, t, src, check_cookie_sport(&x->ck, &t->addr, t->port, t->try));
		memcpy(&x->b.sa[k], &sa, sizeof(x->b.sa[k]));
		x->b.idx[k] = t->idx;
		/* counted as sent now; syn_flush() undoes what could not go */
		p->tries++;
		p->sent_us = (uint32_t)(wall_us() - c->t0_wall);
		c->sent++;
		if (x->b.n == SYN_BATCH)
			syn_flush(x);
		return 0;
	}
	syn_build(seg, x, t, src, check_cookie_sport(&x->ck, &t->addr, t->port, t->try));
	/* before sendto: on a veth the answer can be captured before it returns */
	sent_us = (uint32_t)(wall_us() - c->t0_wall);
	if (sendto(t->addr.family == AF_INET6 ? x->raw6 : x->raw, seg, sizeof(seg), 0,
		   (struct sockaddr *)&sa, salen) < 0) {
		switch (errno) {
		case ENOBUFS:
		case EAGAIN:
		case ENOMEM:
			x->enobufs++;
			return -1; /* the queue is full: the same probe a bit later */
		default:
			if (!send_refused(errno))
				die("check: sendto: %s", strerror(errno));
			p->tries++;
			check_resolve_why(c, t->idx, ST_FILTERED, 0, check_why_errno(errno));
			return 0;
		}
	}
	p->tries++;
	p->sent_us = sent_us;
	c->sent++;
	return 0;
}

/* A SYN/ACK or RST at L4 (CAPLEN bytes): its ports, cookie and state. */
static int tcp_answer(const uint8_t *l4, size_t caplen, struct check_reply *r)
{
	if (caplen < TAPIR_TCP_HLEN)
		return -1;
	/* SYN/ACK or RST: ack must be our cookie + 1 (RFC 9293 3.10.7.3) */
	r->port = tapir_get16(l4 + TAPIR_TH_SPORT);
	r->ours = tapir_get16(l4 + TAPIR_TH_DPORT);
	r->seqack = tapir_get32(l4 + TAPIR_TH_ACK_NO) - 1;
	r->state = (l4[TAPIR_TH_FLAGS] & TAPIR_TH_RST) ? ST_CLOSED : ST_OPEN;
	if (!(l4[TAPIR_TH_FLAGS] & TAPIR_TH_ACK))
		return -1; /* a RST without ACK does not answer a SYN */
	return 0;
}

/* The SYN an ICMP error quotes, its first 8 bytes at TH (ports and
 * sequence number: all an ICMPv4 error must quote, RFC 792). */
static void quoted_syn(const uint8_t *th, struct check_reply *r)
{
	r->ours = tapir_get16(th + TAPIR_TH_SPORT);
	r->port = tapir_get16(th + TAPIR_TH_DPORT);
	r->seqack = tapir_get32(th + TAPIR_TH_SEQ);
	r->state = ST_FILTERED;
}

/* The answer in a captured IPv4 packet: 0, or -1 when it is none. */
static int syn_parse4(const uint8_t *ip, size_t caplen, struct check_reply *r)
{
	const uint8_t *l4;
	size_t ihl;
	if (caplen < TAPIR_IPV4_HLEN)
		return -1;
	ihl = (size_t)(ip[TAPIR_IPV4_VHL] & 15) * 4;
	if (ihl < TAPIR_IPV4_HLEN || caplen < ihl + TAPIR_TCP_HLEN)
		return -1;
	l4 = ip + ihl;
	r->peer = nu_addr_v4(0);
	if (ip[TAPIR_IPV4_PROTO] == TAPIR_IPPROTO_TCP) {
		memcpy(&r->peer.u.v4, ip + TAPIR_IPV4_SRC, 4);
		return tcp_answer(l4, caplen - ihl, r);
	}
	if (ip[TAPIR_IPV4_PROTO] == TAPIR_IPPROTO_ICMP) {
		/* RFC 792 destination unreachable: our IP header + 8 bytes of TCP */
		const uint8_t *in = l4 + TAPIR_ICMP_HLEN;
		size_t ihl2;
		if (caplen < ihl + TAPIR_ICMP_HLEN + TAPIR_IPV4_HLEN)
			return -1;
		ihl2 = (size_t)(in[TAPIR_IPV4_VHL] & 15) * 4;
		if (in[TAPIR_IPV4_PROTO] != TAPIR_IPPROTO_TCP || ihl2 < TAPIR_IPV4_HLEN ||
		    caplen < ihl + TAPIR_ICMP_HLEN + ihl2 + 8)
			return -1;
		memcpy(&r->peer.u.v4, in + TAPIR_IPV4_DST, 4);
		quoted_syn(in + ihl2, r);
		r->why = check_why_icmp(AF_INET, l4[1]);
		return 0;
	}
	return -1;
}

/* The answer in a captured IPv6 packet: 0, or -1 when it is none.  Our
 * SYNs carry no extension header, and neither do the answers the capture
 * filter lets through. */
static int syn_parse6(const uint8_t *ip, size_t caplen, struct check_reply *r)
{
	const uint8_t *l4 = ip + TAPIR_IPV6_HLEN;
	if (caplen < TAPIR_IPV6_HLEN + TAPIR_ICMP6_HLEN)
		return -1;
	memset(&r->peer, 0, sizeof(r->peer));
	r->peer.family = AF_INET6;
	if (ip[TAPIR_IPV6_NXT] == TAPIR_IPPROTO_TCP) {
		memcpy(r->peer.u.v6, ip + TAPIR_IPV6_SRC, 16);
		return tcp_answer(l4, caplen - TAPIR_IPV6_HLEN, r);
	}
	if (ip[TAPIR_IPV6_NXT] == TAPIR_IPPROTO_ICMPV6 && l4[0] == TAPIR_ICMP6_UNREACH) {
		/* RFC 4443 3.1: as much of the invoking packet as fits */
		const uint8_t *in = l4 + TAPIR_ICMP6_HLEN;
		if (caplen < 2 * TAPIR_IPV6_HLEN + TAPIR_ICMP6_HLEN + 8 ||
		    in[TAPIR_IPV6_NXT] != TAPIR_IPPROTO_TCP)
			return -1;
		memcpy(r->peer.u.v6, in + TAPIR_IPV6_DST, 16);
		quoted_syn(in + TAPIR_IPV6_HLEN, r);
		r->why = check_why_icmp(AF_INET6, l4[1]);
		return 0;
	}
	return -1;
}

static int syn_parse(const uint8_t *ip, size_t caplen, struct check_reply *r)
{
	if (caplen < 1)
		return -1;
	if ((ip[0] >> 4) == 4)
		return syn_parse4(ip, caplen, r);
	if ((ip[0] >> 4) == 6)
		return syn_parse6(ip, caplen, r);
	return -1;
}

static void syn_reply(u_char *arg, const struct pcap_pkthdr *ph, const u_char *pkt)
{
	struct syn_engine *x = (struct syn_engine *)arg;
	struct check_reply r = {0};
	uint64_t rx_us = (uint64_t)ph->ts.tv_sec * 1000000u + (uint64_t)ph->ts.tv_usec;
	if (ph->caplen < (size_t)x->linkoff ||
	    syn_parse(pkt + x->linkoff, ph->caplen - (size_t)x->linkoff, &r))
		return;
	r.rx_us = rx_us > x->c->t0_wall ? rx_us - x->c->t0_wall : 0;
	check_credit(x->c, &x->ck, &r);
}

static void syn_collect(void *state, uint64_t token, uint64_t now)
{
	struct syn_engine *x = state;
	(void)token;
	(void)now;
	pcap_dispatch(x->pc, -1, syn_reply, (u_char *)x);
}

static void syn_close(void *state)
{
	struct syn_engine *x = state;
	struct pcap_stat ps;
	if (pcap_stats(x->pc, &ps) == 0 && ps.ps_drop)
		fprintf(stderr, "tapir check: warning: the capture dropped %u packets: replies are being lost; lower --rate\n",
			ps.ps_drop);
	pcap_close(x->pc);
	if (x->raw >= 0)
		close(x->raw);
	if (x->raw6 >= 0)
		close(x->raw6);
	syn_ring_close(x->ring);
	free(x->hop);
	free(x->hop1);
	free(x->lead);
	free(x->src);
	free(x->grp);
	for (int i = 0; i < 2; i++)
		if (x->udp[i] >= 0)
			close(x->udp[i]);
	free(x);
}

const struct check_engine check_engine_syn = {
	.name = "syn", .flags = CHECK_KNOWS_TRY, .open = syn_open, .send = syn_send,
	.collect = syn_collect, .flush = syn_flush, .close = syn_close,
};
