/* The subcommands of the tapir command: each takes its own argv (argv[0]
 * is the subcommand's name) and returns the exit status.  main.c's table
 * names them; shared/INTERFACE.md says what each prints and returns. */
#ifndef TAPIR_TOOLS_COMMANDS_H
#define TAPIR_TOOLS_COMMANDS_H

int cmd_host(int argc, char **argv);   /* host/host.c */
int cmd_ss(int argc, char **argv);     /* host/control.c */
int cmd_stats(int argc, char **argv);  /* host/control.c */
int cmd_trace(int argc, char **argv);  /* host/control.c */
int cmd_check(int argc, char **argv);  /* check/check.c */
int cmd_ping(int argc, char **argv);   /* ping.c */
int cmd_drill(int argc, char **argv);  /* drill/drill.c */
int cmd_run(int argc, char **argv);    /* run/run.c */

#endif
