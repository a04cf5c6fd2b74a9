/*
 * tapir run: how a program's sockets live on tapir (the contract between
 * the gate in the tapir process, the preload library in the program, and
 * the seccomp supervisor that covers what the preload cannot reach).
 *
 * THE MODEL.  Every AF_INET and AF_INET6 socket the program opens is, in the program, a
 * real kernel descriptor: one end of an AF_UNIX socketpair (the "app end")
 * whose other end (the "gate end") the gate holds and serves on the tapir
 * stack's own event loop.  So everything the kernel does with descriptors
 * keeps working untouched: read/write/send/recv/readv/writev/sendfile/
 * splice on connected TCP, poll/select/epoll (level and edge), blocking
 * and O_NONBLOCK, fork (the socket is shared; the gate sees the close only
 * when the last descriptor in every process is gone, UNP 4.8), exec,
 * dup/dup2/dup3, SCM_RIGHTS passing, setuid children.  Only the calls
 * that name addresses or options go to the gate, as requests on a control
 * channel (below).
 *
 *   TCP, before it is connected: a SOCK_STREAM pair.  The gate has filled
 *   the app end's send buffer (TRUN_FILL bytes written from the app end,
 *   unread at the gate end), so the app end is NOT writable: poll and
 *   epoll see no POLLOUT until the handshake ends, as on a kernel socket.
 *
 *   TCP, connected (by connect, or made by accept): the gate drains the
 *   filler (an accepted socket never had one) and relays bytes between the
 *   gate end and the tapir connection, with bounded buffers both ways.
 *   The app's shutdown(SHUT_WR) on the app end is EOF at the gate: tapir
 *   sends FIN.  The peer's FIN: the gate shuts down the gate end for
 *   writing, so the app reads EOF.  The last close of the app end
 *   (POLLHUP at the gate end): FIN, or RST when SO_LINGER {1, 0} was set
 *   or when the app left data unread (the kernel then sets ECONNRESET on
 *   the gate end: RFC 2525 2.17, as Linux does).  A reset or a timeout of
 *   the tapir connection: the gate closes the gate end, so the app reads
 *   EOF and writes EPIPE; the preload turns that EOF into the real error
 *   by asking TRUN_EOF (a program the preload does not cover sees EOF).
 *
 *   TCP, listening: the app end stays filled (a listener is never
 *   writable).  For each connection the gate accepts from tapir's queue it
 *   makes a new connected pair and writes ONE struct trun_accept record on
 *   the listener's gate end, with the new app end attached (SCM_RIGHTS),
 *   so the listener is readable exactly while connections wait (POLLIN,
 *   EPOLLIN).  accept/accept4 is a recvmsg of one record on the listener:
 *   blocking, non-blocking (EAGAIN), EINTR and several processes accepting
 *   on one listener (nginx's workers) all behave as the kernel's.  The
 *   gate keeps at most BACKLOG records unread (SIOCOUTQ on the gate end);
 *   the rest wait in tapir's own listen queue, so listen's backlog bounds
 *   as on the kernel.
 *
 *   UDP: a SOCK_SEQPACKET pair (datagram boundaries as SOCK_DGRAM, but
 *   the gate end sees POLLHUP at the program's last close, which a
 *   SOCK_DGRAM socketpair never reports); every datagram either way starts with a
 *   struct trun_dgram (the peer's address: the destination when the app
 *   sends, :: port 0 for the connected peer; the source when it receives).
 *   The preload adds and strips it in send/recv and their relatives.
 *
 * NAMES.  The gate binds every app end to an abstract AF_UNIX name,
 * "\0tapir.<gate pid>.<t|u>.<id>" (trun_name): whoever holds the
 * descriptor -- after fork, exec, dup or SCM_RIGHTS -- learns with one
 * getsockname() that it is a tapir socket, of which gate, and its id.
 *
 * THE CONTROL CHANNEL.  A process (the preload in each process, lazily,
 * and again after fork; the seccomp supervisor) connects a SOCK_SEQPACKET
 * socket to the gate's path (environment TRUN_ENV_GATE), sends TRUN_HELLO,
 * then one struct trun_req per call; the gate answers each with one
 * struct trun_rep, in order, at once (no request waits on the network:
 * a blocking connect is TRUN_CONNECT, then a wait for POLLOUT on the
 * descriptor, then TRUN_GETSOCKOPT SO_ERROR, as the kernel's own connect
 * behaves).  TRUN_SOCKET's reply carries the new app end (SCM_RIGHTS).
 * Requests name the socket by the id in its name.  A request for an id the
 * gate does not know (the socket closed) answers -EBADF.  The one request
 * without a reply: a setting that cannot fail, sent with TRUN_NOREPLY.
 */
