/*
 * tapir — a DHCPv4 client (RFC 2131, options RFC 2132) in the core.
 *
 * One lease per stack, on one interface.  Like the rest of the core it is
 * driven by tapir_stack_input and tapir_stack_poll with the time passed
 * in: tapir_dhcp_start sends the first DISCOVER at once, and the stack's
 * poll does the rest (retransmission, the ARP check of an offered address,
 * renewing at T1, rebinding at T2, expiry).  The address, its connected
 * route and a default route through the server's router come and go with
 * the lease; tapir_dhcp_lease tells what it is.
 *
 * Beside it, the stateless DHCPv6 client (RFC 8415 6.1): Information-request
 * and Reply for the DNS servers (RFC 3646) and the domain search list, no
 * addresses (those come from SLAAC).  tapir_dhcp6_start.
 */
#ifndef TAPIR_DHCP_H
#define TAPIR_DHCP_H

#include <stdbool.h>
#include <stdint.h>
#include <tapir/stack.h>

#ifdef __cplusplus
extern "C" {
#endif

/* RFC 2131 4.4 Figure 5's states, and PROBING: the ARP check of 4.4.1
 * (RFC 5227 2.1) between the DHCPACK and the use of the address. */
enum tapir_dhcp_state {
	TAPIR_DHCP_OFF = 0, TAPIR_DHCP_INIT, TAPIR_DHCP_SELECTING, TAPIR_DHCP_REQUESTING,
	TAPIR_DHCP_PROBING, TAPIR_DHCP_BOUND, TAPIR_DHCP_RENEWING, TAPIR_DHCP_REBINDING,
};

#define TAPIR_DHCP_DNS_MAX 3 /* DNS servers kept from option 6 */

struct tapir_dhcp_lease {
	enum tapir_dhcp_state state;
	int ifindex;
	uint32_t addr;             /* 0 until bound (host byte order) */
	unsigned prefix_len;       /* from the subnet mask option (1) */
	uint32_t router;           /* option 3's first router, 0: none */
	uint32_t server;           /* the server identifier (option 54) */
	uint32_t dns[TAPIR_DHCP_DNS_MAX];
	unsigned ndns;
	uint32_t lease_secs;       /* option 51; 0xffffffff: infinite */
	tapir_time_t t1, t2, expires; /* absolute times; TAPIR_TIME_NEVER: infinite */
	tapir_time_t started;      /* when the client last went to INIT */
	unsigned leases;           /* DHCPACKs taken so far (a renewal counts) */
	unsigned declines;         /* addresses found in use and declined */
	bool release_waiting;      /* the DHCPRELEASE waits for ARP to resolve */
};

/* Starts the client on IFINDEX, an interface without an IPv4 address:
 * the first DISCOVER goes out now (RFC 2131 4.4.1's 1-10 s random delay is
 * for many hosts booting at once).  -EINVAL, -EBUSY (already running),
 * -EADDRINUSE (UDP port 68 taken), -ENOMEM. */
int tapir_dhcp_start(struct tapir_stack *s, int ifindex, tapir_time_t now);
/* RFC 2131 4.4.6: gives the lease back (DHCPRELEASE to the server) and
 * removes the address; the client stops.  Nothing sent without a lease. */
void tapir_dhcp_release(struct tapir_stack *s, tapir_time_t now);
/* The client's state and lease; -ENOENT when it was never started. */
int tapir_dhcp_lease(const struct tapir_stack *s, struct tapir_dhcp_lease *l);
const char *tapir_dhcp_state_name(enum tapir_dhcp_state st);

/* ---- DHCPv6, stateless (RFC 8415 6.1, 18.2.6) ---- */

/* OFF; WAITING for a router advertisement with the O (or M) flag (RFC 4861
 * 4.2); REQUESTING: an Information-request exchange (RFC 8415 15's
 * retransmission, forever); DONE: a Reply taken, the next exchange at its
 * Information Refresh Time (21.23). */
enum tapir_dhcp6_state {
	TAPIR_DHCP6_OFF = 0, TAPIR_DHCP6_WAITING, TAPIR_DHCP6_REQUESTING, TAPIR_DHCP6_DONE,
};

#define TAPIR_DHCP6_DNS_MAX 3     /* DNS servers kept from option 23 */
#define TAPIR_DHCP6_SEARCH_MAX 6  /* names kept from option 24 */
#define TAPIR_DHCP6_NAME_MAX 254  /* RFC 1035 3.1: 255 octets on the wire -> 253 chars + NUL */
#define TAPIR_DHCP6_NOW 1u        /* tapir_dhcp6_start: ask without waiting for an RA */

struct tapir_dhcp6_info {
	enum tapir_dhcp6_state state;
	int ifindex;
	uint8_t dns[TAPIR_DHCP6_DNS_MAX][16];
	unsigned ndns;
	char search[TAPIR_DHCP6_SEARCH_MAX][TAPIR_DHCP6_NAME_MAX]; /* "example.test" */
	unsigned nsearch;
	uint8_t server[16];        /* the last Reply's source address */
	uint32_t refresh_secs;     /* the refresh time in use; 0xffffffff: never */
	tapir_time_t refresh_at;   /* TAPIR_TIME_NEVER: never */
	uint32_t inf_max_rt;       /* seconds: the MRT of the next exchanges (21.25) */
	unsigned requests;         /* Information-requests sent */
	unsigned replies;          /* Replies taken (a refresh counts) */
	unsigned changes;          /* Replies whose servers or names differed from before */
};

/* Starts the client on IFINDEX, an interface with IPv6 on (its link-local
 * address is the source): it asks once a router advertisement carries the
 * O or M flag, or with TAPIR_DHCP6_NOW at once (after RFC 8415 18.2.6's
 * random delay of up to 1 s, and DAD of the link-local address).  One
 * client per stack.  -EINVAL, -EBUSY (already running), -EADDRINUSE (UDP
 * port 546 taken), -ENOMEM. */
int tapir_dhcp6_start(struct tapir_stack *s, int ifindex, unsigned flags, tapir_time_t now);
/* Stops the client (RFC 8415 18.2.6 has nothing to give back). */
void tapir_dhcp6_stop(struct tapir_stack *s);
/* What the client knows; -ENOENT when it was never started. */
int tapir_dhcp6_info(const struct tapir_stack *s, struct tapir_dhcp6_info *i);
const char *tapir_dhcp6_state_name(enum tapir_dhcp6_state st);

#ifdef __cplusplus
}
#endif
#endif
