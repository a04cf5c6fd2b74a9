/* Address rules: which IPv4 addresses are what.  One set of predicates for
 * the core (what to accept, what to answer), the tools (what a target may
 * be) and the tests; addresses are in host order.
 *
 * The special ranges are RFC 1122 3.2.1.3's and RFC 6890's; the
 * subnet-directed broadcast is RFC 919/922's, which RFC 3021 removes from
 * /31 links (two hosts, no broadcast) and which a /32 never had. */
#ifndef TAPIR_ADDR_H
#define TAPIR_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TAPIR_IPV4_BROADCAST 0xffffffffu /* the limited broadcast, RFC 919 */

/* The netmask of a prefix length 0..32 (0 gives 0, 32 all ones). */
static inline uint32_t tapir_ipv4_mask(unsigned plen)
{
	return plen ? ~0u << (32 - (plen > 32 ? 32 : plen)) : 0;
}

/* 0.0.0.0/8, "this network": a source only while booting (RFC 1122 3.2.1.3 (a)) */
static inline bool tapir_ipv4_is_this_net(uint32_t a) { return a >> 24 == 0; }
/* 127.0.0.0/8 (RFC 1122 3.2.1.3 (g)) */
static inline bool tapir_ipv4_is_loopback(uint32_t a) { return a >> 24 == 127; }
/* 224.0.0.0/4, class D (RFC 1112 4) */
static inline bool tapir_ipv4_is_multicast(uint32_t a) { return a >> 28 == 14; }
/* 240.0.0.0/4, class E, reserved (RFC 1112 4); holds 255.255.255.255 */
static inline bool tapir_ipv4_is_reserved(uint32_t a) { return a >> 28 == 15; }

/* A is the directed broadcast (all host bits one) of the subnet of ADDR
 * with netmask MASK.  RFC 3021 2.2: a /31 has no broadcast; nor has a /32. */
static inline bool tapir_ipv4_is_directed_broadcast(uint32_t a, uint32_t addr, uint32_t mask)
{
	return mask < 0xfffffffeu && (a & mask) == (addr & mask) && (a & ~mask) == ~mask;
}

/* Never the source of a datagram from the wire (RFC 1122 3.2.1.3): this
 * network, loopback, multicast, class E and the limited broadcast.  The
 * caller adds its own subnets' directed broadcasts and its own addresses. */
static inline bool tapir_ipv4_is_martian_source(uint32_t a)
{
	return tapir_ipv4_is_this_net(a) || tapir_ipv4_is_loopback(a) ||
	       tapir_ipv4_is_multicast(a) || tapir_ipv4_is_reserved(a);
}

/* ADDR/PLEN may be a host's own address: none of the above, and neither
 * all-zeros nor all-ones in its host part, except on /31 where both hosts
 * use them (RFC 3021 2.1) and /32 (RFC 1122 3.2.1.3 (b)-(c)). */
static inline bool tapir_ipv4_is_host_addr(uint32_t addr, unsigned plen)
{
	uint32_t m = tapir_ipv4_mask(plen);
	if (plen == 0 || plen > 32 || tapir_ipv4_is_martian_source(addr))
		return false;
	return plen >= 31 || ((addr & ~m) != 0 && (addr & ~m) != ~m);
}

/* ---- IPv6 (RFC 4291 2): addresses are 16 bytes in network order ---- */

