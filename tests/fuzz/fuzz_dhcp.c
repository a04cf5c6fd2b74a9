/* The DHCP client (core/dhcp.c): one reply from the server, in one of the
 * client's states, then the ARP check's probes or a conflict, time, and a
 * RELEASE.  Input: [mode][time][DHCP message...]; mode bits 0-1: the
 * client SELECTING (0), REQUESTING (1, after an OFFER), RENEWING (2, bound
 * and past T1) or REBINDING (3, past T2); bit 2: our transaction id and
 * MAC written into the message (what a fuzzer cannot guess); bit 3: sent
 * to the leased address rather than broadcast; bit 4: another host then
 * claims the offered address (ARP); time: w_time() after. */
#include <stdlib.h>
#include <string.h>

#include "world.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The transaction id of the newest DHCP message the stack sent, 0 if none. */
static uint32_t our_xid(const struct world *w)
{
	for (unsigned k = 0; k < W_CAP_FRAMES && k < w->ntx; k++) {
		unsigned i = (w->ntx - 1 - k) % W_CAP_FRAMES;
		const uint8_t *f = w->last_tx[i];
		if (w->last_tx_len[i] >= 14 + 28 + 8 && tapir_get16(f + 12) == 0x0800 && f[23] == 17 &&
		    tapir_get16(f + 36) == 67)
			return tapir_get32(f + 42 + 4);
	}
	return 0;
}

static void reply(struct world *w, uint8_t type, uint32_t dst)
{
	uint8_t m[300], f[400];
	size_t n = w_dhcp_msg(m, type, our_xid(w), W_DHCP_ADDR, 1000);
	world_input(w, f, w_dhcp_frame(f, dst, m, n));
}

/* A broadcast ARP packet (OP) from the peer's MAC claiming SPA, for TPA. */
static void peer_arp(struct world *w, uint16_t op, uint32_t spa, uint32_t tpa)
{
	uint8_t a[64];
	size_t k = w_eth(a, 0x0806);
	memset(a, 0xff, 6);
	tapir_put16(a + k, 1), tapir_put16(a + k + 2, 0x0800), a[k + 4] = 6, a[k + 5] = 4;
	tapir_put16(a + k + 6, op);
	memcpy(a + k + 8, w_mac_peer, 6);
	tapir_put32(a + k + 14, spa);
	memset(a + k + 18, 0, 6);
	tapir_put32(a + k + 24, tpa);
	world_input(w, a, k + 28);
}

/* Brings the client to the state of MODE's low bits. */
static void drive(struct world *w, unsigned mode)
{
	struct tapir_dhcp_lease l;
	if (mode == 0)
		return;
	reply(w, 2, 0xffffffffu); /* OFFER */
	if (mode == 1)
		return;
	reply(w, 5, 0xffffffffu); /* ACK, then the probes */
	world_advance(w, TAPIR_SEC(10));
	if (tapir_dhcp_lease(w->s, &l) || l.state != TAPIR_DHCP_BOUND)
		world_fail("fuzz_dhcp: no lease from a well-formed exchange");
	/* the renewal goes to the server itself: let ARP know it */
	world_advance(w, l.t1 - 1 - w->now);
	peer_arp(w, 1, W_PEER, W_DHCP_ADDR); /* who has our address: we learn its MAC */
	world_advance(w, (mode == 2 ? l.t1 : l.t2) - w->now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world w;
	uint8_t *f, *m, mode;
	size_t n;
	if (size < 2 || size > 2000)
		return 0;
	mode = data[0];
	world_init(&w, W_DHCP);
	drive(&w, mode & 3);
	f = malloc(64 + size);
	m = malloc(size);
	if (!f || !m)
		world_fail("fuzz_dhcp: out of memory");
	memcpy(m, data + 2, size - 2);
	if ((mode & 4) && size - 2 >= 34) {
		tapir_put32(m + 4, our_xid(&w));
		memcpy(m + 28, w_mac_us, 6);
	}
	n = w_dhcp_frame(f, (mode & 8) ? W_DHCP_ADDR : 0xffffffffu, m, size - 2);
	world_input(&w, f, n);
	if (mode & 16) /* another host has the address */
		peer_arp(&w, 2, W_DHCP_ADDR, W_DHCP_ADDR);
	free(f);
	free(m);
	world_advance(&w, w_time(data[1]));
	tapir_dhcp_release(w.s, w.now);
	world_finish(&w, true);
	return 0;
}
