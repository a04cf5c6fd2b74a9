/* tapir host --addr dhcp: the core's DHCPv4 client (include/tapir/dhcp.h)
 * started on the host's interface, waited for before `ready`, watched for
 * changes of the lease's address, and released on exit.  With IPv6 on
 * (--addr slaac or an IPv6 --addr), its stateless DHCPv6 client too, which
 * asks when a router advertisement has the O flag: a line for the DNS
 * servers and search list it learns. */
#ifndef TAPIR_TOOLS_HOST_DHCP_H
#define TAPIR_TOOLS_HOST_DHCP_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <tapir/socket.h>
#include <tapir/tapir.h>

struct host_dhcp {
	bool on;                /* --addr dhcp */
	uint32_t seen;          /* the address host_dhcp_watch last saw */
	unsigned seen_plen;
	bool v6;                /* the DHCPv6 client runs */
	unsigned seen6;         /* the DHCPv6 changes host_dhcp6_watch last printed */
};

/* --addr ARG is "dhcp": noted, true. */
bool host_dhcp_option(struct host_dhcp *d, const char *arg);
/* Starts the client on IFINDEX (before the stack thread runs); dies on
 * failure. */
void host_dhcp_start(struct host_dhcp *d, struct tapir_stack *s, int ifindex);
/* Waits (stack running) until a lease is bound, waking to signals of
 * ORIG's mask; says so on stderr once after 10 s without one.  The address
 * and prefix length in *ADDR, *PLEN; false when *STOP was set first. */
bool host_dhcp_wait(struct host_dhcp *d, struct tapir_net *net, struct tapir_stack *s,
		    const sigset_t *orig, volatile sig_atomic_t *stop, uint32_t *addr,
		    unsigned *plen);
/* One line on F when the lease's address was gained, lost or changed since
 * the last call ("address 10.0.0.50/24 added").  Under the net's lock. */
void host_dhcp_watch(struct host_dhcp *d, FILE *f, struct tapir_stack *s);
/* Starts the DHCPv6 client on IFINDEX when IPV6 (waiting for an RA with
 * the O flag; before the stack thread runs); dies on failure. */
void host_dhcp6_start(struct host_dhcp *d, struct tapir_stack *s, int ifindex, bool ipv6);
/* One line on F when the DHCPv6 client learned DNS servers and a search
 * list, or they changed: "dhcp6 dns fd00::53 search example.test".  Under
 * the net's lock. */
void host_dhcp6_watch(struct host_dhcp *d, FILE *f, struct tapir_stack *s);
/* RFC 2131 4.4.6 on exit: DHCPRELEASE, and a moment for it to leave
 * (the server's MAC may still need resolving).  Not under the lock. */
void host_dhcp_release(struct host_dhcp *d, struct tapir_net *net, struct tapir_stack *s);

#endif
