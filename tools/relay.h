/* A relay: bytes both ways between a kernel stream descriptor (an AF_UNIX
 * stream end, e.g. the gate end of a `tapir run` socket, or a kernel TCP
 * socket, e.g. `tapir host --forward`) and a tapir TCP connection, run on
 * the stack thread from a service (tapir_net_add_service).
 *
 * A relay loop owns an epoll set (relay_loop_fd: hand it to
 * tapir_net_add_service, or nest it in an epoll set of your own) and a
 * small cache of buffers.  Call relay_loop_run from the service function
 * after every turn: it moves every relay that had an event (the kernel's
 * or tapir's) as far as it can go and returns when it wants to run again.
 *
 * What a relay keeps:
 *  - Bounded memory: at most RELAY_BUF bytes held from the descriptor to
 *    tapir, and only while tapir's side is full or under TCP_CORK (idle
 *    relays hold no buffer); otherwise the descriptor is read straight into
 *    tapir's send buffer (tapir_tcp_send_space), with at most a segment's
 *    tail held between reads; from tapir to the descriptor none, since the
 *    descriptor takes the bytes from tapir's receive buffer in place
 *    (tapir_tcp_recv_peek).
 *    While a side is full the relay stops reading from the other:
 *    backpressure reaches the kernel peer (its send blocks) and tapir's
 *    peer (the window closes).
 *  - Half-close both ways: EOF on the descriptor becomes tapir's FIN
 *    (shutdown write); tapir's FIN becomes shutdown(fd, SHUT_WR).  Once both
 *    ways are shut, or the descriptor's peer is gone (POLLHUP), tapir's
 *    connection is closed (tapir_tcp_close: FIN, or RST under SO_LINGER
 *    {1, 0}) and the descriptor too.
 *  - Resets both ways: tapir's RST or timeout closes the descriptor
 *    abortively (SO_LINGER {1, 0} first when it is a TCP socket, so the
 *    kernel's peer sees an RST; an AF_UNIX end is just closed); an error on
 *    the descriptor (ECONNRESET, EPIPE, POLLERR) aborts tapir's connection
 *    (RST).
 * When the relay ends it has closed the descriptor and let go of the
 * connection, and calls DONE with 0 (both sides closed in order) or the
 * negative errno of the reset.
 */
#ifndef TAPIR_TOOLS_RELAY_H
#define TAPIR_TOOLS_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tapir/tcp.h>

#define RELAY_BUF 262144 /* bytes held at most, and moved a round */

struct relay_loop;
struct relay;

/* A new loop, or NULL (errno set). */
struct relay_loop *relay_loop_new(void);
/* Ends every relay abortively (their DONE is not called) and frees LOOP.
 * Run with the net locked (or the stack stopped). */
void relay_loop_free(struct relay_loop *loop, tapir_time_t now);
int relay_loop_fd(const struct relay_loop *loop);
/* A loop whose relays sit in the caller's epoll set EP instead of one of
 * their own, one epoll_wait a turn fewer than nesting a set: an event whose
 * data.ptr points at an int equal to TAG (a relay's first member) is a
 * relay's, handed over with relay_loop_event; the caller then steps the
 * loop with relay_loop_step(loop, now, false).  EP stays the caller's. */
struct relay_loop *relay_loop_new_shared(int ep, int tag);
void relay_loop_event(struct relay_loop *loop, void *ptr, uint32_t events);
/* Moves what is ready; returns NOW when more work waits, else
 * TAPIR_TIME_NEVER.  On the stack thread (a service), net locked. */
tapir_time_t relay_loop_run(struct relay_loop *loop, tapir_time_t now);
/* relay_loop_run, for a caller that nests the loop's descriptor in an
 * epoll set of its own and knows it was not readable (KERNEL false): only
 * tapir's events and deadlines are acted on, one epoll_wait fewer. */
tapir_time_t relay_loop_step(struct relay_loop *loop, tapir_time_t now, bool kernel);
/* Raises an AF_UNIX end's send buffer to the size the relays use (so its
 * reader wakes once per that many bytes); relay_start does it to FD. */
void relay_unix_sndbuf(int fd);
/* Relays under way. */
size_t relay_loop_count(const struct relay_loop *loop);
/* The bytes the loop's relays moved, ever, both ways: a caller may keep
 * its thread turning for a while after some moved (busy-polling), since an
 * answer to what just went across often follows within microseconds. */
uint64_t relay_loop_moved(const struct relay_loop *loop);

/* Called once when a relay ends: ERR 0 for an orderly end, else -errno
 * (-ECONNRESET, -ETIMEDOUT, ...: what ended tapir's connection, or what
 * the descriptor reported). */
typedef void (*relay_done_fn)(void *arg, int err);

/* Starts relaying between FD (a connected stream socket, made
 * non-blocking here; the relay owns it from now on) and T (connected or
 * connecting; its event function becomes the relay's).  The first DISCARD
 * bytes read from FD are dropped (the filler of a `tapir run` socket).
 * NULL (FD closed, T aborted) when out of memory. */
struct relay *relay_start(struct relay_loop *loop, int fd, struct tapir_tcp *t,
			  size_t discard, relay_done_fn done, void *arg, tapir_time_t now);
/* The connection, for options and information while the relay runs. */
struct tapir_tcp *relay_tcp(const struct relay *r);
/* TCP_CORK (Linux tcp(7)): while on, only full segments of what FD
 * gives go to tapir; the rest waits for more, for EOF, for the cork to
 * come out, or at most 200 ms (tcp(7)'s ceiling: relay_loop_run then
 * returns that deadline). */
void relay_set_cork(struct relay *r, bool on);
/* Ends R abortively now (RST to tapir's peer, FD closed); DONE is not
 * called. */
void relay_abort(struct relay *r, tapir_time_t now);

#endif
