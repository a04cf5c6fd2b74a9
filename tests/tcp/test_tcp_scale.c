/* 100,000 connections between two stacks in simulated time: opened, held
 * idle, each used once (an echo), closed, and gone after 2 MSL; twice, so
 * that memory kept after the first round would show.  The counts are
 * checked, and the memory by the core's own accounting (tapir_tcp_mem):
 * an idle connection costs its TCB only (no rings), at most 1 KiB with its
 * share of the chunks and of the 4-tuple hash, and all of it comes back
 * once the connections are gone.  No timing threshold.
 *
 * A holds one address, so the 4-tuples differ by ports: client ports
 * 10000.. (bound explicitly, SO_REUSEADDR so that one port serves several
 * server ports), server ports 80, 81. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tcpsim.h"
#include "../../core/tcp_int.h" /* tcp_tuple_hash: the keyed 4-tuple hash */

#define NCONN 100000u
#define NLIS 2u
#define PER_LIS (NCONN / NLIS)
#define BATCH 4000u /* below the listeners' backlog (4096) */
#define RING 8192u /* small rings: less work a connection (and all of a
			  * batch's rings fit under tcp_mem_max) */
#define MSG 16

struct scale {
	struct sim sim;
	struct tapir_tcp *lis[NLIS];
	struct tapir_tcp **cli, **srv; /* NCONN each */
	unsigned lo, hi;               /* the batch being worked on */
	unsigned accepted;
};

static struct tapir_stack *A(struct scale *x) { return x->sim.st[0]; }
static struct tapir_stack *B(struct scale *x) { return x->sim.st[1]; }

static void mem(struct tapir_stack *s, struct tapir_tcp_mem *m) { tapir_tcp_mem(s, m); }

/* the server's side of connection I: accepted in order per listener */
static bool batch_accepted(void *arg)
{
	struct scale *x = arg;
	int err;
	for (unsigned l = 0; l < NLIS; l++) {
		struct tapir_tcp *c;
		while ((c = tapir_tcp_accept(x->lis[l], &err))) {
			uint32_t addr;
			uint16_t port;
			tapir_tcp_peer(c, &addr, &port);
			x->srv[l * PER_LIS + (port - 10000u)] = c;
			x->accepted++;
		}
	}
	return x->accepted == x->hi;
}

static void open_all(struct scale *x)
{
	for (x->lo = 0; x->lo < NCONN; x->lo = x->hi) {
		/* the first batch is one connection: ARP holds only a few
		 * packets while it resolves */
		x->hi = x->lo ? (x->lo + BATCH < NCONN ? x->lo + BATCH : NCONN) : 1;
		for (unsigned i = x->lo; i < x->hi; i++) {
			struct tapir_tcp *c = tapir_tcp_new(A(x));
			assert_non_null(c);
			assert_int_equal(tapir_tcp_setopt(c, TAPIR_TCP_REUSEADDR, 1), 0);
			assert_int_equal(tapir_tcp_bind(c, 0, (uint16_t)(10000u + i % PER_LIS)), 0);
			assert_int_equal(tapir_tcp_connect(c, SIM_B, (uint16_t)(80u + i / PER_LIS),
							   x->sim.now), 0);
			x->cli[i] = c;
		}
		assert_true(sim_run(&x->sim, x->sim.now + TAPIR_SEC(30), batch_accepted, x));
	}
	for (unsigned i = 0; i < NCONN; i++) {
		assert_int_equal(tapir_tcp_state(x->cli[i]), TAPIR_TCP_ESTABLISHED);
		assert_non_null(x->srv[i]);
	}
}

static bool rings_empty(void *arg)
{
	struct scale *x = arg;
	struct tapir_tcp_mem ma, mb;
	mem(A(x), &ma);
	mem(B(x), &mb);
	return !ma.ring_bytes && !mb.ring_bytes;
}

static bool batch_echoed(void *arg)
{
	struct scale *x = arg;
	uint8_t b[MSG];
	while (x->accepted < x->hi) { /* accepted: here, echoed */
		unsigned i = x->accepted;
		long n = tapir_tcp_recv(x->srv[i], b, sizeof(b), x->sim.now);
		if (n == -EAGAIN)
			return false;
		assert_int_equal(n, MSG);
		assert_int_equal(tapir_tcp_send(x->srv[i], b, MSG, x->sim.now), MSG);
		x->accepted++;
	}
	return true;
}

