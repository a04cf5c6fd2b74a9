/* Resets, on the wire, against a puppet peer that sends hand-made
 * segments: RFC 9293 3.10.7 (which segment gets a RST and with what
 * numbers, which RST is believed) and RFC 5961's defences against blind
 * attacks (challenge ACKs, their rate limit). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

static const struct tseg *sent_by_b(struct fx *x, size_t k) { return tap_get(&x->sim, 0, k); }

/* RFC 9293 3.10.7.1: a SYN (no ACK) to a closed port gets
 * <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, SEG.LEN counting SYN, data
 * and FIN. */
static void test_syn_to_closed_port(void **state)
{
	FX_VARS(state);
	const struct tseg *r;
	puppet_send(sim, &(struct pseg){.sport = 2000, .dport = 81, .seq = 1000,
					.flags = TAPIR_TH_SYN, .win = 1000, .mss = 1460});
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tap_n(sim, 0), 1);
	r = sent_by_b(x, 0);
	assert_int_equal(r->flags, TAPIR_TH_RST | TAPIR_TH_ACK);
	assert_int_equal(r->seq, 0);
	assert_int_equal(r->ack, 1001);
	assert_int_equal(r->sport, 81);
	assert_int_equal(r->dport, 2000);
	assert_int_equal(r->len, 0);
	/* with data on the SYN */
	puppet_send(sim, &(struct pseg){.sport = 2001, .dport = 81, .seq = 7000,
					.flags = TAPIR_TH_SYN, .win = 1000, .data = "0123456789", .len = 10});
	sim_advance(sim, TAPIR_MS(1));
	r = sent_by_b(x, 1);
	assert_int_equal(r->flags, TAPIR_TH_RST | TAPIR_TH_ACK);
	assert_int_equal(r->ack, 7011);
	/* a bare FIN */
	puppet_send(sim, &(struct pseg){.sport = 2002, .dport = 81, .seq = 9000,
					.flags = TAPIR_TH_FIN, .win = 1000});
	sim_advance(sim, TAPIR_MS(1));
	r = sent_by_b(x, 2);
	assert_int_equal(r->flags, TAPIR_TH_RST | TAPIR_TH_ACK);
	assert_int_equal(r->seq, 0);
	assert_int_equal(r->ack, 9001);
	assert_int_equal(tapir_stats(sim->st[1])->tcp_rst_sent, 3);
	assert_int_equal(tapir_stats(sim->st[1])->drop[TAPIR_DROP_tcp_no_socket], 3);
}

/* RFC 9293 3.10.7.1: a segment with ACK to a closed port gets
 * <SEQ=SEG.ACK><CTL=RST> (no ACK bit). */
static void test_ack_to_closed_port(void **state)
{
	FX_VARS(state);
	const struct tseg *r;
	puppet_send(sim, &(struct pseg){.sport = 2000, .dport = 81, .seq = 3000, .ack = 777,
					.flags = TAPIR_TH_ACK, .win = 1000});
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tap_n(sim, 0), 1);
	r = sent_by_b(x, 0);
	assert_int_equal(r->flags, TAPIR_TH_RST);
	assert_int_equal(r->seq, 777);
	/* data with ACK, to a port nobody uses */
	puppet_send(sim, &(struct pseg){.sport = 2000, .dport = 81, .seq = 3000, .ack = 888,
					.flags = TAPIR_TH_ACK | TAPIR_TH_PSH, .win = 1000, .data = "xyz", .len = 3});
	sim_advance(sim, TAPIR_MS(1));
	r = sent_by_b(x, 1);
	assert_int_equal(r->flags, TAPIR_TH_RST);
	assert_int_equal(r->seq, 888);
	/* RFC 9293 3.10.7.2: an ACK to a listener gets the same */
	puppet_send(sim, &(struct pseg){.sport = 2003, .dport = 80, .seq = 3000, .ack = 999,
					.flags = TAPIR_TH_ACK, .win = 1000});
	sim_advance(sim, TAPIR_MS(1));
	r = sent_by_b(x, 2);
	assert_non_null(r);
	assert_int_equal(r->flags, TAPIR_TH_RST);
	assert_int_equal(r->seq, 999);
}

