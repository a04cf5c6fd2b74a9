/*
 * tapir — Berkeley-style sockets over the core (the api/ layer).
 *
 * A struct tapir_net owns one protocol stack (struct tapir_stack) and runs
 * it in its own thread, "the stack thread": it waits for frames from the
 * link driver, hands them to the core, and runs the core's timers.  Every
 * call into the core, from the stack thread or from an application thread,
 * holds the net's one mutex, because the core is not thread-safe.
 *
 * Sockets are small integers, the lowest free one first (POSIX), in a
 * per-net table that grows with use up to a limit the user sets
 * (tapir_net_set_max_sockets); beyond it socket and accept fail with EMFILE.  The calls follow POSIX and Unix Network Programming (UNP): they
 * return -1 and set errno on failure, and block unless the socket is
 * non-blocking (SOCK_NONBLOCK, O_NONBLOCK, MSG_DONTWAIT).  The libc's own
 * struct sockaddr_in, AF_INET, SOCK_*, SO_*, TCP_*, MSG_*, POLL* and errno
 * values are used.  No signal is ever raised (no SIGPIPE: just EPIPE).
 *
 * docs/sockets.md has the errno table and the threading model.
 */
#ifndef TAPIR_SOCKET_H
#define TAPIR_SOCKET_H

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>

#include <tapir/link.h>
#include <tapir/stack.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A net's limit on descriptors until tapir_net_set_max_sockets changes
 * it: the kernel's default soft RLIMIT_NOFILE. */
#define TAPIR_NET_DEFAULT_MAX_SOCKETS 1024
/* Deprecated: once the fixed size of the table, now its default limit. */
#define TAPIR_NET_MAX_SOCKETS TAPIR_NET_DEFAULT_MAX_SOCKETS

struct tapir_net;

/* ---- the net: a stack, a driver and the stack thread ---- */

/* A link driver as the stack thread sees it: LINK sends frames; FD becomes
 * readable when frames wait, and RECV reads one (its length, 0 when none
 * waits, or -errno).  CLOSE (may be NULL) is called by tapir_net_stop. */
struct tapir_net_driver {
	struct tapir_link *link;
	int fd;
	long (*recv)(void *ctx, uint8_t *buf, size_t cap);
	/* optional, used instead of recv: also says what it knows of the
	 * frame (TAPIR_RX_*, for tapir_stack_input_flags) */
	long (*recv_flags)(void *ctx, uint8_t *buf, size_t cap, unsigned *flags);
	void (*close)(void *ctx);
	/* optional: called with true before each turn of the stack thread,
	 * false after it (the driver may hold frames sent between, and sends
	 * them then: tapir_tap_batch); true from the second call: frames wait
	 * that polling FD would not show, the thread reads before it sleeps */
	bool (*batch)(void *ctx, bool on);
	void *ctx;
	unsigned mtu; /* the link's MTU; 0: 1500 */
	/* optional, used before recv_flags: the next frame in the driver's
	 * own buffer (*FRAME), valid until the next call or the turn's end
	 * (batch false): no copy (tapir_tap_recv_ref) */
	long (*recv_ref)(void *ctx, uint8_t **frame, unsigned *flags);
};

/* A net over any driver.  NULL (errno set) on failure. */
struct tapir_net *tapir_net_new(const struct tapir_config *cfg,
				const struct tapir_net_driver *drv);
/* A net over the TAP device NAME (link/tap.c).  NULL with a reason in ERR. */
struct tapir_net *tapir_net_new_tap(const struct tapir_config *cfg, const char *name,
				    char *err, size_t errlen);
/* Two nets joined by one in-memory link (link/memlink.c), for tests.  Both
 * stacks run in ONE stack thread under ONE mutex, so the memlink, which is
 * not thread-safe, needs no lock of its own; the link is driven in real time
 * (CLOCK_MONOTONIC).  Starting either net starts the shared thread; stopping
 * either stops it, so stop both together.  0, or -1 with errno set. */
int tapir_net_new_pair(const struct tapir_config *cfg_a, const struct tapir_config *cfg_b,
		       const struct tapir_memlink_params *params, struct tapir_net **a,
		       struct tapir_net **b);

/* The stack, for configuration before tapir_net_start (trace, frame
 * observer).  After start, touch it only between tapir_net_lock/unlock. */
struct tapir_stack *tapir_net_stack(struct tapir_net *net);
/* Holds the net's mutex: for reading the stack's counters, or calling the
 * core's own API (tapir_echo_send, ...) while it runs; unlocking wakes the
 * stack thread so that it sees any deadline such a call set. */
void tapir_net_lock(struct tapir_net *net);
void tapir_net_unlock(struct tapir_net *net);

/* Adds the net's interface: MAC, MTU (0: the driver's), ADDR/PREFIX_LEN
 * (ADDR 0: none yet, for tapir_dhcp_start) and, when GATEWAY is not 0, a
 * default route through it.  Addresses are
 * in host byte order.  0, or -1 with errno set. */
