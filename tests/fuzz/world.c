/* The fuzz world: see world.h. */
#include "world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* private core headers: the invariants look at the pools and TCP's memory */
#include "core.h"
#include "tcp_int.h"

const uint8_t w_mac_us[6] = {0x02, 0, 0, 0, 0, 2};
const uint8_t w_mac_peer[6] = {0x02, 0, 0, 0, 0, 1};
const uint8_t w_us6[16] = {0xfd, [15] = 2};
const uint8_t w_peer6[16] = {0xfd, [15] = 1};
const uint8_t w_peer_ll[16] = {0xfe, 0x80, [15] = 1};

/* TAPIR_FUZZ_KNOWN_BUGS=1, for long runs while a reported bug in core/
 * is not fixed yet (docs/fuzzing.md lists them): the teardown tolerates
 * it, so that runs go on to find something new: the teardown ends by
 * force the TCP sockets still there after an hour (zero-window probes that
 * never gave up, a probe carrying the FIN that left no timer: both fixed
 * in 535475a, the switch kept for the next one). */
static bool known_bugs(void)
{
	static int on = -1;
	if (on < 0)
		on = getenv("TAPIR_FUZZ_KNOWN_BUGS") != NULL;
	return on;
}

void world_fail(const char *what)
{
	fprintf(stderr, "fuzz world: INVARIANT FAILED: %s\n", what);
	abort();
}
#define fail world_fail

/* Every input builds a stack afresh (so a crash replays alone), which
 * frees and allocates a few hundred KiB per run: a smaller quarantine
 * keeps ASan reusing warm memory instead of faulting in new pages, and
 * still holds dozens of runs' worth of freed blocks for use-after-free
 * reports.  The environment's ASAN_OPTIONS still override this. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "quarantine_size_mb=16"; }


/* The link keeps copies of the last frames sent: the scripted peer reads
 * its handshake answers from them, and the ICMP records quote them. */
static int cap_send(struct tapir_link *l, const uint8_t *frame, size_t len)
{
	struct world *w = (struct world *)((char *)l - offsetof(struct world, link));
	unsigned i = w->ntx++ % W_CAP_FRAMES;
	if (len > sizeof(w->last_tx[i]))
		len = sizeof(w->last_tx[i]);
	memcpy(w->last_tx[i], frame, len);
	w->last_tx_len[i] = len;
	return 0;
}

/* Tracing is on, into a sink that only looks at the line: the formatting
 * code sees every fuzzed packet too. */
static int print_trace = -1;

static void trace_sink(void *arg, tapir_time_t now, const char *chan, const char *line)
{
	(void)arg;
	if (!line[0])
		fail("empty trace line");
	if (print_trace) /* TAPIR_FUZZ_TRACE_PRINT=1: to read what a crash input does */
		fprintf(stderr, "%10.6f %-6s %s\n", (double)now / 1e6, chan, line);
}

static void echo_sink(void *arg, const struct tapir_echo_reply *r)
{
	(void)arg;
	(void)r;
}

void world_config(struct tapir_config *c)
{
	tapir_config_default(c);
	c->seed = 1;
	c->pkt_small = 48;
	c->pkt_large = 1; /* each pool under 128 KiB: ASan's mmap path is slow */
	c->arp_cache_size = 8;
	c->arp_queue_len = 4;
	c->arp_retries = 2;
	c->reasm_max_datagrams = 4;
	c->reasm_max_bytes = 96 * 1024; /* the 64 KiB buffer and some small ones */
	c->icmp_burst = 10;
	c->udp_sockets = 4;
	c->udp_rcvbuf = 8192;
	c->tcp_sockets = 8;
	c->tcp_rcvbuf = 4096;
	c->tcp_sndbuf = 8192;
	c->tcp_mem_max = 64 * 1024; /* about five connections' buffers */
	c->tcp_rto_max_us = TAPIR_SEC(8);
	c->tcp_syn_retries = 2;
	c->tcp_retries2 = 4;
	c->tcp_msl_us = TAPIR_SEC(2);
	c->tcp_fin_timeout_us = TAPIR_SEC(5);
	c->tcp_challenge_acks = 3;
	c->nd_cache_size = 8;
	c->nd_queue_len = 4;
	c->nd_routers = 2;
	c->nd_prefixes = 2;
	c->nd_dad_transmits = 0; /* IPv6 addresses usable at once */
}

