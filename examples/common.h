/* common.h — the little that every example shares, so that each example
 * file shows only its own socket calls (the role of UNP's "unp.h").
 *
 * Every example takes the same options for its network:
 *
 *   --tap NAME              the TAP device (created if absent, in this namespace)
 *   --addr A.B.C.D/LEN      tapir's address
 *   --peer-addr A.B.C.D/LEN also give the kernel's side of the TAP this address
 *   --gateway IP            default route through IP
 *   --syn-retries N         SYN retransmissions before ETIMEDOUT (default 6)
 *   --trace CHANNELS        print the stack's events on stderr (all, tcp, arp, ...)
 *   --pcap FILE             record every frame
 *
 * An example reads its own options with ex_getopt(), which takes care of
 * these and of --help; then ex_net_start() returns a running struct
 * tapir_net, and a client's ex_connect() a connected socket.  Only the
 * public API
 * (the headers in include/tapir/) is used, here and in the examples.
 */
#ifndef TAPIR_EXAMPLES_COMMON_H
#define TAPIR_EXAMPLES_COMMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include <tapir/socket.h>
#include <tapir/tapir.h>

/* Sets the program's name and its usage text for messages (call first). */
void ex_init(const char *prog, const char *usage);

/* getopt_long over the example's own options OWN (ending with a zero entry;
 * values below 1000) and SHORTOPTS, plus the common ones and --help, which
 * it handles itself (--help prints the usage and the network options, and
 * exits 0; an unknown option is a usage error).  Returns the next of the
 * example's own options, with optarg, or -1 at the end of the options. */
int ex_getopt(int argc, char **argv, const char *shortopts, const struct option *own);

/* Opens the TAP device, builds and starts the net; exits 2 with a message
 * when the options are incomplete or the device cannot be opened.  SIGINT,
 * SIGTERM and SIGHUP are handled by a thread of ours from here on: see
 * ex_close_on_signal. */
struct tapir_net *ex_net_start(void);

/* A TCP socket connected to SIN; exits 1 with connect's error by name
 * ("connect to 10.0.0.1 port 13: ECONNREFUSED (Connection refused)"). */
int ex_connect(struct tapir_net *net, const struct sockaddr_in *sin);

/* Stops the net (joining its thread) and flushes the pcap file. */
void ex_net_stop(struct tapir_net *net);

/* On SIGINT/SIGTERM, close FD (a listener): the call blocked on it returns
 * EBADF, so the program can finish cleanly.  Without this, a signal flushes
 * the pcap and exits at once with 128 + the signal's number. */
void ex_close_on_signal(int fd);

/* The symbolic name of an errno value: "ECONNREFUSED". */
const char *ex_errname(int err);

/* "tapir: PROG: MESSAGE" on stderr, exit 2 (a usage error) or 1. */
void ex_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void ex_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A decimal number from LO to HI, or a usage error naming OPT. */
unsigned long ex_number(const char *opt, const char *text, unsigned long lo, unsigned long hi);

/* Fills SIN with the dotted-quad TEXT and PORT; a usage error otherwise. */
void ex_sockaddr(struct sockaddr_in *sin, const char *text, uint16_t port);

/* Sends all LEN bytes (UNP's writen); -1 with errno on failure. */
ssize_t ex_writen(struct tapir_net *net, int fd, const void *buf, size_t len);

#endif
