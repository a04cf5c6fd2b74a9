/* See traffic.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core.h"
#include "sim.h"
#include "traffic.h"

#define A_ADDR 0x0a000001u
#define B_ADDR 0x0a000002u
#define PORT 7777
#define PING_ID 0x5151

static const unsigned def_udp[] = {1, 100, 1472, 4000};
static const unsigned def_ping[] = {0, 56, 1000, 1400};

struct tr {
	const struct traffic_params *tp;
	struct traffic_result *r;
	struct sim sm;
	int a, b;
	struct tapir_udp *ua, *ub;
	uint8_t at_b[TR_MAX], back[TR_MAX], ping[TR_MAX];
	uint8_t buf[70000];
};

static uint8_t pat(uint32_t seq, size_t i)
{
	uint32_t x = (seq + 1) * 2654435761u ^ (uint32_t)i * 0x9e3779b9u;
	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	return (uint8_t)(x >> 11);
}

static size_t udp_size(const struct tr *t, int seq)
{
	return t->tp->udp_sizes[seq % t->tp->n_udp_sizes];
}

/* Payload: 4-byte sequence number, then the pattern.  A 1-byte datagram
 * carries only the low byte of the sequence. */
static void fill(uint8_t *p, size_t len, uint32_t seq)
{
	for (size_t i = 0; i < len; i++)
		p[i] = pat(seq, i);
	if (len >= 4) {
		p[0] = (uint8_t)(seq >> 24);
		p[1] = (uint8_t)(seq >> 16);
		p[2] = (uint8_t)(seq >> 8);
		p[3] = (uint8_t)seq;
	} else if (len) {
		p[0] = (uint8_t)seq;
	}
}

/* The sequence number a datagram claims, or -1 if it is not one we sent
 * exactly (wrong length for its number, or any byte off). */
static int check(struct tr *t, const uint8_t *p, long len)
{
	static uint8_t want[70000];
	int seq;
	if (len < 1)
		return -1;
	seq = len >= 4 ? (int)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3])
		       : p[0];
	if (seq < 0 || seq >= t->tp->count || udp_size(t, seq) != (size_t)len)
		return -1;
	fill(want, (size_t)len, (uint32_t)seq);
	return memcmp(want, p, (size_t)len) ? -1 : seq;
}

/* Takes every datagram waiting on U: one that is not exactly what we sent,
 * or not from FROM (and, if SPORT is not 0, from port SPORT), is bad; else
 * it is counted in SEEN and in *FIRST the first time, in udp_dups after.
 * B (ECHO) sends each good one back where it came from. */
static void udp_drain(struct sim *sm, struct tr *t, struct tapir_udp *u, uint32_t from,
		      uint16_t sport_want, uint8_t *seen, int *first, bool echo)
{
	long n;
	uint32_t src;
	uint16_t sport;
	while ((n = tapir_udp_recvfrom(u, t->buf, sizeof(t->buf), &src, &sport)) >= 0) {
		int seq = check(t, t->buf, n);
		if (seq < 0 || src != from || (sport_want && sport != sport_want)) {
			t->r->udp_bad++;
			continue;
		}
		if (seen[seq]++)
			t->r->udp_dups++;
		else
			(*first)++;
		if (echo)
			tapir_udp_sendto(u, t->buf, (size_t)n, src, sport, sm->now);
	}
}

/* After every step: B echoes what it got, A checks what came back. */
static void on_step(struct sim *sm, void *arg)
{
	struct tr *t = arg;
	udp_drain(sm, t, t->ub, A_ADDR, 0, t->at_b, &t->r->udp_at_b, true);
	udp_drain(sm, t, t->ua, B_ADDR, PORT, t->back, &t->r->udp_back, false);
}

static void on_echo(void *arg, const struct tapir_echo_reply *e)
{
	struct tr *t = arg;
	const unsigned *sizes = t->tp->ping_sizes;
	size_t want;
	if (e->error) {
		t->r->ping_err++;
		return;
	}
	if (e->id != PING_ID || e->seq >= t->tp->count || e->from != B_ADDR) {
		t->r->ping_bad++;
		return;
	}
	want = sizes[e->seq % t->tp->n_ping_sizes];
	if (e->len != want) {
		t->r->ping_bad++;
		return;
	}
	for (size_t i = 0; i < want; i++)
		if (e->data[i] != pat(0x10000u + e->seq, i)) {
			t->r->ping_bad++;
			return;
		}
	if (!t->ping[e->seq]++)
		t->r->ping_ok++;
}

