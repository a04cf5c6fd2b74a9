/* What every subcommand of the tapir command may use: the one-line error
 * and the two clocks.  Nothing protocol-specific belongs here. */
#ifndef TAPIR_TOOLS_UTIL_H
#define TAPIR_TOOLS_UTIL_H

#include <stdint.h>
#include <tapir/tapir.h>

/* Prints "tapir: MESSAGE" on stderr and exits 2: a user's mistake
 * (shared/INTERFACE.md: errors are one line, exit code 2). */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* CLOCK_MONOTONIC in microseconds: the time the core is given. */
tapir_time_t mono_us(void);
/* CLOCK_REALTIME in microseconds: for what is printed or stored. */
uint64_t wall_us(void);

#endif
