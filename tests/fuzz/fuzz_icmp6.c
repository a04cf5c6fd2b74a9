/* ICMPv6 (RFC 4443): one message from the peer to a stack that has
 * already sent IPv6 (an echo reply to the peer, after resolving it by
 * neighbour discovery): echo requests and replies, destination
 * unreachable, packet too big (RFC 8201: the path MTU it lowers, and a
 * too-small or bogus MTU), time exceeded, parameter problem, unknown
 * types and informational messages to multicast.
 * Input: [flags][ICMPv6 message...]; flags bit 0: fix the ICMPv6
 * checksum, bit 1: from fe80::1 rather than fd00::1, bit 2: to all-nodes
 * ff02::1, bit 3: replace what follows the 8-byte ICMPv6 header with the
 * IPv6 packet of a frame the stack sent (bits 4-6: which of the last 8),
 * bit 7: graceful teardown. */
#include <stdlib.h>
#include <string.h>

#include "world.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The peer pings us and answers our neighbour solicitation, so that the
 * stack has IPv6 frames of its own to be quoted. */
static void ping_from_peer(struct world *w)
{
	static const uint8_t echo[] = {128, 0, 0, 0, 0x42, 0x42, 0, 1, 'p', 'i', 'n', 'g'};
	uint8_t *f;
	size_t n;
	f = w_ip6_frame_new(w_peer6, w_us6, 58, 64, sizeof(echo), &n);
	memcpy(f + 54, echo, sizeof(echo));
	w_fix_checksums(f + 14, n - 14);
	world_input(w, f, n);
	free(f);
	/* RFC 4861 4.4: a solicited NA for fd00::1 with its link-layer address */
	f = w_ip6_frame_new(w_peer6, w_us6, 58, 255, 32, &n);
	memset(f + 54, 0, 32);
	f[54] = 136;
	f[58] = 0x60; /* solicited, override */
	memcpy(f + 62, w_peer6, 16);
	f[78] = 2, f[79] = 1; /* target link-layer address option */
	memcpy(f + 80, w_mac_peer, 6);
	w_fix_checksums(f + 14, n - 14);
	world_input(w, f, n);
	free(f);
	world_advance(w, TAPIR_MS(10));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t all_nodes[16] = {0xff, 2, [15] = 1};
	struct world w;
	uint8_t fl, *f;
	const uint8_t *msg, *q = NULL;
	size_t mlen, qlen = 0, n;
	if (size < 1 || size > 66000)
		return 0;
	fl = data[0];
	msg = data + 1;
	mlen = size - 1;
	world_init(&w, W_UDP);
	ping_from_peer(&w);
	if ((fl & 8) && mlen >= 8) {
		/* RFC 4443 2.4 (c): an error quotes up to the minimum MTU, 1280 */
		q = w_sent_ip(&w, (fl >> 4) & 7, 1280 - 48, &qlen);
		if (q)
			mlen = 8;
	}
	f = w_ip6_frame_new((fl & 2) ? w_peer_ll : w_peer6, (fl & 4) ? all_nodes : w_us6, 58, 64,
			    mlen + qlen, &n);
	memcpy(f + 54, msg, mlen);
	if (qlen)
		memcpy(f + 54 + mlen, q, qlen);
	world_last_frame(&w, f, n, fl & 1, TAPIR_SEC(1), fl & 0x80);
	return 0;
}
