/* --shared-addr: see shared.h and docs/shared-addr.md.
 *
 * The kernel and tapir hold one address.  They split it by port: tapir
 * owns a range outside the kernel's ephemeral range plus the ports it
 * listens on, the kernel everything else.  Both see every frame (tapir
 * through its AF_PACKET copy), so each must ignore what is the other's:
 * the nftables guard (nftguard.c) keeps the kernel off tapir's ports, and
 * the hooks here keep tapir off the kernel's: segments and datagrams to
 * other ports never reach the core (no RST, no ICMP port unreachable),
 * and what the kernel already answers for the address (ARP, ICMP echo and
 * the other queries, ICMP errors, other protocols) tapir never sends. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nftguard.h"
#include "shared.h"
#include <tapir/addr.h>
#include <tapir/stack.h>
#include <tapir/hook.h>
#include <tapir/tcp.h>
#include <tapir/wire.h>

#define OWNS(sa, p) ((sa)->own[(p) >> 3] & (1u << ((p) & 7)))

int shared_parse_ports(struct shared_addr *sa, const char *arg, char *err, size_t errlen)
{
	unsigned lo, hi;
	char tail;
	if (sscanf(arg, "%u-%u%c", &lo, &hi, &tail) != 2 || lo < 1024 || hi > 65535 || lo > hi) {
		snprintf(err, errlen, "--ports: '%s' is not a range A-B of ports from 1024 to 65535",
			 arg);
		return -1;
	}
	sa->lo = (uint16_t)lo;
	sa->hi = (uint16_t)hi;
	return 0;
}

/* The kernel's ephemeral range, net.ipv4.ip_local_port_range, as seen in
 * this network namespace. */
static int ephemeral_range(unsigned *lo, unsigned *hi, char *err, size_t errlen)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	int n = f ? fscanf(f, "%u %u", lo, hi) : 0;
	if (f)
		fclose(f);
	if (n != 2) {
		snprintf(err, errlen, "--shared-addr: cannot read /proc/sys/net/ipv4/ip_local_port_range");
		return -1;
	}
	return 0;
}

/* Does a /proc/net/{tcp,udp}[6] local address cover SA's?  The wildcard,
 * the IPv4 address itself or ::ffff: it, or the IPv6 one.  The files print
 * each 32-bit word of the address in host order. */
static bool covers(const char *hex, const struct shared_addr *sa)
{
	char v4[9], v6[33];
	snprintf(v4, sizeof(v4), "%08X", htonl(sa->addr));
	if (strlen(hex) == 8)
		return !strcmp(hex, "00000000") || !strcasecmp(hex, v4);
	if (strlen(hex) != 32)
		return false;
	if (!strcmp(hex, "00000000000000000000000000000000"))
		return true;
	for (int w = 0; w < 4; w++) {
		uint32_t x;
		memcpy(&x, sa->addr6 + 4 * w, 4);
		snprintf(v6 + 8 * w, 9, "%08X", x);
	}
	if (sa->have_addr6 && !strcasecmp(hex, v6))
		return true;
	return !strncasecmp(hex, "0000000000000000FFFF0000", 24) && !strcasecmp(hex + 24, v4);
}

/* The first port in [LO, HI] the kernel holds on SA's addresses: a TCP
 * listener or a bound UDP socket, IPv4 or IPv6 (dual-stack sockets take
 * IPv4 too).  0: none. */
static unsigned kernel_port_in(const struct shared_addr *sa, unsigned lo, unsigned hi,
			       const char **proto)
{
	static const char *const files[] = {"/proc/net/tcp", "/proc/net/tcp6", "/proc/net/udp",
					    "/proc/net/udp6"};
	for (unsigned i = 0; i < 4; i++) {
		FILE *f = fopen(files[i], "r");
		char line[512];
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			char local[40];
			unsigned port, st;
			if (sscanf(line, " %*u: %39[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", local, &port,
				   &st) != 3)
				continue; /* the header line */
			if (i < 2 && st != 0x0A) /* TCP_LISTEN */
				continue;
			if (port >= lo && port <= hi && covers(local, sa)) {
				fclose(f);
				*proto = i < 2 ? "TCP" : "UDP";
				return port;
			}
		}
		fclose(f);
	}
	return 0;
}

