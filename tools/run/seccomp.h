/*
 * tapir run's seccomp supervisor: the socket calls the preload cannot see
 * (static binaries, Go's raw system calls, syscall(2)) are trapped in the
 * kernel (seccomp user notification) and answered here, in the tapir
 * process, as gate requests (tools/run/proto.h); socket() and accept()
 * get their app end injected into the program as a real descriptor.
 * docs/seccomp.md says what is covered and what is not.
 *
 * The wiring in run.c:
 *     int sv[2];  seccomp_pair(sv);            before fork
 *     child:  seccomp_child(sv) < 0 -> _exit(2); then exec
 *     parent: seccomp_parent(sv, gate_path);    starts the supervisor
 *     at exit: seccomp_stop();
 */
#ifndef TAPIR_RUN_SECCOMP_H
#define TAPIR_RUN_SECCOMP_H

/* 1 when this kernel offers what the supervisor needs (user notification,
 * descriptor injection, pidfd_getfd), else 0: tapir run's default. */
int seccomp_supported(void);
/* Before fork: the socket pair over which the child hands its listener
 * descriptor to tapir.  0, or -1 with errno. */
int seccomp_pair(int sv[2]);
/* In the child after fork, before exec: no new privileges, the filter,
 * the listener sent to the parent.  0, or -1 after a `tapir:` line. */
int seccomp_child(int sv[2]);
/* In tapir after fork: receives the listener and starts the supervisor
 * thread, which speaks to the gate at GATE_PATH.  0, or -1 after a
 * `tapir:` line (the child then has no filter: it failed before exec). */
int seccomp_parent(int sv[2], const char *gate_path);
/* Stops the supervisor (if started) and closes what it holds. */
void seccomp_stop(void);

#endif
