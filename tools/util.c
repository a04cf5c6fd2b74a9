/* The one-line error and the clocks every subcommand uses (util.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "util.h"

void die(const char *fmt, ...)
{
	va_list ap;
	fputs("tapir: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static uint64_t clock_us(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

tapir_time_t mono_us(void) { return (tapir_time_t)clock_us(CLOCK_MONOTONIC); }
uint64_t wall_us(void) { return clock_us(CLOCK_REALTIME); }