size_t w_dhcp_msg(uint8_t *m, uint8_t type, uint32_t xid, uint32_t yiaddr, uint32_t lease)
{
	uint8_t *o = m + 240;
	memset(m, 0, 300);
	m[0] = 2, m[1] = 1, m[2] = 6; /* BOOTREPLY, Ethernet */
	tapir_put32(m + 4, xid);
	tapir_put32(m + 16, yiaddr);
	memcpy(m + 28, w_mac_us, 6);
	tapir_put32(m + 236, 0x63825363u);
	*o++ = 53, *o++ = 1, *o++ = type;
	*o++ = 54, *o++ = 4, tapir_put32(o, W_PEER), o += 4;
	*o++ = 1, *o++ = 4, tapir_put32(o, 0xffffff00u), o += 4;
	*o++ = 3, *o++ = 4, tapir_put32(o, W_PEER), o += 4;
	*o++ = 51, *o++ = 4, tapir_put32(o, lease), o += 4;
	*o = 255;
	return 300;
}

size_t w_dhcp_frame(uint8_t *f, uint32_t dst, const uint8_t *m, size_t len)
{
	size_t n = w_eth(f, 0x0800);
	if (dst == 0xffffffffu)
		memset(f, 0xff, 6);
	w_ip(f + n, W_PEER, dst, 17, 8 + len, 7, 0);
	tapir_put16(f + n + 20, 67);
	tapir_put16(f + n + 22, 68);
	tapir_put16(f + n + 24, (uint16_t)(8 + len));
	tapir_put16(f + n + 26, 0); /* RFC 768: no checksum */
	memcpy(f + n + 28, m, len);
	return n + 28 + len;
}

size_t w_eth(uint8_t *f, uint16_t type)
{
	memcpy(f, w_mac_us, 6);
	memcpy(f + 6, w_mac_peer, 6);
	tapir_put16(f + 12, type);
	return 14;
}

void w_ip(uint8_t *ip, uint32_t src, uint32_t dst, uint8_t proto, size_t payload, uint16_t id,
	  uint16_t frag)
{
	memset(ip, 0, 20);
	ip[0] = 0x45;
	tapir_put16(ip + 2, (uint16_t)(20 + payload));
	tapir_put16(ip + 4, id);
	tapir_put16(ip + 6, frag);
	ip[8] = 64;
	ip[9] = proto;
	tapir_put32(ip + 12, src);
	tapir_put32(ip + 16, dst);
	tapir_put16(ip + 10, tapir_csum_fold(tapir_csum_add(0, ip, 20)));
}

/* IPv6 (RFC 8200 8.1): the ICMPv6 checksum behind any extension headers */
static void w_fix_checksums6(uint8_t *ip, size_t len)
{
	uint8_t nh;
	size_t tot;
	int up;
	if (len < 40 || (tot = 40 + tapir_get16(ip + 4)) > len)
		return;
	nh = ip[6];
	up = ipv6_upper(ip, tot, 40, &nh);
	if (up < 0 || nh != 58 || (size_t)up + 4 > tot)
		return;
	tapir_put16(ip + up + 2, 0);
	tapir_put16(ip + up + 2, tapir_csum_fold(tapir_csum_add(
				      tapir_csum_pseudo6(ip + 8, ip + 24, 58, (uint32_t)(tot - (size_t)up)),
				      ip + up, tot - (size_t)up)));
}

