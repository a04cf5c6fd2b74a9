/* The TAP driver's io_uring path (link/tap_uring.c) on a real TAP device,
 * in a network namespace of the test's own (unshare: it goes with the
 * process), with an AF_PACKET socket as the kernel's side:
 *   - frames sent in a batch, more than the ring's slots and some too
 *     large for a slot, all reach the kernel, in order;
 *   - frames the kernel sends, more than the ring's receive buffers (the
 *     multishot read ends and is armed again), all come out, in order,
 *     copied out or read in place (tapir_tap_recv_ref);
 *   - TAPIR_NO_URING=1 turns it off and the driver reads and writes itself;
 *   - tapir_tap_wait sends what the turn queued and wakes for frames the
 *     kernel sends, on both paths.
 * Skipped without root (namespaces, TAP) or without io_uring. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <tapir/link.h>

#include "cmt.h"

#define ETYPE 0x88b5 /* IEEE 802 local experimental: nothing else sends it */
#define NTX 100      /* > the ring's 32 send slots */
#define NRX 100      /* > the ring's 32 receive buffers */

struct bench {
	struct tapir_tap *tap;
	int pkt, ifindex;
};

/* A namespace, a TAP (MTU 9000: the 2 KiB frames) and a packet socket on
 * it; skips the test where any of it is not allowed. */
static void bench_up(struct bench *b, bool uring)
{
	char err[256];
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETYPE)};
	if (unshare(CLONE_NEWNET) < 0)
		skip();
	b->tap = tapir_tap_open("tu0", err, sizeof(err));
	if (!b->tap)
		skip();
	assert_int_equal(tapir_tap_set_mtu(b->tap, 9000, err, sizeof(err)), 0);
	if (uring && tapir_tap_set_uring(b->tap, true) < 0) {
		tapir_tap_close(b->tap);
		skip(); /* no io_uring here: the plain path is the other tests' */
	}
	b->ifindex = (int)if_nametoindex("tu0");
	assert_true(b->ifindex > 0);
	b->pkt = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETYPE));
	assert_true(b->pkt >= 0);
	sll.sll_ifindex = b->ifindex;
	assert_int_equal(bind(b->pkt, (struct sockaddr *)&sll, sizeof(sll)), 0);
}

static void bench_down(struct bench *b)
{
	close(b->pkt);
	tapir_tap_close(b->tap);
}

/* Frame SEQ of LEN bytes: broadcast, ETYPE, the sequence number. */
static size_t frame(uint8_t *f, uint32_t seq, size_t len)
{
	memset(f, 0, len);
	memset(f, 0xff, 6);
	f[6] = 0x02, f[11] = 0x01;
	f[12] = ETYPE >> 8, f[13] = ETYPE & 0xff;
	f[14] = (uint8_t)(seq >> 24), f[15] = (uint8_t)(seq >> 16);
	f[16] = (uint8_t)(seq >> 8), f[17] = (uint8_t)seq;
	return len;
}

static long seq_of(const uint8_t *f, long n)
{
	if (n < 18 || f[12] != (ETYPE >> 8) || f[13] != (ETYPE & 0xff))
		return -1;
	return (long)((uint32_t)f[14] << 24 | (uint32_t)f[15] << 16 | (uint32_t)f[16] << 8 | f[17]);
}

/* every 7th frame 1400 bytes, every 25th 2100 (larger than a slot: its own
 * write, after what is queued) */
static size_t len_of(uint32_t i) { return i % 25 == 0 ? 2100 : i % 7 == 0 ? 1400 : 60; }

static void uring_tx_order(void **state)
{
	struct bench b;
	static uint8_t f[4096];
	struct tapir_link *l;
	uint32_t want = 0;
	(void)state;
	bench_up(&b, true);
	l = tapir_tap_link(b.tap);
	tapir_tap_batch(b.tap, true);
	for (uint32_t i = 0; i < NTX; i++)
		assert_int_equal(l->send(l, f, frame(f, i, len_of(i))), 0);
	(void)tapir_tap_batch(b.tap, false);
	/* the kernel's side takes them in the order sent */
	while (want < NTX) {
		struct pollfd p = {.fd = b.pkt, .events = POLLIN};
		long n, s;
		assert_int_equal(poll(&p, 1, 5000), 1);
		n = recv(b.pkt, f, sizeof(f), 0);
		s = seq_of(f, n);
		if (s < 0)
			continue;
		assert_int_equal(s, want);
		assert_int_equal(n, (long)len_of(want));
		want++;
	}
	bench_down(&b);
}

