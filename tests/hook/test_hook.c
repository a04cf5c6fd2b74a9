/* Hooks and personalities with tapir on both ends: two nets joined by the
 * in-memory link, run in real time by the socket layer's stack thread.
 *
 *   registry                         names, arguments, comma lists
 *   dth_reported_connection_lives    RFC 9401 3.1: a received DTH is
 *                                    reported (tcp_dth_rx, the socket's
 *                                    rx reserved bits) and the connection
 *                                    goes on to FIN; 3.3: never on a SYN
 *   dth_every_second                 dth=every=2 marks connections 2 and 4
 *   challenge_ack_only_tapir_client  tapir's own client against the stall:
 *                                    a RST per wrong ACK (RFC 9293
 *                                    3.10.7.3), ETIMEDOUT, never connected
 *   rst_after_both_ends              the peer sees ECONNRESET, tapir's own
 *                                    socket ECONNABORTED
 *   netem_transfer_exact             1 MB through loss, reorder, dup and
 *                                    delay arrives byte-exact
 *   netem_tail_first_copy            tail=1: every first copy of a data
 *                                    segment with PSH is dropped (as many
 *                                    as A's TCP sent), its retransmission
 *                                    passes: byte-exact
 *   ttl_on_every_packet              ttl=9: every IP packet from A has TTL
 *                                    (hop limit) 9, ND keeps its 255
 *   checksums_fixed                  hooks that rewrite payloads at IP_TX
 *                                    and back at IP_RX, with
 *                                    tapir_hook_l4 and
 *                                    tapir_hook_fix_checksums: byte-exact,
 *                                    no checksum drop
 *   drop_synack_times_out            no SYN,ACK reaches B: ETIMEDOUT
 *   blackhole_times_out              nothing answered but ND: ETIMEDOUT
 *   ignore_rst_connection_stays      B's RST dropped, A's connection lives
 *   zero_window_probed               B's data waits out A's zero window
 *
 * Each runs over IPv4 and, as NAME_ipv6, over IPv6 (netpair.h's fd00::1
 * and fd00::2, AF_INET6 sockets); a hook on B checks that the segments
 * really were of that family.  No assertion depends on how long something
 * took. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <tapir/hook.h>
#include <tapir/wire.h>

#include "personality.h"

#include "netpair.h"
#include "cmt.h"

/* On the pair, A (10.0.0.1, fd00::1) is the server, with the personality;
 * B the client. */

struct pair_setup {
	int af; /* AF_INET6: the pair gets its IPv6 addresses too */
	const char *pers;
	void (*setup)(struct net_pair *, void *);
	void *arg;
};

/* before the stack threads start: the personality on A, then the caller's
 * hooks */
static void install(struct net_pair *np, void *arg)
{
	struct pair_setup *ps = arg;
	char err[256] = "";
	if (ps->af == AF_INET6)
		net_pair_add_ipv6(np);
	if (ps->pers) {
		char *specs[1] = {(char *)ps->pers};
		if (personalities_install(tapir_net_stack(np->a), specs, 1, err, sizeof(err)) < 0)
			fail_msg("install %s: %s", ps->pers, err);
	}
	if (ps->setup)
		ps->setup(np, ps->arg);
}

/* The pair for family AF, with PERS installed on A (and HOOKS set up by
 * the caller through SETUP) before the stack thread starts. */
static void pair_up(struct net_pair *p, int af, const char *pers,
		    void (*setup)(struct net_pair *, void *), void *arg)
{
	struct pair_setup ps = {af, pers, setup, arg};
	struct tapir_config c;
	tapir_config_default(&c);
	c.seed = 11;
	c.nd_dad_transmits = 0; /* RFC 4862 5.1: DAD off, the addresses usable at once */
	c.tcp_rto_initial_us = TAPIR_MS(200);
	c.tcp_syn_retries = 2;
	net_pair_up(p, &c, install, &ps);
}

static void pair_down(struct net_pair *p)
{
	struct tapir_stack *sa = tapir_net_stack(p->a); /* for personalities_release */
	net_pair_down(p);
	personalities_release(sa);
}