static bool batch_readable(void *arg)
{
	struct scale *x = arg;
	for (unsigned i = x->lo; i < x->hi; i++)
		if (tapir_tcp_readable(x->cli[i]) < MSG)
			return false;
	return true;
}

/* each connection once: the client sends MSG bytes, the server echoes */
static void echo_all(struct scale *x)
{
	uint8_t msg[MSG], b[MSG];
	for (x->lo = 0; x->lo < NCONN; x->lo = x->hi) {
		x->hi = x->lo + BATCH < NCONN ? x->lo + BATCH : NCONN;
		for (unsigned i = x->lo; i < x->hi; i++) {
			memcpy(msg, &i, sizeof(i));
			memset(msg + sizeof(i), 0x5a, sizeof(msg) - sizeof(i));
			assert_int_equal(tapir_tcp_send(x->cli[i], msg, MSG, x->sim.now), MSG);
		}
		x->accepted = x->lo;
		assert_true(sim_run(&x->sim, x->sim.now + TAPIR_SEC(10), batch_echoed, x));
		assert_true(sim_run(&x->sim, x->sim.now + TAPIR_SEC(10), batch_readable, x));
		for (unsigned i = x->lo; i < x->hi; i++) {
			assert_int_equal(tapir_tcp_recv(x->cli[i], b, sizeof(b), x->sim.now), MSG);
			assert_memory_equal(b, &i, sizeof(i));
		}
		/* the last ACKs come (delayed ACK): then no ring is held */
		assert_true(sim_run(&x->sim, x->sim.now + TAPIR_SEC(1), rings_empty, x));
	}
}

static bool batch_closed(void *arg)
{
	struct scale *x = arg;
	uint8_t b[1];
	while (x->accepted < x->hi) {
		unsigned i = x->accepted;
		long n = tapir_tcp_recv(x->srv[i], b, sizeof(b), x->sim.now);
		if (n == -EAGAIN)
			return false;
		assert_int_equal(n, 0); /* the client's FIN */
		tapir_tcp_close(x->srv[i], x->sim.now);
		x->srv[i] = NULL;
		x->accepted++;
	}
	return true;
}

/* the client closes first, so its side waits 2 MSL (RFC 9293 3.6) */
static void close_all(struct scale *x)
{
	for (x->lo = 0; x->lo < NCONN; x->lo = x->hi) {
		x->hi = x->lo + BATCH < NCONN ? x->lo + BATCH : NCONN;
		for (unsigned i = x->lo; i < x->hi; i++) {
			tapir_tcp_close(x->cli[i], x->sim.now);
			x->cli[i] = NULL;
		}
		x->accepted = x->lo;
		assert_true(sim_run(&x->sim, x->sim.now + TAPIR_SEC(10), batch_closed, x));
	}
	sim_advance(&x->sim, TAPIR_SEC(1)); /* the last ACKs of the servers' FINs */
}

static void check_idle(struct scale *x)
{
	struct tapir_tcp_mem m;
	for (int side = 0; side < 2; side++) {
		size_t per;
		mem(x->sim.st[side], &m);
		assert_int_equal(m.tcbs, NCONN + (side ? NLIS : 0));
		assert_int_equal(m.ring_bytes, 0);
		per = (m.tcb_bytes + m.ring_bytes + m.hash_bytes) / m.tcbs;
		print_message("side %d: %zu TCBs of %zu bytes, %zu bytes each idle "
			      "(chunks %zu, hash %zu, rings %zu, ring cache %zu)\n",
			      side, m.tcbs, m.tcb_size, per, m.tcb_bytes, m.hash_bytes, m.ring_bytes,
			      m.ring_cache_bytes);
		assert_true(per <= 1024);
	}
	assert_int_equal(sim_sockets_in(A(x), TAPIR_TCP_ESTABLISHED), NCONN);
	assert_int_equal(sim_sockets_in(B(x), TAPIR_TCP_ESTABLISHED), NCONN);
}

