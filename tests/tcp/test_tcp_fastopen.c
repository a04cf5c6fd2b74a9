/* TCP Fast Open (RFC 7413) between two tapir stacks, 5 ms apart: the
 * cookie exchange (4.1), data on the SYN taken before the handshake ends
 * (4.2), a cookie that fails or a server that no longer does Fast Open
 * (4.2, 4.2.2: the data goes again), the key's rotation, the bound on
 * pending connections; and the socket options beside it: TCP_NOTSENT_LOWAT,
 * FreeBSD's TCP_NOOPT and TCP_KEEPINIT. */
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

static void lis_tfo(struct tapir_tcp *t) { assert_int_equal(tapir_tcp_setopt(t, TAPIR_TCP_FASTOPEN, 16), 0); }
static void cli_tfo(struct tapir_tcp *t) { assert_int_equal(tapir_tcp_setopt(t, TAPIR_TCP_FASTOPEN_CONNECT, 1), 0); }

/* the first connection (the fixture's) asks for a cookie and gets one */
static const struct fx_opts tfo_opts = {.config = fx_options, .link = fx_delay_5ms,
					.lis_setup = lis_tfo, .cli_setup = cli_tfo};

/* One more connection from A to B:80 */
struct conn {
	struct sim *sim;
	struct tapir_tcp *lis, *c, *s;
	int connect_rc;
};

static bool accepted(void *arg)
{
	struct conn *k = arg;
	int err;
	if (!k->s)
		k->s = tapir_tcp_accept(k->lis, &err);
	return k->s != NULL;
}

static bool both_up(void *arg)
{
	struct conn *k = arg;
	return accepted(k) && tapir_tcp_state(k->c) == TAPIR_TCP_ESTABLISHED &&
	       tapir_tcp_state(k->s) == TAPIR_TCP_ESTABLISHED;
}

static void conn_open(struct fx *x, struct conn *k)
{
	memset(k, 0, sizeof(*k));
	k->sim = &x->sim;
	k->lis = x->p.lis;
	k->c = tapir_tcp_new(x->sim.st[0]);
	assert_non_null(k->c);
	cli_tfo(k->c);
	k->connect_rc = tapir_tcp_connect(k->c, SIM_B, 80, x->sim.now);
	assert_true(k->connect_rc >= 0);
}

static void conn_close(struct conn *k)
{
	tapir_tcp_abort(k->c, k->sim->now);
	if (k->s)
		tapir_tcp_abort(k->s, k->sim->now);
	sim_advance(k->sim, TAPIR_MS(50));
}

/* The segments towards B that carry data */
static size_t data_to_b(const struct sim *sim) { return tap_count(sim, 1, 0, 0, 1); }

static void test_cookie_exchange(void **state)
{
	FX_VARS(state);
	/* RFC 7413 4.1.3: the first SYN asks (an empty option), the SYN,ACK
	 * answers with a cookie of 8 bytes */
	assert_int_equal(tap_get(sim, 1, 0)->flags, TAPIR_TH_SYN);
	assert_int_equal(tap_get(sim, 1, 0)->tfo, 0);
	assert_int_equal(tap_get(sim, 0, 0)->flags, TAPIR_TH_SYN | TAPIR_TH_ACK);
	assert_int_equal(tap_get(sim, 0, 0)->tfo, 8);
	assert_int_equal(tapir_stats(sim->st[1])->tcp_tfo_cookies_sent, 1);
	assert_int_equal(tapir_stats(sim->st[1])->tcp_tfo_data_in, 0);
}

/* 4.2: with the cookie, connect returns at once (no SYN yet); the SYN
 * carries the first data and the cookie; the server's application has
 * the data before the handshake ends, and the SYN,ACK acknowledges it */
