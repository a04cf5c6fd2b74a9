/* IPv4 and its options: one packet behind an Ethernet header, into a
 * stack with live TCP connections and UDP sockets, so that a valid header
 * leads on into the transports.
 * Input: [flags][IPv4 packet...]; flags bit 0: fix the header and
 * transport checksums, bit 1: force source = peer and destination = us,
 * bit 2: graceful teardown. */
#include <stdlib.h>
#include <string.h>

#include "world.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world w;
	uint8_t *f;
	size_t n;
	if (size < 1 || size > 70000)
		return 0;
	n = size - 1;
	f = malloc(14 + n);
	if (!f)
		abort();
	w_eth(f, 0x0800);
	memcpy(f + 14, data + 1, n);
	if ((data[0] & 2) && n >= 20) {
		tapir_put32(f + 14 + 12, W_PEER);
		tapir_put32(f + 14 + 16, W_US);
	}
	if (data[0] & 1)
		w_fix_checksums(f + 14, n);
	world_init(&w, W_TCP | W_UDP);
	world_input(&w, f, 14 + n);
	world_advance(&w, TAPIR_MS(300));
	world_finish(&w, data[0] & 4);
	free(f);
	return 0;
}