/* The kernel's default gateway through IFACE (/proc/net/route), or 0. */
static uint32_t kernel_gateway(const char *iface)
{
	FILE *f = fopen("/proc/net/route", "r");
	char line[256], name[IF_NAMESIZE + 1];
	unsigned dst, gw, flags;
	uint32_t r = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%16s %x %x %x", name, &dst, &gw, &flags) == 4 && dst == 0 &&
		    (flags & 2) /* RTF_GATEWAY */ && !strcmp(name, iface)) {
			r = ntohl(gw);
			break;
		}
	fclose(f);
	return r;
}

/* The kernel's IPv6 default router through IFACE (/proc/net/ipv6_route:
 * destination, its length, source, its length, next hop, metric,
 * reference and use counts, flags, device; addresses as 32 hex digits in
 * network order) into SA->gw6. */
static void kernel_gateway6(struct shared_addr *sa)
{
	FILE *f = fopen("/proc/net/ipv6_route", "r");
	char dst[33], nh[33], name[IF_NAMESIZE + 1];
	unsigned dlen, flags;
	if (!f)
		return;
	while (!sa->have_gw6 &&
	       fscanf(f, "%32s %x %*32s %*x %32s %*x %*x %*x %x %16s", dst, &dlen, nh, &flags,
		      name) == 5) {
		if (dlen || strcmp(dst, "00000000000000000000000000000000") || !(flags & 2) ||
		    strcmp(name, sa->iface)) /* (2: RTF_GATEWAY) */
			continue;
		for (int i = 0; i < 16; i++) {
			unsigned b;
			sscanf(nh + 2 * i, "%2x", &b);
			sa->gw6[i] = (uint8_t)b;
		}
		sa->have_gw6 = true;
	}
	fclose(f);
}

/* /proc/net/if_inet6's flags of IFACE's address A (IFA_F_*: the kernel's
 * view of it, which getifaddrs does not give), or -1 when it is not there.
 * A line: address (32 hex digits), interface index, prefix length, scope,
 * flags, name. */
static int addr6_flags(const char *iface, const uint8_t a[16])
{
	FILE *f = fopen("/proc/net/if_inet6", "r");
	char hex[33], want[33], name[IF_NAMESIZE + 1];
	unsigned flags;
	int r = -1;
	if (!f)
		return -1;
	for (int k = 0; k < 16; k++)
		snprintf(want + 2 * k, 3, "%02x", a[k]);
	while (r < 0 && fscanf(f, "%32s %*x %*x %*x %x %16s", hex, &flags, name) == 3)
		if (!strcasecmp(hex, want) && !strcmp(name, iface))
			r = (int)flags;
	fclose(f);
	return r;
}

#define A6_TEMPORARY 0x01  /* IFA_F_TEMPORARY: RFC 8981's privacy address */
#define A6_DADFAILED 0x08  /* IFA_F_DADFAILED */
#define A6_DEPRECATED 0x20 /* IFA_F_DEPRECATED: preferred lifetime over */
#define A6_TENTATIVE 0x40  /* IFA_F_TENTATIVE: DAD not done */

/* How fit a global address with kernel FLAGS is to be shared, 0 best:
 * a stable preferred one, then a temporary one (it goes away when it
 * expires, RFC 8981 3.4, and tapir's connections with it), then a
 * deprecated one (not for new communication, RFC 4862 5.5.4); -1: not
 * usable (tentative or duplicate: the kernel does not receive on it). */
static int addr6_rank(int flags)
{
	if (flags < 0 || (flags & (A6_TENTATIVE | A6_DADFAILED)))
		return -1;
	if (flags & A6_DEPRECATED)
		return 2;
	return (flags & A6_TEMPORARY) ? 1 : 0;
}

/* Interface entry I's IPv6 address, if global (not link-local: tapir has
 * its own from the MAC; RFC 4291 2.5.6): with --shared-addr6 the one it
 * names, else the fittest (addr6_rank), the first listed among equals.
 * *RANK: the rank taken so far (3: none). */
