/* The stateless DHCPv6 client (core/dhcp6.c): started by a router
 * advertisement's O flag or at once, its Information-request out, then a
 * fuzzed message from the server's link-local address to ours, port 546.
 * Input: [mode][time][DHCPv6 message...]; mode bit 0: our transaction id
 * written into the message (what a fuzzer cannot guess); bit 1: our
 * client id option (DUID-LL) appended; bit 2: started at once rather than
 * by an RA; bit 3: from port 546 rather than 547; bit 4: the message twice
 * (a second server, a retransmission); bit 5: a day later (the refresh
 * exchange), the message again for it; time: w_time() after. */
#include <stdlib.h>
#include <string.h>

#include "world.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The transaction id of the newest Information-request the stack sent. */
static uint32_t our_xid(const struct world *w)
{
	for (unsigned k = 0; k < W_CAP_FRAMES && k < w->ntx; k++) {
		unsigned i = (w->ntx - 1 - k) % W_CAP_FRAMES;
		const uint8_t *f = w->last_tx[i];
		if (w->last_tx_len[i] >= 14 + 40 + 8 + 4 && tapir_get16(f + 12) == 0x86dd &&
		    f[14 + 6] == 17 && tapir_get16(f + 14 + 40 + 2) == 547)
			return (uint32_t)(f[63] << 16 | f[64] << 8 | f[65]);
	}
	return 0;
}

/* The message M (LEN bytes) as a UDP datagram from the server's fe80::1 to
 * our link-local address, with the right checksum. */
static void feed(struct world *w, const uint8_t *m, size_t len, unsigned mode)
{
	uint8_t ll[16], *f = malloc(14 + 40 + 8 + len + 14), *ip, *u;
	size_t n, ulen = 8 + len + ((mode & 2) ? 14 : 0);
	uint16_t sum;
	if (!f)
		world_fail("fuzz_dhcp6: out of memory");
	tapir_iface_ipv6_addr(w->s, 0, 0, ll, NULL);
	n = w_eth(f, 0x86dd);
	ip = f + n;
	memset(ip, 0, 40);
	ip[0] = 0x60;
	tapir_put16(ip + 4, (uint16_t)ulen);
	ip[6] = 17;
	ip[7] = 64;
	memcpy(ip + 8, w_peer_ll, 16);
	memcpy(ip + 24, ll, 16);
	u = ip + 40;
	tapir_put16(u, (mode & 8) ? 546 : 547);
	tapir_put16(u + 2, 546);
	tapir_put16(u + 4, (uint16_t)ulen);
	tapir_put16(u + 6, 0);
	memcpy(u + 8, m, len);
	if ((mode & 1) && len >= 4) {
		uint32_t xid = our_xid(w);
		u[9] = (uint8_t)(xid >> 16), u[10] = (uint8_t)(xid >> 8), u[11] = (uint8_t)xid;
	}
	if (mode & 2) { /* option 1, DUID-LL (RFC 8415 11.4) */
		uint8_t *o = u + 8 + len;
		tapir_put16(o, 1), tapir_put16(o + 2, 10), tapir_put16(o + 4, 3), tapir_put16(o + 6, 1);
		memcpy(o + 8, w_mac_us, 6);
	}
	sum = tapir_csum_fold(tapir_csum_add(tapir_csum_pseudo6(ip + 8, ip + 24, 17, (uint32_t)ulen), u,
					     ulen));
	tapir_put16(u + 6, sum ? sum : 0xffff);
	world_input(w, f, n + 40 + ulen);
	free(f);
}

/* A router advertisement from fe80::1 with the O flag (RFC 4861 4.2). */
static void ra_o(struct world *w)
{
	uint8_t f[14 + 40 + 16];
	size_t n = w_eth(f, 0x86dd);
	uint8_t *ip = f + n, *m = ip + 40;
	static const uint8_t all_nodes[16] = {0xff, 2, [15] = 1};
	memset(ip, 0, 40 + 16);
	memcpy(f, (uint8_t[6]){0x33, 0x33, 0, 0, 0, 1}, 6);
	ip[0] = 0x60;
	tapir_put16(ip + 4, 16);
	ip[6] = 58;
	ip[7] = 255;
	memcpy(ip + 8, w_peer_ll, 16);
	memcpy(ip + 24, all_nodes, 16);
	m[0] = 134;
	m[4] = 64;
	m[5] = 0x40;
	tapir_put16(m + 2, tapir_csum_fold(tapir_csum_add(tapir_csum_pseudo6(ip + 8, ip + 24, 58, 16), m, 16)));
	world_input(w, f, sizeof(f));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world w;
	struct tapir_dhcp6_info i;
	uint8_t mode;
	if (size < 2 || size > 1400)
		return 0;
	mode = data[0];
	world_init(&w, 0);
	if (tapir_dhcp6_start(w.s, 0, (mode & 4) ? TAPIR_DHCP6_NOW : 0, w.now))
		world_fail("fuzz_dhcp6: the client does not start");
	if (!(mode & 4))
		ra_o(&w);
	world_advance(&w, TAPIR_SEC(2));
	if (tapir_dhcp6_info(w.s, &i) || i.requests < 1)
		world_fail("fuzz_dhcp6: no Information-request within 2 s");
	feed(&w, data + 2, size - 2, mode);
	if (mode & 16)
		feed(&w, data + 2, size - 2, mode);
	if (mode & 32) {
		world_advance(&w, TAPIR_SEC(86400));
		feed(&w, data + 2, size - 2, mode);
	}
	world_advance(&w, w_time(data[1]));
	if (tapir_dhcp6_info(w.s, &i) || i.ndns > TAPIR_DHCP6_DNS_MAX ||
	    i.nsearch > TAPIR_DHCP6_SEARCH_MAX)
		world_fail("fuzz_dhcp6: more kept than the bounds");
	for (unsigned k = 0; k < i.nsearch; k++)
		if (!memchr(i.search[k], 0, TAPIR_DHCP6_NAME_MAX) || !i.search[k][0])
			world_fail("fuzz_dhcp6: a search name unterminated or empty");
	tapir_dhcp6_stop(w.s);
	world_finish(&w, true);
	return 0;
}