#ifndef TAPIR_RUN_PROTO_H
#define TAPIR_RUN_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

/* The environment of a program under tapir run. */
#define TRUN_ENV_GATE "TAPIR_RUN_GATE"   /* the gate's SOCK_SEQPACKET path */
#define TRUN_ENV_DEBUG "TAPIR_RUN_DEBUG" /* "1": the preload logs each call on stderr */
/* TRUN_SETSOCKOPT at IPPROTO_TCP, the preload's own: 1 while a send with
 * MSG_MORE is held, 0 at the next send without it (tcp(7): MSG_MORE
 * corks one call as TCP_CORK would); not a Linux option number */
#define TRUN_TCP_MORE 0x7472
/* TRUN_GETSOCKOPT at IPPROTO_TCP, the preload's own: what a non-blocking
 * send may give a connect that Fast Open let succeed at once (RFC 7413
 * 4.2): the bytes its SYN can still carry (> 0, tapir_tcp_syn_room); 0
 * once the SYN went and the handshake runs (EAGAIN, as Linux's); -1 when
 * the connect is over (connected, failed) or was no such connect */
#define TRUN_TCP_TFO 0x7473
/* TRUN_GETSOCKOPT at IPPROTO_IPV6, the preload's own: the zone (RFC 4007
 * 6) of link-local addresses on tapir's link, as sin6_scope_id: the
 * kernel's index of the interface the link is on (tapir has one), which
 * the program's own calls (if_nametoindex) name it by; not a Linux option */
#define TRUN_IPV6_ZONE 0x747a
/* the busy-poll window in microseconds (tapir/spin.h): the stack thread's,
 * the gate's and the program's waits'; unset: 50, 0: off */
#define TRUN_ENV_BUSY_POLL "TAPIR_BUSY_POLL"
/* the persona (scoped personalities) of an attached run: TRUN_HELLO's c */
#define TRUN_ENV_PERSONA "TAPIR_RUN_PERSONA"
/* For `tapir host --control PATH`, the gate listens at PATH TRUN_GATE_SUFFIX. */
#define TRUN_GATE_SUFFIX ".gate"

#define TRUN_VERSION 3 /* 2: 16-byte addresses (struct trun_addr); 3: TRUN_NOREPLY */

/* The seccomp supervisor (seccomp.c: programs the preload cannot reach,
 * static binaries and raw system calls) traps the socket calls of
 * everything under tapir run, the preload's own included.  A call whose
 * sixth argument is this cookie (no socket call has a sixth argument) is
 * let through untrapped: the preload makes every kernel call it means the
 * kernel to answer -- getsockname() on a descriptor to learn whether it is
 * an app end, shutdown() of an app end, a passthrough of a call on a
 * descriptor that is not tapir's -- with trun_syscall(), so it is not
 * answered as the program's own call a second time. */
#define TRUN_SYSCALL_COOKIE 0x7461706972756e31ULL /* "tapirun1" */
#define trun_syscall(nr, a, b, c, d, e)                                                  \
	syscall((nr), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e),             \
		(long)TRUN_SYSCALL_COOKIE)

/* Bytes of filler the gate writes from an unconnected TCP app end: half
 * its send buffer, which leaves it unwritable (unix_writable: the queued
 * bytes' truesize is over a quarter of sk_sndbuf). */
