/* The cost of tapir_stack_poll against the number of idle TCBs: one stack
 * opens N/2 connections to its own address (both ends live in it: N
 * TCBs), lets them settle, then times polls that find nothing to do.
 * With -k the connections keep keepalive on (a 2 h timer each).
 *   timers [-k] N...      e.g. timers 100 10000 100000
 * Prints one line per N: TCBs, polls per round, ns per poll (the best of
 * five rounds). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tapir/link.h>
#include <tapir/stack.h>
#include <tapir/tcp.h>

#define ADDR 0x0a000001u /* 10.0.0.1, the stack's own */
#define PORT 80

static tapir_time_t now = 1000000;

static void count_established(void *arg, const struct tapir_tcp *t)
{
	if (tapir_tcp_state(t) == TAPIR_TCP_ESTABLISHED)
		++*(unsigned *)arg;
}

static double mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Polls until nothing is due before UNTIL, moving the clock to each
 * deadline (a simulated clock: no sleeping). */
static void settle(struct tapir_stack *s, tapir_time_t until)
{
	for (;;) {
		tapir_time_t next = tapir_stack_poll(s, now);
		if (next > until)
			break;
		if (next > now)
			now = next;
	}
	now = until;
}

static int run(unsigned ntcb, int keepalive)
{
	struct tapir_config cfg;
	struct tapir_memlink_params mp;
	struct tapir_memlink *ml;
	struct tapir_stack *s;
	struct tapir_tcp *l;
	static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
	unsigned nconn = ntcb / 2, open = 0, est = 0;
	unsigned polls = ntcb > 20000 ? 2000 : 20000; /* the old scan is slow */
	double best = 0;
	int err;

	tapir_config_default(&cfg);
	cfg.tcp_sockets = ntcb + 16;
	cfg.tcp_sndbuf = cfg.tcp_rcvbuf = 4096;
	cfg.tcp_mem_max = (size_t)ntcb * 8192 + (1u << 20);
	s = tapir_stack_new(&cfg);
	tapir_memlink_params_default(&mp);
	ml = tapir_memlink_new(&mp);
	if (!s || !ml)
		return -1;
	tapir_iface_add(s, tapir_memlink_end(ml, 0), mac, 1500);
	tapir_iface_set_ipv4(s, 0, ADDR, 24, now);
	l = tapir_tcp_new(s);
	if (tapir_tcp_bind(l, ADDR, PORT) || tapir_tcp_listen(l, 128))
		return -1;
	/* batches that fit the loopback queue; accept as they complete */
	while (open < nconn) {
		for (unsigned i = 0; i < 64 && open < nconn; i++, open++) {
			struct tapir_tcp *c = tapir_tcp_new(s);
			if (!c || tapir_tcp_bind(c, ADDR, (uint16_t)(1024 + open)) ||
			    (keepalive && tapir_tcp_setopt(c, TAPIR_TCP_KEEPALIVE, 1)) ||
			    tapir_tcp_connect(c, ADDR, PORT, now))
				return -1;
		}
		for (int k = 0; k < 8; k++) {
			struct tapir_tcp *a;
			tapir_stack_poll(s, now);
			while ((a = tapir_tcp_accept(l, &err)))
				if (keepalive)
					tapir_tcp_setopt(a, TAPIR_TCP_KEEPALIVE, 1);
		}
		now += 10;
	}
	settle(s, now + TAPIR_SEC(1)); /* delayed ACKs and the rest */
	for (unsigned i = 0; i < 1000; i++) /* warm */
		tapir_stack_poll(s, now + i);
	now += 1000;
	/* the best of five rounds: the machine is shared */
	for (int r = 0; r < 5; r++, now += polls) {
		double t0 = mono_ns(), t1;
		for (unsigned i = 0; i < polls; i++)
			tapir_stack_poll(s, now + i);
		t1 = mono_ns();
		if (r == 0 || (t1 - t0) / polls < best)
			best = (t1 - t0) / polls;
	}
	tapir_tcp_foreach(s, count_established, &est);
	printf("%s%7u TCBs (%u established)  %u polls  %10.1f ns/poll\n",
	       keepalive ? "keepalive " : "", ntcb, est, polls, best);
	tapir_stack_free(s);
	tapir_memlink_free(ml);
	return 0;
}

int main(int argc, char **argv)
{
	int keepalive = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-k")) {
			keepalive = 1;
			continue;
		}
		if (run((unsigned)strtoul(argv[i], NULL, 10), keepalive)) {
			fprintf(stderr, "timers: could not open %s TCBs\n", argv[i]);
			return 1;
		}
	}
	return 0;
}