/* RFC 9293 3.10.7.1-3.10.7.4: a RST is never answered, whatever it hits. */
static void test_no_rst_for_rst(void **state)
{
	FX_VARS(state);
	struct pconn *pc = &x->pc;
	/* a closed port */
	puppet_send(sim, &(struct pseg){.sport = 2000, .dport = 81, .seq = 1, .flags = TAPIR_TH_RST});
	puppet_send(sim, &(struct pseg){.sport = 2000, .dport = 81, .seq = 1, .ack = 5,
					.flags = TAPIR_TH_RST | TAPIR_TH_ACK});
	/* a listener */
	puppet_send(sim, &(struct pseg){.sport = 2001, .dport = 80, .seq = 1, .flags = TAPIR_TH_RST});
	puppet_send(sim, &(struct pseg){.sport = 2001, .dport = 80, .seq = 1, .ack = 5,
					.flags = TAPIR_TH_RST | TAPIR_TH_ACK});
	/* a connection, far outside its window */
	pc_send(sim, pc, pc->snd_nxt + 1000000, 0, TAPIR_TH_RST, NULL, 0);
	pc_send(sim, pc, pc->snd_nxt - 1000000, pc->rcv_nxt, TAPIR_TH_RST | TAPIR_TH_ACK, NULL, 0);
	sim_advance(sim, TAPIR_MS(100));
	if (tap_n(sim, 0)) {
		tap_dump(sim);
		fail();
	}
	assert_int_equal(tapir_tcp_state(pc->b), TAPIR_TCP_ESTABLISHED);
	assert_int_equal(tapir_stats(sim->st[1])->tcp_rst_sent, 0);
}

/* RFC 9293 3.10.7.3 / RFC 5961 3.2 (SYN-SENT): a RST is believed only
 * with an acceptable ACK (SND.UNA < SEG.ACK <= SND.NXT); then the connect
 * fails with ECONNREFUSED.  An unacceptable ACK without RST gets
 * <SEQ=SEG.ACK><CTL=RST>. */
static void test_rst_in_syn_sent(void **state)
{
	FX_VARS(state);
	struct tapir_tcp *t = p->cli;
	const struct tseg *syn = tap_get(sim, 0, 0), *r;
	uint32_t iss;
	uint16_t port;
	iss = syn->seq;
	port = syn->sport;
	tap_clear(sim);
	/* no ACK: ignored */
	puppet_send(sim, &(struct pseg){.sport = 80, .dport = port, .seq = 5, .flags = TAPIR_TH_RST});
	/* an ACK that does not cover our SYN, or covers more: ignored */
	puppet_send(sim, &(struct pseg){.sport = 80, .dport = port, .seq = 5, .ack = iss,
					.flags = TAPIR_TH_RST | TAPIR_TH_ACK});
	puppet_send(sim, &(struct pseg){.sport = 80, .dport = port, .seq = 5, .ack = iss + 2,
					.flags = TAPIR_TH_RST | TAPIR_TH_ACK});
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tapir_tcp_state(t), TAPIR_TCP_SYN_SENT);
	assert_int_equal(tap_n(sim, 0), 0);
	/* a bad ACK without RST: reset it */
	puppet_send(sim, &(struct pseg){.sport = 80, .dport = port, .seq = 5, .ack = iss + 1000,
					.flags = TAPIR_TH_ACK});
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tapir_tcp_state(t), TAPIR_TCP_SYN_SENT);
	assert_int_equal(tap_n(sim, 0), 1);
	r = tap_get(sim, 0, 0);
	assert_int_equal(r->flags, TAPIR_TH_RST);
	assert_int_equal(r->seq, iss + 1000);
	/* the right ACK */
	puppet_send(sim, &(struct pseg){.sport = 80, .dport = port, .seq = 0, .ack = iss + 1,
					.flags = TAPIR_TH_RST | TAPIR_TH_ACK});
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tapir_tcp_state(t), TAPIR_TCP_CLOSED);
	assert_int_equal(tapir_tcp_error(t), ECONNREFUSED);
	assert_int_equal(tap_n(sim, 0), 1);
	assert_int_equal(tapir_stats(sim->st[1])->tcp_conn_refused, 1);
}

/* RFC 9293 3.10.7.4 second / RFC 5961 3.2: a RST with SEQ = RCV.NXT
 * resets the connection: ECONNRESET. */
