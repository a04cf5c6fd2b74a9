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
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

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
	unsigned long long frames = 0;
	uint8_t mac[6];
	int fd;
	if (argc != 3 || sscanf(argv[2], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2],
				&mac[3], &mac[4], &mac[5]) != 6) {
		fprintf(stderr, "usage: tapecho TAPNAME MAC\n");
		return 2;
	}
	bench_catch_signals();
	fd = bench_tap_open("tapecho", argv[1]);
	printf("ready\n");
	fflush(stdout);
	while (!bench_stop) {
		ssize_t n = bench_tap_read(fd, f, sizeof(f));
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
