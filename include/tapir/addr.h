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

#ifdef __cplusplus
}
#endif
#endif
