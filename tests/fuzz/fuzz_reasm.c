/* IPv4 fragments and reassembly: a sequence of fragments with valid
 * headers (the harness writes them: the fuzzer chooses only what
 * reassembly looks at) and time passing between them, so that overlaps,
 * duplicates, holes, the size limits, eviction, pool exhaustion and the
 * timeout (with its ICMP time exceeded) are all reachable.  Completed
 * datagrams go on to UDP, ICMP, TCP or "protocol unreachable".
 * Input: records of
 *   [time][sel][frag hi][frag lo][len hi][len lo][payload: len bytes]
 * sel bits 0-1: datagram id 1..4, bits 2-3: protocol UDP, ICMP, TCP, 99,
 * bit 4: from 10.0.0.9 (not the peer), bit 5: IP options (IHL 6 / 15),
 * bit 6: header checksum left wrong.  The frag field goes in as it is
 * (MF, DF, the reserved bit, offset); len is capped at 9000 (a jumbo
 * frame); the payload is taken from the input while it lasts, then
 * filled with a pattern. */
#include <stdlib.h>
#include <string.h>

#include "world.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t protos[4] = {17, 1, 6, 99};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world w;
	size_t i = 0;
	unsigned nrec = 0;
	world_init(&w, W_UDP);
	while (i + 6 <= size && nrec++ < 64) {
		const uint8_t *r = data + i;
		uint8_t sel = r[1];
		size_t plen = (size_t)(r[4] << 8 | r[5]) % 9001;
		size_t hl = (sel & 0x20) ? ((sel & 0x80) ? 60 : 24) : 20;
		size_t take = size - i - 6 < plen ? size - i - 6 : plen;
		uint8_t *f = malloc(14 + hl + plen), *ip;
		if (!f)
			abort();
		w_eth(f, 0x0800);
		ip = f + 14;
		w_ip(ip, (sel & 0x10) ? 0x0a000009u : W_PEER, W_US, protos[(sel >> 2) & 3],
		     hl - 20 + plen, (uint16_t)(1 + (sel & 3)), (uint16_t)(r[2] << 8 | r[3]));
		if (hl > 20) {
			/* NOPs and an EOL: well-formed options to copy */
			ip[0] = (uint8_t)(0x40 | hl / 4);
			memset(ip + 20, 1, hl - 20);
			ip[hl - 1] = 0;
		}
		memcpy(ip + hl, r + 6, take);
		for (size_t k = take; k < plen; k++)
			ip[hl + k] = (uint8_t)(k * 7);
		ip[10] = ip[11] = 0;
		{
			uint16_t c = tapir_csum_fold(tapir_csum_add(0, ip, hl));
			if (sel & 0x40)
				c ^= 1;
			ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
		}
		world_input(&w, f, 14 + hl + plen);
		free(f);
		world_advance(&w, w_time(r[0]));
		i += 6 + take;
	}
	world_finish(&w, true);
	return 0;
}