void traffic_run(const struct tapir_memlink_params *link, const struct traffic_params *tp_in,
		 struct traffic_result *r)
{
	struct traffic_params tp = *tp_in;
	struct tr *t = calloc(1, sizeof(*t));
	struct tapir_config cfg;
	static uint8_t out[70000];
	const struct tapir_stats *sa, *sb;

	assert_non_null(t);
	assert_true(tp.count <= TR_MAX);
	if (!tp.udp_sizes) {
		tp.udp_sizes = def_udp;
		tp.n_udp_sizes = 4;
	}
	if (!tp.ping_sizes) {
		tp.ping_sizes = def_ping;
		tp.n_ping_sizes = 4;
	}
	memset(r, 0, sizeof(*r));
	t->tp = &tp;
	t->r = r;
	sim_init(&t->sm);
	tapir_config_default(&cfg);
	/* smaller pools than the default (plenty for this traffic), so that
	 * hundreds of runs stay quick under ASan */
	cfg.pkt_small = 256;
	cfg.pkt_large = 8;
	cfg.seed = tp.stack_seed * 2 + 1;
	t->a = sim_node(&t->sm, &cfg);
	cfg.seed = tp.stack_seed * 2 + 2;
	t->b = sim_node(&t->sm, &cfg);
	sim_wire(&t->sm, t->a, A_ADDR, t->b, B_ADDR, 24, link);
	t->sm.on_step = on_step;
	t->sm.on_step_arg = t;
	tapir_echo_set_handler(sim_stack(&t->sm, t->a), on_echo, t);
	t->ua = tapir_udp_new(sim_stack(&t->sm, t->a));
	t->ub = tapir_udp_new(sim_stack(&t->sm, t->b));
	assert_int_equal(tapir_udp_bind(t->ub, 0, PORT), 0);

	for (int i = 0; i < tp.count; i++) {
		size_t n = udp_size(t, i), pn = tp.ping_sizes[i % tp.n_ping_sizes];
		sim_run_until(&t->sm, t->sm.now + tp.interval);
		fill(out, n, (uint32_t)i);
		if (tapir_udp_sendto(t->ua, out, n, B_ADDR, PORT, t->sm.now) == (long)n)
			r->udp_sent++;
		for (size_t k = 0; k < pn; k++)
			out[k] = pat(0x10000u + (uint32_t)i, k);
		if (tapir_echo_send(sim_stack(&t->sm, t->a), B_ADDR, PING_ID, (uint16_t)i, out, pn,
				    t->sm.now) == 0)
			r->ping_sent++;
	}
	/* let stragglers arrive and ARP retries run out */
	sim_run_until(&t->sm, t->sm.now + TAPIR_SEC(5));
	{
		const struct arp_entry *e = arp_lookup(sim_stack(&t->sm, t->a), B_ADDR);
		sa = tapir_stats(sim_stack(&t->sm, t->a));
		r->a_resolved_b = sa->arp_resolved > 0;
		(void)e;
		r->b_knows_a = arp_lookup(sim_stack(&t->sm, t->b), A_ADDR) != NULL;
	}
	/* and every timer (reassembly, ARP aging) run down */
	sim_run_until(&t->sm, t->sm.now + TAPIR_SEC(120));
	sa = tapir_stats(sim_stack(&t->sm, t->a));
	sb = tapir_stats(sim_stack(&t->sm, t->b));
	r->checksum_drops = sa->drop[TAPIR_DROP_ip_checksum] + sb->drop[TAPIR_DROP_ip_checksum] +
			    sa->drop[TAPIR_DROP_udp_checksum] + sb->drop[TAPIR_DROP_udp_checksum] +
			    sa->drop[TAPIR_DROP_icmp_checksum] + sb->drop[TAPIR_DROP_icmp_checksum];
	r->drops_total = tapir_drops_total(sa) + tapir_drops_total(sb);
	r->frags_made = sa->ip_frag_created + sb->ip_frag_created;
	r->reassembled = sa->reasm_done + sb->reasm_done;
	r->accounting_ok = sim_accounting_ok(&t->sm);
	r->digest = sim_hash(sim_digest(&t->sm), r, offsetof(struct traffic_result, digest));
	sim_free(&t->sm);
	free(t);
}