static void take_addr6(struct shared_addr *sa, const struct ifaddrs *i, int *rank)
{
	const uint8_t *a = ((const struct sockaddr_in6 *)(const void *)i->ifa_addr)->sin6_addr.s6_addr;
	const uint8_t *m;
	int r;
	if (!i->ifa_netmask || tapir_ipv6_is_link_local(a) || tapir_ipv6_is_loopback(a) ||
	    tapir_ipv6_is_multicast(a))
		return;
	sa->n_addr6++;
	if (sa->want6_given && memcmp(a, sa->want6, 16))
		return;
	r = addr6_rank(addr6_flags(sa->iface, a));
	if (sa->want6_given)
		sa->want6_rank = r < 0 ? -1 : 0;
	else if (r < 0 || r >= *rank)
		return;
	*rank = r < 0 ? 0 : r;
	m = ((const struct sockaddr_in6 *)(const void *)i->ifa_netmask)->sin6_addr.s6_addr;
	memcpy(sa->addr6, a, 16);
	sa->plen6 = 0;
	for (int k = 0; k < 16; k++)
		sa->plen6 += (unsigned)__builtin_popcount(m[k]);
	sa->have_addr6 = true;
}

int shared_parse_addr6(struct shared_addr *sa, const char *arg, char *err, size_t errlen)
{
	if (tapir_parse_ipv6(arg, sa->want6, NULL) || tapir_ipv6_is_link_local(sa->want6) ||
	    tapir_ipv6_is_multicast(sa->want6) || tapir_ipv6_is_loopback(sa->want6) ||
	    tapir_ipv6_is_unspecified(sa->want6)) {
		snprintf(err, errlen, "--shared-addr6: '%s' is not a global IPv6 address such as 2001:db8::5 (no /LEN: the interface's prefix is used)",
			 arg);
		return -1;
	}
	sa->want6_given = true;
	return 0;
}

/* --shared-addr6 ADDR: the address must be IF's own, and usable. */
static int check_want6(const struct shared_addr *sa, char *err, size_t errlen)
{
	char a[48];
	if (!sa->want6_given)
		return 0;
	tapir_ipv6_str(sa->want6, a);
	if (!sa->have_addr6) {
		snprintf(err, errlen, "--shared-addr6: %s is not an address of %s (it has %u global IPv6 address%s: `ip -6 addr show dev %s`)",
			 a, sa->iface, sa->n_addr6, sa->n_addr6 == 1 ? "" : "es", sa->iface);
		return -1;
	}
	if (sa->want6_rank < 0) {
		snprintf(err, errlen, "--shared-addr6: %s on %s is tentative or a duplicate (duplicate address detection, RFC 4862 5.4): not usable",
			 a, sa->iface);
		return -1;
	}
	return 0;
}

static int find_addresses(struct shared_addr *sa, char *err, size_t errlen)
{
	struct ifaddrs *ifa, *i;
	bool have_mac = false;
	int rank6 = 3;
	if (getifaddrs(&ifa) < 0) {
		snprintf(err, errlen, "--shared-addr: cannot list the interfaces: %s", strerror(errno));
		return -1;
	}
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || strcmp(i->ifa_name, sa->iface))
			continue;
		if (i->ifa_addr->sa_family == AF_PACKET) {
			const struct sockaddr_ll *ll = (const void *)i->ifa_addr;
			if (ll->sll_halen == 6) {
				memcpy(sa->mac, ll->sll_addr, 6);
				have_mac = true;
			}
		} else if (i->ifa_addr->sa_family == AF_INET && !sa->addr && i->ifa_netmask) {
			sa->addr = ntohl(((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr.s_addr);
			sa->plen = (unsigned)__builtin_popcount(
				((const struct sockaddr_in *)(const void *)i->ifa_netmask)->sin_addr.s_addr);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			take_addr6(sa, i, &rank6);
		}
	}
	freeifaddrs(ifa);
	if (!have_mac) {
		snprintf(err, errlen, "--shared-addr: no Ethernet interface %s in this network namespace",
			 sa->iface);
		return -1;
	}
	if (!sa->addr) {
		snprintf(err, errlen, "--shared-addr: interface %s has no IPv4 address to share",
			 sa->iface);
		return -1;
	}
	return check_want6(sa, err, errlen);
}

