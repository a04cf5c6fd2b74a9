/* Ethernet: raw bytes as a received frame, through tapir_stack_input, so
 * the destination filter, the ethertype demux and whatever lies behind
 * (ARP, IPv4 and up) see them.
 * Input: [flags][frame...]; flags bit 0: fix the IPv4 and transport
 * checksums (IPv6: ICMPv6's) in the frame (a fuzzer cannot find them), bit 1: graceful
 * teardown. */
#include <stdlib.h>
#include <string.h>

#include "world.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world w;
	uint8_t *f;
	size_t n;
	if (size < 1)
		return 0;
	n = size - 1;
	/* an exact-size copy: ASan sees any read past the frame's end */
	f = malloc(n ? n : 1);
	if (!f)
		abort();
	memcpy(f, data + 1, n);
	if ((data[0] & 1) && n > 14 &&
	    ((f[12] == 0x08 && f[13] == 0x00) || (f[12] == 0x86 && f[13] == 0xdd)))
		w_fix_checksums(f + 14, n - 14);
	world_init(&w, W_UDP | W_ARP_PENDING);
	world_input(&w, f, n);
	world_advance(&w, TAPIR_MS(100));
	world_finish(&w, data[0] & 2);
	free(f);
	return 0;
}
