/* tapir: one command, several subcommands. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control.h"
#include "drill.h"
#include "netutil.h"
#include "tool.h"

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

tapir_time_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (tapir_time_t)ts.tv_sec * 1000000u + (tapir_time_t)ts.tv_nsec / 1000u;
}

uint64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void usage(FILE *f)
{
	fputs("usage: tapir COMMAND [OPTIONS]\n"
	      "\n"
	      "commands:\n"
	      "  host     run a userspace host on a TAP device\n"
	      "  ss       list a running host's TCP sockets (host --control)\n"
	      "  stats    print a running host's counters (host --control)\n"
	      "  trace    switch a running host's trace channels (host --control)\n"
	      "  check    which TCP ports listen, on many hosts at once\n"
	      "  ping     ping many hosts at once\n"
	      "  drill    run packetdrill scripts against the TCP core\n"
	      "\n"
	      "tapir COMMAND --help tells more; tapir --version prints the version.\n",
	      f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("tapir %s\n", TAPIR_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "host"))
		return cmd_host(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ss"))
		return cmd_ss(argc - 1, argv + 1);
	if (!strcmp(argv[1], "stats"))
		return cmd_stats(argc - 1, argv + 1);
	if (!strcmp(argv[1], "trace"))
		return cmd_trace(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ping"))
		return cmd_ping(argc - 1, argv + 1);
	if (!strcmp(argv[1], "drill"))
		return cmd_drill(argc - 1, argv + 1);
	die("unknown command '%s' (try tapir --help)", argv[1]);
}
