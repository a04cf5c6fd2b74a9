/* TCP and UDP over IPv6 (RFC 8200, RFC 9293), between two stacks on the
 * in-memory cable of tcpsim.h: A fd00::1, B fd00::2 (and their IPv4
 * addresses, for the dual-stack cases).  The handshake, data both ways
 * byte-exact (on a clean cable and on tcpsim's lossy one, seeded), the
 * close to TIME-WAIT, the MSS from the IPv6 MTU, a RST from a closed port,
 * IPV6_V6ONLY against v4-mapped IPv4, segmentation offload, and a UDP
 * echo with its mandatory checksum (RFC 8200 8.1). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <tapir/hook.h>
#include <tapir/udp.h>
#include <tapir/wire.h>

#include "tcpsim.h"

static const uint8_t A6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t B6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

/* Both sides get their IPv6 address and wait out DAD (RFC 4862 5.4). */
static void v6_up_cfg(struct sim *sim, const struct tapir_config *cfg,
		      const struct tapir_memlink_params *lp)
{
	sim_init(sim, cfg, lp);
	assert_int_equal(tapir_iface_add_ipv6(sim->st[0], sim->ifindex[0], A6, 64, sim->now), 0);
	assert_int_equal(tapir_iface_add_ipv6(sim->st[1], sim->ifindex[1], B6, 64, sim->now), 0);
	sim_advance(sim, TAPIR_SEC(5));
	for (int i = 0; i < 2; i++)
		assert_int_equal(tapir_iface_ipv6_addr(sim->st[i], sim->ifindex[i], 1, NULL, NULL),
				 TAPIR_ADDR6_PREFERRED);
}

static void v6_up(struct sim *sim, const struct tapir_memlink_params *lp)
{
	v6_up_cfg(sim, NULL, lp);
}

static struct tapir_ip ip6(const uint8_t *a) { return tapir_ip_from_v6(a); }

/* B listens on [LADDR]:PORT (V6ONLY as given), A connects to [RADDR]:PORT */
static bool v6_pair(struct sim *sim, struct pair *p, const struct tapir_ip *laddr, bool v6only,
		    const struct tapir_ip *raddr, uint16_t port)
{
	memset(p, 0, sizeof(*p));
	p->lis = tapir_tcp_new(sim->st[1]);
	assert_non_null(p->lis);
	assert_int_equal(tapir_tcp_setopt(p->lis, TAPIR_TCP_V6ONLY, v6only), 0);
	assert_int_equal(tapir_tcp_bind_addr(p->lis, laddr, port), 0);
	assert_int_equal(tapir_tcp_listen(p->lis, 8), 0);
	p->cli = tapir_tcp_new(sim->st[0]);
	assert_non_null(p->cli);
	tapir_tcp_set_event(p->cli, pair_cli_event, p);
	assert_int_equal(tapir_tcp_connect_addr(p->cli, raddr, port, sim->now), 0);
	return sim_run(sim, sim->now + TAPIR_SEC(30), sim_pair_accepted, p);
}

static void close_both(struct sim *sim, struct pair *p)
{
	tapir_tcp_close(p->cli, sim->now);
	tapir_tcp_close(p->srv, sim->now);
	assert_true(sim_only_listener_after(sim, TAPIR_SEC(130)));
	tapir_tcp_close(p->lis, sim->now);
}

/* A TCP hook (A's, on the way out) sees IPv6 segments with their 16-byte
 * addresses (and 0 in the IPv4 fields); tapir_hook_fix_checksums uses
 * IPv6's pseudo-header (B would drop a segment it got wrong) */
struct hook_seen {
	unsigned n, v6, zero32;
};

static enum tapir_verdict seen_hook(void *arg, struct tapir_hook_pkt *p)
{
	struct hook_seen *h = arg;
	h->n++;
	h->v6 += !memcmp(p->saddr.b, A6, 16) && !memcmp(p->daddr.b, B6, 16);
	h->zero32 += !p->src && !p->dst;
	tapir_hook_fix_checksums(p); /* (recomputes the same checksum) */
	return TAPIR_PASS;
}

