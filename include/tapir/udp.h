/*
 * tapir — UDP and ICMP echo in the core's own ("raw") API.
 *
 * Core sockets are event-driven: they hold bounded queues and call an
 * event function when something changes.  The event function runs inside
 * tapir_stack_input/poll and must not call back into the stack; it should
 * note the event and let the caller's loop act on it.  The Berkeley socket
 * layer (api/) is built on these.
 */
#ifndef TAPIR_UDP_H
#define TAPIR_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tapir/addr.h>
#include <tapir/events.h>
#include <tapir/stack.h>

#ifdef __cplusplus
extern "C" {
#endif

struct tapir_udp;

/* NULL when the stack's UDP sockets are all in use. */
struct tapir_udp *tapir_udp_new(struct tapir_stack *s);
void tapir_udp_free(struct tapir_udp *u);
void tapir_udp_set_event(struct tapir_udp *u, tapir_event_fn fn, void *arg);
/* PORT 0 picks an ephemeral port.  -EADDRINUSE, -EADDRNOTAVAIL, -EINVAL. */
int tapir_udp_bind(struct tapir_udp *u, uint32_t addr, uint16_t port);
/* Either family (tapir/addr.h): :: takes both, unless IPv6-only */
int tapir_udp_bind_addr(struct tapir_udp *u, const struct tapir_ip *addr, uint16_t port);
/* IPV6_V6ONLY (RFC 3493 5.3), before bind: a :: bind takes IPv6 only */
int tapir_udp_set_v6only(struct tapir_udp *u, bool on);
/* The socket's IP header fields (tapir/addr.h), as tapir_tcp_set_ipopt;
 * the TTL and hop limit are for unicast destinations only */
int tapir_udp_set_ipopt(struct tapir_udp *u, enum tapir_ip_opt opt, int value);
int tapir_udp_get_ipopt(const struct tapir_udp *u, enum tapir_ip_opt opt);
/* Fixes the peer: only its datagrams are received, sendto may omit it. */
int tapir_udp_connect(struct tapir_udp *u, uint32_t addr, uint16_t port);
int tapir_udp_connect_addr(struct tapir_udp *u, const struct tapir_ip *addr, uint16_t port);
/* DST 0 sends to the connected peer.  Returns LEN or a negative errno:
 * -EMSGSIZE, -ENOBUFS, -ENETUNREACH, -EDESTADDRREQ, or a pending error. */
long tapir_udp_sendto(struct tapir_udp *u, const void *data, size_t len,
		      uint32_t dst, uint16_t dport, tapir_time_t now);
/* ... to either family (DST NULL: the connected peer); over IPv6 the
 * checksum is always sent (RFC 8200 8.1) */
long tapir_udp_sendto_addr(struct tapir_udp *u, const void *data, size_t len,
			   const struct tapir_ip *dst, uint16_t dport, tapir_time_t now);
/* Takes the oldest datagram: returns its full length (copying at most CAP
 * bytes), or -EAGAIN when none is queued. */
long tapir_udp_recvfrom(struct tapir_udp *u, void *buf, size_t cap,
			uint32_t *src, uint16_t *sport);
/* ... with the source of either family (tapir_udp_recvfrom gives 0 for IPv6) */
long tapir_udp_recvfrom_addr(struct tapir_udp *u, void *buf, size_t cap, struct tapir_ip *src,
			     uint16_t *sport);
/* Returns and clears the pending error (0 if none): SO_ERROR. */
int tapir_udp_error(struct tapir_udp *u);
unsigned tapir_udp_events(const struct tapir_udp *u);
void tapir_udp_local(const struct tapir_udp *u, uint32_t *addr, uint16_t *port);
void tapir_udp_local_addr(const struct tapir_udp *u, struct tapir_ip *addr, uint16_t *port);
void tapir_udp_set_rcvbuf(struct tapir_udp *u, size_t bytes);

/* ---- ICMP echo (what a ping program needs) ---- */
struct tapir_echo_reply {
	uint32_t from;     /* who answered (for errors: the router or host) */
	uint32_t target;   /* the address the echo request was sent to */
	uint16_t id, seq;
	uint8_t ttl;
	int error;         /* 0 for an echo reply, else errno from an ICMP error */
	uint8_t icmp_type, icmp_code;
	const uint8_t *data; /* the echo data (for errors: NULL) */
	size_t len;
	tapir_time_t now;
};
typedef void (*tapir_echo_fn)(void *arg, const struct tapir_echo_reply *r);
void tapir_echo_set_handler(struct tapir_stack *s, tapir_echo_fn fn, void *arg);
/* Sends an echo request carrying LEN bytes of DATA; 0 or a negative errno. */
int tapir_echo_send(struct tapir_stack *s, uint32_t dst, uint16_t id,
		    uint16_t seq, const void *data, size_t len, tapir_time_t now);

#ifdef __cplusplus
}
#endif
#endif
