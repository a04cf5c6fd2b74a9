/* ICMP: one message from the peer (or elsewhere) to a stack with live
 * TCP connections, UDP sockets, an echo handler and an ARP resolution in
 * progress: echo requests and replies, and errors that quote packets the
 * stack sent, so they reach the TCP and UDP error handlers.
 * Input: [flags][ICMP message...]; flags bit 0: fix the ICMP checksum,
 * bit 1: from 10.0.0.9 rather than the peer, bit 2: to the subnet
 * broadcast, bit 3: replace what follows the 8-byte ICMP header with the
 * IPv4 packet of a frame the stack sent (bits 4-6: which of the last 8),
 * bit 7: graceful teardown. */
#include <stdlib.h>
#include <string.h>

#include "world.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world w;
	uint8_t fl, *f;
	const uint8_t *msg;
	size_t mlen, qlen = 0, n;
	const uint8_t *q = NULL;
	if (size < 1 || size > 66000)
		return 0;
	fl = data[0];
	msg = data + 1;
	mlen = size - 1;
	world_init(&w, W_TCP | W_UDP | W_ARP_PENDING);
	if ((fl & 8) && mlen >= 8) {
		/* RFC 1812 4.3.2.3: a router quotes up to 576 bytes in all */
		q = w_sent_ip(&w, (fl >> 4) & 7, 548, &qlen);
		if (q)
			mlen = 8;
	}
	f = w_ip_frame_new((fl & 2) ? 0x0a000009u : W_PEER, (fl & 4) ? 0x0a0000ffu : W_US, 1,
			   mlen + qlen, 7, 0, &n);
	memcpy(f + 34, msg, mlen);
	if (qlen)
		memcpy(f + 34 + mlen, q, qlen);
	world_last_frame(&w, f, n, fl & 1, TAPIR_SEC(1), fl & 0x80);
	return 0;
}
