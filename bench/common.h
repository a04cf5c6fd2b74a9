/* common.h — what the bench servers (ksrv, tapecho, tapir-raw, lwip-srv)
 * share: their stop signal, a TAP device opened by hand, and the echo
 * service's bytes waiting to be sent. */
#ifndef TAPIR_BENCH_COMMON_H
#define TAPIR_BENCH_COMMON_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Set by SIGTERM or SIGINT once bench_catch_signals() has run: the
 * servers' loops end on it. */
extern volatile sig_atomic_t bench_stop;
void bench_catch_signals(void);

/* The existing TAP device NAME, non-blocking; exits 1 with a message
 * naming PROG when it cannot be opened. */
int bench_tap_open(const char *prog, const char *name);

/* One frame from the TAP FD into BUF; when none waits, polls up to 200 ms
 * (so that the caller's loop sees bench_stop) and returns -1. */
ssize_t bench_tap_read(int fd, uint8_t *buf, size_t cap);

/* Echo: bytes received and not yet sent, BUF + OFF, LEN of them.  The
 * servers receive into a buffer of their own and send from it at once;
 * only what a send leaves over is kept here, in a PEND_CAP buffer taken
 * the first time (so a connect, request, close pays no 64 KiB malloc:
 * its heap growth and trimming showed in the connections/s profile). */
#define PEND_CAP 65536
struct pend {
	uint8_t *buf;
	size_t off, len;
};

/* N more bytes of P went out: true when none is left. */
bool pend_sent(struct pend *p, size_t n);

/* Of the LEN bytes at DATA, SENT went out: P keeps the rest (LEN <=
 * PEND_CAP, P empty).  False when there is no memory for it. */
bool pend_keep(struct pend *p, const uint8_t *data, size_t len, size_t sent);

#endif
