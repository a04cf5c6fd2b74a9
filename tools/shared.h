/* --shared-addr: tapir on the interface's own MAC and IPv4 address, beside
 * the kernel (docs/shared-addr.md).  tapir owns a port range (default
 * 61000-65535) and the ports it listens on; everything else on the address
 * stays the kernel's.  Shared by tapir host, tapir run and tapir check
 * --mode stack. */
#ifndef TAPIR_TOOLS_SHARED_H
#define TAPIR_TOOLS_SHARED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tapir/tapir.h>

#define SHARED_PORTS_LO 61000 /* above Linux's default ephemeral range (32768-60999) */
#define SHARED_PORTS_HI 65535

struct shared_addr {
	const char *iface;
	uint16_t lo, hi;      /* tapir's own port range */
	/* found on the interface by shared_discover */
	uint8_t mac[6];
	uint32_t addr, gw;    /* host byte order; gw 0 when the kernel has no default route there */
	unsigned plen;
	/* the interface's global IPv6 address (--shared-addr6's, else the
	 * fittest: stable before temporary before deprecated, never tentative),
	 * and the kernel's IPv6 default router through it (network order),
	 * when it has them */
	uint8_t addr6[16], gw6[16];
	unsigned plen6, n_addr6; /* n_addr6: the interface's global addresses */
	bool have_addr6, have_gw6;
	uint8_t want6[16];    /* --shared-addr6 ADDR */
	bool want6_given;
	int want6_rank;
	uint8_t own[8192];    /* bit P: port P is tapir's (TCP and UDP) */
	/* what the filter kept from the core (the kernel's, not tapir's) */
	uint64_t ignored_tcp, ignored_udp, ignored_icmp, ignored_other, held_arp, held_icmp;
};

/* --ports A-B into SA's range.  0, or -1 with the reason in ERR. */
int shared_parse_ports(struct shared_addr *sa, const char *arg, char *err, size_t errlen);
/* --shared-addr6 ADDR: which of the interface's global IPv6 addresses
 * tapir shares (checked by shared_discover).  0, or -1 with the reason in
 * ERR. */
int shared_parse_addr6(struct shared_addr *sa, const char *arg, char *err, size_t errlen);
/* Reads SA->iface's MAC, first IPv4 address and prefix, a global IPv6
 * address and prefix (if any: --shared-addr6's, else the fittest), and the kernel's default gateways through
 * it; checks the range against the kernel's
 * ephemeral range (net.ipv4.ip_local_port_range) and its listeners, and
 * owns the range.  0, or -1 with the reason in ERR. */
int shared_discover(struct shared_addr *sa, char *err, size_t errlen);
/* Owns PORT too (one tapir listens on), unless the kernel listens on it or
 * could pick it as an ephemeral port.  0, or -1 with the reason in ERR. */
int shared_own_port(struct shared_addr *sa, uint16_t port, char *err, size_t errlen);
/* Owns the ports of S's TCP listeners (call with the stack not running or
 * its lock held).  0, or -1 with the reason in ERR. */
int shared_own_listeners(struct shared_addr *sa, struct tapir_stack *s, char *err,
			 size_t errlen);
/* Adds the stack's hooks that keep tapir to what it owns: TCP and UDP to
 * other ports ignored silently (no RST, no ICMP port unreachable), no ARP
 * answers or announcements, no echo replies, no ICMP errors; over IPv6
 * the same, with neighbour discovery in ARP's place (no advertisements,
 * no duplicate address detection: the address is the kernel's) and no MLD
 * reports or router solicitations.  Before the
 * interface gets its address (which announces it).  The hooks read the
 * owned ports as they are when a packet comes.  0, or -1 with the reason
 * in ERR. */
int shared_hooks(struct shared_addr *sa, struct tapir_stack *s, char *err, size_t errlen);
/* Owns the ports of S's TCP listeners (S may be NULL), then installs the
 * nftables guard for all owned ports (nftguard.h).  Before the stack runs.
 * 0, or -1 with the reason in ERR (nothing installed). */
int shared_guard(struct shared_addr *sa, struct tapir_stack *s, char *err, size_t errlen);
/* " shared=IF ports=A-B" for a ready line. */
void shared_describe(const struct shared_addr *sa, char *buf, size_t len);
/* One stderr line with what the filter ignored. */
void shared_report(const struct shared_addr *sa);

#endif