int tapir_net_add_iface(struct tapir_net *net, const uint8_t mac[6], unsigned mtu,
			uint32_t addr, unsigned prefix_len, uint32_t gateway);

/* Drops received frames for which FN returns true, before the core sees
 * them (a silent peer, for tests).  Runs in the stack thread with the net's
 * mutex held; FN must not call tapir_* functions.  NULL removes it. */
typedef bool (*tapir_net_filter_fn)(void *arg, const uint8_t *frame, size_t len);
void tapir_net_set_rx_filter(struct tapir_net *net, tapir_net_filter_fn fn, void *arg);

/* Sets NET's limit on descriptors (1 .. INT_MAX): socket and accept make
 * only descriptors below it, else fail with EMFILE (as RLIMIT_NOFILE; a
 * lower limit leaves the open ones be).  Memory grows with the sockets in
 * use, not with the limit.  0, or -1 with errno EINVAL. */
int tapir_net_set_max_sockets(struct tapir_net *net, unsigned max);
unsigned tapir_net_max_sockets(struct tapir_net *net);

/* Busy-polling, as Linux's net.core.busy_poll: after a turn that took in
 * frames, the stack thread keeps turning without sleeping for up to US
 * microseconds (at most TAPIR_SPIN_MAX_US), yielding the CPU between turns,
 * while frames keep coming that soon (tapir/spin.h: spins that keep
 * missing stop for a while).  0, the default: it sleeps at once. */
void tapir_net_set_busy_poll(struct tapir_net *net, unsigned us);
/* The stack thread's spins since tapir_net_set_busy_poll, and those that
 * caught frames before their window ended */
void tapir_net_busy_poll_counts(struct tapir_net *net, uint64_t *spins, uint64_t *hits);

/* A service: FN runs on the stack thread after every turn (received frames
 * handed to the core, timers run), with the net's mutex held, so it may
 * call the core's own API (tapir/tcp.h, tapir/udp.h) on S; not the
 * tapir_* socket calls, which take the mutex.  It returns when it wants to
 * run again at the latest (NOW: at once, more work is waiting;
 * TAPIR_TIME_NEVER: only after the next turn).  Core objects whose event
 * functions note readiness and let FN act on it serve any number of
 * connections from this one thread.
 *
 * A net runs up to TAPIR_NET_MAX_SERVICES services, in the order added.
 * FD, when not -1, is a kernel descriptor (an epoll set, a listening
 * socket) that the stack thread also waits on: when it is readable the
 * thread takes a turn, so a service serves the kernel's descriptors and
 * tapir's connections from one loop.  0, or -1 with errno ENOSPC (full)
 * or EEXIST (FN and ARG are in already). */
#define TAPIR_NET_MAX_SERVICES 8
typedef tapir_time_t (*tapir_net_service_fn)(void *arg, struct tapir_stack *s,
					     tapir_time_t now);
int tapir_net_add_service(struct tapir_net *net, tapir_net_service_fn fn, void *arg, int fd);
/* Removes the service FN/ARG; when it returns, FN is not running and will
 * not run again. */
void tapir_net_remove_service(struct tapir_net *net, tapir_net_service_fn fn, void *arg);
/* The net's only service: removes every other, then adds FN/ARG without a
 * descriptor (NULL: removes all). */
void tapir_net_set_service(struct tapir_net *net, tapir_net_service_fn fn, void *arg);

/* Starts the stack thread.  0, or -1 with errno set. */
int tapir_net_start(struct tapir_net *net);
/* 0 while the net's link works; else the errno of the driver's fatal
 * error (tapir_link_error_fatal), after which the stack thread reads the
 * link no more: the caller ends the net (the host exits). */
int tapir_net_link_error(struct tapir_net *net);
/* The name of the net's link (its TAP or interface, as the kernel names
 * it; "mem0"/"mem1" for a memory link), or NULL. */
const char *tapir_net_link_name(const struct tapir_net *net);
/* Stops the stack thread (joining it) and frees the net, its sockets, its
 * stack and its driver.  No thread may be inside a call on NET. */
void tapir_net_stop(struct tapir_net *net);

/* ---- sockets ---- */

/* DOMAIN AF_INET; TYPE SOCK_STREAM or SOCK_DGRAM, optionally with
 * SOCK_NONBLOCK (SOCK_CLOEXEC is accepted and ignored); PROTOCOL 0 or the
 * type's own (IPPROTO_TCP, IPPROTO_UDP). */
int tapir_socket(struct tapir_net *net, int domain, int type, int protocol);
int tapir_bind(struct tapir_net *net, int fd, const struct sockaddr *addr, socklen_t len);
int tapir_listen(struct tapir_net *net, int fd, int backlog);
int tapir_accept(struct tapir_net *net, int fd, struct sockaddr *addr, socklen_t *len);
/* FLAGS: SOCK_NONBLOCK (and SOCK_CLOEXEC, ignored). */
int tapir_accept4(struct tapir_net *net, int fd, struct sockaddr *addr, socklen_t *len,
		  int flags);
