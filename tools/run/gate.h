/* The gate: the tapir side of `tapir run` (proto.h).  It listens on a
 * SOCK_SEQPACKET path for the control channels of programs (the preload,
 * the seccomp supervisor), makes their sockets (app end / gate end pairs)
 * and serves them on the net's stack thread as a service. */
#ifndef TAPIR_TOOLS_RUN_GATE_H
#define TAPIR_TOOLS_RUN_GATE_H

#include <stddef.h>
#include <tapir/socket.h>

struct gate;
/* Listens at PATH (an existing socket file there is replaced) and adds the
 * gate to NET's services (after services_start, which replaces them all).
 * NULL with a one-line reason in ERR. */
struct gate *gate_start(struct tapir_net *net, const char *path, char *err, size_t errlen);
/* Sockets the gate still serves (connections relayed or closing). */
size_t gate_busy(struct gate *g);
/* Removes the service, ends every socket abortively, unlinks PATH. */
void gate_stop(struct gate *g);

#endif