static void test_v6_handshake_data_close(void **state)
{
	struct sim sim;
	struct pair p;
	struct tapir_ip any = {{0}}, b = ip6(B6), l, r;
	struct tapir_tcp_info i;
	uint16_t lport, rport;
	(void)state;
	struct hook_seen seen = {0};
	v6_up(&sim, NULL);
	assert_int_equal(tapir_hook_add(sim.st[0], TAPIR_HOOK_TCP_TX, seen_hook, &seen), 0);
	assert_true(v6_pair(&sim, &p, &any, false, &b, 80));
	assert_true(seen.n >= 2);
	assert_int_equal(seen.v6, seen.n);
	assert_int_equal(seen.zero32, seen.n);
	/* the addresses are the IPv6 ones; the IPv4 calls see none */
	tapir_tcp_local_addr(p.cli, &l, &lport);
	tapir_tcp_peer_addr(p.cli, &r, &rport);
	assert_memory_equal(l.b, A6, 16);
	assert_memory_equal(r.b, B6, 16);
	assert_int_equal(rport, 80);
	tapir_tcp_peer_addr(p.srv, &r, &rport);
	assert_memory_equal(r.b, A6, 16);
	assert_int_equal(rport, lport);
	tapir_tcp_get_info(p.cli, &i);
	assert_int_equal(i.raddr, 0);
	assert_memory_equal(i.raddr_ip.b, B6, 16);
	/* RFC 8200 5 / RFC 9293 3.7.1: 1500 less 40 + 20 bytes of headers */
	assert_int_equal(i.mss, 1440);
	sim_transfer(&sim, p.cli, p.srv, 300000, 1, TAPIR_SEC(600));
	sim_transfer(&sim, p.srv, p.cli, 200000, 2, TAPIR_SEC(600));
	close_both(&sim, &p);
	assert_int_equal(seen.v6, seen.n); /* every one, data and FIN too, checksums intact */
	assert_int_equal(tapir_stats(sim.st[1])->drop[TAPIR_DROP_tcp_checksum], 0);
	assert_int_equal(tapir_stats(sim.st[0])->tcp_rst_sent + tapir_stats(sim.st[1])->tcp_rst_sent, 0);
	sim_fini(&sim);
}

/* tcpsim's lossy cable (5% loss, reordering, duplicates, corruption),
 * seeded: every byte arrives, in order, both ways */
static void test_v6_lossy(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 3; seed++) {
		struct tapir_memlink_params lp;
		struct sim sim;
		struct pair p;
		struct tapir_ip b = ip6(B6), l = ip6(B6);
		sim_lossy_link(&lp, seed);
		v6_up(&sim, &lp);
		assert_true(v6_pair(&sim, &p, &l, false, &b, 8080));
		sim_transfer(&sim, p.cli, p.srv, 500000, (unsigned)seed, TAPIR_SEC(600));
		sim_transfer(&sim, p.srv, p.cli, 100000, (unsigned)seed + 7, TAPIR_SEC(600));
		assert_true(tapir_stats(sim.st[0])->tcp_retransmits > 0);
		close_both(&sim, &p);
		sim_fini(&sim);
	}
}

/* Segmentation offload over IPv6: over a cable that cuts super-segments
 * as the kernel does behind a TAP (GSO_TCPV6), most data goes many
 * segments at a time, never a fragment; each cut segment is one MTU at
 * most, with a checksum (IPv6's pseudo-header, RFC 8200 8.1) that B
 * accepts; the stream arrives byte-exact both ways */
static size_t v6_max_frame;
static unsigned v6_frags;
static bool v6_frame_size(void *arg, int to, const uint8_t *f, size_t len)
{
	(void)arg;
	(void)to;
	if (len > v6_max_frame)
		v6_max_frame = len;
	v6_frags += len > 14 + 40 && f[14 + TAPIR_IPV6_NXT] == TAPIR_IPPROTO_FRAGMENT;
	return false;
}

