/* tapir host's IPv6 addresses (--addr and --peer-addr given an IPv6
 * prefix, repeatable): parsed, given to the kernel's side of the TAP and to
 * the stack, and waited for through duplicate address detection. */
#ifndef TAPIR_TOOLS_HOST_ADDR6_H
#define TAPIR_TOOLS_HOST_ADDR6_H

#include <stdbool.h>
#include <stdio.h>
#include <tapir/link.h>
#include <tapir/socket.h>
#include <tapir/tapir.h>

#define HOST6_MAX (TAPIR_IPV6_ADDRS - 1) /* beside the link-local one */
struct host6 {
	uint8_t addr[HOST6_MAX][16], peer[HOST6_MAX][16];
	unsigned plen[HOST6_MAX], peer_plen[HOST6_MAX];
	unsigned n, npeer;
	bool slaac;                  /* --addr slaac */
	uint8_t gw[16];              /* --gateway given an IPv6 address */
	bool have_gw;
	int addr_gen;                /* --addr-gen: TAPIR_ADDR_GEN_* + 1, 0 unset */
	const char *secret;          /* --stable-secret FILE */
	/* what host6_watch last saw of the interface's addresses */
	uint8_t seen[TAPIR_IPV6_ADDRS][16];
	unsigned seen_plen[TAPIR_IPV6_ADDRS];
	enum tapir_addr6_state seen_state[TAPIR_IPV6_ADDRS];
};

/* OPT's argument ARG when it is IPv6 (it has a ':') or, for --addr,
 * "slaac": stored, true; a malformed one dies.  False for anything else
 * (IPv4). */
bool host6_option(struct host6 *h6, const char *opt, const char *arg, bool peer);
/* --gateway's ARG when it is IPv6 (it has a ':'): stored, true; a
 * malformed one dies.  False for anything else (IPv4). */
bool host6_gateway_option(struct host6 *h6, const char *arg);
/* --addr-gen eui64|stable; --stable-secret FILE (stable implied).  A
 * bad one dies. */
void host6_addr_gen_option(struct host6 *h6, const char *arg);
void host6_secret_option(struct host6 *h6, const char *path);
/* CFG's interface identifiers as asked: EUI-64 by default; RFC 7217's
 * keyed by the --stable-secret file's bytes, or by a random secret for
 * this run.  Dies if the file cannot be read or is short. */
void host6_tune(const struct host6 *h6, struct tapir_config *cfg);
/* Once every --addr is known: an IPv6 --gateway is link-local or on the
 * prefix of an IPv6 --addr (RFC 4861 6.3.4: a router is a neighbor); dies
 * if not. */
void host6_check_gateway(const struct host6 *h6);
/* The kernel's side of the TAP gets the --peer-addr ones (without DAD). */
void host6_set_peers(const struct host6 *h6, struct tapir_tap *tap);
/* The stack's interface IFINDEX gets IPv6, the --addr ones and the
 * --gateway (before the stack thread starts). */
void host6_configure(const struct host6 *h6, struct tapir_stack *s, int ifindex);
/* Waits (stack running) until no address is tentative; dies if one is a
 * duplicate (RFC 4862 5.4.5). */
void host6_wait_dad(struct tapir_net *net, struct tapir_stack *s, int ifindex);
/* One line on F for each IPv6 address gained, lost or found a duplicate
 * since the previous call ("address fd00:5::1/64 added"); the first call
 * (at ready) only takes note.  Under the net's lock. */
void host6_watch(struct host6 *h6, FILE *f, struct tapir_stack *s, int ifindex);
/* " addr=A/LEN" for each IPv6 address of IFINDEX (under the net's lock). */
void host6_print(FILE *f, struct tapir_net *net, struct tapir_stack *s, int ifindex);

#endif
