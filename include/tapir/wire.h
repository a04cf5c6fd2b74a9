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
/* The IPv6 pseudo header's part (RFC 8200 8.1): the 16-byte addresses, the
 * upper-layer length as 32 bits and the next header value. */
uint32_t tapir_csum_pseudo6(const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
			    uint32_t len);

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

/* ---- IPv6 (RFC 8200 3): offsets in the fixed header ---- */
#define TAPIR_IPV6_HLEN 40
#define TAPIR_IPV6_VTC 0         /* version << 4 | traffic class (high 4 bits) */
#define TAPIR_IPV6_PLEN 4        /* payload length: everything after the fixed header */
#define TAPIR_IPV6_NXT 6         /* next header */
#define TAPIR_IPV6_HLIM 7        /* hop limit */
#define TAPIR_IPV6_SRC 8
#define TAPIR_IPV6_DST 24
#define TAPIR_IPV6_MIN_MTU 1280  /* RFC 8200 5: every link carries this much */
/* extension headers (RFC 8200 4): next header, length in 8-byte units
 * beyond the first 8 (hop-by-hop, routing, destination options) */
#define TAPIR_IPPROTO_HOPOPTS 0
#define TAPIR_IPPROTO_ROUTING 43
#define TAPIR_IPPROTO_FRAGMENT 44
#define TAPIR_IPPROTO_NONE 59
#define TAPIR_IPPROTO_DSTOPTS 60
/* The IPv6 packet P's upper-layer header past its extension headers
 * (hop-by-hop, routing, destination options, and the fragment header of
 * fragment zero): its offset, its protocol in *NH; -1 for a later
 * fragment (no upper-layer header) or a chain beyond LEN.  core/ipv6.c */
int tapir_ipv6_upper(const uint8_t *p, size_t len, uint8_t *nh);
#define TAPIR_IPV6_OPT_PAD1 0    /* RFC 8200 4.2 */
#define TAPIR_IPV6_OPT_PADN 1
#define TAPIR_IPV6_OPT_RTALERT 5 /* RFC 2711 */
#define TAPIR_IPV6_RH_TYPE 2     /* routing header: type, then segments left */
#define TAPIR_IPV6_RH_SEGLEFT 3
/* the fragment header (RFC 8200 4.5) */
#define TAPIR_IPV6_FH_LEN 8
#define TAPIR_IPV6_FH_OFF 2      /* offset in 8-byte units << 3 | M */
#define TAPIR_IPV6_FH_ID 4
#define TAPIR_IPV6_FH_MF 1
#define TAPIR_IPV6_FH_OFFMASK 0xfff8

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

/* ---- ICMPv6 (RFC 4443 2.1): types and codes ---- */
#define TAPIR_ICMP6_HLEN 8       /* type, code, checksum, 4 bytes of the message */
#define TAPIR_ICMP6_UNREACH 1
#define TAPIR_ICMP6_PKT_TOO_BIG 2
#define TAPIR_ICMP6_TIME_EXCEEDED 3
#define TAPIR_ICMP6_PARAM_PROBLEM 4
#define TAPIR_ICMP6_ECHO 128
#define TAPIR_ICMP6_ECHO_REPLY 129
#define TAPIR_ICMP6_MLD_QUERY 130       /* RFC 3810 5.1 */
#define TAPIR_ICMP6_ROUTER_SOLICIT 133  /* RFC 4861 4 */
#define TAPIR_ICMP6_ROUTER_ADVERT 134
#define TAPIR_ICMP6_NEIGHBOR_SOLICIT 135
#define TAPIR_ICMP6_NEIGHBOR_ADVERT 136
#define TAPIR_ICMP6_REDIRECT 137
#define TAPIR_ICMP6_MLD2_REPORT 143     /* RFC 3810 5.2 */
#define TAPIR_ICMP6_UNREACH_NOROUTE 0
#define TAPIR_ICMP6_UNREACH_ADDR 3
#define TAPIR_ICMP6_UNREACH_PORT 4
#define TAPIR_ICMP6_TIMEX_REASM 1
#define TAPIR_ICMP6_PARAM_HEADER 0      /* erroneous header field */
#define TAPIR_ICMP6_PARAM_NEXTHDR 1     /* unrecognized next header */
#define TAPIR_ICMP6_PARAM_OPTION 2      /* unrecognized option */
#define TAPIR_ICMP6_PARAM_CHAIN 3       /* RFC 7112: first fragment lacks the chain */

/* ---- Neighbor Discovery (RFC 4861 4.3-4.6) ---- */
#define TAPIR_ND_NS_LEN 24       /* ICMPv6 header, reserved, target */
#define TAPIR_ND_NA_LEN 24       /* ICMPv6 header, flags, target */
#define TAPIR_ND_TARGET 8
#define TAPIR_ND_NA_ROUTER 0x80
#define TAPIR_ND_NA_SOLICITED 0x40
#define TAPIR_ND_NA_OVERRIDE 0x20
#define TAPIR_ND_RA_LEN 16       /* + hop limit, flags, lifetime, reachable, retrans */
#define TAPIR_ND_OPT_SRC_LLADDR 1
#define TAPIR_ND_OPT_TGT_LLADDR 2
#define TAPIR_ND_OPT_PREFIX 3
#define TAPIR_ND_OPT_MTU 5

#ifdef __cplusplus
}
#endif
#endif