static void test_v6_tso(void **state)
{
	struct tapir_memlink_params lp;
	struct sim sim;
	struct pair p;
	struct tapir_ip b = ip6(B6);
	const struct tapir_memlink_stats *ls;
	(void)state;
	tapir_memlink_params_default(&lp);
	lp.delay_us = 1000;
	lp.tso = 1;
	v6_up(&sim, &lp);
	assert_true(v6_pair(&sim, &p, &b, false, &b, 80));
	v6_max_frame = 0;
	v6_frags = 0;
	sim.drop = v6_frame_size;
	uint64_t tx0 = tapir_stats(sim.st[0])->tcp_tx;
	sim_transfer(&sim, p.cli, p.srv, 4u << 20, 5, TAPIR_SEC(600));
	ls = tapir_memlink_stats(sim.link);
	assert_true(ls->tso > 0);
	/* far fewer sends than segments on the wire */
	assert_true(ls->sent > 4 * (tapir_stats(sim.st[0])->tcp_tx - tx0));
	sim_transfer(&sim, p.srv, p.cli, 1u << 20, 6, TAPIR_SEC(600));
	/* one segment of 1000 bytes: its checksum left to the link, over the
	 * IPv6 pseudo-header (RFC 8200 8.1), and accepted */
	uint64_t offloaded = ls->csum_offload;
	sim_transfer(&sim, p.cli, p.srv, 1000, 7, TAPIR_SEC(60));
	assert_int_equal(ls->csum_offload, offloaded + 1);
	assert_true(v6_max_frame <= 1514);
	assert_int_equal(v6_frags, 0);
	assert_int_equal(tapir_stats(sim.st[0])->drop[TAPIR_DROP_tcp_checksum], 0);
	assert_int_equal(tapir_stats(sim.st[1])->drop[TAPIR_DROP_tcp_checksum], 0);
	close_both(&sim, &p);
	sim_fini(&sim);
}

static bool cli_done(void *arg)
{
	const struct pair *p = arg;
	return p->connected || (p->cli_ev & (TAPIR_EV_ERROR | TAPIR_EV_HUP));
}

/* A fresh client on A connects to DST:PORT; runs until it is up or has
 * failed, which must happen within FOR. */
static void cli_connect(struct sim *sim, struct pair *p, const struct tapir_ip *dst, uint16_t port,
			tapir_time_t for_)
{
	memset(p, 0, sizeof(*p));
	p->cli = tapir_tcp_new(sim->st[0]);
	tapir_tcp_set_event(p->cli, pair_cli_event, p);
	assert_int_equal(tapir_tcp_connect_addr(p->cli, dst, port, sim->now), 0);
	assert_true(sim_run(sim, sim->now + for_, cli_done, p));
}

/* RFC 9293 3.10.7.1: a SYN to a port nobody listens on gets a RST, over
 * IPv6 as over IPv4; an IPv6-only listener is such a port for IPv4. */
static void test_v6_rst_closed_port(void **state)
{
	struct sim sim;
	struct pair p;
	struct tapir_ip any = {{0}}, b = ip6(B6), b4 = tapir_ip_from_v4(SIM_B);
	(void)state;
	v6_up(&sim, NULL);
	cli_connect(&sim, &p, &b, 81, TAPIR_SEC(5));
	assert_false(p.connected);
	assert_int_equal(tapir_tcp_error(p.cli), ECONNREFUSED);
	assert_int_equal(tapir_stats(sim.st[1])->tcp_rst_sent, 1);
	tapir_tcp_close(p.cli, sim.now);

	/* V6ONLY: IPv4 to the same port is refused ... */
	p.lis = tapir_tcp_new(sim.st[1]);
	assert_int_equal(tapir_tcp_setopt(p.lis, TAPIR_TCP_V6ONLY, 1), 0);
	assert_int_equal(tapir_tcp_bind_addr(p.lis, &any, 82), 0);
	assert_int_equal(tapir_tcp_listen(p.lis, 8), 0);
	/* ... and the IPv4 "any" may hold the same port beside it */
	struct tapir_tcp *l4 = tapir_tcp_new(sim.st[1]);
	assert_int_equal(tapir_tcp_bind(l4, 0, 82), 0);
	tapir_tcp_close(l4, sim.now);
	p.cli = tapir_tcp_new(sim.st[0]);
	tapir_tcp_set_event(p.cli, pair_cli_event, &p);
	p.cli_ev = 0;
	assert_int_equal(tapir_tcp_connect(p.cli, SIM_B, 82, sim.now), 0);
	assert_true(sim_run(&sim, sim.now + TAPIR_SEC(5), cli_done, &p));
	assert_false(p.connected);
	assert_int_equal(tapir_tcp_error(p.cli), ECONNREFUSED);
	tapir_tcp_close(p.cli, sim.now);
	tapir_tcp_close(p.lis, sim.now);

	/* without V6ONLY, :: takes IPv4 too, its peer v4-mapped (RFC 3493 3.7) */
	assert_true(v6_pair(&sim, &p, &any, false, &b4, 83));
	struct tapir_ip r;
	uint16_t rport;
	tapir_tcp_peer_addr(p.srv, &r, &rport);
	assert_true(tapir_ip_is_v4(&r));
	assert_int_equal(tapir_ip_v4(&r), SIM_A);
	/* and a :: bind clashes with an IPv4 bind of the same port */
	struct tapir_tcp *t = tapir_tcp_new(sim.st[1]);
	assert_int_equal(tapir_tcp_bind(t, 0, 83), -EADDRINUSE);
	tapir_tcp_close(t, sim.now);
	close_both(&sim, &p);
	sim_fini(&sim);
}

