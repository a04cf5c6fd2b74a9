/* tapir host --forward and --outbound: relays between tapir's TCP and the
 * kernel's (docs/forward.md).
 *
 *   --forward PORT=HOST:HPORT         tapir listens on PORT; each connection
 *                                     is relayed to HOST:HPORT through the
 *                                     kernel's stack
 *   --outbound ADDR:PORT=HOST:HPORT   the kernel listens on ADDR:PORT; each
 *                                     connection it accepts goes out to
 *                                     HOST:HPORT through tapir's stack
 *
 * Both run on the stack thread as one service (tapir_net_add_service) with
 * an epoll set of the kernel's descriptors; the bytes move through
 * tools/relay.c. */
#ifndef TAPIR_TOOLS_HOST_FORWARD_H
#define TAPIR_TOOLS_HOST_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <tapir/socket.h>

struct forward;

/* Adds one rule (SPEC as the option's argument; OUTBOUND: --outbound's
 * form), allocating *FW on the first.  0, or -1 with a one-line reason in
 * ERR. */
int forward_add(struct forward **fw, bool outbound, const char *spec, char *err,
		size_t errlen);
/* Opens the listeners (tapir's for --forward, the kernel's for
 * --outbound) and adds the service to NET, relaying at most MAX_CONNS
 * connections at a time (more wait in the listen queues).  Call after
 * services_start (which makes its service the net's only one).  0, or -1
 * with a one-line reason in ERR. */
int forward_start(struct forward *fw, struct tapir_net *net, unsigned max_conns, char *err,
		  size_t errlen);
/* " forward=80>10.0.0.1:8080 outbound=..." for the ready line (BUF, LEN). */
void forward_describe(const struct forward *fw, char *buf, size_t len);

#endif
