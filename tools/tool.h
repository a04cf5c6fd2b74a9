/* Shared by the tapir command's subcommands. */
#ifndef TAPIR_TOOL_H
#define TAPIR_TOOL_H

#include <stdint.h>
#include <tapir/tapir.h>

/* Prints "tapir: MESSAGE" on stderr and exits 2: a user's mistake. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
tapir_time_t mono_us(void);
uint64_t wall_us(void);

int cmd_host(int argc, char **argv);

/* ---- services.c: the built-in services, written as a user would ---- */
struct services;
/* LIST is INTERFACE.md's --serve list; NULL and an ERR line on a bad one. */
struct services *services_start(struct tapir_stack *s, const char *list, char *err,
				size_t errlen);
/* Answers whatever arrived; call after each batch of input. */
void services_run(struct services *sv, tapir_time_t now);
void services_stop(struct services *sv);

#endif