static void round_trip(struct scale *x, struct tapir_tcp_mem *after)
{
	struct tapir_tcp_mem m;
	memset(x->srv, 0, NCONN * sizeof(*x->srv));
	x->accepted = 0;
	open_all(x);
	sim_advance(&x->sim, TAPIR_SEC(5)); /* held idle: nothing is sent */
	check_idle(x);
	echo_all(x);
	check_idle(x);
	close_all(x);
	/* A holds every connection in TIME-WAIT; B holds none */
	assert_int_equal(sim_sockets_in(A(x), TAPIR_TCP_TIME_WAIT), NCONN);
	assert_int_equal(sim_sockets(B(x)), NLIS);
	mem(A(x), &m);
	assert_int_equal(m.ring_bytes, 0);
	/* RFC 9293 3.6 TIME-WAIT, kept as compact records (at most 128 bytes
	 * each, with the hash: 16-byte addresses for either family) in place of the TCBs */
	assert_int_equal(m.time_wait, NCONN);
	assert_int_equal(m.tcbs, 0);
	print_message("TIME-WAIT: %zu records, %zu bytes each with the hash; TCB chunks %zu\n",
		      m.time_wait, m.time_wait_bytes / m.time_wait, m.tcb_bytes);
	assert_true(m.time_wait_bytes / m.time_wait <= 128 + 16);
	/* a moment before 2 MSL they are all there; 2 MSL after the last
	 * they are gone */
	sim_advance(&x->sim, TAPIR_SEC(30)); /* (2 MSL is 60 s) */
	mem(A(x), &m);
	assert_int_equal(m.time_wait, NCONN);
	sim_advance(&x->sim, TAPIR_SEC(31));
	assert_int_equal(sim_sockets(A(x)), 0);
	mem(A(x), &m);
	assert_int_equal(m.tcbs, 0);
	assert_int_equal(m.time_wait, 0);
	assert_int_equal(m.ring_bytes, 0);
	/* one spare chunk at most, and the hash back to its least; the
	 * records' chunks given back too (one spare of 64 records) */
	assert_true(m.tcb_bytes <= 64 * m.tcb_size + 64);
	assert_true(m.time_wait_bytes <= 64 * 128 + 64 + 64 * sizeof(void *));
	assert_true(m.hash_bytes <= 64 * sizeof(void *));
	mem(B(x), after);
	assert_int_equal(after->tcbs, NLIS);
	/* the listeners' chunk and a spare */
	assert_true(after->tcb_bytes <= 2 * (64 * after->tcb_size + 64));
}

static void test_scale_100k(void **state)
{
	struct scale *x = calloc(1, sizeof(*x));
	struct tapir_config cfg;
	struct tapir_memlink_params lp;
	struct tapir_tcp_mem m1, m2, a1, a2;
	(void)state;
	assert_non_null(x);
	x->cli = calloc(NCONN, sizeof(*x->cli));
	x->srv = calloc(NCONN, sizeof(*x->srv));
	assert_true(x->cli && x->srv);
	tapir_config_default(&cfg); /* timestamps, SACK, window scaling on */
	cfg.tcp_sndbuf = cfg.tcp_rcvbuf = RING;
	tapir_memlink_params_default(&lp);
	lp.queue_limit = 4 * BATCH;
	sim_init(&x->sim, &cfg, &lp);
	for (unsigned l = 0; l < NLIS; l++) {
		x->lis[l] = tapir_tcp_new(B(x));
		assert_int_equal(tapir_tcp_bind(x->lis[l], 0, (uint16_t)(80 + l)), 0);
		assert_int_equal(tapir_tcp_listen(x->lis[l], 4096), 0);
	}
	round_trip(x, &m1);
	mem(A(x), &a1);
	round_trip(x, &m2);
	mem(A(x), &a2);
	/* nothing grew between the rounds */
	assert_int_equal(m2.tcb_bytes, m1.tcb_bytes);
	assert_int_equal(m2.hash_bytes, m1.hash_bytes);
	assert_int_equal(a2.tcb_bytes, a1.tcb_bytes);
	assert_int_equal(a2.hash_bytes, a1.hash_bytes);
	assert_true(m2.ring_cache_bytes <= m1.ring_cache_bytes);
	assert_int_equal(tapir_stats(A(x))->tcp_rcv_nomem + tapir_stats(B(x))->tcp_rcv_nomem, 0);
	for (unsigned l = 0; l < NLIS; l++)
		tapir_tcp_close(x->lis[l], x->sim.now);
	sim_fini(&x->sim);
	free(x->cli);
	free(x->srv);
	free(x);
}

/* A connection B closed first and let go reaches TIME-WAIT: a record.  B
 * closes, the puppet ACKs B's FIN and sends its own. */