#define TRUN_FILL(sndbuf) ((sndbuf) / 2)

enum trun_kind { TRUN_TCP = 't', TRUN_UDP = 'u' };

/* RFC 4007 4: link-local unicast (fe80::/10) and interface- or
 * link-local multicast (ff01::/16, ff02::/16) are ambiguous without a
 * zone: Linux refuses them with sin6_scope_id 0, and names their zone in
 * the addresses it returns. */
static inline int trun_needs_zone(const uint8_t ip[16])
{
	if (ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80)
		return 1;
	return ip[0] == 0xff && ((ip[1] & 0x0f) == 1 || (ip[1] & 0x0f) == 2);
}

/* "\0tapir.<gate>.<kind>.<id>": the abstract name of an app end.  Returns
 * the socklen to bind with. */
static inline socklen_t trun_name(struct sockaddr_un *sun, unsigned gate, char kind,
				  unsigned id)
{
	int n;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	n = snprintf(sun->sun_path + 1, sizeof(sun->sun_path) - 1, "tapir.%u.%c.%u", gate,
		     kind, id);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

/* Parses what getsockname() said of a descriptor: 1 and GATE, KIND, ID
 * when it is an app end, else 0.  (A listener's name keeps the 't' it was
 * created with: its kind changes at the gate, not in its name.) */
static inline int trun_parse(const struct sockaddr_un *sun, socklen_t len, unsigned *gate,
			     char *kind, unsigned *id)
{
	char buf[sizeof(sun->sun_path)];
	size_t n;
	if (len <= offsetof(struct sockaddr_un, sun_path) + 1 || sun->sun_family != AF_UNIX ||
	    sun->sun_path[0] != '\0')
		return 0;
	n = len - offsetof(struct sockaddr_un, sun_path) - 1;
	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, sun->sun_path + 1, n);
	buf[n] = '\0';
	return sscanf(buf, "tapir.%u.%c.%u", gate, kind, id) == 3;
}

enum trun_op {
	TRUN_HELLO = 1,   /* a = TRUN_VERSION, b = pid, c = the persona whose
			   * personalities bend this process's sockets (0: none).
			   * ret: the gate's pid */
	TRUN_SOCKET,      /* a = domain (AF_INET or AF_INET6), b = type (SOCK_STREAM or SOCK_DGRAM,
			   * without flags), c = protocol.  ret: the id; the app end
			   * attached, bound to its name, blocking, without CLOEXEC
			   * (the caller applies SOCK_NONBLOCK / SOCK_CLOEXEC). */
	TRUN_BIND,        /* data = struct trun_addr */
	TRUN_LISTEN,      /* a = backlog */
	TRUN_CONNECT,     /* data = struct trun_addr (family AF_UNSPEC: UDP disconnect).
			   * ret: 0 (UDP; or a TCP connection already made),
			   * -EINPROGRESS (TCP: the handshake runs; POLLOUT on the app
			   * end when it ends, then SO_ERROR says how), -errno */
	TRUN_SHUTDOWN,    /* a = how.  ret 0 when the socket is connected: the
			   * caller then shuts the app end down the same way itself
			   * (SHUT_WR is what sends the FIN: EOF at the gate);
			   * -ENOTCONN otherwise */
	TRUN_GETSOCKNAME, /* ret 0, data = struct trun_addr */
	TRUN_GETPEERNAME, /* ret 0 or -ENOTCONN, data = struct trun_addr */
	TRUN_SETSOCKOPT,  /* a = level, b = name, data = the value */
	TRUN_GETSOCKOPT,  /* a = level, b = name, c = the caller's optlen;
			   * ret 0, data = the value (len: its length).  SO_ERROR
			   * clears the pending error, as the kernel's. */
	TRUN_EOF,         /* the app end read EOF: ret 0 for a FIN, or -errno
			   * (ECONNRESET, ETIMEDOUT, ...) once, as a kernel read would
			   * have failed */
	TRUN_PERSONA,     /* data = personality specs, one a line: installed
			   * for the sockets of the channels that name the returned
			   * id in TRUN_HELLO, while this channel stays open.  ret:
			   * the id, or -errno with a reason (a string) in data */
	TRUN_OP_MAX
};

