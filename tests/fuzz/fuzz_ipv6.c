/* IPv6: a sequence of packets whose fixed 40-byte header the harness
 * writes (RFC 8200 3), so that the fuzzer spends its effort on what
 * follows: the extension-header chain (hop-by-hop, routing, destination
 * options, unknown headers and their parameter problems, RFC 8200 4) and
 * fragment reassembly (RFC 8200 4.5: overlaps are an error, RFC 5722; the
 * whole header chain in the first fragment, RFC 7112), with time passing
 * between packets so that the reassembly timeout and its ICMPv6 time
 * exceeded are reachable.  Delivery goes on to ICMPv6 (echo) and UDP.
 * Input: [flags] then records of [time][nh][len hi][len lo][payload...];
 * flags bit 0: fix the ICMPv6 checksum behind the chain, bit 1: from the
 * peer's link-local fe80::1 rather than fd00::1, bit 2: to all-nodes
 * ff02::1 rather than fd00::2, bit 3: graceful teardown.  len is capped at
 * 9000; the payload is taken from the input while it lasts, then filled
 * with a pattern; the header's payload length is always len. */
#include <stdlib.h>
#include <string.h>

#include "world.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t all_nodes[16] = {0xff, 2, [15] = 1};
	struct world w;
	size_t i = 1;
	unsigned nrec = 0;
	uint8_t fl;
	if (size < 1)
		return 0;
	fl = data[0];
	world_init(&w, W_UDP);
	while (i + 4 <= size && nrec++ < 64) {
		const uint8_t *r = data + i;
		size_t plen = (size_t)(r[2] << 8 | r[3]) % 9001;
		size_t take = size - i - 4 < plen ? size - i - 4 : plen, n;
		uint8_t *f = w_ip6_frame_new((fl & 2) ? w_peer_ll : w_peer6,
					     (fl & 4) ? all_nodes : w_us6, r[1], 64, plen, &n);
		memcpy(f + 54, r + 4, take);
		for (size_t k = take; k < plen; k++)
			f[54 + k] = (uint8_t)(k * 7);
		if (fl & 1)
			w_fix_checksums(f + 14, n - 14);
		world_input(&w, f, n);
		free(f);
		world_advance(&w, w_time(r[0]));
		i += 4 + take;
	}
	world_finish(&w, fl & 8);
	return 0;
}