static struct tapir_tcp_mem tw_reach(struct sim *sim, struct tapir_tcp *l, uint16_t pport,
				     struct pconn *pc, int ttl)
{
	struct tapir_tcp_mem m;
	struct tapir_tcp *b = puppet_open(sim, l, 80, pport, 1000, pc);
	const struct tseg *a;
	assert_non_null(b);
	assert_int_equal(tapir_tcp_set_ipopt(b, TAPIR_IP_TTL, ttl), 0);
	tapir_tcp_close(b, sim->now);
	sim_advance(sim, TAPIR_MS(10));
	pc_ack_all(sim, pc); /* B's FIN: FIN-WAIT-2 */
	sim_advance(sim, TAPIR_MS(10));
	pc_send(sim, pc, pc->snd_nxt, pc->rcv_nxt, TAPIR_TH_FIN | TAPIR_TH_ACK, NULL, 0);
	pc->snd_nxt++;
	sim_advance(sim, TAPIR_MS(10));
	a = tap_last(sim, 0);
	assert_non_null(a);
	assert_int_equal(a->flags, TAPIR_TH_ACK);
	assert_int_equal(a->ack, pc->snd_nxt);
	tapir_tcp_mem(sim->st[1], &m);
	assert_int_equal(m.time_wait, 1);
	assert_int_equal(m.tcbs, 1); /* the listener: the TCB is gone */
	assert_int_equal(sim_sockets_in(sim->st[1], TAPIR_TCP_TIME_WAIT), 1);
	return m;
}

/* The TTL of the one TIME-WAIT socket, as the record gives it back */
static void tw_ttl(void *arg, const struct tapir_tcp *t)
{
	if (tapir_tcp_state(t) == TAPIR_TCP_TIME_WAIT)
		*(int *)arg = tapir_tcp_get_ipopt(t, TAPIR_IP_TTL);
}

static int tw_ttl_of(struct tapir_stack *s)
{
	int ttl = 0;
	tapir_tcp_foreach(s, tw_ttl, &ttl);
	return ttl;
}

/* RFC 9293 3.10.7.4 in TIME-WAIT, answered from a record as from the TCB:
 * a retransmitted FIN, below RCV.NXT, is not acceptable (first step): it
 * gets an ACK, and the 2 MSL run on from the first FIN (the restart of
 * the eighth step is for an acceptable FIN); a RST at RCV.NXT ends it,
 * unanswered.  (Without the record the listener would answer with a
 * RST.) */
static void test_time_wait_record(void **state)
{
	struct sim sim;
	struct pconn pc;
	struct tapir_tcp *l;
	struct tapir_tcp_mem m;
	const struct tseg *a;
	(void)state;
	sim_init_puppet(&sim, NULL, NULL);
	l = tapir_tcp_new(sim.st[1]);
	assert_int_equal(tapir_tcp_bind(l, 0, 80), 0);
	assert_int_equal(tapir_tcp_listen(l, 8), 0);
	tw_reach(&sim, l, 40000, &pc, 255); /* (a record packs it in a byte) */
	assert_int_equal(tw_ttl_of(sim.st[1]), 255);
	sim_advance(&sim, TAPIR_SEC(30));
	tap_clear(&sim);
	pc_send(&sim, &pc, pc.snd_nxt - 1, pc.rcv_nxt, TAPIR_TH_FIN | TAPIR_TH_ACK, NULL, 0);
	sim_advance(&sim, TAPIR_MS(10));
	assert_int_equal(tap_n(&sim, 0), 1);
	a = tap_last(&sim, 0);
	assert_int_equal(a->flags, TAPIR_TH_ACK);
	assert_int_equal(a->ack, pc.snd_nxt);
	assert_int_equal(a->seq, pc.rcv_nxt);
	tapir_tcp_mem(sim.st[1], &m);
	assert_int_equal(m.time_wait, 1);
	assert_int_equal(m.tcbs, 1);
	assert_int_equal(tw_ttl_of(sim.st[1]), 255); /* thawed and frozen again */
	/* 2 MSL (60 s) after the first FIN: gone */
	sim_advance(&sim, TAPIR_SEC(29));
	tapir_tcp_mem(sim.st[1], &m);
	assert_int_equal(m.time_wait, 1);
	sim_advance(&sim, TAPIR_SEC(1));
	tapir_tcp_mem(sim.st[1], &m);
	assert_int_equal(m.time_wait, 0);
	/* a RST at RCV.NXT */
	tw_reach(&sim, l, 40001, &pc, -1);
	tap_clear(&sim);
	pc_send(&sim, &pc, pc.snd_nxt, 0, TAPIR_TH_RST, NULL, 0);
	sim_advance(&sim, TAPIR_MS(10));
	assert_int_equal(tap_n(&sim, 0), 0);
	tapir_tcp_mem(sim.st[1], &m);
	assert_int_equal(m.time_wait, 0);
	assert_int_equal(m.tcbs, 1);
	tapir_tcp_close(l, sim.now);
	sim_fini(&sim);
}