void w_fix_checksums(uint8_t *ip, size_t len)
{
	size_t hl, tot;
	uint8_t *l4;
	if (len >= 1 && ip[0] >> 4 == 6)
		w_fix_checksums6(ip, len);
	if (len < 20 || ip[0] >> 4 != 4)
		return;
	hl = (size_t)(ip[0] & 15) * 4;
	if (hl < 20 || hl > len)
		return;
	tapir_put16(ip + 10, 0);
	tapir_put16(ip + 10, tapir_csum_fold(tapir_csum_add(0, ip, hl)));
	tot = tapir_get16(ip + 2);
	if (tot < hl || tot > len || (tapir_get16(ip + 6) & 0x3fff))
		return;
	l4 = ip + hl;
	tot -= hl;
	switch (ip[9]) {
	case 6:
		if (tot < 20)
			return;
		tapir_put16(l4 + 16, 0);
		tapir_put16(l4 + 16, tapir_csum_fold(tapir_csum_add(
				      tapir_csum_pseudo(tapir_get32(ip + 12), tapir_get32(ip + 16), 6, (uint16_t)tot),
				      l4, tot)));
		break;
	case 17: {
		uint16_t ulen;
		if (tot < 8)
			return;
		ulen = tapir_get16(l4 + 4);
		if (ulen < 8 || ulen > tot)
			return;
		tapir_put16(l4 + 6, 0);
		tapir_put16(l4 + 6, tapir_csum_fold(tapir_csum_add(
				     tapir_csum_pseudo(tapir_get32(ip + 12), tapir_get32(ip + 16), 17, ulen), l4, ulen)));
		break;
	}
	case 1:
		if (tot < 8)
			return;
		tapir_put16(l4 + 2, 0);
		tapir_put16(l4 + 2, tapir_csum_fold(tapir_csum_add(0, l4, tot)));
		break;
	}
}

size_t w_tcp_frame(uint8_t *f, uint32_t src, uint16_t sport, uint16_t dport, uint32_t seq,
		   uint32_t ack, uint8_t flags, uint16_t wnd, const uint8_t *opt, size_t optlen,
		   const uint8_t *data, size_t dlen)
{
	size_t o = (optlen + 3) & ~(size_t)3, hl, n;
	uint8_t *ip, *th;
	if (o > 40)
		o = optlen = 40;
	hl = 20 + o;
	n = hl + dlen;
	w_eth(f, 0x0800);
	ip = f + 14;
	w_ip(ip, src, W_US, 6, n, 0, 0x4000);
	th = ip + 20;
	memset(th, 0, hl);
	tapir_put16(th, sport);
	tapir_put16(th + 2, dport);
	tapir_put32(th + 4, seq);
	tapir_put32(th + 8, ack);
	th[12] = (uint8_t)((hl / 4) << 4);
	th[13] = flags;
	tapir_put16(th + 14, wnd);
	if (optlen)
		memcpy(th + 20, opt, optlen);
	if (dlen)
		memcpy(th + hl, data, dlen);
	w_fix_checksums(ip, 20 + n);
	return 14 + 20 + n;
}

size_t w_icmp_error_frame(uint8_t *f, uint8_t type, uint8_t code, uint32_t rest,
			  const uint8_t *orig, size_t qlen)
{
	uint8_t *ip = f + 14, *m = ip + 20;
	w_eth(f, 0x0800);
	w_ip(ip, W_PEER, W_US, 1, 8 + qlen, 0, 0);
	m[0] = type;
	m[1] = code;
	tapir_put16(m + 2, 0);
	tapir_put32(m + 4, rest);
	memcpy(m + 8, orig, qlen);
	w_fix_checksums(ip, 20 + 8 + qlen);
	return 14 + 20 + 8 + qlen;
}

void w_tcp_seqs(struct world *w, uint16_t lport, uint32_t raddr, uint16_t rport,
		uint32_t *rcv_nxt, uint32_t *snd_una, bool *found)
{
	struct tapir_tcp *t = tapir_tcp_lookup(w->s, W_US, lport, raddr, rport);
	struct tapir_tcp_info info;
	*found = false;
	*rcv_nxt = *snd_una = 0;
	if (!t || tapir_tcp_state(t) == TAPIR_TCP_LISTEN)
		return;
	tapir_tcp_get_info(t, &info);
	*rcv_nxt = info.rcv_nxt;
	*snd_una = info.snd_una;
	*found = true;
}

