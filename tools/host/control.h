/* The control socket of `tapir host --control PATH`, and the commands that
 * talk to it: tapir ss, tapir stats, tapir trace. */
#ifndef TAPIR_CONTROL_H
#define TAPIR_CONTROL_H

#include <stddef.h>
#include <tapir/socket.h>

/* Listens on the UNIX stream socket PATH (a stale one is replaced) and
 * serves it from a thread of its own; the file is removed at exit.
 * TRACE_FN/ARG print trace lines when `tapir trace` turns channels on.
 * 0, or -1 with a one-line reason in ERR. */
int control_start(struct tapir_net *net, const char *path, tapir_trace_fn trace_fn,
		  void *trace_arg, char *err, size_t errlen);

#endif