int shared_discover(struct shared_addr *sa, char *err, size_t errlen)
{
	unsigned elo, ehi, p;
	const char *proto;
	char a[16];
	if (!sa->lo) {
		sa->lo = SHARED_PORTS_LO;
		sa->hi = SHARED_PORTS_HI;
	}
	if (find_addresses(sa, err, errlen) < 0 || ephemeral_range(&elo, &ehi, err, errlen) < 0)
		return -1;
	/* the kernel picks its own connections' ports there (and would see
	 * their replies dropped by the guard) */
	if (sa->lo <= ehi && sa->hi >= elo) {
		snprintf(err, errlen, "--ports %u-%u overlaps the kernel's ephemeral ports %u-%u (net.ipv4.ip_local_port_range): choose a range outside it",
			 sa->lo, sa->hi, elo, ehi);
		return -1;
	}
	if ((p = kernel_port_in(sa, sa->lo, sa->hi, &proto))) {
		snprintf(err, errlen, "--ports %u-%u: the kernel has a %s socket on port %u of %s: choose a range without it",
			 sa->lo, sa->hi, proto, p, tapir_ipv4_str(sa->addr, a));
		return -1;
	}
	for (p = sa->lo; p <= sa->hi; p++)
		sa->own[p >> 3] |= (uint8_t)(1u << (p & 7));
	sa->gw = kernel_gateway(sa->iface);
	if (sa->have_addr6)
		kernel_gateway6(sa);
	return 0;
}

int shared_own_port(struct shared_addr *sa, uint16_t port, char *err, size_t errlen)
{
	unsigned elo, ehi;
	const char *proto;
	char a[16];
	if (OWNS(sa, port))
		return 0;
	if (ephemeral_range(&elo, &ehi, err, errlen) < 0)
		return -1;
	if (port >= elo && port <= ehi) {
		snprintf(err, errlen, "--shared-addr: port %u is in the kernel's ephemeral range %u-%u: tapir cannot listen there",
			 port, elo, ehi);
		return -1;
	}
	if (kernel_port_in(sa, port, port, &proto)) {
		snprintf(err, errlen, "--shared-addr: the kernel has a %s socket on port %u of %s: tapir cannot listen there too",
			 proto, port, tapir_ipv4_str(sa->addr, a));
		return -1;
	}
	sa->own[port >> 3] |= (uint8_t)(1u << (port & 7));
	return 0;
}

struct listeners {
	uint16_t ports[256];
	unsigned n;
};

static void note_listener(void *arg, const struct tapir_tcp *t)
{
	struct listeners *l = arg;
	uint32_t addr;
	uint16_t port;
	if (tapir_tcp_state(t) != TAPIR_TCP_LISTEN || l->n == 256)
		return;
	tapir_tcp_local(t, &addr, &port);
	l->ports[l->n++] = port;
}

int shared_own_listeners(struct shared_addr *sa, struct tapir_stack *s, char *err,
			 size_t errlen)
{
	struct listeners l = {.n = 0};
	tapir_tcp_foreach(s, note_listener, &l);
	for (unsigned i = 0; i < l.n; i++)
		if (shared_own_port(sa, l.ports[i], err, errlen) < 0)
			return -1;
	return 0;
}

/* ---- the hooks ---- */

/* A TCP segment or UDP datagram (PROTO) whose header L4 has LEN bytes:
 * tapir's when it is to one of its ports, else the kernel's, ignored. */
static enum tapir_verdict port_verdict(struct shared_addr *sa, uint8_t proto, const uint8_t *l4,
				       size_t len)
{
	if (len >= 4 && OWNS(sa, tapir_get16(l4 + 2)))
		return TAPIR_PASS;
	if (proto == TAPIR_IPPROTO_TCP)
		sa->ignored_tcp++;
	else
		sa->ignored_udp++;
	return TAPIR_DROP;
}