tapir_time_t w_time(uint8_t b)
{
	static const tapir_time_t unit[8] = {0, TAPIR_MS(1), TAPIR_MS(10), TAPIR_MS(100),
					     TAPIR_SEC(1), TAPIR_SEC(10), TAPIR_SEC(60), 0};
	return (tapir_time_t)(b & 31) * unit[b >> 5];
}

static void check_rx_counters(const struct world *w)
{
	const struct tapir_stats *st = tapir_stats(w->s);
	if (st->rx_frames != st->rx_delivered + tapir_drops_total(st))
		fail("rx_frames != rx_delivered + drops");
}

void world_app(struct world *w)
{
	uint8_t buf[4096];
	int err;
	struct tapir_tcp *c;
	if (w->lis) {
		while ((c = tapir_tcp_accept(w->lis, &err)) != NULL) {
			int i;
			for (i = 0; i < W_MAX_TCP && w->tcp[i]; i++)
				;
			if (i == W_MAX_TCP)
				tapir_tcp_close(c, w->now);
			else
				w->tcp[i] = c;
		}
	}
	for (int i = 0; i < W_MAX_TCP && !w->no_read; i++) {
		/* bounded: a socket at EOF or in error answers at once */
		for (int k = 0; w->tcp[i] && k < 4; k++)
			if (tapir_tcp_recv(w->tcp[i], buf, sizeof(buf), w->now) <= 0)
				break;
	}
}

void world_input(struct world *w, uint8_t *frame, size_t len)
{
	tapir_stack_input(w->s, 0, frame, len, w->now);
	check_rx_counters(w);
	world_app(w);
}

void world_advance(struct world *w, tapir_time_t dt)
{
	tapir_time_t end = w->now + dt;
	/* each deadline on the way gets its own poll, as a real loop would
	 * give it; bounded, in case the stack keeps asking for "now" */
	for (int i = 0; i < 256; i++) {
		tapir_time_t next = tapir_stack_poll(w->s, w->now);
		if (next > end)
			break;
		if (next > w->now)
			w->now = next;
	}
	w->now = end;
	tapir_stack_poll(w->s, w->now);
	check_rx_counters(w);
	world_app(w);
}

const uint8_t *w_sent_ip(const struct world *w, unsigned back, size_t max, size_t *len)
{
	unsigned k;
	if (back >= w->ntx)
		return NULL;
	k = (w->ntx - 1 - back) % W_CAP_FRAMES;
	*len = w->last_tx_len[k] - 14;
	if (*len > max)
		*len = max;
	return w->last_tx[k] + 14;
}

/* TSval of the newest TCP frame we sent, 0 if none */
uint32_t w_last_tsval(const struct world *w)
{
	const uint8_t *f = w->last_tx[(w->ntx - 1) % W_CAP_FRAMES], *th;
	size_t len = w->last_tx_len[(w->ntx - 1) % W_CAP_FRAMES], off;
	if (!w->ntx || len < 14 + 20 + 20 || f[14 + 9] != 6)
		return 0;
	th = f + 14 + (size_t)(f[14] & 15) * 4;
	off = (size_t)(th[12] >> 4) * 4;
	for (size_t i = 20; i + 1 < off && th + off <= f + len;) {
		if (th[i] == 0)
			break;
		if (th[i] == 1) {
			i++;
			continue;
		}
		if (th[i] == 8 && th[i + 1] == 10 && i + 10 <= off)
			return tapir_get32(th + i + 2);
		if (th[i + 1] < 2)
			break;
		i += th[i + 1];
	}
	return 0;
}