int tapir_connect(struct tapir_net *net, int fd, const struct sockaddr *addr, socklen_t len);

/* FLAGS: MSG_DONTWAIT, MSG_NOSIGNAL (always in effect), MSG_FASTOPEN (TCP
 * sendto: connect to TO and send, the data on the SYN when a cookie is
 * cached, RFC 7413), and for receiving
 * MSG_WAITALL (TCP) and MSG_TRUNC (UDP: return the datagram's real length).
 * MSG_PEEK and MSG_OOB give EOPNOTSUPP. */
ssize_t tapir_send(struct tapir_net *net, int fd, const void *buf, size_t len, int flags);
ssize_t tapir_recv(struct tapir_net *net, int fd, void *buf, size_t len, int flags);
ssize_t tapir_sendto(struct tapir_net *net, int fd, const void *buf, size_t len, int flags,
		     const struct sockaddr *to, socklen_t tolen);
ssize_t tapir_recvfrom(struct tapir_net *net, int fd, void *buf, size_t len, int flags,
		       struct sockaddr *from, socklen_t *fromlen);
ssize_t tapir_write(struct tapir_net *net, int fd, const void *buf, size_t len);
ssize_t tapir_read(struct tapir_net *net, int fd, void *buf, size_t len);

/* HOW: SHUT_RD, SHUT_WR, SHUT_RDWR. */
int tapir_shutdown(struct tapir_net *net, int fd, int how);
int tapir_close(struct tapir_net *net, int fd);

int tapir_getsockname(struct tapir_net *net, int fd, struct sockaddr *addr, socklen_t *len);
int tapir_getpeername(struct tapir_net *net, int fd, struct sockaddr *addr, socklen_t *len);

/* SOL_SOCKET: SO_REUSEADDR, SO_LINGER (struct linger), SO_RCVBUF, SO_SNDBUF,
 * SO_KEEPALIVE, SO_RCVTIMEO and SO_SNDTIMEO (struct timeval), SO_ERROR and
 * SO_TYPE (get only).  IPPROTO_TCP: TCP_NODELAY, TCP_MAXSEG, TCP_KEEPIDLE,
 * TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT, TCP_FASTOPEN (a listener's
 * queue length), TCP_FASTOPEN_CONNECT, TCP_NOTSENT_LOWAT (RFC 7413 and
 * Linux's tcp(7)).  IPPROTO_IP: IP_TTL, IP_TOS; IPPROTO_IPV6: IPV6_V6ONLY,
 * IPV6_UNICAST_HOPS, IPV6_TCLASS (tapir_ip_sockopt). */
int tapir_setsockopt(struct tapir_net *net, int fd, int level, int name, const void *val,
		     socklen_t len);
int tapir_getsockopt(struct tapir_net *net, int fd, int level, int name, void *val,
		     socklen_t *len);
/* The core's IP header option (enum tapir_ip_opt, tapir/addr.h) that
 * LEVEL and NAME name for a socket of FAMILY, or -1: IP_TTL, IP_TOS (either
 * family: an AF_INET6 socket's v4-mapped peers), and an AF_INET6 socket's
 * IPV6_UNICAST_HOPS (RFC 3493 5.1) and IPV6_TCLASS (RFC 3542 6.5). */
int tapir_ip_sockopt(int family, int level, int name);

/* IPPROTO_TCP, get only: the reserved header bits received on this
 * connection so far (an int; RFC 9401's DTH is 0x08).  While DTH has been
 * seen, tapir_poll reports POLLPRI (when asked for). */
#define TAPIR_TCP_RESERVED_RX 0x7a01
/* IPPROTO_TCP: FreeBSD's TCP_NOOPT and TCP_KEEPINIT (tcp(4)), which Linux's
 * headers lack; under the freebsd profile only (ENOPROTOOPT elsewhere) */
#define TAPIR_SO_TCP_NOOPT 0x7a02
#define TAPIR_SO_TCP_KEEPINIT 0x7a03

/* CMD F_GETFL or F_SETFL; only O_NONBLOCK matters (F_GETFL adds O_RDWR). */
int tapir_fcntl(struct tapir_net *net, int fd, int cmd, int arg);
int tapir_set_nonblock(struct tapir_net *net, int fd, bool on);

/* poll(2) over tapir descriptors of NET: FDS[i].fd is a tapir socket (a
 * negative fd is skipped).  EVENTS: POLLIN, POLLOUT; REVENTS may also hold
 * POLLERR, POLLHUP, POLLNVAL.  TIMEOUT_MS -1 waits forever, 0 not at all.
 * Returns how many entries have REVENTS set, 0 on timeout, -1 on error. */
int tapir_poll(struct tapir_net *net, struct pollfd *fds, nfds_t nfds, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
