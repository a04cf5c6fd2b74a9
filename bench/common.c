/* common.c — see common.h. */
#define _GNU_SOURCE
#include "common.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

volatile sig_atomic_t bench_stop;

static void on_sig(int s)
{
	(void)s;
	bench_stop = 1;
}

void bench_catch_signals(void)
{
	signal(SIGTERM, on_sig);
	signal(SIGINT, on_sig);
}

int bench_tap_open(const char *prog, const char *name)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "%s: TAP: %m\n", prog);
		exit(1);
	}
	return fd;
}

ssize_t bench_tap_read(int fd, uint8_t *buf, size_t cap)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ssize_t n = read(fd, buf, cap); /* poll only when the queue is empty */
	if (n < 0)
		poll(&p, 1, 200);
	return n;
}

bool pend_sent(struct pend *p, size_t n)
{
	p->off += n;
	p->len -= n;
	return p->len == 0;
}

bool pend_keep(struct pend *p, const uint8_t *data, size_t len, size_t sent)
{
	if (sent >= len)
		return true;
	if (!p->buf && !(p->buf = malloc(PEND_CAP)))
		return false;
	memcpy(p->buf, data + sent, len - sent);
	p->off = 0;
	p->len = len - sent;
	return true;
}
