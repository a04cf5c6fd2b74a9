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

/* Does a /proc/net/{tcp,udp}[6] local address cover ADDR?  The wildcard,
 * ADDR itself, or ::ffff:ADDR.  The files print each 32-bit word of the
 * address in host order. */
static bool covers(const char *hex, uint32_t addr)
{
	char v4[9];
	snprintf(v4, sizeof(v4), "%08X", htonl(addr));
	if (strlen(hex) == 8)
		return !strcmp(hex, "00000000") || !strcasecmp(hex, v4);
	if (strlen(hex) != 32)
		return false;
	if (!strcmp(hex, "00000000000000000000000000000000"))
		return true;
	return !strncasecmp(hex, "0000000000000000FFFF0000", 24) && !strcasecmp(hex + 24, v4);
}

/* The first port in [LO, HI] the kernel holds on ADDR: a TCP listener or a
 * bound UDP socket, IPv4 or IPv6 (dual-stack sockets take IPv4 too).  0:
 * none. */
static unsigned kernel_port_in(uint32_t addr, unsigned lo, unsigned hi, const char **proto)
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
			if (port >= lo && port <= hi && covers(local, addr)) {
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

static int find_addresses(struct shared_addr *sa, char *err, size_t errlen)
{
	struct ifaddrs *ifa, *i;
	bool have_mac = false;
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
	return 0;
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
	if ((p = kernel_port_in(sa->addr, sa->lo, sa->hi, &proto))) {
		snprintf(err, errlen, "--ports %u-%u: the kernel has a %s socket on port %u of %s: choose a range without it",
			 sa->lo, sa->hi, proto, p, tapir_ipv4_str(sa->addr, a));
		return -1;
	}
	for (p = sa->lo; p <= sa->hi; p++)
		sa->own[p >> 3] |= (uint8_t)(1u << (p & 7));
	sa->gw = kernel_gateway(sa->iface);
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
	if (kernel_port_in(sa->addr, port, port, &proto)) {
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

/* IPv4 in: TCP and UDP to tapir's ports, ICMP errors (they may concern
 * tapir's connections; the core matches them to its own or ignores them)
 * and echo replies (tapir's --ping).  The rest is the kernel's. */
static enum tapir_verdict ip_rx(void *arg, struct tapir_hook_pkt *p)
{
	struct shared_addr *sa = arg;
	size_t hl = (size_t)(p->data[0] & 15) * 4;
	uint8_t proto = p->data[9];
	const uint8_t *l4 = p->data + hl;
	if (p->family != 4)
		return TAPIR_PASS; /* the IP points see IPv6 too; this sharing is IPv4's */
	if (tapir_get16(p->data + 6) & 0x1fff)
		return TAPIR_PASS; /* a later fragment: no ports; its first one decides */
	if (proto == TAPIR_IPPROTO_TCP || proto == TAPIR_IPPROTO_UDP) {
		if (p->len >= hl + 4 && OWNS(sa, tapir_get16(l4 + 2)))
			return TAPIR_PASS;
		if (proto == TAPIR_IPPROTO_TCP)
			sa->ignored_tcp++;
		else
			sa->ignored_udp++;
		return TAPIR_DROP;
	}
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

/* IPv4 out: of ICMP, only tapir's own echo requests.  An error tapir would
 * send (port or protocol unreachable, reassembly time exceeded) would speak
 * for an address whose other ports are the kernel's. */
static enum tapir_verdict ip_tx(void *arg, struct tapir_hook_pkt *p)
{
	struct shared_addr *sa = arg;
	size_t hl = (size_t)(p->data[0] & 15) * 4;
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
	return nftguard_install(sa->iface, sa->addr, sa->own, err, errlen);
}

void shared_describe(const struct shared_addr *sa, char *buf, size_t len)
{
	snprintf(buf, len, " shared=%s ports=%u-%u nft=%s", sa->iface, sa->lo, sa->hi,
		 nftguard_table());
}

void shared_report(const struct shared_addr *sa)
{
	fprintf(stderr, "tapir: shared-addr: ignored (the kernel's) %llu TCP segments, %llu UDP datagrams, %llu ICMP queries, %llu other packets; held back %llu ARP answers, %llu ICMP errors\n",
		(unsigned long long)sa->ignored_tcp, (unsigned long long)sa->ignored_udp,
		(unsigned long long)sa->ignored_icmp, (unsigned long long)sa->ignored_other,
		(unsigned long long)sa->held_arp, (unsigned long long)sa->held_icmp);
}
