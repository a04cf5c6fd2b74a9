/* Route and neighbour questions to the kernel (rtnetlink), for syn_ring.c. */
#ifndef TAPIR_CHECK_SYN_HOP_H
#define TAPIR_CHECK_SYN_HOP_H

#include <stdbool.h>
#include <stdint.h>

#include "netutil.h"

/* A next hop: the interface and the address whose MAC frames go to (the
 * route's gateway, or the target itself when it is on-link). */
struct syn_hop {
	int family;
	int ifindex;
	bool gw;          /* ADDR is the route's gateway (else the target) */
	uint8_t addr[16]; /* IPv4 in the first 4, network order */
};

/* A netlink socket for the questions, or -1. */
int syn_hop_open(void);
/* The next hop towards DST: 0, or -1 when the route is not plain unicast
 * through one interface (local, blackhole, multipath...) or unknown. */
int syn_hop_route(int fd, const struct nu_addr *dst, struct syn_hop *h);
/* The MAC of H as the kernel's neighbour table has it: 0, or -1 when it
 * has none usable (not resolved yet, failed). */
int syn_hop_mac(int fd, const struct syn_hop *h, uint8_t mac[6]);

#endif
