/* The whole input path with live connections and time passing: a
 * sequence of records, each something that happens to the stack, then
 * time advancing (every timer that falls due runs).  The stack starts
 * with a listener on 80, an accepted connection (peer 40000, timestamps,
 * SACK, window scale) and one it opened (to peer 22), both with data in
 * flight, and two UDP sockets.  At the end everything is closed and the
 * world checks its invariants (world.h): frames counted once, no socket,
 * buffer or packet left.
 *
 * A record is [kind][time][body]; kind bits 0-2 choose the body:
 *   0, 5-7  a raw frame: [len hi][len lo][bytes]; kind bit 3: fix the
 *           checksums; bit 4: the bytes are an IPv4 packet (the harness
 *           adds our Ethernet header)
 *   1  a TCP segment from the peer on a connection, built with correct
 *      addresses and checksum: [conn][flags][seq hi][seq lo][ack hi]
 *      [ack lo][wnd hi][wnd lo][optlen][options][dlen hi][dlen lo]; seq
 *      and ack are signed offsets from the connection's RCV.NXT and
 *      SND.UNA (kind bit 4: absolute, from the peer's ISS and 0); kind
 *      bit 3: a timestamp option is appended (the peer's clock, echoing
 *      ours); conn chooses the 4-tuple (tuples[] below)
 *   2  the application: [op][sock][amount] (ops[] below)
 *   3  a UDP datagram from the peer: [port][len]
 *   4  an ICMP error from the peer quoting a frame the stack sent:
 *      [type][code][which][mtu hi][mtu lo]
 * The time byte is w_time's (world.h). */
#include <stdlib.h>
#include <string.h>

#include "world.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rd {
	const uint8_t *p;
	size_t n;
};
static int get(struct rd *r)
{
	if (!r->n)
		return -1;
	r->n--;
	return *r->p++;
}
static unsigned get8(struct rd *r)
{
	int c = get(r);
	return c < 0 ? 0 : (unsigned)c;
}
static unsigned get16(struct rd *r)
{
	unsigned hi = get8(r);
	return hi << 8 | get8(r);
}

static const struct {
	uint32_t src;
	uint16_t sport, dport;
	uint32_t iss;
} tuples[8] = {
	{W_PEER, W_PASSIVE_PPORT, W_LISTEN_PORT, W_PASSIVE_PISS},
	{W_PEER, W_ACTIVE_PPORT, W_ACTIVE_LPORT, W_ACTIVE_PISS},
	{W_PEER, 40002, W_LISTEN_PORT, 20000},
	{W_PEER, 40003, W_LISTEN_PORT, 0xfffffff0u}, /* wraps at once */
	{W_PEER, 40004, 81, 30000},                  /* a closed port */
	{0x0a000009u, 40005, W_LISTEN_PORT, 40000},  /* not yet in the ARP cache */
	{W_PEER, 2001, 49152, 50000},  /* where kind-2 connects may land */
	{W_PEER, 2002, 49153, 60000},
};

static void rec_raw(struct world *w, struct rd *r, uint8_t kind)
{
	size_t len = get16(r) % 2048, off = (kind & 0x10) ? 14 : 0, n;
	uint8_t *f;
	if (len > r->n)
		len = r->n;
	n = off + len;
	f = malloc(n ? n : 1); /* exact size, for ASan */
	if (!f)
		abort();
	if (off)
		w_eth(f, 0x0800);
	memcpy(f + off, r->p, len);
	r->p += len;
	r->n -= len;
	if ((kind & 8) && n > 14 && f[12] == 0x08 && f[13] == 0)
		w_fix_checksums(f + 14, n - 14);
	world_input(w, f, n);
	free(f);
}

