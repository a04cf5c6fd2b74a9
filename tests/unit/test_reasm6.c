/* IPv6 fragments (RFC 8200 4.5) through the reassembly both families
 * share: any order, duplicates, overlaps (RFC 5722: the whole datagram
 * goes), the first fragment's header chain (RFC 7112), atomic fragments
 * (RFC 6946), the 65535-byte bound, memory bounds, timeouts; and the
 * fragments we make ourselves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "../common/cmt.h"

#include "core.h"
#include "frames.h"

#define MAXF 80

/* An echo request of DLEN data bytes behind PRE (extension headers of the
 * fragmentable part, last next header 58), cut into CHUNK-byte fragments. */
struct frags6 {
	uint8_t fr[MAXF][1600];
	size_t len[MAXF];
	int n;
	size_t mlen;           /* the ICMPv6 message's length */
};
static struct frags6 FS;

static void make6(struct frags6 *fs, uint32_t id, size_t dlen, size_t chunk, const uint8_t *pre,
		  size_t prelen)
{
	static uint8_t body[70000], data[70000];
	size_t blen;
	pattern_fill(data, dlen, id);
	if (prelen)
		memcpy(body, pre, prelen);
	fs->mlen = fr_icmp6(body + prelen, IP6_PEER, IP6_US, TAPIR_ICMP6_ECHO, 0, id, data, dlen);
	blen = prelen + fs->mlen;
	fs->n = 0;
	for (size_t off = 0; off < blen; off += chunk) {
		uint8_t pl[1600];
		size_t n = blen - off < chunk ? blen - off : chunk;
		assert_true(fs->n < MAXF);
		pl[0] = prelen ? TAPIR_IPPROTO_DSTOPTS : TAPIR_IPPROTO_ICMPV6;
		pl[1] = 0;
		tapir_put16(pl + 2, (uint16_t)(off | (off + n < blen)));
		tapir_put32(pl + 4, id);
		memcpy(pl + 8, body + off, n);
		fs->len[fs->n] = fr_ip6_frame(fs->fr[fs->n], NULL, IP6_PEER, IP6_US,
					      TAPIR_IPPROTO_FRAGMENT, 0, pl, 8 + n);
		fs->n++;
	}
}

static void feed(struct fx *f, int i) { fx_input(f, FS.fr[i], FS.len[i]); }

static int setup(void **state)
{
	fx6_setup(state);
	fx_learn_peer6(*state, IP6_PEER);
	return 0;
}

/* The echo replies sent, reassembled from our own fragments: how many,
 * and the last one's ICMPv6 length. */
static size_t replies(struct fx *f, size_t *mlen)
{
	static uint8_t buf[70000];
	size_t n = 0, have = 0;
	for (size_t i = 0; i < f->cap.n; i++) {
		size_t len;
		const uint8_t *ip = cap_l3(&f->cap, i, TAPIR_ETH_P_IPV6, &len);
		const uint8_t *fh = ip + 40;
		if (!ip)
			continue;
		len = 40 + tapir_get16(ip + 4);
		if (ip[6] == TAPIR_IPPROTO_ICMPV6 && ip[40] == TAPIR_ICMP6_ECHO_REPLY) {
			n++;
			*mlen = len - 40;
			continue;
		}
		if (ip[6] != TAPIR_IPPROTO_FRAGMENT)
			continue;
		/* RFC 8200 4.5: pieces of 8 bytes but the last, in order here */
		assert_int_equal(tapir_get16(fh + 2) & 0xfff8, have);
		memcpy(buf + have, fh + 8, len - 48);
		have += len - 48;
		assert_true(len <= 1500);
		if (!(fh[3] & 1)) {
			assert_int_equal(buf[0], TAPIR_ICMP6_ECHO_REPLY);
			n++;
			*mlen = have;
			have = 0;
		} else {
			assert_int_equal((len - 48) % 8, 0);
		}
	}
	return n;
}

static void test_in_order(void **state)
{
	struct fx *f = *state;
	size_t mlen = 0;
	make6(&FS, 1, 4000, 1232, NULL, 0);
	assert_int_equal(FS.n, 4);
	for (int i = 0; i < FS.n; i++)
		feed(f, i);
	assert_int_equal(fx_st(f)->reasm_done, 1);
	assert_int_equal(replies(f, &mlen), 1);
	assert_int_equal(mlen, 4008);
	assert_int_equal(fx_st(f)->ip6_frag_created, 3);
	assert_int_equal(f->s->reasm_mem, 0);
}

static void test_any_order(void **state)
{
	struct fx *f = *state;
	size_t mlen = 0;
	static const int order[] = {3, 1, 0, 2};
	make6(&FS, 2, 4000, 1232, NULL, 0);
	for (int i = 0; i < 4; i++)
		feed(f, order[i]);
	assert_int_equal(replies(f, &mlen), 1);
	assert_int_equal(mlen, 4008);
}

/* RFC 5722: an overlap discards the datagram, and what comes later */
static void test_overlap(void **state)
{
	struct fx *f = *state;
	size_t mlen;
	make6(&FS, 3, 4000, 1232, NULL, 0);
	feed(f, 0);
	tapir_put16(FS.fr[1] + 14 + 40 + 2, (1224) | 1); /* 8 bytes into fragment 0 */
	fx_expect_drop(f, FS.fr[1], FS.len[1], frag_overlap);
	fx_expect_drop(f, FS.fr[2], FS.len[2], frag_dead);
	fx_expect_drop(f, FS.fr[3], FS.len[3], frag_dead);
	assert_int_equal(replies(f, &mlen), 0);
	assert_int_equal(f->s->reasm_mem, 0);
}

