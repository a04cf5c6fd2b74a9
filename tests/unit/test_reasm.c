/* IPv4 fragments (RFC 791 3.2, RFC 815, RFC 5722's stance on overlaps):
 * reassembly in any order, duplicates, overlaps, the 65535-byte limit,
 * timeouts, memory bounds; and fragmentation on output. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core.h"
#include "frames.h"

#define PORT 4000
#define MAXF 64

/* A UDP datagram cut into fragments, each a complete frame from the peer. */
struct frags {
	uint8_t fr[MAXF][9100];
	size_t len[MAXF];
	int n;
	uint8_t data[70000]; /* the UDP payload */
	size_t dlen;
};
static struct frags FS, FS2;

/* Builds DLEN bytes of pattern SEED as a UDP datagram to PORT, with IP id
 * ID, cut into CHUNK-byte fragments (a multiple of 8). */
static void make_frags(struct frags *fs, uint16_t id, size_t dlen, uint32_t seed, size_t chunk)
{
	static uint8_t udp[70000];
	size_t ul;
	pattern_fill(fs->data, dlen, seed);
	fs->dlen = dlen;
	ul = fr_udp(udp, IP_PEER, IP_US, 1234, PORT, fs->data, dlen);
	fs->n = 0;
	for (size_t off = 0; off < ul; off += chunk) {
		size_t n = ul - off < chunk ? ul - off : chunk;
		struct ip_spec ip = {.src = IP_PEER, .dst = IP_US, .proto = TAPIR_IPPROTO_UDP, .id = id,
				     .frag = (uint16_t)((off + n < ul ? 0x2000 : 0) | (off / 8))};
		assert_true(fs->n < MAXF);
		fs->len[fs->n] = fr_ip_frame(fs->fr[fs->n], &ip, udp + off, n);
		fs->n++;
	}
}

static void feed(struct fx *f, struct frags *fs, int i)
{
	fx_input(f, fs->fr[i], fs->len[i]);
}

static struct tapir_udp *sock(struct fx *f) { return &f->s->udp[0]; }

/* the fixture with a UDP socket bound to PORT (sock()) */
static const struct fx_opts reasm = {.udp_port = PORT};

/* Asserts that exactly one datagram is queued and that it equals FS. */
static void expect_datagram(struct fx *f, const struct frags *fs)
{
	static uint8_t buf[70000];
	assert_int_equal(tapir_udp_recvfrom(sock(f), buf, sizeof(buf), NULL, NULL), fs->dlen);
	assert_memory_equal(buf, fs->data, fs->dlen);
	assert_int_equal(tapir_udp_recvfrom(sock(f), buf, sizeof(buf), NULL, NULL), -EAGAIN);
}

static void expect_nothing(struct fx *f)
{
	uint8_t buf[8];
	assert_int_equal(tapir_udp_recvfrom(sock(f), buf, sizeof(buf), NULL, NULL), -EAGAIN);
}

static void test_in_order(void **state)
{
	struct fx *f = *state;
	make_frags(&FS, 1, 4000, 1, 1480);
	assert_int_equal(FS.n, 3);
	for (int i = 0; i < FS.n; i++) {
		expect_nothing(f);
		feed(f, &FS, i);
	}
	expect_datagram(f, &FS);
	assert_int_equal(fx_st(f)->reasm_done, 1);
	assert_int_equal(f->s->reasm_mem, 0);
}

static void test_reversed(void **state)
{
	struct fx *f = *state;
	make_frags(&FS, 2, 5000, 2, 512);
	for (int i = FS.n; i-- > 0;)
		feed(f, &FS, i);
	expect_datagram(f, &FS);
	assert_int_equal(f->s->reasm_mem, 0);
}

