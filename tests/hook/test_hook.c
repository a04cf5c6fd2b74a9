/* Hooks and personalities with tapir on both ends: two nets joined by the
 * in-memory link, run in real time by the socket layer's stack thread.
 *
 *   registry                         names, arguments, comma lists
 *   dth_reported_connection_lives    RFC 9401 3.1: a received DTH is
 *                                    reported (tcp_dth_rx, the socket's
 *                                    rx reserved bits) and the connection
 *                                    goes on to FIN; 3.3: never on a SYN
 *   dth_every_second                 dth=every=2 marks connections 2 and 4
 *   challenge_ack_only_tapir_client  tapir's own client against the stall:
 *                                    a RST per wrong ACK (RFC 9293
 *                                    3.10.7.3), ETIMEDOUT, never connected
 *   rst_after_both_ends              the peer sees ECONNRESET, tapir's own
 *                                    socket ECONNABORTED
 *   netem_transfer_exact             1 MB through loss, reorder, dup and
 *                                    delay arrives byte-exact
 *
 * No assertion depends on how long something took. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <tapir/hook.h>
#include <tapir/wire.h>

#include "personality.h"

#include "netpair.h"

/* On the pair, NP_A (10.0.0.1) is the server, with the personality; NP_B
 * the client. */

struct pair_setup {
	const char *pers;
	void (*setup)(struct net_pair *, void *);
	void *arg;
};

/* before the stack threads start: the personality on A, then the caller's
 * hooks */
static void install(struct net_pair *np, void *arg)
{
	struct pair_setup *ps = arg;
	char err[256] = "";
	if (ps->pers) {
		char *specs[1] = {(char *)ps->pers};
		if (personalities_install(tapir_net_stack(np->a), specs, 1, err, sizeof(err)) < 0)
			fail_msg("install %s: %s", ps->pers, err);
	}
	if (ps->setup)
		ps->setup(np, ps->arg);
}

/* The pair, with PERS installed on A (and HOOKS set up by the caller
 * through SETUP) before the stack thread starts. */
static void pair_up(struct net_pair *p, const char *pers, void (*setup)(struct net_pair *, void *),
		    void *arg)
{
	struct pair_setup ps = {pers, setup, arg};
	struct tapir_config c;
	tapir_config_default(&c);
	c.seed = 11;
	c.tcp_rto_initial_us = TAPIR_MS(200);
	c.tcp_syn_retries = 2;
	net_pair_up(p, &c, install, &ps);
}

static void pair_down(struct net_pair *p)
{
	struct tapir_stack *sa = tapir_net_stack(p->a); /* for personalities_release */
	net_pair_down(p);
	personalities_release(sa);
}