/* cfg.tcp_sockets is a limit: at it, tapir_tcp_new fails and a listener
 * ignores a SYN as when its backlog is full (UNP 4.5): no SYN,ACK, no RST,
 * so the client tries again; once a connection is gone, it gets in. */
static void test_socket_limit(void **state)
{
	struct tapir_config cfg;
	struct sim sim;
	struct pconn pc, pc2;
	struct tapir_tcp *l, *b;
	(void)state;
	tapir_config_default(&cfg);
	cfg.tcp_sockets = 2; /* the listener and one connection */
	sim_init_puppet(&sim, &cfg, NULL);
	l = tapir_tcp_new(sim.st[1]);
	assert_int_equal(tapir_tcp_bind(l, 0, 80), 0);
	assert_int_equal(tapir_tcp_listen(l, 8), 0);
	b = puppet_open(&sim, l, 80, 40000, 1000, &pc);
	assert_non_null(b);
	assert_null(tapir_tcp_new(sim.st[1]));
	tap_clear(&sim);
	assert_null(puppet_open(&sim, l, 80, 40001, 5000, &pc2));
	assert_int_equal(tap_n(&sim, 0), 0);
	assert_true(tapir_stats(sim.st[1])->drop[TAPIR_DROP_nomem] > 0);
	/* the first one ends (a RST): room again */
	pc_send(&sim, &pc, pc.snd_nxt, 0, TAPIR_TH_RST, NULL, 0);
	sim_advance(&sim, TAPIR_MS(10));
	tapir_tcp_close(b, sim.now);
	assert_non_null(puppet_open(&sim, l, 80, 40002, 9000, &pc2));
	tapir_tcp_close(pc2.b, sim.now);
	tapir_tcp_close(l, sim.now);
	sim_fini(&sim);
}

/* The 4-tuple hash is keyed (SipHash, a key per stack from its random
 * source), so a peer cannot pick 4-tuples that share a bucket: tuples an
 * unkeyed hash of the ports would put in one bucket (lport ^ rport the
 * same for all) spread over the buckets as random ones would,
 * and the same tuples fall in other buckets in a stack with another key.
 * The sim's seeds are fixed, so the counts are the same every run. */
static void test_keyed_hash(void **state)
{
	enum { NT = 1024, MASK = 1023 };
	struct sim sim;
	struct tapir_ip la = tapir_ip_from_v4(0x0a000002), ra = tapir_ip_from_v4(0x0a000001);
	static unsigned load[MASK + 1];
	unsigned most = 0, same = 0;
	(void)state;
	sim_init(&sim, NULL, NULL);
	memset(load, 0, sizeof(load));
	for (unsigned i = 0; i < NT; i++) {
		/* lport ^ rport == 0x5050 for every tuple: the ports move
		 * together, as an attacker choosing collisions would */
		uint16_t lport = (uint16_t)(0x5000 + i), rport = (uint16_t)(lport ^ 0x5050);
		unsigned h0 = tcp_tuple_hash(sim.st[0]->tcp, MASK, &la, lport, &ra, rport);
		unsigned h1 = tcp_tuple_hash(sim.st[1]->tcp, MASK, &la, lport, &ra, rport);
		if (++load[h0] > most)
			most = load[h0];
		same += h0 == h1;
	}
	print_message("%u tuples in %u buckets: at most %u in one; %u in the same bucket "
		      "under the other stack's key\n", NT, MASK + 1, most, same);
	/* 1024 random balls in 1024 bins: the fullest holds about 5-6 */
	assert_true(most <= 10);
	/* about 1 of 1024 by chance */
	assert_true(same <= 16);
	sim_fini(&sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyed_hash),
		cmocka_unit_test(test_time_wait_record),
		cmocka_unit_test(test_socket_limit),
		cmocka_unit_test(test_scale_100k),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