static void test_data_in_syn(void **state)
{
	FX_VARS(state);
	struct conn k;
	const struct tseg *synseg, *synack;
	char buf[16];
	tap_clear(sim);
	conn_open(x, &k);
	assert_int_equal(k.connect_rc, 1);
	assert_true(tapir_tcp_events(k.c) & TAPIR_EV_WRITE);
	sim_advance(sim, TAPIR_MS(20));
	assert_int_equal(tap_n(sim, -1), 0);
	assert_int_equal(tapir_tcp_send(k.c, "hello", 5, sim->now), 5);
	assert_true(sim_run(sim, sim->now + TAPIR_SEC(1), accepted, &k));
	/* accepted while its SYN,ACK is still on the way */
	assert_int_equal(tapir_tcp_state(k.s), TAPIR_TCP_SYN_RECEIVED);
	assert_int_equal(tapir_tcp_recv(k.s, buf, sizeof(buf), sim->now), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_true(sim_run(sim, sim->now + TAPIR_SEC(1), both_up, &k));
	synseg = tap_get(sim, 1, 0);
	assert_int_equal(synseg->flags, TAPIR_TH_SYN);
	assert_int_equal(synseg->len, 5);
	assert_int_equal(synseg->tfo, 8);
	synack = tap_get(sim, 0, 0);
	assert_int_equal(synack->flags, TAPIR_TH_SYN | TAPIR_TH_ACK);
	assert_int_equal(synack->ack, synseg->seq + 6);
	assert_int_equal(synack->tfo, -1); /* the cookie was good: none new */
	/* the data went once */
	assert_int_equal(data_to_b(sim), 1);
	assert_int_equal(tapir_stats(sim->st[1])->tcp_tfo_data_in, 1);
	assert_int_equal(tapir_stats(sim->st[0])->tcp_tfo_data_acked, 1);
	/* and the connection goes on as any */
	assert_int_equal(tapir_tcp_send(k.s, "world", 5, sim->now), 5);
	assert_int_equal(tapir_tcp_send(k.c, "again", 5, sim->now), 5);
	sim_advance(sim, TAPIR_MS(50));
	assert_int_equal(tapir_tcp_recv(k.c, buf, sizeof(buf), sim->now), 5);
	assert_memory_equal(buf, "world", 5);
	assert_int_equal(tapir_tcp_recv(k.s, buf, sizeof(buf), sim->now), 5);
	assert_memory_equal(buf, "again", 5);
	conn_close(&k);
}

/* 4.2: the SYN carries at most one segment of data, which
 * tapir_tcp_syn_room tells before the send (a non-blocking
 * sendto(MSG_FASTOPEN) takes that much); the rest follows the handshake */
static void test_syn_data_bound(void **state)
{
	FX_VARS(state);
	static char big[5000];
	struct conn k;
	size_t n;
	tap_clear(sim);
	conn_open(x, &k);
	assert_int_equal(k.connect_rc, 1);
	n = tapir_tcp_syn_room(k.c);
	assert_true(n > 0 && n < sizeof(big));
	assert_int_equal(tapir_tcp_send(k.c, big, sizeof(big), sim->now), (long)sizeof(big));
	assert_int_equal(tapir_tcp_syn_room(k.c), 0); /* the SYN is gone */
	assert_true(sim_run(sim, sim->now + TAPIR_SEC(1), both_up, &k));
	assert_int_equal(tap_get(sim, 1, 0)->len, n);
	sim_advance(sim, TAPIR_MS(100));
	assert_int_equal(tapir_tcp_recv(k.s, big, sizeof(big), sim->now), (long)sizeof(big));
	conn_close(&k);
}

/* A connect with a good cookie (4.2): "hello" goes in the SYN and both
 * ends are up within a second; the server then counts DATA_IN in all. */
static void open_with_hello(struct fx *x, struct conn *k, uint64_t data_in)
{
	tap_clear(&x->sim);
	conn_open(x, k);
	assert_int_equal(k->connect_rc, 1);
	assert_int_equal(tapir_tcp_send(k->c, "hello", 5, x->sim.now), 5);
	assert_true(sim_run(&x->sim, x->sim.now + TAPIR_SEC(1), both_up, k));
	assert_int_equal(tapir_stats(x->sim.st[1])->tcp_tfo_data_in, data_in);
}

/* The client's data on a SYN the server does not take arrives all the
 * same, sent again after the handshake (4.2.2); returns the SYN,ACK */
static const struct tseg *fallback(struct fx *x, struct conn *k)
{
	struct sim *sim = &x->sim;
	char buf[16];
	const struct tseg *synseg, *synack;
	tap_clear(sim);
	conn_open(x, k);
	assert_int_equal(k->connect_rc, 1);
	assert_int_equal(tapir_tcp_send(k->c, "hello", 5, sim->now), 5);
	assert_true(sim_run(sim, sim->now + TAPIR_SEC(1), both_up, k));
	sim_advance(sim, TAPIR_MS(50));
	synseg = tap_get(sim, 1, 0);
	synack = tap_get(sim, 0, 0);
	assert_int_equal(synseg->len, 5);
	assert_int_equal(synack->ack, synseg->seq + 1); /* the data not taken */
	assert_int_equal(data_to_b(sim), 2);             /* so it went again */
	assert_int_equal(sim_read(sim, k->s, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(tapir_stats(sim->st[0])->tcp_tfo_fallback, 1);
	return synack;
}

/* 4.1.2: the key rotates; a cookie of the key before is still good (and
 * replaced), two rotations on it is not: the data is ignored, a fresh
 * cookie comes (4.2), and the one after works again */
static void test_key_rotation(void **state)
{
	FX_VARS(state);
	struct conn k;
	const struct tseg *synack;
	char buf[16];
	sim_advance(sim, TAPIR_SEC(5400)); /* 1.5 key periods */
	open_with_hello(x, &k, 1);
	assert_int_equal(tap_get(sim, 0, 0)->tfo, 8); /* a current one instead */
	assert_int_equal(tapir_tcp_recv(k.s, buf, sizeof(buf), sim->now), 5);
	conn_close(&k);
	/* two periods more: the cookie just given is from a key gone */
	sim_advance(sim, TAPIR_SEC(7300));
	synack = fallback(x, &k);
	assert_int_equal(synack->tfo, 8);
	assert_int_equal(tapir_stats(sim->st[1])->tcp_tfo_cookie_bad, 1);
	assert_int_equal(tapir_stats(sim->st[1])->tcp_tfo_data_in, 1);
	conn_close(&k);
	/* the fresh cookie works */
	open_with_hello(x, &k, 2);
	assert_int_equal(data_to_b(sim), 1);
	conn_close(&k);
}

/* 4.2.2: a server that no longer does Fast Open (the listener's option
 * off) answers without taking the data or giving a cookie: the data goes
 * again, and the client forgets the cookie (its next connect asks again) */
static void test_server_off_fallback(void **state)
{
	FX_VARS(state);
	struct conn k;
	assert_int_equal(tapir_tcp_setopt(p->lis, TAPIR_TCP_FASTOPEN, 0), 0);
	assert_int_equal(fallback(x, &k)->tfo, -1);
	assert_int_equal(tapir_stats(sim->st[1])->tcp_tfo_cookie_bad, 0);
	conn_close(&k);
	tap_clear(sim);
	conn_open(x, &k);
	assert_int_equal(k.connect_rc, 0); /* no cookie: a SYN at once */
	sim_advance(sim, TAPIR_MS(6));
	assert_int_equal(tap_get(sim, 1, 0)->tfo, 0);
	assert_true(sim_run(sim, sim->now + TAPIR_SEC(1), both_up, &k));
	conn_close(&k);
}

/* drops the first KNOB SYN,ACKs to A */
static bool drop_synack(void *arg, int to, const uint8_t *f, size_t len)
{
	int *knob = arg;
	if (len < 14 + 20 + 20 || tapir_get16(f + 12) != 0x0800 || f[14 + 9] != 6 || to != 0 ||
	    f[14 + 20 + 13] != (TAPIR_TH_SYN | TAPIR_TH_ACK) || *knob <= 0)
		return false;
	--*knob;
	return true;
}

static const struct fx_opts lost_synack_opts = {.config = fx_options, .link = fx_delay_5ms,
						.lis_setup = lis_tfo, .cli_setup = cli_tfo,
						.drop = drop_synack};

/* The SYN,ACK that acknowledged the SYN's data is lost: the client's SYN
 * goes again without the data, and the SYN,ACK it then gets still
 * acknowledges the data, which is not sent twice nor lost */
static void test_lost_synack(void **state)
{
	FX_VARS(state);
	struct conn k;
	char buf[16];
	tap_clear(sim);
	x->knob = 1;
	conn_open(x, &k);
	assert_int_equal(tapir_tcp_send(k.c, "hello", 5, sim->now), 5);
	assert_true(sim_run(sim, sim->now + TAPIR_SEC(10), both_up, &k));
	assert_true(tap_count(sim, 0, TAPIR_TH_SYN | TAPIR_TH_ACK, TAPIR_TH_SYN | TAPIR_TH_ACK, -1) >= 2);
	assert_int_equal(tap_get(sim, 1, 0)->len, 5);
	assert_int_equal(data_to_b(sim), 1); /* the retransmitted SYN is bare */
	assert_int_equal(tapir_tcp_send(k.c, "again", 5, sim->now), 5);
	sim_advance(sim, TAPIR_MS(50));
	assert_int_equal(sim_read(sim, k.s, buf, sizeof(buf)), 10);
	assert_memory_equal(buf, "helloagain", 10);
	conn_close(&k);
}

/* drops every pure ACK from A to B while the knob is set: half-open
 * connections on B stay so */
static bool drop_acks(void *arg, int to, const uint8_t *f, size_t len)
{
	const uint8_t *th = f + 14 + 20;
	if (len < 14 + 20 + 20 || tapir_get16(f + 12) != 0x0800 || f[14 + 9] != 6)
		return false;
	return *(int *)arg && to == 1 && th[13] == TAPIR_TH_ACK;
}

static void lis_tfo1(struct tapir_tcp *t) { assert_int_equal(tapir_tcp_setopt(t, TAPIR_TCP_FASTOPEN, 1), 0); }
static const struct fx_opts qlen1_opts = {.config = fx_options, .link = fx_delay_5ms,
					  .lis_setup = lis_tfo1, .cli_setup = cli_tfo,
					  .drop = drop_acks};

/* 4.2: at most TCP_FASTOPEN's queue length of connections from cookies
 * are half-open; the next SYN with data has a plain handshake */
static void test_pending_bound(void **state)
{
	FX_VARS(state);
	struct conn a, b;
	char buf[16];
	x->knob = 1;
	conn_open(x, &a);
	assert_int_equal(tapir_tcp_send(a.c, "one", 3, sim->now), 3);
	assert_true(sim_run(sim, sim->now + TAPIR_SEC(1), accepted, &a));
	sim_advance(sim, TAPIR_MS(20));
	assert_int_equal(tapir_tcp_state(a.s), TAPIR_TCP_SYN_RECEIVED);
	conn_open(x, &b);
	assert_int_equal(tapir_tcp_send(b.c, "two", 3, sim->now), 3);
	sim_advance(sim, TAPIR_MS(20));
	assert_int_equal(tapir_stats(sim->st[1])->tcp_tfo_qlen_full, 1);
	assert_int_equal(tapir_stats(sim->st[1])->tcp_tfo_data_in, 1);
	/* (its data went again after the SYN,ACK, which made it ESTABLISHED) */
	assert_int_equal(tapir_stats(sim->st[0])->tcp_tfo_fallback, 1);
	x->knob = 0;
	assert_true(sim_run(sim, sim->now + TAPIR_SEC(5), both_up, &a));
	assert_true(sim_run(sim, sim->now + TAPIR_SEC(5), both_up, &b));
	sim_advance(sim, TAPIR_MS(50));
	assert_int_equal(sim_read(sim, b.s, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "two", 3);
	conn_close(&a);
	conn_close(&b);
}

/* ---- TCP_NOTSENT_LOWAT ---- */

/* writable only while fewer than the mark are unsent; what may be
 * written is what keeps them below it */
static void test_notsent_lowat(void **state)
{
	FX_VARS(state);
	static char big[1000];
	int v;
	assert_int_equal(tapir_tcp_setopt(p->cli, TAPIR_TCP_NOTSENT_LOWAT, 16), 0);
	assert_int_equal(tapir_tcp_writable(p->cli), 16);
	/* in flight, then Nagle (RFC 1122 4.2.3.4) holds what follows */
	assert_int_equal(tapir_tcp_setopt(p->cli, TAPIR_TCP_NOTSENT_LOWAT, 0), 0);
	assert_int_equal(tapir_tcp_send(p->cli, big, sizeof(big), sim->now), (long)sizeof(big));
	assert_int_equal(tapir_tcp_setopt(p->cli, TAPIR_TCP_NOTSENT_LOWAT, 16), 0);
	assert_int_equal(tapir_tcp_send(p->cli, big, 10, sim->now), 10);
	assert_int_equal(tapir_tcp_writable(p->cli), 6);
	assert_true(tapir_tcp_events(p->cli) & TAPIR_EV_WRITE);
	assert_int_equal(tapir_tcp_send(p->cli, big, 10, sim->now), 6);
	assert_int_equal(tapir_tcp_writable(p->cli), 0);
	assert_false(tapir_tcp_events(p->cli) & TAPIR_EV_WRITE);
	assert_int_equal(tapir_tcp_send(p->cli, big, 10, sim->now), -EAGAIN);
	/* the ACK lets the held bytes go: writable again */
	sim_advance(sim, TAPIR_MS(100));
	assert_int_equal(tapir_tcp_writable(p->cli), 16);
	assert_true(tapir_tcp_events(p->cli) & TAPIR_EV_WRITE);
	assert_true(p->cli_ev & TAPIR_EV_WRITE);
	assert_int_equal(sim_read(sim, p->srv, big, sizeof(big)), (long)sizeof(big));
	/* 0xffffffff: no limit, and read back as set (as Linux's) */
	assert_int_equal(tapir_tcp_setopt(p->cli, TAPIR_TCP_NOTSENT_LOWAT, -1), 0);
	assert_int_equal(tapir_tcp_getopt(p->cli, TAPIR_TCP_NOTSENT_LOWAT, &v), 0);
	assert_int_equal(v, -1);
	assert_true(tapir_tcp_writable(p->cli) > 16);
}

/* ---- FreeBSD's TCP_NOOPT and TCP_KEEPINIT (tcp(4)) ---- */

static void freebsd(struct tapir_config *c) { tapir_config_profile(c, TAPIR_PROFILE_FREEBSD); }
static const struct fx_opts freebsd_opts = {.config = freebsd};

static void test_bsd_opts_elsewhere(void **state)
{
	FX_VARS(state);
	int v;
	/* not under rfc (nor linux): ENOPROTOOPT, as Linux, which has neither */
	assert_int_equal(tapir_tcp_setopt(p->cli, TAPIR_TCP_NOOPT, 1), -ENOPROTOOPT);
	assert_int_equal(tapir_tcp_setopt(p->cli, TAPIR_TCP_KEEPINIT, 5), -ENOPROTOOPT);
	assert_int_equal(tapir_tcp_getopt(p->cli, TAPIR_TCP_KEEPINIT, &v), -ENOPROTOOPT);
}

static void test_noopt(void **state)
{
	FX_VARS(state);
	struct conn k = {.sim = sim, .lis = p->lis};
	int v;
	tap_clear(sim);
	k.c = tapir_tcp_new(sim->st[0]);
	assert_int_equal(tapir_tcp_getopt(k.c, TAPIR_TCP_KEEPINIT, &v), 0);
	assert_int_equal(v, 75); /* net.inet.tcp.keepinit */
	assert_int_equal(tapir_tcp_setopt(k.c, TAPIR_TCP_NOOPT, 1), 0);
	assert_int_equal(tapir_tcp_connect(k.c, SIM_B, 80, sim->now), 0);
	assert_true(sim_run(sim, sim->now + TAPIR_SEC(1), both_up, &k));
	/* a SYN without options; the SYN,ACK offers its own, but nothing is
	 * agreed: no timestamps on what follows */
	assert_int_equal(tap_get(sim, 1, 0)->optlen, 0);
	assert_true(tap_get(sim, 0, 0)->optlen > 0);
	assert_int_equal(tap_get(sim, 1, 1)->optlen, 0);
	{
		struct tapir_tcp_info i;
		tapir_tcp_get_info(k.c, &i);
		assert_false(i.ts_ok || i.sack_ok || i.wscale_ok);
		assert_int_equal(i.mss, 1460);
	}
	conn_close(&k);
}

static bool drop_all(void *arg, int to, const uint8_t *f, size_t len)
{
	(void)arg, (void)to, (void)f, (void)len;
	return true;
}

/* the connect's limit is TCP_KEEPINIT's seconds, whatever the SYN
 * retransmissions' schedule */
static void test_keepinit(void **state)
{
	FX_VARS(state);
	struct tapir_tcp *c = tapir_tcp_new(sim->st[0]);
	tapir_time_t t0 = sim->now;
	sim->drop = drop_all;
	assert_int_equal(tapir_tcp_setopt(c, TAPIR_TCP_KEEPINIT, 5), 0);
	assert_int_equal(tapir_tcp_connect(c, SIM_B, 80, sim->now), 0);
	sim_advance(sim, TAPIR_SEC(5) - 1);
	assert_int_equal(tapir_tcp_state(c), TAPIR_TCP_SYN_SENT);
	sim_advance(sim, 1);
	assert_int_equal(tapir_tcp_state(c), TAPIR_TCP_CLOSED);
	assert_int_equal(tapir_tcp_error(c), ETIMEDOUT);
	assert_int_equal(sim->now - t0, TAPIR_SEC(5));
	tapir_tcp_close(c, sim->now);
	sim->drop = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_cookie_exchange, &tfo_opts),
		FX_TEST(test_data_in_syn, &tfo_opts),
		FX_TEST(test_syn_data_bound, &tfo_opts),
		FX_TEST(test_key_rotation, &tfo_opts),
		FX_TEST(test_server_off_fallback, &tfo_opts),
		FX_TEST(test_pending_bound, &qlen1_opts),
		FX_TEST(test_lost_synack, &lost_synack_opts),
		FX_TEST(test_notsent_lowat, &fx_with_options),
		FX_TEST(test_bsd_opts_elsewhere, &fx_with_options),
		FX_TEST(test_noopt, &freebsd_opts),
		FX_TEST(test_keepinit, &freebsd_opts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