/* RFC 4443 3 to the transports: our own neighbor discovery failing ends
 * a connect (EHOSTUNREACH, RFC 4861 7.2.2); a packet too big lowers a
 * connection's MSS to the new path MTU (RFC 8201 4); a port unreachable
 * reaches a connected UDP socket (ECONNREFUSED, UNP 8.9) */
static void icmp6_ptb(struct sim *sim, const struct tapir_tcp_info *i, uint16_t lport, uint16_t rport)
{
	uint8_t f[14 + 40 + 8 + 40 + 20] = {0};
	uint8_t *m = sim_ip6_header(sim_eth_header(f, 0, 1, TAPIR_ETH_P_IPV6), B6, A6,
				    TAPIR_IPPROTO_ICMPV6, 8 + 40 + 20);
	/* the quoted segment: A's, its sequence number in flight */
	uint8_t *q = m + 8;
	m[0] = TAPIR_ICMP6_PKT_TOO_BIG;
	tapir_put32(m + 4, 1280);
	sim_ip6_header(q, A6, B6, TAPIR_IPPROTO_TCP, 1420);
	tapir_put16(q + 40, lport);
	tapir_put16(q + 42, rport);
	tapir_put32(q + 44, i->snd_una);
	tapir_put16(m + 2, tapir_csum_fold(tapir_csum_add(
		tapir_csum_pseudo6(B6, A6, TAPIR_IPPROTO_ICMPV6, 8 + 40 + 20), m, 8 + 40 + 20)));
	assert_int_equal(tapir_inject_rx(sim->st[0], sim->ifindex[0], f, sizeof(f), sim->now), 0);
}

static void test_v6_icmp_errors(void **state)
{
	static const uint8_t nobody[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99};
	struct sim sim;
	struct pair p;
	struct tapir_ip n = ip6(nobody), b = ip6(B6), l;
	struct tapir_tcp_info i;
	uint16_t lport;
	static uint8_t buf[100000];
	(void)state;
	v6_up(&sim, NULL);
	/* (long before the SYN retries would run out) */
	cli_connect(&sim, &p, &n, 80, TAPIR_SEC(10));
	assert_int_equal(tapir_tcp_error(p.cli), EHOSTUNREACH);
	tapir_tcp_close(p.cli, sim.now);

	assert_true(v6_pair(&sim, &p, &b, false, &b, 80));
	tapir_tcp_get_info(p.cli, &i);
	assert_int_equal(i.mss, 1440);
	long sent = tapir_tcp_send(p.cli, buf, sizeof(buf), sim.now);
	assert_true(sent > 0);
	tapir_tcp_get_info(p.cli, &i);
	assert_true(i.snd_nxt != i.snd_una);
	tapir_tcp_local_addr(p.cli, &l, &lport);
	icmp6_ptb(&sim, &i, lport, 80);
	tapir_tcp_get_info(p.cli, &i);
	assert_int_equal(i.mss, 1280 - 60);
	/* the connection goes on: all 100000 bytes arrive, in smaller segments */
	struct sim_xfer x = {&sim, p.cli, p.srv, buf, (size_t)sent, (size_t)sent, 0, malloc(sizeof(buf))};
	assert_true(sim_run(&sim, sim.now + TAPIR_SEC(60), sim_xfer_step, &x));
	assert_memory_equal(x.out, buf, (size_t)sent);
	free(x.out);
	sim_transfer(&sim, p.cli, p.srv, 50000, 3, TAPIR_SEC(600));
	close_both(&sim, &p);

	struct tapir_udp *u = tapir_udp_new(sim.st[0]);
	assert_int_equal(tapir_udp_connect_addr(u, &b, 9999), 0);
	assert_int_equal(tapir_udp_sendto_addr(u, "x", 1, NULL, 0, sim.now), 1);
	sim_advance(&sim, TAPIR_SEC(1));
	assert_int_equal(tapir_udp_error(u), ECONNREFUSED);
	tapir_udp_free(u);
	sim_fini(&sim);
}

/* RFC 4987 3.6 over IPv6: with one half-open connection allowed, SYNs
 * beyond it get SYN cookies (keyed over the 36-byte tuple), and the ACKs
 * that return them make connections that carry data */