static void setup_tcp(struct world *w)
{
	uint8_t f[1600], opt[40];
	struct tapir_tcp_info info;
	struct tapir_tcp *child, *cli;
	static const uint8_t data[3000];
	size_t n;

	w->lis = tapir_tcp_new(w->s);
	/* (TCP Fast Open on: its option's parsing and cookies are fuzzed) */
	if (!w->lis || tapir_tcp_setopt(w->lis, TAPIR_TCP_FASTOPEN, 4) ||
	    tapir_tcp_bind(w->lis, 0, W_LISTEN_PORT) ||
	    tapir_tcp_listen(w->lis, 4))
		fail("setup: listener");

	/* passive open with every option: MSS, SACK permitted, timestamps,
	 * window scale 7 */
	opt[0] = 2, opt[1] = 4, tapir_put16(opt + 2, 1460);
	opt[4] = 4, opt[5] = 2;
	opt[6] = 8, opt[7] = 10, tapir_put32(opt + 8, w->peer_ts++), tapir_put32(opt + 12, 0);
	opt[16] = 1, opt[17] = 3, opt[18] = 3, opt[19] = 7;
	n = w_tcp_frame(f, W_PEER, W_PASSIVE_PPORT, W_LISTEN_PORT, W_PASSIVE_PISS, 0, 0x02, 65535,
			opt, 20, NULL, 0);
	world_input(w, f, n);
	child = tapir_tcp_lookup(w->s, W_US, W_LISTEN_PORT, W_PEER, W_PASSIVE_PPORT);
	if (!child || tapir_tcp_state(child) != TAPIR_TCP_SYN_RECEIVED)
		fail("setup: no SYN-RECEIVED child");
	tapir_tcp_get_info(child, &info);
	opt[0] = 1, opt[1] = 1, opt[2] = 8, opt[3] = 10;
	tapir_put32(opt + 4, w->peer_ts++);
	tapir_put32(opt + 8, w_last_tsval(w));
	n = w_tcp_frame(f, W_PEER, W_PASSIVE_PPORT, W_LISTEN_PORT, W_PASSIVE_PISS + 1,
			info.iss + 1, 0x10, 1024, opt, 12, NULL, 0);
	world_input(w, f, n); /* world_app accepts it into tcp[0] */
	if (!w->tcp[0] || tapir_tcp_state(w->tcp[0]) != TAPIR_TCP_ESTABLISHED)
		fail("setup: passive connection");

	/* active open: MSS 1000, window scale 2, SACK permitted, no timestamps */
	cli = tapir_tcp_new(w->s);
	if (!cli || tapir_tcp_bind(cli, 0, W_ACTIVE_LPORT) ||
	    tapir_tcp_connect(cli, W_PEER, W_ACTIVE_PPORT, w->now))
		fail("setup: connect");
	w->tcp[1] = cli;
	tapir_tcp_get_info(cli, &info);
	opt[0] = 2, opt[1] = 4, tapir_put16(opt + 2, 1000);
	opt[4] = 1, opt[5] = 3, opt[6] = 3, opt[7] = 2;
	opt[8] = 1, opt[9] = 1, opt[10] = 4, opt[11] = 2;
	n = w_tcp_frame(f, W_PEER, W_ACTIVE_PPORT, W_ACTIVE_LPORT, W_ACTIVE_PISS, info.iss + 1,
			0x12, 8192, opt, 12, NULL, 0);
	world_input(w, f, n);
	if (tapir_tcp_state(cli) != TAPIR_TCP_ESTABLISHED)
		fail("setup: active connection");

	/* data in flight both ways, so that ACKs, SACKs and timers have
	 * something to act on */
	world_advance(w, TAPIR_MS(1));
	if (tapir_tcp_send(w->tcp[0], data, sizeof(data), w->now) <= 0 ||
	    tapir_tcp_send(cli, data, 500, w->now) <= 0)
		fail("setup: send");
}

static void setup_udp(struct world *w)
{
	w->ubound = tapir_udp_new(w->s);
	w->uconn = tapir_udp_new(w->s);
	if (!w->ubound || !w->uconn || tapir_udp_bind(w->ubound, 0, W_UDP_PORT) ||
	    tapir_udp_bind(w->uconn, 0, W_UDPC_LPORT) ||
	    tapir_udp_connect(w->uconn, W_PEER, W_UDPC_PPORT) ||
	    tapir_udp_sendto(w->uconn, "hello", 5, 0, 0, w->now) != 5)
		fail("setup: udp");
}