/* Several shuffles; the list is kept sorted whatever the arrival order. */
static void test_random_order(void **state)
{
	struct fx *f = *state;
	uint64_t x = 0x1234567;
	for (uint16_t round = 0; round < 20; round++) {
		int order[MAXF];
		make_frags(&FS, (uint16_t)(100 + round), 3000 + round * 97u, round, 256);
		for (int i = 0; i < FS.n; i++)
			order[i] = i;
		for (int i = FS.n - 1; i > 0; i--) {
			int j, t;
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			j = (int)((x >> 33) % (uint64_t)(i + 1));
			t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		for (int i = 0; i < FS.n; i++)
			feed(f, &FS, order[i]);
		expect_datagram(f, &FS);
	}
	assert_int_equal(fx_st(f)->reasm_done, 20);
}

/* The network duplicates packets: an exact duplicate fragment is dropped
 * by itself and the datagram still completes (once). */
static void test_duplicate(void **state)
{
	struct fx *f = *state;
	make_frags(&FS, 3, 4000, 3, 1480);
	feed(f, &FS, 0);
	fx_expect_drop(f, FS.fr[0], FS.len[0], frag_dup);
	feed(f, &FS, 1);
	fx_expect_drop(f, FS.fr[1], FS.len[1], frag_dup);
	feed(f, &FS, 2);
	expect_datagram(f, &FS);
	assert_int_equal(fx_st(f)->reasm_done, 1);
}

/* RFC 5722 (IPv6, the same reasoning applies to IPv4): overlapping
 * fragments are an attack (policy evasion), not a network accident.  The
 * whole datagram is discarded and its remaining fragments refused until
 * the reassembly timer ends. */
static void test_overlap(void **state)
{
	struct fx *f = *state;
	uint8_t fr[1600];
	static uint8_t udp[4100];
	struct ip_spec ip = {.src = IP_PEER, .dst = IP_US, .proto = TAPIR_IPPROTO_UDP, .id = 4};

	make_frags(&FS, 4, 4000, 4, 1480);
	fr_udp(udp, IP_PEER, IP_US, 1234, PORT, FS.data, FS.dlen);
	feed(f, &FS, 0);
	/* bytes 800..2279: overlaps the first fragment's tail */
	ip.frag = 0x2000 | (800 / 8);
	fx_expect_drop(f, fr, fr_ip_frame(fr, &ip, udp + 800, 1480), frag_overlap);
	assert_int_equal(f->s->reasm_mem, 0);
	fx_expect_drop(f, FS.fr[1], FS.len[1], frag_dead);
	fx_expect_drop(f, FS.fr[2], FS.len[2], frag_dead);
	fx_expect_drop(f, FS.fr[0], FS.len[0], frag_dead);
	expect_nothing(f);

	/* a fragment inside another one is an overlap too */
	make_frags(&FS2, 5, 4000, 5, 1480);
	feed(f, &FS2, 1);
	ip.id = 5;
	ip.frag = 0x2000 | (1480 / 8 + 1);
	fx_expect_drop(f, fr, fr_ip_frame(fr, &ip, udp, 64), frag_overlap);

	/* once the timer has run out, the id may be used again */
	f->now += f->cfg.reasm_timeout_us;
	fx_poll(f);
	for (int i = 0; i < FS.n; i++)
		feed(f, &FS, i);
	expect_datagram(f, &FS);
	/* dead datagrams are forgotten silently: not counted as timeouts */
	assert_int_equal(fx_st(f)->reasm_timeout, 0);
}

/* Ping of death: fragments that reach beyond 65535 bytes are refused
 * (RFC 791: the total length field is 16 bits). */
static void test_too_big(void **state)
{
	struct fx *f = *state;
	uint8_t fr[1600], data[1480] = {0};
	struct ip_spec ip = {.src = IP_PEER, .dst = IP_US, .proto = TAPIR_IPPROTO_ICMP, .id = 6};

	fx_learn_peer(f);
	ip.frag = 0x2000;
	fx_expect_ok(f, fr, fr_ip_frame(fr, &ip, data, 1480));
	/* offset 65520 + 24 bytes = 65544 payload bytes */
	ip.frag = 65520 / 8;
	fx_expect_drop(f, fr, fr_ip_frame(fr, &ip, data, 24), frag_too_big);
	fx_expect_drop(f, fr, fr_ip_frame(fr, &ip, data, 8), frag_dead);
	assert_int_equal(f->s->reasm_mem, 0);
	/* the largest legal end (65535 - 20 bytes of payload) is accepted */
	ip.id = 7;
	ip.frag = 0x2000 | (65504 / 8);
	fx_expect_ok(f, fr, fr_ip_frame(fr, &ip, data, 8));
	ip.frag = 65512 / 8;
	fx_expect_ok(f, fr, fr_ip_frame(fr, &ip, data, 3));
	assert_int_equal(f->cap.n, 0); /* and no reply to any of it */
}

/* The limit counts the header too (RFC 791: total length is header plus
 * data).  With 40 bytes of options in fragment zero, data may end at
 * 65535 - 60 = 65475 at most; a fragment ending beyond that, before or
 * after fragment zero, makes the datagram too big. */
static void test_too_big_with_options(void **state)
{
	struct fx *f = *state;
	uint8_t fr[1600], data[1480] = {0}, opt[40];
	struct ip_spec ip = {.src = IP_PEER, .dst = IP_US, .proto = TAPIR_IPPROTO_UDP, .id = 60};

	memset(opt, 1, sizeof(opt)); /* NOPs */
	ip.opt = opt;
	ip.optlen = sizeof(opt);
	ip.frag = 0x2000;
	fx_expect_ok(f, fr, fr_ip_frame(fr, &ip, data, 1480));
	ip.opt = NULL;
	ip.optlen = 0;
	ip.frag = 65480 / 8; /* ends at 65488 */
	fx_expect_drop(f, fr, fr_ip_frame(fr, &ip, data, 8), frag_too_big);

	/* the other order: the far fragment first, then a long header */
	ip.id = 61;
	fx_expect_ok(f, fr, fr_ip_frame(fr, &ip, data, 8));
	ip.opt = opt;
	ip.optlen = sizeof(opt);
	ip.frag = 0x2000;
	fx_expect_drop(f, fr, fr_ip_frame(fr, &ip, data, 1480), frag_too_big);
	assert_int_equal(f->s->reasm_mem, 0);

	/* control: ending exactly at 65475 is fine */
	ip.id = 62;
	fx_expect_ok(f, fr, fr_ip_frame(fr, &ip, data, 1480));
	ip.opt = NULL;
	ip.optlen = 0;
	ip.frag = 65472 / 8;
	fx_expect_ok(f, fr, fr_ip_frame(fr, &ip, data, 3));
}

/* RFC 791 3.2: every fragment but the last carries a multiple of 8 bytes;
 * and a fragment with no data, or one that contradicts the known end of
 * the datagram, is malformed. */
static void test_bad_fragments(void **state)
{
	struct fx *f = *state;
	uint8_t fr[1600], data[1600] = {0};
	struct ip_spec ip = {.src = IP_PEER, .dst = IP_US, .proto = TAPIR_IPPROTO_UDP, .id = 8};

	ip.frag = 0x2000 | 100;
	fx_expect_drop(f, fr, fr_ip_frame(fr, &ip, data, 1001), frag_bad);
	ip.frag = 0x2000;
	fx_expect_drop(f, fr, fr_ip_frame(fr, &ip, data, 0), frag_bad);
	/* the last fragment says the datagram ends at 1000 ... */
	ip.id = 9;
	ip.frag = 992 / 8;
	fx_expect_ok(f, fr, fr_ip_frame(fr, &ip, data, 8));
	/* ... so a fragment reaching beyond that is malformed (and kills it) */
	ip.frag = 0x2000 | (800 / 8);
	fx_expect_drop(f, fr, fr_ip_frame(fr, &ip, data, 400), frag_bad);
	fx_expect_drop(f, fr, fr_ip_frame(fr, &ip, data, 64), frag_dead);
	/* a second, different "last" fragment */
	ip.id = 10;
	ip.frag = 992 / 8;
	fx_expect_ok(f, fr, fr_ip_frame(fr, &ip, data, 8));
	ip.frag = 2000 / 8;
	fx_expect_drop(f, fr, fr_ip_frame(fr, &ip, data, 8), frag_bad);
	expect_nothing(f);
}

/* RFC 1122 3.3.2: the reassembly timer discards an incomplete datagram
 * (reasm_timeout).  RFC 792: time exceeded, code 1, is sent only when
 * fragment zero arrived (it carries the header to quote). */
static void test_timeout_with_first_fragment(void **state)
{
	struct fx *f = *state;
	const uint8_t *r;
	size_t rl;
	tapir_time_t t0 = f->now;

	fx_learn_peer(f);
	make_frags(&FS, 11, 4000, 11, 1480);
	feed(f, &FS, 0);
	feed(f, &FS, 2);
	assert_int_equal(fx_poll(f), t0 + f->cfg.reasm_timeout_us);
	f->now = t0 + f->cfg.reasm_timeout_us - 1;
	fx_poll(f);
	assert_int_equal(fx_st(f)->reasm_timeout, 0);
	f->now++;
	fx_poll(f);
	assert_int_equal(fx_st(f)->reasm_timeout, 1);
	assert_int_equal(f->s->reasm_mem, 0);
	assert_int_equal(f->cap.n, 1);
	r = cap_last_ip(&f->cap, TAPIR_IPPROTO_ICMP, &rl);
	assert_non_null(r);
	assert_int_equal(tapir_get32(r + 16), IP_PEER);
	assert_int_equal(r[20], TAPIR_ICMP_TIME_EXCEEDED);
	assert_int_equal(r[21], 1);
	assert_int_equal(fr_verify_l4(r), 0);
	/* the quote: fragment zero's header and its first 8 data bytes */
	assert_memory_equal(r + 28, FS.fr[0] + TAPIR_ETH_HLEN, 28);
	/* the late fragment starts a new datagram, which also times out */
	feed(f, &FS, 1);
	expect_nothing(f);
	assert_int_equal(fx_poll(f), f->now + f->cfg.reasm_timeout_us);
}

static void test_timeout_without_first_fragment(void **state)
{
	struct fx *f = *state;
	fx_learn_peer(f);
	make_frags(&FS, 12, 4000, 12, 1480);
	feed(f, &FS, 1);
	feed(f, &FS, 2);
	fx_advance(f, f->cfg.reasm_timeout_us);
	assert_int_equal(fx_st(f)->reasm_timeout, 1);
	assert_int_equal(f->cap.n, 0);
	assert_int_equal(fx_st(f)->icmp_errors_sent, 0);
}

/* RFC 1122 3.2.2: never an ICMP error about an ICMP error, even when it is
 * our reassembly that failed. */
static void test_timeout_of_icmp_error_is_silent(void **state)
{
	struct fx *f = *state;
	uint8_t fr[1600], m[1100], inner[1000];
	struct ip_spec ip = {.src = IP_PEER, .dst = IP_US, .proto = TAPIR_IPPROTO_ICMP, .id = 13,
			     .frag = 0x2000};
	size_t ml;

	fx_learn_peer(f);
	pattern_fill(inner, sizeof(inner), 13);
	ml = fr_icmp(m, TAPIR_ICMP_UNREACH, TAPIR_ICMP_UNREACH_PORT, 0, inner, sizeof(inner));
	fx_expect_ok(f, fr, fr_ip_frame(fr, &ip, m, ml & ~(size_t)7));
	/* control: an echo request's fragment zero does earn time exceeded */
	ml = fr_icmp(m, TAPIR_ICMP_ECHO, 0, 0, inner, sizeof(inner));
	ip.id = 14;
	fx_expect_ok(f, fr, fr_ip_frame(fr, &ip, m, ml & ~(size_t)7));
	fx_advance(f, f->cfg.reasm_timeout_us);
	assert_int_equal(fx_st(f)->reasm_timeout, 2);
	assert_int_equal(fx_st(f)->icmp_errors_sent, 1);
	assert_int_equal(cap_last_ip(&f->cap, TAPIR_IPPROTO_ICMP, NULL)[28 + 20], TAPIR_ICMP_ECHO);
}

/* A new datagram in FS (as make_frags), its first fragment fed a
 * microsecond later: reassembly memory stays within the bound. */
static void first_within_bound(struct fx *f, uint16_t id, size_t dlen, uint32_t seed, size_t chunk)
{
	make_frags(&FS, id, dlen, seed, chunk);
	f->now += 1;
	feed(f, &FS, 0);
	assert_true(f->s->reasm_mem <= f->cfg.reasm_max_bytes);
}

/* The bounds: at most cfg.reasm_max_bytes of buffers, the oldest datagram
 * making room (reasm_evicted); never more memory than the limit. */
static void mem_4small(struct tapir_config *c) { c->reasm_max_bytes = 4 * TP_SMALL_CAP; }
static const struct fx_opts mem = {.tune = mem_4small, .udp_port = PORT};

static void test_memory_limit(void **state)
{
	struct fx *f = *state;
	/* 6 datagrams of 3 fragments: only their first two fragments each */
	for (uint16_t d = 0; d < 6; d++) {
		first_within_bound(f, (uint16_t)(20 + d), 4000, d, 1480);
		feed(f, &FS, 1);
		assert_true(f->s->reasm_mem <= f->cfg.reasm_max_bytes);
	}
	assert_int_equal(fx_st(f)->reasm_evicted, 4);
	/* the newest is complete-able, the oldest was evicted */
	feed(f, &FS, 2);
	expect_datagram(f, &FS);
	make_frags(&FS, 20, 4000, 0, 1480);
	feed(f, &FS, 2);
	expect_nothing(f);
}

static void ndgram_2(struct tapir_config *c) { c->reasm_max_datagrams = 2; }
static const struct fx_opts ndgram = {.tune = ndgram_2, .udp_port = PORT};

static void test_datagram_limit(void **state)
{
	struct fx *f = *state;
	static struct frags fs3[3];
	for (int d = 0; d < 3; d++) {
		make_frags(&fs3[d], (uint16_t)(30 + d), 3000, (uint32_t)d, 1480);
		f->now += 1;
		feed(f, &fs3[d], 0);
	}
	assert_int_equal(fx_st(f)->reasm_evicted, 1);
	/* 1 and 2 complete; 0 was evicted, and its tail alone cannot
	 * complete it (it would start a new slot, evicting the oldest) */
	for (int d = 1; d < 3; d++)
		for (int i = 1; i < fs3[d].n; i++)
			feed(f, &fs3[d], i);
	{
		static uint8_t buf[4000];
		assert_int_equal(tapir_udp_recvfrom(sock(f), buf, sizeof(buf), NULL, NULL), 3000);
		assert_memory_equal(buf, fs3[1].data, 3000);
		assert_int_equal(tapir_udp_recvfrom(sock(f), buf, sizeof(buf), NULL, NULL), 3000);
		assert_memory_equal(buf, fs3[2].data, 3000);
	}
	for (int i = 1; i < fs3[0].n; i++)
		feed(f, &fs3[0], i);
	expect_nothing(f);
}

/* On a jumbo-frame link (MTU 9000) a fragment needs a large buffer; the
 * memory bound must count what is really held, not a small buffer. */
static void mem_64k(struct tapir_config *c) { c->reasm_max_bytes = 64 * 1024; }
static const struct fx_opts jumbo = {.tune = mem_64k, .mtu = 9000, .udp_port = PORT};
static const struct fx_opts jumbo_roomy = {.mtu = 9000, .udp_port = PORT};

static void test_memory_limit_large_fragments(void **state)
{
	struct fx *f = *state;
	for (uint16_t d = 0; d < 4; d++)
		first_within_bound(f, (uint16_t)(40 + d), 20000, d, 8976);
	expect_nothing(f);
	/* with room for a large buffer, jumbo fragments do reassemble */
	fx_free(f);
	*state = (void *)&jumbo_roomy;
	fx_setup_opts(state);
	f = *state;
	make_frags(&FS, 50, 20000, 50, 8976);
	for (int i = 0; i < FS.n; i++) {
		feed(f, &FS, i);
		assert_true(f->s->reasm_mem <= f->cfg.reasm_max_bytes);
	}
	expect_datagram(f, &FS);
}

/* ---- output ---- */

/* RFC 791 3.2: a datagram larger than the MTU leaves as fragments of at
 * most MTU bytes, all with the same id, data in multiples of 8 except the
 * last, MF on all but the last; put together they are the datagram. */
static void check_fragmentation(struct fx *f, unsigned mtu, size_t len)
{
	struct tapir_udp *u = tapir_udp_new(f->s);
	static uint8_t data[8000], whole[8100];
	size_t have = 0, expect_frags = 0;
	uint16_t id = 0;

	fx_learn_peer(f);
	pattern_fill(data, len, (uint32_t)mtu);
	assert_int_equal(tapir_udp_sendto(u, data, len, IP_PEER, 99, f->now), (long)len);
	expect_frags = (len + 8 + ((mtu - 20) & ~7u) - 1) / ((mtu - 20) & ~7u);
	assert_int_equal(f->cap.n, expect_frags);
	assert_int_equal(fx_st(f)->ip_frag_created, expect_frags);
	for (size_t i = 0; i < f->cap.n; i++) {
		size_t l3len;
		const uint8_t *ip = cap_l3(&f->cap, i, TAPIR_ETH_P_IPV4, &l3len);
		uint16_t fo, plen;
		assert_non_null(ip);
		assert_true(l3len <= mtu);
		assert_int_equal(tapir_csum(ip, 20), 0);
		assert_int_equal(tapir_get16(ip + 2), l3len < 46 ? tapir_get16(ip + 2) : l3len);
		fo = tapir_get16(ip + 6);
		plen = (uint16_t)(tapir_get16(ip + 2) - 20);
		if (i == 0)
			id = tapir_get16(ip + 4);
		assert_int_equal(tapir_get16(ip + 4), id);
		assert_false(fo & 0x4000);
		assert_int_equal((size_t)(fo & 0x1fff) * 8, have);
		if (i + 1 < f->cap.n) {
			assert_true(fo & 0x2000);
			assert_int_equal(plen % 8, 0);
		} else {
			assert_false(fo & 0x2000);
		}
		memcpy(whole + 20 + have, ip + 20, plen);
		have += plen;
		if (i == 0)
			memcpy(whole, ip, 20);
	}
	assert_int_equal(have, len + 8);
	tapir_put16(whole + 2, (uint16_t)(have + 20));
	assert_int_equal(fr_verify_l4(whole), 0);
	assert_memory_equal(whole + 28, data, len);
	tapir_udp_free(u);
}

static void test_output_fragmentation(void **state)
{
	check_fragmentation(*state, 1500, 4000);
}

static const struct fx_opts mtu576 = {.mtu = 576, .udp_port = PORT};

static void test_output_fragmentation_576(void **state)
{
	check_fragmentation(*state, 576, 4000);
}

/* What we send, we can reassemble: our fragments fed to a stack that plays
 * the peer (frames rewritten as coming from the peer) come back whole. */
static void test_output_roundtrip(void **state)
{
	struct fx *f = *state;
	struct tapir_udp *u = tapir_udp_new(f->s);
	struct fx *g;
	struct tapir_udp *gu;
	static uint8_t data[6000], buf[6100];

	fx_learn_peer(f);
	pattern_fill(data, sizeof(data), 77);
	assert_int_equal(tapir_udp_sendto(u, data, sizeof(data), IP_PEER, PORT, f->now),
			 (long)sizeof(data));
	g = fx_new();
	gu = tapir_udp_new(g->s);
	assert_int_equal(tapir_udp_bind(gu, 0, PORT), 0);
	/* deliver in reverse, readdressed: the peer's IP to IP_US (on g) */
	for (size_t i = f->cap.n; i-- > 0;) {
		uint8_t fr[1600];
		uint8_t *ip;
		memcpy(fr, f->cap.f[i].data, f->cap.f[i].len);
		fr_eth(fr, MAC_US, MAC_PEER, TAPIR_ETH_P_IPV4);
		ip = fr + TAPIR_ETH_HLEN;
		assert_int_equal(tapir_get32(ip + 12), IP_US);
		tapir_put32(ip + 12, IP_PEER); /* swap: same pseudo-header sum */
		tapir_put32(ip + 16, IP_US);
		fr_ip_fix_csum(ip);
		fx_input(g, fr, f->cap.f[i].len);
	}
	assert_int_equal(tapir_udp_recvfrom(gu, buf, sizeof(buf), NULL, NULL), sizeof(data));
	assert_memory_equal(buf, data, sizeof(data));
	fx_free(g);
}

int main(void)
{
#define T(fn) FX_TEST_OPTS(fn, &reasm)
	const struct CMUnitTest tests[] = {
		T(test_in_order),
		T(test_reversed),
		T(test_random_order),
		T(test_duplicate),
		T(test_overlap),
		T(test_too_big),
		T(test_too_big_with_options),
		T(test_bad_fragments),
		T(test_timeout_with_first_fragment),
		T(test_timeout_without_first_fragment),
		T(test_timeout_of_icmp_error_is_silent),
		FX_TEST_OPTS(test_memory_limit, &mem),
		FX_TEST_OPTS(test_datagram_limit, &ndgram),
		FX_TEST_OPTS(test_memory_limit_large_fragments, &jumbo),
		T(test_output_fragmentation),
		FX_TEST_OPTS(test_output_fragmentation_576, &mtu576),
		T(test_output_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
