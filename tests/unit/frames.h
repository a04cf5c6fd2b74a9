/*
 * Shared helpers for tapir's unit tests:
 *  - frame builders (Ethernet, ARP, IPv4, UDP, ICMP) that get every length
 *    and checksum right, so a test only spells out the one field it breaks;
 *  - a capturing link: a struct tapir_link whose send() records frames;
 *  - a fixture: one stack, one interface (10.0.0.1/24 on MAC_US), with the
 *    RFC 5227 announcements already out of the way.
 *
 * Include after <setjmp.h>/<cmocka.h> and "core.h".
 */
#ifndef TAPIR_TEST_FRAMES_H
#define TAPIR_TEST_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tapir/tapir.h>

/* ---- addresses used throughout (host byte order) ---- */
#define IP_US 0x0a000001u     /* 10.0.0.1, the stack under test */
#define IP_PEER 0x0a000002u   /* 10.0.0.2, a neighbour the tests play */
#define IP_OTHER 0x0a000003u  /* 10.0.0.3, a host that is neither */
#define IP_BCAST 0x0a0000ffu  /* 10.0.0.255, the subnet's broadcast */
#define IP_REMOTE 0xc0000201u /* 192.0.2.1, off-link (TEST-NET-1) */
#define PREFIX_LEN 24

extern const uint8_t MAC_US[6], MAC_PEER[6], MAC_OTHER[6], MAC_BCAST[6], MAC_ZERO[6];

/* ---- builders: each writes at OUT and returns the bytes written ---- */

size_t fr_eth(uint8_t *out, const uint8_t dst[6], const uint8_t src[6], uint16_t type);
/* A 28-byte Ethernet/IPv4 ARP packet. */
size_t fr_arp(uint8_t *out, uint16_t op, const uint8_t sha[6], uint32_t spa,
	      const uint8_t tha[6], uint32_t tpa);

struct ip_spec {
	uint32_t src, dst;
	uint8_t proto;
	uint8_t ttl;          /* 0: 64 */
	uint16_t id;
	uint16_t frag;        /* flags and offset as on the wire (0x2000 = MF) */
	const uint8_t *opt;   /* options, a multiple of 4 bytes */
	size_t optlen;
};
/* IPv4 header (with options) followed by PAYLOAD; total length and header
 * checksum filled in. */
size_t fr_ipv4(uint8_t *out, const struct ip_spec *ip, const void *payload, size_t len);
/* UDP header + DATA, checksum over the RFC 768 pseudo header. */
size_t fr_udp(uint8_t *out, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
	      const void *data, size_t len);
/* ICMP header (type, code, checksum, 4 bytes REST) + DATA. */
size_t fr_icmp(uint8_t *out, uint8_t type, uint8_t code, uint32_t rest, const void *data,
	       size_t len);

/* Whole frames from the peer (MAC_PEER) to us (MAC_US). */
size_t fr_ip_frame(uint8_t *out, const struct ip_spec *ip, const void *payload, size_t len);
size_t fr_udp_frame(uint8_t *out, uint32_t src, uint32_t dst, uint16_t sport,
		    uint16_t dport, const void *data, size_t len);
size_t fr_arp_frame(uint8_t *out, const uint8_t eth_dst[6], uint16_t op,
		    const uint8_t sha[6], uint32_t spa, const uint8_t tha[6], uint32_t tpa);

/* Re-computes the IPv4 header checksum of the header at IP. */
void fr_ip_fix_csum(uint8_t *ip);
/* The RFC 1071 checksum over a UDP/ICMP message, pseudo header included for
 * UDP (PROTO 17), as a receiver verifies it: 0 when correct. */
uint16_t fr_verify_l4(const uint8_t *ip);

/* ---- capturing link ---- */
struct cap_frame {
	uint8_t *data;
	size_t len;
};
struct cap {
	struct tapir_link link; /* first, so send() can find the struct */
	struct cap_frame *f;
	size_t n, cap;
	int fail;               /* send() returns this when non-zero */
};
void cap_init(struct cap *c);
void cap_clear(struct cap *c);
void cap_free(struct cap *c);
/* Frame I's Ethernet payload, or NULL when it is not of ethertype TYPE. */
const uint8_t *cap_l3(const struct cap *c, size_t i, uint16_t type, size_t *len);
/* How many captured frames are IPv4 with protocol PROTO (0: any IPv4) /
 * ARP with opcode OP (0: any ARP). */
size_t cap_count_ip(const struct cap *c, uint8_t proto);
size_t cap_count_arp(const struct cap *c, uint16_t op);
/* The last captured IPv4 packet of protocol PROTO, or NULL. */
const uint8_t *cap_last_ip(const struct cap *c, uint8_t proto, size_t *len);
/* Asserts that frame I is an ARP request (RFC 826) from us (MAC_US,
 * IP_US) to Ethernet ETH_DST, asking for TPA; returns the ARP packet. */
const uint8_t *cap_arp_request(const struct cap *c, size_t i, const uint8_t *eth_dst,
			       uint32_t tpa);

