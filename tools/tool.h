/* Shared by the tapir command's subcommands. */
#ifndef TAPIR_TOOL_H
#define TAPIR_TOOL_H

#include <stdint.h>
#include <tapir/socket.h>
#include <tapir/tapir.h>

/* Prints "tapir: MESSAGE" on stderr and exits 2: a user's mistake. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
tapir_time_t mono_us(void);
uint64_t wall_us(void);

int cmd_host(int argc, char **argv);

/* ---- services.c: the built-in services, written as a user would ---- */
struct services;
/* LIST is INTERFACE.md's --serve list; starts a thread per service and
 * returns, or NULL with a one-line reason in ERR. */
struct services *services_start(struct tapir_net *net, const char *list, char *err,
				size_t errlen);
/* http.c: serves HTTP/1.1 requests on the connected socket FD from ROOT. */
void http_serve(struct tapir_net *net, int fd, const char *root);

#endif
