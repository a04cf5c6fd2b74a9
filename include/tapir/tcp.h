/*
 * tapir — TCP in the core's own ("raw") API (RFC 9293).
 *
 * A struct tapir_tcp is a connection or a listener.  Like UDP, it is
 * event-driven: the event function runs inside tapir_stack_input/poll and
 * must not call back into the stack; the caller's loop (or the socket layer
 * in api/) acts on events afterwards.  Every call that may send takes the
 * current time.
 *
 * Return values: >= 0 on success, a negative errno on failure, with the
 * meanings Unix Network Programming (ch. 4) gives them.
 */
#ifndef TAPIR_TCP_H
#define TAPIR_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tapir/addr.h>
#include <tapir/events.h>
#include <tapir/stack.h>

#ifdef __cplusplus
extern "C" {
#endif

/* RFC 9293 3.3.2 */
enum tapir_tcp_state {
	TAPIR_TCP_CLOSED,
	TAPIR_TCP_LISTEN,
	TAPIR_TCP_SYN_SENT,
	TAPIR_TCP_SYN_RECEIVED,
	TAPIR_TCP_ESTABLISHED,
	TAPIR_TCP_FIN_WAIT_1,
	TAPIR_TCP_FIN_WAIT_2,
	TAPIR_TCP_CLOSE_WAIT,
	TAPIR_TCP_CLOSING,
	TAPIR_TCP_LAST_ACK,
	TAPIR_TCP_TIME_WAIT,
};
const char *tapir_tcp_state_name(enum tapir_tcp_state st);
/* The flags of a TCP header as tcpdump prints them ("S.", "P.", "F.", "R"):
 * S F R P U, E (ECE) and W (CWR), then '.' for ACK.  BUF holds at least
 * TAPIR_TCP_FLAGS_STRLEN bytes; returns BUF. */
#define TAPIR_TCP_FLAGS_STRLEN 12
const char *tapir_tcp_flags_str(uint8_t flags, char *buf);

/* Events (tapir/events.h): TAPIR_EV_READ/WRITE/ERROR/HUP as for UDP, and
 * TAPIR_EV_ACCEPT, TAPIR_EV_CONNECTED, TAPIR_EV_DTH. */

struct tapir_tcp;

/* NULL when the stack's TCP sockets are all in use. */
struct tapir_tcp *tapir_tcp_new(struct tapir_stack *s);
void tapir_tcp_set_event(struct tapir_tcp *t, tapir_event_fn fn, void *arg);
void *tapir_tcp_event_arg(const struct tapir_tcp *t);

/* PORT 0: an ephemeral port.  -EADDRINUSE, -EADDRNOTAVAIL, -EINVAL.
 * ADDR 0 (INADDR_ANY) takes IPv4 only. */
int tapir_tcp_bind(struct tapir_tcp *t, uint32_t addr, uint16_t port);
/* Either family (tapir/addr.h): an IPv6 address, a v4-mapped IPv4 one, or
 * :: for both families (IPv6 only with TAPIR_TCP_V6ONLY). */
int tapir_tcp_bind_addr(struct tapir_tcp *t, const struct tapir_ip *addr, uint16_t port);
/* BACKLOG bounds the SYN-RECEIVED and the accept queue together. */
int tapir_tcp_listen(struct tapir_tcp *t, int backlog);
/* The oldest established connection, or NULL (*err = -EAGAIN, or the
 * listener's error).  The new socket has no event function yet. */
struct tapir_tcp *tapir_tcp_accept(struct tapir_tcp *listener, int *err);
/* Starts an active open; completion is TAPIR_EV_CONNECTED (or an error:
 * ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH, ENETUNREACH). 0 or -errno; 1
 * with TAPIR_TCP_FASTOPEN_CONNECT and a cookie cached: no SYN yet, it
 * goes with the first data tapir_tcp_send takes (RFC 7413 4.2). */
int tapir_tcp_connect(struct tapir_tcp *t, uint32_t addr, uint16_t port, tapir_time_t now);
/* ... to either family; -EAFNOSUPPORT from an IPv4-bound socket to IPv6 */
int tapir_tcp_connect_addr(struct tapir_tcp *t, const struct tapir_ip *addr, uint16_t port,
			   tapir_time_t now);

/* Copies up to LEN bytes into the send buffer: returns bytes taken,
 * -EAGAIN when full, -EPIPE after shutdown(WR), -ENOTCONN, or the error
 * that ended the connection. */
long tapir_tcp_send(struct tapir_tcp *t, const void *data, size_t len, tapir_time_t now);
/* Returns bytes read, 0 at end of stream, -EAGAIN when nothing is there
 * yet, or the error that ended the connection (e.g. -ECONNRESET).  BUF
 * NULL takes the bytes without copying them anywhere (a discard). */
long tapir_tcp_recv(struct tapir_tcp *t, void *buf, size_t len, tapir_time_t now);
/* Room in the send buffer, in place, for a caller that fills it itself (a
 * relay reading a descriptor straight into it): at most two spans, since
 * the buffer is a ring -- P[0]/N[0], then P[1]/N[1] (N[1] 0 when it did not
 * wrap) -- of at most LEN bytes together.  Returns N[0] + N[1], or what
 * tapir_tcp_send would (-EAGAIN when full, -EPIPE, ...; a Fast Open
 * connect's SYN waits for tapir_tcp_send).  The spans stay valid until the
 * next call on T's stack; tapir_tcp_send_commit(T, K, now) then queues the
 * first K bytes written into them, as tapir_tcp_send would have. */
long tapir_tcp_send_space(struct tapir_tcp *t, uint8_t *p[2], size_t n[2], size_t len,
			  tapir_time_t now);
long tapir_tcp_send_commit(struct tapir_tcp *t, size_t k, tapir_time_t now);
/* The bytes waiting to be read, in place in the receive buffer, without a
 * copy (a relay writes them on from there): at most two spans, since the
 * buffer is a ring -- P[0]/N[0], then P[1]/N[1] (N[1] 0 when it did not
 * wrap).  Returns N[0] + N[1]; 0 when nothing is there, and then
 * tapir_tcp_recv says why.  The spans stay valid until the next call on
 * T's stack; tapir_tcp_recv(T, NULL, K, now) then takes the K bytes used
 * (their window opens). */
size_t tapir_tcp_recv_peek(const struct tapir_tcp *t, const uint8_t *p[2], size_t n[2]);
/* Bytes waiting to be read / sent-but-unacknowledged plus unsent. */
size_t tapir_tcp_readable(const struct tapir_tcp *t);
size_t tapir_tcp_writable(const struct tapir_tcp *t);
/* After a connect that Fast Open let return at once (RFC 7413 4.2): the
 * data the SYN the next send releases may carry (one segment); 0 when no
 * SYN waits.  A non-blocking sendto(MSG_FASTOPEN) takes only this much, as
 * Linux's; tapir_tcp_send itself takes all, the rest following the
 * handshake. */
size_t tapir_tcp_syn_room(struct tapir_tcp *t);

#define TAPIR_SHUT_RD 0
#define TAPIR_SHUT_WR 1
#define TAPIR_SHUT_RDWR 2
int tapir_tcp_shutdown(struct tapir_tcp *t, int how, tapir_time_t now);
/* The user is done with T.  A graceful close sends FIN and lets the stack
 * finish in the background (the socket is freed by the stack later); with
 * SO_LINGER {1, 0} it sends RST and frees at once.  T is invalid after. */
void tapir_tcp_close(struct tapir_tcp *t, tapir_time_t now);
/* Sends RST (where the state calls for one) and frees T at once. */
void tapir_tcp_abort(struct tapir_tcp *t, tapir_time_t now);

/* Returns and clears the pending error: SO_ERROR. */
int tapir_tcp_error(struct tapir_tcp *t);
unsigned tapir_tcp_events(const struct tapir_tcp *t);
enum tapir_tcp_state tapir_tcp_state(const struct tapir_tcp *t);
void tapir_tcp_local(const struct tapir_tcp *t, uint32_t *addr, uint16_t *port);
void tapir_tcp_peer(const struct tapir_tcp *t, uint32_t *addr, uint16_t *port);
/* The IPv4 calls above give 0 for an IPv6 address; these, either family */
void tapir_tcp_local_addr(const struct tapir_tcp *t, struct tapir_ip *addr, uint16_t *port);
void tapir_tcp_peer_addr(const struct tapir_tcp *t, struct tapir_ip *addr, uint16_t *port);

/* Options (the socket layer maps setsockopt onto these). */
enum tapir_tcp_opt {
	TAPIR_TCP_NODELAY,      /* bool: Nagle off */
	TAPIR_TCP_KEEPALIVE,    /* bool: SO_KEEPALIVE */
	TAPIR_TCP_KEEPIDLE,     /* seconds before the first probe: 7200 */
	TAPIR_TCP_KEEPINTVL,    /* seconds between probes: 75 */
	TAPIR_TCP_KEEPCNT,      /* probes before giving up: 9 */
	TAPIR_TCP_LINGER,       /* -1: off; else seconds (0: RST on close) */
	TAPIR_TCP_RCVBUF,       /* bytes */
	TAPIR_TCP_SNDBUF,       /* bytes */
	TAPIR_TCP_MAXSEG,       /* MSS clamp */
	/* ms (RFC 5482 1): data, SYN or FIN unacknowledged this long since
	 * sent or since the last ACK that moved SND.UNA, or a zero window
	 * probed this long, ends the connection (ETIMEDOUT), in place of the
	 * retry counts; 0: the default R2 behaviour (RFC 9293 3.8.3) */
	TAPIR_TCP_USER_TIMEOUT,
	TAPIR_TCP_REUSEADDR,    /* bool */
	TAPIR_TCP_CONGESTION,   /* TAPIR_CC_NEWRENO or TAPIR_CC_CUBIC */
	TAPIR_TCP_V6ONLY,       /* bool: a :: bind takes IPv6 only (RFC 3493 5.3); before bind */
	/* TCP Fast Open (RFC 7413), where the profile's fastopen allows it */
	TAPIR_TCP_FASTOPEN,     /* a listener: >0 takes data on SYNs with a valid cookie,
				 * at most this many such connections still half-open */
	TAPIR_TCP_FASTOPEN_CONNECT, /* bool: connect() asks for a cookie, or, with one
				 * cached, returns 1 at once and the SYN goes with
				 * the first data sent */
	TAPIR_TCP_NOTSENT_LOWAT, /* bytes: writable only while fewer are unsent; 0: off */
	/* FreeBSD's (tcp(4)), under the freebsd profile only (-ENOPROTOOPT
	 * elsewhere, as Linux, which has neither) */
	TAPIR_TCP_NOOPT,        /* bool: no options on our SYN or SYN,ACK; none agreed */
	TAPIR_TCP_KEEPINIT,     /* seconds a connect may take before ETIMEDOUT; 0: SYN retries */
};
#define TAPIR_CC_NEWRENO 0 /* RFC 5681 + RFC 6582 */
#define TAPIR_CC_CUBIC 1   /* RFC 9438 */
int tapir_tcp_setopt(struct tapir_tcp *t, enum tapir_tcp_opt opt, int value);
int tapir_tcp_getopt(const struct tapir_tcp *t, enum tapir_tcp_opt opt, int *value);

/* The socket's IP header fields (tapir/addr.h): 0, -EINVAL out of range;
 * getting one left at -1 gives the value sent (the stack's TTL for both
 * families; 0 for TOS and traffic class).  A listener's pass to the
 * connections it accepts. */
int tapir_tcp_set_ipopt(struct tapir_tcp *t, enum tapir_ip_opt opt, int value);
int tapir_tcp_get_ipopt(const struct tapir_tcp *t, enum tapir_ip_opt opt);

/* What `tapir ss` and tests read. */
struct tapir_tcp_info {
	enum tapir_tcp_state state;
	uint32_t laddr, raddr;         /* IPv4 (0 for IPv6) */
	uint16_t lport, rport;
	struct tapir_ip laddr_ip, raddr_ip; /* either family */
	uint32_t snd_una, snd_nxt, snd_wnd, rcv_nxt, rcv_wnd;
	uint32_t iss, irs;
	uint32_t mss, cwnd, ssthresh;
	tapir_time_t srtt_us, rttvar_us, rto_us;
	uint32_t retransmits;  /* consecutive, for the current segment */
	size_t rcv_queued, snd_queued; /* bytes in the buffers */
	unsigned backlog, syn_queued, accept_queued; /* listeners */
	/* negotiated on the SYNs: RFC 7323 (window scale, timestamps), RFC 2018 */
	bool wscale_ok, ts_ok, sack_ok;
	uint8_t snd_wscale, rcv_wscale;
	unsigned sacked_ranges;       /* the SACK scoreboard's size now */
};
void tapir_tcp_get_info(const struct tapir_tcp *t, struct tapir_tcp_info *info);

/* The memory TCP holds, by the core's own accounting */
struct tapir_tcp_mem {
	size_t tcbs;             /* TCBs in use */
	size_t tcb_size;         /* sizeof one TCB */
	size_t tcb_bytes;        /* the chunks TCBs live in (used or free) */
	size_t ring_bytes;       /* send and receive rings held by connections */
	size_t ring_cache_bytes; /* free rings kept for reuse (bounded) */
	size_t hash_bytes;       /* the 4-tuple hash table */
	size_t time_wait;        /* TIME-WAIT records (connections nobody holds) */
	size_t time_wait_bytes;  /* ... with their hash table */
};
void tapir_tcp_mem(const struct tapir_stack *s, struct tapir_tcp_mem *m);

/* Calls FN for every TCP socket the stack holds (for `tapir ss`), TIME-WAIT
 * included: a connection nobody holds is kept in TIME-WAIT as a compact
 * record, shown to FN as a socket that lives only during the call (for
 * tapir_tcp_get_info, tapir_tcp_state and the like; not to be kept). */
void tapir_tcp_foreach(struct tapir_stack *s,
		       void (*fn)(void *arg, const struct tapir_tcp *t), void *arg);

#ifdef __cplusplus
}
#endif
#endif