static int listener(struct tapir_net *net, int af, uint16_t port)
{
	int fd = tapir_socket(net, af, SOCK_STREAM, 0);
	struct sockaddr_storage s;
	socklen_t n = net_sa(af, 0, port, &s);
	assert_true(fd >= 0);
	assert_int_equal(tapir_bind(net, fd, SA(s), n), 0);
	assert_int_equal(tapir_listen(net, fd, 16), 0);
	return fd;
}

/* A listens on port 80; B's connect to it times out (ETIMEDOUT: with
 * tcp_syn_retries 2, the SYN and two retransmissions, each unanswered or
 * answered wrongly).  Returns A's listener, B's socket in *FD. */
static int connect_times_out(struct net_pair *p, int af, int *fd)
{
	struct sockaddr_storage s;
	socklen_t sl = net_sa(af, 'a', 80, &s);
	int lfd = listener(p->a, af, 80);
	*fd = tapir_socket(p->b, af, SOCK_STREAM, 0);
	assert_int_equal(tapir_connect(p->b, *fd, SA(s), sl), -1);
	assert_int_equal(errno, ETIMEDOUT);
	return lfd;
}

/* the end of a test: B's socket FD and A's listener LFD closed, P down */
static void close_down(struct net_pair *p, int fd, int lfd)
{
	tapir_close(p->b, fd);
	tapir_close(p->a, lfd);
	pair_down(p);
}

/* ---- a server on A: each connection gets LEN pattern bytes, then FIN ---- */

struct server {
	struct tapir_net *net;
	int lfd, conns;
	size_t len;
	pthread_t th;
	int last_err; /* errno of a failed send (rst-after) */
};

static uint8_t pattern(size_t i) { return (uint8_t)(i * 7 + (i >> 9)); }

static void *server_main(void *arg)
{
	struct server *sv = arg;
	static uint8_t buf[65536];
	for (int k = 0; k < sv->conns; k++) {
		int fd = tapir_accept(sv->net, sv->lfd, NULL, NULL);
		size_t off = 0;
		if (fd < 0)
			return NULL;
		while (off < sv->len) {
			size_t n = sv->len - off < sizeof(buf) ? sv->len - off : sizeof(buf);
			ssize_t w;
			for (size_t i = 0; i < n; i++)
				buf[i] = pattern(off + i);
			w = tapir_send(sv->net, fd, buf, n, 0);
			if (w < 0) {
				sv->last_err = errno;
				break;
			}
			off += (size_t)w;
		}
		tapir_close(sv->net, fd);
	}
	return NULL;
}

static void server_start(struct server *sv, struct tapir_net *net, int af, uint16_t port,
			 int conns, size_t len)
{
	memset(sv, 0, sizeof(*sv));
	sv->net = net;
	sv->lfd = listener(net, af, port);
	sv->conns = conns;
	sv->len = len;
	assert_int_equal(pthread_create(&sv->th, NULL, server_main, sv), 0);
}

/* Connects from B to A's address of family AF, reads to the end; returns
 * the bytes read (checked against the pattern), with *PORT the local port. */
static size_t fetch(struct tapir_net *b, int af, uint16_t port, uint16_t *lport, int fd_keep[1])
{
	int fd = tapir_socket(b, af, SOCK_STREAM, 0);
	struct sockaddr_storage s, me;
	socklen_t sl = net_sa(af, 'a', port, &s), ml = sizeof(me);
	static uint8_t buf[65536];
	size_t total = 0;
	ssize_t n;
	assert_true(fd >= 0);
	assert_int_equal(tapir_connect(b, fd, SA(s), sl), 0);
	assert_int_equal(tapir_getsockname(b, fd, SA(me), &ml), 0);
	*lport = ntohs(((struct sockaddr_in *)&me)->sin_port); /* (sin6_port: the same place) */
	while ((n = tapir_recv(b, fd, buf, sizeof(buf), 0)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pattern(total + (size_t)i))
				fail_msg("byte %zu differs", total + (size_t)i);
		total += (size_t)n;
	}
	assert_int_equal(n, 0); /* the FIN, not an error */
	if (fd_keep)
		fd_keep[0] = fd;
	else
		tapir_close(b, fd);
	return total;
}

/* ---- B's view of the wire ---- */

