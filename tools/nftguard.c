/* The nftables guard of --shared-addr: see nftguard.h and
 * docs/shared-addr.md.
 *
 * Where the drop sits: a base chain on the prerouting hook at priority
 * -350.  That is after the kernel's defragmentation (-400), so a datagram
 * that came in fragments is matched whole, by its ports, and before the
 * raw table (-300), connection tracking (-200) and everything else: the
 * kernel's conntrack never makes entries for tapir's connections (no
 * state to time out, no "invalid" packets for other rules to see), and no
 * other table of the host decides about them first.  The match is narrow:
 * the shared interface (by name, iifname), the shared IPv4 address (and
 * IPv6 one, a second rule), TCP or UDP, tapir's ports: the kernel's own
 * traffic on every other port, ARP, ICMP, ICMPv6 and neighbour discovery
 * pass untouched.  AF_PACKET sockets (tapir's) get their copy of
 * each frame before any of this (the packet taps run in
 * __netif_receive_skb, before the IP layer), so the drop affects only the
 * kernel's input. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nftguard.h"
#include <tapir/stack.h>

#ifdef TAPIR_HAVE_NFTABLES
#include <nftables/libnftables.h>
#endif

static char table[32];   /* "tapir_<pid>" once installed */
static pid_t owner;      /* the process that installed it: a forked child must not remove it */
static bool registered;

const char *nftguard_table(void)
{
	static char full[40];
	if (!table[0])
		return "";
	snprintf(full, sizeof(full), "inet %s", table);
	return full;
}

#ifdef TAPIR_HAVE_NFTABLES

/* Runs CMD in a fresh context; its output in *OUT (malloc'd, may be NULL)
 * and the first line of any error in ERR.  0 or -1. */
static int nft_run(const char *cmd, char **out, char *err, size_t errlen)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	int r;
	if (!ctx) {
		snprintf(err, errlen, "cannot open nftables (libnftables)");
		return -1;
	}
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	r = nft_run_cmd_from_buffer(ctx, cmd);
	if (r != 0) {
		const char *e = nft_ctx_get_error_buffer(ctx);
		size_t n;
		if (!e || !*e)
			e = "failed";
		if (!strncmp(e, "Error: ", 7))
			e += 7;
		n = strcspn(e, "\n");
		snprintf(err, errlen, "%.*s", (int)(n < 200 ? n : 200), e);
	} else if (out) {
		*out = strdup(nft_ctx_get_output_buffer(ctx));
	}
	nft_ctx_free(ctx);
	return r ? -1 : 0;
}

/* Is PID a live tapir?  A table whose process is gone (or a zombie: killed,
 * not yet reaped), or whose PID now belongs to another program, is a
 * leftover.  /proc/PID/stat: "PID (COMM) STATE ...". */
static bool tapir_alive(long pid)
{
	char path[64], buf[256] = "";
	const char *open_p, *close_p;
	size_t n;
	FILE *f;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	open_p = strchr(buf, '(');
	close_p = strrchr(buf, ')');
	if (!open_p || !close_p || close_p < open_p || close_p[1] != ' ')
		return false;
	if (close_p[2] == 'Z' || close_p[2] == 'X')
		return false;
	return close_p - open_p - 1 == 5 && !strncmp(open_p + 1, "tapir", 5);
}

/* CAP_NET_ADMIN (12) in our effective set?  Asked first: libnftables
 * would print its own complaint on stderr beside ours. */
static bool net_admin(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	unsigned long long eff = 0;
	bool found = false;
	if (!f)
		return true; /* cannot tell: let nftables say */
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "CapEff: %llx", &eff) == 1;
	fclose(f);
	return !found || (eff >> 12 & 1);
}

/* The first port of OWN in the dport set of the rule of OUT that matches
 * MATCH ("ip daddr A.B.C.D", "ip6 daddr 2001:db8::1"), or 0.  The rule
 * reads "... MATCH ... th dport { 7, 61000-65535 } ..." (as install writes
 * it, as nftables lists it). */