static int listener(struct tapir_net *net, uint16_t port)
{
	int fd = tapir_socket(net, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in s = net_sin(0, port);
	assert_true(fd >= 0);
	assert_int_equal(tapir_bind(net, fd, SA(s), sizeof(s)), 0);
	assert_int_equal(tapir_listen(net, fd, 16), 0);
	return fd;
}

/* ---- a server on A: each connection gets LEN pattern bytes, then FIN ---- */

struct server {
	struct tapir_net *net;
	int lfd, conns;
	size_t len;
	pthread_t th;
	int last_err; /* errno of a failed send (rst-after) */
};

static uint8_t pattern(size_t i) { return (uint8_t)(i * 7 + (i >> 9)); }

static void *server_main(void *arg)
{
	struct server *sv = arg;
	static uint8_t buf[65536];
	for (int k = 0; k < sv->conns; k++) {
		int fd = tapir_accept(sv->net, sv->lfd, NULL, NULL);
		size_t off = 0;
		if (fd < 0)
			return NULL;
		while (off < sv->len) {
			size_t n = sv->len - off < sizeof(buf) ? sv->len - off : sizeof(buf);
			ssize_t w;
			for (size_t i = 0; i < n; i++)
				buf[i] = pattern(off + i);
			w = tapir_send(sv->net, fd, buf, n, 0);
			if (w < 0) {
				sv->last_err = errno;
				break;
			}
			off += (size_t)w;
		}
		tapir_close(sv->net, fd);
	}
	return NULL;
}

static void server_start(struct server *sv, struct tapir_net *net, uint16_t port, int conns,
			 size_t len)
{
	memset(sv, 0, sizeof(*sv));
	sv->net = net;
	sv->lfd = listener(net, port);
	sv->conns = conns;
	sv->len = len;
	assert_int_equal(pthread_create(&sv->th, NULL, server_main, sv), 0);
}

/* Connects from B, reads to the end; returns the bytes read (checked
 * against the pattern), with *PORT the local port. */
static size_t fetch(struct tapir_net *b, uint16_t port, uint16_t *lport, int fd_keep[1])
{
	int fd = tapir_socket(b, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in s = net_sin(NP_A, port), me;
	socklen_t ml = sizeof(me);
	static uint8_t buf[65536];
	size_t total = 0;
	ssize_t n;
	assert_true(fd >= 0);
	assert_int_equal(tapir_connect(b, fd, SA(s), sizeof(s)), 0);
	assert_int_equal(tapir_getsockname(b, fd, SA(me), &ml), 0);
	*lport = ntohs(me.sin_port);
	while ((n = tapir_recv(b, fd, buf, sizeof(buf), 0)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pattern(total + (size_t)i))
				fail_msg("byte %zu differs", total + (size_t)i);
		total += (size_t)n;
	}
	assert_int_equal(n, 0); /* the FIN, not an error */
	if (fd_keep)
		fd_keep[0] = fd;
	else
		tapir_close(b, fd);
	return total;
}

/* ---- B's view of the wire ---- */

struct wire {
	unsigned dth_segs, dth_syns, rsts_sent, synacks_seen;
	uint16_t ports[8];
	unsigned dth_on[8];
};

static enum tapir_verdict b_rx(void *arg, struct tapir_hook_pkt *p)
{
	struct wire *w = arg;
	uint8_t res = p->data[12] & 0x0f, flags = p->data[13];
	uint16_t dport = tapir_get16(p->data + 2);
	if ((flags & (TAPIR_TH_SYN | TAPIR_TH_ACK)) == (TAPIR_TH_SYN | TAPIR_TH_ACK))
		w->synacks_seen++;
	if (!(res & TAPIR_TH_RES_DTH))
		return TAPIR_PASS;
	w->dth_segs++;
	if (flags & TAPIR_TH_SYN)
		w->dth_syns++;
	for (int i = 0; i < 8; i++)
		if (w->ports[i] == dport)
			w->dth_on[i]++;
	return TAPIR_PASS;
}

static enum tapir_verdict b_tx(void *arg, struct tapir_hook_pkt *p)
{
	struct wire *w = arg;
	if (p->data[13] & TAPIR_TH_RST)
		w->rsts_sent++;
	return TAPIR_PASS;
}

static void watch_b(struct net_pair *p, void *arg)
{
	assert_int_equal(tapir_hook_add(tapir_net_stack(p->b), TAPIR_HOOK_TCP_RX, b_rx, arg), 0);
	assert_int_equal(tapir_hook_add(tapir_net_stack(p->b), TAPIR_HOOK_TCP_TX, b_tx, arg), 0);
}

static uint64_t counter(struct tapir_net *net, const char *name)
{
	const struct tapir_stats *st;
	uint64_t v = 0;
	tapir_net_lock(net);
	st = tapir_stats(tapir_net_stack(net));
	if (!strcmp(name, "tcp_dth_rx"))
		v = st->tcp_dth_rx;
	else if (!strcmp(name, "hook_injected"))
		v = st->hook_injected;
	else if (!strcmp(name, "tx_hook_dropped"))
		v = st->tx_hook_dropped;
	tapir_net_unlock(net);
	return v;
}

/* ---- the tests ---- */

static void registry(void **state)
{
	struct tapir_config c;
	struct tapir_stack *s;
	char err[256];
	char *good[] = {"loss=0.05,seed=3,delay=5±2", "dth=every=3", "ttl=9"};
	char *bad_name[] = {"nosuch"}, *bad_arg[] = {"loss=1.5"}, *bad_dth[] = {"dth=sometimes"},
	     *no_arg[] = {"blackhole=1"}, *need_arg[] = {"rst-after"};
	(void)state;
	tapir_config_default(&c);
	s = tapir_stack_new(&c);
	assert_non_null(s);
	err[0] = 0;
	assert_int_equal(personalities_install(s, good, 3, err, sizeof(err)), 0);
	assert_int_equal(personalities_install(s, bad_name, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown personality 'nosuch'"));
	assert_int_equal(personalities_install(s, bad_arg, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--personality loss=1.5: P: '1.5'"));
	assert_int_equal(personalities_install(s, bad_dth, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "sometimes"));
	assert_int_equal(personalities_install(s, no_arg, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "takes no argument"));
	assert_int_equal(personalities_install(s, need_arg, 1, err, sizeof(err)), -1);
	tapir_stack_free(s);
	personalities_release(s);
}

/* B's connection from local port LPORT to port 80: state, rx reserved bits */
struct find_rx {
	uint16_t lport;
	uint8_t res;
	int state;
};

static void find_rx(void *arg, const struct tapir_tcp *t)
{
	struct find_rx *f = arg;
	struct tapir_tcp_info i;
	tapir_tcp_get_info(t, &i);
	if (i.lport == f->lport && i.rport == 80) {
		f->res = tapir_tcp_rx_reserved(t);
		f->state = (int)i.state;
	}
}

static void dth_reported_connection_lives(void **state)
{
	struct net_pair p;
	struct server sv;
	struct wire *w = calloc(1, sizeof(*w));
	uint16_t lport;
	int fd;
	(void)state;
	pair_up(&p, "dth", watch_b, w);
	server_start(&sv, p.a, 80, 1, 200000);
	/* the whole stream, then end of stream: the DTHs closed nothing */
	assert_int_equal(fetch(p.b, 80, &lport, &fd), 200000);
	pthread_join(sv.th, NULL);
	assert_true(w->dth_segs > 0);
	assert_int_equal(w->dth_syns, 0); /* RFC 9401 3.3 */
	assert_int_equal(counter(p.b, "tcp_dth_rx"), w->dth_segs);
	/* the socket itself reports it (hook.h: tapir_tcp_rx_reserved) */
	{
		struct find_rx f = {lport, 0, -1};
		tapir_net_lock(p.b);
		tapir_tcp_foreach(tapir_net_stack(p.b), find_rx, &f);
		tapir_net_unlock(p.b);
		assert_int_equal(f.state, TAPIR_TCP_CLOSE_WAIT); /* FIN in, alive */
		assert_true(f.res & TAPIR_TH_RES_DTH);
	}
	/* ... and so does the socket layer: an option, and POLLPRI */
	{
		int bits = 0;
		socklen_t blen = sizeof(bits);
		struct pollfd pfd = {.fd = fd, .events = POLLPRI};
		assert_int_equal(tapir_getsockopt(p.b, fd, IPPROTO_TCP, TAPIR_TCP_RESERVED_RX, &bits,
						  &blen), 0);
		assert_true(bits & TAPIR_TH_RES_DTH);
		assert_int_equal(tapir_poll(p.b, &pfd, 1, 0), 1);
		assert_true(pfd.revents & POLLPRI);
	}
	tapir_close(p.b, fd);
	tapir_close(p.a, sv.lfd);
	pair_down(&p);
	free(w);
}

static void dth_every_second(void **state)
{
	struct net_pair p;
	struct server sv;
	struct wire *w = calloc(1, sizeof(*w));
	(void)state;
	pair_up(&p, "dth=every=2", watch_b, w);
	server_start(&sv, p.a, 80, 4, 20000);
	for (int k = 0; k < 4; k++) {
		int fd = tapir_socket(p.b, AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in me = net_sin(NP_B, (uint16_t)(40001 + k));
		assert_int_equal(tapir_bind(p.b, fd, SA(me), sizeof(me)), 0);
		w->ports[k] = (uint16_t)(40001 + k); /* before the first segment */
		{
			struct sockaddr_in s = net_sin(NP_A, 80);
			static uint8_t buf[65536];
			size_t total = 0;
			ssize_t n;
			assert_int_equal(tapir_connect(p.b, fd, SA(s), sizeof(s)), 0);
			while ((n = tapir_recv(p.b, fd, buf, sizeof(buf), 0)) > 0)
				total += (size_t)n;
			assert_int_equal(n, 0);
			assert_int_equal(total, 20000);
		}
		tapir_close(p.b, fd);
	}
	pthread_join(sv.th, NULL);
	assert_int_equal(w->dth_on[0], 0);
	assert_true(w->dth_on[1] > 0);
	assert_int_equal(w->dth_on[2], 0);
	assert_true(w->dth_on[3] > 0);
	tapir_close(p.a, sv.lfd);
	pair_down(&p);
	free(w);
}

static enum tapir_verdict a_tx(void *arg, struct tapir_hook_pkt *p)
{
	unsigned *synacks = arg;
	if ((p->data[13] & (TAPIR_TH_SYN | TAPIR_TH_ACK)) == (TAPIR_TH_SYN | TAPIR_TH_ACK))
		(*synacks)++;
	return TAPIR_PASS;
}

static void watch_both(struct net_pair *p, void *arg)
{
	struct wire *w = arg;
	watch_b(p, w);
	assert_int_equal(tapir_hook_add(tapir_net_stack(p->a), TAPIR_HOOK_TCP_TX, a_tx,
					&w->synacks_seen), 0);
}

static void challenge_ack_only_tapir_client(void **state)
{
	struct net_pair p;
	struct wire *w = calloc(1, sizeof(*w));
	int lfd, fd;
	struct sockaddr_in s = net_sin(NP_A, 80);
	(void)state;
	pair_up(&p, "challenge-ack-only", watch_both, w);
	lfd = listener(p.a, 80);
	fd = tapir_socket(p.b, AF_INET, SOCK_STREAM, 0);
	/* tcp_syn_retries 2: the SYN, two retransmissions, then ETIMEDOUT */
	assert_int_equal(tapir_connect(p.b, fd, SA(s), sizeof(s)), -1);
	assert_int_equal(errno, ETIMEDOUT);
	/* each wrong ACK answered by a RST (RFC 9293 3.10.7.3), at least one per SYN */
	assert_true(w->rsts_sent >= 3);
	assert_int_equal(w->synacks_seen, 0);
	tapir_close(p.b, fd);
	tapir_close(p.a, lfd);
	pair_down(&p);
	free(w);
}

static void rst_after_both_ends(void **state)
{
	struct net_pair p;
	struct server sv;
	static uint8_t buf[65536];
	int fd, e;
	ssize_t n;
	size_t total = 0;
	struct sockaddr_in s = net_sin(NP_A, 80), me;
	socklen_t ml = sizeof(me);
	(void)state;
	pair_up(&p, "rst-after=30000", NULL, NULL);
	server_start(&sv, p.a, 80, 1, 1000000);
	fd = tapir_socket(p.b, AF_INET, SOCK_STREAM, 0);
	/* The server may send its 30000 bytes and the RST before this thread
	 * wakes in connect(); then connect() itself reports the reset, as
	 * Linux's does when the socket is closed by the time it looks. */
	if (tapir_connect(p.b, fd, SA(s), sizeof(s)) == 0) {
		assert_int_equal(tapir_getsockname(p.b, fd, SA(me), &ml), 0);
		while ((n = tapir_recv(p.b, fd, buf, sizeof(buf), 0)) > 0)
			total += (size_t)n;
		assert_int_equal(n, -1);
	}
	e = errno;
	assert_int_equal(e, ECONNRESET);
	assert_true(total < 30000);
	pthread_join(sv.th, NULL);
	assert_int_equal(sv.last_err, ECONNABORTED); /* tapir's own end, ended by the timer */
	tapir_close(p.b, fd);
	tapir_close(p.a, sv.lfd);
	pair_down(&p);
}

static void netem_transfer_exact(void **state)
{
	struct net_pair p;
	struct server sv;
	uint16_t lport;
	(void)state;
	pair_up(&p, "loss=0.05,seed=3,reorder=0.05,dup=0.02,delay=2+-1", NULL, NULL);
	server_start(&sv, p.a, 80, 1, 1 << 20);
	assert_int_equal(fetch(p.b, 80, &lport, NULL), 1 << 20);
	pthread_join(sv.th, NULL);
	assert_true(counter(p.a, "hook_injected") > 0);
	assert_true(counter(p.a, "tx_hook_dropped") > 0);
	tapir_close(p.a, sv.lfd);
	pair_down(&p);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(registry),
		cmocka_unit_test(dth_reported_connection_lives),
		cmocka_unit_test(dth_every_second),
		cmocka_unit_test(challenge_ack_only_tapir_client),
		cmocka_unit_test(rst_after_both_ends),
		cmocka_unit_test(netem_transfer_exact),
	};
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