static void test_rst_exact(void **state)
{
	FX_VARS(state);
	struct pconn *pc = &x->pc;
	char buf[8];
	pc_send(sim, pc, pc->snd_nxt, 0, TAPIR_TH_RST, NULL, 0);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tapir_tcp_state(pc->b), TAPIR_TCP_CLOSED);
	assert_int_equal(tap_n(sim, 0), 0);
	assert_int_equal(tapir_tcp_recv(pc->b, buf, sizeof(buf), sim->now), -ECONNRESET);
	assert_int_equal(tapir_tcp_send(pc->b, "x", 1, sim->now), -ECONNRESET);
	assert_int_equal(tapir_tcp_error(pc->b), ECONNRESET);
	assert_int_equal(tapir_tcp_error(pc->b), 0); /* read and cleared */
}

/* RFC 5961 3.2 / 4.2: the puppet sends FLAGS at SEQ; B answers with a
 * challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, no data, and stays
 * ESTABLISHED. */
static void challenged(struct fx *x, uint32_t seq, uint8_t flags)
{
	struct tapir_tcp_info i;
	const struct tseg *r;
	size_t k = tap_n(&x->sim, 0);
	tapir_tcp_get_info(x->pc.b, &i);
	pc_send(&x->sim, &x->pc, seq, 0, flags, NULL, 0);
	sim_advance(&x->sim, TAPIR_MS(1));
	assert_int_equal(tapir_tcp_state(x->pc.b), TAPIR_TCP_ESTABLISHED);
	assert_int_equal(tap_n(&x->sim, 0), k + 1);
	r = sent_by_b(x, k);
	assert_int_equal(r->flags, TAPIR_TH_ACK);
	assert_int_equal(r->seq, i.snd_nxt);
	assert_int_equal(r->ack, i.rcv_nxt);
	assert_int_equal(r->len, 0);
}

/* RFC 5961 3.2: a RST inside the window but not at RCV.NXT gets a
 * challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; the connection
 * lives. */
static void test_rst_in_window_challenge(void **state)
{
	FX_VARS(state);
	struct pconn *pc = &x->pc;
	char buf[8];
	challenged(x, pc->snd_nxt + 100, TAPIR_TH_RST);
	assert_int_equal(tapir_stats(sim->st[1])->tcp_challenge_acks, 1);
	/* still works both ways */
	pc_data(sim, pc, "abc", 3);
	sim_advance(sim, TAPIR_MS(100));
	assert_int_equal(tapir_tcp_recv(pc->b, buf, sizeof(buf), sim->now), 3);
	assert_int_equal(tapir_tcp_error(pc->b), 0);
}

/* RFC 5961 4.2 / RFC 9293 3.10.7.4 fourth: a SYN in a synchronized state,
 * whatever its sequence number, gets a challenge ACK; the connection
 * lives. */
static void test_syn_in_established(void **state)
{
	FX_VARS(state);
	struct pconn *pc = &x->pc;
	struct tapir_tcp_info i;
	char buf[8];
	tapir_tcp_get_info(pc->b, &i);
	/* in the window */
	challenged(x, pc->snd_nxt + 10, TAPIR_TH_SYN);
	assert_int_equal(tapir_stats(sim->st[1])->tcp_challenge_acks, 1);
	/* at RCV.NXT, and an old one before the window */
	pc_send(sim, pc, pc->snd_nxt, 0, TAPIR_TH_SYN, NULL, 0);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tap_n(sim, 0), 2);
	assert_int_equal(sent_by_b(x, 1)->flags, TAPIR_TH_ACK);
	assert_int_equal(sent_by_b(x, 1)->ack, i.rcv_nxt);
	pc_send(sim, pc, pc->snd_nxt - 5000, 0, TAPIR_TH_SYN, NULL, 0);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tap_n(sim, 0), 3);
	assert_int_equal(sent_by_b(x, 2)->flags, TAPIR_TH_ACK);
	assert_int_equal(sent_by_b(x, 2)->ack, i.rcv_nxt);
	assert_int_equal(tapir_tcp_state(pc->b), TAPIR_TCP_ESTABLISHED);
	assert_int_equal(tap_count(sim, 0, TAPIR_TH_RST, TAPIR_TH_RST, -1), 0);
	pc_data(sim, pc, "abc", 3);
	sim_advance(sim, TAPIR_MS(100));
	assert_int_equal(tapir_tcp_recv(pc->b, buf, sizeof(buf), sim->now), 3);
}

