/* A link that dies under the stack thread: a driver whose descriptor stays
 * readable for ever and whose reads fail (a deleted TAP reads EBADFD at
 * once, every time).  The thread must take the first fatal error, stop
 * reading (it used to spin on the descriptor, holding the net's lock), and
 * tell it by tapir_net_link_error; passing errors (ENOBUFS) are retried. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <tapir/link.h>
#include <tapir/socket.h>

#include "cmt.h"

static atomic_int reads;

/* three passing errors, then the device is gone */
static long dead_recv(void *ctx, uint8_t *buf, size_t cap)
{
	(void)ctx, (void)buf, (void)cap;
	return atomic_fetch_add(&reads, 1) < 3 ? -ENOBUFS : -EBADFD;
}

static int dead_send(struct tapir_link *l, const uint8_t *f, size_t n)
{
	(void)l, (void)f, (void)n;
	return -EBADFD;
}

static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void link_dead(void **state)
{
	static struct tapir_link link = {.send = dead_send, .name = "dead0"};
	struct tapir_config c;
	struct tapir_net_driver d = {0};
	struct tapir_net *net;
	int efd = eventfd(1, EFD_NONBLOCK), n; /* readable for ever: never read */
	(void)state;
	assert_true(efd >= 0);
	tapir_config_default(&c);
	d.link = &link;
	d.fd = efd;
	d.recv = dead_recv;
	net = tapir_net_new(&c, &d);
	assert_non_null(net);
	assert_int_equal(tapir_net_link_error(net), 0);
	assert_int_equal(tapir_net_start(net), 0);
	/* a guard against a hang, not a threshold */
	for (int i = 0; i < 1000 && !tapir_net_link_error(net); i++)
		nap_ms(10);
	assert_int_equal(tapir_net_link_error(net), EBADFD);
	/* the three ENOBUFS were retried, the EBADFD taken at once ... */
	n = atomic_load(&reads);
	assert_int_equal(n, 4);
	/* ... and the descriptor, readable as ever, is read no more */
	nap_ms(200);
	assert_int_equal(atomic_load(&reads), 4);
	tapir_net_stop(net);
	close(efd);
}

static void link_error_fatal(void **state)
{
	(void)state;
	assert_true(tapir_link_error_fatal(EBADFD));
	assert_true(tapir_link_error_fatal(EIO));
	assert_true(tapir_link_error_fatal(ENODEV));
	assert_true(tapir_link_error_fatal(ENXIO));
	assert_false(tapir_link_error_fatal(EAGAIN));
	assert_false(tapir_link_error_fatal(EINTR));
	assert_false(tapir_link_error_fatal(ENOBUFS));
	assert_false(tapir_link_error_fatal(ENETDOWN));
}

int main(int argc, char **argv)
{
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return CMT_RUN(NULL, NULL, link_dead, link_error_fatal);
}
