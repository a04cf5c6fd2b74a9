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
 * An example's getopt_long loop lists EX_NET_OPTIONS among its options and
 * hands every option it does not know to ex_net_option(); then ex_net_start()
 * returns a running struct tapir_net.  Only the public API
 * (the headers in include/tapir/) is used, here and in the examples.
 */
#ifndef TAPIR_EXAMPLES_COMMON_H
#define TAPIR_EXAMPLES_COMMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include <tapir/socket.h>
#include <tapir/tapir.h>

/* getopt_long entries for the common options (their values are >= 1000). */
#define EX_NET_OPTIONS                                                     \
	{"tap", required_argument, 0, 1000},                               \
	{"addr", required_argument, 0, 1001},                              \
	{"peer-addr", required_argument, 0, 1002},                         \
	{"gateway", required_argument, 0, 1003},                           \
	{"syn-retries", required_argument, 0, 1004},                       \
	{"trace", required_argument, 0, 1005},                             \
	{"pcap", required_argument, 0, 1006}

/* The help text for them, to append to an example's usage. */
extern const char ex_net_usage[];

/* Sets the program's name for messages (call first). */
void ex_init(const char *prog, const char *usage);

/* Handles one getopt_long result C (with OPTARG) if it is a common option;
 * otherwise a usage error (exits 2). */
void ex_net_option(int c, const char *arg);

/* Opens the TAP device, builds and starts the net; exits 2 with a message
 * when the options are incomplete or the device cannot be opened.  SIGINT,
 * SIGTERM and SIGHUP are handled by a thread of ours from here on: see
 * ex_close_on_signal. */
struct tapir_net *ex_net_start(void);

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