#define TRUN_DATA_MAX 256 /* struct tcp_info (232 bytes) fits */

/* OR'ed into TRUN_SETSOCKOPT's op: the gate sends no reply.  Only for a
 * setting that cannot fail on that socket, so there is nothing to tell:
 * TCP_NODELAY on a TCP socket with an int (tcp(7); Linux checks only the
 * length, which the caller does).  A server sets it on every socket it
 * accepts (nginx, redis, ksrv), and waiting for the answer cost each
 * connection two wake-ups across processes (the program's request wakes
 * the gate's thread, the reply wakes the program) on the way from the
 * accept to its first read.  Order still holds where it is seen: the
 * channel is in order, so a later request (getsockopt) sees the setting;
 * the gate takes a turn's requests before it relays that turn's bytes,
 * and bytes it took a turn early wait at most for the next turn, as the
 * request is readable then and setting TCP_NODELAY sends what Nagle held
 * (as Linux pushes pending frames when it is set). */
#define TRUN_NOREPLY 0x80000000u

struct trun_req {
	uint32_t op;
	uint32_t id;
	int32_t a, b, c;
	uint32_t len; /* bytes of DATA in use */
	uint8_t data[TRUN_DATA_MAX];
};

struct trun_rep {
	int32_t ret; /* >= 0, or -errno */
	uint32_t len;
	uint8_t data[TRUN_DATA_MAX];
};

/* An address of either family as the gate speaks it: 16 bytes in network
 * order, an IPv4 address v4-mapped (::ffff:a.b.c.d, RFC 4291 2.5.5.2; its
 * "any" ::ffff:0.0.0.0), as tapir's struct tapir_ip holds it; the port in
 * network order.  FAMILY is AF_INET6, or AF_UNSPEC for a UDP disconnect.
 * The program's own sockaddr_in or sockaddr_in6 is made from it in the
 * socket's domain (client.c). */
struct trun_addr {
	uint8_t ip[16];
	uint16_t port;
	uint16_t family;
	uint32_t scope; /* sin6_scope_id: 0 refused for a link-local address */
};

/* One accepted connection, read from a listener (with the new app end
 * attached by SCM_RIGHTS).  Addresses as in struct trun_addr. */
struct trun_accept {
	uint32_t id;
	uint8_t peer_addr[16], local_addr[16];
	uint16_t peer_port, local_port;
	uint32_t reserved[2];
};

/* Heads every datagram on a UDP pair.  The address as in struct trun_addr. */
struct trun_dgram {
	uint8_t addr[16];
	uint16_t port;
	uint16_t reserved;
};

/* Room for one descriptor in a message's control data (SCM_RIGHTS). */
union trun_cmsg {
	struct cmsghdr h;
	char b[CMSG_SPACE(sizeof(int))];
};

/* Makes M carry FD (SCM_RIGHTS) in U when FD >= 0; else no control data.
 * With FD -1 and U given, M gets room to receive one (trun_fd_of). */
static inline void trun_msg_fd(struct msghdr *m, union trun_cmsg *u, int fd)
{
	memset(u, 0, sizeof(*u));
	m->msg_control = u->b;
	m->msg_controllen = sizeof(u->b);
	if (fd < 0)
		return;
	CMSG_FIRSTHDR(m)->cmsg_level = SOL_SOCKET;
	CMSG_FIRSTHDR(m)->cmsg_type = SCM_RIGHTS;
	CMSG_FIRSTHDR(m)->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(CMSG_FIRSTHDR(m)), &fd, sizeof(int));
}

/* The descriptor a received M carries, or -1. */
static inline int trun_fd_of(struct msghdr *m)
{
	struct cmsghdr *c = m->msg_controllen ? CMSG_FIRSTHDR(m) : NULL;
	int fd = -1;
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

#endif