/* :: (RFC 4291 2.5.2): a source only while a node has no address (DAD) */
static inline bool tapir_ipv6_is_unspecified(const uint8_t *a)
{
	for (int i = 0; i < 16; i++)
		if (a[i])
			return false;
	return true;
}
/* ::1 (RFC 4291 2.5.3): never on a link */
static inline bool tapir_ipv6_is_loopback(const uint8_t *a)
{
	for (int i = 0; i < 15; i++)
		if (a[i])
			return false;
	return a[15] == 1;
}
/* ff00::/8 (RFC 4291 2.7) */
static inline bool tapir_ipv6_is_multicast(const uint8_t *a) { return a[0] == 0xff; }
/* fe80::/10 (RFC 4291 2.5.6) */
static inline bool tapir_ipv6_is_link_local(const uint8_t *a)
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}
/* ::ffff:0:0/96 (RFC 4291 2.5.5.2): an IPv4 node's address, never on an IPv6 wire */
static inline bool tapir_ipv6_is_v4mapped(const uint8_t *a)
{
	for (int i = 0; i < 10; i++)
		if (a[i])
			return false;
	return a[10] == 0xff && a[11] == 0xff;
}
/* Never the source of a packet from the wire: multicast (RFC 4291 2.7),
 * loopback (2.5.3), v4-mapped (RFC 4942 2.1.4).  The unspecified source
 * is for the few messages that allow it (RFC 4861 7.1.1, RFC 3810 5.2.13);
 * the caller adds its own addresses. */
static inline bool tapir_ipv6_is_martian_source(const uint8_t *a)
{
	return tapir_ipv6_is_multicast(a) || tapir_ipv6_is_loopback(a) || tapir_ipv6_is_v4mapped(a);
}
/* A multicast address's scope (RFC 4291 2.7): 1 interface, 2 link, ... */
static inline unsigned tapir_ipv6_mcast_scope(const uint8_t *a) { return a[1] & 15; }
/* The first PLEN bits of A and B are equal. */
static inline bool tapir_ipv6_prefix_eq(const uint8_t *a, const uint8_t *b, unsigned plen)
{
	unsigned i = 0;
	for (; plen >= 8 && i < 16; plen -= 8, i++)
		if (a[i] != b[i])
			return false;
	return plen == 0 || i == 16 || ((a[i] ^ b[i]) & (0xff00 >> plen)) == 0;
}
/* The solicited-node multicast group of A, ff02::1:ffXX:XXXX (RFC 4291 2.7.1). */
static inline void tapir_ipv6_solicited_node(uint8_t out[16], const uint8_t *a)
{
	static const uint8_t pfx[13] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
	for (int i = 0; i < 13; i++)
		out[i] = pfx[i];
	out[13] = a[13];
	out[14] = a[14];
	out[15] = a[15];
}
/* The Ethernet address of multicast group A: 33:33 and its last 32 bits
 * (RFC 2464 7). */
static inline void tapir_ipv6_mcast_mac(uint8_t mac[6], const uint8_t *a)
{
	mac[0] = 0x33;
	mac[1] = 0x33;
	for (int i = 0; i < 4; i++)
		mac[2 + i] = a[12 + i];
}
/* PREFIX's first 64 bits with the modified EUI-64 interface identifier of
 * MAC (RFC 4291 2.5.1 and Appendix A: ff:fe in the middle, the
 * universal/local bit inverted). */
static inline void tapir_ipv6_eui64(uint8_t out[16], const uint8_t *prefix, const uint8_t mac[6])
{
	for (int i = 0; i < 8; i++)
		out[i] = prefix[i];
	out[8] = (uint8_t)(mac[0] ^ 0x02);
	out[9] = mac[1];
	out[10] = mac[2];
	out[11] = 0xff;
	out[12] = 0xfe;
	out[13] = mac[3];
	out[14] = mac[4];
	out[15] = mac[5];
}

/* ---- a transport endpoint's address, either family ----
 * 16 bytes in network order; an IPv4 address is held v4-mapped,
 * ::ffff:a.b.c.d (RFC 4291 2.5.5.2), so that TCP and UDP keep one
 * control block, one hash and one lookup for both families.  "Any" is ::
 * (both families, unless the socket is IPv6-only) or ::ffff:0.0.0.0
 * (IPv4 only, what an IPv4 bind to INADDR_ANY means). */
struct tapir_ip {
	uint8_t b[16];
};