struct wire {
	int af;                  /* the family the segments must be of */
	unsigned wrong_family;   /* segments at B of another */
	unsigned dth_segs, dth_syns, rsts_sent, synacks_seen;
	unsigned zero_windows;   /* segments at B advertising a zero window */
	uint16_t ports[8];
	unsigned dth_on[8];
};

static enum tapir_verdict b_rx(void *arg, struct tapir_hook_pkt *p)
{
	struct wire *w = arg;
	uint8_t res = p->data[12] & 0x0f, flags = p->data[13];
	uint16_t dport = tapir_get16(p->data + 2);
	w->wrong_family += p->family != (w->af == AF_INET6 ? 6 : 4);
	if ((flags & (TAPIR_TH_SYN | TAPIR_TH_ACK)) == (TAPIR_TH_SYN | TAPIR_TH_ACK))
		w->synacks_seen++;
	if (!(flags & (TAPIR_TH_SYN | TAPIR_TH_RST)) && tapir_get16(p->data + TAPIR_TH_WIN) == 0)
		w->zero_windows++;
	if (!(res & TAPIR_TH_RES_DTH))
		return TAPIR_PASS;
	w->dth_segs++;
	if (flags & TAPIR_TH_SYN)
		w->dth_syns++;
	for (int i = 0; i < 8; i++)
		if (w->ports[i] == dport)
			w->dth_on[i]++;
	return TAPIR_PASS;
}

static enum tapir_verdict b_tx(void *arg, struct tapir_hook_pkt *p)
{
	struct wire *w = arg;
	w->wrong_family += p->family != (w->af == AF_INET6 ? 6 : 4);
	if (p->data[13] & TAPIR_TH_RST)
		w->rsts_sent++;
	return TAPIR_PASS;
}

static void watch_b(struct net_pair *p, void *arg)
{
	assert_int_equal(tapir_hook_add(tapir_net_stack(p->b), TAPIR_HOOK_TCP_RX, b_rx, arg), 0);
	assert_int_equal(tapir_hook_add(tapir_net_stack(p->b), TAPIR_HOOK_TCP_TX, b_tx, arg), 0);
}

static uint64_t counter(struct tapir_net *net, const char *name)
{
	const struct tapir_stats *st;
	uint64_t v = 0;
	tapir_net_lock(net);
	st = tapir_stats(tapir_net_stack(net));
	if (!strcmp(name, "tcp_dth_rx"))
		v = st->tcp_dth_rx;
	else if (!strcmp(name, "hook_injected"))
		v = st->hook_injected;
	else if (!strcmp(name, "tx_hook_dropped"))
		v = st->tx_hook_dropped;
	else if (!strcmp(name, "tcp_checksum"))
		v = st->drop[TAPIR_DROP_tcp_checksum];
	else if (!strcmp(name, "hook"))
		v = st->drop[TAPIR_DROP_hook];
	tapir_net_unlock(net);
	return v;
}

/* ---- the tests ---- */

