/* tapecho — the TAP device's own ceiling: no stack at all.  It reads
 * frames from a TAP fd and writes IPv4/UDP ones straight back with the
 * Ethernet and IP addresses and the UDP ports swapped (the checksums stay
 * right: swapping addends leaves a one's-complement sum unchanged).  The
 * kernel's `load udp` then receives its own datagrams back, so every byte
 * crosses the TAP twice, as in a TCP stream through a userspace stack.
 *
 *   tapecho TAPNAME MAC       (the TAP exists; MAC: the address we answer as)
 * Runs until SIGTERM/SIGINT; prints its frame count on stderr. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_sig(int s) { (void)s; stop = 1; }

static void swap(uint8_t *a, uint8_t *b, size_t n)
{
	uint8_t t[6];
	memcpy(t, a, n);
	memcpy(a, b, n);
	memcpy(b, t, n);
}

int main(int argc, char **argv)
{
	static uint8_t f[65536];
	struct ifreq ifr;
	unsigned long long frames = 0;
	uint8_t mac[6];
	int fd;
	if (argc != 3 || sscanf(argv[2], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2],
				&mac[3], &mac[4], &mac[5]) != 6) {
		fprintf(stderr, "usage: tapecho TAPNAME MAC\n");
		return 2;
	}
	signal(SIGTERM, on_sig);
	signal(SIGINT, on_sig);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[1]);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
		perror("tapecho: TAP");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;
		n = read(fd, f, sizeof(f)); /* poll only when the queue is empty */
		if (n < 0) {
			poll(&p, 1, 200);
			continue;
		}
		if (n < 14 + 20 + 8)
			continue;
		/* IPv4, no options, UDP */
		if (f[12] != 0x08 || f[13] != 0x00 || f[14] != 0x45 || f[23] != 17)
			continue;
		memcpy(f, f + 6, 6);     /* to the sender */
		memcpy(f + 6, mac, 6);   /* from us */
		swap(f + 26, f + 30, 4); /* IP source <-> destination */
		swap(f + 34, f + 36, 2); /* UDP ports */
		if (write(fd, f, (size_t)n) == n)
			frames++;
	}
	fprintf(stderr, "tapecho: %llu frames reflected\n", frames);
	return 0;
}
