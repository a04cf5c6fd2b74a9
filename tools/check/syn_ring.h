/* --mode syn's fast path: SYNs written as whole Ethernet frames into a
 * PACKET_TX_RING (TPACKET_V2) on the interface the route names, to the
 * next hop's MAC the kernel already knows, many frames per system call.
 * The kernel's IP output (routing, netfilter OUTPUT, neighbour lookup per
 * packet) is skipped, as masscan and zmap skip it.  Whatever the path cannot
 * take (no Ethernet interface, a next hop not yet resolved, a local or
 * special route) goes through the raw socket as before, so the kernel
 * resolves the neighbour for the next probes. */
#ifndef TAPIR_CHECK_SYN_RING_H
#define TAPIR_CHECK_SYN_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "netutil.h"

#define SYN_RING_MAX_HOPS 1024 /* next hops remembered: gateways, on-link hosts */
#define SYN_RING_MAX_IFS 4   /* interfaces with a ring of their own */

struct syn_ring;

/* The fast path, or NULL when this system has none (no AF_PACKET ring):
 * then every SYN takes the raw socket. */
struct syn_ring *syn_ring_open(void);
void syn_ring_close(struct syn_ring *r);

/* The next hop towards DST (a hop index), or -1 when the route is not one
 * the fast path takes; *ONLINK tells a route without gateway (DST itself is
 * the next hop, so hosts sharing the route do not share it).  One netlink
 * question per call: callers ask once per group of hosts sharing a route. */
int syn_ring_route(struct syn_ring *r, const struct nu_addr *dst, bool *onlink);

/* Queues the SYN SRC:SPORT -> DST:DPORT with sequence number ISN (SEG: the
 * TCP header with options, checksum included, LEN bytes) through hop HOP at
 * NOW_US (monotonic).  0 when queued; -1 when the hop's MAC is not (yet)
 * known or the ring stays full: the caller sends it another way. */
int syn_ring_put(struct syn_ring *r, int hop, const struct nu_addr *src, const struct nu_addr *dst,
		 const uint8_t *seg, unsigned len, uint64_t now_us);

/* Hands what is queued to the kernel; a full queue is waited out (bounded). */
void syn_ring_flush(struct syn_ring *r);

#endif