/* ---- the fixture ---- */
struct fx {
	struct tapir_stack *s;
	struct cap cap;
	int ifi;
	tapir_time_t now;
	struct tapir_config cfg;
};
/* CFG NULL: tapir_config_default.  MTU 0: 1500. */
struct fx *fx_new_cfg(const struct tapir_config *cfg, unsigned mtu);
struct fx *fx_new(void);
/* Asserts rx_frames == rx_delivered + every drop, then frees. */
void fx_free(struct fx *f);
void fx_input(struct fx *f, uint8_t *frame, size_t len);
tapir_time_t fx_poll(struct fx *f);
void fx_advance(struct fx *f, tapir_time_t dt); /* now += dt, then poll */
const struct tapir_stats *fx_st(const struct fx *f);
/* The peer asks for us (RFC 826: we are the target, so we cache it);
 * captured frames are cleared afterwards. */
void fx_learn_peer(struct fx *f);
/* Feeds the frame and asserts it was dropped for REASON, and that the
 * frame was counted nowhere else. */
void fx_expect_drop_(struct fx *f, uint8_t *frame, size_t len, enum tapir_drop reason,
		     const char *file, int line);
#define fx_expect_drop(f, frame, len, reason)                                  \
	fx_expect_drop_(f, frame, len, TAPIR_DROP_##reason, __FILE__, __LINE__)
/* Feeds the frame and asserts it was delivered (counted as rx_delivered). */
void fx_expect_ok_(struct fx *f, uint8_t *frame, size_t len, const char *file, int line);
#define fx_expect_ok(f, frame, len) fx_expect_ok_(f, frame, len, __FILE__, __LINE__)
#define DROPS(f, reason) (fx_st(f)->drop[TAPIR_DROP_##reason])

/* cmocka setup/teardown that keep a struct fx in *state. */
int fx_setup(void **state);
int fx_teardown(void **state);

/* A fixture built as asked (cmocka's initial state, for fx_setup_opts). */
struct fx_opts {
	void (*tune)(struct tapir_config *c); /* changes tapir_config_default */
	unsigned mtu;                         /* 0: 1500 */
	uint16_t udp_port;  /* if not 0, a UDP socket bound to it (f->s->udp[0]) */
	bool learn_peer;    /* fx_learn_peer before the test */
};
int fx_setup_opts(void **state);
#define FX_TEST_OPTS(fn, opts)                                                 \
	cmocka_unit_test_prestate_setup_teardown(fn, fx_setup_opts, fx_teardown, (void *)(opts))

/* ---- IPv6 ---- */
extern const uint8_t IP6_US[16];    /* fd00::1/64, the stack's global address */
extern const uint8_t IP6_PEER[16];  /* fd00::2 */
extern const uint8_t IP6_OTHER[16]; /* fd00::3 */
extern const uint8_t LL_US[16];     /* fe80::ff:fe00:1, from MAC_US (EUI-64) */
extern const uint8_t LL_PEER[16];   /* fe80::2 */
extern const uint8_t IP6_ALLNODES[16];
extern const uint8_t IP6_UNSPEC[16];
/* An IPv6 header (40 bytes) with NH and HLIM (0: 64) before EXT (EXTLEN
 * bytes of extension headers, their next headers filled in by the caller)
 * and PAYLOAD; the payload length covers both. */
size_t fr_ipv6(uint8_t *out, const uint8_t *src, const uint8_t *dst, uint8_t nh, uint8_t hlim,
	       const void *payload, size_t len);
/* An ICMPv6 message (type, code, 4 bytes REST, DATA) with its checksum
 * over the pseudo header of SRC and DST. */
size_t fr_icmp6(uint8_t *out, const uint8_t *src, const uint8_t *dst, uint8_t type, uint8_t code,
		uint32_t rest, const void *data, size_t len);
/* A whole frame from the peer: Ethernet to ETH_DST (NULL: MAC_US), IPv6
 * with NH, then PAYLOAD (already holding any extension headers). */
size_t fr_ip6_frame(uint8_t *out, const uint8_t *eth_dst, const uint8_t *src, const uint8_t *dst,
		    uint8_t nh, uint8_t hlim, const void *payload, size_t len);
/* A whole ICMPv6 frame from the peer (MAC_PEER) to MAC_US (or the group's
 * MAC for a multicast DST); HLIM 0: 64. */
size_t fr_icmp6_frame(uint8_t *out, const uint8_t *src, const uint8_t *dst, uint8_t hlim,
		      uint8_t type, uint8_t code, uint32_t rest, const void *data, size_t len);
/* IPv6 on the fixture's interface with IP6_US/64, DAD done, frames cleared. */
void fx_enable_ipv6(struct fx *f);
/* The peer solicits us with its MAC: we then know it (STALE); cleared. */
void fx_learn_peer6(struct fx *f, const uint8_t *peer);
/* The last captured IPv6 packet whose upper layer is ICMPv6 of TYPE (the
 * ICMPv6 message in *MSG, its length in *MLEN), or NULL. */
const uint8_t *cap_last_icmp6(const struct cap *c, uint8_t type, const uint8_t **msg, size_t *mlen);
size_t cap_count_icmp6(const struct cap *c, uint8_t type);
/* Asserts the ICMPv6 checksum of the packet at IP6 verifies. */
void assert_icmp6_csum(const uint8_t *ip6, const uint8_t *msg, size_t mlen);
int fx6_setup(void **state);

/* A deterministic byte pattern for payloads: byte I of stream SEED. */
uint8_t pattern_byte(uint32_t seed, size_t i);
void pattern_fill(uint8_t *buf, size_t len, uint32_t seed);

#endif
