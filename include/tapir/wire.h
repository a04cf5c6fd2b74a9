/* Wire helpers: byte order, the Internet checksum and the layouts of the
 * headers tapir reads and writes.  One copy, used by the core, the link
 * drivers, the tools and the tests alike, so that a new family (IPv6) or a
 * new tool adds to it rather than writing its own.
 *
 * Every wire field is read and written through tapir_get16/32 and
 * tapir_put16/32: no packed structs and no unaligned access anywhere. */
#ifndef TAPIR_WIRE_H
#define TAPIR_WIRE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- byte order: network order is big-endian (RFC 791 Appendix B) ---- */
static inline uint16_t tapir_get16(const void *at)
{
	const uint8_t *p = (const uint8_t *)at;
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t tapir_get32(const void *at)
{
	const uint8_t *p = (const uint8_t *)at;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void tapir_put16(void *at, uint16_t v)
{
	uint8_t *p = (uint8_t *)at;
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void tapir_put32(void *at, uint32_t v)
{
	uint8_t *p = (uint8_t *)at;
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- the Internet checksum (RFC 1071), core/checksum.c ----
 * Add bytes to a running 32-bit sum (any number of calls, each an even
 * length but the last), then fold it into the 16-bit checksum to store.
 * The sum of a packet whose checksum field is right folds to 0. */
uint32_t tapir_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t tapir_csum_fold(uint32_t sum);
/* tapir_csum_fold(tapir_csum_add(0, DATA, LEN)) */
uint16_t tapir_csum(const void *data, size_t len);
/* The IPv4 pseudo header's part of a TCP or UDP sum (RFC 9293 3.1,
 * RFC 768); SRC and DST in host order, LEN the transport length. */
uint32_t tapir_csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);

/* ---- Ethernet (IEEE 802.3) ---- */
#define TAPIR_ETH_HLEN 14
#define TAPIR_ETH_DST 0
#define TAPIR_ETH_SRC 6
#define TAPIR_ETH_TYPE 12
#define TAPIR_ETH_P_IPV4 0x0800
#define TAPIR_ETH_P_ARP 0x0806
#define TAPIR_ETH_P_IPV6 0x86dd

/* ---- IPv4 (RFC 791 3.1): offsets in the header ---- */
#define TAPIR_IPV4_HLEN 20       /* without options */
#define TAPIR_IPV4_VHL 0         /* version << 4 | header length in words */
#define TAPIR_IPV4_TOS 1         /* DSCP << 2 | ECN (RFC 2474, RFC 3168) */
#define TAPIR_IPV4_LEN 2
#define TAPIR_IPV4_ID 4
#define TAPIR_IPV4_FRAG 6        /* flags << 13 | fragment offset in 8-byte units */
#define TAPIR_IPV4_TTL 8
#define TAPIR_IPV4_PROTO 9
#define TAPIR_IPV4_CSUM 10
#define TAPIR_IPV4_SRC 12
#define TAPIR_IPV4_DST 16
#define TAPIR_IPV4_DF 0x4000
#define TAPIR_IPV4_MF 0x2000
#define TAPIR_IPV4_OFFMASK 0x1fff

/* ---- protocol numbers (IANA) ---- */
#define TAPIR_IPPROTO_ICMP 1
#define TAPIR_IPPROTO_TCP 6
#define TAPIR_IPPROTO_UDP 17
#define TAPIR_IPPROTO_ICMPV6 58

/* ---- TCP (RFC 9293 3.1): offsets and flags ---- */
#define TAPIR_TCP_HLEN 20        /* without options */
#define TAPIR_TH_SPORT 0
#define TAPIR_TH_DPORT 2
#define TAPIR_TH_SEQ 4
#define TAPIR_TH_ACK_NO 8
#define TAPIR_TH_OFF 12          /* data offset << 4 | reserved bits (RFC 9401) */
#define TAPIR_TH_FLAGS 13
#define TAPIR_TH_WIN 14
#define TAPIR_TH_CSUM 16
#define TAPIR_TH_URP 18
#define TAPIR_TH_FIN 0x01
#define TAPIR_TH_SYN 0x02
#define TAPIR_TH_RST 0x04
#define TAPIR_TH_PSH 0x08
#define TAPIR_TH_ACK 0x10
#define TAPIR_TH_URG 0x20
#define TAPIR_TH_ECE 0x40        /* RFC 3168 */
#define TAPIR_TH_CWR 0x80

/* ---- UDP (RFC 768) ---- */
#define TAPIR_UDP_HLEN 8
#define TAPIR_UH_SPORT 0
#define TAPIR_UH_DPORT 2
#define TAPIR_UH_LEN 4
#define TAPIR_UH_CSUM 6

/* ---- ICMP (RFC 792): types and the codes tapir acts on ---- */
#define TAPIR_ICMP_HLEN 8
#define TAPIR_ICMP_ECHO_REPLY 0
#define TAPIR_ICMP_UNREACH 3
#define TAPIR_ICMP_SOURCE_QUENCH 4
#define TAPIR_ICMP_ECHO 8
#define TAPIR_ICMP_TIME_EXCEEDED 11
#define TAPIR_ICMP_PARAM_PROBLEM 12
#define TAPIR_ICMP_UNREACH_NET 0
#define TAPIR_ICMP_UNREACH_HOST 1
#define TAPIR_ICMP_UNREACH_PROTO 2
#define TAPIR_ICMP_UNREACH_PORT 3
#define TAPIR_ICMP_UNREACH_NEEDFRAG 4

#ifdef __cplusplus
}
#endif
#endif