static void rec_tcp(struct world *w, struct rd *r, uint8_t kind)
{
	static const uint8_t pattern[1500] = {1, 2, 3};
	unsigned c = get8(r) % 8;
	uint8_t flags = (uint8_t)get8(r), opt[44];
	int16_t dseq = (int16_t)get16(r), dack = (int16_t)get16(r);
	uint16_t wnd = (uint16_t)get16(r);
	size_t optlen = get8(r) % 41, dlen, n;
	uint32_t rcv_nxt, snd_una, seq, ack;
	bool found;
	uint8_t f[14 + 20 + 60 + sizeof(pattern)];

	for (size_t i = 0; i < optlen; i++)
		opt[i] = (uint8_t)get8(r);
	dlen = get16(r) % (sizeof(pattern) + 1);
	if ((kind & 8) && optlen + 12 <= 40) {
		uint32_t v = w->peer_ts++, e = w_last_tsval(w);
		uint8_t *t = opt + optlen;
		t[0] = 1, t[1] = 1, t[2] = 8, t[3] = 10;
		t[4] = (uint8_t)(v >> 24), t[5] = (uint8_t)(v >> 16), t[6] = (uint8_t)(v >> 8),
		t[7] = (uint8_t)v;
		t[8] = (uint8_t)(e >> 24), t[9] = (uint8_t)(e >> 16), t[10] = (uint8_t)(e >> 8),
		t[11] = (uint8_t)e;
		optlen += 12;
	}
	w_tcp_seqs(w, tuples[c].dport, tuples[c].src, tuples[c].sport, &rcv_nxt, &snd_una, &found);
	if (found && !(kind & 0x10)) {
		seq = rcv_nxt + (uint32_t)(int32_t)dseq;
		ack = snd_una + (uint32_t)(int32_t)dack;
	} else {
		seq = tuples[c].iss + (uint32_t)(int32_t)dseq;
		ack = (uint32_t)(int32_t)dack;
	}
	n = w_tcp_frame(f, tuples[c].src, tuples[c].sport, tuples[c].dport, seq, ack, flags, wnd,
			opt, optlen, pattern, dlen);
	world_input(w, f, n);
}

static struct tapir_tcp **sock(struct world *w, unsigned i)
{
	return &w->tcp[i % W_MAX_TCP];
}

static void rec_app(struct world *w, struct rd *r)
{
	static const uint8_t buf[4096];
	uint8_t in[2048];
	unsigned op = get8(r) % 12, si = get8(r), amount = get8(r);
	struct tapir_tcp **t = sock(w, si);
	switch (op) {
	case 0: /* send */
		if (*t)
			tapir_tcp_send(*t, buf, (size_t)amount * 16 + 1, w->now);
		break;
	case 1: /* stop or resume reading */
		w->no_read = !w->no_read;
		break;
	case 2:
		if (*t)
			tapir_tcp_shutdown(*t, amount % 3, w->now);
		break;
	case 3:
		if (*t) {
			tapir_tcp_close(*t, w->now);
			*t = NULL;
		}
		break;
	case 4:
		if (*t) {
			tapir_tcp_abort(*t, w->now);
			*t = NULL;
		}
		break;
	case 5: /* a new active open, to the peer */
		if (!*t) {
			/* from a fixed port, so tuples[6] and [7] can answer */
			*t = tapir_tcp_new(w->s);
			if (*t && (tapir_tcp_bind(*t, 0, (uint16_t)(49152 + amount % 2)) ||
				   tapir_tcp_connect(*t, W_PEER, (uint16_t)(2001 + amount % 2), w->now))) {
				tapir_tcp_abort(*t, w->now);
				*t = NULL;
			}
		}
		break;
	case 6: /* options a real application sets */
		if (*t) {
			static const enum tapir_tcp_opt o[] = {
				TAPIR_TCP_NODELAY, TAPIR_TCP_KEEPALIVE, TAPIR_TCP_KEEPIDLE,
				TAPIR_TCP_KEEPINTVL, TAPIR_TCP_KEEPCNT, TAPIR_TCP_LINGER,
				TAPIR_TCP_MAXSEG, TAPIR_TCP_USER_TIMEOUT, TAPIR_TCP_CONGESTION};
			static const int v[][2] = {{0, 1}, {0, 1}, {1, 5}, {1, 3}, {1, 3},
						   {-1, 0}, {536, 88}, {0, 3000}, {0, 1}};
			unsigned k = amount % 9;
			tapir_tcp_setopt(*t, o[k], v[k][(amount >> 4) & 1]);
		}
		break;
	case 7: /* the application reads once, even while "not reading" */
		if (*t)
			tapir_tcp_recv(*t, in, (size_t)amount * 8 + 1, w->now);
		break;
	case 8:
		if (w->ubound)
			tapir_udp_sendto(w->ubound, buf, (size_t)amount * 8, W_PEER,
					 (uint16_t)(amount | 1), w->now);
		break;
	case 9:
		if (w->uconn)
			tapir_udp_sendto(w->uconn, buf, (size_t)amount * 8, 0, 0, w->now);
		break;
	case 10: {
		uint32_t src;
		uint16_t sport;
		if (w->ubound)
			tapir_udp_recvfrom(w->ubound, in, amount, &src, &sport);
		if (w->uconn)
			tapir_udp_recvfrom(w->uconn, in, amount, &src, &sport);
		break;
	}
	case 11:
		tapir_echo_send(w->s, (amount & 1) ? W_PEER : W_OTHER, 7, (uint16_t)amount, buf,
				amount, w->now);
		break;
	}
}