/* The next frame: copied into BUF, or (REF) where the driver holds it */
static long rx_one(struct bench *b, bool ref, uint8_t *buf, uint8_t **f)
{
	unsigned flags;
	*f = buf;
	return ref ? tapir_tap_recv_ref(b->tap, f, &flags) : tapir_tap_recv(b->tap, buf, 65536 + 64);
}

/* Reads what the TAP holds for up to 5 s, as the stack thread does it:
 * turns of reads, each ended by a flush that may re-arm the read; with
 * REF, each frame read in place (tapir_tap_recv_ref) */
static void rx_collect(struct bench *b, bool ref)
{
	static uint8_t buf[65536 + 64];
	uint8_t *f;
	struct timespec t0, t;
	uint32_t want = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (want < NRX) {
		bool pending;
		long n;
		tapir_tap_batch(b->tap, true);
		while ((n = rx_one(b, ref, buf, &f)) > 0) {
			long s = seq_of(f, n);
			if (s < 0)
				continue;
			assert_int_equal(s, want);
			assert_int_equal(n, (long)(want % 7 == 0 ? 1400 : 60));
			want++;
		}
		assert_true(n == 0);
		pending = tapir_tap_batch(b->tap, false);
		if (!pending) {
			struct pollfd p = {.fd = tapir_tap_fd(b->tap), .events = POLLIN};
			(void)poll(&p, 1, 100);
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		assert_true(t.tv_sec - t0.tv_sec < 5);
	}
}

static void rx_send_all(struct bench *b)
{
	static uint8_t f[2048];
	struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_protocol = htons(ETYPE),
				 .sll_ifindex = b->ifindex, .sll_halen = 6};
	memset(to.sll_addr, 0xff, 6);
	for (uint32_t i = 0; i < NRX; i++) {
		size_t len = frame(f, i, i % 7 == 0 ? 1400 : 60);
		assert_int_equal(sendto(b->pkt, f, len, 0, (struct sockaddr *)&to, sizeof(to)),
				 (long)len);
	}
}

/* ROUNDS times: the kernel sends NRX frames, the ring takes them all, in
 * order, copied out or (REF) read in place from its buffers, each buffer
 * given back (more frames than buffers) */
static void rx_rounds(bool ref, int rounds)
{
	struct bench b;
	bench_up(&b, true);
	for (int i = 0; i < rounds; i++) {
		rx_send_all(&b);
		rx_collect(&b, ref);
	}
	bench_down(&b);
}

static void uring_rx_order(void **state)
{
	(void)state;
	rx_rounds(false, 1);
}

static void uring_rx_ref(void **state)
{
	(void)state;
	rx_rounds(true, 2);
}

static void uring_off_env(void **state)
{
	struct bench b;
	int fd;
	(void)state;
	bench_up(&b, false);
	fd = tapir_tap_fd(b.tap);
	setenv("TAPIR_NO_URING", "1", 1);
	assert_int_equal(tapir_tap_set_uring(b.tap, true), -1);
	unsetenv("TAPIR_NO_URING");
	assert_int_equal(tapir_tap_fd(b.tap), fd); /* the TAP's own: read as before */
	assert_false(tapir_tap_batch(b.tap, true));
	rx_send_all(&b);
	rx_collect(&b, false);
	rx_send_all(&b); /* in place without the ring: the driver's buffer */
	rx_collect(&b, true);
	bench_down(&b);
}

/* A turn's queued frames go out with the wait that ends it, and frames
 * the kernel sends end the wait (the 5 s timeout is only a bound). */
static void wait_roundtrip(bool uring)
{
	struct bench b;
	static uint8_t f[4096];
	struct tapir_link *l;
	uint32_t want = 0;
	bench_up(&b, uring);
	l = tapir_tap_link(b.tap);
	tapir_tap_batch(b.tap, true);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(l->send(l, f, frame(f, i, len_of(i))), 0);
	(void)tapir_tap_wait(b.tap, 1000); /* none may come: it returns all the same */
	while (want < 3) {
		struct pollfd p = {.fd = b.pkt, .events = POLLIN};
		long n, s;
		assert_int_equal(poll(&p, 1, 5000), 1);
		n = recv(b.pkt, f, sizeof(f), 0);
		if ((s = seq_of(f, n)) < 0)
			continue;
		assert_int_equal(s, want);
		want++;
	}
	rx_send_all(&b);
	assert_true(tapir_tap_wait(b.tap, 5000000));
	rx_collect(&b, false);
	bench_down(&b);
}

static void uring_wait(void **state)
{
	(void)state;
	wait_roundtrip(true);
}

static void plain_wait(void **state)
{
	(void)state;
	wait_roundtrip(false);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return CMT_RUN(NULL, NULL, uring_tx_order, uring_rx_order, uring_rx_ref, uring_off_env,
			uring_wait, plain_wait);
}
