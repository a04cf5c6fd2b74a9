#include "tcpsim.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const uint8_t sim_mac[2][6] = {{0x02, 0, 0, 0, 0, 1}, {0x02, 0, 0, 0, 0, 2}};


#define csum_fold tapir_csum_fold

/* ---- the tap ---- */

static void tap_record(struct sim *sim, int to, const uint8_t *f, size_t len, bool dropped)
{
	const uint8_t *ip, *th;
	size_t ihl, tot, off;
	struct tseg *s;
	bool v6 = len >= 14 + 40 && tapir_get16(f + 12) == 0x86dd;
	if (len < 14 + 20 || (tapir_get16(f + 12) != 0x0800 && !v6))
		return;
	ip = f + 14;
	/* IPv6: TCP right after the fixed header only (no extension headers);
	 * src and dst keep the addresses' last 32 bits */
	ihl = v6 ? 40 : (size_t)(ip[0] & 15) * 4;
	tot = v6 ? 40u + tapir_get16(ip + 4) : tapir_get16(ip + 2);
	if (ip[v6 ? 6 : 9] != 6 || ihl < 20 || tot > len - 14 || tot < ihl + 20)
		return;
	th = ip + ihl;
	off = (size_t)(th[12] >> 4) * 4;
	if (off < 20 || off > tot - ihl)
		return;
	if (sim->ntap == sim->tapcap) {
		sim->tapcap = sim->tapcap ? sim->tapcap * 2 : 256;
		sim->tap = realloc(sim->tap, sim->tapcap * sizeof(*sim->tap));
		if (!sim->tap)
			abort();
	}
	s = &sim->tap[sim->ntap++];
	memset(s, 0, sizeof(*s));
	s->t = sim->now;
	s->to = to;
	s->dropped = dropped;
	s->src = tapir_get32(ip + (v6 ? 20 : 12));
	s->dst = tapir_get32(ip + (v6 ? 36 : 16));
	s->sport = tapir_get16(th);
	s->dport = tapir_get16(th + 2);
	s->seq = tapir_get32(th + 4);
	s->ack = tapir_get32(th + 8);
	s->flags = th[13] & 0x3f;
	s->win = tapir_get16(th + 14);
	s->len = (uint32_t)(tot - ihl - off);
	s->optlen = (unsigned)(off - 20);
	s->tfo = -1;
	for (size_t i = 20; i < off;) {
		if (th[i] == 0)
			break;
		if (th[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= off || th[i + 1] < 2)
			break;
		if (th[i] == 2 && th[i + 1] == 4 && i + 4 <= off)
			s->mss = tapir_get16(th + i + 2);
		if (th[i] == 34 && i + th[i + 1] <= off) /* RFC 7413 4.1.1 */
			s->tfo = th[i + 1] - 2;
		i += th[i + 1];
	}
	s->data = malloc(s->len ? s->len : 1);
	if (!s->data)
		abort();
	memcpy(s->data, th + off, s->len);
}

void tap_clear(struct sim *sim)
{
	for (size_t i = 0; i < sim->ntap; i++)
		free(sim->tap[i].data);
	sim->ntap = 0;
}

size_t tap_n(const struct sim *sim, int to)
{
	size_t n = 0;
	for (size_t i = 0; i < sim->ntap; i++)
		n += to < 0 || sim->tap[i].to == to;
	return n;
}

const struct tseg *tap_get(const struct sim *sim, int to, size_t k)
{
	for (size_t i = 0; i < sim->ntap; i++)
		if (to < 0 || sim->tap[i].to == to) {
			if (!k--)
				return &sim->tap[i];
		}
	return NULL;
}

const struct tseg *tap_last(const struct sim *sim, int to)
{
	for (size_t i = sim->ntap; i-- > 0;)
		if (to < 0 || sim->tap[i].to == to)
			return &sim->tap[i];
	return NULL;
}

size_t tap_count(const struct sim *sim, int to, uint8_t mask, uint8_t val, int data)
{
	size_t n = 0;
	for (size_t i = 0; i < sim->ntap; i++) {
		const struct tseg *s = &sim->tap[i];
		if ((to >= 0 && s->to != to) || (s->flags & mask) != val)
			continue;
		if (data >= 0 && (s->len != 0) != (data != 0))
			continue;
		n++;
	}
	return n;
}

void tap_dump(const struct sim *sim)
{
	for (size_t i = 0; i < sim->ntap; i++) {
		const struct tseg *s = &sim->tap[i];
		char f[TAPIR_TCP_FLAGS_STRLEN];
		fprintf(stderr, "%3zu %10.6f %s %5u > %5u [%-3s] seq %u ack %u win %u len %u%s%s\n", i,
			(double)s->t / 1e6, s->to ? "A>B" : "B>A", s->sport, s->dport,
			tapir_tcp_flags_str(s->flags, f), s->seq, s->ack, s->win, s->len,
			s->mss ? " <mss>" : "", s->dropped ? " DROPPED" : "");
	}
}

/* ---- the puppet ---- */

static void puppet_frame_out(struct sim *sim, uint16_t type, const uint8_t *payload, size_t len)
{
	uint8_t f[1600];
	struct tapir_link *l = tapir_memlink_end(sim->link, 0);
	size_t n = 14 + len;
	memcpy(f, sim_mac[1], 6);
	memcpy(f + 6, sim_mac[0], 6);
	tapir_put16(f + 12, type);
	memcpy(f + 14, payload, len);
	if (n < 60) {
		memset(f + n, 0, 60 - n);
		n = 60;
	}
	tapir_memlink_set_time(sim->link, sim->now);
	l->send(l, f, n);
}

static void puppet_arp(struct sim *sim, const uint8_t *f, size_t len)
{
	const uint8_t *a = f + 14;
	uint8_t r[28];
	if (len < 14 + 28 || tapir_get16(a + 6) != 1 || tapir_get32(a + 24) != SIM_A)
		return;
	tapir_put16(r, 1);
	tapir_put16(r + 2, 0x0800);
	r[4] = 6;
	r[5] = 4;
	tapir_put16(r + 6, 2);
	memcpy(r + 8, sim_mac[0], 6);
	tapir_put32(r + 14, SIM_A);
	memcpy(r + 18, a + 8, 6);
	memcpy(r + 24, a + 14, 4);
	puppet_frame_out(sim, 0x0806, r, sizeof(r));
}

void puppet_send_ip(struct sim *sim, uint8_t proto, const void *p, size_t len)
{
	uint8_t ip[1500];
	if (len > sizeof(ip) - 20)
		abort();
	memset(ip, 0, 20);
	ip[0] = 0x45;
	tapir_put16(ip + 2, (uint16_t)(20 + len));
	tapir_put16(ip + 4, ++sim->ip_id);
	tapir_put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = proto;
	tapir_put32(ip + 12, SIM_A);
	tapir_put32(ip + 16, SIM_B);
	tapir_put16(ip + 10, csum_fold(tapir_csum_add(0, ip, 20)));
	memcpy(ip + 20, p, len);
	puppet_frame_out(sim, 0x0800, ip, 20 + len);
}

void puppet_send(struct sim *sim, const struct pseg *s)
{
	uint8_t th[1480];
	size_t hl = s->mss ? 24 : 20, n = hl + s->len;
	uint32_t sum;
	if (n > sizeof(th))
		abort();
	memset(th, 0, hl);
	tapir_put16(th, s->sport);
	tapir_put16(th + 2, s->dport);
	tapir_put32(th + 4, s->seq);
	tapir_put32(th + 8, s->ack);
	th[12] = (uint8_t)((hl / 4) << 4);
	th[13] = s->flags;
	tapir_put16(th + 14, s->win);
	if (s->mss) {
		th[20] = 2;
		th[21] = 4;
		tapir_put16(th + 22, s->mss);
	}
	if (s->len)
		memcpy(th + hl, s->data, s->len);
	sum = (SIM_A >> 16) + (SIM_A & 0xffff) + (SIM_B >> 16) + (SIM_B & 0xffff) + 6 + (uint32_t)n;
	tapir_put16(th + 16, csum_fold(tapir_csum_add(sum, th, n)));
	puppet_send_ip(sim, 6, th, n);
}

void puppet_syn(struct sim *sim, uint16_t sport, uint32_t seq)
{
	puppet_send(sim, &(struct pseg){.sport = sport, .dport = 80, .seq = seq, .flags = TAPIR_TH_SYN,
					.win = 65535, .mss = 1460});
}

void puppet_send_icmp(struct sim *sim, uint8_t type, uint8_t code, const struct tseg *seg)
{
	/* the quoted datagram: B's IPv4 header and the first 8 bytes of TCP */
	uint8_t m[8 + 20 + 8];
	uint8_t *ip = m + 8, *th = ip + 20;
	memset(m, 0, sizeof(m));
	m[0] = type;
	m[1] = code;
	ip[0] = 0x45;
	tapir_put16(ip + 2, (uint16_t)(20 + 20 + seg->optlen + seg->len));
	tapir_put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = 6;
	tapir_put32(ip + 12, seg->src);
	tapir_put32(ip + 16, seg->dst);
	tapir_put16(ip + 10, csum_fold(tapir_csum_add(0, ip, 20)));
	tapir_put16(th, seg->sport);
	tapir_put16(th + 2, seg->dport);
	tapir_put32(th + 4, seg->seq);
	tapir_put16(m + 2, csum_fold(tapir_csum_add(0, m, sizeof(m))));
	puppet_send_ip(sim, 1, m, sizeof(m));
}

struct tapir_tcp *puppet_open(struct sim *sim, struct tapir_tcp *l, uint16_t bport,
			      uint16_t pport, uint32_t iss, struct pconn *pc)
{
	size_t k = sim->ntap;
	int err;
	memset(pc, 0, sizeof(*pc));
	pc->pport = pport;
	pc->bport = bport;
	pc->win = 65535;
	puppet_send(sim, &(struct pseg){.sport = pport, .dport = bport, .seq = iss,
					.flags = TAPIR_TH_SYN, .win = pc->win, .mss = 1460});
	pc->snd_nxt = iss + 1;
	sim_advance(sim, TAPIR_MS(1));
	for (; k < sim->ntap; k++) {
		const struct tseg *s = &sim->tap[k];
		if (s->to == 0 && s->dport == pport && s->flags == (TAPIR_TH_SYN | TAPIR_TH_ACK))
			break;
	}
	if (k == sim->ntap)
		return NULL;
	pc->b_iss = sim->tap[k].seq;
	pc->rcv_nxt = pc->b_iss + 1;
	pc_send(sim, pc, pc->snd_nxt, pc->rcv_nxt, TAPIR_TH_ACK, NULL, 0);
	sim_advance(sim, TAPIR_MS(1));
	pc->b = tapir_tcp_accept(l, &err);
	return pc->b;
}

void pc_send(struct sim *sim, const struct pconn *pc, uint32_t seq, uint32_t ack, uint8_t flags,
	     const void *data, size_t len)
{
	puppet_send(sim, &(struct pseg){.sport = pc->pport, .dport = pc->bport, .seq = seq,
					.ack = ack, .flags = flags, .win = pc->win,
					.data = data, .len = len});
}

static void pc_update_rcv(struct sim *sim, struct pconn *pc)
{
	for (size_t i = 0; i < sim->ntap; i++) {
		const struct tseg *s = &sim->tap[i];
		uint32_t end;
		if (s->to != 0 || s->dport != pc->pport || s->sport != pc->bport ||
		    (s->flags & TAPIR_TH_RST))
			continue;
		end = s->seq + s->len + !!(s->flags & TAPIR_TH_SYN) + !!(s->flags & TAPIR_TH_FIN);
		/* only what continues the stream in order */
		if ((int32_t)(s->seq - pc->rcv_nxt) <= 0 && (int32_t)(end - pc->rcv_nxt) > 0)
			pc->rcv_nxt = end;
	}
}

void pc_data(struct sim *sim, struct pconn *pc, const void *data, size_t len)
{
	pc_update_rcv(sim, pc);
	pc_send(sim, pc, pc->snd_nxt, pc->rcv_nxt, TAPIR_TH_ACK | TAPIR_TH_PSH, data, len);
	pc->snd_nxt += (uint32_t)len;
}

void pc_ack_all(struct sim *sim, struct pconn *pc)
{
	pc_update_rcv(sim, pc);
	pc_send(sim, pc, pc->snd_nxt, pc->rcv_nxt, TAPIR_TH_ACK, NULL, 0);
}

/* ---- the bench ---- */

static void rx(void *arg, int side, uint8_t *frame, size_t len, tapir_time_t now)
{
	struct sim *sim = arg;
	bool drop = sim->drop && sim->drop(sim->drop_arg, side, frame, len);
	(void)now;
	if (sim->tap_on)
		tap_record(sim, side, frame, len, drop);
	if (drop)
		return;
	sim->frames[side]++;
	if (!sim->st[side]) { /* the puppet */
		sim->puppet_rx++;
		if (len >= 14 && tapir_get16(frame + 12) == 0x0806)
			puppet_arp(sim, frame, len);
		else if (len >= 34 && tapir_get16(frame + 12) == 0x0800 && frame[23] == 1)
			sim->puppet_icmp++;
		return;
	}
	tapir_stack_input(sim->st[side], sim->ifindex[side], frame, len, now);
}

static void init(struct sim *sim, const struct tapir_config *cfg,
		 const struct tapir_config *cfg_b, const struct tapir_memlink_params *lp, bool puppet)
{
	struct tapir_config c;
	struct tapir_memlink_params p;
	memset(sim, 0, sizeof(*sim));
	if (cfg) {
		c = *cfg;
	} else {
		/* the base protocol of RFC 9293: the rule tests count segments
		 * of 1460 bytes; tests of the options pass a config of their own */
		tapir_config_default(&c);
		c.tcp_timestamps = 0;
		c.tcp_sack = 0;
	}
	if (lp)
		p = *lp;
	else
		tapir_memlink_params_default(&p);
	sim->link = tapir_memlink_new(&p);
	sim->now = 1000;
	sim->puppet = puppet;
	sim->tap_on = puppet;
	for (int i = puppet ? 1 : 0; i < 2; i++) {
		if (i == 1 && cfg_b)
			c = *cfg_b;
		c.seed = (cfg ? cfg->seed : 1) * 2 + (uint64_t)i;
		sim->st[i] = tapir_stack_new(&c);
		sim->ifindex[i] =
			tapir_iface_add(sim->st[i], tapir_memlink_end(sim->link, i), sim_mac[i], 1500);
		tapir_memlink_set_time(sim->link, sim->now);
		tapir_iface_set_ipv4(sim->st[i], sim->ifindex[i], i ? SIM_B : SIM_A, 24, sim->now);
	}
}

void sim_init(struct sim *sim, const struct tapir_config *cfg,
	      const struct tapir_memlink_params *lp)
{
	init(sim, cfg, NULL, lp, false);
}

void sim_init2(struct sim *sim, const struct tapir_config *cfg_a, const struct tapir_config *cfg_b,
	       const struct tapir_memlink_params *lp)
{
	init(sim, cfg_a, cfg_b, lp, false);
}

void sim_init_puppet(struct sim *sim, const struct tapir_config *cfg,
		     const struct tapir_memlink_params *lp)
{
	init(sim, cfg, NULL, lp, true);
}

void sim_fini(struct sim *sim)
{
	if (sim->st[0])
		tapir_stack_free(sim->st[0]);
	tapir_stack_free(sim->st[1]);
	tapir_memlink_free(sim->link);
	tap_clear(sim);
	free(sim->tap);
	sim->tap = NULL;
}

bool sim_run(struct sim *sim, tapir_time_t until, bool (*done)(void *arg), void *arg)
{
	unsigned spins = 0; /* steps without time moving: a stuck timer is a bug */
	for (;;) {
		tapir_time_t next = TAPIR_TIME_NEVER, t;
		if (done && done(arg))
			return true;
		tapir_memlink_set_time(sim->link, sim->now);
		for (int i = 0; i < 2; i++) {
			if (!sim->st[i])
				continue;
			t = tapir_stack_poll(sim->st[i], sim->now);
			if (t < next)
				next = t;
		}
		/* input may arm timers the poll above did not report: after
		 * any delivery, poll again before time moves on */
		if (tapir_memlink_deliver(sim->link, sim->now, rx, sim)) {
			if (++spins > 1000000)
				abort();
			continue;
		}
		if (done && done(arg))
			return true;
		t = tapir_memlink_next(sim->link);
		if (t < next)
			next = t;
		if (next <= sim->now) { /* something is due now (e.g. loopback) */
			if (++spins > 1000000)
				abort();
			continue;
		}
		spins = 0;
		if (next == TAPIR_TIME_NEVER || next > until) {
			sim->now = until;
			/* what the test sends before the next run leaves now */
			tapir_memlink_set_time(sim->link, sim->now);
			return done ? done(arg) : false;
		}
		sim->now = next;
	}
}

void sim_advance(struct sim *sim, tapir_time_t dt)
{
	sim_run(sim, sim->now + dt, NULL, NULL);
}

static void count_one(void *arg, const struct tapir_tcp *t)
{
	(void)t;
	++*(unsigned *)arg;
}

unsigned sim_sockets(struct tapir_stack *s)
{
	unsigned n = 0;
	tapir_tcp_foreach(s, count_one, &n);
	return n;
}

struct in_state {
	enum tapir_tcp_state st;
	unsigned n;
};

static void count_state(void *arg, const struct tapir_tcp *t)
{
	struct in_state *c = arg;
	c->n += tapir_tcp_state(t) == c->st;
}

unsigned sim_sockets_in(struct tapir_stack *s, enum tapir_tcp_state st)
{
	struct in_state c = {st, 0};
	tapir_tcp_foreach(s, count_state, &c);
	return c.n;
}

void pair_cli_event(void *arg, unsigned ev)
{
	struct pair *p = arg;
	p->cli_ev |= ev;
	if (ev & TAPIR_EV_CONNECTED)
		p->connected = true;
}

bool sim_pair_accepted(void *arg)
{
	struct pair *p = arg;
	int err;
	if (!p->srv)
		p->srv = tapir_tcp_accept(p->lis, &err);
	return p->srv && p->connected;
}

bool sim_pair(struct sim *sim, uint16_t port, struct pair *p,
	      void (*cli_setup)(struct tapir_tcp *t), void (*lis_setup)(struct tapir_tcp *t))
{
	memset(p, 0, sizeof(*p));
	p->lis = tapir_tcp_new(sim->st[1]);
	if (!p->lis)
		return false;
	if (lis_setup)
		lis_setup(p->lis);
	if (tapir_tcp_bind(p->lis, 0, port) < 0 || tapir_tcp_listen(p->lis, 8) < 0)
		return false;
	p->cli = tapir_tcp_new(sim->st[0]);
	if (!p->cli)
		return false;
	tapir_tcp_set_event(p->cli, pair_cli_event, p);
	if (cli_setup)
		cli_setup(p->cli);
	if (tapir_tcp_connect(p->cli, SIM_B, port, sim->now) < 0)
		return false;
	return sim_run(sim, sim->now + TAPIR_SEC(10), sim_pair_accepted, p);
}

long sim_read(struct sim *sim, struct tapir_tcp *t, void *buf, size_t cap)
{
	size_t n = 0;
	long r = 0;
	while (n < cap && (r = tapir_tcp_recv(t, (uint8_t *)buf + n, cap - n, sim->now)) > 0)
		n += (size_t)r;
	return n ? (long)n : r;
}

void sim_lossy_link(struct tapir_memlink_params *lp, uint64_t seed)
{
	tapir_memlink_params_default(lp);
	lp->seed = seed;
	lp->loss = 0.05;
	lp->reorder = 0.05;
	lp->dup = 0.01;
	lp->corrupt = 0.001;
	lp->delay_us = 2000;
}

static void dump_socket(void *arg, const struct tapir_tcp *t)
{
	struct tapir_tcp_info i;
	tapir_tcp_get_info(t, &i);
	fprintf(stderr, "  %s: %s una %u nxt %u wnd %u rcv_nxt %u rcv_wnd %u snd_q %zu rcv_q %zu cwnd %u rto %llu\n",
		(const char *)arg, tapir_tcp_state_name(i.state), i.snd_una, i.snd_nxt, i.snd_wnd,
		i.rcv_nxt, i.rcv_wnd, i.snd_queued, i.rcv_queued, i.cwnd,
		(unsigned long long)i.rto_us);
}

void sim_dump_sockets(struct sim *sim)
{
	if (sim->st[0])
		tapir_tcp_foreach(sim->st[0], dump_socket, "A");
	tapir_tcp_foreach(sim->st[1], dump_socket, "B");
}

bool sim_only_listener_after(struct sim *sim, tapir_time_t dt)
{
	sim_advance(sim, dt);
	if (sim_sockets(sim->st[0]) == 0 && sim_sockets(sim->st[1]) == 1)
		return true;
	fprintf(stderr, "sockets left: A %u, B %u (with the listener)\n", sim_sockets(sim->st[0]),
		sim_sockets(sim->st[1]));
	sim_dump_sockets(sim);
	return false;
}

bool sim_xfer_step(void *arg)
{
	struct sim_xfer *x = arg;
	long r;
	while (x->sent < x->len &&
	       (r = tapir_tcp_send(x->from, x->data + x->sent, x->len - x->sent, x->sim->now)) > 0)
		x->sent += (size_t)r;
	while ((r = tapir_tcp_recv(x->to, x->out + x->got, x->len - x->got, x->sim->now)) > 0)
		x->got += (size_t)r;
	return x->got == x->len;
}

void sim_bulk_start(struct sim_bulk *x, struct sim *sim, uint16_t port)
{
	x->sim = sim;
	x->lis = tapir_tcp_new(sim->st[1]);
	tapir_tcp_bind(x->lis, 0, port);
	tapir_tcp_listen(x->lis, 8);
	x->a = tapir_tcp_new(sim->st[0]);
	tapir_tcp_connect(x->a, SIM_B, port, sim->now);
}

void sim_bulk_send(struct sim_bulk *x)
{
	static uint8_t buf[65536];
	long r;
	while (x->sent < x->limit && tapir_tcp_writable(x->a)) {
		size_t n = x->limit - x->sent < sizeof(buf) ? x->limit - x->sent : sizeof(buf);
		memset(buf, (int)(x->sent >> 16), n);
		r = tapir_tcp_send(x->a, buf, n, x->sim->now);
		if (r <= 0)
			break;
		x->sent += (size_t)r;
	}
}

bool sim_bulk_step(void *arg)
{
	static uint8_t buf[65536];
	struct sim_bulk *x = arg;
	int err;
	long r;
	if (!x->b)
		x->b = tapir_tcp_accept(x->lis, &err);
	sim_bulk_send(x);
	if (x->sent == x->total && !x->shut) {
		tapir_tcp_shutdown(x->a, TAPIR_SHUT_WR, x->sim->now);
		x->shut = true;
	}
	while (x->b && !x->eof && (r = tapir_tcp_recv(x->b, buf, sizeof(buf), x->sim->now)) != -EAGAIN) {
		if (r <= 0) {
			x->eof = r == 0;
			x->bad = r < 0;
			break;
		}
		x->rcvd += (size_t)r;
	}
	return x->eof || x->bad;
}

void sim_transfer(struct sim *sim, struct tapir_tcp *from, struct tapir_tcp *to, size_t len,
		  unsigned seed, tapir_time_t limit)
{
	uint8_t *data = malloc(len), *out = malloc(len);
	struct sim_xfer x = {sim, from, to, data, len, 0, 0, out};
	assert_non_null(data);
	assert_non_null(out);
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)((i * 131 + seed) ^ (i >> 9));
	assert_true(sim_run(sim, sim->now + limit, sim_xfer_step, &x));
	assert_memory_equal(data, out, len);
	free(data);
	free(out);
}

uint8_t *sim_eth_header(uint8_t *f, int to, int from, uint16_t type)
{
	memcpy(f, sim_mac[to], 6);
	memcpy(f + 6, sim_mac[from], 6);
	tapir_put16(f + TAPIR_ETH_TYPE, type);
	return f + 14;
}

uint8_t *sim_ip6_header(uint8_t *ip, const uint8_t src[16], const uint8_t dst[16], uint8_t nxt,
			uint16_t plen)
{
	ip[0] = 0x60;
	tapir_put16(ip + TAPIR_IPV6_PLEN, plen);
	ip[TAPIR_IPV6_NXT] = nxt;
	ip[TAPIR_IPV6_HLIM] = 64;
	memcpy(ip + TAPIR_IPV6_SRC, src, 16);
	memcpy(ip + TAPIR_IPV6_DST, dst, 16);
	return ip + 40;
}

void sim_udp_ping(uint8_t *u, uint16_t sport, uint16_t dport)
{
	tapir_put16(u + TAPIR_UH_SPORT, sport);
	tapir_put16(u + TAPIR_UH_DPORT, dport);
	tapir_put16(u + TAPIR_UH_LEN, 12);
	memcpy(u + 8, "ping", 4);
}