static void test_duplicate(void **state)
{
	struct fx *f = *state;
	size_t mlen;
	make6(&FS, 4, 2000, 1232, NULL, 0);
	feed(f, 0);
	fx_expect_drop(f, FS.fr[0], FS.len[0], frag_dup);
	feed(f, 1);
	assert_int_equal(replies(f, &mlen), 1);
}

/* RFC 7112 5: the first fragment holds the whole chain or is dropped */
static void test_first_fragment_chain(void **state)
{
	struct fx *f = *state;
	const uint8_t *m;
	uint8_t d16[16] = {58, 1, 1, 12};
	make6(&FS, 5, 100, 8, d16, 16); /* the options header split */
	fx_expect_drop(f, FS.fr[0], FS.len[0], frag6_chain);
	assert_non_null(cap_last_icmp6(&f->cap, TAPIR_ICMP6_PARAM_PROBLEM, &m, NULL));
	assert_int_equal(m[1], TAPIR_ICMP6_PARAM_CHAIN);
	make6(&FS, 6, 100, 16, d16, 16); /* the ICMPv6 header in the next one */
	fx_expect_drop(f, FS.fr[0], FS.len[0], frag6_chain);
	make6(&FS, 7, 100, 24, d16, 16); /* all of it: fine */
	fx_expect_ok(f, FS.fr[0], FS.len[0]);
}

/* RFC 6946 4: offset 0 and no more: the packet itself */
static void test_atomic(void **state)
{
	struct fx *f = *state;
	size_t mlen;
	make6(&FS, 8, 100, 1232, NULL, 0);
	assert_int_equal(FS.n, 1);
	fx_expect_ok(f, FS.fr[0], FS.len[0]);
	assert_int_equal(replies(f, &mlen), 1);
	assert_int_equal(fx_st(f)->reasm_done, 0);
}

static void test_bad_lengths(void **state)
{
	struct fx *f = *state;
	const uint8_t *m;
	make6(&FS, 9, 100, 20, NULL, 0); /* M set, 20 bytes: not a multiple of 8 */
	fx_expect_drop(f, FS.fr[0], FS.len[0], frag_bad);
	assert_non_null(cap_last_icmp6(&f->cap, TAPIR_ICMP6_PARAM_PROBLEM, &m, NULL));
	assert_int_equal(m[1], TAPIR_ICMP6_PARAM_HEADER);
	assert_int_equal(tapir_get32(m + 4), 4);
	cap_clear(&f->cap);
	/* RFC 8200 4.5: beyond 65535, a problem at the offset field */
	make6(&FS, 10, 100, 16, NULL, 0);
	tapir_put16(FS.fr[1] + 14 + 40 + 2, 65528 | 1);
	fx_expect_drop(f, FS.fr[1], FS.len[1], frag_too_big);
	assert_non_null(cap_last_icmp6(&f->cap, TAPIR_ICMP6_PARAM_PROBLEM, &m, NULL));
	assert_int_equal(tapir_get32(m + 4), 42);
}

/* Bounded: the oldest datagram makes room */
static void test_bounds(void **state)
{
	struct fx *f = *state;
	unsigned n = f->cfg.reasm_max_datagrams + 5;
	for (unsigned i = 0; i < n; i++) {
		make6(&FS, 100 + i, 2000, 1232, NULL, 0);
		feed(f, 0);
		f->now += 1000;
	}
	assert_int_equal(fx_st(f)->reasm_evicted, 5);
	assert_true(f->s->reasm_mem <= f->cfg.reasm_max_bytes);
	/* the newest still completes */
	feed(f, 1);
	assert_int_equal(fx_st(f)->reasm_done, 1);
}

/* RFC 8200 4.5: time exceeded (code 1) only when fragment zero came */
static void test_timeout(void **state)
{
	struct fx *f = *state;
	const uint8_t *m;
	size_t mlen;
	make6(&FS, 11, 2000, 1232, NULL, 0);
	feed(f, 1);
	fx_advance(f, f->cfg.reasm_timeout_us + 1);
	assert_int_equal(fx_st(f)->reasm_timeout, 1);
	assert_int_equal(cap_count_icmp6(&f->cap, TAPIR_ICMP6_TIME_EXCEEDED), 0);
	make6(&FS, 12, 2000, 1232, NULL, 0);
	feed(f, 0);
	fx_advance(f, f->cfg.reasm_timeout_us + 1);
	assert_non_null(cap_last_icmp6(&f->cap, TAPIR_ICMP6_TIME_EXCEEDED, &m, &mlen));
	assert_int_equal(m[1], TAPIR_ICMP6_TIMEX_REASM);
	assert_memory_equal(m + 8 + 8, IP6_PEER, 16); /* the quoted source */
	assert_int_equal(f->s->reasm_mem, 0);
}

int main(void)
{
	return CMT_RUN(setup, fx_teardown, test_in_order, test_any_order, test_overlap, test_duplicate,
		       test_first_fragment_chain, test_atomic, test_bad_lengths, test_bounds,
		       test_timeout);
}