static unsigned port_of_rule(const char *out, const char *match, const uint8_t *own)
{
	const char *at = strstr(out, match);
	char *p;
	unsigned r = 0;
	size_t n = strlen(match);
	/* (a whole address: 10.0.0.1 is not 10.0.0.12, nor fd00::1 fd00::1:2) */
	if (!at || isxdigit((unsigned char)at[n]) || at[n] == ':' || at[n] == '.' ||
	    !(at = strstr(at, "th dport { ")))
		return 0;
	p = (char *)at + 11;
	while (!r && isdigit((unsigned char)*p)) {
		unsigned long lo = strtoul(p, &p, 10), hi = lo;
		if (*p == '-')
			hi = strtoul(p + 1, &p, 10);
		for (unsigned long q = lo; q <= hi && q < 65536 && !r; q++)
			if (own[q >> 3] & (1u << (q & 7)))
				r = (unsigned)q;
		p += strspn(p, ", ");
	}
	return r;
}

/* The first port of OWN that the live tapir PID's table also guards on
 * ADDR or ADDR6 (may be NULL), or 0. */
static unsigned shared_with(long pid, uint32_t addr, const uint8_t *addr6, const uint8_t *own)
{
	char cmd[64], e[128], a[16], m[80], *out = NULL;
	unsigned r;
	snprintf(cmd, sizeof(cmd), "list table inet tapir_%ld", pid);
	if (nft_run(cmd, &out, e, sizeof(e)) < 0)
		return 0; /* gone meanwhile */
	snprintf(m, sizeof(m), "ip daddr %s", tapir_ipv4_str(addr, a));
	r = port_of_rule(out, m, own);
	if (!r && addr6) {
		char a6[46];
		snprintf(m, sizeof(m), "ip6 daddr %s", tapir_ipv6_str(addr6, a6));
		r = port_of_rule(out, m, own);
	}
	free(out);
	return r;
}

/* Deletes tables tapir_<pid> of this network namespace whose tapir is
 * gone (one killed with SIGKILL could not remove its own), and refuses
 * ports that a live tapir on the same address holds: both would answer
 * for them (two scans at once would reset each other's connections). */
static int sweep(uint32_t addr, const uint8_t *addr6, const uint8_t *own, char *err,
		 size_t errlen)
{
	char *out = NULL, *line, *save = NULL;
	int r = 0;
	if (nft_run("list tables inet", &out, err, errlen) < 0)
		return -1;
	for (line = strtok_r(out, "\n", &save); line && !r; line = strtok_r(NULL, "\n", &save)) {
		long pid;
		unsigned port;
		char *end, cmd[64], e2[128];
		if (strncmp(line, "table inet tapir_", 17))
			continue;
		pid = strtol(line + 17, &end, 10);
		if (end == line + 17 || *end || pid <= 0 || pid == getpid())
			continue;
		if (tapir_alive(pid)) {
			if ((port = shared_with(pid, addr, addr6, own))) {
				snprintf(err, errlen, "--shared-addr: port %u is already the tapir's with PID %ld on this address (table inet tapir_%ld): give each tapir its own --ports",
					 port, pid, pid);
				r = -2;
			}
			continue;
		}
		snprintf(cmd, sizeof(cmd), "delete table inet tapir_%ld", pid);
		if (nft_run(cmd, NULL, e2, sizeof(e2)) == 0)
			fprintf(stderr, "tapir: removed the nftables table inet tapir_%ld of a tapir that is gone\n",
				pid);
	}
	free(out);
	return r;
}

/* OWN as an nftables set body: "7, 9, 61000-65535". */
static int port_set(const uint8_t *own, char *buf, size_t cap)
{
	size_t n = 0;
	int count = 0;
	for (unsigned p = 1; p < 65536; p++) {
		unsigned q = p;
		int w;
		if (!(own[p >> 3] & (1u << (p & 7))))
			continue;
		while (q + 1 < 65536 && (own[(q + 1) >> 3] & (1u << ((q + 1) & 7))))
			q++;
		w = q == p ? snprintf(buf + n, cap - n, "%s%u", count ? ", " : "", p)
			   : snprintf(buf + n, cap - n, "%s%u-%u", count ? ", " : "", p, q);
		if (w < 0 || (size_t)w >= cap - n)
			return -1;
		n += (size_t)w;
		count++;
		p = q;
	}
	return count;
}

