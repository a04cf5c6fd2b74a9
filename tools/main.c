/* tapir: one command, a table of subcommands (as iproute2's `ip`). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "util.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "host", cmd_host, "run a userspace host on a TAP device" },
	{ "run", cmd_run, "run a program with its sockets on tapir (LD_PRELOAD)" },
	{ "ss", cmd_ss, "list a running host's TCP sockets (host --control)" },
	{ "stats", cmd_stats, "print a running host's counters (host --control)" },
	{ "trace", cmd_trace, "switch a running host's trace channels (host --control)" },
	{ "check", cmd_check, "which TCP ports listen, on many hosts at once" },
	{ "ping", cmd_ping, "ping many hosts at once" },
	{ "drill", cmd_drill, "run packetdrill scripts against the TCP core" },
};

static void usage(FILE *f)
{
	fputs("usage: tapir COMMAND [OPTIONS]\n\ncommands:\n", f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
	fputs("\ntapir COMMAND --help tells more; tapir --version prints the version.\n", f);
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
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	die("unknown command '%s' (try tapir --help)", argv[1]);
}
