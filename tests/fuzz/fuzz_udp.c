/* UDP: one datagram to a stack with a bound (port 53) and a connected
 * (5000 <-> peer 5353) socket; closed ports answer with ICMP.
 * Input: [flags][UDP header + payload...]; flags bit 0: fix the UDP
 * checksum, bit 1: from 10.0.0.9 rather than the peer, bit 2: to the
 * subnet broadcast, bit 3: the application reads its sockets after, bit 4:
 * a receive buffer of 16 bytes on the bound socket. */
#include <stdlib.h>
#include <string.h>

#include "world.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world w;
	uint8_t fl, *f, buf[256];
	size_t n;
	if (size < 1 || size > 66000)
		return 0;
	fl = data[0];
	f = w_ip_frame_new((fl & 2) ? 0x0a000009u : W_PEER, (fl & 4) ? 0x0a0000ffu : W_US, 17,
			   size - 1, 9, 0, &n);
	memcpy(f + 34, data + 1, size - 1);
	if (fl & 1)
		w_fix_checksums(f + 14, n - 14);
	world_init(&w, W_UDP);
	if (fl & 16)
		tapir_udp_set_rcvbuf(w.ubound, 16);
	world_input(&w, f, n);
	world_input(&w, f, n); /* twice: the second may find the queue full */
	free(f);
	if (fl & 8) {
		uint32_t src;
		uint16_t sport;
		while (tapir_udp_recvfrom(w.ubound, buf, sizeof(buf), &src, &sport) >= 0)
			;
		while (tapir_udp_recvfrom(w.uconn, buf, sizeof(buf), &src, &sport) >= 0)
			;
		tapir_udp_error(w.uconn);
	}
	world_advance(&w, TAPIR_MS(10));
	world_finish(&w, true);
	return 0;
}