struct cookie_run {
	struct tapir_tcp *lis, *cli[4], *srv[4];
	unsigned nsrv, connected;
};

static void cookie_cli_event(void *arg, unsigned ev)
{
	if (ev & TAPIR_EV_CONNECTED)
		((struct cookie_run *)arg)->connected++;
}

static bool cookies_done(void *arg)
{
	struct cookie_run *r = arg;
	struct tapir_tcp *t;
	int err;
	while (r->nsrv < 4 && (t = tapir_tcp_accept(r->lis, &err)) != NULL)
		r->srv[r->nsrv++] = t;
	return r->nsrv == 4 && r->connected == 4;
}

/* A SYN to B's port 90 from fd00::77, a host that never answers: a
 * half-open connection that lingers (its SYN,ACK retransmitted) */
static void inject_syn6(struct sim *sim)
{
	static const uint8_t x6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x77};
	uint8_t f[14 + 40 + 20] = {0};
	uint8_t *th = sim_ip6_header(sim_eth_header(f, 1, 0, TAPIR_ETH_P_IPV6), x6, B6,
				     TAPIR_IPPROTO_TCP, 20);
	tapir_put16(th + TAPIR_TH_SPORT, 4077);
	tapir_put16(th + TAPIR_TH_DPORT, 90);
	tapir_put32(th + TAPIR_TH_SEQ, 12345);
	th[TAPIR_TH_OFF] = 5 << 4;
	th[TAPIR_TH_FLAGS] = TAPIR_TH_SYN;
	tapir_put16(th + TAPIR_TH_WIN, 65535);
	tapir_put16(th + TAPIR_TH_CSUM, tapir_csum_fold(tapir_csum_add(
		tapir_csum_pseudo6(x6, B6, TAPIR_IPPROTO_TCP, 20), th, 20)));
	assert_int_equal(tapir_inject_rx(sim->st[1], sim->ifindex[1], f, sizeof(f), sim->now), 0);
}

static void test_v6_syncookies(void **state)
{
	struct tapir_config c;
	struct sim sim;
	struct cookie_run r = {0};
	struct tapir_ip any = {{0}}, b = ip6(B6);
	char buf[8];
	(void)state;
	tapir_config_default(&c);
	c.tcp_timestamps = c.tcp_sack = 0;
	c.tcp_max_syn_backlog = 1;
	v6_up_cfg(&sim, &c, NULL);
	r.lis = tapir_tcp_new(sim.st[1]);
	assert_int_equal(tapir_tcp_bind_addr(r.lis, &any, 90), 0);
	assert_int_equal(tapir_tcp_listen(r.lis, 16), 0);
	inject_syn6(&sim);
	sim_advance(&sim, TAPIR_MS(1500)); /* (its SYN,ACK goes again after 1 s) */
	for (int i = 0; i < 4; i++) {
		r.cli[i] = tapir_tcp_new(sim.st[0]);
		tapir_tcp_set_event(r.cli[i], cookie_cli_event, &r);
		assert_int_equal(tapir_tcp_connect_addr(r.cli[i], &b, 90, sim.now), 0);
	}
	assert_true(sim_run(&sim, sim.now + TAPIR_SEC(30), cookies_done, &r));
	assert_true(tapir_stats(sim.st[1])->tcp_syncookies_sent >= 1);
	assert_true(tapir_stats(sim.st[1])->tcp_syncookies_ok >= 1);
	for (unsigned i = 0; i < 4; i++) {
		struct tapir_ip peer;
		uint16_t port;
		tapir_tcp_peer_addr(r.srv[i], &peer, &port);
		assert_memory_equal(peer.b, A6, 16);
		assert_int_equal(tapir_tcp_send(r.srv[i], "ok", 2, sim.now), 2);
	}
	sim_advance(&sim, TAPIR_SEC(1));
	for (int i = 0; i < 4; i++) {
		assert_int_equal(tapir_tcp_recv(r.cli[i], buf, sizeof(buf), sim.now), 2);
		tapir_tcp_close(r.cli[i], sim.now);
		tapir_tcp_close(r.srv[i], sim.now);
	}
	tapir_tcp_close(r.lis, sim.now);
	sim_advance(&sim, TAPIR_SEC(200));
	assert_int_equal(sim_sockets(sim.st[0]) + sim_sockets(sim.st[1]), 0);
	sim_fini(&sim);
}

/* ---- UDP ---- */