/* IPv6 in: as IPv4's below, with ICMPv6 (RFC 4443) errors and echo
 * replies, and of neighbour discovery (RFC 4861) what tapir needs to
 * send: advertisements (its neighbours' addresses), router advertisements
 * and redirects.  Solicitations, MLD queries and echo requests are the
 * kernel's to answer. */
static enum tapir_verdict ip6_rx(struct shared_addr *sa, struct tapir_hook_pkt *p)
{
	uint8_t nh;
	int off = tapir_ipv6_upper(p->data, p->len, &nh);
	if (off < 0)
		return TAPIR_PASS; /* a later fragment: no ports; its first one decides */
	if (nh == TAPIR_IPPROTO_TCP || nh == TAPIR_IPPROTO_UDP)
		return port_verdict(sa, nh, p->data + off, p->len - (size_t)off);
	if (nh == TAPIR_IPPROTO_ICMPV6 && p->len > (size_t)off) {
		switch (p->data[off]) {
		case TAPIR_ICMP6_UNREACH:
		case TAPIR_ICMP6_PKT_TOO_BIG:
		case TAPIR_ICMP6_TIME_EXCEEDED:
		case TAPIR_ICMP6_PARAM_PROBLEM:
		case TAPIR_ICMP6_ECHO_REPLY:
		case TAPIR_ICMP6_ROUTER_ADVERT:
		case TAPIR_ICMP6_NEIGHBOR_ADVERT:
		case TAPIR_ICMP6_REDIRECT:
			return TAPIR_PASS;
		}
		sa->ignored_icmp++;
		return TAPIR_DROP;
	}
	sa->ignored_other++;
	return TAPIR_DROP;
}

/* IPv4 in: TCP and UDP to tapir's ports, ICMP errors (they may concern
 * tapir's connections; the core matches them to its own or ignores them)
 * and echo replies (tapir's --ping).  The rest is the kernel's. */
static enum tapir_verdict ip_rx(void *arg, struct tapir_hook_pkt *p)
{
	struct shared_addr *sa = arg;
	size_t hl = (size_t)(p->data[0] & 15) * 4;
	uint8_t proto = p->data[9];
	const uint8_t *l4 = p->data + hl;
	if (p->family == 6)
		return ip6_rx(sa, p);
	if (p->family != 4)
		return TAPIR_PASS;
	if (tapir_get16(p->data + 6) & 0x1fff)
		return TAPIR_PASS; /* a later fragment: no ports; its first one decides */
	if (proto == TAPIR_IPPROTO_TCP || proto == TAPIR_IPPROTO_UDP)
		return port_verdict(sa, proto, l4, p->len > hl ? p->len - hl : 0);
	if (proto == TAPIR_IPPROTO_ICMP && p->len > hl) {
		switch (l4[0]) {
		case TAPIR_ICMP_ECHO_REPLY:
		case TAPIR_ICMP_UNREACH:
		case TAPIR_ICMP_SOURCE_QUENCH:
		case TAPIR_ICMP_TIME_EXCEEDED:
		case TAPIR_ICMP_PARAM_PROBLEM:
			return TAPIR_PASS;
		}
		sa->ignored_icmp++; /* echo and the other queries: the kernel answers */
		return TAPIR_DROP;
	}
	sa->ignored_other++;
	return TAPIR_DROP;
}

/* IPv6 out: of ICMPv6, tapir's own echo requests and the neighbour
 * solicitations that resolve its next hops.  Not: errors (as IPv4's
 * below), advertisements (the kernel answers for the address), duplicate
 * address detection (RFC 4862 5.4.2: a solicitation from ::; the address
 * is the kernel's, which would defend it), MLD reports (RFC 3810: the
 * kernel's groups are the same) and router solicitations (the kernel's). */
