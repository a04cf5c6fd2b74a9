/* SYN cookies (RFC 4987 3.6) between a puppet peer and a tapir listener:
 * a SYN flood fills the backlog with half-open connections, yet a real
 * client still gets in; an application that is simply slow to accept
 * still sees its clients retry (UNP 4.5). */
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

static const struct tseg *syn(struct sim *sim, uint16_t sport, uint32_t seq)
{
	puppet_syn(sim, sport, seq);
	sim_advance(sim, TAPIR_MS(1));
	return tap_last(sim, 0);
}

/* the base protocol (no timestamps, no SACK) with room for two half-open
 * connections per listener */
static void syn2_config(struct tapir_config *c)
{
	c->tcp_timestamps = 0;
	c->tcp_sack = 0;
	c->tcp_max_syn_backlog = 2;
}

static const struct fx_opts syn2_opts = {.config = syn2_config};

static void test_cookie_after_flood(void **state)
{
	FX_VARS(state);
	struct tapir_tcp *c;
	const struct tseg *r;
	uint32_t cookie;
	int err;
	char buf[16];
	/* the flood: two SYNs that are never completed fill the half-open
	 * bound (tcp_max_syn_backlog 2) */
	assert_int_equal(syn(sim, 1001, 5000)->flags, TAPIR_TH_SYN | TAPIR_TH_ACK);
	assert_int_equal(syn(sim, 1002, 6000)->flags, TAPIR_TH_SYN | TAPIR_TH_ACK);
	assert_int_equal(sim_sockets(sim->st[1]), 3);
	/* a SYN now is dropped silently: a burst looks like this too */
	{
		size_t before = tap_n(sim, 0);
		syn(sim, 1999, 4000);
		assert_int_equal(tap_n(sim, 0), before);
	}
	/* but once the half-open ones linger (their SYN,ACKs retransmitted,
	 * never answered), it is a flood: cookies */
	sim_advance(sim, TAPIR_MS(1500));
	/* a real client: a SYN,ACK still comes, but no socket is made */
	r = syn(sim, 2000, 7000);
	assert_int_equal(r->flags, TAPIR_TH_SYN | TAPIR_TH_ACK);
	assert_int_equal(r->ack, 7001);
	assert_int_equal(r->mss, 1460);
	assert_int_equal(sim_sockets(sim->st[1]), 3);
	assert_int_equal(tapir_stats(sim->st[1])->tcp_syncookies_sent, 1);
	cookie = r->seq;
	/* a forged answer (wrong cookie) gets a RST, and no socket */
	pc_send(sim, &(struct pconn){.pport = 2001, .bport = 80, .win = 65535}, 9001, cookie + 1, TAPIR_TH_ACK, NULL, 0);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tap_last(sim, 0)->flags, TAPIR_TH_RST);
	assert_int_equal(sim_sockets(sim->st[1]), 3);
	/* the real answer, with data: the connection exists at once */
	pc_send(sim, &(struct pconn){.pport = 2000, .bport = 80, .win = 65535}, 7001, cookie + 1, TAPIR_TH_ACK | TAPIR_TH_PSH,
		"hello", 5);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tapir_stats(sim->st[1])->tcp_syncookies_ok, 1);
	c = tapir_tcp_accept(p->lis, &err);
	assert_non_null(c);
	assert_int_equal(tapir_tcp_state(c), TAPIR_TCP_ESTABLISHED);
	assert_int_equal(tapir_tcp_recv(c, buf, sizeof(buf), sim->now), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(tapir_tcp_send(c, "world", 5, sim->now), 5);
	sim_advance(sim, TAPIR_MS(1));
	r = tap_last(sim, 0);
	assert_int_equal(r->seq, cookie + 1); /* B's data follows its cookie */
	assert_int_equal(r->ack, 7006);
	assert_int_equal(r->len, 5);
	tapir_tcp_abort(c, sim->now);
}

static const struct fx_opts backlog1_opts = {.backlog = 1};

/* UNP 4.5: when the accept queue itself is full, the application is
 * behind: a SYN is dropped silently (no cookie) so the client retries. */
static void test_no_cookie_when_accept_queue_full(void **state)
{
	FX_VARS(state);
	const struct tseg *r;
	size_t before;
	r = syn(sim, 1001, 5000);
	pc_send(sim, &(struct pconn){.pport = 1001, .bport = 80, .win = 65535}, 5001, r->seq + 1, TAPIR_TH_ACK, NULL, 0);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(sim_sockets_in(sim->st[1], TAPIR_TCP_ESTABLISHED), 1); /* unaccepted */
	before = tap_n(sim, 0);
	syn(sim, 1002, 6000);
	assert_int_equal(tap_n(sim, 0), before); /* no answer at all */
	assert_int_equal(tapir_stats(sim->st[1])->tcp_syncookies_sent, 0);
}

static const struct fx_opts backlog1_syn2_opts = {.config = syn2_config, .backlog = 1};

/* the two queues are bounded apart (UNP 4.5, as Linux): with a listen()
 * backlog of 1, two handshakes are still half-open at once; the second to
 * complete finds the accept queue full, its ACK is dropped (no RST) and it
 * stays SYN-RECEIVED until accept() makes room.  A new SYN meanwhile is
 * not taken at all. */