static void registry(void **state)
{
	struct tapir_config c;
	struct tapir_stack *s;
	char err[256];
	char *good[] = {"loss=0.05,seed=3,delay=5±2", "dth=every=3", "ttl=9"};
	char *bad_name[] = {"nosuch"}, *bad_arg[] = {"loss=1.5"}, *bad_dth[] = {"dth=sometimes"},
	     *no_arg[] = {"blackhole=1"}, *need_arg[] = {"rst-after"};
	(void)state;
	tapir_config_default(&c);
	s = tapir_stack_new(&c);
	assert_non_null(s);
	err[0] = 0;
	assert_int_equal(personalities_install(s, good, 3, err, sizeof(err)), 0);
	assert_int_equal(personalities_install(s, bad_name, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown personality 'nosuch'"));
	assert_int_equal(personalities_install(s, bad_arg, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--personality loss=1.5: P: '1.5'"));
	assert_int_equal(personalities_install(s, bad_dth, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "sometimes"));
	assert_int_equal(personalities_install(s, no_arg, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "takes no argument"));
	assert_int_equal(personalities_install(s, need_arg, 1, err, sizeof(err)), -1);
	tapir_stack_free(s);
	personalities_release(s);
}

/* B's connection from local port LPORT to port 80: state, rx reserved bits */
struct find_rx {
	uint16_t lport;
	uint8_t res;
	int state;
};

static void find_rx(void *arg, const struct tapir_tcp *t)
{
	struct find_rx *f = arg;
	struct tapir_tcp_info i;
	tapir_tcp_get_info(t, &i);
	if (i.lport == f->lport && i.rport == 80) {
		f->res = tapir_tcp_rx_reserved(t);
		f->state = (int)i.state;
	}
}

static struct wire *wire_new(int af)
{
	struct wire *w = calloc(1, sizeof(*w));
	assert_non_null(w);
	w->af = af;
	return w;
}

static void dth_lives(int af)
{
	struct net_pair p;
	struct server sv;
	struct wire *w = wire_new(af);
	uint16_t lport;
	int fd;
	pair_up(&p, af, "dth", watch_b, w);
	server_start(&sv, p.a, af, 80, 1, 200000);
	/* the whole stream, then end of stream: the DTHs closed nothing */
	assert_int_equal(fetch(p.b, af, 80, &lport, &fd), 200000);
	pthread_join(sv.th, NULL);
	assert_true(w->dth_segs > 0);
	assert_int_equal(w->dth_syns, 0); /* RFC 9401 3.3 */
	assert_int_equal(w->wrong_family, 0);
	assert_int_equal(counter(p.b, "tcp_dth_rx"), w->dth_segs);
	/* the socket itself reports it (hook.h: tapir_tcp_rx_reserved) */
	{
		struct find_rx f = {lport, 0, -1};
		tapir_net_lock(p.b);
		tapir_tcp_foreach(tapir_net_stack(p.b), find_rx, &f);
		tapir_net_unlock(p.b);
		assert_int_equal(f.state, TAPIR_TCP_CLOSE_WAIT); /* FIN in, alive */
		assert_true(f.res & TAPIR_TH_RES_DTH);
	}
	/* ... and so does the socket layer: an option, and POLLPRI */
	{
		int bits = 0;
		socklen_t blen = sizeof(bits);
		struct pollfd pfd = {.fd = fd, .events = POLLPRI};
		assert_int_equal(tapir_getsockopt(p.b, fd, IPPROTO_TCP, TAPIR_TCP_RESERVED_RX, &bits,
						  &blen), 0);
		assert_true(bits & TAPIR_TH_RES_DTH);
		assert_int_equal(tapir_poll(p.b, &pfd, 1, 0), 1);
		assert_true(pfd.revents & POLLPRI);
	}
	tapir_close(p.b, fd);
	tapir_close(p.a, sv.lfd);
	pair_down(&p);
	free(w);
}

static void dth_every(int af)
{
	struct net_pair p;
	struct server sv;
	struct wire *w = wire_new(af);
	pair_up(&p, af, "dth=every=2", watch_b, w);
	server_start(&sv, p.a, af, 80, 4, 20000);
	for (int k = 0; k < 4; k++) {
		int fd = tapir_socket(p.b, af, SOCK_STREAM, 0);
		struct sockaddr_storage me, s;
		socklen_t ml = net_sa(af, 'b', (uint16_t)(40001 + k), &me),
			  sl = net_sa(af, 'a', 80, &s);
		static uint8_t buf[65536];
		size_t total = 0;
		ssize_t n;
		assert_int_equal(tapir_bind(p.b, fd, SA(me), ml), 0);
		w->ports[k] = (uint16_t)(40001 + k); /* before the first segment */
		assert_int_equal(tapir_connect(p.b, fd, SA(s), sl), 0);
		while ((n = tapir_recv(p.b, fd, buf, sizeof(buf), 0)) > 0)
			total += (size_t)n;
		assert_int_equal(n, 0);
		assert_int_equal(total, 20000);
		tapir_close(p.b, fd);
	}
	pthread_join(sv.th, NULL);
	assert_int_equal(w->dth_on[0], 0);
	assert_true(w->dth_on[1] > 0);
	assert_int_equal(w->dth_on[2], 0);
	assert_true(w->dth_on[3] > 0);
	assert_int_equal(w->wrong_family, 0);
	tapir_close(p.a, sv.lfd);
	pair_down(&p);
	free(w);
}

static enum tapir_verdict a_tx(void *arg, struct tapir_hook_pkt *p)
{
	unsigned *synacks = arg;
	if ((p->data[13] & (TAPIR_TH_SYN | TAPIR_TH_ACK)) == (TAPIR_TH_SYN | TAPIR_TH_ACK))
		(*synacks)++;
	return TAPIR_PASS;
}

static void watch_both(struct net_pair *p, void *arg)
{
	struct wire *w = arg;
	watch_b(p, w);
	assert_int_equal(tapir_hook_add(tapir_net_stack(p->a), TAPIR_HOOK_TCP_TX, a_tx,
					&w->synacks_seen), 0);
}

static void challenge_ack(int af)
{
	struct net_pair p;
	struct wire *w = wire_new(af);
	int lfd, fd;
	pair_up(&p, af, "challenge-ack-only", watch_both, w);
	lfd = connect_times_out(&p, af, &fd);
	/* each wrong ACK answered by a RST (RFC 9293 3.10.7.3), at least one per SYN */
	assert_true(w->rsts_sent >= 3);
	assert_int_equal(w->synacks_seen, 0);
	assert_int_equal(w->wrong_family, 0);
	close_down(&p, fd, lfd);
	free(w);
}

static void rst_after(int af)
{
	struct net_pair p;
	struct server sv;
	static uint8_t buf[65536];
	int fd, e;
	ssize_t n;
	size_t total = 0;
	struct sockaddr_storage s;
	socklen_t sl = net_sa(af, 'a', 80, &s);
	pair_up(&p, af, "rst-after=30000", NULL, NULL);
	server_start(&sv, p.a, af, 80, 1, 1000000);
	fd = tapir_socket(p.b, af, SOCK_STREAM, 0);
	/* The server may send its 30000 bytes and the RST before this thread
	 * wakes in connect(); then connect() itself reports the reset, as
	 * Linux's does when the socket is closed by the time it looks. */
	if (tapir_connect(p.b, fd, SA(s), sl) == 0) {
		while ((n = tapir_recv(p.b, fd, buf, sizeof(buf), 0)) > 0)
			total += (size_t)n;
		assert_int_equal(n, -1);
	}
	e = errno;
	assert_int_equal(e, ECONNRESET);
	assert_true(total < 30000);
	pthread_join(sv.th, NULL);
	assert_int_equal(sv.last_err, ECONNABORTED); /* tapir's own end, ended by the timer */
	tapir_close(p.b, fd);
	tapir_close(p.a, sv.lfd);
	pair_down(&p);
}

/* IPv6 adds corrupt: a flipped bit anywhere after the Ethernet header is
 * caught by a checksum or harmless (hop limit, flow label) */
static void netem(int af)
{
	struct net_pair p;
	struct server sv;
	uint16_t lport;
	pair_up(&p, af,
		af == AF_INET6 ? "loss=0.05,seed=3,reorder=0.05,dup=0.02,corrupt=0.01,delay=2+-1"
			       : "loss=0.05,seed=3,reorder=0.05,dup=0.02,delay=2+-1",
		NULL, NULL);
	server_start(&sv, p.a, af, 80, 1, 1 << 20);
	assert_int_equal(fetch(p.b, af, 80, &lport, NULL), 1 << 20);
	pthread_join(sv.th, NULL);
	assert_true(counter(p.a, "hook_injected") > 0);
	assert_true(counter(p.a, "tx_hook_dropped") > 0);
	tapir_close(p.a, sv.lfd);
	pair_down(&p);
}

/* ---- tail=1: A's first copies of data segments with PSH ---- */

struct firsts {
	bool any;
	uint32_t high;   /* the highest data end A's TCP sent */
	unsigned psh;    /* first copies with PSH */
};

static enum tapir_verdict a_tcp_tx(void *arg, struct tapir_hook_pkt *p)
{
	struct firsts *f = arg;
	size_t len = pers_tcp_payload(p, NULL);
	uint32_t end = tapir_get32(p->data + 4) + (uint32_t)len;
	if (!len || (f->any && (int32_t)(end - f->high) <= 0))
		return TAPIR_PASS;
	f->any = true;
	f->high = end;
	f->psh += (p->data[13] & TAPIR_TH_PSH) != 0;
	return TAPIR_PASS;
}

static void watch_a_tcp(struct net_pair *p, void *arg)
{
	assert_int_equal(tapir_hook_add(tapir_net_stack(p->a), TAPIR_HOOK_TCP_TX, a_tcp_tx, arg),
			 0);
}

static void netem_tail(int af)
{
	struct net_pair p;
	struct server sv;
	struct firsts f = {0};
	uint16_t lport;
	unsigned psh;
	pair_up(&p, af, "tail=1,dir=tx", watch_a_tcp, &f);
	server_start(&sv, p.a, af, 80, 1, 256 << 10);
	assert_int_equal(fetch(p.b, af, 80, &lport, NULL), 256 << 10);
	pthread_join(sv.th, NULL);
	tapir_net_lock(p.a);
	psh = f.psh;
	tapir_net_unlock(p.a);
	/* at least the last; each dropped once, nothing else (no loss=) */
	assert_true(psh > 0);
	assert_int_equal(counter(p.a, "tx_hook_dropped"), psh);
	tapir_close(p.a, sv.lfd);
	pair_down(&p);
}

/* ---- ttl=9 as B sees it: every IP packet from A ---- */

struct hops {
	int af;
	unsigned pkts, not_9, nd, nd_not_255, wrong_family, wrong_addr;
};

static enum tapir_verdict b_ip_rx(void *arg, struct tapir_hook_pkt *p)
{
	struct hops *h = arg;
	struct tapir_ip a = h->af == AF_INET6 ? tapir_ip_from_v6(NP_A6) : tapir_ip_from_v4(NP_A);
	uint8_t ttl = p->data[p->family == 6 ? TAPIR_IPV6_HLIM : TAPIR_IPV4_TTL];
	if (p->family != (h->af == AF_INET6 ? 6 : 4)) {
		h->wrong_family++;
		return TAPIR_PASS;
	}
	if (pers_is_link_control(p)) { /* RFC 4861 7.1.1: ND keeps 255 */
		h->nd++;
		h->nd_not_255 += ttl != 255;
		return TAPIR_PASS;
	}
	h->wrong_addr += !tapir_ip_eq(&p->saddr, &a);
	h->pkts++;
	h->not_9 += ttl != 9;
	return TAPIR_PASS;
}

static void watch_b_ip(struct net_pair *p, void *arg)
{
	assert_int_equal(tapir_hook_add(tapir_net_stack(p->b), TAPIR_HOOK_IP_RX, b_ip_rx, arg), 0);
}

static void ttl(int af)
{
	struct net_pair p;
	struct server sv;
	struct hops h = {.af = af};
	uint16_t lport;
	pair_up(&p, af, "ttl=9", watch_b_ip, &h);
	server_start(&sv, p.a, af, 80, 1, 100000);
	assert_int_equal(fetch(p.b, af, 80, &lport, NULL), 100000);
	pthread_join(sv.th, NULL);
	tapir_close(p.a, sv.lfd);
	pair_down(&p);
	assert_true(h.pkts > 10);
	assert_int_equal(h.not_9, 0);
	assert_int_equal(h.wrong_family, 0);
	assert_int_equal(h.wrong_addr, 0);
	/* over IPv6, B learned A's link address from A's neighbor advertisement */
	if (af == AF_INET6)
		assert_true(h.nd > 0);
	assert_int_equal(h.nd_not_255, 0);
}

/* ---- rewriting at the IP points: data XORed on A's way out, back on
 * B's way in, checksums redone each time ---- */

struct xor_count {
	unsigned a_tx, b_rx;
};

static void xor_payload(struct tapir_hook_pkt *p)
{
	uint8_t proto;
	int off = tapir_hook_l4(p, &proto);
	size_t th;
	if (off < 0 || proto != TAPIR_IPPROTO_TCP || (size_t)off + TAPIR_TCP_HLEN > p->len)
		return;
	th = (size_t)off + (size_t)(p->data[off + TAPIR_TH_OFF] >> 4) * 4;
	for (size_t i = th; i < p->len; i++)
		p->data[i] ^= 0x5a;
	tapir_hook_fix_checksums(p);
}

static enum tapir_verdict xor_a_tx(void *arg, struct tapir_hook_pkt *p)
{
	((struct xor_count *)arg)->a_tx++;
	xor_payload(p);
	return TAPIR_PASS;
}

static enum tapir_verdict xor_b_rx(void *arg, struct tapir_hook_pkt *p)
{
	((struct xor_count *)arg)->b_rx++;
	xor_payload(p);
	return TAPIR_PASS;
}

static void xor_hooks(struct net_pair *p, void *arg)
{
	assert_int_equal(tapir_hook_add(tapir_net_stack(p->a), TAPIR_HOOK_IP_TX, xor_a_tx, arg), 0);
	assert_int_equal(tapir_hook_add(tapir_net_stack(p->b), TAPIR_HOOK_IP_RX, xor_b_rx, arg), 0);
}

static void checksums(int af)
{
	struct net_pair p;
	struct server sv;
	struct xor_count x = {0, 0};
	uint16_t lport;
	pair_up(&p, af, NULL, xor_hooks, &x);
	server_start(&sv, p.a, af, 80, 1, 100000);
	assert_int_equal(fetch(p.b, af, 80, &lport, NULL), 100000); /* pattern checked */
	pthread_join(sv.th, NULL);
	assert_int_equal(counter(p.b, "tcp_checksum"), 0);
	assert_int_equal(counter(p.a, "tcp_checksum"), 0);
	tapir_close(p.a, sv.lfd);
	pair_down(&p);
	assert_true(x.a_tx > 0 && x.b_rx > 0);
}

/* ---- the personalities that refuse: connects from B time out ---- */

static void drop_synack(int af)
{
	struct net_pair p;
	struct wire *w = wire_new(af);
	int lfd, fd;
	pair_up(&p, af, "drop-synack", watch_b, w);
	lfd = connect_times_out(&p, af, &fd);
	assert_int_equal(w->synacks_seen, 0);
	assert_true(counter(p.a, "tx_hook_dropped") > 0); /* A did answer, into the hook */
	assert_int_equal(w->wrong_family, 0);
	close_down(&p, fd, lfd);
	free(w);
}

/* ETIMEDOUT, not EHOSTUNREACH: over IPv6, A still answered B's neighbor
 * solicitation (B's IP_RX saw the advertisement) */
static void blackhole(int af)
{
	struct net_pair p;
	struct hops h = {.af = af};
	int lfd, fd;
	pair_up(&p, af, "blackhole", watch_b_ip, &h);
	lfd = connect_times_out(&p, af, &fd);
	assert_true(counter(p.a, "hook") >= 3); /* the SYN and its retransmissions */
	assert_int_equal(h.pkts, 0);            /* nothing from A but ND */
	if (af == AF_INET6)
		assert_true(h.nd > 0);
	assert_int_equal(h.wrong_family, 0);
	close_down(&p, fd, lfd);
}

/* ignore-rst: B aborts (SO_LINGER 0: a RST), A's connection stays */
struct find_est {
	unsigned established;
};

static void find_est(void *arg, const struct tapir_tcp *t)
{
	struct tapir_tcp_info i;
	tapir_tcp_get_info(t, &i);
	if (i.state == TAPIR_TCP_ESTABLISHED)
		((struct find_est *)arg)->established++;
}

static void ignore_rst(int af)
{
	struct net_pair p;
	struct wire *w = wire_new(af);
	struct sockaddr_storage s;
	socklen_t sl = net_sa(af, 'a', 80, &s);
	struct linger lg = {1, 0};
	struct find_est f = {0};
	int lfd, fd;
	pair_up(&p, af, "ignore-rst", watch_b, w);
	lfd = listener(p.a, af, 80);
	fd = tapir_socket(p.b, af, SOCK_STREAM, 0);
	assert_int_equal(tapir_connect(p.b, fd, SA(s), sl), 0);
	assert_int_equal(tapir_setsockopt(p.b, fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	assert_int_equal(tapir_close(p.b, fd), 0);
	/* until A's hook has taken the RST (bounded: a count, not a time) */
	for (int i = 0; i < 500 && counter(p.a, "hook") == 0; i++)
		usleep(10000);
	assert_true(counter(p.a, "hook") >= 1);
	assert_true(w->rsts_sent >= 1);
	tapir_net_lock(p.a);
	tapir_tcp_foreach(tapir_net_stack(p.a), find_est, &f);
	tapir_net_unlock(p.a);
	assert_int_equal(f.established, 1); /* in A's accept queue, unaware */
	assert_int_equal(w->wrong_family, 0);
	tapir_close(p.a, lfd);
	pair_down(&p);
	free(w);
}

/* zero-window=300: B sends 200000 bytes into A's zero window, probes it
 * (RFC 9293 3.8.6.1), and all of it arrives once it opens */
struct sink {
	struct tapir_net *net;
	int lfd;
	size_t got;
	pthread_t th;
};

static void *sink_main(void *arg)
{
	struct sink *k = arg;
	static uint8_t buf[65536];
	int fd = tapir_accept(k->net, k->lfd, NULL, NULL);
	ssize_t n;
	while (fd >= 0 && (n = tapir_recv(k->net, fd, buf, sizeof(buf), 0)) > 0)
		k->got += (size_t)n;
	if (fd >= 0)
		tapir_close(k->net, fd);
	return NULL;
}

static void zero_window(int af)
{
	struct net_pair p;
	struct wire *w = wire_new(af);
	struct sink k;
	struct sockaddr_storage s;
	socklen_t sl = net_sa(af, 'a', 80, &s);
	static uint8_t data[200000];
	int fd;
	pair_up(&p, af, "zero-window=300", watch_b, w);
	k = (struct sink){p.a, listener(p.a, af, 80), 0, 0};
	assert_int_equal(pthread_create(&k.th, NULL, sink_main, &k), 0);
	fd = tapir_socket(p.b, af, SOCK_STREAM, 0);
	assert_int_equal(tapir_connect(p.b, fd, SA(s), sl), 0);
	assert_int_equal(tapir_send(p.b, fd, data, sizeof(data), 0), (ssize_t)sizeof(data));
	assert_int_equal(tapir_close(p.b, fd), 0);
	pthread_join(k.th, NULL);
	assert_int_equal(k.got, sizeof(data));
	assert_true(w->zero_windows > 0);
	assert_int_equal(w->wrong_family, 0);
	tapir_close(p.a, k.lfd);
	pair_down(&p);
	free(w);
}

/* Each test over IPv4, and as NAME_ipv6 over IPv6 */
#define BOTH(name, fn)                                                            \
	static void name(void **state) { (void)state; fn(AF_INET); }               \
	static void name##_ipv6(void **state) { (void)state; fn(AF_INET6); }
BOTH(dth_reported_connection_lives, dth_lives)
BOTH(dth_every_second, dth_every)
BOTH(challenge_ack_only_tapir_client, challenge_ack)
BOTH(rst_after_both_ends, rst_after)
BOTH(netem_transfer_exact, netem)
BOTH(netem_tail_first_copy, netem_tail)
BOTH(ttl_on_every_packet, ttl)
BOTH(checksums_fixed, checksums)
BOTH(drop_synack_times_out, drop_synack)
BOTH(blackhole_times_out, blackhole)
BOTH(ignore_rst_connection_stays, ignore_rst)
BOTH(zero_window_probed, zero_window)

int main(int argc, char **argv)
{
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return CMT_RUN(NULL, NULL, registry, dth_reported_connection_lives,
		       dth_reported_connection_lives_ipv6, dth_every_second, dth_every_second_ipv6,
		       challenge_ack_only_tapir_client, challenge_ack_only_tapir_client_ipv6,
		       rst_after_both_ends, rst_after_both_ends_ipv6, netem_transfer_exact,
		       netem_transfer_exact_ipv6, netem_tail_first_copy, netem_tail_first_copy_ipv6,
		       ttl_on_every_packet, ttl_on_every_packet_ipv6,
		       checksums_fixed, checksums_fixed_ipv6, drop_synack_times_out,
		       drop_synack_times_out_ipv6, blackhole_times_out, blackhole_times_out_ipv6,
		       ignore_rst_connection_stays, ignore_rst_connection_stays_ipv6,
		       zero_window_probed, zero_window_probed_ipv6);
}
