/* Neighbour discovery (RFC 4861) and SLAAC (RFC 4862): router and
 * neighbour solicitations and advertisements and redirects with their
 * options (link-layer addresses, prefix information, MTU, unknown and
 * zero-length ones), to a stack with fd00::2/64, its link-local address
 * and SLAAC on, so that a prefix option can create, refresh or expire an
 * address and a router advertisement a default router.
 * Input: [flags][time][ND message...]; flags bit 0: fix the ICMPv6
 * checksum, bit 1: hop limit 64 rather than 255 (RFC 4861 6.1.2: to be
 * dropped), bits 2-3: source fe80::1, fd00::1, :: (as in DAD, RFC 4862
 * 5.4.3) or fe80::9 (no neighbour yet), bits 4-5: destination our fd00::2,
 * all-nodes ff02::1, our solicited-node group, or all-routers ff02::2,
 * bit 6: the message twice (the second time after the time byte, so
 * lifetimes can run out between), bit 7: graceful teardown; time: w_time()
 * after each message.  All lifetimes then run out before the teardown. */
#include <stdlib.h>
#include <string.h>

#include "world.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t all_nodes[16] = {0xff, 2, [15] = 1};
static const uint8_t all_routers[16] = {0xff, 2, [15] = 2};
/* RFC 4291 2.7.1: ff02::1:ff00:2 for fd00::2 */
static const uint8_t sol_node[16] = {0xff, 2, [11] = 1, [12] = 0xff, [15] = 2};
static const uint8_t unspec[16];
static const uint8_t other_ll[16] = {0xfe, 0x80, [15] = 9};

static void feed(struct world *w, uint8_t fl, const uint8_t *m, size_t len)
{
	const uint8_t *srcs[4] = {w_peer_ll, w_peer6, unspec, other_ll};
	const uint8_t *dsts[4] = {w_us6, all_nodes, sol_node, all_routers};
	size_t n;
	uint8_t *f = w_ip6_frame_new(srcs[(fl >> 2) & 3], dsts[(fl >> 4) & 3], 58,
				     (fl & 2) ? 64 : 255, len, &n);
	memcpy(f + 54, m, len);
	if (fl & 1)
		w_fix_checksums(f + 14, n - 14);
	world_input(w, f, n);
	free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world w;
	uint8_t fl;
	if (size < 2 || size > 1500)
		return 0;
	fl = data[0];
	world_init(&w, W_UDP);
	if (tapir_iface_set_slaac(w.s, 0, 1, w.now))
		world_fail("fuzz_nd: SLAAC does not start");
	feed(&w, fl, data + 2, size - 2);
	world_advance(&w, w_time(data[1]));
	if (fl & 0x40) {
		feed(&w, fl, data + 2, size - 2);
		world_advance(&w, w_time(data[1]));
	}
	/* What the messages taught lives as long as they said: a router up to
	 * 9000 s (RFC 4861 6.2.1; 65535 s on the wire), a prefix and its SLAAC
	 * address up to 2^32-2 s (RFC 4861 4.6.2, RFC 4862 5.5.3).  That is
	 * state, not a leak: let every finite lifetime run out before
	 * world_finish's "idle within an hour" check. */
	world_advance(&w, TAPIR_SEC(0xffffffffu));
	world_finish(&w, fl & 0x80);
	return 0;
}