static inline struct tapir_ip tapir_ip_from_v4(uint32_t a)
{
	struct tapir_ip ip = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, (uint8_t)(a >> 24),
			       (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a}};
	return ip;
}
static inline struct tapir_ip tapir_ip_from_v6(const uint8_t *a)
{
	struct tapir_ip ip;
	memcpy(ip.b, a, 16);
	return ip;
}
/* IPv4 (v4-mapped), including the IPv4 "any".  (On every packet: one
 * compare of the 12-byte prefix, which compilers inline.) */
static inline bool tapir_ip_is_v4(const struct tapir_ip *a)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return !memcmp(a->b, v4mapped, sizeof(v4mapped));
}
/* The IPv4 address in host order (meaningful when tapir_ip_is_v4) */
static inline uint32_t tapir_ip_v4(const struct tapir_ip *a)
{
	return (uint32_t)a->b[12] << 24 | (uint32_t)a->b[13] << 16 | (uint32_t)a->b[14] << 8 | a->b[15];
}
static inline bool tapir_ip_eq(const struct tapir_ip *a, const struct tapir_ip *b)
{
	return !memcmp(a->b, b->b, 16);
}
/* :: or ::ffff:0.0.0.0: no address chosen */
static inline bool tapir_ip_is_any(const struct tapir_ip *a)
{
	return tapir_ipv6_is_unspecified(a->b) || (tapir_ip_is_v4(a) && !tapir_ip_v4(a));
}
/* A socket bound to A (V6ONLY: an IPv6-only socket, RFC 3493 5.3) takes
 * what is addressed to the specific address X: A itself, or A's "any" of
 * X's family. */
static inline bool tapir_ip_covers(const struct tapir_ip *a, bool v6only, const struct tapir_ip *x)
{
	if (tapir_ip_eq(a, x))
		return true;
	if (tapir_ipv6_is_unspecified(a->b))
		return !v6only || !tapir_ip_is_v4(x);
	return tapir_ip_is_v4(a) && !tapir_ip_v4(a) && tapir_ip_is_v4(x);
}
/* Two bound addresses (each maybe an "any") share some address: a port
 * both hold would be ambiguous */
static inline bool tapir_ip_overlap(const struct tapir_ip *a, bool a6only, const struct tapir_ip *b,
				    bool b6only)
{
	if (tapir_ip_is_any(a) && tapir_ip_is_any(b))
		return tapir_ip_eq(a, b) || (tapir_ipv6_is_unspecified(a->b) ? !a6only : !b6only);
	return tapir_ip_covers(a, a6only, b) || tapir_ip_covers(b, b6only, a);
}
/* A socket's own IP header fields, for TCP and UDP sockets alike
 * (tapir_tcp_set_ipopt, tapir_udp_set_ipopt).  -1 is the default: the
 * stack's TTL or the interface's hop limit (RFC 4861 6.3.4), TOS and
 * traffic class 0.  A TCP socket keeps the ECN bits (the low two) its own
 * (RFC 3168 5); a UDP socket sends them as given. */
enum tapir_ip_opt {
	TAPIR_IP_TTL,      /* IP_TTL: 1..255 */
	TAPIR_IP_TOS,      /* IP_TOS: 0..255 */
	TAPIR_IP_HOPLIMIT, /* IPV6_UNICAST_HOPS (RFC 3493 5.1): 0..255 */
	TAPIR_IP_TCLASS,   /* IPV6_TCLASS (RFC 3542 6.5): 0..255 */
};
/* Writes A as text ("192.0.2.1" or RFC 5952's "2001:db8::1") into BUF of
 * TAPIR_IP_STRLEN bytes; returns BUF.  core/addr.c */
#define TAPIR_IP_STRLEN 46
const char *tapir_ip_str(const struct tapir_ip *a, char *buf);
/* An endpoint: "192.0.2.1:80", "[2001:db8::1]:80" (RFC 5952 6) into BUF
 * of TAPIR_IP_PORT_STRLEN bytes; returns BUF */
#define TAPIR_IP_PORT_STRLEN 56
const char *tapir_ip_port_str(const struct tapir_ip *a, uint16_t port, char *buf);

#ifdef __cplusplus
}
#endif
#endif