static void at_exit(void)
{
	nftguard_remove();
}

int nftguard_install(const char *iface, uint32_t addr, const uint8_t *addr6, const uint8_t *own,
		     char *err, size_t errlen)
{
	static char cmd[131072];
	char set[60000], a[16], a6[46], e[240], name[32], rule6[61000] = "";
	int r;
	for (const char *c = iface; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("._-@", *c)) {
			snprintf(err, errlen, "--shared-addr: interface name '%s' has characters nftables would misread", iface);
			return -1;
		}
	if (port_set(own, set, sizeof(set)) <= 0) {
		snprintf(err, errlen, "--shared-addr: no ports to own");
		return -1;
	}
	if (!net_admin()) {
		snprintf(err, errlen, "--shared-addr: tapir needs CAP_NET_ADMIN for its nftables table (run as root)");
		return -1;
	}
	if ((r = sweep(addr, addr6, own, e, sizeof(e))) == -2) {
		snprintf(err, errlen, "%s", e);
		return -1;
	}
	if (r < 0) {
		snprintf(err, errlen, "--shared-addr: cannot read the nftables ruleset: %s%s", e,
			 strstr(e, "ermitted") ? " (needs CAP_NET_ADMIN: run as root)" : "");
		return -1;
	}
	snprintf(name, sizeof(name), "tapir_%ld", (long)getpid());
	/* the same drop for the shared IPv6 address (after the kernel's
	 * IPv6 defragmentation at -400 too) */
	if (addr6)
		snprintf(rule6, sizeof(rule6),
			 "    iifname \"%s\" ip6 daddr %s meta l4proto { tcp, udp } th dport { %s } counter drop\n",
			 iface, tapir_ipv6_str(addr6, a6), set);
	/* one buffer, one batch, which the kernel applies atomically: the
	 * table with its chain and rule, or nothing */
	snprintf(cmd, sizeof(cmd),
		 "table inet %s {\n"
		 "  chain guard {\n"
		 "    type filter hook prerouting priority -350; policy accept;\n"
		 "    iifname \"%s\" ip daddr %s meta l4proto { tcp, udp } th dport { %s } counter drop\n"
		 "%s"
		 "  }\n"
		 "}\n",
		 name, iface, tapir_ipv4_str(addr, a), set, rule6);
	r = nft_run(cmd, NULL, e, sizeof(e));
	if (r < 0) {
		snprintf(err, errlen, "--shared-addr: cannot install the nftables table inet %s: %s%s",
			 name, e, strstr(e, "ermitted") ? " (needs CAP_NET_ADMIN: run as root)" : "");
		return -1;
	}
	memcpy(table, name, sizeof(table));
	owner = getpid();
	if (!registered) {
		atexit(at_exit);
		registered = true;
	}
	return 0;
}

void nftguard_remove(void)
{
	char cmd[64], e[160];
	if (!table[0] || getpid() != owner)
		return;
	snprintf(cmd, sizeof(cmd), "delete table inet %s", table);
	if (nft_run(cmd, NULL, e, sizeof(e)) < 0)
		fprintf(stderr, "tapir: cannot remove the nftables table inet %s: %s\n", table, e);
	table[0] = 0;
}

#else /* built without libnftables */

int nftguard_install(const char *iface, uint32_t addr, const uint8_t *addr6, const uint8_t *own,
		     char *err, size_t errlen)
{
	(void)iface;
	(void)addr;
	(void)addr6;
	(void)own;
	snprintf(err, errlen, "--shared-addr: this tapir was built without libnftables (install libnftables-dev and rebuild)");
	return -1;
}

void nftguard_remove(void) {}

#endif