static void test_accept_queue_apart(void **state)
{
	FX_VARS(state);
	const struct tseg *r1, *r2;
	struct tapir_tcp *a;
	size_t before;
	int err;
	r1 = syn(sim, 1001, 5000);
	r2 = syn(sim, 1002, 6000);
	assert_int_equal(r1->flags, TAPIR_TH_SYN | TAPIR_TH_ACK);
	assert_int_equal(r2->flags, TAPIR_TH_SYN | TAPIR_TH_ACK);
	uint32_t iss1 = r1->seq, iss2 = r2->seq;
	assert_int_equal(sim_sockets_in(sim->st[1], TAPIR_TCP_SYN_RECEIVED), 2);
	pc_send(sim, &(struct pconn){.pport = 1001, .bport = 80, .win = 65535}, 5001, iss1 + 1, TAPIR_TH_ACK, NULL, 0);
	pc_send(sim, &(struct pconn){.pport = 1002, .bport = 80, .win = 65535}, 6001, iss2 + 1, TAPIR_TH_ACK, NULL, 0);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(sim_sockets_in(sim->st[1], TAPIR_TCP_ESTABLISHED), 1);
	assert_int_equal(sim_sockets_in(sim->st[1], TAPIR_TCP_SYN_RECEIVED), 1);
	assert_int_equal(tapir_stats(sim->st[1])->tcp_listen_overflows, 1);
	assert_int_equal(tapir_stats(sim->st[1])->tcp_rst_sent, 0);
	before = tap_n(sim, 0);
	syn(sim, 1003, 7000); /* the accept queue is full: no answer */
	assert_int_equal(tap_n(sim, 0), before);
	/* accept() makes room: the second's next ACK completes it */
	a = tapir_tcp_accept(p->lis, &err);
	assert_non_null(a);
	pc_send(sim, &(struct pconn){.pport = 1002, .bport = 80, .win = 65535}, 6001, iss2 + 1, TAPIR_TH_ACK, NULL, 0);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(sim_sockets_in(sim->st[1], TAPIR_TCP_ESTABLISHED), 2);
	assert_int_equal(tapir_stats(sim->st[1])->tcp_rst_sent, 0);
	tapir_tcp_abort(a, sim->now);
}

static void syn1_config(struct tapir_config *c)
{
	syn2_config(c);
	c->tcp_max_syn_backlog = 1;
}

static const struct fx_opts backlog1_syn1_opts = {.config = syn1_config, .backlog = 1};

/* a client of a SYN cookie that answers while the accept queue is full is
 * dropped without a RST (it believes it is connected); its retransmission
 * gets in once accept() makes room (RFC 4987 3.6: cookies never starve) */
static void test_cookie_waits_for_room(void **state)
{
	FX_VARS(state);
	const struct tseg *r;
	struct pconn pc2 = {.pport = 2000, .bport = 80, .win = 65535};
	struct tapir_tcp *a, *c;
	uint32_t iss1, cookie;
	int err;
	char buf[16];
	iss1 = syn(sim, 1001, 5000)->seq;
	sim_advance(sim, TAPIR_MS(1500)); /* it lingers: a flood */
	r = syn(sim, 2000, 7000);
	assert_int_equal(r->flags, TAPIR_TH_SYN | TAPIR_TH_ACK);
	assert_int_equal(tapir_stats(sim->st[1])->tcp_syncookies_sent, 1);
	cookie = r->seq;
	/* the half-open one completes and fills the accept queue */
	pc_send(sim, &(struct pconn){.pport = 1001, .bport = 80, .win = 65535}, 5001, iss1 + 1, TAPIR_TH_ACK, NULL, 0);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(sim_sockets_in(sim->st[1], TAPIR_TCP_ESTABLISHED), 1);
	/* the cookie's answer: no room, no RST, no socket */
	pc_send(sim, &pc2, 7001, cookie + 1, TAPIR_TH_ACK | TAPIR_TH_PSH, "hello", 5);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tapir_stats(sim->st[1])->tcp_rst_sent, 0);
	assert_int_equal(tapir_stats(sim->st[1])->tcp_syncookies_ok, 0);
	assert_int_equal(tapir_stats(sim->st[1])->tcp_listen_overflows, 1);
	assert_int_equal(sim_sockets(sim->st[1]), 2);
	/* accept() makes room; the retransmission gets in */
	a = tapir_tcp_accept(p->lis, &err);
	assert_non_null(a);
	pc_send(sim, &pc2, 7001, cookie + 1, TAPIR_TH_ACK | TAPIR_TH_PSH, "hello", 5);
	sim_advance(sim, TAPIR_MS(1));
	assert_int_equal(tapir_stats(sim->st[1])->tcp_syncookies_ok, 1);
	c = tapir_tcp_accept(p->lis, &err);
	assert_non_null(c);
	assert_int_equal(tapir_tcp_recv(c, buf, sizeof(buf), sim->now), 5);
	assert_memory_equal(buf, "hello", 5);
	tapir_tcp_abort(c, sim->now);
	tapir_tcp_abort(a, sim->now);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST_AT(test_cookie_after_flood, fx_listener, &syn2_opts),
		FX_TEST_AT(test_accept_queue_apart, fx_listener, &backlog1_syn2_opts),
		FX_TEST_AT(test_cookie_waits_for_room, fx_listener, &backlog1_syn1_opts),
		FX_TEST_AT(test_no_cookie_when_accept_queue_full, fx_listener, &backlog1_opts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
