/* tapir host: the userspace host on a TAP device, its built-in services and
 * its control socket (control.h). */
#ifndef TAPIR_TOOLS_HOST_H
#define TAPIR_TOOLS_HOST_H

#include <stddef.h>
#include <tapir/socket.h>
#include <tapir/tapir.h>

/* ---- services.c: the built-in services, written as a user would ---- */
struct services;
/* LIST is INTERFACE.md's --serve list; starts a thread per service and
 * returns, or NULL with a one-line reason in ERR. */
struct services *services_start(struct tapir_net *net, const char *list, char *err,
				size_t errlen);
/* http.c: serves HTTP/1.1 requests on the connected socket FD from ROOT. */
void http_serve(struct tapir_net *net, int fd, const char *root);

#endif