/* RFC 9293 3.10.7.4 fifth / RFC 5961 5.2: a segment whose ACK acknowledges
 * something not yet sent (SEG.ACK > SND.NXT) gets an ACK and is dropped,
 * its data too. */
static void test_ack_beyond_snd_nxt(void **state)
{
	FX_VARS(state);
	struct pconn *pc = &x->pc;
	struct tapir_tcp_info i, j;
	const struct tseg *r;
	char buf[8];
	tapir_tcp_get_info(pc->b, &i);
	pc_send(sim, pc, pc->snd_nxt, pc->rcv_nxt + 5000, TAPIR_TH_ACK | TAPIR_TH_PSH, "bogus", 5);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tap_n(sim, 0), 1);
	r = sent_by_b(x, 0);
	assert_int_equal(r->flags, TAPIR_TH_ACK);
	assert_int_equal(r->ack, i.rcv_nxt);
	assert_int_equal(r->seq, i.snd_nxt);
	tapir_tcp_get_info(pc->b, &j);
	assert_int_equal(j.rcv_nxt, i.rcv_nxt);
	assert_int_equal(j.snd_una, i.snd_una);
	assert_int_equal(tapir_tcp_readable(pc->b), 0);
	assert_int_equal(tapir_tcp_state(pc->b), TAPIR_TCP_ESTABLISHED);
	/* the same bytes with a sane ACK are taken */
	pc_data(sim, pc, "good!", 5);
	sim_advance(sim, TAPIR_MS(100));
	assert_int_equal(tapir_tcp_recv(pc->b, buf, sizeof(buf), sim->now), 5);
	assert_memory_equal(buf, "good!", 5);
}

static void challenge3(struct tapir_config *c) { c->tcp_challenge_acks = 3; }
static const struct fx_opts challenge3_opts = {.config = challenge3};

/* RFC 5961 7: challenge ACKs are rate limited (tcp_challenge_acks per
 * second). */
static void test_challenge_ack_limit(void **state)
{
	FX_VARS(state);
	struct pconn *pc = &x->pc;
	for (int k = 0; k < 10; k++)
		pc_send(sim, pc, pc->snd_nxt + 100 + (uint32_t)k, 0, TAPIR_TH_RST, NULL, 0);
	sim_advance(sim, TAPIR_MS(10));
	assert_int_equal(tap_n(sim, 0), 3);
	assert_int_equal(tapir_stats(sim->st[1])->tcp_challenge_acks, 3);
	for (int k = 0; k < 10; k++) /* SYNs share the budget */
		pc_send(sim, pc, pc->snd_nxt + 200, 0, TAPIR_TH_SYN, NULL, 0);
	sim_advance(sim, TAPIR_MS(10));
	assert_int_equal(tap_n(sim, 0), 3);
	/* a second later there is budget again */
	sim_advance(sim, TAPIR_SEC(1));
	pc_send(sim, pc, pc->snd_nxt + 300, 0, TAPIR_TH_RST, NULL, 0);
	sim_advance(sim, TAPIR_MS(10));
	assert_int_equal(tap_n(sim, 0), 4);
	assert_int_equal(tapir_stats(sim->st[1])->tcp_challenge_acks, 4);
	assert_int_equal(tapir_tcp_state(pc->b), TAPIR_TCP_ESTABLISHED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST_AT(test_syn_to_closed_port, fx_puppet, NULL),
		FX_TEST_AT(test_ack_to_closed_port, fx_puppet, NULL),
		FX_TEST_AT(test_no_rst_for_rst, fx_puppet, NULL),
		FX_TEST_AT(test_rst_in_syn_sent, fx_syn_sent, NULL),
		FX_TEST_AT(test_rst_exact, fx_puppet, NULL),
		FX_TEST_AT(test_rst_in_window_challenge, fx_puppet, NULL),
		FX_TEST_AT(test_syn_in_established, fx_puppet, NULL),
		FX_TEST_AT(test_ack_beyond_snd_nxt, fx_puppet, NULL),
		FX_TEST_AT(test_challenge_ack_limit, fx_puppet, &challenge3_opts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