static void rec_udp(struct world *w, struct rd *r)
{
	static const uint16_t ports[4][2] = {
		{1234, W_UDP_PORT}, {W_UDPC_PPORT, W_UDPC_LPORT}, {1234, W_UDPC_LPORT}, {1234, 9999}};
	unsigned p = get8(r) % 4;
	size_t len = get8(r) * 8, n = 14 + 20 + 8 + len;
	uint8_t f[14 + 20 + 8 + 255 * 8], *u = f + 34;
	w_eth(f, 0x0800);
	w_ip(f + 14, W_PEER, W_US, 17, 8 + len, 3, 0);
	u[0] = (uint8_t)(ports[p][0] >> 8), u[1] = (uint8_t)ports[p][0];
	u[2] = (uint8_t)(ports[p][1] >> 8), u[3] = (uint8_t)ports[p][1];
	u[4] = (uint8_t)((8 + len) >> 8), u[5] = (uint8_t)(8 + len);
	memset(u + 8, 0x55, len);
	w_fix_checksums(f + 14, n - 14);
	world_input(w, f, n);
}

static void rec_icmp(struct world *w, struct rd *r)
{
	uint8_t type = (uint8_t)get8(r), code = (uint8_t)get8(r), which = (uint8_t)get8(r);
	uint32_t mtu = get16(r);
	uint8_t f[14 + 20 + 8 + 600];
	unsigned k;
	size_t qlen, n;
	if (!w->ntx || (which & 7) >= w->ntx)
		return;
	k = (w->ntx - 1 - (which & 7)) % W_CAP_FRAMES;
	if (w->last_tx_len[k] < 14 + 28 || w->last_tx[k][12] != 0x08 || w->last_tx[k][13] != 0)
		return;
	qlen = w->last_tx_len[k] - 14;
	if (!(which & 8) && qlen > 28)
		qlen = 28; /* RFC 792: the header and 64 bits */
	if (qlen > 548)
		qlen = 548;
	n = w_icmp_error_frame(f, type, code, mtu, w->last_tx[k] + 14, qlen);
	world_input(w, f, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world w;
	struct rd r = {data, size};
	unsigned nrec = 0;
	world_init(&w, W_TCP | W_UDP);
	while (r.n >= 2 && nrec++ < 128) {
		uint8_t kind = (uint8_t)get8(&r), t = (uint8_t)get8(&r);
		switch (kind & 7) {
		case 1: rec_tcp(&w, &r, kind); break;
		case 2: {
			/* as api/net.c's stack thread: asleep until the deadline
			 * the last poll gave, while an application thread calls
			 * in.  It is woken only if tapir_stack_armed says the call
			 * set an earlier deadline; a deadline set without TP_ARM
			 * would be missed */
			tapir_time_t before = tapir_stack_poll(w.s, w.now), armed, after;
			tapir_stack_armed(w.s);
			rec_app(&w, &r);
			armed = tapir_stack_armed(w.s);
			after = tapir_stack_poll(w.s, w.now);
			if (after < before && armed > after)
				world_fail("an application call set a deadline that tapir_stack_armed "
					   "did not report");
			break;
		}
		case 3: rec_udp(&w, &r); break;
		case 4: rec_icmp(&w, &r); break;
		default: rec_raw(&w, &r, kind); break;
		}
		world_advance(&w, w_time(t));
	}
	world_finish(&w, size & 1);
	return 0;
}
