/* TCP and its options: one segment (header, options, payload) to a stack
 * with a listener on 80, an accepted connection from peer port 40000
 * (timestamps, SACK, window scale 7) and one it opened to peer port 22
 * (SACK, window scale 2, no timestamps), both with data in flight.
 * Input: [flags][TCP segment...]; flags bit 0: fix the checksum, bit 1:
 * sequence and acknowledgment numbers relative to the connection the
 * ports name (its RCV.NXT and SND.UNA are added), bit 2: from 10.0.0.9
 * rather than the peer, bit 3: graceful teardown, bits 4-6: time before
 * the segment arrives, in 100 ms. */
#include <stdlib.h>
#include <string.h>

#include "world.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world w;
	uint8_t fl, *f, *th;
	size_t n;
	uint32_t src;
	if (size < 1 || size > 66000)
		return 0;
	fl = data[0];
	src = (fl & 4) ? 0x0a000009u : W_PEER;
	f = w_ip_frame_new(src, W_US, 6, size - 1, 11, 0x4000, &n);
	th = f + 34;
	memcpy(th, data + 1, size - 1);
	world_init(&w, W_TCP);
	world_advance(&w, TAPIR_MS(100) * ((fl >> 4) & 7));
	if ((fl & 2) && size - 1 >= 20) {
		uint32_t rcv_nxt, snd_una;
		bool found;
		w_tcp_seqs(&w, (uint16_t)(th[2] << 8 | th[3]), src, (uint16_t)(th[0] << 8 | th[1]),
			   &rcv_nxt, &snd_una, &found);
		tapir_put32(th + 4, tapir_get32(th + 4) + rcv_nxt);
		tapir_put32(th + 8, tapir_get32(th + 8) + snd_una);
	}
	world_last_frame(&w, f, n, fl & 1, TAPIR_MS(250), fl & 8);
	return 0;
}