static enum tapir_verdict ip6_tx(struct shared_addr *sa, struct tapir_hook_pkt *p)
{
	uint8_t nh;
	int off = tapir_ipv6_upper(p->data, p->len, &nh);
	uint8_t type;
	if (off < 0 || nh != TAPIR_IPPROTO_ICMPV6 || p->len <= (size_t)off)
		return TAPIR_PASS;
	type = p->data[off];
	if (type == TAPIR_ICMP6_ECHO ||
	    (type == TAPIR_ICMP6_NEIGHBOR_SOLICIT && !tapir_ipv6_is_unspecified(p->data + TAPIR_IPV6_SRC)))
		return TAPIR_PASS;
	if (type < 128)
		sa->held_icmp++;
	else
		sa->held_arp++;
	return TAPIR_DROP;
}

/* IPv4 out: of ICMP, only tapir's own echo requests.  An error tapir would
 * send (port or protocol unreachable, reassembly time exceeded) would speak
 * for an address whose other ports are the kernel's. */
static enum tapir_verdict ip_tx(void *arg, struct tapir_hook_pkt *p)
{
	struct shared_addr *sa = arg;
	size_t hl = (size_t)(p->data[0] & 15) * 4;
	if (p->family == 6)
		return ip6_tx(sa, p);
	if (p->family != 4 || p->data[9] != TAPIR_IPPROTO_ICMP || p->len <= hl ||
	    p->data[hl] == TAPIR_ICMP_ECHO)
		return TAPIR_PASS;
	sa->held_icmp++;
	return TAPIR_DROP;
}

/* Ethernet out: ARP replies and announcements are the kernel's to send
 * (RFC 826; RFC 5227 2.3: sender and target address both ours); tapir's
 * own requests go out, their replies reach both stacks. */
static enum tapir_verdict link_tx(void *arg, struct tapir_hook_pkt *p)
{
	struct shared_addr *sa = arg;
	const uint8_t *a = p->data + TAPIR_ETH_HLEN;
	if (p->len < TAPIR_ETH_HLEN + 28 || tapir_get16(p->data + TAPIR_ETH_TYPE) != TAPIR_ETH_P_ARP)
		return TAPIR_PASS;
	if (tapir_get16(a + 6) == 1 && tapir_get32(a + 14) != tapir_get32(a + 24))
		return TAPIR_PASS; /* a who-has of tapir's own */
	sa->held_arp++;
	return TAPIR_DROP;
}

int shared_hooks(struct shared_addr *sa, struct tapir_stack *s, char *err, size_t errlen)
{
	if (tapir_hook_add(s, TAPIR_HOOK_IP_RX, ip_rx, sa) ||
	    tapir_hook_add(s, TAPIR_HOOK_IP_TX, ip_tx, sa) ||
	    tapir_hook_add(s, TAPIR_HOOK_LINK_TX, link_tx, sa)) {
		tapir_hook_remove(s, TAPIR_HOOK_IP_RX, ip_rx, sa);
		tapir_hook_remove(s, TAPIR_HOOK_IP_TX, ip_tx, sa);
		snprintf(err, errlen, "--shared-addr: the stack has no room for its hooks");
		return -1;
	}
	return 0;
}

int shared_guard(struct shared_addr *sa, struct tapir_stack *s, char *err, size_t errlen)
{
	if (s && shared_own_listeners(sa, s, err, errlen) < 0)
		return -1;
	return nftguard_install(sa->iface, sa->addr, sa->have_addr6 ? sa->addr6 : NULL, sa->own, err,
				errlen);
}

void shared_describe(const struct shared_addr *sa, char *buf, size_t len)
{
	snprintf(buf, len, " shared=%s ports=%u-%u nft=%s", sa->iface, sa->lo, sa->hi,
		 nftguard_table());
}

void shared_report(const struct shared_addr *sa)
{
	fprintf(stderr, "tapir: shared-addr: ignored (the kernel's) %llu TCP segments, %llu UDP datagrams, %llu ICMP queries, %llu other packets; held back %llu ARP and neighbour discovery messages, %llu ICMP errors\n",
		(unsigned long long)sa->ignored_tcp, (unsigned long long)sa->ignored_udp,
		(unsigned long long)sa->ignored_icmp, (unsigned long long)sa->ignored_other,
		(unsigned long long)sa->held_arp, (unsigned long long)sa->held_icmp);
}