void world_init(struct world *w, unsigned flags)
{
	struct tapir_config cfg;
	uint8_t f[64];
	size_t n;

	memset(w, 0, sizeof(*w));
	w->link.send = cap_send;
	w->link.name = "fuzz";
	w->peer_ts = 100000;
	if (print_trace < 0)
		print_trace = getenv("TAPIR_FUZZ_TRACE_PRINT") != NULL;
	world_config(&cfg);
	w->s = tapir_stack_new(&cfg);
	if (!w->s || tapir_iface_add(w->s, &w->link, w_mac_us, 1500) != 0 ||
	    (flags & W_DHCP ? tapir_dhcp_start(w->s, 0, w->now)
			    : tapir_iface_set_ipv4(w->s, 0, W_US, 24, w->now) ||
				      tapir_route_add(w->s, 0, 0, W_PEER, 0)) ||
	    tapir_iface_add_ipv6(w->s, 0, w_us6, 64, w->now))
		fail("setup: stack");
	tapir_set_trace(w->s, TAPIR_TR_ALL, trace_sink, NULL);
	tapir_echo_set_handler(w->s, echo_sink, NULL);

	/* the peer asks for us: the stack answers and caches the peer */
	n = w_eth(f, 0x0806);
	memcpy(f, (uint8_t[6]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 6);
	tapir_put16(f + n, 1), tapir_put16(f + n + 2, 0x0800), f[n + 4] = 6, f[n + 5] = 4, tapir_put16(f + n + 6, 1);
	memcpy(f + n + 8, w_mac_peer, 6);
	tapir_put32(f + n + 14, W_PEER);
	memset(f + n + 18, 0, 6);
	tapir_put32(f + n + 24, W_US);
	world_input(w, f, n + 28);

	if (flags & W_UDP)
		setup_udp(w);
	if (flags & W_TCP)
		setup_tcp(w);
	if (flags & W_ARP_PENDING && tapir_echo_send(w->s, W_OTHER, 1, 1, "x", 1, w->now))
		fail("setup: echo to the unresolved host");
	w->setup_ok = true;
}

struct collect {
	struct tapir_tcp **t;
	unsigned n;
};
static void collect_sock(void *arg, const struct tapir_tcp *t)
{
	struct collect *c = arg;
	if (c->n < 64)
		c->t[c->n++] = (struct tapir_tcp *)t; /* foreach gives const; we own the stack */
}

/* Runs the timers, deadline by deadline, until none is left or UNTIL;
 * returns the next deadline (TAPIR_TIME_NEVER: idle). */
static tapir_time_t drain(struct world *w, tapir_time_t until)
{
	tapir_time_t next = TAPIR_TIME_NEVER;
	for (int i = 0; i < 20000 && w->now <= until; i++) {
		tapir_time_t again;
		next = tapir_stack_poll(w->s, w->now);
		/* A second poll at the same time runs nothing new, so it must
		 * not find an earlier deadline than the first reported: a
		 * driver that sleeps until the reported deadline would miss
		 * a timer armed during the poll (by a later stage). */
		again = tapir_stack_poll(w->s, w->now);
		if (again < next)
			fail("tapir_stack_poll returned a deadline later than a timer it armed itself");
		if (next == TAPIR_TIME_NEVER)
			break;
		if (next > w->now)
			w->now = next;
	}
	return next;
}

/* what a failed teardown left, for the report */
static void dump_sock(void *arg, const struct tapir_tcp *t)
{
	struct tapir_tcp_info i;
	(void)arg;
	tapir_tcp_get_info(t, &i);
	fprintf(stderr,
		"fuzz world: left: %u -> %u %s snd_una %u snd_nxt %u snd_wnd %u rcv_nxt %u "
		"snd_queued %zu rcv_queued %zu rto %llu us user_closed %d t_rexmt %lld "
		"t_persist %lld t_2msl %lld\n",
		i.lport, i.rport, tapir_tcp_state_name(i.state), i.snd_una, i.snd_nxt, i.snd_wnd,
		i.rcv_nxt, i.snd_queued, i.rcv_queued, (unsigned long long)i.rto_us, t->user_closed,
		(long long)t->t_rexmt, (long long)t->t_persist, (long long)t->t_2msl);
}

static void count_sock(void *arg, const struct tapir_tcp *t)
{
	(void)t;
	++*(unsigned *)arg;
}

void world_finish(struct world *w, bool graceful)
{
	struct tapir_stack *s = w->s;
	tapir_time_t next = 0;
	unsigned socks = 0;

	for (int i = 0; i < W_MAX_TCP; i++)
		if (w->tcp[i]) {
			if (graceful)
				tapir_tcp_close(w->tcp[i], w->now);
			else
				tapir_tcp_abort(w->tcp[i], w->now);
			w->tcp[i] = NULL;
		}
	if (w->lis)
		tapir_tcp_close(w->lis, w->now);
	w->lis = NULL;
	if (w->ubound)
		tapir_udp_free(w->ubound);
	if (w->uconn)
		tapir_udp_free(w->uconn);
	/* With the user gone and the peer silent, every timer must run out:
	 * retransmissions give up, TIME_WAIT and reassembly expire, ARP
	 * forgets.  With the fuzz configuration's timers all that takes a few
	 * minutes of simulated time; a timer still running after an hour is a
	 * leak (a socket or a packet held for ever). */
	next = drain(w, w->now + TAPIR_SEC(3600));
	tapir_tcp_foreach(s, count_sock, &socks);
	if ((next != TAPIR_TIME_NEVER || socks) && known_bugs()) {
		/* zero-window probes never give up, or a probe that took the
		 * FIN left no timer: end what is left, as an administrator
		 * would, and look for anything else */
		struct tapir_tcp *left[64];
		struct collect c = {left, 0};
		tapir_tcp_foreach(s, collect_sock, &c);
		for (unsigned i = 0; i < c.n; i++)
			tapir_tcp_force_state(left[i], TAPIR_TCP_CLOSED, w->now);
		next = drain(w, w->now + TAPIR_SEC(3600));
	}
	if (next != TAPIR_TIME_NEVER)
		fail("stack not idle an hour after teardown (a timer that never stops)");
	check_rx_counters(w);
	socks = 0;
	tapir_tcp_foreach(s, count_sock, &socks);
	if (socks) {
		tapir_tcp_foreach(s, dump_sock, w);
		fail("TCP sockets left after teardown");
	}
	if (s->tcp->mem)
		fail("TCP buffer memory left after teardown");
	if (s->small.used || s->large.used) {
		fprintf(stderr, "fuzz world: small buffers in use %u, large %u\n", s->small.used,
			s->large.used);
		fail("packet buffers still in use after teardown");
	}
	if (s->reasm_mem || s->loop_len)
		fail("reassembly memory or loopback queue left after teardown");
	tapir_stack_free(s);
	w->s = NULL;
}

uint8_t *w_ip_frame_new(uint32_t src, uint32_t dst, uint8_t proto, size_t payload, uint16_t id,
			uint16_t frag, size_t *n)
{
	uint8_t *f;
	*n = 14 + 20 + payload;
	f = malloc(*n);
	if (!f)
		abort();
	w_eth(f, 0x0800);
	w_ip(f + 14, src, dst, proto, payload, id, frag);
	return f;
}

uint8_t *w_ip6_frame_new(const uint8_t *src, const uint8_t *dst, uint8_t nh, uint8_t hlim,
			 size_t payload, size_t *n)
{
	uint8_t *f, *ip;
	*n = 14 + 40 + payload;
	f = malloc(*n);
	if (!f)
		abort();
	w_eth(f, 0x86dd);
	ip = f + 14;
	tapir_put32(ip, 6u << 28); /* RFC 8200 3: version 6, class 0, flow 0 */
	tapir_put16(ip + 4, (uint16_t)payload);
	ip[6] = nh;
	ip[7] = hlim;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	return f;
}

void world_last_frame(struct world *w, uint8_t *f, size_t n, bool fix, tapir_time_t dt,
		      bool graceful)
{
	if (fix)
		w_fix_checksums(f + 14, n - 14);
	world_input(w, f, n);
	free(f);
	world_advance(w, dt);
	world_finish(w, graceful);
}
