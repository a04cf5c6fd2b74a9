/*
 * tapir — hooks: bend the stack without forking it.
 *
 * At each layer boundary a hook sees every frame, packet or segment that
 * crosses it, and may let it pass, drop it, or change it in place.  It may
 * also inject frames of its own, and run timers (for delayed frames).
 * A TCP socket may have its segment handler replaced: the handler sees each
 * segment for that socket (or for a listener, each segment that would reach
 * it) before the state machine does, and may consume it, using the helpers
 * below to answer as it likes.
 *
 * Hooks run inside the core (in the stack thread when the socket layer is
 * used), with the time of the call; they must not block.  With no hook set,
 * the only cost is one test of a pointer at each boundary.
 *
 * docs/hacking.md has recipes; tools/personalities/ has examples, one short
 * file each.
 */
#ifndef TAPIR_HOOK_H
#define TAPIR_HOOK_H

#include <stddef.h>
#include <stdint.h>
#include <tapir/addr.h>
#include <tapir/stack.h>
#include <tapir/tcp.h>
#include <tapir/wire.h> /* TAPIR_TH_* */

#ifdef __cplusplus
extern "C" {
#endif

enum tapir_hook_point {
	TAPIR_HOOK_LINK_RX, /* an Ethernet frame, as received */
	TAPIR_HOOK_LINK_TX, /* an Ethernet frame, about to be sent */
	TAPIR_HOOK_IP_RX,   /* an IPv4 or IPv6 packet addressed to us, header checked */
	TAPIR_HOOK_IP_TX,   /* an IPv4 or IPv6 packet (or fragment), about to be resolved and sent */
	TAPIR_HOOK_TCP_RX,  /* a TCP segment, checksum checked, before demux */
	TAPIR_HOOK_TCP_TX,  /* a TCP segment, built, before IP output */
	TAPIR_HOOK_COUNT
};

enum tapir_verdict {
	TAPIR_PASS,   /* go on (if the hook changed the bytes, with the new ones) */
	TAPIR_DROP,   /* stop here; counted, never an error to anyone */
};

/* What a hook sees.  DATA starts at the layer's own header: the Ethernet
 * header for LINK, the IPv4 or IPv6 header for IP, the TCP header for TCP
 * (with the addresses in SADDR and DADDR).  FAMILY says which IP: 4 or 6
 * at the IP and TCP points, and at the LINK points the frame's (by its
 * EtherType; 0 for anything else, such as ARP).  A hook may rewrite bytes
 * in place (then call tapir_hook_fix_checksums) but not change the length.
 *
 * ABI: SADDR/DADDR and FAMILY came after the IPv4-only fields, at the
 * end, so those kept their offsets; a hook built against the old header
 * still sees IPv4 as before, but must be rebuilt to read either family. */
struct tapir_hook_pkt {
	enum tapir_hook_point point;
	int ifindex;                 /* LINK points; -1 elsewhere */
	uint8_t *data;
	size_t len;
	uint32_t src, dst;           /* IP and TCP points, host byte order (IPv4; 0 for IPv6) */
	struct tapir_tcp *sock;      /* TCP: the socket (or listener) concerned, or NULL */
	tapir_time_t now;
	/* IP and TCP points: the addresses, either family (tapir/addr.h:
	 * IPv4 v4-mapped); :: at the LINK points */
	struct tapir_ip saddr, daddr;
	uint8_t family;              /* 4 or 6 (0: a LINK frame that is not IP) */
};

typedef enum tapir_verdict (*tapir_hook_fn)(void *arg, struct tapir_hook_pkt *p);

#define TAPIR_MAX_HOOKS 8 /* per point */
/* 0, or -ENOSPC when the point has TAPIR_MAX_HOOKS already.  Hooks run in
 * the order added. */
int tapir_hook_add(struct tapir_stack *s, enum tapir_hook_point point, tapir_hook_fn fn,
		   void *arg);
void tapir_hook_remove(struct tapir_stack *s, enum tapir_hook_point point, tapir_hook_fn fn,
		       void *arg);

/* Recomputes the checksums of what P holds after a hook changed it: for a
 * LINK point the IP packet in the frame, for IP the packet, for TCP the
 * segment.  Either family: IPv4's header checksum, and the TCP, UDP, ICMP
 * or ICMPv6 checksum with its pseudo-header (RFC 9293 3.1, RFC 768,
 * RFC 8200 8.1), except in a fragment, whose checksum covers the whole
 * datagram. */
void tapir_hook_fix_checksums(struct tapir_hook_pkt *p);

/* Where the transport header starts in what P holds: its offset in
 * P->data (0 at a TCP point), with its protocol (TAPIR_IPPROTO_*) in
 * PROTO; for IPv6, past the extension headers.  -1 when there is none to
 * read: not IP, a fragment after the first, a header chain beyond the
 * packet. */
int tapir_hook_l4(const struct tapir_hook_pkt *p, uint8_t *proto);

/* Hands FRAME to the stack as if received on IFINDEX (RX: link hooks are
 * NOT run again), or sends it out of IFINDEX as it is (TX: link tx hooks
 * are not run again).  0 or a negative errno. */
int tapir_inject_rx(struct tapir_stack *s, int ifindex, const uint8_t *frame, size_t len,
		    tapir_time_t now);
int tapir_inject_tx(struct tapir_stack *s, int ifindex, const uint8_t *frame, size_t len,
		    tapir_time_t now);

/* A timer for hooks: FN(arg, now) runs from tapir_stack_poll when its
 * deadline has come and returns the next one (TAPIR_TIME_NEVER: done).
 * One per stack; 0 or -EBUSY. */
typedef tapir_time_t (*tapir_hook_timer_fn)(void *arg, tapir_time_t now);
int tapir_hook_set_timer(struct tapir_stack *s, tapir_hook_timer_fn fn, void *arg,
			 tapir_time_t first);
/* Asks for the hook timer to run at WHEN (or earlier if already due). */
void tapir_hook_timer_at(struct tapir_stack *s, tapir_time_t when);

/* ---- replacing a TCP socket's segment handler ---- */

/* A parsed segment, as a handler sees it. */
struct tapir_tcp_seg {
	uint32_t src, dst;       /* host byte order; 0 over IPv6 */
	uint16_t sport, dport;
	uint32_t seq, ack, wnd;
	uint8_t flags;           /* TAPIR_TH_* */
	uint8_t reserved;        /* the 4 reserved bits of byte 12 (RFC 9293 3.1) */
	const uint8_t *data;
	uint32_t len;
	uint16_t mss;            /* the MSS option, 0 if absent */
	struct tapir_ip saddr, daddr; /* either family (tapir/addr.h: IPv4 v4-mapped) */
};
/* The flags TAPIR_TH_FIN ... TAPIR_TH_CWR are tapir/wire.h's. */
/* RFC 9401: the "Death" flag, the first reserved bit of byte 12 */
#define TAPIR_TH_RES_DTH 0x08

/* Returns TAPIR_PASS to let the state machine handle SEG as usual, or
 * TAPIR_DROP when the handler dealt with it.  T is the socket the segment
 * reached: a connection, or a listener for segments that match none. */
typedef enum tapir_verdict (*tapir_tcp_handler_fn)(void *arg, struct tapir_tcp *t,
						   const struct tapir_tcp_seg *seg);
/* The connection with this 4-tuple (host byte order), else the listener
 * for LADDR:LPORT, else NULL. */
struct tapir_tcp *tapir_tcp_lookup(struct tapir_stack *s, uint32_t laddr, uint16_t lport,
				   uint32_t raddr, uint16_t rport);
/* ... with addresses of either family */
struct tapir_tcp *tapir_tcp_lookup_addr(struct tapir_stack *s, const struct tapir_ip *laddr,
					uint16_t lport, const struct tapir_ip *raddr, uint16_t rport);

/* Children of a listener inherit its handler. */
void tapir_tcp_set_handler(struct tapir_tcp *t, tapir_tcp_handler_fn fn, void *arg);

/* Helpers a handler may call. */
struct tapir_tcp_out {
	uint32_t laddr, raddr;   /* host byte order (IPv4, when RADDR6 is ::) */
	uint16_t lport, rport;
	uint32_t seq, ack, wnd;
	uint8_t flags;           /* TAPIR_TH_* */
	uint8_t reserved;        /* reserved bits, e.g. TAPIR_TH_RES_DTH */
	uint16_t mss;            /* adds an MSS option when not 0 */
	const void *data;
	size_t len;
	struct tapir_ip laddr6, raddr6; /* IPv6: used when RADDR6 is an IPv6 address (not ::,
				 * not v4-mapped); IPv4 takes LADDR and RADDR */
};
/* Sends one segment exactly as described (no socket state changes). */
int tapir_tcp_send_raw(struct tapir_stack *s, const struct tapir_tcp_out *o, tapir_time_t now);
/* The segment's reply addresses filled in from SEG (the usual start). */
void tapir_tcp_out_reply(struct tapir_tcp_out *o, const struct tapir_tcp_seg *seg);
/* Moves T to state ST (trace line included); for personalities that play
 * with states.  TAPIR_TCP_CLOSED ends it as an abort would, without RST. */
void tapir_tcp_force_state(struct tapir_tcp *t, enum tapir_tcp_state st, tapir_time_t now);

/* RFC 9401: reserved bits to set on this connection's data segments, and
 * what has been received.  A received DTH is only reported (an event
 * TAPIR_EV_DTH, tapir/events.h; a trace line), never acted on (RFC 9401
 * 3.1). */
void tapir_tcp_set_tx_reserved(struct tapir_tcp *t, uint8_t bits);
uint8_t tapir_tcp_rx_reserved(const struct tapir_tcp *t);

#ifdef __cplusplus
}
#endif
#endif