static bool udp_readable(void *arg) { return tapir_udp_events(arg) & TAPIR_EV_READ; }

/* A frame from A to B's port 7: "ping" over IPv6 with its checksum, or
 * with none (0) */
static int inject_udp6(struct sim *sim, bool csum)
{
	uint8_t f[14 + 40 + 12] = {0};
	uint8_t *u = sim_ip6_header(sim_eth_header(f, 1, 0, TAPIR_ETH_P_IPV6), A6, B6,
				    TAPIR_IPPROTO_UDP, 12);
	sim_udp_ping(u, 5000, 7);
	if (csum)
		tapir_put16(u + TAPIR_UH_CSUM, tapir_csum_fold(tapir_csum_add(
			tapir_csum_pseudo6(A6, B6, TAPIR_IPPROTO_UDP, 12), u, 12)));
	return tapir_inject_rx(sim->st[1], sim->ifindex[1], f, sizeof(f), sim->now);
}

/* A UDP echo over IPv6: A sends, B echoes what it got to where it came
 * from, A checks it */
static void test_v6_udp_echo(void **state)
{
	struct sim sim;
	struct tapir_ip any = {{0}}, b = ip6(B6), from;
	uint8_t buf[2000], msg[1200];
	uint16_t port;
	long n;
	(void)state;
	v6_up(&sim, NULL);
	struct tapir_udp *ua = tapir_udp_new(sim.st[0]), *ub = tapir_udp_new(sim.st[1]);
	assert_int_equal(tapir_udp_bind_addr(ub, &any, 7), 0);
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7);
	assert_int_equal(tapir_udp_sendto_addr(ua, msg, sizeof(msg), &b, 7, sim.now), sizeof(msg));
	assert_true(sim_run(&sim, sim.now + TAPIR_SEC(2), udp_readable, ub));
	n = tapir_udp_recvfrom_addr(ub, buf, sizeof(buf), &from, &port);
	assert_int_equal(n, sizeof(msg));
	assert_memory_equal(from.b, A6, 16);
	assert_int_equal(tapir_udp_sendto_addr(ub, buf, (size_t)n, &from, port, sim.now), n);
	assert_true(sim_run(&sim, sim.now + TAPIR_SEC(2), udp_readable, ua));
	n = tapir_udp_recvfrom_addr(ua, buf, sizeof(buf), &from, &port);
	assert_int_equal(n, sizeof(msg));
	assert_memory_equal(buf, msg, sizeof(msg));
	assert_memory_equal(from.b, B6, 16);
	assert_int_equal(port, 7);
	/* IPv4 still reaches the :: socket, v4-mapped */
	assert_int_equal(tapir_udp_sendto(ua, msg, 10, SIM_B, 7, sim.now), 10);
	assert_true(sim_run(&sim, sim.now + TAPIR_SEC(2), udp_readable, ub));
	assert_int_equal(tapir_udp_recvfrom_addr(ub, buf, sizeof(buf), &from, &port), 10);
	assert_true(tapir_ip_is_v4(&from));
	assert_int_equal(tapir_ip_v4(&from), SIM_A);
	/* RFC 8200 8.1: a zero checksum over IPv6 is dropped and counted; the
	 * same datagram with its checksum is taken */
	uint64_t bad = tapir_stats(sim.st[1])->drop[TAPIR_DROP_udp_checksum];
	assert_int_equal(inject_udp6(&sim, false), 0);
	assert_int_equal(tapir_stats(sim.st[1])->drop[TAPIR_DROP_udp_checksum], bad + 1);
	assert_false(tapir_udp_events(ub) & TAPIR_EV_READ);
	assert_int_equal(inject_udp6(&sim, true), 0);
	assert_int_equal(tapir_stats(sim.st[1])->drop[TAPIR_DROP_udp_checksum], bad + 1);
	assert_int_equal(tapir_udp_recvfrom_addr(ub, buf, sizeof(buf), &from, &port), 4);
	assert_memory_equal(buf, "ping", 4);
	tapir_udp_free(ua);
	tapir_udp_free(ub);
	sim_fini(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v6_handshake_data_close),
		cmocka_unit_test(test_v6_lossy),
		cmocka_unit_test(test_v6_tso),
		cmocka_unit_test(test_v6_rst_closed_port),
		cmocka_unit_test(test_v6_icmp_errors),
		cmocka_unit_test(test_v6_syncookies),
		cmocka_unit_test(test_v6_udp_echo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
