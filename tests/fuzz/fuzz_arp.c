/* ARP: a sequence of ARP packets straight into arp_input, with time
 * passing between them, against a cache that holds the peer (resolved)
 * and 10.0.0.7 (being resolved, a datagram waiting).
 * Input: records of [time][28 bytes of ARP]; a short last record is
 * passed as it is (a truncated packet). */
#include <stdlib.h>
#include <string.h>

#include "world.h"
#include "core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world w;
	world_init(&w, W_ARP_PENDING);
	for (size_t i = 0; i < size && i < 64 * 29; i += 29) {
		size_t n = size - i - 1 < 28 ? size - i - 1 : 28;
		uint8_t *a = malloc(n ? n : 1); /* exact size, for ASan */
		if (!a)
			abort();
		memcpy(a, data + i + 1, n);
		arp_input(w.s, 0, a, n);
		free(a);
		world_advance(&w, w_time(data[i]));
	}
	world_finish(&w, true);
	return 0;
}
