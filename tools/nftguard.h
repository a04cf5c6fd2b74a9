/* The nftables guard of --shared-addr (docs/shared-addr.md): a table of
 * tapir's own, `inet tapir_<pid>`, that drops inbound TCP and UDP to
 * tapir's ports on the shared interface and address before the kernel's
 * stack sees them, so the kernel neither RSTs tapir's connections nor
 * answers its datagrams.  Through libnftables (never by running nft). */
#ifndef TAPIR_TOOLS_NFTGUARD_H
#define TAPIR_TOOLS_NFTGUARD_H

#include <stddef.h>
#include <stdint.h>

/* Installs the table for interface IFACE and address ADDR (host byte
 * order) and, unless NULL, the IPv6 address ADDR6 (16 bytes), dropping TCP and UDP to the ports whose bit is set in OWN (8192
 * bytes, bit P for port P).  First removes tables tapir_<pid> whose process
 * is gone (a tapir killed with SIGKILL), and refuses ports that a live
 * tapir's table guards on the same address.  All in one nftables transaction:
 * either the whole table is there or nothing is.  The table goes away at
 * exit (atexit: exit, die, and the SIGINT/SIGTERM paths that end in exit).
 * 0, or -1 with a one-line reason in ERR. */
int nftguard_install(const char *iface, uint32_t addr, const uint8_t *addr6, const uint8_t *own,
		     char *err, size_t errlen);
/* Removes the table now (also what atexit calls); safe to call twice. */
void nftguard_remove(void);
/* "inet tapir_<pid>", or "" when none is installed. */
const char *nftguard_table(void);

#endif
